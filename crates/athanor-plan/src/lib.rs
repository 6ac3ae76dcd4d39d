//! # athanor-plan — the experiment planner of an autonomous lab
//!
//! The planner decides which recipe to run next. It starts with a space-filling design
//! (Owen-scrambled Sobol points, [`sobol`]) and then switches to Gaussian-process Bayesian
//! optimisation ([`gp`]) with a *composite* acquisition function. It speaks the ask/tell protocol
//! used by most BO libraries (Ax, Optuna, scikit-optimize):
//!
//! ```
//! use athanor_model::ParameterDef;
//! use athanor_plan::{Objective, ObjectiveGoal, Observation, Planner, PlannerConfig};
//!
//! let config = PlannerConfig {
//!     parameters: vec![ParameterDef {
//!         name: "temperature".into(),
//!         unit: "degC".into(),
//!         min: 150.0,
//!         max: 300.0,
//!         log_scale: false,
//!     }],
//!     objectives: vec![Objective::new(
//!         "pl_peak",
//!         ObjectiveGoal::Target { target: 620.0, tolerance: 5.0 },
//!     )
//!     .with_scale(10.0)],
//!     initial_design: 3,
//!     seed: 7,
//! };
//! let mut planner = Planner::new(config).unwrap();
//! for _ in 0..5 {
//!     let suggestion = planner.ask().unwrap();
//!     let t = suggestion.x[0];
//!     let peak = 500.0 + 0.5 * t; // stand-in for a real experiment
//!     planner.tell(Observation { x: vec![t], y: vec![Some(peak)], failed: false }).unwrap();
//! }
//! let (best_index, best_utility) = planner.best().unwrap();
//! assert!(best_index < 5 && best_utility <= 0.0);
//! // The whole state is plain data: store it, reload it, and get the same next suggestion.
//! let reloaded = Planner::from_json(&planner.to_json()).unwrap();
//! assert_eq!(reloaded.ask().unwrap(), planner.ask().unwrap());
//! ```
//!
//! ## Design
//!
//! * **Pure and deterministic.** [`Planner::ask`] does not mutate the planner: the suggestion is a
//!   function of the configuration and the observations only. All randomness is seeded from
//!   `(seed, number of observations)`, computation is single-threaded, and no hash-map order is
//!   involved, so a planner restored from JSON proposes bit-for-bit the same experiment.
//! * **Unit cube inside.** Parameters are mapped to `[0, 1]^d` with
//!   [`athanor_model::ParameterDef::to_unit_interval`] (which honours `log_scale`); proposals are
//!   clamped to the cube and mapped back, so they always lie within the (safety-clipped) bounds.
//! * **Initial design.** While fewer than `initial_design` observations exist, the `k`-th
//!   suggestion is point `k` of a scrambled Sobol sequence (Burley 2020, "Practical hash-based
//!   Owen scrambling", JCGT 9(4)).
//! * **Composite Bayesian optimisation.** One GP (Matérn-5/2, a constant mean estimated by
//!   maximum likelihood, see [`gp`]) is fitted per objective on the raw measured values (Astudillo & Frazier 2019, "Bayesian optimization of composite functions", ICML):
//!   for non-monotone goals such as hitting a target wavelength, modelling the smooth raw output
//!   and applying the utility afterwards is far more sample-efficient than modelling the kinked
//!   utility. The utility of an outcome is
//!
//!   `u(y) = Σ_i w_i u_i(y_i)`, with `u_i` from [`Objective::utility`]
//!   (maximise `y/s`, minimise `−y/s`, target `−((y−t)/tol)²`, below `−max(0,(y−θ)/s)²`,
//!   above `−max(0,(θ−y)/s)²`).
//! * **Acquisition.** Monte-Carlo expected improvement of `u` over the incumbent (the best
//!   posterior expected utility among observed points, as in noisy EI, Letham et al. 2019),
//!   with fixed quasi-random normal base samples (common random numbers across candidates,
//!   Balandat et al. 2020, "BoTorch"), evaluated in log space with a softplus-smoothed
//!   improvement (Ament et al. 2023, "Unexpected improvements to expected improvement", LogEI),
//!   so the acquisition never becomes flat zero far from the incumbent.
//!   When every modelled objective is maximised or minimised the utility is a linear function
//!   of independent Gaussians, hence Gaussian, and the expected improvement has the closed form
//!   `EI = σ h((μ − u*)/σ)`, `h(z) = φ(z) + zΦ(z)` (Jones, Schonlau & Welch 1998); its logarithm
//!   is evaluated stably far into the tail (Ament et al. 2023), with no Monte-Carlo error and
//!   no samples to draw.
//! * **Acquisition optimisation.** ~3000 candidates (scrambled Sobol + Gaussian perturbations of
//!   the best observed points) scored with batched GP predictions (one level-3 triangular solve
//!   per block of candidates), then the top five are polished by a projected L-BFGS on the
//!   analytic gradient of the closed-form LogEI (the bounded quasi-Newton refinement of
//!   BoTorch's `optimize_acqf`), or by a box-clamped Nelder–Mead where the acquisition is a
//!   Monte-Carlo estimate or includes a feasibility model. Batch and hypervolume acquisitions
//!   are polished by the same projected L-BFGS on forward-difference gradients of their
//!   fixed-sample Monte-Carlo estimate, which reaches optima on the bounds of the box.
//! * **Batches and pending experiments.** [`Planner::ask_batch`]`(q, pending)` proposes `q`
//!   distinct experiments by sequential-greedy Monte-Carlo qLogNEI over the *joint* posterior of
//!   the best observations, the pending experiments (passed by the caller, so the state stays
//!   "configuration + observations" and results may be told in any order) and the batch so
//!   far; structured spaces use the Kriging-believer heuristic. `ask_batch(1, &[])` is `ask()`.
//! * **Other acquisitions** ([`Acquisition`], chosen with [`Planner::with_acquisition`] and kept
//!   in the JSON state): UCB (GP-BUCB batches), Thompson sampling (exact joint posterior draws on
//!   a seeded candidate set), and for several objectives ParEGO (random augmented-Chebyshev
//!   scalarisations) and qNEHVI (expected hypervolume improvement over the jointly sampled
//!   Pareto front, exact per-sample improvements). [`Planner::pareto_front`] returns the
//!   non-dominated observations; [`pareto`] holds non-dominated sorting and exact hypervolume.
//!   UCB and Thompson sampling also work on structured spaces (integers, categories,
//!   constraints, candidate tables), through the same repaired-candidate search as LogEI;
//!   ParEGO and qNEHVI need the plain continuous space.
//! * **Speed.** Hyperparameters are chosen on at most [`gp::FitOptions::max_fit_points`]
//!   evenly spaced observations (the model itself is conditioned on all of them), which keeps a
//!   suggestion with 500 observations well under a tenth of a second; see [`bench`](mod@bench) for the
//!   benchmark problems, the regret runner and the latency harness; the whole suite (regret
//!   curves, multi-objective hypervolume, latency grid, peak memory) runs as
//!   `athanor bench planner --quick --out DIR` ([`bench::suite`]).
//!
//! ## Structured spaces, constraints and failures
//!
//! [`Planner::with_space`] takes a [`SearchSpace`] (module [`space`]): integer and categorical
//! parameters (one-hot or descriptor encodings for the GP; a categorical value is the category
//! index), a finite [`CandidateTable`] of allowed recipes (every usable row is scored, in
//! flat blocks: 100 000 rows × 12 columns with 50 observations take about 0.16 s and 24 MB,
//! `cargo run --release -p athanor-plan --example candidate_table`), linear inequality,
//! equality (mixture) and cardinality [`Constraint`]s, and the [`InitialDesign`] (Sobol, Latin
//! hypercube, full factorial). Every proposal, from the design or the model, is repaired onto
//! the constraints (rounding, cardinality, alternating projections) and checked, so none
//! violates a declared bound or constraint (equalities to a relative
//! [`space::FEASIBILITY_TOLERANCE`]). [`Planner::ask_with_fixed`] holds some parameters at given
//! values (the hook for batches sharing, say, one furnace temperature). Spaces with discrete
//! parameters are searched by scoring feasible Sobol and local candidates, a Nelder–Mead polish
//! of the continuous coordinates and a neighbour search over integers (±1) and categories.
//!
//! Failed experiments (`failed = true`) are excluded from the objective models but teach an
//! unknown-constraint model: a GP regression on ±1 labels whose probit `P(feasible)` multiplies
//! the expected improvement (Gelbart, Snoek & Adams 2014), so the planner stops proposing
//! recipes like those that failed.

#![deny(missing_docs)]

pub mod bench;
pub mod gp;
mod objective;
mod optim;
pub mod pareto;
mod planner;
pub mod sobol;
pub mod space;
mod stats;

pub use objective::{Objective, ObjectiveGoal};
pub use planner::{
    acquisition_names, Acquisition, ParetoPoint, STRATEGY_BATCH, STRATEGY_KRIGING_BELIEVER,
    STRATEGY_NEHVI, STRATEGY_PAREGO, STRATEGY_THOMPSON, STRATEGY_UCB,
};
pub use planner::{
    Observation, Planner, PlannerConfig, Suggestion, STRATEGY_BAYES, STRATEGY_FACTORIAL,
    STRATEGY_LATIN_HYPERCUBE, STRATEGY_SOBOL, STRATEGY_SOBOL_FALLBACK,
};
pub use space::{CandidateTable, Constraint, InitialDesign, ParameterKind, SearchSpace};

/// Everything that can go wrong while planning.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// A search dimension is unusable (empty range, non-finite bound, log scale over zero...).
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An objective is unusable (non-positive scale or tolerance, negative weight...).
    #[error("invalid objective `{name}`: {reason}")]
    InvalidObjective {
        /// The objective's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration as a whole is unusable (no parameters, no objectives, duplicate names).
    #[error("invalid planner configuration: {0}")]
    InvalidConfig(String),
    /// An observation does not fit the configuration (wrong length, non-finite values).
    #[error("invalid observation: {0}")]
    InvalidObservation(String),
    /// Training data handed to a model are unusable (empty, ragged, non-finite).
    #[error("invalid training data: {0}")]
    InvalidData(String),
    /// A numerical routine failed (for example a covariance matrix that is not positive definite
    /// even with jitter).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// The serialised planner state could not be read.
    #[error("planner state could not be deserialised: {0}")]
    Serialization(String),
}
