//! Small `.emd` (HDF5) files for tests, written with the pure-Rust `hdf5-pure` writer in the
//! two layouts `athanor_formats::emd` reads: Thermo Fisher Velox (`/Data/Image/<uuid>/Data`
//! + per-frame JSON `Metadata`) and Berkeley NCEM EMD 0.2 (`/data/<name>/data` + `dimN`).

use hdf5_pure::{AttrValue, FileBuilder};

/// The UUID-like group name of the Velox fixture's image.
#[allow(dead_code)]
pub const VELOX_IMAGE: &str = "8f2c3b9e0a1d4e5f9a7b6c5d4e3f2a10";

/// Velox-style frame metadata (numbers as strings, lengths in metres, like Velox writes).
#[allow(dead_code)]
pub fn velox_json(pixel_width_m: &str, pixel_height_m: &str) -> String {
    format!(
        r#"{{"Acquisition":{{"AcquisitionStartDatetime":{{"DateTime":"1495532400"}}}},
"BinaryResult":{{"Detector":"HAADF","PixelSize":{{"width":"{pixel_width_m}","height":"{pixel_height_m}"}},
"PixelUnitX":"m","PixelUnitY":"m"}},
"Instrument":{{"InstrumentModel":"Talos F200X","Manufacturer":"FEI Company"}},
"Optics":{{"AccelerationVoltage":"200000","NominalMagnification":"910000","CameraLength":"0.098"}},
"Scan":{{"DwellTime":"2e-06"}},"Detectors":{{"Detector-0":{{"DetectorName":"HAADF"}}}}}}"#
    )
}

/// The `[n, frames]` uint8 metadata array: one null-padded JSON text per column.
fn metadata_columns(texts: &[String]) -> (Vec<u8>, [u64; 2]) {
    let rows = texts.iter().map(String::len).max().unwrap_or(0) + 8;
    let frames = texts.len();
    let mut bytes = vec![0u8; rows * frames];
    for (column, text) in texts.iter().enumerate() {
        for (row, byte) in text.bytes().enumerate() {
            bytes[row * frames + column] = byte;
        }
    }
    (bytes, [rows as u64, frames as u64])
}

/// A Velox file with one u16 image stored `[height, width, frames]`; pixel `(y, x)` of frame
/// `f` holds `1000 f + 10 y + x`. Optional extra groups: a spectrum and a spectrum stream.
#[allow(dead_code)]
pub fn velox_u16(height: usize, width: usize, frames: usize, with_spectra: bool) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(height * width * frames);
    for y in 0..height {
        for x in 0..width {
            for f in 0..frames {
                pixels.push((1000 * f + 10 * y + x) as u16);
            }
        }
    }
    let texts: Vec<String> = (0..frames)
        .map(|_| velox_json("2.5e-10", "2.5e-10"))
        .collect();
    let (metadata, metadata_shape) = metadata_columns(&texts);
    let mut builder = FileBuilder::new();
    let mut data = builder.create_group("Data");
    let mut image_group = data.create_group("Image");
    let mut image = image_group.create_group(VELOX_IMAGE);
    image
        .create_dataset("Data")
        .with_u16_data(&pixels)
        .with_shape(&[height as u64, width as u64, frames as u64]);
    image
        .create_dataset("Metadata")
        .with_u8_data(&metadata)
        .with_shape(&metadata_shape);
    image_group.add_group(image.finish());
    data.add_group(image_group.finish());
    if with_spectra {
        let mut streams = data.create_group("SpectrumStream");
        let mut stream = streams.create_group("0c1d2e3f");
        stream
            .create_dataset("Data")
            .with_u16_data(&[65535, 3, 7, 65535]);
        streams.add_group(stream.finish());
        data.add_group(streams.finish());
    }
    builder.add_group(data.finish());
    builder.finish().expect("Velox fixture")
}

/// A single-frame Velox image of `f32` stored `[height, width]` with the given metadata text.
#[allow(dead_code)]
pub fn velox_f32_2d(height: usize, width: usize, json: &str) -> Vec<u8> {
    let pixels: Vec<f32> = (0..height * width).map(|i| i as f32 * 0.25).collect();
    let (metadata, metadata_shape) = metadata_columns(&[json.to_string()]);
    let mut builder = FileBuilder::new();
    let mut data = builder.create_group("Data");
    let mut image_group = data.create_group("Image");
    let mut image = image_group.create_group("a1");
    image
        .create_dataset("Data")
        .with_f32_data(&pixels)
        .with_shape(&[height as u64, width as u64]);
    image
        .create_dataset("Metadata")
        .with_u8_data(&metadata)
        .with_shape(&metadata_shape);
    image_group.add_group(image.finish());
    data.add_group(image_group.finish());
    builder.add_group(data.finish());
    builder.finish().expect("Velox f32 fixture")
}

/// An NCEM EMD 0.2 file: `/data/dataset_1/data` i32 `[frames, height, width]` (value
/// `100 f + 10 y + x`), `dim1` = frame index (pixel units), `dim2`/`dim3` = y/x in `[n_m]`
/// starting at `offset_nm` with step `step_nm`.
#[allow(dead_code)]
pub fn ncem_i32(
    frames: usize,
    height: usize,
    width: usize,
    step_nm: f64,
    offset_nm: f64,
) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(frames * height * width);
    for f in 0..frames {
        for y in 0..height {
            for x in 0..width {
                pixels.push((100 * f + 10 * y + x) as i32);
            }
        }
    }
    let axis = |n: usize| -> Vec<f64> { (0..n).map(|i| offset_nm + step_nm * i as f64).collect() };
    let mut builder = FileBuilder::new();
    builder.set_attr("version_major", AttrValue::I32(0));
    builder.set_attr("version_minor", AttrValue::I32(2));
    let mut data = builder.create_group("data");
    let mut group = data.create_group("dataset_1");
    group.set_attr("emd_group_type", AttrValue::I32(1));
    group
        .create_dataset("data")
        .with_i32_data(&pixels)
        .with_shape(&[frames as u64, height as u64, width as u64]);
    group
        .create_dataset("dim1")
        .with_f64_data(&(0..frames).map(|i| i as f64).collect::<Vec<_>>())
        .set_attr("name", AttrValue::AsciiString("frame".into()))
        .set_attr("units", AttrValue::AsciiString("[pix]".into()));
    group
        .create_dataset("dim2")
        .with_f64_data(&axis(height))
        .set_attr("name", AttrValue::AsciiString("y".into()))
        .set_attr("units", AttrValue::AsciiString("[n_m]".into()));
    group
        .create_dataset("dim3")
        .with_f64_data(&axis(width))
        .set_attr("name", AttrValue::AsciiString("x".into()))
        .set_attr("units", AttrValue::AsciiString("[n_m]".into()));
    data.add_group(group.finish());
    builder.add_group(data.finish());
    let mut microscope = builder.create_group("microscope");
    microscope.set_attr("high tension", AttrValue::F64(300e3));
    builder.add_group(microscope.finish());
    builder.finish().expect("NCEM fixture")
}
