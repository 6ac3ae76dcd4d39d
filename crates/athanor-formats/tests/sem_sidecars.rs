//! SEM metadata sidecars (Hitachi, JEOL) and Tescan metadata (TIFF tag 50431 and `.hdr`).
//! Sidecar texts are fixtures (`tests/fixtures/sem`); the images are written here, into a
//! per-test folder under `CARGO_TARGET_TMPDIR`.

use athanor_formats::{
    parse_sem_sidecar, read_any, read_path, write_tiff_u16, CalibratedImage, DataArray,
    FormatError, SidecarVendor,
};
use athanor_model::Quantity;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use tiff::encoder::{colortype, TiffEncoder};
use tiff::tags::Tag;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sem")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh, empty folder for one test.
fn folder(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sem_sidecars_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An 8-bit grey TIFF whose pixel at index i is i % 251, with an optional Tescan tag.
fn grey_tiff(width: u32, height: u32, tescan: Option<&[u8]>) -> Vec<u8> {
    let pixels: Vec<u8> = (0..width * height).map(|i| (i % 251) as u8).collect();
    let mut buffer = Cursor::new(Vec::new());
    {
        let mut encoder = TiffEncoder::new(&mut buffer).unwrap();
        let mut image = encoder
            .new_image::<colortype::Gray8>(width, height)
            .unwrap();
        if let Some(tag) = tescan {
            image.encoder().write_tag(Tag::Unknown(50431), tag).unwrap();
        }
        image.write_data(&pixels).unwrap();
    }
    buffer.into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn the_three_vendors_parse_to_the_same_normalised_fields() {
    let hitachi = parse_sem_sidecar(&fixture("hitachi_s4800.txt")).unwrap();
    assert_eq!(hitachi.vendor, SidecarVendor::Hitachi);
    assert_eq!(
        hitachi.pixel_size.as_ref().unwrap()[0],
        Quantity::new(24.8, "nm")
    );
    assert_eq!(hitachi.frame_size, Some([16, 8]));
    assert_eq!(hitachi.image_name.as_deref(), Some("hitachi_s4800.tif"));
    assert_eq!(hitachi.metadata.beam_energy_kv, Some(15.0));
    assert_eq!(hitachi.metadata.magnification, Some(5000.0));
    assert!(close(hitachi.metadata.working_distance_mm.unwrap(), 8.1));
    assert_eq!(hitachi.metadata.instrument_model.as_deref(), Some("S-4800"));
    assert_eq!(hitachi.metadata.detector.as_deref(), Some("SE(U)"));

    let jeol = parse_sem_sidecar(&fixture("jeol_sem.txt")).unwrap();
    assert_eq!(jeol.vendor, SidecarVendor::JeolSem);
    let px = &jeol.pixel_size.as_ref().unwrap()[0];
    assert!(close(px.value, 5000.0 / 160.0) && px.unit == "nm");
    assert_eq!(jeol.frame_size, Some([32, 16]));
    assert_eq!(jeol.metadata.beam_energy_kv, Some(15.0));
    assert_eq!(jeol.metadata.magnification, Some(10000.0));
    assert_eq!(jeol.metadata.instrument_model.as_deref(), Some("JSM-7600F"));

    let tescan = parse_sem_sidecar(&fixture("tescan_mira.hdr")).unwrap();
    assert_eq!(tescan.vendor, SidecarVendor::Tescan);
    assert_eq!(
        tescan.pixel_size.as_ref().unwrap()[1],
        Quantity::new(5.2e-9, "m")
    );
    assert_eq!(tescan.metadata.beam_energy_kv, Some(10.0));
    assert!(close(tescan.metadata.working_distance_mm.unwrap(), 6.1));
    assert_eq!(tescan.metadata.detector.as_deref(), Some("SE"));
    assert_eq!(
        tescan.metadata.instrument_model.as_deref(),
        Some("MIRA3 LMH")
    );
}

#[test]
fn hitachi_image_and_sidecar_pair_up_from_either_side() {
    let dir = folder("hitachi");
    // 16 × 10 stored, the sidecar's frame is 16 × 8: two data-bar rows.
    let image = write(&dir, "hitachi_s4800.tif", &grey_tiff(16, 10, None));
    let text = write(&dir, "hitachi_s4800.txt", &fixture("hitachi_s4800.txt"));
    let from_image = read_path(&image).unwrap();
    assert_eq!(from_image.shape, vec![8, 16]);
    assert_eq!(from_image.axes[1].units.as_deref(), Some("nm"));
    assert!(close(from_image.axes[1].scale, 24.8) && close(from_image.axes[0].scale, 24.8));
    assert!(
        from_image.format.contains("Hitachi SEM sidecar"),
        "{}",
        from_image.format
    );
    assert!(from_image
        .notes
        .iter()
        .any(|n| n.contains("data bar of 2 rows")));
    assert!(!from_image
        .notes
        .iter()
        .any(|n| n.starts_with("no physical calibration")));
    assert_eq!(from_image.metadata.beam_energy_kv, Some(15.0));
    assert_eq!(
        from_image.original_metadata["sidecar"]["SemImageFile"]["ScanSpeed"],
        "Slow4"
    );
    let DataArray::U8(values) = &from_image.data else {
        panic!()
    };
    assert_eq!(values.len(), 128);
    assert_eq!(values[127], 127);

    let from_text = read_path(&text).unwrap();
    assert_eq!(from_text.data, from_image.data);
    assert_eq!(from_text.axes, from_image.axes);
    assert_eq!(from_text.metadata, from_image.metadata);

    // The same sidecar written as UTF-16 (as some Hitachi software does) reads the same.
    let utf16: Vec<u8> = String::from_utf8(fixture("hitachi_s4800.txt"))
        .unwrap()
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    write(
        &dir,
        "hitachi_s4800.txt",
        &[&[0xFF, 0xFE][..], &utf16].concat(),
    );
    assert_eq!(read_path(&image).unwrap().axes, from_image.axes);

    // The text on its own has no pixels: read_any says which image to read.
    let err = read_any(&fixture("hitachi_s4800.txt"), Some("hitachi_s4800.txt")).unwrap_err();
    assert!(matches!(err, FormatError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("hitachi_s4800.tif"), "{err}");
}

#[test]
fn jeol_micron_bar_calibrates_and_a_resampled_image_is_rescaled() {
    let dir = folder("jeol");
    write(&dir, "jeol_sem.txt", &fixture("jeol_sem.txt"));
    let image = write(&dir, "jeol_sem.tif", &grey_tiff(32, 20, None));
    let d = read_path(&image).unwrap();
    assert_eq!(d.shape, vec![16, 32], "4 data-bar rows cropped");
    assert!(close(d.axes[1].scale, 31.25));
    assert_eq!(d.metadata.instrument_vendor.as_deref(), Some("JEOL"));

    // Saved at half the scanned width: same field of view, twice the pixel size, noted.
    let small = write(&dir, "jeol_sem.tif", &grey_tiff(16, 8, None));
    let d = read_path(&small).unwrap();
    assert!(close(d.axes[1].scale, 62.5), "{:?}", d.axes);
    assert!(d.notes.iter().any(|n| n.contains("scaled by 2")));
}

#[test]
fn tescan_tag_50431_and_hdr_sidecar() {
    // Tag 50431: a binary prefix, then the INI text.
    let mut tag = vec![0u8, 1, 2, 3, 0xFF, 0, 7];
    tag.extend_from_slice(&fixture("tescan_mira.hdr"));
    let bytes = grey_tiff(12, 6, Some(&tag));
    let d = read_any(&bytes, Some("scan.tif")).unwrap();
    assert_eq!(d.format, "TIFF (Tescan)");
    assert_eq!(
        (d.axes[1].scale, d.axes[1].units.as_deref()),
        (5.2e-9, Some("m"))
    );
    assert_eq!(d.metadata.beam_energy_kv, Some(10.0));
    assert_eq!(d.metadata.magnification, Some(25000.0));
    assert_eq!(d.original_metadata["MAIN"]["SerialNumber"], "123-0456");

    // The same keys as a `<stem>-tif.hdr` sidecar next to a plain TIFF.
    let dir = folder("tescan");
    let image = write(&dir, "scan.tif", &grey_tiff(12, 6, None));
    write(&dir, "scan-tif.hdr", &fixture("tescan_mira.hdr"));
    let d = read_path(&image).unwrap();
    assert_eq!(
        (d.axes[0].scale, d.axes[0].units.as_deref()),
        (5.2e-9, Some("m"))
    );
    assert!(d.format.contains("Tescan SEM sidecar"));

    // A Tescan block without a pixel size: uncalibrated, and said so.
    let text = b"junk[MAIN]\r\nDevice=VEGA\r\nHV=5000\r\n";
    let d = read_any(&grey_tiff(4, 4, Some(text)), None).unwrap();
    assert_eq!(d.axes[1].units, None);
    assert!(d.notes.iter().any(|n| n.contains("no usable PixelSizeX")));
    assert_eq!(d.metadata.beam_energy_kv, Some(5.0));
}

#[test]
fn unusable_calibrations_are_refused_not_guessed() {
    let no_unit = String::from_utf8(fixture("jeol_sem.txt"))
        .unwrap()
        .replace("5um", "5");
    let s = parse_sem_sidecar(no_unit.as_bytes()).unwrap();
    assert_eq!(s.pixel_size, None);
    assert!(s.notes.iter().any(|n| n.contains("no length unit")));

    let zero = String::from_utf8(fixture("hitachi_s4800.txt"))
        .unwrap()
        .replace("PixelSize=24.8", "PixelSize=0");
    let s = parse_sem_sidecar(zero.as_bytes()).unwrap();
    assert_eq!(s.pixel_size, None);
    assert_eq!(s.metadata.pixel_size, None);

    let dir = folder("refused");
    let image = write(&dir, "a.tif", &grey_tiff(16, 8, None));
    write(&dir, "a.txt", zero.as_bytes());
    let d = read_path(&image).unwrap();
    assert_eq!(d.axes[1].units, None);
    assert!(d.notes.iter().any(|n| n.contains("not a positive number")));

    // An ordinary .txt next to an image is not a sidecar: ignored, noted.
    write(&dir, "a.txt", b"measured on Monday\n");
    let d = read_path(&image).unwrap();
    assert!(d.notes.iter().any(|n| n.contains("not an SEM sidecar")));
}

#[test]
fn the_image_keeps_its_own_calibration_and_disagreement_is_noted() {
    let dir = folder("disagree");
    let image = CalibratedImage {
        width: 16,
        height: 8,
        pixels: vec![7; 128],
        pixel_size: Some(Quantity::new(0.5, "µm")),
        description: None,
    };
    let path = write(&dir, "own.tif", &write_tiff_u16(&image).unwrap());
    write(&dir, "own.txt", &fixture("hitachi_s4800.txt"));
    let d = read_path(&path).unwrap();
    assert_eq!(
        (d.axes[1].scale, d.axes[1].units.as_deref()),
        (0.5, Some("µm"))
    );
    assert!(d
        .notes
        .iter()
        .any(|n| n.contains("differs from the image's own")));
}

#[test]
fn missing_or_undecodable_images_are_named() {
    let dir = folder("missing");
    let text = write(&dir, "lonely.txt", &fixture("jeol_sem.txt"));
    let err = read_path(&text).unwrap_err();
    assert!(matches!(err, FormatError::Io { .. }));
    assert!(err.to_string().contains("jeol_sem.tif"), "{err}");

    write(&dir, "jeol_sem.bmp", b"BM not decoded");
    let bmp_text = String::from_utf8(fixture("jeol_sem.txt"))
        .unwrap()
        .replace("jeol_sem.tif", "jeol_sem.bmp");
    let text = write(&dir, "jeol_sem.txt", bmp_text.as_bytes());
    let err = read_path(&text).unwrap_err();
    assert!(matches!(err, FormatError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("jeol_sem.bmp"), "{err}");

    // A stated name with folders is reduced to its file name (no path traversal).
    let sneaky = String::from_utf8(fixture("jeol_sem.txt"))
        .unwrap()
        .replace("jeol_sem.tif", "../../etc/passwd");
    let text = write(&dir, "sneaky.txt", sneaky.as_bytes());
    let err = read_path(&text).unwrap_err();
    assert!(err.to_string().contains("passwd"), "{err}");
    assert!(!err.to_string().contains("../"), "{err}");
}

#[test]
fn path_info_matches_the_full_read_without_the_pixels() {
    let dir = folder("path_info");
    let image = write(&dir, "hitachi_s4800.tif", &grey_tiff(16, 10, None));
    let text = write(&dir, "hitachi_s4800.txt", &fixture("hitachi_s4800.txt"));
    for path in [&image, &text] {
        let full = read_path(path).unwrap();
        let info = athanor_formats::read_path_info(path).unwrap();
        // The sidecar's calibration and the data-bar crop reach the metadata-only read too.
        assert_eq!(info.shape, vec![8, 16]);
        assert_eq!(info.data_type, athanor_formats::DataType::U8);
        assert_eq!(info, athanor_formats::DatasetInfo::from(full));
    }
}
