//! [`StoreConfig`]: which database a [`crate::Store`] uses.

use crate::error::{Result, StoreError};
use std::path::{Path, PathBuf};

/// The environment variable that [`StoreConfig::with_object_store_from_env`] reads: the URL of
/// the object store for blobs (see [`StoreConfig::object_store_url`]).
pub const OBJECT_STORE_URL_ENV: &str = "ATHANOR_OBJECT_STORE_URL";

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
    /// `None` keeps blobs in `data_dir/blobs/sha256` (the default); otherwise the object store
    /// that holds them: `s3://BUCKET[/PREFIX][?endpoint=…&region=…]` (credentials from the
    /// standard `AWS_*` environment variables or the query) or `memory://` (tests). See
    /// [`StoreConfig::with_object_store`].
    pub object_store_url: Option<String>,
    /// Large bulk writes ([`crate::Store::ingest_experiments`], [`crate::Store::import_records`]):
    /// after this many experiments, if they are also at least a quarter of what the store held
    /// before, the value indexes of results and recipe values are dropped and built again
    /// (sorted, in one pass) just before the commit, in the same transaction. `None` never
    /// defers them. Default [`DEFAULT_INDEX_DEFERRAL_AFTER`].
    ///
    /// The stored rows and indexes are the same either way; a rolled-back write leaves the
    /// indexes as they were. Readers are unaffected on SQLite (they see the last commit, with
    /// its indexes); on PostgreSQL, dropping an index locks its table, so queries on results
    /// and recipe values wait until such a write commits. Set `None` where that matters more
    /// than ingest speed.
    pub index_deferral_after: Option<u64>,
}

/// Default of [`StoreConfig::index_deferral_after`]: below 20 000 experiments, inserting into
/// the live indexes costs less than rebuilding them.
pub const DEFAULT_INDEX_DEFERRAL_AFTER: u64 = 20_000;

impl StoreConfig {
    /// SQLite in `data_dir` (what [`crate::Store::open`] uses).
    pub fn sqlite(data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: None,
            postgres_schema: None,
            object_store_url: None,
            index_deferral_after: Some(DEFAULT_INDEX_DEFERRAL_AFTER),
        }
    }

    /// Records in the PostgreSQL database at `url`, blobs in `data_dir`.
    pub fn postgres(url: impl Into<String>, data_dir: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: Some(url.into()),
            postgres_schema: None,
            object_store_url: None,
            index_deferral_after: Some(DEFAULT_INDEX_DEFERRAL_AFTER),
        }
    }

    /// The same configuration with the tables in PostgreSQL schema `schema`.
    pub fn with_postgres_schema(mut self, schema: impl Into<String>) -> StoreConfig {
        self.postgres_schema = Some(schema.into());
        self
    }

    /// The same configuration with another [`StoreConfig::index_deferral_after`] (`None`: large
    /// bulk writes keep every index live).
    pub fn with_index_deferral_after(mut self, experiments: Option<u64>) -> StoreConfig {
        self.index_deferral_after = experiments;
        self
    }

    /// The same configuration with blobs in the object store at `url` instead of the data
    /// directory, e.g. `s3://lab-blobs/lab-a?endpoint=http://127.0.0.1:8333`. Credentials come
    /// from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (and the other standard `AWS_*`
    /// variables) unless the query gives `access_key_id` / `secret_access_key`. The URL is
    /// checked when the store is opened.
    pub fn with_object_store(mut self, url: impl Into<String>) -> StoreConfig {
        self.object_store_url = Some(url.into());
        self
    }

    /// The same configuration with the object store named by the environment variable
    /// [`OBJECT_STORE_URL_ENV`] (`ATHANOR_OBJECT_STORE_URL`), if it is set and not empty.
    pub fn with_object_store_from_env(self) -> StoreConfig {
        match std::env::var(OBJECT_STORE_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => self.with_object_store(url.trim()),
            _ => self,
        }
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
