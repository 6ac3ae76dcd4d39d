//! Per-particle boundary refinement at half of the local contrast, and hole filling.
//!
//! A global threshold is one number for the whole field, but the particle's true edge lies
//! where the signal is half-way between the local background and the particle's own plateau
//! (for mass–thickness contrast of a sphere the plateau is reached within a fraction of a nm of
//! the rim, and a symmetric PSF blurs a step so that its half-height stays on the edge). Local
//! contrast varies with illumination, film thickness and particle thickness, so each particle
//! gets its own half-contrast level: `t_i = (b_i + p_i) / 2` with `b_i` the median signal of
//! the nearby free background and `p_i` the median signal of its interior. Pixels in a thin
//! band around the current boundary are then re-classified against `t_i`.

use crate::components::BBox;
use crate::threshold::median_in_place;

/// Depth (pixels from the mask boundary) beyond which a pixel counts as particle interior.
const INTERIOR_DEPTH_PX: f64 = 3.0;
/// Outer radius of the background ring sampled around a particle, pixels.
const RING_MARGIN_PX: usize = 6;
/// Width of the band (pixels) on each side of the boundary that may change class.
const BAND_PX: usize = 2;
/// Fewest free-background pixels needed to trust a local background estimate.
const MIN_RING_SAMPLES: usize = 12;

/// Everything the refinement reads, for one image.
pub(crate) struct RefineInput<'a> {
    /// Background-corrected signal, particles positive, background ≈ 0.
    pub signal: &'a [f32],
    /// Squared distance to the background of the thresholded mask.
    pub distance2: &'a [f32],
    /// Pixels within a few pixels of any foreground (excluded from background samples).
    pub near_foreground: &'a [bool],
    pub width: usize,
    pub height: usize,
}

/// Refines every region's boundary in place and returns each label's half-contrast level
/// (indexed by label; index 0 unused). `boxes[k]` is the bounding box of label `k + 1`.
pub(crate) fn refine_boundaries(
    input: &RefineInput<'_>,
    labels: &mut [u32],
    boxes: &[BBox],
    fallback_level: f64,
) -> Vec<f64> {
    let (width, height) = (input.width, input.height);
    let mut levels = vec![fallback_level; boxes.len() + 1];
    let mut samples: Vec<f32> = Vec::new();
    let mut changes: Vec<usize> = Vec::new();
    for (k, bbox) in boxes.iter().enumerate() {
        let label = k as u32 + 1;
        // Local background: free background pixels in a ring around the particle.
        samples.clear();
        let ring = bbox.expanded(RING_MARGIN_PX, width, height);
        for y in ring.y0..ring.y1 {
            for x in ring.x0..ring.x1 {
                let i = y * width + x;
                if labels[i] == 0 && !input.near_foreground[i] {
                    samples.push(input.signal[i]);
                }
            }
        }
        let background = if samples.len() >= MIN_RING_SAMPLES {
            median_in_place(&mut samples).unwrap_or(0.0)
        } else {
            // The signal is background-corrected, so 0 is the global background level.
            0.0
        };
        // Plateau: interior pixels (deep enough that the PSF does not reach the rim).
        let mut max_depth2 = 0.0f32;
        for y in bbox.y0..bbox.y1 {
            for x in bbox.x0..bbox.x1 {
                let i = y * width + x;
                if labels[i] == label {
                    max_depth2 = max_depth2.max(input.distance2[i]);
                }
            }
        }
        let depth = INTERIOR_DEPTH_PX.min(0.5 * (max_depth2 as f64).sqrt());
        let depth2 = (depth * depth) as f32;
        samples.clear();
        for y in bbox.y0..bbox.y1 {
            for x in bbox.x0..bbox.x1 {
                let i = y * width + x;
                if labels[i] == label && input.distance2[i] >= depth2 {
                    samples.push(input.signal[i]);
                }
            }
        }
        let Some(plateau) = median_in_place(&mut samples) else {
            continue;
        };
        if plateau <= background {
            // No usable contrast (should not happen for a thresholded object): keep the mask.
            continue;
        }
        let level = 0.5 * (background + plateau);
        levels[label as usize] = level;
        let level = level as f32;
        // Shrink: boundary-band pixels below the particle's own half-contrast level.
        let band2 = (BAND_PX * BAND_PX) as f32;
        for y in bbox.y0..bbox.y1 {
            for x in bbox.x0..bbox.x1 {
                let i = y * width + x;
                if labels[i] == label && input.distance2[i] <= band2 && input.signal[i] < level {
                    labels[i] = 0;
                }
            }
        }
        // Grow: up to BAND_PX layers of background pixels above the level, one layer at a time.
        let grow_box = bbox.expanded(BAND_PX, width, height);
        for _ in 0..BAND_PX {
            changes.clear();
            for y in grow_box.y0..grow_box.y1 {
                for x in grow_box.x0..grow_box.x1 {
                    let i = y * width + x;
                    if labels[i] != 0 || input.signal[i] < level {
                        continue;
                    }
                    let touches = (x > 0 && labels[i - 1] == label)
                        || (x + 1 < width && labels[i + 1] == label)
                        || (y > 0 && labels[i - width] == label)
                        || (y + 1 < height && labels[i + width] == label);
                    if touches {
                        changes.push(i);
                    }
                }
            }
            if changes.is_empty() {
                break;
            }
            for &i in &changes {
                labels[i] = label;
            }
        }
    }
    levels
}

/// Fills the holes of every region: background pixels that cannot reach the edge of the
/// region's (expanded) bounding box without crossing the region. A pocket enclosed by several
/// particles together is a gap between them and stays background.
pub(crate) fn fill_enclosed_holes(labels: &mut [u32], boxes: &[BBox], width: usize, height: usize) {
    let mut reached: Vec<bool> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for (k, bbox) in boxes.iter().enumerate() {
        let label = k as u32 + 1;
        let b = bbox.expanded(1, width, height);
        let (bw, bh) = (b.width(), b.height());
        if bw < 3 || bh < 3 {
            continue;
        }
        reached.clear();
        reached.resize(bw * bh, false);
        stack.clear();
        let local = |x: usize, y: usize| (y - b.y0) * bw + (x - b.x0);
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                let on_border = y == b.y0 || y + 1 == b.y1 || x == b.x0 || x + 1 == b.x1;
                if on_border && labels[y * width + x] != label {
                    reached[local(x, y)] = true;
                    stack.push(y * width + x);
                }
            }
        }
        // 4-connected flood through everything that is not this region (the region itself is
        // treated as 8-connected, so its holes are 4-connected).
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            let neighbours = [
                (x > b.x0).then(|| i - 1),
                (x + 1 < b.x1).then(|| i + 1),
                (y > b.y0).then(|| i - width),
                (y + 1 < b.y1).then(|| i + width),
            ];
            for n in neighbours.into_iter().flatten() {
                let (nx, ny) = (n % width, n / width);
                let l = local(nx, ny);
                if !reached[l] && labels[n] != label {
                    reached[l] = true;
                    stack.push(n);
                }
            }
        }
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                let i = y * width + x;
                if labels[i] == 0 && !reached[local(x, y)] {
                    labels[i] = label;
                }
            }
        }
    }
}

/// Bounding boxes of labels `1..=count` (empty boxes for labels that do not occur).
pub(crate) fn label_boxes(labels: &[u32], width: usize, count: usize) -> Vec<BBox> {
    let mut boxes = vec![BBox::empty(); count];
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 {
            boxes[l as usize - 1].include(i % width, i / width);
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_single_particle_holes_but_not_shared_gaps() {
        // Label 1 is a ring with a hole at (2, 2); labels 2 and 3 together enclose (6, 2).
        let rows = [
            "..........",
            ".111.2223.",
            ".101.2023.",
            ".111.2333.",
            "..........",
        ];
        let width = rows[0].len();
        let mut labels: Vec<u32> = rows
            .iter()
            .flat_map(|r| r.chars().map(|c| c.to_digit(10).unwrap_or(0)))
            .collect();
        let boxes = label_boxes(&labels, width, 3);
        fill_enclosed_holes(&mut labels, &boxes, width, rows.len());
        assert_eq!(labels[2 * width + 2], 1);
        assert_eq!(labels[2 * width + 6], 0);
    }

    #[test]
    fn refinement_moves_boundary_to_half_contrast() {
        // A blurred square of plateau 1.0 on background 0; a deliberately fat initial mask
        // (everything above 0.1) must shrink to the 0.5 contour, a thin one must grow to it.
        let (w, h) = (40, 40);
        let signal: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                let edge = |t: f64| 1.0 / (1.0 + (-t / 0.3).exp());
                (edge(x - 12.0) * edge(28.0 - x) * edge(y - 12.0) * edge(28.0 - y)) as f32
            })
            .collect();
        for initial_level in [0.1f32, 0.85] {
            let inside: Vec<bool> = signal.iter().map(|&s| s > initial_level).collect();
            let distance2: Vec<f32> = crate::distance::squared_distance_to_outside(&inside, w, h)
                .iter()
                .map(|&d| d as f32)
                .collect();
            let mut labels: Vec<u32> = inside.iter().map(|&m| m as u32).collect();
            let near: Vec<bool> = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    (8..32).contains(&x) && (8..32).contains(&y)
                })
                .collect();
            let boxes = label_boxes(&labels, w, 1);
            let input = RefineInput {
                signal: &signal,
                distance2: &distance2,
                near_foreground: &near,
                width: w,
                height: h,
            };
            let levels = refine_boundaries(&input, &mut labels, &boxes, 0.5);
            assert!((levels[1] - 0.5).abs() < 0.02, "level {}", levels[1]);
            let area = labels.iter().filter(|&&l| l == 1).count();
            assert_eq!(area, 16 * 16, "initial level {initial_level}");
        }
    }
}
