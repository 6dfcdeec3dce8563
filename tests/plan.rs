//! `sanctum plan`: the printed plan, the SVG and the PNG, judged by numbers taken from the
//! ceremony files and from the engine itself (phase starts and lengths, lane counts, boundary
//! positions, levels, pixel sizes and ink), never from snapshots of whole images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;
use resvg::tiny_skia::Pixmap;
use resvg::usvg;
use sanctum::model::{Advance, Ceremony};
use sanctum::plan::command::COLUMNS;
use sanctum::plan::layout::{LABEL_STRIP, LaneKind, Layout, PLOT_LEFT, text_width};
use sanctum::plan::{self, palette};
use sanctum::render::ManualAfter;
use sanctum::timeline::Timeline;
use sanctum::units::{format_clock, format_duration};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(dir: &Path) -> Timeline {
    let loaded = sanctum::config::load_ceremony(dir, None).expect("the ceremony loads");
    Timeline::new(Arc::new(loaded.ceremony), loaded.rig)
}

fn light_index(timeline: &Timeline, name: &str) -> usize {
    let lights = &timeline.rig().lights;
    lights
        .iter()
        .position(|l| l.name == name)
        .expect("the rig has it")
}

fn plan_cmd(args: &[&str]) -> String {
    let out = Command::cargo_bin("sanctum")
        .expect("binary")
        .arg("plan")
        .args(args)
        .env("SANCTUM_LOG", "warn")
        .assert()
        .success();
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

/// Runs `sanctum plan <dir> <flag> <tmp>/<name> <extra…>` and returns the file written.
fn drawn(dir: &Path, tmp: &Path, flag: &str, name: &str, extra: &[&str]) -> PathBuf {
    let file = tmp.join(name);
    let mut args = vec![
        dir.to_str().expect("utf-8"),
        flag,
        file.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    plan_cmd(&args);
    file
}

/// Each phase's start and length as the ceremony file says, manual phases lasting `manual`
/// (or their `min` when `manual` is `None`).
fn expected_phases(c: &Ceremony, manual: Option<Duration>) -> Vec<(String, Duration, Duration)> {
    let mut start = Duration::ZERO;
    c.phases
        .iter()
        .map(|p| {
            let len = match (p.advance, manual) {
                (Advance::After(d), _) => d,
                (Advance::Manual, Some(m)) => m,
                (Advance::Manual, None) => p.min.expect("a phase with a min"),
            };
            let row = (p.id.clone(), start, len);
            start += len;
            row
        })
        .collect()
}

/// The phase table of the printed plan: id → (start, length, how).
fn table(stdout: &str) -> BTreeMap<String, (String, String, String)> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let how = if w[1] == "(finish)" { "" } else { w[3] };
            (
                w[1].to_owned(),
                (w[0].to_owned(), w[2].to_owned(), how.to_owned()),
            )
        })
        .collect()
}

#[test]
fn the_printed_plan_of_the_demo_has_each_phase_cue_note_and_chime_in_place() {
    let dir = root().join("scenes/demo");
    let timeline = load(&dir);
    let c = timeline.ceremony();
    let stdout = plan_cmd(&[dir.to_str().expect("utf-8")]);
    let rows = table(&stdout);
    let phases = expected_phases(c, None);
    assert_eq!(
        rows.len(),
        phases.len() + 1,
        "a row per phase and the finish:\n{stdout}"
    );
    for (id, start, len) in &phases {
        let got = &rows[id];
        assert_eq!(got.0, format_clock(*start), "{id} start");
        assert_eq!(got.1, format_duration(*len), "{id} length");
        assert_eq!(got.2, "auto", "{id}");
    }
    let (_, last_start, last_len) = phases.last().expect("phases");
    let finish = *last_start + *last_len;
    assert_eq!(rows["(finish)"].0, format_clock(finish));
    assert_eq!(
        rows["(finish)"].1,
        format_duration(c.finish_fade + sanctum::timeline::END_SILENCE)
    );
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains(&format_duration(
                finish + c.finish_fade + sanctum::timeline::END_SILENCE
            )))
    );
    // Every note and every one-shot of the scenes, at its ceremony time.
    let mut notes = 0;
    let mut chimes = 0;
    for (phase, (_, start, _)) in c.phases.iter().zip(&phases) {
        for cue in &phase.scene.cues {
            let at = format_clock(*start + cue.at);
            if let Some(note) = &cue.note {
                let line = format!("{at}  ✎ {note}");
                assert!(stdout.contains(&line), "missing `{line}`");
                notes += 1;
            }
            for shot in &cue.sounds {
                let name = shot.file.file_name().expect("name").to_string_lossy();
                let line = format!("{at}  ♪ {name}");
                assert!(stdout.contains(&line), "missing `{line}`");
                chimes += 1;
            }
        }
    }
    assert_eq!(stdout.matches("  ✎ ").count(), notes);
    assert_eq!(stdout.matches("  ♪ ").count(), chimes);
    assert!(chimes >= 3 && notes >= 3, "{chimes} chimes, {notes} notes");
}

#[test]
fn manual_phases_last_their_min_or_the_time_asked() {
    let dir = root().join("scenes/sex-medicine");
    let c = load(&dir).ceremony().clone();
    let path = dir.to_str().expect("utf-8");
    let fixed = table(&plan_cmd(&[path, "--manual-after", "5m"]));
    for (id, start, len) in expected_phases(&c, Some(Duration::from_secs(300))) {
        assert_eq!(fixed[&id].0, format_clock(start), "{id}");
        assert_eq!(fixed[&id].1, format_duration(len), "{id}");
        let manual = c
            .phases
            .iter()
            .any(|p| p.id == id && p.advance == Advance::Manual);
        assert_eq!(fixed[&id].2, if manual { "manual" } else { "auto" });
    }
    let by_min = table(&plan_cmd(&[path]));
    let with_min: Vec<_> = c.phases.iter().filter(|p| p.min.is_some()).collect();
    assert!(with_min.len() >= 2);
    for p in with_min {
        assert_eq!(
            by_min[&p.id].1,
            format_duration(p.min.expect("min")),
            "{}",
            p.id
        );
    }
    // --from starts the table at that phase, at time zero.
    let from = table(&plan_cmd(&[path, "--from", "soaking"]));
    assert_eq!(from["soaking"].0, format_clock(Duration::ZERO));
    assert!(!from.contains_key("massage"));
}

/// Tag name and attributes of every element of an SVG file.
fn elements(svg: &str) -> Vec<(String, BTreeMap<String, String>)> {
    svg::read(svg)
        .expect("svg parses")
        .filter_map(|e| match e {
            svg::parser::Event::Tag(name, _, attrs) => Some((
                name.to_owned(),
                attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

fn num(attrs: &BTreeMap<String, String>, key: &str) -> f64 {
    attrs[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?}", attrs[key]))
}

#[test]
fn the_svg_has_a_lane_per_light_and_layer_and_each_phase_line_at_its_start() {
    let dir = root().join("scenes/demo");
    let timeline = load(&dir);
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = drawn(&dir, tmp.path(), "--svg", "demo.svg", &[]);
    let svg = std::fs::read_to_string(&file).expect("svg written");
    let els = elements(&svg);
    let lanes = |kind: &str| -> Vec<String> {
        els.iter()
            .filter(|(n, a)| {
                n == "g" && a.get("class").is_some_and(|c| c == &format!("lane {kind}"))
            })
            .map(|(_, a)| a["data-name"].clone())
            .collect()
    };
    // Every demo light does something of its own, so each has its own lane.
    let rig = timeline.rig();
    let lights: Vec<&str> = rig.lights.iter().map(|l| l.name.as_str()).collect();
    let layers: Vec<&str> = rig.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(lanes("light"), lights);
    assert_eq!(lanes("layer"), layers);

    let root_attrs = &els.iter().find(|(n, _)| n == "svg").expect("svg element").1;
    let (left, right) = (
        num(root_attrs, "data-plot-left"),
        num(root_attrs, "data-plot-right"),
    );
    let c = timeline.ceremony();
    let phases = expected_phases(c, None);
    let (_, last_start, last_len) = phases.last().expect("phases");
    let length =
        (*last_start + *last_len + c.finish_fade + sanctum::timeline::END_SILENCE).as_secs_f64();
    assert!((num(root_attrs, "data-length-seconds") - length).abs() < 1e-9);
    let lines: BTreeMap<String, f64> = els
        .iter()
        .filter(|(n, a)| n == "line" && a.get("class").is_some_and(|c| c == "phase-start"))
        .map(|(_, a)| (a["data-phase"].clone(), num(a, "x1")))
        .collect();
    assert_eq!(lines.len(), phases.len());
    for (id, start, _) in &phases {
        let want = left + (right - left) * start.as_secs_f64() / length;
        assert!(
            (lines[id] - want).abs() < 0.01,
            "{id}: x {} vs {want}",
            lines[id]
        );
    }
}

#[test]
fn lights_that_always_do_the_same_share_one_lane_named_for_their_group() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    std::fs::write(
        dir.join("rig.toml"),
        "room = \"t\"\n[lights.x]\ndriver = \"wled\"\naddress = \"x\"\n\
         [lights.y]\ndriver = \"wled\"\naddress = \"y\"\n\
         [lights.z]\ndriver = \"wled\"\naddress = \"z\"\n\
         [groups]\npair = [\"x\", \"y\"]\n",
    )
    .expect("rig");
    std::fs::write(
        dir.join("ceremony.toml"),
        "title = \"Pairs\"\n[[phase]]\nid = \"a\"\nscene = \"a.toml\"\nafter = \"1m\"\n",
    )
    .expect("ceremony");
    std::fs::write(
        dir.join("a.toml"),
        "[[cue]]\nat = \"0s\"\n[cue.lights.pair]\nlevel = 0.5\nkelvin = 2200\nfade = \"10s\"\n\
         [cue.lights.z]\nlevel = 0.2\nfade = \"10s\"\n\
         [[cue]]\nat = \"30s\"\n[cue.lights.pair]\nlevel = 0.3\nfade = \"5s\"\n",
    )
    .expect("scene");
    let picture = plan::sample(&load(dir), ManualAfter::Min, 200).expect("sample");
    let lanes: Vec<(&str, &[usize])> = picture
        .lights
        .iter()
        .map(|l| (l.name.as_str(), l.lights.as_slice()))
        .collect();
    assert_eq!(lanes, [("pair", &[0, 1][..]), ("z", &[2][..])]);
}

#[test]
fn a_sampled_level_matches_the_engine_and_the_scene_at_a_cue() {
    let dir = root().join("scenes/demo");
    let timeline = load(&dir);
    let picture = plan::sample(&timeline, ManualAfter::Min, COLUMNS).expect("sample");
    let c = timeline.ceremony();
    let k = c.phase_index("deepen").expect("the demo has deepen");
    let start = expected_phases(c, None)[k].1;
    let cue = &c.phases[k].scene.cues[0];
    let light = &cue.lights[0];
    let (level, fade) = (light.level.expect("a level"), light.fade.expect("a fade"));
    let strip = light_index(&timeline, "strip");
    assert!(light.lights.contains(&strip));
    let lane = picture
        .lights
        .iter()
        .find(|l| l.lights.contains(&strip))
        .expect("a strip lane");
    let mut engine = timeline.clone();
    let mut events = Vec::new();
    engine
        .command(
            Duration::ZERO,
            &sanctum::command::Command::Start,
            &mut events,
        )
        .expect("start");
    let before = lane.at(start).expect("sample").level;
    for t in [
        start,
        start + fade / 2,
        start + fade,
        start + fade + Duration::from_secs(3),
    ] {
        engine.advance(t, &mut events);
        let sample = lane.at(t).expect("a sample");
        // The sample in force at `t` was taken at `sample.at` (the grid's last step before).
        let want = engine.light_levels(sample.at)[strip];
        assert!(
            (sample.level - want).abs() < 1e-3,
            "at {t:?}: {} vs {want}",
            sample.level
        );
    }
    assert_eq!(
        lane.at(start).expect("sample").at,
        start,
        "the cue time itself is sampled"
    );
    let mid = lane.at(start + fade / 2).expect("sample").level;
    assert!(
        mid < before && mid > level,
        "mid-fade {mid} between {before} and {level}"
    );
    let after = lane
        .at(start + fade + Duration::from_secs(1))
        .expect("sample")
        .level;
    assert!(
        (after - level).abs() < 1e-4,
        "{after} vs the scene's {level}"
    );
}

/// Sum of channel differences between a pixel and a colour.
fn distance(p: resvg::tiny_skia::PremultipliedColorU8, c: palette::Rgb) -> u32 {
    let [r, g, b] = c.0;
    u32::from(p.red().abs_diff(r))
        + u32::from(p.green().abs_diff(g))
        + u32::from(p.blue().abs_diff(b))
}

#[test]
fn the_png_has_the_asked_size_ink_in_every_lane_and_levels_at_their_height() {
    let dir = root().join("scenes/sex-medicine");
    let timeline = load(&dir);
    let tmp = tempfile::tempdir().expect("tempdir");
    let width = 1200;
    let file = drawn(&dir, tmp.path(), "--png", "plan.png", &["--width", "1200"]);
    let pixmap = Pixmap::decode_png(&std::fs::read(&file).expect("png written")).expect("decodes");
    let picture = plan::sample(&timeline, ManualAfter::Min, COLUMNS).expect("sample");
    let layout = Layout::new(&picture);
    assert_eq!(pixmap.width(), width);
    assert_eq!(pixmap.height(), plan::png::height_for(layout.height, width));
    let scale = f64::from(width) / sanctum::plan::layout::WIDTH;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let px = |v: f64| (v * scale).round() as u32;
    let at = |x: u32, y: u32| pixmap.pixel(x, y).expect("inside");
    assert_eq!(
        layout.lanes.len(),
        picture.lights.len() + picture.layers.len()
    );
    for lane in &layout.lanes {
        let mut ink = 0;
        let mut area = 0;
        for y in px(lane.top + LABEL_STRIP)..px(lane.bottom()) {
            for x in px(PLOT_LEFT) + 2..px(layout.plot_right) - 2 {
                area += 1;
                if distance(at(x, y), palette::LANE) > 60 {
                    ink += 1;
                }
            }
        }
        assert!(
            ink * 10 > area,
            "{:?}: {ink} of {area} pixels drawn",
            lane.kind
        );
    }
    // The strip stands at each scene's level in the middle of the phase (prepare and massage
    // set it steady, without effects). Drawn larger, so a pixel is less than a unit.
    let big_width = 2400;
    let scale = f64::from(big_width) / sanctum::plan::layout::WIDTH;
    let svg = plan::svg::document(&picture, &layout).to_string();
    let big = plan::png::rasterise(&svg, big_width).expect("rasterises");
    let pixmap = Pixmap::decode_png(&big).expect("decodes");
    let at = |x: u32, y: u32| pixmap.pixel(x, y).expect("inside");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let px = |v: f64| (v * scale).round() as u32;
    let c = timeline.ceremony();
    let strip = light_index(&timeline, "strip");
    let lane_index = picture
        .lights
        .iter()
        .position(|l| l.lights.contains(&strip))
        .expect("lane");
    let lane = layout
        .lanes
        .iter()
        .find(|l| l.kind == LaneKind::Light(lane_index))
        .expect("lane box");
    let mut levels = Vec::new();
    for id in ["prepare", "massage"] {
        let k = c.phase_index(id).expect("phase");
        let span = &picture.phases[k];
        let level = c.phases[k].scene.cues[0]
            .lights
            .iter()
            .find(|l| l.lights.contains(&strip))
            .and_then(|l| l.level)
            .expect("the phase sets the strip");
        let x = px(layout.x(span.start + (span.end - span.start) / 2));
        let top = (px(lane.top + LABEL_STRIP)..px(lane.bottom()))
            .find(|&y| distance(at(x, y), palette::LANE) > 60)
            .expect("the strip is drawn there");
        // Full scale spans the lane under its label strip.
        let want = (lane.bottom() - f64::from(level) * (lane.height - LABEL_STRIP)) * scale;
        // The level's edge line (1.6 units wide) is centred on it: its first pixel lies at
        // most half its width and one pixel of smoothing above the level, never below.
        let above = want - f64::from(top);
        assert!(
            (0.0..=0.8 * scale + 1.0).contains(&above),
            "{id}: the strip's top at {top}, its level at {want:.1}"
        );
        levels.push(level);
    }
    assert!(
        (levels[0] - levels[1]).abs() > 0.1,
        "two clearly different levels: {levels:?}"
    );
}

/// Bounding boxes of the SVG's text elements whose id matches, in drawing units.
fn text_boxes(svg: &str, wanted: impl Fn(&str) -> bool) -> Vec<(String, usvg::Rect)> {
    fn walk(g: &usvg::Group, wanted: &dyn Fn(&str) -> bool, out: &mut Vec<(String, usvg::Rect)>) {
        for node in g.children() {
            match node {
                usvg::Node::Group(inner) => walk(inner, wanted, out),
                usvg::Node::Text(t) if wanted(t.id()) => {
                    out.push((t.id().to_owned(), t.abs_bounding_box()));
                }
                _ => {}
            }
        }
    }
    let tree = usvg::Tree::from_str(svg, &plan::png::options()).expect("svg parses");
    let mut out = Vec::new();
    walk(tree.root(), &wanted, &mut out);
    out
}

#[test]
fn labels_never_overlap_and_never_run_wider_than_the_layout_thinks() {
    for name in ["sex-medicine", "demo"] {
        let timeline = load(&root().join("scenes").join(name));
        let picture = plan::sample(&timeline, ManualAfter::Min, COLUMNS).expect("sample");
        let layout = Layout::new(&picture);
        let svg = plan::svg::document(&picture, &layout).to_string();
        let boxes = text_boxes(&svg, |id| {
            id.starts_with("phase-") || id.starts_with("chime-") || id.contains("-label-")
        });
        assert!(
            boxes.len() > picture.phases.len() * 2,
            "{name}: {} labels",
            boxes.len()
        );
        for (i, (a, ra)) in boxes.iter().enumerate() {
            for (b, rb) in &boxes[i + 1..] {
                let apart = ra.right() <= rb.left()
                    || rb.right() <= ra.left()
                    || ra.bottom() <= rb.top()
                    || rb.bottom() <= ra.top();
                assert!(apart, "{name}: {a} {ra:?} overlaps {b} {rb:?}");
            }
        }
        for (i, placed) in layout.phase_labels.iter().enumerate() {
            for (id, r) in boxes
                .iter()
                .filter(|(id, _)| id.starts_with(&format!("phase-{i}-")))
            {
                let width = f64::from(r.width());
                assert!(
                    width <= placed.width,
                    "{name}: {id} is {width:.1} wide, laid out as {:.1}",
                    placed.width
                );
            }
        }
        assert!(text_width("Tantric massage", 15.0, true) > 100.0);
    }
}

#[test]
fn pictures_are_the_same_every_time_and_written_whole() {
    let dir = root().join("scenes/demo");
    let tmp = tempfile::tempdir().expect("tempdir");
    let svg = tmp.path().join("a.svg");
    let png = tmp.path().join("a.png");
    let args = [
        dir.to_str().expect("utf-8"),
        "--svg",
        svg.to_str().expect("utf-8"),
        "--png",
        png.to_str().expect("utf-8"),
    ];
    plan_cmd(&args);
    let first = (
        std::fs::read(&svg).expect("svg"),
        std::fs::read(&png).expect("png"),
    );
    plan_cmd(&args);
    assert_eq!(first.0, std::fs::read(&svg).expect("svg"));
    assert_eq!(first.1, std::fs::read(&png).expect("png"));
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.png", "a.svg"], "no temp files left behind");
}

#[test]
fn bad_requests_fail_clearly() {
    let dir = root().join("scenes/demo");
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("sanctum")
            .expect("binary")
            .arg("plan")
            .arg(&dir)
            .args(args)
            .assert()
            .failure();
        String::from_utf8_lossy(&out.get_output().stderr).into_owned()
    };
    assert!(run(&["--from", "nowhere"]).contains("has no phase `nowhere`"));
    let missing = root().join("target/no-such-folder/plan.png");
    let err = run(&["--png", missing.to_str().expect("utf-8")]);
    assert!(
        err.contains("failed to write") && err.contains("no-such-folder"),
        "{err}"
    );
    assert!(run(&["--manual-after", "soon"]).contains("min"));
}

fn engine_fixture() -> Timeline {
    load(&root().join("tests/fixtures/engine"))
}

#[test]
fn lanes_follow_the_engine_between_its_events() {
    let timeline = engine_fixture();
    let policy = ManualAfter::Fixed(Duration::from_secs(10));
    let picture = plan::sample(&timeline, policy, 400).expect("sample");
    // Drive a second engine by hand to each sample time and compare.
    let mut live = timeline.clone();
    let mut events = Vec::new();
    live.command(
        Duration::ZERO,
        &sanctum::command::Command::Start,
        &mut events,
    )
    .expect("start");
    let first_manual_end = picture.phases[1].end;
    let mut checked = 0;
    for s in &picture.lights[0].samples {
        if s.at >= first_manual_end {
            break;
        }
        live.advance(s.at, &mut events);
        let want = live.light_levels(s.at)[picture.lights[0].lights[0]];
        assert!(
            (s.level - want).abs() < 1e-6,
            "at {:?}: {} vs {want}",
            s.at,
            s.level
        );
        checked += 1;
    }
    assert!(checked > 50, "compared {checked} samples");
}

#[test]
fn phases_tile_the_ceremony_and_the_finish_fade_follows() {
    let timeline = engine_fixture();
    let picture = plan::sample(&timeline, ManualAfter::Min, 100).expect("sample");
    assert_eq!(picture.phases[0].start, Duration::ZERO);
    for w in picture.phases.windows(2) {
        assert_eq!(w[0].end, w[1].start);
    }
    let last = picture.phases.last().expect("phases");
    assert_eq!(last.end, picture.finish_at);
    assert_eq!(
        picture.length - picture.finish_at,
        timeline.ceremony().finish_fade + sanctum::timeline::END_SILENCE
    );
}
