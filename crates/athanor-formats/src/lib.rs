//! Instrument file formats: reading and writing calibrated images (TIFF) and spectra.
