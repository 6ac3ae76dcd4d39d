//! Instrument drivers. Every instrument — the built-in digital twin today; SiLA 2, HTTP and
//! manual stations later — takes a recipe and returns what happened (the process steps as run)
//! plus raw data files, exactly as a real instrument would hand them over.

use crate::campaign::ImagingSettings;
use crate::LabError;
use athanor_model::{Origin, ProcessStep, PropertyValue, Quantity, Recipe};
use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
use athanor_twin::{measure_quantum_yield, measure_spectra, simulate, SynthesisInputs};

/// A raw file produced by an instrument.
#[derive(Debug, Clone)]
pub struct RawFile {
    /// Measurement technique (`TEM`, `UV-Vis/PL`, …).
    pub technique: String,
    /// The instrument that produced it.
    pub instrument: String,
    /// Media type of the bytes.
    pub media_type: String,
    /// A file name a person would recognise.
    pub file_name: String,
    /// The file's content.
    pub bytes: Vec<u8>,
    /// Acquisition conditions.
    pub conditions: serde_json::Value,
}

/// Everything an instrument returns for one executed recipe.
#[derive(Debug, Clone)]
pub struct RawRun {
    /// The process as it actually ran, in order, with logged actuals.
    pub steps: Vec<ProcessStep>,
    /// Raw data files, to be stored before anything is derived from them.
    pub files: Vec<RawFile>,
    /// Values the instrument reports directly (no file), e.g. an integrating-sphere QY.
    pub readings: Vec<PropertyValue>,
}

/// Something that can execute recipes.
pub trait Instrument {
    /// A short description (`twin:hot-injection`).
    fn name(&self) -> String;
    /// The ordered process steps the recipe will run (the spec), before it runs.
    fn plan_steps(&self, recipe: &Recipe) -> Result<Vec<ProcessStep>, LabError>;
    /// Runs the recipe. `seed` makes simulated instruments reproducible; real ones ignore it.
    fn execute(&mut self, recipe: &Recipe, seed: u64) -> Result<RawRun, LabError>;
}

/// The built-in digital twin: hot-injection synthesis, a UV-Vis/PL spectrometer, an
/// integrating sphere and a TEM, all simulated.
#[derive(Debug, Clone)]
pub struct TwinInstrument {
    imaging: ImagingSettings,
}

impl TwinInstrument {
    /// A twin that images with the given settings.
    pub fn new(imaging: ImagingSettings) -> TwinInstrument {
        TwinInstrument { imaging }
    }
}

const TWIN_NAME: &str = "twin:hot-injection";

impl Instrument for TwinInstrument {
    fn name(&self) -> String {
        TWIN_NAME.into()
    }

    fn plan_steps(&self, recipe: &Recipe) -> Result<Vec<ProcessStep>, LabError> {
        let inputs = SynthesisInputs::from_recipe(recipe)?;
        // The spec is the run without actuals: the same ordered steps with their setpoints.
        let outcome = simulate(&inputs, 0);
        Ok(outcome
            .steps
            .into_iter()
            .map(|mut s| {
                s.actuals.clear();
                s
            })
            .collect())
    }

    fn execute(&mut self, recipe: &Recipe, seed: u64) -> Result<RawRun, LabError> {
        let inputs = SynthesisInputs::from_recipe(recipe)?;
        let outcome = simulate(&inputs, seed);
        let spectrum = measure_spectra(&outcome, seed ^ 0x5bd1_e995);
        let (qy, qy_std) = measure_quantum_yield(&outcome, seed ^ 0x27d4_eb2f);

        let table = athanor_formats::SpectrumTable {
            x_name: "wavelength".into(),
            x_unit: "nm".into(),
            columns: vec![
                ("absorbance".into(), "1".into()),
                ("photoluminescence".into(), "counts".into()),
            ],
            x: spectrum.wavelength_nm.clone(),
            values: vec![
                spectrum.absorbance.clone(),
                spectrum.photoluminescence.clone(),
            ],
        };
        let spectrum_csv = athanor_formats::write_spectrum_csv(&table);

        let spec = MicrographSpec {
            width: self.imaging.width,
            height: self.imaging.height,
            pixel_size_nm: self.imaging.pixel_size_nm,
            ..MicrographSpec::default()
        };
        let micrograph =
            render_micrograph(&outcome.particle_diameters_nm, &spec, seed ^ 0x1656_67b1)?;
        let image = athanor_formats::CalibratedImage {
            width: micrograph.width,
            height: micrograph.height,
            pixels: micrograph.pixels,
            pixel_size: Some(Quantity::new(micrograph.pixel_size_nm, "nm")),
            description: Some("Athanor digital twin: synthetic bright-field TEM".into()),
        };
        let tiff = athanor_formats::write_tiff_u16(&image)?;

        Ok(RawRun {
            steps: outcome.steps,
            files: vec![
                RawFile {
                    technique: "TEM".into(),
                    instrument: "twin:tem".into(),
                    media_type: "image/tiff".into(),
                    file_name: "tem.tif".into(),
                    bytes: tiff,
                    conditions: serde_json::json!({
                        "pixel_size_nm": spec.pixel_size_nm,
                        "width": spec.width,
                        "height": spec.height,
                        "mode": "bright field",
                        "dose_electrons_per_pixel": spec.dose_electrons_per_pixel,
                    }),
                },
                RawFile {
                    technique: "UV-Vis/PL".into(),
                    instrument: "twin:spectrometer".into(),
                    media_type: "text/csv".into(),
                    file_name: "spectrum.csv".into(),
                    bytes: spectrum_csv,
                    conditions: serde_json::json!({"excitation_nm": 400, "temperature_c": 25}),
                },
            ],
            readings: vec![PropertyValue {
                name: "quantum_yield".into(),
                quantity: Quantity::with_std(qy * 100.0, qy_std * 100.0, "%"),
                origin: Origin::Measured,
                method: "integrating sphere (twin:qy)".into(),
            }],
        })
    }
}
