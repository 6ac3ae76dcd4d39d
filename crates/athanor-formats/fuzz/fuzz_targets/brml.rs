#![no_main]
//! Bruker BRML (ZIP of XML) reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_brml(data);
});
