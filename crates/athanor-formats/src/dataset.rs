//! One normalised form for every instrument file: an n-dimensional array in the file's own
//! data type, calibrated axes, normalised metadata and the complete original tag tree.
//!
//! [`read_any`] chooses the reader from the file's content (magic bytes, then vendor tags), and
//! uses the file name only to break ties. Supported today:
//!
//! | content | reader |
//! |---|---|
//! | `00 00 00 03` / `00 00 00 04` | Gatan DigitalMicrograph DM3 / DM4 ([`crate::dm`]) |
//! | `II*\0` / `MM\0*` TIFF | [`crate::em_tiff`]: FEI/Thermo, Zeiss SEM, JEOL SightX, DM-written, ImageJ, Olympus SIS, plain TIFF |
//! | PNG signature | [`crate::png`] |
//! | `RAW1.01` / `RAW4.00` (`RAW `, `RAW2` refused) | Bruker RAW ([`crate::xrd::read_bruker_raw`]) |
//! | `PK\3\4` ZIP | Bruker BRML ([`crate::xrd::read_brml`]) |
//! | XML with `<xrdMeasurements>` | PANalytical XRDML ([`crate::xrd::read_xrdml`]) |
//! | `*RAS_` | Rigaku RAS ([`crate::xrd::read_ras`]) |
//! | `##TITLE=` / `##JCAMP-DX=` | JCAMP-DX ([`crate::jcamp::read_jcamp`]) |
//! | text with rows of 2–3 numbers | two/three-column XY ([`crate::xrd::read_xy`]) |
//! | `MAP ` at byte 208 | MRC2014 map / image stack ([`crate::mrc`]) |
//! | `\x89HDF\r\n\x1a\n` at byte 0, 512, 1024, … | HDF5: Velox / NCEM EMD ([`crate::emd`]) |
//! | `[SemImageFile]`, `$CM_FORMAT`, Tescan `[MAIN]` text | SEM sidecar ([`crate::sem_sidecar`]): has no pixels, so [`read_any`] returns an error naming the image to read instead; [`crate::files::read_path`] pairs image and sidecar |
//!
//! # Conventions
//!
//! * Arrays are row-major (C order, last axis varies fastest), `shape` lists the slowest axis
//!   first — the order numpy/rosettasciio report. A 2-D image is `[height, width]`.
//! * An axis's physical coordinate of index `i` is `offset + i * scale` in `units`.
//! * `units: None` means the file gives no calibration for that axis (scale 1, offset 0). A
//!   calibration is never guessed: screen resolutions (72/93 dpi) are not pixel sizes, and every
//!   decision a reader takes about calibration or cropping is written to `notes`.

use crate::FormatError;
use athanor_model::Quantity;
use serde::{Deserialize, Serialize};

/// Pixel values in the file's own data type, row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DataArray {
    /// Unsigned 8-bit.
    U8(Vec<u8>),
    /// Signed 8-bit.
    I8(Vec<i8>),
    /// Unsigned 16-bit.
    U16(Vec<u16>),
    /// Signed 16-bit.
    I16(Vec<i16>),
    /// Unsigned 32-bit.
    U32(Vec<u32>),
    /// Signed 32-bit.
    I32(Vec<i32>),
    /// Unsigned 64-bit.
    U64(Vec<u64>),
    /// Signed 64-bit.
    I64(Vec<i64>),
    /// 32-bit float.
    F32(Vec<f32>),
    /// 64-bit float.
    F64(Vec<f64>),
    /// 8-bit RGB triplets.
    Rgb8(Vec<[u8; 3]>),
    /// 8-bit RGBA quadruplets (R, G, B, A order whatever the file's byte order).
    Rgba8(Vec<[u8; 4]>),
    /// Complex numbers of two 32-bit floats, `[re, im]`.
    ComplexF32(Vec<[f32; 2]>),
    /// Complex numbers of two 64-bit floats, `[re, im]`.
    ComplexF64(Vec<[f64; 2]>),
    /// Binary (mask) data.
    Bool(Vec<bool>),
}

/// The element type of a [`DataArray`], without the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    /// Unsigned 8-bit.
    U8,
    /// Signed 8-bit.
    I8,
    /// Unsigned 16-bit.
    U16,
    /// Signed 16-bit.
    I16,
    /// Unsigned 32-bit.
    U32,
    /// Signed 32-bit.
    I32,
    /// Unsigned 64-bit.
    U64,
    /// Signed 64-bit.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 8-bit RGB.
    Rgb8,
    /// 8-bit RGBA.
    Rgba8,
    /// Complex of two `f32`.
    ComplexF32,
    /// Complex of two `f64`.
    ComplexF64,
    /// Binary.
    Bool,
}

impl DataType {
    /// The numpy name of the type (`uint8`, `float32`, …; `rgb8`/`rgba8` for colour), as the
    /// reference reader rosettasciio reports it, so that results can be compared.
    pub fn numpy_name(self) -> &'static str {
        match self {
            DataType::U8 => "uint8",
            DataType::I8 => "int8",
            DataType::U16 => "uint16",
            DataType::I16 => "int16",
            DataType::U32 => "uint32",
            DataType::I32 => "int32",
            DataType::U64 => "uint64",
            DataType::I64 => "int64",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
            DataType::Rgb8 => "rgb8",
            DataType::Rgba8 => "rgba8",
            DataType::ComplexF32 => "complex64",
            DataType::ComplexF64 => "complex128",
            DataType::Bool => "bool",
        }
    }

    /// Bytes per element.
    pub fn size_bytes(self) -> usize {
        match self {
            DataType::U8 | DataType::I8 | DataType::Bool => 1,
            DataType::U16 | DataType::I16 => 2,
            DataType::Rgb8 => 3,
            DataType::U32 | DataType::I32 | DataType::F32 | DataType::Rgba8 => 4,
            DataType::U64 | DataType::I64 | DataType::F64 | DataType::ComplexF32 => 8,
            DataType::ComplexF64 => 16,
        }
    }
}

impl DataArray {
    /// Number of elements (pixels), not bytes.
    pub fn len(&self) -> usize {
        match self {
            DataArray::U8(v) => v.len(),
            DataArray::I8(v) => v.len(),
            DataArray::U16(v) => v.len(),
            DataArray::I16(v) => v.len(),
            DataArray::U32(v) => v.len(),
            DataArray::I32(v) => v.len(),
            DataArray::U64(v) => v.len(),
            DataArray::I64(v) => v.len(),
            DataArray::F32(v) => v.len(),
            DataArray::F64(v) => v.len(),
            DataArray::Rgb8(v) => v.len(),
            DataArray::Rgba8(v) => v.len(),
            DataArray::ComplexF32(v) => v.len(),
            DataArray::ComplexF64(v) => v.len(),
            DataArray::Bool(v) => v.len(),
        }
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn data_type(&self) -> DataType {
        match self {
            DataArray::U8(_) => DataType::U8,
            DataArray::I8(_) => DataType::I8,
            DataArray::U16(_) => DataType::U16,
            DataArray::I16(_) => DataType::I16,
            DataArray::U32(_) => DataType::U32,
            DataArray::I32(_) => DataType::I32,
            DataArray::U64(_) => DataType::U64,
            DataArray::I64(_) => DataType::I64,
            DataArray::F32(_) => DataType::F32,
            DataArray::F64(_) => DataType::F64,
            DataArray::Rgb8(_) => DataType::Rgb8,
            DataArray::Rgba8(_) => DataType::Rgba8,
            DataArray::ComplexF32(_) => DataType::ComplexF32,
            DataArray::ComplexF64(_) => DataType::ComplexF64,
            DataArray::Bool(_) => DataType::Bool,
        }
    }

    /// Element `index` as `f64` (colour: the mean of R, G, B; complex: the modulus), `None`
    /// outside the array. Convenient for statistics and tests; not for bulk work.
    pub fn value_f64(&self, index: usize) -> Option<f64> {
        Some(match self {
            DataArray::U8(v) => f64::from(*v.get(index)?),
            DataArray::I8(v) => f64::from(*v.get(index)?),
            DataArray::U16(v) => f64::from(*v.get(index)?),
            DataArray::I16(v) => f64::from(*v.get(index)?),
            DataArray::U32(v) => f64::from(*v.get(index)?),
            DataArray::I32(v) => f64::from(*v.get(index)?),
            DataArray::U64(v) => *v.get(index)? as f64,
            DataArray::I64(v) => *v.get(index)? as f64,
            DataArray::F32(v) => f64::from(*v.get(index)?),
            DataArray::F64(v) => *v.get(index)?,
            DataArray::Rgb8(v) => {
                let p = v.get(index)?;
                (f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2])) / 3.0
            }
            DataArray::Rgba8(v) => {
                let p = v.get(index)?;
                (f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2])) / 3.0
            }
            DataArray::ComplexF32(v) => {
                let [re, im] = *v.get(index)?;
                f64::from(re).hypot(f64::from(im))
            }
            DataArray::ComplexF64(v) => {
                let [re, im] = *v.get(index)?;
                re.hypot(im)
            }
            DataArray::Bool(v) => f64::from(u8::from(*v.get(index)?)),
        })
    }

    /// An array of `data_type` without elements (used where only the metadata is read).
    pub(crate) fn empty_of(data_type: DataType) -> DataArray {
        match data_type {
            DataType::U8 => DataArray::U8(Vec::new()),
            DataType::I8 => DataArray::I8(Vec::new()),
            DataType::U16 => DataArray::U16(Vec::new()),
            DataType::I16 => DataArray::I16(Vec::new()),
            DataType::U32 => DataArray::U32(Vec::new()),
            DataType::I32 => DataArray::I32(Vec::new()),
            DataType::U64 => DataArray::U64(Vec::new()),
            DataType::I64 => DataArray::I64(Vec::new()),
            DataType::F32 => DataArray::F32(Vec::new()),
            DataType::F64 => DataArray::F64(Vec::new()),
            DataType::Rgb8 => DataArray::Rgb8(Vec::new()),
            DataType::Rgba8 => DataArray::Rgba8(Vec::new()),
            DataType::ComplexF32 => DataArray::ComplexF32(Vec::new()),
            DataType::ComplexF64 => DataArray::ComplexF64(Vec::new()),
            DataType::Bool => DataArray::Bool(Vec::new()),
        }
    }

    /// Keeps only the first `n` elements (used to crop trailing rows such as data bars).
    pub(crate) fn truncate(&mut self, n: usize) {
        match self {
            DataArray::U8(v) => v.truncate(n),
            DataArray::I8(v) => v.truncate(n),
            DataArray::U16(v) => v.truncate(n),
            DataArray::I16(v) => v.truncate(n),
            DataArray::U32(v) => v.truncate(n),
            DataArray::I32(v) => v.truncate(n),
            DataArray::U64(v) => v.truncate(n),
            DataArray::I64(v) => v.truncate(n),
            DataArray::F32(v) => v.truncate(n),
            DataArray::F64(v) => v.truncate(n),
            DataArray::Rgb8(v) => v.truncate(n),
            DataArray::Rgba8(v) => v.truncate(n),
            DataArray::ComplexF32(v) => v.truncate(n),
            DataArray::ComplexF64(v) => v.truncate(n),
            DataArray::Bool(v) => v.truncate(n),
        }
    }

    /// Appends `other` (same type) — used to stack the pages of a multi-page file.
    pub(crate) fn append(&mut self, other: DataArray) -> Result<(), FormatError> {
        match (self, other) {
            (DataArray::U8(a), DataArray::U8(b)) => a.extend(b),
            (DataArray::I8(a), DataArray::I8(b)) => a.extend(b),
            (DataArray::U16(a), DataArray::U16(b)) => a.extend(b),
            (DataArray::I16(a), DataArray::I16(b)) => a.extend(b),
            (DataArray::U32(a), DataArray::U32(b)) => a.extend(b),
            (DataArray::I32(a), DataArray::I32(b)) => a.extend(b),
            (DataArray::U64(a), DataArray::U64(b)) => a.extend(b),
            (DataArray::I64(a), DataArray::I64(b)) => a.extend(b),
            (DataArray::F32(a), DataArray::F32(b)) => a.extend(b),
            (DataArray::F64(a), DataArray::F64(b)) => a.extend(b),
            (DataArray::Rgb8(a), DataArray::Rgb8(b)) => a.extend(b),
            (DataArray::Rgba8(a), DataArray::Rgba8(b)) => a.extend(b),
            (DataArray::ComplexF32(a), DataArray::ComplexF32(b)) => a.extend(b),
            (DataArray::ComplexF64(a), DataArray::ComplexF64(b)) => a.extend(b),
            (DataArray::Bool(a), DataArray::Bool(b)) => a.extend(b),
            (a, b) => {
                return Err(FormatError::InvalidImage(format!(
                    "cannot stack pages of types {} and {}",
                    a.data_type().numpy_name(),
                    b.data_type().numpy_name()
                )))
            }
        }
        Ok(())
    }
}

/// One axis of a dataset: coordinate of index `i` is `offset + i * scale` in `units`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// What the axis is: `x`, `y`, `height`, `width`, `Energy loss`, `image series`, …
    pub name: String,
    /// Number of points along the axis.
    pub size: usize,
    /// Physical step per index (1 when uncalibrated).
    pub scale: f64,
    /// Physical coordinate of index 0 (0 when uncalibrated).
    pub offset: f64,
    /// Unit of `scale` and `offset` as the file writes it (`nm`, `µm`, `m`, `eV`, `1 / nm`);
    /// `None` when the file gives no calibration. Never guessed.
    pub units: Option<String>,
}

impl Axis {
    /// An uncalibrated axis (scale 1, offset 0, no units).
    pub fn uncalibrated(name: &str, size: usize) -> Axis {
        Axis {
            name: name.to_string(),
            size,
            scale: 1.0,
            offset: 0.0,
            units: None,
        }
    }

    /// A calibrated axis starting at 0.
    pub fn calibrated(name: &str, size: usize, scale: f64, units: &str) -> Axis {
        Axis {
            name: name.to_string(),
            size,
            scale,
            offset: 0.0,
            units: Some(units.to_string()),
        }
    }
}

/// Acquisition parameters under common names, whatever the vendor calls them. Every field is
/// optional: `None` means the file does not state it (or states it unusably).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalisedMetadata {
    /// Instrument manufacturer, e.g. `FEI`, `Carl Zeiss`, `JEOL`, `Gatan`.
    pub instrument_vendor: Option<String>,
    /// Instrument model, e.g. `Helios NanoLab 660`, `JEM-ARM200F`.
    pub instrument_model: Option<String>,
    /// Technique, e.g. `SEM`, `TEM`, `STEM`, `electron diffraction`, `EELS`.
    pub technique: Option<String>,
    /// Accelerating voltage / beam energy in kV (keV for electrons).
    pub beam_energy_kv: Option<f64>,
    /// Magnification as stated by the instrument (dimensionless).
    pub magnification: Option<f64>,
    /// Camera length in mm (diffraction).
    pub camera_length_mm: Option<f64>,
    /// Working distance in mm (SEM).
    pub working_distance_mm: Option<f64>,
    /// Detector or signal name, e.g. `ETD`, `InLens`, `HAADF`.
    pub detector: Option<String>,
    /// Acquisition date/time as written by the instrument (ISO 8601 where the file uses it).
    pub acquisition_time: Option<String>,
    /// Pixel dwell time in seconds (scanning instruments).
    pub dwell_time_s: Option<f64>,
    /// Beam current in amperes.
    pub beam_current_a: Option<f64>,
    /// Physical width of one pixel of the (last two axes of the) image, if calibrated.
    pub pixel_size: Option<Quantity>,
    /// Relativistic electron wavelength in pm computed from the beam energy, when known.
    pub wavelength_pm: Option<f64>,
    /// Operator / user name.
    pub operator: Option<String>,
    /// Sample name or identifier as the file states it (XRD scans, JCAMP-DX `##TITLE`).
    pub sample_name: Option<String>,
    /// X-ray source and scan parameters (diffraction files only).
    pub xray: Option<XrayScanMetadata>,
}

/// X-ray tube and scan parameters of a diffraction measurement, as the file states them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct XrayScanMetadata {
    /// Anode (target) material, e.g. `Cu`, `Co`, `Mo`.
    pub anode: Option<String>,
    /// Kα1 wavelength in ångström (Cu: 1.540 59 Å).
    pub k_alpha1_angstrom: Option<f64>,
    /// Kα2 wavelength in ångström (Cu: 1.544 43 Å).
    pub k_alpha2_angstrom: Option<f64>,
    /// Kβ wavelength in ångström.
    pub k_beta_angstrom: Option<f64>,
    /// Intensity ratio I(Kα2) / I(Kα1) (≈ 0.5).
    pub k_alpha2_ratio: Option<f64>,
    /// Scan mode as the vendor names it, e.g. `Continuous`, `Step`, `Locked Coupled`.
    pub scan_type: Option<String>,
    /// Scanned axis as the vendor names it, e.g. `Gonio`, `2Theta-Omega`.
    pub scan_axis: Option<String>,
    /// Step in degrees 2θ.
    pub step_deg: Option<f64>,
    /// Counting time per step in seconds.
    pub time_per_step_s: Option<f64>,
    /// Tube voltage in kV.
    pub tube_voltage_kv: Option<f64>,
    /// Tube current in mA.
    pub tube_current_ma: Option<f64>,
}

/// Everything a reader learns about a file except the pixel values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The element type of the pixel data.
    pub data_type: DataType,
    /// Array shape, slowest axis first (C order).
    pub shape: Vec<usize>,
    /// One axis per entry of `shape`, same order.
    pub axes: Vec<Axis>,
    /// Normalised acquisition metadata.
    pub metadata: NormalisedMetadata,
    /// The file's complete tag tree / header text as JSON (large arrays summarised).
    pub original_metadata: serde_json::Value,
    /// The reader that produced this, e.g. `DM3`, `TIFF (FEI)`.
    pub format: String,
    /// Decisions the reader took (crops, calibrations refused or chosen), for the user to see.
    pub notes: Vec<String>,
}

/// A file's pixel data with calibrated axes and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Pixel values in the file's data type, row-major.
    pub data: DataArray,
    /// Array shape, slowest axis first (C order); product equals `data.len()`.
    pub shape: Vec<usize>,
    /// One axis per entry of `shape`, same order.
    pub axes: Vec<Axis>,
    /// Normalised acquisition metadata.
    pub metadata: NormalisedMetadata,
    /// The file's complete tag tree / header text as JSON (large arrays summarised).
    pub original_metadata: serde_json::Value,
    /// The reader that produced this, e.g. `DM3`, `TIFF (FEI)`.
    pub format: String,
    /// Decisions the reader took (crops, calibrations refused or chosen), for the user to see.
    pub notes: Vec<String>,
}

impl Dataset {
    /// Joins header information and pixel data, checking that they agree.
    pub fn from_parts(info: DatasetInfo, data: DataArray) -> Result<Dataset, FormatError> {
        let expected = checked_product(&info.shape)?;
        if data.len() != expected || data.data_type() != info.data_type {
            return Err(FormatError::InvalidImage(format!(
                "shape {:?} ({}) needs {expected} elements but {} {} were decoded",
                info.shape,
                info.data_type.numpy_name(),
                data.len(),
                data.data_type().numpy_name()
            )));
        }
        if info.axes.len() != info.shape.len() {
            return Err(FormatError::InvalidImage(format!(
                "{} axes for a {}-dimensional array",
                info.axes.len(),
                info.shape.len()
            )));
        }
        Ok(Dataset {
            data,
            shape: info.shape,
            axes: info.axes,
            metadata: info.metadata,
            original_metadata: info.original_metadata,
            format: info.format,
            notes: info.notes,
        })
    }

    /// The element type.
    pub fn data_type(&self) -> DataType {
        self.data.data_type()
    }
}

/// The product of `shape`, failing on overflow.
pub(crate) fn checked_product(shape: &[usize]) -> Result<usize, FormatError> {
    shape.iter().try_fold(1usize, |acc, &n| {
        acc.checked_mul(n).ok_or_else(|| {
            FormatError::InvalidImage(format!("shape {shape:?} overflows the address space"))
        })
    })
}

/// Options for [`read_any_with_options`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Remove the data bar (information strip) that FEI/Thermo SEMs append below the image,
    /// keeping the `[Image] ResolutionY` rows of the scan. Default `true`; the crop is reported
    /// in `notes`. With `false` the stored rows are returned as they are (as rosettasciio does).
    pub crop_data_bar: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            crop_data_bar: true,
        }
    }
}

/// The container formats [`read_any`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Gatan DigitalMicrograph version 3.
    Dm3,
    /// Gatan DigitalMicrograph version 4.
    Dm4,
    /// TIFF or BigTIFF (all vendors).
    Tiff,
    /// PNG (no physical calibration).
    Png,
    /// Bruker DIFFRAC RAW (binary diffraction pattern).
    BrukerRaw,
    /// Bruker DIFFRAC.SUITE BRML (ZIP of XML).
    Brml,
    /// PANalytical XRDML (XML).
    Xrdml,
    /// Rigaku RAS (text).
    RigakuRas,
    /// JCAMP-DX spectrum (text).
    Jcamp,
    /// Two/three-column numeric text (2θ, intensity, σ).
    XyText,
    /// MRC2014 map or image stack (`MAP ` at byte 208).
    Mrc,
    /// HDF5 container: Thermo Fisher Velox or Berkeley NCEM `.emd` ([`crate::emd`]).
    Hdf5,
    /// SEM metadata text written next to an image (Hitachi `[SemImageFile]`, JEOL
    /// `$CM_FORMAT`, Tescan `.hdr`): calibration only, no pixels.
    SemSidecar,
}

impl From<Dataset> for DatasetInfo {
    /// Everything but the pixel values.
    fn from(d: Dataset) -> DatasetInfo {
        DatasetInfo {
            data_type: d.data.data_type(),
            shape: d.shape,
            axes: d.axes,
            metadata: d.metadata,
            original_metadata: d.original_metadata,
            format: d.format,
            notes: d.notes,
        }
    }
}

/// Recognises the container format from the first bytes; the file name is consulted only when
/// the content is ambiguous (a DM header is just a version number, so a file that starts
/// `00 00 00 03` but whose name says `.tif` is still DM — the TIFF magic cannot start that way).
pub fn detect_kind(bytes: &[u8], file_name_hint: Option<&str>) -> Result<FileKind, FormatError> {
    let head = bytes.get(..4);
    match head {
        Some([0x49, 0x49, 0x2A, 0x00]) | Some([0x4D, 0x4D, 0x00, 0x2A]) => Ok(FileKind::Tiff),
        Some([0x49, 0x49, 0x2B, 0x00]) | Some([0x4D, 0x4D, 0x00, 0x2B]) => Ok(FileKind::Tiff),
        // Before DM: a big-endian MRC with NX = 3 or 4 starts like a DM header.
        _ if crate::mrc::looks_like_mrc(bytes) => Ok(FileKind::Mrc),
        Some([0, 0, 0, 3]) => Ok(FileKind::Dm3),
        Some([0, 0, 0, 4]) => Ok(FileKind::Dm4),
        _ if bytes.starts_with(&crate::png::PNG_SIGNATURE) => Ok(FileKind::Png),
        _ if bytes.starts_with(&crate::emd::HDF5_SIGNATURE) => Ok(FileKind::Hdf5),
        _ if [&b"RAW1.01"[..], b"RAW4.00", b"RAW ", b"RAW2"]
            .iter()
            .any(|magic| bytes.starts_with(magic)) =>
        {
            Ok(FileKind::BrukerRaw)
        }
        _ if bytes.starts_with(b"PK\x03\x04") => Ok(FileKind::Brml),
        _ if crate::xrd::looks_like_xrdml(bytes) => Ok(FileKind::Xrdml),
        _ if crate::xrd::looks_like_ras(bytes) => Ok(FileKind::RigakuRas),
        _ if crate::jcamp::looks_like_jcamp(bytes) => Ok(FileKind::Jcamp),
        _ if crate::sem_sidecar::looks_like_sidecar(bytes) => Ok(FileKind::SemSidecar),
        _ if crate::xrd::looks_like_xy(bytes) => Ok(FileKind::XyText),
        // HDF5 behind a user block: the signature at 512, 1024, 2048, …
        _ if crate::emd::looks_like_hdf5(bytes) => Ok(FileKind::Hdf5),
        _ => {
            let extension = file_name_hint
                .and_then(|name| name.rsplit_once('.'))
                .map(|(_, ext)| ext.to_ascii_lowercase());
            Err(FormatError::UnrecognisedFormat(format!(
                "{} bytes starting {:02X?}{}: not a TIFF, PNG or DigitalMicrograph file",
                bytes.len(),
                &bytes[..bytes.len().min(8)],
                match extension {
                    Some(ext) => format!(" (name ends .{ext}, content disagrees)"),
                    None => String::new(),
                }
            )))
        }
    }
}

/// Reads any supported file into a [`Dataset`] with default [`ReadOptions`]. The reader is
/// chosen by content; `file_name_hint` only breaks ties and improves error messages.
pub fn read_any(bytes: &[u8], file_name_hint: Option<&str>) -> Result<Dataset, FormatError> {
    read_any_with_options(bytes, file_name_hint, &ReadOptions::default())
}

/// [`read_any`] with explicit options.
pub fn read_any_with_options(
    bytes: &[u8],
    file_name_hint: Option<&str>,
    options: &ReadOptions,
) -> Result<Dataset, FormatError> {
    match detect_kind(bytes, file_name_hint)? {
        FileKind::Dm3 | FileKind::Dm4 => crate::dm::read_dm(bytes),
        FileKind::Tiff => crate::em_tiff::read_em_tiff(bytes, options),
        FileKind::Png => crate::png::read_png(bytes),
        FileKind::BrukerRaw => crate::xrd::read_bruker_raw(bytes)?.into_dataset(),
        FileKind::Brml => crate::xrd::read_brml(bytes)?.into_dataset(),
        FileKind::Xrdml => crate::xrd::read_xrdml(bytes)?.into_dataset(),
        FileKind::RigakuRas => crate::xrd::read_ras(bytes)?.into_dataset(),
        FileKind::Jcamp => crate::jcamp::read_jcamp(bytes)?.into_dataset(),
        FileKind::XyText => crate::xrd::read_xy(bytes)?.into_dataset(),
        FileKind::Mrc => crate::mrc::read_mrc(bytes),
        FileKind::Hdf5 => crate::emd::read_emd(bytes),
        FileKind::SemSidecar => Err(crate::sem_sidecar::sidecar_without_image(
            bytes,
            file_name_hint,
        )),
    }
}

/// Everything [`read_any`] reports except the pixel values, without decoding (or, for DM,
/// even copying) the pixel payload.
pub fn read_metadata_only(
    bytes: &[u8],
    file_name_hint: Option<&str>,
) -> Result<DatasetInfo, FormatError> {
    match detect_kind(bytes, file_name_hint)? {
        FileKind::Dm3 | FileKind::Dm4 => crate::dm::read_dm_info(bytes),
        FileKind::Tiff => crate::em_tiff::read_em_tiff_info(bytes, &ReadOptions::default()),
        // PNG headers are cheap, but the payload is compressed: decoding is the only honest way
        // to check it; the pixels are dropped.
        FileKind::Png => crate::png::read_png(bytes).map(DatasetInfo::from),
        FileKind::Mrc => crate::mrc::read_mrc_info(bytes),
        FileKind::Hdf5 => crate::emd::read_emd_info(bytes),
        // 1-D patterns and spectra are small: reading them whole is the metadata read.
        _ => read_any(bytes, file_name_hint).map(DatasetInfo::from),
    }
}

/// The relativistic de Broglie wavelength of electrons accelerated through `kilovolts`, in pm:
/// λ = h / √(2 m₀ e V (1 + e V / (2 m₀ c²))) (e.g. Williams & Carter, *Transmission Electron
/// Microscopy*, 2nd ed., 2009, eq. 1.6). 200 kV → 2.5079 pm.
pub fn electron_wavelength_pm(kilovolts: f64) -> f64 {
    // CODATA 2018 exact / recommended values.
    const PLANCK: f64 = 6.626_070_15e-34; // J s
    const ELECTRON_MASS: f64 = 9.109_383_701_5e-31; // kg
    const ELEMENTARY_CHARGE: f64 = 1.602_176_634e-19; // C
    const LIGHT_SPEED: f64 = 299_792_458.0; // m/s
    let volts = kilovolts * 1e3;
    let energy = ELEMENTARY_CHARGE * volts;
    let momentum = (2.0
        * ELECTRON_MASS
        * energy
        * (1.0 + energy / (2.0 * ELECTRON_MASS * LIGHT_SPEED * LIGHT_SPEED)))
        .sqrt();
    PLANCK / momentum * 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wavelength_matches_textbook_values() {
        // Williams & Carter Table 1.1: 100 kV 3.70 pm, 200 kV 2.51 pm, 300 kV 1.97 pm.
        assert!((electron_wavelength_pm(100.0) - 3.701).abs() < 1e-3);
        assert!((electron_wavelength_pm(200.0) - 2.5079).abs() < 1e-4);
        assert!((electron_wavelength_pm(300.0) - 1.9687).abs() < 1e-4);
    }

    #[test]
    fn kinds_are_detected_by_content_not_name() {
        assert_eq!(
            detect_kind(b"II*\0rest", Some("x.dm3")).unwrap(),
            FileKind::Tiff
        );
        assert_eq!(
            detect_kind(&[0, 0, 0, 4, 0], Some("x.tif")).unwrap(),
            FileKind::Dm4
        );
        assert!(matches!(
            detect_kind(b"hello", Some("a.csv")),
            Err(FormatError::UnrecognisedFormat(_))
        ));
        assert!(detect_kind(b"", None).is_err());
    }

    #[test]
    fn stacking_and_product_checks() {
        let mut a = DataArray::U8(vec![1, 2]);
        a.append(DataArray::U8(vec![3])).unwrap();
        assert_eq!(a, DataArray::U8(vec![1, 2, 3]));
        assert!(a.append(DataArray::U16(vec![1])).is_err());
        assert!(checked_product(&[usize::MAX, 2]).is_err());
        assert_eq!(checked_product(&[]).unwrap(), 1);
    }
}
