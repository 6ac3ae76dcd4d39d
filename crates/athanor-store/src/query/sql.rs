//! Compiles a parsed filter ([`Expr`]) into one parameterised SQL condition on `experiments e`
//! that SQLite and PostgreSQL both accept.
//!
//! Every value of the filter is a bound parameter (`?N`); the only text spliced into the SQL is
//! fixed column and table names chosen here and lengths computed here, so a filter cannot
//! inject SQL. Conditions on results, recipe parameters, measurements and campaigns are
//! uncorrelated `e.id IN (SELECT experiment_id FROM … WHERE …)` subqueries: both engines run
//! them once, driven by the `(name, unit, value)` indexes, rather than once per experiment as a
//! correlated `EXISTS` would be on SQLite.
//!
//! Units: a property may be stored in several units (`nm` here, `µm` there). The caller looks
//! up the distinct stored units of each property first; the query value is converted to each
//! and the condition becomes `(unit = 'nm' AND value < 6) OR (unit = 'µm' AND value < 0.006)`.
//! A converted bound is widened or narrowed by a relative 10⁻⁹, so that the round-off of the
//! conversion (625 nm → 0.6250000000000001 µm) cannot flip a comparison with a value stored as
//! exactly 0.625 µm; values that close are the same measurement for any lab purpose.

use super::{query_error, CompareOp, Expr, Field, Literal, TextOp};
use crate::backend::Value;
use crate::error::StoreError;
use athanor_model::units::{Dimension, Unit};
use std::collections::BTreeMap;

/// Where a numeric property is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// The `results` table (`d50`, `pl_peak`, …).
    Results,
    /// The `recipe_values` table (`recipe.growth_temperature`).
    Recipe,
}

impl Source {
    pub(crate) fn table(self) -> &'static str {
        match self {
            Source::Results => "results",
            Source::Recipe => "recipe_values",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Source::Results => "result",
            Source::Recipe => "recipe parameter",
        }
    }
}

/// The stored units of one property, looked up on demand (and once per property).
pub(crate) type UnitLookup<'a> = dyn FnMut(Source, &str) -> Result<Vec<String>, StoreError> + 'a;

/// A condition on `experiments e` and its parameters, numbered `?1`, `?2`, … in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Compiled {
    /// The SQL condition.
    pub(crate) condition: String,
    /// The values of its placeholders.
    pub(crate) params: Vec<Value>,
}

/// Compiles `expr`; `stored_units` answers which units a property is stored in (sorted).
pub(crate) fn compile(
    expr: &Expr,
    stored_units: &mut UnitLookup<'_>,
) -> Result<Compiled, StoreError> {
    let mut compiler = Compiler {
        params: Vec::new(),
        units: BTreeMap::new(),
        stored_units,
    };
    let condition = compiler.expr(expr)?;
    Ok(Compiled {
        condition,
        params: compiler.params,
    })
}

/// The fields that are not result names.
const EXPERIMENT_FIELDS: &str = "id, lab_id, status, seq, campaign, name, technique";

/// What a field name refers to.
enum Resolved<'f> {
    /// A text column of `experiments`.
    Text { column: &'static str },
    /// `status`: a text column with three possible values.
    Status,
    /// `seq`: a whole number.
    Seq,
    /// `campaign`: the campaign's lab id or name.
    Campaign,
    /// `name`: the campaign's name.
    CampaignName,
    /// `technique`: any measurement's technique.
    Technique,
    /// A numeric property with a unit.
    Quantity { source: Source, name: &'f str },
}

fn resolve(field: &Field) -> Result<Resolved<'_>, StoreError> {
    let name = field.name.as_str();
    Ok(match name {
        "id" => Resolved::Text { column: "e.id" },
        "lab_id" => Resolved::Text { column: "e.lab_id" },
        "status" => Resolved::Status,
        "seq" => Resolved::Seq,
        "campaign" => Resolved::Campaign,
        "name" => Resolved::CampaignName,
        "technique" => Resolved::Technique,
        _ => match name.split_once('.') {
            None => Resolved::Quantity {
                source: Source::Results,
                name,
            },
            Some(("recipe" | "process", parameter)) => Resolved::Quantity {
                source: Source::Recipe,
                name: parameter,
            },
            Some(("result" | "results", result)) => Resolved::Quantity {
                source: Source::Results,
                name: result,
            },
            Some(_) => {
                return Err(query_error(
                    field.position,
                    format!(
                        "unknown field `{name}`: dotted names are recipe.<parameter>, \
                         process.<parameter> or result.<name>"
                    ),
                ))
            }
        },
    })
}

/// A string condition on one text column.
#[derive(Clone, Copy)]
enum TextCondition<'a> {
    Equals(&'a str),
    Differs(&'a str),
    Matches(TextOp, &'a str),
}

struct Compiler<'l, 'a> {
    params: Vec<Value>,
    /// Stored units already looked up, per property.
    units: BTreeMap<(Source, String), Vec<String>>,
    stored_units: &'l mut UnitLookup<'a>,
}

impl Compiler<'_, '_> {
    /// Binds a value and returns its placeholder.
    fn bind(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }

    fn expr(&mut self, expr: &Expr) -> Result<String, StoreError> {
        match expr {
            Expr::And(a, b) => Ok(format!("({} AND {})", self.expr(a)?, self.expr(b)?)),
            Expr::Or(a, b) => Ok(format!("({} OR {})", self.expr(a)?, self.expr(b)?)),
            Expr::Not(inner) => Ok(format!("(NOT {})", self.expr(inner)?)),
            Expr::Known { field, known } => self.known(field, *known),
            Expr::Text {
                field, op, text, ..
            } => self.text_field(field, TextCondition::Matches(*op, text)),
            Expr::Compare { field, op, value } => self.compare(field, *op, value),
        }
    }

    fn known(&mut self, field: &Field, known: bool) -> Result<String, StoreError> {
        let always = if known { "1 = 1" } else { "1 = 0" };
        let not = if known { "" } else { "NOT " };
        Ok(match resolve(field)? {
            // Every experiment has these.
            Resolved::Text { .. }
            | Resolved::Status
            | Resolved::Seq
            | Resolved::Campaign
            | Resolved::CampaignName => always.to_string(),
            Resolved::Technique => {
                format!("e.id {not}IN (SELECT m.experiment_id FROM measurements m)")
            }
            Resolved::Quantity { source, name } => {
                let name = self.bind(Value::from(name));
                format!(
                    "e.num {not}IN (SELECT x.experiment_num FROM {} x WHERE x.name = {name})",
                    source.table()
                )
            }
        })
    }

    fn compare(
        &mut self,
        field: &Field,
        op: CompareOp,
        value: &Literal,
    ) -> Result<String, StoreError> {
        let resolved = resolve(field)?;
        match (resolved, value) {
            (Resolved::Quantity { source, name }, Literal::Number { .. }) => {
                self.quantity(field, source, name, op, value)
            }
            (Resolved::Quantity { .. }, Literal::Text { position, .. }) => Err(query_error(
                *position,
                format!(
                    "`{}` is a number: compare it with a number (and unit), not a string",
                    field.name
                ),
            )),
            (
                Resolved::Seq,
                Literal::Number {
                    value,
                    unit,
                    text,
                    position,
                },
            ) => {
                if let Some(unit) = unit {
                    return Err(query_error(
                        *position,
                        format!("`seq` is a plain whole number; `{unit}` does not apply"),
                    ));
                }
                // Whole numbers well inside f64's exact range compare exactly as integers.
                if value.fract() != 0.0 || value.abs() > 1e15 {
                    return Err(query_error(
                        *position,
                        format!("`seq` is a whole number; {text} is not"),
                    ));
                }
                let placeholder = self.bind(Value::Integer(*value as i64));
                Ok(format!("e.seq {} {placeholder}", sql_operator(op)))
            }
            (Resolved::Seq, Literal::Text { position, .. }) => Err(query_error(
                *position,
                "`seq` is a whole number: compare it with a number, not a string",
            )),
            (_, Literal::Number { position, .. }) => Err(query_error(
                *position,
                format!(
                    "`{}` is text: write the value in double quotes, e.g. {} = \"…\"",
                    field.name, field.name
                ),
            )),
            (
                _,
                Literal::Text {
                    value: text,
                    position,
                },
            ) => {
                let condition = match op {
                    CompareOp::Eq => TextCondition::Equals(text),
                    CompareOp::Ne => TextCondition::Differs(text),
                    _ => {
                        return Err(query_error(
                            field.position,
                            format!(
                                "`{}` is text: compare it with =, !=, CONTAINS, STARTS WITH or \
                                 ENDS WITH, not '{}'",
                                field.name,
                                op.symbol()
                            ),
                        ))
                    }
                };
                if let (Resolved::Status, TextCondition::Equals(s) | TextCondition::Differs(s)) =
                    (resolve(field)?, condition)
                {
                    if !matches!(s, "planned" | "completed" | "failed") {
                        return Err(query_error(
                            *position,
                            format!("status is one of \"planned\", \"completed\", \"failed\"; not {s:?}"),
                        ));
                    }
                }
                self.text_field(field, condition)
            }
        }
    }

    fn text_field(
        &mut self,
        field: &Field,
        condition: TextCondition<'_>,
    ) -> Result<String, StoreError> {
        Ok(match resolve(field)? {
            Resolved::Text { column } => self.text_condition(column, condition),
            Resolved::Status => self.text_condition("e.status", condition),
            Resolved::CampaignName => {
                let on_name = self.text_condition("c2.name", condition);
                format!("e.campaign_id IN (SELECT c2.id FROM campaigns c2 WHERE {on_name})")
            }
            Resolved::Campaign => match condition {
                // One campaign per experiment: "not C0001" is the negation of "is C0001" (a
                // campaign whose lab id differs but whose name is "C0001" is still that one).
                TextCondition::Differs(text) => {
                    let same = self.campaign_matches(TextCondition::Equals(text));
                    format!("e.campaign_id NOT IN (SELECT c2.id FROM campaigns c2 WHERE {same})")
                }
                _ => {
                    let matches = self.campaign_matches(condition);
                    format!("e.campaign_id IN (SELECT c2.id FROM campaigns c2 WHERE {matches})")
                }
            },
            Resolved::Technique => {
                let on_technique = self.text_condition("m.technique", condition);
                format!("e.id IN (SELECT m.experiment_id FROM measurements m WHERE {on_technique})")
            }
            Resolved::Seq | Resolved::Quantity { .. } => {
                return Err(query_error(
                    field.position,
                    format!(
                        "`{}` is a number: CONTAINS, STARTS WITH and ENDS WITH apply to text",
                        field.name
                    ),
                ))
            }
        })
    }

    fn campaign_matches(&mut self, condition: TextCondition<'_>) -> String {
        let on_lab_id = self.text_condition("c2.lab_id", condition);
        let on_name = self.text_condition("c2.name", condition);
        format!("({on_lab_id} OR {on_name})")
    }

    /// A condition on a text column. String functions are the ones both engines share
    /// (`length`, `substr`, `replace` count characters in both); `LIKE` is avoided because it
    /// ignores case in SQLite but not in PostgreSQL, and would need its wildcards escaped.
    fn text_condition(&mut self, column: &str, condition: TextCondition<'_>) -> String {
        match condition {
            TextCondition::Equals(text) => {
                let p = self.bind(Value::from(text));
                format!("{column} = {p}")
            }
            TextCondition::Differs(text) => {
                let p = self.bind(Value::from(text));
                format!("{column} <> {p}")
            }
            TextCondition::Matches(_, "") => "1 = 1".to_string(),
            TextCondition::Matches(TextOp::Contains, text) => {
                let p = self.bind(Value::from(text));
                format!("length(replace({column}, CAST({p} AS TEXT), '')) < length({column})")
            }
            TextCondition::Matches(TextOp::StartsWith, text) => {
                let length = text.chars().count();
                let p = self.bind(Value::from(text));
                format!("substr({column}, 1, {length}) = {p}")
            }
            TextCondition::Matches(TextOp::EndsWith, text) => {
                let length = text.chars().count();
                let p = self.bind(Value::from(text));
                format!(
                    "(length({column}) >= {length} AND \
                     substr({column}, length({column}) - {}) = {p})",
                    length - 1
                )
            }
        }
    }

    fn stored_units(&mut self, source: Source, name: &str) -> Result<Vec<String>, StoreError> {
        let key = (source, name.to_string());
        if let Some(units) = self.units.get(&key) {
            return Ok(units.clone());
        }
        let units = (self.stored_units)(source, name)?;
        self.units.insert(key, units.clone());
        Ok(units)
    }

    fn quantity(
        &mut self,
        field: &Field,
        source: Source,
        name: &str,
        op: CompareOp,
        literal: &Literal,
    ) -> Result<String, StoreError> {
        let Literal::Number {
            value,
            unit,
            text,
            position,
        } = literal
        else {
            return Err(query_error(literal.position(), "expected a number"));
        };
        let stored = self.stored_units(source, name)?;
        if stored.is_empty() {
            let hint = match source {
                Source::Results => format!(
                    "; it is not an experiment field either ({EXPERIMENT_FIELDS}), and recipe \
                     parameters are written recipe.<name>"
                ),
                Source::Recipe => String::new(),
            };
            return Err(query_error(
                field.position,
                format!("no {} named `{name}` is stored{hint}", source.describe()),
            ));
        }
        let query_unit = unit.clone().unwrap_or_else(Unit::dimensionless);
        // Units that cannot be parsed cannot be converted: their rows cannot match.
        let parsed: Vec<(&String, Unit)> = stored
            .iter()
            .filter_map(|symbol| Unit::parse(symbol).ok().map(|unit| (symbol, unit)))
            .collect();
        let compatible: Vec<&(&String, Unit)> = parsed
            .iter()
            .filter(|(_, unit)| unit.dimension() == query_unit.dimension())
            .collect();
        if compatible.is_empty() {
            let stored_dimension = parsed.first().map(|(_, unit)| unit.dimension());
            let what = match stored_dimension {
                Some(dimension) if dimension == Dimension::NONE => "dimensionless".to_string(),
                Some(dimension) => {
                    format!("{} ({})", dimension_phrase(dimension), stored.join(", "))
                }
                None => format!(
                    "stored in units this build cannot read ({})",
                    stored.join(", ")
                ),
            };
            let problem = match (unit, stored_dimension) {
                (None, Some(dimension)) => format!(
                    "give the value a unit, e.g. `{text} {}`",
                    parsed
                        .iter()
                        .find(|(_, u)| u.dimension() == dimension)
                        .map_or("", |(symbol, _)| symbol.as_str())
                ),
                (Some(unit), _) if unit.dimension() == Dimension::NONE => {
                    format!("`{unit}` is dimensionless")
                }
                (Some(unit), _) => {
                    format!("`{unit}` is {}", dimension_phrase(unit.dimension()))
                }
                (None, None) => "a plain number cannot be compared with it".to_string(),
            };
            return Err(query_error(
                *position,
                format!("{} is {what}; {problem}", field.name),
            ));
        }
        let name_placeholder = self.bind(Value::from(name));
        let mut alternatives = Vec::new();
        for (symbol, stored_unit) in compatible {
            let converted = query_unit
                .convert(*value, stored_unit)
                .map_err(|e| query_error(*position, e.to_string()))?;
            let exact = query_unit.convert(1.0, stored_unit) == Ok(1.0)
                && query_unit.convert(0.0, stored_unit) == Ok(0.0);
            let tolerance = if exact {
                0.0
            } else {
                let width = query_unit
                    .convert_difference(value.abs(), stored_unit)
                    .unwrap_or(0.0);
                1e-9 * converted.abs().max(width.abs())
            };
            let unit_placeholder = self.bind(Value::from(symbol.as_str()));
            let on_value = self.value_condition(op, converted, tolerance);
            alternatives.push(format!(
                "(x.name = {name_placeholder} AND x.unit = {unit_placeholder} AND {on_value})"
            ));
        }
        Ok(format!(
            "e.num IN (SELECT x.experiment_num FROM {} x WHERE {})",
            source.table(),
            alternatives.join(" OR ")
        ))
    }

    fn value_condition(&mut self, op: CompareOp, value: f64, tolerance: f64) -> String {
        let (low, high) = (value - tolerance, value + tolerance);
        match op {
            CompareOp::Eq if tolerance == 0.0 => format!("x.value = {}", self.bind(value.into())),
            CompareOp::Ne if tolerance == 0.0 => format!("x.value <> {}", self.bind(value.into())),
            CompareOp::Eq => {
                let (l, h) = (self.bind(low.into()), self.bind(high.into()));
                format!("x.value BETWEEN {l} AND {h}")
            }
            CompareOp::Ne => {
                let (l, h) = (self.bind(low.into()), self.bind(high.into()));
                format!("(x.value < {l} OR x.value > {h})")
            }
            CompareOp::Lt => format!("x.value < {}", self.bind(low.into())),
            CompareOp::Le => format!("x.value <= {}", self.bind(high.into())),
            CompareOp::Gt => format!("x.value > {}", self.bind(high.into())),
            CompareOp::Ge => format!("x.value >= {}", self.bind(low.into())),
        }
    }
}

fn sql_operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Ne => "<>",
        other => other.symbol(),
    }
}

/// "a length", "an energy", "a quantity in m^-1·s".
fn dimension_phrase(dimension: Dimension) -> String {
    let name = dimension.describe();
    if name.contains(['·', '^']) || name.len() <= 3 {
        format!("a quantity in {name}")
    } else if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse;

    fn compile_with(filter: &str, units: &[(&str, &[&str])]) -> Result<Compiled, StoreError> {
        let expr = parse(filter)?;
        let mut lookup = |_: Source, name: &str| {
            Ok(units
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, u)| u.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default())
        };
        compile(&expr, &mut lookup)
    }

    fn message(result: Result<Compiled, StoreError>) -> (usize, String) {
        match result {
            Err(StoreError::Query { position, message }) => (position, message),
            other => panic!("expected a query error, got {other:?}"),
        }
    }

    #[test]
    fn the_query_value_is_converted_to_each_stored_unit() {
        let compiled = compile_with("d50 < 6 nm", &[("d50", &["nm", "µm", "Å"])]).unwrap();
        assert_eq!(compiled.condition.matches("x.unit = ").count(), 3);
        let reals: Vec<f64> = compiled
            .params
            .iter()
            .filter_map(|p| match p {
                Value::Real(v) => Some(*v),
                _ => None,
            })
            .collect();
        assert_eq!(reals.len(), 3);
        assert_eq!(reals[0], 6.0, "same unit: exact");
        assert!(
            (reals[1] - 0.006).abs() < 1e-10 && reals[1] < 0.006,
            "µm narrowed"
        );
        assert!(
            (reals[2] - 60.0).abs() < 1e-6 && reals[2] < 60.0,
            "Å narrowed"
        );
    }

    #[test]
    fn values_are_parameters_never_sql() {
        let compiled = compile_with(r#"name = "x'; DROP TABLE results; --""#, &[]).unwrap();
        assert!(
            !compiled.condition.contains("DROP"),
            "{}",
            compiled.condition
        );
        assert_eq!(
            compiled.params,
            vec![Value::Text("x'; DROP TABLE results; --".to_string())]
        );
    }

    #[test]
    fn wrong_dimensions_and_unknown_fields_are_named() {
        let d50: &[(&str, &[&str])] = &[("d50", &["nm"]), ("size_cv", &[""])];
        assert_eq!(
            message(compile_with("d50 < 6 K", d50)),
            (7, "d50 is a length (nm); `K` is a temperature".to_string())
        );
        assert_eq!(
            message(compile_with("d50 < 6", d50)).1,
            "d50 is a length (nm); give the value a unit, e.g. `6 nm`"
        );
        assert_eq!(
            message(compile_with("size_cv < 6 nm", d50)).1,
            "size_cv is dimensionless; `nm` is a length"
        );
        assert!(message(compile_with("d5 < 6 nm", d50))
            .1
            .contains("no result named `d5`"));
        assert_eq!(message(compile_with("foo.bar < 1", d50)).0, 1);
        assert!(message(compile_with("status < \"x\"", d50))
            .1
            .contains("is text"));
        assert!(message(compile_with("status = \"done\"", d50))
            .1
            .contains("planned"));
        assert!(message(compile_with("seq < 1.5", d50))
            .1
            .contains("whole number"));
        assert!(message(compile_with("d50 CONTAINS \"1\"", d50))
            .1
            .contains("is a number"));
        assert!(message(compile_with("lab_id = 3", d50))
            .1
            .contains("double quotes"));
    }
}
