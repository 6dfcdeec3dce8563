//! A rig file's text through both stages of reading, then the rendering of every problem.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sanctum::config::{Loader, SourceFile};

fuzz_target!(|text: &str| {
    let mut loader = Loader::new();
    let file = Arc::new(SourceFile::new("fuzz/rig.toml", text.to_owned()));
    if let Some(rig) = loader.rig_source(file) {
        // What a checked rig promises the rest of sanctum: lights and groups resolve.
        for light in &rig.lights {
            let _ = rig.resolve_lights(&light.name);
        }
        for group in &rig.groups {
            let _ = rig.resolve_lights(&group.name);
        }
    }
    let _ = loader.diags.to_string();
});
