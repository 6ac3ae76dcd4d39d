//! `Store::ingest_experiments`, the bulk path: what it stores must read back exactly like the
//! per-record paths' rows, across batch boundaries, and a rejected experiment must leave
//! nothing behind.

mod common;

use athanor_store::bench::{synthetic_campaign, synthetic_experiments};
use athanor_store::transfer::ExchangeRecord;
use athanor_store::{ExperimentRecord, StoreError};
use common::*;

crate::on_both_backends!(
    ingested_experiments_read_back_like_recorded_ones,
    many_experiments_cross_batch_boundaries_and_are_searchable,
    a_rejected_experiment_leaves_nothing_behind
);

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
