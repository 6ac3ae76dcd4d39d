//! Schema migration 4 (fewer index entries per ingested row): a store written at version 3
//! keeps every row, every check and every answer when the current build opens it.
//!
//! The version-3 database is made from a store filled through the API by undoing what
//! migration 4 changed: on SQLite `results` and `recipe_values` are rebuilt as the rowid tables
//! of versions 1 and 2 (their original `CREATE TABLE` text), on both backends
//! `measurements_by_blob` is recreated as the full index, and the version is set back to 3.
//! Runs on both backends (see [`on_both_backends!`]).

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

/// Every row of the tables migration 4 touches, as text, in key order.
fn rows(raw: &mut Raw) -> Vec<String> {
    let queries = [
        "SELECT experiment_id || '|' || position || '|' || name || '|' || CAST(value AS TEXT) \
         || '|' || COALESCE(CAST(std AS TEXT), 'none') || '|' || unit || '|' || origin || '|' \
         || method FROM results ORDER BY experiment_id, position",
        "SELECT experiment_id || '|' || name || '|' || CAST(value AS TEXT) || '|' || unit \
         FROM recipe_values ORDER BY experiment_id, name",
        "SELECT id || '|' || experiment_id || '|' || position || '|' || technique || '|' \
         || COALESCE(blob_hash, 'none') FROM measurements ORDER BY id",
    ];
    let mut out = Vec::new();
    for sql in queries {
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

fn make_version_3(db: &TestDb) {
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
    let rows_before = rows(&mut db.raw());
    assert!(
        rows_before.len() > 20,
        "the store holds results: {rows_before:?}"
    );

    make_version_3(&db);
    assert_eq!(
        rows(&mut db.raw()),
        rows_before,
        "the downgrade itself kept the rows"
    );

    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut raw = db.raw();
    assert_eq!(
        rows(&mut raw),
        rows_before,
        "every row survives the migration"
    );
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

    // The checks and keys still hold on the rebuilt tables.
    let experiment = &experiments_before[0].id;
    assert!(
        raw.fails(&format!(
            "INSERT INTO results (experiment_id, position, name, value, std, unit, origin, \
                 method) VALUES ('{experiment}', 99, 'd50', 1.0, NULL, 'nm', 'guessed', 'm')"
        )),
        "an origin outside the four is refused"
    );
    assert!(
        raw.fails(
            "INSERT INTO results (experiment_id, position, name, value, std, unit, origin, \
             method) VALUES ('no-such-experiment', 0, 'd50', 1.0, NULL, 'nm', 'measured', 'm')"
        ),
        "a result of an unknown experiment is refused"
    );
    assert!(
        raw.fails(&format!(
            "INSERT INTO results (experiment_id, position, name, value, std, unit, origin, \
                 method) VALUES ('{experiment}', 0, 'd50', 1.0, NULL, 'nm', 'measured', 'm')"
        )),
        "the primary key still holds"
    );
    assert!(
        raw.fails(&format!(
            "INSERT INTO recipe_values (experiment_id, name, value, unit) \
                 SELECT experiment_id, name, value, unit FROM recipe_values \
                 WHERE experiment_id = '{experiment}'"
        )),
        "the recipe-value primary key still holds"
    );
    drop(raw);

    // The migrated store takes new experiments as before.
    let fifth = store.record_planned(&planned(&campaign_id, 5)).unwrap();
    store
        .record_completed(&completion(&store, &fifth.id, 5, 1024).unwrap())
        .unwrap();
    assert_eq!(store.experiments(&campaign_id).unwrap().len(), 5);
    assert!(store.check_integrity().unwrap().is_ok());
}

on_both_backends!(a_version_3_store_keeps_its_data_through_migration_4);
