//! Calibration of the twin over the campaign's search box (the lab's acceptance depends on
//! these numbers). Run with `--nocapture` to see the measured fractions.

use athanor_twin::{simulate, SynthesisInputs, SynthesisOutcome};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Uniform sample of the campaign box (growth time on a log scale).
fn box_sample(n: usize, seed: u64) -> Vec<SynthesisInputs> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: [f64; 7] = std::array::from_fn(|_| rng.random());
            SynthesisInputs {
                injection_temperature_c: 260.0 + 70.0 * u[0],
                growth_temperature_c: 220.0 + 80.0 * u[1],
                growth_time_min: (0.5f64.ln() + u[2] * (30f64 / 0.5).ln()).exp(),
                cd_se_ratio: 1.0 + 5.0 * u[3],
                precursor_concentration_mol_l: 0.05 + 0.35 * u[4],
                shell_monolayers: 5.0 * u[5],
                injection_time_s: 0.5 + 19.5 * u[6],
            }
        })
        .collect()
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn campaign_box_has_the_agreed_landscape() {
    let points = box_sample(2000, 2024);
    // Two threads: the machine is shared, and each run is independent and deterministic.
    let outcomes: Vec<SynthesisOutcome> = std::thread::scope(|scope| {
        let halves: Vec<_> = points
            .chunks(points.len() / 2)
            .enumerate()
            .map(|(h, chunk)| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(k, p)| simulate(p, (h * 100_000 + k) as u64))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves
            .into_iter()
            .flat_map(|h| h.join().expect("simulation thread"))
            .collect()
    });
    let n = outcomes.len() as f64;
    let pl: Vec<f64> = outcomes.iter().map(|o| o.pl_peak_nm).collect();
    let cv: Vec<f64> = outcomes.iter().map(|o| o.size_cv).collect();
    let qy: Vec<f64> = outcomes.iter().map(|o| o.quantum_yield).collect();
    let in_window: Vec<&SynthesisOutcome> = outcomes
        .iter()
        .filter(|o| (617.0..=623.0).contains(&o.pl_peak_nm))
        .collect();
    let narrow_in_window = in_window.iter().filter(|o| o.size_cv <= 0.10).count();
    let window_fraction = in_window.len() as f64 / n;
    let narrow_fraction = narrow_in_window as f64 / n;
    println!(
        "PL p2 {:.0} p5 {:.0} p50 {:.0} p95 {:.0} p98 {:.0} nm; CV p5 {:.3} p50 {:.3} p95 {:.3}; \
         QY {:.3}..{:.3}; PL 617-623 nm: {:.2} % of the box, of which CV <= 10 %: {} points \
         ({:.2} % of the box)",
        percentile(&pl, 0.02),
        percentile(&pl, 0.05),
        percentile(&pl, 0.5),
        percentile(&pl, 0.95),
        percentile(&pl, 0.98),
        percentile(&cv, 0.05),
        percentile(&cv, 0.5),
        percentile(&cv, 0.95),
        percentile(&qy, 0.0),
        percentile(&qy, 1.0),
        100.0 * window_fraction,
        narrow_in_window,
        100.0 * narrow_fraction,
    );
    // The emission spans roughly 500–650 nm.
    assert!(percentile(&pl, 0.02) < 520.0 && percentile(&pl, 0.98) > 645.0);
    assert!(percentile(&pl, 0.98) < 665.0);
    // The target window is small but not tiny, and narrow ensembles exist inside it.
    assert!(
        (0.02..=0.10).contains(&window_fraction),
        "{window_fraction}"
    );
    assert!(narrow_in_window >= 10, "{narrow_in_window}");
    assert!(
        narrow_in_window < in_window.len(),
        "CV <= 10 % should not be automatic"
    );
    // Typical size CVs 8–25 %.
    assert!(percentile(&cv, 0.05) > 0.06 && percentile(&cv, 0.05) < 0.10);
    assert!(percentile(&cv, 0.5) > 0.09 && percentile(&cv, 0.5) < 0.18);
    assert!(percentile(&cv, 0.95) > 0.15 && percentile(&cv, 0.95) < 0.30);
    // Quantum yields from bare-core to well-shelled values.
    assert!(percentile(&qy, 0.0) < 0.12 && percentile(&qy, 1.0) > 0.75);
    assert!(qy.iter().all(|q| (0.0..=1.0).contains(q)));
}
