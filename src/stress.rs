//! `stress`: a load generator on the real engine and log.
//!
//! N threads commit a random mix of deposit, withdraw, reserve, release, buy
//! and sell on a few synthetic instruments through the lock-free engine; every
//! commit goes to the write-ahead log. Each thread waits for its own commits to
//! be durable: one at a time by default, or up to `pipeline` in flight. Refused
//! operations (not enough cash, selling more than held) are counted, not errors.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::engine::{Commit, CommitError, Engine, WalJournal};
use crate::error::AppError;
use crate::ledger::Ledger;
use crate::money::{Amount, Price, Qty};
use crate::wallet::{Instrument, InstrumentKey, Op, Segment, State, Symbol, Timestamp};

/// Synthetic instruments the load trades.
const INSTRUMENTS_COUNT: u64 = 3;
/// First security id of the synthetic instruments.
const SECURITY_ID_BASE: u64 = 900_001;
/// Most threads `stress` accepts.
pub const THREADS_MAX: usize = 256;
/// Most commits one thread keeps in flight.
pub const PIPELINE_MAX: usize = 4096;
/// Highest latency the histogram tracks; slower commits are clamped to it.
const LATENCY_US_MAX: u64 = 60_000_000;

/// When a run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// After this many operations in total.
    Ops(u64),
    /// After this long.
    Duration(Duration),
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Committing threads.
    pub threads: usize,
    /// When to stop.
    pub limit: Limit,
    /// Commits in flight per thread.
    pub pipeline: usize,
    /// Print `ack V` once V is durable.
    pub print_acks: bool,
    /// Seeds the record contents.
    pub seed: u64,
}

impl Settings {
    /// Checks the ranges; the message names the flag.
    pub fn validate(&self) -> Result<(), AppError> {
        if self.threads == 0 || self.threads > THREADS_MAX {
            return Err(AppError::usage(format!(
                "--threads must be 1..={THREADS_MAX}, got {}",
                self.threads
            )));
        }
        if self.pipeline == 0 || self.pipeline > PIPELINE_MAX {
            return Err(AppError::usage(format!(
                "--pipeline must be 1..={PIPELINE_MAX}, got {}",
                self.pipeline
            )));
        }
        match self.limit {
            Limit::Ops(0) => Err(AppError::usage("--ops must be > 0")),
            Limit::Duration(d) if d.is_zero() => Err(AppError::usage("--secs must be > 0")),
            _ => Ok(()),
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyUs {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Slowest.
    pub max: u64,
}

/// The result line of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Operations attempted.
    pub ops: u64,
    /// Operations committed (and durable).
    pub committed: u64,
    /// Operations the wallet refused (nothing changed, nothing logged).
    pub rejected: u64,
    /// Wall time of the run.
    pub seconds: f64,
    /// Durable commits per second.
    pub commits_per_sec: f64,
    /// Commit-to-durable-ack latency.
    pub latency_us: LatencyUs,
    /// Compare-and-swap attempts lost to another thread, per commit.
    pub cas_retries_per_commit: f64,
    /// The first sequence number this run wrote.
    pub first_seq: u64,
    /// The last durable sequence number.
    pub last_seq: u64,
}

impl Report {
    /// The JSON line of DESIGN §8.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ops": self.ops,
            "committed": self.committed,
            "rejected": self.rejected,
            "seconds": self.seconds,
            "commits_per_sec": self.commits_per_sec,
            "latency_us": {
                "p50": self.latency_us.p50,
                "p99": self.latency_us.p99,
                "max": self.latency_us.max,
            },
            "cas_retries_per_commit": self.cas_retries_per_commit,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
        })
    }
}

/// The symbols of the synthetic instruments, built once per thread (a buy
/// clones one instead of formatting and allocating it).
fn symbols() -> Vec<Symbol> {
    (0..INSTRUMENTS_COUNT)
        .map(|i| Symbol::new(&format!("SIM{i}")).expect("a valid symbol"))
        .collect()
}

/// Draws one operation, looking at the head state so most of them apply.
fn draw(rng: &mut fastrand::Rng, head: &State, ts: Timestamp, symbols: &[Symbol]) -> Op {
    let rupees = |rng: &mut fastrand::Rng, max: i64| Amount::from_paise(rng.i64(100..=max * 100));
    let key = |i: u64| InstrumentKey {
        segment: Segment::NseFno,
        security_id: SECURITY_ID_BASE + i,
    };
    match rng.u8(0..100) {
        0..10 => Op::Deposit {
            amount: rupees(rng, 10_000),
        },
        10..15 => Op::Withdraw {
            amount: rupees(rng, 2_000),
        },
        15..25 => Op::Reserve {
            amount: rupees(rng, 5_000),
        },
        25..35 => {
            let held = head.reserved;
            let amount = if held.is_positive() {
                held
            } else {
                rupees(rng, 100)
            };
            Op::Release { amount, pnl: None }
        }
        35..70 => {
            let i = rng.u64(0..INSTRUMENTS_COUNT);
            Op::Buy {
                instrument: Instrument {
                    key: key(i),
                    symbol: symbols[i as usize].clone(),
                },
                qty: Qty::new(rng.u64(1..=75)),
                price: Price::from_ticks(rng.u32(20..=4_000)).expect("a positive tick count"),
                charges: Amount::from_rupees(20),
                ts,
                order_id: None,
            }
        }
        _ => {
            let held = head
                .positions
                .iter()
                .nth(rng.usize(0..head.positions.len().max(1)));
            let (k, qty) = match held {
                Some(p) => (p.instrument.key, Qty::new(rng.u64(1..=p.qty.get()))),
                None => (key(0), Qty::new(1)),
            };
            Op::Sell {
                key: k,
                qty,
                price: Price::from_ticks(rng.u32(20..=4_000)).expect("a positive tick count"),
                charges: Amount::from_rupees(20),
                ts,
                order_id: None,
                reason: None,
            }
        }
    }
}

/// The engine `stress` drives.
pub type LedgerEngine = Engine<Ledger, WalJournal<Ledger>>;

/// Runs the load on `engine`. `acks` receives `ack V` lines (flushed) when
/// `print_acks` is set.
pub fn run(
    engine: &LedgerEngine,
    settings: &Settings,
    acks: &Mutex<dyn Write + Send>,
) -> Result<Report, AppError> {
    settings.validate()?;
    let first_version = engine.head().version + 1;
    let attempts = AtomicU64::new(0);
    let rejected = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<AppError>> = Mutex::new(None);
    let histogram = Mutex::new(
        Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("static bounds are valid"),
    );
    let retries_before = engine.stats().cas_retries;
    let start = Instant::now();
    let deadline = match settings.limit {
        Limit::Duration(d) => Some(start + d),
        Limit::Ops(_) => None,
    };
    let ops_max = match settings.limit {
        Limit::Ops(n) => n,
        Limit::Duration(_) => u64::MAX,
    };
    std::thread::scope(|s| {
        for thread_index in 0..settings.threads {
            let (attempts, rejected, stop, failure, histogram) =
                (&attempts, &rejected, &stop, &failure, &histogram);
            s.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(
                    settings.seed ^ (thread_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                );
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("static bounds");
                let mut in_flight: VecDeque<(Commit, Instant)> =
                    VecDeque::with_capacity(settings.pipeline);
                // Synthetic time: one millisecond per operation from a fixed epoch,
                // so runs with the same seed draw the same operations.
                let ts = Timestamp::from_epoch_ms(1_767_225_600_000);
                let symbols = symbols();
                let result = (|| -> Result<(), AppError> {
                    // Bound: the run ends at --ops or --secs, or on the first error.
                    loop {
                        // Relaxed: `stop` only asks threads to wind down early.
                        let stopping = stop.load(Ordering::Relaxed)
                            || deadline.is_some_and(|d| Instant::now() >= d);
                        if in_flight.len() == settings.pipeline
                            || (stopping && !in_flight.is_empty())
                        {
                            let (commit, t0) = in_flight.pop_front().expect("non-empty");
                            engine.wait_durable(commit)?;
                            local.saturating_record(t0.elapsed().as_micros() as u64);
                            if settings.print_acks {
                                let mut out = acks.lock().unwrap_or_else(|p| p.into_inner());
                                writeln!(out, "ack {}", commit.version)
                                    .and_then(|()| out.flush())
                                    .map_err(|e| {
                                        AppError::problem(format!("cannot print acks: {e}"))
                                    })?;
                            }
                            continue;
                        }
                        if stopping {
                            return Ok(());
                        }
                        // Relaxed: a plain shared count of attempts.
                        if attempts.fetch_add(1, Ordering::Relaxed) >= ops_max {
                            stop.store(true, Ordering::Relaxed);
                            continue;
                        }
                        let op = engine.with_head(|head| draw(&mut rng, &head.state, ts, &symbols));
                        let t0 = Instant::now();
                        match engine.commit(op) {
                            Ok(commit) => in_flight.push_back((commit, t0)),
                            Err(CommitError::Rejected(_)) => {
                                // Relaxed: a plain count.
                                rejected.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(CommitError::Poisoned(e)) => return Err(e.into()),
                        }
                    }
                })();
                if let Err(e) = result {
                    stop.store(true, Ordering::Relaxed);
                    failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                }
                histogram
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .add(&local)
                    .expect("same bounds");
            });
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let h = histogram.into_inner().unwrap_or_else(|p| p.into_inner());
    let committed = h.len();
    let rejected = rejected.into_inner();
    let retries = engine.stats().cas_retries - retries_before;
    Ok(Report {
        ops: committed + rejected,
        committed,
        rejected,
        seconds,
        commits_per_sec: committed as f64 / seconds.max(1e-9),
        latency_us: LatencyUs {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        },
        cas_retries_per_commit: retries as f64 / committed.max(1) as f64,
        first_seq: first_version,
        last_seq: engine.durable().version,
    })
}
