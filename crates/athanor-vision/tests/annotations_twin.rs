//! A twin micrograph with an instrument data bar (black strip, text, white scale bar) pasted
//! below it: the strip is found and cut off, the scale bar calibrates the image, and the
//! particles counted are those of the plain micrograph.

use athanor_twin::micrograph::{render_micrograph, MicrographSpec};
use athanor_vision::annotations::{detect_annotations, mask_annotations};
use athanor_vision::{analyze, AnalysisConfig, GrayImage};

#[test]
fn data_bar_is_cut_off_and_scale_bar_calibrates() {
    let spec = MicrographSpec {
        width: 384,
        height: 320,
        ..MicrographSpec::default()
    };
    let m = render_micrograph(&[5.0], &spec, 11).expect("twin renders");
    let (w, h, strip) = (m.width, m.height, 40);
    let mut data: Vec<f32> = m.pixels.iter().map(|&p| f32::from(p)).collect();
    let white = 65_535.0;
    for y in 0..strip {
        for x in 0..w {
            // "HV 200 kV" style text blocks on the left, a 150 px × 5 px bar on the right
            // standing for 30 nm (0.2 nm/px, the twin's true pixel size).
            let text = (12..90).contains(&x) && (8..20).contains(&y) && (x / 2 + y) % 3 == 0;
            let bar = (200..350).contains(&x) && (26..31).contains(&y);
            data.push(if text || bar { white } else { 0.0 });
        }
    }
    let annotated = GrayImage::new(w, h + strip, data).unwrap();
    let found = detect_annotations(&annotated).unwrap();
    assert_eq!(found.data_bar.map(|b| b.top_row), Some(h));
    let bar = found.scale_bar.expect("scale bar found");
    assert_eq!((bar.x0, bar.x1), (200, 350));
    let pixel_size_nm = bar.pixel_size_nm(30.0).unwrap();
    assert!((pixel_size_nm - m.pixel_size_nm).abs() < 1e-12);

    let config = AnalysisConfig {
        pixel_size_nm,
        ..AnalysisConfig::default()
    };
    let masked = mask_annotations(&annotated, &found).unwrap();
    let cleaned = analyze(&masked, &config).unwrap();
    let plain = analyze(&GrayImage::from_u16(w, h, &m.pixels).unwrap(), &config).unwrap();
    assert_eq!(cleaned.particles, plain.particles);
    let d50 = cleaned.stats.unwrap().d50_nm;
    assert!((d50 - 5.0).abs() < 0.15, "D50 {d50}");
}
