//! Importing past experiments from a table with a column mapping, so that existing lab data
//! seed new campaigns: a CSV file ([`import_csv`]) or a sheet of a spreadsheet workbook
//! (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`: [`import_spreadsheet`], read with `calamine`).
//! In a sheet the first non-empty row is the header; numeric cells are taken at their full
//! stored precision (not as displayed), and rows are numbered as the spreadsheet shows them.
//!
//! Each data row becomes one *completed* experiment of the target campaign, recorded through
//! the same code path as the campaign runner's experiments ([`Store::import_table_rows`]): a
//! process spec and run, a sample, and one result record per result column, linked in the
//! provenance graph. Mapped parameter columns form the recipe, result columns the results
//! (origin `measured`), condition columns the actuals of one run step (`imported conditions`).
//! Columns the mapping does not name are ignored. The whole file is one transaction.
//!
//! ## The mapping file (TOML)
//!
//! ```toml
//! # What to do with an empty cell: "skip" (leave that value out; the default), "error"
//! # (reject the file), or "skip_row" (leave the whole row out).
//! empty_cells = "skip"
//!
//! [campaign]
//! existing = "C0003"          # an existing campaign (lab id or id); or a new one:
//! # name = "legacy-cdse"      # a new campaign (with seed and budget; a config hash is derived)
//! # seed = 0
//! # budget = 60
//!
//! [[columns]]
//! column = "T (C)"            # the header cell
//! role = "parameter"          # parameter | result | condition
//! name = "growth_temperature" # the recipe parameter, result or condition name
//! unit = "degC"               # the unit the column's numbers are in
//! to_unit = "K"               # optional: store in this unit (same dimension), converted
//! min = 200.0                 # optional bounds, in `unit` (inclusive)
//! max = 320.0
//!
//! [[columns]]
//! column = "PL peak"
//! role = "result"
//! name = "pl_peak"
//! unit = "nm"
//! std_column = "PL peak sd"   # optional: the standard deviation, same unit
//! method = "PL spectrometer"  # optional (default "imported")
//!
//! # Optional: an athanor template; values are checked against its bounds after conversion.
//! [template]
//! name = "hot injection"
//! [[template.attributes]]
//! name = "growth_temperature"
//! role = "parameter"
//! bounds = { type = "real", min = 473.15, max = 600.0, unit = "K" }
//! ```
//!
//! Errors name what is wrong and where: a unit that does not parse or has the wrong dimension
//! names the mapping column (`mapping column 'T (C)': invalid to_unit: …`), a bad cell names the
//! file's line and the column (`table.csv row 7: invalid column 'T (C)': 350 degC is above the
//! maximum 320 degC`). Values are converted with `athanor_model::units`.

use crate::error::{Result, StoreError};
use crate::records::NewCampaign;
use crate::store::Store;
use athanor_model::attributes::{Attribute, AttributeValue, Template};
use athanor_model::units::Unit;
use athanor_model::{Origin, ProcessStep, PropertyValue, Quantity, Recipe};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// The campaign a table import writes to.
#[derive(Debug, Clone, PartialEq)]
pub enum CampaignTarget {
    /// An existing campaign, by id or lab id; seqs continue after its last experiment.
    Existing(String),
    /// A campaign created by the import (in the same transaction).
    New(NewCampaign),
}

/// One table row, converted: what [`Store::import_table_rows`] records as an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRow {
    /// The row's number in the source (1 = the header, as a spreadsheet numbers rows), for
    /// messages and the planner note.
    pub row: u64,
    /// Recipe parameters.
    pub recipe: Recipe,
    /// Results.
    pub results: Vec<PropertyValue>,
    /// Run steps (the conditions, as actuals of one step; empty without conditions).
    pub run_steps: Vec<ProcessStep>,
}

/// What a table import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableImportSummary {
    /// Lab id of the campaign written to.
    pub campaign: String,
    /// Lab ids of the experiments created, in row order.
    pub experiments: Vec<String>,
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// A recipe parameter.
    Parameter,
    /// A result (measured property).
    Result,
    /// A condition (recorded as an actual of the run).
    Condition,
}

/// What to do with an empty cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCells {
    /// Leave that value out of the experiment.
    #[default]
    Skip,
    /// Reject the file.
    Error,
    /// Leave the whole row out.
    SkipRow,
}

/// The `[campaign]` table of a mapping.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignMapping {
    /// An existing campaign (id or lab id).
    #[serde(default)]
    pub existing: Option<String>,
    /// Name of a new campaign.
    #[serde(default)]
    pub name: Option<String>,
    /// Seed of a new campaign.
    #[serde(default)]
    pub seed: u64,
    /// Budget of a new campaign (default: the number of imported rows is not known up front,
    /// so 0 means "no further experiments planned").
    #[serde(default)]
    pub budget: u32,
}

/// One `[[columns]]` entry of a mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// The header cell naming the column.
    pub column: String,
    /// What it holds.
    pub role: ColumnRole,
    /// Parameter / result / condition name.
    pub name: String,
    /// Unit of the numbers in the column (`""` for dimensionless).
    #[serde(default)]
    pub unit: String,
    /// Store in this unit instead (same dimension).
    #[serde(default)]
    pub to_unit: Option<String>,
    /// Lower bound in `unit` (inclusive).
    #[serde(default)]
    pub min: Option<f64>,
    /// Upper bound in `unit` (inclusive).
    #[serde(default)]
    pub max: Option<f64>,
    /// Results: column holding the standard deviation (same unit).
    #[serde(default)]
    pub std_column: Option<String>,
    /// Results: the method (default `imported`).
    #[serde(default)]
    pub method: Option<String>,
}

/// A table mapping (see the module docs for the file format).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMapping {
    /// The target campaign.
    pub campaign: CampaignMapping,
    /// What to do with empty cells.
    #[serde(default)]
    pub empty_cells: EmptyCells,
    /// The mapped columns.
    pub columns: Vec<ColumnMapping>,
    /// Optional template whose bounds the (converted) values must satisfy.
    #[serde(default)]
    pub template: Option<Template>,
}

impl TableMapping {
    /// Parses a mapping from TOML text; errors name the mapping field.
    pub fn from_toml(text: &str) -> Result<TableMapping> {
        let mapping: TableMapping = toml::from_str(text)
            .map_err(|e| StoreError::invalid("mapping", "file", e.to_string()))?;
        mapping.validate()?;
        Ok(mapping)
    }

    /// The campaign target this mapping names. A new campaign's config hash is the SHA-256 of
    /// `source_text` (the mapping), so re-importing with the same mapping is recognisable.
    pub fn target(&self, source_text: &str) -> Result<CampaignTarget> {
        match (&self.campaign.existing, &self.campaign.name) {
            (Some(existing), None) => Ok(CampaignTarget::Existing(existing.clone())),
            (None, Some(name)) => Ok(CampaignTarget::New(NewCampaign {
                name: name.clone(),
                seed: self.campaign.seed,
                config_hash: hex::encode(Sha256::digest(source_text.as_bytes())),
                config_text: source_text.to_string(),
                budget: self.campaign.budget,
            })),
            _ => Err(StoreError::invalid(
                "mapping",
                "campaign",
                "give exactly one of `existing` (a campaign's lab id) or `name` (a new campaign)",
            )),
        }
    }

    /// Checks units (parseable, convertible to `to_unit` and to the template's bounds), bounds
    /// and names; errors name the mapping column.
    pub fn validate(&self) -> Result<()> {
        if self.columns.is_empty() {
            return Err(StoreError::invalid("mapping", "columns", "maps no column"));
        }
        let mut names = BTreeMap::new();
        for column in &self.columns {
            let label = format!("mapping column '{}'", column.column);
            if column.name.trim().is_empty() {
                return Err(StoreError::invalid(&label, "name", "must not be empty"));
            }
            if let Some(other) = names.insert((column.role, column.name.clone()), &column.column) {
                return Err(StoreError::invalid(
                    &label,
                    "name",
                    format!("'{}' is also mapped from column '{other}'", column.name),
                ));
            }
            let unit = parse_unit(&label, "unit", &column.unit)?;
            let stored = column.stored_unit();
            let stored_unit = parse_unit(&label, "to_unit", stored)?;
            if unit.dimension() != stored_unit.dimension() {
                return Err(StoreError::invalid(
                    &label,
                    "to_unit",
                    format!(
                        "'{stored}' is not of the dimension of the column's unit '{}'",
                        column.unit
                    ),
                ));
            }
            for (field, bound) in [("min", column.min), ("max", column.max)] {
                if bound.is_some_and(|b| !b.is_finite()) {
                    return Err(StoreError::invalid(
                        &label,
                        field,
                        "must be a finite number",
                    ));
                }
            }
            if let (Some(min), Some(max)) = (column.min, column.max) {
                if min > max {
                    return Err(StoreError::invalid(
                        &label,
                        "min",
                        format!("min {min} is above max {max}"),
                    ));
                }
            }
            if column.std_column.is_some() && column.role != ColumnRole::Result {
                return Err(StoreError::invalid(
                    &label,
                    "std_column",
                    "only result columns have a standard deviation",
                ));
            }
            let template_bounds = self.template.as_ref().and_then(|t| {
                t.attributes
                    .iter()
                    .find(|a| a.name == column.name)
                    .and_then(|a| match &a.bounds {
                        athanor_model::attributes::Bounds::Real { unit, .. } => Some(unit.clone()),
                        _ => None,
                    })
            });
            if let Some(bound_unit) = template_bounds {
                let bound = parse_unit(&label, "template unit", &bound_unit)?;
                if bound.dimension() != unit.dimension() {
                    return Err(StoreError::invalid(
                        &label,
                        "unit",
                        format!(
                            "'{}' is not of the dimension of the template's bounds ('{bound_unit}')",
                            column.unit
                        ),
                    ));
                }
            }
        }
        if let Some(template) = &self.template {
            for attribute in &template.attributes {
                attribute
                    .validate()
                    .map_err(|e| StoreError::invalid("mapping template", e.field, e.problem))?;
            }
        }
        Ok(())
    }
}

impl ColumnMapping {
    /// The unit values are stored in.
    fn stored_unit(&self) -> &str {
        self.to_unit.as_deref().unwrap_or(&self.unit)
    }
}

fn parse_unit(label: &str, field: &str, text: &str) -> Result<Unit> {
    Unit::parse(text).map_err(|e| StoreError::invalid(label, field, format!("'{text}': {e}")))
}

/// Reads a CSV table (header row first; RFC 4180 quoting) and imports its rows as `mapping`
/// says, streaming, in one transaction. `source_name` names the file in messages and in each
/// experiment's planner note; `mapping_text` is the mapping's source (for a new campaign's
/// config).
pub fn import_csv(
    store: &Store,
    input: impl Read,
    source_name: &str,
    mapping: &TableMapping,
    mapping_text: &str,
) -> Result<TableImportSummary> {
    mapping.validate()?;
    let target = mapping.target(mapping_text)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| StoreError::invalid(source_name, "header", e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let columns = resolve_columns(&header, source_name, mapping)?;
    // Rows are numbered as a spreadsheet shows them: the header is row 1.
    let rows = reader
        .into_records()
        .zip(2u64..)
        .filter_map(|(record, row)| {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    return Some(Err(StoreError::invalid(
                        format!("{source_name} row {row}"),
                        "text",
                        e.to_string(),
                    )))
                }
            };
            convert_row(&record, row, source_name, &columns, mapping).transpose()
        });
    store.import_table_rows(&target, source_name, rows)
}

/// Reads one sheet of the spreadsheet workbook at `path` (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`
/// or `.ods`; `sheet` by name, or the first) and imports its rows as `mapping` says, in one
/// transaction, as [`import_csv`] does. The first non-empty row is the header; rows are
/// numbered as the spreadsheet shows them. A cell holding a spreadsheet error (`#DIV/0!`) or
/// a date in a mapped column is rejected with its row and column.
pub fn import_spreadsheet(
    store: &Store,
    path: &std::path::Path,
    sheet: Option<&str>,
    mapping: &TableMapping,
    mapping_text: &str,
) -> Result<TableImportSummary> {
    use calamine::Reader;
    mapping.validate()?;
    let target = mapping.target(mapping_text)?;
    let source_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let unreadable = |e: calamine::Error| {
        StoreError::invalid(
            &source_name,
            "workbook",
            format!("cannot read the spreadsheet: {e}"),
        )
    };
    let mut workbook = calamine::open_workbook_auto(path).map_err(unreadable)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                StoreError::invalid(
                    &source_name,
                    "sheet",
                    format!("no sheet '{wanted}' (sheets: {})", names.join(", ")),
                )
            })?,
        None => names.first().cloned().ok_or_else(|| {
            StoreError::invalid(&source_name, "sheet", "the workbook has no sheets")
        })?,
    };
    let range = workbook.worksheet_range(&name).map_err(unreadable)?;
    let label = format!("{source_name} sheet '{name}'");
    // Spreadsheet rows are numbered from 1; `start` is the first non-empty cell (0-based).
    let first_row = range.start().map_or(1, |(row, _)| u64::from(row) + 1);
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| StoreError::invalid(&label, "header", "the sheet is empty"))?
        .iter()
        .map(cell_text)
        .collect();
    let columns = resolve_columns(&header, &label, mapping)?;
    let rows = rows.zip(first_row + 1..).filter_map(|(cells, row)| {
        let cells: Vec<String> = cells.iter().map(cell_text).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            return None;
        }
        convert_row(&cells, row, &label, &columns, mapping).transpose()
    });
    store.import_table_rows(&target, &source_name, rows)
}

/// A spreadsheet cell as the text a CSV file would hold: numbers at full precision (Rust's
/// shortest representation that reads back to the same `f64`), errors as `#DIV/0!` and the
/// like, dates in ISO 8601 (both rejected as numbers, with the cell named).
fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Int(number) => number.to_string(),
        Data::Float(number) => number.to_string(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Bool(value) => value.to_string(),
        Data::DateTime(date) => format!("date {date}"),
        Data::Error(error) => error.to_string(),
        Data::Empty => String::new(),
    }
}

/// The mapping's columns located in `header` (`source_name` names the table in errors).
fn resolve_columns<'a>(
    header: &[String],
    source_name: &str,
    mapping: &'a TableMapping,
) -> Result<Vec<ResolvedColumn<'a>>> {
    let position = |name: &str, mapped: &str| {
        header
            .iter()
            .position(|h| h.trim() == name.trim())
            .ok_or_else(|| {
                StoreError::invalid(
                    format!("mapping column '{mapped}'"),
                    "column",
                    format!("'{name}' is not a column of {source_name}"),
                )
            })
    };
    let mut columns = Vec::new();
    for column in &mapping.columns {
        let index = position(&column.column, &column.column)?;
        let std_index = column
            .std_column
            .as_deref()
            .map(|std| position(std, &column.column))
            .transpose()?;
        columns.push(ResolvedColumn {
            mapping: column,
            index,
            std_index,
            unit: parse_unit(&column.column, "unit", &column.unit)?,
            stored: parse_unit(&column.column, "to_unit", column.stored_unit())?,
        });
    }
    Ok(columns)
}

/// The cells of one table row, by column index (a missing cell reads as empty).
trait RowCells {
    /// The text of cell `index`.
    fn cell(&self, index: usize) -> &str;
}

impl RowCells for csv::StringRecord {
    fn cell(&self, index: usize) -> &str {
        self.get(index).unwrap_or("")
    }
}

impl RowCells for Vec<String> {
    fn cell(&self, index: usize) -> &str {
        self.get(index).map_or("", String::as_str)
    }
}

struct ResolvedColumn<'a> {
    mapping: &'a ColumnMapping,
    index: usize,
    std_index: Option<usize>,
    unit: Unit,
    stored: Unit,
}

/// One table row → an experiment's values (`None`: the row is skipped).
fn convert_row(
    record: &impl RowCells,
    line: u64,
    source_name: &str,
    columns: &[ResolvedColumn],
    mapping: &TableMapping,
) -> Result<Option<ImportedRow>> {
    let label = format!("{source_name} row {line}");
    let mut parameters = BTreeMap::new();
    let mut results = Vec::new();
    let mut conditions = BTreeMap::new();
    for column in columns {
        let field = format!("column '{}'", column.mapping.column);
        let cell = record.cell(column.index).trim();
        if cell.is_empty() {
            match mapping.empty_cells {
                EmptyCells::Skip => continue,
                EmptyCells::SkipRow => return Ok(None),
                EmptyCells::Error => {
                    return Err(StoreError::invalid(&label, &field, "the cell is empty"))
                }
            }
        }
        let value = parse_number(cell, &label, &field)?;
        let unit_text = &column.mapping.unit;
        if let Some(min) = column.mapping.min.filter(|min| value < *min) {
            return Err(StoreError::invalid(
                &label,
                &field,
                format!("{value} {unit_text} is below the minimum {min} {unit_text}"),
            ));
        }
        if let Some(max) = column.mapping.max.filter(|max| value > *max) {
            return Err(StoreError::invalid(
                &label,
                &field,
                format!("{value} {unit_text} is above the maximum {max} {unit_text}"),
            ));
        }
        let convert = |v: f64| {
            column
                .unit
                .convert(v, &column.stored)
                .map_err(|e| StoreError::invalid(&label, &field, e.to_string()))
        };
        let stored_value = convert(value)?;
        let std = match column.std_index {
            Some(index) => {
                let std_field = format!(
                    "column '{}'",
                    column.mapping.std_column.as_deref().unwrap_or("")
                );
                let text = record.cell(index).trim();
                if text.is_empty() {
                    None
                } else {
                    let std = parse_number(text, &label, &std_field)?;
                    if std < 0.0 {
                        return Err(StoreError::invalid(
                            &label,
                            &std_field,
                            format!("a standard deviation cannot be negative ({std})"),
                        ));
                    }
                    // A spread converts without the offset of an affine unit (degC → K).
                    Some(
                        column
                            .unit
                            .convert_difference(std, &column.stored)
                            .map_err(|e| StoreError::invalid(&label, &std_field, e.to_string()))?,
                    )
                }
            }
            None => None,
        };
        let name = &column.mapping.name;
        let stored_unit = column.mapping.stored_unit().to_string();
        if let Some(template) = &mapping.template {
            let attribute = Attribute {
                name: name.clone(),
                value: AttributeValue::Nominal {
                    value: stored_value,
                },
                unit: stored_unit.clone(),
                origin: Origin::Measured,
            };
            template.check(&[attribute], false).map_err(|e| {
                StoreError::invalid(&label, &field, format!("{}: {}", e.field, e.problem))
            })?;
        }
        let quantity = Quantity {
            value: stored_value,
            unit: stored_unit,
            std,
        };
        match column.mapping.role {
            ColumnRole::Parameter => {
                parameters.insert(name.clone(), quantity);
            }
            ColumnRole::Condition => {
                conditions.insert(name.clone(), quantity);
            }
            ColumnRole::Result => results.push(PropertyValue {
                name: name.clone(),
                quantity,
                origin: Origin::Measured,
                method: column
                    .mapping
                    .method
                    .clone()
                    .unwrap_or_else(|| "imported".to_string()),
            }),
        }
    }
    let run_steps = if conditions.is_empty() {
        Vec::new()
    } else {
        vec![ProcessStep {
            index: 1,
            action: "imported conditions".to_string(),
            setpoints: BTreeMap::new(),
            actuals: conditions,
            start: None,
            duration: None,
            device: "imported".to_string(),
        }]
    };
    Ok(Some(ImportedRow {
        row: line,
        recipe: Recipe { parameters },
        results,
        run_steps,
    }))
}

fn parse_number(cell: &str, label: &str, field: &str) -> Result<f64> {
    cell.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            StoreError::invalid(label, field, format!("'{cell}' is not a finite number"))
        })
}
