//! Owen-scrambled Sobol points in the unit cube.
//!
//! Sobol sequences fill `[0,1)^d` far more evenly than independent uniform draws: every prefix
//! of `2^m` points puts exactly one point in each elementary box of volume `2^-m` (a
//! `(t, m, d)`-net). Owen scrambling randomises the sequence while keeping that property, so
//! different seeds give statistically independent, equally well-spread designs. This module
//! wraps [`sobol_burley`] (Burley 2020, "Practical hash-based Owen scrambling", JCGT 9(4); Joe &
//! Kuo direction numbers) and adds a 64-bit seed and unlimited dimensions and indices.
//!
//! ```
//! let points = athanor_plan::sobol::sobol_points(8, 3, 42);
//! assert_eq!(points.len(), 8);
//! assert!(points.iter().flatten().all(|&u| (0.0..1.0).contains(&u)));
//! // Each prefix of 2^m points is stratified: here one point per half of every axis.
//! for dim in 0..3 {
//!     let lower = points[..2].iter().filter(|p| p[dim] < 0.5).count();
//!     assert_eq!(lower, 1);
//! }
//! ```

use crate::stats::{derive_seed, splitmix64};

/// Dimensions provided natively by the underlying generator; beyond these, further blocks of
/// dimensions are produced with independent scrambles ("padding", Burley 2020, §4).
const NATIVE_DIMENSIONS: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// Points per native sequence; beyond these, further blocks use independent scrambles.
const NATIVE_LENGTH: u64 = 1 << 16;

/// Folds a 64-bit seed into the 32-bit seed the generator takes.
fn fold_seed(seed: u64) -> u32 {
    let h = splitmix64(seed);
    ((h >> 32) as u32) ^ (h as u32)
}

/// Point number `index` of the Owen-scrambled Sobol sequence with the given seed, in
/// `[0,1)^dims`.
///
/// Indices beyond 2^16 and dimensions beyond 256 are served from independently scrambled
/// blocks, so any `(index, dims)` is valid; the equidistribution guarantee holds within each
/// block.
pub fn sobol_point(index: u64, dims: usize, seed: u64) -> Vec<f64> {
    let block = index / NATIVE_LENGTH;
    let index_in_block = (index % NATIVE_LENGTH) as u32;
    (0..dims)
        .map(|dim| {
            let dim_block = (dim / NATIVE_DIMENSIONS) as u64;
            let block_seed = if block == 0 && dim_block == 0 {
                seed
            } else {
                derive_seed(seed, block, dim_block)
            };
            let u = sobol_burley::sample(
                index_in_block,
                (dim % NATIVE_DIMENSIONS) as u32,
                fold_seed(block_seed),
            );
            f64::from(u)
        })
        .collect()
}

/// The first `n` points of the Owen-scrambled Sobol sequence with the given seed, each a
/// vector of `d` coordinates in `[0, 1)`.
///
/// Prefixes whose length is a power of two are the best-balanced designs.
pub fn sobol_points(n: usize, d: usize, seed: u64) -> Vec<Vec<f64>> {
    (0..n as u64).map(|i| sobol_point(i, d, seed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_stratified_in_every_pair_of_dimensions() {
        // The first two Sobol dimensions form a (0, m, 2)-net: a 64-point prefix puts exactly
        // one point in each cell of the 8x8 grid.
        let pts = sobol_points(64, 2, 9);
        let mut cells = [0usize; 64];
        for p in &pts {
            let i = (p[0] * 8.0) as usize;
            let j = (p[1] * 8.0) as usize;
            cells[i * 8 + j] += 1;
        }
        assert!(cells.iter().all(|&c| c == 1), "{cells:?}");
    }

    #[test]
    fn every_dimension_is_stratified_even_beyond_native_range() {
        let d = 300;
        let pts = sobol_points(16, d, 3);
        for dim in 0..d {
            let mut bins = [0usize; 16];
            for p in &pts {
                bins[(p[dim] * 16.0) as usize] += 1;
            }
            assert!(bins.iter().all(|&c| c == 1), "dimension {dim}: {bins:?}");
        }
    }

    #[test]
    fn seeds_give_different_but_reproducible_designs() {
        assert_eq!(sobol_points(5, 4, 1), sobol_points(5, 4, 1));
        assert_ne!(sobol_points(5, 4, 1), sobol_points(5, 4, 2));
        let far = sobol_point(70_000, 3, 1);
        assert!(far.iter().all(|&u| (0.0..1.0).contains(&u)));
    }
}
