//! The `vellum` binary's library: command line, configuration and
//! telemetry. Kept as a library so tests can drive the same code.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
mod telemetry;
