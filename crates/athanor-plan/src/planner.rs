//! The ask/tell planner: configuration, observations, suggestions and the composite-BO step.

use crate::gp::{FitOptions, GaussianProcess};
use crate::objective::{Objective, ObjectiveGoal};
use crate::optim::{lbfgs_box, nelder_mead_unit_cube, LbfgsSettings};
use crate::sobol::{sobol_point, sobol_points};
use crate::space::{design_unit_point, InitialDesign, Kind, SearchSpace, Space};
use crate::stats::{
    derive_seed, log_h, log_h_with_ratios, log_sum_exp, normal_quantile, standard_normal,
};
use crate::PlanError;
use athanor_model::ParameterDef;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

mod acquisition;
mod batch;
pub use acquisition::{
    acquisition_names, Acquisition, ParetoPoint, STRATEGY_NEHVI, STRATEGY_PAREGO,
    STRATEGY_THOMPSON, STRATEGY_UCB,
};
pub use batch::{STRATEGY_BATCH, STRATEGY_KRIGING_BELIEVER};

/// Strategy name of suggestions from the initial space-filling design.
pub const STRATEGY_SOBOL: &str = "sobol";
/// Strategy name of design points handed out after the initial design because no successful
/// observation exists yet to model.
pub const STRATEGY_SOBOL_FALLBACK: &str = "sobol-no-data";
/// Strategy name of composite Bayesian-optimisation suggestions.
pub const STRATEGY_BAYES: &str = "gp-composite-logei";
/// Strategy name of suggestions from a Latin-hypercube initial design.
pub const STRATEGY_LATIN_HYPERCUBE: &str = "latin-hypercube";
/// Strategy name of suggestions from a full-factorial initial design.
pub const STRATEGY_FACTORIAL: &str = "factorial";

/// Number of quasi-random normal base samples of the Monte-Carlo acquisition.
const MC_SAMPLES: usize = 128;
/// Scrambled Sobol candidates scored per ask (a power of two keeps the net balanced).
const SOBOL_CANDIDATES: usize = 2048;
/// Best observed points around which local candidates are drawn.
const LOCAL_CENTRES: usize = 5;
/// Gaussian perturbations drawn around each of those points.
const LOCAL_CANDIDATES_PER_CENTRE: usize = 200;
/// Perturbation standard deviations (unit-cube units), used in turn.
const LOCAL_SIGMAS: [f64; 4] = [0.01, 0.03, 0.1, 0.2];
/// Candidates polished (L-BFGS on the closed-form LogEI, else Nelder–Mead).
const REFINED_CANDIDATES: usize = 5;
/// Settings of the L-BFGS polish of the closed-form LogEI (unit-cube coordinates).
const ACQUISITION_LBFGS: LbfgsSettings = LbfgsSettings {
    max_iterations: 60,
    memory: 8,
    gradient_tolerance: 1e-6,
    value_tolerance: 1e-12,
    first_step_limit: 0.1,
};
/// Temperature of the softplus that smooths the improvement, in utility units (multiples of
/// the objectives' scales): small enough not to bias the expected improvement, large enough
/// to keep the logarithm finite.
const SOFTPLUS_TEMPERATURE: f64 = 1e-4;

/// Purpose tags separating the random streams derived from `(seed, observation count)`.
const PURPOSE_DESIGN: u64 = 0x5d1;
const PURPOSE_CANDIDATES: u64 = 0xca7d;
const PURPOSE_LOCAL: u64 = 0x10ca1;
const PURPOSE_BASE_SAMPLES: u64 = 0xba5e;
const PURPOSE_GP: u64 = 0x6b;
const PURPOSE_DESIGN_RETRY: u64 = 0x7e7;
const PURPOSE_FEASIBILITY: u64 = 0xfea5;
/// Variance added to the feasibility model's latent variance before the probit, in label
/// units (labels are ±1): at a point observed to fail, `P(feasible) ≈ Φ(−1/0.1) ≈ 1e-23`.
const FEASIBILITY_LABEL_VARIANCE: f64 = 0.01;
/// Smallest lengthscale (GP-input units) of the feasibility model.
const FEASIBILITY_MIN_LENGTHSCALE: f64 = 0.15;
/// Random points tried when a design point cannot be repaired onto the constraints.
const DESIGN_RETRIES: usize = 2000;
/// Candidate-table rows scored per batch (bounds the scratch memory, whatever the table size).
const TABLE_CHUNK: usize = 4096;
/// Rounds of neighbour moves (integers ±1, other categories) after the continuous polish.
const DISCRETE_LOCAL_SEARCH_ROUNDS: usize = 4;

/// What the planner searches and what it optimises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerConfig {
    /// Search dimensions, bounds already clipped to the hard (safety) limits; `log_scale`
    /// parameters are searched uniformly in their logarithm.
    pub parameters: Vec<ParameterDef>,
    /// Objectives combined into one utility (see [`Objective::utility`]).
    pub objectives: Vec<Objective>,
    /// Number of space-filling (Sobol) experiments before model-based suggestions start.
    pub initial_design: usize,
    /// Seed of every random choice the planner makes.
    pub seed: u64,
}

/// The outcome of one experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Parameter values actually used, in parameter units (same order as the configuration).
    pub x: Vec<f64>,
    /// One value per objective (same order as the configuration); `None` = not measured.
    pub y: Vec<Option<f64>>,
    /// The experiment failed (nothing usable was measured).
    #[serde(default)]
    pub failed: bool,
}

/// The planner's proposal for the next experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Parameter values, in parameter units, within the configured bounds.
    pub x: Vec<f64>,
    /// How the point was chosen: [`STRATEGY_SOBOL`], [`STRATEGY_SOBOL_FALLBACK`] or
    /// [`STRATEGY_BAYES`].
    pub strategy: String,
    /// Per objective: posterior mean and standard deviation at `x`, in the objective's unit;
    /// `None` where no model exists (initial design, objective never measured).
    pub predicted: Vec<Option<(f64, f64)>>,
    /// The acquisition value (natural log of the expected improvement in utility) for
    /// model-based suggestions.
    pub acquisition: Option<f64>,
}

/// The experiment planner: configuration plus everything observed so far. Plain data:
/// serialise it with [`Planner::to_json`] and restore it with [`Planner::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlannerState")]
pub struct Planner {
    config: PlannerConfig,
    observations: Vec<Observation>,
    /// Parameter kinds, constraints, candidate table and design (default: the plain box).
    #[serde(default, skip_serializing_if = "is_plain_default")]
    space: SearchSpace,
    /// The acquisition function (default: composite LogEI; absent from older states).
    #[serde(default, skip_serializing_if = "is_default_acquisition")]
    acquisition: Acquisition,
}

fn is_default_acquisition(acquisition: &Acquisition) -> bool {
    *acquisition == Acquisition::LogEi
}

fn is_plain_default(space: &SearchSpace) -> bool {
    *space == SearchSpace::default()
}

/// The serialised form of a [`Planner`], validated on the way in.
#[derive(Deserialize)]
struct PlannerState {
    config: PlannerConfig,
    observations: Vec<Observation>,
    #[serde(default)]
    space: SearchSpace,
    #[serde(default)]
    acquisition: Acquisition,
}

impl TryFrom<PlannerState> for Planner {
    type Error = PlanError;

    fn try_from(state: PlannerState) -> Result<Planner, PlanError> {
        let mut planner = Planner::with_space(state.config, state.space)?
            .with_acquisition(state.acquisition)
            .map_err(|e| PlanError::Serialization(e.to_string()))?;
        for (i, obs) in state.observations.into_iter().enumerate() {
            planner.tell(obs).map_err(|e| {
                PlanError::Serialization(format!("stored observation {i} is invalid: {e}"))
            })?;
        }
        Ok(planner)
    }
}

fn validate_config(config: &PlannerConfig) -> Result<(), PlanError> {
    if config.parameters.is_empty() {
        return Err(PlanError::InvalidConfig("no parameters to search".into()));
    }
    let mut names = BTreeSet::new();
    for p in &config.parameters {
        let fail = |reason: String| {
            Err(PlanError::InvalidParameter {
                name: p.name.clone(),
                reason,
            })
        };
        if p.name.trim().is_empty() {
            return fail("the name is empty".into());
        }
        if !names.insert(p.name.as_str()) {
            return fail("the name is used twice".into());
        }
        if !(p.min.is_finite() && p.max.is_finite()) {
            return fail(format!("bounds [{}, {}] are not finite", p.min, p.max));
        }
        if p.min >= p.max {
            return fail(format!("min {} must be below max {}", p.min, p.max));
        }
        if p.log_scale && p.min <= 0.0 {
            return fail(format!("a log-scale range needs min > 0, got {}", p.min));
        }
    }
    if config.objectives.is_empty() {
        return Err(PlanError::InvalidConfig("no objectives".into()));
    }
    let mut names = BTreeSet::new();
    for o in &config.objectives {
        o.validate()?;
        if !names.insert(o.name.as_str()) {
            return Err(PlanError::InvalidObjective {
                name: o.name.clone(),
                reason: "the name is used twice".into(),
            });
        }
    }
    if config.objectives.iter().all(|o| o.weight == 0.0) {
        return Err(PlanError::InvalidConfig(
            "all objectives have weight 0: nothing to optimise".into(),
        ));
    }
    Ok(())
}

impl Planner {
    /// A planner with no observations; validates the configuration (non-empty finite ranges,
    /// positive lower bounds for log-scale parameters, usable objectives, unique names).
    pub fn new(config: PlannerConfig) -> Result<Planner, PlanError> {
        Planner::with_space(config, SearchSpace::default())
    }

    /// A planner over a refined search space (integer and categorical parameters, known
    /// constraints, a candidate table, the initial design; see [`crate::space`]). Validates
    /// everything; constraint errors name the constraint.
    pub fn with_space(config: PlannerConfig, space: SearchSpace) -> Result<Planner, PlanError> {
        validate_config(&config)?;
        let compiled = Space::compile(&config.parameters, &space)?;
        if let Some(table) = &space.candidates {
            validate_table(&compiled, table)?;
        }
        Ok(Planner {
            config,
            observations: Vec::new(),
            space,
            acquisition: Acquisition::LogEi,
        })
    }

    /// The search-space refinements in use.
    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    fn compiled_space(&self) -> Space {
        Space::compile(&self.config.parameters, &self.space)
            .expect("the search space was validated when the planner was built")
    }

    /// The configuration.
    pub fn config(&self) -> &PlannerConfig {
        &self.config
    }

    /// Everything told so far, in order.
    pub fn observations(&self) -> &[Observation] {
        &self.observations
    }

    /// Records the outcome of an experiment. `x` must have one finite value per parameter
    /// (positive for log-scale parameters; values outside the bounds are accepted and treated
    /// as lying on the nearest bound by the models); `y` one entry per objective, finite where
    /// present. A failed observation may have an empty `y`.
    pub fn tell(&mut self, mut obs: Observation) -> Result<(), PlanError> {
        let dims = self.config.parameters.len();
        let n_obj = self.config.objectives.len();
        if obs.x.len() != dims {
            return Err(PlanError::InvalidObservation(format!(
                "{} parameter values for {dims} parameters",
                obs.x.len()
            )));
        }
        for (p, &v) in self.config.parameters.iter().zip(&obs.x) {
            if !v.is_finite() {
                return Err(PlanError::InvalidObservation(format!(
                    "value of `{}` is not finite",
                    p.name
                )));
            }
            if p.log_scale && v <= 0.0 {
                return Err(PlanError::InvalidObservation(format!(
                    "`{}` is searched on a log scale but its value is {v}",
                    p.name
                )));
            }
            if let Some(crate::space::ParameterKind::Categorical { categories, .. }) =
                self.space.kinds.get(&p.name)
            {
                if v.fract() != 0.0 || v < 0.0 || v >= categories.len() as f64 {
                    return Err(PlanError::InvalidObservation(format!(
                        "`{}` is categorical: its value must be a category index 0..{}, got {v}",
                        p.name,
                        categories.len() - 1
                    )));
                }
            }
        }
        if obs.failed && obs.y.is_empty() {
            obs.y = vec![None; n_obj];
        }
        if obs.y.len() != n_obj {
            return Err(PlanError::InvalidObservation(format!(
                "{} objective values for {n_obj} objectives",
                obs.y.len()
            )));
        }
        for (o, v) in self.config.objectives.iter().zip(&obs.y) {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err(PlanError::InvalidObservation(format!(
                        "value of objective `{}` is not finite",
                        o.name
                    )));
                }
            }
        }
        self.observations.push(obs);
        Ok(())
    }

    /// Combined utility `Σ w_i u_i(y_i)` of an outcome; `None` if the length is wrong or an
    /// objective with non-zero weight is missing or not finite.
    pub fn scalar_utility(&self, y: &[Option<f64>]) -> Option<f64> {
        if y.len() != self.config.objectives.len() {
            return None;
        }
        let mut total = 0.0;
        for (o, v) in self.config.objectives.iter().zip(y) {
            if o.weight == 0.0 {
                continue;
            }
            let v = (*v)?;
            if !v.is_finite() {
                return None;
            }
            total += o.weight * o.utility(v);
        }
        Some(total)
    }

    /// Index and utility of the best successful observation (the first one on ties).
    pub fn best(&self) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for (i, obs) in self.observations.iter().enumerate() {
            if obs.failed {
                continue;
            }
            if let Some(u) = self.scalar_utility(&obs.y) {
                if best.is_none_or(|(_, b)| u > b) {
                    best = Some((i, u));
                }
            }
        }
        best
    }

    /// The planner state as JSON (configuration and observations).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("planner state is plain data and always serialises")
    }

    /// Restores a planner from [`Planner::to_json`] output, re-validating everything. With the
    /// workspace's `float_roundtrip` feature the restored planner is identical and asks the
    /// same question.
    pub fn from_json(json: &str) -> Result<Planner, PlanError> {
        serde_json::from_str(json).map_err(|e| PlanError::Serialization(e.to_string()))
    }

    /// Proposes the next experiment. Pure: the suggestion depends only on the configuration and
    /// the observations (randomness is seeded from the seed and the number of observations).
    /// Every proposal lies within the bounds and satisfies the declared constraints.
    pub fn ask(&self) -> Result<Suggestion, PlanError> {
        if self.acquisition != Acquisition::LogEi {
            let mut batch = self.ask_alternative(1, &[])?;
            return batch
                .pop()
                .ok_or_else(|| PlanError::Numerical("empty batch".into()));
        }
        self.ask_with_fixed(&BTreeMap::new())
    }

    /// [`Planner::ask`] with some parameters held at given values (parameter name → value in
    /// parameter units, within bounds, a whole number for integer and categorical parameters).
    /// The other parameters are chosen as usual, subject to the constraints with the fixed
    /// values substituted. This is the hook for batches that must share one value of a
    /// parameter (one oven temperature for all q samples of a run): fix it for every point of
    /// the batch.
    pub fn ask_with_fixed(&self, fixed: &BTreeMap<String, f64>) -> Result<Suggestion, PlanError> {
        let space = self.compiled_space();
        let pinned = self.resolve_fixed(&space, fixed)?;
        let k = self.observations.len();
        if k < self.config.initial_design {
            let strategy = match self.space.initial_design {
                InitialDesign::Sobol => STRATEGY_SOBOL,
                InitialDesign::LatinHypercube => STRATEGY_LATIN_HYPERCUBE,
                InitialDesign::Factorial { .. } => STRATEGY_FACTORIAL,
            };
            return self.design_point(&space, &pinned, k, strategy);
        }
        match CompositeModel::fit(&self.config, &space, &self.observations)? {
            None => self.design_point(&space, &pinned, k, STRATEGY_SOBOL_FALLBACK),
            Some(model) => {
                if self.space.is_plain() && pinned.iter().all(Option::is_none) {
                    Ok(self.bayesian_step(&model))
                } else {
                    self.structured_bayesian_step(&space, &model, &pinned)
                }
            }
        }
    }

    /// Checks fixed values and turns them into one optional value per parameter.
    fn resolve_fixed(
        &self,
        space: &Space,
        fixed: &BTreeMap<String, f64>,
    ) -> Result<Vec<Option<f64>>, PlanError> {
        let mut pinned = vec![None; self.dims()];
        for (name, &v) in fixed {
            let Some(i) = self.config.parameters.iter().position(|p| &p.name == name) else {
                return Err(PlanError::InvalidConfig(format!(
                    "fixed value for unknown parameter `{name}`"
                )));
            };
            let p = &self.config.parameters[i];
            let whole = matches!(space.kinds[i], Kind::Continuous) || v.fract() == 0.0;
            if !(v >= p.min && v <= p.max && whole) {
                return Err(PlanError::InvalidParameter {
                    name: name.clone(),
                    reason: format!("fixed value {v} is not a valid value of the parameter"),
                });
            }
            pinned[i] = Some(v);
        }
        Ok(pinned)
    }

    fn dims(&self) -> usize {
        self.config.parameters.len()
    }

    fn unit_to_parameters(&self, u: &[f64]) -> Vec<f64> {
        self.config
            .parameters
            .iter()
            .zip(u)
            .map(|(p, &v)| p.from_unit_interval(v.clamp(0.0, 1.0)))
            .collect()
    }

    /// Point `k` of the seeded initial design, made feasible: mapped to parameter units
    /// (integers rounded, categories snapped), fixed values substituted, repaired onto the
    /// constraints; if repair fails, seeded uniform random points are tried instead
    /// (projection, then rejection). With a candidate table the design point is replaced by
    /// the nearest (unit-cube distance) feasible, not yet observed row.
    fn design_point(
        &self,
        space: &Space,
        pinned: &[Option<f64>],
        k: usize,
        strategy: &str,
    ) -> Result<Suggestion, PlanError> {
        let seed = derive_seed(self.config.seed, 0, PURPOSE_DESIGN);
        let u = if self.space.is_plain() && pinned.iter().all(Option::is_none) {
            // The original plain-box path, kept bit-for-bit.
            let u = match self.space.initial_design {
                InitialDesign::Sobol => sobol_point(k as u64, self.dims(), seed),
                ref design => design_unit_point(design, space, k, self.config.initial_design, seed),
            };
            return Ok(self.suggestion(self.unit_to_parameters(&u), strategy, None, None));
        } else {
            design_unit_point(
                &self.space.initial_design,
                space,
                k,
                self.config.initial_design,
                seed,
            )
        };
        if let Some(table) = &self.space.candidates {
            let target = space.unit_to_values(&u);
            let row = self
                .nearest_table_row(space, table, pinned, &space.values_to_unit(&target))
                .ok_or_else(|| {
                    PlanError::InvalidConfig("no feasible, unobserved candidate row is left".into())
                })?;
            return Ok(self.suggestion(table.row(row).to_vec(), strategy, None, None));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(
            self.config.seed,
            k as u64,
            PURPOSE_DESIGN_RETRY,
        ));
        let mut trial = u;
        for _ in 0..DESIGN_RETRIES {
            if let Some(x) = finish_point(space, pinned, &trial) {
                return Ok(self.suggestion(x, strategy, None, None));
            }
            trial = (0..self.dims()).map(|_| rng.random::<f64>()).collect();
        }
        Err(PlanError::InvalidConfig(format!(
            "no point satisfying all constraints was found in {DESIGN_RETRIES} tries: the \
             constraints (with the fixed values) may be infeasible together"
        )))
    }

    fn suggestion(
        &self,
        x: Vec<f64>,
        strategy: &str,
        predicted: Option<Vec<Option<(f64, f64)>>>,
        acquisition: Option<f64>,
    ) -> Suggestion {
        Suggestion {
            x,
            strategy: strategy.to_string(),
            predicted: predicted.unwrap_or_else(|| vec![None; self.config.objectives.len()]),
            acquisition,
        }
    }

    /// True when `row` equals the parameter values of an observation.
    fn observed(&self, row: &[f64]) -> bool {
        self.observations.iter().any(|o| o.x == row)
    }

    /// Row usable as a proposal: feasible, matching the fixed values, not observed yet.
    fn usable_row(&self, space: &Space, pinned: &[Option<f64>], row: &[f64]) -> bool {
        pinned
            .iter()
            .zip(row)
            .all(|(p, &v)| p.is_none_or(|p| p == v))
            && space.is_feasible(row)
            && !self.observed(row)
    }

    /// The usable table row closest to the unit-cube point `target`.
    fn nearest_table_row(
        &self,
        space: &Space,
        table: &crate::space::CandidateTable,
        pinned: &[Option<f64>],
        target: &[f64],
    ) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for i in 0..table.len() {
            let row = table.row(i);
            let distance: f64 = space
                .params
                .iter()
                .zip(row)
                .zip(target)
                .map(|((p, &v), &t)| (p.to_unit_interval(v) - t).powi(2))
                .sum();
            if best.is_none_or(|(_, b)| distance < b) && self.usable_row(space, pinned, row) {
                best = Some((i, distance));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Feasible candidates (parameter values) on a structured space: `sobol` scrambled Sobol
    /// points plus `per_centre` perturbations of each of the best observed points (a
    /// categorical coordinate jumps to a random category), repaired onto the constraints with
    /// the fixed values substituted; those that cannot be repaired are dropped. `purpose`
    /// offsets the random streams (0: the LogEI search's own).
    fn structured_candidates(
        &self,
        space: &Space,
        model: &CompositeModel,
        pinned: &[Option<f64>],
        sobol: usize,
        per_centre: usize,
        purpose: u64,
    ) -> Vec<Vec<f64>> {
        let d = self.dims();
        let k = self.observations.len() as u64;
        let seed = self.config.seed;
        let mut candidates =
            sobol_points(sobol, d, derive_seed(seed, k, PURPOSE_CANDIDATES + purpose));
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, k, PURPOSE_LOCAL + purpose));
        let perturb_probability = (4.0 / d as f64).min(1.0);
        for &(centre_index, _) in model.ranked_training_points.iter().take(LOCAL_CENTRES) {
            let centre = space.values_to_unit(&model.training_x[centre_index]);
            for m in 0..per_centre {
                let sigma = LOCAL_SIGMAS[m % LOCAL_SIGMAS.len()];
                let always = rng.random_range(0..d);
                let point: Vec<f64> = (0..d)
                    .map(|j| {
                        if !(j == always || rng.random::<f64>() < perturb_probability) {
                            return centre[j];
                        }
                        match space.kinds[j] {
                            Kind::Categorical { count, .. } => {
                                rng.random_range(0..count) as f64 / (count - 1) as f64
                            }
                            _ => (centre[j] + sigma * standard_normal(&mut rng)).clamp(0.0, 1.0),
                        }
                    })
                    .collect();
                candidates.push(point);
            }
        }
        candidates
            .iter()
            .filter_map(|u| finish_point(space, pinned, u))
            .collect()
    }

    /// The acquisition step for structured spaces (integer / categorical parameters, known
    /// constraints, fixed values, candidate tables). Candidates are drawn in the unit cube
    /// (scrambled Sobol plus perturbations of the best observed points, where a categorical
    /// coordinate jumps to a random category), made feasible by [`finish_point`] and scored by
    /// `log EI + ln P(feasible)`. The best few are polished: Nelder–Mead over their free
    /// continuous coordinates (discrete ones held, every trial point repaired), then a local
    /// search over neighbouring integers (±1) and other categories.
    fn structured_bayesian_step(
        &self,
        space: &Space,
        model: &CompositeModel,
        pinned: &[Option<f64>],
    ) -> Result<Suggestion, PlanError> {
        if let Some(table) = &self.space.candidates {
            return self.table_step(space, model, table, pinned);
        }
        let d = self.dims();
        let points = self.structured_candidates(
            space,
            model,
            pinned,
            SOBOL_CANDIDATES,
            LOCAL_CANDIDATES_PER_CENTRE,
            0,
        );
        if points.is_empty() {
            return Err(PlanError::InvalidConfig(
                "no candidate satisfies the constraints (with the fixed values)".into(),
            ));
        }
        let encoded: Vec<Vec<f64>> = points.iter().map(|x| space.encode(x)).collect();
        let mut scores: Vec<f64> = model
            .posterior_many(&encoded)
            .iter()
            .map(|p| model.acquisition(p))
            .collect();
        if let Some(feasibility) = model.log_feasibility_many(&encoded) {
            for (s, f) in scores.iter_mut().zip(feasibility) {
                *s += f;
            }
        }
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut starts: Vec<usize> = Vec::new();
        for &i in &order {
            if starts.len() == REFINED_CANDIDATES {
                break;
            }
            if starts.iter().all(|&s| points[s] != points[i]) {
                starts.push(i);
            }
        }

        let score_of = |x: &[f64]| model.score(&space.encode(x));
        let free: Vec<usize> = (0..d)
            .filter(|&j| matches!(space.kinds[j], Kind::Continuous) && pinned[j].is_none())
            .collect();
        let budget = 40 + 20 * free.len();
        let mut best_point = points[order[0]].clone();
        let mut best_score = scores[order[0]];
        for &s in &starts {
            let mut x = points[s].clone();
            let mut score = scores[s];
            if !free.is_empty() {
                let base = space.values_to_unit(&x);
                let merged = |v: &[f64]| -> Vec<f64> {
                    let mut u = base.clone();
                    for (&j, &vj) in free.iter().zip(v) {
                        u[j] = vj;
                    }
                    // Discrete coordinates stay exactly where they were.
                    let mut pins: Vec<Option<f64>> = pinned.to_vec();
                    for j in 0..d {
                        if !matches!(space.kinds[j], Kind::Continuous) {
                            pins[j] = Some(x[j]);
                        }
                    }
                    finish_point(space, &pins, &u).unwrap_or_default()
                };
                let start: Vec<f64> = free.iter().map(|&j| base[j]).collect();
                let m = nelder_mead_unit_cube(
                    |v| {
                        let y = merged(v);
                        if y.is_empty() {
                            f64::INFINITY
                        } else {
                            -score_of(&y)
                        }
                    },
                    &start,
                    0.05,
                    budget,
                );
                let y = merged(&m.x);
                if !y.is_empty() && -m.value > score {
                    score = -m.value;
                    x = y;
                }
            }
            // Neighbour moves on the discrete coordinates.
            let mask: Vec<bool> = pinned.iter().map(Option::is_some).collect();
            for _ in 0..DISCRETE_LOCAL_SEARCH_ROUNDS {
                let mut improved: Option<(Vec<f64>, f64)> = None;
                for j in 0..d {
                    if mask[j] {
                        continue;
                    }
                    let moves: Vec<f64> = match space.kinds[j] {
                        Kind::Continuous => continue,
                        Kind::Integer => vec![x[j] - 1.0, x[j] + 1.0],
                        Kind::Categorical { count, .. } => (0..count)
                            .map(|c| c as f64)
                            .filter(|&c| c != x[j])
                            .collect(),
                    };
                    for v in moves {
                        let mut y = x.clone();
                        y[j] = v;
                        if !space.repair(&mut y, &mask) {
                            continue;
                        }
                        let sy = score_of(&y);
                        if sy > improved.as_ref().map_or(score, |b| b.1) {
                            improved = Some((y, sy));
                        }
                    }
                }
                match improved {
                    Some((y, sy)) => {
                        x = y;
                        score = sy;
                    }
                    None => break,
                }
            }
            if score > best_score {
                best_score = score;
                best_point = x;
            }
        }
        let predicted = model.posterior(&space.encode(&best_point));
        Ok(self.suggestion(
            best_point,
            STRATEGY_BAYES,
            Some(predicted),
            Some(best_score),
        ))
    }

    /// Scores every usable row of the candidate table (feasible, matching the fixed values,
    /// not observed yet) and proposes the best. Rows are encoded into one flat buffer of
    /// [`TABLE_CHUNK`] rows at a time and predicted blockwise, so memory stays at a few MB and
    /// nothing is allocated per row.
    fn table_step(
        &self,
        space: &Space,
        model: &CompositeModel,
        table: &crate::space::CandidateTable,
        pinned: &[Option<f64>],
    ) -> Result<Suggestion, PlanError> {
        let e = space.encoded_dims;
        let mut encoded: Vec<f64> = Vec::with_capacity(TABLE_CHUNK * e);
        let mut rows: Vec<usize> = Vec::with_capacity(TABLE_CHUNK);
        let mut predictions: Vec<Vec<(f64, f64)>> = vec![Vec::new(); model.models.len()];
        let mut feasibility: Vec<(f64, f64)> = Vec::new();
        let mut posterior: Vec<Option<(f64, f64)>> = vec![None; model.models.len()];
        let mut best: Option<(usize, f64)> = None;
        let mut start = 0;
        while start < table.len() {
            let end = (start + TABLE_CHUNK).min(table.len());
            encoded.clear();
            rows.clear();
            for i in start..end {
                let row = table.row(i);
                if self.usable_row(space, pinned, row) {
                    space.encode_into(row, &mut encoded);
                    rows.push(i);
                }
            }
            start = end;
            if rows.is_empty() {
                continue;
            }
            for (m, out) in model.models.iter().zip(predictions.iter_mut()) {
                out.clear();
                if let Some(m) = m {
                    m.gp.predict_flat_into(&encoded, out);
                }
            }
            feasibility.clear();
            if let Some(gp) = &model.feasibility {
                gp.predict_flat_into(&encoded, &mut feasibility);
            }
            for (r, &row) in rows.iter().enumerate() {
                for ((slot, m), p) in posterior.iter_mut().zip(&model.models).zip(&predictions) {
                    *slot = m.as_ref().map(|m| {
                        let (mean, var) = p[r];
                        (mean * m.scale, var.sqrt() * m.scale)
                    });
                }
                let mut score = model.acquisition(&posterior);
                if model.feasibility.is_some() {
                    let (mean, var) = feasibility[r];
                    score += feasibility_probit(mean, var);
                }
                if best.is_none_or(|(_, b)| score > b) {
                    best = Some((row, score));
                }
            }
        }
        let (row, score) = best.ok_or_else(|| {
            PlanError::InvalidConfig("no feasible, unobserved candidate row is left".into())
        })?;
        let x = table.row(row).to_vec();
        let predicted = model.posterior(&space.encode(&x));
        Ok(self.suggestion(x, STRATEGY_BAYES, Some(predicted), Some(score)))
    }

    /// Maximises the log expected improvement: score Sobol and local candidates, polish the
    /// best few with Nelder–Mead, return the winner.
    fn bayesian_step(&self, model: &CompositeModel) -> Suggestion {
        let d = self.dims();
        let k = self.observations.len() as u64;
        let seed = self.config.seed;

        let mut candidates = sobol_points(
            SOBOL_CANDIDATES,
            d,
            derive_seed(seed, k, PURPOSE_CANDIDATES),
        );
        // Local candidates around the best points (by posterior expected utility): EI maxima
        // are often close to the incumbents, where a global Sobol grid is too coarse.
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, k, PURPOSE_LOCAL));
        let perturb_probability = (4.0 / d as f64).min(1.0);
        for &(centre_index, _) in model.ranked_training_points.iter().take(LOCAL_CENTRES) {
            let centre = &model.training_inputs[centre_index];
            for m in 0..LOCAL_CANDIDATES_PER_CENTRE {
                let sigma = LOCAL_SIGMAS[m % LOCAL_SIGMAS.len()];
                let always = rng.random_range(0..d);
                let point: Vec<f64> = (0..d)
                    .map(|j| {
                        let perturbed = j == always || rng.random::<f64>() < perturb_probability;
                        let step = if perturbed {
                            sigma * standard_normal(&mut rng)
                        } else {
                            0.0
                        };
                        (centre[j] + step).clamp(0.0, 1.0)
                    })
                    .collect();
                candidates.push(point);
            }
        }

        let mut scores: Vec<f64> = model
            .posterior_many(&candidates)
            .iter()
            .map(|p| model.acquisition(p))
            .collect();
        if let Some(feasibility) = model.log_feasibility_many(&candidates) {
            for (s, f) in scores.iter_mut().zip(feasibility) {
                *s += f;
            }
        }
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));

        // Polish the best few distinct candidates.
        let mut starts: Vec<usize> = Vec::new();
        for &i in &order {
            if starts.len() == REFINED_CANDIDATES {
                break;
            }
            let distinct = starts.iter().all(|&s| {
                candidates[s]
                    .iter()
                    .zip(&candidates[i])
                    .any(|(a, b)| (a - b).abs() > 1e-2)
            });
            if distinct {
                starts.push(i);
            }
        }
        let budget = 40 + 20 * d;
        let mut best_point = candidates[order[0]].clone();
        let mut best_score = scores[order[0]];
        let (lower, upper) = (vec![0.0; d], vec![1.0; d]);
        for &s in &starts {
            // Gradient polish of the closed-form LogEI where it exists (projected L-BFGS on
            // the analytic gradient, as BoTorch's optimize_acqf does with L-BFGS-B), else a
            // derivative-free Nelder–Mead.
            let polished = if model.has_analytic_gradient() {
                lbfgs_box(
                    |u| {
                        model
                            .log_ei_with_gradient(u)
                            .map(|(v, g)| (-v, g.into_iter().map(|x| -x).collect()))
                    },
                    &candidates[s],
                    &lower,
                    &upper,
                    ACQUISITION_LBFGS,
                )
            } else {
                None
            };
            let m = polished.unwrap_or_else(|| {
                nelder_mead_unit_cube(|u| -model.score(u), &candidates[s], 0.05, budget)
            });
            let score = -m.value;
            if score > best_score {
                best_score = score;
                best_point = m.x;
            }
        }

        let predicted = model.posterior(&best_point);
        Suggestion {
            x: self.unit_to_parameters(&best_point),
            strategy: STRATEGY_BAYES.to_string(),
            predicted,
            acquisition: Some(best_score),
        }
    }
}

/// Maps a unit-cube point to parameter units, substitutes the fixed values and repairs it onto
/// the constraints; `None` when it cannot be made feasible.
fn finish_point(space: &Space, pinned: &[Option<f64>], u: &[f64]) -> Option<Vec<f64>> {
    let mut x = space.unit_to_values(u);
    let mut mask = Vec::with_capacity(x.len());
    for (xi, p) in x.iter_mut().zip(pinned) {
        if let Some(v) = p {
            *xi = *v;
        }
        mask.push(p.is_some());
    }
    space.repair(&mut x, &mask).then_some(x)
}

/// Checks a candidate table: one column per parameter, finite values, and at least one row
/// that satisfies bounds, integrality and constraints.
fn validate_table(space: &Space, table: &crate::space::CandidateTable) -> Result<(), PlanError> {
    if table.columns != space.dims() {
        return Err(PlanError::InvalidConfig(format!(
            "the candidate table has {} columns for {} parameters",
            table.columns,
            space.dims()
        )));
    }
    if table.is_empty() || !table.values.len().is_multiple_of(table.columns) {
        return Err(PlanError::InvalidConfig(
            "the candidate table is empty or ragged".into(),
        ));
    }
    if let Some(i) = table.values.iter().position(|v| !v.is_finite()) {
        return Err(PlanError::InvalidConfig(format!(
            "candidate row {} has a non-finite value",
            i / table.columns
        )));
    }
    if !(0..table.len()).any(|i| space.is_feasible(table.row(i))) {
        let why = space.violation(table.row(0)).unwrap_or_default();
        return Err(PlanError::InvalidConfig(format!(
            "no candidate row satisfies the bounds and constraints (row 0: {why})"
        )));
    }
    Ok(())
}

/// `ln Φ(μ/√(σ² + ε))`: see [`CompositeModel::log_feasibility`].
fn feasibility_probit(mean: f64, variance: f64) -> f64 {
    log_normal_cdf(mean / (variance + FEASIBILITY_LABEL_VARIANCE).sqrt())
}

/// `ln Φ(z)`, the log of the standard normal CDF, without underflow far in the lower tail.
fn log_normal_cdf(z: f64) -> f64 {
    if z > -30.0 {
        (0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)).ln()
    } else {
        // Mills-ratio asymptotics: Φ(z) ≈ φ(z)/|z| (1 − 1/z²).
        -0.5 * z * z - (-z).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (-1.0 / (z * z)).ln_1p()
    }
}

/// A GP for one objective, trained on `y / scale` so that the degenerate-data fallback of the
/// standardisation (scale 1) means one objective scale.
struct ObjectiveModel {
    gp: GaussianProcess,
    scale: f64,
}

/// Independent GPs for all objectives, the utility, the MC base samples and the incumbent.
struct CompositeModel<'a> {
    objectives: &'a [Objective],
    models: Vec<Option<ObjectiveModel>>,
    /// Every modelled objective is maximised or minimised, so the utility is a linear
    /// function of independent Gaussians: Gaussian itself, and its expected improvement has a
    /// closed form (no Monte-Carlo error, no samples to draw).
    linear_utility: bool,
    /// `Some(√β)`: [`CompositeModel::acquisition`] is the upper confidence bound
    /// `E[U] + √β sd[U]` instead of LogEI (UCB on structured spaces reuses their search).
    ucb_root_beta: Option<f64>,
    /// `MC_SAMPLES × objectives` standard normal base samples, row-major.
    base_samples: Vec<f64>,
    /// GP inputs (encoded parameter values) of successful observations (the union of all
    /// training sets).
    training_inputs: Vec<Vec<f64>>,
    /// Parameter values of the same observations.
    training_x: Vec<Vec<f64>>,
    /// GP regression on ±1 labels (succeeded / failed) over all observations, once both
    /// outcomes have been seen: the unknown-constraint model.
    feasibility: Option<GaussianProcess>,
    /// Indices into `training_inputs`, best posterior expected utility first.
    ranked_training_points: Vec<(usize, f64)>,
    /// Best posterior expected utility among observed points.
    incumbent: f64,
}

impl<'a> CompositeModel<'a> {
    /// Fits the objective models; `None` if no objective has a single usable measurement.
    fn fit(
        config: &'a PlannerConfig,
        space: &Space,
        observations: &[Observation],
    ) -> Result<Option<CompositeModel<'a>>, PlanError> {
        let k = observations.len() as u64;
        let objectives = config.objectives.as_slice();
        let to_unit = |x: &[f64]| -> Vec<f64> { space.encode(x) };
        let successful: Vec<&Observation> = observations
            .iter()
            .filter(|o| !o.failed && o.y.iter().any(Option::is_some))
            .collect();
        if successful.is_empty() {
            return Ok(None);
        }
        let training_inputs: Vec<Vec<f64>> = successful.iter().map(|o| to_unit(&o.x)).collect();
        let training_x: Vec<Vec<f64>> = successful.iter().map(|o| o.x.clone()).collect();
        let feasibility = if observations.iter().any(|o| o.failed) {
            let x: Vec<Vec<f64>> = observations.iter().map(|o| to_unit(&o.x)).collect();
            let labels: Vec<f64> = observations
                .iter()
                .map(|o| if o.failed { -1.0 } else { 1.0 })
                .collect();
            let options = FitOptions {
                seed: derive_seed(config.seed, k, PURPOSE_FEASIBILITY),
                ..FitOptions::default()
            };
            // A feasibility boundary is a step in the labels, and the likelihood answers a
            // step with vanishing lengthscales, which predict "unknown" a short way from every
            // observation. Floor the lengthscales so that a failure speaks for its
            // neighbourhood, then condition on all labels with those hyperparameters.
            let fitted = GaussianProcess::fit_with(&x, &labels, &options)?;
            let mut hyperparameters = fitted.hyperparameters().clone();
            for l in &mut hyperparameters.lengthscales {
                *l = l.max(FEASIBILITY_MIN_LENGTHSCALE);
            }
            Some(GaussianProcess::with_hyperparameters(
                &x,
                &labels,
                &hyperparameters,
            )?)
        } else {
            None
        };

        let mut models = Vec::with_capacity(objectives.len());
        for (i, objective) in objectives.iter().enumerate() {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for (obs, u) in successful.iter().zip(&training_inputs) {
                if let Some(v) = obs.y[i] {
                    x.push(u.clone());
                    y.push(v / objective.scale);
                }
            }
            if x.is_empty() || objective.weight == 0.0 {
                models.push(None);
                continue;
            }
            let options = FitOptions {
                seed: derive_seed(config.seed, k, PURPOSE_GP + i as u64),
                ..FitOptions::default()
            };
            let gp = GaussianProcess::fit_with(&x, &y, &options)?;
            models.push(Some(ObjectiveModel {
                gp,
                scale: objective.scale,
            }));
        }
        if models.iter().all(Option::is_none) {
            return Ok(None);
        }

        // Quasi-random base samples: Sobol points pushed through the normal quantile. The
        // Sobol values are multiples of 2^-24; the half-step shift keeps them off 0.
        let n_obj = objectives.len();
        let base_samples = sobol_points(
            MC_SAMPLES,
            n_obj,
            derive_seed(config.seed, k, PURPOSE_BASE_SAMPLES),
        )
        .into_iter()
        .flatten()
        .map(|u| normal_quantile((u + 0.5 / 16_777_216.0).min(1.0 - 0.5 / 16_777_216.0)))
        .collect();

        let linear_utility = objectives.iter().zip(&models).all(|(o, m)| {
            m.is_none() || matches!(o.goal, ObjectiveGoal::Maximize | ObjectiveGoal::Minimize)
        });
        let mut model = CompositeModel {
            objectives,
            models,
            linear_utility,
            ucb_root_beta: None,
            base_samples,
            training_inputs,
            training_x,
            feasibility,
            ranked_training_points: Vec::new(),
            incumbent: 0.0,
        };
        let mut ranked: Vec<(usize, f64)> = model
            .posterior_many(&model.training_inputs)
            .iter()
            .map(|p| model.expected_utility(p))
            .enumerate()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        model.incumbent = ranked[0].1;
        model.ranked_training_points = ranked;
        Ok(Some(model))
    }

    /// `ln P(feasible)` at GP input `u` (0 without a feasibility model): the latent ±1-label
    /// regression `f ~ N(μ, σ²)` read through a probit, `P = Φ(μ/√(σ² + ε))` with
    /// `ε =` [`FEASIBILITY_LABEL_VARIANCE`] keeping the probability finite at observed points
    /// (least-squares classification, Rasmussen & Williams 2006, §6.5, with a probit
    /// calibration). Added to the log acquisition, i.e. EI is multiplied by P(feasible)
    /// (Gelbart, Snoek & Adams 2014, "Bayesian optimization with unknown constraints").
    fn log_feasibility(&self, u: &[f64]) -> f64 {
        match &self.feasibility {
            None => 0.0,
            Some(gp) => {
                let (mean, var) = gp.predict_unchecked(u);
                feasibility_probit(mean, var)
            }
        }
    }

    /// [`CompositeModel::log_feasibility`] at many points.
    fn log_feasibility_many(&self, points: &[Vec<f64>]) -> Option<Vec<f64>> {
        let gp = self.feasibility.as_ref()?;
        Some(
            gp.predict_many_unchecked(points)
                .into_iter()
                .map(|(m, v)| feasibility_probit(m, v))
                .collect(),
        )
    }

    /// Log EI times P(feasible) at GP input `u`.
    fn score(&self, u: &[f64]) -> f64 {
        self.log_ei(u) + self.log_feasibility(u)
    }

    /// Posterior mean and standard deviation per objective, in objective units.
    fn posterior(&self, u: &[f64]) -> Vec<Option<(f64, f64)>> {
        self.models
            .iter()
            .map(|m| {
                m.as_ref().map(|m| {
                    let (mean, var) = m.gp.predict_unchecked(u);
                    (mean * m.scale, var.sqrt() * m.scale)
                })
            })
            .collect()
    }

    /// [`CompositeModel::posterior`] at many points, through the models' batched prediction.
    fn posterior_many(&self, points: &[Vec<f64>]) -> Vec<Vec<Option<(f64, f64)>>> {
        let per_model: Vec<Option<Vec<(f64, f64)>>> = self
            .models
            .iter()
            .map(|m| m.as_ref().map(|m| m.gp.predict_many_unchecked(points)))
            .collect();
        (0..points.len())
            .map(|i| {
                self.models
                    .iter()
                    .zip(&per_model)
                    .map(|(m, p)| match (m, p) {
                        (Some(m), Some(p)) => {
                            let (mean, var) = p[i];
                            Some((mean * m.scale, var.sqrt() * m.scale))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    }

    /// Mean and standard deviation of the (Gaussian) utility when it is linear.
    fn linear_utility_moments(&self, posterior: &[Option<(f64, f64)>]) -> (f64, f64) {
        let mut mean = 0.0;
        let mut variance = 0.0;
        for (o, p) in self.objectives.iter().zip(posterior) {
            if let Some((m, sd)) = p {
                mean += o.weight * o.utility(*m);
                variance += (o.weight * sd / o.scale).powi(2);
            }
        }
        (mean, variance.sqrt())
    }

    /// Utility of each Monte-Carlo sample of the outcome with the given posterior.
    fn sample_utilities(&self, posterior: &[Option<(f64, f64)>]) -> Vec<f64> {
        let n_obj = self.objectives.len();
        (0..MC_SAMPLES)
            .map(|s| {
                let z = &self.base_samples[s * n_obj..(s + 1) * n_obj];
                self.objectives
                    .iter()
                    .zip(posterior)
                    .zip(z)
                    .filter_map(|((o, p), zi)| {
                        p.map(|(mean, sd)| o.weight * o.utility(mean + sd * zi))
                    })
                    .sum()
            })
            .collect()
    }

    /// Posterior expected utility for the given posterior (exact for a linear utility, else a
    /// Monte-Carlo estimate with the base samples).
    fn expected_utility(&self, posterior: &[Option<(f64, f64)>]) -> f64 {
        if self.linear_utility {
            return self.linear_utility_moments(posterior).0;
        }
        self.sample_utilities(posterior).iter().sum::<f64>() / MC_SAMPLES as f64
    }

    /// Whether [`CompositeModel::log_ei_with_gradient`] applies: a linear (Gaussian) utility
    /// and no feasibility model.
    fn has_analytic_gradient(&self) -> bool {
        self.linear_utility && self.feasibility.is_none() && self.ucb_root_beta.is_none()
    }

    /// Closed-form log EI at GP input `u` and its gradient in `u`, for a linear utility
    /// without a feasibility model (`None` otherwise, or where the posterior variance
    /// vanishes). With `U ~ N(μ_U, σ_U²)`, `μ_U = Σ ±w_i μ_i`, `σ_U² = Σ w_i² σ_i²` (GP units,
    /// i.e. outputs divided by the objective scale) and `z = (μ_U − u*)/σ_U`:
    /// `∂ ln(σ_U h(z)) = (Φ(z)/h(z)) ∂μ_U/σ_U + (φ(z)/h(z)) ∂σ_U/σ_U`, with the ratios from
    /// the stable tail expansion of Ament et al. (2023).
    fn log_ei_with_gradient(&self, u: &[f64]) -> Option<(f64, Vec<f64>)> {
        if !self.has_analytic_gradient() {
            return None;
        }
        let d = u.len();
        let (mut mean, mut variance) = (0.0, 0.0);
        let mut mean_gradient = vec![0.0; d];
        let mut variance_gradient = vec![0.0; d];
        for (o, m) in self.objectives.iter().zip(&self.models) {
            let Some(m) = m else { continue };
            let sign = match o.goal {
                ObjectiveGoal::Maximize => 1.0,
                ObjectiveGoal::Minimize => -1.0,
                _ => return None,
            };
            let (mu, var, dmu, dvar) = m.gp.predict_with_gradient_unchecked(u);
            mean += sign * o.weight * mu;
            variance += o.weight * o.weight * var;
            for j in 0..d {
                mean_gradient[j] += sign * o.weight * dmu[j];
                variance_gradient[j] += o.weight * o.weight * dvar[j];
            }
        }
        if variance.is_nan() || variance <= 0.0 {
            return None;
        }
        let sd = variance.sqrt();
        let z = (mean - self.incumbent) / sd;
        let (log_h_z, cdf_ratio, pdf_ratio) = log_h_with_ratios(z);
        let value = sd.ln() + log_h_z;
        let gradient = (0..d)
            .map(|j| {
                let dsd = variance_gradient[j] / (2.0 * sd);
                (cdf_ratio * mean_gradient[j] + pdf_ratio * dsd) / sd
            })
            .collect();
        value.is_finite().then_some((value, gradient))
    }

    /// `E[U] + √β sd[U]` of the utility (exact for a linear utility, else from the
    /// Monte-Carlo samples).
    fn upper_confidence_bound(&self, posterior: &[Option<(f64, f64)>], root_beta: f64) -> f64 {
        if self.linear_utility {
            let (mean, sd) = self.linear_utility_moments(posterior);
            return mean + root_beta * sd;
        }
        let samples = self.sample_utilities(posterior);
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let var = samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        mean + root_beta * var.sqrt()
    }

    /// Log expected improvement of the utility over the incumbent at `u`.
    fn log_ei(&self, u: &[f64]) -> f64 {
        self.acquisition(&self.posterior(u))
    }

    /// Log expected improvement for the given posterior. A linear utility `U ~ N(μ, σ²)` has
    /// `EI = σ h((μ − u*)/σ)` with `h(z) = φ(z) + zΦ(z)` (Jones et al. 1998), taken in log
    /// space with the stable `log h` of Ament et al. (2023). Otherwise
    /// `log E[softplus_τ(u(Y) − u*)]` by Monte Carlo: LogEI with a softplus-smoothed
    /// improvement, evaluated entirely in log space so it stays finite and informative far
    /// from the incumbent.
    fn acquisition(&self, posterior: &[Option<(f64, f64)>]) -> f64 {
        if let Some(root_beta) = self.ucb_root_beta {
            return self.upper_confidence_bound(posterior, root_beta);
        }
        if self.linear_utility {
            let (mean, sd) = self.linear_utility_moments(posterior);
            if sd <= 0.0 {
                return f64::NEG_INFINITY;
            }
            return sd.ln() + log_h((mean - self.incumbent) / sd);
        }
        let log_tau = SOFTPLUS_TEMPERATURE.ln();
        let terms: Vec<f64> = self
            .sample_utilities(posterior)
            .into_iter()
            .map(|v| log_tau + log_softplus((v - self.incumbent) / SOFTPLUS_TEMPERATURE))
            .collect();
        log_sum_exp(&terms) - (MC_SAMPLES as f64).ln()
    }
}

/// `ln(ln(1 + e^t))` without overflow or underflow.
fn log_softplus(t: f64) -> f64 {
    if t < -30.0 {
        // ln(1 + e^t) = e^t (1 − e^t/2 + …), so its log is t to double precision.
        t
    } else if t > 30.0 {
        // ln(1 + e^t) = t + e^−t to double precision.
        (t + (-t).exp()).ln()
    } else {
        t.exp().ln_1p().ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, min: f64, max: f64, log_scale: bool) -> ParameterDef {
        ParameterDef {
            name: name.into(),
            unit: "1".into(),
            min,
            max,
            log_scale,
        }
    }

    fn config() -> PlannerConfig {
        PlannerConfig {
            parameters: vec![param("a", 0.0, 1.0, false), param("t", 1.0, 100.0, true)],
            objectives: vec![Objective::new("y", ObjectiveGoal::Maximize)],
            initial_design: 3,
            seed: 1,
        }
    }

    #[test]
    fn log_softplus_is_continuous_across_branches() {
        for t in [-30.0f64, 30.0] {
            let below = log_softplus(t - 1e-9);
            let above = log_softplus(t + 1e-9);
            assert!((below - above).abs() < 1e-8, "{t}: {below} vs {above}");
        }
        assert!((log_softplus(0.0) - 2f64.ln().ln()).abs() < 1e-15);
    }

    #[test]
    fn configuration_errors_are_named() {
        let mut c = config();
        c.parameters[1].min = 0.0;
        match Planner::new(c) {
            Err(PlanError::InvalidParameter { name, .. }) => assert_eq!(name, "t"),
            other => panic!("unexpected {other:?}"),
        }
        let mut c = config();
        c.parameters[0].max = -1.0;
        assert!(Planner::new(c).is_err());
        let mut c = config();
        c.objectives.clear();
        assert!(matches!(Planner::new(c), Err(PlanError::InvalidConfig(_))));
        let mut c = config();
        c.parameters.push(param("a", 0.0, 2.0, false));
        assert!(Planner::new(c).is_err());
    }

    #[test]
    fn tell_validates_observations() {
        let mut p = Planner::new(config()).unwrap();
        let ok = Observation {
            x: vec![0.5, 10.0],
            y: vec![Some(1.0)],
            failed: false,
        };
        assert!(p.tell(ok.clone()).is_ok());
        let mut wrong_dims = ok.clone();
        wrong_dims.x.pop();
        assert!(p.tell(wrong_dims).is_err());
        let mut nan = ok.clone();
        nan.y[0] = Some(f64::NAN);
        assert!(p.tell(nan).is_err());
        let mut negative_log = ok.clone();
        negative_log.x[1] = -1.0;
        assert!(p.tell(negative_log).is_err());
        let failed = Observation {
            x: vec![0.2, 3.0],
            y: vec![],
            failed: true,
        };
        assert!(p.tell(failed).is_ok());
        assert_eq!(p.observations().len(), 2);
        assert_eq!(p.observations()[1].y, vec![None]);
    }

    #[test]
    fn initial_design_follows_the_sobol_sequence_and_best_tracks_utility() {
        let mut p = Planner::new(config()).unwrap();
        let mut seen = Vec::new();
        for i in 0..3 {
            let s = p.ask().unwrap();
            assert_eq!(s.strategy, STRATEGY_SOBOL);
            assert!(s.predicted.iter().all(Option::is_none));
            assert!(!seen.contains(&s.x));
            seen.push(s.x.clone());
            p.tell(Observation {
                x: s.x,
                y: vec![Some(i as f64 * if i == 1 { 10.0 } else { 1.0 })],
                failed: false,
            })
            .unwrap();
        }
        assert_eq!(p.best(), Some((1, 10.0)));
        let s = p.ask().unwrap();
        assert_eq!(s.strategy, STRATEGY_BAYES);
        assert!(s.predicted[0].is_some() && s.acquisition.is_some());
    }

    #[test]
    fn only_failures_fall_back_to_the_design() {
        let mut c = config();
        c.initial_design = 1;
        let mut p = Planner::new(c).unwrap();
        let s = p.ask().unwrap();
        p.tell(Observation {
            x: s.x,
            y: vec![None],
            failed: true,
        })
        .unwrap();
        let s = p.ask().unwrap();
        assert_eq!(s.strategy, STRATEGY_SOBOL_FALLBACK);
    }

    #[test]
    fn closed_form_log_ei_agrees_with_the_monte_carlo_estimate() {
        let mut c = config();
        c.objectives = vec![Objective::new("y", ObjectiveGoal::Minimize).with_scale(0.5)];
        let mut p = Planner::new(c).unwrap();
        for u in crate::sobol::sobol_points(12, 2, 3) {
            let x = p.unit_to_parameters(&u);
            let y = (3.0 * u[0]).sin() + (u[1] - 0.4).powi(2);
            p.tell(Observation {
                x,
                y: vec![Some(y)],
                failed: false,
            })
            .unwrap();
        }
        let mut model = CompositeModel::fit(&p.config, &p.compiled_space(), &p.observations)
            .unwrap()
            .unwrap();
        assert!(model.linear_utility);
        // Points around the incumbents, where the improvement is not vanishingly rare.
        let mut points = Vec::new();
        for &(i, _) in model.ranked_training_points.iter().take(4) {
            for offset in crate::sobol::sobol_points(16, 2, 17) {
                let centre = &model.training_inputs[i];
                points.push(vec![
                    (centre[0] + 0.3 * (offset[0] - 0.5)).clamp(0.0, 1.0),
                    (centre[1] + 0.3 * (offset[1] - 0.5)).clamp(0.0, 1.0),
                ]);
            }
        }
        let exact: Vec<f64> = points.iter().map(|u| model.log_ei(u)).collect();
        model.linear_utility = false;
        let mut compared = 0;
        for (u, exact) in points.iter().zip(&exact) {
            let posterior = model.posterior(u);
            let (mean, sd) = posterior[0].unwrap();
            // Where the improvement is not vanishingly rare, 128 quasi-random samples
            // reproduce the closed form to a few per cent.
            let z = (-mean / 0.5 - model.incumbent) / (sd / 0.5);
            if z > -1.0 {
                let estimate = model.log_ei(u);
                assert!(
                    (estimate - exact).abs() < 0.05,
                    "{estimate} vs {exact} at {u:?}"
                );
                compared += 1;
            }
        }
        assert!(compared >= 5, "only {compared} comparable points");
    }

    #[test]
    fn log_ei_gradient_matches_finite_differences() {
        // Two objectives (one maximised, one minimised, weighted) exercise the signs and
        // weights of the linear utility.
        let mut c = config();
        c.objectives = vec![
            Objective::new("a", ObjectiveGoal::Minimize).with_scale(0.5),
            Objective::new("b", ObjectiveGoal::Maximize),
        ];
        c.objectives[1].weight = 0.3;
        let mut p = Planner::new(c).unwrap();
        for u in crate::sobol::sobol_points(14, 2, 5) {
            let x = p.unit_to_parameters(&u);
            p.tell(Observation {
                x,
                y: vec![
                    Some((3.0 * u[0]).sin() + (u[1] - 0.4).powi(2)),
                    Some(u[0] * u[1]),
                ],
                failed: false,
            })
            .unwrap();
        }
        let model = CompositeModel::fit(&p.config, &p.compiled_space(), &p.observations)
            .unwrap()
            .unwrap();
        assert!(model.has_analytic_gradient());
        let h = 1e-6;
        let mut checked = 0;
        for u in crate::sobol::sobol_points(24, 2, 9) {
            let Some((value, gradient)) = model.log_ei_with_gradient(&u) else {
                continue;
            };
            assert!((value - model.log_ei(&u)).abs() < 1e-12);
            for j in 0..2 {
                let (mut up, mut down) = (u.clone(), u.clone());
                up[j] += h;
                down[j] -= h;
                let numeric = (model.log_ei(&up) - model.log_ei(&down)) / (2.0 * h);
                assert!(
                    (numeric - gradient[j]).abs() < 1e-4 * (1.0 + numeric.abs()),
                    "∂/∂u{j} at {u:?}: analytic {} vs numeric {numeric}",
                    gradient[j]
                );
            }
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} points had a gradient");
    }

    #[test]
    fn deserialisation_revalidates() {
        let p = Planner::new(config()).unwrap();
        let json = p.to_json().replace("\"min\":1.0", "\"min\":-1.0");
        assert!(matches!(
            Planner::from_json(&json),
            Err(PlanError::Serialization(_))
        ));
        assert!(Planner::from_json("{").is_err());
    }
}
