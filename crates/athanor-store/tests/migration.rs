//! Schema migrations 4 (fewer index entries per ingested row) and 5 (results and recipe values
//! keyed by an experiment number): a store written at version 3 or 4 keeps every row, every
//! check and every answer when the current build opens it.
//!
//! The older databases are made from a store filled through the API by undoing what the
//! migrations changed. Version 4: `results` and `recipe_values` keyed by the experiment UUID
//! again and `experiments.num` gone ([`Raw::undo_migration_5`]). Version 3, from there: on
//! SQLite `results` and `recipe_values` rebuilt as the rowid tables of versions 1 and 2 (their
//! original `CREATE TABLE` text), on both backends `measurements_by_blob` recreated as the full
//! index. Runs on both backends (see [`on_both_backends!`]).

mod common;

use athanor_store::{ExperimentRecord, Store, SCHEMA_VERSION};
use common::*;

/// The version-1 `results` table and the version-2 `recipe_values` table, as rowid tables
/// with their indexes (SQLite text of migrations 1 and 2).
const SQLITE_V3_TABLES: &str = r#"
CREATE TABLE results_v3 (
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
INSERT INTO results_v3 SELECT experiment_id, position, name, value, std, unit, origin, method
    FROM results;
DROP TABLE results;
ALTER TABLE results_v3 RENAME TO results;
CREATE INDEX results_by_name_unit_value ON results (name, unit, value);
CREATE TABLE recipe_values_v3 (
    experiment_id TEXT NOT NULL REFERENCES experiments (id),
    name          TEXT NOT NULL,
    value         REAL NOT NULL,
    unit          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, name)
);
INSERT INTO recipe_values_v3 SELECT experiment_id, name, value, unit FROM recipe_values;
DROP TABLE recipe_values;
ALTER TABLE recipe_values_v3 RENAME TO recipe_values;
CREATE INDEX recipe_values_by_name_unit_value ON recipe_values (name, unit, value);
"#;

/// The full blob index of versions 1 to 3.
const FULL_BLOB_INDEX: &str =
    "DROP INDEX measurements_by_blob; CREATE INDEX measurements_by_blob ON measurements (blob_hash);";

/// A campaign with three completed experiments (blobs, analyses, results with and without
/// std) and one that is only planned.
fn filled_store(db: &TestDb) -> (Store, String) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 4)).unwrap();
    for seq in 1..=4 {
        let experiment = store.record_planned(&planned(&campaign.id, seq)).unwrap();
        if seq <= 3 {
            store
                .record_completed(&completion(&store, &experiment.id, seq, 2048).unwrap())
                .unwrap();
        }
    }
    (store, campaign.id)
}

/// How `results` and `recipe_values` name their experiment.
#[derive(Clone, Copy)]
enum Keys {
    /// By its UUID (`experiment_id`, versions 1 to 4).
    Uuid,
    /// By its number (`experiment_num`, version 5 on).
    Number,
}

/// Every row of the tables migrations 4 and 5 touch, as text (results and recipe values with
/// their experiment's UUID whichever way they are keyed), in key order.
fn rows(raw: &mut Raw, keys: Keys) -> Vec<String> {
    let experiment = |alias: &str| match keys {
        Keys::Uuid => format!("experiments e ON e.id = {alias}.experiment_id"),
        Keys::Number => format!("experiments e ON e.num = {alias}.experiment_num"),
    };
    let queries = [
        format!(
            "SELECT e.id || '|' || r.position || '|' || r.name || '|' || CAST(r.value AS TEXT) \
             || '|' || COALESCE(CAST(r.std AS TEXT), 'none') || '|' || r.unit || '|' \
             || r.origin || '|' || r.method FROM results r JOIN {} ORDER BY e.id, r.position",
            experiment("r")
        ),
        format!(
            "SELECT e.id || '|' || v.name || '|' || CAST(v.value AS TEXT) || '|' || v.unit \
             FROM recipe_values v JOIN {} ORDER BY e.id, v.name",
            experiment("v")
        ),
        "SELECT id || '|' || experiment_id || '|' || position || '|' || technique || '|' \
         || COALESCE(blob_hash, 'none') FROM measurements ORDER BY id"
            .to_string(),
    ];
    let mut out = Vec::new();
    for sql in &queries {
        match raw {
            Raw::Sqlite(conn) => {
                let mut statement = conn.prepare(sql).unwrap();
                let texts = statement
                    .query_map([], |row| row.get::<_, String>(0))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                out.extend(texts);
            }
            Raw::Postgres(client) => out.extend(
                client
                    .query(sql, &[])
                    .unwrap()
                    .iter()
                    .map(|row| row.get::<_, String>(0)),
            ),
        }
        out.push("--".to_string());
    }
    out
}

/// Undoes migration 5 and records version 4.
fn make_version_4(db: &TestDb) {
    let mut raw = db.raw();
    raw.undo_migration_5();
    match &mut raw {
        Raw::Sqlite(conn) => conn.pragma_update(None, "user_version", 4).unwrap(),
        Raw::Postgres(client) => client
            .batch_execute("DELETE FROM schema_migrations WHERE version > 4")
            .unwrap(),
    }
}

fn make_version_3(db: &TestDb) {
    make_version_4(db);
    let mut raw = db.raw();
    match &mut raw {
        Raw::Sqlite(conn) => {
            conn.execute_batch(&format!(
                "BEGIN; {SQLITE_V3_TABLES} {FULL_BLOB_INDEX} COMMIT;"
            ))
            .unwrap();
            conn.pragma_update(None, "user_version", 3).unwrap();
        }
        Raw::Postgres(client) => {
            client
                .batch_execute(&format!(
                    "{FULL_BLOB_INDEX} DELETE FROM schema_migrations WHERE version > 3;"
                ))
                .unwrap();
        }
    }
    assert!(
        !raw.definition("measurements_by_blob").contains("WHERE"),
        "the version-3 blob index is the full one"
    );
    if matches!(raw, Raw::Sqlite(_)) {
        assert!(!raw.definition("results").contains("WITHOUT ROWID"));
        assert!(!raw.definition("recipe_values").contains("WITHOUT ROWID"));
    }
}

fn a_version_3_store_keeps_its_data_through_migration_4(db: TestDb) {
    let (store, campaign_id) = filled_store(&db);
    let experiments_before: Vec<ExperimentRecord> = store.experiments(&campaign_id).unwrap();
    let hits_before = store.search_hits("d50 < 100 nm", None).unwrap();
    drop(store);
    let rows_before = rows(&mut db.raw(), Keys::Number);
    assert!(
        rows_before.len() > 20,
        "the store holds results: {rows_before:?}"
    );

    make_version_3(&db);
    assert_eq!(
        rows(&mut db.raw(), Keys::Uuid),
        rows_before,
        "the downgrade itself kept the rows"
    );

    let (store, mut raw) = open_migrated(&db, &rows_before);
    assert_eq!(store.experiments(&campaign_id).unwrap(), experiments_before);
    assert_eq!(
        store.search_hits("d50 < 100 nm", None).unwrap(),
        hits_before
    );
    assert!(!hits_before.is_empty());
    assert!(store.check_integrity().unwrap().is_ok());

    // The new shapes.
    assert!(raw.definition("measurements_by_blob").contains("WHERE"));
    if matches!(raw, Raw::Sqlite(_)) {
        assert!(raw.definition("results").contains("WITHOUT ROWID"));
        assert!(raw.definition("recipe_values").contains("WITHOUT ROWID"));
        assert!(!raw.definition("results_by_name_unit_value").is_empty());
        assert!(!raw
            .definition("recipe_values_by_name_unit_value")
            .is_empty());
    }

    assert_keys_and_checks_hold(&mut raw, &experiments_before[0].id);
    drop(raw);
    assert_new_experiments_are_numbered_after_the_others(&store, &db, &campaign_id);
}

fn a_version_4_store_keeps_its_data_through_migration_5(db: TestDb) {
    let (store, campaign_id) = filled_store(&db);
    let experiments_before: Vec<ExperimentRecord> = store.experiments(&campaign_id).unwrap();
    let filters = [
        "d50 < 100 nm",
        "recipe.growth_temperature > 0 K",
        "d50 > 1 nm AND technique = \"TEM\"",
    ];
    let hits_before: Vec<_> = filters
        .iter()
        .map(|filter| store.search_hits(filter, None).unwrap())
        .collect();
    assert!(hits_before.iter().all(|hits| !hits.is_empty()));
    drop(store);
    let rows_before = rows(&mut db.raw(), Keys::Number);

    make_version_4(&db);
    assert_eq!(rows(&mut db.raw(), Keys::Uuid), rows_before);

    let (store, mut raw) = open_migrated(&db, &rows_before);
    assert_eq!(
        raw.count("SELECT COUNT(DISTINCT num) FROM experiments"),
        4,
        "every experiment has a number of its own"
    );
    assert_eq!(raw.count("SELECT MIN(num) FROM experiments"), 1);
    assert_eq!(raw.count("SELECT MAX(num) FROM experiments"), 4);
    if matches!(raw, Raw::Postgres(_)) {
        assert_eq!(
            raw.count(
                "SELECT COUNT(*) FROM pg_statistic_ext WHERE stxnamespace = \
                 current_schema()::regnamespace AND stxname IN ('results_name_unit', \
                 'recipe_values_name_unit')"
            ),
            2,
            "the planner knows that a unit follows from a name"
        );
    }
    assert_eq!(store.experiments(&campaign_id).unwrap(), experiments_before);
    for (filter, hits) in filters.iter().zip(&hits_before) {
        assert_eq!(&store.search_hits(filter, None).unwrap(), hits, "{filter}");
    }
    assert!(store.check_integrity().unwrap().is_ok());
    assert_keys_and_checks_hold(&mut raw, &experiments_before[0].id);
    drop(raw);
    assert_new_experiments_are_numbered_after_the_others(&store, &db, &campaign_id);

    // SQLite's `num` is nullable (a column added by ALTER TABLE); the integrity check finds
    // an experiment that lost its number. PostgreSQL refuses the NULL itself.
    let mut raw = db.raw();
    let fourth = &experiments_before[3];
    let unnumber = format!(
        "PRAGMA foreign_keys = OFF; UPDATE experiments SET num = NULL WHERE id = '{}'",
        fourth.id
    );
    match raw {
        Raw::Sqlite(_) => {
            raw.execute(&unnumber);
            let report = store.check_integrity().unwrap();
            assert!(
                report.problems.iter().any(|problem| problem
                    == &format!(
                        "experiment {} has no experiment number, so no results or recipe \
                         values can refer to it",
                        fourth.lab_id
                    )),
                "{:?}",
                report.problems
            );
        }
        Raw::Postgres(_) => assert!(raw.fails(&format!(
            "UPDATE experiments SET num = NULL WHERE id = '{}'",
            fourth.id
        ))),
    }
}

/// Opens the downgraded store with the current build (which migrates it) and checks that
/// every row survived; returns the store and a direct connection.
fn open_migrated(db: &TestDb, rows_before: &[String]) -> (Store, Raw) {
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut raw = db.raw();
    assert_eq!(
        rows(&mut raw, Keys::Number),
        rows_before,
        "every row survives the migrations"
    );
    (store, raw)
}

/// The checks and keys of the current `results` and `recipe_values` hold on a migrated store.
fn assert_keys_and_checks_hold(raw: &mut Raw, experiment: &str) {
    let num = format!("(SELECT num FROM experiments WHERE id = '{experiment}')");
    assert!(
        raw.fails(&format!(
            "INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
                 method) VALUES ({num}, 99, 'd50', 1.0, NULL, 'nm', 'guessed', 'm')"
        )),
        "an origin outside the four is refused"
    );
    assert!(
        raw.fails(
            "INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
             method) VALUES (999999, 0, 'd50', 1.0, NULL, 'nm', 'measured', 'm')"
        ),
        "a result of an unknown experiment is refused"
    );
    assert!(
        raw.fails(&format!(
            "INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
                 method) VALUES ({num}, 0, 'd50', 1.0, NULL, 'nm', 'measured', 'm')"
        )),
        "the primary key still holds"
    );
    assert!(
        raw.fails(&format!(
            "INSERT INTO recipe_values (experiment_num, name, value, unit) \
                 SELECT experiment_num, name, value, unit FROM recipe_values \
                 WHERE experiment_num = {num}"
        )),
        "the recipe-value primary key still holds"
    );
    assert!(
        raw.fails(&format!(
            "UPDATE experiments SET num = 2 WHERE id = '{experiment}'"
        )),
        "experiment numbers are unique"
    );
}

/// The migrated store takes a fifth experiment, numbered after the four it holds.
fn assert_new_experiments_are_numbered_after_the_others(
    store: &Store,
    db: &TestDb,
    campaign_id: &str,
) {
    let fifth = store.record_planned(&planned(campaign_id, 5)).unwrap();
    store
        .record_completed(&completion(store, &fifth.id, 5, 1024).unwrap())
        .unwrap();
    assert_eq!(store.experiments(campaign_id).unwrap().len(), 5);
    assert_eq!(
        db.raw().count(&format!(
            "SELECT num FROM experiments WHERE id = '{}'",
            fifth.id
        )),
        5
    );
    assert!(store.check_integrity().unwrap().is_ok());
}

on_both_backends!(
    a_version_3_store_keeps_its_data_through_migration_4,
    a_version_4_store_keeps_its_data_through_migration_5
);
