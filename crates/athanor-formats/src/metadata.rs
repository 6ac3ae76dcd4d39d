//! Metadata conventions shared by the image formats: the ImageJ description block, the Athanor
//! metadata blob and the normalisation of the length units instruments write.
//!
//! # ImageJ description
//!
//! ImageJ/Fiji store calibration in the TIFF `ImageDescription` tag as Java properties, one
//! `key=value` per line, starting with `ImageJ=<version>`:
//!
//! ```text
//! ImageJ=1.11a
//! unit=nm
//! ```
//!
//! with `XResolution`/`YResolution` holding pixels per `unit` and `ResolutionUnit` = 1 (none).
//! Non-ASCII characters are written as Java `\uXXXX` escapes (`unit=\u00B5m`); by habit ImageJ
//! writes micrometres as `micron`. Unknown keys are ignored by ImageJ, which is where Athanor
//! keeps its own metadata: one `athanor={json}` line (ASCII-only JSON, see
//! [`AthanorImageMetadata`]).

use crate::FormatError;
use athanor_model::units::{Dimension, Unit};
use athanor_model::Quantity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version string written as `ImageJ=…`. 1.11a is what other non-ImageJ writers (tifffile)
/// use; ImageJ only checks the prefix.
pub const IMAGEJ_VERSION: &str = "1.11a";

/// The key of the Athanor JSON line inside an ImageJ description.
pub const ATHANOR_KEY: &str = "athanor";

/// The parsed `ImageDescription` of an ImageJ-style TIFF.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageJDescription {
    /// The ImageJ version that wrote the file (the value of the first line).
    pub version: String,
    /// All `key=value` lines, values as written (Java escapes not yet resolved).
    pub raw_entries: BTreeMap<String, String>,
}

impl ImageJDescription {
    /// Parses `text` if it is an ImageJ description (starts with `ImageJ=`), else `None`.
    pub fn parse(text: &str) -> Option<ImageJDescription> {
        let text = text.trim_start_matches('\u{feff}');
        if !text.starts_with("ImageJ=") {
            return None;
        }
        let mut description = ImageJDescription::default();
        for line in text.lines() {
            let line = line.trim_end_matches(['\r', '\0']);
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key == "ImageJ" {
                description.version = value.trim().to_string();
            } else if !key.is_empty() {
                description
                    .raw_entries
                    .insert(key.to_string(), value.trim().to_string());
            }
        }
        Some(description)
    }

    /// The value of `key` with Java escapes (`\u00B5`, `\n`, …) resolved.
    pub fn get(&self, key: &str) -> Option<String> {
        self.raw_entries.get(key).map(|v| java_unescape(v))
    }

    /// The calibration unit (`unit=`), normalised by [`normalize_length_unit`]: `None` when the
    /// key is absent, names pixels, or is not a length (or inverse length) we recognise.
    pub fn length_unit(&self) -> Option<LengthUnit> {
        self.get("unit").and_then(|u| normalize_length_unit(&u))
    }

    /// The Athanor metadata line, if present and well formed.
    pub fn athanor_metadata(&self) -> Option<AthanorImageMetadata> {
        let raw = self.raw_entries.get(ATHANOR_KEY)?;
        serde_json::from_str(raw).ok()
    }
}

/// Builds an ImageJ description: the version line, `unit=` (if calibrated) and an
/// `athanor=` line with the JSON metadata.
pub fn format_imagej_description(
    imagej_unit: Option<&str>,
    athanor: &AthanorImageMetadata,
) -> Result<String, FormatError> {
    let mut text = format!("ImageJ={IMAGEJ_VERSION}\n");
    if let Some(unit) = imagej_unit {
        if unit.chars().any(char::is_control) {
            return Err(FormatError::InvalidCalibration(format!(
                "unit `{}` contains control characters",
                unit.escape_debug()
            )));
        }
        text.push_str("unit=");
        text.push_str(&java_escape(unit));
        text.push('\n');
    }
    let json = serde_json::to_string(athanor)
        .map_err(|e| FormatError::InvalidImage(format!("metadata cannot be serialised: {e}")))?;
    text.push_str(ATHANOR_KEY);
    text.push('=');
    text.push_str(&ascii_json(&json));
    text.push('\n');
    Ok(text)
}

/// The metadata Athanor stores with an image it writes. The pixel size is repeated here at full
/// `f64` precision (the TIFF resolution tags are rationals) together with its uncertainty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AthanorImageMetadata {
    /// Version of this metadata layout.
    pub format_version: u32,
    /// The pixel size as given to the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_size: Option<Quantity>,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl AthanorImageMetadata {
    /// The layout version written by this crate.
    pub const FORMAT_VERSION: u32 = 1;
}

/// A recognised calibration unit: the symbol to report (parseable by [`Unit::parse`]) and the
/// factor from the file's unit to it (`inch` is reported in `mm` with factor 25.4).
#[derive(Debug, Clone, PartialEq)]
pub struct LengthUnit {
    /// Unit symbol understood by `athanor_model::units::Unit::parse`.
    pub symbol: String,
    /// Multiply a value in the file's unit by this to get it in `symbol`.
    pub factor: f64,
}

/// Maps the length-unit spellings found in instrument files (`micron`, `um`, `µm`, `\u00B5m`,
/// `micrometer`, `A`, `Å`, `angstrom`, `nm`, `inch`, `1/nm`, …) to a unit symbol Athanor
/// understands. Returns `None` for pixel units (`pixel`, `px`, empty), which mean "not
/// calibrated", and for anything that is not a length or inverse length: calibration is never
/// guessed.
pub fn normalize_length_unit(text: &str) -> Option<LengthUnit> {
    let text = java_unescape(text.trim());
    let lower = text.to_lowercase();
    let exact = |symbol: &str| {
        Some(LengthUnit {
            symbol: symbol.to_string(),
            factor: 1.0,
        })
    };
    match lower.as_str() {
        "" | "pixel" | "pixels" | "px" | "none" => return None,
        "micron" | "microns" | "um" | "µm" | "μm" | "micrometer" | "micrometre" | "micrometers"
        | "micrometres" => return exact("µm"),
        "nanometer" | "nanometre" | "nanometers" | "nanometres" => return exact("nm"),
        "a" | "å" | "angstrom" | "angstroms" | "ångström" => return exact("Å"),
        "meter" | "metre" | "meters" | "metres" => return exact("m"),
        "millimeter" | "millimetre" => return exact("mm"),
        "centimeter" | "centimetre" => return exact("cm"),
        "inch" | "inches" | "in" => {
            return Some(LengthUnit {
                symbol: "mm".to_string(),
                factor: 25.4,
            })
        }
        _ => {}
    }
    let unit = Unit::parse(&text).ok()?;
    is_length_like(unit.dimension()).then(|| LengthUnit {
        symbol: text.clone(),
        factor: 1.0,
    })
}

/// True for a length (image pixels) or an inverse length (diffraction-pattern pixels).
fn is_length_like(dimension: Dimension) -> bool {
    let inverse_length = Dimension {
        length: -1,
        ..Dimension::NONE
    };
    dimension == Dimension::LENGTH || dimension == inverse_length
}

/// Checks that a pixel size is a positive finite length or inverse length, returning its unit.
pub fn check_pixel_size(size: &Quantity) -> Result<Unit, FormatError> {
    if !(size.value.is_finite() && size.value > 0.0) {
        return Err(FormatError::InvalidCalibration(format!(
            "pixel size {size} must be positive and finite"
        )));
    }
    let unit = Unit::parse(&size.unit).map_err(|e| {
        FormatError::InvalidCalibration(format!("pixel size {size} has an unusable unit: {e}"))
    })?;
    if !is_length_like(unit.dimension()) {
        return Err(FormatError::InvalidCalibration(format!(
            "pixel size {size} is a {}, not a length (or inverse length)",
            unit.dimension().describe()
        )));
    }
    Ok(unit)
}

/// The unit string ImageJ expects: `micron` for micrometres (ImageJ habit), else the symbol.
pub fn imagej_unit_name(symbol: &str) -> String {
    match symbol.trim() {
        "µm" | "μm" | "um" | "micron" => "micron".to_string(),
        other => other.to_string(),
    }
}

/// Writes non-ASCII characters as Java `\uXXXX` escapes (UTF-16 code units), as ImageJ does.
pub fn java_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        }
    }
    out
}

/// Resolves Java properties escapes: `\uXXXX` (with surrogate pairs), `\n`, `\t`, `\r`, `\f`;
/// any other escaped character stands for itself. Malformed escapes are kept verbatim.
pub fn java_unescape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch != '\\' || i + 1 == chars.len() {
            let mut buf = [0u16; 2];
            units.extend_from_slice(ch.encode_utf16(&mut buf));
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        match next {
            'u' => {
                let hex: String = chars.iter().skip(i + 2).take(4).collect();
                match (hex.len() == 4).then(|| u16::from_str_radix(&hex, 16).ok()) {
                    Some(Some(code)) => {
                        units.push(code);
                        i += 6;
                    }
                    _ => {
                        units.extend_from_slice(&[u16::from(b'\\'), u16::from(b'u')]);
                        i += 2;
                    }
                }
            }
            _ => {
                let resolved = match next {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'f' => '\u{c}',
                    other => other,
                };
                let mut buf = [0u16; 2];
                units.extend_from_slice(resolved.encode_utf16(&mut buf));
                i += 2;
            }
        }
    }
    String::from_utf16_lossy(&units)
}

/// JSON with every non-ASCII character escaped as `\uXXXX`, so it fits an ASCII TIFF tag. Only
/// string contents can be non-ASCII in JSON, and `\uXXXX` is a valid escape there.
fn ascii_json(json: &str) -> String {
    java_escape(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_spellings_are_normalised() {
        for spelling in ["micron", "um", "µm", "μm", "\\u00B5m", "micrometer"] {
            assert_eq!(normalize_length_unit(spelling).unwrap().symbol, "µm");
        }
        assert_eq!(normalize_length_unit("A").unwrap().symbol, "Å");
        assert_eq!(normalize_length_unit("nm").unwrap().symbol, "nm");
        assert_eq!(normalize_length_unit("1/nm").unwrap().symbol, "1/nm");
        let inch = normalize_length_unit("inch").unwrap();
        assert_eq!((inch.symbol.as_str(), inch.factor), ("mm", 25.4));
        for uncalibrated in ["pixel", "", "px", "furlong", "s", "degC"] {
            assert!(
                normalize_length_unit(uncalibrated).is_none(),
                "{uncalibrated}"
            );
        }
    }

    #[test]
    fn java_escapes_round_trip() {
        let text = "µm Å 😀 plain";
        let escaped = java_escape(text);
        assert!(escaped.is_ascii());
        assert_eq!(java_unescape(&escaped), text);
        assert_eq!(java_unescape("a\\nb\\\\c\\uZZ"), "a\nb\\c\\uZZ");
    }

    #[test]
    fn description_with_metadata_parses_back() {
        let metadata = AthanorImageMetadata {
            format_version: AthanorImageMetadata::FORMAT_VERSION,
            pixel_size: Some(Quantity::with_std(0.25, 0.01, "µm")),
            description: Some("line one\nline two: Å, \"quoted\" = ok".into()),
        };
        let text = format_imagej_description(Some("micron"), &metadata).unwrap();
        assert!(text.is_ascii());
        assert!(text.starts_with("ImageJ=1.11a\nunit=micron\n"));
        let parsed = ImageJDescription::parse(&text).unwrap();
        assert_eq!(parsed.version, IMAGEJ_VERSION);
        assert_eq!(parsed.length_unit().unwrap().symbol, "µm");
        assert_eq!(parsed.athanor_metadata().unwrap(), metadata);
        assert!(ImageJDescription::parse("<?xml version=\"1.0\"?>").is_none());
    }

    #[test]
    fn pixel_sizes_must_be_lengths() {
        assert!(check_pixel_size(&Quantity::new(0.2, "nm")).is_ok());
        assert!(check_pixel_size(&Quantity::new(0.27, "1/nm")).is_ok());
        let err = check_pixel_size(&Quantity::new(0.2, "s")).unwrap_err();
        assert!(err.to_string().contains("time"), "{err}");
        assert!(check_pixel_size(&Quantity::new(-1.0, "nm")).is_err());
        assert!(check_pixel_size(&Quantity::new(f64::NAN, "nm")).is_err());
    }
}
