//! The safety interlock: the last check between a planned recipe and the instrument.
//!
//! The planner's search space is already clipped to the hard limits, so a refusal here means
//! something upstream is wrong (a hand-edited recipe, a planner bug); the interlock refuses to
//! run it rather than trusting the planner.

use crate::campaign::{Campaign, Limit};
use athanor_model::units::Unit;
use athanor_model::Recipe;

/// Why a recipe was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("safety interlock refused the recipe: {}", violations.join("; "))]
pub struct SafetyViolation {
    /// One line per broken rule, naming the parameter, the value and the limit.
    pub violations: Vec<String>,
}

/// Checks recipes against a campaign's hard limits and search space.
#[derive(Debug, Clone)]
pub struct SafetyInterlock {
    limits: Vec<Limit>,
    bounds: Vec<(String, String, f64, f64)>,
}

impl SafetyInterlock {
    /// An interlock for the campaign's limits and parameter bounds.
    pub fn new(campaign: &Campaign) -> SafetyInterlock {
        SafetyInterlock {
            limits: campaign.limits.clone(),
            bounds: campaign
                .parameters
                .iter()
                .map(|p| (p.name.clone(), p.unit.clone(), p.min, p.max))
                .collect(),
        }
    }

    /// Accepts the recipe or lists every rule it breaks.
    pub fn check(&self, recipe: &Recipe) -> Result<(), SafetyViolation> {
        let mut violations = Vec::new();
        // Relative slack for floating-point round trips through unit conversions.
        let slack = |a: f64, b: f64| 1e-9 * a.abs().max(b.abs()).max(1.0);
        for (name, unit, min, max) in &self.bounds {
            match value_in(recipe, name, unit) {
                Ok(v) if v < min - slack(v, *min) || v > max + slack(v, *max) || !v.is_finite() => {
                    violations.push(format!(
                        "`{name}` = {v} {unit} is outside the search space {min} to {max} {unit}"
                    ))
                }
                Ok(_) => {}
                Err(e) => violations.push(e),
            }
        }
        for limit in &self.limits {
            let unit = self
                .bounds
                .iter()
                .find(|b| b.0 == limit.parameter)
                .map(|b| b.1.clone())
                .or_else(|| {
                    recipe
                        .parameters
                        .get(&limit.parameter)
                        .map(|q| q.unit.clone())
                });
            let Some(unit) = unit else { continue };
            match value_in(recipe, &limit.parameter, &unit) {
                Ok(v) => {
                    if let Some(m) = limit.min.filter(|m| v < m - slack(v, *m)) {
                        violations.push(format!(
                            "`{}` = {v} {unit} is below the limit {m} {unit} ({})",
                            limit.parameter, limit.reason
                        ));
                    }
                    if let Some(m) = limit.max.filter(|m| v > m + slack(v, *m)) {
                        violations.push(format!(
                            "`{}` = {v} {unit} is above the limit {m} {unit} ({})",
                            limit.parameter, limit.reason
                        ));
                    }
                }
                Err(e) => violations.push(e),
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(SafetyViolation { violations })
        }
    }
}

fn value_in(recipe: &Recipe, name: &str, unit: &str) -> Result<f64, String> {
    let q = recipe
        .parameters
        .get(name)
        .ok_or_else(|| format!("`{name}` is missing from the recipe"))?;
    let target = Unit::parse(unit).map_err(|e| format!("`{name}`: {e}"))?;
    q.to_unit(&target)
        .map(|q| q.value)
        .map_err(|e| format!("`{name}`: {e}"))
}
