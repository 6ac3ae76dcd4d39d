//! The crate's single error type.

use crate::records::ExperimentStatus;
use std::path::PathBuf;

/// Everything that can go wrong in the store. Messages name the record (by its lab id where one
/// exists) and the field, so that a log line is enough to find the problem.
///
/// Database errors carry their cause as a boxed error rather than a backend type, so that the
/// public API stays the same when other backends (PostgreSQL) are added.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("could not {operation} {path}: {source}")]
    Io {
        /// What was attempted (e.g. "create the data directory").
        operation: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The database refused or failed an operation.
    #[error("database error while trying to {operation}: {source}")]
    Database {
        /// What was attempted (e.g. "insert result 2 of experiment C0001-E007").
        operation: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database was written by a newer version of Athanor.
    #[error(
        "database {path} has schema version {found}, newer than version {supported} that this \
         build understands; use a newer Athanor"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },
    /// No record with this id (or lab id) exists.
    #[error("{kind} '{key}' not found")]
    NotFound {
        /// The kind of record: "campaign" or "experiment".
        kind: &'static str,
        /// The id or lab id that was looked up.
        key: String,
    },
    /// The experiment has already been completed or failed, so it cannot be finished again.
    #[error("experiment {experiment} is already {status}")]
    NotPlanned {
        /// Lab id of the experiment.
        experiment: String,
        /// Its current status.
        status: ExperimentStatus,
    },
    /// The campaign already has an experiment with this sequence number.
    #[error("campaign {campaign} already has an experiment with seq {seq} ({existing})")]
    DuplicateExperiment {
        /// Lab id of the campaign.
        campaign: String,
        /// The sequence number that is taken.
        seq: u32,
        /// Lab id of the existing experiment.
        existing: String,
    },
    /// A value handed to the store was rejected (nothing was written).
    #[error("{record}: invalid {field}: {problem}")]
    InvalidInput {
        /// The record being written, e.g. "experiment C0001-E007 result 2 (pl_peak)".
        record: String,
        /// The offending field.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A blob's file is not where its hash says it should be.
    #[error("blob {hash} is missing: {path} does not exist")]
    BlobMissing {
        /// The blob's SHA-256 (hex).
        hash: String,
        /// Where the file was expected.
        path: PathBuf,
    },
    /// A blob's file no longer has the content its name (hash) promises.
    #[error("blob {hash} is corrupt: the content of {path} hashes to {actual}")]
    BlobCorrupt {
        /// The blob's SHA-256 (hex), i.e. its file name.
        hash: String,
        /// The file.
        path: PathBuf,
        /// The SHA-256 of the file's actual content.
        actual: String,
    },
    /// The object store holding the blobs (S3-compatible server) refused or failed a request.
    #[error("object store error while trying to {operation} at {location}: {source}")]
    ObjectStore {
        /// What was attempted (e.g. "upload blob 3f2a…").
        operation: String,
        /// The object, as `s3://bucket/key` (never credentials).
        location: String,
        /// The object store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A string that is not a SHA-256 in lower-case hex was used as a blob hash.
    #[error(
        "'{hash}' is not a blob hash (expected 64 lower-case hexadecimal digits of a SHA-256)"
    )]
    InvalidBlobHash {
        /// The rejected string.
        hash: String,
    },
    /// A stored value could not be read back (the database was edited or damaged).
    #[error("{record}: stored {field} is unreadable: {problem}")]
    CorruptRecord {
        /// The record, e.g. "experiment C0001-E007".
        record: String,
        /// The column or field.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A search filter (see [`crate::query`]) that cannot be parsed, names an unknown field, or
    /// compares a field with a value of the wrong kind or unit. Nothing was read.
    #[error("invalid filter: position {position}: {message}")]
    Query {
        /// 1-based character position in the filter where the problem is.
        position: usize,
        /// What is wrong, e.g. "expected a value after '<'" or "d50 is a length (nm); `K` is a
        /// temperature".
        message: String,
    },
    /// A status string that is not one of the known values.
    #[error("unknown {kind} status '{value}' (expected one of: {expected})")]
    UnknownStatus {
        /// "campaign" or "experiment".
        kind: &'static str,
        /// The rejected string.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Wraps a backend error with a description of what was being done.
    pub(crate) fn database(
        operation: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Database {
            operation: operation.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> StoreError {
        StoreError::Io {
            operation,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(
        record: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> StoreError {
        StoreError::InvalidInput {
            record: record.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn corrupt(
        record: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> StoreError {
        StoreError::CorruptRecord {
            record: record.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// `map_err` adapter: `conn.execute(..).map_err(db("insert campaign C0001"))`.
pub(crate) fn db<E: std::error::Error + Send + Sync + 'static>(
    operation: impl Into<String>,
) -> impl FnOnce(E) -> StoreError {
    let operation = operation.into();
    move |source| StoreError::database(operation, source)
}

/// `map_err` adapter for the backends' boxed errors (see [`crate::backend::Tx`]).
pub(crate) fn db_boxed(
    operation: impl Into<String>,
) -> impl FnOnce(crate::backend::DbError) -> StoreError {
    let operation = operation.into();
    move |source| StoreError::Database { operation, source }
}
