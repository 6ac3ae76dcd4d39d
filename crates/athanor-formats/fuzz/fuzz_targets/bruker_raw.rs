#![no_main]
//! Bruker RAW v3/v4 reader.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_bruker_raw(data);
});
