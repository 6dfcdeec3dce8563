//! A `ceremony.toml`'s text, resolved in the engine fixture's folder (its rig and scenes),
//! and when it loads, the whole ceremony driven on virtual time as `sanctum render` plans it.
#![no_main]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use sanctum::config::{Loader, SourceFile};
use sanctum::render::{ManualAfter, plan};
use sanctum::timeline::Timeline;

fuzz_target!(|text: &str| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/engine");
    let mut loader = Loader::new();
    let file = Arc::new(SourceFile::new(dir.join("ceremony.toml"), text.to_owned()));
    let loaded = loader.ceremony_source(&dir, file, None);
    let _ = loader.diags.to_string();
    if let Some(loaded) = loaded.filter(|_| loader.diags.is_empty()) {
        let timeline = Timeline::new(Arc::new(loaded.ceremony), loaded.rig);
        let _ = plan(&timeline, ManualAfter::Fixed(Duration::from_secs(1)));
        let _ = plan(&timeline, ManualAfter::Min);
    }
});
