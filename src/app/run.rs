//! A session from start to summary: recover, fund a new wallet, resolve
//! orders journaled before a crash, run the tasks, stop, report.
//!
//! Shutdown (SIGINT, SIGTERM or `-t`): stop intake and let running tasks finish
//! (the scheduler's `stop`), fsync the log, write a snapshot, then print and
//! write the session summary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::exec::{Executor, lock};
use super::session::{self, Summary};
use super::trader::{AppClock, TaskError, Trader};
use crate::config::Config;
use crate::engine::Stores;
use crate::error::AppError;
use crate::market::{self, FeedSpec};
use crate::scheduler::{ManualClock, MissedTickPolicy, Priority, Schedule, Scheduler, TaskOptions};
use crate::stress::LedgerEngine;
use crate::wallet::Timestamp;

/// How long `stop` lets running tasks finish.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the checkpoint task looks at the log.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);
/// The most manual-clock steps a fast replay takes (a guard; a day of ticks
/// needs far fewer).
pub const FAST_STEPS_MAX: u64 = 1 << 40;

/// Which session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The daemon: tasks on the worker pool, real time.
    EventDriven,
    /// The same tasks on one worker, real time.
    Paper,
    /// The same tasks inline on the manual clock, as fast as they go.
    PaperFast,
}

impl Mode {
    pub const fn name(self) -> &'static str {
        match self {
            Mode::EventDriven => "event-driven",
            Mode::Paper => "paper",
            Mode::PaperFast => "paper-fast",
        }
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub struct SessionOptions {
    pub mode: Mode,
    pub config: Arc<Config>,
    pub feed: FeedSpec,
    pub seed: Option<u64>,
    pub record: Option<PathBuf>,
    /// Stop after this long (real time; simulated time in a fast replay).
    pub duration: Option<Duration>,
    /// Where reports go (`DATA/reports`).
    pub reports_dir: PathBuf,
}

/// Runs a session on `engine` (already recovered) and returns its summary.
pub fn run_session(
    opts: &SessionOptions,
    engine: Arc<LedgerEngine>,
    stores: Stores,
) -> Result<Summary, AppError> {
    let config = opts.config.clone();
    let sim = super::params::sim_params(&config, opts.seed).map_err(AppError::usage)?;
    let feed_error = |e: market::FeedError| AppError::usage(e.to_string());

    // The feed, and where the domain clock stands.
    let wall_now = AppClock::Real { offset_ms: 0 }.now();
    let (feed, clock) = match (&opts.feed, opts.mode) {
        (FeedSpec::Sim, Mode::PaperFast) => {
            return Err(AppError::usage(
                "--fast needs a recorded file: paper --replay FILE --fast",
            ));
        }
        (FeedSpec::Sim, _) => {
            // The simulator starts with enough history to warm the signal up.
            let warmup_ms = i64::try_from(super::trader::warmup(&config).as_millis()).unwrap_or(0);
            let start = Timestamp::from_epoch_ms(wall_now.epoch_ms() - warmup_ms);
            let feed = market::open_feed(&FeedSpec::Sim, &sim, start).map_err(feed_error)?;
            (feed, AppClock::Real { offset_ms: 0 })
        }
        (FeedSpec::Replay(_), mode) => {
            let feed = market::open_feed(&opts.feed, &sim, wall_now).map_err(feed_error)?;
            let first = feed.next_ts().unwrap_or(wall_now);
            let clock = match mode {
                Mode::PaperFast => {
                    let epoch = std::time::UNIX_EPOCH
                        + Duration::from_millis(u64::try_from(first.epoch_ms()).unwrap_or(0));
                    AppClock::Manual(ManualClock::new(epoch))
                }
                _ => AppClock::Real {
                    offset_ms: wall_now.epoch_ms() - first.epoch_ms(),
                },
            };
            (feed, clock)
        }
    };
    let recorder = match &opts.record {
        Some(path) => Some(market::create_recorder(path).map_err(feed_error)?),
        None => None,
    };
    let trader = Arc::new(
        Trader::new(
            config.clone(),
            clock.clone(),
            Executor::new(engine.clone()),
            stores.clone(),
            feed,
            recorder,
        )
        .map_err(AppError::usage)?,
    );
    let stopped = |e: TaskError| AppError::problem(e.to_string());

    // A new wallet gets the starting balance (journaled; never a reset of an old one).
    if trader.fund_if_new().map_err(stopped)? {
        tracing::info!(target: "app", amount = %config.paper.starting_balance, "funded a new paper wallet");
    }
    let recovered = engine.head();
    tracing::info!(target: "app", version = recovered.version,
        positions = recovered.state.positions.len(),
        halted = recovered.state.risk.halted.is_some(), "state recovered");
    for filled in trader
        .exec
        .resolve_pending()
        .map_err(|e| AppError::problem(e.to_string()))?
    {
        lock(&trader.session).record_fill(filled);
    }

    let start_state = engine.durable();
    let started = trader.clock.now();

    // The tasks.
    let workers_count = match opts.mode {
        Mode::EventDriven => config.global.worker_threads,
        Mode::Paper | Mode::PaperFast => 1,
    };
    let sched_config = super::params::scheduler_config(&config, workers_count);
    let scheduler = match &clock {
        AppClock::Manual(c) => Scheduler::with_manual_clock(sched_config, c),
        AppClock::Real { .. } => Scheduler::new(sched_config),
    }
    .map_err(|e| AppError::problem(format!("cannot start the scheduler: {e}")))?;
    let handle = scheduler.handle();
    let g = &config.global;
    let schedule_error = |e: crate::scheduler::SchedulerError| AppError::problem(e.to_string());
    for (i, symbol) in config.symbols.iter().enumerate() {
        let t = trader.clone();
        handle
            .schedule(
                &format!("market-data:{}", symbol.name),
                Schedule::Recurring {
                    every: g.market_data_interval,
                },
                TaskOptions::priority(Priority::MarketData),
                move || t.note(t.market_data(i)),
            )
            .map_err(schedule_error)?;
    }
    let t = trader.clone();
    handle
        .schedule(
            "risk",
            Schedule::Recurring {
                every: g.risk_loop_interval,
            },
            TaskOptions::priority(Priority::Risk),
            move || t.note(t.risk_tick()),
        )
        .map_err(schedule_error)?;
    let t = trader.clone();
    handle
        .schedule(
            "trading",
            Schedule::Recurring {
                every: g.decision_interval,
            },
            TaskOptions::priority(Priority::Trading),
            move || t.note(t.trading_tick()),
        )
        .map_err(schedule_error)?;
    let t = trader.clone();
    handle
        .schedule(
            "status",
            Schedule::Recurring {
                every: g.log_status_every,
            },
            TaskOptions::priority(Priority::Status).missed(MissedTickPolicy::Skip),
            move || t.note(t.status_tick()),
        )
        .map_err(schedule_error)?;
    let t = trader.clone();
    handle
        .schedule(
            "checkpoint",
            Schedule::Recurring {
                every: CHECKPOINT_EVERY,
            },
            TaskOptions::priority(Priority::Status),
            move || t.note(t.checkpoint_tick()),
        )
        .map_err(schedule_error)?;
    scheduler
        .start()
        .map_err(|e| AppError::problem(format!("cannot start the scheduler: {e}")))?;
    tracing::info!(target: "app", mode = opts.mode.name(), feed = %opts.feed,
        tasks = ?handle.active_tasks(), "running");

    match &clock {
        AppClock::Manual(c) => run_fast(c, &trader, opts.duration, g.market_data_interval)?,
        AppClock::Real { .. } => wait_for_stop(opts.duration, &trader)?,
    }

    // Shutdown.
    let report = scheduler.stop(STOP_TIMEOUT);
    if !report.still_running.is_empty() {
        tracing::warn!(target: "app", tasks = ?report.still_running, "tasks still running at shutdown");
    }
    if let Err(e) = trader.finish_recording() {
        tracing::error!(target: "app", error = %e, "the recording is incomplete");
    }
    engine.sync()?;
    let snapshot = engine.checkpoint(&stores)?;
    tracing::info!(target: "app", version = snapshot, "final snapshot written");

    if let Some(e) = trader.feed_failure() {
        if opts.mode == Mode::PaperFast {
            // A backtest's input is bad: nothing outside its scratch directory changed.
            return Err(AppError::usage(e.to_string()));
        }
        return Err(AppError::problem(format!(
            "market data stopped: {e}; the state is saved (version {snapshot}); fix the feed and start again"
        )));
    }
    let end = engine.durable();
    let quotes = |key: &crate::wallet::InstrumentKey| trader.book.ltp.contract(*key).map(|q| q.ltp);
    let book = lock(&trader.session);
    let ended = trader.clock.now();
    Ok(Summary {
        session_id: session::session_id(started, opts.mode.name()),
        mode: opts.mode.name(),
        feed: opts.feed.to_string(),
        started,
        ended,
        start_version: start_state.version,
        end_version: end.version,
        start_balance: start_state.state.balance,
        end_balance: end.state.balance,
        open_positions: session::mark_positions(&end.state.positions, quotes),
        fills: book.fills().to_vec(),
        fills_dropped: 0,
        max_drawdown: book.max_drawdown(),
        halted: end
            .state
            .risk
            .halted
            .map(|h| format!("{} since {}", h.reason, h.since)),
        tasks: handle.stats(),
    })
}

/// A fast replay: move the manual clock from tick to tick until the file ends.
fn run_fast(
    clock: &ManualClock,
    trader: &Trader,
    limit: Option<Duration>,
    poll_every: Duration,
) -> Result<(), AppError> {
    let start = trader.clock.now();
    let limit_ms = limit.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for _ in 0..FAST_STEPS_MAX {
        let now = trader.clock.now();
        if limit_ms.is_some_and(|l| now.epoch_ms() - start.epoch_ms() >= l) {
            break;
        }
        match trader.next_tick_ts() {
            Some(t) if t > now => {
                let ahead_ms = u64::try_from(t.epoch_ms() - now.epoch_ms()).unwrap_or(0);
                clock.advance(Duration::from_millis(ahead_ms));
            }
            // The tick is due: it goes in at the next market-data run.
            Some(_) => clock.advance(poll_every),
            None => break,
        }
    }
    // Let the last ticks in, and the risk loop and trading see them.
    clock.advance(poll_every + Duration::from_secs(1));
    Ok(())
}

/// Waits for SIGINT, SIGTERM or the end of `limit`, whichever comes first; also
/// returns early when the engine stopped (the log failed).
fn wait_for_stop(limit: Option<Duration>, trader: &Trader) -> Result<(), AppError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook_mio::v1_0::Signals;

    let setup = |e: std::io::Error| AppError::problem(format!("cannot watch for signals: {e}"));
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(setup)?;
    let mut poll = mio::Poll::new().map_err(setup)?;
    poll.registry()
        .register(&mut signals, mio::Token(0), mio::Interest::READABLE)
        .map_err(setup)?;
    let mut events = mio::Events::with_capacity(4);
    let deadline = limit.map(|l| std::time::Instant::now() + l);
    // Wake at least this often to notice a stopped engine.
    const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);
    loop {
        let timeout = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Ok(());
                }
                left.min(HEALTH_CHECK_EVERY)
            }
            None => HEALTH_CHECK_EVERY,
        };
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(setup(e)),
        }
        if let Some(signal) = signals.pending().next() {
            tracing::info!(target: "app", signal, "stopping");
            return Ok(());
        }
        if let Some(e) = trader.feed_failure() {
            tracing::error!(target: "app", error = %e, "market data stopped; shutting down");
            return Ok(());
        }
        if trader.engine_stopped() {
            return Err(AppError::problem(
                "the write-ahead log failed; stopping (restart to recover)",
            ));
        }
    }
}
