//! `dhan_scalper bench`: each measurement next to its baseline, run in the same
//! process, so the ratio means something on a shared, noisy machine.
//!
//! | row | ours | baseline |
//! |---|---|---|
//! | timer lateness p99 at 1 ms, 100 ms, 1 s | the scheduler (mio + timerfd) | a fixed-rate `thread::sleep` loop |
//! | in-memory commit, 1 and 2 threads | engine commit (CAS + validation + hand-off to the log, whose storage discards the bytes) | the same `wallet::apply` under a parking_lot `Mutex<State>` in place, and under a parking_lot `Mutex<Arc<State>>` swap; and (1 thread) the bare `ArcSwap` compare-and-swap loop of a cloned state, no validation, no log: the floor of any commit through an `ArcSwap` |
//! | snapshot read under a writer | `Engine::durable_reader` (a per-thread cached reader), and `Engine::with_durable` (a plain `ArcSwap` load) | `RwLock<State>` read |
//! | durable commit p50 / p99 | commit + wait on the real filesystem | raw `pwrite` + `fdatasync` of the same bytes into a preallocated file |
//! | pipelined durable throughput | 2 threads, 256 in flight each | raw batches of 4096 frames, one `pwrite` + `fdatasync` each |
//! | recovery | `recovery::open` of the log just written | - |

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::engine::Machine;
use crate::engine::{RecordCodec, Stores, Versioned, recovery};
use crate::error::AppError;
use crate::ledger::Ledger;
use crate::money::Amount;
use crate::stress;
use crate::sync::AtomicArc;
use crate::wallet::{Op, State};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What is measured.
    pub name: &'static str,
    /// Our median (or rate).
    pub ours: f64,
    /// The baseline, measured in the same run.
    pub baseline_name: &'static str,
    /// The baseline's value (NaN when there is none).
    pub baseline: f64,
    /// Unit of both values.
    pub unit: &'static str,
    /// The DESIGN §10 target.
    pub target: &'static str,
}

impl Row {
    /// ours / baseline.
    pub fn ratio(&self) -> f64 {
        self.ours / self.baseline
    }
}

/// How much work each row does.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Ticks of the scheduler lateness rows at 1 ms, 100 ms, 1 s and 60 s
    /// (0: skip the row).
    pub timer_ticks: [usize; 4],
    /// Also measure the timer rows with the scheduler's threads (and the sleep
    /// loop's) under `SCHED_FIFO` at this priority, when the process may.
    pub timer_realtime_priority: Option<u8>,
    /// Commits per in-memory run.
    pub memory_ops: u64,
    /// Durable commits for the latency rows.
    pub durable_ops: usize,
    /// Commits of the pipelined row (also the log recovery reads).
    pub pipelined_ops: u64,
}

impl Scale {
    /// The default run (about half a minute).
    pub const FULL: Scale = Scale {
        timer_ticks: [2_000, 30, 5, 0],
        timer_realtime_priority: Some(TIMER_REALTIME_PRIORITY),
        memory_ops: 2_000_000,
        durable_ops: 3_000,
        pipelined_ops: 1_000_000,
    };
    /// The full run plus the 60 s timer row (about five more minutes).
    pub const LONG: Scale = Scale {
        timer_ticks: [2_000, 30, 5, 5],
        ..Scale::FULL
    };
    /// A smoke run (a few seconds).
    pub const QUICK: Scale = Scale {
        timer_ticks: [200, 3, 0, 0],
        timer_realtime_priority: Some(TIMER_REALTIME_PRIORITY),
        memory_ops: 100_000,
        durable_ops: 300,
        pipelined_ops: 50_000,
    };
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> AppError + '_ {
    move |e| AppError::problem(format!("bench: {what}: {e}"))
}

/// Deposit and withdraw one rupee in turn: always valid, so every commit wins.
fn op(i: u64) -> Op {
    let amount = Amount::from_rupees(1);
    if i.is_multiple_of(2) {
        Op::Deposit { amount }
    } else {
        Op::Withdraw { amount }
    }
}

fn funded() -> State {
    crate::wallet::apply(
        &State::new(),
        &Op::Deposit {
            amount: Amount::from_rupees(1_000_000),
        },
        &Default::default(),
    )
    .expect("a deposit into an empty wallet applies")
}

/// The log with the device taken out (see `wal::baseline::DiscardStorage`).
fn discard_stores() -> Stores {
    Stores {
        wal: Arc::new(wal::baseline::DiscardStorage),
        snapshots: Arc::new(wal::baseline::DiscardStorage),
    }
}

fn memory_options() -> wal::Options {
    wal::Options {
        segment_bytes: 16 << 20,
        ..wal::Options::default()
    }
}

/// Opens an engine on `stores` and deposits `rupees` durably.
fn open_funded(
    stores: &Stores,
    opts: &wal::Options,
    rupees: i64,
) -> Result<stress::LedgerEngine, AppError> {
    let (engine, _) = recovery::open(Ledger::default(), stores, opts, 4096)
        .map_err(|e| AppError::problem(format!("bench: {e}")))?;
    let amount = Amount::from_rupees(rupees);
    let c = engine
        .commit(Op::Deposit { amount })
        .map_err(|e| AppError::problem(e.to_string()))?;
    engine.wait_durable(c)?;
    Ok(engine)
}

/// Runs `per_thread(thread_index)` on `threads` threads and returns wall time.
/// One thread means the calling thread: a spawned one would leave arc-swap
/// one more per-thread debt node that every later swap in the process walks
/// (see the README's performance notes), which is the harness's cost, not the
/// engine's.
fn timed_threads(threads: usize, per_thread: impl Fn(usize) + Sync) -> Duration {
    let start = Instant::now();
    if threads == 1 {
        per_thread(0);
        return start.elapsed();
    }
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &per_thread;
            s.spawn(move || f(t));
        }
    });
    start.elapsed()
}

/// ns per commit (1 thread) or commits/s in total (more threads).
fn memory_rows(scale: Scale) -> Result<Vec<Row>, AppError> {
    let mut rows = Vec::new();
    for threads in [1usize, 2] {
        let per_thread = scale.memory_ops / threads as u64;
        let total = per_thread * threads as u64;
        let engine = open_funded(&discard_stores(), &memory_options(), 1_000_000)?;
        let ours = timed_threads(threads, |_| {
            for i in 0..per_thread {
                let _ = engine.commit(op(i));
            }
        });
        engine.sync()?;
        // The lock baselines (parking_lot, as DESIGN §10 measured them): the
        // same transition under a lock, the state updated in place, or a new
        // `Arc` swapped in.
        let ledger = Ledger::default();
        let in_place = parking_lot::Mutex::new(funded());
        let mutex_in_place = timed_threads(threads, |_| {
            for i in 0..per_thread {
                let mut g = in_place.lock();
                if let Ok(next) = ledger.apply(&g, &op(i)) {
                    *g = next;
                }
            }
        });
        let swap = parking_lot::Mutex::new(Arc::new(funded()));
        let mutex_arc = timed_threads(threads, |_| {
            for i in 0..per_thread {
                let mut g = swap.lock();
                if let Ok(next) = ledger.apply(&g, &op(i)) {
                    *g = Arc::new(next);
                }
            }
        });
        let ns = |d: Duration| d.as_nanos() as f64 / total as f64;
        let per_sec = |d: Duration| total as f64 / d.as_secs_f64();
        if threads == 1 {
            // The floor: load an owned `Arc` (as the engine does: cheaper
            // than a guard), clone the state into a new `Arc`, CAS.
            let head = AtomicArc::new(crate::sync::Arc::new(Versioned {
                version: 1,
                state: funded(),
            }));
            let cas_loop = timed_threads(1, |_| {
                for _ in 0..per_thread {
                    let current = head.load_full();
                    let next = crate::sync::Arc::new(Versioned {
                        version: current.version + 1,
                        state: current.state.clone(),
                    });
                    std::hint::black_box(head.compare_and_swap(&current, next));
                }
            });
            rows.push(Row {
                name: "in-memory commit, 1 thread",
                ours: ns(ours),
                baseline_name: "bare ArcSwap CAS loop",
                baseline: ns(cas_loop),
                unit: "ns/op",
                target: "<= 150 ns",
            });
            rows.push(Row {
                name: "in-memory commit, 1 thread",
                ours: ns(ours),
                baseline_name: "parking_lot Mutex<State> in place",
                baseline: ns(mutex_in_place),
                unit: "ns/op",
                target: "<= 150 ns",
            });
            rows.push(Row {
                name: "in-memory commit, 1 thread",
                ours: ns(ours),
                baseline_name: "parking_lot Mutex<Arc<State>> swap",
                baseline: ns(mutex_arc),
                unit: "ns/op",
                target: "<= 150 ns",
            });
        } else {
            rows.push(Row {
                name: "in-memory commit, 2 threads",
                ours: per_sec(ours) / 1e6,
                baseline_name: "parking_lot Mutex<State> in place",
                baseline: per_sec(mutex_in_place) / 1e6,
                unit: "M commits/s",
                target: ">= 3 M/s",
            });
        }
    }
    Ok(rows)
}

/// ns per read while another thread commits as fast as it can: the cached
/// per-thread reader, then a plain load, each against an `RwLock` read.
fn read_rows(scale: Scale) -> Result<Vec<Row>, AppError> {
    let reads = scale.memory_ops;
    let engine = open_funded(&discard_stores(), &memory_options(), 1_000_000)?;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let lock = RwLock::new(funded());
    let ledger = Ledger::default();
    // Relaxed: a stop request, nothing is published through it.
    const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;
    let (ours, plain, baseline) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut i = 0;
            while !stop.load(RELAXED) {
                let _ = engine.commit(op(i));
                i += 1;
            }
        });
        let start = Instant::now();
        let mut sink = Amount::ZERO;
        let mut reader = engine.durable_reader();
        for _ in 0..reads {
            sink = reader.read(|v| v.state.balance.available);
        }
        let ours = start.elapsed();
        let start = Instant::now();
        for _ in 0..reads {
            sink = engine.with_durable(|v| v.state.balance.available);
        }
        let plain = start.elapsed();
        stop.store(true, RELAXED);
        writer.join().expect("bench writer");
        stop.store(false, RELAXED);
        let writer = s.spawn(|| {
            let mut i = 0;
            while !stop.load(RELAXED) {
                let mut g = lock.write().unwrap_or_else(|p| p.into_inner());
                if let Ok(next) = ledger.apply(&g, &op(i)) {
                    *g = next;
                }
                i += 1;
            }
        });
        let start = Instant::now();
        for _ in 0..reads {
            sink = lock
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .balance
                .available;
        }
        let baseline = start.elapsed();
        stop.store(true, RELAXED);
        writer.join().expect("bench writer");
        std::hint::black_box(sink);
        (ours, plain, baseline)
    });
    let ns = |d: Duration| d.as_nanos() as f64 / reads as f64;
    Ok(vec![
        Row {
            name: "snapshot read under a writer",
            ours: ns(ours),
            baseline_name: "RwLock<State> read",
            baseline: ns(baseline),
            unit: "ns/read",
            target: "<= 10 ns, >= 10x faster",
        },
        Row {
            name: "snapshot read, plain load",
            ours: ns(plain),
            baseline_name: "RwLock<State> read",
            baseline: ns(baseline),
            unit: "ns/read",
            target: "-",
        },
    ])
}

fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_nanos() as f64 / 1e3
}

/// Durable rows: latency, pipelined throughput, recovery.
fn durable_rows(scale: Scale, work_dir: &Path) -> Result<Vec<Row>, AppError> {
    let dir = tempfile::Builder::new()
        .prefix(".dhan_scalper-bench-")
        .tempdir_in(work_dir)
        .map_err(io_err("temp dir"))?;
    let fs = |name: &str| -> Result<Arc<dyn wal::Storage>, AppError> {
        Ok(Arc::new(wal::FsStorage::create_dir(dir.path().join(name))?))
    };
    let stores = Stores {
        wal: fs("wal")?,
        snapshots: fs("snapshots")?,
    };
    let opts = wal::Options::default();
    let engine = open_funded(&stores, &opts, 100_000_000)?;
    // Let the segment preallocator finish its first spare before timing.
    std::thread::sleep(Duration::from_millis(500));

    // Latency: ours and raw interleaved in blocks, so drift hits both alike.
    let mut record = Vec::new();
    Ledger::encode(&op(0), &engine.head().state.balance, &mut record);
    let mut frame = Vec::new();
    wal::frame::encode(&mut frame, 1, 1, &record);
    let mut raw = wal::baseline::RawFile::create(&dir.path().join("raw"), 64 << 20)
        .map_err(io_err("raw file"))?;
    let mut ours = Vec::with_capacity(scale.durable_ops);
    let mut base = Vec::with_capacity(scale.durable_ops);
    const BLOCK: usize = 10;
    for block in 0..scale.durable_ops.div_ceil(BLOCK) {
        for i in 0..BLOCK {
            let t0 = Instant::now();
            let c = engine
                .commit(op((block * BLOCK + i) as u64))
                .map_err(|e| AppError::problem(e.to_string()))?;
            engine.wait_durable(c)?;
            ours.push(t0.elapsed());
        }
        for _ in 0..BLOCK {
            let t0 = Instant::now();
            raw.write_sync(&frame).map_err(io_err("raw write"))?;
            base.push(t0.elapsed());
        }
    }
    ours.sort_unstable();
    base.sort_unstable();
    let mut rows = vec![
        Row {
            name: "durable commit p50",
            ours: percentile_us(&ours, 0.5),
            baseline_name: "raw pwrite+fdatasync p50",
            baseline: percentile_us(&base, 0.5),
            unit: "us",
            target: "<= 1.15x raw",
        },
        Row {
            name: "durable commit p99",
            ours: percentile_us(&ours, 0.99),
            baseline_name: "raw pwrite+fdatasync p99",
            baseline: percentile_us(&base, 0.99),
            unit: "us",
            target: "-",
        },
    ];

    // Pipelined: the stress load, 2 threads with 256 in flight each.
    let settings = stress::Settings {
        threads: 2,
        limit: stress::Limit::Ops(scale.pipelined_ops),
        pipeline: 256,
        print_acks: false,
        seed: 1,
    };
    let sink: Mutex<std::io::Sink> = Mutex::new(std::io::sink());
    let report = stress::run(&engine, &settings, &sink)?;
    const RAW_BATCH_FRAMES: usize = 4096;
    let batch: Vec<u8> = frame.repeat(RAW_BATCH_FRAMES);
    let batches = (scale.pipelined_ops as usize).div_ceil(RAW_BATCH_FRAMES);
    let t0 = Instant::now();
    for _ in 0..batches {
        raw.write_sync(&batch).map_err(io_err("raw write"))?;
    }
    let raw_rate = (batches * RAW_BATCH_FRAMES) as f64 / t0.elapsed().as_secs_f64();
    rows.push(Row {
        name: "pipelined durable commits",
        ours: report.commits_per_sec / 1e6,
        baseline_name: "raw 4096-frame batches",
        baseline: raw_rate / 1e6,
        unit: "M/s",
        target: ">= 1 M/s",
    });

    // Recovery of everything just written.
    let version = engine.sync()?;
    drop(engine);
    let t0 = Instant::now();
    let (engine, info) = recovery::open(Ledger::default(), &stores, &opts, 4096)
        .map_err(|e| AppError::problem(format!("bench: {e}")))?;
    let took = t0.elapsed();
    drop(engine);
    if info.version != version {
        return Err(AppError::problem(format!(
            "bench: recovered version {} but wrote {version}",
            info.version
        )));
    }
    rows.push(Row {
        name: "recovery (replay + verify)",
        ours: info.replayed as f64 / took.as_secs_f64() / 1e6,
        baseline_name: "-",
        baseline: f64::NAN,
        unit: "M records/s",
        target: ">= 2 M/s",
    });
    Ok(rows)
}

/// The `SCHED_FIFO` priority of the real-time timer rows.
pub const TIMER_REALTIME_PRIORITY: u8 = 10;

/// Scheduler wake-up lateness p99 against a `std::thread::sleep` loop (tokio's
/// interval is compared in the criterion bench and `tests/scheduler_lateness.rs`,
/// where it is a dev-dependency): at normal priority, then (if
/// [`Scale::timer_realtime_priority`] is set and the process may) with the
/// scheduler's threads and the sleep loop's thread under `SCHED_FIFO`, so the
/// two priorities sit side by side in the same run.
fn timer_rows(scale: Scale) -> Result<Vec<Row>, AppError> {
    const NAMES: [&str; 4] = [
        "timer lateness p99, 1 ms",
        "timer lateness p99, 100 ms",
        "timer lateness p99, 1 s",
        "timer lateness p99, 60 s",
    ];
    const NAMES_FIFO: [&str; 4] = [
        "timer p99 FIFO, 1 ms",
        "timer p99 FIFO, 100 ms",
        "timer p99 FIFO, 1 s",
        "timer p99 FIFO, 60 s",
    ];
    const TARGETS: [&str; 4] = ["<= 100 us", "<= 200 us", "<= 200 us", "<= 200 us"];
    let intervals = [
        Duration::from_millis(1),
        Duration::from_millis(100),
        Duration::from_secs(1),
        Duration::from_secs(60),
    ];
    let realtime =
        scale.timer_realtime_priority.and_then(
            |p| match crate::scheduler::probe_realtime_priority(p) {
                Ok(()) => Some(p),
                Err(e) => {
                    tracing::warn!("bench: no SCHED_FIFO timer rows: {e}");
                    None
                }
            },
        );
    let mut rows = Vec::new();
    for i in 0..intervals.len() {
        let ticks = scale.timer_ticks[i];
        if ticks == 0 {
            continue;
        }
        let ours = crate::scheduler::bench::measure_lateness(intervals[i], ticks)
            .map_err(|e| AppError::problem(format!("bench: scheduler: {e}")))?;
        let sleep = crate::scheduler::bench::measure_sleep_lateness(intervals[i], ticks);
        rows.push(Row {
            name: NAMES[i],
            ours: ours.p99_us,
            baseline_name: "thread::sleep loop p99",
            baseline: sleep.p99_us,
            unit: "us",
            target: TARGETS[i],
        });
        if let Some(priority) = realtime {
            rows.push(timer_row_fifo(
                NAMES_FIFO[i],
                TARGETS[i],
                intervals[i],
                ticks,
                priority,
            )?);
        }
    }
    Ok(rows)
}

/// One real-time row: the scheduler with `realtime_priority` against a sleep
/// loop on a `SCHED_FIFO` thread of the same priority.
fn timer_row_fifo(
    name: &'static str,
    target: &'static str,
    interval: Duration,
    ticks: usize,
    priority: u8,
) -> Result<Row, AppError> {
    use crate::scheduler::{SchedulerConfig, bench};
    let config = SchedulerConfig {
        workers_count: 1,
        realtime_priority: Some(priority),
        ..SchedulerConfig::default()
    };
    let ours = bench::measure_lateness_with(config, interval, ticks)
        .map_err(|e| AppError::problem(format!("bench: scheduler (SCHED_FIFO): {e}")))?;
    let sleep = bench::measure_sleep_lateness_fifo(interval, ticks, priority)
        .map_err(|e| AppError::problem(format!("bench: sleep loop (SCHED_FIFO): {e}")))?;
    Ok(Row {
        name,
        ours: ours.task_start.p99_us,
        baseline_name: "thread::sleep FIFO p99",
        baseline: sleep.p99_us,
        unit: "us",
        target,
    })
}

/// Runs every row. Temporary files go under `work_dir` (removed after).
pub fn run(scale: Scale, work_dir: &Path) -> Result<Vec<Row>, AppError> {
    let mut rows = timer_rows(scale)?;
    rows.extend(memory_rows(scale)?);
    rows.extend(read_rows(scale)?);
    rows.extend(durable_rows(scale, work_dir)?);
    Ok(rows)
}

/// The rows as one JSON array.
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    let num = |x: f64| {
        if x.is_finite() {
            serde_json::json!(x)
        } else {
            serde_json::Value::Null
        }
    };
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "ours": num(r.ours),
                    "baseline_name": r.baseline_name,
                    "baseline": num(r.baseline),
                    "ratio": num(r.ratio()),
                    "unit": r.unit,
                    "target": r.target,
                })
            })
            .collect(),
    )
}

/// The rows as a text table.
pub fn to_table(rows: &[Row]) -> String {
    // Columns as wide as their longest cell.
    let name_chars = rows.iter().map(|r| r.name.len()).max().unwrap_or(0).max(7);
    let baseline_chars = rows
        .iter()
        .map(|r| r.baseline_name.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:<name_chars$} {:>12} {:<baseline_chars$} {:>12} {:>7}  {:<12} {}\n",
        "measure", "ours", "baseline", "value", "ratio", "unit", "target"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<name_chars$} {:>12.3} {:<baseline_chars$} {:>12.3} {:>7.2}  {:<12} {}\n",
            r.name,
            r.ours,
            r.baseline_name,
            r.baseline,
            r.ratio(),
            r.unit,
            r.target
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_run_measures_every_row_and_recovers_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let scale = Scale {
            timer_ticks: [20, 0, 0, 0],
            timer_realtime_priority: None,
            memory_ops: 2_000,
            durable_ops: 20,
            pipelined_ops: 2_000,
        };
        let rows = run(scale, dir.path()).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "timer lateness p99, 1 ms",
                "in-memory commit, 1 thread",
                "in-memory commit, 1 thread",
                "in-memory commit, 1 thread",
                "in-memory commit, 2 threads",
                "snapshot read under a writer",
                "snapshot read, plain load",
                "durable commit p50",
                "durable commit p99",
                "pipelined durable commits",
                "recovery (replay + verify)",
            ]
        );
        for r in &rows {
            assert!(r.ours.is_finite() && r.ours > 0.0, "{r:?}");
        }
        assert_eq!(to_json(&rows).as_array().unwrap().len(), rows.len());
        assert!(to_table(&rows).lines().count() == rows.len() + 1);
        // The temp dir is gone.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A developer's tool, not a check: recovery alone, phase by phase, of
    /// a log of `BENCH_RECOVERY_OPS` stress operations (default 1,000,000)
    /// written under `BENCH_DIR` (default: the system's temp dir). Run with
    /// `cargo test --release --lib bench::tests::recovery_only -- --ignored --nocapture`.
    #[test]
    #[ignore = "a benchmark; run by hand"]
    fn recovery_only() {
        let ops = std::env::var("BENCH_RECOVERY_OPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let dir = match std::env::var("BENCH_DIR") {
            Ok(d) => tempfile::tempdir_in(d),
            Err(_) => tempfile::tempdir(),
        }
        .unwrap();
        let fs = |name: &str| -> Arc<dyn wal::Storage> {
            Arc::new(wal::FsStorage::create_dir(dir.path().join(name)).unwrap())
        };
        let stores = Stores {
            wal: fs("wal"),
            snapshots: fs("snapshots"),
        };
        let opts = wal::Options::default();
        let engine = open_funded(&stores, &opts, 100_000_000).unwrap();
        let settings = stress::Settings {
            threads: 2,
            limit: stress::Limit::Ops(ops),
            pipeline: 256,
            print_acks: false,
            seed: 1,
        };
        let sink: Mutex<std::io::Sink> = Mutex::new(std::io::sink());
        let report = stress::run(&engine, &settings, &sink).unwrap();
        println!("stress: {:.3} M commits/s", report.commits_per_sec / 1e6);
        let version = engine.sync().unwrap();
        drop(engine);
        for _ in 0..3 {
            let t0 = Instant::now();
            let mut marks = Vec::new();
            let (engine, info) =
                recovery::open_observed(Ledger::default(), &stores, &opts, 4096, &mut |p| {
                    marks.push((t0.elapsed(), p))
                })
                .unwrap();
            let took = t0.elapsed();
            drop(engine);
            assert_eq!(info.version, version);
            let first = |phase| marks.iter().find(|m| m.1.phase == phase).map(|m| m.0);
            println!(
                "recovery of {} records: {:.3} s, {:.3} M records/s; scan done at {:?}, replay from {:?}",
                info.replayed,
                took.as_secs_f64(),
                info.replayed as f64 / took.as_secs_f64() / 1e6,
                marks
                    .iter()
                    .rev()
                    .find(|m| m.1.phase == crate::engine::RecoveryPhase::Scan)
                    .map(|m| m.0),
                first(crate::engine::RecoveryPhase::Replay),
            );
        }
    }

    /// A developer's tool, not a check: the in-memory rows alone,
    /// `BENCH_MEMORY_OPS` commits (default 2,000,000), printed. Run with
    /// `cargo test --release --lib bench::tests::memory_rows_only -- --ignored --nocapture`.
    #[test]
    #[ignore = "a benchmark; run by hand"]
    fn memory_rows_only() {
        let memory_ops = std::env::var("BENCH_MEMORY_OPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(Scale::FULL.memory_ops);
        let rows = memory_rows(Scale {
            memory_ops,
            ..Scale::FULL
        })
        .unwrap();
        print!("{}", to_table(&rows));
        assert_eq!(rows.len(), 4);
        // On a shared machine wall time hides who ran: the committing
        // thread's own CPU time (Linux schedstat), ns per commit.
        let cpu_ns = || -> Option<u64> {
            let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
            s.split_whitespace().next()?.parse().ok()
        };
        let engine = open_funded(&discard_stores(), &memory_options(), 1_000_000).unwrap();
        let (c0, t0) = (cpu_ns(), Instant::now());
        for i in 0..memory_ops {
            let _ = engine.commit(op(i));
        }
        let (c1, wall) = (cpu_ns(), t0.elapsed());
        if let (Some(c0), Some(c1)) = (c0, c1) {
            println!(
                "engine commit: {:.1} ns committer CPU, {:.1} ns wall per commit",
                (c1 - c0) as f64 / memory_ops as f64,
                wall.as_nanos() as f64 / memory_ops as f64
            );
        }
        let head = AtomicArc::new(crate::sync::Arc::new(Versioned {
            version: 1,
            state: funded(),
        }));
        let (c0, t0) = (cpu_ns(), Instant::now());
        for _ in 0..memory_ops {
            let current = head.load_full();
            let next = crate::sync::Arc::new(Versioned {
                version: current.version + 1,
                state: current.state.clone(),
            });
            std::hint::black_box(head.compare_and_swap(&current, next));
        }
        let (c1, wall) = (cpu_ns(), t0.elapsed());
        if let (Some(c0), Some(c1)) = (c0, c1) {
            println!(
                "bare CAS loop: {:.1} ns CPU, {:.1} ns wall per commit",
                (c1 - c0) as f64 / memory_ops as f64,
                wall.as_nanos() as f64 / memory_ops as f64
            );
        }
    }
}
