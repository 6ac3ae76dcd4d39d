//! End-to-end: a short campaign through the real binary, then `show` and `export`.

mod common;
use common::*;

#[test]
fn short_campaign_runs_shows_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = campaign_variant(
        dir.path(),
        "short.toml",
        &[
            ("budget = 40", "budget = 6"),
            ("initial = 10", "initial = 4"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
        ],
    );
    let data = dir.path().join("lab");
    let (c, d) = (campaign.to_str().unwrap(), data.to_str().unwrap());
    let out = run(&["run", c, "--seed", "7", "--data-dir", d, "--json"]);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = last_json_line(&out);
    assert_eq!(summary["experiments"], 6);
    assert_eq!(summary["executed_now"], 6);
    assert_eq!(summary["seed"], 7);
    let best = &summary["best"];
    for p in ["pl_peak", "size_cv", "quantum_yield", "d50"] {
        assert!(
            best["properties"][p]["value"].as_f64().is_some(),
            "best lacks {p}: {best}"
        );
    }
    assert_eq!(best["recipe"]["growth_temperature"]["unit"], "degC");

    // Everything lands under the data directory: the database and content-addressed blobs.
    assert!(data.join("athanor.sqlite").exists());
    let blob_count = walk(&data.join("blobs"));
    assert_eq!(
        blob_count, 12,
        "one TEM image and one spectrum per experiment"
    );

    // Running the finished campaign again runs nothing new and reports the same best.
    let again = run(&["run", c, "--seed", "7", "--data-dir", d, "--json"]);
    let again = last_json_line(&again);
    assert_eq!(again["executed_now"], 0);
    assert_eq!(again["best"], summary["best"]);

    let show = run(&["show", "--data-dir", d]);
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success());
    assert!(
        text.contains("C0001") && text.contains("C0001-E006") && text.contains("pl_peak"),
        "{text}"
    );

    let export = run(&["export", "--format", "csv", "--data-dir", d]);
    assert!(export.status.success());
    let mut reader = csv::Reader::from_reader(export.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert!(
        headers.iter().any(|h| h == "growth_temperature [degC]"),
        "{headers:?}"
    );
    assert!(headers.iter().any(|h| h == "pl_peak [nm]"), "{headers:?}");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6, "one row per experiment");
    let pl = headers.iter().position(|h| h == "pl_peak [nm]").unwrap();
    for r in &rows {
        let v: f64 = r[pl].parse().expect("pl_peak is a number");
        assert!((400.0..800.0).contains(&v));
    }

    // Search: units convert (0.4 µm = 400 nm), every experiment has a PL peak above it.
    let found = run_ok(&[
        "data",
        "search",
        "pl_peak > 0.4 um AND technique = \"TEM\"",
        "--json",
        "--data-dir",
        d,
    ]);
    let docs: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(docs.as_array().unwrap().len(), 6);
    let none = run(&[
        "data",
        "search",
        "recipe.growth_temperature > 1000 K",
        "--json",
        "--data-dir",
        d,
    ]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&none.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = run(&["data", "search", "d50 < 6 K", "--data-dir", d]);
    assert_eq!(bad.status.code(), Some(2), "a filter error is bad input");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("d50 is a length"));

    let missing = run(&[
        "show",
        "--data-dir",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
}

fn walk(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            n += walk(&p);
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn short_campaign_runs_on_postgres() {
    let Ok(url) = std::env::var("ATHANOR_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED (no ATHANOR_TEST_POSTGRES_URL): the campaign on PostgreSQL was not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A name of its own, so reruns against the same database start a new campaign.
    let unique = format!(
        "name = \"cdse-zns-620nm-pg-{}-{}\"",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let campaign = campaign_variant(
        dir.path(),
        "pg.toml",
        &[
            ("name = \"cdse-zns-620nm\"", unique.as_str()),
            ("budget = 40", "budget = 4"),
            ("initial = 10", "initial = 3"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
        ],
    );
    let data = dir.path().join("blobs-only");
    let (c, d) = (campaign.to_str().unwrap(), data.to_str().unwrap());
    let out = run_ok(&["run", c, "--data-dir", d, "--database-url", &url, "--json"]);
    let summary = last_json_line(&out);
    assert_eq!(summary["experiments"], 4);
    assert!(
        !data.join("athanor.sqlite").exists(),
        "records go to PostgreSQL, not SQLite"
    );
    assert_eq!(
        walk(&data.join("blobs")),
        8,
        "raw files stay in the data directory"
    );

    let campaign_id = summary["campaign_id"].as_str().unwrap();
    let show = run_ok(&[
        "show",
        campaign_id,
        "--json",
        "--data-dir",
        d,
        "--database-url",
        &url,
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(doc[0]["experiments"].as_array().unwrap().len(), 4);
    // Resuming on PostgreSQL runs nothing new.
    let again = run(&["run", c, "--data-dir", d, "--database-url", &url, "--json"]);
    assert_eq!(last_json_line(&again)["executed_now"], 0);
}
