//! The scale-bar label reader on synthetic labels (`tests/data/scale_labels`, made by
//! `tools/gen_label_images.py`): real fonts — two of them not among the reader's templates
//! (DejaVu Sans Mono, DejaVu Sans Oblique) — 10–40 px high, both polarities, above, below,
//! left and right of the bar, with seeded Gaussian noise added here; and negative cases (a bar
//! without text, a bar under a round particle) that must read as nothing.
#![cfg(feature = "learned")]

use athanor_vision::annotations::detect_annotations;
use athanor_vision::learned::data::read_gray_png;
use athanor_vision::scale_label::{parse_scale_label, read_scale_label};
use athanor_vision::GrayImage;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::path::Path;

/// The expected label from a file name `NN_<label>.png` (`_` for spaces, `u` for µ, `A-ring`
/// for Å), or `None` for `NN_none.png`.
fn expected(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".png")?;
    let (_, label) = stem.split_once('_')?;
    (label != "none").then(|| label.replace("A-ring", "Å").replace('_', " "))
}

fn with_noise(image: &GrayImage, sigma: f32, seed: u64) -> GrayImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, sigma).expect("valid sigma");
    let data = image
        .data
        .iter()
        .map(|&v| v + noise.sample(&mut rng))
        .collect();
    GrayImage::new(image.width, image.height, data).expect("same size")
}

#[test]
fn synthetic_labels_are_read_and_negatives_give_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scale_labels");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("test images exist")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".png"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "expected the generated test images");
    // Wrong readings (a wrong calibration) are failures; a label not read is a miss, allowed
    // now and then (the monospace font is not among the templates, a 10 px serif label is at
    // the limit of the grid).
    let mut failures = Vec::new();
    let mut misses = Vec::new();
    let (mut checked, mut labelled) = (0, 0);
    for name in &names {
        let clean = read_gray_png(&dir.join(name)).expect("png reads");
        // Noise of 4 and 10 grey levels (of 255).
        for (k, sigma) in [4.0f32, 10.0].into_iter().enumerate() {
            let image = with_noise(&clean, sigma, 6 + k as u64);
            let annotations = detect_annotations(&image).expect("annotations");
            let Some(bar) = annotations.scale_bar else {
                failures.push(format!("{name} σ={sigma}: no bar detected"));
                continue;
            };
            let read = read_scale_label(&image, &bar, &annotations);
            checked += 1;
            match (expected(name), read) {
                (None, None) => {}
                (None, Some(r)) => failures.push(format!("{name} σ={sigma}: read {:?}", r.text)),
                (Some(text), None) => {
                    labelled += 1;
                    misses.push(format!("{name} σ={sigma}: {text:?} not read"));
                }
                (Some(text), Some(r)) => {
                    labelled += 1;
                    let nm = parse_scale_label(&text).expect("fixture labels parse");
                    if (r.length_nm - nm).abs() > 1e-9 * nm {
                        failures.push(format!("{name} σ={sigma}: {text:?} read as {:?}", r.text));
                    }
                    assert!(r.confidence > 0.0 && r.confidence <= 1.0);
                    // The text box lies near the bar.
                    assert!(
                        r.y1 + 60 >= bar.y0 && r.y0 <= bar.y1 + 60,
                        "{name}: box {r:?}"
                    );
                }
            }
        }
    }
    println!(
        "synthetic scale labels: {labelled} labelled, {} not read: {misses:#?}",
        misses.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(checked >= 20);
    assert!(
        misses.len() * 5 <= labelled,
        "more than 20 % of the labels not read: {misses:#?}"
    );
}
