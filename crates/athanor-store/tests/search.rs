//! Search with the filter language ([`athanor_store::query`]): the documented examples on a
//! small store whose every value is known, operator precedence, NOT, unit conversion between
//! the units in the data and in the query, IS KNOWN, error positions, and that values in a
//! filter are data, never SQL. Every test runs on both backends ([`on_both_backends!`]).

mod common;

use athanor_model::{Origin, PropertyValue, Quantity, Recipe};
use athanor_store::{
    CompletedExperiment, MeasurementRecord, NewCampaign, PlannedExperiment, Store, StoreError,
};
use common::*;
use serde_json::json;
use std::collections::BTreeMap;

crate::on_both_backends!(
    documented_examples_find_the_expected_experiments,
    and_binds_tighter_than_or_and_not_negates,
    units_in_data_and_query_are_converted,
    text_operators_and_experiment_fields,
    is_known_and_is_unknown,
    limits_and_hits_follow_campaign_and_seq_order,
    errors_name_the_problem_and_the_position,
    quotes_and_sql_in_values_are_data,
    recipe_values_are_backfilled_by_the_migration,
);

/// What one test experiment is: its recipe temperature, results, techniques and outcome.
struct Sample {
    temperature: (f64, &'static str),
    results: Vec<(&'static str, f64, &'static str)>,
    techniques: &'static [&'static str],
    outcome: Outcome,
}

#[derive(Clone, Copy)]
enum Outcome {
    Completed,
    Failed,
    Planned,
}

fn campaign(name: &str) -> NewCampaign {
    NewCampaign {
        name: name.to_string(),
        seed: 1,
        config_hash: format!("hash-{name}"),
        config_text: String::new(),
        budget: 10,
    }
}

fn add(store: &Store, campaign_id: &str, seq: u32, sample: Sample) {
    let mut parameters = BTreeMap::new();
    let (value, unit) = sample.temperature;
    parameters.insert("growth_temperature".to_string(), Quantity::new(value, unit));
    parameters.insert(
        "growth_time".to_string(),
        Quantity::new(f64::from(seq), "min"),
    );
    let planned = store
        .record_planned(&PlannedExperiment {
            campaign_id: campaign_id.to_string(),
            seq,
            recipe: Recipe { parameters },
            spec_steps: vec![],
            planner_note: json!({}),
        })
        .unwrap();
    match sample.outcome {
        Outcome::Planned => {}
        Outcome::Failed => store.record_failed(&planned.id, "clogged", "{}").unwrap(),
        Outcome::Completed => store
            .record_completed(&CompletedExperiment {
                experiment_id: planned.id,
                run_steps: vec![],
                measurements: sample
                    .techniques
                    .iter()
                    .map(|technique| MeasurementRecord {
                        technique: technique.to_string(),
                        instrument: "sim".to_string(),
                        blob: None,
                        conditions: json!({}),
                    })
                    .collect(),
                analyses: vec![],
                results: sample
                    .results
                    .iter()
                    .map(|(name, value, unit)| PropertyValue {
                        name: name.to_string(),
                        quantity: Quantity::new(*value, unit),
                        origin: Origin::Measured,
                        method: "test".to_string(),
                    })
                    .collect(),
                planner_state_json: "{}".to_string(),
            })
            .unwrap(),
    }
}

/// Two campaigns:
///
/// | experiment | status | recipe T | d50 | pl_peak | size_cv | quantum_yield | techniques |
/// |---|---|---|---|---|---|---|---|
/// | C0001-E001 | completed | 250 degC | 5 nm | 620 nm | 8 % | 0.5 | TEM, PL |
/// | C0001-E002 | completed | 230 degC | 0.0055 µm | 0.618 µm | 0.12 | 70 % | TEM |
/// | C0001-E003 | completed | 520 K | 70 Å | 630 nm | 0.05 | 0.65 | PL, QY |
/// | C0001-E004 | failed | 260 degC | | | | | |
/// | C0001-E005 | planned | 240 degC | | | | | |
/// | C0002-E001 | completed | 100 degC | 4 nm | 520 nm | 5 % | 0.9 | TEM |
fn sample_store(db: &TestDb) -> Store {
    let store = db.open();
    let first = store.create_campaign(&campaign("cdse-pl-620")).unwrap();
    let second = store.create_campaign(&campaign("perovskite-520")).unwrap();
    add(
        &store,
        &first.id,
        1,
        Sample {
            temperature: (250.0, "degC"),
            results: vec![
                ("d50", 5.0, "nm"),
                ("pl_peak", 620.0, "nm"),
                ("size_cv", 8.0, "%"),
                ("quantum_yield", 0.5, ""),
            ],
            techniques: &["TEM", "PL"],
            outcome: Outcome::Completed,
        },
    );
    add(
        &store,
        &first.id,
        2,
        Sample {
            temperature: (230.0, "degC"),
            results: vec![
                ("d50", 0.0055, "µm"),
                ("pl_peak", 0.618, "µm"),
                ("size_cv", 0.12, ""),
                ("quantum_yield", 70.0, "%"),
            ],
            techniques: &["TEM"],
            outcome: Outcome::Completed,
        },
    );
    add(
        &store,
        &first.id,
        3,
        Sample {
            temperature: (520.0, "K"),
            results: vec![
                ("d50", 70.0, "Å"),
                ("pl_peak", 630.0, "nm"),
                ("size_cv", 0.05, ""),
                ("quantum_yield", 0.65, ""),
            ],
            techniques: &["PL", "QY"],
            outcome: Outcome::Completed,
        },
    );
    add(
        &store,
        &first.id,
        4,
        Sample {
            temperature: (260.0, "degC"),
            results: vec![],
            techniques: &[],
            outcome: Outcome::Failed,
        },
    );
    add(
        &store,
        &first.id,
        5,
        Sample {
            temperature: (240.0, "degC"),
            results: vec![],
            techniques: &[],
            outcome: Outcome::Planned,
        },
    );
    add(
        &store,
        &second.id,
        1,
        Sample {
            temperature: (100.0, "degC"),
            results: vec![
                ("d50", 4.0, "nm"),
                ("pl_peak", 520.0, "nm"),
                ("size_cv", 5.0, "%"),
                ("quantum_yield", 0.9, ""),
            ],
            techniques: &["TEM"],
            outcome: Outcome::Completed,
        },
    );
    store
}

/// The lab ids `filter` finds, checking that the full search and the id search agree.
fn found(store: &Store, filter: &str) -> Vec<String> {
    let records: Vec<String> = store
        .search(filter)
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .into_iter()
        .map(|r| r.lab_id)
        .collect();
    let hits: Vec<String> = store
        .search_hits(filter, None)
        .unwrap()
        .into_iter()
        .map(|h| h.lab_id)
        .collect();
    assert_eq!(records, hits, "{filter}");
    records
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

const C1: [&str; 5] = [
    "C0001-E001",
    "C0001-E002",
    "C0001-E003",
    "C0001-E004",
    "C0001-E005",
];

fn documented_examples_find_the_expected_experiments(db: TestDb) {
    let store = sample_store(&db);
    assert_eq!(
        found(
            &store,
            r#"technique = "TEM" AND d50 < 6 nm AND process.growth_temperature >= 240 degC"#
        ),
        ids(&["C0001-E001"])
    );
    assert_eq!(
        found(
            &store,
            r#"pl_peak >= 615 nm AND pl_peak <= 625 nm AND NOT status = "failed""#
        ),
        ids(&["C0001-E001", "C0001-E002"])
    );
    // E002: size_cv 12 % fails, but its quantum yield of 70 % is more than 0.6.
    let expected = ids(&["C0001-E001", "C0001-E002", "C0001-E003"]);
    assert_eq!(
        found(
            &store,
            r#"campaign = "C0001" AND (size_cv < 10 % OR quantum_yield > 0.6)"#
        ),
        expected
    );
    assert_eq!(
        found(
            &store,
            r#"campaign = "cdse-pl-620" AND (size_cv < 10 % OR quantum_yield > 0.6)"#
        ),
        expected
    );
    // 500 K = 226.85 °C: everything of C0001; C0002's 100 °C is below.
    assert_eq!(found(&store, "recipe.growth_temperature > 500 K"), ids(&C1));
    // 510 K = 236.85 °C: not E002 (230 °C).
    assert_eq!(
        found(&store, "recipe.growth_temperature > 510 K"),
        ids(&["C0001-E001", "C0001-E003", "C0001-E004", "C0001-E005"])
    );
    assert_eq!(found(&store, r#"name CONTAINS "620""#), ids(&C1));
    assert_eq!(
        found(&store, "d50 IS KNOWN"),
        ids(&["C0001-E001", "C0001-E002", "C0001-E003", "C0002-E001"])
    );
}

fn and_binds_tighter_than_or_and_not_negates(db: TestDb) {
    let store = sample_store(&db);
    // a OR (b AND c): the planned E005 matches through `a` alone.
    assert_eq!(
        found(
            &store,
            r#"status = "planned" OR technique = "TEM" AND pl_peak > 600 nm"#
        ),
        ids(&["C0001-E001", "C0001-E002", "C0001-E005"])
    );
    assert_eq!(
        found(
            &store,
            r#"(status = "planned" OR technique = "TEM") AND pl_peak > 600 nm"#
        ),
        ids(&["C0001-E001", "C0001-E002"])
    );
    // AND then OR, left to right: (a AND b) OR c.
    assert_eq!(
        found(&store, r#"seq = 1 AND campaign = "C0002" OR seq = 5"#),
        ids(&["C0001-E005", "C0002-E001"])
    );
    // NOT binds to the comparison, not to the AND.
    assert_eq!(
        found(&store, r#"NOT technique = "TEM" AND campaign = "C0001""#),
        ids(&["C0001-E003", "C0001-E004", "C0001-E005"])
    );
    assert_eq!(
        found(&store, r#"NOT (technique = "TEM" AND campaign = "C0001")"#),
        ids(&["C0001-E003", "C0001-E004", "C0001-E005", "C0002-E001"])
    );
    assert_eq!(found(&store, "NOT NOT seq = 2"), ids(&["C0001-E002"]));
    assert_eq!(
        found(&store, r#"campaign != "C0001""#),
        ids(&["C0002-E001"])
    );
    // A multi-valued field: "has a measurement that is not TEM".
    assert_eq!(
        found(&store, r#"technique != "TEM""#),
        ids(&["C0001-E001", "C0001-E003"])
    );
    // A comparison with a missing value is false either way round (OPTIMADE).
    let with_d50 = found(&store, "d50 < 6 nm OR d50 >= 6 nm");
    assert_eq!(with_d50, found(&store, "d50 IS KNOWN"));
}

fn units_in_data_and_query_are_converted(db: TestDb) {
    let store = sample_store(&db);
    // d50 is stored as 5 nm, 0.0055 µm, 70 Å and 4 nm.
    let below_6_nm = ids(&["C0001-E001", "C0001-E002", "C0002-E001"]);
    assert_eq!(found(&store, "d50 < 6 nm"), below_6_nm);
    assert_eq!(found(&store, "d50 < 0.006 µm"), below_6_nm);
    assert_eq!(found(&store, "d50 < 0.006 um"), below_6_nm);
    assert_eq!(found(&store, "d50 < 60 Å"), below_6_nm);
    assert_eq!(found(&store, "d50 < 6e-9 m"), below_6_nm);
    assert_eq!(found(&store, "6 nm > d50"), below_6_nm);
    assert_eq!(found(&store, "d50 > 60 angstrom"), ids(&["C0001-E003"]));
    // Equality across units despite the round-off of the conversion.
    assert_eq!(found(&store, "d50 = 5.5 nm"), ids(&["C0001-E002"]));
    assert_eq!(found(&store, "d50 = 7 nm"), ids(&["C0001-E003"]));
    assert_eq!(found(&store, "d50 = 0.007 µm"), ids(&["C0001-E003"]));
    assert_eq!(
        found(&store, "d50 >= 5.5 nm AND d50 <= 5.5 nm"),
        ids(&["C0001-E002"])
    );
    assert_eq!(
        found(&store, "d50 != 5.5 nm"),
        ids(&["C0001-E001", "C0001-E003", "C0002-E001"])
    );
    // 0.618 µm is 618 nm: inclusive bounds include it, strict ones exclude it.
    assert!(found(&store, "pl_peak <= 618 nm").contains(&"C0001-E002".to_string()));
    assert!(!found(&store, "pl_peak < 618 nm").contains(&"C0001-E002".to_string()));
    assert!(found(&store, "pl_peak >= 618 nm").contains(&"C0001-E002".to_string()));
    assert!(!found(&store, "pl_peak > 618 nm").contains(&"C0001-E002".to_string()));
    // Dimensionless numbers and percentages: 70 % = 0.7.
    assert_eq!(
        found(&store, "quantum_yield >= 70 %"),
        ids(&["C0001-E002", "C0002-E001"])
    );
    assert_eq!(found(&store, "quantum_yield = 0.7"), ids(&["C0001-E002"]));
    assert_eq!(
        found(&store, "size_cv <= 0.08"),
        ids(&["C0001-E001", "C0001-E003", "C0002-E001"])
    );
    // Temperatures on shifted scales: 520 K = 246.85 °C.
    assert_eq!(
        found(&store, "recipe.growth_temperature = 246.85 degC"),
        ids(&["C0001-E003"])
    );
    assert_eq!(
        found(&store, "recipe.growth_temperature = 520 K"),
        ids(&["C0001-E003"])
    );
    assert_eq!(
        found(&store, "process.growth_temperature < 400 K"),
        ids(&["C0002-E001"])
    );
    assert_eq!(
        found(&store, "recipe.growth_time >= 300 s"),
        ids(&["C0001-E005"])
    );
    // A result can also be named with the `result.` prefix.
    assert_eq!(found(&store, "result.d50 < 4.5 nm"), ids(&["C0002-E001"]));
}

fn text_operators_and_experiment_fields(db: TestDb) {
    let store = sample_store(&db);
    assert_eq!(
        found(&store, r#"lab_id STARTS WITH "C0002""#),
        ids(&["C0002-E001"])
    );
    assert_eq!(
        found(&store, r#"lab_id ENDS WITH "E001""#),
        ids(&["C0001-E001", "C0002-E001"])
    );
    assert_eq!(
        found(&store, r#"lab_id ENDS WITH "0001-E001-long""#),
        ids(&[])
    );
    assert_eq!(found(&store, r#"lab_id CONTAINS "1-E00""#), ids(&C1));
    // Case matters on both backends (SQLite's LIKE would ignore it).
    assert_eq!(found(&store, r#"name CONTAINS "CDSE""#), ids(&[]));
    assert_eq!(
        found(&store, r#"campaign STARTS "perov""#),
        ids(&["C0002-E001"])
    );
    assert_eq!(found(&store, r#"name CONTAINS """#).len(), 6);
    assert_eq!(
        found(&store, r#"technique = "QY" OR status = "failed""#),
        ids(&["C0001-E003", "C0001-E004"])
    );
    assert_eq!(
        found(&store, "seq >= 4"),
        ids(&["C0001-E004", "C0001-E005"])
    );
    let e002 = store.experiment("C0001-E002").unwrap().unwrap();
    let by_id = store.search(&format!("id = \"{}\"", e002.id)).unwrap();
    assert_eq!(by_id, vec![e002], "search returns the full records");
}

fn is_known_and_is_unknown(db: TestDb) {
    let store = sample_store(&db);
    assert_eq!(
        found(&store, "d50 IS UNKNOWN"),
        ids(&["C0001-E004", "C0001-E005"])
    );
    assert_eq!(
        found(&store, "technique IS UNKNOWN"),
        ids(&["C0001-E004", "C0001-E005"])
    );
    assert_eq!(found(&store, "recipe.growth_temperature IS KNOWN").len(), 6);
    assert_eq!(found(&store, "recipe.stirring_rate IS UNKNOWN").len(), 6);
    // A property nobody has stored yet is simply unknown everywhere.
    assert_eq!(found(&store, "band_gap IS KNOWN"), ids(&[]));
    assert_eq!(found(&store, "status IS KNOWN").len(), 6);
    assert_eq!(found(&store, "seq IS UNKNOWN"), ids(&[]));
}

fn limits_and_hits_follow_campaign_and_seq_order(db: TestDb) {
    let store = sample_store(&db);
    let limited: Vec<String> = store
        .search_limit("seq >= 1", 2)
        .unwrap()
        .into_iter()
        .map(|r| r.lab_id)
        .collect();
    assert_eq!(limited, ids(&["C0001-E001", "C0001-E002"]));
    let hits = store.search_hits("d50 IS KNOWN", Some(3)).unwrap();
    assert_eq!(hits.len(), 3);
    for hit in &hits {
        assert_eq!(
            store.experiment(&hit.id).unwrap().unwrap().lab_id,
            hit.lab_id
        );
    }
    assert!(store.search_limit("seq >= 1", 0).unwrap().is_empty());
}

fn query_error(store: &Store, filter: &str) -> (usize, String) {
    match store.search(filter) {
        Err(StoreError::Query { position, message }) => (position, message),
        other => panic!("expected a query error for {filter:?}, got {other:?}"),
    }
}

fn errors_name_the_problem_and_the_position(db: TestDb) {
    let store = sample_store(&db);
    let filter = r#"technique = "TEM" AND d50 < "#;
    let error = store.search(filter).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid filter: position 29: expected a value after '<'"),
        "{error}"
    );
    let (position, message) = query_error(&store, "d50 < 6 K");
    assert_eq!(position, 7);
    assert!(
        message.starts_with("d50 is a length (") && message.ends_with("); `K` is a temperature"),
        "{message}"
    );
    for unit in ["nm", "µm", "Å"] {
        assert!(message.contains(unit), "{message} lists the stored units");
    }
    assert_eq!(
        query_error(&store, "pl_peak > 600").1,
        "pl_peak is a length (nm, µm); give the value a unit, e.g. `600 nm`"
    );
    assert_eq!(
        query_error(&store, "seq = 1 AND recipe.growth_temperature < 3 nm"),
        (
            41,
            "recipe.growth_temperature is a temperature (K, degC); `nm` is a length".to_string()
        )
    );
    let (position, message) = query_error(&store, "seq = 1 AND d5 < 6 nm");
    assert_eq!(position, 13);
    assert!(message.contains("no result named `d5`"), "{message}");
    assert_eq!(query_error(&store, r#"status = "done""#).0, 10);
    assert_eq!(query_error(&store, "d50 < 6 nm OR (seq = 1").0, 23);
    assert_eq!(query_error(&store, "d50 < 6 parsecs").0, 9);
    assert_eq!(query_error(&store, "size_cv < 1 K").1, {
        "size_cv is dimensionless; `K` is a temperature"
    });
}

fn quotes_and_sql_in_values_are_data(db: TestDb) {
    let store = sample_store(&db);
    let hostile = r#"x'"; DROP TABLE experiments; --"#;
    let campaign = store.create_campaign(&campaign(hostile)).unwrap();
    add(
        &store,
        &campaign.id,
        1,
        Sample {
            temperature: (1.0, "degC"),
            results: vec![],
            techniques: &["'); DELETE FROM results; --"],
            outcome: Outcome::Completed,
        },
    );
    let escaped = hostile.replace('\\', "\\\\").replace('"', "\\\"");
    assert_eq!(
        found(&store, &format!("name = \"{escaped}\"")),
        ids(&["C0003-E001"])
    );
    assert_eq!(
        found(&store, r#"name CONTAINS "'\"; DROP""#),
        ids(&["C0003-E001"])
    );
    assert_eq!(
        found(&store, r#"technique = "'); DELETE FROM results; --""#),
        ids(&["C0003-E001"])
    );
    assert_eq!(
        found(&store, r#"campaign = "' OR '1' = '1""#),
        ids(&[]),
        "a classic injection is just a name that no campaign has"
    );
    // Nothing was dropped or deleted.
    let mut raw = db.raw();
    assert_eq!(raw.count("SELECT COUNT(*) FROM experiments"), 7);
    assert_eq!(raw.count("SELECT COUNT(*) FROM results"), 16);
}

fn recipe_values_are_backfilled_by_the_migration(db: TestDb) {
    drop(sample_store(&db));
    // Turn the database back into a version 1 database (the rows V2 derives are gone, and
    // the tables of later versions).
    let mut raw = db.raw();
    raw.undo_migration_5();
    raw.execute("DROP TABLE prov_edges; DROP TABLE prov_counters; DROP TABLE prov_records;");
    raw.execute(
        "DROP TABLE recipe_values; DROP INDEX results_by_name_unit_value; \
         DROP INDEX measurements_by_technique; CREATE INDEX results_by_name ON results (name)",
    );
    match &mut raw {
        Raw::Sqlite(conn) => conn.pragma_update(None, "user_version", 1).unwrap(),
        Raw::Postgres(client) => {
            client
                .batch_execute("DELETE FROM schema_migrations WHERE version > 1")
                .unwrap();
        }
    }
    drop(raw);
    let store = db.open();
    assert_eq!(
        store.schema_version().unwrap(),
        athanor_store::SCHEMA_VERSION
    );
    assert_eq!(
        db.raw().count("SELECT COUNT(*) FROM recipe_values"),
        12,
        "two parameters of each of the six experiments"
    );
    assert_eq!(
        found(&store, "recipe.growth_temperature > 510 K"),
        ids(&["C0001-E001", "C0001-E003", "C0001-E004", "C0001-E005"])
    );
    assert!(store.check_integrity().unwrap().is_ok());
}

/// Not part of the suite (it takes a while to fill): a million results in 250 000 experiments,
/// d50 stored half in nm and half in µm, and timed searches. Run with
/// `cargo test --release -p athanor-store --test search -- --ignored --nocapture`.
#[test]
#[ignore = "fills a million results; run by hand to measure search speed"]
fn search_over_a_million_results_is_fast() {
    let mut dbs = vec![TestDb::sqlite()];
    dbs.extend(TestDb::postgres("million_results"));
    for db in dbs {
        drop(db.open());
        let experiments = 250_000;
        let mut raw = db.raw();
        let numbers =
            format!("WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {experiments})");
        let started = std::time::Instant::now();
        raw.execute(&format!(
            "BEGIN;
             INSERT INTO campaigns (id, lab_number, lab_id, name, seed, config_hash, config_text, \
               budget, status, created_at) \
               VALUES ('c', 1, 'C0001', 'big', '1', 'h', '', 0, 'running', 't');
             {numbers} INSERT INTO experiments (id, lab_id, campaign_id, seq, status, recipe_json, \
               planner_note_json, failure, planned_at, completed_at, num) \
               SELECT 'e' || i, 'C0001-E' || i, 'c', i, 'completed', '{{}}', '{{}}', NULL, 't', 't', i \
               FROM n;
             {numbers} INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
               method) SELECT i, 0, 'd50', \
               CASE WHEN i % 2 = 0 THEN 2 + (i % 1000) / 100.0 ELSE (2 + (i % 1000) / 100.0) / 1000.0 END, \
               NULL, CASE WHEN i % 2 = 0 THEN 'nm' ELSE 'µm' END, 'measured', 'm' FROM n;
             {numbers} INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
               method) SELECT i, 1, 'pl_peak', 500 + (i % 997) / 5.0, NULL, 'nm', 'measured', 'm' FROM n;
             {numbers} INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
               method) SELECT i, 2, 'size_cv', (i % 89) / 100.0, NULL, '', 'computed', 'm' FROM n;
             {numbers} INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
               method) SELECT i, 3, 'quantum_yield', (i % 101) / 100.0, NULL, '', 'measured', 'm' FROM n;
             {numbers} INSERT INTO recipe_values (experiment_num, name, value, unit) \
               SELECT i, 'growth_temperature', 200 + (i % 113), 'degC' FROM n;
             COMMIT;
             ANALYZE;"
        ));
        drop(raw);
        eprintln!("{:?}: filled in {:.1?}", db.kind(), started.elapsed());
        let store = db.open();
        for filter in [
            "d50 < 2.02 nm",
            "d50 < 2.02 nm AND pl_peak > 600 nm",
            "d50 < 2.02 nm AND recipe.growth_temperature >= 310 degC",
            "d50 = 2.5 nm OR quantum_yield > 99.5 %",
            "pl_peak > 699 nm AND NOT size_cv < 0.5",
        ] {
            let started = std::time::Instant::now();
            let hits = store.search_hits(filter, None).unwrap();
            eprintln!(
                "{:?}: {filter:?}: {} hits in {:.1?}",
                db.kind(),
                hits.len(),
                started.elapsed()
            );
            assert!(!hits.is_empty());
        }
    }
}
