//! Rasterises the ceremony picture's SVG to PNG with resvg, in pure Rust, using only the
//! embedded DejaVu Sans (no system fonts), so every host draws the same pixels.

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use super::layout::WIDTH;
use super::palette::BACKGROUND;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
const SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold.
const SANS_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// Why a picture could not be rasterised.
#[derive(Debug, thiserror::Error)]
pub enum PngError {
    /// The SVG did not parse (a bug in the drawing).
    #[error("failed to read the drawing: {0}")]
    Svg(#[from] usvg::Error),
    /// The asked size is empty or too large to allocate.
    #[error("failed to make a {0}×{1} image")]
    Size(u32, u32),
    /// The PNG encoder failed.
    #[error("failed to encode the PNG: {0}")]
    Encode(String),
}

/// The options resvg reads SVG with: the embedded fonts only.
#[must_use]
pub fn options() -> usvg::Options<'static> {
    let mut opt = usvg::Options {
        font_family: "DejaVu Sans".to_owned(),
        ..usvg::Options::default()
    };
    let db = opt.fontdb_mut();
    db.load_font_data(SANS.to_vec());
    db.load_font_data(SANS_BOLD.to_vec());
    db.set_sans_serif_family("DejaVu Sans");
    opt
}

/// The height a picture `svg_height` units tall gets at `width` pixels.
#[must_use]
pub fn height_for(svg_height: f64, width: u32) -> u32 {
    let h = (svg_height * f64::from(width) / WIDTH).round().max(1.0);
    // Bounded by the width check in `rasterise` and the layout's few thousand units.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let h = h.min(f64::from(u32::MAX)) as u32;
    h
}

/// Rasterises `svg` (a drawing [`WIDTH`] units wide) to a PNG `width` pixels wide.
///
/// # Errors
/// When the SVG does not parse, the size is unusable, or encoding fails.
pub fn rasterise(svg: &str, width: u32) -> Result<Vec<u8>, PngError> {
    let tree = usvg::Tree::from_str(svg, &options())?;
    let height = height_for(f64::from(tree.size().height()), width);
    let mut pixmap = Pixmap::new(width, height).ok_or(PngError::Size(width, height))?;
    let [r, g, b] = BACKGROUND.0;
    pixmap.fill(resvg::tiny_skia::Color::from_rgba8(r, g, b, 255));
    #[allow(clippy::cast_possible_truncation)]
    let scale = (f64::from(width) / WIDTH) as f32;
    resvg::render(
        &tree,
        Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}
