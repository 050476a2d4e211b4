//! Measurements for `dhan_scalper bench`, the criterion benches and the ignored
//! timing tests: wake-up lateness of this scheduler and of a `std::thread::sleep`
//! loop, drift over a long run, and idle CPU.
//!
//! Lateness is measured where it matters, at the start of the task's run: the time
//! since the tick's deadline on a fixed-rate grid, through the timerfd wake-up,
//! the loop and the hand-off to a worker. [`measure_lateness_split`] also reports
//! the loop thread's own wake-up, so the two legs can be told apart. The tokio
//! comparison lives in the criterion bench and `tests/scheduler_lateness.rs`
//! (tokio is a dev-dependency only).

use std::convert::Infallible;
use std::time::Duration;

use super::{
    Clock, MonoTime, MonotonicClock, Priority, Schedule, Scheduler, SchedulerConfig,
    SchedulerError, TaskOptions,
};

/// The most ticks one measurement takes.
pub const LATENESS_TICKS_MAX: usize = 1_000_000;

/// Percentiles of lateness samples, in microseconds (fractional).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatenessReport {
    /// How many ticks were measured.
    pub samples: usize,
    /// Median lateness.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl LatenessReport {
    /// Percentiles (nearest rank) of `samples`.
    pub fn from_samples(mut samples: Vec<Duration>) -> LatenessReport {
        if samples.is_empty() {
            return LatenessReport::default();
        }
        samples.sort_unstable();
        let rank = |q: f64| {
            let i = ((samples.len() as f64) * q).ceil() as usize;
            samples[i.clamp(1, samples.len()) - 1]
        };
        let us = |d: Duration| d.as_nanos() as f64 / 1_000.0;
        LatenessReport {
            samples: samples.len(),
            p50_us: us(rank(0.50)),
            p99_us: us(rank(0.99)),
            max_us: us(*samples.last().expect("not empty")),
        }
    }
}

/// Lateness of a grid tick observed at `now`: the time since the latest grid
/// deadline `first + k * every` at or before `now`.
fn grid_lateness(first_nanos: u64, every: Duration, now_nanos: u64) -> Duration {
    let since_first = now_nanos.saturating_sub(first_nanos);
    let every_nanos = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX).max(1);
    Duration::from_nanos(since_first % every_nanos)
}

/// Lateness of the two legs of a wake-up, measured on the same ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LatenessSplit {
    /// From the moment the loop's timerfd was armed for (the deadline minus
    /// `dispatch_early`) to the loop's dispatch turn.
    pub loop_wake: LatenessReport,
    /// From the deadline to the start of the task's body on its worker (the
    /// lateness that matters; what [`measure_lateness`] reports).
    pub task_start: LatenessReport,
}

/// Runs one recurring task every `interval` on a real scheduler for `ticks`
/// ticks and reports its lateness. Takes about `interval * ticks`.
pub fn measure_lateness(
    interval: Duration,
    ticks: usize,
) -> Result<LatenessReport, SchedulerError> {
    Ok(measure_lateness_split(interval, ticks, super::DISPATCH_EARLY)?.task_start)
}

/// [`measure_lateness`] with this [`SchedulerConfig::dispatch_early`], also
/// reporting how late the loop thread itself woke.
pub fn measure_lateness_split(
    interval: Duration,
    ticks: usize,
    dispatch_early: Duration,
) -> Result<LatenessSplit, SchedulerError> {
    measure_lateness_with(
        SchedulerConfig {
            workers_count: 1,
            dispatch_early,
            ..SchedulerConfig::default()
        },
        interval,
        ticks,
    )
}

/// [`measure_lateness_split`] on a scheduler with this configuration (for
/// example with [`SchedulerConfig::realtime_priority`] set; whether the priority
/// was granted is [`super::probe_realtime_priority`]'s answer).
pub fn measure_lateness_with(
    config: SchedulerConfig,
    interval: Duration,
    ticks: usize,
) -> Result<LatenessSplit, SchedulerError> {
    let ticks = ticks.min(LATENESS_TICKS_MAX);
    let dispatch_early = config.dispatch_early;
    let scheduler = Scheduler::new(config)?;
    scheduler.start()?;
    let clock = MonotonicClock::new();
    let first = scheduler.now() + interval;
    let (tx, rx) = crossbeam::channel::bounded::<(Duration, Duration)>(ticks);
    let handle = scheduler.handle();
    scheduler.schedule(
        "lateness-probe",
        Schedule::RecurringAt {
            first,
            every: interval,
        },
        TaskOptions::priority(Priority::Risk),
        move || {
            let now = clock.now();
            let start_lateness = grid_lateness(first.as_nanos(), interval, now.as_nanos());
            let deadline = MonoTime::from_nanos(
                now.as_nanos()
                    .saturating_sub(u64::try_from(start_lateness.as_nanos()).unwrap_or(0)),
            );
            let armed_for = MonoTime::from_nanos(
                deadline
                    .as_nanos()
                    .saturating_sub(u64::try_from(dispatch_early.as_nanos()).unwrap_or(u64::MAX)),
            );
            let wake_lateness = handle
                .shared
                .last_dispatch_at()
                .saturating_duration_since(armed_for);
            // Full only after `ticks` samples: later ones are not needed.
            let _ = tx.try_send((wake_lateness, start_lateness));
            Ok::<(), Infallible>(())
        },
    )?;
    let mut wake = Vec::with_capacity(ticks);
    let mut start = Vec::with_capacity(ticks);
    let patience = interval.saturating_mul(4).max(Duration::from_secs(1));
    while start.len() < ticks {
        match rx.recv_timeout(patience) {
            Ok((w, s)) => {
                wake.push(w);
                start.push(s);
            }
            Err(_) => break,
        }
    }
    scheduler.stop(Duration::from_secs(1));
    Ok(LatenessSplit {
        loop_wake: LatenessReport::from_samples(wake),
        task_start: LatenessReport::from_samples(start),
    })
}

/// The same measurement for a fixed-rate `std::thread::sleep` loop on the calling
/// thread (sleep until `first + k * interval`, then note the lateness).
pub fn measure_sleep_lateness(interval: Duration, ticks: usize) -> LatenessReport {
    let ticks = ticks.min(LATENESS_TICKS_MAX);
    let clock = MonotonicClock::new();
    let first = clock.now() + interval;
    let mut samples = Vec::with_capacity(ticks);
    for k in 0..ticks as u64 {
        let deadline = first.saturating_add_times(interval, k);
        let now = clock.now();
        std::thread::sleep(deadline.saturating_duration_since(now));
        samples.push(clock.now().saturating_duration_since(deadline));
    }
    LatenessReport::from_samples(samples)
}

/// [`measure_sleep_lateness`] on a thread of its own under `SCHED_FIFO` at
/// `priority` (the baseline of the scheduler's real-time rows); the error says
/// why the priority was refused (nothing is measured then).
pub fn measure_sleep_lateness_fifo(
    interval: Duration,
    ticks: usize,
    priority: u8,
) -> Result<LatenessReport, super::RealtimeError> {
    std::thread::Builder::new()
        .name("sleep-fifo-probe".into())
        .spawn(move || {
            super::realtime::set_current_thread_fifo(priority)?;
            Ok(measure_sleep_lateness(interval, ticks))
        })
        .map_err(|e| super::RealtimeError {
            priority,
            reason: format!("cannot spawn the measuring thread: {e}"),
        })?
        .join()
        .unwrap_or_else(|_| {
            Err(super::RealtimeError {
                priority,
                reason: "the measuring thread panicked".into(),
            })
        })
}

/// How far the runs of a long-running recurring task strayed from their grid.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DriftReport {
    /// Runs observed so far.
    pub runs: usize,
    /// Grid ticks that passed without a run (missed ticks).
    pub ticks_missed: u64,
    /// The largest `|start of run k - (first + k * every)|`, in microseconds.
    pub max_abs_us: f64,
    /// The 99th percentile of the same, in microseconds.
    pub p99_abs_us: f64,
    /// The median of the same, in microseconds.
    pub p50_abs_us: f64,
    /// The deviation of the last run, in microseconds.
    pub last_us: f64,
    /// Seconds since the first deadline at the last run.
    pub elapsed_secs: f64,
    /// The smallest `|deviation|` since the previous progress report (in the
    /// final report: of the runs after the last progress report, or of all
    /// runs without progress reports), in microseconds. The drift indicator:
    /// load makes single runs late, but only a drifting grid makes the best run
    /// of every window later and later.
    pub window_min_abs_us: f64,
    /// The largest `|deviation|` in the same window, in microseconds (when the
    /// tail happened).
    pub window_max_abs_us: f64,
}

/// The most progress reports one drift measurement makes.
pub const DRIFT_PROGRESS_REPORTS_MAX: usize = 10_000;

/// Runs one task every `every` on a real scheduler (default configuration)
/// for `ticks` ticks, and measures each run's start against its point on the
/// grid, `first + k * every`, where `k` is counted on the grid (so a missed tick
/// shows as missed, not as a one-period error). Calls `progress` every
/// `progress_every` runs (0: never) with the report so far, and returns the final
/// report. Takes about `every * ticks`.
pub fn measure_drift(
    every: Duration,
    ticks: usize,
    progress_every: usize,
    progress: impl FnMut(&DriftReport),
) -> Result<DriftReport, SchedulerError> {
    measure_drift_with(
        SchedulerConfig::default(),
        every,
        ticks,
        progress_every,
        progress,
    )
}

/// [`measure_drift`] on a scheduler with this configuration.
pub fn measure_drift_with(
    config: SchedulerConfig,
    every: Duration,
    ticks: usize,
    progress_every: usize,
    mut progress: impl FnMut(&DriftReport),
) -> Result<DriftReport, SchedulerError> {
    let ticks = ticks.min(LATENESS_TICKS_MAX);
    let every_nanos = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX).max(1);
    let scheduler = Scheduler::new(config)?;
    scheduler.start()?;
    let clock = MonotonicClock::new();
    let first = scheduler.now() + every;
    let (tx, rx) = crossbeam::channel::bounded::<MonoTime>(ticks);
    scheduler.schedule(
        "drift-probe",
        Schedule::RecurringAt { first, every },
        TaskOptions::priority(Priority::Risk),
        move || {
            // Full only after `ticks` samples: later ones are not needed.
            let _ = tx.try_send(clock.now());
            Ok::<(), Infallible>(())
        },
    )?;
    let mut deviations_abs: Vec<Duration> = Vec::with_capacity(ticks);
    let mut report = DriftReport::default();
    let mut tick_expected: u64 = 0;
    let mut reports_made = 0_usize;
    let mut window_min_abs = Duration::MAX;
    let mut window_max_abs = Duration::ZERO;
    let patience = every.saturating_mul(4).max(Duration::from_secs(1));
    while deviations_abs.len() < ticks {
        let Ok(started) = rx.recv_timeout(patience) else {
            break;
        };
        let since_first = started.as_nanos().saturating_sub(first.as_nanos());
        // The nearest grid point (a run may in principle start a hair early).
        let k = (since_first + every_nanos / 2) / every_nanos;
        report.ticks_missed += k.saturating_sub(tick_expected);
        tick_expected = k + 1;
        let grid_nanos = first
            .as_nanos()
            .saturating_add(k.saturating_mul(every_nanos));
        let deviation_nanos = i128::from(started.as_nanos()) - i128::from(grid_nanos);
        let deviation_abs =
            Duration::from_nanos(u64::try_from(deviation_nanos.unsigned_abs()).unwrap_or(u64::MAX));
        window_min_abs = window_min_abs.min(deviation_abs);
        window_max_abs = window_max_abs.max(deviation_abs);
        deviations_abs.push(deviation_abs);
        report.runs = deviations_abs.len();
        report.last_us = deviation_nanos as f64 / 1_000.0;
        report.elapsed_secs = since_first as f64 / 1e9;
        if progress_every > 0
            && report.runs % progress_every == 0
            && reports_made < DRIFT_PROGRESS_REPORTS_MAX
        {
            reports_made += 1;
            let so_far = LatenessReport::from_samples(deviations_abs.clone());
            report.max_abs_us = so_far.max_us;
            report.p99_abs_us = so_far.p99_us;
            report.p50_abs_us = so_far.p50_us;
            report.window_min_abs_us = window_min_abs.as_nanos() as f64 / 1_000.0;
            report.window_max_abs_us = window_max_abs.as_nanos() as f64 / 1_000.0;
            window_min_abs = Duration::MAX;
            window_max_abs = Duration::ZERO;
            progress(&report);
        }
    }
    scheduler.stop(Duration::from_secs(1));
    let all = LatenessReport::from_samples(deviations_abs);
    report.max_abs_us = all.max_us;
    report.p99_abs_us = all.p99_us;
    report.p50_abs_us = all.p50_us;
    // Runs since the last progress report; if there were none, that report's
    // window stands.
    if window_min_abs != Duration::MAX {
        report.window_min_abs_us = window_min_abs.as_nanos() as f64 / 1_000.0;
        report.window_max_abs_us = window_max_abs.as_nanos() as f64 / 1_000.0;
    }
    Ok(report)
}

/// CPU time of the whole process (every thread), from `CLOCK_PROCESS_CPUTIME_ID`.
pub fn process_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Fraction of one core the process uses over `window` while a scheduler holds
/// one 60 s task and nothing else happens. Run it in a process of its own (the
/// measure covers every thread of the process).
pub fn measure_idle_cpu(window: Duration) -> Result<f64, SchedulerError> {
    let scheduler = Scheduler::new(SchedulerConfig::default())?;
    scheduler.schedule_recurring("idle-probe", Duration::from_secs(60), || {
        Ok::<(), Infallible>(())
    })?;
    scheduler.start()?;
    let cpu_before = process_cpu_time();
    let wall_before = std::time::Instant::now();
    std::thread::sleep(window);
    let cpu = process_cpu_time().saturating_sub(cpu_before);
    let wall = wall_before.elapsed();
    scheduler.stop(Duration::from_secs(1));
    Ok(cpu.as_secs_f64() / wall.as_secs_f64())
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples = (1..=100).map(Duration::from_micros).collect();
        let r = LatenessReport::from_samples(samples);
        assert_eq!(
            (r.samples, r.p50_us, r.p99_us, r.max_us),
            (100, 50.0, 99.0, 100.0)
        );
        assert_eq!(
            LatenessReport::from_samples(Vec::new()),
            LatenessReport::default()
        );
    }

    #[test]
    fn grid_lateness_is_time_since_the_latest_grid_point() {
        let every = Duration::from_nanos(100);
        assert_eq!(grid_lateness(1_000, every, 1_000), Duration::ZERO);
        assert_eq!(grid_lateness(1_000, every, 1_230), Duration::from_nanos(30));
    }
}
