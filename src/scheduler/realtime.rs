//! Opt-in real-time priority for the scheduler's threads
//! ([`SchedulerConfig::realtime_priority`](super::SchedulerConfig::realtime_priority)).
//!
//! Each thread puts itself under `SCHED_FIFO` when it starts (through the
//! `thread-priority` crate: `pthread_setschedparam`; the crate forbids `unsafe`).
//! The loop thread takes the configured priority; the workers take one less
//! (at least 1), so the loop preempts a worker that runs a long task on its core
//! and the dispatch of the other tasks is not held up behind it. Workers must run
//! under FIFO too: they start the task bodies, and a worker at normal priority
//! waits for a CPU behind every normal thread of the machine (the tail the option
//! exists to remove). The kernel's real-time throttling
//! (`/proc/sys/kernel/sched_rt_runtime_us`, 95% by default) keeps a runaway task
//! from freezing the machine.
//!
//! Without the right (`CAP_SYS_NICE`, or an `RLIMIT_RTPRIO` at least the
//! priority) the call fails with `EPERM`: the thread stays at normal priority and
//! the loop thread logs one warning saying how to allow it.

use std::fmt;

use thread_priority::{
    RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
};

/// The lowest `SCHED_FIFO` priority.
pub const REALTIME_PRIORITY_MIN: u8 = 1;
/// The highest `SCHED_FIFO` priority.
pub const REALTIME_PRIORITY_MAX: u8 = 99;

/// Why a thread could not be put under `SCHED_FIFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealtimeError {
    /// The priority asked for.
    pub priority: u8,
    /// What failed (the OS error, or the priority's range).
    pub reason: String,
}

impl fmt::Display for RealtimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot set SCHED_FIFO priority {}: {}; to allow it run as root, or give the binary the \
             capability (`sudo setcap cap_sys_nice+ep <binary>`), or raise RLIMIT_RTPRIO to at least \
             {} (systemd `LimitRTPRIO={}`, or `CPUSchedulingPolicy=fifo` with \
             `CPUSchedulingPriority={}`; `rtprio` in /etc/security/limits.conf); in a container add \
             CAP_SYS_NICE",
            self.priority, self.reason, self.priority, self.priority, self.priority
        )
    }
}

impl std::error::Error for RealtimeError {}

/// The priority the worker threads take when the loop thread takes `loop_priority`.
pub fn worker_priority(loop_priority: u8) -> u8 {
    loop_priority.saturating_sub(1).max(REALTIME_PRIORITY_MIN)
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1..=99). Threads
/// it spawns afterwards inherit the policy.
pub fn set_current_thread_fifo(priority: u8) -> Result<(), RealtimeError> {
    let error = |reason: String| RealtimeError { priority, reason };
    if !(REALTIME_PRIORITY_MIN..=REALTIME_PRIORITY_MAX).contains(&priority) {
        return Err(error(format!(
            "the priority must be {REALTIME_PRIORITY_MIN} to {REALTIME_PRIORITY_MAX}"
        )));
    }
    let value = ThreadPriorityValue::try_from(priority).map_err(error)?;
    thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| {
        error(match e {
            // `pthread_setschedparam` returns the errno value itself.
            thread_priority::Error::OS(code) => std::io::Error::from_raw_os_error(code).to_string(),
            other => format!("{other:?}"),
        })
    })
}

/// Whether this process may put a thread under `SCHED_FIFO` at `priority`: tries
/// it on a short-lived thread of its own (the caller's thread is unchanged).
pub fn probe_realtime_priority(priority: u8) -> Result<(), RealtimeError> {
    std::thread::Builder::new()
        .name("sched-rt-probe".into())
        .spawn(move || set_current_thread_fifo(priority))
        .map_err(|e| RealtimeError {
            priority,
            reason: format!("cannot spawn the probe thread: {e}"),
        })?
        .join()
        .unwrap_or_else(|_| {
            Err(RealtimeError {
                priority,
                reason: "the probe thread panicked".into(),
            })
        })
}

/// Applies the loop thread's priority, if configured; on failure logs the one
/// warning (the workers fail for the same reason and stay quiet).
pub(crate) fn apply_loop(priority: Option<u8>) {
    if let Some(p) = priority
        && let Err(e) = set_current_thread_fifo(p)
    {
        tracing::warn!("scheduler: {e}; running at normal priority");
    }
}

/// Applies a worker thread's priority (one below the loop's), if configured.
pub(crate) fn apply_worker(loop_priority: Option<u8>) {
    if let Some(p) = loop_priority
        && let Err(e) = set_current_thread_fifo(worker_priority(p))
    {
        tracing::debug!("scheduler worker: {e}");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn workers_sit_one_below_the_loop_but_never_below_one() {
        assert_eq!(worker_priority(10), 9);
        assert_eq!(worker_priority(2), 1);
        assert_eq!(worker_priority(1), 1);
        assert_eq!(worker_priority(99), 98);
    }

    #[test]
    fn out_of_range_priorities_are_refused_without_a_system_call() {
        for p in [0, 100, 255] {
            let e = set_current_thread_fifo(p).unwrap_err();
            assert!(e.reason.contains("1 to 99"), "{e}");
            assert!(e.to_string().contains("setcap cap_sys_nice+ep"), "{e}");
        }
    }

    #[test]
    fn the_probe_leaves_the_calling_thread_alone() {
        let before = thread_priority::thread_schedule_policy().unwrap();
        // Permitted or not, it answers, and this thread's policy is unchanged.
        let _ = probe_realtime_priority(1);
        assert_eq!(thread_priority::thread_schedule_policy().unwrap(), before);
    }
}
