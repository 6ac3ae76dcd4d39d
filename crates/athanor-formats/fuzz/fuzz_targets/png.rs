#![no_main]
//! PNG reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::png::read_png(data);
});
