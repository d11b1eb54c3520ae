//! Logging: human-readable text by default, JSON for log collectors.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogConfig;

pub(crate) fn init(log: &LogConfig) {
    let filter = std::env::var("VELLUM_LOG")
        .ok()
        .or_else(|| log.level.clone())
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a terminal, not for a log file or a collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = if log.format.as_deref() == Some("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("vellum: logging was already set up: {e}");
    }
}
