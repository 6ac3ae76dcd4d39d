//! JCAMP-DX spectra (IUPAC; R. S. McDonald & P. A. Wilks, *Appl. Spectrosc.* 42, 151 (1988)):
//! labelled data records `##LABEL=value`, one spectrum per block.
//!
//! Read: `##XYDATA=(X++(Y..Y))` in AFFN (free numbers) and the ASDF compressions SQZ (`@A-I`,
//! `a-i`), DIF (`%J-R`, `j-r`) and DUP (`S-Z`, `s`) including the DIF Y-check value that
//! repeats at the start of the next line; `##XYPOINTS=(XY..XY)` and `##PEAK TABLE=(XY..XY)` /
//! `(XYW..XYW)`. Abscissae of `XYDATA` are `FIRSTX + i · (LASTX − FIRSTX)/(NPOINTS − 1)`;
//! ordinates are multiplied by `YFACTOR` (abscissae of point tables by `XFACTOR`). Labels are
//! compared as the standard says: case, spaces, `-`, `/` and `_` ignored. `$$` starts a comment.
//! Only the first data block is read (a note says so when there are more, e.g. in LINK files).
//! NTUPLES (2-D NMR, MS series) is refused with [`FormatError::Unsupported`].
//!
//! Written ([`write_jcamp`]): JCAMP-DX 4.24 with `##XYDATA=(X++(Y..Y))` in AFFN when the
//! abscissae are equally spaced, `##XYPOINTS=(XY..XY)` otherwise.

use crate::dataset::NormalisedMetadata;
use crate::xrd::XyData;
use crate::FormatError;
use serde_json::{Map, Value};

const FORMAT: &str = "JCAMP-DX";

fn corrupt(message: impl Into<String>) -> FormatError {
    FormatError::Corrupt {
        format: FORMAT.into(),
        message: message.into(),
    }
}

/// `##TITLE` → `TITLE`: upper case without spaces, `-`, `/`, `_` (JCAMP label equivalence).
fn normalise_label(label: &str) -> String {
    label
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '/' | '_' | '\t'))
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `bytes` start like a JCAMP-DX file (`##TITLE=` or `##JCAMP` as the first record).
pub(crate) fn looks_like_jcamp(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with("##") && {
        let label = normalise_label(head[2..].split('=').next().unwrap_or(""));
        label == "TITLE" || label.starts_with("JCAMP")
    }
}

/// One labelled data record.
struct Record {
    label: String,
    raw_label: String,
    value: String,
    /// 1-based line of the `##` line.
    line: usize,
}

fn records(text: &str) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        // `$$` comments run to the end of the line.
        let line = raw.split("$$").next().unwrap_or("").trim_end();
        if let Some(rest) = line.trim_start().strip_prefix("##") {
            let (label, value) = rest.split_once('=').unwrap_or((rest, ""));
            out.push(Record {
                label: normalise_label(label),
                raw_label: label.trim().to_string(),
                value: value.trim().to_string(),
                line: index + 1,
            });
        } else if let Some(last) = out.last_mut() {
            last.value.push('\n');
            last.value.push_str(line);
        }
    }
    out
}

/// An ASDF token: an absolute value, a difference, a repeat count, or a missing value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Absolute(f64),
    Difference(f64),
    Duplicate(u64),
    Missing,
}

fn sqz_digit(c: char) -> Option<(i32, u32)> {
    match c {
        '@' => Some((1, 0)),
        'A'..='I' => Some((1, c as u32 - 'A' as u32 + 1)),
        'a'..='i' => Some((-1, c as u32 - 'a' as u32 + 1)),
        _ => None,
    }
}

fn dif_digit(c: char) -> Option<(i32, u32)> {
    match c {
        '%' => Some((1, 0)),
        'J'..='R' => Some((1, c as u32 - 'J' as u32 + 1)),
        'j'..='r' => Some((-1, c as u32 - 'j' as u32 + 1)),
        _ => None,
    }
}

fn dup_digit(c: char) -> Option<u32> {
    match c {
        'S'..='Z' => Some(c as u32 - 'S' as u32 + 1),
        's' => Some(9),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Affn,
    Sqz,
    Dif,
    Dup,
}

/// Splits one data line into ASDF tokens.
fn tokenize(line: &str, line_number: usize) -> Result<Vec<Token>, FormatError> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut kind = Kind::Affn;
    let finish =
        |current: &mut String, kind: Kind, tokens: &mut Vec<Token>| -> Result<(), FormatError> {
            if current.is_empty() {
                return Ok(());
            }
            let bad = || corrupt(format!("line {line_number}: `{current}` is not a number"));
            let token = match kind {
                Kind::Affn => Token::Absolute(current.parse::<f64>().map_err(|_| bad())?),
                Kind::Sqz => Token::Absolute(current.parse::<f64>().map_err(|_| bad())?),
                Kind::Dif => Token::Difference(current.parse::<f64>().map_err(|_| bad())?),
                Kind::Dup => Token::Duplicate(current.parse::<u64>().map_err(|_| bad())?),
            };
            tokens.push(token);
            current.clear();
            Ok(())
        };
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() || c == ',' || c == ';' {
            finish(&mut current, kind, &mut tokens)?;
        } else if c == '?' {
            finish(&mut current, kind, &mut tokens)?;
            tokens.push(Token::Missing);
        } else if c.is_ascii_digit() || c == '.' {
            if current.is_empty() {
                kind = Kind::Affn;
            }
            current.push(c);
        } else if (c == 'E' || c == 'e')
            && kind == Kind::Affn
            && !current.is_empty()
            && matches!(next, Some('+' | '-'))
        {
            // Exponent of a free-format number: `1.5E+03`.
            current.push(c);
            if let Some(sign) = next {
                current.push(sign);
            }
            i += 1;
        } else if c == '+' || c == '-' {
            finish(&mut current, kind, &mut tokens)?;
            kind = Kind::Affn;
            current.push(c);
        } else if let Some((sign, digit)) = sqz_digit(c) {
            finish(&mut current, kind, &mut tokens)?;
            kind = Kind::Sqz;
            current.push_str(&format!("{}{digit}", if sign < 0 { "-" } else { "" }));
        } else if let Some((sign, digit)) = dif_digit(c) {
            finish(&mut current, kind, &mut tokens)?;
            kind = Kind::Dif;
            current.push_str(&format!("{}{digit}", if sign < 0 { "-" } else { "" }));
        } else if let Some(digit) = dup_digit(c) {
            finish(&mut current, kind, &mut tokens)?;
            kind = Kind::Dup;
            current.push_str(&digit.to_string());
        } else {
            return Err(corrupt(format!(
                "line {line_number}: character `{c}` is not allowed in ASDF data"
            )));
        }
        i += 1;
    }
    finish(&mut current, kind, &mut tokens)?;
    Ok(tokens)
}

/// Decodes `(X++(Y..Y))` lines into ordinates; `limit` bounds the number of points.
fn decode_xydata(
    body: &str,
    first_line: usize,
    limit: usize,
) -> Result<(Vec<f64>, Vec<&'static str>), FormatError> {
    let mut y: Vec<f64> = Vec::new();
    let mut compressions: Vec<&'static str> = Vec::new();
    let mut previous_line_ended_in_dif = false;
    for (offset, line) in body.lines().enumerate() {
        let line_number = first_line + offset + 1;
        if line.trim().is_empty() {
            continue;
        }
        let tokens = tokenize(line, line_number)?;
        let mut tokens = tokens.into_iter();
        match tokens.next() {
            Some(Token::Absolute(_)) => {}
            Some(_) => {
                return Err(corrupt(format!(
                    "line {line_number}: a data line must start with its X value"
                )))
            }
            None => continue,
        }
        let mut line_values: Vec<f64> = Vec::new();
        let mut last_delta: Option<f64> = None;
        for token in tokens {
            match token {
                Token::Absolute(v) => {
                    line_values.push(v);
                    last_delta = None;
                }
                Token::Missing => {
                    line_values.push(f64::NAN);
                    last_delta = None;
                }
                Token::Difference(d) => {
                    if !compressions.contains(&"DIF") {
                        compressions.push("DIF");
                    }
                    let previous = *line_values.last().ok_or_else(|| {
                        corrupt(format!(
                            "line {line_number}: a DIF value has no preceding value"
                        ))
                    })?;
                    line_values.push(previous + d);
                    last_delta = Some(d);
                }
                Token::Duplicate(count) => {
                    if !compressions.contains(&"DUP") {
                        compressions.push("DUP");
                    }
                    let previous = *line_values.last().ok_or_else(|| {
                        corrupt(format!(
                            "line {line_number}: a DUP count has no preceding value"
                        ))
                    })?;
                    let repeats = usize::try_from(count.saturating_sub(1)).unwrap_or(usize::MAX);
                    // +1: a line's first ordinate may be the DIF check value, dropped below.
                    if repeats > (limit + 1).saturating_sub(y.len() + line_values.len()) {
                        return Err(corrupt(format!(
                            "line {line_number}: DUP count {count} exceeds the {limit} points \
                             the file can hold"
                        )));
                    }
                    let mut value = previous;
                    for _ in 0..repeats {
                        if let Some(d) = last_delta {
                            value += d;
                        }
                        line_values.push(value);
                    }
                }
            }
            if line_values.len() + y.len() > limit + 1 {
                return Err(corrupt(format!(
                    "line {line_number}: more than the {limit} declared points"
                )));
            }
        }
        let mut values = line_values.as_slice();
        if previous_line_ended_in_dif && !values.is_empty() {
            // Y check value: repeats the previous line's last ordinate.
            let check = values[0];
            let last = y.last().copied().unwrap_or(check);
            if (check - last).abs() > 1e-6 * last.abs().max(1.0) {
                return Err(corrupt(format!(
                    "line {line_number}: DIF check value {check} does not repeat the previous \
                     ordinate {last}"
                )));
            }
            values = &values[1..];
        }
        previous_line_ended_in_dif = last_delta.is_some();
        y.extend_from_slice(values);
    }
    if line_has_letters(body) && !compressions.contains(&"SQZ") {
        compressions.insert(0, "SQZ");
    }
    Ok((y, compressions))
}

fn line_has_letters(body: &str) -> bool {
    body.chars().any(|c| sqz_digit(c).is_some())
}

fn number(records: &[Record], label: &str) -> Option<f64> {
    records
        .iter()
        .find(|r| r.label == label)
        .and_then(|r| r.value.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

fn text<'r>(records: &'r [Record], label: &str) -> Option<&'r str> {
    records
        .iter()
        .find(|r| r.label == label)
        .map(|r| r.value.trim())
        .filter(|v| !v.is_empty())
}

/// Maps JCAMP unit spellings to names and units: (`1/CM`) → (`wavenumber`, `1/cm`).
fn x_axis_of(units: &str) -> (String, String) {
    match normalise_label(units).as_str() {
        "1CM" | "CM1" => ("wavenumber".into(), "1/cm".into()),
        "NANOMETERS" | "NM" => ("wavelength".into(), "nm".into()),
        "MICROMETERS" | "UM" => ("wavelength".into(), "µm".into()),
        "2THETA" | "DEGREES" | "DEG" | "2θ" => ("2θ".into(), "deg".into()),
        "HZ" => ("frequency".into(), "Hz".into()),
        "PPM" => ("chemical shift".into(), "ppm".into()),
        "SECONDS" | "S" => ("time".into(), "s".into()),
        "MINUTES" => ("time".into(), "min".into()),
        "M/Z" | "MZ" => ("m/z".into(), String::new()),
        _ => ("x".into(), units.trim().to_string()),
    }
}

/// Reads the first spectrum of a JCAMP-DX file (see the [module docs](self)).
pub fn read_jcamp(bytes: &[u8]) -> Result<XyData, FormatError> {
    let content = crate::spectrum::decode_text(bytes);
    let all = records(&content);
    if all.is_empty() {
        return Err(FormatError::UnrecognisedFormat(
            "no ##LABEL= records: not a JCAMP-DX file".into(),
        ));
    }
    // The first block holding data: records from its data table back to the preceding TITLE.
    let data_index = all
        .iter()
        .position(|r| matches!(r.label.as_str(), "XYDATA" | "XYPOINTS" | "PEAKTABLE"))
        .ok_or_else(|| {
            if all.iter().any(|r| r.label == "NTUPLES") {
                FormatError::Unsupported {
                    format: FORMAT.into(),
                    message: "##NTUPLES (multi-dimensional) data".into(),
                }
            } else {
                corrupt("no ##XYDATA, ##XYPOINTS or ##PEAK TABLE record")
            }
        })?;
    let block_start = all[..data_index]
        .iter()
        .rposition(|r| r.label == "TITLE")
        .unwrap_or(0);
    let block_end = all[data_index..]
        .iter()
        .position(|r| r.label == "END")
        .map_or(all.len(), |p| data_index + p + 1);
    let block = &all[block_start..block_end];
    let data_record = &all[data_index];
    let mut out = XyData::new_pattern(FORMAT);
    let data_blocks = all
        .iter()
        .filter(|r| matches!(r.label.as_str(), "XYDATA" | "XYPOINTS" | "PEAKTABLE"))
        .count();
    if data_blocks > 1 {
        out.notes.push(format!(
            "{data_blocks} data tables in the file; the first ({}) is read",
            data_record.raw_label
        ));
    }
    let x_factor = number(block, "XFACTOR").unwrap_or(1.0);
    let y_factor = number(block, "YFACTOR").unwrap_or(1.0);
    let x_units = text(block, "XUNITS").unwrap_or("");
    let (x_name, x_unit) = x_axis_of(x_units);
    out.x_name = text(block, "$XNAME").map_or(x_name, str::to_string);
    out.x_unit = x_unit;
    let y_units = text(block, "YUNITS").unwrap_or("");
    out.y_name = text(block, "$YNAME").map_or_else(|| y_units.to_lowercase(), str::to_string);
    out.y_unit = match normalise_label(y_units).as_str() {
        "COUNTS" => "counts".into(),
        "ABSORBANCE" | "TRANSMITTANCE" | "REFLECTANCE" | "ARBITRARYUNITS" => String::new(),
        _ => y_units.to_string(),
    };
    let (body_first_line, body) = data_record
        .value
        .split_once('\n')
        .map_or(("", ""), |(a, b)| (a, b));
    let form = normalise_label(body_first_line);
    // A DUP-compressed file can legitimately expand a lot, but not without limit.
    let size_bound = bytes.len().saturating_mul(256).saturating_add(1024);
    match data_record.label.as_str() {
        "XYDATA" => {
            if form != "(X++(Y..Y))" && form != "(X++(R..R))" && form != "(X++(I..I))" {
                return Err(FormatError::Unsupported {
                    format: FORMAT.into(),
                    message: format!("##XYDATA form `{body_first_line}`"),
                });
            }
            let first_x = number(block, "FIRSTX").ok_or_else(|| corrupt("##FIRSTX missing"))?;
            let last_x = number(block, "LASTX").ok_or_else(|| corrupt("##LASTX missing"))?;
            let n_points = number(block, "NPOINTS")
                .filter(|n| *n >= 1.0 && n.fract() == 0.0)
                .ok_or_else(|| corrupt("##NPOINTS missing or not a positive integer"))?;
            if n_points > size_bound as f64 {
                return Err(corrupt(format!(
                    "##NPOINTS={n_points} is more than a {}-byte file can hold",
                    bytes.len()
                )));
            }
            let n = n_points as usize;
            let (y, compressions) = decode_xydata(body, data_record.line, n)?;
            if y.len() != n {
                return Err(corrupt(format!(
                    "##NPOINTS={n} but {} ordinates were decoded",
                    y.len()
                )));
            }
            if !compressions.is_empty() {
                out.notes.push(format!(
                    "ASDF compression decoded: {}",
                    compressions.join(", ")
                ));
            }
            let step = if n > 1 {
                (last_x - first_x) / (n - 1) as f64
            } else {
                0.0
            };
            out.x = (0..n).map(|i| first_x + i as f64 * step).collect();
            out.y = y.into_iter().map(|v| v * y_factor).collect();
        }
        "XYPOINTS" | "PEAKTABLE" => {
            let per_point = if form.starts_with("(XYW") { 3 } else { 2 };
            let values: Vec<f64> = body
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if t == "?" {
                        Ok(f64::NAN)
                    } else {
                        t.parse::<f64>().map_err(|_| {
                            corrupt(format!(
                                "##{}: `{}` is not a number",
                                data_record.raw_label,
                                t.chars().take(40).collect::<String>()
                            ))
                        })
                    }
                })
                .collect::<Result<_, _>>()?;
            if !values.chunks_exact(per_point).remainder().is_empty() {
                return Err(corrupt(format!(
                    "##{}: {} numbers do not form ({}) tuples",
                    data_record.raw_label,
                    values.len(),
                    body_first_line
                )));
            }
            for tuple in values.chunks_exact(per_point) {
                out.x.push(tuple[0] * x_factor);
                out.y.push(tuple[1] * y_factor);
            }
            if let Some(n) = number(block, "NPOINTS") {
                if n != out.x.len() as f64 {
                    out.notes.push(format!(
                        "##NPOINTS={n} but {} points are listed; the listed points are used",
                        out.x.len()
                    ));
                }
            }
        }
        _ => unreachable_label()?,
    }
    if out.x.is_empty() {
        return Err(corrupt("the data table is empty"));
    }
    let mut original = Map::new();
    for record in block {
        if record.label == data_record.label || record.label == "END" {
            continue;
        }
        original.insert(
            record.raw_label.clone(),
            Value::from(record.value.chars().take(1000).collect::<String>()),
        );
    }
    original.insert(
        "data_table".into(),
        Value::from(data_record.raw_label.clone()),
    );
    out.metadata = NormalisedMetadata {
        sample_name: text(block, "TITLE").map(str::to_string),
        technique: text(block, "DATATYPE").map(str::to_string),
        instrument_model: text(block, "SPECTROMETERDATASYSTEM").map(str::to_string),
        acquisition_time: text(block, "LONGDATE")
            .or_else(|| text(block, "DATE"))
            .map(str::to_string),
        operator: text(block, "OWNER").map(str::to_string),
        ..NormalisedMetadata::default()
    };
    out.original_metadata = Value::Object(original);
    Ok(out)
}

/// The data-table labels are matched above; this keeps the match exhaustive without a panic.
fn unreachable_label() -> Result<(), FormatError> {
    Err(corrupt("internal: unexpected data table label"))
}

/// Writes `data` as a JCAMP-DX 4.24 file that [`read_jcamp`] reads back: `##XYDATA` in AFFN
/// (ten ordinates a line, factors 1) when the abscissae are equally spaced (to 1e-9 of the
/// range), `##XYPOINTS=(XY..XY)` otherwise. Axis names travel in the private labels `##$X NAME`
/// and `##$Y NAME`. Fails if `x` and `y` differ in length or are empty.
pub fn write_jcamp(data: &XyData) -> Result<Vec<u8>, FormatError> {
    let n = data.x.len();
    if n == 0 || data.y.len() != n {
        return Err(FormatError::InvalidImage(format!(
            "{} x values and {} y values: JCAMP-DX needs equal, non-zero lengths",
            n,
            data.y.len()
        )));
    }
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = String::new();
    let mut record = |label: &str, value: &str| {
        out.push_str(&format!("##{label}={}\n", one_line(value)));
    };
    record(
        "TITLE",
        data.metadata
            .sample_name
            .as_deref()
            .unwrap_or("athanor export"),
    );
    record("JCAMP-DX", "4.24");
    record(
        "DATA TYPE",
        data.metadata.technique.as_deref().unwrap_or("UNKNOWN"),
    );
    record("ORIGIN", "athanor-formats");
    record("OWNER", data.metadata.operator.as_deref().unwrap_or(""));
    if let Some(model) = &data.metadata.instrument_model {
        record("SPECTROMETER/DATA SYSTEM", model);
    }
    let x_units = match data.x_unit.as_str() {
        "1/cm" => "1/CM".to_string(),
        "nm" => "NANOMETERS".to_string(),
        "" => "ARBITRARY UNITS".to_string(),
        other => other.to_string(),
    };
    record("XUNITS", &x_units);
    record(
        "YUNITS",
        if data.y_unit.is_empty() {
            "ARBITRARY UNITS"
        } else {
            &data.y_unit
        },
    );
    record("$X NAME", &data.x_name);
    record("$Y NAME", &data.y_name);
    record("XFACTOR", "1");
    record("YFACTOR", "1");
    record("NPOINTS", &n.to_string());
    let first = data.x[0];
    let last = data.x[n - 1];
    let step = if n > 1 {
        (last - first) / (n - 1) as f64
    } else {
        0.0
    };
    let tolerance = 1e-9 * (last - first).abs().max(f64::MIN_POSITIVE);
    let uniform = n == 1
        || (step != 0.0
            && data
                .x
                .iter()
                .enumerate()
                .all(|(i, &x)| (x - (first + i as f64 * step)).abs() <= tolerance));
    if uniform {
        record("FIRSTX", &first.to_string());
        record("LASTX", &last.to_string());
        record("FIRSTY", &data.y[0].to_string());
        record("XYDATA", "(X++(Y..Y))");
        for (row, chunk) in data.y.chunks(10).enumerate() {
            let x = first + (row * 10) as f64 * step;
            out.push_str(&x.to_string());
            for y in chunk {
                out.push(' ');
                out.push_str(&y.to_string());
            }
            out.push('\n');
        }
    } else {
        record("XYPOINTS", "(XY..XY)");
        for (x, y) in data.x.iter().zip(&data.y) {
            out.push_str(&format!("{x}, {y}\n"));
        }
    }
    out.push_str("##END=\n");
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asdf_tokens_follow_the_standard_examples() {
        // SQZ A000 = 1000, then DIF +10, 0, 0, −10.
        let (y, compressions) = decode_xydata("\n100 A000J0%%j0\n", 0, 100).unwrap();
        assert_eq!(y, vec![1000.0, 1010.0, 1010.0, 1010.0, 1000.0]);
        assert_eq!(compressions, vec!["SQZ", "DIF"]);
        let (y, _) = decode_xydata("\n1 A0J0T\n", 0, 100).unwrap();
        // A0 = 10, J0 = +10 → 20, T = DUP 2 repeats the difference once → 30.
        assert_eq!(y, vec![10.0, 20.0, 30.0]);
        let (y, _) = decode_xydata("\n1 @V\n", 0, 100).unwrap();
        assert_eq!(y, vec![0.0; 4]);
    }

    #[test]
    fn dif_check_value_is_dropped_and_verified() {
        let (y, _) = decode_xydata("\n0 A0J\n2 A1J\n", 0, 100).unwrap();
        assert_eq!(y, vec![10.0, 11.0, 12.0]);
        assert!(decode_xydata("\n0 A0J\n2 A5J\n", 0, 100).is_err());
    }

    #[test]
    fn dup_bombs_are_bounded() {
        assert!(decode_xydata("\n0 As99999999999\n", 0, 1000).is_err());
    }
}
