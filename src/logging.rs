//! Log output through `tracing`: warnings and errors to stderr by default;
//! `RUST_LOG` (for example `RUST_LOG=wal=info`) raises the detail.

/// Installs the subscriber once. Safe to call again (later calls do nothing).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
