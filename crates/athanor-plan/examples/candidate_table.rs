//! Candidate-table suggestion benchmark: time and peak memory of one `ask()` over a finite
//! table of candidate recipes.
//!
//! ```text
//! cargo run --release -p athanor-plan --example candidate_table -- [--rows N] [--columns D] [--observations K]
//! ```
//!
//! Defaults: 100 000 rows × 12 columns, 50 observations (a Hartmann-like smooth function of
//! the first columns). Prints a table and, on the last line, one JSON object with
//! `table_ask_ms` (median of 5 asks), `peak_rss_mb` (VmHWM of the process after the asks),
//! `rss_before_ask_mb` (VmHWM after building table and planner, before the first ask) and
//! `table_bytes_mb` (the table itself).

use athanor_model::ParameterDef;
use athanor_plan::{
    CandidateTable, Objective, ObjectiveGoal, Observation, Planner, PlannerConfig, SearchSpace,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Peak resident set size of this process (VmHWM), in MB; 0 where /proc is unavailable.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn value_of(args: &[String], flag: &str, default: usize) -> Result<usize, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a positive count")),
    }
}

fn objective(x: &[f64]) -> f64 {
    x.iter()
        .enumerate()
        .map(|(j, v)| -((v - 0.3 - 0.04 * j as f64) / (0.3 + 0.1 * j as f64)).powi(2))
        .sum::<f64>()
        + (5.0 * x[0]).sin()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "candidate_table [--rows N] [--columns D] [--observations K]\n\
             Times ask() over a candidate table and reports peak memory (VmHWM)."
        );
        return;
    }
    let parsed = (|| -> Result<(usize, usize, usize), String> {
        Ok((
            value_of(&args, "--rows", 100_000)?,
            value_of(&args, "--columns", 12)?,
            value_of(&args, "--observations", 50)?,
        ))
    })();
    let (rows, columns, observations) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("candidate_table: {e}");
            std::process::exit(2);
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let values: Vec<f64> = (0..rows * columns).map(|_| rng.random::<f64>()).collect();
    let table = CandidateTable { columns, values };
    let parameters: Vec<ParameterDef> = (0..columns)
        .map(|j| ParameterDef {
            name: format!("x{j}"),
            unit: "1".into(),
            min: 0.0,
            max: 1.0,
            log_scale: false,
        })
        .collect();
    let config = PlannerConfig {
        parameters,
        objectives: vec![Objective::new("y", ObjectiveGoal::Maximize)],
        initial_design: 0,
        seed: 3,
    };
    let space = SearchSpace {
        candidates: Some(table.clone()),
        ..SearchSpace::default()
    };
    let mut planner = match Planner::with_space(config, space) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("candidate_table: {e}");
            std::process::exit(1);
        }
    };
    for i in 0..observations {
        let x = table.row((i * 7919) % rows).to_vec();
        let y = objective(&x);
        planner
            .tell(Observation {
                x,
                y: vec![Some(y)],
                failed: false,
            })
            .expect("benchmark observations are valid");
    }
    let before = peak_rss_mb();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let start = Instant::now();
        let s = planner.ask().expect("the table has usable rows");
        times.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some(s);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let peak = peak_rss_mb();
    let table_mb = (rows * columns * 8) as f64 / 1048576.0;
    let best = last.map(|s| objective(&s.x)).unwrap_or(f64::NAN);
    println!("rows      columns  observations  ask median (ms)  VmHWM before ask (MB)  VmHWM after (MB)  table (MB)");
    println!(
        "{rows:<9} {columns:<8} {observations:<13} {median:<16.1} {before:<22.1} {peak:<17.1} {table_mb:.1}"
    );
    println!(
        "{{\"rows\":{rows},\"columns\":{columns},\"observations\":{observations},\"table_ask_ms\":{median:.2},\"rss_before_ask_mb\":{before:.1},\"peak_rss_mb\":{peak:.1},\"table_bytes_mb\":{table_mb:.1},\"proposal_objective\":{best:.4}}}"
    );
}
