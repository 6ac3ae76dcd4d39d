//! Trains the learned segmentation backend on an EMPS-layout dataset (held-out ids excluded),
//! writes `unet.safetensors` and the record `unet.json` to `--out`, and scores the held-out
//! split with the learned model and, for comparison, the classical pipeline.
//!
//! ```text
//! cargo run --release -p athanor-vision --example train -- \
//!     --data /work/shared/datasets/emps-train --epochs 10 --out /tmp/unet [--seed 1]
//!     [--base 16] [--depth 4] [--downsample 2] [--crop 128] [--batch 8] [--lr 0.002]
//!     [--minutes 15] [--max-images N] [--no-eval]
//! ```
//!
//! With `--weights FILE` it trains nothing and only scores those weights on the held-out split
//! (optionally with `--min-dynamic X` and `--fg-threshold X` for the post-processing, and
//! `--max-images N` for the first N held-out images).

use std::path::PathBuf;

use athanor_vision::eval::{score_image, summarize};
use athanor_vision::learned::{
    evaluate, load_emps, train, LearnedSegmenter, Split, TrainConfig, TrainPaths,
};
use athanor_vision::{analyze, AnalysisConfig, VisionError};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut config = TrainConfig::default();
    let mut data: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut max_images = None;
    let mut evaluate_heldout = true;
    let mut weights: Option<PathBuf> = None;
    let mut min_dynamic: Option<f64> = None;
    let mut fg_threshold: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--no-eval" {
            evaluate_heldout = false;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--data" => data = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            "--epochs" => config.epochs = number(&value)? as usize,
            "--seed" => config.seed = number(&value)? as u64,
            "--base" => config.model.base_channels = number(&value)? as usize,
            "--depth" => config.model.depth = number(&value)? as usize,
            "--downsample" => config.model.downsample = number(&value)? as usize,
            "--crop" => config.crop_size = number(&value)? as usize,
            "--batch" => config.batch_size = number(&value)? as usize,
            "--lr" => config.learning_rate = number(&value)?,
            "--minutes" => config.time_limit_s = Some(60.0 * number(&value)?),
            "--max-images" => max_images = Some(number(&value)? as usize),
            "--weights" => weights = Some(PathBuf::from(value)),
            "--min-dynamic" => min_dynamic = Some(number(&value)?),
            "--fg-threshold" => fg_threshold = Some(number(&value)?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    let data = data.ok_or("--data DIR is required")?;
    if let Some(weights) = weights {
        let mut segmenter = LearnedSegmenter::load(&weights).map_err(|e| e.to_string())?;
        if let Some(h) = min_dynamic {
            segmenter.config.min_dynamic = h;
        }
        if let Some(t) = fg_threshold {
            segmenter.config.foreground_threshold = t as f32;
        }
        let heldout = load_emps(&data, Split::HeldOut, max_images).map_err(|e| e.to_string())?;
        let summary = evaluate(&segmenter, &heldout).map_err(|e| e.to_string())?;
        println!(
            "held-out ({} images): mean F1 {:.3}, median F1 {:.3}, pooled F1 {:.3}, mean matched IoU {:.3}, median |count error| {}",
            summary.images,
            summary.mean_f1,
            summary.median_f1,
            summary.pooled_f1,
            summary.mean_matched_iou,
            summary
                .median_abs_count_error
                .map_or("-".into(), |e| format!("{:.0} %", 100.0 * e))
        );
        return Ok(());
    }
    let out = out.ok_or("--out DIR is required")?;
    let paths = TrainPaths {
        data_dir: data.clone(),
        out_dir: out.clone(),
        max_images,
        evaluate_heldout,
        checkpoint_every_s: Some(300.0),
    };
    let mut window = Vec::new();
    let report = train(&paths, &config, &mut |p| {
        window.push(p.loss);
        if window.len() == 10 || p.step + 1 == p.total_steps {
            let mean = window.iter().sum::<f64>() / window.len() as f64;
            eprintln!(
                "epoch {:>3}  step {:>5}/{}  loss {:.4}  {:.0} s",
                p.epoch,
                p.step + 1,
                p.total_steps,
                mean,
                p.elapsed_s
            );
            window.clear();
        }
    })
    .map_err(|e| e.to_string())?;
    eprintln!(
        "trained {} parameters, {} steps in {:.0} s; epoch losses {:?}",
        report.parameter_count,
        report.steps,
        report.train_seconds,
        report
            .epoch_losses
            .iter()
            .map(|l| (l * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    eprintln!("weights and record in {}", out.display());
    if let Some(learned) = &report.heldout {
        let heldout = load_emps(&data, Split::HeldOut, None).map_err(|e| e.to_string())?;
        let mut scores = Vec::new();
        for a in &heldout {
            let config = AnalysisConfig {
                exclude_edge_particles: false,
                ..AnalysisConfig::default()
            };
            let predicted = match analyze(&a.image, &config) {
                Ok(r) => r.labels,
                Err(VisionError::NoParticles { .. }) => vec![0; a.labels.len()],
                Err(e) => return Err(e.to_string()),
            };
            scores.push(
                score_image(
                    &a.id,
                    &predicted,
                    &a.labels,
                    a.image.width,
                    a.image.height,
                    0.5,
                )
                .map_err(|e| e.to_string())?,
            );
        }
        let classical = summarize(&scores);
        println!(
            "held-out ({} images)      learned   classical",
            learned.images
        );
        println!(
            "mean F1                    {:.3}     {:.3}",
            learned.mean_f1, classical.mean_f1
        );
        println!(
            "median F1                  {:.3}     {:.3}",
            learned.median_f1, classical.median_f1
        );
        println!(
            "pooled F1                  {:.3}     {:.3}",
            learned.pooled_f1, classical.pooled_f1
        );
        println!(
            "mean matched IoU           {:.3}     {:.3}",
            learned.mean_matched_iou, classical.mean_matched_iou
        );
    }
    Ok(())
}
