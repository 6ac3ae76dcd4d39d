//! The PostgreSQL backend (the synchronous `postgres` crate; no async runtime in the API).
//!
//! Records live in one PostgreSQL database, optionally in a named schema of it (so that several
//! labs, or many tests, can share a database). Blobs stay in the local data directory.
//!
//! Concurrency: every write transaction first takes a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`) whose key is derived from the schema name, so writers of one store
//! run one after another, as with SQLite's `BEGIN IMMEDIATE`: reading `MAX(lab_number)` and
//! inserting the next one cannot interleave with another writer, and no transaction ever needs
//! to be retried. Reads run in `REPEATABLE READ READ ONLY` transactions (one snapshot).

use super::{DbError, Row, Tx, Value};
use crate::error::{db, Result, StoreError};
use crate::schema;
use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls, Statement};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

/// How many prepared statements one connection keeps. The store's fixed SQL is a few dozen
/// statements; search and lineage build their SQL per filter, so the cache is bounded (and
/// emptied when full) instead of growing with every distinct filter.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// Bulk inserts of at least this many rows stream with `COPY … FROM STDIN (FORMAT binary)`:
/// rows go to the server as one stream, without a statement to parse and plan; below it a
/// multi-row `INSERT` (COPY's extra round trip to start the stream is not worth it).
const MIN_ROWS_FOR_COPY: usize = 16;

/// A connection and the statements prepared on it, keyed by their SQL text.
///
/// Without the cache every `execute` parsed and planned its statement again, one extra round
/// trip per row written. Prepared statements belong to the server session and survive
/// transaction rollbacks; they die with the connection, so a reconnect starts an empty cache.
struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// An open PostgreSQL store; its methods serialise on one connection.
pub(crate) struct PostgresBackend {
    config: Config,
    schema: Option<String>,
    description: String,
    lock_key: i64,
    connection: Mutex<Connection>,
}

impl PostgresBackend {
    /// Connects, creates the schema if one is named and missing, and applies any pending
    /// migrations.
    pub(crate) fn connect(url: &str, schema: Option<&str>) -> Result<PostgresBackend> {
        let config = Config::from_str(url).map_err(|e| {
            StoreError::invalid(
                "store configuration",
                "database_url",
                format!("not a valid PostgreSQL URL: {e}"),
            )
        })?;
        if let Some(schema) = schema {
            check_schema_name(schema)?;
        }
        let mut description = describe(&config);
        if let Some(schema) = schema {
            description.push_str(&format!(" (schema {schema})"));
        }
        let lock_key = advisory_lock_key(schema.unwrap_or("public"));
        let mut client = open_client(&config, schema, lock_key, &description)?;
        schema::migrate_postgres(&mut client, &description, lock_key)?;
        Ok(PostgresBackend {
            config,
            schema: schema.map(str::to_string),
            description,
            lock_key,
            connection: Mutex::new(Connection {
                client,
                statements: HashMap::new(),
            }),
        })
    }

    /// The server and database (never the password), and the schema.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// The connection, re-established if the server closed it (a restart, an idle timeout):
    /// a long-running campaign should not die with the first dropped connection.
    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        // A panic while the lock was held dropped its transaction, which rolls back.
        let mut connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if connection.client.is_closed() {
            // The old session's prepared statements are gone with it.
            connection.statements.clear();
            connection.client = open_client(
                &self.config,
                self.schema.as_deref(),
                self.lock_key,
                &self.description,
            )?;
        }
        Ok(connection)
    }

    pub(crate) fn write<T>(
        &self,
        what: &str,
        work: impl FnOnce(&mut dyn Tx) -> Result<T>,
    ) -> Result<T> {
        let mut connection = self.lock()?;
        let Connection { client, statements } = &mut *connection;
        let mut tx = client
            .transaction()
            .map_err(db(format!("begin a transaction to {what}")))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&self.lock_key])
            .map_err(db(format!("take the store's write lock to {what}")))?;
        let value = work(&mut PgTx {
            client: &mut tx,
            statements,
        })?;
        tx.commit()
            .map_err(db(format!("commit the transaction to {what}")))?;
        Ok(value)
    }

    pub(crate) fn read<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut connection = self.lock()?;
        let Connection { client, statements } = &mut *connection;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db("begin a read transaction"))?;
        let value = work(&mut PgTx {
            client: &mut tx,
            statements,
        })?;
        tx.commit().map_err(db("end a read transaction"))?;
        Ok(value)
    }

    pub(crate) fn autocommit<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut connection = self.lock()?;
        let Connection { client, statements } = &mut *connection;
        work(&mut PgTx { client, statements })
    }

    pub(crate) fn schema_version(&self) -> Result<u32> {
        schema::postgres_schema_version(&mut self.lock()?.client)
    }
}

fn open_client(
    config: &Config,
    schema: Option<&str>,
    lock_key: i64,
    description: &str,
) -> Result<Client> {
    let mut client = config
        .connect(NoTls)
        .map_err(db(format!("connect to {description}")))?;
    if let Some(schema) = schema {
        // Concurrent `CREATE SCHEMA IF NOT EXISTS` can still collide on the catalog's unique
        // index, so creators take the store's lock first.
        let mut tx = client
            .transaction()
            .map_err(db("begin a transaction to create the schema"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key])
            .map_err(db("take the store's lock to create the schema"))?;
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .map_err(db(format!("create schema {schema}")))?;
        tx.commit()
            .map_err(db(format!("commit the creation of schema {schema}")))?;
        client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .map_err(db(format!("select schema {schema}")))?;
    }
    Ok(client)
}

/// Schema names are put into SQL text (identifiers cannot be parameters), so only plain
/// lower-case identifiers are accepted.
fn check_schema_name(schema: &str) -> Result<()> {
    let mut chars = schema.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let valid_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !(valid_start && valid_rest && schema.len() <= 63) {
        return Err(StoreError::invalid(
            "store configuration",
            "postgres_schema",
            format!(
                "'{schema}' is not a plain identifier (lower-case letters, digits and '_', \
                 not starting with a digit, at most 63 characters)"
            ),
        ));
    }
    Ok(())
}

/// `postgres://user@host:port/dbname`, without the password, for messages.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let name = match host {
                postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(index).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

/// The advisory-lock key of a store: FNV-1a (64-bit) of the schema name, so that stores in
/// different schemas of one database do not wait for each other (a collision would only
/// serialise two stores' writes, never break them).
fn advisory_lock_key(schema: &str) -> i64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = format!("athanor-store:{schema}")
        .bytes()
        .fold(FNV_OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
        });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Rewrites SQLite's numbered placeholders (`?1`) to PostgreSQL's (`$1`). The store's SQL has no
/// `?` anywhere else (no string literals containing one).
pub(crate) fn to_postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// The shared code's view of a PostgreSQL client or transaction, with the connection's
/// statement cache.
struct PgTx<'c, C: GenericClient> {
    client: &'c mut C,
    statements: &'c mut HashMap<String, Statement>,
}

impl<C: GenericClient> PgTx<'_, C> {
    /// The prepared statement for `sql` (SQLite placeholders), preparing it on first use.
    fn statement(&mut self, sql: &str) -> std::result::Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&to_postgres_placeholders(sql))?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    fn run_query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> std::result::Result<Vec<postgres::Row>, DbError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.client.query(&statement, &refs)?)
    }
}

impl<C: GenericClient> Tx for PgTx<'_, C> {
    fn kind(&self) -> crate::BackendKind {
        crate::BackendKind::Postgres
    }

    fn expect_appends_only(&mut self) -> std::result::Result<(), DbError> {
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> std::result::Result<u64, DbError> {
        let statement = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        Ok(self.client.execute(&statement, &refs)?)
    }

    fn insert_rows(
        &mut self,
        table: &str,
        columns: &[&str],
        values: &[Value],
    ) -> std::result::Result<u64, DbError> {
        let width = super::row_width(table, columns, values)?;
        if values.len() / width < MIN_ROWS_FOR_COPY {
            return super::insert_rows_multi_row(self, table, columns, values);
        }
        // The column types, from a statement that selects the columns (prepared once): the
        // binary COPY format sends each value in its column's own encoding.
        let column_list = columns.join(", ");
        let types: Vec<Type> = self
            .statement(&format!("SELECT {column_list} FROM {table} LIMIT 0"))?
            .columns()
            .iter()
            .map(|column| column.type_().clone())
            .collect();
        let writer = self.client.copy_in(&format!(
            "COPY {table} ({column_list}) FROM STDIN (FORMAT binary)"
        ))?;
        let mut writer = BinaryCopyInWriter::new(writer, &types);
        for row in values.chunks_exact(width) {
            writer.write_raw(row.iter())?;
        }
        Ok(writer.finish()?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> std::result::Result<Vec<Row>, DbError> {
        self.run_query(sql, params)?
            .iter()
            .map(convert_row)
            .collect()
    }
}

fn convert_row(row: &postgres::Row) -> std::result::Result<Row, DbError> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let ty = column.type_();
            let value = if *ty == Type::INT8 {
                row.try_get::<_, Option<i64>>(index)?
                    .map_or(Value::Null, Value::Integer)
            } else if *ty == Type::INT4 {
                row.try_get::<_, Option<i32>>(index)?
                    .map_or(Value::Null, |n| Value::Integer(n.into()))
            } else if *ty == Type::INT2 {
                row.try_get::<_, Option<i16>>(index)?
                    .map_or(Value::Null, |n| Value::Integer(n.into()))
            } else if *ty == Type::BOOL {
                row.try_get::<_, Option<bool>>(index)?
                    .map_or(Value::Null, |b| Value::Integer(b.into()))
            } else if *ty == Type::FLOAT8 {
                row.try_get::<_, Option<f64>>(index)?
                    .map_or(Value::Null, Value::Real)
            } else if *ty == Type::FLOAT4 {
                row.try_get::<_, Option<f32>>(index)?
                    .map_or(Value::Null, |n| Value::Real(n.into()))
            } else if *ty == Type::TEXT
                || *ty == Type::VARCHAR
                || *ty == Type::BPCHAR
                || *ty == Type::NAME
            {
                row.try_get::<_, Option<String>>(index)?
                    .map_or(Value::Null, Value::Text)
            } else {
                return Err(DbError::from(format!(
                    "column {} has type {ty}, which the store does not use",
                    column.name()
                )));
            };
            Ok(value)
        })
        .collect::<std::result::Result<Vec<Value>, DbError>>()
        .map(Row)
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(number) => {
                if *ty == Type::INT8 {
                    number.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*number)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*number)?.to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    // Only whole numbers below 2^53 are bound this way (positions, sizes).
                    (*number as f64).to_sql(ty, out)
                } else {
                    Err(format!("cannot bind an integer to a parameter of type {ty}").into())
                }
            }
            Value::Real(number) => {
                if *ty == Type::FLOAT8 {
                    number.to_sql(ty, out)
                } else {
                    Err(format!("cannot bind a float to a parameter of type {ty}").into())
                }
            }
            Value::Text(text) => text.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which knows the variant.
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten() {
        assert_eq!(
            to_postgres_placeholders("SELECT a FROM t WHERE id = ?1 OR lab_id = ?1 AND x = ?12"),
            "SELECT a FROM t WHERE id = $1 OR lab_id = $1 AND x = $12"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(check_schema_name("lab_a1").is_ok());
        assert!(check_schema_name("_x").is_ok());
        for bad in ["", "1abc", "Lab", "a-b", "a\"b", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_described_without_the_password() {
        let config = Config::from_str("postgres://alice:secret@db.example:5433/lab").unwrap();
        let description = describe(&config);
        assert_eq!(description, "postgres://alice@db.example:5433/lab");
        assert_ne!(advisory_lock_key("a"), advisory_lock_key("b"));
    }
}
