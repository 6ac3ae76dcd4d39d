//! Exports the initial designs of the multi-objective benchmark (`athanor bench planner`'s
//! ZDT1-6 and Branin–Currin runs) so that a peer planner can start from exactly the points
//! Athanor's planner evaluates for each seed. Used by `bench/peers/run_peers_mo.py`.
//!
//! ```text
//! cargo run --release -p athanor-plan --example mo_designs -- \
//!     --seeds 0-19 --initial 10 --out bench/peers/out-mo/mo-designs.json
//! ```
//!
//! The points are asked one at a time and told their true values, exactly as
//! `athanor_plan::bench::multi::run_hypervolume` does for its first `initial` experiments;
//! the JSON also carries the objective values and the problem's reference point and maximum
//! hypervolume so that the peer script can check its own formulas against them.

use athanor_plan::bench::multi::MultiObjectiveProblem;
use athanor_plan::{Objective, ObjectiveGoal, Observation, Planner, PlannerConfig};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    if let Some((a, b)) = text.split_once('-') {
        let (a, b): (u64, u64) = (
            a.parse().map_err(|e| format!("--seeds {text}: {e}"))?,
            b.parse().map_err(|e| format!("--seeds {text}: {e}"))?,
        );
        return Ok((a..=b).collect());
    }
    text.split(',')
        .map(|s| s.parse().map_err(|e| format!("--seeds {text}: {e}")))
        .collect()
}

fn run() -> Result<(), String> {
    let mut seeds: Vec<u64> = (0..20).collect();
    let mut initial = 10usize;
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seeds" => seeds = parse_seeds(&value()?)?,
            "--initial" => initial = value()?.parse().map_err(|e| format!("--initial: {e}"))?,
            "--out" => out = Some(value()?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let out = out.ok_or("--out FILE is required")?;
    let mut problems = Vec::new();
    for problem in [
        MultiObjectiveProblem::Zdt1(6),
        MultiObjectiveProblem::BraninCurrin,
    ] {
        let mut per_seed = Vec::new();
        for &seed in &seeds {
            let config = PlannerConfig {
                parameters: problem.parameters(),
                objectives: vec![
                    Objective::new("f1", ObjectiveGoal::Minimize),
                    Objective::new("f2", ObjectiveGoal::Minimize),
                ],
                initial_design: initial,
                seed,
            };
            let mut planner = Planner::new(config).map_err(|e| e.to_string())?;
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for _ in 0..initial {
                let batch = planner.ask_batch(1, &[]).map_err(|e| e.to_string())?;
                for s in batch {
                    let y = problem.values(&s.x);
                    planner
                        .tell(Observation {
                            x: s.x.clone(),
                            y: vec![Some(y[0]), Some(y[1])],
                            failed: false,
                        })
                        .map_err(|e| e.to_string())?;
                    xs.push(s.x);
                    ys.push(y);
                }
            }
            per_seed.push(serde_json::json!({ "seed": seed, "x": xs, "y": ys }));
        }
        problems.push(serde_json::json!({
            "name": problem.name(),
            "dims": problem.dims(),
            "reference": problem.reference(),
            "max_hypervolume": problem.max_hypervolume(),
            "initial": initial,
            "seeds": per_seed,
        }));
    }
    let doc = serde_json::json!({ "problems": problems });
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("writing {out}: {e}"))?;
    println!("wrote {out}");
    Ok(())
}
