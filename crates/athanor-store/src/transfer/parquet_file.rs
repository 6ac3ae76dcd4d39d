//! Parquet export and import: the store's experiments as one flat, typed table for analysis
//! tools (pandas, Polars, DuckDB, Spark), with the units in the column metadata.
//!
//! ## Layout (`athanor-parquet`, version 1)
//!
//! One row per experiment (and one per campaign that has none), in export order (campaigns by
//! lab id, experiments by seq). Columns, in this order:
//!
//! * the campaign: `campaign_id`, `campaign` (lab id), `campaign_name`, `campaign_seed`
//!   (UInt64), `campaign_config_hash`, `campaign_config_text`, `campaign_budget` (UInt32),
//!   `campaign_status`, `campaign_created_at` — repeated on each of its rows (dictionary
//!   encoding stores each distinct value once per row group);
//! * the experiment (null on a campaign's own row): `id`, `lab_id`, `seq` (UInt32), `status`,
//!   `planned_at`, `completed_at`, `failure`, and the nested parts as JSON text, in the
//!   exchange format's layout: `planner_note_json`, `spec_steps_json`, `run_steps_json`,
//!   `measurements_json`, `analyses_json`;
//! * per recipe parameter: `recipe.NAME` and `recipe.NAME.std` (Float64);
//! * per result: `NAME`, `NAME.std` (Float64), `NAME.origin`, `NAME.method` (text).
//!
//! Every quantity column carries Arrow field metadata `unit` (the unit symbol, e.g. `nm`),
//! `athanor.kind` (`recipe` or `result`), `athanor.name` and `athanor.part` (`value`, `std`,
//! `origin`, `method`); a reader such as pyarrow shows it as `schema.field("d50").metadata`.
//! A name stored in more than one unit gets one column set per unit, named `NAME [UNIT]`
//! (no value is converted). Timestamps are RFC 3339 text, as in the store. The file's
//! key-value metadata holds `athanor.format = athanor-parquet` and `athanor.version = 1`.
//!
//! Rows are written in record batches of [`ROWS_PER_BATCH`] and row groups of
//! [`ROWS_PER_ROW_GROUP`] (Snappy-compressed), and read back batch by batch, so both
//! directions stream: memory holds one row group, not the store.
//!
//! ## Round trip
//!
//! Import ([`import_parquet`]) writes the campaigns and experiments back in one transaction
//! through [`Store::import_records`] (ids, lab ids, statuses and timestamps kept). Exporting
//! the imported store gives the same table. The table is a view of experiments: within an
//! experiment, results come back in column order (by name, then unit) rather than in their
//! recorded order, a result name may appear once per unit, and the provenance graph, planner
//! states and blob bytes are not part of it — the JSON-lines exchange format carries
//! everything.

use crate::error::{Result, StoreError};
use crate::records::{CampaignRecord, CampaignStatus, ExperimentRecord, ExperimentStatus};
use crate::store::Store;
use crate::transfer::ExchangeRecord;
use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use athanor_model::{Origin, PropertyValue, Quantity, Recipe};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The `athanor.format` value in a Parquet file's key-value metadata.
pub const PARQUET_FORMAT: &str = "athanor-parquet";
/// The layout version this build writes and reads.
pub const PARQUET_VERSION: u32 = 1;
/// Rows per record batch handed to the writer (and read back at a time).
pub const ROWS_PER_BATCH: usize = 8_192;
/// Rows per row group: the unit the writer buffers in memory before it writes.
pub const ROWS_PER_ROW_GROUP: usize = 65_536;

/// The fixed leading columns: name and type (all nullable except where a campaign row could
/// not leave them empty).
const FIXED_COLUMNS: [(&str, DataType); 21] = [
    ("campaign_id", DataType::Utf8),
    ("campaign", DataType::Utf8),
    ("campaign_name", DataType::Utf8),
    ("campaign_seed", DataType::UInt64),
    ("campaign_config_hash", DataType::Utf8),
    ("campaign_config_text", DataType::Utf8),
    ("campaign_budget", DataType::UInt32),
    ("campaign_status", DataType::Utf8),
    ("campaign_created_at", DataType::Utf8),
    ("id", DataType::Utf8),
    ("lab_id", DataType::Utf8),
    ("seq", DataType::UInt32),
    ("status", DataType::Utf8),
    ("planned_at", DataType::Utf8),
    ("completed_at", DataType::Utf8),
    ("failure", DataType::Utf8),
    ("planner_note_json", DataType::Utf8),
    ("spec_steps_json", DataType::Utf8),
    ("run_steps_json", DataType::Utf8),
    ("measurements_json", DataType::Utf8),
    ("analyses_json", DataType::Utf8),
];

/// Whether a quantity column set holds a recipe parameter or a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuantityKind {
    Recipe,
    Result,
}

impl QuantityKind {
    fn as_str(self) -> &'static str {
        match self {
            QuantityKind::Recipe => "recipe",
            QuantityKind::Result => "result",
        }
    }

    /// The parts (columns) of one quantity, in column order.
    fn parts(self) -> &'static [&'static str] {
        match self {
            QuantityKind::Recipe => &["value", "std"],
            QuantityKind::Result => &["value", "std", "origin", "method"],
        }
    }
}

/// One recipe parameter or result in one unit: a set of adjacent columns.
#[derive(Debug, Clone)]
struct QuantitySet {
    kind: QuantityKind,
    /// Index of its first column.
    first_column: usize,
}

/// The table's schema and its quantity column sets.
struct Layout {
    schema: SchemaRef,
    sets: Vec<QuantitySet>,
    /// `(kind, name, unit)` → index into `sets`.
    index: BTreeMap<(&'static str, String, String), usize>,
}

impl Layout {
    fn new(recipe: &[(String, String)], results: &[(String, String)]) -> Layout {
        let mut fields: Vec<Field> = FIXED_COLUMNS
            .iter()
            .map(|(name, data_type)| Field::new(*name, data_type.clone(), true))
            .collect();
        let mut sets = Vec::new();
        let mut index = BTreeMap::new();
        for (kind, pairs) in [
            (QuantityKind::Recipe, recipe),
            (QuantityKind::Result, results),
        ] {
            let mut units_per_name: BTreeMap<&str, usize> = BTreeMap::new();
            for (name, _) in pairs {
                *units_per_name.entry(name.as_str()).or_default() += 1;
            }
            for (name, unit) in pairs {
                let base = match kind {
                    QuantityKind::Recipe => format!("recipe.{name}"),
                    QuantityKind::Result => name.clone(),
                };
                let base = if units_per_name[name.as_str()] > 1 {
                    format!("{base} [{unit}]")
                } else {
                    base
                };
                index.insert((kind.as_str(), name.clone(), unit.clone()), sets.len());
                sets.push(QuantitySet {
                    kind,
                    first_column: fields.len(),
                });
                for part in kind.parts() {
                    let (column, data_type) = match *part {
                        "value" => (base.clone(), DataType::Float64),
                        "std" => (format!("{base}.std"), DataType::Float64),
                        other => (format!("{base}.{other}"), DataType::Utf8),
                    };
                    let metadata = HashMap::from([
                        ("unit".to_string(), unit.clone()),
                        ("athanor.kind".to_string(), kind.as_str().to_string()),
                        ("athanor.name".to_string(), name.clone()),
                        ("athanor.part".to_string(), part.to_string()),
                    ]);
                    fields.push(Field::new(column, data_type, true).with_metadata(metadata));
                }
            }
        }
        Layout {
            schema: Arc::new(Schema::new(fields)),
            sets,
            index,
        }
    }
}

/// A column being filled.
enum ColumnBuilder {
    Text(StringBuilder),
    Real(Float64Builder),
    Count(UInt32Builder),
    Seed(UInt64Builder),
}

impl ColumnBuilder {
    fn for_type(data_type: &DataType) -> ColumnBuilder {
        match data_type {
            DataType::Float64 => ColumnBuilder::Real(Float64Builder::new()),
            DataType::UInt32 => ColumnBuilder::Count(UInt32Builder::new()),
            DataType::UInt64 => ColumnBuilder::Seed(UInt64Builder::new()),
            _ => ColumnBuilder::Text(StringBuilder::new()),
        }
    }

    fn text(&mut self, value: Option<&str>) {
        if let ColumnBuilder::Text(builder) = self {
            builder.append_option(value);
        }
    }

    fn real(&mut self, value: Option<f64>) {
        if let ColumnBuilder::Real(builder) = self {
            builder.append_option(value);
        }
    }

    fn count(&mut self, value: Option<u32>) {
        if let ColumnBuilder::Count(builder) = self {
            builder.append_option(value);
        }
    }

    fn seed(&mut self, value: Option<u64>) {
        if let ColumnBuilder::Seed(builder) = self {
            builder.append_option(value);
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Text(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Real(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Count(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Seed(builder) => Arc::new(builder.finish()),
        }
    }
}

/// A `Write + Send` sink the Parquet writer fills; its bytes are moved to the caller's
/// (possibly non-`Send`, e.g. a locked stdout) writer after every batch, so at most one row
/// group's bytes wait here.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Write for Pending {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Pending {
    fn drain_into(&self, out: &mut dyn Write) -> Result<()> {
        let bytes = std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        out.write_all(&bytes).map_err(super::write_error)
    }
}

fn parquet_error(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::invalid("parquet", what, e.to_string())
}

fn json_text<T: serde::Serialize>(value: &T, record: &str, field: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(record, field, format!("cannot be written as JSON: {e}")))
}

/// The rows being collected for the next record batch.
struct Rows<'l> {
    layout: &'l Layout,
    columns: Vec<ColumnBuilder>,
    len: usize,
}

impl<'l> Rows<'l> {
    fn new(layout: &'l Layout) -> Rows<'l> {
        let columns = layout
            .schema
            .fields()
            .iter()
            .map(|field| ColumnBuilder::for_type(field.data_type()))
            .collect();
        Rows {
            layout,
            columns,
            len: 0,
        }
    }

    /// Appends one row: the campaign, and the experiment unless this is the row of a campaign
    /// without experiments.
    fn push(
        &mut self,
        campaign: &CampaignRecord,
        experiment: Option<&ExperimentRecord>,
    ) -> Result<()> {
        let layout = self.layout;
        let c = &mut self.columns;
        c[0].text(Some(&campaign.id));
        c[1].text(Some(&campaign.lab_id));
        c[2].text(Some(&campaign.name));
        c[3].seed(Some(campaign.seed));
        c[4].text(Some(&campaign.config_hash));
        c[5].text(Some(&campaign.config_text));
        c[6].count(Some(campaign.budget));
        c[7].text(Some(campaign.status.as_str()));
        c[8].text(Some(&campaign.created_at));
        // Which quantity set holds which value of this row.
        let mut recipe_values: Vec<Option<&Quantity>> = vec![None; layout.sets.len()];
        let mut result_values: Vec<Option<&PropertyValue>> = vec![None; layout.sets.len()];
        match experiment {
            Some(e) => {
                let record = format!("experiment {}", e.lab_id);
                c[9].text(Some(&e.id));
                c[10].text(Some(&e.lab_id));
                c[11].count(Some(e.seq));
                c[12].text(Some(e.status.as_str()));
                c[13].text(Some(&e.planned_at));
                c[14].text(e.completed_at.as_deref());
                c[15].text(e.failure.as_deref());
                c[16].text(Some(&json_text(&e.planner_note, &record, "planner note")?));
                c[17].text(Some(&json_text(&e.spec_steps, &record, "spec steps")?));
                c[18].text(Some(&json_text(&e.run_steps, &record, "run steps")?));
                c[19].text(Some(&json_text(&e.measurements, &record, "measurements")?));
                c[20].text(Some(&json_text(&e.analyses, &record, "analyses")?));
                for (name, quantity) in &e.recipe.parameters {
                    let set = set_of(layout, "recipe", name, &quantity.unit, &record)?;
                    recipe_values[set] = Some(quantity);
                }
                for result in &e.results {
                    let set = set_of(
                        layout,
                        "result",
                        &result.name,
                        &result.quantity.unit,
                        &record,
                    )?;
                    if result_values[set].replace(result).is_some() {
                        return Err(StoreError::invalid(
                            &record,
                            "results",
                            format!(
                                "result '{}' [{}] appears twice; a table has one column per \
                                 name and unit (export as json instead)",
                                result.name, result.quantity.unit
                            ),
                        ));
                    }
                }
            }
            None => {
                for column in &mut c[9..FIXED_COLUMNS.len()] {
                    column.text(None);
                    column.count(None);
                }
            }
        }
        for (index, set) in layout.sets.iter().enumerate() {
            let first = set.first_column;
            match set.kind {
                QuantityKind::Recipe => {
                    let quantity = recipe_values[index];
                    c[first].real(quantity.map(|q| q.value));
                    c[first + 1].real(quantity.and_then(|q| q.std));
                }
                QuantityKind::Result => {
                    let result = result_values[index];
                    c[first].real(result.map(|r| r.quantity.value));
                    c[first + 1].real(result.and_then(|r| r.quantity.std));
                    c[first + 2].text(result.map(|r| origin_text(r.origin)));
                    c[first + 3].text(result.map(|r| r.method.as_str()));
                }
            }
        }
        self.len += 1;
        Ok(())
    }

    fn take_batch(&mut self) -> Result<RecordBatch> {
        let arrays = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.len = 0;
        RecordBatch::try_new(self.layout.schema.clone(), arrays)
            .map_err(|e| parquet_error("record batch", e))
    }
}

/// The quantity set of `(kind, name, unit)`.
fn set_of(
    layout: &Layout,
    kind: &'static str,
    name: &str,
    unit: &str,
    record: &str,
) -> Result<usize> {
    layout
        .index
        .get(&(kind, name.to_string(), unit.to_string()))
        .copied()
        .ok_or_else(|| {
            StoreError::invalid(
                record,
                kind,
                format!(
                    "'{name}' [{unit}] was written while the export ran (it is not among \
                     the columns); export again"
                ),
            )
        })
}

fn origin_text(origin: Origin) -> &'static str {
    match origin {
        Origin::Specified => "specified",
        Origin::Measured => "measured",
        Origin::Computed => "computed",
        Origin::Predicted => "predicted",
    }
}

/// Writes the store's campaigns and experiments as a Parquet table (see the module docs),
/// streaming; returns the number of rows.
pub(super) fn export_parquet(store: &Store, out: &mut dyn Write) -> Result<u64> {
    let columns = store.quantity_columns()?;
    let layout = Layout::new(&columns.recipe, &columns.results);
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROWS_PER_ROW_GROUP))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("athanor.format".to_string(), PARQUET_FORMAT.to_string()),
            KeyValue::new("athanor.version".to_string(), PARQUET_VERSION.to_string()),
        ]))
        .build();
    let pending = Pending::default();
    let mut writer = ArrowWriter::try_new(pending.clone(), layout.schema.clone(), Some(properties))
        .map_err(|e| parquet_error("writer", e))?;
    let mut rows = Rows::new(&layout);
    let mut campaigns: BTreeMap<String, CampaignRecord> = BTreeMap::new();
    let mut campaigns_in_order = Vec::new();
    let mut with_experiments = BTreeSet::new();
    let mut written = 0u64;
    store.for_each_record(false, |record| {
        match record {
            ExchangeRecord::Campaign(campaign) => {
                campaigns_in_order.push(campaign.id.clone());
                campaigns.insert(campaign.id.clone(), campaign);
            }
            ExchangeRecord::Experiment(experiment) => {
                let campaign = campaigns.get(&experiment.campaign_id).ok_or_else(|| {
                    StoreError::invalid(
                        format!("experiment {}", experiment.lab_id),
                        "campaign_id",
                        "its campaign was not exported before it",
                    )
                })?;
                with_experiments.insert(experiment.campaign_id.clone());
                rows.push(campaign, Some(&experiment))?;
                written += 1;
                if rows.len >= ROWS_PER_BATCH {
                    writer
                        .write(&rows.take_batch()?)
                        .map_err(|e| parquet_error("write", e))?;
                    pending.drain_into(out)?;
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    for id in &campaigns_in_order {
        if !with_experiments.contains(id) {
            rows.push(&campaigns[id], None)?;
            written += 1;
        }
    }
    if rows.len > 0 {
        writer
            .write(&rows.take_batch()?)
            .map_err(|e| parquet_error("write", e))?;
    }
    writer.close().map_err(|e| parquet_error("close", e))?;
    pending.drain_into(out)?;
    Ok(written)
}

/// Imports a Parquet table written by `athanor data export --format parquet` (see the module
/// docs) into `store`, streaming, in ONE transaction (see [`Store::import_records`]): each
/// campaign (before its first row), then each experiment. Errors name the row and column.
pub fn import_parquet(
    store: &Store,
    file: std::fs::File,
) -> Result<crate::transfer::ImportSummary> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| parquet_error("file", format!("not a readable Parquet file: {e}")))?;
    let metadata = builder.metadata().file_metadata().key_value_metadata();
    let format = metadata
        .and_then(|kv| kv.iter().find(|entry| entry.key == "athanor.format"))
        .and_then(|entry| entry.value.clone());
    if format.as_deref() != Some(PARQUET_FORMAT) {
        return Err(parquet_error(
            "athanor.format",
            format!(
                "the file's metadata names format {format:?}, not '{PARQUET_FORMAT}' \
                 (only tables exported by Athanor can be imported; use a CSV mapping for others)"
            ),
        ));
    }
    let version = metadata
        .and_then(|kv| kv.iter().find(|entry| entry.key == "athanor.version"))
        .and_then(|entry| entry.value.as_deref())
        .and_then(|v| v.parse::<u32>().ok());
    if version.is_none_or(|v| v == 0 || v > PARQUET_VERSION) {
        return Err(parquet_error(
            "athanor.version",
            format!(
                "version {version:?} is not supported (this build reads 1 to \
                 {PARQUET_VERSION}; use a newer Athanor)"
            ),
        ));
    }
    let reader = builder
        .with_batch_size(ROWS_PER_BATCH)
        .build()
        .map_err(|e| parquet_error("file", e))?;
    let records = ParquetRecords {
        reader,
        batch: None,
        row: 0,
        row_number: 0,
        queued: None,
        campaigns_seen: BTreeSet::new(),
        failed: false,
    };
    store.import_records(records)
}

/// Where each column of the file is.
struct Columns {
    fixed: Vec<usize>,
    /// Quantity columns: (kind, name, unit, part, column index), in file order.
    quantities: Vec<(QuantityKind, String, String, String, usize)>,
}

impl Columns {
    fn of(schema: &Schema) -> Result<Columns> {
        let mut fixed = Vec::new();
        for (name, data_type) in &FIXED_COLUMNS {
            let (index, field) = schema.column_with_name(name).ok_or_else(|| {
                parquet_error("columns", format!("the file has no column '{name}'"))
            })?;
            if field.data_type() != data_type {
                return Err(parquet_error(
                    name,
                    format!("is {}, expected {data_type}", field.data_type()),
                ));
            }
            fixed.push(index);
        }
        let mut quantities = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let metadata = field.metadata();
            let Some(kind) = metadata.get("athanor.kind") else {
                continue;
            };
            let kind = match kind.as_str() {
                "recipe" => QuantityKind::Recipe,
                "result" => QuantityKind::Result,
                other => {
                    return Err(parquet_error(
                        field.name(),
                        format!("unknown athanor.kind '{other}'"),
                    ))
                }
            };
            let get = |key: &str| {
                metadata.get(key).cloned().ok_or_else(|| {
                    parquet_error(field.name(), format!("the metadata has no '{key}'"))
                })
            };
            let part = get("athanor.part")?;
            let expected = match part.as_str() {
                "value" | "std" => DataType::Float64,
                "origin" | "method" if kind == QuantityKind::Result => DataType::Utf8,
                other => {
                    return Err(parquet_error(
                        field.name(),
                        format!("unknown athanor.part '{other}'"),
                    ))
                }
            };
            if field.data_type() != &expected {
                return Err(parquet_error(
                    field.name(),
                    format!("is {}, expected {expected}", field.data_type()),
                ));
            }
            quantities.push((kind, get("athanor.name")?, get("unit")?, part, index));
        }
        Ok(Columns { fixed, quantities })
    }
}

/// The rows of a Parquet file as exchange records, read batch by batch.
struct ParquetRecords {
    reader: ParquetRecordBatchReader,
    batch: Option<(RecordBatch, Columns)>,
    row: usize,
    /// 1-based number of the current row in the file, for messages.
    row_number: u64,
    /// An experiment waiting behind the campaign record emitted just before it.
    queued: Option<ExchangeRecord>,
    campaigns_seen: BTreeSet<String>,
    failed: bool,
}

impl Iterator for ParquetRecords {
    type Item = Result<ExchangeRecord>;

    fn next(&mut self) -> Option<Result<ExchangeRecord>> {
        if self.failed {
            return None;
        }
        if let Some(record) = self.queued.take() {
            return Some(Ok(record));
        }
        loop {
            if let Some((batch, columns)) = &self.batch {
                if self.row < batch.num_rows() {
                    let row = self.row;
                    self.row += 1;
                    self.row_number += 1;
                    let label = format!("parquet row {}", self.row_number);
                    let parsed = read_row(batch, columns, row, &label);
                    let (campaign, experiment) = match parsed {
                        Ok(parsed) => parsed,
                        Err(e) => {
                            self.failed = true;
                            return Some(Err(e));
                        }
                    };
                    let new_campaign = self.campaigns_seen.insert(campaign.id.clone());
                    return match (new_campaign, experiment) {
                        (true, Some(experiment)) => {
                            self.queued = Some(ExchangeRecord::Experiment(experiment));
                            Some(Ok(ExchangeRecord::Campaign(campaign)))
                        }
                        (true, None) => Some(Ok(ExchangeRecord::Campaign(campaign))),
                        (false, Some(experiment)) => {
                            Some(Ok(ExchangeRecord::Experiment(experiment)))
                        }
                        (false, None) => {
                            self.failed = true;
                            Some(Err(StoreError::invalid(
                                label,
                                "id",
                                format!(
                                    "a row without an experiment for campaign {}, which \
                                     earlier rows already named",
                                    campaign.lab_id
                                ),
                            )))
                        }
                    };
                }
            }
            match self.reader.next()? {
                Ok(batch) => match Columns::of(&batch.schema()) {
                    Ok(columns) => {
                        self.batch = Some((batch, columns));
                        self.row = 0;
                    }
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                },
                Err(e) => {
                    self.failed = true;
                    return Some(Err(parquet_error(
                        "file",
                        format!("cannot read after row {}: {e}", self.row_number),
                    )));
                }
            }
        }
    }
}

/// Typed access to one row's cells.
struct Cells<'b> {
    batch: &'b RecordBatch,
    row: usize,
    label: &'b str,
}

impl Cells<'_> {
    fn name(&self, column: usize) -> String {
        self.batch.schema().field(column).name().clone()
    }

    fn text(&self, column: usize) -> Result<Option<String>> {
        let array = self
            .batch
            .column(column)
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| StoreError::invalid(self.label, self.name(column), "is not text"))?;
        Ok((!array.is_null(self.row)).then(|| array.value(self.row).to_string()))
    }

    fn required_text(&self, column: usize) -> Result<String> {
        self.text(column)?
            .ok_or_else(|| StoreError::invalid(self.label, self.name(column), "is empty"))
    }

    fn real(&self, column: usize) -> Result<Option<f64>> {
        let array = self
            .batch
            .column(column)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| StoreError::invalid(self.label, self.name(column), "is not Float64"))?;
        Ok((!array.is_null(self.row)).then(|| array.value(self.row)))
    }

    fn count(&self, column: usize) -> Result<Option<u32>> {
        let array = self
            .batch
            .column(column)
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or_else(|| StoreError::invalid(self.label, self.name(column), "is not UInt32"))?;
        Ok((!array.is_null(self.row)).then(|| array.value(self.row)))
    }

    fn seed(&self, column: usize) -> Result<Option<u64>> {
        let array = self
            .batch
            .column(column)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .ok_or_else(|| StoreError::invalid(self.label, self.name(column), "is not UInt64"))?;
        Ok((!array.is_null(self.row)).then(|| array.value(self.row)))
    }

    fn json<T: serde::de::DeserializeOwned>(&self, column: usize) -> Result<T> {
        let text = self.required_text(column)?;
        serde_json::from_str(&text).map_err(|e| {
            StoreError::invalid(self.label, self.name(column), format!("invalid JSON: {e}"))
        })
    }

    fn parsed<T: serde::de::DeserializeOwned>(&self, column: usize) -> Result<T> {
        let text = self.required_text(column)?;
        serde_json::from_value(serde_json::Value::String(text.clone())).map_err(|_| {
            StoreError::invalid(
                self.label,
                self.name(column),
                format!("unknown value '{text}'"),
            )
        })
    }
}

/// One row: its campaign, and its experiment unless the experiment columns are empty.
fn read_row(
    batch: &RecordBatch,
    columns: &Columns,
    row: usize,
    label: &str,
) -> Result<(CampaignRecord, Option<ExperimentRecord>)> {
    let cells = Cells { batch, row, label };
    let f = &columns.fixed;
    let campaign = CampaignRecord {
        id: cells.required_text(f[0])?,
        lab_id: cells.required_text(f[1])?,
        name: cells.required_text(f[2])?,
        seed: cells
            .seed(f[3])?
            .ok_or_else(|| StoreError::invalid(label, "campaign_seed", "is empty"))?,
        config_hash: cells.required_text(f[4])?,
        config_text: cells.required_text(f[5])?,
        budget: cells
            .count(f[6])?
            .ok_or_else(|| StoreError::invalid(label, "campaign_budget", "is empty"))?,
        status: cells.parsed::<CampaignStatus>(f[7])?,
        created_at: cells.required_text(f[8])?,
    };
    let Some(id) = cells.text(f[9])? else {
        return Ok((campaign, None));
    };
    let mut recipe = Recipe::default();
    let mut results = Vec::new();
    let mut pending_result: Option<PropertyValue> = None;
    for (kind, name, unit, part, column) in &columns.quantities {
        match (kind, part.as_str()) {
            (QuantityKind::Recipe, "value") => {
                if let Some(value) = cells.real(*column)? {
                    recipe
                        .parameters
                        .insert(name.clone(), Quantity::new(value, unit));
                }
            }
            (QuantityKind::Recipe, _) => {
                if let Some(std) = cells.real(*column)? {
                    let quantity = recipe.parameters.get_mut(name).ok_or_else(|| {
                        StoreError::invalid(label, cells.name(*column), "a std without a value")
                    })?;
                    quantity.std = Some(std);
                }
            }
            (QuantityKind::Result, "value") => {
                results.extend(pending_result.take());
                if let Some(value) = cells.real(*column)? {
                    pending_result = Some(PropertyValue {
                        name: name.clone(),
                        quantity: Quantity::new(value, unit),
                        origin: Origin::Measured,
                        method: String::new(),
                    });
                }
            }
            (QuantityKind::Result, part) => {
                let Some(result) = pending_result.as_mut().filter(|r| r.name == *name) else {
                    if cells.text_or_real_present(*column)? {
                        return Err(StoreError::invalid(
                            label,
                            cells.name(*column),
                            "a value without its result's value column",
                        ));
                    }
                    continue;
                };
                match part {
                    "std" => result.quantity.std = cells.real(*column)?,
                    "origin" => result.origin = cells.parsed::<Origin>(*column)?,
                    _ => result.method = cells.required_text(*column)?,
                }
            }
        }
    }
    results.extend(pending_result.take());
    let experiment = ExperimentRecord {
        id,
        lab_id: cells.required_text(f[10])?,
        campaign_id: campaign.id.clone(),
        seq: cells
            .count(f[11])?
            .ok_or_else(|| StoreError::invalid(label, "seq", "is empty"))?,
        status: cells.parsed::<ExperimentStatus>(f[12])?,
        recipe,
        spec_steps: cells.json(f[17])?,
        run_steps: cells.json(f[18])?,
        results,
        measurements: cells.json(f[19])?,
        analyses: cells.json(f[20])?,
        planner_note: cells.json(f[16])?,
        failure: cells.text(f[15])?,
        planned_at: cells.required_text(f[13])?,
        completed_at: cells.text(f[14])?,
    };
    Ok((campaign, Some(experiment)))
}

impl Cells<'_> {
    /// Whether the cell holds anything (text or number columns alike).
    fn text_or_real_present(&self, column: usize) -> Result<bool> {
        Ok(!self.batch.column(column).is_null(self.row))
    }
}
