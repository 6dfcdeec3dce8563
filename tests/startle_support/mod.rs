//! The "no startle" property test's parts (issue 9): a small grammar of random ceremonies and
//! command sequences written as real rig, ceremony and scene files ([`Case`]), a run through
//! the real engine, mixer and light controller on virtual time ([`harness`]), and the
//! invariant checker ([`check`]).
//!
//! Sounds are generated once per process: looping sines whose frequencies are multiples of
//! 100 Hz (so every 10 ms window holds whole cycles and a steady voice has a steady window
//! RMS), and one-shot chimes that decay linearly to nothing. They are 8 kHz WAV files, played
//! by an 8 kHz mixer, so nothing is resampled and a case costs little.
#![allow(dead_code, clippy::unwrap_used)]

pub mod check;
pub mod harness;

use std::f32::consts::TAU;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;

/// Sample rate of the sounds and of the mixer in a case.
pub const RATE: u32 = 8_000;
/// Peak of every generated sound.
pub const PEAK: f32 = 0.1;
/// Looping tones: (file, Hz). Whole cycles in 10 ms and in the file.
pub const TONES: [(&str, u32); 4] = [
    ("tone-200.wav", 200),
    ("tone-300.wav", 300),
    ("tone-500.wav", 500),
    ("tone-700.wav", 700),
];
/// Length of each tone file.
pub const TONE_SECS: u32 = 3;
/// One-shots: (file, Hz, length in ms), decaying linearly from `PEAK` to 0.
pub const CHIMES: [(&str, u32, u32); 2] =
    [("chime-400.wav", 400, 600), ("chime-600.wav", 600, 900)];

/// Writes the sounds once; returns their folder.
pub fn sounds() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sanctum-startle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: RATE,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let write = |name: &str, frames: u32, f: &dyn Fn(u32) -> f32| {
            let tmp = dir.join(format!("{name}.part"));
            let mut w = hound::WavWriter::create(&tmp, spec).unwrap();
            for i in 0..frames {
                let s = f(i);
                w.write_sample(s).unwrap();
                w.write_sample(s).unwrap();
            }
            w.finalize().unwrap();
            std::fs::rename(&tmp, dir.join(name)).unwrap();
        };
        for (name, hz) in TONES {
            write(name, RATE * TONE_SECS, &|i| {
                PEAK * (TAU * hz as f32 * i as f32 / RATE as f32).sin()
            });
        }
        for (name, hz, ms) in CHIMES {
            let n = RATE * ms / 1000;
            write(name, n, &|i| {
                let decay = 1.0 - i as f32 / n as f32;
                PEAK * decay * (TAU * hz as f32 * i as f32 / RATE as f32).sin()
            });
        }
        dir
    })
}

/// Light drivers a case may use (the four whose lowest steps bug 1 names).
pub const DRIVERS: [&str; 4] = ["zigbee2mqtt", "tasmota", "wled", "ha-json"];
/// Light names.
pub const LIGHT_NAMES: [&str; 4] = ["altar", "lamp", "strip", "esp"];
/// Group names: `all` sorts before every light name, `zall` after.
pub const GROUP_NAMES: [&str; 3] = ["all", "zall", "mid"];
/// Layer names.
pub const LAYER_NAMES: [&str; 3] = ["bed", "texture", "air"];

/// A whole case: a rig, a ceremony and the commands sent during it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Per layer: its trim in dB.
    pub layers: Vec<i32>,
    /// Per light: its driver.
    pub lights: Vec<usize>,
    /// Groups: name index into [`GROUP_NAMES`] and members.
    pub groups: Vec<(usize, Vec<usize>)>,
    /// Milliseconds.
    pub stop_fade: u32,
    /// Milliseconds.
    pub transition: u32,
    /// Milliseconds.
    pub finish_fade: u32,
    /// Percent.
    pub safe_level: u32,
    /// The phases.
    pub phases: Vec<PhaseSpec>,
    /// Commands at engine times (milliseconds).
    pub commands: Vec<(u32, Cmd)>,
}

/// One phase: `after` in milliseconds (manual when `None`) and its cues.
#[derive(Debug, Clone)]
pub struct PhaseSpec {
    pub after: Option<u32>,
    pub cues: Vec<CueSpec>,
}

/// One cue.
#[derive(Debug, Clone)]
pub struct CueSpec {
    /// Milliseconds into the phase.
    pub at: u32,
    pub layers: Vec<(usize, LayerOp)>,
    /// Target (a light or group name) and what it does.
    pub lights: Vec<(Target, LightOp)>,
    /// One-shots: chime index and gain in dB.
    pub sounds: Vec<(usize, i32)>,
}

/// A light or a group (by index into the case's groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Light(usize),
    Group(usize),
}

/// What a cue does to a layer.
#[derive(Debug, Clone)]
pub enum LayerOp {
    Play {
        /// One tone index, or several (a playlist) with a crossfade in milliseconds.
        tones: Vec<usize>,
        crossfade: u32,
        gain: Option<i32>,
        fade: u32,
        curve: usize,
    },
    Gain {
        gain: i32,
        fade: u32,
        curve: usize,
    },
    Stop {
        fade: u32,
        curve: usize,
    },
}

/// What a cue does to a light or group.
#[derive(Debug, Clone)]
pub struct LightOp {
    /// Percent.
    pub level: Option<u32>,
    pub kelvin: Option<u32>,
    pub effect: Option<EffectSpec>,
    /// Milliseconds; `None` uses the ceremony's transition.
    pub fade: Option<u32>,
    pub s_curve: bool,
}

/// An effect.
#[derive(Debug, Clone, Copy)]
pub enum EffectSpec {
    /// Depth in percent, interval in milliseconds.
    Candle(u32, u32),
    /// Breaths a minute, depth in percent.
    Breathe(u32, u32),
}

/// A command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Next,
    Prev,
    Goto(usize),
    Pause,
    Resume,
    Stop,
    Louder,
    Softer,
}

const CURVES: [&str; 3] = ["equal-power", "linear", "s-curve"];

fn ms(v: u32) -> String {
    format!("{v}ms")
}

impl Case {
    /// The name a target has in scene files.
    pub fn target_name(&self, t: Target) -> String {
        match t {
            Target::Light(i) => LIGHT_NAMES[i].to_owned(),
            Target::Group(g) => GROUP_NAMES[self.groups[g].0].to_owned(),
        }
    }

    /// The same case with every group's name swapped between its `z` and plain form (`all` ↔
    /// `zall`), which flips where groups sort against lights. Nothing else changes.
    #[must_use]
    pub fn renamed(&self) -> Self {
        let mut twin = self.clone();
        for (name, _) in &mut twin.groups {
            *name = match GROUP_NAMES[*name] {
                "all" => 1,
                "zall" => 0,
                _ => *name,
            };
        }
        twin
    }

    /// Writes the rig, ceremony and scenes into `dir`; returns the ceremony folder.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let c = dir.join("ceremony");
        std::fs::create_dir_all(&c).unwrap();
        let mut rig = format!(
            "room = \"startle\"\nmax_volume_db = 0\nvolume_db = -6\nstop_fade = \"{}\"\n\n[audio]\noutput = \"null\"\n\n[safe_light]\nlevel = {:.2}\nkelvin = 2200\n\n",
            ms(self.stop_fade),
            f64::from(self.safe_level) / 100.0
        );
        for (i, trim) in self.layers.iter().enumerate() {
            let _ = writeln!(rig, "[layers.{}]\ngain_db = {trim}\n", LAYER_NAMES[i]);
        }
        for (i, d) in self.lights.iter().enumerate() {
            let _ = writeln!(
                rig,
                "[lights.{}]\ndriver = \"{}\"\naddress = \"dev{i}\"\n",
                LIGHT_NAMES[i], DRIVERS[*d]
            );
        }
        if !self.groups.is_empty() {
            rig.push_str("[groups]\n");
            for (name, members) in &self.groups {
                let m: Vec<String> = members
                    .iter()
                    .map(|i| format!("\"{}\"", LIGHT_NAMES[*i]))
                    .collect();
                let _ = writeln!(rig, "{} = [{}]", GROUP_NAMES[*name], m.join(", "));
            }
        }
        std::fs::write(c.join("rig.toml"), rig).unwrap();
        let mut cer = format!(
            "title = \"Startle\"\nsounds = {:?}\ntransition = \"{}\"\nfinish_fade = \"{}\"\n",
            sounds().display().to_string(),
            ms(self.transition),
            ms(self.finish_fade)
        );
        for (i, p) in self.phases.iter().enumerate() {
            let _ = write!(cer, "\n[[phase]]\nid = \"p{i}\"\nscene = \"p{i}.toml\"\n");
            if let Some(a) = p.after {
                let _ = writeln!(cer, "after = \"{}\"", ms(a));
            }
            std::fs::write(c.join(format!("p{i}.toml")), self.scene(p)).unwrap();
        }
        std::fs::write(c.join("ceremony.toml"), cer).unwrap();
        c
    }

    fn scene(&self, p: &PhaseSpec) -> String {
        let mut s = String::new();
        for cue in &p.cues {
            let _ = writeln!(s, "[[cue]]\nat = \"{}\"\n", ms(cue.at));
            for (l, op) in &cue.layers {
                let _ = writeln!(s, "[cue.layers.{}]", LAYER_NAMES[*l]);
                match op {
                    LayerOp::Play {
                        tones,
                        crossfade,
                        gain,
                        fade,
                        curve,
                    } => {
                        if let [one] = tones.as_slice() {
                            let _ = writeln!(s, "file = \"{}\"", TONES[*one].0);
                        } else {
                            let names: Vec<String> = tones
                                .iter()
                                .map(|t| format!("\"{}\"", TONES[*t].0))
                                .collect();
                            let _ = writeln!(
                                s,
                                "playlist = [{}]\ncrossfade = \"{}\"",
                                names.join(", "),
                                ms(*crossfade)
                            );
                        }
                        let _ = writeln!(s, "loop = true");
                        if let Some(g) = gain {
                            let _ = writeln!(s, "gain_db = {g}");
                        }
                        let _ = writeln!(
                            s,
                            "fade = \"{}\"\ncurve = \"{}\"",
                            ms(*fade),
                            CURVES[*curve]
                        );
                    }
                    LayerOp::Gain { gain, fade, curve } => {
                        let _ = writeln!(
                            s,
                            "gain_db = {gain}\nfade = \"{}\"\ncurve = \"{}\"",
                            ms(*fade),
                            CURVES[*curve]
                        );
                    }
                    LayerOp::Stop { fade, curve } => {
                        let _ = writeln!(
                            s,
                            "stop = true\nfade = \"{}\"\ncurve = \"{}\"",
                            ms(*fade),
                            CURVES[*curve]
                        );
                    }
                }
                s.push('\n');
            }
            for (t, op) in &cue.lights {
                let _ = writeln!(s, "[cue.lights.{}]", self.target_name(*t));
                if let Some(l) = op.level {
                    let _ = writeln!(s, "level = {:.2}", f64::from(l) / 100.0);
                }
                if let Some(k) = op.kelvin {
                    let _ = writeln!(s, "kelvin = {k}");
                }
                match op.effect {
                    Some(EffectSpec::Candle(depth, interval)) => {
                        let _ = writeln!(
                            s,
                            "effect = \"candle\"\ndepth = {:.2}\ninterval = \"{}\"",
                            f64::from(depth) / 100.0,
                            ms(interval)
                        );
                    }
                    Some(EffectSpec::Breathe(per_minute, depth)) => {
                        let _ = writeln!(
                            s,
                            "effect = \"breathe\"\nper_minute = {per_minute}\ndepth = {:.2}",
                            f64::from(depth) / 100.0
                        );
                    }
                    None => {}
                }
                if let Some(f) = op.fade {
                    let _ = writeln!(s, "fade = \"{}\"", ms(f));
                }
                if op.s_curve {
                    let _ = writeln!(s, "curve = \"s-curve\"");
                }
                s.push('\n');
            }
            for (k, gain) in &cue.sounds {
                let _ = writeln!(
                    s,
                    "[[cue.sounds]]\nfile = \"{}\"\ngain_db = {gain}\n",
                    CHIMES[*k].0
                );
            }
        }
        s
    }
}

/// Fades in the grammar: from half a second to 8 s (milliseconds).
fn fade() -> impl Strategy<Value = u32> {
    prop_oneof![500u32..2_000, 2_000u32..8_000]
}

fn layer_op() -> impl Strategy<Value = LayerOp> {
    prop_oneof![
        4 => (
            prop::collection::vec(0..TONES.len(), 1..=3),
            1_000u32..2_500,
            prop::option::of(-30i32..=0),
            fade(),
            0..3usize
        )
            .prop_map(|(tones, crossfade, gain, fade, curve)| LayerOp::Play {
                tones,
                crossfade,
                gain,
                fade,
                curve
            }),
        2 => (-30i32..=0, fade(), 0..3usize)
            .prop_map(|(gain, fade, curve)| LayerOp::Gain { gain, fade, curve }),
        1 => (fade(), 0..3usize).prop_map(|(fade, curve)| LayerOp::Stop { fade, curve }),
    ]
}

fn light_op() -> impl Strategy<Value = LightOp> {
    let effect = prop_oneof![
        3 => Just(None),
        1 => (5u32..=40, 1_000u32..4_000).prop_map(|(d, i)| Some(EffectSpec::Candle(d, i))),
        1 => (3u32..=12, 10u32..=50).prop_map(|(n, d)| Some(EffectSpec::Breathe(n, d))),
    ];
    (
        prop::option::weighted(0.9, 0u32..=80),
        prop::option::weighted(0.3, 1_900u32..=3_000),
        effect,
        prop::option::weighted(0.8, fade()),
        any::<bool>(),
    )
        .prop_map(|(level, kelvin, effect, fade, s_curve)| LightOp {
            // A light entry must say something.
            level: if kelvin.is_none() && effect.is_none() {
                level.or(Some(0))
            } else {
                level
            },
            kelvin,
            effect,
            fade,
            s_curve,
        })
}

fn cue(layers: usize, lights: usize, groups: usize, span: u32) -> impl Strategy<Value = CueSpec> {
    let target = if groups == 0 {
        (0..lights).prop_map(Target::Light).boxed()
    } else {
        prop_oneof![
            (0..lights).prop_map(Target::Light),
            (0..groups).prop_map(Target::Group)
        ]
        .boxed()
    };
    (
        0..=span,
        prop::collection::btree_map(0..layers, layer_op(), 0..=layers),
        prop::collection::vec((target, light_op()), 0..=3),
        prop::collection::vec((0..CHIMES.len(), -20i32..=-6), 0..=1),
    )
        .prop_map(|(at, layers, mut lights, sounds)| {
            // One entry per name in a scene table.
            let mut seen = Vec::new();
            lights.retain(|(t, _)| {
                let new = !seen.contains(t);
                seen.push(*t);
                new
            });
            CueSpec {
                at: at / 100 * 100,
                layers: layers.into_iter().collect(),
                lights,
                sounds,
            }
        })
}

fn phase(layers: usize, lights: usize, groups: usize) -> impl Strategy<Value = PhaseSpec> {
    prop::option::weighted(0.6, 3_000u32..12_000).prop_flat_map(move |after| {
        let span = after.unwrap_or(10_000);
        prop::collection::vec(cue(layers, lights, groups, span), 1..=4).prop_map(move |mut cues| {
            cues.sort_by_key(|c| c.at);
            // A phase opens with a cue at 0 s most of the time, as real scenes do.
            if let Some(first) = cues.first_mut()
                && first.at < 1_500
            {
                first.at = 0;
            }
            cues.dedup_by_key(|c| c.at);
            PhaseSpec { after, cues }
        })
    })
}

fn command(phases: usize) -> impl Strategy<Value = Cmd> {
    prop_oneof![
        3 => Just(Cmd::Next),
        1 => Just(Cmd::Prev),
        1 => (0..phases).prop_map(Cmd::Goto),
        2 => Just(Cmd::Pause),
        2 => Just(Cmd::Resume),
        2 => Just(Cmd::Stop),
        1 => Just(Cmd::Louder),
        1 => Just(Cmd::Softer),
    ]
}

/// Random cases from the grammar.
pub fn case() -> impl Strategy<Value = Case> {
    (1..=LAYER_NAMES.len(), 1..=LIGHT_NAMES.len()).prop_flat_map(|(layers, lights)| {
        let groups = prop::collection::btree_map(
            0..GROUP_NAMES.len(),
            prop::collection::btree_set(0..lights, 1..=lights),
            0..=2,
        )
        .prop_map(|g| {
            g.into_iter()
                .map(|(n, m)| (n, m.into_iter().collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        });
        (
            prop::collection::vec(-12i32..=0, layers),
            prop::collection::vec(0..DRIVERS.len(), lights),
            groups,
            (1_000u32..6_000, 500u32..4_000, 1_000u32..8_000, 10u32..=50),
        )
            .prop_flat_map(
                move |(trims, drivers, groups, (stop, transition, finish, safe))| {
                    let n = groups.len();
                    prop::collection::vec(phase(layers, lights, n), 1..=4).prop_flat_map(
                        move |phases| {
                            let count = phases.len();
                            let trims = trims.clone();
                            let drivers = drivers.clone();
                            let groups = groups.clone();
                            prop::collection::vec((0u32..40_000, command(count)), 0..=6).prop_map(
                                move |mut commands| {
                                    commands.sort_by_key(|c| c.0);
                                    Case {
                                        layers: trims.clone(),
                                        lights: drivers.clone(),
                                        groups: groups.clone(),
                                        stop_fade: stop,
                                        transition,
                                        finish_fade: finish,
                                        safe_level: safe,
                                        phases: phases.clone(),
                                        commands,
                                    }
                                },
                            )
                        },
                    )
                },
            )
    })
}
