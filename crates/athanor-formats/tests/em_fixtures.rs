//! Real electron-microscopy TIFFs from /work/shared/fixtures/em (rosettasciio test data), checked
//! against the reference reader's values in EXPECTED.json.

use athanor_formats::{read_tiff, read_tiff_info, read_tiff_with_options, FormatError};
use athanor_formats::{CalibrationSource, TiffReadOptions};
use athanor_model::units::Unit;
use std::io::Read;
use std::path::PathBuf;

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

struct Expected {
    dtype: String,
    shape: Vec<usize>,
    /// (scale, units) of the last (width) axis.
    scale: f64,
    units: String,
}

fn expected_for(dir: &std::path::Path, name: &str) -> Expected {
    let text = std::fs::read_to_string(dir.join("EXPECTED.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entry = &all[name];
    let axes = entry["axes"].as_array().unwrap();
    let width_axis = axes.last().unwrap();
    Expected {
        dtype: entry["dtype"].as_str().unwrap().to_string(),
        shape: entry["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect(),
        scale: width_axis["scale"].as_f64().unwrap(),
        units: width_axis["units"].as_str().unwrap().to_string(),
    }
}

fn load(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    } else {
        std::fs::read(dir.join(name)).unwrap()
    }
}

#[test]
fn imagej_calibrated_and_uncalibrated_files() {
    let Some(dir) = fixture_dir() else { return };
    let options = TiffReadOptions::default();

    let name = "tiff_test_loading_image_saved_with_imageJ.tif";
    let bytes = load(&dir, name);
    let expected = expected_for(&dir, name);
    let info = read_tiff_info(&bytes, &options).unwrap();
    assert_eq!(vec![info.height, info.width], expected.shape);
    assert_eq!(info.calibration_source, CalibrationSource::ImageJ);
    let size = info.pixel_width.clone().unwrap();
    let in_expected_unit = Unit::parse(&size.unit)
        .unwrap()
        .convert(size.value, &Unit::parse(&expected.units).unwrap())
        .unwrap();
    // ImageJ stores 1/pixel width as a rational over 10⁶: six significant digits.
    assert!(
        (in_expected_unit - expected.scale).abs() <= 1e-6 * expected.scale,
        "{size} vs {} {}",
        expected.scale,
        expected.units
    );
    // These ImageJ files hold 32-bit floats, which read_tiff does not decode; it must say so.
    assert_eq!(expected.dtype, "float32");
    match read_tiff(&bytes) {
        Err(FormatError::UnsupportedPixelType { found }) => {
            assert_eq!(found, "32-bit floating-point grayscale")
        }
        other => panic!("expected an unsupported-pixel-type error, got {other:?}"),
    }

    let name = "tiff_test_loading_image_saved_with_imageJ_no_scale.tif";
    let bytes = load(&dir, name);
    let expected = expected_for(&dir, name);
    assert_eq!(expected.units, "None");
    let info = read_tiff_info(&bytes, &options).unwrap();
    assert_eq!(vec![info.height, info.width], expected.shape);
    assert_eq!(info.pixel_width, None);
    assert_eq!(info.calibration_source, CalibrationSource::None);
    assert!(matches!(
        read_tiff(&bytes),
        Err(FormatError::UnsupportedPixelType { .. })
    ));
}

#[test]
fn every_unarchived_tiff_reads_or_is_refused_by_name() {
    let Some(dir) = fixture_dir() else { return };
    let names = [
        "tiff_test_loading_image_saved_with_imageJ.tif",
        "tiff_test_loading_image_saved_with_imageJ_no_scale.tif",
        "tiff_test_loading_image_saved_with_DM.tif",
        "tiff_olympus_SIS.tif",
        "tiff_JEOL-SightX-TEM-mag-dummy.tif",
        "tiff_JEOL-SightX-SAED-dummy.tif",
    ];
    let strict = TiffReadOptions {
        use_resolution_unit: false,
    };
    for name in names {
        let bytes = load(&dir, name);
        let expected = expected_for(&dir, name);
        let grayscale_u8_u16 =
            matches!(expected.dtype.as_str(), "uint8" | "uint16") && expected.shape.len() == 2;
        match read_tiff_with_options(&bytes, &strict) {
            Ok(image) => {
                assert!(grayscale_u8_u16, "{name}: read a {} file", expected.dtype);
                assert_eq!(vec![image.height, image.width], expected.shape, "{name}");
                assert_eq!(image.pixels.len(), image.width * image.height);
                // Without the inch/cm rule, none of these files has a calibration we can read
                // yet: the JEOL scale lives in vendor XML (a later reader's job).
                assert_eq!(image.pixel_size, None, "{name}");
            }
            Err(FormatError::UnsupportedPixelType { found }) => {
                assert!(!grayscale_u8_u16, "{name}: refused {found}");
            }
            Err(other) => panic!("{name}: unexpected error {other}"),
        }
        // Files the reference reader calls uncalibrated stay uncalibrated in strict mode.
        if expected.units == "None" {
            let info = read_tiff_info(&bytes, &strict).unwrap();
            assert_eq!(info.pixel_width, None, "{name}");
        }
    }
}

#[test]
fn screen_resolution_tags_are_a_calibration_only_by_default_rule() {
    // Documents the trap described in the `tiff` module docs: the JEOL file states 93 pixels
    // per inch (a display resolution), which the default rule reports as ~273 µm pixels, while
    // its true pixel (vendor metadata) is ~1.8 nm.
    let Some(dir) = fixture_dir() else { return };
    let bytes = load(&dir, "tiff_JEOL-SightX-TEM-mag-dummy.tif");
    let info = read_tiff_info(&bytes, &TiffReadOptions::default()).unwrap();
    assert_eq!(info.calibration_source, CalibrationSource::ResolutionUnit);
    let size = info.pixel_width.unwrap();
    assert_eq!(size.unit, "µm");
    assert!((size.value - 25_400.0 / 93.0).abs() < 1e-9);
}
