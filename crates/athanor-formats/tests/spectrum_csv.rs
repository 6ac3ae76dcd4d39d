//! Spectrum tables as delimited text: exact round trips and tolerance of what instruments write.

use athanor_formats::{
    read_spectrum_csv, read_spectrum_csv_with_metadata, write_spectrum_csv,
    write_spectrum_csv_with_metadata, FormatError, SpectrumTable,
};
use std::collections::BTreeMap;

fn example_table() -> SpectrumTable {
    let x: Vec<f64> = (0..301).map(|i| 400.0 + 0.5 * i as f64).collect();
    let absorbance = x
        .iter()
        .map(|w| 0.8 * (-(w - 520.0) * (w - 520.0) / 800.0).exp() + 1.0 / 3.0)
        .collect();
    let pl = x
        .iter()
        .map(|w| (1.0e4 * (-(w - 545.0) * (w - 545.0) / 300.0).exp()).round())
        .collect();
    SpectrumTable {
        x_name: "wavelength".into(),
        x_unit: "nm".into(),
        columns: vec![
            ("absorbance".into(), "1".into()),
            ("photoluminescence".into(), "counts".into()),
        ],
        x,
        values: vec![absorbance, pl],
    }
}

#[test]
fn written_tables_read_back_exactly() {
    let table = example_table();
    let bytes = write_spectrum_csv(&table);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("wavelength [nm],absorbance [1],photoluminescence [counts]\n"));
    let back = read_spectrum_csv(&bytes).unwrap();
    // Bit-identical floats, including 1/3-like values that need 17 significant digits.
    assert_eq!(back, table);
    assert_eq!(back.unit_of("photoluminescence"), Some("counts"));
    assert_eq!(back.column("absorbance").unwrap().len(), 301);
}

#[test]
fn metadata_travels_in_comment_lines() {
    let table = example_table();
    let mut metadata = BTreeMap::new();
    metadata.insert("sample".to_string(), "QD-0042".to_string());
    metadata.insert("instrument".to_string(), "Cary 60\nUV-Vis".to_string());
    metadata.insert(
        "time: start".to_string(),
        "2025-01-01T10:00:00Z".to_string(),
    );
    let bytes = write_spectrum_csv_with_metadata(&table, &metadata);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("# instrument: Cary 60 UV-Vis\n"), "{text}");
    let (back, read_metadata) = read_spectrum_csv_with_metadata(&bytes).unwrap();
    assert_eq!(back, table);
    assert_eq!(read_metadata["sample"], "QD-0042");
    assert_eq!(read_metadata["instrument"], "Cary 60 UV-Vis");
    assert_eq!(read_metadata["time_ start"], "2025-01-01T10:00:00Z");
}

#[test]
fn instrument_exports_in_other_dialects_are_read() {
    // Semicolons with decimal commas, parenthesised units, CRLF, a BOM, comments and blank lines.
    let european =
        "\u{feff}# Exported by SpectraSuite\r\n\r\nWavelength (nm);Intensity (counts);\r\n\
                    500,0;12,5;\r\n# a comment in the middle\r\n500,5;13;\r\n";
    let table = read_spectrum_csv(european.as_bytes()).unwrap();
    assert_eq!(
        (table.x_name.as_str(), table.x_unit.as_str()),
        ("Wavelength", "nm")
    );
    assert_eq!(table.columns, vec![("Intensity".into(), "counts".into())]);
    assert_eq!(table.x, vec![500.0, 500.5]);
    assert_eq!(table.values, vec![vec![12.5, 13.0]]);

    // Tabs, quoted header fields, scientific notation.
    let tabbed = "\"energy [eV]\"\t\"PL, normalised\"\n2.0\t1e-3\n2.1\t-4.5E+2\n";
    let table = read_spectrum_csv(tabbed.as_bytes()).unwrap();
    assert_eq!(table.x_unit, "eV");
    assert_eq!(table.columns[0], ("PL, normalised".into(), String::new()));
    assert_eq!(table.values[0], vec![1e-3, -450.0]);

    // Whitespace-separated without a header; Latin-1 bytes in a comment.
    let bare = b"# \xB5 sample\n400   0.1\n401 0.2\n";
    let table = read_spectrum_csv(bare).unwrap();
    assert_eq!(
        (table.x_name.as_str(), table.columns[0].0.as_str()),
        ("x", "y1")
    );
    assert_eq!(table.x, vec![400.0, 401.0]);
}

#[test]
fn errors_name_the_line_and_column() {
    let mut text = String::from("# header comment\nwavelength [nm],absorbance [1]\n");
    for i in 0..54 {
        text.push_str(&format!("{},0.5\n", 400 + i));
    }
    // This is line 57.
    text.push_str("454,abc\n");
    let err = read_spectrum_csv(text.as_bytes()).unwrap_err();
    assert_eq!(err.to_string(), "line 57, column 2: `abc` is not a number");
    assert!(matches!(
        err,
        FormatError::CsvCell {
            line: 57,
            column: 2,
            ..
        }
    ));

    let err = read_spectrum_csv(b"x,y\n1,2\n3\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: expected 2 columns separated by commas, found 1"
    );

    let err = read_spectrum_csv(b"x,y\n1,\n").unwrap_err();
    assert_eq!(err.to_string(), "line 2, column 2: empty value");

    let err = read_spectrum_csv(b"wavelength [nm]\n400\n").unwrap_err();
    assert!(matches!(err, FormatError::CsvRow { line: 1, .. }), "{err}");

    assert!(matches!(
        read_spectrum_csv(b"x,y\n"),
        Err(FormatError::CsvNoData(_))
    ));
    assert!(matches!(
        read_spectrum_csv(b"# only\n\n"),
        Err(FormatError::CsvNoData(_))
    ));
}

#[test]
fn ragged_tables_are_still_written_readably() {
    let table = SpectrumTable {
        x_name: "wavelength".into(),
        x_unit: "nm".into(),
        columns: vec![("a".into(), String::new())],
        x: vec![1.0, 2.0],
        values: vec![vec![5.0], vec![7.0, 8.0]],
    };
    let back = read_spectrum_csv(&write_spectrum_csv(&table)).unwrap();
    assert_eq!(back.columns.len(), 2);
    assert_eq!(back.columns[1].0, "column2");
    assert!(back.values[0][1].is_nan());
    assert_eq!(back.values[1], vec![7.0, 8.0]);
}
