//! The committed fuzz seeds under `fuzz/seeds/<target>/` (binary formats that have no fixture
//! files: DM3/DM4, TIFF, vendor TIFF, PNG, EMD) are generated here, so that they stay small,
//! valid and reproducible. The CI fuzz smoke run (`scripts/test.sh`) starts each of those
//! targets from them instead of from an empty corpus.
//!
//! This test checks that every committed seed equals what the generators below write and is
//! read successfully by its reader. To (re)write them after changing a generator:
//!
//! ```sh
//! ATHANOR_WRITE_FUZZ_SEEDS=1 cargo test --release -p athanor-formats --test fuzz_seeds
//! ```

#[path = "support/dm_writer.rs"]
mod dm_writer;
#[path = "support/emd_writer.rs"]
mod emd_writer;

use athanor_formats::CalibratedImage;
use std::path::PathBuf;

/// Largest seed allowed in the repository.
const MAX_SEED_BYTES: usize = 20 * 1024;

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

/// A 4 × 4 grey TIFF with a Tescan tag 50431 (binary prefix + the INI text of the fixture).
fn tescan_tiff_seed() -> Vec<u8> {
    use tiff::encoder::{colortype, TiffEncoder};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sem/tescan_mira.hdr");
    let mut tag = vec![0u8, 1, 2, 3];
    tag.extend(std::fs::read(&path).expect("Tescan fixture"));
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

type Reader = fn(&[u8]) -> bool;

/// Decoded PNG content: header fields and the raw sample bytes.
fn png_content(bytes: &[u8]) -> Option<(png::Info<'static>, Vec<u8>)> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()?;
    let mut pixels = vec![0; reader.output_buffer_size()?];
    reader.next_frame(&mut pixels).ok()?;
    Some((reader.info().clone(), pixels))
}

/// Whether a committed seed holds what the generator writes. PNG is compared by decoded content:
/// the deflate stream the encoder writes depends on which compression backend Cargo's feature
/// unification picked for the build (`-p athanor-formats` and `--workspace` differ), while the
/// image a fuzz run starts from does not.
fn seed_is_current(target: &str, committed: &[u8], generated: &[u8]) -> bool {
    if target != "png" {
        return committed == generated;
    }
    match (png_content(committed), png_content(generated)) {
        (Some((a_info, a_pixels)), Some((b_info, b_pixels))) => {
            (
                a_info.width,
                a_info.height,
                a_info.bit_depth,
                a_info.color_type,
            ) == (
                b_info.width,
                b_info.height,
                b_info.bit_depth,
                b_info.color_type,
            ) && a_pixels == b_pixels
        }
        _ => false,
    }
}

/// (target, file name, bytes, reader that must accept them).
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>, Reader)> {
    let dm: Reader = |b| athanor_formats::dm::read_dm(b).is_ok();
    let any: Reader = |b| athanor_formats::read_any(b, None).is_ok();
    let emd: Reader = |b| athanor_formats::read_emd(b).is_ok();
    vec![
        ("dm", "image_f32.dm3", dm_seed(3), dm),
        ("dm", "image_f32.dm4", dm_seed(4), dm),
        ("tiff", "calibrated_u16.tif", tiff_seed(), |b| {
            athanor_formats::read_tiff(b).is_ok()
        }),
        ("em_tiff", "calibrated_u16.tif", tiff_seed(), any),
        ("em_tiff", "tescan_tag.tif", tescan_tiff_seed(), any),
        ("png", "gray16.png", png_seed(), |b| {
            athanor_formats::png::read_png(b).is_ok()
        }),
        (
            "emd",
            "velox_u16_series.emd",
            emd_writer::velox_u16(3, 4, 2, true),
            emd,
        ),
        (
            "emd",
            "ncem_i32.emd",
            emd_writer::ncem_i32(2, 2, 3, 0.5, -1.0),
            emd,
        ),
    ]
}

#[test]
fn committed_fuzz_seeds_are_current_small_and_valid() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = std::env::var_os("ATHANOR_WRITE_FUZZ_SEEDS").is_some();
    let mut stale = Vec::new();
    for (target, name, bytes, reader) in seeds() {
        assert!(
            reader(&bytes),
            "{target}/{name}: generated seed does not parse"
        );
        assert!(
            bytes.len() <= MAX_SEED_BYTES,
            "{target}/{name}: {} bytes",
            bytes.len()
        );
        // Generators must be deterministic, or the committed file could never match.
        let again = seeds()
            .into_iter()
            .find(|(t, n, _, _)| *t == target && *n == name)
            .map(|(_, _, b, _)| b);
        assert_eq!(
            again.as_ref(),
            Some(&bytes),
            "{target}/{name}: not deterministic"
        );
        let path = root.join(target).join(name);
        if write {
            std::fs::create_dir_all(path.parent().expect("seed folder")).expect("mkdir");
            std::fs::write(&path, &bytes).expect("write seed");
        } else if !std::fs::read(&path)
            .is_ok_and(|committed| seed_is_current(target, &committed, &bytes))
        {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "fuzz seeds missing or out of date (regenerate with ATHANOR_WRITE_FUZZ_SEEDS=1, see this \
         file's docs): {stale:#?}"
    );
}
