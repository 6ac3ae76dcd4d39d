//! Training targets derived from an instance label map.
//!
//! For every pixel of a row-major instance map (0 = background, k > 0 = particle k):
//! * **foreground** `f = 1` where the label is non-zero;
//! * **boundary** `b = 1` on a foreground pixel whose 4-neighbourhood contains a different label
//!   (another particle or background); pixels at the image border only look at the neighbours
//!   that exist, so a particle cut by the border has no boundary there;
//! * **distance** `d = D / max D` with `D` the exact Euclidean distance (Felzenszwalb &
//!   Huttenlocher 2012) from the pixel's centre to the nearest pixel *not* in the same instance,
//!   normalised by the instance's own maximum, so that every particle peaks at 1 whatever its
//!   size and the peaks of touching particles are separated by a valley down to ≈ 0 at their
//!   contact line. The image border does not count as outside (a cut particle keeps its full
//!   depth there).

use crate::components::BBox;
use crate::distance::{squared_distance_to_outside, FAR};

/// Per-pixel training targets of one image (row-major, `width · height` each).
#[derive(Debug, Clone, PartialEq)]
pub struct Targets {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// 1 inside a particle, 0 outside.
    pub foreground: Vec<f32>,
    /// 1 on a particle pixel touching another label (4-neighbourhood), else 0.
    pub boundary: Vec<f32>,
    /// Distance to the nearest pixel outside the same particle, divided by the particle's
    /// maximum; 0 on the background, 1 at each particle's centre.
    pub distance: Vec<f32>,
}

/// Derives the targets from `labels` (`width · height`, 0 = background).
///
/// The caller guarantees `labels.len() == width * height`.
pub fn targets_from_instances(labels: &[u32], width: usize, height: usize) -> Targets {
    let n = width * height;
    debug_assert_eq!(labels.len(), n);
    let foreground: Vec<f32> = labels.iter().map(|&l| (l != 0) as u8 as f32).collect();
    let mut boundary = vec![0f32; n];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let l = labels[i];
            if l == 0 {
                continue;
            }
            let differs = (x > 0 && labels[i - 1] != l)
                || (x + 1 < width && labels[i + 1] != l)
                || (y > 0 && labels[i - width] != l)
                || (y + 1 < height && labels[i + width] != l);
            if differs {
                boundary[i] = 1.0;
            }
        }
    }
    // Bounding box of each label (labels need not be consecutive: a sparse Vec is indexed by
    // position in the sorted list of distinct labels).
    let mut distinct: Vec<u32> = labels.iter().copied().filter(|&l| l != 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut boxes = vec![BBox::empty(); distinct.len()];
    for y in 0..height {
        for x in 0..width {
            let l = labels[y * width + x];
            if l != 0 {
                if let Ok(k) = distinct.binary_search(&l) {
                    boxes[k].include(x, y);
                }
            }
        }
    }
    let mut distance = vec![0f32; n];
    let mut inside: Vec<bool> = Vec::new();
    for (k, &label) in distinct.iter().enumerate() {
        // One pixel of margin, so that the instance's own outside pixels surround it.
        let b = boxes[k].expanded(1, width, height);
        inside.clear();
        for y in b.y0..b.y1 {
            inside.extend(
                labels[y * width + b.x0..y * width + b.x1]
                    .iter()
                    .map(|&v| v == label),
            );
        }
        let d2 = squared_distance_to_outside(&inside, b.width(), b.height());
        let peak2 = d2
            .iter()
            .zip(&inside)
            .filter(|(&d, &m)| m && d < FAR)
            .fold(0.0f64, |a, (&d, _)| a.max(d));
        for (j, &d) in d2.iter().enumerate() {
            if inside[j] {
                let (x, y) = (b.x0 + j % b.width(), b.y0 + j / b.width());
                // An instance filling the whole image has no outside: treat it as flat 1.
                distance[y * width + x] = if d >= FAR || peak2 <= 0.0 {
                    1.0
                } else {
                    (d / peak2).sqrt() as f32
                };
            }
        }
    }
    Targets {
        width,
        height,
        foreground,
        boundary,
        distance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_and_distance_of_two_touching_squares() {
        // Two 5×5 squares side by side (labels 1 and 2) at x 1..6 and 6..11, y 1..6, on 12×7.
        let (w, h) = (12, 7);
        let mut labels = vec![0u32; w * h];
        for y in 1..6 {
            for x in 1..11 {
                labels[y * w + x] = if x < 6 { 1 } else { 2 };
            }
        }
        let t = targets_from_instances(&labels, w, h);
        let at = |v: &[f32], x: usize, y: usize| v[y * w + x];
        // Foreground exactly where labelled.
        for (f, &l) in t.foreground.iter().zip(&labels) {
            assert_eq!(*f, (l != 0) as u8 as f32);
        }
        // Ring pixels and the contact columns are boundary; the 3×3 cores are not.
        assert_eq!(at(&t.boundary, 1, 1), 1.0);
        assert_eq!(at(&t.boundary, 5, 3), 1.0, "contact column of square 1");
        assert_eq!(at(&t.boundary, 6, 3), 1.0, "contact column of square 2");
        assert_eq!(at(&t.boundary, 3, 3), 0.0);
        assert_eq!(at(&t.boundary, 4, 2), 0.0);
        assert_eq!(at(&t.boundary, 0, 0), 0.0, "background is never boundary");
        let boundary_count = t.boundary.iter().filter(|&&b| b == 1.0).count();
        assert_eq!(boundary_count, 2 * 16);
        // Distance: 3 at the centre (nearest outside pixel 3 px away), 1 on the ring, so 1/3.
        assert_eq!(at(&t.distance, 3, 3), 1.0);
        assert_eq!(at(&t.distance, 8, 3), 1.0);
        assert!((at(&t.distance, 1, 3) - 1.0 / 3.0).abs() < 1e-6);
        // The contact column of square 1 is 1 px from square 2: the other particle is outside.
        assert!((at(&t.distance, 5, 3) - 1.0 / 3.0).abs() < 1e-6);
        assert!((at(&t.distance, 4, 3) - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(at(&t.distance, 0, 3), 0.0);
    }

    #[test]
    fn particle_cut_by_the_border_has_no_boundary_on_the_border() {
        let (w, h) = (6, 4);
        let mut labels = vec![0u32; w * h];
        for y in 0..4 {
            for x in 0..3 {
                labels[y * w + x] = 7;
            }
        }
        let t = targets_from_instances(&labels, w, h);
        // Column 0 only touches label 7 and the border: not boundary. Column 2 touches background.
        assert_eq!(t.boundary[w], 0.0);
        assert_eq!(t.boundary[w + 2], 1.0);
        // Distance peaks (=1) in the column farthest from the background (x = 0).
        assert_eq!(t.distance[w], 1.0);
        assert!((t.distance[w + 2] - 1.0 / 3.0).abs() < 1e-6);
    }
}
