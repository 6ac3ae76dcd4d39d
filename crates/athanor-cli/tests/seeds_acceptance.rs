//! Acceptance: the example campaign reaches PL 620 ± 3 nm with size CV ≤ 10 % within 40
//! experiments for at least 4 of 5 seeds, in at most 300 MB peak resident memory.

mod common;
use common::*;

#[test]
fn example_campaign_meets_its_target_for_four_of_five_seeds() {
    let out = run(&["bench", "campaign", "--seeds", "1,2,3,4,5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let figures = last_json_line(&out);
    let met = figures["seeds_target_met"].as_u64().unwrap();
    assert!(met >= 4, "target met for only {met} of 5 seeds:\n{stdout}");
    for r in figures["runs"].as_array().unwrap() {
        assert!(r["experiments"].as_u64().unwrap() <= 40);
        if r["satisfied"] == true {
            let pl = r["pl_peak_nm"].as_f64().unwrap();
            let cv = r["size_cv_percent"].as_f64().unwrap();
            assert!(
                (pl - 620.0).abs() <= 3.0 && cv <= 10.0,
                "a run marked as met must meet the target: {r}"
            );
        }
    }
    let rss = figures["peak_rss_mb"].as_f64().unwrap();
    assert!(rss <= 300.0, "peak resident memory {rss} MB exceeds 300 MB");
}
