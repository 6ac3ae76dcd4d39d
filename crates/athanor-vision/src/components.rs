//! Connected-component labelling and bounding boxes.

/// Axis-aligned pixel rectangle `[x0, x1) × [y0, y1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl BBox {
    /// An empty box that [`BBox::include`] grows.
    pub fn empty() -> BBox {
        BBox {
            x0: usize::MAX,
            y0: usize::MAX,
            x1: 0,
            y1: 0,
        }
    }

    /// Grows the box to contain pixel `(x, y)`.
    pub fn include(&mut self, x: usize, y: usize) {
        self.x0 = self.x0.min(x);
        self.y0 = self.y0.min(y);
        self.x1 = self.x1.max(x + 1);
        self.y1 = self.y1.max(y + 1);
    }

    /// The box grown by `margin` on every side, clipped to a `width × height` image.
    pub fn expanded(&self, margin: usize, width: usize, height: usize) -> BBox {
        BBox {
            x0: self.x0.saturating_sub(margin),
            y0: self.y0.saturating_sub(margin),
            x1: (self.x1 + margin).min(width),
            y1: (self.y1 + margin).min(height),
        }
    }

    pub fn width(&self) -> usize {
        self.x1.saturating_sub(self.x0)
    }

    pub fn height(&self) -> usize {
        self.y1.saturating_sub(self.y0)
    }
}

/// One connected component of a binary mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Component {
    /// Its value in the label map (1-based).
    pub label: u32,
    /// Number of pixels.
    pub area: usize,
    /// Bounding box.
    pub bbox: BBox,
}

/// Union–find with path halving over `u32` indices.
struct DisjointSets {
    parent: Vec<u32>,
}

impl DisjointSets {
    fn find(&mut self, mut a: u32) -> u32 {
        while self.parent[a as usize] != a {
            let grandparent = self.parent[self.parent[a as usize] as usize];
            self.parent[a as usize] = grandparent;
            a = grandparent;
        }
        a
    }

    /// Joins two sets; the smaller root index survives so that provisional labels keep raster
    /// order (determinism does not depend on it, but it keeps labels stable under refactoring).
    fn union(&mut self, a: u32, b: u32) -> u32 {
        let (ra, rb) = (self.find(a), self.find(b));
        let (keep, drop) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[drop as usize] = keep;
        keep
    }
}

/// Labels the connected components of `mask` (8-connected when `eight_connected`, else
/// 4-connected) with the classic two-pass union–find algorithm (Rosenfeld & Pfaltz 1966).
/// Labels are 1-based, numbered in raster order of each component's first pixel; 0 = not in
/// the mask.
pub(crate) fn label_components(
    mask: &[bool],
    width: usize,
    height: usize,
    eight_connected: bool,
) -> (Vec<u32>, Vec<Component>) {
    let mut labels = vec![0u32; mask.len()];
    let mut sets = DisjointSets {
        parent: vec![0], // index 0 = background, never used as a set
    };
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if !mask[i] {
                continue;
            }
            // Already-visited neighbours: W, and N (plus NW, NE for 8-connectivity).
            let mut current = 0u32;
            let mut consider = |other: u32, sets: &mut DisjointSets| {
                if other == 0 {
                    return;
                }
                current = if current == 0 {
                    sets.find(other)
                } else {
                    sets.union(current, other)
                };
            };
            if x > 0 {
                consider(labels[i - 1], &mut sets);
            }
            if y > 0 {
                consider(labels[i - width], &mut sets);
                if eight_connected {
                    if x > 0 {
                        consider(labels[i - width - 1], &mut sets);
                    }
                    if x + 1 < width {
                        consider(labels[i - width + 1], &mut sets);
                    }
                }
            }
            if current == 0 {
                current = sets.parent.len() as u32;
                sets.parent.push(current);
            }
            labels[i] = current;
        }
    }
    // Second pass: resolve to roots and renumber consecutively in raster order.
    let mut final_label = vec![0u32; sets.parent.len()];
    let mut components: Vec<Component> = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if labels[i] == 0 {
                continue;
            }
            let root = sets.find(labels[i]) as usize;
            if final_label[root] == 0 {
                components.push(Component {
                    label: components.len() as u32 + 1,
                    area: 0,
                    bbox: BBox::empty(),
                });
                final_label[root] = components.len() as u32;
            }
            let label = final_label[root];
            labels[i] = label;
            let component = &mut components[label as usize - 1];
            component.area += 1;
            component.bbox.include(x, y);
        }
    }
    (labels, components)
}

/// Renumbers a label map consecutively (1, 2, …) in raster order of each label's first pixel.
/// Returns the new map's label count and, for each new label, the old one.
pub(crate) fn relabel_raster_order(labels: &mut [u32]) -> Vec<u32> {
    let max = labels.iter().copied().max().unwrap_or(0) as usize;
    let mut new_of_old = vec![0u32; max + 1];
    let mut old_of_new = Vec::new();
    for l in labels.iter_mut() {
        if *l == 0 {
            continue;
        }
        let old = *l as usize;
        if new_of_old[old] == 0 {
            old_of_new.push(*l);
            new_of_old[old] = old_of_new.len() as u32;
        }
        *l = new_of_old[old];
    }
    old_of_new
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_from(rows: &[&str]) -> (Vec<bool>, usize, usize) {
        let width = rows[0].len();
        let mask = rows
            .iter()
            .flat_map(|r| r.chars().map(|c| c == '#'))
            .collect();
        (mask, width, rows.len())
    }

    #[test]
    fn labels_components_with_both_connectivities() {
        let (mask, w, h) = mask_from(&[
            "##..#", //
            "#..#.", //
            "..#..", //
            "....#", //
            "#.###",
        ]);
        let (labels4, comps4) = label_components(&mask, w, h, false);
        let (labels8, comps8) = label_components(&mask, w, h, true);
        // 8-connected: the diagonal chain (4,0)-(3,1)-(2,2) joins; (4,3) joins the bottom run.
        assert_eq!(comps8.len(), 4);
        assert_eq!(comps4.len(), 6);
        assert_eq!(labels8[4], labels8[2 * 5 + 2]);
        assert_ne!(labels4[4], labels4[5 + 3]);
        let total: usize = comps8.iter().map(|c| c.area).sum();
        assert_eq!(total, mask.iter().filter(|&&m| m).count());
        // Raster order: the first component starts at (0, 0).
        assert_eq!(labels8[0], 1);
        let bottom = &comps8[labels8[4 * 5 + 2] as usize - 1];
        assert_eq!(
            bottom.bbox,
            BBox {
                x0: 2,
                y0: 3,
                x1: 5,
                y1: 5
            }
        );
        assert_eq!(bottom.area, 4);
        let mut relabelled = labels8.clone();
        let old = relabel_raster_order(&mut relabelled);
        assert_eq!(relabelled, labels8);
        assert_eq!(old, vec![1, 2, 3, 4]);
    }
}
