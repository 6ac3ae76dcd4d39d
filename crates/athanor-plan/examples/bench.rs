//! Thin wrapper over `athanor_plan::bench::suite` for runs without the CLI: regret on the
//! single-objective suite and the latency grid, printed as tables and, on the last line, as
//! one JSON object. The full suite (with multi-objective hypervolume, plots and peak memory)
//! is `athanor bench planner`.
//!
//! ```text
//! cargo run --release -p athanor-plan --example bench -- [--quick] [--out DIR]
//! ```
//!
//! `--quick` runs 3 seeds (else 20) with half the model-based steps; `--out DIR` also writes
//! `bench.json` and the per-seed regret curves (`curves.json`) there. `--regret-only`,
//! `--latency-only` and `--model-steps N` (budget = initial design + N) narrow a run down;
//! `--problems a,b` runs only the named regret problems and `--seeds N` the first `N` seeds
//! (seeds `0 … N−1`, paired with the same seeds of the exported designs).
//!
//! `--export-designs FILE` writes, for the peer-comparison harness in `bench/peers/`, the
//! problems, initial designs and noise draws (see `athanor_plan::bench::export`);
//! `--export-only` writes that file and skips the benchmark itself.

use athanor_plan::bench::export::export_designs;
use athanor_plan::bench::suite::{
    regret_figures, run_latency_suite, run_regret_suite, select_problems, FULL_SEEDS,
    LATENCY_SIZES, QUICK_SEEDS,
};
use serde_json::{json, Map, Value};

struct Options {
    quick: bool,
    out: Option<std::path::PathBuf>,
    regret: bool,
    latency: bool,
    model_steps: Option<usize>,
    export_designs: Option<std::path::PathBuf>,
    problems: Vec<String>,
    seeds: Option<u64>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        out: None,
        regret: true,
        latency: true,
        model_steps: None,
        export_designs: None,
        problems: Vec::new(),
        seeds: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => options.out = Some(args.next().ok_or("--out needs a directory")?.into()),
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
            "--problems" => {
                let names = args
                    .next()
                    .ok_or("--problems needs a comma-separated list")?;
                options.problems = names.split(',').map(str::to_string).collect();
            }
            "--seeds" => {
                let count = args.next().ok_or("--seeds needs a number")?;
                let count = count
                    .parse()
                    .map_err(|_| format!("--seeds: `{count}` is not a count"))?;
                options.seeds = Some(count);
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

fn main() {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&options) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    let default_seeds = if options.quick {
        QUICK_SEEDS
    } else {
        FULL_SEEDS
    };
    let seeds: Vec<u64> = (0..options.seeds.unwrap_or(default_seeds)).collect();
    let mut figures = Map::new();
    figures.insert("quick".into(), json!(options.quick));
    let mut print = |line: String| println!("{line}");
    if let Some(file) = &options.export_designs {
        let doc = export_designs(&seeds, options.quick, options.model_steps)
            .map_err(|e| e.to_string())?;
        std::fs::write(file, doc.to_string())
            .map_err(|e| format!("--export-designs {}: {e}", file.display()))?;
        println!(
            "wrote problems, initial designs and noise to {}",
            file.display()
        );
    }
    let mut curves = Map::new();
    if options.regret {
        let problems = select_problems(&options.problems).map_err(|e| e.to_string())?;
        let runs = run_regret_suite(
            &problems,
            &seeds,
            options.quick,
            options.model_steps,
            &mut print,
        )
        .map_err(|e| e.to_string())?;
        figures.extend(regret_figures(&runs));
        for r in &runs {
            curves.insert(r.problem.name(), json!(r.curves));
        }
        println!();
    }
    if options.latency {
        let (_, latency) = run_latency_suite(&LATENCY_SIZES, options.quick, &mut print)
            .map_err(|e| e.to_string())?;
        figures.extend(latency);
        println!();
    }
    let line = Value::Object(figures).to_string();
    if let Some(dir) = &options.out {
        std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(dir.join("bench.json"), &line))
            .and_then(|_| {
                std::fs::write(dir.join("curves.json"), Value::Object(curves).to_string())
            })
            .map_err(|e| format!("could not write to {}: {e}", dir.display()))?;
    }
    println!("{line}");
    Ok(())
}
