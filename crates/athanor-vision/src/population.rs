//! Population statistics of a particle ensemble: number- and volume-weighted size
//! percentiles, a log-normal fit, bootstrap confidence intervals, agglomerate and outlier flags.
//!
//! * **Number-weighted** percentiles interpolate between order statistics (Hyndman & Fan type
//!   7, as [`crate::size_stats`]).
//! * **Volume-weighted** percentiles weight each particle by `d³` (a sphere's volume, up to a
//!   constant) — the distribution a laser-diffraction instrument would report. The cumulative
//!   volume fraction of the `i`-th smallest particle is taken at the middle of its own weight,
//!   `F_i = (Σ_{j<i} w_j + w_i/2) / Σ w`, and `D_q` interpolates linearly in `F` (clamped to
//!   the smallest/largest diameter outside `[F_1, F_n]`); for equal weights this is Hazen's
//!   rule (Hyndman & Fan type 5). The volume-weighted mean is De Brouckère's
//!   `D[4,3] = Σ d⁴ / Σ d³`, its CV the `d³`-weighted standard deviation over `D[4,3]`.
//! * **Span** `(D90 − D10) / D50`.
//! * **Log-normal fit** by maximum likelihood on `ln d`: `μ = mean(ln d)`,
//!   `σ² = mean((ln d − μ)²)` (the MLE divides by `n`); median `e^μ`, geometric standard
//!   deviation `e^σ`, mean `e^{μ + σ²/2}`. The Kolmogorov–Smirnov distance `sup |F_n − Φ((ln d −
//!   μ)/σ)|` says how well it fits (Φ via the complementary error function, Numerical Recipes
//!   `erfc` Chebyshev approximation, |error| < 1.2·10⁻⁷).
//! * **Bootstrap** (Efron & Tibshirani 1993): `B` resamples of `n` particles with replacement,
//!   drawn with a seeded ChaCha8 generator; percentile intervals for the number-weighted D50,
//!   mean and CV.
//! * **Agglomerates**: particles whose solidity (area / convex-hull area) is below
//!   [`PopulationConfig::agglomerate_solidity_max`] — after the pipeline's watershed, a
//!   clearly non-convex object is a cluster it could not (or should not) split.
//! * **Outliers / foreign particles**: robust z-scores `z = 0.6745 (x − median) / MAD`
//!   (Iglewicz & Hoaglin 1993), flagged when `|z| >` [`PopulationConfig::outlier_z`] (3.5), on
//!   `ln ECD` (size), circularity (shape) and mean intensity (material/thickness). A floor on
//!   the MAD keeps a near-perfectly uniform population from flagging noise.

use crate::{percentile_sorted, Particle, VisionError};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Settings of [`population_stats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationConfig {
    /// Number of bootstrap resamples (0 = no confidence intervals). Default 1000.
    pub bootstrap_resamples: usize,
    /// Two-sided confidence level of the intervals. Default 0.95.
    pub confidence: f64,
    /// Seed of the bootstrap's random generator. Default 0.
    pub seed: u64,
    /// Particles with a smaller solidity count as agglomerates. Default 0.85.
    pub agglomerate_solidity_max: f64,
    /// Robust z-score beyond which a particle is an outlier. Default 3.5.
    pub outlier_z: f64,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        PopulationConfig {
            bootstrap_resamples: 1000,
            confidence: 0.95,
            seed: 0,
            agglomerate_solidity_max: 0.85,
            outlier_z: 3.5,
        }
    }
}

impl PopulationConfig {
    /// Checks every setting's range.
    pub fn validate(&self) -> Result<(), VisionError> {
        let invalid = |field, value, reason| {
            Err(VisionError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return invalid(
                "confidence",
                self.confidence,
                "expected a level strictly between 0 and 1",
            );
        }
        if !(self.agglomerate_solidity_max.is_finite()
            && (0.0..=1.0).contains(&self.agglomerate_solidity_max))
        {
            return invalid(
                "agglomerate_solidity_max",
                self.agglomerate_solidity_max,
                "expected a solidity in 0..=1",
            );
        }
        if !(self.outlier_z.is_finite() && self.outlier_z > 0.0) {
            return invalid("outlier_z", self.outlier_z, "expected a positive z-score");
        }
        Ok(())
    }
}

/// Percentiles, mean and spread of one weighting of the diameters, nm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedSizes {
    /// 10th percentile, nm.
    pub d10_nm: f64,
    /// Median, nm.
    pub d50_nm: f64,
    /// 90th percentile, nm.
    pub d90_nm: f64,
    /// Weighted mean (number: arithmetic mean; volume: `D[4,3]`), nm.
    pub mean_nm: f64,
    /// Weighted standard deviation / weighted mean (number: sample std with `n − 1`).
    pub cv: f64,
    /// `(D90 − D10) / D50`.
    pub span: f64,
}

/// Maximum-likelihood log-normal fit of the diameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogNormalFit {
    /// Mean of `ln(d / nm)`.
    pub mu: f64,
    /// Standard deviation of `ln(d / nm)` (MLE, divides by n).
    pub sigma: f64,
    /// Median `e^μ`, nm.
    pub median_nm: f64,
    /// Geometric standard deviation `e^σ` (dimensionless, ≥ 1).
    pub geometric_sd: f64,
    /// Mean of the fitted distribution `e^{μ + σ²/2}`, nm.
    pub mean_nm: f64,
    /// Kolmogorov–Smirnov distance between the data and the fit (0 = perfect).
    pub ks_distance: f64,
}

impl LogNormalFit {
    /// Probability density of the fitted distribution at `d_nm` (per nm).
    pub fn pdf(&self, d_nm: f64) -> f64 {
        if d_nm <= 0.0 || self.sigma <= 0.0 {
            return 0.0;
        }
        let z = (d_nm.ln() - self.mu) / self.sigma;
        (-0.5 * z * z).exp() / (d_nm * self.sigma * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// Cumulative distribution of the fit at `d_nm`.
    pub fn cdf(&self, d_nm: f64) -> f64 {
        if d_nm <= 0.0 {
            return 0.0;
        }
        if self.sigma <= 0.0 {
            return if d_nm.ln() >= self.mu { 1.0 } else { 0.0 };
        }
        normal_cdf((d_nm.ln() - self.mu) / self.sigma)
    }
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// Bootstrap percentile confidence intervals of number-weighted statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapIntervals {
    /// Resamples drawn.
    pub resamples: usize,
    /// Two-sided confidence level.
    pub confidence: f64,
    /// Seed of the generator.
    pub seed: u64,
    /// Interval of the median (D50), nm.
    pub d50_nm: Interval,
    /// Interval of the mean, nm.
    pub mean_nm: Interval,
    /// Interval of the coefficient of variation.
    pub cv: Interval,
}

/// Particles carrying one flag: how many, which fraction of the population, which labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagCount {
    /// Number of flagged particles.
    pub count: usize,
    /// `count / population count`.
    pub fraction: f64,
    /// Their [`Particle::label`]s, ascending.
    pub labels: Vec<u32>,
}

impl FlagCount {
    fn from_labels(labels: Vec<u32>, population: usize) -> FlagCount {
        FlagCount {
            count: labels.len(),
            fraction: if population > 0 {
                labels.len() as f64 / population as f64
            } else {
                0.0
            },
            labels,
        }
    }
}

/// Outlier flags by robust z-score of three properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutlierFlags {
    /// Size outliers (`ln ECD`).
    pub size: FlagCount,
    /// Shape outliers (circularity).
    pub shape: FlagCount,
    /// Intensity outliers (mean intensity: other material or thickness).
    pub intensity: FlagCount,
    /// Particles flagged for at least one reason.
    pub any: FlagCount,
}

/// Everything [`population_stats`] reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationStats {
    /// Number of particles.
    pub count: usize,
    /// Number-weighted statistics of the ECD.
    pub number: WeightedSizes,
    /// Volume-weighted (`d³`) statistics of the ECD.
    pub volume: WeightedSizes,
    /// Log-normal fit; `None` with fewer than 2 particles.
    pub lognormal: Option<LogNormalFit>,
    /// Bootstrap intervals; `None` when no resamples were asked for or fewer than 2 particles.
    pub bootstrap: Option<BootstrapIntervals>,
    /// Agglomerates (solidity below the limit).
    pub agglomerates: FlagCount,
    /// Particles separated from a touching neighbour by the pipeline ([`Particle::touching`]).
    pub touching: FlagCount,
    /// Outliers by size, shape and intensity.
    pub outliers: OutlierFlags,
}

/// Population statistics of `particles` (normally the counted ones: not touching the border).
/// Particles with a non-finite or non-positive ECD are ignored. `Ok(None)` when none is left;
/// errors for an invalid configuration.
pub fn population_stats(
    particles: &[Particle],
    config: &PopulationConfig,
) -> Result<Option<PopulationStats>, VisionError> {
    config.validate()?;
    let valid: Vec<&Particle> = particles
        .iter()
        .filter(|p| p.ecd_nm.is_finite() && p.ecd_nm > 0.0)
        .collect();
    let n = valid.len();
    if n == 0 {
        return Ok(None);
    }
    let diameters: Vec<f64> = valid.iter().map(|p| p.ecd_nm).collect();
    let mut sorted = diameters.clone();
    sorted.sort_by(f64::total_cmp);

    let number = number_weighted(&sorted);
    let volume = volume_weighted(&sorted);
    let lognormal = (n >= 2).then(|| fit_lognormal(&sorted));
    let bootstrap = (n >= 2 && config.bootstrap_resamples > 0).then(|| {
        bootstrap(
            &diameters,
            config.bootstrap_resamples,
            config.confidence,
            config.seed,
        )
    });

    let agglomerates: Vec<u32> = valid
        .iter()
        .filter(|p| p.solidity < config.agglomerate_solidity_max)
        .map(|p| p.label)
        .collect();
    let touching: Vec<u32> = valid
        .iter()
        .filter(|p| p.touching)
        .map(|p| p.label)
        .collect();

    // Robust z-scores; MAD floors: 2 % in size (ln scale), 0.02 in circularity, 1 % of the
    // median intensity magnitude (intensity units are arbitrary, so only a relative floor).
    let log_sizes: Vec<f64> = valid.iter().map(|p| p.ecd_nm.ln()).collect();
    let circularities: Vec<f64> = valid.iter().map(|p| p.circularity).collect();
    let intensities: Vec<f64> = valid.iter().map(|p| p.mean_intensity).collect();
    let flag = |values: &[f64], floor: &dyn Fn(f64) -> f64| -> Vec<bool> {
        robust_z_scores(values, floor)
            .iter()
            .map(|z| z.abs() > config.outlier_z)
            .collect()
    };
    let size_flags = flag(&log_sizes, &|_| 0.02);
    let shape_flags = flag(&circularities, &|_| 0.02);
    let intensity_flags = flag(&intensities, &|median| 0.01 * median.abs());
    let labels_where = |flags: &[bool]| -> Vec<u32> {
        let mut labels: Vec<u32> = valid
            .iter()
            .zip(flags)
            .filter(|(_, &f)| f)
            .map(|(p, _)| p.label)
            .collect();
        labels.sort_unstable();
        labels
    };
    let any: Vec<bool> = (0..n)
        .map(|i| size_flags[i] || shape_flags[i] || intensity_flags[i])
        .collect();
    let sorted_labels = |mut v: Vec<u32>| {
        v.sort_unstable();
        v
    };
    Ok(Some(PopulationStats {
        count: n,
        number,
        volume,
        lognormal,
        bootstrap,
        agglomerates: FlagCount::from_labels(sorted_labels(agglomerates), n),
        touching: FlagCount::from_labels(sorted_labels(touching), n),
        outliers: OutlierFlags {
            size: FlagCount::from_labels(labels_where(&size_flags), n),
            shape: FlagCount::from_labels(labels_where(&shape_flags), n),
            intensity: FlagCount::from_labels(labels_where(&intensity_flags), n),
            any: FlagCount::from_labels(labels_where(&any), n),
        },
    }))
}

/// Number-weighted statistics of sorted, positive, finite diameters.
fn number_weighted(sorted: &[f64]) -> WeightedSizes {
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (sorted.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let q = |q: f64| percentile_sorted(sorted, q).unwrap_or(f64::NAN);
    let (d10, d50, d90) = (q(0.1), q(0.5), q(0.9));
    WeightedSizes {
        d10_nm: d10,
        d50_nm: d50,
        d90_nm: d90,
        mean_nm: mean,
        cv: std / mean,
        span: (d90 - d10) / d50,
    }
}

/// Volume-weighted (`d³`) statistics of sorted, positive, finite diameters.
fn volume_weighted(sorted: &[f64]) -> WeightedSizes {
    let weights: Vec<f64> = sorted.iter().map(|d| d.powi(3)).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    let positions: Vec<f64> = weights
        .iter()
        .map(|w| {
            let mid = (cumulative + 0.5 * w) / total;
            cumulative += w;
            mid
        })
        .collect();
    let q = |q: f64| weighted_percentile(sorted, &positions, q);
    let mean = sorted.iter().zip(&weights).map(|(d, w)| d * w).sum::<f64>() / total;
    let variance = sorted
        .iter()
        .zip(&weights)
        .map(|(d, w)| w * (d - mean).powi(2))
        .sum::<f64>()
        / total;
    let (d10, d50, d90) = (q(0.1), q(0.5), q(0.9));
    WeightedSizes {
        d10_nm: d10,
        d50_nm: d50,
        d90_nm: d90,
        mean_nm: mean,
        cv: variance.sqrt() / mean,
        span: (d90 - d10) / d50,
    }
}

/// Linear interpolation of `values` at cumulative fraction `q` given each value's (ascending)
/// cumulative position; clamped outside the first/last position.
fn weighted_percentile(values: &[f64], positions: &[f64], q: f64) -> f64 {
    let n = values.len();
    if q <= positions[0] {
        return values[0];
    }
    if q >= positions[n - 1] {
        return values[n - 1];
    }
    let upper = positions.partition_point(|&p| p < q);
    let lower = upper - 1;
    let t = (q - positions[lower]) / (positions[upper] - positions[lower]);
    values[lower] + t * (values[upper] - values[lower])
}

/// MLE log-normal fit and its KS distance to the empirical distribution of `sorted`.
fn fit_lognormal(sorted: &[f64]) -> LogNormalFit {
    let n = sorted.len() as f64;
    let mu = sorted.iter().map(|d| d.ln()).sum::<f64>() / n;
    let sigma = (sorted.iter().map(|d| (d.ln() - mu).powi(2)).sum::<f64>() / n).sqrt();
    let mut fit = LogNormalFit {
        mu,
        sigma,
        median_nm: mu.exp(),
        geometric_sd: sigma.exp(),
        mean_nm: (mu + 0.5 * sigma * sigma).exp(),
        ks_distance: 0.0,
    };
    fit.ks_distance = sorted
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let f = fit.cdf(d);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max);
    fit
}

/// Percentile bootstrap of the number-weighted median, mean and CV.
fn bootstrap(
    diameters: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> BootstrapIntervals {
    let n = diameters.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut medians = Vec::with_capacity(resamples);
    let mut means = Vec::with_capacity(resamples);
    let mut cvs = Vec::with_capacity(resamples);
    let mut sample = vec![0.0; n];
    for _ in 0..resamples {
        for s in sample.iter_mut() {
            *s = diameters[rng.random_range(0..n)];
        }
        sample.sort_by(f64::total_cmp);
        let stats = number_weighted(&sample);
        medians.push(stats.d50_nm);
        means.push(stats.mean_nm);
        cvs.push(stats.cv);
    }
    let alpha = 0.5 * (1.0 - confidence);
    let interval = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        Interval {
            low: percentile_sorted(&values, alpha).unwrap_or(f64::NAN),
            high: percentile_sorted(&values, 1.0 - alpha).unwrap_or(f64::NAN),
        }
    };
    BootstrapIntervals {
        resamples,
        confidence,
        seed,
        d50_nm: interval(medians),
        mean_nm: interval(means),
        cv: interval(cvs),
    }
}

/// Robust z-scores `0.6745 (x − median) / max(MAD, floor(median))`.
fn robust_z_scores(values: &[f64], floor: &dyn Fn(f64) -> f64) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = percentile_sorted(&sorted, 0.5).unwrap_or(0.0);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = percentile_sorted(&deviations, 0.5)
        .unwrap_or(0.0)
        .max(floor(median));
    // NaN-safe: a MAD that is not a positive number gives no outliers.
    if mad.is_nan() || mad <= 0.0 {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| 0.6745 * (v - median) / mad).collect()
}

/// Standard normal CDF `Φ(z) = erfc(−z/√2) / 2`.
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function, Chebyshev fit with |relative error| < 1.2·10⁻⁷ (Numerical
/// Recipes, 2nd ed., §6.2 `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, LogNormal};

    fn particle(label: u32, ecd_nm: f64) -> Particle {
        Particle {
            label,
            area_nm2: std::f64::consts::PI * 0.25 * ecd_nm * ecd_nm,
            ecd_nm,
            feret_max_nm: ecd_nm,
            feret_min_nm: ecd_nm,
            aspect_ratio: 1.0,
            perimeter_nm: std::f64::consts::PI * ecd_nm,
            circularity: 0.95,
            solidity: 0.98,
            centroid_px: (0.0, 0.0),
            touches_edge: false,
            touching: false,
            mean_intensity: 100.0,
        }
    }

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }

    #[test]
    fn volume_weighting_moves_towards_large_particles() {
        // Nine 1 nm particles and one 10 nm one: by number the median is 1 nm, by volume the
        // 10 nm particle holds 1000/1009 of the volume, so D50 and D[4,3] are near 10 nm.
        let mut particles: Vec<Particle> = (1..=9).map(|l| particle(l, 1.0)).collect();
        particles.push(particle(10, 10.0));
        let config = PopulationConfig {
            bootstrap_resamples: 0,
            ..Default::default()
        };
        let s = population_stats(&particles, &config).unwrap().unwrap();
        assert_eq!(s.count, 10);
        assert!((s.number.d50_nm - 1.0).abs() < 1e-12);
        assert!((s.number.mean_nm - 1.9).abs() < 1e-12);
        assert!(s.volume.d50_nm > 9.9, "{}", s.volume.d50_nm);
        let d43 = (9.0 + 10_000.0) / (9.0 + 1000.0);
        assert!((s.volume.mean_nm - d43).abs() < 1e-9);
        assert!(s.bootstrap.is_none());
        // Equal weights: volume percentiles follow Hazen's rule (positions (i + 0.5)/n).
        let equal: Vec<Particle> = (1..=4).map(|l| particle(l, 5.0)).collect();
        let s = population_stats(&equal, &config).unwrap().unwrap();
        assert_eq!((s.volume.d10_nm, s.volume.d90_nm), (5.0, 5.0));
        assert_eq!(s.volume.cv, 0.0);
    }

    #[test]
    fn lognormal_fit_and_bootstrap_recover_the_generating_distribution() {
        // 400 diameters from LN(μ = ln 5, σ = 0.1): the fit finds μ, σ within sampling error,
        // the KS distance is small and the intervals cover the true median/CV.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let dist = LogNormal::new(5f64.ln(), 0.1).unwrap();
        let particles: Vec<Particle> = (1..=400)
            .map(|l| particle(l, dist.sample(&mut rng)))
            .collect();
        let config = PopulationConfig::default();
        let s = population_stats(&particles, &config).unwrap().unwrap();
        let fit = s.lognormal.as_ref().unwrap();
        assert!((fit.median_nm - 5.0).abs() < 0.1, "{fit:?}");
        assert!((fit.sigma - 0.1).abs() < 0.015, "{fit:?}");
        assert!(fit.ks_distance < 0.07, "{fit:?}");
        let ci = s.bootstrap.as_ref().unwrap();
        assert_eq!(ci.resamples, 1000);
        assert!(ci.d50_nm.low < s.number.d50_nm && s.number.d50_nm < ci.d50_nm.high);
        assert!(ci.d50_nm.low < 5.0 && 5.0 < ci.d50_nm.high, "{ci:?}");
        assert!(ci.cv.low < 0.1 && 0.1 < ci.cv.high, "{ci:?}");
        // ~ ±2 standard errors of the mean (σ·5/√400 = 0.025 nm).
        let width = ci.mean_nm.high - ci.mean_nm.low;
        assert!((0.07..0.13).contains(&width), "{width}");
        // Seeded: the same seed gives the same intervals, another seed different ones.
        let again = population_stats(&particles, &config).unwrap().unwrap();
        assert_eq!(again.bootstrap, s.bootstrap);
        let other = population_stats(
            &particles,
            &PopulationConfig {
                seed: 1,
                ..config.clone()
            },
        )
        .unwrap()
        .unwrap();
        assert_ne!(other.bootstrap, s.bootstrap);
        // Span of a log-normal with σ = 0.1: (e^{1.2816σ} − e^{−1.2816σ}) ≈ 0.257.
        assert!((s.number.span - 0.257).abs() < 0.03, "{}", s.number.span);
    }

    #[test]
    fn agglomerates_and_outliers_are_flagged() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let dist = LogNormal::new(5f64.ln(), 0.05).unwrap();
        let mut particles: Vec<Particle> = (1..=100)
            .map(|l| {
                let mut p = particle(l, dist.sample(&mut rng));
                p.circularity = 0.93 + 0.01 * ((l % 5) as f64);
                p.mean_intensity = 100.0 + (l % 7) as f64;
                p
            })
            .collect();
        particles[10].solidity = 0.7; // an unsplit cluster
        particles[10].circularity = 0.55;
        particles[20].ecd_nm = 12.0; // a foreign large particle
        particles[30].mean_intensity = 300.0; // a different material
        particles[40].touching = true;
        let s = population_stats(&particles, &PopulationConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(s.agglomerates.labels, vec![11]);
        assert!((s.agglomerates.fraction - 0.01).abs() < 1e-12);
        assert_eq!(s.touching.labels, vec![41]);
        assert_eq!(s.outliers.size.labels, vec![21]);
        assert_eq!(s.outliers.shape.labels, vec![11]);
        assert_eq!(s.outliers.intensity.labels, vec![31]);
        assert_eq!(s.outliers.any.labels, vec![11, 21, 31]);
        assert_eq!(s.outliers.any.count, 3);
    }

    #[test]
    fn degenerate_and_invalid_inputs() {
        let config = PopulationConfig::default();
        assert_eq!(population_stats(&[], &config).unwrap(), None);
        let mut bad = particle(1, f64::NAN);
        assert_eq!(population_stats(&[bad.clone()], &config).unwrap(), None);
        bad.ecd_nm = 4.0;
        let one = population_stats(&[bad], &config).unwrap().unwrap();
        assert_eq!(one.count, 1);
        assert!(one.lognormal.is_none() && one.bootstrap.is_none());
        assert_eq!(one.number.cv, 0.0);
        let invalid = PopulationConfig {
            confidence: 1.0,
            ..Default::default()
        };
        assert!(matches!(
            population_stats(&[], &invalid),
            Err(VisionError::InvalidConfig {
                field: "confidence",
                ..
            })
        ));
    }
}
