#![no_main]
//! Spectrum CSV reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_spectrum_csv_with_metadata(data);
});
