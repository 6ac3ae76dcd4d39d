//! Small deterministic optimisers: projected L-BFGS for smooth box-constrained problems with
//! gradients (GP hyperparameters) and a box-clamped Nelder–Mead for derivative-free polishing
//! (acquisition maxima).

use std::collections::VecDeque;

/// Result of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective there.
    pub value: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn project(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, lo), hi) in x.iter_mut().zip(lower).zip(upper) {
        *v = v.clamp(*lo, *hi);
    }
}

/// Settings of [`lbfgs_box`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LbfgsSettings {
    /// Most iterations (each costs one or a few evaluations).
    pub max_iterations: usize,
    /// Number of correction pairs kept.
    pub memory: usize,
    /// Stop when the largest projected-gradient component falls below this.
    pub gradient_tolerance: f64,
    /// Stop when an iteration improves the objective by less than this (relative).
    pub value_tolerance: f64,
    /// Largest coordinate change of a step taken without curvature information (the first
    /// step, and after a restart): 1 suits log-parameters (a factor e), a fraction of the box
    /// suits unit-cube coordinates.
    pub first_step_limit: f64,
}

impl Default for LbfgsSettings {
    fn default() -> Self {
        LbfgsSettings {
            max_iterations: 100,
            memory: 8,
            gradient_tolerance: 1e-5,
            value_tolerance: 1e-10,
            first_step_limit: 1.0,
        }
    }
}

/// Minimises a smooth function on the box `[lower, upper]` with a projected limited-memory BFGS
/// (Nocedal & Wright 2006, Alg. 7.4 two-loop recursion; variables held at a bound by the
/// gradient are frozen for the step, as in the active-set phase of L-BFGS-B, Byrd et al. 1995).
/// The line search backtracks along the projected path until the Armijo condition holds.
///
/// `objective` returns the value and gradient, or `None` where the function cannot be evaluated
/// (the line search then backs off). Returns `None` if the start itself cannot be evaluated.
pub(crate) fn lbfgs_box<F>(
    mut objective: F,
    start: &[f64],
    lower: &[f64],
    upper: &[f64],
    settings: LbfgsSettings,
) -> Option<Minimum>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let n = start.len();
    let mut x = start.to_vec();
    project(&mut x, lower, upper);
    let (mut fx, mut gx) = objective(&x)?;
    if !fx.is_finite() {
        return None;
    }
    // Correction pairs (s, y, 1 / sᵀy), newest last.
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let bound_eps = 1e-12;

    for _ in 0..settings.max_iterations {
        let free: Vec<bool> = (0..n)
            .map(|i| {
                let at_lower = x[i] <= lower[i] + bound_eps && gx[i] > 0.0;
                let at_upper = x[i] >= upper[i] - bound_eps && gx[i] < 0.0;
                !(at_lower || at_upper)
            })
            .collect();
        let projected_gradient: Vec<f64> =
            (0..n).map(|i| if free[i] { gx[i] } else { 0.0 }).collect();
        let pg_norm = projected_gradient
            .iter()
            .fold(0.0f64, |m, g| m.max(g.abs()));
        if pg_norm < settings.gradient_tolerance {
            break;
        }

        // Two-loop recursion: direction = −H · projected gradient.
        let mut q = projected_gradient.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &q);
            for (qi, yi) in q.iter_mut().zip(y) {
                *qi -= a * yi;
            }
            alphas.push(a);
        }
        if let Some((s, y, _)) = pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            for qi in q.iter_mut() {
                *qi *= gamma;
            }
        }
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            for (qi, si) in q.iter_mut().zip(s) {
                *qi += (a - b) * si;
            }
        }
        let mut direction: Vec<f64> = (0..n).map(|i| if free[i] { -q[i] } else { 0.0 }).collect();
        if dot(&direction, &projected_gradient) >= 0.0 {
            // The quasi-Newton model has gone bad (can happen after projection): restart from
            // steepest descent.
            pairs.clear();
            direction = projected_gradient.iter().map(|g| -g).collect();
        }
        if pairs.is_empty() {
            // Without curvature information, take a first step of at most
            // `first_step_limit` in every coordinate.
            let largest = direction.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            if largest > settings.first_step_limit {
                for d in direction.iter_mut() {
                    *d *= settings.first_step_limit / largest;
                }
            }
        }

        // Backtracking Armijo search along the projected path.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..40 {
            let mut trial: Vec<f64> = (0..n).map(|i| x[i] + step * direction[i]).collect();
            project(&mut trial, lower, upper);
            let moved: Vec<f64> = (0..n).map(|i| trial[i] - x[i]).collect();
            if moved.iter().all(|m| m.abs() < 1e-15) {
                break;
            }
            if let Some((ft, gt)) = objective(&trial) {
                if ft.is_finite() && ft <= fx + 1e-4 * dot(&gx, &moved) {
                    accepted = Some((trial, ft, gt, moved));
                    break;
                }
            }
            step *= 0.5;
        }
        let Some((trial, ft, gt, s)) = accepted else {
            if pairs.is_empty() {
                break;
            }
            pairs.clear();
            continue;
        };
        let y: Vec<f64> = (0..n).map(|i| gt[i] - gx[i]).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() && sy > 0.0 {
            if pairs.len() == settings.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        let improvement = fx - ft;
        x = trial;
        fx = ft;
        gx = gt;
        if improvement <= settings.value_tolerance * (1.0 + fx.abs()) {
            break;
        }
    }
    Some(Minimum { x, value: fx })
}

/// Minimises `objective` over the unit cube with Nelder–Mead, clamping every trial point into
/// the cube. Uses the dimension-adaptive coefficients of Gao & Han (2012), "Implementing the
/// Nelder-Mead simplex algorithm with adaptive parameters", Comput. Optim. Appl. 51.
///
/// The initial simplex spans `step` along each axis from `start` (inwards at the upper face).
/// Returns the best point evaluated (never worse than `start`).
pub(crate) fn nelder_mead_unit_cube<F>(
    mut objective: F,
    start: &[f64],
    step: f64,
    max_evaluations: usize,
) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let n = start.len();
    let nf = n as f64;
    let (reflect, expand, contract, shrink) = (
        1.0,
        1.0 + 2.0 / nf,
        0.75 - 1.0 / (2.0 * nf),
        1.0 - 1.0 / nf.max(2.0),
    );
    // NaN would break the ordering: treat it as the worst possible value.
    let mut evaluations = 0usize;
    let mut eval = |x: &[f64], evaluations: &mut usize| -> f64 {
        *evaluations += 1;
        let v = objective(x);
        if v.is_nan() {
            f64::INFINITY
        } else {
            v
        }
    };
    let clamp = |mut x: Vec<f64>| {
        for v in x.iter_mut() {
            *v = v.clamp(0.0, 1.0);
        }
        x
    };

    let x0 = clamp(start.to_vec());
    let f0 = eval(&x0, &mut evaluations);
    let mut simplex: Vec<(Vec<f64>, f64)> = vec![(x0.clone(), f0)];
    for i in 0..n {
        let mut v = x0.clone();
        v[i] = if v[i] + step <= 1.0 {
            v[i] + step
        } else {
            v[i] - step
        };
        let v = clamp(v);
        let fv = eval(&v, &mut evaluations);
        simplex.push((v, fv));
    }

    while evaluations < max_evaluations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let best = simplex[0].1;
        let worst = simplex[n].1;
        let size = simplex[1..]
            .iter()
            .map(|(v, _)| {
                v.iter()
                    .zip(&simplex[0].0)
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
            })
            .fold(0.0f64, f64::max);
        if size < 1e-7 || (worst - best).abs() <= 1e-12 * (1.0 + best.abs()) && size < 1e-4 {
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| simplex[..n].iter().map(|(v, _)| v[j]).sum::<f64>() / nf)
            .collect();
        let toward = |coef: f64, from: &[f64]| -> Vec<f64> {
            clamp(
                (0..n)
                    .map(|j| centroid[j] + coef * (centroid[j] - from[j]))
                    .collect(),
            )
        };
        let worst_point = simplex[n].0.clone();
        let xr = toward(reflect, &worst_point);
        let fr = eval(&xr, &mut evaluations);
        if fr < best {
            let xe = toward(reflect * expand, &worst_point);
            let fe = eval(&xe, &mut evaluations);
            simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
            continue;
        }
        if fr < simplex[n - 1].1 {
            simplex[n] = (xr, fr);
            continue;
        }
        // Contraction: outside if the reflection helped a little, inside otherwise.
        let (xc, fc) = if fr < worst {
            let xc = toward(reflect * contract, &worst_point);
            let fc = eval(&xc, &mut evaluations);
            (xc, fc)
        } else {
            let xc = toward(-contract, &worst_point);
            let fc = eval(&xc, &mut evaluations);
            (xc, fc)
        };
        if fc < worst.min(fr) {
            simplex[n] = (xc, fc);
            continue;
        }
        // Shrink towards the best vertex.
        let best_point = simplex[0].0.clone();
        for vertex in simplex.iter_mut().skip(1) {
            let v = clamp(
                (0..n)
                    .map(|j| best_point[j] + shrink * (vertex.0[j] - best_point[j]))
                    .collect(),
            );
            let fv = eval(&v, &mut evaluations);
            *vertex = (v, fv);
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, value) = simplex.swap_remove(0);
    Minimum { x, value }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's banana in 2-D, with its gradient.
    fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0], x[1]);
        let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        (f, g)
    }

    #[test]
    fn lbfgs_finds_the_rosenbrock_minimum() {
        let settings = LbfgsSettings {
            max_iterations: 500,
            ..LbfgsSettings::default()
        };
        let m = lbfgs_box(
            |x| Some(rosenbrock(x)),
            &[-1.2, 1.0],
            &[-5.0, -5.0],
            &[5.0, 5.0],
            settings,
        )
        .unwrap();
        assert!(
            (m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    #[test]
    fn lbfgs_respects_active_bounds() {
        // Unconstrained minimum at (3, -2); the box forces x0 <= 1 and the answer is (1, -2).
        let f = |x: &[f64]| {
            let v = (x[0] - 3.0).powi(2) + (x[1] + 2.0).powi(2);
            Some((v, vec![2.0 * (x[0] - 3.0), 2.0 * (x[1] + 2.0)]))
        };
        let m = lbfgs_box(
            f,
            &[0.0, 0.0],
            &[-1.0, -5.0],
            &[1.0, 5.0],
            LbfgsSettings::default(),
        )
        .unwrap();
        assert!(
            (m.x[0] - 1.0).abs() < 1e-12 && (m.x[1] + 2.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn nelder_mead_finds_an_interior_minimum_and_stays_in_the_cube() {
        let target = [0.3, 0.8, 0.55];
        let m = nelder_mead_unit_cube(
            |x| {
                assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
                x.iter().zip(&target).map(|(a, b)| (a - b).powi(2)).sum()
            },
            &[0.9, 0.1, 0.5],
            0.1,
            600,
        );
        for (a, b) in m.x.iter().zip(&target) {
            assert!((a - b).abs() < 1e-3, "{m:?}");
        }
        // A minimum outside the cube is found on its face.
        let m = nelder_mead_unit_cube(
            |x| (x[0] - 1.5).powi(2) + x[1] * x[1],
            &[0.5, 0.5],
            0.1,
            400,
        );
        assert!((m.x[0] - 1.0).abs() < 1e-3 && m.x[1].abs() < 1e-3, "{m:?}");
    }
}
