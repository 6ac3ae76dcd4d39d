//! MRC / CCP4 maps and image stacks (MRC2014), read into a [`Dataset`], plus a small writer.
//!
//! The format is specified at <https://www.ccpem.ac.uk/mrc_format/mrc2014.php> (Cheng et al.,
//! "MRC2014: Extensions to the MRC format header for electron cryo-microscopy and tomography",
//! *J. Struct. Biol.* 192 (2015) 146–150). A file is a 1024-byte header of 4-byte words, an
//! optional extended header of `NSYMBT` bytes, then `NX × NY × NZ` values, X fastest.
//!
//! | header (byte) | field | use here |
//! |---|---|---|
//! | 0, 4, 8 | `NX`, `NY`, `NZ` (i32) | shape `[NZ, NY, NX]` (`[NY, NX]` when `NZ = 1`) |
//! | 12 | `MODE` | 0 int8, 1 int16, 2 float32, 4 complex float32, 6 uint16, 12 float16 |
//! | 28–36 | `MX`, `MY`, `MZ` | sampling of the unit cell |
//! | 40–48 | `CELLA` (Å) | voxel size = `CELLA.x / MX` … |
//! | 64–72 | `MAPC`, `MAPR`, `MAPS` | which of X, Y, Z the columns, rows, sections are (cell sizes and origins follow a permutation; noted) |
//! | 92 | `NSYMBT` | extended header bytes, skipped (FEI1/FEI2 parsed, see below) |
//! | 104 | `EXTTYP` | `FEI1`, `FEI2`, `CCP4`, `MRCO`, `SERI`, `AGAR` |
//! | 196–204 | `ORIGIN` (Å) | axis offsets |
//! | 208 | `MAP ` | identifies the file ([`crate::read_any`] detects MRC by it) |
//! | 212 | `MACHST` | byte order: `44 44`/`44 41` little-endian, `11 11` big-endian |
//! | 220, 224 | `NLABL`, 10 × 80-char labels | `original_metadata` |
//!
//! # Decisions
//!
//! * **Voxel size** = `CELLA / M` in Å, reported in **nm** (÷ 10) on the `x`, `y` (and `z`)
//!   axes. When `M` or `CELLA` is zero or not finite the axis is uncalibrated (`units: None`) and
//!   the reason is in `notes`; a size of exactly 1 Å is reported but noted, because many writers
//!   store `CELLA = M` when they do not know the pixel size.
//! * **Mode 0** is read as signed int8, as MRC2014 defines it (files written by old IMOD
//!   versions hold unsigned bytes; a note says so).
//! * **Mode 4** (complex float32, Fourier transforms) is read as complex values
//!   ([`DataArray::ComplexF32`], `[re, im]`) in the stored half-transform layout, not reduced to
//!   magnitudes: no information is thrown away, and `value_f64` gives the modulus when needed.
//! * **Mode 12** (IEEE half float) is widened to float32 exactly (every f16 is an f32) and noted.
//! * Modes 3 (complex int16) and 101 (packed 4-bit) are refused with [`FormatError::Unsupported`].
//! * **FEI1/FEI2 extended header** (Thermo Fisher EPU/Tomography): the first 768-byte
//!   per-section record gives the pixel size X/Y in metres (bytes 156/164, valid when bits 14/15
//!   of the bitmask at byte 8 are set), the high tension in V (byte 84, bit 5) and the microscope
//!   type (byte 20). When the main header is uncalibrated these pixel sizes are used (noted);
//!   when both exist and differ by more than 1 %, the main header wins and the difference is
//!   noted.
//! * The byte order comes from `MACHST`; when it is missing or unknown, the order in which
//!   `MODE` and the dimensions make sense is used and noted.

use crate::dataset::{
    checked_product, Axis, DataArray, DataType, Dataset, DatasetInfo, NormalisedMetadata,
};
use crate::FormatError;
use athanor_model::Quantity;
use serde_json::{Map, Value};

const HEADER_BYTES: usize = 1024;
const FORMAT: &str = "MRC";
const FEI_RECORD_BYTES: usize = 768;

/// Whether `bytes` look like an MRC file: the `MAP ` stamp at byte 208.
pub(crate) fn looks_like_mrc(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_BYTES && bytes.get(208..212) == Some(b"MAP ")
}

fn corrupt(message: String) -> FormatError {
    FormatError::Corrupt {
        format: FORMAT.into(),
        message,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

/// Little helpers reading header words in the file's byte order.
struct Header<'a> {
    bytes: &'a [u8],
    endian: Endian,
}

impl Header<'_> {
    fn word(&self, offset: usize) -> [u8; 4] {
        let mut w = [0u8; 4];
        w.copy_from_slice(&self.bytes[offset..offset + 4]);
        w
    }
    fn i32(&self, offset: usize) -> i32 {
        match self.endian {
            Endian::Little => i32::from_le_bytes(self.word(offset)),
            Endian::Big => i32::from_be_bytes(self.word(offset)),
        }
    }
    fn f32(&self, offset: usize) -> f32 {
        match self.endian {
            Endian::Little => f32::from_le_bytes(self.word(offset)),
            Endian::Big => f32::from_be_bytes(self.word(offset)),
        }
    }
    fn f64_at(&self, data: &[u8], offset: usize) -> Option<f64> {
        let raw: [u8; 8] = data.get(offset..offset + 8)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => f64::from_le_bytes(raw),
            Endian::Big => f64::from_be_bytes(raw),
        })
    }
    fn u32_at(&self, data: &[u8], offset: usize) -> Option<u32> {
        let raw: [u8; 4] = data.get(offset..offset + 4)?.try_into().ok()?;
        Some(match self.endian {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        })
    }
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).trim().to_string()
}

/// The parsed header: everything but the values.
struct Parsed {
    info: DatasetInfo,
    data_offset: usize,
    mode: i32,
    endian: Endian,
    elements: usize,
}

fn data_type_of(mode: i32) -> Result<DataType, FormatError> {
    Ok(match mode {
        0 => DataType::I8,
        1 => DataType::I16,
        2 | 12 => DataType::F32,
        4 => DataType::ComplexF32,
        6 => DataType::U16,
        3 | 101 => {
            return Err(FormatError::Unsupported {
                format: FORMAT.into(),
                message: format!(
                    "MODE {mode} ({}) at byte 12 is not read",
                    if mode == 3 {
                        "complex int16"
                    } else {
                        "packed 4-bit"
                    }
                ),
            })
        }
        other => {
            return Err(corrupt(format!(
                "MODE {other} at byte 12 is not an MRC mode"
            )))
        }
    })
}

fn stored_bytes_per_value(mode: i32) -> usize {
    match mode {
        0 => 1,
        1 | 6 | 12 => 2,
        4 => 8,
        _ => 4,
    }
}

fn plausible_header(bytes: &[u8], endian: Endian) -> bool {
    let h = Header { bytes, endian };
    let mode = h.i32(12);
    let dims = [h.i32(0), h.i32(4), h.i32(8)];
    data_type_of(mode).is_ok() && dims.iter().all(|&d| d > 0 && d < (1 << 24))
}

fn parse(bytes: &[u8]) -> Result<Parsed, FormatError> {
    if bytes.len() < HEADER_BYTES {
        return Err(corrupt(format!(
            "{} bytes: shorter than the 1024-byte header",
            bytes.len()
        )));
    }
    if !looks_like_mrc(bytes) {
        return Err(corrupt(format!(
            "bytes 208..212 are {:02X?}, not the \"MAP \" stamp",
            &bytes[208..212]
        )));
    }
    let mut notes = Vec::new();
    let stamp = [bytes[212], bytes[213]];
    let endian = match stamp {
        [0x44, 0x44] | [0x44, 0x41] => Endian::Little,
        [0x11, 0x11] => Endian::Big,
        _ => {
            let endian = if plausible_header(bytes, Endian::Little) {
                Endian::Little
            } else if plausible_header(bytes, Endian::Big) {
                Endian::Big
            } else {
                Endian::Little
            };
            notes.push(format!(
                "machine stamp {stamp:02X?} at byte 212 is not a known byte order; \
                 {} assumed from MODE and dimensions",
                if endian == Endian::Little {
                    "little-endian"
                } else {
                    "big-endian"
                }
            ));
            endian
        }
    };
    let h = Header { bytes, endian };
    let (nx, ny, nz) = (h.i32(0), h.i32(4), h.i32(8));
    let mode = h.i32(12);
    let data_type = data_type_of(mode)?;
    for (name, value, offset) in [("NX", nx, 0), ("NY", ny, 4), ("NZ", nz, 8)] {
        if value <= 0 {
            return Err(corrupt(format!("{name} = {value} at byte {offset}")));
        }
    }
    let (nx, ny, nz) = (nx as usize, ny as usize, nz as usize);
    let nsymbt = h.i32(92);
    if nsymbt < 0 {
        return Err(corrupt(format!("NSYMBT = {nsymbt} at byte 92")));
    }
    let data_offset = HEADER_BYTES + nsymbt as usize;
    let elements = checked_product(&[nz, ny, nx])?;
    let payload = elements
        .checked_mul(stored_bytes_per_value(mode))
        .ok_or_else(|| corrupt(format!("{nx} × {ny} × {nz} values overflow")))?;
    let end = data_offset
        .checked_add(payload)
        .ok_or_else(|| corrupt("data size overflows".into()))?;
    if end > bytes.len() {
        return Err(corrupt(format!(
            "{nx} × {ny} × {nz} values of MODE {mode} need {payload} bytes from byte \
             {data_offset} (after {nsymbt} extended-header bytes), but the file has {} bytes",
            bytes.len()
        )));
    }
    if end < bytes.len() {
        notes.push(format!(
            "{} bytes after the data are ignored",
            bytes.len() - end
        ));
    }

    // Calibration from the main header.
    let sampling = [h.i32(28), h.i32(32), h.i32(36)];
    let cell = [h.f32(40), h.f32(44), h.f32(48)];
    let origin = [h.f32(196), h.f32(200), h.f32(204)];
    let mut voxel_nm: [Option<f64>; 3] = [None; 3];
    for (axis, name) in ["x", "y", "z"].iter().enumerate() {
        let (m, c) = (sampling[axis], f64::from(cell[axis]));
        if m > 0 && c.is_finite() && c > 0.0 {
            let angstrom = c / f64::from(m);
            voxel_nm[axis] = Some(angstrom / 10.0);
            if (angstrom - 1.0).abs() < 1e-9 && axis < 2 {
                notes.push(format!(
                    "{name} voxel size is exactly 1 Å (CELLA = M): many writers store this when \
                     the pixel size is unknown"
                ));
            }
        } else {
            notes.push(format!(
                "{name}: M{} = {m}, CELLA = {c} Å: no voxel size, axis uncalibrated",
                name.to_uppercase()
            ));
        }
    }
    let exttyp = text(&bytes[104..108]);
    let mut metadata = NormalisedMetadata::default();
    let mut original = Map::new();
    if (exttyp == "FEI1" || exttyp == "FEI2") && nsymbt as usize >= FEI_RECORD_BYTES {
        let record = &bytes[HEADER_BYTES..HEADER_BYTES + FEI_RECORD_BYTES];
        let fei = parse_fei_record(&h, record, &mut metadata);
        for (axis, size) in fei.pixel_size_m.iter().enumerate() {
            let Some(metres) = size else { continue };
            let nm = metres * 1e9;
            match voxel_nm[axis] {
                None => {
                    voxel_nm[axis] = Some(nm);
                    notes.push(format!(
                        "{} pixel size {nm} nm from the {exttyp} extended header",
                        ["x", "y"][axis]
                    ));
                }
                Some(main) if (main - nm).abs() > 0.01 * main => notes.push(format!(
                    "{} pixel size: main header {main} nm, {exttyp} extended header {nm} nm; \
                     main header used",
                    ["x", "y"][axis]
                )),
                Some(_) => {}
            }
        }
        original.insert(exttyp.clone(), fei.json);
    } else if nsymbt > 0 {
        notes.push(format!(
            "{nsymbt}-byte extended header of type {exttyp:?} skipped"
        ));
    }
    if mode == 0 {
        notes.push(
            "MODE 0 read as signed int8 (MRC2014); old IMOD files hold unsigned bytes".into(),
        );
    }
    if mode == 12 {
        notes.push("MODE 12 (float16) widened to float32 exactly".into());
    }
    if mode == 4 {
        notes
            .push("MODE 4: complex float32 values as stored (half transform, NX = N/2 + 1)".into());
    }

    let nlabl = h.i32(220).clamp(0, 10) as usize;
    let labels: Vec<Value> = (0..nlabl)
        .map(|i| Value::from(text(&bytes[224 + 80 * i..224 + 80 * (i + 1)])))
        .collect();
    original.insert("NX".into(), Value::from(nx));
    original.insert("NY".into(), Value::from(ny));
    original.insert("NZ".into(), Value::from(nz));
    original.insert("MODE".into(), Value::from(mode));
    original.insert(
        "NXSTART".into(),
        Value::from(vec![h.i32(16), h.i32(20), h.i32(24)]),
    );
    original.insert("MXYZ".into(), Value::from(sampling.to_vec()));
    original.insert(
        "CELLA".into(),
        Value::from(cell.iter().map(|&v| f64::from(v)).collect::<Vec<_>>()),
    );
    original.insert(
        "CELLB".into(),
        Value::from(
            [52, 56, 60]
                .iter()
                .map(|&o| f64::from(h.f32(o)))
                .collect::<Vec<_>>(),
        ),
    );
    original.insert(
        "MAPCRS".into(),
        Value::from(vec![h.i32(64), h.i32(68), h.i32(72)]),
    );
    original.insert(
        "DMIN_DMAX_DMEAN_RMS".into(),
        Value::from(
            [76, 80, 84, 216]
                .iter()
                .map(|&o| f64::from(h.f32(o)))
                .filter(|v| v.is_finite())
                .collect::<Vec<_>>(),
        ),
    );
    original.insert("ISPG".into(), Value::from(h.i32(88)));
    original.insert("NSYMBT".into(), Value::from(nsymbt));
    original.insert("EXTTYP".into(), Value::from(exttyp));
    original.insert("NVERSION".into(), Value::from(h.i32(108)));
    original.insert(
        "ORIGIN".into(),
        Value::from(
            origin
                .iter()
                .map(|&v| f64::from(v))
                .filter(|v| v.is_finite())
                .collect::<Vec<_>>(),
        ),
    );
    original.insert(
        "MACHST".into(),
        Value::from(format!("{:02X?}", &bytes[212..216])),
    );
    original.insert("labels".into(), Value::from(labels));

    // MAPC/MAPR/MAPS: which physical axis (1 = X, 2 = Y, 3 = Z) the stored columns, rows and
    // sections are. EM files use 1, 2, 3; crystallographic maps may permute them, and then the
    // cell sizes and origins must follow the permutation.
    let map = [h.i32(64), h.i32(68), h.i32(72)];
    let physical: [usize; 3] = {
        let mut sorted = map;
        sorted.sort_unstable();
        if sorted == [1, 2, 3] {
            [
                map[0] as usize - 1,
                map[1] as usize - 1,
                map[2] as usize - 1,
            ]
        } else {
            if map != [0, 0, 0] {
                notes.push(format!(
                    "MAPC/MAPR/MAPS {map:?} at byte 64 is not a permutation of 1, 2, 3; \
                     columns, rows, sections taken as X, Y, Z"
                ));
            }
            [0, 1, 2]
        }
    };
    if physical != [0, 1, 2] {
        notes.push(format!(
            "axes permuted (MAPC/MAPR/MAPS = {map:?}): columns are {}, rows {}, sections {}",
            ["X", "Y", "Z"][physical[0]],
            ["X", "Y", "Z"][physical[1]],
            ["X", "Y", "Z"][physical[2]]
        ));
    }
    // `stored`: 0 columns, 1 rows, 2 sections.
    let axis = |size: usize, stored: usize| {
        let index = physical[stored];
        let name = ["x", "y", "z"][index];
        match voxel_nm[index] {
            Some(scale) => {
                let offset = f64::from(origin[index]);
                Axis {
                    name: name.to_string(),
                    size,
                    scale,
                    offset: if offset.is_finite() {
                        offset / 10.0
                    } else {
                        0.0
                    },
                    units: Some("nm".into()),
                }
            }
            None => Axis::uncalibrated(name, size),
        }
    };
    let mut axes = Vec::new();
    if nz > 1 {
        // ISPG 0 marks an image stack (MRC2014), anything else a volume.
        if h.i32(88) == 0 {
            axes.push(Axis::uncalibrated("image series", nz));
        } else {
            axes.push(axis(nz, 2));
        }
    }
    axes.push(axis(ny, 1));
    axes.push(axis(nx, 0));
    let shape = axes.iter().map(|a| a.size).collect();
    metadata.pixel_size = voxel_nm[physical[0]].map(|v| Quantity::new(v, "nm"));
    if exttyp_is_fei(&original) {
        metadata.technique = Some("TEM".into());
    }
    Ok(Parsed {
        info: DatasetInfo {
            data_type,
            shape,
            axes,
            metadata,
            original_metadata: Value::Object(original),
            format: FORMAT.into(),
            notes,
        },
        data_offset,
        mode,
        endian,
        elements,
    })
}

fn exttyp_is_fei(original: &Map<String, Value>) -> bool {
    original.contains_key("FEI1") || original.contains_key("FEI2")
}

struct FeiRecord {
    pixel_size_m: [Option<f64>; 2],
    json: Value,
}

/// The first record of a Thermo Fisher FEI1/FEI2 extended header (fields guarded by bitmask 1).
fn parse_fei_record(h: &Header<'_>, record: &[u8], metadata: &mut NormalisedMetadata) -> FeiRecord {
    let bitmask = h.u32_at(record, 8).unwrap_or(0);
    let valid = |bit: u32| bitmask & (1 << bit) != 0;
    let plausible_pixel = |v: f64| v.is_finite() && v > 1e-13 && v < 1e-2;
    let mut json = Map::new();
    json.insert("bitmask1".into(), Value::from(bitmask));
    let mut pixel_size_m = [None, None];
    for (axis, (bit, offset)) in [(14u32, 156usize), (15, 164)].into_iter().enumerate() {
        if valid(bit) {
            match h.f64_at(record, offset) {
                Some(v) if plausible_pixel(v) => {
                    pixel_size_m[axis] = Some(v);
                    json.insert(
                        ["pixel_size_x_m", "pixel_size_y_m"][axis].into(),
                        Value::from(v),
                    );
                }
                _ => {}
            }
        }
    }
    if valid(1) {
        let microscope = text(&record[20..36]);
        if !microscope.is_empty() {
            json.insert("microscope_type".into(), Value::from(microscope.clone()));
            metadata.instrument_model = Some(microscope);
        }
    }
    if valid(5) {
        if let Some(volts) = h.f64_at(record, 84).filter(|v| v.is_finite() && *v > 0.0) {
            json.insert("ht_v".into(), Value::from(volts));
            metadata.beam_energy_kv = Some(volts / 1000.0);
            metadata.wavelength_pm = Some(crate::dataset::electron_wavelength_pm(volts / 1000.0));
        }
    }
    metadata.instrument_vendor = Some("FEI/Thermo Fisher Scientific".into());
    FeiRecord {
        pixel_size_m,
        json: Value::Object(json),
    }
}

fn decode(
    payload: &[u8],
    mode: i32,
    endian: Endian,
    elements: usize,
) -> Result<DataArray, FormatError> {
    macro_rules! words {
        ($t:ty, $n:expr) => {
            payload[..elements * $n].chunks_exact($n).map(|c| {
                let raw: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                match endian {
                    Endian::Little => <$t>::from_le_bytes(raw),
                    Endian::Big => <$t>::from_be_bytes(raw),
                }
            })
        };
    }
    Ok(match mode {
        0 => DataArray::I8(payload[..elements].iter().map(|&b| b as i8).collect()),
        1 => DataArray::I16(words!(i16, 2).collect()),
        2 => DataArray::F32(words!(f32, 4).collect()),
        6 => DataArray::U16(words!(u16, 2).collect()),
        12 => DataArray::F32(words!(u16, 2).map(f16_to_f32).collect()),
        4 => {
            let floats: Vec<f32> = {
                let total = elements * 2;
                payload[..total * 4]
                    .chunks_exact(4)
                    .map(|c| {
                        let raw: [u8; 4] = c.try_into().unwrap_or([0; 4]);
                        match endian {
                            Endian::Little => f32::from_le_bytes(raw),
                            Endian::Big => f32::from_be_bytes(raw),
                        }
                    })
                    .collect()
            };
            DataArray::ComplexF32(floats.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
        }
        other => return Err(corrupt(format!("MODE {other} cannot be decoded"))),
    })
}

/// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half >> 15) << 31;
    let exponent = u32::from((half >> 10) & 0x1F);
    let mantissa = u32::from(half & 0x3FF);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: value = m × 2^-24; normalise.
            let value = m as f32 * f32::from_bits(0x3380_0000); // 2^-24
            return if sign != 0 { -value } else { value };
        }
        (0x1F, m) => sign | 0x7F80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Reads an MRC2014 file (see the [module docs](self) for what is read and how).
pub fn read_mrc(bytes: &[u8]) -> Result<Dataset, FormatError> {
    let parsed = parse(bytes)?;
    let payload = &bytes[parsed.data_offset..];
    let data = decode(payload, parsed.mode, parsed.endian, parsed.elements)?;
    Dataset::from_parts(parsed.info, data)
}

/// [`read_mrc`] without decoding the values.
pub fn read_mrc_info(bytes: &[u8]) -> Result<DatasetInfo, FormatError> {
    Ok(parse(bytes)?.info)
}

/// Writes a little-endian MRC2014 file: `data` of shape `[ny, nx]` or `[nz, ny, nx]` (an image
/// stack, `ISPG = 0`), voxel size in Å per axis (x, y, z; `CELLA = size × N`, `M = N`), `labels`
/// (at most 10, each cut to 80 bytes). Supported: int8 (mode 0), int16 (1), float32 (2),
/// complex float32 (4), uint16 (6). Meant for tests and exchange; no extended header.
pub fn write_mrc(
    data: &DataArray,
    shape: &[usize],
    voxel_size_angstrom: [f32; 3],
    labels: &[&str],
) -> Result<Vec<u8>, FormatError> {
    let (nz, ny, nx) = match *shape {
        [ny, nx] => (1, ny, nx),
        [nz, ny, nx] => (nz, ny, nx),
        _ => {
            return Err(FormatError::InvalidImage(format!(
                "MRC holds 2-D or 3-D arrays, not shape {shape:?}"
            )))
        }
    };
    if checked_product(shape)? != data.len() {
        return Err(FormatError::InvalidImage(format!(
            "shape {shape:?} does not match {} values",
            data.len()
        )));
    }
    let to_i32 = |n: usize| {
        i32::try_from(n)
            .map_err(|_| FormatError::InvalidImage(format!("dimension {n} exceeds MRC's i32")))
    };
    let (mode, payload): (i32, Vec<u8>) = match data {
        DataArray::I8(v) => (0, v.iter().map(|&x| x as u8).collect()),
        DataArray::I16(v) => (1, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        DataArray::F32(v) => (2, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        DataArray::ComplexF32(v) => (
            4,
            v.iter()
                .flat_map(|[re, im]| re.to_le_bytes().into_iter().chain(im.to_le_bytes()))
                .collect(),
        ),
        DataArray::U16(v) => (6, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        other => {
            return Err(FormatError::UnsupportedPixelType {
                found: format!(
                    "{} cannot be written as MRC",
                    other.data_type().numpy_name()
                ),
            })
        }
    };
    let mut header = vec![0u8; HEADER_BYTES];
    let mut put_i32 =
        |offset: usize, v: i32| header[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
    let dims = [to_i32(nx)?, to_i32(ny)?, to_i32(nz)?];
    put_i32(0, dims[0]);
    put_i32(4, dims[1]);
    put_i32(8, dims[2]);
    put_i32(12, mode);
    put_i32(28, dims[0]);
    put_i32(32, dims[1]);
    put_i32(36, dims[2]);
    put_i32(64, 1);
    put_i32(68, 2);
    put_i32(72, 3);
    put_i32(108, 20140);
    put_i32(220, labels.len().min(10) as i32);
    let mut put_f32 =
        |offset: usize, v: f32| header[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
    for axis in 0..3 {
        put_f32(40 + 4 * axis, voxel_size_angstrom[axis] * dims[axis] as f32);
        put_f32(52 + 4 * axis, 90.0);
    }
    header[208..212].copy_from_slice(b"MAP ");
    header[212..216].copy_from_slice(&[0x44, 0x44, 0, 0]);
    for (i, label) in labels.iter().take(10).enumerate() {
        let bytes = label.as_bytes();
        let n = bytes.len().min(80);
        header[224 + 80 * i..224 + 80 * i + n].copy_from_slice(&bytes[..n]);
    }
    header.extend_from_slice(&payload);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_widen_exactly() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x7BFF), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert!(f16_to_f32(0x7C00).is_infinite());
        assert!(f16_to_f32(0x7E00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }
}
