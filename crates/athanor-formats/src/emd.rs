//! Electron Microscopy Datasets (`.emd`): HDF5 files in the Thermo Fisher **Velox** layout or
//! the Berkeley **NCEM** (EMD 0.2) layout, read into a [`Dataset`].
//!
//! Both are HDF5; [`crate::read_any`] recognises HDF5 by its signature `\x89HDF\r\n\x1a\n` at
//! byte 0, 512, 1024, 2048, … (HDF5 allows a user block before the superblock), and this
//! module then tells the layouts apart by their groups. Layouts as publicly described by the
//! RosettaSciIO documentation ("Electron Microscopy Datasets (EMD)") and the EMD 0.2
//! specification (<https://emdatasets.com/format/>):
//!
//! **Velox** (`/Data/Image/<uuid>/…`):
//!
//! | object | content | use here |
//! |---|---|---|
//! | `Data` | `[height, width, frames]` pixels (`u8`…`f64`) | shape `[height, width]`, or `[frames, height, width]` for a series (frames moved first, the crate's C-order convention) |
//! | `Metadata` | `u8` `[n, frames]`: one null-padded JSON text per frame (column) | frame 0's JSON is `original_metadata` |
//! | JSON `BinaryResult.PixelSize.width/height` + `PixelUnitX/Y` | pixel size (strings, metres) | `x`/`y` axes, in nm (or 1/nm for reciprocal space) |
//! | JSON `Optics.AccelerationVoltage` (V), `Optics.NominalMagnification`, `Optics.CameraLength` (m) | | beam energy (kV), magnification, camera length (mm) |
//! | JSON `Acquisition.AcquisitionStartDatetime.DateTime` (Unix seconds) | | acquisition time (ISO 8601, UTC) |
//! | JSON `Instrument.Manufacturer/InstrumentModel`, `BinaryResult.Detector`, `Scan.DwellTime` | | vendor, model, detector, dwell time (s) |
//!
//! `/Data/Spectrum` and `/Data/SpectrumStream` (EDS spectra and the packed event streams of
//! spectrum images) are **listed but not decoded**: their names are in `original_metadata` and
//! a note says so. When a file holds several images the first (in name order) is read and the
//! others are listed.
//!
//! **NCEM** (EMD 0.2): root attributes `version_major`/`version_minor`; groups
//! `/data/<name>` with attribute `emd_group_type = 1` hold a dataset `data` and one vector
//! `dim1` … `dimN` per axis (`dim1` ↔ the slowest axis) with attributes `name` and `units`
//! (written `[n_m]`, read as `nm`). Axis `i` has offset `dimI[0]` and scale
//! `dimI[1] − dimI[0]`. Metre lengths are reported in nm; pixel units mean uncalibrated.
//!
//! # Decisions
//!
//! * Calibration is never guessed: a pixel size without a unit, or a unit this reader does not
//!   know, is reported as the file states it (or not at all) and the reason is in `notes`.
//! * [`read_emd_info`] reads the header, the attributes and the metadata text; it never reads
//!   the pixel payload.
//! * Untrusted sizes: reads are capped (at 64 × the file size, between 64 MiB and 4 GiB), so a
//!   damaged header cannot make the reader allocate what the file cannot hold.
//! * Without the default cargo feature `emd` the readers return [`FormatError::Unsupported`].

use crate::dataset::{Dataset, DatasetInfo};
use crate::FormatError;

/// The 8-byte HDF5 format signature.
pub const HDF5_SIGNATURE: [u8; 8] = *b"\x89HDF\r\n\x1a\n";

/// Whether `bytes` hold the HDF5 signature at offset 0, 512, 1024, 2048, … (the places the
/// HDF5 specification allows for the superblock).
pub(crate) fn looks_like_hdf5(bytes: &[u8]) -> bool {
    let mut offset = 0usize;
    loop {
        match bytes.get(offset..offset.saturating_add(8)) {
            Some(head) if head == HDF5_SIGNATURE => return true,
            Some(_) => {}
            None => return false,
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
}

/// Reads a Velox or NCEM `.emd` file (see the [module docs](self)).
pub fn read_emd(bytes: &[u8]) -> Result<Dataset, FormatError> {
    #[cfg(feature = "emd")]
    {
        imp::read(bytes, true).and_then(|(info, data)| match data {
            Some(data) => Dataset::from_parts(info, data),
            None => Err(FormatError::InvalidImage(
                "EMD pixel payload was not decoded".into(),
            )),
        })
    }
    #[cfg(not(feature = "emd"))]
    {
        let _ = bytes;
        Err(not_built())
    }
}

/// Everything [`read_emd`] reports except the pixel values, without reading the payload.
pub fn read_emd_info(bytes: &[u8]) -> Result<DatasetInfo, FormatError> {
    #[cfg(feature = "emd")]
    {
        imp::read(bytes, false).map(|(info, _)| info)
    }
    #[cfg(not(feature = "emd"))]
    {
        let _ = bytes;
        Err(not_built())
    }
}

#[cfg(not(feature = "emd"))]
fn not_built() -> FormatError {
    FormatError::Unsupported {
        format: "EMD (HDF5)".into(),
        message: "athanor-formats was built without its `emd` feature; rebuild with it".into(),
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
#[cfg_attr(not(feature = "emd"), allow(dead_code))]
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix seconds → `YYYY-MM-DDThh:mm:ssZ`; `None` outside years 1900–9999.
#[cfg_attr(not(feature = "emd"), allow(dead_code))]
pub(crate) fn unix_seconds_to_iso(seconds: i64) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(1900..=9999).contains(&year) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    ))
}

/// A length or reciprocal-length unit as written in a file, mapped to nm / 1/nm where it is
/// one: returns (factor to multiply values by, unit to report). `None` for pixel units and
/// empty text (uncalibrated); unknown units are kept as written (factor 1).
#[cfg_attr(not(feature = "emd"), allow(dead_code))]
pub(crate) fn to_nanometres(unit: &str) -> Option<(f64, String)> {
    let cleaned: String = unit
        .trim()
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '_' | ' '))
        .collect();
    let (reciprocal, base) = match cleaned.strip_prefix("1/") {
        Some(rest) => (true, rest.to_string()),
        None => (false, cleaned.clone()),
    };
    let per_nm = match base.as_str() {
        "" | "px" | "pix" | "pixel" | "pixels" => return None,
        "m" => 1e9,
        "mm" => 1e6,
        "um" | "µm" | "μm" | "micron" => 1e3,
        "nm" => 1.0,
        "A" | "\u{c5}" | "\u{212b}" | "angstrom" => 0.1,
        "pm" => 1e-3,
        _ => return Some((1.0, cleaned)),
    };
    if reciprocal {
        Some((1.0 / per_nm, "1/nm".into()))
    } else {
        Some((per_nm, "nm".into()))
    }
}

#[cfg(feature = "emd")]
mod imp {
    use super::{to_nanometres, unix_seconds_to_iso};
    use crate::dataset::{
        checked_product, Axis, DataArray, DataType, DatasetInfo, NormalisedMetadata,
    };
    use crate::FormatError;
    use athanor_model::Quantity;
    use hdf5_reader::{
        Attribute, ByteOrder, Datatype, Hdf5File, OpenOptions, SliceInfo, SliceInfoElem,
    };
    use serde_json::{json, Map, Value};

    const FORMAT: &str = "EMD";

    fn corrupt(context: &str, error: impl std::fmt::Display) -> FormatError {
        FormatError::Corrupt {
            format: "EMD (HDF5)".into(),
            message: format!("{context}: {error}"),
        }
    }

    fn unsupported(message: String) -> FormatError {
        FormatError::Unsupported {
            format: "EMD (HDF5)".into(),
            message,
        }
    }

    fn open(bytes: &[u8]) -> Result<Hdf5File, FormatError> {
        // A read can never legitimately need more than the file holds, unless it is compressed;
        // allow generous compression but not the address space.
        let limit = bytes.len().saturating_mul(64).clamp(64 << 20, 4 << 30);
        let options = OpenOptions::default()
            .with_max_read_bytes(limit)
            .with_max_chunk_bytes(limit.min(256 << 20))
            .with_max_object_header_bytes(16 << 20)
            .with_chunk_cache_bytes(0);
        Hdf5File::from_bytes_with_options(bytes, options).map_err(|e| corrupt("HDF5 header", e))
    }

    pub(super) fn read(
        bytes: &[u8],
        with_data: bool,
    ) -> Result<(DatasetInfo, Option<DataArray>), FormatError> {
        let file = open(bytes)?;
        let root = file.root_group().map_err(|e| corrupt("root group", e))?;
        let (groups, datasets) = root
            .member_names()
            .map_err(|e| corrupt("root group members", e))?;
        if groups.iter().any(|g| g == "Data") {
            read_velox(&file, with_data)
        } else if groups.iter().any(|g| g == "data") {
            read_ncem(&file, with_data)
        } else {
            Err(unsupported(format!(
                "HDF5 file is neither Velox EMD (/Data/Image) nor NCEM EMD (/data); top-level \
                 groups {groups:?}, datasets {datasets:?}"
            )))
        }
    }

    /// Maps an HDF5 element type to the crate's, with its size in bytes.
    fn data_type_of(datatype: &Datatype) -> Result<DataType, FormatError> {
        Ok(match datatype {
            Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
                (1, false) => DataType::U8,
                (1, true) => DataType::I8,
                (2, false) => DataType::U16,
                (2, true) => DataType::I16,
                (4, false) => DataType::U32,
                (4, true) => DataType::I32,
                (8, false) => DataType::U64,
                (8, true) => DataType::I64,
                _ => return Err(unsupported(format!("{size}-byte integer pixels"))),
            },
            Datatype::FloatingPoint { size: 4, .. } => DataType::F32,
            Datatype::FloatingPoint { size: 8, .. } => DataType::F64,
            other => {
                return Err(unsupported(format!(
                    "pixel type {other:?} (integers and 32/64-bit floats are read)"
                )))
            }
        })
    }

    /// Native-endian element bytes → typed array.
    fn decode_native(bytes: &[u8], data_type: DataType) -> DataArray {
        macro_rules! decode {
            ($t:ty, $n:expr) => {
                bytes
                    .chunks_exact($n)
                    .map(|c| {
                        let mut buffer = [0u8; $n];
                        buffer.copy_from_slice(c);
                        <$t>::from_ne_bytes(buffer)
                    })
                    .collect()
            };
        }
        match data_type {
            DataType::I8 => DataArray::I8(bytes.iter().map(|&b| b as i8).collect()),
            DataType::U16 => DataArray::U16(decode!(u16, 2)),
            DataType::I16 => DataArray::I16(decode!(i16, 2)),
            DataType::U32 => DataArray::U32(decode!(u32, 4)),
            DataType::I32 => DataArray::I32(decode!(i32, 4)),
            DataType::U64 => DataArray::U64(decode!(u64, 8)),
            DataType::I64 => DataArray::I64(decode!(i64, 8)),
            DataType::F32 => DataArray::F32(decode!(f32, 4)),
            DataType::F64 => DataArray::F64(decode!(f64, 8)),
            // data_type_of produces no other type; U8 is the identity.
            _ => DataArray::U8(bytes.to_vec()),
        }
    }

    /// Numeric values (ints or floats, either byte order) as `f64`; `None` for other types.
    fn numbers(raw: &[u8], datatype: &Datatype) -> Option<Vec<f64>> {
        let (size, kind, order) = match datatype {
            Datatype::FixedPoint {
                size,
                signed,
                byte_order,
            } => (
                usize::from(*size),
                if *signed { 'i' } else { 'u' },
                *byte_order,
            ),
            Datatype::FloatingPoint { size, byte_order } => (usize::from(*size), 'f', *byte_order),
            _ => return None,
        };
        if !matches!(size, 1 | 2 | 4 | 8) || (kind == 'f' && size < 4) {
            return None;
        }
        let values = raw
            .chunks_exact(size)
            .map(|chunk| {
                let mut buffer = [0u8; 8];
                let little = matches!(order, ByteOrder::LittleEndian);
                // Widen to 8 bytes little-endian, sign-extending integers.
                for (i, slot) in buffer.iter_mut().take(size).enumerate() {
                    *slot = if little {
                        chunk[i]
                    } else {
                        chunk[size - 1 - i]
                    };
                }
                let negative = kind == 'i' && buffer[size - 1] & 0x80 != 0;
                if negative {
                    for slot in buffer.iter_mut().skip(size) {
                        *slot = 0xFF;
                    }
                }
                match (kind, size) {
                    ('f', 4) => f64::from(f32::from_le_bytes([
                        buffer[0], buffer[1], buffer[2], buffer[3],
                    ])),
                    ('f', _) => f64::from_le_bytes(buffer),
                    ('i', _) => i64::from_le_bytes(buffer) as f64,
                    _ => u64::from_le_bytes(buffer) as f64,
                }
            })
            .collect();
        Some(values)
    }

    /// An attribute as JSON: string(s), number(s) (arrays over 64 values summarised).
    fn attribute_json(attribute: &Attribute) -> Value {
        if let Ok(text) = attribute.read_string() {
            return Value::String(text);
        }
        if let Ok(texts) = attribute.read_strings() {
            return json!(texts);
        }
        match numbers(&attribute.raw_data, &attribute.datatype) {
            Some(values) if values.len() == 1 => json!(values[0]),
            Some(values) if values.len() <= 64 => json!(values),
            Some(values) => json!(format!("array of {} numbers", values.len())),
            None => json!(format!("{:?}", attribute.datatype)),
        }
    }

    fn attributes_json(attributes: &[Attribute]) -> Map<String, Value> {
        attributes
            .iter()
            .map(|a| (a.name.clone(), attribute_json(a)))
            .collect()
    }

    fn shape_of(dataset: &hdf5_reader::Dataset) -> Result<Vec<usize>, FormatError> {
        dataset
            .shape()
            .iter()
            .map(|&n| {
                usize::try_from(n).map_err(|_| corrupt("dataset shape", format!("{n} too large")))
            })
            .collect()
    }

    fn read_payload(
        dataset: &hdf5_reader::Dataset,
        data_type: DataType,
        path: &str,
    ) -> Result<DataArray, FormatError> {
        let bytes = dataset
            .read_native_bytes()
            .map_err(|e| corrupt(&format!("pixel data {path}"), e))?;
        if bytes.len() % data_type.size_bytes() != 0 {
            return Err(corrupt(
                path,
                format!(
                    "{} bytes is not a whole number of {}",
                    bytes.len(),
                    data_type.numpy_name()
                ),
            ));
        }
        Ok(decode_native(&bytes, data_type))
    }

    /// Sorted names of the sub-groups of `path` (empty when it does not exist).
    fn subgroups(file: &Hdf5File, path: &str) -> Result<Vec<String>, FormatError> {
        match file.group(path) {
            Ok(group) => {
                let (mut names, _) = group
                    .member_names()
                    .map_err(|e| corrupt(&format!("group {path}"), e))?;
                names.sort();
                Ok(names)
            }
            Err(_) => Ok(Vec::new()),
        }
    }

    // ----- Velox -------------------------------------------------------------------------------

    /// A JSON value that may be a number or a numeric string (Velox writes numbers as text).
    fn json_number(value: Option<&Value>) -> Option<f64> {
        match value? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|v| v.is_finite())
    }

    fn json_text(value: Option<&Value>) -> Option<String> {
        match value? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Frame 0's metadata JSON: column 0 of the `[n, frames]` byte array, cut at the first NUL.
    fn velox_metadata(
        file: &Hdf5File,
        path: &str,
        notes: &mut Vec<String>,
    ) -> Result<Value, FormatError> {
        let dataset = match file.dataset(path) {
            Ok(d) => d,
            Err(_) => {
                notes.push(format!("{path} missing: no acquisition metadata"));
                return Ok(Value::Null);
            }
        };
        let column = match dataset.shape().len() {
            1 => dataset.read_raw_bytes(),
            2 => dataset
                .read_slice::<u8>(&SliceInfo {
                    selections: vec![
                        SliceInfoElem::Slice {
                            start: 0,
                            end: u64::MAX,
                            step: 1,
                        },
                        SliceInfoElem::Index(0),
                    ],
                })
                .map(|array| array.iter().copied().collect()),
            n => {
                notes.push(format!(
                    "{path} is {n}-dimensional, not [n, frames]; ignored"
                ));
                return Ok(Value::Null);
            }
        };
        // The object exists but its bytes cannot be read: the file is damaged (truncated),
        // not merely lacking metadata.
        let column = column.map_err(|e| corrupt(path, e))?;
        let end = column.iter().position(|&b| b == 0).unwrap_or(column.len());
        Ok(match serde_json::from_slice::<Value>(&column[..end]) {
            Ok(value) => value,
            Err(e) => {
                notes.push(format!(
                    "{path} is not valid JSON ({e}); no acquisition metadata"
                ));
                Value::Null
            }
        })
    }

    /// One image axis from `BinaryResult.PixelSize.<which>` and `PixelUnit<X|Y>`.
    fn velox_axis(
        json: &Value,
        name: &str,
        size: usize,
        which: &str,
        unit_key: &str,
        notes: &mut Vec<String>,
    ) -> Axis {
        let result = &json["BinaryResult"];
        let Some(scale) = json_number(result["PixelSize"].get(which)) else {
            notes.push(format!(
                "BinaryResult.PixelSize.{which} absent or not a number: {name} axis uncalibrated"
            ));
            return Axis::uncalibrated(name, size);
        };
        let unit = match json_text(result.get(unit_key)) {
            Some(unit) => unit,
            None => {
                notes.push(format!(
                    "BinaryResult.{unit_key} absent: pixel size taken in metres, the unit Velox \
                     writes"
                ));
                "m".into()
            }
        };
        match to_nanometres(&unit) {
            Some((factor, unit_out)) => {
                if unit_out != "nm" && unit_out != "1/nm" {
                    notes.push(format!(
                        "{name} axis unit {unit:?} is not a length this reader knows; kept as \
                         written"
                    ));
                }
                Axis::calibrated(name, size, scale * factor, &unit_out)
            }
            None => Axis::uncalibrated(name, size),
        }
    }

    fn velox_normalised(json: &Value, axes: &[Axis]) -> NormalisedMetadata {
        let optics = &json["Optics"];
        let mut metadata = NormalisedMetadata {
            instrument_vendor: json_text(json["Instrument"].get("Manufacturer")),
            instrument_model: json_text(json["Instrument"].get("InstrumentModel")),
            detector: json_text(json["BinaryResult"].get("Detector")),
            beam_energy_kv: json_number(optics.get("AccelerationVoltage")).map(|v| v / 1e3),
            magnification: json_number(optics.get("NominalMagnification")),
            camera_length_mm: json_number(optics.get("CameraLength")).map(|m| m * 1e3),
            dwell_time_s: json_number(json["Scan"].get("DwellTime")),
            ..NormalisedMetadata::default()
        };
        let datetime = &json["Acquisition"]["AcquisitionStartDatetime"]["DateTime"];
        metadata.acquisition_time = json_number(Some(datetime))
            .and_then(|s| unix_seconds_to_iso(s as i64))
            .or_else(|| json_text(Some(datetime)));
        metadata.wavelength_pm = metadata
            .beam_energy_kv
            .filter(|kv| *kv > 0.0)
            .map(crate::dataset::electron_wavelength_pm);
        if let Some(x) = axes.last().filter(|a| a.units.as_deref() == Some("nm")) {
            metadata.pixel_size = Some(Quantity::new(x.scale, "nm"));
        }
        metadata
    }

    fn read_velox(
        file: &Hdf5File,
        with_data: bool,
    ) -> Result<(DatasetInfo, Option<DataArray>), FormatError> {
        let images = subgroups(file, "/Data/Image")?;
        let spectra = subgroups(file, "/Data/Spectrum")?;
        let streams = subgroups(file, "/Data/SpectrumStream")?;
        let data_groups = subgroups(file, "/Data")?;
        let Some(uuid) = images.first() else {
            return Err(unsupported(format!(
                "Velox EMD without images (/Data holds {data_groups:?}; {} spectra, {} spectrum \
                 streams): spectra are not decoded by this reader",
                spectra.len(),
                streams.len()
            )));
        };
        let mut notes = Vec::new();
        if images.len() > 1 {
            notes.push(format!(
                "{} images in the file; /Data/Image/{uuid} read, the others listed in \
                 original_metadata.emd.images",
                images.len()
            ));
        }
        if !spectra.is_empty() {
            notes.push(format!(
                "{} spectra under /Data/Spectrum present, not decoded",
                spectra.len()
            ));
        }
        if !streams.is_empty() {
            notes.push(format!(
                "{} spectrum stream(s) under /Data/SpectrumStream (packed EDS events) present, \
                 not decoded",
                streams.len()
            ));
        }
        let data_path = format!("/Data/Image/{uuid}/Data");
        let dataset = file
            .dataset(&data_path)
            .map_err(|e| corrupt(&data_path, e))?;
        let data_type = data_type_of(dataset.dtype())?;
        let stored = shape_of(&dataset)?;
        let json = velox_metadata(file, &format!("/Data/Image/{uuid}/Metadata"), &mut notes)?;
        let (height, width, frames) = match stored.as_slice() {
            [h, w] => (*h, *w, 1),
            [h, w, f] => (*h, *w, *f),
            other => {
                return Err(unsupported(format!(
                    "{data_path} has shape {other:?}; Velox images are [height, width, frames]"
                )))
            }
        };
        checked_product(&stored)?;
        let y = velox_axis(&json, "y", height, "height", "PixelUnitY", &mut notes);
        let x = velox_axis(&json, "x", width, "width", "PixelUnitX", &mut notes);
        let (shape, axes) = if frames == 1 {
            (vec![height, width], vec![y, x])
        } else {
            (
                vec![frames, height, width],
                vec![Axis::uncalibrated("frame", frames), y, x],
            )
        };
        let metadata = velox_normalised(&json, &axes);
        let original_metadata = json!({
            "emd": {
                "layout": "Velox",
                "images": images,
                "spectra": spectra,
                "spectrum_streams": streams,
                "data_groups": data_groups,
                "stored_shape": stored,
            },
            "metadata": json,
        });
        let data = if with_data {
            let stored_data = read_payload(&dataset, data_type, &data_path)?;
            Some(if frames == 1 {
                stored_data
            } else {
                frames_first(stored_data, height * width, frames)
            })
        } else {
            None
        };
        let info = DatasetInfo {
            data_type,
            shape,
            axes,
            metadata,
            original_metadata,
            format: format!("{FORMAT} (Velox)"),
            notes,
        };
        Ok((info, data))
    }

    /// `[pixels, frames]` (frame fastest) → `[frames, pixels]`.
    fn frames_first(data: DataArray, pixels: usize, frames: usize) -> DataArray {
        fn transpose<T: Copy>(values: &[T], pixels: usize, frames: usize) -> Vec<T> {
            if pixels.checked_mul(frames) != Some(values.len()) {
                // Left as stored: Dataset::from_parts then reports the size mismatch.
                return values.to_vec();
            }
            (0..frames)
                .flat_map(|f| (0..pixels).map(move |p| values[p * frames + f]))
                .collect()
        }
        match data {
            DataArray::U8(v) => DataArray::U8(transpose(&v, pixels, frames)),
            DataArray::I8(v) => DataArray::I8(transpose(&v, pixels, frames)),
            DataArray::U16(v) => DataArray::U16(transpose(&v, pixels, frames)),
            DataArray::I16(v) => DataArray::I16(transpose(&v, pixels, frames)),
            DataArray::U32(v) => DataArray::U32(transpose(&v, pixels, frames)),
            DataArray::I32(v) => DataArray::I32(transpose(&v, pixels, frames)),
            DataArray::U64(v) => DataArray::U64(transpose(&v, pixels, frames)),
            DataArray::I64(v) => DataArray::I64(transpose(&v, pixels, frames)),
            DataArray::F32(v) => DataArray::F32(transpose(&v, pixels, frames)),
            DataArray::F64(v) => DataArray::F64(transpose(&v, pixels, frames)),
            // decode_native produces only the types above.
            other => other,
        }
    }

    // ----- NCEM --------------------------------------------------------------------------------

    fn group_attributes(file: &Hdf5File, path: &str) -> Option<Map<String, Value>> {
        let group = file.group(path).ok()?;
        let attributes = group.attributes().ok()?;
        Some(attributes_json(&attributes))
    }

    fn ncem_axis(
        file: &Hdf5File,
        group: &str,
        index: usize,
        size: usize,
        notes: &mut Vec<String>,
        original: &mut Map<String, Value>,
    ) -> Axis {
        let path = format!("{group}/dim{}", index + 1);
        let fallback = format!("dim{}", index + 1);
        let Ok(dim) = file.dataset(&path) else {
            notes.push(format!("{path} missing: axis {index} uncalibrated"));
            return Axis::uncalibrated(&fallback, size);
        };
        let attributes = attributes_json(&dim.attributes());
        let name = attributes
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .unwrap_or(fallback);
        let unit = attributes
            .get("units")
            .and_then(Value::as_str)
            .map(str::to_string);
        original.insert(format!("dim{}", index + 1), Value::Object(attributes));
        // The first two values give offset and scale (a dim vector is as long as its axis,
        // small next to the data).
        let raw = match dim.read_raw_bytes() {
            Ok(raw) => raw,
            Err(e) => {
                notes.push(format!("{path} unreadable ({e}): axis {name} uncalibrated"));
                return Axis::uncalibrated(&name, size);
            }
        };
        let values = numbers(&raw, dim.dtype()).unwrap_or_default();
        let offset = values.first().copied().unwrap_or(0.0);
        let scale = match values.get(1) {
            Some(second) => second - offset,
            None => 1.0,
        };
        if !(offset.is_finite() && scale.is_finite()) {
            notes.push(format!(
                "{path} holds non-finite values: axis {name} uncalibrated"
            ));
            return Axis::uncalibrated(&name, size);
        }
        match unit.as_deref().and_then(to_nanometres) {
            Some((factor, unit_out)) => Axis {
                name,
                size,
                scale: scale * factor,
                offset: offset * factor,
                units: Some(unit_out),
            },
            None => {
                if unit.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    notes.push(format!("{path} states no unit: axis {name} uncalibrated"));
                }
                Axis {
                    name,
                    size,
                    scale,
                    offset,
                    units: None,
                }
            }
        }
    }

    fn read_ncem(
        file: &Hdf5File,
        with_data: bool,
    ) -> Result<(DatasetInfo, Option<DataArray>), FormatError> {
        let mut notes = Vec::new();
        let root_attributes = group_attributes(file, "/").unwrap_or_default();
        if !root_attributes.contains_key("version_major") {
            notes.push("root attribute version_major missing; read as EMD 0.2".into());
        }
        let names = subgroups(file, "/data")?;
        let emd_groups: Vec<&String> = names
            .iter()
            .filter(|name| {
                file.group(&format!("/data/{name}"))
                    .ok()
                    .and_then(|g| g.attribute("emd_group_type").ok())
                    .and_then(|a| numbers(&a.raw_data, &a.datatype))
                    .and_then(|v| v.first().copied())
                    == Some(1.0)
            })
            .collect();
        let Some(name) = emd_groups.first() else {
            return Err(unsupported(format!(
                "NCEM EMD without a /data group of emd_group_type 1 (groups {names:?})"
            )));
        };
        if emd_groups.len() > 1 {
            notes.push(format!(
                "{} data groups; /data/{name} read, the others listed in original_metadata",
                emd_groups.len()
            ));
        }
        let group = format!("/data/{name}");
        let data_path = format!("{group}/data");
        let dataset = file
            .dataset(&data_path)
            .map_err(|e| corrupt(&data_path, e))?;
        let data_type = data_type_of(dataset.dtype())?;
        let shape = shape_of(&dataset)?;
        checked_product(&shape)?;
        let mut dims = Map::new();
        let axes: Vec<Axis> = shape
            .iter()
            .enumerate()
            .map(|(i, &size)| ncem_axis(file, &group, i, size, &mut notes, &mut dims))
            .collect();
        let mut metadata = NormalisedMetadata::default();
        if let Some(x) = axes
            .last()
            .filter(|a| shape.len() >= 2 && a.units.as_deref() == Some("nm"))
        {
            metadata.pixel_size = Some(Quantity::new(x.scale, "nm"));
        }
        let original_metadata = json!({
            "emd": {
                "layout": "NCEM",
                "root_attributes": root_attributes,
                "data_groups": names,
                "group_attributes": group_attributes(file, &group).unwrap_or_default(),
                "dims": dims,
            },
            "microscope": group_attributes(file, "/microscope"),
            "user": group_attributes(file, "/user"),
        });
        let data = if with_data {
            Some(read_payload(&dataset, data_type, &data_path)?)
        } else {
            None
        };
        let info = DatasetInfo {
            data_type,
            shape,
            axes,
            metadata,
            original_metadata,
            format: format!("{FORMAT} (NCEM)"),
            notes,
        };
        Ok((info, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_found_behind_a_user_block() {
        let mut bytes = vec![0u8; 1024 + 8];
        assert!(!looks_like_hdf5(&bytes));
        bytes[1024..].copy_from_slice(&HDF5_SIGNATURE);
        assert!(looks_like_hdf5(&bytes));
        assert!(looks_like_hdf5(&HDF5_SIGNATURE));
        assert!(!looks_like_hdf5(&HDF5_SIGNATURE[..7]));
    }

    #[test]
    fn unix_time_converts_to_utc() {
        assert_eq!(
            unix_seconds_to_iso(0).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        // 2017-05-23 09:40:00 UTC.
        assert_eq!(
            unix_seconds_to_iso(1_495_532_400).as_deref(),
            Some("2017-05-23T09:40:00Z")
        );
        assert_eq!(
            unix_seconds_to_iso(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert!(unix_seconds_to_iso(i64::MAX / 2).is_none());
    }

    #[test]
    fn units_map_to_nanometres() {
        assert_eq!(to_nanometres("m"), Some((1e9, "nm".into())));
        assert_eq!(to_nanometres("[n_m]"), Some((1.0, "nm".into())));
        assert_eq!(to_nanometres("[1/n_m]"), Some((1.0, "1/nm".into())));
        assert_eq!(to_nanometres("1/m"), Some((1e-9, "1/nm".into())));
        assert_eq!(to_nanometres("[pix]"), None);
        assert_eq!(to_nanometres("eV"), Some((1.0, "eV".into())));
    }
}
