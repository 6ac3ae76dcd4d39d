//! Gatan DigitalMicrograph DM3 and DM4 files.
//!
//! # Layout
//!
//! A DM file is a header followed by one tree of *tag groups* (named or unnamed lists of tags)
//! and *data tags* (typed values). All structural integers are big-endian; the values inside
//! data tags use the byte order stated in the header (almost always little-endian). DM3 and DM4
//! differ only in the width of structural lengths (4 vs 8 bytes) and in DM4's per-tag byte
//! count:
//!
//! ```text
//! header      version:u32  root_length:u32|u64  byte_order:u32 (1 = little-endian values)
//! group       sorted:u8  open:u8  n_tags:u32|u64  tag × n_tags
//! tag         kind:u8 (20 group, 21 data)  name_length:u16  name  [DM4: tag_bytes:u64]  body
//! data body   "%%%%"  n_info:u32|u64  info:(u32|u64) × n_info  payload
//! info        [type]                       simple value (2 i16, 3 i32, 4 u16, 5 u32, 6 f32,
//!                                          7 f64, 8 bool, 9 i8, 10 u8, 11 i64, 12 u64)
//!             [18, length]                 string
//!             [15, name_len, n, (name_len, type) × n]            struct
//!             [20, type, count]                                   array of simple values
//!             [20, 15, name_len, n, (name_len, type) × n, count]  array of structs
//! ```
//!
//! (Format as documented by C. Boothroyd's and G. Jefferis' reverse-engineering notes and
//! implemented by rosettasciio's `digitalmicrograph` plugin.)
//!
//! The image is taken from `ImageList`: thumbnails (listed under the root `Thumbnails` group, or,
//! without that list, a leading 8-bit RGB image followed by others) are skipped and the largest
//! remaining image is read (the last one on a tie). Its `ImageData` holds `Data` (the pixel
//! array), `DataType`, `Dimensions` (fastest axis first) and `Calibrations.Dimension`, one
//! `{Origin, Scale, Units}` per dimension, with physical coordinate `(i - Origin) · Scale`, so
//! that `offset = -Origin · Scale`.
//!
//! Every length read from the file is checked against the bytes that remain before anything
//! is allocated, and nesting is limited, so a damaged or hostile file gives an error, not a
//! huge allocation or a stack overflow.

use crate::dataset::{
    checked_product, electron_wavelength_pm, Axis, DataArray, DataType, Dataset, DatasetInfo,
    NormalisedMetadata,
};
use crate::FormatError;
use athanor_model::Quantity;
use serde_json::{Map, Value};

/// Deepest tag-group nesting accepted (real files use < 15 levels).
const MAX_DEPTH: usize = 64;
/// Arrays longer than this are summarised, not copied, in `original_metadata`.
const JSON_ARRAY_LIMIT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Simple {
    I16,
    I32,
    U16,
    U32,
    F32,
    F64,
    Bool,
    I8,
    U8,
    I64,
    U64,
}

impl Simple {
    fn from_code(code: u64) -> Option<Simple> {
        Some(match code {
            2 => Simple::I16,
            3 => Simple::I32,
            4 => Simple::U16,
            5 => Simple::U32,
            6 => Simple::F32,
            7 => Simple::F64,
            8 => Simple::Bool,
            9 => Simple::I8,
            10 => Simple::U8,
            11 => Simple::I64,
            12 => Simple::U64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Simple::Bool | Simple::I8 | Simple::U8 => 1,
            Simple::I16 | Simple::U16 => 2,
            Simple::I32 | Simple::U32 | Simple::F32 => 4,
            Simple::F64 | Simple::I64 | Simple::U64 => 8,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Simple::I16 => "int16",
            Simple::I32 => "int32",
            Simple::U16 => "uint16",
            Simple::U32 => "uint32",
            Simple::F32 => "float32",
            Simple::F64 => "float64",
            Simple::Bool => "bool",
            Simple::I8 => "int8",
            Simple::U8 => "uint8",
            Simple::I64 => "int64",
            Simple::U64 => "uint64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn as_f64(self) -> f64 {
        match self {
            Scalar::Int(v) => v as f64,
            Scalar::UInt(v) => v as f64,
            Scalar::Float(v) => v,
            Scalar::Bool(v) => f64::from(u8::from(v)),
        }
    }

    fn to_json(self) -> Value {
        match self {
            Scalar::Int(v) => Value::from(v),
            Scalar::UInt(v) => Value::from(v),
            Scalar::Float(v) if v.is_finite() => Value::from(v),
            // JSON has no NaN/∞; keep them readable instead of turning them into null.
            Scalar::Float(v) => Value::from(v.to_string()),
            Scalar::Bool(v) => Value::from(v),
        }
    }
}

#[derive(Debug, Clone)]
enum Leaf {
    Scalar(Scalar),
    Text(String),
    /// An array of simple values left in the file: `count` elements from byte `offset`.
    Array {
        element: Simple,
        count: usize,
        offset: usize,
    },
    Struct(Vec<Scalar>),
    StructArray {
        fields: Vec<Simple>,
        count: usize,
        offset: usize,
    },
}

#[derive(Debug, Clone)]
enum Node {
    Group(Vec<(String, Node)>),
    Leaf(Leaf),
}

/// The named children of a tag group, in file order.
type Entries = [(String, Node)];

/// A parsed DM file: its tag tree with array payloads left in place.
struct DmFile<'a> {
    bytes: &'a [u8],
    format: &'static str,
    little_endian: bool,
    root: Vec<(String, Node)>,
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    dm4: bool,
    little_endian: bool,
    format: &'static str,
}

fn read_scalar(bytes: &[u8], kind: Simple, little_endian: bool) -> Scalar {
    macro_rules! num {
        ($t:ty) => {{
            let mut buffer = [0u8; std::mem::size_of::<$t>()];
            buffer.copy_from_slice(&bytes[..std::mem::size_of::<$t>()]);
            if little_endian {
                <$t>::from_le_bytes(buffer)
            } else {
                <$t>::from_be_bytes(buffer)
            }
        }};
    }
    match kind {
        Simple::I16 => Scalar::Int(i64::from(num!(i16))),
        Simple::I32 => Scalar::Int(i64::from(num!(i32))),
        Simple::U16 => Scalar::UInt(u64::from(num!(u16))),
        Simple::U32 => Scalar::UInt(u64::from(num!(u32))),
        Simple::F32 => Scalar::Float(f64::from(num!(f32))),
        Simple::F64 => Scalar::Float(num!(f64)),
        Simple::Bool => Scalar::Bool(bytes[0] != 0),
        Simple::I8 => Scalar::Int(i64::from(bytes[0] as i8)),
        Simple::U8 => Scalar::UInt(u64::from(bytes[0])),
        Simple::I64 => Scalar::Int(num!(i64)),
        Simple::U64 => Scalar::UInt(num!(u64)),
    }
}

impl<'a> Parser<'a> {
    fn corrupt(&self, message: impl Into<String>) -> FormatError {
        FormatError::Corrupt {
            format: self.format.to_string(),
            message: format!("{} (at byte {})", message.into(), self.pos),
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if n > self.remaining() {
            return Err(self.corrupt(format!(
                "needs {n} more bytes but only {} remain (truncated file?)",
                self.remaining()
            )));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }

    fn be_u16(&mut self) -> Result<u16, FormatError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn be_u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn be_u64(&mut self) -> Result<u64, FormatError> {
        let b = self.take(8)?;
        let mut buffer = [0u8; 8];
        buffer.copy_from_slice(b);
        Ok(u64::from_be_bytes(buffer))
    }

    /// A structural length: 4 bytes in DM3, 8 in DM4.
    fn length(&mut self) -> Result<u64, FormatError> {
        if self.dm4 {
            self.be_u64()
        } else {
            self.be_u32().map(u64::from)
        }
    }

    fn length_width(&self) -> usize {
        if self.dm4 {
            8
        } else {
            4
        }
    }

    /// `count × element_size` bytes, checked against what remains.
    fn payload_size(&self, count: u64, element_size: usize) -> Result<usize, FormatError> {
        usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(element_size))
            .filter(|&n| n <= self.remaining())
            .ok_or_else(|| {
                self.corrupt(format!(
                    "array of {count} elements of {element_size} bytes exceeds the {} bytes left",
                    self.remaining()
                ))
            })
    }

    fn group(&mut self, depth: usize) -> Result<Vec<(String, Node)>, FormatError> {
        if depth > MAX_DEPTH {
            return Err(self.corrupt(format!("tag groups nested deeper than {MAX_DEPTH}")));
        }
        let _sorted = self.u8()?;
        let _open = self.u8()?;
        let n_tags = self.length()?;
        // Each tag needs at least its kind byte and name length.
        if n_tags > (self.remaining() / 3) as u64 {
            return Err(self.corrupt(format!(
                "group claims {n_tags} tags in {} bytes",
                self.remaining()
            )));
        }
        let mut entries = Vec::new();
        for _ in 0..n_tags {
            let kind = self.u8()?;
            if kind == 0 {
                // Some writers end the file with zero padding instead of the last tags.
                break;
            }
            let name_length = usize::from(self.be_u16()?);
            let name = latin1_or_utf8(self.take(name_length)?);
            if self.dm4 {
                let _tag_bytes = self.be_u64()?;
            }
            let node = match kind {
                20 => Node::Group(self.group(depth + 1)?),
                21 => Node::Leaf(self.data_tag(&name)?),
                other => {
                    return Err(
                        self.corrupt(format!("tag `{name}` has unknown kind {other} (not 20/21)"))
                    )
                }
            };
            entries.push((name, node));
        }
        Ok(entries)
    }

    fn struct_fields(&self, definition: &[u64]) -> Result<(Vec<Simple>, usize), FormatError> {
        // definition = [name_length, n_fields, (name_length, type) × n_fields, …]
        let n_fields = *definition
            .get(1)
            .ok_or_else(|| self.corrupt("struct definition without a field count"))?;
        let n_fields = usize::try_from(n_fields)
            .ok()
            // Checked: a corrupt count near usize::MAX must not wrap into a small, "valid" one.
            .filter(|&n| {
                n.checked_mul(2)
                    .and_then(|m| m.checked_add(2))
                    .is_some_and(|needed| needed <= definition.len())
            })
            .ok_or_else(|| self.corrupt(format!("struct claims {n_fields} fields")))?;
        let fields = (0..n_fields)
            .map(|i| {
                let code = definition[2 + 2 * i + 1];
                Simple::from_code(code)
                    .ok_or_else(|| self.corrupt(format!("struct field of unsupported type {code}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((fields, 2 + 2 * n_fields))
    }

    fn data_tag(&mut self, name: &str) -> Result<Leaf, FormatError> {
        if self.take(4)? != b"%%%%" {
            return Err(self.corrupt(format!("data tag `{name}` lacks its %%%% marker")));
        }
        let n_info = self.length()?;
        if n_info == 0 || n_info > (self.remaining() / self.length_width()) as u64 {
            return Err(self.corrupt(format!("data tag `{name}` claims {n_info} info entries")));
        }
        let info = (0..n_info)
            .map(|_| self.length())
            .collect::<Result<Vec<u64>, _>>()?;
        let little = self.little_endian;
        match info[0] {
            code if Simple::from_code(code).is_some() => {
                let kind = Simple::from_code(code).unwrap_or(Simple::U8);
                let bytes = self.take(kind.size())?;
                Ok(Leaf::Scalar(read_scalar(bytes, kind, little)))
            }
            18 => {
                let length = *info
                    .get(1)
                    .ok_or_else(|| self.corrupt(format!("string `{name}` without a length")))?;
                let size = self.payload_size(length, 1)?;
                Ok(Leaf::Text(latin1_or_utf8(self.take(size)?)))
            }
            15 => {
                let (fields, _) = self.struct_fields(&info[1..])?;
                let mut values = Vec::with_capacity(fields.len());
                for field in fields {
                    let bytes = self.take(field.size())?;
                    values.push(read_scalar(bytes, field, little));
                }
                Ok(Leaf::Struct(values))
            }
            20 => {
                let element = *info
                    .get(1)
                    .ok_or_else(|| self.corrupt(format!("array `{name}` without a type")))?;
                if element == 15 {
                    let (fields, used) = self.struct_fields(&info[2..])?;
                    let count = *info.get(2 + used).ok_or_else(|| {
                        self.corrupt(format!("array of structs `{name}` without a length"))
                    })?;
                    let struct_size: usize = fields.iter().map(|f| f.size()).sum();
                    let size = self.payload_size(count, struct_size)?;
                    let offset = self.pos;
                    self.take(size)?;
                    Ok(Leaf::StructArray {
                        fields,
                        count: usize::try_from(count).unwrap_or(0),
                        offset,
                    })
                } else if let Some(kind) = Simple::from_code(element) {
                    let count = *info
                        .get(2)
                        .ok_or_else(|| self.corrupt(format!("array `{name}` without a length")))?;
                    let size = self.payload_size(count, kind.size())?;
                    let offset = self.pos;
                    self.take(size)?;
                    Ok(Leaf::Array {
                        element: kind,
                        count: size / kind.size(),
                        offset,
                    })
                } else {
                    Err(self.corrupt(format!(
                        "array `{name}` of unsupported element type {element}"
                    )))
                }
            }
            other => Err(self.corrupt(format!("data tag `{name}` has unknown type {other}"))),
        }
    }
}

fn latin1_or_utf8(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn parse(bytes: &[u8]) -> Result<DmFile<'_>, FormatError> {
    let version = bytes
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (dm4, format) = match version {
        Some(3) => (false, "DM3"),
        Some(4) => (true, "DM4"),
        other => {
            return Err(FormatError::UnrecognisedFormat(format!(
                "DigitalMicrograph version {other:?}; only 3 and 4 exist"
            )))
        }
    };
    let mut parser = Parser {
        bytes,
        pos: 4,
        dm4,
        little_endian: true,
        format,
    };
    let _root_length = parser.length()?;
    parser.little_endian = match parser.be_u32()? {
        0 => false,
        1 => true,
        other => return Err(parser.corrupt(format!("byte-order flag {other} (not 0 or 1)"))),
    };
    let root = parser.group(0)?;
    Ok(DmFile {
        bytes,
        format,
        little_endian: parser.little_endian,
        root,
    })
}

// ---------------------------------------------------------------------------------------------
// Tree navigation and JSON conversion
// ---------------------------------------------------------------------------------------------

fn child<'n>(entries: &'n [(String, Node)], name: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, node)| node)
}

fn path<'n>(entries: &'n [(String, Node)], names: &[&str]) -> Option<&'n Node> {
    let (first, rest) = names.split_first()?;
    let node = child(entries, first)?;
    if rest.is_empty() {
        return Some(node);
    }
    match node {
        Node::Group(inner) => path(inner, rest),
        Node::Leaf(_) => None,
    }
}

fn group_of(node: Option<&Node>) -> Option<&[(String, Node)]> {
    match node {
        Some(Node::Group(entries)) => Some(entries),
        _ => None,
    }
}

impl DmFile<'_> {
    fn number(&self, node: Option<&Node>) -> Option<f64> {
        match node {
            Some(Node::Leaf(Leaf::Scalar(s))) => Some(s.as_f64()),
            _ => None,
        }
    }

    fn text(&self, node: Option<&Node>) -> Option<String> {
        match node {
            Some(Node::Leaf(Leaf::Text(t))) => Some(t.clone()),
            Some(Node::Leaf(Leaf::Array {
                element: Simple::U16,
                count,
                offset,
            })) => self.utf16(*offset, *count),
            _ => None,
        }
    }

    /// A `u16` array as text (DM stores strings as UTF-16 arrays), if it decodes to printable
    /// characters.
    fn utf16(&self, offset: usize, count: usize) -> Option<String> {
        let bytes = self
            .bytes
            .get(offset..offset.checked_add(count.checked_mul(2)?)?)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| {
                if self.little_endian {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        let text = String::from_utf16(&units).ok()?;
        let text = text.trim_end_matches('\0').to_string();
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .then_some(text)
    }

    fn array_json(&self, name: &str, element: Simple, count: usize, offset: usize) -> Value {
        if element == Simple::U16 && name != "Data" && count <= JSON_ARRAY_LIMIT {
            if let Some(text) = self.utf16(offset, count) {
                return Value::from(text);
            }
        }
        if count > JSON_ARRAY_LIMIT || name == "Data" {
            let mut summary = Map::new();
            summary.insert("array_type".into(), Value::from(element.name()));
            summary.insert("length".into(), Value::from(count));
            summary.insert("file_offset".into(), Value::from(offset));
            return Value::Object(summary);
        }
        let size = element.size();
        Value::Array(
            (0..count)
                .filter_map(|i| self.bytes.get(offset + i * size..offset + (i + 1) * size))
                .map(|b| read_scalar(b, element, self.little_endian).to_json())
                .collect(),
        )
    }

    fn leaf_json(&self, name: &str, leaf: &Leaf) -> Value {
        match leaf {
            Leaf::Scalar(s) => s.to_json(),
            Leaf::Text(t) => Value::from(t.clone()),
            Leaf::Array {
                element,
                count,
                offset,
            } => self.array_json(name, *element, *count, *offset),
            Leaf::Struct(values) => Value::Array(values.iter().map(|v| v.to_json()).collect()),
            Leaf::StructArray {
                fields,
                count,
                offset,
            } => {
                let struct_size: usize = fields.iter().map(|f| f.size()).sum();
                if *count > JSON_ARRAY_LIMIT {
                    let mut summary = Map::new();
                    summary.insert(
                        "struct_fields".into(),
                        Value::from(fields.iter().map(|f| f.name()).collect::<Vec<_>>()),
                    );
                    summary.insert("length".into(), Value::from(*count));
                    return Value::Object(summary);
                }
                Value::Array(
                    (0..*count)
                        .map(|i| {
                            let mut at = offset + i * struct_size;
                            Value::Array(
                                fields
                                    .iter()
                                    .filter_map(|f| {
                                        let bytes = self.bytes.get(at..at + f.size())?;
                                        at += f.size();
                                        Some(read_scalar(bytes, *f, self.little_endian).to_json())
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            }
        }
    }

    /// A group as a JSON object (or, when all names are empty — DM's lists — an array).
    /// Empty names inside named groups become `[index]`; repeated names get ` (2)`, ` (3)`.
    fn group_json(&self, entries: &[(String, Node)]) -> Value {
        let node_json = |name: &str, node: &Node| match node {
            Node::Group(inner) => self.group_json(inner),
            Node::Leaf(leaf) => self.leaf_json(name, leaf),
        };
        if !entries.is_empty() && entries.iter().all(|(n, _)| n.is_empty()) {
            return Value::Array(entries.iter().map(|(n, node)| node_json(n, node)).collect());
        }
        let mut object = Map::new();
        // Occurrences per name, so that renaming repeats stays linear even for hostile files
        // with millions of equal names.
        let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for (index, (name, node)) in entries.iter().enumerate() {
            let occurrence = seen.entry(name.as_str()).or_insert(0);
            *occurrence += 1;
            let mut key = if name.is_empty() {
                format!("[{index}]")
            } else if *occurrence == 1 {
                name.clone()
            } else {
                format!("{name} ({occurrence})")
            };
            while object.contains_key(&key) {
                // A literal name such as `a (2)` already used: mark the later one.
                key.push('\'');
            }
            object.insert(key, node_json(name, node));
        }
        Value::Object(object)
    }
}

// ---------------------------------------------------------------------------------------------
// Image extraction
// ---------------------------------------------------------------------------------------------

/// The DM `DataType` codes this reader decodes, with their bytes per pixel.
fn dm_data_type(code: i64) -> Option<(DataType, usize)> {
    Some(match code {
        1 => (DataType::I16, 2),
        2 => (DataType::F32, 4),
        3 => (DataType::ComplexF32, 8),
        6 => (DataType::U8, 1),
        7 => (DataType::I32, 4),
        // 8 (RGB) and 23 (RGBA): four bytes per pixel, stored B, G, R, A.
        8 | 23 => (DataType::Rgba8, 4),
        9 => (DataType::I8, 1),
        10 => (DataType::U16, 2),
        11 => (DataType::U32, 4),
        12 => (DataType::F64, 8),
        13 => (DataType::ComplexF64, 16),
        14 => (DataType::Bool, 1),
        39 => (DataType::I64, 8),
        40 => (DataType::U64, 8),
        _ => return None,
    })
}

fn decode_pixels(bytes: &[u8], data_type: DataType, little: bool) -> DataArray {
    macro_rules! decode {
        ($t:ty, $n:expr) => {
            bytes
                .chunks_exact($n)
                .map(|c| {
                    let mut buffer = [0u8; $n];
                    buffer.copy_from_slice(c);
                    if little {
                        <$t>::from_le_bytes(buffer)
                    } else {
                        <$t>::from_be_bytes(buffer)
                    }
                })
                .collect()
        };
    }
    match data_type {
        DataType::U8 => DataArray::U8(bytes.to_vec()),
        DataType::I8 => DataArray::I8(bytes.iter().map(|&b| b as i8).collect()),
        DataType::Bool => DataArray::Bool(bytes.iter().map(|&b| b != 0).collect()),
        DataType::U16 => DataArray::U16(decode!(u16, 2)),
        DataType::I16 => DataArray::I16(decode!(i16, 2)),
        DataType::U32 => DataArray::U32(decode!(u32, 4)),
        DataType::I32 => DataArray::I32(decode!(i32, 4)),
        DataType::U64 => DataArray::U64(decode!(u64, 8)),
        DataType::I64 => DataArray::I64(decode!(i64, 8)),
        DataType::F32 => DataArray::F32(decode!(f32, 4)),
        DataType::F64 => DataArray::F64(decode!(f64, 8)),
        DataType::ComplexF32 => {
            let values: Vec<f32> = decode!(f32, 4);
            DataArray::ComplexF32(values.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
        }
        DataType::ComplexF64 => {
            let values: Vec<f64> = decode!(f64, 8);
            DataArray::ComplexF64(values.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
        }
        DataType::Rgba8 => DataArray::Rgba8(
            bytes
                .chunks_exact(4)
                .map(|c| [c[2], c[1], c[0], c[3]])
                .collect(),
        ),
        DataType::Rgb8 => {
            DataArray::Rgb8(bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
        }
    }
}

struct ChosenImage<'n> {
    index: usize,
    image: &'n [(String, Node)],
}

fn choose_image<'n>(file: &'n DmFile<'_>) -> Result<ChosenImage<'n>, FormatError> {
    let corrupt = |message: &str| FormatError::Corrupt {
        format: file.format.to_string(),
        message: message.to_string(),
    };
    let list = group_of(child(&file.root, "ImageList"))
        .ok_or_else(|| corrupt("no ImageList tag group"))?;
    let thumbnails: Vec<usize> = group_of(child(&file.root, "Thumbnails"))
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(_, node)| match node {
                    Node::Group(t) => file.number(child(t, "ImageIndex")),
                    Node::Leaf(_) => None,
                })
                .filter(|v| *v >= 0.0)
                .map(|v| v as usize)
                .collect()
        })
        .unwrap_or_default();
    let images: Vec<(usize, &[(String, Node)])> = list
        .iter()
        .enumerate()
        .filter_map(|(i, (_, node))| match node {
            Node::Group(entries) => Some((i, entries.as_slice())),
            Node::Leaf(_) => None,
        })
        .filter(|(_, entries)| path(entries, &["ImageData", "Data"]).is_some())
        .collect();
    let mut candidates: Vec<(usize, &[(String, Node)])> = images
        .iter()
        .copied()
        .filter(|(i, _)| !thumbnails.contains(i))
        .collect();
    if thumbnails.is_empty() && candidates.len() > 1 {
        // No thumbnail list: DM puts the RGB preview first.
        let first_is_rgb = file
            .number(path(candidates[0].1, &["ImageData", "DataType"]))
            .is_some_and(|t| t == 8.0 || t == 23.0);
        if first_is_rgb {
            candidates.remove(0);
        }
    }
    if candidates.is_empty() {
        candidates = images;
    }
    let size = |entries: &[(String, Node)]| -> f64 {
        group_of(path(entries, &["ImageData", "Dimensions"]))
            .map(|dims| {
                dims.iter()
                    .filter_map(|(_, n)| file.number(Some(n)))
                    .product()
            })
            .unwrap_or(0.0)
    };
    let mut best: Option<(usize, &Entries, f64)> = None;
    for (index, image) in candidates {
        let s = size(image);
        if best.as_ref().is_none_or(|(_, _, b)| s >= *b) {
            best = Some((index, image, s));
        }
    }
    let (index, image, _) = best.ok_or_else(|| corrupt("ImageList holds no image with data"))?;
    Ok(ChosenImage { index, image })
}

struct ImageLayout {
    info: DatasetInfo,
    data_offset: usize,
    data_bytes: usize,
}

fn layout(file: &DmFile<'_>) -> Result<ImageLayout, FormatError> {
    let corrupt = |message: String| FormatError::Corrupt {
        format: file.format.to_string(),
        message,
    };
    let chosen = choose_image(file)?;
    let image = chosen.image;
    let mut notes = Vec::new();
    let image_count = group_of(child(&file.root, "ImageList")).map_or(0, |l| l.len());
    if image_count > 1 {
        notes.push(format!(
            "ImageList holds {image_count} images; read image {} (thumbnails skipped, largest kept)",
            chosen.index
        ));
    }
    let type_code = file
        .number(path(image, &["ImageData", "DataType"]))
        .ok_or_else(|| corrupt("ImageData.DataType missing".into()))?;
    let (data_type, pixel_bytes) =
        dm_data_type(type_code as i64).ok_or_else(|| FormatError::Unsupported {
            format: file.format.to_string(),
            message: format!("DataType {type_code} (e.g. packed complex) is not decoded"),
        })?;
    let dims_fastest_first: Vec<usize> = group_of(path(image, &["ImageData", "Dimensions"]))
        .ok_or_else(|| corrupt("ImageData.Dimensions missing".into()))?
        .iter()
        .map(|(_, n)| {
            file.number(Some(n))
                .filter(|v| *v >= 0.0 && v.fract() == 0.0 && *v <= 1e15)
                .map(|v| v as usize)
                .ok_or_else(|| corrupt("a dimension is not a non-negative integer".into()))
        })
        .collect::<Result<_, _>>()?;
    if dims_fastest_first.is_empty() {
        return Err(corrupt("image has no dimensions".into()));
    }
    let (data_offset, available) = match path(image, &["ImageData", "Data"]) {
        Some(Node::Leaf(Leaf::Array {
            element,
            count,
            offset,
        })) => (*offset, count * element.size()),
        _ => return Err(corrupt("ImageData.Data is not an array".into())),
    };
    let element_count = checked_product(&dims_fastest_first)?;
    let data_bytes = element_count
        .checked_mul(pixel_bytes)
        .filter(|&n| n <= available)
        .ok_or_else(|| {
            corrupt(format!(
                "dimensions {dims_fastest_first:?} of {pixel_bytes}-byte pixels need more than \
                 the {available} data bytes stored"
            ))
        })?;

    // Calibrations, one per dimension, fastest first.
    let calibrations: Vec<&[(String, Node)]> =
        group_of(path(image, &["ImageData", "Calibrations", "Dimension"]))
            .map(|dims| {
                dims.iter()
                    .filter_map(|(_, n)| match n {
                        Node::Group(g) => Some(g.as_slice()),
                        Node::Leaf(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
    let tags = group_of(path(image, &["ImageTags"])).unwrap_or(&[]);
    let signal = file.text(path(tags, &["Meta Data", "Signal"]));
    let is_eels = signal
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("EELS"));

    let mut axes_fastest_first = Vec::new();
    for (i, &size) in dims_fastest_first.iter().enumerate() {
        let calibration = calibrations.get(i).copied();
        let scale = calibration.and_then(|c| file.number(child(c, "Scale")));
        let origin = calibration.and_then(|c| file.number(child(c, "Origin")));
        let units = calibration
            .and_then(|c| file.text(child(c, "Units")))
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty());
        let generic = ["x", "y", "z"]
            .get(i)
            .map_or_else(|| format!("axis {i}"), |n| n.to_string());
        let mut axis = Axis::uncalibrated(&generic, size);
        if let Some(scale) = scale.filter(|s| s.is_finite() && *s != 0.0) {
            axis.scale = scale;
            axis.offset = -origin.filter(|o| o.is_finite()).unwrap_or(0.0) * scale;
        }
        match units {
            Some(u) => axis.units = Some(u),
            None if axis.scale != 1.0 || axis.offset != 0.0 => notes.push(format!(
                "axis {generic} has scale {} and offset {} but no unit; reported without units",
                axis.scale, axis.offset
            )),
            None => {}
        }
        axes_fastest_first.push(axis);
    }
    // DM writes 1-pixel-high spectra as 2-D; drop length-1 dimensions beyond the first.
    if axes_fastest_first.len() > 1 && axes_fastest_first.iter().any(|a| a.size == 1) {
        let before = axes_fastest_first.len();
        axes_fastest_first.retain(|a| a.size != 1);
        if axes_fastest_first.is_empty() {
            axes_fastest_first.push(Axis::uncalibrated("x", 1));
        }
        notes.push(format!(
            "{} length-1 dimension(s) removed",
            before - axes_fastest_first.len()
        ));
    }
    // A spectrum's energy axis (the fastest) is named as rosettasciio names it.
    if let Some(first) = axes_fastest_first.first_mut() {
        let energy_unit = first
            .units
            .as_deref()
            .is_some_and(|u| matches!(u, "eV" | "keV"));
        if energy_unit {
            first.name = if is_eels { "Energy loss" } else { "Energy" }.to_string();
        }
    }
    let axes: Vec<Axis> = axes_fastest_first.into_iter().rev().collect();
    let shape: Vec<usize> = axes.iter().map(|a| a.size).collect();

    let metadata = normalised_metadata(file, tags, &axes, signal.as_deref());
    let original_metadata = file.group_json(&file.root);
    Ok(ImageLayout {
        info: DatasetInfo {
            data_type,
            shape,
            axes,
            metadata,
            original_metadata,
            format: file.format.to_string(),
            notes,
        },
        data_offset,
        data_bytes,
    })
}

fn normalised_metadata(
    file: &DmFile<'_>,
    tags: &[(String, Node)],
    axes: &[Axis],
    signal: Option<&str>,
) -> NormalisedMetadata {
    let microscope = group_of(child(tags, "Microscope Info")).unwrap_or(&[]);
    let number = |names: &[&str]| file.number(path(microscope, names));
    let text = |names: &[&str]| {
        file.text(path(microscope, names))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let beam_energy_kv = number(&["Voltage"])
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| v / 1000.0);
    let magnification = number(&["Actual Magnification"])
        .or_else(|| number(&["Indicated Magnification"]))
        .filter(|m| m.is_finite() && *m > 0.0);
    let illumination = text(&["Illumination Mode"]);
    let imaging = text(&["Imaging Mode"]);
    let technique = match signal {
        Some(s) if s.eq_ignore_ascii_case("EELS") => Some("EELS".to_string()),
        Some(s) if s.eq_ignore_ascii_case("EDS") || s.eq_ignore_ascii_case("X-ray") => {
            Some("EDS".to_string())
        }
        _ => match (illumination.as_deref(), imaging.as_deref()) {
            (_, Some(mode)) if mode.to_ascii_uppercase().contains("DIFF") => {
                Some("electron diffraction".to_string())
            }
            (Some(mode), _) if mode.to_ascii_uppercase().contains("STEM") => {
                Some("STEM".to_string())
            }
            (Some(mode), _) if mode.to_ascii_uppercase().contains("TEM") => Some("TEM".to_string()),
            _ => None,
        },
    };
    let date = file.text(path(tags, &["DataBar", "Acquisition Date"]));
    let time = file.text(path(tags, &["DataBar", "Acquisition Time"]));
    let acquisition_time = match (date, time) {
        (Some(d), Some(t)) => Some(format!("{d} {t}")),
        (d, t) => d.or(t),
    };
    let pixel_size = axes
        .last()
        .filter(|_| axes.len() >= 2)
        .and_then(|a| a.units.as_ref().map(|u| Quantity::new(a.scale, u)));
    NormalisedMetadata {
        instrument_vendor: None,
        instrument_model: text(&["Microscope"]).or_else(|| text(&["Name"])),
        technique,
        beam_energy_kv,
        magnification,
        camera_length_mm: number(&["STEM Camera Length"]).filter(|v| v.is_finite() && *v > 0.0),
        working_distance_mm: None,
        detector: file
            .text(path(tags, &["Acquisition", "Device", "Name"]))
            .or_else(|| text(&["Detector"])),
        acquisition_time,
        dwell_time_s: None,
        beam_current_a: None,
        pixel_size,
        wavelength_pm: beam_energy_kv.map(electron_wavelength_pm),
        operator: text(&["Operator"]),
        ..NormalisedMetadata::default()
    }
}

/// Reads a DM3 or DM4 file (see the [module docs](self)).
pub fn read_dm(bytes: &[u8]) -> Result<Dataset, FormatError> {
    let file = parse(bytes)?;
    let layout = layout(&file)?;
    let raw = bytes
        .get(layout.data_offset..layout.data_offset + layout.data_bytes)
        .ok_or_else(|| FormatError::Corrupt {
            format: file.format.to_string(),
            message: "pixel data lies outside the file".into(),
        })?;
    let data = decode_pixels(raw, layout.info.data_type, file.little_endian);
    Dataset::from_parts(layout.info, data)
}

/// Reads a DM3 or DM4 file's tags, shape and calibration without copying the pixels.
pub fn read_dm_info(bytes: &[u8]) -> Result<DatasetInfo, FormatError> {
    let file = parse(bytes)?;
    Ok(layout(&file)?.info)
}

/// The complete DM tag tree as JSON (what [`Dataset::original_metadata`] holds), e.g. for the
/// DM tree embedded in TIFF tag 65027 of DM-written TIFFs.
pub fn dm_tag_tree_json(bytes: &[u8]) -> Result<Value, FormatError> {
    let file = parse(bytes)?;
    Ok(file.group_json(&file.root))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal DM3 file: ImageList with one 2 × 1 i16 image calibrated 0.5 nm.
    fn tiny_dm3() -> Vec<u8> {
        fn name(out: &mut Vec<u8>, kind: u8, n: &str) {
            out.push(kind);
            out.extend((n.len() as u16).to_be_bytes());
            out.extend(n.as_bytes());
        }
        fn group_header(out: &mut Vec<u8>, n: u32) {
            out.extend([0, 0]);
            out.extend(n.to_be_bytes());
        }
        fn scalar_f32(out: &mut Vec<u8>, n: &str, v: f32) {
            name(out, 21, n);
            out.extend(b"%%%%");
            out.extend(1u32.to_be_bytes());
            out.extend(6u32.to_be_bytes());
            out.extend(v.to_le_bytes());
        }
        fn scalar_u32(out: &mut Vec<u8>, n: &str, v: u32) {
            name(out, 21, n);
            out.extend(b"%%%%");
            out.extend(1u32.to_be_bytes());
            out.extend(5u32.to_be_bytes());
            out.extend(v.to_le_bytes());
        }
        let mut b = Vec::new();
        b.extend(3u32.to_be_bytes());
        b.extend(0u32.to_be_bytes());
        b.extend(1u32.to_be_bytes());
        group_header(&mut b, 1);
        name(&mut b, 20, "ImageList");
        group_header(&mut b, 1);
        name(&mut b, 20, "");
        group_header(&mut b, 1);
        name(&mut b, 20, "ImageData");
        group_header(&mut b, 4);
        scalar_u32(&mut b, "DataType", 1);
        name(&mut b, 20, "Dimensions");
        group_header(&mut b, 2);
        scalar_u32(&mut b, "", 2);
        scalar_u32(&mut b, "", 1);
        name(&mut b, 21, "Data");
        b.extend(b"%%%%");
        b.extend(3u32.to_be_bytes());
        b.extend(20u32.to_be_bytes());
        b.extend(2u32.to_be_bytes());
        b.extend(2u32.to_be_bytes());
        b.extend((-7i16).to_le_bytes());
        b.extend(300i16.to_le_bytes());
        name(&mut b, 20, "Calibrations");
        group_header(&mut b, 1);
        name(&mut b, 20, "Dimension");
        group_header(&mut b, 1);
        name(&mut b, 20, "");
        group_header(&mut b, 3);
        scalar_f32(&mut b, "Scale", 0.5);
        scalar_f32(&mut b, "Origin", 2.0);
        name(&mut b, 21, "Units");
        b.extend(b"%%%%");
        b.extend(3u32.to_be_bytes());
        b.extend(20u32.to_be_bytes());
        b.extend(4u32.to_be_bytes());
        b.extend(2u32.to_be_bytes());
        b.extend(u16::from(b'n').to_le_bytes());
        b.extend(u16::from(b'm').to_le_bytes());
        b
    }

    #[test]
    fn synthetic_dm3_reads_values_calibration_and_tree() {
        let bytes = tiny_dm3();
        let dataset = read_dm(&bytes).unwrap();
        assert_eq!(dataset.shape, vec![2]);
        assert_eq!(dataset.data, DataArray::I16(vec![-7, 300]));
        assert_eq!(dataset.axes[0].units.as_deref(), Some("nm"));
        assert_eq!(dataset.axes[0].scale, 0.5);
        assert_eq!(dataset.axes[0].offset, -1.0);
        assert_eq!(
            dataset.original_metadata["ImageList"][0]["ImageData"]["Calibrations"]["Dimension"][0]
                ["Units"],
            "nm"
        );
        assert!(dataset.notes.iter().any(|n| n.contains("length-1")));
    }

    #[test]
    fn every_truncation_of_a_synthetic_file_is_an_error() {
        let bytes = tiny_dm3();
        for end in 0..bytes.len() {
            assert!(read_dm(&bytes[..end]).is_err(), "truncated at {end}");
        }
    }

    #[test]
    fn huge_claimed_lengths_are_refused_without_allocating() {
        let mut bytes = tiny_dm3();
        // The root group's tag count (bytes 14..18) set to 2³² − 1.
        bytes[14..18].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(read_dm(&bytes), Err(FormatError::Corrupt { .. })));
    }
}
