//! Objectives and their utilities.

use crate::PlanError;
use serde::{Deserialize, Serialize};

/// What the campaign wants from one measured property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectiveGoal {
    /// As large as possible.
    Maximize,
    /// As small as possible.
    Minimize,
    /// As close as possible to `target`; within `tolerance` counts as satisfied.
    Target {
        /// The wanted value, in the objective's unit.
        target: f64,
        /// Acceptable deviation (> 0), in the objective's unit.
        tolerance: f64,
    },
    /// At most `threshold` (a constraint-like goal: no reward for going further below).
    Below {
        /// Largest acceptable value.
        threshold: f64,
    },
    /// At least `threshold` (no reward for going further above).
    Above {
        /// Smallest acceptable value.
        threshold: f64,
    },
}

fn one() -> f64 {
    1.0
}

/// One measured property the planner optimises, with its goal and relative importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Name of the measured property (e.g. `pl_peak`).
    pub name: String,
    /// What is wanted of it.
    pub goal: ObjectiveGoal,
    /// Relative importance (>= 0) in the combined utility; defaults to 1.
    #[serde(default = "one")]
    pub weight: f64,
    /// Typical magnitude of a meaningful change, in the objective's unit (> 0; defaults to 1).
    /// Utilities of different objectives are expressed in multiples of their scale, which makes
    /// them comparable. The target goal uses its tolerance instead.
    #[serde(default = "one")]
    pub scale: f64,
}

impl Objective {
    /// An objective with weight 1 and scale 1.
    pub fn new(name: &str, goal: ObjectiveGoal) -> Objective {
        Objective {
            name: name.to_string(),
            goal,
            weight: 1.0,
            scale: 1.0,
        }
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: f64) -> Objective {
        self.weight = weight;
        self
    }

    /// Sets the scale.
    pub fn with_scale(mut self, scale: f64) -> Objective {
        self.scale = scale;
        self
    }

    /// The (unweighted) utility of measuring `y`; larger is better, and comparable between
    /// objectives because it is measured in multiples of `scale` (or `tolerance`):
    ///
    /// | goal | `u(y)` |
    /// |---|---|
    /// | maximise | `y / scale` |
    /// | minimise | `−y / scale` |
    /// | target `t ± tol` | `−((y − t) / tol)²` |
    /// | below `θ` | `−max(0, (y − θ) / scale)²` |
    /// | above `θ` | `−max(0, (θ − y) / scale)²` |
    pub fn utility(&self, y: f64) -> f64 {
        match self.goal {
            ObjectiveGoal::Maximize => y / self.scale,
            ObjectiveGoal::Minimize => -y / self.scale,
            ObjectiveGoal::Target { target, tolerance } => {
                let z = (y - target) / tolerance;
                -z * z
            }
            ObjectiveGoal::Below { threshold } => {
                let excess = ((y - threshold) / self.scale).max(0.0);
                -excess * excess
            }
            ObjectiveGoal::Above { threshold } => {
                let shortfall = ((threshold - y) / self.scale).max(0.0);
                -shortfall * shortfall
            }
        }
    }

    /// Whether `y` meets the goal: within tolerance of a target, on the right side of a
    /// threshold. Open-ended goals (maximise, minimise) have no threshold and are satisfied by
    /// any finite value.
    pub fn satisfied(&self, y: f64) -> bool {
        if !y.is_finite() {
            return false;
        }
        match self.goal {
            ObjectiveGoal::Maximize | ObjectiveGoal::Minimize => true,
            ObjectiveGoal::Target { target, tolerance } => (y - target).abs() <= tolerance,
            ObjectiveGoal::Below { threshold } => y <= threshold,
            ObjectiveGoal::Above { threshold } => y >= threshold,
        }
    }

    /// Checks that the numbers describing the objective are usable.
    pub(crate) fn validate(&self) -> Result<(), PlanError> {
        let fail = |reason: String| {
            Err(PlanError::InvalidObjective {
                name: self.name.clone(),
                reason,
            })
        };
        if self.name.trim().is_empty() {
            return fail("the name is empty".into());
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return fail(format!("weight {} must be finite and >= 0", self.weight));
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return fail(format!("scale {} must be finite and > 0", self.scale));
        }
        match self.goal {
            ObjectiveGoal::Maximize | ObjectiveGoal::Minimize => {}
            ObjectiveGoal::Target { target, tolerance } => {
                if !target.is_finite() {
                    return fail(format!("target {target} is not finite"));
                }
                if !(tolerance.is_finite() && tolerance > 0.0) {
                    return fail(format!("tolerance {tolerance} must be finite and > 0"));
                }
            }
            ObjectiveGoal::Below { threshold } | ObjectiveGoal::Above { threshold } => {
                if !threshold.is_finite() {
                    return fail(format!("threshold {threshold} is not finite"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilities_follow_the_documented_formulas() {
        let max = Objective::new("qy", ObjectiveGoal::Maximize).with_scale(0.1);
        assert!((max.utility(0.5) - 5.0).abs() < 1e-12);
        let min = Objective::new("cv", ObjectiveGoal::Minimize).with_scale(2.0);
        assert!((min.utility(3.0) + 1.5).abs() < 1e-12);
        let target = Objective::new(
            "peak",
            ObjectiveGoal::Target {
                target: 620.0,
                tolerance: 5.0,
            },
        );
        assert!((target.utility(630.0) + 4.0).abs() < 1e-12);
        assert_eq!(target.utility(620.0), 0.0);
        assert!(target.satisfied(624.9) && !target.satisfied(625.1));
        let below =
            Objective::new("fwhm", ObjectiveGoal::Below { threshold: 30.0 }).with_scale(5.0);
        assert_eq!(below.utility(20.0), 0.0);
        assert!((below.utility(40.0) + 4.0).abs() < 1e-12);
        assert!(below.satisfied(30.0) && !below.satisfied(30.5));
        let above =
            Objective::new("yield", ObjectiveGoal::Above { threshold: 0.8 }).with_scale(0.1);
        assert_eq!(above.utility(0.9), 0.0);
        assert!((above.utility(0.6) + 4.0).abs() < 1e-9);
        assert!(above.satisfied(0.8) && !above.satisfied(0.79));
    }

    #[test]
    fn goals_serialise_tagged_and_defaults_apply() {
        let json = r#"{"name":"peak","goal":{"kind":"target","target":620.0,"tolerance":5.0}}"#;
        let o: Objective = serde_json::from_str(json).unwrap();
        assert_eq!(o.weight, 1.0);
        assert_eq!(o.scale, 1.0);
        assert_eq!(
            o.goal,
            ObjectiveGoal::Target {
                target: 620.0,
                tolerance: 5.0
            }
        );
        let back: Objective = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn validation_rejects_unusable_numbers() {
        let bad_scale = Objective::new("a", ObjectiveGoal::Maximize).with_scale(0.0);
        assert!(bad_scale.validate().is_err());
        let bad_tol = Objective::new(
            "a",
            ObjectiveGoal::Target {
                target: 1.0,
                tolerance: -1.0,
            },
        );
        assert!(bad_tol.validate().is_err());
        let bad_weight = Objective::new("a", ObjectiveGoal::Minimize).with_weight(f64::NAN);
        assert!(bad_weight.validate().is_err());
        assert!(Objective::new("a", ObjectiveGoal::Minimize)
            .validate()
            .is_ok());
    }
}
