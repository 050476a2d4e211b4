//! The hand-off from producers to the writer: a ring of slots indexed by
//! sequence number (the Disruptor's claim-and-publish, where the sequence
//! number is the claim), with no shared tail and no per-record wake-up.
//!
//! # Synchronization
//!
//! Slot `seq % capacity` carries record `seq`. The protocol:
//!
//! - **Claim.** A producer fills the slot of `seq` only once `seq - capacity`
//!   is durable ([`crate::log::Wal::append`] waits for that), so the writer has
//!   finished with the slot's previous record and will not read the slot again
//!   until `seq` is published. Each sequence number has exactly one producer
//!   (the engine's CAS gives each version to one committer), so a slot has at
//!   most one producer at a time. The slot's mutex makes even a misuse (two
//!   producers of one number) safe: the second finds the number there and is
//!   refused.
//! - **Publish.** The producer moves the record into the slot under the slot's
//!   mutex, unlocks, then stores `seq` into the slot's `ready` with `SeqCst` (a
//!   release: whoever reads `seq` there sees the record; and one side of the
//!   parking handshake below). Nothing is encoded or copied on the producer's
//!   path but the record itself.
//! - **Consume.** The writer reads `ready` of the slot of its next sequence
//!   number; when it equals that number, it locks the slot and encodes the
//!   record into its batch. Only the writer consumes, in sequence order, so
//!   the records leave in order whatever order they arrived in.
//! - **Park.** The writer parks only after it found its next record missing.
//!   It takes the park mutex, sets `parked`, issues a `SeqCst` fence, then
//!   reads `ready` of its next slot again and the `closed` flag; only if both
//!   still say "nothing to do" does it wait on the condvar, until a waker
//!   clears `parked` under the same mutex. A producer, after publishing (or
//!   `close`, after setting `closed`), issues a `SeqCst` fence and reads
//!   `parked`; if set, it clears it and notifies under the mutex. The two
//!   fences are ordered one way or the other: either the producer's read sees
//!   `parked` (and wakes the writer, which is waiting or about to re-check
//!   under the mutex it holds), or the writer's re-check sees the record (or
//!   the close): no lost wake-up. (Fences, not `SeqCst` accesses: the C++
//!   model, and loom, give store-then-load handshakes their guarantee only
//!   through fences.) A producer that sees `parked` clear pays a fence and a
//!   load, and no lock: the writer is woken per batch, not per record.
//! - **Retain.** A consumed record stays in its slot (for the durable hook of
//!   the batch it ends), and is dropped by the producer that next fills the
//!   slot, so the memory a producer allocated is normally freed on a producer's
//!   thread, not the writer's (a cross-thread free costs a contended allocator
//!   lock). When the writer goes idle it drops the durable records itself
//!   ([`Ring::release_durable`]) so an idle log holds nothing.
//!
//! The `sync` shim supplies every primitive, so the loom models below check
//! this protocol as it runs.

use crossbeam_utils::CachePadded;

use crate::sync::{self, AtomicBool, AtomicU64, Condvar, Mutex, Ordering, fence};

/// One slot: the number of the record it holds (once complete) and the record.
struct Slot<R> {
    /// The sequence number whose record is complete in `data`; 0 before the
    /// first (sequence numbers start at 1).
    ready: AtomicU64,
    data: Mutex<SlotData<R>>,
}

struct SlotData<R> {
    /// The sequence number of `record` (0: none yet).
    seq: u64,
    /// The record, kept for the durable hook until the slot is reused or the
    /// writer releases it.
    record: Option<R>,
}

/// [`Ring::publish`] refused: the slot already holds this sequence number (it
/// was appended twice). Nothing was published.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Duplicate;

/// The ring of slots plus the writer's parking place.
pub(crate) struct Ring<R> {
    slots: Box<[CachePadded<Slot<R>>]>,
    /// Set by the writer when it is about to wait on `cv`.
    parked: CachePadded<AtomicBool>,
    /// Set once when the log closes; the writer finishes what is ready and
    /// stops.
    closed: AtomicBool,
    park: Mutex<()>,
    cv: Condvar,
}

impl<R> std::fmt::Debug for Ring<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("capacity", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl<R> Ring<R> {
    /// A ring of `capacity` slots (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            slots: (0..capacity.max(1))
                .map(|_| {
                    CachePadded::new(Slot {
                        ready: AtomicU64::new(0),
                        data: Mutex::new(SlotData {
                            seq: 0,
                            record: None,
                        }),
                    })
                })
                .collect(),
            parked: CachePadded::new(AtomicBool::new(false)),
            closed: AtomicBool::new(false),
            park: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// How many slots.
    pub(crate) fn capacity(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot(&self, seq: u64) -> &Slot<R> {
        &self.slots[(seq % self.slots.len() as u64) as usize]
    }

    /// Producer: stores record `seq` and publishes it. The caller guarantees
    /// `seq - capacity` is consumed (see the module docs). Returns the record
    /// the slot held before, to be dropped by the caller outside every lock.
    pub(crate) fn publish(&self, seq: u64, record: R) -> Result<Option<R>, Duplicate> {
        let slot = self.slot(seq);
        let old = {
            let mut data = sync::lock(&slot.data);
            if data.seq == seq {
                return Err(Duplicate);
            }
            data.seq = seq;
            data.record.replace(record)
        };
        // Release: whoever reads `seq` here (Acquire in `is_ready`) sees the
        // record stored under the lock.
        slot.ready.store(seq, Ordering::Release);
        self.wake_if_parked();
        Ok(old)
    }

    /// Producer side of the parking handshake: wakes the writer if it parked.
    fn wake_if_parked(&self) {
        // SeqCst fence: orders the `ready` store in `publish` (or the
        // `closed` store in `close`) before the `parked` load, against the
        // writer's fence between its `parked` store and its re-check.
        fence(Ordering::SeqCst);
        // Relaxed: the fences above and in `park` order it (module docs).
        if self.parked.load(Ordering::Relaxed) {
            let _guard = sync::lock(&self.park);
            // Relaxed: under the mutex, which orders it with the writer's
            // re-reads after every wake-up.
            self.parked.store(false, Ordering::Relaxed);
            self.cv.notify_one();
        }
    }

    /// Whether record `seq` is published.
    pub(crate) fn is_ready(&self, seq: u64) -> bool {
        // Acquire: pairs with the SeqCst store in `publish`; seeing `seq`
        // means the slot's data is complete.
        self.slot(seq).ready.load(Ordering::Acquire) == seq
    }

    /// Writer: runs `f` on record `seq`, which [`Ring::is_ready`] said is
    /// published (and which stays in its slot until it is durable).
    pub(crate) fn read<T>(&self, seq: u64, f: impl FnOnce(&R) -> T) -> Option<T> {
        let data = sync::lock(&self.slot(seq).data);
        match (&data.record, data.seq == seq) {
            (Some(record), true) => Some(f(record)),
            _ => None,
        }
    }

    /// Writer: drops the retained records of `from..=to` (all durable), so
    /// an idle log holds no record. A slot a producer has already refilled
    /// with a newer number is left alone.
    pub(crate) fn release_durable(&self, from: u64, to: u64) -> Vec<R> {
        let mut dropped = Vec::new();
        // Bound: at most `capacity` slots (older ones were reused already).
        for seq in from.max(to.saturating_sub(self.capacity()) + 1)..=to {
            let mut data = sync::lock(&self.slot(seq).data);
            if data.seq == seq
                && let Some(r) = data.record.take()
            {
                dropped.push(r);
            }
        }
        dropped
    }

    /// Writer: waits until record `next` is published or the ring is
    /// closed. Returns at once if either is already true.
    pub(crate) fn park(&self, next: u64) {
        let mut guard = sync::lock(&self.park);
        // Relaxed, then a SeqCst fence: one half of the parking handshake
        // (module docs); the fence orders this store before the re-check.
        self.parked.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.is_ready(next) || self.is_closed() {
            // Relaxed: only this thread sets it to true, under the mutex held.
            self.parked.store(false, Ordering::Relaxed);
            return;
        }
        // Bound: each turn ends with a wake-up; a waker clears `parked` under
        // the mutex before notifying. Relaxed: read under the mutex.
        while self.parked.load(Ordering::Relaxed) {
            guard = self.cv.wait(guard).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Closes the ring: the writer finishes what is published and stops.
    pub(crate) fn close(&self) {
        // Release: pairs with the Acquire in `is_closed`, so a writer that
        // sees the close sees every record published before it; the fence in
        // `wake_if_parked` orders it against the writer's park re-check.
        self.closed.store(true, Ordering::Release);
        self.wake_if_parked();
    }

    /// Whether [`Ring::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: see `close`.
        self.closed.load(Ordering::Acquire)
    }

    /// Published records beyond `next` (left behind a gap at close).
    pub(crate) fn published_after(&self, next: u64) -> usize {
        (next + 1..next + self.capacity())
            .filter(|&s| self.is_ready(s))
            .count()
    }
}

/// Written once, run both ways: plain threads in the normal suite, every
/// interleaving under `--cfg loom`.
#[cfg(test)]
mod loom_tests {
    use super::*;
    use crate::sync::{Arc, thread};

    /// A writer that consumes `1..=n` in order, parking when the next one is
    /// missing; returns the payloads in the order it consumed them.
    fn consume(ring: &Ring<u64>, n: u64) -> Vec<u64> {
        let mut got = Vec::new();
        let mut next = 1;
        // Bound: n records; each turn consumes one or parks until one comes.
        while next <= n {
            if ring.is_ready(next) {
                let v = ring.read(next, |r| *r).unwrap();
                got.push(v);
                next += 1;
            } else {
                ring.park(next);
            }
        }
        got
    }

    #[test]
    fn loom_ring_out_of_order_producers_no_lost_wakeup() {
        sync::model(|| {
            let ring = Arc::new(Ring::<u64>::new(4));
            let producers: Vec<_> = [2u64, 1]
                .into_iter()
                .map(|seq| {
                    let ring = ring.clone();
                    thread::spawn(move || {
                        ring.publish(seq, seq * 10).unwrap();
                    })
                })
                .collect();
            assert_eq!(consume(&ring, 2), [10, 20], "in sequence order");
            for p in producers {
                p.join().unwrap();
            }
        });
    }

    #[test]
    fn loom_ring_close_wakes_a_parked_writer() {
        sync::model(|| {
            let ring = Arc::new(Ring::<u64>::new(2));
            let writer = {
                let ring = ring.clone();
                thread::spawn(move || {
                    // Nothing is ever published: only `close` ends this.
                    ring.park(1);
                    assert!(ring.is_closed() || ring.is_ready(1));
                })
            };
            ring.close();
            writer.join().unwrap();
        });
    }

    #[test]
    fn loom_ring_slot_reuse_and_release() {
        sync::model(|| {
            let ring = Arc::new(Ring::<u64>::new(1));
            ring.publish(1, 10).unwrap();
            let producer = {
                let ring = ring.clone();
                thread::spawn(move || {
                    // Record 2 may reuse the only slot once 1 is consumed (the
                    // log's durable wait stands for that here).
                    ring.publish(2, 20).unwrap()
                })
            };
            // The writer releases record 1 while the producer refills: either
            // the writer drops it, or the producer gets it back to drop.
            let released = ring.release_durable(1, 1);
            let evicted = producer.join().unwrap();
            let mut seen: Vec<u64> = released.into_iter().chain(evicted).collect();
            seen.sort_unstable();
            assert_eq!(seen, [10], "record 1 is dropped exactly once");
            assert!(ring.is_ready(2));
            assert_eq!(ring.read(2, |r| *r), Some(20));
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_is_refused_and_a_slot_is_reused_after_capacity() {
        let ring = Ring::<u64>::new(4);
        assert_eq!(ring.publish(1, 1), Ok(None));
        assert_eq!(ring.publish(1, 1), Err(Duplicate));
        assert!(!ring.is_ready(2));
        assert_eq!(ring.published_after(1), 0);
        assert_eq!(ring.publish(3, 3), Ok(None));
        assert_eq!(ring.published_after(1), 1, "3 waits behind the gap at 2");
        assert_eq!(ring.publish(5, 5), Ok(Some(1)), "slot 1 reused");
        assert!(ring.is_ready(5) && !ring.is_ready(1));
        assert_eq!(ring.read(1, |r| *r), None);
        assert_eq!(ring.release_durable(1, 3), vec![3]);
        assert_eq!(ring.read(3, |r| *r), None);
    }
}
