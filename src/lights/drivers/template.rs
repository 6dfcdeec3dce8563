//! Template encoder: the rig gives a topic and a payload with `{placeholders}` (listed on
//! [`DriverSettings::Template`]) that are replaced by the command's values. Pure; it must not
//! pace, plan or publish. Unknown placeholders are rejected earlier by
//! [`crate::lights::options::check_template`] and left as written here.

use super::{kelvin, mired, rgb, scale};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::options::{DriverSettings, LightOptions};

/// Encodes one command by filling in the light's templates.
#[must_use]
pub fn encode(address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
    let DriverSettings::Template { topic, payload } = &opts.driver else {
        return Vec::new();
    };
    vec![Publish::command(
        expand(topic, address, opts, cmd),
        expand(payload, address, opts, cmd),
    )]
}

/// The value of one placeholder, or `None` if the name is unknown.
fn value(name: &str, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Option<String> {
    let b = if cmd.on { cmd.brightness } else { 0.0 };
    let k = kelvin(cmd.color, opts);
    let c = rgb(cmd.color);
    let channel = |i: usize| c.map(|c| c[i].to_string()).unwrap_or_default();
    let t = cmd.transition.unwrap_or_default();
    Some(match name {
        "address" => address.to_owned(),
        "state" => if cmd.on { "ON" } else { "OFF" }.to_owned(),
        "on" => cmd.on.to_string(),
        "level" => format!("{:.3}", b.clamp(0.0, 1.0)),
        "level_255" => scale(b, 255, cmd.on).to_string(),
        "level_254" => scale(b, 254, cmd.on).to_string(),
        "level_pct" => scale(b, 100, cmd.on).to_string(),
        "kelvin" => k.map(|k| k.to_string()).unwrap_or_default(),
        "mired" => k.map(|k| mired(k).to_string()).unwrap_or_default(),
        "r" => channel(0),
        "g" => channel(1),
        "b" => channel(2),
        "hex" => c
            .map(|[r, g, b]| format!("{r:02X}{g:02X}{b:02X}"))
            .unwrap_or_default(),
        "transition_s" => {
            let text = format!("{:.3}", t.as_secs_f64());
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        "transition_ms" => t.as_millis().to_string(),
        _ => return None,
    })
}

fn expand(template: &str, address: &str, opts: &LightOptions, cmd: &LightCommand) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_len = after
            .find(|ch: char| !(ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        match (
            after[name_len..].starts_with('}'),
            value(name, address, opts, cmd),
        ) {
            (true, Some(v)) if name_len > 0 => {
                out.push_str(&v);
                rest = &after[name_len + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, DriverSettings, LightOptions, check_template};

    #[test]
    fn snapshot_default_templates() {
        let opts = LightOptions::defaults(DriverKind::Template);
        insta::assert_snapshot!(report("home/altar", &opts));
    }

    #[test]
    fn snapshot_every_placeholder() {
        let payload = "state={state} on={on} level={level} l255={level_255} l254={level_254} \
                       pct={level_pct} K={kelvin} mired={mired} rgb={r},{g},{b} hex={hex} \
                       t={transition_s}s/{transition_ms}ms {literal} {json: 1} {}";
        let mut opts = LightOptions::defaults(DriverKind::Template);
        opts.driver = DriverSettings::Template {
            topic: "custom/{address}/cmd".to_owned(),
            payload: payload.to_owned(),
        };
        assert!(
            check_template(payload).is_err(),
            "{{literal}} is not a placeholder"
        );
        insta::assert_snapshot!(report("lamp", &opts));
    }
}
