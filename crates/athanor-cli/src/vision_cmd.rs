//! `athanor vision …` and `athanor inspect`: micrograph analysis and file inspection from the
//! command line. The work is done by `athanor-formats` (reading) and `athanor-vision`
//! (analysis and scoring); this module only walks files, converts pixels and prints.

use anyhow::{bail, Context};
use athanor_formats::{read_any, read_path, read_path_info, Dataset};
use athanor_model::units::Unit;
use athanor_vision::annotations::{detect_annotations, mask_annotations};
use athanor_vision::eval::{score_image, summarize, ImageScore};
use athanor_vision::qc::{qc_verdict, Length, QcSpec};
use athanor_vision::scale_label::read_scale_label;
use athanor_vision::{
    analyze, analyze_with, population_stats, AnalysisConfig, GrayImage, Polarity, PopulationConfig,
    PopulationStats, Segmentation,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write as _;
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

/// `athanor inspect FILE`: the normalised metadata as JSON, without decoding the pixel payload
/// where the format allows it. Read through `read_path_info`, so an SEM image's metadata
/// sidecar (`<stem>.txt`, `.hdr`) is found and merged, and a sidecar given as FILE finds its
/// image.
pub fn inspect(path: &Path, preview: Option<&Path>) -> anyhow::Result<()> {
    let info = read_path_info(path).with_context(|| path.display().to_string())?;
    let mut doc = serde_json::to_value(&info)?;
    doc["file"] = serde_json::json!(path.display().to_string());
    doc["dtype"] = serde_json::json!(info.data_type.numpy_name());
    println!("{}", serde_json::to_string_pretty(&doc)?);
    if let Some(out) = preview {
        let name = path.display().to_string();
        let dataset = read_path(path).with_context(|| name.clone())?;
        let micrograph = micrograph_of(&dataset, &name)?;
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

/// Runs `work` over `items` on all cores and hands each result to `consume` in input order.
/// Items are processed a window of a few per worker at a time, so a batch of any length needs
/// no more memory than one window (the results are not collected).
fn parallel_for_each_ordered<T: Sync, R: Send>(
    items: &[T],
    bar: &ProgressBar,
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(&T, R) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    for window in items.chunks(4 * workers) {
        for (item, result) in window.iter().zip(parallel_map(window, bar, &work)) {
            consume(item, result)?;
        }
    }
    Ok(())
}

/// Optional per-image files written by `vision analyze`.
#[derive(Debug, Clone, Default)]
pub struct ImageOutputs {
    /// Directory for 16-bit instance label maps (`<stem>.labels.png`, 0 = background).
    pub labels: Option<PathBuf>,
    /// Directory for overlay images (`<stem>.overlay.png`).
    pub overlays: Option<PathBuf>,
    /// Directory for per-particle tables (`<stem>.particles.csv`) and the per-image summary
    /// of the whole batch (`summary.csv`).
    pub csv: Option<PathBuf>,
    /// Directory for size-distribution histograms with the log-normal fit
    /// (`<stem>.histogram.svg`).
    pub histograms: Option<PathBuf>,
}

/// Segmentation backends selectable on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Threshold, distance transform and watershed: exact and fast on clean, separated
    /// particles.
    #[default]
    Classical,
    /// The trained U-Net: for cluttered real micrographs (uneven contrast, clusters, films).
    Learned,
}

/// `--backend` and `--weights`, shared by `vision analyze` and `vision eval`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SegmenterArgs {
    /// Segmentation backend.
    #[arg(long, value_enum, default_value_t = Backend::Classical)]
    pub backend: Backend,
    /// U-Net weights (safetensors written by `vision train`) for --backend learned, instead
    /// of the weights shipped in the binary.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// --backend learned: foreground probability above which a pixel belongs to a particle
    /// (default: the value recorded with the weights' inference settings, 0.5).
    #[arg(long)]
    pub foreground_threshold: Option<f32>,
    /// --backend learned: smallest dynamic (0–1, normalised distance) of a distance maximum
    /// that starts its own particle; lower splits touching particles more eagerly.
    #[arg(long)]
    pub min_dynamic: Option<f64>,
    /// --backend learned: segment again at a coarser scale while the median particle is wider
    /// than this many pixels at the network's resolution (for fields of very large particles).
    #[arg(long)]
    pub rescale_above: Option<f64>,
    /// --backend learned: smallest mean foreground probability of a kept particle (0–1;
    /// default 0.8); 0 keeps every detection, higher drops more doubtful ones.
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// --backend learned: average the predictions of this many mirrored views of each image
    /// (1, 2 or 4; default 2); more views are steadier at doubtful edges and take
    /// proportionally longer.
    #[arg(long)]
    pub flips: Option<usize>,
}

impl SegmenterArgs {
    /// Loads the chosen backend once for a whole batch.
    pub fn segmentation(&self) -> anyhow::Result<Segmentation> {
        use athanor_vision::learned::LearnedSegmenter;
        let learned_only = self.weights.is_some()
            || self.foreground_threshold.is_some()
            || self.min_dynamic.is_some()
            || self.rescale_above.is_some()
            || self.min_confidence.is_some()
            || self.flips.is_some();
        if self.backend == Backend::Classical {
            if learned_only {
                bail!("--weights, --foreground-threshold, --min-dynamic, --rescale-above, --min-confidence and --flips apply only to --backend learned");
            }
            return Ok(Segmentation::Classical);
        }
        let mut segmenter = match &self.weights {
            Some(path) => LearnedSegmenter::load(path)
                .with_context(|| format!("loading U-Net weights {}", path.display()))?,
            None => match athanor_vision::learned::shipped_segmenter()? {
                Some(segmenter) => segmenter,
                None => bail!(
                    "this build ships no U-Net weights; pass --weights FILE (from `athanor vision train`)"
                ),
            },
        };
        if let Some(t) = self.foreground_threshold {
            if !(t > 0.0 && t < 1.0) {
                bail!(
                    "--foreground-threshold {t}: expected a probability strictly between 0 and 1"
                );
            }
            segmenter.config.foreground_threshold = t;
        }
        if let Some(d) = self.min_dynamic {
            if !(d > 0.0 && d < 1.0) {
                bail!("--min-dynamic {d}: expected a value strictly between 0 and 1");
            }
            segmenter.config.min_dynamic = d;
        }
        if let Some(px) = self.rescale_above {
            if !(px.is_finite() && px >= 8.0) {
                bail!("--rescale-above {px}: expected a diameter of at least 8 pixels");
            }
            segmenter.config.max_particle_px = Some(px);
        }
        if let Some(c) = self.min_confidence {
            if !(0.0..1.0).contains(&c) {
                bail!(
                    "--min-confidence {c}: expected a probability from 0 up to (not including) 1"
                );
            }
            segmenter.config.min_confidence = c;
        }
        if let Some(flips) = self.flips {
            if !athanor_vision::learned::FLIP_COUNTS.contains(&flips) {
                bail!("--flips {flips}: expected 1, 2 or 4 mirrored views");
            }
            segmenter.config.flips = flips;
        }
        Ok(Segmentation::Learned(std::sync::Arc::new(segmenter)))
    }
}

/// Settings of `vision analyze` besides the files.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Segmentation backend.
    pub segmenter: SegmenterArgs,
    /// nm per pixel, overriding the files' calibration.
    pub pixel_size_nm: Option<f64>,
    /// One JSON document instead of lines.
    pub json: bool,
    /// Extra files to write.
    pub outputs: ImageOutputs,
    /// QC specification (TOML) to judge each image against.
    pub spec: Option<PathBuf>,
    /// Seed of the bootstrap confidence intervals.
    pub seed: u64,
    /// What the image's scale bar stands for (e.g. `100 nm`): calibrates images whose file
    /// has no pixel size, from the bar's measured length.
    pub scale_bar: Option<String>,
    /// Analyse data bars and scale bars as image content instead of masking them.
    pub keep_annotations: bool,
}

/// What a batch came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Images analysed.
    pub analysed: usize,
    /// Files that could not be read or analysed.
    pub failed: usize,
    /// Analysed images whose QC verdict is a fail.
    pub rejected: usize,
}

/// File extensions picked up when a directory is given.
const IMAGE_EXTENSIONS: [&str; 6] = ["tif", "tiff", "dm3", "dm4", "png", "emd"];

/// The files named, with each directory replaced by its image files (recursively, sorted).
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out)?;
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(input, &mut files)?;
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Reads a QC spec (TOML, see `athanor_vision::qc`).
pub fn read_spec(path: &Path) -> anyhow::Result<QcSpec> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: not a valid QC spec", path.display()))
}

/// Per-particle table: one row per particle with its flags.
fn particles_csv(
    analysis: &athanor_vision::ImageAnalysis,
    population: Option<&PopulationStats>,
) -> anyhow::Result<Vec<u8>> {
    let flagged = |f: fn(&PopulationStats) -> &Vec<u32>, label: u32| {
        population.is_some_and(|p| f(p).binary_search(&label).is_ok())
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "label",
        "ecd [nm]",
        "area [nm^2]",
        "feret_max [nm]",
        "feret_min [nm]",
        "aspect_ratio",
        "perimeter [nm]",
        "circularity",
        "solidity",
        "x [px]",
        "y [px]",
        "mean_intensity",
        "touches_edge",
        "touching",
        "agglomerate",
        "outlier",
    ])?;
    for p in &analysis.particles {
        w.write_record([
            p.label.to_string(),
            format!("{:.4}", p.ecd_nm),
            format!("{:.4}", p.area_nm2),
            format!("{:.4}", p.feret_max_nm),
            format!("{:.4}", p.feret_min_nm),
            format!("{:.4}", p.aspect_ratio),
            format!("{:.4}", p.perimeter_nm),
            format!("{:.4}", p.circularity),
            format!("{:.4}", p.solidity),
            format!("{:.2}", p.centroid_px.0),
            format!("{:.2}", p.centroid_px.1),
            format!("{:.2}", p.mean_intensity),
            p.touches_edge.to_string(),
            p.touching.to_string(),
            flagged(|s| &s.agglomerates.labels, p.label).to_string(),
            flagged(|s| &s.outliers.any.labels, p.label).to_string(),
        ])?;
    }
    Ok(w.into_inner()?)
}

/// Histogram of the counted particles' ECD (number density per nm) with the fitted log-normal
/// density drawn over it, as SVG.
fn histogram_svg(
    path: &Path,
    title: &str,
    diameters_nm: &[f64],
    population: &PopulationStats,
) -> anyhow::Result<()> {
    use plotters::prelude::*;
    let lo = diameters_nm.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = diameters_nm
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    // Freedman–Diaconis-like bin count, between 5 and 60 bins.
    let n = diameters_nm.len();
    let bins = ((2.0 * (n as f64).cbrt()).round() as usize).clamp(5, 60);
    let span = if hi > lo { hi - lo } else { lo.max(1.0) * 0.1 };
    let (x0, x1) = (lo - 0.05 * span, hi + 0.05 * span);
    let width = (x1 - x0) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &d in diameters_nm {
        counts[(((d - x0) / width) as usize).min(bins - 1)] += 1;
    }
    let density = |c: usize| c as f64 / (n as f64 * width);
    let fit = population.lognormal.as_ref();
    let curve: Vec<(f64, f64)> = (0..=200)
        .map(|k| {
            let x = x0 + (x1 - x0) * k as f64 / 200.0;
            (x, fit.map_or(0.0, |f| f.pdf(x)))
        })
        .collect();
    let top = counts
        .iter()
        .map(|&c| density(c))
        .chain(curve.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..top.max(1e-9))?;
    chart
        .configure_mesh()
        .x_desc("equivalent circular diameter (nm)")
        .y_desc("number density (1/nm)")
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let a = x0 + i as f64 * width;
        Rectangle::new(
            [(a, 0.0), (a + width, density(c))],
            RGBColor(90, 140, 200).filled(),
        )
    }))?;
    if let Some(f) = fit {
        chart
            .draw_series(LineSeries::new(curve, RED.stroke_width(2)))?
            .label(format!(
                "log-normal: median {:.3} nm, σg {:.3}",
                f.median_nm, f.geometric_sd
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
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
    pixel_size_nm: Option<f64>,
) -> anyhow::Result<Vec<u8>> {
    use athanor_vision::overlay::{render_overlay, OverlayOptions};
    let rgb = render_overlay(
        &preview_gray(image),
        analysis,
        &OverlayOptions {
            ids: true,
            pixel_size_nm,
        },
    );
    Ok(athanor_formats::png::write_png(
        analysis.width,
        analysis.height,
        athanor_formats::png::PngLayout::Rgb8,
        &rgb,
    )?)
}

/// `athanor vision analyze FILE|DIR…`: particle statistics, population flags and an optional
/// QC verdict per image. Runs on all cores, one image per worker at a time (memory stays
/// bounded however many files), continues past files that fail and lists them at the end.
pub fn analyze_files(inputs: &[PathBuf], options: &AnalyzeOptions) -> anyhow::Result<BatchOutcome> {
    let outputs = &options.outputs;
    for dir in [
        &outputs.labels,
        &outputs.overlays,
        &outputs.csv,
        &outputs.histograms,
    ]
    .into_iter()
    .flatten()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let spec = options.spec.as_deref().map(read_spec).transpose()?;
    let segmentation = options.segmenter.segmentation()?;
    let scale_bar_nm = options
        .scale_bar
        .as_ref()
        .map(|text| Length::try_from(text.clone()).map(|l| l.nm))
        .transpose()
        .context("--scale-bar")?;
    let files = expand_inputs(inputs)?;
    if files.is_empty() {
        bail!("no image files found in the given paths");
    }
    let population_config = PopulationConfig {
        seed: options.seed,
        ..PopulationConfig::default()
    };
    let bar = progress(files.len(), "analyse");
    let mut outcome = BatchOutcome::default();
    let mut failures = Vec::new();
    // Results are written as they come (in input order): the JSON array element by element,
    // summary.csv row by row, so memory does not grow with the number of files.
    let mut summary = match &outputs.csv {
        Some(dir) => {
            let out = dir.join("summary.csv");
            let file = std::fs::File::create(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
            writer.write_record(summary_header())?;
            Some(writer)
        }
        None => None,
    };
    let stdout = std::io::stdout();
    let mut json_out = std::io::BufWriter::new(stdout.lock());
    if options.json {
        write!(json_out, "[")?;
    }
    let work = |path: &PathBuf| -> anyhow::Result<serde_json::Value> {
        let m = read_micrograph(path)?;
        let annotations = detect_annotations(&m.image)?;
        // The scale bar's label, read (OCR) only when nothing else calibrates the image: the
        // user's --pixel-size and --scale-bar and the file's metadata all take precedence.
        let read_label = match (
            options.pixel_size_nm,
            m.pixel_size_nm,
            scale_bar_nm,
            annotations.scale_bar,
        ) {
            (None, None, None, Some(bar)) => read_scale_label(&m.image, &bar, &annotations),
            _ => None,
        };
        let image = if options.keep_annotations {
            m.image
        } else {
            mask_annotations(&m.image, &annotations)?
        };
        let from_scale_bar = match (scale_bar_nm, annotations.scale_bar, &read_label) {
            (Some(length), Some(bar), _) => Some((bar.pixel_size_nm(length)?, "scale bar".into())),
            (None, Some(bar), Some(label)) => Some((
                bar.pixel_size_nm(label.length_nm)?,
                format!("scale bar (read: {:?})", label.text),
            )),
            _ => None,
        };
        let (size, calibrated): (f64, String) =
            match (options.pixel_size_nm, m.pixel_size_nm, from_scale_bar) {
                (Some(p), _, _) => (p, "user".into()),
                (None, Some(p), _) => (p, "metadata".into()),
                (None, None, Some((p, source))) => (p, source),
                (None, None, None) => (1.0, "none".into()),
            };
        let config = AnalysisConfig {
            pixel_size_nm: size,
            polarity: Polarity::Auto,
            ..AnalysisConfig::default()
        };
        let mut a = analyze_with(&image, &config, &segmentation)
            .with_context(|| path.display().to_string())?;
        if let Some(bar) = annotations.data_bar {
            a.notes.push(format!(
                "data bar: rows {}.. cut off before the analysis",
                bar.top_row
            ));
        }
        if let Some(bar) = annotations.scale_bar {
            a.notes.push(format!(
                "scale bar: {} px at x {}..{}, y {}..{}{}",
                bar.length_px(),
                bar.x0,
                bar.x1,
                bar.y0,
                bar.y1,
                if options.keep_annotations {
                    ""
                } else {
                    " (masked)"
                }
            ));
        } else if scale_bar_nm.is_some() {
            a.notes
                .push("--scale-bar was given but no scale bar was found".into());
        }
        if let Some(label) = &read_label {
            a.notes.push(format!(
                "scale bar label read as {:?} ({} nm, confidence {:.2}): pixel size {size:.4} nm \
                 from the scale bar",
                label.text, label.length_nm, label.confidence
            ));
        }
        let counted: Vec<athanor_vision::Particle> = a
            .particles
            .iter()
            .filter(|p| !(config.exclude_edge_particles && p.touches_edge))
            .cloned()
            .collect();
        let population = population_stats(&counted, &population_config)?;
        let verdict = spec
            .as_ref()
            .map(|spec| qc_verdict(population.as_ref(), spec));
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        let mut written = Vec::new();
        let mut write = |dir: &Option<PathBuf>, name: String, bytes: &[u8]| -> anyhow::Result<()> {
            if let Some(dir) = dir {
                let out = dir.join(name);
                std::fs::write(&out, bytes)
                    .with_context(|| format!("writing {}", out.display()))?;
                written.push(out.display().to_string());
            }
            Ok(())
        };
        if outputs.labels.is_some() {
            write(
                &outputs.labels,
                format!("{stem}.labels.png"),
                &label_png(&a.labels, a.width, a.height)?,
            )?;
        }
        if outputs.overlays.is_some() {
            write(
                &outputs.overlays,
                format!("{stem}.overlay.png"),
                &overlay_png(&image, &a, (calibrated != "none").then_some(size))?,
            )?;
        }
        if outputs.csv.is_some() {
            write(
                &outputs.csv,
                format!("{stem}.particles.csv"),
                &particles_csv(&a, population.as_ref())?,
            )?;
        }
        if let (Some(dir), Some(p)) = (&outputs.histograms, &population) {
            let out = dir.join(format!("{stem}.histogram.svg"));
            let diameters: Vec<f64> = counted.iter().map(|p| p.ecd_nm).collect();
            histogram_svg(
                &out,
                &format!("{stem}: {} particles", p.count),
                &diameters,
                p,
            )
            .with_context(|| format!("writing {}", out.display()))?;
            written.push(out.display().to_string());
        }
        Ok(serde_json::json!({
            "file": path.display().to_string(),
            "pixel_size_nm": size,
            "pixel_size_source": calibrated,
            "annotations": annotations,
            "scale_label": read_label,
            "particles": a.particles.len(),
            "stats": a.stats,
            "population": population,
            "qc": verdict,
            "notes": a.notes,
            "written": written,
        }))
    };
    let mut first = true;
    parallel_for_each_ordered(&files, &bar, work, |path, r| {
        let doc = match r {
            Ok(doc) => {
                outcome.analysed += 1;
                let rejected = doc["qc"]["pass"] == serde_json::json!(false);
                outcome.rejected += usize::from(rejected);
                if !options.json {
                    let p = &doc["population"];
                    let qc = match doc["qc"]["pass"].as_bool() {
                        Some(true) => " QC pass".to_string(),
                        Some(false) => format!(
                            " QC FAIL: {}",
                            doc["qc"]["reasons"]
                                .as_array()
                                .map(|r| r
                                    .iter()
                                    .filter_map(|v| v.as_str())
                                    .collect::<Vec<_>>()
                                    .join("; "))
                                .unwrap_or_default()
                        ),
                        None => String::new(),
                    };
                    let unit = if doc["pixel_size_source"] == "none" {
                        "px"
                    } else {
                        "nm"
                    };
                    println!(
                        "{}: {} counted, D50 {:.3} {unit} (95 % CI {:.3}–{:.3}), CV {:.3}, agglomerates {:.1} %, outliers {:.1} % (pixel size source: {}){qc}",
                        path.display(),
                        p["count"],
                        p["number"]["d50_nm"].as_f64().unwrap_or(f64::NAN),
                        p["bootstrap"]["d50_nm"]["low"].as_f64().unwrap_or(f64::NAN),
                        p["bootstrap"]["d50_nm"]["high"].as_f64().unwrap_or(f64::NAN),
                        p["number"]["cv"].as_f64().unwrap_or(f64::NAN),
                        100.0 * p["agglomerates"]["fraction"].as_f64().unwrap_or(f64::NAN),
                        100.0 * p["outliers"]["any"]["fraction"].as_f64().unwrap_or(f64::NAN),
                        doc["pixel_size_source"].as_str().unwrap_or(""),
                    );
                }
                doc
            }
            Err(e) => {
                outcome.failed += 1;
                failures.push(format!("{}: {e:#}", path.display()));
                serde_json::json!({"file": path.display().to_string(), "error": format!("{e:#}")})
            }
        };
        if let Some(writer) = summary.as_mut() {
            writer.write_record(summary_row(&doc))?;
        }
        if options.json {
            if !first {
                write!(json_out, ",")?;
            }
            serde_json::to_writer(&mut json_out, &doc)?;
        }
        first = false;
        Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(mut writer) = summary {
        writer.flush().context("writing summary.csv")?;
    }
    if options.json {
        writeln!(json_out, "]")?;
    }
    json_out.flush()?;
    drop(json_out);
    if !failures.is_empty() {
        eprintln!("{} of {} file(s) failed:", failures.len(), files.len());
        for f in &failures {
            eprintln!("  {f}");
        }
    }
    Ok(outcome)
}

/// The per-image summary columns besides file, pixel size, QC and error: header and JSON
/// path into an image's document.
const SUMMARY_COLUMNS: [(&str, &[&str]); 14] = [
    ("count", &["population", "count"]),
    ("d10 [nm]", &["population", "number", "d10_nm"]),
    ("d50 [nm]", &["population", "number", "d50_nm"]),
    ("d90 [nm]", &["population", "number", "d90_nm"]),
    ("mean [nm]", &["population", "number", "mean_nm"]),
    ("cv", &["population", "number", "cv"]),
    ("span", &["population", "number", "span"]),
    ("d50_volume [nm]", &["population", "volume", "d50_nm"]),
    (
        "d50_ci_low [nm]",
        &["population", "bootstrap", "d50_nm", "low"],
    ),
    (
        "d50_ci_high [nm]",
        &["population", "bootstrap", "d50_nm", "high"],
    ),
    (
        "lognormal_median [nm]",
        &["population", "lognormal", "median_nm"],
    ),
    (
        "lognormal_gsd",
        &["population", "lognormal", "geometric_sd"],
    ),
    (
        "agglomerate_fraction",
        &["population", "agglomerates", "fraction"],
    ),
    (
        "outlier_fraction",
        &["population", "outliers", "any", "fraction"],
    ),
];

/// The header of summary.csv.
fn summary_header() -> Vec<&'static str> {
    let mut header = vec!["file", "pixel_size [nm]", "pixel_size_source"];
    header.extend(SUMMARY_COLUMNS.iter().map(|c| c.0));
    header.extend(["qc", "error"]);
    header
}

/// One row of summary.csv for an image's document (failed files have only `file` and
/// `error`).
fn summary_row(doc: &serde_json::Value) -> Vec<String> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut row = vec![
        text(&doc["file"]),
        text(&doc["pixel_size_nm"]),
        text(&doc["pixel_size_source"]),
    ];
    for (_, path) in SUMMARY_COLUMNS {
        let value = path.iter().fold(doc, |v, key| &v[*key]);
        row.push(text(value));
    }
    row.push(match doc["qc"]["pass"].as_bool() {
        Some(true) => "pass".into(),
        Some(false) => "fail".into(),
        None => String::new(),
    });
    row.push(text(&doc["error"]));
    row
}

/// Settings of `vision eval`.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Only the first N images (sorted by id).
    pub limit: Option<usize>,
    /// Only the ids listed in this file.
    pub ids: Option<PathBuf>,
    /// Only the fixed held-out split.
    pub held_out: bool,
    /// Print a line per image.
    pub per_image: bool,
    /// Segmentation backend, loaded.
    pub segmentation: Segmentation,
}

/// `athanor vision eval DIR`: scores a segmentation backend against instance label maps in the
/// EMPS layout (`DIR/images/<id>.png`, `DIR/segmaps/<id>.png`).
pub fn eval_dir(dir: &Path, options: &EvalOptions) -> anyhow::Result<()> {
    let (limit, ids_file, held_out, per_image) = (
        options.limit,
        options.ids.as_deref(),
        options.held_out,
        options.per_image,
    );
    let segmentation = &options.segmentation;
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
        // As `vision analyze` does: data bar cut off, scale bar and panel label painted over;
        // the cut rows count as background.
        let annotations = detect_annotations(&image.image)?;
        let masked = mask_annotations(&image.image, &annotations)?;
        let predicted = match segmentation.segment(&masked, &config) {
            Ok(mut labels) => {
                labels.resize(truth.len(), 0);
                labels
            }
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
        serde_json::json!({"bench": "vision-eval", "backend": segmentation.name(), "summary": summary})
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

/// `athanor vision bench`: times the classical pipeline (and, with `learned`, the U-Net with the
/// shipped weights, or random ones in a build without weights) on a generated micrograph and
/// reports the peak memory.
pub fn bench(width: usize, height: usize, repeats: usize, learned: bool) -> anyhow::Result<()> {
    use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
    use std::time::Instant;
    // ~500 particles of 6 nm ± 8 % at 0.2 nm/px (30 px across) on a 2048×1536 field:
    // coverage = 500 · π/4 · 30² / (2048 · 1536) ≈ 0.11.
    let diameters: Vec<f64> = (0..64)
        .map(|k| 6.0 * (1.0 + 0.08 * ((k as f64 * 0.7).sin())))
        .collect();
    let field = (width * height) as f64;
    let coverage = (500.0 * std::f64::consts::FRAC_PI_4 * 30.0 * 30.0 / field).clamp(0.01, 0.5);
    let spec = MicrographSpec {
        width,
        height,
        coverage,
        ..MicrographSpec::default()
    };
    let started = Instant::now();
    let micrograph = render_micrograph(&diameters, &spec, 1)?;
    let generate_s = started.elapsed().as_secs_f64();
    // 8-bit, as a typical exported micrograph: stretch the 16-bit counts to 0..=255.
    let (lo, hi) = micrograph
        .pixels
        .iter()
        .fold((u16::MAX, 0u16), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = 255.0 / f64::from(hi.saturating_sub(lo).max(1));
    let bytes: Vec<u8> = micrograph
        .pixels
        .iter()
        .map(|&v| (f64::from(v - lo) * scale).round() as u8)
        .collect();
    let image = GrayImage::from_u8(width, height, &bytes)?;
    drop(micrograph.labels);
    let config = AnalysisConfig {
        pixel_size_nm: spec.pixel_size_nm,
        ..AnalysisConfig::default()
    };
    let rss_before = crate::bench::peak_rss_mb();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let a = analyze(&image, &config)?;
        times.push(t.elapsed().as_secs_f64());
        found = a.particles.len();
    }
    times.sort_by(f64::total_cmp);
    let classical_s = times[times.len() / 2];
    let classical_rss = crate::bench::peak_rss_mb();
    let mut learned_s = None;
    let mut learned_found = None;
    let mut learned_weights = "none";
    if learned {
        use athanor_vision::learned::{shipped_segmenter, LearnedSegmenter, UNet, UNetConfig};
        let segmenter = match shipped_segmenter()? {
            Some(shipped) => {
                learned_weights = "shipped";
                shipped
            }
            None => {
                learned_weights = "random";
                LearnedSegmenter::new(UNet::new(UNetConfig::default(), 1)?)?
            }
        };
        let mut learned_times = Vec::new();
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            let labels = segmenter.segment(&image)?;
            learned_found = athanor_vision::analyze_labels(&image, &labels, &config)
                .ok()
                .map(|a| a.particles.len());
            learned_times.push(t.elapsed().as_secs_f64());
        }
        learned_times.sort_by(f64::total_cmp);
        learned_s = Some(learned_times[learned_times.len() / 2]);
    }
    let peak = crate::bench::peak_rss_mb();
    let mb = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0} MB"));
    println!("image                         {width}×{height} 8-bit, {} particles placed ({:.2} s to generate)", micrograph.truth.len(), generate_s);
    println!("particles found               {found}");
    println!(
        "classical time (median of {})  {classical_s:.3} s   (target ≤ 1.0 s)",
        times.len()
    );
    println!("peak RSS before analysis      {}", mb(rss_before));
    println!(
        "peak RSS after classical      {}   (target ≤ 300 MB)",
        mb(classical_rss)
    );
    if let Some(t) = learned_s {
        println!("learned weights               {learned_weights}");
        println!(
            "particles found (learned)     {}",
            learned_found.map_or("-".into(), |n| n.to_string())
        );
        println!(
            "learned time (median of {})    {t:.3} s   (target ≤ 3 s, segmentation + measurement)",
            repeats.max(1)
        );
        println!("peak RSS after learned        {}", mb(peak));
    }
    println!(
        "{}",
        serde_json::json!({
            "bench": "vision",
            "width": width,
            "height": height,
            "bit_depth": 8,
            "particles_placed": micrograph.truth.len(),
            "particles_found": found,
            "classical_s": classical_s,
            "classical_peak_rss_mb": classical_rss,
            "learned_s": learned_s,
            "learned_weights": learned_weights,
            "learned_particles_found": learned_found,
            "peak_rss_mb": peak,
        })
    );
    Ok(())
}

/// `vision analyze` with its exit code: 2 for a bad spec or no files, 1 when a file failed or
/// (with `fail_on_reject`) an image failed QC.
pub fn analyze_command(
    inputs: &[PathBuf],
    options: &AnalyzeOptions,
    fail_on_reject: bool,
) -> Result<(), (u8, anyhow::Error)> {
    if let Some(spec) = &options.spec {
        read_spec(spec).map_err(|e| (2, e))?;
    }
    let outcome = analyze_files(inputs, options).map_err(|e| (2, e))?;
    if outcome.failed > 0 {
        return Err((
            1,
            anyhow::anyhow!(
                "{} of {} file(s) could not be analysed (listed above)",
                outcome.failed,
                outcome.failed + outcome.analysed
            ),
        ));
    }
    if fail_on_reject && outcome.rejected > 0 {
        return Err((
            1,
            anyhow::anyhow!(
                "{} of {} image(s) failed the QC spec",
                outcome.rejected,
                outcome.analysed
            ),
        ));
    }
    Ok(())
}

/// Settings of `vision train`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainOptions {
    /// Dataset directory with images/ and segmaps/ (held-out ids are never trained on).
    pub data: PathBuf,
    /// Output directory for unet.safetensors and the record unet.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the training images.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Seed (initialisation, crops, batch order; reproducible for a given seed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Use at most this many training images.
    #[arg(long)]
    pub max_images: Option<usize>,
    /// Square training crop edge, pixels at the network's resolution.
    #[arg(long, default_value_t = 128)]
    pub crop: usize,
    /// Crops per optimisation step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Channels of the network's first level (doubled at every level below).
    #[arg(long, default_value_t = athanor_vision::learned::UNetConfig::default().base_channels)]
    pub base_channels: usize,
    /// Resolution levels of the network.
    #[arg(long, default_value_t = athanor_vision::learned::UNetConfig::default().depth)]
    pub depth: usize,
    /// Box-downsampling factor applied to images before the network (stored with the weights).
    #[arg(long, default_value_t = athanor_vision::learned::UNetConfig::default().downsample)]
    pub downsample: usize,
    /// Initial learning rate (Adam).
    #[arg(long, default_value_t = athanor_vision::learned::TrainConfig::default().learning_rate)]
    pub learning_rate: f64,
    /// Probability of inverting a training crop's contrast (polarity augmentation).
    #[arg(long, default_value_t = athanor_vision::learned::TrainConfig::default().invert_probability)]
    pub invert_probability: f64,
    /// Stop after this many minutes (the learning-rate schedule follows the time budget).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Start from these weights (e.g. a checkpoint.safetensors or the shipped
    /// crates/athanor-vision/weights/emps-unet.safetensors) instead of a fresh network; the
    /// shape options must match them.
    #[arg(long)]
    pub init_weights: Option<PathBuf>,
    /// Rewrite checkpoint.safetensors in --out at most every this many minutes.
    #[arg(long, default_value_t = 5.0)]
    pub checkpoint_minutes: f64,
    /// Do not score the held-out split afterwards.
    #[arg(long)]
    pub no_eval: bool,
}

/// `athanor vision train`: trains the learned backend (CPU) and writes its weights and the
/// JSON record of how they were made (config, seed, image ids, losses, framework, timing).
pub fn train(options: &TrainOptions) -> anyhow::Result<()> {
    use athanor_vision::learned::{train, TrainConfig, TrainPaths};
    let config = TrainConfig {
        model: athanor_vision::learned::UNetConfig {
            base_channels: options.base_channels,
            depth: options.depth,
            downsample: options.downsample,
        },
        epochs: options.epochs,
        seed: options.seed,
        crop_size: options.crop,
        batch_size: options.batch,
        learning_rate: options.learning_rate,
        time_limit_s: options.minutes.map(|m| 60.0 * m),
        invert_probability: options.invert_probability,
        initial_weights: options.init_weights.clone(),
    };
    let paths = TrainPaths {
        data_dir: options.data.clone(),
        out_dir: options.out.clone(),
        max_images: options.max_images,
        evaluate_heldout: !options.no_eval,
        checkpoint_every_s: Some(60.0 * options.checkpoint_minutes),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} train [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = train(&paths, &config, &mut |p| {
        bar.set_length(p.total_steps as u64);
        bar.set_position(p.step as u64);
        bar.set_message(format!("epoch {} loss {:.4}", p.epoch, p.loss));
    })?;
    bar.finish_and_clear();
    println!(
        "trained {} step(s), {} epoch(s) on {} image(s) in {:.1} s; weights and record in {}",
        report.steps,
        report.epochs_completed,
        report.train_ids.len(),
        report.train_seconds,
        options.out.display()
    );
    println!(
        "{}",
        serde_json::json!({
            "weights": options.out.join("unet.safetensors").display().to_string(),
            "record": options.out.join("unet.json").display().to_string(),
            "steps": report.steps,
            "epoch_losses": report.epoch_losses,
            "heldout": report.heldout,
        })
    );
    Ok(())
}
