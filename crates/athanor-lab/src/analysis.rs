//! Turning raw files into derived results: the TEM image through the vision pipeline, the
//! spectrum through peak analysis. Each analysis reads the stored bytes (not an in-memory copy)
//! so that what is analysed is exactly what is kept.

use crate::LabError;
use athanor_model::units::Unit;
use athanor_model::{Origin, PropertyValue, Quantity};
use athanor_vision::{analyze, AnalysisConfig, GrayImage, Polarity};

/// Results plus a record of how they were made.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The derived property values.
    pub results: Vec<PropertyValue>,
    /// Analysis kind (`particle-size-distribution`, `spectrum-peaks`).
    pub kind: String,
    /// Software that made them, with version.
    pub software: String,
    /// Parameters of the analysis.
    pub parameters: serde_json::Value,
    /// Full outputs (statistics, histogram, per-particle diameters).
    pub outputs: serde_json::Value,
}

fn computed(name: &str, value: f64, std: Option<f64>, unit: &str, method: &str) -> PropertyValue {
    PropertyValue {
        name: name.into(),
        quantity: Quantity {
            value,
            unit: unit.into(),
            std,
        },
        origin: Origin::Computed,
        method: method.into(),
    }
}

/// Particle size distribution from a calibrated TEM image (TIFF bytes).
pub fn analyze_micrograph(tiff: &[u8]) -> Result<Derived, LabError> {
    let image = athanor_formats::read_tiff(tiff)?;
    let pixel = image.pixel_size.as_ref().ok_or_else(|| {
        LabError::Analysis(
            "the TEM image has no pixel-size calibration; sizes would be meaningless".into(),
        )
    })?;
    let nm = Unit::parse("nm").map_err(|e| LabError::Analysis(e.to_string()))?;
    let pixel_size_nm = pixel
        .to_unit(&nm)
        .map_err(|e| LabError::Analysis(format!("TEM pixel size: {e}")))?
        .value;
    let gray = GrayImage::from_u16(image.width, image.height, &image.pixels)
        .map_err(|e| LabError::Analysis(e.to_string()))?;
    let config = AnalysisConfig {
        pixel_size_nm,
        polarity: Polarity::Dark,
        ..AnalysisConfig::default()
    };
    let analysis = analyze(&gray, &config).map_err(|e| LabError::Analysis(e.to_string()))?;
    let stats = analysis
        .stats
        .as_ref()
        .ok_or_else(|| LabError::Analysis("no particles were found in the TEM image".into()))?;
    let counted: Vec<f64> = analysis
        .particles
        .iter()
        .filter(|p| !(p.touches_edge && config.exclude_edge_particles))
        .map(|p| p.ecd_nm)
        .collect();
    let n = stats.count.max(1) as f64;
    let method = "TEM/vision";
    let results = vec![
        computed("d10", stats.d10_nm, None, "nm", method),
        computed(
            "d50",
            stats.d50_nm,
            Some(1.2533 * stats.std_nm / n.sqrt()),
            "nm",
            method,
        ),
        computed("d90", stats.d90_nm, None, "nm", method),
        computed(
            "mean_diameter",
            stats.mean_nm,
            Some(stats.std_nm / n.sqrt()),
            "nm",
            method,
        ),
        // Standard error of a CV for roughly normal data: CV / sqrt(2n).
        computed(
            "size_cv",
            stats.cv * 100.0,
            Some(stats.cv * 100.0 / (2.0 * n).sqrt()),
            "%",
            method,
        ),
        computed("particle_count", stats.count as f64, None, "1", method),
    ];
    Ok(Derived {
        results,
        kind: "particle-size-distribution".into(),
        software: format!("athanor-vision {}", env!("CARGO_PKG_VERSION")),
        parameters: serde_json::json!({
            "pixel_size_nm": pixel_size_nm,
            "polarity": "dark",
            "exclude_edge_particles": config.exclude_edge_particles,
            "threshold": analysis.threshold,
        }),
        outputs: serde_json::json!({
            "count": stats.count,
            "mean_nm": stats.mean_nm,
            "std_nm": stats.std_nm,
            "cv": stats.cv,
            "d10_nm": stats.d10_nm,
            "d50_nm": stats.d50_nm,
            "d90_nm": stats.d90_nm,
            "histogram": histogram(&counted, 0.25),
            "diameters_nm": counted,
            "notes": analysis.notes,
        }),
    })
}

fn histogram(values: &[f64], bin_width: f64) -> serde_json::Value {
    if values.is_empty() {
        return serde_json::json!({"bin_width_nm": bin_width, "start_nm": 0.0, "counts": []});
    }
    let lo = (values.iter().cloned().fold(f64::INFINITY, f64::min) / bin_width).floor() * bin_width;
    let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let bins = (((hi - lo) / bin_width).floor() as usize + 1).min(10_000);
    let mut counts = vec![0u32; bins];
    for v in values {
        let i = (((v - lo) / bin_width).floor() as usize).min(bins - 1);
        counts[i] += 1;
    }
    serde_json::json!({"bin_width_nm": bin_width, "start_nm": lo, "counts": counts})
}

/// PL peak, PL FWHM and first exciton absorption from a spectrum CSV.
pub fn analyze_spectrum(csv: &[u8]) -> Result<Derived, LabError> {
    let table = athanor_formats::read_spectrum_csv(csv)?;
    let column = |name: &str| {
        table
            .columns
            .iter()
            .position(|(n, _)| n == name)
            .map(|i| &table.values[i])
            .ok_or_else(|| LabError::Analysis(format!("the spectrum has no `{name}` column")))
    };
    let pl = column("photoluminescence")?;
    let absorbance = column("absorbance")?;
    // A least-squares parabola through the top 20 % of the peak: ~0.1 nm scatter at realistic
    // PL signal-to-noise, where a three-point fit scatters by ~0.5 nm.
    let pl_options = athanor_spectra::PeakOptions {
        refinement: athanor_spectra::PeakRefinement::TopFit { fraction: 0.8 },
        ..Default::default()
    };
    let peak = athanor_spectra::analyze_peak(&table.x, pl, &pl_options)
        .map_err(|e| LabError::Analysis(format!("PL: {e}")))?;
    // The first exciton is informative but no objective depends on it: a spectrum without one
    // (e.g. clusters absorbing below the measured range) still yields its PL results.
    let exciton = athanor_spectra::first_exciton_peak(&table.x, absorbance);
    let step = if table.x.len() > 1 {
        (table.x[1] - table.x[0]).abs()
    } else {
        1.0
    };
    let method = "PL/spectrum";
    // The peak position's uncertainty: a fraction of the sampling step, widened at low SNR.
    let position_std = (0.1 * step).max(peak.fwhm / peak.signal_to_noise.max(1.0));
    Ok(Derived {
        results: {
            let mut r = vec![
                computed("pl_peak", peak.position, Some(position_std), "nm", method),
                computed("pl_fwhm", peak.fwhm, None, "nm", method),
            ];
            if let Ok(e) = &exciton {
                r.push(computed("abs_peak", *e, None, "nm", "UV-Vis/spectrum"));
            }
            r
        },
        kind: "spectrum-peaks".into(),
        software: format!("athanor-spectra {}", env!("CARGO_PKG_VERSION")),
        parameters: serde_json::json!({"smoothing": "Savitzky-Golay, window 11", "baseline": "linear between the edges", "refinement": "parabola through points above 80 % of the peak height"}),
        outputs: serde_json::json!({
            "pl_peak_nm": peak.position,
            "pl_fwhm_nm": peak.fwhm,
            "pl_height": peak.height,
            "pl_area": peak.area,
            "pl_signal_to_noise": peak.signal_to_noise,
            "abs_first_exciton_nm": exciton.as_ref().ok(),
            "abs_first_exciton_error": exciton.as_ref().err().map(|e| e.to_string()),
        }),
    })
}
