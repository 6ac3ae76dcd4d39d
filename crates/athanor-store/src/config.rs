//! [`StoreConfig`]: which database a [`crate::Store`] uses.

use crate::error::{Result, StoreError};
use std::path::{Path, PathBuf};

/// The database engine behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An SQLite file in the data directory (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Where a store keeps its records and blobs; see [`crate::Store::open_with`].
///
/// Blobs are always files in `data_dir` (content-addressed, see the crate docs). Records go to
/// the SQLite file `data_dir/athanor.sqlite` unless `database_url` names a PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The data directory: blobs, and the SQLite database when no `database_url` is given.
    /// Created if missing.
    pub data_dir: PathBuf,
    /// `None` for SQLite; a `postgres://…` or `postgresql://…` URL (libpq style, e.g.
    /// `postgres://user:password@host:5432/dbname`) for PostgreSQL.
    pub database_url: Option<String>,
    /// PostgreSQL only: the schema to keep the tables in (created if missing), so that several
    /// labs can share one database. `None` uses the server's `search_path` (normally `public`).
    /// Must be a plain lower-case identifier.
    pub postgres_schema: Option<String>,
}

impl StoreConfig {
    /// SQLite in `data_dir` (what [`crate::Store::open`] uses).
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: None,
            postgres_schema: None,
        }
    }

    /// Records in the PostgreSQL database at `url`, blobs in `data_dir`.
    pub fn postgres(url: impl Into<String>, data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: Some(url.into()),
            postgres_schema: None,
        }
    }

    /// The same configuration with the tables in PostgreSQL schema `schema`.
    pub fn with_postgres_schema(mut self, schema: impl Into<String>) -> StoreConfig {
        self.postgres_schema = Some(schema.into());
        self
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Which engine this configuration selects. Fails for a URL of any other scheme, and for a
    /// PostgreSQL schema given without a PostgreSQL URL.
    pub fn backend_kind(&self) -> Result<BackendKind> {
        let kind = match self.database_url.as_deref() {
            None => BackendKind::Sqlite,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                BackendKind::Postgres
            }
            Some(url) => {
                let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
                return Err(StoreError::invalid(
                    "store configuration",
                    "database_url",
                    format!(
                        "unsupported database URL scheme '{scheme}' (expected postgres:// or \
                         postgresql://; leave the URL out for SQLite)"
                    ),
                ));
            }
        };
        if kind == BackendKind::Sqlite && self.postgres_schema.is_some() {
            return Err(StoreError::invalid(
                "store configuration",
                "postgres_schema",
                "a PostgreSQL schema was given but no PostgreSQL database_url",
            ));
        }
        Ok(kind)
    }
}
