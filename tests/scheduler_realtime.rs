//! `SchedulerConfig::realtime_priority`: the scheduler starts and runs tasks
//! whether or not the process may use `SCHED_FIFO`; when it may (root with
//! `CAP_SYS_NICE`, as in CI), the loop thread runs under `SCHED_FIFO` at the
//! configured priority and the workers one lower; when it may not, they stay at
//! normal priority. A file of its own: it is the only scheduler of the process,
//! so the threads named `sched-*` are its threads. No timings are asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dhan_scalper::scheduler::{
    ManualClock, Scheduler, SchedulerConfig, SchedulerError, probe_realtime_priority,
};

const PRIORITY: u8 = 10;
const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;
/// How long the test waits for runs and thread start-up (generous: a loaded CI
/// machine; nothing is timed).
const PATIENCE: Duration = Duration::from_secs(20);
/// A bound on the /proc scan.
const TASKS_SCANNED_MAX: usize = 256;

/// (thread name, rt_priority, policy) of this process's threads named
/// `sched-*` (`/proc/self/task/<tid>/stat` fields 40 and 41).
fn sched_threads() -> Vec<(String, u32, u32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .take(TASKS_SCANNED_MAX)
    {
        let dir = task.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread exited meanwhile
        };
        let name = comm.trim().to_owned();
        if !name.starts_with("sched-") {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // After the parenthesised name the first field is field 3 (state).
        let rest = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields[n - 3].parse::<u32>().unwrap();
        out.push((name, field(40), field(41)));
    }
    out.sort();
    out
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn realtime_scheduler_runs_tasks_permitted_or_not_and_fifo_when_permitted() {
    let permitted = probe_realtime_priority(PRIORITY);
    let root = effective_uid() == Some(0);
    println!("euid 0: {root}; SCHED_FIFO {PRIORITY}: {permitted:?}");
    if root && permitted.is_err() {
        println!("root without CAP_SYS_NICE (a container?): checking the fallback only");
    }

    let scheduler = Scheduler::new(SchedulerConfig {
        workers_count: 2,
        realtime_priority: Some(PRIORITY),
        ..SchedulerConfig::default()
    })
    .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&runs);
    scheduler
        .schedule_recurring("rt-probe", Duration::from_millis(5), move || {
            // Relaxed: a counter read after the fact, ordering nothing else.
            counter.fetch_add(1, Ordering::Relaxed);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
    scheduler.start().unwrap();

    // The threads set their policy as they start: wait for the runs and for
    // every thread to settle (all three present, each with its final policy).
    let want = |name: &str| match (&permitted, name) {
        (Ok(()), "sched-loop") => (PRIORITY as u32, SCHED_FIFO),
        (Ok(()), _) => (PRIORITY as u32 - 1, SCHED_FIFO),
        (Err(_), _) => (0, SCHED_OTHER),
    };
    let started = Instant::now();
    let threads = loop {
        let threads = sched_threads();
        // Relaxed: see above.
        let settled = runs.load(Ordering::Relaxed) >= 3
            && threads.len() == 3
            && threads.iter().all(|(n, p, pol)| want(n) == (*p, *pol));
        if settled || started.elapsed() > PATIENCE {
            break threads;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let report = scheduler.stop(Duration::from_secs(5));
    assert!(report.still_running.is_empty(), "{report:?}");
    // Relaxed: see above; the workers were joined by `stop`.
    assert!(runs.load(Ordering::Relaxed) >= 3, "the task ran");

    let names: Vec<&str> = threads.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["sched-loop", "sched-worker-0", "sched-worker-1"]);
    for (name, rt_priority, policy) in &threads {
        assert_eq!(
            (*rt_priority, *policy),
            want(name),
            "{name}: (rt_priority, policy); permitted: {permitted:?}"
        );
    }
}

#[test]
fn realtime_priority_is_checked_and_ignored_on_a_manual_clock() {
    for bad in [0, 100] {
        let config = SchedulerConfig {
            realtime_priority: Some(bad),
            ..SchedulerConfig::default()
        };
        assert!(matches!(
            Scheduler::new(config),
            Err(SchedulerError::InvalidConfig(m)) if m.contains("realtime_priority must be 1 to 99")
        ));
    }
    // On a manual clock there are no threads: the option is accepted and has
    // nothing to act on; tasks run inline as always.
    let clock = ManualClock::new(std::time::UNIX_EPOCH + Duration::from_secs(1_767_290_400));
    let scheduler = Scheduler::with_manual_clock(
        SchedulerConfig {
            realtime_priority: Some(PRIORITY),
            ..SchedulerConfig::default()
        },
        &clock,
    )
    .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&runs);
    scheduler
        .schedule_recurring("inline", Duration::from_secs(1), move || {
            // Relaxed: the same thread reads it below.
            counter.fetch_add(1, Ordering::Relaxed);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
    scheduler.start().unwrap();
    clock.advance(Duration::from_secs(3));
    // Relaxed: see above.
    assert_eq!(runs.load(Ordering::Relaxed), 3);
}
