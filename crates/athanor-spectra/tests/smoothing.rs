//! Savitzky–Golay smoothing and the noise estimate on seeded synthetic data.

use athanor_spectra::{estimate_noise, savitzky_golay, savitzky_golay_derivative};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn white_noise(seed: u64, sigma: f64, n: usize) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, sigma).unwrap();
    (0..n).map(|_| normal.sample(&mut rng)).collect()
}

fn std_dev(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn smoothing_reduces_white_noise_by_the_theoretical_factor() {
    // For an SG smoother the noise gain is √c₀ (Σc² = c₀ for a projection); for 11 points,
    // quadratic: c₀ = 3(3m² + 3m − 1)/((2m − 1)(2m + 1)(2m + 3)) with m = 5, i.e. 89/429.
    let noise = white_noise(1, 1.0, 20_000);
    let smoothed = savitzky_golay(&noise, 11, 2).unwrap();
    let interior = &smoothed[5..smoothed.len() - 5];
    let gain = std_dev(interior) / std_dev(&noise);
    let expected = (89.0f64 / 429.0).sqrt();
    assert!((gain - expected).abs() < 0.02, "{gain} vs {expected}");
}

#[test]
fn smoothing_keeps_a_well_sampled_peak() {
    // Gaussian with σ = 12 samples: an 11-point quadratic changes it by < 0.5 % of its height.
    let y: Vec<f64> = (0..200)
        .map(|i| (-((i as f64 - 100.3) / 12.0).powi(2) / 2.0).exp())
        .collect();
    let smoothed = savitzky_golay(&y, 11, 2).unwrap();
    let worst = y
        .iter()
        .zip(&smoothed)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 5e-3, "{worst}");
    // And its second derivative matches the analytic one (per sample²) to 1 % of its extreme.
    let d2 = savitzky_golay_derivative(&y, 21, 4, 2).unwrap();
    for (i, value) in d2.iter().enumerate().take(180).skip(20) {
        let u = (i as f64 - 100.3) / 12.0;
        let exact = (u * u - 1.0) / 144.0 * (-u * u / 2.0).exp();
        assert!(
            (value - exact).abs() < 0.01 / 144.0,
            "{i}: {value} vs {exact}"
        );
    }
}

#[test]
fn noise_estimate_ignores_peaks_and_slopes() {
    for (seed, sigma) in [(3, 0.01), (4, 1.0), (5, 250.0)] {
        let noise = white_noise(seed, sigma, 2000);
        let y: Vec<f64> = noise
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let x = i as f64;
                // Peaks of 1000σ on a steep slope: invisible to the fourth differences.
                1000.0
                    * sigma
                    * ((-((x - 700.0) / 30.0).powi(2)).exp()
                        + 0.5 * (-((x - 1300.0) / 60.0).powi(2)).exp())
                    + 3.0 * sigma * x
                    + e
            })
            .collect();
        let estimate = estimate_noise(&y).unwrap();
        assert!(
            (estimate / sigma - 1.0).abs() < 0.1,
            "{estimate} vs {sigma}"
        );
    }
    let cubic: Vec<f64> = (0..50)
        .map(|i| (i as f64).powi(3) - 2.0 * i as f64)
        .collect();
    assert!(estimate_noise(&cubic).unwrap() < 1e-9);
    assert!(estimate_noise(&[1.0, 2.0, 3.0, 4.0]).is_err());
}
