//! Splitting compact agglomerates that the distance-map watershed leaves whole.
//!
//! Three or more particles touching around a common point close the small gap between them
//! once the image is blurred, and the distance map of the blob then rises towards the cluster's
//! middle instead of dipping between the particles: no saddle, no split. Such a blob is
//! recognisable by two facts that a single particle does not share: it is clearly larger than
//! the typical particle, and it is clearly non-convex (solidity, area over convex-hull area, is
//! lowered by the notches between the members).
//!
//! For such a blob, partitions into `k = 2, 3, …, round(A/A_typical) + 1` parts are tried:
//! k-means on the pixel coordinates (Lloyd's algorithm, deterministic start on the blob's
//! core), and the same refined into an approximate power diagram of discs (see
//! [`power_refine`]), which cuts touching discs of unequal sizes along their radical lines.
//! Each partition is scored by its least *compact* part, compactness being the part's area
//! over the area of its largest inscribed disc: a particle clipped by its neighbours' cut lines
//! scores ≈ 1.0–1.4 (the more, the smaller it is in pixels), a part that still holds two
//! particles ≈ 2, and a particle wrongly cut in two, three or four pieces 2.0, 1.55 or 1.46.
//! Too many parts and too few both raise the score, so the best-scoring partition is kept if
//! its score is at most [`MAX_COMPACTNESS`]; otherwise the blob stays whole.

use crate::components::BBox;
use crate::distance::squared_distance_to_outside;
use crate::shape::{convex_hull, polygon_area};

/// A blob is a split candidate when its area is at least this multiple of the typical area …
const MIN_AREA_RATIO: f64 = 1.5;
/// … and its solidity is below this (single compact particles are ≳ 0.95, a touching pair or
/// triangle of discs ≈ 0.88–0.90).
const MAX_SOLIDITY: f64 = 0.92;
/// Largest accepted area / inscribed-disc area of a part.
const MAX_COMPACTNESS: f64 = 1.5;
/// Each part of an accepted split must have at least this fraction of the typical area.
const MIN_PART_RATIO: f64 = 0.2;
/// Upper bound on the number of members considered.
const MAX_MEMBERS: usize = 16;
/// Lloyd iterations (the assignment is usually stable after a handful).
const MAX_ITERATIONS: usize = 50;

/// Solidity of a pixel set from the convex hull of its pixel centres. The number of lattice
/// points in a convex lattice polygon is `A + B/2 + 1` (Pick's theorem), so `A_hull +
/// P_hull/2 + 1` is the pixel count a digitally convex set with that hull would have; the
/// ratio is ≈ 1 for convex shapes at any resolution.
pub(crate) fn pixel_solidity(pixels: &[(usize, usize)]) -> f64 {
    if pixels.len() < 3 {
        return 1.0;
    }
    // Row extremes suffice for the hull.
    let y_min = pixels.iter().map(|p| p.1).min().unwrap_or(0);
    let y_max = pixels.iter().map(|p| p.1).max().unwrap_or(0);
    let mut extremes = vec![(usize::MAX, 0usize); y_max - y_min + 1];
    for &(x, y) in pixels {
        let e = &mut extremes[y - y_min];
        e.0 = e.0.min(x);
        e.1 = e.1.max(x);
    }
    let points: Vec<(f64, f64)> = extremes
        .iter()
        .enumerate()
        .filter(|(_, e)| e.0 != usize::MAX)
        .flat_map(|(row, &(x0, x1))| {
            let y = (y_min + row) as f64;
            [(x0 as f64, y), (x1 as f64, y)]
        })
        .collect();
    let hull = convex_hull(points);
    let perimeter: f64 = (0..hull.len())
        .map(|k| {
            let (p, q) = (hull[k], hull[(k + 1) % hull.len()]);
            ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt()
        })
        .sum();
    let convex_count = polygon_area(&hull) + 0.5 * perimeter + 1.0;
    (pixels.len() as f64 / convex_count).min(1.0)
}

/// Splits agglomerates in `labels` (labels `1..=count`, bounding boxes `boxes`) in place. New
/// labels are appended after `count`; returns the new label count and the number of blobs
/// split.
pub(crate) fn split_agglomerates(
    labels: &mut [u32],
    boxes: &[BBox],
    width: usize,
    height: usize,
    typical_area: f64,
    count: u32,
) -> (u32, usize) {
    let mut next_label = count;
    let mut split_blobs = 0usize;
    let mut pixels: Vec<(usize, usize)> = Vec::new();
    for (k, bbox) in boxes.iter().enumerate() {
        let label = k as u32 + 1;
        pixels.clear();
        for y in bbox.y0..bbox.y1 {
            for x in bbox.x0..bbox.x1 {
                if labels[y * width + x] == label {
                    pixels.push((x, y));
                }
            }
        }
        let area = pixels.len() as f64;
        if typical_area <= 0.0
            || area < MIN_AREA_RATIO * typical_area
            || pixel_solidity(&pixels) >= MAX_SOLIDITY
        {
            continue;
        }
        // The blob in its own box (1 px margin, so the distance map sees its border).
        let b = bbox.expanded(1, width, height);
        let (bw, bh) = (b.width(), b.height());
        let local: Vec<usize> = pixels
            .iter()
            .map(|&(x, y)| (y - b.y0) * bw + (x - b.x0))
            .collect();
        let mut inside = vec![false; bw * bh];
        for &i in &local {
            inside[i] = true;
        }
        let distance2 = squared_distance_to_outside(&inside, bw, bh);
        let depth: Vec<f64> = local.iter().map(|&i| distance2[i]).collect();
        let most = ((area / typical_area).round() as usize + 1).clamp(2, MAX_MEMBERS);
        // Best partition: the one whose least compact part is most compact.
        let mut best: Option<(f64, Vec<u32>)> = None;
        for members in 2..=most {
            let (k_means_assignment, centres) = k_means(&pixels, &depth, members);
            let power_assignment = power_refine(&pixels, k_means_assignment.clone(), centres);
            for assignment in [k_means_assignment, power_assignment] {
                let mut parts = vec![0u32; bw * bh];
                for (&i, &a) in local.iter().zip(&assignment) {
                    parts[i] = a as u32 + 1;
                }
                let score = worst_compactness(&parts, &local, bw, bh, members, typical_area);
                if let Some(score) = score {
                    if best.as_ref().is_none_or(|(s, _)| score < *s) {
                        best = Some((score, parts));
                    }
                }
            }
        }
        let Some((score, parts)) = best else {
            continue;
        };
        if score > MAX_COMPACTNESS {
            continue;
        }
        let members = parts.iter().copied().max().unwrap_or(1);
        // Part 1 keeps the label, the others get new ones.
        for (&(x, y), &i) in pixels.iter().zip(&local) {
            let part = parts[i];
            if part > 1 {
                labels[y * width + x] = next_label + part - 1;
            }
        }
        next_label += members - 1;
        split_blobs += 1;
    }
    (next_label, split_blobs)
}

/// The largest compactness (area / inscribed-disc area) among the parts (labels
/// `1..=members` in `parts`, over the pixels `local` of a `bw × bh` box); `None` if a part is
/// too small to be a particle.
fn worst_compactness(
    parts: &[u32],
    local: &[usize],
    bw: usize,
    bh: usize,
    members: usize,
    typical_area: f64,
) -> Option<f64> {
    let mut areas = vec![0usize; members + 1];
    for &i in local {
        areas[parts[i] as usize] += 1;
    }
    let mut own = vec![false; bw * bh];
    let mut worst: f64 = 0.0;
    for part in 1..=members as u32 {
        let area = areas[part as usize] as f64;
        if area < MIN_PART_RATIO * typical_area {
            return None;
        }
        for &i in local {
            own[i] = parts[i] == part;
        }
        let d2 = squared_distance_to_outside(&own, bw, bh);
        let deepest = local.iter().map(|&i| d2[i]).fold(0.0, f64::max).sqrt();
        // A pixel centre at distance D from the nearest outside centre is about D − 0.5 from
        // the boundary between them.
        let inscribed = deepest - 0.5;
        if inscribed < 1.0 {
            return None;
        }
        worst = worst.max(area / (std::f64::consts::PI * inscribed * inscribed));
    }
    Some(worst)
}

/// Refines a k-means partition into an approximate power diagram of discs by Lloyd-type
/// iterations in which a pixel goes to the part minimising the power
/// distance `|p − c|² − A/π` (centroid `c`, area `A` of the part). Touching discs of radii
/// `r_i` are split by a power diagram with weights `r_i²` along their radical lines, and that
/// partition is a fixed point of the iteration (each part's centroid and area are those of its
/// disc), whereas plain k-means would move the cut into the larger of two unequal discs.
fn power_refine(
    pixels: &[(usize, usize)],
    mut assignment: Vec<usize>,
    mut centres: Vec<(f64, f64)>,
) -> Vec<usize> {
    let k = centres.len();
    let position = |i: usize| (pixels[i].0 as f64, pixels[i].1 as f64);
    for _ in 0..MAX_ITERATIONS {
        let mut sums = vec![(0.0f64, 0.0f64, 0usize); k];
        for (i, &a) in assignment.iter().enumerate() {
            let p = position(i);
            sums[a].0 += p.0;
            sums[a].1 += p.1;
            sums[a].2 += 1;
        }
        let mut weights = vec![0.0f64; k];
        for ((centre, weight), s) in centres.iter_mut().zip(&mut weights).zip(&sums) {
            if s.2 > 0 {
                *centre = (s.0 / s.2 as f64, s.1 / s.2 as f64);
                *weight = s.2 as f64 / std::f64::consts::PI;
            }
        }
        if !assign_to_nearest(pixels, &mut assignment, &centres, &weights) {
            break;
        }
    }
    assignment
}

/// Moves each pixel to the centre with the smallest power distance `|p − c|² − w` (plain
/// Euclidean distance when every weight is 0); ties go to the lower index. Returns whether any
/// pixel changed part.
fn assign_to_nearest(
    pixels: &[(usize, usize)],
    assignment: &mut [usize],
    centres: &[(f64, f64)],
    weights: &[f64],
) -> bool {
    let mut changed = false;
    for (&(x, y), a) in pixels.iter().zip(assignment.iter_mut()) {
        let (px, py) = (x as f64, y as f64);
        let mut best = (f64::INFINITY, 0usize);
        for (c, (centre, weight)) in centres.iter().zip(weights).enumerate() {
            let power = (px - centre.0).powi(2) + (py - centre.1).powi(2) - weight;
            if power < best.0 {
                best = (power, c);
            }
        }
        if *a != best.1 {
            *a = best.1;
            changed = true;
        }
    }
    changed
}

/// Lloyd's k-means; returns each pixel's cluster and the cluster centroids. Deterministic:
/// fixed initialisation, fixed iteration order, ties to the lower index.
fn k_means(pixels: &[(usize, usize)], depth: &[f64], k: usize) -> (Vec<usize>, Vec<(f64, f64)>) {
    let max_depth = depth.iter().copied().fold(0.0, f64::max);
    let core: Vec<usize> = (0..pixels.len())
        .filter(|&i| depth[i] >= 0.25 * max_depth) // squared depths: ≥ half the depth
        .collect();
    let position = |i: usize| (pixels[i].0 as f64, pixels[i].1 as f64);
    let mut centres: Vec<(f64, f64)> = Vec::with_capacity(k);
    let deepest = (0..pixels.len())
        .max_by(|&a, &b| depth[a].total_cmp(&depth[b]).then(b.cmp(&a)))
        .unwrap_or(0);
    centres.push(position(deepest));
    let mut nearest = vec![f64::INFINITY; pixels.len()];
    while centres.len() < k {
        let last = centres[centres.len() - 1];
        let mut best: Option<(f64, usize)> = None;
        for &i in &core {
            let p = position(i);
            let d = (p.0 - last.0).powi(2) + (p.1 - last.1).powi(2);
            nearest[i] = nearest[i].min(d);
            if best.is_none_or(|(bd, _)| nearest[i] > bd) {
                best = Some((nearest[i], i));
            }
        }
        match best {
            Some((_, i)) => centres.push(position(i)),
            None => break,
        }
    }
    let k = centres.len();
    let mut assignment = vec![usize::MAX; pixels.len()];
    for _ in 0..MAX_ITERATIONS {
        if !assign_to_nearest(pixels, &mut assignment, &centres, &vec![0.0; k]) {
            break;
        }
        let mut sums = vec![(0.0f64, 0.0f64, 0usize); k];
        for (i, &a) in assignment.iter().enumerate() {
            let p = position(i);
            sums[a].0 += p.0;
            sums[a].1 += p.1;
            sums[a].2 += 1;
        }
        for (centre, s) in centres.iter_mut().zip(&sums) {
            if s.2 > 0 {
                *centre = (s.0 / s.2 as f64, s.1 / s.2 as f64);
            }
        }
    }
    (assignment, centres)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc_pixels(centres: &[(f64, f64, f64)], size: usize) -> Vec<(usize, usize)> {
        (0..size * size)
            .map(|i| (i % size, i / size))
            .filter(|&(x, y)| {
                centres.iter().any(|&(cx, cy, r)| {
                    (x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2) < r * r
                })
            })
            .collect()
    }

    fn single_label(pixels: &[(usize, usize)], size: usize) -> (Vec<u32>, BBox) {
        let mut labels = vec![0u32; size * size];
        let mut b = BBox::empty();
        for &(x, y) in pixels {
            labels[y * size + x] = 1;
            b.include(x, y);
        }
        (labels, b)
    }

    #[test]
    fn solidity_separates_discs_from_clusters() {
        let single = disc_pixels(&[(30.0, 30.0, 9.0)], 60);
        assert!(
            pixel_solidity(&single) > 0.95,
            "{}",
            pixel_solidity(&single)
        );
        let r = 9.0;
        let s = 1.92 * r;
        let triangle = disc_pixels(
            &[
                (20.0, 20.0, r),
                (20.0 + s, 20.0, r),
                (20.0 + 0.5 * s, 20.0 + 0.866 * s, r),
            ],
            60,
        );
        let solidity = pixel_solidity(&triangle);
        assert!(solidity < MAX_SOLIDITY, "{solidity}");
    }

    #[test]
    fn splits_a_closed_triangle_into_its_discs() {
        let (size, r) = (64usize, 9.0);
        let s = 1.9 * r;
        let centres = [
            (20.0, 20.0, r),
            (20.0 + s, 20.0, r),
            (20.0 + 0.5 * s, 20.0 + 0.866 * s, r),
        ];
        // Close the interstitial gap as the blur of a real image would.
        let gap = (20.0 + 0.5 * s, 20.0 + 0.2887 * s, 0.3 * r);
        let mut all = centres.to_vec();
        all.push(gap);
        let (mut labels, b) = single_label(&disc_pixels(&all, size), size);
        let typical = std::f64::consts::PI * r * r;
        let (count, split) = split_agglomerates(&mut labels, &[b], size, size, typical, 1);
        assert_eq!((count, split), (3, 1));
        // Each disc centre lies in a different part, and each part is about one disc.
        let at = |x: f64, y: f64| labels[y as usize * size + x as usize];
        let parts: Vec<u32> = centres.iter().map(|&(x, y, _)| at(x, y)).collect();
        assert!(parts[0] != parts[1] && parts[1] != parts[2] && parts[0] != parts[2]);
        for l in 1..=3 {
            let area = labels.iter().filter(|&&v| v == l).count() as f64;
            assert!((area / typical - 1.0).abs() < 0.15, "part {l}: {area}");
        }
    }

    #[test]
    fn splits_unequal_pair_without_cutting_the_large_one() {
        // A large disc with a small one overlapping it: the typical area is the small one's,
        // yet the result must be two parts, not the large disc cut into pieces.
        let size = 80usize;
        let (r_small, r_large) = (7.0, 16.0);
        let pair = [
            (30.0, 40.0, r_large),
            (30.0 + 0.93 * (r_small + r_large), 40.0, r_small),
        ];
        let (mut labels, b) = single_label(&disc_pixels(&pair, size), size);
        let typical = std::f64::consts::PI * r_small * r_small;
        let (count, split) = split_agglomerates(&mut labels, &[b], size, size, typical, 1);
        assert_eq!((count, split), (2, 1));
        let large = labels[40 * size + 30];
        let area = labels.iter().filter(|&&v| v == large).count() as f64;
        let expected = std::f64::consts::PI * r_large * r_large;
        assert!((area / expected - 1.0).abs() < 0.05, "{area} vs {expected}");
    }

    #[test]
    fn leaves_single_discs_alone() {
        let size = 64usize;
        let r = 9.0;
        let (mut labels, b) = single_label(&disc_pixels(&[(32.0, 32.0, 2.0 * r)], size), size);
        let typical = std::f64::consts::PI * r * r;
        let (count, split) = split_agglomerates(&mut labels, &[b], size, size, typical, 1);
        assert_eq!((count, split), (1, 0));
    }
}
