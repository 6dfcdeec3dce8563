//! Builds the light controller's [`LightSpec`]s from the rig's lights, in the rig's order (so
//! engine light indices match). The options are already typed and checked by `config`; this
//! only pairs each with its address. Pure; it must not read files or encode payloads.

use super::controller::LightSpec;
use crate::model::Rig;

/// One [`LightSpec`] per rig light, in the rig's order.
#[must_use]
pub fn light_specs(rig: &Rig) -> Vec<LightSpec> {
    rig.lights
        .iter()
        .map(|def| LightSpec {
            address: def.address.clone(),
            options: def.options.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::{Loader, SourceFile};
    use crate::lights::curve::DeviceCurve;
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
        assert!(!opts.native_fade);
        assert_eq!(opts.max_native_fade, Duration::from_secs(7));
        assert_eq!(opts.min_level, 0.05);
        assert_eq!(opts.curve, DeviceCurve::Gamma(2.8));
        assert_eq!(opts.kelvin_range, (2000, 4000));
        assert_eq!(opts.max_rate, 2.5);
        assert!(opts.split_color);
        assert!(!opts.group);
        assert_eq!(
            opts.driver,
            DriverSettings::Zigbee2Mqtt {
                base_topic: "z2m".into()
            }
        );
        let gamma = options("driver = \"wled\"\naddress = \"w\"\ncurve = \"gamma\"").expect("ok");
        assert_eq!(gamma.curve, DeviceCurve::Gamma(2.2));
    }

    #[test]
    fn groups_slow_down_unless_the_rate_is_explicit() {
        let o = options("driver = \"zigbee2mqtt\"\naddress = \"g\"\ngroup = true").expect("ok");
        assert!(o.group);
        assert_eq!(o.max_rate, 0.5);
        let o = options("driver = \"zigbee2mqtt\"\naddress = \"g\"\ngroup = true\nmax_rate = 0.25")
            .expect("ok");
        assert_eq!((o.group, o.max_rate), (true, 0.25));
    }

    #[test]
    fn driver_settings_are_mapped() {
        let shelly = options(
            "driver = \"shelly\"\naddress = \"s\"\ngeneration = 2\nchannel = 3\ncomponent = \"cct\"",
        )
        .expect("valid");
        assert_eq!(
            shelly.driver,
            DriverSettings::Shelly {
                generation: ShellyGen::Gen2,
                channel: 3,
                component: ShellyComponent::Cct,
                src: "sanctum".into(),
            }
        );
        assert_eq!(shelly.max_native_fade, Duration::from_secs(10_800));
        let wled = options("driver = \"wled\"\naddress = \"w\"\nkelvin_as_rgb = true").expect("ok");
        assert_eq!(
            wled.driver,
            DriverSettings::Wled {
                kelvin_as_rgb: true
            }
        );
        let ha = options(
            "driver = \"ha-json\"\naddress = \"h/set\"\nbrightness_scale = 100\ncolor_temp_kelvin = true",
        )
        .expect("valid");
        assert_eq!(
            ha.driver,
            DriverSettings::HaJson {
                brightness_scale: 100,
                color_temp_kelvin: true
            }
        );
        let template = options(
            "driver = \"template\"\naddress = \"t\"\ntopic = \"x/{address}\"\npayload = \"{level_pct}\"",
        )
        .expect("valid");
        assert_eq!(
            template.driver,
            DriverSettings::Template {
                topic: "x/{address}".into(),
                payload: "{level_pct}".into()
            }
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
    }

    #[test]
    fn the_demo_rig_maps_in_order() {
        let mut loader = Loader::new();
        let rig = loader
            .rig(std::path::Path::new("scenes/demo/rig.toml"))
            .expect("demo rig loads");
        let specs = light_specs(&rig);
        assert_eq!(specs.len(), rig.lights.len());
        for (spec, def) in specs.iter().zip(&rig.lights) {
            assert_eq!(spec.address, def.address);
            assert_eq!(spec.options, def.options);
        }
    }
}
