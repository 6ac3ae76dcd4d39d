//! `athanor data export` / `athanor data import` on a campaign made by `athanor run`.

mod common;
use common::*;
use std::fs;

#[test]
fn export_import_round_trip_and_bad_files_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = campaign_variant(
        dir.path(),
        "short.toml",
        &[
            ("budget = 40", "budget = 2"),
            ("initial = 10", "initial = 2"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
        ],
    );
    let source = dir.path().join("lab");
    let (c, s) = (campaign.to_str().unwrap(), source.to_str().unwrap());
    let out = run(&["run", c, "--seed", "3", "--data-dir", s, "--json"]);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Lossless export with the raw files, into a file.
    let exported = dir.path().join("lab.jsonl");
    let e = exported.to_str().unwrap();
    run_ok(&[
        "data",
        "export",
        "--format",
        "json",
        "--with-blobs",
        "-o",
        e,
        "--data-dir",
        s,
    ]);
    let text = fs::read_to_string(&exported).unwrap();
    assert!(
        text.starts_with("{\"format\":\"athanor-exchange\""),
        "{text}"
    );
    assert!(text.contains("\"kind\":\"experiment\""));
    assert!(text.contains("\"content_base64\""));

    // Import into an empty data directory; its export is the same file.
    let copy = dir.path().join("copy");
    let d = copy.to_str().unwrap();
    let out = run_ok(&["data", "import", e, "--json", "--data-dir", d]);
    let summary = last_json_line(&out);
    assert_eq!(summary["campaigns"], 1);
    assert_eq!(summary["experiments"], 2);
    let out = run(&["data", "export", "--with-blobs", "--data-dir", d]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);

    // Importing it again: refused as a whole (exit 1 or 2), nothing changes.
    let out = run(&["data", "import", e, "--data-dir", d]);
    assert!(!out.status.success());
    let out = run(&["data", "export", "--with-blobs", "--data-dir", d]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);

    // A file that breaks at its last line: exit 2, the error names the line, nothing written.
    let broken = dir.path().join("broken.jsonl");
    fs::write(
        &broken,
        format!("{text}{{\"kind\":\"sample\",\"record\":{{}}}}\n"),
    )
    .unwrap();
    let fresh = dir.path().join("fresh");
    let f = fresh.to_str().unwrap();
    let out = run(&["data", "import", broken.to_str().unwrap(), "--data-dir", f]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = text.lines().count() + 1;
    assert!(stderr.contains(&format!("line {lines}")), "{stderr}");
    let out = run(&["data", "export", "--format", "csv", "--data-dir", f]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");

    // CSV and GEMD views of the source.
    let out = run(&["data", "export", "--format", "csv", "--data-dir", s]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("C0001,C0001-E001,1,"));
    let out = run(&["data", "export", "--format", "gemd", "--data-dir", s]);
    assert!(out.status.success());
    let gemd = String::from_utf8(out.stdout).unwrap();
    assert!(gemd.contains("\"type\":\"process_spec\""));
    assert!(gemd.contains("\"type\":\"material_run\""));

    // An unknown format is bad input.
    let out = run(&["data", "export", "--format", "xlsx", "--data-dir", s]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_csv_table_with_a_mapping_becomes_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let table = dir.path().join("old-runs.csv");
    fs::write(
        &table,
        "T (C),time (s),PL peak\n240,90,520.5\n250,120,531\n260,150,540\n",
    )
    .unwrap();
    let mapping = dir.path().join("old-runs.toml");
    let mapping_text = r#"
[campaign]
name = "legacy"

[[columns]]
column = "T (C)"
role = "parameter"
name = "growth_temperature"
unit = "degC"
min = 200
max = 300

[[columns]]
column = "time (s)"
role = "parameter"
name = "growth_time"
unit = "s"
to_unit = "min"

[[columns]]
column = "PL peak"
role = "result"
name = "pl_peak"
unit = "nm"
"#;
    fs::write(&mapping, mapping_text).unwrap();
    let (t, m, l) = (
        table.to_str().unwrap(),
        mapping.to_str().unwrap(),
        lab.to_str().unwrap(),
    );
    let out = run(&[
        "data",
        "import",
        t,
        "--mapping",
        m,
        "--data-dir",
        l,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["campaign"], "C0001");
    assert_eq!(summary["experiments"].as_array().unwrap().len(), 3);

    // The rows are experiments like any other: the CSV export lists them, converted.
    let out = run(&["data", "export", "--format", "csv", "--data-dir", l]);
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains("recipe.growth_time [min]"), "{csv}");
    assert!(csv.contains("pl_peak [nm]"), "{csv}");
    assert!(csv.contains("C0001-E003"), "{csv}");

    // A value out of the mapping's bounds: exit code 2, the row and column named, nothing
    // written.
    fs::write(
        &table,
        "T (C),time (s),PL peak\n240,90,520.5\n350,120,531\n",
    )
    .unwrap();
    let out = run(&["data", "import", t, "--mapping", m, "--data-dir", l]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("row 3") && stderr.contains("column 'T (C)'"),
        "{stderr}"
    );
    // A unit of the wrong dimension names the mapping column.
    fs::write(
        &mapping,
        mapping_text.replace("to_unit = \"min\"", "to_unit = \"kg\""),
    )
    .unwrap();
    let out = run(&["data", "import", t, "--mapping", m, "--data-dir", l]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mapping column 'time (s)'"), "{stderr}");
    let out = run(&["data", "export", "--format", "csv", "--data-dir", l]);
    let after = String::from_utf8(out.stdout).unwrap();
    assert_eq!(after, csv);
}

#[test]
fn a_spreadsheet_sheet_with_a_mapping_becomes_a_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let (book, lab) = (dir.path().join("notebook.xlsx"), dir.path().join("lab"));
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet().set_name("summary").unwrap();
    let sheet = workbook.add_worksheet().set_name("2024").unwrap();
    sheet.write_string(0, 0, "T (C)").unwrap();
    sheet.write_string(0, 1, "PL peak").unwrap();
    for (row, (t, peak)) in [(240.0, 520.5), (251.25, 531.0)].into_iter().enumerate() {
        sheet.write_number(row as u32 + 1, 0, t).unwrap();
        sheet.write_number(row as u32 + 1, 1, peak).unwrap();
    }
    workbook.save(&book).unwrap();
    let mapping = dir.path().join("map.toml");
    fs::write(
        &mapping,
        "[campaign]\nname = \"notebook\"\n\n[[columns]]\ncolumn = \"T (C)\"\nrole = \"parameter\"\n\
         name = \"growth_temperature\"\nunit = \"degC\"\n\n[[columns]]\ncolumn = \"PL peak\"\n\
         role = \"result\"\nname = \"pl_peak\"\nunit = \"nm\"\n",
    )
    .unwrap();
    let (b, m, l) = (
        book.to_str().unwrap(),
        mapping.to_str().unwrap(),
        lab.to_str().unwrap(),
    );
    // `data import FILE --sheet SHEET --mapping M --data-dir L`.
    let import = |file: &str, sheet: &str| {
        vec![
            "data".to_string(),
            "import".into(),
            file.into(),
            "--sheet".into(),
            sheet.into(),
            "--mapping".into(),
            m.into(),
            "--data-dir".into(),
            l.into(),
        ]
    };
    let args = import(b, "2024");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&[&args[..], &["--json"]].concat());
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["experiments"].as_array().unwrap().len(), 2);
    let out = run(&["data", "export", "--format", "csv", "--data-dir", l]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.contains("251.25") && csv.contains("531"), "{csv}");

    // A missing sheet and --sheet on a CSV file are bad input (exit 2), named.
    let table = dir.path().join("t.csv");
    fs::write(&table, "T (C),PL peak\n240,520\n").unwrap();
    for ((file, sheet), expected) in [
        ((b, "2025"), "no sheet '2025'"),
        ((table.to_str().unwrap(), "2024"), "--sheet"),
    ] {
        let args = import(file, sheet);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
}
