//! Reading the label of a scale bar ("100 nm", "0.5 µm", "2 Å"): a small, template-matching
//! optical character reader for the few characters such labels use, so that an image whose
//! file carries no pixel size can still be calibrated — and reported as calibrated from the
//! scale bar.
//!
//! # How
//!
//! 1. **Search window** around the bar found by
//!    [`detect_annotations`](crate::annotations::detect_annotations): two bar lengths (plus a
//!    margin) to the left and right (a label beside a short bar is longer than the bar), and `max(60 px, height / 8)` above and below.
//! 2. **Ink masks**: labels are drawn in either polarity (white text on a dark image, black
//!    text on a white box, or the opposite of the bar's own colour), so six masks are tried:
//!    pixels brighter than `m + f (p₉₉ − m)` and darker than `m − f (m − p₁)` for
//!    `f ∈ {0.35, 0.5, 0.65}`, `m` the window's median and `p₁`, `p₉₉` its percentiles.
//! 3. **Glyphs**: 8-connected components of the mask (the bar itself, anything wider than
//!    80 % of the bar, and blobs taller than 90 px are dropped); a small component right above
//!    another (the ring of "Å") is merged into it.
//! 4. **Lines**: glyphs are chained when they overlap vertically (by 30 % of the smaller) and
//!    the horizontal gap is at most the taller one's height. In each line the **baseline** is
//!    the bottom edge most glyphs share, and the **digit height** `H` the tallest glyph that
//!    sits on it.
//! 5. **Classification** by the nearest template: each glyph's ink box is resampled to a
//!    12 × 12 coverage grid (area averaging) and compared with templates of
//!    `0-9 . , n m u µ Å A p` and the blobs `nm µm um` rendered from nine fonts (DejaVu Sans,
//!    Serif, bold, condensed; Liberation Sans and Serif, regular and bold; plus a foot-less
//!    Helvetica-style "1") at three sizes (10, 16, 40 px digit height) by
//!    `tools/gen_glyphs.py` into the committed table `data/scale_label_glyphs.bin`. The
//!    distance is
//!    `mean |cᵢ − tᵢ| + 0.3 |b − bₜ| + 0.35 |ln(a / aₜ)| + 0.5 (|top − topₜ| + |bottom − bottomₜ|)`
//!    with `a` the box's aspect ratio, `top`, `bottom` its edges above the baseline in units
//!    of `H` (this is what tells "." from "," and "n" from "m" at any size) and `b` the
//!    arch balance (ink of the middle columns in the top quarter minus the bottom quarter,
//!    which tells "n" from "u": "nm" vs "um" is a factor of 1000).
//! 6. **Grammar**: the characters between word gaps are parsed strictly by
//!    [`parse_scale_label`]: a number (digits with at most one "." or "," and at most two
//!    significant digits, as scale bars use round values) and a unit among nm, µm/um/μm, mm,
//!    Å/A, pm.
//! 7. **Decision**: every glyph must match a template closely (distance ≤ 0.35, relaxed up to
//!    0.45 for lines 8 px high, which are coarsely pixelated) and beat the
//!    best template of any other character by a margin (≥ 0.025); the label must lie next to
//!    the bar (a gap of at most `3 H + 8` px above, below or beside it; text beside the bar
//!    counts only when none is above or below it, as other fields of a data strip, e.g.
//!    "WD = 2.9 mm", often sit beside it). A reading that is a fragment of a longer one (its
//!    box inside the other's) is dropped. The readings of the six masks vote, weighted by
//!    confidence, per value among the nearest ones; a rival value with at least half the
//!    winner's support means nothing is returned: a wrong calibration is worse than none.
//!
//! The method is classical template matching (e.g. Casey & Lecolinet, "A survey of methods and
//! strategies in character segmentation", IEEE PAMI 18 (1996) 690); it is meant for the short,
//! machine-typeset labels of micrographs, not for general text.

use crate::annotations::{Annotations, ScaleBar};
use crate::components::{label_components, BBox};
use crate::threshold::median_in_place;
use crate::GrayImage;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A scale bar's label, read from the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleLabel {
    /// The text as read, e.g. `"100 nm"` (a space where the glyphs leave a word gap).
    pub text: String,
    /// The length the label states, nm.
    pub length_nm: f64,
    /// How sure the reader is, 0–1: the smallest per-glyph margin between the best and the
    /// runner-up character, scaled so that 1 is a clear-cut reading.
    pub confidence: f64,
    /// First column of the text's box.
    pub x0: usize,
    /// One past the last column.
    pub x1: usize,
    /// First row.
    pub y0: usize,
    /// One past the last row.
    pub y1: usize,
}

/// Parses a scale-bar label strictly: a positive number (digits, at most one decimal point or
/// comma, at most two significant digits) followed, with or without spaces, by a unit among
/// `nm`, `µm`/`μm`/`um`, `mm`, `Å`/`A`, `pm`. Returns the length in nm, or `None` when the
/// text is anything else.
///
/// ```
/// use athanor_vision::scale_label::parse_scale_label;
/// assert_eq!(parse_scale_label("100 nm"), Some(100.0));
/// assert_eq!(parse_scale_label("0,5µm"), Some(500.0));
/// assert_eq!(parse_scale_label("123 nm"), None); // not a round scale-bar value
/// assert_eq!(parse_scale_label("05 nm"), None);
/// ```
pub fn parse_scale_label(text: &str) -> Option<f64> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let split = compact
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map(|(i, _)| i)?;
    let (number, unit) = compact.split_at(split);
    let scale = match unit {
        "nm" => 1.0,
        "µm" | "μm" | "um" => 1e3,
        "mm" => 1e6,
        "Å" | "A" => 0.1,
        "pm" => 1e-3,
        _ => return None,
    };
    let parts: Vec<&str> = number.split(['.', ',']).collect();
    let (integer, fraction) = match parts.as_slice() {
        [i] => (*i, ""),
        [i, f] if !f.is_empty() => (*i, *f),
        _ => return None,
    };
    if integer.is_empty() || (integer.len() > 1 && integer.starts_with('0')) {
        return None;
    }
    let digits = format!("{integer}{fraction}");
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() || significant.len() > 2 {
        return None;
    }
    let value: f64 = format!(
        "{integer}.{}",
        if fraction.is_empty() { "0" } else { fraction }
    )
    .parse()
    .ok()?;
    let nm = value * scale;
    (value > 0.0 && (0.01..=1e7).contains(&nm)).then_some(nm)
}

/// Reads the label of `bar` (see the module docs), or `None` when no label is read with
/// confidence. `annotations` is what [`crate::annotations::detect_annotations`] found in the
/// same image (its data bar widens the search to the whole strip's height).
pub fn read_scale_label(
    image: &GrayImage,
    bar: &ScaleBar,
    annotations: &Annotations,
) -> Option<ScaleLabel> {
    let (w, h) = (image.width, image.height);
    if image.data.len() != w * h || bar.x1 > w || bar.y1 > h || bar.x1 <= bar.x0 {
        return None;
    }
    let length = bar.length_px();
    let margin_y = 60.max(h / 8);
    let mut window = BBox {
        x0: bar.x0.saturating_sub(2 * length + 40),
        x1: (bar.x1 + 2 * length + 40).min(w),
        y0: bar.y0.saturating_sub(margin_y),
        y1: (bar.y1 + margin_y).min(h),
    };
    if let Some(strip) = annotations.data_bar {
        if bar.y0 >= strip.top_row {
            window.y0 = window.y0.min(strip.top_row);
            window.y1 = h;
        }
    }
    let (ww, wh) = (window.width(), window.height());
    if ww < 8 || wh < 8 {
        return None;
    }
    let pixels: Vec<f32> = (window.y0..window.y1)
        .flat_map(|y| {
            image.data[y * w + window.x0..y * w + window.x1]
                .iter()
                .copied()
        })
        .collect();
    let mut sorted = pixels.clone();
    let median = median_in_place(&mut sorted).unwrap_or(0.0) as f32;
    sorted.sort_by(f32::total_cmp);
    let p1 = sorted[sorted.len() / 100];
    let p99 = sorted[sorted.len() - 1 - sorted.len() / 100];
    let bar_in_window = BBox {
        x0: bar.x0 - window.x0,
        x1: bar.x1 - window.x0,
        y0: bar.y0 - window.y0,
        y1: bar.y1 - window.y0,
    };
    let mut readings: Vec<Reading> = Vec::new();
    for bright in [true, false] {
        let reach = if bright { p99 - median } else { median - p1 };
        if reach <= 0.0 {
            continue;
        }
        for fraction in [0.35f32, 0.5, 0.65] {
            let level = fraction * reach;
            let mask: Vec<bool> = pixels
                .iter()
                .map(|&v| {
                    if bright {
                        v - median > level
                    } else {
                        median - v > level
                    }
                })
                .collect();
            readings.extend(read_mask(&mask, ww, wh, &bar_in_window));
        }
    }
    decide(readings).map(|r| ScaleLabel {
        text: r.text,
        length_nm: r.length_nm,
        confidence: r.confidence,
        x0: r.bbox.x0 + window.x0,
        x1: r.bbox.x1 + window.x0,
        y0: r.bbox.y0 + window.y0,
        y1: r.bbox.y1 + window.y0,
    })
}

/// Largest template distance a glyph may have.
const MAX_DISTANCE: f64 = 0.35;
/// Extra distance allowed to glyphs of a line 8 px high or less (tapering off to none at 16 px).
const SMALL_TEXT_ALLOWANCE: f64 = 0.1;
/// Smallest lead of the best character over the best other character.
const MIN_MARGIN: f64 = 0.025;
/// Margin that counts as a clear-cut reading (confidence 1).
const CLEAR_MARGIN: f64 = 0.12;

/// One candidate reading from one mask.
#[derive(Debug, Clone)]
struct Reading {
    text: String,
    length_nm: f64,
    confidence: f64,
    bbox: BBox,
    /// Gap between the text and the bar, pixels.
    gap: f64,
    /// Digit height of the text, pixels.
    digit_height: f64,
    /// Whether the text is beside the bar rather than above, below or inside it.
    beside: bool,
}

/// The winner among all masks' readings (see step 7 of the module docs).
fn decide(readings: Vec<Reading>) -> Option<Reading> {
    // A reading whose box lies inside a longer reading's box is a fragment of it ("1 nm" out
    // of "11 nm" where a mask lost a stroke), not a rival.
    let inside = |a: &BBox, b: &BBox| {
        a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 + 2 >= b.y0 && a.y1 <= b.y1 + 2 && a != b
    };
    let whole: Vec<Reading> = readings
        .iter()
        .filter(|r| {
            !readings
                .iter()
                .any(|o| o.text.len() > r.text.len() && inside(&r.bbox, &o.bbox))
        })
        .cloned()
        .collect();
    // Labels are mostly centred above or below their bar; text beside the bar (often other
    // fields of a data strip, "WD = 2.9 mm") counts only when nothing is above or below.
    let over = whole.iter().any(|r| !r.beside);
    let whole: Vec<Reading> = whole.into_iter().filter(|r| !(over && r.beside)).collect();
    let nearest_gap = whole.iter().map(|r| r.gap).fold(f64::INFINITY, f64::min);
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    // Votes of the readings about as near as the nearest one, per value read.
    let mut votes: Vec<(f64, f64)> = Vec::new();
    for r in &whole {
        if r.gap > nearest_gap + 0.5 * r.digit_height + 2.0 {
            continue;
        }
        match votes.iter_mut().find(|v| same(v.0, r.length_nm)) {
            Some(v) => v.1 += r.confidence.max(0.05),
            None => votes.push((r.length_nm, r.confidence.max(0.05))),
        }
    }
    votes.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (value, support) = *votes.first()?;
    // A rival value with half the support or more: the reading is not trustworthy.
    if votes.get(1).is_some_and(|v| v.1 >= 0.5 * support) {
        return None;
    }
    whole
        .into_iter()
        .filter(|r| same(r.length_nm, value))
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
}

/// A glyph: one or more components (the ring of "Å" joins its letter).
#[derive(Debug, Clone)]
struct Glyph {
    labels: Vec<u32>,
    bbox: BBox,
}

/// The readings of one ink mask of the search window.
fn read_mask(mask: &[bool], w: usize, h: usize, bar: &BBox) -> Vec<Reading> {
    let (labels, components) = label_components(mask, w, h, true);
    let overlaps_bar = |b: &BBox| b.x0 < bar.x1 && bar.x0 < b.x1 && b.y0 < bar.y1 && bar.y0 < b.y1;
    let mut glyphs: Vec<Glyph> = components
        .iter()
        .filter(|c| {
            let b = &c.bbox;
            c.area >= 2
                && b.height() <= 90
                && b.width() <= 200
                && b.width() * 5 < bar.width() * 4
                && !(overlaps_bar(b) && b.width() * 2 > bar.width())
        })
        .map(|c| Glyph {
            labels: vec![c.label],
            bbox: c.bbox,
        })
        .collect();
    // Merge a small component sitting right above a bigger one that spans it (Å's ring).
    glyphs.sort_by_key(|g| std::cmp::Reverse(g.bbox.height() * g.bbox.width()));
    let mut merged: Vec<Glyph> = Vec::new();
    for g in glyphs {
        let host = merged.iter_mut().find(|m| {
            let (a, b) = (&m.bbox, &g.bbox);
            let overlap = a.x1.min(b.x1) as isize - a.x0.max(b.x0) as isize;
            b.y1 <= a.y0 + 1
                && a.y0 - b.y0.min(a.y0) <= a.height() / 2 + 1
                && b.height() * 2 <= a.height()
                && overlap * 10 >= (b.width() as isize) * 6
        });
        match host {
            Some(m) => {
                m.labels.extend(g.labels);
                m.bbox.include(g.bbox.x0, g.bbox.y0);
                m.bbox.include(g.bbox.x1 - 1, g.bbox.y1 - 1);
            }
            None => merged.push(g),
        }
    }
    let mut glyphs = merged;
    glyphs.sort_by_key(|g| (g.bbox.x0, g.bbox.y0));
    let lines = group_lines(&glyphs);
    let mut readings = Vec::new();
    for line in lines {
        let line: Vec<&Glyph> = line.iter().map(|&i| &glyphs[i]).collect();
        if line.len() < 2 {
            continue;
        }
        if let Some(r) = read_line(&line, &labels, w, bar) {
            readings.push(r);
        }
    }
    readings
}

/// Chains glyphs into lines (step 4): indices into `glyphs`, each line sorted by `x0`.
fn group_lines(glyphs: &[Glyph]) -> Vec<Vec<usize>> {
    let n = glyphs.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&glyphs[i].bbox, &glyphs[j].bbox);
            let overlap = a.y1.min(b.y1) as isize - a.y0.max(b.y0) as isize;
            let smaller = a.height().min(b.height()) as isize;
            let taller = a.height().max(b.height());
            // Horizontal gap between the boxes, 0 when they overlap.
            let gap = b.x0.saturating_sub(a.x1).max(a.x0.saturating_sub(b.x1));
            // The vertical overlap is measured against the smaller glyph, so that a "." on
            // the baseline joins the digits' line while a glyph of another line does not.
            if overlap * 10 >= smaller * 3 && gap <= taller && taller >= 5 {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut lines: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..n {
        let r = root(&mut parent, i);
        lines.entry(r).or_default().push(i);
    }
    lines.into_values().collect()
}

/// A template of the committed table.
struct Template {
    text: String,
    aspect: f64,
    top: f64,
    bottom: f64,
    cells: Vec<f64>,
    /// [`arch_balance`] of `cells`.
    arch: f64,
}

/// Ink of the middle columns in the top quarter minus that in the bottom quarter: +1 for an
/// arch ("n"), −1 for a bowl ("u"). Area averaging blurs exactly this difference between the
/// two otherwise mirror-image letters, and a wrong guess costs a factor of 1000 ("nm" vs
/// "um"), so it gets its own term in the distance.
fn arch_balance(cells: &[f64], grid: usize) -> f64 {
    let band = (grid / 4).max(1);
    let columns = grid / 4..grid - grid / 4;
    let mean = |rows: std::ops::Range<usize>| {
        let n = (rows.len() * columns.len()).max(1) as f64;
        rows.flat_map(|y| columns.clone().map(move |x| y * grid + x))
            .map(|k| cells[k])
            .sum::<f64>()
            / n
    };
    mean(0..band) - mean(grid - band..grid)
}

/// The committed glyph templates (see `tools/gen_glyphs.py` for the format and licences).
static GLYPH_TABLE: &[u8] = include_bytes!("../data/scale_label_glyphs.bin");

/// The coverage grid's side and the templates, parsed once from the committed table (an
/// unreadable table gives no templates, so nothing is ever read, never a wrong reading).
fn templates() -> &'static (usize, Vec<Template>) {
    static TEMPLATES: OnceLock<(usize, Vec<Template>)> = OnceLock::new();
    TEMPLATES.get_or_init(|| parse_table(GLYPH_TABLE).unwrap_or((12, Vec::new())))
}

fn parse_table(bytes: &[u8]) -> Option<(usize, Vec<Template>)> {
    if bytes.get(..4)? != b"SLG1" {
        return None;
    }
    let grid = *bytes.get(4)? as usize;
    let mut at = 5;
    let mut out = Vec::new();
    let i16_at = |k: usize| -> Option<f64> {
        Some(i16::from_le_bytes([*bytes.get(k)?, *bytes.get(k + 1)?]) as f64 / 1000.0)
    };
    while at < bytes.len() {
        let n = *bytes.get(at)? as usize;
        let text = std::str::from_utf8(bytes.get(at + 1..at + 1 + n)?).ok()?;
        at += 1 + n + 1; // text, font index
        let (aspect, top, bottom) = (i16_at(at)?, i16_at(at + 2)?, i16_at(at + 4)?);
        at += 6;
        let cells: Vec<f64> = bytes
            .get(at..at + grid * grid)?
            .iter()
            .map(|&c| c as f64 / 255.0)
            .collect();
        at += grid * grid;
        out.push(Template {
            text: text.to_string(),
            aspect,
            top,
            bottom,
            arch: arch_balance(&cells, grid),
            cells,
        });
    }
    Some((grid, out))
}

/// Area-averaged coverage of a glyph's ink box on a `grid × grid` lattice.
fn coverage(glyph: &Glyph, labels: &[u32], w: usize, grid: usize) -> Vec<f64> {
    let b = glyph.bbox;
    let (gw, gh) = (b.width() as f64, b.height() as f64);
    let mut cells = vec![0.0; grid * grid];
    for y in b.y0..b.y1 {
        for x in b.x0..b.x1 {
            if !glyph.labels.contains(&labels[y * w + x]) {
                continue;
            }
            // The pixel covers [px, px+1) × [py, py+1) in box units scaled to the grid.
            let (px0, px1) = (
                (x - b.x0) as f64 * grid as f64 / gw,
                (x - b.x0 + 1) as f64 * grid as f64 / gw,
            );
            let (py0, py1) = (
                (y - b.y0) as f64 * grid as f64 / gh,
                (y - b.y0 + 1) as f64 * grid as f64 / gh,
            );
            for cy in py0.floor() as usize..(py1.ceil() as usize).min(grid) {
                let oy = py1.min(cy as f64 + 1.0) - py0.max(cy as f64);
                if oy <= 0.0 {
                    continue;
                }
                for cx in px0.floor() as usize..(px1.ceil() as usize).min(grid) {
                    let ox = px1.min(cx as f64 + 1.0) - px0.max(cx as f64);
                    if ox > 0.0 {
                        cells[cy * grid + cx] += ox * oy;
                    }
                }
            }
        }
    }
    cells
}

/// The best character for a glyph: (text, distance, margin over the best other character).
fn classify(cells: &[f64], aspect: f64, top: f64, bottom: f64) -> Option<(&'static str, f64, f64)> {
    let (grid, table) = templates();
    let arch = arch_balance(cells, *grid);
    let mut best: std::collections::BTreeMap<&str, f64> = Default::default();
    for t in table {
        let shape = cells
            .iter()
            .zip(&t.cells)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / cells.len() as f64;
        let d = shape
            + 0.3 * (arch - t.arch).abs()
            + 0.35 * (aspect / t.aspect).ln().abs()
            + 0.5 * ((top - t.top).abs() + (bottom - t.bottom).abs());
        let entry = best.entry(t.text.as_str()).or_insert(f64::INFINITY);
        *entry = entry.min(d);
    }
    let mut ranked: Vec<(&str, f64)> = best.into_iter().collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (text, d) = *ranked.first()?;
    // "µm" vs "um" and "µ" vs "u" name the same unit: not a rival.
    let same = |a: &str, b: &str| a.replace('µ', "u") == b.replace('µ', "u");
    let runner_up = ranked
        .iter()
        .find(|(t, _)| !same(t, text))
        .map_or(f64::INFINITY, |r| r.1);
    Some((text, d, runner_up - d))
}

/// Reads one line of glyphs (steps 4–7).
fn read_line(line: &[&Glyph], labels: &[u32], w: usize, bar: &BBox) -> Option<Reading> {
    // Baseline: the bottom edge shared by most glyphs.
    let tallest = line.iter().map(|g| g.bbox.height()).max()?;
    let tolerance = (tallest / 12).max(1);
    let baseline = line.iter().map(|g| g.bbox.y1).max_by_key(|&y1| {
        let votes = line
            .iter()
            .filter(|g| g.bbox.y1.abs_diff(y1) <= tolerance)
            .count();
        (votes, std::cmp::Reverse(y1))
    })?;
    let on_baseline: Vec<&&Glyph> = line
        .iter()
        .filter(|g| g.bbox.y1.abs_diff(baseline) <= tolerance)
        .collect();
    let digit_height = on_baseline
        .iter()
        .filter(|g| g.labels.len() == 1)
        .map(|g| baseline.saturating_sub(g.bbox.y0))
        .max()? as f64;
    if digit_height < 5.0 {
        return None;
    }
    let (grid, _) = templates();
    let mut chars: Vec<(&'static str, f64, f64)> = Vec::with_capacity(line.len());
    for g in line {
        let cells = coverage(g, labels, w, *grid);
        let aspect = g.bbox.width() as f64 / g.bbox.height() as f64;
        let top = (baseline as f64 - g.bbox.y0 as f64) / digit_height;
        let bottom = (baseline as f64 - g.bbox.y1 as f64) / digit_height;
        chars.push(classify(&cells, aspect, top, bottom)?);
    }
    // Candidate texts: runs of well-matched glyphs, cut at word gaps; the longest run that
    // parses is the reading.
    let word_gap = 0.3 * digit_height;
    // Small glyphs are coarsely pixelated and match their templates less closely.
    let max_distance =
        MAX_DISTANCE + SMALL_TEXT_ALLOWANCE * ((16.0 - digit_height) / 8.0).clamp(0.0, 1.0);
    let gaps: Vec<f64> = line
        .windows(2)
        .map(|p| p[1].bbox.x0 as f64 - p[0].bbox.x1 as f64)
        .collect();
    let boundary = |k: usize| k == 0 || k == line.len() || gaps[k - 1] > word_gap;
    let mut best: Option<Reading> = None;
    for start in (0..line.len()).filter(|&k| boundary(k)) {
        for end in (start + 1..=line.len()).rev().filter(|&k| boundary(k)) {
            let span = &chars[start..end];
            if span.iter().any(|c| c.1 > max_distance || c.2 < MIN_MARGIN) {
                continue;
            }
            let mut text = String::new();
            for k in start..end {
                // The only space a label has is between the number and the unit (a wide
                // gap after a "1" is the digit's side bearing, not a space).
                let digit_to_letter = k > start
                    && chars[k - 1].0.starts_with(|c: char| c.is_ascii_digit())
                    && !chars[k]
                        .0
                        .starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == ',');
                if digit_to_letter && gaps[k - 1] > word_gap {
                    text.push(' ');
                } else if k > start && gaps[k - 1] > 1.2 * digit_height {
                    // Too far apart to be one label.
                    text.push('|');
                }
                text.push_str(chars[k].0);
            }
            let Some(length_nm) = parse_scale_label(&text) else {
                continue;
            };
            let mut bbox = BBox::empty();
            for g in &line[start..end] {
                bbox.include(g.bbox.x0, g.bbox.y0);
                bbox.include(g.bbox.x1 - 1, g.bbox.y1 - 1);
            }
            let Some((gap, beside)) = gap_to_bar(&bbox, bar, digit_height) else {
                continue;
            };
            let confidence = span
                .iter()
                .map(|c| (c.2 / CLEAR_MARGIN).min(1.0))
                .fold(1.0f64, f64::min);
            let longer = best.as_ref().is_none_or(|b| text.len() > b.text.len());
            if longer {
                best = Some(Reading {
                    text,
                    length_nm,
                    confidence,
                    bbox,
                    gap,
                    digit_height,
                    beside,
                });
            }
        }
    }
    best
}

/// Pixels between two half-open intervals `[a0, a1)` and `[b0, b1)` (0 when they overlap).
fn interval_gap((a0, a1): (usize, usize), (b0, b1): (usize, usize)) -> f64 {
    if a1 <= b0 {
        (b0 - a1) as f64
    } else if a0 >= b1 {
        (a0 - b1) as f64
    } else {
        0.0
    }
}

/// The gap between a text box and the bar when the text is placed as a label is (above,
/// below or beside the bar, or inside it, within `3 H + 8` px) and whether it is beside the
/// bar, else `None`.
fn gap_to_bar(text: &BBox, bar: &BBox, digit_height: f64) -> Option<(f64, bool)> {
    let limit = 3.0 * digit_height + 8.0;
    // Above or below: the text shares at least 30 % of the narrower one's width with the bar.
    let shared = text.x1.min(bar.x1) as f64 - text.x0.max(bar.x0) as f64;
    let horizontally_over = shared >= 0.3 * text.width().min(bar.width()) as f64;
    let vertical_gap = interval_gap((text.y0, text.y1), (bar.y0, bar.y1));
    if horizontally_over && vertical_gap <= limit {
        return Some((vertical_gap, false));
    }
    let beside = text.y1 as f64 + digit_height >= bar.y0 as f64
        && text.y0 as f64 <= bar.y1 as f64 + digit_height;
    let horizontal_gap = interval_gap((text.x0, text.x1), (bar.x0, bar.x1));
    (beside && horizontal_gap <= limit).then_some((horizontal_gap, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_accepts_scale_bar_labels() {
        for (text, nm) in [
            ("100 nm", 100.0),
            ("200nm", 200.0),
            ("0.5 µm", 500.0),
            ("0,5 μm", 500.0),
            ("2 um", 2000.0),
            ("2.0 µm", 2000.0),
            ("1.5 mm", 1.5e6),
            ("20 Å", 2.0),
            ("250 pm", 0.25),
        ] {
            let got = parse_scale_label(text).unwrap_or(f64::NAN);
            assert!((got - nm).abs() < 1e-9 * nm, "{text}: {got}");
        }
    }

    #[test]
    fn grammar_rejects_anything_else() {
        for text in [
            "", "nm", "100", "100 kV", "1234 nm", "05 nm", "0 nm", "1..5 nm", "1.5.2 nm", "1. nm",
            "x100 nm", "100 nm x", "WD 5mm", "1.25 µm",
        ] {
            assert_eq!(parse_scale_label(text), None, "{text:?}");
        }
    }

    #[test]
    fn template_table_holds_every_character() {
        let (grid, table) = templates();
        assert_eq!(*grid, 12);
        for c in [
            "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ".", ",", "n", "m", "u",
        ] {
            assert!(table.iter().any(|t| t.text == c), "no template for {c:?}");
        }
        assert!(table.iter().all(|t| t.cells.len() == 144 && t.aspect > 0.0));
    }

    /// A template's own coverage grid and geometry are classified as its character, at
    /// distance 0.
    #[test]
    fn templates_classify_their_own_shapes() {
        let (grid, table) = templates();
        for t in table.iter().filter(|t| t.text.len() == 1 && t.text != "A") {
            let (cells, aspect) = (t.cells.clone(), t.aspect);
            let (text, distance, _) = classify(&cells, aspect, t.top, t.bottom).expect("class");
            assert_eq!(text, t.text.as_str(), "grid {grid}");
            assert!(distance < 1e-9);
        }
    }

    #[test]
    fn nothing_is_read_from_a_blank_image() {
        let image = GrayImage::new(200, 120, vec![100.0; 200 * 120]).unwrap();
        let bar = ScaleBar {
            x0: 60,
            x1: 140,
            y0: 100,
            y1: 104,
        };
        assert_eq!(
            read_scale_label(&image, &bar, &Annotations::default()),
            None
        );
    }
}
