//! Training: seeded random crops, Adam, a three-term loss, safetensors checkpoints and a JSON
//! record of how the weights were made.
//!
//! **Loss** per batch, averaged over pixels:
//! `L = BCE(f̂, f) + BCE(b̂, b) + 5 · MSE(σ(d̂), d)`, with `BCE(x, t) = max(x, 0) − x·t +
//! ln(1 + e^{−|x|})` the numerically stable binary cross-entropy on logits, `f`, `b`, `d` the
//! targets of [`super::targets`]. The factor 5 brings the distance term (values in [0, 1],
//! squared errors ~0.01–0.05) to the size of the cross-entropies.
//!
//! **Optimiser**: Adam (Kingma & Ba 2015; candle's AdamW without weight decay), β = (0.9,
//! 0.999), ε = 1e-8, learning rate constant for the first half and decayed linearly to 10 %
//! over the second half of the run (measured in steps, or in time when a time limit is set and
//! would end the run first).
//!
//! **Determinism**: the initial weights and every crop/augmentation come from ChaCha8 streams
//! seeded by [`TrainConfig::seed`]; candle's CPU kernels are deterministic for a fixed thread
//! count (tested for a few steps), but floating-point sums may differ across machines, CPU
//! feature sets or thread counts, so a retrain elsewhere agrees closely, not necessarily bit for
//! bit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;

use super::data::{data_rng, load_emps, random_batch, Split, TrainingImage};
use super::infer::LearnedSegmenter;
use super::model::{model_error, UNet, UNetConfig};
use crate::eval::{score_image, summarize, EvalSummary};
use crate::VisionError;

/// Weight of the distance term in the loss.
const DISTANCE_WEIGHT: f64 = 5.0;

/// Settings of a training run (all of them are written to the record).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainConfig {
    /// Network shape and input downsampling.
    pub model: UNetConfig,
    /// Passes over the training images; one epoch draws one crop per image on average.
    pub epochs: usize,
    /// Crops per optimisation step.
    pub batch_size: usize,
    /// Crop side at the network's resolution (a multiple of `2^(depth−1)`).
    pub crop_size: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and of the data stream.
    pub seed: u64,
    /// Stop after this many seconds of training even if epochs remain (the record says so).
    pub time_limit_s: Option<f64>,
    /// Probability that a training crop has its contrast inverted (see
    /// [`super::data::add_random_crop`]). Default 0.
    pub invert_probability: f64,
    /// Start from these weights (a safetensors file written by [`train`]) instead of a seeded
    /// initialisation: fine-tuning, or continuing a run that was stopped. Its network shape
    /// must equal [`TrainConfig::model`]. The path is written to the record.
    pub initial_weights: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: UNetConfig::default(),
            epochs: 20,
            batch_size: 8,
            crop_size: 128,
            learning_rate: 2e-3,
            seed: 1,
            time_limit_s: None,
            invert_probability: 0.0,
            initial_weights: None,
        }
    }
}

/// Progress after one optimisation step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainProgress {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Step within the run, from 0.
    pub step: usize,
    /// Steps planned for the run.
    pub total_steps: usize,
    /// Loss of this step's batch.
    pub loss: f64,
    /// Seconds since training began.
    pub elapsed_s: f64,
}

/// What a run did; serialised as the JSON record next to the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainReport {
    /// The settings.
    pub config: TrainConfig,
    /// Framework and backend.
    pub framework: String,
    /// Ids of the training images (none of them held out).
    pub train_ids: Vec<String>,
    /// Trainable parameters.
    pub parameter_count: usize,
    /// Steps run.
    pub steps: usize,
    /// Epochs completed (fewer than asked for when the time limit stopped the run).
    pub epochs_completed: usize,
    /// Mean batch loss of each completed epoch.
    pub epoch_losses: Vec<f64>,
    /// Wall time of the training loop, seconds.
    pub train_seconds: f64,
    /// Scores on the held-out images, when they were evaluated.
    pub heldout: Option<EvalSummary>,
    /// Held-out ids scored.
    pub heldout_ids: Vec<String>,
}

/// Mean binary cross-entropy on logits (numerically stable form).
fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let positive = logits.relu()?;
    let product = (logits * targets)?;
    let softplus = ((logits.abs()?.neg()?.exp()? + 1.0)?).log()?;
    ((positive - product)? + softplus)?.mean_all()
}

/// The loss of a batch (see the module docs); `logits` and `targets` are `(b, 3, h, w)`.
pub(crate) fn loss(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let channel = |t: &Tensor, c: usize| t.narrow(1, c, 1);
    let foreground = bce_with_logits(&channel(logits, 0)?, &channel(targets, 0)?)?;
    let boundary = bce_with_logits(&channel(logits, 1)?, &channel(targets, 1)?)?;
    let distance = candle_nn::ops::sigmoid(&channel(logits, 2)?)?;
    let distance_error = (distance - channel(targets, 2)?)?.sqr()?.mean_all()?;
    (foreground + boundary)? + (distance_error * DISTANCE_WEIGHT)?
}

/// Trains a fresh network on prepared images; calls `progress` after every step with the
/// network as it stands (so a caller can write checkpoints).
pub fn train_on_images(
    images: &[TrainingImage],
    config: &TrainConfig,
    progress: &mut dyn FnMut(&TrainProgress, &UNet),
) -> Result<(UNet, TrainReport), VisionError> {
    config.model.validate()?;
    let multiple = config.model.size_multiple();
    if config.crop_size == 0 || !config.crop_size.is_multiple_of(multiple) {
        return Err(VisionError::InvalidConfig {
            field: "crop_size",
            value: config.crop_size as f64,
            reason: "expected a positive multiple of 2^(depth - 1)",
        });
    }
    if config.batch_size == 0 || images.is_empty() {
        return Err(VisionError::InvalidConfig {
            field: "batch_size",
            value: config.batch_size as f64,
            reason: "expected at least one crop per step and at least one training image",
        });
    }
    if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
        return Err(VisionError::InvalidConfig {
            field: "learning_rate",
            value: config.learning_rate,
            reason: "expected a positive learning rate",
        });
    }
    let err = model_error("training step");
    let net = match &config.initial_weights {
        None => UNet::new(config.model, config.seed)?,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| VisionError::Data {
                reason: format!("reading the initial weights {}: {e}", path.display()),
            })?;
            let net = UNet::from_safetensors(&bytes)?;
            if net.config() != config.model {
                return Err(VisionError::Data {
                    reason: format!(
                        "the initial weights {} are a {:?} network, but the run asks for {:?}",
                        path.display(),
                        net.config(),
                        config.model
                    ),
                });
            }
            net
        }
    };
    let adam = ParamsAdamW {
        lr: config.learning_rate,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    };
    let mut optimiser = AdamW::new(net.vars(), adam.clone()).map_err(&err)?;
    let mut rng = data_rng(config.seed);
    let steps_per_epoch = images.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let size = config.crop_size;
    let start = Instant::now();
    let mut epoch_losses = Vec::new();
    let mut step = 0;
    'epochs: for epoch in 0..config.epochs {
        let mut sum = 0.0;
        for _ in 0..steps_per_epoch {
            if let Some(limit) = config.time_limit_s {
                if start.elapsed().as_secs_f64() > limit {
                    break 'epochs;
                }
            }
            // Constant, then linear decay to 10 % over the second half.
            // With a time limit, whichever budget (steps or seconds) is further spent counts.
            let step_fraction = step as f64 / total_steps.max(1) as f64;
            let progress_fraction = match config.time_limit_s {
                Some(limit) if limit > 0.0 => {
                    step_fraction.max(start.elapsed().as_secs_f64() / limit)
                }
                _ => step_fraction,
            }
            .min(1.0);
            let decay = if progress_fraction < 0.5 {
                1.0
            } else {
                1.0 - 1.8 * (progress_fraction - 0.5)
            };
            optimiser.set_learning_rate(config.learning_rate * decay);
            let batch = random_batch(
                images,
                config.batch_size,
                size,
                config.invert_probability as f32,
                &mut rng,
            );
            let b = batch.batch;
            let input =
                Tensor::from_vec(batch.input, (b, 1, size, size), &Device::Cpu).map_err(&err)?;
            let targets =
                Tensor::from_vec(batch.targets, (b, 3, size, size), &Device::Cpu).map_err(&err)?;
            let logits = net.forward(&input)?;
            let value = loss(&logits, &targets).map_err(&err)?;
            optimiser.backward_step(&value).map_err(&err)?;
            let loss_value = value.to_scalar::<f32>().map_err(&err)? as f64;
            if !loss_value.is_finite() {
                return Err(VisionError::Model {
                    reason: format!("the loss diverged at step {step} (learning rate too high?)"),
                });
            }
            sum += loss_value;
            progress(
                &TrainProgress {
                    epoch,
                    step,
                    total_steps,
                    loss: loss_value,
                    elapsed_s: start.elapsed().as_secs_f64(),
                },
                &net,
            );
            step += 1;
        }
        epoch_losses.push(sum / steps_per_epoch as f64);
    }
    let report = TrainReport {
        config: config.clone(),
        framework: "candle-core 0.11 (CPU, f32)".into(),
        train_ids: images.iter().map(|i| i.id.clone()).collect(),
        parameter_count: net.parameter_count(),
        steps: step,
        epochs_completed: epoch_losses.len(),
        epoch_losses,
        train_seconds: start.elapsed().as_secs_f64(),
        heldout: None,
        heldout_ids: Vec::new(),
    };
    Ok((net, report))
}

/// Scores a segmenter on annotated images (instance F1 at IoU ≥ 0.5 etc., see [`crate::eval`]).
pub fn evaluate(
    segmenter: &LearnedSegmenter,
    images: &[super::data::AnnotatedImage],
) -> Result<EvalSummary, VisionError> {
    let mut scores = Vec::with_capacity(images.len());
    for annotated in images {
        let labels = segmenter.segment(&annotated.image)?;
        scores.push(score_image(
            &annotated.id,
            &labels,
            &annotated.labels,
            annotated.image.width,
            annotated.image.height,
            0.5,
        )?);
    }
    Ok(summarize(&scores))
}

/// Where [`train`] reads and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainPaths {
    /// EMPS-layout dataset directory (`images/`, `segmaps/`).
    pub data_dir: PathBuf,
    /// Output directory: `unet.safetensors` and `unet.json` (the record).
    pub out_dir: PathBuf,
    /// Use at most this many training images (sorted ids), e.g. for a quick run.
    pub max_images: Option<usize>,
    /// Evaluate on the held-out split after training.
    pub evaluate_heldout: bool,
    /// Write `checkpoint.safetensors` at most this often (seconds of training); removed when
    /// the run finishes.
    pub checkpoint_every_s: Option<f64>,
}

/// Trains on the non-held-out EMPS images, writes the weights (`unet.safetensors`) and the
/// record (`unet.json`) into the output directory, and optionally scores the held-out split.
pub fn train(
    paths: &TrainPaths,
    config: &TrainConfig,
    progress: &mut dyn FnMut(&TrainProgress),
) -> Result<TrainReport, VisionError> {
    let annotated = load_emps(&paths.data_dir, Split::Train, paths.max_images)?;
    let images: Vec<TrainingImage> = annotated
        .iter()
        .map(|a| TrainingImage::prepare(a, config.model.downsample))
        .collect();
    drop(annotated);
    let write_error = |path: &Path, e: std::io::Error| VisionError::Data {
        reason: format!("writing {}: {e}", path.display()),
    };
    std::fs::create_dir_all(&paths.out_dir).map_err(|e| write_error(&paths.out_dir, e))?;
    let weights_path = paths.out_dir.join("unet.safetensors");
    let checkpoint_path = paths.out_dir.join("checkpoint.safetensors");
    let mut last_checkpoint_s = 0.0;
    let mut checkpoint_failure = None;
    let (net, mut report) = train_on_images(&images, config, &mut |p, net| {
        progress(p);
        // A long CPU run must survive an interruption: the latest weights are rewritten
        // (atomically, via a temporary file) at most every `checkpoint_every_s` seconds.
        if let Some(every) = paths.checkpoint_every_s {
            if p.elapsed_s - last_checkpoint_s >= every && checkpoint_failure.is_none() {
                last_checkpoint_s = p.elapsed_s;
                let temporary = checkpoint_path.with_extension("tmp");
                let written = net.to_safetensors().and_then(|bytes| {
                    std::fs::write(&temporary, bytes)
                        .and_then(|_| std::fs::rename(&temporary, &checkpoint_path))
                        .map_err(|e| write_error(&checkpoint_path, e))
                });
                if let Err(e) = written {
                    checkpoint_failure = Some(e);
                }
            }
        }
    })?;
    if let Some(e) = checkpoint_failure {
        return Err(e);
    }
    std::fs::write(&weights_path, net.to_safetensors()?)
        .map_err(|e| write_error(&weights_path, e))?;
    let _ = std::fs::remove_file(&checkpoint_path);
    if paths.evaluate_heldout {
        let heldout = load_emps(&paths.data_dir, Split::HeldOut, None)?;
        let segmenter = LearnedSegmenter::new(net)?;
        report.heldout = Some(evaluate(&segmenter, &heldout)?);
        report.heldout_ids = heldout.iter().map(|a| a.id.clone()).collect();
    }
    let record_path = paths.out_dir.join("unet.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| VisionError::Data {
        reason: format!("serialising the record: {e}"),
    })?;
    std::fs::write(&record_path, json).map_err(|e| write_error(&record_path, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::targets::targets_from_instances;
    use super::*;

    /// Dark-on-bright or bright-on-dark discs with labels, at 64×64.
    fn disc_image(k: usize) -> TrainingImage {
        let (w, h) = (64, 64);
        let centres = [
            (20.0 + (k % 3) as f32 * 4.0, 22.0),
            (44.0, 40.0 - (k % 2) as f32 * 6.0),
        ];
        let mut labels = vec![0u32; w * h];
        for y in 0..h {
            for x in 0..w {
                for (n, (cx, cy)) in centres.iter().enumerate() {
                    if (x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2) < 100.0 {
                        labels[y * w + x] = n as u32 + 1;
                    }
                }
            }
        }
        let input = labels
            .iter()
            .map(|&l| if l != 0 { 0.5 } else { -0.5 })
            .collect();
        TrainingImage {
            id: format!("discs-{k}"),
            input,
            targets: targets_from_instances(&labels, w, h),
        }
    }

    fn tiny_config(epochs: usize) -> TrainConfig {
        TrainConfig {
            model: UNetConfig {
                base_channels: 4,
                depth: 3,
                downsample: 1,
            },
            epochs,
            batch_size: 2,
            crop_size: 32,
            learning_rate: 1e-2,
            seed: 11,
            time_limit_s: None,
            invert_probability: 0.5,
            initial_weights: None,
        }
    }

    #[test]
    fn a_few_steps_reduce_the_loss_and_are_reproducible() {
        let images: Vec<TrainingImage> = (0..4).map(disc_image).collect();
        let config = tiny_config(30);
        let mut losses = Vec::new();
        let (net, report) =
            train_on_images(&images, &config, &mut |p, _| losses.push(p.loss)).unwrap();
        assert_eq!(report.steps, 60);
        assert_eq!(losses.len(), 60);
        let first: f64 = losses[..5].iter().sum::<f64>() / 5.0;
        let last: f64 = losses[50..].iter().sum::<f64>() / 10.0;
        assert!(last < 0.6 * first, "loss {first:.3} → {last:.3}");
        // Same seed, same run, bit for bit (same machine and thread count).
        let (again, report_again) = train_on_images(&images, &config, &mut |_, _| {}).unwrap();
        assert_eq!(report.epoch_losses, report_again.epoch_losses);
        assert_eq!(
            net.to_safetensors().unwrap(),
            again.to_safetensors().unwrap()
        );
    }

    #[test]
    fn stable_bce_matches_the_definition() {
        let logits = Tensor::new(&[[-3.0f32, 0.0, 2.0]], &Device::Cpu).unwrap();
        let targets = Tensor::new(&[[0.0f32, 1.0, 1.0]], &Device::Cpu).unwrap();
        let value = bce_with_logits(&logits, &targets)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let s = |x: f32| 1.0 / (1.0 + (-x).exp());
        let expected = (-(1.0 - s(-3.0)).ln() - s(0.0).ln() - s(2.0).ln()) / 3.0;
        assert!((value - expected).abs() < 1e-6, "{value} vs {expected}");
    }

    #[test]
    fn training_can_start_from_saved_weights_of_the_same_shape_only() {
        let images: Vec<TrainingImage> = (0..4).map(disc_image).collect();
        let (net, first) = train_on_images(&images, &tiny_config(20), &mut |_, _| {}).unwrap();
        let dir = std::env::temp_dir().join(format!("athanor-finetune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("start.safetensors");
        std::fs::write(&path, net.to_safetensors().unwrap()).unwrap();
        let mut config = tiny_config(5);
        config.initial_weights = Some(path.clone());
        let mut first_losses = Vec::new();
        train_on_images(&images, &config, &mut |p, _| first_losses.push(p.loss)).unwrap();
        // Continuing starts where the first run ended, far below a fresh network's loss.
        let fresh_start: f64 = {
            let mut losses = Vec::new();
            train_on_images(&images, &tiny_config(1), &mut |p, _| losses.push(p.loss)).unwrap();
            losses[0]
        };
        let last_epoch = *first.epoch_losses.last().unwrap();
        assert!(
            first_losses[0] < 0.75 * fresh_start && first_losses[0] < 1.5 * last_epoch,
            "continued run starts at {:.3}; fresh {fresh_start:.3}, previous end {last_epoch:.3}",
            first_losses[0]
        );
        config.model.base_channels = 6;
        let error = train_on_images(&images, &config, &mut |_, _| {})
            .unwrap_err()
            .to_string();
        assert!(error.contains("start.safetensors"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn invalid_settings_are_errors() {
        let images = vec![disc_image(0)];
        let mut config = tiny_config(1);
        config.crop_size = 30;
        assert!(train_on_images(&images, &config, &mut |_, _| {}).is_err());
        let config = tiny_config(1);
        assert!(train_on_images(&[], &config, &mut |_, _| {}).is_err());
    }
}
