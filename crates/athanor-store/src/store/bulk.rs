//! Bulk ingest: many finished experiments (each with its measurements and result values) in one
//! transaction, written table by table in batches.
//!
//! The per-record paths (`record_completed`, `record_planned`) run one statement per row with
//! a label and error context each: an experiment with a measurement and ten values is about
//! sixteen statements, and on PostgreSQL sixteen round trips. Here rows are validated as they
//! arrive (labels for error messages are only built when a check fails), collected per table
//! for [`INGEST_BATCH`] experiments and written with the backend's bulk insert
//! (`Tx::insert_rows`: on SQLite one cached single-row statement stepped per row, which needs
//! no statement journal and no SQL parsing; on PostgreSQL `COPY … FROM STDIN (FORMAT binary)`,
//! one stream and no planning), in foreign-key order (experiments, then their recipe values,
//! measurements and results). The stored rows and indexes are exactly those of the per-record
//! paths. [`Store::import_records`] sends its experiments through the same batches.
//!
//! Compared on the same machine and load with the multi-row `INSERT`s this replaced (and
//! SQLite's default 2 MiB page cache), SQLite needs about a quarter less CPU time per
//! experiment and PostgreSQL about 15 % less wall time. What remains is the B-tree work of the
//! indexes and, on PostgreSQL, the per-row foreign-key triggers. Schema version 4 cut the
//! B-tree entries per experiment on SQLite from 48 to 34 (results and recipe values clustered
//! on their primary keys, no index entry for a measurement without a raw file) and replaced a
//! check that built a temporary B-tree per result row: about 13 % less CPU time per
//! experiment. Schema version 5 keys results and recipe values by the experiment's number
//! (assigned here, counting on from the store's largest) instead of its 36-character UUID:
//! smaller rows, integer key comparisons and a smaller index rebuild, about 30 % more
//! experiments per second on SQLite. 13 entries per experiment still land at random places of
//! the value indexes that make search fast; a large write therefore drops those indexes and
//! rebuilds them before its commit (and, on PostgreSQL, checks its foreign keys in one pass):
//! see `deferred_indexes.rs`.

use super::deferred_indexes::IndexDeferral;
use super::{
    check_and_register_measurement_blob, check_not_blank, check_quantity,
    first_free_experiment_num, insert_analysis, insert_steps, origin_str, query_rows, to_json,
    to_json_infallible, ExperimentRow, StepKind,
};
use crate::backend::{insert_rows, params, Tx, Value};
use crate::error::{db_boxed, Result, StoreError};
use crate::objects::ObjectStorage;
use crate::records::ExperimentRecord;
use crate::store::Store;
use athanor_model::ids::new_id;
use std::collections::BTreeSet;

/// Experiments collected before their rows are written (a few thousand rows per table).
pub(crate) const INGEST_BATCH: usize = 500;

impl Store {
    /// Writes finished (or planned/failed) experiments of existing campaigns, keeping their
    /// ids, lab ids, statuses and timestamps, in ONE write transaction: the bulk path for a lab
    /// that has many measurements to record at once (instrument back-logs, migrations, the
    /// `athanor bench store` ingest figure). Returns the number of experiments written.
    ///
    /// Every experiment is checked as [`Store::import_records`] checks it (its campaign must be
    /// in the store, numbers finite, names non-empty, referenced blobs stored with the stated
    /// size); if any is rejected, or the iterator yields an error, nothing is written. Ids and
    /// `(campaign, seq)` pairs that already exist are errors (the database's unique keys).
    /// Memory stays bounded: rows are written every [`INGEST_BATCH`] experiments. Planner
    /// states are not part of an experiment record and are not written (as with an import,
    /// where they are records of their own).
    pub fn ingest_experiments(
        &self,
        experiments: impl IntoIterator<Item = Result<ExperimentRecord>>,
    ) -> Result<u64> {
        self.backend.write("ingest experiments", |tx| {
            let mut batch = Batch::new(self.index_deferral_after);
            let mut known_campaigns = BTreeSet::new();
            let mut count = 0u64;
            for experiment in experiments {
                let experiment = experiment?;
                count += 1;
                let label = format!("ingested experiment {count} ({})", experiment.lab_id);
                if !known_campaigns.contains(&experiment.campaign_id) {
                    check_campaign(tx, &experiment.campaign_id, &label)?;
                    known_campaigns.insert(experiment.campaign_id.clone());
                }
                batch.add(tx, &self.objects, experiment, &label)?;
                if batch.len() >= INGEST_BATCH {
                    batch.flush(tx)?;
                }
            }
            batch.finish(tx)?;
            Ok(count)
        })
    }

    /// Runs fixed SQL statements (SQLite placeholders, no parameters) in one write
    /// transaction: the benchmark's bulk graph builder (`bench::build_lineage_graph`), which
    /// writes a million rows with `INSERT … SELECT` instead of a million API calls.
    pub(crate) fn execute_bulk_sql(&self, what: &str, statements: &[String]) -> Result<()> {
        self.backend.write(what, |tx| {
            for sql in statements {
                tx.execute(sql, &[])
                    .map_err(db_boxed(format!("{what}: {sql}")))?;
            }
            Ok(())
        })
    }
}

/// The campaign must already be in the store (ingest writes experiments, not campaigns).
fn check_campaign(tx: &mut dyn Tx, campaign_id: &str, label: &str) -> Result<()> {
    let known = query_rows(
        tx,
        "SELECT lab_id FROM campaigns WHERE id = ?1",
        params![campaign_id],
        &format!("look up the campaign of {label}"),
        |row| row.text(0),
    )?;
    if known.is_empty() {
        return Err(StoreError::invalid(
            label,
            "campaign_id",
            format!("campaign {campaign_id} is not in the store"),
        ));
    }
    Ok(())
}

/// Whether `check_not_blank` would refuse `value`.
fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

/// Whether `check_quantity` would accept `quantity`.
fn is_valid_quantity(quantity: &athanor_model::Quantity) -> bool {
    quantity.value.is_finite() && quantity.std.is_none_or(|std| std.is_finite() && std >= 0.0)
}

/// Rows of up to [`INGEST_BATCH`] experiments, one flat value list per table; shared by
/// [`Store::ingest_experiments`] and the experiments of [`Store::import_records`]. A large
/// write defers the value indexes ([`IndexDeferral`]); [`Batch::finish`] ends it.
pub(super) struct Batch {
    /// The experiments themselves (steps and analyses are written per row after the flush of
    /// their experiment rows, since they reference them).
    experiments: Vec<ExperimentRecord>,
    experiment_rows: Vec<Value>,
    recipe_values: Vec<Value>,
    measurements: Vec<Value>,
    results: Vec<Value>,
    /// The first experiment's label, to name the batch in database errors.
    first_label: Option<String>,
    /// The number (`experiments.num`) of the next experiment added; taken from the store at
    /// the first one. Only the batch adds experiments while its write runs.
    next_num: Option<i64>,
    /// Counts the experiments written and drops the value indexes once the write is large.
    deferral: IndexDeferral,
}

const EXPERIMENT_COLUMNS: &[&str] = &[
    "id",
    "lab_id",
    "campaign_id",
    "seq",
    "status",
    "recipe_json",
    "planner_note_json",
    "failure",
    "planned_at",
    "completed_at",
    "num",
];
const RECIPE_VALUE_COLUMNS: &[&str] = &["experiment_num", "name", "value", "unit"];
const MEASUREMENT_COLUMNS: &[&str] = &[
    "id",
    "experiment_id",
    "position",
    "technique",
    "instrument",
    "blob_hash",
    "blob_media_type",
    "blob_file_name",
    "conditions_json",
];
const RESULT_COLUMNS: &[&str] = &[
    "experiment_num",
    "position",
    "name",
    "value",
    "std",
    "unit",
    "origin",
    "method",
];

impl Batch {
    /// An empty batch of a write that considers deferring the value indexes after
    /// `index_deferral_after` experiments ([`crate::StoreConfig::index_deferral_after`]).
    pub(super) fn new(index_deferral_after: Option<u64>) -> Batch {
        Batch {
            experiments: Vec::new(),
            experiment_rows: Vec::new(),
            recipe_values: Vec::new(),
            measurements: Vec::new(),
            results: Vec::new(),
            first_label: None,
            next_num: None,
            deferral: IndexDeferral::new(index_deferral_after),
        }
    }

    /// Writes what is queued and rebuilds any deferred index: the end of a bulk write.
    /// Returns the number of indexes rebuilt.
    pub(super) fn finish(&mut self, tx: &mut dyn Tx) -> Result<u32> {
        // No deferral now: dropping an index only to rebuild it at once would not pay.
        self.write_queued(tx)?;
        self.deferral.finish(tx)
    }

    /// The number of experiments queued.
    pub(super) fn len(&self) -> usize {
        self.experiments.len()
    }

    /// Validates one experiment and queues its rows; `label` names it in errors.
    pub(super) fn add(
        &mut self,
        tx: &mut dyn Tx,
        objects: &ObjectStorage,
        experiment: ExperimentRecord,
        label: &str,
    ) -> Result<()> {
        check_not_blank(label, "id", &experiment.id)?;
        check_not_blank(label, "planned_at", &experiment.planned_at)?;
        for (name, quantity) in &experiment.recipe.parameters {
            check_quantity(label, &format!("recipe parameter '{name}'"), quantity)?;
        }
        let num = match self.next_num {
            Some(num) => num,
            None => first_free_experiment_num(tx)?,
        };
        self.next_num = Some(num + 1);
        self.experiment_rows.extend([
            Value::from(&experiment.id),
            Value::from(&experiment.lab_id),
            Value::from(&experiment.campaign_id),
            Value::from(experiment.seq),
            Value::from(experiment.status.as_str()),
            Value::from(to_json(&experiment.recipe, label, "recipe")?),
            Value::from(to_json(&experiment.planner_note, label, "planner note")?),
            Value::from(experiment.failure.as_deref()),
            Value::from(&experiment.planned_at),
            Value::from(experiment.completed_at.as_deref()),
            Value::from(num),
        ]);
        for (name, quantity) in &experiment.recipe.parameters {
            self.recipe_values.extend([
                Value::from(num),
                Value::from(name),
                Value::from(quantity.value),
                Value::from(&quantity.unit),
            ]);
        }
        for (index, measurement) in experiment.measurements.iter().enumerate() {
            // Labels are built only when a check fails or a blob is registered: a bulk ingest
            // validates millions of values, nearly all fine.
            let record = || {
                format!(
                    "{label} measurement {} ({})",
                    index + 1,
                    measurement.technique
                )
            };
            if is_blank(&measurement.technique) || is_blank(&measurement.instrument) {
                check_not_blank(&record(), "technique", &measurement.technique)?;
                check_not_blank(&record(), "instrument", &measurement.instrument)?;
            }
            if let Some(blob) = &measurement.blob {
                // Registers the blob row now: it precedes the measurement rows of the flush.
                check_and_register_measurement_blob(tx, objects, blob, &record())?;
            }
            self.measurements.extend([
                Value::from(new_id()),
                Value::from(&experiment.id),
                Value::from(index),
                Value::from(&measurement.technique),
                Value::from(&measurement.instrument),
                Value::from(measurement.blob.as_ref().map(|b| &b.hash)),
                Value::from(measurement.blob.as_ref().map(|b| &b.media_type)),
                Value::from(measurement.blob.as_ref().map(|b| &b.file_name)),
                Value::from(to_json_infallible(&measurement.conditions)),
            ]);
        }
        for (index, result) in experiment.results.iter().enumerate() {
            if is_blank(&result.name)
                || is_blank(&result.method)
                || !is_valid_quantity(&result.quantity)
            {
                let record = format!("{label} result {} ({})", index + 1, result.name);
                check_not_blank(&record, "name", &result.name)?;
                check_not_blank(&record, "method", &result.method)?;
                check_quantity(&record, "value", &result.quantity)?;
            }
            self.results.extend([
                Value::from(num),
                Value::from(index),
                Value::from(&result.name),
                Value::from(result.quantity.value),
                Value::from(result.quantity.std),
                Value::from(&result.quantity.unit),
                Value::from(origin_str(result.origin)),
                Value::from(&result.method),
            ]);
        }
        if self.first_label.is_none() {
            self.first_label = Some(label.to_string());
        }
        self.experiments.push(experiment);
        Ok(())
    }

    /// Writes the queued rows; then, if the write has become large, defers the value indexes
    /// for the rest of it.
    pub(super) fn flush(&mut self, tx: &mut dyn Tx) -> Result<()> {
        let written = self.write_queued(tx)?;
        self.deferral.note_written(tx, written)
    }

    /// Writes the queued rows (experiments first: the other tables reference them); returns
    /// the number of experiments written.
    fn write_queued(&mut self, tx: &mut dyn Tx) -> Result<u64> {
        let Some(first) = self.first_label.take() else {
            return Ok(0);
        };
        let what = format!(
            "insert a batch of {} experiments starting with {first}",
            self.experiments.len()
        );
        for (table, columns, values) in [
            ("experiments", EXPERIMENT_COLUMNS, &self.experiment_rows),
            ("recipe_values", RECIPE_VALUE_COLUMNS, &self.recipe_values),
            ("measurements", MEASUREMENT_COLUMNS, &self.measurements),
            ("results", RESULT_COLUMNS, &self.results),
        ] {
            insert_rows(tx, table, columns, values)
                .map_err(db_boxed(format!("{what} ({table})")))?;
        }
        let written = self.experiments.len() as u64;
        for experiment in self.experiments.drain(..) {
            let label = format!("experiment {}", experiment.lab_id);
            insert_steps(
                tx,
                &experiment.id,
                &label,
                StepKind::Spec,
                &experiment.spec_steps,
            )?;
            insert_steps(
                tx,
                &experiment.id,
                &label,
                StepKind::Run,
                &experiment.run_steps,
            )?;
            if experiment.analyses.is_empty() {
                continue;
            }
            let row = ExperimentRow {
                id: experiment.id.clone(),
                lab_id: experiment.lab_id.clone(),
                campaign_id: experiment.campaign_id.clone(),
                seq: experiment.seq,
                status: experiment.status.as_str().to_string(),
                recipe_json: String::new(),
                planner_note_json: String::new(),
                failure: experiment.failure.clone(),
                planned_at: experiment.planned_at.clone(),
                completed_at: experiment.completed_at.clone(),
            };
            for (index, analysis) in experiment.analyses.iter().enumerate() {
                insert_analysis(tx, &row, index, analysis)?;
            }
        }
        self.experiment_rows.clear();
        self.recipe_values.clear();
        self.measurements.clear();
        self.results.clear();
        Ok(written)
    }
}
