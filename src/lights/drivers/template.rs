//! Template driver: the rig gives a topic and a payload with `{placeholders}` (listed on
//! [`Template`]) that are replaced by the command's values, for any device none of the other
//! drivers speaks. Pure; it must not pace, plan or publish. Unknown placeholders are refused
//! when the rig is read ([`check_template`]) and left as written here.

use std::time::Duration;

use super::{BULB_MAX_RATE, Capabilities, ColorModes, Driver, Keys, kelvin, mired, rgb, scale};
use crate::lights::command::{LightCommand, Publish};
use crate::lights::curve::DeviceCurve;
use crate::lights::options::LightOptions;

/// The `template` driver: topic and payload templates, expanded by substitution.
///
/// Placeholders (anything else in braces is refused by [`check_template`]):
/// - `{address}`: the light's address as written in the rig;
/// - `{state}`: `ON` or `OFF`; `{on}`: `true` or `false`;
/// - `{level}`: device fraction 0..=1 with three decimals; `{level_255}`: 0..=255;
///   `{level_254}`: 0..=254; `{level_pct}`: 0..=100;
/// - `{kelvin}`, `{mired}`: colour temperature, empty when the command sets none;
/// - `{r}`, `{g}`, `{b}`, `{hex}` (`RRGGBB`): colour, empty when the command sets none;
/// - `{transition_s}` (seconds, up to three decimals), `{transition_ms}`: `0` when none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Topic template, e.g. `home/{address}/set` (rig key `topic`).
    pub topic: String,
    /// Payload template, e.g. `{"state":"{state}","brightness":{level_255}}` (rig key
    /// `payload`).
    pub payload: String,
}

impl Default for Template {
    fn default() -> Self {
        Self {
            topic: "{address}/set".to_owned(),
            payload: r#"{"state":"{state}","brightness":{level_255}}"#.to_owned(),
        }
    }
}

impl Driver for Template {
    const NAME: &'static str = "template";
    const KEYS: &'static [&'static str] = &["topic", "payload"];

    fn read(keys: &mut dyn Keys) -> Self {
        let mut d = Self::default();
        let check = |t: &str| check_template(t).map_err(|e| e.to_string());
        let topic = keys.text("topic", &check);
        let payload = keys.text("payload", &check);
        if topic.is_none() || payload.is_none() {
            keys.problem("the `template` driver needs `topic` and `payload` templates".to_owned());
        }
        if let Some(t) = topic {
            d.topic = t;
        }
        if let Some(p) = payload {
            d.payload = p;
        }
        d
    }

    /// Stepped in software (a template cannot say whether the device fades), 1 % the first
    /// visible, the CIE curve, 2000–6500 K; it shows the colours its templates have
    /// placeholders for.
    fn capabilities(&self) -> Capabilities {
        let uses = |names: &[&str]| {
            [&self.topic, &self.payload]
                .iter()
                .any(|t| placeholders(t).any(|p| names.contains(&p)))
        };
        Capabilities {
            native_fade: false,
            max_native_fade: Duration::ZERO,
            min_level: 0.01,
            curve: DeviceCurve::Cie,
            kelvin_range: (2000, 6500),
            max_rate: BULB_MAX_RATE,
            transition_resolution: Duration::from_millis(1),
            brightness_steps: 100,
            colors: ColorModes {
                kelvin: uses(&["kelvin", "mired"]),
                rgb: uses(&["r", "g", "b", "hex"]),
            },
        }
    }

    fn encode(&self, address: &str, opts: &LightOptions, cmd: &LightCommand) -> Vec<Publish> {
        vec![Publish::command(
            expand(&self.topic, address, opts, cmd),
            expand(&self.payload, address, opts, cmd),
        )]
    }
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to read template `{template}`: unknown placeholder `{{{name}}}`")]
pub struct TemplateError {
    /// The whole template.
    pub template: String,
    /// The placeholder name without braces.
    pub name: String,
}

/// Placeholders a template may use (see [`Template`]).
pub const TEMPLATE_PLACEHOLDERS: [&str; 15] = [
    "address",
    "state",
    "on",
    "level",
    "level_255",
    "level_254",
    "level_pct",
    "kelvin",
    "mired",
    "r",
    "g",
    "b",
    "hex",
    "transition_s",
    "transition_ms",
];

/// Checks that every `{name}` in a template is a known placeholder. Braces that do not wrap a
/// lowercase identifier (such as JSON object braces) are left alone.
///
/// # Errors
/// Returns a [`TemplateError`] for the first unknown name.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    for name in placeholders(template) {
        if !TEMPLATE_PLACEHOLDERS.contains(&name) {
            return Err(TemplateError {
                template: template.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// The `{name}` placeholders in a template, where `name` is `[a-z0-9_]+`.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.match_indices('{').filter_map(move |(start, _)| {
        let rest = &template[start + 1..];
        let end =
            rest.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('}')).then(|| &rest[..end])
    })
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
    use super::{Template, check_template};
    use crate::lights::drivers::DriverSettings;
    use crate::lights::drivers::tests::report;
    use crate::lights::options::{DriverKind, LightOptions};

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
        let opts = LightOptions::with_driver(DriverSettings::Template(Template {
            topic: "custom/{address}/cmd".to_owned(),
            payload: payload.to_owned(),
        }));
        assert!(
            check_template(payload).is_err(),
            "{{literal}} is not a placeholder"
        );
        insta::assert_snapshot!(report("lamp", &opts));
    }
}
