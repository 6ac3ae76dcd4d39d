//! MRC2014 reader: fixtures written from the published specification by
//! `tests/fixtures/mrc/make_fixtures.py` (independent of the Rust writer), round trips through
//! `write_mrc`, and damaged headers.

use athanor_formats::{read_any, read_metadata_only, read_mrc, write_mrc, DataArray, FormatError};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mrc")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn little_endian_int16_stack() {
    let d = read_any(&fixture("stack_int16_le.mrc"), Some("stack.tif")).unwrap();
    assert_eq!(d.format, "MRC");
    assert_eq!(d.shape, vec![3, 4, 5]);
    assert_eq!(d.axes[0].name, "image series");
    assert_eq!(d.axes[0].units, None);
    for axis in &d.axes[1..] {
        assert!(close(axis.scale, 0.15), "{axis:?}");
        assert_eq!(axis.units.as_deref(), Some("nm"));
    }
    let DataArray::I16(values) = &d.data else {
        panic!("{:?}", d.data_type())
    };
    assert!(values
        .iter()
        .enumerate()
        .all(|(i, &v)| i64::from(v) == 7 * i as i64 - 100));
    assert_eq!(
        d.original_metadata["labels"][0],
        "athanor fixture: int16 stack"
    );
    assert_eq!(
        d.metadata.pixel_size.as_ref().map(|q| q.unit.as_str()),
        Some("nm")
    );
}

#[test]
fn big_endian_float32_with_rectangular_pixels_and_origin() {
    let d = read_mrc(&fixture("image_float32_be.mrc")).unwrap();
    assert_eq!(d.shape, vec![4, 6]);
    assert!(close(d.axes[1].scale, 0.2) && close(d.axes[0].scale, 0.25));
    assert!(close(d.axes[1].offset, 1.0) && close(d.axes[0].offset, 2.0));
    let DataArray::F32(values) = &d.data else {
        panic!()
    };
    assert!(values
        .iter()
        .enumerate()
        .all(|(i, &v)| v == 0.25 * i as f32 - 1.0));
}

#[test]
fn float16_volume_takes_pixel_size_from_the_fei1_extended_header() {
    let bytes = fixture("volume_float16_fei1.mrc");
    let d = read_mrc(&bytes).unwrap();
    assert_eq!(d.shape, vec![2, 3, 4]);
    assert_eq!(d.axes[0].name, "z");
    assert_eq!(d.axes[0].units, None, "FEI1 gives no z size, CELLA.z is 0");
    assert!(close(d.axes[2].scale, 0.083) && close(d.axes[1].scale, 0.083));
    assert!(d.notes.iter().any(|n| n.contains("FEI1 extended header")));
    assert!(d.notes.iter().any(|n| n.contains("float16")));
    assert_eq!(d.metadata.beam_energy_kv, Some(300.0));
    assert_eq!(d.metadata.instrument_model.as_deref(), Some("Krios"));
    let DataArray::F32(values) = &d.data else {
        panic!()
    };
    assert!(values.iter().enumerate().all(|(i, &v)| v == i as f32 / 4.0));
    // Metadata-only read agrees and does not need the payload decoded.
    let info = read_metadata_only(&bytes, None).unwrap();
    assert_eq!((info.shape, info.axes), (d.shape.clone(), d.axes.clone()));
}

#[test]
fn complex_mode_is_read_as_complex_and_a_missing_stamp_is_noted() {
    let d = read_mrc(&fixture("fft_complex_nostamp.mrc")).unwrap();
    assert_eq!(d.shape, vec![2, 3]);
    let DataArray::ComplexF32(values) = &d.data else {
        panic!()
    };
    assert!(values
        .iter()
        .enumerate()
        .all(|(i, &[re, im])| re == i as f32 && im == -(i as f32) / 2.0));
    assert!(d.notes.iter().any(|n| n.contains("machine stamp")));
    assert!(d.notes.iter().any(|n| n.contains("exactly 1 Å")));
    assert!(close(d.axes[1].scale, 0.1));
}

#[test]
fn int8_and_uint16_modes() {
    let d = read_mrc(&fixture("image_int8.mrc")).unwrap();
    assert_eq!(d.data, DataArray::I8((0..8).map(|i| i - 4).collect()));
    assert!(close(d.axes[1].scale, 0.3));
    let d = read_mrc(&fixture("image_uint16.mrc")).unwrap();
    assert_eq!(d.data, DataArray::U16((0..8).map(|i| 1000 * i).collect()));
}

#[test]
fn writer_round_trips_every_mode_it_writes() {
    let cases = vec![
        (DataArray::I8(vec![-128, 0, 5, 127, 1, 2]), vec![2, 3]),
        (
            DataArray::I16((0..24).map(|i| i * 300 - 3000).collect()),
            vec![2, 3, 4],
        ),
        (
            DataArray::F32((0..6).map(|i| i as f32 * 0.1).collect()),
            vec![3, 2],
        ),
        (
            DataArray::U16((0..6).map(|i| i * 10_000).collect()),
            vec![1, 6],
        ),
        (
            DataArray::ComplexF32((0..6).map(|i| [i as f32, 1.0 - i as f32]).collect()),
            vec![2, 3],
        ),
    ];
    for (data, shape) in cases {
        let bytes = write_mrc(&data, &shape, [2.5, 2.5, 4.0], &["round trip"]).unwrap();
        let back = read_any(&bytes, None).unwrap();
        assert_eq!(back.data, data);
        assert_eq!(back.shape, shape);
        let x = back.axes.last().unwrap();
        assert!(close(x.scale, 0.25) && x.units.as_deref() == Some("nm"));
        assert_eq!(back.original_metadata["labels"][0], "round trip");
    }
    assert!(write_mrc(&DataArray::U8(vec![1]), &[1, 1], [1.0; 3], &[]).is_err());
    assert!(write_mrc(&DataArray::I16(vec![1, 2]), &[1, 3], [1.0; 3], &[]).is_err());
}

#[test]
fn zero_cell_means_uncalibrated_not_one_angstrom() {
    let mut bytes = write_mrc(&DataArray::F32(vec![0.0; 4]), &[2, 2], [1.0; 3], &[]).unwrap();
    bytes[40..52].fill(0);
    let d = read_mrc(&bytes).unwrap();
    assert!(d.axes.iter().all(|a| a.units.is_none() && a.scale == 1.0));
    assert_eq!(d.metadata.pixel_size, None);
    assert!(d.notes.iter().any(|n| n.contains("uncalibrated")));
}

#[test]
fn damaged_headers_give_errors_that_name_the_field() {
    let good = write_mrc(&DataArray::I16(vec![1; 12]), &[3, 4], [1.0; 3], &[]).unwrap();
    let message = |bytes: &[u8]| read_mrc(bytes).unwrap_err().to_string();

    let truncated = &good[..good.len() - 1];
    assert!(message(truncated).contains("need 24 bytes from byte 1024"));
    assert!(message(&good[..500]).contains("1024-byte header"));

    let mut mode = good.clone();
    mode[12] = 3;
    assert!(matches!(
        read_mrc(&mode),
        Err(FormatError::Unsupported { .. })
    ));
    mode[12] = 99;
    assert!(message(&mode).contains("MODE 99 at byte 12"));

    let mut nx = good.clone();
    nx[0..4].copy_from_slice(&(-4i32).to_le_bytes());
    assert!(message(&nx).contains("NX = -4 at byte 0"));

    let mut nsymbt = good.clone();
    nsymbt[92..96].copy_from_slice(&i32::MAX.to_le_bytes());
    assert!(message(&nsymbt).contains("extended-header"));

    let mut huge = good.clone();
    for offset in [0, 4, 8] {
        huge[offset..offset + 4].copy_from_slice(&i32::MAX.to_le_bytes());
    }
    assert!(read_mrc(&huge).is_err());
}

#[test]
fn permuted_map_axes_take_their_own_cell_sizes() {
    // Columns are Y (MAPC = 2), rows are X (MAPR = 1): a 4-column, 2-row image whose X cell is
    // 8 Å over MX = 2 (4 Å) and Y cell 4 Å over MY = 4 (1 Å).
    let mut bytes = write_mrc(&DataArray::F32(vec![0.0; 8]), &[2, 4], [1.0; 3], &[]).unwrap();
    let put = |bytes: &mut Vec<u8>, offset: usize, value: [u8; 4]| {
        bytes[offset..offset + 4].copy_from_slice(&value)
    };
    put(&mut bytes, 28, 2i32.to_le_bytes()); // MX
    put(&mut bytes, 32, 4i32.to_le_bytes()); // MY
    put(&mut bytes, 40, 8f32.to_le_bytes()); // CELLA.x
    put(&mut bytes, 44, 4f32.to_le_bytes()); // CELLA.y
    put(&mut bytes, 64, 2i32.to_le_bytes()); // MAPC
    put(&mut bytes, 68, 1i32.to_le_bytes()); // MAPR
    let d = read_mrc(&bytes).unwrap();
    assert_eq!((d.axes[1].name.as_str(), d.axes[1].size), ("y", 4));
    assert!(close(d.axes[1].scale, 0.1), "{:?}", d.axes);
    assert_eq!(d.axes[0].name, "x");
    assert!(close(d.axes[0].scale, 0.4));
    assert!(d.notes.iter().any(|n| n.contains("axes permuted")));

    put(&mut bytes, 64, 7i32.to_le_bytes());
    let d = read_mrc(&bytes).unwrap();
    assert!(d.notes.iter().any(|n| n.contains("not a permutation")));
    assert_eq!(d.axes[1].name, "x");
}
