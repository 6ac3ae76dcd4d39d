//! The closed loop: plan → check → run → store raw → analyse → store derived → learn → plan.
//!
//! Every step is persisted before the next one starts, in this order:
//! 1. the planned recipe and its ordered steps (`record_planned`),
//! 2. the raw files as content-addressed blobs,
//! 3. in one transaction: the run, measurements, analyses, results and the planner's new state.
//!
//! A process killed anywhere resumes from the store: a planned-but-unfinished experiment is run
//! again with the same recipe and seed (the twin is deterministic, so its data are identical), a
//! completed one is never repeated, and the planner is restored from the state saved with the
//! last completed experiment. Because suggestions are a pure function of (campaign, seed,
//! observations), an interrupted campaign ends exactly where an uninterrupted one would.
//!
//! Past experiments seed a campaign through `[prior] campaign = "C0001"` (e.g. a campaign made
//! by `athanor data import`): its finished experiments, with recipes converted to this
//! campaign's parameter units, are told to the planner before this campaign's own experiments.
//! They count toward the initial design (the planner sees them as observations) but not toward
//! the budget, and the best experiment reported is always one of this campaign's own. When the
//! saved planner state does not hold exactly the prior and finished experiments (none saved,
//! rows imported into this campaign, a prior that gained experiments), the observations are
//! rebuilt from the store instead of trusting the state.

use crate::analysis::{analyze_micrograph, analyze_spectrum, Derived};
use crate::campaign::Campaign;
use crate::driver::{Instrument, TwinInstrument};
use crate::safety::SafetyInterlock;
use crate::LabError;
use athanor_model::units::Unit;
use athanor_model::{Quantity, Recipe};
use athanor_plan::{Observation, Planner, PlannerConfig};
use athanor_store::{
    AnalysisRecord, CampaignRecord, CampaignStatus, CompletedExperiment, ExperimentRecord,
    ExperimentStatus, MeasurementRecord, NewCampaign, PlannedExperiment, Store,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The best experiment of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BestExperiment {
    /// Position in the campaign (1-based).
    pub seq: u32,
    /// Human-readable id (`C0001-E007`).
    pub lab_id: String,
    /// Unique id.
    pub experiment_id: String,
    /// The recipe that was run.
    pub recipe: Recipe,
    /// Measured and computed properties.
    pub properties: BTreeMap<String, Quantity>,
    /// Combined utility of the objectives (higher is better).
    pub utility: f64,
    /// Whether it meets every objective's criterion.
    pub satisfied: bool,
}

/// What one finished experiment looked like, for progress displays.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    /// Position in the campaign (1-based).
    pub seq: u32,
    /// Human-readable id.
    pub lab_id: String,
    /// How the recipe was chosen (`sobol`, `gp-…`, `resumed`).
    pub strategy: String,
    /// Utility of this experiment, if it succeeded.
    pub utility: Option<f64>,
    /// The best experiment so far.
    pub best: Option<BestExperiment>,
}

/// Progress events.
#[derive(Debug, Clone)]
pub enum Event {
    /// The campaign is starting or resuming with `completed` experiments already done.
    Started {
        /// The campaign's record.
        campaign: CampaignRecord,
        /// Experiments already finished.
        completed: u32,
        /// The budget.
        budget: u32,
    },
    /// One more experiment finished.
    Experiment(ExperimentReport),
}

/// The outcome of a campaign run.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignSummary {
    /// Campaign id.
    pub campaign_id: String,
    /// Human-readable id.
    pub campaign_lab_id: String,
    /// Campaign name.
    pub name: String,
    /// Seed used.
    pub seed: u64,
    /// Experiments finished in total.
    pub experiments: u32,
    /// Experiments executed by this invocation.
    pub executed_now: u32,
    /// Whether an experiment met every criterion.
    pub satisfied: bool,
    /// Why the campaign stopped.
    pub stop_reason: String,
    /// The best experiment.
    pub best: Option<BestExperiment>,
    /// Where the data are.
    pub data_dir: PathBuf,
    /// The SQLite database file.
    pub database: PathBuf,
}

/// Derives the seed of experiment `seq` from the campaign seed (SplitMix64 finaliser), so each
/// experiment's simulated noise is independent of how the campaign was interrupted.
pub fn experiment_seed(campaign_seed: u64, seq: u32) -> u64 {
    let mut z = campaign_seed.wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(seq as u64 + 1));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The planner configuration of a campaign.
pub fn planner_config(campaign: &Campaign) -> PlannerConfig {
    PlannerConfig {
        parameters: campaign.parameters.clone(),
        objectives: campaign.planner_objectives(),
        initial_design: campaign.initial_design,
        seed: campaign.seed,
    }
}

fn recipe_from(campaign: &Campaign, x: &[f64]) -> Recipe {
    let mut recipe = Recipe::default();
    for (p, v) in campaign.parameters.iter().zip(x) {
        recipe
            .parameters
            .insert(p.name.clone(), Quantity::new(*v, &p.unit));
    }
    for (name, q) in &campaign.fixed {
        recipe.parameters.insert(name.clone(), q.clone());
    }
    recipe
}

fn x_from(campaign: &Campaign, recipe: &Recipe) -> Result<Vec<f64>, LabError> {
    campaign
        .parameters
        .iter()
        .map(|p| {
            recipe
                .get_in(&p.name, &p.unit)
                .ok_or_else(|| LabError::Inconsistent(format!("stored recipe lacks `{}`", p.name)))?
                .map_err(|e| LabError::Inconsistent(format!("stored recipe `{}`: {e}", p.name)))
        })
        .collect()
}

/// Objective values of an experiment's results, in the objectives' canonical units.
fn objective_values(
    campaign: &Campaign,
    properties: &BTreeMap<String, Quantity>,
) -> Vec<Option<f64>> {
    campaign
        .objectives
        .iter()
        .map(|o| {
            let q = properties.get(&o.objective.name)?;
            let unit = Unit::parse(&o.unit).ok()?;
            q.to_unit(&unit)
                .ok()
                .map(|q| q.value)
                .filter(|v| v.is_finite())
        })
        .collect()
}

fn properties_of(e: &ExperimentRecord) -> BTreeMap<String, Quantity> {
    e.results
        .iter()
        .map(|r| (r.name.clone(), r.quantity.clone()))
        .collect()
}

/// Utility and satisfaction of one experiment.
fn score(campaign: &Campaign, properties: &BTreeMap<String, Quantity>) -> Option<(f64, bool)> {
    let y = objective_values(campaign, properties);
    let mut utility = 0.0;
    let mut satisfied = true;
    for (o, v) in campaign.objectives.iter().zip(&y) {
        let v = (*v)?;
        utility += o.objective.weight * o.objective.utility(v);
        satisfied &= o.satisfied(v);
    }
    Some((utility, satisfied))
}

/// The best completed experiment: one that meets every criterion beats one that does not; ties
/// go to the higher utility, then to the earlier experiment.
pub fn best_experiment(
    campaign: &Campaign,
    experiments: &[ExperimentRecord],
) -> Option<BestExperiment> {
    let mut best: Option<BestExperiment> = None;
    for e in experiments
        .iter()
        .filter(|e| e.status == ExperimentStatus::Completed)
    {
        let properties = properties_of(e);
        let Some((utility, satisfied)) = score(campaign, &properties) else {
            continue;
        };
        let better = match &best {
            None => true,
            Some(b) => (satisfied, utility) > (b.satisfied, b.utility),
        };
        if better {
            best = Some(BestExperiment {
                seq: e.seq,
                lab_id: e.lab_id.clone(),
                experiment_id: e.id.clone(),
                recipe: e.recipe.clone(),
                properties,
                utility,
                satisfied,
            });
        }
    }
    best
}

/// The planner's view of one finished experiment of this campaign: `x` from the stored recipe
/// in the parameters' order and units, `y` per objective; failed when nothing was measured.
fn observation_of(campaign: &Campaign, e: &ExperimentRecord) -> Result<Observation, LabError> {
    let x = x_from(campaign, &e.recipe)?;
    let y = if e.status == ExperimentStatus::Failed {
        vec![None; campaign.objectives.len()]
    } else {
        objective_values(campaign, &properties_of(e))
    };
    let failed = y.iter().all(Option::is_none);
    Ok(Observation { x, y, failed })
}

/// The finished experiments of the campaign named by `[prior] campaign`, as observations
/// (with each experiment's lab id, for messages). Parameter values are converted to the
/// campaign's units; a missing parameter or an incompatible unit is an error naming both.
fn prior_observations(
    campaign: &Campaign,
    store: &Store,
    campaign_id: Option<&str>,
) -> Result<Vec<(String, Observation)>, LabError> {
    let Some(name) = &campaign.prior_campaign else {
        return Ok(Vec::new());
    };
    let prior = store.campaign(name)?.ok_or_else(|| {
        LabError::Prior(format!(
            "no campaign `{name}` in {}",
            store.data_dir().display()
        ))
    })?;
    if campaign_id == Some(prior.id.as_str()) {
        return Err(LabError::Prior(format!(
            "campaign {} cannot be its own prior",
            prior.lab_id
        )));
    }
    let mut finished: Vec<ExperimentRecord> = store
        .experiments(&prior.id)?
        .into_iter()
        .filter(|e| e.status != ExperimentStatus::Planned)
        .collect();
    finished.sort_by_key(|e| e.seq);
    let mut observations = Vec::with_capacity(finished.len());
    for e in &finished {
        let x = campaign
            .parameters
            .iter()
            .map(|p| match e.recipe.get_in(&p.name, &p.unit) {
                None => Err(LabError::Prior(format!(
                    "{}: experiment {} has no value for parameter `{}`",
                    prior.lab_id, e.lab_id, p.name
                ))),
                Some(Err(err)) => Err(LabError::Prior(format!(
                    "{}: experiment {}: parameter `{}` cannot be converted to {}: {err}",
                    prior.lab_id, e.lab_id, p.name, p.unit
                ))),
                Some(Ok(v)) => Ok(v),
            })
            .collect::<Result<Vec<f64>, LabError>>()?;
        let properties = properties_of(e);
        for o in &campaign.objectives {
            let (Some(q), Ok(unit)) = (properties.get(&o.objective.name), Unit::parse(&o.unit))
            else {
                continue;
            };
            if let Err(err) = q.to_unit(&unit) {
                return Err(LabError::Prior(format!(
                    "{}: experiment {}: result `{}` cannot be converted to {}: {err}",
                    prior.lab_id, e.lab_id, o.objective.name, o.unit
                )));
            }
        }
        let y = if e.status == ExperimentStatus::Failed {
            vec![None; campaign.objectives.len()]
        } else {
            objective_values(campaign, &properties)
        };
        let failed = y.iter().all(Option::is_none);
        observations.push((e.lab_id.clone(), Observation { x, y, failed }));
    }
    Ok(observations)
}

/// Runs (or resumes) a campaign until its budget is spent or its target is met.
pub fn run_campaign(
    campaign: &Campaign,
    store: &Store,
    observer: &mut dyn FnMut(Event),
) -> Result<CampaignSummary, LabError> {
    let hash = campaign.content_hash();
    let existing = store.find_campaign(&campaign.name, &hash, campaign.seed)?;
    // The prior is checked before a new campaign is created, so a bad one leaves no trace.
    let prior = prior_observations(campaign, store, existing.as_ref().map(|r| r.id.as_str()))?;
    let record = match existing {
        Some(r) => r,
        None => store.create_campaign(&NewCampaign {
            name: campaign.name.clone(),
            seed: campaign.seed,
            config_hash: hash.clone(),
            config_text: serde_json::to_string_pretty(campaign)
                .map_err(|e| LabError::Inconsistent(e.to_string()))?,
            budget: campaign.budget,
        })?,
    };
    let mut experiments = store.experiments(&record.id)?;
    let done = |e: &ExperimentRecord| e.status != ExperimentStatus::Planned;
    let finished = experiments.iter().filter(|e| done(e)).count() as u32;

    // The saved state is used when it holds exactly the prior and the finished experiments (an
    // ordinary resume: bit-identical). Otherwise (no saved state, experiments imported into
    // this campaign, a prior campaign that gained experiments) the observations are rebuilt
    // from the store, in the order the planner would have been told them.
    let saved = match store.latest_planner_state(&record.id)? {
        Some((_, json)) => Some(Planner::from_json(&json)?),
        None => None,
    };
    let expected = prior.len() + finished as usize;
    let mut planner = match saved {
        Some(p) if p.observations().len() == expected => p,
        _ => {
            let mut planner = Planner::new(planner_config(campaign))?;
            for (lab_id, obs) in prior {
                planner.tell(obs).map_err(|e| {
                    LabError::Prior(format!(
                        "experiment {lab_id} cannot be told to the planner: {e}"
                    ))
                })?;
            }
            let mut own: Vec<&ExperimentRecord> = experiments.iter().filter(|e| done(e)).collect();
            own.sort_by_key(|e| e.seq);
            for e in own {
                planner.tell(observation_of(campaign, e)?)?;
            }
            planner
        }
    };
    observer(Event::Started {
        campaign: record.clone(),
        completed: finished,
        budget: campaign.budget,
    });

    let interlock = SafetyInterlock::new(campaign);
    let mut instrument = TwinInstrument::new(campaign.imaging.clone());
    // Experiments are numbered from 1, as people count them (C0001-E001).
    let mut seq = finished + 1;
    let mut executed_now = 0;
    let stop_reason = loop {
        let best = best_experiment(campaign, &experiments);
        if campaign.stop_when_satisfied && best.as_ref().is_some_and(|b| b.satisfied) {
            break "target met".to_string();
        }
        if seq > campaign.budget {
            break "budget spent".to_string();
        }
        if record.status != CampaignStatus::Running {
            break format!("campaign already {}", record.status.as_str());
        }

        let pending = experiments
            .iter()
            .find(|e| e.seq == seq && e.status == ExperimentStatus::Planned);
        let (experiment_id, recipe, strategy) = match pending {
            Some(e) => (e.id.clone(), e.recipe.clone(), "resumed".to_string()),
            None => {
                let suggestion = planner.ask()?;
                let recipe = recipe_from(campaign, &suggestion.x);
                interlock.check(&recipe)?;
                let spec_steps = instrument.plan_steps(&recipe)?;
                let planned = store.record_planned(&PlannedExperiment {
                    campaign_id: record.id.clone(),
                    seq,
                    recipe: recipe.clone(),
                    spec_steps,
                    planner_note: serde_json::json!({
                        "strategy": suggestion.strategy,
                        "acquisition": suggestion.acquisition,
                        "predicted": campaign.objectives.iter().zip(&suggestion.predicted).map(|(o, p)| {
                            serde_json::json!({"objective": o.objective.name, "unit": o.unit,
                                "mean": p.map(|p| p.0), "std": p.map(|p| p.1)})
                        }).collect::<Vec<_>>(),
                    }),
                })?;
                (planned.id, recipe, suggestion.strategy)
            }
        };
        // Checked again on resume: the stored recipe could have been edited by hand.
        interlock.check(&recipe)?;
        let x = x_from(campaign, &recipe)?;

        let raw = instrument.execute(&recipe, experiment_seed(campaign.seed, seq))?;
        let mut measurements = Vec::new();
        let mut analyses = Vec::new();
        let mut results = raw.readings.clone();
        for file in &raw.files {
            let blob = store.put_blob(&file.bytes, &file.media_type, &file.file_name)?;
            let stored = store.read_blob(&blob.hash)?;
            let derived: Result<Derived, LabError> = match file.technique.as_str() {
                "TEM" => analyze_micrograph(&stored),
                _ => analyze_spectrum(&stored),
            };
            match derived {
                Ok(d) => {
                    results.extend(d.results.iter().cloned());
                    analyses.push(AnalysisRecord {
                        kind: d.kind,
                        software: d.software,
                        input_blobs: vec![blob.hash.clone()],
                        parameters: d.parameters,
                        outputs: d.outputs,
                    });
                }
                // The data could not be analysed (no particles, no PL peak): the raw file is kept
                // and the reason recorded; the objectives it would have given stay unmeasured.
                Err(LabError::Analysis(reason)) => analyses.push(AnalysisRecord {
                    kind: format!("{} analysis", file.technique),
                    software: format!("athanor-lab {}", env!("CARGO_PKG_VERSION")),
                    input_blobs: vec![blob.hash.clone()],
                    parameters: serde_json::Value::Null,
                    outputs: serde_json::json!({ "error": reason }),
                }),
                Err(e) => return Err(e),
            }
            measurements.push(MeasurementRecord {
                technique: file.technique.clone(),
                instrument: file.instrument.clone(),
                blob: Some(blob),
                conditions: file.conditions.clone(),
            });
        }
        for r in &raw.readings {
            measurements.push(MeasurementRecord {
                technique: "QY".into(),
                instrument: r.method.clone(),
                blob: None,
                conditions: serde_json::json!({"reading": r.quantity}),
            });
        }

        let properties: BTreeMap<String, Quantity> = results
            .iter()
            .map(|r| (r.name.clone(), r.quantity.clone()))
            .collect();
        let y = objective_values(campaign, &properties);
        // Objectives that could not be measured are told as missing; with none measured the
        // experiment counts as failed for the planner, but everything it produced is kept.
        let failed = y.iter().all(Option::is_none);
        planner.tell(Observation { x, y, failed })?;
        store.record_completed(&CompletedExperiment {
            experiment_id: experiment_id.clone(),
            run_steps: raw.steps,
            measurements,
            analyses,
            results,
            planner_state_json: planner.to_json(),
        })?;
        executed_now += 1;
        experiments = store.experiments(&record.id)?;
        let this = experiments.iter().find(|e| e.id == experiment_id);
        observer(Event::Experiment(ExperimentReport {
            seq,
            lab_id: this.map(|e| e.lab_id.clone()).unwrap_or_default(),
            strategy,
            utility: this
                .and_then(|e| score(campaign, &properties_of(e)))
                .map(|s| s.0),
            best: best_experiment(campaign, &experiments),
        }));
        seq += 1;
    };

    if record.status == CampaignStatus::Running {
        store.set_campaign_status(&record.id, CampaignStatus::Completed)?;
    }
    let best = best_experiment(campaign, &experiments);
    Ok(CampaignSummary {
        campaign_id: record.id.clone(),
        campaign_lab_id: record.lab_id.clone(),
        name: campaign.name.clone(),
        seed: campaign.seed,
        experiments: experiments.iter().filter(|e| done(e)).count() as u32,
        executed_now,
        satisfied: best.as_ref().is_some_and(|b| b.satisfied),
        stop_reason,
        best,
        data_dir: store.data_dir().to_path_buf(),
        database: store.database_path(),
    })
}
