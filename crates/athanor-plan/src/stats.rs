//! Small numerical helpers: the standard normal quantile function and seed mixing.

/// Quantile function (inverse CDF) of the standard normal distribution, accurate to about
/// 1e-16 relative error on (0, 1).
///
/// Algorithm AS 241 (PPND16) of Wichura (1988), "The percentage points of the normal
/// distribution", Applied Statistics 37(3), 477–484. Returns ±∞ at 0 and 1 and NaN outside.
/// The coefficients are quoted as published.
#[allow(clippy::excessive_precision)]
pub(crate) fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = ((((((r * 2509.0809287301227 + 33430.57558358813) * r + 67265.7709270087) * r
            + 45921.95393154987)
            * r
            + 13731.693765509461)
            * r
            + 1971.5909503065514)
            * r
            + 133.14166789178438)
            * r
            + 3.3871328727963665;
        let den = ((((((r * 5226.495278852545 + 28729.085735721943) * r + 39307.89580009271)
            * r
            + 21213.794301586597)
            * r
            + 5394.196021424751)
            * r
            + 687.1870074920579)
            * r
            + 42.31333070160091)
            * r
            + 1.0;
        return q * num / den;
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        let num = ((((((r * 7.745450142783414e-4 + 0.022723844989269184) * r
            + 0.2417807251774506)
            * r
            + 1.2704582524523684)
            * r
            + 3.6478483247632045)
            * r
            + 5.769497221460691)
            * r
            + 4.630337846156545)
            * r
            + 1.4234371107496835;
        let den = ((((((r * 1.0507500716444169e-9 + 5.475938084995345e-4) * r
            + 0.015198666563616457)
            * r
            + 0.14810397642748008)
            * r
            + 0.6897673349851)
            * r
            + 1.6763848301838038)
            * r
            + 2.053191626637759)
            * r
            + 1.0;
        num / den
    } else {
        r -= 5.0;
        let num = ((((((r * 2.010334399292288e-7 + 2.7115555687434876e-5) * r
            + 0.0012426609473880784)
            * r
            + 0.026532189526576124)
            * r
            + 0.2965605718285049)
            * r
            + 1.7848265399172913)
            * r
            + 5.463784911164114)
            * r
            + 6.657904643501103;
        let den = ((((((r * 2.0442631033899397e-15 + 1.421511758316446e-7) * r
            + 1.8463183175100548e-5)
            * r
            + 7.868691311456133e-4)
            * r
            + 0.014875361290850615)
            * r
            + 0.1369298809227358)
            * r
            + 0.599832206555888)
            * r
            + 1.0;
        num / den
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective mixer that turns structured
/// inputs (seed, counter) into well-spread 64-bit values.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Derives a sub-seed from a base seed, a counter and a purpose tag, so that different uses of
/// randomness within one call are independent of each other.
pub(crate) fn derive_seed(seed: u64, counter: u64, purpose: u64) -> u64 {
    splitmix64(splitmix64(seed ^ splitmix64(counter)) ^ purpose)
}

/// Draws a standard normal variate from a uniform generator (Box–Muller, one branch).
pub(crate) fn standard_normal<R: rand::Rng>(rng: &mut R) -> f64 {
    use rand::RngExt;
    // `random::<f64>()` is in [0, 1); shift to (0, 1] so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Continued-fraction terms used by [`log_h`] below `z = −3` (enough for 1e-15 there).
const MILLS_RATIO_TERMS: usize = 80;

/// `ln h(z)` with `h(z) = φ(z) + zΦ(z)`, the expected improvement of a standard normal over
/// `−z` (Jones, Schonlau & Welch 1998), accurate for every `z` — the heart of LogEI (Ament et
/// al. 2023, "Unexpected improvements to expected improvement for Bayesian optimization",
/// NeurIPS). For `z > −3` it is evaluated directly (`Φ` through `erfc`, no cancellation worth
/// speaking of). Below, with `x = −z`, Laplace's continued fraction of the Mills ratio
/// `Φ(−x)/φ(x) = 1/(x + 1/(x + 2/(x + 3/(x + …))))` gives `h = φ(x) / (x D + 1)` with
/// `D = x + 2/(x + 3/(x + …))`, free of the catastrophic cancellation in `φ − xΦ(−x)`, so
/// `ln h ≈ −z²/2 − ln √(2π) − ln(xD + 1)` stays exact far into the tail.
pub(crate) fn log_h(z: f64) -> f64 {
    if z == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    log_h_with_ratios(z).0
}

/// `(ln h(z), Φ(z)/h(z), φ(z)/h(z))`: [`log_h`] with the two ratios that make up the
/// derivatives `∂ ln(σ h((μ−u*)/σ))/∂μ = (Φ/h)/σ` and `∂/∂σ = (φ/h)/σ`. In the tail the
/// continued fraction gives them without cancellation: `Φ/h = D`, `φ/h = xD + 1`.
pub(crate) fn log_h_with_ratios(z: f64) -> (f64, f64, f64) {
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    if z > -3.0 || z.is_nan() {
        let density = (-0.5 * z * z - LN_SQRT_2PI).exp();
        let cdf = 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
        let h = density + z * cdf;
        return (h.ln(), cdf / h, density / h);
    }
    let x = -z;
    let mut tail = x;
    for k in (2..=MILLS_RATIO_TERMS).rev() {
        tail = x + k as f64 / tail;
    }
    let denominator = x * tail + 1.0;
    (
        -0.5 * z * z - LN_SQRT_2PI - denominator.ln(),
        tail,
        denominator,
    )
}

/// `ln(Σ exp(v_i))` without overflow.
pub(crate) fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_matches_reference_values() {
        // Reference values from R's qnorm / scipy.stats.norm.ppf.
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.025, -1.959_963_984_540_054),
            (0.841_344_746_068_542_9, 1.0),
            (1e-10, -6.361_340_902_404_056),
            (1.0 - 1e-6, 4.753_424_308_817_087),
            (1e-300, -37.047_096_299_361_2),
        ];
        for (p, z) in cases {
            let got = normal_quantile(p);
            assert!(
                (got - z).abs() < 1e-9 * (1.0 + z.abs()),
                "p={p}: {got} vs {z}"
            );
        }
        assert!(normal_quantile(0.0).is_infinite() && normal_quantile(1.5).is_nan());
    }

    #[test]
    fn log_h_matches_the_closed_form_and_its_tail() {
        // h(0) = φ(0) = 1/√(2π); h(z) − h(−z) = z; h(z) → φ(z)/z² as z → −∞.
        assert!((log_h(0.0) - (-0.918_938_533_204_672_8)).abs() < 1e-15);
        for z in [0.3, 1.0, 2.5, 7.0] {
            let diff = log_h(z).exp() - log_h(-z).exp();
            assert!((diff - z).abs() < 1e-12 * (1.0 + z), "z = {z}: {diff}");
        }
        // Both branches agree at the switch point; the direct formula is still accurate there.
        let direct = |z: f64| {
            let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            (density + z * 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)).ln()
        };
        for z in [-3.0 - 1e-12, -3.5, -4.5] {
            assert!((log_h(z) - direct(z)).abs() < 1e-9, "z = {z}");
        }
        // Asymptotics: ln h(z) = ln φ(z) − 2 ln|z| + ln(1 − 3/z² + 15/z⁴ − …).
        for z in [-40.0f64, -1e3, -1e6] {
            let asymptotic = -0.5 * z * z - 0.918_938_533_204_672_8 - 2.0 * (-z).ln()
                + (1.0 - 3.0 / (z * z) + 15.0 / z.powi(4) - 105.0 / z.powi(6)).ln();
            assert!(
                (log_h(z) - asymptotic).abs() < 1e-10 * asymptotic.abs(),
                "z = {z}"
            );
        }
        // The ratios are the derivatives: d ln h/dz = Φ/h, and φ/h + z Φ/h = 1.
        for z in [-30.0, -5.0, -3.0 - 1e-9, -3.0 + 1e-9, -1.0, 0.5, 4.0] {
            let (value, cdf_ratio, pdf_ratio) = log_h_with_ratios(z);
            assert!((value - log_h(z)).abs() < 1e-14 * (1.0 + value.abs()));
            let step = 1e-6;
            let fd = (log_h(z + step) - log_h(z - step)) / (2.0 * step);
            assert!((fd - cdf_ratio).abs() < 1e-6 * (1.0 + fd.abs()), "z = {z}");
            assert!(
                (pdf_ratio + z * cdf_ratio - 1.0).abs() < 1e-9 * (1.0 + pdf_ratio),
                "z = {z}"
            );
        }
        // Monotone increasing.
        let grid: Vec<f64> = (0..400).map(|i| -20.0 + 0.05 * i as f64).collect();
        assert!(grid.windows(2).all(|w| log_h(w[1]) > log_h(w[0])));
    }

    #[test]
    fn log_sum_exp_is_stable() {
        let v = [-1000.0, -1000.0];
        assert!((log_sum_exp(&v) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((log_sum_exp(&[0.0, 0.0, 0.0]) - 3f64.ln()).abs() < 1e-12);
    }
}
