#![no_main]
//! Calibrated 8/16-bit TIFF reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_tiff(data);
    let _ = athanor_formats::read_tiff_info(data, &athanor_formats::TiffReadOptions::default());
});
