//! Benchmarks the planner: `ask()` latency at n = 40, d = 7 with three objectives, Branin
//! regret after 5 Sobol + 25 BO steps, and evaluations needed to hit a 6-D target, compared
//! with random search.
//!
//! Run with `cargo run --release -p athanor-plan --example benchmark`.

use athanor_model::ParameterDef;
use athanor_plan::bench::TestFunction;
use athanor_plan::{Objective, ObjectiveGoal, Observation, Planner, PlannerConfig};
use std::time::Instant;

fn unit_params(d: usize) -> Vec<ParameterDef> {
    (0..d)
        .map(|i| ParameterDef {
            name: format!("x{i}"),
            unit: "1".into(),
            min: 0.0,
            max: 1.0,
            log_scale: false,
        })
        .collect()
}

fn main() {
    // Timing.
    let d = 7;
    let config = PlannerConfig {
        parameters: unit_params(d),
        objectives: vec![
            Objective::new("a", ObjectiveGoal::Maximize),
            Objective::new(
                "b",
                ObjectiveGoal::Target {
                    target: 0.5,
                    tolerance: 0.05,
                },
            )
            .with_scale(0.1),
            Objective::new("c", ObjectiveGoal::Below { threshold: 0.3 }).with_scale(0.1),
        ],
        initial_design: 40,
        seed: 3,
    };
    let mut planner = Planner::new(config).unwrap();
    for _ in 0..40 {
        let s = planner.ask().unwrap();
        let x = &s.x;
        let a = (3.0 * x[0]).sin() + x[1] * x[2] - 0.3 * x[3];
        let b = 0.3 + 0.4 * x[4] * x[5] + 0.1 * (5.0 * x[6]).cos();
        let c = (x[0] - x[6]).powi(2) + 0.2 * x[2];
        planner
            .tell(Observation {
                x: s.x,
                y: vec![Some(a), Some(b), Some(c)],
                failed: false,
            })
            .unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let s = planner.ask().unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(s);
    }
    println!("ask() n=40 d=7 3 objectives: {:?} ms", times);
    let x: Vec<Vec<f64>> = planner.observations().iter().map(|o| o.x.clone()).collect();
    let y: Vec<f64> = planner
        .observations()
        .iter()
        .map(|o| o.y[0].unwrap_or(0.0))
        .collect();
    let t = Instant::now();
    let gp = athanor_plan::gp::GaussianProcess::fit(&x, &y).unwrap();
    println!(
        "one GP fit n=40 d=7: {:.2} ms, lengthscales {:?}",
        t.elapsed().as_secs_f64() * 1e3,
        gp.hyperparameters().lengthscales
    );

    // Branin.
    let branin_min = TestFunction::Branin.optimum_value();
    let mut regrets = Vec::new();
    let t = Instant::now();
    for seed in 0..20u64 {
        let config = PlannerConfig {
            parameters: vec![
                ParameterDef {
                    name: "x1".into(),
                    unit: "1".into(),
                    min: -5.0,
                    max: 10.0,
                    log_scale: false,
                },
                ParameterDef {
                    name: "x2".into(),
                    unit: "1".into(),
                    min: 0.0,
                    max: 15.0,
                    log_scale: false,
                },
            ],
            objectives: vec![Objective::new("f", ObjectiveGoal::Minimize)],
            initial_design: 5,
            seed,
        };
        let mut p = Planner::new(config).unwrap();
        for _ in 0..30 {
            let s = p.ask().unwrap();
            let f = TestFunction::Branin.value(&s.x);
            p.tell(Observation {
                x: s.x,
                y: vec![Some(f)],
                failed: false,
            })
            .unwrap();
        }
        let (_, u) = p.best().unwrap();
        regrets.push(-u - branin_min);
    }
    println!(
        "Branin regrets after 30: {:?} ({:.2} s)",
        regrets,
        t.elapsed().as_secs_f64()
    );

    // Hartmann-6 target.
    let target = 2.5;
    let tol = 0.05;
    let t = Instant::now();
    let mut hits = Vec::new();
    for seed in 0..20u64 {
        let config = PlannerConfig {
            parameters: unit_params(6),
            objectives: vec![Objective::new(
                "v",
                ObjectiveGoal::Target {
                    target,
                    tolerance: tol,
                },
            )
            .with_scale(0.5)],
            initial_design: 10,
            seed,
        };
        let mut p = Planner::new(config).unwrap();
        let mut hit = None;
        for i in 0..60 {
            let s = p.ask().unwrap();
            let v = -TestFunction::Hartmann6.value(&s.x);
            if (v - target).abs() <= tol && hit.is_none() {
                hit = Some(i + 1);
                break;
            }
            p.tell(Observation {
                x: s.x,
                y: vec![Some(v)],
                failed: false,
            })
            .unwrap();
        }
        hits.push(hit);
    }
    println!(
        "H6 target hits: {:?} ({:.2} s)",
        hits,
        t.elapsed().as_secs_f64()
    );
    let pts = athanor_plan::sobol::sobol_points(60000, 6, 77);
    let frac = pts
        .iter()
        .filter(|p| (-TestFunction::Hartmann6.value(p) - target).abs() <= tol)
        .count() as f64
        / 60000.0;
    println!(
        "random hit probability per eval {frac:.5}, P(hit within 40) = {:.3}",
        1.0 - (1.0 - frac).powi(40)
    );
}
