//! Typed attribute values with units and origins, and templates that bound them.
//!
//! The ideas follow Citrine GEMD (attribute templates with bounds; nominal, normal and uniform
//! real values; categorical, composition and integer values), NOMAD (every value with a unit)
//! and AiiDA (every value says where it came from), without their code.
//!
//! * [`AttributeValue`]: what a value is — a nominal real, a normal distribution (mean ± std),
//!   a uniform interval, an integer, a category, a composition, a chemical formula, free text,
//!   or a reference to an array inside a stored blob file.
//! * [`Attribute`]: a named value with its unit (parsed by [`Unit::parse`]) and [`Origin`].
//! * [`AttributeTemplate`]: the bounds of one parameter, condition or property. The same bounds
//!   validate records ([`AttributeTemplate::check`]), act as safety limits and define a
//!   planner's search space ([`AttributeTemplate::parameter_def`]).
//!
//! Every problem is a [`ValidationError`] that names the field:
//!
//! ```
//! use athanor_model::attributes::{Attribute, AttributeTemplate, AttributeValue, Bounds, TemplateRole};
//! use athanor_model::Origin;
//! let template = AttributeTemplate {
//!     name: "growth_temperature".into(),
//!     role: TemplateRole::Parameter,
//!     bounds: Bounds::Real { min: 200.0, max: 320.0, unit: "degC".into() },
//!     log_scale: false,
//! };
//! let ok = Attribute::new("growth_temperature", AttributeValue::Nominal { value: 540.0 }, "K", Origin::Specified);
//! assert!(template.check(&ok).is_ok()); // 540 K = 266.85 °C
//! let hot = Attribute::new("growth_temperature", AttributeValue::Nominal { value: 400.0 }, "degC", Origin::Specified);
//! assert!(template.check(&hot).unwrap_err().to_string().contains("growth_temperature"));
//! let wrong = Attribute::new("growth_temperature", AttributeValue::Nominal { value: 1.0 }, "nm", Origin::Specified);
//! assert!(template.check(&wrong).is_err()); // a length is not a temperature
//! ```

use crate::units::{Unit, UnitError};
use crate::{Origin, ParameterDef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value or template that does not validate; `field` names the offending attribute (and
/// part of it), e.g. `growth_temperature.unit`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    /// The field, as `attribute` or `attribute.part`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl ValidationError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> ValidationError {
        ValidationError {
            field: field.into(),
            problem: problem.into(),
        }
    }

    fn unit(field: &str, error: UnitError) -> ValidationError {
        ValidationError::new(format!("{field}.unit"), error.to_string())
    }
}

/// What a value is. Real-valued kinds are in the attribute's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AttributeValue {
    /// One number without stated uncertainty.
    Nominal {
        /// The value.
        value: f64,
    },
    /// A normal distribution: mean ± one standard deviation.
    Normal {
        /// The mean.
        mean: f64,
        /// One standard deviation (≥ 0).
        std: f64,
    },
    /// Anywhere in `[low, high]` with equal probability (a tolerance band).
    Uniform {
        /// Lower end.
        low: f64,
        /// Upper end (≥ `low`).
        high: f64,
    },
    /// A whole number (a count, a number of cycles).
    Integer {
        /// The value.
        value: i64,
    },
    /// One of a set of named categories (a solvent, a ligand, a verdict).
    Categorical {
        /// The category.
        category: String,
    },
    /// Amounts of components (mole or mass fractions, or amounts in the attribute's unit).
    Composition {
        /// Component name → amount (each ≥ 0).
        components: BTreeMap<String, f64>,
    },
    /// A chemical formula, e.g. `CdSe` or `Cs0.5FA0.5PbI3`.
    Formula {
        /// The formula.
        formula: String,
    },
    /// Free text.
    Text {
        /// The text.
        text: String,
    },
    /// An array kept in a stored blob file (a spectrum, an image, a histogram).
    ArrayRef {
        /// SHA-256 of the blob (64 lower-case hex digits).
        blob: String,
        /// The array inside the file (dataset path, column name); empty for the whole file.
        #[serde(default)]
        path: String,
        /// The array's shape, if known.
        #[serde(default)]
        shape: Vec<u64>,
    },
}

impl AttributeValue {
    /// The central real value (nominal, mean, interval midpoint, integer), if the value is a
    /// number.
    pub fn central(&self) -> Option<f64> {
        match self {
            AttributeValue::Nominal { value } => Some(*value),
            AttributeValue::Normal { mean, .. } => Some(*mean),
            AttributeValue::Uniform { low, high } => Some(0.5 * (low + high)),
            AttributeValue::Integer { value } => Some(*value as f64),
            _ => None,
        }
    }

    /// The range of real values the value spans (a point for nominal, integer and normal
    /// values; the mean is what bounds are checked against for a normal value).
    fn span(&self) -> Option<(f64, f64)> {
        match self {
            AttributeValue::Uniform { low, high } => Some((*low, *high)),
            other => other.central().map(|c| (c, c)),
        }
    }

    /// Checks the value on its own (finite numbers, non-negative std, ordered interval, …).
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let finite = |part: &str, x: f64| {
            if x.is_finite() {
                Ok(())
            } else {
                Err(ValidationError::new(
                    format!("{field}.{part}"),
                    format!("{x} is not a finite number"),
                ))
            }
        };
        match self {
            AttributeValue::Nominal { value } => finite("value", *value),
            AttributeValue::Normal { mean, std } => {
                finite("mean", *mean)?;
                finite("std", *std)?;
                if *std < 0.0 {
                    return Err(ValidationError::new(
                        format!("{field}.std"),
                        format!("standard deviation {std} is negative"),
                    ));
                }
                Ok(())
            }
            AttributeValue::Uniform { low, high } => {
                finite("low", *low)?;
                finite("high", *high)?;
                if low > high {
                    return Err(ValidationError::new(
                        format!("{field}.low"),
                        format!("interval [{low}, {high}] has low > high"),
                    ));
                }
                Ok(())
            }
            AttributeValue::Integer { .. } => Ok(()),
            AttributeValue::Categorical { category } => non_empty(field, "category", category),
            AttributeValue::Formula { formula } => non_empty(field, "formula", formula),
            AttributeValue::Text { .. } => Ok(()),
            AttributeValue::Composition { components } => {
                if components.is_empty() {
                    return Err(ValidationError::new(
                        format!("{field}.components"),
                        "a composition needs at least one component",
                    ));
                }
                for (name, amount) in components {
                    if !(amount.is_finite() && *amount >= 0.0) {
                        return Err(ValidationError::new(
                            format!("{field}.components.{name}"),
                            format!("amount {amount} must be finite and non-negative"),
                        ));
                    }
                }
                Ok(())
            }
            AttributeValue::ArrayRef { blob, .. } => {
                if blob.len() != 64
                    || !blob
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                {
                    return Err(ValidationError::new(
                        format!("{field}.blob"),
                        format!("'{blob}' is not a SHA-256 hash (64 lower-case hex digits)"),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The value with its real numbers converted from `from` to `to` (uncertainties and
    /// intervals as differences where that matters). Non-numeric values are returned as they
    /// are.
    pub fn convert(&self, from: &Unit, to: &Unit) -> Result<AttributeValue, UnitError> {
        Ok(match self {
            AttributeValue::Nominal { value } => AttributeValue::Nominal {
                value: from.convert(*value, to)?,
            },
            AttributeValue::Normal { mean, std } => AttributeValue::Normal {
                mean: from.convert(*mean, to)?,
                std: from.convert_difference(*std, to)?,
            },
            AttributeValue::Uniform { low, high } => AttributeValue::Uniform {
                low: from.convert(*low, to)?,
                high: from.convert(*high, to)?,
            },
            other => {
                from.check_compatible(to)?;
                other.clone()
            }
        })
    }
}

fn non_empty(field: &str, part: &str, text: &str) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(
            format!("{field}.{part}"),
            "must not be empty",
        ));
    }
    Ok(())
}

/// A named value with its unit and origin: a process parameter, a measurement condition, a
/// property, or a free-form extra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Name, e.g. `growth_temperature`, `d50`, `excitation_wavelength`.
    pub name: String,
    /// The value.
    pub value: AttributeValue,
    /// Unit symbol (parseable by [`Unit::parse`]; empty for dimensionless or non-numeric).
    #[serde(default)]
    pub unit: String,
    /// Where the value came from.
    pub origin: Origin,
}

impl Attribute {
    /// A new attribute.
    pub fn new(name: &str, value: AttributeValue, unit: &str, origin: Origin) -> Attribute {
        Attribute {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
            origin,
        }
    }

    /// Checks the name, the unit and the value; errors name the attribute.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("attribute.name", "must not be empty"));
        }
        Unit::parse(&self.unit).map_err(|e| ValidationError::unit(&self.name, e))?;
        self.value.validate(&self.name)
    }

    /// The attribute converted to `unit` (which must have the same dimension).
    pub fn to_unit(&self, unit: &str) -> Result<Attribute, ValidationError> {
        let from = Unit::parse(&self.unit).map_err(|e| ValidationError::unit(&self.name, e))?;
        let to = Unit::parse(unit).map_err(|e| ValidationError::unit(&self.name, e))?;
        Ok(Attribute {
            value: self
                .value
                .convert(&from, &to)
                .map_err(|e| ValidationError::unit(&self.name, e))?,
            unit: unit.to_string(),
            ..self.clone()
        })
    }
}

/// Checks every attribute of a list, and that no name appears twice.
pub fn validate_attributes(list: &[Attribute]) -> Result<(), ValidationError> {
    let mut seen = std::collections::BTreeSet::new();
    for attribute in list {
        attribute.validate()?;
        if !seen.insert(attribute.name.as_str()) {
            return Err(ValidationError::new(
                attribute.name.clone(),
                "appears more than once",
            ));
        }
    }
    Ok(())
}

/// What an attribute template describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateRole {
    /// A process parameter (a knob the planner turns).
    Parameter,
    /// A condition under which something is done or measured.
    Condition,
    /// A property of a material or a result.
    Property,
}

/// The allowed values of an attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Bounds {
    /// Real numbers in `[min, max]` of `unit` (values in any unit of the same dimension are
    /// converted before the comparison).
    Real {
        /// Lower bound (inclusive).
        min: f64,
        /// Upper bound (inclusive).
        max: f64,
        /// The unit of the bounds.
        unit: String,
    },
    /// Whole numbers in `[min, max]`.
    Integer {
        /// Lower bound (inclusive).
        min: i64,
        /// Upper bound (inclusive).
        max: i64,
    },
    /// One of these categories.
    Categorical {
        /// The allowed categories.
        categories: Vec<String>,
    },
    /// A composition whose components are among these.
    Composition {
        /// The allowed component names.
        components: Vec<String>,
    },
    /// Any value of any kind (text, formulas, array references).
    Any,
}

/// The bounds of one parameter, condition or property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeTemplate {
    /// Attribute name the template applies to.
    pub name: String,
    /// Parameter, condition or property.
    pub role: TemplateRole,
    /// The allowed values.
    pub bounds: Bounds,
    /// For real parameters: search on a logarithmic scale.
    #[serde(default)]
    pub log_scale: bool,
}

impl AttributeTemplate {
    /// Checks the template itself (ordered bounds, parseable unit, positive bounds for a log
    /// scale).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let field = format!("template {}", self.name);
        match &self.bounds {
            Bounds::Real { min, max, unit } => {
                Unit::parse(unit).map_err(|e| ValidationError::unit(&field, e))?;
                if !(min.is_finite() && max.is_finite() && min <= max) {
                    return Err(ValidationError::new(
                        format!("{field}.bounds"),
                        format!("[{min}, {max}] is not a finite interval with min <= max"),
                    ));
                }
                if self.log_scale && *min <= 0.0 {
                    return Err(ValidationError::new(
                        format!("{field}.bounds"),
                        "a log-scale parameter needs bounds above zero",
                    ));
                }
            }
            Bounds::Integer { min, max } if min > max => {
                return Err(ValidationError::new(
                    format!("{field}.bounds"),
                    format!("[{min}, {max}] has min > max"),
                ));
            }
            Bounds::Categorical { categories } if categories.is_empty() => {
                return Err(ValidationError::new(
                    format!("{field}.bounds"),
                    "needs at least one category",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks that `attribute` has this template's name and lies within its bounds, after
    /// converting it to the template's unit. Errors name the attribute.
    pub fn check(&self, attribute: &Attribute) -> Result<(), ValidationError> {
        attribute.validate()?;
        let field = attribute.name.as_str();
        if attribute.name != self.name {
            return Err(ValidationError::new(
                field,
                format!("checked against the template of '{}'", self.name),
            ));
        }
        let kind_mismatch = |expected: &str| {
            Err(ValidationError::new(
                format!("{field}.value"),
                format!("expected {expected}, found {:?}", attribute.value),
            ))
        };
        match &self.bounds {
            Bounds::Real { min, max, unit } => {
                let converted = attribute.to_unit(unit)?;
                let Some((low, high)) = converted.value.span() else {
                    return kind_mismatch("a real number");
                };
                if low < *min || high > *max {
                    return Err(ValidationError::new(
                        field,
                        format!(
                            "{} {} is outside [{min}, {max}] {unit}",
                            fmt_span(low, high),
                            unit
                        ),
                    ));
                }
                Ok(())
            }
            Bounds::Integer { min, max } => match attribute.value {
                AttributeValue::Integer { value } if value < *min || value > *max => Err(
                    ValidationError::new(field, format!("{value} is outside [{min}, {max}]")),
                ),
                AttributeValue::Integer { .. } => Ok(()),
                _ => kind_mismatch("an integer"),
            },
            Bounds::Categorical { categories } => match &attribute.value {
                AttributeValue::Categorical { category } if categories.contains(category) => Ok(()),
                AttributeValue::Categorical { category } => Err(ValidationError::new(
                    field,
                    format!("'{category}' is not one of: {}", categories.join(", ")),
                )),
                _ => kind_mismatch("a category"),
            },
            Bounds::Composition { components } => match &attribute.value {
                AttributeValue::Composition { components: given } => {
                    for name in given.keys() {
                        if !components.contains(name) {
                            return Err(ValidationError::new(
                                format!("{field}.components.{name}"),
                                format!("not one of: {}", components.join(", ")),
                            ));
                        }
                    }
                    Ok(())
                }
                _ => kind_mismatch("a composition"),
            },
            Bounds::Any => Ok(()),
        }
    }

    /// The planner's search dimension for a real parameter (the bounds are the search space),
    /// or `None` for other kinds of bounds.
    pub fn parameter_def(&self) -> Option<ParameterDef> {
        match &self.bounds {
            Bounds::Real { min, max, unit } => Some(ParameterDef {
                name: self.name.clone(),
                unit: unit.clone(),
                min: *min,
                max: *max,
                log_scale: self.log_scale,
            }),
            _ => None,
        }
    }
}

fn fmt_span(low: f64, high: f64) -> String {
    if low == high {
        format!("{low}")
    } else {
        format!("[{low}, {high}]")
    }
}

/// A named set of attribute templates (for a kind of process, material or measurement).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Template {
    /// Name, e.g. `hot-injection CdSe synthesis`.
    pub name: String,
    /// The templates, one per attribute name.
    pub attributes: Vec<AttributeTemplate>,
}

impl Template {
    /// Checks each attribute that has a template; with `require_all`, every template's
    /// attribute must also be present. Attributes without a template are allowed (extras).
    pub fn check(
        &self,
        attributes: &[Attribute],
        require_all: bool,
    ) -> Result<(), ValidationError> {
        validate_attributes(attributes)?;
        for attribute in attributes {
            if let Some(t) = self.attributes.iter().find(|t| t.name == attribute.name) {
                t.check(attribute)?;
            }
        }
        if require_all {
            for t in &self.attributes {
                if !attributes.iter().any(|a| a.name == t.name) {
                    return Err(ValidationError::new(
                        t.name.clone(),
                        format!("required by template '{}' but missing", self.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The search space the real parameters span (in template order).
    pub fn search_space(&self) -> Vec<ParameterDef> {
        self.attributes
            .iter()
            .filter(|t| t.role == TemplateRole::Parameter)
            .filter_map(AttributeTemplate::parameter_def)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_template() -> AttributeTemplate {
        AttributeTemplate {
            name: "t".into(),
            role: TemplateRole::Parameter,
            bounds: Bounds::Real {
                min: 200.0,
                max: 300.0,
                unit: "degC".into(),
            },
            log_scale: false,
        }
    }

    #[test]
    fn bounds_convert_units_and_check_intervals() {
        let t = temp_template();
        let k = |v| {
            Attribute::new(
                "t",
                AttributeValue::Nominal { value: v },
                "K",
                Origin::Measured,
            )
        };
        assert!(t.check(&k(500.0)).is_ok());
        assert!(t.check(&k(600.0)).is_err());
        let band = Attribute::new(
            "t",
            AttributeValue::Uniform {
                low: 250.0,
                high: 310.0,
            },
            "degC",
            Origin::Specified,
        );
        let e = t.check(&band).unwrap_err();
        assert_eq!(e.field, "t");
        let length = Attribute::new(
            "t",
            AttributeValue::Nominal { value: 1.0 },
            "nm",
            Origin::Measured,
        );
        assert_eq!(t.check(&length).unwrap_err().field, "t.unit");
        let cat = Attribute::new(
            "t",
            AttributeValue::Categorical {
                category: "hot".into(),
            },
            "degC",
            Origin::Specified,
        );
        assert_eq!(t.check(&cat).unwrap_err().field, "t.value");
        assert_eq!(t.parameter_def().unwrap().max, 300.0);
    }

    #[test]
    fn values_validate_with_field_names() {
        let bad = Attribute::new(
            "d50",
            AttributeValue::Normal {
                mean: 5.0,
                std: -1.0,
            },
            "nm",
            Origin::Computed,
        );
        assert_eq!(bad.validate().unwrap_err().field, "d50.std");
        let unit = Attribute::new(
            "d50",
            AttributeValue::Nominal { value: 5.0 },
            "furlongs/qq",
            Origin::Computed,
        );
        assert_eq!(unit.validate().unwrap_err().field, "d50.unit");
        let array = Attribute::new(
            "spectrum",
            AttributeValue::ArrayRef {
                blob: "xyz".into(),
                path: String::new(),
                shape: vec![],
            },
            "",
            Origin::Measured,
        );
        assert_eq!(array.validate().unwrap_err().field, "spectrum.blob");
        let mut comp = BTreeMap::new();
        comp.insert("Cd".to_string(), 0.5);
        comp.insert("Se".to_string(), 0.5);
        let ok = Attribute::new(
            "c",
            AttributeValue::Composition { components: comp },
            "",
            Origin::Specified,
        );
        assert!(ok.validate().is_ok());
        let dup = [ok.clone(), ok];
        assert!(validate_attributes(&dup).is_err());
    }

    #[test]
    fn normal_values_convert_std_as_a_difference() {
        let a = Attribute::new(
            "t",
            AttributeValue::Normal {
                mean: 25.0,
                std: 0.5,
            },
            "degC",
            Origin::Measured,
        );
        let k = a.to_unit("K").unwrap();
        match k.value {
            AttributeValue::Normal { mean, std } => {
                assert!((mean - 298.15).abs() < 1e-9);
                assert!((std - 0.5).abs() < 1e-12);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn template_requires_and_gives_search_space() {
        let template = Template {
            name: "synthesis".into(),
            attributes: vec![temp_template()],
        };
        assert_eq!(template.check(&[], true).unwrap_err().field, "t");
        assert!(template.check(&[], false).is_ok());
        assert_eq!(template.search_space().len(), 1);
    }
}
