//! [`Store`]: the store's API, shared by both backends (SQLite and PostgreSQL). Everything here
//! is backend-neutral: SQL goes through [`Tx`] (see `backend/mod.rs` for the dialect rules).

use crate::backend::{params, Backend, DbError, PostgresBackend, Row, SqliteBackend, Tx, Value};
use crate::blobs;
use crate::config::{BackendKind, StoreConfig};
use crate::error::{db_boxed, Result, StoreError};
use crate::objects::ObjectStorage;
use crate::records::{
    AnalysisRecord, BlobRef, CampaignRecord, CampaignStatus, CompletedExperiment, ExperimentRecord,
    ExperimentStatus, IntegrityReport, MeasurementRecord, NewCampaign, PlannedExperiment,
};
use crate::timestamp::now_rfc3339;
use athanor_model::{ids::new_id, Origin, ProcessStep, PropertyValue, Quantity};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod bulk;
mod deferred_indexes;
mod exchange;
pub(crate) mod provenance;
mod search;

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE_NAME: &str = "athanor.sqlite";

/// Temporary blob files older than this are leftovers of killed writers (a live write of even a
/// large file takes seconds), so [`Store::open`] deletes them.
const STALE_TEMP_FILE_AGE: Duration = Duration::from_secs(3600);

/// All data of a lab: records in a database (SQLite, the embedded default, or PostgreSQL) and
/// content-addressed blob files under one data directory.
///
/// A `Store` is `Send + Sync`; its methods serialise on one connection. Several `Store`s (in one
/// or several processes) may open the same store: every write is a transaction that excludes
/// other writers from its start (SQLite: `BEGIN IMMEDIATE`, waiting up to a 30 s busy timeout;
/// PostgreSQL: a transaction-scoped advisory lock), so writers queue instead of failing or
/// deadlocking.
pub struct Store {
    data_dir: PathBuf,
    /// Where blob bytes live (local directory or object store; see `objects.rs`).
    objects: ObjectStorage,
    backend: Backend,
    /// See [`StoreConfig::index_deferral_after`].
    index_deferral_after: Option<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .field("database", &self.backend.location())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the SQLite store in `data_dir`, creating the directory, the database and the blob
    /// directory if needed, and applying any pending schema migrations.
    ///
    /// The connection runs in WAL mode with `synchronous = FULL` (a committed transaction
    /// survives a power cut) and foreign keys enforced.
    pub fn open(data_dir: &Path) -> Result<Store> {
        Store::open_with(&StoreConfig::sqlite(data_dir))
    }

    /// Opens the store `config` describes: SQLite in its data directory, or the PostgreSQL
    /// database of its `database_url` (blobs still in the data directory). Creates what is
    /// missing (directories, database file or PostgreSQL schema, tables) and applies pending
    /// migrations.
    pub fn open_with(config: &StoreConfig) -> Result<Store> {
        let kind = config.backend_kind()?;
        let data_dir = config.data_dir.as_path();
        fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::io("create the data directory", data_dir, e))?;
        // The local blob directory always exists (tests and tools rely on the layout), even
        // when blobs go to an object store.
        let local_objects = ObjectStorage::local(data_dir)?;
        let objects = match config.object_store_url.as_deref() {
            Some(url) => ObjectStorage::remote(url)?,
            None => local_objects,
        };
        let backend = match (kind, config.database_url.as_deref()) {
            (BackendKind::Postgres, Some(url)) => Backend::Postgres(Box::new(
                PostgresBackend::connect(url, config.postgres_schema.as_deref())?,
            )),
            _ => Backend::Sqlite(SqliteBackend::open(&data_dir.join(DATABASE_FILE_NAME))?),
        };
        objects.remove_stale_temp_files(STALE_TEMP_FILE_AGE);
        Ok(Store {
            data_dir: data_dir.to_path_buf(),
            objects,
            backend,
            index_deferral_after: config.index_deferral_after,
        })
    }

    /// Opens a store whose records are in the database at `database_url` (`postgres://…` or
    /// `postgresql://…`) and whose blobs are in `data_dir`; shorthand for
    /// [`Store::open_with`]`(&StoreConfig::postgres(database_url, data_dir))`.
    pub fn connect(database_url: &str, data_dir: &Path) -> Result<Store> {
        Store::open_with(&StoreConfig::postgres(database_url, data_dir))
    }

    /// Which database engine holds the records.
    pub fn backend_kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where the records are: for SQLite the database file; for PostgreSQL not a file but the
    /// server and database as `postgres://user@host:port/dbname` (never the password), followed
    /// by ` (schema NAME)` when a schema was configured.
    pub fn database_path(&self) -> PathBuf {
        self.backend.location()
    }

    /// The schema version of the open database (equals [`crate::SCHEMA_VERSION`] after `open`).
    pub fn schema_version(&self) -> Result<u32> {
        self.backend.schema_version()
    }

    // ----------------------------------------------------------------------------------------
    // Blobs
    // ----------------------------------------------------------------------------------------

    /// Stores `bytes` as a blob named by their SHA-256 and returns a reference to it.
    ///
    /// Idempotent: the same bytes are stored once, whatever the media type or file name. When it
    /// returns, the file is durable (fsynced, including its directory entry) and registered in
    /// the database, so records written afterwards can reference it. A process killed during the
    /// call leaves either no blob or the complete blob (plus, at worst, a temporary file).
    pub fn put_blob(&self, bytes: &[u8], media_type: &str, file_name: &str) -> Result<BlobRef> {
        let record = format!("blob '{file_name}'");
        check_not_blank(&record, "media type", media_type)?;
        check_file_name(&record, file_name)?;
        let hash = blobs::sha256_hex(bytes);
        self.objects.put(&hash, bytes)?;
        let blob = BlobRef {
            hash,
            size: bytes.len() as u64,
            media_type: media_type.to_string(),
            file_name: file_name.to_string(),
        };
        // Registered only after the file is durable: a row never points at a missing file.
        self.backend
            .autocommit(|tx| register_blob_row(tx, &blob, &record))?;
        Ok(blob)
    }

    /// Where the blob with this hash lives (whether or not it exists): its file in the data
    /// directory, or, with an object store, the object's URL (`s3://bucket/…/ab/cdef…`; not a
    /// local file). The hash is not validated; use [`Store::read_blob`] to read a blob safely.
    pub fn blob_path(&self, hash: &str) -> PathBuf {
        self.objects.location(hash)
    }

    /// Where blobs are kept: the local blob directory or the object store's URL and prefix
    /// (never credentials).
    pub fn blob_storage(&self) -> String {
        self.objects.describe()
    }

    /// Reads a blob, verifying that its content still hashes to `hash`.
    pub fn read_blob(&self, hash: &str) -> Result<Vec<u8>> {
        self.objects.read_verified(hash)
    }

    // ----------------------------------------------------------------------------------------
    // Campaigns
    // ----------------------------------------------------------------------------------------

    /// The most recently created campaign with this name, configuration hash and seed (the one
    /// to resume), if any.
    pub fn find_campaign(
        &self,
        name: &str,
        config_hash: &str,
        seed: u64,
    ) -> Result<Option<CampaignRecord>> {
        self.backend.read(|tx| {
            let mut found = query_campaigns(
                tx,
                "WHERE name = ?1 AND config_hash = ?2 AND seed = ?3 \
                 ORDER BY lab_number DESC LIMIT 1",
                params![name, config_hash, seed.to_string()],
            )?;
            Ok(found.pop())
        })
    }

    /// Creates a campaign in status `running` and assigns the next lab id (`C0001`, `C0002`, …).
    pub fn create_campaign(&self, new: &NewCampaign) -> Result<CampaignRecord> {
        let record = format!("new campaign '{}'", new.name);
        check_not_blank(&record, "name", &new.name)?;
        check_not_blank(&record, "config_hash", &new.config_hash)?;
        self.backend
            .write(&record, |tx| create_campaign_in(tx, new))
    }

    /// All campaigns in order of creation.
    pub fn campaigns(&self) -> Result<Vec<CampaignRecord>> {
        self.backend
            .read(|tx| query_campaigns(tx, "ORDER BY lab_number", &[]))
    }

    /// The campaign with this id or lab id.
    pub fn campaign(&self, id_or_lab_id: &str) -> Result<Option<CampaignRecord>> {
        self.backend
            .read(|tx| find_campaign_by_key(tx, id_or_lab_id))
    }

    /// Sets a campaign's status (`campaign_id` may be the id or the lab id).
    pub fn set_campaign_status(&self, campaign_id: &str, status: CampaignStatus) -> Result<()> {
        let changed = self.backend.autocommit(|tx| {
            tx.execute(
                "UPDATE campaigns SET status = ?2 WHERE id = ?1 OR lab_id = ?1",
                params![campaign_id, status.as_str()],
            )
            .map_err(db_boxed(format!(
                "set the status of campaign {campaign_id} to {status}"
            )))
        })?;
        if changed == 0 {
            return Err(not_found("campaign", campaign_id));
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // Experiments
    // ----------------------------------------------------------------------------------------

    /// Records an experiment the planner proposed, in status `planned`. Its lab id is the
    /// campaign's lab id plus the seq: `C0001-E007`. `seq` must be unique within the campaign.
    pub fn record_planned(&self, planned: &PlannedExperiment) -> Result<ExperimentRecord> {
        self.backend
            .write("record a planned experiment", |tx| plan_in(tx, planned))
    }

    /// Records everything about a planned experiment that has run, in ONE transaction: run steps,
    /// measurements (their blobs must already be stored), analyses, results, the planner state
    /// after this experiment, and the status change to `completed`. Either all of it is written
    /// or (on any error, or a crash) none of it.
    ///
    /// Fails with [`StoreError::NotFound`] for an unknown experiment and
    /// [`StoreError::NotPlanned`] for one already completed or failed. Rejected inputs (a
    /// non-finite number, a blob not in the store, planner state that is not JSON, …) give
    /// [`StoreError::InvalidInput`] naming the record and field.
    pub fn record_completed(&self, done: &CompletedExperiment) -> Result<()> {
        self.backend.write("record a completed experiment", |tx| {
            self.complete_in(tx, done, true)
        })
    }

    /// `record_completed`'s work inside a write transaction. Table imports pass
    /// `with_planner_state = false`: imported rows were not proposed by a planner.
    fn complete_in(
        &self,
        tx: &mut dyn Tx,
        done: &CompletedExperiment,
        with_planner_state: bool,
    ) -> Result<()> {
        let experiment = planned_experiment(tx, &done.experiment_id)?;
        let label = experiment.label();
        insert_steps(tx, &experiment.id, &label, StepKind::Run, &done.run_steps)?;
        for (index, measurement) in done.measurements.iter().enumerate() {
            insert_measurement(tx, &self.objects, &experiment, index, measurement)?;
        }
        for (index, analysis) in done.analyses.iter().enumerate() {
            insert_analysis(tx, &experiment, index, analysis)?;
        }
        for (index, result) in done.results.iter().enumerate() {
            insert_result(tx, &experiment, index, result)?;
        }
        if with_planner_state {
            insert_planner_state(tx, &experiment, &done.planner_state_json)?;
        }
        provenance::link_finished(tx, &experiment, Some(done), None)?;
        finish_experiment(tx, &experiment, ExperimentStatus::Completed, None)
    }

    /// Records that a planned experiment failed, with the reason and the planner state after the
    /// planner was told about the failure; one transaction.
    pub fn record_failed(
        &self,
        experiment_id: &str,
        reason: &str,
        planner_state_json: &str,
    ) -> Result<()> {
        self.backend.write("record a failed experiment", |tx| {
            let experiment = planned_experiment(tx, experiment_id)?;
            check_not_blank(&experiment.label(), "failure reason", reason)?;
            insert_planner_state(tx, &experiment, planner_state_json)?;
            provenance::link_finished(tx, &experiment, None, Some(reason))?;
            finish_experiment(tx, &experiment, ExperimentStatus::Failed, Some(reason))
        })
    }

    /// All experiments of a campaign (id or lab id), ordered by seq, each with its steps,
    /// measurements, analyses and results. Read from one consistent snapshot.
    pub fn experiments(&self, campaign_id: &str) -> Result<Vec<ExperimentRecord>> {
        // A read transaction: one snapshot even while other processes write.
        self.backend.read(|tx| {
            let campaign = find_campaign_by_key(tx, campaign_id)?
                .ok_or_else(|| not_found("campaign", campaign_id))?;
            let rows = query_rows(
                tx,
                &format!(
                    "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE campaign_id = ?1 \
                     ORDER BY seq"
                ),
                params![&campaign.id],
                "list experiments",
                ExperimentRow::from_row,
            )?;
            load_experiments(tx, rows)
        })
    }

    /// One experiment by id or lab id, with everything recorded about it.
    pub fn experiment(&self, id_or_lab_id: &str) -> Result<Option<ExperimentRecord>> {
        self.backend
            .read(|tx| match find_experiment_row(tx, id_or_lab_id)? {
                Some(row) => load_experiment(tx, row).map(Some),
                None => Ok(None),
            })
    }

    /// The planner state recorded with the highest seq of a campaign (id or lab id): the state
    /// from which to resume planning.
    pub fn latest_planner_state(&self, campaign_id: &str) -> Result<Option<(u32, String)>> {
        self.backend.read(|tx| {
            let campaign = find_campaign_by_key(tx, campaign_id)?
                .ok_or_else(|| not_found("campaign", campaign_id))?;
            Ok(query_rows(
                tx,
                "SELECT seq, state_json FROM planner_states WHERE campaign_id = ?1 \
                 ORDER BY seq DESC LIMIT 1",
                params![&campaign.id],
                &format!("read the planner state of campaign {}", campaign.lab_id),
                |row| Ok((row.u32(0)?, row.text(1)?)),
            )?
            .pop())
        })
    }

    /// Checks the whole store: the database engine's own checks (SQLite's `integrity_check`
    /// and `foreign_key_check`; PostgreSQL enforces foreign keys on every write), the
    /// life-cycle invariants (a finished experiment has its planner state; a planned one has no
    /// completion data; every experiment has its number) and every registered blob's file
    /// against its hash. Blob files that no record references are not problems (they are what
    /// a crash between `put_blob` and `record_*` leaves).
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let mut report = IntegrityReport {
            problems: self.backend.engine_problems()?,
            ..IntegrityReport::default()
        };
        let registered_blobs =
            self.backend.read(|tx| {
                let unstated = query_rows(
                    tx,
                    // Experiments imported from a table (transfer::table) were proposed by
                    // no planner, so they have no planner state.
                    "SELECT lab_id FROM experiments e WHERE status != 'planned' AND NOT EXISTS \
                 (SELECT 1 FROM planner_states p WHERE p.campaign_id = e.campaign_id \
                  AND p.seq = e.seq) \
                  AND e.planner_note_json NOT LIKE '%\"strategy\":\"imported\"%' \
                  ORDER BY lab_id",
                    &[],
                    "check planner states",
                    |row| row.text(0),
                )?;
                report.problems.extend(unstated.into_iter().map(|lab_id| {
                    format!("experiment {lab_id} is finished but has no planner state")
                }));
                let half_done = query_rows(
                    tx,
                    "SELECT lab_id FROM experiments e WHERE status = 'planned' AND (\
                 EXISTS (SELECT 1 FROM steps s WHERE s.experiment_id = e.id AND s.kind = 'run') \
                 OR EXISTS (SELECT 1 FROM measurements m WHERE m.experiment_id = e.id) \
                 OR EXISTS (SELECT 1 FROM analyses a WHERE a.experiment_id = e.id) \
                 OR EXISTS (SELECT 1 FROM results r WHERE r.experiment_num = e.num)) \
                 ORDER BY lab_id",
                    &[],
                    "check planned experiments",
                    |row| row.text(0),
                )?;
                report.problems.extend(half_done.into_iter().map(|lab_id| {
                    format!("experiment {lab_id} is still planned but has completion data")
                }));
                // SQLite could not add the column as NOT NULL (schema version 5).
                let unnumbered = query_rows(
                    tx,
                    "SELECT lab_id FROM experiments WHERE num IS NULL ORDER BY lab_id",
                    &[],
                    "check experiment numbers",
                    |row| row.text(0),
                )?;
                report.problems.extend(unnumbered.into_iter().map(|lab_id| {
                    format!(
                        "experiment {lab_id} has no experiment number, so no results or recipe \
                         values can refer to it"
                    )
                }));
                query_rows(
                    tx,
                    "SELECT hash, size FROM blobs ORDER BY hash",
                    &[],
                    "list blobs",
                    |row| Ok((row.text(0)?, row.opt_u64(1)?.unwrap_or(0))),
                )
            })?;
        // Hash the files without holding the connection: this is the slow part.
        for (hash, size) in registered_blobs {
            report.blobs_checked += 1;
            match self.read_blob(&hash) {
                Ok(bytes) if bytes.len() as u64 == size => {}
                Ok(bytes) => report.problems.push(format!(
                    "blob {hash} has {} bytes but is registered with {size}",
                    bytes.len()
                )),
                Err(error) => report.problems.push(error.to_string()),
            }
        }
        Ok(report)
    }
}

// --------------------------------------------------------------------------------------------
// Validation and JSON
// --------------------------------------------------------------------------------------------

/// `create_campaign`'s work inside a write transaction (also used by table imports).
fn create_campaign_in(tx: &mut dyn Tx, new: &NewCampaign) -> Result<CampaignRecord> {
    // Inside the write transaction (which excludes other writers), so concurrent
    // creators get distinct numbers.
    let lab_number = query_rows(
        tx,
        "SELECT COALESCE(MAX(lab_number), 0) + 1 FROM campaigns",
        &[],
        "choose the next campaign lab id",
        |row| row.int(0),
    )?
    .pop()
    .unwrap_or(1);
    let campaign = CampaignRecord {
        id: new_id(),
        lab_id: format!("C{lab_number:04}"),
        name: new.name.clone(),
        seed: new.seed,
        config_hash: new.config_hash.clone(),
        config_text: new.config_text.clone(),
        budget: new.budget,
        status: CampaignStatus::Running,
        created_at: now_rfc3339(),
    };
    insert_campaign_row(
        tx,
        &campaign,
        lab_number,
        format!("insert campaign {}", campaign.lab_id),
    )?;
    Ok(campaign)
}

/// Writes one `campaigns` row: the one INSERT that both creating and importing a campaign use.
fn insert_campaign_row(
    tx: &mut dyn Tx,
    campaign: &CampaignRecord,
    lab_number: i64,
    operation: String,
) -> Result<()> {
    tx.execute(
        "INSERT INTO campaigns (id, lab_number, lab_id, name, seed, config_hash, \
         config_text, budget, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            &campaign.id,
            lab_number,
            &campaign.lab_id,
            &campaign.name,
            campaign.seed.to_string(),
            &campaign.config_hash,
            &campaign.config_text,
            campaign.budget,
            campaign.status.as_str(),
            &campaign.created_at,
        ],
    )
    .map_err(db_boxed(operation))?;
    Ok(())
}

/// The first of the store's free experiment numbers (`experiments.num`, see schema version 5):
/// one more than the largest so far. The caller's write transaction may use it and the ones
/// after it for the experiments it inserts: writers exclude each other until they commit
/// (SQLite's write lock, the store's advisory lock on PostgreSQL), as for lab ids.
pub(crate) fn first_free_experiment_num(tx: &mut dyn Tx) -> Result<i64> {
    let largest = query_rows(
        tx,
        "SELECT COALESCE(MAX(num), 0) FROM experiments",
        &[],
        "find the largest experiment number",
        |row| row.int(0),
    )?;
    Ok(largest.first().copied().unwrap_or(0) + 1)
}

/// `record_planned`'s work inside a write transaction (also used by table imports).
fn plan_in(tx: &mut dyn Tx, planned: &PlannedExperiment) -> Result<ExperimentRecord> {
    let campaign = find_campaign_by_key(tx, &planned.campaign_id)?
        .ok_or_else(|| not_found("campaign", &planned.campaign_id))?;
    let lab_id = format!("{}-E{:03}", campaign.lab_id, planned.seq);
    let existing = query_rows(
        tx,
        "SELECT lab_id FROM experiments WHERE campaign_id = ?1 AND seq = ?2",
        params![&campaign.id, planned.seq],
        &format!("look up experiment {lab_id}"),
        |row| row.text(0),
    )?
    .pop();
    if let Some(existing) = existing {
        return Err(StoreError::DuplicateExperiment {
            campaign: campaign.lab_id,
            seq: planned.seq,
            existing,
        });
    }
    let label = format!("experiment {lab_id}");
    for (name, quantity) in &planned.recipe.parameters {
        check_quantity(&label, &format!("recipe parameter '{name}'"), quantity)?;
    }
    let experiment = ExperimentRecord {
        id: new_id(),
        lab_id,
        campaign_id: campaign.id,
        seq: planned.seq,
        status: ExperimentStatus::Planned,
        recipe: planned.recipe.clone(),
        spec_steps: planned.spec_steps.clone(),
        run_steps: Vec::new(),
        results: Vec::new(),
        measurements: Vec::new(),
        analyses: Vec::new(),
        planner_note: planned.planner_note.clone(),
        failure: None,
        planned_at: now_rfc3339(),
        completed_at: None,
    };
    let num = first_free_experiment_num(tx)?;
    tx.execute(
        "INSERT INTO experiments (id, lab_id, campaign_id, seq, status, recipe_json, \
         planner_note_json, planned_at, num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            &experiment.id,
            &experiment.lab_id,
            &experiment.campaign_id,
            experiment.seq,
            experiment.status.as_str(),
            to_json(&experiment.recipe, &label, "recipe")?,
            to_json(&experiment.planner_note, &label, "planner note")?,
            &experiment.planned_at,
            num,
        ],
    )
    .map_err(db_boxed(format!("insert {label}")))?;
    // The same parameters as rows, for search (see schema V2).
    for (name, quantity) in &experiment.recipe.parameters {
        tx.execute(
            "INSERT INTO recipe_values (experiment_num, name, value, unit) \
             VALUES (?1, ?2, ?3, ?4)",
            params![num, name, quantity.value, &quantity.unit],
        )
        .map_err(db_boxed(format!(
            "insert recipe parameter '{name}' of {label}"
        )))?;
    }
    insert_steps(
        tx,
        &experiment.id,
        &label,
        StepKind::Spec,
        &planned.spec_steps,
    )?;
    provenance::link_planned(tx, &campaign.lab_id, &campaign.name, &experiment)?;
    Ok(experiment)
}

fn not_found(kind: &'static str, key: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        key: key.to_string(),
    }
}

fn check_not_blank(record: &str, field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(record, field, "must not be empty"));
    }
    Ok(())
}

fn check_file_name(record: &str, file_name: &str) -> Result<()> {
    check_not_blank(record, "file name", file_name)?;
    if file_name.contains(['/', '\\', '\0']) || file_name == "." || file_name == ".." {
        return Err(StoreError::invalid(
            record,
            "file name",
            "must be a plain file name without directories",
        ));
    }
    Ok(())
}

/// Quantities must be finite: JSON cannot represent NaN or infinity (it would come back as
/// `null` and fail to load), and SQLite turns NaN into NULL.
fn check_quantity(record: &str, field: &str, quantity: &Quantity) -> Result<()> {
    if !quantity.value.is_finite() {
        return Err(StoreError::invalid(
            record,
            field,
            format!("value {} is not a finite number", quantity.value),
        ));
    }
    if let Some(std) = quantity.std {
        if !(std.is_finite() && std >= 0.0) {
            return Err(StoreError::invalid(
                record,
                field,
                format!("standard uncertainty {std} must be finite and non-negative"),
            ));
        }
    }
    Ok(())
}

fn check_quantity_map(
    record: &str,
    field: &str,
    quantities: &BTreeMap<String, Quantity>,
) -> Result<()> {
    for (name, quantity) in quantities {
        check_quantity(record, &format!("{field} '{name}'"), quantity)?;
    }
    Ok(())
}

fn to_json<T: Serialize + ?Sized>(value: &T, record: &str, field: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(record, field, format!("cannot be written as JSON: {e}")))
}

fn from_json<T: DeserializeOwned>(text: &str, record: &str, field: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(record, field, format!("invalid JSON: {e}")))
}

fn origin_str(origin: Origin) -> &'static str {
    match origin {
        Origin::Specified => "specified",
        Origin::Measured => "measured",
        Origin::Computed => "computed",
        Origin::Predicted => "predicted",
    }
}

fn parse_origin(text: &str, record: &str) -> Result<Origin> {
    match text {
        "specified" => Ok(Origin::Specified),
        "measured" => Ok(Origin::Measured),
        "computed" => Ok(Origin::Computed),
        "predicted" => Ok(Origin::Predicted),
        other => Err(StoreError::corrupt(
            record,
            "origin",
            format!("unknown origin '{other}'"),
        )),
    }
}

/// Runs a query and collects its mapped rows.
fn query_rows<T>(
    tx: &mut dyn Tx,
    sql: &str,
    params: &[Value],
    operation: &str,
    map: impl FnMut(&Row) -> std::result::Result<T, DbError>,
) -> Result<Vec<T>> {
    tx.query(sql, params)
        .and_then(|rows| rows.iter().map(map).collect())
        .map_err(db_boxed(operation))
}

// --------------------------------------------------------------------------------------------
// Campaign rows
// --------------------------------------------------------------------------------------------

const CAMPAIGN_COLUMNS: &str =
    "id, lab_id, name, seed, config_hash, config_text, budget, status, created_at";

fn query_campaigns(tx: &mut dyn Tx, clause: &str, params: &[Value]) -> Result<Vec<CampaignRecord>> {
    let rows = query_rows(
        tx,
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns {clause}"),
        params,
        "read campaigns",
        |row| {
            Ok((
                CampaignRecord {
                    id: row.text(0)?,
                    lab_id: row.text(1)?,
                    name: row.text(2)?,
                    seed: 0,
                    config_hash: row.text(4)?,
                    config_text: row.text(5)?,
                    budget: row.u32(6)?,
                    status: CampaignStatus::Running,
                    created_at: row.text(8)?,
                },
                row.text(3)?,
                row.text(7)?,
            ))
        },
    )?;
    rows.into_iter()
        .map(|(mut campaign, seed, status)| {
            let label = format!("campaign {}", campaign.lab_id);
            campaign.seed = seed
                .parse()
                .map_err(|e| StoreError::corrupt(&label, "seed", format!("'{seed}': {e}")))?;
            campaign.status = status
                .parse()
                .map_err(|e: StoreError| StoreError::corrupt(&label, "status", e.to_string()))?;
            Ok(campaign)
        })
        .collect()
}

fn find_campaign_by_key(tx: &mut dyn Tx, key: &str) -> Result<Option<CampaignRecord>> {
    Ok(query_campaigns(tx, "WHERE id = ?1 OR lab_id = ?1", params![key])?.pop())
}

// --------------------------------------------------------------------------------------------
// Experiment rows
// --------------------------------------------------------------------------------------------

const EXPERIMENT_COLUMNS: &str = "id, lab_id, campaign_id, seq, status, recipe_json, \
     planner_note_json, failure, planned_at, completed_at";

/// An `experiments` row as stored (JSON not yet parsed).
struct ExperimentRow {
    id: String,
    lab_id: String,
    campaign_id: String,
    seq: u32,
    status: String,
    recipe_json: String,
    planner_note_json: String,
    failure: Option<String>,
    planned_at: String,
    completed_at: Option<String>,
}

impl ExperimentRow {
    fn from_row(row: &Row) -> std::result::Result<ExperimentRow, DbError> {
        Ok(ExperimentRow {
            id: row.text(0)?,
            lab_id: row.text(1)?,
            campaign_id: row.text(2)?,
            seq: row.u32(3)?,
            status: row.text(4)?,
            recipe_json: row.text(5)?,
            planner_note_json: row.text(6)?,
            failure: row.opt_text(7)?,
            planned_at: row.text(8)?,
            completed_at: row.opt_text(9)?,
        })
    }

    fn label(&self) -> String {
        format!("experiment {}", self.lab_id)
    }

    fn status(&self) -> Result<ExperimentStatus> {
        self.status
            .parse()
            .map_err(|e: StoreError| StoreError::corrupt(self.label(), "status", e.to_string()))
    }
}

fn find_experiment_row(tx: &mut dyn Tx, key: &str) -> Result<Option<ExperimentRow>> {
    Ok(query_rows(
        tx,
        &format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1 OR lab_id = ?1"),
        params![key],
        "look up an experiment",
        ExperimentRow::from_row,
    )?
    .pop())
}

/// The experiment `key`, which must exist and still be in status `planned`.
fn planned_experiment(tx: &mut dyn Tx, key: &str) -> Result<ExperimentRow> {
    let row = find_experiment_row(tx, key)?.ok_or_else(|| not_found("experiment", key))?;
    match row.status()? {
        ExperimentStatus::Planned => Ok(row),
        status => Err(StoreError::NotPlanned {
            experiment: row.lab_id,
            status,
        }),
    }
}

/// Converts each experiment's child rows (as [`child_rows`] groups them) with
/// `convert(experiment, index within the experiment, row)`.
fn per_experiment<R, T>(
    page: &[ExperimentRow],
    grouped: Vec<Vec<R>>,
    mut convert: impl FnMut(&ExperimentRow, usize, R) -> Result<T>,
) -> Result<Vec<Vec<T>>> {
    page.iter()
        .zip(grouped)
        .map(|(experiment, rows)| {
            rows.into_iter()
                .enumerate()
                .map(|(index, row)| convert(experiment, index, row))
                .collect()
        })
        .collect()
}

/// The most experiments [`load_experiments`] reads with one query per child table (well under
/// SQLite's 32 766 parameters per statement).
const LOAD_PAGE: usize = 500;

/// One experiment with everything recorded about it.
fn load_experiment(tx: &mut dyn Tx, row: ExperimentRow) -> Result<ExperimentRecord> {
    let mut loaded = load_experiments(tx, vec![row])?;
    Ok(loaded.pop().expect("one row gives one experiment"))
}

/// Experiments with everything recorded about them, in the order of `rows`. Each child table
/// is read with one query per [`LOAD_PAGE`] experiments (`experiment_id IN (…)`), not one
/// per experiment: on PostgreSQL every query is a round trip, and an export of a million
/// experiments made six million of them.
fn load_experiments(tx: &mut dyn Tx, rows: Vec<ExperimentRow>) -> Result<Vec<ExperimentRecord>> {
    let mut loaded = Vec::with_capacity(rows.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let page: Vec<ExperimentRow> = rows.by_ref().take(LOAD_PAGE).collect();
        let mut spec_steps = load_steps(tx, &page, StepKind::Spec)?.into_iter();
        let mut run_steps = load_steps(tx, &page, StepKind::Run)?.into_iter();
        let mut measurements = load_measurements(tx, &page)?.into_iter();
        let mut analyses = load_analyses(tx, &page)?.into_iter();
        let mut results = load_results(tx, &page)?.into_iter();
        for row in page {
            let label = row.label();
            loaded.push(ExperimentRecord {
                status: row.status()?,
                recipe: from_json(&row.recipe_json, &label, "recipe")?,
                planner_note: from_json(&row.planner_note_json, &label, "planner note")?,
                spec_steps: spec_steps.next().unwrap_or_default(),
                run_steps: run_steps.next().unwrap_or_default(),
                measurements: measurements.next().unwrap_or_default(),
                analyses: analyses.next().unwrap_or_default(),
                results: results.next().unwrap_or_default(),
                id: row.id,
                lab_id: row.lab_id,
                campaign_id: row.campaign_id,
                seq: row.seq,
                failure: row.failure,
                planned_at: row.planned_at,
                completed_at: row.completed_at,
            });
        }
    }
    Ok(loaded)
}

/// Rows of a child table for a page of experiments, grouped per experiment in page order:
/// `select` is the column list and `from` the table (with joins); `experiment_id` names the
/// experiment column (qualified if needed), which is selected last (index `columns`), so
/// that `map` reads the other columns from 0. `filter` adds conditions with parameters
/// after the ids. Rows of one experiment come in `order_by` order.
#[allow(clippy::too_many_arguments)]
fn child_rows<T>(
    tx: &mut dyn Tx,
    page: &[ExperimentRow],
    select: &str,
    columns: usize,
    from: &str,
    experiment_id: &str,
    filter: (&str, &[Value]),
    order_by: &str,
    what: &str,
    mut map: impl FnMut(&Row) -> std::result::Result<T, DbError>,
) -> Result<Vec<Vec<T>>> {
    let placeholders: Vec<String> = (1..=page.len()).map(|k| format!("?{k}")).collect();
    let (condition, extra) = filter;
    let condition = condition.replace("?X", &format!("?{}", page.len() + 1));
    let sql = format!(
        "SELECT {select}, {experiment_id} FROM {from} WHERE {experiment_id} IN ({}){condition} \
         ORDER BY {order_by}",
        placeholders.join(", ")
    );
    let mut params: Vec<Value> = page.iter().map(|row| Value::from(&row.id)).collect();
    params.extend(extra.iter().cloned());
    let mut slot = std::collections::HashMap::with_capacity(page.len());
    for (k, row) in page.iter().enumerate() {
        slot.insert(row.id.as_str(), k);
    }
    let mut grouped: Vec<Vec<T>> = page.iter().map(|_| Vec::new()).collect();
    let rows = tx
        .query(&sql, &params)
        .map_err(db_boxed(what.to_string()))?;
    for row in &rows {
        let id = row.text(columns).map_err(db_boxed(what.to_string()))?;
        let value = map(row).map_err(db_boxed(what.to_string()))?;
        if let Some(&k) = slot.get(id.as_str()) {
            grouped[k].push(value);
        }
    }
    Ok(grouped)
}

fn finish_experiment(
    tx: &mut dyn Tx,
    experiment: &ExperimentRow,
    status: ExperimentStatus,
    failure: Option<&str>,
) -> Result<()> {
    // The status condition repeats the check made at the start of the transaction, so that no
    // code path can ever finish an experiment twice.
    let changed = tx
        .execute(
            "UPDATE experiments SET status = ?2, failure = ?3, completed_at = ?4 \
             WHERE id = ?1 AND status = 'planned'",
            params![&experiment.id, status.as_str(), failure, now_rfc3339()],
        )
        .map_err(db_boxed(format!("mark {} as {status}", experiment.label())))?;
    if changed != 1 {
        return Err(StoreError::NotPlanned {
            experiment: experiment.lab_id.clone(),
            status: experiment.status()?,
        });
    }
    Ok(())
}

fn insert_planner_state(tx: &mut dyn Tx, experiment: &ExperimentRow, json: &str) -> Result<()> {
    let label = experiment.label();
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| {
        StoreError::invalid(&label, "planner state", format!("not valid JSON: {e}"))
    })?;
    tx.execute(
        "INSERT INTO planner_states (campaign_id, seq, state_json, recorded_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![&experiment.campaign_id, experiment.seq, json, now_rfc3339()],
    )
    .map_err(db_boxed(format!("insert the planner state of {label}")))?;
    Ok(())
}

// --------------------------------------------------------------------------------------------
// Steps
// --------------------------------------------------------------------------------------------

/// Whether a step row is part of the plan (spec) or of what actually ran (run).
#[derive(Clone, Copy)]
enum StepKind {
    Spec,
    Run,
}

impl StepKind {
    fn as_str(self) -> &'static str {
        match self {
            StepKind::Spec => "spec",
            StepKind::Run => "run",
        }
    }
}

fn insert_steps(
    tx: &mut dyn Tx,
    experiment_id: &str,
    label: &str,
    kind: StepKind,
    steps: &[ProcessStep],
) -> Result<()> {
    for (position, step) in steps.iter().enumerate() {
        let record = format!(
            "{label} {} step {} ({})",
            kind.as_str(),
            position + 1,
            step.action
        );
        check_not_blank(&record, "action", &step.action)?;
        check_quantity_map(&record, "setpoint", &step.setpoints)?;
        check_quantity_map(&record, "actual", &step.actuals)?;
        let optional_json = |field: &str, quantity: &Option<Quantity>| -> Result<Option<String>> {
            match quantity {
                Some(q) => {
                    check_quantity(&record, field, q)?;
                    to_json(q, &record, field).map(Some)
                }
                None => Ok(None),
            }
        };
        tx.execute(
            "INSERT INTO steps (experiment_id, kind, position, step_index, action, device, \
             setpoints_json, actuals_json, start_json, duration_json) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                experiment_id,
                kind.as_str(),
                position,
                step.index,
                &step.action,
                &step.device,
                to_json(&step.setpoints, &record, "setpoints")?,
                to_json(&step.actuals, &record, "actuals")?,
                optional_json("start", &step.start)?,
                optional_json("duration", &step.duration)?,
            ],
        )
        .map_err(db_boxed(format!("insert {record}")))?;
    }
    Ok(())
}

fn load_steps(
    tx: &mut dyn Tx,
    page: &[ExperimentRow],
    kind: StepKind,
) -> Result<Vec<Vec<ProcessStep>>> {
    let grouped = child_rows(
        tx,
        page,
        "step_index, action, device, setpoints_json, actuals_json, start_json, duration_json",
        7,
        "steps",
        "experiment_id",
        (" AND kind = ?X", &[Value::from(kind.as_str())]),
        "experiment_id, position",
        "read process steps",
        |row| {
            Ok((
                row.u32(0)?,
                row.text(1)?,
                row.text(2)?,
                row.text(3)?,
                row.text(4)?,
                row.opt_text(5)?,
                row.opt_text(6)?,
            ))
        },
    )?;
    per_experiment(
        page,
        grouped,
        |experiment, position, (index, action, device, setpoints, actuals, start, duration)| {
            let record = format!(
                "{} {} step {}",
                experiment.label(),
                kind.as_str(),
                position + 1
            );
            Ok(ProcessStep {
                index,
                setpoints: from_json(&setpoints, &record, "setpoints")?,
                actuals: from_json(&actuals, &record, "actuals")?,
                start: start.map(|s| from_json(&s, &record, "start")).transpose()?,
                duration: duration
                    .map(|d| from_json(&d, &record, "duration"))
                    .transpose()?,
                action,
                device,
            })
        },
    )
}

// --------------------------------------------------------------------------------------------
// Blobs, measurements and analyses
// --------------------------------------------------------------------------------------------

fn register_blob_row(tx: &mut dyn Tx, blob: &BlobRef, record: &str) -> Result<()> {
    // `ON CONFLICT DO NOTHING` is understood by both SQLite (3.24+) and PostgreSQL.
    tx.execute(
        "INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (hash) DO NOTHING",
        params![&blob.hash, blob.size, &blob.media_type, now_rfc3339()],
    )
    .map_err(db_boxed(format!("register {record} ({})", blob.hash)))?;
    Ok(())
}

/// A measurement's blob must be a stored file of the stated size; it is (re-)registered so that
/// the measurement's foreign key holds even if the blob row was lost.
fn check_and_register_measurement_blob(
    tx: &mut dyn Tx,
    objects: &ObjectStorage,
    blob: &BlobRef,
    record: &str,
) -> Result<()> {
    if !blobs::is_valid_hash(&blob.hash) {
        return Err(StoreError::invalid(
            record,
            "blob hash",
            format!("'{}' is not a SHA-256 in lower-case hex", blob.hash),
        ));
    }
    check_not_blank(record, "blob media type", &blob.media_type)?;
    check_file_name(record, &blob.file_name)?;
    let size = match objects.size(&blob.hash)? {
        Some(size) => size,
        None => {
            return Err(StoreError::invalid(
                record,
                "blob",
                format!(
                    "blob {} is not in the store ({} does not exist); store it with put_blob first",
                    blob.hash,
                    objects.location(&blob.hash).display()
                ),
            ))
        }
    };
    if size != blob.size {
        return Err(StoreError::invalid(
            record,
            "blob size",
            format!(
                "the reference says {} bytes but blob {} has {size}",
                blob.size, blob.hash
            ),
        ));
    }
    register_blob_row(tx, blob, record)
}

fn insert_measurement(
    tx: &mut dyn Tx,
    objects: &ObjectStorage,
    experiment: &ExperimentRow,
    index: usize,
    measurement: &MeasurementRecord,
) -> Result<()> {
    let record = format!(
        "{} measurement {} ({})",
        experiment.label(),
        index + 1,
        measurement.technique
    );
    check_not_blank(&record, "technique", &measurement.technique)?;
    check_not_blank(&record, "instrument", &measurement.instrument)?;
    if let Some(blob) = &measurement.blob {
        check_and_register_measurement_blob(tx, objects, blob, &record)?;
    }
    tx.execute(
        "INSERT INTO measurements (id, experiment_id, position, technique, instrument, \
         blob_hash, blob_media_type, blob_file_name, conditions_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            new_id(),
            &experiment.id,
            index,
            &measurement.technique,
            &measurement.instrument,
            measurement.blob.as_ref().map(|b| &b.hash),
            measurement.blob.as_ref().map(|b| &b.media_type),
            measurement.blob.as_ref().map(|b| &b.file_name),
            to_json_infallible(&measurement.conditions),
        ],
    )
    .map_err(db_boxed(format!("insert {record}")))?;
    Ok(())
}

/// A `serde_json::Value` always serialises (its numbers are finite by construction).
fn to_json_infallible(value: &serde_json::Value) -> String {
    value.to_string()
}

fn load_measurements(
    tx: &mut dyn Tx,
    page: &[ExperimentRow],
) -> Result<Vec<Vec<MeasurementRecord>>> {
    let grouped = child_rows(
        tx,
        page,
        "m.technique, m.instrument, m.blob_hash, m.blob_media_type, m.blob_file_name, b.size, \
         m.conditions_json",
        7,
        "measurements m LEFT JOIN blobs b ON b.hash = m.blob_hash",
        "m.experiment_id",
        ("", &[]),
        "m.experiment_id, m.position",
        "read measurements",
        |row| {
            Ok((
                row.text(0)?,
                row.text(1)?,
                row.opt_text(2)?,
                row.opt_text(3)?,
                row.opt_text(4)?,
                row.opt_u64(5)?,
                row.text(6)?,
            ))
        },
    )?;
    per_experiment(
        page,
        grouped,
        |experiment,
         index,
         (technique, instrument, hash, media_type, file_name, size, conditions)| {
            let record = format!("{} measurement {}", experiment.label(), index + 1);
            let blob = match (hash, media_type, file_name, size) {
                (None, _, _, _) => None,
                (Some(hash), Some(media_type), Some(file_name), Some(size)) => Some(BlobRef {
                    hash,
                    size,
                    media_type,
                    file_name,
                }),
                (Some(hash), ..) => {
                    return Err(StoreError::corrupt(
                        record,
                        "blob",
                        format!("blob {hash} is referenced but not registered"),
                    ))
                }
            };
            Ok(MeasurementRecord {
                technique,
                instrument,
                blob,
                conditions: from_json(&conditions, &record, "conditions")?,
            })
        },
    )
}

fn insert_analysis(
    tx: &mut dyn Tx,
    experiment: &ExperimentRow,
    index: usize,
    analysis: &AnalysisRecord,
) -> Result<()> {
    let record = format!(
        "{} analysis {} ({})",
        experiment.label(),
        index + 1,
        analysis.kind
    );
    check_not_blank(&record, "kind", &analysis.kind)?;
    check_not_blank(&record, "software", &analysis.software)?;
    let analysis_id = new_id();
    tx.execute(
        "INSERT INTO analyses (id, experiment_id, position, kind, software, parameters_json, \
         outputs_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            &analysis_id,
            &experiment.id,
            index,
            &analysis.kind,
            &analysis.software,
            to_json_infallible(&analysis.parameters),
            to_json_infallible(&analysis.outputs),
        ],
    )
    .map_err(db_boxed(format!("insert {record}")))?;
    for (position, hash) in analysis.input_blobs.iter().enumerate() {
        let field = format!("input blob {}", position + 1);
        if !blobs::is_valid_hash(hash) {
            return Err(StoreError::invalid(
                &record,
                field,
                format!("'{hash}' is not a SHA-256 in lower-case hex"),
            ));
        }
        let known = query_rows(
            tx,
            "SELECT hash FROM blobs WHERE hash = ?1",
            params![hash],
            &format!("look up {field} of {record}"),
            |row| row.text(0),
        )?;
        if known.is_empty() {
            return Err(StoreError::invalid(
                &record,
                field,
                format!("blob {hash} is not in the store; store it with put_blob first"),
            ));
        }
        tx.execute(
            "INSERT INTO analysis_inputs (analysis_id, position, blob_hash) VALUES (?1, ?2, ?3)",
            params![&analysis_id, position, hash],
        )
        .map_err(db_boxed(format!("insert {field} of {record}")))?;
    }
    Ok(())
}

fn load_analyses(tx: &mut dyn Tx, page: &[ExperimentRow]) -> Result<Vec<Vec<AnalysisRecord>>> {
    let grouped = child_rows(
        tx,
        page,
        "id, kind, software, parameters_json, outputs_json",
        5,
        "analyses",
        "experiment_id",
        ("", &[]),
        "experiment_id, position",
        "read analyses",
        |row| {
            Ok((
                row.text(0)?,
                row.text(1)?,
                row.text(2)?,
                row.text(3)?,
                row.text(4)?,
            ))
        },
    )?;
    per_experiment(
        page,
        grouped,
        |experiment, index, (id, kind, software, parameters, outputs)| {
            let record = format!("{} analysis {}", experiment.label(), index + 1);
            Ok(AnalysisRecord {
                // Few experiments have analyses; their inputs are read one by one.
                input_blobs: query_rows(
                    tx,
                    "SELECT blob_hash FROM analysis_inputs WHERE analysis_id = ?1 \
                     ORDER BY position",
                    params![&id],
                    "read analysis inputs",
                    |row| row.text(0),
                )?,
                parameters: from_json(&parameters, &record, "parameters")?,
                outputs: from_json(&outputs, &record, "outputs")?,
                kind,
                software,
            })
        },
    )
}

// --------------------------------------------------------------------------------------------
// Results
// --------------------------------------------------------------------------------------------

fn insert_result(
    tx: &mut dyn Tx,
    experiment: &ExperimentRow,
    index: usize,
    result: &PropertyValue,
) -> Result<()> {
    let record = format!(
        "{} result {} ({})",
        experiment.label(),
        index + 1,
        result.name
    );
    check_not_blank(&record, "name", &result.name)?;
    check_not_blank(&record, "method", &result.method)?;
    check_quantity(&record, "value", &result.quantity)?;
    tx.execute(
        "INSERT INTO results (experiment_num, position, name, value, std, unit, origin, method) \
         VALUES ((SELECT num FROM experiments WHERE id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            &experiment.id,
            index,
            &result.name,
            result.quantity.value,
            result.quantity.std,
            &result.quantity.unit,
            origin_str(result.origin),
            &result.method,
        ],
    )
    .map_err(db_boxed(format!("insert {record}")))?;
    Ok(())
}

fn load_results(tx: &mut dyn Tx, page: &[ExperimentRow]) -> Result<Vec<Vec<PropertyValue>>> {
    let grouped = child_rows(
        tx,
        page,
        "r.name, r.value, r.std, r.unit, r.origin, r.method",
        6,
        "results r JOIN experiments e ON e.num = r.experiment_num",
        "e.id",
        ("", &[]),
        "r.experiment_num, r.position",
        "read results",
        |row| {
            Ok((
                row.text(0)?,
                row.real(1)?,
                row.opt_real(2)?,
                row.text(3)?,
                row.text(4)?,
                row.text(5)?,
            ))
        },
    )?;
    per_experiment(
        page,
        grouped,
        |experiment, index, (name, value, std, unit, origin, method)| {
            let record = format!("{} result {} ({name})", experiment.label(), index + 1);
            Ok(PropertyValue {
                origin: parse_origin(&origin, &record)?,
                quantity: Quantity { value, unit, std },
                name,
                method,
            })
        },
    )
}
