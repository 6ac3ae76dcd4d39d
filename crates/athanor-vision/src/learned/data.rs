//! Data for the learned backend: the EMPS loader (Yildirim & Cole, J. Chem. Inf. Model. 61
//! (2021) 1136, layout `DIR/images/<id>.png`, `DIR/segmaps/<id>.png`), the fixed held-out
//! split, the network's input normalisation and seeded random crops with augmentation.
//!
//! **Held-out split.** An id is held out when the 64-bit FNV-1a hash of its UTF-8 bytes is
//! divisible by 5 (about 20 % of the ids). The rule depends on nothing but the id, so it is
//! stable when images are added or removed; `data/emps-heldout.txt` lists the held-out ids of
//! the 366-image training split and a test checks that the file agrees with the rule.
//! [`load_emps`] with [`Split::Train`] never reads a held-out image.

use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::targets::{targets_from_instances, Targets};
use crate::{GrayImage, VisionError};

/// The held-out ids of the EMPS training split, one per line (see the module docs).
pub const EMPS_HELDOUT_IDS: &str = include_str!("../../data/emps-heldout.txt");

/// 64-bit FNV-1a hash (Fowler–Noll–Vo), stable across platforms and Rust versions.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Whether an image id belongs to the fixed held-out split (FNV-1a hash divisible by 5).
pub fn is_held_out(id: &str) -> bool {
    fnv1a64(id.as_bytes()).is_multiple_of(5)
}

/// Which part of a dataset to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Ids that are not held out.
    Train,
    /// Only the held-out ids.
    HeldOut,
    /// Every id.
    All,
}

/// One annotated micrograph at full resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotatedImage {
    /// File stem.
    pub id: String,
    /// Grayscale image (the mean of the colour channels for RGB files).
    pub image: GrayImage,
    /// Instance map, row-major, 0 = background.
    pub labels: Vec<u32>,
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> VisionError {
    VisionError::Data {
        reason: format!("{}: {e}", path.display()),
    }
}

/// Decodes a PNG into `(width, height, channels, samples)`, 8- or 16-bit samples widened to
/// `u16` (palette and sub-byte images are expanded).
pub fn decode_png(bytes: &[u8]) -> Result<(usize, usize, usize, Vec<u16>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "image too large".to_string())?;
    let mut buffer = vec![0u8; size];
    let info = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let samples = width * height * channels;
    let values: Vec<u16> = match info.bit_depth {
        png::BitDepth::Sixteen => buffer[..2 * samples]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect(),
        _ => buffer[..samples].iter().map(|&v| v as u16).collect(),
    };
    Ok((width, height, channels, values))
}

/// Reads a micrograph PNG as grayscale: the mean of R, G, B (alpha ignored).
pub fn read_gray_png(path: &Path) -> Result<GrayImage, VisionError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let (w, h, c, v) = decode_png(&bytes).map_err(|e| io_error(path, e))?;
    let colour = if c >= 3 { 3 } else { 1 };
    let data: Vec<f32> = v
        .chunks_exact(c)
        .map(|p| p[..colour].iter().map(|&s| s as f32).sum::<f32>() / colour as f32)
        .collect();
    GrayImage::new(w, h, data)
}

/// Reads a single-channel instance map PNG (8 or 16 bit).
pub fn read_label_png(path: &Path) -> Result<(usize, usize, Vec<u32>), VisionError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let (w, h, c, v) = decode_png(&bytes).map_err(|e| io_error(path, e))?;
    Ok((w, h, v.iter().step_by(c).map(|&s| s as u32).collect()))
}

/// The ids (file stems of `DIR/images/*.png`) in sorted order.
pub fn list_emps_ids(dir: &Path) -> Result<Vec<String>, VisionError> {
    let images = dir.join("images");
    let mut ids: Vec<String> = std::fs::read_dir(&images)
        .map_err(|e| io_error(&images, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".png"))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    Ok(ids)
}

/// Loads the images of `split` from an EMPS-layout directory, in sorted id order, at most
/// `limit` of them. Held-out images are not even opened for [`Split::Train`].
pub fn load_emps(
    dir: &Path,
    split: Split,
    limit: Option<usize>,
) -> Result<Vec<AnnotatedImage>, VisionError> {
    let mut ids: Vec<String> = list_emps_ids(dir)?
        .into_iter()
        .filter(|id| match split {
            Split::Train => !is_held_out(id),
            Split::HeldOut => is_held_out(id),
            Split::All => true,
        })
        .collect();
    if let Some(n) = limit {
        ids.truncate(n);
    }
    ids.into_iter()
        .map(|id| {
            let image = read_gray_png(&dir.join("images").join(format!("{id}.png")))?;
            let label_path = dir.join("segmaps").join(format!("{id}.png"));
            let (w, h, labels) = read_label_png(&label_path)?;
            if (w, h) != (image.width, image.height) {
                return Err(io_error(
                    &label_path,
                    format!(
                        "label map is {w} × {h} but the image is {} × {}",
                        image.width, image.height
                    ),
                ));
            }
            Ok(AnnotatedImage { id, image, labels })
        })
        .collect()
}

/// Box-average downsampling by an integer factor (partial boxes at the right/bottom edge are
/// averaged over the pixels they have). Returns `(width, height, data)`.
pub fn downsample_box(
    data: &[f32],
    width: usize,
    height: usize,
    factor: usize,
) -> (usize, usize, Vec<f32>) {
    if factor <= 1 {
        return (width, height, data.to_vec());
    }
    let (w, h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut sum = vec![0f32; w * h];
    let mut count = vec![0u32; w * h];
    for y in 0..height {
        for x in 0..width {
            let j = (y / factor) * w + x / factor;
            sum[j] += data[y * width + x];
            count[j] += 1;
        }
    }
    let out = sum.iter().zip(&count).map(|(s, &c)| s / c as f32).collect();
    (w, h, out)
}

/// Nearest-neighbour downsampling of a label map: each output pixel takes the label at the
/// centre of its box (clamped to the image).
pub fn downsample_labels(
    labels: &[u32],
    width: usize,
    height: usize,
    factor: usize,
) -> (usize, usize, Vec<u32>) {
    if factor <= 1 {
        return (width, height, labels.to_vec());
    }
    let (w, h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let sy = (y * factor + factor / 2).min(height - 1);
        for x in 0..w {
            let sx = (x * factor + factor / 2).min(width - 1);
            out.push(labels[sy * width + sx]);
        }
    }
    (w, h, out)
}

/// The network's input scaling: intensities mapped linearly so that the 1st percentile goes
/// to −0.5 and the 99th to +0.5, then clipped to [−1.5, 1.5]. Robust to a few saturated pixels
/// (scale bars, labels) and independent of the detector's units.
pub fn normalise_intensities(data: &[f32]) -> Vec<f32> {
    if data.is_empty() {
        return Vec::new();
    }
    // A strided sample of at most ~65 k pixels is plenty for two percentiles.
    let stride = (data.len() / 65_536).max(1);
    let mut sample: Vec<f32> = data.iter().step_by(stride).copied().collect();
    sample.sort_by(f32::total_cmp);
    let at = |q: f64| sample[((sample.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.01), at(0.99));
    let span = if hi > lo { hi - lo } else { 1.0 };
    data.iter()
        .map(|&v| ((v - lo) / span - 0.5).clamp(-1.5, 1.5))
        .collect()
}

/// An image prepared for training: normalised input and targets at the network's resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingImage {
    /// Identifier.
    pub id: String,
    /// Normalised input, `targets.width · targets.height`.
    pub input: Vec<f32>,
    /// Targets at the same resolution.
    pub targets: Targets,
}

impl TrainingImage {
    /// Downsamples `annotated` by `factor` (box average for the image, centre sampling for
    /// the labels), normalises it and derives the targets.
    pub fn prepare(annotated: &AnnotatedImage, factor: usize) -> TrainingImage {
        let image = &annotated.image;
        let (w, h, data) = downsample_box(&image.data, image.width, image.height, factor);
        let (_, _, labels) =
            downsample_labels(&annotated.labels, image.width, image.height, factor);
        TrainingImage {
            id: annotated.id.clone(),
            input: normalise_intensities(&data),
            targets: targets_from_instances(&labels, w, h),
        }
    }
}

/// A batch of square crops, channel-major: `input` is `(batch, 1, size, size)` and `targets`
/// `(batch, 3, size, size)` (foreground, boundary, distance).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Crops in the batch.
    pub batch: usize,
    /// Side length.
    pub size: usize,
    /// Inputs, `batch · size²`.
    pub input: Vec<f32>,
    /// Targets, `batch · 3 · size²`.
    pub targets: Vec<f32>,
}

/// Smallest zoom of a training crop (crop pixels per image pixel below one shrink particles).
pub const MIN_ZOOM: f32 = 0.75;
/// Largest zoom of a training crop.
pub const MAX_ZOOM: f32 = 1.33;

/// Cuts a random `size × size` crop of `image` into slot `slot` of `batch`, with a random
/// zoom (log-uniform between [`MIN_ZOOM`] and [`MAX_ZOOM`]; nearest-neighbour sampling of input and
/// targets alike, so particle sizes seen in training spread beyond those of the dataset), a
/// random element of the dihedral group (flips, 90° rotations), a random gain in [0.8, 1.25],
/// an offset in [−0.1, 0.1] and, with probability `invert_probability`, inverted contrast
/// (bright-field TEM and SEM/HAADF show particles with opposite polarity; but inverting also
/// makes bright film features and holes look like dark particles, so training defaults to 0). Where the image is smaller than the
/// crop, the input repeats its border pixels and the targets are background.
pub fn add_random_crop(
    image: &TrainingImage,
    batch: &mut Batch,
    slot: usize,
    invert_probability: f32,
    rng: &mut ChaCha8Rng,
) {
    let size = batch.size;
    let (w, h) = (image.targets.width, image.targets.height);
    // Source pixels per crop pixel.
    let step = (MIN_ZOOM.ln() + rng.random::<f32>() * (MAX_ZOOM / MIN_ZOOM).ln())
        .exp()
        .recip();
    let span = ((size as f32 * step).ceil() as usize).max(1);
    let x0 = if w > span {
        rng.random_range(0..=w - span)
    } else {
        0
    };
    let y0 = if h > span {
        rng.random_range(0..=h - span)
    } else {
        0
    };
    let transpose = rng.random::<bool>();
    let flip_x = rng.random::<bool>();
    let flip_y = rng.random::<bool>();
    let gain = (rng.random::<f32>() * (1.25f32 / 0.8).ln()).exp() * 0.8;
    let offset = rng.random::<f32>() * 0.2 - 0.1;
    let invert = rng.random::<f32>() < invert_probability;
    let area = size * size;
    let input_base = slot * area;
    let target_base = slot * 3 * area;
    for cy in 0..size {
        for cx in 0..size {
            // Output pixel (cx, cy) reads crop pixel (u, v) after the dihedral transform.
            let (mut u, mut v) = if transpose { (cy, cx) } else { (cx, cy) };
            if flip_x {
                u = size - 1 - u;
            }
            if flip_y {
                v = size - 1 - v;
            }
            let sample = |k: usize| ((k as f32 + 0.5) * step) as usize;
            let (sx, sy) = (x0 + sample(u), y0 + sample(v));
            let inside = sx < w && sy < h;
            let i = sy.min(h - 1) * w + sx.min(w - 1);
            let mut value = image.input[i];
            if invert {
                value = -value;
            }
            let o = cy * size + cx;
            batch.input[input_base + o] = value * gain + offset;
            let t = &image.targets;
            let (f, b, d) = if inside {
                (t.foreground[i], t.boundary[i], t.distance[i])
            } else {
                (0.0, 0.0, 0.0)
            };
            batch.targets[target_base + o] = f;
            batch.targets[target_base + area + o] = b;
            batch.targets[target_base + 2 * area + o] = d;
        }
    }
}

/// A batch of `batch` random crops drawn from `images` (image chosen uniformly per slot; see
/// [`add_random_crop`] for the augmentations).
pub fn random_batch(
    images: &[TrainingImage],
    batch: usize,
    size: usize,
    invert_probability: f32,
    rng: &mut ChaCha8Rng,
) -> Batch {
    let mut out = Batch {
        batch,
        size,
        input: vec![0.0; batch * size * size],
        targets: vec![0.0; batch * 3 * size * size],
    };
    if images.is_empty() {
        return out;
    }
    for slot in 0..batch {
        let k = rng.random_range(0..images.len());
        add_random_crop(&images[k], &mut out, slot, invert_probability, rng);
    }
    out
}

/// A seeded generator for the data pipeline (kept apart from the initialisation stream).
pub(crate) fn data_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_da7a_0000_0001)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heldout_file_agrees_with_the_hash_rule() {
        let ids: Vec<&str> = EMPS_HELDOUT_IDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(ids.len() > 50, "the file lists the held-out ids");
        assert!(ids.iter().all(|id| is_held_out(id)));
        // The rule selects about a fifth of arbitrary ids.
        let share = (0..1000)
            .filter(|k| is_held_out(&format!("{k:010x}")))
            .count();
        assert!((150..250).contains(&share), "{share}");
    }

    #[test]
    fn crops_keep_input_and_targets_aligned() {
        // A 20×16 image whose input equals its foreground target (a square), so any
        // mismatch between the transformed input and targets shows up.
        let (w, h) = (20, 16);
        let labels: Vec<u32> = (0..w * h)
            .map(|i| ((3..9).contains(&(i % w)) && (4..12).contains(&(i / w))) as u32)
            .collect();
        let targets = targets_from_instances(&labels, w, h);
        let image = TrainingImage {
            id: "square".into(),
            input: targets.foreground.clone(),
            targets,
        };
        let mut rng = data_rng(3);
        for _ in 0..20 {
            let batch = random_batch(std::slice::from_ref(&image), 2, 12, 0.5, &mut rng);
            for slot in 0..2 {
                let area = 144;
                let input = &batch.input[slot * area..(slot + 1) * area];
                let fg = &batch.targets[slot * 3 * area..slot * 3 * area + area];
                // input = ±fg · gain + offset: two distinct values, splitting exactly like fg.
                let on: Vec<f32> = (0..area)
                    .filter(|&o| fg[o] == 1.0)
                    .map(|o| input[o])
                    .collect();
                let off: Vec<f32> = (0..area)
                    .filter(|&o| fg[o] == 0.0)
                    .map(|o| input[o])
                    .collect();
                assert!(on.windows(2).all(|p| p[0] == p[1]));
                assert!(off.windows(2).all(|p| p[0] == p[1]));
                if let (Some(a), Some(b)) = (on.first(), off.first()) {
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn downsampling_and_normalisation() {
        let (w, h, d) = downsample_box(&[1.0, 3.0, 5.0, 7.0, 9.0, 11.0], 3, 2, 2);
        assert_eq!((w, h), (2, 1));
        assert_eq!(d, vec![(1.0 + 3.0 + 7.0 + 9.0) / 4.0, (5.0 + 11.0) / 2.0]);
        let (_, _, l) = downsample_labels(&[1, 2, 3, 4, 5, 6, 7, 8], 4, 2, 2);
        assert_eq!(l, vec![6, 8]);
        let values: Vec<f32> = (0..1000).map(|v| v as f32).collect();
        let n = normalise_intensities(&values);
        assert!((n[10] + 0.5).abs() < 1e-3 && (n[989] - 0.5).abs() < 1e-3);
    }
}
