//! `athanor inspect` on real instrument files, and `athanor vision analyze|eval` on real
//! micrographs with hand-made ground truth (the shared EMPS data).

mod common;
use common::*;
use std::path::PathBuf;

fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {} is missing", p.display());
        None
    }
}

#[test]
fn inspect_prints_normalised_metadata_and_rejects_garbage() {
    let Some(file) = shared("fixtures/em/digitalmicrograph_1D_test-EELS_spectrum.dm3") else {
        return;
    };
    let out = run_ok(&["inspect", file.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "DM3");
    assert_eq!(doc["dtype"], "float32");
    assert_eq!(doc["axes"][0]["units"], "eV");
    assert_eq!(doc["axes"][0]["scale"], 0.5);
    assert_eq!(doc["metadata"]["beam_energy_kv"], 200.0);

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tif");
    std::fs::write(&junk, b"not an image at all").unwrap();
    let out = run(&["inspect", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.tif"));
}

#[test]
fn inspect_writes_a_png_preview() {
    let Some(file) = shared("fixtures/em/digitalmicrograph_2D_test-23.dm4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("preview.png");
    run_ok(&[
        "inspect",
        file.to_str().unwrap(),
        "--preview",
        png.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G']));
}

#[test]
fn inspect_merges_an_sem_sidecar_from_either_side() {
    // A 16 × 10 image (two data-bar rows) next to the Hitachi sidecar fixture of
    // athanor-formats, whose 16 × 8 frame is calibrated at 24.8 nm per pixel.
    let sidecar = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../athanor-formats/tests/fixtures/sem/hitachi_s4800.txt");
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hitachi_s4800.tif");
    let tiff = athanor_formats::write_tiff_u16(&athanor_formats::CalibratedImage {
        width: 16,
        height: 10,
        pixels: (0..160).map(|i| i * 300).collect(),
        pixel_size: None,
        description: None,
    })
    .unwrap();
    std::fs::write(&image, tiff).unwrap();
    let text = dir.path().join("hitachi_s4800.txt");
    std::fs::copy(&sidecar, &text).unwrap();
    for file in [&image, &text] {
        let out = run_ok(&["inspect", file.to_str().unwrap()]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["shape"], serde_json::json!([8, 16]), "{doc}");
        assert_eq!(doc["dtype"], "uint16");
        assert_eq!(doc["axes"][1]["units"], "nm");
        assert!((doc["axes"][1]["scale"].as_f64().unwrap() - 24.8).abs() < 1e-9);
        assert_eq!(doc["metadata"]["beam_energy_kv"], 15.0);
    }
    let png = dir.path().join("preview.png");
    let out = run(&[
        "inspect",
        image.to_str().unwrap(),
        "--preview",
        png.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    // The preview is of the cropped frame: PNG width 16, height 8 (IHDR at byte 16).
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[16..24], &[0, 0, 0, 16, 0, 0, 0, 8]);
}

#[test]
fn vision_analyzes_and_scores_real_micrographs() {
    let Some(emps) = shared("datasets/emps-train") else {
        return;
    };
    let image = emps.join("images/00655d9628.png");
    let out = run_ok(&["vision", "analyze", image.to_str().unwrap(), "--json"]);
    let docs = last_json_line(&out);
    assert!(docs[0]["particles"].as_u64().unwrap() > 0);
    // The PNG has no pixel size; its scale bar's label "200 nm" is read instead.
    assert_eq!(docs[0]["pixel_size_source"], "scale bar (read: \"200 nm\")");
    assert_eq!(docs[0]["scale_label"]["length_nm"], 200.0);

    let out = run_ok(&["vision", "eval", emps.to_str().unwrap(), "--limit", "4"]);
    let figures = last_json_line(&out);
    assert_eq!(figures["summary"]["images"], 4);
    let f1 = figures["summary"]["mean_f1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&f1));

    // Label maps (16-bit PNG, one value per particle) and overlays for other tools to use.
    let dir = tempfile::tempdir().unwrap();
    let (labels, overlays) = (dir.path().join("labels"), dir.path().join("overlays"));
    let out = run_ok(&[
        "vision",
        "analyze",
        image.to_str().unwrap(),
        "--json",
        "--labels",
        labels.to_str().unwrap(),
        "--overlay",
        overlays.to_str().unwrap(),
    ]);
    let particles = last_json_line(&out)[0]["particles"].as_u64().unwrap();
    let map = std::fs::read(labels.join("00655d9628.labels.png")).unwrap();
    let map = athanor_formats::read_any(&map, None).unwrap();
    let athanor_formats::DataArray::U16(values) = &map.data else {
        panic!("16-bit label map")
    };
    let distinct: std::collections::BTreeSet<u16> =
        values.iter().copied().filter(|&v| v != 0).collect();
    assert_eq!(distinct.len() as u64, particles, "one label per particle");
    assert_eq!(map.shape, vec![515, 512]);
    assert!(overlays.join("00655d9628.overlay.png").exists());

    let bad = run(&[
        "vision",
        "analyze",
        image.to_str().unwrap(),
        "/nonexistent.png",
    ]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "a batch reports bad files and fails at the end"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent.png"));
}
