//! Global thresholding (Otsu) and small order-statistics helpers.

/// Number of histogram bins used by [`otsu`]. With 16-bit data and the usual 30–50 % contrast
/// a bin is far narrower than the gap between the two phases.
const OTSU_BINS: usize = 4096;

/// Median of a slice (reorders it). `None` for an empty slice. For an even count the two
/// middle values are averaged.
pub(crate) fn median_in_place(values: &mut [f32]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper_median, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper_median = *upper_median as f64;
    if n % 2 == 1 {
        return Some(upper_median);
    }
    let lower_median = lower.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    Some(0.5 * (lower_median + upper_median))
}

/// Result of Otsu's method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OtsuThreshold {
    /// Values `> threshold` form the upper class.
    pub threshold: f64,
    /// Fraction of values in the lower class.
    pub lower_fraction: f64,
}

/// Otsu's threshold (N. Otsu, "A threshold selection method from gray-level histograms",
/// IEEE Trans. SMC 9 (1979) 62–66): the cut that maximises the between-class variance
/// `w0 w1 (μ0 − μ1)²` of a histogram of `values`. `None` when all values are equal.
pub(crate) fn otsu(values: &[f32]) -> Option<OtsuThreshold> {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if values.is_empty() || hi <= lo {
        return None;
    }
    let (lo, hi) = (lo as f64, hi as f64);
    let scale = OTSU_BINS as f64 / (hi - lo);
    let mut histogram = vec![0u64; OTSU_BINS];
    for &v in values {
        let bin = (((v as f64 - lo) * scale) as usize).min(OTSU_BINS - 1);
        histogram[bin] += 1;
    }
    let bin_centre = |b: usize| lo + (b as f64 + 0.5) / scale;
    let total = values.len() as f64;
    let total_sum: f64 = histogram
        .iter()
        .enumerate()
        .map(|(b, &c)| c as f64 * bin_centre(b))
        .sum();
    let (mut count_lower, mut sum_lower) = (0.0, 0.0);
    // Where the two classes are separated by empty bins every cut in the gap scores the same;
    // the middle of that run of equal scores is then the natural choice.
    let (mut best_variance, mut first_best, mut last_best) = (-1.0, 0usize, 0usize);
    for (b, &c) in histogram.iter().enumerate().take(OTSU_BINS - 1) {
        count_lower += c as f64;
        sum_lower += c as f64 * bin_centre(b);
        let count_upper = total - count_lower;
        if count_lower == 0.0 || count_upper == 0.0 {
            continue;
        }
        let mean_lower = sum_lower / count_lower;
        let mean_upper = (total_sum - sum_lower) / count_upper;
        let variance = count_lower * count_upper * (mean_lower - mean_upper).powi(2);
        if variance > best_variance {
            best_variance = variance;
            first_best = b;
            last_best = b;
        } else if variance == best_variance {
            last_best = b;
        }
    }
    let best_bin = (first_best + last_best) / 2;
    let best_count: f64 = histogram[..=best_bin].iter().map(|&c| c as f64).sum();
    Some(OtsuThreshold {
        // Upper edge of the last bin of the lower class.
        threshold: lo + (best_bin as f64 + 1.0) / scale,
        lower_fraction: best_count / total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_in_place(&mut []), None);
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn otsu_separates_two_populations() {
        // 80 % at 10 ± 1, 20 % at 50 ± 1: the cut must fall between the populations and the
        // lower class must hold the 80 %.
        let mut values = Vec::new();
        for k in 0..800 {
            values.push(10.0 + (k % 21) as f32 / 10.0 - 1.0);
        }
        for k in 0..200 {
            values.push(50.0 + (k % 21) as f32 / 10.0 - 1.0);
        }
        let cut = otsu(&values).unwrap();
        assert!(cut.threshold > 11.0 && cut.threshold < 49.0, "{cut:?}");
        assert!((cut.lower_fraction - 0.8).abs() < 1e-9);
        assert!(otsu(&[5.0; 10]).is_none());
        assert!(otsu(&[]).is_none());
    }
}
