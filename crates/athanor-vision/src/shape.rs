//! Shape geometry of one particle: a sub-pixel outline (marching squares), its convex hull
//! (monotone chain) and Feret diameters (rotating calipers).
//!
//! # Why a sub-pixel outline
//! Perimeters counted on the pixel staircase overshoot (the crack length of a digital disc is
//! `8r`, 27 % above `2πr`), and the unbiased Crofton estimators fluctuate around the truth so
//! that `4πA/P²` exceeds 1 for about half of all digitised discs. Instead the outline is traced
//! where the particle's own signal crosses its half-contrast level (linear interpolation
//! between pixel centres, W. E. Lorensen & H. E. Cline's marching cubes in 2-D), which follows
//! the physical edge to a small fraction of a pixel. Perimeter, enclosed area, convex hull,
//! Feret diameters and solidity are all taken from this one polygon, so:
//!
//! * `circularity = 4π A_outline / P²` is at most 1 by the isoperimetric inequality (a polygon
//!   with holes or several pieces only lowers it), and
//! * `solidity = A_outline / A_hull` is at most 1 because the hull contains the outline.
//!
//! Pixels of *other* particles enter the interpolation with their signal mirrored to negative,
//! so the outline runs half-way between the two particles along a watershed cut.

/// Geometry of one particle, in pixel units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OutlineGeometry {
    /// Length of the outline (all pieces and holes), pixels.
    pub perimeter: f64,
    /// Area enclosed by the outline (holes subtracted), pixels².
    pub enclosed_area: f64,
    /// Area of the outline's convex hull, pixels².
    pub hull_area: f64,
    /// Largest caliper width, pixels.
    pub feret_max: f64,
    /// Smallest caliper width, pixels.
    pub feret_min: f64,
}

/// Traces the zero crossing of `value` around a region whose pixels (and only those) have
/// `value > 0`. `value(x, y)` is evaluated on the `width × height` grid of pixel centres of a
/// box, with one extra ring of samples outside the box (x = −1 and x = width etc.), which must
/// be negative. Coordinates in the result are relative to the box with pixel `(x, y)` centred
/// at `(x + 0.5, y + 0.5)`.
pub(crate) fn outline_geometry(
    width: usize,
    height: usize,
    value: impl Fn(isize, isize) -> f64,
) -> OutlineGeometry {
    let (gw, gh) = (width + 2, height + 2);
    // Samples on the padded grid: grid (gx, gy) is pixel (gx − 1, gy − 1).
    let mut grid = vec![0.0f64; gw * gh];
    for gy in 0..gh {
        for gx in 0..gw {
            grid[gy * gw + gx] = value(gx as isize - 1, gy as isize - 1);
        }
    }
    let mut perimeter = 0.0;
    let mut twice_area = 0.0;
    let mut points: Vec<(f64, f64)> = Vec::new();
    // Corners in order a = top-left, b = top-right, c = bottom-right, d = bottom-left; edge e
    // joins corner e and corner (e + 1) % 4 (top, right, bottom, left).
    const CORNER_OFFSETS: [(usize, usize); 4] = [(0, 0), (1, 0), (1, 1), (0, 1)];
    for gy in 0..gh - 1 {
        for gx in 0..gw - 1 {
            let v: [f64; 4] = CORNER_OFFSETS.map(|(dx, dy)| grid[(gy + dy) * gw + gx + dx]);
            let inside = v.map(|x| x > 0.0);
            let count = inside.iter().filter(|&&b| b).count();
            if count == 0 || count == 4 {
                continue;
            }
            // Corner positions in box coordinates (pixel centre of grid (gx, gy) is
            // (gx − 1 + 0.5, gy − 1 + 0.5)).
            let corner = |k: usize| {
                let (dx, dy) = CORNER_OFFSETS[k];
                ((gx + dx) as f64 - 0.5, (gy + dy) as f64 - 0.5)
            };
            let crossing = |e: usize| {
                let (p, q) = (e, (e + 1) % 4);
                let t = v[p] / (v[p] - v[q]);
                let (pp, qq) = (corner(p), corner(q));
                (pp.0 + t * (qq.0 - pp.0), pp.1 + t * (qq.1 - pp.1))
            };
            // Segments as (edge, edge, reference corner) where the reference corner lies on the
            // side of the segment it cuts off.
            let mut segments: [(usize, usize, usize); 2] = [(0, 0, 0); 2];
            let mut n = 0;
            let isolate = |k: usize| ((k + 3) % 4, k, k); // the two edges meeting at corner k
            if count == 1 || count == 3 {
                let odd_one = (0..4)
                    .find(|&k| inside[k] == (count == 1))
                    .unwrap_or_default();
                segments[0] = isolate(odd_one);
                n = 1;
            } else if inside[0] == inside[2] {
                // Saddle: decide the connectivity from the cell centre's interpolated value.
                let centre_inside = v.iter().sum::<f64>() > 0.0;
                for (k, &corner_inside) in inside.iter().enumerate() {
                    if corner_inside != centre_inside {
                        segments[n] = isolate(k);
                        n += 1;
                    }
                }
            } else {
                // Two adjacent corners inside: the segment joins the two edges with a sign change.
                let mut edges = (0..4).filter(|&e| inside[e] != inside[(e + 1) % 4]);
                let (e1, e2) = (
                    edges.next().unwrap_or_default(),
                    edges.next().unwrap_or_default(),
                );
                let reference = (0..4).find(|&k| inside[k]).unwrap_or_default();
                segments[0] = (e1, e2, reference);
                n = 1;
            }
            for &(e1, e2, reference) in &segments[..n] {
                let (mut p, mut q) = (crossing(e1), crossing(e2));
                let r = corner(reference);
                let cross = (q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0);
                // Orient every segment with the inside on the positive side.
                if (cross > 0.0) != inside[reference] {
                    std::mem::swap(&mut p, &mut q);
                }
                perimeter += ((q.0 - p.0).powi(2) + (q.1 - p.1).powi(2)).sqrt();
                twice_area += p.0 * q.1 - q.0 * p.1;
                points.push(p);
                points.push(q);
            }
        }
    }
    let hull = convex_hull(points);
    let (feret_max, feret_min) = feret_diameters(&hull);
    OutlineGeometry {
        perimeter,
        enclosed_area: 0.5 * twice_area.abs(),
        hull_area: polygon_area(&hull),
        feret_max,
        feret_min,
    }
}

/// Convex hull by Andrew's monotone chain (A. M. Andrew, Inf. Proc. Lett. 9 (1979) 216),
/// counter-clockwise in a y-up frame, without collinear points.
pub(crate) fn convex_hull(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let chain = |sequence: &mut dyn Iterator<Item = &(f64, f64)>| {
        let mut chain: Vec<(f64, f64)> = Vec::new();
        for &p in sequence {
            while chain.len() >= 2
                && cross(chain[chain.len() - 2], chain[chain.len() - 1], p) <= 0.0
            {
                chain.pop();
            }
            chain.push(p);
        }
        // The last point of each chain is the first of the other.
        chain.pop();
        chain
    };
    let mut hull = chain(&mut points.iter());
    hull.extend(chain(&mut points.iter().rev()));
    hull
}

/// Area of a simple polygon (shoelace formula), always ≥ 0.
pub(crate) fn polygon_area(polygon: &[(f64, f64)]) -> f64 {
    if polygon.len() < 3 {
        return 0.0;
    }
    let mut twice = 0.0;
    for k in 0..polygon.len() {
        let (p, q) = (polygon[k], polygon[(k + 1) % polygon.len()]);
        twice += p.0 * q.1 - q.0 * p.1;
    }
    0.5 * twice.abs()
}

/// Maximum and minimum caliper (Feret) diameters of a convex polygon (counter-clockwise, no
/// collinear vertices) by rotating calipers (G. T. Toussaint, "Solving geometric problems with
/// the rotating calipers", Proc. IEEE MELECON 1983): for each edge, the farthest vertex gives
/// the width perpendicular to that edge (the minimum width is attained perpendicular to an
/// edge), and the edge's endpoints with that vertex are antipodal pairs (the diameter is
/// attained at one of them).
pub(crate) fn feret_diameters(hull: &[(f64, f64)]) -> (f64, f64) {
    let n = hull.len();
    let distance =
        |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
    match n {
        0 | 1 => return (0.0, 0.0),
        2 => return (distance(hull[0], hull[1]), 0.0),
        _ => {}
    }
    // Twice the area of triangle (a, b, c) = distance of c from line ab times |ab|.
    let area2 = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        ((b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)).abs()
    };
    let mut max_width: f64 = 0.0;
    let mut min_width = f64::INFINITY;
    let mut j = 1usize;
    for i in 0..n {
        let (a, b) = (hull[i], hull[(i + 1) % n]);
        // Advance the antipodal pointer while the next vertex is farther from edge (a, b).
        while area2(a, b, hull[(j + 1) % n]) > area2(a, b, hull[j]) {
            j = (j + 1) % n;
        }
        let edge_length = distance(a, b);
        if edge_length > 0.0 {
            min_width = min_width.min(area2(a, b, hull[j]) / edge_length);
        }
        max_width = max_width
            .max(distance(a, hull[j]))
            .max(distance(b, hull[j]));
    }
    if !min_width.is_finite() {
        min_width = 0.0;
    }
    (max_width, min_width)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outline of a binary region given as a predicate on pixel centres (values ±1, so the
    /// outline passes exactly half-way between inside and outside pixel centres).
    fn binary_outline(
        width: usize,
        height: usize,
        inside: impl Fn(f64, f64) -> bool,
    ) -> OutlineGeometry {
        outline_geometry(width, height, |x, y| {
            if x < 0 || y < 0 || x >= width as isize || y >= height as isize {
                return -1.0;
            }
            if inside(x as f64 + 0.5, y as f64 + 0.5) {
                1.0
            } else {
                -1.0
            }
        })
    }

    #[test]
    fn hull_of_square_with_interior_points() {
        let points = vec![
            (0.0, 0.0),
            (2.0, 0.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (1.0, 1.0),
            (1.0, 0.0),
        ];
        let hull = convex_hull(points);
        assert_eq!(hull.len(), 4);
        assert!((polygon_area(&hull) - 4.0).abs() < 1e-12);
        let (max, min) = feret_diameters(&hull);
        assert!((max - 8f64.sqrt()).abs() < 1e-12);
        assert!((min - 2.0).abs() < 1e-12);
    }

    #[test]
    fn feret_of_rectangle_and_rotated_rectangle() {
        // Exact polygon: a 30 × 10 rectangle rotated by 27°.
        let (c, s) = (27f64.to_radians().cos(), 27f64.to_radians().sin());
        let rect: Vec<(f64, f64)> = [(0.0, 0.0), (30.0, 0.0), (30.0, 10.0), (0.0, 10.0)]
            .iter()
            .map(|&(x, y)| (c * x - s * y, s * x + c * y))
            .collect();
        let (max, min) = feret_diameters(&convex_hull(rect));
        assert!((max - 1000f64.sqrt()).abs() < 1e-9);
        assert!((min - 10.0).abs() < 1e-9);
        // Pixel rectangle of 30 × 10 pixels: widths are exact along the axes; the corners of
        // the outline are cut by half-pixel chamfers, so the diagonal is slightly shorter.
        let g = binary_outline(40, 20, |x, y| {
            (5.0..35.0).contains(&x) && (5.0..15.0).contains(&y)
        });
        assert!((g.feret_min - 10.0).abs() < 1e-9, "{g:?}");
        assert!(
            g.feret_max < 1000f64.sqrt() && g.feret_max > 1000f64.sqrt() - 1.0,
            "{g:?}"
        );
        assert!((g.enclosed_area - 300.0 + 0.5).abs() < 1e-9, "{g:?}");
        assert!(g.perimeter < 80.0 && g.perimeter > 78.0, "{g:?}");
        assert!((g.enclosed_area / g.hull_area - 1.0).abs() < 1e-9);
    }

    #[test]
    fn digital_disc_is_round() {
        for (k, r) in [6.0, 9.0, 12.5, 20.0].into_iter().enumerate() {
            let (cx, cy) = (30.0 + 0.17 * k as f64, 30.0 + 0.29 * k as f64);
            let inside = |x: f64, y: f64| (x - cx).powi(2) + (y - cy).powi(2) < r * r;
            // Binary field: the outline runs through crack midpoints and its staircase costs a
            // few per cent of circularity.
            let binary = binary_outline(60, 60, inside);
            // Gray field as the pipeline sees it: the rasterised disc blurred (σ = 1 px) and
            // traced at half height.
            let raster: Vec<f32> = (0..3600)
                .map(|i| inside((i % 60) as f64 + 0.5, (i / 60) as f64 + 0.5) as u8 as f32)
                .collect();
            let blurred = crate::image::gaussian_blur(&raster, 60, 60, 1.0);
            let gray = outline_geometry(60, 60, |x, y| {
                if x < 0 || y < 0 || x >= 60 || y >= 60 {
                    return -0.5;
                }
                blurred[y as usize * 60 + x as usize] as f64 - 0.5
            });
            for (name, g, lowest, solid) in
                [("binary", binary, 0.85, 0.95), ("gray", gray, 0.97, 0.99)]
            {
                let circularity =
                    4.0 * std::f64::consts::PI * g.enclosed_area / g.perimeter.powi(2);
                assert!(
                    circularity > lowest && circularity <= 1.0,
                    "{name} r {r}: {circularity} {g:?}"
                );
                assert!(
                    (g.feret_max / (2.0 * r) - 1.0).abs() < 0.06,
                    "{name} r {r}: {g:?}"
                );
                assert!(
                    (g.feret_min / (2.0 * r) - 1.0).abs() < 0.08,
                    "{name} r {r}: {g:?}"
                );
                assert!(g.enclosed_area / g.hull_area > solid, "{name} r {r}: {g:?}");
            }
            // The gray outline encloses the disc's area closely (a blurred edge traced at half
            // height moves inwards by about σ²/2r, 3 % of the area at r = 6 px).
            let area_error = gray.enclosed_area / (std::f64::consts::PI * r * r) - 1.0;
            assert!(area_error.abs() < 0.05, "r {r}: area error {area_error}");
        }
    }

    #[test]
    fn holes_reduce_enclosed_area() {
        let ring = binary_outline(30, 30, |x, y| {
            let d2 = (x - 15.0).powi(2) + (y - 15.0).powi(2);
            (25.0..144.0).contains(&d2)
        });
        let disc = binary_outline(30, 30, |x, y| {
            (x - 15.0).powi(2) + (y - 15.0).powi(2) < 144.0
        });
        assert!(ring.enclosed_area < disc.enclosed_area - 60.0);
        assert!(ring.perimeter > disc.perimeter + 25.0);
        assert!((ring.hull_area - disc.hull_area).abs() < 1e-9);
    }
}
