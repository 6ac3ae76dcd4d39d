//! The analysis pipeline behind [`crate::analyze`].

use crate::background::{dilate_square, estimate_background};
use crate::clusters::split_agglomerates;
use crate::components::{label_components, relabel_raster_order, BBox};
use crate::distance::squared_distance_to_outside;
use crate::image::{blur_noise_factor, estimate_pixel_noise, gaussian_blur};
use crate::refine::{fill_enclosed_holes, label_boxes, refine_boundaries, RefineInput};
use crate::shape::{outline_geometry, OutlineGeometry};
use crate::threshold::{median_in_place, otsu};
use crate::watershed::{split_by_distance, SplitParameters};
use crate::{
    size_stats, AnalysisConfig, GrayImage, ImageAnalysis, Particle, Polarity, VisionError,
};

/// Smallest object kept, pixels: below about 3 px across a blob cannot be told from smoothed
/// noise, and its shape is meaningless.
const MIN_OBJECT_PX: usize = 9;
/// Objects narrower than this fraction of the typical diameter are treated as noise/debris.
const MIN_DIAMETER_FRACTION: f64 = 0.2;
/// Background tiles span this many typical particle diameters.
const TILE_DIAMETERS: f64 = 4.0;
/// Smallest and default background tile, pixels.
const MIN_TILE_PX: usize = 32;
/// The global threshold stays at least this many noise standard deviations (of the smoothed
/// image) above the background, so that a blank field does not yield noise "particles".
const NOISE_FLOOR_SIGMAS: f64 = 4.0;
/// Free-background pixels are at least this far (Chebyshev, pixels) from any foreground.
const HALO_PX: usize = 2;

pub(crate) fn run(
    image: &GrayImage,
    config: &AnalysisConfig,
) -> Result<ImageAnalysis, VisionError> {
    image.validate()?;
    config.validate()?;
    let (width, height) = (image.width, image.height);
    let n = width * height;
    let mut notes: Vec<String> = Vec::new();

    // 1. Light denoising and the noise level that goes with it.
    let smoothed = gaussian_blur(&image.data, width, height, config.denoise_sigma_px);
    let pixel_noise = estimate_pixel_noise(&image.data, width, height);
    let smoothed_noise = pixel_noise * blur_noise_factor(config.denoise_sigma_px);

    let (lowest, highest) = smoothed
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if highest <= lowest {
        return Err(VisionError::NoParticles {
            reason: "the image is uniform (no contrast)".into(),
        });
    }
    let noise_floor = NOISE_FLOOR_SIGMAS * smoothed_noise;

    // 2. Coarse background without any mask: the median of a tile is the background's as long
    //    as particles cover less than half of it. Removes gradients before the first split.
    let coarse_background = if config.correct_background {
        let tile = (width.min(height) / 8).clamp(MIN_TILE_PX, 4 * MIN_TILE_PX);
        estimate_background(&smoothed, &vec![false; n], width, height, tile)
    } else {
        let mut all = smoothed.clone();
        vec![median_in_place(&mut all).unwrap_or(0.0) as f32; n]
    };
    let flattened: Vec<f32> = smoothed
        .iter()
        .zip(&coarse_background)
        .map(|(v, b)| v - b)
        .collect();

    // 3. Polarity: the particles are the minority phase of an Otsu split.
    let first_cut = otsu(&flattened).ok_or_else(|| VisionError::NoParticles {
        reason: "the image has no contrast beyond its smooth background".into(),
    })?;
    let polarity = match config.polarity {
        Polarity::Auto if first_cut.lower_fraction < 0.5 => Polarity::Dark,
        Polarity::Auto => Polarity::Bright,
        fixed => fixed,
    };
    let sign: f32 = if polarity == Polarity::Dark {
        -1.0
    } else {
        1.0
    };
    let first_threshold = (sign as f64 * first_cut.threshold).max(noise_floor) as f32;
    let initial_mask: Vec<bool> = flattened
        .iter()
        .map(|&v| sign * v > first_threshold)
        .collect();

    // 4. Fine background: tiles of a few particle diameters, from free background only.
    let background: Vec<f32> = if config.correct_background {
        let (_, initial_components) = label_components(&initial_mask, width, height, true);
        let mut areas: Vec<f32> = initial_components
            .iter()
            .filter(|c| c.area >= MIN_OBJECT_PX)
            .map(|c| c.area as f32)
            .collect();
        let tile = match median_in_place(&mut areas) {
            Some(area) => {
                let diameter = 2.0 * (area / std::f64::consts::PI).sqrt();
                ((TILE_DIAMETERS * diameter).round() as usize).max(MIN_TILE_PX)
            }
            None => MIN_TILE_PX,
        };
        let exclude = dilate_square(&initial_mask, width, height, HALO_PX);
        estimate_background(&smoothed, &exclude, width, height, tile)
    } else {
        let mut free: Vec<f32> = smoothed
            .iter()
            .zip(&initial_mask)
            .filter(|(_, &m)| !m)
            .map(|(&v, _)| v)
            .collect();
        vec![median_in_place(&mut free).unwrap_or(0.0) as f32; n]
    };
    let signal: Vec<f32> = smoothed
        .iter()
        .zip(&background)
        .map(|(v, b)| sign * (v - b))
        .collect();
    // The boundaries are placed on a less smoothed copy: a blurred disc's half-level contour
    // shrinks by about σ_total²/2R, and the denoising blur would add to the PSF's share.
    let edge_signal: Vec<f32> = gaussian_blur(&image.data, width, height, config.edge_sigma_px)
        .iter()
        .zip(&background)
        .map(|(v, b)| sign * (v - b))
        .collect();

    // 5. Global threshold (Otsu), kept clear of the noise.
    let cut = otsu(&signal).ok_or_else(|| VisionError::NoParticles {
        reason: "the background-corrected image is uniform".into(),
    })?;
    let threshold = if cut.threshold < noise_floor {
        notes.push(format!(
            "Otsu threshold {:.4} lies within the noise; raised to {NOISE_FLOOR_SIGMAS} σ = {noise_floor:.4}",
            cut.threshold
        ));
        noise_floor
    } else {
        cut.threshold
    };
    let threshold_f32 = threshold as f32;
    let mask: Vec<bool> = signal.iter().map(|&s| s > threshold_f32).collect();
    let (component_map, components) = label_components(&mask, width, height, true);

    // 6. Exact distance map of each blob (in its own box: exact, see distance.rs) and the
    //    typical inscribed radius.
    let mut distance2 = vec![0f32; n];
    let mut peaks: Vec<f64> = vec![0.0; components.len()];
    let mut local_inside: Vec<bool> = Vec::new();
    for component in &components {
        let b = component.bbox.expanded(1, width, height);
        fill_local_mask(&component_map, component.label, width, b, &mut local_inside);
        let local_d2 = squared_distance_to_outside(&local_inside, b.width(), b.height());
        let mut peak2 = 0.0f64;
        for (k, &d2) in local_d2.iter().enumerate() {
            if local_inside[k] {
                let (x, y) = (b.x0 + k % b.width(), b.y0 + k / b.width());
                distance2[y * width + x] = d2 as f32;
                peak2 = peak2.max(d2);
            }
        }
        peaks[component.label as usize - 1] = peak2.sqrt();
    }
    let mut typical_peaks: Vec<f32> = components
        .iter()
        .filter(|c| c.area >= MIN_OBJECT_PX)
        .map(|c| peaks[c.label as usize - 1] as f32)
        .collect();
    let typical_radius = median_in_place(&mut typical_peaks).ok_or_else(|| VisionError::NoParticles {
        reason: format!(
            "no object of at least {MIN_OBJECT_PX} pixels stands out of the noise (threshold {threshold:.4})"
        ),
    })?;
    let min_diameter_px = (2.0 * MIN_DIAMETER_FRACTION * typical_radius)
        .max(2.0 * (MIN_OBJECT_PX as f64 / std::f64::consts::PI).sqrt());
    let min_area_px =
        (std::f64::consts::PI * 0.25 * min_diameter_px * min_diameter_px).max(MIN_OBJECT_PX as f64);

    // 7. Split touching particles: h-maxima markers + watershed of the distance map.
    let split = SplitParameters {
        min_dynamic_px: 1.0,
        relative_dynamic: config.split_depth_fraction,
    };
    let mut labels = vec![0u32; n];
    let mut count = 0u32;
    let mut local_d2: Vec<f64> = Vec::new();
    for component in &components {
        if (component.area as f64) < min_area_px {
            continue;
        }
        let b = component.bbox.expanded(1, width, height);
        fill_local_mask(&component_map, component.label, width, b, &mut local_inside);
        local_d2.clear();
        local_d2.extend((0..b.width() * b.height()).map(|k| {
            let (x, y) = (b.x0 + k % b.width(), b.y0 + k / b.width());
            distance2[y * width + x] as f64
        }));
        let (local_labels, basins) = if config.split_touching {
            split_by_distance(&local_inside, &local_d2, b.width(), b.height(), split)
        } else {
            (local_inside.iter().map(|&m| m as u32).collect(), 1)
        };
        for (k, &l) in local_labels.iter().enumerate() {
            if l != 0 {
                let (x, y) = (b.x0 + k % b.width(), b.y0 + k / b.width());
                labels[y * width + x] = count + l;
            }
        }
        count += basins as u32;
    }
    let split_blobs = count as usize
        - components
            .iter()
            .filter(|c| (c.area as f64) >= min_area_px)
            .count();
    if split_blobs > 0 {
        notes.push(format!(
            "watershed cut touching particles apart: {split_blobs} more particle(s) than blobs"
        ));
    }
    // 7b. Compact agglomerates without a distance-map saddle (see clusters.rs).
    if config.split_touching && count > 0 {
        let mut areas = vec![0f32; count as usize];
        for &l in &labels {
            if l != 0 {
                areas[l as usize - 1] += 1.0;
            }
        }
        let typical_area = median_in_place(&mut areas).unwrap_or(0.0);
        let boxes = label_boxes(&labels, width, count as usize);
        let (new_count, agglomerates) =
            split_agglomerates(&mut labels, &boxes, width, height, typical_area, count);
        if agglomerates > 0 {
            notes.push(format!(
                "{agglomerates} compact agglomerate(s) split into {} particles by size and convexity",
                new_count - count + agglomerates as u32
            ));
        }
        count = new_count;
    }
    // Which particles were split from a neighbour (before refinement renumbers nothing).
    let mut touching = vec![false; count as usize + 1];
    for component in &components {
        let b = component.bbox;
        let mut first: Option<u32> = None;
        let mut several = false;
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                let i = y * width + x;
                if component_map[i] == component.label && labels[i] != 0 {
                    match first {
                        None => first = Some(labels[i]),
                        Some(f) if f != labels[i] => several = true,
                        _ => {}
                    }
                }
            }
        }
        if several {
            for y in b.y0..b.y1 {
                for x in b.x0..b.x1 {
                    let i = y * width + x;
                    if component_map[i] == component.label {
                        touching[labels[i] as usize] = true;
                    }
                }
            }
        }
    }

    // 8. Boundary at each particle's own half contrast, then holes.
    let near_foreground = dilate_square(&mask, width, height, HALO_PX);
    let boxes = label_boxes(&labels, width, count as usize);
    let levels = refine_boundaries(
        &RefineInput {
            signal: &edge_signal,
            distance2: &distance2,
            near_foreground: &near_foreground,
            width,
            height,
        },
        &mut labels,
        &boxes,
        threshold,
    );
    let boxes = label_boxes(&labels, width, count as usize);
    fill_enclosed_holes(&mut labels, &boxes, width, height);

    // 9. Drop debris (below the noise-scale size or the configured minimum diameter).
    let mut areas = vec![0usize; count as usize + 1];
    for &l in &labels {
        areas[l as usize] += 1;
    }
    let pixel_area_nm2 = config.pixel_size_nm * config.pixel_size_nm;
    let min_ecd_nm = config.min_diameter_nm.unwrap_or(0.0);
    let mut dropped_small = 0usize;
    let keep: Vec<bool> = areas
        .iter()
        .enumerate()
        .map(|(l, &a)| {
            if l == 0 || a == 0 {
                return false;
            }
            let ecd_nm = 2.0 * (a as f64 * pixel_area_nm2 / std::f64::consts::PI).sqrt();
            let keep = a as f64 >= min_area_px && ecd_nm >= min_ecd_nm;
            if !keep {
                dropped_small += 1;
            }
            keep
        })
        .collect();
    for l in labels.iter_mut() {
        if !keep[*l as usize] {
            *l = 0;
        }
    }
    if dropped_small > 0 {
        notes.push(format!(
            "{dropped_small} object(s) below {:.2} nm (noise/debris limit) were discarded",
            (min_diameter_px * config.pixel_size_nm).max(min_ecd_nm)
        ));
    }
    let old_of_new = relabel_raster_order(&mut labels);
    if old_of_new.is_empty() {
        return Err(VisionError::NoParticles {
            reason: "every candidate object was below the size limits".into(),
        });
    }

    // 10. Measurements.
    let particles = measure_particles(
        image,
        &signal,
        &labels,
        &old_of_new,
        &levels,
        &touching,
        config,
    );
    let counted: Vec<f64> = particles
        .iter()
        .filter(|p| !(config.exclude_edge_particles && p.touches_edge))
        .map(|p| p.ecd_nm)
        .collect();
    let edge_count = particles.iter().filter(|p| p.touches_edge).count();
    if config.exclude_edge_particles && edge_count > 0 {
        notes.push(format!(
            "{edge_count} particle(s) touching the image border are excluded from the statistics"
        ));
    }
    let stats = size_stats(&counted);
    Ok(ImageAnalysis {
        width,
        height,
        labels,
        particles,
        stats,
        threshold,
        polarity,
        noise_sigma: pixel_noise,
        typical_diameter_px: 2.0 * typical_radius,
        notes,
    })
}

/// See [`crate::analyze_labels`].
pub(crate) fn measure_labels(
    image: &GrayImage,
    given: &[u32],
    config: &AnalysisConfig,
) -> Result<ImageAnalysis, VisionError> {
    image.validate()?;
    config.validate()?;
    let (width, height) = (image.width, image.height);
    if given.len() != width * height {
        return Err(VisionError::SizeMismatch {
            what: "labels",
            expected: width * height,
            actual: given.len(),
        });
    }
    let mut labels = given.to_vec();
    let mut notes = Vec::new();
    if let Some(min_ecd_nm) = config.min_diameter_nm {
        let max = labels.iter().copied().max().unwrap_or(0) as usize;
        let mut areas = vec![0usize; max + 1];
        for &l in &labels {
            areas[l as usize] += 1;
        }
        let pixel_area_nm2 = config.pixel_size_nm * config.pixel_size_nm;
        let small =
            |a: usize| 2.0 * (a as f64 * pixel_area_nm2 / std::f64::consts::PI).sqrt() < min_ecd_nm;
        let dropped = areas.iter().skip(1).filter(|&&a| a > 0 && small(a)).count();
        for l in labels.iter_mut() {
            if small(areas[*l as usize]) {
                *l = 0;
            }
        }
        if dropped > 0 {
            notes.push(format!(
                "{dropped} object(s) below {min_ecd_nm:.2} nm were discarded"
            ));
        }
    }
    let old_of_new = relabel_raster_order(&mut labels);
    if old_of_new.is_empty() {
        return Err(VisionError::NoParticles {
            reason: "the label map has no particles".into(),
        });
    }
    let count = old_of_new.len();
    // With consecutive labels the "old" index of label k is k itself for the helpers below.
    let identity: Vec<u32> = (1..=count as u32).collect();
    let mut touching = vec![false; count + 1];
    for y in 0..height {
        for x in 0..width {
            let l = labels[y * width + x];
            if l == 0 {
                continue;
            }
            let right =
                x + 1 < width && labels[y * width + x + 1] != 0 && labels[y * width + x + 1] != l;
            let below = y + 1 < height
                && labels[(y + 1) * width + x] != 0
                && labels[(y + 1) * width + x] != l;
            if right {
                touching[l as usize] = true;
                touching[labels[y * width + x + 1] as usize] = true;
            }
            if below {
                touching[l as usize] = true;
                touching[labels[(y + 1) * width + x] as usize] = true;
            }
        }
    }
    // A particle indicator at half level: outlines run along the label pixels' edges.
    let indicator: Vec<f32> = labels.iter().map(|&l| (l != 0) as u8 as f32).collect();
    let levels = vec![0.5; count + 1];
    let particles = measure_particles(
        image, &indicator, &labels, &identity, &levels, &touching, config,
    );
    let counted: Vec<f64> = particles
        .iter()
        .filter(|p| !(config.exclude_edge_particles && p.touches_edge))
        .map(|p| p.ecd_nm)
        .collect();
    let mut diameters: Vec<f32> = particles
        .iter()
        .map(|p| (p.ecd_nm / config.pixel_size_nm) as f32)
        .collect();
    let typical_diameter_px = median_in_place(&mut diameters).unwrap_or(0.0);
    Ok(ImageAnalysis {
        width,
        height,
        labels,
        stats: size_stats(&counted),
        particles,
        threshold: 0.0,
        polarity: config.polarity,
        noise_sigma: estimate_pixel_noise(&image.data, width, height),
        typical_diameter_px,
        notes,
    })
}

/// `inside[k]` = pixel k of box `b` belongs to component `label`.
fn fill_local_mask(map: &[u32], label: u32, width: usize, b: BBox, inside: &mut Vec<bool>) {
    inside.clear();
    for y in b.y0..b.y1 {
        inside.extend(
            map[y * width + b.x0..y * width + b.x1]
                .iter()
                .map(|&l| l == label),
        );
    }
}

/// Per-label sums gathered in one pass over the image.
#[derive(Clone)]
struct Accumulator {
    area: usize,
    sum_x: f64,
    sum_y: f64,
    sum_intensity: f64,
    bbox: BBox,
    touches_edge: bool,
}

fn measure_particles(
    image: &GrayImage,
    signal: &[f32],
    labels: &[u32],
    old_of_new: &[u32],
    levels: &[f64],
    touching: &[bool],
    config: &AnalysisConfig,
) -> Vec<Particle> {
    let (width, height) = (image.width, image.height);
    let mut acc = vec![
        Accumulator {
            area: 0,
            sum_x: 0.0,
            sum_y: 0.0,
            sum_intensity: 0.0,
            bbox: BBox::empty(),
            touches_edge: false,
        };
        old_of_new.len() + 1
    ];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let l = labels[i] as usize;
            if l == 0 {
                continue;
            }
            let a = &mut acc[l];
            a.area += 1;
            a.sum_x += x as f64 + 0.5;
            a.sum_y += y as f64 + 0.5;
            a.sum_intensity += image.data[i] as f64;
            a.bbox.include(x, y);
            a.touches_edge |= x == 0 || y == 0 || x + 1 == width || y + 1 == height;
        }
    }
    let px = config.pixel_size_nm;
    let mut particles = Vec::with_capacity(old_of_new.len());
    for (k, &old) in old_of_new.iter().enumerate() {
        let label = k as u32 + 1;
        let a = &acc[label as usize];
        let level = levels[old as usize];
        let mut geometry =
            particle_outline(signal, labels, width, height, label, a.bbox, level, true);
        if geometry.enclosed_area < 0.5 * a.area as f64 {
            // Too faint for a free outline (tiny, noisy particle): follow the pixels instead.
            geometry = particle_outline(signal, labels, width, height, label, a.bbox, level, false);
        }
        let area_nm2 = a.area as f64 * px * px;
        let perimeter = geometry.perimeter;
        let circularity = if perimeter > 0.0 {
            // ≤ 1 by the isoperimetric inequality (outline area vs outline length); the min
            // only guards against floating-point rounding.
            (4.0 * std::f64::consts::PI * geometry.enclosed_area / (perimeter * perimeter)).min(1.0)
        } else {
            0.0
        };
        let solidity = if geometry.hull_area > 0.0 {
            (geometry.enclosed_area / geometry.hull_area).min(1.0)
        } else {
            1.0
        };
        let aspect_ratio = if geometry.feret_min > 0.0 {
            geometry.feret_max / geometry.feret_min
        } else {
            1.0
        };
        particles.push(Particle {
            label,
            area_nm2,
            ecd_nm: 2.0 * (area_nm2 / std::f64::consts::PI).sqrt(),
            feret_max_nm: geometry.feret_max * px,
            feret_min_nm: geometry.feret_min * px,
            aspect_ratio,
            perimeter_nm: perimeter * px,
            circularity,
            solidity,
            centroid_px: (a.sum_x / a.area as f64, a.sum_y / a.area as f64),
            touches_edge: a.touches_edge,
            touching: touching.get(old as usize).copied().unwrap_or(false),
            mean_intensity: a.sum_intensity / a.area as f64,
        });
    }
    particles
}

/// Outline of particle `label` (bounding box `bbox`) at its half-contrast `level` on the
/// denoised `signal` (see shape.rs). Pixels of other particles count as outside with their
/// signal mirrored, so the outline runs half-way along a watershed cut.
///
/// With `free_edge`, the outline follows the smooth signal wherever it is not shared with
/// another particle: the particle's own pixels and the free background within 2 px of it
/// take their signal as it is, so single noisy boundary pixels do not make the outline
/// ragged. Without it, the outline is forced to enclose exactly the particle's pixels.
#[allow(clippy::too_many_arguments)]
fn particle_outline(
    signal: &[f32],
    labels: &[u32],
    width: usize,
    height: usize,
    label: u32,
    bbox: BBox,
    level: f64,
    free_edge: bool,
) -> OutlineGeometry {
    const FREE_MARGIN_PX: usize = 2;
    let b = bbox.expanded(FREE_MARGIN_PX, width, height);
    let (bw, bh) = (b.width(), b.height());
    let own: Vec<bool> = (0..bw * bh)
        .map(|k| labels[(b.y0 + k / bw) * width + b.x0 + k % bw] == label)
        .collect();
    let near = if free_edge {
        dilate_square(&own, bw, bh, FREE_MARGIN_PX)
    } else {
        own.clone()
    };
    // Tiny magnitudes keep a pixel's side where its signal sits exactly on the level.
    let epsilon = 1e-6 * level.abs().max(f64::MIN_POSITIVE);
    let value_in_box = |lx: usize, ly: usize| -> f64 {
        let k = ly * bw + lx;
        let i = (b.y0 + ly) * width + b.x0 + lx;
        let v = signal[i] as f64 - level;
        if own[k] {
            if free_edge {
                v
            } else {
                v.max(epsilon)
            }
        } else if labels[i] == 0 {
            if near[k] {
                v
            } else {
                v.min(-epsilon)
            }
        } else {
            -v.max(epsilon)
        }
    };
    outline_geometry(bw, bh, |lx, ly| {
        let inside_box = lx >= 0 && ly >= 0 && (lx as usize) < bw && (ly as usize) < bh;
        if inside_box {
            return value_in_box(lx as usize, ly as usize);
        }
        let (gx, gy) = (b.x0 as isize + lx, b.y0 as isize + ly);
        let in_image = gx >= 0 && gy >= 0 && (gx as usize) < width && (gy as usize) < height;
        if in_image {
            // Outside the margin around the particle: background for this outline.
            return -epsilon;
        }
        // Beyond the image border: mirror the border pixel, so that the outline of a cut
        // particle runs along the border itself.
        let cx = (lx.clamp(0, bw as isize - 1)) as usize;
        let cy = (ly.clamp(0, bh as isize - 1)) as usize;
        -value_in_box(cx, cy).abs().max(epsilon)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Dark (or bright) area-sampled discs on a background with a gradient and Gaussian noise.
    fn draw(
        width: usize,
        height: usize,
        discs: &[(f64, f64, f64)],
        dark: bool,
        noise: f64,
        seed: u64,
    ) -> GrayImage {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut data = Vec::with_capacity(width * height);
        for j in 0..height {
            for i in 0..width {
                let mut covered = 0.0;
                for sj in 0..4 {
                    for si in 0..4 {
                        let (x, y) = (
                            i as f64 + (si as f64 + 0.5) / 4.0,
                            j as f64 + (sj as f64 + 0.5) / 4.0,
                        );
                        if discs
                            .iter()
                            .any(|&(cx, cy, r)| (x - cx).powi(2) + (y - cy).powi(2) < r * r)
                        {
                            covered += 1.0 / 16.0;
                        }
                    }
                }
                let background = 1000.0 + 0.2 * i as f64;
                let contrast = if dark { -400.0 } else { 400.0 };
                let u1: f64 = rng.random::<f64>().max(1e-12);
                let u2: f64 = rng.random();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                data.push((background + contrast * covered + noise * z) as f32);
            }
        }
        GrayImage::new(width, height, data).unwrap()
    }

    fn config() -> AnalysisConfig {
        AnalysisConfig {
            pixel_size_nm: 0.2,
            ..AnalysisConfig::default()
        }
    }

    #[test]
    fn measures_isolated_discs() {
        let discs = [(40.0, 40.0, 12.5), (110.0, 50.3, 12.5), (70.4, 110.2, 12.5)];
        let image = draw(160, 150, &discs, true, 20.0, 1);
        let result = analyze(&image, &config()).unwrap();
        assert_eq!(result.polarity, Polarity::Dark);
        assert_eq!(result.particles.len(), 3);
        for p in &result.particles {
            assert!((p.ecd_nm / 5.0 - 1.0).abs() < 0.02, "{p:?}");
            assert!(p.circularity > 0.9 && p.circularity <= 1.0, "{p:?}");
            assert!(p.solidity > 0.97 && p.solidity <= 1.0, "{p:?}");
            assert!(p.aspect_ratio >= 1.0 && p.aspect_ratio < 1.08, "{p:?}");
            assert!((p.feret_max_nm / 5.0 - 1.0).abs() < 0.05, "{p:?}");
            assert!((p.perimeter_nm / (std::f64::consts::PI * 5.0) - 1.0).abs() < 0.05);
            assert!(!p.touches_edge && !p.touching);
            assert!(p.mean_intensity < 1000.0);
            // The centroid is at one of the disc centres.
            assert!(discs.iter().any(|&(x, y, _)| {
                (p.centroid_px.0 - x).abs() < 0.2 && (p.centroid_px.1 - y).abs() < 0.2
            }));
        }
        let stats = result.stats.clone().unwrap();
        assert_eq!(stats.count, 3);
        assert!((stats.d50_nm / 5.0 - 1.0).abs() < 0.02);
        // Determinism.
        assert_eq!(analyze(&image, &config()).unwrap(), result);
    }

    #[test]
    fn splits_touching_pair_but_not_single_disc() {
        let image = draw(
            160,
            100,
            &[
                (40.0, 50.0, 12.0),
                (40.0 + 24.0 * 0.95, 50.5, 12.0),
                (125.0, 50.0, 14.0),
            ],
            true,
            20.0,
            2,
        );
        let result = analyze(&image, &config()).unwrap();
        assert_eq!(result.particles.len(), 3, "{:?}", result.notes);
        let touching = result.particles.iter().filter(|p| p.touching).count();
        assert_eq!(touching, 2);
        // Unsplit, the pair is one particle.
        let whole = analyze(
            &image,
            &AnalysisConfig {
                split_touching: false,
                ..config()
            },
        )
        .unwrap();
        assert_eq!(whole.particles.len(), 2);
    }

    #[test]
    fn bright_particles_edge_rule_and_size_limit() {
        let discs = [
            (50.0, 50.0, 12.0),
            (120.0, 60.0, 12.0),
            (5.0, 100.0, 12.0),  // cut by the left border
            (100.0, 120.0, 4.0), // small
        ];
        let image = draw(160, 150, &discs, false, 20.0, 3);
        let result = analyze(&image, &config()).unwrap();
        assert_eq!(result.polarity, Polarity::Bright);
        assert_eq!(result.particles.len(), 4);
        assert_eq!(
            result.particles.iter().filter(|p| p.touches_edge).count(),
            1
        );
        assert_eq!(result.stats.as_ref().unwrap().count, 3);
        let all = analyze(
            &image,
            &AnalysisConfig {
                exclude_edge_particles: false,
                ..config()
            },
        )
        .unwrap();
        assert_eq!(all.stats.unwrap().count, 4);
        // min_diameter_nm removes the small particle (1.6 nm) from the results altogether.
        let large_only = analyze(
            &image,
            &AnalysisConfig {
                min_diameter_nm: Some(3.0),
                ..config()
            },
        )
        .unwrap();
        assert_eq!(large_only.particles.len(), 3);
        assert_eq!(large_only.labels.iter().copied().max(), Some(3));
    }

    #[test]
    fn blank_and_invalid_inputs_are_errors() {
        let uniform = GrayImage::new(64, 64, vec![500.0; 64 * 64]).unwrap();
        assert!(matches!(
            analyze(&uniform, &config()),
            Err(VisionError::NoParticles { .. })
        ));
        let noise = draw(128, 128, &[], true, 20.0, 4);
        assert!(matches!(
            analyze(&noise, &config()),
            Err(VisionError::NoParticles { .. })
        ));
        let inconsistent = GrayImage {
            width: 10,
            height: 10,
            data: vec![0.0; 99],
        };
        assert!(matches!(
            analyze(&inconsistent, &config()),
            Err(VisionError::SizeMismatch { .. })
        ));
        let empty = GrayImage {
            width: 0,
            height: 10,
            data: vec![],
        };
        assert!(matches!(
            analyze(&empty, &config()),
            Err(VisionError::EmptyImage { .. })
        ));
        let image = draw(64, 64, &[(32.0, 32.0, 10.0)], true, 5.0, 5);
        for bad in [
            AnalysisConfig {
                pixel_size_nm: 0.0,
                ..config()
            },
            AnalysisConfig {
                split_depth_fraction: 1.0,
                ..config()
            },
            AnalysisConfig {
                denoise_sigma_px: f64::NAN,
                ..config()
            },
            AnalysisConfig {
                min_diameter_nm: Some(-1.0),
                ..config()
            },
        ] {
            assert!(matches!(
                analyze(&image, &bad),
                Err(VisionError::InvalidConfig { .. })
            ));
        }
    }

    #[test]
    fn odd_shapes_and_tiny_images_do_not_panic() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for (w, h) in [(1, 1), (1, 40), (40, 1), (2, 2), (3, 7), (9, 9), (17, 5)] {
            let data: Vec<f32> = (0..w * h).map(|_| rng.random::<f32>() * 100.0).collect();
            let image = GrayImage::new(w, h, data).unwrap();
            let _ = analyze(&image, &config());
        }
        // A single particle filling most of a small field.
        let image = draw(24, 24, &[(12.0, 12.0, 10.0)], true, 5.0, 10);
        let _ = analyze(&image, &config());
    }

    #[test]
    fn measures_a_given_label_map() {
        // Two touching 10×10 squares (labels 7 and 3) and one 6×6 square on a 40×30 field.
        let (w, h) = (40, 30);
        let mut labels = vec![0u32; w * h];
        for y in 5..15 {
            for x in 5..25 {
                labels[y * w + x] = if x < 15 { 7 } else { 3 };
            }
        }
        for y in 20..26 {
            for x in 30..36 {
                labels[y * w + x] = 9;
            }
        }
        let image = GrayImage::new(w, h, vec![1.0; w * h]).unwrap();
        let config = AnalysisConfig {
            pixel_size_nm: 0.5,
            ..config()
        };
        let result = crate::analyze_labels(&image, &labels, &config).unwrap();
        assert_eq!(result.particles.len(), 3);
        // Renumbered in raster order: the left square first.
        assert_eq!(result.labels[5 * w + 5], 1);
        assert_eq!(result.labels[5 * w + 15], 2);
        let p = &result.particles;
        assert!((p[0].area_nm2 - 25.0).abs() < 1e-9);
        assert!((p[2].area_nm2 - 9.0).abs() < 1e-9);
        assert!(p[0].touching && p[1].touching && !p[2].touching);
        assert!((p[0].centroid_px.0 - 10.0).abs() < 1e-9);
        // Outline along the pixel edges, each corner chamfered by marching squares (legs of
        // half a pixel): 4 · (10 − 1 + √2/2) px · 0.5 nm/px; Feret min 5 nm.
        let expected = 4.0 * (9.0 + std::f64::consts::SQRT_2 / 2.0) * 0.5;
        assert!(
            (p[0].perimeter_nm - expected).abs() < 1e-6,
            "{}",
            p[0].perimeter_nm
        );
        assert!(
            (p[0].feret_min_nm - 5.0).abs() < 0.3,
            "{}",
            p[0].feret_min_nm
        );
        assert_eq!(result.stats.as_ref().map(|s| s.count), Some(3));
        // A minimum diameter drops the small square; bad sizes and empty maps are errors.
        let strict = AnalysisConfig {
            min_diameter_nm: Some(4.0),
            ..config.clone()
        };
        assert_eq!(
            crate::analyze_labels(&image, &labels, &strict)
                .unwrap()
                .particles
                .len(),
            2
        );
        assert!(crate::analyze_labels(&image, &labels[1..], &config).is_err());
        assert!(matches!(
            crate::analyze_labels(&image, &vec![0; w * h], &config),
            Err(VisionError::NoParticles { .. })
        ));
    }
}
