#![no_main]
//! Vendor EM TIFF reader (FEI, Zeiss, JEOL, DM, ImageJ, Olympus, plain).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::em_tiff::read_em_tiff(data, &athanor_formats::ReadOptions::default());
});
