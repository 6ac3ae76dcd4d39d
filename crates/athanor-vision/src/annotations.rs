//! Instrument annotations burnt into a micrograph: the data bar (an information strip along
//! the bottom) and the scale bar, found so that they are not counted as particles and so
//! that the scale bar can calibrate an image whose file carries no pixel size.
//!
//! * **Data bar**: a block of rows at the bottom whose statistics differ from the image's.
//!   For each row the median `m_y` and the median absolute deviation `s_y` from it are
//!   computed; rows of the upper 60 % set the reference (median `M`, spread of medians `S`,
//!   typical row deviation `s̃`). A row belongs to the strip when its median departs from `M`
//!   by more than `max(6 S, 10 % of the intensity range)` or when it is much flatter than
//!   the image (`s_y < s̃ / 4`: a flat strip with sparse text). The strip is the contiguous
//!   run of such rows ending at the last row, kept when it spans 8 rows to 35 % of the height.
//! * **Scale bar**: a solid horizontal bar of "ink" (pixels departing from the region's median
//!   by more than half of the largest departure). In each row the longest ink run is found;
//!   the bar is the longest run of at least 5 % of the width that recurs with the same ends
//!   (± 2 px) in at least 2 consecutive rows (text strokes are short or do not stack), is at
//!   least 3 times longer than thick, and has sharp long edges (less than half of the row
//!   just above and just below is ink, unlike a particle whose chords shorten gradually). It is
//!   searched inside the data bar when there is one, else in the bottom quarter of the image;
//!   the ink must depart from the median by more than 4 median absolute deviations.
//!   Its length in pixels with a known physical length (the label, given by the user) gives
//!   the pixel size.
//! * **Panel label** (the "a", "(b)" of a figure panel): in each corner (a fifth of the width
//!   and height, at least 24 px), the saturated pixels (within 3 % of the image's darkest or
//!   brightest value: labels are typeset in pure black or white) form components. A component
//!   is a glyph when it is 5 px to a sixth of the height tall, fills 12–80 % of its box and is
//!   made of thin strokes (its largest inscribed disc is at most 30 % of its height; a
//!   saturated particle is solid, its inscribed disc about half its size). The glyphs of a
//!   corner, on one line and at most four glyph heights wide, are the label.
//! * **Masking** ([`mask_annotations`]): the data bar rows are cut off (particles keep their
//!   pixel coordinates, as the strip is at the bottom); a scale bar inside the image is painted
//!   over, with room for its label above it, and a panel label with a margin, both with the
//!   image's median.
//!
//! The bar's label ("100 nm") is read by [`crate::scale_label::read_scale_label`]; a caller
//! may instead pass the bar's length, e.g. from a `--scale-bar "100 nm"` option.

use crate::components::{label_components, BBox};
use crate::distance::squared_distance_to_outside;
use crate::threshold::median_in_place;
use crate::{GrayImage, VisionError};
use serde::{Deserialize, Serialize};

/// The information strip at the bottom of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataBar {
    /// First row of the strip; rows `top_row..height` belong to it.
    pub top_row: usize,
}

/// A scale bar: a solid horizontal bar, `x0..x1` × `y0..y1` (pixels, ends exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleBar {
    /// First column.
    pub x0: usize,
    /// One past the last column.
    pub x1: usize,
    /// First row.
    pub y0: usize,
    /// One past the last row.
    pub y1: usize,
}

impl ScaleBar {
    /// Length of the bar, pixels.
    pub fn length_px(&self) -> usize {
        self.x1 - self.x0
    }

    /// The pixel size, nm, when the bar stands for `length_nm`.
    pub fn pixel_size_nm(&self, length_nm: f64) -> Result<f64, VisionError> {
        if !(length_nm.is_finite() && length_nm > 0.0) {
            return Err(VisionError::InvalidConfig {
                field: "scale bar length",
                value: length_nm,
                reason: "expected a positive length in nm",
            });
        }
        Ok(length_nm / self.length_px() as f64)
    }
}

/// A panel label's box, `x0..x1` × `y0..y1` (pixels, ends exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelLabel {
    /// First column.
    pub x0: usize,
    /// One past the last column.
    pub x1: usize,
    /// First row.
    pub y0: usize,
    /// One past the last row.
    pub y1: usize,
}

/// What [`detect_annotations`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Annotations {
    /// The data bar, if any.
    pub data_bar: Option<DataBar>,
    /// The scale bar, if any.
    pub scale_bar: Option<ScaleBar>,
    /// A panel label in a corner, if any.
    #[serde(default)]
    pub panel_label: Option<PanelLabel>,
}

/// Looks for a data bar, a scale bar and a panel label (see the module docs).
pub fn detect_annotations(image: &GrayImage) -> Result<Annotations, VisionError> {
    image.validate()?;
    let data_bar = detect_data_bar(image);
    let region = match data_bar {
        Some(bar) => bar.top_row..image.height,
        None => image.height - image.height / 4..image.height,
    };
    let scale_bar = detect_scale_bar(image, region);
    let rows = data_bar.map_or(image.height, |b| b.top_row);
    let panel_label = detect_panel_label(image, rows);
    Ok(Annotations {
        data_bar,
        scale_bar,
        panel_label,
    })
}

/// The first corner (top left, top right, bottom left, bottom right) of the top `rows` rows
/// holding a panel label (see the module docs).
fn detect_panel_label(image: &GrayImage, rows: usize) -> Option<PanelLabel> {
    let w = image.width;
    let data = &image.data[..rows * w];
    let (lo, hi) = data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let tolerance = 0.03 * (hi - lo);
    let (cw, ch) = ((w / 5).max(24).min(w), (rows / 5).max(24).min(rows));
    let corners = [(0, 0), (w - cw, 0), (0, rows - ch), (w - cw, rows - ch)];
    for (cx, cy) in corners {
        for dark in [true, false] {
            let mask: Vec<bool> = (0..cw * ch)
                .map(|k| {
                    let v = data[(cy + k / cw) * w + cx + k % cw];
                    if dark {
                        v <= lo + tolerance
                    } else {
                        v >= hi - tolerance
                    }
                })
                .collect();
            if let Some(b) = glyph_line(&mask, cw, ch, rows) {
                return Some(PanelLabel {
                    x0: cx + b.x0,
                    x1: cx + b.x1,
                    y0: cy + b.y0,
                    y1: cy + b.y1,
                });
            }
        }
    }
    None
}

/// The box of the glyph-like components of `mask` (a corner region), if they form one short
/// line of text.
fn glyph_line(mask: &[bool], w: usize, h: usize, image_rows: usize) -> Option<BBox> {
    let (labels, components) = label_components(mask, w, h, true);
    let max_height = (image_rows / 6).max(6);
    let mut line: Option<BBox> = None;
    let mut tallest = 0;
    for c in &components {
        let (bw, bh) = (c.bbox.width(), c.bbox.height());
        if c.area < 6 || !(5..=max_height).contains(&bh) || bw > 2 * bh {
            continue;
        }
        let fill = c.area as f64 / (bw * bh) as f64;
        if !(0.12..=0.8).contains(&fill) {
            continue;
        }
        let b = c.bbox.expanded(1, w, h);
        let inside: Vec<bool> = (0..b.width() * b.height())
            .map(|k| labels[(b.y0 + k / b.width()) * w + b.x0 + k % b.width()] == c.label)
            .collect();
        let inscribed = squared_distance_to_outside(&inside, b.width(), b.height())
            .into_iter()
            .fold(0.0f64, f64::max)
            .sqrt();
        if 2.0 * inscribed > 0.3 * bh as f64 + 1.0 {
            continue;
        }
        tallest = tallest.max(bh);
        let mut joined = line.unwrap_or_else(BBox::empty);
        joined.include(c.bbox.x0, c.bbox.y0);
        joined.include(c.bbox.x1 - 1, c.bbox.y1 - 1);
        line = Some(joined);
    }
    line.filter(|b| b.height() <= tallest * 3 / 2 + 1 && b.width() <= 4 * tallest)
}

fn detect_data_bar(image: &GrayImage) -> Option<DataBar> {
    let (w, h) = (image.width, image.height);
    if h < 24 || w < 8 {
        return None;
    }
    let mut row = Vec::with_capacity(w);
    let (medians, spreads): (Vec<f32>, Vec<f32>) = (0..h)
        .map(|y| {
            row.clear();
            row.extend_from_slice(&image.data[y * w..(y + 1) * w]);
            let m = median_in_place(&mut row).unwrap_or(0.0) as f32;
            for v in row.iter_mut() {
                *v = (*v - m).abs();
            }
            (m, median_in_place(&mut row).unwrap_or(0.0) as f32)
        })
        .unzip();
    let reference_rows = (h * 3) / 5;
    let mut upper_medians = medians[..reference_rows].to_vec();
    let reference = median_in_place(&mut upper_medians).unwrap_or(0.0) as f32;
    let mut median_spread: Vec<f32> = medians[..reference_rows]
        .iter()
        .map(|m| (m - reference).abs())
        .collect();
    let spread_of_medians = median_in_place(&mut median_spread).unwrap_or(0.0) as f32;
    let mut upper_spreads = spreads[..reference_rows].to_vec();
    let typical_spread = median_in_place(&mut upper_spreads).unwrap_or(0.0) as f32;
    let (lo, hi) = image
        .data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let departure = (6.0 * spread_of_medians).max(0.1 * (hi - lo));
    let in_strip =
        |y: usize| (medians[y] - reference).abs() > departure || spreads[y] < 0.25 * typical_spread;
    let rows = (0..h).rev().take_while(|&y| in_strip(y)).count();
    (rows >= 8 && rows * 100 <= h * 35).then_some(DataBar { top_row: h - rows })
}

fn detect_scale_bar(image: &GrayImage, rows: std::ops::Range<usize>) -> Option<ScaleBar> {
    let w = image.width;
    if rows.is_empty() {
        return None;
    }
    let mut region: Vec<f32> = image.data[rows.start * w..rows.end * w].to_vec();
    let background = median_in_place(&mut region).unwrap_or(0.0) as f32;
    let region = &image.data[rows.start * w..rows.end * w];
    let largest = region
        .iter()
        .map(|v| (v - background).abs())
        .fold(0.0f32, f32::max);
    // A bar stands far out of the region's own variation (noise, particles): at least 4
    // median absolute deviations.
    let mut deviations: Vec<f32> = region.iter().map(|v| (v - background).abs()).collect();
    let spread = median_in_place(&mut deviations).unwrap_or(0.0) as f32;
    if largest <= 0.0 || largest <= 4.0 * spread {
        return None;
    }
    // Ink of the brighter or darker kind, whichever reaches furthest.
    let bright = region.iter().any(|&v| v - background >= largest);
    let ink = |v: f32| {
        let d = if bright {
            v - background
        } else {
            background - v
        };
        d > 0.5 * largest
    };
    // Longest ink run of each row.
    let runs: Vec<(usize, usize)> = (rows.start..rows.end)
        .map(|y| {
            let line = &image.data[y * w..(y + 1) * w];
            let (mut best, mut start) = ((0, 0), None);
            for (x, &v) in line.iter().chain(std::iter::once(&f32::NAN)).enumerate() {
                match (ink(v), start) {
                    (true, None) => start = Some(x),
                    (false, Some(s)) => {
                        if x - s > best.1 - best.0 {
                            best = (s, x);
                        }
                        start = None;
                    }
                    _ => {}
                }
            }
            best
        })
        .collect();
    let min_length = (w / 20).max(10);
    let mut found: Option<ScaleBar> = None;
    let mut k = 0;
    while k < runs.len() {
        let (x0, x1) = runs[k];
        let mut end = k + 1;
        while end < runs.len()
            && runs[end].0.abs_diff(x0) <= 2
            && runs[end].1.abs_diff(x1) <= 2
            && runs[end].1 > runs[end].0
        {
            end += 1;
        }
        if x1 - x0 >= min_length && end - k >= 2 {
            let mut starts: Vec<f32> = runs[k..end].iter().map(|r| r.0 as f32).collect();
            let mut ends: Vec<f32> = runs[k..end].iter().map(|r| r.1 as f32).collect();
            let bar = ScaleBar {
                x0: median_in_place(&mut starts).unwrap_or(0.0).round() as usize,
                x1: median_in_place(&mut ends).unwrap_or(0.0).round() as usize,
                y0: rows.start + k,
                y1: rows.start + end,
            };
            // A drawn bar has sharp long edges: the rows just above and below it are mostly
            // not ink (a particle's rows shorten gradually), and it is long for its height.
            let ink_fraction = |y: usize| {
                image.data[y * w + bar.x0..y * w + bar.x1]
                    .iter()
                    .filter(|&&v| ink(v))
                    .count() as f64
                    / bar.length_px().max(1) as f64
            };
            let sharp = (bar.y0 == 0 || ink_fraction(bar.y0 - 1) < 0.5)
                && (bar.y1 >= image.height || ink_fraction(bar.y1) < 0.5);
            let elongated = bar.length_px() >= 3 * (bar.y1 - bar.y0);
            if sharp && elongated && found.is_none_or(|f| bar.length_px() > f.length_px()) {
                found = Some(bar);
            }
        }
        k = end;
    }
    found
}

/// A copy of `image` without its annotations: the data bar's rows are cut off, and a scale bar
/// inside the image (with room for a label above it) and a panel label are painted over with
/// the image's median.
pub fn mask_annotations(
    image: &GrayImage,
    annotations: &Annotations,
) -> Result<GrayImage, VisionError> {
    image.validate()?;
    let w = image.width;
    let keep_rows = annotations.data_bar.map_or(image.height, |b| b.top_row);
    let mut data = image.data[..keep_rows * w].to_vec();
    if let Some(bar) = annotations.scale_bar.filter(|b| b.y0 < keep_rows) {
        let mut all = data.clone();
        let fill = median_in_place(&mut all).unwrap_or(0.0) as f32;
        let margin = 4 + bar.length_px() / 10;
        let label_room = 2 * (bar.y1 - bar.y0) + bar.length_px() / 3;
        let (x0, x1) = (bar.x0.saturating_sub(margin), (bar.x1 + margin).min(w));
        let (y0, y1) = (
            bar.y0.saturating_sub(label_room),
            (bar.y1 + margin).min(keep_rows),
        );
        for y in y0..y1 {
            data[y * w + x0..y * w + x1].fill(fill);
        }
    }
    if let Some(label) = annotations.panel_label.filter(|l| l.y1 <= keep_rows) {
        let mut all = data.clone();
        let fill = median_in_place(&mut all).unwrap_or(0.0) as f32;
        let margin = 2 + (label.y1 - label.y0) / 4;
        let around = PanelLabel {
            x0: label.x0.saturating_sub(margin),
            x1: (label.x1 + margin).min(w),
            y0: label.y0.saturating_sub(margin),
            y1: (label.y1 + margin).min(keep_rows),
        };
        let (lo, hi) = data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let painted = grow_over_label_box(&data, w, keep_rows, around, lo, hi);
        for y in painted.y0..painted.y1 {
            data[y * w + painted.x0..y * w + painted.x1].fill(fill);
        }
    }
    GrayImage::new(w, keep_rows, data)
}

/// Labels are often typeset on a solid black or white box larger than the glyphs. Painting
/// only the glyphs would leave a frame of that box around a uniform patch, which a segmenter
/// takes for a particle; so the painted rectangle grows, side by side, while the next row or
/// column outside it is nearly all (≥ 90 %) of the same saturated value (within 3 % of the
/// image's range of its darkest or brightest value) as the current rectangle's border, up to a
/// third of the image in each direction. A label written straight onto the image has no such
/// border and is painted with its margin only.
fn grow_over_label_box(
    data: &[f32],
    w: usize,
    rows: usize,
    start: PanelLabel,
    lo: f32,
    hi: f32,
) -> PanelLabel {
    let tolerance = 0.03 * (hi - lo);
    let saturated_share = |pixels: &mut dyn Iterator<Item = f32>, dark: bool| {
        let (mut hits, mut total) = (0usize, 0usize);
        for v in pixels {
            total += 1;
            let hit = if dark {
                v <= lo + tolerance
            } else {
                v >= hi - tolerance
            };
            hits += hit as usize;
        }
        if total == 0 {
            0.0
        } else {
            hits as f64 / total as f64
        }
    };
    let row = |r: &PanelLabel, y: usize| (r.x0..r.x1).map(move |x| data[y * w + x]);
    let column = |r: &PanelLabel, x: usize| (r.y0..r.y1).map(move |y| data[y * w + x]);
    // The box colour: the saturated value that dominates the rectangle's own border.
    let border_share = |r: &PanelLabel, dark: bool| {
        let mut border = row(r, r.y0)
            .chain(row(r, r.y1 - 1))
            .chain(column(r, r.x0))
            .chain(column(r, r.x1 - 1));
        saturated_share(&mut border, dark)
    };
    let dark = border_share(&start, true) >= border_share(&start, false);
    if border_share(&start, dark) < 0.5 {
        return start;
    }
    let (max_w, max_h) = (
        (w / 3).max(start.x1 - start.x0),
        (rows / 3).max(start.y1 - start.y0),
    );
    let mut r = start;
    let full = |share: f64| share >= 0.9;
    loop {
        let mut grew = false;
        if r.y0 > 0 && r.y1 - r.y0 < max_h && full(saturated_share(&mut row(&r, r.y0 - 1), dark)) {
            r.y0 -= 1;
            grew = true;
        }
        if r.y1 < rows && r.y1 - r.y0 < max_h && full(saturated_share(&mut row(&r, r.y1), dark)) {
            r.y1 += 1;
            grew = true;
        }
        if r.x0 > 0 && r.x1 - r.x0 < max_w && full(saturated_share(&mut column(&r, r.x0 - 1), dark))
        {
            r.x0 -= 1;
            grew = true;
        }
        if r.x1 < w && r.x1 - r.x0 < max_w && full(saturated_share(&mut column(&r, r.x1), dark)) {
            r.x1 += 1;
            grew = true;
        }
        if !grew {
            return r;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy gray field (deterministic pseudo-noise) with a few dark discs.
    fn field(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let noise = ((i as f32 * 12.9898).sin() * 43_758.547).fract() * 20.0;
                let dark = (x - 60.0).powi(2) + (y - 50.0).powi(2) < 200.0;
                if dark {
                    60.0 + noise
                } else {
                    150.0 + noise
                }
            })
            .collect()
    }

    #[test]
    fn finds_data_bar_and_scale_bar_inside_it() {
        let (w, h, strip) = (320, 200, 30);
        let mut data = field(w, h);
        for y in h - strip..h {
            for x in 0..w {
                // Black strip, a little "text" and a white bar of 120 × 4 px.
                let text = (10..40).contains(&x) && (y - (h - strip)) % 7 < 3 && x % 3 == 0;
                let bar = (180..300).contains(&x) && (h - 12..h - 8).contains(&y);
                data[y * w + x] = if bar || text { 255.0 } else { 0.0 };
            }
        }
        let image = GrayImage::new(w, h, data).unwrap();
        let found = detect_annotations(&image).unwrap();
        assert_eq!(found.data_bar, Some(DataBar { top_row: h - strip }));
        let bar = found.scale_bar.unwrap();
        assert_eq!((bar.x0, bar.x1, bar.y0, bar.y1), (180, 300, h - 12, h - 8));
        assert!((bar.pixel_size_nm(24.0).unwrap() - 0.2).abs() < 1e-12);
        assert!(bar.pixel_size_nm(-1.0).is_err());
        let masked = mask_annotations(&image, &found).unwrap();
        assert_eq!((masked.width, masked.height), (w, h - strip));
        assert_eq!(masked.data[..], image.data[..w * (h - strip)]);
    }

    #[test]
    fn finds_a_scale_bar_drawn_on_the_image_and_paints_it_over() {
        let (w, h) = (320, 200);
        let mut data = field(w, h);
        for y in 180..185 {
            data[y * w + 40..y * w + 140].fill(255.0);
        }
        let image = GrayImage::new(w, h, data).unwrap();
        let found = detect_annotations(&image).unwrap();
        assert_eq!(found.data_bar, None);
        assert_eq!(
            found.scale_bar,
            Some(ScaleBar {
                x0: 40,
                x1: 140,
                y0: 180,
                y1: 185
            })
        );
        let masked = mask_annotations(&image, &found).unwrap();
        assert_eq!(masked.height, h);
        assert!(masked.data.iter().all(|&v| v < 200.0), "bar painted over");
        // The disc far from the bar is untouched.
        assert_eq!(masked.data[50 * w + 60], image.data[50 * w + 60]);
    }

    /// Draws a 5×7-cell letter "a" (cells of `cell` px) at `(x0, y0)` with `value`.
    fn letter_a(data: &mut [f32], w: usize, x0: usize, y0: usize, cell: usize, value: f32) {
        const A: [&str; 7] = [
            ".....", ".###.", "....#", ".####", "#...#", "#...#", ".####",
        ];
        for (r, row) in A.iter().enumerate() {
            for (c, ch) in row.chars().enumerate() {
                if ch == '#' {
                    for y in y0 + r * cell..y0 + (r + 1) * cell {
                        data[y * w + x0 + c * cell..y * w + x0 + (c + 1) * cell].fill(value);
                    }
                }
            }
        }
    }

    #[test]
    fn finds_a_panel_label_in_a_corner_and_paints_it_over() {
        let (w, h) = (320, 200);
        let mut data = field(w, h);
        letter_a(&mut data, w, 8, 6, 3, 0.0);
        // A saturated but solid particle in another corner is not a label.
        for y in 160..190 {
            for x in 280..310 {
                if (x as f32 - 295.0).powi(2) + (y as f32 - 175.0).powi(2) < 196.0 {
                    data[y * w + x] = 0.0;
                }
            }
        }
        let image = GrayImage::new(w, h, data).unwrap();
        let found = detect_annotations(&image).unwrap();
        let label = found.panel_label.expect("the letter is found");
        assert!(label.x0 >= 8 && label.x1 <= 8 + 15 && label.y0 >= 6 && label.y1 <= 6 + 21);
        assert!(label.y1 - label.y0 >= 12, "{label:?}");
        let masked = mask_annotations(&image, &found).unwrap();
        assert!((6..27).all(|y| (8..23).all(|x| masked.data[y * w + x] > 100.0)));
        assert_eq!(masked.data[175 * w + 295], 0.0, "the particle stays");
    }

    #[test]
    fn a_label_on_a_solid_box_is_painted_over_with_its_box() {
        let (w, h) = (320, 200);
        let mut data = field(w, h);
        // A white "a" on a black box of 44 × 38 px in the top-left corner.
        for y in 0..38 {
            data[y * w..y * w + 44].fill(0.0);
        }
        letter_a(&mut data, w, 12, 8, 3, 255.0);
        let image = GrayImage::new(w, h, data).unwrap();
        let found = detect_annotations(&image).unwrap();
        let label = found.panel_label.expect("the letter is found");
        assert!(label.x1 <= 30 && label.y1 <= 32, "{label:?}");
        let masked = mask_annotations(&image, &found).unwrap();
        let left_dark = (0..38)
            .flat_map(|y| (0..44).map(move |x| (x, y)))
            .filter(|&(x, y)| masked.data[y * w + x] < 30.0)
            .count();
        assert_eq!(left_dark, 0, "the whole box is painted over");
        // The field next to the box is untouched.
        assert_eq!(masked.data[10 * w + 60], image.data[10 * w + 60]);
        assert_eq!(masked.data[50 * w + 10], image.data[50 * w + 10]);
    }

    #[test]
    fn plain_micrograph_has_no_annotations() {
        // A strongly contrasted disc of 36 px in the bottom quarter is not a scale bar.
        let (w, h) = (320, 200);
        let mut data = field(w, h);
        for y in 150..190 {
            for x in 180..220 {
                if (x as f32 - 200.0).powi(2) + (y as f32 - 170.0).powi(2) < 324.0 {
                    data[y * w + x] = 0.0;
                }
            }
        }
        let image = GrayImage::new(w, h, data).unwrap();
        assert_eq!(detect_annotations(&image).unwrap(), Annotations::default());
    }
}
