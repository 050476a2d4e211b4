//! Log output through `tracing`, to stderr. Components log under their own
//! targets: `engine`, `wal`, `scheduler`, `market`, `strategy`, `risk`, `broker`,
//! `app`. Human lines carry IST timestamps (the market's time zone); `--log-format
//! json` switches to JSON lines (UTC timestamps, as machines prefer); `-q` shows
//! warnings and errors only. `RUST_LOG` (for example `RUST_LOG=wal=debug`)
//! overrides the level.

use std::fmt;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, with an IST timestamp.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// The default level of a command: `info` for the daemons, `warn` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Warnings and errors only.
    Quiet,
    /// Progress of a long-running command.
    Info,
}

/// `YYYY-MM-DD HH:MM:SS.mmm IST`.
#[derive(Debug, Clone, Copy)]
struct IstTimer;

impl FormatTime for IstTimer {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let ts = crate::wallet::Timestamp::from_epoch_ms(ms);
        // Timestamp shows `YYYY-MM-DD HH:MM:SS IST`: add the milliseconds.
        let shown = ts.to_string();
        let (day_time, zone) = shown.split_at(shown.len().saturating_sub(4));
        write!(w, "{day_time}.{:03}{zone}", ms.rem_euclid(1000))
    }
}

/// Installs the subscriber once. Safe to call again (later calls do nothing).
pub fn init() {
    init_with(LogFormat::Text, Verbosity::Quiet);
}

/// Installs the subscriber with a format and a default level.
pub fn init_with(format: LogFormat, verbosity: Verbosity) {
    let default = match verbosity {
        Verbosity::Quiet => "warn",
        Verbosity::Info => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_timer(IstTimer).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
