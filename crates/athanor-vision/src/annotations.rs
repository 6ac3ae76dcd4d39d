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
//!   by more than half of the largest departure). Every ink run of at least 5 % of the width
//!   counts (a particle in the same rows may be longer than the bar); the bar is the longest
//!   run that recurs with the same ends (± 2 px) in at least 2 consecutive rows (text strokes
//!   are short or do not stack), is at least 3 times longer than thick, and has sharp long
//!   edges (within two rows above and below it, a row less than half ink: one anti-aliased
//!   edge row is allowed, while a particle's chords shorten gradually). It is searched inside
//!   the data bar when there is one, then in the bottom quarter of the image above it; the
//!   ink must depart from the median by more than 4 median absolute deviations.
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
//!   over, with room for its label above it (widened over label text of the bar's colour that
//!   sticks out sideways, up to half the bar's length), and a panel label with a margin, both
//!   with the image's median.
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
    let bottom_quarter = |end: usize| end.saturating_sub(image.height / 4)..end;
    // A bar in the data strip first; else one burnt into the image just above it (some strips
    // hold only text, and a flat bottom margin can pass for a strip).
    let scale_bar = match data_bar {
        Some(bar) => detect_scale_bar(image, bar.top_row..image.height)
            .or_else(|| detect_scale_bar(image, bottom_quarter(bar.top_row))),
        None => detect_scale_bar(image, bottom_quarter(image.height)),
    };
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
    // Every ink run of at least `min_length` in each row; a bar is a stack of runs with the
    // same ends (± 2 px) in consecutive rows. All runs count, not only a row's longest: a
    // particle crossing the same rows may be longer than the bar.
    let min_length = (w / 20).max(10);
    let row_runs = |y: usize| {
        let line = &image.data[y * w..(y + 1) * w];
        let mut runs = Vec::new();
        let mut start = None;
        for (x, &v) in line.iter().chain(std::iter::once(&f32::NAN)).enumerate() {
            match (ink(v), start) {
                (true, None) => start = Some(x),
                (false, Some(s)) => {
                    if x - s >= min_length {
                        runs.push((s, x));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        runs
    };
    let mut found: Option<ScaleBar> = None;
    let mut consider = |stack: &RunStack| {
        if stack.starts.len() < 2 {
            return;
        }
        let (mut starts, mut ends) = (stack.starts.clone(), stack.ends.clone());
        let bar = ScaleBar {
            x0: median_in_place(&mut starts).unwrap_or(0.0).round() as usize,
            x1: median_in_place(&mut ends).unwrap_or(0.0).round() as usize,
            y0: stack.first_row,
            y1: stack.first_row + stack.starts.len(),
        };
        // A drawn bar has sharp long edges: within two rows above and below it the rows
        // are mostly not ink (a particle's rows shorten gradually; one anti-aliased edge row
        // of a bar may still read as ink), and it is long for its height.
        let mostly_ink = |y: usize| {
            let count = image.data[y * w + bar.x0..y * w + bar.x1]
                .iter()
                .filter(|&&v| ink(v))
                .count();
            2 * count >= bar.length_px()
        };
        let above = [bar.y0.checked_sub(1), bar.y0.checked_sub(2)];
        let below = [Some(bar.y1), Some(bar.y1 + 1)].map(|y| y.filter(|&y| y < image.height));
        let edge_is_sharp =
            |rows: [Option<usize>; 2]| rows.iter().any(|y| y.is_none_or(|y| !mostly_ink(y)));
        let sharp = edge_is_sharp(above) && edge_is_sharp(below);
        let elongated = bar.length_px() >= 3 * (bar.y1 - bar.y0);
        if sharp && elongated && found.is_none_or(|f| bar.length_px() > f.length_px()) {
            found = Some(bar);
        }
    };
    let mut open: Vec<RunStack> = Vec::new();
    for y in rows.clone() {
        let mut next = Vec::new();
        for (x0, x1) in row_runs(y) {
            let matching = open
                .iter()
                .position(|s| s.last.0.abs_diff(x0) <= 2 && s.last.1.abs_diff(x1) <= 2);
            let mut stack = match matching {
                Some(k) => open.swap_remove(k),
                None => RunStack {
                    first_row: y,
                    last: (x0, x1),
                    starts: Vec::new(),
                    ends: Vec::new(),
                },
            };
            stack.last = (x0, x1);
            stack.starts.push(x0 as f32);
            stack.ends.push(x1 as f32);
            next.push(stack);
        }
        // Stacks without a run in this row have ended.
        for stack in &open {
            consider(stack);
        }
        open = next;
    }
    for stack in &open {
        consider(stack);
    }
    found
}

/// Ink runs with the same ends in consecutive rows: a scale-bar candidate.
struct RunStack {
    /// Row of the first run.
    first_row: usize,
    /// Ends of the newest run (the next row's run must match them).
    last: (usize, usize),
    /// Start and end columns of every run, top to bottom.
    starts: Vec<f32>,
    ends: Vec<f32>,
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
        let (y0, y1) = (
            bar.y0.saturating_sub(label_room),
            (bar.y1 + margin).min(keep_rows),
        );
        // The label's text can be wider than the bar: the painted box grows sideways over
        // columns of the label rows that hold ink of the bar's colour (gaps between words
        // allowed), by at most half the bar's length on each side.
        let bar_level = data[bar.y0 * w + bar.x0..bar.y0 * w + bar.x1]
            .iter()
            .sum::<f32>()
            / bar.length_px().max(1) as f32;
        let contrast = bar_level - fill;
        let column_has_ink = |x: usize| {
            (y0..bar.y0)
                .any(|y| (data[y * w + x] - fill) * contrast.signum() > 0.5 * contrast.abs())
        };
        let reach = bar.length_px() / 2;
        let max_gap = (label_room / 4).max(3);
        let grow = |start: usize, step: isize, limit: usize| {
            let (mut edge, mut gap, mut x) = (start, 0, start as isize);
            for _ in 0..limit {
                x += step;
                if x < 0 || x as usize >= w {
                    break;
                }
                if column_has_ink(x as usize) {
                    edge = x as usize;
                    gap = 0;
                } else {
                    gap += 1;
                    if gap > max_gap {
                        break;
                    }
                }
            }
            edge
        };
        let x0 = grow(bar.x0, -1, reach + margin).min(bar.x0.saturating_sub(margin));
        let x1 = (grow(bar.x1 - 1, 1, reach + margin) + 1).max((bar.x1 + margin).min(w));
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
    fn finds_a_bar_with_soft_edges_beside_a_longer_particle() {
        // The bar's top and bottom rows are anti-aliased (still ink, but not the bar's full
        // length), and a bright particle wider than the bar crosses the same rows.
        let (w, h) = (320, 200);
        let mut data = field(w, h);
        for y in 170..190 {
            for x in 20..150 {
                if (x as f32 - 85.0).powi(2) / 4225.0 + (y as f32 - 180.0).powi(2) / 100.0 < 1.0 {
                    data[y * w + x] = 250.0;
                }
            }
        }
        for y in 176..182 {
            let (x0, x1) = if y == 176 || y == 181 {
                (203, 293)
            } else {
                (200, 298)
            };
            data[y * w + x0..y * w + x1].fill(if y == 176 || y == 181 { 230.0 } else { 255.0 });
        }
        let image = GrayImage::new(w, h, data).unwrap();
        let bar = detect_annotations(&image)
            .unwrap()
            .scale_bar
            .expect("the bar is found");
        assert_eq!((bar.x0, bar.x1, bar.y0, bar.y1), (200, 298, 177, 181));
    }

    #[test]
    fn finds_a_bar_above_a_text_only_strip_and_paints_its_wide_label() {
        let (w, h, strip) = (320, 200, 20);
        let mut data = field(w, h);
        // A flat black strip with sparse text, a white bar above it, and a label (three
        // "a"s) wider than the bar above the bar.
        for y in h - strip..h {
            for x in 0..w {
                let text = (10..60).contains(&x) && (y - (h - strip)) % 7 < 3 && x % 3 == 0;
                data[y * w + x] = if text { 255.0 } else { 0.0 };
            }
        }
        for y in 168..172 {
            data[y * w + 220..y * w + 280].fill(255.0);
        }
        for k in 0..3 {
            letter_a(&mut data, w, 200 + 17 * k, 150, 3, 255.0);
        }
        let image = GrayImage::new(w, h, data).unwrap();
        let found = detect_annotations(&image).unwrap();
        assert_eq!(found.data_bar, Some(DataBar { top_row: h - strip }));
        let bar = found.scale_bar.expect("the bar above the strip is found");
        assert_eq!((bar.x0, bar.x1, bar.y0, bar.y1), (220, 280, 168, 172));
        let masked = mask_annotations(&image, &found).unwrap();
        let ink_left = (150..171)
            .flat_map(|y| (195..255).map(move |x| (x, y)))
            .filter(|&(x, y)| masked.data[y * w + x] > 200.0)
            .count();
        assert_eq!(ink_left, 0, "the whole label is painted over");
        assert_eq!(masked.data[50 * w + 60], image.data[50 * w + 60]);
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
