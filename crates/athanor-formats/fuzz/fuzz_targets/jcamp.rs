#![no_main]
//! JCAMP-DX reader (AFFN, SQZ/DIF/DUP, peak tables).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_jcamp(data);
});
