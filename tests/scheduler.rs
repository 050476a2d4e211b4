//! Scheduler tests: deterministic ones on the manual clock, and loose-bound ones on
//! the real clock (tight timing belongs in `benches/scheduler.rs`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dhan_scalper::scheduler::{
    Clock, DISPATCH_EARLY_MAX, IstTime, ManualClock, MissedTickPolicy, MonoTime, Priority,
    Schedule, Scheduler, SchedulerConfig, SchedulerError, TaskOptions, TaskStats,
};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
const fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}
fn at(d: Duration) -> MonoTime {
    MonoTime::from_nanos(d.as_nanos() as u64)
}
fn since_zero(t: MonoTime) -> Duration {
    Duration::from_nanos(t.as_nanos())
}

/// A log of (label, clock time) entries written by tasks.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, Duration)>>>);

impl Log {
    fn push(&self, label: &str, clock: &dyn Clock) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_owned(), since_zero(clock.now())));
    }
    fn entries(&self) -> Vec<(String, Duration)> {
        self.0.lock().unwrap().clone()
    }
    fn times(&self) -> Vec<Duration> {
        self.entries().into_iter().map(|(_, t)| t).collect()
    }
}

fn manual() -> (ManualClock, Scheduler) {
    let clock = ManualClock::at_unix_epoch();
    let scheduler = Scheduler::with_manual_clock(SchedulerConfig::default(), &clock).unwrap();
    (clock, scheduler)
}

/// A task body that logs `label` at the clock's time.
fn logger(
    log: &Log,
    clock: &ManualClock,
    label: &str,
) -> impl FnMut() -> Result<(), Infallible> + Send + 'static {
    let (log, clock, label) = (log.clone(), clock.clone(), label.to_owned());
    move || {
        log.push(&label, &clock);
        Ok(())
    }
}

fn stats_of(scheduler: &Scheduler, name: &str) -> TaskStats {
    scheduler
        .stats()
        .into_iter()
        .find(|t| t.name == name)
        .expect("task has stats")
}

// ---------------------------------------------------------------------------
// Deterministic, on the manual clock.
// ---------------------------------------------------------------------------

#[test]
fn fires_in_deadline_order_ties_in_arming_order() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    scheduler
        .schedule_once("a", s(3), logger(&log, &clock, "a"))
        .unwrap();
    scheduler
        .schedule_once("b", s(1), logger(&log, &clock, "b"))
        .unwrap();
    scheduler
        .schedule_recurring("c", s(2), logger(&log, &clock, "c"))
        .unwrap();
    scheduler
        .schedule_once("d", s(2), logger(&log, &clock, "d"))
        .unwrap();
    assert_eq!(scheduler.active_tasks(), ["a", "b", "c", "d"]);
    scheduler.start().unwrap();
    // After start, ties fire in the order they were scheduled.
    scheduler
        .schedule_at("z", at(s(4)), logger(&log, &clock, "z"))
        .unwrap();
    scheduler
        .schedule_at("y", at(s(4)), logger(&log, &clock, "y"))
        .unwrap();
    clock.advance(s(5));
    let expected: Vec<(String, Duration)> =
        // c's 4 s tick was armed when it fired at 2 s, after z and y.
        [("b", 1), ("c", 2), ("d", 2), ("a", 3), ("z", 4), ("y", 4), ("c", 4)]
            .into_iter()
            .map(|(l, t)| (l.to_owned(), s(t)))
            .collect();
    assert_eq!(log.entries(), expected);
    // Once tasks are gone after they ran; the recurring one stays.
    assert_eq!(scheduler.active_tasks(), ["c"]);
    assert_eq!(since_zero(clock.now()), s(5));
}

#[test]
fn fixed_rate_stays_anchored_over_10_000_ticks() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    let (task_log, task_clock) = (log.clone(), clock.clone());
    let every = ms(1);
    scheduler
        .schedule_recurring("risk", every, move || {
            task_log.push("risk", &task_clock);
            // Each run takes 300 us of the 1 ms period: lateness must not build up.
            task_clock.advance(Duration::from_micros(300));
            Ok::<(), Infallible>(())
        })
        .unwrap();
    clock.advance(ms(250)); // before start: nothing runs, the anchor is start
    let anchor = since_zero(clock.now());
    scheduler.start().unwrap();
    // Uneven steps, as a replay would take.
    while since_zero(clock.now()) < anchor + ms(10_000) {
        clock.advance(Duration::from_micros(7_919));
    }
    let times = log.times();
    assert!(times.len() >= 10_000, "{} runs", times.len());
    for (k, t) in times.iter().enumerate() {
        assert_eq!(*t, anchor + every * (k as u32 + 1), "run {k}");
    }
    let st = stats_of(&scheduler, "risk");
    assert_eq!((st.missed, st.lateness_max), (0, Duration::ZERO));
    assert_eq!(st.duration_max, Duration::from_micros(300));
}

/// One task every second, the loop stalled for 3.5 s, then driven to 6 s.
fn run_policy(policy: MissedTickPolicy) -> (Vec<Duration>, TaskStats) {
    let (clock, scheduler) = manual();
    let log = Log::default();
    let options = TaskOptions::priority(Priority::Risk).missed(policy);
    scheduler
        .schedule(
            "t",
            Schedule::Recurring { every: s(1) },
            options,
            logger(&log, &clock, "t"),
        )
        .unwrap();
    scheduler.start().unwrap();
    clock.stall(ms(3_500));
    clock.advance(ms(2_500));
    (log.times(), stats_of(&scheduler, "t"))
}

#[test]
fn missed_tick_policy_skip_runs_once_and_keeps_the_grid() {
    let (times, st) = run_policy(MissedTickPolicy::Skip);
    assert_eq!(times, [ms(3_500), s(4), s(5), s(6)]);
    assert_eq!((st.runs, st.missed), (4, 2));
    assert_eq!(st.lateness_max, ms(2_500));
    assert_eq!(st.lateness_last, Duration::ZERO);
}

#[test]
fn missed_tick_policy_burst_runs_the_missed_ticks_up_to_a_bound() {
    let (times, st) = run_policy(MissedTickPolicy::Burst { runs_max: 2 });
    assert_eq!(times, [ms(3_500), ms(3_500), s(4), s(5), s(6)]);
    assert_eq!((st.runs, st.missed), (5, 1));
    let (times, st) = run_policy(MissedTickPolicy::Burst { runs_max: 10 });
    assert_eq!(times, [ms(3_500), ms(3_500), ms(3_500), s(4), s(5), s(6)]);
    assert_eq!((st.runs, st.missed), (6, 0));
}

#[test]
fn missed_tick_policy_delay_reanchors_at_now() {
    let (times, st) = run_policy(MissedTickPolicy::Delay);
    assert_eq!(times, [ms(3_500), ms(4_500), ms(5_500)]);
    assert_eq!((st.runs, st.missed), (3, 2));
}

#[test]
fn a_task_never_overlaps_itself() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    let (task_log, task_clock) = (log.clone(), clock.clone());
    let mut first = true;
    scheduler
        .schedule_recurring("slow", s(1), move || {
            task_log.push("slow", &task_clock);
            if std::mem::take(&mut first) {
                // The first run takes 2.5 s: the ticks at 2 s and 3 s find it running.
                task_clock.advance(ms(2_500));
            }
            Ok::<(), Infallible>(())
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(s(5));
    assert_eq!(log.times(), [s(1), s(4), s(5)]);
    let st = stats_of(&scheduler, "slow");
    assert_eq!((st.runs, st.missed), (3, 2));
    assert_eq!(st.duration_max, ms(2_500));
}

#[test]
fn scheduling_a_name_again_replaces_the_task() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    scheduler.start().unwrap();
    scheduler
        .schedule_recurring("x", s(1), logger(&log, &clock, "old"))
        .unwrap();
    clock.advance(ms(1_500));
    scheduler
        .schedule_recurring("x", s(1), logger(&log, &clock, "new"))
        .unwrap();
    clock.advance(ms(2_500));
    let expected: Vec<(String, Duration)> = vec![
        ("old".into(), s(1)),
        ("new".into(), ms(2_500)),
        ("new".into(), ms(3_500)),
    ];
    assert_eq!(log.entries(), expected);
    assert_eq!(scheduler.active_tasks(), ["x"]);
    assert_eq!(stats_of(&scheduler, "x").runs, 2);
}

#[test]
fn cancel_or_replace_while_the_task_is_running() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    let handle = scheduler.handle();
    let (task_log, task_clock) = (log.clone(), clock.clone());
    scheduler
        .schedule_recurring("self-cancel", s(1), move || {
            task_log.push("self-cancel", &task_clock);
            assert!(handle.cancel("self-cancel"));
            Ok::<(), Infallible>(())
        })
        .unwrap();
    let handle = scheduler.handle();
    let (task_log, task_clock) = (log.clone(), clock.clone());
    let replacement = logger(&log, &clock, "replacement");
    let mut replacement = Some(replacement);
    scheduler
        .schedule_recurring("self-replace", s(1), move || {
            task_log.push("self-replace", &task_clock);
            if let Some(f) = replacement.take() {
                handle.schedule_recurring("self-replace", s(2), f).unwrap();
            }
            Ok::<(), Infallible>(())
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(s(5));
    let expected: Vec<(String, Duration)> = vec![
        ("self-cancel".into(), s(1)),
        ("self-replace".into(), s(1)),
        ("replacement".into(), s(3)),
        ("replacement".into(), s(5)),
    ];
    assert_eq!(log.entries(), expected);
    assert_eq!(scheduler.active_tasks(), ["self-replace"]);
    // The old incarnation's completion did not touch the new one's stats.
    assert_eq!(stats_of(&scheduler, "self-replace").runs, 2);
    assert_eq!(scheduler.cancel_all(), 1);
    assert!(scheduler.active_tasks().is_empty());
}

#[test]
fn daily_fires_at_ist_time_across_the_day_boundary() {
    // 2026-01-01T18:00:00Z is 23:30 IST.
    let epoch = UNIX_EPOCH + s(1_767_290_400);
    let clock = ManualClock::new(epoch);
    let scheduler = Scheduler::with_manual_clock(SchedulerConfig::default(), &clock).unwrap();
    let fired: Arc<Mutex<Vec<SystemTime>>> = Arc::default();
    let (task_fired, task_clock) = (Arc::clone(&fired), clock.clone());
    scheduler
        .schedule_daily("eod", IstTime::new(0, 15, 0).unwrap(), move || {
            task_fired.lock().unwrap().push(task_clock.wall_now());
            Ok::<(), Infallible>(())
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(s(2 * 86_400));
    let fired = fired.lock().unwrap().clone();
    // 00:15 IST on Jan 2 and Jan 3 (18:45 UTC the previous day).
    assert_eq!(fired, [epoch + s(45 * 60), epoch + s(45 * 60 + 86_400)]);
    for t in fired {
        let ist_secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs() + 19_800;
        assert_eq!(ist_secs % 86_400, 15 * 60);
    }
}

#[test]
fn backoff_grows_on_failure_and_resets_after_success() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    let (task_log, task_clock) = (log.clone(), clock.clone());
    // Fail five times, succeed once, then fail again.
    let mut outcomes = [false, false, false, false, false, true, false, false].into_iter();
    scheduler
        .schedule_with_backoff("reconnect", s(1), s(10), 2.0, move || {
            task_log.push("reconnect", &task_clock);
            if outcomes.next().unwrap_or(true) {
                Ok(())
            } else {
                Err("feed down")
            }
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(s(40));
    // Delays after each run: 2, 4, 8, 10 (capped), 10, then 1 after the success, 2.
    let expected: Vec<Duration> = [1, 3, 7, 15, 25, 35, 36, 38].into_iter().map(s).collect();
    assert_eq!(log.times(), expected);
    assert_eq!(stats_of(&scheduler, "reconnect").errors, 7);
}

#[test]
fn errors_and_panics_are_counted_and_the_task_stays_scheduled() {
    let (clock, scheduler) = manual();
    let mut n = 0_u32;
    scheduler
        .schedule_recurring("flaky", s(1), move || {
            n += 1;
            match n % 3 {
                0 => panic!("boom {n}"),
                1 => Err(format!("failure {n}")),
                _ => Ok(()),
            }
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(s(6));
    let st = stats_of(&scheduler, "flaky");
    assert_eq!((st.runs, st.errors, st.panics), (6, 2, 2));
    assert_eq!(scheduler.active_tasks(), ["flaky"]);
}

#[test]
fn invalid_calls_are_refused() {
    let (_clock, scheduler) = manual();
    let ok = || Ok::<(), Infallible>(());
    assert!(matches!(
        scheduler.schedule_recurring("", s(1), ok),
        Err(SchedulerError::InvalidName { .. })
    ));
    assert!(matches!(
        scheduler.schedule_recurring("zero", Duration::ZERO, ok),
        Err(SchedulerError::InvalidSchedule { .. })
    ));
    assert!(matches!(
        scheduler.schedule_with_backoff("b", s(2), s(1), 2.0, ok),
        Err(SchedulerError::InvalidSchedule { .. })
    ));
    let config = SchedulerConfig {
        tasks_count_max: 1,
        ..SchedulerConfig::default()
    };
    let clock = ManualClock::at_unix_epoch();
    let small = Scheduler::with_manual_clock(config, &clock).unwrap();
    small.schedule_once("one", s(1), ok).unwrap();
    small.schedule_once("one", s(2), ok).unwrap(); // replacing is not adding
    assert!(matches!(
        small.schedule_once("two", s(1), ok),
        Err(SchedulerError::TooManyTasks { .. })
    ));
    small.start().unwrap();
    assert!(matches!(small.start(), Err(SchedulerError::AlreadyStarted)));
    assert!(small.stop(Duration::ZERO).still_running.is_empty());
    assert!(matches!(
        small.schedule_once("one", s(1), ok),
        Err(SchedulerError::Stopped)
    ));
    let bad = SchedulerConfig {
        workers_count: 0,
        ..SchedulerConfig::default()
    };
    assert!(matches!(
        Scheduler::new(bad),
        Err(SchedulerError::InvalidConfig(_))
    ));
    let bad = SchedulerConfig {
        dispatch_early: DISPATCH_EARLY_MAX + Duration::from_nanos(1),
        ..SchedulerConfig::default()
    };
    assert!(matches!(
        Scheduler::new(bad),
        Err(SchedulerError::InvalidConfig(_))
    ));
}

#[test]
fn fast_replay_jumps_from_event_to_event_and_stats_are_snapshots() {
    let (clock, scheduler) = manual();
    let log = Log::default();
    scheduler
        .schedule_recurring("poll", ms(700), logger(&log, &clock, "poll"))
        .unwrap();
    scheduler
        .schedule_once("flatten", ms(1_000), logger(&log, &clock, "flatten"))
        .unwrap();
    // Not started: nothing is armed yet.
    assert_eq!(clock.next_deadline(), None);
    assert_eq!(clock.advance_to_next(), None);
    scheduler.start().unwrap();
    assert_eq!(clock.next_deadline(), Some(at(ms(700))));
    // Replay: jump to each event time in turn, no waiting in between.
    let visited: Vec<Duration> = (0..4)
        .map(|_| since_zero(clock.advance_to_next().unwrap()))
        .collect();
    assert_eq!(visited, [ms(700), ms(1_000), ms(1_400), ms(2_100)]);
    // A recorded market event at 2.5 s: what falls due on the way fires first.
    clock.advance_to(at(ms(2_500)));
    assert_eq!(since_zero(clock.now()), ms(2_500));
    // Going back is a no-op.
    clock.advance_to(at(ms(1)));
    assert_eq!(since_zero(clock.now()), ms(2_500));
    let expected: Vec<(String, Duration)> = [
        ("poll", 700),
        ("flatten", 1_000),
        ("poll", 1_400),
        ("poll", 2_100),
    ]
    .into_iter()
    .map(|(l, t)| (l.to_owned(), ms(t)))
    .collect();
    assert_eq!(log.entries(), expected);
    // The session summary reads a snapshot: later runs do not change it.
    let snapshot = scheduler.stats();
    assert_eq!(snapshot.len(), 1, "the once task is gone after its run");
    assert_eq!((snapshot[0].name.as_str(), snapshot[0].runs), ("poll", 3));
    assert_eq!(snapshot[0].lateness_max, Duration::ZERO);
    clock.advance_to_next();
    assert_eq!(snapshot[0].runs, 3);
    assert_eq!(stats_of(&scheduler, "poll").runs, 4);
}

// ---------------------------------------------------------------------------
// On the real clock: loose bounds only.
// ---------------------------------------------------------------------------

/// Polls `cond` every millisecond for up to 10 s (a loaded CI machine is slow).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let give_up = Instant::now() + s(10);
    while Instant::now() < give_up {
        if cond() {
            return true;
        }
        std::thread::sleep(ms(1));
    }
    false
}

fn real(workers_count: usize) -> Scheduler {
    Scheduler::new(SchedulerConfig {
        workers_count,
        ..SchedulerConfig::default()
    })
    .unwrap()
}

#[test]
fn real_clock_recurring_runs_and_stops_cleanly() {
    let scheduler = real(2);
    scheduler
        .schedule_recurring("fast", ms(2), || Ok::<(), Infallible>(()))
        .unwrap();
    scheduler.start().unwrap();
    assert!(eventually(|| stats_of(&scheduler, "fast").runs >= 10));
    // A task scheduled after start with an earlier deadline wakes the loop.
    let done = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&done);
    scheduler
        .schedule_once("soon", Duration::ZERO, move || {
            *flag.lock().unwrap() = true;
            Ok::<(), Infallible>(())
        })
        .unwrap();
    assert!(eventually(|| *done.lock().unwrap()));
    let report = scheduler.stop(s(5));
    assert!(report.still_running.is_empty());
    assert!(scheduler.active_tasks().is_empty());
    assert!(matches!(
        scheduler.schedule_once("late", s(1), || Ok::<(), Infallible>(())),
        Err(SchedulerError::Stopped)
    ));
}

#[test]
fn real_clock_panics_are_isolated_and_slow_tasks_delay_no_other() {
    let scheduler = real(2);
    scheduler
        .schedule_recurring("panicky", ms(5), || -> Result<(), Infallible> {
            panic!("boom")
        })
        .unwrap();
    scheduler
        .schedule_recurring("slow", ms(5), || {
            std::thread::sleep(ms(100));
            Ok::<(), Infallible>(())
        })
        .unwrap();
    scheduler
        .schedule_recurring("steady", ms(5), || Ok::<(), Infallible>(()))
        .unwrap();
    scheduler.start().unwrap();
    assert!(eventually(|| {
        let slow = stats_of(&scheduler, "slow");
        let steady = stats_of(&scheduler, "steady");
        let panicky = stats_of(&scheduler, "panicky");
        slow.runs >= 2 && slow.missed >= 5 && steady.runs >= 20 && panicky.panics >= 3
    }));
    assert_eq!(scheduler.active_tasks(), ["panicky", "slow", "steady"]);
    assert!(scheduler.stop(s(5)).still_running.is_empty());
}

#[test]
fn real_clock_priorities_order_the_queue_when_saturated() {
    let scheduler = real(1);
    let (release_tx, release_rx) = crossbeam::channel::bounded::<()>(1);
    scheduler
        .schedule_once("blocker", Duration::ZERO, move || {
            release_rx.recv_timeout(s(10)).ok();
            Ok::<(), Infallible>(())
        })
        .unwrap();
    let order: Arc<Mutex<Vec<Priority>>> = Arc::default();
    let due = ms(20);
    for priority in [
        Priority::Status,
        Priority::Trading,
        Priority::MarketData,
        Priority::Risk,
    ] {
        let order = Arc::clone(&order);
        scheduler
            .schedule(
                &format!("{priority:?}"),
                Schedule::Once { after: due },
                TaskOptions::priority(priority),
                move || {
                    order.lock().unwrap().push(priority);
                    Ok::<(), Infallible>(())
                },
            )
            .unwrap();
    }
    scheduler.start().unwrap();
    assert!(eventually(|| scheduler.jobs_queued() == 4));
    release_tx.send(()).unwrap();
    assert!(scheduler.wait_for_completion(s(10)));
    assert_eq!(
        *order.lock().unwrap(),
        [
            Priority::Risk,
            Priority::MarketData,
            Priority::Trading,
            Priority::Status
        ]
    );
    assert!(scheduler.stop(s(5)).still_running.is_empty());
}

#[test]
fn real_clock_stop_with_a_stuck_task_times_out_and_names_it() {
    let scheduler = real(2);
    let (release_tx, release_rx) = crossbeam::channel::bounded::<()>(1);
    let (started_tx, started_rx) = crossbeam::channel::bounded::<()>(1);
    scheduler
        .schedule_once("stuck", Duration::ZERO, move || {
            started_tx.send(()).ok();
            release_rx.recv_timeout(s(30)).ok();
            Ok::<(), Infallible>(())
        })
        .unwrap();
    scheduler
        .schedule_recurring("fine", s(60), || Ok::<(), Infallible>(()))
        .unwrap();
    scheduler.start().unwrap();
    started_rx.recv_timeout(s(10)).unwrap();
    let before = Instant::now();
    let report = scheduler.stop(ms(100));
    let took = before.elapsed();
    assert_eq!(report.still_running, ["stuck"]);
    assert!(took >= ms(100) && took < s(5), "stop took {took:?}");
    release_tx.send(()).unwrap();
}

#[test]
fn real_clock_wait_for_completion() {
    let scheduler = real(1);
    scheduler
        .schedule_once("once", ms(5), || Ok::<(), Infallible>(()))
        .unwrap();
    scheduler.start().unwrap();
    assert!(scheduler.wait_for_completion(s(10)));
    assert!(scheduler.active_tasks().is_empty());
    scheduler
        .schedule_recurring("forever", s(60), || Ok::<(), Infallible>(()))
        .unwrap();
    assert!(!scheduler.wait_for_completion(ms(20)));
    assert!(scheduler.cancel("forever"));
    assert!(scheduler.wait_for_completion(s(10)));
    assert!(scheduler.stop(s(5)).still_running.is_empty());
}

#[test]
fn real_clock_early_hand_off_never_starts_a_task_before_its_deadline() {
    // The loop hands jobs to the workers up to `dispatch_early` before their
    // deadline; the worker must wait out the rest.
    let scheduler = Scheduler::new(SchedulerConfig {
        workers_count: 2,
        dispatch_early: DISPATCH_EARLY_MAX,
        ..SchedulerConfig::default()
    })
    .unwrap();
    scheduler.start().unwrap();
    let clock = dhan_scalper::scheduler::MonotonicClock::new();
    let (tx, rx) = crossbeam::channel::bounded::<(MonoTime, MonoTime)>(64);
    let base = scheduler.now() + ms(20);
    let deadlines: Vec<MonoTime> = (0..40_u32)
        .map(|i| base + Duration::from_micros(u64::from(i) * 1_337))
        .collect();
    for (i, &deadline) in deadlines.iter().enumerate() {
        let tx = tx.clone();
        let clock = dhan_scalper::scheduler::MonotonicClock::new();
        scheduler
            .schedule_at(&format!("at-{i}"), deadline, move || {
                tx.send((deadline, clock.now())).ok();
                Ok::<(), Infallible>(())
            })
            .unwrap();
    }
    // A task cancelled while its deadline is far away never runs.
    let cancelled_ran = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&cancelled_ran);
    scheduler
        .schedule_at("cancelled", base + ms(200), move || {
            *flag.lock().unwrap() = true;
            Ok::<(), Infallible>(())
        })
        .unwrap();
    assert!(scheduler.cancel("cancelled"));
    assert!(scheduler.wait_for_completion(s(10)));
    let mut seen = 0;
    while let Ok((deadline, started)) = rx.try_recv() {
        assert!(
            started >= deadline,
            "started {started:?} before {deadline:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, deadlines.len());
    assert!(clock.now() >= *deadlines.last().unwrap());
    assert!(!*cancelled_ran.lock().unwrap(), "a cancelled task ran");
    assert!(scheduler.stop(s(5)).still_running.is_empty());
}
