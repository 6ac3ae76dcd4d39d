//! Spectra as delimited text: one x column (wavelength, energy, 2θ …) and one or more value
//! columns, each with a name and a unit.
//!
//! Written form (comma-separated, `#` comment lines for metadata, then one header line):
//!
//! ```text
//! # sample: QD-0042
//! # instrument: Cary 60
//! wavelength [nm],absorbance [1],photoluminescence [counts]
//! 400,0.512,12
//! 401,0.508,15
//! ```
//!
//! Numbers are written in Rust's shortest round-trip form, so reading gives back the same
//! `f64`s. The reader is tolerant of what instruments and spreadsheets produce: comma, tab,
//! semicolon or whitespace delimiters (detected from the header line), `#` comments anywhere,
//! blank lines, a UTF-8 byte-order mark, Latin-1 text, quoted fields, units written
//! `name [unit]` or `name (unit)`, a trailing delimiter, decimal commas in semicolon- or
//! tab-separated files, and files without a header line (columns are then named `x`, `y1`, …
//! with empty units). Errors name the line and column.

use crate::FormatError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A table of spectra sharing one x axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrumTable {
    /// Name of the x axis, e.g. `wavelength`.
    pub x_name: String,
    /// Unit of the x axis, e.g. `nm` (empty if none was given).
    pub x_unit: String,
    /// `(name, unit)` of each value column, e.g. `("absorbance", "1")`.
    pub columns: Vec<(String, String)>,
    /// The x values, one per row.
    pub x: Vec<f64>,
    /// The values, one `Vec` per column, each as long as `x`.
    pub values: Vec<Vec<f64>>,
}

impl SpectrumTable {
    /// The values of the column called `name`, if there is one.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        let index = self.columns.iter().position(|(n, _)| n == name)?;
        self.values.get(index).map(Vec::as_slice)
    }

    /// The unit of the column called `name`, if there is one.
    pub fn unit_of(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| u.as_str())
    }
}

/// Writes `table` as comma-separated text with a `name [unit]` header. See
/// [`write_spectrum_csv_with_metadata`] for how ragged tables are written.
pub fn write_spectrum_csv(table: &SpectrumTable) -> Vec<u8> {
    write_spectrum_csv_with_metadata(table, &BTreeMap::new())
}

/// Writes `table` preceded by one `# key: value` comment line per metadata entry (sorted by key).
///
/// Line breaks in keys and values are replaced by spaces and `:` in keys by `_`, so that every
/// entry reads back as written otherwise. The table is written with `x.len()` rows and
/// `max(columns.len(), values.len())` value columns; a missing value is written as `NaN` and an
/// unnamed column as `column<k>`, so a malformed table still produces a readable file (check
/// lengths beforehand if that matters).
pub fn write_spectrum_csv_with_metadata(
    table: &SpectrumTable,
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let one_line = |s: &str| s.replace(['\r', '\n'], " ");
    let mut out = String::new();
    for (key, value) in metadata {
        out.push_str(&format!(
            "# {}: {}\n",
            one_line(key).replace(':', "_").trim(),
            one_line(value).trim()
        ));
    }
    let column_count = table.columns.len().max(table.values.len());
    let mut header = vec![header_field(&table.x_name, &table.x_unit)];
    for k in 0..column_count {
        header.push(match table.columns.get(k) {
            Some((name, unit)) => header_field(name, unit),
            None => format!("column{}", k + 1),
        });
    }
    out.push_str(&header.join(","));
    out.push('\n');
    for (row, x) in table.x.iter().enumerate() {
        out.push_str(&x.to_string());
        for k in 0..column_count {
            out.push(',');
            let value = table
                .values
                .get(k)
                .and_then(|column| column.get(row))
                .copied()
                .unwrap_or(f64::NAN);
            out.push_str(&value.to_string());
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// A header field `name [unit]`, quoted if it contains a delimiter or quote.
fn header_field(name: &str, unit: &str) -> String {
    let text = if unit.is_empty() {
        name.to_string()
    } else {
        format!("{name} [{unit}]")
    };
    let text = text.replace(['\r', '\n'], " ");
    if text.contains([',', '"', ';', '\t']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Reads a spectrum table (see the [module docs](self) for what is accepted).
pub fn read_spectrum_csv(bytes: &[u8]) -> Result<SpectrumTable, FormatError> {
    read_spectrum_csv_with_metadata(bytes).map(|(table, _)| table)
}

/// Reads a spectrum table and the `# key: value` comment lines (comments without a colon are
/// skipped; a repeated key keeps its last value).
pub fn read_spectrum_csv_with_metadata(
    bytes: &[u8],
) -> Result<(SpectrumTable, BTreeMap<String, String>), FormatError> {
    let text = decode_text(bytes);
    let mut metadata = BTreeMap::new();
    let mut delimiter: Option<Delimiter> = None;
    let mut column_count = 0;
    let mut header_names: Vec<(String, String)> = Vec::new();
    let mut rows: Vec<Vec<f64>> = Vec::new();

    for (index, raw_line) in text.split('\n').enumerate() {
        let line_number = index + 1;
        let line = raw_line.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if let Some((key, value)) = comment.split_once(':') {
                let key = key.trim();
                if !key.is_empty() {
                    metadata.insert(key.to_string(), value.trim().to_string());
                }
            }
            continue;
        }
        let delim = *delimiter.get_or_insert_with(|| Delimiter::detect(trimmed));
        let mut fields = split_fields(trimmed, delim);
        if column_count == 0 {
            // First content line: a header, or already data.
            if fields.len() > 1 && fields.last().is_some_and(|f| f.is_empty()) {
                fields.pop();
            }
            if fields.len() < 2 {
                return Err(FormatError::CsvRow {
                    line: line_number,
                    message: format!(
                        "expected at least two columns (x and one value) separated by {}, \
                         found `{trimmed}`",
                        delim.name()
                    ),
                });
            }
            column_count = fields.len();
            let all_numeric = fields.iter().all(|f| parse_number(f, delim).is_some());
            if all_numeric {
                header_names = (0..column_count)
                    .map(|k| {
                        let name = if k == 0 { "x".into() } else { format!("y{k}") };
                        (name, String::new())
                    })
                    .collect();
            } else {
                header_names = fields.iter().map(|f| split_name_unit(f)).collect();
                continue;
            }
        }
        if fields.len() == column_count + 1 && fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        if fields.len() != column_count {
            return Err(FormatError::CsvRow {
                line: line_number,
                message: format!(
                    "expected {column_count} columns separated by {}, found {}",
                    delim.name(),
                    fields.len()
                ),
            });
        }
        let mut row = Vec::with_capacity(column_count);
        for (k, field) in fields.iter().enumerate() {
            let value = parse_number(field, delim).ok_or_else(|| FormatError::CsvCell {
                line: line_number,
                column: k + 1,
                message: if field.is_empty() {
                    "empty value".to_string()
                } else {
                    format!("`{field}` is not a number")
                },
            })?;
            row.push(value);
        }
        rows.push(row);
    }

    if column_count == 0 {
        return Err(FormatError::CsvNoData(
            "the file has neither a header nor data lines".into(),
        ));
    }
    if rows.is_empty() {
        return Err(FormatError::CsvNoData(
            "the file has a header but no data lines".into(),
        ));
    }
    let mut names = header_names.into_iter();
    let (x_name, x_unit) = names.next().unwrap_or_default();
    let columns: Vec<(String, String)> = names.collect();
    let x = rows.iter().map(|r| r[0]).collect();
    let values = (1..column_count)
        .map(|k| rows.iter().map(|r| r[k]).collect())
        .collect();
    Ok((
        SpectrumTable {
            x_name,
            x_unit,
            columns,
            x,
            values,
        },
        metadata,
    ))
}

/// UTF-8 (without byte-order mark) or, if the bytes are not valid UTF-8, Latin-1 (Windows
/// instrument software writes `µ` and `°` as single bytes).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Delimiter {
    Tab,
    Semicolon,
    Comma,
    Whitespace,
}

impl Delimiter {
    /// Tab if the header has one, else semicolon, else comma, else runs of spaces.
    fn detect(line: &str) -> Delimiter {
        if line.contains('\t') {
            Delimiter::Tab
        } else if line.contains(';') {
            Delimiter::Semicolon
        } else if line.contains(',') {
            Delimiter::Comma
        } else {
            Delimiter::Whitespace
        }
    }

    fn name(self) -> &'static str {
        match self {
            Delimiter::Tab => "tabs",
            Delimiter::Semicolon => "semicolons",
            Delimiter::Comma => "commas",
            Delimiter::Whitespace => "spaces",
        }
    }

    /// Whether a comma inside a field can only be a decimal comma.
    fn allows_decimal_comma(self) -> bool {
        self != Delimiter::Comma
    }
}

/// Splits a line into trimmed fields, honouring double quotes (`""` inside quotes is a quote).
fn split_fields(line: &str, delimiter: Delimiter) -> Vec<String> {
    if delimiter == Delimiter::Whitespace {
        // A `[unit]` or `(unit)` token belongs to the name before it: `wavelength [nm]`.
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
        return fields.iter().map(|f| unquote(f)).collect();
    }
    let separator = match delimiter {
        Delimiter::Tab => '\t',
        Delimiter::Semicolon => ';',
        _ => ',',
    };
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            c if c == separator && !in_quotes => {
                fields.push(current.trim().to_string());
                current.clear();
            }
            c => current.push(c),
        }
    }
    fields.push(current.trim().to_string());
    fields
}

fn unquote(field: &str) -> String {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .to_string()
}

fn parse_number(field: &str, delimiter: Delimiter) -> Option<f64> {
    let field = field.trim();
    if field.is_empty() {
        return None;
    }
    field.parse::<f64>().ok().or_else(|| {
        (delimiter.allows_decimal_comma() && field.matches(',').count() == 1)
            .then(|| field.replace(',', ".").parse::<f64>().ok())
            .flatten()
    })
}

/// `name [unit]` or `name (unit)` → (name, unit); anything else is a name without unit.
pub(crate) fn split_name_unit(field: &str) -> (String, String) {
    let field = field.trim();
    for (open, close) in [('[', ']'), ('(', ')')] {
        if let Some(body) = field.strip_suffix(close) {
            if let Some(start) = body.rfind(open) {
                return (
                    body[..start].trim().to_string(),
                    body[start + open.len_utf8()..].trim().to_string(),
                );
            }
        }
    }
    (field.to_string(), String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields_split_into_name_and_unit() {
        assert_eq!(
            split_name_unit("wavelength [nm]"),
            ("wavelength".into(), "nm".into())
        );
        assert_eq!(
            split_name_unit("Energy (eV)"),
            ("Energy".into(), "eV".into())
        );
        assert_eq!(split_name_unit("counts"), ("counts".into(), String::new()));
    }

    #[test]
    fn quoted_fields_keep_delimiters() {
        assert_eq!(
            split_fields("\"a, b [nm]\",\"say \"\"hi\"\"\",3", Delimiter::Comma),
            vec!["a, b [nm]", "say \"hi\"", "3"]
        );
    }

    #[test]
    fn whitespace_headers_keep_units_with_names() {
        assert_eq!(
            split_fields("wavelength [nm]   PL (counts)", Delimiter::Whitespace),
            vec!["wavelength [nm]", "PL (counts)"]
        );
    }

    #[test]
    fn decimal_commas_only_where_unambiguous() {
        assert_eq!(parse_number("1,5", Delimiter::Semicolon), Some(1.5));
        assert_eq!(parse_number("1,5", Delimiter::Comma), None);
        assert_eq!(parse_number("-2.5e-3", Delimiter::Comma), Some(-2.5e-3));
    }
}
