#![no_main]
//! Velox / NCEM EMD (HDF5) reader: the HDF5 structure, both layouts, the metadata-only path.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = athanor_formats::read_emd(data);
    let _ = athanor_formats::read_emd_info(data);
});
