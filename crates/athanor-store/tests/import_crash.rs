//! An import killed with SIGKILL part-way leaves the store exactly as before, on SQLite and
//! PostgreSQL. The importer is this test binary, re-invoked (`std::env::current_exe()`) to run
//! only [`import_child`] with [`CHILD_DIR_ENV`] set; it imports a long stream of synthetic
//! experiments (`athanor_store::bench::synthetic_records`) into a store that already holds one
//! campaign, and is killed while the import's transaction is open (after it has dropped the
//! value indexes that a large import rebuilds at its end).

mod common;

use athanor_store::bench::synthetic_records;
use athanor_store::transfer::ExchangeRecord;
use athanor_store::{Store, StoreConfig};
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR_ENV: &str = "ATHANOR_STORE_IMPORT_CHILD_DIR";
const CHILD_URL_ENV: &str = "ATHANOR_STORE_IMPORT_CHILD_POSTGRES_URL";
const CHILD_SCHEMA_ENV: &str = "ATHANOR_STORE_IMPORT_CHILD_POSTGRES_SCHEMA";

/// Far more than can be imported before the kill.
const CHILD_RECORDS: u64 = 5_000_000;

/// The child: import until killed. Does nothing when run as an ordinary test.
#[test]
fn import_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let config = match (
        std::env::var(CHILD_URL_ENV),
        std::env::var(CHILD_SCHEMA_ENV),
    ) {
        (Ok(url), Ok(schema)) => StoreConfig::postgres(url, dir).with_postgres_schema(schema),
        _ => StoreConfig::sqlite(dir),
    };
    // Value indexes deferred early (after 1 000 experiments, not 20 000): the kill then hits a
    // transaction that has dropped them, which the rollback must bring back.
    let store = Store::open_with(&config.with_index_deferral_after(Some(1_000))).unwrap();
    // The synthetic campaign is C0001 too: renumber it so that it does not clash.
    let records = synthetic_records(CHILD_RECORDS).map(|record| {
        record.map(|record| match record {
            ExchangeRecord::Campaign(mut campaign) => {
                campaign.lab_id = "C0002".to_string();
                ExchangeRecord::Campaign(campaign)
            }
            ExchangeRecord::Experiment(mut experiment) => {
                experiment.lab_id = experiment.lab_id.replacen("C0001", "C0002", 1);
                ExchangeRecord::Experiment(experiment)
            }
            other => other,
        })
    });
    eprintln!("importing");
    store.import_records(records).unwrap();
    panic!("the import finished before it was killed; raise CHILD_RECORDS");
}

crate::on_both_backends!(a_killed_import_leaves_the_store_unchanged);

fn a_killed_import_leaves_the_store_unchanged(db: TestDb) {
    let store = db.open();
    let own = store.create_campaign(&new_campaign("own", 1)).unwrap();
    let first = store.record_planned(&planned(&own.id, 1)).unwrap();
    store
        .record_completed(&completion(&store, &first.id, 1, 256).unwrap())
        .unwrap();
    let before_campaigns = store.campaigns().unwrap();
    let before_experiments = store.experiments(&own.id).unwrap();
    drop(store);

    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "import_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, db.data_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let (Some(url), Some(schema)) = (&db.config().database_url, &db.config().postgres_schema) {
        command
            .env(CHILD_URL_ENV, url)
            .env(CHILD_SCHEMA_ENV, schema);
    }
    let mut child = command.spawn().unwrap();
    // Kill once the import has written for a while (its transaction is open and large).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the importer exited before it was killed"
    );
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let started = Instant::now();
    let store = db.open();
    assert_eq!(store.campaigns().unwrap(), before_campaigns);
    assert_eq!(store.experiments(&own.id).unwrap(), before_experiments);
    assert!(store.experiment("C0002-E001").unwrap().is_none());
    let report = store.check_integrity().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(started.elapsed() < Duration::from_secs(30));
    // The value indexes the import had dropped are back.
    let mut raw = db.raw();
    for index in [
        "results_by_name_unit_value",
        "recipe_values_by_name_unit_value",
    ] {
        assert!(!raw.definition(index).is_empty(), "{index} is missing");
    }
}
