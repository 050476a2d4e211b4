//! The scheduler: a precise, drift-free timer loop with a worker pool.
//!
//! One loop thread runs a `mio::Poll` holding a `Waker` and a Linux timerfd armed
//! with absolute `CLOCK_MONOTONIC` deadlines (mio's own timeout rounds to whole
//! milliseconds); its timer slack is set to the minimum. It wakes
//! [`SchedulerConfig::dispatch_early`] (200 µs) before a deadline and hands the
//! due tasks to a bounded worker pool, so a slow task delays no other; the worker
//! that takes a job early spins on the clock until the deadline, so the wake-up
//! of the loop and of a parked worker (tens of microseconds each, more after a
//! long sleep) is over before the deadline instead of after it.
//! The same core runs on a [`ManualClock`] with no threads at all: tasks then run
//! inline, in deadline order, for deterministic tests and backtests.
//!
//! # Semantics
//!
//! - Fixed rate: the k-th deadline of a recurring task is `anchor + k * every`,
//!   where the anchor is the moment it was armed (`start`, or scheduling after
//!   `start`). Lateness never accumulates.
//! - A task never starts before its deadline: a job handed over early waits.
//! - Missed ticks: a tick is missed when it is dispatched after the next grid
//!   deadline has already passed, when it finds the task still queued or running
//!   (a task never overlaps itself), or when the pool is saturated. What happens
//!   then is the task's [`MissedTickPolicy`].
//! - Priorities: the pool takes queued jobs highest [`Priority`] first; when its
//!   queue is full, a new job evicts a queued job of lower priority (or is itself
//!   dropped), and the dropped tick counts as missed.
//! - Errors and panics are caught, logged with the task's name, counted in its
//!   [`TaskStats`], and the task stays scheduled.
//! - Scheduling a name again replaces the task atomically; a run of the old task
//!   still in flight finishes but no longer touches the name.
//!
//! # Latency
//!
//! With the early hand-off a task typically starts about 1 µs after its
//! deadline. What remains is the operating system: on a loaded machine a woken
//! thread can wait milliseconds for a CPU, and nothing at normal priority avoids
//! that. Where the tail matters set [`SchedulerConfig::realtime_priority`]: the
//! loop thread and the workers put themselves under `SCHED_FIFO` (the workers one
//! priority lower, so the loop preempts a busy worker); if the process may not
//! (no `CAP_SYS_NICE`, `RLIMIT_RTPRIO` too low) it runs at normal priority and
//! logs one warning. Running the whole process under `chrt -f 10` (or systemd
//! `CPUSchedulingPolicy=fifo`) works too; the threads inherit it.
//! Measurements: `bench.rs` and `tests/scheduler_lateness.rs`.
//!
//! # Synchronization
//!
//! Ground rules, in the manner of tokio's timer entries:
//!
//! - All mutable scheduler state (the task table, the timer heap, the job lanes,
//!   the list of running jobs, the phase, the loop's sleep deadline) lives in one
//!   `Core` behind one mutex. Every thread touches it only under that mutex: the
//!   handle's callers (schedule, cancel, stats, stop), the loop thread (pops due
//!   timers, queues jobs, re-arms recurring tasks) and the workers (take jobs,
//!   record outcomes, re-arm backoff tasks).
//! - No user code runs under the mutex. A task's closure sits behind its own
//!   mutex, which only the one thread running it holds (a task never overlaps
//!   itself, so it is uncontended).
//! - The timerfd and the poll belong to the loop thread alone.
//! - Wake-ups cannot be lost: whoever arms a deadline earlier than the one the
//!   loop sleeps until (recorded in the core under the mutex) wakes the loop after
//!   unlocking, through the mio `Waker` (an eventfd, which stays readable until
//!   the loop polls) or, in the loom models, a doorbell that keeps its ring.
//!   Workers sleep on a condition variable and re-check the lanes under the mutex.
//! - `stop` flips the phase to stopping and empties the lanes under the mutex;
//!   workers check the phase under the same mutex before taking a job, so no job
//!   starts after `stop` has taken the lock, and `stop` returns only when the
//!   running jobs finished (or names the ones that did not, after its timeout).
//! - A job handed over early counts as running while its worker waits for the
//!   deadline; after the wait the worker re-takes the mutex and starts it only if
//!   the scheduler is still started and the task neither cancelled nor replaced
//!   (the check every job passes when a worker pops it).
//! - The only atomic is the never-backwards check of [`MonotonicClock`], whose
//!   ordering is justified where it is used.
//!
//! Lock order: the core mutex, then a task's closure mutex is never taken while
//! the core is held; the doorbell's mutex is taken only after the core is
//! released.

mod clock;
mod driver;
mod realtime;
mod state;
mod timer;

pub mod bench;

#[cfg(test)]
mod model_tests;

use std::fmt;
use std::ops::Deref;
use std::sync::Arc as StdArc;
use std::time::Duration;

use crate::sync::{Mutex, lock, thread};

pub use clock::{Clock, IST_OFFSET_SECS, IstTime, ManualClock, MonoTime, MonotonicClock};
pub use realtime::{
    REALTIME_PRIORITY_MAX, REALTIME_PRIORITY_MIN, RealtimeError, probe_realtime_priority,
    set_current_thread_fifo, worker_priority,
};
pub use timer::{Expired, TIMERS_COUNT_MAX_LIMIT, TimerFull, TimerHeap, TimerId};

use self::driver::LoopResources;
use self::state::{ClockKind, Driver, Shared, TaskFn};

/// The default [`SchedulerConfig::dispatch_early`].
pub const DISPATCH_EARLY: Duration = Duration::from_micros(200);
/// The largest [`SchedulerConfig::dispatch_early`]: a worker spins at most this
/// long per tick.
pub const DISPATCH_EARLY_MAX: Duration = Duration::from_micros(500);

/// The most worker threads a scheduler may have.
pub const WORKERS_COUNT_MAX: usize = 64;

/// Which tasks the pool serves first when it is saturated (highest first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priority {
    /// Risk checks (exits, limits).
    Risk = 0,
    /// Market data polling.
    MarketData = 1,
    /// Trading decisions.
    Trading = 2,
    /// Status reports, checkpoints and everything else.
    #[default]
    Status = 3,
}

/// What a recurring task does about ticks it missed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MissedTickPolicy {
    /// Run once now for the latest tick; count the others as missed; stay on the
    /// original grid.
    #[default]
    Skip,
    /// Run the missed ticks back to back, at most `runs_max` of them (the rest
    /// count as missed); stay on the original grid.
    Burst {
        /// The most runs one burst may make (at least 1).
        runs_max: u32,
    },
    /// Run once now, count the others as missed, and re-anchor the grid: the next
    /// run is at `now + every`.
    Delay,
}

/// When a task runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// Every `every`, at fixed rate from the moment it is armed.
    Recurring {
        /// The period.
        every: Duration,
    },
    /// Every `every`, at fixed rate, the first time at `first` (a point on the
    /// scheduler's clock): the k-th deadline is `first + k * every`.
    RecurringAt {
        /// The first deadline.
        first: MonoTime,
        /// The period.
        every: Duration,
    },
    /// Once, `after` the moment it is armed.
    Once {
        /// The delay.
        after: Duration,
    },
    /// Once, at a point on the scheduler's clock (see [`SchedulerHandle::now`]).
    At {
        /// The deadline.
        at: MonoTime,
    },
    /// Every day at a time of day in IST.
    Daily {
        /// The time of day.
        at: IstTime,
    },
    /// Every `initial` while it succeeds; after `n` failures in a row, after
    /// `min(initial * multiplier^n, max)`. Delays count from the end of a run.
    Backoff {
        /// The period while it succeeds, and the base of the backoff.
        initial: Duration,
        /// The longest delay.
        max: Duration,
        /// The growth factor per failure (at least 1).
        multiplier: f64,
    },
}

/// Per-task options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskOptions {
    /// Which queue of the pool it waits in.
    pub priority: Priority,
    /// What happens to missed ticks.
    pub missed: MissedTickPolicy,
}

impl TaskOptions {
    /// Options with this priority and the default (skip) missed-tick policy.
    pub fn priority(priority: Priority) -> TaskOptions {
        TaskOptions {
            priority,
            missed: MissedTickPolicy::Skip,
        }
    }

    /// The same options with this missed-tick policy.
    pub fn missed(self, missed: MissedTickPolicy) -> TaskOptions {
        TaskOptions { missed, ..self }
    }
}

/// A snapshot of one task's statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStats {
    /// The task's name.
    pub name: String,
    /// Its priority.
    pub priority: Priority,
    /// Runs that completed (successfully or not).
    pub runs: u64,
    /// Ticks that did not run (late, overlapping, or dropped when saturated).
    pub missed: u64,
    /// Runs that returned an error.
    pub errors: u64,
    /// Runs that panicked.
    pub panics: u64,
    /// Start of the last job minus its deadline.
    pub lateness_last: Duration,
    /// The largest lateness so far.
    pub lateness_max: Duration,
    /// How long the last run took.
    pub duration_last: Duration,
    /// The longest run so far.
    pub duration_max: Duration,
}

/// Sizes and bounds of a scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Worker threads of the pool (1..=[`WORKERS_COUNT_MAX`]).
    pub workers_count: usize,
    /// Jobs that may wait for a worker before ticks are dropped (at least 1).
    pub jobs_queued_max: usize,
    /// Tasks (and so timers) a scheduler holds.
    pub tasks_count_max: usize,
    /// How long a once or backoff task whose run was dropped (pool saturated)
    /// waits before it is tried again.
    pub saturated_retry_delay: Duration,
    /// How long before a deadline the real loop wakes and hands the task to a
    /// worker, which then spins on the clock until the deadline (at most
    /// [`DISPATCH_EARLY_MAX`]). It hides the wake-up of the loop thread from its
    /// timerfd and of a parked worker, which after a long sleep take tens to
    /// hundreds of microseconds. Costs up to this much CPU per tick; zero turns
    /// it off. Ignored on a manual clock.
    pub dispatch_early: Duration,
    /// Real-time priority: `Some(p)` (p in [`REALTIME_PRIORITY_MIN`]..=
    /// [`REALTIME_PRIORITY_MAX`]) puts the loop thread under `SCHED_FIFO` at `p`
    /// and the workers at [`worker_priority`]`(p)` (one less) when they start;
    /// `None` (the default) leaves them at normal priority. Needs `CAP_SYS_NICE`
    /// or `RLIMIT_RTPRIO >= p`; without it the scheduler runs at normal priority
    /// and logs one warning. Ignored on a manual clock.
    pub realtime_priority: Option<u8>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            workers_count: 4,
            jobs_queued_max: 1024,
            tasks_count_max: 100_000,
            saturated_retry_delay: Duration::from_millis(10),
            dispatch_early: DISPATCH_EARLY,
            realtime_priority: None,
        }
    }
}

impl SchedulerConfig {
    fn validate(&self) -> Result<(), SchedulerError> {
        if !(1..=WORKERS_COUNT_MAX).contains(&self.workers_count) {
            return Err(SchedulerError::InvalidConfig(
                "workers_count must be 1 to 64",
            ));
        }
        if self.jobs_queued_max == 0 {
            return Err(SchedulerError::InvalidConfig(
                "jobs_queued_max must be at least 1",
            ));
        }
        if self.dispatch_early > DISPATCH_EARLY_MAX {
            return Err(SchedulerError::InvalidConfig(
                "dispatch_early must be at most 500 us (DISPATCH_EARLY_MAX)",
            ));
        }
        if let Some(p) = self.realtime_priority
            && !(REALTIME_PRIORITY_MIN..=REALTIME_PRIORITY_MAX).contains(&p)
        {
            return Err(SchedulerError::InvalidConfig(
                "realtime_priority must be 1 to 99 (or None for normal priority)",
            ));
        }
        if self.tasks_count_max > TIMERS_COUNT_MAX_LIMIT {
            return Err(SchedulerError::InvalidConfig(
                "tasks_count_max is too large",
            ));
        }
        Ok(())
    }
}

/// Why a scheduler call was refused.
#[derive(Debug)]
pub enum SchedulerError {
    /// A configuration value is out of range.
    InvalidConfig(&'static str),
    /// A task name is empty or too long.
    InvalidName {
        /// The name (truncated).
        name: String,
    },
    /// A schedule's durations or multiplier are unusable.
    InvalidSchedule {
        /// The task's name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The task table is full.
    TooManyTasks {
        /// The configured bound.
        tasks_count_max: usize,
    },
    /// `start` was called twice.
    AlreadyStarted,
    /// The scheduler is stopping or stopped.
    Stopped,
    /// Creating the poll or timerfd, or spawning a thread, failed.
    Io(std::io::Error),
}

impl fmt::Display for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedulerError::InvalidConfig(what) => {
                write!(f, "invalid scheduler configuration: {what}")
            }
            SchedulerError::InvalidName { name } => {
                write!(
                    f,
                    "invalid task name {name:?}: use 1 to {} bytes",
                    state::NAME_BYTES_MAX
                )
            }
            SchedulerError::InvalidSchedule { name, reason } => {
                write!(f, "invalid schedule for task {name:?}: {reason}")
            }
            SchedulerError::TooManyTasks { tasks_count_max } => {
                write!(
                    f,
                    "the scheduler already holds {tasks_count_max} tasks (tasks_count_max)"
                )
            }
            SchedulerError::AlreadyStarted => write!(f, "the scheduler is already started"),
            SchedulerError::Stopped => write!(f, "the scheduler is stopped and takes no new tasks"),
            SchedulerError::Io(e) => write!(f, "the scheduler could not set up its loop: {e}"),
        }
    }
}

impl std::error::Error for SchedulerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SchedulerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for SchedulerError {
    fn from(e: std::io::Error) -> Self {
        SchedulerError::Io(e)
    }
}

/// What `stop` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Tasks still running when the timeout expired, sorted. Their threads are
    /// left to finish on their own.
    pub still_running: Vec<String>,
}

/// A cloneable handle for scheduling and inspecting tasks (tasks may hold one to
/// schedule or cancel others, or themselves).
#[derive(Clone, Debug)]
pub struct SchedulerHandle {
    shared: StdArc<Shared>,
}

fn boxed<F, E>(mut f: F) -> TaskFn
where
    F: FnMut() -> Result<(), E> + Send + 'static,
    E: fmt::Display,
{
    Box::new(move || f().map_err(|e| e.to_string()))
}

impl SchedulerHandle {
    /// Now, on the scheduler's clock.
    pub fn now(&self) -> MonoTime {
        self.shared.now()
    }

    /// Schedules (or replaces) the task `name`.
    pub fn schedule<F, E>(
        &self,
        name: &str,
        schedule: Schedule,
        options: TaskOptions,
        f: F,
    ) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.shared.schedule(name, schedule, options, boxed(f))
    }

    /// Runs `f` every `every`, at fixed rate, with default options.
    pub fn schedule_recurring<F, E>(
        &self,
        name: &str,
        every: Duration,
        f: F,
    ) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.schedule(
            name,
            Schedule::Recurring { every },
            TaskOptions::default(),
            f,
        )
    }

    /// Runs `f` once, `after` from now (or from `start`).
    pub fn schedule_once<F, E>(
        &self,
        name: &str,
        after: Duration,
        f: F,
    ) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.schedule(name, Schedule::Once { after }, TaskOptions::default(), f)
    }

    /// Runs `f` once at `at` on the scheduler's clock.
    pub fn schedule_at<F, E>(&self, name: &str, at: MonoTime, f: F) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.schedule(name, Schedule::At { at }, TaskOptions::default(), f)
    }

    /// Runs `f` every day at `at` (IST).
    pub fn schedule_daily<F, E>(&self, name: &str, at: IstTime, f: F) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.schedule(name, Schedule::Daily { at }, TaskOptions::default(), f)
    }

    /// Runs `f` every `initial`; after failures, with exponential backoff up to
    /// `max`; back to `initial` after a success.
    pub fn schedule_with_backoff<F, E>(
        &self,
        name: &str,
        initial: Duration,
        max: Duration,
        multiplier: f64,
        f: F,
    ) -> Result<(), SchedulerError>
    where
        F: FnMut() -> Result<(), E> + Send + 'static,
        E: fmt::Display,
    {
        self.schedule(
            name,
            Schedule::Backoff {
                initial,
                max,
                multiplier,
            },
            TaskOptions::default(),
            f,
        )
    }

    /// Cancels `name`; returns whether it existed. A queued run that has not
    /// started is dropped; a run in flight finishes.
    pub fn cancel(&self, name: &str) -> bool {
        self.shared.cancel(name)
    }

    /// Cancels every task; returns how many there were.
    pub fn cancel_all(&self) -> usize {
        self.shared.cancel_all()
    }

    /// Names of the tasks that are armed, queued or running, sorted.
    pub fn active_tasks(&self) -> Vec<String> {
        self.shared.active_tasks()
    }

    /// Jobs waiting for a free worker (a saturation gauge for the status report).
    pub fn jobs_queued(&self) -> usize {
        self.shared.jobs_queued()
    }

    /// Statistics of every task, sorted by name.
    pub fn stats(&self) -> Vec<TaskStats> {
        self.shared.stats()
    }

    /// Waits until no task is armed, queued or running (all once tasks done,
    /// everything cancelled or stopped), up to `timeout`; returns whether that
    /// happened. On a manual clock it only checks: time moves by `advance`.
    pub fn wait_for_completion(&self, timeout: Duration) -> bool {
        self.shared.wait_for_completion(timeout)
    }
}

#[derive(Debug, Default)]
struct Threads {
    timer_loop: Option<thread::JoinHandle<()>>,
    workers: Vec<thread::JoinHandle<()>>,
}

/// The scheduler. Owns the loop and worker threads; dropping it stops them.
/// Scheduling calls are on [`SchedulerHandle`], which it dereferences to.
#[derive(Debug)]
pub struct Scheduler {
    handle: SchedulerHandle,
    resources: Mutex<Option<LoopResources>>,
    threads: Mutex<Threads>,
}

impl Scheduler {
    /// A scheduler on the machine's monotonic clock (mio + timerfd loop).
    pub fn new(config: SchedulerConfig) -> Result<Scheduler, SchedulerError> {
        config.validate()?;
        let (resources, waker) = driver::loop_resources()?;
        let shared = Shared::new(
            config,
            ClockKind::Monotonic(MonotonicClock::new()),
            Driver::Mio(waker),
        );
        Ok(Scheduler::from_shared(shared, Some(resources)))
    }

    /// A scheduler without threads, driven by `clock`: [`ManualClock::advance`]
    /// runs its due tasks inline, in deadline order.
    pub fn with_manual_clock(
        config: SchedulerConfig,
        clock: &ManualClock,
    ) -> Result<Scheduler, SchedulerError> {
        config.validate()?;
        let shared = Shared::new(config, ClockKind::Manual(clock.clone()), Driver::Inline);
        let scheduler = Scheduler::from_shared(shared, None);
        clock.attach(StdArc::downgrade(&scheduler.handle.shared));
        Ok(scheduler)
    }

    /// A threaded scheduler on a manual clock whose loop sleeps on a doorbell
    /// (the model tests: real workers and protocol, no mio).
    #[cfg(test)]
    pub(crate) fn with_doorbell(config: SchedulerConfig, clock: &ManualClock) -> Scheduler {
        let shared = Shared::new(
            config,
            ClockKind::Manual(clock.clone()),
            Driver::Doorbell(Default::default()),
        );
        Scheduler::from_shared(shared, None)
    }

    fn from_shared(shared: Shared, resources: Option<LoopResources>) -> Scheduler {
        Scheduler {
            handle: SchedulerHandle {
                shared: StdArc::new(shared),
            },
            resources: Mutex::new(resources),
            threads: Mutex::new(Threads::default()),
        }
    }

    /// A cloneable handle for scheduling from elsewhere (tasks included).
    pub fn handle(&self) -> SchedulerHandle {
        self.handle.clone()
    }

    /// Arms every registered task (anchored now) and starts the loop and the
    /// workers (none on a manual clock). With
    /// [`SchedulerConfig::realtime_priority`] each thread puts itself under
    /// `SCHED_FIFO` as it starts; a refusal is logged, not returned.
    pub fn start(&self) -> Result<(), SchedulerError> {
        let shared = &self.handle.shared;
        shared.start_core()?;
        let mut threads = lock(&self.threads);
        let spawn_loop = match &shared.driver {
            Driver::Inline => return Ok(()),
            Driver::Mio(_) => {
                let resources = lock(&self.resources)
                    .take()
                    .ok_or(SchedulerError::AlreadyStarted)?;
                let shared = StdArc::clone(shared);
                let priority = shared.config.realtime_priority;
                thread::Builder::new()
                    .name("sched-loop".into())
                    .spawn(move || {
                        realtime::apply_loop(priority);
                        driver::run_timer_loop(shared, resources)
                    })
            }
            #[cfg(test)]
            Driver::Doorbell(_) => {
                let shared = StdArc::clone(shared);
                thread::Builder::new()
                    .name("sched-loop".into())
                    .spawn(move || driver::run_doorbell_loop(shared))
            }
        };
        threads.timer_loop = Some(spawn_loop?);
        // Only the real loop's workers: the doorbell models keep their threads as
        // they are.
        let priority = match &shared.driver {
            Driver::Mio(_) => shared.config.realtime_priority,
            _ => None,
        };
        for i in 0..shared.config.workers_count {
            let shared = StdArc::clone(shared);
            let worker = thread::Builder::new()
                .name(format!("sched-worker-{i}"))
                .spawn(move || {
                    realtime::apply_worker(priority);
                    shared.worker_loop()
                })?;
            threads.workers.push(worker);
        }
        Ok(())
    }

    /// Stops intake (scheduling is refused from now on), drops queued runs,
    /// lets running tasks finish for up to `timeout`, and returns the names of
    /// those that did not. No task starts after this returns.
    pub fn stop(&self, timeout: Duration) -> StopReport {
        let still_running = self.handle.shared.stop_core(timeout);
        let mut threads = lock(&self.threads);
        if let Some(timer_loop) = threads.timer_loop.take()
            && timer_loop.join().is_err()
        {
            tracing::error!("scheduler: the loop thread panicked");
        }
        let workers = std::mem::take(&mut threads.workers);
        if still_running.is_empty() {
            for worker in workers {
                if worker.join().is_err() {
                    tracing::error!("scheduler: a worker thread panicked");
                }
            }
        }
        // Otherwise the workers are detached: each exits after its current run.
        StopReport { still_running }
    }
}

impl Deref for Scheduler {
    type Target = SchedulerHandle;

    fn deref(&self) -> &SchedulerHandle {
        &self.handle
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let has_threads = {
            let threads = lock(&self.threads);
            threads.timer_loop.is_some() || !threads.workers.is_empty()
        };
        if has_threads {
            let report = self.stop(Duration::ZERO);
            if !report.still_running.is_empty() {
                tracing::warn!(tasks = ?report.still_running, "scheduler dropped while tasks were running");
            }
        }
    }
}
