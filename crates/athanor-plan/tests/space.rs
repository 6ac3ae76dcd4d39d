//! Structured search spaces: integer and categorical parameters, candidate tables, initial
//! designs, known constraints, fixed values and the learned feasibility model.

use athanor_model::ParameterDef;
use athanor_plan::{
    Acquisition, CandidateTable, Constraint, InitialDesign, Objective, ObjectiveGoal, Observation,
    ParameterKind, Planner, PlannerConfig, SearchSpace, STRATEGY_BAYES, STRATEGY_FACTORIAL,
    STRATEGY_LATIN_HYPERCUBE, STRATEGY_THOMPSON, STRATEGY_UCB,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn param(name: &str, min: f64, max: f64, log_scale: bool) -> ParameterDef {
    ParameterDef {
        name: name.into(),
        unit: "1".into(),
        min,
        max,
        log_scale,
    }
}

fn config(parameters: Vec<ParameterDef>, initial_design: usize, seed: u64) -> PlannerConfig {
    PlannerConfig {
        parameters,
        objectives: vec![Objective::new("y", ObjectiveGoal::Maximize)],
        initial_design,
        seed,
    }
}

fn tell(planner: &mut Planner, x: Vec<f64>, y: f64) {
    planner
        .tell(Observation {
            x,
            y: vec![Some(y)],
            failed: false,
        })
        .unwrap();
}

fn coefficients(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(n, a)| (n.to_string(), *a)).collect()
}

#[test]
fn mixed_space_proposals_are_exact_integers_and_categories_and_find_the_best_category() {
    let parameters = vec![
        param("temperature", 100.0, 200.0, false),
        param("cycles", 1.0, 12.0, false),
        param("solvent", 0.0, 3.0, false),
    ];
    let space = SearchSpace {
        kinds: [
            ("cycles".to_string(), ParameterKind::Integer),
            (
                "solvent".to_string(),
                ParameterKind::Categorical {
                    categories: vec!["water".into(), "ethanol".into(), "dmf".into(), "oam".into()],
                    descriptors: None,
                },
            ),
        ]
        .into_iter()
        .collect(),
        ..SearchSpace::default()
    };
    // Solvent 2 is clearly best; the optimum is at temperature 160, 7 cycles.
    let f = |x: &[f64]| {
        let bonus = [0.0, 0.5, 2.0, 0.2][x[2] as usize];
        bonus - ((x[0] - 160.0) / 40.0).powi(2) - ((x[1] - 7.0) / 5.0).powi(2)
    };
    let mut planner = Planner::with_space(config(parameters, 6, 3), space).unwrap();
    for _ in 0..22 {
        let s = planner.ask().unwrap();
        assert_eq!(s.x[1].fract(), 0.0, "{:?}", s.x);
        assert!((1.0..=12.0).contains(&s.x[1]));
        assert!([0.0, 1.0, 2.0, 3.0].contains(&s.x[2]), "{:?}", s.x);
        let y = f(&s.x);
        tell(&mut planner, s.x, y);
    }
    let (best, value) = planner.best().unwrap();
    assert_eq!(planner.observations()[best].x[2], 2.0);
    assert!(value > 1.6, "best utility {value}");
    // Categorical values in observations must be category indices.
    assert!(planner
        .tell(Observation {
            x: vec![150.0, 3.0, 1.5],
            y: vec![Some(0.0)],
            failed: false,
        })
        .is_err());
}

#[test]
fn descriptor_encoded_categories_are_proposed_as_indices() {
    let parameters = vec![
        param("x", 0.0, 1.0, false),
        param("ligand", 0.0, 2.0, false),
    ];
    let space = SearchSpace {
        kinds: [(
            "ligand".to_string(),
            ParameterKind::Categorical {
                categories: vec!["c12".into(), "c16".into(), "c18".into()],
                descriptors: Some(vec![vec![12.0], vec![16.0], vec![18.0]]),
            },
        )]
        .into_iter()
        .collect(),
        ..SearchSpace::default()
    };
    let mut planner = Planner::with_space(config(parameters, 4, 1), space).unwrap();
    for _ in 0..10 {
        let s = planner.ask().unwrap();
        assert!([0.0, 1.0, 2.0].contains(&s.x[1]));
        let y = -(s.x[0] - 0.3).powi(2) + s.x[1];
        tell(&mut planner, s.x, y);
    }
    // A restored planner asks the same question.
    let restored = Planner::from_json(&planner.to_json()).unwrap();
    assert_eq!(restored.ask().unwrap(), planner.ask().unwrap());
}

#[test]
fn candidate_tables_propose_only_unobserved_rows() {
    let rows: Vec<Vec<f64>> = (0..300)
        .map(|i| {
            let a = (i % 20) as f64 / 19.0;
            let b = (i / 20) as f64 / 14.0;
            vec![a, b]
        })
        .collect();
    let space = SearchSpace {
        candidates: Some(CandidateTable::from_rows(&rows).unwrap()),
        ..SearchSpace::default()
    };
    let parameters = vec![param("a", 0.0, 1.0, false), param("b", 0.0, 1.0, false)];
    let mut planner = Planner::with_space(config(parameters, 4, 9), space).unwrap();
    let mut seen: Vec<Vec<f64>> = Vec::new();
    for _ in 0..14 {
        let s = planner.ask().unwrap();
        assert!(rows.contains(&s.x), "{:?} is not a table row", s.x);
        assert!(!seen.contains(&s.x), "{:?} proposed twice", s.x);
        seen.push(s.x.clone());
        let y = -((s.x[0] - 0.7).powi(2) + (s.x[1] - 0.2).powi(2));
        tell(&mut planner, s.x, y);
    }
    let (best, _) = planner.best().unwrap();
    let x = &planner.observations()[best].x;
    assert!(
        (x[0] - 0.7).abs() < 0.15 && (x[1] - 0.2).abs() < 0.15,
        "{x:?}"
    );
    // Wrong column count is rejected.
    let bad = SearchSpace {
        candidates: Some(CandidateTable::from_rows(&[vec![0.5]]).unwrap()),
        ..SearchSpace::default()
    };
    let parameters = vec![param("a", 0.0, 1.0, false), param("b", 0.0, 1.0, false)];
    assert!(Planner::with_space(config(parameters, 4, 9), bad).is_err());
}

#[test]
fn ucb_and_thompson_search_structured_spaces() {
    // Integer + categorical parameters and a linear constraint a + cycles/12 <= 1.5.
    let parameters = vec![
        param("a", 0.0, 1.0, false),
        param("cycles", 1.0, 12.0, false),
        param("solvent", 0.0, 2.0, false),
    ];
    let space = SearchSpace {
        kinds: [
            ("cycles".to_string(), ParameterKind::Integer),
            (
                "solvent".to_string(),
                ParameterKind::Categorical {
                    categories: vec!["water".into(), "ethanol".into(), "dmf".into()],
                    descriptors: None,
                },
            ),
        ]
        .into_iter()
        .collect(),
        constraints: vec![Constraint::LinearInequality {
            name: "budget".into(),
            coefficients: coefficients(&[("a", 1.0), ("cycles", 1.0 / 12.0)]),
            bound: 1.5,
        }],
        ..SearchSpace::default()
    };
    let f = |x: &[f64]| {
        [0.0, 1.5, 0.3][x[2] as usize] - (x[0] - 0.6).powi(2) - ((x[1] - 5.0) / 6.0).powi(2)
    };
    for (acquisition, strategy) in [
        (Acquisition::Ucb { beta: 2.0 }, STRATEGY_UCB),
        (Acquisition::Thompson, STRATEGY_THOMPSON),
    ] {
        let mut planner = Planner::with_space(config(parameters.clone(), 6, 4), space.clone())
            .unwrap()
            .with_acquisition(acquisition.clone())
            .unwrap();
        for _ in 0..18 {
            let s = planner.ask().unwrap();
            assert_eq!(s.x[1].fract(), 0.0, "{:?}", s.x);
            assert!([0.0, 1.0, 2.0].contains(&s.x[2]), "{:?}", s.x);
            assert!(
                s.x[0] + s.x[1] / 12.0 <= 1.5 + 1e-9,
                "{acquisition:?} violates the constraint at {:?}",
                s.x
            );
            let y = f(&s.x);
            tell(&mut planner, s.x, y);
        }
        let s = planner.ask().unwrap();
        assert_eq!(s.strategy, strategy);
        // Deterministic and identical after a JSON round trip.
        let restored = Planner::from_json(&planner.to_json()).unwrap();
        assert_eq!(restored.ask().unwrap(), s);
        assert_eq!(restored.acquisition(), &acquisition);
        // Batches: Kriging believer over the same structured search.
        let batch = planner.ask_batch(3, &[]).unwrap();
        assert_eq!(batch[0].strategy, strategy);
        assert_eq!(batch[1].strategy, strategy);
        assert_ne!(batch[0].x, batch[1].x);
        let (best, value) = planner.best().unwrap();
        assert_eq!(planner.observations()[best].x[2], 1.0, "{acquisition:?}");
        assert!(value > 1.2, "{acquisition:?}: best utility {value}");
    }
    // Candidate tables: only unobserved rows, for both acquisitions.
    let rows: Vec<Vec<f64>> = (0..200)
        .map(|i| vec![(i % 20) as f64 / 19.0, (i / 20) as f64 / 9.0])
        .collect();
    let table_space = SearchSpace {
        candidates: Some(CandidateTable::from_rows(&rows).unwrap()),
        ..SearchSpace::default()
    };
    let table_parameters = vec![param("a", 0.0, 1.0, false), param("b", 0.0, 1.0, false)];
    for acquisition in [Acquisition::Ucb { beta: 2.0 }, Acquisition::Thompson] {
        let mut planner =
            Planner::with_space(config(table_parameters.clone(), 4, 2), table_space.clone())
                .unwrap()
                .with_acquisition(acquisition)
                .unwrap();
        let mut seen: Vec<Vec<f64>> = Vec::new();
        for _ in 0..12 {
            let s = planner.ask().unwrap();
            assert!(rows.contains(&s.x) && !seen.contains(&s.x), "{:?}", s.x);
            seen.push(s.x.clone());
            let y = -((s.x[0] - 0.7).powi(2) + (s.x[1] - 0.2).powi(2));
            tell(&mut planner, s.x, y);
        }
    }
    // Multi-objective acquisitions still need the plain space.
    let mut two = config(parameters, 6, 4);
    two.objectives
        .push(Objective::new("z", ObjectiveGoal::Minimize));
    assert!(Planner::with_space(two, space)
        .unwrap()
        .with_acquisition(Acquisition::ParEgo { rho: 0.05 })
        .is_err());
}

#[test]
fn latin_hypercube_hits_every_stratum_and_factorial_enumerates_the_grid() {
    let parameters = vec![param("a", 0.0, 1.0, false), param("b", 10.0, 20.0, false)];
    let space = SearchSpace {
        initial_design: InitialDesign::LatinHypercube,
        ..SearchSpace::default()
    };
    let mut planner = Planner::with_space(config(parameters.clone(), 8, 5), space).unwrap();
    let mut strata = [[false; 8]; 2];
    for _ in 0..8 {
        let s = planner.ask().unwrap();
        assert_eq!(s.strategy, STRATEGY_LATIN_HYPERCUBE);
        strata[0][((s.x[0] * 8.0) as usize).min(7)] = true;
        strata[1][(((s.x[1] - 10.0) / 10.0 * 8.0) as usize).min(7)] = true;
        tell(&mut planner, s.x, 0.0);
    }
    assert!(strata.iter().flatten().all(|&hit| hit));

    let mut parameters = parameters;
    parameters.push(param("cat", 0.0, 2.0, false));
    let space = SearchSpace {
        initial_design: InitialDesign::Factorial { levels: 2 },
        kinds: [(
            "cat".to_string(),
            ParameterKind::Categorical {
                categories: vec!["x".into(), "y".into(), "z".into()],
                descriptors: None,
            },
        )]
        .into_iter()
        .collect(),
        ..SearchSpace::default()
    };
    let mut planner = Planner::with_space(config(parameters, 12, 5), space).unwrap();
    let mut grid = Vec::new();
    for _ in 0..12 {
        let s = planner.ask().unwrap();
        assert_eq!(s.strategy, STRATEGY_FACTORIAL);
        grid.push(s.x.clone());
        tell(&mut planner, s.x, 0.0);
    }
    for a in [0.0, 1.0] {
        for b in [10.0, 20.0] {
            for c in [0.0, 1.0, 2.0] {
                assert!(grid.contains(&vec![a, b, c]), "missing {a} {b} {c}");
            }
        }
    }
}

#[test]
fn fixed_values_are_held_and_validated() {
    let parameters = vec![
        param("oven", 100.0, 300.0, false),
        param("x", 0.0, 1.0, false),
        param("n", 1.0, 5.0, false),
    ];
    let space = SearchSpace {
        kinds: [("n".to_string(), ParameterKind::Integer)]
            .into_iter()
            .collect(),
        constraints: vec![Constraint::LinearInequality {
            name: "budget".into(),
            coefficients: coefficients(&[("oven", 0.01), ("x", 1.0)]),
            bound: 3.0,
        }],
        ..SearchSpace::default()
    };
    let mut planner = Planner::with_space(config(parameters, 3, 2), space).unwrap();
    let fixed: BTreeMap<String, f64> = [("oven".to_string(), 250.0)].into_iter().collect();
    for _ in 0..6 {
        let s = planner.ask_with_fixed(&fixed).unwrap();
        assert_eq!(s.x[0], 250.0);
        assert!(0.01 * s.x[0] + s.x[1] <= 3.0 + 1e-8, "{:?}", s.x);
        let y = -(s.x[1] - 0.9).powi(2) + s.x[2];
        tell(&mut planner, s.x, y);
    }
    let bad: BTreeMap<String, f64> = [("oven".to_string(), 400.0)].into_iter().collect();
    assert!(planner.ask_with_fixed(&bad).is_err());
    let bad: BTreeMap<String, f64> = [("n".to_string(), 2.5)].into_iter().collect();
    assert!(planner.ask_with_fixed(&bad).is_err());
    let bad: BTreeMap<String, f64> = [("nope".to_string(), 1.0)].into_iter().collect();
    assert!(planner.ask_with_fixed(&bad).is_err());
}

#[test]
fn failures_teach_the_planner_to_avoid_a_region() {
    // Experiments with a > 0.7 fail. Nothing is ever measured there, so the objective model
    // stays uncertain (high EI) in that region: only the feasibility model keeps the planner
    // from returning to it.
    let parameters = vec![param("a", 0.0, 1.0, false), param("b", 0.0, 1.0, false)];
    let mut planner = Planner::new(config(parameters, 6, 4)).unwrap();
    let mut failed_late = 0;
    for i in 0..22 {
        let s = planner.ask().unwrap();
        let failed = s.x[0] > 0.7;
        if failed && i >= 12 {
            failed_late += 1;
        }
        let y = -(s.x[0] - 0.35).powi(2) - (s.x[1] - 0.5).powi(2);
        planner
            .tell(Observation {
                x: s.x.clone(),
                y: if failed { vec![] } else { vec![Some(y)] },
                failed,
            })
            .unwrap();
    }
    assert!(
        failed_late <= 2,
        "{failed_late} of the last 10 experiments failed"
    );
    let (best, value) = planner.best().unwrap();
    assert!(value > -0.01, "best {:?}", planner.observations()[best].x);
}

#[test]
fn constraint_errors_name_the_constraint() {
    let parameters = vec![param("a", 0.0, 1.0, false), param("b", 0.0, 1.0, false)];
    let space = SearchSpace {
        constraints: vec![Constraint::LinearEquality {
            name: "mix".into(),
            coefficients: coefficients(&[("a", 1.0), ("c", 1.0)]),
            value: 1.0,
        }],
        ..SearchSpace::default()
    };
    let e = Planner::with_space(config(parameters.clone(), 2, 1), space)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`mix`") && e.contains("`c`"), "{e}");
    let space = SearchSpace {
        constraints: vec![Constraint::LinearInequality {
            name: "cap".into(),
            coefficients: coefficients(&[("a", 1.0), ("b", 1.0)]),
            bound: -0.5,
        }],
        ..SearchSpace::default()
    };
    let e = Planner::with_space(config(parameters, 2, 1), space)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`cap`") && e.contains("infeasible"), "{e}");
}

/// A random parameter: continuous (linear or log), integer or categorical.
#[derive(Debug, Clone)]
enum RandomKind {
    Linear,
    Log,
    Integer,
    Categorical(usize),
}

fn random_kind() -> impl Strategy<Value = RandomKind> {
    prop_oneof![
        Just(RandomKind::Linear),
        Just(RandomKind::Log),
        Just(RandomKind::Integer),
        (2usize..5).prop_map(RandomKind::Categorical),
    ]
}

/// Independent check of a proposal against everything declared (bounds, integrality,
/// categories, constraints), with the documented tolerance for linear constraints.
fn check(parameters: &[ParameterDef], space: &SearchSpace, x: &[f64]) -> Result<(), String> {
    for (p, &v) in parameters.iter().zip(x) {
        if !(v >= p.min && v <= p.max) {
            return Err(format!("{} = {v} outside bounds", p.name));
        }
        match space.kinds.get(&p.name) {
            Some(ParameterKind::Integer) | Some(ParameterKind::Categorical { .. })
                if v.fract() != 0.0 =>
            {
                return Err(format!("{} = {v} not whole", p.name));
            }
            _ => {}
        }
    }
    let value = |name: &str| {
        let i = parameters.iter().position(|p| p.name == name).unwrap();
        (x[i], parameters[i].min.abs().max(parameters[i].max.abs()))
    };
    for c in &space.constraints {
        match c {
            Constraint::LinearInequality {
                name,
                coefficients,
                bound,
            }
            | Constraint::LinearEquality {
                name,
                coefficients,
                value: bound,
            } => {
                let mut lhs = 0.0;
                let mut magnitude = 1.0 + bound.abs();
                for (n, a) in coefficients {
                    let (v, m) = value(n);
                    lhs += a * v;
                    magnitude += a.abs() * m;
                }
                let tolerance = 1e-8 * magnitude;
                let bad = if matches!(c, Constraint::LinearEquality { .. }) {
                    (lhs - bound).abs() > tolerance
                } else {
                    lhs > bound + tolerance
                };
                if bad {
                    return Err(format!("{name}: {lhs} vs {bound}"));
                }
            }
            Constraint::Cardinality {
                name,
                parameters: group,
                max_nonzero,
            } => {
                let nonzero = group.iter().filter(|n| value(n).0 != 0.0).count();
                if nonzero > *max_nonzero {
                    return Err(format!("{name}: {nonzero} non-zero"));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Over random mixed spaces with random feasible linear inequalities, an optional
    /// three-component mixture (sum = 1, at most two non-zero) and random seeds, no proposal
    /// from the initial design or the GP phase violates a bound or a declared constraint.
    #[test]
    fn proposals_never_violate_declared_constraints(
        kinds in proptest::collection::vec(random_kind(), 1..4),
        anchor in proptest::collection::vec(0.0f64..1.0, 4),
        inequality_coefficients in proptest::collection::vec(-1.0f64..1.0, 4),
        slack in 0.0f64..0.5,
        mixture in any::<bool>(),
        seed in 0u64..1000,
        design in 0usize..3,
    ) {
        let mut parameters = Vec::new();
        let mut space = SearchSpace {
            initial_design: match design {
                0 => InitialDesign::Sobol,
                1 => InitialDesign::LatinHypercube,
                _ => InitialDesign::Factorial { levels: 2 },
            },
            ..SearchSpace::default()
        };
        // A feasible anchor point in real units guarantees the inequality is satisfiable.
        let mut anchor_x = Vec::new();
        for (j, kind) in kinds.iter().enumerate() {
            let name = format!("p{j}");
            let (def, value) = match kind {
                RandomKind::Linear => (param(&name, -2.0, 3.0, false), -2.0 + 5.0 * anchor[j]),
                RandomKind::Log => (param(&name, 0.1, 100.0, true), 0.1 * 1000f64.powf(anchor[j])),
                RandomKind::Integer => {
                    space.kinds.insert(name.clone(), ParameterKind::Integer);
                    (param(&name, 0.0, 6.0, false), (6.0 * anchor[j]).round())
                }
                RandomKind::Categorical(n) => {
                    space.kinds.insert(name.clone(), ParameterKind::Categorical {
                        categories: (0..*n).map(|c| format!("c{c}")).collect(),
                        descriptors: None,
                    });
                    (param(&name, 0.0, (*n - 1) as f64, false), 0.0)
                }
            };
            parameters.push(def);
            anchor_x.push((name, value, matches!(kind, RandomKind::Categorical(_))));
        }
        let mut inequality = BTreeMap::new();
        let mut at_anchor = 0.0;
        for ((name, value, categorical), a) in anchor_x.iter().zip(&inequality_coefficients) {
            if !categorical {
                inequality.insert(name.clone(), *a);
                at_anchor += a * value;
            }
        }
        if inequality.values().any(|a| *a != 0.0) {
            space.constraints.push(Constraint::LinearInequality {
                name: "random".into(),
                coefficients: inequality,
                bound: at_anchor + slack,
            });
        }
        if mixture {
            for name in ["m0", "m1", "m2"] {
                parameters.push(param(name, 0.0, 1.0, false));
            }
            space.constraints.push(Constraint::LinearEquality {
                name: "sum".into(),
                coefficients: coefficients(&[("m0", 1.0), ("m1", 1.0), ("m2", 1.0)]),
                value: 1.0,
            });
            space.constraints.push(Constraint::Cardinality {
                name: "two".into(),
                parameters: vec!["m0".into(), "m1".into(), "m2".into()],
                max_nonzero: 2,
            });
        }
        let mut planner =
            Planner::with_space(config(parameters.clone(), 3, seed), space.clone()).unwrap();
        for step in 0..6 {
            let s = planner.ask().unwrap();
            if step >= 3 {
                prop_assert_eq!(&s.strategy, STRATEGY_BAYES);
            }
            if let Err(e) = check(&parameters, &space, &s.x) {
                return Err(TestCaseError::fail(format!("step {step}: {e} at {:?}", s.x)));
            }
            let y: f64 = s.x.iter().enumerate().map(|(j, v)| ((j + 1) as f64 * v).sin()).sum();
            tell(&mut planner, s.x, y);
        }
    }
}
