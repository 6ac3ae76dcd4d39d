#![no_main]
//! Hitachi / JEOL / Tescan sidecar text parser, and read_any's handling of a lone sidecar.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::parse_sem_sidecar(data);
    let _ = athanor_formats::read_any(data, Some("sidecar.txt"));
});
