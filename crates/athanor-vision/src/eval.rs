//! Scoring a segmentation against hand-made ground truth, the way the segmentation literature
//! (and the EMPS benchmark) does: instance matching at IoU ≥ 0.5, F1, mean matched IoU, the
//! particle-count error and the error of the size distribution's D50 and D90.
//!
//! Sizes are compared in pixels as equivalent circular diameters of the label areas, so no
//! calibration is needed: a relative D50 error is the same in pixels and in nanometres.

use crate::matching::{match_instances, MatchReport};
use crate::stats::percentile_sorted;
use crate::VisionError;
use serde::Serialize;

/// How one image's segmentation compares with its ground truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageScore {
    /// The image's identifier (e.g. its file stem).
    pub id: String,
    /// Instance matching at the chosen IoU threshold.
    pub matching: MatchReport,
    /// Instances in the prediction.
    pub predicted_count: usize,
    /// Instances in the ground truth.
    pub truth_count: usize,
    /// `(predicted − truth) / truth`; `None` without truth instances.
    pub count_error: Option<f64>,
    /// Relative error of the median equivalent circular diameter; `None` if either side is empty.
    pub d50_error: Option<f64>,
    /// Relative error of the 90th-percentile diameter; `None` if either side is empty.
    pub d90_error: Option<f64>,
}

/// Averages over a set of images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalSummary {
    /// Images scored.
    pub images: usize,
    /// Mean of the per-image F1 scores.
    pub mean_f1: f64,
    /// Median of the per-image F1 scores.
    pub median_f1: f64,
    /// F1 over all instances of all images pooled (micro average).
    pub pooled_f1: f64,
    /// Mean of the per-image mean matched IoU (images with a match).
    pub mean_matched_iou: f64,
    /// Median of |count error| over images with truth instances.
    pub median_abs_count_error: Option<f64>,
    /// Median of |D50 error| over images where both sides have instances.
    pub median_abs_d50_error: Option<f64>,
    /// Median of |D90 error| over images where both sides have instances.
    pub median_abs_d90_error: Option<f64>,
}

/// Equivalent circular diameters (pixels) of every instance of a label map, sorted.
fn instance_diameters(labels: &[u32]) -> Vec<f64> {
    let max = labels.iter().copied().max().unwrap_or(0) as usize;
    let mut areas = vec![0u64; max + 1];
    for &l in labels {
        areas[l as usize] += 1;
    }
    let mut d: Vec<f64> = areas
        .iter()
        .skip(1)
        .filter(|&&a| a > 0)
        .map(|&a| (4.0 * a as f64 / std::f64::consts::PI).sqrt())
        .collect();
    d.sort_by(f64::total_cmp);
    d
}

fn relative(predicted: f64, truth: f64) -> Option<f64> {
    (truth > 0.0).then(|| predicted / truth - 1.0)
}

/// Scores one predicted label map against the truth (both row-major, 0 = background).
pub fn score_image(
    id: &str,
    predicted: &[u32],
    truth: &[u32],
    width: usize,
    height: usize,
    iou_threshold: f64,
) -> Result<ImageScore, VisionError> {
    let matching = match_instances(predicted, truth, width, height, iou_threshold, &[])?;
    let dp = instance_diameters(predicted);
    let dt = instance_diameters(truth);
    let error = |q: f64| match (percentile_sorted(&dp, q), percentile_sorted(&dt, q)) {
        (Some(p), Some(t)) => relative(p, t),
        _ => None,
    };
    Ok(ImageScore {
        id: id.to_string(),
        predicted_count: dp.len(),
        truth_count: dt.len(),
        count_error: relative(dp.len() as f64, dt.len() as f64),
        d50_error: error(0.5),
        d90_error: error(0.9),
        matching,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    percentile_sorted(&v, 0.5)
}

/// Aggregates per-image scores.
pub fn summarize(scores: &[ImageScore]) -> EvalSummary {
    let n = scores.len();
    let f1: Vec<f64> = scores.iter().map(|s| s.matching.f1).collect();
    let (tp, fp, fn_) = scores.iter().fold((0, 0, 0), |acc, s| {
        (
            acc.0 + s.matching.true_positives,
            acc.1 + s.matching.false_positives,
            acc.2 + s.matching.false_negatives,
        )
    });
    let pooled_f1 = if tp + fp + fn_ == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    };
    let ious: Vec<f64> = scores
        .iter()
        .filter(|s| s.matching.true_positives > 0)
        .map(|s| s.matching.mean_matched_iou)
        .collect();
    let abs_of = |f: fn(&ImageScore) -> Option<f64>| -> Vec<f64> {
        scores.iter().filter_map(f).map(f64::abs).collect()
    };
    EvalSummary {
        images: n,
        mean_f1: if n == 0 {
            0.0
        } else {
            f1.iter().sum::<f64>() / n as f64
        },
        median_f1: median(f1).unwrap_or(0.0),
        pooled_f1,
        mean_matched_iou: if ious.is_empty() {
            0.0
        } else {
            ious.iter().sum::<f64>() / ious.len() as f64
        },
        median_abs_count_error: median(abs_of(|s| s.count_error)),
        median_abs_d50_error: median(abs_of(|s| s.d50_error)),
        median_abs_d90_error: median(abs_of(|s| s.d90_error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label map with square instances `(label, x0, y0, side)`.
    fn squares(w: usize, h: usize, items: &[(u32, usize, usize, usize)]) -> Vec<u32> {
        let mut m = vec![0u32; w * h];
        for &(l, x0, y0, s) in items {
            for y in y0..y0 + s {
                for x in x0..x0 + s {
                    m[y * w + x] = l;
                }
            }
        }
        m
    }

    #[test]
    fn perfect_segmentation_scores_one_and_zero_error() {
        let t = squares(40, 40, &[(1, 2, 2, 8), (2, 20, 20, 10)]);
        // Relabelled prediction: labels differ, instances are the same.
        let p: Vec<u32> = t.iter().map(|&l| if l == 0 { 0 } else { 10 + l }).collect();
        let s = score_image("a", &p, &t, 40, 40, 0.5).unwrap();
        assert_eq!(s.matching.f1, 1.0);
        assert_eq!(s.count_error, Some(0.0));
        assert!(s.d50_error.unwrap().abs() < 1e-12);
    }

    #[test]
    fn merged_pair_and_shrunken_particles_are_penalised() {
        let t = squares(40, 40, &[(1, 0, 0, 10), (2, 10, 0, 10), (3, 20, 20, 10)]);
        // Prediction merges 1 and 2 into one 20×12 blob (IoU with either 100/240 < 0.5), and
        // sees particle 3 smaller (8×8 instead of 10×10, IoU 0.64).
        let mut p = vec![0u32; 1600];
        for y in 0..12 {
            for x in 0..20 {
                p[y * 40 + x] = 1;
            }
        }
        for (i, v) in squares(40, 40, &[(2, 21, 21, 8)]).into_iter().enumerate() {
            if v != 0 {
                p[i] = v;
            }
        }
        let s = score_image("b", &p, &t, 40, 40, 0.5).unwrap();
        assert_eq!(s.matching.true_positives, 1, "only particle 3 matches");
        assert_eq!(s.matching.false_negatives, 2);
        assert_eq!(s.matching.false_positives, 1);
        assert!((s.count_error.unwrap() - (2.0 / 3.0 - 1.0)).abs() < 1e-12);
        assert!(
            s.d50_error.unwrap() > 0.0,
            "merging inflates the median size"
        );
        let summary = summarize(&[s.clone(), s]);
        assert_eq!(summary.images, 2);
        assert!((summary.pooled_f1 - 2.0 / (2.0 + 1.0 + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn empty_sides_give_no_size_error() {
        let t = squares(10, 10, &[(1, 1, 1, 3)]);
        let p = vec![0u32; 100];
        let s = score_image("c", &p, &t, 10, 10, 0.5).unwrap();
        assert_eq!(s.d50_error, None);
        assert_eq!(s.count_error, Some(-1.0));
        assert_eq!(s.matching.f1, 0.0);
        assert!(score_image("d", &p, &t, 10, 11, 0.5).is_err());
    }
}
