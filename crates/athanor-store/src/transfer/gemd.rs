//! GEMD export: each experiment as Citrine GEMD objects, one JSON object per line (see the
//! module docs of [`crate::transfer`] for the mapping).
//!
//! GEMD keeps what was planned (`*_spec`) apart from what ran (`*_run`), links objects by
//! `{"type": "link_by_uid", "scope": …, "id": …}`, and gives every value units and, for real
//! numbers, either a nominal value (`nominal_real`, specs) or a mean with standard deviation
//! (`normal_real`, measured values). Units are written as the store keeps them (symbols such
//! as `degC`, `nm`, `mL/min`).

use super::{write_json_line, ExchangeRecord};
use crate::error::Result;
use crate::records::ExperimentRecord;
use crate::store::Store;
use athanor_model::{Origin, ProcessStep, Quantity};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

/// The uid scope of the objects this export writes.
pub(crate) const SCOPE: &str = "athanor";

pub(super) fn export_gemd(store: &Store, out: &mut dyn Write) -> Result<u64> {
    let mut written = 0u64;
    let mut campaign_lab_ids = BTreeMap::new();
    store.for_each_record(false, |record| {
        match record {
            ExchangeRecord::Campaign(campaign) => {
                campaign_lab_ids.insert(campaign.id, campaign.lab_id);
            }
            ExchangeRecord::Experiment(experiment) => {
                let campaign = campaign_lab_ids
                    .get(&experiment.campaign_id)
                    .cloned()
                    .unwrap_or_else(|| experiment.campaign_id.clone());
                for object in experiment_objects(&experiment, &campaign) {
                    write_json_line(out, &object)?;
                    written += 1;
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(written)
}

fn link(id: &str) -> Value {
    json!({ "type": "link_by_uid", "scope": SCOPE, "id": id })
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Specified => "specified",
        Origin::Measured => "measured",
        Origin::Computed => "computed",
        Origin::Predicted => "predicted",
    }
}

/// A GEMD real value: `normal_real` when a standard deviation is known, else `nominal_real`.
fn real(quantity: &Quantity) -> Value {
    match quantity.std {
        Some(std) => json!({
            "type": "normal_real", "mean": quantity.value, "std": std, "units": quantity.unit
        }),
        None => json!({
            "type": "nominal_real", "nominal": quantity.value, "units": quantity.unit
        }),
    }
}

fn attribute(kind: &str, name: &str, quantity: &Quantity, origin: &str) -> Value {
    json!({ "type": kind, "name": name, "value": real(quantity), "origin": origin })
}

/// Step set points (spec) or actuals (run) as GEMD parameters named `STEP.ACTION.NAME`.
fn step_parameters(steps: &[ProcessStep], actual: bool, origin: &str) -> Vec<Value> {
    let mut parameters = Vec::new();
    for step in steps {
        let values = if actual {
            &step.actuals
        } else {
            &step.setpoints
        };
        for (name, quantity) in values {
            let label = format!("{}.{}.{name}", step.index, step.action);
            parameters.push(attribute("parameter", &label, quantity, origin));
        }
    }
    parameters
}

/// The GEMD objects of one experiment, in link order (specs before the runs that point to
/// them).
pub(crate) fn experiment_objects(experiment: &ExperimentRecord, campaign: &str) -> Vec<Value> {
    let id = &experiment.id;
    let tags = vec![
        format!("athanor::campaign::{campaign}"),
        format!("athanor::experiment::{}", experiment.lab_id),
        format!("athanor::status::{}", experiment.status.as_str()),
    ];
    let process_spec_id = format!("{id}/process-spec");
    let process_run_id = format!("{id}/process-run");
    let material_spec_id = format!("{id}/material-spec");
    let material_run_id = format!("{id}/material-run");

    let mut spec_parameters: Vec<Value> = experiment
        .recipe
        .parameters
        .iter()
        .map(|(name, q)| attribute("parameter", name, q, "specified"))
        .collect();
    spec_parameters.extend(step_parameters(&experiment.spec_steps, false, "specified"));
    let mut objects = vec![
        json!({
            "type": "process_spec",
            "uids": { SCOPE: process_spec_id },
            "name": format!("{} recipe", experiment.lab_id),
            "tags": tags,
            "parameters": spec_parameters,
            "conditions": [],
            "notes": experiment.planner_note.to_string(),
            "file_links": [],
        }),
        json!({
            "type": "material_spec",
            "uids": { SCOPE: material_spec_id },
            "name": format!("{} product", experiment.lab_id),
            "tags": tags,
            "process": link(&process_spec_id),
            "properties": [],
            "file_links": [],
        }),
        json!({
            "type": "process_run",
            "uids": { SCOPE: process_run_id, "athanor_lab_id": experiment.lab_id },
            "name": format!("{} run", experiment.lab_id),
            "tags": tags,
            "spec": link(&process_spec_id),
            "parameters": step_parameters(&experiment.run_steps, true, "measured"),
            "conditions": [],
            "notes": experiment.failure,
            "file_links": [],
        }),
        json!({
            "type": "material_run",
            "uids": { SCOPE: material_run_id },
            "name": format!("{} product", experiment.lab_id),
            "tags": tags,
            "process": link(&process_run_id),
            "spec": link(&material_spec_id),
            "sample_type": "experimental",
            "file_links": [],
        }),
    ];
    for (index, measurement) in experiment.measurements.iter().enumerate() {
        let file_links: Vec<Value> = measurement
            .blob
            .iter()
            .map(|blob| {
                json!({
                    "type": "file_link",
                    "filename": blob.file_name,
                    "url": format!("athanor-blob:sha256:{}", blob.hash),
                })
            })
            .collect();
        objects.push(json!({
            "type": "measurement_run",
            "uids": { SCOPE: format!("{id}/measurement-{}", index + 1) },
            "name": format!("{} {}", experiment.lab_id, measurement.technique),
            "tags": tags,
            "material": link(&material_run_id),
            "properties": [],
            "conditions": [],
            "parameters": [],
            "source": { "type": "performed_source", "performed_by": measurement.instrument },
            "notes": measurement.conditions.to_string(),
            "file_links": file_links,
        }));
    }
    if !experiment.results.is_empty() {
        let properties: Vec<Value> = experiment
            .results
            .iter()
            .map(|r| {
                let mut property = attribute("property", &r.name, &r.quantity, origin(r.origin));
                property["notes"] = json!(format!("method: {}", r.method));
                property
            })
            .collect();
        objects.push(json!({
            "type": "measurement_run",
            "uids": { SCOPE: format!("{id}/results") },
            "name": format!("{} results", experiment.lab_id),
            "tags": tags,
            "material": link(&material_run_id),
            "properties": properties,
            "conditions": [],
            "parameters": [],
            "file_links": [],
        }));
    }
    objects
}
