//! `Store::ingest_experiments`, the bulk path: what it stores must read back exactly like the
//! per-record paths' rows, across batch boundaries, and a rejected experiment must leave
//! nothing behind.

mod common;

use athanor_store::bench::{synthetic_campaign, synthetic_experiments, synthetic_records};
use athanor_store::transfer::ExchangeRecord;
use athanor_store::{ExperimentRecord, Store, StoreError};
use common::*;

crate::on_both_backends!(
    ingested_experiments_read_back_like_recorded_ones,
    many_experiments_cross_batch_boundaries_and_are_searchable,
    a_rejected_experiment_leaves_nothing_behind,
    a_large_write_rebuilds_the_value_indexes_as_they_were,
    a_large_write_that_fails_leaves_the_value_indexes_in_place
);

/// The indexes a large bulk write drops and rebuilds.
const VALUE_INDEXES: [&str; 2] = [
    "results_by_name_unit_value",
    "recipe_values_by_name_unit_value",
];

/// A store that considers deferring its value indexes after 300 experiments.
fn store_deferring_after_300(db: &TestDb) -> Store {
    Store::open_with(&db.config().clone().with_index_deferral_after(Some(300))).unwrap()
}

/// `records` synthetic experiments (and their campaign first) under campaign lab id `lab_id`.
fn campaign_records(
    records: u64,
    lab_id: &'static str,
) -> impl Iterator<Item = Result<ExchangeRecord, StoreError>> {
    synthetic_records(records).map(move |record| {
        record.map(|record| match record {
            ExchangeRecord::Campaign(mut campaign) => {
                campaign.lab_id = lab_id.to_string();
                ExchangeRecord::Campaign(campaign)
            }
            ExchangeRecord::Experiment(mut experiment) => {
                experiment.lab_id = experiment.lab_id.replace("C0001", lab_id);
                ExchangeRecord::Experiment(experiment)
            }
            other => other,
        })
    })
}

fn a_large_write_rebuilds_the_value_indexes_as_they_were(db: TestDb) {
    let store = store_deferring_after_300(&db);
    let mut raw = db.raw();
    let definitions = VALUE_INDEXES.map(|index| raw.definition(index));
    assert!(definitions.iter().all(|d| !d.is_empty()), "{definitions:?}");

    // 1 234 experiments into an empty store: deferred after the first batch of 500.
    let summary = store
        .import_records(campaign_records(1_234, "C0001"))
        .unwrap();
    assert_eq!(summary.experiments, 1_234);
    assert_eq!(summary.rebuilt_indexes, 2);
    assert_eq!(
        VALUE_INDEXES.map(|index| raw.definition(index)),
        definitions
    );
    let expected = store
        .experiments("C0001")
        .unwrap()
        .iter()
        .filter(|e| e.results[3].quantity.value < 10.0 && e.recipe.parameters["ratio"].value > 0.5)
        .count();
    assert!(expected > 0);
    let hits = store
        .search_hits("r3 < 10 nm AND recipe.ratio > 0.5", None)
        .unwrap();
    assert_eq!(hits.len(), expected);

    // Small writes keep the indexes live: 200 experiments stay under the threshold; 350 pass
    // it but are less than a quarter of the 1 434 already stored.
    for (records, lab_id) in [(200, "C0002"), (350, "C0003")] {
        let summary = store
            .import_records(campaign_records(records, lab_id))
            .unwrap();
        assert_eq!(summary.experiments, records);
        assert_eq!(summary.rebuilt_indexes, 0, "{lab_id}");
    }
    // Without deferral (the setting off), a large write keeps the indexes live.
    let live = Store::open_with(&db.config().clone().with_index_deferral_after(None)).unwrap();
    let summary = live
        .import_records(campaign_records(2_000, "C0004"))
        .unwrap();
    assert_eq!(summary.rebuilt_indexes, 0);
    // Every row is in the rebuilt and the live indexes alike: a count read from the index.
    let sql = match raw {
        Raw::Sqlite(_) => {
            "SELECT COUNT(*) FROM results INDEXED BY results_by_name_unit_value \
             WHERE name = 'r3' AND unit = 'nm'"
        }
        Raw::Postgres(_) => {
            raw.execute("SET enable_seqscan = off");
            "SELECT COUNT(*) FROM results WHERE name = 'r3' AND unit = 'nm'"
        }
    };
    assert_eq!(raw.count(sql), 1_234 + 200 + 350 + 2_000);
    assert_eq!(
        VALUE_INDEXES.map(|index| raw.definition(index)),
        definitions
    );
    // The foreign keys (deferred on PostgreSQL) hold again.
    for table in ["results", "recipe_values", "measurements"] {
        let sql = match table {
            "results" => {
                "INSERT INTO results (experiment_num, position, name, value, std, unit, origin, \
                 method) VALUES (999999999, 0, 'd50', 1.0, NULL, 'nm', 'measured', 'm')"
            }
            "recipe_values" => {
                "INSERT INTO recipe_values (experiment_num, name, value, unit) \
                 VALUES (999999999, 'temperature', 1.0, 'degC')"
            }
            _ => {
                "INSERT INTO measurements (id, experiment_id, position, technique, instrument, \
                 conditions_json) VALUES ('m-x', 'no-such-experiment', 0, 'PL', 'i', '{}')"
            }
        };
        assert!(
            raw.fails(sql),
            "{table}: a row of an unknown experiment is refused"
        );
    }
}

fn a_large_write_that_fails_leaves_the_value_indexes_in_place(db: TestDb) {
    let store = store_deferring_after_300(&db);
    let mut raw = db.raw();
    let definitions = VALUE_INDEXES.map(|index| raw.definition(index));
    // Experiment 1 100 (after the indexes were dropped) carries a non-finite value.
    let records = campaign_records(1_234, "C0001").map(|record| {
        record.map(|record| match record {
            ExchangeRecord::Experiment(mut experiment) if experiment.seq == 1_100 => {
                experiment.results[2].quantity.value = f64::INFINITY;
                ExchangeRecord::Experiment(experiment)
            }
            other => other,
        })
    });
    let error = store.import_records(records).unwrap_err();
    assert!(error.to_string().contains("C0001-E1100"), "{error}");
    assert_eq!(
        VALUE_INDEXES.map(|index| raw.definition(index)),
        definitions
    );
    assert_eq!(raw.count("SELECT COUNT(*) FROM experiments"), 0);
    // The store still works, large writes included.
    let summary = store
        .import_records(campaign_records(700, "C0001"))
        .unwrap();
    assert_eq!(summary.rebuilt_indexes, 2);
    assert_eq!(store.search_hits("r0 >= 0 nm", None).unwrap().len(), 700);
}

fn ingested_experiments_read_back_like_recorded_ones(db: TestDb) {
    let store = db.open();
    let source = store.create_campaign(&new_campaign("source", 1)).unwrap();
    for seq in 1..=3 {
        let planned = store.record_planned(&planned(&source.id, seq)).unwrap();
        let done = completion(&store, &planned.id, seq, 512).unwrap();
        store.record_completed(&done).unwrap();
    }
    let target = store.create_campaign(&new_campaign("copy", 2)).unwrap();
    // Copies with steps, blob-backed measurements, analyses and results, under new ids.
    let copies: Vec<ExperimentRecord> = store
        .experiments(&source.id)
        .unwrap()
        .into_iter()
        .map(|mut experiment| {
            experiment.id = athanor_model::ids::new_id();
            experiment.lab_id = format!("{}-E{:03}", target.lab_id, experiment.seq);
            experiment.campaign_id = target.id.clone();
            experiment
        })
        .collect();
    let written = store
        .ingest_experiments(copies.iter().cloned().map(Ok))
        .unwrap();
    assert_eq!(written, 3);
    assert_eq!(store.experiments(&target.id).unwrap(), copies);
    // The database's own checks pass; planner states are not part of an ingest (as with an
    // import, they are separate records), which is the only thing the life-cycle check notes.
    let report = store.check_integrity().unwrap();
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.starts_with("experiment C0002-") && p.ends_with("has no planner state")),
        "{:?}",
        report.problems
    );
}

fn many_experiments_cross_batch_boundaries_and_are_searchable(db: TestDb) {
    let store = db.open();
    let records = 1_234;
    let campaign = synthetic_campaign(records);
    store
        .import_records(std::iter::once(Ok(ExchangeRecord::Campaign(
            campaign.clone(),
        ))))
        .unwrap();
    let written = store
        .ingest_experiments(synthetic_experiments(&campaign, records))
        .unwrap();
    assert_eq!(written, records);
    let stored = store.experiments("C0001").unwrap();
    let expected: Vec<ExperimentRecord> = synthetic_experiments(&campaign, records)
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored.len(), expected.len());
    // Ids are fresh per generation; everything else must match, including the order of the
    // ten values of every experiment.
    for (stored, expected) in stored.iter().zip(&expected) {
        assert_eq!(stored.lab_id, expected.lab_id);
        assert_eq!(stored.results, expected.results);
        assert_eq!(stored.recipe, expected.recipe);
        assert_eq!(stored.measurements, expected.measurements);
    }
    // Results and recipe values are indexed rows, as on the per-record paths.
    let hits = store.search_hits("r3 < 10 nm", None).unwrap().len();
    let expected_hits = expected
        .iter()
        .filter(|e| e.results[3].quantity.value < 10.0)
        .count();
    assert!(expected_hits > 0);
    assert_eq!(hits, expected_hits);
}

fn a_rejected_experiment_leaves_nothing_behind(db: TestDb) {
    let store = db.open();
    let records = 800;
    let campaign = synthetic_campaign(records);
    store
        .import_records(std::iter::once(Ok(ExchangeRecord::Campaign(
            campaign.clone(),
        ))))
        .unwrap();
    // Experiment 700 (after a batch has been written) carries a non-finite value.
    let experiments = synthetic_experiments(&campaign, records).map(|experiment| {
        experiment.map(|mut e| {
            if e.seq == 700 {
                e.results[4].quantity.value = f64::NAN;
            }
            e
        })
    });
    let error = store.ingest_experiments(experiments).unwrap_err();
    match &error {
        StoreError::InvalidInput { record, .. } => {
            assert!(record.contains("C0001-E700"), "{error}")
        }
        other => panic!("expected an invalid-input error, got {other}"),
    }
    assert!(store.experiments("C0001").unwrap().is_empty());
    // An unknown campaign is named.
    let mut orphan = synthetic_experiments(&campaign, 1).next().unwrap().unwrap();
    orphan.campaign_id = "no-such-campaign".into();
    let error = store
        .ingest_experiments(std::iter::once(Ok(orphan)))
        .unwrap_err();
    assert!(error.to_string().contains("no-such-campaign"), "{error}");
}
