//! Campaign convergence plots (SVG): each objective's measured value against the experiment
//! number, with the target band or threshold drawn in, so a person sees at a glance how the
//! search closed in on the target.

use anyhow::Context;
use athanor_lab::campaign::Campaign;
use athanor_plan::ObjectiveGoal;
use athanor_store::{CampaignRecord, ExperimentRecord};
use plotters::prelude::*;
use std::path::Path;

const PANEL_HEIGHT: u32 = 260;
const WIDTH: u32 = 960;

/// Writes the convergence plot of one campaign to `path` (SVG).
pub fn write_convergence_svg(
    path: &Path,
    record: &CampaignRecord,
    campaign: &Campaign,
    experiments: &[ExperimentRecord],
) -> anyhow::Result<()> {
    let panels = campaign.objectives.len().max(1);
    let height = PANEL_HEIGHT * panels as u32 + 40;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.titled(
        &format!(
            "{} \"{}\" — seed {}",
            record.lab_id, record.name, record.seed
        ),
        ("sans-serif", 20),
    )?;
    let areas = body.split_evenly((panels, 1));
    let n_max = experiments.iter().map(|e| e.seq).max().unwrap_or(1).max(1);
    for (objective, area) in campaign.objectives.iter().zip(areas) {
        let name = &objective.objective.name;
        let points: Vec<(u32, f64, bool)> = experiments
            .iter()
            .filter_map(|e| {
                let r = e.results.iter().find(|r| &r.name == name)?;
                let v = r.quantity.value;
                v.is_finite().then_some((e.seq, v, objective.satisfied(v)))
            })
            .collect();
        let mut lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let mut hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        let band = match objective.objective.goal {
            ObjectiveGoal::Target { target, tolerance } => {
                Some((target - tolerance, target + tolerance))
            }
            ObjectiveGoal::Below { threshold } | ObjectiveGoal::Above { threshold } => {
                Some((threshold, threshold))
            }
            _ => None,
        };
        if let Some((a, b)) = band {
            lo = lo.min(a);
            hi = hi.max(b);
        }
        if !lo.is_finite() || !hi.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(1e-6);
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5f64..(n_max as f64 + 0.5), (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_desc("experiment")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(format!("{name} [{}]", objective.unit))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        match (objective.objective.goal.clone(), band) {
            (ObjectiveGoal::Target { .. }, Some((a, b))) => {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(0.5, a), (n_max as f64 + 0.5, b)],
                    RGBColor(120, 200, 120).mix(0.3).filled(),
                )))?;
            }
            (_, Some((t, _))) => {
                chart.draw_series(LineSeries::new(
                    [(0.5, t), (n_max as f64 + 0.5, t)],
                    RGBColor(60, 150, 60).stroke_width(2),
                ))?;
            }
            _ => {}
        }
        chart.draw_series(LineSeries::new(
            points.iter().map(|p| (p.0 as f64, p.1)),
            RGBColor(150, 150, 200).stroke_width(1),
        ))?;
        chart.draw_series(points.iter().map(|p| {
            let color = if p.2 {
                RGBColor(30, 140, 30)
            } else {
                RGBColor(200, 60, 40)
            };
            Circle::new((p.0 as f64, p.1), 4, color.filled())
        }))?;
    }
    root.present()
        .with_context(|| format!("writing the plot {}", path.display()))?;
    Ok(())
}
