//! The engine over the real write-ahead log (on simulated storage): commits
//! become durable in version order, the durable view follows the log, and an
//! I/O error stops the engine without acknowledging anything after it.

use std::sync::Arc;

use dhan_scalper::engine::{
    CommitError, Engine, Machine, RecordCodec, ReferenceEngine, Versioned, WalJournal,
};
use dhan_scalper::sync::AtomicArc;
use wal::sim::{Fault, FaultErrno, FaultOp, SimConfig, SimStorage};

struct Counter;

impl Machine for Counter {
    type State = u64;
    type Op = u64;
    type Reject = String;
    fn apply(&self, s: &u64, add: &u64) -> Result<u64, String> {
        if *add == 0 {
            return Err("adding 0 changes nothing".into());
        }
        Ok(s + add)
    }
}

impl RecordCodec for Counter {
    fn encode(op: &u64, post: &Versioned<u64>, out: &mut Vec<u8>) {
        out.extend_from_slice(&op.to_le_bytes());
        out.extend_from_slice(&post.state.to_le_bytes());
    }
}

type CounterEngine = Engine<Counter, WalJournal<Counter>>;

fn start(sim: &SimStorage) -> CounterEngine {
    let storage: Arc<dyn wal::Storage> = Arc::new(sim.clone());
    let opts = wal::Options {
        segment_bytes: 64 << 10,
        payload_bytes_max: 1024,
        ..wal::Options::default()
    };
    let recovered = wal::Recovered::open(storage, &opts).unwrap();
    // Rebuild the state by re-applying the log, checking each post-image.
    let mut state = Versioned {
        version: 0,
        state: 0u64,
    };
    for (seq, bytes) in recovered.records().iter() {
        let op = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let post = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
        state.state = Counter.apply(&state.state, &op).unwrap();
        state.version = seq;
        assert_eq!(
            state.state, post,
            "replay of {seq} disagrees with its post-image"
        );
    }
    let initial = Arc::new(state);
    let durable = Arc::new(AtomicArc::new(initial.clone()));
    let journal = WalJournal::start(recovered, durable.clone()).unwrap();
    Engine::new(Counter, initial, durable, journal, 1024)
}

#[test]
fn commits_are_durable_in_order_and_the_durable_view_follows() {
    let sim = SimStorage::new(SimConfig::default());
    let engine = Arc::new(start(&sim));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let e = engine.clone();
            std::thread::spawn(move || {
                for i in 0..250u64 {
                    let c = e.commit(1 + (t + i) % 3).unwrap();
                    if i % 10 == 0 {
                        e.wait_durable(c).unwrap();
                        assert!(e.durable().version >= c.version);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(matches!(engine.commit(0), Err(CommitError::Rejected(_))));
    let head = engine.head();
    assert_eq!(head.version, 1000);
    engine
        .wait_durable(dhan_scalper::engine::Commit { version: 1000 })
        .unwrap();
    assert_eq!(*engine.durable(), *head);
    let stats = engine.stats();
    assert_eq!((stats.commits, stats.rejects), (1000, 1));
    drop(engine);
    // Recovery replays to the same state (the replay checks every post-image).
    let again = start(&sim);
    assert_eq!(*again.head(), *head);
    // The same operations on the reference engine give the same total.
    let reference = ReferenceEngine::new(
        Counter,
        Versioned {
            version: 0,
            state: 0,
        },
    );
    for t in 0..4u64 {
        for i in 0..250u64 {
            reference.commit(&(1 + (t + i) % 3)).unwrap();
        }
    }
    reference.with_state(|s| assert_eq!((s.version, s.state), (head.version, head.state)));
}

#[test]
fn an_fsync_error_stops_the_engine_and_nothing_after_it_is_acknowledged() {
    let sim = SimStorage::new(SimConfig {
        // The log's own creation uses a few syncs; fail one of the commits'.
        fault: Some(Fault {
            op: FaultOp::Sync,
            nth: 6,
            errno: FaultErrno::Eio,
        }),
        ..SimConfig::default()
    });
    let engine = start(&sim);
    let mut acked = 0;
    let mut stopped = false;
    for _ in 0..50 {
        match engine.commit(1) {
            Ok(c) => match engine.wait_durable(c) {
                Ok(()) => {
                    assert!(!stopped, "acknowledged after the error");
                    acked = c.version;
                }
                Err(e) => {
                    assert!(e.to_string().contains("Input/output error"), "{e}");
                    stopped = true;
                }
            },
            Err(CommitError::Poisoned(_)) => stopped = true,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(stopped, "the injected EIO went unnoticed");
    assert_eq!(
        engine.durable().version,
        acked,
        "the durable view shows only acknowledged commits"
    );
    drop(engine);
    let recovered = start(&sim.crash());
    assert!(
        recovered.head().version >= acked,
        "lost an acknowledged commit"
    );
}
