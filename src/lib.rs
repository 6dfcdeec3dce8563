//! sanctum: a room-ambience controller for ceremonies. This file only declares the module tree.

pub mod audio;
pub mod command;
pub mod config;
pub mod lights;
pub mod model;
pub mod tween;
pub mod units;
