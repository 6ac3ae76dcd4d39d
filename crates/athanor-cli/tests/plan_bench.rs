//! `athanor bench planner`: a small run prints the tables, the SVG and one JSON line whose
//! hypervolumes are consistent.

mod common;
use common::*;

#[test]
fn planner_bench_reports_hypervolumes_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "bench",
        "planner",
        "--seeds",
        "1",
        "--budget",
        "12",
        "--initial",
        "8",
        "--q",
        "2",
        "--plot",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = last_json_line(&out);
    assert_eq!(json["bench"], "planner");
    assert!(json["hartmann6_n20_q4_median_ms"].as_f64().unwrap() > 0.0);
    for problem in ["zdt1_6", "branin_currin"] {
        for method in ["sobol", "parego", "qnehvi"] {
            let hv = json[format!("{problem}_{method}_hypervolume")]
                .as_f64()
                .unwrap();
            assert!(hv >= 0.0, "{problem} {method}: {hv}");
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("planner-hypervolume.svg")).unwrap();
    assert!(svg.contains("branin_currin") && svg.contains("qnehvi"));
}

#[test]
fn planner_bench_rejects_a_zero_budget() {
    let out = run(&["bench", "planner", "--budget", "0"]);
    assert!(!out.status.success());
}
