//! Parquet export and import ([`athanor_store::transfer::parquet_file`]): typed columns with
//! units in the metadata, export → import into an empty store → the same table, and rejected
//! files leave the store unchanged. Every test runs on SQLite and PostgreSQL (see
//! `tests/common`; the PostgreSQL variants need `ATHANOR_TEST_POSTGRES_URL`).

mod common;

use arrow_array::RecordBatchReader;
use arrow_array::{Array, Float64Array, StringArray};
use athanor_store::transfer::{export, import_parquet, ExchangeRecord, ExportFormat};
use athanor_store::{BackendKind, CampaignStatus, Store};
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

crate::on_both_backends!(
    export_then_import_into_an_empty_store_gives_the_same_table,
    columns_are_typed_and_carry_their_units,
    files_that_are_not_athanor_tables_are_rejected_and_change_nothing,
);

/// A second, empty store of the same backend as `db`.
fn empty_like(db: &TestDb) -> TestDb {
    match db.kind() {
        BackendKind::Sqlite => TestDb::sqlite(),
        BackendKind::Postgres => TestDb::postgres("parquet_destination").unwrap(),
    }
}

/// Two campaigns (completed, failed and planned experiments with raw files; a seed that needs
/// all 64 bits) and a third campaign without experiments.
fn populate(store: &Store) {
    let first = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    for seq in 1..=3 {
        let planned = store.record_planned(&planned(&first.id, seq)).unwrap();
        store
            .record_completed(&completion(store, &planned.id, seq, 700 + seq as usize).unwrap())
            .unwrap();
    }
    let failed = store.record_planned(&planned(&first.id, 4)).unwrap();
    store
        .record_failed(&failed.id, "pump stalled, \"twice\"", &planner_state(4))
        .unwrap();
    store.record_planned(&planned(&first.id, 5)).unwrap();
    store
        .set_campaign_status(&first.id, CampaignStatus::Stopped)
        .unwrap();
    let second = store
        .create_campaign(&new_campaign("inp", u64::MAX))
        .unwrap();
    let planned = store.record_planned(&planned(&second.id, 1)).unwrap();
    store
        .record_completed(&completion(store, &planned.id, 1, 64).unwrap())
        .unwrap();
    store.create_campaign(&new_campaign("empty", 3)).unwrap();
}

fn export_parquet(store: &Store, path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let rows = export(store, ExportFormat::Parquet, Default::default(), &mut out).unwrap();
    assert!(rows > 0);
    std::fs::write(path, &out).unwrap();
    out
}

/// The raw files are not part of the table: the destination gets them as a lab would (same
/// blob storage, or an exchange file with blobs).
fn copy_blobs(source: &Store, destination: &Store) {
    source
        .for_each_record(true, |record| {
            if let ExchangeRecord::Blob(blob) = record {
                destination
                    .put_blob(&blob.content.unwrap(), &blob.media_type, "copy")
                    .unwrap();
            }
            Ok(())
        })
        .unwrap();
}

fn export_then_import_into_an_empty_store_gives_the_same_table(db: TestDb) {
    let source = db.open();
    populate(&source);
    let dir = tempfile::tempdir().unwrap();
    let first = export_parquet(&source, &dir.path().join("a.parquet"));

    let destination_db = empty_like(&db);
    let destination = destination_db.open();
    copy_blobs(&source, &destination);
    let file = std::fs::File::open(dir.path().join("a.parquet")).unwrap();
    let summary = import_parquet(&destination, file).unwrap();
    assert_eq!(summary.campaigns, 3);
    assert_eq!(summary.experiments, 6);

    let second = export_parquet(&destination, &dir.path().join("b.parquet"));
    assert_eq!(first, second, "the re-export differs");

    // The records themselves came back: everything but the order of results, which the table
    // keeps by column.
    assert_eq!(
        destination.campaigns().unwrap(),
        source.campaigns().unwrap()
    );
    for campaign in source.campaigns().unwrap() {
        let mut expected = source.experiments(&campaign.id).unwrap();
        let mut actual = destination.experiments(&campaign.id).unwrap();
        for experiment in expected.iter_mut().chain(actual.iter_mut()) {
            experiment.results.sort_by(|a, b| a.name.cmp(&b.name));
        }
        assert_eq!(actual, expected, "campaign {}", campaign.lab_id);
    }
    // Planner states are not part of the table (as with `ingest_experiments`); nothing else
    // may be amiss.
    let problems: Vec<String> = destination
        .check_integrity()
        .unwrap()
        .problems
        .into_iter()
        .filter(|p| !p.ends_with("is finished but has no planner state"))
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
}

fn columns_are_typed_and_carry_their_units(db: TestDb) {
    let store = db.open();
    populate(&store);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    export_parquet(&store, &path);
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let unit = |column: &str| {
        schema
            .field_with_name(column)
            .unwrap()
            .metadata()
            .get("unit")
            .cloned()
    };
    assert_eq!(unit("recipe.growth_temperature").as_deref(), Some("degC"));
    assert_eq!(unit("recipe.growth_time").as_deref(), Some("min"));
    assert_eq!(unit("d50").as_deref(), Some("nm"));
    assert_eq!(unit("d50.std").as_deref(), Some("nm"));
    assert_eq!(unit("quantum_yield").as_deref(), Some(""));
    assert_eq!(unit("lab_id"), None);

    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 7, "six experiments and the campaign without any");
    let batch = &batches[0];
    let text = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .clone()
    };
    let real = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone()
    };
    let lab_ids = text("lab_id");
    let d50 = real("d50");
    let temperature = real("recipe.growth_temperature");
    let status = text("status");
    for row in 0..batch.num_rows() {
        if lab_ids.is_null(row) {
            continue;
        }
        let experiment = store.experiment(lab_ids.value(row)).unwrap().unwrap();
        assert_eq!(status.value(row), experiment.status.as_str());
        assert_eq!(
            temperature.value(row),
            experiment.recipe.parameters["growth_temperature"].value
        );
        match experiment.results.iter().find(|r| r.name == "d50") {
            Some(result) => assert_eq!(d50.value(row), result.quantity.value),
            None => assert!(d50.is_null(row), "{}", lab_ids.value(row)),
        }
    }
}

fn files_that_are_not_athanor_tables_are_rejected_and_change_nothing(db: TestDb) {
    let source = db.open();
    populate(&source);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    export_parquet(&source, &path);

    // Not Parquet at all.
    let destination_db = empty_like(&db);
    let destination = destination_db.open();
    let text = dir.path().join("t.jsonl");
    std::fs::write(&text, "{\"format\":\"athanor-exchange\"}\n").unwrap();
    let error = import_parquet(&destination, std::fs::File::open(&text).unwrap()).unwrap_err();
    assert!(
        error.to_string().contains("not a readable Parquet file"),
        "{error}"
    );

    // A well-formed table whose experiments' raw files are missing here: the import fails at
    // the first measurement and nothing of it stays (one transaction).
    let error = import_parquet(&destination, std::fs::File::open(&path).unwrap()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("C0001-E001") && message.contains("blob"),
        "{message}"
    );
    assert!(destination.campaigns().unwrap().is_empty());

    // Importing into the store it came from is refused as a whole (the ids exist).
    let before = source.campaigns().unwrap();
    assert!(import_parquet(&source, std::fs::File::open(&path).unwrap()).is_err());
    assert_eq!(source.campaigns().unwrap(), before);
}
