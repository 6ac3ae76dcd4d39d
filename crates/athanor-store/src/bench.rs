//! The store benchmark behind `athanor bench store`: bulk ingest rate, filtered search latency
//! and peak memory of a full export and re-import, on whichever backend a [`StoreConfig`]
//! names.
//!
//! The workload is synthetic and deterministic: one campaign of `records` completed
//! experiments, each with a three-parameter recipe, one measurement and ten result values
//! (`r0` … `r9`, in nm), i.e. "a measurement with 10 values". Values are a hash of the
//! experiment number, so every run of the same size stores the same numbers.
//!
//! * **ingest**: experiments written through [`Store::import_records`] (the bulk path: one
//!   transaction, rows inserted as the generator yields them, nothing collected); the rate is
//!   experiments per second.
//! * **search**: `r0 < 1 nm AND recipe.temperature > 290 degC` through
//!   [`Store::search_hits`] (≈ 0.1 % of the experiments match); the median of five runs.
//! * **export/import**: the whole store exported as JSON lines to a file and imported into a
//!   second, empty store of the same kind; peak resident memory is the process's `VmHWM`
//!   (Linux `/proc/self/status`; `None` elsewhere), which includes everything before it.

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
    /// Peak resident memory of the process after export and import (`VmHWM`), MiB.
    pub peak_rss_mib: Option<f64>,
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
    let campaign_id = athanor_model::ids::new_id();
    let now = now_rfc3339();
    let campaign = ExchangeRecord::Campaign(CampaignRecord {
        id: campaign_id.clone(),
        lab_id: "C0001".to_string(),
        name: "bench".to_string(),
        seed: 1,
        config_hash: "bench".to_string(),
        config_text: String::new(),
        budget: u32::try_from(records).unwrap_or(u32::MAX),
        status: CampaignStatus::Completed,
        created_at: now.clone(),
    });
    std::iter::once(Ok(campaign)).chain((1..=records).map(move |i| {
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
        Ok(ExchangeRecord::Experiment(ExperimentRecord {
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
        }))
    }))
}

/// Peak resident set size of this process (`VmHWM`) in MiB, where Linux reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs the benchmark: ingest `records` experiments into the (empty) store `config` names,
/// search, export to `work_dir/export.jsonl`, import into `import_config` (also empty).
pub fn run_store_bench(
    config: &StoreConfig,
    import_config: &StoreConfig,
    work_dir: &Path,
    records: u64,
) -> Result<StoreBenchReport> {
    let store = Store::open_with(config)?;
    let backend = match store.backend_kind() {
        crate::BackendKind::Sqlite => "sqlite",
        crate::BackendKind::Postgres => "postgres",
    };
    let started = Instant::now();
    store.import_records(synthetic_records(records))?;
    let ingest_s = started.elapsed().as_secs_f64();

    let mut timings = Vec::new();
    let mut hits = 0;
    for _ in 0..5 {
        let started = Instant::now();
        hits = store.search_hits(SEARCH_FILTER, None)?.len();
        timings.push(started.elapsed().as_secs_f64() * 1e3);
    }
    timings.sort_by(f64::total_cmp);

    let path = work_dir.join("export.jsonl");
    let started = Instant::now();
    {
        let file = std::fs::File::create(&path)
            .map_err(|e| StoreError::io("create the export file", &path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        export(
            &store,
            ExportFormat::JsonLines,
            ExportOptions::default(),
            &mut out,
        )?;
    }
    let export_s = started.elapsed().as_secs_f64();
    let export_bytes = std::fs::metadata(&path)
        .map_err(|e| StoreError::io("inspect the export file", &path, e))?
        .len();
    drop(store);

    let target = Store::open_with(import_config)?;
    let started = Instant::now();
    let file =
        std::fs::File::open(&path).map_err(|e| StoreError::io("open the export file", &path, e))?;
    import_json_lines(&target, BufReader::with_capacity(1 << 20, file))?;
    let import_s = started.elapsed().as_secs_f64();

    Ok(StoreBenchReport {
        backend: backend.to_string(),
        records,
        ingest_per_s: records as f64 / ingest_s.max(1e-9),
        search_ms: timings[timings.len() / 2],
        search_hits: hits,
        export_s,
        import_s,
        export_bytes,
        peak_rss_mib: peak_rss_mib(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let imported = Store::open(&dir.path().join("b")).unwrap();
        assert_eq!(imported.experiments("C0001").unwrap().len(), 300);
    }
}
