//! # athanor-model — the vocabulary every Athanor crate speaks
//!
//! Values travel with their units and uncertainty ([`Quantity`], [`units::Unit`]), recipes are
//! ordered process steps ([`ProcessStep`]), and every derived number says where it came from
//! ([`Origin`]). The types here are plain data (serde-serialisable) with no I/O, so planners,
//! simulators, analysis code and storage can exchange them freely.
//!
//! ```
//! use athanor_model::{Quantity, units::Unit};
//! let t = Quantity::new(300.0, "degC");
//! let kelvin = t.to_unit(&Unit::parse("K").unwrap()).unwrap();
//! assert!((kelvin.value - 573.15).abs() < 1e-9);
//! ```

pub mod attributes;
pub mod provenance;
pub mod units;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use units::{Unit, UnitError};

/// A number with a unit and, where known, a standard uncertainty in the same unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// The value (the mean, for an uncertain quantity).
    pub value: f64,
    /// The unit symbol, parseable by [`Unit::parse`].
    pub unit: String,
    /// One standard deviation, in `unit`, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
}

impl Quantity {
    /// An exact quantity.
    pub fn new(value: f64, unit: &str) -> Quantity {
        Quantity {
            value,
            unit: unit.to_string(),
            std: None,
        }
    }

    /// A quantity with a standard uncertainty.
    pub fn with_std(value: f64, std: f64, unit: &str) -> Quantity {
        Quantity {
            value,
            unit: unit.to_string(),
            std: Some(std),
        }
    }

    /// Converts this quantity (value and uncertainty) to another unit of the same dimension.
    pub fn to_unit(&self, target: &Unit) -> Result<Quantity, UnitError> {
        let from = Unit::parse(&self.unit)?;
        Ok(Quantity {
            value: from.convert(self.value, target)?,
            unit: target.symbol().to_string(),
            std: match self.std {
                Some(s) => Some(from.convert_difference(s, target)?),
                None => None,
            },
        })
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.std {
            Some(s) => write!(f, "{} ± {} {}", self.value, s, self.unit),
            None => write!(f, "{} {}", self.value, self.unit),
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Set by a person or a plan (a recipe parameter).
    Specified,
    /// Read from an instrument.
    Measured,
    /// Derived from measured data by an analysis.
    Computed,
    /// A model's prediction.
    Predicted,
}

/// One search dimension of a campaign, in the unit the user wrote, already clipped to the hard
/// limits (so a planner that stays within these bounds never proposes an unsafe recipe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterDef {
    /// Name of the process parameter (e.g. `growth_temperature`).
    pub name: String,
    /// The unit in which bounds and proposals are expressed.
    pub unit: String,
    /// Lower bound (inclusive).
    pub min: f64,
    /// Upper bound (inclusive).
    pub max: f64,
    /// Search on a logarithmic scale (for quantities that span decades, such as times).
    #[serde(default)]
    pub log_scale: bool,
}

impl ParameterDef {
    /// Maps a value in [0, 1] to the parameter's range (linearly or logarithmically).
    pub fn from_unit_interval(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        let v = if self.log_scale {
            (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp()
        } else {
            self.min + u * (self.max - self.min)
        };
        v.clamp(self.min, self.max)
    }

    /// Maps a value in the parameter's range to [0, 1]; the inverse of
    /// [`ParameterDef::from_unit_interval`].
    pub fn to_unit_interval(&self, v: f64) -> f64 {
        let u = if self.max == self.min {
            0.5
        } else if self.log_scale {
            (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        u.clamp(0.0, 1.0)
    }
}

/// The values chosen for one experiment: parameter name → quantity. Sorted by name so that the
/// serialised form (and anything hashed from it) is stable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Recipe {
    /// Parameter values with units.
    pub parameters: BTreeMap<String, Quantity>,
}

impl Recipe {
    /// The value of `name` converted to `unit`, if present.
    pub fn get_in(&self, name: &str, unit: &str) -> Option<Result<f64, UnitError>> {
        let q = self.parameters.get(name)?;
        Some(
            Unit::parse(unit)
                .and_then(|u| q.to_unit(&u))
                .map(|q| q.value),
        )
    }
}

/// One step of a process, in order: what was done, with which setpoints, and (for a run) what
/// was actually logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStep {
    /// Position in the process, starting at 1.
    pub index: u32,
    /// What is done: `degas`, `heat`, `inject`, `grow`, `shell`, `cool`, `purify`, `measure`, …
    pub action: String,
    /// Setpoints of the step.
    pub setpoints: BTreeMap<String, Quantity>,
    /// Values logged while the step ran (empty in a spec).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actuals: BTreeMap<String, Quantity>,
    /// Offset of the step's start from the start of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Quantity>,
    /// How long the step lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Quantity>,
    /// The device that carries the step out.
    pub device: String,
}

/// A named result of an experiment (a measured or computed property).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyValue {
    /// Property name, e.g. `pl_peak`, `size_cv`, `quantum_yield`, `d50`.
    pub name: String,
    /// The value with unit and uncertainty.
    pub quantity: Quantity,
    /// Where it came from.
    pub origin: Origin,
    /// The technique or analysis that produced it (e.g. `TEM/vision`, `PL/spectrum`).
    pub method: String,
}

/// Identifiers: time-ordered UUIDv7 for machines, short lab ids for people.
pub mod ids {
    /// A new time-ordered unique id.
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_scale_mapping_round_trips() {
        let p = ParameterDef {
            name: "t".into(),
            unit: "min".into(),
            min: 0.5,
            max: 50.0,
            log_scale: true,
        };
        assert!((p.from_unit_interval(0.5) - 5.0).abs() < 1e-9);
        for u in [0.0, 0.1, 0.77, 1.0] {
            assert!((p.to_unit_interval(p.from_unit_interval(u)) - u).abs() < 1e-12);
        }
    }

    #[test]
    fn quantity_converts_value_and_uncertainty() {
        let q = Quantity::with_std(25.0, 0.5, "degC");
        let k = q.to_unit(&Unit::parse("K").unwrap()).unwrap();
        assert!((k.value - 298.15).abs() < 1e-9);
        assert_eq!(k.std, Some(0.5));
        assert!(Quantity::new(1.0, "nm")
            .to_unit(&Unit::parse("s").unwrap())
            .is_err());
    }
}
