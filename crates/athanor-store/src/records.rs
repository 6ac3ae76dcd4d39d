//! The records the store reads and writes. Plain data (serde-serialisable), no backend types.

use crate::error::StoreError;
use athanor_model::{ProcessStep, PropertyValue, Recipe};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Life-cycle state of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Experiments are being planned and run (also the state of a campaign whose runner crashed:
    /// it is resumed by running it again).
    Running,
    /// The budget was spent or the goal reached.
    Completed,
    /// Stopped by a person or a safety interlock before completion.
    Stopped,
}

impl CampaignStatus {
    /// The lower-case name stored in the database: `running`, `completed`, `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Running => "running",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Stopped => "stopped",
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "running" => Ok(CampaignStatus::Running),
            "completed" => Ok(CampaignStatus::Completed),
            "stopped" => Ok(CampaignStatus::Stopped),
            other => Err(StoreError::UnknownStatus {
                kind: "campaign",
                value: other.to_string(),
                expected: "running, completed, stopped",
            }),
        }
    }
}

/// Life-cycle state of an experiment: planned (spec written) → completed (run, measurements,
/// analyses and results written) or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// The planner proposed it; nothing has been recorded about its execution yet.
    Planned,
    /// It ran and its results are recorded.
    Completed,
    /// It could not be run or analysed; the reason is recorded.
    Failed,
}

impl ExperimentStatus {
    /// The lower-case name stored in the database: `planned`, `completed`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Planned => "planned",
            ExperimentStatus::Completed => "completed",
            ExperimentStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for ExperimentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExperimentStatus {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "planned" => Ok(ExperimentStatus::Planned),
            "completed" => Ok(ExperimentStatus::Completed),
            "failed" => Ok(ExperimentStatus::Failed),
            other => Err(StoreError::UnknownStatus {
                kind: "experiment",
                value: other.to_string(),
                expected: "planned, completed, failed",
            }),
        }
    }
}

/// What is needed to start a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    /// Human name of the campaign (from its configuration).
    pub name: String,
    /// Seed of every random choice the campaign makes.
    pub seed: u64,
    /// Hash of the configuration text, used with `name` and `seed` to find a campaign to resume.
    pub config_hash: String,
    /// The configuration as written (TOML), kept for provenance.
    pub config_text: String,
    /// Maximum number of experiments.
    pub budget: u32,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRecord {
    /// Machine id (UUIDv7).
    pub id: String,
    /// Short id for people: `C0001`, `C0002`, … in order of creation.
    pub lab_id: String,
    /// Human name.
    pub name: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Hash of the configuration text.
    pub config_hash: String,
    /// The configuration as written.
    pub config_text: String,
    /// Maximum number of experiments.
    pub budget: u32,
    /// Life-cycle state.
    pub status: CampaignStatus,
    /// Creation time, RFC 3339 UTC with milliseconds (`2025-03-01T12:00:00.123Z`).
    pub created_at: String,
}

/// An experiment as proposed by the planner (the "spec", before anything ran).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedExperiment {
    /// Id or lab id of the campaign.
    pub campaign_id: String,
    /// Position in the campaign; unique per campaign. Appears in the lab id (`C0001-E007`).
    pub seq: u32,
    /// The chosen parameter values.
    pub recipe: Recipe,
    /// The process steps to execute, with setpoints.
    pub spec_steps: Vec<ProcessStep>,
    /// Why the planner chose it (strategy, predictions, acquisition value…).
    pub planner_note: serde_json::Value,
}

/// A reference to a stored blob (a raw instrument file or other immutable bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// SHA-256 of the bytes, 64 lower-case hex digits; also the blob's file name.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// IANA media type, e.g. `image/tiff`, `text/csv`.
    pub media_type: String,
    /// File name to use when exporting the blob (no directories).
    pub file_name: String,
}

/// One measurement of a sample: which technique, which instrument, the raw file and conditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementRecord {
    /// Technique: `TEM`, `PL`, `UV-Vis`, `QY`, …
    pub technique: String,
    /// Instrument (driver) that took it.
    pub instrument: String,
    /// The raw data file, if the measurement produced one.
    pub blob: Option<BlobRef>,
    /// Acquisition conditions (magnification, excitation wavelength, …).
    pub conditions: serde_json::Value,
}

/// One analysis: which software turned which raw files into which outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRecord {
    /// Kind: `particle-size-distribution`, `spectrum-peak`, …
    pub kind: String,
    /// Software and version, e.g. `athanor-vision 0.1.0`.
    pub software: String,
    /// Hashes of the blobs analysed; each must already be in the store.
    pub input_blobs: Vec<String>,
    /// Parameters of the analysis.
    pub parameters: serde_json::Value,
    /// Its outputs (summary numbers, hashes of derived blobs…).
    pub outputs: serde_json::Value,
}

/// Everything recorded when a planned experiment has run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedExperiment {
    /// Id or lab id of the planned experiment.
    pub experiment_id: String,
    /// The steps as executed, with logged actual values.
    pub run_steps: Vec<athanor_model::ProcessStep>,
    /// The measurements taken (their blobs must already be stored with [`crate::Store::put_blob`]).
    pub measurements: Vec<MeasurementRecord>,
    /// The analyses run on the measurements.
    pub analyses: Vec<AnalysisRecord>,
    /// The resulting properties.
    pub results: Vec<athanor_model::PropertyValue>,
    /// The planner's state after it was told these results (JSON), so a campaign can resume.
    pub planner_state_json: String,
}

/// A stored experiment with everything recorded about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// Machine id (UUIDv7).
    pub id: String,
    /// Short id for people: campaign lab id and seq, `C0001-E007`.
    pub lab_id: String,
    /// Machine id of the campaign.
    pub campaign_id: String,
    /// Position in the campaign.
    pub seq: u32,
    /// Life-cycle state.
    pub status: ExperimentStatus,
    /// The chosen parameter values.
    pub recipe: Recipe,
    /// Steps as planned.
    pub spec_steps: Vec<ProcessStep>,
    /// Steps as run (empty unless completed).
    pub run_steps: Vec<ProcessStep>,
    /// Results (empty unless completed).
    pub results: Vec<PropertyValue>,
    /// Measurements (empty unless completed).
    pub measurements: Vec<MeasurementRecord>,
    /// Analyses (empty unless completed).
    pub analyses: Vec<AnalysisRecord>,
    /// The planner's note from planning time.
    pub planner_note: serde_json::Value,
    /// Why it failed (only for failed experiments).
    pub failure: Option<String>,
    /// When it was planned, RFC 3339 UTC.
    pub planned_at: String,
    /// When it was completed or failed, RFC 3339 UTC.
    pub completed_at: Option<String>,
}

/// The outcome of [`crate::Store::check_integrity`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IntegrityReport {
    /// Every problem found, one sentence each; empty when the store is consistent.
    pub problems: Vec<String>,
    /// How many blob files were re-hashed.
    pub blobs_checked: usize,
}

impl IntegrityReport {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One experiment matched by [`crate::Store::search_hits`]: its ids, without loading its
/// records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Machine id (UUIDv7).
    pub id: String,
    /// Short id for people: `C0001-E007`.
    pub lab_id: String,
}
