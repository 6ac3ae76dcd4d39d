//! Helpers shared by the command-line tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example campaign shipped with the repository.
pub fn example_campaign() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qd-620nm.toml")
}

/// The `athanor` binary under test.
pub fn athanor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_athanor"))
}

/// Runs `athanor` with arguments and returns its output.
pub fn run(args: &[&str]) -> Output {
    athanor()
        .args(args)
        .output()
        .expect("the athanor binary runs")
}

/// Runs `athanor` with arguments, requires success (showing its stderr otherwise) and returns
/// its output.
pub fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "athanor {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The last line of stdout parsed as JSON.
pub fn last_json_line(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

/// The example campaign text with `replacements` applied, written into `dir`.
pub fn campaign_variant(dir: &Path, name: &str, replacements: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(example_campaign()).expect("example campaign exists");
    for (from, to) in replacements {
        assert!(
            text.contains(from),
            "the example campaign no longer contains `{from}`"
        );
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write campaign variant");
    path
}

/// A 320×256 synthetic micrograph from the twin (5 nm particles, seed `seed`) with `strip`
/// rows appended below it, pixel `(x, row)` of the strip given by `strip_pixel`, written as a
/// 16-bit TIFF without a pixel size to `dir/sem.tif`. Returns the file and the micrograph's
/// own height (the first row of the strip).
pub fn uncalibrated_micrograph_with_strip(
    dir: &Path,
    seed: u64,
    strip: usize,
    strip_pixel: impl Fn(usize, usize) -> u16,
) -> (PathBuf, usize) {
    use athanor_formats::{write_tiff_u16, CalibratedImage};
    use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
    let spec = MicrographSpec {
        width: 320,
        height: 256,
        ..MicrographSpec::default()
    };
    let m = render_micrograph(&[5.0], &spec, seed).expect("the twin renders");
    let mut pixels = m.pixels.clone();
    for row in 0..strip {
        for x in 0..m.width {
            pixels.push(strip_pixel(x, row));
        }
    }
    let tiff = write_tiff_u16(&CalibratedImage {
        width: m.width,
        height: m.height + strip,
        pixels,
        pixel_size: None,
        description: None,
    })
    .expect("TIFF encodes");
    let file = dir.join("sem.tif");
    std::fs::write(&file, tiff).expect("temporary directory is writable");
    (file, m.height)
}
