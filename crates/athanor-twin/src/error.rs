//! The crate's single error type.

use athanor_model::units::UnitError;

/// Why the twin refused a request. Every variant names the offending parameter or field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TwinError {
    /// A recipe parameter that the twin does not model.
    #[error("unknown parameter `{name}`: the hot-injection twin accepts {known}")]
    UnknownParameter {
        /// The parameter name found in the recipe.
        name: String,
        /// The accepted names, comma separated.
        known: String,
    },
    /// A recipe value whose unit cannot be read or converted to the canonical unit.
    #[error("parameter `{name}`: {source}")]
    Unit {
        /// The parameter name.
        name: String,
        /// What went wrong with the unit.
        #[source]
        source: UnitError,
    },
    /// A recipe value outside the twin's physically valid range (or not finite).
    #[error("parameter `{name}` = {value} {unit} is outside the twin's valid range {min}..={max} {unit}")]
    OutOfRange {
        /// The parameter name.
        name: String,
        /// The value, converted to the canonical unit.
        value: f64,
        /// The canonical unit.
        unit: String,
        /// Lower limit of the valid range.
        min: f64,
        /// Upper limit of the valid range.
        max: f64,
    },
    /// A micrograph specification field with an impossible value.
    #[error("micrograph spec: `{field}` = {value} is invalid: {reason}")]
    InvalidMicrographSpec {
        /// The field of [`crate::micrograph::MicrographSpec`].
        field: &'static str,
        /// Its value.
        value: f64,
        /// What is expected instead.
        reason: &'static str,
    },
    /// The particle diameters given to the micrograph renderer are unusable.
    #[error("micrograph diameters: {0}")]
    InvalidDiameters(String),
}
