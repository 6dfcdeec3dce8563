//! A rig file's tables into the [`Rig`]: room, broker, audio, limits, safe light, layers,
//! lights (through [`super::light`]), groups and remotes, each problem at its span.

use super::*;
use crate::endpoint::{Broker, OutputSpec};

#[allow(clippy::too_many_lines)]
pub(super) fn resolve_rig(ctx: &mut Ctx<'_>, raw: RawRig, path: &Path) -> Option<Rig> {
    if let Err(why) = crate::mqtt::topics::check_room(raw.room.get_ref()) {
        ctx.error(raw.room.span(), why);
    }
    let broker = raw.broker.as_ref().and_then(|b| broker(ctx, b));
    let max_volume = raw
        .max_volume_db
        .as_ref()
        .and_then(|n| ctx.range(n, "max_volume_db", -60.0, 12.0))
        .map_or(Decibels(0.0), |v| Decibels(v as f32));
    let volume = match &raw.volume_db {
        Some(n) => {
            let v = ctx.range(n, "volume_db", -80.0, 12.0).unwrap_or(0.0) as f32;
            if v > max_volume.0 {
                ctx.error(
                    n.span(),
                    format!(
                        "`volume_db` {v:+.1} is above the rig's max_volume_db {:+.1}",
                        max_volume.0
                    ),
                );
            }
            Decibels(v)
        }
        None => Decibels(0f32.min(max_volume.0)),
    };
    let debounce = ctx
        .positive_opt(raw.debounce.as_ref(), "debounce")
        .unwrap_or(DEFAULT_DEBOUNCE);
    let stop_fade = ctx
        .positive_opt(raw.stop_fade.as_ref(), "stop_fade")
        .unwrap_or(DEFAULT_STOP_FADE);
    let mqtt = raw
        .mqtt
        .map_or_else(MqttSettings::default, |m| MqttSettings {
            username: m.username.map(Spanned::into_inner),
            password_env: m.password_env.map(Spanned::into_inner),
            password_file: m.password_file.map(|p| rel(path, p.get_ref())),
            ca_file: m.ca_file.map(|p| rel(path, p.get_ref())),
            cert_file: m.cert_file.map(|p| rel(path, p.get_ref())),
            key_file: m.key_file.map(|p| rel(path, p.get_ref())),
            discovery: m.discovery.unwrap_or(false),
        });
    let audio = match raw.audio {
        Some(a) => AudioSettings {
            output: a
                .output
                .as_ref()
                .and_then(|o| output(ctx, o))
                .unwrap_or(OutputSpec::Device(None)),
            buffer: match &a.buffer {
                Some(b) => {
                    let d = ctx
                        .positive(b, "buffer")
                        .unwrap_or(Duration::from_millis(30));
                    if d < Duration::from_millis(5) || d > Duration::from_millis(500) {
                        ctx.error(b.span(), "`buffer` must be between 5ms and 500ms");
                    }
                    d
                }
                None => Duration::from_millis(30),
            },
        },
        None => AudioSettings {
            output: OutputSpec::Device(None),
            buffer: Duration::from_millis(30),
        },
    };
    let mut safe_light = LightTarget {
        level: 0.3,
        color: Some(LightColor::Kelvin(2200)),
        effect: Effect::None,
    };
    if let Some(s) = &raw.safe_light {
        if let Some(l) = s
            .level
            .as_ref()
            .and_then(|n| ctx.range(n, "level", 0.0, 1.0))
        {
            safe_light.level = l as f32;
        }
        if let (Some(_), Some(c)) = (&s.kelvin, &s.color) {
            ctx.error(c.span(), "give either `kelvin` or `color`, not both");
        }
        if let Some(k) = s.kelvin.as_ref().and_then(|k| ctx.kelvin(k)) {
            safe_light.color = Some(LightColor::Kelvin(k));
        }
        if let Some(c) = s.color.as_ref().and_then(|c| ctx.color(c)) {
            safe_light.color = Some(LightColor::Rgb(c));
        }
    }
    let mut layers = Vec::new();
    for (name, layer) in &raw.layers {
        ctx.identifier(name, "layer name");
        let gain = layer
            .gain_db
            .as_ref()
            .and_then(|n| ctx.range(n, "gain_db", -80.0, 12.0))
            .map_or(Decibels(0.0), |v| Decibels(v as f32));
        let duck = layer
            .duck_db
            .as_ref()
            .and_then(|n| ctx.range(n, "duck_db", -40.0, 0.0))
            .map(|v| Decibels(v as f32));
        layers.push(LayerDef {
            name: name.get_ref().clone(),
            gain,
            duck,
        });
    }
    let mut lights = Vec::new();
    for (name, light) in &raw.lights {
        ctx.identifier(name, "light name");
        lights.push(resolve_light(ctx, name, light));
    }
    let light_names: Vec<&str> = lights.iter().map(|l: &LightDef| l.name.as_str()).collect();
    let mut groups = Vec::new();
    for (name, members) in &raw.groups {
        ctx.identifier(name, "group name");
        if light_names.contains(&name.get_ref().as_str()) {
            ctx.error(
                name.span(),
                format!("group `{}` has the same name as a light", name.get_ref()),
            );
        }
        if members.get_ref().is_empty() {
            ctx.error(members.span(), "a group needs at least one light");
        }
        let mut indices = Vec::new();
        for m in members.get_ref() {
            match light_names.iter().position(|l| *l == m.get_ref()) {
                Some(i) => indices.push(i),
                None => unknown_name(ctx, m, "light", &light_names),
            }
        }
        groups.push(GroupDef {
            name: name.get_ref().clone(),
            members: indices,
        });
    }
    let mut remotes = Vec::new();
    for (name, remote) in &raw.remotes {
        let driver = match &remote.driver {
            Some(d) => ctx
                .one_of(d, "remote driver", &["zigbee2mqtt"])
                .unwrap_or("zigbee2mqtt"),
            None => "zigbee2mqtt",
        };
        if let Err(why) = crate::mqtt::topics::check_address(remote.address.get_ref()) {
            ctx.error(remote.address.span(), why);
        }
        let mut actions = Vec::new();
        for (action, command) in &remote.actions {
            if action.get_ref().is_empty() {
                ctx.error(action.span(), "an action value must not be empty");
            }
            match Command::parse(command.get_ref()) {
                Ok(cmd) => actions.push(RemoteAction {
                    action: action.get_ref().clone(),
                    command: cmd,
                    span: command.span(),
                }),
                Err(err) => ctx.error(command.span(), format!("{err}")),
            }
        }
        remotes.push(RemoteDef {
            name: name.get_ref().clone(),
            driver: driver.to_owned(),
            address: remote.address.get_ref().clone(),
            actions,
        });
    }
    Some(Rig {
        path: path.to_owned(),
        room: raw.room.into_inner(),
        broker,
        mqtt,
        audio,
        max_volume,
        volume,
        debounce,
        stop_fade,
        safe_light,
        layers,
        lights,
        groups,
        remotes,
    })
}

fn rel(base_file: &Path, p: &str) -> PathBuf {
    base_file
        .parent()
        .map_or_else(|| PathBuf::from(p), |d| d.join(p))
}

/// The broker URL, read once here ([`Broker::parse`], which the flags' URLs go through too).
fn broker(ctx: &mut Ctx<'_>, b: &Str) -> Option<Broker> {
    Broker::parse(b.get_ref())
        .map_err(|why| ctx.error(b.span(), why.to_string()))
        .ok()
}

/// The audio output, read once here ([`OutputSpec::parse`], which `--output` goes through too).
fn output(ctx: &mut Ctx<'_>, o: &Str) -> Option<OutputSpec> {
    OutputSpec::parse(o.get_ref())
        .map_err(|why| ctx.error(o.span(), why.to_string()))
        .ok()
}
