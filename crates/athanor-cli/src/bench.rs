//! `athanor bench`: measurements that print a readable table and end with one JSON line.

use athanor_lab::campaign::{load_campaign, parse_campaign};
use athanor_lab::runner::run_campaign;
use athanor_store::Store;
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Instant;

/// The example campaign, built in so the benchmark runs from any directory.
const EXAMPLE_CAMPAIGN: &str = include_str!("../../../examples/qd-620nm.toml");

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Run a campaign for several seeds and report how often and how fast it meets its target.
    #[command(
        after_help = "Examples:\n  athanor bench campaign\n  athanor bench campaign --seeds 1,2,3,4,5,6,7,8 examples/qd-620nm.toml"
    )]
    Campaign {
        /// Campaign file (default: the built-in examples/qd-620nm.toml).
        campaign: Option<PathBuf>,
        /// Seeds to run, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
        seeds: Vec<u64>,
        /// Keep the data here (one sub-directory per seed) instead of a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Planner suite: suggestion latency (q = 1, 4) and multi-objective hypervolume of
    /// qNEHVI and ParEGO against Sobol on ZDT1 (d = 6) and Branin–Currin.
    #[command(
        after_help = "Examples:\n  athanor bench planner\n  athanor bench planner --seeds 1,2,3,4,5 --budget 40 --plot out/\n  athanor bench planner --latency-only --full-latency"
    )]
    Planner {
        /// Seeds of the multi-objective runs, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
        seeds: Vec<u64>,
        /// Experiments per multi-objective run.
        #[arg(long, default_value_t = 30)]
        budget: usize,
        /// Initial Sobol experiments before the model-based acquisitions.
        #[arg(long, default_value_t = 10)]
        initial: usize,
        /// Batch size of the model-based runs.
        #[arg(long, default_value_t = 1)]
        q: usize,
        /// Also time a suggestion with 500 observations.
        #[arg(long)]
        full_latency: bool,
        /// Only the latency table.
        #[arg(long)]
        latency_only: bool,
        /// Directory for `planner-hypervolume.svg`.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Store benchmark: bulk ingest rate, filtered search latency, export/import peak memory.
    #[command(
        after_help = "Examples:\n  athanor bench store\n  athanor bench store --records 100000\n  athanor bench store --database-url postgres://athanor@127.0.0.1/bench\n\nPrints a table and ends with one JSON line (sqlite_ingest_per_s, sqlite_search_ms,\npostgres_*, peak_rss_mib, ...). PostgreSQL runs in two fresh schemas of the given database."
    )]
    Store {
        /// Experiments to ingest (each one measurement with 10 values).
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Also run on this PostgreSQL database (postgres://user@host:port/db).
        #[arg(long)]
        database_url: Option<String>,
    },
}

/// Peak resident memory of this process so far, in MB (Linux; None elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Store {
            records,
            database_url,
        } => crate::store_bench::run(records, database_url),
        BenchCommand::Campaign {
            campaign,
            seeds,
            data_dir,
        } => bench_campaign(campaign, seeds, data_dir),
        BenchCommand::Planner {
            seeds,
            budget,
            initial,
            q,
            full_latency,
            latency_only,
            plot,
        } => {
            if budget == 0 || q == 0 || initial == 0 || seeds.is_empty() {
                anyhow::bail!("--budget, --initial and --q must be at least 1, --seeds non-empty");
            }
            crate::plan_bench::bench_planner(&crate::plan_bench::PlannerBenchOptions {
                seeds,
                budget,
                initial,
                q,
                full_latency,
                latency_only,
                plot,
            })
        }
    }
}

fn bench_campaign(
    path: Option<PathBuf>,
    seeds: Vec<u64>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let base = match &path {
        Some(p) => load_campaign(p)?,
        None => parse_campaign(EXAMPLE_CAMPAIGN, "examples/qd-620nm.toml")?,
    };
    let temp = tempfile::tempdir()?;
    let root = data_dir.unwrap_or_else(|| temp.path().to_path_buf());
    println!(
        "{:>6} {:>9} {:>11} {:>10} {:>9} {:>8} {:>8}",
        "seed", "met", "experiments", "pl_peak", "size_cv", "QY", "time_s"
    );
    let mut runs = Vec::new();
    for seed in &seeds {
        let mut campaign = base.clone();
        campaign.seed = *seed;
        let store = Store::open(&root.join(format!("seed-{seed}")))?;
        let start = Instant::now();
        let summary = run_campaign(&campaign, &store, &mut |_| {})?;
        let secs = start.elapsed().as_secs_f64();
        let prop = |k: &str| {
            summary
                .best
                .as_ref()
                .and_then(|b| b.properties.get(k))
                .map(|q| q.value)
        };
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        println!(
            "{:>6} {:>9} {:>11} {:>10} {:>9} {:>8} {:>8.1}",
            seed,
            if summary.satisfied { "yes" } else { "no" },
            summary.experiments,
            show(prop("pl_peak")),
            show(prop("size_cv")),
            show(prop("quantum_yield")),
            secs
        );
        runs.push(serde_json::json!({
            "seed": seed, "satisfied": summary.satisfied, "experiments": summary.experiments,
            "pl_peak_nm": prop("pl_peak"), "size_cv_percent": prop("size_cv"),
            "quantum_yield_percent": prop("quantum_yield"), "seconds": secs,
        }));
    }
    let met = runs.iter().filter(|r| r["satisfied"] == true).count();
    let mut met_at: Vec<u64> = runs
        .iter()
        .filter(|r| r["satisfied"] == true)
        .filter_map(|r| r["experiments"].as_u64())
        .collect();
    met_at.sort_unstable();
    let median = if met_at.is_empty() {
        None
    } else {
        Some(met_at[met_at.len() / 2])
    };
    let rss = peak_rss_mb();
    println!(
        "target met for {met} of {} seeds; median experiments to target {}; peak RSS {} MB",
        seeds.len(),
        median.map_or("-".into(), |m| m.to_string()),
        rss.map_or("?".into(), |r| format!("{r:.0}"))
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "campaign", "campaign": base.name, "seeds": seeds.len(), "seeds_target_met": met,
            "median_experiments_to_target": median, "peak_rss_mb": rss, "runs": runs,
        })
    );
    Ok(())
}
