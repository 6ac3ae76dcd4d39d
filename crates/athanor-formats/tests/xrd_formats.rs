//! Diffraction-pattern and JCAMP-DX readers on the synthetic fixtures in `tests/fixtures/xrd`
//! (written by `make_fixtures.py` there from the published format descriptions): every format
//! holds the same quartz-like pattern, so all readers must agree with each other.

use athanor_formats::dataset::{detect_kind, FileKind};
use athanor_formats::{
    read_any, read_jcamp, read_xy, write_jcamp, write_xy, Dataset, FormatError, XyData,
};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xrd")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pattern of `make_fixtures.py`: 201 points from 20° in 0.05° steps.
fn expected_counts() -> Vec<f64> {
    (0..201)
        .map(|i| {
            let t = 20.0 + i as f64 * 0.05;
            (50.0
                + 1000.0 * (-((t - 26.64) / 0.08f64).powi(2)).exp()
                + 300.0 * (-((t - 20.86) / 0.08f64).powi(2)).exp())
            .round()
        })
        .collect()
}

fn values(dataset: &Dataset) -> Vec<f64> {
    (0..dataset.data.len())
        .map(|i| dataset.data.value_f64(i).unwrap())
        .collect()
}

const PATTERN_FILES: [(&str, FileKind); 10] = [
    ("quartz.xy", FileKind::XyText),
    ("quartz_noheader.csv", FileKind::XyText),
    ("quartz.xrdml", FileKind::Xrdml),
    ("quartz_list.xrdml", FileKind::Xrdml),
    ("quartz_v3.raw", FileKind::BrukerRaw),
    ("quartz_v4.raw", FileKind::BrukerRaw),
    ("quartz.brml", FileKind::Brml),
    ("quartz.ras", FileKind::RigakuRas),
    ("quartz_affn.jdx", FileKind::Jcamp),
    ("quartz_dif.jdx", FileKind::Jcamp),
];

#[test]
fn every_format_gives_the_same_pattern_on_a_two_theta_axis() {
    let want = expected_counts();
    for (name, kind) in PATTERN_FILES {
        let bytes = fixture(name);
        // A misleading name does not change the reader.
        assert_eq!(detect_kind(&bytes, Some("x.tif")).unwrap(), kind, "{name}");
        let dataset = read_any(&bytes, Some(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(dataset.shape, vec![201], "{name}");
        let axis = &dataset.axes[0];
        assert_eq!(axis.units.as_deref(), Some("deg"), "{name}");
        assert!((axis.offset - 20.0).abs() < 1e-9, "{name}: {}", axis.offset);
        assert!((axis.scale - 0.05).abs() < 1e-6, "{name}: {}", axis.scale);
        assert_eq!(values(&dataset), want, "{name}");
        // The strongest reflection sits at 26.65° (grid point nearest 26.64°).
        let strongest = (0..201)
            .max_by(|&a, &b| want[a].total_cmp(&want[b]))
            .unwrap();
        assert!((axis.offset + strongest as f64 * axis.scale - 26.65).abs() < 1e-6);
        assert!(
            !dataset
                .notes
                .iter()
                .any(|n| n.contains("not equally spaced")),
            "{name}: {:?}",
            dataset.notes
        );
    }
}

#[test]
fn diffraction_metadata_is_normalised() {
    for name in [
        "quartz.xrdml",
        "quartz_v3.raw",
        "quartz_v4.raw",
        "quartz.brml",
        "quartz.ras",
    ] {
        let dataset = read_any(&fixture(name), None).unwrap();
        let m = &dataset.metadata;
        assert_eq!(m.sample_name.as_deref(), Some("quartz-synthetic"), "{name}");
        let x = m.xray.as_ref().unwrap();
        assert_eq!(x.anode.as_deref(), Some("Cu"), "{name}");
        assert!(
            (x.k_alpha1_angstrom.unwrap() - 1.540598).abs() < 1e-6,
            "{name}"
        );
        assert!(
            (x.k_alpha2_angstrom.unwrap() - 1.544426).abs() < 1e-6,
            "{name}"
        );
        assert!((x.time_per_step_s.unwrap() - 0.5).abs() < 1e-9, "{name}");
        if name != "quartz.ras" {
            assert_eq!(x.k_alpha2_ratio, Some(0.5), "{name}");
        }
        assert!(m.instrument_vendor.is_some(), "{name}");
    }
    let xrdml = read_any(&fixture("quartz.xrdml"), None).unwrap();
    let x = xrdml.metadata.xray.unwrap();
    assert_eq!(x.scan_type.as_deref(), Some("Continuous"));
    assert_eq!(x.scan_axis.as_deref(), Some("Gonio"));
    assert_eq!(
        (x.tube_voltage_kv, x.tube_current_ma),
        (Some(45.0), Some(40.0))
    );
    assert!((x.step_deg.unwrap() - 0.05).abs() < 1e-12);
    let v4 = read_any(&fixture("quartz_v4.raw"), None).unwrap();
    assert_eq!(
        v4.metadata.xray.unwrap().scan_type.as_deref(),
        Some("Locked Coupled")
    );
    let v3 = read_any(&fixture("quartz_v3.raw"), None).unwrap();
    assert!(v3.notes.iter().any(|n| n.contains("2 ranges")));
    let brml = read_any(&fixture("quartz.brml"), None).unwrap();
    assert_eq!(
        brml.metadata.instrument_model.as_deref(),
        Some("D8 ADVANCE")
    );
    let xy = read_any(&fixture("quartz.xy"), None).unwrap();
    assert_eq!(xy.axes[0].name, "2theta");
    assert_eq!(xy.original_metadata["sigma"].as_array().unwrap().len(), 201);
    let csv = read_any(&fixture("quartz_noheader.csv"), None).unwrap();
    assert!(csv.notes.iter().any(|n| n.contains("taken as 2θ")));
}

#[test]
fn peak_tables_keep_their_unequal_positions() {
    let table = read_jcamp(&fixture("quartz_peaks.jdx")).unwrap();
    assert_eq!(table.x, vec![20.86, 26.64]);
    assert_eq!(table.y, vec![350.0, 1050.0]);
    assert_eq!(
        table.metadata.technique.as_deref(),
        Some("X-RAY DIFFRACTION")
    );
    let compressed = read_jcamp(&fixture("quartz_dif.jdx")).unwrap();
    assert!(compressed.notes.iter().any(|n| n.contains("DIF")));
}

fn example_pattern(uniform: bool) -> XyData {
    let mut data = XyData::new_pattern("test");
    data.x = (0..57)
        .map(|i| 5.0 + i as f64 * 0.013 + if uniform { 0.0 } else { (i * i) as f64 * 1e-3 })
        .collect();
    data.y = (0..57)
        .map(|i| (i as f64 * 0.37).sin() * 1e3 + 1e3 / 3.0)
        .collect();
    data.metadata.sample_name = Some("LiFePO4 batch 7".into());
    data.metadata.instrument_model = Some("Aeris".into());
    data
}

#[test]
fn xy_written_then_read_is_identical() {
    let mut data = example_pattern(false);
    data.sigma = Some(data.y.iter().map(|y| y.abs().sqrt()).collect());
    data.metadata.xray = Some(athanor_formats::XrayScanMetadata {
        anode: Some("Co".into()),
        k_alpha1_angstrom: Some(1.78897),
        k_alpha2_ratio: Some(0.5),
        step_deg: Some(0.013),
        time_per_step_s: Some(1.25),
        ..Default::default()
    });
    let back = read_xy(&write_xy(&data)).unwrap();
    assert_eq!(back.x, data.x);
    assert_eq!(back.y, data.y);
    assert_eq!(back.sigma, data.sigma);
    assert_eq!((back.x_name.as_str(), back.x_unit.as_str()), ("2θ", "deg"));
    assert_eq!(back.metadata.sample_name, data.metadata.sample_name);
    assert_eq!(back.metadata.xray, data.metadata.xray);
}

#[test]
fn jcamp_written_then_read_keeps_values() {
    for uniform in [true, false] {
        let data = example_pattern(uniform);
        let bytes = write_jcamp(&data).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.contains("##XYDATA=(X++(Y..Y))"), uniform);
        let back = read_jcamp(&bytes).unwrap();
        assert_eq!(back.y, data.y, "uniform {uniform}");
        for (a, b) in back.x.iter().zip(&data.x) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(back.x.len(), data.x.len());
        assert_eq!((back.x_name.as_str(), back.x_unit.as_str()), ("2θ", "deg"));
        assert_eq!(back.metadata.sample_name, data.metadata.sample_name);
        assert_eq!(
            back.metadata.instrument_model,
            data.metadata.instrument_model
        );
    }
    assert!(write_jcamp(&XyData::new_pattern("empty")).is_err());
}

#[test]
fn truncated_and_hostile_files_are_errors() {
    for name in [
        "quartz_v3.raw",
        "quartz_v4.raw",
        "quartz.brml",
        "quartz.xrdml",
    ] {
        let bytes = fixture(name);
        for end in (0..bytes.len()).step_by(7) {
            assert!(
                read_any(&bytes[..end], Some(name)).is_err(),
                "{name} cut at {end}"
            );
        }
    }
    // Text formats: any prefix either reads or fails, never panics.
    for name in [
        "quartz.xy",
        "quartz.ras",
        "quartz_affn.jdx",
        "quartz_dif.jdx",
    ] {
        let bytes = fixture(name);
        for end in 0..bytes.len() {
            let _ = read_any(&bytes[..end], Some(name));
        }
    }
    // A v3 range claiming 2³² − 1 steps is refused before allocating.
    let mut raw = fixture("quartz_v3.raw");
    raw[712 + 4..712 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        read_any(&raw, None),
        Err(FormatError::Corrupt { .. })
    ));
    // NPOINTS far beyond what the file can hold, and a DUP bomb.
    let jdx = String::from_utf8(fixture("quartz_affn.jdx")).unwrap();
    let huge = jdx.replace("##NPOINTS=201", "##NPOINTS=99999999999");
    assert!(read_jcamp(huge.as_bytes()).is_err());
    let bomb = "##TITLE=b\n##XUNITS=1/CM\n##YUNITS=ABSORBANCE\n##FIRSTX=0\n##LASTX=1\n\
                ##NPOINTS=2\n##XYDATA=(X++(Y..Y))\n0 A%s999999999999\n##END=\n";
    assert!(read_jcamp(bomb.as_bytes()).is_err());
    // RAW v2 is refused by name.
    let err = read_any(b"RAW2\x01\x00\x00\x00rest", None).unwrap_err();
    assert!(err.to_string().contains("RAW version 2"), "{err}");
    // Unknown compression forms are named.
    let form = "##TITLE=t\n##FIRSTX=0\n##LASTX=1\n##NPOINTS=2\n##XYDATA=(XY..XY)\n0 1\n##END=\n";
    assert!(matches!(
        read_jcamp(form.as_bytes()),
        Err(FormatError::Unsupported { .. })
    ));
}
