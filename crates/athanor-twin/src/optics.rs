//! Optical properties of CdSe/ZnS dots: sizing curve, Stokes shift, shell red-shift, ensemble
//! emission and absorption spectra, quantum yield (see the crate docs for equations and sources).

use crate::inputs::SynthesisInputs;

/// Thickness of one ZnS monolayer, nm.
pub const ZNS_MONOLAYER_NM: f64 = 0.31;
/// Shortest first-exciton wavelength for which the sizing curve is used, nm (D ≈ 1.55 nm).
pub const SIZING_CURVE_MIN_NM: f64 = 400.0;
/// Longest first-exciton wavelength for which the sizing curve is used, nm (D ≈ 8.67 nm).
pub const SIZING_CURVE_MAX_NM: f64 = 660.0;
/// Homogeneous (single-dot, room temperature) emission line width, FWHM, nm.
pub const HOMOGENEOUS_FWHM_NM: f64 = 22.0;

/// Yu, Qu, Guo & Peng (Chem. Mater. 2003, 15, 2854) sizing curve for CdSe: core diameter (nm)
/// from the first-exciton absorption wavelength `l` (nm).
pub fn yu_diameter_nm(l: f64) -> f64 {
    1.6122e-9 * l.powi(4) - 2.6575e-6 * l.powi(3) + 1.6242e-3 * l * l - 0.4277 * l + 41.57
}

/// First-exciton absorption wavelength (nm) of a CdSe core of diameter `d` (nm): the sizing
/// curve inverted by bisection (it is monotonic on its validity range). Diameters outside the
/// range the curve was fitted on are clamped to its ends (450 nm for D < 1.94 nm, 660 nm for
/// D > 8.67 nm).
pub fn first_exciton_nm(d: f64) -> f64 {
    let (mut lo, mut hi) = (SIZING_CURVE_MIN_NM, SIZING_CURVE_MAX_NM);
    if d <= yu_diameter_nm(lo) {
        return lo;
    }
    if d >= yu_diameter_nm(hi) {
        return hi;
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if yu_diameter_nm(mid) < d {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Stokes shift between absorption and emission, nm: about 12 nm for 2 nm dots falling
/// towards 8 nm for large ones.
pub fn stokes_shift_nm(d: f64) -> f64 {
    8.0 + 4.0 * (-(d - 2.0).max(0.0) / 2.0).exp()
}

/// Red shift of the emission caused by a ZnS shell of `monolayers` on a core of diameter `d`
/// (nm): exciton leakage into the shell, saturating after 2–3 ML and larger for small cores
/// (Dabbousi et al., J. Phys. Chem. B 1997, 101, 9463): ≈ 9 nm for 5 nm cores, ≈ 13 nm for
/// 3 nm cores at saturation.
pub fn shell_red_shift_nm(d: f64, monolayers: f64) -> f64 {
    let saturated = 14.0 * (3.0 / d.max(1.0)).powf(0.7);
    saturated * (1.0 - (-monolayers.max(0.0) / 1.3).exp())
}

/// Emission wavelength (nm) of one core/shell dot: first exciton of the core + shell red-shift
/// + Stokes shift.
pub fn emission_nm(core_diameter_nm: f64, shell_monolayers: f64) -> f64 {
    first_exciton_nm(core_diameter_nm)
        + stokes_shift_nm(core_diameter_nm)
        + shell_red_shift_nm(core_diameter_nm, shell_monolayers)
}

/// Photoluminescence quantum yield (fraction) of the ensemble.
///
/// `QY = q_bare + (q_max − q_bare) · (1 − e^(−n/0.9)) · strain(n)` with `n` the ZnS monolayers:
/// bare cores emit 5–13 % (better with Cd-rich surfaces), the shell passivates surface traps,
/// and strain from the 12 % CdSe/ZnS lattice mismatch creates misfit defects in shells thicker
/// than ≈ 2.5 ML, `strain(n) = exp(−(max(0, n − 2.5)/3)²)`. `q_max` (≈ 0.85 at best) drops for
/// Cd-poor growth, for growth above 285 °C (defects, ligand decomposition), for very long
/// growth (Ostwald-ripened, etched surfaces) and for broad ensembles.
pub fn quantum_yield(inputs: &SynthesisInputs, size_cv: f64) -> f64 {
    let cd_quality = 1.0 - (-(inputs.cd_se_ratio - 0.5).max(0.0) / 1.5).exp();
    let q_bare = 0.05 + 0.08 * cd_quality;
    let hot = (inputs.growth_temperature_c - 285.0).max(0.0);
    let defects = (-(hot / 30.0).powi(2)).exp()
        * (1.0 - 0.3 * (inputs.growth_time_min / 60.0).clamp(0.0, 1.0))
        * (1.0 - 0.8 * (size_cv - 0.08).max(0.0)).max(0.5);
    let q_max = 0.88 * (0.75 + 0.25 * cd_quality) * defects;
    let n = inputs.shell_monolayers.max(0.0);
    let passivation = 1.0 - (-n / 0.9).exp();
    let strain = (-((n - 2.5).max(0.0) / 3.0).powi(2)).exp();
    (q_bare * defects + (q_max - q_bare * defects).max(0.0) * passivation * strain).clamp(0.0, 1.0)
}

/// A line-shape-broadened ensemble spectrum on a regular wavelength grid.
pub(crate) struct Grid {
    pub start_nm: f64,
    pub step_nm: f64,
    pub len: usize,
}

impl Grid {
    pub(crate) fn wavelength(&self, k: usize) -> f64 {
        self.start_nm + k as f64 * self.step_nm
    }

    /// Histogram of `centres` (weighted), convolved with a Gaussian of the given FWHM.
    pub(crate) fn broadened(&self, centres: &[(f64, f64)], fwhm_nm: f64) -> Vec<f64> {
        let mut histogram = vec![0.0; self.len];
        for &(centre, weight) in centres {
            let x = (centre - self.start_nm) / self.step_nm;
            if x < 0.0 || x >= (self.len - 1) as f64 {
                continue;
            }
            let k = x.floor() as usize;
            let f = x - k as f64;
            histogram[k] += weight * (1.0 - f);
            histogram[k + 1] += weight * f;
        }
        let sigma_bins = fwhm_nm / (2.0 * (2.0 * 2f64.ln()).sqrt()) / self.step_nm;
        let half = (4.0 * sigma_bins).ceil() as usize;
        let kernel: Vec<f64> = (0..=2 * half)
            .map(|k| {
                let x = k as f64 - half as f64;
                (-0.5 * x * x / (sigma_bins * sigma_bins)).exp()
            })
            .collect();
        let mut out = vec![0.0; self.len];
        for (k, &h) in histogram.iter().enumerate() {
            if h == 0.0 {
                continue;
            }
            let lo = k.saturating_sub(half);
            let hi = (k + half).min(self.len - 1);
            for (j, o) in out.iter_mut().enumerate().take(hi + 1).skip(lo) {
                *o += h * kernel[j + half - k];
            }
        }
        out
    }
}

/// Peak position (parabolic interpolation) and FWHM (linear interpolation) of a single-peaked
/// curve on `grid`.
pub(crate) fn peak_and_fwhm(grid: &Grid, curve: &[f64]) -> (f64, f64) {
    let (k, &max) =
        curve.iter().enumerate().fold(
            (0, &f64::MIN),
            |best, (k, v)| if v > best.1 { (k, v) } else { best },
        );
    if max <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let peak = if k > 0 && k + 1 < curve.len() {
        let (a, b, c) = (curve[k - 1], curve[k], curve[k + 1]);
        let denominator = a - 2.0 * b + c;
        let offset = if denominator.abs() > 0.0 {
            0.5 * (a - c) / denominator
        } else {
            0.0
        };
        grid.wavelength(k) + offset.clamp(-0.5, 0.5) * grid.step_nm
    } else {
        grid.wavelength(k)
    };
    let half = 0.5 * max;
    let mut left = grid.wavelength(0);
    for j in (0..k).rev() {
        if curve[j] < half {
            let f = (half - curve[j]) / (curve[j + 1] - curve[j]);
            left = grid.wavelength(j) + f * grid.step_nm;
            break;
        }
    }
    let mut right = grid.wavelength(curve.len() - 1);
    for j in k + 1..curve.len() {
        if curve[j] < half {
            let f = (curve[j - 1] - half) / (curve[j - 1] - curve[j]);
            right = grid.wavelength(j - 1) + f * grid.step_nm;
            break;
        }
    }
    (peak, right - left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_curve_inverts_and_clamps() {
        for l in [460.0, 500.0, 550.0, 600.0, 650.0] {
            assert!((first_exciton_nm(yu_diameter_nm(l)) - l).abs() < 1e-6);
        }
        assert_eq!(first_exciton_nm(1.0), SIZING_CURVE_MIN_NM);
        assert_eq!(first_exciton_nm(12.0), SIZING_CURVE_MAX_NM);
        // Known points: ~3 nm dots absorb near 540 nm, ~5 nm dots near 610 nm.
        assert!((first_exciton_nm(3.0) - 540.0).abs() < 15.0);
        assert!((first_exciton_nm(5.0) - 608.0).abs() < 10.0);
    }

    #[test]
    fn shell_shifts_red_and_saturates() {
        let d = 4.0;
        let shifts: Vec<f64> = (0..=8).map(|n| shell_red_shift_nm(d, n as f64)).collect();
        assert_eq!(shifts[0], 0.0);
        assert!(shifts.windows(2).all(|w| w[1] > w[0]));
        assert!(shifts[1] > 2.0 && shifts[8] < 15.0 && shifts[8] > 5.0);
        assert!(shell_red_shift_nm(3.0, 3.0) > shell_red_shift_nm(6.0, 3.0));
    }

    #[test]
    fn quantum_yield_peaks_near_two_to_three_monolayers() {
        let mut inputs = SynthesisInputs {
            cd_se_ratio: 4.0,
            ..SynthesisInputs::default()
        };
        let qy = |i: &SynthesisInputs| quantum_yield(i, 0.07);
        let by_ml: Vec<f64> = (0..=8)
            .map(|n| {
                inputs.shell_monolayers = n as f64;
                qy(&inputs)
            })
            .collect();
        let best = by_ml
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (k, v)| if *v > b.1 { (k, *v) } else { b });
        assert!((2..=3).contains(&best.0), "{by_ml:?}");
        assert!(by_ml[0] < 0.15 && by_ml[0] > 0.05);
        assert!(best.1 > 0.6 && best.1 < 0.9);
        assert!(by_ml[8] < 0.5 * best.1);
    }
}
