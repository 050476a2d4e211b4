//! The command line: clap definitions, then one function per command. `main`
//! only maps the returned error to its exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::run::{Mode, SessionOptions};
use crate::bench;
use crate::codec;
use crate::datadir::DataDir;
use crate::engine::snapshot::SnapshotStore;
use crate::engine::{Inspected, RecoveryError, Stores, recovery};
use crate::error::AppError;
use crate::ledger::Ledger;
use crate::logging::{self, LogFormat, Verbosity};
use crate::money::Amount;
use crate::progress::{BarTarget, RecoveryBar};
use crate::stress::{self, LedgerEngine};
use crate::wallet::{Op, State};

/// dhan_scalper: a lock-free paper-trading engine and daemon for Indian index options.
#[derive(Debug, Parser)]
#[command(name = "dhan_scalper", version, about, propagate_version = true)]
pub struct Cli {
    /// The data directory (created by commands that write) [default: the
    /// config's global.data_dir, which is `data`].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A config file laid over the built-in defaults (config/scalper.yml).
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines as text (IST timestamps) or JSON.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The trading daemon: recover, run the tasks, stop on SIGINT/SIGTERM or after -t, print the summary.
    EventDriven(SessionArgs),
    /// The same tasks on one thread; with --replay FILE --fast, a deterministic backtest.
    Paper(PaperArgs),
    /// Validate a config and print the effective values.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Load generator on the real engine and log: N threads commit durably.
    Stress(StressArgs),
    /// Balances, positions, risk latches and versions (read-only; works while a writer runs).
    Status {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The wallet's balances (read-only).
    Balance,
    /// Open positions (read-only).
    Positions,
    /// Add cash (journaled).
    Deposit {
        /// Rupees, for example 50000 or 1,00,000.50.
        amount: String,
    },
    /// Take cash out of the available balance (journaled).
    Withdraw {
        /// Rupees, for example 50000 or 1,00,000.50.
        amount: String,
    },
    /// Re-baseline the cash to AMOUNT with a flat book (explicit and journaled; never implicit).
    ResetBalance {
        /// Rupees.
        #[arg(short = 'a', long = "amount")]
        amount: String,
    },
    /// Inspect and maintain the write-ahead log.
    #[command(subcommand)]
    Wal(WalCommand),
    /// Executed orders in the log, and orders still pending (read-only).
    Orders {
        /// Output format.
        #[arg(short = 'f', long = "format", value_enum, default_value_t = OrdersFormat::Table)]
        format: OrdersFormat,
    },
    /// Lift a halt (the daily loss limit's or the operator's); journaled.
    Resume,
    /// Session reports under DATA/reports: list them, or print the latest.
    Report {
        /// Print the newest report (JSON) instead of the list.
        #[arg(long)]
        latest: bool,
    },
    /// The program's version and the formats it reads and writes.
    Version,
    /// Benchmarks, each next to its baseline measured in the same run.
    Bench {
        /// Print one JSON array instead of the table.
        #[arg(long)]
        json: bool,
        /// A short smoke run instead of the full one.
        #[arg(long, conflicts_with = "long")]
        quick: bool,
        /// Also measure the scheduler at 60 s intervals (about five more minutes).
        #[arg(long)]
        long: bool,
    },
}

/// Flags of the trading sessions.
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Stop after this many seconds (fractions allowed).
    #[arg(short = 't', long = "time", value_name = "SECS")]
    pub time: Option<f64>,
    /// Warnings and errors only.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the session summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Market data: `sim` or `replay:FILE` [default: the config's global.feed].
    #[arg(long, value_name = "FEED")]
    pub feed: Option<String>,
    /// The simulator's seed [default: the config's sim.seed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Record every tick of the feed to FILE (CSV), for a later replay.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// `paper` flags.
#[derive(Debug, Args)]
pub struct PaperArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    /// Replay a recorded tick file (the same as --feed replay:FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "feed")]
    pub replay: Option<PathBuf>,
    /// With --replay: run on the manual clock as fast as possible, from a fresh
    /// wallet, and stop at the end of the file (a deterministic backtest).
    #[arg(long, requires = "replay")]
    pub fast: bool,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config (-c FILE, or the built-in defaults) and print every effective value.
    Check,
}

/// `orders -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrdersFormat {
    /// An aligned table.
    Table,
    /// JSON Lines, one order per line.
    Json,
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
    /// Check every frame and re-apply every record without changing anything; exit 1 on corruption.
    Verify {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the snapshot base and every record with its operation and post-image balance.
    Dump {
        /// JSON Lines (the default and, for now, the only format).
        #[arg(long)]
        json: bool,
        /// Start at this version.
        #[arg(long, value_name = "V")]
        from: Option<u64>,
    },
    /// Write a snapshot now and delete the log segments no kept snapshot needs.
    Checkpoint,
}

/// Whether `open_stores` may draw the recovery progress bar (set by `run`).
static RECOVERY_BAR: AtomicBool = AtomicBool::new(false);

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), AppError> {
    let verbosity = match &cli.command {
        Command::EventDriven(a) | Command::Paper(PaperArgs { session: a, .. }) if !a.quiet => {
            Verbosity::Info
        }
        _ => Verbosity::Quiet,
    };
    logging::init_with(cli.log_format, verbosity);
    // A long recovery draws a bar on stderr (a terminal only), except with
    // `-q` on a session or with JSON logs, which are for machines.
    let quiet_session = matches!(&cli.command,
        Command::EventDriven(a) | Command::Paper(PaperArgs { session: a, .. }) if a.quiet);
    // Relaxed: read only later on this same thread (`open_stores`).
    RECOVERY_BAR.store(
        !quiet_session && cli.log_format == LogFormat::Text,
        Ordering::Relaxed,
    );
    let config = crate::config::Config::load(cli.config.as_deref())?;
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(|| config.global.data_dir.clone());
    let dir = &data_dir;
    match cli.command {
        Command::EventDriven(args) => {
            run_session_command(dir, config, Mode::EventDriven, &args, None)
        }
        Command::Paper(args) => {
            let mode = if args.fast {
                Mode::PaperFast
            } else {
                Mode::Paper
            };
            run_session_command(dir, config, mode, &args.session, args.replay.as_deref())
        }
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config.effective_yaml());
            Ok(())
        }
        Command::Stress(args) => run_stress(dir, &args),
        Command::Status { json } => run_status(dir, json),
        Command::Balance => run_balance(dir),
        Command::Positions => run_positions(dir),
        Command::Deposit { amount } => {
            run_funding(dir, "deposit", &amount, |amount| Op::Deposit { amount })
        }
        Command::Withdraw { amount } => {
            run_funding(dir, "withdraw", &amount, |amount| Op::Withdraw { amount })
        }
        Command::ResetBalance { amount } => {
            run_funding(dir, "reset-balance -a", &amount, |amount| Op::Reset {
                amount,
            })
        }
        Command::Wal(WalCommand::Verify { json }) => run_wal_verify(dir, json),
        Command::Wal(WalCommand::Dump { json: _, from }) => run_wal_dump(dir, from),
        Command::Wal(WalCommand::Checkpoint) => run_checkpoint(dir),
        Command::Orders { format } => run_orders(dir, format),
        Command::Resume => run_resume(dir),
        Command::Report { latest } => run_report(dir, latest),
        Command::Version => {
            run_version();
            Ok(())
        }
        Command::Bench { json, quick, long } => {
            let scale = match (quick, long) {
                (true, _) => bench::Scale::QUICK,
                (false, true) => bench::Scale::LONG,
                (false, false) => bench::Scale::FULL,
            };
            let rows = bench::run(scale, Path::new("."))?;
            if json {
                println!("{}", bench::to_json(&rows));
            } else {
                print!("{}", bench::to_table(&rows));
            }
            Ok(())
        }
    }
}

/// Starting cash `stress` deposits into a new data dir.
/// (One crore rupees.)
const STRESS_STARTING_BALANCE_RUPEES: i64 = 10_000_000;
/// Commits that may be in flight between head and durable.
const PENDING_MAX: u64 = 4096;
/// A snapshot is written once the log holds this many records past the newest
/// one (the `snapshot_every` config key, once config lands), so recovery
/// replays at most about this many.
const SNAPSHOT_EVERY_RECORDS: u64 = 100_000;

fn wal_options() -> wal::Options {
    wal::Options::default()
}

/// Segment size of a backtest's scratch log: room for the largest frame (1 MiB
/// payload) and the few records a backtest writes.
const SCRATCH_SEGMENT_BYTES: u64 = 2 << 20;

/// A backtest's scratch log: small segments, so the start does not write and
/// sync 128 MiB of preallocation for a handful of records.
fn scratch_wal_options() -> wal::Options {
    wal::Options {
        segment_bytes: SCRATCH_SEGMENT_BYTES,
        ..wal::Options::default()
    }
}

fn stores_for_write(dir: &DataDir) -> Result<Stores, AppError> {
    Ok(Stores {
        wal: Arc::new(wal::FsStorage::create_dir(dir.wal_dir())?),
        snapshots: Arc::new(wal::FsStorage::create_dir(dir.snapshot_dir())?),
    })
}

fn stores_read_only(dir: &DataDir) -> Result<Stores, AppError> {
    let open = |path: std::path::PathBuf| -> Result<Arc<dyn wal::Storage>, AppError> {
        Ok(Arc::new(wal::FsStorage::existing(&path).map_err(|_| {
            AppError::usage(format!(
                "{} has no log yet (no {}); run `dhan_scalper stress --ops 1000` or `dhan_scalper deposit 100000` to start one",
                dir.root().display(),
                path.display()
            ))
        })?))
    };
    let wal = open(dir.wal_dir())?;
    // A data dir that never checkpointed has no snapshot directory: fine.
    let snapshots: Arc<dyn wal::Storage> = match wal::FsStorage::existing(dir.snapshot_dir()) {
        Ok(s) => Arc::new(s),
        Err(_) => Arc::new(EmptyDir),
    };
    Ok(Stores { wal, snapshots })
}

/// A snapshot directory that does not exist yet, for read-only commands.
#[derive(Debug)]
struct EmptyDir;

impl wal::Storage for EmptyDir {
    fn describe(&self) -> String {
        "(no snapshot directory)".into()
    }
    fn list(&self) -> std::io::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn read(&self, _: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::NotFound.into())
    }
    fn create(&self, _: &str) -> std::io::Result<Box<dyn wal::StorageFile>> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
    fn open(&self, _: &str) -> std::io::Result<Box<dyn wal::StorageFile>> {
        Err(std::io::ErrorKind::NotFound.into())
    }
    fn rename(&self, _: &str, _: &str) -> std::io::Result<()> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
    fn remove(&self, _: &str) -> std::io::Result<()> {
        Err(std::io::ErrorKind::PermissionDenied.into())
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn lock(&self) -> wal::Result<Box<dyn wal::LockGuard>> {
        Err(wal::Error::Invalid("read-only".into()))
    }
}

fn recovery_error(e: RecoveryError) -> AppError {
    match e {
        RecoveryError::Log(e) => e.into(),
        other => AppError::problem(other.to_string()),
    }
}

fn open_engine(data_dir: &Path) -> Result<(LedgerEngine, Stores), AppError> {
    let dir = DataDir::open_for_write(data_dir)?;
    let stores = stores_for_write(&dir)?;
    open_stores(stores, Ledger::default())
}

/// Opens the engine with the config's wallet limits.
fn open_engine_with(
    data_dir: &Path,
    config: &crate::config::Config,
) -> Result<(LedgerEngine, Stores), AppError> {
    let dir = DataDir::open_for_write(data_dir)?;
    let stores = stores_for_write(&dir)?;
    open_stores(
        stores,
        Ledger {
            limits: config.wallet_limits(),
        },
    )
}

fn open_stores(stores: Stores, ledger: Ledger) -> Result<(LedgerEngine, Stores), AppError> {
    // Relaxed: written once by `run` on this thread before any engine opens.
    let target = if RECOVERY_BAR.load(Ordering::Relaxed) {
        BarTarget::Stderr
    } else {
        BarTarget::Hidden
    };
    let mut bar = RecoveryBar::new(target);
    let opened = recovery::open_observed(ledger, &stores, &wal_options(), PENDING_MAX, &mut |p| {
        bar.observe(p)
    });
    drop(bar);
    let (engine, info) = opened.map_err(recovery_error)?;
    if let Some(torn) = &info.log.torn_tail {
        eprintln!(
            "recovered: truncated a torn tail of {} bytes at {}:{} (an unacknowledged write)",
            torn.bytes, torn.segment, torn.offset
        );
    }
    Ok((engine, stores))
}

fn inspect_state(
    data_dir: &Path,
    visit: impl FnMut(u64, &Op, &State),
) -> Result<Inspected<State>, AppError> {
    let dir = DataDir::open_read_only(data_dir)?;
    let stores = stores_read_only(&dir)?;
    recovery::inspect(&Ledger::default(), &stores, &wal_options(), visit).map_err(recovery_error)
}

fn run_stress(data_dir: &Path, args: &StressArgs) -> Result<(), AppError> {
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
    let (engine, stores) = open_engine(data_dir)?;
    if engine.head().version == 0 {
        let c = engine
            .commit(Op::Deposit {
                amount: Amount::from_rupees(STRESS_STARTING_BALANCE_RUPEES),
            })
            .map_err(|e| AppError::problem(e.to_string()))?;
        engine.wait_durable(c)?;
    }
    let out: Mutex<std::io::Stdout> = Mutex::new(std::io::stdout());
    let report = stress::run(&engine, &settings, &out)?;
    engine.sync()?;
    engine.maybe_checkpoint(&stores, SNAPSHOT_EVERY_RECORDS)?;
    let mut line = report.to_json();
    line["seed"] = settings.seed.into();
    println!("{line}");
    Ok(())
}

fn status_json(s: &Inspected<State>) -> serde_json::Value {
    let mut v = codec::state_json(&s.state.state);
    v["version"] = s.state.version.into();
    // Everything a read-only recovery sees is on disk; the torn tail of a
    // write in progress is not counted.
    v["durable_version"] = s.state.version.into();
    v
}

fn run_status(data_dir: &Path, json: bool) -> Result<(), AppError> {
    let s = inspect_state(data_dir, |_, _, _| {})?;
    if json {
        println!("{}", status_json(&s));
        return Ok(());
    }
    let st = &s.state.state;
    let b = &st.balance;
    println!("version {} (durable)", s.state.version);
    println!(
        "available {}  used {}  total {}",
        b.available, b.used, b.total
    );
    println!(
        "realized {}  fees {}  net deposits {}",
        b.realized_pnl, b.fees, b.net_deposits
    );
    println!("open positions: {}", st.positions.len());
    match &st.risk.halted {
        Some(h) => println!("HALTED since {}", h.since),
        None => println!("trading allowed"),
    }
    Ok(())
}

fn run_balance(data_dir: &Path) -> Result<(), AppError> {
    let s = inspect_state(data_dir, |_, _, _| {})?;
    let b = &s.state.state.balance;
    for (name, v) in [
        ("available", b.available),
        ("used", b.used),
        ("total", b.total),
        ("realized_pnl", b.realized_pnl),
        ("fees", b.fees),
        ("net_deposits", b.net_deposits),
    ] {
        println!("{name:<13} {v:>20}");
    }
    Ok(())
}

fn run_positions(data_dir: &Path) -> Result<(), AppError> {
    let s = inspect_state(data_dir, |_, _, _| {})?;
    let positions = &s.state.state.positions;
    if positions.is_empty() {
        println!("no open positions");
    }
    for p in positions.iter() {
        println!(
            "{}  qty {}  avg {}  cost {}  since {}",
            p.instrument,
            p.qty.get(),
            codec::dec2(p.avg_price()),
            p.cost_basis,
            p.entry_ts
        );
    }
    Ok(())
}

fn run_funding(
    data_dir: &Path,
    command: &str,
    input: &str,
    op: impl FnOnce(Amount) -> Op,
) -> Result<(), AppError> {
    let amount = Amount::parse_user(input)
        .map_err(|e| AppError::usage(format!("{command} {input}: {e}")))?;
    if !amount.is_positive() {
        return Err(AppError::usage(format!(
            "{command} {input}: the amount must be more than zero"
        )));
    }
    let (engine, stores) = open_engine(data_dir)?;
    let c = engine
        .commit(op(amount))
        .map_err(|e| AppError::problem(format!("{command} {input}: {e}")))?;
    engine.wait_durable(c)?;
    engine.maybe_checkpoint(&stores, SNAPSHOT_EVERY_RECORDS)?;
    let b = engine.durable().state.balance;
    println!(
        "version {}: available {}  total {}",
        c.version, b.available, b.total
    );
    Ok(())
}

fn run_checkpoint(data_dir: &Path) -> Result<(), AppError> {
    let (engine, stores) = open_engine(data_dir)?;
    let v = engine.checkpoint(&stores)?;
    println!("snapshot written at version {v}");
    Ok(())
}

fn run_wal_dump(data_dir: &Path, from: Option<u64>) -> Result<(), AppError> {
    let from = from.unwrap_or(0);
    let dir = DataDir::open_read_only(data_dir)?;
    let stores = stores_read_only(&dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io_error = |e: std::io::Error| AppError::problem(format!("cannot write the dump: {e}"));
    // The base first: the newest valid snapshot, as recovery will use it.
    if let Some(loaded) = SnapshotStore::new(stores.snapshots.clone())
        .load_newest()
        .map_err(AppError::problem)?
    {
        let state = codec::decode_state(&loaded.payload).map_err(|e| {
            AppError::problem(format!("snapshot {} does not decode: {e}", loaded.version))
        })?;
        let line = serde_json::json!({
            "snapshot": {"version": loaded.version, "balance": codec::balance_json(&state.balance)}
        });
        writeln!(out, "{line}").map_err(io_error)?;
    }
    let mut write_error = None;
    recovery::inspect(
        &Ledger::default(),
        &stores,
        &wal_options(),
        |version, op, state| {
            if write_error.is_some() || version < from {
                return;
            }
            let line = serde_json::json!({
                "version": version,
                "op": codec::op_json(op),
                "balance": codec::balance_json(&state.balance),
            });
            if let Err(e) = writeln!(out, "{line}") {
                write_error = Some(e);
            }
        },
    )
    .map_err(recovery_error)?;
    if let Some(e) = write_error {
        return Err(io_error(e));
    }
    out.flush().map_err(io_error)
}

fn run_wal_verify(data_dir: &Path, json: bool) -> Result<(), AppError> {
    let s = inspect_state(data_dir, |_, _, _| {})?;
    let report = &s.log;
    let last = report.next_seq - 1;
    if json {
        let v = serde_json::json!({
            "ok": true,
            "segments": report.segments.len(),
            "records": report.records_scanned,
            "first_seq": report.first_seq,
            "last_seq": last,
            "snapshot_version": s.snapshot.as_ref().map(|b| b.version),
            "version": s.state.version,
            "torn_tail": report.torn_tail.as_ref().map(|t| serde_json::json!({
                "segment": t.segment, "offset": t.offset, "bytes": t.bytes,
            })),
        });
        println!("{v}");
    } else {
        println!(
            "log ok: {} segment(s), {} record(s), sequence {}..={}; every record re-applies to its stored balance; state at version {}",
            report.segments.len(),
            report.records_scanned,
            report.first_seq,
            last,
            s.state.version
        );
        if let Some(t) = &report.torn_tail {
            println!(
                "torn tail: {} byte(s) at {}:{} (an unacknowledged write; the next writable open truncates it)",
                t.bytes, t.segment, t.offset
            );
        }
    }
    Ok(())
}

fn run_orders(data_dir: &Path, format: OrdersFormat) -> Result<(), AppError> {
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut first_version = None;
    // Every record still in the log, also those a snapshot already covers.
    let dir = DataDir::open_read_only(data_dir)?;
    let stores = stores_read_only(&dir)?;
    let (records, _) = wal::inspect(&*stores.wal, &wal_options())?;
    for (version, payload) in records.iter() {
        let (op, _) = codec::decode_record(payload).map_err(|e| {
            AppError::problem(format!(
                "record {version} does not decode: {e}; check the log with `dhan_scalper wal verify`"
            ))
        })?;
        first_version.get_or_insert(version);
        if let Op::Buy { .. } | Op::Sell { .. } | Op::Cancel { .. } = op
            && rows.len() < ORDERS_LISTED_MAX
        {
            let mut v = codec::op_json(&op);
            v["version"] = version.into();
            v["status"] = match op {
                Op::Cancel { .. } => "cancelled",
                _ => "filled",
            }
            .into();
            rows.push(v);
        }
    }
    let s = inspect_state(data_dir, |_, _, _| {})?;
    for intent in s.state.state.pending.iter() {
        let mut v = codec::intent_json(intent);
        v["kind"] = "submit".into();
        v["status"] = "pending".into();
        rows.push(v);
    }
    match format {
        OrdersFormat::Json => {
            for row in &rows {
                println!("{row}");
            }
        }
        OrdersFormat::Table => {
            if let Some(v) = first_version.filter(|v| *v > 1) {
                println!(
                    "orders in the log from version {v} (older ones were checkpointed; see `dhan_scalper report`)"
                );
            }
            if rows.is_empty() {
                println!("no orders");
                return Ok(());
            }
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
            table.set_header([
                "version",
                "status",
                "order",
                "side",
                "instrument",
                "qty",
                "price",
                "charges",
                "reason",
            ]);
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for r in &rows {
                let side = match r["kind"].as_str() {
                    Some("buy") => "BUY".to_owned(),
                    Some("sell") => "SELL".to_owned(),
                    _ => text(&r["side"]),
                };
                table.add_row([
                    text(&r["version"]),
                    text(&r["status"]),
                    text(&r["order_id"]),
                    side,
                    format!("{}:{}", text(&r["segment"]), text(&r["security_id"])),
                    text(&r["qty"]),
                    text(&r["price"]),
                    text(&r["charges"]),
                    text(&r["reason"]),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(())
}

/// The most orders `orders` lists.
const ORDERS_LISTED_MAX: usize = 100_000;

fn run_resume(data_dir: &Path) -> Result<(), AppError> {
    // Refuse before opening for write (which prepares log files).
    if inspect_state(data_dir, |_, _, _| {})?
        .state
        .state
        .risk
        .halted
        .is_none()
    {
        return Err(AppError::problem(
            "resume: trading is not halted; nothing to do",
        ));
    }
    let (engine, _stores) = open_engine(data_dir)?;
    let c = engine
        .commit(Op::Resume)
        .map_err(|e| AppError::problem(format!("resume: {e}")))?;
    engine.wait_durable(c)?;
    println!("version {}: trading resumed", c.version);
    Ok(())
}

fn run_report(data_dir: &Path, latest: bool) -> Result<(), AppError> {
    let dir = DataDir::open_read_only(data_dir)?;
    let reports_dir = dir.root().join(crate::app::session::REPORTS_DIR_NAME);
    let reports = crate::app::session::list_reports(&reports_dir)
        .map_err(|e| AppError::problem(format!("cannot read {}: {e}", reports_dir.display())))?;
    if reports.is_empty() {
        println!(
            "no session reports in {} yet; run `dhan_scalper event-driven -t 60` or a replay first",
            reports_dir.display()
        );
        return Ok(());
    }
    if latest {
        let path = &reports[reports.len() - 1];
        let text = std::fs::read_to_string(path)
            .map_err(|e| AppError::problem(format!("cannot read {}: {e}", path.display())))?;
        print!("{text}");
        return Ok(());
    }
    for path in &reports {
        println!("{}", path.display());
    }
    Ok(())
}

fn run_version() {
    println!("dhan_scalper {}", env!("CARGO_PKG_VERSION"));
    println!(
        "data dir layout {}; wal frame format {}; journal records up to V{}; snapshots up to V{}",
        crate::datadir::LAYOUT_VERSION,
        wal::frame::FORMAT_VERSION,
        codec::JOURNAL_RECORD_VERSIONS,
        codec::STATE_RECORD_VERSIONS
    );
}

fn run_session_command(
    data_dir: &Path,
    config: crate::config::Config,
    mode: Mode,
    args: &SessionArgs,
    replay: Option<&Path>,
) -> Result<(), AppError> {
    let feed: crate::market::FeedSpec = match (replay, &args.feed) {
        (Some(path), _) => crate::market::FeedSpec::Replay(path.to_path_buf()),
        (None, Some(text)) => text
            .parse()
            .map_err(|e: crate::market::FeedError| AppError::usage(format!("--feed: {e}")))?,
        (None, None) => match &config.global.feed {
            crate::config::Feed::Sim => crate::market::FeedSpec::Sim,
            crate::config::Feed::Replay(p) => crate::market::FeedSpec::Replay(p.clone()),
        },
    };
    let duration = match args.time {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(AppError::usage(format!(
                "-t must be a positive number of seconds, got {s}"
            )));
        }
    };
    // A replay file is input: every row is checked before the data directory
    // is opened, so a bad file changes nothing on disk and a backtest is never
    // cut short at a bad row. A fast replay needs no separate pass: it runs in
    // a scratch directory and opens DATA only to write its report, after the
    // whole file was read (a bad row is a usage error then, with DATA untouched).
    if let crate::market::FeedSpec::Replay(path) = &feed
        && mode != Mode::PaperFast
    {
        check_replay_file(path)?;
    }
    // A fast replay is a backtest: a fresh wallet in a scratch directory, so
    // the same file always gives the same report; only the report is kept.
    let scratch;
    let (engine, stores, data) = if mode == Mode::PaperFast {
        scratch = tempfile::tempdir()
            .map_err(|e| AppError::problem(format!("cannot create a scratch directory: {e}")))?;
        let dir = DataDir::open_for_write(scratch.path())?;
        let stores = stores_for_write(&dir)?;
        let ledger = Ledger {
            limits: config.wallet_limits(),
        };
        let (engine, _) = recovery::open(ledger, &stores, &scratch_wal_options(), PENDING_MAX)
            .map_err(recovery_error)?;
        (engine, stores, None)
    } else {
        let dir = DataDir::open_for_write(data_dir)?;
        let (engine, stores) = open_engine_with(data_dir, &config)?;
        (engine, stores, Some(dir))
    };
    let opts = SessionOptions {
        mode,
        config: Arc::new(config),
        feed,
        seed: args.seed,
        record: args.record.clone(),
        duration,
        reports_dir: data_dir.join(crate::app::session::REPORTS_DIR_NAME),
    };
    let summary = crate::app::run::run_session(&opts, Arc::new(engine), stores)?;
    let dir = match data {
        Some(dir) => dir,
        None => DataDir::open_for_write(data_dir)?,
    };
    let reports_dir = dir.root().join(crate::app::session::REPORTS_DIR_NAME);
    let (json_path, csv_path) = crate::app::session::write_reports(&reports_dir, &summary)
        .map_err(|e| {
            AppError::problem(format!(
                "cannot write the session report in {}: {e}",
                reports_dir.display()
            ))
        })?;
    if args.json {
        println!("{}", summary.to_json());
    } else {
        print!("{}", summary.to_text());
        println!("report: {} and {}", json_path.display(), csv_path.display());
    }
    Ok(())
}

/// The most ticks a replay file may hold (a guard on the check's loop; a year
/// of recorded ticks is far fewer).
const REPLAY_TICKS_MAX: u64 = 1 << 40;

/// Reads a whole tick file and checks every row (format, tick, time order)
/// without keeping it: the first bad row is a usage error naming the file, the
/// line and the column.
fn check_replay_file(path: &Path) -> Result<u64, AppError> {
    use crate::market::Feed as _;
    let usage = |e: crate::market::FeedError| AppError::usage(e.to_string());
    let mut feed = crate::market::ReplayFeed::open(path).map_err(usage)?;
    let mut buf = Vec::with_capacity(crate::market::POLL_TICKS_MAX);
    let end_of_time = crate::wallet::Timestamp::from_epoch_ms(i64::MAX);
    let mut ticks = 0_u64;
    while ticks < REPLAY_TICKS_MAX {
        buf.clear();
        let n = feed.poll(end_of_time, &mut buf).map_err(usage)?;
        if n == 0 {
            return Ok(ticks);
        }
        ticks += n as u64;
    }
    Err(AppError::usage(format!(
        "{}: more than {REPLAY_TICKS_MAX} ticks; split the file",
        path.display()
    )))
}
