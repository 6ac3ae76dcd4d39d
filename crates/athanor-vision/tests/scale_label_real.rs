//! The scale-bar label reader on real published micrographs (issue 6): the EMPS images in
//! `../shared/datasets/emps-train/images` whose true labels were written down by eye in
//! `tests/data/scale_labels_emps.txt`. A wrong reading is worse than none, so the test demands
//! no wrong reading at all and a useful share of correct ones. Skipped, loudly, when the shared
//! data set is not there.
#![cfg(feature = "learned")]

use athanor_vision::annotations::detect_annotations;
use athanor_vision::learned::data::read_gray_png;
use athanor_vision::scale_label::{parse_scale_label, read_scale_label};
use std::path::Path;

#[test]
fn labels_of_real_emps_images_are_read_without_wrong_readings() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/emps-train/images");
    if !dir.is_dir() {
        eprintln!(
            "\n*** SKIPPED: {} not found; the real-image scale-label test needs ../shared ***\n",
            dir.display()
        );
        return;
    }
    let fixture = include_str!("data/scale_labels_emps.txt");
    let (mut correct, mut wrong, mut missed, mut labelled, mut spurious) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in fixture
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (id, truth) = line.split_once(' ').expect("fixture line: <id> <label>");
        if truth == "?" {
            continue;
        }
        let image = read_gray_png(&dir.join(format!("{id}.png"))).expect("EMPS image reads");
        let annotations = detect_annotations(&image).expect("annotations");
        let bar = annotations
            .scale_bar
            .expect("fixture images have a detected bar");
        let read = read_scale_label(&image, &bar, &annotations);
        match (parse_scale_label(truth), read) {
            (None, None) => {}
            (None, Some(r)) => {
                spurious += 1;
                failures.push(format!("{id}: no label, read {:?}", r.text));
            }
            (Some(_), None) => {
                labelled += 1;
                missed += 1;
            }
            (Some(nm), Some(r)) => {
                labelled += 1;
                if (r.length_nm - nm).abs() <= 1e-9 * nm {
                    correct += 1;
                } else {
                    wrong += 1;
                    failures.push(format!("{id}: label {truth:?}, read {:?}", r.text));
                }
            }
        }
    }
    let precision = correct as f64 / (correct + wrong + spurious).max(1) as f64;
    let recall = correct as f64 / labelled.max(1) as f64;
    println!(
        "EMPS scale labels: {labelled} labelled, {correct} read correctly, {wrong} wrong, \
         {spurious} read where there is no label, {missed} not read: precision {precision:.3}, \
         recall {recall:.3}"
    );
    assert!(failures.is_empty(), "wrong readings: {failures:?}");
    assert!(recall >= 0.6, "recall {recall:.3} below 0.6");
}
