//! Nucleation and growth of CdSe cores after a hot injection (see the crate docs for the
//! equations and sources).
//!
//! The ensemble is a set of particle *classes*: particles born in the same nucleation interval
//! with the same surface-reactivity factor share a size, so a class carries a number density
//! (m⁻³) and one volume. The monomer balance is integrated semi-implicitly (growth is linear in
//! the supersaturation, so the new supersaturation has a closed form), which keeps the very
//! stiff monomer exchange stable with time steps set only by how fast sizes change.

use crate::inputs::SynthesisInputs;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::f64::consts::PI;

/// Gas constant, J mol⁻¹ K⁻¹.
pub(crate) const GAS_CONSTANT: f64 = 8.314_462_618;
/// Avogadro constant, mol⁻¹.
pub(crate) const AVOGADRO: f64 = 6.022_140_76e23;
/// Molar volume of zinc-blende/wurtzite CdSe: 191.37 g/mol ÷ 5.82 g/cm³, m³/mol.
pub(crate) const CDSE_MOLAR_VOLUME: f64 = 3.288e-5;
const ZERO_CELSIUS: f64 = 273.15;

/// The effective kinetic constants of the twin. Values are effective (fitted so that the twin
/// reproduces typical hot-injection behaviour: nanometre sizes after minutes of growth, size
/// focusing while precursor still converts, ripening afterwards), not measured constants of a
/// particular solvent system.
#[derive(Debug, Clone, PartialEq)]
#[doc(hidden)]
pub struct KineticParams {
    /// Effective surface energy γ, J/m².
    pub surface_energy: f64,
    /// Monomer solubility [M]_eq at the reference temperature for Cd:Se = 2, mol/m³.
    pub solubility_ref: f64,
    /// Enthalpy of dissolution in the van 't Hoff solubility, J/mol.
    pub solubility_enthalpy: f64,
    /// Exponent of the Cd:Se ratio in the solubility (excess Cd solubilises monomer).
    pub solubility_cd_exponent: f64,
    /// Pre-exponential factor of the nucleation rate, m⁻³ s⁻¹.
    pub nucleation_prefactor: f64,
    /// Effective monomer diffusion coefficient D (through solvent and ligand shell) at the
    /// reference temperature, m²/s.
    pub diffusion_ref: f64,
    /// Activation energy of D, J/mol.
    pub diffusion_activation: f64,
    /// Damköhler length δ = D/k_r at the reference temperature, m.
    pub damkohler_length_ref: f64,
    /// Activation energy of the surface reaction k_r, J/mol (sets how δ changes with T).
    pub reaction_activation: f64,
    /// Exponent of the Cd:Se ratio in k_r (Cd-rich surfaces are more reactive: smaller δ).
    pub reaction_cd_exponent: f64,
    /// Precursor-to-monomer conversion rate constant at the reference temperature, 1/s.
    pub conversion_rate_ref: f64,
    /// Activation energy of the precursor conversion, J/mol.
    pub conversion_activation: f64,
    /// Fraction of the injected Se that reacts on contact with the hot Cd solution (monomer
    /// formed in the injection plume), for Cd:Se → ∞.
    pub fast_fraction: f64,
    /// Volume fraction of the flask occupied by the injection plume (mixing zone).
    pub plume_volume_fraction: f64,
    /// Rate at which the plume exchanges with the bulk (inverse mixing time), 1/s.
    pub mixing_rate: f64,
    /// Largest radius at which plume nuclei can leave the plume, m: nuclei that would need to
    /// be larger to survive in the bulk redissolve instead.
    pub max_birth_radius: f64,
    /// Cd half-saturation of the conversion, in units of the Se concentration.
    pub cadmium_half_saturation: f64,
    /// Lognormal spread of per-particle growth rates (ligand-shell permeability).
    pub reactivity_spread: f64,
    /// Volume fraction of the (room-temperature) injected solution: sets the temperature dip.
    pub injected_volume_fraction: f64,
    /// Time constant of the heating mantle's temperature control, s.
    pub temperature_time_constant: f64,
    /// Reference temperature of the Arrhenius laws, K.
    pub reference_temperature: f64,
}

impl Default for KineticParams {
    fn default() -> Self {
        KineticParams {
            surface_energy: 0.15,
            solubility_ref: 0.02,
            solubility_enthalpy: 60e3,
            solubility_cd_exponent: 0.5,
            nucleation_prefactor: 3.16e33,
            diffusion_ref: 2e-15,
            diffusion_activation: 20e3,
            damkohler_length_ref: 0.3e-9,
            reaction_activation: 70e3,
            reaction_cd_exponent: 0.3,
            conversion_rate_ref: 1.0 / 900.0,
            conversion_activation: 110e3,
            fast_fraction: 0.032,
            plume_volume_fraction: 0.03,
            mixing_rate: 3.0,
            max_birth_radius: 1.0e-9,
            cadmium_half_saturation: 0.5,
            reactivity_spread: 0.124,
            injected_volume_fraction: 0.1,
            temperature_time_constant: 40.0,
            reference_temperature: 543.15,
        }
    }
}

/// Small run-to-run variations of a real batch (thermocouple offset, injection speed,
/// trace impurities that change nucleation), drawn from the seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BatchVariation {
    /// Offset of all actual temperatures from their setpoints, K.
    pub temperature_offset: f64,
    /// Actual/planned injection duration.
    pub injection_time_factor: f64,
    /// Multiplier of the nucleation prefactor.
    pub nucleation_factor: f64,
}

impl BatchVariation {
    pub(crate) fn draw(rng: &mut ChaCha8Rng) -> BatchVariation {
        let z = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        BatchVariation {
            temperature_offset: 0.5 * z(rng),
            injection_time_factor: (0.03 * z(rng)).exp(),
            nucleation_factor: (0.10 * z(rng)).exp(),
        }
    }
}

/// One class of particles: same birth interval and surface reactivity, hence same size.
#[derive(Debug, Clone, Copy)]
struct Class {
    /// Number density, m⁻³.
    number: f64,
    /// Volume of one particle, m³.
    volume: f64,
    /// Radius, m (kept in step with `volume`).
    radius: f64,
    /// Index into [`REACTIVITY_QUANTILES`]: the particle's surface-reactivity class.
    quantile: usize,
}

/// What the kinetic simulation returns.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct GrowthResult {
    /// (core radius in nm, number density in m⁻³) of every surviving class.
    pub classes: Vec<(f64, f64)>,
    /// Fraction of the Se that ended up in particles.
    pub yield_fraction: f64,
    /// Actual temperature at the start of the injection, °C.
    pub start_temperature_c: f64,
    /// Lowest temperature after injection, °C.
    pub min_temperature_c: f64,
    /// Temperature at the quench, °C.
    pub final_temperature_c: f64,
    /// Time-averaged temperature of the growth stage, °C.
    pub mean_growth_temperature_c: f64,
    /// Actual injection duration, s.
    pub actual_injection_time_s: f64,
    /// Number of time steps taken.
    pub steps: usize,
    /// Highest supersaturation reached.
    pub peak_supersaturation: f64,
    /// Time from the start of injection by which 90 % of the nuclei had formed, s.
    pub nucleation_time_s: f64,
    /// Snapshots of the run, roughly logarithmically spaced in time.
    pub trace: Vec<TracePoint>,
    /// (Se injected − Se found in monomer, plume, precursor and particles) / Se injected:
    /// the mass-balance error of the integration.
    pub mass_balance_error: f64,
}

/// The state of the flask at one instant (for diagnostics and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
#[doc(hidden)]
pub struct TracePoint {
    /// Time since the start of the injection, s.
    pub time_s: f64,
    /// Temperature, °C.
    pub temperature_c: f64,
    /// Supersaturation S = [M]/[M]eq.
    pub supersaturation: f64,
    /// Supersaturation in the injection plume.
    pub plume_supersaturation: f64,
    /// Particle number density, m⁻³.
    pub number_density: f64,
    /// Number-weighted mean radius, nm.
    pub mean_radius_nm: f64,
    /// Coefficient of variation of the radius.
    pub radius_cv: f64,
    /// Number of particle classes.
    pub classes: usize,
    /// Fraction of the Se still in the precursor.
    pub precursor_fraction: f64,
}

/// Temperature-dependent rate constants at one instant.
struct Rates {
    solubility: f64,
    capillary_length: f64,
    /// v_m D [M]eq, m³/s: dr/dt = growth_velocity (S − e^(a/r)) / (r + δ).
    growth_velocity: f64,
    damkohler_length: f64,
    conversion: f64,
    nucleation_barrier: f64,
}

impl KineticParams {
    fn arrhenius(&self, activation: f64, temperature: f64) -> f64 {
        (-activation / GAS_CONSTANT * (1.0 / temperature - 1.0 / self.reference_temperature)).exp()
    }

    fn rates(&self, temperature: f64, cd_se_ratio: f64) -> Rates {
        let cd = (cd_se_ratio / 2.0).max(1e-3);
        let solubility = self.solubility_ref
            * self.arrhenius(self.solubility_enthalpy, temperature)
            * cd.powf(self.solubility_cd_exponent);
        let diffusion = self.diffusion_ref * self.arrhenius(self.diffusion_activation, temperature);
        let damkohler_length = self.damkohler_length_ref
            * self.arrhenius(
                self.diffusion_activation - self.reaction_activation,
                temperature,
            )
            / cd.powf(self.reaction_cd_exponent);
        let kt = temperature * GAS_CONSTANT / AVOGADRO;
        let molecular_volume = CDSE_MOLAR_VOLUME / AVOGADRO;
        Rates {
            solubility,
            capillary_length: 2.0 * self.surface_energy * CDSE_MOLAR_VOLUME
                / (GAS_CONSTANT * temperature),
            growth_velocity: CDSE_MOLAR_VOLUME * diffusion * solubility,
            damkohler_length,
            conversion: self.conversion_rate_ref
                * self.arrhenius(self.conversion_activation, temperature),
            nucleation_barrier: 16.0 * PI * self.surface_energy.powi(3) * molecular_volume.powi(2)
                / (3.0 * kt.powi(3)),
        }
    }
}

fn radius_of(volume: f64) -> f64 {
    (volume * 3.0 / (4.0 * PI)).cbrt()
}

fn volume_of(radius: f64) -> f64 {
    4.0 / 3.0 * PI * radius.powi(3)
}

/// Standard-normal quantiles (midpoints of eight equal-probability bins) used for the eight
/// reactivity classes born in each nucleation interval.
const REACTIVITY_QUANTILES: [f64; 8] = [
    -1.534_121, -0.887_147, -0.488_776, -0.157_311, 0.157_311, 0.488_776, 0.887_147, 1.534_121,
];
/// Longest time step, s.
const MAX_STEP_S: f64 = 20.0;
/// Relative radius change of a fresh nucleus after which a new birth interval starts.
const BIRTH_INTERVAL_GROWTH: f64 = 0.02;
/// Classes of the same reactivity whose radii differ by less than this are merged.
const MERGE_TOLERANCE: f64 = 0.003;
/// Classes holding less than this fraction of all particles are dropped (material returned).
const NEGLIGIBLE_FRACTION: f64 = 1e-7;

/// Runs injection and growth up to the quench.
pub(crate) fn grow(
    inputs: &SynthesisInputs,
    params: &KineticParams,
    variation: &BatchVariation,
) -> GrowthResult {
    let se_total = inputs.precursor_concentration_mol_l * 1000.0; // mol/m³
    let cd_total = inputs.cd_se_ratio * se_total;
    let injection_time = inputs.injection_time_s * variation.injection_time_factor;
    let end_time = injection_time + inputs.growth_time_min * 60.0;
    let growth_setpoint = inputs.growth_temperature_c + ZERO_CELSIUS + variation.temperature_offset;
    let mut temperature =
        inputs.injection_temperature_c + ZERO_CELSIUS + variation.temperature_offset;
    // Mixing in cold precursor solution lowers the temperature (spread over the injection),
    // while the controller pulls towards the growth setpoint.
    let room = 25.0 + ZERO_CELSIUS;
    let dip_rate = params.injected_volume_fraction * (temperature - room) / injection_time;
    let fast_fraction = params.fast_fraction * inputs.cd_se_ratio / (inputs.cd_se_ratio + 1.0);
    let feed_rate = se_total / injection_time;
    let reactivities = REACTIVITY_QUANTILES.map(|z| (params.reactivity_spread * z).exp());

    let mut monomer = 0.0f64; // mol/m³ (bulk)
    let mut plume_monomer = 0.0f64; // mol per m³ of plume
    let mut precursor = 0.0f64; // mol/m³ of unconverted Se precursor
    let mut converted = 0.0f64; // mol/m³ of Se turned into monomer so far
    let mut classes: Vec<Class> = Vec::new();
    let mut pending_number = 0.0f64; // nuclei of the current birth interval
    let mut pending_volume = 0.0f64; // their mean volume
    let mut pending_growth = 0.0f64; // relative growth of a fresh nucleus during the interval
    let mut total_nucleated = 0.0f64;
    let mut nucleation_log: Vec<(f64, f64)> = Vec::new(); // (time, cumulative nuclei)

    let mut time = 0.0f64;
    let mut steps = 0usize;
    let start_temperature = temperature;
    let mut min_temperature = temperature;
    let mut growth_temperature_integral = 0.0;
    let mut peak_supersaturation = 0.0f64;
    let removal_volume = volume_of(0.15e-9);
    let mut trace = Vec::new();
    let mut next_trace = 0.0f64;
    let mut coefficients: Vec<(f64, f64)> = Vec::new();

    while time < end_time - 1e-9 {
        let feeding = time < injection_time;
        let rates = params.rates(temperature, inputs.cd_se_ratio);
        let supersaturation = monomer / rates.solubility;
        peak_supersaturation = peak_supersaturation.max(supersaturation);
        let cd_free = (cd_total - converted).max(0.0);
        let conversion =
            rates.conversion * cd_free / (cd_free + params.cadmium_half_saturation * se_total);

        // Nucleation: J = A exp(−16πγ³v²/(3k³T³ ln²S)), nuclei just above r* = 2γv/(kT ln S),
        // in the bulk and in the injection plume (where the freshly injected, fast-reacting Se
        // raises the supersaturation). Plume nuclei leave the plume at a size stable in the
        // bulk, or redissolve if that size is beyond `max_birth_radius`.
        let nucleation = |s: f64| -> f64 {
            if s > 1.0 + 1e-9 {
                let ln_s = s.ln();
                params.nucleation_prefactor
                    * variation.nucleation_factor
                    * (-rates.nucleation_barrier / (ln_s * ln_s)).exp()
            } else {
                0.0
            }
        };
        let critical_radius = |s: f64| -> f64 {
            if s > 1.0 + 1e-9 {
                rates.capillary_length / s.ln()
            } else {
                f64::INFINITY
            }
        };
        let nucleation_rate = (1.0 - params.plume_volume_fraction) * nucleation(supersaturation);
        let nucleus_radius = 1.1 * critical_radius(supersaturation);
        let nucleus_volume = volume_of(nucleus_radius.min(1e-6));
        let nucleus_moles = nucleus_volume / CDSE_MOLAR_VOLUME;
        let plume_supersaturation = plume_monomer / rates.solubility;
        let plume_birth_radius =
            1.1 * critical_radius(plume_supersaturation).max(critical_radius(supersaturation));
        let plume_nucleation = if plume_birth_radius <= params.max_birth_radius {
            nucleation(plume_supersaturation)
        } else {
            0.0
        };
        let plume_birth_volume = volume_of(plume_birth_radius.min(params.max_birth_radius));

        // Growth: dr/dt = G (S − exp(a/r)),  G = v_m D [M]eq g / (r + δ); per class the
        // volume rate is 4πr²G(S − E) with E = exp(a/r).
        coefficients.clear();
        coefficients.extend(classes.iter().map(|c| {
            let g = rates.growth_velocity * reactivities[c.quantile]
                / (c.radius + rates.damkohler_length);
            (
                4.0 * PI * c.radius * c.radius * g,
                (rates.capillary_length / c.radius).exp(),
            )
        }));

        // Time step: small enough that sizes, sources and temperature change by a few %.
        let fast_feed = if feeding {
            fast_fraction * feed_rate
        } else {
            0.0
        };
        let slow_feed = if feeding {
            (1.0 - fast_fraction) * feed_rate
        } else {
            0.0
        };
        let mut dt = MAX_STEP_S;
        if feeding {
            dt = dt.min(injection_time / 100.0).min(injection_time - time);
        }
        if feeding || (temperature - growth_setpoint).abs() > 0.5 {
            dt = dt.min(0.05 * params.temperature_time_constant);
        }
        dt = dt.min(0.2 / conversion.max(1e-12));
        for (c, (k, e)) in classes.iter().zip(&coefficients) {
            let relative_rate = k * (supersaturation - e) / c.volume;
            if relative_rate > 0.0 {
                dt = dt.min(0.06 / relative_rate);
            } else if relative_rate < 0.0 {
                // Dissolving classes: limit the material they release per step.
                let release = -c.number * k * (supersaturation - e) / CDSE_MOLAR_VOLUME;
                dt = dt.min(0.1 * monomer.max(rates.solubility) / release);
            }
        }
        if nucleation_rate > 0.0 {
            dt = dt.min(0.03 * monomer / (nucleation_rate * nucleus_moles));
        }
        if (plume_monomer - monomer).abs() > 0.01 * monomer + 1e-3 * rates.solubility {
            // The plume empties with the mixing time after the injection.
            dt = dt.min(0.3 / params.mixing_rate);
        }
        dt = dt.max(1e-6).min(end_time - time);

        // Sources: the fast part of the feed is monomer at once; the precursor converts with
        // first-order kinetics (exact exponential update for a constant feed over the step).
        let decay = (-conversion * dt).exp();
        let new_precursor = if conversion > 0.0 {
            precursor * decay + slow_feed * (1.0 - decay) / conversion
        } else {
            precursor + slow_feed * dt
        };
        let from_precursor = precursor + slow_feed * dt - new_precursor;
        precursor = new_precursor;
        converted += fast_feed * dt + from_precursor;
        // Plume: fed with the fast-reacting Se, mixed into the bulk, drained by nucleation
        // (both sinks treated implicitly so that no step overshoots).
        let phi = params.plume_volume_fraction;
        let plume_birth_moles = plume_birth_volume / CDSE_MOLAR_VOLUME;
        let plume_drain = plume_nucleation * plume_birth_moles / plume_monomer.max(1e-30);
        let new_plume_monomer = (plume_monomer
            + dt * (fast_feed / phi + params.mixing_rate * monomer))
            / (1.0 + dt * (params.mixing_rate + plume_drain));
        let plume_born = phi * plume_drain * dt * new_plume_monomer / plume_birth_moles.max(1e-300);
        let mixed_in = phi * params.mixing_rate * dt * (new_plume_monomer - monomer);
        plume_monomer = new_plume_monomer;
        let converted_now = from_precursor + mixed_in;

        // Implicit supersaturation: [M]eq S' = M + sources − Σ n_i k_i (S' − E_i) dt / v_m.
        let (sum_c, sum_ce) =
            classes
                .iter()
                .zip(&coefficients)
                .fold((0.0, 0.0), |acc, (c, (k, e))| {
                    let uptake = c.number * k / CDSE_MOLAR_VOLUME;
                    (acc.0 + uptake, acc.1 + uptake * e)
                });
        let new_supersaturation =
            ((monomer + converted_now + dt * sum_ce) / (rates.solubility + dt * sum_c)).max(0.0);
        let mut new_monomer = rates.solubility * new_supersaturation;

        // Volume update (so that the monomer taken up is exactly what the balance removed).
        for (c, (k, e)) in classes.iter_mut().zip(&coefficients) {
            c.volume += dt * k * (new_supersaturation - e);
            if c.volume <= removal_volume {
                // Dissolved: what is left returns to the solution (a volume that overshot
                // below zero was released in excess by the balance above and is taken back).
                new_monomer += c.number * c.volume / CDSE_MOLAR_VOLUME;
                c.number = 0.0;
            } else {
                c.radius = radius_of(c.volume);
            }
        }
        classes.retain(|c| c.number > 0.0);

        // Bulk nucleation (never taking more than half of the remaining monomer in one step),
        // plus the nuclei that left the plume.
        let mut born = 0.0;
        if nucleation_rate > 0.0 {
            born = (nucleation_rate * dt).min(0.5 * new_monomer / nucleus_moles);
            new_monomer -= born * nucleus_moles;
        }
        let mut add_nuclei = |number: f64, volume: f64| {
            if number > 0.0 {
                pending_volume =
                    (pending_volume * pending_number + number * volume) / (pending_number + number);
                pending_number += number;
                total_nucleated += number;
            }
        };
        add_nuclei(born, nucleus_volume);
        add_nuclei(plume_born, plume_birth_volume);
        born += plume_born;
        if pending_number > 0.0 {
            let r = radius_of(pending_volume);
            let g = rates.growth_velocity / (r + rates.damkohler_length);
            pending_growth +=
                dt * g * (new_supersaturation - (rates.capillary_length / r).exp()) / r;
        }
        monomer = new_monomer.max(0.0);
        let nucleation_slowed = born <= 1e-3 * pending_number;
        if pending_number > 0.0 && (pending_growth > BIRTH_INTERVAL_GROWTH || nucleation_slowed) {
            // A new birth interval: one class per graded surface reactivity.
            for quantile in 0..REACTIVITY_QUANTILES.len() {
                classes.push(Class {
                    number: pending_number / REACTIVITY_QUANTILES.len() as f64,
                    volume: pending_volume,
                    radius: radius_of(pending_volume),
                    quantile,
                });
            }
            nucleation_log.push((time + dt, total_nucleated));
            pending_number = 0.0;
            pending_volume = 0.0;
            pending_growth = 0.0;
        }
        if steps % 16 == 15 {
            monomer += compact(&mut classes);
        }

        // Temperature: cold feed while injecting, controller towards the growth setpoint.
        let cooling = if feeding { dip_rate } else { 0.0 };
        temperature +=
            dt * (-cooling + (growth_setpoint - temperature) / params.temperature_time_constant);
        min_temperature = min_temperature.min(temperature);
        if !feeding {
            growth_temperature_integral += temperature * dt;
        }
        time += dt;
        steps += 1;
        if time >= next_trace || time >= end_time - 1e-9 {
            let (n, m1, m2) = classes.iter().fold((0.0, 0.0, 0.0), |a, c| {
                (
                    a.0 + c.number,
                    a.1 + c.number * c.radius,
                    a.2 + c.number * c.radius * c.radius,
                )
            });
            let mean_radius = m1 / n.max(1e-300);
            let variance = (m2 / n.max(1e-300) - mean_radius * mean_radius).max(0.0);
            trace.push(TracePoint {
                time_s: time,
                temperature_c: temperature - ZERO_CELSIUS,
                supersaturation: monomer / params.rates(temperature, inputs.cd_se_ratio).solubility,
                plume_supersaturation: plume_monomer
                    / params.rates(temperature, inputs.cd_se_ratio).solubility,
                number_density: n,
                mean_radius_nm: mean_radius * 1e9,
                radius_cv: variance.sqrt() / mean_radius.max(1e-300),
                classes: classes.len(),
                precursor_fraction: precursor / se_total,
            });
            next_trace = (time * 1.25).max(time + 0.02);
        }
    }
    // Nuclei of an unfinished birth interval at the quench are too few to matter; their
    // material is washed away in purification like the unreacted monomer.
    let particle_moles: f64 = classes
        .iter()
        .map(|c| c.number * c.volume / CDSE_MOLAR_VOLUME)
        .sum();
    let accounted = monomer
        + params.plume_volume_fraction * plume_monomer
        + precursor
        + particle_moles
        + pending_number * pending_volume / CDSE_MOLAR_VOLUME;
    let injected = se_total * (time / injection_time).min(1.0);
    let nucleation_time_s = nucleation_log
        .iter()
        .find(|(_, n)| *n >= 0.9 * total_nucleated)
        .map_or(0.0, |(t, _)| *t);
    GrowthResult {
        classes: classes.iter().map(|c| (c.radius * 1e9, c.number)).collect(),
        yield_fraction: (particle_moles / se_total).clamp(0.0, 1.0),
        start_temperature_c: start_temperature - ZERO_CELSIUS,
        min_temperature_c: min_temperature - ZERO_CELSIUS,
        final_temperature_c: temperature - ZERO_CELSIUS,
        mean_growth_temperature_c: if end_time > injection_time {
            growth_temperature_integral / (end_time - injection_time) - ZERO_CELSIUS
        } else {
            temperature - ZERO_CELSIUS
        },
        actual_injection_time_s: injection_time,
        steps,
        peak_supersaturation,
        nucleation_time_s,
        trace,
        mass_balance_error: (injected - accounted) / se_total,
    }
}

/// Merges classes of equal reactivity whose radii differ by less than [`MERGE_TOLERANCE`]
/// (number and volume conserved) and drops negligible classes. Returns the material of the
/// dropped classes, mol/m³, to be given back to the solution.
fn compact(classes: &mut Vec<Class>) -> f64 {
    let total: f64 = classes.iter().map(|c| c.number).sum();
    let mut released = 0.0;
    classes.retain(|c| {
        let keep = c.number >= NEGLIGIBLE_FRACTION * total;
        if !keep {
            released += c.number * c.volume / CDSE_MOLAR_VOLUME;
        }
        keep
    });
    // Stable sort keeps the result independent of anything but the class data.
    classes.sort_by(|a, b| {
        a.quantile
            .cmp(&b.quantile)
            .then(a.radius.total_cmp(&b.radius))
    });
    let mut merged: Vec<Class> = Vec::with_capacity(classes.len());
    for c in classes.drain(..) {
        match merged.last_mut() {
            Some(last)
                if last.quantile == c.quantile
                    && c.radius - last.radius < MERGE_TOLERANCE * last.radius =>
            {
                let number = last.number + c.number;
                last.volume = (last.volume * last.number + c.volume * c.number) / number;
                last.number = number;
                last.radius = radius_of(last.volume);
            }
            _ => merged.push(c),
        }
    }
    *classes = merged;
    released
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_variation() -> BatchVariation {
        BatchVariation {
            temperature_offset: 0.0,
            injection_time_factor: 1.0,
            nucleation_factor: 1.0,
        }
    }

    fn run(inputs: SynthesisInputs) -> GrowthResult {
        grow(&inputs, &KineticParams::default(), &no_variation())
    }

    #[test]
    fn selenium_is_conserved() {
        let d = SynthesisInputs::default();
        for inputs in [
            d,
            SynthesisInputs {
                injection_time_s: 20.0,
                growth_time_min: 30.0,
                ..d
            },
            SynthesisInputs {
                cd_se_ratio: 0.5,
                precursor_concentration_mol_l: 0.4,
                growth_temperature_c: 310.0,
                growth_time_min: 60.0,
                ..d
            },
            SynthesisInputs {
                injection_temperature_c: 240.0,
                growth_temperature_c: 200.0,
                growth_time_min: 0.1,
                ..d
            },
        ] {
            let g = run(inputs);
            assert!(
                g.mass_balance_error.abs() < 1e-9,
                "{}",
                g.mass_balance_error
            );
            assert!((0.0..=1.0).contains(&g.yield_fraction));
        }
    }

    #[test]
    fn cd_poor_recipes_run_out_of_cadmium() {
        let g = run(SynthesisInputs {
            cd_se_ratio: 0.5,
            growth_temperature_c: 310.0,
            growth_time_min: 60.0,
            ..SynthesisInputs::default()
        });
        assert!(g.yield_fraction <= 0.5 + 1e-9, "{}", g.yield_fraction);
    }

    #[test]
    fn injection_cools_the_flask_which_then_settles_at_the_setpoint() {
        let g = run(SynthesisInputs {
            injection_temperature_c: 300.0,
            growth_temperature_c: 300.0,
            injection_time_s: 1.0,
            ..SynthesisInputs::default()
        });
        let dip = 300.0 - g.min_temperature_c;
        assert!((15.0..35.0).contains(&dip), "dip {dip}");
        assert!((g.final_temperature_c - 300.0).abs() < 0.5);
        assert!(g.mean_growth_temperature_c < 300.0);
    }

    #[test]
    fn distribution_focuses_while_precursor_converts_then_defocuses() {
        let g = run(SynthesisInputs {
            growth_temperature_c: 300.0,
            growth_time_min: 60.0,
            injection_time_s: 5.0,
            ..SynthesisInputs::default()
        });
        // Broadest right after the drawn-out nucleation…
        let (peak_index, early) = g
            .trace
            .iter()
            .enumerate()
            .filter(|(_, p)| p.time_s < 60.0)
            .fold((0, 0.0), |b, (k, p)| {
                if p.radius_cv > b.1 {
                    (k, p.radius_cv)
                } else {
                    b
                }
            });
        // …narrower while the precursor still feeds growth…
        let (focus_index, focused) =
            g.trace
                .iter()
                .enumerate()
                .skip(peak_index)
                .fold((0, 1.0), |b, (k, p)| {
                    if p.radius_cv < b.1 {
                        (k, p.radius_cv)
                    } else {
                        b
                    }
                });
        assert!(focused < 0.85 * early, "{early} -> {focused}");
        assert!(g.trace[focus_index].precursor_fraction > 0.1);
        // …and broader again, with fewer particles, once it is spent (Ostwald ripening).
        let last = g.trace.last().unwrap();
        assert!(
            last.radius_cv > 1.3 * focused,
            "{focused} -> {}",
            last.radius_cv
        );
        let peak_number = g.trace.iter().map(|p| p.number_density).fold(0.0, f64::max);
        assert!(last.number_density < 0.9 * peak_number);
    }

    #[test]
    fn nucleation_is_a_burst_for_fast_and_drawn_out_for_slow_injection() {
        let fast = run(SynthesisInputs {
            injection_time_s: 0.5,
            ..SynthesisInputs::default()
        });
        let slow = run(SynthesisInputs {
            injection_time_s: 20.0,
            ..SynthesisInputs::default()
        });
        assert!(slow.nucleation_time_s > 3.0 * fast.nucleation_time_s);
        assert!(slow.peak_supersaturation > 1.0 && fast.peak_supersaturation > 1.0);
    }
}
