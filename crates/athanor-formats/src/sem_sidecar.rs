//! SEM metadata that instruments write as text: Hitachi and JEOL `.txt` sidecars next to the
//! image, and Tescan's INI block (TIFF tag 50431, or a `.hdr` sidecar).
//!
//! A sidecar holds no pixels: [`parse_sem_sidecar`] turns its text into a [`SemSidecar`]
//! (calibration + normalised metadata), [`apply_sidecar`] merges that into the [`Dataset`] read
//! from the image, and [`crate::files::read_path`] finds the partner file on disk (same stem).
//!
//! | vendor | recognised by | pixel size | other fields |
//! |---|---|---|---|
//! | Hitachi (S-4800, SU, TM series) | a `[SemImageFile]` line (ASCII/Latin-1 or UTF-16) | `PixelSize` in nm, for the `DataSize` (`1280x960`) frame | `Magnification`, `AcceleratingVoltage` (`15000 Volt`; V when no unit), `WorkingDistance` (`8100 um`; µm when no unit), `InstructName`, `SignalName`, `Date`/`Time`, `EmissionCurrent`, `ImageName` |
//! | JEOL SEM | a `$CM_FORMAT` line | `$$SM_MICRON_MARKER` (e.g. `1um`) ÷ `$$SM_MICRON_BAR` (bar length in px), for the `$CM_FULL_SIZE` frame | `$CM_MAG`, `$CM_ACCEL_VOLT` (kV), `$CM_INSTRUMENT`, `$CM_SIGNAL`, `$CM_DATE`/`$CM_TIME`, `$CM_IMAGE_NAME` |
//! | Tescan | a `[MAIN]` section with `PixelSizeX`, `Device` or `HV` | `PixelSizeX` / `PixelSizeY` in m | `HV` (V), `WD` (m), `Magnification`, `Device`, `UserName`, `Date`/`Time`, `[SEM] Detector` |
//!
//! Calibration is never guessed: a sidecar without a usable pixel size (missing, zero, a marker
//! without a unit) gives `pixel_size: None` and a note. When the image is wider than the frame
//! the sidecar describes, the pixel size is scaled by `frame width / image width` (same field of
//! view, resampled) and noted; extra rows below the frame (the instruments' data bar) are
//! cropped with [`ReadOptions::crop_data_bar`] like FEI data bars.

use crate::dataset::{Dataset, NormalisedMetadata, ReadOptions};
use crate::FormatError;
use athanor_model::Quantity;
use serde_json::{Map, Value};

/// Which instrument family wrote the sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarVendor {
    /// Hitachi `[SemImageFile]` text.
    Hitachi,
    /// JEOL SEM `$CM_…` / `$$SM_…` text.
    JeolSem,
    /// Tescan `[MAIN]` INI text (`.hdr` sidecar or TIFF tag 50431).
    Tescan,
}

impl SidecarVendor {
    /// Name used in [`Dataset::format`], e.g. `Hitachi SEM`.
    pub fn name(self) -> &'static str {
        match self {
            SidecarVendor::Hitachi => "Hitachi SEM",
            SidecarVendor::JeolSem => "JEOL SEM",
            SidecarVendor::Tescan => "Tescan SEM",
        }
    }
}

/// What a sidecar says about the image it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct SemSidecar {
    /// Who wrote it.
    pub vendor: SidecarVendor,
    /// Pixel width and height (x, y) for the frame of `frame_size`, when stated usably.
    pub pixel_size: Option<[Quantity; 2]>,
    /// Width and height in pixels of the frame the calibration refers to (Hitachi `DataSize`,
    /// JEOL `$CM_FULL_SIZE`), when stated.
    pub frame_size: Option<[usize; 2]>,
    /// The image file name the sidecar names (Hitachi `ImageName`, JEOL `$CM_IMAGE_NAME`).
    pub image_name: Option<String>,
    /// Normalised acquisition metadata (`pixel_size` mirrors the x pixel size).
    pub metadata: NormalisedMetadata,
    /// Every key/value of the text, by section.
    pub original: Value,
    /// Decisions taken while reading (refused or derived calibrations).
    pub notes: Vec<String>,
}

/// Decodes sidecar text: UTF-16 (BOM or NUL-interleaved, as some Hitachi software writes), else
/// UTF-8, else Latin-1 (`µ` is byte B5 there).
pub(crate) fn decode_sidecar_text(bytes: &[u8]) -> String {
    let utf16 = |little: bool, body: &[u8]| -> String {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if little {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(true, body);
    }
    if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(false, body);
    }
    let head = &bytes[..bytes.len().min(64)];
    if head.len() >= 4 {
        let odd_zeros = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let even_zeros = head.iter().step_by(2).filter(|&&b| b == 0).count();
        if odd_zeros * 4 >= head.len() && even_zeros == 0 {
            return utf16(true, bytes);
        }
        if even_zeros * 4 >= head.len() && odd_zeros == 0 {
            return utf16(false, bytes);
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Whether the text is a Tescan `[MAIN]` block.
fn looks_like_tescan(text: &str) -> bool {
    text.lines().any(|l| l.trim() == "[MAIN]")
        && ["PixelSizeX=", "Device=", "HV="]
            .iter()
            .any(|key| text.contains(key))
}

fn vendor_of(text: &str) -> Option<SidecarVendor> {
    let head: String = text.chars().take(4096).collect();
    if head.lines().any(|l| l.trim() == "[SemImageFile]") {
        Some(SidecarVendor::Hitachi)
    } else if head
        .lines()
        .any(|l| l.trim_start().starts_with("$CM_FORMAT"))
    {
        Some(SidecarVendor::JeolSem)
    } else if looks_like_tescan(&head) {
        Some(SidecarVendor::Tescan)
    } else {
        None
    }
}

/// Whether `bytes` are one of the sidecar texts this module reads.
pub(crate) fn looks_like_sidecar(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    vendor_of(&decode_sidecar_text(head)).is_some()
}

/// The error [`crate::read_any`] returns for a sidecar on its own: it has no pixels.
pub(crate) fn sidecar_without_image(bytes: &[u8], file_name_hint: Option<&str>) -> FormatError {
    match parse_sem_sidecar(bytes) {
        Err(error) => error,
        Ok(sidecar) => FormatError::Unsupported {
            format: sidecar.vendor.name().into(),
            message: format!(
                "{} is a metadata sidecar without pixels; read the image{} (read_path pairs \
                 them by file name)",
                file_name_hint.unwrap_or("this text"),
                sidecar
                    .image_name
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            ),
        },
    }
}

fn parse_f64(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `"15000 Volt"` → (15000, "volt"), `"8.1mm"` → (8.1, "mm"), `"1um"` → (1, "um").
fn number_and_unit(text: &str) -> Option<(f64, String)> {
    let text = text.trim();
    let split = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .map(|(i, _)| i)
        .unwrap_or(text.len());
    // "1e" is not a number but "1" followed by unit "e…" could be: back off over a trailing e/E.
    let (mut number, mut unit) = text.split_at(split);
    while parse_f64(number).is_none() && number.ends_with(['e', 'E']) {
        let cut = number.len() - 1;
        (number, unit) = text.split_at(cut);
    }
    let value = parse_f64(number)?;
    Some((value, unit.trim().to_lowercase()))
}

fn length_factor_to_m(unit: &str) -> Option<f64> {
    Some(match unit {
        "m" => 1.0,
        "mm" => 1e-3,
        "um" | "µm" | "μm" | "micron" | "microns" => 1e-6,
        "nm" => 1e-9,
        "pm" => 1e-12,
        _ => return None,
    })
}

fn voltage_factor_to_kv(unit: &str) -> Option<f64> {
    Some(match unit {
        "v" | "volt" | "volts" => 1e-3,
        "kv" => 1.0,
        _ => return None,
    })
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v > 0.0)
}

/// `key=value` / `key value` text → sections in file order.
fn sections(text: &str, separator: char) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = vec![(String::new(), Vec::new())];
    for line in text.lines() {
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((name.to_string(), Vec::new()));
            continue;
        }
        let pair = if separator == ' ' {
            line.split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .or(Some((line, "")))
        } else {
            line.split_once(separator)
        };
        if let (Some((key, value)), Some((_, entries))) = (pair, out.last_mut()) {
            entries.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    out.retain(|(name, entries)| !(name.is_empty() && entries.is_empty()));
    out
}

fn sections_json(sections: &[(String, Vec<(String, String)>)]) -> Value {
    let mut map = Map::new();
    for (name, entries) in sections {
        let entries: Map<String, Value> = entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        let name = if name.is_empty() { "root" } else { name };
        map.insert(name.to_string(), Value::Object(entries));
    }
    Value::Object(map)
}

struct Lookup<'a> {
    sections: &'a [(String, Vec<(String, String)>)],
}

impl Lookup<'_> {
    /// The first non-empty value of `key`, searching `preferred` sections first, then all.
    fn get(&self, preferred: &[&str], key: &str) -> Option<&str> {
        let find = |filter: &dyn Fn(&str) -> bool| {
            self.sections
                .iter()
                .filter(|(name, _)| filter(name))
                .flat_map(|(_, entries)| entries.iter())
                .find(|(k, v)| k == key && !v.is_empty())
                .map(|(_, v)| v.as_str())
        };
        find(&|name| preferred.contains(&name)).or_else(|| find(&|_| true))
    }
}

fn frame_from(text: &str) -> Option<[usize; 2]> {
    let mut parts = text
        .split(|c: char| c == 'x' || c == 'X' || c.is_whitespace() || c == ',')
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().parse::<usize>().ok());
    let w = parts.next()??;
    let h = parts.next()??;
    (w > 0 && h > 0).then_some([w, h])
}

fn hitachi(sections: &[(String, Vec<(String, String)>)]) -> SemSidecar {
    let l = Lookup { sections };
    let get = |key: &str| l.get(&["SemImageFile"], key);
    let mut notes = Vec::new();
    let mut metadata = NormalisedMetadata {
        instrument_vendor: Some("Hitachi".into()),
        instrument_model: get("InstructName").map(str::to_string),
        technique: Some("SEM".into()),
        detector: get("SignalName").map(str::to_string),
        operator: None,
        sample_name: get("SampleName").map(str::to_string),
        ..NormalisedMetadata::default()
    };
    metadata.magnification = positive(get("Magnification").and_then(parse_f64));
    if let Some(text) = get("AcceleratingVoltage") {
        match number_and_unit(text) {
            Some((v, unit)) => {
                let unit = if unit.is_empty() {
                    "v".to_string()
                } else {
                    unit
                };
                match voltage_factor_to_kv(&unit) {
                    Some(f) => metadata.beam_energy_kv = positive(Some(v * f)),
                    None => notes.push(format!("AcceleratingVoltage {text:?}: unknown unit")),
                }
            }
            None => notes.push(format!("AcceleratingVoltage {text:?} is not a number")),
        }
    }
    if let Some(text) = get("WorkingDistance") {
        match number_and_unit(text) {
            Some((v, unit)) => {
                let unit = if unit.is_empty() {
                    "um".to_string()
                } else {
                    unit
                };
                match length_factor_to_m(&unit) {
                    Some(f) => metadata.working_distance_mm = positive(Some(v * f * 1e3)),
                    None => notes.push(format!("WorkingDistance {text:?}: unknown unit")),
                }
            }
            None => notes.push(format!("WorkingDistance {text:?} is not a number")),
        }
    }
    metadata.acquisition_time = match (get("Date"), get("Time")) {
        (Some(d), Some(t)) => Some(format!("{d} {t}")),
        (d, t) => d.or(t).map(str::to_string),
    };
    let pixel_size = match get("PixelSize") {
        Some(text) => match positive(parse_f64(text)) {
            Some(nm) => Some([Quantity::new(nm, "nm"), Quantity::new(nm, "nm")]),
            None => {
                notes.push(format!(
                    "PixelSize {text:?} is not a positive number: uncalibrated"
                ));
                None
            }
        },
        None => {
            notes.push("no PixelSize in [SemImageFile]: uncalibrated".into());
            None
        }
    };
    SemSidecar {
        vendor: SidecarVendor::Hitachi,
        pixel_size,
        frame_size: get("DataSize").and_then(frame_from),
        image_name: get("ImageName").map(str::to_string),
        metadata,
        original: sections_json(sections),
        notes,
    }
}

fn jeol(sections: &[(String, Vec<(String, String)>)]) -> SemSidecar {
    let l = Lookup { sections };
    let get = |key: &str| l.get(&[], key);
    let mut notes = Vec::new();
    let mut metadata = NormalisedMetadata {
        instrument_vendor: Some("JEOL".into()),
        instrument_model: get("$CM_INSTRUMENT").map(str::to_string),
        technique: Some("SEM".into()),
        detector: get("$CM_SIGNAL")
            .or_else(|| get("$CM_DETECTOR_NAME"))
            .map(str::to_string),
        operator: get("$CM_OPERATOR").map(str::to_string),
        magnification: positive(get("$CM_MAG").and_then(|t| number_and_unit(t).map(|p| p.0))),
        ..NormalisedMetadata::default()
    };
    if let Some(text) = get("$CM_ACCEL_VOLT") {
        match number_and_unit(text) {
            Some((v, unit)) if unit.is_empty() || unit == "kv" => {
                metadata.beam_energy_kv = positive(Some(v))
            }
            Some((v, unit)) if unit == "v" => metadata.beam_energy_kv = positive(Some(v / 1e3)),
            _ => notes.push(format!("$CM_ACCEL_VOLT {text:?} is not a voltage")),
        }
    }
    metadata.acquisition_time = match (get("$CM_DATE"), get("$CM_TIME")) {
        (Some(d), Some(t)) => Some(format!("{d} {t}")),
        (d, t) => d.or(t).map(str::to_string),
    };
    let bar = get("$$SM_MICRON_BAR").or_else(|| get("$CM_MICRON_BAR"));
    let marker = get("$$SM_MICRON_MARKER").or_else(|| get("$CM_MICRON_MARKER"));
    let pixel_size = match (bar, marker) {
        (Some(bar_text), Some(marker_text)) => {
            let bar = positive(parse_f64(bar_text));
            let marker = number_and_unit(marker_text);
            match (bar, marker) {
                (Some(bar), Some((length, unit))) if length > 0.0 => {
                    match length_factor_to_m(&unit) {
                        Some(factor) => {
                            let nm = length * factor * 1e9 / bar;
                            notes.push(format!(
                                "pixel size = micron marker {marker_text} / micron bar {bar} px"
                            ));
                            Some([Quantity::new(nm, "nm"), Quantity::new(nm, "nm")])
                        }
                        None => {
                            notes.push(format!(
                                "micron marker {marker_text:?} has no length unit: uncalibrated"
                            ));
                            None
                        }
                    }
                }
                _ => {
                    notes.push(format!(
                        "micron bar {bar_text:?} / marker {marker_text:?} unusable: uncalibrated"
                    ));
                    None
                }
            }
        }
        _ => {
            notes.push("no $$SM_MICRON_BAR / $$SM_MICRON_MARKER: uncalibrated".into());
            None
        }
    };
    SemSidecar {
        vendor: SidecarVendor::JeolSem,
        pixel_size,
        frame_size: get("$CM_FULL_SIZE").and_then(frame_from),
        image_name: get("$CM_IMAGE_NAME").map(str::to_string),
        metadata,
        original: sections_json(sections),
        notes,
    }
}

/// Tescan `[MAIN]`/`[SEM]` INI text (tag 50431 or `.hdr`).
pub(crate) fn tescan_from_text(text: &str) -> SemSidecar {
    let sections = sections(text, '=');
    let l = Lookup {
        sections: &sections,
    };
    let main = |key: &str| l.get(&["MAIN"], key);
    let sem = |key: &str| l.get(&["SEM", "MAIN"], key);
    let mut notes = Vec::new();
    let metres = |key: &str| positive(main(key).and_then(parse_f64));
    let pixel_size = match (metres("PixelSizeX"), metres("PixelSizeY")) {
        (Some(x), y) => {
            if y.is_none() {
                notes.push("no PixelSizeY: square pixels assumed from PixelSizeX".into());
            }
            Some([Quantity::new(x, "m"), Quantity::new(y.unwrap_or(x), "m")])
        }
        (None, _) => {
            notes.push("no usable PixelSizeX in [MAIN]: uncalibrated".into());
            None
        }
    };
    let metadata = NormalisedMetadata {
        instrument_vendor: Some("Tescan".into()),
        instrument_model: main("Device")
            .or_else(|| main("DeviceModel"))
            .map(str::to_string),
        technique: Some("SEM".into()),
        beam_energy_kv: positive(sem("HV").and_then(parse_f64)).map(|v| v / 1e3),
        magnification: positive(main("Magnification").and_then(parse_f64)),
        working_distance_mm: positive(sem("WD").and_then(parse_f64)).map(|m| m * 1e3),
        detector: sem("Detector").map(str::to_string),
        operator: main("UserName").map(str::to_string),
        acquisition_time: match (main("Date"), main("Time")) {
            (Some(d), Some(t)) => Some(format!("{d} {t}")),
            (d, t) => d.or(t).map(str::to_string),
        },
        dwell_time_s: positive(sem("DwellTime").and_then(parse_f64)),
        ..NormalisedMetadata::default()
    };
    SemSidecar {
        vendor: SidecarVendor::Tescan,
        pixel_size,
        frame_size: None,
        image_name: None,
        metadata,
        original: sections_json(&sections),
        notes,
    }
}

/// Parses a Hitachi / JEOL / Tescan sidecar text (vendor recognised by content).
pub fn parse_sem_sidecar(bytes: &[u8]) -> Result<SemSidecar, FormatError> {
    let text = decode_sidecar_text(bytes);
    let vendor = vendor_of(&text).ok_or_else(|| {
        FormatError::UnrecognisedFormat(
            "no [SemImageFile] (Hitachi), $CM_FORMAT (JEOL) or [MAIN] (Tescan) line in the \
             first 4 KiB"
                .into(),
        )
    })?;
    let mut sidecar = match vendor {
        SidecarVendor::Hitachi => hitachi(&sections(&text, '=')),
        SidecarVendor::JeolSem => jeol(&sections(&text, ' ')),
        SidecarVendor::Tescan => tescan_from_text(&text),
    };
    sidecar.metadata.pixel_size = sidecar.pixel_size.as_ref().map(|[x, _]| x.clone());
    Ok(sidecar)
}

fn same_length(a: &Quantity, b: &Quantity) -> Option<bool> {
    let fa = length_factor_to_m(&a.unit.replace('µ', "u"))?;
    let fb = length_factor_to_m(&b.unit.replace('µ', "u"))?;
    let (a, b) = (a.value * fa, b.value * fb);
    Some((a - b).abs() <= 0.01 * a.abs().max(b.abs()))
}

/// Merges a sidecar into the dataset read from its image: calibration of the last two axes
/// (unless the image already carries one, which is kept; a disagreement is noted), data-bar crop
/// (rows below the sidecar's frame, when `options.crop_data_bar`), metadata fields the image
/// lacks, and the sidecar text under `original_metadata["sidecar"]`.
pub fn apply_sidecar(dataset: &mut Dataset, sidecar: &SemSidecar, options: &ReadOptions) {
    let vendor = sidecar.vendor.name();
    dataset.notes.extend(
        sidecar
            .notes
            .iter()
            .map(|n| format!("{vendor} sidecar: {n}")),
    );
    let rank = dataset.shape.len();
    if rank < 2 {
        dataset
            .notes
            .push(format!("{vendor} sidecar ignored: the image is not 2-D"));
        return;
    }
    let (height, width) = (dataset.shape[rank - 2], dataset.shape[rank - 1]);
    let mut pixel_size = sidecar.pixel_size.clone();
    if let Some([frame_w, frame_h]) = sidecar.frame_size {
        if frame_w != width {
            if let Some([x, y]) = pixel_size.as_mut() {
                let factor = frame_w as f64 / width as f64;
                x.value *= factor;
                y.value *= factor;
                dataset.notes.push(format!(
                    "{vendor} sidecar calibrates a {frame_w}-pixel-wide frame; the image is \
                     {width} wide: pixel size scaled by {factor}"
                ));
            }
        } else if frame_h < height && rank == 2 {
            let bar = height - frame_h;
            if options.crop_data_bar {
                dataset.data.truncate(frame_h * width);
                dataset.shape[0] = frame_h;
                dataset.axes[0].size = frame_h;
                dataset.notes.push(format!(
                    "data bar of {bar} rows cropped ({height} rows stored, sidecar frame \
                     {frame_w}×{frame_h})"
                ));
            } else {
                dataset.notes.push(format!(
                    "the last {bar} of {height} rows are the data bar (sidecar frame \
                     {frame_w}×{frame_h}); kept"
                ));
            }
        }
    }
    let (y_axis, x_axis) = (rank - 2, rank - 1);
    match (&pixel_size, dataset.axes[x_axis].units.clone()) {
        (Some([x, y]), None) => {
            dataset.axes[x_axis].scale = x.value;
            dataset.axes[x_axis].units = Some(x.unit.clone());
            dataset.axes[y_axis].scale = y.value;
            dataset.axes[y_axis].units = Some(y.unit.clone());
            dataset.metadata.pixel_size = Some(x.clone());
            dataset
                .notes
                .retain(|n| !n.starts_with("no physical calibration found"));
            dataset
                .notes
                .push(format!("pixel size {x} from the {vendor} sidecar"));
        }
        (Some([x, _]), Some(unit)) => {
            let image = Quantity::new(dataset.axes[x_axis].scale, &unit);
            if same_length(x, &image) != Some(true) {
                dataset.notes.push(format!(
                    "{vendor} sidecar pixel size {x} differs from the image's own {image}; \
                     the image's calibration is kept"
                ));
            }
        }
        (None, _) => {}
    }
    let m = &mut dataset.metadata;
    let s = &sidecar.metadata;
    macro_rules! fill {
        ($($field:ident),*) => {$(
            if m.$field.is_none() {
                m.$field = s.$field.clone();
            }
        )*};
    }
    fill!(
        instrument_vendor,
        instrument_model,
        technique,
        beam_energy_kv,
        magnification,
        working_distance_mm,
        detector,
        acquisition_time,
        dwell_time_s,
        operator,
        sample_name
    );
    if let Value::Object(map) = &mut dataset.original_metadata {
        map.insert("sidecar".into(), sidecar.original.clone());
    }
    if !dataset.format.contains(vendor) {
        dataset.format = format!("{} + {vendor} sidecar", dataset.format);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_units_split() {
        assert_eq!(
            number_and_unit("15000 Volt"),
            Some((15000.0, "volt".into()))
        );
        assert_eq!(number_and_unit("1um"), Some((1.0, "um".into())));
        assert_eq!(number_and_unit("500nm"), Some((500.0, "nm".into())));
        assert_eq!(number_and_unit("2.5e-3 m"), Some((2.5e-3, "m".into())));
        assert_eq!(number_and_unit("kV"), None);
        assert_eq!(frame_from("1280x960"), Some([1280, 960]));
        assert_eq!(frame_from("1280 960"), Some([1280, 960]));
        assert_eq!(frame_from("0x960"), None);
    }

    #[test]
    fn utf16_text_is_decoded() {
        let text = "[SemImageFile]\r\nPixelSize=2.5\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode_sidecar_text(&le), text);
        let mut bom = vec![0xFE, 0xFF];
        bom.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(decode_sidecar_text(&bom), text);
        assert!(looks_like_sidecar(&le));
    }
}
