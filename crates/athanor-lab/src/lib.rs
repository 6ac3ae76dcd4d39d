//! # athanor-lab — the autonomous loop
//!
//! This crate runs campaigns: it reads a campaign file ([`campaign`]), asks the planner for a
//! recipe, passes it through the safety interlock ([`safety`]), executes it on an instrument
//! ([`driver`]; the built-in digital twin today), stores the raw files, analyses them
//! ([`analysis`]: TEM images through the vision pipeline, spectra through peak analysis),
//! stores the derived results together with the planner's new state, and repeats
//! ([`runner`]). It is the only crate that talks to instruments.
//!
//! ```no_run
//! use athanor_lab::{campaign::load_campaign, runner::run_campaign};
//! let campaign = load_campaign("examples/qd-620nm.toml".as_ref()).unwrap();
//! let store = athanor_store::Store::open("athanor-data".as_ref()).unwrap();
//! let summary = run_campaign(&campaign, &store, &mut |_event| {}).unwrap();
//! println!("best: {:?}", summary.best);
//! ```

pub mod analysis;
pub mod campaign;
pub mod driver;
pub mod runner;
pub mod safety;

/// Everything that can stop a campaign.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The campaign file is invalid.
    #[error(transparent)]
    Campaign(#[from] campaign::CampaignError),
    /// The safety interlock refused a recipe.
    #[error(transparent)]
    Safety(#[from] safety::SafetyViolation),
    /// Storage failed.
    #[error("store: {0}")]
    Store(#[from] athanor_store::StoreError),
    /// The planner failed.
    #[error("planner: {0}")]
    Plan(#[from] athanor_plan::PlanError),
    /// The digital twin refused or failed.
    #[error("twin: {0}")]
    Twin(#[from] athanor_twin::TwinError),
    /// A raw file could not be written or read.
    #[error("file format: {0}")]
    Format(#[from] athanor_formats::FormatError),
    /// The image analysis failed.
    #[error("vision: {0}")]
    Vision(#[from] athanor_vision::VisionError),
    /// The spectrum analysis failed.
    #[error("spectrum: {0}")]
    Spectra(#[from] athanor_spectra::SpectraError),
    /// An analysis found nothing to measure (recorded as a failed experiment, not fatal).
    #[error("analysis: {0}")]
    Analysis(String),
    /// The prior campaign named by `[prior] campaign` is missing or does not fit the campaign
    /// (a parameter or objective it lacks or measures in an incompatible unit).
    #[error("prior campaign: {0}")]
    Prior(String),
    /// Stored data contradict each other.
    #[error("inconsistent data: {0}")]
    Inconsistent(String),
}

impl LabError {
    /// Whether the error is the user's input (exit code 2) rather than a failure (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, LabError::Campaign(_) | LabError::Prior(_))
    }
}
