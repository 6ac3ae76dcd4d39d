//! Inference: tiled prediction of the three maps and their conversion into instance labels.
//!
//! The image is box-downsampled by the model's factor, normalised once as a whole
//! ([`super::data::normalise_intensities`]), cut into overlapping square tiles (side
//! [`InferenceConfig::tile`], overlap [`InferenceConfig::overlap`]), and the sigmoid outputs
//! of the tiles are blended with weights that are exactly zero within `overlap/4` pixels of an
//! edge shared with another tile and ramp linearly to one over the next `overlap/2` pixels
//! (image borders keep full weight). The zero margin discards the pixels whose receptive field
//! was cut by the tile edge, so the result does not depend on the tiling as long as the
//! margin exceeds the network's effective context. With [`InferenceConfig::flips`] > 1 the
//! same is done for mirrored copies of the image, each result is mirrored back and the maps
//! are averaged. The maps are upsampled bilinearly to the full resolution.
//!
//! **Instances.** Foreground = `p_fg > 0.5`. Within each 8-connected foreground component the
//! predicted distance, damped by the boundary probability, `d' = d · (1 − p_b)`, is flooded
//! from its h-maxima (dynamic ≥ [`InferenceConfig::min_dynamic`], in units of the normalised
//! distance) with the crate's marker-controlled watershed, so touching particles whose contact
//! line the network marks as boundary become separate instances. Holes enclosed by one
//! instance are filled (particles with bright rims come out as rings otherwise). Objects
//! smaller than [`InferenceConfig::min_area_px`], and objects whose mean foreground
//! probability is below [`InferenceConfig::min_confidence`] (on real micrographs these are
//! mostly patches of textured substrate or support film), are dropped; labels are numbered in
//! raster order.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use super::data::{downsample_box, normalise_intensities};
use super::fast::{FastUNet, Par};
use super::model::UNet;
use crate::components::{label_components, relabel_raster_order};
use crate::refine::{fill_enclosed_holes, label_boxes};
use crate::watershed::{split_by_distance, SplitParameters};
use crate::{GrayImage, VisionError};

/// Tiling and post-processing settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InferenceConfig {
    /// Tile side at the network's resolution, pixels (rounded up to the network's size
    /// multiple). Default 256.
    pub tile: usize,
    /// Overlap of neighbouring tiles, pixels at the network's resolution. Default 64.
    pub overlap: usize,
    /// Foreground probability threshold. Default 0.5.
    pub foreground_threshold: f32,
    /// Smallest dynamic of a distance maximum that starts its own particle (normalised
    /// distance units, 0–1). Default 0.3.
    pub min_dynamic: f64,
    /// Segment again at a coarser scale when the median particle is wider than this many
    /// pixels at the network's resolution (see [`LearnedSegmenter::segment`]); `None` never
    /// does. Default `Some(64.0)` (chosen on training images, see `weights/README.md`).
    pub max_particle_px: Option<f64>,
    /// Smallest object kept, pixels at full resolution. Default 40 (about 7 px across; 99 %
    /// of the hand-labelled EMPS particles are larger).
    pub min_area_px: usize,
    /// Smallest mean foreground probability over an instance's pixels (its confidence);
    /// weaker instances are dropped. Default 0.8 (chosen on training images, see
    /// `weights/README.md`); 0 keeps every instance.
    pub min_confidence: f32,
    /// Mirrored views of the image whose predictions are averaged (test-time augmentation):
    /// 1 = the image only, 2 = also mirrored left–right, 4 = also upside down and both.
    /// The network was trained on flipped crops, so each view is an equally valid opinion and
    /// their mean is smoother at uncertain edges; inference time grows with the count.
    /// Default 2 (chosen on training images, see `weights/README.md`). One of
    /// [`FLIP_COUNTS`].
    pub flips: usize,
}

/// The values [`InferenceConfig::flips`] accepts.
pub const FLIP_COUNTS: [usize; 3] = [1, 2, 4];

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            tile: 256,
            overlap: 64,
            foreground_threshold: 0.5,
            min_dynamic: 0.3,
            min_area_px: 40,
            max_particle_px: Some(64.0),
            min_confidence: 0.8,
            flips: 2,
        }
    }
}

/// The three predicted maps at an image's full resolution (row-major, values in [0, 1]).
#[derive(Debug, Clone, PartialEq)]
pub struct PredictedMaps {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Foreground probability.
    pub foreground: Vec<f32>,
    /// Boundary probability.
    pub boundary: Vec<f32>,
    /// Normalised distance to the particle's edge (1 at particle centres).
    pub distance: Vec<f32>,
}

/// A trained U-Net with its inference settings; cheap to share (`Arc`) between threads.
#[derive(Debug, Clone)]
pub struct LearnedSegmenter {
    net: Arc<UNet>,
    fast: Arc<FastUNet>,
    /// Tiling and post-processing.
    pub config: InferenceConfig,
}

impl LearnedSegmenter {
    /// Wraps a network with the default inference settings.
    pub fn new(net: UNet) -> Result<LearnedSegmenter, VisionError> {
        Ok(LearnedSegmenter {
            fast: Arc::new(FastUNet::new(&net)?),
            net: Arc::new(net),
            config: InferenceConfig::default(),
        })
    }

    /// Loads safetensors weights written by training (e.g. bytes embedded with
    /// `include_bytes!`).
    pub fn from_bytes(bytes: &[u8]) -> Result<LearnedSegmenter, VisionError> {
        LearnedSegmenter::new(UNet::from_safetensors(bytes)?)
    }

    /// Loads a safetensors weights file.
    pub fn load(path: &Path) -> Result<LearnedSegmenter, VisionError> {
        let bytes = std::fs::read(path).map_err(|e| VisionError::Data {
            reason: format!("{}: {e}", path.display()),
        })?;
        LearnedSegmenter::from_bytes(&bytes)
    }

    /// The network.
    pub fn net(&self) -> &UNet {
        &self.net
    }

    /// Predicts the three maps at full resolution, with the network's own downsampling factor.
    pub fn predict(&self, image: &GrayImage) -> Result<PredictedMaps, VisionError> {
        self.predict_at(image, self.net.config().downsample)
    }

    /// Predicts the three maps at full resolution, the image box-downsampled by `factor`
    /// before the network sees it.
    pub fn predict_at(
        &self,
        image: &GrayImage,
        factor: usize,
    ) -> Result<PredictedMaps, VisionError> {
        image.validate()?;
        let factor = factor.max(1);
        let (w, h, small) = downsample_box(&image.data, image.width, image.height, factor);
        let input = normalise_intensities(&small);
        let views = Mirror::views(self.config.flips)?;
        let mut maps: [Vec<f32>; 3] = Default::default();
        for mirror in views {
            let view = mirror.apply(&input, w, h);
            let predicted = predict_tiled(
                &self.fast,
                self.net.config().size_multiple(),
                &view,
                w,
                h,
                self.config.tile,
                self.config.overlap,
            )?;
            for (sum, map) in maps.iter_mut().zip(predicted) {
                // Mirroring is its own inverse, so the same flip maps the prediction back.
                let map = mirror.apply(&map, w, h);
                if sum.is_empty() {
                    *sum = map.into_owned();
                } else {
                    sum.iter_mut().zip(map.iter()).for_each(|(s, v)| *s += v);
                }
            }
        }
        if views.len() > 1 {
            let scale = 1.0 / views.len() as f32;
            maps.iter_mut()
                .for_each(|m| m.iter_mut().for_each(|v| *v *= scale));
        }
        let up = |m: &[f32]| upsample_bilinear(m, w, h, image.width, image.height, factor);
        Ok(PredictedMaps {
            width: image.width,
            height: image.height,
            foreground: up(&maps[0]),
            boundary: up(&maps[1]),
            distance: up(&maps[2]),
        })
    }

    /// Instance labels (row-major, 0 = background, 1.. in raster order).
    ///
    /// With [`InferenceConfig::max_particle_px`] set, particles much larger than the network
    /// saw in training (their median equivalent diameter at the network's resolution above
    /// that value) make the image be segmented again, downsampled twice as much, up to a
    /// factor of 8: the network's receptive field then covers them again.
    pub fn segment(&self, image: &GrayImage) -> Result<Vec<u32>, VisionError> {
        let mut factor = self.net.config().downsample.max(1);
        let mut labels = instances_from_maps(&self.predict_at(image, factor)?, &self.config);
        while let Some(limit) = self.config.max_particle_px {
            let Some(diameter) = median_diameter_px(&labels) else {
                break;
            };
            let coarser = factor * 2;
            if diameter / (factor as f64) <= limit || coarser > 8 {
                break;
            }
            let mut config = self.config;
            config.min_area_px *= 4;
            let again = instances_from_maps(&self.predict_at(image, coarser)?, &config);
            if again.iter().all(|&l| l == 0) {
                break;
            }
            labels = again;
            factor = coarser;
        }
        Ok(labels)
    }
}

/// One mirrored view of an image for test-time augmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mirror {
    left_right: bool,
    upside_down: bool,
}

impl Mirror {
    const ALL: [Mirror; 4] = [
        Mirror {
            left_right: false,
            upside_down: false,
        },
        Mirror {
            left_right: true,
            upside_down: false,
        },
        Mirror {
            left_right: false,
            upside_down: true,
        },
        Mirror {
            left_right: true,
            upside_down: true,
        },
    ];

    /// The first `count` views (one of [`FLIP_COUNTS`]).
    fn views(count: usize) -> Result<&'static [Mirror], VisionError> {
        if FLIP_COUNTS.contains(&count) {
            Ok(&Mirror::ALL[..count])
        } else {
            Err(VisionError::InvalidConfig {
                field: "flips",
                value: count as f64,
                reason: "expected 1, 2 or 4 mirrored views",
            })
        }
    }

    /// The mirrored copy of a row-major `w × h` map (the map itself for the identity view).
    fn apply(self, map: &[f32], w: usize, h: usize) -> Cow<'_, [f32]> {
        if !self.left_right && !self.upside_down {
            return Cow::Borrowed(map);
        }
        let mut out = Vec::with_capacity(map.len());
        for y in 0..h {
            let sy = if self.upside_down { h - 1 - y } else { y };
            let row = &map[sy * w..(sy + 1) * w];
            if self.left_right {
                out.extend(row.iter().rev());
            } else {
                out.extend_from_slice(row);
            }
        }
        Cow::Owned(out)
    }
}

/// Median equivalent circular diameter (pixels) of the instances of a label map.
fn median_diameter_px(labels: &[u32]) -> Option<f64> {
    let count = labels.iter().copied().max()? as usize;
    let mut areas = vec![0usize; count + 1];
    for &l in labels {
        areas[l as usize] += 1;
    }
    let mut diameters: Vec<f64> = areas[1..]
        .iter()
        .filter(|&&a| a > 0)
        .map(|&a| 2.0 * (a as f64 / std::f64::consts::PI).sqrt())
        .collect();
    if diameters.is_empty() {
        return None;
    }
    diameters.sort_by(f64::total_cmp);
    Some(diameters[diameters.len() / 2])
}

/// Converts predicted maps into instance labels (see the module docs).
pub fn instances_from_maps(maps: &PredictedMaps, config: &InferenceConfig) -> Vec<u32> {
    let (width, height) = (maps.width, maps.height);
    let mask: Vec<bool> = maps
        .foreground
        .iter()
        .map(|&p| p > config.foreground_threshold)
        .collect();
    let (component_map, components) = label_components(&mask, width, height, true);
    let parameters = SplitParameters {
        min_dynamic_px: config.min_dynamic,
        relative_dynamic: 0.0,
    };
    let mut labels = vec![0u32; width * height];
    let mut count = 0u32;
    let mut inside: Vec<bool> = Vec::new();
    let mut depth2: Vec<f64> = Vec::new();
    for component in &components {
        if component.area < config.min_area_px {
            continue;
        }
        let b = component.bbox;
        inside.clear();
        depth2.clear();
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                let i = y * width + x;
                let own = component_map[i] == component.label;
                inside.push(own);
                let d = if own {
                    (maps.distance[i] * (1.0 - maps.boundary[i])).max(0.0) as f64
                } else {
                    0.0
                };
                depth2.push(d * d);
            }
        }
        let (local, basins) =
            split_by_distance(&inside, &depth2, b.width(), b.height(), parameters);
        for (k, &l) in local.iter().enumerate() {
            if l != 0 {
                let (x, y) = (b.x0 + k % b.width(), b.y0 + k / b.width());
                labels[y * width + x] = count + l;
            }
        }
        count += basins as u32;
    }
    // A particle whose rim is bright and interior background-like comes out as a ring; its
    // enclosed hole belongs to it.
    let boxes = label_boxes(&labels, width, count as usize);
    fill_enclosed_holes(&mut labels, &boxes, width, height);
    // Drop small pieces (watershed slivers and specks).
    let mut areas = vec![0usize; count as usize + 1];
    for &l in &labels {
        areas[l as usize] += 1;
    }
    // Weak instances are dropped: textured support films and substrate grains give broad
    // regions where the network is only just above the threshold, real particles are clear.
    let mut probability_sum = vec![0f64; count as usize + 1];
    for (&l, &p) in labels.iter().zip(&maps.foreground) {
        probability_sum[l as usize] += p as f64;
    }
    for l in labels.iter_mut() {
        let k = *l as usize;
        let confidence = probability_sum[k] / areas[k].max(1) as f64;
        if areas[k] < config.min_area_px || confidence < config.min_confidence as f64 {
            *l = 0;
        }
    }
    relabel_raster_order(&mut labels);
    labels
}

/// Bilinear upsampling of a map of `w × h` (downsampled by `factor`) to `width × height`,
/// sampling at pixel centres.
fn upsample_bilinear(
    map: &[f32],
    w: usize,
    h: usize,
    width: usize,
    height: usize,
    factor: usize,
) -> Vec<f32> {
    if factor <= 1 && (w, h) == (width, height) {
        return map.to_vec();
    }
    let coordinate = |p: usize, n: usize| -> (usize, usize, f32) {
        let c = ((p as f32 + 0.5) / factor as f32 - 0.5).clamp(0.0, (n - 1) as f32);
        let lo = c.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        (lo, hi, c - lo as f32)
    };
    let columns: Vec<(usize, usize, f32)> = (0..width).map(|x| coordinate(x, w)).collect();
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let (y0, y1, fy) = coordinate(y, h);
        for &(x0, x1, fx) in &columns {
            let top = map[y0 * w + x0] * (1.0 - fx) + map[y0 * w + x1] * fx;
            let bottom = map[y1 * w + x0] * (1.0 - fx) + map[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}

/// Tile origins along one axis of length `n` for tiles of `tile` with `overlap`.
fn tile_origins(n: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if n <= tile {
        return vec![0];
    }
    let stride = tile.saturating_sub(overlap).max(1);
    let mut origins: Vec<usize> = (0..)
        .map(|k| k * stride)
        .take_while(|&o| o + tile < n)
        .collect();
    origins.push(n - tile);
    origins
}

/// Blending weight along one axis at position `p` of a tile of `tile` pixels whose low/high
/// edge is shared with another tile.
fn edge_weight(p: usize, tile: usize, overlap: usize, low_shared: bool, high_shared: bool) -> f32 {
    let margin = overlap / 4;
    let ramp = (overlap / 2).max(1) as f32;
    let ramp_at = |d: usize| -> f32 {
        if d < margin {
            0.0
        } else {
            (((d - margin) as f32 + 1.0) / ramp).min(1.0)
        }
    };
    let mut w = 1.0f32;
    if low_shared {
        w = w.min(ramp_at(p));
    }
    if high_shared {
        w = w.min(ramp_at(tile - 1 - p));
    }
    w
}

/// Runs the network over `input` (`w × h`, normalised) in blended tiles; returns the sigmoid
/// of the three outputs, each `w × h`.
pub(crate) fn predict_tiled(
    net: &FastUNet,
    multiple: usize,
    input: &[f32],
    w: usize,
    h: usize,
    tile: usize,
    overlap: usize,
) -> Result<[Vec<f32>; 3], VisionError> {
    let round_up = |v: usize| v.div_ceil(multiple) * multiple;
    let tile = round_up(tile.max(multiple));
    // Tile extent per axis: the tile, or the whole (rounded-up) axis when it is shorter.
    let (tw, th) = (tile.min(round_up(w)), tile.min(round_up(h)));
    let overlap = overlap.min(tile / 2);
    let xs = tile_origins(w, tw, overlap);
    let ys = tile_origins(h, th, overlap);
    let single = xs.len() == 1 && ys.len() == 1;
    let mut sums = [vec![0f32; w * h], vec![0f32; w * h], vec![0f32; w * h]];
    let mut weights = vec![0f32; w * h];
    let mut patch = vec![0f32; tw * th];
    for (iy, &y0) in ys.iter().enumerate() {
        for (ix, &x0) in xs.iter().enumerate() {
            // Copy the tile, repeating the last row/column where it overhangs the image.
            for ty in 0..th {
                let sy = (y0 + ty).min(h - 1);
                for tx in 0..tw {
                    let sx = (x0 + tx).min(w - 1);
                    patch[ty * tw + tx] = input[sy * w + sx];
                }
            }
            let mut values = net.forward(&patch, tw, th, Par::Rayon(0))?;
            for v in &mut values {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
            let area = tw * th;
            let (low_x, high_x) = (ix > 0, ix + 1 < xs.len());
            let (low_y, high_y) = (iy > 0, iy + 1 < ys.len());
            for ty in 0..th.min(h - y0) {
                let wy = edge_weight(ty, th, overlap, low_y, high_y);
                for tx in 0..tw.min(w - x0) {
                    let i = (y0 + ty) * w + x0 + tx;
                    let o = ty * tw + tx;
                    if single {
                        for (c, sum) in sums.iter_mut().enumerate() {
                            sum[i] = values[c * area + o];
                        }
                        weights[i] = 1.0;
                        continue;
                    }
                    let weight = wy * edge_weight(tx, tw, overlap, low_x, high_x);
                    if weight > 0.0 {
                        for (c, sum) in sums.iter_mut().enumerate() {
                            sum[i] += weight * values[c * area + o];
                        }
                        weights[i] += weight;
                    }
                }
            }
        }
    }
    if !single {
        for (c, sum) in sums.iter_mut().enumerate() {
            for (s, &wt) in sum.iter_mut().zip(&weights) {
                if wt > 0.0 {
                    *s /= wt;
                } else {
                    return Err(VisionError::Model {
                        reason: format!("tiling left a pixel of output {c} uncovered"),
                    });
                }
            }
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::super::model::UNetConfig;
    use super::*;
    use candle_core::{Device, Tensor};

    fn wavy_input(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| (((i % w) as f32 * 0.31).sin() + ((i / w) as f32 * 0.17).cos()) * 0.4)
            .collect()
    }

    #[test]
    fn one_tile_equals_a_direct_forward_pass() {
        let net = UNet::new(
            UNetConfig {
                base_channels: 4,
                depth: 3,
                downsample: 1,
            },
            5,
        )
        .unwrap();
        let (w, h) = (40, 24);
        let input = wavy_input(w, h);
        let fast = FastUNet::new(&net).unwrap();
        let maps = predict_tiled(&fast, 4, &input, w, h, 64, 16).unwrap();
        let tensor = Tensor::from_slice(&input, (1, 1, h, w), &Device::Cpu).unwrap();
        let direct = candle_nn::ops::sigmoid(&net.forward(&tensor).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for c in 0..3 {
            for (a, b) in maps[c].iter().zip(&direct[c * w * h..(c + 1) * w * h]) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    /// A seeded one-level U-Net (4 channels, no downsampling): small and fast for tests.
    fn shallow_net(seed: u64) -> UNet {
        let config = UNetConfig {
            base_channels: 4,
            depth: 1,
            downsample: 1,
        };
        UNet::new(config, seed).unwrap()
    }

    #[test]
    fn overlapping_tiles_reproduce_the_untiled_maps() {
        // Depth 1: two 3×3 convolutions, a receptive radius of 2 px < the zero margin of 4 px.
        let net = shallow_net(9);
        let (w, h) = (70, 45);
        let input = wavy_input(w, h);
        let fast = FastUNet::new(&net).unwrap();
        let whole = predict_tiled(&fast, 1, &input, w, h, 128, 16).unwrap();
        let tiled = predict_tiled(&fast, 1, &input, w, h, 24, 16).unwrap();
        for c in 0..3 {
            let worst = whole[c]
                .iter()
                .zip(&tiled[c])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "output {c}: max difference {worst}");
        }
    }

    #[test]
    fn mirrored_views_average_into_a_flip_equivariant_prediction() {
        let mut segmenter = LearnedSegmenter::new(shallow_net(5)).unwrap();
        segmenter.config.tile = 128;
        let (w, h) = (37, 23);
        // An asymmetric image, so the mirrored views disagree.
        let data: Vec<f32> = (0..w * h)
            .map(|i| ((i % w) * (i % w) + 3 * (i / w)) as f32)
            .collect();
        let image = GrayImage::new(w, h, data).unwrap();
        let mirror = Mirror::ALL[3];
        let flipped = GrayImage::new(w, h, mirror.apply(&image.data, w, h).into_owned()).unwrap();
        segmenter.config.flips = 1;
        let single = segmenter.predict(&image).unwrap();
        segmenter.config.flips = 4;
        let averaged = segmenter.predict(&image).unwrap();
        let averaged_flipped = segmenter.predict(&flipped).unwrap();
        let back = mirror.apply(&averaged_flipped.foreground, w, h);
        let worst = back
            .iter()
            .zip(&averaged.foreground)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "averaged views not equivariant: {worst}");
        assert!(
            single
                .foreground
                .iter()
                .zip(&averaged.foreground)
                .any(|(a, b)| (a - b).abs() > 1e-4),
            "averaging changed nothing"
        );
        segmenter.config.flips = 3;
        let error = segmenter.predict(&image).unwrap_err().to_string();
        assert!(error.contains("flips"), "{error}");
    }

    /// Ideal maps of discs of radius 10.5 centred on row 15 at the given columns, each with
    /// its own foreground probability; the distance map peaks at 1 in every centre.
    fn disc_maps(w: usize, h: usize, discs: &[(f32, f32)]) -> PredictedMaps {
        let mut maps = PredictedMaps {
            width: w,
            height: h,
            foreground: vec![0.0; w * h],
            boundary: vec![0.0; w * h],
            distance: vec![0.0; w * h],
        };
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                for &(cx, p) in discs {
                    let r = ((px - cx).powi(2) + (py - 15.0).powi(2)).sqrt();
                    if r < 10.5 {
                        maps.foreground[i] = p;
                        maps.distance[i] = maps.distance[i].max(1.0 - r / 10.5);
                    }
                }
            }
        }
        maps
    }

    #[test]
    fn maps_of_two_touching_discs_give_two_instances() {
        // Two discs touching at x = 30.
        let w = 60;
        let mut maps = disc_maps(w, 30, &[(20.0, 1.0), (40.0, 1.0)]);
        let labels = instances_from_maps(&maps, &InferenceConfig::default());
        let count = labels.iter().copied().max().unwrap();
        assert_eq!(count, 2);
        assert_ne!(labels[15 * w + 20], labels[15 * w + 40]);
        // Tiny specks are dropped.
        maps.foreground[2 * w + 2] = 1.0;
        let labels = instances_from_maps(&maps, &InferenceConfig::default());
        assert_eq!(labels[2 * w + 2], 0);
    }

    #[test]
    fn doubtful_instances_are_dropped_by_their_mean_probability() {
        // Two separate discs; the right one only just above the foreground threshold.
        let w = 80;
        let maps = disc_maps(w, 30, &[(20.0, 0.95), (58.0, 0.6)]);
        let labels = instances_from_maps(&maps, &InferenceConfig::default());
        assert_eq!(labels.iter().copied().max(), Some(1));
        assert_ne!(labels[15 * w + 20], 0);
        assert_eq!(labels[15 * w + 58], 0);
        let keep_all = InferenceConfig {
            min_confidence: 0.0,
            ..InferenceConfig::default()
        };
        let labels = instances_from_maps(&maps, &keep_all);
        assert_eq!(labels.iter().copied().max(), Some(2));
    }
}
