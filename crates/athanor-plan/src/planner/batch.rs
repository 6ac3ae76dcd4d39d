//! Batch suggestions with pending experiments: sequential-greedy Monte-Carlo qLogNEI.
//!
//! A batch of `q` points is chosen one point at a time (the sequential-greedy scheme of
//! BoTorch, Balandat et al. 2020, §4, whose value is within a factor `1 − 1/e` of the joint
//! optimum for the submodular qEI, Wilson et al. 2018). Point `j` maximises the Monte-Carlo
//! noisy expected improvement of the *whole* set chosen so far,
//!
//! `qNEI(x) = E[ softplus_τ( max(U(Y_x), max_{p ∈ P ∪ S} U(Y_p)) − max_{b ∈ B} U(Y_b) ) ]`,
//!
//! where `P` are the pending experiments (asked, not told), `S` the points already in the
//! batch, and `B` the best few observed points (the "baseline" of noisy EI, Letham et al. 2019:
//! the incumbent is sampled jointly instead of plugged in). `Y` is drawn from the **joint** GP
//! posterior of `B ∪ P ∪ S ∪ {x}` per objective with fixed quasi-random base samples (Sobol
//! points through the normal quantile, common to all candidates), so a candidate next to a
//! pending point is worth little: their outcomes are strongly correlated. The expectation is
//! taken in log space with a softplus-smoothed improvement (LogEI, Ament et al. 2023).
//!
//! Pending experiments are passed by the caller (parameter values), not stored in the planner:
//! the planner state stays "configuration + observations", results may be told in any order
//! (including experiments the planner never proposed, and failures), and `ask_batch` stays a
//! pure function of the state and its arguments, hence deterministic and identical after a
//! JSON round trip.
//!
//! Spaces with integer/categorical parameters, constraints or a candidate table use the
//! *Kriging believer* heuristic instead (Ginsbourger et al. 2010): each pending or chosen point
//! is told with its posterior mean as a fantasy outcome and the ordinary single-point ask runs
//! on the augmented data.

use super::{
    derive_seed, log_softplus, nelder_mead_unit_cube, normal_quantile, sobol_points,
    standard_normal, CompositeModel, Observation, Planner, Suggestion, LOCAL_SIGMAS,
    PURPOSE_CANDIDATES, PURPOSE_LOCAL, SOFTPLUS_TEMPERATURE, STRATEGY_BAYES,
};
use crate::gp::joint::ReferenceSet;
use crate::stats::log_sum_exp;
use crate::PlanError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Strategy name of batch suggestions chosen by Monte-Carlo qLogNEI.
pub const STRATEGY_BATCH: &str = "gp-qlognei";
/// Strategy name of batch suggestions chosen by the Kriging-believer heuristic.
pub const STRATEGY_KRIGING_BELIEVER: &str = "gp-kriging-believer";

/// Monte-Carlo samples of the batch acquisition (BoTorch's default for qLogNEI/qLogNEHVI; 64
/// left the hypervolume improvement of a 2-objective baseline front visibly noisy).
const BATCH_MC_SAMPLES: usize = 128;
/// Observed points sampled jointly as the noisy-EI baseline.
const BASELINE_POINTS: usize = 4;
/// Scrambled Sobol candidates per greedy step.
const BATCH_SOBOL_CANDIDATES: usize = 512;
/// Centres (best observed, pending and chosen points) of local candidates.
const BATCH_LOCAL_CENTRES: usize = 4;
/// Local candidates per centre.
const BATCH_LOCAL_PER_CENTRE: usize = 128;
/// Candidates polished per greedy step (projected L-BFGS, Nelder–Mead where the acquisition
/// is not finite).
const BATCH_REFINED: usize = 2;
/// Forward-difference step of the polish's gradient (unit-cube units): far above the rounding
/// error of the log acquisition, far below the lengthscales.
const FINITE_DIFFERENCE_STEP: f64 = 1e-5;
/// Settings of the polish: those of the closed-form LogEI's polish with half its iterations
/// (each costs d + 1 Monte-Carlo evaluations; 30 kept ZDT1's gain and Hartmann-6's q = 4
/// latency within its target).
const BATCH_LBFGS: crate::optim::LbfgsSettings = crate::optim::LbfgsSettings {
    max_iterations: 30,
    ..super::ACQUISITION_LBFGS
};
/// Purpose tags of the batch's random streams.
const PURPOSE_BATCH_BASE: u64 = 0xba7c4;

impl Planner {
    /// Proposes `q` distinct experiments to run in parallel, taking into account `pending`
    /// experiments (parameter values of experiments already asked for but not told yet; they
    /// need not have been proposed by this planner). `ask_batch(1, &[])` is exactly
    /// [`Planner::ask`]. Pure and deterministic: the same state, `q` and `pending` give the same
    /// batch, also after [`Planner::from_json`]. During the initial design the batch continues
    /// the design sequence after the observed and pending points.
    pub fn ask_batch(&self, q: usize, pending: &[Vec<f64>]) -> Result<Vec<Suggestion>, PlanError> {
        if q == 0 {
            return Err(PlanError::InvalidConfig("a batch needs q ≥ 1".into()));
        }
        let dims = self.dims();
        for (i, x) in pending.iter().enumerate() {
            if x.len() != dims || x.iter().any(|v| !v.is_finite()) {
                return Err(PlanError::InvalidObservation(format!(
                    "pending experiment {i} needs {dims} finite parameter values"
                )));
            }
        }
        if q == 1 && pending.is_empty() {
            return Ok(vec![self.ask()?]);
        }
        if self.acquisition != super::Acquisition::LogEi {
            return self.ask_alternative(q, pending);
        }
        let space = self.compiled_space();
        let k = self.observations.len();
        if k + pending.len() < self.config.initial_design || !self.space.is_plain() {
            return self.kriging_believer_batch(q, pending);
        }
        let Some(model) = CompositeModel::fit(&self.config, &space, &self.observations)? else {
            return self.kriging_believer_batch(q, pending);
        };
        let pending_units: Vec<Vec<f64>> = pending.iter().map(|x| space.encode(x)).collect();
        Ok(self.qnei_batch(&model, q, &pending_units))
    }

    /// Kriging believer: tell each pending and chosen point with its posterior mean (or, before
    /// a model exists, as a failed run so the design sequence moves on) and ask again.
    pub(super) fn kriging_believer_batch(
        &self,
        q: usize,
        pending: &[Vec<f64>],
    ) -> Result<Vec<Suggestion>, PlanError> {
        let mut fantasy = self.clone();
        let n_obj = self.config.objectives.len();
        let believe = |planner: &mut Planner, x: Vec<f64>| -> Result<(), PlanError> {
            let space = planner.compiled_space();
            let model = CompositeModel::fit(&planner.config, &space, &planner.observations)?;
            let obs = match model {
                Some(m) if planner.observations.len() >= planner.config.initial_design => {
                    let post = m.posterior(&space.encode(&x));
                    Observation {
                        x,
                        y: post.iter().map(|p| p.map(|(mean, _)| mean)).collect(),
                        failed: post.iter().all(Option::is_none),
                    }
                }
                _ => Observation {
                    x,
                    y: vec![None; n_obj],
                    failed: true,
                },
            };
            planner.tell(obs)
        };
        for x in pending {
            believe(&mut fantasy, x.clone())?;
        }
        let mut batch = Vec::with_capacity(q);
        for j in 0..q {
            let mut s = fantasy.ask()?;
            if s.strategy == STRATEGY_BAYES && !(pending.is_empty() && j == 0) {
                s.strategy = STRATEGY_KRIGING_BELIEVER.to_string();
            }
            if j + 1 < q {
                believe(&mut fantasy, s.x.clone())?;
            }
            batch.push(s);
        }
        Ok(batch)
    }

    /// Sequential-greedy qLogNEI of the weighted utility on the plain unit cube.
    fn qnei_batch(
        &self,
        model: &CompositeModel,
        q: usize,
        pending: &[Vec<f64>],
    ) -> Vec<Suggestion> {
        let utility = |y: &[Option<f64>]| model.sample_utility(y);
        let baseline: Vec<usize> = model
            .ranked_training_points
            .iter()
            .take(BASELINE_POINTS)
            .map(|&(i, _)| i)
            .collect();
        self.greedy_batch(model, q, pending, &baseline, STRATEGY_BATCH, &mut |_| {
            BatchObjective::Scalar(&utility)
        })
    }

    /// Sequential greedy maximisation of a Monte-Carlo batch acquisition; `objective_for(j)`
    /// gives the criterion of batch point `j`; the training points `baseline` (indices into
    /// the model's training inputs) are sampled jointly as the baseline.
    pub(super) fn greedy_batch<'u>(
        &self,
        model: &CompositeModel,
        q: usize,
        pending: &[Vec<f64>],
        baseline: &[usize],
        strategy: &str,
        objective_for: &mut dyn FnMut(usize) -> BatchObjective<'u>,
    ) -> Vec<Suggestion> {
        let d = self.dims();
        let k = self.observations.len() as u64;
        let seed = self.config.seed;
        let baseline: Vec<Vec<f64>> = baseline
            .iter()
            .map(|&i| model.training_inputs[i].clone())
            .collect();
        let slots = baseline.len() + pending.len() + q;
        let n_obj = model.models.len();
        let base = BaseSamples::new(
            BATCH_MC_SAMPLES,
            n_obj,
            slots,
            derive_seed(seed, k, PURPOSE_BATCH_BASE),
        );
        let global = sobol_points(
            BATCH_SOBOL_CANDIDATES,
            d,
            derive_seed(seed, k, PURPOSE_CANDIDATES),
        );
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, k, PURPOSE_LOCAL));
        let mut chosen: Vec<Vec<f64>> = Vec::with_capacity(q);
        let mut batch = Vec::with_capacity(q);
        for j in 0..q {
            let mut references = baseline.clone();
            references.extend(pending.iter().cloned());
            references.extend(chosen.iter().cloned());
            let objective = objective_for(j);
            let acquisition =
                BatchAcquisition::new(model, &references, baseline.len(), &base, &objective);
            // Candidates: the global net plus local perturbations of the best observed point
            // and of the latest pending/chosen points (batch optima cluster around them).
            let mut candidates = global.clone();
            let mut centres: Vec<&Vec<f64>> = baseline.iter().take(2).collect();
            centres.extend(references[baseline.len()..].iter().rev().take(2));
            for centre in centres.into_iter().take(BATCH_LOCAL_CENTRES) {
                for m in 0..BATCH_LOCAL_PER_CENTRE {
                    let sigma = LOCAL_SIGMAS[m % LOCAL_SIGMAS.len()];
                    candidates.push(
                        centre
                            .iter()
                            .map(|c| (c + sigma * standard_normal(&mut rng)).clamp(0.0, 1.0))
                            .collect(),
                    );
                }
            }
            let scores = acquisition.score_many(&candidates);
            let mut order: Vec<usize> = (0..candidates.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            let mut best_point = candidates[order[0]].clone();
            let mut best_score = scores[order[0]];
            for &s in order.iter().take(BATCH_REFINED) {
                let m = acquisition.polish(&candidates[s]).unwrap_or_else(|| {
                    nelder_mead_unit_cube(
                        |u| -acquisition.score_many(&[u.to_vec()])[0],
                        &candidates[s],
                        0.05,
                        20 + 10 * d,
                    )
                });
                if -m.value > best_score {
                    best_score = -m.value;
                    best_point = m.x;
                }
            }
            let predicted = model.posterior(&best_point);
            batch.push(Suggestion {
                x: self.unit_to_parameters(&best_point),
                strategy: strategy.to_string(),
                predicted,
                acquisition: Some(best_score),
            });
            chosen.push(best_point);
        }
        batch
    }
}

/// Score of a candidate whose hypervolume improvement is zero in every sample.
const NO_IMPROVEMENT_SCORE: f64 = -1e300;

impl CompositeModel<'_> {
    /// Per-objective utilities `u_i(y_i)` (unweighted, all maximised) of an outcome;
    /// unmodelled objectives count as −∞ (they dominate nothing).
    pub(super) fn utility_vector(&self, outcome: &[Option<f64>]) -> Vec<f64> {
        self.objectives
            .iter()
            .zip(outcome)
            .map(|(o, y)| y.map_or(f64::NEG_INFINITY, |y| o.utility(y)))
            .collect()
    }

    /// Utility `Σ w_i u_i(y_i)` of one sampled outcome (unmodelled objectives are skipped).
    pub(super) fn sample_utility(&self, outcome: &[Option<f64>]) -> f64 {
        self.objectives
            .iter()
            .zip(outcome)
            .filter_map(|(o, y)| y.map(|y| o.weight * o.utility(y)))
            .sum()
    }
}

/// Quasi-random standard normal base samples, indexed `[sample][objective][slot]`.
pub(crate) struct BaseSamples {
    samples: usize,
    objectives: usize,
    slots: usize,
    values: Vec<f64>,
}

impl BaseSamples {
    /// Scrambled Sobol points of dimension `objectives × slots` through the normal quantile.
    pub(crate) fn new(samples: usize, objectives: usize, slots: usize, seed: u64) -> BaseSamples {
        let values = sobol_points(samples, objectives * slots, seed)
            .into_iter()
            .flatten()
            .map(|u| normal_quantile((u + 0.5 / 16_777_216.0).min(1.0 - 0.5 / 16_777_216.0)))
            .collect();
        BaseSamples {
            samples,
            objectives,
            slots,
            values,
        }
    }

    /// The slot values of one sample and objective.
    fn row(&self, sample: usize, objective: usize) -> &[f64] {
        let start = (sample * self.objectives + objective) * self.slots;
        &self.values[start..start + self.slots]
    }
}

/// Lower Cholesky factor (row-major) of a positive *semi*-definite matrix: a pivot that is
/// numerically zero (a point perfectly correlated with earlier ones, e.g. a pending experiment
/// at an observed location) gets a zero column instead of failing.
pub(super) fn semidefinite_cholesky(matrix: &[f64], r: usize) -> Vec<f64> {
    let mut l = vec![0.0; r * r];
    let largest = (0..r).map(|i| matrix[i * r + i]).fold(0.0, f64::max);
    for j in 0..r {
        let pivot = matrix[j * r + j] - (0..j).map(|k| l[j * r + k] * l[j * r + k]).sum::<f64>();
        if pivot <= 1e-10 * largest.max(f64::MIN_POSITIVE) {
            continue;
        }
        let ljj = pivot.sqrt();
        l[j * r + j] = ljj;
        for i in j + 1..r {
            let s = matrix[i * r + j] - (0..j).map(|k| l[i * r + k] * l[j * r + k]).sum::<f64>();
            l[i * r + j] = s / ljj;
        }
    }
    l
}

/// Forward substitution `L a = c` skipping zero pivots (their component is left at 0).
fn forward_solve(l: &[f64], r: usize, c: &[f64]) -> Vec<f64> {
    let mut a = vec![0.0; r];
    for i in 0..r {
        let lii = l[i * r + i];
        if lii > 0.0 {
            let s = c[i] - (0..i).map(|k| l[i * r + k] * a[k]).sum::<f64>();
            a[i] = s / lii;
        }
    }
    a
}

/// A candidate's outcome law given the references: mean, whitened covariance with the
/// references `a = L⁻¹ c`, and the residual standard deviation.
type CandidateLaw = (f64, Vec<f64>, f64);

/// What a greedy step maximises.
pub(super) enum BatchObjective<'u> {
    /// Noisy expected improvement of a scalar utility of the outcome vector (objective units;
    /// `None` for unmodelled objectives).
    Scalar(&'u dyn Fn(&[Option<f64>]) -> f64),
    /// Noisy expected hypervolume improvement of the per-objective utilities (all maximised)
    /// above `reference` (utility units).
    Hypervolume {
        /// The reference point, one utility value per objective.
        reference: Vec<f64>,
    },
}

/// The joint-posterior state of one greedy step: per objective the references' Cholesky
/// factor, and per sample the best baseline and best pending/chosen utility.
struct BatchAcquisition<'m, 'a> {
    model: &'m CompositeModel<'a>,
    base: &'m BaseSamples,
    /// Per modelled objective: the reference set (GP units) and its Cholesky factor (objective
    /// units).
    references: Vec<Option<(ReferenceSet, Vec<f64>)>>,
    /// Number of references (baseline + pending + chosen).
    r: usize,
    objective: &'m BatchObjective<'m>,
    /// Per sample (hypervolume objective): the Pareto front of the sampled baseline, pending
    /// and chosen outcomes, in utility space.
    fronts: Vec<Vec<Vec<f64>>>,
    /// Per sample: the best baseline utility.
    best_baseline: Vec<f64>,
    /// Per sample: the best utility among pending and chosen points (−∞ if none).
    best_new: Vec<f64>,
}

impl<'m, 'a> BatchAcquisition<'m, 'a> {
    fn new(
        model: &'m CompositeModel<'a>,
        points: &[Vec<f64>],
        baseline: usize,
        base: &'m BaseSamples,
        objective: &'m BatchObjective<'m>,
    ) -> BatchAcquisition<'m, 'a> {
        let r = points.len();
        let references: Vec<Option<(ReferenceSet, Vec<f64>)>> = model
            .models
            .iter()
            .map(|m| {
                m.as_ref().map(|m| {
                    let set = m.gp.reference_set(points);
                    let scaled: Vec<f64> = set
                        .covariance
                        .iter()
                        .map(|c| c * m.scale * m.scale)
                        .collect();
                    let l = semidefinite_cholesky(&scaled, r);
                    (set, l)
                })
            })
            .collect();
        let mut best_baseline = vec![f64::NEG_INFINITY; base.samples];
        let mut best_new = vec![f64::NEG_INFINITY; base.samples];
        let mut outcome = vec![None; model.models.len()];
        let mut fronts = Vec::new();
        for s in 0..base.samples {
            let mut sampled_points: Vec<Vec<f64>> = Vec::new();
            for i in 0..r {
                for (o, slot) in outcome.iter_mut().enumerate() {
                    *slot = match (&references[o], &model.models[o]) {
                        (Some((set, l)), Some(m)) => {
                            let z = base.row(s, o);
                            let correlated: f64 = (0..=i).map(|k| l[i * r + k] * z[k]).sum::<f64>();
                            Some(set.means[i] * m.scale + correlated)
                        }
                        _ => None,
                    };
                }
                match objective {
                    BatchObjective::Scalar(utility) => {
                        let u = utility(&outcome);
                        if i < baseline {
                            best_baseline[s] = best_baseline[s].max(u);
                        } else {
                            best_new[s] = best_new[s].max(u);
                        }
                    }
                    BatchObjective::Hypervolume { .. } => {
                        sampled_points.push(model.utility_vector(&outcome));
                    }
                }
            }
            if matches!(objective, BatchObjective::Hypervolume { .. }) {
                let front = crate::pareto::pareto_front_indices(&sampled_points)
                    .into_iter()
                    .map(|i| sampled_points[i].clone())
                    .collect();
                fronts.push(front);
            }
        }
        BatchAcquisition {
            model,
            base,
            objective,
            fronts,
            references,
            r,
            best_baseline,
            best_new,
        }
    }

    /// Maximises the acquisition from `start` by projected L-BFGS in the unit cube (as
    /// BoTorch's `optimize_acqf` does with L-BFGS-B), on forward-difference gradients: with
    /// the base samples fixed, the Monte-Carlo estimate is a deterministic, piecewise smooth
    /// function of the candidate (a sample-average approximation). A gradient method follows
    /// a slope onto the bounds in a few steps, where the derivative-free simplex needed most
    /// of its budget: on ZDT1, whose Pareto set lies on a face of the cube, the hypervolume
    /// gap after 13 evaluations fell from 10^0.23 to 10^−0.12 (median of 20 seeds), while a
    /// q = 4 batch on Hartmann-6 with 20 observations went from 26 to 33 ms. `None` when the
    /// acquisition is not finite at the start.
    fn polish(&self, start: &[f64]) -> Option<crate::optim::Minimum> {
        let d = start.len();
        let (lower, upper) = (vec![0.0; d], vec![1.0; d]);
        let value_and_gradient = |u: &[f64]| -> Option<(f64, Vec<f64>)> {
            // One batched evaluation of the point and its d neighbours; a step that would
            // leave the cube goes the other way.
            let mut points = Vec::with_capacity(d + 1);
            points.push(u.to_vec());
            let mut steps = Vec::with_capacity(d);
            for j in 0..d {
                let step = if u[j] + FINITE_DIFFERENCE_STEP <= 1.0 {
                    FINITE_DIFFERENCE_STEP
                } else {
                    -FINITE_DIFFERENCE_STEP
                };
                let mut x = u.to_vec();
                x[j] += step;
                points.push(x);
                steps.push(step);
            }
            let scores = self.score_many(&points);
            let value = -scores[0];
            if !value.is_finite() || scores.iter().any(|v| !v.is_finite()) {
                return None;
            }
            let gradient = scores[1..]
                .iter()
                .zip(&steps)
                .map(|(score, step)| (-score - value) / step)
                .collect();
            Some((value, gradient))
        };
        crate::optim::lbfgs_box(value_and_gradient, start, &lower, &upper, BATCH_LBFGS)
    }

    /// `log qNEI` (plus `log P(feasible)` when failures have been seen) at each candidate.
    fn score_many(&self, candidates: &[Vec<f64>]) -> Vec<f64> {
        let r = self.r;
        let slot = r; // The candidate's own base-sample slot follows the references'.
                      // Per objective and candidate: mean, whitened cross-covariance a and residual sd.
        let per_objective: Vec<Option<Vec<CandidateLaw>>> = self
            .references
            .iter()
            .zip(&self.model.models)
            .map(|(refs, m)| match (refs, m) {
                (Some((set, l)), Some(m)) => Some(
                    m.gp.predict_many_with_cross(candidates, set)
                        .into_iter()
                        .map(|p| {
                            let s2 = m.scale * m.scale;
                            let cross: Vec<f64> = p.cross.iter().map(|c| c * s2).collect();
                            let a = forward_solve(l, r, &cross);
                            let residual =
                                (p.variance * s2 - a.iter().map(|v| v * v).sum::<f64>()).max(0.0);
                            (p.mean * m.scale, a, residual.sqrt())
                        })
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        let feasibility = self.model.log_feasibility_many(candidates);
        let log_tau = SOFTPLUS_TEMPERATURE.ln();
        let mut outcome = vec![None; self.model.models.len()];
        let mut terms = vec![0.0; self.base.samples];
        (0..candidates.len())
            .map(|c| {
                for (s, term) in terms.iter_mut().enumerate() {
                    for (o, value) in outcome.iter_mut().enumerate() {
                        *value = per_objective[o].as_ref().map(|p| {
                            let (mean, a, sd) = &p[c];
                            let z = self.base.row(s, o);
                            mean + a.iter().zip(z).map(|(x, y)| x * y).sum::<f64>() + sd * z[slot]
                        });
                    }
                    match self.objective {
                        BatchObjective::Scalar(utility) => {
                            let u = utility(&outcome).max(self.best_new[s]);
                            *term = log_tau
                                + log_softplus((u - self.best_baseline[s]) / SOFTPLUS_TEMPERATURE);
                        }
                        BatchObjective::Hypervolume { reference } => {
                            let y = self.model.utility_vector(&outcome);
                            *term = crate::pareto::hypervolume_improvement(
                                &y,
                                &self.fronts[s],
                                reference,
                            );
                        }
                    }
                }
                let value = match self.objective {
                    BatchObjective::Scalar(_) => {
                        log_sum_exp(&terms) - (self.base.samples as f64).ln()
                    }
                    // Log of the mean improvement; a candidate that improves in no sample
                    // gets a very low but finite score, so the optimiser can move off it.
                    BatchObjective::Hypervolume { .. } => {
                        let mean = terms.iter().sum::<f64>() / self.base.samples as f64;
                        if mean > 0.0 {
                            mean.ln()
                        } else {
                            NO_IMPROVEMENT_SCORE
                        }
                    }
                };
                value + feasibility.as_ref().map_or(0.0, |f| f[c])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TestFunction;
    use crate::{Objective, ObjectiveGoal, PlannerConfig};

    /// A planner on Hartmann-3 that maximises −f, told its `n` initial-design points.
    fn planner(n: usize, seed: u64) -> Planner {
        let f = TestFunction::Hartmann3;
        planner_observing(f, n, seed, |x| -f.value(x))
    }

    /// A planner on `f`'s box that maximises `objective`, told its `n` initial-design points.
    fn planner_observing(
        f: TestFunction,
        n: usize,
        seed: u64,
        objective: impl Fn(&[f64]) -> f64,
    ) -> Planner {
        let mut p = Planner::new(PlannerConfig {
            parameters: f.parameters(),
            objectives: vec![Objective::new("y", ObjectiveGoal::Maximize)],
            initial_design: n,
            seed,
        })
        .unwrap();
        for _ in 0..n {
            let s = p.ask().unwrap();
            let y = objective(&s.x);
            p.tell(Observation {
                x: s.x,
                y: vec![Some(y)],
                failed: false,
            })
            .unwrap();
        }
        p
    }

    #[test]
    fn the_polish_follows_a_slope_onto_the_bounds() {
        // y = Σ x_j on Hartmann-6's unit box: the acquisition of a point beyond every
        // observation grows towards the corner (1, …, 1). From the box's centre the gradient
        // polish must end there exactly, and never below its start.
        let p = planner_observing(TestFunction::Hartmann6, 14, 5, |x| x.iter().sum());
        let model = CompositeModel::fit(&p.config, &p.compiled_space(), &p.observations)
            .unwrap()
            .unwrap();
        let baseline: Vec<Vec<f64>> = model
            .ranked_training_points
            .iter()
            .take(BASELINE_POINTS)
            .map(|&(i, _)| model.training_inputs[i].clone())
            .collect();
        let base = BaseSamples::new(BATCH_MC_SAMPLES, 1, baseline.len() + 1, 11);
        let utility = |y: &[Option<f64>]| model.sample_utility(y);
        let objective = BatchObjective::Scalar(&utility);
        let acquisition =
            BatchAcquisition::new(&model, &baseline, baseline.len(), &base, &objective);
        let start = vec![0.5; 6];
        let polished = acquisition.polish(&start).unwrap();
        assert!(polished.x.iter().all(|&v| v == 1.0), "{:?}", polished.x);
        assert!(-polished.value >= acquisition.score_many(&[start])[0]);
    }

    #[test]
    fn batches_are_distinct_deterministic_and_survive_a_round_trip() {
        let p = planner(12, 4);
        let batch = p.ask_batch(4, &[]).unwrap();
        assert_eq!(batch.len(), 4);
        for (i, a) in batch.iter().enumerate() {
            assert_eq!(a.strategy, STRATEGY_BATCH);
            for b in &batch[..i] {
                let gap: f64 = a.x.iter().zip(&b.x).map(|(x, y)| (x - y).abs()).sum();
                assert!(gap > 1e-3, "batch points coincide: {:?} {:?}", a.x, b.x);
            }
        }
        assert_eq!(p.ask_batch(4, &[]).unwrap(), batch);
        let restored = Planner::from_json(&p.to_json()).unwrap();
        assert_eq!(restored.ask_batch(4, &[]).unwrap(), batch);
        // q = 1 without pending points is the ordinary ask.
        assert_eq!(p.ask_batch(1, &[]).unwrap(), vec![p.ask().unwrap()]);
        assert!(p.ask_batch(0, &[]).is_err());
        assert!(p.ask_batch(2, &[vec![0.5]]).is_err());
    }

    #[test]
    fn pending_points_steer_the_batch_away() {
        let p = planner(12, 9);
        let first = p.ask().unwrap();
        // With the single-point optimum pending, the next proposal goes elsewhere, and a
        // batch with it pending equals the tail of the batch that chose it first.
        let next = p.ask_batch(1, std::slice::from_ref(&first.x)).unwrap();
        let gap: f64 = next[0]
            .x
            .iter()
            .zip(&first.x)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(gap > 1e-3);
        // Pending points may be anything, including points the planner never proposed.
        let odd = vec![vec![0.1, 0.2, 0.3], vec![0.9, 0.9, 0.9]];
        let b = p.ask_batch(2, &odd).unwrap();
        assert_eq!(b, p.ask_batch(2, &odd).unwrap());
    }

    #[test]
    fn initial_design_batches_continue_the_design_sequence() {
        let mut c = planner(0, 1).config().clone();
        c.initial_design = 6;
        let mut p = Planner::new(c).unwrap();
        let batch = p.ask_batch(3, &[]).unwrap();
        for s in &batch {
            assert_eq!(s.strategy, crate::STRATEGY_SOBOL);
        }
        let first = p.ask().unwrap();
        assert_eq!(batch[0], first);
        p.tell(Observation {
            x: first.x,
            y: vec![Some(1.0)],
            failed: false,
        })
        .unwrap();
        // One told, two pending: the next design point is number 3.
        let next = p
            .ask_batch(1, &[batch[1].x.clone(), batch[2].x.clone()])
            .unwrap();
        assert!(next[0].x != batch[1].x && next[0].x != batch[2].x);
    }

    #[test]
    fn single_point_qnei_reduces_to_closed_form_ei_without_noise() {
        let p = planner(15, 2);
        let space = p.compiled_space();
        let model = CompositeModel::fit(&p.config, &space, &p.observations)
            .unwrap()
            .unwrap();
        let best = model.training_inputs[model.ranked_training_points[0].0].clone();
        let base = BaseSamples::new(1024, 1, 2, 77);
        let utility = |y: &[Option<f64>]| model.sample_utility(y);
        let objective = BatchObjective::Scalar(&utility);
        let sampled =
            BatchAcquisition::new(&model, std::slice::from_ref(&best), 1, &base, &objective);
        // With the baseline pinned to the incumbent (a noise-free observation), one-point
        // qNEI is EI.
        let mut pinned =
            BatchAcquisition::new(&model, std::slice::from_ref(&best), 1, &base, &objective);
        pinned.best_baseline = vec![model.incumbent; base.samples];
        let mut compared = 0;
        for offset in sobol_points(64, 3, 5) {
            let u: Vec<f64> = best
                .iter()
                .zip(&offset)
                .map(|(c, o)| (c + 0.4 * (o - 0.5)).clamp(0.0, 1.0))
                .collect();
            let (mean, sd) = model.linear_utility_moments(&model.posterior(&u));
            if (mean - model.incumbent) / sd < -1.0 {
                continue;
            }
            let exact = model.log_ei(&u);
            let mc = pinned.score_many(std::slice::from_ref(&u))[0];
            assert!((mc - exact).abs() < 0.05, "{mc} vs {exact}");
            // Sampling the baseline's latent value adds a little spread, nothing more.
            let noisy = sampled.score_many(std::slice::from_ref(&u))[0];
            assert!((noisy - exact).abs() < 0.3, "{noisy} vs {exact}");
            compared += 1;
        }
        assert!(compared >= 5, "only {compared} comparable points");
    }

    #[test]
    fn semidefinite_cholesky_tolerates_repeated_points() {
        // Two identical points: rank one.
        let m = [4.0, 4.0, 4.0, 4.0];
        let l = semidefinite_cholesky(&m, 2);
        assert_eq!(l, vec![2.0, 0.0, 2.0, 0.0]);
        assert_eq!(forward_solve(&l, 2, &[2.0, 2.0]), vec![1.0, 0.0]);
    }
}
