//! The first excitonic absorption feature of a quantum-dot absorption spectrum.

use crate::smoothing::{
    estimate_noise, filter_coefficients, savitzky_golay, savitzky_golay_derivative,
};
use crate::{fmt_value, parabola_vertex, prepare, SpectraError};

/// Smoothing window (points) for locating maxima; a window of 11 at the usual 0.5–1 nm step is
/// well below the 20–60 nm width of excitonic features.
const SMOOTHING_WINDOW: usize = 11;
/// Window and order for the second derivative: a wider window tames the noise amplification of
/// differentiation, and a quartic keeps the curvature of features narrower than the window.
const CURVATURE_WINDOW: usize = 21;
const CURVATURE_ORDER: usize = 4;
/// A feature must stand out by this many standard deviations of the (filtered) noise.
const SIGNIFICANCE: f64 = 4.0;
/// The highest wiggle of a long stretch of smoothed noise easily has a prominence of 4–6σ (its
/// height above the lowest points on either side), so a maximum needs either the significant
/// downward curvature of a real band as well, or twice the prominence.
const STRONG_PROMINENCE: f64 = 2.0;

/// Wavelength of the first (lowest-energy) excitonic absorption feature, the quantity from which
/// quantum-dot sizes are read with sizing curves (e.g. Yu, Qu, Guo & Peng, *Chem. Mater.* 15,
/// 2854 (2003)).
///
/// The feature is the longest-wavelength one among
/// - significant local maxima of the smoothed spectrum (Savitzky–Golay, 11 points, quadratic),
///   located with sub-sample precision by a parabola through the three points around them, and
/// - significant local minima of the second derivative (21 points, quartic), i.e. points of
///   strongest downward curvature, which mark a feature that is only a shoulder on the rising
///   absorption of higher transitions and scattering.
///
/// A curvature minimum whose region of negative curvature contains a local maximum is the same
/// feature: the maximum is reported. A shoulder without a maximum is reported at its curvature
/// minimum (the deepest point of the region where the curvature is negative, since noise can
/// split one minimum into several). "Significant" is measured in standard deviations σ of the noise after filtering, with
/// the noise estimated from the raw data ([`estimate_noise`](crate::estimate_noise)): a curvature
/// minimum must reach −4σ; a maximum needs a prominence of 4σ and a −4σ curvature within two
/// samples, or a prominence of 8σ. Features within half a filter window of either end are
/// ignored because the filters are less reliable there.
///
/// `x_nm` may be increasing or decreasing but must be strictly monotonic and near-uniformly
/// spaced (the filters work in sample space). Returns the wavelength in the unit of `x_nm`.
pub fn first_exciton_peak(x_nm: &[f64], absorbance: &[f64]) -> Result<f64, SpectraError> {
    let (x, y) = prepare(x_nm, absorbance)?;
    let n = x.len();
    let odd_at_most = |w: usize| {
        if n >= w {
            w
        } else if n % 2 == 1 {
            n
        } else {
            n - 1
        }
    };

    let window = odd_at_most(SMOOTHING_WINDOW);
    let smoothed = savitzky_golay(&y, window, 2.min(window - 1))?;
    let curvature_window = odd_at_most(CURVATURE_WINDOW);
    let curvature_order = CURVATURE_ORDER.min(curvature_window - 1);
    let curvature = savitzky_golay_derivative(&y, curvature_window, curvature_order, 2)?;

    // Noise of each filtered series: σ·‖c‖ for the centre filter coefficients c.
    let noise = estimate_noise(&y)?;
    let norm = |c: Vec<f64>| c.iter().map(|v| v * v).sum::<f64>().sqrt();
    let smoothed_noise = noise * norm(filter_coefficients(window, 2.min(window - 1), 0, 0));
    let curvature_noise =
        noise * norm(filter_coefficients(curvature_window, curvature_order, 2, 0));
    // For noise-free data a tiny floor keeps rounding wiggles from counting as features.
    let scale = y
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let max_threshold = (SIGNIFICANCE * smoothed_noise).max(1e-9 * scale);
    let curvature_scale = curvature.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let curvature_threshold =
        (SIGNIFICANCE * curvature_noise).max(1e-9 * curvature_scale.max(f64::MIN_POSITIVE));

    let max_margin = (window / 2).max(1);
    let curves_down = |i: usize| {
        let (lo, hi) = (i.saturating_sub(2), (i + 2).min(n - 1));
        curvature[lo..=hi]
            .iter()
            .any(|d2| -d2 >= curvature_threshold)
    };
    let maxima: Vec<usize> = (max_margin..n - max_margin)
        .filter(|&i| smoothed[i] > smoothed[i - 1] && smoothed[i] >= smoothed[i + 1])
        .filter(|&i| {
            let p = prominence(&smoothed, i);
            p >= STRONG_PROMINENCE * max_threshold || (p >= max_threshold && curves_down(i))
        })
        .collect();
    let curvature_margin = (curvature_window / 2).max(1);
    let curvature_minima: Vec<usize> = (curvature_margin..n - curvature_margin)
        .filter(|&i| curvature[i] < curvature[i - 1] && curvature[i] <= curvature[i + 1])
        .filter(|&i| -curvature[i] >= curvature_threshold)
        .collect();

    let last_max = maxima.last().copied();
    let last_min = curvature_minima.last().copied();
    let refine_max = |i: usize| {
        parabola_vertex(
            [x[i - 1], x[i], x[i + 1]],
            [smoothed[i - 1], smoothed[i], smoothed[i + 1]],
        )
        .0
    };
    match (last_max, last_min) {
        (None, None) => Err(SpectraError::NoPeak(format!(
            "no absorption maximum or shoulder stands out of the noise (σ = {}) between {} and {}",
            fmt_value(noise),
            fmt_value(x[0]),
            fmt_value(x[n - 1])
        ))),
        (Some(i), None) => Ok(refine_max(i)),
        (Some(i), Some(j)) if i >= j => Ok(refine_max(i)),
        (_, Some(j)) => {
            // The curvature minimum is the reddest feature. Is it the bottom of a peak's
            // negative-curvature region, or a shoulder?
            let mut start = j;
            while start > 0 && curvature[start - 1] < 0.0 {
                start -= 1;
            }
            let mut end = j;
            while end + 1 < n && curvature[end + 1] < 0.0 {
                end += 1;
            }
            if let Some(&i) = maxima.iter().rev().find(|&&i| i >= start && i <= end) {
                return Ok(refine_max(i));
            }
            // Noise can split one band's curvature minimum into several local minima: the
            // shoulder is the deepest point of the whole negative-curvature region.
            let deepest = (start..=end)
                .filter(|&k| k >= curvature_margin && k < n - curvature_margin)
                .fold(j, |best, k| {
                    if curvature[k] < curvature[best] {
                        k
                    } else {
                        best
                    }
                });
            Ok(parabola_vertex(
                [x[deepest - 1], x[deepest], x[deepest + 1]],
                [
                    -curvature[deepest - 1],
                    -curvature[deepest],
                    -curvature[deepest + 1],
                ],
            )
            .0)
        }
    }
}

/// Topographic prominence of the local maximum at `i`: its height above the higher of the two
/// lowest points reached on each side before the series rises above it (or ends).
fn prominence(y: &[f64], i: usize) -> f64 {
    let peak = y[i];
    let mut left_min = peak;
    for v in y[..i].iter().rev() {
        if *v > peak {
            break;
        }
        left_min = left_min.min(*v);
    }
    let mut right_min = peak;
    for v in &y[i + 1..] {
        if *v > peak {
            break;
        }
        right_min = right_min.min(*v);
    }
    peak - left_min.max(right_min)
}
