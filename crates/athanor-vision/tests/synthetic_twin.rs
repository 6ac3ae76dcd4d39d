//! Acceptance test against the digital twin's synthetic TEM micrographs, which come with a
//! pixel-exact ground-truth instance map: instance F1 at IoU ≥ 0.5 and the median size.

use athanor_twin::micrograph::{render_micrograph, MicrographSpec, SyntheticMicrograph};
use athanor_vision::{analyze, match_instances, size_stats, AnalysisConfig, GrayImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::time::Instant;

/// `n` diameters ~ N(mean, cv·mean), seeded.
fn population(n: usize, mean_nm: f64, cv: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = Normal::new(mean_nm, cv * mean_nm).expect("valid normal");
    (0..n)
        .map(|_| normal.sample(&mut rng).max(0.3 * mean_nm))
        .collect()
}

struct Outcome {
    f1: f64,
    precision: f64,
    recall: f64,
    d50_ratio: f64,
    mean_ratio: f64,
    counted: usize,
    truth_counted: usize,
    seconds: f64,
}

fn evaluate(micrograph: &SyntheticMicrograph) -> Outcome {
    let image = GrayImage::from_u16(micrograph.width, micrograph.height, &micrograph.pixels)
        .expect("twin image is consistent");
    let config = AnalysisConfig {
        pixel_size_nm: micrograph.pixel_size_nm,
        ..AnalysisConfig::default()
    };
    let start = Instant::now();
    let analysis = analyze(&image, &config).expect("analysis succeeds on a twin micrograph");
    let seconds = start.elapsed().as_secs_f64();
    let edge_truth: Vec<u32> = micrograph
        .truth
        .iter()
        .filter(|t| t.touches_edge)
        .map(|t| t.label)
        .collect();
    let report = match_instances(
        &analysis.labels,
        &micrograph.labels,
        micrograph.width,
        micrograph.height,
        0.5,
        &edge_truth,
    )
    .expect("label maps have the image size");
    let truth_diameters: Vec<f64> = micrograph
        .truth
        .iter()
        .filter(|t| !t.touches_edge)
        .map(|t| t.diameter_nm)
        .collect();
    let truth_stats = size_stats(&truth_diameters).expect("truth has particles");
    let stats = analysis.stats.expect("particles were counted");
    Outcome {
        f1: report.f1,
        precision: report.precision,
        recall: report.recall,
        d50_ratio: stats.d50_nm / truth_stats.d50_nm,
        mean_ratio: stats.mean_nm / truth_stats.mean_nm,
        counted: stats.count,
        truth_counted: truth_stats.count,
        seconds,
    }
}

fn run_case(label: &str, diameters: &[f64], touching: f64, seed: u64) -> Outcome {
    let spec = MicrographSpec {
        touching_fraction: touching,
        ..MicrographSpec::default()
    };
    let micrograph = render_micrograph(diameters, &spec, seed).expect("twin renders");
    let outcome = evaluate(&micrograph);
    eprintln!(
        "{label:>10} touching {:>4.0} % seed {seed}: F1 {:.4} (P {:.4} R {:.4}), D50 ratio {:.4} \
         ({:+.2} %), counted {} vs truth {}, analysis {:.1} ms",
        100.0 * touching,
        outcome.f1,
        outcome.precision,
        outcome.recall,
        outcome.d50_ratio,
        100.0 * (outcome.d50_ratio - 1.0),
        outcome.counted,
        outcome.truth_counted,
        1e3 * outcome.seconds
    );
    outcome
}

#[test]
fn five_nm_population_meets_f1_and_d50_targets() {
    let diameters = population(500, 5.0, 0.07, 42);
    for touching in [0.0, 0.10, 0.15] {
        for seed in [1, 2, 3] {
            let o = run_case("5 nm", &diameters, touching, seed);
            assert!(
                o.f1 >= 0.97,
                "F1 {} at touching {touching}, seed {seed}",
                o.f1
            );
            assert!(
                (o.d50_ratio - 1.0).abs() <= 0.02,
                "D50 ratio {} at touching {touching}, seed {seed}",
                o.d50_ratio
            );
        }
    }
}

#[test]
fn small_and_large_populations_meet_targets() {
    for (label, mean) in [("3.5 nm", 3.5), ("7 nm", 7.0)] {
        let diameters = population(500, mean, 0.07, 7);
        for (touching, seed) in [(0.0, 11), (0.10, 12), (0.15, 13)] {
            let o = run_case(label, &diameters, touching, seed);
            assert!(o.f1 >= 0.97, "{label}: F1 {} at touching {touching}", o.f1);
            assert!(
                (o.d50_ratio - 1.0).abs() <= 0.02,
                "{label}: D50 ratio {} at touching {touching}",
                o.d50_ratio
            );
        }
    }
}

#[test]
fn bimodal_mixture_and_bright_polarity() {
    // Half 3.5 nm, half 7 nm particles in one field. The D50 of a bimodal distribution falls in
    // the gap between the modes and is ill-conditioned, so the mean diameter is compared.
    let mut diameters = population(300, 3.5, 0.07, 21);
    diameters.extend(population(300, 7.0, 0.07, 22));
    let spec = MicrographSpec::default();
    let micrograph = render_micrograph(&diameters, &spec, 31).expect("twin renders");
    let o = evaluate(&micrograph);
    eprintln!(
        "   3.5+7 nm touching   10 % seed 31: F1 {:.4} (P {:.4} R {:.4}), mean ratio {:.4}, counted {} vs truth {}",
        o.f1, o.precision, o.recall, o.mean_ratio, o.counted, o.truth_counted
    );
    assert!(o.f1 >= 0.97, "mixture F1 {}", o.f1);
    assert!(
        (o.mean_ratio - 1.0).abs() <= 0.02,
        "mixture mean ratio {}",
        o.mean_ratio
    );
    // The same field as a bright-particle image (HAADF-like): the polarity is detected and the
    // particles are found just as well.
    let mut inverted = micrograph.clone();
    let brightest = *inverted.pixels.iter().max().expect("pixels");
    for p in &mut inverted.pixels {
        *p = brightest - *p;
    }
    let image =
        GrayImage::from_u16(inverted.width, inverted.height, &inverted.pixels).expect("consistent");
    let analysis = analyze(
        &image,
        &AnalysisConfig {
            pixel_size_nm: inverted.pixel_size_nm,
            ..AnalysisConfig::default()
        },
    )
    .expect("analysis succeeds");
    assert_eq!(analysis.polarity, athanor_vision::Polarity::Bright);
    let bright = evaluate(&inverted);
    eprintln!("   inverted (bright particles): F1 {:.4}", bright.f1);
    assert!(bright.f1 >= 0.97, "bright F1 {}", bright.f1);
}

#[test]
fn twenty_percent_touching_still_meets_the_targets() {
    // The upper end: up to 20 % of the particles touch a neighbour.
    let diameters = population(500, 5.0, 0.07, 42);
    for seed in [4, 5] {
        let o = run_case("5 nm", &diameters, 0.20, seed);
        assert!(o.f1 >= 0.97, "F1 {} at 20 % touching, seed {seed}", o.f1);
        assert!(
            (o.d50_ratio - 1.0).abs() <= 0.02,
            "D50 ratio {} at 20 % touching, seed {seed}",
            o.d50_ratio
        );
    }
}

#[test]
fn analysis_time_for_1024_squared() {
    let diameters = population(500, 5.0, 0.07, 42);
    let micrograph =
        render_micrograph(&diameters, &MicrographSpec::default(), 99).expect("renders");
    let image = GrayImage::from_u16(micrograph.width, micrograph.height, &micrograph.pixels)
        .expect("consistent");
    let config = AnalysisConfig {
        pixel_size_nm: micrograph.pixel_size_nm,
        ..AnalysisConfig::default()
    };
    let mut best = f64::INFINITY;
    let mut particles = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let analysis = analyze(&image, &config).expect("analysis succeeds");
        best = best.min(start.elapsed().as_secs_f64());
        particles = analysis.particles.len();
    }
    eprintln!(
        "1024×1024 with {particles} particles: best of 3 = {:.1} ms",
        1e3 * best
    );
    // Generous bound: the machine running the tests may be shared; the target is 150 ms in
    // release builds (unoptimised builds are 20-50x slower and are not timed).
    if !cfg!(debug_assertions) {
        assert!(best < 1.0, "analysis took {best} s");
    }
}
