//! Acquisition functions beyond the default composite LogEI: upper confidence bound, Thompson
//! sampling, and the multi-objective ParEGO and qNEHVI; plus the Pareto front of the data.
//!
//! * **UCB** (Srinivas et al. 2010, "Gaussian process optimization in the bandit setting"):
//!   `α(x) = E[U] + √β · sd[U]` of the utility `U` (exact for a linear utility, else from the
//!   Monte-Carlo samples). Batches use GP-BUCB (Desautels, Krause & Burdick 2014): each chosen
//!   or pending point is added as a *hallucinated* observation at its posterior mean, which
//!   leaves the mean unchanged and shrinks the variance around it.
//! * **Thompson sampling** (Thompson 1933; Kandasamy et al. 2018 for parallel TS): one exact
//!   draw of the **joint** posterior of every objective on a seeded candidate set (scrambled
//!   Sobol points plus perturbations of the best observations), `f = μ + L z` with `LLᵀ = Σ`,
//!   and the candidate of highest sampled utility. Batch points are further draws (after
//!   hallucinating the earlier ones, as for UCB).
//! * **Structured spaces** (integer and categorical parameters, constraints, candidate
//!   tables): UCB is scored over the same repaired Sobol and local candidates as LogEI, with
//!   the same Nelder–Mead and discrete-neighbour polish (plus `ln P(feasible)` as a penalty
//!   once failures have been seen); Thompson sampling draws jointly over the repaired
//!   candidates, or over at most 1024 usable rows of a candidate table (a seeded random
//!   subset of larger tables). Batches use the Kriging believer.
//! * **ParEGO** (Knowles 2006, IEEE TEC 10(1)), in its composite Monte-Carlo form (qParEGO,
//!   Daulton et al. 2020): per batch point a seeded weight vector `λ` uniform on the simplex
//!   and the augmented Chebyshev scalarisation of the normalised utilities
//!   `s(y) = min_i λ_i ũ_i(y) + ρ Σ_i λ_i ũ_i(y)`, `ũ_i = (u_i − min_i)/(max_i − min_i)` over
//!   the observed data; then qLogNEI of `s` (see the batch module).
//! * **qNEHVI** (Daulton, Balandat & Bakshy 2021, "Parallel Bayesian optimization of multiple
//!   noisy objectives with expected hypervolume improvement", NeurIPS): the expected
//!   hypervolume improvement of the candidate over the Pareto front of the *jointly sampled*
//!   outcomes of the observed front, the pending points and the batch so far, with fixed
//!   quasi-random base samples; each sample's improvement is computed exactly
//!   ([`crate::pareto::hypervolume_improvement`]) instead of through a box decomposition.
//!   The acquisition is `log` of the sample mean.
//!
//! Multi-objective acquisitions treat each objective's utility `u_i` ([`crate::Objective::utility`])
//! as a separate maximised criterion (weights are ignored); the reference point is given in
//! objective units and mapped through `u_i` (so for a minimised objective it is the largest
//! acceptable value), or defaults to the worst observed utility minus 10 % of the observed
//! range (Daulton et al. 2021 use a similar heuristic).

use super::batch::{semidefinite_cholesky, BatchObjective};
use super::{
    derive_seed, nelder_mead_unit_cube, sobol_points, standard_normal, CompositeModel, Planner,
    Space, Suggestion, LOCAL_SIGMAS, PURPOSE_CANDIDATES, PURPOSE_LOCAL,
};
use crate::pareto::non_dominated_sort;
use crate::PlanError;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Strategy name of upper-confidence-bound suggestions.
pub const STRATEGY_UCB: &str = "gp-ucb";
/// Strategy name of Thompson-sampling suggestions.
pub const STRATEGY_THOMPSON: &str = "gp-thompson";
/// Strategy name of ParEGO suggestions.
pub const STRATEGY_PAREGO: &str = "gp-parego";
/// Strategy name of qNEHVI suggestions.
pub const STRATEGY_NEHVI: &str = "gp-qlognehvi";

/// Which acquisition function the model-based steps maximise.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Acquisition {
    /// Composite log expected improvement of the weighted utility (the default; batches and
    /// pending points by qLogNEI).
    #[default]
    LogEi,
    /// Upper confidence bound `E[U] + √β sd[U]`.
    Ucb {
        /// Exploration weight `β > 0` (2–4 is typical).
        beta: f64,
    },
    /// Thompson sampling from the joint posterior on a seeded candidate set.
    Thompson,
    /// ParEGO: random augmented-Chebyshev scalarisations of the objectives' utilities.
    ParEgo {
        /// Augmentation weight `ρ ≥ 0` (0.05 in Knowles 2006).
        rho: f64,
    },
    /// Noisy expected hypervolume improvement over the Pareto front of the objectives'
    /// utilities.
    Nehvi {
        /// Reference point, one value per objective in objective units; `None`: derived
        /// from the data.
        reference: Option<Vec<f64>>,
    },
}

impl Acquisition {
    /// Whether this acquisition is multi-objective (ParEGO, qNEHVI).
    pub fn is_multi_objective(&self) -> bool {
        matches!(self, Acquisition::ParEgo { .. } | Acquisition::Nehvi { .. })
    }

    fn validate(&self, objectives: usize) -> Result<(), PlanError> {
        let bad = |why: String| Err(PlanError::InvalidConfig(why));
        match self {
            Acquisition::Ucb { beta } if !(beta.is_finite() && *beta > 0.0) => {
                bad(format!("UCB needs a finite β > 0, got {beta}"))
            }
            Acquisition::ParEgo { rho } if !(rho.is_finite() && *rho >= 0.0) => {
                bad(format!("ParEGO needs a finite ρ ≥ 0, got {rho}"))
            }
            Acquisition::Nehvi { reference: Some(r) }
                if r.len() != objectives || r.iter().any(|v| !v.is_finite()) =>
            {
                bad(format!(
                    "the reference point needs {objectives} finite values, got {r:?}"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// One observation on the Pareto front ([`Planner::pareto_front`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParetoPoint {
    /// Index into [`Planner::observations`].
    pub index: usize,
    /// Parameter values.
    pub x: Vec<f64>,
    /// Measured objective values.
    pub y: Vec<f64>,
}

/// A scalarisation of the outcome vector (objective units).
type Scalarisation<'a> = Box<dyn Fn(&[Option<f64>]) -> f64 + 'a>;

/// Thompson sampling: Sobol candidates per draw.
const THOMPSON_SOBOL: usize = 512;
/// Thompson sampling: local candidates around each of the best observations.
const THOMPSON_LOCAL_PER_CENTRE: usize = 64;
/// Thompson sampling and UCB: best observations used as centres of local candidates.
const LOCAL_CENTRES: usize = 4;
/// UCB: Sobol candidates.
const UCB_SOBOL: usize = 2048;
/// UCB: local candidates per centre.
const UCB_LOCAL_PER_CENTRE: usize = 128;
/// qNEHVI: most observed points sampled jointly as the baseline front. 12 left out front
/// points on Branin–Currin (its final hypervolume then lost to BoTorch's qLogNEHVI on 16 of
/// 20 seeds); 24 keeps the whole posterior front of a typical campaign.
const NEHVI_BASELINE: usize = 24;
/// Thompson sampling on a candidate table: most usable rows drawn jointly.
const THOMPSON_TABLE_ROWS: usize = 1024;
const PURPOSE_THOMPSON: u64 = 0x7505;
const PURPOSE_THOMPSON_TABLE: u64 = 0x7505_7ab1;
const PURPOSE_PAREGO: u64 = 0x9a7e;

impl Planner {
    /// Selects the acquisition function (validated; stored in the planner state, so it
    /// survives [`Planner::to_json`]; absent from old states means [`Acquisition::LogEi`]).
    /// LogEI, UCB and Thompson sampling work on every [`crate::SearchSpace`] (integers,
    /// categories, constraints, candidate tables); ParEGO and qNEHVI need the plain
    /// continuous space.
    pub fn with_acquisition(mut self, acquisition: Acquisition) -> Result<Planner, PlanError> {
        acquisition.validate(self.config.objectives.len())?;
        if acquisition.is_multi_objective() && !self.space.is_plain() {
            return Err(PlanError::InvalidConfig(
                "ParEGO and qNEHVI support plain continuous spaces only".into(),
            ));
        }
        self.acquisition = acquisition;
        Ok(self)
    }

    /// The acquisition function in use.
    pub fn acquisition(&self) -> &Acquisition {
        &self.acquisition
    }

    /// The successful observations with every objective measured that no other such
    /// observation dominates, comparing the objectives' utilities (maximise, minimise and
    /// target goals all become "larger is better"). In observation order.
    pub fn pareto_front(&self) -> Vec<ParetoPoint> {
        let (indices, utilities) = self.utility_vectors();
        let fronts = non_dominated_sort(&utilities);
        let mut front: Vec<usize> = fronts.first().cloned().unwrap_or_default();
        front.sort_unstable();
        front
            .into_iter()
            .map(|i| {
                let index = indices[i];
                let obs = &self.observations[index];
                ParetoPoint {
                    index,
                    x: obs.x.clone(),
                    y: obs.y.iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
                }
            })
            .collect()
    }

    /// Indices and per-objective utilities of the successful, fully measured observations.
    fn utility_vectors(&self) -> (Vec<usize>, Vec<Vec<f64>>) {
        let mut indices = Vec::new();
        let mut utilities = Vec::new();
        for (i, obs) in self.observations.iter().enumerate() {
            if obs.failed {
                continue;
            }
            let u: Option<Vec<f64>> = self
                .config
                .objectives
                .iter()
                .zip(&obs.y)
                .map(|(o, y)| y.map(|y| o.utility(y)))
                .collect();
            if let Some(u) = u {
                indices.push(i);
                utilities.push(u);
            }
        }
        (indices, utilities)
    }

    /// `ask_batch` for the alternative acquisitions.
    pub(super) fn ask_alternative(
        &self,
        q: usize,
        pending: &[Vec<f64>],
    ) -> Result<Vec<Suggestion>, PlanError> {
        let k = self.observations.len();
        let space = self.compiled_space();
        let model = if k + pending.len() < self.config.initial_design {
            None
        } else {
            CompositeModel::fit(&self.config, &space, &self.observations)?
        };
        let Some(mut model) = model else {
            // Initial design (or nothing to model yet): as the default planner does.
            let mut default = self.clone();
            default.acquisition = Acquisition::LogEi;
            return default.ask_batch(q, pending);
        };
        if !self.space.is_plain() {
            // Structured spaces: single points by the structured search (candidate table,
            // repaired candidates, discrete neighbour moves), batches by Kriging believer.
            if q > 1 || !pending.is_empty() {
                return self.kriging_believer_batch(q, pending);
            }
            let no_fixed = vec![None; self.dims()];
            return match &self.acquisition {
                Acquisition::Ucb { beta } => {
                    model.ucb_root_beta = Some(beta.sqrt());
                    let mut s = self.structured_bayesian_step(&space, &model, &no_fixed)?;
                    s.strategy = STRATEGY_UCB.to_string();
                    Ok(vec![s])
                }
                Acquisition::Thompson => Ok(vec![self.structured_thompson_step(&space, &model)?]),
                Acquisition::LogEi => self.ask_batch(q, pending),
                Acquisition::ParEgo { .. } | Acquisition::Nehvi { .. } => {
                    Err(PlanError::InvalidConfig(
                        "ParEGO and qNEHVI support plain continuous spaces only".into(),
                    ))
                }
            };
        }
        let units: Vec<Vec<f64>> = pending.iter().map(|x| space.encode(x)).collect();
        match &self.acquisition {
            Acquisition::LogEi => self.ask_batch(q, pending),
            Acquisition::Ucb { beta } => {
                if q == 1 && pending.is_empty() {
                    Ok(vec![self.ucb_step(&model, *beta)])
                } else {
                    self.kriging_believer_batch(q, pending)
                }
            }
            Acquisition::Thompson => {
                if q == 1 && pending.is_empty() {
                    Ok(vec![self.thompson_step(&model)])
                } else {
                    self.kriging_believer_batch(q, pending)
                }
            }
            Acquisition::ParEgo { rho } => Ok(self.parego_batch(&model, q, &units, *rho)),
            Acquisition::Nehvi { reference } => {
                Ok(self.nehvi_batch(&model, q, &units, reference.as_deref()))
            }
        }
    }

    /// Sobol candidates plus Gaussian perturbations of the best observed points.
    fn candidate_set(
        &self,
        model: &CompositeModel,
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
        for &(i, _) in model.ranked_training_points.iter().take(LOCAL_CENTRES) {
            let centre = &model.training_inputs[i];
            for m in 0..per_centre {
                let sigma = LOCAL_SIGMAS[m % LOCAL_SIGMAS.len()];
                candidates.push(
                    centre
                        .iter()
                        .map(|c| (c + sigma * standard_normal(&mut rng)).clamp(0.0, 1.0))
                        .collect(),
                );
            }
        }
        candidates
    }

    /// Maximises `E[U] + √β sd[U]` over candidates, polishing the best three.
    fn ucb_step(&self, model: &CompositeModel, beta: f64) -> Suggestion {
        let root_beta = beta.sqrt();
        let ucb = |posterior: &[Option<(f64, f64)>]| -> f64 {
            if model.linear_utility {
                let (mean, sd) = model.linear_utility_moments(posterior);
                return mean + root_beta * sd;
            }
            let samples = model.sample_utilities(posterior);
            let n = samples.len() as f64;
            let mean = samples.iter().sum::<f64>() / n;
            let var = samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            mean + root_beta * var.sqrt()
        };
        let candidates = self.candidate_set(model, UCB_SOBOL, UCB_LOCAL_PER_CENTRE, 0);
        let scores: Vec<f64> = model
            .posterior_many(&candidates)
            .iter()
            .map(|p| ucb(p))
            .collect();
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let mut best = (candidates[order[0]].clone(), scores[order[0]]);
        for &s in order.iter().take(3) {
            let m = nelder_mead_unit_cube(
                |u| -ucb(&model.posterior(u)),
                &candidates[s],
                0.05,
                40 + 20 * self.dims(),
            );
            if -m.value > best.1 {
                best = (m.x, -m.value);
            }
        }
        let predicted = model.posterior(&best.0);
        Suggestion {
            x: self.unit_to_parameters(&best.0),
            strategy: STRATEGY_UCB.to_string(),
            predicted,
            acquisition: Some(best.1),
        }
    }

    /// One joint posterior draw on the candidate set; the candidate of highest sampled utility.
    fn thompson_step(&self, model: &CompositeModel) -> Suggestion {
        let candidates = self.candidate_set(
            model,
            THOMPSON_SOBOL,
            THOMPSON_LOCAL_PER_CENTRE,
            PURPOSE_THOMPSON,
        );
        let (best, value) = self.thompson_pick(model, &candidates);
        let point = &candidates[best];
        Suggestion {
            x: self.unit_to_parameters(point),
            strategy: STRATEGY_THOMPSON.to_string(),
            predicted: model.posterior(point),
            acquisition: Some(value),
        }
    }

    /// Thompson sampling on a structured space: one joint posterior draw over feasible
    /// candidates (repaired Sobol and local points, or at most [`THOMPSON_TABLE_ROWS`] usable
    /// rows of a candidate table, a seeded random subset of larger tables).
    fn structured_thompson_step(
        &self,
        space: &Space,
        model: &CompositeModel,
    ) -> Result<Suggestion, PlanError> {
        let no_fixed = vec![None; self.dims()];
        let points: Vec<Vec<f64>> = match &self.space.candidates {
            Some(table) => {
                let mut rows: Vec<usize> = (0..table.len())
                    .filter(|&i| self.usable_row(space, &no_fixed, table.row(i)))
                    .collect();
                if rows.len() > THOMPSON_TABLE_ROWS {
                    // Partial Fisher–Yates shuffle: a uniform seeded subset, in a fixed order.
                    let k = self.observations.len() as u64;
                    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(
                        self.config.seed,
                        k,
                        PURPOSE_THOMPSON_TABLE,
                    ));
                    for i in 0..THOMPSON_TABLE_ROWS {
                        let j = rng.random_range(i..rows.len());
                        rows.swap(i, j);
                    }
                    rows.truncate(THOMPSON_TABLE_ROWS);
                }
                rows.iter().map(|&i| table.row(i).to_vec()).collect()
            }
            None => self.structured_candidates(
                space,
                model,
                &no_fixed,
                THOMPSON_SOBOL,
                THOMPSON_LOCAL_PER_CENTRE,
                PURPOSE_THOMPSON,
            ),
        };
        if points.is_empty() {
            return Err(PlanError::InvalidConfig(
                "no feasible, unobserved candidate is left for Thompson sampling".into(),
            ));
        }
        let encoded: Vec<Vec<f64>> = points.iter().map(|x| space.encode(x)).collect();
        let (best, value) = self.thompson_pick(model, &encoded);
        Ok(self.suggestion(
            points[best].clone(),
            STRATEGY_THOMPSON,
            Some(model.posterior(&encoded[best])),
            Some(value),
        ))
    }

    /// Draws every objective jointly on `candidates` (GP inputs) and returns the index and
    /// sampled utility of the best candidate (candidates more likely infeasible than not,
    /// under the unknown-constraint model, are skipped).
    fn thompson_pick(&self, model: &CompositeModel, candidates: &[Vec<f64>]) -> (usize, f64) {
        let n = candidates.len();
        let k = self.observations.len() as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(self.config.seed, k, PURPOSE_THOMPSON));
        let mut draws: Vec<Option<Vec<f64>>> = Vec::with_capacity(model.models.len());
        for m in &model.models {
            draws.push(m.as_ref().map(|m| {
                let set = m.gp.reference_set(candidates);
                let l = semidefinite_cholesky(&set.covariance, n);
                let z: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
                (0..n)
                    .map(|i| {
                        let correlated: f64 = (0..=i).map(|j| l[i * n + j] * z[j]).sum();
                        (set.means[i] + correlated) * m.scale
                    })
                    .collect()
            }));
        }
        let mut best = (0, f64::NEG_INFINITY);
        let feasibility = model.log_feasibility_many(candidates);
        for c in 0..n {
            let outcome: Vec<Option<f64>> =
                draws.iter().map(|d| d.as_ref().map(|d| d[c])).collect();
            let mut u = model.sample_utility(&outcome);
            // Unknown constraints: skip candidates more likely infeasible than not.
            if feasibility.as_ref().is_some_and(|f| f[c] < 0.5f64.ln()) {
                u = f64::NEG_INFINITY;
            }
            if u > best.1 {
                best = (c, u);
            }
        }
        best
    }

    /// Observed minimum and maximum of each objective's utility (range 1 when flat or absent).
    fn utility_ranges(&self) -> Vec<(f64, f64)> {
        let (_, utilities) = self.utility_vectors();
        (0..self.config.objectives.len())
            .map(|i| {
                let lo = utilities.iter().map(|u| u[i]).fold(f64::INFINITY, f64::min);
                let hi = utilities
                    .iter()
                    .map(|u| u[i])
                    .fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() && hi > lo {
                    (lo, hi)
                } else if lo.is_finite() {
                    (lo - 0.5, lo + 0.5)
                } else {
                    (0.0, 1.0)
                }
            })
            .collect()
    }

    /// ParEGO: qLogNEI of a fresh random augmented-Chebyshev scalarisation per batch point.
    fn parego_batch(
        &self,
        model: &CompositeModel,
        q: usize,
        pending: &[Vec<f64>],
        rho: f64,
    ) -> Vec<Suggestion> {
        let ranges = self.utility_ranges();
        let m = self.config.objectives.len();
        let k = self.observations.len() as u64;
        let scalarisations: Vec<Scalarisation<'_>> = (0..q)
            .map(|j| {
                let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(
                    self.config.seed,
                    k,
                    PURPOSE_PAREGO + j as u64,
                ));
                // Uniform on the simplex: normalised exponential variates.
                let e: Vec<f64> = (0..m)
                    .map(|_| -(1.0 - rand::RngExt::random::<f64>(&mut rng)).ln())
                    .collect();
                let total: f64 = e.iter().sum();
                let weights: Vec<f64> = e.iter().map(|v| v / total).collect();
                let ranges = ranges.clone();
                let objectives = &self.config.objectives;
                Box::new(move |y: &[Option<f64>]| -> f64 {
                    let mut min = f64::INFINITY;
                    let mut sum = 0.0;
                    for (((o, y), w), (lo, hi)) in
                        objectives.iter().zip(y).zip(&weights).zip(&ranges)
                    {
                        let normalised = y.map_or(0.0, |y| (o.utility(y) - lo) / (hi - lo));
                        min = min.min(w * normalised);
                        sum += w * normalised;
                    }
                    min + rho * sum
                }) as Scalarisation<'_>
            })
            .collect();
        let baseline = self.front_baseline(model, 4);
        self.greedy_batch(model, q, pending, &baseline, STRATEGY_PAREGO, &mut |j| {
            BatchObjective::Scalar(&*scalarisations[j])
        })
    }

    /// qNEHVI over the sampled Pareto front.
    fn nehvi_batch(
        &self,
        model: &CompositeModel,
        q: usize,
        pending: &[Vec<f64>],
        reference: Option<&[f64]>,
    ) -> Vec<Suggestion> {
        let reference: Vec<f64> = match reference {
            Some(r) => self
                .config
                .objectives
                .iter()
                .zip(r)
                .map(|(o, &v)| o.utility(v))
                .collect(),
            None => self
                .utility_ranges()
                .into_iter()
                .map(|(lo, hi)| lo - 0.1 * (hi - lo))
                .collect(),
        };
        let baseline = self.front_baseline(model, NEHVI_BASELINE);
        self.greedy_batch(model, q, pending, &baseline, STRATEGY_NEHVI, &mut |_| {
            BatchObjective::Hypervolume {
                reference: reference.clone(),
            }
        })
    }

    /// Up to `limit` training points (indices into the model's training inputs) on the first
    /// non-dominated fronts of the posterior-mean utilities: the points whose sampled values
    /// can form the Pareto front (pruned as BoTorch's `prune_baseline` does).
    fn front_baseline(&self, model: &CompositeModel, limit: usize) -> Vec<usize> {
        let means: Vec<Vec<f64>> = model
            .posterior_many(&model.training_inputs)
            .iter()
            .map(|p| {
                let outcome: Vec<Option<f64>> = p.iter().map(|v| v.map(|(m, _)| m)).collect();
                model.utility_vector(&outcome)
            })
            .collect();
        let mut chosen = Vec::new();
        for front in non_dominated_sort(&means) {
            for i in front {
                if chosen.len() < limit {
                    chosen.push(i);
                }
            }
            if chosen.len() >= limit {
                break;
            }
        }
        if chosen.is_empty() {
            chosen.push(model.ranked_training_points[0].0);
        }
        chosen
    }
}

/// The configured acquisitions by name, for command-line parsing.
pub fn acquisition_names() -> BTreeMap<&'static str, Acquisition> {
    BTreeMap::from([
        ("logei", Acquisition::LogEi),
        ("ucb", Acquisition::Ucb { beta: 2.0 }),
        ("thompson", Acquisition::Thompson),
        ("parego", Acquisition::ParEgo { rho: 0.05 }),
        ("nehvi", Acquisition::Nehvi { reference: None }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::multi::MultiObjectiveProblem;
    use crate::bench::TestFunction;
    use crate::{Objective, ObjectiveGoal, Observation, PlannerConfig};

    fn single(acquisition: Acquisition) -> Planner {
        let f = TestFunction::Branin;
        let mut p = Planner::new(PlannerConfig {
            parameters: f.parameters(),
            objectives: vec![Objective::new("y", ObjectiveGoal::Minimize)],
            initial_design: 8,
            seed: 3,
        })
        .unwrap()
        .with_acquisition(acquisition)
        .unwrap();
        for _ in 0..8 {
            let s = p.ask().unwrap();
            let y = f.value(&s.x);
            p.tell(Observation {
                x: s.x,
                y: vec![Some(y)],
                failed: false,
            })
            .unwrap();
        }
        p
    }

    fn two_objectives(acquisition: Acquisition) -> Planner {
        let problem = MultiObjectiveProblem::BraninCurrin;
        let mut p = Planner::new(PlannerConfig {
            parameters: problem.parameters(),
            objectives: vec![
                Objective::new("f1", ObjectiveGoal::Minimize),
                Objective::new("f2", ObjectiveGoal::Minimize),
            ],
            initial_design: 8,
            seed: 5,
        })
        .unwrap()
        .with_acquisition(acquisition)
        .unwrap();
        for _ in 0..8 {
            let s = p.ask().unwrap();
            let y = problem.values(&s.x);
            p.tell(Observation {
                x: s.x,
                y: vec![Some(y[0]), Some(y[1])],
                failed: false,
            })
            .unwrap();
        }
        p
    }

    #[test]
    fn alternative_acquisitions_are_deterministic_and_persist() {
        for acquisition in [Acquisition::Ucb { beta: 2.0 }, Acquisition::Thompson] {
            let p = single(acquisition.clone());
            let s = p.ask().unwrap();
            assert!(s.strategy == STRATEGY_UCB || s.strategy == STRATEGY_THOMPSON);
            let restored = Planner::from_json(&p.to_json()).unwrap();
            assert_eq!(restored.acquisition(), &acquisition);
            assert_eq!(restored.ask().unwrap(), s);
            let batch = p.ask_batch(3, &[]).unwrap();
            assert_eq!(batch, restored.ask_batch(3, &[]).unwrap());
            for (i, a) in batch.iter().enumerate() {
                assert!(batch[..i].iter().all(|b| b.x != a.x), "{:?}", acquisition);
            }
        }
        // States written before acquisitions existed read as LogEI.
        let p = single(Acquisition::LogEi);
        assert!(!p.to_json().contains("acquisition"));
        assert_eq!(
            Planner::from_json(&p.to_json()).unwrap().acquisition(),
            &Acquisition::LogEi
        );
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let p = single(Acquisition::LogEi);
        assert!(p
            .clone()
            .with_acquisition(Acquisition::Ucb { beta: -1.0 })
            .is_err());
        assert!(p
            .clone()
            .with_acquisition(Acquisition::ParEgo { rho: f64::NAN })
            .is_err());
        assert!(p
            .with_acquisition(Acquisition::Nehvi {
                reference: Some(vec![1.0, 2.0])
            })
            .is_err());
    }

    #[test]
    fn ucb_prefers_uncertainty_as_beta_grows() {
        let cautious = single(Acquisition::Ucb { beta: 1e-6 }).ask().unwrap();
        let bold = single(Acquisition::Ucb { beta: 100.0 }).ask().unwrap();
        let sd = |s: &Suggestion| s.predicted[0].unwrap().1;
        assert!(sd(&bold) > sd(&cautious), "{bold:?} vs {cautious:?}");
    }

    #[test]
    fn pareto_front_of_known_observations() {
        let mut p = two_objectives(Acquisition::LogEi);
        let n = p.observations().len();
        // A point that beats everything on f1 is on the front; so is its twin on f2.
        for (y1, y2) in [(-100.0, 1e3), (1e3, -100.0), (1e3, 1e3)] {
            p.tell(Observation {
                x: vec![0.5, 0.5],
                y: vec![Some(y1), Some(y2)],
                failed: false,
            })
            .unwrap();
        }
        let front = p.pareto_front();
        let indices: Vec<usize> = front.iter().map(|f| f.index).collect();
        assert!(indices.contains(&n) && indices.contains(&(n + 1)));
        assert!(!indices.contains(&(n + 2)));
        let all: Vec<Vec<f64>> = p
            .observations()
            .iter()
            .map(|o| vec![-o.y[0].unwrap(), -o.y[1].unwrap()])
            .collect();
        assert_eq!(indices, crate::pareto::pareto_front_indices(&all));
        let json = serde_json::to_string(&front).unwrap();
        assert!(json.contains("\"index\""));
    }

    #[test]
    fn multi_objective_batches_are_distinct_and_deterministic() {
        for acquisition in [
            Acquisition::ParEgo { rho: 0.05 },
            Acquisition::Nehvi { reference: None },
            Acquisition::Nehvi {
                reference: Some(vec![18.0, 6.0]),
            },
        ] {
            let p = two_objectives(acquisition.clone());
            let batch = p.ask_batch(2, &[]).unwrap();
            assert_ne!(batch[0].x, batch[1].x);
            assert!(batch[0].acquisition.unwrap().is_finite());
            let restored = Planner::from_json(&p.to_json()).unwrap();
            assert_eq!(
                restored.ask_batch(2, &[]).unwrap(),
                batch,
                "{acquisition:?}"
            );
        }
    }
}
