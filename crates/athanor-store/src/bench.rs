//! The store benchmark behind `athanor bench store`: bulk ingest rate, filtered search latency,
//! peak memory of a full export and re-import, and lineage latency over a large provenance
//! graph, on whichever backend a [`StoreConfig`] names.
//!
//! The workload is synthetic and deterministic: one campaign of `records` completed
//! experiments, each with a three-parameter recipe, one measurement and ten result values
//! (`r0` … `r9`, in nm), i.e. "a measurement with 10 values". Values are a hash of the
//! experiment number, so every run of the same size stores the same numbers.
//!
//! * **ingest**: experiments written through [`Store::ingest_experiments`] (the public bulk
//!   path: one transaction, every row validated and stored with all its indexes as on the
//!   per-record paths, written in batches every few hundred experiments); the
//!   rate is experiments (each a measurement with ten values) per second.
//! * **search**: `r0 < 1 nm AND recipe.temperature > 290 degC` through
//!   [`Store::search_hits`] (≈ 0.1 % of the experiments match); the median of five runs.
//! * **export/import**: the whole store exported to a file (JSON lines, or the Parquet table
//!   with [`TransferFormat::Parquet`]) and imported into a second, empty store of the same
//!   kind. Peak resident memory is measured for each step on its own: the process's high-water
//!   mark (`VmHWM`, Linux `/proc/self/status`) is reset before the step (`/proc/self/clear_refs`)
//!   and read after it, so the figure is the step's streaming footprint plus what the process
//!   already held (`None` where Linux does not report it).
//! * **lineage**: [`build_lineage_graph`] adds `records` provenance records with bulk SQL to
//!   the ingest store, then [`Store::lineage`] walks 10 levels up and down from several start
//!   records; median and 95th percentile over all walks.

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::records::MeasurementRecord;
use crate::records::{CampaignRecord, CampaignStatus, ExperimentRecord, ExperimentStatus};
use crate::store::Store;
use crate::timestamp::now_rfc3339;
use crate::transfer::{export, import_json_lines, ExchangeRecord, ExportFormat, ExportOptions};
use athanor_model::{Origin, PropertyValue, Quantity, Recipe};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::Instant;

/// The file format of the benchmark's export/import step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransferFormat {
    /// The JSON-lines exchange format (lossless).
    #[default]
    JsonLines,
    /// The Parquet table (`transfer::parquet_file`).
    Parquet,
}

impl TransferFormat {
    /// The name used in reports ("json", "parquet").
    pub fn name(self) -> &'static str {
        match self {
            TransferFormat::JsonLines => "json",
            TransferFormat::Parquet => "parquet",
        }
    }
}

/// The filter the search figure times.
pub const SEARCH_FILTER: &str = "r0 < 1 nm AND recipe.temperature > 290 degC";

/// The figures of one benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct StoreBenchReport {
    /// "sqlite" or "postgres".
    pub backend: String,
    /// Experiments ingested (each with one measurement and 10 result values).
    pub records: u64,
    /// Ingest rate, experiments per second.
    pub ingest_per_s: f64,
    /// Median latency of the filtered search, milliseconds.
    pub search_ms: f64,
    /// Experiments the search found.
    pub search_hits: usize,
    /// Seconds to export the store (JSON lines, to a file).
    pub export_s: f64,
    /// Seconds to import that file into an empty store.
    pub import_s: f64,
    /// Size of the export file, bytes.
    pub export_bytes: u64,
    /// The export/import file format ("json" or "parquet").
    pub transfer_format: String,
    /// Peak resident memory of the process after export and import (`VmHWM`), MiB: the
    /// larger of the two step figures below where they are known, else the whole run's.
    pub peak_rss_mib: Option<f64>,
    /// Peak resident memory during the export alone (high-water mark reset before it), MiB.
    pub export_peak_rss_mib: Option<f64>,
    /// Peak resident memory during the import alone, MiB.
    pub import_peak_rss_mib: Option<f64>,
    /// Provenance records in the lineage graph.
    pub lineage_records: u64,
    /// Seconds to build the lineage graph (bulk SQL, not part of any target).
    pub lineage_build_s: f64,
    /// Median latency of a 10-level lineage walk, milliseconds.
    pub lineage_ms: f64,
    /// 95th percentile of the walk latencies, milliseconds.
    pub lineage_p95_ms: f64,
    /// Records the median walk returned (on average over the walks).
    pub lineage_nodes: f64,
}

/// Depth of the timed lineage walks (the "10 levels deep").
pub const LINEAGE_DEPTH: u32 = 10;

/// Lab id of record `i` of the lineage graph.
pub fn lineage_lab_id(i: u64) -> String {
    format!("L{i:07}")
}

/// Writes a provenance graph of `records` records (`L0000001…`, ids `id-0000001…`, kind
/// `material_run`, completed) and its edges with bulk `INSERT … SELECT` straight into the
/// store's tables, in one transaction, then refreshes the planner statistics. Returns the
/// number of edges. For benchmarks and scale tests only: it bypasses validation and the lab-id
/// counters, so the store should hold no other `L…` records.
///
/// Shape: chains of 20 (`i → i+1`); every fifth record also feeds the record 7 further on
/// (`i → i+7`) and every third the same position in the next chain (`i → i+20`), so walks
/// branch and rejoin like real sample lineages.
pub fn build_lineage_graph(store: &Store, records: u64) -> Result<u64> {
    let n = records;
    let postgres = store.backend_kind() == crate::BackendKind::Postgres;
    let (lab, id, numbers) = if postgres {
        (
            "'L' || lpad(i::text, 7, '0')".to_string(),
            "'id-' || lpad(i::text, 7, '0')".to_string(),
            format!("SELECT i FROM generate_series(1, {n}::bigint) AS g(i)"),
        )
    } else {
        (
            "printf('L%07d', i)".to_string(),
            "printf('id-%07d', i)".to_string(),
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
                 SELECT i FROM n"
            ),
        )
    };
    let target = |offset: u64| {
        id.replace("i)", &format!("i + {offset})"))
            .replace("(i::text", &format!("((i + {offset})::text"))
    };
    let edge = |offset: u64, kind: &str, condition: &str| {
        format!(
            "INSERT INTO prov_edges (source_id, target_id, kind) \
             SELECT {id}, {target}, '{kind}' FROM ({numbers}) s \
             WHERE {condition} AND i + {offset} <= {n}",
            target = target(offset)
        )
    };
    let mut statements = vec![
        format!(
            "INSERT INTO prov_records (id, lab_id, version, kind, name, status, is_latest, \
             body_json, extras_json, created_at) \
             SELECT {id}, {lab}, 1, 'material_run', 'bulk', 'completed', 1, \
             '{{\"type\":\"plain\"}}', '[]', '2026-01-01T00:00:00.000Z' FROM ({numbers}) s"
        ),
        edge(1, "derived_from", "i % 20 != 0"),
        edge(7, "used", "i % 5 = 0"),
        edge(20, "used", "i % 3 = 0"),
    ];
    if postgres {
        statements.push("ANALYZE prov_records".to_string());
        statements.push("ANALYZE prov_edges".to_string());
    } else {
        statements.push("ANALYZE".to_string());
    }
    store.execute_bulk_sql("build the lineage benchmark graph", &statements)?;
    let edges = |i: u64| -> u64 {
        u64::from(!i.is_multiple_of(20) && i < n)
            + u64::from(i.is_multiple_of(5) && i + 7 <= n)
            + u64::from(i.is_multiple_of(3) && i + 20 <= n)
    };
    Ok((1..=n).map(edges).sum())
}

/// Latencies (ms) of 10-level walks up and down from eight start records spread over the
/// graph built by [`build_lineage_graph`], three runs each; returns the sorted latencies and
/// the mean number of records a walk returned.
pub fn time_lineage(store: &Store, records: u64) -> Result<(Vec<f64>, f64)> {
    let mut timings = Vec::new();
    let mut reached = 0usize;
    for k in 1..=4u64 {
        // Chain positions away from the ends, so that every walk can go 10 levels.
        let chain_start = (records * k / 5) / 20 * 20;
        let cases = [
            (chain_start + 20, crate::LineageDirection::Up),
            (chain_start + 1, crate::LineageDirection::Down),
        ];
        for (i, direction) in cases {
            if i == 0 || i > records {
                continue;
            }
            for _ in 0..3 {
                let started = Instant::now();
                let lineage = store.lineage(&lineage_lab_id(i), direction, LINEAGE_DEPTH)?;
                timings.push(started.elapsed().as_secs_f64() * 1e3);
                reached += lineage.nodes.len();
            }
        }
    }
    timings.sort_by(f64::total_cmp);
    let mean_nodes = reached as f64 / timings.len().max(1) as f64;
    Ok((timings, mean_nodes))
}

/// The `q`-quantile (0 ≤ q ≤ 1) of sorted numbers, by nearest rank; NaN when empty.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The deterministic pseudo-random number in [0, 1) for experiment `i`, value `k`
/// (SplitMix64 finaliser; no RNG state, so generation streams).
fn unit_hash(i: u64, k: u64) -> f64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(k.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The synthetic records: one campaign, then `records` completed experiments, generated
/// lazily.
pub fn synthetic_records(records: u64) -> impl Iterator<Item = Result<ExchangeRecord>> {
    let campaign = synthetic_campaign(records);
    let experiments =
        synthetic_experiments(&campaign, records).map(|e| e.map(ExchangeRecord::Experiment));
    std::iter::once(Ok(ExchangeRecord::Campaign(campaign))).chain(experiments)
}

/// The benchmark's campaign (`C0001`, budget `records`).
pub fn synthetic_campaign(records: u64) -> CampaignRecord {
    CampaignRecord {
        id: athanor_model::ids::new_id(),
        lab_id: "C0001".to_string(),
        name: "bench".to_string(),
        seed: 1,
        config_hash: "bench".to_string(),
        config_text: String::new(),
        budget: u32::try_from(records).unwrap_or(u32::MAX),
        status: CampaignStatus::Completed,
        created_at: now_rfc3339(),
    }
}

/// `records` completed experiments of `campaign`, generated lazily: each a three-parameter
/// recipe, one measurement and ten result values.
pub fn synthetic_experiments(
    campaign: &CampaignRecord,
    records: u64,
) -> impl Iterator<Item = Result<ExperimentRecord>> {
    let campaign_id = campaign.id.clone();
    let now = now_rfc3339();
    (1..=records).map(move |i| {
        let seq = u32::try_from(i).map_err(|_| {
            StoreError::invalid("bench", "records", "at most 4 294 967 295 experiments")
        })?;
        let mut parameters = BTreeMap::new();
        parameters.insert(
            "temperature".to_string(),
            Quantity::new(200.0 + 100.0 * unit_hash(i, 100), "degC"),
        );
        parameters.insert(
            "time".to_string(),
            Quantity::new(1.0 + 30.0 * unit_hash(i, 101), "min"),
        );
        parameters.insert("ratio".to_string(), Quantity::new(unit_hash(i, 102), ""));
        let results = (0..10)
            .map(|k| PropertyValue {
                name: format!("r{k}"),
                quantity: Quantity::with_std(100.0 * unit_hash(i, k), 0.5, "nm"),
                origin: Origin::Measured,
                method: "bench".to_string(),
            })
            .collect();
        Ok(ExperimentRecord {
            id: athanor_model::ids::new_id(),
            lab_id: format!("C0001-E{seq:03}"),
            campaign_id: campaign_id.clone(),
            seq,
            status: ExperimentStatus::Completed,
            recipe: Recipe { parameters },
            spec_steps: Vec::new(),
            run_steps: Vec::new(),
            results,
            measurements: vec![MeasurementRecord {
                technique: "PL".to_string(),
                instrument: "bench".to_string(),
                blob: None,
                conditions: serde_json::json!({}),
            }],
            analyses: Vec::new(),
            planner_note: serde_json::json!({}),
            failure: None,
            planned_at: now.clone(),
            completed_at: Some(now.clone()),
        })
    })
}

/// Resets this process's peak resident set size (`VmHWM`) to its current size, so that the
/// next [`peak_rss_mib`] reports the peak of what runs in between. Linux ≥ 4.0 only; returns
/// whether the reset worked.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size of this process (`VmHWM`) in MiB, where Linux reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs the benchmark: ingest `records` experiments into the (empty) store `config` names,
/// search, export to a file in `work_dir` (JSON lines), import into `import_config` (also
/// empty). [`run_store_bench_with`] chooses the export/import format.
pub fn run_store_bench(
    config: &StoreConfig,
    import_config: &StoreConfig,
    work_dir: &Path,
    records: u64,
) -> Result<StoreBenchReport> {
    run_store_bench_with(
        config,
        import_config,
        work_dir,
        records,
        TransferFormat::JsonLines,
    )
}

/// [`run_store_bench`] with the export/import step in `transfer`.
pub fn run_store_bench_with(
    config: &StoreConfig,
    import_config: &StoreConfig,
    work_dir: &Path,
    records: u64,
    transfer: TransferFormat,
) -> Result<StoreBenchReport> {
    let store = Store::open_with(config)?;
    let backend = match store.backend_kind() {
        crate::BackendKind::Sqlite => "sqlite",
        crate::BackendKind::Postgres => "postgres",
    };
    let campaign = synthetic_campaign(records);
    store.import_records(std::iter::once(Ok(ExchangeRecord::Campaign(
        campaign.clone(),
    ))))?;
    let started = Instant::now();
    store.ingest_experiments(synthetic_experiments(&campaign, records))?;
    let ingest_s = started.elapsed().as_secs_f64();

    let mut timings = Vec::new();
    let mut hits = 0;
    for _ in 0..5 {
        let started = Instant::now();
        hits = store.search_hits(SEARCH_FILTER, None)?.len();
        timings.push(started.elapsed().as_secs_f64() * 1e3);
    }
    timings.sort_by(f64::total_cmp);

    let (format, file_name) = match transfer {
        TransferFormat::JsonLines => (ExportFormat::JsonLines, "export.jsonl"),
        TransferFormat::Parquet => (ExportFormat::Parquet, "export.parquet"),
    };
    let path = work_dir.join(format!("{backend}-{file_name}"));
    let resettable = reset_peak_rss();
    let started = Instant::now();
    {
        let file = std::fs::File::create(&path)
            .map_err(|e| StoreError::io("create the export file", &path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        export(&store, format, ExportOptions::default(), &mut out)?;
    }
    let export_s = started.elapsed().as_secs_f64();
    let export_peak_rss_mib = peak_rss_mib().filter(|_| resettable);
    let export_bytes = std::fs::metadata(&path)
        .map_err(|e| StoreError::io("inspect the export file", &path, e))?
        .len();
    drop(store);

    let target = Store::open_with(import_config)?;
    let resettable = reset_peak_rss();
    let started = Instant::now();
    let file =
        std::fs::File::open(&path).map_err(|e| StoreError::io("open the export file", &path, e))?;
    match transfer {
        TransferFormat::JsonLines => {
            import_json_lines(&target, BufReader::with_capacity(1 << 20, file))?;
        }
        TransferFormat::Parquet => {
            crate::transfer::import_parquet(&target, file)?;
        }
    }
    let import_s = started.elapsed().as_secs_f64();
    let import_peak_rss_mib = peak_rss_mib().filter(|_| resettable);
    drop(target);
    let peak_rss_mib = match (export_peak_rss_mib, import_peak_rss_mib) {
        (Some(export), Some(import)) => Some(export.max(import)),
        _ => peak_rss_mib(),
    };
    // The file can be large (a million records: hundreds of MB); the figures are taken.
    let _ = std::fs::remove_file(&path);

    // The lineage graph goes into the (reopened) ingest store after the export, so that the
    // export/import figures are those of the experiments alone.
    let store = Store::open_with(config)?;
    let started = Instant::now();
    build_lineage_graph(&store, records)?;
    let lineage_build_s = started.elapsed().as_secs_f64();
    let (lineage_timings, lineage_nodes) = time_lineage(&store, records)?;

    Ok(StoreBenchReport {
        backend: backend.to_string(),
        records,
        ingest_per_s: records as f64 / ingest_s.max(1e-9),
        search_ms: timings[timings.len() / 2],
        search_hits: hits,
        export_s,
        import_s,
        export_bytes,
        transfer_format: transfer.name().to_string(),
        peak_rss_mib,
        export_peak_rss_mib,
        import_peak_rss_mib,
        lineage_records: records,
        lineage_build_s,
        lineage_ms: quantile(&lineage_timings, 0.5),
        lineage_p95_ms: quantile(&lineage_timings, 0.95),
        lineage_nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile(&sorted, 0.5), 5.0);
        assert_eq!(quantile(&sorted, 0.95), 10.0);
        assert_eq!(quantile(&sorted, 0.0), 1.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn synthetic_records_are_deterministic_in_their_values() {
        let values = |n| -> Vec<f64> {
            synthetic_records(n)
                .filter_map(|r| match r.unwrap() {
                    ExchangeRecord::Experiment(e) => Some(e.results[3].quantity.value),
                    _ => None,
                })
                .collect()
        };
        let a = values(50);
        assert_eq!(a, values(50));
        assert_eq!(a.len(), 50);
        assert!(a.iter().all(|v| (0.0..100.0).contains(v)));
    }

    #[test]
    fn the_parquet_transfer_step_round_trips_the_experiments() {
        let dir = tempfile::tempdir().unwrap();
        let report = run_store_bench_with(
            &StoreConfig::sqlite(dir.path().join("a")),
            &StoreConfig::sqlite(dir.path().join("b")),
            dir.path(),
            120,
            TransferFormat::Parquet,
        )
        .unwrap();
        assert_eq!(report.transfer_format, "parquet");
        assert!(report.export_bytes > 0);
        let imported = Store::open(&dir.path().join("b")).unwrap();
        let original = Store::open(&dir.path().join("a")).unwrap();
        assert_eq!(
            imported.experiments("C0001").unwrap(),
            original.experiments("C0001").unwrap()
        );
        if reset_peak_rss() {
            assert!(report.export_peak_rss_mib.is_some() && report.import_peak_rss_mib.is_some());
        }
    }

    #[test]
    fn small_bench_runs_and_finds_what_it_stored() {
        let dir = tempfile::tempdir().unwrap();
        let report = run_store_bench(
            &StoreConfig::sqlite(dir.path().join("a")),
            &StoreConfig::sqlite(dir.path().join("b")),
            dir.path(),
            300,
        )
        .unwrap();
        assert_eq!(report.records, 300);
        // Count the expected hits from the generator itself.
        let expected = synthetic_records(300)
            .filter_map(|r| match r.unwrap() {
                ExchangeRecord::Experiment(e) => Some(e),
                _ => None,
            })
            .filter(|e| {
                e.results[0].quantity.value < 1.0
                    && e.recipe.parameters["temperature"].value > 290.0
            })
            .count();
        assert_eq!(report.search_hits, expected);
        assert!(report.ingest_per_s > 0.0 && report.export_bytes > 0);
        // Every walk from a chain interior reaches records beyond its own chain.
        assert_eq!(report.lineage_records, 300);
        assert!(report.lineage_ms.is_finite() && report.lineage_p95_ms >= report.lineage_ms);
        assert!(report.lineage_nodes > 10.0, "{}", report.lineage_nodes);
        let imported = Store::open(&dir.path().join("b")).unwrap();
        assert_eq!(imported.experiments("C0001").unwrap().len(), 300);
    }
}
