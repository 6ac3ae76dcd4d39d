//! Inputs that once crashed a parser under `cargo fuzz`, kept so that the bug stays fixed.
//! Each file in `tests/fixtures/fuzz-regressions/` must be rejected with an error, not a panic or
//! an abort, by `read_any` and by the reader its name starts with.

use std::path::Path;

fn regression_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fuzz-regressions fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn every_former_crash_input_is_a_clear_error() {
    let files = regression_files();
    assert!(!files.is_empty());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("png-") {
            let err = athanor_formats::png::read_png(&bytes).expect_err(&name);
            assert!(!err.to_string().is_empty(), "{name}");
        }
        if name.starts_with("dm-") {
            let err = athanor_formats::dm::read_dm(&bytes).expect_err(&name);
            assert!(!err.to_string().is_empty(), "{name}");
        }
        assert!(
            athanor_formats::read_any(&bytes, None).is_err(),
            "{name} must be rejected by read_any"
        );
    }
}

/// CRC-32 (ISO-HDLC, as PNG uses), bit by bit: tests only.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

#[test]
fn a_png_header_declaring_more_pixels_than_the_file_could_hold_names_the_problem() {
    // A well-formed (valid CRCs) 60 000 x 60 000 8-bit gray header on a file of ~60 bytes: the
    // fuzzer found that the output buffer (3.6 GB here) was allocated before any check.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    file.extend(chunk(b"IHDR", &ihdr));
    file.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    file.extend(chunk(b"IEND", &[]));
    let err = athanor_formats::png::read_png(&file).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("60000x60000") && message.contains("bytes"),
        "{message}"
    );
}
