//! Reading configuration: rig, ceremony and scene files, in two stages (raw serde structs,
//! then resolved domain types) with every problem reported as `path:line:col: message`.

pub mod diag;
pub mod parse;
