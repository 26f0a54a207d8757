//! The reliability diagram as a PNG: predicted denial risk (by score band) against the share
//! of those claims the payer denied, with the diagonal a perfectly calibrated score follows
//! and each band's claim count. Drawn with plotters into a pixel buffer and encoded with png;
//! text in DejaVu Sans, embedded (assets/fonts, Bitstream Vera licence), so no system font is
//! needed.

use std::sync::OnceLock;

use plotters::prelude::*;

use super::Band;

/// Width of the image, pixels.
pub const WIDTH: u32 = 900;
/// Height of the image, pixels.
pub const HEIGHT: u32 = 700;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font could not be read".to_string())
    })
    .clone()
}

/// The diagram of `bands` (bands without claims are left out), titled `title`, as PNG bytes.
pub fn png(bands: &[Band], title: &str) -> Result<Vec<u8>, String> {
    register_font()?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(&mut pixels, bands, title).map_err(|e| format!("drawing the diagram failed: {e}"))?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn draw(pixels: &mut [u8], bands: &[Band], title: &str) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(24)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| err(&e))?;
    let percent = |v: &f64| format!("{:.0}%", v * 100.0);
    chart
        .configure_mesh()
        .x_desc("Predicted denial risk (mean of the score band)")
        .y_desc("Claims the payer denied")
        .x_labels(11)
        .y_labels(11)
        .x_label_formatter(&percent)
        .y_label_formatter(&percent)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(|e| err(&e))?;
    let grey = RGBColor(120, 120, 120);
    chart
        .draw_series(LineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            grey.stroke_width(2),
        ))
        .map_err(|e| err(&e))?
        .label("a perfectly calibrated score")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], grey.stroke_width(2)));
    let blue = RGBColor(31, 90, 180);
    let points: Vec<(f64, f64)> = bands
        .iter()
        .filter(|b| b.claims > 0)
        .map(|b| (b.predicted, b.observed()))
        .collect();
    chart
        .draw_series(LineSeries::new(points.clone(), blue.stroke_width(3)))
        .map_err(|e| err(&e))?
        .label("claimscrub's denial risk")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], blue.stroke_width(3)));
    chart
        .draw_series(
            points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 6, blue.filled())),
        )
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bands.iter().filter(|b| b.claims > 0).map(|b| {
            Text::new(
                format!("{} claims", b.claims),
                (b.predicted + 0.012, b.observed() + 0.025),
                ("sans-serif", 14),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagram_is_a_png_of_the_stated_size() {
        let bands = vec![
            Band {
                low: 0.1,
                high: 0.2,
                claims: 40,
                predicted: 0.15,
                denied: 8,
            },
            Band {
                low: 0.8,
                high: 0.9,
                claims: 10,
                predicted: 0.85,
                denied: 6,
            },
        ];
        let bytes = png(&bands, "Denial risk against denials: 50 remitted claims").unwrap();
        // Kept for a person to look at, like the console's screenshots.
        let _ = std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/target/reliability-example.png"
            ),
            &bytes,
        );
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    }
}
