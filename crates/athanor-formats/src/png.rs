//! PNG images: reading (8/16-bit grayscale, RGB, RGBA, palettes expanded) into a [`Dataset`],
//! and writing 8-bit grayscale or RGB previews and overlays.
//!
//! PNG carries no physical calibration: its `pHYs` chunk is a display density (dots per metre),
//! which for micrographs is a screen setting, not a pixel size. It is reported in the notes and
//! the axes stay uncalibrated — a pixel size must come from elsewhere (a scale bar, a sidecar).

use crate::dataset::{Axis, DataArray, Dataset, NormalisedMetadata};
use crate::FormatError;

/// The PNG signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn corrupt(message: impl std::fmt::Display) -> FormatError {
    FormatError::Corrupt {
        format: "PNG".into(),
        message: message.to_string(),
    }
}

/// Reads a PNG file. Grayscale+alpha keeps only the gray channel (the alpha of a micrograph is
/// a mask of the export, not data); palettes are expanded to RGB(A).
pub fn read_png(bytes: &[u8]) -> Result<Dataset, FormatError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    // Refuse decompression bombs: never allocate far beyond what the file could hold.
    // The decoder's limit covers only its own buffers, so the output buffer is checked too.
    let max_bytes = (bytes.len().saturating_mul(1024)).clamp(1 << 20, 1 << 31);
    decoder.set_limits(png::Limits { bytes: max_bytes });
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("image too large"))?;
    if size > max_bytes {
        let info = reader.info();
        return Err(corrupt(format!(
            "header declares {}x{} pixels ({size} bytes decoded) but the file is only {} bytes: \
             refusing a decompression bomb or a corrupt header",
            info.width,
            info.height,
            bytes.len()
        )));
    }
    let mut buffer = vec![0u8; size];
    let frame = reader.next_frame(&mut buffer).map_err(corrupt)?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let n = width * height;
    let bytes_per_sample = match frame.bit_depth {
        png::BitDepth::Sixteen => 2,
        _ => 1,
    };
    let samples = frame.color_type.samples();
    let line = frame.line_size;
    let sample = |x: usize, y: usize, c: usize| -> u16 {
        let at = y * line + (x * samples + c) * bytes_per_sample;
        if bytes_per_sample == 2 {
            u16::from_be_bytes([buffer[at], buffer[at + 1]])
        } else {
            buffer[at] as u16
        }
    };
    let pixels = || (0..height).flat_map(move |y| (0..width).map(move |x| (x, y)));
    let data = match (frame.color_type, bytes_per_sample) {
        (png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha, 1) => {
            DataArray::U8(pixels().map(|(x, y)| sample(x, y, 0) as u8).collect())
        }
        (png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha, _) => {
            DataArray::U16(pixels().map(|(x, y)| sample(x, y, 0)).collect())
        }
        (png::ColorType::Rgb, 1) => DataArray::Rgb8(
            pixels()
                .map(|(x, y)| [0, 1, 2].map(|c| sample(x, y, c) as u8))
                .collect(),
        ),
        (png::ColorType::Rgba, 1) => DataArray::Rgba8(
            pixels()
                .map(|(x, y)| [0, 1, 2, 3].map(|c| sample(x, y, c) as u8))
                .collect(),
        ),
        (other, depth) => {
            return Err(FormatError::Unsupported {
                format: "PNG".into(),
                message: format!("{other:?} at {} bits per sample", depth * 8),
            })
        }
    };
    debug_assert_eq!(data.len(), n);
    let mut notes = Vec::new();
    if let Some(dims) = reader.info().pixel_dims {
        notes.push(format!(
            "pHYs display density {}×{} per {:?} ignored: PNG carries no physical pixel size",
            dims.xppu, dims.yppu, dims.unit
        ));
    }
    Ok(Dataset {
        data,
        shape: vec![height, width],
        axes: vec![
            Axis::uncalibrated("y", height),
            Axis::uncalibrated("x", width),
        ],
        metadata: NormalisedMetadata::default(),
        original_metadata: serde_json::json!({
            "color_type": format!("{:?}", frame.color_type),
            "bit_depth": bytes_per_sample * 8,
        }),
        format: "PNG".into(),
        notes,
    })
}

/// Pixel layout of an image to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngLayout {
    /// One byte per pixel.
    Gray8,
    /// Three bytes per pixel, R G B.
    Rgb8,
    /// Two bytes per pixel (big-endian order is handled here: pass native `u16` as pairs of
    /// bytes in little-endian order, as `u16::to_le_bytes` gives).
    Gray16,
}

/// Encodes pixels (row-major) as a PNG file.
pub fn write_png(
    width: usize,
    height: usize,
    layout: PngLayout,
    pixels: &[u8],
) -> Result<Vec<u8>, FormatError> {
    let (color, depth, bytes_per_pixel) = match layout {
        PngLayout::Gray8 => (png::ColorType::Grayscale, png::BitDepth::Eight, 1),
        PngLayout::Rgb8 => (png::ColorType::Rgb, png::BitDepth::Eight, 3),
        PngLayout::Gray16 => (png::ColorType::Grayscale, png::BitDepth::Sixteen, 2),
    };
    if width == 0 || height == 0 || pixels.len() != width * height * bytes_per_pixel {
        return Err(FormatError::InvalidImage(format!(
            "{width}×{height} {layout:?} needs {} bytes, got {}",
            width * height * bytes_per_pixel,
            pixels.len()
        )));
    }
    let (w, h) = (
        u32::try_from(width).map_err(|_| FormatError::InvalidImage("width too large".into()))?,
        u32::try_from(height).map_err(|_| FormatError::InvalidImage("height too large".into()))?,
    );
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().map_err(corrupt)?;
        if layout == PngLayout::Gray16 {
            // PNG stores 16-bit samples big-endian.
            let be: Vec<u8> = pixels.chunks_exact(2).flat_map(|c| [c[1], c[0]]).collect();
            writer.write_image_data(&be).map_err(corrupt)?;
        } else {
            writer.write_image_data(pixels).map_err(corrupt)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_gray8_rgb8_and_gray16() {
        let g: Vec<u8> = (0..12).map(|i| i * 20).collect();
        let d = read_png(&write_png(4, 3, PngLayout::Gray8, &g).unwrap()).unwrap();
        assert_eq!(d.shape, vec![3, 4]);
        assert_eq!(d.data, DataArray::U8(g));
        assert!(d.axes.iter().all(|a| a.units.is_none()));

        let rgb: Vec<u8> = (0..18).collect();
        let d = read_png(&write_png(3, 2, PngLayout::Rgb8, &rgb).unwrap()).unwrap();
        assert_eq!(
            d.data,
            DataArray::Rgb8(rgb.chunks(3).map(|c| [c[0], c[1], c[2]]).collect())
        );

        let values: Vec<u16> = vec![0, 1, 300, 65535, 4242, 7];
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let d = read_png(&write_png(3, 2, PngLayout::Gray16, &le).unwrap()).unwrap();
        assert_eq!(d.data, DataArray::U16(values));
    }

    #[test]
    fn corrupt_and_mismatched_input_are_errors() {
        let good = write_png(4, 4, PngLayout::Gray8, &[7u8; 16]).unwrap();
        for cut in [0, 8, 20, good.len() / 2, good.len() - 5] {
            assert!(read_png(&good[..cut]).is_err(), "truncated at {cut}");
        }
        assert!(write_png(4, 4, PngLayout::Rgb8, &[0u8; 16]).is_err());
        assert!(write_png(0, 4, PngLayout::Gray8, &[]).is_err());
    }
}
