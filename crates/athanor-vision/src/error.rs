//! The crate's single error type.

/// Why an image could not be analysed. Every variant says what was wrong with the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VisionError {
    /// The image has no pixels (zero width or height).
    #[error("the image is empty ({width} × {height} pixels)")]
    EmptyImage {
        /// Width given, pixels.
        width: usize,
        /// Height given, pixels.
        height: usize,
    },
    /// The pixel buffer (or a label map) does not hold `width · height` values.
    #[error("{what}: expected {expected} values for the image size but got {actual}")]
    SizeMismatch {
        /// Which buffer is wrong (e.g. `pixels`, `truth labels`).
        what: &'static str,
        /// `width · height`.
        expected: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// `width · height` does not fit in memory addressing.
    #[error("image of {width} × {height} pixels is too large")]
    TooLarge {
        /// Width given, pixels.
        width: usize,
        /// Height given, pixels.
        height: usize,
    },
    /// A pixel value is NaN or infinite.
    #[error("pixel {index} (x = {x}, y = {y}) is not a finite number")]
    NonFinitePixel {
        /// Row-major index of the first bad pixel.
        index: usize,
        /// Its column.
        x: usize,
        /// Its row.
        y: usize,
    },
    /// A configuration value outside its valid range.
    #[error("invalid analysis setting `{field}` = {value}: {reason}")]
    InvalidConfig {
        /// Name of the [`crate::AnalysisConfig`] field (or function argument).
        field: &'static str,
        /// The offending value.
        value: f64,
        /// What is expected instead.
        reason: &'static str,
    },
    /// The analysis ran but found no particles (a result about the image, not a failure of the
    /// code): a blank or uniform field, or only features below the noise or size limits.
    #[error("no particles found: {reason}")]
    NoParticles {
        /// Why nothing qualified.
        reason: String,
    },
    /// The learned model could not be built, loaded or run (bad weights file, framework error).
    #[error("learned model: {reason}")]
    Model {
        /// What went wrong, with the framework's message.
        reason: String,
    },
    /// A quality-control specification could not be read (see [`crate::qc::QcSpec`]).
    #[error("QC spec: {reason}")]
    Spec {
        /// The offending entry and what is expected.
        reason: String,
    },
    /// Training or evaluation data could not be read or written.
    #[error("data: {reason}")]
    Data {
        /// The file and what was wrong with it.
        reason: String,
    },
}
