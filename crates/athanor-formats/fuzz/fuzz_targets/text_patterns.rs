#![no_main]
//! Two-column XY and Rigaku RAS readers.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_xy(data);
    let _ = athanor_formats::read_ras(data);
});
