//! The benchmark suite as data: which problems, which budgets, and the runners whose results
//! `athanor bench planner` (and the `bench` example) print, plot and write as JSON.
//!
//! * **Regret** ([`run_problem`]): for each selected single-objective problem
//!   ([`suite_problems`]: the standard box problems noise-free and with 2 % noise, plus the
//!   mixture and mixed categorical problems), one [`run_regret`] per paired seed, with the
//!   issue's protocol (initial design `max(5, 2d)`, budget 50 for `d ≤ 3` and 100 above);
//!   `quick` halves the model-based steps.
//! * **Latency** ([`latency_grid`]): median and 95th percentile of one suggestion for
//!   `n ∈ {20, 100, 500}` observations × `d ∈ {2, 6, 10}` (Branin, Hartmann-6, Ackley-10) ×
//!   batch size `q ∈ {1, 4}`, one thread.
//!
//! Everything is deterministic for given seeds except the timings.

use super::{
    measure_batch_latency, median, quantile, run_regret, suite_problems, Latency, Problem,
    TestFunction,
};
use crate::PlanError;
use serde_json::{json, Map, Value};

/// The number of paired seeds for a full run.
pub const FULL_SEEDS: u64 = 20;
/// Paired seeds of a `--quick` run.
pub const QUICK_SEEDS: u64 = 3;

/// Evaluation budget of `problem`: `initial design + model_steps` when `model_steps` is given,
/// else the budget ([`Problem::standard_budget`]), with half the model-based steps when
/// `quick` (enough to separate good from bad in a few minutes).
pub fn budget(problem: &Problem, quick: bool, model_steps: Option<usize>) -> usize {
    let init = problem.initial_design();
    if let Some(steps) = model_steps {
        return init + steps;
    }
    let full = problem.standard_budget();
    if quick {
        init + (full - init) / 2
    } else {
        full
    }
}

/// The suite's problems whose names are in `names` (all of them when `names` is empty), in
/// suite order. An unknown name is an error that lists the known ones.
pub fn select_problems(names: &[String]) -> Result<Vec<Problem>, PlanError> {
    let all = suite_problems();
    if let Some(unknown) = names.iter().find(|n| !all.iter().any(|p| &p.name() == *n)) {
        let known: Vec<String> = all.iter().map(Problem::name).collect();
        return Err(PlanError::InvalidConfig(format!(
            "unknown benchmark problem `{unknown}` (known: {})",
            known.join(", ")
        )));
    }
    Ok(all
        .into_iter()
        .filter(|p| names.is_empty() || names.contains(&p.name()))
        .collect())
}

/// All paired-seed runs of one problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemRuns {
    /// The problem.
    pub problem: Problem,
    /// Evaluations per run.
    pub budget: usize,
    /// The seeds, in run order.
    pub seeds: Vec<u64>,
    /// Per seed, `log10` best-so-far regret after each evaluation.
    pub curves: Vec<Vec<f64>>,
    /// Per seed, mean milliseconds of a model-based suggestion.
    pub mean_ask_ms: Vec<f64>,
}

impl ProblemRuns {
    /// Per seed, the final log10 regret.
    pub fn finals(&self) -> Vec<f64> {
        self.curves
            .iter()
            .map(|c| c.last().copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// Per seed, the area under the log10 regret curve (mean over evaluations).
    pub fn aucs(&self) -> Vec<f64> {
        self.curves
            .iter()
            .map(|c| c.iter().sum::<f64>() / c.len().max(1) as f64)
            .collect()
    }

    /// Median final log10 regret over seeds.
    pub fn median_final(&self) -> f64 {
        median(&mut self.finals())
    }

    /// Median area under the curve over seeds.
    pub fn median_auc(&self) -> f64 {
        median(&mut self.aucs())
    }

    /// Median over seeds of the mean model-based suggestion time, milliseconds.
    pub fn median_ask_ms(&self) -> f64 {
        median(&mut self.mean_ask_ms.clone())
    }

    /// The `q`-quantile over seeds of the log10 regret after each evaluation (`q = 0.5`: the
    /// median curve that the plot shows).
    pub fn quantile_curve(&self, q: f64) -> Vec<f64> {
        (0..self.budget)
            .map(|i| {
                let mut at: Vec<f64> = self
                    .curves
                    .iter()
                    .filter_map(|c| c.get(i))
                    .copied()
                    .collect();
                quantile(&mut at, q)
            })
            .collect()
    }

    /// Everything as JSON: settings, per-seed curves and the summary figures.
    pub fn to_json(&self) -> Value {
        let function = self.problem.function;
        json!({
            "name": self.problem.name(),
            "dims": function.dims(),
            "relative_noise": self.problem.relative_noise,
            "optimum": function.optimum_value(),
            "initial_design": self.problem.initial_design(),
            "budget": self.budget,
            "seeds": self.seeds,
            "median_final_log10_regret": self.median_final(),
            "median_auc": self.median_auc(),
            "median_ask_ms": self.median_ask_ms(),
            "median_curve": self.quantile_curve(0.5),
            "curves": self.curves,
        })
    }
}

/// Runs `problem` for each seed (paired: seed `s` sees the same design and noise stream in
/// every configuration).
pub fn run_problem(
    problem: &Problem,
    budget: usize,
    seeds: &[u64],
) -> Result<ProblemRuns, PlanError> {
    let mut curves = Vec::with_capacity(seeds.len());
    let mut mean_ask_ms = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        let run = run_regret(problem, budget, seed)?;
        curves.push(run.log10_regret);
        mean_ask_ms.push(run.mean_ask_ms);
    }
    Ok(ProblemRuns {
        problem: *problem,
        budget,
        seeds: seeds.to_vec(),
        curves,
        mean_ask_ms,
    })
}

/// One cell of the latency grid.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyCell {
    /// The function whose observations the planner holds.
    pub function: TestFunction,
    /// Observations already told.
    pub n: usize,
    /// Batch size of the timed `ask_batch`.
    pub q: usize,
    /// Repetitions (different seeds) timed.
    pub repetitions: usize,
    /// The timings.
    pub latency: Latency,
}

impl LatencyCell {
    /// JSON key stem, e.g. `d6_n100_q4`.
    pub fn key(&self) -> String {
        format!("d{}_n{}_q{}", self.function.dims(), self.n, self.q)
    }
}

/// The functions of the latency grid, one per dimension `d ∈ {2, 6, 10}`.
pub const LATENCY_FUNCTIONS: [TestFunction; 3] = [
    TestFunction::Branin,
    TestFunction::Hartmann6,
    TestFunction::Ackley(10),
];
/// Observation counts of the latency grid.
pub const LATENCY_SIZES: [usize; 3] = [20, 100, 500];
/// Batch sizes of the latency grid.
pub const LATENCY_BATCHES: [usize; 2] = [1, 4];

/// Times every cell of the grid `d ∈ {2, 6, 10} × n ∈ sizes × q ∈ {1, 4}` (the sizes
/// are [`LATENCY_SIZES`]), calling `on_cell` as each finishes (for progress output).
/// Repetitions: 21 / 11 / 5 for n < 100 / n < 500 / larger (5 / 5 / 2 when `quick`).
pub fn latency_grid(
    sizes: &[usize],
    quick: bool,
    mut on_cell: impl FnMut(&LatencyCell),
) -> Result<Vec<LatencyCell>, PlanError> {
    let repetitions = |n: usize| match (quick, n) {
        (true, n) if n >= 500 => 2,
        (true, _) => 5,
        (false, n) if n >= 500 => 5,
        (false, n) if n >= 100 => 11,
        (false, _) => 21,
    };
    let mut cells = Vec::new();
    for function in LATENCY_FUNCTIONS {
        for &n in sizes {
            for q in LATENCY_BATCHES {
                let reps = repetitions(n);
                let cell = LatencyCell {
                    function,
                    n,
                    q,
                    repetitions: reps,
                    latency: measure_batch_latency(function, n, q, reps)?,
                };
                on_cell(&cell);
                cells.push(cell);
            }
        }
    }
    Ok(cells)
}

/// Runs every problem in `problems` for the `seeds`, handing a table (header, then one row per
/// problem as it finishes) to `line`; returns the runs.
pub fn run_regret_suite(
    problems: &[Problem],
    seeds: &[u64],
    quick: bool,
    model_steps: Option<usize>,
    line: &mut dyn FnMut(String),
) -> Result<Vec<ProblemRuns>, PlanError> {
    line(format!(
        "Regret ({} paired seeds; best-so-far log10 regret of the noise-free function)",
        seeds.len()
    ));
    line(format!(
        "{:<24} {:>3} {:>7} {:>14} {:>10} {:>10}",
        "problem", "d", "budget", "median final", "median AUC", "ask ms"
    ));
    let mut all = Vec::with_capacity(problems.len());
    for problem in problems {
        let runs = run_problem(problem, budget(problem, quick, model_steps), seeds)?;
        line(format!(
            "{:<24} {:>3} {:>7} {:>14.3} {:>10.3} {:>10.1}",
            problem.name(),
            problem.function.dims(),
            runs.budget,
            runs.median_final(),
            runs.median_auc(),
            runs.median_ask_ms()
        ));
        all.push(runs);
    }
    Ok(all)
}

/// The summary figures of regret runs, keyed `{problem}_median_final_log10_regret` and
/// `{problem}_auc` (median over seeds).
pub fn regret_figures(runs: &[ProblemRuns]) -> Map<String, Value> {
    let mut figures = Map::new();
    for r in runs {
        let name = r.problem.name();
        figures.insert(
            format!("{name}_median_final_log10_regret"),
            json!(r.median_final()),
        );
        figures.insert(format!("{name}_auc"), json!(r.median_auc()));
    }
    figures
}

/// Times the latency grid ([`latency_grid`]) handing a table to `line`; returns the cells and
/// their figures keyed `latency_{d…_n…_q…}_median_ms` / `_p95_ms`.
pub fn run_latency_suite(
    sizes: &[usize],
    quick: bool,
    line: &mut dyn FnMut(String),
) -> Result<(Vec<LatencyCell>, Map<String, Value>), PlanError> {
    line("Suggestion latency (one thread), milliseconds".into());
    line(format!(
        "{:<12} {:>3} {:>5} {:>3} {:>5} {:>10} {:>10}",
        "function", "d", "n", "q", "reps", "median", "p95"
    ));
    let cells = latency_grid(sizes, quick, |c| {
        line(format!(
            "{:<12} {:>3} {:>5} {:>3} {:>5} {:>10.2} {:>10.2}",
            c.function.name(),
            c.function.dims(),
            c.n,
            c.q,
            c.repetitions,
            c.latency.median_ms,
            c.latency.p95_ms
        ))
    })?;
    let mut figures = Map::new();
    for c in &cells {
        figures.insert(
            format!("latency_{}_median_ms", c.key()),
            json!(c.latency.median_ms),
        );
        figures.insert(
            format!("latency_{}_p95_ms", c.key()),
            json!(c.latency.p95_ms),
        );
    }
    Ok((cells, figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_follow_the_protocol() {
        let branin = Problem {
            function: TestFunction::Branin,
            relative_noise: 0.0,
        };
        let hartmann = Problem {
            function: TestFunction::Hartmann6,
            relative_noise: 0.0,
        };
        assert_eq!(budget(&branin, false, None), 50);
        assert_eq!(budget(&hartmann, false, None), 100);
        // Quick: initial design (5, 12) plus half the model-based steps.
        assert_eq!(budget(&branin, true, None), 5 + 22);
        assert_eq!(budget(&hartmann, true, None), 12 + 44);
        assert_eq!(budget(&hartmann, true, Some(3)), 15);
    }

    #[test]
    fn problems_are_selected_by_name_in_suite_order() {
        let all = select_problems(&[]).unwrap();
        assert_eq!(all.len(), 16);
        let names = ["mixed_hartmann3".to_string(), "branin_noisy".to_string()];
        let some = select_problems(&names).unwrap();
        let got: Vec<String> = some.iter().map(Problem::name).collect();
        assert_eq!(got, ["branin_noisy", "mixed_hartmann3"]);
        let err = select_problems(&["nope".to_string()]).unwrap_err();
        assert!(err.to_string().contains("nope") && err.to_string().contains("hartmann6_simplex"));
    }

    #[test]
    fn summaries_are_medians_over_seeds() {
        let problem = Problem {
            function: TestFunction::Branin,
            relative_noise: 0.0,
        };
        let runs = ProblemRuns {
            problem,
            budget: 2,
            seeds: vec![0, 1, 2],
            curves: vec![vec![1.0, 0.0], vec![2.0, 1.0], vec![3.0, -1.0]],
            mean_ask_ms: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(runs.finals(), [0.0, 1.0, -1.0]);
        assert_eq!(runs.median_final(), 0.0);
        assert_eq!(runs.median_auc(), 1.0);
        assert_eq!(runs.quantile_curve(0.5), [2.0, 0.0]);
        let doc = runs.to_json();
        assert_eq!(doc["curves"].as_array().unwrap().len(), 3);
        assert_eq!(doc["name"], "branin");
    }
}
