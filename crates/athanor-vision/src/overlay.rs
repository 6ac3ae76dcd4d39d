//! The overlay image a person checks a segmentation with: the micrograph in gray, each
//! particle's outline (green; orange for particles cut by the border, which the counting rule
//! leaves out), its label number next to its centroid, and — when the pixel size is known — a
//! scale bar of a round length in the bottom-right corner.
//!
//! Text uses a built-in 3×5 pixel font (digits, `n`, `m`, `µ`, `.`), scaled with the image, so
//! nothing here needs a font file.

use crate::ImageAnalysis;

/// Outline colour of counted particles.
const OUTLINE: [u8; 3] = [40, 220, 60];
/// Outline colour of particles touching the border (not counted).
const OUTLINE_EDGE: [u8; 3] = [255, 150, 30];
/// Colour of label numbers.
const LABEL: [u8; 3] = [255, 240, 60];

/// What to draw besides the outlines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayOptions {
    /// Write each particle's label number at its centroid.
    pub ids: bool,
    /// Pixel size (nm) for the scale bar; `None` draws no bar.
    pub pixel_size_nm: Option<f64>,
}

/// An RGB image (row-major, 3 bytes per pixel, `analysis.width × analysis.height`) of `gray`
/// (8-bit, same size) with the analysis drawn over it.
pub fn render_overlay(gray: &[u8], analysis: &ImageAnalysis, options: &OverlayOptions) -> Vec<u8> {
    let (w, h) = (analysis.width, analysis.height);
    let labels = &analysis.labels;
    let edge: Vec<bool> = {
        let mut edge = vec![false; analysis.particles.len() + 1];
        for p in &analysis.particles {
            if let Some(slot) = edge.get_mut(p.label as usize) {
                *slot = p.touches_edge;
            }
        }
        edge
    };
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let l = labels[y * w + x];
            let outline = l != 0
                && [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)]
                    .iter()
                    .any(|(dx, dy)| {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        nx < 0
                            || ny < 0
                            || nx >= w as i64
                            || ny >= h as i64
                            || labels[ny as usize * w + nx as usize] != l
                    });
            let g = gray.get(y * w + x).copied().unwrap_or(0);
            rgb.extend_from_slice(&match (outline, edge.get(l as usize).copied()) {
                (true, Some(true)) => OUTLINE_EDGE,
                (true, _) => OUTLINE,
                _ => [g, g, g],
            });
        }
    }
    let mut canvas = Canvas {
        rgb: &mut rgb,
        width: w,
        height: h,
    };
    // Text height ≈ 1 % of the image's larger side, at least the 5 px of the font.
    let scale = (w.max(h) / 500).max(1);
    if options.ids {
        for p in &analysis.particles {
            let text = p.label.to_string();
            let (tw, th) = text_size(&text, scale);
            let x = p.centroid_px.0 as i64 - tw as i64 / 2;
            let y = p.centroid_px.1 as i64 - th as i64 / 2;
            canvas.text(&text, x, y, scale, LABEL, true);
        }
    }
    if let Some(pixel_nm) = options.pixel_size_nm.filter(|p| p.is_finite() && *p > 0.0) {
        canvas.scale_bar(pixel_nm, scale);
    }
    rgb
}

/// A round length (1, 2 or 5 × 10^k nm) close to, and not above, `target_nm`.
pub fn round_length_nm(target_nm: f64) -> f64 {
    let decade = 10f64.powf(target_nm.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&v| v <= target_nm)
        .unwrap_or(decade)
}

/// A length as a short label: `50 nm`, `2 µm`, `0.5 nm`.
pub fn length_label(nm: f64) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if nm >= 1000.0 {
        format!("{}µm", trim(nm / 1000.0))
    } else {
        format!("{}nm", trim(nm))
    }
}

struct Canvas<'a> {
    rgb: &'a mut [u8],
    width: usize,
    height: usize,
}

impl Canvas<'_> {
    fn put(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = 3 * (y as usize * self.width + x as usize);
            self.rgb[i..i + 3].copy_from_slice(&colour);
        }
    }

    fn rect(&mut self, x0: i64, y0: i64, w: usize, h: usize, colour: [u8; 3]) {
        for y in y0..y0 + h as i64 {
            for x in x0..x0 + w as i64 {
                self.put(x, y, colour);
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`; `shadow` adds a black outline so
    /// the text reads on any background.
    fn text(&mut self, text: &str, x: i64, y: i64, scale: usize, colour: [u8; 3], shadow: bool) {
        let passes: &[(i64, [u8; 3])] = if shadow {
            &[(1, [0, 0, 0]), (0, colour)]
        } else {
            &[(0, colour)]
        };
        for &(grow, c) in passes {
            let mut cx = x;
            for ch in text.chars() {
                let (glyph, width) = glyph(ch);
                for (row, bits) in glyph.iter().enumerate() {
                    for col in 0..width {
                        if bits >> (width - 1 - col) & 1 == 1 {
                            let px = cx + (col * scale) as i64;
                            let py = y + (row * scale) as i64;
                            self.rect(
                                px - grow,
                                py - grow,
                                scale + 2 * grow as usize,
                                scale + 2 * grow as usize,
                                c,
                            );
                        }
                    }
                }
                cx += ((width + 1) * scale) as i64;
            }
        }
    }

    /// A white bar of a round length with its label, bottom right, on a black box.
    fn scale_bar(&mut self, pixel_nm: f64, scale: usize) {
        let length_nm = round_length_nm(0.2 * self.width as f64 * pixel_nm);
        let bar_px = (length_nm / pixel_nm).round() as usize;
        if bar_px < 4 {
            return;
        }
        let label = length_label(length_nm);
        let (tw, th) = text_size(&label, scale);
        let bar_h = 2 * scale;
        let pad = 2 * scale;
        let box_w = bar_px.max(tw) + 2 * pad;
        let box_h = th + bar_h + 3 * pad;
        let x0 = self.width as i64 - box_w as i64 - pad as i64;
        let y0 = self.height as i64 - box_h as i64 - pad as i64;
        self.rect(x0, y0, box_w, box_h, [0, 0, 0]);
        let white = [255, 255, 255];
        self.text(
            &label,
            x0 + (box_w - tw) as i64 / 2,
            y0 + pad as i64,
            scale,
            white,
            false,
        );
        self.rect(
            x0 + (box_w - bar_px) as i64 / 2,
            y0 + (th + 2 * pad) as i64,
            bar_px,
            bar_h,
            white,
        );
    }
}

fn text_size(text: &str, scale: usize) -> (usize, usize) {
    let columns: usize = text.chars().map(|c| glyph(c).1 + 1).sum();
    (columns.saturating_sub(1) * scale, 5 * scale)
}

/// Five rows of a glyph (bits, most significant = leftmost) and its width in columns.
fn glyph(c: char) -> ([u8; 5], usize) {
    match c {
        '0' => ([0b111, 0b101, 0b101, 0b101, 0b111], 3),
        '1' => ([0b010, 0b110, 0b010, 0b010, 0b111], 3),
        '2' => ([0b111, 0b001, 0b111, 0b100, 0b111], 3),
        '3' => ([0b111, 0b001, 0b111, 0b001, 0b111], 3),
        '4' => ([0b101, 0b101, 0b111, 0b001, 0b001], 3),
        '5' => ([0b111, 0b100, 0b111, 0b001, 0b111], 3),
        '6' => ([0b111, 0b100, 0b111, 0b101, 0b111], 3),
        '7' => ([0b111, 0b001, 0b001, 0b001, 0b001], 3),
        '8' => ([0b111, 0b101, 0b111, 0b101, 0b111], 3),
        '9' => ([0b111, 0b101, 0b111, 0b001, 0b111], 3),
        'n' => ([0b000, 0b110, 0b101, 0b101, 0b101], 3),
        'm' => ([0b00000, 0b11010, 0b10101, 0b10101, 0b10101], 5),
        'µ' => ([0b000, 0b101, 0b101, 0b111, 0b100], 3),
        '.' => ([0, 0, 0, 0, 0b1], 1),
        _ => ([0; 5], 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze_labels, AnalysisConfig, GrayImage};

    #[test]
    fn round_lengths_and_labels() {
        assert_eq!(round_length_nm(73.0), 50.0);
        assert_eq!(round_length_nm(20.0), 20.0);
        assert_eq!(round_length_nm(1999.0), 1000.0);
        assert_eq!(round_length_nm(0.3), 0.2);
        assert_eq!(length_label(50.0), "50nm");
        assert_eq!(length_label(2000.0), "2µm");
        assert_eq!(length_label(0.5), "0.5nm");
    }

    #[test]
    fn outlines_ids_and_scale_bar_are_drawn() {
        let (w, h) = (200, 120);
        let mut labels = vec![0u32; w * h];
        for y in 30..60 {
            for x in 40..70 {
                labels[y * w + x] = 1;
            }
        }
        let gray = vec![100u8; w * h];
        let image = GrayImage::from_u8(w, h, &gray).unwrap();
        let config = AnalysisConfig {
            pixel_size_nm: 0.5,
            ..AnalysisConfig::default()
        };
        let analysis = analyze_labels(&image, &labels, &config).unwrap();
        let plain = render_overlay(
            &gray,
            &analysis,
            &OverlayOptions {
                ids: false,
                pixel_size_nm: None,
            },
        );
        let at = |rgb: &[u8], x: usize, y: usize| {
            [
                rgb[3 * (y * w + x)],
                rgb[3 * (y * w + x) + 1],
                rgb[3 * (y * w + x) + 2],
            ]
        };
        assert_eq!(
            at(&plain, 40, 45),
            OUTLINE,
            "left edge of the square is outlined"
        );
        assert_eq!(at(&plain, 55, 45), [100, 100, 100], "inside stays gray");
        let full = render_overlay(
            &gray,
            &analysis,
            &OverlayOptions {
                ids: true,
                pixel_size_nm: Some(0.5),
            },
        );
        // The label "1" is drawn around the centroid (55, 45).
        let label_pixels = (40..70)
            .flat_map(|y| (40..70).map(move |x| (x, y)))
            .filter(|&(x, y)| at(&full, x, y) == LABEL)
            .count();
        assert!(label_pixels >= 5, "{label_pixels}");
        // A 20 nm bar = 40 px (20 % of 100 nm of field width), white, in the bottom right.
        let white_rows: Vec<usize> = (0..h)
            .filter(|&y| {
                (0..w)
                    .filter(|&x| at(&full, x, y) == [255, 255, 255])
                    .count()
                    == 40
            })
            .collect();
        assert!(!white_rows.is_empty(), "a 40 px white bar");
        assert!(white_rows.iter().all(|&y| y > h / 2));
    }
}
