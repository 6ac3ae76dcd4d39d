//! The schema and its migrations, for SQLite and for PostgreSQL.
//!
//! Both backends have the same tables, columns, keys and checks. Each [`Migration`]'s schema
//! statements are written once, with SQLite's column types; PostgreSQL's (strictly typed:
//! `BIGINT` for `INTEGER`, `DOUBLE PRECISION` for `REAL`) are derived by [`postgres_types`].
//! Only statements that need a backend's own functions (JSON access in backfills) are written
//! per backend. [`MIGRATIONS`] is append-only: migration *n* (1-based) turns a version *n − 1*
//! database into version *n*. Each runs in its own transaction together with the version bump,
//! so a crash leaves the database at one version or the next, never in between. Never edit a
//! released migration; add a new one.
//!
//! The version is `PRAGMA user_version` in SQLite, and the highest row of the
//! `schema_migrations` table in PostgreSQL (one row per applied migration, with its time).

use crate::error::{db, Result, StoreError};
use crate::timestamp::now_rfc3339;
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};

/// Version 1: campaigns, experiments and everything recorded about them.
///
/// Conventions: ids are UUIDv7 text; timestamps RFC 3339 UTC text; nested values (quantity maps,
/// conditions, planner notes) are JSON text; `position` keeps the caller's list order. A `u64`
/// seed does not fit SQLite's signed 64-bit integer, so it is stored as decimal text.
const V1: &str = r#"
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    lab_number  INTEGER NOT NULL UNIQUE CHECK (lab_number >= 1),
    lab_id      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    seed        TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    config_text TEXT NOT NULL,
    budget      INTEGER NOT NULL CHECK (budget >= 0),
    status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'stopped')),
    created_at  TEXT NOT NULL
);
CREATE INDEX campaigns_by_identity ON campaigns (name, config_hash, seed);

CREATE TABLE experiments (
    id                TEXT PRIMARY KEY,
    lab_id            TEXT NOT NULL UNIQUE,
    campaign_id       TEXT NOT NULL REFERENCES campaigns (id),
    seq               INTEGER NOT NULL CHECK (seq >= 0),
    status            TEXT NOT NULL CHECK (status IN ('planned', 'completed', 'failed')),
    recipe_json       TEXT NOT NULL,
    planner_note_json TEXT NOT NULL,
    failure           TEXT,
    planned_at        TEXT NOT NULL,
    completed_at      TEXT,
    UNIQUE (campaign_id, seq),
    CHECK ((status = 'failed') = (failure IS NOT NULL)),
    CHECK ((status = 'planned') = (completed_at IS NULL))
);

CREATE TABLE steps (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    kind          TEXT NOT NULL CHECK (kind IN ('spec', 'run')),
    position      INTEGER NOT NULL,
    step_index    INTEGER NOT NULL,
    action        TEXT NOT NULL,
    device        TEXT NOT NULL,
    setpoints_json TEXT NOT NULL,
    actuals_json  TEXT NOT NULL,
    start_json    TEXT,
    duration_json TEXT,
    PRIMARY KEY (experiment_id, kind, position)
);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY CHECK (length(hash) = 64),
    size       INTEGER NOT NULL CHECK (size >= 0),
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE measurements (
    id              TEXT PRIMARY KEY,
    experiment_id   TEXT NOT NULL REFERENCES experiments (id),
    position        INTEGER NOT NULL,
    technique       TEXT NOT NULL,
    instrument      TEXT NOT NULL,
    blob_hash       TEXT REFERENCES blobs (hash),
    blob_media_type TEXT,
    blob_file_name  TEXT,
    conditions_json TEXT NOT NULL,
    UNIQUE (experiment_id, position),
    CHECK ((blob_hash IS NULL) = (blob_media_type IS NULL)
       AND (blob_hash IS NULL) = (blob_file_name IS NULL))
);
CREATE INDEX measurements_by_blob ON measurements (blob_hash);

CREATE TABLE analyses (
    id              TEXT PRIMARY KEY,
    experiment_id   TEXT NOT NULL REFERENCES experiments (id),
    position        INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    software        TEXT NOT NULL,
    parameters_json TEXT NOT NULL,
    outputs_json    TEXT NOT NULL,
    UNIQUE (experiment_id, position)
);

CREATE TABLE analysis_inputs (
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    position    INTEGER NOT NULL,
    blob_hash   TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (analysis_id, position)
);
CREATE INDEX analysis_inputs_by_blob ON analysis_inputs (blob_hash);

CREATE TABLE results (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    std           REAL CHECK (std IS NULL OR std >= 0),
    unit          TEXT NOT NULL,
    origin        TEXT NOT NULL CHECK (origin IN ('specified', 'measured', 'computed', 'predicted')),
    method        TEXT NOT NULL,
    PRIMARY KEY (experiment_id, position)
);
CREATE INDEX results_by_name ON results (name);

CREATE TABLE planner_states (
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    seq         INTEGER NOT NULL,
    state_json  TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (campaign_id, seq)
);
"#;

/// Version 2: search ([`crate::Store::search`]).
///
/// * `recipe_values`: the recipe parameters of each experiment as rows (they are also in
///   `experiments.recipe_json`, which stays the record of truth), so that a filter on a recipe
///   parameter is an index range scan; filled by `record_planned` and, for experiments planned
///   before this version, backfilled here from the JSON.
/// * Indexes for filters: results and recipe values by `(name, unit, value)` (a filter such as
///   `d50 < 6 nm` is one range per stored unit; the index also answers "which units is d50
///   stored in" by skipping from unit to unit), measurements by technique. `results_by_name`
///   is a prefix of the new results index, so it goes.
const V2: &str = r#"
CREATE TABLE recipe_values (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    unit          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, name)
);
CREATE INDEX recipe_values_by_name_unit_value ON recipe_values (name, unit, value);
DROP INDEX results_by_name;
CREATE INDEX results_by_name_unit_value ON results (name, unit, value);
CREATE INDEX measurements_by_technique ON measurements (technique, experiment_id);
"#;

/// The recipe-value backfill of [`V2`], in SQLite's JSON functions.
const V2_BACKFILL_SQLITE: &str = r#"
INSERT INTO recipe_values (experiment_id, name, value, unit)
    SELECT e.id, p.key, json_extract(p.value, '$.value'), json_extract(p.value, '$.unit')
    FROM experiments e, json_each(e.recipe_json, '$.parameters') p;
"#;

/// The recipe-value backfill of [`V2`], in PostgreSQL's JSON functions.
const V2_BACKFILL_POSTGRES: &str = r#"
INSERT INTO recipe_values (experiment_id, name, value, unit)
    SELECT e.id, p.key, (p.value ->> 'value')::DOUBLE PRECISION, p.value ->> 'unit'
    FROM experiments e CROSS JOIN LATERAL jsonb_each(e.recipe_json::jsonb -> 'parameters') p;
"#;

/// Version 3: the provenance graph (see `store/provenance.rs`).
///
/// * `prov_records`: one row per version of a record (spec/run of a process, material or
///   measurement; analysis; result; blob; campaign). `lab_id` names all versions; exactly one
///   has `is_latest = 1`. Kind-specific content is JSON (`body_json`), extras too.
/// * `prov_edges`: typed edges pointing downstream (source → target). The primary key
///   `(source_id, target_id, kind)` serves downstream walks; `prov_edges_by_target` upstream
///   walks, so each step of a recursive lineage query is an index range scan.
/// * `prov_counters`: the last number of each generated lab-id prefix.
const V3: &str = r#"
CREATE TABLE prov_records (
    id            TEXT PRIMARY KEY,
    lab_id        TEXT NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    kind          TEXT NOT NULL CHECK (kind IN ('campaign', 'process_spec', 'process_run',
                  'material_spec', 'material_run', 'measurement_spec', 'measurement_run',
                  'analysis', 'result', 'blob')),
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'completed')),
    is_latest     INTEGER NOT NULL CHECK (is_latest IN (0, 1)),
    previous_id   TEXT REFERENCES prov_records (id),
    revision_note TEXT,
    body_json     TEXT NOT NULL,
    extras_json   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (lab_id, version)
);
CREATE INDEX prov_records_by_kind ON prov_records (kind, lab_id);

CREATE TABLE prov_edges (
    source_id TEXT NOT NULL REFERENCES prov_records (id),
    target_id TEXT NOT NULL REFERENCES prov_records (id),
    kind      TEXT NOT NULL CHECK (kind IN ('used', 'generated', 'derived_from', 'measured',
              'part_of', 'specifies')),
    PRIMARY KEY (source_id, target_id, kind),
    CHECK (source_id != target_id)
);
CREATE INDEX prov_edges_by_target ON prov_edges (target_id, source_id, kind);

CREATE TABLE prov_counters (
    prefix TEXT PRIMARY KEY,
    last   INTEGER NOT NULL CHECK (last >= 1)
);
"#;

/// Version 4, shared part: fewer index entries per ingested row.
///
/// `measurements_by_blob` becomes partial: most measurements have no raw file, and a NULL
/// `blob_hash` was an index entry per measurement that no lookup can use (every lookup is
/// `blob_hash = ?`, which implies `IS NOT NULL`, so both engines still use the partial index,
/// including for foreign-key checks on `blobs`).
const V4: &str = r#"
DROP INDEX measurements_by_blob;
CREATE INDEX measurements_by_blob ON measurements (blob_hash) WHERE blob_hash IS NOT NULL;
"#;

/// Version 4, SQLite part: `results` and `recipe_values` become `WITHOUT ROWID` tables.
///
/// Both have a composite primary key. As rowid tables each row was two B-tree inserts (the
/// table by rowid plus the primary-key index); clustered on the primary key it is one, and the
/// rows are small (well under a twentieth of a page), which is where SQLite recommends
/// `WITHOUT ROWID`. The `origin` check accepts the same four words, written as `=` tests:
/// SQLite evaluates a constant `IN` list of more than two values by building a temporary
/// B-tree each time the insert statement runs, which cost a tenth of a bulk ingest's time.
/// Columns, keys and indexes are otherwise unchanged; no query used their rowids. The rebuild copies every row (`INSERT … SELECT` of all columns) inside the
/// migration's transaction, so a crash leaves the version-3 tables as they were.
const V4_SQLITE: &str = r#"
CREATE TABLE results_v4 (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    std           REAL CHECK (std IS NULL OR std >= 0),
    unit          TEXT NOT NULL,
    origin        TEXT NOT NULL CHECK (origin = 'specified' OR origin = 'measured'
                  OR origin = 'computed' OR origin = 'predicted'),
    method        TEXT NOT NULL,
    PRIMARY KEY (experiment_id, position)
) WITHOUT ROWID;
INSERT INTO results_v4 (experiment_id, position, name, value, std, unit, origin, method)
    SELECT experiment_id, position, name, value, std, unit, origin, method FROM results;
DROP TABLE results;
ALTER TABLE results_v4 RENAME TO results;
CREATE INDEX results_by_name_unit_value ON results (name, unit, value);

CREATE TABLE recipe_values_v4 (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    unit          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, name)
) WITHOUT ROWID;
INSERT INTO recipe_values_v4 (experiment_id, name, value, unit)
    SELECT experiment_id, name, value, unit FROM recipe_values;
DROP TABLE recipe_values;
ALTER TABLE recipe_values_v4 RENAME TO recipe_values;
CREATE INDEX recipe_values_by_name_unit_value ON recipe_values (name, unit, value);
"#;

/// Version 5, SQLite part: results and recipe values are keyed by an experiment number.
///
/// `experiments.num` is a small integer, unique per store, that the store assigns when it
/// writes an experiment (one more than the largest so far; the write transaction holds the
/// lock). `results` and `recipe_values` reference it instead of the experiment's 36-character
/// UUID, which they repeated in every row and every entry of their value indexes: ten result
/// rows per measurement made the UUID most of each row, every key comparison a 36-byte one,
/// and the index rebuild of a large write a sort of twice the bytes. A million-experiment
/// ingest ran about 30 % faster on the same machine (21 000 → 27 000–29 500/s). The UUID stays
/// the experiment's identity everywhere else (API, exports, other tables); `num` never leaves
/// the database. Existing experiments are numbered in rowid (insertion) order. The rebuild
/// copies every row inside the migration's transaction, so a crash leaves version 4 as it was.
const V5_SQLITE: &str = r#"
ALTER TABLE experiments ADD COLUMN num INTEGER CHECK (num >= 1);
UPDATE experiments SET num = rowid;
CREATE UNIQUE INDEX experiments_by_num ON experiments (num);

CREATE TABLE results_v5 (
    experiment_num INTEGER NOT NULL REFERENCES experiments (num),
    position       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    value          REAL NOT NULL,
    std            REAL CHECK (std IS NULL OR std >= 0),
    unit           TEXT NOT NULL,
    origin         TEXT NOT NULL CHECK (origin = 'specified' OR origin = 'measured'
                   OR origin = 'computed' OR origin = 'predicted'),
    method         TEXT NOT NULL,
    PRIMARY KEY (experiment_num, position)
) WITHOUT ROWID;
INSERT INTO results_v5 (experiment_num, position, name, value, std, unit, origin, method)
    SELECT e.num, r.position, r.name, r.value, r.std, r.unit, r.origin, r.method
    FROM results r JOIN experiments e ON e.id = r.experiment_id;
DROP TABLE results;
ALTER TABLE results_v5 RENAME TO results;
CREATE INDEX results_by_name_unit_value ON results (name, unit, value);

CREATE TABLE recipe_values_v5 (
    experiment_num INTEGER NOT NULL REFERENCES experiments (num),
    name           TEXT NOT NULL,
    value          REAL NOT NULL,
    unit           TEXT NOT NULL,
    PRIMARY KEY (experiment_num, name)
) WITHOUT ROWID;
INSERT INTO recipe_values_v5 (experiment_num, name, value, unit)
    SELECT e.num, v.name, v.value, v.unit
    FROM recipe_values v JOIN experiments e ON e.id = v.experiment_id;
DROP TABLE recipe_values;
ALTER TABLE recipe_values_v5 RENAME TO recipe_values;
CREATE INDEX recipe_values_by_name_unit_value ON recipe_values (name, unit, value);
"#;

/// Version 5, PostgreSQL part: the same keys as [`V5_SQLITE`], changed in place. Existing
/// experiments are numbered in the order they were planned.
///
/// Also statistics on `(name, unit)` of results and recipe values. A property's unit follows
/// from its name, but the planner assumed them independent and, for `recipe.temperature > 290
/// degC` over a million experiments, expected a tenth of the 100 000 matching recipe values:
/// after an autovacuum's ANALYZE it then drove the search from them (100 000 index probes,
/// 0.7–0.8 s instead of 0.1 s).
const V5_POSTGRES: &str = r#"
ALTER TABLE experiments ADD COLUMN num BIGINT CHECK (num >= 1);
UPDATE experiments SET num = o.n
    FROM (SELECT id, row_number() OVER (ORDER BY planned_at, id) AS n FROM experiments) AS o
    WHERE o.id = experiments.id;
ALTER TABLE experiments ALTER COLUMN num SET NOT NULL;
ALTER TABLE experiments ADD CONSTRAINT experiments_by_num UNIQUE (num);

ALTER TABLE results ADD COLUMN experiment_num BIGINT;
UPDATE results SET experiment_num = e.num FROM experiments e WHERE e.id = results.experiment_id;
ALTER TABLE results DROP CONSTRAINT results_pkey;
ALTER TABLE results DROP COLUMN experiment_id;
ALTER TABLE results ALTER COLUMN experiment_num SET NOT NULL;
ALTER TABLE results ADD PRIMARY KEY (experiment_num, position);
ALTER TABLE results ADD FOREIGN KEY (experiment_num) REFERENCES experiments (num);

ALTER TABLE recipe_values ADD COLUMN experiment_num BIGINT;
UPDATE recipe_values SET experiment_num = e.num
    FROM experiments e WHERE e.id = recipe_values.experiment_id;
ALTER TABLE recipe_values DROP CONSTRAINT recipe_values_pkey;
ALTER TABLE recipe_values DROP COLUMN experiment_id;
ALTER TABLE recipe_values ALTER COLUMN experiment_num SET NOT NULL;
ALTER TABLE recipe_values ADD PRIMARY KEY (experiment_num, name);
ALTER TABLE recipe_values ADD FOREIGN KEY (experiment_num) REFERENCES experiments (num);

CREATE STATISTICS results_name_unit (dependencies, mcv) ON name, unit FROM results;
CREATE STATISTICS recipe_values_name_unit (dependencies, mcv) ON name, unit FROM recipe_values;
ANALYZE results, recipe_values;
"#;

/// One schema version step.
struct Migration {
    /// Schema statements in SQLite's column types, shared by both backends.
    schema: &'static str,
    /// Statements run after `schema` on SQLite only.
    sqlite: &'static str,
    /// Statements run after `schema` on PostgreSQL only.
    postgres: &'static str,
}

impl Migration {
    /// The whole migration for SQLite.
    fn sqlite_sql(&self) -> String {
        format!("{}{}", self.schema, self.sqlite)
    }

    /// The whole migration for PostgreSQL.
    fn postgres_sql(&self) -> String {
        format!("{}{}", postgres_types(self.schema), self.postgres)
    }
}

/// All migrations in order; `MIGRATIONS[n]` upgrades version `n` to `n + 1`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        schema: V1,
        sqlite: "",
        postgres: "",
    },
    Migration {
        schema: V2,
        sqlite: V2_BACKFILL_SQLITE,
        postgres: V2_BACKFILL_POSTGRES,
    },
    Migration {
        schema: V3,
        sqlite: "",
        postgres: "",
    },
    Migration {
        schema: V4,
        sqlite: V4_SQLITE,
        postgres: "",
    },
    Migration {
        schema: "",
        sqlite: V5_SQLITE,
        postgres: V5_POSTGRES,
    },
];

/// SQLite column types → PostgreSQL's: 64-bit integers and doubles, as SQLite stores them. The
/// schema text uses `INTEGER` and `REAL` only as column types (upper case), so a plain
/// replacement of those words is exact.
fn postgres_types(schema: &str) -> String {
    schema
        .replace("INTEGER", "BIGINT")
        .replace("REAL", "DOUBLE PRECISION")
}

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub(crate) fn sqlite_schema_version(conn: &Connection) -> Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, u32>(0))
        .map_err(db("read the schema version"))
}

/// Brings the database up to [`SCHEMA_VERSION`]. Safe to run on every open and from several
/// processes at once: the version is re-read inside each write transaction.
pub(crate) fn migrate_sqlite(conn: &mut Connection, path: &Path) -> Result<()> {
    loop {
        let current = sqlite_schema_version(conn)?;
        check_not_too_new(current, path)?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("begin a migration transaction"))?;
        let current = sqlite_schema_version(&tx)?;
        check_not_too_new(current, path)?;
        if current == SCHEMA_VERSION {
            // Another process migrated while we waited for the lock.
            return Ok(());
        }
        let next = current + 1;
        tx.execute_batch(&MIGRATIONS[current as usize].sqlite_sql())
            .map_err(db(format!("apply schema migration {next}")))?;
        tx.pragma_update(None, "user_version", next)
            .map_err(db(format!("set the schema version to {next}")))?;
        tx.commit()
            .map_err(db(format!("commit schema migration {next}")))?;
    }
}

fn check_not_too_new(found: u32, path: &Path) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// The highest version in `schema_migrations` (0 when the table does not exist yet: a new
/// database). Runs in the connection's current schema (`search_path`).
pub(crate) fn postgres_schema_version(client: &mut impl postgres::GenericClient) -> Result<u32> {
    let row = client
        .query_one(
            "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN NULL ELSE 1 END",
            &[],
        )
        .map_err(db("look for the schema_migrations table"))?;
    if row
        .try_get::<_, Option<i32>>(0)
        .map_err(db("look for the schema_migrations table"))?
        .is_none()
    {
        return Ok(0);
    }
    let version: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(db("read the schema version"))?;
    u32::try_from(version).map_err(|_| {
        StoreError::corrupt(
            "schema_migrations",
            "version",
            format!("{version} is not a schema version"),
        )
    })
}

/// Brings a PostgreSQL database (schema) up to [`SCHEMA_VERSION`]. Safe to run on every
/// connect and from several processes at once: each migration runs under the store's advisory
/// lock (`lock_key`) and re-reads the version after taking it.
pub(crate) fn migrate_postgres(
    client: &mut postgres::Client,
    description: &str,
    lock_key: i64,
) -> Result<()> {
    let location = PathBuf::from(description);
    loop {
        let current = postgres_schema_version(client)?;
        check_not_too_new(current, &location)?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        let mut tx = client
            .transaction()
            .map_err(db("begin a migration transaction"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key])
            .map_err(db("take the store's lock to migrate the schema"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version BIGINT PRIMARY KEY CHECK (version >= 1), applied_at TEXT NOT NULL)",
        )
        .map_err(db("create the schema_migrations table"))?;
        let current = postgres_schema_version(&mut tx)?;
        check_not_too_new(current, &location)?;
        if current == SCHEMA_VERSION {
            // Another process migrated while we waited for the lock.
            return Ok(());
        }
        let next = current + 1;
        tx.batch_execute(&MIGRATIONS[current as usize].postgres_sql())
            .map_err(db(format!("apply schema migration {next}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[&i64::from(next), &now_rfc3339()],
        )
        .map_err(db(format!("record schema migration {next}")))?;
        tx.commit()
            .map_err(db(format!("commit schema migration {next}")))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_migrations_use_postgres_column_types_only() {
        for (n, m) in MIGRATIONS.iter().enumerate() {
            let pg = m.postgres_sql();
            assert!(
                !pg.contains("INTEGER") && !pg.contains(" REAL"),
                "migration {}",
                n + 1
            );
            // Every SQLite integer or real column becomes exactly one PostgreSQL column type.
            assert_eq!(
                m.schema.matches("INTEGER").count() + m.schema.matches("REAL").count(),
                postgres_types(m.schema).matches("BIGINT").count()
                    + postgres_types(m.schema).matches("DOUBLE PRECISION").count(),
            );
            assert!(m.sqlite_sql().starts_with(m.schema));
        }
    }
}
