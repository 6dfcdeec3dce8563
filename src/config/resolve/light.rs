//! A rig's `[lights.<name>]` into a typed [`LightDef`]: the keys every light has are read
//! here, the driver's own settings by the driver itself through [`Keys`] (each driver declares
//! its keys in its file under `lights/drivers/`), and the driver's capabilities fill in what
//! the rig leaves out, so that nothing is parsed again later. Each problem is reported at its
//! span, an unknown key against the keys this light's driver takes; `run` refuses exactly what
//! this refuses.

use std::ops::{Range, RangeInclusive};

use toml::{Spanned, Value};

use super::super::parse::{code_list, suggest};
use super::super::raw::{Num, RawLight, Str};
use super::Ctx;
use crate::lights::curve::DeviceCurve;
use crate::lights::drivers::Keys;
use crate::lights::options::{DriverKind, DriverSettings, LightOptions};
use crate::model::LightDef;

/// Exponent used when a rig says `curve = "gamma"` without `gamma`.
pub const DEFAULT_GAMMA: f32 = 2.2;

/// Device curves a light may declare.
const DEVICE_CURVES: [&str; 3] = ["cie", "linear", "gamma"];

/// The keys every light takes, whatever its driver.
const COMMON_KEYS: [&str; 11] = [
    "driver",
    "address",
    "native_fade",
    "max_fade",
    "min_level",
    "curve",
    "gamma",
    "kelvin_range",
    "max_rate",
    "split_color",
    "group",
];

/// Resolves one light. A light with problems still comes back (with defaults in place of
/// what is wrong), so that scenes naming it are checked too; the problems are in `ctx`.
pub(super) fn resolve_light(ctx: &mut Ctx<'_>, name: &Str, raw: &RawLight) -> LightDef {
    let mut fields = Fields {
        ctx,
        raw,
        driver_span: name.span(),
    };
    let kind = match fields.string("driver") {
        Some(d) => {
            fields.driver_span = d.span();
            fields
                .ctx
                .one_of(&d, "driver", &DriverKind::NAMES)
                .and_then(DriverKind::from_name)
        }
        None => {
            if fields.value("driver").is_none() {
                fields.ctx.error(
                    name.span(),
                    format!(
                        "light `{}` has no `driver`; expected one of {}",
                        name.get_ref(),
                        DriverKind::NAMES.map(|d| format!("`{d}`")).join(", ")
                    ),
                );
            }
            None
        }
    };
    fields.unknown_keys(name.get_ref(), kind);
    let address = fields.string("address");
    // An unknown driver is already reported; its settings are not checked against a guess.
    let driver = kind.map_or(DriverSettings::defaults(DriverKind::Tasmota), |k| {
        DriverSettings::read(k, &mut fields)
    });
    let address = match address {
        Some(a) => match crate::mqtt::topics::check_address(a.get_ref())
            .and_then(|()| driver.check_address(a.get_ref()))
        {
            Ok(()) => a.get_ref().clone(),
            Err(why) => {
                fields.ctx.error(a.span(), why);
                String::new()
            }
        },
        None => {
            if fields.value("address").is_none() {
                fields.ctx.error(
                    name.span(),
                    format!("light `{}` has no `address`", name.get_ref()),
                );
            }
            String::new()
        }
    };
    let options = fields.options(driver);
    LightDef {
        name: name.get_ref().clone(),
        address,
        options,
    }
}

/// One light's keys, read with their spans.
struct Fields<'c, 'a, 'r> {
    ctx: &'c mut Ctx<'a>,
    raw: &'r RawLight,
    /// Where problems with the settings as a whole are reported (the `driver` value).
    driver_span: Range<usize>,
}

impl<'r> Fields<'_, '_, 'r> {
    fn value(&self, key: &str) -> Option<&'r Spanned<Value>> {
        let raw: &'r RawLight = self.raw;
        raw.get(key)
    }

    /// The value of `key` read by `read`, with its span; a value `read` refuses (of another
    /// kind than `wanted`) is reported and gives nothing.
    fn typed<T>(
        &mut self,
        key: &str,
        wanted: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Option<Spanned<T>> {
        let v = self.value(key)?;
        let got = read(v.get_ref());
        if got.is_none() {
            self.ctx.error(
                v.span(),
                format!("`{key}` must be {wanted}, not {}", describe(v.get_ref())),
            );
        }
        got.map(|t| Spanned::new(v.span(), t))
    }

    fn string(&mut self, key: &str) -> Option<Str> {
        self.typed(key, "a string", |v| v.as_str().map(str::to_owned))
    }

    fn bool(&mut self, key: &str) -> Option<bool> {
        self.typed(key, "true or false", Value::as_bool)
            .map(Spanned::into_inner)
    }

    fn number(&mut self, key: &str) -> Option<Num> {
        // An integer is a number too (`max_rate = 2`).
        #[allow(clippy::cast_precision_loss)]
        self.typed(key, "a number", |v| {
            v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
        })
    }

    fn int(&mut self, key: &str) -> Option<Spanned<i64>> {
        self.typed(key, "a whole number", Value::as_integer)
    }

    /// Reports every key that neither every light nor this light's driver takes: a typo gets
    /// a suggestion, another driver's setting says which driver it belongs to.
    fn unknown_keys(&mut self, light: &str, kind: Option<DriverKind>) {
        let mut takes: Vec<&str> = COMMON_KEYS.to_vec();
        match kind {
            Some(k) => takes.extend(k.keys()),
            // Unknown driver: any driver's key may be meant.
            None => takes.extend(DriverKind::ALL.iter().flat_map(|k| k.keys())),
        }
        let raw: &'r RawLight = self.raw;
        for key in raw.keys() {
            let name = key.get_ref().as_str();
            if takes.contains(&name) {
                continue;
            }
            let owner = DriverKind::ALL
                .into_iter()
                .find(|k| k.keys().contains(&name));
            let message = match (owner, kind) {
                (Some(owner), Some(kind)) => format!(
                    "light `{light}`: `{name}` only applies to the `{}` driver, not `{}`",
                    owner.name(),
                    kind.name()
                ),
                _ => match suggest(name, &takes) {
                    Some(best) => format!("unknown key `{name}`; did you mean `{best}`?"),
                    None => format!("unknown key `{name}`; a light takes {}", code_list(&takes)),
                },
            };
            self.ctx.error(key.span(), message);
        }
    }

    /// The light's options: the driver's defaults, then what the rig sets.
    #[allow(clippy::cast_possible_truncation)]
    fn options(&mut self, driver: DriverSettings) -> LightOptions {
        let mut opts = LightOptions::with_driver(driver);
        if self.bool("group") == Some(true) {
            opts = opts.as_group();
        }
        if let Some(native) = self.bool("native_fade") {
            opts.caps.native_fade = native;
        }
        if let Some(max) = self
            .string("max_fade")
            .and_then(|d| self.ctx.positive(&d, "max_fade"))
        {
            opts.caps.max_native_fade = max;
        }
        if let Some(min) = self
            .number("min_level")
            .and_then(|n| self.ctx.range(&n, "min_level", 0.0, 0.5))
        {
            opts.caps.min_level = min as f32;
        }
        let curve = self.string("curve");
        let curve = curve
            .as_ref()
            .and_then(|c| self.ctx.one_of(c, "device curve", &DEVICE_CURVES));
        let gamma = self.number("gamma").and_then(|g| {
            if curve != Some("gamma") {
                self.ctx
                    .error(g.span(), "`gamma` only applies with `curve = \"gamma\"`");
            }
            self.ctx.range(&g, "gamma", 1.0, 4.0).map(|v| v as f32)
        });
        match curve {
            Some("cie") => opts.caps.curve = DeviceCurve::Cie,
            Some("linear") => opts.caps.curve = DeviceCurve::Linear,
            Some(_) => opts.caps.curve = DeviceCurve::Gamma(gamma.unwrap_or(DEFAULT_GAMMA)),
            None => {}
        }
        if let Some(range) = self.kelvin_range() {
            opts.caps.kelvin_range = range;
        }
        // An explicit rate wins over the group default.
        if let Some(rate) = self
            .number("max_rate")
            .and_then(|n| self.ctx.range(&n, "max_rate", 0.05, 20.0))
        {
            opts.caps.max_rate = rate as f32;
        }
        if let Some(split) = self.bool("split_color") {
            opts.split_color = split;
        }
        opts
    }

    fn kelvin_range(&mut self) -> Option<(u16, u16)> {
        let v = self.value("kelvin_range")?;
        let pair = match v.get_ref() {
            Value::Array(items) => match items.as_slice() {
                [Value::Integer(lo), Value::Integer(hi)] => Some((*lo, *hi)),
                _ => None,
            },
            _ => None,
        };
        let range = pair
            .filter(|(lo, hi)| {
                (1000..=10000).contains(lo) && (1000..=10000).contains(hi) && lo < hi
            })
            .and_then(|(lo, hi)| Some((u16::try_from(lo).ok()?, u16::try_from(hi).ok()?)));
        if range.is_none() {
            self.ctx.error(
                v.span(),
                "`kelvin_range` must be [low, high] with 1000 <= low < high <= 10000",
            );
        }
        range
    }
}

/// The driver reads its own settings through the same fields, with the same spans.
impl Keys for Fields<'_, '_, '_> {
    fn text(&mut self, key: &str, check: &dyn Fn(&str) -> Result<(), String>) -> Option<String> {
        let s = self.string(key)?;
        match check(s.get_ref()) {
            Ok(()) => Some(s.into_inner()),
            Err(why) => {
                self.ctx.error(s.span(), why);
                None
            }
        }
    }

    fn flag(&mut self, key: &str) -> Option<bool> {
        self.bool(key)
    }

    fn integer(&mut self, key: &str, range: RangeInclusive<i64>) -> Option<i64> {
        let v = self.int(key)?;
        if range.contains(v.get_ref()) {
            Some(*v.get_ref())
        } else {
            self.ctx.error(
                v.span(),
                format!(
                    "`{key}` is {}, outside {}..={}",
                    v.get_ref(),
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }

    fn choice(&mut self, key: &str, choices: &[&'static str]) -> Option<&'static str> {
        let s = self.string(key)?;
        self.ctx.one_of(&s, key, choices)
    }

    fn problem(&mut self, message: String) {
        self.ctx.error(self.driver_span.clone(), message);
    }
}

/// A TOML value's kind, for "must be …, not …".
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Integer(i) => format!("the number {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Boolean(b) => format!("`{b}`"),
        Value::Datetime(_) => "a date".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Table(_) => "a table".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::config::{Loader, SourceFile};
    use crate::lights::curve::DeviceCurve;
    use crate::lights::drivers::ha_json::HaJson;
    use crate::lights::drivers::shelly::{MODELS, Shelly};
    use crate::lights::drivers::template::Template;
    use crate::lights::drivers::wled::Wled;
    use crate::lights::drivers::zigbee2mqtt::Zigbee2Mqtt;
    use crate::lights::options::{
        DriverKind, DriverSettings, LightOptions, ShellyComponent, ShellyGen,
    };

    /// The options of the one light in a rig whose `[lights.l]` table is `light`.
    fn options(light: &str) -> Result<LightOptions, String> {
        let text = format!("room = \"r\"\n\n[lights.l]\n{light}\n");
        let mut loader = Loader::new();
        let file = Arc::new(SourceFile::new(std::path::PathBuf::from("rig.toml"), text));
        match loader.rig_source(file) {
            Some(rig) if loader.diags.is_empty() => Ok(rig.lights[0].options.clone()),
            _ => Err(loader.diags.to_string()),
        }
    }

    #[test]
    fn missing_options_take_driver_defaults() {
        for (kind, name) in DriverKind::ALL.iter().zip(DriverKind::NAMES) {
            if *kind == DriverKind::Template {
                continue;
            }
            let address = if *kind == DriverKind::HaJson {
                "a/light/b/command"
            } else {
                "addr"
            };
            let opts = options(&format!("driver = \"{name}\"\naddress = \"{address}\""))
                .expect("defaults");
            assert_eq!(opts, LightOptions::defaults(*kind), "{name}");
        }
    }

    #[test]
    fn every_generic_option_is_mapped() {
        let opts = options(
            r#"driver = "zigbee2mqtt"
address = "a"
native_fade = false
max_fade = "7s"
min_level = 0.05
curve = "gamma"
gamma = 2.8
kelvin_range = [2000, 4000]
max_rate = 2.5
split_color = true
base_topic = "z2m""#,
        )
        .expect("valid");
        assert!(!opts.caps.native_fade);
        assert_eq!(opts.caps.max_native_fade, Duration::from_secs(7));
        assert_eq!(opts.caps.min_level, 0.05);
        assert_eq!(opts.caps.curve, DeviceCurve::Gamma(2.8));
        assert_eq!(opts.caps.kelvin_range, (2000, 4000));
        assert_eq!(opts.caps.max_rate, 2.5);
        assert!(opts.split_color);
        assert!(!opts.group);
        assert_eq!(
            opts.driver,
            DriverSettings::Zigbee2Mqtt(Zigbee2Mqtt {
                base_topic: "z2m".into()
            })
        );
        let gamma = options("driver = \"wled\"\naddress = \"w\"\ncurve = \"gamma\"").expect("ok");
        assert_eq!(gamma.caps.curve, DeviceCurve::Gamma(2.2));
    }

    #[test]
    fn groups_slow_down_unless_the_rate_is_explicit() {
        let o = options("driver = \"zigbee2mqtt\"\naddress = \"g\"\ngroup = true").expect("ok");
        assert!(o.group);
        assert_eq!(o.caps.max_rate, 0.5);
        let o = options("driver = \"zigbee2mqtt\"\naddress = \"g\"\ngroup = true\nmax_rate = 0.25")
            .expect("ok");
        assert_eq!((o.group, o.caps.max_rate), (true, 0.25));
    }

    #[test]
    fn driver_settings_are_mapped() {
        let shelly = options(
            "driver = \"shelly\"\naddress = \"s\"\ngeneration = 2\nchannel = 3\ncomponent = \"cct\"",
        )
        .expect("valid");
        assert_eq!(
            shelly.driver,
            DriverSettings::Shelly(Shelly::new(ShellyGen::Gen2, 3, ShellyComponent::Cct))
        );
        assert_eq!(shelly.caps.max_native_fade, Duration::from_secs(10_800));
        let wled = options("driver = \"wled\"\naddress = \"w\"\nkelvin_as_rgb = true").expect("ok");
        assert_eq!(
            wled.driver,
            DriverSettings::Wled(Wled {
                kelvin_as_rgb: true
            })
        );
        let ha = options(
            "driver = \"ha-json\"\naddress = \"h/set\"\nbrightness_scale = 100\ncolor_temp_kelvin = true",
        )
        .expect("valid");
        assert_eq!(
            ha.driver,
            DriverSettings::HaJson(HaJson {
                brightness_scale: 100,
                color_temp_kelvin: true
            })
        );
        let template = options(
            "driver = \"template\"\naddress = \"t\"\ntopic = \"x/{address}\"\npayload = \"{level_pct}\"",
        )
        .expect("valid");
        assert_eq!(
            template.driver,
            DriverSettings::Template(Template {
                topic: "x/{address}".into(),
                payload: "{level_pct}".into()
            })
        );
    }

    #[test]
    fn bad_definitions_are_errors_at_their_place() {
        let err = options("driver = \"hue\"\naddress = \"a\"").expect_err("driver");
        assert!(err.contains("rig.toml:4:10: unknown driver `hue`"), "{err}");
        let err = options(
            "driver = \"template\"\naddress = \"t\"\ntopic = \"{nope}\"\npayload = \"{level}\"",
        )
        .expect_err("template");
        assert!(
            err.contains(
                "rig.toml:6:9: failed to read template `{nope}`: unknown placeholder `{nope}`"
            ),
            "{err}"
        );
        let err =
            options("driver = \"ha-json\"\naddress = \"altar/light/candle\"").expect_err("esphome");
        assert!(
            err.contains("write \"altar/light/candle/command\""),
            "{err}"
        );
        let err = options("driver = \"ha-json\"\naddress = \"altar/light/candle/state\"")
            .expect_err("state topic");
        assert!(err.contains("is a state topic"), "{err}");
        let err = options("driver = \"zigbee2mqtt\"\naddress = \"z\"\nkelvin_range = [6500, 2200]")
            .expect_err("reversed range");
        assert!(
            err.contains(
                "rig.toml:6:16: `kelvin_range` must be [low, high] with 1000 <= low < high"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_demo_rig_maps_in_order() {
        let mut loader = Loader::new();
        let rig = loader
            .rig(std::path::Path::new("scenes/demo/rig.toml"))
            .expect("demo rig loads");
        let specs = rig.light_specs();
        assert_eq!(specs.len(), rig.lights.len());
        for (spec, def) in specs.iter().zip(&rig.lights) {
            assert_eq!(spec.address, def.address);
            assert_eq!(spec.options, def.options);
        }
    }

    /// Shelly models set generation, component and white range; keys beside them win.
    #[test]
    fn a_shelly_model_sets_its_capabilities() {
        let duo =
            options("driver = \"shelly\"\naddress = \"s\"\nmodel = \"duo-gen3\"").expect("ok");
        let DriverSettings::Shelly(s) = &duo.driver else {
            panic!("{duo:?}");
        };
        assert_eq!(
            (s.generation, s.component),
            (ShellyGen::Gen2, ShellyComponent::Cct)
        );
        assert_eq!(duo.caps.kelvin_range, (2700, 6500));
        assert_eq!(
            duo.caps.max_native_fade,
            std::time::Duration::from_secs(10_800)
        );
        let dimmer =
            options("driver = \"shelly\"\naddress = \"s\"\nmodel = \"dimmer\"").expect("ok");
        assert!(!dimmer.caps.colors.kelvin);
        assert_eq!(
            dimmer.caps.max_native_fade,
            std::time::Duration::from_secs(5)
        );
        let own = options(
            "driver = \"shelly\"\naddress = \"s\"\nmodel = \"duo\"\ngeneration = 2\nkelvin_range = [3000, 6000]",
        )
        .expect("ok");
        let DriverSettings::Shelly(s) = &own.driver else {
            panic!("{own:?}");
        };
        assert_eq!(s.generation, ShellyGen::Gen2);
        assert_eq!(own.caps.kelvin_range, (3000, 6000));
        let err =
            options("driver = \"shelly\"\naddress = \"s\"\nmodel = \"duo3\"").expect_err("model");
        assert!(err.contains("rig.toml:6:9: unknown model `duo3`"), "{err}");
        assert_eq!(MODELS.len(), 8);
    }

    /// Every key is checked against the light's driver: another driver's setting names its
    /// driver, a typo gets a suggestion, a value of the wrong kind says what it must be.
    #[test]
    fn keys_are_checked_against_the_lights_driver() {
        let err = options("driver = \"wled\"\naddress = \"w\"\nbase_topic = \"z\"")
            .expect_err("other driver");
        assert!(
            err.contains("rig.toml:6:1: light `l`: `base_topic` only applies to the `zigbee2mqtt` driver, not `wled`"),
            "{err}"
        );
        let err =
            options("driver = \"wled\"\naddress = \"w\"\nkelvin_as_rbg = true").expect_err("typo");
        assert!(
            err.contains(
                "rig.toml:6:1: unknown key `kelvin_as_rbg`; did you mean `kelvin_as_rgb`?"
            ),
            "{err}"
        );
        let err =
            options("driver = \"wled\"\naddress = \"w\"\nnative_fade = \"yes\"").expect_err("type");
        assert!(
            err.contains(
                "rig.toml:6:15: `native_fade` must be true or false, not the string \"yes\""
            ),
            "{err}"
        );
        let err = options("driver = \"zigbee2mqtt\"\naddress = \"z\"\nbase_topic = \"z2m/#\"")
            .expect_err("topic");
        assert!(err.contains("rig.toml:6:14:"), "{err}");
    }
}
