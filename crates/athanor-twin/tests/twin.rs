//! Behaviour of the synthesis twin through its public API: determinism, trends, process log,
//! spectra and quantum-yield measurement.

use athanor_twin::{
    measure_quantum_yield, measure_spectra, simulate, SynthesisInputs, SynthesisOutcome, DEVICE,
    QUANTUM_YIELD_STD,
};

fn run(inputs: SynthesisInputs) -> SynthesisOutcome {
    simulate(&inputs, 1)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn same_seed_is_identical_and_other_seeds_differ_slightly() {
    let inputs = SynthesisInputs::default();
    let a = simulate(&inputs, 11);
    assert_eq!(a, simulate(&inputs, 11));
    for seed in [12, 13, 14] {
        let b = simulate(&inputs, seed);
        assert_ne!(a.core_diameters_nm, b.core_diameters_nm);
        let size_change = (b.mean_core_diameter_nm / a.mean_core_diameter_nm - 1.0).abs();
        let pl_change = (b.pl_peak_nm / a.pl_peak_nm - 1.0).abs();
        assert!(size_change < 0.06, "size changed by {size_change}");
        assert!(pl_change < 0.02, "PL changed by {pl_change}");
        assert!((b.size_cv - a.size_cv).abs() < 0.03);
    }
}

#[test]
fn particles_grow_with_time_and_faster_when_hotter() {
    let d = SynthesisInputs::default();
    let sizes: Vec<f64> = [0.5, 2.0, 8.0, 30.0]
        .iter()
        .map(|&t| {
            run(SynthesisInputs {
                growth_time_min: t,
                ..d
            })
            .mean_core_diameter_nm
        })
        .collect();
    assert!(sizes.windows(2).all(|w| w[1] > w[0] * 1.05), "{sizes:?}");
    let by_temperature: Vec<f64> = [230.0, 260.0, 290.0]
        .iter()
        .map(|&t| {
            run(SynthesisInputs {
                growth_temperature_c: t,
                ..d
            })
            .mean_core_diameter_nm
        })
        .collect();
    assert!(
        by_temperature.windows(2).all(|w| w[1] > w[0] * 1.05),
        "{by_temperature:?}"
    );
    // Yield follows the precursor conversion.
    let short = run(SynthesisInputs {
        growth_time_min: 0.5,
        ..d
    });
    let long = run(SynthesisInputs {
        growth_time_min: 30.0,
        ..d
    });
    assert!(long.yield_fraction > 2.0 * short.yield_fraction);
    assert!(long.pl_peak_nm > short.pl_peak_nm + 50.0);
}

#[test]
fn slow_injection_broadens_the_distribution() {
    let d = SynthesisInputs::default();
    // Average over seeds so that the trend, not batch scatter, is tested.
    let cv = |injection_time_s: f64| {
        (0..3)
            .map(|seed| {
                simulate(
                    &SynthesisInputs {
                        injection_time_s,
                        ..d
                    },
                    seed,
                )
                .size_cv
            })
            .sum::<f64>()
            / 3.0
    };
    let (fast, medium, slow) = (cv(0.5), cv(5.0), cv(20.0));
    assert!(fast < medium && medium < slow, "{fast} {medium} {slow}");
    assert!(slow > 1.5 * fast);
}

#[test]
fn shell_red_shifts_emission_and_adds_to_the_diameter() {
    let d = SynthesisInputs::default();
    let outcomes: Vec<SynthesisOutcome> = [0.0, 1.0, 2.0, 4.0]
        .iter()
        .map(|&ml| {
            run(SynthesisInputs {
                shell_monolayers: ml,
                ..d
            })
        })
        .collect();
    let peaks: Vec<f64> = outcomes.iter().map(|o| o.pl_peak_nm).collect();
    assert!(peaks.windows(2).all(|w| w[1] > w[0]), "{peaks:?}");
    let total_shift = peaks[3] - peaks[0];
    assert!((5.0..=15.0).contains(&total_shift), "{total_shift}");
    for (o, ml) in outcomes.iter().zip([0.0, 1.0, 2.0, 4.0]) {
        // The cores are the same run; the shell adds 2 × 0.31 nm per monolayer.
        assert_eq!(o.core_diameters_nm, outcomes[0].core_diameters_nm);
        let expected = mean(&o.core_diameters_nm) + 2.0 * 0.31 * ml;
        assert!((mean(&o.particle_diameters_nm) - expected).abs() < 0.02);
        assert!((o.shell_thickness_nm - 0.31 * ml).abs() < 1e-12);
    }
}

#[test]
fn five_nanometre_ensemble_has_consistent_statistics() {
    let o = run(SynthesisInputs {
        growth_time_min: 12.0,
        ..SynthesisInputs::default()
    });
    assert!(
        (4.0..6.5).contains(&o.mean_core_diameter_nm),
        "{}",
        o.mean_core_diameter_nm
    );
    assert_eq!(o.core_diameters_nm.len(), o.particle_diameters_nm.len());
    let m = mean(&o.particle_diameters_nm);
    let sd = (o
        .particle_diameters_nm
        .iter()
        .map(|d| (d - m).powi(2))
        .sum::<f64>()
        / o.particle_diameters_nm.len() as f64)
        .sqrt();
    assert!((o.size_cv - sd / m).abs() < 1e-12);
    assert!((m - (o.mean_core_diameter_nm + 2.0 * 0.31 * 2.0)).abs() < 0.02);
    assert!((0.0..=1.0).contains(&o.quantum_yield) && o.quantum_yield > 0.5);
    assert!(o.pl_fwhm_nm > 20.0 && o.pl_fwhm_nm < 60.0);
}

#[test]
fn process_log_lists_the_steps_with_actuals() {
    let d = SynthesisInputs::default();
    let o = run(d);
    let actions: Vec<&str> = o.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        ["degas", "heat", "inject", "grow", "cool", "shell", "purify"]
    );
    let mut previous_end = 0.0;
    for (k, step) in o.steps.iter().enumerate() {
        assert_eq!(step.index as usize, k + 1);
        assert_eq!(step.device, DEVICE);
        let start = step.start.as_ref().expect("start offset");
        let duration = step.duration.as_ref().expect("duration");
        assert_eq!(start.unit, "min");
        assert!((start.value - previous_end).abs() < 1e-3);
        previous_end = start.value + duration.value;
    }
    let inject = &o.steps[2];
    let dip = inject.actuals["temperature_dip"].value;
    assert!(dip > 5.0 && dip < 60.0, "dip {dip}");
    assert_eq!(
        inject.setpoints["temperature"].value,
        d.injection_temperature_c
    );
    let grow = &o.steps[3];
    assert_eq!(grow.duration.as_ref().unwrap().value, d.growth_time_min);
    let final_t = grow.actuals["temperature_final"].value;
    assert!((final_t - d.growth_temperature_c).abs() < 3.0, "{final_t}");
}

#[test]
fn spectra_show_the_exciton_and_the_emission_where_the_truth_says() {
    let o = run(SynthesisInputs::default());
    let s = measure_spectra(&o, 5);
    assert_eq!(s.wavelength_nm.len(), 801);
    assert_eq!(s.wavelength_nm[0], 400.0);
    assert_eq!(s.wavelength_nm[800], 800.0);
    assert_eq!(s, measure_spectra(&o, 5));
    assert_ne!(
        s.photoluminescence,
        measure_spectra(&o, 6).photoluminescence
    );
    // PL: the maximum of a lightly smoothed spectrum sits at the true peak.
    let smooth: Vec<f64> = (0..801usize)
        .map(|k| {
            let lo = k.saturating_sub(4);
            let hi = (k + 4).min(800);
            s.photoluminescence[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
        })
        .collect();
    let k = (0..801)
        .max_by(|&a, &b| smooth[a].total_cmp(&smooth[b]))
        .unwrap();
    assert!((s.wavelength_nm[k] - o.pl_peak_nm).abs() < 3.0);
    // Absorption: the first-exciton maximum lies in a few nm of the mean exciton wavelength.
    let exciton = mean(&o.first_exciton_nm);
    let window: Vec<usize> = (0..801)
        .filter(|&j| (s.wavelength_nm[j] - exciton).abs() < 20.0)
        .collect();
    let j = *window
        .iter()
        .max_by(|&&a, &&b| s.absorbance[a].total_cmp(&s.absorbance[b]))
        .unwrap();
    assert!((s.wavelength_nm[j] - exciton).abs() < 8.0);
    // Nothing absorbs well beyond the band edge; the blue side absorbs strongly.
    assert!(s.absorbance[790] < 0.02 && s.absorbance[0] > 0.3);
}

#[test]
fn quantum_yield_measurement_is_unbiased_with_the_stated_noise() {
    let o = run(SynthesisInputs::default());
    let values: Vec<f64> = (0..400)
        .map(|seed| measure_quantum_yield(&o, seed).0)
        .collect();
    let m = mean(&values);
    let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
    assert!((m - o.quantum_yield).abs() < 0.005);
    assert!((sd - QUANTUM_YIELD_STD).abs() < 0.004);
    assert_eq!(measure_quantum_yield(&o, 3).1, QUANTUM_YIELD_STD);
}

#[test]
fn quantum_yield_follows_shell_and_stays_bounded() {
    let d = SynthesisInputs {
        cd_se_ratio: 4.0,
        ..SynthesisInputs::default()
    };
    let qy = |ml: f64| {
        run(SynthesisInputs {
            shell_monolayers: ml,
            ..d
        })
        .quantum_yield
    };
    let (bare, best, thick) = (qy(0.0), qy(2.5), qy(8.0));
    assert!((0.05..0.15).contains(&bare), "{bare}");
    assert!((0.6..0.9).contains(&best), "{best}");
    assert!(thick < best);
}

#[test]
fn out_of_range_inputs_are_clamped_not_trusted() {
    let wild = SynthesisInputs {
        growth_time_min: 1e6,
        injection_time_s: -3.0,
        precursor_concentration_mol_l: f64::NAN,
        ..SynthesisInputs::default()
    };
    assert!(wild.validate().is_err());
    let o = simulate(&wild, 0);
    assert!(o.pl_peak_nm.is_finite() && o.size_cv.is_finite());
}

#[test]
fn simulate_is_fast() {
    // Generous bound (tests run in parallel on a shared machine); the timings example measures
    // the real figure.
    let d = SynthesisInputs {
        growth_time_min: 60.0,
        injection_time_s: 60.0,
        ..SynthesisInputs::default()
    };
    let start = std::time::Instant::now();
    for seed in 0..5 {
        simulate(&d, seed);
    }
    let per_run = start.elapsed().as_secs_f64() / 5.0;
    assert!(per_run < 0.1, "{per_run} s per run");
}
