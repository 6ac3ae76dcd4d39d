//! Benchmark problems and harnesses for the planner: sample efficiency (regret curves on the
//! standard synthetic test functions) and speed (per-suggestion latency).
//!
//! All test functions are *minimised* and come with their known global optimum, taken from the
//! Virtual Library of Simulation Experiments (Surjanovic & Bingham, <https://www.sfu.ca/~ssurjano/>)
//! and, for the bounds, BoTorch's `botorch.test_functions.synthetic` so that results are
//! comparable with BoTorch and BayBE runs:
//!
//! | problem | domain | `f*` |
//! |---|---|---|
//! | Branin | `[−5, 10] × [0, 15]` | 0.397887 |
//! | Hartmann-3 | `[0, 1]^3` | −3.86278 |
//! | Hartmann-6 | `[0, 1]^6` | −3.32237 |
//! | Ackley-d | `[−32.768, 32.768]^d` | 0 |
//! | Michalewicz-5 (m = 10) | `[0, π]^5` | −4.687658 |
//! | Rosenbrock-d | `[−5, 10]^d` | 0 |
//! | Styblinski–Tang-d | `[−5, 5]^d` | −39.16617 d |
//! | Hartmann-6 on the simplex | `x ≥ 0, Σ x_i = 1` | −1.5150271 (computed, see below) |
//! | mixed Hartmann-3 | variant ∈ {0, 1, 2} × `[0, 1]^3` | −3.86278 |
//!
//! Two structured problems exercise the planner's [`SearchSpace`]:
//!
//! * **Hartmann-6 on the simplex** (a mixture problem): Hartmann-6 restricted to the probability
//!   simplex, declared as a [`Constraint::LinearEquality`] `Σ x_i = 1` on the unit box. Its
//!   minimum there is not published; `f* = −1.515027107018` at
//!   `x* = (0, 0, 0, 0.1973009, 0.2512958, 0.5514033)` (a face of the simplex) was computed once
//!   by projected-gradient descent (Euclidean projection onto the simplex, backtracking step)
//!   from 400 random starts, the best of which all converged to it, and cross-checked by
//!   evaluating every point of the simplex lattice with spacing 1/20 (best −1.51485 at
//!   `(0, 0, 0, 0.2, 0.25, 0.55)`).
//! * **Mixed Hartmann-3** (categorical + continuous): a categorical `variant ∈ {0, 1, 2}` picks
//!   one of three transformed copies of Hartmann-3 `h` on `x ∈ [0, 1]^3`:
//!   `f(0, x) = h(x) + 0.5`, `f(1, x) = h(1 − x)` (reflected), `f(2, x) = h(x₂, x₃, x₁) + 1`
//!   (coordinates rotated). The optimum is `f* = h* = −3.86278` at variant 1,
//!   `x = 1 − x*_{H3}`; the other variants' minima are 0.5 and 1 worse and lie elsewhere, so a
//!   planner must both pick the category and locate the (moved) minimum.
//!
//! The regret runner ([`run_regret`]) drives a [`Planner`] with the `Minimize` goal on one
//! problem: initial Sobol design of `max(5, 2d)` points, then Bayesian optimisation up to the
//! budget. It records the *best-so-far simple regret* `r_t = min_{s ≤ t} f(x_s) − f*` of the
//! noise-free function at the evaluated points (with noisy problems the planner only sees
//! `f + ε`, `ε ~ N(0, (σ_rel · range)²)`), as `log10(max(r_t, 10^-12))`, and its area under the
//! curve (mean of the log10 regret over all evaluations: lower is better, it rewards getting
//! good early). Seeds are paired: seed `s` of every configuration sees the same noise stream.
//!
//! The latency harness ([`measure_latency`]) times [`Planner::ask`] for a planner already
//! holding `n` observations (Sobol points with the function's values), repeated over seeds.

pub mod export;
pub mod multi;
pub mod suite;

use crate::{
    Constraint, Objective, ObjectiveGoal, Observation, ParameterKind, PlanError, Planner,
    PlannerConfig, SearchSpace,
};
use athanor_model::ParameterDef;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::{FRAC_PI_2, PI};
use std::time::Instant;

/// Floor of the regret before taking its logarithm (the regret can be exactly zero).
pub const REGRET_FLOOR: f64 = 1e-12;

/// The synthetic test functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestFunction {
    /// Branin–Hoo, 2-D, three global minima.
    Branin,
    /// Hartmann, 3-D.
    Hartmann3,
    /// Hartmann, 6-D.
    Hartmann6,
    /// Ackley in `d` dimensions (`a = 20, b = 0.2, c = 2π`).
    Ackley(usize),
    /// Michalewicz in `d` dimensions with steepness `m = 10` (known optimum for d ∈ {2, 5, 10}).
    Michalewicz(usize),
    /// Rosenbrock in `d` dimensions.
    Rosenbrock(usize),
    /// Styblinski–Tang in `d` dimensions.
    StyblinskiTang(usize),
    /// Hartmann-6 on the probability simplex `x ≥ 0, Σ x_i = 1` (a mixture problem).
    Hartmann6Simplex,
    /// Categorical variant ∈ {0, 1, 2} of a transformed Hartmann-3, plus `x ∈ [0, 1]^3`.
    MixedHartmann3,
}

/// `f*` of Hartmann-6 on the simplex (computed; see the module documentation).
const HARTMANN6_SIMPLEX_MIN: f64 = -1.515_027_107_018_050_5;
/// Minimiser of Hartmann-6 on the simplex.
const HARTMANN6_SIMPLEX_ARGMIN: [f64; 6] = [
    0.0,
    0.0,
    0.0,
    0.197_300_938_915_974_5,
    0.251_295_776_257_766_1,
    0.551_403_284_826_259_6,
];
/// Minimiser of Hartmann-3 in the box (Surjanovic & Bingham).
const HARTMANN3_ARGMIN: [f64; 3] = [0.114_614, 0.555_649, 0.852_547];
/// Offsets added to the three variants of [`TestFunction::MixedHartmann3`].
const MIXED_VARIANT_OFFSETS: [f64; 3] = [0.5, 0.0, 1.0];

const HARTMANN_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
const HARTMANN3_A: [[f64; 3]; 4] = [
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
    [3.0, 10.0, 30.0],
    [0.1, 10.0, 35.0],
];
const HARTMANN3_P: [[f64; 3]; 4] = [
    [0.3689, 0.1170, 0.2673],
    [0.4699, 0.4387, 0.7470],
    [0.1091, 0.8732, 0.5547],
    [0.038150, 0.5743, 0.8828],
];
const HARTMANN6_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
const HARTMANN6_P: [[f64; 6]; 4] = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
];
/// Location of the one-dimensional Styblinski–Tang minimum (root of `4x³ − 32x + 5 = 0`).
const STYBLINSKI_TANG_ARGMIN: f64 = -2.903_534_027_771_178;
/// One-dimensional Styblinski–Tang minimum value.
const STYBLINSKI_TANG_MIN: f64 = -39.166_165_703_771_42;

fn hartmann<const D: usize>(x: &[f64], a: &[[f64; D]; 4], p: &[[f64; D]; 4]) -> f64 {
    -(0..4)
        .map(|i| {
            let e: f64 = (0..D).map(|j| a[i][j] * (x[j] - p[i][j]).powi(2)).sum();
            HARTMANN_ALPHA[i] * (-e).exp()
        })
        .sum::<f64>()
}

impl TestFunction {
    /// Short name used in tables and JSON keys, e.g. `hartmann6`, `ackley6`.
    pub fn name(&self) -> String {
        match self {
            TestFunction::Branin => "branin".into(),
            TestFunction::Hartmann3 => "hartmann3".into(),
            TestFunction::Hartmann6 => "hartmann6".into(),
            TestFunction::Ackley(d) => format!("ackley{d}"),
            TestFunction::Michalewicz(d) => format!("michalewicz{d}"),
            TestFunction::Rosenbrock(d) => format!("rosenbrock{d}"),
            TestFunction::StyblinskiTang(d) => format!("styblinski_tang{d}"),
            TestFunction::Hartmann6Simplex => "hartmann6_simplex".into(),
            TestFunction::MixedHartmann3 => "mixed_hartmann3".into(),
        }
    }

    /// Input dimension.
    pub fn dims(&self) -> usize {
        match self {
            TestFunction::Branin => 2,
            TestFunction::Hartmann3 => 3,
            TestFunction::Hartmann6 | TestFunction::Hartmann6Simplex => 6,
            TestFunction::MixedHartmann3 => 4,
            TestFunction::Ackley(d)
            | TestFunction::Michalewicz(d)
            | TestFunction::Rosenbrock(d)
            | TestFunction::StyblinskiTang(d) => *d,
        }
    }

    /// Search box, one `(min, max)` per dimension.
    pub fn bounds(&self) -> Vec<(f64, f64)> {
        let d = self.dims();
        match self {
            TestFunction::Branin => vec![(-5.0, 10.0), (0.0, 15.0)],
            TestFunction::Hartmann3 | TestFunction::Hartmann6 | TestFunction::Hartmann6Simplex => {
                vec![(0.0, 1.0); d]
            }
            TestFunction::MixedHartmann3 => vec![(0.0, 2.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)],
            TestFunction::Ackley(_) => vec![(-32.768, 32.768); d],
            TestFunction::Michalewicz(_) => vec![(0.0, PI); d],
            TestFunction::Rosenbrock(_) => vec![(-5.0, 10.0); d],
            TestFunction::StyblinskiTang(_) => vec![(-5.0, 5.0); d],
        }
    }

    /// The function value at `x` (which must have [`TestFunction::dims`] entries).
    pub fn value(&self, x: &[f64]) -> f64 {
        match self {
            TestFunction::Branin => {
                let (x1, x2) = (x[0], x[1]);
                let b = 5.1 / (4.0 * PI * PI);
                let c = 5.0 / PI;
                let t = 1.0 / (8.0 * PI);
                (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
            }
            TestFunction::Hartmann3 => hartmann(x, &HARTMANN3_A, &HARTMANN3_P),
            TestFunction::Hartmann6 | TestFunction::Hartmann6Simplex => {
                hartmann(x, &HARTMANN6_A, &HARTMANN6_P)
            }
            TestFunction::MixedHartmann3 => {
                let variant = x[0].round().clamp(0.0, 2.0) as usize;
                let u = match variant {
                    0 => [x[1], x[2], x[3]],
                    1 => [1.0 - x[1], 1.0 - x[2], 1.0 - x[3]],
                    _ => [x[2], x[3], x[1]],
                };
                hartmann(&u, &HARTMANN3_A, &HARTMANN3_P) + MIXED_VARIANT_OFFSETS[variant]
            }
            TestFunction::Ackley(d) => {
                let n = *d as f64;
                let sq = x.iter().map(|v| v * v).sum::<f64>() / n;
                let cos = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / n;
                -20.0 * (-0.2 * sq.sqrt()).exp() - cos.exp() + 20.0 + std::f64::consts::E
            }
            TestFunction::Michalewicz(_) => -x
                .iter()
                .enumerate()
                .map(|(i, v)| v.sin() * ((i as f64 + 1.0) * v * v / PI).sin().powi(20))
                .sum::<f64>(),
            TestFunction::Rosenbrock(_) => x
                .windows(2)
                .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (w[0] - 1.0).powi(2))
                .sum(),
            TestFunction::StyblinskiTang(_) => {
                0.5 * x
                    .iter()
                    .map(|v| v.powi(4) - 16.0 * v * v + 5.0 * v)
                    .sum::<f64>()
            }
        }
    }

    /// The global minimum value `f*`.
    pub fn optimum_value(&self) -> f64 {
        match self {
            TestFunction::Branin => 0.397_887_357_729_738,
            TestFunction::Hartmann3 | TestFunction::MixedHartmann3 => -3.862_779_787_332_77,
            TestFunction::Hartmann6Simplex => HARTMANN6_SIMPLEX_MIN,
            TestFunction::Hartmann6 => -3.322_368_011_391_339,
            TestFunction::Ackley(_) | TestFunction::Rosenbrock(_) => 0.0,
            TestFunction::Michalewicz(d) => match d {
                2 => -1.801_303_410_098_554_8,
                5 => -4.687_658_179_087_978,
                10 => -9.660_151_715_641_35,
                // No published value: the sum of the best per-coordinate terms is a bound.
                _ => -(*d as f64) * 0.966,
            },
            TestFunction::StyblinskiTang(d) => STYBLINSKI_TANG_MIN * *d as f64,
        }
    }

    /// A known global minimiser (one of them where there are several).
    pub fn argmin(&self) -> Vec<f64> {
        let d = self.dims();
        match self {
            TestFunction::Branin => vec![PI, 2.275],
            TestFunction::Hartmann3 => HARTMANN3_ARGMIN.to_vec(),
            TestFunction::Hartmann6Simplex => HARTMANN6_SIMPLEX_ARGMIN.to_vec(),
            TestFunction::MixedHartmann3 => {
                let mut x = vec![1.0];
                x.extend(HARTMANN3_ARGMIN.iter().map(|v| 1.0 - v));
                x
            }
            TestFunction::Hartmann6 => {
                vec![0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
            }
            TestFunction::Ackley(_) => vec![0.0; d],
            TestFunction::Michalewicz(_) => {
                // Published minimiser of the 10-D problem (its first five coordinates solve the
                // 5-D one); coordinates 2, 6 and 10 are exactly π/2.
                const M: [f64; 10] = [
                    2.202_905_5,
                    FRAC_PI_2,
                    1.284_991_6,
                    1.923_058_5,
                    1.720_469_9,
                    FRAC_PI_2,
                    1.454_413_8,
                    1.756_086_5,
                    1.655_717_2,
                    FRAC_PI_2,
                ];
                M.iter().copied().cycle().take(d).collect()
            }
            TestFunction::Rosenbrock(_) => vec![1.0; d],
            TestFunction::StyblinskiTang(_) => vec![STYBLINSKI_TANG_ARGMIN; d],
        }
    }

    /// Spread of the function over its domain: the standard deviation of `f` at 1024 scrambled
    /// Sobol points (deterministic). Noise levels are quoted relative to it.
    pub fn output_spread(&self) -> f64 {
        let bounds = self.bounds();
        let values: Vec<f64> = crate::sobol::sobol_points(1024, self.dims(), 0x5eed)
            .iter()
            .map(|u| {
                let x: Vec<f64> = u
                    .iter()
                    .zip(&bounds)
                    .map(|(v, (lo, hi))| lo + v * (hi - lo))
                    .collect();
                self.value(&self.feasible_version(x))
            })
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
    }

    /// A point of the box moved onto the problem's feasible set: normalised to sum 1 on the
    /// simplex, category rounded for the mixed problem, unchanged otherwise.
    fn feasible_version(&self, mut x: Vec<f64>) -> Vec<f64> {
        match self {
            TestFunction::Hartmann6Simplex => {
                let sum: f64 = x.iter().sum();
                if sum > 0.0 {
                    x.iter_mut().for_each(|v| *v /= sum);
                }
            }
            TestFunction::MixedHartmann3 => x[0] = x[0].round(),
            _ => {}
        }
        x
    }

    /// The [`SearchSpace`] refining the box: the simplex equality for
    /// [`TestFunction::Hartmann6Simplex`], the categorical variant for
    /// [`TestFunction::MixedHartmann3`], `None` for the plain box problems.
    pub fn search_space(&self) -> Option<SearchSpace> {
        let names: Vec<String> = self.parameters().into_iter().map(|p| p.name).collect();
        match self {
            TestFunction::Hartmann6Simplex => Some(SearchSpace {
                constraints: vec![Constraint::LinearEquality {
                    name: "simplex".into(),
                    coefficients: names.into_iter().map(|n| (n, 1.0)).collect(),
                    value: 1.0,
                }],
                ..SearchSpace::default()
            }),
            TestFunction::MixedHartmann3 => Some(SearchSpace {
                kinds: [(
                    names[0].clone(),
                    ParameterKind::Categorical {
                        categories: vec!["shifted".into(), "reflected".into(), "rotated".into()],
                        descriptors: None,
                    },
                )]
                .into_iter()
                .collect(),
                ..SearchSpace::default()
            }),
            _ => None,
        }
    }

    /// A planner for this function: `config` (whose parameters should be
    /// [`TestFunction::parameters`]) with the function's [`TestFunction::search_space`].
    pub fn planner(&self, config: PlannerConfig) -> Result<Planner, PlanError> {
        match self.search_space() {
            Some(space) => Planner::with_space(config, space),
            None => Planner::new(config),
        }
    }

    /// Planner parameters spanning the function's box (named `x0`, `x1`, …).
    pub fn parameters(&self) -> Vec<ParameterDef> {
        self.bounds()
            .into_iter()
            .enumerate()
            .map(|(i, (min, max))| ParameterDef {
                name: format!("x{i}"),
                unit: "1".into(),
                min,
                max,
                log_scale: false,
            })
            .collect()
    }
}

/// One benchmark configuration: a test function and an observation-noise level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Problem {
    /// The function minimised.
    pub function: TestFunction,
    /// Noise standard deviation relative to [`TestFunction::output_spread`] (0 = noise-free).
    pub relative_noise: f64,
}

impl Problem {
    /// Name for tables and JSON keys: the function's name, with `_noisy` if noise is added.
    pub fn name(&self) -> String {
        if self.relative_noise > 0.0 {
            format!("{}_noisy", self.function.name())
        } else {
            self.function.name()
        }
    }

    /// Evaluation budget of the protocol: 50 for d ≤ 3, 100 above.
    pub fn standard_budget(&self) -> usize {
        if self.function.dims() <= 3 {
            50
        } else {
            100
        }
    }

    /// Initial design size of the protocol: `max(5, 2d)`.
    pub fn initial_design(&self) -> usize {
        (2 * self.function.dims()).max(5)
    }
}

/// The standard suite: Branin, Hartmann-3, Hartmann-6, Ackley-6, Michalewicz-5, Rosenbrock-6
/// and Styblinski–Tang-8, each noise-free and with 2 % noise.
pub fn standard_problems() -> Vec<Problem> {
    let functions = [
        TestFunction::Branin,
        TestFunction::Hartmann3,
        TestFunction::Hartmann6,
        TestFunction::Ackley(6),
        TestFunction::Michalewicz(5),
        TestFunction::Rosenbrock(6),
        TestFunction::StyblinskiTang(8),
    ];
    let mut problems = Vec::new();
    for relative_noise in [0.0, 0.02] {
        for &function in &functions {
            problems.push(Problem {
                function,
                relative_noise,
            });
        }
    }
    problems
}

/// The structured problems (noise-free): Hartmann-6 on the simplex and mixed Hartmann-3.
pub fn structured_problems() -> Vec<Problem> {
    [TestFunction::Hartmann6Simplex, TestFunction::MixedHartmann3]
        .into_iter()
        .map(|function| Problem {
            function,
            relative_noise: 0.0,
        })
        .collect()
}

/// The whole single-objective suite: [`standard_problems`] then [`structured_problems`].
pub fn suite_problems() -> Vec<Problem> {
    let mut problems = standard_problems();
    problems.extend(structured_problems());
    problems
}

/// The result of one optimisation run.
#[derive(Debug, Clone, PartialEq)]
pub struct RegretRun {
    /// `log10(max(best-so-far regret, REGRET_FLOOR))` after each evaluation.
    pub log10_regret: Vec<f64>,
    /// Mean suggestion time of the model-based steps, in milliseconds (0 if none).
    pub mean_ask_ms: f64,
}

impl RegretRun {
    /// The last entry of the regret curve.
    pub fn final_log10_regret(&self) -> f64 {
        self.log10_regret.last().copied().unwrap_or(f64::NAN)
    }

    /// Area under the log10 regret curve, normalised by its length.
    pub fn area_under_curve(&self) -> f64 {
        self.log10_regret.iter().sum::<f64>() / self.log10_regret.len().max(1) as f64
    }
}

/// Purpose tag of the observation-noise stream.
const NOISE_PURPOSE: u64 = 0x0153;

/// The generator of [`run_regret`]'s observation noise for `seed`.
fn noise_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(crate::stats::derive_seed(seed, 0, NOISE_PURPOSE))
}

/// The standard-normal draws `z_0 … z_{n−1}` that [`run_regret`] adds, times the noise standard
/// deviation, to evaluations `0 … n−1` for `seed`; exported so that other planners can be run
/// on exactly the same noisy observations.
pub fn noise_draws(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = noise_rng(seed);
    (0..n)
        .map(|_| crate::stats::standard_normal(&mut rng))
        .collect()
}

/// Runs the planner on `problem` for `budget` evaluations with the given seed (which seeds both
/// the planner and the noise, so runs with the same seed are paired).
pub fn run_regret(problem: &Problem, budget: usize, seed: u64) -> Result<RegretRun, PlanError> {
    let function = problem.function;
    let noise_sd = problem.relative_noise * function.output_spread();
    let config = PlannerConfig {
        parameters: function.parameters(),
        objectives: vec![Objective::new("f", ObjectiveGoal::Minimize)],
        initial_design: problem.initial_design(),
        seed,
    };
    let mut planner = function.planner(config)?;
    let mut noise_rng = noise_rng(seed);
    let optimum = function.optimum_value();
    let mut best = f64::INFINITY;
    let mut curve = Vec::with_capacity(budget);
    let (mut ask_seconds, mut model_steps) = (0.0, 0usize);
    for _ in 0..budget {
        let start = Instant::now();
        let suggestion = planner.ask()?;
        if suggestion.strategy == crate::STRATEGY_BAYES {
            ask_seconds += start.elapsed().as_secs_f64();
            model_steps += 1;
        }
        let truth = function.value(&suggestion.x);
        let observed = truth + noise_sd * crate::stats::standard_normal(&mut noise_rng);
        best = best.min(truth);
        curve.push((best - optimum).max(REGRET_FLOOR).log10());
        planner.tell(Observation {
            x: suggestion.x,
            y: vec![Some(observed)],
            failed: false,
        })?;
    }
    Ok(RegretRun {
        log10_regret: curve,
        mean_ask_ms: if model_steps > 0 {
            1e3 * ask_seconds / model_steps as f64
        } else {
            0.0
        },
    })
}

/// Median of a list (NaN if empty); the list is sorted in place.
pub fn median(values: &mut [f64]) -> f64 {
    quantile(values, 0.5)
}

/// Empirical quantile with linear interpolation (NaN if empty); the list is sorted in place.
pub fn quantile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    values[low] + (position - low as f64) * (values[high] - values[low])
}

/// Per-suggestion latency of [`Planner::ask`].
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// Median over the repetitions, in milliseconds.
    pub median_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
}

/// Times `ask()` with `n` observations of `function` already told (Sobol points and their
/// values, `q = 1`, one maximised objective: `−f`), on the calling thread, `repetitions` times
/// with different seeds.
pub fn measure_latency(
    function: TestFunction,
    n: usize,
    repetitions: usize,
) -> Result<Latency, PlanError> {
    measure_batch_latency(function, n, 1, repetitions)
}

/// Times one `ask_batch(q, &[])` (for `q = 1` the same as `ask()`) with `n` observations of
/// `function` already told, as [`measure_latency`] does.
pub fn measure_batch_latency(
    function: TestFunction,
    n: usize,
    q: usize,
    repetitions: usize,
) -> Result<Latency, PlanError> {
    let mut times = Vec::with_capacity(repetitions);
    for rep in 0..repetitions {
        let config = PlannerConfig {
            parameters: function.parameters(),
            objectives: vec![Objective::new("y", ObjectiveGoal::Maximize)],
            initial_design: n,
            seed: 1000 + rep as u64,
        };
        let mut planner = Planner::new(config)?;
        for _ in 0..n {
            let s = planner.ask()?;
            let y = -function.value(&s.x);
            planner.tell(Observation {
                x: s.x,
                y: vec![Some(y)],
                failed: false,
            })?;
        }
        let start = Instant::now();
        let batch = planner.ask_batch(q, &[])?;
        times.push(1e3 * start.elapsed().as_secs_f64());
        if batch
            .iter()
            .any(|s| s.strategy != crate::STRATEGY_BAYES && s.strategy != crate::STRATEGY_BATCH)
        {
            return Err(PlanError::Numerical(
                "latency run did not reach the model-based step".into(),
            ));
        }
    }
    Ok(Latency {
        median_ms: quantile(&mut times.clone(), 0.5),
        p95_ms: quantile(&mut times, 0.95),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_attains_its_optimum_at_its_argmin() {
        let functions = [
            TestFunction::Branin,
            TestFunction::Hartmann3,
            TestFunction::Hartmann6,
            TestFunction::Ackley(6),
            TestFunction::Michalewicz(5),
            TestFunction::Michalewicz(2),
            TestFunction::Rosenbrock(6),
            TestFunction::StyblinskiTang(8),
        ];
        for f in functions {
            let x = f.argmin();
            assert_eq!(x.len(), f.dims());
            for (v, (lo, hi)) in x.iter().zip(f.bounds()) {
                assert!(
                    (lo..=hi).contains(v),
                    "{}: argmin outside the box",
                    f.name()
                );
            }
            let value = f.value(&x);
            // The published minimisers are rounded to about six digits.
            assert!(
                (value - f.optimum_value()).abs() < 1e-5 * (1.0 + f.optimum_value().abs()),
                "{}: f(argmin) = {value}, f* = {}",
                f.name(),
                f.optimum_value()
            );
            // A nearby point is no better (it is a minimum, not just a matching number).
            let nudged: Vec<f64> = x.iter().map(|v| v + 1e-3).collect();
            assert!(f.value(&nudged) >= f.optimum_value() - 1e-9, "{}", f.name());
        }
        // Branin's other two minimisers.
        for x in [[-PI, 12.275], [9.424_78, 2.475]] {
            assert!((TestFunction::Branin.value(&x) - 0.397_887).abs() < 1e-5);
        }
        // Closed forms: Ackley and Rosenbrock vanish exactly, Styblinski–Tang's minimiser is
        // a root of the derivative 2x³ − 16x + 5/2.
        assert!(TestFunction::Ackley(6).value(&[0.0; 6]).abs() < 1e-14);
        assert_eq!(TestFunction::Rosenbrock(6).value(&[1.0; 6]), 0.0);
        let s = STYBLINSKI_TANG_ARGMIN;
        assert!((2.0 * s.powi(3) - 16.0 * s + 2.5).abs() < 1e-12);
    }

    #[test]
    fn structured_problems_attain_their_optimum_and_define_their_spaces() {
        // Simplex: the computed minimiser lies on the simplex and beats every lattice point
        // (spacing 1/10) and a dense neighbourhood on the simplex.
        let f = TestFunction::Hartmann6Simplex;
        let x = f.argmin();
        assert!((x.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((f.value(&x) - f.optimum_value()).abs() < 1e-12);
        let mut lattice_best = f64::INFINITY;
        let n = 10usize;
        for a in 0..=n {
            for b in 0..=n - a {
                for c in 0..=n - a - b {
                    for d in 0..=n - a - b - c {
                        for e in 0..=n - a - b - c - d {
                            let g = n - a - b - c - d - e;
                            let p: Vec<f64> = [a, b, c, d, e, g]
                                .iter()
                                .map(|&k| k as f64 / n as f64)
                                .collect();
                            lattice_best = lattice_best.min(f.value(&p));
                        }
                    }
                }
            }
        }
        assert!(lattice_best > f.optimum_value());
        for (i, j) in [(3, 4), (4, 5), (3, 5), (0, 3), (1, 4), (2, 5)] {
            // Moving mass 1e-3 from coordinate j to i keeps the point on the simplex.
            let mut y = x.clone();
            y[i] += 1e-3;
            y[j] -= 1e-3;
            assert!(f.value(&y) > f.optimum_value(), "{i} {j}");
        }
        let space = f.search_space().unwrap();
        assert!(matches!(
            &space.constraints[..],
            [Constraint::LinearEquality { value, coefficients, .. }]
                if *value == 1.0 && coefficients.len() == 6
        ));
        // Mixed: variant 1 at the reflected Hartmann-3 minimiser; the other variants are worse
        // everywhere by at least their offset.
        let m = TestFunction::MixedHartmann3;
        let x = m.argmin();
        assert!((m.value(&x) - m.optimum_value()).abs() < 1e-5);
        for variant in [0.0, 2.0] {
            for u in crate::sobol::sobol_points(256, 3, 9) {
                let y = [variant, u[0], u[1], u[2]];
                assert!(m.value(&y) >= m.optimum_value() + 0.5 - 1e-9);
            }
        }
        assert!(matches!(
            m.search_space().unwrap().kinds.get("x0"),
            Some(ParameterKind::Categorical { categories, .. }) if categories.len() == 3
        ));
        assert!(TestFunction::Branin.search_space().is_none());
        // Both run through the regret harness and propose only feasible points.
        for problem in structured_problems() {
            let run = run_regret(&problem, problem.initial_design() + 1, 0).unwrap();
            assert!(run.log10_regret.iter().all(|r| r.is_finite()));
        }
    }

    #[test]
    fn quantiles_interpolate() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(median(&mut v), 3.0);
        assert!((quantile(&mut v, 0.95) - 4.8).abs() < 1e-12);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn regret_curves_are_monotone_and_paired_seeds_repeat() {
        let problem = Problem {
            function: TestFunction::Branin,
            relative_noise: 0.02,
        };
        let run = run_regret(&problem, 9, 3).unwrap();
        assert_eq!(run.log10_regret.len(), 9);
        assert!(run.log10_regret.windows(2).all(|w| w[1] <= w[0]));
        assert!(run.area_under_curve() >= run.final_log10_regret());
        let again = run_regret(&problem, 9, 3).unwrap();
        assert_eq!(run.log10_regret, again.log10_regret);
    }
}
