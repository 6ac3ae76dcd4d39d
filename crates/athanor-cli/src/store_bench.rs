//! `athanor bench store`: ingest rate, filtered search latency and export/import peak memory of
//! the store (see `athanor_store::bench`), as a table and a final JSON line.

use athanor_store::bench::{run_store_bench, SEARCH_FILTER};
use athanor_store::StoreConfig;

/// Targets from the issue: ingest (SQLite / PostgreSQL), search latency, peak memory.
const SQLITE_INGEST_TARGET: f64 = 20_000.0;
const POSTGRES_INGEST_TARGET: f64 = 10_000.0;
const SEARCH_TARGET_MS: f64 = 200.0;
const PEAK_MEMORY_TARGET_MIB: f64 = 500.0;

/// Runs the benchmark on SQLite and, with `database_url`, on PostgreSQL (in fresh schemas).
pub fn run(records: u64, database_url: Option<String>) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let mut figures = serde_json::Map::new();
    figures.insert("bench".into(), "store".into());
    figures.insert("records".into(), records.into());
    println!("athanor bench store: {records} experiments, each one measurement with 10 values");
    println!("search filter: {SEARCH_FILTER}\n");
    println!(
        "{:<10} {:>14} {:>11} {:>7} {:>10} {:>10} {:>12}",
        "backend", "ingest/s", "search ms", "hits", "export s", "import s", "peak MiB"
    );
    let mut configs = vec![(
        "sqlite",
        StoreConfig::sqlite(work.path().join("sqlite-a")),
        StoreConfig::sqlite(work.path().join("sqlite-b")),
    )];
    if let Some(url) = database_url {
        let suffix = std::process::id();
        configs.push((
            "postgres",
            StoreConfig::postgres(url.clone(), work.path().join("pg-a"))
                .with_postgres_schema(format!("athanor_bench_a_{suffix}")),
            StoreConfig::postgres(url, work.path().join("pg-b"))
                .with_postgres_schema(format!("athanor_bench_b_{suffix}")),
        ));
    }
    let mut all_met = true;
    for (name, config, import_config) in configs {
        let report = run_store_bench(&config, &import_config, work.path(), records)?;
        let peak = report.peak_rss_mib.unwrap_or(f64::NAN);
        println!(
            "{:<10} {:>14.0} {:>11.2} {:>7} {:>10.2} {:>10.2} {:>12.1}",
            name,
            report.ingest_per_s,
            report.search_ms,
            report.search_hits,
            report.export_s,
            report.import_s,
            peak
        );
        let ingest_target = if name == "sqlite" {
            SQLITE_INGEST_TARGET
        } else {
            POSTGRES_INGEST_TARGET
        };
        all_met &= report.ingest_per_s >= ingest_target
            && report.search_ms <= SEARCH_TARGET_MS
            && report
                .peak_rss_mib
                .is_none_or(|p| p <= PEAK_MEMORY_TARGET_MIB);
        figures.insert(format!("{name}_ingest_per_s"), report.ingest_per_s.into());
        figures.insert(format!("{name}_search_ms"), report.search_ms.into());
        figures.insert(format!("{name}_search_hits"), report.search_hits.into());
        figures.insert(format!("{name}_export_s"), report.export_s.into());
        figures.insert(format!("{name}_import_s"), report.import_s.into());
        figures.insert(format!("{name}_export_bytes"), report.export_bytes.into());
        figures.insert("peak_rss_mib".into(), report.peak_rss_mib.into());
    }
    println!(
        "\ntargets: ingest >= {SQLITE_INGEST_TARGET}/s (SQLite), >= {POSTGRES_INGEST_TARGET}/s \
         (PostgreSQL); search <= {SEARCH_TARGET_MS} ms; export+import peak <= \
         {PEAK_MEMORY_TARGET_MIB} MiB (process VmHWM); lineage: not measured yet"
    );
    figures.insert("targets_met".into(), all_met.into());
    figures.insert("lineage_ms".into(), serde_json::Value::Null);
    println!("{}", serde_json::Value::Object(figures));
    Ok(())
}
