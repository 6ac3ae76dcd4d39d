//! [`Store`]: the SQLite implementation of the store's API.

use crate::blobs;
use crate::error::{db, Result, StoreError};
use crate::records::{
    AnalysisRecord, BlobRef, CampaignRecord, CampaignStatus, CompletedExperiment, ExperimentRecord,
    ExperimentStatus, IntegrityReport, MeasurementRecord, NewCampaign, PlannedExperiment,
};
use crate::schema;
use crate::timestamp::now_rfc3339;
use athanor_model::{ids::new_id, Origin, ProcessStep, PropertyValue, Quantity};
use rusqlite::{params, Connection, OptionalExtension, Params, Row, TransactionBehavior};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE_NAME: &str = "athanor.sqlite";

/// How long a writer waits for another process's write transaction before giving up. Writes are
/// short (milliseconds), so waiting this long only happens when something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Temporary blob files older than this are leftovers of killed writers (a live write of even a
/// large file takes seconds), so [`Store::open`] deletes them.
const STALE_TEMP_FILE_AGE: Duration = Duration::from_secs(3600);

/// All data of a lab: an SQLite database and content-addressed blob files under one directory.
///
/// A `Store` is `Send + Sync`; its methods serialise on one connection. Several `Store`s (in one
/// or several processes) may open the same directory: every write is a `BEGIN IMMEDIATE`
/// transaction, so writers queue (up to a 30 s busy timeout) instead of failing or deadlocking.
pub struct Store {
    data_dir: PathBuf,
    blob_root: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store in `data_dir`, creating the directory, the database and the blob directory
    /// if needed, and applying any pending schema migrations.
    ///
    /// The connection runs in WAL mode with `synchronous = FULL` (a committed transaction
    /// survives a power cut) and foreign keys enforced.
    pub fn open(data_dir: &Path) -> Result<Store> {
        fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::io("create the data directory", data_dir, e))?;
        let blob_root = data_dir.join("blobs").join("sha256");
        fs::create_dir_all(&blob_root)
            .map_err(|e| StoreError::io("create the blob directory", &blob_root, e))?;
        let database_path = data_dir.join(DATABASE_FILE_NAME);
        let mut conn = Connection::open(&database_path)
            .map_err(db(format!("open {}", database_path.display())))?;
        configure(&conn)?;
        schema::migrate(&mut conn, &database_path)?;
        blobs::remove_stale_temp_files(&blob_root, STALE_TEMP_FILE_AGE);
        Ok(Store {
            data_dir: data_dir.to_path_buf(),
            blob_root,
            conn: Mutex::new(conn),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Path of the SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE_NAME)
    }

    /// The schema version of the open database (equals [`crate::SCHEMA_VERSION`] after `open`).
    pub fn schema_version(&self) -> Result<u32> {
        schema::schema_version(&self.lock())
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
        blobs::write_blob(&self.blob_root, &hash, bytes)?;
        let blob = BlobRef {
            hash,
            size: bytes.len() as u64,
            media_type: media_type.to_string(),
            file_name: file_name.to_string(),
        };
        // Registered only after the file is durable: a row never points at a missing file.
        register_blob_row(&self.lock(), &blob, &record)?;
        Ok(blob)
    }

    /// Where the blob with this hash lives (whether or not it exists). The hash is not
    /// validated; use [`Store::read_blob`] to read a blob safely.
    pub fn blob_path(&self, hash: &str) -> PathBuf {
        blobs::blob_path(&self.blob_root, hash)
    }

    /// Reads a blob, verifying that its content still hashes to `hash`.
    pub fn read_blob(&self, hash: &str) -> Result<Vec<u8>> {
        blobs::read_verified(&self.blob_root, hash)
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
        let conn = self.lock();
        let mut found = query_campaigns(
            &conn,
            "WHERE name = ?1 AND config_hash = ?2 AND seed = ?3 \
             ORDER BY lab_number DESC LIMIT 1",
            params![name, config_hash, seed.to_string()],
        )?;
        Ok(found.pop())
    }

    /// Creates a campaign in status `running` and assigns the next lab id (`C0001`, `C0002`, …).
    pub fn create_campaign(&self, new: &NewCampaign) -> Result<CampaignRecord> {
        let record = format!("new campaign '{}'", new.name);
        check_not_blank(&record, "name", &new.name)?;
        check_not_blank(&record, "config_hash", &new.config_hash)?;
        let mut conn = self.lock();
        let tx = begin_write(&mut conn, &record)?;
        // Inside the write transaction, so concurrent creators get distinct numbers.
        let lab_number: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(lab_number), 0) + 1 FROM campaigns",
                [],
                |row| row.get(0),
            )
            .map_err(db("choose the next campaign lab id"))?;
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
        tx.execute(
            "INSERT INTO campaigns (id, lab_number, lab_id, name, seed, config_hash, config_text, \
             budget, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                campaign.id,
                lab_number,
                campaign.lab_id,
                campaign.name,
                campaign.seed.to_string(),
                campaign.config_hash,
                campaign.config_text,
                campaign.budget,
                campaign.status.as_str(),
                campaign.created_at,
            ],
        )
        .map_err(db(format!("insert campaign {}", campaign.lab_id)))?;
        tx.commit()
            .map_err(db(format!("commit campaign {}", campaign.lab_id)))?;
        Ok(campaign)
    }

    /// All campaigns in order of creation.
    pub fn campaigns(&self) -> Result<Vec<CampaignRecord>> {
        query_campaigns(&self.lock(), "ORDER BY lab_number", [])
    }

    /// The campaign with this id or lab id.
    pub fn campaign(&self, id_or_lab_id: &str) -> Result<Option<CampaignRecord>> {
        find_campaign_by_key(&self.lock(), id_or_lab_id)
    }

    /// Sets a campaign's status (`campaign_id` may be the id or the lab id).
    pub fn set_campaign_status(&self, campaign_id: &str, status: CampaignStatus) -> Result<()> {
        let changed = self
            .lock()
            .execute(
                "UPDATE campaigns SET status = ?2 WHERE id = ?1 OR lab_id = ?1",
                params![campaign_id, status.as_str()],
            )
            .map_err(db(format!(
                "set the status of campaign {campaign_id} to {status}"
            )))?;
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
        let mut conn = self.lock();
        let tx = begin_write(&mut conn, "record a planned experiment")?;
        let campaign = find_campaign_by_key(&tx, &planned.campaign_id)?
            .ok_or_else(|| not_found("campaign", &planned.campaign_id))?;
        let lab_id = format!("{}-E{:03}", campaign.lab_id, planned.seq);
        let existing: Option<String> = tx
            .query_row(
                "SELECT lab_id FROM experiments WHERE campaign_id = ?1 AND seq = ?2",
                params![campaign.id, planned.seq],
                |row| row.get(0),
            )
            .optional()
            .map_err(db(format!("look up experiment {lab_id}")))?;
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
        tx.execute(
            "INSERT INTO experiments (id, lab_id, campaign_id, seq, status, recipe_json, \
             planner_note_json, planned_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                experiment.id,
                experiment.lab_id,
                experiment.campaign_id,
                experiment.seq,
                experiment.status.as_str(),
                to_json(&experiment.recipe, &label, "recipe")?,
                to_json(&experiment.planner_note, &label, "planner note")?,
                experiment.planned_at,
            ],
        )
        .map_err(db(format!("insert {label}")))?;
        insert_steps(
            &tx,
            &experiment.id,
            &label,
            StepKind::Spec,
            &planned.spec_steps,
        )?;
        tx.commit().map_err(db(format!("commit {label}")))?;
        Ok(experiment)
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
        let mut conn = self.lock();
        let tx = begin_write(&mut conn, "record a completed experiment")?;
        let experiment = planned_experiment(&tx, &done.experiment_id)?;
        let label = format!("experiment {}", experiment.lab_id);
        insert_steps(&tx, &experiment.id, &label, StepKind::Run, &done.run_steps)?;
        for (index, measurement) in done.measurements.iter().enumerate() {
            insert_measurement(&tx, &self.blob_root, &experiment, index, measurement)?;
        }
        for (index, analysis) in done.analyses.iter().enumerate() {
            insert_analysis(&tx, &experiment, index, analysis)?;
        }
        for (index, result) in done.results.iter().enumerate() {
            insert_result(&tx, &experiment, index, result)?;
        }
        insert_planner_state(&tx, &experiment, &done.planner_state_json)?;
        finish_experiment(&tx, &experiment, ExperimentStatus::Completed, None)?;
        tx.commit().map_err(db(format!("commit {label}")))
    }

    /// Records that a planned experiment failed, with the reason and the planner state after the
    /// planner was told about the failure; one transaction.
    pub fn record_failed(
        &self,
        experiment_id: &str,
        reason: &str,
        planner_state_json: &str,
    ) -> Result<()> {
        let mut conn = self.lock();
        let tx = begin_write(&mut conn, "record a failed experiment")?;
        let experiment = planned_experiment(&tx, experiment_id)?;
        let label = format!("experiment {}", experiment.lab_id);
        check_not_blank(&label, "failure reason", reason)?;
        insert_planner_state(&tx, &experiment, planner_state_json)?;
        finish_experiment(&tx, &experiment, ExperimentStatus::Failed, Some(reason))?;
        tx.commit().map_err(db(format!("commit {label}")))
    }

    /// All experiments of a campaign (id or lab id), ordered by seq, each with its steps,
    /// measurements, analyses and results. Read from one consistent snapshot.
    pub fn experiments(&self, campaign_id: &str) -> Result<Vec<ExperimentRecord>> {
        let mut conn = self.lock();
        // A read transaction: one snapshot even while other processes write.
        let tx = conn.transaction().map_err(db("begin a read transaction"))?;
        let campaign = find_campaign_by_key(&tx, campaign_id)?
            .ok_or_else(|| not_found("campaign", campaign_id))?;
        let rows = query_rows(
            &tx,
            &format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE campaign_id = ?1 ORDER BY seq"
            ),
            params![campaign.id],
            "list experiments",
            ExperimentRow::from_row,
        )?;
        rows.into_iter()
            .map(|row| load_experiment(&tx, row))
            .collect()
    }

    /// One experiment by id or lab id, with everything recorded about it.
    pub fn experiment(&self, id_or_lab_id: &str) -> Result<Option<ExperimentRecord>> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db("begin a read transaction"))?;
        match find_experiment_row(&tx, id_or_lab_id)? {
            Some(row) => load_experiment(&tx, row).map(Some),
            None => Ok(None),
        }
    }

    /// The planner state recorded with the highest seq of a campaign (id or lab id): the state
    /// from which to resume planning.
    pub fn latest_planner_state(&self, campaign_id: &str) -> Result<Option<(u32, String)>> {
        let conn = self.lock();
        let campaign = find_campaign_by_key(&conn, campaign_id)?
            .ok_or_else(|| not_found("campaign", campaign_id))?;
        conn.query_row(
            "SELECT seq, state_json FROM planner_states WHERE campaign_id = ?1 \
             ORDER BY seq DESC LIMIT 1",
            params![campaign.id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db(format!(
            "read the planner state of campaign {}",
            campaign.lab_id
        )))
    }

    /// Checks the whole store: SQLite's `integrity_check` and `foreign_key_check`, the life-cycle
    /// invariants (a finished experiment has its planner state; a planned one has no completion
    /// data) and every registered blob's file against its hash. Blob files that no record
    /// references are not problems (they are what a crash between `put_blob` and `record_*`
    /// leaves).
    pub fn check_integrity(&self) -> Result<IntegrityReport> {
        let mut report = IntegrityReport::default();
        let registered_blobs =
            {
                let conn = self.lock();
                let messages = query_rows(
                    &conn,
                    "PRAGMA integrity_check",
                    [],
                    "run the SQLite integrity check",
                    |row| row.get::<_, String>(0),
                )?;
                if messages != ["ok"] {
                    report.problems.extend(
                        messages
                            .into_iter()
                            .map(|m| format!("SQLite integrity check: {m}")),
                    );
                }
                let dangling = query_rows(
                    &conn,
                    "PRAGMA foreign_key_check",
                    [],
                    "run the SQLite foreign key check",
                    |row| {
                        Ok(format!(
                            "table {} row {} refers to a missing row of {}",
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                            row.get::<_, String>(2)?
                        ))
                    },
                )?;
                report.problems.extend(dangling);
                let unstated = query_rows(
                    &conn,
                    "SELECT lab_id FROM experiments e WHERE status != 'planned' AND NOT EXISTS \
                 (SELECT 1 FROM planner_states p WHERE p.campaign_id = e.campaign_id \
                  AND p.seq = e.seq) ORDER BY lab_id",
                    [],
                    "check planner states",
                    |row| row.get::<_, String>(0),
                )?;
                report.problems.extend(unstated.into_iter().map(|lab_id| {
                    format!("experiment {lab_id} is finished but has no planner state")
                }));
                let half_done = query_rows(
                    &conn,
                    "SELECT lab_id FROM experiments e WHERE status = 'planned' AND (\
                 EXISTS (SELECT 1 FROM steps s WHERE s.experiment_id = e.id AND s.kind = 'run') \
                 OR EXISTS (SELECT 1 FROM measurements m WHERE m.experiment_id = e.id) \
                 OR EXISTS (SELECT 1 FROM analyses a WHERE a.experiment_id = e.id) \
                 OR EXISTS (SELECT 1 FROM results r WHERE r.experiment_id = e.id)) \
                 ORDER BY lab_id",
                    [],
                    "check planned experiments",
                    |row| row.get::<_, String>(0),
                )?;
                report.problems.extend(half_done.into_iter().map(|lab_id| {
                    format!("experiment {lab_id} is still planned but has completion data")
                }));
                query_rows(
                    &conn,
                    "SELECT hash, size FROM blobs ORDER BY hash",
                    [],
                    "list blobs",
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?)),
                )?
            };
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

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction (rolled back), so the
        // connection is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

// --------------------------------------------------------------------------------------------
// Connection set-up
// --------------------------------------------------------------------------------------------

fn configure(conn: &Connection) -> Result<()> {
    // First, so that switching the journal mode waits for other processes too.
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db("set the busy timeout"))?;
    let mode = switch_to_wal(conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::database(
            "switch to WAL journal mode",
            std::io::Error::other(format!("SQLite kept journal mode '{mode}'")),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db("set synchronous = FULL"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db("enable foreign keys"))?;
    let foreign_keys: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(db("check that foreign keys are enforced"))?;
    if !foreign_keys {
        return Err(StoreError::database(
            "enable foreign keys",
            std::io::Error::other("this SQLite build does not enforce foreign keys"),
        ));
    }
    Ok(())
}

/// Puts the database in WAL mode (persistent, so usually already set). When several processes
/// open a new database at once, SQLite can answer SQLITE_BUSY to the switch without consulting
/// the busy handler, so BUSY is retried here until the busy timeout has passed.
fn switch_to_wal(conn: &Connection) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        let attempt = conn
            .pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                }
            });
        match attempt {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other.map_err(db("switch to WAL journal mode")),
        }
    }
}

/// `BEGIN IMMEDIATE`: takes the write lock up front. A deferred transaction that reads and then
/// writes can fail with SQLITE_BUSY without waiting when another process wrote in between; an
/// immediate one waits its turn (busy timeout) instead.
fn begin_write<'c>(conn: &'c mut Connection, what: &str) -> Result<rusqlite::Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db(format!("begin a transaction to {what}")))
}

// --------------------------------------------------------------------------------------------
// Validation and JSON
// --------------------------------------------------------------------------------------------

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
fn query_rows<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    operation: &str,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db(operation))?;
    let rows = statement.query_map(params, map).map_err(db(operation))?;
    rows.collect::<rusqlite::Result<Vec<T>>>()
        .map_err(db(operation))
}

// --------------------------------------------------------------------------------------------
// Campaign rows
// --------------------------------------------------------------------------------------------

const CAMPAIGN_COLUMNS: &str =
    "id, lab_id, name, seed, config_hash, config_text, budget, status, created_at";

fn query_campaigns<P: Params>(
    conn: &Connection,
    clause: &str,
    params: P,
) -> Result<Vec<CampaignRecord>> {
    let rows = query_rows(
        conn,
        &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns {clause}"),
        params,
        "read campaigns",
        |row| {
            Ok((
                CampaignRecord {
                    id: row.get(0)?,
                    lab_id: row.get(1)?,
                    name: row.get(2)?,
                    seed: 0,
                    config_hash: row.get(4)?,
                    config_text: row.get(5)?,
                    budget: row.get(6)?,
                    status: CampaignStatus::Running,
                    created_at: row.get(8)?,
                },
                row.get::<_, String>(3)?,
                row.get::<_, String>(7)?,
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

fn find_campaign_by_key(conn: &Connection, key: &str) -> Result<Option<CampaignRecord>> {
    Ok(query_campaigns(conn, "WHERE id = ?1 OR lab_id = ?1", params![key])?.pop())
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
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ExperimentRow> {
        Ok(ExperimentRow {
            id: row.get(0)?,
            lab_id: row.get(1)?,
            campaign_id: row.get(2)?,
            seq: row.get(3)?,
            status: row.get(4)?,
            recipe_json: row.get(5)?,
            planner_note_json: row.get(6)?,
            failure: row.get(7)?,
            planned_at: row.get(8)?,
            completed_at: row.get(9)?,
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

fn find_experiment_row(conn: &Connection, key: &str) -> Result<Option<ExperimentRow>> {
    Ok(query_rows(
        conn,
        &format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1 OR lab_id = ?1"),
        params![key],
        "look up an experiment",
        ExperimentRow::from_row,
    )?
    .pop())
}

/// The experiment `key`, which must exist and still be in status `planned`.
fn planned_experiment(conn: &Connection, key: &str) -> Result<ExperimentRow> {
    let row = find_experiment_row(conn, key)?.ok_or_else(|| not_found("experiment", key))?;
    match row.status()? {
        ExperimentStatus::Planned => Ok(row),
        status => Err(StoreError::NotPlanned {
            experiment: row.lab_id,
            status,
        }),
    }
}

fn load_experiment(conn: &Connection, row: ExperimentRow) -> Result<ExperimentRecord> {
    let label = row.label();
    Ok(ExperimentRecord {
        status: row.status()?,
        recipe: from_json(&row.recipe_json, &label, "recipe")?,
        planner_note: from_json(&row.planner_note_json, &label, "planner note")?,
        spec_steps: load_steps(conn, &row, StepKind::Spec)?,
        run_steps: load_steps(conn, &row, StepKind::Run)?,
        measurements: load_measurements(conn, &row)?,
        analyses: load_analyses(conn, &row)?,
        results: load_results(conn, &row)?,
        id: row.id,
        lab_id: row.lab_id,
        campaign_id: row.campaign_id,
        seq: row.seq,
        failure: row.failure,
        planned_at: row.planned_at,
        completed_at: row.completed_at,
    })
}

fn finish_experiment(
    conn: &Connection,
    experiment: &ExperimentRow,
    status: ExperimentStatus,
    failure: Option<&str>,
) -> Result<()> {
    // The status condition repeats the check made at the start of the transaction, so that no
    // code path can ever finish an experiment twice.
    let changed = conn
        .execute(
            "UPDATE experiments SET status = ?2, failure = ?3, completed_at = ?4 \
             WHERE id = ?1 AND status = 'planned'",
            params![experiment.id, status.as_str(), failure, now_rfc3339()],
        )
        .map_err(db(format!("mark {} as {status}", experiment.label())))?;
    if changed != 1 {
        return Err(StoreError::NotPlanned {
            experiment: experiment.lab_id.clone(),
            status: experiment.status()?,
        });
    }
    Ok(())
}

fn insert_planner_state(conn: &Connection, experiment: &ExperimentRow, json: &str) -> Result<()> {
    let label = experiment.label();
    serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|e| {
        StoreError::invalid(&label, "planner state", format!("not valid JSON: {e}"))
    })?;
    conn.execute(
        "INSERT INTO planner_states (campaign_id, seq, state_json, recorded_at) \
         VALUES (?1, ?2, ?3, ?4)",
        params![experiment.campaign_id, experiment.seq, json, now_rfc3339()],
    )
    .map_err(db(format!("insert the planner state of {label}")))?;
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
    conn: &Connection,
    experiment_id: &str,
    label: &str,
    kind: StepKind,
    steps: &[ProcessStep],
) -> Result<()> {
    let mut statement = conn
        .prepare_cached(
            "INSERT INTO steps (experiment_id, kind, position, step_index, action, device, \
             setpoints_json, actuals_json, start_json, duration_json) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db("prepare step insertion"))?;
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
        statement
            .execute(params![
                experiment_id,
                kind.as_str(),
                position,
                step.index,
                step.action,
                step.device,
                to_json(&step.setpoints, &record, "setpoints")?,
                to_json(&step.actuals, &record, "actuals")?,
                optional_json("start", &step.start)?,
                optional_json("duration", &step.duration)?,
            ])
            .map_err(db(format!("insert {record}")))?;
    }
    Ok(())
}

fn load_steps(
    conn: &Connection,
    experiment: &ExperimentRow,
    kind: StepKind,
) -> Result<Vec<ProcessStep>> {
    let rows = query_rows(
        conn,
        "SELECT step_index, action, device, setpoints_json, actuals_json, start_json, \
         duration_json FROM steps WHERE experiment_id = ?1 AND kind = ?2 ORDER BY position",
        params![experiment.id, kind.as_str()],
        "read process steps",
        |row| {
            Ok((
                row.get::<_, u32>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, Option<String>>(6)?,
            ))
        },
    )?;
    rows.into_iter()
        .enumerate()
        .map(
            |(position, (index, action, device, setpoints, actuals, start, duration))| {
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
        .collect()
}

// --------------------------------------------------------------------------------------------
// Blobs, measurements and analyses
// --------------------------------------------------------------------------------------------

fn register_blob_row(conn: &Connection, blob: &BlobRef, record: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO blobs (hash, size, media_type, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![blob.hash, blob.size, blob.media_type, now_rfc3339()],
    )
    .map_err(db(format!("register {record} ({})", blob.hash)))?;
    Ok(())
}

/// A measurement's blob must be a stored file of the stated size; it is (re-)registered so that
/// the measurement's foreign key holds even if the blob row was lost.
fn check_and_register_measurement_blob(
    conn: &Connection,
    blob_root: &Path,
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
    let path = blobs::blob_path(blob_root, &blob.hash);
    let size = match fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(StoreError::invalid(
                record,
                "blob",
                format!(
                    "blob {} is not in the store ({} does not exist); store it with put_blob first",
                    blob.hash,
                    path.display()
                ),
            ))
        }
        Err(e) => return Err(StoreError::io("inspect blob file", path, e)),
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
    register_blob_row(conn, blob, record)
}

fn insert_measurement(
    conn: &Connection,
    blob_root: &Path,
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
        check_and_register_measurement_blob(conn, blob_root, blob, &record)?;
    }
    conn.prepare_cached(
        "INSERT INTO measurements (id, experiment_id, position, technique, instrument, \
         blob_hash, blob_media_type, blob_file_name, conditions_json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            new_id(),
            experiment.id,
            index,
            measurement.technique,
            measurement.instrument,
            measurement.blob.as_ref().map(|b| &b.hash),
            measurement.blob.as_ref().map(|b| &b.media_type),
            measurement.blob.as_ref().map(|b| &b.file_name),
            to_json_infallible(&measurement.conditions),
        ])
    })
    .map_err(db(format!("insert {record}")))?;
    Ok(())
}

/// A `serde_json::Value` always serialises (its numbers are finite by construction).
fn to_json_infallible(value: &serde_json::Value) -> String {
    value.to_string()
}

fn load_measurements(
    conn: &Connection,
    experiment: &ExperimentRow,
) -> Result<Vec<MeasurementRecord>> {
    type Raw = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<u64>,
        String,
    );
    let rows: Vec<Raw> = query_rows(
        conn,
        "SELECT m.technique, m.instrument, m.blob_hash, m.blob_media_type, m.blob_file_name, \
         b.size, m.conditions_json FROM measurements m LEFT JOIN blobs b ON b.hash = m.blob_hash \
         WHERE m.experiment_id = ?1 ORDER BY m.position",
        params![experiment.id],
        "read measurements",
        |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
            ))
        },
    )?;
    rows.into_iter()
        .enumerate()
        .map(
            |(index, (technique, instrument, hash, media_type, file_name, size, conditions))| {
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
        .collect()
}

fn insert_analysis(
    conn: &Connection,
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
    conn.prepare_cached(
        "INSERT INTO analyses (id, experiment_id, position, kind, software, parameters_json, \
         outputs_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            analysis_id,
            experiment.id,
            index,
            analysis.kind,
            analysis.software,
            to_json_infallible(&analysis.parameters),
            to_json_infallible(&analysis.outputs),
        ])
    })
    .map_err(db(format!("insert {record}")))?;
    for (position, hash) in analysis.input_blobs.iter().enumerate() {
        let field = format!("input blob {}", position + 1);
        if !blobs::is_valid_hash(hash) {
            return Err(StoreError::invalid(
                &record,
                field,
                format!("'{hash}' is not a SHA-256 in lower-case hex"),
            ));
        }
        let known: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM blobs WHERE hash = ?1",
                params![hash],
                |row| row.get(0),
            )
            .optional()
            .map_err(db(format!("look up {field} of {record}")))?;
        if known.is_none() {
            return Err(StoreError::invalid(
                &record,
                field,
                format!("blob {hash} is not in the store; store it with put_blob first"),
            ));
        }
        conn.execute(
            "INSERT INTO analysis_inputs (analysis_id, position, blob_hash) VALUES (?1, ?2, ?3)",
            params![analysis_id, position, hash],
        )
        .map_err(db(format!("insert {field} of {record}")))?;
    }
    Ok(())
}

fn load_analyses(conn: &Connection, experiment: &ExperimentRow) -> Result<Vec<AnalysisRecord>> {
    let rows = query_rows(
        conn,
        "SELECT id, kind, software, parameters_json, outputs_json FROM analyses \
         WHERE experiment_id = ?1 ORDER BY position",
        params![experiment.id],
        "read analyses",
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            ))
        },
    )?;
    rows.into_iter()
        .enumerate()
        .map(|(index, (id, kind, software, parameters, outputs))| {
            let record = format!("{} analysis {}", experiment.label(), index + 1);
            Ok(AnalysisRecord {
                input_blobs: query_rows(
                    conn,
                    "SELECT blob_hash FROM analysis_inputs WHERE analysis_id = ?1 \
                     ORDER BY position",
                    params![id],
                    "read analysis inputs",
                    |row| row.get(0),
                )?,
                parameters: from_json(&parameters, &record, "parameters")?,
                outputs: from_json(&outputs, &record, "outputs")?,
                kind,
                software,
            })
        })
        .collect()
}

// --------------------------------------------------------------------------------------------
// Results
// --------------------------------------------------------------------------------------------

fn insert_result(
    conn: &Connection,
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
    conn.prepare_cached(
        "INSERT INTO results (experiment_id, position, name, value, std, unit, origin, method) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut statement| {
        statement.execute(params![
            experiment.id,
            index,
            result.name,
            result.quantity.value,
            result.quantity.std,
            result.quantity.unit,
            origin_str(result.origin),
            result.method,
        ])
    })
    .map_err(db(format!("insert {record}")))?;
    Ok(())
}

fn load_results(conn: &Connection, experiment: &ExperimentRow) -> Result<Vec<PropertyValue>> {
    let rows = query_rows(
        conn,
        "SELECT name, value, std, unit, origin, method FROM results WHERE experiment_id = ?1 \
         ORDER BY position",
        params![experiment.id],
        "read results",
        |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, f64>(1)?,
                row.get::<_, Option<f64>>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
            ))
        },
    )?;
    rows.into_iter()
        .enumerate()
        .map(|(index, (name, value, std, unit, origin, method))| {
            let record = format!("{} result {} ({name})", experiment.label(), index + 1);
            Ok(PropertyValue {
                origin: parse_origin(&origin, &record)?,
                quantity: Quantity { value, unit, std },
                name,
                method,
            })
        })
        .collect()
}
