//! Spectrum analysis: peak position, FWHM and smoothing for absorption and photoluminescence spectra.
