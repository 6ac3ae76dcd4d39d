//! Learned segmentation backend: a compact U-Net that predicts foreground, boundary and
//! normalised distance maps, trained on annotated micrographs (EMPS) with candle on the CPU.
//!
//! * [`UNet`], [`UNetConfig`]: the network and its safetensors weights ([`model`]).
//! * [`targets_from_instances`]: the training targets of an instance map ([`targets`]).
//! * [`load_emps`], [`is_held_out`], [`TrainingImage`], [`random_batch`]: data ([`data`]).
//! * [`train`], [`train_on_images`], [`TrainConfig`], [`TrainReport`]: training ([`mod@train`]).
//! * [`LearnedSegmenter`]: tiled inference and instances ([`infer`]); combine with
//!   [`crate::analyze_labels`] for the usual particle measurements and statistics.
//!
//! ```no_run
//! use athanor_vision::learned::LearnedSegmenter;
//! use athanor_vision::{analyze_labels, AnalysisConfig, GrayImage};
//! # fn main() -> Result<(), athanor_vision::VisionError> {
//! let segmenter = LearnedSegmenter::load(std::path::Path::new("unet.safetensors"))?;
//! let image = GrayImage::from_u8(2, 2, &[0, 255, 255, 0])?;
//! let labels = segmenter.segment(&image)?;
//! let analysis = analyze_labels(&image, &labels, &AnalysisConfig::default())?;
//! # let _ = analysis; Ok(()) }
//! ```

/// The U-Net weights shipped in the binary: trained by `athanor vision train` on the
/// non-held-out part of EMPS in three stages; how is recorded in `weights/emps-unet-stage1.json`,
/// `weights/emps-unet-stage2.json`, `weights/emps-unet.json` and `weights/README.md` next to
/// the file.
pub const SHIPPED_WEIGHTS: &[u8] = include_bytes!("../../weights/emps-unet.safetensors");

/// The learned segmenter with the shipped weights ([`SHIPPED_WEIGHTS`]); `None` when the build
/// carries none (an empty file), an error when they do not load.
pub fn shipped_segmenter() -> Result<Option<LearnedSegmenter>, crate::VisionError> {
    if SHIPPED_WEIGHTS.is_empty() {
        return Ok(None);
    }
    LearnedSegmenter::from_bytes(SHIPPED_WEIGHTS).map(Some)
}

pub mod data;
mod fast;
pub mod infer;
pub mod model;
pub mod targets;
pub mod train;

pub use data::{
    is_held_out, load_emps, random_batch, AnnotatedImage, Batch, Split, TrainingImage,
    EMPS_HELDOUT_IDS,
};
pub use infer::{
    instances_from_maps, InferenceConfig, LearnedSegmenter, PredictedMaps, FLIP_COUNTS,
};
pub use model::{UNet, UNetConfig};
pub use targets::{targets_from_instances, Targets};
pub use train::{
    evaluate, train, train_on_images, TrainConfig, TrainPaths, TrainProgress, TrainReport,
};
