//! Models of the scheduler's own synchronization: the wake-up of the loop, the
//! hand-off to the workers, stop and cancel. Each test is written once through
//! `sync::model`: a plain threaded run normally, every interleaving under loom
//! (`RUSTFLAGS="--cfg loom" cargo test --release --lib -- loom_`).
//!
//! The scheduler runs threaded on a manual clock with a doorbell loop instead of
//! mio (loom cannot see into epoll); the core, the workers and the stop protocol
//! are the production code.

use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use super::{ManualClock, Scheduler, SchedulerConfig, SchedulerError};
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{Arc, model, thread};

/// Long enough never to expire in a model (loom's condvar never times out).
const PATIENCE: Duration = Duration::from_secs(3600);

fn config() -> SchedulerConfig {
    // One worker keeps the model within loom's thread budget.
    SchedulerConfig {
        workers_count: 1,
        jobs_queued_max: 2,
        tasks_count_max: 4,
        ..SchedulerConfig::default()
    }
}

fn scheduler() -> Scheduler {
    Scheduler::with_doorbell(config(), &ManualClock::new(UNIX_EPOCH))
}

/// A task scheduled after `start` is due at once: the loop must be woken, and a
/// worker must run it exactly once.
#[test]
fn loom_schedule_after_start_wakes_the_loop() {
    model(|| {
        let scheduler = scheduler();
        scheduler.start().unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        scheduler
            .schedule_once("tick", Duration::ZERO, move || {
                // Relaxed: the count is read after `stop` joined the worker, which
                // orders it.
                counter.fetch_add(1, Ordering::Relaxed);
                Ok::<(), Infallible>(())
            })
            .unwrap();
        assert!(
            scheduler.wait_for_completion(PATIENCE),
            "a wake-up was lost"
        );
        let report = scheduler.stop(PATIENCE);
        assert!(report.still_running.is_empty());
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

/// `stop` races a `schedule` from another thread: either the task is refused, or
/// it runs (or is dropped) before `stop` returns; it never starts afterwards.
#[test]
fn loom_no_task_starts_after_stop_returns() {
    model(|| {
        let scheduler = scheduler();
        scheduler.start().unwrap();
        let stop_returned = Arc::new(AtomicBool::new(false));
        let late_start = Arc::new(AtomicBool::new(false));
        let handle = scheduler.handle();
        let (returned, late) = (Arc::clone(&stop_returned), Arc::clone(&late_start));
        let producer = thread::spawn(move || {
            let result = handle.schedule_once("tick", Duration::ZERO, move || {
                // SeqCst pairs with the SeqCst store after `stop`: a run that
                // starts after `stop` returned must see the flag.
                if returned.load(Ordering::SeqCst) {
                    late.store(true, Ordering::SeqCst);
                }
                Ok::<(), Infallible>(())
            });
            assert!(matches!(result, Ok(()) | Err(SchedulerError::Stopped)));
        });
        let report = scheduler.stop(PATIENCE);
        // SeqCst: see the load in the task.
        stop_returned.store(true, Ordering::SeqCst);
        assert!(report.still_running.is_empty());
        producer.join().unwrap();
        // SeqCst: read after the producer joined; any late run has stored by now
        // only if it started (nothing can start: the workers were joined).
        assert!(
            !late_start.load(Ordering::SeqCst),
            "a task started after stop returned"
        );
        assert!(scheduler.active_tasks().is_empty());
    });
}

/// `cancel` races the dispatch of a due task: it runs at most once, and nothing
/// is left active.
#[test]
fn loom_cancel_races_dispatch() {
    model(|| {
        let scheduler = scheduler();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        scheduler
            .schedule_once("tick", Duration::ZERO, move || {
                // Relaxed: read after `stop` joined the worker.
                counter.fetch_add(1, Ordering::Relaxed);
                Ok::<(), Infallible>(())
            })
            .unwrap();
        scheduler.start().unwrap();
        let cancelled = scheduler.cancel("tick");
        assert!(scheduler.wait_for_completion(PATIENCE));
        assert!(scheduler.active_tasks().is_empty());
        let report = scheduler.stop(PATIENCE);
        assert!(report.still_running.is_empty());
        let runs = runs.load(Ordering::Relaxed);
        assert!(runs <= 1);
        // If the cancel found nothing, the task had already completed.
        if !cancelled {
            assert_eq!(runs, 1);
        }
    });
}

/// `start` races a `schedule` from another thread: whichever comes first, the
/// task is armed exactly once and runs exactly once.
#[test]
fn loom_start_races_schedule() {
    model(|| {
        let scheduler = scheduler();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let handle = scheduler.handle();
        let producer = thread::spawn(move || {
            handle
                .schedule_once("tick", Duration::ZERO, move || {
                    // Relaxed: read after `stop` joined the worker.
                    counter.fetch_add(1, Ordering::Relaxed);
                    Ok::<(), Infallible>(())
                })
                .unwrap();
        });
        scheduler.start().unwrap();
        producer.join().unwrap();
        assert!(
            scheduler.wait_for_completion(PATIENCE),
            "a wake-up was lost"
        );
        assert!(scheduler.stop(PATIENCE).still_running.is_empty());
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

/// A task schedules another from its worker: the worker's wake-up of the loop
/// (after it unlocks the core) must not be lost, and the second task runs once.
#[test]
fn loom_schedule_from_a_worker_wakes_the_loop() {
    model(|| {
        let scheduler = scheduler();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let handle = scheduler.handle();
        let mut chained = false;
        scheduler
            .schedule_once("first", Duration::ZERO, move || {
                if !std::mem::replace(&mut chained, true) {
                    let counter = Arc::clone(&counter);
                    handle
                        .schedule_once("second", Duration::ZERO, move || {
                            // Relaxed: read after `stop` joined the worker.
                            counter.fetch_add(1, Ordering::Relaxed);
                            Ok::<(), Infallible>(())
                        })
                        .unwrap();
                }
                Ok::<(), Infallible>(())
            })
            .unwrap();
        scheduler.start().unwrap();
        assert!(
            scheduler.wait_for_completion(PATIENCE),
            "a wake-up was lost"
        );
        assert!(scheduler.stop(PATIENCE).still_running.is_empty());
        assert_eq!(runs.load(Ordering::Relaxed), 1);
    });
}

/// `cancel` from another thread races `stop` while the task may be queued or
/// running: both return, nothing is left running, and the task ran at most once
/// and never after `stop` returned.
#[test]
fn loom_cancel_races_stop() {
    model(|| {
        let scheduler = scheduler();
        let runs = Arc::new(AtomicUsize::new(0));
        let stop_returned = Arc::new(AtomicBool::new(false));
        let late_start = Arc::new(AtomicBool::new(false));
        let (counter, returned, late) = (
            Arc::clone(&runs),
            Arc::clone(&stop_returned),
            Arc::clone(&late_start),
        );
        scheduler
            .schedule_once("tick", Duration::ZERO, move || {
                // SeqCst pairs with the store after `stop` returned.
                if returned.load(Ordering::SeqCst) {
                    late.store(true, Ordering::SeqCst);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<(), Infallible>(())
            })
            .unwrap();
        scheduler.start().unwrap();
        let handle = scheduler.handle();
        let canceller = thread::spawn(move || {
            handle.cancel("tick");
        });
        let report = scheduler.stop(PATIENCE);
        // SeqCst: see the load in the task.
        stop_returned.store(true, Ordering::SeqCst);
        canceller.join().unwrap();
        assert!(report.still_running.is_empty());
        assert!(
            !late_start.load(Ordering::SeqCst),
            "ran after stop returned"
        );
        assert!(runs.load(Ordering::SeqCst) <= 1);
        assert!(scheduler.active_tasks().is_empty());
    });
}
