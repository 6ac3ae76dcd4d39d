//! `athanor vision …` and `athanor inspect`: micrograph analysis and file inspection from the
//! command line. The work is done by `athanor-formats` (reading) and `athanor-vision`
//! (analysis and scoring); this module only walks files, converts pixels and prints.

use anyhow::{bail, Context};
use athanor_formats::{read_any, read_metadata_only, Dataset};
use athanor_model::units::Unit;
use athanor_vision::eval::{score_image, summarize, ImageScore};
use athanor_vision::{analyze, AnalysisConfig, GrayImage, Polarity};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// A 2-D image as grayscale floats, with its pixel size in nm when the file says it.
pub struct Micrograph {
    /// The pixels.
    pub image: GrayImage,
    /// nm per pixel, if calibrated.
    pub pixel_size_nm: Option<f64>,
}

/// Converts a read dataset to a grayscale micrograph (RGB is averaged).
pub fn micrograph_of(dataset: &Dataset, name: &str) -> anyhow::Result<Micrograph> {
    if dataset.shape.len() != 2 {
        bail!(
            "{name}: a micrograph needs a 2-D image, this file holds shape {:?}",
            dataset.shape
        );
    }
    let (height, width) = (dataset.shape[0], dataset.shape[1]);
    let data: Vec<f32> = (0..width * height)
        .map(|i| dataset.data.value_f64(i).unwrap_or(f64::NAN) as f32)
        .collect();
    let image =
        GrayImage::new(width, height, data).with_context(|| format!("{name}: pixel data"))?;
    let nm = Unit::parse("nm").map_err(|e| anyhow::anyhow!("{e}"))?;
    let pixel_size_nm = dataset.axes.last().and_then(|axis| {
        let unit = Unit::parse(axis.units.as_deref()?).ok()?;
        unit.convert(axis.scale, &nm).ok()
    });
    Ok(Micrograph {
        image,
        pixel_size_nm,
    })
}

fn read_micrograph(path: &Path) -> anyhow::Result<Micrograph> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let dataset = read_any(&bytes, path.file_name().and_then(|n| n.to_str()))
        .with_context(|| name.clone())?;
    micrograph_of(&dataset, &name)
}

/// `athanor inspect FILE`: the normalised metadata as JSON, without reading the pixel payload.
pub fn inspect(path: &Path, preview: Option<&Path>) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let hint = path.file_name().and_then(|n| n.to_str());
    let info = read_metadata_only(&bytes, hint).with_context(|| path.display().to_string())?;
    let mut doc = serde_json::to_value(&info)?;
    doc["file"] = serde_json::json!(path.display().to_string());
    doc["dtype"] = serde_json::json!(info.data_type.numpy_name());
    println!("{}", serde_json::to_string_pretty(&doc)?);
    if let Some(out) = preview {
        let micrograph = read_micrograph(path)?;
        let png = preview_png(&micrograph.image)?;
        std::fs::write(out, png).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("preview: {}", out.display());
    }
    Ok(())
}

/// An 8-bit preview with a 0.5–99.5 % percentile stretch, so that a 16-bit or float image with
/// a few hot pixels is still visible.
fn preview_png(image: &GrayImage) -> anyhow::Result<Vec<u8>> {
    let pixels = preview_gray(image);
    Ok(athanor_formats::png::write_png(
        image.width,
        image.height,
        athanor_formats::png::PngLayout::Gray8,
        &pixels,
    )?)
}

/// 8-bit pixels with a 0.5–99.5 % percentile stretch.
fn preview_gray(image: &GrayImage) -> Vec<u8> {
    let mut sorted: Vec<f32> = image
        .data
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    let pick = |q: f64| {
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (lo, hi) = (pick(0.005), pick(0.995));
    let span = if hi > lo { hi - lo } else { 1.0 };
    image
        .data
        .iter()
        .map(|v| (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

/// Runs `work` over `items` on all cores, keeping the results in input order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    bar: &ProgressBar,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = work(item);
                slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                bar.inc(1);
            });
        }
    });
    results.into_iter().flatten().collect()
}

/// Optional per-image files written by `vision analyze`.
#[derive(Debug, Clone, Default)]
pub struct ImageOutputs {
    /// Directory for 16-bit instance label maps (`<stem>.labels.png`, 0 = background).
    pub labels: Option<PathBuf>,
    /// Directory for overlay images (`<stem>.overlay.png`).
    pub overlays: Option<PathBuf>,
}

/// The instance label map as a 16-bit grayscale PNG, the format segmentation tools score.
fn label_png(labels: &[u32], width: usize, height: usize) -> anyhow::Result<Vec<u8>> {
    let max = labels.iter().copied().max().unwrap_or(0);
    if max > u32::from(u16::MAX) {
        bail!("{max} instances do not fit a 16-bit label map");
    }
    let bytes: Vec<u8> = labels
        .iter()
        .flat_map(|&l| (l as u16).to_le_bytes())
        .collect();
    Ok(athanor_formats::png::write_png(
        width,
        height,
        athanor_formats::png::PngLayout::Gray16,
        &bytes,
    )?)
}

/// The image in gray with each particle's outline drawn: green for counted particles, orange for
/// particles cut by the border (excluded by the counting rule).
fn overlay_png(
    image: &GrayImage,
    analysis: &athanor_vision::ImageAnalysis,
) -> anyhow::Result<Vec<u8>> {
    let gray = preview_gray(image);
    let (w, h) = (analysis.width, analysis.height);
    let edge: std::collections::BTreeSet<u32> = analysis
        .particles
        .iter()
        .filter(|p| p.touches_edge)
        .map(|p| p.label)
        .collect();
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let l = analysis.labels[y * w + x];
            let outline = l != 0
                && [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .any(|(dx, dy)| {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        nx < 0
                            || ny < 0
                            || nx >= w as i64
                            || ny >= h as i64
                            || analysis.labels[ny as usize * w + nx as usize] != l
                    });
            let g = gray[y * w + x];
            rgb.extend_from_slice(&match (outline, edge.contains(&l)) {
                (true, false) => [40, 220, 60],
                (true, true) => [255, 150, 30],
                _ => [g, g, g],
            });
        }
    }
    Ok(athanor_formats::png::write_png(
        w,
        h,
        athanor_formats::png::PngLayout::Rgb8,
        &rgb,
    )?)
}

/// `athanor vision analyze FILE…`: particle statistics per image.
pub fn analyze_files(
    files: &[PathBuf],
    pixel_size_nm: Option<f64>,
    json: bool,
    outputs: &ImageOutputs,
) -> anyhow::Result<bool> {
    for dir in [&outputs.labels, &outputs.overlays].into_iter().flatten() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let bar = progress(files.len(), "analyse");
    let results = parallel_map(files, &bar, |path| -> anyhow::Result<serde_json::Value> {
        let m = read_micrograph(path)?;
        let (size, calibrated) = match (pixel_size_nm, m.pixel_size_nm) {
            (Some(p), _) => (p, "given on the command line"),
            (None, Some(p)) => (p, "from the file"),
            (None, None) => (1.0, "none: sizes are in pixels"),
        };
        let config = AnalysisConfig {
            pixel_size_nm: size,
            polarity: Polarity::Auto,
            ..AnalysisConfig::default()
        };
        let a = analyze(&m.image, &config).with_context(|| path.display().to_string())?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let mut written = Vec::new();
        if let Some(dir) = &outputs.labels {
            let out = dir.join(format!("{stem}.labels.png"));
            std::fs::write(&out, label_png(&a.labels, a.width, a.height)?)
                .with_context(|| format!("writing {}", out.display()))?;
            written.push(out.display().to_string());
        }
        if let Some(dir) = &outputs.overlays {
            let out = dir.join(format!("{stem}.overlay.png"));
            std::fs::write(&out, overlay_png(&m.image, &a)?)
                .with_context(|| format!("writing {}", out.display()))?;
            written.push(out.display().to_string());
        }
        Ok(serde_json::json!({
            "written": written,
            "file": path.display().to_string(),
            "pixel_size_nm": size,
            "calibration": calibrated,
            "particles": a.particles.len(),
            "stats": a.stats,
            "notes": a.notes,
        }))
    });
    bar.finish_and_clear();
    let mut all_ok = true;
    let mut docs = Vec::new();
    for (path, r) in files.iter().zip(results) {
        match r {
            Ok(doc) => {
                if !json {
                    let s = &doc["stats"];
                    println!(
                        "{}: {} particles, D50 {} , CV {} ({})",
                        path.display(),
                        doc["particles"],
                        s["d50_nm"],
                        s["cv"],
                        doc["calibration"].as_str().unwrap_or("")
                    );
                }
                docs.push(doc);
            }
            Err(e) => {
                all_ok = false;
                eprintln!("error: {e:#}");
                docs.push(serde_json::json!({"file": path.display().to_string(), "error": format!("{e:#}")}));
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string(&docs)?);
    }
    Ok(all_ok)
}

/// `athanor vision eval DIR`: scores the classical pipeline against instance label maps in the
/// EMPS layout (`DIR/images/<id>.png`, `DIR/segmaps/<id>.png`).
pub fn eval_dir(
    dir: &Path,
    limit: Option<usize>,
    ids_file: Option<&Path>,
    held_out: bool,
    per_image: bool,
) -> anyhow::Result<()> {
    let images_dir = dir.join("images");
    let labels_dir = dir.join("segmaps");
    if !images_dir.is_dir() || !labels_dir.is_dir() {
        bail!(
            "{} is not in the EMPS layout: it needs images/ and segmaps/ folders",
            dir.display()
        );
    }
    let mut ids: Vec<String> = match ids_file {
        Some(f) => std::fs::read_to_string(f)
            .with_context(|| format!("reading {}", f.display()))?
            .lines()
            .map(|l| l.trim().trim_end_matches(".png").to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        None => athanor_vision::learned::data::list_emps_ids(dir)?,
    };
    if held_out {
        ids.retain(|id| athanor_vision::learned::data::is_held_out(id));
    }
    ids.sort();
    if let Some(n) = limit {
        ids.truncate(n);
    }
    if ids.is_empty() {
        bail!("no images to evaluate in {}", images_dir.display());
    }
    let bar = progress(ids.len(), "evaluate");
    let scores = parallel_map(&ids, &bar, |id| -> anyhow::Result<ImageScore> {
        let image = read_micrograph(&images_dir.join(format!("{id}.png")))?;
        let truth_bytes = std::fs::read(labels_dir.join(format!("{id}.png")))?;
        let truth = read_any(&truth_bytes, None)?;
        let truth: Vec<u32> = (0..truth.data.len())
            .map(|i| truth.data.value_f64(i).unwrap_or(0.0) as u32)
            .collect();
        let config = AnalysisConfig {
            pixel_size_nm: 1.0,
            polarity: Polarity::Auto,
            // The hand-made truth labels particles cut by the border too.
            exclude_edge_particles: false,
            ..AnalysisConfig::default()
        };
        let predicted = match analyze(&image.image, &config) {
            Ok(a) => a.labels,
            Err(athanor_vision::VisionError::NoParticles { .. }) => vec![0; truth.len()],
            Err(e) => return Err(e.into()),
        };
        Ok(score_image(
            id,
            &predicted,
            &truth,
            image.image.width,
            image.image.height,
            0.5,
        )?)
    });
    bar.finish_and_clear();
    let mut ok = Vec::new();
    for (id, s) in ids.iter().zip(scores) {
        match s {
            Ok(s) => ok.push(s),
            Err(e) => eprintln!("error: {id}: {e:#}"),
        }
    }
    if per_image {
        println!(
            "{:<14} {:>6} {:>6} {:>6} {:>8} {:>9}",
            "image", "truth", "found", "F1", "mIoU", "D50 err"
        );
        for s in &ok {
            println!(
                "{:<14} {:>6} {:>6} {:>6.3} {:>8.3} {:>9}",
                s.id,
                s.truth_count,
                s.predicted_count,
                s.matching.f1,
                s.matching.mean_matched_iou,
                s.d50_error
                    .map_or("-".into(), |e| format!("{:+.1}%", e * 100.0))
            );
        }
    }
    let summary = summarize(&ok);
    let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.1} %", v * 100.0));
    println!(
        "images scored          {} (of {})",
        summary.images,
        ids.len()
    );
    println!("mean F1 (IoU ≥ 0.5)    {:.3}", summary.mean_f1);
    println!("median F1              {:.3}", summary.median_f1);
    println!("pooled F1              {:.3}", summary.pooled_f1);
    println!("mean matched IoU       {:.3}", summary.mean_matched_iou);
    println!(
        "median |count error|   {}",
        pct(summary.median_abs_count_error)
    );
    println!(
        "median |D50 error|     {}",
        pct(summary.median_abs_d50_error)
    );
    println!(
        "median |D90 error|     {}",
        pct(summary.median_abs_d90_error)
    );
    println!(
        "{}",
        serde_json::json!({"bench": "vision-eval", "backend": "classical", "summary": summary})
    );
    if ok.len() < ids.len() {
        bail!(
            "{} of {} images could not be evaluated",
            ids.len() - ok.len(),
            ids.len()
        );
    }
    Ok(())
}
