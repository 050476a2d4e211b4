//! Wake-up lateness of the real scheduler next to a tokio `interval` and a
//! `thread::sleep` loop, in the same run, with the scheduler's lateness split into
//! its two legs (loop wake-up, task start). Timing-dependent, so ignored by
//! default; run with
//! `cargo test --release --test scheduler_lateness -- --ignored --nocapture --test-threads 1`.
//!
//! - `SCHED_LATENESS_TICKS=1ms:N,100ms:N,1s:N` overrides the tick counts (0 skips);
//! - `SCHED_LATENESS_RUNS=N` the number of runs whose medians are reported (3);
//! - `SCHED_DISPATCH_EARLY_US=N` the scheduler's `dispatch_early`;
//! - `SCHED_LATENESS_60S_TICKS=N` the ticks of the 60 s test (5);
//! - `SCHED_LATENESS_RT_PRIO=P` (default 5; 0 turns it off): the first test also
//!   measures all three with in-process `SCHED_FIFO` at `P` (the scheduler with
//!   `realtime_priority: Some(P)`, the tokio runtime's and the sleep loop's
//!   threads put under `SCHED_FIFO` at `P`), interleaved with the normal-priority
//!   runs, when the process may (skipped with a note otherwise).

use std::time::Duration;

use crossbeam::channel::bounded;
use dhan_scalper::scheduler::bench::{
    LatenessReport, LatenessSplit, measure_lateness_split, measure_lateness_with,
    measure_sleep_lateness,
};
use dhan_scalper::scheduler::{
    DISPATCH_EARLY, SchedulerConfig, probe_realtime_priority, set_current_thread_fifo,
};

fn env_usize(key: &str) -> Option<usize> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

fn ticks_for(label: &str, default: usize) -> usize {
    std::env::var("SCHED_LATENESS_TICKS")
        .ok()
        .and_then(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_once(':'))
                .find(|(k, _)| *k == label)
                .and_then(|(_, n)| n.parse().ok())
        })
        .unwrap_or(default)
}

fn dispatch_early() -> Duration {
    env_usize("SCHED_DISPATCH_EARLY_US")
        .map_or(DISPATCH_EARLY, |us| Duration::from_micros(us as u64))
}

/// A tokio `interval` on a current-thread runtime (as an async app would tick),
/// started `offset` from now: the lateness of `ticks` ticks.
fn tokio_lateness(interval: Duration, ticks: usize, offset: Duration) -> LatenessReport {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let samples = runtime.block_on(async move {
        let start = tokio::time::Instant::now() + offset + interval;
        let mut ticker = tokio::time::interval_at(start, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut samples = Vec::with_capacity(ticks);
        for _ in 0..ticks {
            let deadline = ticker.tick().await;
            samples.push(tokio::time::Instant::now().saturating_duration_since(deadline));
        }
        samples
    });
    LatenessReport::from_samples(samples)
}

/// `f` on a thread of its own under `SCHED_FIFO` at `priority`.
fn on_fifo_thread<T: Send + 'static>(priority: u8, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        set_current_thread_fifo(priority).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// A `thread::sleep` loop started `offset` from now.
fn sleep_lateness(interval: Duration, ticks: usize, offset: Duration) -> LatenessReport {
    std::thread::sleep(offset);
    measure_sleep_lateness(interval, ticks)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The median over runs of each statistic.
fn medians(runs: &[LatenessReport]) -> LatenessReport {
    LatenessReport {
        samples: runs.iter().map(|r| r.samples).sum(),
        p50_us: median(runs.iter().map(|r| r.p50_us).collect()),
        p99_us: median(runs.iter().map(|r| r.p99_us).collect()),
        max_us: median(runs.iter().map(|r| r.max_us).collect()),
    }
}

fn line(name: &str, r: &LatenessReport) -> String {
    format!(
        "  {name:<14} p50 {:>8.1} us  p99 {:>8.1} us  max {:>8.1} us  ({} ticks)",
        r.p50_us, r.p99_us, r.max_us, r.samples
    )
}

fn ratio_line(ours: &LatenessReport, name: &str, other: &LatenessReport) -> String {
    format!(
        "  ratio vs {name:<14} p50 {:>6.3}  p99 {:>6.3}  max {:>6.3}",
        ours.p50_us / other.p50_us,
        ours.p99_us / other.p99_us,
        ours.max_us / other.max_us
    )
}

/// The `cpu` line's steal ticks in `/proc/stat` (0 if unreadable).
fn steal_ticks() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("cpu "))
                .and_then(|l| l.split_whitespace().nth(8))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The three sources at one priority: medians over the runs.
#[derive(Default)]
struct Side {
    splits: Vec<LatenessSplit>,
    tokio: Vec<LatenessReport>,
    sleep: Vec<LatenessReport>,
}

impl Side {
    fn print(&self, title: &str, ticks: usize) -> LatenessReport {
        for s in &self.splits {
            assert_eq!(s.task_start.samples, ticks, "every tick reported");
        }
        let wake = medians(&self.splits.iter().map(|s| s.loop_wake).collect::<Vec<_>>());
        let ours = medians(&self.splits.iter().map(|s| s.task_start).collect::<Vec<_>>());
        let tokio = medians(&self.tokio);
        let sleep = medians(&self.sleep);
        println!(" {title}:");
        println!("{}", line("scheduler", &ours));
        println!("{}", line("  (loop wake)", &wake));
        println!("{}", line("tokio interval", &tokio));
        println!("{}", line("thread::sleep", &sleep));
        println!("{}", ratio_line(&ours, "tokio", &tokio));
        println!("{}", ratio_line(&ours, "thread::sleep", &sleep));
        ours
    }
}

#[test]
#[ignore = "timing; run by hand with --release --ignored --nocapture"]
fn lateness_against_tokio_and_sleep() {
    let runs = env_usize("SCHED_LATENESS_RUNS").unwrap_or(3).max(1);
    let early = dispatch_early();
    let rt_priority = env_usize("SCHED_LATENESS_RT_PRIO")
        .map_or(Some(5), |p| u8::try_from(p).ok().filter(|p| *p > 0));
    let fifo = rt_priority.and_then(|p| match probe_realtime_priority(p) {
        Ok(()) => Some(p),
        Err(e) => {
            println!("no SCHED_FIFO runs: {e}");
            None
        }
    });
    println!(
        "dispatch_early {early:?}, medians of {runs} runs, SCHED_FIFO {fifo:?}; load {}; steal {} ticks",
        load_average(),
        steal_ticks()
    );
    for (label, interval, default) in [
        ("1ms", Duration::from_millis(1), 2_000),
        ("100ms", Duration::from_millis(100), 100),
        ("1s", Duration::from_secs(1), 20),
    ] {
        let ticks = ticks_for(label, default);
        if ticks == 0 {
            continue;
        }
        let mut normal = Side::default();
        let mut realtime = Side::default();
        let (load_before, steal_before) = (load_average(), steal_ticks());
        // Interleaved, so that a burst of load hits all of them alike.
        for _ in 0..runs {
            normal
                .splits
                .push(measure_lateness_split(interval, ticks, early).unwrap());
            normal
                .tokio
                .push(tokio_lateness(interval, ticks, Duration::ZERO));
            normal.sleep.push(measure_sleep_lateness(interval, ticks));
            if let Some(p) = fifo {
                let config = SchedulerConfig {
                    workers_count: 1,
                    dispatch_early: early,
                    realtime_priority: Some(p),
                    ..SchedulerConfig::default()
                };
                realtime
                    .splits
                    .push(measure_lateness_with(config, interval, ticks).unwrap());
                realtime.tokio.push(on_fifo_thread(p, move || {
                    tokio_lateness(interval, ticks, Duration::ZERO)
                }));
                realtime.sleep.push(on_fifo_thread(p, move || {
                    measure_sleep_lateness(interval, ticks)
                }));
            }
        }
        println!(
            "{label}: load before {load_before}, after {}; steal during {} ticks (1/100 s, all CPUs)",
            load_average(),
            steal_ticks().saturating_sub(steal_before)
        );
        let ours_normal = normal.print("normal priority", ticks);
        if let Some(p) = fifo {
            let ours_fifo = realtime.print(&format!("SCHED_FIFO {p} (in-process)"), ticks);
            println!("{}", ratio_line(&ours_fifo, "sched normal", &ours_normal));
        }
    }
}

/// The 60 s interval: the three sources run side by side, 20 s apart, so that
/// five samples each take five minutes rather than fifteen.
#[test]
#[ignore = "timing, about 5 minutes; run by hand with --release --ignored --nocapture"]
fn lateness_at_60_s() {
    let ticks = env_usize("SCHED_LATENESS_60S_TICKS").unwrap_or(5).max(1);
    let interval = Duration::from_secs(60);
    let early = dispatch_early();
    println!(
        "60 s, {ticks} ticks each, dispatch_early {early:?}; load {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let (tx, rx) = bounded(2);
    let tokio_tx = tx.clone();
    let tokio = std::thread::spawn(move || {
        let r = tokio_lateness(interval, ticks, Duration::from_secs(20));
        tokio_tx.send(("tokio interval", r)).unwrap();
    });
    let sleep = std::thread::spawn(move || {
        let r = sleep_lateness(interval, ticks, Duration::from_secs(40));
        tx.send(("thread::sleep", r)).unwrap();
    });
    let ours = measure_lateness_split(interval, ticks, early).unwrap();
    tokio.join().unwrap();
    sleep.join().unwrap();
    let mut others: Vec<(&str, LatenessReport)> = rx.try_iter().collect();
    others.sort_by_key(|(name, _)| *name);
    assert_eq!(ours.task_start.samples, ticks);
    println!("{}", line("scheduler", &ours.task_start));
    println!("{}", line("  (loop wake)", &ours.loop_wake));
    for (name, r) in &others {
        println!("{}", line(name, r));
        println!("{}", ratio_line(&ours.task_start, name, r));
    }
    assert_eq!(others.len(), 2);
}
