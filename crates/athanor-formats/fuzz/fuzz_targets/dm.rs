#![no_main]
//! DM3/DM4: full read and metadata-only read.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::dm::read_dm(data);
    let _ = athanor_formats::dm::read_dm_info(data);
});
