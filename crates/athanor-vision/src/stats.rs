//! Number-weighted size statistics.

use serde::{Deserialize, Serialize};

/// Number-weighted statistics of a set of particle diameters (normally the equivalent circular
/// diameters of the counted particles), nm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeStats {
    /// Number of diameters.
    pub count: usize,
    /// Arithmetic mean, nm.
    pub mean_nm: f64,
    /// Sample standard deviation (`n − 1` in the denominator; 0 for a single value), nm.
    pub std_nm: f64,
    /// Coefficient of variation `std / mean`, as a fraction (0.07 = 7 %).
    pub cv: f64,
    /// 10th percentile, nm.
    pub d10_nm: f64,
    /// Median, nm.
    pub d50_nm: f64,
    /// 90th percentile, nm.
    pub d90_nm: f64,
    /// Smallest diameter, nm.
    pub min_nm: f64,
    /// Largest diameter, nm.
    pub max_nm: f64,
}

/// Percentile `q ∈ [0, 1]` of sorted data by linear interpolation between order statistics at
/// position `q (n − 1)` (Hyndman & Fan 1996, definition 7; the default of NumPy and R).
/// `None` for empty data.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let position = q * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let fraction = position - lower as f64;
    Some(sorted[lower] + fraction * (sorted[upper] - sorted[lower]))
}

/// Number-weighted statistics of `diameters_nm`. Non-finite values are ignored; `None` when
/// no finite value is left.
pub fn size_stats(diameters_nm: &[f64]) -> Option<SizeStats> {
    let mut sorted: Vec<f64> = diameters_nm
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (sorted.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let percentile = |q: f64| percentile_sorted(&sorted, q).unwrap_or(f64::NAN);
    Some(SizeStats {
        count: n,
        mean_nm: mean,
        std_nm: std,
        cv: if mean != 0.0 { std / mean.abs() } else { 0.0 },
        d10_nm: percentile(0.1),
        d50_nm: percentile(0.5),
        d90_nm: percentile(0.9),
        min_nm: sorted[0],
        max_nm: sorted[n - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_linearly() {
        // 1..=11: position q·10, so D10 = 2, D50 = 6, D90 = 10.
        let data: Vec<f64> = (1..=11).rev().map(f64::from).collect();
        let s = size_stats(&data).unwrap();
        assert_eq!(s.count, 11);
        assert!((s.d10_nm - 2.0).abs() < 1e-12);
        assert!((s.d50_nm - 6.0).abs() < 1e-12);
        assert!((s.d90_nm - 10.0).abs() < 1e-12);
        assert_eq!((s.min_nm, s.max_nm), (1.0, 11.0));
        assert!((s.mean_nm - 6.0).abs() < 1e-12);
        // Sample variance of 1..=11 is 11.
        assert!((s.std_nm - 11f64.sqrt()).abs() < 1e-12);
        assert!((s.cv - 11f64.sqrt() / 6.0).abs() < 1e-12);
        // Between order statistics: [1, 2, 3, 4] → median 2.5, D10 at position 0.3 → 1.3.
        let s = size_stats(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert!((s.d50_nm - 2.5).abs() < 1e-12);
        assert!((s.d10_nm - 1.3).abs() < 1e-12);
        assert!((s.d90_nm - 3.7).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(size_stats(&[]).is_none());
        assert!(size_stats(&[f64::NAN]).is_none());
        let one = size_stats(&[5.0, f64::INFINITY]).unwrap();
        assert_eq!(one.count, 1);
        assert_eq!(
            (one.std_nm, one.cv, one.d10_nm, one.d90_nm),
            (0.0, 0.0, 5.0, 5.0)
        );
        assert_eq!(percentile_sorted(&[1.0], 1.5), None);
    }
}
