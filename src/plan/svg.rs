//! Draws the ceremony picture as SVG with the `svg` crate: phases as bands with their titles,
//! one lane per light (level as height, its colour as the fill) and per audio layer (gain as
//! height), chimes as marks, and a time axis in minutes, on a dark warm ground. Owns the
//! look; where things go is `layout`'s, what they are is the sampled `Picture`.

use std::fmt::Write as _;
use std::time::Duration;

use svg::Document;
use svg::node::element::{Element, Group, Line, Path, Rectangle, Text};

use super::layout::{
    self, LABEL_SIZE, LaneBox, LaneKind, Layout, PHASE_SUB_SIZE, PHASE_TITLE_SIZE, PLOT_LEFT,
    SHOT_SIZE, WIDTH, text_width,
};
use super::palette::{self, BACKGROUND, CHIME, LANE, MUTED, RULE, Rgb, TEXT};
use super::{LayerLane, LightLane, Picture};
use crate::lights::target::{Effect, LightColor, LightTarget};
use crate::units::format_duration;

/// The quietest gain a layer lane shows; its bottom edge.
pub const GAIN_FLOOR_DB: f64 = -40.0;
/// The font the picture names (the PNG embeds it; browsers fall back to a sans-serif).
pub const FONT_FAMILY: &str = "DejaVu Sans, Verdana, sans-serif";
/// Where lane names start.
const NAME_X: f64 = 24.0;

/// The SVG text of `picture`.
#[must_use]
pub fn render(picture: &Picture) -> String {
    document(picture, &Layout::new(picture)).to_string()
}

/// The SVG document of `picture` laid out by `layout`.
#[must_use]
pub fn document(picture: &Picture, layout: &Layout) -> Document {
    let mut doc = Document::new()
        .set("width", WIDTH)
        .set("height", layout.height)
        .set("viewBox", (0, 0, WIDTH, layout.height))
        .set("font-family", FONT_FAMILY)
        .set("data-plot-left", PLOT_LEFT)
        .set("data-plot-right", layout.plot_right)
        .set("data-length-seconds", picture.length.as_secs_f64())
        .add(rect(0.0, 0.0, WIDTH, layout.height, BACKGROUND));
    doc = doc.add(title(picture));
    doc = doc.add(phase_bands(picture, layout));
    for lane in &layout.lanes {
        doc = doc.add(match lane.kind {
            LaneKind::Light(i) => light_lane(&picture.lights[i], lane, layout),
            LaneKind::Layer(i) => layer_lane(&picture.layers[i], i, lane, layout),
        });
    }
    doc.add(phase_lines(picture, layout))
        .add(shots(layout))
        .add(axis(layout))
        .add(legend(layout, picture.phases.iter().any(|p| p.manual)))
}

fn title(picture: &Picture) -> Group {
    let manual = picture.phases.iter().filter(|p| p.manual).count();
    let mut sub = format!(
        "{} in {} phases",
        format_duration(picture.length),
        picture.phases.len()
    );
    if manual > 0 {
        let _ = write!(
            sub,
            " · {manual} wait for next, drawn at {}",
            match picture.policy {
                crate::render::ManualAfter::Min => "their minimum".to_owned(),
                crate::render::ManualAfter::Fixed(d) => format_duration(d),
            }
        );
    }
    Group::new()
        .set("class", "title")
        .add(text(NAME_X, 42.0, 28.0, TEXT, &picture.title).set("font-weight", "bold"))
        .add(text(NAME_X, 68.0, 15.0, MUTED, &sub))
}

/// Alternate phases get a faint band, so the eye finds a phase's column.
fn phase_bands(picture: &Picture, layout: &Layout) -> Group {
    let mut g = Group::new().set("class", "phase-bands");
    for (i, p) in picture.phases.iter().enumerate() {
        if i % 2 == 1 {
            let x = layout.x(p.start);
            g = g.add(
                rect(
                    x,
                    layout.lanes_top - 4.0,
                    layout.x(p.end) - x,
                    layout.axis_y - layout.lanes_top + 4.0,
                    TEXT,
                )
                .set("fill-opacity", 0.035),
            );
        }
    }
    g
}

/// Phase boundaries (dashed after a manual phase: it ends when someone presses next) and the
/// phase titles above the lanes.
fn phase_lines(picture: &Picture, layout: &Layout) -> Group {
    let mut g = Group::new().set("class", "phases");
    let mut titles = Group::new().set("class", "phase-titles");
    for (i, (p, label)) in picture.phases.iter().zip(&layout.phase_labels).enumerate() {
        let x = layout.x(p.start);
        let title_y = layout.phase_title_y(label.row);
        let mut line = line((x, title_y - PHASE_TITLE_SIZE), (x, layout.axis_y), RULE)
            .set("class", "phase-start")
            .set("data-phase", p.id.as_str())
            .set("stroke-width", 1.2);
        if i > 0 && picture.phases[i - 1].manual {
            line = line.set("stroke-dasharray", "5 4");
        }
        g = g.add(line);
        let (title, sub) = layout::phase_label(p);
        let sub_colour = if p.manual { CHIME } else { MUTED };
        // Titles go over every line, each with a halo: a later phase's line may pass behind.
        titles = titles
            .add(halo(
                text(label.x, title_y, PHASE_TITLE_SIZE, TEXT, &title)
                    .set("font-weight", "bold")
                    .set("id", format!("phase-{i}-title")),
            ))
            .add(halo(
                text(label.x, title_y + 18.0, PHASE_SUB_SIZE, sub_colour, &sub)
                    .set("id", format!("phase-{i}-length")),
            ));
    }
    let end = layout.x(picture.finish_at);
    let mut finish = line((end, layout.lanes_top - 4.0), (end, layout.axis_y), RULE)
        .set("class", "finish")
        .set("stroke-width", 1.2);
    if picture.phases.last().is_some_and(|p| p.manual) {
        finish = finish.set("stroke-dasharray", "5 4");
    }
    g.add(finish).add(titles)
}

/// The lane's ground, its name at the left, and a guide line halfway up its scale, named in
/// the right margin.
fn lane_frame(lane: &LaneBox, layout: &Layout, name: [&str; 3], half: &str) -> Group {
    let [kind, name, detail] = name;
    let half_y = lane.y(0.5);
    Group::new()
        .set("class", format!("lane {kind}"))
        .set("data-name", name)
        .set("data-top", lane.top)
        .set("data-height", lane.height)
        .add(rect(
            PLOT_LEFT,
            lane.top,
            layout.plot_right - PLOT_LEFT,
            lane.height,
            LANE,
        ))
        .add(
            line((PLOT_LEFT, half_y), (layout.plot_right, half_y), RULE)
                .set("stroke-opacity", 0.7)
                .set("stroke-dasharray", "1 4"),
        )
        .add(text(
            layout.plot_right + 4.0,
            half_y + 3.5,
            10.0,
            MUTED,
            half,
        ))
        .add(
            text(NAME_X, lane.top + 23.0, 17.0, TEXT, name)
                .set("font-weight", "bold")
                .set("class", "lane-name"),
        )
        .add(text(NAME_X, lane.top + 42.0, 13.0, MUTED, detail))
}

fn light_lane(lane: &LightLane, lane_box: &LaneBox, layout: &Layout) -> Group {
    let detail = if lane.lights.len() > 1 {
        format!("{} lights", lane.lights.len())
    } else {
        "light".to_owned()
    };
    let mut g = lane_frame(lane_box, layout, ["light", &lane.name, &detail], "50%");
    let y = |level: f32| lane_box.y(f64::from(level));
    // The level, filled with the colour the light shows.
    for run in runs(&lane.samples, |s| palette::light(s.color)) {
        let colour = palette::light(lane.samples[run.start].color);
        // Reaching two samples into the next run, so that the next run's edge lies on this
        // fill rather than on the ground (no seam between touching colours).
        let end = (run.end + 2).min(lane.samples.len());
        let part = &lane.samples[run.start..end];
        g = g.add(area(
            part.iter().map(|s| (layout.x(s.at), y(s.level))),
            lane_box,
            colour,
        ));
    }
    // Effects: a wave along the level for breathe, a flicker for candle.
    for run in runs(&lane.samples, |s| std::mem::discriminant(&s.effect)) {
        let effect = lane.samples[run.start].effect;
        if effect == Effect::None {
            continue;
        }
        let mut d = String::new();
        let mut drawing = false;
        for s in &lane.samples[run] {
            if s.level <= 0.005 {
                drawing = false;
                continue;
            }
            let x = layout.x(s.at);
            let swing = (f64::from(s.level * effect_depth(effect)) * lane_box.height).max(3.0);
            let y = y(s.level) - swing * wiggle(effect, x);
            let _ = write!(d, "{}{x:.1},{y:.1} ", if drawing { 'L' } else { 'M' });
            drawing = true;
        }
        g = g.add(
            Path::new()
                .set("class", "effect")
                .set("d", d.trim_end())
                .set("fill", "none")
                .set("stroke", TEXT.hex())
                .set("stroke-opacity", 0.75)
                .set("stroke-width", 1.2),
        );
    }
    let labels: Vec<(Duration, String)> = lane
        .targets
        .iter()
        .map(|(at, t)| (*at, target_text(t)))
        .collect();
    g.add(lane_labels(&labels, lane_box, layout))
}

fn layer_lane(lane: &LayerLane, index: usize, lane_box: &LaneBox, layout: &Layout) -> Group {
    let half = format!("{} dB", GAIN_FLOOR_DB / 2.0);
    let mut g = lane_frame(
        lane_box,
        layout,
        ["layer", &lane.name, "sound layer"],
        &half,
    );
    let y = |amplitude: f32| {
        let db = 20.0 * f64::from(amplitude).max(1e-9).log10();
        lane_box.y((db - GAIN_FLOOR_DB) / -GAIN_FLOOR_DB)
    };
    let points = lane.samples.iter().map(|(at, a)| (layout.x(*at), y(*a)));
    g = g.add(area(points, lane_box, palette::layer(index)));
    let labels: Vec<(Duration, String)> = lane
        .sources
        .iter()
        .map(|s| (s.at, format!("{} {}", s.label, s.gain)))
        .collect();
    g.add(lane_labels(&labels, lane_box, layout))
}

/// Labels along the top of a lane, left to right; one that would touch the previous is left
/// out (the shape below still tells it).
fn lane_labels(labels: &[(Duration, String)], lane: &LaneBox, layout: &Layout) -> Group {
    let mut g = Group::new().set("class", "lane-labels");
    let mut free_from = PLOT_LEFT;
    let id = match lane.kind {
        LaneKind::Light(i) => format!("light-{i}"),
        LaneKind::Layer(i) => format!("layer-{i}"),
    };
    for (k, (at, label)) in labels.iter().enumerate() {
        let x = layout.x(*at) + 4.0;
        let width = text_width(label, LABEL_SIZE, false);
        if x < free_from || x + width > layout.plot_right {
            continue;
        }
        free_from = x + width + 12.0;
        g = g.add(halo(
            text(x, lane.top + 16.0, LABEL_SIZE, TEXT, label).set("id", format!("{id}-label-{k}")),
        ));
    }
    g
}

/// `35% 2400 K candle`: what a light is sent to.
fn target_text(t: &LightTarget) -> String {
    let mut s = if t.level <= 0.0 {
        "off".to_owned()
    } else {
        format!("{:.0}%", t.level * 100.0)
    };
    match t.color {
        Some(LightColor::Kelvin(k)) if t.level > 0.0 => {
            let _ = write!(s, " {k} K");
        }
        Some(LightColor::Rgb([r, g, b])) if t.level > 0.0 => {
            let _ = write!(s, " #{r:02x}{g:02x}{b:02x}");
        }
        _ => {}
    }
    match t.effect {
        Effect::None => {}
        Effect::Candle { .. } => s.push_str(" candle"),
        Effect::Breathe { per_minute, .. } => {
            let _ = write!(s, " breathe {per_minute}/min");
        }
    }
    s
}

/// The shape of an effect along x, between -1 and 1: a slow sine for breathe, an uneven
/// flicker for candle (a picture of the effect, not its real rate).
fn wiggle(effect: Effect, x: f64) -> f64 {
    match effect {
        Effect::None => 0.0,
        Effect::Breathe { .. } => (x / 4.0).sin(),
        Effect::Candle { .. } => 0.6 * (x / 1.3).sin() * (x / 7.0).cos() + 0.4 * (x / 0.7).sin(),
    }
}

fn effect_depth(effect: Effect) -> f32 {
    match effect {
        Effect::None => 0.0,
        Effect::Candle { depth, .. } | Effect::Breathe { depth, .. } => depth,
    }
}

/// Index ranges of consecutive samples with the same `key`.
fn runs<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=items.len() {
        if i == items.len() || key(&items[i]) != key(&items[start]) {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// The one-shot marks: a diamond for each, with its name beside it.
fn shots(layout: &Layout) -> Group {
    let mut g = Group::new().set("class", "one-shots").add(
        text(NAME_X, layout.shots_top + 17.0, 17.0, TEXT, "chimes").set("font-weight", "bold"),
    );
    for (k, shot) in layout.shots.iter().enumerate() {
        let x = layout.x(shot.at);
        let y = layout.shots_top + 12.0;
        let d = 6.0;
        let diamond = format!(
            "M{x:.1},{:.1} L{:.1},{y:.1} L{x:.1},{:.1} L{:.1},{y:.1} Z",
            y - d,
            x + d,
            y + d,
            x - d
        );
        g = g
            .add(
                line((x, layout.lanes_top), (x, y - d), CHIME)
                    .set("stroke-opacity", 0.3)
                    .set("stroke-dasharray", "2 3"),
            )
            .add(
                Path::new()
                    .set("class", "chime")
                    .set("d", diamond)
                    .set("fill", CHIME.hex()),
            )
            .add(
                text(
                    shot.placed.x,
                    layout.shot_label_y(shot.placed.row),
                    SHOT_SIZE,
                    CHIME,
                    &shot.label,
                )
                .set("id", format!("chime-{k}")),
            );
    }
    g
}

/// The time axis: a tick and a label at each round step, in minutes.
fn axis(layout: &Layout) -> Group {
    let step = layout.tick_step();
    let minutes = step >= Duration::from_secs(60);
    let unit = if minutes { "minutes" } else { "min:sec" };
    let mut g = Group::new()
        .set("class", "axis")
        .add(line(
            (PLOT_LEFT, layout.axis_y),
            (layout.plot_right, layout.axis_y),
            MUTED,
        ))
        .add(text(NAME_X, layout.axis_y + 22.0, 14.0, MUTED, unit));
    let mut t = Duration::ZERO;
    while t <= layout.length {
        let x = layout.x(t);
        let s = t.as_secs();
        let label = if minutes {
            (s / 60).to_string()
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        };
        g = g
            .add(line((x, layout.axis_y), (x, layout.axis_y + 6.0), MUTED))
            .add(text(x, layout.axis_y + 22.0, 14.0, MUTED, &label).set("text-anchor", "middle"));
        t += step;
    }
    g
}

/// What the marks mean, on as many lines as it takes.
fn legend(layout: &Layout, manual: bool) -> Group {
    let mut y = layout.legend_y;
    let mut g = Group::new().set("class", "legend");
    let mut x = NAME_X;
    let swatch = |fill: Rgb| rect(0.0, -10.0, 14.0, 12.0, fill);
    let mut kelvins = Group::new();
    for (k, at) in [1800, 2200, 2700, 4000, 6500]
        .into_iter()
        .zip([0, 16, 32, 48, 64])
    {
        kelvins = kelvins.add(swatch(palette::kelvin(k)).set("x", at));
    }
    let items: [(&str, f64, Element); 4] = [
        (
            "light: height = level, colour = 1800 K … 6500 K",
            84.0,
            kelvins.into(),
        ),
        (
            "sound: height = gain, −40 … 0 dB",
            20.0,
            swatch(palette::layer(0)).into(),
        ),
        (
            "dashed: a manual phase ends on next",
            10.0,
            line((2.0, -12.0), (2.0, 3.0), MUTED)
                .set("stroke-dasharray", "3 2")
                .into(),
        ),
        (
            "wave: breathe, flicker: candle",
            20.0,
            Path::new()
                .set("d", "M0,-4 q3,-6 6,0 t6,0")
                .set("fill", "none")
                .set("stroke", TEXT.hex())
                .into(),
        ),
    ];
    for (label, mark_width, mark) in items {
        if label.starts_with("dashed") && !manual {
            continue;
        }
        let width = mark_width + text_width(label, LABEL_SIZE, false);
        if x + width > layout.plot_right {
            x = NAME_X;
            y += 22.0;
        }
        g = g
            .add(
                Group::new()
                    .set("transform", format!("translate({x:.1},{y:.1})"))
                    .add(mark),
            )
            .add(text(x + mark_width, y, LABEL_SIZE, MUTED, label));
        x += width + 28.0;
    }
    g
}

fn rect(x: f64, y: f64, w: f64, h: f64, fill: Rgb) -> Rectangle {
    Rectangle::new()
        .set("x", x)
        .set("y", y)
        .set("width", w.max(0.0))
        .set("height", h.max(0.0))
        .set("fill", fill.hex())
}

fn line(from: (f64, f64), to: (f64, f64), stroke: Rgb) -> Line {
    Line::new()
        .set("x1", from.0)
        .set("y1", from.1)
        .set("x2", to.0)
        .set("y2", to.1)
        .set("stroke", stroke.hex())
}

fn text(x: f64, y: f64, size: f64, fill: Rgb, content: &str) -> Text {
    Text::new(content)
        .set("x", round(x))
        .set("y", round(y))
        .set("font-size", size)
        .set("fill", fill.hex())
}

/// Text with a ground-coloured outline behind it, readable over any fill.
fn halo(t: Text) -> Text {
    t.set("stroke", BACKGROUND.hex())
        .set("stroke-width", 3)
        .set("stroke-opacity", 0.8)
        .set("stroke-linejoin", "round")
        .set("paint-order", "stroke")
}

/// The area under a line of points down to the lane's floor, with the line drawn brighter.
fn area(points: impl Iterator<Item = (f64, f64)>, lane: &LaneBox, colour: Rgb) -> Group {
    let points = flatten(&points.collect::<Vec<_>>());
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Group::new();
    };
    let floor = [(last.0, lane.bottom()), (first.0, lane.bottom())];
    let fill =
        polygon(points.iter().copied().chain(floor)).set("fill", colour.over(LANE, 0.78).hex());
    let mut d = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { 'M' } else { 'L' }, x, y);
    }
    let edge = Path::new()
        .set("d", d.trim_end())
        .set("fill", "none")
        .set("stroke", colour.hex())
        .set("stroke-width", 1.6);
    Group::new().add(fill).add(edge)
}

/// The points without the middle ones of level stretches (same y to a tenth of a unit),
/// which draw nothing a straight line would not: the file shrinks to its changes.
fn flatten(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let same = |a: f64, b: f64| (a - b).abs() < 0.05;
    points
        .iter()
        .enumerate()
        .filter(|&(i, p)| {
            let before = i.checked_sub(1).map(|j| points[j].1);
            let after = points.get(i + 1).map(|q| q.1);
            !(before.is_some_and(|b| same(b, p.1)) && after.is_some_and(|a| same(a, p.1)))
        })
        .map(|(_, p)| *p)
        .collect()
}

fn polygon(points: impl Iterator<Item = (f64, f64)>) -> Path {
    let mut d = String::new();
    for (i, (x, y)) in points.enumerate() {
        let _ = write!(d, "{}{:.1},{:.1} ", if i == 0 { 'M' } else { 'L' }, x, y);
    }
    d.push('Z');
    Path::new().set("d", d)
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
