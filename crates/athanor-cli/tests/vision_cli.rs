//! `athanor vision analyze` on a folder of generated micrographs: calibration from the file,
//! population statistics, QC verdicts and exit codes, CSV/SVG outputs, corrupt files.

mod common;
use athanor_formats::{write_tiff_u16, CalibratedImage};
use athanor_model::Quantity;
use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
use common::*;
use std::path::Path;

/// A calibrated 16-bit TIFF of the twin's micrograph: 5 nm particles at 0.2 nm/px.
fn write_micrograph(dir: &Path, name: &str, seed: u64) -> std::path::PathBuf {
    let spec = MicrographSpec {
        width: 320,
        height: 256,
        touching_fraction: 0.0,
        agglomerate_fraction: 0.0,
        ..MicrographSpec::default()
    };
    let m = render_micrograph(&[5.0], &spec, seed).unwrap();
    let tiff = write_tiff_u16(&CalibratedImage {
        width: m.width,
        height: m.height,
        pixels: m.pixels,
        pixel_size: Some(Quantity::new(0.2, "nm")),
        description: None,
    })
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, tiff).unwrap();
    path
}

#[test]
fn batch_reports_population_qc_and_failed_files() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    let good = write_micrograph(&images, "a.tif", 1);
    std::fs::write(images.join("broken.tif"), b"II*\0 not really a tiff").unwrap();
    std::fs::write(images.join("notes.txt"), b"ignored: not an image extension").unwrap();
    let spec = dir.path().join("qc.toml");
    std::fs::write(
        &spec,
        "d50 = \"5.0 ± 0.3 nm\"\ncv_max = 0.08\nagglomerates_max = 0.05\nmin_count = 10\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = run(&[
        "vision",
        "analyze",
        images.to_str().unwrap(),
        "--json",
        "--spec",
        spec.to_str().unwrap(),
        "--csv",
        out_dir.to_str().unwrap(),
        "--histogram",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a corrupt file fails the batch: {stderr}"
    );
    assert!(
        stderr.contains("1 of 2 file(s) failed") && stderr.contains("broken.tif"),
        "{stderr}"
    );
    let docs = last_json_line(&out);
    let docs = docs.as_array().unwrap();
    assert_eq!(
        docs.len(),
        2,
        "the .txt file is not picked up from the folder"
    );
    let a = &docs[0];
    assert_eq!(a["file"], good.display().to_string());
    assert_eq!(a["pixel_size_source"], "metadata");
    assert!((a["pixel_size_nm"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    let p = &a["population"];
    let count = p["count"].as_u64().unwrap();
    assert!(count >= 10, "{p}");
    let d50 = p["number"]["d50_nm"].as_f64().unwrap();
    assert!((d50 - 5.0).abs() < 0.2, "D50 {d50}");
    let (low, high) = (
        p["bootstrap"]["d50_nm"]["low"].as_f64().unwrap(),
        p["bootstrap"]["d50_nm"]["high"].as_f64().unwrap(),
    );
    assert!(
        low <= d50 && d50 <= high && high - low < 0.5,
        "{low}..{high}"
    );
    assert!(p["volume"]["d50_nm"].as_f64().unwrap() >= d50 - 1e-9);
    assert_eq!(
        a["annotations"]["data_bar"],
        serde_json::Value::Null,
        "{}",
        a["notes"]
    );
    assert_eq!(
        a["annotations"]["scale_bar"],
        serde_json::Value::Null,
        "{}",
        a["notes"]
    );
    assert!(
        (p["lognormal"]["median_nm"].as_f64().unwrap() - 5.0).abs() < 0.2,
        "{}",
        p["lognormal"]
    );
    assert_eq!(a["qc"]["pass"], true, "{}", a["qc"]);
    assert_eq!(a["qc"]["checks"].as_array().unwrap().len(), 4);
    assert!(docs[1]["error"].as_str().unwrap().contains("broken.tif"));

    // Outputs: per-particle CSV (one row per particle), the batch summary, the histogram.
    let particles = std::fs::read_to_string(out_dir.join("a.particles.csv")).unwrap();
    assert!(particles.starts_with("label,ecd [nm],"));
    assert_eq!(
        particles.lines().count() as u64 - 1,
        a["particles"].as_u64().unwrap()
    );
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    let rows: Vec<&str> = summary.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1].contains("metadata") && rows[1].ends_with("pass,"),
        "{}",
        rows[1]
    );
    assert!(rows[2].contains("broken.tif"));
    let svg = std::fs::read_to_string(out_dir.join("a.histogram.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("log-normal"));

    // A spec the image cannot meet: reported, exit 0; with --fail-on-reject, exit 1.
    std::fs::write(&spec, "cv_max = 0.001\nd50 = \"7 ± 0.5 nm\"\n").unwrap();
    let args = [
        "vision",
        "analyze",
        good.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
    ];
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("QC FAIL")
            && text.contains("cv_max: measured")
            && text.contains("d50: measured"),
        "{text}"
    );
    assert!(text.contains("pixel size source: metadata"), "{text}");
    let out = run(&[&args[..], &["--fail-on-reject"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 image(s) failed the QC spec"));

    // A spec with an unknown key or a malformed tolerance is bad input.
    std::fs::write(&spec, "d55 = \"5 ± 1 nm\"\n").unwrap();
    assert_eq!(run(&args).status.code(), Some(2));
    std::fs::write(&spec, "d50 = \"5 nm\"\n").unwrap();
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 nm"));
}

#[test]
fn uncalibrated_image_is_calibrated_from_its_scale_bar() {
    let dir = tempfile::tempdir().unwrap();
    // A black data bar with a white 150 px bar standing for 30 nm (0.2 nm/px).
    let (file, height) = uncalibrated_micrograph_with_strip(dir.path(), 2, 32, |x, y| {
        if (150..300).contains(&x) && (20..25).contains(&y) {
            u16::MAX
        } else {
            0
        }
    });
    let out = run_ok(&[
        "vision",
        "analyze",
        file.to_str().unwrap(),
        "--scale-bar",
        "30 nm",
        "--json",
    ]);
    let doc = &last_json_line(&out)[0];
    assert_eq!(doc["pixel_size_source"], "scale bar");
    assert!((doc["pixel_size_nm"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    assert_eq!(doc["annotations"]["data_bar"]["top_row"], height);
    let d50 = doc["population"]["number"]["d50_nm"].as_f64().unwrap();
    assert!((d50 - 5.0).abs() < 0.2, "D50 {d50}");

    // Without --scale-bar the bar is still masked but sizes stay in pixels.
    let out = run(&["vision", "analyze", file.to_str().unwrap(), "--json"]);
    assert_eq!(last_json_line(&out)[0]["pixel_size_source"], "none");
    // A malformed length is bad input.
    let out = run(&[
        "vision",
        "analyze",
        file.to_str().unwrap(),
        "--scale-bar",
        "thirty",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn train_smoke_writes_weights_and_record() {
    // Two 96×96 images of two dark discs each, EMPS layout, one epoch.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for sub in ["images", "segmaps"] {
        std::fs::create_dir_all(data.join(sub)).unwrap();
    }
    let (w, h) = (96usize, 96usize);
    for (k, id) in ["smoke-a", "smoke-b"].iter().enumerate() {
        let centres = [(30.0 + 4.0 * k as f64, 30.0), (64.0, 62.0 - 5.0 * k as f64)];
        let labels: Vec<u16> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                centres
                    .iter()
                    .position(|(cx, cy)| (x - cx).powi(2) + (y - cy).powi(2) < 144.0)
                    .map_or(0, |n| n as u16 + 1)
            })
            .collect();
        let gray: Vec<u8> = labels
            .iter()
            .map(|&l| if l > 0 { 60 } else { 200 })
            .collect();
        let png =
            |layout, bytes: &[u8]| athanor_formats::png::write_png(w, h, layout, bytes).unwrap();
        std::fs::write(
            data.join(format!("images/{id}.png")),
            png(athanor_formats::png::PngLayout::Gray8, &gray),
        )
        .unwrap();
        let label_bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        std::fs::write(
            data.join(format!("segmaps/{id}.png")),
            png(athanor_formats::png::PngLayout::Gray16, &label_bytes),
        )
        .unwrap();
    }
    let out = dir.path().join("weights");
    let args = [
        "vision",
        "train",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "1",
        "--seed",
        "3",
        "--crop",
        "64",
        "--batch",
        "2",
        "--no-eval",
    ];
    let result = run(&args);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let figures = last_json_line(&result);
    assert!(figures["steps"].as_u64().unwrap() >= 1);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("unet.json")).unwrap()).unwrap();
    assert_eq!(record["config"]["seed"], 3);
    assert_eq!(record["config"]["epochs"], 1);
    // The fixed held-out split (by id) is never trained on.
    let trainable: Vec<&str> = ["smoke-a", "smoke-b"]
        .into_iter()
        .filter(|id| !athanor_vision::learned::data::is_held_out(id))
        .collect();
    assert!(!trainable.is_empty());
    assert_eq!(record["train_ids"], serde_json::json!(trainable));
    let weights_path = out.join("unet.safetensors");
    let weights = std::fs::read(&weights_path).unwrap();
    assert!(weights.len() > 1000);

    // The trained weights drive `vision eval` (scores for every image, the backend named).
    let eval = run_ok(&[
        "vision",
        "eval",
        data.to_str().unwrap(),
        "--backend",
        "learned",
        "--weights",
        weights_path.to_str().unwrap(),
        "--min-dynamic",
        "0.3",
    ]);
    let scores = last_json_line(&eval);
    assert_eq!(scores["backend"], "learned");
    assert_eq!(scores["summary"]["images"], 2);
    // Learned-only settings with the classical backend, or missing weights: bad usage.
    for bad in [
        vec!["--weights", weights_path.to_str().unwrap()],
        vec![
            "--backend",
            "learned",
            "--weights",
            "/nonexistent/unet.safetensors",
        ],
        vec!["--backend", "learned", "--foreground-threshold", "1.5"],
        vec!["--backend", "learned", "--min-confidence", "1"],
        vec!["--min-confidence", "0.5"],
    ] {
        let mut args = vec!["vision", "eval", data.to_str().unwrap()];
        args.extend(bad.iter().copied());
        let refused = run(&args);
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
        assert!(!String::from_utf8_lossy(&refused.stderr).trim().is_empty());
    }
}

#[test]
fn shipped_weights_segment_a_micrograph_with_an_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_micrograph(dir.path(), "a.tif", 4);
    let overlays = dir.path().join("overlays");
    let out = run_ok(&[
        "vision",
        "analyze",
        image.to_str().unwrap(),
        "--backend",
        "learned",
        "--json",
        "--overlay",
        overlays.to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = doc.to_string();
    assert!(text.contains("learned backend"), "{text}");
    let png = std::fs::read(overlays.join("a.overlay.png")).unwrap();
    // PNG header: IHDR width and height, big-endian, at bytes 16..24.
    assert_eq!(&png[1..4], b"PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    assert_eq!((be(&png[16..20]), be(&png[20..24])), (320, 256));
}
