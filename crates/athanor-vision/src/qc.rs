//! Quality-control verdict: a [`PopulationStats`] checked against a specification.
//!
//! A specification ([`QcSpec`]) is a small table, usually read from TOML:
//!
//! ```toml
//! d50 = "5.0 ± 0.3 nm"     # number-weighted median within target ± tolerance ("+-" works too)
//! mean = "5.1 +- 0.4 nm"   # number-weighted mean within target ± tolerance
//! d90_max = "6 nm"         # upper limit of the number-weighted D90
//! cv_max = 0.08            # coefficient of variation (fraction)
//! span_max = 0.3           # (D90 − D10) / D50
//! agglomerates_max = 0.02  # fraction of particles flagged as agglomerates
//! outliers_max = 0.05      # fraction of particles flagged as outliers (any reason)
//! min_count = 200          # fewest particles for a statistically meaningful verdict
//! ```
//!
//! Every criterion is optional; lengths may be in any length unit (`Å`, `nm`, `um`). Each
//! present criterion becomes one [`QcCheck`] with the measured and allowed values, and the
//! verdict passes only when every check does.
//!
//! ```
//! use athanor_vision::qc::QcSpec;
//! let spec: QcSpec = serde_json::from_str(r#"{"d50": "5.0 ± 0.3 nm", "cv_max": 0.08}"#)?;
//! assert_eq!(spec.d50.map(|t| t.tolerance_nm), Some(0.3));
//! # Ok::<(), serde_json::Error>(())
//! ```

use crate::{PopulationStats, VisionError};
use athanor_model::units::Unit;
use serde::{Deserialize, Serialize};

/// A length with a symmetric tolerance, written `"5.0 ± 0.3 nm"` (or `+-`, `+/-`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LengthTolerance {
    /// Target value, nm.
    pub target_nm: f64,
    /// Allowed deviation either way, nm (≥ 0).
    pub tolerance_nm: f64,
}

impl TryFrom<String> for LengthTolerance {
    type Error = VisionError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bad = |reason: &str| VisionError::Spec {
            reason: format!("`{text}`: {reason} (expected e.g. \"5.0 ± 0.3 nm\")"),
        };
        let (target, rest) = ["±", "+/-", "+-"]
            .iter()
            .find_map(|sep| text.split_once(sep))
            .ok_or_else(|| bad("no ± between target and tolerance"))?;
        let rest = rest.trim();
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E'))
            .unwrap_or(rest.len());
        let (tolerance, unit) = rest.split_at(split);
        let target: f64 = target
            .trim()
            .parse()
            .map_err(|_| bad("bad target number"))?;
        let tolerance: f64 = tolerance
            .trim()
            .parse()
            .map_err(|_| bad("bad tolerance number"))?;
        let target_nm = to_nm(target, unit).map_err(|e| bad(&e))?;
        let tolerance_nm = to_nm(tolerance, unit).map_err(|e| bad(&e))?;
        let target_ok = target_nm.is_finite() && target_nm > 0.0;
        let tolerance_ok = tolerance_nm.is_finite() && tolerance_nm >= 0.0;
        if !(target_ok && tolerance_ok) {
            return Err(bad("target must be positive and tolerance non-negative"));
        }
        Ok(LengthTolerance {
            target_nm,
            tolerance_nm,
        })
    }
}

impl From<LengthTolerance> for String {
    fn from(t: LengthTolerance) -> String {
        format!("{} ± {} nm", t.target_nm, t.tolerance_nm)
    }
}

/// A length limit, written `"6 nm"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Length {
    /// The length, nm.
    pub nm: f64,
}

impl TryFrom<String> for Length {
    type Error = VisionError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bad = |reason: &str| VisionError::Spec {
            reason: format!("`{text}`: {reason} (expected e.g. \"6 nm\")"),
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '-'))
            .unwrap_or(t.len());
        let (value, unit) = t.split_at(split);
        let value: f64 = value.trim().parse().map_err(|_| bad("bad number"))?;
        let nm = to_nm(value, unit).map_err(|e| bad(&e))?;
        if !(nm.is_finite() && nm > 0.0) {
            return Err(bad("expected a positive length"));
        }
        Ok(Length { nm })
    }
}

impl From<Length> for String {
    fn from(l: Length) -> String {
        format!("{} nm", l.nm)
    }
}

/// `value` in `unit` (a length unit; empty = nm) converted to nm.
fn to_nm(value: f64, unit: &str) -> Result<f64, String> {
    let unit = unit.trim();
    let unit = if unit.is_empty() { "nm" } else { unit };
    let from = Unit::parse(unit).map_err(|e| e.to_string())?;
    let nm = Unit::parse("nm").map_err(|e| e.to_string())?;
    from.convert(value, &nm).map_err(|e| e.to_string())
}

/// Acceptance criteria; every field optional. See the module docs for the TOML form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcSpec {
    /// Number-weighted D50 within target ± tolerance.
    pub d50: Option<LengthTolerance>,
    /// Number-weighted mean within target ± tolerance.
    pub mean: Option<LengthTolerance>,
    /// Largest allowed number-weighted D90.
    pub d90_max: Option<Length>,
    /// Largest allowed number-weighted CV (fraction).
    pub cv_max: Option<f64>,
    /// Largest allowed number-weighted span.
    pub span_max: Option<f64>,
    /// Largest allowed agglomerate fraction.
    pub agglomerates_max: Option<f64>,
    /// Largest allowed outlier fraction (flagged for any reason).
    pub outliers_max: Option<f64>,
    /// Fewest particles counted.
    pub min_count: Option<usize>,
}

/// One criterion's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcCheck {
    /// The spec key (`d50`, `cv_max`, …).
    pub criterion: String,
    /// The measured value (nm for lengths, fraction, or count).
    pub measured: f64,
    /// The allowed range in words, e.g. `4.7..=5.3 nm` or `<= 0.08`.
    pub allowed: String,
    /// Whether the measured value is allowed.
    pub pass: bool,
}

/// The verdict of [`qc_verdict`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcVerdict {
    /// Every check passed.
    pub pass: bool,
    /// Each criterion present in the spec, in the order of [`QcSpec`]'s fields.
    pub checks: Vec<QcCheck>,
    /// One sentence per failed check, naming the criterion, the measured and allowed values.
    pub reasons: Vec<String>,
}

/// Checks `stats` against `spec`. With no statistics (no particle counted) every criterion
/// fails, with that as the reason.
pub fn qc_verdict(stats: Option<&PopulationStats>, spec: &QcSpec) -> QcVerdict {
    let mut checks = Vec::new();
    let Some(s) = stats else {
        return QcVerdict {
            pass: false,
            checks,
            reasons: vec!["no particles were counted".into()],
        };
    };
    let mut band = |name: &str, measured: f64, t: &Option<LengthTolerance>| {
        if let Some(t) = t {
            let (lo, hi) = (t.target_nm - t.tolerance_nm, t.target_nm + t.tolerance_nm);
            checks.push(QcCheck {
                criterion: name.into(),
                measured,
                allowed: format!(
                    "{lo:.4}..={hi:.4} nm ({} ± {} nm)",
                    t.target_nm, t.tolerance_nm
                ),
                pass: (lo..=hi).contains(&measured),
            });
        }
    };
    band("d50", s.number.d50_nm, &spec.d50);
    band("mean", s.number.mean_nm, &spec.mean);
    let mut at_most = |name: &str, measured: f64, limit: Option<f64>, unit: &str| {
        if let Some(limit) = limit {
            checks.push(QcCheck {
                criterion: name.into(),
                measured,
                allowed: format!("<= {limit}{unit}"),
                pass: measured <= limit,
            });
        }
    };
    at_most(
        "d90_max",
        s.number.d90_nm,
        spec.d90_max.map(|l| l.nm),
        " nm",
    );
    at_most("cv_max", s.number.cv, spec.cv_max, "");
    at_most("span_max", s.number.span, spec.span_max, "");
    at_most(
        "agglomerates_max",
        s.agglomerates.fraction,
        spec.agglomerates_max,
        "",
    );
    at_most(
        "outliers_max",
        s.outliers.any.fraction,
        spec.outliers_max,
        "",
    );
    if let Some(min) = spec.min_count {
        checks.push(QcCheck {
            criterion: "min_count".into(),
            measured: s.count as f64,
            allowed: format!(">= {min}"),
            pass: s.count >= min,
        });
    }
    let reasons: Vec<String> = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| {
            format!(
                "{}: measured {:.4}, allowed {}",
                c.criterion, c.measured, c.allowed
            )
        })
        .collect();
    QcVerdict {
        pass: reasons.is_empty(),
        checks,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::{population_stats, PopulationConfig};
    use crate::Particle;

    fn particles(diameters: &[f64]) -> Vec<Particle> {
        diameters
            .iter()
            .enumerate()
            .map(|(i, &d)| Particle {
                label: i as u32 + 1,
                area_nm2: std::f64::consts::PI * 0.25 * d * d,
                ecd_nm: d,
                feret_max_nm: d,
                feret_min_nm: d,
                aspect_ratio: 1.0,
                perimeter_nm: std::f64::consts::PI * d,
                circularity: 0.95,
                solidity: if i == 0 { 0.6 } else { 0.97 },
                centroid_px: (0.0, 0.0),
                touches_edge: false,
                touching: false,
                mean_intensity: 10.0,
            })
            .collect()
    }

    #[test]
    fn spec_strings_parse_with_units() {
        let t = LengthTolerance::try_from("5.0 ± 0.3 nm".to_string()).unwrap();
        assert_eq!((t.target_nm, t.tolerance_nm), (5.0, 0.3));
        let t = LengthTolerance::try_from("50 +- 3 Å".to_string()).unwrap();
        assert!((t.target_nm - 5.0).abs() < 1e-12 && (t.tolerance_nm - 0.3).abs() < 1e-12);
        let l = Length::try_from("0.006 um".to_string()).unwrap();
        assert!((l.nm - 6.0).abs() < 1e-9);
        for bad in ["5.0 nm", "5 ± x nm", "5 ± 0.3 kg", "-5 ± 1 nm"] {
            let e = LengthTolerance::try_from(bad.to_string()).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
        let unknown: Result<QcSpec, _> = serde_json::from_str(r#"{"d55": "5 ± 1 nm"}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn verdict_names_each_failed_criterion() {
        // Ten particles 4.6..=5.5 nm, one an agglomerate (solidity 0.6).
        let ds: Vec<f64> = (0..10).map(|i| 4.6 + 0.1 * i as f64).collect();
        let config = PopulationConfig {
            bootstrap_resamples: 0,
            ..Default::default()
        };
        let stats = population_stats(&particles(&ds), &config).unwrap().unwrap();
        let spec = QcSpec {
            d50: Some(LengthTolerance {
                target_nm: 5.0,
                tolerance_nm: 0.3,
            }),
            cv_max: Some(0.08),
            agglomerates_max: Some(0.02),
            min_count: Some(20),
            ..Default::default()
        };
        let v = qc_verdict(Some(&stats), &spec);
        assert!(!v.pass);
        let outcome: Vec<(&str, bool)> = v
            .checks
            .iter()
            .map(|c| (c.criterion.as_str(), c.pass))
            .collect();
        assert_eq!(
            outcome,
            vec![
                ("d50", true),
                ("cv_max", true),
                ("agglomerates_max", false),
                ("min_count", false)
            ]
        );
        assert_eq!(v.reasons.len(), 2);
        assert!(v.reasons[0].starts_with("agglomerates_max: measured 0.1000"));
        assert!(v.reasons[1].contains("min_count: measured 10.0000, allowed >= 20"));
        let relaxed = QcSpec {
            agglomerates_max: Some(0.1),
            min_count: Some(10),
            ..spec
        };
        assert!(qc_verdict(Some(&stats), &relaxed).pass);
        assert!(!qc_verdict(None, &relaxed).pass);
    }
}
