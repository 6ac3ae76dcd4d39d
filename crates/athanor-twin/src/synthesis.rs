//! Running a synthesis on the twin ([`simulate`]) and measuring its product
//! ([`measure_spectra`], [`measure_quantum_yield`]).

use crate::inputs::SynthesisInputs;
use crate::kinetics::{self, BatchVariation, GrowthResult, KineticParams};
use crate::optics::{self, Grid, HOMOGENEOUS_FWHM_NM, ZNS_MONOLAYER_NM};
use athanor_model::{ProcessStep, Quantity};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::BTreeMap;

/// Name of the twin's reactor in process steps.
pub const DEVICE: &str = "twin:hot-injection-reactor";
/// Number of particles in the simulated ensemble handed out in [`SynthesisOutcome`].
pub const ENSEMBLE_SIZE: usize = 3000;
/// Relative spread of sizes within one simulated particle class (unresolved in the kinetics).
const CLASS_JITTER: f64 = 0.012;
/// Standard deviation of the per-particle shell thickness, monolayers.
const SHELL_JITTER_ML: f64 = 0.15;

/// The product of one synthesis, with the process as it ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthesisOutcome {
    /// CdSe core diameters of a representative sample of the ensemble, nm.
    pub core_diameters_nm: Vec<f64>,
    /// Nominal ZnS shell thickness, nm (monolayers × 0.31 nm).
    pub shell_thickness_nm: f64,
    /// Core + 2 × shell of each particle, nm (what TEM sees; the shell varies slightly from
    /// particle to particle).
    pub particle_diameters_nm: Vec<f64>,
    /// Mean core diameter, nm.
    pub mean_core_diameter_nm: f64,
    /// Coefficient of variation (std / mean) of `particle_diameters_nm`, fraction.
    pub size_cv: f64,
    /// Peak of the true (noise-free) ensemble photoluminescence spectrum, nm.
    pub pl_peak_nm: f64,
    /// Full width at half maximum of the true ensemble PL spectrum, nm.
    pub pl_fwhm_nm: f64,
    /// True PL quantum yield, fraction 0..1.
    pub quantum_yield: f64,
    /// Fraction of the Se converted into particles.
    pub yield_fraction: f64,
    /// Per-particle emission wavelengths (nm), parallel to `core_diameters_nm`; the source of
    /// the PL spectrum.
    pub emission_nm: Vec<f64>,
    /// Per-particle first-exciton absorption wavelengths (nm) of the core/shell dots (the
    /// core's sizing-curve value plus the shell red-shift), parallel to `core_diameters_nm`.
    pub first_exciton_nm: Vec<f64>,
    /// The process as it ran: setpoints and logged actuals, start offsets, durations.
    pub steps: Vec<ProcessStep>,
}

/// Runs one synthesis on the twin. Deterministic for a given seed; different seeds differ by
/// small batch-to-batch variations (±0.5 K temperatures, ±3 % injection time, ±10 %
/// nucleation rate, particle reactivities, sampling of the ensemble). Inputs outside their
/// valid ranges are clamped (validate them with [`SynthesisInputs::validate`] first).
pub fn simulate(inputs: &SynthesisInputs, seed: u64) -> SynthesisOutcome {
    simulate_with(inputs, &KineticParams::default(), seed)
}

/// [`simulate`] with explicit kinetic constants (for calibration work).
#[doc(hidden)]
pub fn simulate_with(
    inputs: &SynthesisInputs,
    params: &KineticParams,
    seed: u64,
) -> SynthesisOutcome {
    let inputs = inputs.clamped();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let variation = BatchVariation::draw(&mut rng);
    let growth = kinetics::grow(&inputs, params, &variation);
    let core_diameters_nm = sample_ensemble(&growth, &mut rng);
    let shell_thickness_nm = inputs.shell_monolayers * ZNS_MONOLAYER_NM;
    let mut particle_diameters_nm = Vec::with_capacity(core_diameters_nm.len());
    let mut emission_nm = Vec::with_capacity(core_diameters_nm.len());
    let mut first_exciton_nm = Vec::with_capacity(core_diameters_nm.len());
    for &core in &core_diameters_nm {
        let z: f64 = StandardNormal.sample(&mut rng);
        let monolayers = if inputs.shell_monolayers > 0.0 {
            (inputs.shell_monolayers + SHELL_JITTER_ML * z).max(0.0)
        } else {
            0.0
        };
        particle_diameters_nm.push(core + 2.0 * ZNS_MONOLAYER_NM * monolayers);
        let exciton = optics::first_exciton_nm(core) + optics::shell_red_shift_nm(core, monolayers);
        first_exciton_nm.push(exciton);
        emission_nm.push(exciton + optics::stokes_shift_nm(core));
    }
    let mean_core_diameter_nm = mean(&core_diameters_nm);
    let size_cv = std_dev(&particle_diameters_nm) / mean(&particle_diameters_nm);
    let (pl_peak_nm, pl_fwhm_nm) = true_pl(&core_diameters_nm, &emission_nm);
    let quantum_yield = optics::quantum_yield(&inputs, size_cv);
    let steps = process_steps(&inputs, &growth, shell_thickness_nm);
    SynthesisOutcome {
        core_diameters_nm,
        shell_thickness_nm,
        particle_diameters_nm,
        mean_core_diameter_nm,
        size_cv,
        pl_peak_nm,
        pl_fwhm_nm,
        quantum_yield,
        yield_fraction: growth.yield_fraction,
        emission_nm,
        first_exciton_nm,
        steps,
    }
}

/// The kinetic part of [`simulate_with`] alone, with its trace (for calibration work).
#[doc(hidden)]
pub fn run_kinetics(inputs: &SynthesisInputs, params: &KineticParams, seed: u64) -> GrowthResult {
    let inputs = inputs.clamped();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let variation = BatchVariation::draw(&mut rng);
    kinetics::grow(&inputs, params, &variation)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn std_dev(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len().max(1) as f64).sqrt()
}

/// Draws the representative particles: classes in proportion to their number density, with a
/// small jitter for the spread within a class.
fn sample_ensemble(growth: &GrowthResult, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let total: f64 = growth.classes.iter().map(|c| c.1).sum();
    if growth.classes.is_empty() || total <= 0.0 {
        // No stable nuclei formed: what is left are sub-nanometre clusters.
        return (0..ENSEMBLE_SIZE)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                1.2 * (1.0 + 0.1 * z).max(0.5)
            })
            .collect();
    }
    let mut cumulative = Vec::with_capacity(growth.classes.len());
    let mut acc = 0.0;
    for c in &growth.classes {
        acc += c.1 / total;
        cumulative.push(acc);
    }
    (0..ENSEMBLE_SIZE)
        .map(|k| {
            // Stratified draw: one uniform number per 1/N slice keeps the sample close to the
            // class weights while staying random.
            let u = (k as f64 + rng.random::<f64>()) / ENSEMBLE_SIZE as f64;
            let index = cumulative
                .partition_point(|&c| c < u)
                .min(growth.classes.len() - 1);
            let z: f64 = StandardNormal.sample(rng);
            2.0 * growth.classes[index].0 * (1.0 + CLASS_JITTER * z).max(0.5)
        })
        .collect()
}

/// The fine grid on which true spectra are computed.
const TRUE_GRID: Grid = Grid {
    start_nm: 380.0,
    step_nm: 0.25,
    len: 1921,
};

/// Peak and FWHM of the noise-free ensemble PL (each dot weighted by its absorption at a
/// 400 nm excitation, ∝ core volume).
fn true_pl(cores: &[f64], emission: &[f64]) -> (f64, f64) {
    let lines: Vec<(f64, f64)> = cores
        .iter()
        .zip(emission)
        .map(|(d, e)| (*e, d.powi(3)))
        .collect();
    let curve = TRUE_GRID.broadened(&lines, HOMOGENEOUS_FWHM_NM);
    optics::peak_and_fwhm(&TRUE_GRID, &curve)
}

fn quantity_map(entries: &[(&str, f64, &str)]) -> BTreeMap<String, Quantity> {
    entries
        .iter()
        .map(|(name, value, unit)| (name.to_string(), Quantity::new(*value, unit)))
        .collect()
}

/// One step before it is numbered and timed: action, setpoints, actuals, duration (min).
type PlannedStep = (
    &'static str,
    BTreeMap<String, Quantity>,
    BTreeMap<String, Quantity>,
    f64,
);

/// The process as it ran, step by step, with setpoints and logged actuals.
fn process_steps(
    inputs: &SynthesisInputs,
    growth: &GrowthResult,
    shell_thickness_nm: f64,
) -> Vec<ProcessStep> {
    let round = |v: f64, digits: i32| {
        let f = 10f64.powi(digits);
        (v * f).round() / f
    };
    let heat_minutes = (inputs.injection_temperature_c - 120.0) / 15.0;
    let grow_minutes = inputs.growth_time_min;
    let shell_minutes = 10.0 * inputs.shell_monolayers;
    let plan: Vec<PlannedStep> = vec![
        (
            "degas",
            quantity_map(&[("temperature", 120.0, "degC"), ("pressure", 0.1, "mbar")]),
            quantity_map(&[("temperature", 120.0, "degC")]),
            30.0,
        ),
        (
            "heat",
            quantity_map(&[("temperature", inputs.injection_temperature_c, "degC")]),
            quantity_map(&[("temperature", round(growth.start_temperature_c, 1), "degC")]),
            heat_minutes,
        ),
        (
            "inject",
            quantity_map(&[
                ("temperature", inputs.injection_temperature_c, "degC"),
                ("injection_time", inputs.injection_time_s, "s"),
                (
                    "precursor_concentration",
                    inputs.precursor_concentration_mol_l,
                    "mol/L",
                ),
                ("cd_se_ratio", inputs.cd_se_ratio, "1"),
            ]),
            quantity_map(&[
                (
                    "injection_time",
                    round(growth.actual_injection_time_s, 2),
                    "s",
                ),
                (
                    "temperature_min",
                    round(growth.min_temperature_c, 1),
                    "degC",
                ),
                (
                    "temperature_dip",
                    round(inputs.injection_temperature_c - growth.min_temperature_c, 1),
                    "K",
                ),
            ]),
            growth.actual_injection_time_s / 60.0,
        ),
        (
            "grow",
            quantity_map(&[
                ("temperature", inputs.growth_temperature_c, "degC"),
                ("growth_time", grow_minutes, "min"),
            ]),
            quantity_map(&[
                (
                    "temperature_mean",
                    round(growth.mean_growth_temperature_c, 1),
                    "degC",
                ),
                (
                    "temperature_final",
                    round(growth.final_temperature_c, 1),
                    "degC",
                ),
            ]),
            grow_minutes,
        ),
        (
            "cool",
            quantity_map(&[("temperature", 150.0, "degC")]),
            quantity_map(&[("temperature", 150.0, "degC")]),
            3.0,
        ),
        (
            "shell",
            quantity_map(&[
                ("shell_monolayers", inputs.shell_monolayers, "ML"),
                ("temperature", 220.0, "degC"),
            ]),
            quantity_map(&[("shell_thickness", round(shell_thickness_nm, 3), "nm")]),
            shell_minutes,
        ),
        (
            "purify",
            quantity_map(&[
                ("antisolvent_ratio", 2.0, "1"),
                ("centrifuge_speed", 4000.0, "rpm"),
            ]),
            quantity_map(&[("yield_fraction", round(growth.yield_fraction, 4), "1")]),
            15.0,
        ),
    ];
    let mut start = 0.0;
    plan.into_iter()
        .enumerate()
        .map(|(k, (action, setpoints, actuals, minutes))| {
            let step = ProcessStep {
                index: k as u32 + 1,
                action: action.to_string(),
                setpoints,
                actuals,
                start: Some(Quantity::new(round(start, 4), "min")),
                duration: Some(Quantity::new(round(minutes, 4), "min")),
                device: DEVICE.to_string(),
            };
            start += minutes;
            step
        })
        .collect()
}

/// A measured UV-vis absorption and photoluminescence spectrum of the purified product.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spectrum {
    /// Wavelength axis, nm: 400 to 800 nm in 0.5 nm steps (801 points).
    pub wavelength_nm: Vec<f64>,
    /// Absorbance (optical density, 1 cm path) of the diluted sample.
    pub absorbance: Vec<f64>,
    /// Photoluminescence under 400 nm excitation, detector counts.
    pub photoluminescence: Vec<f64>,
}

/// The measurement grid of [`measure_spectra`].
const MEASURED_GRID: Grid = Grid {
    start_nm: 400.0,
    step_nm: 0.5,
    len: 801,
};
const HC_EV_NM: f64 = 1_239.841_98;
/// Bulk CdSe band gap at room temperature, eV.
const BULK_GAP_EV: f64 = 1.74;

/// Measures absorption and PL spectra of the product, 400–800 nm in 0.5 nm steps, with
/// realistic detector noise. Deterministic for a given seed.
///
/// Absorbance: every dot contributes, in proportion to its volume, a first-exciton Gaussian
/// (σ = 35 meV), two higher excitonic transitions (2S₃/₂–1Sₑ and 1P₃/₂–1Pₑ, placed at fractions
/// of the confinement energy above the first) and an interband continuum; a λ⁻⁴ scattering
/// background, a small baseline offset and photometric noise (0.001 + 0.3 % of the reading)
/// are added; the dilution is such that the absorbance at 400 nm is ≈ 0.5. PL: per-dot Gaussian
/// lines of 22 nm FWHM weighted by absorption at the excitation (∝ volume), scaled by the
/// quantum yield to ≈ 20 000 counts at QY = 0.5, with shot noise, 5-count read noise, a dark
/// offset and a faint excitation-scatter tail near 400 nm.
pub fn measure_spectra(outcome: &SynthesisOutcome, seed: u64) -> Spectrum {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5350_4543_5452_4131);
    let mut normal = move || -> f64 { StandardNormal.sample(&mut rng) };
    let grid = &MEASURED_GRID;
    let wavelength_nm: Vec<f64> = (0..grid.len).map(|k| grid.wavelength(k)).collect();

    // Absorbance: group dots by first-exciton wavelength (0.5 nm bins) for speed.
    let mut bins: BTreeMap<i64, (f64, f64)> = BTreeMap::new(); // bin → (Σw, Σw·λ)
    for (&d, &l) in outcome
        .core_diameters_nm
        .iter()
        .zip(&outcome.first_exciton_nm)
    {
        let w = d.powi(3);
        let entry = bins.entry((l * 2.0).round() as i64).or_insert((0.0, 0.0));
        entry.0 += w;
        entry.1 += w * l;
    }
    let mut absorbance = vec![0.0; grid.len];
    for &(w, wl) in bins.values() {
        let e1 = HC_EV_NM / (wl / w);
        let confinement = (e1 - BULK_GAP_EV).max(0.02);
        let transitions = [
            (e1, 1.0, 0.035),
            (e1 + 0.25 * confinement + 0.03, 0.6, 0.05),
            (e1 + 0.6 * confinement + 0.08, 0.9, 0.08),
        ];
        let onset = e1 + confinement + 0.15;
        for (a, &lambda) in absorbance.iter_mut().zip(&wavelength_nm) {
            let e = HC_EV_NM / lambda;
            let mut value = 0.0;
            for &(centre, strength, sigma) in &transitions {
                let x = (e - centre) / sigma;
                if x.abs() < 6.0 {
                    value += strength * (-0.5 * x * x).exp();
                }
            }
            value += 1.5 * 0.5 * (1.0 + ((e - onset) / 0.12).tanh()) * (1.0 + 0.8 * (e - onset));
            *a += w * value;
        }
    }
    let dilution = 0.5 * (1.0 + 0.08 * normal()) / absorbance[0].max(1e-300);
    let scattering = 0.01 * (1.0 + 0.3 * normal()).max(0.1);
    let baseline = 0.002 * normal();
    for (a, &lambda) in absorbance.iter_mut().zip(&wavelength_nm) {
        let clean = *a * dilution + scattering * (400.0 / lambda).powi(4) + baseline;
        *a = clean + (0.001 + 0.003 * clean.abs()) * normal();
    }

    // Photoluminescence.
    let lines: Vec<(f64, f64)> = outcome
        .core_diameters_nm
        .iter()
        .zip(&outcome.emission_nm)
        .map(|(d, e)| (*e, d.powi(3)))
        .collect();
    let mut photoluminescence = grid.broadened(&lines, HOMOGENEOUS_FWHM_NM);
    let peak = photoluminescence.iter().cloned().fold(0.0, f64::max);
    let scale = if peak > 0.0 {
        2.0e4 * outcome.quantum_yield / 0.5 * (1.0 + 0.05 * normal()) / peak
    } else {
        0.0
    };
    let dark = 100.0;
    for (p, &lambda) in photoluminescence.iter_mut().zip(&wavelength_nm) {
        let clean = *p * scale + 300.0 * (-(lambda - 400.0) / 3.0).exp();
        *p = dark + clean + (clean.max(0.0) + 25.0).sqrt() * normal();
    }
    Spectrum {
        wavelength_nm,
        absorbance,
        photoluminescence,
    }
}

/// Standard uncertainty of [`measure_quantum_yield`] (absolute).
pub const QUANTUM_YIELD_STD: f64 = 0.02;

/// Measures the PL quantum yield as an integrating sphere would: the true value plus Gaussian
/// noise of 0.02 (absolute), clipped to 0..=1. Returns (value, standard uncertainty).
pub fn measure_quantum_yield(outcome: &SynthesisOutcome, seed: u64) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5159_4d45_4153_5552);
    let z: f64 = StandardNormal.sample(&mut rng);
    (
        (outcome.quantum_yield + QUANTUM_YIELD_STD * z).clamp(0.0, 1.0),
        QUANTUM_YIELD_STD,
    )
}
