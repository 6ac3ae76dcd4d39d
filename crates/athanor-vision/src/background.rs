//! Large-scale background (illumination, film thickness) estimation and binary dilation.

use crate::threshold::median_in_place;

/// Smallest fraction of a tile's samples that must be free background for the tile's own
/// median to be trusted; tiles below it are filled from their neighbours.
const MIN_FREE_FRACTION: f64 = 0.25;

/// Smooth background map: the median of the free-background pixels (`!exclude`) in square
/// tiles of `tile` pixels, bilinearly interpolated between tile centres (constant beyond the
/// outermost centres). The median over background pixels only is unbiased by the particles;
/// tiles covered mostly by particles borrow the mean of their neighbours.
pub(crate) fn estimate_background(
    values: &[f32],
    exclude: &[bool],
    width: usize,
    height: usize,
    tile: usize,
) -> Vec<f32> {
    let tile = tile.max(1);
    let (nx, ny) = (width.div_ceil(tile), height.div_ceil(tile));
    // Every other pixel in each direction is plenty for a median and quarters the cost.
    const STRIDE: usize = 2;
    let mut tiles: Vec<Option<f64>> = vec![None; nx * ny];
    let mut samples: Vec<f32> = Vec::new();
    let mut all_free: Vec<f32> = Vec::new();
    for ty in 0..ny {
        for tx in 0..nx {
            samples.clear();
            let mut sampled = 0usize;
            for y in (ty * tile..((ty + 1) * tile).min(height)).step_by(STRIDE) {
                for x in (tx * tile..((tx + 1) * tile).min(width)).step_by(STRIDE) {
                    sampled += 1;
                    let i = y * width + x;
                    if !exclude[i] {
                        samples.push(values[i]);
                    }
                }
            }
            if samples.len() as f64 >= MIN_FREE_FRACTION * sampled as f64 && !samples.is_empty() {
                all_free.extend_from_slice(&samples);
                tiles[ty * nx + tx] = median_in_place(&mut samples);
            }
        }
    }
    let global = median_in_place(&mut all_free).unwrap_or_else(|| {
        // Nothing is free background: fall back to the median of everything.
        let mut everything: Vec<f32> = values.iter().step_by(STRIDE).copied().collect();
        median_in_place(&mut everything).unwrap_or(0.0)
    });
    fill_missing_tiles(&mut tiles, nx, ny, global);
    let tile_value: Vec<f64> = tiles.iter().map(|t| t.unwrap_or(global)).collect();
    // Interpolation weights along one axis: pixel p lies between tile centres k and k + 1.
    let axis = |n_pixels: usize, n_tiles: usize| -> Vec<(usize, usize, f64)> {
        let centre = |k: usize| {
            let start = k * tile;
            let end = ((k + 1) * tile).min(n_pixels);
            0.5 * (start + end) as f64
        };
        (0..n_pixels)
            .map(|p| {
                let pos = p as f64 + 0.5;
                if n_tiles == 1 || pos <= centre(0) {
                    return (0, 0, 0.0);
                }
                if pos >= centre(n_tiles - 1) {
                    return (n_tiles - 1, n_tiles - 1, 0.0);
                }
                let k = ((pos / tile as f64 - 0.5).floor().max(0.0) as usize).min(n_tiles - 2);
                // The last tile may be narrower, so check the neighbouring interval too.
                let k = if pos > centre(k + 1) { k + 1 } else { k };
                let (c0, c1) = (centre(k), centre(k + 1));
                (k, k + 1, (pos - c0) / (c1 - c0))
            })
            .collect()
    };
    let xs = axis(width, nx);
    let ys = axis(height, ny);
    let mut background = vec![0f32; width * height];
    let mut row_of_tiles = vec![0f64; nx];
    for (y, &(j0, j1, fy)) in ys.iter().enumerate() {
        for (tx, r) in row_of_tiles.iter_mut().enumerate() {
            *r = tile_value[j0 * nx + tx] * (1.0 - fy) + tile_value[j1 * nx + tx] * fy;
        }
        let out = &mut background[y * width..(y + 1) * width];
        for (o, &(i0, i1, fx)) in out.iter_mut().zip(&xs) {
            *o = (row_of_tiles[i0] * (1.0 - fx) + row_of_tiles[i1] * fx) as f32;
        }
    }
    background
}

/// Fills tiles without an estimate with the mean of their estimated 8-neighbours, ring by
/// ring outward from the known tiles; `fallback` if no tile is known.
fn fill_missing_tiles(tiles: &mut [Option<f64>], nx: usize, ny: usize, fallback: f64) {
    if tiles.iter().all(|t| t.is_none()) {
        tiles.iter_mut().for_each(|t| *t = Some(fallback));
        return;
    }
    while tiles.iter().any(|t| t.is_none()) {
        let snapshot = tiles.to_vec();
        for ty in 0..ny {
            for tx in 0..nx {
                if snapshot[ty * nx + tx].is_some() {
                    continue;
                }
                let (mut sum, mut count) = (0.0, 0usize);
                for y in ty.saturating_sub(1)..(ty + 2).min(ny) {
                    for x in tx.saturating_sub(1)..(tx + 2).min(nx) {
                        if let Some(v) = snapshot[y * nx + x] {
                            sum += v;
                            count += 1;
                        }
                    }
                }
                if count > 0 {
                    tiles[ty * nx + tx] = Some(sum / count as f64);
                }
            }
        }
    }
}

/// Binary dilation by a `(2r + 1)²` square, separably: a pixel is set if any pixel within
/// Chebyshev distance `radius` is set. Both passes keep running counts over the window and
/// walk memory contiguously.
pub(crate) fn dilate_square(
    mask: &[bool],
    width: usize,
    height: usize,
    radius: usize,
) -> Vec<bool> {
    let mut horizontal = vec![false; mask.len()];
    for y in 0..height {
        let row = &mask[y * width..(y + 1) * width];
        let out = &mut horizontal[y * width..(y + 1) * width];
        // Set pixels in the window [x − r, x + r].
        let mut count: usize = row[..radius.min(width)].iter().map(|&m| m as usize).sum();
        for x in 0..width {
            if x + radius < width {
                count += row[x + radius] as usize;
            }
            if x > radius {
                count -= row[x - radius - 1] as usize;
            }
            out[x] = count > 0;
        }
    }
    let mut result = vec![false; mask.len()];
    let mut counts = vec![0u32; width];
    let add = |counts: &mut [u32], y: usize, sign_add: bool| {
        let row = &horizontal[y * width..(y + 1) * width];
        for (c, &m) in counts.iter_mut().zip(row) {
            if sign_add {
                *c += m as u32;
            } else {
                *c -= m as u32;
            }
        }
    };
    for y in 0..radius.min(height) {
        add(&mut counts, y, true);
    }
    for y in 0..height {
        if y + radius < height {
            add(&mut counts, y + radius, true);
        }
        if y > radius {
            add(&mut counts, y - radius - 1, false);
        }
        for (o, &c) in result[y * width..(y + 1) * width].iter_mut().zip(&counts) {
            *o = c > 0;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_linear_gradient_under_dark_particles() {
        let (w, h) = (256, 192);
        let truth = |x: usize, y: usize| 1000.0 + 0.5 * x as f32 - 0.3 * y as f32;
        let mut values = vec![0f32; w * h];
        let mut exclude = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                // Dark square "particles" on a 40-px lattice, excluded by the mask.
                let particle = x % 40 < 12 && y % 40 < 12;
                values[i] = if particle { 300.0 } else { truth(x, y) };
                exclude[i] = particle;
            }
        }
        let background = estimate_background(&values, &exclude, w, h, 64);
        // Inside the outermost tile centres bilinear interpolation of a plane is exact, up to
        // the shift of each tile's median by the asymmetric exclusions (a few counts).
        for y in 32..h - 32 {
            for x in 32..w - 32 {
                let error = (background[y * w + x] - truth(x, y)).abs();
                assert!(error < 4.0, "({x}, {y}): {error}");
            }
        }
    }

    #[test]
    fn dilation_by_square() {
        let (w, h) = (9, 7);
        let mut mask = vec![false; w * h];
        mask[3 * w + 4] = true;
        let d = dilate_square(&mask, w, h, 2);
        for y in 0..h {
            for x in 0..w {
                let expected = x.abs_diff(4) <= 2 && y.abs_diff(3) <= 2;
                assert_eq!(d[y * w + x], expected, "({x}, {y})");
            }
        }
    }
}
