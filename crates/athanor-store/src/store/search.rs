//! [`Store::search`] and its variants: experiments matching a filter (see [`crate::query`]).

use super::{load_experiments, query_rows, ExperimentRow, Store};
use crate::backend::{Tx, Value};
use crate::error::Result;
use crate::query::sql::{compile, Source};
use crate::records::{ExperimentRecord, SearchHit};

/// The experiment columns of [`ExperimentRow::from_row`], qualified for the search query (which
/// joins `campaigns`, whose `id` and `lab_id` would otherwise be ambiguous).
const QUALIFIED_EXPERIMENT_COLUMNS: &str = "e.id, e.lab_id, e.campaign_id, e.seq, e.status, \
     e.recipe_json, e.planner_note_json, e.failure, e.planned_at, e.completed_at";

impl Store {
    /// All experiments matching `filter`, in campaign order then seq order, each with
    /// everything recorded about it (like [`Store::experiments`]).
    ///
    /// The filter language (a subset of OPTIMADE's, with units) is described in
    /// [`crate::query`]:
    ///
    /// ```
    /// # use athanor_store::{Store, StoreError};
    /// # fn main() -> Result<(), StoreError> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// assert!(store.search(r#"status = "completed" AND seq <= 10"#)?.is_empty());
    /// let error = store.search("seq <").unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid filter: position 6: expected a value after '<' (a number with an \
    ///      optional unit, or a quoted string), found the end of the filter"
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// Fails with [`crate::StoreError::Query`] (position and problem) for a filter that does
    /// not parse, names a field that does not exist, or compares a field with a value of the
    /// wrong kind or dimension. Everything is read from one consistent snapshot.
    pub fn search(&self, filter: &str) -> Result<Vec<ExperimentRecord>> {
        self.search_records(filter, None)
    }

    /// Like [`Store::search`], but at most `limit` experiments (the first in campaign and seq
    /// order).
    pub fn search_limit(&self, filter: &str, limit: usize) -> Result<Vec<ExperimentRecord>> {
        self.search_records(filter, Some(limit))
    }

    /// The ids of the experiments matching `filter` (at most `limit` when given), in campaign
    /// then seq order, without loading their records: one query, however many match.
    pub fn search_hits(&self, filter: &str, limit: Option<usize>) -> Result<Vec<SearchHit>> {
        let expr = crate::query::parse(filter)?;
        self.backend.read(|tx| {
            let (sql, params) = search_sql(tx, &expr, "e.id, e.lab_id", limit)?;
            query_rows(tx, &sql, &params, "search experiments", |row| {
                Ok(SearchHit {
                    id: row.text(0)?,
                    lab_id: row.text(1)?,
                })
            })
        })
    }

    fn search_records(&self, filter: &str, limit: Option<usize>) -> Result<Vec<ExperimentRecord>> {
        let expr = crate::query::parse(filter)?;
        self.backend.read(|tx| {
            let (sql, params) = search_sql(tx, &expr, QUALIFIED_EXPERIMENT_COLUMNS, limit)?;
            let rows = query_rows(
                tx,
                &sql,
                &params,
                "search experiments",
                ExperimentRow::from_row,
            )?;
            load_experiments(tx, rows)
        })
    }
}

/// The search query for `expr`, selecting `columns`: looks up the stored units of the
/// properties it compares (in the same snapshot) and compiles the filter.
fn search_sql(
    tx: &mut dyn Tx,
    expr: &crate::query::Expr,
    columns: &str,
    limit: Option<usize>,
) -> Result<(String, Vec<Value>)> {
    let mut lookup = |source: Source, name: &str| stored_units(tx, source, name);
    let compiled = compile(expr, &mut lookup)?;
    let mut params = compiled.params;
    let limit_clause = match limit {
        Some(limit) => {
            params.push(Value::from(limit));
            format!(" LIMIT ?{}", params.len())
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT {columns} FROM experiments e JOIN campaigns c ON c.id = e.campaign_id \
         WHERE {} ORDER BY c.lab_number, e.seq{limit_clause}",
        compiled.condition
    );
    Ok((sql, params))
}

/// The distinct units property `name` is stored in, sorted. A loose index scan (jump from one
/// unit to the next in the `(name, unit, value)` index) rather than `SELECT DISTINCT`, which
/// would read every row of the property: a handful of index probes even for a million results.
fn stored_units(tx: &mut dyn Tx, source: Source, name: &str) -> Result<Vec<String>> {
    let table = source.table();
    query_rows(
        tx,
        &format!(
            "WITH RECURSIVE units (unit) AS (\
               SELECT MIN(unit) FROM {table} WHERE name = ?1 \
               UNION ALL \
               SELECT (SELECT MIN(t.unit) FROM {table} t WHERE t.name = ?1 AND t.unit > units.unit) \
               FROM units WHERE units.unit IS NOT NULL\
             ) SELECT unit FROM units WHERE unit IS NOT NULL"
        ),
        &[Value::from(name)],
        &format!("look up the units of {name}"),
        |row| row.text(0),
    )
}
