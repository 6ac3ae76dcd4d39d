//! `athanor vision analyze` on an image without a pixel size in its file: the scale bar's label
//! is read (OCR) and calibrates the image, reported as such; a `--scale-bar` given by the user
//! wins over the reading. Also, where `../shared` holds the EMPS images, a real published
//! micrograph whose "200 nm" label is read.

mod common;
use athanor_vision::learned::data::read_gray_png;
use common::*;
use std::path::Path;

#[test]
fn label_next_to_the_scale_bar_calibrates_an_uncalibrated_image() {
    // A data strip cut from the vision crate's synthetic label image: "100 nm" in white
    // (Liberation Sans, 14 px) above a white 90 px bar, on a dark background.
    let label = read_gray_png(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../athanor-vision/tests/data/scale_labels/00_100_nm.png"),
    )
    .unwrap();
    let (first_row, background) = (100, label.data[0]);
    let dir = tempfile::tempdir().unwrap();
    let (file, _) =
        uncalibrated_micrograph_with_strip(dir.path(), 3, label.height - first_row, |x, row| {
            let v = if x < label.width {
                label.data[(first_row + row) * label.width + x]
            } else {
                background
            };
            (v * 257.0).round() as u16
        });

    let out = run_ok(&["vision", "analyze", file.to_str().unwrap(), "--json"]);
    let doc = &last_json_line(&out)[0];
    assert_eq!(doc["pixel_size_source"], "scale bar (read: \"100 nm\")");
    let bar = &doc["annotations"]["scale_bar"];
    let length_px = (bar["x1"].as_u64().unwrap() - bar["x0"].as_u64().unwrap()) as f64;
    assert!((length_px - 90.0).abs() <= 1.0, "bar {bar}");
    let size = doc["pixel_size_nm"].as_f64().unwrap();
    assert!((size - 100.0 / length_px).abs() < 1e-9, "pixel size {size}");
    assert_eq!(doc["scale_label"]["length_nm"], 100.0);
    let notes = doc["notes"].to_string();
    assert!(notes.contains("scale bar label read as"), "{notes}");

    // The user's --scale-bar wins over the reading, and --pixel-size over both.
    let out = run_ok(&[
        "vision",
        "analyze",
        file.to_str().unwrap(),
        "--scale-bar",
        "50 nm",
        "--json",
    ]);
    let doc = &last_json_line(&out)[0];
    assert_eq!(doc["pixel_size_source"], "scale bar");
    assert!((doc["pixel_size_nm"].as_f64().unwrap() - 50.0 / length_px).abs() < 1e-9);
    assert!(doc["scale_label"].is_null());
    let out = run_ok(&[
        "vision",
        "analyze",
        file.to_str().unwrap(),
        "--pixel-size",
        "0.2",
        "--json",
    ]);
    assert_eq!(last_json_line(&out)[0]["pixel_size_source"], "user");
}

#[test]
fn real_emps_micrograph_is_calibrated_from_its_label() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/emps-train/images/1a29c5b84f.png");
    if !file.exists() {
        eprintln!(
            "\n*** SKIPPED: {} not found (needs ../shared) ***\n",
            file.display()
        );
        return;
    }
    let out = run_ok(&[
        "vision",
        "analyze",
        file.to_str().unwrap(),
        "--backend",
        "classical",
        "--json",
    ]);
    let doc = &last_json_line(&out)[0];
    assert_eq!(doc["pixel_size_source"], "scale bar (read: \"200 nm\")");
    let bar = &doc["annotations"]["scale_bar"];
    let length_px = (bar["x1"].as_u64().unwrap() - bar["x0"].as_u64().unwrap()) as f64;
    assert!((doc["pixel_size_nm"].as_f64().unwrap() - 200.0 / length_px).abs() < 1e-9);
}
