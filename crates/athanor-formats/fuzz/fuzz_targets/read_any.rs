#![no_main]
//! Content detection and every reader behind it, plus the XyData -> Dataset conversion.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_any(data, None);
    let _ = athanor_formats::read_metadata_only(data, None);
});
