//! Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance transforms of
//! sampled functions", Theory of Computing 8 (2012) 415–428).
//!
//! The 2-D squared distance `D²(x, y) = min_{(x', y') ∉ S} (x − x')² + (y − y')²` separates into
//! a 1-D pass along columns (for a binary set this is just the distance to the nearest outside
//! pixel in the column) followed by a 1-D pass along rows that takes the lower envelope of the
//! parabolas `(x − q)² + f(q)`, which is exact and linear in the number of pixels.

/// Squared distance used for "no outside pixel reachable" (an object filling the whole array).
pub(crate) const FAR: f64 = 1e30;

/// For each pixel with `inside[i]`, the squared Euclidean distance (in pixels²) from its
/// centre to the centre of the nearest pixel with `!inside`; 0 for outside pixels. Pixels
/// beyond the array do not count as outside. Returns [`FAR`] where no outside pixel exists.
pub(crate) fn squared_distance_to_outside(
    inside: &[bool],
    width: usize,
    height: usize,
) -> Vec<f64> {
    let mut column_distance = vec![FAR; inside.len()];
    // Pass 1, columns: distance to the nearest outside pixel in the same column.
    for x in 0..width {
        let mut last_outside: Option<usize> = None;
        for y in 0..height {
            let i = y * width + x;
            if !inside[i] {
                last_outside = Some(y);
                column_distance[i] = 0.0;
            } else if let Some(o) = last_outside {
                column_distance[i] = (y - o) as f64;
            }
        }
        let mut next_outside: Option<usize> = None;
        for y in (0..height).rev() {
            let i = y * width + x;
            if !inside[i] {
                next_outside = Some(y);
            } else if let Some(o) = next_outside {
                column_distance[i] = column_distance[i].min((o - y) as f64);
            }
        }
    }
    // Pass 2, rows: lower envelope of parabolas with f(q) = (column distance)².
    let mut result = vec![0.0; inside.len()];
    let mut f = vec![0.0; width];
    let mut envelope = LowerEnvelope::with_capacity(width);
    for y in 0..height {
        let row = &column_distance[y * width..(y + 1) * width];
        for (fq, &g) in f.iter_mut().zip(row) {
            *fq = if g >= FAR { FAR } else { g * g };
        }
        envelope.transform(&f, &mut result[y * width..(y + 1) * width]);
    }
    for r in result.iter_mut() {
        *r = r.min(FAR);
    }
    result
}

/// Work space for the 1-D transform `d(p) = min_q (p − q)² + f(q)`.
struct LowerEnvelope {
    /// Locations of the parabolas in the lower envelope.
    vertices: Vec<usize>,
    /// Boundaries between consecutive envelope parabolas (`len = vertices + 1`).
    boundaries: Vec<f64>,
}

impl LowerEnvelope {
    fn with_capacity(n: usize) -> LowerEnvelope {
        LowerEnvelope {
            vertices: vec![0; n.max(1)],
            boundaries: vec![0.0; n.max(1) + 1],
        }
    }

    fn transform(&mut self, f: &[f64], out: &mut [f64]) {
        let n = f.len();
        if n == 0 {
            return;
        }
        let (v, z) = (&mut self.vertices, &mut self.boundaries);
        // Where the parabola at q overtakes the one at p (p < q).
        let intersection = |q: usize, p: usize| -> f64 {
            let (qf, pf) = (q as f64, p as f64);
            ((f[q] + qf * qf) - (f[p] + pf * pf)) / (2.0 * qf - 2.0 * pf)
        };
        let mut k = 0usize;
        v[0] = 0;
        z[0] = f64::NEG_INFINITY;
        z[1] = f64::INFINITY;
        for q in 1..n {
            let mut s = intersection(q, v[k]);
            while s <= z[k] {
                // z[0] = −∞, so k never underflows.
                k -= 1;
                s = intersection(q, v[k]);
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
        }
        k = 0;
        for (p, o) in out.iter_mut().enumerate() {
            while z[k + 1] < p as f64 {
                k += 1;
            }
            let d = p as f64 - v[k] as f64;
            *o = d * d + f[v[k]];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn brute_force(inside: &[bool], width: usize) -> Vec<f64> {
        let outside: Vec<(usize, usize)> = (0..inside.len())
            .filter(|&i| !inside[i])
            .map(|i| (i % width, i / width))
            .collect();
        (0..inside.len())
            .map(|i| {
                if !inside[i] {
                    return 0.0;
                }
                let (x, y) = ((i % width) as f64, (i / width) as f64);
                outside
                    .iter()
                    .map(|&(ox, oy)| (x - ox as f64).powi(2) + (y - oy as f64).powi(2))
                    .fold(FAR, f64::min)
            })
            .collect()
    }

    #[test]
    fn matches_brute_force_on_random_masks() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for trial in 0..60 {
            let width = rng.random_range(1..24usize);
            let height = rng.random_range(1..24usize);
            // From sparse to dense masks, including all-inside ones.
            let density = [0.3, 0.7, 0.9, 0.97, 1.0][trial % 5];
            let inside: Vec<bool> = (0..width * height)
                .map(|_| rng.random::<f64>() < density)
                .collect();
            let fast = squared_distance_to_outside(&inside, width, height);
            let slow = brute_force(&inside, width);
            for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                assert!(
                    (a - b).abs() < 1e-9 || (*a >= FAR && *b >= FAR),
                    "trial {trial} ({width}×{height}) pixel {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn disc_centre_distance_is_its_radius() {
        let (w, h) = (41, 41);
        let inside: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 - 20.0, (i / w) as f64 - 20.0);
                x * x + y * y <= 15.0 * 15.0
            })
            .collect();
        let d2 = squared_distance_to_outside(&inside, w, h);
        // The nearest pixel outside x² + y² ≤ 225 is (15, 1).
        assert_eq!(d2[20 * w + 20], 226.0);
    }
}
