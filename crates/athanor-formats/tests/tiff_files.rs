//! Calibrated TIFF: round trips through our writer and reader, foreign calibration conventions
//! built with the `tiff` encoder directly, and pixel types we must reject politely.

use athanor_formats::{
    read_tiff, read_tiff_info, read_tiff_with_options, write_tiff_u16, CalibratedImage,
    CalibrationSource, FormatError, TiffReadOptions,
};
use athanor_model::Quantity;
use std::io::Cursor;
use tiff::encoder::{colortype, Rational, TiffEncoder};
use tiff::tags::{ResolutionUnit, Tag};

fn gradient_image(width: usize, height: usize) -> Vec<u16> {
    // A non-separable pattern (transposed or shifted rows would be detected) that also holds
    // both ends of the 16-bit range.
    let mut pixels: Vec<u16> = (0..width * height)
        .map(|i| {
            let (x, y) = (i % width, i / width);
            ((x * 7919 + y * 104_729 + x * y * 31) % 65_536) as u16
        })
        .collect();
    pixels[0] = 0;
    pixels[1] = u16::MAX;
    pixels
}

fn relative_error(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn round_trip_keeps_pixels_and_pixel_size() {
    for (value, unit) in [
        (0.2, "nm"),
        (0.168_674_710_988_533_32, "µm"),
        (1.234_567_890_123e-3, "mm"),
        (0.05, "Å"),
        (0.272_254_248_58, "1/nm"),
        (3.7e4, "nm"),
    ] {
        let image = CalibratedImage {
            width: 37,
            height: 23,
            pixels: gradient_image(37, 23),
            pixel_size: Some(Quantity::new(value, unit)),
            description: Some(format!(
                "test {unit}\nsecond line, with ünïcödé and \"quotes\""
            )),
        };
        let bytes = write_tiff_u16(&image).unwrap();
        let back = read_tiff(&bytes).unwrap();
        assert_eq!((back.width, back.height), (37, 23));
        assert_eq!(back.pixels, image.pixels);
        let size = back.pixel_size.clone().unwrap();
        let expected_unit = if unit == "µm" { "µm" } else { unit };
        assert_eq!(size.unit, expected_unit);
        assert!(
            relative_error(size.value, value) <= 1e-9,
            "{size} vs {value}"
        );
        assert_eq!(back.description, image.description);
        let info = read_tiff_info(&bytes, &TiffReadOptions::default()).unwrap();
        assert_eq!(info.calibration_source, CalibrationSource::Athanor);
        assert_eq!(info.pixel_type, "16-bit unsigned grayscale");
    }
}

#[test]
fn uncertainty_and_missing_calibration_round_trip() {
    let mut image = CalibratedImage {
        width: 4,
        height: 3,
        pixels: (0..12).collect(),
        pixel_size: Some(Quantity::with_std(0.5, 0.01, "nm")),
        description: None,
    };
    let back = read_tiff(&write_tiff_u16(&image).unwrap()).unwrap();
    assert_eq!(back, image);

    image.pixel_size = None;
    let bytes = write_tiff_u16(&image).unwrap();
    let back = read_tiff(&bytes).unwrap();
    assert_eq!(back.pixel_size, None);
    assert_eq!(back.description, None);
    let info = read_tiff_info(&bytes, &TiffReadOptions::default()).unwrap();
    assert_eq!(info.calibration_source, CalibrationSource::None);
}

/// The bytes of the ImageDescription as ImageJ would see them.
fn image_description(bytes: &[u8]) -> String {
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).unwrap();
    decoder.get_tag_ascii_string(Tag::ImageDescription).unwrap()
}

#[test]
fn written_calibration_follows_the_imagej_convention() {
    let image = CalibratedImage {
        width: 2,
        height: 2,
        pixels: vec![1, 2, 3, 4],
        pixel_size: Some(Quantity::new(0.25, "um")),
        description: None,
    };
    let bytes = write_tiff_u16(&image).unwrap();
    let text = image_description(&bytes);
    assert!(text.starts_with("ImageJ=1.11a\nunit=micron\n"), "{text:?}");
    assert!(text.lines().any(|l| l.starts_with("athanor={")), "{text:?}");

    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(&bytes[..])).unwrap();
    let x = decoder.get_tag(Tag::XResolution).unwrap();
    let y = decoder.get_tag(Tag::YResolution).unwrap();
    let unit = decoder.get_tag_u32(Tag::ResolutionUnit).unwrap();
    // 4 pixels per micron, exactly; resolution unit "none".
    assert_eq!(
        format!("{x:?}"),
        format!("{:?}", tiff::decoder::ifd::Value::Rational(4, 1))
    );
    assert_eq!(format!("{y:?}"), format!("{x:?}"));
    assert_eq!(unit, 1);

    // Non-ASCII units are written with ImageJ's \uXXXX escapes and read back.
    let angstrom = CalibratedImage {
        pixel_size: Some(Quantity::new(0.5, "Å")),
        ..image
    };
    let bytes = write_tiff_u16(&angstrom).unwrap();
    assert!(image_description(&bytes).contains("unit=\\u00C5\n"));
    assert_eq!(read_tiff(&bytes).unwrap().pixel_size.unwrap().unit, "Å");
}

/// A 16-bit TIFF written without our writer, with chosen tags.
fn foreign_tiff(
    description: Option<&str>,
    resolution: Option<(Rational, Rational, ResolutionUnit)>,
) -> Vec<u8> {
    let mut buffer = Cursor::new(Vec::new());
    {
        let mut encoder = TiffEncoder::new(&mut buffer).unwrap();
        let mut image = encoder.new_image::<colortype::Gray16>(3, 2).unwrap();
        if let Some(text) = description {
            image
                .encoder()
                .write_tag(Tag::ImageDescription, text)
                .unwrap();
        }
        if let Some((x, y, unit)) = resolution {
            image.x_resolution(x);
            image.y_resolution(y);
            image.resolution_unit(unit);
        }
        image.write_data(&[10, 20, 30, 40, 50, 60]).unwrap();
    }
    buffer.into_inner()
}

#[test]
fn imagej_description_without_athanor_metadata_is_understood() {
    // ImageJ writes 1/pixelWidth as a rational over 10⁶ (see the fixture test below).
    let rational = |n| Rational { n, d: 1_000_000 };
    let bytes = foreign_tiff(
        Some("ImageJ=1.54f\nunit=micron\nmin=0.0\nmax=60.0\n"),
        Some((
            rational(5_928_571),
            rational(5_928_571),
            ResolutionUnit::None,
        )),
    );
    let image = read_tiff(&bytes).unwrap();
    let size = image.pixel_size.unwrap();
    assert_eq!(size.unit, "µm");
    assert!(relative_error(size.value, 1e6 / 5_928_571.0) < 1e-12);
    assert_eq!(image.pixels, vec![10, 20, 30, 40, 50, 60]);
    // A foreign description is handed on verbatim.
    assert!(image.description.unwrap().starts_with("ImageJ=1.54f\n"));

    // Escaped micro sign, as ImageJ writes `µm` typed by a user.
    let bytes = foreign_tiff(
        Some("ImageJ=1.54f\nunit=\\u00B5m\n"),
        Some((
            rational(2_000_000),
            rational(2_000_000),
            ResolutionUnit::None,
        )),
    );
    let size = read_tiff(&bytes).unwrap().pixel_size.unwrap();
    assert_eq!((size.value, size.unit.as_str()), (0.5, "µm"));

    // The ImageJ unit wins over the resolution unit; `pixel` means uncalibrated.
    let bytes = foreign_tiff(
        Some("ImageJ=1.54f\nunit=pixel\n"),
        Some((
            rational(72_000_000),
            rational(72_000_000),
            ResolutionUnit::Inch,
        )),
    );
    assert_eq!(read_tiff(&bytes).unwrap().pixel_size, None);
}

#[test]
fn resolution_unit_inch_and_cm_become_lengths() {
    let per = |n| Rational { n, d: 1 };
    // 25 400 pixels per inch = 1 µm per pixel.
    let bytes = foreign_tiff(None, Some((per(25_400), per(25_400), ResolutionUnit::Inch)));
    let size = read_tiff(&bytes).unwrap().pixel_size.unwrap();
    assert_eq!(size.unit, "µm");
    assert!(relative_error(size.value, 1.0) < 1e-12);
    let info = read_tiff_info(&bytes, &TiffReadOptions::default()).unwrap();
    assert_eq!(info.calibration_source, CalibrationSource::ResolutionUnit);

    // 40 000 pixels per cm = 0.25 µm per pixel.
    let bytes = foreign_tiff(
        None,
        Some((per(40_000), per(40_000), ResolutionUnit::Centimeter)),
    );
    let size = read_tiff(&bytes).unwrap().pixel_size.unwrap();
    assert!(relative_error(size.value, 0.25) < 1e-12);

    // Switched off, the same file is uncalibrated.
    let off = TiffReadOptions {
        use_resolution_unit: false,
    };
    assert_eq!(
        read_tiff_with_options(&bytes, &off).unwrap().pixel_size,
        None
    );

    // Resolution unit "none" without an ImageJ unit carries no length.
    let bytes = foreign_tiff(None, Some((per(5), per(5), ResolutionUnit::None)));
    assert_eq!(read_tiff(&bytes).unwrap().pixel_size, None);

    // Different x and y resolution: reported by read_tiff_info, refused by read_tiff.
    let bytes = foreign_tiff(
        None,
        Some((per(40_000), per(20_000), ResolutionUnit::Centimeter)),
    );
    let info = read_tiff_info(&bytes, &TiffReadOptions::default()).unwrap();
    assert!(relative_error(info.pixel_height.unwrap().value, 0.5) < 1e-12);
    let err = read_tiff(&bytes).unwrap_err();
    assert!(matches!(err, FormatError::NonSquarePixels { .. }), "{err}");
}

#[test]
fn eight_bit_images_are_widened_without_rescaling() {
    let mut buffer = Cursor::new(Vec::new());
    let values: Vec<u8> = (0..=255).collect();
    TiffEncoder::new(&mut buffer)
        .unwrap()
        .write_image::<colortype::Gray8>(16, 16, &values)
        .unwrap();
    let image = read_tiff(buffer.get_ref()).unwrap();
    assert_eq!((image.width, image.height), (16, 16));
    assert_eq!(image.pixels, (0..=255).collect::<Vec<u16>>());
    assert_eq!(image.pixel(15, 15), Some(255));
    assert_eq!(image.pixel(16, 0), None);
}

#[test]
fn other_pixel_types_are_named_in_the_error() {
    let mut rgb = Cursor::new(Vec::new());
    TiffEncoder::new(&mut rgb)
        .unwrap()
        .write_image::<colortype::RGB8>(2, 2, &[0u8; 12])
        .unwrap();
    let err = read_tiff(rgb.get_ref()).unwrap_err();
    assert!(err.to_string().contains("8-bit unsigned RGB"), "{err}");

    let mut float = Cursor::new(Vec::new());
    TiffEncoder::new(&mut float)
        .unwrap()
        .write_image::<colortype::Gray32Float>(2, 2, &[0.5f32; 4])
        .unwrap();
    let err = read_tiff(float.get_ref()).unwrap_err();
    assert!(
        err.to_string().contains("32-bit floating-point grayscale"),
        "{err}"
    );

    let mut signed = Cursor::new(Vec::new());
    TiffEncoder::new(&mut signed)
        .unwrap()
        .write_image::<colortype::GrayI16>(2, 2, &[-1i16; 4])
        .unwrap();
    let err = read_tiff(signed.get_ref()).unwrap_err();
    assert!(
        err.to_string().contains("16-bit signed integer grayscale"),
        "{err}"
    );
}

#[test]
fn malformed_input_gives_errors_not_panics() {
    assert!(matches!(read_tiff(b""), Err(FormatError::Tiff(_))));
    assert!(matches!(
        read_tiff(b"not a tiff at all"),
        Err(FormatError::Tiff(_))
    ));
    let image = CalibratedImage {
        width: 20,
        height: 20,
        pixels: vec![7; 400],
        pixel_size: Some(Quantity::new(1.0, "nm")),
        description: None,
    };
    let bytes = write_tiff_u16(&image).unwrap();
    for cut in [8, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(read_tiff(&bytes[..cut]).is_err(), "truncated at {cut}");
    }
    // Flipped bytes anywhere must not panic (errors or odd values are both acceptable).
    for position in (0..bytes.len()).step_by(7) {
        let mut corrupted = bytes.clone();
        corrupted[position] ^= 0xA5;
        let _ = read_tiff(&corrupted);
    }
}

#[test]
fn invalid_images_are_refused_by_the_writer() {
    let base = CalibratedImage {
        width: 2,
        height: 2,
        pixels: vec![0; 4],
        pixel_size: None,
        description: None,
    };
    let short = CalibratedImage {
        pixels: vec![0; 3],
        ..base.clone()
    };
    assert!(matches!(
        write_tiff_u16(&short),
        Err(FormatError::InvalidImage(_))
    ));
    let empty = CalibratedImage {
        width: 0,
        height: 0,
        pixels: vec![],
        ..base.clone()
    };
    assert!(write_tiff_u16(&empty).is_err());
    for bad in [
        Quantity::new(0.0, "nm"),
        Quantity::new(1.0, "degC"),
        Quantity::new(1.0, "furlong"),
        Quantity::new(1e-12, "nm"),
    ] {
        let image = CalibratedImage {
            pixel_size: Some(bad.clone()),
            ..base.clone()
        };
        let err = write_tiff_u16(&image).unwrap_err();
        assert!(
            matches!(err, FormatError::InvalidCalibration(_)),
            "{bad}: {err}"
        );
    }
}
