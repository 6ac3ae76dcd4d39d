//! X-ray diffraction patterns: intensity against 2θ from plain text, PANalytical, Bruker and
//! Rigaku files, in one form ([`XyData`]) that converts to a 1-D [`Dataset`].
//!
//! | format | reader | what is read |
//! |---|---|---|
//! | two/three-column text (`.xy`, `.xye`, `.csv`, `.txt`) | [`read_xy`] (writer: [`write_xy`]) | 2θ, intensity, optional σ; `#`, `;`, `'`, `!` comments |
//! | PANalytical `.xrdml` (XML) | [`read_xrdml`] | first scan: `startPosition`/`endPosition` or `listPositions`, `counts` or `intensities`, counting time, `usedWavelength`, anode |
//! | Bruker DIFFRAC `.raw` v3 (`RAW1.01`) and v4 (`RAW4.00`) | [`read_bruker_raw`] | all ranges concatenated; v1/v2 refused as unsupported |
//! | Bruker DIFFRAC.SUITE `.brml` (ZIP of XML) | [`read_brml`] | `Experiment0/RawData0.xml`: `Datum` rows, scan axes, tube wavelengths |
//! | Rigaku `.ras` | [`read_ras`] | first `*RAS_DATA_START` block: `*MEAS_*`/`*HW_*` header, angle / counts / attenuation |
//!
//! # Conventions
//!
//! The x axis is 2θ in degrees unless the file says otherwise. When the positions are equally
//! spaced (within 0.1 % of a step, which absorbs f32 rounding) the dataset axis is
//! `offset + i · step`; otherwise the axis holds the mean step and the exact positions are kept
//! in `original_metadata["x_values"]` with a note. A σ column goes to
//! `original_metadata["sigma"]`. The diffraction angle relates to lattice spacing by Bragg's law
//! *nλ = 2d sin θ* (W. L. Bragg, *Proc. Camb. Phil. Soc.* 17, 43 (1913)), which is why the
//! wavelengths (Kα1, Kα2, their intensity ratio) are reported in
//! [`XrayScanMetadata`].
//!
//! Binary layouts follow the published descriptions: Bruker *DIFFRAC^plus XCH V.5.0 User's
//! Manual, Appendix A* (v3 RAW: 712-byte file header, 304-byte range headers plus a
//! supplementary block, f32 counts) and the v4 segment layout documented by xylib
//! (M. Wojdyr, <https://github.com/wojdyr/xylib>). No vendor code is used.
//!
//! Every reader returns an error for damaged or truncated input and allocates no more than the
//! input's size justifies (counts are checked against the bytes present before allocating).
//!
//! ```
//! use athanor_formats::{read_any, write_xy, XyData};
//! let mut pattern = XyData::new_pattern("demo");
//! pattern.x = vec![10.0, 10.02, 10.04];
//! pattern.y = vec![120.0, 180.0, 95.0];
//! let dataset = read_any(&write_xy(&pattern), Some("scan.xy"))?;
//! assert_eq!(dataset.axes[0].units.as_deref(), Some("deg"));
//! assert!((dataset.axes[0].scale - 0.02).abs() < 1e-12);
//! assert_eq!(dataset.data.value_f64(1), Some(180.0));
//! # Ok::<(), athanor_formats::FormatError>(())
//! ```

use crate::dataset::{Axis, DataArray, Dataset, DatasetInfo, NormalisedMetadata, XrayScanMetadata};
use crate::FormatError;
use serde_json::{Map, Value};
use std::io::Read;

/// A 1-D curve (diffraction pattern or spectrum) with metadata, before it becomes a
/// [`Dataset`]. `x`, `y` and (when present) `sigma` have the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct XyData {
    /// Positions, e.g. 2θ in degrees.
    pub x: Vec<f64>,
    /// Intensities (or absorbance, …) at each position.
    pub y: Vec<f64>,
    /// Standard uncertainty of each intensity, when the file gives one.
    pub sigma: Option<Vec<f64>>,
    /// Name of the x axis, e.g. `2θ`.
    pub x_name: String,
    /// Unit of the x axis, e.g. `deg` (empty when unknown).
    pub x_unit: String,
    /// Name of the y values, e.g. `intensity`.
    pub y_name: String,
    /// Unit of the y values, e.g. `counts` (empty when unknown).
    pub y_unit: String,
    /// Normalised metadata (sample, instrument, X-ray source and scan).
    pub metadata: NormalisedMetadata,
    /// The file's header as JSON (a JSON object).
    pub original_metadata: Value,
    /// The reader that produced this, e.g. `XRDML`.
    pub format: String,
    /// Decisions the reader took.
    pub notes: Vec<String>,
}

impl XyData {
    /// An empty 2θ pattern of `format` (used by readers before filling in values).
    pub fn new_pattern(format: &str) -> XyData {
        XyData {
            x: Vec::new(),
            y: Vec::new(),
            sigma: None,
            x_name: "2θ".into(),
            x_unit: "deg".into(),
            y_name: "intensity".into(),
            y_unit: "counts".into(),
            metadata: NormalisedMetadata::default(),
            original_metadata: Value::Object(Map::new()),
            format: format.into(),
            notes: Vec::new(),
        }
    }

    /// The step between positions if they are equally spaced (within 0.1 % of a step).
    pub fn uniform_step(&self) -> Option<f64> {
        let n = self.x.len();
        if n < 2 {
            return None;
        }
        let first = self.x[0];
        let step = (self.x[n - 1] - first) / (n - 1) as f64;
        if !step.is_finite() || step == 0.0 {
            return None;
        }
        let tolerance = 1e-3 * step.abs();
        self.x
            .iter()
            .enumerate()
            .all(|(i, &x)| (x - (first + i as f64 * step)).abs() <= tolerance)
            .then_some(step)
    }

    /// Converts to a 1-D [`Dataset`] of `f64` intensities (see the [module docs](self) for how
    /// unequal spacing and σ are kept). Fails if the lengths disagree or there is no point.
    pub fn into_dataset(self) -> Result<Dataset, FormatError> {
        let n = self.y.len();
        if n == 0 || self.x.len() != n || self.sigma.as_ref().is_some_and(|s| s.len() != n) {
            return Err(FormatError::InvalidImage(format!(
                "{} x values, {} y values{}: lengths must agree and be non-zero",
                self.x.len(),
                n,
                self.sigma
                    .as_ref()
                    .map_or(String::new(), |s| format!(", {} sigma values", s.len()))
            )));
        }
        let mut notes = self.notes.clone();
        let mut original = match self.original_metadata.clone() {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                let mut map = Map::new();
                map.insert("header".into(), other);
                map
            }
        };
        original.insert("y_name".into(), Value::from(self.y_name.clone()));
        original.insert("y_unit".into(), Value::from(self.y_unit.clone()));
        let first = self.x[0];
        let scale = match self.uniform_step() {
            Some(step) => step,
            None if n == 1 => self
                .metadata
                .xray
                .as_ref()
                .and_then(|x| x.step_deg)
                .unwrap_or(1.0),
            None => {
                notes.push(format!(
                    "{} positions are not equally spaced: the axis holds the mean step, exact \
                     positions are in original_metadata.x_values",
                    self.x_name
                ));
                original.insert("x_values".into(), Value::from(self.x.clone()));
                (self.x[n - 1] - first) / (n - 1) as f64
            }
        };
        if let Some(sigma) = &self.sigma {
            original.insert("sigma".into(), Value::from(sigma.clone()));
        }
        let axis = Axis {
            name: self.x_name.clone(),
            size: n,
            scale,
            offset: first,
            units: (!self.x_unit.is_empty()).then(|| self.x_unit.clone()),
        };
        let info = DatasetInfo {
            data_type: crate::DataType::F64,
            shape: vec![n],
            axes: vec![axis],
            metadata: self.metadata,
            original_metadata: Value::Object(original),
            format: self.format,
            notes,
        };
        Dataset::from_parts(info, DataArray::F64(self.y))
    }
}

fn corrupt(format: &str, message: impl Into<String>) -> FormatError {
    FormatError::Corrupt {
        format: format.into(),
        message: message.into(),
    }
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

// ---------------------------------------------------------------------------------------------
// Two/three-column text
// ---------------------------------------------------------------------------------------------

/// Comment markers of XY exports: `#` (most), `;` (Bruker UXD style), `'` (some BASIC-era
/// software), `!` (Fortran programs such as FullProf).
const XY_COMMENT_MARKERS: [char; 4] = ['#', ';', '\'', '!'];

/// The numbers of a data line (`None` if any token is not a number). Columns are separated by
/// white space and commas — unless the line uses semicolons or tabs, in which case a comma can
/// only be a decimal comma (`600;10,5` is 600 and 10.5, as European spreadsheets write it).
fn xy_numbers(line: &str) -> Option<Vec<f64>> {
    let decimal_comma = line.contains([';', '\t']);
    let values: Option<Vec<f64>> = line
        .split(|c: char| c.is_whitespace() || c == ';' || (c == ',' && !decimal_comma))
        .filter(|t| !t.is_empty())
        .map(|t| {
            if decimal_comma {
                t.replace(',', ".").parse::<f64>().ok()
            } else {
                t.parse::<f64>().ok()
            }
        })
        .collect();
    values.filter(|v| v.len() >= 2)
}

/// Whether `bytes` look like a two/three-column numeric text file: no NUL bytes in the first
/// 4 KiB and a numeric line of 2–3 columns among the first 64 non-comment lines.
pub(crate) fn looks_like_xy(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    if head.contains(&0) {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(XY_COMMENT_MARKERS))
        .take(64)
        .any(|l| xy_numbers(l).is_some_and(|v| (2..=3).contains(&v.len())))
}

/// Splits a header line into fields: on tabs, commas or semicolons if it has any, else on
/// whitespace keeping `[unit]`/`(unit)` with the name before it.
fn header_fields(line: &str) -> Vec<String> {
    for separator in ['\t', ',', ';'] {
        if line.contains(separator) {
            return line
                .split(separator)
                .map(|f| f.trim().trim_matches('"').to_string())
                .filter(|f| !f.is_empty())
                .collect();
        }
    }
    let mut fields: Vec<String> = Vec::new();
    for token in line.split_whitespace() {
        match fields.last_mut() {
            Some(previous) if token.starts_with(['[', '(']) => {
                previous.push(' ');
                previous.push_str(token);
            }
            _ => fields.push(token.to_string()),
        }
    }
    fields
}

/// Reads two- or three-column text: x (2θ in degrees unless a header says otherwise),
/// intensity, optional σ. Comment lines (`#`, `;`, `'`, `!`) of the form `key: value` or
/// `key = value` are kept in the original metadata; the keys `sample`, `anode`,
/// `k_alpha1_angstrom`, `k_alpha2_angstrom`, `k_alpha2_ratio`, `step_deg`, `time_per_step_s`
/// (as [`write_xy`] writes them) are also normalised. Non-numeric lines before the data are
/// headers (the last one names the columns); after the data they are an error naming the line.
pub fn read_xy(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "XY text";
    let text = crate::spectrum::decode_text(bytes);
    let mut data = XyData::new_pattern(FORMAT);
    let mut header: Option<Vec<String>> = None;
    let mut comments = Map::new();
    let mut sigma: Vec<f64> = Vec::new();
    let mut columns = 0usize;
    let mut extra_columns_noted = false;
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(XY_COMMENT_MARKERS) {
            let pair = comment.split_once(':').or_else(|| comment.split_once('='));
            if let Some((key, value)) = pair {
                let key = key.trim();
                if !key.is_empty() && key.len() <= 200 {
                    comments.insert(key.to_string(), Value::from(value.trim()));
                }
            }
            continue;
        }
        match xy_numbers(line) {
            Some(values) => {
                if columns == 0 {
                    columns = values.len().min(3);
                    if values.len() > 3 && !extra_columns_noted {
                        extra_columns_noted = true;
                        data.notes.push(format!(
                            "{} columns; only the first three (x, y, σ) are read",
                            values.len()
                        ));
                    }
                } else if values.len() < columns {
                    return Err(FormatError::CsvRow {
                        line: line_number,
                        message: format!("expected {columns} numbers, found {}", values.len()),
                    });
                }
                data.x.push(values[0]);
                data.y.push(values[1]);
                if columns == 3 {
                    sigma.push(values[2]);
                }
            }
            None if data.x.is_empty() => header = Some(header_fields(line)),
            None => {
                return Err(FormatError::CsvRow {
                    line: line_number,
                    message: format!("`{}` is not a row of numbers", truncate_text(line, 60)),
                })
            }
        }
    }
    if data.x.is_empty() {
        return Err(FormatError::CsvNoData(
            "no line of two or three numbers (x, intensity, σ) was found".into(),
        ));
    }
    match header.filter(|h| h.len() >= 2) {
        Some(fields) => {
            let (x_name, x_unit) = crate::spectrum::split_name_unit(&fields[0]);
            let (y_name, y_unit) = crate::spectrum::split_name_unit(&fields[1]);
            data.x_name = x_name;
            data.x_unit = x_unit;
            data.y_name = y_name;
            data.y_unit = y_unit;
            if is_two_theta(&data.x_name) && data.x_unit.is_empty() {
                data.x_unit = "deg".into();
            }
        }
        None => {
            data.y_unit = String::new();
            data.notes
                .push("no column header: first column taken as 2θ in degrees".into());
        }
    }
    if columns == 3 {
        data.sigma = Some(sigma);
    }
    let text_of = |key: &str| {
        comments
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let number_of = |key: &str| text_of(key).and_then(|s| s.parse::<f64>().ok().and_then(finite));
    data.metadata.sample_name = text_of("sample");
    data.metadata.instrument_vendor = text_of("instrument_vendor");
    data.metadata.instrument_model = text_of("instrument_model");
    let xray = XrayScanMetadata {
        anode: text_of("anode"),
        k_alpha1_angstrom: number_of("k_alpha1_angstrom"),
        k_alpha2_angstrom: number_of("k_alpha2_angstrom"),
        k_beta_angstrom: number_of("k_beta_angstrom"),
        k_alpha2_ratio: number_of("k_alpha2_ratio"),
        scan_type: text_of("scan_type"),
        scan_axis: text_of("scan_axis"),
        step_deg: number_of("step_deg"),
        time_per_step_s: number_of("time_per_step_s"),
        tube_voltage_kv: number_of("tube_voltage_kv"),
        tube_current_ma: number_of("tube_current_ma"),
    };
    if xray != XrayScanMetadata::default() {
        data.metadata.xray = Some(xray);
    }
    data.original_metadata = Value::Object(comments);
    Ok(data)
}

fn is_two_theta(name: &str) -> bool {
    let lower = name.to_lowercase();
    ["2θ", "2theta", "2-theta", "two_theta", "twotheta", "2th"].contains(&lower.as_str())
}

fn truncate_text(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// Writes `data` as tab-separated text that [`read_xy`] reads back exactly: `# key: value`
/// comment lines for the sample and X-ray metadata, a `name [unit]` header, then `x`, `y`
/// (and `σ`) in Rust's shortest round-trip number form. Line breaks in text are replaced by
/// spaces. Rows beyond the shortest of `x`, `y` (and `sigma`) are not written.
pub fn write_xy(data: &XyData) -> Vec<u8> {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = String::new();
    let mut comment = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            out.push_str(&format!("# {key}: {}\n", one_line(&value).trim()));
        }
    };
    let m = &data.metadata;
    comment("sample", m.sample_name.clone());
    comment("instrument_vendor", m.instrument_vendor.clone());
    comment("instrument_model", m.instrument_model.clone());
    if let Some(x) = &m.xray {
        comment("anode", x.anode.clone());
        let number = |v: Option<f64>| v.map(|v| v.to_string());
        comment("k_alpha1_angstrom", number(x.k_alpha1_angstrom));
        comment("k_alpha2_angstrom", number(x.k_alpha2_angstrom));
        comment("k_beta_angstrom", number(x.k_beta_angstrom));
        comment("k_alpha2_ratio", number(x.k_alpha2_ratio));
        comment("scan_type", x.scan_type.clone());
        comment("scan_axis", x.scan_axis.clone());
        comment("step_deg", number(x.step_deg));
        comment("time_per_step_s", number(x.time_per_step_s));
        comment("tube_voltage_kv", number(x.tube_voltage_kv));
        comment("tube_current_ma", number(x.tube_current_ma));
    }
    let field = |name: &str, unit: &str| {
        let name = one_line(name).replace('\t', " ");
        let name = if name.trim().is_empty() {
            "value".to_string()
        } else {
            name
        };
        if unit.is_empty() {
            name
        } else {
            format!("{name} [{}]", one_line(unit).replace('\t', " "))
        }
    };
    out.push_str(&field(&data.x_name, &data.x_unit));
    out.push('\t');
    out.push_str(&field(&data.y_name, &data.y_unit));
    if data.sigma.is_some() {
        out.push('\t');
        out.push_str(&field("sigma", &data.y_unit));
    }
    out.push('\n');
    for (i, (x, y)) in data.x.iter().zip(&data.y).enumerate() {
        let sigma = match &data.sigma {
            Some(s) => match s.get(i) {
                Some(v) => format!("\t{v}"),
                None => break,
            },
            None => String::new(),
        };
        out.push_str(&format!("{x}\t{y}{sigma}\n"));
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// XML helpers (XRDML, BRML)
// ---------------------------------------------------------------------------------------------

fn parse_xml<'a>(text: &'a str, format: &str) -> Result<roxmltree::Document<'a>, FormatError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 4_000_000,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| corrupt(format, format!("XML: {e}")))
}

fn xml_text(bytes: &[u8], format: &str) -> Result<String, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes)
        .map(str::to_string)
        .map_err(|e| corrupt(format, format!("XML is not UTF-8: {e}")))
}

/// The first descendant element of `node` called `name` (namespace ignored).
fn find<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// Direct children elements of `node` called `name`.
fn children<'a, 'i: 'a>(
    node: roxmltree::Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn node_text(node: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
    node.and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn node_number(node: Option<roxmltree::Node<'_, '_>>) -> Option<f64> {
    node_text(node).and_then(|t| t.parse::<f64>().ok().and_then(finite))
}

fn parse_number_list(text: &str, format: &str, what: &str) -> Result<Vec<f64>, FormatError> {
    text.split_whitespace()
        .map(|t| {
            t.parse::<f64>().map_err(|_| {
                corrupt(
                    format,
                    format!("{what}: `{}` is not a number", truncate_text(t, 40)),
                )
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// PANalytical XRDML
// ---------------------------------------------------------------------------------------------

/// Whether `bytes` start (after a byte-order mark and white space) like an XRDML document.
pub(crate) fn looks_like_xrdml(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<') && head.contains("xrdMeasurements")
}

/// Reads the first scan of a PANalytical XRDML file (schema versions 1.0–2.x): 2θ positions
/// from `startPosition`/`endPosition` (equally spaced) or `listPositions`, intensities from
/// `counts` or `intensities`, counting time from `commonCountingTime` (or `countingTimes`),
/// wavelengths from `usedWavelength` and the anode from `anodeMaterial`. Other scans are
/// reported in `notes`. `beamAttenuationFactors` are not applied (noted when present).
pub fn read_xrdml(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "XRDML";
    let text = xml_text(bytes, FORMAT)?;
    let document = parse_xml(&text, FORMAT)?;
    let root = document.root_element();
    if root.tag_name().name() != "xrdMeasurements" {
        return Err(FormatError::UnrecognisedFormat(format!(
            "XML root element <{}> is not <xrdMeasurements>",
            root.tag_name().name()
        )));
    }
    let mut data = XyData::new_pattern(FORMAT);
    data.metadata.instrument_vendor = Some("PANalytical".into());
    data.metadata.technique = Some("XRD".into());
    let mut original = Map::new();
    if let Some(namespace) = root.tag_name().namespace() {
        original.insert("namespace".into(), Value::from(namespace));
    }
    let sample = find(root, "sample");
    data.metadata.sample_name =
        sample.and_then(|s| node_text(find(s, "name")).or_else(|| node_text(find(s, "id"))));
    let measurement = find(root, "xrdMeasurement")
        .ok_or_else(|| corrupt(FORMAT, "no <xrdMeasurement> element"))?;
    let mut xray = XrayScanMetadata::default();
    if let Some(wavelength) = find(measurement, "usedWavelength") {
        xray.k_alpha1_angstrom = node_number(find(wavelength, "kAlpha1"));
        xray.k_alpha2_angstrom = node_number(find(wavelength, "kAlpha2"));
        xray.k_beta_angstrom = node_number(find(wavelength, "kBeta"));
        xray.k_alpha2_ratio = node_number(find(wavelength, "ratioKAlpha2KAlpha1"));
        if let Some(intended) = wavelength.attribute("intended") {
            original.insert("intended_wavelength".into(), Value::from(intended));
        }
    }
    xray.anode = node_text(find(measurement, "anodeMaterial"));
    if let Some(tension) = find(measurement, "tension") {
        xray.tube_voltage_kv = node_number(Some(tension));
    }
    if let Some(current) = find(measurement, "current") {
        xray.tube_current_ma = node_number(Some(current));
    }
    if let Some(tube) = find(measurement, "xRayTube") {
        data.metadata.instrument_model = tube.attribute("name").map(str::to_string);
    }
    if let Some(kind) = measurement.attribute("measurementType") {
        original.insert("measurementType".into(), Value::from(kind));
    }
    let scans: Vec<_> = children(measurement, "scan").collect();
    let scan = *scans
        .first()
        .ok_or_else(|| corrupt(FORMAT, "no <scan> element"))?;
    if scans.len() > 1 {
        data.notes.push(format!(
            "{} scans in the file; the first is read",
            scans.len()
        ));
    }
    xray.scan_type = scan.attribute("mode").map(str::to_string);
    xray.scan_axis = scan.attribute("scanAxis").map(str::to_string);
    data.metadata.acquisition_time = scan
        .descendants()
        .find(|n| n.tag_name().name() == "startTimeStamp")
        .and_then(|n| node_text(Some(n)));
    let points =
        find(scan, "dataPoints").ok_or_else(|| corrupt(FORMAT, "scan without <dataPoints>"))?;
    let intensities_node = children(points, "intensities")
        .next()
        .or_else(|| children(points, "counts").next())
        .ok_or_else(|| corrupt(FORMAT, "<dataPoints> without <intensities> or <counts>"))?;
    data.y = parse_number_list(intensities_node.text().unwrap_or(""), FORMAT, "intensities")?;
    if let Some(unit) = intensities_node.attribute("unit") {
        data.y_unit = unit.to_string();
    }
    let n = data.y.len();
    if n == 0 {
        return Err(corrupt(FORMAT, "the scan has no intensities"));
    }
    let positions = children(points, "positions")
        .find(|p| {
            p.attribute("axis")
                .is_some_and(|a| a.eq_ignore_ascii_case("2Theta"))
        })
        .or_else(|| children(points, "positions").next())
        .ok_or_else(|| corrupt(FORMAT, "<dataPoints> without <positions>"))?;
    let axis_name = positions.attribute("axis").unwrap_or("2Theta");
    if !axis_name.eq_ignore_ascii_case("2Theta") {
        data.x_name = axis_name.to_string();
        data.notes.push(format!(
            "no 2Theta positions; the {axis_name} axis is used as x"
        ));
    }
    data.x_unit = positions.attribute("unit").unwrap_or("deg").to_string();
    if let Some(list) = children(positions, "listPositions").next() {
        data.x = parse_number_list(list.text().unwrap_or(""), FORMAT, "listPositions")?;
        if data.x.len() != n {
            return Err(corrupt(
                FORMAT,
                format!("{} listPositions for {n} intensities", data.x.len()),
            ));
        }
    } else {
        let start = node_number(children(positions, "startPosition").next());
        let end = node_number(children(positions, "endPosition").next());
        let (Some(start), Some(end)) = (start, end) else {
            return Err(corrupt(
                FORMAT,
                "positions have neither listPositions nor numeric startPosition/endPosition",
            ));
        };
        if n == 1 {
            data.x = vec![start];
        } else {
            let step = (end - start) / (n - 1) as f64;
            data.x = (0..n).map(|i| start + i as f64 * step).collect();
            xray.step_deg = Some(step);
        }
    }
    if let Some(time) = node_number(children(points, "commonCountingTime").next()) {
        xray.time_per_step_s = Some(time);
    } else if let Some(times) = children(points, "countingTimes").next() {
        let times = parse_number_list(times.text().unwrap_or(""), FORMAT, "countingTimes")?;
        if let Some(&first) = times.first() {
            xray.time_per_step_s = Some(first);
            if times.iter().any(|&t| t != first) {
                data.notes
                    .push("counting times vary; time_per_step_s is the first".into());
            }
        }
    }
    if children(points, "beamAttenuationFactors").next().is_some() {
        data.notes.push(
            "beamAttenuationFactors present but not applied: intensities are as stored".into(),
        );
    }
    data.metadata.xray = Some(xray);
    data.original_metadata = Value::Object(original);
    Ok(data)
}

// ---------------------------------------------------------------------------------------------
// Bruker RAW
// ---------------------------------------------------------------------------------------------

/// A little-endian cursor that fails (never panics) past the end.
struct Cursor<'a> {
    bytes: &'a [u8],
    format: &'static str,
}

impl<'a> Cursor<'a> {
    fn slice(&self, offset: usize, len: usize) -> Result<&'a [u8], FormatError> {
        offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or_else(|| {
                corrupt(
                    self.format,
                    format!(
                        "needs bytes {offset}..{} but the file has {}",
                        offset.saturating_add(len),
                        self.bytes.len()
                    ),
                )
            })
    }

    fn u32(&self, offset: usize) -> Result<u32, FormatError> {
        let b = self.slice(offset, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&self, offset: usize) -> Result<f32, FormatError> {
        self.u32(offset).map(f32::from_bits)
    }

    fn f64(&self, offset: usize) -> Result<f64, FormatError> {
        let b = self.slice(offset, 8)?;
        let mut buffer = [0u8; 8];
        buffer.copy_from_slice(b);
        Ok(f64::from_le_bytes(buffer))
    }

    fn text(&self, offset: usize, len: usize) -> Result<String, FormatError> {
        let b = self.slice(offset, len)?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Ok(b[..end]
            .iter()
            .map(|&c| char::from(c))
            .collect::<String>()
            .trim()
            .to_string())
    }

    /// `count` little-endian f32 values at `offset`, checked against the file size first.
    fn f32_array(&self, offset: usize, count: usize) -> Result<Vec<f64>, FormatError> {
        let len = count
            .checked_mul(4)
            .ok_or_else(|| corrupt(self.format, format!("{count} steps overflow")))?;
        let b = self.slice(offset, len).map_err(|_| {
            corrupt(
                self.format,
                format!(
                    "range of {count} steps at byte {offset} runs past the end of the {}-byte file",
                    self.bytes.len()
                ),
            )
        })?;
        Ok(b.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect())
    }
}

/// Reads a Bruker DIFFRAC `.raw` file, version 3 (`RAW1.01`) or 4 (`RAW4.00`). All ranges are
/// read; their points are concatenated in file order (each range's 2θ = start + i · step), and
/// a note says how many ranges there were. Versions 1 (`RAW `) and 2 (`RAW2`) are refused with
/// [`FormatError::Unsupported`].
pub fn read_bruker_raw(bytes: &[u8]) -> Result<XyData, FormatError> {
    if bytes.starts_with(b"RAW1.01") {
        read_raw_v3(bytes)
    } else if bytes.starts_with(b"RAW4.00") {
        read_raw_v4(bytes)
    } else if bytes.starts_with(b"RAW ") || bytes.starts_with(b"RAW2") {
        Err(FormatError::Unsupported {
            format: "Bruker RAW".into(),
            message: format!(
                "RAW version {} (DIFFRAC-AT); only v3 (RAW1.01) and v4 (RAW4.00) are read — \
                 convert with DIFFRAC.SUITE File Exchange",
                if bytes[3] == b' ' { 1 } else { 2 }
            ),
        })
    } else {
        Err(FormatError::UnrecognisedFormat(
            "not a Bruker RAW file (no RAW1.01 / RAW4.00 magic)".into(),
        ))
    }
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn positive(value: f64) -> Option<f64> {
    (value.is_finite() && value > 0.0).then_some(value)
}

/// Appends one range's points, checking the step and start.
fn push_range(
    data: &mut XyData,
    format: &str,
    start: f64,
    step: f64,
    counts: Vec<f64>,
) -> Result<(), FormatError> {
    if !start.is_finite() || !step.is_finite() {
        return Err(corrupt(
            format,
            format!("range start {start} / step {step} is not a number"),
        ));
    }
    data.x
        .extend((0..counts.len()).map(|i| start + i as f64 * step));
    data.y.extend(counts);
    Ok(())
}

fn read_raw_v3(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "Bruker RAW v3";
    const FILE_HEADER: usize = 712;
    let c = Cursor {
        bytes,
        format: FORMAT,
    };
    let mut data = XyData::new_pattern(FORMAT);
    data.metadata.instrument_vendor = Some("Bruker".into());
    data.metadata.technique = Some("XRD".into());
    let status = c.u32(8)?;
    let range_count = c.u32(12)? as usize;
    let mut original = Map::new();
    original.insert("file_status".into(), Value::from(status));
    original.insert("range_count".into(), Value::from(range_count));
    let date = c.text(16, 10)?;
    let time = c.text(26, 10)?;
    data.metadata.acquisition_time = nonempty(format!("{date} {time}").trim().to_string());
    data.metadata.operator = nonempty(c.text(36, 72)?);
    original.insert("site".into(), Value::from(c.text(108, 218)?));
    data.metadata.sample_name = nonempty(c.text(326, 60)?);
    original.insert("comment".into(), Value::from(c.text(386, 160)?));
    let mut xray = XrayScanMetadata {
        anode: nonempty(c.text(608, 4)?),
        k_alpha1_angstrom: positive(c.f64(624)?),
        k_alpha2_angstrom: positive(c.f64(632)?),
        k_beta_angstrom: positive(c.f64(640)?),
        k_alpha2_ratio: positive(c.f64(648)?),
        ..XrayScanMetadata::default()
    };
    original.insert(
        "alpha_average_angstrom".into(),
        Value::from(finite(c.f64(616)?)),
    );
    if range_count == 0 {
        return Err(corrupt(FORMAT, "the file header declares no ranges"));
    }
    let mut offset = FILE_HEADER;
    let mut ranges = Vec::new();
    for range in 0..range_count {
        let header_length = c.u32(offset)? as usize;
        if header_length < 304 {
            return Err(corrupt(
                FORMAT,
                format!("range {range} header length {header_length} (expected 304)"),
            ));
        }
        let steps = c.u32(offset + 4)? as usize;
        let start_two_theta = c.f64(offset + 16)?;
        let step = c.f64(offset + 176)?;
        let time_per_step = f64::from(c.f32(offset + 192)?);
        let voltage = f64::from(c.u32(offset + 224)?);
        let current = f64::from(c.u32(offset + 228)?);
        let supplementary = c.u32(offset + 256)? as usize;
        let data_offset = offset
            .checked_add(header_length)
            .and_then(|o| o.checked_add(supplementary))
            .ok_or_else(|| corrupt(FORMAT, "range header sizes overflow"))?;
        let counts = c.f32_array(data_offset, steps)?;
        if range == 0 {
            xray.step_deg = finite(step);
            xray.time_per_step_s = positive(time_per_step);
            xray.tube_voltage_kv = positive(voltage);
            xray.tube_current_ma = positive(current);
        }
        ranges.push(serde_json::json!({
            "steps": steps,
            "start_2theta": finite(start_two_theta),
            "step": finite(step),
            "time_per_step": finite(time_per_step),
            "used_lambda": finite(c.f64(offset + 240)?),
        }));
        push_range(&mut data, FORMAT, start_two_theta, step, counts)?;
        offset = data_offset + steps * 4;
    }
    finish_ranges(data, FORMAT, ranges, original, xray)
}

fn finish_ranges(
    mut data: XyData,
    format: &str,
    ranges: Vec<Value>,
    mut original: Map<String, Value>,
    xray: XrayScanMetadata,
) -> Result<XyData, FormatError> {
    if data.y.is_empty() {
        return Err(corrupt(format, "no data points in any range"));
    }
    if ranges.len() > 1 {
        data.notes.push(format!(
            "{} ranges concatenated in file order",
            ranges.len()
        ));
    }
    original.insert("ranges".into(), Value::Array(ranges));
    data.metadata.xray = Some(xray);
    data.original_metadata = Value::Object(original);
    Ok(data)
}

fn read_raw_v4(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "Bruker RAW v4";
    const FIRST_SEGMENT: usize = 61;
    const RANGE_HEADER: usize = 160;
    let c = Cursor {
        bytes,
        format: FORMAT,
    };
    let mut data = XyData::new_pattern(FORMAT);
    data.metadata.instrument_vendor = Some("Bruker".into());
    data.metadata.technique = Some("XRD".into());
    let mut original = Map::new();
    let date = c.text(12, 12)?;
    let time = c.text(24, 10)?;
    data.metadata.acquisition_time = nonempty(format!("{date} {time}").trim().to_string());
    let mut xray = XrayScanMetadata::default();
    let mut offset = FIRST_SEGMENT;
    // Global metadata segments until a range (type 0 or 160) starts.
    let mut variables = Map::new();
    loop {
        let kind = c.u32(offset)?;
        if kind == 0 || kind == 160 {
            break;
        }
        let length = c.u32(offset + 4)? as usize;
        if length < 8 {
            return Err(corrupt(
                FORMAT,
                format!("segment of type {kind} at byte {offset} claims length {length}"),
            ));
        }
        c.slice(offset, length)?;
        match kind {
            10 if length >= 36 => {
                let name = c.text(offset + 12, 24)?;
                let value = c.text(offset + 36, length - 36)?;
                if name.eq_ignore_ascii_case("SAMPLEID") || name.eq_ignore_ascii_case("SAMPLENAME")
                {
                    data.metadata.sample_name = nonempty(value.clone());
                }
                if name.eq_ignore_ascii_case("USER") {
                    data.metadata.operator = nonempty(value.clone());
                }
                variables.insert(name, Value::from(value));
            }
            30 if length >= 120 => {
                xray.k_alpha1_angstrom = positive(c.f64(offset + 80)?);
                xray.k_alpha2_angstrom = positive(c.f64(offset + 88)?);
                xray.k_beta_angstrom = positive(c.f64(offset + 96)?);
                xray.k_alpha2_ratio = positive(c.f64(offset + 104)?);
                xray.anode = nonempty(c.text(offset + 116, 4)?);
            }
            _ => {}
        }
        offset += length;
    }
    original.insert("variables".into(), Value::Object(variables));
    let mut ranges = Vec::new();
    while offset < bytes.len() {
        let kind = c.u32(offset)?;
        if kind != 0 && kind != 160 {
            return Err(corrupt(
                FORMAT,
                format!("expected a range header at byte {offset}, found segment type {kind}"),
            ));
        }
        let scan_type = c.text(offset + 32, 24)?;
        let start = c.f64(offset + 72)?;
        let step = c.f64(offset + 80)?;
        let steps = c.u32(offset + 88)? as usize;
        let time_per_step = f64::from(c.f32(offset + 92)?);
        let voltage = f64::from(c.f32(offset + 100)?);
        let current = f64::from(c.f32(offset + 104)?);
        let datum_size = c.u32(offset + 136)? as usize;
        let extra_header = c.u32(offset + 140)? as usize;
        if datum_size != 4 {
            return Err(FormatError::Unsupported {
                format: FORMAT.into(),
                message: format!("range data of {datum_size}-byte values (only 4-byte f32)"),
            });
        }
        let data_offset = offset
            .checked_add(RANGE_HEADER)
            .and_then(|o| o.checked_add(extra_header))
            .ok_or_else(|| corrupt(FORMAT, "range header sizes overflow"))?;
        let counts = c.f32_array(data_offset, steps)?;
        if ranges.is_empty() {
            xray.scan_type = nonempty(scan_type.clone());
            xray.step_deg = finite(step);
            xray.time_per_step_s = positive(time_per_step);
            xray.tube_voltage_kv = positive(voltage);
            xray.tube_current_ma = positive(current);
        }
        ranges.push(serde_json::json!({
            "scan_type": scan_type,
            "steps": steps,
            "start": finite(start),
            "step": finite(step),
            "time_per_step": finite(time_per_step),
            "used_lambda": finite(c.f64(offset + 112)?),
        }));
        push_range(&mut data, FORMAT, start, step, counts)?;
        offset = data_offset + steps * 4;
    }
    finish_ranges(data, FORMAT, ranges, original, xray)
}

// ---------------------------------------------------------------------------------------------
// Bruker BRML
// ---------------------------------------------------------------------------------------------

/// The most a `.brml` member may inflate to: 256 × the archive size (XML compresses ~10–30×)
/// and never more than 512 MiB — a bound against ZIP bombs.
fn inflate_limit(archive_size: usize) -> u64 {
    (archive_size as u64)
        .saturating_mul(256)
        .clamp(1 << 20, 512 << 20)
}

/// Reads a Bruker DIFFRAC.SUITE `.brml` archive: the first `RawData*.xml` of `Experiment0`
/// (a ZIP member; stored or deflate). Each `<Datum>` row is
/// `time, enabled, <one value per scan axis>, counts…`; x is the column of the `TwoTheta`
/// scan axis (else the first axis), y the last column. Wavelengths come from
/// `WaveLengthAlpha1/2`, `WaveLengthBeta`, `WaveLengthRatio`, the anode from `TubeMaterial`.
pub fn read_brml(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "Bruker BRML";
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| corrupt(FORMAT, format!("ZIP: {e}")))?;
    let mut names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .filter(|n| {
            let lower = n.to_ascii_lowercase();
            lower.contains("rawdata") && lower.ends_with(".xml")
        })
        .collect();
    names.sort();
    let preferred = names
        .iter()
        .find(|n| n.eq_ignore_ascii_case("Experiment0/RawData0.xml"))
        .or_else(|| names.first())
        .cloned()
        .ok_or_else(|| corrupt(FORMAT, "no Experiment0/RawData0.xml in the archive"))?;
    let limit = inflate_limit(bytes.len());
    let mut xml = Vec::new();
    {
        let member = archive
            .by_name(&preferred)
            .map_err(|e| corrupt(FORMAT, format!("{preferred}: {e}")))?;
        member
            .take(limit + 1)
            .read_to_end(&mut xml)
            .map_err(|e| corrupt(FORMAT, format!("{preferred}: {e}")))?;
    }
    if xml.len() as u64 > limit {
        return Err(corrupt(
            FORMAT,
            format!("{preferred} inflates beyond {limit} bytes"),
        ));
    }
    let text = xml_text(&xml, FORMAT)?;
    let document = parse_xml(&text, FORMAT)?;
    let root = document.root_element();
    let mut data = XyData::new_pattern(FORMAT);
    data.metadata.instrument_vendor = Some("Bruker".into());
    data.metadata.technique = Some("XRD".into());
    let mut original = Map::new();
    original.insert("member".into(), Value::from(preferred.clone()));
    if names.len() > 1 {
        data.notes.push(format!(
            "{} RawData members; {preferred} is read",
            names.len()
        ));
    }
    let value_attr = |name: &str| {
        find(root, name).and_then(|n| {
            n.attribute("Value")
                .map(str::to_string)
                .or_else(|| node_text(Some(n)))
        })
    };
    let number_attr =
        |name: &str| value_attr(name).and_then(|v| v.parse::<f64>().ok().and_then(finite));
    let mut xray = XrayScanMetadata {
        anode: value_attr("TubeMaterial"),
        k_alpha1_angstrom: number_attr("WaveLengthAlpha1"),
        k_alpha2_angstrom: number_attr("WaveLengthAlpha2"),
        k_beta_angstrom: number_attr("WaveLengthBeta"),
        k_alpha2_ratio: number_attr("WaveLengthRatio"),
        ..XrayScanMetadata::default()
    };
    data.metadata.sample_name = value_attr("SampleName").or_else(|| value_attr("SampleID"));
    data.metadata.instrument_model = value_attr("InstrumentName")
        .or_else(|| find(root, "Instrument").and_then(|n| n.attribute("Name").map(str::to_string)));
    let scan_information = find(root, "ScanInformation");
    if let Some(info) = scan_information {
        xray.scan_type = node_text(find(info, "ScanMode"));
        xray.time_per_step_s = node_number(find(info, "TimePerStep"));
        if let Some(name) = info.attribute("ScanName") {
            original.insert("scan_name".into(), Value::from(name));
        }
    }
    // Scan axes in Datum column order.
    let axes: Vec<roxmltree::Node<'_, '_>> = scan_information
        .and_then(|info| find(info, "ScanAxes"))
        .map(|a| children(a, "ScanAxisInfo").collect())
        .unwrap_or_default();
    let axis_ids: Vec<String> = axes
        .iter()
        .map(|a| {
            a.attribute("AxisId")
                .or(a.attribute("AxisName"))
                .unwrap_or("")
                .to_string()
        })
        .collect();
    original.insert("scan_axes".into(), Value::from(axis_ids.clone()));
    let two_theta_axis = axis_ids
        .iter()
        .position(|id| id.eq_ignore_ascii_case("TwoTheta") || id.eq_ignore_ascii_case("2Theta"));
    let x_axis = two_theta_axis.unwrap_or(0);
    if let Some(axis) = axes.get(x_axis) {
        xray.step_deg = node_number(find(*axis, "Increment"));
        xray.scan_axis = axis.attribute("AxisName").map(str::to_string);
        if two_theta_axis.is_none() {
            data.x_name = axis_ids[x_axis].clone();
            data.notes.push(format!(
                "no TwoTheta scan axis; {} is used as x",
                data.x_name
            ));
        }
    }
    let x_column = 2 + x_axis;
    for (row, datum) in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Datum")
        .enumerate()
    {
        let text = datum.text().unwrap_or("");
        let values: Vec<f64> = text
            .split(',')
            .map(|t| t.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                corrupt(
                    FORMAT,
                    format!(
                        "Datum {row}: `{}` is not a list of numbers",
                        truncate_text(text, 60)
                    ),
                )
            })?;
        if values.len() <= x_column {
            return Err(corrupt(
                FORMAT,
                format!(
                    "Datum {row} has {} values; the x column is {}",
                    values.len(),
                    x_column + 1
                ),
            ));
        }
        data.x.push(values[x_column]);
        data.y.push(values[values.len() - 1]);
    }
    if data.y.is_empty() {
        return Err(corrupt(FORMAT, "no <Datum> rows"));
    }
    data.metadata.xray = Some(xray);
    data.original_metadata = Value::Object(original);
    Ok(data)
}

// ---------------------------------------------------------------------------------------------
// Rigaku RAS
// ---------------------------------------------------------------------------------------------

/// Whether `bytes` start like a Rigaku RAS file.
pub(crate) fn looks_like_ras(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    head.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with("*RAS_")
}

/// Reads the first measurement of a Rigaku `.ras` file (SmartLab Guidance / PDXL export):
/// `*KEY "value"` header lines between `*RAS_HEADER_START` and `*RAS_HEADER_END`, then
/// `angle intensity attenuation` rows between `*RAS_INT_START` and `*RAS_INT_END`. The
/// intensity reported is counts × attenuation factor (the third column corrects for the
/// attenuator in the beam; a missing third column counts as 1). Time per step for continuous
/// scans is step / speed (`*MEAS_SCAN_SPEED` in °/min).
pub fn read_ras(bytes: &[u8]) -> Result<XyData, FormatError> {
    const FORMAT: &str = "Rigaku RAS";
    let text = crate::spectrum::decode_text(bytes);
    if !looks_like_ras(bytes) {
        return Err(FormatError::UnrecognisedFormat(
            "not a Rigaku RAS file (does not start with *RAS_)".into(),
        ));
    }
    let mut data = XyData::new_pattern(FORMAT);
    data.metadata.instrument_vendor = Some("Rigaku".into());
    data.metadata.technique = Some("XRD".into());
    let mut header = Map::new();
    let mut in_data = false;
    let mut blocks = 0usize;
    let mut done = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(tag) = line.strip_prefix('*') {
            let (key, value) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
            match key {
                "RAS_DATA_START" => blocks += 1,
                "RAS_INT_START" if !done => in_data = true,
                "RAS_INT_END" if in_data => {
                    in_data = false;
                    done = true;
                }
                _ if !done && key.len() <= 200 => {
                    header.insert(key.to_string(), Value::from(value.trim().trim_matches('"')));
                }
                _ => {}
            }
            continue;
        }
        if !in_data {
            continue;
        }
        let values: Vec<f64> = line
            .split_whitespace()
            .map(str::parse::<f64>)
            .collect::<Result<_, _>>()
            .map_err(|_| FormatError::CsvRow {
                line: index + 1,
                message: format!("`{}` is not a row of numbers", truncate_text(line, 60)),
            })?;
        if values.len() < 2 {
            return Err(FormatError::CsvRow {
                line: index + 1,
                message: "expected angle, intensity and attenuation".into(),
            });
        }
        data.x.push(values[0]);
        data.y
            .push(values[1] * values.get(2).copied().unwrap_or(1.0));
    }
    if !done {
        return Err(corrupt(
            FORMAT,
            "no complete *RAS_INT_START … *RAS_INT_END block",
        ));
    }
    if data.y.is_empty() {
        return Err(corrupt(FORMAT, "the intensity block is empty"));
    }
    if blocks > 1 {
        data.notes.push(format!(
            "{blocks} measurements in the file; the first is read"
        ));
    }
    let text_of = |key: &str| {
        header
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    let number_of = |key: &str| text_of(key).and_then(|s| s.parse::<f64>().ok().and_then(finite));
    let step = number_of("MEAS_SCAN_STEP");
    let speed = number_of("MEAS_SCAN_SPEED").filter(|s| *s > 0.0);
    let mode = text_of("MEAS_SCAN_MODE");
    let time_per_step = match (&mode, step, speed) {
        (Some(m), Some(step), Some(speed)) if m.eq_ignore_ascii_case("CONTINUOUS") => {
            Some(step.abs() / speed * 60.0)
        }
        // Step scans give the counting time per step in the speed field.
        (Some(m), _, Some(time)) if m.eq_ignore_ascii_case("STEP") => Some(time),
        _ => None,
    };
    data.metadata.sample_name = text_of("FILE_SAMPLE");
    data.metadata.operator = text_of("FILE_OPERATOR");
    data.metadata.instrument_model = text_of("HW_GONIOMETER_NAME");
    data.metadata.acquisition_time = text_of("MEAS_SCAN_START_TIME");
    if let Some(unit) = text_of("MEAS_SCAN_UNIT_X") {
        data.x_unit = unit;
    }
    if let Some(unit) = text_of("MEAS_SCAN_UNIT_Y") {
        data.y_unit = unit;
    }
    data.metadata.xray = Some(XrayScanMetadata {
        anode: text_of("HW_XG_TARGET_NAME"),
        k_alpha1_angstrom: number_of("HW_XG_WAVE_LENGTH_ALPHA1"),
        k_alpha2_angstrom: number_of("HW_XG_WAVE_LENGTH_ALPHA2"),
        k_beta_angstrom: number_of("HW_XG_WAVE_LENGTH_BETA"),
        k_alpha2_ratio: None,
        scan_type: mode,
        scan_axis: text_of("MEAS_SCAN_AXIS_X"),
        step_deg: step,
        time_per_step_s: time_per_step,
        tube_voltage_kv: number_of("HW_XG_VOLTAGE"),
        tube_current_ma: number_of("HW_XG_CURRENT"),
    });
    data.original_metadata = Value::Object(header);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_steps_are_recognised_within_f32_rounding() {
        let mut data = XyData::new_pattern("test");
        data.x = (0..100)
            .map(|i| f64::from(10.0f32 + i as f32 * 0.02))
            .collect();
        data.y = vec![1.0; 100];
        let step = data.uniform_step().unwrap();
        assert!((step - 0.02).abs() < 1e-6);
        data.x[50] += 0.01;
        assert!(data.uniform_step().is_none());
        let dataset = data.into_dataset().unwrap();
        assert_eq!(
            dataset.original_metadata["x_values"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert!(dataset.notes[0].contains("not equally spaced"));
    }

    #[test]
    fn decimal_commas_are_read_only_beside_semicolons_or_tabs() {
        assert_eq!(xy_numbers("600;10,5"), Some(vec![600.0, 10.5]));
        assert_eq!(xy_numbers("600\t10,5\t0,25"), Some(vec![600.0, 10.5, 0.25]));
        assert_eq!(xy_numbers("600,10.5"), Some(vec![600.0, 10.5]));
        assert_eq!(xy_numbers("1.5e3 2"), Some(vec![1500.0, 2.0]));
        assert_eq!(xy_numbers("600 abc"), None);
    }

    #[test]
    fn header_fields_keep_units() {
        assert_eq!(
            header_fields("2theta [deg]  intensity (counts)"),
            vec!["2theta [deg]", "intensity (counts)"]
        );
        assert_eq!(header_fields("a\tb c"), vec!["a", "b c"]);
    }

    #[test]
    fn raw_v1_and_v2_are_refused_as_unsupported() {
        for magic in [&b"RAW \x01\x00\x00\x00"[..], b"RAW2\x01\x00"] {
            assert!(matches!(
                read_bruker_raw(magic),
                Err(FormatError::Unsupported { .. })
            ));
        }
    }
}
