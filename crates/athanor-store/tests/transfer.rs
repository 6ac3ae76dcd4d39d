//! Import and export ([`athanor_store::transfer`]): lossless round trips, all-or-nothing
//! imports, and the CSV and GEMD views. Every test runs on SQLite and PostgreSQL (see
//! `tests/common`; the PostgreSQL variants need `ATHANOR_TEST_POSTGRES_URL`).

mod common;

use athanor_model::attributes::{Attribute, AttributeValue};
use athanor_model::provenance::{EdgeKind, Ingredient, RecordBody, RecordKind};
use athanor_model::{Origin, Quantity};
use athanor_store::transfer::{
    export, import_json_lines, ExchangeRecord, ExportFormat, ExportOptions, EXCHANGE_VERSION,
};
use athanor_store::{
    BackendKind, CampaignStatus, LineageDirection, Link, NewRecord, Store, StoreError,
};
use common::*;
use std::io::Cursor;

crate::on_both_backends!(
    export_then_import_into_an_empty_store_is_identical,
    an_import_failing_at_any_record_leaves_the_store_unchanged,
    bad_lines_are_rejected_naming_the_line,
    csv_has_a_row_per_experiment_and_a_column_per_quantity,
    gemd_objects_link_runs_to_specs,
);

/// A second, empty store of the same backend as `db`.
fn empty_like(db: &TestDb) -> TestDb {
    match db.kind() {
        BackendKind::Sqlite => TestDb::sqlite(),
        BackendKind::Postgres => TestDb::postgres("transfer_destination").unwrap(),
    }
}

/// Two campaigns: completed, failed and still-planned experiments, with raw files.
fn populate(store: &Store) {
    let first = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    for seq in 1..=3 {
        let planned = store.record_planned(&planned(&first.id, seq)).unwrap();
        store
            .record_completed(&completion(store, &planned.id, seq, 1500 + seq as usize).unwrap())
            .unwrap();
    }
    let failed = store.record_planned(&planned(&first.id, 4)).unwrap();
    store
        .record_failed(
            &failed.id,
            "syringe pump stalled, \"twice\"",
            &planner_state(4),
        )
        .unwrap();
    store.record_planned(&planned(&first.id, 5)).unwrap();
    store
        .set_campaign_status(&first.id, CampaignStatus::Stopped)
        .unwrap();
    let second = store
        .create_campaign(&new_campaign("inp", u64::MAX))
        .unwrap();
    let planned = store.record_planned(&planned(&second.id, 1)).unwrap();
    store
        .record_completed(&completion(store, &planned.id, 1, 64).unwrap())
        .unwrap();
    // A blob no record references is exported too.
    store.put_blob(b"orphan", "text/plain", "o.txt").unwrap();
    add_hand_made_records(store);
}

/// Hand-made provenance records beside the campaigns': a precursor lot, a process spec and a
/// run using it as an ingredient, a result derived from the run, and a revision of the result.
fn add_hand_made_records(store: &Store) {
    let nominal = |name: &str, value: f64, unit: &str, origin: Origin| Attribute {
        name: name.to_string(),
        value: AttributeValue::Nominal { value },
        unit: unit.to_string(),
        origin,
    };
    let mut lot = NewRecord::new(
        RecordKind::MaterialRun,
        "CdO lot 7",
        RecordBody::Material {
            properties: vec![nominal("concentration", 0.2, "mol/L", Origin::Specified)],
        },
    );
    lot.lab_id = Some("LOT-CDO-7".into());
    lot.completed = true;
    store.create_record(&lot).unwrap();
    let spec = store
        .create_record(&NewRecord::new(
            RecordKind::ProcessSpec,
            "hot injection",
            RecordBody::Process {
                steps: vec![],
                parameters: vec![nominal("temperature", 250.0, "degC", Origin::Specified)],
                ingredients: vec![],
            },
        ))
        .unwrap();
    let mut run = NewRecord::new(
        RecordKind::ProcessRun,
        "hot injection, by hand",
        RecordBody::Process {
            steps: vec![],
            parameters: vec![nominal("temperature", 251.0, "degC", Origin::Measured)],
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
    run.extras = vec![nominal("humidity", 31.0, "%", Origin::Measured)];
    let run = store.create_record(&run).unwrap();
    let result_body = |value: f64| RecordBody::Result {
        value: nominal("d50", value, "nm", Origin::Computed),
        method: "TEM by hand".into(),
    };
    let mut result = NewRecord::new(RecordKind::Result, "d50", result_body(4.0));
    result.lab_id = Some("R-HAND-1".into());
    result.inputs = vec![Link {
        kind: EdgeKind::DerivedFrom,
        source: run.lab_id.clone(),
    }];
    result.completed = true;
    store.create_record(&result).unwrap();
    store
        .revise_record("R-HAND-1", &result_body(4.3), &[], "re-measured")
        .unwrap();
}

fn export_text(store: &Store, format: ExportFormat, include_blob_content: bool) -> String {
    let mut out = Vec::new();
    export(
        store,
        format,
        ExportOptions {
            include_blob_content,
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

fn export_then_import_into_an_empty_store_is_identical(db: TestDb) {
    let source = db.open();
    populate(&source);
    let exported = export_text(&source, ExportFormat::JsonLines, true);
    assert!(exported.starts_with(&format!(
        "{{\"format\":\"athanor-exchange\",\"version\":{EXCHANGE_VERSION}"
    )));

    let destination_db = empty_like(&db);
    let destination = destination_db.open();
    let summary = import_json_lines(&destination, Cursor::new(exported.as_bytes())).unwrap();
    assert_eq!(summary.campaigns, 2);
    assert_eq!(summary.experiments, 6);
    assert_eq!(summary.planner_states, 5);
    // 4 micrographs, 3 spectra (campaign 2's seq 1 shares campaign 1's), the shared
    // calibration file and the orphan.
    assert_eq!(summary.blobs, 9);

    // Everything, compared as the exchange file (ids, timestamps, values, blob bytes)…
    assert_eq!(
        export_text(&destination, ExportFormat::JsonLines, true),
        exported
    );
    // …and through the ordinary read API.
    assert_eq!(
        destination.campaigns().unwrap(),
        source.campaigns().unwrap()
    );
    for campaign in source.campaigns().unwrap() {
        assert_eq!(
            destination.experiments(&campaign.id).unwrap(),
            source.experiments(&campaign.id).unwrap()
        );
        assert_eq!(
            destination.latest_planner_state(&campaign.id).unwrap(),
            source.latest_planner_state(&campaign.id).unwrap()
        );
    }
    let report = destination.check_integrity().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.blobs_checked, 9);
    // Search works on imported data (the recipe values were indexed).
    assert_eq!(
        destination
            .search_hits("process.growth_temperature > 242 degC", None)
            .unwrap()
            .len(),
        source
            .search_hits("process.growth_temperature > 242 degC", None)
            .unwrap()
            .len()
    );
    // The provenance graph came along: every record version (the revision included, still
    // the latest) and the lineage of the campaign's and the hand-made records.
    assert_eq!(summary.prov_records, source_prov_count(&source));
    assert!(summary.prov_edges > 0);
    let revised = destination.record("R-HAND-1").unwrap().unwrap();
    assert_eq!(revised.version, 2);
    assert_eq!(revised, source.record("R-HAND-1").unwrap().unwrap());
    for (key, direction) in [
        ("R-HAND-1", LineageDirection::Up),
        ("LOT-CDO-7", LineageDirection::Down),
        ("C0001-E002-R1", LineageDirection::Up),
        ("C0001", LineageDirection::Down),
    ] {
        let lineage = destination.lineage(key, direction, 20).unwrap();
        assert_eq!(
            lineage,
            source.lineage(key, direction, 20).unwrap(),
            "{key}"
        );
        assert!(lineage.nodes.len() > 1, "{key}: {lineage:?}");
    }
    // The hand-made result's lineage reaches the precursor lot through the run.
    let up = destination
        .lineage("R-HAND-1", LineageDirection::Up, 20)
        .unwrap();
    assert!(up.nodes.iter().any(|n| n.lab_id == "LOT-CDO-7"), "{up:?}");
    // New experiments continue the imported numbering.
    let next = destination.record_planned(&planned("C0002", 2)).unwrap();
    assert_eq!(next.lab_id, "C0002-E002");

    // Importing the same file again is refused as a whole.
    let error = import_json_lines(&destination, Cursor::new(exported.as_bytes())).unwrap_err();
    assert!(error.to_string().contains("import record 1"), "{error}");
}

/// The number of provenance record versions in `store`.
fn source_prov_count(store: &Store) -> u64 {
    let mut count = 0;
    store
        .for_each_record(false, |record| {
            count += u64::from(matches!(record, ExchangeRecord::ProvRecord(_)));
            Ok(())
        })
        .unwrap();
    count
}

fn an_import_failing_at_any_record_leaves_the_store_unchanged(db: TestDb) {
    let source = db.open();
    populate(&source);
    let mut records = Vec::new();
    source
        .for_each_record(true, |record| {
            records.push(record);
            Ok(())
        })
        .unwrap();

    // The destination already holds data of its own (a campaign C0009), which must survive
    // untouched.
    let destination_db = empty_like(&db);
    let destination = destination_db.open();
    let ExchangeRecord::Campaign(mut own) = records[0].clone() else {
        unreachable!("campaigns come first")
    };
    own.id = "own-campaign".to_string();
    own.lab_id = "C0009".to_string();
    destination
        .import_records([Ok(ExchangeRecord::Campaign(own))])
        .unwrap();
    destination.record_planned(&planned("C0009", 1)).unwrap();
    let before = export_text(&destination, ExportFormat::JsonLines, false);

    // Fail (as a reader error would) at the first, a middle and the last record.
    for fail_at in [0, records.len() / 2, records.len() - 1] {
        let feed = records.iter().enumerate().map(|(index, record)| {
            if index == fail_at {
                Err(StoreError::InvalidInput {
                    record: "test".to_string(),
                    field: "record".to_string(),
                    problem: format!("injected failure at record {}", index + 1),
                })
            } else {
                Ok(record.clone())
            }
        });
        let error = destination.import_records(feed).unwrap_err();
        assert!(error.to_string().contains("injected failure"), "{error}");
        assert_eq!(
            export_text(&destination, ExportFormat::JsonLines, false),
            before,
            "failure at record {fail_at} changed the store"
        );
    }
    // A record the store rejects (here: an experiment whose campaign is missing) as well.
    let orphan = records
        .iter()
        .rev()
        .find(|r| matches!(r, ExchangeRecord::Experiment(_)))
        .cloned()
        .unwrap();
    let feed = records
        .iter()
        .filter(|r| !matches!(r, ExchangeRecord::Campaign(c) if c.lab_id == "C0002"))
        .cloned()
        .chain(std::iter::once(orphan))
        .map(Ok);
    let error = destination.import_records(feed).unwrap_err().to_string();
    assert!(error.contains("neither in the store"), "{error}");
    assert_eq!(
        export_text(&destination, ExportFormat::JsonLines, false),
        before
    );
    assert!(destination.check_integrity().unwrap().problems.is_empty());
    // The same records without a failure import fine: the failures above were the injected
    // ones, not conflicts with the destination's own data.
    let summary = destination
        .import_records(records.iter().cloned().map(Ok))
        .unwrap();
    assert_eq!(summary.total(), records.len() as u64);
    assert_eq!(destination.campaigns().unwrap().len(), 3);
}

fn bad_lines_are_rejected_naming_the_line(db: TestDb) {
    let store = db.open();
    let header = format!(
        "{{\"format\":\"athanor-exchange\",\"version\":{EXCHANGE_VERSION},\"record_kinds\":[]}}"
    );
    let cases = [
        (String::new(), "line 1"),
        (
            "{\"format\":\"athanor-exchange\",\"version\":99}\n".to_string(),
            "version 99 is not supported",
        ),
        (
            "{\"format\":\"other\",\"version\":1}\n".to_string(),
            "'other' is not 'athanor-exchange'",
        ),
        (
            format!("{header}\n\n{{\"kind\":\"sample\",\"record\":{{}}}}\n"),
            "import line 3",
        ),
        (format!("{header}\n{{not json\n"), "import line 2"),
    ];
    for (text, expected) in cases {
        let error = import_json_lines(&store, Cursor::new(text.as_bytes()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(expected),
            "expected '{expected}' in: {error}"
        );
    }
    let error = import_json_lines(
        &store,
        Cursor::new(format!("{header}\n{{\"kind\":\"sample\",\"record\":{{}}}}\n").as_bytes()),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("newer Athanor"), "{error}");
    assert!(store.campaigns().unwrap().is_empty());
}

fn csv_has_a_row_per_experiment_and_a_column_per_quantity(db: TestDb) {
    let store = db.open();
    populate(&store);
    let csv = export_text(&store, ExportFormat::Csv, false);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1 + 6, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&header[..3], ["campaign", "experiment", "seq"]);
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column '{name}' in {header:?}"))
    };
    let temperature = column("recipe.growth_temperature [degC]");
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[1], "C0001-E001");
    assert_eq!(first[3], "completed");
    assert_eq!(
        first[temperature].parse::<f64>().unwrap(),
        recipe(1).parameters["growth_temperature"].value
    );
    let result = &expected_results(1)[0];
    let value_column = column(&format!("{} [{}]", result.name, result.quantity.unit));
    assert_eq!(
        first[value_column].parse::<f64>().unwrap(),
        result.quantity.value
    );
    // The failure reason holds a comma and quotes: quoted, quotes doubled.
    assert!(
        csv.contains("\"syringe pump stalled, \"\"twice\"\"\""),
        "{csv}"
    );
}

fn gemd_objects_link_runs_to_specs(db: TestDb) {
    let store = db.open();
    populate(&store);
    let text = export_text(&store, ExportFormat::Gemd, false);
    let objects: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let of_type = |kind: &'static str| objects.iter().filter(move |o| o["type"] == kind);
    assert_eq!(of_type("process_spec").count(), 6);
    assert_eq!(of_type("process_run").count(), 6);
    assert_eq!(of_type("material_run").count(), 6);
    // Every link points to an object in the export.
    let uids: std::collections::BTreeSet<&str> = objects
        .iter()
        .map(|o| o["uids"]["athanor"].as_str().unwrap())
        .collect();
    for object in &objects {
        for field in ["spec", "process", "material"] {
            if let Some(link) = object.get(field) {
                assert_eq!(link["type"], "link_by_uid");
                assert!(uids.contains(link["id"].as_str().unwrap()), "{link}");
            }
        }
    }
    // Results are properties with units and origin; the first experiment's first result:
    let e1 = &store.experiment("C0001-E001").unwrap().unwrap();
    let results = objects
        .iter()
        .find(|o| o["uids"]["athanor"] == format!("{}/results", e1.id))
        .unwrap();
    let property = &results["properties"][0];
    let expected = &e1.results[0];
    assert_eq!(property["name"], expected.name.as_str());
    assert_eq!(property["value"]["units"], expected.quantity.unit.as_str());
    let number = if expected.quantity.std.is_some() {
        &property["value"]["mean"]
    } else {
        &property["value"]["nominal"]
    };
    assert_eq!(number.as_f64().unwrap(), expected.quantity.value);
    // Measurement files are linked by content hash.
    let tem = e1.measurements[0].blob.as_ref().unwrap();
    assert!(text.contains(&format!("athanor-blob:sha256:{}", tem.hash)));
}
