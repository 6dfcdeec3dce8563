//! Builds the light controller's [`LightSpec`]s from the rig's lights: maps every option a
//! rig file may set (`RawLight` in `config::raw`) onto [`LightOptions`], with the driver's
//! defaults for what the rig leaves out. Pure; it must not read files, validate TOML (that is
//! `config`) or encode payloads.

use super::controller::LightSpec;
use super::curve::DeviceCurve;
use super::options::{
    DriverKind, DriverSettings, LightOptions, OptionsError, ShellyComponent, ShellyGen,
};
use crate::model::{LightDef, Rig};

/// Exponent used when a rig says `curve = "gamma"` without `gamma`.
pub const DEFAULT_GAMMA: f32 = 2.2;

/// Why a rig light cannot be driven.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RigLightError {
    /// The driver name is not one sanctum speaks.
    #[error("failed to set up light `{light}`: unknown driver `{driver}`")]
    UnknownDriver {
        /// Light name.
        light: String,
        /// Driver as written.
        driver: String,
    },
    /// The device curve name is unknown.
    #[error("failed to set up light `{light}`: unknown device curve `{curve}`")]
    UnknownCurve {
        /// Light name.
        light: String,
        /// Curve as written.
        curve: String,
    },
    /// The options make no sense for the driver.
    #[error("failed to set up light `{light}`: {why}")]
    Options {
        /// Light name.
        light: String,
        /// What is wrong.
        why: OptionsError,
    },
}

/// The options for one rig light: driver defaults, then every option the rig sets.
///
/// `group = true` lowers the rate to the group default unless the rig also sets `max_rate`,
/// which then wins. Shelly lights use the `Light` component (dimmer or white; the Duo's
/// colour temperature rides along on gen1) unless the rig names `component`.
///
/// # Errors
/// Returns a [`RigLightError`] for an unknown driver or curve, or options that fail
/// [`LightOptions::validate`].
pub fn light_options(def: &LightDef) -> Result<LightOptions, RigLightError> {
    let kind = DriverKind::from_name(&def.driver).ok_or_else(|| RigLightError::UnknownDriver {
        light: def.name.clone(),
        driver: def.driver.clone(),
    })?;
    let o = &def.options;
    let driver = match (DriverSettings::defaults(kind), kind) {
        (DriverSettings::Zigbee2Mqtt { base_topic }, _) => DriverSettings::Zigbee2Mqtt {
            base_topic: o.base_topic.clone().unwrap_or(base_topic),
        },
        (
            DriverSettings::Shelly {
                generation,
                channel,
                src,
                ..
            },
            _,
        ) => DriverSettings::Shelly {
            generation: match o.generation {
                Some(2) => ShellyGen::Gen2,
                Some(_) => ShellyGen::Gen1,
                None => generation,
            },
            channel: o.channel.unwrap_or(channel),
            component: o.component.unwrap_or(ShellyComponent::Light),
            src,
        },
        (
            DriverSettings::HaJson {
                brightness_scale,
                color_temp_kelvin,
            },
            _,
        ) => DriverSettings::HaJson {
            brightness_scale: o
                .brightness_scale
                .map_or(brightness_scale, |s| u16::try_from(s).unwrap_or(u16::MAX)),
            color_temp_kelvin: o.color_temp_kelvin.unwrap_or(color_temp_kelvin),
        },
        (DriverSettings::Template { topic, payload }, _) => DriverSettings::Template {
            topic: o.topic.clone().unwrap_or(topic),
            payload: o.payload.clone().unwrap_or(payload),
        },
        (DriverSettings::Wled { kelvin_as_rgb }, _) => DriverSettings::Wled {
            kelvin_as_rgb: o.kelvin_as_rgb.unwrap_or(kelvin_as_rgb),
        },
        (other, _) => other,
    };
    let mut opts = LightOptions::with_driver(driver);
    if o.group == Some(true) {
        opts = opts.as_group();
    }
    if let Some(native) = o.native_fade {
        opts.native_fade = native;
    }
    if let Some(max) = o.max_fade {
        opts.max_native_fade = max;
    }
    if let Some(min) = o.min_level {
        opts.min_level = min;
    }
    if let Some(curve) = &o.curve {
        opts.curve = match curve.as_str() {
            "cie" => DeviceCurve::Cie,
            "linear" => DeviceCurve::Linear,
            "gamma" => DeviceCurve::Gamma(o.gamma.unwrap_or(DEFAULT_GAMMA)),
            other => {
                return Err(RigLightError::UnknownCurve {
                    light: def.name.clone(),
                    curve: other.to_owned(),
                });
            }
        };
    }
    if let Some(range) = o.kelvin_range {
        opts.kelvin_range = range;
    }
    if let Some(rate) = o.max_rate {
        opts.max_rate = rate;
    }
    if let Some(split) = o.split_color {
        opts.split_color = split;
    }
    opts.validate().map_err(|why| RigLightError::Options {
        light: def.name.clone(),
        why,
    })?;
    Ok(opts)
}

/// One [`LightSpec`] per rig light, in the rig's order (so engine light indices match).
///
/// # Errors
/// The first light that cannot be set up, see [`light_options`].
pub fn light_specs(rig: &Rig) -> Result<Vec<LightSpec>, RigLightError> {
    rig.lights
        .iter()
        .map(|def| {
            Ok(LightSpec {
                address: def.address.clone(),
                options: light_options(def)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::LightOptionsDef;

    fn def(driver: &str, options: LightOptionsDef) -> LightDef {
        LightDef {
            name: "l".into(),
            driver: driver.into(),
            address: "addr".into(),
            options,
        }
    }

    #[test]
    fn missing_options_take_driver_defaults() {
        for (kind, name) in DriverKind::ALL.iter().zip(DriverKind::NAMES) {
            let opts = light_options(&def(name, LightOptionsDef::default())).expect("defaults");
            assert_eq!(opts, LightOptions::defaults(*kind), "{name}");
        }
    }

    #[test]
    fn every_generic_option_is_mapped() {
        let opts = light_options(&def(
            "zigbee2mqtt",
            LightOptionsDef {
                native_fade: Some(false),
                max_fade: Some(Duration::from_secs(7)),
                min_level: Some(0.05),
                curve: Some("gamma".into()),
                gamma: Some(2.8),
                kelvin_range: Some((2000, 4000)),
                max_rate: Some(2.5),
                split_color: Some(true),
                base_topic: Some("z2m".into()),
                ..LightOptionsDef::default()
            },
        ))
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
        let gamma_default = light_options(&def(
            "wled",
            LightOptionsDef {
                curve: Some("gamma".into()),
                ..LightOptionsDef::default()
            },
        ))
        .expect("valid");
        assert_eq!(gamma_default.curve, DeviceCurve::Gamma(DEFAULT_GAMMA));
        for (name, curve) in [("cie", DeviceCurve::Cie), ("linear", DeviceCurve::Linear)] {
            let o = light_options(&def(
                "tasmota",
                LightOptionsDef {
                    curve: Some(name.into()),
                    ..LightOptionsDef::default()
                },
            ))
            .expect("valid");
            assert_eq!(o.curve, curve);
        }
    }

    #[test]
    fn groups_slow_down_unless_the_rate_is_explicit() {
        let group = LightOptionsDef {
            group: Some(true),
            ..LightOptionsDef::default()
        };
        let o = light_options(&def("zigbee2mqtt", group.clone())).expect("valid");
        assert!(o.group);
        assert_eq!(o.max_rate, 0.5);
        let o = light_options(&def(
            "zigbee2mqtt",
            LightOptionsDef {
                max_rate: Some(0.25),
                ..group
            },
        ))
        .expect("valid");
        assert!(o.group);
        assert_eq!(o.max_rate, 0.25);
    }

    #[test]
    fn driver_settings_are_mapped() {
        let shelly = light_options(&def(
            "shelly",
            LightOptionsDef {
                generation: Some(2),
                channel: Some(3),
                component: Some(ShellyComponent::Cct),
                ..LightOptionsDef::default()
            },
        ))
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
        assert_eq!(
            shelly.max_native_fade,
            std::time::Duration::from_secs(10_800)
        );
        let wled = light_options(&def(
            "wled",
            LightOptionsDef {
                kelvin_as_rgb: Some(true),
                ..LightOptionsDef::default()
            },
        ))
        .expect("valid");
        assert_eq!(
            wled.driver,
            DriverSettings::Wled {
                kelvin_as_rgb: true
            }
        );
        let ha = light_options(&def(
            "ha-json",
            LightOptionsDef {
                brightness_scale: Some(100),
                color_temp_kelvin: Some(true),
                ..LightOptionsDef::default()
            },
        ))
        .expect("valid");
        assert_eq!(
            ha.driver,
            DriverSettings::HaJson {
                brightness_scale: 100,
                color_temp_kelvin: true
            }
        );
        let template = light_options(&def(
            "template",
            LightOptionsDef {
                topic: Some("x/{address}".into()),
                payload: Some("{level_pct}".into()),
                ..LightOptionsDef::default()
            },
        ))
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
    fn bad_definitions_are_typed_errors() {
        let err = light_options(&def("hue", LightOptionsDef::default())).expect_err("driver");
        insta::assert_snapshot!(err, @"failed to set up light `l`: unknown driver `hue`");
        let err = light_options(&def(
            "template",
            LightOptionsDef {
                topic: Some("{nope}".into()),
                ..LightOptionsDef::default()
            },
        ))
        .expect_err("template");
        insta::assert_snapshot!(err, @"failed to set up light `l`: failed to read template `{nope}`: unknown placeholder `{nope}`");
    }

    #[test]
    fn the_demo_rig_maps_in_order() {
        let mut loader = crate::config::Loader::new();
        let rig = loader
            .rig(std::path::Path::new("scenes/demo/rig.toml"))
            .expect("demo rig loads");
        let specs = light_specs(&rig).expect("demo lights");
        assert_eq!(specs.len(), rig.lights.len());
        for (spec, def) in specs.iter().zip(&rig.lights) {
            assert_eq!(spec.address, def.address);
            assert_eq!(spec.options.kind().name(), def.driver);
        }
    }
}
