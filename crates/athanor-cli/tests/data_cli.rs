//! `athanor data lineage` and `athanor data show` on a campaign made by `athanor run`.

mod common;
use common::*;

#[test]
fn lineage_and_show_follow_a_campaign_through_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = campaign_variant(
        dir.path(),
        "short.toml",
        &[
            ("budget = 40", "budget = 2"),
            ("initial = 10", "initial = 2"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
        ],
    );
    let data = dir.path().join("lab");
    let (c, d) = (campaign.to_str().unwrap(), data.to_str().unwrap());
    let out = run(&["run", c, "--seed", "3", "--data-dir", d, "--json"]);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Downstream of the campaign, one level: its experiments (process runs) and their plans.
    let out = run_ok(&[
        "data",
        "lineage",
        "C0001",
        "--down",
        "--depth",
        "1",
        "--json",
        "--data-dir",
        d,
    ]);
    let down: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = down["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "campaign");
    assert_eq!(kinds.iter().filter(|k| **k == "process_run").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "process_spec").count(), 2);
    assert_eq!(kinds.len(), 5);
    assert_eq!(down["edges"].as_array().unwrap().len(), 4);

    // How was a computed result made: analysis, raw blob, measurement, sample, experiment,
    // plan, campaign.
    let everything = run(&[
        "data",
        "lineage",
        "C0001-E001",
        "--down",
        "--json",
        "--data-dir",
        d,
    ]);
    let everything: serde_json::Value = serde_json::from_slice(&everything.stdout).unwrap();
    let analysis_result = everything["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "result")
        .map(|n| n["lab_id"].as_str().unwrap().to_string())
        .find(|lab| {
            let up = run(&[
                "data",
                "lineage",
                lab,
                "--depth",
                "1",
                "--json",
                "--data-dir",
                d,
            ]);
            let up: serde_json::Value = serde_json::from_slice(&up.stdout).unwrap();
            up["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "analysis")
        })
        .expect("a result derived from an analysis");
    let out = run(&[
        "data",
        "lineage",
        &analysis_result,
        "--up",
        "--json",
        "--data-dir",
        d,
    ]);
    assert!(out.status.success());
    let up: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "result",
        "analysis",
        "blob",
        "measurement_run",
        "material_run",
        "process_run",
        "process_spec",
        "campaign",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    // Human-readable lineage lists the records and the edges.
    let out = run(&["data", "lineage", &analysis_result, "--data-dir", d]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("C0001-E001-S1") && text.contains("-measured->"),
        "{text}"
    );

    // Show: the experiment is a completed process run with ordered steps and its neighbours.
    let out = run(&["data", "show", "C0001-E001", "--json", "--data-dir", d]);
    assert!(out.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["record"]["kind"], "process_run");
    assert_eq!(shown["record"]["status"], "completed");
    assert_eq!(shown["record"]["body"]["steps"][0]["index"], 1);
    assert!(shown["upstream"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["lab_id"] == "C0001"));
    // By UUID too.
    let id = shown["record"]["id"].as_str().unwrap();
    let out = run(&["data", "show", id, "--data-dir", d]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("C0001-E001"));

    // Unknown ids and absurd depths are bad input (exit code 2).
    let out = run(&["data", "show", "NOPE-1", "--data-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "data",
        "lineage",
        "C0001",
        "--depth",
        "99999",
        "--data-dir",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "data",
        "lineage",
        "C0001",
        "--up",
        "--down",
        "--data-dir",
        d,
    ]);
    assert_eq!(out.status.code(), Some(2));
}
