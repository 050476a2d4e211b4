//! The scheduler core: the task table, the timer heap, the job lanes of the worker
//! pool, and the decisions taken when a timer fires. Shared by every driver: the
//! mio + timerfd loop, the doorbell loop of the loom models, and the manual clock.
//!
//! All mutable state sits in one [`Core`] behind one mutex (see the module
//! documentation of `scheduler` for the ground rules). No user code ever runs
//! while the mutex is held.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc as StdArc;
use std::time::{Duration, Instant};

use crate::sync::{Condvar, Mutex, MutexGuard, lock};

use super::clock::{Clock, ManualClock, MonoTime, MonotonicClock};
use super::timer::{Expired, TimerHeap, TimerId};
use super::{
    MissedTickPolicy, Priority, Schedule, SchedulerConfig, SchedulerError, TaskOptions, TaskStats,
};

/// The boxed task body. Errors are rendered to text once, when they happen.
pub(crate) type TaskFn = Box<dyn FnMut() -> Result<(), String> + Send>;

/// How many timers the loop fires in one turn before it re-arms and polls again
/// (so a flood of due timers cannot hold the core mutex for long).
pub(crate) const DUE_PER_TURN_MAX: usize = 1024;
/// The longest task name, in bytes.
pub(crate) const NAME_BYTES_MAX: usize = 128;
const PRIORITY_COUNT: usize = 4;

/// The clock a scheduler runs on.
#[derive(Debug)]
pub(crate) enum ClockKind {
    Monotonic(MonotonicClock),
    Manual(ManualClock),
}

impl ClockKind {
    pub(crate) fn as_clock(&self) -> &dyn Clock {
        match self {
            ClockKind::Monotonic(c) => c,
            ClockKind::Manual(c) => c,
        }
    }
}

/// How the loop thread is woken when an earlier deadline (or a stop) arrives.
#[derive(Debug)]
pub(crate) enum Driver {
    /// No loop thread: the manual clock fires tasks inline.
    Inline,
    /// The mio + timerfd loop, woken through its `mio::Waker` (an eventfd).
    Mio(mio::Waker),
    /// A loop blocked on a condition variable (the model tests, with and
    /// without loom).
    #[cfg(test)]
    Doorbell(Doorbell),
}

#[cfg(test)]
/// A one-bit mailbox: `ring` sets it, `wait` blocks until set and clears it.
/// A ring before the wait is kept, so a wake-up cannot be lost.
#[derive(Debug, Default)]
#[cfg(test)]
pub(crate) struct Doorbell {
    rung: Mutex<bool>,
    cv: Condvar,
}

#[cfg(test)]
impl Doorbell {
    pub(crate) fn ring(&self) {
        *lock(&self.rung) = true;
        self.cv.notify_one();
    }

    pub(crate) fn wait(&self) {
        let mut rung = lock(&self.rung);
        while !*rung {
            rung = self
                .cv
                .wait(rung)
                .unwrap_or_else(crate::sync::PoisonError::into_inner);
        }
        *rung = false;
    }
}

pub(crate) struct TaskBody {
    pub(crate) name: StdArc<str>,
    pub(crate) f: Mutex<TaskFn>,
}

impl fmt::Debug for TaskBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskBody")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a timer carries: which task (and which incarnation of it) to fire.
#[derive(Debug)]
struct TimerKey {
    name: StdArc<str>,
    generation: u64,
}

/// Per-schedule state that evolves as the task fires.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Not armed yet (registered before `start`).
    Unarmed,
    /// The next deadline is `anchor + every * tick_index`.
    Recurring {
        anchor: MonoTime,
        tick_index: u64,
    },
    Once,
    /// `occurrence` is the wall time the armed (or last fired) deadline stands for.
    Daily {
        occurrence: std::time::SystemTime,
    },
    Backoff {
        failures_in_row: u32,
    },
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    runs: u64,
    missed: u64,
    errors: u64,
    panics: u64,
    lateness_last: Duration,
    lateness_max: Duration,
    duration_last: Duration,
    duration_max: Duration,
}

#[derive(Debug)]
struct TaskSlot {
    generation: u64,
    body: StdArc<TaskBody>,
    schedule: Schedule,
    options: TaskOptions,
    plan: Plan,
    timer: Option<TimerId>,
    /// Queued or running: a tick that finds this set counts as missed.
    running: bool,
    counters: Counters,
}

/// One dispatch of a task: `runs` back-to-back runs (more than one only for a
/// burst), for the tick whose deadline was `deadline`.
#[derive(Debug)]
pub(crate) struct Job {
    body: StdArc<TaskBody>,
    generation: u64,
    priority: Priority,
    deadline: MonoTime,
    runs: u32,
}

#[derive(Debug, Default)]
struct Outcome {
    started_at: MonoTime,
    finished_at: MonoTime,
    runs: u64,
    errors: u64,
    panics: u64,
    last_ok: bool,
    duration_last: Duration,
    duration_max: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Created,
    Started,
    Stopping,
}

/// Everything mutable, behind `Shared::core`.
#[derive(Debug)]
pub(crate) struct Core {
    phase: Phase,
    tasks: HashMap<StdArc<str>, TaskSlot>,
    timers: TimerHeap<TimerKey>,
    /// Jobs waiting for a worker, one lane per priority (index = `Priority as usize`).
    lanes: [VecDeque<Job>; PRIORITY_COUNT],
    jobs_queued: usize,
    /// Jobs a worker (or the inline driver) has taken and not finished; at most
    /// `workers_count` long (one per worker), or the inline nesting depth.
    running: Vec<(StdArc<str>, u64)>,
    /// The deadline the loop thread sleeps until (`None`: indefinitely). A new
    /// earlier deadline must wake it.
    loop_deadline: Option<MonoTime>,
    /// Set when a deadline earlier than `loop_deadline` was armed: whoever drops
    /// the lock must wake the loop.
    wake_needed: bool,
    generation_next: u64,
    /// The clock reading of the last loop turn that queued a job (for the
    /// lateness probes of `bench.rs`: loop wake-up vs task start).
    last_dispatch_at: MonoTime,
}

/// The result of one loop turn.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Sleep until this deadline (`None`: until woken).
    Sleep(Option<MonoTime>),
    /// The scheduler is stopping: leave the loop.
    Stop,
}

/// State shared by the handle, the loop thread and the workers.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<Core>,
    /// Workers wait here for jobs (or for the stop).
    work_cv: Condvar,
    /// `stop` and `wait_for_completion` wait here for jobs to finish.
    idle_cv: Condvar,
    clock: ClockKind,
    pub(crate) driver: Driver,
    pub(crate) config: SchedulerConfig,
    /// `config.dispatch_early` on the real loop, zero otherwise: the loop pops
    /// timers due within this span and the worker waits out the rest.
    dispatch_early: Duration,
}

fn priority_index(p: Priority) -> usize {
    p as usize
}

fn validate(name: &str, schedule: &Schedule) -> Result<(), SchedulerError> {
    if name.is_empty() || name.len() > NAME_BYTES_MAX {
        return Err(SchedulerError::InvalidName {
            name: name.chars().take(NAME_BYTES_MAX).collect(),
        });
    }
    match *schedule {
        Schedule::Recurring { every } | Schedule::RecurringAt { every, .. } if every.is_zero() => {
            Err(SchedulerError::InvalidSchedule {
                name: name.into(),
                reason: "the period is zero",
            })
        }
        Schedule::Backoff {
            initial,
            max,
            multiplier,
        } => {
            if initial.is_zero() {
                Err(SchedulerError::InvalidSchedule {
                    name: name.into(),
                    reason: "the initial delay is zero",
                })
            } else if max < initial {
                Err(SchedulerError::InvalidSchedule {
                    name: name.into(),
                    reason: "max is below initial",
                })
            } else if !(multiplier.is_finite() && multiplier >= 1.0) {
                Err(SchedulerError::InvalidSchedule {
                    name: name.into(),
                    reason: "the multiplier must be finite and at least 1",
                })
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// The delay before the next run of a backoff task after `failures_in_row`
/// consecutive failures: `initial` after a success, else
/// `initial * multiplier^failures_in_row`, capped at `max`.
pub(crate) fn backoff_delay(
    initial: Duration,
    max: Duration,
    multiplier: f64,
    failures_in_row: u32,
) -> Duration {
    let mut delay = initial;
    // Bounded by `failures_in_row`, and stops growing once capped.
    for _ in 0..failures_in_row {
        delay = Duration::try_from_secs_f64(delay.as_secs_f64() * multiplier)
            .unwrap_or(max)
            .min(max);
        if delay == max {
            break;
        }
    }
    delay
}

impl Core {
    fn new(config: &SchedulerConfig) -> Core {
        Core {
            phase: Phase::Created,
            tasks: HashMap::new(),
            // One timer per task at most, so the heap can never be full.
            timers: TimerHeap::new(config.tasks_count_max),
            lanes: Default::default(),
            jobs_queued: 0,
            running: Vec::new(),
            loop_deadline: None,
            wake_needed: false,
            generation_next: 0,
            last_dispatch_at: MonoTime::ZERO,
        }
    }

    fn arm(&mut self, name: &StdArc<str>, deadline: MonoTime) {
        let Some(slot) = self.tasks.get_mut(name) else {
            return;
        };
        if let Some(old) = slot.timer.take() {
            self.timers.cancel(old);
        }
        let key = TimerKey {
            name: StdArc::clone(name),
            generation: slot.generation,
        };
        let id = match self.timers.insert(deadline, key) {
            Ok(id) => id,
            // The heap holds `tasks_count_max` timers and each task arms one.
            Err(_) => unreachable!("the timer heap holds one timer per task"),
        };
        slot.timer = Some(id);
        if self.phase == Phase::Started && self.loop_deadline.is_none_or(|d| deadline < d) {
            self.loop_deadline = Some(deadline);
            self.wake_needed = true;
        }
    }

    /// Arms a task for the first time, anchored at `now`.
    fn arm_first(&mut self, name: &StdArc<str>, now: MonoTime, clock: &dyn Clock) {
        let Some(slot) = self.tasks.get_mut(name) else {
            return;
        };
        let deadline = match slot.schedule {
            Schedule::Recurring { every } => {
                slot.plan = Plan::Recurring {
                    anchor: now,
                    tick_index: 1,
                };
                now + every
            }
            Schedule::RecurringAt { first, .. } => {
                slot.plan = Plan::Recurring {
                    anchor: first,
                    tick_index: 0,
                };
                first
            }
            Schedule::Once { after } => {
                slot.plan = Plan::Once;
                now + after
            }
            Schedule::At { at } => {
                slot.plan = Plan::Once;
                at
            }
            Schedule::Daily { at } => {
                let wall_now = clock.wall_now();
                let occurrence = at.next_after(wall_now);
                slot.plan = Plan::Daily { occurrence };
                now + occurrence
                    .duration_since(wall_now)
                    .unwrap_or(Duration::ZERO)
            }
            Schedule::Backoff { initial, .. } => {
                slot.plan = Plan::Backoff { failures_in_row: 0 };
                now + initial
            }
        };
        self.arm(name, deadline);
    }

    /// Decides what a due timer does: which runs to dispatch, what counts as
    /// missed, and when the task fires next.
    fn on_timer(
        &mut self,
        expired: Expired<TimerKey>,
        now: MonoTime,
        clock: &dyn Clock,
    ) -> Option<Job> {
        let name = expired.value.name;
        let slot = self.tasks.get_mut(&name)?;
        if slot.generation != expired.value.generation {
            return None;
        }
        slot.timer = None;
        let deadline = expired.deadline;
        let mut runs: u32 = 1;
        let mut next: Option<MonoTime> = None;
        match (&mut slot.plan, slot.schedule) {
            (
                Plan::Recurring { anchor, tick_index },
                Schedule::Recurring { every } | Schedule::RecurringAt { every, .. },
            ) => {
                // Grid deadlines after this one that have also passed.
                let passed = now.saturating_duration_since(deadline).as_nanos() / every.as_nanos();
                let passed = u64::try_from(passed).unwrap_or(u64::MAX);
                let ticks = passed.saturating_add(1);
                let late = slot.running || passed > 0;
                runs = if slot.running {
                    0
                } else if let MissedTickPolicy::Burst { runs_max } = slot.options.missed {
                    u32::try_from(ticks.min(u64::from(runs_max.max(1)))).unwrap_or(u32::MAX)
                } else {
                    1
                };
                slot.counters.missed += ticks - u64::from(runs);
                if late && slot.options.missed == MissedTickPolicy::Delay {
                    *anchor = now;
                    *tick_index = 1;
                } else {
                    *tick_index = tick_index.saturating_add(ticks);
                }
                next = Some(anchor.saturating_add_times(every, *tick_index));
            }
            (Plan::Daily { occurrence }, Schedule::Daily { at }) => {
                if slot.running {
                    runs = 0;
                    slot.counters.missed += 1;
                }
                let wall_now = clock.wall_now();
                // After the occurrence that just fired even if the wall clock is
                // a little behind the monotonic one: never fire twice a day.
                let next_occurrence = at.next_after(wall_now.max(*occurrence));
                *occurrence = next_occurrence;
                next = Some(
                    now + next_occurrence
                        .duration_since(wall_now)
                        .unwrap_or(Duration::ZERO),
                );
            }
            // Once: no re-arm. Backoff: re-armed when the run completes.
            _ => {}
        }
        let body = StdArc::clone(&slot.body);
        let generation = slot.generation;
        let priority = slot.options.priority;
        if runs > 0 {
            slot.running = true;
        }
        if let Some(next) = next {
            self.arm(&name, next);
        }
        (runs > 0).then_some(Job {
            body,
            generation,
            priority,
            deadline,
            runs,
        })
    }

    /// Queues a job for the pool. When the queue is full, a queued job of lower
    /// priority makes room (it counts as missed); otherwise the new one does.
    /// Returns whether a job was added.
    fn enqueue(&mut self, job: Job, now: MonoTime, config: &SchedulerConfig) -> bool {
        let lane = priority_index(job.priority);
        if self.jobs_queued < config.jobs_queued_max {
            self.lanes[lane].push_back(job);
            self.jobs_queued += 1;
            return true;
        }
        let victim_lane = (lane + 1..PRIORITY_COUNT)
            .rev()
            .find(|&l| !self.lanes[l].is_empty());
        match victim_lane {
            Some(victim_lane) => {
                let victim = self.lanes[victim_lane]
                    .pop_back()
                    .expect("lane is not empty");
                self.lanes[lane].push_back(job);
                tracing::warn!(task = %victim.body.name, "worker pool saturated: tick dropped for a higher priority");
                self.job_dropped(victim, Some(now), config);
                true
            }
            None => {
                tracing::warn!(task = %job.body.name, "worker pool saturated: tick dropped");
                self.job_dropped(job, Some(now), config);
                false
            }
        }
    }

    /// A job that will not run: its ticks count as missed. A once or backoff task
    /// has no other timer, so it is re-armed a little later (unless stopping,
    /// `retry_at == None`).
    fn job_dropped(&mut self, job: Job, retry_at: Option<MonoTime>, config: &SchedulerConfig) {
        let name = &job.body.name;
        let Some(slot) = self.tasks.get_mut(name) else {
            return;
        };
        if slot.generation != job.generation {
            return;
        }
        slot.running = false;
        slot.counters.missed += u64::from(job.runs);
        let needs_retry =
            matches!(slot.plan, Plan::Once | Plan::Backoff { .. }) && slot.timer.is_none();
        if let (true, Some(now)) = (needs_retry, retry_at) {
            let name = StdArc::clone(name);
            self.arm(&name, now + config.saturated_retry_delay);
        }
    }

    fn pop_job(&mut self) -> Option<Job> {
        let job = self.lanes.iter_mut().find_map(VecDeque::pop_front)?;
        self.jobs_queued -= 1;
        self.running
            .push((StdArc::clone(&job.body.name), job.generation));
        Some(job)
    }

    /// Records a finished job: stats, the running flag, and the follow-up of once
    /// (removed) and backoff (re-armed) tasks.
    fn complete(&mut self, job: &Job, outcome: &Outcome) {
        if let Some(i) = self
            .running
            .iter()
            .position(|(n, g)| *n == job.body.name && *g == job.generation)
        {
            self.running.swap_remove(i);
        }
        let name = &job.body.name;
        let Some(slot) = self.tasks.get_mut(name) else {
            return;
        };
        if slot.generation != job.generation {
            // Replaced or cancelled while it ran: the new incarnation owns the name.
            return;
        }
        slot.running = false;
        let c = &mut slot.counters;
        c.runs += outcome.runs;
        c.errors += outcome.errors;
        c.panics += outcome.panics;
        c.lateness_last = outcome.started_at.saturating_duration_since(job.deadline);
        c.lateness_max = c.lateness_max.max(c.lateness_last);
        c.duration_last = outcome.duration_last;
        c.duration_max = c.duration_max.max(outcome.duration_max);
        match (&mut slot.plan, slot.schedule) {
            // A once task whose run was dropped has been re-armed: keep it.
            (Plan::Once, _) if slot.timer.is_none() => {
                self.tasks.remove(name);
            }
            (
                Plan::Backoff { failures_in_row },
                Schedule::Backoff {
                    initial,
                    max,
                    multiplier,
                },
            ) => {
                *failures_in_row = if outcome.last_ok {
                    0
                } else {
                    failures_in_row.saturating_add(1)
                };
                let delay = backoff_delay(initial, max, multiplier, *failures_in_row);
                if self.phase == Phase::Started {
                    let name = StdArc::clone(name);
                    self.arm(&name, outcome.finished_at + delay);
                }
            }
            _ => {}
        }
    }

    fn is_active(&self, slot: &TaskSlot) -> bool {
        self.phase == Phase::Created || slot.timer.is_some() || slot.running
    }

    fn is_quiescent(&self) -> bool {
        match self.phase {
            Phase::Created => self.tasks.is_empty(),
            Phase::Started | Phase::Stopping => {
                self.timers.is_empty() && self.jobs_queued == 0 && self.running.is_empty()
            }
        }
    }
}

impl Shared {
    pub(crate) fn new(config: SchedulerConfig, clock: ClockKind, driver: Driver) -> Shared {
        let dispatch_early = match driver {
            Driver::Mio(_) => config.dispatch_early,
            _ => Duration::ZERO,
        };
        Shared {
            dispatch_early,
            core: Mutex::new(Core::new(&config)),
            work_cv: Condvar::new(),
            idle_cv: Condvar::new(),
            clock,
            driver,
            config,
        }
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_clock()
    }

    pub(crate) fn now(&self) -> MonoTime {
        self.clock().now()
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        lock(&self.core)
    }

    /// Drops the core lock, then wakes the loop if an earlier deadline was armed.
    fn unlock_and_wake(&self, mut core: MutexGuard<'_, Core>) {
        let wake = std::mem::take(&mut core.wake_needed);
        drop(core);
        if wake {
            self.wake_loop();
        }
    }

    pub(crate) fn wake_loop(&self) {
        match &self.driver {
            Driver::Inline => {}
            Driver::Mio(waker) => {
                if let Err(e) = waker.wake() {
                    tracing::error!(error = %e, "scheduler: cannot wake the timer loop");
                }
            }
            #[cfg(test)]
            Driver::Doorbell(bell) => bell.ring(),
        }
    }

    pub(crate) fn schedule(
        &self,
        name: &str,
        schedule: Schedule,
        options: TaskOptions,
        f: TaskFn,
    ) -> Result<(), SchedulerError> {
        validate(name, &schedule)?;
        let mut core = self.core();
        if core.phase == Phase::Stopping {
            return Err(SchedulerError::Stopped);
        }
        // Replacing a name cancels the old incarnation in the same critical
        // section, so no tick of either can slip in between.
        if let Some(old) = core.tasks.remove(name) {
            if let Some(id) = old.timer {
                core.timers.cancel(id);
            }
        } else if core.tasks.len() >= self.config.tasks_count_max {
            return Err(SchedulerError::TooManyTasks {
                tasks_count_max: self.config.tasks_count_max,
            });
        }
        let name: StdArc<str> = StdArc::from(name);
        let generation = core.generation_next;
        core.generation_next += 1;
        let slot = TaskSlot {
            generation,
            body: StdArc::new(TaskBody {
                name: StdArc::clone(&name),
                f: Mutex::new(f),
            }),
            schedule,
            options,
            plan: Plan::Unarmed,
            timer: None,
            running: false,
            counters: Counters::default(),
        };
        core.tasks.insert(StdArc::clone(&name), slot);
        if core.phase == Phase::Started {
            let now = self.now();
            core.arm_first(&name, now, self.clock());
        }
        self.idle_cv.notify_all();
        self.unlock_and_wake(core);
        Ok(())
    }

    pub(crate) fn cancel(&self, name: &str) -> bool {
        let mut core = self.core();
        let Some(slot) = core.tasks.remove(name) else {
            return false;
        };
        if let Some(id) = slot.timer {
            core.timers.cancel(id);
        }
        drop(core);
        self.idle_cv.notify_all();
        true
    }

    pub(crate) fn cancel_all(&self) -> usize {
        let mut core = self.core();
        let count = core.tasks.len();
        core.tasks.clear();
        core.timers.clear();
        drop(core);
        self.idle_cv.notify_all();
        count
    }

    pub(crate) fn active_tasks(&self) -> Vec<String> {
        let core = self.core();
        let mut names: Vec<String> = core
            .tasks
            .values()
            .filter(|s| core.is_active(s))
            .map(|s| s.body.name.to_string())
            .collect();
        names.sort_unstable();
        names
    }

    pub(crate) fn jobs_queued(&self) -> usize {
        self.core().jobs_queued
    }

    pub(crate) fn stats(&self) -> Vec<TaskStats> {
        let core = self.core();
        let mut stats: Vec<TaskStats> = core
            .tasks
            .values()
            .map(|s| TaskStats {
                name: s.body.name.to_string(),
                priority: s.options.priority,
                runs: s.counters.runs,
                missed: s.counters.missed,
                errors: s.counters.errors,
                panics: s.counters.panics,
                lateness_last: s.counters.lateness_last,
                lateness_max: s.counters.lateness_max,
                duration_last: s.counters.duration_last,
                duration_max: s.counters.duration_max,
            })
            .collect();
        stats.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        stats
    }

    /// Moves from created to started and arms every registered task at `now`.
    pub(crate) fn start_core(&self) -> Result<(), SchedulerError> {
        let mut core = self.core();
        match core.phase {
            Phase::Created => {}
            Phase::Started => return Err(SchedulerError::AlreadyStarted),
            Phase::Stopping => return Err(SchedulerError::Stopped),
        }
        core.phase = Phase::Started;
        let now = self.now();
        let mut names: Vec<StdArc<str>> = core.tasks.keys().cloned().collect();
        // Deterministic arming order (ties on a deadline fire in arming order).
        names.sort_unstable();
        for name in &names {
            core.arm_first(name, now, self.clock());
        }
        core.wake_needed = false;
        core.loop_deadline = None;
        Ok(())
    }

    /// One turn of a loop thread: dispatches what is due at `now` (or within
    /// `dispatch_early` of it) to the pool and says until when to sleep: the
    /// next deadline less `dispatch_early`.
    pub(crate) fn dispatch_due(&self, now: MonoTime) -> Turn {
        let mut core = self.core();
        if core.phase == Phase::Stopping {
            return Turn::Stop;
        }
        let mut queued = 0_usize;
        let horizon = now + self.dispatch_early;
        for _ in 0..DUE_PER_TURN_MAX {
            let Some(expired) = core.timers.pop_due(horizon) else {
                break;
            };
            if let Some(job) = core.on_timer(expired, now, self.clock())
                && core.enqueue(job, now, &self.config)
            {
                queued += 1;
            }
        }
        if queued > 0 {
            core.last_dispatch_at = now;
        }
        let next = core.timers.peek_deadline();
        // The loop re-evaluates after it sleeps: this is the deadline it sleeps
        // until, and anything earlier armed from now on must wake it.
        core.loop_deadline = next;
        core.wake_needed = false;
        drop(core);
        match queued {
            0 => {}
            1 => self.work_cv.notify_one(),
            _ => self.work_cv.notify_all(),
        }
        Turn::Sleep(next.map(|d| {
            MonoTime::from_nanos(
                d.as_nanos().saturating_sub(
                    u64::try_from(self.dispatch_early.as_nanos()).unwrap_or(u64::MAX),
                ),
            )
        }))
    }

    /// Spins on the clock until `deadline` (at most `dispatch_early` away: the
    /// loop hands jobs over no earlier). Returns whether it had to wait.
    fn wait_for_deadline(&self, deadline: MonoTime) -> bool {
        let mut waited = false;
        // Bounded: the clock moves, and the job was popped at most
        // `dispatch_early` (<= DISPATCH_EARLY_MAX) before its deadline.
        while self.now() < deadline {
            waited = true;
            std::hint::spin_loop();
        }
        waited
    }

    /// Whether a job a worker took may start (not stopping, the task neither
    /// cancelled nor replaced): checked when it is popped and again after the
    /// wait for an early job's deadline. If not, the job is retired here.
    fn still_due(&self, core: &mut Core, job: Job) -> Option<Job> {
        let current = core
            .tasks
            .get(&job.body.name)
            .is_some_and(|slot| slot.generation == job.generation);
        if core.phase == Phase::Started && current {
            return Some(job);
        }
        if let Some(i) = core
            .running
            .iter()
            .position(|(n, g)| *n == job.body.name && *g == job.generation)
        {
            core.running.swap_remove(i);
        }
        core.job_dropped(job, None, &self.config);
        self.idle_cv.notify_all();
        None
    }

    /// The body of a worker thread: takes jobs, highest priority first, until the
    /// scheduler stops.
    pub(crate) fn worker_loop(&self) {
        let mut core = self.core();
        loop {
            if core.phase == Phase::Stopping {
                // `stop` emptied the lanes: nothing queued may start after it.
                return;
            }
            if let Some(job) = core.pop_job() {
                // A job of a task cancelled or replaced while it was queued
                // does not start.
                let Some(job) = self.still_due(&mut core, job) else {
                    continue;
                };
                drop(core);
                let job = if self.wait_for_deadline(job.deadline) {
                    // Handed over early: re-check under the lock that it may
                    // still start (a stop or cancel may have come meanwhile).
                    let mut core = self.core();
                    let job = self.still_due(&mut core, job);
                    drop(core);
                    job
                } else {
                    Some(job)
                };
                let Some(job) = job else {
                    core = self.core();
                    continue;
                };
                let outcome = self.execute(&job);
                core = self.core();
                core.complete(&job, &outcome);
                self.idle_cv.notify_all();
                let wake = std::mem::take(&mut core.wake_needed);
                if wake {
                    drop(core);
                    self.wake_loop();
                    core = self.core();
                }
                continue;
            }
            core = self
                .work_cv
                .wait(core)
                .unwrap_or_else(crate::sync::PoisonError::into_inner);
        }
    }

    /// Runs a job's runs back to back, catching errors and panics.
    fn execute(&self, job: &Job) -> Outcome {
        let name = &job.body.name;
        let mut outcome = Outcome {
            started_at: self.now(),
            last_ok: true,
            ..Outcome::default()
        };
        for _ in 0..job.runs {
            let run_start = self.now();
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut f = lock(&job.body.f);
                (*f)()
            }));
            let run_end = self.now();
            let duration = run_end.saturating_duration_since(run_start);
            outcome.runs += 1;
            outcome.duration_last = duration;
            outcome.duration_max = outcome.duration_max.max(duration);
            outcome.finished_at = run_end;
            outcome.last_ok = match result {
                Ok(Ok(())) => true,
                Ok(Err(message)) => {
                    outcome.errors += 1;
                    tracing::warn!(task = %name, error = %message, "scheduled task failed");
                    false
                }
                Err(payload) => {
                    outcome.panics += 1;
                    let message = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "non-string panic payload".to_owned());
                    tracing::error!(task = %name, panic = %message, "scheduled task panicked");
                    false
                }
            };
        }
        outcome
    }

    /// The clock reading of the last loop turn that queued a job.
    pub(crate) fn last_dispatch_at(&self) -> MonoTime {
        self.core().last_dispatch_at
    }

    /// The earliest armed deadline of a started scheduler (for the manual clock).
    pub(crate) fn next_deadline(&self) -> Option<MonoTime> {
        let core = self.core();
        if core.phase != Phase::Started {
            return None;
        }
        core.timers.peek_deadline()
    }

    /// Fires the earliest timer due at `now`, running its job on this thread.
    pub(crate) fn fire_one_inline(&self, now: MonoTime) {
        let mut core = self.core();
        if core.phase != Phase::Started {
            return;
        }
        let Some(expired) = core.timers.pop_due(now) else {
            return;
        };
        let Some(job) = core.on_timer(expired, now, self.clock()) else {
            return;
        };
        core.running
            .push((StdArc::clone(&job.body.name), job.generation));
        drop(core);
        let outcome = self.execute(&job);
        let mut core = self.core();
        core.complete(&job, &outcome);
        drop(core);
        self.idle_cv.notify_all();
    }

    /// Stops intake, drops queued jobs and every timer, wakes the workers, and
    /// waits up to `timeout` for running jobs. Returns the names of jobs still
    /// running, sorted.
    pub(crate) fn stop_core(&self, timeout: Duration) -> Vec<String> {
        let give_up_at = Instant::now().checked_add(timeout);
        let mut core = self.core();
        if core.phase != Phase::Stopping {
            core.phase = Phase::Stopping;
            core.timers.clear();
            for slot in core.tasks.values_mut() {
                slot.timer = None;
            }
            let lanes = std::mem::take(&mut core.lanes);
            core.jobs_queued = 0;
            for job in lanes.into_iter().flatten() {
                core.job_dropped(job, None, &self.config);
            }
        }
        drop(core);
        self.work_cv.notify_all();
        self.wake_loop();
        let mut core = self.core();
        while !core.running.is_empty() {
            let remaining = match give_up_at {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if remaining.is_zero() {
                break;
            }
            core = self
                .idle_cv
                .wait_timeout(core, remaining)
                .unwrap_or_else(crate::sync::PoisonError::into_inner)
                .0;
        }
        let mut names: Vec<String> = core.running.iter().map(|(n, _)| n.to_string()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Waits until no task is armed, queued or running, up to `timeout`.
    pub(crate) fn wait_for_completion(&self, timeout: Duration) -> bool {
        let give_up_at = Instant::now().checked_add(timeout);
        let mut core = self.core();
        loop {
            if core.is_quiescent() {
                return true;
            }
            if matches!(self.driver, Driver::Inline) {
                // Nothing but `ManualClock::advance` moves a manual scheduler.
                return false;
            }
            let remaining = match give_up_at {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if remaining.is_zero() {
                return false;
            }
            core = self
                .idle_cv
                .wait_timeout(core, remaining)
                .unwrap_or_else(crate::sync::PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn backoff_delays_grow_then_cap() {
        let s = Duration::from_secs;
        let delays: Vec<_> = (0..6).map(|n| backoff_delay(s(1), s(10), 2.0, n)).collect();
        assert_eq!(delays, [s(1), s(2), s(4), s(8), s(10), s(10)]);
    }
}
