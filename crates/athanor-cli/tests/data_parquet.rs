//! `athanor data export --format parquet` / `athanor data import FILE.parquet`: a store made
//! from a CSV table goes out as Parquet, into an empty data directory, and out again unchanged.

mod common;
use common::*;
use std::fs;

#[test]
fn parquet_export_imports_into_an_empty_store_and_exports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("runs.csv");
    fs::write(&table, "T (C),PL peak\n240,520.5\n250,531\n260,540\n").unwrap();
    let mapping = dir.path().join("runs.toml");
    fs::write(
        &mapping,
        r#"
[campaign]
name = "legacy"

[[columns]]
column = "T (C)"
role = "parameter"
name = "growth_temperature"
unit = "degC"

[[columns]]
column = "PL peak"
role = "result"
name = "pl_peak"
unit = "nm"
"#,
    )
    .unwrap();
    let (lab, copy) = (dir.path().join("lab"), dir.path().join("copy"));
    let (l, c) = (lab.to_str().unwrap(), copy.to_str().unwrap());
    let (t, m) = (table.to_str().unwrap(), mapping.to_str().unwrap());
    run_ok(&["data", "import", t, "--mapping", m, "--data-dir", l]);

    let first = dir.path().join("a.parquet");
    let a = first.to_str().unwrap();
    run_ok(&[
        "data",
        "export",
        "--format",
        "parquet",
        "-o",
        a,
        "--data-dir",
        l,
    ]);
    let bytes = fs::read(&first).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));

    let out = run_ok(&["data", "import", a, "--json", "--data-dir", c]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["campaigns"], 1);
    assert_eq!(summary["experiments"], 3);

    let second = dir.path().join("b.parquet");
    let b = second.to_str().unwrap();
    run_ok(&[
        "data",
        "export",
        "--format",
        "parquet",
        "-o",
        b,
        "--data-dir",
        c,
    ]);
    assert_eq!(bytes, fs::read(&second).unwrap(), "the re-export differs");

    // Importing the same table again is refused as a whole: exit code 2 or 1, nothing added.
    let out = run(&["data", "import", a, "--data-dir", c]);
    assert!(!out.status.success());
    let out = run(&[
        "data",
        "export",
        "--format",
        "parquet",
        "-o",
        b,
        "--data-dir",
        c,
    ]);
    assert!(out.status.success());
    assert_eq!(bytes, fs::read(&second).unwrap());
}
