//! In-memory calibrated images, independent of the file format they came from.

use crate::FormatError;
use athanor_model::units::Unit;
use athanor_model::Quantity;
use serde::{Deserialize, Serialize};

/// A single-channel image with its physical pixel size.
///
/// Pixels are stored row by row (row 0 is the top of the image), `pixels[row * width + column]`.
/// 8-bit files are widened to `u16` without rescaling, so their values stay in 0–255.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedImage {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// Pixel values, row-major, `width * height` of them.
    pub pixels: Vec<u16>,
    /// The physical edge length of one (square) pixel, e.g. `0.2 nm`; `None` when the file
    /// carries no calibration. Readers never invent one.
    pub pixel_size: Option<Quantity>,
    /// Free-text description carried by the file.
    pub description: Option<String>,
}

impl CalibratedImage {
    /// The pixel at (`column`, `row`), or `None` outside the image.
    pub fn pixel(&self, column: usize, row: usize) -> Option<u16> {
        if column >= self.width || row >= self.height {
            return None;
        }
        self.pixels.get(row * self.width + column).copied()
    }

    /// The pixel size converted to `unit` (e.g. `"nm"`), or `None` for an uncalibrated image.
    /// Fails if `unit` is not understood or is not of the pixel size's dimension.
    pub fn pixel_size_in(&self, unit: &str) -> Result<Option<f64>, FormatError> {
        let Some(size) = &self.pixel_size else {
            return Ok(None);
        };
        let target =
            Unit::parse(unit).map_err(|e| FormatError::InvalidCalibration(e.to_string()))?;
        size.to_unit(&target)
            .map(|q| Some(q.value))
            .map_err(|e| FormatError::InvalidCalibration(e.to_string()))
    }

    /// Checks that the dimensions match the pixel buffer and that the pixel size, if any, is a
    /// positive finite length (or inverse length, for diffraction patterns).
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.width == 0 || self.height == 0 {
            return Err(FormatError::InvalidImage(format!(
                "image is {} × {} pixels; both dimensions must be at least 1",
                self.width, self.height
            )));
        }
        let expected = self.width.checked_mul(self.height).ok_or_else(|| {
            FormatError::InvalidImage(format!(
                "{} × {} pixels overflows the address space",
                self.width, self.height
            ))
        })?;
        if expected != self.pixels.len() {
            return Err(FormatError::InvalidImage(format!(
                "{} × {} image needs {expected} pixels but has {}",
                self.width,
                self.height,
                self.pixels.len()
            )));
        }
        if let Some(size) = &self.pixel_size {
            crate::metadata::check_pixel_size(size)?;
        }
        Ok(())
    }
}
