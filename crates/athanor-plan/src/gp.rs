//! Gaussian-process regression with a Matérn-5/2 ARD kernel.
//!
//! Inputs live in the unit cube `[0,1]^d`; outputs are standardised internally
//! (`z = (y − ȳ) / s_y`) and predictions are returned in the original units. The model is
//! (Rasmussen & Williams 2006, "Gaussian Processes for Machine Learning", ch. 2, 4 and 5):
//!
//! * kernel `k(x, x') = σ_f² (1 + √5 r + 5r²/3) exp(−√5 r)`, with
//!   `r² = Σ_j (x_j − x'_j)² / ℓ_j²` (one lengthscale per input: automatic relevance
//!   determination);
//! * Gaussian observation noise of variance `σ_n²`, so `K = k(X, X) + σ_n² I`;
//! * a constant prior mean `c`, at its maximum-likelihood value for the kernel in use,
//!   `c = 1ᵀK⁻¹z / 1ᵀK⁻¹1` (generalised least squares; BoTorch's `SingleTaskGP` learns the same
//!   constant). Optimisation data cluster where the objective is good, so the average of the
//!   observations is far better than a typical point of the space. A zero mean (the data
//!   average, after standardisation) makes the model expect that good average everywhere it has
//!   no data, and the likelihood can only reconcile it with the poor points by stretching the
//!   lengthscales and calling the rest noise. On the data of three Styblinski–Tang-8 runs
//!   after 90 evaluations, `c` is 2.6–3.1 standard deviations below the data average and the
//!   log marginal likelihood is 11–16 higher than with a zero mean;
//! * posterior at `x*`: mean `c + k*ᵀ K⁻¹ (z − c1)`, variance `σ_f² − k*ᵀ K⁻¹ k*` (`c` is a
//!   point estimate, as in GPyTorch, so it adds no variance), computed through the Cholesky
//!   factor `K = L Lᵀ` (R&W Alg. 2.1);
//! * log marginal likelihood `log p(z) = −½ (z − c1)ᵀα − Σ log L_ii − (n/2) log 2π`,
//!   `α = K⁻¹ (z − c1)`, with the analytic gradient `∂/∂θ log p = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ)`
//!   (R&W eq. 5.9); `c` maximises the likelihood for every `θ`, so the same formula is the
//!   gradient of the profiled likelihood.
//!
//! Hyperparameters `θ = (log ℓ_1..log ℓ_d, log σ_f², log σ_n²)` maximise the log marginal
//! likelihood plus weak priors, by multi-start projected L-BFGS with analytic gradients:
//!
//! * `ℓ_j ~ LogNormal(√2 + ½ log d, √3)`: the dimension-scaled lengthscale prior of Hvarfner,
//!   Hellsten & Nardi (2024), "Vanilla Bayesian optimization performs great in high
//!   dimensions" (ICML), the default of BoTorch ≥ 0.12. As in GPyTorch, the density is taken in
//!   `ℓ` (not `log ℓ`), which puts the mode at `e^{√2−3} √d ≈ 0.2 √d`;
//! * lengthscales bounded above by [`MAX_LENGTHSCALE`] (twice the unit cube's width), so that
//!   noisy data never make the model certain that a declared input is irrelevant;
//! * `σ_n² ~ LogNormal(−4, 1)` (BoTorch's default noise prior), bounded below by
//!   [`FitOptions::min_noise_variance`];
//! * `log σ_f² ~ Normal(0, 1)`: the outputs are standardised, so the signal variance is about 1.
//!
//! ```
//! use athanor_plan::gp::GaussianProcess;
//! let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
//! let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin()).collect();
//! let gp = GaussianProcess::fit(&x, &y).unwrap();
//! let (mean, variance) = gp.predict(&[0.5]).unwrap();
//! assert!((mean - 3f64.sin()).abs() < 0.05 && variance < 0.01);
//! ```

use crate::optim::{lbfgs_box, LbfgsSettings, Minimum};
use crate::stats::standard_normal;
use crate::PlanError;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::cholesky::llt::inverse::{inverse, inverse_scratch};
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::{Mat, Par};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub(crate) mod joint;

const SQRT5: f64 = 2.236_067_977_499_79;
/// Added to the diagonal of `K` on top of the noise, for numerical safety only.
const JITTER: f64 = 1e-10;
/// Standard deviation of the lengthscale prior in log space (√3).
const LENGTHSCALE_PRIOR_SCALE: f64 = 1.732_050_807_568_877_2;
/// Location of the noise-variance prior in log space.
const NOISE_PRIOR_LOCATION: f64 = -4.0;
/// Box on log-parameters explored by the optimiser: lengthscales in [1e-2, 2] (the inputs
/// are in the unit cube), signal variance in [1e-2, 1e2] (the outputs are standardised).
///
/// The lengthscale ceiling [`MAX_LENGTHSCALE`] is deliberate: a Matérn-5/2 lengthscale of 2
/// on a unit interval already makes a dimension nearly linear over the whole range, and
/// anything larger only tells the model that the input does not matter at all. With noisy
/// data a weak but real input (Hartmann-3's first coordinate moves `f` by ≈ 2 % of its range
/// along the optimum's ridge) is first absorbed into the noise; the likelihood then drives
/// its lengthscale towards ∞, the posterior becomes confident that the input is irrelevant,
/// expected improvement never varies it again, and the search stalls at a regret set by
/// where that coordinate happened to sit. The ceiling keeps a residual sensitivity to every
/// declared input, so the acquisition can still learn it.
const LOG_LENGTHSCALE_RANGE: (f64, f64) = (-4.605_170_185_988_091, std::f64::consts::LN_2);
/// Largest lengthscale considered (unit-cube input units): a Matérn-5/2 lengthscale of 2 already
/// makes a dimension nearly linear over the unit interval, and a ceiling keeps noisy data from
/// making the model certain that a declared input is irrelevant.
pub const MAX_LENGTHSCALE: f64 = 2.0;
const LOG_SIGNAL_RANGE: (f64, f64) = (-4.605_170_185_988_091, 4.605_170_185_988_091);
/// Largest noise variance considered (in standardised units the total variance is 1).
const MAX_NOISE_VARIANCE: f64 = 2.0;

/// Kernel and noise parameters, in standardised output units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// One lengthscale per input dimension (unit-cube units).
    pub lengthscales: Vec<f64>,
    /// Kernel variance `σ_f²`.
    pub signal_variance: f64,
    /// Observation-noise variance `σ_n²`.
    pub noise_variance: f64,
}

impl Hyperparameters {
    /// The optimisation coordinates `(log ℓ_1..log ℓ_d, log σ_f², log σ_n²)`.
    pub fn to_log_vector(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.lengthscales.iter().map(|l| l.ln()).collect();
        v.push(self.signal_variance.ln());
        v.push(self.noise_variance.ln());
        v
    }

    /// Inverse of [`Hyperparameters::to_log_vector`]; `theta` must have `d + 2` entries.
    pub fn from_log_vector(theta: &[f64]) -> Hyperparameters {
        let d = theta.len().saturating_sub(2);
        Hyperparameters {
            lengthscales: theta[..d].iter().map(|t| t.exp()).collect(),
            signal_variance: theta.get(d).map_or(1.0, |t| t.exp()),
            noise_variance: theta.get(d + 1).map_or(1e-6, |t| t.exp()),
        }
    }

    fn validate(&self, dims: usize) -> Result<(), PlanError> {
        if self.lengthscales.len() != dims {
            return Err(PlanError::InvalidData(format!(
                "{} lengthscales for {dims} input dimensions",
                self.lengthscales.len()
            )));
        }
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !self.lengthscales.iter().all(|&l| positive(l))
            || !positive(self.signal_variance)
            || !positive(self.noise_variance)
        {
            return Err(PlanError::InvalidData(format!(
                "hyperparameters must be finite and positive: {self:?}"
            )));
        }
        Ok(())
    }
}

/// Settings of [`GaussianProcess::fit_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Random restarts of the hyperparameter optimiser in addition to the default start.
    pub restarts: usize,
    /// Iteration limit of each L-BFGS run.
    pub max_iterations: usize,
    /// Smallest noise variance allowed, in standardised units (keeps `K` well conditioned even
    /// for noise-free data).
    pub min_noise_variance: f64,
    /// Seed of the random restarts.
    pub seed: u64,
    /// Most training points used to choose the hyperparameters. Larger data sets are
    /// subsampled (evenly spaced in the order given) for the hyperparameter search only; the
    /// final model is conditioned on every point. Each likelihood evaluation costs `O(n³)`,
    /// and a few hundred points pin the hyperparameters down as well as a few thousand
    /// (subset-of-data hyperparameter estimation, Rasmussen & Williams 2006, §8.3.1).
    pub max_fit_points: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            restarts: 2,
            max_iterations: 80,
            min_noise_variance: 1e-6,
            seed: 0,
            max_fit_points: 128,
        }
    }
}

/// A fitted Gaussian process: training inputs, Cholesky factor and weights, ready to predict.
#[derive(Debug, Clone)]
pub struct GaussianProcess {
    dims: usize,
    /// Training inputs, row-major `n × d`.
    inputs: Vec<f64>,
    /// `1 / ℓ_j²`.
    inverse_squared_lengthscales: Vec<f64>,
    /// Lower Cholesky factor of `K`, row-major `n × n` (for one-point predictions).
    cholesky: Vec<f64>,
    /// The same factor as a column-major matrix (for batched triangular solves).
    cholesky_matrix: Mat<f64>,
    /// `K⁻¹ (z − c 1)`.
    weights: Vec<f64>,
    hyperparameters: Hyperparameters,
    /// The standardisation mean `ȳ`.
    output_mean: f64,
    /// `ȳ + s_y c`: the prior mean in output units, which every prediction starts from.
    prior_mean: f64,
    output_scale: f64,
    log_marginal_likelihood: f64,
}

/// Training data in the form the likelihood needs: standardised outputs and the squared
/// coordinate differences of every pair of inputs (computed once per fit).
struct Training {
    n: usize,
    dims: usize,
    z: Vec<f64>,
    /// For pairs `(a, b)` with `b < a`, in column order `b = 0..n, a = b+1..n` (the storage
    /// order of the column-major covariance): `(x_aj − x_bj)²`.
    pair_squared_differences: Vec<f64>,
}

/// The factorised covariance at one hyperparameter vector.
struct Factorisation {
    /// Lower Cholesky factor (the strict upper triangle is zero).
    cholesky: Mat<f64>,
    /// `K⁻¹ (z − c 1)`.
    alpha: Vec<f64>,
    /// The constant prior mean `c` (standardised units), at its maximum-likelihood value.
    constant_mean: f64,
    log_marginal_likelihood: f64,
    /// ∂ log p / ∂θ, present if requested.
    gradient: Option<Vec<f64>>,
}

impl Training {
    fn new(x: &[Vec<f64>], z: Vec<f64>) -> Training {
        let n = x.len();
        let dims = x[0].len();
        let mut pair_squared_differences = Vec::with_capacity(n * n.saturating_sub(1) / 2 * dims);
        for b in 0..n {
            for a in b + 1..n {
                for (xa, xb) in x[a].iter().zip(&x[b]) {
                    pair_squared_differences.push((xa - xb) * (xa - xb));
                }
            }
        }
        Training {
            n,
            dims,
            z,
            pair_squared_differences,
        }
    }

    /// Covariance, Cholesky factor, log marginal likelihood and (optionally) its gradient with
    /// respect to the log-parameters. `None` if `K` is not numerically positive definite.
    fn factorise(&self, theta: &[f64], with_gradient: bool) -> Option<Factorisation> {
        let (n, d) = (self.n, self.dims);
        if theta.len() != d + 2 || theta.iter().any(|t| !t.is_finite()) {
            return None;
        }
        let inv_sq_ls: Vec<f64> = theta[..d].iter().map(|t| (-2.0 * t).exp()).collect();
        let signal = theta[d].exp();
        let noise = theta[d + 1].exp();

        let pairs = n * n.saturating_sub(1) / 2;
        // Per pair: kernel value and g = σ_f² (5/3)(1 + ρ) e^{−ρ}, where ∂k/∂log ℓ_j = g Δ_j²/ℓ_j².
        let mut pair_kernel = Vec::with_capacity(pairs);
        let mut pair_g = Vec::with_capacity(if with_gradient { pairs } else { 0 });
        let mut k = Mat::<f64>::zeros(n, n);
        let mut p = 0;
        for b in 0..n {
            let column = k.col_as_slice_mut(b);
            column[b] = signal + noise + JITTER;
            for entry in &mut column[b + 1..] {
                let sq = &self.pair_squared_differences[p * d..(p + 1) * d];
                let r2: f64 = sq.iter().zip(&inv_sq_ls).map(|(s, w)| s * w).sum();
                let rho = SQRT5 * r2.sqrt();
                let e = (-rho).exp();
                let kv = signal * (1.0 + rho + rho * rho / 3.0) * e;
                *entry = kv;
                pair_kernel.push(kv);
                if with_gradient {
                    pair_g.push(signal * (5.0 / 3.0) * (1.0 + rho) * e);
                }
                p += 1;
            }
        }

        let mut buffer = MemBuffer::new(cholesky_in_place_scratch::<f64>(
            n,
            Par::Seq,
            Default::default(),
        ));
        cholesky_in_place(
            k.as_mut(),
            Default::default(),
            Par::Seq,
            MemStack::new(&mut buffer),
            Default::default(),
        )
        .ok()?;
        let mut l = k;
        for j in 1..n {
            l.col_as_slice_mut(j)[..j].fill(0.0);
        }
        let mut log_det_half = 0.0;
        for i in 0..n {
            let lii = l[(i, i)];
            if !(lii.is_finite() && lii > 0.0) {
                return None;
            }
            log_det_half += lii.ln();
        }
        // α = L⁻ᵀ L⁻¹ z by forward and back substitution.
        let mut alpha_column = Mat::<f64>::from_fn(n, 1, |i, _| self.z[i]);
        solve_lower_triangular_in_place(l.as_ref(), alpha_column.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(l.transpose(), alpha_column.as_mut(), Par::Seq);
        let mut alpha = alpha_column.col_as_slice(0).to_vec();
        // The constant prior mean at its maximum-likelihood value given θ (generalised least
        // squares): c = 1ᵀK⁻¹z / 1ᵀK⁻¹1, then α = K⁻¹(z − c1). Because ∂ log p/∂c = 0 there,
        // the gradient in θ of the profiled likelihood is the fixed-mean formula with this α.
        let mut ones = Mat::<f64>::from_fn(n, 1, |_, _| 1.0);
        solve_lower_triangular_in_place(l.as_ref(), ones.as_mut(), Par::Seq);
        solve_upper_triangular_in_place(l.transpose(), ones.as_mut(), Par::Seq);
        let k_inv_ones = ones.col_as_slice(0);
        let precision_of_mean: f64 = k_inv_ones.iter().sum();
        let constant_mean = if precision_of_mean > 0.0 {
            alpha.iter().sum::<f64>() / precision_of_mean
        } else {
            0.0
        };
        for (a, b) in alpha.iter_mut().zip(k_inv_ones) {
            *a -= constant_mean * b;
        }
        let fit_term: f64 = self
            .z
            .iter()
            .zip(&alpha)
            .map(|(z, a)| (z - constant_mean) * a)
            .sum();
        let lml =
            -0.5 * fit_term - log_det_half - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        if !lml.is_finite() {
            return None;
        }

        let gradient = if with_gradient {
            // W = ααᵀ − K⁻¹; only its lower triangle is needed.
            let mut k_inv = Mat::<f64>::zeros(n, n);
            let mut buffer = MemBuffer::new(inverse_scratch::<f64>(n, Par::Seq));
            inverse(
                k_inv.as_mut(),
                l.as_ref(),
                Par::Seq,
                MemStack::new(&mut buffer),
            );
            let mut grad = vec![0.0; d + 2];
            let mut trace_w = 0.0;
            let mut signal_off_diagonal = 0.0;
            let mut p = 0;
            for b in 0..n {
                let k_inv_column = k_inv.col_as_slice(b);
                trace_w += alpha[b] * alpha[b] - k_inv_column[b];
                for a in b + 1..n {
                    let w = alpha[a] * alpha[b] - k_inv_column[a];
                    signal_off_diagonal += w * pair_kernel[p];
                    let wg = w * pair_g[p];
                    let sq = &self.pair_squared_differences[p * d..(p + 1) * d];
                    for (g, s) in grad[..d].iter_mut().zip(sq) {
                        *g += wg * s;
                    }
                    p += 1;
                }
            }
            // Off-diagonal pairs appear twice in the trace; the ½ cancels that.
            for j in 0..d {
                grad[j] *= inv_sq_ls[j];
            }
            grad[d] = 0.5 * trace_w * signal + signal_off_diagonal;
            grad[d + 1] = 0.5 * trace_w * noise;
            Some(grad)
        } else {
            None
        };

        Some(Factorisation {
            cholesky: l,
            alpha,
            constant_mean,
            log_marginal_likelihood: lml,
            gradient,
        })
    }
}

/// `Σ a_i b_i` with eight independent partial sums, so the compiler can vectorise it (a
/// single running sum is a serial dependency chain).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut partial = [0.0f64; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f64 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            partial[k] += ca[k] * cb[k];
        }
    }
    partial.iter().sum::<f64>() + tail
}

/// Log density of the hyperparameter priors (up to a constant) and its gradient with respect
/// to the log-parameters.
fn log_prior(theta: &[f64], dims: usize) -> (f64, Vec<f64>) {
    let mut value = 0.0;
    let mut grad = vec![0.0; theta.len()];
    // LogNormal density in ℓ: −(log ℓ − μ)²/(2σ²) − log ℓ.
    let location = std::f64::consts::SQRT_2 + 0.5 * (dims as f64).ln();
    let var = LENGTHSCALE_PRIOR_SCALE * LENGTHSCALE_PRIOR_SCALE;
    for j in 0..dims {
        let t = theta[j];
        value += -(t - location).powi(2) / (2.0 * var) - t;
        grad[j] = -(t - location) / var - 1.0;
    }
    let t = theta[dims];
    value += -0.5 * t * t;
    grad[dims] = -t;
    let t = theta[dims + 1];
    value += -0.5 * (t - NOISE_PRIOR_LOCATION).powi(2) - t;
    grad[dims + 1] = -(t - NOISE_PRIOR_LOCATION) - 1.0;
    (value, grad)
}

/// Checks shapes and finiteness of training data; returns the input dimension.
fn validate_training(x: &[Vec<f64>], y: &[f64]) -> Result<usize, PlanError> {
    if x.is_empty() {
        return Err(PlanError::InvalidData("no training points".into()));
    }
    if x.len() != y.len() {
        return Err(PlanError::InvalidData(format!(
            "{} inputs but {} outputs",
            x.len(),
            y.len()
        )));
    }
    let dims = x[0].len();
    if dims == 0 {
        return Err(PlanError::InvalidData("inputs have no coordinates".into()));
    }
    for (i, row) in x.iter().enumerate() {
        if row.len() != dims {
            return Err(PlanError::InvalidData(format!(
                "input {i} has {} coordinates, expected {dims}",
                row.len()
            )));
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(PlanError::InvalidData(format!("input {i} is not finite")));
        }
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(PlanError::InvalidData(format!("output {i} is not finite")));
    }
    Ok(dims)
}

/// Mean and standard deviation used to standardise outputs. A single point or constant outputs
/// have no spread; the scale then falls back to 1 (in the caller's units).
fn standardisation(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    if y.len() < 2 {
        return (mean, 1.0);
    }
    let var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    if sd > 1e-12 * (1.0 + mean.abs()) {
        (mean, sd)
    } else {
        (mean, 1.0)
    }
}

/// Log marginal likelihood of a GP with the given hyperparameters and its maximum-likelihood
/// constant mean, for outputs `y` *as given* (no standardisation), and its gradient with respect
/// to `(log ℓ_1..log ℓ_d, log σ_f², log σ_n²)`.
pub fn log_marginal_likelihood(
    x: &[Vec<f64>],
    y: &[f64],
    hyperparameters: &Hyperparameters,
) -> Result<(f64, Vec<f64>), PlanError> {
    let dims = validate_training(x, y)?;
    hyperparameters.validate(dims)?;
    let training = Training::new(x, y.to_vec());
    let f = training
        .factorise(&hyperparameters.to_log_vector(), true)
        .ok_or_else(|| PlanError::Numerical("covariance matrix is not positive definite".into()))?;
    let gradient = f.gradient.unwrap_or_default();
    Ok((f.log_marginal_likelihood, gradient))
}

/// Log posterior density of the hyperparameters (log marginal likelihood + log prior, up to a
/// constant) for already standardised outputs, with its gradient in log-parameters. This is
/// what [`GaussianProcess::fit_with`] maximises.
pub fn log_hyperparameter_posterior(
    x: &[Vec<f64>],
    z: &[f64],
    hyperparameters: &Hyperparameters,
) -> Result<(f64, Vec<f64>), PlanError> {
    let dims = validate_training(x, z)?;
    let (lml, mut grad) = log_marginal_likelihood(x, z, hyperparameters)?;
    let (prior, prior_grad) = log_prior(&hyperparameters.to_log_vector(), dims);
    for (g, pg) in grad.iter_mut().zip(prior_grad) {
        *g += pg;
    }
    Ok((lml + prior, grad))
}

impl GaussianProcess {
    /// Fits a GP to inputs `x` (points of `[0,1]^d`) and outputs `y`, choosing hyperparameters
    /// with the default [`FitOptions`].
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Result<GaussianProcess, PlanError> {
        GaussianProcess::fit_with(x, y, &FitOptions::default())
    }

    /// Fits a GP, maximising the hyperparameter posterior from a default start (lengthscales at
    /// the prior mode) and `options.restarts` random starts; the best local optimum wins.
    pub fn fit_with(
        x: &[Vec<f64>],
        y: &[f64],
        options: &FitOptions,
    ) -> Result<GaussianProcess, PlanError> {
        let dims = validate_training(x, y)?;
        let (mean, scale) = standardisation(y);
        let z: Vec<f64> = y.iter().map(|v| (v - mean) / scale).collect();
        let training = Training::new(x, z.clone());
        // The hyperparameter search sees an evenly spaced subset of large data sets.
        let subset_size = options.max_fit_points.max(2 * dims + 2);
        let search_training = if x.len() > subset_size {
            let picks: Vec<usize> = (0..subset_size)
                .map(|i| i * x.len() / subset_size)
                .collect();
            let xs: Vec<Vec<f64>> = picks.iter().map(|&i| x[i].clone()).collect();
            let zs: Vec<f64> = picks.iter().map(|&i| z[i]).collect();
            Some(Training::new(&xs, zs))
        } else {
            None
        };
        let search_training = search_training.as_ref().unwrap_or(&training);

        let min_noise = options
            .min_noise_variance
            .clamp(1e-12, 0.5 * MAX_NOISE_VARIANCE);
        let mut lower = vec![LOG_LENGTHSCALE_RANGE.0; dims];
        let mut upper = vec![LOG_LENGTHSCALE_RANGE.1; dims];
        lower.extend([LOG_SIGNAL_RANGE.0, min_noise.ln()]);
        upper.extend([LOG_SIGNAL_RANGE.1, MAX_NOISE_VARIANCE.ln()]);

        let prior_mode_lengthscale = (0.2 * (dims as f64).sqrt()).ln();
        let mut starts = vec![{
            let mut t = vec![prior_mode_lengthscale; dims];
            t.extend([0.0, (1e-3f64).ln()]);
            t
        }];
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        for _ in 0..options.restarts {
            let mut t: Vec<f64> = (0..dims)
                .map(|_| prior_mode_lengthscale + 0.75 * standard_normal(&mut rng))
                .collect();
            t.push(0.5 * standard_normal(&mut rng));
            // Noise log-uniform between 1e-5 and 1e-1.
            let u = standard_normal(&mut rng).clamp(-2.0, 2.0) / 4.0 + 0.5;
            t.push((1e-5f64).ln() + u * ((1e-1f64).ln() - (1e-5f64).ln()));
            starts.push(t);
        }

        let negative_log_posterior = |theta: &[f64]| -> Option<(f64, Vec<f64>)> {
            let f = search_training.factorise(theta, true)?;
            let (prior, prior_grad) = log_prior(theta, dims);
            let grad = f.gradient?;
            let value = -(f.log_marginal_likelihood + prior);
            let g = grad
                .iter()
                .zip(&prior_grad)
                .map(|(a, b)| -(a + b))
                .collect();
            Some((value, g))
        };
        let settings = LbfgsSettings {
            max_iterations: options.max_iterations,
            ..LbfgsSettings::default()
        };
        let mut best: Option<Minimum> = None;
        for start in &starts {
            if let Some(m) = lbfgs_box(negative_log_posterior, start, &lower, &upper, settings) {
                if best.as_ref().is_none_or(|b| m.value < b.value) {
                    best = Some(m);
                }
            }
        }
        let best = best.ok_or_else(|| {
            PlanError::Numerical(
                "no hyperparameter start gave a positive-definite covariance".into(),
            )
        })?;
        GaussianProcess::from_training(&training, x, &best.x, mean, scale)
    }

    /// Conditions a GP with fixed hyperparameters (in standardised output units) on the data,
    /// without optimising anything.
    pub fn with_hyperparameters(
        x: &[Vec<f64>],
        y: &[f64],
        hyperparameters: &Hyperparameters,
    ) -> Result<GaussianProcess, PlanError> {
        let dims = validate_training(x, y)?;
        hyperparameters.validate(dims)?;
        let (mean, scale) = standardisation(y);
        let z: Vec<f64> = y.iter().map(|v| (v - mean) / scale).collect();
        let training = Training::new(x, z);
        GaussianProcess::from_training(&training, x, &hyperparameters.to_log_vector(), mean, scale)
    }

    fn from_training(
        training: &Training,
        x: &[Vec<f64>],
        theta: &[f64],
        output_mean: f64,
        output_scale: f64,
    ) -> Result<GaussianProcess, PlanError> {
        let n = training.n;
        let dims = training.dims;
        let f = training.factorise(theta, false).ok_or_else(|| {
            PlanError::Numerical("covariance matrix is not positive definite".into())
        })?;
        let mut cholesky = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                cholesky[i * n + j] = f.cholesky[(i, j)];
            }
        }
        let hyperparameters = Hyperparameters::from_log_vector(theta);
        Ok(GaussianProcess {
            dims,
            cholesky_matrix: f.cholesky,
            inputs: x.iter().flatten().copied().collect(),
            inverse_squared_lengthscales: hyperparameters
                .lengthscales
                .iter()
                .map(|l| 1.0 / (l * l))
                .collect(),
            cholesky,
            weights: f.alpha,
            hyperparameters,
            output_mean,
            prior_mean: output_mean + output_scale * f.constant_mean,
            output_scale,
            log_marginal_likelihood: f.log_marginal_likelihood,
        })
    }

    /// Posterior mean and variance of the latent function at `x` (a point of `[0,1]^d`), in the
    /// units of the training outputs. The variance excludes observation noise.
    pub fn predict(&self, x: &[f64]) -> Result<(f64, f64), PlanError> {
        if x.len() != self.dims {
            return Err(PlanError::InvalidData(format!(
                "prediction point has {} coordinates, the model {}",
                x.len(),
                self.dims
            )));
        }
        Ok(self.predict_unchecked(x))
    }

    /// [`GaussianProcess::predict`] for a point known to have the right dimension.
    pub(crate) fn predict_unchecked(&self, x: &[f64]) -> (f64, f64) {
        let n = self.weights.len();
        let d = self.dims;
        let signal = self.hyperparameters.signal_variance;
        let mut v = Vec::with_capacity(n);
        let mut mean = 0.0;
        for i in 0..n {
            let row = &self.inputs[i * d..(i + 1) * d];
            let mut r2 = 0.0;
            for j in 0..d {
                let diff = x[j] - row[j];
                r2 += diff * diff * self.inverse_squared_lengthscales[j];
            }
            let rho = SQRT5 * r2.sqrt();
            let kv = signal * (1.0 + rho + rho * rho / 3.0) * (-rho).exp();
            mean += kv * self.weights[i];
            v.push(kv);
        }
        // v ← L⁻¹ k*, so that k*ᵀ K⁻¹ k* = |v|².
        let mut explained = 0.0;
        for i in 0..n {
            let row = &self.cholesky[i * n..i * n + i];
            let vi = (v[i] - dot(row, &v[..i])) / self.cholesky[i * n + i];
            v[i] = vi;
            explained += vi * vi;
        }
        let variance = (signal - explained).max(1e-12 * signal);
        (
            self.prior_mean + self.output_scale * mean,
            self.output_scale * self.output_scale * variance,
        )
    }

    /// [`GaussianProcess::predict`] with the gradients of the mean and of the variance with
    /// respect to `x`: `(mean, variance, ∂mean/∂x, ∂variance/∂x)`. With
    /// `∂k(x, x_i)/∂x_j = −σ_f² (5/3)(1 + ρ_i) e^{−ρ_i} (x_j − x_ij)/ℓ_j² =: g_i (x_j − x_ij)/ℓ_j²`,
    /// the mean gradient is `Σ_i α_i ∂k_i/∂x_j` and the variance gradient
    /// `−2 Σ_i w_i ∂k_i/∂x_j` with `w = K⁻¹ k*` (two triangular solves).
    /// Useful for gradient-based acquisition optimisation and for sensitivity analysis.
    pub fn predict_with_gradient(
        &self,
        x: &[f64],
    ) -> Result<(f64, f64, Vec<f64>, Vec<f64>), PlanError> {
        if x.len() != self.dims {
            return Err(PlanError::InvalidData(format!(
                "prediction point has {} coordinates, the model {}",
                x.len(),
                self.dims
            )));
        }
        Ok(self.predict_with_gradient_unchecked(x))
    }

    pub(crate) fn predict_with_gradient_unchecked(
        &self,
        x: &[f64],
    ) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let n = self.weights.len();
        let d = self.dims;
        let signal = self.hyperparameters.signal_variance;
        let mut v = Vec::with_capacity(n);
        let mut g = Vec::with_capacity(n);
        let mut mean = 0.0;
        for i in 0..n {
            let row = &self.inputs[i * d..(i + 1) * d];
            let mut r2 = 0.0;
            for j in 0..d {
                let diff = x[j] - row[j];
                r2 += diff * diff * self.inverse_squared_lengthscales[j];
            }
            let rho = SQRT5 * r2.sqrt();
            let e = (-rho).exp();
            let kv = signal * (1.0 + rho + rho * rho / 3.0) * e;
            mean += kv * self.weights[i];
            v.push(kv);
            g.push(-signal * (5.0 / 3.0) * (1.0 + rho) * e);
        }
        // v ← L⁻¹ k*.
        let mut explained = 0.0;
        for i in 0..n {
            let row = &self.cholesky[i * n..i * n + i];
            let vi = (v[i] - dot(row, &v[..i])) / self.cholesky[i * n + i];
            v[i] = vi;
            explained += vi * vi;
        }
        // w ← L⁻ᵀ v, column-oriented so that rows of the row-major factor are read.
        let mut w = v;
        for i in (0..n).rev() {
            let wi = w[i] / self.cholesky[i * n + i];
            w[i] = wi;
            for (wj, l) in w[..i].iter_mut().zip(&self.cholesky[i * n..i * n + i]) {
                *wj -= l * wi;
            }
        }
        let variance = (signal - explained).max(1e-12 * signal);
        let floored = signal - explained < 1e-12 * signal;
        let mut mean_gradient = vec![0.0; d];
        let mut variance_gradient = vec![0.0; d];
        for i in 0..n {
            let row = &self.inputs[i * d..(i + 1) * d];
            let a = self.weights[i] * g[i];
            let b = -2.0 * w[i] * g[i];
            for j in 0..d {
                let t = (x[j] - row[j]) * self.inverse_squared_lengthscales[j];
                mean_gradient[j] += a * t;
                variance_gradient[j] += b * t;
            }
        }
        let (prior_mean, os) = (self.prior_mean, self.output_scale);
        for j in 0..d {
            mean_gradient[j] *= os;
            variance_gradient[j] = if floored {
                0.0
            } else {
                os * os * variance_gradient[j]
            };
        }
        (
            prior_mean + os * mean,
            os * os * variance,
            mean_gradient,
            variance_gradient,
        )
    }

    /// Posterior means and variances at many points (each a point of `[0,1]^d`), as
    /// [`GaussianProcess::predict`] gives them one at a time, but computed blockwise: the
    /// cross-covariances of a block form a matrix `K*` and one triangular solve `L⁻¹ K*`
    /// (a level-3 BLAS operation) yields all variances.
    pub fn predict_many(&self, points: &[Vec<f64>]) -> Result<Vec<(f64, f64)>, PlanError> {
        if let Some(i) = points.iter().position(|p| p.len() != self.dims) {
            return Err(PlanError::InvalidData(format!(
                "prediction point {i} has {} coordinates, the model {}",
                points[i].len(),
                self.dims
            )));
        }
        Ok(self.predict_many_unchecked(points))
    }

    /// [`GaussianProcess::predict_many`] for points known to have the right dimension.
    pub(crate) fn predict_many_unchecked(&self, points: &[Vec<f64>]) -> Vec<(f64, f64)> {
        /// Points per block: bounds the scratch matrix to `n × 256`.
        const BLOCK: usize = 256;
        let n = self.weights.len();
        let d = self.dims;
        let signal = self.hyperparameters.signal_variance;
        let mut out = Vec::with_capacity(points.len());
        for block in points.chunks(BLOCK) {
            let mut cross = Mat::<f64>::zeros(n, block.len());
            let mut means = Vec::with_capacity(block.len());
            for (j, x) in block.iter().enumerate() {
                let column = cross.col_as_slice_mut(j);
                for (i, kv) in column.iter_mut().enumerate() {
                    let row = &self.inputs[i * d..(i + 1) * d];
                    let mut r2 = 0.0;
                    for ((xj, rj), w) in x.iter().zip(row).zip(&self.inverse_squared_lengthscales) {
                        let diff = xj - rj;
                        r2 += diff * diff * w;
                    }
                    let rho = SQRT5 * r2.sqrt();
                    *kv = signal * (1.0 + rho + rho * rho / 3.0) * (-rho).exp();
                }
                means.push(dot(column, &self.weights));
            }
            solve_lower_triangular_in_place(
                self.cholesky_matrix.as_ref(),
                cross.as_mut(),
                Par::Seq,
            );
            for (j, mean) in means.into_iter().enumerate() {
                let v = cross.col_as_slice(j);
                let variance = (signal - dot(v, v)).max(1e-12 * signal);
                out.push((
                    self.prior_mean + self.output_scale * mean,
                    self.output_scale * self.output_scale * variance,
                ));
            }
        }
        out
    }

    /// Posterior means and variances at the points of a row-major flat buffer (`dims` values
    /// per point), appended to `out`: [`GaussianProcess::predict_many`] without one allocation
    /// per point, for scoring large candidate tables. Scratch memory is one `n × 256` block.
    pub(crate) fn predict_flat_into(&self, points: &[f64], out: &mut Vec<(f64, f64)>) {
        const BLOCK: usize = 256;
        let n = self.weights.len();
        let d = self.dims;
        let signal = self.hyperparameters.signal_variance;
        let mut cross = Mat::<f64>::zeros(n, BLOCK);
        let mut means = Vec::with_capacity(BLOCK);
        for block in points.chunks(BLOCK * d) {
            let m = block.len() / d;
            means.clear();
            for (j, x) in block.chunks_exact(d).enumerate() {
                let column = cross.col_as_slice_mut(j);
                for (i, kv) in column.iter_mut().enumerate() {
                    let row = &self.inputs[i * d..(i + 1) * d];
                    let mut r2 = 0.0;
                    for ((xj, rj), w) in x.iter().zip(row).zip(&self.inverse_squared_lengthscales) {
                        let diff = xj - rj;
                        r2 += diff * diff * w;
                    }
                    let rho = SQRT5 * r2.sqrt();
                    *kv = signal * (1.0 + rho + rho * rho / 3.0) * (-rho).exp();
                }
                means.push(dot(column, &self.weights));
            }
            solve_lower_triangular_in_place(
                self.cholesky_matrix.as_ref(),
                cross.as_mut().subcols_mut(0, m),
                Par::Seq,
            );
            for (j, &mean) in means.iter().enumerate() {
                let v = cross.col_as_slice(j);
                let variance = (signal - dot(v, v)).max(1e-12 * signal);
                out.push((
                    self.prior_mean + self.output_scale * mean,
                    self.output_scale * self.output_scale * variance,
                ));
            }
        }
    }

    /// The hyperparameters in use (standardised output units).
    pub fn hyperparameters(&self) -> &Hyperparameters {
        &self.hyperparameters
    }

    /// Log marginal likelihood of the standardised training outputs at the hyperparameters in
    /// use.
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.log_marginal_likelihood
    }

    /// Number of training points.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the model has no training points (never true for a fitted model).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Input dimension.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Mean and standard deviation used to standardise the outputs.
    pub fn output_standardisation(&self) -> (f64, f64) {
        (self.output_mean, self.output_scale)
    }

    /// The constant prior mean in output units: what the model predicts far from every
    /// observation.
    pub fn prior_mean(&self) -> f64 {
        self.prior_mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matern(r: f64, l: f64, s2: f64) -> f64 {
        let rho = SQRT5 * r / l;
        s2 * (1.0 + rho + rho * rho / 3.0) * (-rho).exp()
    }

    #[test]
    fn one_point_posterior_matches_closed_form() {
        // With one observation z at x0, mean(x) = k(x,x0) z / (σ_f² + σ_n²) and
        // var(x) = σ_f² − k(x,x0)² / (σ_f² + σ_n²). Outputs: a single point standardises to
        // mean y, scale 1.
        let h = Hyperparameters {
            lengthscales: vec![0.3],
            signal_variance: 1.5,
            noise_variance: 0.1,
        };
        let gp = GaussianProcess::with_hyperparameters(&[vec![0.2]], &[4.0], &h).unwrap();
        let (m, v) = gp.predict(&[0.5]).unwrap();
        let k = matern(0.3, 0.3, 1.5);
        let denom = 1.5 + 0.1 + JITTER;
        // Standardised output of the single point is 0, so the mean is the output mean.
        assert!((m - 4.0).abs() < 1e-12);
        assert!((v - (1.5 - k * k / denom)).abs() < 1e-12, "{v}");
    }

    #[test]
    fn two_point_posterior_matches_closed_form() {
        let h = Hyperparameters {
            lengthscales: vec![0.4, 0.7],
            signal_variance: 0.8,
            noise_variance: 0.05,
        };
        let x = vec![vec![0.1, 0.2], vec![0.6, 0.9]];
        let y = vec![1.0, 3.0];
        let gp = GaussianProcess::with_hyperparameters(&x, &y, &h).unwrap();
        // Standardisation: mean 2, sample sd √2 → z = ∓1/√2. K has equal diagonal entries, so
        // 1ᵀK⁻¹z = 0 and the maximum-likelihood constant mean is 0.
        let (ym, ys) = (2.0, 2f64.sqrt());
        let z = [-1.0 / ys, 1.0 / ys];
        let dist = |a: &[f64], b: &[f64]| {
            ((a[0] - b[0]).powi(2) / 0.16 + (a[1] - b[1]).powi(2) / 0.49).sqrt()
        };
        let kf = |a: &[f64], b: &[f64]| matern(dist(a, b), 1.0, 0.8);
        let k11 = 0.8 + 0.05 + JITTER;
        let k12 = kf(&x[0], &x[1]);
        let det = k11 * k11 - k12 * k12;
        let inv = [[k11 / det, -k12 / det], [-k12 / det, k11 / det]];
        let xs = [0.3, 0.5];
        let ks = [kf(&xs, &x[0]), kf(&xs, &x[1])];
        let alpha = [
            inv[0][0] * z[0] + inv[0][1] * z[1],
            inv[1][0] * z[0] + inv[1][1] * z[1],
        ];
        let mean = ym + ys * (ks[0] * alpha[0] + ks[1] * alpha[1]);
        let quad = ks[0] * (inv[0][0] * ks[0] + inv[0][1] * ks[1])
            + ks[1] * (inv[1][0] * ks[0] + inv[1][1] * ks[1]);
        let var = ys * ys * (0.8 - quad);
        let (m, v) = gp.predict(&xs).unwrap();
        assert!((m - mean).abs() < 1e-12, "{m} vs {mean}");
        assert!((v - var).abs() < 1e-12, "{v} vs {var}");

        // The log marginal likelihood of the standardised data, in closed form.
        let quad_z = z[0] * alpha[0] + z[1] * alpha[1];
        let lml = -0.5 * quad_z - 0.5 * det.ln() - (2.0 * std::f64::consts::PI).ln();
        assert!((gp.log_marginal_likelihood() - lml).abs() < 1e-12);
    }

    /// Solves the small dense system `a x = b` (faer's pivoted LU: a different factorisation
    /// from the model's Cholesky, so the check is independent of it).
    fn solve_dense(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
        use faer::linalg::solvers::Solve;
        let n = b.len();
        let lu = Mat::<f64>::from_fn(n, n, |i, j| a[i][j]).partial_piv_lu();
        let x = lu.solve(Mat::<f64>::from_fn(n, 1, |i, _| b[i]));
        x.col_as_slice(0).to_vec()
    }

    #[test]
    fn constant_mean_is_the_generalised_least_squares_estimate() {
        let h = Hyperparameters {
            lengthscales: vec![0.25],
            signal_variance: 1.3,
            noise_variance: 0.02,
        };
        let x = vec![vec![0.1], vec![0.15], vec![0.6], vec![0.9]];
        let y = vec![5.0, 4.5, 1.0, -0.5];
        let gp = GaussianProcess::with_hyperparameters(&x, &y, &h).unwrap();

        let n = y.len() as f64;
        let ym = y.iter().sum::<f64>() / n;
        let ys = (y.iter().map(|v| (v - ym).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let z: Vec<f64> = y.iter().map(|v| (v - ym) / ys).collect();
        let k = |a: &[f64], b: &[f64]| matern((a[0] - b[0]).abs(), 0.25, 1.3);
        let gram: Vec<Vec<f64>> = x
            .iter()
            .enumerate()
            .map(|(i, a)| {
                x.iter()
                    .enumerate()
                    .map(|(j, b)| k(a, b) + if i == j { 0.02 + JITTER } else { 0.0 })
                    .collect()
            })
            .collect();
        let k_inv_z = solve_dense(&gram, &z);
        let k_inv_ones = solve_dense(&gram, &vec![1.0; x.len()]);
        let c = k_inv_z.iter().sum::<f64>() / k_inv_ones.iter().sum::<f64>();
        assert!((gp.prior_mean() - (ym + ys * c)).abs() < 1e-10);
        // The two neighbouring high points count for little more than one, so the estimate
        // sits well below the plain average of the outputs.
        assert!(gp.prior_mean() < ym - 0.2, "{} vs {ym}", gp.prior_mean());

        let residual: Vec<f64> = z.iter().map(|v| v - c).collect();
        let alpha = solve_dense(&gram, &residual);
        let xs = [0.4];
        let ks: Vec<f64> = x.iter().map(|a| k(&xs, a)).collect();
        let mean = ym + ys * (c + ks.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>());
        let (m, _) = gp.predict(&xs).unwrap();
        assert!((m - mean).abs() < 1e-10, "{m} vs {mean}");

        // The profiled likelihood is the maximum over c: moving c either way lowers it.
        let log_det: f64 = {
            // log det K from the model's Cholesky factor; it does not depend on c.
            let l = &gp.cholesky;
            (0..x.len()).map(|i| 2.0 * l[i * x.len() + i].ln()).sum()
        };
        let lml_at = |c: f64| {
            let r: Vec<f64> = z.iter().map(|v| v - c).collect();
            let a = solve_dense(&gram, &r);
            let quad: f64 = r.iter().zip(&a).map(|(u, v)| u * v).sum();
            -0.5 * quad - 0.5 * log_det - 0.5 * n * (2.0 * std::f64::consts::PI).ln()
        };
        assert!((gp.log_marginal_likelihood() - lml_at(c)).abs() < 1e-10);
        assert!(lml_at(c + 0.1) < lml_at(c) && lml_at(c - 0.1) < lml_at(c));
    }

    #[test]
    fn far_from_the_data_the_prediction_returns_to_the_estimated_mean() {
        // Optimisation data: a tight cluster of good (high) values and a few scattered poor
        // ones. Between them the model should expect the level of the space, not the average
        // of the samples, which the cluster inflates.
        let h = Hyperparameters {
            lengthscales: vec![0.04],
            signal_variance: 1.0,
            noise_variance: 1e-4,
        };
        let x = vec![
            vec![0.0],
            vec![0.01],
            vec![0.02],
            vec![0.03],
            vec![0.5],
            vec![0.7],
            vec![0.9],
        ];
        let y = vec![10.0, 10.2, 9.9, 10.1, 0.0, 0.3, -0.2];
        let average = y.iter().sum::<f64>() / y.len() as f64;
        let gp = GaussianProcess::with_hyperparameters(&x, &y, &h).unwrap();
        let (far, _) = gp.predict(&[0.3]).unwrap();
        assert!(
            (far - gp.prior_mean()).abs() < 0.05,
            "{far} vs {}",
            gp.prior_mean()
        );
        assert!(far < 0.6 * average, "{far} vs the average {average}");
        // Observed points are still reproduced.
        let (at_cluster, _) = gp.predict(&[0.01]).unwrap();
        assert!((at_cluster - 10.2).abs() < 0.2, "{at_cluster}");
    }

    fn finite_difference_check(x: &[Vec<f64>], y: &[f64], h: &Hyperparameters, posterior: bool) {
        let f = |theta: &[f64]| {
            let h = Hyperparameters::from_log_vector(theta);
            if posterior {
                log_hyperparameter_posterior(x, y, &h).unwrap()
            } else {
                log_marginal_likelihood(x, y, &h).unwrap()
            }
        };
        let theta = h.to_log_vector();
        let (_, grad) = f(&theta);
        for i in 0..theta.len() {
            let step = 1e-5;
            let mut plus = theta.clone();
            plus[i] += step;
            let mut minus = theta.clone();
            minus[i] -= step;
            let fd = (f(&plus).0 - f(&minus).0) / (2.0 * step);
            assert!(
                (fd - grad[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "component {i}: analytic {} vs finite difference {fd}",
                grad[i]
            );
        }
    }

    #[test]
    fn log_marginal_likelihood_gradient_matches_finite_differences() {
        let x = crate::sobol::sobol_points(12, 3, 5);
        let y: Vec<f64> = x
            .iter()
            .map(|p| (4.0 * p[0]).sin() + p[1] * p[1] - 0.5 * p[2])
            .collect();
        let h = Hyperparameters {
            lengthscales: vec![0.3, 0.8, 1.7],
            signal_variance: 1.3,
            noise_variance: 0.02,
        };
        finite_difference_check(&x, &y, &h, false);
        finite_difference_check(&x, &y, &h, true);
    }

    #[test]
    fn interpolates_a_smooth_function() {
        let x = crate::sobol::sobol_points(32, 2, 11);
        let f = |p: &[f64]| (3.0 * p[0]).sin() * (2.0 * p[1]).cos() + 0.5 * p[0];
        let y: Vec<f64> = x.iter().map(|p| f(p)).collect();
        let gp = GaussianProcess::fit(&x, &y).unwrap();
        // Training points are reproduced, unseen points are predicted well.
        for (p, yi) in x.iter().zip(&y) {
            let (m, _) = gp.predict(p).unwrap();
            assert!((m - yi).abs() < 1e-2, "training point {p:?}: {m} vs {yi}");
        }
        let test = crate::sobol::sobol_points(50, 2, 99);
        let mut worst = 0.0f64;
        let mut calibrated = 0;
        for p in &test {
            let (m, v) = gp.predict(p).unwrap();
            let err = (m - f(p)).abs();
            worst = worst.max(err);
            if err <= 3.0 * v.sqrt() + 1e-3 {
                calibrated += 1;
            }
        }
        assert!(worst < 0.05, "largest test error {worst}");
        assert!(calibrated >= 45, "only {calibrated}/50 errors within 3 sd");
    }

    #[test]
    fn batched_predictions_match_single_ones() {
        let x = crate::sobol::sobol_points(300, 3, 4);
        let y: Vec<f64> = x.iter().map(|p| (4.0 * p[0]).sin() + p[1] * p[2]).collect();
        // 300 points exceed the hyperparameter subset: the model still uses all of them.
        let gp = GaussianProcess::fit(&x, &y).unwrap();
        assert_eq!(gp.len(), 300);
        let test = crate::sobol::sobol_points(600, 3, 8);
        let many = gp.predict_many(&test).unwrap();
        for (p, (m, v)) in test.iter().zip(&many) {
            let (m1, v1) = gp.predict(p).unwrap();
            assert!((m - m1).abs() < 1e-9 * (1.0 + m1.abs()), "{m} vs {m1}");
            assert!((v - v1).abs() < 1e-9 * (1.0 + v1), "{v} vs {v1}");
        }
        assert!(gp.predict_many(&[vec![0.5]]).is_err());
    }

    #[test]
    fn prediction_gradients_match_finite_differences() {
        let x = crate::sobol::sobol_points(25, 3, 6);
        let y: Vec<f64> = x.iter().map(|p| (4.0 * p[0]).sin() + p[1] * p[2]).collect();
        let gp = GaussianProcess::fit(&x, &y).unwrap();
        for p in crate::sobol::sobol_points(5, 3, 9) {
            let (m, v, dm, dv) = gp.predict_with_gradient(&p).unwrap();
            let (m1, v1) = gp.predict(&p).unwrap();
            assert!((m - m1).abs() < 1e-12 && (v - v1).abs() < 1e-12);
            for j in 0..3 {
                let h = 1e-6;
                let mut plus = p.clone();
                plus[j] += h;
                let mut minus = p.clone();
                minus[j] -= h;
                let (mp, vp) = gp.predict(&plus).unwrap();
                let (mm, vm) = gp.predict(&minus).unwrap();
                let fd_m = (mp - mm) / (2.0 * h);
                let fd_v = (vp - vm) / (2.0 * h);
                assert!(
                    (fd_m - dm[j]).abs() < 1e-5 * (1.0 + fd_m.abs()),
                    "{fd_m} {}",
                    dm[j]
                );
                assert!(
                    (fd_v - dv[j]).abs() < 1e-5 * (1.0 + fd_v.abs()),
                    "{fd_v} {}",
                    dv[j]
                );
            }
        }
    }

    #[test]
    fn noisy_data_yield_a_noise_estimate_near_the_truth() {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = crate::sobol::sobol_points(40, 1, 2);
        let y: Vec<f64> = x
            .iter()
            .map(|p| (5.0 * p[0]).sin() + 0.1 * (rng.random::<f64>() - 0.5) * 12f64.sqrt())
            .collect();
        let gp = GaussianProcess::fit(&x, &y).unwrap();
        let (_, scale) = gp.output_standardisation();
        let noise_sd = gp.hyperparameters().noise_variance.sqrt() * scale;
        assert!((0.05..0.2).contains(&noise_sd), "noise sd {noise_sd}");
    }

    #[test]
    fn an_input_with_a_weak_effect_under_noise_keeps_a_bounded_lengthscale() {
        assert!((LOG_LENGTHSCALE_RANGE.1.exp() - MAX_LENGTHSCALE).abs() < 1e-12);
        // The second input moves y by 2 % of the first one's effect, below the noise: the
        // likelihood alone would call it irrelevant (lengthscale → ∞).
        let x = crate::sobol::sobol_points(30, 2, 3);
        let noise = crate::bench::noise_draws(4, x.len());
        let y: Vec<f64> = x
            .iter()
            .zip(&noise)
            .map(|(p, z)| (4.0 * p[0]).sin() + 0.02 * p[1] + 0.05 * z)
            .collect();
        let gp = GaussianProcess::fit(&x, &y).unwrap();
        let lengthscales = &gp.hyperparameters().lengthscales;
        assert!(
            lengthscales[1] <= MAX_LENGTHSCALE * (1.0 + 1e-9),
            "{lengthscales:?}"
        );
        assert!(lengthscales[1] > lengthscales[0], "{lengthscales:?}");
    }

    #[test]
    fn rejects_malformed_training_data() {
        assert!(GaussianProcess::fit(&[], &[]).is_err());
        assert!(GaussianProcess::fit(&[vec![0.1], vec![0.2, 0.3]], &[1.0, 2.0]).is_err());
        assert!(GaussianProcess::fit(&[vec![0.1]], &[f64::NAN]).is_err());
        let gp = GaussianProcess::fit(&[vec![0.1], vec![0.4]], &[1.0, 2.0]).unwrap();
        assert!(gp.predict(&[0.1, 0.2]).is_err());
    }
}
