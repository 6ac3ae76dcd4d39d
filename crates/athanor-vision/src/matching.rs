//! Instance-level comparison of a predicted label map with a ground-truth label map.

use crate::VisionError;
use serde::{Deserialize, Serialize};

/// How well predicted instances match the truth at an IoU threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchReport {
    /// Truth instances matched one-to-one by a prediction with IoU ≥ the threshold.
    pub true_positives: usize,
    /// Predictions without a match (excluding those assigned to ignored truth).
    pub false_positives: usize,
    /// Truth instances without a match (excluding ignored ones).
    pub false_negatives: usize,
    /// `TP / (TP + FP)`; 1 when there are no predictions.
    pub precision: f64,
    /// `TP / (TP + FN)`; 1 when there is no truth.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Mean IoU of the matched pairs; 0 when nothing matched.
    pub mean_matched_iou: f64,
}

/// Matches predicted instances to truth instances by intersection-over-union.
///
/// `predicted` and `truth` are row-major label maps of `width × height` (0 = background).
/// Pairs are matched greedily in order of decreasing IoU (ties by truth label, then predicted
/// label), each instance at most once, while IoU ≥ `iou_threshold`; for thresholds ≥ 0.5 the
/// matching is unique anyway, since an instance can overlap at most one other by more than half.
///
/// `ignore_truth` lists truth labels left out of the score (e.g. particles cut by the image
/// border). A prediction is left out with them when the truth instance it overlaps most (by
/// pixel count, ignoring background) is an ignored one.
pub fn match_instances(
    predicted: &[u32],
    truth: &[u32],
    width: usize,
    height: usize,
    iou_threshold: f64,
    ignore_truth: &[u32],
) -> Result<MatchReport, VisionError> {
    let n = crate::image::checked_len(width, height)?;
    for (what, map) in [("predicted labels", predicted), ("truth labels", truth)] {
        if map.len() != n {
            return Err(VisionError::SizeMismatch {
                what,
                expected: n,
                actual: map.len(),
            });
        }
    }
    if !(iou_threshold > 0.0 && iou_threshold <= 1.0) {
        return Err(VisionError::InvalidConfig {
            field: "iou_threshold",
            value: iou_threshold,
            reason: "expected 0 < IoU threshold <= 1",
        });
    }
    let max_p = predicted.iter().copied().max().unwrap_or(0) as usize;
    let max_t = truth.iter().copied().max().unwrap_or(0) as usize;
    let mut area_p = vec![0u64; max_p + 1];
    let mut area_t = vec![0u64; max_t + 1];
    // Overlapping pairs as (truth << 32 | predicted), sorted and run-length counted: no hash
    // map, so the result cannot depend on iteration order.
    let mut pairs: Vec<u64> = Vec::new();
    for (&p, &t) in predicted.iter().zip(truth) {
        area_p[p as usize] += 1;
        area_t[t as usize] += 1;
        if p != 0 && t != 0 {
            pairs.push(((t as u64) << 32) | p as u64);
        }
    }
    pairs.sort_unstable();
    let mut overlaps: Vec<(u32, u32, u64)> = Vec::new(); // (truth, predicted, intersection)
    for run in pairs.chunk_by(|a, b| a == b) {
        let key = run[0];
        overlaps.push(((key >> 32) as u32, key as u32, run.len() as u64));
    }
    let mut ignored = vec![false; max_t + 1];
    for &t in ignore_truth {
        if let Some(flag) = ignored.get_mut(t as usize) {
            *flag = true;
        }
    }
    // Each prediction's dominant truth instance (largest intersection; ties → smaller label).
    let mut dominant: Vec<(u64, u32)> = vec![(0, 0); max_p + 1];
    for &(t, p, count) in &overlaps {
        let best = &mut dominant[p as usize];
        if count > best.0 || (count == best.0 && t < best.1) {
            *best = (count, t);
        }
    }
    let prediction_ignored =
        |p: u32| -> bool { dominant[p as usize].0 > 0 && ignored[dominant[p as usize].1 as usize] };

    let mut candidates: Vec<(f64, u32, u32)> = overlaps
        .iter()
        .filter(|&&(t, p, _)| !ignored[t as usize] && !prediction_ignored(p))
        .map(|&(t, p, count)| {
            let union = area_t[t as usize] + area_p[p as usize] - count;
            (count as f64 / union as f64, t, p)
        })
        .filter(|&(iou, _, _)| iou >= iou_threshold)
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut truth_used = vec![false; max_t + 1];
    let mut predicted_used = vec![false; max_p + 1];
    let (mut true_positives, mut iou_sum) = (0usize, 0.0);
    for (iou, t, p) in candidates {
        if truth_used[t as usize] || predicted_used[p as usize] {
            continue;
        }
        truth_used[t as usize] = true;
        predicted_used[p as usize] = true;
        true_positives += 1;
        iou_sum += iou;
    }
    let truth_counted = (1..=max_t)
        .filter(|&t| area_t[t] > 0 && !ignored[t])
        .count();
    let predicted_counted = (1..=max_p)
        .filter(|&p| area_p[p] > 0 && !prediction_ignored(p as u32))
        .count();
    let false_positives = predicted_counted - true_positives;
    let false_negatives = truth_counted - true_positives;
    let precision = if predicted_counted == 0 {
        1.0
    } else {
        true_positives as f64 / predicted_counted as f64
    };
    let recall = if truth_counted == 0 {
        1.0
    } else {
        true_positives as f64 / truth_counted as f64
    };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Ok(MatchReport {
        true_positives,
        false_positives,
        false_negatives,
        precision,
        recall,
        f1,
        mean_matched_iou: if true_positives > 0 {
            iou_sum / true_positives as f64
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rows: &[&str]) -> Vec<u32> {
        rows.iter()
            .flat_map(|r| r.chars().map(|c| c.to_digit(10).unwrap_or(0)))
            .collect()
    }

    #[test]
    fn counts_matches_misses_and_ignored() {
        let truth = map(&[
            "1100022", //
            "1100022", //
            "0000000", //
            "3300044", //
            "3300044",
        ]);
        // 1: exact. 2: ignored truth (edge), predicted 6 covers it → left out. 3: split into
        // two halves (IoU 0.5 each → one matches at threshold 0.5, the other is a FP).
        // 4: missed. 5: spurious blob.
        let predicted = map(&[
            "1100066", //
            "1100066", //
            "0005000", //
            "3700000", //
            "3700000",
        ]);
        let report = match_instances(&predicted, &truth, 7, 5, 0.5, &[2]).unwrap();
        assert_eq!(report.true_positives, 2);
        assert_eq!(report.false_positives, 2); // 7 and 5
        assert_eq!(report.false_negatives, 1); // 4
        assert!((report.precision - 0.5).abs() < 1e-12);
        assert!((report.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((report.f1 - 2.0 * 0.5 * (2.0 / 3.0) / (0.5 + 2.0 / 3.0)).abs() < 1e-12);
        assert!((report.mean_matched_iou - 0.75).abs() < 1e-12);
        // A stricter threshold rejects the half match.
        let strict = match_instances(&predicted, &truth, 7, 5, 0.75, &[2]).unwrap();
        assert_eq!(strict.true_positives, 1);
        // Identical maps are perfect; mismatched sizes are errors.
        let same = match_instances(&truth, &truth, 7, 5, 0.5, &[]).unwrap();
        assert_eq!((same.true_positives, same.f1), (4, 1.0));
        assert!(match_instances(&truth, &truth[1..], 7, 5, 0.5, &[]).is_err());
        assert!(match_instances(&truth, &truth, 7, 5, 0.0, &[]).is_err());
    }
}
