//! # athanor-vision — particle analysis of electron micrographs
//!
//! Athanor runs this crate after every synthesis to turn a TEM/SEM image of nanoparticles into
//! a size distribution: it segments the particles, separates touching ones, measures each one
//! and summarises the ensemble (D10/D50/D90, mean, standard deviation, CV). It is pure
//! computation: the caller decodes the file (e.g. with `athanor-formats`) and passes pixels and
//! the pixel size; apart from the dataset loader and weight files of the optional [`learned`]
//! backend nothing here touches files, nothing touches the network or global state, and the
//! result is deterministic.
//!
//! ```
//! use athanor_vision::{analyze, AnalysisConfig, GrayImage, Polarity};
//! // A bright field with two dark discs of 24 px diameter (0.2 nm/px → 4.8 nm).
//! let (w, h) = (128, 96);
//! let pixels: Vec<u16> = (0..w * h)
//!     .map(|i| {
//!         let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
//!         let dark = [(40.0, 48.0), (90.0, 40.0)]
//!             .iter()
//!             .any(|&(cx, cy)| (x - cx).powi(2) + (y - cy).powi(2) < 144.0);
//!         if dark { 18_000 } else { 30_000 }
//!     })
//!     .collect();
//! let image = GrayImage::from_u16(w, h, &pixels)?;
//! let config = AnalysisConfig { pixel_size_nm: 0.2, polarity: Polarity::Dark, ..Default::default() };
//! let result = analyze(&image, &config)?;
//! let stats = result.stats.expect("two particles were counted");
//! assert_eq!(stats.count, 2);
//! assert!((stats.d50_nm - 4.8).abs() < 0.1);
//! # Ok::<(), athanor_vision::VisionError>(())
//! ```
//!
//! ## Pipeline ([`analyze`])
//! 1. **Denoising**: Gaussian blur, σ = [`AnalysisConfig::denoise_sigma_px`] (1 px). The white
//!    noise level σ_n is estimated from the median absolute difference of neighbouring pixels.
//! 2. **Coarse background and polarity**: tile medians (no mask; particles are a minority in
//!    each tile) remove illumination gradients; with [`Polarity::Auto`] the particles are the
//!    minority phase of an Otsu split (bright-field TEM: dark; SEM/HAADF: bright).
//! 3. **Background**: a smooth background `B(x, y)` is the median of the free background
//!    (pixels ≥ 2 px from the first mask) in tiles of about 4 typical particle diameters,
//!    bilinearly interpolated; the working signal is `s = ±(I_smoothed − B)`, particles
//!    positive. This removes illumination gradients and slow film-thickness variations.
//! 4. **Global threshold**: Otsu's method (Otsu 1979) on `s`, but at least 4 σ of the smoothed
//!    noise, so that a blank field does not produce noise "particles".
//! 5. **Separation of touching particles**: per connected blob, the exact Euclidean distance
//!    transform `D` (Felzenszwalb & Huttenlocher 2012); markers are the h-maxima of `D`, a
//!    maximum of height `P` being kept when its dynamic (height above the saddle joining it to
//!    a higher maximum) is at least `max(1 px, f·P)`, `f` =
//!    [`AnalysisConfig::split_depth_fraction`] — h scales with each particle's own inscribed
//!    radius, so small and large particles in one field are treated alike; a marker-controlled
//!    watershed of `−D` (priority flood) assigns every pixel. Two touching discs meet at a neck
//!    of about 0.3–0.5 of the smaller radius, so each keeps a dynamic of ≳ 0.5 P, while the
//!    digitisation ripples on a single disc's `D` stay below 1 px: pairs split, single
//!    particles stay whole.
//! 6. **Compact agglomerates**: three or more particles around a common point leave no saddle
//!    in `D`. Blobs at least 1.5× the typical area and clearly non-convex (solidity < 0.92) are
//!    partitioned into `k` parts by k-means refined to a power diagram of discs, `k` chosen so
//!    that every part is as close to a disc as possible (area over inscribed-disc area ≤ 1.5);
//!    otherwise they stay whole.
//! 7. **Boundary at half contrast**: for each particle the level `t_i = (b_i + p_i)/2`
//!    between its local background `b_i` (median of nearby free background) and its plateau
//!    `p_i` (median of pixels ≥ 3 px inside) is where the edge of a flat-topped object lies
//!    after any symmetric blur; pixels within 2 px of the boundary are re-classified against
//!    `t_i` on a lightly smoothed copy ([`AnalysisConfig::edge_sigma_px`], 0.5 px: a blurred
//!    disc's half-level contour shrinks by σ²/2R, so the boundary is not placed on the more
//!    strongly denoised image). Holes enclosed by a single particle are filled; gaps enclosed
//!    by several particles stay background.
//! 8. **Debris**: objects smaller than 20 % of the typical diameter (median inscribed diameter
//!    of the blobs), smaller than 9 px, or below [`AnalysisConfig::min_diameter_nm`] are
//!    dropped.
//! 9. **Measurements** ([`Particle`]): area = pixel count × pixel area, equivalent circular
//!    diameter `ECD = 2 sqrt(A/π)`; perimeter, convex hull (Andrew's monotone chain), Feret
//!    diameters (rotating calipers), circularity `4πA/P²` and solidity `A/A_hull` from a
//!    sub-pixel outline of the particle at its own half-contrast level (marching squares on the
//!    denoised signal), so that the perimeter does not overshoot like a pixel staircase and
//!    circularity ≤ 1 holds by the isoperimetric inequality rather than by clamping.
//! 10. **Statistics** ([`SizeStats`], [`size_stats`]): number-weighted on ECD over the
//!     counted particles. The counting rule excludes particles touching the image border (they
//!     are cut and would bias the distribution to small sizes;
//!     [`AnalysisConfig::exclude_edge_particles`]). Percentiles interpolate linearly between
//!     order statistics (Hyndman & Fan type 7).
//!
//! ## Population statistics, QC and annotations
//! * [`population_stats`] ([`population`]): number- and volume-weighted (`d³`) D10/D50/D90,
//!   mean, CV and span, a maximum-likelihood log-normal fit with its Kolmogorov–Smirnov
//!   distance, seeded bootstrap percentile intervals for D50/mean/CV, agglomerate (low
//!   solidity) and outlier (robust z-score of size, shape, intensity) flags.
//! * [`qc::qc_verdict`]: pass/fail against a [`qc::QcSpec`] (`d50 = "5.0 ± 0.3 nm"`,
//!   `cv_max`, `agglomerates_max`, `min_count`, …), naming every failed criterion with its
//!   measured and allowed values.
//! * [`annotations`]: finds the instrument's data bar and scale bar, masks them before the
//!   analysis and measures the bar's length so that an uncalibrated image can be calibrated
//!   from the bar's (user-given) physical length.
//!
//! ## Accuracy
//! On the twin's synthetic micrographs (`athanor-twin`, 0.2 nm/px, 10–20 % touching pairs and
//! 5 % agglomerates) the instance F1 at IoU ≥ 0.5 is ≥ 0.99 and the D50 lies 0.4–0.9 % (7 and
//! 5 nm) and 1.4–1.9 % (3.5 nm) below the truth. Most of that is physics, not the pipeline: a
//! sphere's mass–thickness contrast fades over the last fraction of a nanometre of its rim,
//! and once blurred by the microscope's PSF the half-contrast edge sits at the
//! area-equivalent radius `sqrt(r² − t0²/2) ≈ r − t0²/4r` (saturation thickness `t0`), i.e.
//! 0.33 %, 0.64 % and 1.3 % below the geometric diameter for 7, 5 and 3.5 nm at t0 = 0.4 nm.
//! The remaining ≲ 0.4 % is the curvature shift `σ²/2R` of a blurred edge.
//!
//! Validation against synthetic micrographs with pixel-exact ground truth
//! (`athanor-twin`) uses [`match_instances`] (instance F1 at IoU ≥ 0.5).
//!
//! ## Learned backend (feature `learned`, on by default)
//! [`learned`] holds a compact U-Net (candle, CPU only) that predicts foreground, boundary and
//! normalised-distance maps; [`learned::LearnedSegmenter::segment`] turns them into instance
//! labels (h-maxima of the predicted distance + the same marker-controlled watershed as
//! above), and [`analyze_labels`] measures any instance map like [`analyze`] does. Training
//! ([`learned::train`], `cargo run --release -p athanor-vision --example train`) uses the EMPS
//! dataset minus a fixed held-out split (`data/emps-heldout.txt`).
//!
//! ## Limits
//! * Particles are assumed compact (roughly convex, round-ish). Agglomerates of strongly
//!   different sizes or of more than ~8 members may stay partly unsplit; elongated particles
//!   (rods) are not split as long as they are convex.
//! * Particles should be at least ~8 px across for sizes within a few per cent.
//! * [`Polarity::Auto`] assumes particles cover less than half of the field.

pub mod annotations;
pub mod backend;
mod background;
mod clusters;
mod components;
mod distance;
mod error;
pub mod eval;
mod image;
#[cfg(feature = "learned")]
pub mod learned;
mod matching;
pub mod overlay;
mod pipeline;
pub mod population;
pub mod qc;
mod refine;
pub mod scale_label;
mod shape;
mod stats;
mod threshold;
mod watershed;

pub use backend::{analyze_with, Segmentation};
pub use error::VisionError;
pub use image::GrayImage;
pub use matching::{match_instances, MatchReport};
pub use population::{population_stats, PopulationConfig, PopulationStats};
pub use stats::{percentile_sorted, size_stats, SizeStats};

use serde::{Deserialize, Serialize};

/// Whether particles are darker or brighter than the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Particles darker than the background (bright-field TEM, mass–thickness contrast).
    Dark,
    /// Particles brighter than the background (SEM secondary electrons, HAADF-STEM).
    Bright,
    /// Decide from the image: the particles are the minority phase.
    Auto,
}

/// Settings of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// Edge length of one pixel on the specimen, nm. All lengths in the results use it.
    /// The default of 1.0 reports sizes in pixels.
    pub pixel_size_nm: f64,
    /// Particle contrast. Default [`Polarity::Auto`].
    pub polarity: Polarity,
    /// Objects with a smaller equivalent circular diameter are discarded as debris (removed
    /// from the label map and the particle list). Default `None`: only the automatic noise
    /// limit (20 % of the typical diameter) applies.
    pub min_diameter_nm: Option<f64>,
    /// Counting rule: particles touching the image border are cut off and therefore left out
    /// of [`ImageAnalysis::stats`] (they stay in the label map and the particle list, flagged).
    /// Default `true`.
    pub exclude_edge_particles: bool,
    /// Standard deviation of the Gaussian denoising filter, pixels (0 = none). Default 1.0.
    pub denoise_sigma_px: f64,
    /// Standard deviation of the Gaussian smoothing (pixels) of the signal on which each
    /// particle's boundary is placed at half contrast (0 = raw pixels). A Gaussian-blurred disc
    /// of radius R has its half-level contour at about `R − σ²/2R`, σ² summing the microscope's
    /// PSF and this smoothing, so less smoothing means less inward bias (≈ 0.5 % of the
    /// diameter at R = 9 px for σ = 0.5) but noisier boundary pixels. Default 0.5.
    pub edge_sigma_px: f64,
    /// Subtract a smooth background estimate (illumination, film thickness). Default `true`.
    pub correct_background: bool,
    /// Separate touching particles (watershed). Default `true`.
    pub split_touching: bool,
    /// A maximum of the distance map becomes its own particle when it rises above the saddle
    /// joining it to a higher maximum by at least this fraction of its own height (its
    /// inscribed radius). Lower values split more eagerly. Default 0.3; range (0, 1).
    pub split_depth_fraction: f64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            pixel_size_nm: 1.0,
            polarity: Polarity::Auto,
            min_diameter_nm: None,
            exclude_edge_particles: true,
            denoise_sigma_px: 1.0,
            edge_sigma_px: 0.5,
            correct_background: true,
            split_touching: true,
            split_depth_fraction: 0.3,
        }
    }
}

impl AnalysisConfig {
    /// Checks every setting's range.
    pub fn validate(&self) -> Result<(), VisionError> {
        let invalid = |field, value, reason| {
            Err(VisionError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if !(self.pixel_size_nm.is_finite() && self.pixel_size_nm > 0.0) {
            return invalid(
                "pixel_size_nm",
                self.pixel_size_nm,
                "expected a positive pixel size in nm",
            );
        }
        if let Some(d) = self.min_diameter_nm {
            if !(d.is_finite() && d >= 0.0) {
                return invalid("min_diameter_nm", d, "expected a finite diameter >= 0 nm");
            }
        }
        if !(self.denoise_sigma_px.is_finite() && (0.0..=20.0).contains(&self.denoise_sigma_px)) {
            return invalid(
                "denoise_sigma_px",
                self.denoise_sigma_px,
                "expected 0..=20 pixels",
            );
        }
        if !(self.edge_sigma_px.is_finite() && (0.0..=20.0).contains(&self.edge_sigma_px)) {
            return invalid(
                "edge_sigma_px",
                self.edge_sigma_px,
                "expected 0..=20 pixels",
            );
        }
        if !(self.split_depth_fraction > 0.0 && self.split_depth_fraction < 1.0) {
            return invalid(
                "split_depth_fraction",
                self.split_depth_fraction,
                "expected a fraction strictly between 0 and 1",
            );
        }
        Ok(())
    }
}

/// Measurements of one particle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Particle {
    /// Its value in [`ImageAnalysis::labels`].
    pub label: u32,
    /// Projected area (pixel count × pixel area), nm².
    pub area_nm2: f64,
    /// Equivalent circular diameter `2 sqrt(A/π)`, nm.
    pub ecd_nm: f64,
    /// Largest caliper diameter of the outline, nm.
    pub feret_max_nm: f64,
    /// Smallest caliper diameter of the outline, nm.
    pub feret_min_nm: f64,
    /// `feret_max / feret_min` (≥ 1; 1 for a disc).
    pub aspect_ratio: f64,
    /// Length of the sub-pixel outline, nm.
    pub perimeter_nm: f64,
    /// `4π A / P²` with A the area enclosed by the outline: 1 for a disc, smaller for
    /// elongated or ragged shapes; never above 1.
    pub circularity: f64,
    /// Outline area / convex-hull area (≤ 1; ≈ 1 for convex particles).
    pub solidity: f64,
    /// Centroid in pixel coordinates (pixel `(i, j)` has its centre at `(i + 0.5, j + 0.5)`).
    pub centroid_px: (f64, f64),
    /// The particle reaches the image border (it is probably cut off).
    pub touches_edge: bool,
    /// The particle was separated by the watershed from at least one touching neighbour.
    pub touching: bool,
    /// Mean raw intensity of its pixels, in the input's units.
    pub mean_intensity: f64,
}

/// Result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageAnalysis {
    /// Image width, pixels.
    pub width: usize,
    /// Image height, pixels.
    pub height: usize,
    /// Row-major instance map: 0 = background, else [`Particle::label`]. Includes particles
    /// touching the border.
    pub labels: Vec<u32>,
    /// Every particle, in label order (`particles[k].label == k + 1`), border ones flagged.
    pub particles: Vec<Particle>,
    /// Statistics of the counted particles' ECD (border particles excluded unless
    /// [`AnalysisConfig::exclude_edge_particles`] is false); `None` if none was counted.
    pub stats: Option<SizeStats>,
    /// Global segmentation threshold: particle contrast above the local background, in input
    /// intensity units (after denoising and background subtraction). Each particle's final
    /// boundary uses its own half-contrast level.
    pub threshold: f64,
    /// The polarity used (resolved when [`Polarity::Auto`] was asked for).
    pub polarity: Polarity,
    /// Estimated standard deviation of the pixel noise, input intensity units.
    pub noise_sigma: f64,
    /// Typical particle diameter (median inscribed diameter of the blobs), pixels; it sets the
    /// automatic scales (background tiles, debris limit).
    pub typical_diameter_px: f64,
    /// Human-readable remarks on what the analysis did (thresholds raised, particles split,
    /// debris dropped, border particles excluded).
    pub notes: Vec<String>,
}

/// Segments `image`, separates touching particles, measures them and summarises the sizes.
///
/// Errors for an inconsistent image or configuration, and [`VisionError::NoParticles`] when no
/// object stands out of the noise above the size limits.
pub fn analyze(image: &GrayImage, config: &AnalysisConfig) -> Result<ImageAnalysis, VisionError> {
    pipeline::run(image, config)
}

/// Measures the particles of an instance map produced elsewhere (e.g. by
/// [`learned::LearnedSegmenter`], or by hand) and summarises their sizes, exactly as
/// [`analyze`] does for its own segmentation.
///
/// `labels` is row-major (`width · height`), 0 = background; labels need not be consecutive
/// (they are renumbered 1.. in raster order of each label's first pixel). Outlines follow the
/// label pixels (no intensity-based sub-pixel placement), a particle is `touching` when a
/// different label is among its 4-neighbours, and `threshold` in the result is 0.
/// [`AnalysisConfig::min_diameter_nm`] drops small objects; the segmentation settings of
/// `config` are not used. Errors for inconsistent sizes and [`VisionError::NoParticles`] for an
/// empty map.
pub fn analyze_labels(
    image: &GrayImage,
    labels: &[u32],
    config: &AnalysisConfig,
) -> Result<ImageAnalysis, VisionError> {
    pipeline::measure_labels(image, labels, config)
}
