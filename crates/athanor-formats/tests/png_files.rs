//! Real PNG files: the EMPS micrographs (8-bit RGB) and their 16-bit instance label maps.

use athanor_formats::{read_any, DataArray};
use std::path::PathBuf;

fn emps() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/emps-train");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is missing; EMPS PNG reading not tested",
            dir.display()
        );
        None
    }
}

#[test]
fn emps_images_and_label_maps_read() {
    let Some(dir) = emps() else { return };
    let image = std::fs::read(dir.join("images/00655d9628.png")).unwrap();
    let labels = std::fs::read(dir.join("segmaps/00655d9628.png")).unwrap();
    let image = read_any(&image, Some("00655d9628.png")).unwrap();
    let labels = read_any(&labels, Some("00655d9628.png")).unwrap();
    assert_eq!(image.format, "PNG");
    assert_eq!(image.shape, vec![515, 512]);
    assert!(matches!(image.data, DataArray::Rgb8(_)));
    assert_eq!(labels.shape, image.shape);
    let DataArray::U16(l) = &labels.data else {
        panic!("label maps are 16-bit gray")
    };
    let max = *l.iter().max().unwrap();
    assert!(max >= 2, "a label map holds several instances");
    assert!(l.contains(&0), "and background");
    assert!(
        image.axes.iter().all(|a| a.units.is_none()),
        "PNG has no calibration"
    );
}
