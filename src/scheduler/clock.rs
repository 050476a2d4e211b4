//! Clocks: the monotonic clock of the machine, and a manual clock for deterministic
//! runs (tests and `paper --replay --fast`).
//!
//! Time points are [`MonoTime`]: nanoseconds on a monotonic time line. For the real
//! clock that line is Linux `CLOCK_MONOTONIC`, the same line the scheduler's
//! timerfd is armed on with absolute deadlines, so a deadline never goes through a
//! conversion. For the manual clock the line starts at zero.
//!
//! Both clocks also carry wall-clock time (`SystemTime`), which only
//! `schedule_daily` uses: time of day in IST (UTC+05:30, no daylight saving).

use std::fmt;
use std::ops::Add;
use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Mutex, lock};

use super::state::Shared;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A point on a monotonic time line, in nanoseconds since the clock's origin.
///
/// Not comparable across clocks: a `MonoTime` from a [`ManualClock`] means nothing
/// to the [`MonotonicClock`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonoTime {
    nanos: u64,
}

impl MonoTime {
    /// The origin of the time line.
    pub const ZERO: MonoTime = MonoTime { nanos: 0 };
    /// The last representable point (about 584 years after the origin).
    pub const MAX: MonoTime = MonoTime { nanos: u64::MAX };

    /// The point `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> MonoTime {
        MonoTime { nanos }
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: MonoTime) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }

    /// `self + span`, saturating at [`MonoTime::MAX`].
    pub fn saturating_add(self, span: Duration) -> MonoTime {
        let span_nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
        MonoTime {
            nanos: self.nanos.saturating_add(span_nanos),
        }
    }

    /// `self + span * count` (a point on a fixed-rate grid), saturating.
    pub fn saturating_add_times(self, span: Duration, count: u64) -> MonoTime {
        let offset_nanos = span.as_nanos().saturating_mul(u128::from(count));
        let offset_nanos = u64::try_from(offset_nanos).unwrap_or(u64::MAX);
        MonoTime {
            nanos: self.nanos.saturating_add(offset_nanos),
        }
    }
}

impl Add<Duration> for MonoTime {
    type Output = MonoTime;

    /// Saturating: a deadline too far away to represent becomes "never".
    fn add(self, span: Duration) -> MonoTime {
        self.saturating_add(span)
    }
}

/// A source of time for the scheduler.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, on this clock's monotonic time line. Never decreases.
    fn now(&self) -> MonoTime;
    /// Now, as wall-clock time (for time-of-day schedules).
    fn wall_now(&self) -> SystemTime;
}

/// The machine's `CLOCK_MONOTONIC`, which asserts that it never goes backwards.
#[derive(Debug)]
pub struct MonotonicClock {
    /// The latest reading any thread has taken, for the never-backwards assertion.
    last_nanos: AtomicU64,
}

impl MonotonicClock {
    /// A clock reading `CLOCK_MONOTONIC`.
    pub fn new() -> MonotonicClock {
        MonotonicClock {
            last_nanos: AtomicU64::new(0),
        }
    }

    fn read() -> MonoTime {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        // CLOCK_MONOTONIC is never negative; a negative field would be a kernel bug.
        let secs = u64::try_from(now.tv_sec).expect("CLOCK_MONOTONIC is non-negative");
        let nanos = u64::try_from(now.tv_nsec).expect("tv_nsec is non-negative");
        MonoTime::from_nanos(secs.saturating_mul(NANOS_PER_SEC).saturating_add(nanos))
    }

    /// Converts a `std::time::Instant` (also `CLOCK_MONOTONIC` on Linux) to this
    /// clock's time line, to within the few nanoseconds between two readings.
    pub fn mono_from_instant(&self, instant: std::time::Instant) -> MonoTime {
        let now_std = std::time::Instant::now();
        let now = self.now();
        match instant.checked_duration_since(now_std) {
            Some(ahead) => now.saturating_add(ahead),
            None => MonoTime::from_nanos(now.as_nanos().saturating_sub(
                u64::try_from(now_std.duration_since(instant).as_nanos()).unwrap_or(u64::MAX),
            )),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> MonoTime {
        let now = MonotonicClock::read();
        // AcqRel: the Release half publishes "a reading of `now` has been taken";
        // the Acquire half makes a larger reading published by another thread
        // happen-before our re-read below, so a re-read that is still smaller than
        // it would be a real backwards step, not a race between two readers.
        let previous_nanos = self.last_nanos.fetch_max(now.as_nanos(), Ordering::AcqRel);
        if previous_nanos <= now.as_nanos() {
            return now;
        }
        // Another thread read later than us and published first: read again.
        let again = MonotonicClock::read();
        assert!(
            again.as_nanos() >= previous_nanos,
            "CLOCK_MONOTONIC went backwards: {previous_nanos} ns then {} ns",
            again.as_nanos()
        );
        again
    }

    fn wall_now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, for deterministic runs.
///
/// A [`Scheduler`](super::Scheduler) built on a manual clock has no threads:
/// [`ManualClock::advance`] fires every due task, in deadline order (ties in the
/// order they were armed), inline on the calling thread, with the clock set to
/// each task's deadline while it runs. The clock also carries a wall-clock epoch
/// (the wall time at `MonoTime::ZERO`) so that daily schedules are deterministic.
///
/// Clones share one time line.
#[derive(Clone)]
pub struct ManualClock {
    inner: std::sync::Arc<ManualInner>,
}

struct ManualInner {
    wall_epoch: SystemTime,
    state: Mutex<ManualState>,
}

struct ManualState {
    now: MonoTime,
    /// The schedulers this clock drives (weak: a dropped scheduler is skipped).
    drivers: Vec<Weak<Shared>>,
}

/// How many schedulers one manual clock can drive.
pub(crate) const MANUAL_DRIVERS_COUNT_MAX: usize = 16;
/// How many tasks one `advance` may fire before it gives up (a guard against a
/// zero-period loop; far above any test or backtest step).
pub(crate) const MANUAL_FIRES_PER_ADVANCE_MAX: u64 = 100_000_000;

impl ManualClock {
    /// A manual clock at `MonoTime::ZERO`, whose wall time there is `wall_epoch`.
    pub fn new(wall_epoch: SystemTime) -> ManualClock {
        ManualClock {
            inner: std::sync::Arc::new(ManualInner {
                wall_epoch,
                state: Mutex::new(ManualState {
                    now: MonoTime::ZERO,
                    drivers: Vec::new(),
                }),
            }),
        }
    }

    /// A manual clock whose wall epoch is `1970-01-01T00:00:00Z`.
    pub fn at_unix_epoch() -> ManualClock {
        ManualClock::new(UNIX_EPOCH)
    }

    pub(crate) fn attach(&self, shared: Weak<Shared>) {
        let mut state = lock(&self.inner.state);
        state.drivers.retain(|d| d.strong_count() > 0);
        assert!(
            state.drivers.len() < MANUAL_DRIVERS_COUNT_MAX,
            "a ManualClock drives at most {MANUAL_DRIVERS_COUNT_MAX} schedulers"
        );
        state.drivers.push(shared);
    }

    fn set_at_least(&self, time: MonoTime) {
        let mut state = lock(&self.inner.state);
        state.now = state.now.max(time);
    }

    /// The earliest armed deadline over every started scheduler this clock
    /// drives (`None`: nothing armed). A replay driver uses it to jump straight
    /// to the next event: `clock.advance_to(next)`.
    pub fn next_deadline(&self) -> Option<MonoTime> {
        let drivers: Vec<std::sync::Arc<Shared>> = {
            let state = lock(&self.inner.state);
            state.drivers.iter().filter_map(Weak::upgrade).collect()
        };
        drivers.iter().filter_map(|d| d.next_deadline()).min()
    }

    /// Moves time forward to `target` (no-op if it has passed), firing what falls
    /// due on the way, as [`advance`](Self::advance) does. A replay feeds each
    /// recorded event's time here before handing the event on.
    pub fn advance_to(&self, target: MonoTime) {
        let by = target.saturating_duration_since(self.now());
        self.advance(by);
    }

    /// Moves time to the next armed deadline and fires everything due then;
    /// returns the clock's time afterwards (that deadline, unless a task moved
    /// the clock further itself), or `None` (time unchanged) when nothing is
    /// armed.
    /// Fast replay with no recorded events in between: call it in a loop.
    pub fn advance_to_next(&self) -> Option<MonoTime> {
        let next = self.next_deadline()?;
        self.advance_to(next);
        Some(self.now())
    }

    /// Moves time forward by `by`, firing every task that falls due on the way,
    /// each at its own deadline, in deadline order, on this thread.
    ///
    /// A task may itself call `advance` (to model a task that takes time): ticks
    /// that fall due meanwhile find it running and count as missed.
    pub fn advance(&self, by: Duration) {
        let target = self.now().saturating_add(by);
        let mut fires = 0_u64;
        loop {
            // The earliest due deadline over every attached scheduler.
            let drivers: Vec<std::sync::Arc<Shared>> = {
                let state = lock(&self.inner.state);
                state.drivers.iter().filter_map(Weak::upgrade).collect()
            };
            let next = drivers
                .iter()
                .filter_map(|d| d.next_deadline().map(|t| (t, d)))
                .min_by_key(|(t, _)| *t);
            let Some((deadline, driver)) = next else {
                break;
            };
            let now = self.now();
            if deadline > target.max(now) {
                break;
            }
            self.set_at_least(deadline);
            driver.fire_one_inline(self.now());
            fires += 1;
            assert!(
                fires <= MANUAL_FIRES_PER_ADVANCE_MAX,
                "ManualClock::advance fired more than {MANUAL_FIRES_PER_ADVANCE_MAX} tasks"
            );
        }
        self.set_at_least(target);
    }

    /// Moves time forward by `by` without firing anything, as if the driving loop
    /// had stalled (a suspended machine, a starved thread). The next `advance`
    /// fires the overdue tasks late, so their missed-tick policies apply.
    pub fn stall(&self, by: Duration) {
        let target = self.now().saturating_add(by);
        self.set_at_least(target);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> MonoTime {
        lock(&self.inner.state).now
    }

    fn wall_now(&self) -> SystemTime {
        self.inner.wall_epoch + Duration::from_nanos(self.now().as_nanos())
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .field("wall_epoch", &self.inner.wall_epoch)
            .finish()
    }
}

/// IST is UTC+05:30, with no daylight saving time.
pub const IST_OFFSET_SECS: u64 = 5 * 3600 + 30 * 60;
const DAY_SECS: u64 = 86_400;

/// A time of day in IST (Indian Standard Time, UTC+05:30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IstTime {
    secs_of_day: u32,
}

impl IstTime {
    /// `hour:minute:second` IST, or `None` if out of range.
    pub const fn new(hour: u32, minute: u32, second: u32) -> Option<IstTime> {
        if hour < 24 && minute < 60 && second < 60 {
            Some(IstTime {
                secs_of_day: hour * 3600 + minute * 60 + second,
            })
        } else {
            None
        }
    }

    /// Seconds since IST midnight.
    pub const fn secs_of_day(self) -> u32 {
        self.secs_of_day
    }

    /// The first wall-clock time strictly after `after` whose IST time of day is
    /// `self`.
    pub fn next_after(self, after: SystemTime) -> SystemTime {
        let since_epoch = after.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let ist_secs = since_epoch.as_secs() + IST_OFFSET_SECS;
        let ist_midnight_secs = ist_secs - ist_secs % DAY_SECS;
        let mut candidate_ist_secs = ist_midnight_secs + u64::from(self.secs_of_day);
        // Strictly after: the same second counts as passed once any part of it has.
        if candidate_ist_secs <= ist_secs {
            candidate_ist_secs += DAY_SECS;
        }
        // `ist_secs >= IST_OFFSET_SECS`, and the candidate is later still.
        UNIX_EPOCH + Duration::from_secs(candidate_ist_secs - IST_OFFSET_SECS)
    }
}

impl fmt::Display for IstTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.secs_of_day;
        write!(f, "{:02}:{:02}:{:02} IST", s / 3600, s / 60 % 60, s % 60)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ist_next_after_crosses_midnight() {
        // 2026-01-01T18:00:00Z is 23:30 IST; 00:15 IST is 45 minutes later.
        let base = UNIX_EPOCH + Duration::from_secs(1_767_290_400);
        let t = IstTime::new(0, 15, 0).unwrap();
        assert_eq!(t.next_after(base), base + Duration::from_secs(45 * 60));
        // 09:15 IST is 03:45 UTC, later the same UTC day.
        let t = IstTime::new(9, 15, 0).unwrap();
        assert_eq!(
            t.next_after(base),
            base + Duration::from_secs(9 * 3600 + 45 * 60)
        );
        // Exactly at the time: the next day's.
        let at = IstTime::new(23, 30, 0).unwrap();
        assert_eq!(at.next_after(base), base + Duration::from_secs(DAY_SECS));
        assert_eq!(IstTime::new(24, 0, 0), None);
    }

    #[test]
    fn monotonic_clock_never_decreases() {
        let clock = MonotonicClock::new();
        let mut last = clock.now();
        for _ in 0..1000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
    }
}
