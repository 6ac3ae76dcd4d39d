//! `athanor bench planner`: the planner's benchmark suite — suggestion latency for q ∈ {1, 4}
//! and multi-objective hypervolume (ZDT1, Branin–Currin) of qNEHVI and ParEGO against the
//! scrambled-Sobol baseline. Prints tables, optionally writes an SVG of the hypervolume gap,
//! and ends with one JSON line.

use anyhow::Context;
use athanor_plan::bench::multi::{run_hypervolume, MultiObjectiveProblem};
use athanor_plan::bench::{measure_batch_latency, median, TestFunction};
use athanor_plan::Acquisition;
use plotters::prelude::*;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// A problem's name and, per method, the median log10 hypervolume gap after each experiment.
type ProblemCurves = (String, Vec<(String, Vec<f64>)>);

/// Options of `athanor bench planner`.
pub struct PlannerBenchOptions {
    /// Seeds of the multi-objective runs.
    pub seeds: Vec<u64>,
    /// Experiments per multi-objective run.
    pub budget: usize,
    /// Initial Sobol experiments of the model-based runs.
    pub initial: usize,
    /// Batch size of the model-based multi-objective runs.
    pub q: usize,
    /// Also time n = 500 observations (slow to set up).
    pub full_latency: bool,
    /// Skip the multi-objective runs.
    pub latency_only: bool,
    /// Write `planner-hypervolume.svg` here.
    pub plot: Option<PathBuf>,
}

/// Runs the suite.
pub fn bench_planner(options: &PlannerBenchOptions) -> anyhow::Result<()> {
    let mut figures = Map::new();
    println!("Suggestion latency (one thread), milliseconds");
    println!(
        "{:<12} {:>5} {:>3} {:>10} {:>10}",
        "function", "n", "q", "median", "p95"
    );
    let mut cases = vec![(20, 1, 7), (20, 4, 7)];
    if options.full_latency {
        cases.push((500, 1, 3));
    }
    for (n, q, reps) in cases {
        let l = measure_batch_latency(TestFunction::Hartmann6, n, q, reps)?;
        println!(
            "{:<12} {:>5} {:>3} {:>10.2} {:>10.2}",
            "hartmann6", n, q, l.median_ms, l.p95_ms
        );
        figures.insert(format!("hartmann6_n{n}_q{q}_median_ms"), json!(l.median_ms));
    }
    println!();
    if !options.latency_only {
        let methods: [(&str, Option<Acquisition>); 3] = [
            ("sobol", None),
            ("parego", Some(Acquisition::ParEgo { rho: 0.05 })),
            ("qnehvi", Some(Acquisition::Nehvi { reference: None })),
        ];
        let problems = [
            MultiObjectiveProblem::Zdt1(6),
            MultiObjectiveProblem::BraninCurrin,
        ];
        println!(
            "Hypervolume after {} experiments ({} Sobol, then q = {}), median over {} seeds",
            options.budget,
            options.initial,
            options.q,
            options.seeds.len()
        );
        println!(
            "{:<16} {:<8} {:>12} {:>12} {:>10}",
            "problem", "method", "hypervolume", "of maximum", "log10 gap"
        );
        let mut curves: Vec<ProblemCurves> = Vec::new();
        for problem in problems {
            let mut problem_curves = Vec::new();
            for (name, acquisition) in &methods {
                let mut runs = Vec::new();
                for &seed in &options.seeds {
                    runs.push(run_hypervolume(
                        problem,
                        acquisition.clone(),
                        options.budget,
                        options.initial,
                        options.q,
                        seed,
                    )?);
                }
                let max = problem.max_hypervolume();
                let gap_curve: Vec<f64> = (0..options.budget)
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
                problem_curves.push((name.to_string(), gap_curve));
            }
            curves.push((problem.name(), problem_curves));
        }
        if let Some(dir) = &options.plot {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join("planner-hypervolume.svg");
            write_gap_svg(&path, &curves)?;
            println!("plot written to {}", path.display());
        }
        println!();
    }
    let mut line = Map::new();
    line.insert("bench".into(), json!("planner"));
    line.extend(figures);
    println!("{}", Value::Object(line));
    Ok(())
}

/// One panel per problem: median log10 hypervolume gap against the experiment number.
fn write_gap_svg(path: &Path, curves: &[ProblemCurves]) -> anyhow::Result<()> {
    const COLOURS: [RGBColor; 4] = [
        RGBColor(120, 120, 120),
        RGBColor(40, 110, 200),
        RGBColor(210, 80, 40),
        RGBColor(40, 160, 80),
    ];
    let root = SVGBackend::new(path, (960, 320 * curves.len().max(1) as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    for ((problem, methods), area) in curves.iter().zip(root.split_evenly((curves.len(), 1))) {
        let values = methods.iter().flat_map(|(_, c)| c.iter().copied());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() && hi > lo {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        let n = methods.first().map_or(1, |(_, c)| c.len()).max(1);
        let mut chart = ChartBuilder::on(&area)
            .caption(problem, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(1f64..n as f64, (lo - 0.1)..(hi + 0.1))?;
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
