//! Velox and NCEM `.emd` (HDF5) files, written in the test with `hdf5-pure` (see
//! `support/emd_writer.rs`), read back through `read_any` / `read_metadata_only`.
#![cfg(feature = "emd")]

#[path = "support/emd_writer.rs"]
mod emd_writer;

use athanor_formats::{
    read_any, read_emd, read_emd_info, read_metadata_only, DataType, FormatError,
};

#[test]
fn velox_series_is_read_frames_first_and_calibrated_in_nm() {
    let bytes = velox_u16_3x4x2();
    let dataset = read_any(&bytes, Some("stack.emd")).expect("Velox series");
    assert_eq!(dataset.format, "EMD (Velox)");
    assert_eq!(dataset.data_type(), DataType::U16);
    assert_eq!(dataset.shape, vec![2, 3, 4]);
    // Frame f, row y, column x holds 1000 f + 10 y + x, whatever the stored order.
    for f in 0..2 {
        for y in 0..3 {
            for x in 0..4 {
                let index = (f * 3 + y) * 4 + x;
                assert_eq!(
                    dataset.data.value_f64(index),
                    Some((1000 * f + 10 * y + x) as f64)
                );
            }
        }
    }
    let names: Vec<&str> = dataset.axes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["frame", "y", "x"]);
    assert_eq!(dataset.axes[0].units, None);
    for axis in &dataset.axes[1..] {
        assert_eq!(axis.units.as_deref(), Some("nm"));
        assert!((axis.scale - 0.25).abs() < 1e-12, "{axis:?}");
    }
    let m = &dataset.metadata;
    assert_eq!(m.pixel_size.as_ref().map(|q| q.value), Some(0.25));
    assert_eq!(m.beam_energy_kv, Some(200.0));
    assert_eq!(m.magnification, Some(910_000.0));
    assert!((m.camera_length_mm.unwrap() - 98.0).abs() < 1e-9);
    assert_eq!(m.dwell_time_s, Some(2e-6));
    assert_eq!(m.detector.as_deref(), Some("HAADF"));
    assert_eq!(m.instrument_vendor.as_deref(), Some("FEI Company"));
    assert_eq!(m.instrument_model.as_deref(), Some("Talos F200X"));
    assert_eq!(m.acquisition_time.as_deref(), Some("2017-05-23T09:40:00Z"));
    assert!((m.wavelength_pm.unwrap() - 2.5079).abs() < 1e-4);
    assert_eq!(
        dataset.original_metadata["metadata"]["Optics"]["AccelerationVoltage"],
        "200000"
    );
    assert_eq!(
        dataset.original_metadata["emd"]["images"][0],
        emd_writer::VELOX_IMAGE
    );
}

fn velox_u16_3x4x2() -> Vec<u8> {
    emd_writer::velox_u16(3, 4, 2, true)
}

#[test]
fn velox_spectrum_streams_are_reported_not_decoded() {
    let dataset = read_emd(&velox_u16_3x4x2()).unwrap();
    assert!(
        dataset
            .notes
            .iter()
            .any(|n| n.contains("SpectrumStream") && n.contains("not decoded")),
        "{:?}",
        dataset.notes
    );
    assert_eq!(
        dataset.original_metadata["emd"]["spectrum_streams"][0],
        "0c1d2e3f"
    );
}

#[test]
fn velox_single_frame_float_image_is_two_dimensional() {
    let json = emd_writer::velox_json("1.5e-9", "1.5e-9");
    let dataset = read_any(&emd_writer::velox_f32_2d(5, 7, &json), None).unwrap();
    assert_eq!(dataset.shape, vec![5, 7]);
    assert_eq!(dataset.data_type(), DataType::F32);
    assert_eq!(dataset.data.value_f64(9), Some(2.25));
    assert!((dataset.axes[1].scale - 1.5).abs() < 1e-12);
    // A single-frame file stored [height, width, 1] gives the same 2-D dataset.
    let stored_3d = read_any(&emd_writer::velox_u16(5, 7, 1, false), None).unwrap();
    assert_eq!(stored_3d.shape, vec![5, 7]);
    assert_eq!(stored_3d.data.value_f64(7 + 3), Some(13.0));
}

#[test]
fn velox_without_pixel_size_is_uncalibrated_and_says_so() {
    let json = r#"{"Optics":{"AccelerationVoltage":"300000"}}"#;
    let dataset = read_any(&emd_writer::velox_f32_2d(2, 3, json), None).unwrap();
    assert!(dataset.axes.iter().all(|a| a.units.is_none()));
    assert_eq!(dataset.metadata.pixel_size, None);
    assert_eq!(dataset.metadata.beam_energy_kv, Some(300.0));
    assert!(dataset.notes.iter().any(|n| n.contains("PixelSize")));
    // Unreadable metadata text: still the pixels, uncalibrated, with a note.
    let dataset = read_any(&emd_writer::velox_f32_2d(2, 3, "{not json"), None).unwrap();
    assert_eq!(dataset.shape, vec![2, 3]);
    assert!(dataset.notes.iter().any(|n| n.contains("not valid JSON")));
}

#[test]
fn ncem_axes_come_from_dim_vectors() {
    let bytes = emd_writer::ncem_i32(2, 3, 4, 0.125, -1.0);
    let dataset = read_any(&bytes, Some("x.emd")).expect("NCEM");
    assert_eq!(dataset.format, "EMD (NCEM)");
    assert_eq!(dataset.data_type(), DataType::I32);
    assert_eq!(dataset.shape, vec![2, 3, 4]);
    assert_eq!(dataset.data.value_f64((3 + 2) * 4 + 1), Some(121.0));
    let frame = &dataset.axes[0];
    assert_eq!(
        (frame.name.as_str(), frame.units.as_deref()),
        ("frame", None)
    );
    for (axis, name) in dataset.axes[1..].iter().zip(["y", "x"]) {
        assert_eq!(axis.name, name);
        assert_eq!(axis.units.as_deref(), Some("nm"));
        assert!((axis.scale - 0.125).abs() < 1e-12);
        assert!((axis.offset + 1.0).abs() < 1e-12);
    }
    assert_eq!(
        dataset.metadata.pixel_size.as_ref().map(|q| q.value),
        Some(0.125)
    );
    assert_eq!(
        dataset.original_metadata["emd"]["root_attributes"]["version_minor"],
        2.0
    );
    assert_eq!(
        dataset.original_metadata["microscope"]["high tension"],
        300e3
    );
}

#[test]
fn metadata_only_matches_the_full_read() {
    for bytes in [velox_u16_3x4x2(), emd_writer::ncem_i32(1, 2, 3, 1.0, 0.0)] {
        let full = read_any(&bytes, None).unwrap();
        let info = read_metadata_only(&bytes, None).unwrap();
        assert_eq!(info, athanor_formats::DatasetInfo::from(full));
    }
}

#[test]
fn metadata_only_does_not_read_the_payload() {
    // Cut the file inside the pixel payload (found by its values): the full read must fail,
    // the metadata read must not notice.
    let (height, width) = (64, 64);
    let json = emd_writer::velox_json("1e-9", "1e-9");
    let bytes = emd_writer::velox_f32_2d(height, width, &json);
    let marker: Vec<u8> = [1000.0f32, 1000.25, 1000.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("payload in file");
    let mut damaged = bytes.clone();
    damaged[at..at + 4 * 100].fill(0xFF);
    let info = read_emd_info(&damaged).expect("metadata only");
    assert_eq!(info.shape, vec![height, width]);
    // The payload really is what was damaged: the full read sees NaNs there.
    let full = read_emd(&damaged).unwrap();
    assert!(full.data.value_f64(4000).unwrap().is_nan());
}

#[test]
fn hdf5_behind_a_user_block_is_detected() {
    let mut bytes = vec![0u8; 512];
    bytes.extend(velox_u16_3x4x2());
    // The reader takes the superblock's position as the base address, as libhdf5 does.
    let dataset = read_any(&bytes, None).expect("HDF5 after a 512-byte user block");
    assert_eq!(dataset.shape, vec![2, 3, 4]);
}

#[test]
fn damaged_and_foreign_files_give_clear_errors() {
    let bytes = velox_u16_3x4x2();
    for cut in [8, 40, 200, bytes.len() / 2, bytes.len() - 10] {
        let error = read_any(&bytes[..cut], None).expect_err("truncated file");
        let text = error.to_string();
        assert!(
            text.contains("EMD") || text.contains("HDF5"),
            "cut at {cut}: {text}"
        );
    }
    // An HDF5 file in neither layout.
    let mut builder = hdf5_pure::FileBuilder::new();
    builder
        .create_dataset("temperature")
        .with_f64_data(&[1.0, 2.0]);
    let other = builder.finish().unwrap();
    match read_any(&other, None) {
        Err(FormatError::Unsupported { message, .. }) => {
            assert!(message.contains("neither Velox"), "{message}")
        }
        result => panic!("expected Unsupported, got {result:?}"),
    }
}
