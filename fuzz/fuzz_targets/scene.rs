//! A scene file's text through both stages of reading (TOML → raw structs → checked scene)
//! against the engine fixture's rig, then `check`'s rendering of every problem.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sanctum::config::{Loader, SourceFile};
use sanctum::model::Rig;

fn fixture() -> &'static (Arc<Rig>, PathBuf) {
    static RIG: OnceLock<(Arc<Rig>, PathBuf)> = OnceLock::new();
    RIG.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/engine");
        let rig = Loader::new().rig(&dir.join("rig.toml")).expect("fixture rig");
        (rig, dir.join("../sounds"))
    })
}

fuzz_target!(|text: &str| {
    let (rig, sounds) = fixture();
    let mut loader = Loader::new();
    let file = Arc::new(SourceFile::new("fuzz.toml", text.to_owned()));
    let _ = loader.scene_source(file, rig, sounds);
    // Every problem must place and print (line:col, the source line and a caret).
    let _ = loader.diags.to_string();
});
