//! `athanor data ingest`: instrument files become blobs plus a measurement record that
//! `data show` and `data lineage` can see.

mod common;
use athanor_model::provenance::{RecordBody, RecordKind};
use athanor_store::{LineageDirection, NewRecord, Store};
use common::*;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The real EM fixtures (rosettasciio test data), when this checkout has them.
fn em_fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/em");
    if dir.join("EXPECTED.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "!!!!! SKIPPED: EM fixtures not found at {} — this test checked nothing !!!!!",
            dir.display()
        );
        None
    }
}

fn formats_fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../athanor-formats/tests/fixtures")
        .join(relative)
}

/// Copies `inner` out of `archive` into `dir`.
fn unzip(archive: &Path, inner: &str, dir: &Path) -> PathBuf {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(archive).unwrap()).unwrap();
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(inner))
        .unwrap_or_else(|| panic!("{inner} not in {}", archive.display()))
        .to_string();
    let mut bytes = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
    let path = dir.join(inner);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn ingest(data: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["data", "ingest"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
    run(&args)
}

/// `data ingest … --json`: asserts the exit code and returns the array.
fn ingest_json(data: &Path, extra: &[&str], code: i32) -> Vec<Value> {
    let mut args = extra.to_vec();
    args.push("--json");
    let out = ingest(data, &args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
        .as_array()
        .unwrap()
        .clone()
}

fn data_json(data: &Path, args: &[&str]) -> Value {
    let mut all = vec!["data"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", "--data-dir", data.to_str().unwrap()]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The condition `name` of a `data show --json` record: (central value, unit).
fn condition(shown: &Value, name: &str) -> (f64, String) {
    let body = &shown["record"]["body"];
    let c = body["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no condition {name} in {body}"));
    assert_eq!(c["origin"], "measured");
    (
        c["value"]["value"].as_f64().unwrap(),
        c["unit"].as_str().unwrap().to_string(),
    )
}

fn measurements_of_blob(store: &Store, hash: &str) -> Vec<String> {
    store
        .lineage(hash, LineageDirection::Up, 1)
        .unwrap()
        .nodes
        .iter()
        .filter(|n| n.kind == RecordKind::MeasurementRun)
        .map(|n| n.lab_id.clone())
        .collect()
}

fn blob_files(data: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let path = e.path();
                        if path.is_dir() {
                            count(&path)
                        } else {
                            1
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    count(&data.join("blobs"))
}

#[test]
fn em_files_become_measurements_with_typed_conditions_blobs_and_lineage() {
    let Some(em) = em_fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let eels = em.join("digitalmicrograph_1D_test-EELS_spectrum.dm3");
    let zeiss = unzip(
        &em.join("tiff_tiff_Zeiss_SEM.zip"),
        "test_tiff_Zeiss_SEM_512pix.tif",
        dir.path(),
    );
    let out = ingest_json(&data, &[eels.to_str().unwrap(), zeiss.to_str().unwrap()], 0);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|o| o["status"] == "ingested"), "{out:?}");
    let (eels_id, zeiss_id) = (
        out[0]["lab_id"].as_str().unwrap(),
        out[1]["lab_id"].as_str().unwrap(),
    );
    assert_ne!(eels_id, zeiss_id);

    // The DM3 EELS spectrum: technique and beam energy from its tags, with units.
    let shown = data_json(&data, &["show", eels_id]);
    assert_eq!(shown["record"]["kind"], "measurement_run");
    assert_eq!(shown["record"]["status"], "completed");
    assert_eq!(shown["record"]["body"]["technique"], "EELS");
    assert_eq!(condition(&shown, "beam_energy"), (200.0, "kV".to_string()));
    let (wavelength, unit) = condition(&shown, "wavelength");
    assert!((wavelength - 2.5079).abs() < 1e-3 && unit == "pm");

    // The Zeiss SEM TIFF: pixel size converted to nm (the true one, AP_IMAGE_PIXEL_SIZE).
    let shown = data_json(&data, &["show", zeiss_id]);
    assert_eq!(shown["record"]["body"]["technique"], "SEM");
    assert!(shown["record"]["body"]["instrument"]
        .as_str()
        .unwrap()
        .contains("Zeiss"));
    let (pixel, unit) = condition(&shown, "pixel_size");
    assert!((pixel - 11.649976).abs() < 1e-4, "pixel size {pixel}");
    assert_eq!(unit, "nm");
    assert_eq!(condition(&shown, "beam_energy"), (5.0, "kV".to_string()));
    assert_eq!(
        condition(&shown, "working_distance"),
        (3.9, "mm".to_string())
    );
    let extras = shown["record"]["extras"].as_array().unwrap();
    let extra = |name: &str| extras.iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(
        extra("file_name")["value"]["text"],
        "test_tiff_Zeiss_SEM_512pix.tif"
    );
    assert_eq!(extra("format")["value"]["category"], "TIFF (Zeiss SEM)");
    assert_eq!(extra("dtype")["value"]["category"], "uint8");

    // The raw blob holds the file's exact bytes; the metadata blob is the original tree.
    let store = Store::open(&data).unwrap();
    let raw = shown["record"]["body"]["raw_files"].as_array().unwrap();
    assert_eq!(raw.len(), 1);
    let hash = raw[0].as_str().unwrap();
    assert_eq!(
        store.read_blob(hash).unwrap(),
        std::fs::read(&zeiss).unwrap()
    );
    let metadata_hash = extra("original_metadata")["value"]["blob"]
        .as_str()
        .unwrap()
        .to_string();
    let tree: Value = serde_json::from_slice(&store.read_blob(&metadata_hash).unwrap()).unwrap();
    assert!(tree.is_object() && !tree.as_object().unwrap().is_empty());

    // Lineage down from the measurement reaches the blob through a generated edge.
    let down = data_json(&data, &["lineage", zeiss_id, "--down"]);
    let blob_node = down["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == hash)
        .expect("the blob is downstream");
    assert_eq!(blob_node["kind"], "blob");
    assert!(down["edges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["target"] == hash && e["kind"] == "generated"));
    // and `data show` lists it among the neighbours.
    assert!(shown["downstream"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["id"] == hash));
}

#[test]
fn re_ingest_reuses_the_blob_and_reports_the_earlier_record_unless_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let file = formats_fixture("xrd/quartz.xrdml");
    let file = file.to_str().unwrap();
    let first = ingest_json(&data, &[file], 0);
    assert_eq!(first[0]["status"], "ingested");
    let lab_id = first[0]["lab_id"].as_str().unwrap().to_string();
    let hash = first[0]["raw_files"][0]["hash"]
        .as_str()
        .unwrap()
        .to_string();
    let blobs = blob_files(&data);

    // Again: nothing new, the earlier lab id is reported (also in the text output).
    let second = ingest_json(&data, &[file], 0);
    assert_eq!(second[0]["status"], "already_ingested");
    assert_eq!(second[0]["lab_id"], lab_id.as_str());
    let out = ingest(&data, &[file]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("already ingested: {lab_id}")));
    assert_eq!(blob_files(&data), blobs);
    let store = Store::open(&data).unwrap();
    assert_eq!(measurements_of_blob(&store, &hash), vec![lab_id.clone()]);

    // --again: a second measurement of the same (single) blob.
    let third = ingest_json(&data, &[file, "--again"], 0);
    assert_eq!(third[0]["status"], "ingested");
    let again_id = third[0]["lab_id"].as_str().unwrap().to_string();
    assert_ne!(again_id, lab_id);
    assert_eq!(third[0]["raw_files"][0]["hash"], hash.as_str());
    assert_eq!(blob_files(&data), blobs);
    let mut both = measurements_of_blob(&store, &hash);
    both.sort();
    assert_eq!(both, vec![lab_id, again_id]);
}

#[test]
fn xrd_pattern_records_xray_conditions_and_technique_override() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let file = formats_fixture("xrd/quartz.xrdml");
    let out = ingest_json(&data, &[file.to_str().unwrap(), "--technique", "PXRD"], 0);
    let lab_id = out[0]["lab_id"].as_str().unwrap();
    let shown = data_json(&data, &["show", lab_id]);
    assert_eq!(shown["record"]["body"]["technique"], "PXRD");
    assert!(shown["record"]["body"]["instrument"]
        .as_str()
        .unwrap()
        .contains("PANalytical"));
    let (k_alpha1, unit) = condition(&shown, "xray_wavelength_k_alpha1");
    assert!((k_alpha1 - 1.5406).abs() < 1e-3, "Kα1 {k_alpha1}");
    assert_eq!(unit, "Å");
}

#[test]
fn a_corrupt_file_is_bad_input_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let corrupt = dir.path().join("broken.dm3");
    // A DM3 header that promises more than the file holds.
    std::fs::write(&corrupt, [0u8, 0, 0, 3, 0, 0, 1, 0, 0, 0, 0, 1, 0]).unwrap();
    let out = ingest(&data, &[corrupt.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.dm3"), "{stderr}");
    assert_eq!(blob_files(&data), 0);
    let store = Store::open(&data).unwrap();
    assert!(store.record("X000001").unwrap().is_none());

    // With a good file next to it: the good one is ingested, the bad one listed, exit 1.
    let good = formats_fixture("xrd/quartz.ras");
    let out = ingest_json(
        &data,
        &[corrupt.to_str().unwrap(), good.to_str().unwrap()],
        1,
    );
    assert_eq!(out[0]["status"], "failed");
    assert!(out[0]["error"].as_str().unwrap().contains("broken.dm3"));
    assert_eq!(out[1]["status"], "ingested");
    let record = store.record(out[1]["lab_id"].as_str().unwrap()).unwrap();
    assert_eq!(record.unwrap().name, "quartz.ras");
}

#[test]
fn sample_and_campaign_links_and_unknown_lab_ids() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let store = Store::open(&data).unwrap();
    let mut sample = NewRecord::new(
        RecordKind::MaterialRun,
        "quartz powder",
        RecordBody::Material {
            properties: Vec::new(),
        },
    );
    sample.lab_id = Some("LOT-Q1".into());
    store.create_record(&sample).unwrap();
    let mut campaign = NewRecord::new(RecordKind::Campaign, "quartz survey", RecordBody::Plain);
    campaign.lab_id = Some("CQ".into());
    store.create_record(&campaign).unwrap();
    let file = formats_fixture("xrd/quartz.xy");
    let file = file.to_str().unwrap();

    // Unknown or wrong-kind lab ids: bad input, nothing stored.
    for bad in [
        vec![file, "--sample", "LOT-NONE"],
        vec![file, "--campaign", "LOT-Q1"],
    ] {
        let out = ingest(&data, &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert_eq!(blob_files(&data), 0, "{bad:?} stored a blob");
    }

    let out = ingest_json(
        &data,
        &[
            file,
            "--sample",
            "LOT-Q1",
            "--campaign",
            "CQ",
            "--technique",
            "XRD",
        ],
        0,
    );
    let lab_id = out[0]["lab_id"].as_str().unwrap();
    let up = data_json(&data, &["lineage", lab_id, "--up", "--depth", "1"]);
    let node_id = |lab: &str| {
        up["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["lab_id"] == lab)
            .unwrap_or_else(|| panic!("{lab} not upstream: {up}"))["id"]
            .clone()
    };
    let measurement = node_id(lab_id);
    let edges = up["edges"].as_array().unwrap();
    let has = |source: &Value, kind: &str| {
        edges
            .iter()
            .any(|e| &e["source"] == source && e["target"] == measurement && e["kind"] == kind)
    };
    assert!(has(&node_id("LOT-Q1"), "measured"));
    assert!(has(&node_id("CQ"), "part_of"));
}

#[test]
fn an_sem_image_is_stored_with_its_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("lab");
    let sidecar_text = std::fs::read(formats_fixture("sem/hitachi_s4800.txt")).unwrap();
    std::fs::write(dir.path().join("hitachi_s4800.txt"), &sidecar_text).unwrap();
    let image = athanor_formats::CalibratedImage {
        width: 16,
        height: 8,
        pixels: (0..128).map(|i| i * 100).collect(),
        pixel_size: None,
        description: None,
    };
    let tiff = dir.path().join("hitachi_s4800.tif");
    std::fs::write(&tiff, athanor_formats::write_tiff_u16(&image).unwrap()).unwrap();

    let out = ingest_json(&data, &[tiff.to_str().unwrap(), "--technique", "SEM"], 0);
    let raw = out[0]["raw_files"].as_array().unwrap();
    assert_eq!(raw.len(), 2, "{out:?}");
    assert_eq!(raw[1]["file_name"], "hitachi_s4800.txt");
    let store = Store::open(&data).unwrap();
    assert_eq!(
        store.read_blob(raw[1]["hash"].as_str().unwrap()).unwrap(),
        sidecar_text
    );
    let shown = data_json(&data, &["show", out[0]["lab_id"].as_str().unwrap()]);
    assert_eq!(condition(&shown, "beam_energy"), (15.0, "kV".to_string()));
    let (pixel, unit) = condition(&shown, "pixel_size");
    assert!(
        (pixel - 24.8).abs() < 1e-9 && unit == "nm",
        "{pixel} {unit}"
    );

    // Given the sidecar instead, the same pair is found: already ingested.
    let sidecar = dir.path().join("hitachi_s4800.txt");
    let again = ingest_json(&data, &[sidecar.to_str().unwrap(), "--technique", "SEM"], 0);
    assert_eq!(again[0]["status"], "already_ingested");
    assert_eq!(again[0]["lab_id"], out[0]["lab_id"]);
}
