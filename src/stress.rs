//! `stress`: a load generator on the real log.
//!
//! Until the state engine lands, each operation is one durable log record of
//! `RECORD_PAYLOAD_BYTES` bytes, numbered by a shared counter exactly as the
//! engine's CAS will number versions. Each thread waits for its own records to be
//! durable: one at a time by default, or up to `pipeline` in flight.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::error::AppError;

/// Payload bytes of one stress record (the size of an engine journal record).
pub const RECORD_PAYLOAD_BYTES: usize = 88;
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
    /// Operations refused (always 0 for raw log records).
    pub rejected: u64,
    /// Wall time of the run.
    pub seconds: f64,
    /// Durable commits per second.
    pub commits_per_sec: f64,
    /// Commit-to-durable-ack latency.
    pub latency_us: LatencyUs,
    /// CAS retries per commit (0 until the engine lands: the counter never races).
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

fn record(seq: u64, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut v = vec![0u8; RECORD_PAYLOAD_BYTES];
    v[..8].copy_from_slice(&seq.to_le_bytes());
    rng.fill(&mut v[8..]);
    v
}

/// Runs the load on `log`, whose next free sequence number is `next_seq`.
/// `acks` receives `ack V` lines (flushed) when `print_acks` is set.
pub fn run(
    log: &wal::Wal,
    next_seq: u64,
    settings: &Settings,
    acks: &Mutex<dyn Write + Send>,
) -> Result<Report, AppError> {
    settings.validate()?;
    let counter = AtomicU64::new(next_seq);
    // The highest sequence number this run may take, for `--ops`.
    let last_allowed = match settings.limit {
        Limit::Ops(n) => next_seq + n - 1,
        Limit::Duration(_) => u64::MAX,
    };
    let stop = AtomicBool::new(false);
    let failure: Mutex<Option<AppError>> = Mutex::new(None);
    let histogram = Mutex::new(
        Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("static bounds are valid"),
    );
    let start = Instant::now();
    let deadline = match settings.limit {
        Limit::Duration(d) => Some(start + d),
        Limit::Ops(_) => None,
    };
    std::thread::scope(|s| {
        for _ in 0..settings.threads {
            s.spawn(|| {
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("static bounds");
                let mut in_flight: VecDeque<(u64, Instant)> =
                    VecDeque::with_capacity(settings.pipeline);
                let result = (|| -> Result<(), AppError> {
                    // Bound: the run ends at --ops or --secs, or on the first error.
                    loop {
                        // Relaxed: `stop` only asks threads to wind down early.
                        let stopping = stop.load(Ordering::Relaxed)
                            || deadline.is_some_and(|d| Instant::now() >= d);
                        if in_flight.len() == settings.pipeline
                            || (stopping && !in_flight.is_empty())
                        {
                            let (seq, t0) = in_flight.pop_front().expect("non-empty");
                            log.wait_durable(seq)?;
                            local.saturating_record(t0.elapsed().as_micros() as u64);
                            if settings.print_acks {
                                let mut out = acks.lock().unwrap_or_else(|p| p.into_inner());
                                writeln!(out, "ack {seq}")
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
                        // Relaxed: the counter only hands out distinct numbers;
                        // the log orders the records itself.
                        let seq = counter.fetch_add(1, Ordering::Relaxed);
                        if seq > last_allowed {
                            stop.store(true, Ordering::Relaxed);
                            continue;
                        }
                        let t0 = Instant::now();
                        log.append(seq, record(seq, settings.seed))?;
                        in_flight.push_back((seq, t0));
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
    Ok(Report {
        ops: committed,
        committed,
        rejected: 0,
        seconds,
        commits_per_sec: committed as f64 / seconds.max(1e-9),
        latency_us: LatencyUs {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        },
        cas_retries_per_commit: 0.0,
        first_seq: next_seq,
        last_seq: log.durable_seq(),
    })
}
