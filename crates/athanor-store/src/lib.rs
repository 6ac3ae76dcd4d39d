//! # athanor-store — everything a lab records, under one data directory
//!
//! The store is the only Athanor crate that talks to a database. A lab's data directory holds:
//!
//! ```text
//! <data_dir>/athanor.sqlite          records (SQLite, WAL mode) + -wal / -shm side files
//! <data_dir>/blobs/sha256/ab/cdef…   raw files, named by the SHA-256 of their bytes
//! ```
//!
//! The records can instead live in PostgreSQL (see [Backends](#backends)), and the blobs in an
//! S3-compatible object store: [`StoreConfig::with_object_store`]`("s3://bucket/prefix?endpoint=…")`
//! (or the environment variable `ATHANOR_OBJECT_STORE_URL`, credentials from the standard
//! `AWS_*` variables), with the same `blobs/sha256/ab/cdef…` keys. Every read re-hashes the
//! bytes, so a corrupted blob is an error naming its digest wherever it lives.
//!
//! ## Import, export, benchmark
//!
//! [`transfer`] moves a whole store in and out as files: a lossless, versioned JSON-lines
//! exchange format (one record kind per line, the provenance graph with every revision
//! included; export → import into an empty store → identical; imports are one transaction),
//! a typed Parquet table of the experiments for analysis tools (units in the column metadata,
//! re-importable: [`transfer::parquet_file`]), plus CSV and Citrine GEMD views. Both
//! directions stream in bounded memory (`athanor bench store` measures the peak).
//! [`transfer::table`] imports past experiments from a CSV table with a column mapping (units
//! converted, bounds checked), as completed experiments with the same provenance records as
//! the campaign runner's. [`Store::ingest_experiments`] is the bulk write path for many
//! finished experiments (one transaction, rows written in batches: cached single-row
//! statements on SQLite, binary `COPY` on PostgreSQL); imports use it too. A write of many
//! experiments (by default 20 000, and at least a quarter of what the store holds) drops the
//! value indexes and rebuilds them in one sorted pass before its commit, and on PostgreSQL
//! checks its foreign keys in one join instead of per row
//! ([`StoreConfig::index_deferral_after`]). New SQLite databases use 16 KiB pages. [`bench`]
//! is the workload behind `athanor bench store`.
//!
//! ## Records
//!
//! A campaign (`C0001`) is a sequence of experiments (`C0001-E001`, …). An experiment is first
//! recorded as *planned* — recipe, spec steps and the planner's note — and then either
//! *completed* — run steps with logged actuals, measurements with their raw files, analyses,
//! results, and the planner's state after learning the results — or *failed*. Plan (spec) and
//! execution (run) are kept apart, as in Citrine GEMD. Results keep unit, uncertainty, origin
//! and method (see `athanor_model::PropertyValue`).
//!
//! ## Crash safety
//!
//! The campaign runner writes after every step, and a process killed at any instant (SIGKILL,
//! power cut) must leave a consistent store:
//!
//! * every `record_*` call is one database transaction (SQLite: `BEGIN IMMEDIATE` … `COMMIT`;
//!   PostgreSQL: a transaction holding the store's advisory lock), so an experiment is either
//!   still planned with nothing of its completion written, or completed with all of it; SQLite
//!   runs with `synchronous = FULL` (PostgreSQL's default `fsync = on`, `synchronous_commit =
//!   on` give the same) so a commit is durable before the call returns, bulk writes included
//!   (a bulk transaction has one commit, so the fsync costs nothing measurable there; the
//!   connection's 64 MiB page cache keeps a large transaction's working set in memory, and
//!   the rebuild of deferred indexes sorts through temporary files, not memory);
//! * blobs are written before the records that reference them, atomically (temporary file,
//!   fsync, rename, fsync of the directory), and [`Store::record_completed`] checks that each
//!   referenced blob file exists with the stated size. The worst a crash leaves is an
//!   unreferenced blob file or a temporary file, never a reference to a missing or partial blob;
//! * the schema is versioned (SQLite: `PRAGMA user_version`; PostgreSQL: the
//!   `schema_migrations` table); each migration runs in a transaction with its version bump.
//!
//! [`Store::check_integrity`] verifies all of this after the fact (SQLite's own checks,
//! life-cycle invariants, every blob re-hashed). The crash test (`tests/crash_safety.rs`)
//! SIGKILLs a writer at random moments, on both backends.
//!
//! ## Usage
//!
//! ```
//! use athanor_store::{CampaignStatus, NewCampaign, PlannedExperiment, Store};
//! # fn main() -> Result<(), athanor_store::StoreError> {
//! # let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path())?;
//! let campaign = store.create_campaign(&NewCampaign {
//!     name: "cdse-pl".into(),
//!     seed: 7,
//!     config_hash: "3f2a…".into(),
//!     config_text: "[campaign]\nname = \"cdse-pl\"".into(),
//!     budget: 40,
//! })?;
//! assert_eq!(campaign.lab_id, "C0001");
//! let planned = store.record_planned(&PlannedExperiment {
//!     campaign_id: campaign.id.clone(),
//!     seq: 1,
//!     recipe: Default::default(),
//!     spec_steps: vec![],
//!     planner_note: serde_json::json!({ "strategy": "sobol" }),
//! })?;
//! assert_eq!(planned.lab_id, "C0001-E001");
//! let image = store.put_blob(b"raw micrograph bytes", "image/tiff", "tem.tif")?;
//! assert_eq!(store.read_blob(&image.hash)?, b"raw micrograph bytes");
//! store.record_failed(&planned.id, "syringe pump stalled", "{}")?;
//! store.set_campaign_status(&campaign.id, CampaignStatus::Stopped)?;
//! # Ok(()) }
//! ```
//!
//! ## Search
//!
//! [`Store::search`] finds experiments with a filter in a subset of the OPTIMADE filter
//! language, with physical units (see [`query`] for the grammar and the fields):
//!
//! ```text
//! technique = "TEM" AND d50 < 6 nm AND process.growth_temperature >= 240 degC
//! campaign = "C0001" AND (size_cv < 10 % OR quantum_yield > 0.6)
//! ```
//!
//! A filter becomes one parameterised SQL query (values are always bound parameters, never
//! SQL text). Numbers are converted to each unit a property is stored in, so `d50 < 0.006 µm`
//! finds a d50 stored as `5 nm`. Schema version 2 keeps recipe parameters as rows
//! (`recipe_values`) and indexes results and recipe values by `(name, unit, value)`: on SQLite
//! a selective filter over a million results answers in milliseconds. Schema version 4 makes
//! `results` and `recipe_values` `WITHOUT ROWID` tables on SQLite, so those indexes cover the
//! experiment key and a range scan never visits the table rows. Since version 5 that key is
//! the experiment's number (`experiments.num`, an integer the store assigns and never
//! exports) instead of its UUID: rows and index entries half the size, and bulk writes about
//! 30 % faster.
//! [`Store::search_limit`] caps the number of records, [`Store::search_hits`] returns only ids.
//!
//! ## Provenance graph
//!
//! Schema version 3 adds a typed provenance graph (`prov_records`, `prov_edges`; see
//! `athanor_model::provenance` for record and edge kinds): specs and runs of processes,
//! materials and measurements, analyses, results, blobs and campaigns, each with a lab id
//! beside its UUIDv7. [`Store::create_record`] validates bodies (units, template bounds; errors
//! name the field); [`Store::lineage`] walks up ("how was this number made") or down
//! ("everything made from this lot") with a depth limit, in one recursive query; completed
//! records are immutable ([`Store::update_record`] refuses) and corrected by
//! [`Store::revise_record`] (new version, latest by default). `record_planned`,
//! `record_completed` and `record_failed` add the campaign's records to the graph in their own
//! transactions: campaign → experiment (process run, with its spec) → sample → measurements →
//! raw blobs → analyses → results.
//!
//! ## Backends
//!
//! The same [`Store`] API runs on two databases; [`StoreConfig`] chooses:
//!
//! * **SQLite** (the embedded default): [`Store::open`]`(data_dir)`, or [`Store::open_with`]
//!   with [`StoreConfig::sqlite`]. One file, no server.
//! * **PostgreSQL**: [`Store::connect`]`("postgres://user@host/db", data_dir)`, or
//!   [`Store::open_with`] with [`StoreConfig::postgres`], optionally
//!   [`StoreConfig::with_postgres_schema`] to keep the tables in a schema of their own (several
//!   labs in one database). Uses the synchronous `postgres` crate (no TLS; reach remote servers
//!   through a tunnel or a local socket proxy), so the API stays blocking.
//!
//! ```no_run
//! use athanor_store::{BackendKind, Store, StoreConfig};
//! # fn main() -> Result<(), athanor_store::StoreError> {
//! let config = StoreConfig::postgres("postgres://lab@db.internal/athanor", "/srv/lab-a")
//!     .with_postgres_schema("lab_a");
//! let store = Store::open_with(&config)?;
//! assert_eq!(store.backend_kind(), BackendKind::Postgres);
//! # Ok(()) }
//! ```
//!
//! Only the SQL layer differs (a private backend enum; validation, record building and blobs
//! are shared): the schema has the same tables, keys and checks with PostgreSQL column types
//! (`BIGINT`, `DOUBLE PRECISION`); writers exclude each other for the whole transaction
//! (SQLite's write lock; a PostgreSQL advisory lock keyed by the schema), which is what makes
//! lab-id assignment (`MAX + 1`) safe; reads are one snapshot (`REPEATABLE READ` on
//! PostgreSQL). The public API uses no backend types (database errors are boxed in
//! [`StoreError::Database`]). On both, a `u64` seed is stored as decimal text (SQL integers are
//! signed 64-bit), and ids/timestamps are text (UUIDv7, RFC 3339 UTC).
//!
//! The test suite (`tests/store.rs`, `tests/crash_safety.rs`) runs every behavioural test on
//! SQLite and, when `ATHANOR_TEST_POSTGRES_URL` names a server, on PostgreSQL, each in a fresh
//! schema; `scripts/test.sh` starts a throw-away PostgreSQL server and sets the variable.

mod backend;
pub mod bench;
mod blobs;
mod config;
mod error;
mod objects;
pub mod query;
mod records;
mod schema;
mod store;
mod timestamp;
pub mod transfer;

pub use config::{BackendKind, StoreConfig, DEFAULT_INDEX_DEFERRAL_AFTER, OBJECT_STORE_URL_ENV};
pub use error::StoreError;
pub use records::{
    AnalysisRecord, BlobRef, CampaignRecord, CampaignStatus, CompletedExperiment, ExperimentRecord,
    ExperimentStatus, IntegrityReport, MeasurementRecord, NewCampaign, PlannedExperiment,
    SearchHit,
};
pub use schema::SCHEMA_VERSION;
pub use store::provenance::{
    Lineage, LineageDirection, LineageEdge, LineageNode, Link, NewRecord, ProvRecord, RecordStatus,
    MAX_LINEAGE_DEPTH,
};
pub use store::{Store, DATABASE_FILE_NAME};
