//! A minimal Gatan DigitalMicrograph DM3/DM4 writer for tests and benchmarks: one image in
//! `ImageList`, with `DataType`, `Dimensions`, calibration (`Scale`, `Origin`, `Units`) and
//! the pixel `Data` array — the tags `athanor_formats::dm` needs, in the published tag-file
//! layout (big-endian structure, little-endian data; DM4 widens lengths to 8 bytes).

/// Writes a DM file of `version` 3 or 4 holding one `width × height` image. `dm_type` is the
/// DM `DataType` (2 = f32, 10 = u16, …), `element` the tag element code of the stored array
/// (6 = f32, 4 = u16, 2 = i16 …), `payload` the little-endian pixel bytes.
#[allow(dead_code)]
pub fn dm_file(
    version: u32,
    width: usize,
    height: usize,
    dm_type: u32,
    element: u64,
    payload: &[u8],
    scale_nm: f32,
) -> Vec<u8> {
    let dm4 = version == 4;
    let mut out = Vec::with_capacity(payload.len() + 1024);
    let length = |out: &mut Vec<u8>, value: u64| {
        if dm4 {
            out.extend(value.to_be_bytes());
        } else {
            out.extend((value as u32).to_be_bytes());
        }
    };
    let name = |out: &mut Vec<u8>, kind: u8, n: &str| {
        out.push(kind);
        out.extend((n.len() as u16).to_be_bytes());
        out.extend(n.as_bytes());
        if dm4 {
            // Tag byte size: the reader does not need it.
            out.extend(0u64.to_be_bytes());
        }
    };
    let group = |out: &mut Vec<u8>, tags: u64| {
        out.extend([0, 0]);
        length(out, tags);
    };
    let scalar = |out: &mut Vec<u8>, n: &str, code: u64, bytes: &[u8]| {
        name(out, 21, n);
        out.extend(b"%%%%");
        length(out, 1);
        length(out, code);
        out.extend(bytes);
    };
    let array = |out: &mut Vec<u8>, n: &str, code: u64, count: u64, bytes: &[u8]| {
        name(out, 21, n);
        out.extend(b"%%%%");
        length(out, 3);
        length(out, 20);
        length(out, code);
        length(out, count);
        out.extend(bytes);
    };
    out.extend(version.to_be_bytes());
    length(&mut out, 0);
    out.extend(1u32.to_be_bytes()); // little-endian data
    group(&mut out, 1);
    name(&mut out, 20, "ImageList");
    group(&mut out, 1);
    name(&mut out, 20, "");
    group(&mut out, 1);
    name(&mut out, 20, "ImageData");
    group(&mut out, 4);
    scalar(&mut out, "DataType", 5, &dm_type.to_le_bytes());
    name(&mut out, 20, "Dimensions");
    group(&mut out, 2);
    scalar(&mut out, "", 5, &(width as u32).to_le_bytes());
    scalar(&mut out, "", 5, &(height as u32).to_le_bytes());
    name(&mut out, 20, "Calibrations");
    group(&mut out, 1);
    name(&mut out, 20, "Dimension");
    group(&mut out, 2);
    for _ in 0..2 {
        name(&mut out, 20, "");
        group(&mut out, 3);
        scalar(&mut out, "Scale", 6, &scale_nm.to_le_bytes());
        scalar(&mut out, "Origin", 6, &0f32.to_le_bytes());
        let units: Vec<u8> = "nm".encode_utf16().flat_map(u16::to_le_bytes).collect();
        array(&mut out, "Units", 4, 2, &units);
    }
    let element_size = match element {
        2 | 4 => 2,
        6 | 3 | 5 => 4,
        7 | 11 | 12 => 8,
        _ => 1,
    };
    array(
        &mut out,
        "Data",
        element,
        (payload.len() / element_size) as u64,
        payload,
    );
    out
}
