//! Search spaces beyond the box: integer and categorical parameters, finite candidate tables,
//! known constraints (linear inequalities, linear equalities such as mixtures, cardinality),
//! and the choice of initial design.
//!
//! A [`SearchSpace`] refines the box of [`athanor_model::ParameterDef`]s of a
//! [`crate::PlannerConfig`]; the default refines nothing, so a planner without one behaves
//! exactly as a plain box planner. Parameter values always travel as `f64` in parameter units:
//!
//! * **continuous** — any value in `[min, max]` (linear or log scale, as the `ParameterDef` says);
//! * **integer** — whole numbers in `[min, max]`; the optimiser works in the unit cube and
//!   rounds, so every proposal is an exact integer;
//! * **categorical** — the value is the category's index `0, 1, …, n−1` (the `ParameterDef` must
//!   have `min = 0`, `max = n − 1`). The GP sees either a one-hot encoding or, when numeric
//!   descriptors are given per category, the descriptors min–max scaled to `[0, 1]`
//!   (descriptor encodings let the model generalise between chemically similar categories).
//!
//! ## Known constraints and how proposals are made feasible
//!
//! Constraints are stated in parameter units: `Σ a_i x_i ≤ b` ([`Constraint::LinearInequality`]),
//! `Σ a_i x_i = b` ([`Constraint::LinearEquality`], e.g. mixture fractions summing to 1) and
//! "at most `k` of these parameters non-zero" ([`Constraint::Cardinality`]). Every point the
//! planner considers (design points and acquisition candidates alike) goes through one *repair*
//! map before it is scored or proposed:
//!
//! 1. discrete parameters are rounded (integers) or snapped to a category;
//! 2. cardinality: in each group with more than `k` non-zero members the `k` largest
//!    (relative to their range) are kept and the others set to exactly 0;
//! 3. the remaining free continuous coordinates, scaled linearly to `[0, 1]`, are projected onto
//!    the polytope `{box, inequalities, equalities}` by cyclic alternating projections
//!    (von Neumann / Bregman POCS: each half-space or hyperplane projection is closed form,
//!    and the cycle converges to a point of the intersection when it is non-empty);
//! 4. the result is checked; a point that still violates a constraint by more than
//!    [`FEASIBILITY_TOLERANCE`] (relative) is rejected, never proposed.
//!
//! So an initial design under constraints is "Sobol / Latin hypercube / factorial, then
//! projection, then rejection": a point that cannot be repaired is replaced by the next
//! seeded random point.
//!
//! Unknown constraints (experiments that fail for reasons nobody wrote down) are learned from
//! `Observation::failed` by the planner itself; see the crate documentation.

use crate::PlanError;
use athanor_model::ParameterDef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Relative tolerance of the feasibility check: a linear constraint `Σ a_i x_i ≤ b` (or `= b`)
/// counts as satisfied when the violation is at most `FEASIBILITY_TOLERANCE × (1 + |b| +
/// Σ |a_i| max(|min_i|, |max_i|))`. Bounds, integrality, categories and cardinality are exact.
pub const FEASIBILITY_TOLERANCE: f64 = 1e-9;
/// Cycles of alternating projections before a point is declared unrepairable.
const PROJECTION_CYCLES: usize = 2000;

/// How a parameter's values are restricted beyond its `[min, max]` box.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ParameterKind {
    /// Any real value in the box.
    #[default]
    Continuous,
    /// Whole numbers in the box (the bounds must be whole numbers).
    Integer,
    /// One of a list of categories; the value is the category's index.
    Categorical {
        /// Category names, in index order.
        categories: Vec<String>,
        /// Optional numeric descriptors, one row of equal length per category; when given the
        /// GP sees these (scaled to `[0, 1]`) instead of a one-hot encoding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        descriptors: Option<Vec<Vec<f64>>>,
    },
}

/// A known constraint on the parameters, in parameter units. Names identify the constraint in
/// error messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Constraint {
    /// `Σ coefficients[p] · x_p ≤ bound`.
    LinearInequality {
        /// Name used in error messages.
        name: String,
        /// Coefficient per parameter name (missing parameters have coefficient 0).
        coefficients: BTreeMap<String, f64>,
        /// Right-hand side `b`.
        bound: f64,
    },
    /// `Σ coefficients[p] · x_p = value` (mixtures: fractions summing to 1).
    LinearEquality {
        /// Name used in error messages.
        name: String,
        /// Coefficient per parameter name.
        coefficients: BTreeMap<String, f64>,
        /// Right-hand side.
        value: f64,
    },
    /// At most `max_nonzero` of `parameters` differ from zero (each must allow the value 0).
    Cardinality {
        /// Name used in error messages.
        name: String,
        /// The group of parameters (continuous or integer).
        parameters: Vec<String>,
        /// Largest number of non-zero members.
        max_nonzero: usize,
    },
}

impl Constraint {
    /// The constraint's name.
    pub fn name(&self) -> &str {
        match self {
            Constraint::LinearInequality { name, .. }
            | Constraint::LinearEquality { name, .. }
            | Constraint::Cardinality { name, .. } => name,
        }
    }
}

fn default_levels() -> usize {
    3
}

/// The space-filling design used for the first `initial_design` experiments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum InitialDesign {
    /// Owen-scrambled Sobol points (Burley 2020), the default.
    #[default]
    Sobol,
    /// A seeded Latin hypercube of `initial_design` points (McKay, Beckman & Conover 1979):
    /// each parameter's range is cut into `initial_design` equal strata, each hit once.
    LatinHypercube,
    /// A full factorial grid: `levels` evenly spaced values per continuous parameter (in the
    /// unit cube, so log-scale parameters get geometric levels), up to `levels` integers per
    /// integer parameter, every category of categorical ones. Grid points are visited in
    /// mixed-radix order; once the grid is exhausted, Sobol points follow.
    Factorial {
        /// Levels per continuous / integer parameter (at least 2).
        #[serde(default = "default_levels")]
        levels: usize,
    },
}

/// A finite set of candidate experiments (for example the recipes an automated platform can
/// actually prepare). Row-major, one column per parameter in configuration order, values in
/// parameter units; the planner only ever proposes one of these rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateTable {
    /// Number of columns (= number of parameters).
    pub columns: usize,
    /// `rows × columns` values, row-major.
    pub values: Vec<f64>,
}

impl CandidateTable {
    /// A table from rows of equal length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<CandidateTable, PlanError> {
        let columns = rows.first().map_or(0, Vec::len);
        if let Some(i) = rows.iter().position(|r| r.len() != columns) {
            return Err(PlanError::InvalidConfig(format!(
                "candidate row {i} has {} values, row 0 has {columns}",
                rows[i].len()
            )));
        }
        Ok(CandidateTable {
            columns,
            values: rows.iter().flatten().copied().collect(),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.columns).unwrap_or(0)
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.columns..(i + 1) * self.columns]
    }
}

/// Everything about the search space that a box of [`ParameterDef`]s cannot say. The default
/// (all continuous, no constraints, no table, Sobol design) is the plain box planner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Kind per parameter name; parameters not listed are continuous.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, ParameterKind>,
    /// Known constraints, all of which every proposal satisfies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<Constraint>,
    /// When given, proposals are rows of this table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<CandidateTable>,
    /// The initial design.
    #[serde(default)]
    pub initial_design: InitialDesign,
}

impl SearchSpace {
    /// True when this space adds nothing to the box (the planner's original fast path).
    pub fn is_plain(&self) -> bool {
        self.kinds.values().all(|k| *k == ParameterKind::Continuous)
            && self.constraints.is_empty()
            && self.candidates.is_none()
    }
}

/// A linear constraint resolved to parameter indices.
#[derive(Debug, Clone)]
pub(crate) struct LinearRow {
    pub name: String,
    pub terms: Vec<(usize, f64)>,
    pub rhs: f64,
    pub equality: bool,
    /// Absolute tolerance of the feasibility check.
    pub tolerance: f64,
}

/// The compiled kind of one parameter.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Continuous,
    Integer,
    /// `count` categories; `descriptors` scaled to `[0, 1]` column-wise, one row per category.
    Categorical {
        count: usize,
        descriptors: Option<Vec<Vec<f64>>>,
    },
}

/// A validated, index-resolved search space.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub params: Vec<ParameterDef>,
    pub kinds: Vec<Kind>,
    pub linear: Vec<LinearRow>,
    pub cardinality: Vec<(String, Vec<usize>, usize)>,
    pub encoded_dims: usize,
}

fn invalid_constraint(name: &str, reason: String) -> PlanError {
    PlanError::InvalidConfig(format!("constraint `{name}`: {reason}"))
}

impl Space {
    /// Resolves and validates `spec` against the box `params` (already validated).
    pub fn compile(params: &[ParameterDef], spec: &SearchSpace) -> Result<Space, PlanError> {
        let index: BTreeMap<&str, usize> = params
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect();
        let mut kinds = vec![Kind::Continuous; params.len()];
        for (name, kind) in &spec.kinds {
            let Some(&i) = index.get(name.as_str()) else {
                return Err(PlanError::InvalidParameter {
                    name: name.clone(),
                    reason: "a kind is given for a parameter that does not exist".into(),
                });
            };
            let p = &params[i];
            let fail = |reason: String| PlanError::InvalidParameter {
                name: name.clone(),
                reason,
            };
            kinds[i] = match kind {
                ParameterKind::Continuous => Kind::Continuous,
                ParameterKind::Integer => {
                    if p.min.fract() != 0.0 || p.max.fract() != 0.0 {
                        return Err(fail(format!(
                            "integer bounds must be whole numbers, got [{}, {}]",
                            p.min, p.max
                        )));
                    }
                    Kind::Integer
                }
                ParameterKind::Categorical {
                    categories,
                    descriptors,
                } => {
                    let n = categories.len();
                    if n < 2 {
                        return Err(fail(
                            "a categorical parameter needs at least 2 categories".into(),
                        ));
                    }
                    if p.min != 0.0 || p.max != (n - 1) as f64 || p.log_scale {
                        return Err(fail(format!(
                            "a categorical parameter with {n} categories needs linear bounds [0, {}] (the value is the category index)",
                            n - 1
                        )));
                    }
                    let unique: BTreeSet<&String> = categories.iter().collect();
                    if unique.len() != n {
                        return Err(fail("category names must be unique".into()));
                    }
                    let descriptors = match descriptors {
                        None => None,
                        Some(rows) => Some(scale_descriptors(rows, n).map_err(fail)?),
                    };
                    Kind::Categorical {
                        count: n,
                        descriptors,
                    }
                }
            };
        }

        let mut linear = Vec::new();
        let mut cardinality = Vec::new();
        let mut names = BTreeSet::new();
        for c in &spec.constraints {
            let name = c.name();
            if name.trim().is_empty() {
                return Err(PlanError::InvalidConfig(
                    "a constraint has an empty name".into(),
                ));
            }
            if !names.insert(name) {
                return Err(invalid_constraint(name, "the name is used twice".into()));
            }
            match c {
                Constraint::LinearInequality {
                    coefficients,
                    bound,
                    ..
                }
                | Constraint::LinearEquality {
                    coefficients,
                    value: bound,
                    ..
                } => {
                    let equality = matches!(c, Constraint::LinearEquality { .. });
                    if !bound.is_finite() {
                        return Err(invalid_constraint(
                            name,
                            "the right-hand side is not finite".into(),
                        ));
                    }
                    let mut terms = Vec::new();
                    let mut magnitude = 1.0 + bound.abs();
                    let (mut lo, mut hi) = (0.0, 0.0);
                    for (pname, &a) in coefficients {
                        let Some(&i) = index.get(pname.as_str()) else {
                            return Err(invalid_constraint(
                                name,
                                format!("unknown parameter `{pname}`"),
                            ));
                        };
                        if !a.is_finite() {
                            return Err(invalid_constraint(
                                name,
                                format!("coefficient of `{pname}` is not finite"),
                            ));
                        }
                        if matches!(kinds[i], Kind::Categorical { .. }) {
                            return Err(invalid_constraint(
                                name,
                                format!(
                                    "`{pname}` is categorical and cannot enter a linear constraint"
                                ),
                            ));
                        }
                        if a == 0.0 {
                            continue;
                        }
                        let p = &params[i];
                        magnitude += a.abs() * p.min.abs().max(p.max.abs());
                        lo += (a * p.min).min(a * p.max);
                        hi += (a * p.min).max(a * p.max);
                        terms.push((i, a));
                    }
                    if terms.is_empty() {
                        return Err(invalid_constraint(name, "no non-zero coefficients".into()));
                    }
                    let tolerance = FEASIBILITY_TOLERANCE * magnitude;
                    if lo > bound + tolerance {
                        return Err(invalid_constraint(name, format!(
                            "infeasible: the smallest value of the left-hand side within the bounds is {lo}, above {bound}"
                        )));
                    }
                    if equality && hi < bound - tolerance {
                        return Err(invalid_constraint(name, format!(
                            "infeasible: the largest value of the left-hand side within the bounds is {hi}, below {bound}"
                        )));
                    }
                    linear.push(LinearRow {
                        name: name.to_string(),
                        terms,
                        rhs: *bound,
                        equality,
                        tolerance,
                    });
                }
                Constraint::Cardinality {
                    parameters,
                    max_nonzero,
                    ..
                } => {
                    let mut members = Vec::new();
                    for pname in parameters {
                        let Some(&i) = index.get(pname.as_str()) else {
                            return Err(invalid_constraint(
                                name,
                                format!("unknown parameter `{pname}`"),
                            ));
                        };
                        let p = &params[i];
                        if matches!(kinds[i], Kind::Categorical { .. }) {
                            return Err(invalid_constraint(
                                name,
                                format!("`{pname}` is categorical"),
                            ));
                        }
                        if p.min > 0.0 || p.max < 0.0 {
                            return Err(invalid_constraint(
                                name,
                                format!(
                                    "`{pname}` cannot be zero: its range is [{}, {}]",
                                    p.min, p.max
                                ),
                            ));
                        }
                        if members.contains(&i) {
                            return Err(invalid_constraint(
                                name,
                                format!("`{pname}` is listed twice"),
                            ));
                        }
                        members.push(i);
                    }
                    if members.is_empty() {
                        return Err(invalid_constraint(name, "the group is empty".into()));
                    }
                    cardinality.push((name.to_string(), members, *max_nonzero));
                }
            }
        }
        let encoded_dims = kinds
            .iter()
            .map(|k| match k {
                Kind::Categorical {
                    descriptors: Some(d),
                    ..
                } => d[0].len(),
                Kind::Categorical { count, .. } => *count,
                _ => 1,
            })
            .sum();
        Ok(Space {
            params: params.to_vec(),
            kinds,
            linear,
            cardinality,
            encoded_dims,
        })
    }

    /// Number of parameters.
    pub fn dims(&self) -> usize {
        self.params.len()
    }

    /// Maps a point of the unit cube to parameter units, rounding integers and snapping
    /// categories (no constraint repair).
    pub fn unit_to_values(&self, u: &[f64]) -> Vec<f64> {
        self.params
            .iter()
            .zip(&self.kinds)
            .zip(u)
            .map(|((p, k), &v)| self.snap(p, k, p.from_unit_interval(v.clamp(0.0, 1.0))))
            .collect()
    }

    fn snap(&self, p: &ParameterDef, k: &Kind, v: f64) -> f64 {
        match k {
            Kind::Continuous => v.clamp(p.min, p.max),
            Kind::Integer | Kind::Categorical { .. } => v.round().clamp(p.min, p.max),
        }
    }

    /// Maps parameter values to the unit cube (categories as `index / (n − 1)`).
    pub fn values_to_unit(&self, x: &[f64]) -> Vec<f64> {
        self.params
            .iter()
            .zip(x)
            .map(|(p, &v)| p.to_unit_interval(v))
            .collect()
    }

    /// The GP input for parameter values `x`, appended to `out`.
    pub fn encode_into(&self, x: &[f64], out: &mut Vec<f64>) {
        for ((p, k), &v) in self.params.iter().zip(&self.kinds).zip(x) {
            match k {
                Kind::Continuous | Kind::Integer => out.push(p.to_unit_interval(v)),
                Kind::Categorical { count, descriptors } => {
                    let c = (v.round().max(0.0) as usize).min(count - 1);
                    match descriptors {
                        Some(rows) => out.extend_from_slice(&rows[c]),
                        None => out.extend((0..*count).map(|j| if j == c { 1.0 } else { 0.0 })),
                    }
                }
            }
        }
    }

    /// [`Space::encode_into`] into a new vector.
    pub fn encode(&self, x: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.encoded_dims);
        self.encode_into(x, &mut out);
        out
    }

    /// Checks bounds, integrality, categories and known constraints; the first violation is
    /// described.
    pub fn violation(&self, x: &[f64]) -> Option<String> {
        for ((p, k), &v) in self.params.iter().zip(&self.kinds).zip(x) {
            if !(v >= p.min && v <= p.max) {
                return Some(format!(
                    "`{}` = {v} is outside [{}, {}]",
                    p.name, p.min, p.max
                ));
            }
            if !matches!(k, Kind::Continuous) && v.fract() != 0.0 {
                return Some(format!("`{}` = {v} is not a whole number", p.name));
            }
        }
        for row in &self.linear {
            let lhs: f64 = row.terms.iter().map(|&(i, a)| a * x[i]).sum();
            let excess = if row.equality {
                (lhs - row.rhs).abs()
            } else {
                lhs - row.rhs
            };
            if excess > row.tolerance {
                return Some(format!(
                    "constraint `{}`: left-hand side {lhs} vs {}",
                    row.name, row.rhs
                ));
            }
        }
        for (name, members, k) in &self.cardinality {
            let nonzero = members.iter().filter(|&&i| x[i] != 0.0).count();
            if nonzero > *k {
                return Some(format!(
                    "constraint `{name}`: {nonzero} non-zero members, at most {k}"
                ));
            }
        }
        None
    }

    /// [`Space::violation`] as a yes/no answer, without building a message.
    pub fn is_feasible(&self, x: &[f64]) -> bool {
        for ((p, k), &v) in self.params.iter().zip(&self.kinds).zip(x) {
            if !(v >= p.min && v <= p.max) || (!matches!(k, Kind::Continuous) && v.fract() != 0.0) {
                return false;
            }
        }
        self.linear.iter().all(|row| {
            let lhs: f64 = row.terms.iter().map(|&(i, a)| a * x[i]).sum();
            let excess = if row.equality {
                (lhs - row.rhs).abs()
            } else {
                lhs - row.rhs
            };
            excess <= row.tolerance
        }) && self
            .cardinality
            .iter()
            .all(|(_, members, k)| members.iter().filter(|&&i| x[i] != 0.0).count() <= *k)
    }

    /// Makes `x` feasible in place (see the module documentation); parameters with
    /// `pinned[i]` are not moved. Returns false when the point could not be repaired.
    pub fn repair(&self, x: &mut [f64], pinned: &[bool]) -> bool {
        for (((p, k), v), &pin) in self
            .params
            .iter()
            .zip(&self.kinds)
            .zip(x.iter_mut())
            .zip(pinned)
        {
            if !pin {
                *v = self.snap(p, k, *v);
            }
        }
        // Cardinality: keep the k largest (relative to the range) non-zero members.
        let mut frozen: Vec<bool> = pinned.to_vec();
        for (i, k) in self.kinds.iter().enumerate() {
            if !matches!(k, Kind::Continuous) {
                frozen[i] = true;
            }
        }
        // Projection can make zero members non-zero again, so cardinality and projection
        // alternate; members zeroed once stay frozen at zero.
        for _ in 0..4 {
            for (_, members, k) in &self.cardinality {
                let mut nonzero: Vec<(usize, f64)> = members
                    .iter()
                    .filter(|&&i| x[i] != 0.0)
                    .map(|&i| {
                        let p = &self.params[i];
                        (i, x[i].abs() / p.min.abs().max(p.max.abs()))
                    })
                    .collect();
                // Pinned members always stay; the largest movable ones fill the other slots.
                nonzero.sort_by(|a, b| {
                    pinned[b.0]
                        .cmp(&pinned[a.0])
                        .then(b.1.total_cmp(&a.1))
                        .then(a.0.cmp(&b.0))
                });
                for &(i, _) in nonzero.iter().skip(*k) {
                    if pinned[i] {
                        return false;
                    }
                    x[i] = 0.0;
                    frozen[i] = true;
                }
            }
            if !self.linear.is_empty() {
                self.project(x, &frozen);
            }
            if self.is_feasible(x) {
                return true;
            }
        }
        false
    }

    /// Cyclic projections onto the constraint half-spaces / hyperplanes and the box, over the
    /// non-frozen coordinates scaled to `[0, 1]`.
    fn project(&self, x: &mut [f64], frozen: &[bool]) {
        let width: Vec<f64> = self.params.iter().map(|p| p.max - p.min).collect();
        // Rows in scaled coordinates z = (x − min)/width over the free variables:
        // Σ_free (a w) z ≤ rhs − Σ_frozen a x − Σ_free a min.
        struct Scaled {
            terms: Vec<(usize, f64)>,
            rhs: f64,
            norm2: f64,
            equality: bool,
            tolerance: f64,
        }
        let rows: Vec<Scaled> = self
            .linear
            .iter()
            .map(|r| {
                let mut rhs = r.rhs;
                let mut terms = Vec::new();
                for &(i, a) in &r.terms {
                    if frozen[i] {
                        rhs -= a * x[i];
                    } else {
                        rhs -= a * self.params[i].min;
                        terms.push((i, a * width[i]));
                    }
                }
                let norm2 = terms.iter().map(|t| t.1 * t.1).sum();
                Scaled {
                    terms,
                    rhs,
                    norm2,
                    equality: r.equality,
                    tolerance: 0.1 * r.tolerance,
                }
            })
            .collect();
        let mut z: Vec<f64> = (0..x.len())
            .map(|i| ((x[i] - self.params[i].min) / width[i]).clamp(0.0, 1.0))
            .collect();
        for _ in 0..PROJECTION_CYCLES {
            let mut worst = 0.0f64;
            for r in &rows {
                let lhs: f64 = r.terms.iter().map(|&(i, a)| a * z[i]).sum();
                let excess = lhs - r.rhs;
                let violated = if r.equality { excess.abs() } else { excess };
                worst = worst.max(violated / r.tolerance.max(f64::MIN_POSITIVE));
                if violated > 0.0 && r.norm2 > 0.0 {
                    let step = excess / r.norm2;
                    for &(i, a) in &r.terms {
                        z[i] -= step * a;
                    }
                }
            }
            let mut outside = false;
            for (i, zi) in z.iter_mut().enumerate() {
                if !frozen[i] && !(0.0..=1.0).contains(zi) {
                    outside = true;
                    *zi = zi.clamp(0.0, 1.0);
                }
            }
            if worst <= 1.0 && !outside {
                break;
            }
        }
        for i in 0..x.len() {
            if !frozen[i] {
                x[i] = (self.params[i].min + z[i] * width[i])
                    .clamp(self.params[i].min, self.params[i].max);
            }
        }
    }
}

/// Point `k` of the initial design in the unit cube (parameter-wise, categories and integers
/// at the centres of their cells so that rounding hits every level). `n` is the design size
/// (`initial_design`), `seed` the design seed.
pub(crate) fn design_unit_point(
    design: &InitialDesign,
    space: &Space,
    k: usize,
    n: usize,
    seed: u64,
) -> Vec<f64> {
    let d = space.dims();
    match design {
        InitialDesign::Sobol => crate::sobol::sobol_point(k as u64, d, seed),
        InitialDesign::LatinHypercube => {
            use rand::{RngExt, SeedableRng};
            let n = n.max(k + 1);
            (0..d)
                .map(|j| {
                    // One permutation of the strata per dimension, from its own stream.
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
                        crate::stats::derive_seed(seed, j as u64, 0x1a7),
                    );
                    let mut strata: Vec<usize> = (0..n).collect();
                    for i in (1..n).rev() {
                        strata.swap(i, rng.random_range(0..=i));
                    }
                    let jitter: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
                    (strata[k] as f64 + jitter[k]) / n as f64
                })
                .collect()
        }
        InitialDesign::Factorial { levels } => {
            let levels = (*levels).max(2);
            let counts: Vec<usize> = space
                .params
                .iter()
                .zip(&space.kinds)
                .map(|(p, kind)| match kind {
                    Kind::Continuous => levels,
                    Kind::Integer => levels.min((p.max - p.min) as usize + 1),
                    Kind::Categorical { count, .. } => *count,
                })
                .collect();
            let total = counts
                .iter()
                .try_fold(1usize, |acc, &c| acc.checked_mul(c))
                .unwrap_or(usize::MAX);
            if k >= total {
                return crate::sobol::sobol_point((k - total) as u64, d, seed);
            }
            // Mixed-radix digits of k, first parameter varying slowest.
            let mut rest = k;
            let mut u = vec![0.0; d];
            for j in (0..d).rev() {
                let digit = rest % counts[j];
                rest /= counts[j];
                u[j] = if counts[j] == 1 {
                    0.5
                } else {
                    digit as f64 / (counts[j] - 1) as f64
                };
            }
            u
        }
    }
}

/// Min–max scales descriptor columns to `[0, 1]` (constant columns become 0.5).
fn scale_descriptors(rows: &[Vec<f64>], n: usize) -> Result<Vec<Vec<f64>>, String> {
    if rows.len() != n {
        return Err(format!("{} descriptor rows for {n} categories", rows.len()));
    }
    let m = rows[0].len();
    if m == 0 || rows.iter().any(|r| r.len() != m) {
        return Err("descriptor rows must be non-empty and of equal length".into());
    }
    if rows.iter().flatten().any(|v| !v.is_finite()) {
        return Err("descriptors must be finite".into());
    }
    let mut out = rows.to_vec();
    for j in 0..m {
        let lo = rows.iter().map(|r| r[j]).fold(f64::INFINITY, f64::min);
        let hi = rows.iter().map(|r| r[j]).fold(f64::NEG_INFINITY, f64::max);
        for r in out.iter_mut() {
            r[j] = if hi > lo {
                (r[j] - lo) / (hi - lo)
            } else {
                0.5
            };
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, min: f64, max: f64) -> ParameterDef {
        ParameterDef {
            name: name.into(),
            unit: "1".into(),
            min,
            max,
            log_scale: false,
        }
    }

    fn mixture() -> (Vec<ParameterDef>, SearchSpace) {
        let params = vec![
            p("a", 0.0, 1.0),
            p("b", 0.0, 1.0),
            p("c", 0.0, 1.0),
            p("t", 0.0, 10.0),
        ];
        let coefficients: BTreeMap<String, f64> = ["a", "b", "c"]
            .iter()
            .map(|n| (n.to_string(), 1.0))
            .collect();
        let space = SearchSpace {
            kinds: [("t".to_string(), ParameterKind::Integer)]
                .into_iter()
                .collect(),
            constraints: vec![
                Constraint::LinearEquality {
                    name: "sum".into(),
                    coefficients,
                    value: 1.0,
                },
                Constraint::LinearInequality {
                    name: "a_below_b".into(),
                    coefficients: [("a".to_string(), 1.0), ("b".to_string(), -1.0)]
                        .into_iter()
                        .collect(),
                    bound: 0.0,
                },
                Constraint::Cardinality {
                    name: "two".into(),
                    parameters: vec!["a".into(), "b".into(), "c".into()],
                    max_nonzero: 2,
                },
            ],
            ..SearchSpace::default()
        };
        (params, space)
    }

    #[test]
    fn repair_makes_points_feasible() {
        let (params, spec) = mixture();
        let space = Space::compile(&params, &spec).unwrap();
        let pinned = vec![false; 4];
        for x0 in [
            [0.9, 0.2, 0.7, 3.4],
            [0.0, 0.0, 0.0, 9.6],
            [1.0, 1.0, 1.0, 0.2],
        ] {
            let mut x = x0.to_vec();
            assert!(space.repair(&mut x, &pinned), "{x0:?} -> {x:?}");
            assert!(space.violation(&x).is_none());
            assert!((x[0] + x[1] + x[2] - 1.0).abs() < 1e-8 && x[0] <= x[1] + 1e-8);
            assert_eq!(x[3], x0[3].round());
            assert!(x[..3].iter().filter(|v| **v != 0.0).count() <= 2);
        }
    }

    #[test]
    fn encodings_follow_the_kind() {
        let params = vec![
            p("x", 0.0, 2.0),
            p("solvent", 0.0, 2.0),
            p("ligand", 0.0, 1.0),
        ];
        let spec = SearchSpace {
            kinds: [
                (
                    "solvent".to_string(),
                    ParameterKind::Categorical {
                        categories: vec!["water".into(), "ethanol".into(), "toluene".into()],
                        descriptors: None,
                    },
                ),
                (
                    "ligand".to_string(),
                    ParameterKind::Categorical {
                        categories: vec!["ola".into(), "top".into()],
                        descriptors: Some(vec![vec![18.0, 1.0], vec![24.0, 1.0]]),
                    },
                ),
            ]
            .into_iter()
            .collect(),
            ..SearchSpace::default()
        };
        let space = Space::compile(&params, &spec).unwrap();
        assert_eq!(space.encoded_dims, 1 + 3 + 2);
        assert_eq!(
            space.encode(&[1.0, 2.0, 1.0]),
            vec![0.5, 0.0, 0.0, 1.0, 1.0, 0.5]
        );
        assert_eq!(space.unit_to_values(&[0.5, 0.74, 0.2]), vec![1.0, 1.0, 0.0]);
    }

    #[test]
    fn invalid_constraints_are_named() {
        let (params, mut spec) = mixture();
        spec.constraints.push(Constraint::LinearInequality {
            name: "impossible".into(),
            coefficients: [("t".to_string(), 1.0)].into_iter().collect(),
            bound: -1.0,
        });
        let e = Space::compile(&params, &spec).unwrap_err().to_string();
        assert!(e.contains("impossible") && e.contains("infeasible"), "{e}");
        let (params, mut spec) = mixture();
        spec.constraints.push(Constraint::Cardinality {
            name: "ghost".into(),
            parameters: vec!["nope".into()],
            max_nonzero: 1,
        });
        let e = Space::compile(&params, &spec).unwrap_err().to_string();
        assert!(e.contains("ghost") && e.contains("nope"), "{e}");
        let (params, mut spec) = mixture();
        spec.constraints.push(Constraint::LinearEquality {
            name: "too_much".into(),
            coefficients: [("a".to_string(), 1.0)].into_iter().collect(),
            value: 2.0,
        });
        let e = Space::compile(&params, &spec).unwrap_err().to_string();
        assert!(e.contains("too_much"), "{e}");
    }
}
