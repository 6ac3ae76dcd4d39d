//! Provenance records: what was planned (spec) and what happened (run) for processes,
//! materials (samples) and measurements, analyses that turn inputs into derived results, and
//! the typed links between them.
//!
//! As in Citrine GEMD, a *spec* says what is intended and a *run* what actually happened; as in
//! W3C PROV and AiiDA, records are nodes of a directed graph whose edges say how one came from
//! another. Every edge points **downstream**, from the thing that came first to the thing made
//! from it:
//!
//! | [`EdgeKind`] | from → to | meaning |
//! |---|---|---|
//! | `used` | input material/blob → process or analysis | the activity consumed the input |
//! | `generated` | process or measurement → material/blob | the activity produced the output |
//! | `derived_from` | source → derived record | the record was computed from the source |
//! | `measured` | material → measurement | the measurement was taken on the material |
//! | `part_of` | whole (campaign) → part (experiment) | the part belongs to the whole |
//! | `specifies` | spec → run | the run carried out the spec |
//!
//! "Upstream" of a result is how it was made; "downstream" of a precursor lot is everything
//! made from it.

use crate::attributes::{validate_attributes, Attribute, ValidationError};
use crate::{ProcessStep, Quantity};
use serde::{Deserialize, Serialize};

/// The kind of a provenance record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// A campaign (a sequence of experiments).
    Campaign,
    /// A planned process (recipe and steps with setpoints).
    ProcessSpec,
    /// A process as it ran (steps with logged actuals); a campaign experiment is one.
    ProcessRun,
    /// An intended material.
    MaterialSpec,
    /// A physical sample or lot.
    MaterialRun,
    /// A planned measurement.
    MeasurementSpec,
    /// A measurement as taken (technique, instrument, conditions, raw files).
    MeasurementRun,
    /// An analysis turning inputs into derived results.
    Analysis,
    /// One result value (a property of a sample, from a measurement or analysis).
    Result,
    /// A stored raw or derived file.
    Blob,
}

impl RecordKind {
    /// Every kind, in declaration order.
    pub const ALL: [RecordKind; 10] = [
        RecordKind::Campaign,
        RecordKind::ProcessSpec,
        RecordKind::ProcessRun,
        RecordKind::MaterialSpec,
        RecordKind::MaterialRun,
        RecordKind::MeasurementSpec,
        RecordKind::MeasurementRun,
        RecordKind::Analysis,
        RecordKind::Result,
        RecordKind::Blob,
    ];

    /// The snake-case name stored in databases and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Campaign => "campaign",
            RecordKind::ProcessSpec => "process_spec",
            RecordKind::ProcessRun => "process_run",
            RecordKind::MaterialSpec => "material_spec",
            RecordKind::MaterialRun => "material_run",
            RecordKind::MeasurementSpec => "measurement_spec",
            RecordKind::MeasurementRun => "measurement_run",
            RecordKind::Analysis => "analysis",
            RecordKind::Result => "result",
            RecordKind::Blob => "blob",
        }
    }

    /// Parses [`RecordKind::as_str`]'s names.
    pub fn parse(text: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// True for records of what happened (runs, analyses, results), which become immutable
    /// once completed.
    pub fn is_run(self) -> bool {
        !matches!(
            self,
            RecordKind::ProcessSpec | RecordKind::MaterialSpec | RecordKind::MeasurementSpec
        )
    }

    /// Prefix of generated lab ids (`PR000042`).
    pub fn lab_prefix(self) -> &'static str {
        match self {
            RecordKind::Campaign => "CP",
            RecordKind::ProcessSpec => "PS",
            RecordKind::ProcessRun => "PR",
            RecordKind::MaterialSpec => "MS",
            RecordKind::MaterialRun => "S",
            RecordKind::MeasurementSpec => "XS",
            RecordKind::MeasurementRun => "X",
            RecordKind::Analysis => "A",
            RecordKind::Result => "R",
            RecordKind::Blob => "B",
        }
    }
}

/// The kind of a provenance edge (always pointing downstream; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Input → the activity that used it.
    Used,
    /// Activity → what it generated.
    Generated,
    /// Source → what was derived from it.
    DerivedFrom,
    /// Material → a measurement of it.
    Measured,
    /// Whole → part.
    PartOf,
    /// Spec → the run that carried it out.
    Specifies,
}

impl EdgeKind {
    /// Every kind, in declaration order.
    pub const ALL: [EdgeKind; 6] = [
        EdgeKind::Used,
        EdgeKind::Generated,
        EdgeKind::DerivedFrom,
        EdgeKind::Measured,
        EdgeKind::PartOf,
        EdgeKind::Specifies,
    ];

    /// The snake-case name stored in databases and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Used => "used",
            EdgeKind::Generated => "generated",
            EdgeKind::DerivedFrom => "derived_from",
            EdgeKind::Measured => "measured",
            EdgeKind::PartOf => "part_of",
            EdgeKind::Specifies => "specifies",
        }
    }

    /// Parses [`EdgeKind::as_str`]'s names.
    pub fn parse(text: &str) -> Option<EdgeKind> {
        EdgeKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An upstream material in a process, with how much of it went in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingredient {
    /// Id or lab id of the upstream material record (spec or run).
    pub material: String,
    /// Role: `precursor`, `solvent`, `ligand`, …
    pub role: String,
    /// Amount used (volume, mass, amount of substance), if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
}

/// A particle size distribution: histogram, percentiles, fitted log-normal and count.
///
/// Log-normal: `ln d ~ N(mu, sigma²)`, so the median is `exp(mu)` (Limpert, Stahel & Abbt,
/// BioScience 51 (2001) 341).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeDistribution {
    /// Unit of the sizes (a length).
    pub unit: String,
    /// Bin edges (`counts.len() + 1`, increasing).
    pub bin_edges: Vec<f64>,
    /// Particles per bin.
    pub counts: Vec<u64>,
    /// 10th percentile of size.
    pub d10: f64,
    /// Median size.
    pub d50: f64,
    /// 90th percentile.
    pub d90: f64,
    /// Fitted log-normal `mu` (of ln size in `unit`).
    pub lognormal_mu: f64,
    /// Fitted log-normal `sigma`.
    pub lognormal_sigma: f64,
    /// Number of particles measured.
    pub count: u64,
}

impl SizeDistribution {
    /// Checks shapes, order and units.
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        let unit = crate::units::Unit::parse(&self.unit)
            .map_err(|e| ValidationError::new(format!("{field}.unit"), e.to_string()))?;
        if unit.dimension() != crate::units::Dimension::LENGTH {
            return Err(ValidationError::new(
                format!("{field}.unit"),
                format!("'{}' is not a length", self.unit),
            ));
        }
        if self.bin_edges.len() != self.counts.len() + 1 {
            return Err(ValidationError::new(
                format!("{field}.bin_edges"),
                format!(
                    "{} edges for {} bins (need bins + 1)",
                    self.bin_edges.len(),
                    self.counts.len()
                ),
            ));
        }
        if self
            .bin_edges
            .windows(2)
            .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return Err(ValidationError::new(
                format!("{field}.bin_edges"),
                "must be finite and increasing",
            ));
        }
        if !(self.d10 <= self.d50 && self.d50 <= self.d90) {
            return Err(ValidationError::new(
                format!("{field}.d50"),
                "percentiles must satisfy d10 <= d50 <= d90",
            ));
        }
        if self.counts.iter().sum::<u64>() != self.count {
            return Err(ValidationError::new(
                format!("{field}.count"),
                "does not equal the sum of the bin counts",
            ));
        }
        Ok(())
    }
}

/// The kind-specific content of a provenance record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RecordBody {
    /// Nothing beyond name, extras and links (campaigns, blobs, materials without details).
    Plain,
    /// A process (spec or run): explicitly ordered steps and the ingredients it used.
    Process {
        /// Steps in order (setpoints; logged actuals for a run).
        steps: Vec<ProcessStep>,
        /// Process parameters (the recipe).
        parameters: Vec<Attribute>,
        /// Upstream materials.
        ingredients: Vec<Ingredient>,
    },
    /// A material (spec or run).
    Material {
        /// Properties of the material.
        properties: Vec<Attribute>,
    },
    /// A measurement (spec or run).
    Measurement {
        /// Technique: `TEM`, `PL`, `XRD`, …
        technique: String,
        /// Instrument that takes it.
        instrument: String,
        /// Acquisition conditions.
        conditions: Vec<Attribute>,
        /// Raw files (blob hashes).
        raw_files: Vec<String>,
        /// Properties read directly from the instrument.
        properties: Vec<Attribute>,
    },
    /// An analysis.
    Analysis {
        /// Kind, e.g. `particle-size-distribution`.
        method: String,
        /// Software and version.
        software: String,
        /// Analysis parameters.
        parameters: Vec<Attribute>,
        /// Derived results.
        results: Vec<Attribute>,
        /// A size distribution, when the analysis produced one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        distribution: Option<SizeDistribution>,
    },
    /// One result value.
    Result {
        /// The value.
        value: Attribute,
        /// Technique or analysis that produced it.
        method: String,
    },
}

impl RecordBody {
    /// Checks every value in the body; errors name the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            RecordBody::Plain => Ok(()),
            RecordBody::Process {
                steps,
                parameters,
                ingredients,
            } => {
                validate_attributes(parameters)?;
                for (i, step) in steps.iter().enumerate() {
                    let expected = i as u32 + 1;
                    if step.index != expected {
                        return Err(ValidationError::new(
                            format!("steps[{i}].index"),
                            format!("is {} but steps must be numbered 1, 2, … in order (expected {expected})", step.index),
                        ));
                    }
                    for (name, q) in step.setpoints.iter().chain(step.actuals.iter()) {
                        check_quantity(&format!("steps[{i}].{name}"), q)?;
                    }
                }
                for (i, ingredient) in ingredients.iter().enumerate() {
                    if ingredient.material.trim().is_empty() {
                        return Err(ValidationError::new(
                            format!("ingredients[{i}].material"),
                            "must not be empty",
                        ));
                    }
                    if let Some(q) = &ingredient.quantity {
                        check_quantity(&format!("ingredients[{i}].quantity"), q)?;
                    }
                }
                Ok(())
            }
            RecordBody::Material { properties } => validate_attributes(properties),
            RecordBody::Measurement {
                technique,
                conditions,
                properties,
                ..
            } => {
                if technique.trim().is_empty() {
                    return Err(ValidationError::new("technique", "must not be empty"));
                }
                validate_attributes(conditions)?;
                validate_attributes(properties)
            }
            RecordBody::Analysis {
                parameters,
                results,
                distribution,
                ..
            } => {
                validate_attributes(parameters)?;
                validate_attributes(results)?;
                if let Some(d) = distribution {
                    d.validate("distribution")?;
                }
                Ok(())
            }
            RecordBody::Result { value, .. } => value.validate(),
        }
    }
}

fn check_quantity(field: &str, q: &Quantity) -> Result<(), ValidationError> {
    crate::units::Unit::parse(&q.unit)
        .map_err(|e| ValidationError::new(format!("{field}.unit"), e.to_string()))?;
    if !q.value.is_finite() || q.std.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
        return Err(ValidationError::new(
            field,
            "value and uncertainty must be finite (uncertainty non-negative)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::AttributeValue;
    use crate::Origin;

    #[test]
    fn names_round_trip() {
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::parse(k.as_str()), Some(k));
        }
        for k in EdgeKind::ALL {
            assert_eq!(EdgeKind::parse(k.as_str()), Some(k));
        }
        assert!(!RecordKind::ProcessSpec.is_run());
        assert!(RecordKind::ProcessRun.is_run());
    }

    #[test]
    fn size_distribution_validation_names_fields() {
        let mut d = SizeDistribution {
            unit: "nm".into(),
            bin_edges: vec![1.0, 2.0, 3.0],
            counts: vec![4, 6],
            d10: 1.2,
            d50: 2.0,
            d90: 2.8,
            lognormal_mu: 0.69,
            lognormal_sigma: 0.2,
            count: 10,
        };
        assert!(d.validate("psd").is_ok());
        d.count = 11;
        assert_eq!(d.validate("psd").unwrap_err().field, "psd.count");
        d.count = 10;
        d.unit = "s".into();
        assert_eq!(d.validate("psd").unwrap_err().field, "psd.unit");
    }

    #[test]
    fn process_steps_must_be_ordered() {
        let step = |index| ProcessStep {
            index,
            action: "heat".into(),
            setpoints: Default::default(),
            actuals: Default::default(),
            start: None,
            duration: None,
            device: "mantle".into(),
        };
        let body = RecordBody::Process {
            steps: vec![step(1), step(3)],
            parameters: vec![],
            ingredients: vec![],
        };
        assert_eq!(body.validate().unwrap_err().field, "steps[1].index");
        let result = RecordBody::Result {
            value: Attribute::new(
                "d50",
                AttributeValue::Nominal { value: f64::NAN },
                "nm",
                Origin::Computed,
            ),
            method: "TEM".into(),
        };
        assert_eq!(result.validate().unwrap_err().field, "d50.value");
    }
}
