//! Joint (multi-point) posteriors of a fitted [`GaussianProcess`]: the covariance between
//! points that batch acquisitions, pending experiments and Thompson sampling need.
//!
//! With `V = L⁻¹ K(X, P)` (one triangular solve per block of points), the latent posterior
//! covariance of points `p, p'` is `k(p, p') − v_pᵀ v_p'` (Rasmussen & Williams 2006, eq. 2.24),
//! scaled back to output units by the standardisation scale squared.

use super::{dot, GaussianProcess, SQRT5};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, Par};

/// A fixed set of points (baseline observations, pending experiments, points already chosen
/// for the batch) whose joint posterior is needed together with many candidates.
pub(crate) struct ReferenceSet {
    /// The points, in the unit cube.
    points: Vec<Vec<f64>>,
    /// `L⁻¹ K(X, P)`, `n × r`.
    whitened: Mat<f64>,
    /// Posterior means, output units.
    pub(crate) means: Vec<f64>,
    /// Posterior covariance, row-major `r × r`, output units (latent, no observation noise).
    pub(crate) covariance: Vec<f64>,
}

/// Posterior of one candidate together with its covariance to a [`ReferenceSet`].
pub(crate) struct CrossPrediction {
    /// Posterior mean, output units.
    pub(crate) mean: f64,
    /// Posterior variance, output units squared.
    pub(crate) variance: f64,
    /// Posterior covariance with each reference point, output units squared.
    pub(crate) cross: Vec<f64>,
}

impl GaussianProcess {
    /// Matérn-5/2 prior covariance of two points (standardised units).
    fn prior_covariance(&self, a: &[f64], b: &[f64]) -> f64 {
        let mut r2 = 0.0;
        for ((x, y), w) in a.iter().zip(b).zip(&self.inverse_squared_lengthscales) {
            let diff = x - y;
            r2 += diff * diff * w;
        }
        let rho = SQRT5 * r2.sqrt();
        self.hyperparameters.signal_variance * (1.0 + rho + rho * rho / 3.0) * (-rho).exp()
    }

    /// Posterior means (standardised units, relative to the constant prior mean) and the whitened
    /// cross-covariance matrix `L⁻¹ K(X, P)` of `points`.
    fn whiten(&self, points: &[Vec<f64>]) -> (Vec<f64>, Mat<f64>) {
        let n = self.weights.len();
        let d = self.dims;
        let mut cross = Mat::<f64>::zeros(n, points.len());
        let mut means = Vec::with_capacity(points.len());
        for (j, x) in points.iter().enumerate() {
            let column = cross.col_as_slice_mut(j);
            for (i, kv) in column.iter_mut().enumerate() {
                *kv = self.prior_covariance(x, &self.inputs[i * d..(i + 1) * d]);
            }
            means.push(dot(column, &self.weights));
        }
        if !points.is_empty() {
            solve_lower_triangular_in_place(
                self.cholesky_matrix.as_ref(),
                cross.as_mut(),
                Par::Seq,
            );
        }
        (means, cross)
    }

    /// The joint latent posterior of `points` (each in `[0,1]^d` with the model's dimension).
    pub(crate) fn reference_set(&self, points: &[Vec<f64>]) -> ReferenceSet {
        let r = points.len();
        let (raw_means, whitened) = self.whiten(points);
        let os2 = self.output_scale * self.output_scale;
        let mut covariance = vec![0.0; r * r];
        for a in 0..r {
            for b in 0..=a {
                let prior = self.prior_covariance(&points[a], &points[b]);
                let explained = dot(whitened.col_as_slice(a), whitened.col_as_slice(b));
                let mut c = prior - explained;
                if a == b {
                    c = c.max(1e-12 * self.hyperparameters.signal_variance);
                }
                covariance[a * r + b] = os2 * c;
                covariance[b * r + a] = os2 * c;
            }
        }
        ReferenceSet {
            points: points.to_vec(),
            whitened,
            means: raw_means
                .iter()
                .map(|m| self.prior_mean + self.output_scale * m)
                .collect(),
            covariance,
        }
    }

    /// Posterior mean and variance of each candidate and its covariance with every point of
    /// `references` (blockwise, one triangular solve per block).
    pub(crate) fn predict_many_with_cross(
        &self,
        candidates: &[Vec<f64>],
        references: &ReferenceSet,
    ) -> Vec<CrossPrediction> {
        const BLOCK: usize = 256;
        let signal = self.hyperparameters.signal_variance;
        let os2 = self.output_scale * self.output_scale;
        let mut out = Vec::with_capacity(candidates.len());
        for block in candidates.chunks(BLOCK) {
            let (means, whitened) = self.whiten(block);
            for (j, (x, mean)) in block.iter().zip(means).enumerate() {
                let v = whitened.col_as_slice(j);
                let variance = (signal - dot(v, v)).max(1e-12 * signal);
                let cross = references
                    .points
                    .iter()
                    .enumerate()
                    .map(|(r, p)| {
                        os2 * (self.prior_covariance(x, p)
                            - dot(v, references.whitened.col_as_slice(r)))
                    })
                    .collect();
                out.push(CrossPrediction {
                    mean: self.prior_mean + self.output_scale * mean,
                    variance: os2 * variance,
                    cross,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> GaussianProcess {
        let x: Vec<Vec<f64>> = crate::sobol::sobol_points(10, 2, 5);
        let y: Vec<f64> = x.iter().map(|u| (4.0 * u[0]).sin() + u[1] * u[1]).collect();
        GaussianProcess::fit(&x, &y).unwrap()
    }

    #[test]
    fn joint_posterior_agrees_with_single_point_predictions() {
        let gp = model();
        let points = vec![vec![0.1, 0.2], vec![0.15, 0.25], vec![0.9, 0.4]];
        let refs = gp.reference_set(&points);
        for (i, p) in points.iter().enumerate() {
            let (mean, var) = gp.predict(p).unwrap();
            assert!((refs.means[i] - mean).abs() < 1e-10);
            assert!((refs.covariance[i * 3 + i] - var).abs() < 1e-10 * (1.0 + var));
        }
        // Nearby points are strongly correlated, distant ones much less.
        let corr = |a: usize, b: usize| {
            refs.covariance[a * 3 + b]
                / (refs.covariance[a * 3 + a] * refs.covariance[b * 3 + b]).sqrt()
        };
        assert!(corr(0, 1) > 0.5 && corr(0, 1) > corr(0, 2).abs());
        let crossed = gp.predict_many_with_cross(&points[..1], &refs);
        assert!((crossed[0].mean - refs.means[0]).abs() < 1e-10);
        for r in 0..3 {
            assert!((crossed[0].cross[r] - refs.covariance[r]).abs() < 1e-10);
        }
    }
}
