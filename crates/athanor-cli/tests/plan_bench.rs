//! `athanor bench planner`: small runs print the tables, write the JSON with every curve and
//! the plots, and end with one JSON line whose figures are consistent.

mod common;
use common::*;

#[test]
fn planner_bench_reports_regret_hypervolume_and_writes_curves() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(&[
        "bench",
        "planner",
        "--problems",
        "branin,mixed_hartmann3,branin_currin",
        "--seeds",
        "1,2",
        "--model-steps",
        "2",
        "--moo-budget",
        "10",
        "--moo-initial",
        "8",
        "--moo-q",
        "2",
        "--no-latency",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let json = last_json_line(&out);
    assert_eq!(json["bench"], "planner");
    assert_eq!(json["seeds"], 2);
    for problem in ["branin", "mixed_hartmann3"] {
        let final_regret = json[format!("{problem}_median_final_log10_regret")]
            .as_f64()
            .unwrap();
        let auc = json[format!("{problem}_auc")].as_f64().unwrap();
        // Best-so-far regret only falls, so the mean of the curve is at least its end.
        assert!(auc >= final_regret, "{problem}: {auc} < {final_regret}");
    }
    assert!(json.get("hartmann6_median_final_log10_regret").is_none());
    for method in ["sobol", "parego", "qnehvi"] {
        let hv = json[format!("branin_currin_{method}_hypervolume")]
            .as_f64()
            .unwrap();
        assert!((0.0..=59.37).contains(&hv), "{method}: {hv}");
    }
    assert!(json.get("zdt1_6_sobol_hypervolume").is_none());

    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("planner-bench.json")).unwrap(),
    )
    .unwrap();
    let regret = doc["regret"].as_array().unwrap();
    assert_eq!(regret.len(), 2);
    // Branin: initial design max(5, 2·2) = 5 plus 2 model steps, one curve per seed.
    assert_eq!(regret[0]["budget"], 7);
    let curves = regret[0]["curves"].as_array().unwrap();
    assert_eq!(curves.len(), 2);
    assert_eq!(curves[0].as_array().unwrap().len(), 7);
    let svg = std::fs::read_to_string(dir.path().join("planner-regret.svg")).unwrap();
    assert!(svg.contains("mixed_hartmann3"));
    let svg = std::fs::read_to_string(dir.path().join("planner-hypervolume.svg")).unwrap();
    assert!(svg.contains("branin_currin") && svg.contains("qnehvi"));
}

#[test]
fn planner_bench_latency_only_reports_the_grid_and_memory() {
    let out = run_ok(&[
        "bench",
        "planner",
        "--latency-only",
        "--quick",
        "--latency-n",
        "20",
    ]);
    let json = last_json_line(&out);
    for d in [2, 6, 10] {
        for q in [1, 4] {
            let median = json[format!("latency_d{d}_n20_q{q}_median_ms")]
                .as_f64()
                .unwrap();
            let p95 = json[format!("latency_d{d}_n20_q{q}_p95_ms")]
                .as_f64()
                .unwrap();
            assert!(median > 0.0 && p95 >= median, "d{d} q{q}: {median} {p95}");
        }
    }
    let peak = json["peak_heap_mb_n20_d10"].as_f64().unwrap();
    assert!(peak > 0.0 && peak < 100.0, "{peak}");
    assert!(json.get("branin_median_final_log10_regret").is_none());
}

#[test]
fn planner_bench_rejects_bad_input() {
    let out = run(&["bench", "planner", "--problems", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["bench", "planner", "--moo-budget", "0", "--no-latency"]);
    assert!(!out.status.success());
}
