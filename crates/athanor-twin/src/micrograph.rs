//! Synthetic bright-field TEM micrographs of a particle ensemble, with pixel-exact ground truth.
//!
//! [`render_micrograph`] places particles on a virtual carbon film and renders what a TEM camera
//! would record, so that image-analysis code (athanor-vision) can be tested against known answers
//! and the lab can "measure" a twin outcome by the same route as a real sample.
//!
//! # Placement
//! Particles are drawn **with replacement** (uniformly, seeded) from the given diameters until
//! their projected area reaches `coverage` of the field of view; so the image samples the
//! ensemble's distribution, and a short list of diameters may repeat. The draws are then grouped:
//! about `agglomerate_fraction` of them into compact clusters of 3–8 touching particles, about
//! `touching_fraction` into touching pairs, the rest single. Inside a group each new particle
//! touches an earlier one with centre distance `(r1 + r2) · U(0.92, 1.0)` (an overlap of at most
//! 8 %); any two particles that are not meant to touch keep a gap of at least 1.5 px. Groups are
//! placed by random sequential addition with every centre inside the image (discs may cross the
//! border and are then flagged `touches_edge`). A group that finds no free spot after many tries
//! is dropped, so at very high coverage the achieved coverage can fall short of the request.
//!
//! # Image formation
//! Mass–thickness contrast with saturation: a sphere of radius `r` has projected thickness
//! `t(ρ) = 2·sqrt(r² − ρ²)` at distance `ρ` from its centre, and transmits
//!
//! ```text
//! I = I_bg · (1 − C · (1 − exp(−t / t0))),   C = 0.42, t0 = 0.4 nm
//! ```
//!
//! (overlapping particles multiply their `exp(−t/t0)` factors). The half-contrast point
//! `t = t0 ln 2` lies within 0.3 % of the true radius for a 5 nm particle and within 2 % down to
//! 1.4 nm, so a half-maximum threshold measures the true size. Pixels near an edge are
//! area-sampled on a 4×4 grid. The contrast field is blurred by a Gaussian PSF (σ = 0.7 px);
//! the background carries a linear illumination gradient of 2–5 % across the field and a faint
//! (≈1.5 %) low-frequency carbon-film texture. Finally shot noise at `dose_electrons_per_pixel`
//! (Gaussian approximation of Poisson: variance = `I · background_counts / dose` in counts) and a
//! small read noise (0.2 % of the background) are added and the result is rounded to `u16`.
//!
//! # Ground truth
//! `labels[j·width + i]` is the label of the disc containing the centre `(i + 0.5, j + 0.5)` of
//! pixel `(i, j)`; where discs overlap, the pixel goes to the disc minimising the power distance
//! `d² − r²` (a power diagram), which splits touching particles along their radical line.

use crate::error::TwinError;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Maximum mass–thickness contrast `C` of a thick particle (fraction of the background).
pub const CONTRAST: f64 = 0.42;
/// Saturation thickness `t0` (nm) of the mass–thickness contrast.
pub const SATURATION_THICKNESS_NM: f64 = 0.4;
/// Standard deviation of the Gaussian point-spread function, pixels.
pub const PSF_SIGMA_PX: f64 = 0.7;
/// Smallest gap between particles that are not meant to touch, pixels.
pub const MIN_GAP_PX: f64 = 1.5;
/// Smallest centre distance of touching particles, as a fraction of the sum of their radii.
pub const MIN_TOUCH_DISTANCE_FRACTION: f64 = 0.92;
/// Read noise, as a fraction of the background counts.
const READ_NOISE_FRACTION: f64 = 0.002;
/// Upper bound on the number of particles in one image, to keep rendering time bounded.
const MAX_PARTICLES: usize = 200_000;

/// How the synthetic TEM image is taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicrographSpec {
    /// Image width, pixels.
    pub width: usize,
    /// Image height, pixels.
    pub height: usize,
    /// Size of one pixel on the specimen, nm.
    pub pixel_size_nm: f64,
    /// Projected area fraction covered by particles (0 < coverage ≤ 0.5).
    pub coverage: f64,
    /// Fraction of particles placed in contact with one other particle (pairs), 0..=0.5.
    pub touching_fraction: f64,
    /// Fraction of particles placed in compact clusters of 3–8 touching particles, 0..=0.3.
    pub agglomerate_fraction: f64,
    /// Mean bright-field background, counts.
    pub background_counts: f64,
    /// Electron dose per pixel of background; sets the shot noise.
    pub dose_electrons_per_pixel: f64,
}

impl Default for MicrographSpec {
    /// 1024×1024 px at 0.2 nm/px, 12 % coverage, 10 % touching, 5 % agglomerated,
    /// 30 000 counts background at 400 e⁻/px.
    fn default() -> Self {
        MicrographSpec {
            width: 1024,
            height: 1024,
            pixel_size_nm: 0.2,
            coverage: 0.12,
            touching_fraction: 0.10,
            agglomerate_fraction: 0.05,
            background_counts: 30_000.0,
            dose_electrons_per_pixel: 400.0,
        }
    }
}

/// One particle of the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthParticle {
    /// Its value in [`SyntheticMicrograph::labels`] (1-based).
    pub label: u32,
    /// Centre x, pixel coordinates (x to the right; pixel `(i, j)` has its centre at
    /// `(i + 0.5, j + 0.5)`).
    pub x_px: f64,
    /// Centre y, pixel coordinates (y down).
    pub y_px: f64,
    /// True projected diameter, nm.
    pub diameter_nm: f64,
    /// In contact with at least one other particle.
    pub touching: bool,
    /// Member of a cluster of 3–8 particles.
    pub in_agglomerate: bool,
    /// Its disc crosses the image border (it is cut off).
    pub touches_edge: bool,
}

/// A rendered micrograph with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticMicrograph {
    /// Image width, pixels.
    pub width: usize,
    /// Image height, pixels.
    pub height: usize,
    /// Pixel size, nm.
    pub pixel_size_nm: f64,
    /// Row-major intensities, `len = width · height`; particles are dark on a bright background.
    pub pixels: Vec<u16>,
    /// Row-major ground-truth instance map: 0 = background, else [`TruthParticle::label`].
    pub labels: Vec<u32>,
    /// The particles, in label order (`truth[k].label == k + 1`).
    pub truth: Vec<TruthParticle>,
}

impl SyntheticMicrograph {
    /// Fraction of the image area covered by the particles' discs (clipped to the image).
    pub fn covered_fraction(&self) -> f64 {
        let n = self.labels.iter().filter(|&&l| l != 0).count();
        n as f64 / self.labels.len().max(1) as f64
    }
}

/// A particle while it is being placed (pixel units).
#[derive(Debug, Clone, Copy)]
struct Disc {
    x: f64,
    y: f64,
    radius_px: f64,
    diameter_nm: f64,
    touching: bool,
    in_agglomerate: bool,
}

/// Places particles with the given diameters (drawn with replacement until `coverage` is
/// reached, see the module docs) and renders the image. Deterministic for a given seed.
///
/// Errors if the spec is out of its documented ranges, if a diameter is not a positive finite
/// number, if a particle is larger than half the field of view, or if reaching the coverage
/// would need more than 200 000 particles.
pub fn render_micrograph(
    diameters_nm: &[f64],
    spec: &MicrographSpec,
    seed: u64,
) -> Result<SyntheticMicrograph, TwinError> {
    validate(diameters_nm, spec)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let discs = place_particles(diameters_nm, spec, &mut rng)?;
    let (width, height) = (spec.width, spec.height);
    let (transmission, labels) = rasterise(&discs, spec);
    let absorption: Vec<f32> = transmission.iter().map(|e| 1.0 - e).collect();
    let blurred = gaussian_blur(&absorption, width, height, PSF_SIGMA_PX);
    let pixels = expose(&blurred, spec, &mut rng);
    let truth = discs
        .iter()
        .enumerate()
        .map(|(k, d)| TruthParticle {
            label: k as u32 + 1,
            x_px: d.x,
            y_px: d.y,
            diameter_nm: d.diameter_nm,
            touching: d.touching,
            in_agglomerate: d.in_agglomerate,
            touches_edge: d.x - d.radius_px < 0.0
                || d.y - d.radius_px < 0.0
                || d.x + d.radius_px > width as f64
                || d.y + d.radius_px > height as f64,
        })
        .collect();
    Ok(SyntheticMicrograph {
        width,
        height,
        pixel_size_nm: spec.pixel_size_nm,
        pixels,
        labels,
        truth,
    })
}

fn invalid(field: &'static str, value: f64, reason: &'static str) -> TwinError {
    TwinError::InvalidMicrographSpec {
        field,
        value,
        reason,
    }
}

fn validate(diameters_nm: &[f64], spec: &MicrographSpec) -> Result<(), TwinError> {
    if !(8..=16_384).contains(&spec.width) {
        return Err(invalid(
            "width",
            spec.width as f64,
            "expected 8..=16384 pixels",
        ));
    }
    if !(8..=16_384).contains(&spec.height) {
        return Err(invalid(
            "height",
            spec.height as f64,
            "expected 8..=16384 pixels",
        ));
    }
    if !(spec.pixel_size_nm.is_finite() && spec.pixel_size_nm > 0.0) {
        return Err(invalid(
            "pixel_size_nm",
            spec.pixel_size_nm,
            "expected a positive number of nm",
        ));
    }
    if !(spec.coverage > 0.0 && spec.coverage <= 0.5) {
        return Err(invalid(
            "coverage",
            spec.coverage,
            "expected 0 < coverage <= 0.5",
        ));
    }
    if !(0.0..=0.5).contains(&spec.touching_fraction) {
        return Err(invalid(
            "touching_fraction",
            spec.touching_fraction,
            "expected 0..=0.5",
        ));
    }
    if !(0.0..=0.3).contains(&spec.agglomerate_fraction) {
        return Err(invalid(
            "agglomerate_fraction",
            spec.agglomerate_fraction,
            "expected 0..=0.3",
        ));
    }
    if !(spec.background_counts > 0.0 && spec.background_counts <= 50_000.0) {
        return Err(invalid(
            "background_counts",
            spec.background_counts,
            "expected 0 < background <= 50000 so that noisy counts fit in u16",
        ));
    }
    if !(spec.dose_electrons_per_pixel.is_finite() && spec.dose_electrons_per_pixel > 0.0) {
        return Err(invalid(
            "dose_electrons_per_pixel",
            spec.dose_electrons_per_pixel,
            "expected a positive dose",
        ));
    }
    if diameters_nm.is_empty() {
        return Err(TwinError::InvalidDiameters("no diameters given".into()));
    }
    if let Some(bad) = diameters_nm.iter().find(|d| !(d.is_finite() && **d > 0.0)) {
        return Err(TwinError::InvalidDiameters(format!(
            "diameter {bad} nm is not a positive finite number"
        )));
    }
    let field_nm = spec.width.min(spec.height) as f64 * spec.pixel_size_nm;
    let largest = diameters_nm.iter().cloned().fold(0.0, f64::max);
    if largest > 0.5 * field_nm {
        return Err(TwinError::InvalidDiameters(format!(
            "particle of {largest} nm is larger than half the {field_nm} nm field of view"
        )));
    }
    let mean_area = diameters_nm.iter().map(|d| d * d).sum::<f64>() / diameters_nm.len() as f64
        * std::f64::consts::FRAC_PI_4;
    let field_area = spec.width as f64 * spec.height as f64 * spec.pixel_size_nm.powi(2);
    let expected = spec.coverage * field_area / mean_area;
    if expected > MAX_PARTICLES as f64 {
        return Err(TwinError::InvalidDiameters(format!(
            "reaching coverage {} would need about {expected:.0} particles (limit {MAX_PARTICLES}); \
             use a larger pixel size or a smaller image",
            spec.coverage
        )));
    }
    Ok(())
}

/// Spatial hash of placed discs for the gap checks.
struct Grid {
    cell: f64,
    columns: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
}

impl Grid {
    fn new(width: f64, height: f64, cell: f64) -> Grid {
        let columns = (width / cell).ceil().max(1.0) as usize;
        let rows = (height / cell).ceil().max(1.0) as usize;
        Grid {
            cell,
            columns,
            rows,
            cells: vec![Vec::new(); columns * rows],
        }
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let c = ((x / self.cell).floor().max(0.0) as usize).min(self.columns - 1);
        let r = ((y / self.cell).floor().max(0.0) as usize).min(self.rows - 1);
        (c, r)
    }

    fn insert(&mut self, x: f64, y: f64, index: u32) {
        let (c, r) = self.cell_of(x, y);
        self.cells[r * self.columns + c].push(index);
    }

    /// Whether a disc at (x, y) with radius r keeps the minimum gap to every placed disc.
    fn is_free(&self, placed: &[Disc], x: f64, y: f64, r: f64) -> bool {
        let (c, row) = self.cell_of(x, y);
        for rr in row.saturating_sub(1)..=(row + 1).min(self.rows - 1) {
            for cc in c.saturating_sub(1)..=(c + 1).min(self.columns - 1) {
                for &k in &self.cells[rr * self.columns + cc] {
                    let other = &placed[k as usize];
                    let min_distance = r + other.radius_px + MIN_GAP_PX;
                    let (dx, dy) = (other.x - x, other.y - y);
                    if dx * dx + dy * dy < min_distance * min_distance {
                        return false;
                    }
                }
            }
        }
        true
    }
}

fn place_particles(
    diameters_nm: &[f64],
    spec: &MicrographSpec,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Disc>, TwinError> {
    let (width, height) = (spec.width as f64, spec.height as f64);
    let target_area = spec.coverage * width * height;
    // Draw sizes (with replacement) until the projected area reaches the coverage.
    let mut radii: Vec<(f64, f64)> = Vec::new();
    let mut area = 0.0;
    while area < target_area && radii.len() < MAX_PARTICLES {
        let d_nm = diameters_nm[rng.random_range(0..diameters_nm.len())];
        let r_px = 0.5 * d_nm / spec.pixel_size_nm;
        area += std::f64::consts::PI * r_px * r_px;
        radii.push((r_px, d_nm));
    }
    let n = radii.len();
    // Split the draws into clusters, pairs and singles.
    let mut groups: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cursor = 0;
    let agglomerated = (spec.agglomerate_fraction * n as f64).round() as usize;
    while agglomerated - (cursor.min(agglomerated)) >= 3 {
        let left = agglomerated - cursor;
        let mut size = rng.random_range(3..=8usize).min(left);
        if left - size < 3 && left <= 8 {
            size = left;
        }
        groups.push(radii[cursor..cursor + size].to_vec());
        cursor += size;
    }
    let pairs = ((spec.touching_fraction * n as f64) / 2.0).round() as usize;
    for _ in 0..pairs {
        if cursor + 2 > n {
            break;
        }
        groups.push(radii[cursor..cursor + 2].to_vec());
        cursor += 2;
    }
    groups.extend(radii[cursor..].iter().map(|&r| vec![r]));

    let max_radius = radii.iter().map(|r| r.0).fold(0.0, f64::max);
    let mut grid = Grid::new(width, height, 2.0 * max_radius + MIN_GAP_PX);
    let mut placed: Vec<Disc> = Vec::with_capacity(n);
    for group in &groups {
        let shape = build_group(group, rng);
        let attempts = if group.len() > 1 { 400 } else { 200 };
        for _ in 0..attempts {
            let cx = rng.random::<f64>() * width;
            let cy = rng.random::<f64>() * height;
            let fits = shape.iter().all(|d| {
                let (x, y) = (cx + d.x, cy + d.y);
                (0.0..width).contains(&x)
                    && (0.0..height).contains(&y)
                    && grid.is_free(&placed, x, y, d.radius_px)
            });
            if fits {
                for d in &shape {
                    let disc = Disc {
                        x: cx + d.x,
                        y: cy + d.y,
                        ..*d
                    };
                    grid.insert(disc.x, disc.y, placed.len() as u32);
                    placed.push(disc);
                }
                break;
            }
        }
    }
    Ok(placed)
}

/// Arranges a group in local coordinates (centroid at the origin): a single disc, a touching
/// pair, or a compact cluster grown by attaching each new particle to an earlier one.
fn build_group(members: &[(f64, f64)], rng: &mut ChaCha8Rng) -> Vec<Disc> {
    let in_agglomerate = members.len() >= 3;
    let touching = members.len() >= 2;
    let mut discs: Vec<Disc> = Vec::with_capacity(members.len());
    for &(radius_px, diameter_nm) in members {
        let mut disc = Disc {
            x: 0.0,
            y: 0.0,
            radius_px,
            diameter_nm,
            touching,
            in_agglomerate,
        };
        if !discs.is_empty() {
            let (sx, sy) = discs.iter().fold((0.0, 0.0), |a, d| (a.0 + d.x, a.1 + d.y));
            let centroid = (sx / discs.len() as f64, sy / discs.len() as f64);
            // Among several valid attachment points keep the one nearest the centroid, so
            // clusters come out compact rather than chain-like.
            let mut best: Option<(f64, f64, f64)> = None;
            let mut valid = 0;
            for _ in 0..80 {
                let anchor = discs[rng.random_range(0..discs.len())];
                let angle = rng.random::<f64>() * std::f64::consts::TAU;
                let distance = (anchor.radius_px + radius_px)
                    * rng.random_range(MIN_TOUCH_DISTANCE_FRACTION..1.0);
                let x = anchor.x + distance * angle.cos();
                let y = anchor.y + distance * angle.sin();
                let compatible = discs.iter().all(|o| {
                    let sum = o.radius_px + radius_px;
                    let d = ((o.x - x).powi(2) + (o.y - y).powi(2)).sqrt();
                    d >= MIN_TOUCH_DISTANCE_FRACTION * sum && (d <= sum || d >= sum + MIN_GAP_PX)
                });
                if compatible {
                    let to_centroid = (x - centroid.0).powi(2) + (y - centroid.1).powi(2);
                    if best.is_none_or(|b| to_centroid < b.2) {
                        best = Some((x, y, to_centroid));
                    }
                    valid += 1;
                    if valid >= 6 {
                        break;
                    }
                }
            }
            match best {
                Some((x, y, _)) => {
                    disc.x = x;
                    disc.y = y;
                }
                // No room to attach (very unlikely): leave the rest of the group out.
                None => break,
            }
        }
        discs.push(disc);
    }
    if discs.len() < 3 {
        for d in &mut discs {
            d.in_agglomerate = false;
        }
    }
    if discs.len() < 2 {
        for d in &mut discs {
            d.touching = false;
        }
    }
    let (sx, sy) = discs.iter().fold((0.0, 0.0), |a, d| (a.0 + d.x, a.1 + d.y));
    let (mx, my) = (sx / discs.len() as f64, sy / discs.len() as f64);
    for d in &mut discs {
        d.x -= mx;
        d.y -= my;
    }
    discs
}

/// Renders the transmission factor `exp(−t/t0)` (area-averaged near edges, multiplied where
/// particles overlap) and the power-diagram labels.
fn rasterise(discs: &[Disc], spec: &MicrographSpec) -> (Vec<f32>, Vec<u32>) {
    let (width, height) = (spec.width, spec.height);
    let mut transmission = vec![1.0f32; width * height];
    let mut labels = vec![0u32; width * height];
    let mut best_power = vec![f32::INFINITY; width * height];
    let thickness_scale = 2.0 * spec.pixel_size_nm / SATURATION_THICKNESS_NM;
    const SUB: usize = 4;
    for (k, d) in discs.iter().enumerate() {
        let r = d.radius_px;
        let r2 = r * r;
        let i0 = (d.x - r - 1.0).floor().max(0.0) as usize;
        let j0 = (d.y - r - 1.0).floor().max(0.0) as usize;
        let i1 = ((d.x + r + 1.0).ceil().max(0.0) as usize).min(width);
        let j1 = ((d.y + r + 1.0).ceil().max(0.0) as usize).min(height);
        // exp(−t/t0) at squared distance rho2 (pixels²) from the centre.
        let factor = |rho2: f64| -> f64 {
            if rho2 >= r2 {
                1.0
            } else {
                (-thickness_scale * (r2 - rho2).sqrt()).exp()
            }
        };
        for j in j0..j1 {
            let yc = j as f64 + 0.5 - d.y;
            for i in i0..i1 {
                let xc = i as f64 + 0.5 - d.x;
                let dist2 = xc * xc + yc * yc;
                let dist = dist2.sqrt();
                if dist >= r + std::f64::consts::FRAC_1_SQRT_2 {
                    continue;
                }
                let e = if (dist - r).abs() < 1.5 {
                    let mut sum = 0.0;
                    for sj in 0..SUB {
                        let y = yc - 0.5 + (sj as f64 + 0.5) / SUB as f64;
                        for si in 0..SUB {
                            let x = xc - 0.5 + (si as f64 + 0.5) / SUB as f64;
                            sum += factor(x * x + y * y);
                        }
                    }
                    sum / (SUB * SUB) as f64
                } else {
                    factor(dist2)
                };
                let idx = j * width + i;
                transmission[idx] *= e as f32;
                if dist2 < r2 {
                    let power = (dist2 - r2) as f32;
                    if power < best_power[idx] {
                        best_power[idx] = power;
                        labels[idx] = k as u32 + 1;
                    }
                }
            }
        }
    }
    (transmission, labels)
}

/// Separable Gaussian blur with clamped borders.
fn gaussian_blur(field: &[f32], width: usize, height: usize, sigma: f64) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let norm: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= norm);
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let mut horizontal = vec![0f32; field.len()];
    for j in 0..height {
        let row = &field[j * width..(j + 1) * width];
        let out = &mut horizontal[j * width..(j + 1) * width];
        for (i, o) in out.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (t, w) in kernel.iter().enumerate() {
                acc += w * row[clamp(i as isize + t as isize - radius, width)];
            }
            *o = acc;
        }
    }
    let mut out = vec![0f32; field.len()];
    for (t, w) in kernel.iter().enumerate() {
        for j in 0..height {
            let src = clamp(j as isize + t as isize - radius, height);
            let src_row = &horizontal[src * width..(src + 1) * width];
            let dst_row = &mut out[j * width..(j + 1) * width];
            for (d, s) in dst_row.iter_mut().zip(src_row) {
                *d += w * s;
            }
        }
    }
    out
}

/// A smooth random field: Gaussian values on a coarse lattice, bilinearly interpolated.
struct LatticeNoise {
    spacing: f64,
    columns: usize,
    values: Vec<f64>,
}

impl LatticeNoise {
    fn new(width: usize, height: usize, spacing: f64, rng: &mut ChaCha8Rng) -> LatticeNoise {
        let columns = (width as f64 / spacing).ceil() as usize + 2;
        let rows = (height as f64 / spacing).ceil() as usize + 2;
        let values = (0..columns * rows)
            .map(|_| StandardNormal.sample(rng))
            .collect();
        LatticeNoise {
            spacing,
            columns,
            values,
        }
    }

    fn at(&self, x: f64, y: f64) -> f64 {
        let (gx, gy) = (x / self.spacing, y / self.spacing);
        let (c, r) = (gx.floor() as usize, gy.floor() as usize);
        let (fx, fy) = (gx - c as f64, gy - r as f64);
        let v = |cc: usize, rr: usize| self.values[rr * self.columns + cc];
        let top = v(c, r) * (1.0 - fx) + v(c + 1, r) * fx;
        let bottom = v(c, r + 1) * (1.0 - fx) + v(c + 1, r + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// Turns the blurred absorption field into noisy detector counts.
fn expose(absorption: &[f32], spec: &MicrographSpec, rng: &mut ChaCha8Rng) -> Vec<u16> {
    let (width, height) = (spec.width, spec.height);
    let background = spec.background_counts;
    let gradient_amplitude = rng.random_range(0.02..0.05);
    let gradient_angle = rng.random::<f64>() * std::f64::consts::TAU;
    let (gx, gy) = (
        gradient_amplitude * gradient_angle.cos() / width.max(height) as f64,
        gradient_amplitude * gradient_angle.sin() / width.max(height) as f64,
    );
    let coarse = LatticeNoise::new(width, height, 64.0, rng);
    let fine = LatticeNoise::new(width, height, 24.0, rng);
    let counts_per_electron = background / spec.dose_electrons_per_pixel;
    let read_noise = READ_NOISE_FRACTION * background;
    let mut pixels = vec![0u16; width * height];
    for j in 0..height {
        let y = j as f64 + 0.5;
        for i in 0..width {
            let x = i as f64 + 0.5;
            let illumination = 1.0
                + gx * (x - 0.5 * width as f64)
                + gy * (y - 0.5 * height as f64)
                + 0.010 * coarse.at(x, y)
                + 0.005 * fine.at(x, y);
            let idx = j * width + i;
            let mean = background * illumination * (1.0 - CONTRAST * absorption[idx] as f64);
            let z1: f64 = StandardNormal.sample(rng);
            let z2: f64 = StandardNormal.sample(rng);
            let noisy = mean + (mean.max(0.0) * counts_per_electron).sqrt() * z1 + read_noise * z2;
            pixels[idx] = noisy.round().clamp(0.0, u16::MAX as f64) as u16;
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ensemble(n: usize, mean: f64, cv: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                (mean * (1.0 + cv * z)).max(0.3 * mean)
            })
            .collect()
    }

    #[test]
    fn default_render_has_requested_layout_and_is_deterministic() {
        let d = ensemble(2000, 5.0, 0.08, 1);
        let spec = MicrographSpec::default();
        let a = render_micrograph(&d, &spec, 7).unwrap();
        let b = render_micrograph(&d, &spec, 7).unwrap();
        let c = render_micrograph(&d, &spec, 8).unwrap();
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.truth, b.truth);
        assert_ne!(a.pixels, c.pixels);
        assert_eq!(a.pixels.len(), 1024 * 1024);
        assert_eq!(a.labels.len(), 1024 * 1024);
        let covered = a.covered_fraction();
        assert!((covered - 0.12).abs() < 0.02, "coverage {covered}");
        let n = a.truth.len() as f64;
        let touching = a.truth.iter().filter(|t| t.touching).count() as f64 / n;
        let agglomerated = a.truth.iter().filter(|t| t.in_agglomerate).count() as f64 / n;
        assert!((touching - 0.15).abs() < 0.05, "touching {touching}");
        assert!(
            (agglomerated - 0.05).abs() < 0.03,
            "agglomerated {agglomerated}"
        );
        assert!(a.truth.iter().any(|t| t.touches_edge));
        for (k, t) in a.truth.iter().enumerate() {
            assert_eq!(t.label as usize, k + 1);
        }
    }

    #[test]
    fn geometry_respects_gaps_and_touch_overlaps() {
        let d = ensemble(500, 4.0, 0.15, 2);
        let spec = MicrographSpec {
            touching_fraction: 0.3,
            agglomerate_fraction: 0.2,
            ..MicrographSpec::default()
        };
        let m = render_micrograph(&d, &spec, 3).unwrap();
        let r = |t: &TruthParticle| 0.5 * t.diameter_nm / spec.pixel_size_nm;
        for (a, ta) in m.truth.iter().enumerate() {
            let mut has_contact = false;
            for tb in m.truth.iter().skip(a + 1).chain(m.truth.iter().take(a)) {
                let dist = ((ta.x_px - tb.x_px).powi(2) + (ta.y_px - tb.y_px).powi(2)).sqrt();
                let sum = r(ta) + r(tb);
                assert!(dist >= MIN_TOUCH_DISTANCE_FRACTION * sum - 1e-9);
                assert!(dist <= sum + 1e-9 || dist >= sum + MIN_GAP_PX - 1e-9);
                has_contact |= dist <= sum;
            }
            assert_eq!(has_contact, ta.touching, "particle {}", ta.label);
        }
    }

    #[test]
    fn half_contrast_radius_matches_truth() {
        // One isolated particle without noise-dominated pixels: average the radial profile.
        let spec = MicrographSpec {
            width: 128,
            height: 128,
            coverage: 0.01,
            touching_fraction: 0.0,
            agglomerate_fraction: 0.0,
            dose_electrons_per_pixel: 1e9,
            ..MicrographSpec::default()
        };
        // The first seed whose single particle lies fully inside the field.
        let m = (0..50)
            .map(|seed| render_micrograph(&[5.0], &spec, seed).unwrap())
            .find(|m| m.truth.len() == 1 && !m.truth[0].touches_edge)
            .expect("some seed places the particle away from the border");
        let t = &m.truth[0];
        // Local background from a ring well outside the particle.
        let mut ring = Vec::new();
        let mut dark = 0.0;
        let mut pixel_count = 0;
        for j in 0..m.height {
            for i in 0..m.width {
                let d =
                    ((i as f64 + 0.5 - t.x_px).powi(2) + (j as f64 + 0.5 - t.y_px).powi(2)).sqrt();
                if (20.0..26.0).contains(&d) {
                    ring.push(m.pixels[j * m.width + i] as f64);
                }
                if d < 3.0 {
                    dark += m.pixels[j * m.width + i] as f64;
                    pixel_count += 1;
                }
            }
        }
        let bg = ring.iter().sum::<f64>() / ring.len() as f64;
        let core = dark / pixel_count as f64;
        let half = 0.5 * (bg + core);
        // Area below half contrast → equivalent diameter.
        let mut area = 0;
        for j in 0..m.height {
            for i in 0..m.width {
                let d =
                    ((i as f64 + 0.5 - t.x_px).powi(2) + (j as f64 + 0.5 - t.y_px).powi(2)).sqrt();
                if d < 20.0 && (m.pixels[j * m.width + i] as f64) < half {
                    area += 1;
                }
            }
        }
        let diameter_nm = 2.0 * (area as f64 / std::f64::consts::PI).sqrt() * spec.pixel_size_nm;
        assert!(
            (diameter_nm - 5.0).abs() / 5.0 < 0.02,
            "measured {diameter_nm}"
        );
        assert!((1.0 - core / bg - CONTRAST).abs() < 0.03);
    }

    #[test]
    fn rejects_bad_specs_and_diameters() {
        let d = [5.0];
        let bad = MicrographSpec {
            coverage: 0.9,
            ..MicrographSpec::default()
        };
        let err = render_micrograph(&d, &bad, 0).unwrap_err();
        assert!(err.to_string().contains("coverage"));
        assert!(render_micrograph(&[], &MicrographSpec::default(), 0).is_err());
        assert!(render_micrograph(&[f64::NAN], &MicrographSpec::default(), 0).is_err());
        assert!(render_micrograph(&[-1.0], &MicrographSpec::default(), 0).is_err());
        assert!(render_micrograph(&[0.001], &MicrographSpec::default(), 0).is_err());
    }

    #[test]
    fn overlapping_pairs_split_by_power_diagram() {
        let spec = MicrographSpec {
            touching_fraction: 0.5,
            agglomerate_fraction: 0.0,
            ..MicrographSpec::default()
        };
        let m = render_micrograph(&[4.0, 6.0], &spec, 5).unwrap();
        // Each label's pixel area approximates its disc area (shared lens split sensibly).
        let mut counts = vec![0usize; m.truth.len() + 1];
        for &l in &m.labels {
            counts[l as usize] += 1;
        }
        for t in m.truth.iter().filter(|t| !t.touches_edge) {
            let r = 0.5 * t.diameter_nm / spec.pixel_size_nm;
            let expected = std::f64::consts::PI * r * r;
            let got = counts[t.label as usize] as f64;
            assert!(
                (got / expected - 1.0).abs() < 0.1,
                "label {} {got} vs {expected}",
                t.label
            );
        }
    }
}
