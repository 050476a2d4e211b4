//! The command line: clap definitions, then one function per command. `main`
//! only maps the returned error to its exit code.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::datadir::DataDir;
use crate::error::AppError;
use crate::stress;

/// dhan_scalper: a lock-free paper-trading engine and daemon for Indian index options.
#[derive(Debug, Parser)]
#[command(name = "dhan_scalper", version, about, propagate_version = true)]
pub struct Cli {
    /// The data directory (created by commands that write).
    #[arg(long, global = true, default_value = "data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load generator on the real write-ahead log: N threads commit durably.
    Stress(StressArgs),
    /// Inspect and maintain the write-ahead log.
    #[command(subcommand)]
    Wal(WalCommand),
}

/// `stress` flags.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("limit").required(true).args(["ops", "secs"])))]
pub struct StressArgs {
    /// Committing threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Stop after this many operations in total.
    #[arg(long)]
    pub ops: Option<u64>,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long)]
    pub secs: Option<f64>,
    /// Commits each thread keeps in flight before it waits for durability.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Print a flushed line `ack V` once version V is durable.
    #[arg(long)]
    pub print_acks: bool,
    /// Seed of the generated records (printed in the result line).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// `wal` subcommands.
#[derive(Debug, Subcommand)]
pub enum WalCommand {
    /// Check every frame of the log without changing it; exit 1 on corruption.
    Verify {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), AppError> {
    match cli.command {
        Command::Stress(args) => run_stress(&cli.data_dir, &args),
        Command::Wal(WalCommand::Verify { json }) => run_wal_verify(&cli.data_dir, json),
    }
}

fn wal_storage(dir: &DataDir) -> Result<Arc<dyn wal::Storage>, AppError> {
    Ok(Arc::new(wal::FsStorage::create_dir(dir.wal_dir())?))
}

fn run_stress(data_dir: &std::path::Path, args: &StressArgs) -> Result<(), AppError> {
    let limit = match (args.ops, args.secs) {
        (Some(n), _) => stress::Limit::Ops(n),
        (None, Some(s)) if s.is_finite() && s > 0.0 && s < 1e9 => {
            stress::Limit::Duration(Duration::from_secs_f64(s))
        }
        (None, Some(s)) => {
            return Err(AppError::usage(format!(
                "--secs must be a positive number of seconds, got {s}"
            )));
        }
        (None, None) => return Err(AppError::usage("give --ops N or --secs S")),
    };
    let settings = stress::Settings {
        threads: args.threads,
        limit,
        pipeline: args.pipeline,
        print_acks: args.print_acks,
        seed: args.seed.unwrap_or_else(|| fastrand::u64(..)),
    };
    settings.validate()?;
    let dir = DataDir::open_for_write(data_dir)?;
    let recovered = wal::Recovered::open(wal_storage(&dir)?, &wal::Options::default())?;
    if let Some(torn) = &recovered.report().torn_tail {
        eprintln!(
            "recovered: truncated a torn tail of {} bytes at {}:{} (an unacknowledged write)",
            torn.bytes, torn.segment, torn.offset
        );
    }
    let next = recovered.next_seq();
    let log: wal::Wal = recovered.start(None)?;
    let out: Mutex<std::io::Stdout> = Mutex::new(std::io::stdout());
    let report = stress::run(&log, next, &settings, &out)?;
    log.close()?;
    let mut line = report.to_json();
    line["seed"] = settings.seed.into();
    println!("{line}");
    Ok(())
}

fn run_wal_verify(data_dir: &std::path::Path, json: bool) -> Result<(), AppError> {
    let dir = DataDir::open_read_only(data_dir)?;
    let storage = wal::FsStorage::existing(dir.wal_dir()).map_err(|_| {
        AppError::usage(format!(
            "{} has no log yet (no {}/ directory); run `dhan_scalper stress --ops 1000` to write one",
            dir.root().display(),
            crate::datadir::WAL_DIR_NAME
        ))
    })?;
    let (records, report) = wal::inspect(&storage, &wal::Options::default())?;
    let last = report.next_seq - 1;
    if json {
        let v = serde_json::json!({
            "ok": true,
            "segments": report.segments.len(),
            "records": report.records_scanned,
            "first_seq": report.first_seq,
            "last_seq": last,
            "torn_tail": report.torn_tail.as_ref().map(|t| serde_json::json!({
                "segment": t.segment, "offset": t.offset, "bytes": t.bytes,
            })),
        });
        println!("{v}");
    } else {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "log ok: {} segment(s), {} record(s), sequence {}..={}",
            report.segments.len(),
            report.records_scanned,
            report.first_seq,
            last
        );
        if let Some(t) = &report.torn_tail {
            let _ = writeln!(
                out,
                "torn tail: {} byte(s) at {}:{} (an unacknowledged write; the next writable open truncates it)",
                t.bytes, t.segment, t.offset
            );
        }
    }
    drop(records);
    Ok(())
}
