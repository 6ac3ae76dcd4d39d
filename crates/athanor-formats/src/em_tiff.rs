//! Electron-microscopy TIFFs from several vendors, read into a [`Dataset`].
//!
//! The pixels are decoded by the `tiff` crate in their own type (8–64-bit integers, floats,
//! RGB/RGBA, palette indices). Consecutive pages of the same size and type are stacked into a
//! 3-D array (axis `image series`). The calibration comes from the vendor's own metadata, tried
//! in this order (the first vendor whose tag is present wins):
//!
//! | vendor | recognised by | pixel size |
//! |---|---|---|
//! | FEI / Thermo Fisher | tag 34682 (INI text) | `[Scan] PixelWidth`/`PixelHeight` in m; else `[<Beam>] HFW / [Image] ResolutionX` and `VFW / ResolutionY`, where `<Beam>` is `[Beam] Beam` |
//! | Tescan | tag 50431 (binary prefix, then `[MAIN]` INI text) | `[MAIN] PixelSizeX`/`PixelSizeY` in m ([`crate::sem_sidecar`]) |
//! | Zeiss SEM | tag 34118 (Latin-1 text) | the binary header's pixel size (4th line, m, for a 1024-pixel-wide frame) × 1024 / width, accepted only if it agrees within 1 % with `AP_IMAGE_PIXEL_SIZE` (or `AP_WIDTH` / width); otherwise the text value |
//! | JEOL SightX | `ImageDescription` holding a `<TemReporter>` XML | camera pixel pitch (TIFF `XResolution`, per inch) ÷ magnification (`SelectorValue`) in imaging mode; pitch ÷ (λ L) in 1/nm in diffraction mode, λ the relativistic wavelength at `AccVoltage`, L the camera length `SelectorValue` in mm |
//! | DigitalMicrograph | tags 65003/65004 (units), 65009/65010 (scales) | the DM scales; embedded DM tag tree (65027) in `original_metadata` |
//! | ImageJ | `ImageDescription` starting `ImageJ=` | 1 / `XResolution` in the description's `unit` |
//! | Olympus SIS | `Make` Olympus Soft Imaging Solutions / tag 33560 | none (not decoded) |
//!
//! Everything else is uncalibrated. `XResolution`/`ResolutionUnit` alone is **never** taken as a
//! pixel size here: EM software writes screen resolutions (72, 93, 96 dpi) there. It is mentioned
//! in `notes` instead.
//!
//! FEI/Thermo SEMs store a data bar below the scanned image: the TIFF has more rows than
//! `[Image] ResolutionY`. With [`ReadOptions::crop_data_bar`] (default) those rows are removed
//! and the crop is noted; otherwise they are kept (as rosettasciio does) and noted.

use crate::dataset::{
    checked_product, electron_wavelength_pm, Axis, DataArray, DataType, Dataset, DatasetInfo,
    NormalisedMetadata, ReadOptions,
};
use crate::metadata::ImageJDescription;
use crate::tiff::{read_rational, read_text_tag};
use crate::FormatError;
use ::tiff::decoder::{Decoder, DecodingResult};
use ::tiff::tags::{SampleFormat, Tag};
use ::tiff::ColorType;
use athanor_model::Quantity;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Cursor;

const FEI_TAG: u16 = 34682;
const ZEISS_TAG: u16 = 34118;
const OLYMPUS_SIS_TAG: u16 = 33560;
const TESCAN_TAG: u16 = 50431;
const DM_UNIT_X_TAG: u16 = 65003;
const DM_UNIT_Y_TAG: u16 = 65004;
const DM_ORIGIN_X_TAG: u16 = 65006;
const DM_ORIGIN_Y_TAG: u16 = 65007;
const DM_SCALE_X_TAG: u16 = 65009;
const DM_SCALE_Y_TAG: u16 = 65010;
const DM_TAG_TREE_TAG: u16 = 65027;

/// Compressed pixel data may expand; beyond this factor over the file size (and at least 1 MiB)
/// a claimed array size is treated as hostile (on top of the `tiff` crate's own 256 MiB limit
/// per page).
const MAX_EXPANSION: usize = 256;

type Tiff<'a> = Decoder<Cursor<&'a [u8]>>;

fn tiff_error(error: ::tiff::TiffError) -> FormatError {
    FormatError::from(error)
}

fn page_type(decoder: &mut Tiff<'_>) -> Result<(ColorType, DataType), FormatError> {
    // The `tiff` crate refuses palette images; Zeiss SEMs write their grey frames that way, so
    // 8-bit palette pages are recognised here and read by `read_palette_strips`.
    let photometric = decoder
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .map_err(tiff_error)?;
    let bits = decoder
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(tiff_error)?
        .unwrap_or_default();
    if photometric == Some(3) {
        return if bits == [8] {
            Ok((ColorType::Palette(8), DataType::U8))
        } else {
            Err(FormatError::UnsupportedPixelType {
                found: format!("palette image with {bits:?} bits per sample"),
            })
        };
    }
    let color = decoder.colortype().map_err(tiff_error)?;
    let format = decoder
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .map_err(tiff_error)?
        .and_then(|v| v.first().copied())
        .map(SampleFormat::from_u16_exhaustive)
        .unwrap_or(SampleFormat::Uint);
    let data_type = match (color, format) {
        (ColorType::Gray(8) | ColorType::Palette(8), SampleFormat::Uint) => DataType::U8,
        (ColorType::Gray(8), SampleFormat::Int) => DataType::I8,
        (ColorType::Gray(16), SampleFormat::Uint) => DataType::U16,
        (ColorType::Gray(16), SampleFormat::Int) => DataType::I16,
        (ColorType::Gray(32), SampleFormat::Uint) => DataType::U32,
        (ColorType::Gray(32), SampleFormat::Int) => DataType::I32,
        (ColorType::Gray(32), SampleFormat::IEEEFP) => DataType::F32,
        (ColorType::Gray(64), SampleFormat::Uint) => DataType::U64,
        (ColorType::Gray(64), SampleFormat::Int) => DataType::I64,
        (ColorType::Gray(64), SampleFormat::IEEEFP) => DataType::F64,
        (ColorType::RGB(8), SampleFormat::Uint) => DataType::Rgb8,
        (ColorType::RGBA(8), SampleFormat::Uint) => DataType::Rgba8,
        (other, format) => {
            return Err(FormatError::UnsupportedPixelType {
                found: format!("{other:?} with sample format {format:?}"),
            })
        }
    };
    Ok((color, data_type))
}

/// The raw 8-bit indices of an uncompressed, strip-organised palette page, every strip checked
/// against the file's bounds.
fn read_palette_strips(
    decoder: &mut Tiff<'_>,
    bytes: &[u8],
    pixels: usize,
) -> Result<DataArray, FormatError> {
    let compression = decoder
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(tiff_error)?
        .unwrap_or(1);
    if compression != 1 {
        return Err(FormatError::UnsupportedPixelType {
            found: format!("palette image with compression {compression}"),
        });
    }
    let offsets = decoder
        .find_tag_unsigned_vec::<u64>(Tag::StripOffsets)
        .map_err(tiff_error)?
        .unwrap_or_default();
    let counts = decoder
        .find_tag_unsigned_vec::<u64>(Tag::StripByteCounts)
        .map_err(tiff_error)?
        .unwrap_or_default();
    if offsets.is_empty() || offsets.len() != counts.len() {
        return Err(FormatError::Tiff(format!(
            "palette image with {} strip offsets and {} byte counts",
            offsets.len(),
            counts.len()
        )));
    }
    let mut values = Vec::with_capacity(pixels.min(bytes.len()));
    for (&offset, &count) in offsets.iter().zip(&counts) {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = usize::try_from(count)
            .ok()
            .and_then(|c| start.checked_add(c))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                FormatError::Tiff(format!(
                    "strip at byte {offset} of {count} bytes runs past the end of the                      {}-byte file",
                    bytes.len()
                ))
            })?;
        values.extend_from_slice(&bytes[start..end]);
        if values.len() >= pixels {
            break;
        }
    }
    if values.len() < pixels {
        return Err(FormatError::InvalidImage(format!(
            "palette strips hold {} of the {pixels} pixels",
            values.len()
        )));
    }
    values.truncate(pixels);
    Ok(DataArray::U8(values))
}

fn decode_page(
    decoder: &mut Tiff<'_>,
    bytes: &[u8],
    color: ColorType,
    data_type: DataType,
    pixels: usize,
) -> Result<DataArray, FormatError> {
    if color == ColorType::Palette(8) {
        return read_palette_strips(decoder, bytes, pixels);
    }
    let result = decoder.read_image().map_err(tiff_error)?;
    let short = |n: usize| {
        FormatError::InvalidImage(format!(
            "page decoded to {n} samples, fewer than its {pixels} pixels need"
        ))
    };
    macro_rules! plain {
        ($variant:ident, $values:expr) => {{
            let mut values = $values;
            if values.len() < pixels {
                return Err(short(values.len()));
            }
            values.truncate(pixels);
            DataArray::$variant(values)
        }};
    }
    Ok(match (data_type, result) {
        (DataType::U8, DecodingResult::U8(v)) => plain!(U8, v),
        (DataType::I8, DecodingResult::I8(v)) => plain!(I8, v),
        (DataType::U16, DecodingResult::U16(v)) => plain!(U16, v),
        (DataType::I16, DecodingResult::I16(v)) => plain!(I16, v),
        (DataType::U32, DecodingResult::U32(v)) => plain!(U32, v),
        (DataType::I32, DecodingResult::I32(v)) => plain!(I32, v),
        (DataType::U64, DecodingResult::U64(v)) => plain!(U64, v),
        (DataType::I64, DecodingResult::I64(v)) => plain!(I64, v),
        (DataType::F32, DecodingResult::F32(v)) => plain!(F32, v),
        (DataType::F64, DecodingResult::F64(v)) => plain!(F64, v),
        (DataType::Rgb8, DecodingResult::U8(v)) => plain!(
            Rgb8,
            v.chunks_exact(3)
                .map(|c| [c[0], c[1], c[2]])
                .collect::<Vec<_>>()
        ),
        (DataType::Rgba8, DecodingResult::U8(v)) => plain!(
            Rgba8,
            v.chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect::<Vec<_>>()
        ),
        (expected, _) => {
            return Err(FormatError::UnsupportedPixelType {
                found: format!(
                    "pixels that decode differently from the declared {}",
                    expected.numpy_name()
                ),
            })
        }
    })
}

fn unknown_tag(number: u16) -> Tag {
    Tag::from_u16_exhaustive(number)
}

fn f64_tag(decoder: &mut Tiff<'_>, number: u16) -> Option<f64> {
    use ::tiff::decoder::ifd::Value as TiffValue;
    match decoder.find_tag(unknown_tag(number)).ok()?? {
        TiffValue::List(mut list) if !list.is_empty() => list.swap_remove(0).into_f64().ok(),
        value => value.into_f64().ok(),
    }
    .filter(|v| v.is_finite())
}

/// Tags read from the first page, the ones the vendor rules need.
struct Tags {
    description: Option<String>,
    make: Option<String>,
    model: Option<String>,
    date_time: Option<String>,
    fei: Option<String>,
    zeiss: Option<String>,
    tescan: Option<String>,
    olympus_sis: bool,
    dm_units: [Option<String>; 2],
    dm_scales: [Option<f64>; 2],
    dm_origins: [Option<f64>; 2],
    dm_tree: Option<Vec<u8>>,
    x_resolution: Option<f64>,
    resolution_unit: Option<u16>,
    colormap_is_grey: Option<bool>,
}

fn read_tags(decoder: &mut Tiff<'_>, file_size: usize) -> Result<Tags, FormatError> {
    let text = |decoder: &mut Tiff<'_>, number: u16| -> Result<Option<String>, FormatError> {
        // A text longer than the file is a damaged entry: refuse it before allocating.
        match decoder.image_ifd().find_entry(unknown_tag(number)) {
            Some(entry) if entry.count() > file_size as u64 => Err(FormatError::Tiff(format!(
                "tag {number} claims {} bytes in a {file_size}-byte file",
                entry.count()
            ))),
            Some(_) => read_text_tag(decoder, unknown_tag(number)),
            None => Ok(None),
        }
    };
    let dm_tree = match decoder.image_ifd().find_entry(unknown_tag(DM_TAG_TREE_TAG)) {
        Some(entry) if (entry.count() as usize) <= file_size => decoder
            .find_tag_unsigned_vec::<u8>(unknown_tag(DM_TAG_TREE_TAG))
            .ok()
            .flatten(),
        _ => None,
    };
    // Tescan's tag holds a binary prefix before its INI text (type BYTE/UNDEFINED or ASCII):
    // take the bytes and start at the `[MAIN]` section.
    let tescan = match decoder.image_ifd().find_entry(unknown_tag(TESCAN_TAG)) {
        Some(entry) if (entry.count() as usize) <= file_size => {
            let raw = decoder
                .find_tag_unsigned_vec::<u8>(unknown_tag(TESCAN_TAG))
                .ok()
                .flatten();
            let text = match raw {
                Some(raw) => Some(String::from_utf8_lossy(&raw).into_owned()),
                None => read_text_tag(decoder, unknown_tag(TESCAN_TAG))
                    .ok()
                    .flatten(),
            };
            text.and_then(|t| t.find("[MAIN]").map(|at| t[at..].to_string()))
        }
        Some(entry) => {
            return Err(FormatError::Tiff(format!(
                "tag {TESCAN_TAG} claims {} bytes in a {file_size}-byte file",
                entry.count()
            )))
        }
        None => None,
    };
    let colormap_is_grey = decoder
        .find_tag_unsigned_vec::<u16>(Tag::ColorMap)
        .ok()
        .flatten()
        .map(|map| {
            let n = map.len() / 3;
            n > 0 && (0..n).all(|i| map[i] == map[n + i] && map[i] == map[2 * n + i])
        });
    Ok(Tags {
        description: text(decoder, 270)?,
        make: text(decoder, 271)?.map(|s| s.trim().to_string()),
        model: text(decoder, 272)?.map(|s| s.trim().to_string()),
        date_time: text(decoder, 306)?,
        fei: text(decoder, FEI_TAG)?,
        zeiss: text(decoder, ZEISS_TAG)?,
        tescan,
        olympus_sis: decoder
            .image_ifd()
            .find_entry(unknown_tag(OLYMPUS_SIS_TAG))
            .is_some(),
        dm_units: [text(decoder, DM_UNIT_X_TAG)?, text(decoder, DM_UNIT_Y_TAG)?],
        dm_scales: [
            f64_tag(decoder, DM_SCALE_X_TAG),
            f64_tag(decoder, DM_SCALE_Y_TAG),
        ],
        dm_origins: [
            f64_tag(decoder, DM_ORIGIN_X_TAG),
            f64_tag(decoder, DM_ORIGIN_Y_TAG),
        ],
        dm_tree,
        x_resolution: read_rational(decoder, Tag::XResolution)?,
        resolution_unit: decoder
            .find_tag_unsigned::<u16>(Tag::ResolutionUnit)
            .map_err(tiff_error)?,
        colormap_is_grey,
    })
}

/// The calibration and metadata a vendor rule produced.
struct Calibration {
    /// (scale, unit) for the height (y) axis and the width (x) axis.
    y: Option<(f64, String)>,
    x: Option<(f64, String)>,
    offsets: [f64; 2],
    format: String,
    metadata: NormalisedMetadata,
    original: Value,
    notes: Vec<String>,
    /// Rows of the image proper, when the file stores extra rows below it (FEI data bar).
    image_rows: Option<usize>,
}

impl Calibration {
    fn uncalibrated(format: &str) -> Calibration {
        Calibration {
            y: None,
            x: None,
            offsets: [0.0, 0.0],
            format: format.to_string(),
            metadata: NormalisedMetadata::default(),
            original: Value::Object(Map::new()),
            notes: Vec::new(),
            image_rows: None,
        }
    }
}

/// Reads an electron-microscopy TIFF (any vendor in the [module docs](self)).
pub fn read_em_tiff(bytes: &[u8], options: &ReadOptions) -> Result<Dataset, FormatError> {
    let (info, data) = read_impl(bytes, options, true)?;
    let data = data.ok_or_else(|| FormatError::InvalidImage("no pixel data decoded".into()))?;
    Dataset::from_parts(info, data)
}

/// [`read_em_tiff`] without decoding the pixels.
pub fn read_em_tiff_info(bytes: &[u8], options: &ReadOptions) -> Result<DatasetInfo, FormatError> {
    Ok(read_impl(bytes, options, false)?.0)
}

fn read_impl(
    bytes: &[u8],
    options: &ReadOptions,
    with_data: bool,
) -> Result<(DatasetInfo, Option<DataArray>), FormatError> {
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(tiff_error)?;
    let (width, height) = decoder.dimensions().map_err(tiff_error)?;
    let (width, height) = (width as usize, height as usize);
    let (color, data_type) = page_type(&mut decoder)?;
    let page_pixels = checked_product(&[width, height])?;
    // Decoded bytes allowed for the whole (stacked) array: bounded by the file size, so that
    // a hostile header cannot request gigabytes.
    let budget = bytes.len().saturating_mul(MAX_EXPANSION).max(1 << 20);
    let page_bytes = page_pixels
        .checked_mul(data_type.size_bytes())
        .filter(|&n| n <= budget)
        .ok_or_else(|| {
            FormatError::InvalidImage(format!(
                "{width} × {height} pixels claimed by a {}-byte file",
                bytes.len()
            ))
        })?;
    let tags = read_tags(&mut decoder, bytes.len())?;
    let mut data = if with_data {
        Some(decode_page(
            &mut decoder,
            bytes,
            color,
            data_type,
            page_pixels,
        )?)
    } else {
        None
    };

    // Stack following pages of the same geometry (Zeiss multi-page, image series); stop at the
    // first page that differs (thumbnails, previews).
    let mut pages = 1usize;
    while decoder.more_images() {
        if decoder.next_image().is_err() {
            break;
        }
        let same_size = decoder
            .dimensions()
            .is_ok_and(|(w, h)| (w as usize, h as usize) == (width, height));
        let same_type = page_type(&mut decoder).is_ok_and(|(c, t)| c == color && t == data_type);
        let reduced = decoder
            .find_tag_unsigned::<u32>(Tag::NewSubfileType)
            .ok()
            .flatten()
            .is_some_and(|v| v & 1 == 1);
        if !same_size || !same_type || reduced {
            break;
        }
        if page_bytes.saturating_mul(pages + 1) > budget {
            return Err(FormatError::InvalidImage(format!(
                "{} pages of {page_bytes} bytes claimed by a {}-byte file",
                pages + 1,
                bytes.len()
            )));
        }
        if let Some(stack) = data.as_mut() {
            stack.append(decode_page(
                &mut decoder,
                bytes,
                color,
                data_type,
                page_pixels,
            )?)?;
        }
        pages += 1;
    }

    let mut calibration = if let Some(text) = &tags.fei {
        fei(text, width, height)
    } else if let Some(text) = &tags.zeiss {
        zeiss(text, width)
    } else if let Some(text) = &tags.tescan {
        tescan(text)
    } else if tags
        .description
        .as_deref()
        .is_some_and(|d| d.trim_start().starts_with("<?xml") && d.contains("<TemReporter"))
    {
        jeol_sightx(&tags)
    } else if tags.dm_scales.iter().any(Option::is_some) {
        digital_micrograph(&tags)
    } else if let Some(imagej) = tags
        .description
        .as_deref()
        .and_then(ImageJDescription::parse)
    {
        imagej_calibration(&imagej, &tags)
    } else if tags.olympus_sis
        || tags
            .make
            .as_deref()
            .is_some_and(|m| m.starts_with("Olympus"))
    {
        let mut c = Calibration::uncalibrated("TIFF (Olympus SIS)");
        c.notes.push(
            "Olympus SIS calibration (tag 33560) is not decoded; image reported uncalibrated"
                .into(),
        );
        c
    } else {
        Calibration::uncalibrated("TIFF")
    };

    if calibration.x.is_none() {
        if let (Some(res), Some(unit @ (2 | 3))) = (tags.x_resolution, tags.resolution_unit) {
            calibration.notes.push(format!(
                "XResolution {res} per {} is a display resolution, not used as a pixel size",
                if unit == 2 { "inch" } else { "cm" }
            ));
        }
        calibration
            .notes
            .push("no physical calibration found: axes are in pixels (units None)".into());
    }
    if tags.colormap_is_grey == Some(false) && color == ColorType::Palette(8) {
        calibration.notes.push(
            "palette image: values are colour-map indices, the colour map is not grey".into(),
        );
    } else if color == ColorType::Palette(8) {
        calibration
            .notes
            .push("palette image with a grey colour map: values are the grey levels".into());
    }

    // FEI data bar.
    let mut rows = height;
    if let Some(image_rows) = calibration.image_rows.filter(|&r| r > 0 && r < height) {
        let bar = height - image_rows;
        if options.crop_data_bar && pages == 1 {
            rows = image_rows;
            if let Some(d) = data.as_mut() {
                d.truncate(image_rows * width);
            }
            calibration.notes.push(format!(
                "data bar of {bar} rows cropped ({height} rows stored, [Image] ResolutionY = \
                 {image_rows})"
            ));
        } else {
            calibration.notes.push(format!(
                "the last {bar} of {height} rows are the data bar ([Image] ResolutionY = \
                 {image_rows}); kept"
            ));
        }
    }

    let axis = |name: &str, size: usize, cal: &Option<(f64, String)>, offset: f64| match cal {
        Some((scale, unit)) => Axis {
            name: name.to_string(),
            size,
            scale: *scale,
            offset,
            units: Some(unit.clone()),
        },
        None => Axis::uncalibrated(name, size),
    };
    let mut axes = Vec::new();
    if pages > 1 {
        axes.push(Axis::uncalibrated("image series", pages));
    }
    axes.push(axis("height", rows, &calibration.y, calibration.offsets[1]));
    axes.push(axis("width", width, &calibration.x, calibration.offsets[0]));
    let shape = axes.iter().map(|a| a.size).collect();
    if calibration.metadata.pixel_size.is_none() {
        calibration.metadata.pixel_size = calibration
            .x
            .as_ref()
            .map(|(scale, unit)| Quantity::new(*scale, unit));
    }
    if calibration.metadata.instrument_vendor.is_none() {
        calibration.metadata.instrument_vendor = tags.make.clone().filter(|s| !s.is_empty());
    }
    if calibration.metadata.instrument_model.is_none() {
        calibration.metadata.instrument_model = tags.model.clone().filter(|s| !s.is_empty());
    }
    if calibration.metadata.acquisition_time.is_none() {
        calibration.metadata.acquisition_time = tags.date_time.clone();
    }
    let mut original = match calibration.original {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("vendor".into(), other);
            map
        }
    };
    if let Some(description) = &tags.description {
        if !original.contains_key("ImageDescription") {
            original.insert("ImageDescription".into(), Value::from(description.clone()));
        }
    }
    for (key, value) in [("Make", &tags.make), ("Model", &tags.model)] {
        if let Some(v) = value {
            original.insert(key.into(), Value::from(v.clone()));
        }
    }
    Ok((
        DatasetInfo {
            data_type,
            shape,
            axes,
            metadata: calibration.metadata,
            original_metadata: Value::Object(original),
            format: calibration.format,
            notes: calibration.notes,
        },
        data,
    ))
}

fn parse_f64(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn positive(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v > 0.0)
}

// ---------------------------------------------------------------------------------------------
// FEI / Thermo Fisher
// ---------------------------------------------------------------------------------------------

/// INI text → sections in file order (keys sorted within a section).
fn parse_ini(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut sections: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_matches(|c: char| c == '\r' || c == '\0' || c.is_whitespace());
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.to_string(), BTreeMap::new()));
        } else if let Some((key, value)) = line.split_once('=') {
            if let Some((_, section)) = sections.last_mut() {
                section.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
    }
    sections
}

fn fei(text: &str, width: usize, height: usize) -> Calibration {
    let sections = parse_ini(text);
    let get = |section: &str, key: &str| -> Option<&str> {
        sections
            .iter()
            .find(|(name, _)| name == section)
            .and_then(|(_, s)| s.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let number = |section: &str, key: &str| get(section, key).and_then(parse_f64);
    let mut c = Calibration::uncalibrated("TIFF (FEI/Thermo)");
    let mut original = Map::new();
    for (name, section) in &sections {
        let entries: Map<String, Value> = section
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect();
        original.insert(name.clone(), Value::Object(entries));
    }
    c.original = Value::Object(original);

    let resolution_x = positive(number("Image", "ResolutionX"));
    let resolution_y = positive(number("Image", "ResolutionY"));
    c.image_rows = resolution_y.map(|r| r as usize);
    let beam = get("Beam", "Beam").map(str::to_string);
    if let (Some(w), Some(h)) = (
        positive(number("Scan", "PixelWidth")),
        positive(number("Scan", "PixelHeight")),
    ) {
        c.x = Some((w, "m".into()));
        c.y = Some((h, "m".into()));
        c.notes
            .push("pixel size from [Scan] PixelWidth / PixelHeight (m)".into());
    } else if let Some(beam) = &beam {
        let hfw = positive(number(beam, "HFW"));
        let vfw = positive(number(beam, "VFW"));
        if let (Some(hfw), Some(vfw), Some(rx), Some(ry)) = (hfw, vfw, resolution_x, resolution_y) {
            c.x = Some((hfw / rx, "m".into()));
            c.y = Some((vfw / ry, "m".into()));
            c.notes.push(format!(
                "no [Scan] section: pixel size from [{beam}] HFW / ResolutionX and VFW / \
                 ResolutionY"
            ));
        } else {
            c.notes.push(format!(
                "neither [Scan] PixelWidth nor [{beam}] HFW/VFW with [Image] resolution: \
                 uncalibrated"
            ));
        }
    }
    if resolution_x.is_some_and(|r| r as usize != width) {
        c.notes.push(format!(
            "[Image] ResolutionX {} differs from the stored width {width}",
            resolution_x.unwrap_or(0.0)
        ));
    }
    if resolution_y.is_some_and(|r| r as usize > height) {
        c.notes.push(format!(
            "[Image] ResolutionY {} exceeds the stored height {height}; nothing cropped",
            resolution_y.unwrap_or(0.0)
        ));
    }
    let beam_section = beam.clone().unwrap_or_else(|| "EBeam".into());
    let hv = positive(number("Beam", "HV")).or_else(|| positive(number(&beam_section, "HV")));
    let technique = match beam.as_deref() {
        Some("IBeam") => "FIB",
        Some("IRBeam") => "optical navigation camera",
        _ => "SEM",
    };
    let date = get("User", "Date");
    let time = get("User", "Time");
    c.metadata = NormalisedMetadata {
        instrument_vendor: Some("FEI/Thermo Fisher Scientific".into()),
        instrument_model: get("System", "SystemType").map(str::to_string),
        technique: Some(technique.into()),
        beam_energy_kv: hv.map(|v| v / 1000.0),
        magnification: None,
        camera_length_mm: None,
        working_distance_mm: positive(number(&beam_section, "WD"))
            .or_else(|| positive(number("Stage", "WorkingDistance")))
            .map(|m| m * 1000.0),
        detector: get("Detectors", "Name").map(str::to_string),
        acquisition_time: match (date, time) {
            (Some(d), Some(t)) => Some(format!("{d} {t}")),
            (d, t) => d.or(t).map(str::to_string),
        },
        dwell_time_s: positive(number("Scan", "Dwelltime")),
        beam_current_a: positive(number(&beam_section, "BeamCurrent")),
        pixel_size: None,
        wavelength_pm: None,
        operator: get("User", "User").map(str::to_string),
        ..NormalisedMetadata::default()
    };
    if hv.is_none() && get("Beam", "HV").is_some() {
        c.notes
            .push("[Beam] HV is not a number; beam energy unknown".into());
    }
    c
}

// ---------------------------------------------------------------------------------------------
// Tescan
// ---------------------------------------------------------------------------------------------

fn tescan(text: &str) -> Calibration {
    let sidecar = crate::sem_sidecar::tescan_from_text(text);
    let mut c = Calibration::uncalibrated("TIFF (Tescan)");
    if let Some([x, y]) = &sidecar.pixel_size {
        c.x = Some((x.value, x.unit.clone()));
        c.y = Some((y.value, y.unit.clone()));
        c.notes
            .push("pixel size from tag 50431 [MAIN] PixelSizeX / PixelSizeY (m)".into());
    }
    c.notes
        .extend(sidecar.notes.iter().map(|n| format!("Tescan: {n}")));
    c.metadata = sidecar.metadata;
    c.original = sidecar.original;
    c
}

// ---------------------------------------------------------------------------------------------
// Zeiss SEM
// ---------------------------------------------------------------------------------------------

/// A Zeiss value such as `12.33 nm`, `2.615 µm`, `25.00 kV` as (value, unit).
fn zeiss_quantity(value: &str) -> Option<(f64, String)> {
    let mut parts = value.split_whitespace();
    let number = parse_f64(parts.next()?)?;
    let unit = parts.next().unwrap_or("").to_string();
    Some((number, unit))
}

fn length_in_m(value: f64, unit: &str) -> Option<f64> {
    let factor = match unit {
        "m" => 1.0,
        "mm" => 1e-3,
        "µm" | "um" | "\u{3bc}m" => 1e-6,
        "nm" => 1e-9,
        "pm" => 1e-12,
        _ => return None,
    };
    Some(value * factor)
}

fn zeiss(text: &str, width: usize) -> Calibration {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    // Leading numeric block, then KEY / "Label = value" pairs.
    let numeric: Vec<f64> = lines.iter().map_while(|l| parse_f64(l)).collect();
    let mut entries: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut i = numeric.len();
    while i + 1 < lines.len() {
        let key = lines[i].trim();
        let is_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if is_key {
            let line = lines[i + 1];
            let (label, value) = match line.split_once(" = ") {
                Some((l, v)) => (l, v),
                None => line.split_once(':').unwrap_or((line, "")),
            };
            entries.insert(
                key.to_string(),
                (label.trim().to_string(), value.trim().to_string()),
            );
            i += 2;
        } else {
            i += 1;
        }
    }
    let value = |key: &str| entries.get(key).map(|(_, v)| v.as_str());
    let mut c = Calibration::uncalibrated("TIFF (Zeiss SEM)");
    let mut original = Map::new();
    original.insert(
        "numeric_header".into(),
        Value::from(numeric.iter().map(|v| Value::from(*v)).collect::<Vec<_>>()),
    );
    for (key, (label, v)) in &entries {
        let mut entry = Map::new();
        entry.insert("label".into(), Value::from(label.clone()));
        entry.insert("value".into(), Value::from(v.clone()));
        original.insert(key.clone(), Value::Object(entry));
    }
    c.original = Value::Object(original);

    let text_size = |key: &str| {
        value(key)
            .and_then(zeiss_quantity)
            .and_then(|(v, u)| length_in_m(v, &u))
            .filter(|v| *v > 0.0)
    };
    let (reference, reference_name) = match text_size("AP_IMAGE_PIXEL_SIZE") {
        Some(v) => (Some(v), "AP_IMAGE_PIXEL_SIZE".to_string()),
        None => match text_size("AP_WIDTH") {
            Some(w) if width > 0 => (Some(w / width as f64), "AP_WIDTH / width".to_string()),
            _ => (None, String::new()),
        },
    };
    // The binary header's 4th value is the pixel size of a 1024-pixel-wide frame.
    let header = numeric
        .get(3)
        .copied()
        .filter(|v| *v > 0.0 && width > 0)
        .map(|v| v * 1024.0 / width as f64);
    let chosen = match (header, reference) {
        (Some(h), Some(r)) if (h - r).abs() <= 0.01 * r => {
            c.notes.push(format!(
                "pixel size {h:e} m from the binary header (× 1024 / width), agreeing with \
                 {reference_name} ({r:e} m); AP_PIXEL_SIZE (display pixel) not used"
            ));
            Some(h)
        }
        (h, Some(r)) => {
            c.notes.push(format!(
                "pixel size from {reference_name} ({r:e} m, as printed){}",
                match h {
                    Some(h) => format!("; the binary header gives {h:e} m, which disagrees"),
                    None => String::new(),
                }
            ));
            Some(r)
        }
        (_, None) => {
            c.notes.push(
                "no AP_IMAGE_PIXEL_SIZE or AP_WIDTH: uncalibrated (AP_PIXEL_SIZE is a display \
                 pixel and is not used)"
                    .into(),
            );
            None
        }
    };
    c.x = chosen.map(|v| (v, "m".to_string()));
    c.y = c.x.clone();
    if let Some(store) = value("DP_IMAGE_STORE") {
        c.notes.push(format!(
            "Zeiss burns its data zone into the frame (store resolution {store}); nothing cropped"
        ));
    } else {
        c.notes
            .push("Zeiss may burn a data zone into the frame; nothing cropped".into());
    }
    let magnification = value("AP_MAG").and_then(|m| {
        let m = m.trim().trim_end_matches('X').trim();
        match m.strip_suffix('K') {
            Some(k) => parse_f64(k).map(|v| v * 1e3),
            None => parse_f64(m),
        }
    });
    let kv = value("AP_ACTUALKV")
        .and_then(zeiss_quantity)
        .and_then(|(v, u)| match u.as_str() {
            "kV" => Some(v),
            "V" => Some(v / 1e3),
            _ => None,
        });
    // Via the factor ratio so that a value in mm stays bit-exact.
    let wd_mm = value("AP_WD")
        .and_then(zeiss_quantity)
        .and_then(|(v, u)| length_in_m(1.0, &u).map(|f| v * (f / 1e-3)));
    let date = value("AP_DATE");
    let time = value("AP_TIME");
    c.metadata = NormalisedMetadata {
        instrument_vendor: Some("Carl Zeiss".into()),
        instrument_model: value("DP_SEM")
            .or(value("SV_SERIAL_NUMBER"))
            .map(str::to_string),
        technique: Some("SEM".into()),
        beam_energy_kv: positive(kv),
        magnification: positive(magnification),
        camera_length_mm: None,
        working_distance_mm: positive(wd_mm),
        detector: value("DP_DETECTOR_CHANNEL")
            .or(value("DP_DETECTOR_TYPE"))
            .map(str::to_string),
        acquisition_time: match (date, time) {
            (Some(d), Some(t)) => Some(format!("{d} {t}")),
            (d, t) => d.or(t).map(str::to_string),
        },
        dwell_time_s: None,
        beam_current_a: None,
        pixel_size: None,
        wavelength_pm: None,
        operator: value("SV_USER_NAME").map(str::to_string),
        ..NormalisedMetadata::default()
    };
    c
}

// ---------------------------------------------------------------------------------------------
// JEOL SightX
// ---------------------------------------------------------------------------------------------

/// The text of the last `<name>…</name>` element in `xml` (SightX repeats blocks; the last
/// `InstrumentsParameter` describes the saved image).
fn last_element<'x>(xml: &'x str, name: &str) -> Option<&'x str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.rfind(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].trim())
}

fn jeol_sightx(tags: &Tags) -> Calibration {
    let xml = tags.description.as_deref().unwrap_or("");
    let mut c = Calibration::uncalibrated("TIFF (JEOL SightX)");
    let parameters = last_element(xml, "InstrumentsParameter").unwrap_or("");
    let unit_type = last_element(parameters, "Measurement_UnitType");
    let selector = last_element(parameters, "SelectorValue").and_then(parse_f64);
    let volts = last_element(parameters, "AccVoltage")
        .or_else(|| last_element(xml, "AccelerationVoltage"))
        .and_then(parse_f64);
    let mode = last_element(xml, "ImageFormingMode").map(str::to_string);
    let pitch_m = match (tags.x_resolution, tags.resolution_unit) {
        (Some(r), Some(2)) if r > 0.0 => Some(0.0254 / r),
        (Some(r), Some(3)) if r > 0.0 => Some(0.01 / r),
        _ => None,
    };
    let pixels_per_meter = last_element(xml, "PixelsPerMeter")
        .and_then(|block| last_element(block, "Horizontal"))
        .and_then(parse_f64);
    let diffraction = unit_type == Some("UnitType_Diffraction")
        || mode.as_deref().is_some_and(|m| m.contains("DIFF"));
    let kv = positive(volts).map(|v| v / 1000.0);
    let wavelength_pm = kv.map(electron_wavelength_pm);
    match (pitch_m, positive(selector)) {
        (Some(pitch), Some(selector)) if diffraction => {
            if let Some(lambda_pm) = wavelength_pm {
                // Reciprocal-space pixel = pitch / (λ L); in 1/nm.
                let camera_length_m = selector * 1e-3;
                let per_m = pitch / (lambda_pm * 1e-12 * camera_length_m);
                let scale = per_m * 1e-9;
                c.x = Some((scale, "1 / nm".into()));
                c.notes.push(format!(
                    "diffraction: scale = camera pixel pitch {pitch:e} m (TIFF XResolution) / \
                     (λ {lambda_pm:.5} pm × camera length {selector} mm)"
                ));
                c.metadata.camera_length_mm = Some(selector);
            } else {
                c.notes
                    .push("diffraction pattern without accelerating voltage: uncalibrated".into());
            }
        }
        (Some(pitch), Some(magnification)) => {
            c.x = Some((pitch / magnification * 1e9, "nm".into()));
            c.notes.push(format!(
                "scale = camera pixel pitch {pitch:e} m (TIFF XResolution) / magnification \
                 {magnification}"
            ));
            c.metadata.magnification = Some(magnification);
        }
        _ => c.notes.push(
            "SightX XML lacks SelectorValue or the TIFF lacks a physical XResolution: \
             uncalibrated"
                .into(),
        ),
    }
    if let (Some(ppm), Some(pitch)) = (positive(pixels_per_meter), pitch_m) {
        if ((1.0 / ppm) - pitch).abs() > 1e-3 * pitch {
            c.notes.push(format!(
                "the XML's PixelsPerMeter ({ppm}) implies a pitch of {:e} m, {:.2} % off the \
                 TIFF resolution used (as rosettasciio does)",
                1.0 / ppm,
                ((1.0 / ppm) / pitch - 1.0) * 100.0
            ));
        }
    }
    c.y = c.x.clone();
    c.metadata.instrument_vendor = last_element(xml, "Manufacturer").map(str::to_string);
    c.metadata.instrument_model = last_element(xml, "Instruments").map(str::to_string);
    c.metadata.technique = Some(if diffraction {
        "electron diffraction".into()
    } else {
        "TEM".into()
    });
    c.metadata.beam_energy_kv = kv;
    c.metadata.wavelength_pm = wavelength_pm;
    c.metadata.acquisition_time = last_element(xml, "DateTime").map(str::to_string);
    c.metadata.operator = last_element(xml, "Operator").map(str::to_string);
    c.metadata.detector = last_element(xml, "ImageSourceDetector").map(str::to_string);
    let mut original = Map::new();
    original.insert("TemReporter_xml".into(), Value::from(xml.to_string()));
    if let Some(m) = mode {
        original.insert("ImageFormingMode".into(), Value::from(m));
    }
    c.original = Value::Object(original);
    c
}

// ---------------------------------------------------------------------------------------------
// DigitalMicrograph-written TIFF, ImageJ
// ---------------------------------------------------------------------------------------------

fn digital_micrograph(tags: &Tags) -> Calibration {
    let mut c = Calibration::uncalibrated("TIFF (DigitalMicrograph)");
    let unit = |i: usize| {
        tags.dm_units[i]
            .as_deref()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
    };
    for i in 0..2 {
        let calibrated = match (tags.dm_scales[i].filter(|s| *s != 0.0), unit(i)) {
            (Some(scale), Some(u)) => {
                c.offsets[i] = -tags.dm_origins[i].unwrap_or(0.0) * scale;
                Some((scale, u))
            }
            _ => None,
        };
        if i == 0 {
            c.x = calibrated;
        } else {
            c.y = calibrated;
        }
    }
    c.notes.push(
        "calibration from DigitalMicrograph TIFF tags 65009/65010 (scale) and 65003/65004 \
         (unit); offsets from 65006/65007 assuming DM's convention (origin in pixels, offset = \
         -origin × scale), which no reference value confirms"
            .into(),
    );
    let mut original = Map::new();
    if let Some(tree) = &tags.dm_tree {
        match crate::dm::dm_tag_tree_json(tree) {
            Ok(json) => {
                original.insert("DigitalMicrograph".into(), json);
            }
            Err(e) => c.notes.push(format!(
                "embedded DM tag tree (tag 65027) not readable: {e}"
            )),
        }
    }
    c.original = Value::Object(original);
    c
}

fn imagej_calibration(imagej: &ImageJDescription, tags: &Tags) -> Calibration {
    let mut c = Calibration::uncalibrated("TIFF (ImageJ)");
    if let (Some(unit), Some(res)) = (imagej.length_unit(), positive(tags.x_resolution)) {
        c.x = Some((unit.factor / res, unit.symbol.clone()));
        c.y = c.x.clone();
        c.notes
            .push("calibration from the ImageJ description unit and XResolution".into());
    }
    let mut original = Map::new();
    for (key, value) in &imagej.raw_entries {
        original.insert(key.clone(), Value::from(value.clone()));
    }
    c.original = Value::Object(original);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_keep_order_and_values() {
        let sections = parse_ini("[User]\r\nDate=1\r\n\r\n[Scan]\r\nPixelWidth=3e-9\r\n");
        assert_eq!(sections[0].0, "User");
        assert_eq!(sections[1].1["PixelWidth"], "3e-9");
    }

    #[test]
    fn zeiss_text_values_and_units() {
        assert_eq!(zeiss_quantity("12.33 nm"), Some((12.33, "nm".into())));
        assert_eq!(length_in_m(2.0, "µm"), Some(2e-6));
        assert_eq!(length_in_m(2.0, "parsec"), None);
        let c = zeiss(
            "0\r\n0\r\n0\r\n1e-8\r\nAP_WIDTH\r\nWidth = 5.12 µm\r\n",
            512,
        );
        // Header 1e-8 × 1024/512 = 20 nm disagrees with 5.12 µm / 512 = 10 nm: text wins.
        let (scale, unit) = c.x.unwrap();
        assert!((scale - 1e-8).abs() < 1e-20 && unit == "m");
        assert!(c.notes.iter().any(|n| n.contains("disagrees")));
    }

    #[test]
    fn xml_elements_are_found() {
        let xml = "<a><b>1</b></a><a><b> 2 </b></a>";
        assert_eq!(last_element(xml, "b"), Some("2"));
        assert_eq!(last_element(xml, "c"), None);
    }
}
