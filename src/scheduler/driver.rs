//! The loop threads: the real one (mio + timerfd) and the doorbell loop of the loom
//! models. Both only call `Shared::dispatch_due` and sleep.

use std::io;
use std::num::NonZeroU64;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc as StdArc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};

use super::clock::MonoTime;
use super::state::{Shared, Turn};

const TOKEN_WAKER: Token = Token(0);
const TOKEN_TIMER: Token = Token(1);
/// Two sources are registered; one event each per poll.
const EVENTS_CAPACITY: usize = 4;
/// After a poll error other than EINTR (which would be a bug: a closed fd), the
/// loop waits this long before trying again, so it cannot spin.
const POLL_ERROR_BACKOFF: Duration = Duration::from_millis(10);
/// Timer slack of the loop thread: the kernel's minimum (1 ns).
const TIMER_SLACK_NANOS: u64 = 1;

/// The poll, its registered timerfd, and the waker other threads use.
#[derive(Debug)]
pub(crate) struct LoopResources {
    poll: Poll,
    timer_fd: OwnedFd,
}

/// Creates the poll with its waker and a non-blocking `CLOCK_MONOTONIC` timerfd.
pub(crate) fn loop_resources() -> io::Result<(LoopResources, Waker)> {
    let poll = Poll::new()?;
    let waker = Waker::new(poll.registry(), TOKEN_WAKER)?;
    let timer_fd = rustix::time::timerfd_create(
        TimerfdClockId::Monotonic,
        TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
    )?;
    poll.registry().register(
        &mut SourceFd(&timer_fd.as_raw_fd()),
        TOKEN_TIMER,
        Interest::READABLE,
    )?;
    Ok((LoopResources { poll, timer_fd }, waker))
}

fn timespec(nanos: u64) -> Timespec {
    const NANOS_PER_SEC: u64 = 1_000_000_000;
    Timespec {
        tv_sec: i64::try_from(nanos / NANOS_PER_SEC).unwrap_or(i64::MAX),
        // Below 10^9, so it fits every `tv_nsec` type.
        tv_nsec: (nanos % NANOS_PER_SEC) as _,
    }
}

/// Arms the timerfd for the absolute `CLOCK_MONOTONIC` deadline, or disarms it.
fn arm(timer_fd: &OwnedFd, deadline: Option<MonoTime>) -> io::Result<()> {
    // An all-zero `it_value` disarms; a real deadline is never 0 ns after boot,
    // but keep at least 1 ns so that "due at boot" still fires.
    let value = deadline.map_or(0, |d| d.as_nanos().max(1));
    let spec = Itimerspec {
        it_interval: timespec(0),
        it_value: timespec(value),
    };
    rustix::time::timerfd_settime(timer_fd, TimerfdTimerFlags::ABSTIME, &spec)?;
    Ok(())
}

/// Reads (and so clears) the timerfd's expiration count. Non-blocking: a spurious
/// readiness is fine.
fn drain(timer_fd: &OwnedFd) {
    let mut count = [0_u8; 8];
    match rustix::io::read(timer_fd, &mut count) {
        Ok(_) | Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {}
        Err(e) => tracing::error!(error = %e, "scheduler: reading the timerfd failed"),
    }
}

/// The real loop thread: dispatch what is due, arm the timerfd for the next
/// deadline, poll; until the scheduler stops.
pub(crate) fn run_timer_loop(shared: StdArc<Shared>, mut resources: LoopResources) {
    if let Err(e) = rustix::thread::set_current_timer_slack(NonZeroU64::new(TIMER_SLACK_NANOS)) {
        tracing::warn!(error = %e, "scheduler: cannot lower the loop thread's timer slack");
    }
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    // What the timerfd is armed for (None: disarmed or already expired).
    let mut armed: Option<MonoTime> = None;
    loop {
        let now = shared.now();
        let next = match shared.dispatch_due(now) {
            Turn::Stop => return,
            Turn::Sleep(next) => next,
        };
        if next != armed {
            if let Err(e) = arm(&resources.timer_fd, next) {
                tracing::error!(error = %e, "scheduler: arming the timerfd failed");
            }
            armed = next;
        }
        match resources.poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::error!(error = %e, "scheduler: poll failed");
                std::thread::sleep(POLL_ERROR_BACKOFF);
                continue;
            }
        }
        for event in events.iter() {
            if event.token() == TOKEN_TIMER {
                drain(&resources.timer_fd);
                // A one-shot timer is disarmed once it expired.
                armed = None;
            }
            // TOKEN_WAKER needs nothing: the wake-up itself is the message, and
            // the next turn re-reads the core.
        }
    }
}

#[cfg(test)]
/// The loop of the model tests: deadlines are ignored (time is manual and moves
/// only when a test rings the bell), everything else is the real protocol.
pub(crate) fn run_doorbell_loop(shared: StdArc<Shared>) {
    loop {
        let now = shared.now();
        match shared.dispatch_due(now) {
            Turn::Stop => return,
            Turn::Sleep(_) => match &shared.driver {
                super::state::Driver::Doorbell(bell) => bell.wait(),
                _ => unreachable!("the doorbell loop runs only with a doorbell driver"),
            },
        }
    }
}
