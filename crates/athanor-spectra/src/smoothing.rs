//! Savitzky–Golay smoothing and differentiation, and a robust noise estimate.

use crate::SpectraError;

/// Savitzky–Golay smoothing: each output value is the value at that point of the least-squares
/// polynomial of degree `order` fitted to the `window` points centred on it (Savitzky & Golay,
/// *Anal. Chem.* 36, 1627 (1964)).
///
/// The first and last `window / 2` points, which have no centred window, take the value of the
/// polynomial fitted to the first (last) `window` points at their position — the "interp" edge
/// mode of SciPy's `savgol_filter`, which keeps edges unbiased for polynomial-like data instead of
/// padding with invented values.
///
/// The filter works in sample-index space, i.e. it assumes (near-)uniform spacing of x.
/// `window` must be odd, larger than `order` and at most `y.len()`; a window of 1 (with order 0)
/// returns `y` unchanged.
pub fn savitzky_golay(y: &[f64], window: usize, order: usize) -> Result<Vec<f64>, SpectraError> {
    savitzky_golay_derivative(y, window, order, 0)
}

/// The `derivative`-th derivative of the Savitzky–Golay polynomial at each point, **per sample
/// index** (divide by `Δxᵈ` for a uniformly spaced axis). `derivative` must not exceed `order`.
/// Edges are handled as in [`savitzky_golay`].
pub fn savitzky_golay_derivative(
    y: &[f64],
    window: usize,
    order: usize,
    derivative: usize,
) -> Result<Vec<f64>, SpectraError> {
    check_parameters(y.len(), window, order, derivative)?;
    if let Some((index, value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SpectraError::NotFinite {
            array: "y",
            index,
            value: *value,
        });
    }
    let n = y.len();
    let half = window / 2;
    let centre = filter_coefficients(window, order, derivative, 0);
    let mut out = vec![0.0; n];
    for (i, slot) in out.iter_mut().enumerate().take(n - half).skip(half) {
        *slot = dot(&centre, &y[i - half..=i + half]);
    }
    // Edges: evaluate the polynomial of the first/last full window off-centre.
    for i in 0..half.min(n) {
        let offset = i as isize - half as isize;
        let c = filter_coefficients(window, order, derivative, offset);
        out[i] = dot(&c, &y[..window]);
        let j = n - 1 - i;
        let c = filter_coefficients(window, order, derivative, -offset);
        out[j] = dot(&c, &y[n - window..]);
    }
    Ok(out)
}

fn check_parameters(
    len: usize,
    window: usize,
    order: usize,
    derivative: usize,
) -> Result<(), SpectraError> {
    if window % 2 != 1 {
        return Err(SpectraError::InvalidSmoothing(format!(
            "the window must be an odd number of points, got {window}"
        )));
    }
    if order >= window {
        return Err(SpectraError::InvalidSmoothing(format!(
            "polynomial order {order} needs a window of at least {} points, got {window}",
            order + 1
        )));
    }
    if derivative > order {
        return Err(SpectraError::InvalidSmoothing(format!(
            "derivative {derivative} of a polynomial of order {order} is zero; raise the order"
        )));
    }
    if window > len {
        return Err(SpectraError::TooFewPoints {
            found: len,
            needed: window,
            context: format!("a smoothing window of {window} points"),
        });
    }
    Ok(())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// Weights `c_j` (j = 0 … window−1) such that `Σ c_j y_j` is the `derivative`-th derivative (per
/// sample) at offset `at` from the window centre of the least-squares polynomial of `order`.
///
/// With abscissae scaled to z = j/half ∈ [−1, 1] (for conditioning), the fit coefficients are
/// a = G⁻¹ Vᵀ y with G = VᵀV the Gram matrix of the powers; the value wanted is pᵀa with p the
/// derivative of the power basis at z(at), so c = V G⁻¹ p.
pub(crate) fn filter_coefficients(
    window: usize,
    order: usize,
    derivative: usize,
    at: isize,
) -> Vec<f64> {
    let half = (window / 2) as f64;
    if window == 1 {
        // Order 0, derivative 0: the identity.
        return vec![1.0];
    }
    let z: Vec<f64> = (0..window).map(|j| (j as f64 - half) / half).collect();
    let terms = order + 1;
    let mut gram = vec![vec![0.0; terms]; terms];
    for (k, row) in gram.iter_mut().enumerate() {
        for (l, cell) in row.iter_mut().enumerate() {
            *cell = z.iter().map(|zj| zj.powi((k + l) as i32)).sum();
        }
    }
    let z_at = at as f64 / half;
    let mut p: Vec<f64> = (0..terms)
        .map(|k| {
            if k < derivative {
                0.0
            } else {
                let falling: f64 = ((k - derivative + 1)..=k).map(|f| f as f64).product();
                falling * z_at.powi((k - derivative) as i32)
            }
        })
        .collect();
    solve_in_place(&mut gram, &mut p);
    // d/dj = (1/half) d/dz for each derivative order.
    let scale = half.powi(-(derivative as i32));
    z.iter()
        .map(|zj| {
            let mut power = 1.0;
            let mut sum = 0.0;
            for a in &p {
                sum += a * power;
                power *= zj;
            }
            sum * scale
        })
        .collect()
}

/// Gaussian elimination with partial pivoting for the small symmetric positive-definite Gram
/// systems of polynomial least squares (non-singular when there are more distinct abscissae
/// than coefficients).
pub(crate) fn solve_in_place(a: &mut [Vec<f64>], b: &mut [f64]) {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            let (top, bottom) = a.split_at_mut(row);
            for (target, source) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                *target -= factor * source;
            }
            b[row] -= factor * b[col];
        }
    }
    for col in (0..n).rev() {
        let mut sum = b[col];
        for k in col + 1..n {
            sum -= a[col][k] * b[k];
        }
        b[col] = sum / a[col][col];
    }
}

/// Standard deviation of white noise in `y`, estimated robustly from fourth differences so that
/// smooth signal (peaks, sloping baselines) hardly contributes.
///
/// This is the DER_SNR estimator of Stoehr et al. (*ASP Conf. Ser.* 394, 505 (2008)) taken to
/// fourth order, with their stride of two samples (which ignores correlation between
/// neighbouring pixels):
///
/// dᵢ = yᵢ₋₄ − 4yᵢ₋₂ + 6yᵢ − 4yᵢ₊₂ + yᵢ₊₄,  σ = 1.482602 · median|dᵢ| / √70
///
/// For white noise dᵢ has variance (1 + 16 + 36 + 16 + 1)σ² = 70σ²; 1.482602 converts a median
/// absolute value to a standard deviation for Gaussian noise. A cubic passes without trace and
/// a peak adds only 16h⁴y⁗ (against 4h²y″ for the original second-order form), so S/N values of
/// well-sampled peaks are not underestimated. Series of 5–8 points use a stride of one.
pub fn estimate_noise(y: &[f64]) -> Result<f64, SpectraError> {
    if y.len() < 5 {
        return Err(SpectraError::TooFewPoints {
            found: y.len(),
            needed: 5,
            context: "a noise estimate from fourth differences".into(),
        });
    }
    let stride = if y.len() >= 9 { 2 } else { 1 };
    let reach = 2 * stride;
    let mut differences: Vec<f64> = (reach..y.len() - reach)
        .map(|i| {
            (y[i - 2 * stride] - 4.0 * y[i - stride] + 6.0 * y[i] - 4.0 * y[i + stride]
                + y[i + 2 * stride])
                .abs()
        })
        .collect();
    differences.sort_by(f64::total_cmp);
    let m = differences.len();
    let median = if m % 2 == 1 {
        differences[m / 2]
    } else {
        0.5 * (differences[m / 2 - 1] + differences[m / 2])
    };
    Ok(1.482602 * median / 70f64.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_coefficients_are_reproduced() {
        // Savitzky & Golay (1964), table I: 5-point quadratic smoothing = (−3, 12, 17, 12, −3)/35.
        let c = filter_coefficients(5, 2, 0, 0);
        let expected = [-3.0, 12.0, 17.0, 12.0, -3.0].map(|v| v / 35.0);
        for (a, b) in c.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{c:?}");
        }
        // 5-point quadratic first derivative = (−2, −1, 0, 1, 2)/10.
        let d = filter_coefficients(5, 2, 1, 0);
        let expected = [-2.0, -1.0, 0.0, 1.0, 2.0].map(|v| v / 10.0);
        for (a, b) in d.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{d:?}");
        }
    }

    #[test]
    fn polynomials_up_to_the_order_pass_unchanged_including_edges() {
        let y: Vec<f64> = (0..30)
            .map(|i| {
                let t = i as f64;
                1.0 - 0.5 * t + 0.02 * t * t - 0.001 * t * t * t
            })
            .collect();
        let s = savitzky_golay(&y, 9, 3).unwrap();
        for (a, b) in s.iter().zip(&y) {
            assert!((a - b).abs() < 1e-9);
        }
        let d2 = savitzky_golay_derivative(&y, 9, 3, 2).unwrap();
        for (i, v) in d2.iter().enumerate() {
            let exact = 0.04 - 0.006 * i as f64;
            assert!((v - exact).abs() < 1e-9, "{i}: {v} vs {exact}");
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        let y = [1.0; 10];
        assert!(matches!(
            savitzky_golay(&y, 4, 2),
            Err(SpectraError::InvalidSmoothing(_))
        ));
        assert!(matches!(
            savitzky_golay(&y, 5, 5),
            Err(SpectraError::InvalidSmoothing(_))
        ));
        assert!(matches!(
            savitzky_golay(&y, 11, 2),
            Err(SpectraError::TooFewPoints { .. })
        ));
        assert!(matches!(
            savitzky_golay_derivative(&y, 5, 1, 2),
            Err(SpectraError::InvalidSmoothing(_))
        ));
        assert_eq!(savitzky_golay(&y, 1, 0).unwrap(), y.to_vec());
        let mut with_nan = y;
        with_nan[3] = f64::NAN;
        assert!(matches!(
            savitzky_golay(&with_nan, 5, 2),
            Err(SpectraError::NotFinite { index: 3, .. })
        ));
    }
}
