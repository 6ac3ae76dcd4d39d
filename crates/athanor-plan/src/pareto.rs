//! Pareto dominance, non-dominated sorting and exact hypervolume.
//!
//! Convention: every objective is **maximised** (negate minimised objectives first, as
//! [`crate::Planner::pareto_front`] does). A point `a` *dominates* `b` when `a_i ≥ b_i` for all
//! `i` and `a_i > b_i` for at least one.
//!
//! * [`non_dominated_sort`] — the fast non-dominated sort of Deb et al. (2002), "A fast and
//!   elitist multiobjective genetic algorithm: NSGA-II", IEEE TEC 6(2): `O(M N²)`.
//! * [`hypervolume`] — the Lebesgue measure of the region dominated by the points and
//!   dominating the reference point `r`:
//!   `HV(P) = λ(⋃_{p∈P} [r, p])`. Exact for any number of objectives: one objective is a
//!   difference, two a sort-and-sweep in `O(N log N)`, and more objectives are sliced along the
//!   last objective, each slab contributing its thickness times the `(M−1)`-dimensional
//!   hypervolume of the points above it — the "hypervolume by slicing objectives" (HSO)
//!   algorithm of While, Hingston, Barone & Huband (2006), IEEE TEC 10(1). Three objectives
//!   cost `O(N² log N)`; HSO is exponential in `M`, so keep fronts small beyond four.
//! * [`hypervolume_improvement`] — `HV(P ∪ {y}) − HV(P)`, the quantity expected
//!   hypervolume improvement acquisitions average.

/// Whether `a` Pareto-dominates `b` (all objectives maximised).
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x < y {
            return false;
        }
        if x > y {
            strictly = true;
        }
    }
    strictly
}

/// Fronts of the non-dominated sort: front 0 holds the indices of the non-dominated points,
/// front 1 those dominated only by front 0, and so on. Indices within a front are ascending.
/// Points with a non-finite coordinate are left out.
pub fn non_dominated_sort(points: &[Vec<f64>]) -> Vec<Vec<usize>> {
    let valid: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].iter().all(|v| v.is_finite()))
        .collect();
    let mut dominated_by_count = vec![0usize; points.len()];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); points.len()];
    for (a_pos, &a) in valid.iter().enumerate() {
        for &b in &valid[a_pos + 1..] {
            if dominates(&points[a], &points[b]) {
                dominates_list[a].push(b);
                dominated_by_count[b] += 1;
            } else if dominates(&points[b], &points[a]) {
                dominates_list[b].push(a);
                dominated_by_count[a] += 1;
            }
        }
    }
    let mut fronts = Vec::new();
    let mut current: Vec<usize> = valid
        .iter()
        .copied()
        .filter(|&i| dominated_by_count[i] == 0)
        .collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &a in &current {
            for &b in &dominates_list[a] {
                dominated_by_count[b] -= 1;
                if dominated_by_count[b] == 0 {
                    next.push(b);
                }
            }
        }
        next.sort_unstable();
        fronts.push(current);
        current = next;
    }
    fronts
}

/// Indices of the non-dominated points (front 0 of [`non_dominated_sort`]), ascending.
/// Duplicated points are all kept.
pub fn pareto_front_indices(points: &[Vec<f64>]) -> Vec<usize> {
    non_dominated_sort(points)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Exact hypervolume dominated by `points` with respect to `reference` (all objectives
/// maximised). Points that do not strictly dominate the reference in every objective add
/// nothing; an empty set has hypervolume 0. Every point must have `reference.len()`
/// coordinates (extra coordinates are ignored, missing ones make the point count as absent).
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let m = reference.len();
    if m == 0 {
        return 0.0;
    }
    let useful: Vec<&[f64]> = points
        .iter()
        .filter(|p| p.len() >= m && p[..m].iter().zip(reference).all(|(v, r)| v > r))
        .map(|p| &p[..m])
        .collect();
    hypervolume_of(useful, reference)
}

/// Hypervolume of points already known to dominate the reference strictly.
fn hypervolume_of(mut points: Vec<&[f64]>, reference: &[f64]) -> f64 {
    let m = reference.len();
    if points.is_empty() {
        return 0.0;
    }
    match m {
        1 => {
            points
                .iter()
                .map(|p| p[0])
                .fold(f64::NEG_INFINITY, f64::max)
                - reference[0]
        }
        2 => {
            // Sweep in decreasing first objective; each point adds the strip above the best
            // second objective seen so far.
            points.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
            let mut volume = 0.0;
            let mut best_second = reference[1];
            for p in points {
                if p[1] > best_second {
                    volume += (p[0] - reference[0]) * (p[1] - best_second);
                    best_second = p[1];
                }
            }
            volume
        }
        _ => {
            // HSO: slice along the last objective, from the top down.
            let last = m - 1;
            points.sort_by(|a, b| b[last].total_cmp(&a[last]));
            let mut volume = 0.0;
            for i in 0..points.len() {
                let top = points[i][last];
                let bottom = points.get(i + 1).map_or(reference[last], |p| p[last]);
                let thickness = top - bottom;
                if thickness <= 0.0 {
                    continue;
                }
                let slab: Vec<&[f64]> = points[..=i].iter().map(|p| &p[..last]).collect();
                volume += thickness * hypervolume_of(slab, &reference[..last]);
            }
            volume
        }
    }
}

/// Hypervolume improvement of adding `candidate` to `front`: `HV(front ∪ {candidate}) −
/// HV(front)`, zero if the candidate is dominated by the front or does not dominate the
/// reference.
pub fn hypervolume_improvement(candidate: &[f64], front: &[Vec<f64>], reference: &[f64]) -> f64 {
    let m = reference.len();
    if candidate.len() < m || !candidate[..m].iter().zip(reference).all(|(v, r)| v > r) {
        return 0.0;
    }
    if front
        .iter()
        .any(|p| p.len() >= m && (p[..m] == candidate[..m] || dominates(&p[..m], &candidate[..m])))
    {
        return 0.0;
    }
    // The improvement is the volume of the candidate's box minus its intersection with the
    // front's region: clip every front point to the box and measure that.
    let clipped: Vec<Vec<f64>> = front
        .iter()
        .filter(|p| p.len() >= m)
        .map(|p| {
            p[..m]
                .iter()
                .zip(candidate)
                .map(|(a, c)| a.min(*c))
                .collect()
        })
        .collect();
    let box_volume: f64 = candidate[..m]
        .iter()
        .zip(reference)
        .map(|(c, r)| c - r)
        .product();
    (box_volume - hypervolume(&clipped, reference)).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_and_sorting_on_a_known_set() {
        assert!(dominates(&[2.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[2.0, 2.0], &[2.0, 2.0]));
        assert!(!dominates(&[3.0, 0.0], &[0.0, 3.0]));
        let points = vec![
            vec![1.0, 5.0], // 0: front 0
            vec![3.0, 3.0], // 1: front 0
            vec![5.0, 1.0], // 2: front 0
            vec![2.0, 2.0], // 3: dominated by 1
            vec![1.0, 1.0], // 4: dominated by 3
            vec![0.0, 4.0], // 5: dominated by 0
            vec![f64::NAN, 9.0],
        ];
        let fronts = non_dominated_sort(&points);
        assert_eq!(fronts, vec![vec![0, 1, 2], vec![3, 5], vec![4]]);
        assert_eq!(pareto_front_indices(&points), vec![0, 1, 2]);
        assert!(pareto_front_indices(&[]).is_empty());
    }

    #[test]
    fn hypervolume_matches_hand_computed_cases() {
        // Two objectives: staircase of (1,3), (2,2), (3,1) over the origin = 3 + 2 + 1.
        let front = vec![vec![1.0, 3.0], vec![2.0, 2.0], vec![3.0, 1.0]];
        assert!((hypervolume(&front, &[0.0, 0.0]) - 6.0).abs() < 1e-12);
        // A dominated point and a point outside the reference change nothing.
        let mut more = front.clone();
        more.push(vec![1.0, 1.0]);
        more.push(vec![10.0, -1.0]);
        assert!((hypervolume(&more, &[0.0, 0.0]) - 6.0).abs() < 1e-12);
        // One objective.
        assert_eq!(hypervolume(&[vec![2.0], vec![3.5]], &[1.0]), 2.5);
        // Three objectives: a unit cube plus a 2×1×1 box overlapping it in half: 1 + 2 − 1.
        let boxes = vec![vec![1.0, 1.0, 1.0], vec![2.0, 1.0, 0.5]];
        assert!((hypervolume(&boxes, &[0.0, 0.0, 0.0]) - 1.5).abs() < 1e-12);
        // Three objectives, three axis-aligned slabs: inclusion–exclusion by hand.
        let slabs = vec![
            vec![3.0, 1.0, 1.0],
            vec![1.0, 3.0, 1.0],
            vec![1.0, 1.0, 3.0],
        ];
        // Each box 3, pairwise intersections 1, triple intersection 1: 9 − 3 + 1 = 7.
        assert!((hypervolume(&slabs, &[0.0, 0.0, 0.0]) - 7.0).abs() < 1e-12);
        // Four objectives: one box is its product.
        assert!((hypervolume(&[vec![2.0, 3.0, 1.0, 0.5]], &[0.0; 4]) - 3.0).abs() < 1e-12);
        // Four objectives by inclusion–exclusion of two boxes.
        let two = vec![vec![2.0, 1.0, 1.0, 1.0], vec![1.0, 2.0, 1.0, 1.0]];
        assert!((hypervolume(&two, &[0.0; 4]) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn hypervolume_improvement_is_the_difference_of_volumes() {
        let front = vec![vec![1.0, 3.0], vec![3.0, 1.0]];
        let r = [0.0, 0.0];
        let y = [2.0, 2.0];
        // The new point adds the unit square [1,2]×[1,2].
        assert!((hypervolume_improvement(&y, &front, &r) - 1.0).abs() < 1e-12);
        assert_eq!(hypervolume_improvement(&[0.5, 0.5], &front, &r), 0.0);
        assert_eq!(hypervolume_improvement(&[1.0, 3.0], &front, &r), 0.0);
        let front3 = vec![vec![1.0, 2.0, 3.0], vec![3.0, 1.0, 2.0]];
        let y3 = [2.0, 2.5, 1.5];
        let mut with = front3.clone();
        with.push(y3.to_vec());
        let expected = hypervolume(&with, &[0.0; 3]) - hypervolume(&front3, &[0.0; 3]);
        assert!(expected > 0.0);
        assert!((hypervolume_improvement(&y3, &front3, &[0.0; 3]) - expected).abs() < 1e-12);
    }
}
