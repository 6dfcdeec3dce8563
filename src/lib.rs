//! sanctum: a room-ambience controller for ceremonies. This file only declares the module tree.

pub mod app;
pub mod audio;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod guard;
pub mod lights;
pub mod model;
pub mod mqtt;
pub mod precedence;
pub mod printer;
pub mod render;
pub mod run;
pub mod shutdown;
pub mod sound;
pub mod timeline;
pub mod tween;
pub mod units;
