//! The provenance graph: typed records with validation, spec vs run, lineage up and down with
//! depth limits, immutability of completed runs, revisions, and the campaign runner's records
//! in the graph. Every test runs on SQLite and (with `ATHANOR_TEST_POSTGRES_URL`) PostgreSQL.

mod common;

use athanor_model::attributes::{
    Attribute, AttributeTemplate, AttributeValue, Bounds, Template, TemplateRole,
};
use athanor_model::provenance::{EdgeKind, Ingredient, RecordBody, RecordKind, SizeDistribution};
use athanor_model::{Origin, ProcessStep, Quantity};
use athanor_store::{LineageDirection, Link, NewRecord, RecordStatus, StoreError, SCHEMA_VERSION};
use common::*;
use std::collections::BTreeMap;

crate::on_both_backends!(
    records_validate_and_name_the_field,
    spec_run_ingredients_and_lineage_both_ways,
    lineage_respects_the_depth_limit,
    completed_records_are_immutable_and_revisions_are_latest,
    campaign_experiments_join_the_graph,
);

fn nominal(name: &str, value: f64, unit: &str, origin: Origin) -> Attribute {
    Attribute::new(name, AttributeValue::Nominal { value }, unit, origin)
}

fn material(name: &str) -> NewRecord {
    NewRecord::new(
        RecordKind::MaterialRun,
        name,
        RecordBody::Material {
            properties: vec![nominal("concentration", 0.2, "mol/L", Origin::Specified)],
        },
    )
}

fn records_validate_and_name_the_field(db: TestDb) {
    let store = db.open();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let bad_unit = NewRecord::new(
        RecordKind::MaterialRun,
        "lot",
        RecordBody::Material {
            properties: vec![nominal("mass", 1.0, "grams of stuff", Origin::Measured)],
        },
    );
    match store.create_record(&bad_unit).unwrap_err() {
        StoreError::InvalidInput { field, .. } => assert_eq!(field, "mass.unit"),
        other => panic!("unexpected {other}"),
    }
    // A template's bounds reject a value out of range, after unit conversion.
    let template = Template {
        name: "synthesis".into(),
        attributes: vec![AttributeTemplate {
            name: "growth_temperature".into(),
            role: TemplateRole::Parameter,
            bounds: Bounds::Real {
                min: 200.0,
                max: 320.0,
                unit: "degC".into(),
            },
            log_scale: false,
        }],
    };
    let process = |kelvin: f64| {
        let mut new = NewRecord::new(
            RecordKind::ProcessSpec,
            "plan",
            RecordBody::Process {
                steps: vec![],
                parameters: vec![nominal(
                    "growth_temperature",
                    kelvin,
                    "K",
                    Origin::Specified,
                )],
                ingredients: vec![],
            },
        );
        new.template = Some(template.clone());
        new
    };
    let error = store.create_record(&process(700.0)).unwrap_err();
    assert!(error.to_string().contains("growth_temperature"), "{error}");
    assert!(store.create_record(&process(540.0)).is_ok());
    // A body that does not fit the kind, a lab id used twice, an unknown input.
    let wrong = NewRecord::new(
        RecordKind::Analysis,
        "x",
        RecordBody::Material { properties: vec![] },
    );
    assert!(matches!(
        store.create_record(&wrong).unwrap_err(),
        StoreError::InvalidInput { field, .. } if field == "body"
    ));
    let mut named = material("lot");
    named.lab_id = Some("LOT-1".into());
    store.create_record(&named).unwrap();
    assert!(store
        .create_record(&named)
        .unwrap_err()
        .to_string()
        .contains("already used"));
    let mut orphan = material("orphan");
    orphan.inputs = vec![Link {
        kind: EdgeKind::DerivedFrom,
        source: "NOPE".into(),
    }];
    assert!(matches!(
        store.create_record(&orphan).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    // A size distribution whose counts do not add up.
    let psd = NewRecord::new(
        RecordKind::Analysis,
        "psd",
        RecordBody::Analysis {
            method: "particle-size-distribution".into(),
            software: "athanor-vision".into(),
            parameters: vec![],
            results: vec![],
            distribution: Some(SizeDistribution {
                unit: "nm".into(),
                bin_edges: vec![2.0, 3.0, 4.0],
                counts: vec![3, 4],
                d10: 2.2,
                d50: 3.0,
                d90: 3.8,
                lognormal_mu: 1.1,
                lognormal_sigma: 0.15,
                count: 8,
            }),
        },
    );
    assert!(matches!(
        store.create_record(&psd).unwrap_err(),
        StoreError::InvalidInput { field, .. } if field == "distribution.count"
    ));
}

fn spec_run_ingredients_and_lineage_both_ways(db: TestDb) {
    let store = db.open();
    let mut lot = material("CdO precursor lot");
    lot.lab_id = Some("LOT-CDO-7".into());
    lot.completed = true;
    let lot = store.create_record(&lot).unwrap();
    assert_eq!(lot.status, RecordStatus::Completed);
    let spec = store
        .create_record(&NewRecord::new(
            RecordKind::ProcessSpec,
            "hot injection",
            RecordBody::Plain,
        ))
        .unwrap();
    assert!(spec.lab_id.starts_with("PS"), "{}", spec.lab_id);
    let mut setpoints = BTreeMap::new();
    setpoints.insert("temperature".to_string(), Quantity::new(250.0, "degC"));
    let mut actuals = BTreeMap::new();
    actuals.insert(
        "temperature".to_string(),
        Quantity::with_std(249.2, 0.4, "degC"),
    );
    let mut run = NewRecord::new(
        RecordKind::ProcessRun,
        "hot injection, run 1",
        RecordBody::Process {
            steps: vec![ProcessStep {
                index: 1,
                action: "grow".into(),
                setpoints,
                actuals,
                start: Some(Quantity::new(0.0, "s")),
                duration: Some(Quantity::new(3.0, "min")),
                device: "flask-1".into(),
            }],
            parameters: vec![],
            ingredients: vec![Ingredient {
                material: "LOT-CDO-7".into(),
                role: "precursor".into(),
                quantity: Some(Quantity::new(2.0, "mL")),
            }],
        },
    );
    run.inputs = vec![Link {
        kind: EdgeKind::Specifies,
        source: spec.id.clone(),
    }];
    let run = store.create_record(&run).unwrap();
    let blob = store.put_blob(b"tem image", "image/tiff", "a.tif").unwrap();
    let mut sample = material("QD batch");
    sample.inputs = vec![Link {
        kind: EdgeKind::Generated,
        source: run.lab_id.clone(),
    }];
    let sample = store.create_record(&sample).unwrap();
    let mut tem = NewRecord::new(
        RecordKind::MeasurementRun,
        "TEM",
        RecordBody::Measurement {
            technique: "TEM".into(),
            instrument: "sim-tem".into(),
            conditions: vec![nominal("magnification", 200000.0, "", Origin::Specified)],
            raw_files: vec![blob.hash.clone()],
            properties: vec![],
        },
    );
    tem.inputs = vec![Link {
        kind: EdgeKind::Measured,
        source: sample.id.clone(),
    }];
    let tem = store.create_record(&tem).unwrap();
    let mut analysis = NewRecord::new(
        RecordKind::Analysis,
        "psd",
        RecordBody::Analysis {
            method: "particle-size-distribution".into(),
            software: "athanor-vision".into(),
            parameters: vec![],
            results: vec![Attribute::new(
                "d50",
                AttributeValue::Normal {
                    mean: 4.1,
                    std: 0.2,
                },
                "nm",
                Origin::Computed,
            )],
            distribution: None,
        },
    );
    analysis.inputs = vec![Link {
        kind: EdgeKind::Used,
        source: blob.hash.clone(),
    }];
    let analysis = store.create_records(&[analysis]).unwrap().remove(0);

    // How was the number made: up from the analysis, through the blob, measurement, sample,
    // run, to the spec and the precursor lot.
    let up = store
        .lineage(&analysis.lab_id, LineageDirection::Up, 10)
        .unwrap();
    let labs: Vec<&str> = up.nodes.iter().map(|n| n.lab_id.as_str()).collect();
    assert_eq!(labs[0], analysis.lab_id);
    for expected in [
        tem.lab_id.as_str(),
        sample.lab_id.as_str(),
        run.lab_id.as_str(),
        spec.lab_id.as_str(),
        "LOT-CDO-7",
    ] {
        assert!(labs.contains(&expected), "{expected} not in {labs:?}");
    }
    let lot_node = up.nodes.iter().find(|n| n.lab_id == "LOT-CDO-7").unwrap();
    assert_eq!(lot_node.depth, 5);
    assert!(up
        .edges
        .iter()
        .any(|e| e.source == lot.id && e.target == run.id && e.kind == EdgeKind::Used));
    // Everything downstream of the precursor lot.
    let down = store
        .lineage("LOT-CDO-7", LineageDirection::Down, 10)
        .unwrap();
    let down_ids: Vec<&str> = down.nodes.iter().map(|n| n.id.as_str()).collect();
    for id in [&run.id, &sample.id, &tem.id, &blob.hash, &analysis.id] {
        assert!(down_ids.contains(&id.as_str()));
    }
    assert!(!down_ids.contains(&spec.id.as_str()));
    assert_eq!(down.edges.len(), 5);
}

fn lineage_respects_the_depth_limit(db: TestDb) {
    let store = db.open();
    // A chain of 15 derived records, built in one transaction.
    let mut chain = Vec::new();
    for i in 0..15 {
        let mut new = material(&format!("step {i}"));
        new.lab_id = Some(format!("CHAIN-{i:02}"));
        if i > 0 {
            new.inputs = vec![Link {
                kind: EdgeKind::DerivedFrom,
                source: format!("CHAIN-{:02}", i - 1),
            }];
        }
        chain.push(new);
    }
    store.create_records(&chain).unwrap();
    let down = store
        .lineage("CHAIN-00", LineageDirection::Down, 10)
        .unwrap();
    assert_eq!(down.nodes.len(), 11);
    assert_eq!(down.nodes.last().unwrap().lab_id, "CHAIN-10");
    assert_eq!(down.nodes.last().unwrap().depth, 10);
    assert_eq!(down.edges.len(), 10);
    let up = store.lineage("CHAIN-14", LineageDirection::Up, 3).unwrap();
    let labs: Vec<&str> = up.nodes.iter().map(|n| n.lab_id.as_str()).collect();
    assert_eq!(labs, ["CHAIN-14", "CHAIN-13", "CHAIN-12", "CHAIN-11"]);
    assert_eq!(
        store
            .lineage("CHAIN-14", LineageDirection::Up, 0)
            .unwrap()
            .nodes
            .len(),
        1
    );
    assert!(store
        .lineage("CHAIN-14", LineageDirection::Up, 100_000)
        .is_err());
}

fn completed_records_are_immutable_and_revisions_are_latest(db: TestDb) {
    let store = db.open();
    let result_body = |value: f64| RecordBody::Result {
        value: nominal("d50", value, "nm", Origin::Computed),
        method: "TEM/vision".into(),
    };
    let mut source = material("sample");
    source.lab_id = Some("S-REV".into());
    store.create_record(&source).unwrap();
    let mut new = NewRecord::new(RecordKind::Result, "d50", result_body(4.0));
    new.inputs = vec![Link {
        kind: EdgeKind::DerivedFrom,
        source: "S-REV".into(),
    }];
    let open = store.create_record(&new).unwrap();
    let extras = vec![nominal("operator_confidence", 0.9, "", Origin::Specified)];
    let updated = store
        .update_record(&open.lab_id, &result_body(4.2), &extras)
        .unwrap();
    assert_eq!(updated.extras, extras);
    let done = store.complete_record(&open.id).unwrap();
    assert_eq!(done.status, RecordStatus::Completed);
    let error = store
        .update_record(&open.lab_id, &result_body(9.9), &[])
        .unwrap_err();
    assert!(error.to_string().contains("immutable"), "{error}");
    assert!(store
        .link_records("S-REV", EdgeKind::Used, &open.id)
        .is_err());

    let revised = store
        .revise_record(
            &open.lab_id,
            &result_body(4.3),
            &[],
            "re-segmented with a new threshold",
        )
        .unwrap();
    assert_eq!(revised.version, 2);
    assert_eq!(revised.lab_id, open.lab_id);
    assert_eq!(revised.previous_id.as_deref(), Some(open.id.as_str()));
    let latest = store.record(&open.lab_id).unwrap().unwrap();
    assert_eq!(latest.id, revised.id);
    assert_eq!(latest.body, result_body(4.3));
    let old = store.record(&open.id).unwrap().unwrap();
    assert!(!old.latest);
    assert_eq!(old.body, result_body(4.2));
    assert_eq!(store.record_versions(&open.lab_id).unwrap().len(), 2);
    // The revision keeps the inputs and points back at the version it corrects.
    let up = store.lineage(&revised.id, LineageDirection::Up, 1).unwrap();
    let labs: Vec<(String, u32)> = up
        .nodes
        .iter()
        .map(|n| (n.lab_id.clone(), n.version))
        .collect();
    assert!(labs.contains(&("S-REV".to_string(), 1)));
    assert!(labs.contains(&(open.lab_id.clone(), 1)));
    assert!(store
        .revise_record(&open.id, &result_body(1.0), &[], "stale")
        .is_err());
}

fn campaign_experiments_join_the_graph(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("graph", 3)).unwrap();
    let first = store.record_planned(&planned(&campaign.id, 1)).unwrap();
    let run = store.record(&first.lab_id).unwrap().unwrap();
    assert_eq!(run.kind, RecordKind::ProcessRun);
    assert_eq!(run.status, RecordStatus::Open);
    store
        .record_completed(&completion(&store, &first.id, 1, 4096).unwrap())
        .unwrap();
    let second = store.record_planned(&planned(&campaign.id, 2)).unwrap();
    store
        .record_failed(&second.id, "pump stalled", "{}")
        .unwrap();

    let run = store.record(&first.lab_id).unwrap().unwrap();
    assert_eq!(run.status, RecordStatus::Completed);
    assert!(matches!(&run.body, RecordBody::Process { steps, .. } if !steps.is_empty()));
    let failed = store.record(&second.lab_id).unwrap().unwrap();
    assert_eq!(failed.extras[0].name, "failure");

    // "How was this number made": the d50 result goes back to the TEM blob, the measurement,
    // the sample, the experiment, its plan and the campaign.
    let results = store
        .lineage(&first.lab_id, LineageDirection::Down, 1)
        .unwrap();
    assert!(results
        .nodes
        .iter()
        .any(|n| n.kind == RecordKind::MaterialRun));
    let down = store
        .lineage(&campaign.lab_id, LineageDirection::Down, 10)
        .unwrap();
    let d50 = down
        .nodes
        .iter()
        .find(|n| n.kind == RecordKind::Result && n.name == "d50")
        .expect("a d50 result downstream of the campaign");
    let up = store.lineage(&d50.id, LineageDirection::Up, 10).unwrap();
    let kinds: Vec<RecordKind> = up.nodes.iter().map(|n| n.kind).collect();
    for kind in [
        RecordKind::Analysis,
        RecordKind::Blob,
        RecordKind::MeasurementRun,
        RecordKind::MaterialRun,
        RecordKind::ProcessRun,
        RecordKind::ProcessSpec,
        RecordKind::Campaign,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
    assert!(up.nodes.iter().any(|n| n.lab_id == campaign.lab_id));
    assert!(up
        .nodes
        .iter()
        .any(|n| n.lab_id == format!("{}-SPEC", first.lab_id)));
    // Completed experiment records are immutable through the graph API too.
    assert!(store
        .update_record(&first.lab_id, &RecordBody::Plain, &[])
        .is_err());
    assert!(store.check_integrity().unwrap().is_ok());
}
