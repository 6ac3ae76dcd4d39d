//! # athanor-store — everything a lab records, under one data directory
//!
//! The store is the only Athanor crate that talks to a database. A lab's data directory holds:
//!
//! ```text
//! <data_dir>/athanor.sqlite          records (SQLite, WAL mode) + -wal / -shm side files
//! <data_dir>/blobs/sha256/ab/cdef…   raw files, named by the SHA-256 of their bytes
//! ```
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
//! * every `record_*` call is one SQLite transaction (`BEGIN IMMEDIATE` … `COMMIT`), so an
//!   experiment is either still planned with nothing of its completion written, or completed
//!   with all of it; `synchronous = FULL` makes a commit durable before the call returns;
//! * blobs are written before the records that reference them, atomically (temporary file,
//!   fsync, rename, fsync of the directory), and [`Store::record_completed`] checks that each
//!   referenced blob file exists with the stated size. The worst a crash leaves is an
//!   unreferenced blob file or a temporary file, never a reference to a missing or partial blob;
//! * the schema is versioned by `PRAGMA user_version`; each migration runs in a transaction
//!   with its version bump.
//!
//! [`Store::check_integrity`] verifies all of this after the fact (SQLite's own checks,
//! life-cycle invariants, every blob re-hashed).
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
//! ## Backends
//!
//! The public API uses no SQLite types (database errors are boxed in
//! [`StoreError::Database`]), so a PostgreSQL backend can sit behind the same methods. SQLite
//! specifics: a `u64` seed is stored as decimal text (SQLite integers are signed 64-bit), and
//! ids/timestamps are text (UUIDv7, RFC 3339 UTC).

mod blobs;
mod error;
mod records;
mod schema;
mod store;
mod timestamp;

pub use error::StoreError;
pub use records::{
    AnalysisRecord, BlobRef, CampaignRecord, CampaignStatus, CompletedExperiment, ExperimentRecord,
    ExperimentStatus, IntegrityReport, MeasurementRecord, NewCampaign, PlannedExperiment,
};
pub use schema::SCHEMA_VERSION;
pub use store::{Store, DATABASE_FILE_NAME};
