//! # athanor-twin — a digital twin of hot-injection CdSe/ZnS quantum-dot synthesis
//!
//! Athanor's autonomous loop needs something to run experiments on when no robot is attached.
//! This crate is that something: a seeded, physics-based simulator of the classic hot-injection
//! synthesis (Murray, Norris & Bawendi, J. Am. Chem. Soc. 1993, 115, 8706) followed by a ZnS
//! shell, plus the instruments that characterise the product (UV-vis/PL spectrometer,
//! integrating sphere, TEM). It is pure computation: no I/O, no files, no clocks; the lab crate
//! turns its outputs into instrument files.
//!
//! ```
//! use athanor_twin::{simulate, measure_spectra, measure_quantum_yield, SynthesisInputs};
//! use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
//!
//! let recipe = SynthesisInputs { growth_time_min: 3.0, ..SynthesisInputs::default() };
//! let outcome = simulate(&recipe, 42);               // the "flask"
//! assert!(outcome.pl_peak_nm > 500.0 && outcome.pl_peak_nm < 660.0);
//! let spectrum = measure_spectra(&outcome, 42);      // the spectrometer
//! assert_eq!(spectrum.wavelength_nm.len(), 801);
//! let (qy, _std) = measure_quantum_yield(&outcome, 42);
//! assert!((0.0..=1.0).contains(&qy));
//! let spec = MicrographSpec { width: 256, height: 256, ..MicrographSpec::default() };
//! let image = render_micrograph(&outcome.particle_diameters_nm, &spec, 42).unwrap();
//! assert_eq!(image.pixels.len(), 256 * 256);
//! ```
//!
//! Recipes come in as [`SynthesisInputs`] (canonical units), usually built from an
//! [`athanor_model::Recipe`] with [`SynthesisInputs::from_recipe`], which converts units and
//! checks the ranges listed by [`input_specs`]. Everything random is drawn from
//! `ChaCha8Rng::seed_from_u64(seed)`, so a seed reproduces a run bit for bit; different seeds
//! differ only by realistic batch-to-batch scatter (±0.5 K, ±3 % injection time, ±10 % in the
//! nucleation rate, sampling of the particles) and measurement noise.
//!
//! # The synthesis model
//!
//! Time runs from the start of the injection. The Se precursor (concentration `c₀` after
//! injection) enters at a constant rate over `injection_time` τ; growth lasts `growth_time` after
//! the injection ends, then the flask is quenched.
//!
//! **Temperature.** The cold (25 °C) injected solution, a volume fraction φᵥ = 0.1 of the flask,
//! cools it while the mantle pulls towards the growth setpoint:
//! `dT/dt = −φᵥ (T_inj − 25 °C)/τ  [during injection] + (T_growth − T)/τ_T`, τ_T = 40 s.
//! The logged minimum and final temperatures appear in [`SynthesisOutcome::steps`].
//!
//! **Precursor conversion** (Owen, Chan, Liu & Alivisatos, J. Am. Chem. Soc. 2010, 132, 18206:
//! monomer supply is limited by precursor conversion). A fraction `f = f₀·R/(R+1)` (f₀ = 0.032,
//! R = Cd:Se) of the injected Se reacts on contact; the rest forms a precursor pool `P` that
//! converts to CdSe monomer with `dP/dt = feed − k_p(T)·P·Cd/(Cd + 0.5 c₀)`, where `Cd` is the
//! free cadmium (so Cd-poor recipes run out of Cd) and `k_p = k_p,ref·exp(−E_p/R (1/T − 1/T_ref))`
//! (k_p,ref = 1/900 s⁻¹ at 270 °C, E_p = 110 kJ/mol).
//!
//! **Mixing.** The fast-reacting Se forms monomer inside the injection plume, a mixing zone of
//! volume fraction φ = 0.03 exchanging with the bulk at k_mix = 3 s⁻¹:
//! `dM_p/dt = f·feed/φ − k_mix (M_p − M) − J(S_p)·v_n/v_m`. A fast injection floods the plume
//! (very high S_p, one short burst of nuclei); a slow one keeps a moderate S_p for the whole
//! injection, so nuclei keep appearing while earlier ones grow — a broad size distribution
//! emerges without being imposed. Plume nuclei leave at a size stable in the bulk,
//! `1.1·max(r*(S_p), r*(S))`, or redissolve if that exceeds 1 nm.
//!
//! **Solubility** (van 't Hoff; excess Cd solubilises monomer):
//! `[M]_eq = 0.02 mol/m³ · exp(−ΔH/R (1/T − 1/T_ref)) · (R/2)^0.5`, ΔH = 60 kJ/mol;
//! supersaturation `S = [M]/[M]_eq`.
//!
//! **Nucleation** (classical; LaMer & Dinegar, J. Am. Chem. Soc. 1950, 72, 4847):
//! `J = A exp(−16π γ³ v² / (3 (k_B T)³ ln² S))`, critical radius `r* = 2γv/(k_B T ln S)`
//! (v = v_m/N_A per formula unit, v_m = 32.9 cm³/mol for CdSe, γ = 0.15 J/m² effective,
//! A = 3.16·10³³ m⁻³ s⁻¹); nuclei are born at 1.1 r* in the bulk and in the plume.
//!
//! **Growth** (Sugimoto, Adv. Colloid Interface Sci. 1987, 28, 65; Talapin, Rogach, Haase &
//! Weller, J. Phys. Chem. B 2001, 105, 12278), for each particle class i:
//!
//! ```text
//! dr/dt = g_i · D v_m [M]_eq (S − exp(2γ v_m / (r R T))) / (r + D/k_r)
//! ```
//!
//! with an effective monomer diffusion coefficient D = 2·10⁻¹⁵ m²/s at 270 °C (E_D = 20 kJ/mol;
//! it lumps solvent diffusion and transport through the ligand shell), a Damköhler length
//! D/k_r = 0.3 nm at 270 °C (E_r = 70 kJ/mol, shrinking as (R/2)^−0.3 because Cd-rich surfaces
//! react faster), and a lognormal per-particle rate factor g_i (σ = 0.124; eight quantile classes
//! per birth interval) for particle-to-particle differences in surface/ligand state. While the
//! precursor still converts, S stays well above the Gibbs–Thomson value of the mean size and
//! the distribution *focuses* (Peng, Wickham & Alivisatos, J. Am. Chem. Soc. 1998, 120, 5343);
//! once the precursor is spent, S falls to the solubility of the average particle, small ones
//! dissolve and the distribution *defocuses* towards Ostwald ripening (Lifshitz & Slyozov 1961;
//! Wagner 1961). Hotter growth converts and grows faster (bigger particles at equal time).
//!
//! **Numerics.** Particles are tracked as classes (same birth interval and rate factor, hence
//! same size) carrying a number density. The monomer balance
//! `M + φM_p + P + Σ nᵢVᵢ/v_m = Se injected` is integrated with the supersaturation implicit
//! (growth is linear in S, so the new S has a closed form — the very stiff monomer exchange
//! stays stable) and class volumes explicit, so that mass is conserved to rounding; time steps
//! adapt so that radii change by ≤ 2 %, released material by ≤ 10 % of the monomer, and the
//! temperature and sources change smoothly. Classes of equal rate factor within 0.3 % in
//! radius are merged. A run takes a few hundred steps and ≈ 2–8 ms (release build).
//!
//! The kinetic constants are *effective* values calibrated so that, over the campaign's search
//! box (injection 260–330 °C, growth 220–300 °C, 0.5–30 min, Cd:Se 1–6, 0.05–0.4 mol/L,
//! 0–5 ML, injection 0.5–20 s), the emission spans ≈ 500–650 nm, the window 617–623 nm is a
//! small region (≈ 5–8 % of the box) in part of which CV ≤ 10 % is reachable (fast injection,
//! growth stopped while still focusing), and typical size CVs are 8–20 % (see the
//! `calibration` test).
//!
//! # Optics ([`optics`])
//!
//! * Core size → first exciton: the Yu, Qu, Guo & Peng (Chem. Mater. 2003, 15, 2854) sizing
//!   curve `D = 1.6122e-9 L⁴ − 2.6575e-6 L³ + 1.6242e-3 L² − 0.4277 L + 41.57`, inverted by
//!   bisection on 400–660 nm (D = 1.55–8.67 nm), where it is monotonic; it was fitted on
//!   ≈ 2–8 nm dots, and the extension down to 400 nm matches the ≈ 415–420 nm absorption of
//!   1.7 nm magic-size clusters. Sizes outside are clamped to the ends.
//! * ZnS shell: red shift by exciton leakage, `Δλ = 14 nm·(3/D)^0.7·(1 − e^(−n/1.3))` for n
//!   monolayers (≈ 5 nm for the first ML, ≈ 10 nm saturated for 5 nm cores; Dabbousi et al.,
//!   J. Phys. Chem. B 1997, 101, 9463); 1 ML = 0.31 nm of ZnS on the radius.
//! * Stokes shift 8–12 nm (larger for small dots); homogeneous line width 22 nm FWHM; the true
//!   ensemble PL is the sum of per-dot Gaussians weighted by their absorption at the 400 nm
//!   excitation (∝ volume).
//! * Quantum yield: bare cores 5–13 %, rising with the shell to ≈ 60–85 % at 2–3 ML, falling
//!   for thicker shells (12 % CdSe/ZnS lattice mismatch), better for Cd-rich growth, lower for
//!   growth above 285 °C, for very long growth and for broad ensembles; see
//!   [`optics::quantum_yield`].
//!
//! # Micrographs ([`micrograph`])
//!
//! Bright-field TEM images of the particles with pixel-exact ground truth, for testing image
//! analysis and for "measuring" size distributions by the same route as a real sample.

mod error;
mod inputs;
mod kinetics;
pub mod micrograph;
pub mod optics;
mod synthesis;

pub use error::TwinError;
pub use inputs::{input_specs, InputSpec, SynthesisInputs};
#[doc(hidden)]
pub use kinetics::{GrowthResult, KineticParams, TracePoint};
pub use synthesis::{
    measure_quantum_yield, measure_spectra, simulate, Spectrum, SynthesisOutcome, DEVICE,
    ENSEMBLE_SIZE, QUANTUM_YIELD_STD,
};
#[doc(hidden)]
pub use synthesis::{run_kinetics, simulate_with};
