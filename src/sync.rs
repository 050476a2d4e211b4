//! The one place synchronization primitives come from: `std` normally, `loom` under
//! `cfg(loom)`.
//!
//! Every module of the root crate that shares state between threads imports its
//! `Arc`, `Mutex`, `Condvar`, atomics and threads from here, so that the loom
//! models (`RUSTFLAGS="--cfg loom" cargo test --lib -- loom_`) explore exactly the
//! code that runs in production. Code written against this module must use only the
//! API surface that both `std` and `loom` provide (for example
//! `Condvar::wait_timeout` exists in both, but loom never times out).
//!
//! Types that loom cannot see into (crossbeam, arc-swap, dashmap) must not carry a
//! protocol that needs checking; model such protocols with the primitives below.

// ---------------------------------------------------------------------------
// Primitives: std.
// ---------------------------------------------------------------------------

#[cfg(not(loom))]
pub use std::sync::{Arc, Condvar, LockResult, Mutex, MutexGuard, PoisonError, WaitTimeoutResult};

/// Atomics (std, or loom under `cfg(loom)`).
#[cfg(not(loom))]
pub mod atomic {
    pub use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
}

/// Threads (std, or loom under `cfg(loom)`).
#[cfg(not(loom))]
pub mod thread {
    pub use std::thread::{Builder, JoinHandle, Thread, current, park, spawn, yield_now};
}

/// Runs `f` once. Under `cfg(loom)` the same test body is instead explored by
/// `loom::model` over every interleaving (bounded by `LOOM_MAX_PREEMPTIONS`).
#[cfg(not(loom))]
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    f();
}

// ---------------------------------------------------------------------------
// Primitives: loom.
// ---------------------------------------------------------------------------

#[cfg(loom)]
pub use loom::sync::{Arc, Condvar, LockResult, Mutex, MutexGuard, WaitTimeoutResult};
#[cfg(loom)]
pub use std::sync::PoisonError;

/// Atomics (std, or loom under `cfg(loom)`).
#[cfg(loom)]
pub mod atomic {
    pub use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
}

/// Threads (std, or loom under `cfg(loom)`).
#[cfg(loom)]
pub mod thread {
    pub use loom::thread::{Builder, JoinHandle, Thread, current, park, spawn, yield_now};
}

/// Explores `f` over every interleaving with `loom::model`.
#[cfg(loom)]
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    loom::model(f);
}

// ---------------------------------------------------------------------------
// Helpers shared by both builds.
// ---------------------------------------------------------------------------

/// Locks `mutex`, ignoring poisoning.
///
/// Our critical sections never run user code (tasks run outside every lock and
/// behind `catch_unwind`), so a poisoned lock can only come from a bug in a short
/// internal section whose invariants are re-established before any unwinding
/// point; continuing is safer for a daemon than cascading the panic.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Published state (ArcSwap, or a loom `Mutex<Arc<T>>` stand-in under loom).
// ---------------------------------------------------------------------------

/// A published `Arc<T>` that readers load without locks and writers replace by
/// compare-and-swap: `arc_swap::ArcSwap` normally, a loom `Mutex<Arc<T>>` under
/// loom (loom cannot see inside arc-swap, so the models check our protocol on top
/// of a primitive with the same contract).
#[cfg(not(loom))]
pub struct AtomicArc<T>(arc_swap::ArcSwap<T>);

/// What [`AtomicArc::load`] returns: derefs to the `Arc<T>`.
#[cfg(not(loom))]
pub type Loaded<T> = arc_swap::Guard<Arc<T>>;

#[cfg(not(loom))]
impl<T> AtomicArc<T> {
    /// Publishes `value`.
    pub fn new(value: Arc<T>) -> Self {
        Self(arc_swap::ArcSwap::new(value))
    }

    /// The current value, cheaply (no reference count traffic on the fast path).
    /// Hold it briefly; use [`AtomicArc::load_full`] to keep a snapshot.
    pub fn load(&self) -> Loaded<T> {
        self.0.load()
    }

    /// The current value as an owned `Arc`.
    pub fn load_full(&self) -> Arc<T> {
        self.0.load_full()
    }

    /// Replaces the value unconditionally.
    pub fn store(&self, value: Arc<T>) {
        self.0.store(value);
    }

    /// Replaces `current` by `new` if `current` is still the published value
    /// (pointer equality); returns whether it did.
    pub fn compare_and_swap(&self, current: &Arc<T>, new: Arc<T>) -> bool {
        let previous = self.0.compare_and_swap(current, new);
        Arc::ptr_eq(&previous, current)
    }

    /// A reader for one thread that keeps the value it last saw and checks the
    /// published one with a single relaxed pointer load (`arc_swap::Cache`):
    /// the cheapest read while the value changes rarely.
    pub fn cached(&self) -> CachedLoad<'_, T> {
        CachedLoad(arc_swap::cache::Cache::new(&self.0))
    }
}

/// A per-thread reader of an [`AtomicArc`]; see [`AtomicArc::cached`].
#[cfg(not(loom))]
pub struct CachedLoad<'a, T>(arc_swap::cache::Cache<&'a arc_swap::ArcSwap<T>, Arc<T>>);

#[cfg(not(loom))]
impl<T> CachedLoad<'_, T> {
    /// The published value: the kept one if it is still current, else the new
    /// one (loaded once and kept).
    pub fn load(&mut self) -> &Arc<T> {
        self.0.load()
    }
}

#[cfg(loom)]
pub struct AtomicArc<T>(Mutex<Arc<T>>);

/// What [`AtomicArc::load`] returns: derefs to the `Arc<T>`.
#[cfg(loom)]
#[derive(Debug)]
pub struct Loaded<T>(Arc<T>);

#[cfg(loom)]
impl<T> std::ops::Deref for Loaded<T> {
    type Target = Arc<T>;
    fn deref(&self) -> &Arc<T> {
        &self.0
    }
}

#[cfg(loom)]
impl<T> AtomicArc<T> {
    /// Publishes `value`.
    pub fn new(value: Arc<T>) -> Self {
        Self(Mutex::new(value))
    }

    /// The current value.
    pub fn load(&self) -> Loaded<T> {
        Loaded(lock(&self.0).clone())
    }

    /// The current value as an owned `Arc`.
    pub fn load_full(&self) -> Arc<T> {
        lock(&self.0).clone()
    }

    /// Replaces the value unconditionally.
    pub fn store(&self, value: Arc<T>) {
        *lock(&self.0) = value;
    }

    /// Replaces `current` by `new` if `current` is still the published value.
    pub fn compare_and_swap(&self, current: &Arc<T>, new: Arc<T>) -> bool {
        let mut slot = lock(&self.0);
        if Arc::ptr_eq(&slot, current) {
            *slot = new;
            true
        } else {
            false
        }
    }

    /// A per-thread reader (under loom: a plain load each time).
    pub fn cached(&self) -> CachedLoad<'_, T> {
        CachedLoad {
            cached: self.load_full(),
            source: self,
        }
    }
}

/// A per-thread reader of an [`AtomicArc`] (under loom: a plain load each time).
#[cfg(loom)]
pub struct CachedLoad<'a, T> {
    source: &'a AtomicArc<T>,
    cached: Arc<T>,
}

#[cfg(loom)]
impl<T> CachedLoad<'_, T> {
    /// The published value.
    pub fn load(&mut self) -> &Arc<T> {
        self.cached = self.source.load_full();
        &self.cached
    }
}

impl<T> std::fmt::Debug for CachedLoad<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedLoad")
    }
}

impl<T> std::fmt::Debug for AtomicArc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtomicArc")
    }
}
