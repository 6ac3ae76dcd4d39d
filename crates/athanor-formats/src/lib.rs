//! # athanor-formats — instrument files in, arrays with calibrated metadata out
//!
//! Athanor analyses what instruments write: micrographs, spectra, diffraction patterns. This
//! crate turns those files into plain in-memory data with physical units attached
//! ([`athanor_model::Quantity`]), and writes Athanor's own results back in formats that common
//! tools (ImageJ/Fiji, spreadsheets) open correctly. It is pure — bytes in, data out, no
//! network access — except [`files`], which reads a path and finds SEM metadata sidecars next to
//! the image.
//!
//! | module | what |
//! |---|---|
//! | [`image`] | [`CalibratedImage`]: pixels plus physical pixel size |
//! | [`tiff`] | calibrated 16-bit TIFF writer; 8/16-bit grayscale TIFF reader |
//! | [`spectrum`] | [`SpectrumTable`] and its delimited-text (CSV) reader and writer |
//! | [`metadata`] | conventions shared by formats: ImageJ descriptions, unit spellings, Athanor JSON |
//! | [`dataset`] | [`Dataset`]: n-dimensional data in the file's own type, calibrated axes, normalised and original metadata; [`read_any`] |
//! | [`dm`] | Gatan DigitalMicrograph DM3/DM4 reader (full tag tree) |
//! | [`em_tiff`] | vendor TIFFs: FEI/Thermo, Zeiss SEM, JEOL SightX, DigitalMicrograph, ImageJ, Olympus SIS |
//! | [`xrd`] | X-ray diffraction patterns: `.xy` text (read/write), PANalytical `.xrdml`, Bruker `.raw` v3/v4 and `.brml`, Rigaku `.ras`; [`XyData`] |
//! | [`jcamp`] | JCAMP-DX spectra (AFFN and SQZ/DIF/DUP compression, peak tables; AFFN writer) |
//! | [`emd`] | Electron Microscopy Datasets (HDF5): Thermo Fisher Velox and Berkeley NCEM layouts (cargo feature `emd`, default on) |
//! | [`mrc`] | MRC2014 maps and image stacks (modes 0/1/2/4/6/12, FEI1/FEI2 extended header); small writer |
//! | [`sem_sidecar`] | Hitachi / JEOL SEM `.txt` and Tescan `.hdr` metadata sidecars |
//! | [`files`] | the only file-system access: [`files::read_path`] pairs an SEM image with its sidecar |
//!
//! For any supported file use [`read_any`], which recognises the format by content (diffraction
//! patterns and spectra become 1-D datasets with a 2θ / wavenumber / … axis):
//!
//! ```no_run
//! let bytes = std::fs::read("image.dm4")?;
//! let dataset = athanor_formats::read_any(&bytes, Some("image.dm4"))?;
//! for axis in &dataset.axes {
//!     println!("{} × {} {:?}", axis.size, axis.scale, axis.units);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Calibration is never guessed
//!
//! A pixel size is reported only when the file states one; an uncalibrated image has
//! `pixel_size: None`. The TIFF rules (ImageJ description first, then a physical
//! `ResolutionUnit`) are described in [`tiff`].
//!
//! ```
//! use athanor_formats::{read_tiff, write_tiff_u16, CalibratedImage};
//! use athanor_model::Quantity;
//!
//! let image = CalibratedImage {
//!     width: 3,
//!     height: 2,
//!     pixels: vec![0, 100, 200, 300, 400, 65535],
//!     pixel_size: Some(Quantity::new(0.2, "nm")),
//!     description: Some("HAADF-STEM, 200 kV".into()),
//! };
//! let bytes = write_tiff_u16(&image)?;
//! let back = read_tiff(&bytes)?;
//! assert_eq!(back, image);
//! # Ok::<(), athanor_formats::FormatError>(())
//! ```
//!
//! ```
//! use athanor_formats::read_spectrum_csv;
//! let table = read_spectrum_csv(b"# sample: A1\nwavelength (nm);PL (counts)\n600;10,5\n601;12\n")?;
//! assert_eq!((table.x_unit.as_str(), table.values[0][0]), ("nm", 10.5));
//! # Ok::<(), athanor_formats::FormatError>(())
//! ```

pub mod dataset;
pub mod dm;
pub mod em_tiff;
pub mod emd;
mod error;
pub mod files;
pub mod image;
pub mod jcamp;
pub mod metadata;
pub mod mrc;
pub mod png;
pub mod sem_sidecar;
pub mod spectrum;
pub mod tiff;
pub mod xrd;

pub use dataset::{
    read_any, read_any_with_options, read_metadata_only, Axis, DataArray, DataType, Dataset,
    DatasetInfo, NormalisedMetadata, ReadOptions, XrayScanMetadata,
};
pub use emd::{read_emd, read_emd_info};
pub use error::FormatError;
pub use files::{read_path, read_path_info, read_path_with_options};
pub use image::CalibratedImage;
pub use jcamp::{read_jcamp, write_jcamp};
pub use mrc::{read_mrc, read_mrc_info, write_mrc};
pub use sem_sidecar::{apply_sidecar, parse_sem_sidecar, SemSidecar, SidecarVendor};
pub use spectrum::{
    read_spectrum_csv, read_spectrum_csv_with_metadata, write_spectrum_csv,
    write_spectrum_csv_with_metadata, SpectrumTable,
};
pub use tiff::{
    read_tiff, read_tiff_info, read_tiff_with_options, write_tiff_u16, CalibrationSource, TiffInfo,
    TiffReadOptions,
};
pub use xrd::{read_brml, read_bruker_raw, read_ras, read_xrdml, read_xy, write_xy, XyData};
