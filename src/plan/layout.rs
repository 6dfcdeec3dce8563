//! Where everything of the ceremony picture goes, in the drawing's own units (1400 wide): the
//! time scale, the lanes, and rows for labels so that none overlaps another. Pure geometry;
//! it draws nothing.

use std::time::Duration;

use super::Picture;

/// The drawing's width in its own units (a PNG scales it).
pub const WIDTH: f64 = 1400.0;
/// Where the plot starts: the lane names sit left of it.
pub const PLOT_LEFT: f64 = 170.0;
/// Room right of the plot.
const RIGHT_MARGIN: f64 = 56.0;
/// The title block.
const TITLE_HEIGHT: f64 = 84.0;
/// One row of phase labels (title and length).
pub const PHASE_ROW: f64 = 44.0;
/// A light lane.
const LIGHT_LANE: f64 = 84.0;
/// An audio layer lane.
const LAYER_LANE: f64 = 62.0;
/// The strip at the top of a lane that holds its labels, above the level's full scale.
pub const LABEL_STRIP: f64 = 22.0;
/// Space between lanes.
const LANE_GAP: f64 = 12.0;
/// One row of one-shot labels.
pub const SHOT_ROW: f64 = 21.0;
/// The time axis under the lanes.
const AXIS_HEIGHT: f64 = 40.0;
/// The legend at the foot.
const LEGEND_HEIGHT: f64 = 58.0;
/// Phase title size.
pub const PHASE_TITLE_SIZE: f64 = 16.0;
/// Phase length size (second line).
pub const PHASE_SUB_SIZE: f64 = 13.0;
/// One-shot label size.
pub const SHOT_SIZE: f64 = 13.0;
/// Lane label size (targets, sources) and legend size.
pub const LABEL_SIZE: f64 = 13.0;
/// Space kept between neighbouring labels on a row.
const LABEL_GAP: f64 = 10.0;

/// What a lane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    /// The picture's `i`th light lane.
    Light(usize),
    /// The picture's `i`th audio layer lane.
    Layer(usize),
}

/// A lane's box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneBox {
    /// What it shows.
    pub kind: LaneKind,
    /// Top edge.
    pub top: f64,
    /// Height, with the label strip at the top.
    pub height: f64,
}

impl LaneBox {
    /// The bottom edge (zero level).
    #[must_use]
    pub fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// The y of `fraction` (0..=1) of the lane's full scale, which ends under its label strip.
    #[must_use]
    pub fn y(&self, fraction: f64) -> f64 {
        self.bottom() - fraction.clamp(0.0, 1.0) * (self.height - LABEL_STRIP)
    }
}

/// A label placed on a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// Left edge of the text.
    pub x: f64,
    /// Its width (estimated from the font's advances).
    pub width: f64,
    /// Row, 0 nearest the lanes.
    pub row: usize,
}

/// One-shots sounding at (nearly) the same moment, drawn as one mark.
#[derive(Debug, Clone, PartialEq)]
pub struct ShotGroup {
    /// Ceremony time of the first.
    pub at: Duration,
    /// `chime`, or `chime + bowl-low`.
    pub label: String,
    /// Where its label goes.
    pub placed: Placed,
}

/// The picture's geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Total height in drawing units.
    pub height: f64,
    /// Right edge of the plot.
    pub plot_right: f64,
    /// The ceremony's length (the right edge of the plot).
    pub length: Duration,
    /// Top of the phase labels.
    pub header_top: f64,
    /// Rows of phase labels.
    pub header_rows: usize,
    /// Each phase's label.
    pub phase_labels: Vec<Placed>,
    /// Top of the lanes (and of the phase bands).
    pub lanes_top: f64,
    /// Light lanes, then layer lanes.
    pub lanes: Vec<LaneBox>,
    /// Top of the one-shot band.
    pub shots_top: f64,
    /// Rows of one-shot labels.
    pub shot_rows: usize,
    /// The one-shot marks.
    pub shots: Vec<ShotGroup>,
    /// The time axis line.
    pub axis_y: f64,
    /// Baseline of the legend.
    pub legend_y: f64,
}

impl Layout {
    /// Lays out `picture`.
    #[must_use]
    pub fn new(picture: &Picture) -> Self {
        let plot_right = WIDTH - RIGHT_MARGIN;
        let mut layout = Self {
            height: 0.0,
            plot_right,
            length: picture.length,
            header_top: TITLE_HEIGHT,
            header_rows: 1,
            phase_labels: Vec::new(),
            lanes_top: 0.0,
            lanes: Vec::new(),
            shots_top: 0.0,
            shot_rows: 1,
            shots: Vec::new(),
            axis_y: 0.0,
            legend_y: 0.0,
        };
        let phase_items: Vec<(f64, f64)> = picture
            .phases
            .iter()
            .map(|p| {
                let (title, sub) = phase_label(p);
                let w = text_width(&title, PHASE_TITLE_SIZE, true).max(text_width(
                    &sub,
                    PHASE_SUB_SIZE,
                    false,
                ));
                (layout.x(p.start) + 5.0, w)
            })
            .collect();
        layout.phase_labels = place(&phase_items, plot_right);
        layout.header_rows = rows(&layout.phase_labels);
        let mut y = layout.header_top + PHASE_ROW * rows_f(layout.header_rows) + 8.0;
        layout.lanes_top = y;
        let lights = (0..picture.lights.len()).map(|i| (LaneKind::Light(i), LIGHT_LANE));
        let layers = (0..picture.layers.len()).map(|i| (LaneKind::Layer(i), LAYER_LANE));
        for (kind, height) in lights.chain(layers) {
            layout.lanes.push(LaneBox {
                kind,
                top: y,
                height,
            });
            y += height + LANE_GAP;
        }
        layout.shots_top = y;
        layout.shots = shot_groups(picture, &layout);
        layout.shot_rows = rows(&layout.shots.iter().map(|s| s.placed).collect::<Vec<_>>());
        y += SHOT_ROW * rows_f(layout.shot_rows) + 14.0;
        layout.axis_y = y;
        layout.legend_y = y + AXIS_HEIGHT + 10.0;
        layout.height = y + AXIS_HEIGHT + LEGEND_HEIGHT;
        layout
    }

    /// The x of ceremony time `t`.
    #[must_use]
    pub fn x(&self, t: Duration) -> f64 {
        let length = self.length.as_secs_f64().max(1e-9);
        PLOT_LEFT + (self.plot_right - PLOT_LEFT) * (t.as_secs_f64() / length).clamp(0.0, 1.0)
    }

    /// Baseline of the phase label title on `row` (row 0 is nearest the lanes).
    #[must_use]
    pub fn phase_title_y(&self, row: usize) -> f64 {
        self.lanes_top - 8.0 - PHASE_ROW * rows_f(row) - PHASE_ROW + PHASE_TITLE_SIZE + 6.0
    }

    /// Baseline of a one-shot label on `row`.
    #[must_use]
    pub fn shot_label_y(&self, row: usize) -> f64 {
        self.shots_top + 12.0 + SHOT_ROW * rows_f(row) + SHOT_SIZE * 0.4
    }

    /// Tick spacing for the time axis: about ten ticks at a round step.
    #[must_use]
    pub fn tick_step(&self) -> Duration {
        const STEPS: [u64; 12] = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
        let secs = self.length.as_secs_f64();
        let step = STEPS
            .iter()
            .copied()
            .find(|&s| secs / f64::from(u32::try_from(s).unwrap_or(u32::MAX)) <= 12.0)
            .unwrap_or(7200);
        Duration::from_secs(step)
    }
}

/// A phase's label: its title, and how long it lasts here (and whether it waits for `next`).
#[must_use]
pub fn phase_label(p: &super::PhaseSpan) -> (String, String) {
    let len = crate::units::format_duration(p.end.saturating_sub(p.start));
    let sub = match (p.manual, p.min) {
        (false, _) => len,
        (true, Some(min)) if min == p.end.saturating_sub(p.start) => format!("manual · min {len}"),
        (true, _) => format!("manual · shown {len}"),
    };
    let title = if p.title.is_empty() {
        p.id.clone()
    } else {
        p.title.clone()
    };
    (title, sub)
}

fn rows_f(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn rows(placed: &[Placed]) -> usize {
    placed.iter().map(|p| p.row + 1).max().unwrap_or(1)
}

/// Groups one-shots closer than a few units and places their labels right of their marks.
fn shot_groups(picture: &Picture, layout: &Layout) -> Vec<ShotGroup> {
    let mut groups: Vec<(Duration, Vec<String>)> = Vec::new();
    for shot in &picture.one_shots {
        match groups.last_mut() {
            Some((at, names)) if layout.x(shot.at) - layout.x(*at) < 3.0 => {
                if !names.contains(&shot.name) {
                    names.push(shot.name.clone());
                }
            }
            _ => groups.push((shot.at, vec![shot.name.clone()])),
        }
    }
    let labels: Vec<String> = groups.iter().map(|(_, n)| n.join(" + ")).collect();
    let items: Vec<(f64, f64)> = groups
        .iter()
        .zip(&labels)
        .map(|((at, _), l)| {
            let width = text_width(l, SHOT_SIZE, false);
            let x = layout.x(*at);
            // Right of the mark, or left of it where the plot ends.
            let left = if x + 9.0 + width > layout.plot_right {
                x - 9.0 - width
            } else {
                x + 9.0
            };
            (left, width)
        })
        .collect();
    let placed = place(&items, layout.plot_right);
    groups
        .into_iter()
        .zip(labels)
        .zip(placed)
        .map(|(((at, _), label), placed)| ShotGroup { at, label, placed })
        .collect()
}

/// Places labels (left edge, width), in the order given, each on the first row where it
/// clears the previous label there; a label that would run past `right` is moved left.
#[must_use]
pub fn place(items: &[(f64, f64)], right: f64) -> Vec<Placed> {
    let mut ends: Vec<f64> = Vec::new();
    items
        .iter()
        .map(|&(x, width)| {
            let x = x.min(right - width).max(0.0);
            let row = ends
                .iter()
                .position(|&end| end + LABEL_GAP <= x)
                .unwrap_or(ends.len());
            if row == ends.len() {
                ends.push(0.0);
            }
            ends[row] = x + width;
            Placed { x, width, row }
        })
        .collect()
}

/// The width of `text` in DejaVu Sans at `size`, from the font's advance widths (per
/// character class, rounded up a little so that estimates never undercut the real text).
#[must_use]
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let em: f64 = text.chars().map(advance).sum();
    let weight = if bold { 1.1 } else { 1.0 };
    em * size * weight * 1.03
}

/// Advance width in em of one DejaVu Sans character (units per em: 2048).
fn advance(c: char) -> f64 {
    let units = match c {
        ' ' | '.' | ',' | ':' | ';' | '·' | '\'' | '!' | '|' => 651.0,
        'i' | 'l' | 'j' | 'I' => 600.0,
        'f' | 't' | 'r' | '(' | ')' | '-' | '/' => 860.0,
        'm' => 1995.0,
        'w' | 'M' | 'W' | '%' | '→' | '≥' | '+' | '=' => 1720.0,
        '0'..='9' => 1303.0,
        'A'..='Z' => 1450.0,
        _ => 1300.0,
    };
    units / 2048.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_that_would_overlap_go_to_the_next_row() {
        let placed = place(
            &[(0.0, 50.0), (30.0, 50.0), (70.0, 20.0), (100.0, 10.0)],
            1000.0,
        );
        let rows: Vec<usize> = placed.iter().map(|p| p.row).collect();
        assert_eq!(rows, [0, 1, 0, 0]);
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                let apart = a.x + a.width + LABEL_GAP <= b.x || b.x + b.width + LABEL_GAP <= a.x;
                assert!(a.row != b.row || apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_label_at_the_right_edge_moves_left_to_fit() {
        let placed = place(&[(990.0, 40.0)], 1000.0);
        assert!((placed[0].x - 960.0).abs() < 1e-9);
    }

    #[test]
    fn wider_text_measures_wider() {
        assert!(text_width("massage", 12.0, false) > text_width("mass", 12.0, false));
        assert!(text_width("Soaking", 12.0, true) > text_width("Soaking", 12.0, false));
        assert!(text_width("MMM", 12.0, false) > text_width("iii", 12.0, false));
    }
}
