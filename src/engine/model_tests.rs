//! Concurrency tests of the commit protocol, written once and run both ways:
//! with plain threads in the normal suite and under every interleaving with
//! `--cfg loom` (`sync::model`). The journal here is a model with the log's
//! contract (a reorder buffer that releases only the contiguous prefix), built
//! from the `sync` shim so loom sees it.

use std::collections::BTreeMap;

use super::*;
use crate::sync::{self, Condvar, Mutex, thread};

/// A counter that refuses to pass `cap`.
struct Counter {
    cap: u64,
}

impl Machine for Counter {
    type State = u64;
    type Op = u64;
    type Reject = String;
    type Image = u64;

    fn image(state: &u64) -> u64 {
        *state
    }

    fn apply(&self, state: &u64, add: &u64) -> Result<u64, String> {
        let next = state + add;
        if next > self.cap {
            return Err(format!("{next} is over the cap {}", self.cap));
        }
        Ok(next)
    }
}

#[derive(Default)]
struct Inner {
    reorder: BTreeMap<u64, JournalItem<Counter>>,
    /// (version, count after it) in the order the "writer" stored them.
    written: Vec<(u64, u64)>,
    durable: u64,
}

struct ModelJournal {
    inner: Mutex<Inner>,
    cv: Condvar,
    durable_view: Arc<AtomicArc<Versioned<u64>>>,
}

impl Journal<JournalItem<Counter>> for ModelJournal {
    fn append(&self, seq: u64, record: JournalItem<Counter>) -> Result<(), wal::Error> {
        let mut g = sync::lock(&self.inner);
        assert!(
            seq > g.durable && !g.reorder.contains_key(&seq),
            "sequence {seq} twice"
        );
        g.reorder.insert(seq, record);
        // Bound: each turn moves one record from the buffer to the log.
        loop {
            let next = g.durable + 1;
            let Some(item) = g.reorder.remove(&next) else {
                break;
            };
            g.written.push((next, item.post.state));
            g.durable = next;
            self.durable_view.store(item.post.clone());
        }
        drop(g);
        self.cv.notify_all();
        Ok(())
    }

    fn wait_durable(&self, seq: u64) -> Result<(), wal::Error> {
        let mut g = sync::lock(&self.inner);
        while g.durable < seq {
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        Ok(())
    }

    fn durable_seq(&self) -> u64 {
        sync::lock(&self.inner).durable
    }

    fn failure(&self) -> wal::Error {
        wal::Error::Closed
    }
}

fn engine(cap: u64) -> Arc<Engine<Counter, ModelJournal>> {
    engine_with_pending_max(cap, 16)
}

fn engine_with_pending_max(cap: u64, pending_max: u64) -> Arc<Engine<Counter, ModelJournal>> {
    let initial = Arc::new(Versioned {
        version: 0,
        state: 0,
    });
    let durable = Arc::new(AtomicArc::new(initial.clone()));
    let journal = ModelJournal {
        inner: Mutex::new(Inner::default()),
        cv: Condvar::new(),
        durable_view: durable.clone(),
    };
    Arc::new(Engine::new(
        Counter { cap },
        initial,
        durable,
        journal,
        pending_max,
    ))
}

#[test]
fn loom_two_committers_race_the_cas_without_losing_an_update() {
    sync::model(|| {
        let e = engine(100);
        let handles: Vec<_> = [1u64, 10]
            .into_iter()
            .map(|add| {
                let e = e.clone();
                thread::spawn(move || {
                    let c = e.commit(add).unwrap();
                    e.wait_durable(c).unwrap();
                    c.version
                })
            })
            .collect();
        let mut versions: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        versions.sort_unstable();
        assert_eq!(versions, [1, 2], "each CAS won a distinct version");
        let head = e.head();
        assert_eq!((head.version, head.state), (2, 11), "no lost update");
        let durable = e.durable();
        assert_eq!((durable.version, durable.state), (2, 11));
        let g = sync::lock(&e.journal().inner);
        // Log order equals version order, no hole, and each post-image is the
        // running total.
        assert_eq!(g.written.len(), 2);
        assert_eq!(g.written[0].0, 1);
        assert_eq!(g.written[1], (2, 11));
        assert!(g.written[0].1 == 1 || g.written[0].1 == 10);
        assert_eq!(e.stats().commits, 2);
    });
}

#[test]
fn loom_a_rejected_commit_leaves_no_trace() {
    sync::model(|| {
        let e = engine(1);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let e = e.clone();
                thread::spawn(move || e.commit(1).is_ok())
            })
            .collect();
        let won: usize = handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(won, 1, "the cap admits exactly one");
        let head = e.head();
        assert_eq!((head.version, head.state), (1, 1));
        assert_eq!(sync::lock(&e.journal().inner).written, vec![(1, 1)]);
        assert_eq!(e.stats().rejects, 1);
    });
}

#[test]
fn loom_commit_with_decides_again_on_the_state_that_won() {
    sync::model(|| {
        let e = engine(100);
        let c = e.commit(1).unwrap();
        e.wait_durable(c).unwrap();
        // Each thread doubles the counter by adding what it reads. If a loser
        // re-used its stale decision, the result would be 3, not 4.
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let e = e.clone();
                thread::spawn(move || {
                    let c = e.commit_with(|count| Ok(*count)).unwrap();
                    e.wait_durable(c).unwrap();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(e.head().state, 4);
        assert_eq!(
            sync::lock(&e.journal().inner).written,
            vec![(1, 1), (2, 2), (3, 4)]
        );
    });
}

/// With `pending_max` 1 a commit may not start until the one before it is
/// durable. The committers' shared durable hint starts stale (0); a commit it
/// does not clear reads the journal's watermark and waits there. Every
/// interleaving ends with both commits won, in order, and durable: no hang on
/// the bound, no lost or doubled version.
#[test]
fn loom_pending_bound_holds_with_a_stale_durable_hint() {
    sync::model(|| {
        let e = engine_with_pending_max(100, 1);
        let handles: Vec<_> = [1u64, 10]
            .into_iter()
            .map(|add| {
                let e = e.clone();
                thread::spawn(move || {
                    let c = e.commit(add).unwrap();
                    e.wait_durable(c).unwrap();
                    c.version
                })
            })
            .collect();
        let mut versions: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        versions.sort_unstable();
        assert_eq!(versions, [1, 2]);
        assert_eq!(e.durable().version, 2);
        assert_eq!(sync::lock(&e.journal().inner).written.len(), 2);
    });
}
