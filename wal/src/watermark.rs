//! The durable watermark and its waiters.
//!
//! # Synchronization
//!
//! Only the writer thread advances the watermark ([`Watermark::advance`]); any
//! thread may wait on it, and any thread may poison it. The protocol that makes a
//! lost wake-up impossible:
//!
//! - the writer stores the new watermark *under* the waiter lock, then takes
//!   every waiter at or below it out of the map and wakes each one after
//!   unlocking;
//! - a waiter re-reads the watermark *under* the waiter lock before it registers.
//!
//! So either the waiter's read sees the new value, or its registration is in the
//! map before the writer takes the lock and the writer wakes it. Because the
//! store happens under the lock, it can never follow a poison. Poisoning and
//! closing set their flag under the same lock and wake every registered waiter;
//! a waiter checks both flags under the lock before registering, so none can
//! register after them and sleep forever.
//!
//! Each waiter sleeps on its own slot, so an advance wakes exactly the waiters it
//! covers. The number of waiters is bounded by the number of threads: a thread
//! waits for one sequence number at a time.
//!
//! The lowest sequence number anyone waits for is mirrored in an atomic
//! ([`Watermark::lowest_waiting`]), stored under the waiter lock whenever the
//! map changes. The writer reads it without the lock to decide whether a batch
//! it wrote must be published now or may be published with the next one (see
//! `log.rs`); that read may be stale, which is safe because the writer never
//! goes idle with a written, unpublished record.
//!
//! Layout: `durable`, the poison flag and `lowest_waiting` each have a cache
//! line of their own, apart from the lock, so that a producer checking the
//! poison flag does not miss in its cache every time the writer publishes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::error::Error;
use crate::sync::{self, Arc, AtomicBool, AtomicU64, Condvar, Mutex, Ordering};

/// The poison cause is shared with callers through `Error`, which uses std's `Arc`.
type Cause = std::sync::Arc<Error>;

#[derive(Debug, Default)]
struct Slot {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Slot {
    fn wake(&self) {
        *sync::lock(&self.done) = true;
        self.cv.notify_one();
    }
}

#[derive(Debug, Default)]
struct Waiters {
    by_seq: BTreeMap<u64, Vec<Arc<Slot>>>,
    cause: Option<Cause>,
    closed: bool,
}

/// The highest contiguous durable sequence number, with waiters.
#[derive(Debug)]
pub(crate) struct Watermark {
    durable: CachePadded<AtomicU64>,
    /// Fast-path copy of `Waiters::cause.is_some()`.
    poisoned: CachePadded<AtomicBool>,
    /// The lowest key of `Waiters::by_seq` (`u64::MAX`: nobody waits).
    lowest_waiting: CachePadded<AtomicU64>,
    waiters: Mutex<Waiters>,
}

impl Watermark {
    pub(crate) fn new(durable: u64) -> Self {
        Self {
            durable: CachePadded::new(AtomicU64::new(durable)),
            poisoned: CachePadded::new(AtomicBool::new(false)),
            lowest_waiting: CachePadded::new(AtomicU64::new(u64::MAX)),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// The durable watermark.
    pub(crate) fn durable(&self) -> u64 {
        // Acquire pairs with the Release in `advance`: whoever sees N also sees
        // everything the writer published before it (for example the engine's
        // durable view stored by the hook).
        self.durable.load(Ordering::Acquire)
    }

    /// The lowest sequence number a waiter waits for (`u64::MAX`: none). May
    /// be stale (see the module docs).
    pub(crate) fn lowest_waiting(&self) -> u64 {
        // Relaxed: a hint for the writer's publishing decision; every waiter
        // is also covered by the writer's publish-before-idle rule.
        self.lowest_waiting.load(Ordering::Relaxed)
    }

    /// Mirrors the lowest key of the map; called with the waiter lock held.
    fn note_lowest(&self, w: &Waiters) {
        let lowest = w.by_seq.keys().next().copied().unwrap_or(u64::MAX);
        // Relaxed: written under the lock; a hint (see `lowest_waiting`).
        self.lowest_waiting.store(lowest, Ordering::Relaxed);
    }

    /// The poison cause, if any.
    pub(crate) fn poison_cause(&self) -> Option<Cause> {
        // Relaxed is enough for the fast path: a stale `false` only sends the
        // caller to the lock, where the truth is read.
        if !self.poisoned.load(Ordering::Relaxed) {
            return None;
        }
        sync::lock(&self.waiters).cause.clone()
    }

    /// The error a caller gets once the log accepts nothing more.
    pub(crate) fn stopped_error(&self) -> Error {
        match self.poison_cause() {
            Some(c) => Error::Poisoned(c),
            None => Error::Closed,
        }
    }

    /// Publishes `seq` as durable and wakes exactly the waiters it covers.
    /// Called only by the writer thread, with non-decreasing values. Refused
    /// (returns `false`) once the log is poisoned: nothing is acknowledged after
    /// the first error, even by another thread's hand.
    pub(crate) fn advance(&self, seq: u64) -> bool {
        let ready = {
            let mut w = sync::lock(&self.waiters);
            if w.cause.is_some() {
                return false;
            }
            // Release: a waiter that observes `seq` with Acquire also observes
            // every write the writer made before publishing (see `durable`).
            // Stored under the lock, so it cannot pass a concurrent poison.
            self.durable.store(seq, Ordering::Release);
            let rest = w.by_seq.split_off(&(seq + 1));
            let ready = std::mem::replace(&mut w.by_seq, rest);
            self.note_lowest(&w);
            ready
        };
        for slot in ready.into_values().flatten() {
            slot.wake();
        }
        true
    }

    /// Poisons: every current and future waiter gets `Poisoned(cause)`. The first
    /// cause wins.
    pub(crate) fn poison(&self, cause: Error) {
        let all = {
            let mut w = sync::lock(&self.waiters);
            if w.cause.is_none() {
                w.cause = Some(Cause::new(cause));
            }
            // Relaxed: the flag is only a hint; `cause` under the lock is the truth.
            self.poisoned.store(true, Ordering::Relaxed);
            let all = std::mem::take(&mut w.by_seq);
            self.note_lowest(&w);
            all
        };
        for slot in all.into_values().flatten() {
            slot.wake();
        }
    }

    /// Closes after a clean shutdown: waiters above the watermark get `Closed`.
    pub(crate) fn close(&self) {
        let all = {
            let mut w = sync::lock(&self.waiters);
            w.closed = true;
            let all = std::mem::take(&mut w.by_seq);
            self.note_lowest(&w);
            all
        };
        for slot in all.into_values().flatten() {
            slot.wake();
        }
    }

    /// Waits until `seq` is durable, the log is poisoned or closed, or `timeout`
    /// passes (`None`: no limit).
    pub(crate) fn wait(&self, seq: u64, timeout: Option<Duration>) -> Result<(), Error> {
        if self.durable() >= seq {
            return Ok(());
        }
        let slot = {
            let mut w = sync::lock(&self.waiters);
            if self.durable() >= seq {
                return Ok(());
            }
            if let Some(cause) = &w.cause {
                return Err(Error::Poisoned(cause.clone()));
            }
            if w.closed {
                return Err(Error::Closed);
            }
            let slot = Arc::new(Slot::default());
            w.by_seq.entry(seq).or_default().push(slot.clone());
            self.note_lowest(&w);
            slot
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut done = sync::lock(&slot.done);
        // Bound: each turn either returns or sleeps until woken or the deadline.
        while !*done {
            match deadline {
                None => done = slot.cv.wait(done).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    let (g, timed_out) = sync::wait_timeout(&slot.cv, done, left);
                    done = g;
                    if timed_out && !*done {
                        drop(done);
                        self.forget(seq, &slot);
                        return self.settle(seq, true);
                    }
                }
            }
        }
        drop(done);
        self.settle(seq, false)
    }

    /// What a woken (or timed-out) waiter returns.
    fn settle(&self, seq: u64, timed_out: bool) -> Result<(), Error> {
        let durable = self.durable();
        if durable >= seq {
            return Ok(());
        }
        let w = sync::lock(&self.waiters);
        if let Some(cause) = &w.cause {
            return Err(Error::Poisoned(cause.clone()));
        }
        if w.closed {
            return Err(Error::Closed);
        }
        if timed_out {
            return Err(Error::TimedOut { seq, durable });
        }
        unreachable!("a waiter is woken only when covered, poisoned or closed")
    }

    fn forget(&self, seq: u64, slot: &Arc<Slot>) {
        let mut w = sync::lock(&self.waiters);
        if let Some(v) = w.by_seq.get_mut(&seq) {
            v.retain(|s| !Arc::ptr_eq(s, slot));
            if v.is_empty() {
                w.by_seq.remove(&seq);
            }
        }
        self.note_lowest(&w);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::thread;

    /// How long a test waits for its waiter threads to register.
    const REGISTER_WAIT_SECS_MAX: u64 = 30;

    /// Waits (bounded) until `n` waiters are registered, so a test exercises
    /// the wake-up path and not the fast path of a late registration.
    fn until_registered(m: &Watermark, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(REGISTER_WAIT_SECS_MAX);
        // Bound: the deadline.
        while sync::lock(&m.waiters)
            .by_seq
            .values()
            .map(Vec::len)
            .sum::<usize>()
            < n
        {
            assert!(Instant::now() < deadline, "{n} waiters never registered");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn wait_returns_at_once_when_covered() {
        let m = Watermark::new(5);
        assert!(m.wait(5, None).is_ok());
        assert!(m.wait(1, None).is_ok());
    }

    #[test]
    fn advance_wakes_exactly_the_covered_waiters() {
        let m = std::sync::Arc::new(Watermark::new(0));
        let low = {
            let m = m.clone();
            thread::spawn(move || m.wait(3, None))
        };
        until_registered(&m, 1);
        // Registered before the advance (so the advance must leave it asleep),
        // with a timeout long enough that it cannot expire before the advance
        // even on a loaded machine.
        let high = {
            let m = m.clone();
            thread::spawn(move || m.wait(10, Some(Duration::from_secs(2))))
        };
        until_registered(&m, 2);
        m.advance(3);
        assert!(low.join().unwrap().is_ok());
        match high.join().unwrap() {
            Err(Error::TimedOut {
                seq: 10,
                durable: 3,
            }) => {}
            other => panic!("expected a timeout at durable 3, got {other:?}"),
        }
        assert!(
            sync::lock(&m.waiters).by_seq.is_empty(),
            "timed-out waiter left behind"
        );
    }

    #[test]
    fn poison_wakes_everyone_and_sticks() {
        let m = std::sync::Arc::new(Watermark::new(0));
        let waiters: Vec<_> = (1..=4)
            .map(|s| {
                let m = m.clone();
                thread::spawn(move || m.wait(s, None))
            })
            .collect();
        until_registered(&m, 4);
        m.poison(Error::Invalid("boom".into()));
        for w in waiters {
            assert!(matches!(w.join().unwrap(), Err(Error::Poisoned(_))));
        }
        assert!(matches!(m.wait(9, None), Err(Error::Poisoned(_))));
        assert!(m.poison_cause().is_some());
    }

    #[test]
    fn close_releases_waiters_with_closed() {
        let m = std::sync::Arc::new(Watermark::new(2));
        let w = {
            let m = m.clone();
            thread::spawn(move || m.wait(3, None))
        };
        until_registered(&m, 1);
        m.close();
        assert!(matches!(w.join().unwrap(), Err(Error::Closed)));
        assert!(m.wait(2, None).is_ok(), "durable records stay acknowledged");
    }
}

/// Written once, run both ways: plain threads in the normal suite, every
/// interleaving under `--cfg loom`.
#[cfg(test)]
mod loom_tests {
    use super::*;
    use crate::sync::thread;

    #[test]
    fn loom_watermark_no_lost_wakeup() {
        sync::model(|| {
            let m = Arc::new(Watermark::new(0));
            let w1 = {
                let m = m.clone();
                thread::spawn(move || m.wait(1, None))
            };
            let w2 = {
                let m = m.clone();
                thread::spawn(move || m.wait(2, None))
            };
            m.advance(1);
            m.advance(2);
            assert!(w1.join().unwrap().is_ok());
            assert!(w2.join().unwrap().is_ok());
        });
    }

    /// The writer defers publishing a written record while nobody waits for
    /// it, and always publishes before going idle: a waiter that registers at
    /// any point is woken, and the waiting hint is cleared after.
    #[test]
    fn loom_watermark_deferred_publication_wakes_a_late_waiter() {
        sync::model(|| {
            let m = Arc::new(Watermark::new(0));
            let w = {
                let m = m.clone();
                thread::spawn(move || m.wait(2, None))
            };
            m.advance(1);
            // Record 2 is written. The hint names the waiter once it has
            // registered, and nothing else; whether the writer publishes now
            // (a waiter) or before it idles (none yet), it advances to 2.
            let hint = m.lowest_waiting();
            assert!(hint == 2 || hint == u64::MAX, "hint {hint}");
            m.advance(2);
            assert!(w.join().unwrap().is_ok());
            assert_eq!(m.lowest_waiting(), u64::MAX, "no waiter left");
        });
    }

    #[test]
    fn loom_watermark_poison_wakes_every_waiter() {
        sync::model(|| {
            let m = Arc::new(Watermark::new(0));
            let w1 = {
                let m = m.clone();
                thread::spawn(move || m.wait(1, None))
            };
            let w2 = {
                let m = m.clone();
                thread::spawn(move || m.wait(2, None))
            };
            m.advance(1);
            m.poison(Error::Invalid("io".into()));
            assert!(
                w1.join().unwrap().is_ok(),
                "seq 1 was durable before the poison"
            );
            assert!(matches!(w2.join().unwrap(), Err(Error::Poisoned(_))));
            assert!(matches!(m.wait(3, None), Err(Error::Poisoned(_))));
        });
    }
}
