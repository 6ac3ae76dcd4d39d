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
    /// Planner suite: regret curves on the single-objective problems (incl. a simplex mixture
    /// and a mixed categorical one), multi-objective hypervolume (ZDT1, Branin–Currin) and the
    /// latency grid n × d × q with peak memory.
    #[command(
        after_help = "Examples:\n  athanor bench planner --quick --out bench-out/\n  athanor bench planner --problems rosenbrock6,styblinski_tang8 --seeds 0,1,2,3,4\n  athanor bench planner --latency-only\n  athanor bench planner --problems zdt1_6,branin_currin --moo-budget 40 --moo-q 4\n\nThe full run (20 seeds) takes hours; --quick takes minutes. Prints tables and ends with one\nJSON line ({problem}_median_final_log10_regret, {problem}_auc, {problem}_{method}_hypervolume,\nlatency_d{d}_n{n}_q{q}_median_ms / _p95_ms, peak_heap_mb_n500_d10)."
    )]
    Planner(crate::plan_bench::PlannerBenchArgs),
    /// Store benchmark: bulk ingest rate, filtered search latency, export/import peak memory,
    /// lineage latency over a large provenance graph.
    #[command(
        after_help = "Examples:\n  athanor bench store            # the issue's full run: 1 000 000 records\n  athanor bench store --quick    # 20 000 records, seconds\n  athanor bench store --records 100000\n  athanor bench store --records 100000 --format parquet\n  athanor bench store --database-url postgres://athanor@127.0.0.1/bench\n\nPrints a table and ends with one JSON line (sqlite_ingest_per_s, sqlite_search_ms,\nsqlite_lineage_ms, sqlite_export_peak_rss_mib, sqlite_import_peak_rss_mib, postgres_*,\npeak_rss_mib, lineage_ms, targets_met, ...). PostgreSQL\nruns in two fresh schemas of the given database (athanor_bench_a_PID, _b_PID; drop them\nafterwards)."
    )]
    Store {
        /// Experiments to ingest (each one measurement with 10 values); also the number of
        /// provenance records in the lineage graph. Default 1 000 000 (20 000 with --quick).
        #[arg(long)]
        records: Option<u64>,
        /// A fast run (20 000 records) instead of the full one.
        #[arg(long, conflicts_with = "records")]
        quick: bool,
        /// Also run on this PostgreSQL database (postgres://user@host:port/db).
        #[arg(long)]
        database_url: Option<String>,
        /// File format of the export/import step: json (exchange format) or parquet.
        #[arg(long, default_value = "json", value_parser = ["json", "parquet"])]
        format: String,
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
            quick,
            database_url,
            format,
        } => {
            let records = records.unwrap_or(if quick { 20_000 } else { 1_000_000 });
            crate::store_bench::run(records, database_url, &format)
        }
        BenchCommand::Campaign {
            campaign,
            seeds,
            data_dir,
        } => bench_campaign(campaign, seeds, data_dir),
        BenchCommand::Planner(args) => crate::plan_bench::bench_planner(&args),
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
