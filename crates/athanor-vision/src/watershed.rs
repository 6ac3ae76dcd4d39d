//! Splitting one connected blob into particles: marker-controlled watershed of the distance map
//! with markers chosen by their dynamics (h-maxima).
//!
//! The blob's pixels are flooded from the top of the distance map `D` downwards (a priority
//! flood in decreasing `D`, implemented with union–find, cf. Najman & Couprie, "Building the
//! component tree in quasi-linear time", IEEE TIP 15 (2006) 3531). Every local maximum starts a
//! basin. When two basins meet at level `L`, the one with the lower peak `P` is *significant*
//! if its dynamic `P − L` is at least `h(P)`; otherwise it is absorbed by the higher one. The
//! basins that survive are exactly the regional maxima of the h-maxima transform
//! (Soille, *Morphological Image Analysis*, 2nd ed., §6.3.5) and the flooding assigns every
//! pixel to one of them, which is the marker-controlled watershed of `−D`
//! (Vincent & Soille 1991; Beucher & Meyer 1993).
//!
//! `h` grows with the peak height: `h(P) = max(h_min, f·P)`. A touching pair of discs has a
//! neck roughly 0.3–0.5 of the smaller radius wide, so the smaller disc's dynamic is ≳ 0.5 of
//! its peak; the digitisation ripples on a single disc's distance map are ≲ 1 px. A relative
//! criterion keeps both statements true for small and large particles in the same image.

/// Parameters of the split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SplitParameters {
    /// Smallest dynamic (pixels) that makes a maximum a separate particle.
    pub min_dynamic_px: f64,
    /// Dynamic needed as a fraction of the maximum's own height.
    pub relative_dynamic: f64,
}

/// Splits the pixels with `inside` into basins of the distance map (squared distances
/// `distance2`, both `width × height` arrays). Returns a local label map (0 = not inside,
/// 1.. = basins in order of decreasing peak height) and the number of basins.
pub(crate) fn split_by_distance(
    inside: &[bool],
    distance2: &[f64],
    width: usize,
    height: usize,
    parameters: SplitParameters,
) -> (Vec<u32>, usize) {
    let mut order: Vec<u32> = (0..inside.len() as u32)
        .filter(|&i| inside[i as usize])
        .collect();
    // Decreasing distance; ties broken by index so the result never depends on sort stability.
    order.sort_unstable_by(|&a, &b| {
        distance2[b as usize]
            .total_cmp(&distance2[a as usize])
            .then(a.cmp(&b))
    });
    const UNSEEN: u32 = u32::MAX;
    // parent[i] = union–find parent of a processed pixel (a root is its own parent).
    let mut parent = vec![UNSEEN; inside.len()];
    let mut peak = vec![0.0f64; inside.len()];
    let mut significant = vec![false; inside.len()];
    fn find(parent: &mut [u32], mut a: u32) -> u32 {
        while parent[a as usize] != a {
            let grandparent = parent[parent[a as usize] as usize];
            parent[a as usize] = grandparent;
            a = grandparent;
        }
        a
    }
    let threshold = |p: f64| {
        parameters
            .min_dynamic_px
            .max(parameters.relative_dynamic * p)
    };
    let mut roots: Vec<u32> = Vec::with_capacity(8);
    for &p in &order {
        let (px, py) = ((p as usize % width) as isize, (p as usize / width) as isize);
        let level = distance2[p as usize].sqrt();
        roots.clear();
        // The processed neighbour with the largest distance: p joins its basin (steepest ascent).
        let mut steepest: Option<(f64, u32)> = None;
        for dy in -1isize..=1 {
            for dx in -1isize..=1 {
                let (nx, ny) = (px + dx, py + dy);
                if (dx == 0 && dy == 0)
                    || nx < 0
                    || ny < 0
                    || nx >= width as isize
                    || ny >= height as isize
                {
                    continue;
                }
                let n = (ny as usize * width + nx as usize) as u32;
                if parent[n as usize] == UNSEEN {
                    continue;
                }
                let root = find(&mut parent, n);
                if !roots.contains(&root) {
                    roots.push(root);
                }
                let d = distance2[n as usize];
                if steepest.is_none_or(|(best, _)| d > best) {
                    steepest = Some((d, n));
                }
            }
        }
        let Some((_, uphill)) = steepest else {
            // A new local maximum.
            parent[p as usize] = p;
            peak[p as usize] = level;
            continue;
        };
        if roots.len() > 1 {
            // Highest peak first; equal peaks by root index (deterministic).
            roots.sort_unstable_by(|&a, &b| {
                peak[b as usize]
                    .total_cmp(&peak[a as usize])
                    .then(a.cmp(&b))
            });
            let winner = roots[0];
            for &other in &roots[1..] {
                let dynamic = peak[other as usize] - level;
                if significant[other as usize] || dynamic >= threshold(peak[other as usize]) {
                    significant[other as usize] = true;
                } else {
                    parent[other as usize] = winner;
                }
            }
        }
        parent[p as usize] = find(&mut parent, uphill);
    }
    // Number the surviving basins by decreasing peak (the order in which they were created).
    let mut local = vec![0u32; inside.len()];
    let mut basin_number = vec![0u32; inside.len()];
    let mut count = 0usize;
    for &p in &order {
        let root = find(&mut parent, p) as usize;
        if basin_number[root] == 0 {
            count += 1;
            basin_number[root] = count as u32;
        }
        local[p as usize] = basin_number[root];
    }
    (local, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::squared_distance_to_outside;

    fn discs(width: usize, height: usize, centres: &[(f64, f64, f64)]) -> Vec<bool> {
        (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f64 + 0.5, (i / width) as f64 + 0.5);
                centres
                    .iter()
                    .any(|&(cx, cy, r)| (x - cx).powi(2) + (y - cy).powi(2) < r * r)
            })
            .collect()
    }

    const PARAMETERS: SplitParameters = SplitParameters {
        min_dynamic_px: 1.0,
        relative_dynamic: 0.3,
    };

    #[test]
    fn single_discs_stay_whole() {
        for (k, r) in [3.0, 5.5, 9.0, 12.5, 17.3, 30.0].into_iter().enumerate() {
            let size = (2.0 * r) as usize + 6;
            let centre = size as f64 / 2.0 + 0.13 * k as f64;
            let inside = discs(size, size, &[(centre, centre + 0.31, r)]);
            let d2 = squared_distance_to_outside(&inside, size, size);
            let (_, count) = split_by_distance(&inside, &d2, size, size, PARAMETERS);
            assert_eq!(count, 1, "disc of radius {r} was split");
        }
    }

    #[test]
    fn touching_discs_split_in_two() {
        // Equal and unequal pairs, just touching and overlapping by 8 %.
        for &(r1, r2, factor) in &[
            (12.5, 12.5, 1.0),
            (12.5, 12.5, 0.92),
            (8.0, 14.0, 0.92),
            (6.0, 6.0, 0.95),
        ] {
            let (w, h) = (80, 50);
            let distance = (r1 + r2) * factor;
            let (x1, y) = (20.3, 25.2);
            let inside = discs(w, h, &[(x1, y, r1), (x1 + distance, y + 0.4, r2)]);
            let d2 = squared_distance_to_outside(&inside, w, h);
            let (local, count) = split_by_distance(&inside, &d2, w, h, PARAMETERS);
            assert_eq!(count, 2, "pair {r1}/{r2} at {factor} not split");
            // Each disc centre is in a different basin, and the cut is near the contact.
            let at = |x: f64, y: f64| local[y as usize * w + x as usize];
            assert_ne!(at(x1, y), at(x1 + distance, y));
            let left_area = local.iter().filter(|&&l| l == at(x1, y)).count() as f64;
            let expected = std::f64::consts::PI * r1 * r1;
            assert!(
                (left_area / expected - 1.0).abs() < 0.12,
                "left part {left_area} vs disc {expected}"
            );
        }
    }
}
