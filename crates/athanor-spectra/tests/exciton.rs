//! first_exciton_peak on synthetic quantum-dot absorption spectra whose answer is computed from
//! the exact (noise-free, continuous) function: a clear first-exciton maximum, a shoulder on a
//! steep background, noise, reversed axes, and spectra without any feature.

use athanor_spectra::{first_exciton_peak, SpectraError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

fn gaussian(x: f64, centre: f64, fwhm: f64) -> f64 {
    let sigma = fwhm / 2.354_820_045_030_949_3;
    (-(x - centre).powi(2) / (2.0 * sigma * sigma)).exp()
}

/// QD absorption: three excitonic transitions on a background that rises to the blue (higher
/// transitions) plus Rayleigh-like scattering. `steepness` scales the background.
fn qd_absorbance(x: f64, steepness: f64, first_amplitude: f64) -> f64 {
    let background = steepness * (-(x - 400.0) / 70.0).exp() + 0.02 * (500.0 / x).powi(4);
    background
        + first_amplitude * gaussian(x, 600.0, 28.0)
        + 0.2 * gaussian(x, 545.0, 30.0)
        + 0.25 * gaussian(x, 490.0, 35.0)
}

fn derivative(f: &impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-3;
    (f(x + h) - f(x - h)) / (2.0 * h)
}

fn second_derivative(f: &impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-2;
    (f(x + h) - 2.0 * f(x) + f(x - h)) / (h * h)
}

/// Zero of `g` in [lo, hi] by bisection (g(lo), g(hi) of opposite sign).
fn bisect(g: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let low_positive = g(lo) > 0.0;
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if (g(mid) > 0.0) == low_positive {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn sample(f: impl Fn(f64) -> f64, step: f64) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..)
        .map(|i| 400.0 + step * i as f64)
        .take_while(|v| *v <= 800.0 + 1e-9)
        .collect();
    let y = x.iter().map(|v| f(*v)).collect();
    (x, y)
}

fn add_noise(y: &[f64], sigma: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(0.0, sigma).unwrap();
    y.iter().map(|v| v + normal.sample(&mut rng)).collect()
}

#[test]
fn clear_first_exciton_maximum() {
    let f = |x: f64| qd_absorbance(x, 0.15, 0.25);
    // The true maximum of the continuous function, slightly blue of the band centre because the
    // background falls towards the red.
    let truth = bisect(|x| derivative(&f, x), 585.0, 615.0);
    assert!(derivative(&f, truth - 5.0) > 0.0 && derivative(&f, truth + 5.0) < 0.0);

    for step in [1.0, 0.5] {
        let (x, y) = sample(f, step);
        let found = first_exciton_peak(&x, &y).unwrap();
        eprintln!("clear, step {step}: true {truth:.3}, found {found:.3}");
        assert!((found - truth).abs() < 0.05 * step, "{found} vs {truth}");

        // Decreasing axis (e.g. sorted by energy) gives the same answer.
        let (xr, yr): (Vec<f64>, Vec<f64>) = x.iter().rev().zip(y.iter().rev()).unzip();
        assert_eq!(first_exciton_peak(&xr, &yr).unwrap(), found);
    }

    // Noise of 0.002 absorbance (a fair UV-Vis measurement), 10 seeds.
    let (x, y) = sample(f, 1.0);
    let mut worst = 0.0f64;
    for seed in 0..10 {
        let found = first_exciton_peak(&x, &add_noise(&y, 0.002, seed)).unwrap();
        worst = worst.max((found - truth).abs());
    }
    eprintln!("clear with noise: worst error {worst:.3} nm");
    assert!(worst < 1.0, "{worst}");
}

#[test]
fn shoulder_is_found_at_the_strongest_downward_curvature() {
    // A steep background turns the first exciton into a shoulder without a local maximum.
    let f = |x: f64| qd_absorbance(x, 4.0, 0.05);
    for x in (560..640).map(f64::from) {
        assert!(derivative(&f, x) < 0.0, "not a shoulder: rises at {x}");
    }
    // The band at 545 nm is still a maximum: the redder shoulder must win over it.
    assert!((500..560).any(|x| derivative(&f, f64::from(x)) > 0.0));
    let truth = bisect(
        |x| derivative(&|v| second_derivative(&f, v), x),
        585.0,
        615.0,
    );
    assert!(second_derivative(&f, truth) < 0.0);

    let (x, y) = sample(f, 1.0);
    let found = first_exciton_peak(&x, &y).unwrap();
    eprintln!("shoulder: true curvature minimum {truth:.3}, found {found:.3}");
    assert!((found - truth).abs() < 1.0, "{found} vs {truth}");

    let mut worst = 0.0f64;
    for seed in 0..10 {
        let found = first_exciton_peak(&x, &add_noise(&y, 0.001, seed)).unwrap();
        worst = worst.max((found - truth).abs());
    }
    eprintln!("shoulder with noise: worst error {worst:.3} nm");
    assert!(worst < 3.0, "{worst}");
}

#[test]
fn featureless_spectra_are_an_error() {
    // Background only: rises monotonically to the blue, curvature upwards everywhere.
    let f = |x: f64| 1.5 * (-(x - 400.0) / 70.0).exp() + 0.02 * (500.0 / x).powi(4);
    let (x, y) = sample(f, 1.0);
    let err = first_exciton_peak(&x, &y).unwrap_err();
    assert!(matches!(err, SpectraError::NoPeak(_)), "{err}");
    for seed in 0..10 {
        let err = first_exciton_peak(&x, &add_noise(&y, 0.002, seed)).unwrap_err();
        assert!(matches!(err, SpectraError::NoPeak(_)), "seed {seed}: {err}");
    }
    // Flat noise.
    let noise = add_noise(&vec![0.05; x.len()], 0.002, 99);
    assert!(matches!(
        first_exciton_peak(&x, &noise),
        Err(SpectraError::NoPeak(_))
    ));
}

#[test]
fn invalid_spectra_are_refused() {
    let x = [500.0, 501.0, 502.0, 503.0, 504.0, 505.0];
    let y = [0.1, 0.2, 0.3, 0.2, 0.1, 0.05];
    assert!(matches!(
        first_exciton_peak(&x, &y[..5]),
        Err(SpectraError::LengthMismatch { .. })
    ));
    assert!(matches!(
        first_exciton_peak(&x[..4], &y[..4]),
        Err(SpectraError::TooFewPoints { .. })
    ));
    let mut bad_x = x;
    bad_x[3] = 501.5;
    assert!(matches!(
        first_exciton_peak(&bad_x, &y),
        Err(SpectraError::NonMonotonic { index: 3, .. })
    ));
    let mut nan = y;
    nan[2] = f64::NAN;
    assert!(matches!(
        first_exciton_peak(&x, &nan),
        Err(SpectraError::NotFinite { .. })
    ));
}
