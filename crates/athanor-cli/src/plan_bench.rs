//! `athanor bench planner`: the planner's whole benchmark suite in one command.
//!
//! * **Regret** on the single-objective suite (`athanor_plan::bench::suite`): Branin,
//!   Hartmann-3/6, Ackley-6, Michalewicz-5, Rosenbrock-6, Styblinski–Tang-8 noise-free and with
//!   2 % noise, Hartmann-6 on the simplex and a mixed categorical + continuous Hartmann-3;
//!   paired seeds, initial design `max(5, 2d)`, budget 50 (d ≤ 3) / 100; median final log10
//!   regret and area under the curve; `planner-regret.svg` plots the median (and quartile)
//!   best-so-far log10 regret curves.
//! * **Multi-objective** hypervolume (ZDT1 d = 6, Branin–Currin) of qNEHVI and ParEGO against
//!   scrambled Sobol, to a fixed reference point; `planner-hypervolume.svg`.
//! * **Latency** grid `n ∈ {20, 100, 500} × d ∈ {2, 6, 10} × q ∈ {1, 4}` (median, p95) and the
//!   peak heap of a planner holding 500 observations in 10-D while it answers one `ask()`.
//!
//! Prints tables and ends with one JSON line; `--out DIR` also writes `planner-bench.json`
//! (every curve and figure) and the two plots there.

use anyhow::Context;
use athanor_plan::bench::multi::{run_hypervolume, MultiObjectiveProblem};
use athanor_plan::bench::suite::{
    regret_figures, run_latency_suite, run_regret_suite, select_problems, ProblemRuns, FULL_SEEDS,
    LATENCY_SIZES, QUICK_SEEDS,
};
use athanor_plan::bench::{measure_latency, median, suite_problems, TestFunction};
use athanor_plan::Acquisition;
use plotters::prelude::*;
use serde_json::{json, Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Counts live and peak heap bytes while [`COUNTING`] is on, so that the memory of one planner
/// suggestion can be reported. The allocator is the whole binary's, so when counting is off
/// (every other command, e.g. the store benchmark's bulk ingest) an allocation costs one
/// relaxed load more than the system allocator's: no shared counter is written.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed while counting (negative when more was freed).
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static PEAK_BYTES: AtomicIsize = AtomicIsize::new(0);

/// Adds `change` bytes to the live count (and the peak) while counting is on.
fn count_bytes(change: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let live = LIVE_BYTES.fetch_add(change, Ordering::Relaxed) + change;
        PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count_bytes(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count_bytes(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count_bytes(-(layout.size() as isize));
    }
    // The default `realloc` allocates, copies and frees; the system allocator can often grow
    // a block in place (every growing Vec and String of a bulk ingest comes through here).
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count_bytes(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Peak memory target of the issue for n = 500, d = 10, in MB.
const PEAK_HEAP_TARGET_MB: f64 = 100.0;

/// The multi-objective problems of the suite.
const MOO_PROBLEMS: [MultiObjectiveProblem; 2] = [
    MultiObjectiveProblem::Zdt1(6),
    MultiObjectiveProblem::BraninCurrin,
];

/// Names `--problems` accepts: the single-objective suite and the multi-objective problems.
fn known_problem_names() -> Vec<String> {
    let mut names: Vec<String> = suite_problems().iter().map(|p| p.name()).collect();
    names.extend(MOO_PROBLEMS.iter().map(|p| p.name()));
    names
}

/// Clap value parser of `--problems`: an unknown name is bad input (exit code 2).
fn parse_problem_name(name: &str) -> Result<String, String> {
    let known = known_problem_names();
    if known.iter().any(|k| k == name) {
        Ok(name.to_string())
    } else {
        Err(format!("unknown problem (known: {})", known.join(", ")))
    }
}

/// Options of `athanor bench planner`.
#[derive(clap::Args, Debug, Clone)]
pub struct PlannerBenchArgs {
    /// 3 seeds, half the model-based steps, fewer latency repetitions (minutes, not hours).
    #[arg(long)]
    pub quick: bool,
    /// Paired seeds, comma-separated (default: 0–19, or 0–2 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Only these problems, comma-separated (single-objective names such as `branin`,
    /// `rosenbrock6_noisy`, `hartmann6_simplex`, `mixed_hartmann3`; `zdt1_6`, `branin_currin`).
    #[arg(long, value_delimiter = ',', value_parser = parse_problem_name)]
    pub problems: Vec<String>,
    /// Write `planner-bench.json` (all curves and figures) and the SVG plots here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the latency grid and peak memory.
    #[arg(long, conflicts_with = "no_latency")]
    pub latency_only: bool,
    /// Skip the latency grid.
    #[arg(long)]
    pub no_latency: bool,
    /// Observation counts of the latency grid, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = LATENCY_SIZES)]
    pub latency_n: Vec<usize>,
    /// Budget override for the single-objective runs: initial design + this many model steps.
    #[arg(long)]
    pub model_steps: Option<usize>,
    /// Experiments per multi-objective run.
    #[arg(long, default_value_t = 30)]
    pub moo_budget: usize,
    /// Initial Sobol experiments of the model-based multi-objective runs.
    #[arg(long, default_value_t = 10)]
    pub moo_initial: usize,
    /// Batch size of the model-based multi-objective runs.
    #[arg(long, default_value_t = 1)]
    pub moo_q: usize,
}

/// A problem's name and, per method, the median log10 hypervolume gap after each experiment.
type ProblemCurves = (String, Vec<(String, Vec<f64>)>);

/// Runs the suite.
pub fn bench_planner(args: &PlannerBenchArgs) -> anyhow::Result<()> {
    if args.moo_budget == 0 || args.moo_q == 0 || args.moo_initial == 0 {
        anyhow::bail!("--moo-budget, --moo-initial and --moo-q must be at least 1");
    }
    if args.latency_n.contains(&0) {
        anyhow::bail!("--latency-n values must be at least 1");
    }
    let seeds: Vec<u64> = if args.seeds.is_empty() {
        (0..if args.quick { QUICK_SEEDS } else { FULL_SEEDS }).collect()
    } else {
        args.seeds.clone()
    };
    let wanted = |name: &str| args.problems.is_empty() || args.problems.iter().any(|p| p == name);
    let mut figures = Map::new();
    figures.insert("bench".into(), json!("planner"));
    figures.insert("quick".into(), json!(args.quick));
    figures.insert("seeds".into(), json!(seeds.len()));
    let mut document = Map::new();
    let mut print = |line: String| println!("{line}");

    if !args.latency_only {
        // Single-objective regret.
        let selected: Vec<String> = known_single_objective(&args.problems);
        if args.problems.is_empty() || !selected.is_empty() {
            let problems = select_problems(&selected)?;
            let runs =
                run_regret_suite(&problems, &seeds, args.quick, args.model_steps, &mut print)?;
            println!();
            figures.extend(regret_figures(&runs));
            document.insert(
                "regret".into(),
                Value::Array(runs.iter().map(ProblemRuns::to_json).collect()),
            );
            if let Some(dir) = &args.out {
                let path = create_dir(dir)?.join("planner-regret.svg");
                write_regret_svg(&path, &runs)?;
                println!("plot written to {}\n", path.display());
            }
        }
        // Multi-objective hypervolume.
        let moo: Vec<MultiObjectiveProblem> = MOO_PROBLEMS
            .into_iter()
            .filter(|p| wanted(&p.name()))
            .collect();
        if !moo.is_empty() {
            let (curves, moo_doc) = run_moo(args, &seeds, &moo, &mut figures)?;
            document.insert("hypervolume".into(), moo_doc);
            if let Some(dir) = &args.out {
                let path = create_dir(dir)?.join("planner-hypervolume.svg");
                write_gap_svg(&path, &curves)?;
                println!("plot written to {}\n", path.display());
            }
        }
    }

    if args.latency_only || !args.no_latency {
        let (cells, latency) = run_latency_suite(&args.latency_n, args.quick, &mut print)?;
        figures.extend(latency);
        document.insert(
            "latency".into(),
            Value::Array(
                cells
                    .iter()
                    .map(|c| {
                        json!({
                            "function": c.function.name(), "d": c.function.dims(), "n": c.n,
                            "q": c.q, "repetitions": c.repetitions,
                            "median_ms": c.latency.median_ms, "p95_ms": c.latency.p95_ms,
                        })
                    })
                    .collect(),
            ),
        );
        if let Some(&n) = args.latency_n.iter().max() {
            let peak_mb = peak_heap_of_one_ask(n)?;
            println!(
                "peak heap of a planner with n = {n}, d = 10 and its ask(): {peak_mb:.1} MB \
                 (target ≤ {PEAK_HEAP_TARGET_MB} MB at n = 500)"
            );
            figures.insert(format!("peak_heap_mb_n{n}_d10"), json!(peak_mb));
        }
        println!();
    }

    if let Some(dir) = &args.out {
        let mut full = document;
        full.insert("figures".into(), Value::Object(figures.clone()));
        full.insert("seed_list".into(), json!(seeds));
        let path = create_dir(dir)?.join("planner-bench.json");
        std::fs::write(&path, serde_json::to_string_pretty(&Value::Object(full))?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("results written to {}", path.display());
    }
    println!("{}", Value::Object(figures));
    Ok(())
}

/// The single-objective names among `--problems` (empty when none is, or none was given).
fn known_single_objective(problems: &[String]) -> Vec<String> {
    let single: Vec<String> = suite_problems().iter().map(|p| p.name()).collect();
    problems
        .iter()
        .filter(|p| single.contains(p))
        .cloned()
        .collect()
}

fn create_dir(dir: &Path) -> anyhow::Result<&Path> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Peak heap, in MB, while a planner is given `n` observations of Ackley-10 and answers one
/// `ask()` (the planner's state included).
fn peak_heap_of_one_ask(n: usize) -> anyhow::Result<f64> {
    LIVE_BYTES.store(0, Ordering::Relaxed);
    PEAK_BYTES.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    let measured = measure_latency(TestFunction::Ackley(10), n, 1);
    COUNTING.store(false, Ordering::Relaxed);
    measured?;
    Ok(PEAK_BYTES.load(Ordering::Relaxed).max(0) as f64 / 1e6)
}

/// Runs the multi-objective problems; returns the median gap curves for the plot and the JSON
/// section (per seed hypervolume traces).
fn run_moo(
    args: &PlannerBenchArgs,
    seeds: &[u64],
    problems: &[MultiObjectiveProblem],
    figures: &mut Map<String, Value>,
) -> anyhow::Result<(Vec<ProblemCurves>, Value)> {
    println!(
        "Hypervolume after {} experiments ({} Sobol, then q = {}), median over {} seeds",
        args.moo_budget,
        args.moo_initial,
        args.moo_q,
        seeds.len()
    );
    println!(
        "{:<16} {:<8} {:>12} {:>12} {:>10}",
        "problem", "method", "hypervolume", "of maximum", "log10 gap"
    );
    let mut curves: Vec<ProblemCurves> = Vec::new();
    let mut doc = Vec::new();
    for &problem in problems {
        // qNEHVI is told the reference point the hypervolume is measured against, as BoTorch's
        // qLogNEHVI is in the peer comparison (bench/peers/run_peers_mo.py).
        let methods: [(&str, Option<Acquisition>); 3] = [
            ("sobol", None),
            ("parego", Some(Acquisition::ParEgo { rho: 0.05 })),
            (
                "qnehvi",
                Some(Acquisition::Nehvi {
                    reference: Some(problem.reference().to_vec()),
                }),
            ),
        ];
        let mut problem_curves = Vec::new();
        let mut method_doc = Map::new();
        for (name, acquisition) in &methods {
            let mut runs = Vec::new();
            for &seed in seeds {
                runs.push(run_hypervolume(
                    problem,
                    acquisition.clone(),
                    args.moo_budget,
                    args.moo_initial,
                    args.moo_q,
                    seed,
                )?);
            }
            let max = problem.max_hypervolume();
            let gap_curve: Vec<f64> = (0..args.moo_budget)
                .map(|i| {
                    let mut gaps: Vec<f64> = runs
                        .iter()
                        .map(|r| (max - r[i]).max(1e-9).log10())
                        .collect();
                    median(&mut gaps)
                })
                .collect();
            let mut finals: Vec<f64> = runs.iter().map(|r| r[r.len() - 1]).collect();
            let hv = median(&mut finals);
            println!(
                "{:<16} {:<8} {:>12.4} {:>11.1}% {:>10.3}",
                problem.name(),
                name,
                hv,
                100.0 * hv / max,
                (max - hv).max(1e-9).log10()
            );
            figures.insert(format!("{}_{name}_hypervolume", problem.name()), json!(hv));
            method_doc.insert(
                name.to_string(),
                json!({ "median_hypervolume": hv, "median_log10_gap_curve": gap_curve,
                        "hypervolume_traces": runs }),
            );
            problem_curves.push((name.to_string(), gap_curve));
        }
        doc.push(json!({
            "name": problem.name(),
            "reference": problem.reference(),
            "max_hypervolume": problem.max_hypervolume(),
            "methods": method_doc,
        }));
        curves.push((problem.name(), problem_curves));
    }
    println!();
    Ok((curves, Value::Array(doc)))
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(120, 120, 120),
    RGBColor(40, 110, 200),
    RGBColor(210, 80, 40),
    RGBColor(40, 160, 80),
];

/// Value range of some curves, padded, with a fallback for empty or flat data.
fn value_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo.is_finite() && hi > lo {
        (lo - 0.1, hi + 0.1)
    } else if lo.is_finite() {
        (lo - 1.0, lo + 1.0)
    } else {
        (0.0, 1.0)
    }
}

/// One panel per problem (three per row): median best-so-far log10 regret against the
/// evaluation number, with the quartiles over seeds as thin lines and the end of the initial
/// design marked.
fn write_regret_svg(path: &Path, runs: &[ProblemRuns]) -> anyhow::Result<()> {
    const COLUMNS: usize = 3;
    let rows = runs.len().div_ceil(COLUMNS).max(1);
    let root = SVGBackend::new(path, (1200, 300 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for (r, area) in runs.iter().zip(root.split_evenly((rows, COLUMNS))) {
        let median = r.quantile_curve(0.5);
        let (q25, q75) = (r.quantile_curve(0.25), r.quantile_curve(0.75));
        let (lo, hi) = value_range(q25.iter().chain(&q75).copied());
        let n = r.budget.max(2);
        let mut chart = ChartBuilder::on(&area)
            .caption(r.problem.name(), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(1f64..n as f64, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("evaluation")
            .y_desc("log10 regret")
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        let points = |c: &[f64]| -> Vec<(f64, f64)> {
            c.iter()
                .enumerate()
                .map(|(k, v)| ((k + 1) as f64, *v))
                .collect()
        };
        let init = r.problem.initial_design() as f64;
        chart.draw_series(LineSeries::new(
            [(init, lo), (init, hi)],
            RGBColor(200, 200, 200).stroke_width(1),
        ))?;
        for quartile in [&q25, &q75] {
            chart.draw_series(LineSeries::new(points(quartile), COLOURS[1].mix(0.4)))?;
        }
        chart.draw_series(LineSeries::new(points(&median), COLOURS[1].stroke_width(2)))?;
    }
    root.present()
        .with_context(|| format!("writing the plot {}", path.display()))?;
    Ok(())
}

/// One panel per problem: median log10 hypervolume gap against the experiment number.
fn write_gap_svg(path: &Path, curves: &[ProblemCurves]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (960, 320 * curves.len().max(1) as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for ((problem, methods), area) in curves.iter().zip(root.split_evenly((curves.len(), 1))) {
        let (lo, hi) = value_range(methods.iter().flat_map(|(_, c)| c.iter().copied()));
        let n = methods.first().map_or(1, |(_, c)| c.len()).max(2);
        let mut chart = ChartBuilder::on(&area)
            .caption(problem, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(1f64..n as f64, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("experiment")
            .y_desc("log10(HV* − HV), median")
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        for (i, (name, curve)) in methods.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    curve.iter().enumerate().map(|(k, v)| ((k + 1) as f64, *v)),
                    colour.stroke_width(2),
                ))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()
        .with_context(|| format!("writing the plot {}", path.display()))?;
    Ok(())
}
