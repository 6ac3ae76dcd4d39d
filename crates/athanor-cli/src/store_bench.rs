//! `athanor bench store`: ingest rate, filtered search latency, export/import peak memory and
//! lineage latency of the store (see `athanor_store::bench`), as a table and a final JSON line.

use athanor_store::bench::{run_store_bench_with, TransferFormat, LINEAGE_DEPTH, SEARCH_FILTER};
use athanor_store::StoreConfig;

/// Targets from the issue: ingest (SQLite / PostgreSQL), search latency, peak memory, lineage.
const SQLITE_INGEST_TARGET: f64 = 20_000.0;
const POSTGRES_INGEST_TARGET: f64 = 10_000.0;
const SEARCH_TARGET_MS: f64 = 200.0;
const PEAK_MEMORY_TARGET_MIB: f64 = 500.0;
const LINEAGE_TARGET_MS: f64 = 50.0;

/// Runs the benchmark on SQLite and, with `database_url`, on PostgreSQL (in fresh schemas);
/// `format` ("json" or "parquet") is the file format of the export/import step.
pub fn run(records: u64, database_url: Option<String>, format: &str) -> anyhow::Result<()> {
    let transfer = match format {
        "parquet" => TransferFormat::Parquet,
        _ => TransferFormat::JsonLines,
    };
    let work = tempfile::tempdir()?;
    let mut figures = serde_json::Map::new();
    figures.insert("bench".into(), "store".into());
    figures.insert("records".into(), records.into());
    figures.insert("transfer_format".into(), transfer.name().into());
    println!("athanor bench store: {records} experiments, each one measurement with 10 values");
    println!("search filter: {SEARCH_FILTER}");
    println!(
        "lineage: {LINEAGE_DEPTH} levels up and down over a graph of {records} provenance records"
    );
    println!(
        "export/import: {} (peak MiB: resident-memory high-water mark of each step)\n",
        transfer.name()
    );
    println!(
        "{:<10} {:>11} {:>10} {:>7} {:>9} {:>9} {:>10} {:>10} {:>11} {:>12}",
        "backend",
        "ingest/s",
        "search ms",
        "hits",
        "export s",
        "import s",
        "exp. MiB",
        "imp. MiB",
        "lineage ms",
        "lineage p95"
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
    let mut worst_lineage_ms: f64 = 0.0;
    let mut worst_search_ms: f64 = 0.0;
    let mut worst_peak_mib: f64 = 0.0;
    for (name, config, import_config) in configs {
        let report = run_store_bench_with(&config, &import_config, work.path(), records, transfer)?;
        println!(
            "{:<10} {:>11.0} {:>10.2} {:>7} {:>9.2} {:>9.2} {:>10.1} {:>10.1} {:>11.2} {:>12.2}",
            name,
            report.ingest_per_s,
            report.search_ms,
            report.search_hits,
            report.export_s,
            report.import_s,
            report.export_peak_rss_mib.unwrap_or(f64::NAN),
            report.import_peak_rss_mib.unwrap_or(f64::NAN),
            report.lineage_ms,
            report.lineage_p95_ms
        );
        let ingest_target = if name == "sqlite" {
            SQLITE_INGEST_TARGET
        } else {
            POSTGRES_INGEST_TARGET
        };
        all_met &= report.ingest_per_s >= ingest_target
            && report.search_ms <= SEARCH_TARGET_MS
            && report.lineage_ms <= LINEAGE_TARGET_MS
            && report
                .peak_rss_mib
                .is_none_or(|p| p <= PEAK_MEMORY_TARGET_MIB);
        worst_lineage_ms = worst_lineage_ms.max(report.lineage_ms);
        worst_search_ms = worst_search_ms.max(report.search_ms);
        figures.insert(format!("{name}_ingest_per_s"), report.ingest_per_s.into());
        figures.insert(format!("{name}_search_ms"), report.search_ms.into());
        figures.insert(format!("{name}_search_hits"), report.search_hits.into());
        figures.insert(format!("{name}_export_s"), report.export_s.into());
        figures.insert(format!("{name}_import_s"), report.import_s.into());
        figures.insert(format!("{name}_export_bytes"), report.export_bytes.into());
        figures.insert(format!("{name}_peak_rss_mib"), report.peak_rss_mib.into());
        figures.insert(
            format!("{name}_export_peak_rss_mib"),
            report.export_peak_rss_mib.into(),
        );
        figures.insert(
            format!("{name}_import_peak_rss_mib"),
            report.import_peak_rss_mib.into(),
        );
        figures.insert(format!("{name}_lineage_ms"), report.lineage_ms.into());
        figures.insert(
            format!("{name}_lineage_p95_ms"),
            report.lineage_p95_ms.into(),
        );
        figures.insert(
            format!("{name}_lineage_build_s"),
            report.lineage_build_s.into(),
        );
        figures.insert(format!("{name}_lineage_nodes"), report.lineage_nodes.into());
        // The largest export/import peak over the backends run.
        let peak = report.peak_rss_mib.unwrap_or(0.0).max(worst_peak_mib);
        worst_peak_mib = peak;
        figures.insert("peak_rss_mib".into(), peak.into());
    }
    println!(
        "\ntargets: ingest >= {SQLITE_INGEST_TARGET}/s (SQLite), >= {POSTGRES_INGEST_TARGET}/s \
         (PostgreSQL); search <= {SEARCH_TARGET_MS} ms; export and import peak <= \
         {PEAK_MEMORY_TARGET_MIB} MiB (VmHWM of each step); lineage {LINEAGE_DEPTH} levels <= \
         {LINEAGE_TARGET_MS} ms (median)"
    );
    figures.insert("targets_met".into(), all_met.into());
    // The single figures: the slower backend's.
    figures.insert("lineage_ms".into(), worst_lineage_ms.into());
    figures.insert("search_ms".into(), worst_search_ms.into());
    println!("{}", serde_json::Value::Object(figures));
    Ok(())
}
