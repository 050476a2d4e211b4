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
