//! Crash recovery: SIGKILL the campaign at many random moments, rerun the same command each
//! time, and check that the final result equals an uninterrupted run's, with every experiment
//! present once and none repeated.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// What must be identical between an interrupted and an uninterrupted campaign: every
/// experiment's recipe, status and results (ids and timestamps naturally differ).
fn experiments_fingerprint(data: &str) -> Vec<serde_json::Value> {
    let out = run_ok(&["show", "--json", "--data-dir", data]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let campaigns = doc.as_array().unwrap();
    assert_eq!(
        campaigns.len(),
        1,
        "one campaign only, however often it was restarted"
    );
    campaigns[0]["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::json!({"seq": e["seq"], "status": e["status"], "recipe": e["recipe"], "results": e["results"]}))
        .collect()
}

#[test]
fn killed_campaign_resumes_to_the_uninterrupted_result() {
    let dir = tempfile::tempdir().unwrap();
    // Without stopping at the target, so that the run goes well into the Bayesian-optimisation
    // phase and the restored planner state is what chooses the later recipes.
    let campaign = campaign_variant(
        dir.path(),
        "resume.toml",
        &[
            ("budget = 40", "budget = 16"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
        ],
    );
    let c = campaign.to_str().unwrap();
    let seed = "3";

    let reference_dir = dir.path().join("reference");
    let r = reference_dir.to_str().unwrap();
    let start = Instant::now();
    let out = run(&["run", c, "--seed", seed, "--data-dir", r, "--json"]);
    let uninterrupted = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = last_json_line(&out);
    let reference_experiments = experiments_fingerprint(r);
    assert_eq!(reference_experiments.len(), 16);

    let killed_dir = dir.path().join("killed");
    let k = killed_dir.to_str().unwrap();
    // A fixed pseudo-random sequence of kill times spread over the whole run, including the
    // first moments (opening the store, creating the campaign).
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut kills = 0;
    let mut final_out = None;
    for attempt in 0..60 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let fraction = (state % 1000) as f64 / 1000.0;
        let delay = Duration::from_secs_f64(
            0.02 + fraction * (uninterrupted.as_secs_f64() / 8.0).max(0.25),
        );
        let mut child = athanor()
            .args(["run", c, "--seed", seed, "--data-dir", k, "--json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + delay;
        let mut finished = false;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if finished || attempt == 59 {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "resumed run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            final_out = Some(out);
            break;
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        kills += 1;
    }
    let out = match final_out {
        Some(o) => o,
        None => run(&["run", c, "--seed", seed, "--data-dir", k, "--json"]),
    };
    assert!(
        kills >= 8,
        "the campaign should have been killed many times, was killed {kills} times"
    );
    let mut resumed = last_json_line(&out);
    let mut reference = reference;
    // Record ids are fresh UUIDs in every store; everything else must match exactly.
    for doc in [&mut resumed, &mut reference] {
        doc["best"].as_object_mut().unwrap().remove("experiment_id");
    }
    assert_eq!(
        resumed["best"], reference["best"],
        "same best experiment, recipe and properties"
    );
    assert_eq!(resumed["experiments"], reference["experiments"]);
    assert_eq!(resumed["satisfied"], reference["satisfied"]);
    assert_eq!(
        experiments_fingerprint(k),
        reference_experiments,
        "every experiment identical, none lost or repeated"
    );
    eprintln!("killed {kills} times; uninterrupted run took {uninterrupted:?}");
}
