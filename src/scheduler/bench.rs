//! Measurements for `dhan_scalper bench` and the criterion benches: wake-up
//! lateness of this scheduler and of a `std::thread::sleep` loop, and idle CPU.
//!
//! Lateness is measured where it matters, at the start of the task's run: the time
//! since the tick's deadline on a fixed-rate grid, through the timerfd wake-up,
//! the loop and the hand-off to a worker. The tokio comparison lives in the
//! criterion bench (tokio is a dev-dependency only).

use std::convert::Infallible;
use std::time::Duration;

use super::{
    Clock, MonotonicClock, Priority, Schedule, Scheduler, SchedulerConfig, SchedulerError,
    TaskOptions,
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

/// Runs one recurring task every `interval` on a real scheduler for `ticks`
/// ticks and reports its lateness. Takes about `interval * ticks`.
pub fn measure_lateness(
    interval: Duration,
    ticks: usize,
) -> Result<LatenessReport, SchedulerError> {
    let ticks = ticks.min(LATENESS_TICKS_MAX);
    let scheduler = Scheduler::new(SchedulerConfig {
        workers_count: 1,
        ..SchedulerConfig::default()
    })?;
    scheduler.start()?;
    let clock = MonotonicClock::new();
    let first = scheduler.now() + interval;
    let (tx, rx) = crossbeam::channel::bounded::<Duration>(ticks);
    scheduler.schedule(
        "lateness-probe",
        Schedule::RecurringAt {
            first,
            every: interval,
        },
        TaskOptions::priority(Priority::Risk),
        move || {
            let lateness = grid_lateness(first.as_nanos(), interval, clock.now().as_nanos());
            // Full only after `ticks` samples: later ones are not needed.
            let _ = tx.try_send(lateness);
            Ok::<(), Infallible>(())
        },
    )?;
    let mut samples = Vec::with_capacity(ticks);
    let patience = interval.saturating_mul(4).max(Duration::from_secs(1));
    while samples.len() < ticks {
        match rx.recv_timeout(patience) {
            Ok(lateness) => samples.push(lateness),
            Err(_) => break,
        }
    }
    scheduler.stop(Duration::from_secs(1));
    Ok(LatenessReport::from_samples(samples))
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
