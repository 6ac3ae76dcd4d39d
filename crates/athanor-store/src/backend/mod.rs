//! The database behind a [`crate::Store`]: SQLite or PostgreSQL.
//!
//! Everything that is not SQL (validation, building records, blobs) lives in `store.rs` and is
//! shared. It talks to the database only through [`Tx`]: run a statement, run a query, with
//! parameters and columns as backend-neutral [`Value`]s. SQL is written once, in SQLite's
//! numbered-parameter style (`?1`, `?2`, …) and in the common subset of both dialects
//! (`INSERT … ON CONFLICT DO NOTHING`, `COALESCE`, `EXISTS`); the PostgreSQL backend rewrites the
//! placeholders to `$1`, `$2`, …. Only the schema (column types), transaction start (locking)
//! and the engine's own integrity checks differ per backend.

mod postgres;
mod sqlite;

pub(crate) use self::postgres::PostgresBackend;
pub(crate) use self::sqlite::SqliteBackend;

use crate::error::Result;

/// A backend's error, boxed so that the shared code needs no backend types.
pub(crate) type DbError = Box<dyn std::error::Error + Send + Sync>;

/// A parameter or column value: the four storage classes both databases share.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL NULL.
    Null,
    /// A signed 64-bit integer (`INTEGER` in SQLite, `BIGINT` in PostgreSQL).
    Integer(i64),
    /// A 64-bit float (`REAL` / `DOUBLE PRECISION`).
    Real(f64),
    /// UTF-8 text.
    Text(String),
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::Text(text.to_string())
    }
}

impl From<&String> for Value {
    fn from(text: &String) -> Value {
        Value::Text(text.clone())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Value {
        Value::Integer(number)
    }
}

impl From<u32> for Value {
    fn from(number: u32) -> Value {
        Value::Integer(i64::from(number))
    }
}

impl From<usize> for Value {
    /// List positions and sizes; anything the store writes is far below `i64::MAX`, and the
    /// saturation keeps this conversion total.
    fn from(number: usize) -> Value {
        Value::Integer(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<u64> for Value {
    /// Blob sizes (well below `i64::MAX` for any file a disk holds); saturates, like `usize`.
    fn from(number: u64) -> Value {
        Value::Integer(i64::try_from(number).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(number: f64) -> Value {
        Value::Real(number)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

/// Builds a `&[Value]` parameter list: `params![id, seq, None::<String>]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::backend::Value::from($value)),*][..]
    };
}
pub(crate) use params;

/// One result row.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    fn value(&self, index: usize) -> std::result::Result<&Value, DbError> {
        self.0
            .get(index)
            .ok_or_else(|| format!("the query returned no column {index}").into())
    }

    fn mismatch(&self, index: usize, expected: &str) -> DbError {
        format!(
            "column {index} holds {:?}, expected {expected}",
            self.0.get(index)
        )
        .into()
    }

    /// A non-null text column.
    pub(crate) fn text(&self, index: usize) -> std::result::Result<String, DbError> {
        match self.value(index)? {
            Value::Text(text) => Ok(text.clone()),
            _ => Err(self.mismatch(index, "text")),
        }
    }

    /// A nullable text column.
    pub(crate) fn opt_text(&self, index: usize) -> std::result::Result<Option<String>, DbError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// A non-null integer column.
    pub(crate) fn int(&self, index: usize) -> std::result::Result<i64, DbError> {
        match self.value(index)? {
            Value::Integer(number) => Ok(*number),
            _ => Err(self.mismatch(index, "an integer")),
        }
    }

    /// A non-null integer column that must fit a `u32` (seqs, step indices, budgets).
    pub(crate) fn u32(&self, index: usize) -> std::result::Result<u32, DbError> {
        let number = self.int(index)?;
        u32::try_from(number).map_err(|_| format!("column {index}: {number} is not a u32").into())
    }

    /// A nullable integer column that must fit a `u64` (blob sizes).
    pub(crate) fn opt_u64(&self, index: usize) -> std::result::Result<Option<u64>, DbError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            _ => {
                let number = self.int(index)?;
                u64::try_from(number)
                    .map(Some)
                    .map_err(|_| format!("column {index}: {number} is negative").into())
            }
        }
    }

    /// A non-null float column (an integer, which SQLite may hand back for a whole number
    /// stored in a REAL column, is converted).
    pub(crate) fn real(&self, index: usize) -> std::result::Result<f64, DbError> {
        match self.value(index)? {
            Value::Real(number) => Ok(*number),
            // Exact for the whole numbers SQLite stores this way (|n| < 2^53).
            Value::Integer(number) => Ok(*number as f64),
            _ => Err(self.mismatch(index, "a number")),
        }
    }

    /// A nullable float column.
    pub(crate) fn opt_real(&self, index: usize) -> std::result::Result<Option<f64>, DbError> {
        match self.value(index)? {
            Value::Null => Ok(None),
            _ => self.real(index).map(Some),
        }
    }
}

/// What the shared code may do inside a transaction (or, for single statements, on the bare
/// connection).
pub(crate) trait Tx {
    /// Which database this is, for the few statements whose SQL differs (catalog queries).
    fn kind(&self) -> crate::BackendKind;
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> std::result::Result<u64, DbError>;
    /// Runs a query and returns all its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> std::result::Result<Vec<Row>, DbError>;
    /// Inserts rows (`values`: whole rows of `columns`, one after another, as checked by
    /// [`row_width`]) into `table`; returns the number of rows inserted. The bulk write path:
    /// SQLite runs one cached single-row statement per row (no parsing, and no statement
    /// journal, which a multi-row `INSERT` needs); PostgreSQL streams the rows with `COPY`
    /// (one round trip, no planning).
    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        values: &[Value],
    ) -> std::result::Result<u64, DbError>;
    /// Declares that the rest of this write transaction only appends at the right edges of
    /// its B-trees (a bulk write whose value indexes are deferred). SQLite then keeps a small
    /// page cache until the transaction ends, since a large one only costs time there;
    /// PostgreSQL's buffer pool belongs to the server, so nothing changes.
    fn expect_appends_only(&mut self) -> std::result::Result<(), DbError>;
}

/// The most parameters one multi-row `INSERT` binds: below SQLite's limit (32 766 since 3.32)
/// and PostgreSQL's (65 535), and large enough that a statement carries hundreds of rows.
const MAX_PARAMETERS_PER_INSERT: usize = 16_000;

/// Inserts many rows into `table`, each backend in its fastest way (see [`Tx::insert_rows`]).
/// `values` holds the rows one after another, `columns.len()` values each. Returns the number
/// of rows inserted.
pub(crate) fn insert_rows(
    tx: &mut dyn Tx,
    table: &str,
    columns: &[&str],
    values: &[Value],
) -> std::result::Result<u64, DbError> {
    row_width(table, columns, values)?;
    tx.insert_rows(table, columns, values)
}

/// The number of columns per row, after checking that `values` makes whole rows.
pub(crate) fn row_width(
    table: &str,
    columns: &[&str],
    values: &[Value],
) -> std::result::Result<usize, DbError> {
    let width = columns.len();
    if width == 0 || !values.len().is_multiple_of(width) {
        return Err(format!(
            "{} values do not make whole rows of the {width} columns of {table}",
            values.len()
        )
        .into());
    }
    Ok(width)
}

/// `INSERT INTO table (a, b) VALUES (?1, ?2), (?3, ?4), …` for `rows` rows.
pub(crate) fn multi_row_insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let width = columns.len();
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut number = 1;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('?');
            sql.push_str(&number.to_string());
            number += 1;
        }
        sql.push(')');
    }
    sql
}

/// Inserts rows with multi-row `INSERT … VALUES (…), (…), …` statements: one statement (one
/// round trip on PostgreSQL) per up to [`MAX_PARAMETERS_PER_INSERT`] values instead of one
/// per row. Full chunks share one SQL text, so the statement caches prepare each shape once.
pub(crate) fn insert_rows_multi_row(
    tx: &mut dyn Tx,
    table: &str,
    columns: &[&str],
    values: &[Value],
) -> std::result::Result<u64, DbError> {
    let width = row_width(table, columns, values)?;
    let rows_per_statement = (MAX_PARAMETERS_PER_INSERT / width).max(1);
    let mut inserted = 0;
    for chunk in values.chunks(rows_per_statement * width) {
        let sql = multi_row_insert_sql(table, columns, chunk.len() / width);
        inserted += tx.execute(&sql, chunk)?;
    }
    Ok(inserted)
}

/// The database of an open store.
pub(crate) enum Backend {
    /// An SQLite file in the data directory.
    Sqlite(SqliteBackend),
    /// A PostgreSQL database (or schema in one); boxed because its connection configuration
    /// is large.
    Postgres(Box<PostgresBackend>),
}

impl Backend {
    /// Runs `work` in a write transaction that excludes every other writer of the same store
    /// from its first statement to its commit (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
    /// transaction-scoped advisory lock). Commits when `work` returns `Ok`, rolls back
    /// otherwise.
    pub(crate) fn write<T>(
        &self,
        what: &str,
        work: impl FnOnce(&mut dyn Tx) -> Result<T>,
    ) -> Result<T> {
        match self {
            Backend::Sqlite(backend) => backend.write(what, work),
            Backend::Postgres(backend) => backend.write(what, work),
        }
    }

    /// Runs `work` in a read-only transaction: one consistent snapshot, even while other
    /// connections write.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            Backend::Sqlite(backend) => backend.read(work),
            Backend::Postgres(backend) => backend.read(work),
        }
    }

    /// Runs `work` on the bare connection: each statement commits on its own. For single
    /// statements that need no isolation.
    pub(crate) fn autocommit<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        match self {
            Backend::Sqlite(backend) => backend.autocommit(work),
            Backend::Postgres(backend) => backend.autocommit(work),
        }
    }

    /// The number of schema migrations applied to the database.
    pub(crate) fn schema_version(&self) -> Result<u32> {
        match self {
            Backend::Sqlite(backend) => backend.schema_version(),
            Backend::Postgres(backend) => backend.schema_version(),
        }
    }

    /// Problems found by the database engine's own consistency checks (SQLite's
    /// `integrity_check` and `foreign_key_check`; PostgreSQL enforces foreign keys on every
    /// write and has no cheap whole-database check, so none there).
    pub(crate) fn engine_problems(&self) -> Result<Vec<String>> {
        match self {
            Backend::Sqlite(backend) => backend.engine_problems(),
            Backend::Postgres(_) => Ok(Vec::new()),
        }
    }

    /// Where the records live: the SQLite file, or the PostgreSQL URL (password removed) with
    /// the schema, for messages and summaries.
    pub(crate) fn location(&self) -> std::path::PathBuf {
        match self {
            Backend::Sqlite(backend) => backend.path().to_path_buf(),
            Backend::Postgres(backend) => std::path::PathBuf::from(backend.description()),
        }
    }
}
