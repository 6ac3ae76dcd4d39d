//! Calibrated grayscale TIFF: writing 16-bit images that ImageJ/Fiji open with the right scale,
//! and reading 8/16-bit grayscale TIFFs with whatever calibration they carry.
//!
//! # Where the calibration comes from (reading)
//!
//! 1. An ImageJ description (`ImageDescription` starting `ImageJ=`) with a length `unit=`:
//!    pixel size = 1 / `XResolution` in that unit. If the description also holds an Athanor
//!    metadata line whose pixel size agrees with the tags (relative difference ≤ 1e-6), its
//!    full-precision value (and uncertainty) is used instead — the tags are rationals, and a
//!    file re-calibrated in ImageJ loses the Athanor line or disagrees with it, so the tags win.
//! 2. Otherwise, if [`TiffReadOptions::use_resolution_unit`] is set (the default), a
//!    `ResolutionUnit` of inch or centimetre with `XResolution`: pixel size = 1 / `XResolution`
//!    of that unit, reported in µm. An absent `ResolutionUnit` (whose TIFF default is inch) is
//!    *not* taken as a calibration.
//! 3. Otherwise `None`.
//!
//! Caution on rule 2: many instruments write a screen resolution (72 or 93 dpi) that has nothing
//! to do with the specimen (the JEOL, Digital Micrograph and Olympus fixtures do), which rule 2
//! turns into pixels of hundreds of micrometres. Readers for vendor TIFFs should take their
//! calibration from vendor metadata first, and callers that know their files lack a physical
//! resolution can switch rule 2 off with [`TiffReadOptions`].
//!
//! Only the first image (IFD) of a multi-page file is read.

use crate::metadata::{
    check_pixel_size, format_imagej_description, imagej_unit_name, AthanorImageMetadata,
    ImageJDescription,
};
use crate::{CalibratedImage, FormatError};
use ::tiff::decoder::{Decoder, DecodingResult};
use ::tiff::encoder::{colortype, Rational, TiffEncoder};
use ::tiff::tags::{ResolutionUnit, SampleFormat, Tag};
use ::tiff::ColorType;
use athanor_model::Quantity;
use std::io::Cursor;

/// Options for reading TIFF files.
#[derive(Debug, Clone, PartialEq)]
pub struct TiffReadOptions {
    /// Use `ResolutionUnit` inch/cm with `XResolution`/`YResolution` as a calibration when the
    /// file has no ImageJ calibration (rule 2 in the [module docs](self)). Default `true`.
    pub use_resolution_unit: bool,
}

impl Default for TiffReadOptions {
    fn default() -> Self {
        TiffReadOptions {
            use_resolution_unit: true,
        }
    }
}

/// Which rule supplied a TIFF's calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalibrationSource {
    /// The ImageJ description's `unit` with the resolution tags.
    ImageJ,
    /// The Athanor metadata line (agreeing with the ImageJ calibration), at full precision.
    Athanor,
    /// `ResolutionUnit` inch or centimetre with the resolution tags.
    ResolutionUnit,
    /// No calibration.
    None,
}

/// What a TIFF says about itself, for any pixel type (also those [`read_tiff`] rejects).
#[derive(Debug, Clone, PartialEq)]
pub struct TiffInfo {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// The pixel type, e.g. `16-bit unsigned grayscale`, `32-bit floating-point grayscale`.
    pub pixel_type: String,
    /// Physical width of a pixel, if calibrated.
    pub pixel_width: Option<Quantity>,
    /// Physical height of a pixel, if calibrated.
    pub pixel_height: Option<Quantity>,
    /// Where the calibration came from.
    pub calibration_source: CalibrationSource,
    /// The Athanor description, or else the file's `ImageDescription` text.
    pub description: Option<String>,
}

/// Encodes `image` as an uncompressed 16-bit grayscale TIFF with ImageJ-compatible calibration.
///
/// The `ImageDescription` is `ImageJ=1.11a\nunit=<unit>\nathanor=<json>\n` (`micron` for µm, as
/// ImageJ writes it), `XResolution` = `YResolution` = pixels per unit as the best rational
/// approximation with 32-bit terms, `ResolutionUnit` = none. The JSON line keeps the exact pixel
/// size, its uncertainty and the description; ImageJ ignores it.
pub fn write_tiff_u16(image: &CalibratedImage) -> Result<Vec<u8>, FormatError> {
    image.validate()?;
    let too_large = |what: &str, n: usize| {
        FormatError::InvalidImage(format!("{what} {n} exceeds the TIFF limit of {}", u32::MAX))
    };
    let width = u32::try_from(image.width).map_err(|_| too_large("width", image.width))?;
    let height = u32::try_from(image.height).map_err(|_| too_large("height", image.height))?;

    let resolution = match &image.pixel_size {
        Some(size) => {
            check_pixel_size(size)?;
            let pixels_per_unit = 1.0 / size.value;
            let rational = best_rational(pixels_per_unit).ok_or_else(|| {
                FormatError::InvalidCalibration(format!(
                    "pixel size {size} gives {pixels_per_unit:e} pixels per {}, which a TIFF \
                     rational cannot hold; express it in another unit",
                    size.unit
                ))
            })?;
            Some((imagej_unit_name(&size.unit), rational))
        }
        None => None,
    };
    let metadata = AthanorImageMetadata {
        format_version: AthanorImageMetadata::FORMAT_VERSION,
        pixel_size: image.pixel_size.clone(),
        description: image.description.clone(),
    };
    let description =
        format_imagej_description(resolution.as_ref().map(|(u, _)| u.as_str()), &metadata)?;

    let mut buffer = Cursor::new(Vec::new());
    {
        let mut encoder = TiffEncoder::new(&mut buffer)?;
        let mut tiff_image = encoder.new_image::<colortype::Gray16>(width, height)?;
        let directory = tiff_image.encoder();
        directory.write_tag(Tag::ImageDescription, description.as_str())?;
        directory.write_tag(
            Tag::Software,
            concat!("athanor-formats ", env!("CARGO_PKG_VERSION")),
        )?;
        // Uncalibrated images keep the encoder's defaults (1/1 pixels per unit, unit none),
        // which ImageJ and we read as "no calibration".
        if let Some((_, (n, d))) = resolution {
            directory.write_tag(Tag::XResolution, Rational { n, d })?;
            directory.write_tag(Tag::YResolution, Rational { n, d })?;
            directory.write_tag(Tag::ResolutionUnit, ResolutionUnit::None)?;
        }
        tiff_image.write_data(&image.pixels)?;
    }
    Ok(buffer.into_inner())
}

/// Decodes an 8-bit or 16-bit unsigned grayscale TIFF (8-bit values are widened, not rescaled)
/// with default [`TiffReadOptions`]. Other pixel types fail with an error naming the type found;
/// use [`read_tiff_info`] to read their calibration.
pub fn read_tiff(bytes: &[u8]) -> Result<CalibratedImage, FormatError> {
    read_tiff_with_options(bytes, &TiffReadOptions::default())
}

/// [`read_tiff`] with explicit options.
pub fn read_tiff_with_options(
    bytes: &[u8],
    options: &TiffReadOptions,
) -> Result<CalibratedImage, FormatError> {
    let mut decoder = Decoder::new(Cursor::new(bytes))?;
    let header = read_header(&mut decoder, options)?;
    if !header.supported {
        return Err(FormatError::UnsupportedPixelType {
            found: header.info.pixel_type,
        });
    }
    let info = header.info;
    let pixel_size = match (info.pixel_width, info.pixel_height) {
        (Some(w), Some(h)) => {
            if relative_difference(w.value, h.value) > 1e-6 {
                return Err(FormatError::NonSquarePixels {
                    width: w.to_string(),
                    height: h.to_string(),
                });
            }
            Some(w)
        }
        (w, _) => w,
    };
    let pixels: Vec<u16> = match decoder.read_image()? {
        DecodingResult::U8(values) => values.into_iter().map(u16::from).collect(),
        DecodingResult::U16(values) => values,
        other => {
            // Guarded by `supported` above; kept as an error in case the decoder disagrees.
            return Err(FormatError::UnsupportedPixelType {
                found: format!("{} (decoded as {})", info.pixel_type, result_kind(&other)),
            });
        }
    };
    let expected = info.width.saturating_mul(info.height);
    if pixels.len() < expected {
        return Err(FormatError::InvalidImage(format!(
            "{} × {} image decoded to only {} pixels",
            info.width,
            info.height,
            pixels.len()
        )));
    }
    let mut pixels = pixels;
    pixels.truncate(expected);
    Ok(CalibratedImage {
        width: info.width,
        height: info.height,
        pixels,
        pixel_size,
        description: info.description,
    })
}

/// Reads dimensions, pixel type, calibration and description without decoding pixels; works
/// for every pixel type the decoder can parse the header of.
pub fn read_tiff_info(bytes: &[u8], options: &TiffReadOptions) -> Result<TiffInfo, FormatError> {
    let mut decoder = Decoder::new(Cursor::new(bytes))?;
    Ok(read_header(&mut decoder, options)?.info)
}

struct Header {
    info: TiffInfo,
    /// Whether [`read_tiff`] can decode the pixels.
    supported: bool,
}

fn read_header(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    options: &TiffReadOptions,
) -> Result<Header, FormatError> {
    let (width, height) = decoder.dimensions()?;
    let color = decoder.colortype()?;
    let sample_format = decoder
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)?
        .and_then(|v| v.first().copied())
        .map(SampleFormat::from_u16_exhaustive)
        .unwrap_or(SampleFormat::Uint);
    let supported = matches!(color, ColorType::Gray(8) | ColorType::Gray(16))
        && sample_format == SampleFormat::Uint;
    let pixel_type = describe_pixel_type(color, sample_format);

    let description_text = read_text_tag(decoder, Tag::ImageDescription)?;
    let resolution_unit = decoder.find_tag_unsigned::<u16>(Tag::ResolutionUnit)?;
    let x_resolution = read_rational(decoder, Tag::XResolution)?;
    let y_resolution = read_rational(decoder, Tag::YResolution)?;

    let imagej = description_text
        .as_deref()
        .and_then(ImageJDescription::parse);
    let athanor = imagej.as_ref().and_then(|d| d.athanor_metadata());

    let mut source = CalibrationSource::None;
    let mut pixel_width = None;
    let mut pixel_height = None;
    if let Some(unit) = imagej.as_ref().and_then(|d| d.length_unit()) {
        let size = |res: Option<f64>| {
            res.filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Quantity::new(unit.factor / r, &unit.symbol))
        };
        pixel_width = size(x_resolution);
        pixel_height = size(y_resolution).or_else(|| pixel_width.clone());
        if pixel_width.is_some() {
            source = CalibrationSource::ImageJ;
        }
    }
    if source == CalibrationSource::ImageJ {
        // The exact value from our own metadata, if it agrees with what ImageJ sees.
        if let (Some(exact), Some(w), Some(h)) = (
            athanor.as_ref().and_then(|m| m.pixel_size.clone()),
            &pixel_width,
            &pixel_height,
        ) {
            let agrees = |tag: &Quantity| {
                athanor_model::units::Unit::parse(&tag.unit)
                    .ok()
                    .and_then(|u| exact.to_unit(&u).ok())
                    .is_some_and(|e| relative_difference(e.value, tag.value) <= 1e-6)
            };
            if agrees(w) && agrees(h) {
                pixel_width = Some(exact.clone());
                pixel_height = Some(exact);
                source = CalibrationSource::Athanor;
            }
        }
    } else if imagej.is_none() || imagej.as_ref().is_some_and(|d| d.get("unit").is_none()) {
        // An ImageJ description that names a unit we do not recognise is not overridden by the
        // resolution unit: ImageJ itself would use its own unit.
        let micrometres_per_unit = match resolution_unit {
            Some(2) => Some(25_400.0),
            Some(3) => Some(10_000.0),
            _ => None,
        };
        if let (true, Some(per_unit), Some(x)) = (
            options.use_resolution_unit,
            micrometres_per_unit,
            x_resolution.filter(|r| r.is_finite() && *r > 0.0),
        ) {
            let y = y_resolution
                .filter(|r| r.is_finite() && *r > 0.0)
                .unwrap_or(x);
            pixel_width = Some(Quantity::new(per_unit / x, "µm"));
            pixel_height = Some(Quantity::new(per_unit / y, "µm"));
            source = CalibrationSource::ResolutionUnit;
        }
    }

    let description = match &athanor {
        Some(metadata) => metadata.description.clone(),
        None => description_text.filter(|t| !t.trim().is_empty()),
    };
    Ok(Header {
        info: TiffInfo {
            width: width as usize,
            height: height as usize,
            pixel_type,
            pixel_width,
            pixel_height,
            calibration_source: source,
            description,
        },
        supported,
    })
}

/// An ASCII tag's text up to the first NUL, as UTF-8 or, failing that, Latin-1 (vendors such as
/// Zeiss write Latin-1 into ASCII tags).
pub(crate) fn read_text_tag(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    tag: Tag,
) -> Result<Option<String>, FormatError> {
    let mut ifd = decoder.image_ifd();
    let Some(entry) = ifd.find_entry(tag) else {
        return Ok(None);
    };
    let length = usize::try_from(entry.count())
        .ok()
        .filter(|n| *n <= 64 << 20)
        .ok_or_else(|| FormatError::Tiff(format!("{tag:?} claims {} bytes", entry.count())))?;
    let mut bytes = vec![0u8; length];
    let read = ifd.find_tag_bytes(tag, &mut bytes, 0)?.unwrap_or(0);
    bytes.truncate(read.min(length));
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        bytes.truncate(nul);
    }
    Ok(Some(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    }))
}

/// A RATIONAL (or numeric) tag as `f64`, `None` if absent or with a zero denominator.
pub(crate) fn read_rational(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    tag: Tag,
) -> Result<Option<f64>, FormatError> {
    use ::tiff::decoder::ifd::Value;
    let value = match decoder.find_tag(tag)? {
        None => return Ok(None),
        Some(Value::List(mut list)) if !list.is_empty() => list.swap_remove(0),
        Some(value) => value,
    };
    Ok(match value {
        Value::Rational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
        Value::SRational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
        Value::Rational(..) | Value::SRational(..) => None,
        other => other.into_f64().ok(),
    })
}

fn describe_pixel_type(color: ColorType, format: SampleFormat) -> String {
    let kind = match format {
        SampleFormat::Uint => "unsigned",
        SampleFormat::Int => "signed integer",
        SampleFormat::IEEEFP => "floating-point",
        _ => "untyped",
    };
    let (bits, layout) = match color {
        ColorType::Gray(b) => (b, "grayscale".to_string()),
        ColorType::RGB(b) => (b, "RGB".to_string()),
        ColorType::RGBA(b) => (b, "RGBA".to_string()),
        ColorType::GrayA(b) => (b, "grayscale with alpha".to_string()),
        ColorType::Palette(b) => (b, "palette (indexed colour)".to_string()),
        ColorType::CMYK(b) => (b, "CMYK".to_string()),
        ColorType::CMYKA(b) => (b, "CMYK with alpha".to_string()),
        ColorType::YCbCr(b) => (b, "YCbCr".to_string()),
        ColorType::Lab(b) => (b, "CIE L*a*b*".to_string()),
        ColorType::Multiband {
            bit_depth,
            num_samples,
        } => (bit_depth, format!("{num_samples}-channel")),
        _ => (0, format!("{color:?}")),
    };
    format!("{bits}-bit {kind} {layout}")
}

fn result_kind(result: &DecodingResult) -> &'static str {
    match result {
        DecodingResult::U8(_) => "u8",
        DecodingResult::U16(_) => "u16",
        DecodingResult::U32(_) => "u32",
        DecodingResult::U64(_) => "u64",
        DecodingResult::F16(_) => "f16",
        DecodingResult::F32(_) => "f32",
        DecodingResult::F64(_) => "f64",
        DecodingResult::I8(_) => "i8",
        DecodingResult::I16(_) => "i16",
        DecodingResult::I32(_) => "i32",
        DecodingResult::I64(_) => "i64",
    }
}

fn relative_difference(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

/// The best rational approximation `n/d` of `value` with `n, d ≤ u32::MAX`, by continued
/// fractions (each convergent is the best approximation for its denominator size; Khinchin,
/// *Continued Fractions*, 1964, §6). `None` for values outside `[1/u32::MAX, u32::MAX]`.
pub(crate) fn best_rational(value: f64) -> Option<(u32, u32)> {
    let max = f64::from(u32::MAX);
    if !value.is_finite() || value <= 0.0 || value > max || value < 1.0 / max {
        return None;
    }
    // Convergents h/k; start with h₋₁/k₋₁ = 1/0 and h₋₂/k₋₂ = 0/1.
    let (mut h_prev, mut h) = (0u64, 1u64);
    let (mut k_prev, mut k) = (1u64, 0u64);
    let mut best: Option<(u64, u64)> = None;
    let mut rest = value;
    for _ in 0..64 {
        let a = rest.floor();
        if a > max {
            break;
        }
        let a_int = a as u64;
        let h_next = a_int.checked_mul(h).and_then(|x| x.checked_add(h_prev));
        let k_next = a_int.checked_mul(k).and_then(|x| x.checked_add(k_prev));
        let (Some(h_next), Some(k_next)) = (h_next, k_next) else {
            break;
        };
        if h_next > u64::from(u32::MAX) || k_next > u64::from(u32::MAX) {
            break;
        }
        (h_prev, h, k_prev, k) = (h, h_next, k, k_next);
        if h > 0 {
            best = Some((h, k));
        }
        let fraction = rest - a;
        if fraction < 1e-15 {
            break;
        }
        rest = 1.0 / fraction;
    }
    let (n, d) = best?;
    Some((u32::try_from(n).ok()?, u32::try_from(d).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_approximation_keeps_nine_digits() {
        // Log-spaced pixels-per-unit values over twelve decades, plus awkward ones.
        let mut values: Vec<f64> = (0..=240)
            .map(|i| 10f64.powf(-6.0 + 0.05 * i as f64))
            .collect();
        values.extend([
            5.0,
            1.0 / 0.16867471098853332,
            std::f64::consts::PI,
            1.0 / 3.0,
        ]);
        for value in values {
            let (n, d) = best_rational(value).unwrap();
            let back = f64::from(n) / f64::from(d);
            assert!(
                relative_difference(back, value) <= 1e-9,
                "{value} ≈ {n}/{d} = {back}"
            );
        }
        assert_eq!(best_rational(5.0), Some((5, 1)));
        assert_eq!(best_rational(0.25), Some((1, 4)));
        assert!(best_rational(1e12).is_none());
        assert!(best_rational(0.0).is_none());
    }

    #[test]
    fn pixel_types_are_named() {
        assert_eq!(
            describe_pixel_type(ColorType::Gray(32), SampleFormat::IEEEFP),
            "32-bit floating-point grayscale"
        );
        assert_eq!(
            describe_pixel_type(ColorType::RGB(8), SampleFormat::Uint),
            "8-bit unsigned RGB"
        );
    }
}
