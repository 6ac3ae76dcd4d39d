//! Importing past experiments from a CSV table or a spreadsheet with a column mapping
//! ([`athanor_store::transfer::table`]): units converted, bounds enforced with messages naming
//! the row and column, provenance recorded as for the runner's experiments, all or nothing.
//! Every test runs on SQLite and PostgreSQL (the latter with `ATHANOR_TEST_POSTGRES_URL`).

mod common;

use athanor_model::provenance::RecordKind;
use athanor_store::transfer::table::{import_csv, import_spreadsheet, TableMapping};
use athanor_store::transfer::{export, import_json_lines, ExportFormat, ExportOptions};
use athanor_store::{BackendKind, ExperimentStatus, LineageDirection, Store};
use common::*;
use std::io::Cursor;

crate::on_both_backends!(
    rows_become_completed_experiments_with_provenance,
    rows_extend_an_existing_campaign,
    bad_units_and_values_are_rejected_naming_the_column_and_row,
    a_rejected_row_leaves_the_store_unchanged,
    a_spreadsheet_sheet_imports_like_the_same_csv_table,
);

const TABLE: &str = "\
sample,T (C),time (s),ratio,PL peak,PL peak sd,humidity (%),notes\r
old-1,240,90,0.5,520.5,1.5,30,first try\r
old-2,250.5,120,,531,,35,\"ratio not noted, \"\"lost\"\"\"\r
old-3,261,150,0.25,540,2,,\r
";

const MAPPING: &str = r#"
empty_cells = "skip"

[campaign]
name = "legacy-cdse"
seed = 3
budget = 20

[[columns]]
column = "T (C)"
role = "parameter"
name = "growth_temperature"
unit = "degC"
to_unit = "K"
min = 200
max = 320

[[columns]]
column = "time (s)"
role = "parameter"
name = "growth_time"
unit = "s"
to_unit = "min"

[[columns]]
column = "ratio"
role = "parameter"
name = "cd_se_ratio"

[[columns]]
column = "PL peak"
role = "result"
name = "pl_peak"
unit = "nm"
std_column = "PL peak sd"
method = "PL spectrometer"

[[columns]]
column = "humidity (%)"
role = "condition"
name = "humidity"
unit = "%"

[template]
name = "hot injection"
[[template.attributes]]
name = "growth_temperature"
role = "parameter"
bounds = { type = "real", min = 473.15, max = 600.0, unit = "K" }
"#;

fn import(
    store: &Store,
    table: &str,
    mapping: &str,
) -> athanor_store::transfer::table::TableImportSummary {
    try_import(store, table, mapping).unwrap()
}

fn try_import(
    store: &Store,
    table: &str,
    mapping: &str,
) -> Result<athanor_store::transfer::table::TableImportSummary, athanor_store::StoreError> {
    let parsed = TableMapping::from_toml(mapping)?;
    import_csv(
        store,
        Cursor::new(table.as_bytes()),
        "old.csv",
        &parsed,
        mapping,
    )
}

fn rows_become_completed_experiments_with_provenance(db: TestDb) {
    let store = db.open();
    let summary = import(&store, TABLE, MAPPING);
    assert_eq!(summary.campaign, "C0001");
    assert_eq!(
        summary.experiments,
        ["C0001-E001", "C0001-E002", "C0001-E003"]
    );
    let campaign = store.campaign("C0001").unwrap().unwrap();
    assert_eq!(campaign.name, "legacy-cdse");
    assert_eq!(campaign.seed, 3);
    // The runner reads a campaign's experiments (recipes and results: the planner's
    // observations) with `Store::experiments`; the imported rows come back through it.
    let experiments = store.experiments(&campaign.id).unwrap();
    assert_eq!(experiments.len(), 3);
    assert!(experiments
        .iter()
        .all(|e| e.status == ExperimentStatus::Completed && e.completed_at.is_some()));
    let first = &experiments[0];
    let temperature = &first.recipe.parameters["growth_temperature"];
    assert_eq!(temperature.unit, "K");
    assert!((temperature.value - 513.15).abs() < 1e-9, "{temperature:?}");
    let time = &first.recipe.parameters["growth_time"];
    assert_eq!(time.unit, "min");
    assert!((time.value - 1.5).abs() < 1e-12);
    assert_eq!(first.recipe.parameters["cd_se_ratio"].value, 0.5);
    assert_eq!(first.results.len(), 1);
    assert_eq!(first.results[0].name, "pl_peak");
    assert_eq!(first.results[0].quantity.value, 520.5);
    assert_eq!(first.results[0].quantity.std, Some(1.5));
    assert_eq!(first.results[0].method, "PL spectrometer");
    assert_eq!(first.run_steps[0].actuals["humidity"].value, 30.0);
    assert_eq!(first.planner_note["strategy"], "imported");
    assert_eq!(first.planner_note["row"], 2);
    // Empty cells were skipped: row 3 has no ratio and no standard deviation, row 4 no
    // humidity (so no run step).
    assert!(!experiments[1].recipe.parameters.contains_key("cd_se_ratio"));
    assert_eq!(experiments[1].results[0].quantity.std, None);
    assert!(experiments[2].run_steps.is_empty());
    // No planner state: no planner proposed these.
    assert_eq!(store.latest_planner_state(&campaign.id).unwrap(), None);

    // The provenance graph is the runner's: result ← process run (with its spec) ← campaign.
    let up = store
        .lineage("C0001-E002-R1", LineageDirection::Up, 10)
        .unwrap();
    let kinds: Vec<RecordKind> = up.nodes.iter().map(|n| n.kind).collect();
    for kind in [
        RecordKind::Result,
        RecordKind::ProcessRun,
        RecordKind::Campaign,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {up:?}");
    }
    let down = store
        .lineage("C0001-E001", LineageDirection::Down, 3)
        .unwrap();
    assert!(down.nodes.iter().any(|n| n.lab_id == "C0001-E001-S1"));
    // Search sees the converted values.
    assert_eq!(
        store
            .search_hits("process.growth_temperature > 255 degC", None)
            .unwrap()
            .len(),
        1
    );
    assert!(store.check_integrity().unwrap().problems.is_empty());

    // And the imported campaign survives the exchange round trip like any other.
    let mut exported = Vec::new();
    export(
        &store,
        ExportFormat::JsonLines,
        ExportOptions::default(),
        &mut exported,
    )
    .unwrap();
    let destination_db = match db.kind() {
        BackendKind::Sqlite => TestDb::sqlite(),
        BackendKind::Postgres => TestDb::postgres("table_import_destination").unwrap(),
    };
    let destination = destination_db.open();
    import_json_lines(&destination, Cursor::new(&exported)).unwrap();
    assert_eq!(destination.experiments("C0001").unwrap(), experiments);
}

fn rows_extend_an_existing_campaign(db: TestDb) {
    let store = db.open();
    let campaign = store.create_campaign(&new_campaign("cdse", 7)).unwrap();
    let planned = store.record_planned(&planned(&campaign.id, 1)).unwrap();
    store
        .record_completed(&completion(&store, &planned.id, 1, 64).unwrap())
        .unwrap();
    let mapping = MAPPING.replace(
        "name = \"legacy-cdse\"\nseed = 3\nbudget = 20",
        "existing = \"C0001\"",
    );
    let summary = import(&store, TABLE, &mapping);
    assert_eq!(
        summary.experiments,
        ["C0001-E002", "C0001-E003", "C0001-E004"]
    );
    assert_eq!(store.campaigns().unwrap().len(), 1);
    assert_eq!(store.experiments(&campaign.id).unwrap().len(), 4);
    // The runner's planner state (after seq 1) is still the latest.
    assert_eq!(
        store.latest_planner_state(&campaign.id).unwrap().unwrap().0,
        1
    );
    let missing = mapping.replace("existing = \"C0001\"", "existing = \"C0042\"");
    let error = try_import(&store, TABLE, &missing).unwrap_err().to_string();
    assert!(error.contains("C0042"), "{error}");
}

fn bad_units_and_values_are_rejected_naming_the_column_and_row(db: TestDb) {
    let store = db.open();
    let cases: Vec<(String, String, &str)> = vec![
        // A unit of the wrong dimension for the stored unit names the mapping column.
        (
            TABLE.to_string(),
            MAPPING.replace("to_unit = \"min\"", "to_unit = \"nm\""),
            "mapping column 'time (s)': invalid to_unit",
        ),
        // …and against the template's bounds.
        (
            TABLE.to_string(),
            MAPPING.replace(
                "unit = \"degC\"\nto_unit = \"K\"",
                "unit = \"mL\"\nto_unit = \"L\"",
            ),
            "mapping column 'T (C)': invalid unit",
        ),
        (
            TABLE.to_string(),
            MAPPING.replace("unit = \"nm\"", "unit = \"furlongs per fortnight\""),
            "mapping column 'PL peak': invalid unit",
        ),
        // Out of the mapping's bounds: row (file line) and column.
        (
            TABLE.replace("261,150", "350,150"),
            MAPPING.to_string(),
            "old.csv row 4: invalid column 'T (C)': 350 degC is above the maximum 320 degC",
        ),
        // Out of the template's bounds after conversion: with the mapping's min lowered,
        // 190 degC (463.15 K) passes the mapping but not the template's 473.15 K minimum.
        (
            TABLE.replace("250.5,120", "190,120"),
            MAPPING.replace("min = 200", "min = 100"),
            "old.csv row 3: invalid column 'T (C)': growth_temperature",
        ),
        (
            TABLE.replace("520.5", "n/a"),
            MAPPING.to_string(),
            "old.csv row 2: invalid column 'PL peak': 'n/a' is not a finite number",
        ),
        (
            TABLE.to_string(),
            MAPPING.replace("empty_cells = \"skip\"", "empty_cells = \"error\""),
            "old.csv row 3: invalid column 'ratio': the cell is empty",
        ),
        (
            TABLE.replace("PL peak sd", "sd"),
            MAPPING.to_string(),
            "'PL peak sd' is not a column of old.csv",
        ),
        (
            TABLE.to_string(),
            MAPPING.replace("role = \"condition\"", "role = \"comment\""),
            "mapping: invalid file",
        ),
    ];
    for (table, mapping, expected) in cases {
        let error = try_import(&store, &table, &mapping)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(expected),
            "expected '{expected}' in: {error}"
        );
    }
    assert!(store.campaigns().unwrap().is_empty());
    // skip_row leaves rows with an empty mapped cell out.
    let summary = import(
        &store,
        TABLE,
        &MAPPING.replace("empty_cells = \"skip\"", "empty_cells = \"skip_row\""),
    );
    assert_eq!(summary.experiments, ["C0001-E001"]);
}

fn a_rejected_row_leaves_the_store_unchanged(db: TestDb) {
    let store = db.open();
    // The last row is bad: the campaign and the first rows must not be written either.
    let table = format!("{TABLE}old-4,999,10,0.1,600,1,20,too hot\r\n");
    let error = try_import(&store, &table, MAPPING).unwrap_err().to_string();
    assert!(error.contains("row 5"), "{error}");
    assert!(store.campaigns().unwrap().is_empty());
    let mut exported = Vec::new();
    export(
        &store,
        ExportFormat::JsonLines,
        ExportOptions::default(),
        &mut exported,
    )
    .unwrap();
    // Only the header line: no campaign, experiment or provenance record was left behind.
    assert_eq!(String::from_utf8(exported).unwrap().lines().count(), 1);
}

/// Writes `table` (CSV text, no quoted commas) as a real `.xlsx` workbook: a first sheet
/// "notes", then sheet `name` with the table starting at spreadsheet row 2 (row 1 empty),
/// numbers as numeric cells and the rest as text.
fn write_workbook(path: &std::path::Path, name: &str, table: &str) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook
        .add_worksheet()
        .set_name("notes")
        .unwrap()
        .write_string(0, 0, "nothing here")
        .unwrap();
    let sheet = workbook.add_worksheet().set_name(name).unwrap();
    for (r, line) in table.lines().enumerate() {
        for (c, cell) in line.trim_end_matches('\r').split(',').enumerate() {
            let (row, column) = (r as u32 + 1, c as u16);
            match cell.parse::<f64>() {
                Ok(number) => sheet.write_number(row, column, number).map(|_| ()),
                Err(_) if cell.is_empty() => Ok(()),
                Err(_) => sheet.write_string(row, column, cell).map(|_| ()),
            }
            .unwrap();
        }
    }
    workbook.save(path).unwrap();
}

fn a_spreadsheet_sheet_imports_like_the_same_csv_table(db: TestDb) {
    // The table without its quoted note (the workbook writer above splits on commas).
    let table = TABLE.replace("\"ratio not noted, \"\"lost\"\"\"", "lost");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.xlsx");
    write_workbook(&path, "runs", &table);
    let mapping = TableMapping::from_toml(MAPPING).unwrap();

    let store = db.open();
    let summary = import_spreadsheet(&store, &path, Some("runs"), &mapping, MAPPING).unwrap();
    assert_eq!(
        summary.experiments,
        ["C0001-E001", "C0001-E002", "C0001-E003"]
    );
    // The same rows from CSV, in a store of their own: identical recipes, results (units
    // converted, std where given, empty cells left out) and conditions.
    let reference = Store::open(&dir.path().join("csv-store")).unwrap();
    import(&reference, &table, MAPPING);
    let from_sheet = store.experiments("C0001").unwrap();
    let from_csv = reference.experiments("C0001").unwrap();
    assert_eq!(from_sheet.len(), 3);
    for (sheet, csv) in from_sheet.iter().zip(&from_csv) {
        assert_eq!(sheet.recipe, csv.recipe);
        assert_eq!(sheet.results, csv.results);
        assert_eq!(sheet.run_steps, csv.run_steps);
    }

    // A cell that is not a number is named by sheet, spreadsheet row and column; the table
    // starts at row 2, so its third data row is row 5.
    let bad = table.replace("261,", "n/a,");
    let bad_path = dir.path().join("bad.xlsx");
    write_workbook(&bad_path, "runs", &bad);
    let error = import_spreadsheet(&store, &bad_path, Some("runs"), &mapping, MAPPING)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("bad.xlsx sheet 'runs' row 5") && error.contains("'T (C)'"),
        "{error}"
    );
    assert!(error.contains("'n/a' is not a finite number"), "{error}");
    // Without a sheet name the first sheet is read: it has no such columns.
    let error = import_spreadsheet(&store, &path, None, &mapping, MAPPING)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("is not a column of old.xlsx sheet 'notes'"),
        "{error}"
    );
    let error = import_spreadsheet(&store, &path, Some("2024"), &mapping, MAPPING)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no sheet '2024' (sheets: notes, runs)"),
        "{error}"
    );
    // Nothing of the failed imports was written.
    assert_eq!(store.experiments("C0001").unwrap().len(), 3);
}
