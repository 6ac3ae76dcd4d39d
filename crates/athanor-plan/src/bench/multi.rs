//! Multi-objective benchmark problems and the hypervolume runner.
//!
//! * **ZDT1** (Zitzler, Deb & Thiele 2000, "Comparison of multiobjective evolutionary
//!   algorithms: empirical results", Evol. Comput. 8(2)): `x ∈ [0,1]^d`, both minimised,
//!   `f₁ = x₁`, `g = 1 + 9/(d−1) Σ_{i≥2} x_i`, `f₂ = g (1 − √(f₁/g))`; the Pareto front is
//!   `f₂ = 1 − √f₁` (at `g = 1`). With reference point `(11, 11)` its hypervolume is
//!   `121 − ∫₀¹ (1 − √t) dt − 10·0 … = 110 + ∫₀¹ (10 + √t) dt = 120 + 2/3`.
//! * **Branin–Currin** (as in BoTorch's test suite, Daulton et al. 2020): `x ∈ [0,1]²`, both
//!   minimised, `f₁` = Branin on `(15x₁ − 5, 15x₂)`, `f₂` = Currin's exponential function
//!   `(1 − e^{−1/(2x₂)}) (2300x₁³ + 1900x₁² + 2092x₁ + 60)/(100x₁³ + 500x₁² + 4x₁ + 20)`;
//!   reference point `(18, 6)`, maximal hypervolume ≈ 59.36 (BoTorch).
//!
//! The runner reports the dominated hypervolume of everything observed after each experiment.

use crate::pareto::hypervolume;
use crate::{
    Acquisition, Objective, ObjectiveGoal, Observation, PlanError, Planner, PlannerConfig,
};
use athanor_model::ParameterDef;

/// A two-objective test problem (both objectives minimised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiObjectiveProblem {
    /// ZDT1 in `d ≥ 2` dimensions.
    Zdt1(usize),
    /// Branin–Currin, 2-D.
    BraninCurrin,
}

impl MultiObjectiveProblem {
    /// Short name for tables and JSON keys, e.g. `zdt1_6`.
    pub fn name(&self) -> String {
        match self {
            MultiObjectiveProblem::Zdt1(d) => format!("zdt1_{d}"),
            MultiObjectiveProblem::BraninCurrin => "branin_currin".into(),
        }
    }

    /// Input dimension.
    pub fn dims(&self) -> usize {
        match self {
            MultiObjectiveProblem::Zdt1(d) => (*d).max(2),
            MultiObjectiveProblem::BraninCurrin => 2,
        }
    }

    /// The two objective values at `x ∈ [0,1]^d` (both minimised).
    pub fn values(&self, x: &[f64]) -> [f64; 2] {
        match self {
            MultiObjectiveProblem::Zdt1(_) => {
                let d = x.len();
                let f1 = x[0];
                let g = 1.0 + 9.0 / (d as f64 - 1.0) * x[1..].iter().sum::<f64>();
                [f1, g * (1.0 - (f1 / g).sqrt())]
            }
            MultiObjectiveProblem::BraninCurrin => {
                let (u, v) = (15.0 * x[0] - 5.0, 15.0 * x[1]);
                let pi = std::f64::consts::PI;
                let branin = (v - 5.1 / (4.0 * pi * pi) * u * u + 5.0 / pi * u - 6.0).powi(2)
                    + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * u.cos()
                    + 10.0;
                let (a, b) = (x[0], x[1]);
                let factor = if b > 0.0 {
                    1.0 - (-1.0 / (2.0 * b)).exp()
                } else {
                    1.0
                };
                let currin = factor * (2300.0 * a.powi(3) + 1900.0 * a * a + 2092.0 * a + 60.0)
                    / (100.0 * a.powi(3) + 500.0 * a * a + 4.0 * a + 20.0);
                [branin, currin]
            }
        }
    }

    /// Reference point of the hypervolume (objective units, both minimised).
    pub fn reference(&self) -> [f64; 2] {
        match self {
            MultiObjectiveProblem::Zdt1(_) => [11.0, 11.0],
            MultiObjectiveProblem::BraninCurrin => [18.0, 6.0],
        }
    }

    /// Hypervolume of the true Pareto front with respect to [`Self::reference`] (ZDT1 in
    /// closed form; Branin–Currin as published by BoTorch).
    pub fn max_hypervolume(&self) -> f64 {
        match self {
            MultiObjectiveProblem::Zdt1(_) => 120.0 + 2.0 / 3.0,
            MultiObjectiveProblem::BraninCurrin => 59.360_118_748_677_46,
        }
    }

    /// Search parameters `x1…xd` on `[0, 1]`.
    pub fn parameters(&self) -> Vec<ParameterDef> {
        (0..self.dims())
            .map(|i| ParameterDef {
                name: format!("x{}", i + 1),
                unit: "1".into(),
                min: 0.0,
                max: 1.0,
                log_scale: false,
            })
            .collect()
    }

    /// Hypervolume dominated by the given outcomes (minimised values).
    pub fn hypervolume_of(&self, outcomes: &[[f64; 2]]) -> f64 {
        let r = self.reference();
        let points: Vec<Vec<f64>> = outcomes.iter().map(|y| vec![-y[0], -y[1]]).collect();
        hypervolume(&points, &[-r[0], -r[1]])
    }
}

/// Hypervolume after each experiment of one run: `acquisition = None` runs the scrambled
/// Sobol design for the whole budget (the space-filling baseline); otherwise `initial`
/// Sobol points are followed by the planner with that acquisition in batches of `q`.
pub fn run_hypervolume(
    problem: MultiObjectiveProblem,
    acquisition: Option<Acquisition>,
    budget: usize,
    initial: usize,
    q: usize,
    seed: u64,
) -> Result<Vec<f64>, PlanError> {
    let config = PlannerConfig {
        parameters: problem.parameters(),
        objectives: vec![
            Objective::new("f1", ObjectiveGoal::Minimize),
            Objective::new("f2", ObjectiveGoal::Minimize),
        ],
        initial_design: if acquisition.is_some() {
            initial
        } else {
            budget
        },
        seed,
    };
    let mut planner = Planner::new(config)?;
    if let Some(a) = acquisition {
        planner = planner.with_acquisition(a)?;
    }
    let mut outcomes = Vec::with_capacity(budget);
    let mut trace = Vec::with_capacity(budget);
    while outcomes.len() < budget {
        let batch = planner.ask_batch(q.min(budget - outcomes.len()).max(1), &[])?;
        for s in batch {
            let y = problem.values(&s.x);
            outcomes.push(y);
            trace.push(problem.hypervolume_of(&outcomes));
            planner.tell(Observation {
                x: s.x,
                y: vec![Some(y[0]), Some(y[1])],
                failed: false,
            })?;
        }
    }
    Ok(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_match_their_known_fronts() {
        // ZDT1: points with x2.. = 0 lie on the front f2 = 1 − √f1.
        let p = MultiObjectiveProblem::Zdt1(4);
        let y = p.values(&[0.25, 0.0, 0.0, 0.0]);
        assert!((y[1] - 0.5).abs() < 1e-12);
        // A dense sample of the front reaches the closed-form hypervolume.
        let front: Vec<[f64; 2]> = (0..=2000)
            .map(|i| p.values(&[i as f64 / 2000.0, 0.0, 0.0, 0.0]))
            .collect();
        let hv = p.hypervolume_of(&front);
        assert!(
            hv < p.max_hypervolume() && hv > p.max_hypervolume() - 1e-2,
            "{hv}"
        );
        // Branin–Currin: Branin's minimiser (π, 2.275) maps to x = (0.5428…, 0.1517).
        let bc = MultiObjectiveProblem::BraninCurrin;
        let y = bc.values(&[(std::f64::consts::PI + 5.0) / 15.0, 2.275 / 15.0]);
        assert!((y[0] - 0.397_887).abs() < 1e-5);
        assert!(y[1].is_finite() && bc.values(&[0.5, 0.0])[1].is_finite());
    }
}
