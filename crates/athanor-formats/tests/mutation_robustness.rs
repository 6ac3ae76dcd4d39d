//! Stable-Rust stand-in for fuzzing (CI has no nightly): every parser is fed thousands of
//! seeded random mutations of valid inputs — bit flips, byte overwrites with boundary values,
//! truncations, insertions, chunk duplications and corrupted length fields — and must return
//! (`Ok` or `Err`) without panicking, within one second per input. The mutations are
//! reproducible: `ChaCha8Rng::seed_from_u64(SEED + target index)`.
//!
//! The real fuzz targets (libFuzzer, nightly) live in `fuzz/`; see `fuzz/README.md`.

#[path = "support/dm_writer.rs"]
mod dm_writer;
#[path = "support/emd_writer.rs"]
mod emd_writer;

use athanor_formats::CalibratedImage;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SEED: u64 = 0x5EED_F0F0;
const MUTATIONS_PER_TARGET: usize = 2500;
const TIME_LIMIT: Duration = Duration::from_secs(1);

type Parser = fn(&[u8]) -> bool;

fn xrd_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/xrd")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn dm_seed(version: u32) -> Vec<u8> {
    let payload: Vec<u8> = (0..12 * 5)
        .flat_map(|i| (i as f32 * 0.5).to_le_bytes())
        .collect();
    dm_writer::dm_file(version, 12, 5, 2, 6, &payload, 0.25)
}

fn tiff_seed() -> Vec<u8> {
    let image = CalibratedImage {
        width: 9,
        height: 7,
        pixels: (0..63).map(|i| i * 1000).collect(),
        pixel_size: Some(athanor_model::Quantity::new(1.5, "nm")),
        description: Some("seed".into()),
    };
    athanor_formats::write_tiff_u16(&image).expect("seed TIFF")
}

fn fixture(folder: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mrc_seeds() -> Vec<Vec<u8>> {
    [
        "stack_int16_le.mrc",
        "image_float32_be.mrc",
        "volume_float16_fei1.mrc",
        "fft_complex_nostamp.mrc",
        "image_int8.mrc",
    ]
    .iter()
    .map(|name| fixture("mrc", name))
    .collect()
}

fn sidecar_seeds() -> Vec<Vec<u8>> {
    ["hitachi_s4800.txt", "jeol_sem.txt", "tescan_mira.hdr"]
        .iter()
        .map(|name| fixture("sem", name))
        .collect()
}

/// A 4 × 4 grey TIFF with a Tescan tag 50431 (binary prefix + INI text).
fn tescan_tiff_seed() -> Vec<u8> {
    use tiff::encoder::{colortype, TiffEncoder};
    let mut tag = vec![0u8, 1, 2, 3];
    tag.extend(fixture("sem", "tescan_mira.hdr"));
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut encoder = TiffEncoder::new(&mut buffer).expect("TIFF encoder");
        let mut image = encoder
            .new_image::<colortype::Gray8>(4, 4)
            .expect("TIFF image");
        image
            .encoder()
            .write_tag(tiff::tags::Tag::Unknown(50431), &tag[..])
            .expect("Tescan tag");
        image.write_data(&[9u8; 16]).expect("TIFF data");
    }
    buffer.into_inner()
}

fn png_seed() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 6, 4);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().expect("PNG header");
        let data: Vec<u8> = (0..24u16).flat_map(|v| (v * 2000).to_be_bytes()).collect();
        writer.write_image_data(&data).expect("PNG data");
    }
    out
}

fn emd_seeds() -> Vec<Vec<u8>> {
    vec![
        emd_writer::velox_u16(3, 4, 2, true),
        emd_writer::ncem_i32(2, 2, 3, 0.5, -1.0),
    ]
}

/// One mutation of `input`, chosen by `rng`.
fn mutate(input: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.random_range(0..3usize);
    for _ in 0..rounds {
        if out.is_empty() {
            out.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..7u8) {
            0 => {
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..out.len());
                    out[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => out[at] = [0u8, 0xFF, 0x7F, 0x80, b'<', b'#', b'\n'][rng.random_range(0..7usize)],
            2 => out.truncate(at),
            3 => {
                let n = rng.random_range(1..16usize);
                let insert: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                out.splice(at..at, insert);
            }
            4 => {
                let end = (at + rng.random_range(1..64usize)).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.random_range(0..=out.len());
                out.splice(to..to, chunk);
            }
            5 => {
                // A length or count field made hostile, in either byte order and width.
                let values = [
                    u64::MAX,
                    u64::from(u32::MAX),
                    0x7FFF_FFFF,
                    0,
                    1,
                    out.len() as u64 + 1,
                    1 << 40,
                ];
                let value = values[rng.random_range(0..values.len())];
                let width = [2usize, 4, 8][rng.random_range(0..3usize)];
                let at = (at / width) * width;
                let bytes = if rng.random::<bool>() {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let start = if rng.random::<bool>() { 0 } else { 8 - width };
                for k in 0..width {
                    if let Some(b) = out.get_mut(at + k) {
                        *b = bytes[start + k];
                    }
                }
            }
            _ => {
                // Text formats: replace a digit with a letter or a separator.
                let replacement = [b'e', b'E', b'-', b'.', b',', b';', b' ', b'?', b's', b'%'];
                out[at] = replacement[rng.random_range(0..replacement.len())];
            }
        }
    }
    out
}

fn run_target(index: u64, name: &str, seeds: &[Vec<u8>], parse: Parser) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + index);
    let mut failures = Vec::new();
    for seed in seeds {
        assert!(parse(seed), "{name}: the unmutated seed must parse");
    }
    let mut slowest = Duration::ZERO;
    for iteration in 0..MUTATIONS_PER_TARGET {
        let seed = &seeds[iteration % seeds.len()];
        let input = mutate(seed, &mut rng);
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        let elapsed = start.elapsed();
        slowest = slowest.max(elapsed);
        if outcome.is_err() {
            failures.push(format!("{name}: mutation {iteration} panicked"));
        }
        if elapsed > TIME_LIMIT {
            failures.push(format!("{name}: mutation {iteration} took {elapsed:?}"));
        }
    }
    eprintln!("{name}: {MUTATIONS_PER_TARGET} mutations, slowest {slowest:?}");
    failures
}

#[test]
fn mutated_inputs_never_panic_or_hang() {
    let dm = vec![dm_seed(3), dm_seed(4)];
    let targets: Vec<(&str, Vec<Vec<u8>>, Parser)> = vec![
        ("dm", dm.clone(), |b| {
            athanor_formats::dm::read_dm(b).is_ok()
        }),
        ("dm_info", dm, |b| {
            athanor_formats::dm::read_dm_info(b).is_ok()
        }),
        ("tiff", vec![tiff_seed()], |b| {
            athanor_formats::read_tiff(b).is_ok()
        }),
        ("em_tiff", vec![tiff_seed()], |b| {
            athanor_formats::read_any(b, Some("x.tif")).is_ok()
        }),
        ("png", vec![png_seed()], |b| {
            athanor_formats::png::read_png(b).is_ok()
        }),
        (
            "xrdml",
            vec![
                xrd_fixture("quartz.xrdml"),
                xrd_fixture("quartz_list.xrdml"),
            ],
            |b| athanor_formats::read_xrdml(b).is_ok(),
        ),
        (
            "bruker_raw",
            vec![xrd_fixture("quartz_v3.raw"), xrd_fixture("quartz_v4.raw")],
            |b| athanor_formats::read_bruker_raw(b).is_ok(),
        ),
        ("brml", vec![xrd_fixture("quartz.brml")], |b| {
            athanor_formats::read_brml(b).is_ok()
        }),
        ("ras", vec![xrd_fixture("quartz.ras")], |b| {
            athanor_formats::read_ras(b).is_ok()
        }),
        (
            "jcamp",
            vec![
                xrd_fixture("quartz_affn.jdx"),
                xrd_fixture("quartz_dif.jdx"),
                xrd_fixture("quartz_peaks.jdx"),
            ],
            |b| athanor_formats::read_jcamp(b).is_ok(),
        ),
        ("xy", vec![xrd_fixture("quartz.xy")], |b| {
            athanor_formats::read_xy(b).is_ok()
        }),
        (
            "spectrum_csv",
            vec![b"# sample: A1\nwavelength (nm);PL (counts)\n600;10,5\n601;12\n".to_vec()],
            |b| athanor_formats::read_spectrum_csv(b).is_ok(),
        ),
        ("mrc", mrc_seeds(), |b| athanor_formats::read_mrc(b).is_ok()),
        ("mrc_info", mrc_seeds(), |b| {
            athanor_formats::read_mrc_info(b).is_ok()
        }),
        ("emd", emd_seeds(), |b| athanor_formats::read_emd(b).is_ok()),
        ("emd_info", emd_seeds(), |b| {
            athanor_formats::read_emd_info(b).is_ok()
        }),
        ("sem_sidecar", sidecar_seeds(), |b| {
            athanor_formats::parse_sem_sidecar(b).is_ok()
        }),
        ("tescan_tiff", vec![tescan_tiff_seed()], |b| {
            athanor_formats::read_any(b, Some("x.tif")).is_ok()
        }),
        (
            "read_any",
            vec![
                fixture("mrc", "volume_float16_fei1.mrc"),
                dm_seed(4),
                tiff_seed(),
                png_seed(),
                xrd_fixture("quartz.xrdml"),
                xrd_fixture("quartz_v3.raw"),
                xrd_fixture("quartz.brml"),
                xrd_fixture("quartz.ras"),
                xrd_fixture("quartz_dif.jdx"),
                emd_writer::ncem_i32(1, 2, 3, 0.5, 0.0),
            ],
            |b| {
                let full = athanor_formats::read_any(b, None).is_ok();
                let _ = athanor_formats::read_metadata_only(b, None);
                full
            },
        ),
    ];
    let mut failures = Vec::new();
    for (index, (name, seeds, parse)) in targets.into_iter().enumerate() {
        failures.extend(run_target(index as u64, name, &seeds, parse));
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
