//! Campaign files: what to make, how to search, and what must never happen.
//!
//! A campaign is a TOML file (see `examples/qd-620nm.toml`). Parsing checks everything before
//! anything is written: unknown keys and parameters, units that do not fit (a temperature given
//! in nm), ranges the instrument cannot run, and safety limits that leave nothing to search.
//! Every error names the field and, where the file says it, the line.
//!
//! An optional `[prior]` table names another campaign in the same data directory (typically
//! one created by `athanor data import`) whose finished experiments seed this one:
//!
//! ```toml
//! [prior]
//! campaign = "C0001"   # id or lab id
//! ```

use athanor_model::units::Unit;
use athanor_model::{ParameterDef, Quantity};
use athanor_plan::{Objective, ObjectiveGoal};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use toml::Spanned;

/// A problem with a campaign file, with where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CampaignError {
    /// The file (or `<campaign>` for text without a file).
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

/// The measured properties a campaign on the hot-injection twin can aim at, with their units.
pub const MEASURED_PROPERTIES: &[(&str, &str, &str)] = &[
    (
        "pl_peak",
        "nm",
        "photoluminescence peak wavelength (from the PL spectrum)",
    ),
    (
        "pl_fwhm",
        "nm",
        "photoluminescence full width at half maximum",
    ),
    ("abs_peak", "nm", "first exciton absorption peak"),
    ("quantum_yield", "%", "photoluminescence quantum yield"),
    (
        "d10",
        "nm",
        "10th percentile of the equivalent circular diameter (TEM)",
    ),
    ("d50", "nm", "median equivalent circular diameter (TEM)"),
    (
        "d90",
        "nm",
        "90th percentile of the equivalent circular diameter (TEM)",
    ),
    (
        "mean_diameter",
        "nm",
        "number-mean equivalent circular diameter (TEM)",
    ),
    (
        "size_cv",
        "%",
        "coefficient of variation of the diameter (TEM)",
    ),
    ("particle_count", "1", "particles counted in the TEM image"),
];

/// One objective as the user wrote it, converted to the property's canonical unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveDef {
    /// The planner's view: goal, weight and scale in the canonical unit.
    pub objective: Objective,
    /// Canonical unit of the property (e.g. `nm`, `%`).
    pub unit: String,
    /// For maximise/minimise: the value at which the objective counts as satisfied.
    pub satisfied_at: Option<f64>,
}

impl ObjectiveDef {
    /// Whether the objective has a pass/fail criterion (a target, a threshold or
    /// `satisfied_at`); a plain maximise or minimise has none.
    pub fn has_criterion(&self) -> bool {
        !matches!(
            (&self.objective.goal, self.satisfied_at),
            (ObjectiveGoal::Maximize | ObjectiveGoal::Minimize, None)
        )
    }

    /// Whether a measured value meets this objective's criterion. Objectives without a
    /// criterion (a plain maximise) never block a "satisfied" verdict.
    pub fn satisfied(&self, value: f64) -> bool {
        match (&self.objective.goal, self.satisfied_at) {
            (ObjectiveGoal::Maximize, Some(s)) => value >= s,
            (ObjectiveGoal::Minimize, Some(s)) => value <= s,
            (ObjectiveGoal::Maximize | ObjectiveGoal::Minimize, None) => true,
            _ => self.objective.satisfied(value),
        }
    }
}

/// A hard safety limit on one parameter, in the parameter's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    /// The limited parameter.
    pub parameter: String,
    /// Lowest allowed value, in the parameter's unit.
    pub min: Option<f64>,
    /// Highest allowed value, in the parameter's unit.
    pub max: Option<f64>,
    /// Why the limit exists (shown when the interlock refuses a recipe).
    pub reason: String,
}

/// How the synthetic TEM images are taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagingSettings {
    /// nm per pixel.
    pub pixel_size_nm: f64,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
}

/// A validated campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Short name; with the seed and the content hash it identifies a campaign in the store.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Maximum number of experiments.
    pub budget: u32,
    /// Seed of everything random (planner and twin); `--seed` overrides.
    pub seed: u64,
    /// The instrument that executes recipes (`twin`).
    pub instrument: String,
    /// Stop once an experiment satisfies every objective's criterion.
    pub stop_when_satisfied: bool,
    /// Number of Sobol points before Bayesian optimisation.
    pub initial_design: usize,
    /// The search space, already clipped to the hard limits.
    pub parameters: Vec<ParameterDef>,
    /// Parameters held at one value.
    pub fixed: Vec<(String, Quantity)>,
    /// What to optimise.
    pub objectives: Vec<ObjectiveDef>,
    /// Hard limits checked by the safety interlock.
    pub limits: Vec<Limit>,
    /// Imaging settings.
    pub imaging: ImagingSettings,
    /// Notes produced while validating (e.g. a range clipped by a limit).
    pub notes: Vec<String>,
    /// Another campaign (id or lab id, e.g. one created by `athanor data import`) whose finished
    /// experiments the planner is told before its first suggestion (`[prior] campaign = "C0001"`).
    /// They count toward the initial design but not toward the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_campaign: Option<String>,
}

impl Campaign {
    /// A stable hash of the validated content (not of whitespace or comments), excluding the seed.
    pub fn content_hash(&self) -> String {
        let mut copy = self.clone();
        copy.seed = 0;
        copy.notes.clear();
        let json = serde_json::to_string(&copy).unwrap_or_default();
        hex::encode(Sha256::digest(json.as_bytes()))
    }

    /// The objectives as the planner sees them.
    pub fn planner_objectives(&self) -> Vec<Objective> {
        self.objectives
            .iter()
            .map(|o| o.objective.clone())
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    campaign: RawCampaign,
    #[serde(default)]
    design: Option<RawDesign>,
    #[serde(default)]
    parameter: Vec<Spanned<RawParameter>>,
    #[serde(default)]
    objective: Vec<Spanned<RawObjective>>,
    #[serde(default)]
    limit: Vec<Spanned<RawLimit>>,
    #[serde(default)]
    imaging: Option<RawImaging>,
    #[serde(default)]
    prior: Option<RawPrior>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrior {
    campaign: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    budget: Spanned<i64>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    instrument: Option<Spanned<String>>,
    #[serde(default)]
    stop_when_satisfied: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    initial: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: Spanned<String>,
    #[serde(default)]
    min: Option<Spanned<f64>>,
    #[serde(default)]
    max: Option<Spanned<f64>>,
    #[serde(default)]
    value: Option<Spanned<f64>>,
    unit: Spanned<String>,
    #[serde(default)]
    scale: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjective {
    name: Spanned<String>,
    goal: Spanned<String>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    tolerance: Option<Spanned<f64>>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    scale: Option<Spanned<f64>>,
    #[serde(default)]
    weight: Option<Spanned<f64>>,
    #[serde(default)]
    satisfied_at: Option<f64>,
    unit: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimit {
    parameter: Spanned<String>,
    #[serde(default)]
    min: Option<Spanned<f64>>,
    #[serde(default)]
    max: Option<Spanned<f64>>,
    unit: Spanned<String>,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImaging {
    #[serde(default)]
    pixel_size: Option<Spanned<f64>>,
    #[serde(default)]
    width: Option<Spanned<i64>>,
    #[serde(default)]
    height: Option<Spanned<i64>>,
}

/// Reads and validates a campaign file.
pub fn load_campaign(path: &Path) -> Result<Campaign, CampaignError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CampaignError {
        file: file.clone(),
        line: None,
        message: format!("cannot read the campaign file: {e}"),
    })?;
    parse_campaign(&text, &file)
}

struct Ctx<'a> {
    text: &'a str,
    file: &'a str,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count()
            + 1
    }

    fn err<T>(&self, span: std::ops::Range<usize>, message: String) -> Result<T, CampaignError> {
        Err(CampaignError {
            file: self.file.to_string(),
            line: Some(self.line_of(span.start)),
            message,
        })
    }

    fn unit(&self, raw: &Spanned<String>, field: &str) -> Result<Unit, CampaignError> {
        Unit::parse(raw.get_ref()).or_else(|e| self.err(raw.span(), format!("{field}: {e}")))
    }
}

/// Parses and validates campaign text; `file` names it in errors.
pub fn parse_campaign(text: &str, file: &str) -> Result<Campaign, CampaignError> {
    let ctx = Ctx { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| CampaignError {
        file: file.to_string(),
        line: e.span().map(|s| ctx.line_of(s.start)),
        message: e.message().trim().to_string(),
    })?;

    let name = raw.campaign.name.get_ref().trim().to_string();
    if name.is_empty() {
        return ctx.err(
            raw.campaign.name.span(),
            "campaign.name must not be empty".into(),
        );
    }
    let budget = *raw.campaign.budget.get_ref();
    if !(1..=10_000).contains(&budget) {
        return ctx.err(
            raw.campaign.budget.span(),
            format!("campaign.budget must be between 1 and 10000 experiments, not {budget}"),
        );
    }
    let instrument = match &raw.campaign.instrument {
        Some(s) if s.get_ref() != "twin" => {
            return ctx.err(
                s.span(),
                format!(
                    "campaign.instrument `{}` is not available; this build drives `twin` (the built-in hot-injection digital twin)",
                    s.get_ref()
                ),
            )
        }
        _ => "twin".to_string(),
    };

    let specs = athanor_twin::input_specs();
    let mut parameters: Vec<ParameterDef> = Vec::new();
    let mut fixed: Vec<(String, Quantity)> = Vec::new();
    for p in &raw.parameter {
        let span = p.span();
        let p = p.get_ref();
        let pname = p.name.get_ref().as_str();
        let Some(spec) = specs.iter().find(|s| s.name == pname) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
            return ctx.err(
                p.name.span(),
                format!(
                    "unknown parameter `{pname}`; the hot-injection twin takes: {}",
                    known.join(", ")
                ),
            );
        };
        if parameters.iter().any(|q| q.name == pname) || fixed.iter().any(|(n, _)| n == pname) {
            return ctx.err(
                p.name.span(),
                format!("parameter `{pname}` is defined twice"),
            );
        }
        let unit = ctx.unit(&p.unit, &format!("parameter `{pname}` unit"))?;
        if unit.dimension() != spec.dimension {
            return ctx.err(
                p.unit.span(),
                format!(
                    "parameter `{pname}`: unit `{}` is a {}, but `{pname}` is a {} (e.g. `{}`)",
                    unit.symbol(),
                    unit.dimension().describe(),
                    spec.dimension.describe(),
                    spec.unit
                ),
            );
        }
        let canonical = Unit::parse(spec.unit).map_err(|e| CampaignError {
            file: file.into(),
            line: None,
            message: format!("internal unit table: {e}"),
        })?;
        let to_canonical = |v: f64| unit.convert(v, &canonical).unwrap_or(f64::NAN);
        let from_canonical = |v: f64| canonical.convert(v, &unit).unwrap_or(f64::NAN);
        let range_text = format!(
            "{:.4} to {:.4} {}",
            from_canonical(spec.min),
            from_canonical(spec.max),
            unit.symbol()
        );
        let check_range = |v: &Spanned<f64>, what: &str| -> Result<f64, CampaignError> {
            let x = *v.get_ref();
            let c = to_canonical(x);
            if !x.is_finite() || c < spec.min - 1e-9 || c > spec.max + 1e-9 {
                return ctx.err(
                    v.span(),
                    format!(
                        "parameter `{pname}` {what} = {x} {} is outside what the twin can run ({range_text})",
                        unit.symbol()
                    ),
                );
            }
            Ok(x)
        };
        match (&p.value, &p.min, &p.max) {
            (Some(v), None, None) => {
                let x = check_range(v, "value")?;
                fixed.push((pname.to_string(), Quantity::new(x, unit.symbol())));
            }
            (None, Some(lo), Some(hi)) => {
                let min = check_range(lo, "min")?;
                let max = check_range(hi, "max")?;
                if min >= max {
                    return ctx.err(
                        hi.span(),
                        format!("parameter `{pname}`: max ({max}) must be greater than min ({min})"),
                    );
                }
                let log_scale = match &p.scale {
                    None => false,
                    Some(s) if s.get_ref() == "linear" => false,
                    Some(s) if s.get_ref() == "log" => {
                        if min <= 0.0 {
                            return ctx.err(
                                s.span(),
                                format!("parameter `{pname}`: a log scale needs min > 0, not {min}"),
                            );
                        }
                        true
                    }
                    Some(s) => {
                        return ctx.err(
                            s.span(),
                            format!("parameter `{pname}`: scale must be \"linear\" or \"log\", not \"{}\"", s.get_ref()),
                        )
                    }
                };
                parameters.push(ParameterDef {
                    name: pname.to_string(),
                    unit: unit.symbol().to_string(),
                    min,
                    max,
                    log_scale,
                });
            }
            _ => {
                return ctx.err(
                    span,
                    format!("parameter `{pname}` needs either `min` and `max` (searched) or `value` (fixed)"),
                )
            }
        }
    }
    if parameters.is_empty() {
        return Err(CampaignError {
            file: file.into(),
            line: None,
            message:
                "the campaign searches no parameter: add [[parameter]] tables with min and max"
                    .into(),
        });
    }

    let mut objectives = Vec::new();
    for o in &raw.objective {
        let span = o.span();
        let o = o.get_ref();
        let oname = o.name.get_ref().as_str();
        let Some((_, canonical_unit, _)) = MEASURED_PROPERTIES.iter().find(|(n, _, _)| *n == oname)
        else {
            let known: Vec<&str> = MEASURED_PROPERTIES.iter().map(|(n, _, _)| *n).collect();
            return ctx.err(
                o.name.span(),
                format!(
                    "unknown objective `{oname}`; measured properties are: {}",
                    known.join(", ")
                ),
            );
        };
        if objectives
            .iter()
            .any(|d: &ObjectiveDef| d.objective.name == oname)
        {
            return ctx.err(
                o.name.span(),
                format!("objective `{oname}` is defined twice"),
            );
        }
        let unit = ctx.unit(&o.unit, &format!("objective `{oname}` unit"))?;
        let canonical = Unit::parse(canonical_unit).map_err(|e| CampaignError {
            file: file.into(),
            line: None,
            message: format!("internal unit table: {e}"),
        })?;
        if unit.check_compatible(&canonical).is_err() {
            return ctx.err(
                o.unit.span(),
                format!(
                    "objective `{oname}`: unit `{}` is a {}, but `{oname}` is measured as a {} (`{canonical_unit}`)",
                    unit.symbol(),
                    unit.dimension().describe(),
                    canonical.dimension().describe()
                ),
            );
        }
        let value = |v: f64| unit.convert(v, &canonical).unwrap_or(f64::NAN);
        let width = |v: f64| unit.convert_difference(v, &canonical).unwrap_or(f64::NAN);
        let need = |field: &str, v: Option<f64>| -> Result<f64, CampaignError> {
            v.filter(|x| x.is_finite()).map_or_else(
                || {
                    ctx.err(
                        span.clone(),
                        format!(
                            "objective `{oname}` with goal `{}` needs `{field}`",
                            o.goal.get_ref()
                        ),
                    )
                },
                Ok,
            )
        };
        let positive =
            |field: &str, v: &Option<Spanned<f64>>, default: f64| -> Result<f64, CampaignError> {
                match v {
                    None => Ok(default),
                    Some(s) if s.get_ref().is_finite() && *s.get_ref() > 0.0 => Ok(*s.get_ref()),
                    Some(s) => ctx.err(
                        s.span(),
                        format!(
                            "objective `{oname}`: {field} must be positive, not {}",
                            s.get_ref()
                        ),
                    ),
                }
            };
        let scale = width(positive("scale", &o.scale, 1.0)?);
        let weight = positive("weight", &o.weight, 1.0)?;
        let goal = match o.goal.get_ref().as_str() {
            "target" => ObjectiveGoal::Target {
                target: value(need("target", o.target)?),
                tolerance: width(need("tolerance", o.tolerance.as_ref().map(|t| *t.get_ref()))?),
            },
            "below" => ObjectiveGoal::Below { threshold: value(need("threshold", o.threshold)?) },
            "above" => ObjectiveGoal::Above { threshold: value(need("threshold", o.threshold)?) },
            "maximize" | "maximise" => ObjectiveGoal::Maximize,
            "minimize" | "minimise" => ObjectiveGoal::Minimize,
            other => {
                return ctx.err(
                    o.goal.span(),
                    format!("objective `{oname}`: goal must be one of target, below, above, maximize, minimize — not `{other}`"),
                )
            }
        };
        if let ObjectiveGoal::Target { tolerance, .. } = goal {
            if tolerance.is_nan() || tolerance <= 0.0 {
                let s = o
                    .tolerance
                    .as_ref()
                    .map(|t| t.span())
                    .unwrap_or(span.clone());
                return ctx.err(
                    s,
                    format!("objective `{oname}`: tolerance must be positive"),
                );
            }
        }
        objectives.push(ObjectiveDef {
            objective: Objective {
                name: oname.to_string(),
                goal,
                weight,
                scale,
            },
            unit: canonical_unit.to_string(),
            satisfied_at: o.satisfied_at.map(value),
        });
    }
    if objectives.is_empty() {
        return Err(CampaignError {
            file: file.into(),
            line: None,
            message: "the campaign has no objective: add [[objective]] tables".into(),
        });
    }

    let mut notes = Vec::new();
    let mut limits = Vec::new();
    for l in &raw.limit {
        let span = l.span();
        let l = l.get_ref();
        let lname = l.parameter.get_ref().as_str();
        let unit = ctx.unit(&l.unit, &format!("limit on `{lname}` unit"))?;
        let fixed_value = fixed.iter().find(|(n, _)| n == lname);
        let searched = parameters.iter_mut().find(|p| p.name == lname);
        let param_unit = match (&searched, fixed_value) {
            (Some(p), _) => p.unit.clone(),
            (None, Some((_, q))) => q.unit.clone(),
            (None, None) => {
                return ctx.err(
                    l.parameter.span(),
                    format!("limit on unknown parameter `{lname}`: limits apply to parameters defined in [[parameter]]"),
                )
            }
        };
        let target = Unit::parse(&param_unit).map_err(|e| CampaignError {
            file: file.into(),
            line: None,
            message: e.to_string(),
        })?;
        if let Err(e) = unit.check_compatible(&target) {
            return ctx.err(l.unit.span(), format!("limit on `{lname}`: {e}"));
        }
        if l.min.is_none() && l.max.is_none() {
            return ctx.err(
                span,
                format!("limit on `{lname}` needs `min`, `max` or both"),
            );
        }
        let conv = |v: &Option<Spanned<f64>>| {
            v.as_ref()
                .map(|s| unit.convert(*s.get_ref(), &target).unwrap_or(f64::NAN))
        };
        let (min, max) = (conv(&l.min), conv(&l.max));
        if let (Some(a), Some(b)) = (min, max) {
            if a > b {
                return ctx.err(span, format!("limit on `{lname}`: min ({a} {param_unit}) is above max ({b} {param_unit})"));
            }
        }
        let reason = if l.reason.is_empty() {
            "safety limit".to_string()
        } else {
            l.reason.clone()
        };
        match (searched, fixed_value) {
            (Some(p), _) => {
                let lo = min.map_or(p.min, |m| p.min.max(m));
                let hi = max.map_or(p.max, |m| p.max.min(m));
                if lo >= hi {
                    let s = l
                        .max
                        .as_ref()
                        .or(l.min.as_ref())
                        .map(|s| s.span())
                        .unwrap_or(span.clone());
                    return ctx.err(
                        s,
                        format!(
                            "limit on `{lname}` ({}) contradicts the search space {} to {} {}: no allowed value is left to search",
                            describe_limit(min, max, &param_unit),
                            p.min,
                            p.max,
                            p.unit
                        ),
                    );
                }
                if lo > p.min || hi < p.max {
                    notes.push(format!(
                        "`{lname}` searched over {lo} to {hi} {} (was {} to {}; clipped by the limit: {reason})",
                        p.unit, p.min, p.max
                    ));
                    p.min = lo;
                    p.max = hi;
                }
            }
            (None, Some((_, q))) => {
                if min.is_some_and(|m| q.value < m) || max.is_some_and(|m| q.value > m) {
                    return ctx.err(
                        span,
                        format!(
                            "limit on `{lname}` ({}) forbids its fixed value {} {}",
                            describe_limit(min, max, &param_unit),
                            q.value,
                            q.unit
                        ),
                    );
                }
            }
            (None, None) => unreachable!("checked above"),
        }
        limits.push(Limit {
            parameter: lname.to_string(),
            min,
            max,
            reason,
        });
    }

    let initial_design = match &raw.design {
        None => (2 * parameters.len()).max(5),
        Some(d) => {
            let n = *d.initial.get_ref();
            if n < 1 || n > budget {
                return ctx.err(
                    d.initial.span(),
                    format!("design.initial must be between 1 and the budget ({budget}), not {n}"),
                );
            }
            n as usize
        }
    };

    let imaging = {
        let raw_img = raw.imaging.as_ref();
        let pixel_size_nm = match raw_img.and_then(|i| i.pixel_size.as_ref()) {
            None => 0.2,
            Some(p) if (0.01..=10.0).contains(p.get_ref()) => *p.get_ref(),
            Some(p) => {
                return ctx.err(
                    p.span(),
                    format!(
                        "imaging.pixel_size must be 0.01 to 10 nm, not {}",
                        p.get_ref()
                    ),
                )
            }
        };
        let dim = |v: Option<&Spanned<i64>>, field: &str| -> Result<usize, CampaignError> {
            match v {
                None => Ok(1024),
                Some(s) if (128..=8192).contains(s.get_ref()) => Ok(*s.get_ref() as usize),
                Some(s) => ctx.err(
                    s.span(),
                    format!(
                        "imaging.{field} must be 128 to 8192 pixels, not {}",
                        s.get_ref()
                    ),
                ),
            }
        };
        ImagingSettings {
            pixel_size_nm,
            width: dim(raw_img.and_then(|i| i.width.as_ref()), "width")?,
            height: dim(raw_img.and_then(|i| i.height.as_ref()), "height")?,
        }
    };

    let prior_campaign = match raw.prior {
        None => None,
        Some(p) if p.campaign.get_ref().trim().is_empty() => {
            return ctx.err(
                p.campaign.span(),
                "prior.campaign must name a campaign (its id or lab id, e.g. \"C0001\")".into(),
            )
        }
        Some(p) => Some(p.campaign.get_ref().trim().to_string()),
    };

    Ok(Campaign {
        name,
        description: raw.campaign.description,
        budget: budget as u32,
        seed: raw.campaign.seed.unwrap_or(0),
        instrument,
        stop_when_satisfied: raw.campaign.stop_when_satisfied.unwrap_or(true),
        initial_design,
        parameters,
        fixed,
        objectives,
        limits,
        imaging,
        notes,
        prior_campaign,
    })
}

fn describe_limit(min: Option<f64>, max: Option<f64>, unit: &str) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a} to {b} {unit}"),
        (Some(a), None) => format!("min {a} {unit}"),
        (None, Some(b)) => format!("max {b} {unit}"),
        (None, None) => "no bound".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_text() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qd-620nm.toml");
        std::fs::read_to_string(path).expect("the example campaign exists")
    }

    #[test]
    fn prior_campaign_is_parsed_and_changes_the_identity() {
        let plain = parse_campaign(&example_text(), "plain.toml").unwrap();
        assert_eq!(plain.prior_campaign, None);
        let seeded_text = format!("{}\n[prior]\ncampaign = \" C0001 \"\n", example_text());
        let seeded = parse_campaign(&seeded_text, "seeded.toml").unwrap();
        assert_eq!(seeded.prior_campaign.as_deref(), Some("C0001"));
        // A seeded campaign is a different campaign from the unseeded one in the store.
        assert_ne!(plain.content_hash(), seeded.content_hash());
        // Without a prior the serialised form (and so the hash of existing campaigns) has no
        // trace of the key.
        assert!(!serde_json::to_string(&plain).unwrap().contains("prior"));
    }

    #[test]
    fn empty_or_unknown_prior_keys_are_rejected() {
        let empty = format!("{}\n[prior]\ncampaign = \"  \"\n", example_text());
        let err = parse_campaign(&empty, "empty.toml").unwrap_err();
        assert!(err.message.contains("prior.campaign"), "{}", err.message);
        let unknown = format!("{}\n[prior]\ncampagin = \"C0001\"\n", example_text());
        assert!(parse_campaign(&unknown, "typo.toml").is_err());
    }
}
