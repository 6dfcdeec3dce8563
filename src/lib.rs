//! sanctum: a room-ambience controller for ceremonies. This file only declares the module tree.

pub mod audio;
pub mod lights;
pub mod tween;
pub mod units;
