//! The state manager: one immutable state behind an [`AtomicArc`], replaced by a
//! compare-and-swap loop with validation, every commit handed to the journal.
//!
//! # The commit protocol (DESIGN §3)
//!
//! 1. Load the head state `s` (version `v`).
//! 2. Run the pure transition. The new state is built in the allocation it will
//!    be published in: `s` is cloned into a fresh `Arc` and
//!    [`Machine::apply_into`] updates that clone in place. A `Reject` goes back
//!    to the caller: nothing changed, nothing logged.
//! 3. Compare-and-swap the head from `s` to the new state (version `v + 1`). On a
//!    lost race, back off and retry from 1. The version is the one the CAS won;
//!    no number is taken before the CAS, so a failed CAS leaves no hole.
//! 4. Hand `(v + 1, op, image, new state)` to the journal, `image` being
//!    [`Machine::image`] of the new state (taken before the CAS), copied by
//!    value: the log's writer encodes the record from `op` and `image` and
//!    does not read the state for it (see [`JournalItem`]). Nothing that can fail runs
//!    between a won CAS and this hand-off; if the hand-off itself fails (the log
//!    is poisoned), the engine poisons too, because a version that never reaches
//!    the log would stall every later one.
//! 5. Return [`Commit`]; the caller may [`Engine::wait_durable`] on it.
//!
//! # Synchronization
//!
//! - `head` is written only by a won CAS in `commit`. Any thread may read it.
//! - `durable` is written only by the journal's writer thread, through the
//!   durable hook, after the fsync that covers the version it stores and before
//!   any waiter of that version wakes. Any thread may read it.
//! - `poisoned` is set once, by a committer whose hand-off failed.
//! - `durable_hint` is a lower bound of the journal's durable watermark that
//!   committers share (raised with `fetch_max` from real reads of the
//!   watermark), so that a commit within `pending_max` of it does not read the
//!   watermark, whose cache line the log writer updates after every batch.
//! - The transition closure is pure: it may run several times under contention.
//!
//! Reading: [`Engine::head`] and [`Engine::durable`] return an owned `Arc`;
//! [`Engine::with_head`] and [`Engine::with_durable`] read in place; a hot
//! reader keeps an [`Engine::durable_reader`], which checks for a newer durable
//! state with one relaxed load (the log publishes the durable view once per
//! acknowledged batch, so the check almost always finds the state it has).

mod journal;
pub mod recovery;
pub mod snapshot;

#[cfg(test)]
mod model_tests;

use std::fmt;

use crossbeam::utils::{Backoff, CachePadded};

use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::{Arc, AtomicArc};

pub use journal::{Journal, JournalItem, RecordCodec, WalJournal};
pub use recovery::{
    Inspected, Persist, RecoveryError, RecoveryInfo, RecoveryPhase, RecoveryProgress, Stores,
};

/// A state and the version that produced it (0 for the initial state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<S> {
    /// Commits applied so far.
    pub version: u64,
    /// The state.
    pub state: S,
}

/// A pure state machine: the domain the engine commits.
pub trait Machine: Send + Sync + 'static {
    /// The state (cloned per commit: keep it small).
    type State: Clone + Send + Sync + 'static;
    /// An operation; journaled with the state it produced.
    type Op: Send + Sync + 'static;
    /// Why an operation was refused.
    type Reject: fmt::Debug + fmt::Display + Send + 'static;
    /// What the journal record of a commit carries of the state after it,
    /// copied by value into the record: the log's writer encodes the record
    /// from the record alone and does not read the state for it (see
    /// [`Machine::image`]).
    type Image: Send + Sync + 'static;

    /// The image of a state: for the wallet, its balance. Called on the
    /// committing thread after the transition and before the CAS (once per
    /// attempt); it must not fail or panic.
    fn image(state: &Self::State) -> Self::Image;

    /// The pure transition: validates preconditions, computes the next state and
    /// checks every invariant on it. It may run more than once per commit.
    fn apply(&self, state: &Self::State, op: &Self::Op) -> Result<Self::State, Self::Reject>;

    /// [`Machine::apply`] in place: `next` holds a clone of `state` on entry
    /// and must hold exactly what `apply` returns on `Ok` (on `Err` it is
    /// dropped). The engine clones the head straight into the allocation it
    /// publishes, so a large state is copied once per commit, not three or
    /// four times. Override it when the state is large; the default calls
    /// `apply`.
    fn apply_into(
        &self,
        state: &Self::State,
        op: &Self::Op,
        next: &mut Self::State,
    ) -> Result<(), Self::Reject> {
        *next = self.apply(state, op)?;
        Ok(())
    }
}

/// A won commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a commit is not durable until waited on"]
pub struct Commit {
    /// The version the CAS won.
    pub version: u64,
}

/// Why a commit did not happen.
#[derive(Debug)]
pub enum CommitError<R> {
    /// The transition refused the operation; nothing changed.
    Rejected(R),
    /// The log failed; the engine accepts nothing more until restarted.
    Poisoned(wal::Error),
}

impl<R: fmt::Display> fmt::Display for CommitError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => write!(f, "rejected: {r}"),
            Self::Poisoned(cause) => write!(f, "engine stopped: {cause}"),
        }
    }
}

impl<R: fmt::Debug + fmt::Display> std::error::Error for CommitError<R> {}

/// Counters for benchmarks and the session summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Commits won.
    pub commits: u64,
    /// CAS attempts lost to another committer.
    pub cas_retries: u64,
    /// Operations the transition refused.
    pub rejects: u64,
}

/// The engine: a lock-free head, a durable view, and a journal.
///
/// Layout: the head, which every commit compare-and-swaps, has a cache line
/// of its own; so do the rarely written counters and the durable hint, so that
/// writing one never evicts the line another thread is reading.
pub struct Engine<M: Machine, J: Journal<JournalItem<M>>> {
    machine: M,
    head: CachePadded<AtomicArc<Versioned<M::State>>>,
    durable: Arc<AtomicArc<Versioned<M::State>>>,
    journal: J,
    /// Soft bound on `head - durable`: a committer that finds the gap wider
    /// waits for durability before it commits.
    pending_max: u64,
    /// The head's version when the engine started (for [`EngineStats`]).
    first_version: u64,
    poisoned: AtomicBool,
    /// A durable version some committer read recently, never above the real
    /// one: a commit within `pending_max` of it skips reading the journal's
    /// watermark, which the log writer updates after every batch.
    durable_hint: CachePadded<AtomicU64>,
    counters: CachePadded<Counters>,
}

/// The counters that are not derived from the head.
#[derive(Default)]
struct Counters {
    cas_retries: AtomicU64,
    rejects: AtomicU64,
}

impl<M: Machine, J: Journal<JournalItem<M>>> fmt::Debug for Engine<M, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("head", &self.head.load().version)
            .field("durable", &self.durable.load().version)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<M: Machine, J: Journal<JournalItem<M>>> Engine<M, J> {
    /// An engine over a recovered state. `durable` is the cell the journal's
    /// durable hook stores into (see [`WalJournal`]); it must hold `initial`.
    pub fn new(
        machine: M,
        initial: Arc<Versioned<M::State>>,
        durable: Arc<AtomicArc<Versioned<M::State>>>,
        journal: J,
        pending_max: u64,
    ) -> Self {
        let first_version = initial.version;
        let durable_hint = journal.durable_seq();
        Self {
            machine,
            head: CachePadded::new(AtomicArc::new(initial)),
            durable,
            journal,
            pending_max: pending_max.max(1),
            first_version,
            poisoned: AtomicBool::new(false),
            durable_hint: CachePadded::new(AtomicU64::new(durable_hint)),
            counters: CachePadded::new(Counters::default()),
        }
    }

    /// Commits `op`: validate, CAS, hand to the journal.
    pub fn commit(&self, op: M::Op) -> Result<Commit, CommitError<M::Reject>> {
        let (version, next, image, ()) =
            self.cas_loop(|state, next| self.machine.apply_into(state, &op, next))?;
        self.hand_off(version, op, image, next)
    }

    /// Commits the operation `decide` chooses from the current state: the
    /// original's `atomic_balance_update(name, closure)`, done right. `decide`
    /// must be pure: under contention it runs again on the newer state, and only
    /// the operation of the winning attempt is applied and journaled.
    pub fn commit_with(
        &self,
        decide: impl Fn(&M::State) -> Result<M::Op, M::Reject>,
    ) -> Result<Commit, CommitError<M::Reject>> {
        let (version, next, image, op) = self.cas_loop(|state, next| {
            let op = decide(state)?;
            self.machine.apply_into(state, &op, next)?;
            Ok(op)
        })?;
        self.hand_off(version, op, image, next)
    }

    /// Steps 1-3 of the protocol: load, compute, compare-and-swap, retry.
    /// `attempt` is pure: it turns the clone of the current state it is given
    /// into the new state, and returns whatever the caller needs from the
    /// winning attempt. The journal image is taken before the CAS, so that
    /// nothing runs between a won CAS and the hand-off but the hand-off.
    #[allow(clippy::type_complexity)] // (version, new state, its image, caller's value)
    fn cas_loop<T>(
        &self,
        attempt: impl Fn(&M::State, &mut M::State) -> Result<T, M::Reject>,
    ) -> Result<(u64, Arc<Versioned<M::State>>, M::Image, T), CommitError<M::Reject>> {
        // Acquire pairs with the Release in `poison`: a committer that sees the
        // flag also sees the cause stored before it (the journal's error).
        if self.poisoned.load(Ordering::Acquire) {
            return Err(CommitError::Poisoned(self.journal.failure()));
        }
        let backoff = Backoff::new();
        // Bound: each turn either wins, returns, or lost to a commit that
        // another thread won; progress is global (lock-free).
        loop {
            // An owned `Arc`, not a borrowed guard: the CAS below pays every
            // debt on the old head (arc-swap's `pay_all`), and a guard of ours
            // would be one more debt to find and convert (measured 5-8 ns a
            // commit cheaper this way).
            let current = self.head.load_full();
            let version = current.version + 1;
            // Relaxed: a hint, never above the real watermark; when it does
            // not clear the commit, the journal's watermark is read.
            if version > self.durable_hint.load(Ordering::Relaxed) + self.pending_max {
                let durable = self.journal.durable_seq();
                // Relaxed: the hint again; `fetch_max` keeps it monotonic.
                self.durable_hint.fetch_max(durable, Ordering::Relaxed);
                if version > durable + self.pending_max {
                    drop(current);
                    self.journal
                        .wait_durable(version - self.pending_max)
                        .map_err(CommitError::Poisoned)?;
                    continue;
                }
            }
            // The new state is built in the allocation it is published in.
            let mut next = Arc::new(Versioned {
                version,
                state: current.state.clone(),
            });
            let outcome = match Arc::get_mut(&mut next) {
                Some(fresh) => attempt(&current.state, &mut fresh.state),
                // Unreachable: `next` was created just above and not shared.
                None => continue,
            };
            let value = match outcome {
                Ok(value) => value,
                Err(r) => {
                    // Relaxed: statistics only.
                    self.counters.rejects.fetch_add(1, Ordering::Relaxed);
                    return Err(CommitError::Rejected(r));
                }
            };
            let image = M::image(&next.state);
            if self.head.compare_and_swap(&current, next.clone()) {
                return Ok((version, next, image, value));
            }
            // Relaxed: statistics only.
            self.counters.cas_retries.fetch_add(1, Ordering::Relaxed);
            backoff.snooze();
        }
    }

    /// Step 4: the won version goes to the journal. Nothing that can fail runs
    /// between the CAS and this call; if the hand-off fails, the engine stops.
    fn hand_off(
        &self,
        version: u64,
        op: M::Op,
        image: M::Image,
        post: Arc<Versioned<M::State>>,
    ) -> Result<Commit, CommitError<M::Reject>> {
        if let Err(cause) = self
            .journal
            .append(version, JournalItem { op, image, post })
        {
            self.poison();
            return Err(CommitError::Poisoned(cause));
        }
        Ok(Commit { version })
    }

    fn poison(&self) {
        // Release: see `commit`.
        self.poisoned.store(true, Ordering::Release);
    }

    /// Waits until `commit` is durable (or the log failed).
    pub fn wait_durable(&self, commit: Commit) -> Result<(), wal::Error> {
        self.journal.wait_durable(commit.version)
    }

    /// The latest committed state: what the next commit builds on. Not yet
    /// necessarily durable: never show it to the outside world.
    pub fn head(&self) -> Arc<Versioned<M::State>> {
        self.head.load_full()
    }

    /// The latest durable state: what status, reports and brokers may see.
    pub fn durable(&self) -> Arc<Versioned<M::State>> {
        self.durable.load_full()
    }

    /// Reads the durable state without reference-count traffic (hold briefly).
    pub fn with_durable<T>(&self, f: impl FnOnce(&Versioned<M::State>) -> T) -> T {
        f(&self.durable.load())
    }

    /// A reader of the durable view for one thread (a risk loop, a status
    /// task): it keeps the state it last saw and only checks, with one relaxed
    /// load, whether a newer one was published. The cheapest read there is;
    /// the log publishes the durable view once per batch it acknowledges (and
    /// while producers stream with nobody waiting, every few thousand records),
    /// so the check almost always hits.
    pub fn durable_reader(&self) -> DurableReader<'_, M> {
        DurableReader {
            cache: self.durable.cached(),
        }
    }

    /// Reads the head state without reference-count traffic (hold briefly):
    /// what the next commit builds on, never to be shown outside.
    pub fn with_head<T>(&self, f: impl FnOnce(&Versioned<M::State>) -> T) -> T {
        f(&self.head.load())
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        // Relaxed: statistics only.
        EngineStats {
            // Versions are gapless and each commit won exactly one.
            commits: self.head.load().version - self.first_version,
            cas_retries: self.counters.cas_retries.load(Ordering::Relaxed),
            rejects: self.counters.rejects.load(Ordering::Relaxed),
        }
    }

    /// The journal.
    pub fn journal(&self) -> &J {
        &self.journal
    }
}

/// A per-thread reader of [`Engine::durable`]; see [`Engine::durable_reader`].
pub struct DurableReader<'a, M: Machine> {
    cache: crate::sync::CachedLoad<'a, Versioned<M::State>>,
}

impl<M: Machine> fmt::Debug for DurableReader<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DurableReader")
    }
}

impl<M: Machine> DurableReader<'_, M> {
    /// The latest durable state.
    pub fn get(&mut self) -> &Arc<Versioned<M::State>> {
        self.cache.load()
    }

    /// Reads the latest durable state.
    pub fn read<T>(&mut self, f: impl FnOnce(&Versioned<M::State>) -> T) -> T {
        f(self.cache.load())
    }
}

/// The reference engine: a `Mutex<State>` and nothing clever, to cross-check
/// the lock-free one in tests (the differential test replays the journal on
/// it).
pub struct ReferenceEngine<M: Machine> {
    machine: M,
    state: crate::sync::Mutex<Versioned<M::State>>,
}

impl<M: Machine> fmt::Debug for ReferenceEngine<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReferenceEngine")
    }
}

impl<M: Machine> ReferenceEngine<M> {
    /// Starts at `initial`.
    pub fn new(machine: M, initial: Versioned<M::State>) -> Self {
        Self {
            machine,
            state: crate::sync::Mutex::new(initial),
        }
    }

    /// Applies `op` in place under the lock.
    pub fn commit(&self, op: &M::Op) -> Result<u64, M::Reject> {
        let mut guard = crate::sync::lock(&self.state);
        let next = self.machine.apply(&guard.state, op)?;
        guard.state = next;
        guard.version += 1;
        Ok(guard.version)
    }

    /// Reads the state.
    pub fn with_state<T>(&self, f: impl FnOnce(&Versioned<M::State>) -> T) -> T {
        f(&crate::sync::lock(&self.state))
    }
}
