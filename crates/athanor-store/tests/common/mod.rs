//! Fixtures shared by the integration tests: a campaign, and experiments whose every recorded
//! value is a deterministic function of their seq (so a test can check what was stored without
//! remembering what it wrote).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use athanor_model::{Origin, ProcessStep, PropertyValue, Quantity, Recipe};
use athanor_store::{
    AnalysisRecord, BackendKind, CompletedExperiment, MeasurementRecord, NewCampaign,
    PlannedExperiment, Store, StoreConfig, StoreError, DATABASE_FILE_NAME,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub fn new_campaign(name: &str, seed: u64) -> NewCampaign {
    NewCampaign {
        name: name.to_string(),
        seed,
        config_hash: format!("hash-of-{name}"),
        config_text: format!("[campaign]\nname = \"{name}\"\nseed = {seed}\n"),
        budget: 30,
    }
}

pub fn recipe(seq: u32) -> Recipe {
    let mut parameters = BTreeMap::new();
    parameters.insert(
        "growth_temperature".to_string(),
        Quantity::new(240.0 + f64::from(seq) * 1.25, "degC"),
    );
    parameters.insert(
        "growth_time".to_string(),
        Quantity::new(0.5 + f64::from(seq) / 7.0, "min"),
    );
    parameters.insert(
        "cd_se_ratio".to_string(),
        Quantity::new(1.0 / (1.0 + f64::from(seq)), ""),
    );
    Recipe { parameters }
}

fn step(index: u32, action: &str, setpoint: f64, actual: Option<f64>) -> ProcessStep {
    let mut setpoints = BTreeMap::new();
    setpoints.insert("temperature".to_string(), Quantity::new(setpoint, "degC"));
    let mut actuals = BTreeMap::new();
    if let Some(actual) = actual {
        actuals.insert(
            "temperature".to_string(),
            Quantity::with_std(actual, 0.3, "degC"),
        );
    }
    ProcessStep {
        index,
        action: action.to_string(),
        setpoints,
        actuals,
        start: Some(Quantity::new(f64::from(index) * 60.0, "s")),
        duration: (index != 2).then(|| Quantity::new(90.0 + f64::from(index), "s")),
        device: format!("reactor-{index}"),
    }
}

pub fn spec_steps(seq: u32) -> Vec<ProcessStep> {
    let t = 240.0 + f64::from(seq) * 1.25;
    vec![
        step(1, "heat", t, None),
        step(2, "inject", t, None),
        step(3, "grow", t - 10.0, None),
    ]
}

pub fn run_steps(seq: u32) -> Vec<ProcessStep> {
    spec_steps(seq)
        .into_iter()
        .map(|s| {
            let setpoint = s.setpoints["temperature"].value;
            step(
                s.index,
                &s.action,
                setpoint,
                Some(setpoint + 0.1 * f64::from(seq % 7)),
            )
        })
        .collect()
}

pub fn planned(campaign_id: &str, seq: u32) -> PlannedExperiment {
    PlannedExperiment {
        campaign_id: campaign_id.to_string(),
        seq,
        recipe: recipe(seq),
        spec_steps: spec_steps(seq),
        planner_note: json!({ "strategy": "sobol", "predicted": { "pl_peak": 520.0 + f64::from(seq) } }),
    }
}

/// Raw "micrograph" bytes of an experiment: incompressible, large enough that writing them takes
/// a noticeable moment (so that crash tests kill writers mid-blob).
pub fn micrograph_bytes(seq: u32, len: usize) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(seq));
    (0..len).map(|_| rng.random::<u8>()).collect()
}

pub fn spectrum_bytes(seq: u32) -> Vec<u8> {
    (0..200)
        .map(|i| {
            format!(
                "{},{:.6}\n",
                400 + i,
                (f64::from(i + seq) * 0.05).sin().abs()
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// Bytes shared by every experiment: storing them again must be a no-op.
pub const CALIBRATION: &[u8] = b"detector dark frame v1";

pub fn expected_results(seq: u32) -> Vec<PropertyValue> {
    let s = f64::from(seq);
    vec![
        PropertyValue {
            name: "pl_peak".to_string(),
            quantity: Quantity::with_std(500.0 + s * 0.37, 1.5, "nm"),
            origin: Origin::Measured,
            method: "PL/spectrum".to_string(),
        },
        PropertyValue {
            name: "d50".to_string(),
            quantity: Quantity::with_std(3.0 + s / 3.0, 0.1 + s * 1e-3, "nm"),
            origin: Origin::Computed,
            method: "TEM/vision".to_string(),
        },
        PropertyValue {
            name: "size_cv".to_string(),
            quantity: Quantity::new(0.1 / (1.0 + s), ""),
            origin: Origin::Computed,
            method: "TEM/vision".to_string(),
        },
        PropertyValue {
            name: "quantum_yield".to_string(),
            quantity: Quantity::with_std(0.3 + s * 1e-2, 0.02, ""),
            origin: Origin::Measured,
            method: "QY/integrating-sphere".to_string(),
        },
    ]
}

pub fn planner_state(seq: u32) -> String {
    json!({ "observations": seq, "length_scales": [0.3, 1.0 / (1.0 + f64::from(seq))] }).to_string()
}

/// Stores the experiment's raw files and returns its completion record.
pub fn completion(
    store: &Store,
    experiment_id: &str,
    seq: u32,
    micrograph_len: usize,
) -> Result<CompletedExperiment, StoreError> {
    let tem = store.put_blob(
        &micrograph_bytes(seq, micrograph_len),
        "image/tiff",
        &format!("tem-{seq:03}.tif"),
    )?;
    let pl = store.put_blob(
        &spectrum_bytes(seq),
        "text/csv",
        &format!("pl-{seq:03}.csv"),
    )?;
    let calibration = store.put_blob(CALIBRATION, "application/octet-stream", "dark.bin")?;
    Ok(CompletedExperiment {
        experiment_id: experiment_id.to_string(),
        run_steps: run_steps(seq),
        measurements: vec![
            MeasurementRecord {
                technique: "TEM".to_string(),
                instrument: "sim-tem".to_string(),
                blob: Some(tem.clone()),
                conditions: json!({ "magnification": 200000, "pixel_size_nm": 0.2 }),
            },
            MeasurementRecord {
                technique: "PL".to_string(),
                instrument: "sim-fluorimeter".to_string(),
                blob: Some(pl.clone()),
                conditions: json!({ "excitation_nm": 400 }),
            },
            MeasurementRecord {
                technique: "QY".to_string(),
                instrument: "sim-sphere".to_string(),
                blob: None,
                conditions: json!({}),
            },
        ],
        analyses: vec![AnalysisRecord {
            kind: "particle-size-distribution".to_string(),
            software: "athanor-vision 0.1.0".to_string(),
            input_blobs: vec![tem.hash, calibration.hash],
            parameters: json!({ "threshold": "otsu" }),
            outputs: json!({ "count": 100 + seq, "d50_nm": 3.0 + f64::from(seq) / 3.0 }),
        }],
        results: expected_results(seq),
        planner_state_json: planner_state(seq),
    })
}

// ------------------------------------------------------------------------------------------------
// Backends: every behavioural test runs on SQLite and, when ATHANOR_TEST_POSTGRES_URL is set, on
// PostgreSQL, each time in a fresh store of its own.
// ------------------------------------------------------------------------------------------------

/// The environment variable naming a PostgreSQL server for the tests
/// (`postgres://user@host:port/dbname`); `scripts/test.sh` starts a throw-away server and sets
/// it. Unset, the PostgreSQL variants of the tests are skipped (loudly).
pub const POSTGRES_URL_ENV: &str = "ATHANOR_TEST_POSTGRES_URL";

/// A fresh, empty store location for one test: a temporary data directory and, for
/// PostgreSQL, a schema of its own (dropped again when the test ends).
pub struct TestDb {
    root: tempfile::TempDir,
    config: StoreConfig,
}

impl TestDb {
    /// SQLite in a new temporary directory.
    pub fn sqlite() -> TestDb {
        let root = tempfile::tempdir().expect("create a temporary directory");
        let config = StoreConfig::sqlite(root.path().join("lab"));
        TestDb { root, config }
    }

    /// PostgreSQL in a new schema named after the test, or `None` (after printing why) when
    /// no server is configured.
    pub fn postgres(test: &str) -> Option<TestDb> {
        let Ok(url) = std::env::var(POSTGRES_URL_ENV) else {
            eprintln!(
                "SKIPPED (no {POSTGRES_URL_ENV}): PostgreSQL variant of '{test}' did not run; \
                 scripts/test.sh starts a server and sets it"
            );
            return None;
        };
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let short: String = test.chars().take(32).collect();
        let schema = format!(
            "t_{short}_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
        .to_lowercase();
        let root = tempfile::tempdir().expect("create a temporary directory");
        let config =
            StoreConfig::postgres(url, root.path().join("lab")).with_postgres_schema(schema);
        Some(TestDb { root, config })
    }

    /// The store's configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The data directory (blobs, and the SQLite file).
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Opens (another) store on this location.
    pub fn open(&self) -> Store {
        Store::open_with(&self.config).expect("open the test store")
    }

    /// Which engine the test runs on.
    pub fn kind(&self) -> BackendKind {
        self.config
            .backend_kind()
            .expect("valid test configuration")
    }

    /// A direct connection to the database, to look at what the store wrote.
    pub fn raw(&self) -> Raw {
        match (&self.config.database_url, &self.config.postgres_schema) {
            (Some(url), Some(schema)) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls)
                    .expect("connect to the test PostgreSQL server");
                client
                    .batch_execute(&format!("SET search_path TO \"{schema}\""))
                    .expect("select the test schema");
                Raw::Postgres(client)
            }
            _ => Raw::Sqlite(
                rusqlite::Connection::open(self.data_dir().join(DATABASE_FILE_NAME))
                    .expect("open the test database"),
            ),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let (Some(url), Some(schema)) = (&self.config.database_url, &self.config.postgres_schema)
        {
            // Best effort: the server is thrown away after the run anyway.
            if let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) {
                let _ =
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
            }
        }
        let _ = &self.root;
    }
}

/// A direct connection to a test store's database.
pub enum Raw {
    /// The SQLite file.
    Sqlite(rusqlite::Connection),
    /// The PostgreSQL database, with the test's schema on the search path.
    Postgres(postgres::Client),
}

impl Raw {
    /// The single integer a query such as `SELECT COUNT(*) …` returns.
    pub fn count(&mut self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(conn) => conn.query_row(sql, [], |row| row.get(0)).unwrap(),
            Raw::Postgres(client) => client.query_one(sql, &[]).unwrap().get(0),
        }
    }

    /// Runs a statement.
    pub fn execute(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
            Raw::Postgres(client) => client.batch_execute(sql).unwrap(),
        }
    }

    /// Names of the tables in the store's database (schema), sorted.
    pub fn tables(&mut self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Raw::Sqlite(conn) => {
                let mut statement = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap();
                statement
                    .query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Raw::Postgres(client) => client
                .query(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        };
        names.sort();
        names
    }

    /// How many schema objects (tables, indices, …) exist: must not grow when a store is
    /// reopened.
    pub fn schema_object_count(&mut self) -> i64 {
        match self {
            Raw::Sqlite(_) => self.count("SELECT COUNT(*) FROM sqlite_master"),
            Raw::Postgres(_) => self.count(
                "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema()",
            ),
        }
    }

    /// The `CREATE` text of a table or index (SQLite) or the index definition (PostgreSQL;
    /// empty for a table or a missing index).
    pub fn definition(&mut self, name: &str) -> String {
        match self {
            Raw::Sqlite(conn) => conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .unwrap(),
            Raw::Postgres(client) => client
                .query_opt(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                     AND indexname = $1",
                    &[&name],
                )
                .unwrap()
                .map_or_else(String::new, |row| row.get(0)),
        }
    }

    /// Runs a statement that should fail, returning whether it did.
    pub fn fails(&mut self, sql: &str) -> bool {
        match self {
            Raw::Sqlite(conn) => conn.execute_batch(sql).is_err(),
            Raw::Postgres(client) => client.batch_execute(sql).is_err(),
        }
    }

    /// Gives `results` and `recipe_values` back the experiment UUID as their key and takes
    /// `experiments.num` away: the shape of schema version 4, with every row kept. Leaves the
    /// recorded schema version alone (the caller sets the one it builds).
    pub fn undo_migration_5(&mut self) {
        match self {
            Raw::Sqlite(_) => self.execute(
                "BEGIN;
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
                INSERT INTO results_v4 SELECT e.id, r.position, r.name, r.value, r.std, r.unit,
                    r.origin, r.method FROM results r JOIN experiments e ON e.num = r.experiment_num;
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
                INSERT INTO recipe_values_v4 SELECT e.id, v.name, v.value, v.unit
                    FROM recipe_values v JOIN experiments e ON e.num = v.experiment_num;
                DROP TABLE recipe_values;
                ALTER TABLE recipe_values_v4 RENAME TO recipe_values;
                CREATE INDEX recipe_values_by_name_unit_value ON recipe_values (name, unit, value);
                DROP INDEX experiments_by_num;
                ALTER TABLE experiments DROP COLUMN num;
                COMMIT;",
            ),
            Raw::Postgres(_) => {
                for table in ["results", "recipe_values"] {
                    let key = if table == "results" { "position" } else { "name" };
                    self.execute(&format!(
                        "ALTER TABLE {table} ADD COLUMN experiment_id TEXT;
                        UPDATE {table} SET experiment_id = e.id FROM experiments e
                            WHERE e.num = {table}.experiment_num;
                        ALTER TABLE {table} DROP COLUMN experiment_num;
                        ALTER TABLE {table} ALTER COLUMN experiment_id SET NOT NULL;
                        ALTER TABLE {table} ADD PRIMARY KEY (experiment_id, {key});
                        ALTER TABLE {table} ADD FOREIGN KEY (experiment_id)
                            REFERENCES experiments (id);"
                    ));
                }
                self.execute(
                    "ALTER TABLE experiments DROP COLUMN num; \
                     DROP STATISTICS results_name_unit, recipe_values_name_unit;",
                );
            }
        }
    }

    /// Marks the database as written by a newer build.
    pub fn set_schema_version(&mut self, version: u32) {
        match self {
            Raw::Sqlite(conn) => conn.pragma_update(None, "user_version", version).unwrap(),
            Raw::Postgres(client) => {
                client
                    .execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 'test')",
                        &[&i64::from(version)],
                    )
                    .unwrap();
            }
        }
    }
}

/// Defines each listed test twice, `sqlite::NAME` and `postgres::NAME`, calling the function
/// `NAME(TestDb)` of the enclosing module with a fresh store of that backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::common::TestDb::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = $crate::common::TestDb::postgres(stringify!($name)) {
                        super::$name(db);
                    }
                }
            )*
        }
    };
}
