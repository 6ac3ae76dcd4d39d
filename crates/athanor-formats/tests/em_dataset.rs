//! Every file of /work/shared/fixtures/em (rosettasciio test data) read with `read_any` and
//! compared with the reference reader's dtype, shape, scale and units in EXPECTED.json.
//! Archives are unpacked here, in memory; nothing unpacked is written to the repository.

use athanor_formats::{read_any, read_any_with_options, read_metadata_only, Dataset, ReadOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

fn fixture_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/em");
    if dir.join("EXPECTED.json").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "!!!!! SKIPPED: EM fixtures not found at {} — these tests checked nothing !!!!!",
            dir.display()
        );
        None
    }
}

fn expected(dir: &Path) -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("EXPECTED.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        serde_json::Value::Object(map) => map,
        other => panic!("EXPECTED.json is not an object: {other}"),
    }
}

/// The bytes of fixture `key`: a plain file, `key.gz`, or `archive/inner` inside `archive.zip`.
fn load(dir: &Path, key: &str) -> Vec<u8> {
    if let Some((archive, inner)) = key.split_once('/') {
        let file = std::fs::File::open(dir.join(format!("{archive}.zip"))).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let name = zip
            .file_names()
            .filter_map(Result::ok)
            .find(|n| n.ends_with(inner))
            .unwrap_or_else(|| panic!("{inner} not in {archive}.zip"))
            .to_string();
        let mut bytes = Vec::new();
        zip.by_name(&name).unwrap().read_to_end(&mut bytes).unwrap();
        return bytes;
    }
    let plain = dir.join(key);
    if plain.is_file() {
        return std::fs::read(plain).unwrap();
    }
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.join(format!("{key}.gz"))).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

fn numpy_dtype(expected: &str) -> &str {
    match expected {
        "[('R', 'u1'), ('G', 'u1'), ('B', 'u1'), ('A', 'u1')]" => "rgba8",
        "[('R', 'u1'), ('G', 'u1'), ('B', 'u1')]" => "rgb8",
        other => other,
    }
}

/// Relative tolerance on scales: 1e-6, except where the reference reader is known to differ
/// from the physically correct value (explained at the call).
fn tolerance(key: &str) -> f64 {
    if key.ends_with("FEI-Helios-navcam.tif") {
        // rosettasciio assigns VFW/ResolutionY to x and HFW/ResolutionX to y; we use
        // HFW/ResolutionX for x. The two differ by 2.5e-6 relative in this file.
        1e-5
    } else {
        1e-6
    }
}

fn compare(key: &str, dataset: &Dataset, want: &serde_json::Value, failures: &mut Vec<String>) {
    let dtype = numpy_dtype(want["dtype"].as_str().unwrap());
    if dataset.data_type().numpy_name() != dtype {
        failures.push(format!(
            "{key}: dtype {} vs {dtype}",
            dataset.data_type().numpy_name()
        ));
    }
    let shape: Vec<usize> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    if dataset.shape != shape {
        failures.push(format!("{key}: shape {:?} vs {shape:?}", dataset.shape));
        return;
    }
    assert_eq!(dataset.data.len(), shape.iter().product::<usize>(), "{key}");
    for (axis, want_axis) in dataset.axes.iter().zip(want["axes"].as_array().unwrap()) {
        let name = want_axis["name"].as_str().unwrap();
        let scale = want_axis["scale"].as_f64().unwrap();
        let units = match want_axis["units"].as_str().unwrap() {
            "" | "None" => None,
            u => Some(u),
        };
        if axis.name != name {
            failures.push(format!("{key}: axis name {} vs {name}", axis.name));
        }
        if axis.units.as_deref() != units {
            failures.push(format!("{key}: units {:?} vs {units:?}", axis.units));
        }
        if (axis.scale - scale).abs() > tolerance(key) * scale.abs() {
            failures.push(format!("{key}: {name} scale {} vs {scale}", axis.scale));
        }
    }
}

#[test]
fn every_fixture_matches_the_reference_reader() {
    let Some(dir) = fixture_dir() else { return };
    let keep_everything = ReadOptions {
        crop_data_bar: false,
    };
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for (key, want) in expected(&dir) {
        let bytes = load(&dir, &key);
        // rosettasciio keeps FEI data bars, so compare the uncropped read.
        match read_any_with_options(&bytes, Some(&key), &keep_everything) {
            Ok(dataset) => {
                let before = failures.len();
                compare(&key, &dataset, &want, &mut failures);
                table.push(format!(
                    "{} {key} [{}] {:?}",
                    if failures.len() == before {
                        "PASS"
                    } else {
                        "FAIL"
                    },
                    dataset.format,
                    dataset.notes
                ));
            }
            Err(e) => {
                failures.push(format!("{key}: {e}"));
                table.push(format!("FAIL {key}: {e}"));
            }
        }
    }
    eprintln!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn metadata_only_agrees_with_full_read() {
    let Some(dir) = fixture_dir() else { return };
    for (key, _) in expected(&dir) {
        let bytes = load(&dir, &key);
        let full = read_any(&bytes, Some(&key)).unwrap();
        let info = read_metadata_only(&bytes, Some(&key)).unwrap();
        assert_eq!(info.shape, full.shape, "{key}");
        assert_eq!(info.axes, full.axes, "{key}");
        assert_eq!(info.data_type, full.data_type(), "{key}");
        assert_eq!(info.metadata, full.metadata, "{key}");
    }
}

#[test]
fn damaged_files_give_errors_not_panics() {
    use rand::{RngExt, SeedableRng};
    let Some(dir) = fixture_dir() else { return };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261123);
    let mut outcomes = [0usize; 2];
    for (key, _) in expected(&dir) {
        let bytes = load(&dir, &key);
        let n = bytes.len();
        // Truncations: inside the header, the tag tree and the pixel data.
        let mut cuts = vec![0, 1, 3, 4, 7, 8, 15, 16, 64, n / 100, n / 3, n / 2, n - 1];
        cuts.extend((0..4).map(|_| rng.random_range(0..n)));
        for cut in cuts {
            let result = read_any(&bytes[..cut.min(n)], Some(&key));
            outcomes[usize::from(result.is_ok())] += 1;
        }
        // Random byte flips, concentrated in the first 64 KiB where headers and tags live.
        // Small files (the DM fixtures) are nearly all structure: flip them many more times.
        let rounds = if n < 1 << 20 { 150 } else { 12 };
        for round in 0..rounds {
            let mut damaged = bytes.clone();
            let span = if round % 2 == 0 { n.min(65_536) } else { n };
            for _ in 0..(1 + round % 4) {
                let at = rng.random_range(0..span);
                damaged[at] ^= 1 << rng.random_range(0..8);
            }
            let result = read_any(&damaged, Some(&key));
            outcomes[usize::from(result.is_ok())] += 1;
            if let Ok(dataset) = result {
                assert_eq!(
                    dataset.data.len(),
                    dataset.shape.iter().product::<usize>(),
                    "{key}: inconsistent dataset after a flip"
                );
            }
        }
    }
    eprintln!(
        "damaged inputs: {} errors, {} read",
        outcomes[0], outcomes[1]
    );
    assert!(outcomes[0] > 0);
}

#[test]
fn hostile_headers_do_not_allocate_gigabytes() {
    // DM4 header, then a root group claiming 2⁶⁰ tags.
    let mut dm4 = vec![0, 0, 0, 4];
    dm4.extend(0u64.to_be_bytes());
    dm4.extend(1u32.to_be_bytes());
    dm4.extend([0, 0]);
    dm4.extend((1u64 << 60).to_be_bytes());
    assert!(read_any(&dm4, None).is_err());
    // A TIFF claiming a 65535 × 65535 8-bit image in 200 bytes.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    let entries: [(u16, u16, u32, u32); 6] = [
        (256, 4, 1, 65_535),
        (257, 4, 1, 65_535),
        (258, 3, 1, 8),
        (262, 3, 1, 1),
        (273, 4, 1, 8),
        (279, 4, 1, 4_294_967_295),
    ];
    tiff.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        tiff.extend(value.to_le_bytes());
    }
    tiff.extend(0u32.to_le_bytes());
    assert!(read_any(&tiff, Some("x.tif")).is_err());
}

#[test]
fn fei_data_bar_is_cropped_by_default_and_noted() {
    let Some(dir) = fixture_dir() else { return };
    let bytes = load(&dir, "tiff_tiff_FEI_Helios/FEI-Helios-Ebeam-8bits.tif");
    let cropped = read_any(&bytes, None).unwrap();
    let full = read_any_with_options(
        &bytes,
        None,
        &ReadOptions {
            crop_data_bar: false,
        },
    )
    .unwrap();
    assert_eq!(cropped.shape, vec![442, 512]);
    assert_eq!(full.shape, vec![471, 512]);
    assert!(cropped
        .notes
        .iter()
        .any(|n| n.contains("data bar of 29 rows cropped")));
    // The crop keeps the top rows unchanged.
    assert_eq!(
        (0..442 * 512)
            .map(|i| cropped.data.value_f64(i))
            .collect::<Vec<_>>(),
        (0..442 * 512)
            .map(|i| full.data.value_f64(i))
            .collect::<Vec<_>>()
    );
    let m = &cropped.metadata;
    assert_eq!(m.beam_energy_kv, Some(5.0));
    assert_eq!(m.detector.as_deref(), Some("ETD"));
    assert!((m.working_distance_mm.unwrap() - 4.03466).abs() < 1e-9);
    assert_eq!(m.dwell_time_s, Some(1e-5));
    assert_eq!(
        cropped.original_metadata["EScan"]["PixelWidth"],
        "3.3724e-006"
    );
}

#[test]
fn zeiss_uses_the_image_pixel_not_the_display_pixel() {
    let Some(dir) = fixture_dir() else { return };
    let bytes = load(&dir, "tiff_tiff_Zeiss_SEM/ZEISS_SEM_multipage.tif");
    let dataset = read_any(&bytes, None).unwrap();
    // AP_PIXEL_SIZE says 24.65 nm (display), AP_IMAGE_PIXEL_SIZE 12.33 nm (image).
    let scale = dataset.axes[2].scale;
    assert!((scale - 12.33e-9).abs() < 0.01e-9, "{scale}");
    assert_eq!(dataset.shape, vec![2, 1536, 2048]);
    let m = &dataset.metadata;
    assert_eq!(m.beam_energy_kv, Some(1.8));
    assert_eq!(m.magnification, Some(4530.0));
    assert_eq!(m.working_distance_mm, Some(4.5));
    assert_eq!(m.detector.as_deref(), Some("InLens"));
    assert!(dataset.notes.iter().any(|n| n.contains("data zone")));
}

#[test]
fn jeol_diffraction_is_calibrated_in_reciprocal_space() {
    let Some(dir) = fixture_dir() else { return };
    let dataset = read_any(&load(&dir, "tiff_JEOL-SightX-SAED-dummy.tif"), None).unwrap();
    assert_eq!(dataset.axes[0].units.as_deref(), Some("1 / nm"));
    let m = &dataset.metadata;
    assert_eq!(m.camera_length_mm, Some(400.0));
    assert_eq!(m.beam_energy_kv, Some(200.0));
    assert!((m.wavelength_pm.unwrap() - 2.5079).abs() < 1e-4);
    assert_eq!(m.technique.as_deref(), Some("electron diffraction"));
    let image = read_any(&load(&dir, "tiff_JEOL-SightX-TEM-mag-dummy.tif"), None).unwrap();
    assert_eq!(image.metadata.magnification, Some(150_000.0));
    assert_eq!(image.metadata.technique.as_deref(), Some("TEM"));
}

#[test]
fn dm3_and_dm4_versions_of_a_file_hold_the_same_pixels() {
    let Some(dir) = fixture_dir() else { return };
    for stem in [
        "digitalmicrograph_2D_test-1",
        "digitalmicrograph_2D_test-2",
        "digitalmicrograph_2D_test-23",
    ] {
        let dm3 = read_any(&load(&dir, &format!("{stem}.dm3")), None).unwrap();
        let dm4 = read_any(&load(&dir, &format!("{stem}.dm4")), None).unwrap();
        assert_eq!(dm3.data, dm4.data, "{stem}");
        assert_eq!(dm3.axes, dm4.axes, "{stem}");
        assert_eq!(dm3.format, "DM3");
        assert_eq!(dm4.format, "DM4");
    }
    let eels = read_any(
        &load(&dir, "digitalmicrograph_1D_test-EELS_spectrum.dm3"),
        None,
    )
    .unwrap();
    assert_eq!(eels.axes[0].name, "Energy loss");
    assert_eq!(eels.metadata.technique.as_deref(), Some("EELS"));
    assert_eq!(eels.metadata.beam_energy_kv, Some(200.0));
    assert_eq!(eels.metadata.camera_length_mm, Some(135.0));
    assert_eq!(
        eels.metadata.instrument_model.as_deref(),
        Some("FEI Tecnai Remote")
    );
    // Origin 200 channels at 0.5 eV per channel: the spectrum starts at -100 eV.
    assert_eq!(eels.axes[0].offset, -100.0);
    // The full tag tree is kept.
    assert!(eels.original_metadata["ImageList"][1]["ImageTags"].is_object());
}

#[test]
fn dm_tiff_and_imagej_tiff_of_the_same_image_agree() {
    let Some(dir) = fixture_dir() else { return };
    let dm = read_any(
        &load(&dir, "tiff_test_loading_image_saved_with_DM.tif"),
        None,
    )
    .unwrap();
    let ij = read_any(
        &load(&dir, "tiff_test_loading_image_saved_with_imageJ.tif"),
        None,
    )
    .unwrap();
    assert_eq!(dm.shape, ij.shape);
    let relative = (dm.axes[1].scale - ij.axes[1].scale).abs() / ij.axes[1].scale;
    assert!(relative < 1e-6, "{relative}");
    assert!(dm.original_metadata["DigitalMicrograph"].is_object());
}

#[test]
fn dm_pixel_values_are_the_written_ramps() {
    use athanor_formats::DataArray;
    let Some(dir) = fixture_dir() else { return };
    let read = |key: &str| read_any(&load(&dir, key), None).unwrap().data;
    assert_eq!(
        read("digitalmicrograph_1D_test-1.dm4"),
        DataArray::I16(vec![1, 2])
    );
    assert_eq!(
        read("digitalmicrograph_2D_test-1.dm4"),
        DataArray::I16(vec![1, 2, 3, 4])
    );
    assert_eq!(
        read("digitalmicrograph_2D_test-2.dm3"),
        DataArray::F32(vec![1.0, 2.0, 3.0, 4.0])
    );
    assert_eq!(
        read("digitalmicrograph_2D_test-23.dm3"),
        DataArray::Rgba8(vec![[1, 1, 1, 0], [2, 2, 2, 0], [3, 3, 3, 0], [4, 4, 4, 0]])
    );
}

#[test]
fn the_reader_follows_the_content_not_the_file_name() {
    let Some(dir) = fixture_dir() else { return };
    let dm3 = load(&dir, "digitalmicrograph_2D_test-1.dm3");
    assert_eq!(read_any(&dm3, Some("misnamed.tif")).unwrap().format, "DM3");
    let tif = load(&dir, "tiff_olympus_SIS.tif");
    assert_eq!(
        read_any(&tif, Some("misnamed.dm4")).unwrap().format,
        "TIFF (Olympus SIS)"
    );
    // Numeric two-column text is an XY table whatever its name says; prose is nothing.
    let table = read_any(b"wavelength,counts\n1,2\n", Some("spectrum.dm3")).unwrap();
    assert_eq!(
        (table.format.as_str(), table.axes[0].name.as_str()),
        ("XY text", "wavelength")
    );
    assert!(matches!(
        read_any(b"wavelength and counts\nnone\n", Some("spectrum.dm3")),
        Err(athanor_formats::FormatError::UnrecognisedFormat(_))
    ));
}
