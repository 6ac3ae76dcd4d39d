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

use athanor_plan::bench::{
    measure_latency, median, run_regret, standard_problems, Problem, TestFunction,
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
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        out: None,
        regret: true,
        latency: true,
        model_steps: None,
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

    if options.regret {
        let seeds: Vec<u64> = if options.quick {
            (0..3).collect()
        } else {
            (0..10).collect()
        };
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
