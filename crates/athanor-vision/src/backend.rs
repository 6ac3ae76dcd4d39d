//! Choice of segmentation backend for one analysis: the classical pipeline of [`crate::analyze`]
//! or the learned U-Net of [`crate::learned`], followed by the same measurements
//! ([`crate::analyze_labels`]) and statistics.
//!
//! The classical pipeline is exact on clean, well-separated particles (synthetic images from
//! the twin, most TEM of monodisperse colloids) and fast; the learned backend copes with the
//! clutter of real published micrographs (uneven contrast, overlapping particles, support
//! films) that defeats thresholding.

#[cfg(feature = "learned")]
use std::sync::Arc;

#[cfg(feature = "learned")]
use crate::learned::LearnedSegmenter;
use crate::{AnalysisConfig, GrayImage, ImageAnalysis, VisionError};

/// Which segmenter an analysis uses.
#[derive(Debug, Clone, Default)]
pub enum Segmentation {
    /// Threshold, distance transform and watershed ([`crate::analyze`]).
    #[default]
    Classical,
    /// A trained U-Net ([`crate::learned::LearnedSegmenter`]); cheap to clone.
    #[cfg(feature = "learned")]
    Learned(Arc<LearnedSegmenter>),
}

impl Segmentation {
    /// Short name for reports: `classical` or `learned`.
    pub fn name(&self) -> &'static str {
        match self {
            Segmentation::Classical => "classical",
            #[cfg(feature = "learned")]
            Segmentation::Learned(_) => "learned",
        }
    }

    /// Instance labels of `image` only (row-major, 0 = background, 1.. in raster order), as
    /// used for scoring against hand-made label maps.
    pub fn segment(
        &self,
        image: &GrayImage,
        config: &AnalysisConfig,
    ) -> Result<Vec<u32>, VisionError> {
        match self {
            Segmentation::Classical => Ok(crate::analyze(image, config)?.labels),
            #[cfg(feature = "learned")]
            Segmentation::Learned(segmenter) => segmenter.segment(image),
        }
    }
}

/// Segments `image` with `segmentation`, then measures and summarises the particles exactly as
/// [`crate::analyze`] does; the notes name the backend when it is not the classical one.
pub fn analyze_with(
    image: &GrayImage,
    config: &AnalysisConfig,
    segmentation: &Segmentation,
) -> Result<ImageAnalysis, VisionError> {
    match segmentation {
        Segmentation::Classical => crate::analyze(image, config),
        #[cfg(feature = "learned")]
        Segmentation::Learned(segmenter) => {
            config.validate()?;
            let labels = segmenter.segment(image)?;
            let mut analysis = crate::analyze_labels(image, &labels, config)?;
            analysis
                .notes
                .push("segmented by the learned backend (U-Net)".into());
            Ok(analysis)
        }
    }
}

#[cfg(all(test, feature = "learned"))]
mod tests {
    use super::*;
    use crate::learned::{UNet, UNetConfig};

    fn two_discs() -> GrayImage {
        let (w, h) = (96, 64);
        let pixels: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                let inside = [(30.0, 32.0), (68.0, 30.0)]
                    .iter()
                    .any(|&(cx, cy)| (x - cx).powi(2) + (y - cy).powi(2) < 100.0);
                if inside {
                    40
                } else {
                    200
                }
            })
            .collect();
        GrayImage::from_u8(w, h, &pixels).unwrap()
    }

    #[test]
    fn classical_choice_is_the_classical_pipeline() {
        let image = two_discs();
        let config = AnalysisConfig::default();
        let direct = crate::analyze(&image, &config).unwrap();
        let chosen = analyze_with(&image, &config, &Segmentation::Classical).unwrap();
        assert_eq!(direct, chosen);
        assert_eq!(
            Segmentation::Classical.segment(&image, &config).unwrap(),
            direct.labels
        );
    }

    #[test]
    fn learned_choice_measures_the_networks_labels() {
        let image = two_discs();
        let config = AnalysisConfig::default();
        let segmenter = LearnedSegmenter::new(
            UNet::new(
                UNetConfig {
                    base_channels: 2,
                    depth: 2,
                    downsample: 1,
                },
                3,
            )
            .unwrap(),
        )
        .unwrap();
        let labels = segmenter.segment(&image).unwrap();
        let backend = Segmentation::Learned(Arc::new(segmenter));
        assert_eq!(backend.name(), "learned");
        assert_eq!(backend.segment(&image, &config).unwrap(), labels);
        match analyze_with(&image, &config, &backend) {
            Ok(analysis) => {
                let expected = crate::analyze_labels(&image, &labels, &config).unwrap();
                assert_eq!(analysis.particles, expected.particles);
                assert!(analysis.notes.iter().any(|n| n.contains("learned backend")));
            }
            // Untrained weights may find nothing; that must be the same outcome as measuring
            // the (empty) map directly.
            Err(VisionError::NoParticles { .. }) => {
                assert!(crate::analyze_labels(&image, &labels, &config).is_err());
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }
}
