//! Side-by-side benchmark of the planner: regret on the standard synthetic suite and
//! per-suggestion latency, printed as tables and, on the last line, as one JSON object.
//!
//! ```text
//! cargo run --release -p athanor-plan --example bench -- [--quick] [--out DIR]
//! ```
//!
//! * regret: per problem, the median over seeds of the final best-so-far log10 regret and of
//!   the area under the log10 regret curve (see `athanor_plan::bench`);
//! * latency: median and 95th percentile of one `ask()` for n ∈ {20, 100, 500} observations and
//!   d ∈ {2, 6, 10} (Branin, Hartmann-6, Ackley-10), q = 1, one thread;
//! * memory: peak heap allocated during one `ask()` with n = 500, d = 10 (a counting allocator).
//!
//! `--quick` runs 3 seeds with half the model-based steps; `--out DIR` also writes
//! `bench.json` and the per-seed regret curves (`curves.json`) there. `--regret-only`,
//! `--latency-only` and `--model-steps N` (budget = initial design + N) narrow a run down.
//!
//! `--export-designs FILE` writes, for the peer-comparison harness in `bench/peers/`, every
//! problem's definition (function, bounds, `f*`, noise level, budget under the same flags) and,
//! per seed, the exact initial design the planner evaluates first, the noise-free values there
//! (so a re-implementation of the test functions can be checked) and the standard-normal noise
//! draws `z_i` of the run: evaluation `i` (0-based, initial design included) observes
//! `f(x_i) + noise_sd · z_i`. `--export-only` writes that file and skips the benchmark itself.

use athanor_plan::bench::{
    measure_batch_latency, measure_latency, median, run_regret, standard_problems, Problem,
    TestFunction,
};
use serde_json::{json, Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live and peak heap bytes so the memory of one `ask()` can be reported.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct Options {
    quick: bool,
    out: Option<std::path::PathBuf>,
    regret: bool,
    latency: bool,
    /// Overrides the budget: this many model-based steps after the initial design.
    model_steps: Option<usize>,
    /// Where to write the problems, initial designs and noise draws for peer planners.
    export_designs: Option<std::path::PathBuf>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        out: None,
        regret: true,
        latency: true,
        model_steps: None,
        export_designs: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => {
                let dir = args.next().ok_or("--out needs a directory")?;
                options.out = Some(dir.into());
            }
            "--latency-only" => options.regret = false,
            "--regret-only" => options.latency = false,
            "--model-steps" => {
                let steps = args.next().ok_or("--model-steps needs a number")?;
                let steps = steps
                    .parse()
                    .map_err(|_| format!("--model-steps: `{steps}` is not a count"))?;
                options.model_steps = Some(steps);
            }
            "--export-designs" => {
                let file = args.next().ok_or("--export-designs needs a file name")?;
                options.export_designs = Some(file.into());
            }
            "--export-only" => {
                options.regret = false;
                options.latency = false;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn budget(problem: &Problem, quick: bool, model_steps: Option<usize>) -> usize {
    if let Some(steps) = model_steps {
        return problem.initial_design() + steps;
    }
    let full = problem.standard_budget();
    if quick {
        // Half the model-based steps: enough to separate good from bad, small enough for
        // < 2 minutes.
        let init = problem.initial_design();
        init + (full - init) / 2
    } else {
        full
    }
}

fn main() {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let mut figures = Map::new();
    let mut curves = Map::new();
    figures.insert("quick".into(), json!(options.quick));
    let seeds: Vec<u64> = if options.quick {
        (0..3).collect()
    } else {
        (0..10).collect()
    };

    if let Some(file) = &options.export_designs {
        let exported = export_designs(&seeds, options.quick, options.model_steps)
            .and_then(|doc| std::fs::write(file, doc.to_string()).map_err(|e| e.to_string()));
        match exported {
            Ok(()) => println!(
                "wrote problems, initial designs and noise to {}",
                file.display()
            ),
            Err(e) => {
                eprintln!("bench: --export-designs {}: {e}", file.display());
                std::process::exit(1);
            }
        }
    }

    if options.regret {
        println!(
            "Regret ({} seeds; best-so-far log10 regret of the noise-free function)",
            seeds.len()
        );
        println!(
            "{:<22} {:>3} {:>7} {:>14} {:>10} {:>10}",
            "problem", "d", "budget", "median final", "median AUC", "ask ms"
        );
        for problem in standard_problems() {
            let budget = budget(&problem, options.quick, options.model_steps);
            let mut finals = Vec::new();
            let mut aucs = Vec::new();
            let mut ask_ms = Vec::new();
            let mut problem_curves = Vec::new();
            for &seed in &seeds {
                match run_regret(&problem, budget, seed) {
                    Ok(run) => {
                        finals.push(run.final_log10_regret());
                        aucs.push(run.area_under_curve());
                        ask_ms.push(run.mean_ask_ms);
                        problem_curves.push(json!(run.log10_regret));
                    }
                    Err(e) => eprintln!("{} seed {seed}: {e}", problem.name()),
                }
            }
            let (final_median, auc_median, ask_median) =
                (median(&mut finals), median(&mut aucs), median(&mut ask_ms));
            println!(
                "{:<22} {:>3} {:>7} {:>14.3} {:>10.3} {:>10.1}",
                problem.name(),
                problem.function.dims(),
                budget,
                final_median,
                auc_median,
                ask_median
            );
            let name = problem.name();
            figures.insert(
                format!("{name}_median_final_log10_regret"),
                json!(final_median),
            );
            figures.insert(format!("{name}_auc"), json!(auc_median));
            curves.insert(name, Value::Array(problem_curves));
        }
        println!();
    }

    if options.latency {
        let repetitions = |n: usize| match (options.quick, n) {
            (true, 500) => 2,
            (true, _) => 5,
            (false, 500) => 5,
            (false, 100) => 11,
            (false, _) => 21,
        };
        println!("Latency of one ask() (q = 1, one thread), milliseconds");
        println!(
            "{:<12} {:>5} {:>10} {:>10}",
            "function", "n", "median", "p95"
        );
        for function in [
            TestFunction::Branin,
            TestFunction::Hartmann6,
            TestFunction::Ackley(10),
        ] {
            for n in [20, 100, 500] {
                match measure_latency(function, n, repetitions(n)) {
                    Ok(l) => {
                        println!(
                            "{:<12} {:>5} {:>10.2} {:>10.2}",
                            function.name(),
                            n,
                            l.median_ms,
                            l.p95_ms
                        );
                        let key = format!("{}_n{n}_q1", function.name());
                        figures.insert(format!("{key}_median_ms"), json!(l.median_ms));
                        figures.insert(format!("{key}_p95_ms"), json!(l.p95_ms));
                    }
                    Err(e) => eprintln!("{} n={n}: {e}", function.name()),
                }
            }
        }
        println!("Latency of one ask_batch(4) (qLogNEI, one thread), milliseconds");
        for (function, n) in [
            (TestFunction::Hartmann6, 20),
            (TestFunction::Hartmann6, 100),
        ] {
            match measure_batch_latency(function, n, 4, repetitions(n)) {
                Ok(l) => {
                    println!(
                        "{:<12} {:>5} {:>10.2} {:>10.2}",
                        function.name(),
                        n,
                        l.median_ms,
                        l.p95_ms
                    );
                    let key = format!("{}_n{n}_q4", function.name());
                    figures.insert(format!("{key}_median_ms"), json!(l.median_ms));
                    figures.insert(format!("{key}_p95_ms"), json!(l.p95_ms));
                }
                Err(e) => eprintln!("{} n={n} q=4: {e}", function.name()),
            }
        }
        // Peak heap during one ask() at n = 500, d = 10 (the planner's state included).
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        if measure_latency(TestFunction::Ackley(10), 500, 1).is_ok() {
            let peak_mb = (PEAK.load(Ordering::Relaxed) - before) as f64 / 1e6;
            println!("peak heap of a planner with n = 500, d = 10 and its ask(): {peak_mb:.1} MB");
            figures.insert("ackley10_n500_peak_heap_mb".into(), json!(peak_mb));
        }
        println!();
    }

    let line = Value::Object(figures).to_string();
    if let Some(dir) = &options.out {
        let written = std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(dir.join("bench.json"), &line))
            .and_then(|_| {
                std::fs::write(dir.join("curves.json"), Value::Object(curves).to_string())
            });
        if let Err(e) = written {
            eprintln!("bench: could not write to {}: {e}", dir.display());
        }
    }
    println!("{line}");
}

/// The first `problem.initial_design()` points the planner evaluates for `seed`: asked from a
/// planner configured exactly as in `run_regret` (the design depends only on the seed and the
/// number of observations, so telling noise-free values does not change it).
pub fn initial_design_points(
    problem: &Problem,
    seed: u64,
) -> Result<Vec<Vec<f64>>, athanor_plan::PlanError> {
    use athanor_plan::{Objective, ObjectiveGoal, Observation, Planner, PlannerConfig};
    let function = problem.function;
    let mut planner = Planner::new(PlannerConfig {
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
fn check_noise_replay(problem: &Problem, seed: u64, budget: usize) -> Result<(), String> {
    use athanor_plan::{Objective, ObjectiveGoal, Observation, Planner, PlannerConfig};
    let function = problem.function;
    let noise_sd = problem.relative_noise * function.output_spread();
    let mut planner = Planner::new(PlannerConfig {
        parameters: function.parameters(),
        objectives: vec![Objective::new("f", ObjectiveGoal::Minimize)],
        initial_design: problem.initial_design(),
        seed,
    })
    .map_err(|e| e.to_string())?;
    let mut best = f64::INFINITY;
    let mut curve = Vec::with_capacity(budget);
    for z in athanor_plan::bench::noise_draws(seed, budget) {
        let x = planner.ask().map_err(|e| e.to_string())?.x;
        let truth = function.value(&x);
        best = best.min(truth);
        let regret = best - function.optimum_value();
        curve.push(regret.max(athanor_plan::bench::REGRET_FLOOR).log10());
        planner
            .tell(Observation {
                x,
                y: vec![Some(truth + noise_sd * z)],
                failed: false,
            })
            .map_err(|e| e.to_string())?;
    }
    let reference = run_regret(problem, budget, seed).map_err(|e| e.to_string())?;
    if reference.log10_regret != curve {
        return Err(format!(
            "{} seed {seed}: replay with the exported noise differs from run_regret",
            problem.name()
        ));
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
) -> Result<Value, String> {
    let mut problems = Vec::new();
    for problem in standard_problems() {
        let function = problem.function;
        let budget = budget(&problem, quick, model_steps);
        let spread = function.output_spread();
        let optimum = function.optimum_value();
        let mut per_seed = Map::new();
        for &seed in seeds {
            let x = initial_design_points(&problem, seed).map_err(|e| e.to_string())?;
            let f: Vec<f64> = x.iter().map(|p| function.value(p)).collect();
            // Consistency: run_regret over the initial design only sees these points.
            let reference = run_regret(&problem, x.len(), seed).map_err(|e| e.to_string())?;
            let mut best = f64::INFINITY;
            for (i, value) in f.iter().enumerate() {
                best = best.min(*value);
                let expected = (best - optimum)
                    .max(athanor_plan::bench::REGRET_FLOOR)
                    .log10();
                if expected != reference.log10_regret[i] {
                    return Err(format!(
                        "{} seed {seed}: exported design differs from run_regret's at {i}",
                        problem.name()
                    ));
                }
            }
            if problem.relative_noise > 0.0 && function == TestFunction::Branin && seed == seeds[0]
            {
                check_noise_replay(&problem, seed, budget.min(x.len() + 10))?;
            }
            per_seed.insert(
                seed.to_string(),
                json!({ "x": x, "f": f, "noise": athanor_plan::bench::noise_draws(seed, budget) }),
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
        "regret_floor": athanor_plan::bench::REGRET_FLOOR,
        "quick": quick,
        "seeds": seeds,
        "problems": problems,
    }))
}
