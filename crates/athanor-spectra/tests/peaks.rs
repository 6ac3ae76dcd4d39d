//! analyze_peak on synthetic spectra with known answers: Gaussian, Lorentzian, asymmetric
//! peaks, sloping baselines, seeded noise, and every error the brief lists.

use athanor_spectra::{analyze_peak, Baseline, PeakOptions, PeakRefinement, SpectraError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const FWHM_PER_SIGMA: f64 = 2.354_820_045_030_949_3; // 2√(2 ln 2)

fn grid(start: f64, step: f64, count: usize) -> Vec<f64> {
    (0..count).map(|i| start + step * i as f64).collect()
}

fn gaussian(x: f64, centre: f64, fwhm: f64) -> f64 {
    let sigma = fwhm / FWHM_PER_SIGMA;
    (-(x - centre).powi(2) / (2.0 * sigma * sigma)).exp()
}

fn lorentzian(x: f64, centre: f64, fwhm: f64) -> f64 {
    let half = 0.5 * fwhm;
    half * half / ((x - centre).powi(2) + half * half)
}

fn no_baseline() -> PeakOptions {
    PeakOptions {
        baseline: Baseline::None,
        ..PeakOptions::default()
    }
}

#[test]
fn gaussian_centre_width_height_and_area_are_recovered() {
    let step = 1.0;
    let x = grid(450.0, step, 301);
    let (amplitude, fwhm) = (2500.0, 30.0);
    let mut worst_centre = 0.0f64;
    let mut worst_fwhm = 0.0f64;
    // Centres at many sub-sample offsets, so the parabola refinement is really exercised.
    for k in 0..10 {
        let centre = 600.0 + 0.1 * k as f64 + 0.0137;
        let y: Vec<f64> = x
            .iter()
            .map(|v| amplitude * gaussian(*v, centre, fwhm))
            .collect();
        let top_fit = PeakOptions {
            refinement: PeakRefinement::TopFit { fraction: 0.8 },
            ..PeakOptions::default()
        };
        for options in [no_baseline(), PeakOptions::default(), top_fit] {
            let peak = analyze_peak(&x, &y, &options).unwrap();
            worst_centre = worst_centre.max((peak.position - centre).abs() / step);
            worst_fwhm = worst_fwhm.max((peak.fwhm - fwhm).abs() / fwhm);
            assert!(
                (peak.height - amplitude).abs() < 0.01 * amplitude,
                "{peak:?}"
            );
            let exact_area =
                amplitude * fwhm / FWHM_PER_SIGMA * (2.0 * std::f64::consts::PI).sqrt();
            assert!(
                (peak.area - exact_area).abs() < 0.005 * exact_area,
                "{peak:?}"
            );
            assert!(peak.baseline.abs() < 1e-3 * amplitude);
            assert!(peak.signal_to_noise > 1e3, "noise-free: {peak:?}");
        }
    }
    eprintln!(
        "Gaussian: worst centre error {worst_centre:.2e} steps, worst FWHM error {:.3}%",
        100.0 * worst_fwhm
    );
    assert!(worst_centre < 0.05, "centre error {worst_centre} steps");
    assert!(worst_fwhm < 0.01, "FWHM error {worst_fwhm}");
}

#[test]
fn coarsely_sampled_gaussian_without_smoothing() {
    // FWHM of only 6 samples: smoothing would flatten it, so it is switched off; the parabola
    // still places the centre to within a twentieth of a step.
    let step = 2.0;
    let x = grid(500.0, step, 101);
    let options = PeakOptions {
        smoothing_window: 0,
        ..no_baseline()
    };
    let mut worst = 0.0f64;
    for k in 0..10 {
        let centre = 600.0 + 0.2 * k as f64;
        let y: Vec<f64> = x.iter().map(|v| gaussian(*v, centre, 12.0)).collect();
        let peak = analyze_peak(&x, &y, &options).unwrap();
        worst = worst.max((peak.position - centre).abs() / step);
        assert!((peak.fwhm - 12.0).abs() < 0.05 * 12.0, "{peak:?}");
    }
    eprintln!("coarse Gaussian: worst centre error {worst:.3} steps");
    assert!(worst < 0.05, "{worst}");
}

/// Worst centre error (nm) and FWHM error (relative) over 20 seeds for a Gaussian peak with
/// white noise, checking the baseline and the S/N estimate on the way.
fn noisy_peak_errors(step: f64, signal_to_noise: f64, options: &PeakOptions) -> (f64, f64) {
    let x = grid(500.0, step, (240.0 / step) as usize + 1);
    let (centre, fwhm, amplitude, offset) = (621.37, 35.0, 1.0e4, 500.0);
    let sigma = amplitude / signal_to_noise;
    let noise = Normal::new(0.0, sigma).unwrap();
    let (mut worst_centre, mut worst_fwhm) = (0.0f64, 0.0f64);
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let y: Vec<f64> = x
            .iter()
            .map(|v| offset + amplitude * gaussian(*v, centre, fwhm) + noise.sample(&mut rng))
            .collect();
        let peak = analyze_peak(&x, &y, options).unwrap();
        worst_centre = worst_centre.max((peak.position - centre).abs());
        worst_fwhm = worst_fwhm.max((peak.fwhm - fwhm).abs() / fwhm);
        assert!((peak.baseline - offset).abs() < 5.0 * sigma, "{peak:?}");
        let snr = peak.signal_to_noise / signal_to_noise;
        assert!(
            (0.7..1.4).contains(&snr),
            "S/N {} vs {signal_to_noise}",
            peak.signal_to_noise
        );
    }
    (worst_centre, worst_fwhm)
}

#[test]
fn noisy_peaks_are_located_within_a_third_of_a_nanometre() {
    // Absorbance-grade data (S/N 1000, 1 nm steps): the default three-point vertex suffices.
    let (centre, fwhm) = noisy_peak_errors(1.0, 1000.0, &PeakOptions::default());
    eprintln!(
        "S/N 1000, three-point: worst centre error {centre:.3} nm, FWHM {:.2}%",
        100.0 * fwhm
    );
    assert!(centre < 0.3 && fwhm < 0.01, "{centre} {fwhm}");

    // PL-grade data (10⁴ counts with 100 counts of noise, 0.5 nm steps): the three-point vertex
    // scatters by ~0.7 nm rms here, the least-squares fit to the top 20 % by ~0.06 nm.
    let top_fit = PeakOptions {
        refinement: PeakRefinement::TopFit { fraction: 0.8 },
        ..PeakOptions::default()
    };
    let (centre, fwhm) = noisy_peak_errors(0.5, 100.0, &top_fit);
    eprintln!(
        "S/N 100, top fit: worst centre error {centre:.3} nm, FWHM {:.2}%",
        100.0 * fwhm
    );
    assert!(centre < 0.3 && fwhm < 0.03, "{centre} {fwhm}");
    let (three_point, _) = noisy_peak_errors(0.5, 100.0, &PeakOptions::default());
    assert!(
        three_point > 2.0 * centre,
        "top fit should beat three-point: {three_point} vs {centre}"
    );
}

#[test]
fn lorentzian_peak() {
    let x = grid(400.0, 0.5, 801);
    let (centre, fwhm) = (598.77, 20.0);
    let y: Vec<f64> = x
        .iter()
        .map(|v| 7.0 * lorentzian(*v, centre, fwhm))
        .collect();
    let peak = analyze_peak(&x, &y, &no_baseline()).unwrap();
    eprintln!("Lorentzian: {peak:?}");
    assert!((peak.position - centre).abs() < 0.05 * 0.5);
    assert!((peak.fwhm - fwhm).abs() < 0.01 * fwhm);
    assert!((peak.height - 7.0).abs() < 0.01 * 7.0);
    // The tails beyond the data hold 2/π·atan(...) of the area: compare with the finite integral.
    let half = fwhm / 2.0;
    let within = 7.0 * half * (((800.0 - centre) / half).atan() - ((400.0 - centre) / half).atan());
    assert!(
        (peak.area - within).abs() < 1e-3 * within,
        "{} vs {within}",
        peak.area
    );
}

/// A smooth skewed peak (main band plus a weaker, broader red band), with its true maximum and
/// FWHM found by bisection on the exact function.
fn skewed(x: f64) -> f64 {
    3000.0 * (gaussian(x, 600.0, 30.0) + 0.4 * gaussian(x, 625.0, 40.0))
}

fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    // f(lo) and f(hi) have opposite signs.
    let positive_low = f(lo) > 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if (f(mid) > 0.0) == positive_low {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn asymmetric_peak_keeps_its_maximum_and_width() {
    let derivative = |v: f64| (skewed(v + 1e-6) - skewed(v - 1e-6)) / 2e-6;
    let true_max = bisect(derivative, 590.0, 640.0);
    let half = 0.5 * skewed(true_max);
    let true_fwhm = bisect(|v| skewed(v) - half, true_max, 720.0)
        - bisect(|v| skewed(v) - half, 500.0, true_max);
    assert!(
        true_max > 601.0,
        "the red band must shift the maximum: {true_max}"
    );

    let x = grid(450.0, 0.5, 601);
    let y: Vec<f64> = x.iter().map(|v| skewed(*v)).collect();
    let peak = analyze_peak(&x, &y, &PeakOptions::default()).unwrap();
    eprintln!("asymmetric: true max {true_max:.3}, FWHM {true_fwhm:.3}; {peak:?}");
    assert!((peak.position - true_max).abs() < 0.05 * 0.5, "{peak:?}");
    assert!((peak.fwhm - true_fwhm).abs() < 0.01 * true_fwhm, "{peak:?}");
    assert!((peak.height - skewed(true_max)).abs() < 0.01 * skewed(true_max));
}

#[test]
fn sloping_baseline_is_removed_by_the_edge_fit() {
    let x = grid(500.0, 1.0, 301);
    let (centre, fwhm) = (655.5, 25.0);
    let line = |v: f64| 200.0 + 1.5 * (v - 500.0);
    let y: Vec<f64> = x
        .iter()
        .map(|v| line(*v) + 1000.0 * gaussian(*v, centre, fwhm))
        .collect();
    let peak = analyze_peak(&x, &y, &PeakOptions::default()).unwrap();
    eprintln!("sloping baseline: {peak:?}");
    assert!((peak.position - centre).abs() < 0.05, "{peak:?}");
    assert!((peak.fwhm - fwhm).abs() < 0.01 * fwhm, "{peak:?}");
    assert!((peak.height - 1000.0).abs() < 0.01 * 1000.0, "{peak:?}");
    assert!((peak.baseline - line(centre)).abs() < 1.0, "{peak:?}");
    let area = 1000.0 * fwhm / FWHM_PER_SIGMA * (2.0 * std::f64::consts::PI).sqrt();
    assert!((peak.area - area).abs() < 0.01 * area, "{peak:?}");

    // Without baseline removal the slope pulls the maximum to the high side and the width is
    // measured from zero: the difference is what the edge fit is for.
    let raw = analyze_peak(&x, &y, &no_baseline()).unwrap();
    assert!(raw.position > centre + 0.1, "{raw:?}");
    assert!(raw.height > 1.4 * 1000.0, "{raw:?}");
    assert!(raw.fwhm > 1.3 * fwhm, "{raw:?}");
}

#[test]
fn range_selects_one_of_two_peaks_and_decreasing_axes_work() {
    let x = grid(400.0, 1.0, 401);
    let y: Vec<f64> = x
        .iter()
        .map(|v| 5.0 * gaussian(*v, 480.0, 20.0) + 2.0 * gaussian(*v, 690.0, 30.0))
        .collect();
    let strongest = analyze_peak(&x, &y, &no_baseline()).unwrap();
    assert!((strongest.position - 480.0).abs() < 0.05);
    let options = PeakOptions {
        range: Some((760.0, 600.0)),
        ..PeakOptions::default()
    };
    let second = analyze_peak(&x, &y, &options).unwrap();
    assert!((second.position - 690.0).abs() < 0.05, "{second:?}");
    assert!((second.fwhm - 30.0).abs() < 0.3, "{second:?}");

    // The same spectrum on a decreasing axis (as after converting to energy order).
    let (xr, yr): (Vec<f64>, Vec<f64>) = x.iter().rev().zip(y.iter().rev()).unzip();
    let reversed = analyze_peak(&xr, &yr, &options).unwrap();
    assert_eq!(reversed, second);
}

#[test]
fn fwhm_that_is_not_reached_is_an_error_that_says_where() {
    // A broad peak at 612.3 nm whose half height lies at 422.3 nm and 802.3 nm: past the data.
    let x = grid(400.0, 0.5, 801);
    let y: Vec<f64> = x.iter().map(|v| gaussian(*v, 612.3, 380.0)).collect();
    let err = analyze_peak(&x, &y, &no_baseline()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "FWHM undefined: the peak at 612.3 does not fall to half height before 800.0 (the upper end of the analysed data)"
    );
    let options = PeakOptions {
        range: Some((500.0, 700.0)),
        ..no_baseline()
    };
    let err = analyze_peak(&x, &y, &options).unwrap_err();
    assert!(
        matches!(err, SpectraError::FwhmUndefined { upper_side: false, edge, .. } if edge == 500.0),
        "{err}"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let x = grid(500.0, 1.0, 50);
    let y: Vec<f64> = x.iter().map(|v| gaussian(*v, 525.0, 10.0)).collect();
    let options = PeakOptions::default();

    let err = analyze_peak(&x, &y[..49], &options).unwrap_err();
    assert_eq!(err, SpectraError::LengthMismatch { x: 50, y: 49 });

    let err = analyze_peak(&x[..4], &y[..4], &options).unwrap_err();
    assert!(matches!(
        err,
        SpectraError::TooFewPoints {
            found: 4,
            needed: 5,
            ..
        }
    ));

    let mut shuffled = x.clone();
    shuffled.swap(10, 11);
    let err = analyze_peak(&shuffled, &y, &options).unwrap_err();
    assert_eq!(
        err.to_string(),
        "x is not monotonic: x[11] = 510.0 follows x[10] = 511.0"
    );

    let mut with_nan = y.clone();
    with_nan[17] = f64::NAN;
    let err = analyze_peak(&x, &with_nan, &options).unwrap_err();
    assert!(matches!(
        err,
        SpectraError::NotFinite {
            array: "y",
            index: 17,
            ..
        }
    ));
    let mut x_inf = x.clone();
    x_inf[3] = f64::INFINITY;
    assert!(matches!(
        analyze_peak(&x_inf, &y, &options),
        Err(SpectraError::NotFinite { array: "x", .. })
    ));

    let even = PeakOptions {
        smoothing_window: 10,
        ..PeakOptions::default()
    };
    assert!(matches!(
        analyze_peak(&x, &y, &even),
        Err(SpectraError::InvalidSmoothing(_))
    ));
    let too_wide = PeakOptions {
        smoothing_window: 51,
        ..PeakOptions::default()
    };
    assert!(matches!(
        analyze_peak(&x, &y, &too_wide),
        Err(SpectraError::TooFewPoints { .. })
    ));

    let narrow = PeakOptions {
        range: Some((520.0, 522.0)),
        ..PeakOptions::default()
    };
    let err = analyze_peak(&x, &y, &narrow).unwrap_err();
    assert!(err.to_string().contains("holds 3 data points"), "{err}");
    let bad_fraction = PeakOptions {
        refinement: PeakRefinement::TopFit { fraction: 1.5 },
        ..PeakOptions::default()
    };
    assert!(matches!(
        analyze_peak(&x, &y, &bad_fraction),
        Err(SpectraError::InvalidOption(_))
    ));
    let nan_range = PeakOptions {
        range: Some((f64::NAN, 600.0)),
        ..PeakOptions::default()
    };
    assert!(matches!(
        analyze_peak(&x, &y, &nan_range),
        Err(SpectraError::InvalidRange(_))
    ));
}

#[test]
fn data_without_a_peak_say_so() {
    let x = grid(400.0, 1.0, 200);
    // A rising edge: the maximum is at the end of the data.
    let ramp: Vec<f64> = x.iter().map(|v| (v - 400.0) * 0.01).collect();
    let err = analyze_peak(&x, &ramp, &no_baseline()).unwrap_err();
    assert!(
        err.to_string()
            .contains("edge of the analysed data (x = 599.0)"),
        "{err}"
    );

    // A straight line is entirely baseline.
    let err = analyze_peak(&x, &ramp, &PeakOptions::default()).unwrap_err();
    assert!(matches!(err, SpectraError::NoPeak(_)), "{err}");

    // Pure noise: the highest wiggle is not a peak.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let noise = Normal::new(100.0, 1.0).unwrap();
    let y: Vec<f64> = x.iter().map(|_| noise.sample(&mut rng)).collect();
    let err = analyze_peak(&x, &y, &PeakOptions::default()).unwrap_err();
    assert!(matches!(err, SpectraError::NoPeak(_)), "{err}");
}
