//! Scheduler benchmarks.
//!
//! - `lateness/{scheduler,tokio_interval,thread_sleep}/{1ms,100ms,1s}`: wake-up
//!   lateness of a fixed-rate tick. Each iteration waits for one tick, and the
//!   "time" criterion reports is the tick's lateness (how long after its deadline
//!   the task started), not the time spent waiting.
//! - `timer_heap/{insert_cancel,fire_rearm}/{1000,10000,100000}`: the timer
//!   structure at 10^3 to 10^5 armed timers.
//! - `manual_clock/fire/{1000,10000,100000}`: one fire through the whole core on
//!   the manual clock (the backtest path), with that many recurring tasks.
//!
//! With `cargo bench --bench scheduler`, it also prints, before the criterion
//! groups, the idle CPU of a scheduler holding one 60 s task and a table of p50,
//! p99 and max lateness at 1 ms, 100 ms and 1 s for all three (the `dhan_scalper
//! bench` numbers). `tests/scheduler_lateness.rs` has the longer, repeated
//! comparison (medians of three runs, the 60 s interval, the loop's own wake-up).

use std::convert::Infallible;
use std::hint::black_box;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group};
use crossbeam::channel::{Receiver, Sender, bounded};
use dhan_scalper::scheduler::bench::{
    LatenessReport, measure_idle_cpu, measure_lateness, measure_sleep_lateness,
};
use dhan_scalper::scheduler::{
    Clock, ManualClock, MonoTime, MonotonicClock, Priority, Schedule, Scheduler, SchedulerConfig,
    TaskOptions, TimerHeap,
};

/// Samples a tick source may buffer while criterion is busy elsewhere.
const SAMPLES_QUEUED_MAX: usize = 4096;
const INTERVALS: [(&str, Duration); 3] = [
    ("1ms", Duration::from_millis(1)),
    ("100ms", Duration::from_millis(100)),
    ("1s", Duration::from_secs(1)),
];

/// A running tick source that reports each tick's lateness on a channel.
enum Ticker {
    Scheduler(Scheduler),
    Thread(JoinHandle<()>, Sender<()>),
}

fn scheduler_ticker(interval: Duration, tx: Sender<Duration>) -> Ticker {
    let scheduler = Scheduler::new(SchedulerConfig {
        workers_count: 1,
        ..SchedulerConfig::default()
    })
    .unwrap();
    scheduler.start().unwrap();
    let clock = MonotonicClock::new();
    let first = scheduler.now() + interval;
    let every_nanos = interval.as_nanos() as u64;
    scheduler
        .schedule(
            "bench-tick",
            Schedule::RecurringAt {
                first,
                every: interval,
            },
            TaskOptions::priority(Priority::Risk),
            move || {
                let since_first = clock.now().as_nanos().saturating_sub(first.as_nanos());
                let _ = tx.try_send(Duration::from_nanos(since_first % every_nanos));
                Ok::<(), Infallible>(())
            },
        )
        .unwrap();
    Ticker::Scheduler(scheduler)
}

fn tokio_ticker(interval: Duration, tx: Sender<Duration>) -> Ticker {
    let (stop_tx, stop_rx) = bounded::<()>(1);
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            while stop_rx.is_empty() {
                let deadline = ticks.tick().await;
                let _ =
                    tx.try_send(tokio::time::Instant::now().saturating_duration_since(deadline));
            }
        });
    });
    Ticker::Thread(thread, stop_tx)
}

fn sleep_ticker(interval: Duration, tx: Sender<Duration>) -> Ticker {
    let (stop_tx, stop_rx) = bounded::<()>(1);
    let thread = std::thread::spawn(move || {
        let clock = MonotonicClock::new();
        let first = clock.now() + interval;
        let mut k = 0_u64;
        while stop_rx.is_empty() {
            let deadline = first.saturating_add_times(interval, k);
            std::thread::sleep(deadline.saturating_duration_since(clock.now()));
            let _ = tx.try_send(clock.now().saturating_duration_since(deadline));
            k += 1;
        }
    });
    Ticker::Thread(thread, stop_tx)
}

impl Ticker {
    fn stop(self) {
        match self {
            Ticker::Scheduler(s) => {
                s.stop(Duration::from_secs(5));
            }
            Ticker::Thread(thread, stop) => {
                let _ = stop.send(());
                thread.join().unwrap();
            }
        }
    }
}

/// Sum of the lateness of the next `iters` ticks (stale buffered ticks dropped).
fn next_lateness(rx: &Receiver<Duration>, iters: u64) -> Duration {
    while rx.try_recv().is_ok() {}
    (0..iters).map(|_| rx.recv().unwrap()).sum()
}

fn lateness(c: &mut Criterion) {
    type Start = fn(Duration, Sender<Duration>) -> Ticker;
    let sources: [(&str, Start); 3] = [
        ("scheduler", scheduler_ticker),
        ("tokio_interval", tokio_ticker),
        ("thread_sleep", sleep_ticker),
    ];
    for (label, interval) in INTERVALS {
        let mut group = c.benchmark_group(format!("lateness/{label}"));
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        group.warm_up_time(interval.max(Duration::from_millis(100)));
        group.measurement_time(interval.saturating_mul(20).max(Duration::from_secs(1)));
        for (name, start) in sources {
            let (tx, rx) = bounded(SAMPLES_QUEUED_MAX);
            let ticker = start(interval, tx);
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| next_lateness(&rx, iters));
            });
            ticker.stop();
        }
        group.finish();
    }
}

fn timer_heap(c: &mut Criterion) {
    let mut group = c.benchmark_group("timer_heap");
    for n in [1_000_u64, 10_000, 100_000] {
        let mut heap = TimerHeap::new(n as usize + 1);
        // Spread deadlines with a multiplicative hash so the heap is not sorted.
        let deadline = |i: u64| MonoTime::from_nanos(i.wrapping_mul(0x9e37_79b9) % (n * 1_000));
        for i in 0..n {
            heap.insert(deadline(i), i).unwrap();
        }
        let mut i = n;
        group.bench_function(BenchmarkId::new("insert_cancel", n), |b| {
            b.iter(|| {
                i += 1;
                let id = heap.insert(deadline(i), i).unwrap();
                black_box(heap.cancel(id));
            });
        });
        group.bench_function(BenchmarkId::new("fire_rearm", n), |b| {
            b.iter(|| {
                let fired = heap.pop_due(MonoTime::MAX).unwrap();
                let next = MonoTime::from_nanos(fired.deadline.as_nanos() + n * 1_000);
                heap.insert(next, fired.value).unwrap();
            });
        });
    }
    group.finish();
}

fn manual_clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("manual_clock");
    for n in [1_000_u32, 10_000, 100_000] {
        let clock = ManualClock::at_unix_epoch();
        let scheduler = Scheduler::with_manual_clock(SchedulerConfig::default(), &clock).unwrap();
        // n tasks every n us, spread so that exactly one falls due per microsecond.
        let every = Duration::from_micros(u64::from(n));
        for i in 0..n {
            let first = MonoTime::from_nanos(u64::from(i + 1) * 1_000);
            scheduler
                .schedule(
                    &format!("task-{i}"),
                    Schedule::RecurringAt { first, every },
                    TaskOptions::default(),
                    || Ok::<(), Infallible>(()),
                )
                .unwrap();
        }
        scheduler.start().unwrap();
        group.bench_function(BenchmarkId::new("fire", n), |b| {
            b.iter(|| clock.advance(Duration::from_micros(1)));
        });
    }
    group.finish();
}

fn print_row(name: &str, r: &LatenessReport) {
    println!(
        "  {name:<16} p50 {:>9.1} us   p99 {:>9.1} us   max {:>9.1} us   ({} ticks)",
        r.p50_us, r.p99_us, r.max_us, r.samples
    );
}

fn tokio_lateness(interval: Duration, ticks: usize) -> LatenessReport {
    let (tx, rx) = bounded(ticks);
    let ticker = tokio_ticker(interval, tx);
    let samples = (0..ticks).map(|_| rx.recv().unwrap()).collect();
    ticker.stop();
    LatenessReport::from_samples(samples)
}

/// The side-by-side table (only under `cargo bench`, not the `--test` smoke run).
fn percentile_table() {
    let started = Instant::now();
    let idle = measure_idle_cpu(Duration::from_secs(2)).unwrap();
    println!(
        "scheduler idle CPU, one 60 s task, 2 s window: {:.4}% of a core",
        idle * 100.0
    );
    for (interval, ticks) in [
        (Duration::from_millis(1), 2_000),
        (Duration::from_millis(100), 50),
        (Duration::from_secs(1), 5),
    ] {
        println!("lateness at {interval:?}:");
        print_row("scheduler", &measure_lateness(interval, ticks).unwrap());
        print_row("tokio_interval", &tokio_lateness(interval, ticks));
        print_row("thread_sleep", &measure_sleep_lateness(interval, ticks));
    }
    println!("(table took {:?})", started.elapsed());
}

criterion_group!(benches, timer_heap, manual_clock, lateness);

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        percentile_table();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
