//! The crate's single error type.

use crate::fmt_value;

/// Why a spectrum could not be analysed. Messages name the offending value or position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpectraError {
    /// `x` and `y` have different lengths.
    #[error("x has {x} values but y has {y}; they must be the same length")]
    LengthMismatch {
        /// Length of `x`.
        x: usize,
        /// Length of `y`.
        y: usize,
    },
    /// Too few points for the requested analysis.
    #[error("{found} points are too few: at least {needed} are needed ({context})")]
    TooFewPoints {
        /// Points available.
        found: usize,
        /// Points needed.
        needed: usize,
        /// What needed them.
        context: String,
    },
    /// `x` is neither strictly increasing nor strictly decreasing.
    #[error("x is not monotonic: x[{index}] = {} follows x[{}] = {}", fmt_value(*.value), .index - 1, fmt_value(*.previous))]
    NonMonotonic {
        /// Index of the first value that breaks the order.
        index: usize,
        /// The value before it.
        previous: f64,
        /// The offending value.
        value: f64,
    },
    /// A NaN or infinite value.
    #[error("{array}[{index}] is {value}; spectra must contain finite numbers only")]
    NotFinite {
        /// Which input (`x` or `y`).
        array: &'static str,
        /// Index of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A Savitzky–Golay window/order combination that cannot be used.
    #[error("invalid smoothing parameters: {0}")]
    InvalidSmoothing(String),
    /// An analysis option that cannot be used.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// A range that cannot be used.
    #[error("invalid range: {0}")]
    InvalidRange(String),
    /// No peak could be found.
    #[error("no peak: {0}")]
    NoPeak(String),
    /// The peak does not fall to half its height above the baseline within the data.
    #[error("FWHM undefined: the peak at {} does not fall to half height before {} (the {} end of the analysed data)", fmt_value(*.position), fmt_value(*.edge), if *.upper_side { "upper" } else { "lower" })]
    FwhmUndefined {
        /// Position of the peak.
        position: f64,
        /// The x value at the end of the data on the side where half height is not reached.
        edge: f64,
        /// Whether that is the high-x side.
        upper_side: bool,
    },
}
