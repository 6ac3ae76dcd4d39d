//! The SQLite backend: one file in the data directory, WAL mode, `synchronous = FULL`.

use super::{DbError, Row, Tx, Value};
use crate::error::{db, Result, StoreError};
use crate::schema;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a writer waits for another process's write transaction before giving up. Writes are
/// short (milliseconds), so waiting this long only happens when something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The page cache of a connection, as SQLite's negative `cache_size` (KiB): 64 MiB at most,
/// allocated as pages are used.
const CACHE_SIZE_KIB: i64 = -65_536;

/// The page cache while a bulk write appends with its value indexes deferred (see
/// `store/deferred_indexes.rs`), as a negative `cache_size` (KiB): 8 MiB. Such a write only
/// touches the right edges of its B-trees, so a large cache holds nothing it will read again,
/// and keeping one costs time: a million-experiment ingest ran at about 19 500/s with 64 MiB,
/// 22 400–22 700/s with 4–16 MiB and 16 000/s with 256 MiB. Set by
/// [`Tx::expect_appends_only`]; [`SqliteBackend::write`] puts [`CACHE_SIZE_KIB`] back when
/// that transaction ends, whichever way it ends.
const BULK_APPEND_CACHE_SIZE_KIB: i64 = -8_192;

/// Page size of new databases, bytes.
const PAGE_SIZE: i64 = 16_384;

/// Extra threads SQLite may use for one large sort (an index rebuild); see `PRAGMA threads`.
const SORTER_THREADS: i64 = 2;

/// An open SQLite database; its methods serialise on one connection.
pub(crate) struct SqliteBackend {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteBackend {
    /// Opens (creating if needed) the database file, configures the connection and applies any
    /// pending migrations.
    pub(crate) fn open(path: &Path) -> Result<SqliteBackend> {
        let mut conn = Connection::open(path).map_err(db(format!("open {}", path.display())))?;
        configure(&conn)?;
        schema::migrate_sqlite(&mut conn, path)?;
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction (rolled back), so the
        // connection is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `BEGIN IMMEDIATE`: takes the write lock up front. A deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY without waiting when another process wrote in
    /// between; an immediate one waits its turn (busy timeout) instead.
    pub(crate) fn write<T>(
        &self,
        what: &str,
        work: impl FnOnce(&mut dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(format!("begin a transaction to {what}")))?;
        let mut sqlite_tx = SqliteTx::new(&tx);
        let value = work(&mut sqlite_tx);
        let cache_shrunk = sqlite_tx.cache_shrunk;
        let value = value.and_then(|value| {
            tx.commit()
                .map_err(db(format!("commit the transaction to {what}")))?;
            Ok(value)
        });
        // The transaction's own error, if any, is the one worth reporting.
        let restored = if cache_shrunk {
            conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)
                .map_err(db("restore the page cache size"))
        } else {
            Ok(())
        };
        let value = value?;
        restored?;
        Ok(value)
    }

    pub(crate) fn read<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        // A deferred transaction that only reads: one snapshot of the WAL.
        let tx = conn.transaction().map_err(db("begin a read transaction"))?;
        let value = work(&mut SqliteTx::new(&tx))?;
        tx.commit().map_err(db("end a read transaction"))?;
        Ok(value)
    }

    pub(crate) fn autocommit<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        work(&mut SqliteTx::new(&conn))
    }

    pub(crate) fn schema_version(&self) -> Result<u32> {
        schema::sqlite_schema_version(&self.lock())
    }

    pub(crate) fn engine_problems(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut tx = SqliteTx::new(&conn);
        let mut problems = Vec::new();
        let messages: Vec<String> = tx
            .query("PRAGMA integrity_check", &[])
            .and_then(|rows| rows.iter().map(|row| row.text(0)).collect())
            .map_err(crate::error::db_boxed("run the SQLite integrity check"))?;
        if messages != ["ok"] {
            problems.extend(
                messages
                    .into_iter()
                    .map(|m| format!("SQLite integrity check: {m}")),
            );
        }
        let dangling = tx
            .query("PRAGMA foreign_key_check", &[])
            .and_then(|rows| {
                rows.iter()
                    .map(|row| {
                        Ok(format!(
                            "table {} row {} refers to a missing row of {}",
                            row.text(0)?,
                            row.int(1).unwrap_or(-1),
                            row.text(2)?
                        ))
                    })
                    .collect::<std::result::Result<Vec<_>, DbError>>()
            })
            .map_err(crate::error::db_boxed("run the SQLite foreign key check"))?;
        problems.extend(dangling);
        Ok(problems)
    }
}

/// The shared code's view of an SQLite connection or transaction (a `Transaction` derefs to its
/// `Connection`).
struct SqliteTx<'c> {
    conn: &'c Connection,
    /// Whether [`Tx::expect_appends_only`] shrank the page cache (the write restores it).
    cache_shrunk: bool,
}

impl<'c> SqliteTx<'c> {
    fn new(conn: &'c Connection) -> SqliteTx<'c> {
        SqliteTx {
            conn,
            cache_shrunk: false,
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn kind(&self) -> crate::BackendKind {
        crate::BackendKind::Sqlite
    }

    fn expect_appends_only(&mut self) -> std::result::Result<(), DbError> {
        self.conn
            .pragma_update(None, "cache_size", BULK_APPEND_CACHE_SIZE_KIB)?;
        self.cache_shrunk = true;
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> std::result::Result<u64, DbError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let changed = statement.execute(rusqlite::params_from_iter(params.iter()))?;
        Ok(changed as u64)
    }

    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        values: &[Value],
    ) -> std::result::Result<u64, DbError> {
        let width = super::row_width(table, columns, values)?;
        // One single-row statement, prepared once and stepped per row: in-process there is no
        // round trip to save, and unlike a multi-row INSERT (which may fail after writing some
        // of its rows) a single-row INSERT checks every constraint before it writes, so SQLite
        // needs no statement journal copying each page it touches.
        let mut statement = self
            .conn
            .prepare_cached(&super::multi_row_insert_sql(table, columns, 1))?;
        let mut inserted = 0;
        for row in values.chunks_exact(width) {
            for (index, value) in row.iter().enumerate() {
                statement.raw_bind_parameter(index + 1, value)?;
            }
            inserted += statement.raw_execute()? as u64;
        }
        Ok(inserted)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> std::result::Result<Vec<Row>, DbError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let columns = statement.column_count();
        let mut rows = statement.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns)
                .map(|index| {
                    Ok(match row.get_ref(index)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(number) => Value::Integer(number),
                        ValueRef::Real(number) => Value::Real(number),
                        ValueRef::Text(bytes) => Value::Text(String::from_utf8(bytes.to_vec())?),
                        ValueRef::Blob(_) => {
                            return Err(DbError::from(format!(
                                "column {index} holds a BLOB; the store never writes one"
                            )))
                        }
                    })
                })
                .collect::<std::result::Result<Vec<Value>, DbError>>()?;
            out.push(Row(values));
        }
        Ok(out)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(number) => ValueRef::Integer(*number),
            Value::Real(number) => ValueRef::Real(*number),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
        }))
    }
}

fn configure(conn: &Connection) -> Result<()> {
    // First, so that switching the journal mode waits for other processes too.
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(db("set the busy timeout"))?;
    // Only a new, empty database takes a page size (before WAL mode is set); an existing one
    // keeps its own. 16 KiB pages make a bulk write of a million experiments 30 % faster than
    // SQLite's default 4 KiB (fewer page splits, WAL frames and cache lookups per row), and
    // searches no slower.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(db("set the page size of a new database"))?;
    let mode = switch_to_wal(conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::database(
            "switch to WAL journal mode",
            std::io::Error::other(format!("SQLite kept journal mode '{mode}'")),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db("set synchronous = FULL"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(db("enable foreign keys"))?;
    // A bulk transaction touches many index pages (results and recipe values are indexed by
    // value, so inserts land all over those indexes). With SQLite's default 2 MiB page cache
    // the pages spill to the WAL mid-transaction and are read back again; a larger cache
    // (allocated only as it fills) keeps a transaction's working set in memory.
    conn.pragma_update(None, "cache_size", CACHE_SIZE_KIB)
        .map_err(db("set the page cache size"))?;
    // Temporary files (statement journals past 64 KiB, sorter spills) stay files, SQLite's
    // default: rebuilding a value index after a large bulk write sorts hundreds of MB, which
    // in memory would be the process's peak. Sorts of that size may use a second thread.
    conn.pragma_update(None, "temp_store", "FILE")
        .map_err(db("keep temporary data in files"))?;
    conn.pragma_update(None, "threads", SORTER_THREADS)
        .map_err(db("allow sorter threads"))?;
    let foreign_keys: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(db("check that foreign keys are enforced"))?;
    if !foreign_keys {
        return Err(StoreError::database(
            "enable foreign keys",
            std::io::Error::other("this SQLite build does not enforce foreign keys"),
        ));
    }
    Ok(())
}

/// Puts the database in WAL mode (persistent, so usually already set). When several processes
/// open a new database at once, SQLite can answer SQLITE_BUSY to the switch without consulting
/// the busy handler, so BUSY is retried here until the busy timeout has passed.
fn switch_to_wal(conn: &Connection) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        let attempt = conn
            .pragma_query_value(None, "journal_mode", |row| row.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                }
            });
        match attempt {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other.map_err(db("switch to WAL journal mode")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_size(backend: &SqliteBackend) -> i64 {
        backend
            .lock()
            .pragma_query_value(None, "cache_size", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_bulk_write_gets_the_page_cache_back_however_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let backend = SqliteBackend::open(&dir.path().join("store.sqlite")).unwrap();
        assert_eq!(cache_size(&backend), CACHE_SIZE_KIB);
        let shrink = |tx: &mut dyn Tx| {
            tx.expect_appends_only().unwrap();
            let during = tx.query("PRAGMA cache_size", &[]).unwrap()[0]
                .int(0)
                .unwrap();
            assert_eq!(during, BULK_APPEND_CACHE_SIZE_KIB);
        };
        backend
            .write("shrink and commit", |tx| {
                shrink(tx);
                Ok(())
            })
            .unwrap();
        assert_eq!(cache_size(&backend), CACHE_SIZE_KIB);
        let failed: Result<()> = backend.write("shrink and fail", |tx| {
            shrink(tx);
            Err(StoreError::invalid("test", "field", "refused on purpose"))
        });
        assert!(failed.is_err());
        assert_eq!(cache_size(&backend), CACHE_SIZE_KIB);
    }
}
