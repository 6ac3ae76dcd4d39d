#![no_main]
//! PANalytical XRDML reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_xrdml(data);
});
