//! Crash safety: a writer process is SIGKILLed at random moments while it records experiments,
//! and after every kill the store must be consistent.
//!
//! The writer is this very test binary, re-invoked (`std::env::current_exe()`) to run only
//! [`crash_writer_child`] with [`CHILD_DIR_ENV`] set. Like the campaign runner, the writer
//! resumes after a crash: it finds its campaign, finishes an experiment left planned, and goes
//! on planning new ones.
//!
//! It runs on both backends (`sqlite::…` and `postgres::…`, see `common::on_both_backends!`):
//! on PostgreSQL the killed client's open transaction must be rolled back by the server.

mod common;

use athanor_store::{
    BackendKind, ExperimentRecord, ExperimentStatus, Store, StoreConfig, StoreError,
};
use common::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set (to the data directory) only in the child process.
const CHILD_DIR_ENV: &str = "ATHANOR_STORE_CRASH_WRITER_DIR";
/// Set in the child process only when it writes to PostgreSQL: the URL and the schema.
const CHILD_POSTGRES_URL_ENV: &str = "ATHANOR_STORE_CRASH_WRITER_POSTGRES_URL";
const CHILD_POSTGRES_SCHEMA_ENV: &str = "ATHANOR_STORE_CRASH_WRITER_POSTGRES_SCHEMA";
const CAMPAIGN: &str = "crash-test";
const SEED: u64 = 11;
/// Large enough that a kill often lands while a blob is being written.
const MICROGRAPH_BYTES: usize = 256 * 1024;
/// Every fifth experiment fails instead of completing.
const FAILURE_PERIOD: u32 = 5;

fn fails(seq: u32) -> bool {
    // `u32::is_multiple_of` would need Rust 1.87; the workspace declares rust-version 1.85.
    #[allow(clippy::manual_is_multiple_of)]
    let multiple = seq % FAILURE_PERIOD == 0;
    multiple
}

/// The writer. A no-op in a normal test run.
#[test]
fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let mut config = StoreConfig::sqlite(PathBuf::from(dir));
    if let (Ok(url), Ok(schema)) = (
        std::env::var(CHILD_POSTGRES_URL_ENV),
        std::env::var(CHILD_POSTGRES_SCHEMA_ENV),
    ) {
        config = StoreConfig::postgres(url, config.data_dir).with_postgres_schema(schema);
    }
    if let Err(error) = write_until_killed(&config) {
        eprintln!("writer failed: {error}");
        std::process::exit(3);
    }
}

fn write_until_killed(config: &StoreConfig) -> Result<(), StoreError> {
    let store = Store::open_with(config)?;
    let campaign = match store.find_campaign(CAMPAIGN, &format!("hash-of-{CAMPAIGN}"), SEED)? {
        Some(campaign) => campaign,
        None => store.create_campaign(&new_campaign(CAMPAIGN, SEED))?,
    };
    let existing = store.experiments(&campaign.id)?;
    for leftover in existing
        .iter()
        .filter(|e| e.status == ExperimentStatus::Planned)
    {
        finish(&store, leftover)?;
    }
    let mut seq = existing.last().map_or(1, |e| e.seq + 1);
    // Guard against an orphaned writer if the parent test dies: stop after a while.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let experiment = store.record_planned(&planned(&campaign.id, seq))?;
        finish(&store, &experiment)?;
        seq += 1;
    }
    Ok(())
}

fn finish(store: &Store, experiment: &ExperimentRecord) -> Result<(), StoreError> {
    if fails(experiment.seq) {
        store.record_failed(
            &experiment.id,
            "reactor over-pressure",
            &planner_state(experiment.seq),
        )
    } else {
        store.record_completed(&completion(
            store,
            &experiment.id,
            experiment.seq,
            MICROGRAPH_BYTES,
        )?)
    }
}

/// What the killed writer may have left, checked exhaustively. Returns the number of
/// experiments, whether the last one was left planned, and the number of temporary blob files.
fn check_consistent(db: &TestDb) -> (usize, bool, usize) {
    let dir = db.data_dir();
    let store = Store::open_with(db.config()).expect("store opens after a crash");
    let report = store.check_integrity().unwrap();
    assert!(report.is_ok(), "integrity problems: {:#?}", report.problems);
    if db.kind() == BackendKind::Sqlite {
        let conn = rusqlite::Connection::open(store.database_path()).unwrap();
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }

    let Some(campaign) = store.campaigns().unwrap().into_iter().next() else {
        return (0, false, 0); // killed before the campaign was created
    };
    let experiments = store.experiments(&campaign.id).unwrap();
    let seqs: Vec<u32> = experiments.iter().map(|e| e.seq).collect();
    let contiguous: Vec<u32> = (1..=experiments.len() as u32).collect();
    assert_eq!(
        seqs, contiguous,
        "the writer resumes without gaps or repeats"
    );
    for (position, experiment) in experiments.iter().enumerate() {
        let seq = experiment.seq;
        assert_eq!(experiment.recipe, recipe(seq));
        assert_eq!(experiment.spec_steps, spec_steps(seq));
        match experiment.status {
            ExperimentStatus::Completed => {
                assert!(!fails(seq));
                assert_eq!(
                    experiment.run_steps,
                    run_steps(seq),
                    "{}",
                    experiment.lab_id
                );
                assert_eq!(
                    experiment.results,
                    expected_results(seq),
                    "{}",
                    experiment.lab_id
                );
                assert_eq!(experiment.measurements.len(), 3, "{}", experiment.lab_id);
                assert_eq!(experiment.analyses.len(), 1, "{}", experiment.lab_id);
                let tem = experiment.measurements[0].blob.as_ref().unwrap();
                let pl = experiment.measurements[1].blob.as_ref().unwrap();
                assert_eq!(
                    store.read_blob(&tem.hash).unwrap(),
                    micrograph_bytes(seq, MICROGRAPH_BYTES)
                );
                assert_eq!(store.read_blob(&pl.hash).unwrap(), spectrum_bytes(seq));
                for input in &experiment.analyses[0].input_blobs {
                    store.read_blob(input).unwrap();
                }
            }
            ExperimentStatus::Failed => {
                assert!(fails(seq));
                assert!(experiment.results.is_empty() && experiment.measurements.is_empty());
                assert_eq!(experiment.failure.as_deref(), Some("reactor over-pressure"));
            }
            ExperimentStatus::Planned => {
                // The writer finishes each experiment before planning the next.
                assert_eq!(
                    position + 1,
                    experiments.len(),
                    "{} left planned",
                    experiment.lab_id
                );
                assert!(experiment.run_steps.is_empty() && experiment.results.is_empty());
                assert!(experiment.measurements.is_empty() && experiment.analyses.is_empty());
            }
        }
    }
    // The planner state to resume from belongs to the last finished experiment.
    let last_finished = experiments
        .iter()
        .rev()
        .find(|e| e.status != ExperimentStatus::Planned);
    assert_eq!(
        store.latest_planner_state(&campaign.id).unwrap(),
        last_finished.map(|e| (e.seq, planner_state(e.seq)))
    );

    // No blob file, referenced or not, is ever partial: every final name is its content's hash.
    let mut temp_files = 0;
    for file in files_under(&dir.join("blobs").join("sha256")) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(".tmp-") {
            temp_files += 1;
            continue;
        }
        let shard = file
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        store
            .read_blob(&format!("{shard}{name}"))
            .unwrap_or_else(|e| panic!("partial or corrupt blob file: {e}"));
    }
    let left_planned = experiments
        .last()
        .is_some_and(|e| e.status == ExperimentStatus::Planned);
    (experiments.len(), left_planned, temp_files)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

crate::on_both_backends!(sigkilled_writer_always_leaves_a_consistent_store);

fn sigkilled_writer_always_leaves_a_consistent_store(db: TestDb) {
    let exe = std::env::current_exe().unwrap();
    // Kill moments are random but seeded, so a failure can be re-run with the same schedule
    // (the writer's own speed still varies from run to run).
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut experiments_after = Vec::new();
    let mut temp_files_seen = 0;
    let mut kills_between_plan_and_completion = 0;
    for round in 0..8 {
        let mut command = Command::new(&exe);
        command
            .args([
                "crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, db.data_dir());
        if let (Some(url), Some(schema)) = (&db.config().database_url, &db.config().postgres_schema)
        {
            command
                .env(CHILD_POSTGRES_URL_ENV, url)
                .env(CHILD_POSTGRES_SCHEMA_ENV, schema);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(30..300)));
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("round {round}: the writer exited by itself ({status}):\n{stderr}");
        }
        child.kill().unwrap(); // SIGKILL: no destructors, no rollback, no flush
        child.wait().unwrap();
        let (experiments, left_planned, temp_files) = check_consistent(&db);
        kills_between_plan_and_completion += usize::from(left_planned);
        experiments_after.push(experiments);
        temp_files_seen = temp_files_seen.max(temp_files);
    }
    eprintln!(
        "experiments after each kill: {experiments_after:?}; {kills_between_plan_and_completion} \
         kill(s) left an experiment planned; at most {temp_files_seen} temporary blob file(s) \
         left by a kill"
    );
    assert!(
        experiments_after.windows(2).all(|w| w[0] <= w[1]),
        "nothing committed is ever lost: {experiments_after:?}"
    );
    assert!(
        *experiments_after.last().unwrap() >= 8,
        "the writer should make progress between kills: {experiments_after:?}"
    );
}
