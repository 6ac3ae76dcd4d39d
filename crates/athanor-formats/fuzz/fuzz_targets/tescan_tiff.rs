#![no_main]
//! Tescan TIFFs: the input becomes tag 50431 of a fixed 4 × 4 grey TIFF, so the fuzzer spends
//! its time on the Tescan block rather than on the TIFF structure (the `em_tiff` target does that).
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use tiff::encoder::{colortype, TiffEncoder};
use tiff::tags::Tag;

fuzz_target!(|data: &[u8]| {
    let mut buffer = Cursor::new(Vec::new());
    {
        let Ok(mut encoder) = TiffEncoder::new(&mut buffer) else { return };
        let Ok(mut image) = encoder.new_image::<colortype::Gray8>(4, 4) else { return };
        if image.encoder().write_tag(Tag::Unknown(50431), data).is_err() {
            return;
        }
        if image.write_data(&[0u8; 16]).is_err() {
            return;
        }
    }
    let _ = athanor_formats::read_any(buffer.get_ref(), Some("tescan.tif"));
});
