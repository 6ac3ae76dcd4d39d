//! # athanor-spectra — numbers from optical spectra
//!
//! Pure numeric analysis of one-dimensional spectra (absorption, photoluminescence, …): given
//! `x` (wavelength, energy, …) and `y` arrays it returns peak positions, widths and areas. No
//! units, files or I/O: callers (e.g. `athanor-formats` for reading, `athanor-lab` for recording
//! results with units and provenance) attach meaning to the numbers.
//!
//! | function | what |
//! |---|---|
//! | [`analyze_peak`] | position, height, FWHM, area, baseline and S/N of the highest peak |
//! | [`first_exciton_peak`] | the longest-wavelength absorption feature (maximum or shoulder) |
//! | [`savitzky_golay`], [`savitzky_golay_derivative`] | polynomial smoothing / derivatives |
//! | [`estimate_noise`] | robust white-noise σ from fourth differences (DER_SNR) |
//!
//! ## Methods
//!
//! *Smoothing* uses Savitzky–Golay filters (Savitzky & Golay, *Anal. Chem.* 36, 1627 (1964)):
//! a least-squares polynomial over a sliding window, which averages noise while keeping peak
//! height and width far better than a moving average.
//!
//! *Peak position*: the maximum sample of the smoothed spectrum, refined by the vertex of the
//! parabola through it and its neighbours (x₀, x₁, x₂):
//!
//! ```text
//! u = x − x₁,  s₀ = (y₁ − y₀)/(x₁ − x₀),  s₂ = (y₂ − y₁)/(x₂ − x₁)
//! A = (s₂ − s₀)/(x₂ − x₀),  B = s₀ − A·(x₀ − x₁)        (y = A u² + B u + y₁)
//! position = x₁ − B/(2A),   height = y₁ − B²/(4A)
//! ```
//!
//! For noisy data, [`PeakRefinement::TopFit`] fits the parabola by least squares to all raw
//! points of the peak top instead, which is several times more precise.
//!
//! *FWHM*: half-height crossings linearly interpolated between the bracketing samples.
//!
//! *Noise*: σ = 1.482602 · median|yᵢ₋₄ − 4yᵢ₋₂ + 6yᵢ − 4yᵢ₊₂ + yᵢ₊₄| / √70, a fourth-order
//! form of DER_SNR (Stoehr et al., *ASP Conf. Ser.* 394, 505 (2008)), insensitive to smooth
//! signal.
//!
//! ```
//! use athanor_spectra::{analyze_peak, PeakOptions};
//! let x: Vec<f64> = (0..601).map(|i| 450.0 + 0.5 * i as f64).collect();
//! let sigma = 25.0 / (8.0 * 2f64.ln()).sqrt(); // FWHM 25 nm
//! let y: Vec<f64> = x.iter().map(|v| 100.0 + 1e4 * (-(v - 612.3f64).powi(2) / (2.0 * sigma * sigma)).exp()).collect();
//! let peak = analyze_peak(&x, &y, &PeakOptions::default())?;
//! assert!((peak.position - 612.3).abs() < 0.01);
//! assert!((peak.fwhm - 25.0).abs() < 0.25);
//! assert!((peak.baseline - 100.0).abs() < 1.0);
//! # Ok::<(), athanor_spectra::SpectraError>(())
//! ```

mod error;
mod exciton;
mod peak;
mod smoothing;

pub use error::SpectraError;
pub use exciton::first_exciton_peak;
pub use peak::{
    analyze_peak, Baseline, PeakAnalysis, PeakOptions, PeakRefinement, MIN_SIGNAL_TO_NOISE,
};
pub use smoothing::{estimate_noise, savitzky_golay, savitzky_golay_derivative};

/// Validates a spectrum and returns it with x increasing: equal lengths, at least 5 points,
/// finite values, strictly monotonic x (a decreasing axis is reversed).
pub(crate) fn prepare(x: &[f64], y: &[f64]) -> Result<(Vec<f64>, Vec<f64>), SpectraError> {
    if x.len() != y.len() {
        return Err(SpectraError::LengthMismatch {
            x: x.len(),
            y: y.len(),
        });
    }
    if x.len() < 5 {
        return Err(SpectraError::TooFewPoints {
            found: x.len(),
            needed: 5,
            context: "a peak needs points on both sides of its maximum".into(),
        });
    }
    for (array, values) in [("x", x), ("y", y)] {
        if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(SpectraError::NotFinite {
                array,
                index,
                value: *value,
            });
        }
    }
    let increasing = x[1] > x[0];
    for i in 1..x.len() {
        let ok = if increasing {
            x[i] > x[i - 1]
        } else {
            x[i] < x[i - 1]
        };
        if !ok {
            return Err(SpectraError::NonMonotonic {
                index: i,
                previous: x[i - 1],
                value: x[i],
            });
        }
    }
    let (mut x, mut y) = (x.to_vec(), y.to_vec());
    if !increasing {
        x.reverse();
        y.reverse();
    }
    Ok((x, y))
}

/// Vertex (x, y) of the parabola through three points with `xs` increasing. The vertex x is
/// kept within [x₀, x₂]; a degenerate (straight) triple returns the middle point.
pub(crate) fn parabola_vertex(xs: [f64; 3], ys: [f64; 3]) -> (f64, f64) {
    // Work relative to the middle point: x ≈ 600 nm with sub-nm offsets would lose digits.
    let (u0, u2) = (xs[0] - xs[1], xs[2] - xs[1]);
    let s0 = (ys[1] - ys[0]) / -u0;
    let s2 = (ys[2] - ys[1]) / u2;
    let a = (s2 - s0) / (u2 - u0);
    let b = s0 - a * u0;
    if a == 0.0 || !a.is_finite() {
        return (xs[1], ys[1]);
    }
    let u = (-b / (2.0 * a)).clamp(u0, u2);
    (xs[1] + u, ys[1] + b * u + a * u * u)
}

/// Four significant digits for messages: `612.3`, `2.025`, `0.0004127`, `1.234e6`.
pub(crate) fn fmt_value(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parabola_vertex_is_exact_for_parabolas() {
        let f = |x: f64| 3.0 - 0.7 * (x - 600.37).powi(2);
        let xs = [599.9, 600.3, 601.1];
        let (xv, yv) = parabola_vertex(xs, xs.map(f));
        assert!((xv - 600.37).abs() < 1e-9 && (yv - 3.0).abs() < 1e-9);
        assert_eq!(
            parabola_vertex([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
            (2.0, 2.0)
        );
    }

    #[test]
    fn messages_use_four_significant_digits() {
        assert_eq!(fmt_value(612.3456), "612.3");
        assert_eq!(fmt_value(2.02513), "2.025");
        assert_eq!(fmt_value(800.0), "800.0");
        assert_eq!(fmt_value(1.5e7), "1.500e7");
    }
}
