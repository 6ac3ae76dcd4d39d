//! The twin's recipe parameters: names, canonical units, valid ranges and defaults, and
//! conversion from an [`athanor_model::Recipe`].

use crate::error::TwinError;
use athanor_model::units::{Dimension, Unit};
use athanor_model::{Quantity, Recipe};

/// One input of the twin: its name in a recipe, canonical unit and physically valid range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputSpec {
    /// Parameter name as used in a [`Recipe`].
    pub name: &'static str,
    /// Canonical unit (values in any unit of the same dimension are converted to it).
    pub unit: &'static str,
    /// Dimension of the canonical unit.
    pub dimension: Dimension,
    /// Smallest valid value, canonical unit.
    pub min: f64,
    /// Largest valid value, canonical unit.
    pub max: f64,
    /// Value used when a recipe omits the parameter.
    pub default: f64,
    /// What the parameter means.
    pub description: &'static str,
}

const INPUT_SPECS: [InputSpec; 7] = [
    InputSpec {
        name: "injection_temperature",
        unit: "degC",
        dimension: Dimension::TEMPERATURE,
        min: 240.0,
        max: 340.0,
        default: 300.0,
        description: "temperature of the Cd precursor solution when the Se precursor is injected",
    },
    InputSpec {
        name: "growth_temperature",
        unit: "degC",
        dimension: Dimension::TEMPERATURE,
        min: 200.0,
        max: 320.0,
        default: 270.0,
        description: "setpoint of the growth stage after injection",
    },
    InputSpec {
        name: "growth_time",
        unit: "min",
        dimension: Dimension::TIME,
        min: 0.1,
        max: 60.0,
        default: 5.0,
        description: "duration of the growth stage, from the end of the injection to the quench",
    },
    InputSpec {
        name: "cd_se_ratio",
        unit: "1",
        dimension: Dimension::NONE,
        min: 0.5,
        max: 8.0,
        default: 2.0,
        description: "molar ratio of Cd to Se in the reaction",
    },
    InputSpec {
        name: "precursor_concentration",
        unit: "mol/L",
        dimension: Dimension::CONCENTRATION,
        min: 0.02,
        max: 0.5,
        default: 0.1,
        description: "Se concentration in the flask after injection",
    },
    InputSpec {
        name: "shell_monolayers",
        unit: "ML",
        dimension: Dimension::NONE,
        min: 0.0,
        max: 8.0,
        default: 2.0,
        description: "ZnS shell thickness in monolayers (1 ML = 0.31 nm)",
    },
    InputSpec {
        name: "injection_time",
        unit: "s",
        dimension: Dimension::TIME,
        min: 0.2,
        max: 60.0,
        default: 1.0,
        description: "duration of the Se injection (slow injection means poor, drawn-out mixing)",
    },
];

/// The twin's inputs, in canonical units, in the order of [`SynthesisInputs::to_array`].
pub fn input_specs() -> &'static [InputSpec] {
    &INPUT_SPECS
}

/// The recipe of one hot-injection synthesis, in canonical units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SynthesisInputs {
    /// Temperature of the Cd solution at injection, °C.
    pub injection_temperature_c: f64,
    /// Growth-stage setpoint, °C.
    pub growth_temperature_c: f64,
    /// Growth time after the injection, minutes.
    pub growth_time_min: f64,
    /// Molar Cd:Se ratio.
    pub cd_se_ratio: f64,
    /// Se concentration after injection, mol/L.
    pub precursor_concentration_mol_l: f64,
    /// ZnS shell thickness, monolayers.
    pub shell_monolayers: f64,
    /// Duration of the injection, seconds.
    pub injection_time_s: f64,
}

impl Default for SynthesisInputs {
    /// The defaults of [`input_specs`]: inject at 300 °C over 1 s, grow 5 min at 270 °C,
    /// Cd:Se 2, 0.1 mol/L Se, 2 ML ZnS.
    fn default() -> Self {
        SynthesisInputs::from_array(std::array::from_fn(|k| INPUT_SPECS[k].default))
    }
}

impl SynthesisInputs {
    /// The values in the order of [`input_specs`].
    pub fn to_array(&self) -> [f64; 7] {
        [
            self.injection_temperature_c,
            self.growth_temperature_c,
            self.growth_time_min,
            self.cd_se_ratio,
            self.precursor_concentration_mol_l,
            self.shell_monolayers,
            self.injection_time_s,
        ]
    }

    /// Builds inputs from values in the order of [`input_specs`] (not range-checked; see
    /// [`SynthesisInputs::validate`]).
    pub fn from_array(values: [f64; 7]) -> Self {
        SynthesisInputs {
            injection_temperature_c: values[0],
            growth_temperature_c: values[1],
            growth_time_min: values[2],
            cd_se_ratio: values[3],
            precursor_concentration_mol_l: values[4],
            shell_monolayers: values[5],
            injection_time_s: values[6],
        }
    }

    /// Builds inputs from a recipe: converts each quantity to the canonical unit, fills defaults
    /// for missing inputs, and rejects unknown parameter names, units of the wrong dimension
    /// and values outside the valid range, with errors naming the parameter.
    pub fn from_recipe(recipe: &Recipe) -> Result<Self, TwinError> {
        let mut values: [f64; 7] = std::array::from_fn(|k| INPUT_SPECS[k].default);
        for (name, quantity) in &recipe.parameters {
            let Some(k) = INPUT_SPECS.iter().position(|s| s.name == name) else {
                return Err(TwinError::UnknownParameter {
                    name: name.clone(),
                    known: INPUT_SPECS.map(|s| s.name).join(", "),
                });
            };
            let unit_error = |source| TwinError::Unit {
                name: name.clone(),
                source,
            };
            let canonical = Unit::parse(INPUT_SPECS[k].unit).map_err(unit_error)?;
            values[k] = quantity.to_unit(&canonical).map_err(unit_error)?.value;
        }
        let inputs = SynthesisInputs::from_array(values);
        inputs.validate()?;
        Ok(inputs)
    }

    /// Checks that every value is finite and within its valid range.
    pub fn validate(&self) -> Result<(), TwinError> {
        for (spec, value) in INPUT_SPECS.iter().zip(self.to_array()) {
            if !(value.is_finite() && value >= spec.min && value <= spec.max) {
                return Err(TwinError::OutOfRange {
                    name: spec.name.to_string(),
                    value,
                    unit: spec.unit.to_string(),
                    min: spec.min,
                    max: spec.max,
                });
            }
        }
        Ok(())
    }

    /// The same values clamped into the valid ranges (non-finite values become the default).
    pub fn clamped(&self) -> Self {
        let values = self.to_array();
        SynthesisInputs::from_array(std::array::from_fn(|k| {
            let spec = &INPUT_SPECS[k];
            if values[k].is_finite() {
                values[k].clamp(spec.min, spec.max)
            } else {
                spec.default
            }
        }))
    }

    /// The inputs as a recipe with canonical units (the inverse of
    /// [`SynthesisInputs::from_recipe`]).
    pub fn to_recipe(&self) -> Recipe {
        let mut recipe = Recipe::default();
        for (spec, value) in INPUT_SPECS.iter().zip(self.to_array()) {
            recipe
                .parameters
                .insert(spec.name.to_string(), Quantity::new(value, spec.unit));
        }
        recipe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_inside_ranges_and_round_trip_through_a_recipe() {
        let d = SynthesisInputs::default();
        d.validate().unwrap();
        assert_eq!(d.growth_temperature_c, 270.0);
        assert_eq!(SynthesisInputs::from_recipe(&d.to_recipe()).unwrap(), d);
        assert_eq!(SynthesisInputs::from_recipe(&Recipe::default()).unwrap(), d);
    }

    #[test]
    fn converts_units_and_fills_defaults() {
        let mut r = Recipe::default();
        r.parameters
            .insert("growth_temperature".into(), Quantity::new(543.15, "K"));
        r.parameters
            .insert("growth_time".into(), Quantity::new(120.0, "s"));
        r.parameters.insert(
            "precursor_concentration".into(),
            Quantity::new(150.0, "mmol/L"),
        );
        let i = SynthesisInputs::from_recipe(&r).unwrap();
        assert!((i.growth_temperature_c - 270.0).abs() < 1e-9);
        assert!((i.growth_time_min - 2.0).abs() < 1e-12);
        assert!((i.precursor_concentration_mol_l - 0.15).abs() < 1e-12);
        assert_eq!(i.cd_se_ratio, 2.0);
    }

    #[test]
    fn rejects_unknown_names_wrong_units_and_out_of_range_values() {
        let with = |name: &str, q: Quantity| {
            let mut r = Recipe::default();
            r.parameters.insert(name.into(), q);
            SynthesisInputs::from_recipe(&r).unwrap_err()
        };
        let e = with("stirring_speed", Quantity::new(500.0, "rpm"));
        assert!(matches!(e, TwinError::UnknownParameter { .. }));
        assert!(e.to_string().contains("stirring_speed"));
        let e = with("growth_time", Quantity::new(3.0, "nm"));
        assert!(matches!(e, TwinError::Unit { .. }) && e.to_string().contains("growth_time"));
        let e = with("injection_temperature", Quantity::new(400.0, "degC"));
        assert!(matches!(e, TwinError::OutOfRange { .. }));
        assert!(e.to_string().contains("injection_temperature"));
        let e = with("shell_monolayers", Quantity::new(f64::NAN, "ML"));
        assert!(e.to_string().contains("shell_monolayers"));
    }
}
