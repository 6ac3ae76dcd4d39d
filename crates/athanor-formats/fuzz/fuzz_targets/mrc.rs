#![no_main]
//! MRC2014 reader (header, extended header, every mode) and its metadata-only path.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_mrc(data);
    let _ = athanor_formats::read_mrc_info(data);
});
