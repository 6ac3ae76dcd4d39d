//! Measures the twin's speed (release build):
//! `cargo run --release -p athanor-twin --example timings`.

use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
use athanor_twin::{measure_spectra, simulate, SynthesisInputs};
use std::time::Instant;

fn main() {
    // simulate: the default recipe and the slowest corner of the valid ranges.
    let recipes = [
        ("default", SynthesisInputs::default()),
        (
            "60 min growth, 60 s injection, 320 °C",
            SynthesisInputs {
                growth_time_min: 60.0,
                injection_time_s: 60.0,
                growth_temperature_c: 320.0,
                ..SynthesisInputs::default()
            },
        ),
    ];
    for (name, recipe) in recipes {
        let mut times: Vec<f64> = (0..20)
            .map(|seed| {
                let start = Instant::now();
                std::hint::black_box(simulate(&recipe, seed));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "simulate ({name}): median {:.2} ms, max {:.2} ms",
            times[10], times[19]
        );
    }
    let outcome = simulate(&SynthesisInputs::default(), 1);
    let start = Instant::now();
    std::hint::black_box(measure_spectra(&outcome, 1));
    println!(
        "measure_spectra: {:.2} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let spec = MicrographSpec::default();
    let mut times = Vec::new();
    let mut count = 0;
    for seed in 0..10 {
        let start = Instant::now();
        let image = render_micrograph(&outcome.particle_diameters_nm, &spec, seed)
            .expect("the default spec is valid");
        times.push(start.elapsed().as_secs_f64() * 1e3);
        count = image.truth.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "render_micrograph 1024x1024, {count} particles: median {:.1} ms, max {:.1} ms",
        times[5], times[9]
    );
}
