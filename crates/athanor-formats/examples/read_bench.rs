//! Read throughput of the DM4, TIFF and MRC readers on large synthetic files, and their peak
//! memory.
//!
//! `cargo run --release -p athanor-formats --example read_bench [-- SIDE]` (SIDE defaults to
//! 4096: a 4096 × 4096 f32 DM4 = 64 MiB payload, a 4096 × 4096 u16 TIFF = 32 MiB and a
//! 4096 × 4096 f32 MRC = 64 MiB). Each read
//! is timed best-of-3; throughput is payload bytes / time (MB = 10⁶ bytes). Memory is the
//! kernel's resident high-water mark (`VmHWM` in `/proc/self/status`), reset before each
//! measurement through `/proc/self/clear_refs` so that each figure covers one read only;
//! `*_read_extra_mb` is that peak minus the resident size just before the read (the input file
//! is already in memory), to compare with the payload size. The last line is JSON.

#[path = "../tests/support/dm_writer.rs"]
mod dm_writer;

use athanor_formats::{
    read_any, read_metadata_only, write_mrc, write_tiff_u16, CalibratedImage, DataArray,
};
use std::time::{Duration, Instant};

fn status_kb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0); returns whether that worked.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

struct Measurement {
    best: Duration,
    extra_mb: f64,
    peak_mb: f64,
}

/// Best of three timed runs of `read`, plus the memory of one read.
fn measure(mut read: impl FnMut() -> usize) -> Measurement {
    let mut best = Duration::MAX;
    let mut extra_mb = f64::NAN;
    let mut peak_mb = f64::NAN;
    for run in 0..3 {
        let resettable = reset_peak();
        let before = status_kb("VmRSS:").unwrap_or(f64::NAN);
        let start = Instant::now();
        let elements = read();
        best = best.min(start.elapsed());
        if run == 0 && resettable {
            let peak = status_kb("VmHWM:").unwrap_or(f64::NAN);
            extra_mb = (peak - before) / 1024.0 * 1.048576;
            peak_mb = peak / 1024.0 * 1.048576;
        }
        assert!(elements > 0);
    }
    Measurement {
        best,
        extra_mb,
        peak_mb,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let side: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(4096);

    // --- DM4, f32
    let dm4 = {
        let payload: Vec<u8> = (0..side * side)
            .flat_map(|i| ((i % 65_521) as f32 * 0.25).to_le_bytes())
            .collect();
        dm_writer::dm_file(4, side, side, 2, 6, &payload, 0.1)
    };
    let dm4_payload = (side * side * 4) as f64;
    let dm4_full = measure(|| read_any(&dm4, None).map(|d| d.data.len()).unwrap_or(0));
    let dm4_meta = measure(|| {
        read_metadata_only(&dm4, None)
            .map(|i| i.shape.iter().product())
            .unwrap_or(0)
    });
    drop(dm4);

    // --- TIFF, u16
    let tiff = write_tiff_u16(&CalibratedImage {
        width: side,
        height: side,
        pixels: (0..side * side).map(|i| (i % 65_536) as u16).collect(),
        pixel_size: Some(athanor_model::Quantity::new(0.1, "nm")),
        description: None,
    })?;
    let tiff_payload = (side * side * 2) as f64;
    let tiff_full = measure(|| read_any(&tiff, None).map(|d| d.data.len()).unwrap_or(0));
    let tiff_meta = measure(|| {
        read_metadata_only(&tiff, None)
            .map(|i| i.shape.iter().product())
            .unwrap_or(0)
    });

    drop(tiff);

    // --- MRC, f32 (mode 2)
    let mrc = write_mrc(
        &DataArray::F32((0..side * side).map(|i| (i % 65_521) as f32).collect()),
        &[side, side],
        [1.2, 1.2, 1.2],
        &["read_bench"],
    )?;
    let mrc_payload = (side * side * 4) as f64;
    let mrc_full = measure(|| read_any(&mrc, None).map(|d| d.data.len()).unwrap_or(0));
    let mrc_meta = measure(|| {
        read_metadata_only(&mrc, None)
            .map(|i| i.shape.iter().product())
            .unwrap_or(0)
    });
    drop(mrc);

    let rate = |payload: f64, m: &Measurement| mb(payload) / m.best.as_secs_f64();
    println!(
        "DM4 {side}×{side} f32 ({:.1} MB): read {:.1} ms = {:.0} MB/s; metadata only {:.3} ms; \
         peak RSS {:.1} MB, {:.1} MB above the input",
        mb(dm4_payload),
        dm4_full.best.as_secs_f64() * 1e3,
        rate(dm4_payload, &dm4_full),
        dm4_meta.best.as_secs_f64() * 1e3,
        dm4_full.peak_mb,
        dm4_full.extra_mb
    );
    println!(
        "TIFF {side}×{side} u16 ({:.1} MB): read {:.1} ms = {:.0} MB/s; metadata only {:.3} ms; \
         peak RSS {:.1} MB, {:.1} MB above the input",
        mb(tiff_payload),
        tiff_full.best.as_secs_f64() * 1e3,
        rate(tiff_payload, &tiff_full),
        tiff_meta.best.as_secs_f64() * 1e3,
        tiff_full.peak_mb,
        tiff_full.extra_mb
    );
    println!(
        "MRC {side}×{side} f32 ({:.1} MB): read {:.1} ms = {:.0} MB/s; metadata only {:.3} ms; \
         peak RSS {:.1} MB, {:.1} MB above the input",
        mb(mrc_payload),
        mrc_full.best.as_secs_f64() * 1e3,
        rate(mrc_payload, &mrc_full),
        mrc_meta.best.as_secs_f64() * 1e3,
        mrc_full.peak_mb,
        mrc_full.extra_mb
    );
    let json = serde_json::json!({
        "side": side,
        "dm4_payload_mb": mb(dm4_payload),
        "dm4_read_mb_per_s": rate(dm4_payload, &dm4_full),
        "dm4_metadata_ms": dm4_meta.best.as_secs_f64() * 1e3,
        "dm4_peak_rss_mb": dm4_full.peak_mb,
        "dm4_read_extra_mb": dm4_full.extra_mb,
        "tiff_payload_mb": mb(tiff_payload),
        "tiff_read_mb_per_s": rate(tiff_payload, &tiff_full),
        "tiff_metadata_ms": tiff_meta.best.as_secs_f64() * 1e3,
        "tiff_peak_rss_mb": tiff_full.peak_mb,
        "tiff_read_extra_mb": tiff_full.extra_mb,
        "mrc_payload_mb": mb(mrc_payload),
        "mrc_read_mb_per_s": rate(mrc_payload, &mrc_full),
        "mrc_metadata_ms": mrc_meta.best.as_secs_f64() * 1e3,
        "mrc_peak_rss_mb": mrc_full.peak_mb,
        "mrc_read_extra_mb": mrc_full.extra_mb,
    });
    println!("{json}");
    Ok(())
}
