//! Behaviour of the store: migrations, blobs, the experiment life cycle, and all-or-nothing
//! writes.
//!
//! Every behavioural test is a function taking a fresh [`TestDb`] and runs twice (see
//! [`on_both_backends!`]): `sqlite::NAME` and `postgres::NAME`. The PostgreSQL variants need
//! `ATHANOR_TEST_POSTGRES_URL` (set by `scripts/test.sh`, which starts a throw-away server);
//! without it they print `SKIPPED …` and pass.

mod common;

use athanor_model::Quantity;
use athanor_store::{
    BackendKind, CampaignStatus, ExperimentStatus, Store, StoreConfig, StoreError,
    DATABASE_FILE_NAME, SCHEMA_VERSION,
};
use common::*;
use rusqlite::Connection;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

crate::on_both_backends!(
    fresh_store_is_created_and_migrated,
    reopening_is_idempotent_and_keeps_data,
    database_from_a_newer_version_is_refused,
    blobs_are_content_addressed_and_written_once,
    blob_names_and_hashes_are_validated,
    corrupted_blob_is_detected_and_repaired_by_storing_it_again,
    stale_temporary_files_are_removed_on_open_and_fresh_ones_kept,
    campaigns_get_sequential_lab_ids_and_can_be_found,
    experiment_life_cycle_round_trips_every_field,
    planning_a_taken_seq_or_for_an_unknown_campaign_fails,
    completing_twice_fails_and_changes_nothing,
    completing_an_unknown_experiment_fails,
    a_completion_rejected_mid_transaction_writes_nothing,
    concurrent_stores_assign_distinct_lab_ids,
);

/// All files under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The tables of the current schema version, sorted.
const TABLES: [&str; 13] = [
    "analyses",
    "analysis_inputs",
    "blobs",
    "campaigns",
    "experiments",
    "measurements",
    "planner_states",
    "prov_counters",
    "prov_edges",
    "prov_records",
    "recipe_values",
    "results",
    "steps",
];

fn fresh_store_is_created_and_migrated(db: TestDb) {
    let dir = db.data_dir().to_path_buf();
    assert!(!dir.exists());
    let store = db.open();
    assert_eq!(store.backend_kind(), db.kind());
    assert_eq!(store.data_dir(), dir);
    assert!(dir.join("blobs").join("sha256").is_dir());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let mut tables = db.raw().tables();
    match db.kind() {
        BackendKind::Sqlite => {
            assert_eq!(store.database_path(), dir.join("athanor.sqlite"));
            assert!(store.database_path().is_file());
        }
        BackendKind::Postgres => {
            // Versions are rows of schema_migrations; no database file in the data directory.
            tables.retain(|t| t != "schema_migrations");
            assert!(!dir.join(DATABASE_FILE_NAME).exists());
            let location = store.database_path().display().to_string();
            assert!(location.starts_with("postgres://"), "{location}");
            assert!(
                location.ends_with(&format!(
                    "(schema {})",
                    db.config().postgres_schema.as_deref().unwrap()
                )),
                "{location}"
            );
            assert_eq!(
                db.raw().count("SELECT MAX(version) FROM schema_migrations"),
                i64::from(SCHEMA_VERSION)
            );
        }
    }
    assert_eq!(tables, TABLES);
}

#[test]
fn sqlite_database_is_in_wal_mode_with_its_version_in_user_version() {
    let db = TestDb::sqlite();
    drop(db.open());
    let conn = Connection::open(db.data_dir().join(DATABASE_FILE_NAME)).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

fn reopening_is_idempotent_and_keeps_data(db: TestDb) {
    let id = {
        let store = db.open();
        store.create_campaign(&new_campaign("a", 1)).unwrap().id
    };
    let schema_before = db.raw().schema_object_count();
    // Two stores open at once on the same store, then a third afterwards.
    let first = db.open();
    let second = db.open();
    drop((first, second));
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        db.raw().schema_object_count(),
        schema_before,
        "reopening must not re-create schema objects"
    );
    let campaigns = store.campaigns().unwrap();
    assert_eq!(campaigns.len(), 1);
    assert_eq!(campaigns[0].id, id);
}

fn database_from_a_newer_version_is_refused(db: TestDb) {
    drop(db.open());
    db.raw().set_schema_version(SCHEMA_VERSION + 1);
    let error = Store::open_with(db.config()).unwrap_err();
    assert!(
        matches!(error, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "{error}"
    );
}

#[test]
fn configurations_select_the_backend_and_bad_ones_are_refused() {
    let dir = Path::new("/nonexistent/lab");
    assert_eq!(
        StoreConfig::sqlite(dir).backend_kind().unwrap(),
        BackendKind::Sqlite
    );
    for url in ["postgres://u@h/db", "postgresql://u@h:5433/db"] {
        assert_eq!(
            StoreConfig::postgres(url, dir).backend_kind().unwrap(),
            BackendKind::Postgres
        );
    }
    let error = Store::open_with(&StoreConfig::postgres("mysql://u@h/db", dir)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unsupported database URL scheme 'mysql'"),
        "{error}"
    );
    let error =
        Store::open_with(&StoreConfig::sqlite(dir).with_postgres_schema("lab")).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    let root = tempfile::tempdir().unwrap();
    let error = Store::open_with(
        &StoreConfig::postgres("postgres://u@127.0.0.1:1/db", root.path())
            .with_postgres_schema("Not-An-Identifier"),
    )
    .unwrap_err();
    assert!(error.to_string().contains("postgres_schema"), "{error}");
    // Nothing listens on port 1: a database error naming the server, without a password.
    let error = Store::connect("postgres://u:secret@127.0.0.1:1/db", root.path()).unwrap_err();
    assert!(matches!(error, StoreError::Database { .. }), "{error}");
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn store_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StoreError>();
}

fn blobs_are_content_addressed_and_written_once(db: TestDb) {
    let store = db.open();
    let a = store.put_blob(b"abc", "text/plain", "a.txt").unwrap();
    // SHA-256("abc"), FIPS 180-2 test vector.
    let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(a.hash, expected);
    assert_eq!(a.size, 3);
    assert_eq!(
        store.blob_path(&a.hash),
        db.data_dir().join("blobs/sha256/ba").join(&expected[2..])
    );
    let again = store
        .put_blob(b"abc", "text/csv", "other-name.csv")
        .unwrap();
    assert_eq!(again.hash, a.hash);
    assert_eq!(again.file_name, "other-name.csv");
    let other = store.put_blob(b"abd", "text/plain", "b.txt").unwrap();
    assert_ne!(other.hash, a.hash);

    let files = files_under(&db.data_dir().join("blobs"));
    assert_eq!(
        files.len(),
        2,
        "one file per distinct content, no temp files: {files:?}"
    );
    assert_eq!(store.read_blob(&a.hash).unwrap(), b"abc");
    assert_eq!(
        db.raw().count("SELECT COUNT(*) FROM blobs"),
        2,
        "each content is registered once"
    );
    let empty = store
        .put_blob(b"", "application/octet-stream", "empty")
        .unwrap();
    assert_eq!(store.read_blob(&empty.hash).unwrap(), b"");
}

fn blob_names_and_hashes_are_validated(db: TestDb) {
    let store = db.open();
    for bad_name in ["", "../x", "a/b"] {
        let error = store.put_blob(b"x", "text/plain", bad_name).unwrap_err();
        assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    }
    let error = store.read_blob("../../athanor.sqlite").unwrap_err();
    assert!(
        matches!(error, StoreError::InvalidBlobHash { .. }),
        "{error}"
    );
    let absent = "0".repeat(64);
    let error = store.read_blob(&absent).unwrap_err();
    assert!(matches!(error, StoreError::BlobMissing { .. }), "{error}");
    assert!(error.to_string().contains(&absent));
}

fn corrupted_blob_is_detected_and_repaired_by_storing_it_again(db: TestDb) {
    let store = db.open();
    let blob = store
        .put_blob(b"pristine bytes", "text/plain", "p.txt")
        .unwrap();
    fs::write(store.blob_path(&blob.hash), b"pristine bytez").unwrap();

    let error = store.read_blob(&blob.hash).unwrap_err();
    assert!(matches!(error, StoreError::BlobCorrupt { .. }), "{error}");
    assert!(error.to_string().contains(&blob.hash), "{error}");
    let report = store.check_integrity().unwrap();
    assert_eq!(report.blobs_checked, 1);
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].contains(&blob.hash));

    store
        .put_blob(b"pristine bytes", "text/plain", "p.txt")
        .unwrap();
    assert_eq!(store.read_blob(&blob.hash).unwrap(), b"pristine bytes");
    assert!(store.check_integrity().unwrap().is_ok());
}

fn stale_temporary_files_are_removed_on_open_and_fresh_ones_kept(db: TestDb) {
    let store = db.open();
    let blob = store.put_blob(b"abc", "text/plain", "a.txt").unwrap();
    let shard = store.blob_path(&blob.hash).parent().unwrap().to_path_buf();
    drop(store);
    let stale = shard.join(".tmp-1-0-0");
    let fresh = shard.join(".tmp-2-0-0");
    fs::write(&stale, b"half a blo").unwrap();
    fs::write(&fresh, b"being writ").unwrap();
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    let store = db.open();
    assert!(!stale.exists());
    assert!(
        fresh.exists(),
        "a young temp file may belong to a live writer"
    );
    assert_eq!(store.read_blob(&blob.hash).unwrap(), b"abc");
}

fn campaigns_get_sequential_lab_ids_and_can_be_found(db: TestDb) {
    let store = db.open();
    let big_seed = u64::MAX - 3; // does not fit SQLite's signed integers
    let a = store.create_campaign(&new_campaign("a", big_seed)).unwrap();
    let b = store.create_campaign(&new_campaign("b", 2)).unwrap();
    assert_eq!((a.lab_id.as_str(), b.lab_id.as_str()), ("C0001", "C0002"));
    assert_eq!(a.status, CampaignStatus::Running);
    assert_eq!(a.id.len(), 36);
    assert!(
        a.created_at.ends_with('Z') && a.created_at.len() == 24,
        "{}",
        a.created_at
    );

    let found = store.find_campaign("a", "hash-of-a", big_seed).unwrap();
    assert_eq!(found.as_ref(), Some(&a));
    assert_eq!(store.find_campaign("a", "hash-of-a", 3).unwrap(), None);
    assert_eq!(store.find_campaign("a", "other", big_seed).unwrap(), None);
    // The same identity again: find returns the newest, to be resumed.
    let a2 = store.create_campaign(&new_campaign("a", big_seed)).unwrap();
    assert_eq!(a2.lab_id, "C0003");
    assert_eq!(
        store
            .find_campaign("a", "hash-of-a", big_seed)
            .unwrap()
            .unwrap()
            .id,
        a2.id
    );

    assert_eq!(store.campaign("C0002").unwrap().as_ref(), Some(&b));
    assert_eq!(store.campaign(&b.id).unwrap().as_ref(), Some(&b));
    assert_eq!(store.campaign("C0099").unwrap(), None);
    store
        .set_campaign_status(&b.id, CampaignStatus::Completed)
        .unwrap();
    store
        .set_campaign_status("C0001", CampaignStatus::Stopped)
        .unwrap();
    let statuses: Vec<_> = store
        .campaigns()
        .unwrap()
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        [
            CampaignStatus::Stopped,
            CampaignStatus::Completed,
            CampaignStatus::Running
        ]
    );
    let error = store
        .set_campaign_status("C0099", CampaignStatus::Stopped)
        .unwrap_err();
    assert_eq!(error.to_string(), "campaign 'C0099' not found");

    let error = store.create_campaign(&new_campaign(" ", 1)).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
}

#[test]
fn statuses_round_trip_through_their_names() {
    for status in [
        CampaignStatus::Running,
        CampaignStatus::Completed,
        CampaignStatus::Stopped,
    ] {
        assert_eq!(status.as_str().parse::<CampaignStatus>().unwrap(), status);
    }
    for status in [
        ExperimentStatus::Planned,
        ExperimentStatus::Completed,
        ExperimentStatus::Failed,
    ] {
        assert_eq!(
            status.to_string().parse::<ExperimentStatus>().unwrap(),
            status
        );
    }
    let error = "paused".parse::<CampaignStatus>().unwrap_err();
    assert!(error.to_string().contains("paused"), "{error}");
}

fn experiment_life_cycle_round_trips_every_field(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    assert_eq!(store.latest_planner_state(&campaign.id).unwrap(), None);

    let first = store.record_planned(&planned(&campaign.id, 1)).unwrap();
    assert_eq!(first.lab_id, "C0001-E001");
    assert_eq!(first.status, ExperimentStatus::Planned);
    // The campaign may be named by its lab id too.
    let second = store.record_planned(&planned("C0001", 2)).unwrap();
    let third = store.record_planned(&planned(&campaign.id, 3)).unwrap();
    assert_eq!(second.campaign_id, campaign.id);

    let done = completion(&store, &first.id, 1, 4096).unwrap();
    store.record_completed(&done).unwrap();
    store
        .record_failed(&second.lab_id, "syringe pump stalled", &planner_state(2))
        .unwrap();

    let experiments = store.experiments(&campaign.id).unwrap();
    assert_eq!(experiments.len(), 3);
    let [e1, e2, e3] = &experiments[..] else {
        unreachable!()
    };
    assert_eq!(e1.status, ExperimentStatus::Completed);
    assert_eq!(e1.recipe, recipe(1));
    assert_eq!(e1.spec_steps, spec_steps(1));
    assert_eq!(e1.run_steps, run_steps(1));
    assert_eq!(e1.measurements, done.measurements);
    assert_eq!(e1.analyses, done.analyses);
    assert_eq!(
        e1.results,
        expected_results(1),
        "values must round-trip bit for bit"
    );
    assert_eq!(e1.planner_note, planned(&campaign.id, 1).planner_note);
    assert_eq!(e1.failure, None);
    assert!(e1.completed_at.as_deref().unwrap() >= e1.planned_at.as_str());
    let tem = e1.measurements[0].blob.as_ref().unwrap();
    assert_eq!(
        store.read_blob(&tem.hash).unwrap(),
        micrograph_bytes(1, 4096)
    );

    assert_eq!(e2.status, ExperimentStatus::Failed);
    assert_eq!(e2.failure.as_deref(), Some("syringe pump stalled"));
    assert!(e2.results.is_empty() && e2.run_steps.is_empty());
    assert!(e2.completed_at.is_some());

    assert_eq!(e3, &third);
    assert_eq!(e3.completed_at, None);

    assert_eq!(
        store.experiment("C0001-E001").unwrap().as_ref(),
        Some(e1),
        "lookup by lab id"
    );
    assert_eq!(store.experiment(&e2.id).unwrap().as_ref(), Some(e2));
    assert_eq!(store.experiment("C0001-E099").unwrap(), None);
    assert_eq!(
        store.latest_planner_state("C0001").unwrap(),
        Some((2, planner_state(2)))
    );
    assert!(store.check_integrity().unwrap().is_ok());
}

fn planning_a_taken_seq_or_for_an_unknown_campaign_fails(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    store.record_planned(&planned(&campaign.id, 7)).unwrap();
    let error = store.record_planned(&planned(&campaign.id, 7)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "campaign C0001 already has an experiment with seq 7 (C0001-E007)"
    );
    let error = store.record_planned(&planned("C0042", 1)).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NotFound {
                kind: "campaign",
                ..
            }
        ),
        "{error}"
    );
    let mut bad = planned(&campaign.id, 8);
    bad.recipe
        .parameters
        .insert("growth_time".into(), Quantity::new(f64::INFINITY, "min"));
    let error = store.record_planned(&bad).unwrap_err();
    assert!(
        error.to_string().contains("C0001-E008") && error.to_string().contains("growth_time"),
        "{error}"
    );
    assert_eq!(store.experiments(&campaign.id).unwrap().len(), 1);
}

fn completing_twice_fails_and_changes_nothing(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    let experiment = store.record_planned(&planned(&campaign.id, 7)).unwrap();
    store
        .record_completed(&completion(&store, &experiment.id, 7, 1024).unwrap())
        .unwrap();
    let before = store.experiments(&campaign.id).unwrap();
    let state_before = store.latest_planner_state(&campaign.id).unwrap();

    // A second completion with different content.
    let mut again = completion(&store, &experiment.id, 8, 1024).unwrap();
    again.planner_state_json = planner_state(99);
    let error = store.record_completed(&again).unwrap_err();
    assert_eq!(
        error.to_string(),
        "experiment C0001-E007 is already completed"
    );
    let error = store
        .record_failed(&experiment.id, "late failure", "{}")
        .unwrap_err();
    assert!(matches!(
        error,
        StoreError::NotPlanned {
            status: ExperimentStatus::Completed,
            ..
        }
    ));

    assert_eq!(store.experiments(&campaign.id).unwrap(), before);
    assert_eq!(
        store.latest_planner_state(&campaign.id).unwrap(),
        state_before
    );

    // Failed experiments cannot be completed either.
    let second = store.record_planned(&planned(&campaign.id, 8)).unwrap();
    store
        .record_failed(&second.id, "no precursor", "{}")
        .unwrap();
    let error = store
        .record_completed(&completion(&store, &second.id, 8, 1024).unwrap())
        .unwrap_err();
    assert_eq!(error.to_string(), "experiment C0001-E008 is already failed");
}

fn completing_an_unknown_experiment_fails(db: TestDb) {
    let store = db.open();
    let done = completion(&store, "no-such-experiment", 1, 64).unwrap();
    let error = store.record_completed(&done).unwrap_err();
    assert_eq!(
        error.to_string(),
        "experiment 'no-such-experiment' not found"
    );
    let error = store.record_failed("C0001-E001", "x", "{}").unwrap_err();
    assert!(matches!(
        error,
        StoreError::NotFound {
            kind: "experiment",
            ..
        }
    ));
    let error = store.experiments("C0001").unwrap_err();
    assert!(matches!(
        error,
        StoreError::NotFound {
            kind: "campaign",
            ..
        }
    ));
}

/// A completion that fails part-way must leave no trace: every row written before the failing
/// one is rolled back, and the experiment can still be completed afterwards.
fn a_completion_rejected_mid_transaction_writes_nothing(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    let experiment = store.record_planned(&planned(&campaign.id, 1)).unwrap();
    let valid = completion(&store, &experiment.id, 1, 2048).unwrap();
    let mut raw = db.raw();
    let completion_rows = |raw: &mut Raw| {
        [
            "SELECT COUNT(*) FROM steps WHERE kind = 'run'",
            "SELECT COUNT(*) FROM measurements",
            "SELECT COUNT(*) FROM analyses",
            "SELECT COUNT(*) FROM analysis_inputs",
            "SELECT COUNT(*) FROM results",
            "SELECT COUNT(*) FROM planner_states",
            "SELECT COUNT(*) FROM experiments WHERE status != 'planned'",
        ]
        .map(|sql| raw.count(sql))
    };
    let blobs_before = raw.count("SELECT COUNT(*) FROM blobs");

    // The last result is NaN: steps, measurements, analyses and three results are already
    // inserted when it is rejected.
    let mut nan_result = valid.clone();
    nan_result.results[3].quantity.value = f64::NAN;
    // An analysis input that was never stored: rejected after steps and measurements.
    let mut unknown_input = valid.clone();
    unknown_input.analyses[0].input_blobs.push("ab".repeat(32));
    // A measurement blob reference whose file does not exist.
    let mut missing_file = valid.clone();
    missing_file.measurements[1].blob.as_mut().unwrap().hash = "cd".repeat(32);
    // A size that does not match the stored file.
    let mut wrong_size = valid.clone();
    wrong_size.measurements[0].blob.as_mut().unwrap().size += 1;
    // Planner state that is not JSON: the very last thing written before the status change.
    let mut bad_state = valid.clone();
    bad_state.planner_state_json = "{ not json".to_string();

    for (bad, expected_in_message) in [
        (
            nan_result,
            "experiment C0001-E001 result 4 (quantum_yield): invalid value",
        ),
        (
            unknown_input,
            "experiment C0001-E001 analysis 1 (particle-size-distribution): invalid input blob 3",
        ),
        (
            missing_file,
            "experiment C0001-E001 measurement 2 (PL): invalid blob",
        ),
        (
            wrong_size,
            "experiment C0001-E001 measurement 1 (TEM): invalid blob size",
        ),
        (bad_state, "experiment C0001-E001: invalid planner state"),
    ] {
        let error = store.record_completed(&bad).unwrap_err();
        assert!(
            matches!(error, StoreError::InvalidInput { .. }),
            "unexpected error kind: {error}"
        );
        assert!(
            error.to_string().starts_with(expected_in_message),
            "{error}\n  expected to start with: {expected_in_message}"
        );
        assert_eq!(completion_rows(&mut raw), [0; 7], "after: {error}");
        assert_eq!(raw.count("SELECT COUNT(*) FROM blobs"), blobs_before);
        let stored = store.experiment(&experiment.id).unwrap().unwrap();
        assert_eq!(stored, experiment, "experiment changed after: {error}");
    }
    assert!(store.check_integrity().unwrap().is_ok());

    store.record_completed(&valid).unwrap();
    assert_eq!(completion_rows(&mut raw), [3, 3, 1, 2, 4, 1, 1]);
}

fn concurrent_stores_assign_distinct_lab_ids(db: TestDb) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let config = db.config().clone();
            std::thread::spawn(move || {
                // Each thread opens its own store (own connection), as separate processes would.
                let store = Store::open_with(&config).unwrap();
                (0..5)
                    .map(|i| {
                        store
                            .create_campaign(&new_campaign(&format!("t{t}-{i}"), i))
                            .unwrap()
                            .lab_id
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut lab_ids: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    lab_ids.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("C{n:04}")).collect();
    assert_eq!(lab_ids, expected);
}

/// A PostgreSQL connection the server drops (restart, idle timeout, an administrator) is
/// re-established by the next call instead of failing every call from then on.
#[test]
fn postgres_store_reconnects_after_the_server_drops_its_connection() {
    let Some(db) = TestDb::postgres("reconnects") else {
        return;
    };
    let schema = db.config().postgres_schema.clone().unwrap();
    let mut config = db.config().clone();
    // Tag the store's connection so that only it is terminated (tests run in parallel).
    let separator = if config.database_url.as_deref().unwrap().contains('?') {
        '&'
    } else {
        '?'
    };
    config.database_url = Some(format!(
        "{}{separator}application_name={schema}",
        config.database_url.as_deref().unwrap()
    ));
    let store = Store::open_with(&config).unwrap();
    let campaign = store.create_campaign(&new_campaign("a", 1)).unwrap();
    let terminated = db.raw().count(&format!(
        "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = '{schema}') AS t"
    ));
    assert_eq!(terminated, 1);
    // The client notices the closed socket asynchronously.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let found = loop {
        match store.campaign(&campaign.id) {
            Ok(found) => break found,
            Err(error) if std::time::Instant::now() < deadline => {
                assert!(matches!(error, StoreError::Database { .. }), "{error}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("no reconnection: {error}"),
        }
    };
    assert_eq!(found, Some(campaign));
    assert_eq!(
        store.create_campaign(&new_campaign("b", 2)).unwrap().lab_id,
        "C0002"
    );
}
