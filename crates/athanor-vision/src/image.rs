//! The input image type and the pixel filters the pipeline uses (Gaussian smoothing, noise
//! estimation).

use crate::VisionError;
use serde::{Deserialize, Serialize};

/// A single-channel image, row-major: pixel `(x, y)` is `data[y * width + x]`, row 0 at the top.
///
/// Intensities are in the detector's own units (counts); the analysis only relies on their
/// order and differences, never on an absolute scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrayImage {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// `width · height` intensities, row by row.
    pub data: Vec<f32>,
}

impl GrayImage {
    /// Wraps a row-major buffer, checking its size and that every value is finite.
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Result<GrayImage, VisionError> {
        let expected = checked_len(width, height)?;
        if data.len() != expected {
            return Err(VisionError::SizeMismatch {
                what: "pixels",
                expected,
                actual: data.len(),
            });
        }
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(VisionError::NonFinitePixel {
                index,
                x: index % width,
                y: index / width,
            });
        }
        Ok(GrayImage {
            width,
            height,
            data,
        })
    }

    /// From 16-bit detector counts (e.g. a decoded TIFF), row-major.
    pub fn from_u16(width: usize, height: usize, pixels: &[u16]) -> Result<GrayImage, VisionError> {
        GrayImage::from_integers(width, height, pixels)
    }

    /// From 8-bit pixels, row-major.
    pub fn from_u8(width: usize, height: usize, pixels: &[u8]) -> Result<GrayImage, VisionError> {
        GrayImage::from_integers(width, height, pixels)
    }

    /// Integer pixels convert to `f32` exactly (at most 16 bits), so no check for finiteness.
    fn from_integers<T: Copy + Into<f32>>(
        width: usize,
        height: usize,
        pixels: &[T],
    ) -> Result<GrayImage, VisionError> {
        let expected = checked_len(width, height)?;
        if pixels.len() != expected {
            return Err(VisionError::SizeMismatch {
                what: "pixels",
                expected,
                actual: pixels.len(),
            });
        }
        Ok(GrayImage {
            width,
            height,
            data: pixels.iter().map(|&p| p.into()).collect(),
        })
    }

    /// Checks the invariants that [`GrayImage::new`] establishes (the fields are public, so a
    /// caller may have built an inconsistent value by hand).
    pub(crate) fn validate(&self) -> Result<(), VisionError> {
        let expected = checked_len(self.width, self.height)?;
        if self.data.len() != expected {
            return Err(VisionError::SizeMismatch {
                what: "pixels",
                expected,
                actual: self.data.len(),
            });
        }
        if let Some(index) = self.data.iter().position(|v| !v.is_finite()) {
            return Err(VisionError::NonFinitePixel {
                index,
                x: index % self.width,
                y: index / self.width,
            });
        }
        Ok(())
    }
}

/// `width · height`, rejecting empty and overflowing sizes.
pub(crate) fn checked_len(width: usize, height: usize) -> Result<usize, VisionError> {
    if width == 0 || height == 0 {
        return Err(VisionError::EmptyImage { width, height });
    }
    let n = width
        .checked_mul(height)
        .ok_or(VisionError::TooLarge { width, height })?;
    // Labels are u32 and pixel indices are stored as u32 in the per-object work arrays.
    if n > u32::MAX as usize / 2 {
        return Err(VisionError::TooLarge { width, height });
    }
    Ok(n)
}

/// Normalised 1-D Gaussian kernel with radius `ceil(3 σ)`.
pub(crate) fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let weights: Vec<f64> = (0..=2 * radius)
        .map(|k| {
            let x = k as f64 - radius as f64;
            (-x * x / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

/// Separable Gaussian blur with replicated borders. `sigma <= 0` returns a copy.
pub(crate) fn gaussian_blur(data: &[f32], width: usize, height: usize, sigma: f64) -> Vec<f32> {
    if sigma <= 0.0 {
        return data.to_vec();
    }
    let kernel = gaussian_kernel(sigma);
    let radius = kernel.len() / 2;
    // Horizontal pass into a padded row buffer so the inner loop needs no bounds logic.
    let mut horizontal = vec![0f32; data.len()];
    let mut padded = vec![0f32; width + 2 * radius];
    for y in 0..height {
        let row = &data[y * width..(y + 1) * width];
        padded[radius..radius + width].copy_from_slice(row);
        let (first, last) = (row[0], row[width - 1]);
        padded[..radius].iter_mut().for_each(|p| *p = first);
        padded[radius + width..].iter_mut().for_each(|p| *p = last);
        let out = &mut horizontal[y * width..(y + 1) * width];
        for (x, o) in out.iter_mut().enumerate() {
            let window = &padded[x..x + kernel.len()];
            *o = window.iter().zip(&kernel).map(|(v, w)| v * w).sum();
        }
    }
    // Vertical pass: accumulate whole rows (cache friendly, vectorises).
    let mut out = vec![0f32; data.len()];
    for y in 0..height {
        let dst = &mut out[y * width..(y + 1) * width];
        for (k, w) in kernel.iter().enumerate() {
            let src_y = (y + k).saturating_sub(radius).min(height - 1);
            let src = &horizontal[src_y * width..(src_y + 1) * width];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += w * s;
            }
        }
    }
    out
}

/// Standard deviation of white pixel noise, from the median absolute difference of horizontally
/// adjacent pixels: for white noise `x[i+1] − x[i]` has standard deviation `√2 σ`, and the
/// median is insensitive to the few differences that straddle an object edge
/// (σ ≈ 1.4826 · MAD / √2; Rousseeuw & Croux 1993 for the MAD consistency factor).
pub(crate) fn estimate_pixel_noise(data: &[f32], width: usize, height: usize) -> f64 {
    if width < 2 {
        return 0.0;
    }
    // Every other row is plenty for a robust scale and halves the cost.
    let mut differences: Vec<f32> = Vec::with_capacity((width - 1) * height.div_ceil(2));
    for y in (0..height).step_by(2) {
        let row = &data[y * width..(y + 1) * width];
        differences.extend(row.windows(2).map(|w| (w[1] - w[0]).abs()));
    }
    let mad = crate::threshold::median_in_place(&mut differences).unwrap_or(0.0);
    1.4826 * mad / std::f64::consts::SQRT_2
}

/// Factor by which a Gaussian blur of `sigma` reduces the standard deviation of white noise:
/// `Σ_ij (k_i k_j)² = (Σ_i k_i²)²`, so the factor is `Σ_i k_i²` of the 1-D kernel.
pub(crate) fn blur_noise_factor(sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return 1.0;
    }
    gaussian_kernel(sigma)
        .iter()
        .map(|&k| (k as f64) * (k as f64))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_reject_empty_and_mismatched_input() {
        assert!(matches!(
            GrayImage::from_u16(0, 5, &[]),
            Err(VisionError::EmptyImage { .. })
        ));
        assert!(matches!(
            GrayImage::from_u8(3, 0, &[]),
            Err(VisionError::EmptyImage { .. })
        ));
        assert!(matches!(
            GrayImage::from_u16(3, 3, &[1; 8]),
            Err(VisionError::SizeMismatch {
                expected: 9,
                actual: 8,
                ..
            })
        ));
        assert!(matches!(
            GrayImage::new(2, 1, vec![0.0, f32::NAN]),
            Err(VisionError::NonFinitePixel { index: 1, .. })
        ));
        assert!(matches!(
            GrayImage::from_u8(usize::MAX, 2, &[]),
            Err(VisionError::TooLarge { .. })
        ));
        let image = GrayImage::from_u16(2, 2, &[1, 2, 3, 65535]).unwrap();
        assert_eq!(image.data, vec![1.0, 2.0, 3.0, 65535.0]);
    }

    #[test]
    fn blur_preserves_constants_and_mass() {
        let flat = vec![7.0f32; 20 * 10];
        let blurred = gaussian_blur(&flat, 20, 10, 1.3);
        assert!(blurred.iter().all(|v| (v - 7.0).abs() < 1e-4));
        // A point away from the border keeps its integral and spreads symmetrically.
        let mut point = vec![0f32; 21 * 21];
        point[10 * 21 + 10] = 1.0;
        let blurred = gaussian_blur(&point, 21, 21, 1.0);
        let total: f32 = blurred.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!((blurred[10 * 21 + 9] - blurred[10 * 21 + 11]).abs() < 1e-7);
        assert!((blurred[9 * 21 + 10] - blurred[10 * 21 + 9]).abs() < 1e-7);
    }

    #[test]
    fn noise_estimate_matches_known_sigma() {
        use rand::SeedableRng;
        use rand_chacha::ChaCha8Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (w, h) = (200, 200);
        // Box-Muller from uniform draws keeps the test free of extra dependencies.
        let mut data = Vec::with_capacity(w * h);
        while data.len() < w * h {
            let u1: f64 = rand::RngExt::random::<f64>(&mut rng).max(1e-12);
            let u2: f64 = rand::RngExt::random(&mut rng);
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            data.push(100.0 + 3.0 * z as f32);
        }
        let sigma = estimate_pixel_noise(&data, w, h);
        assert!((sigma - 3.0).abs() < 0.15, "sigma {sigma}");
        // The blurred noise shrinks by the predicted factor.
        let blurred = gaussian_blur(&data, w, h, 1.0);
        let inner: Vec<f64> = (10..h - 10)
            .flat_map(|y| (10..w - 10).map(move |x| (x, y)))
            .map(|(x, y)| blurred[y * w + x] as f64)
            .collect();
        let mean = inner.iter().sum::<f64>() / inner.len() as f64;
        let sd =
            (inner.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / inner.len() as f64).sqrt();
        let predicted = 3.0 * blur_noise_factor(1.0);
        assert!(
            (sd / predicted - 1.0).abs() < 0.1,
            "sd {sd} predicted {predicted}"
        );
    }
}
