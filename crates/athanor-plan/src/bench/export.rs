//! Export of the benchmark problems for the peer-comparison harness in `bench/peers/`
//! (Optuna, BoTorch): every box problem's definition (function family, bounds, `f*`, noise
//! level, budget) and, per seed, the exact initial design the planner evaluates first, the
//! noise-free values there (so a re-implementation of the test functions can be checked) and
//! the standard-normal noise draws `z_i` of the run: evaluation `i` (0-based, initial design
//! included) observes `f(x_i) + noise_sd · z_i`.
//!
//! The structured problems (simplex, categorical) are not exported: the peers' harness has no
//! equality constraints or categorical parameters wired in.

use super::{run_regret, standard_problems, Problem, TestFunction};
use crate::{Objective, ObjectiveGoal, Observation, PlanError, PlannerConfig};
use serde_json::{json, Map, Value};

/// The first `problem.initial_design()` points the planner evaluates for `seed`: asked from a
/// planner configured exactly as in `run_regret` (the design depends only on the seed and the
/// number of observations, so telling noise-free values does not change it).
pub fn initial_design_points(problem: &Problem, seed: u64) -> Result<Vec<Vec<f64>>, PlanError> {
    let function = problem.function;
    let mut planner = function.planner(PlannerConfig {
        parameters: function.parameters(),
        objectives: vec![Objective::new("f", ObjectiveGoal::Minimize)],
        initial_design: problem.initial_design(),
        seed,
    })?;
    let mut points = Vec::with_capacity(problem.initial_design());
    for _ in 0..problem.initial_design() {
        let x = planner.ask()?.x;
        planner.tell(Observation {
            x: x.clone(),
            y: vec![Some(function.value(&x))],
            failed: false,
        })?;
        points.push(x);
    }
    Ok(points)
}

/// Replays `run_regret` for `budget` evaluations with the exported noise draws and requires the
/// same regret curve: model-based suggestions depend on the noisy values, so a different noise
/// stream would steer the run elsewhere. Guards the copy of the private noise generator.
fn check_noise_replay(problem: &Problem, seed: u64, budget: usize) -> Result<(), PlanError> {
    let function = problem.function;
    let noise_sd = problem.relative_noise * function.output_spread();
    let mut planner = function.planner(PlannerConfig {
        parameters: function.parameters(),
        objectives: vec![Objective::new("f", ObjectiveGoal::Minimize)],
        initial_design: problem.initial_design(),
        seed,
    })?;
    let mut best = f64::INFINITY;
    let mut curve = Vec::with_capacity(budget);
    for z in super::noise_draws(seed, budget) {
        let x = planner.ask()?.x;
        let truth = function.value(&x);
        best = best.min(truth);
        let regret = best - function.optimum_value();
        curve.push(regret.max(super::REGRET_FLOOR).log10());
        planner.tell(Observation {
            x,
            y: vec![Some(truth + noise_sd * z)],
            failed: false,
        })?;
    }
    let reference = run_regret(problem, budget, seed)?;
    if reference.log10_regret != curve {
        return Err(PlanError::Numerical(format!(
            "{} seed {seed}: replay with the exported noise differs from run_regret",
            problem.name()
        )));
    }
    Ok(())
}

/// Family name and dimension of a test function, for re-implementations outside Rust.
fn family(function: TestFunction) -> &'static str {
    match function {
        TestFunction::Branin => "branin",
        TestFunction::Hartmann3 | TestFunction::Hartmann6 => "hartmann",
        TestFunction::Ackley(_) => "ackley",
        TestFunction::Michalewicz(_) => "michalewicz",
        TestFunction::Rosenbrock(_) => "rosenbrock",
        TestFunction::StyblinskiTang(_) => "styblinski_tang",
        TestFunction::Hartmann6Simplex => "hartmann_simplex",
        TestFunction::MixedHartmann3 => "mixed_hartmann",
    }
}

/// The `--export-designs` document: every standard problem with its budget under the given
/// flags and, per seed, its initial design, the noise-free values there and the noise draws.
/// Checks on the way that the exported design is the one `run_regret` evaluates (its regret
/// curve over the initial design must match the design's values).
pub fn export_designs(
    seeds: &[u64],
    quick: bool,
    model_steps: Option<usize>,
) -> Result<Value, PlanError> {
    let mut problems = Vec::new();
    for problem in standard_problems() {
        let function = problem.function;
        let budget = super::suite::budget(&problem, quick, model_steps);
        let spread = function.output_spread();
        let optimum = function.optimum_value();
        let mut per_seed = Map::new();
        for &seed in seeds {
            let x = initial_design_points(&problem, seed)?;
            let f: Vec<f64> = x.iter().map(|p| function.value(p)).collect();
            // Consistency: run_regret over the initial design only sees these points.
            let reference = run_regret(&problem, x.len(), seed)?;
            let mut best = f64::INFINITY;
            for (i, value) in f.iter().enumerate() {
                best = best.min(*value);
                let expected = (best - optimum).max(super::REGRET_FLOOR).log10();
                if expected != reference.log10_regret[i] {
                    return Err(PlanError::Numerical(format!(
                        "{} seed {seed}: exported design differs from run_regret's at {i}",
                        problem.name()
                    )));
                }
            }
            if problem.relative_noise > 0.0 && function == TestFunction::Branin && seed == seeds[0]
            {
                check_noise_replay(&problem, seed, budget.min(x.len() + 10))?;
            }
            per_seed.insert(
                seed.to_string(),
                json!({ "x": x, "f": f, "noise": super::noise_draws(seed, budget) }),
            );
        }
        problems.push(json!({
            "name": problem.name(),
            "family": family(function),
            "dims": function.dims(),
            "bounds": function.bounds(),
            "optimum": optimum,
            "argmin": function.argmin(),
            "relative_noise": problem.relative_noise,
            "output_spread": spread,
            "noise_sd": problem.relative_noise * spread,
            "initial_design": problem.initial_design(),
            "budget": budget,
            "seeds": per_seed,
        }));
    }
    Ok(json!({
        "format": "athanor-plan bench designs v1",
        "regret_floor": super::REGRET_FLOOR,
        "quick": quick,
        "seeds": seeds,
        "problems": problems,
    }))
}
