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
    type Image = u64;
    fn image(s: &u64) -> u64 {
        *s
    }
    fn apply(&self, s: &u64, add: &u64) -> Result<u64, String> {
        if *add == 0 {
            return Err("adding 0 changes nothing".into());
        }
        Ok(s + add)
    }
}

impl RecordCodec for Counter {
    fn encode(op: &u64, post: &u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&op.to_le_bytes());
        out.extend_from_slice(&post.to_le_bytes());
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

/// The durable view reached through a cached reader and the head read in
/// place agree with `durable()` and `head()`: a reader that keeps the state it
/// last saw still sees every newer durable state once it is acknowledged, and
/// never a state that is not durable.
#[test]
fn a_cached_durable_reader_follows_the_durable_view() {
    let sim = SimStorage::new(SimConfig::default());
    let engine = Arc::new(start(&sim));
    let mut reader = engine.durable_reader();
    assert_eq!(reader.get().version, 0);
    let writer = {
        let e = engine.clone();
        std::thread::spawn(move || {
            for _ in 0..500 {
                let _ = e.commit(2).unwrap();
            }
        })
    };
    // Bound: 500 commits; each turn reads while the writer commits.
    let mut last = 0;
    for _ in 0..2_000 {
        let (version, state) = reader.read(|v| (v.version, v.state));
        assert!(
            version >= last,
            "the durable view went back: {version} < {last}"
        );
        assert_eq!(state, 2 * version, "a durable state is a committed one");
        assert!(version <= engine.head().version, "durable ahead of head");
        last = version;
    }
    writer.join().unwrap();
    let c = engine.commit(1).unwrap();
    engine.wait_durable(c).unwrap();
    assert_eq!(reader.get().version, c.version, "seen once acknowledged");
    assert_eq!(reader.read(|v| v.state), 1001);
    assert_eq!(engine.with_head(|h| (h.version, h.state)), (501, 1001));
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

mod persisted {
    use super::*;
    use dhan_scalper::engine::{Persist, RecoveryError, Stores, recovery};

    impl Persist for Counter {
        type Post = u64;
        fn initial(&self) -> u64 {
            0
        }
        fn decode_record(bytes: &[u8]) -> Result<(u64, u64), String> {
            if bytes.len() != 16 {
                return Err(format!("{} bytes, expected 16", bytes.len()));
            }
            Ok((
                u64::from_le_bytes(bytes[..8].try_into().unwrap()),
                u64::from_le_bytes(bytes[8..].try_into().unwrap()),
            ))
        }
        fn post_matches(state: &u64, post: &u64) -> bool {
            state == post
        }
        fn encode_state(state: &u64) -> Vec<u8> {
            state.to_le_bytes().to_vec()
        }
        fn decode_state(bytes: &[u8]) -> Result<u64, String> {
            Ok(u64::from_le_bytes(
                bytes.try_into().map_err(|_| "not 8 bytes")?,
            ))
        }
    }

    fn stores() -> (SimStorage, SimStorage, Stores) {
        let (w, s) = (
            SimStorage::new(SimConfig::default()),
            SimStorage::new(SimConfig::default()),
        );
        let stores = Stores {
            wal: Arc::new(w.clone()),
            snapshots: Arc::new(s.clone()),
        };
        (w, s, stores)
    }

    fn opts() -> wal::Options {
        wal::Options {
            segment_bytes: 4096,
            payload_bytes_max: 64,
            ..wal::Options::default()
        }
    }

    type Opened = (Engine<Counter, WalJournal<Counter>>, recovery::RecoveryInfo);

    fn open(stores: &Stores) -> Result<Opened, RecoveryError> {
        recovery::open(Counter, stores, &opts(), 256)
    }

    fn commit_n(e: &Engine<Counter, WalJournal<Counter>>, n: u64) {
        for _ in 0..n {
            let c = e.commit(1).unwrap();
            e.wait_durable(c).unwrap();
        }
    }

    #[test]
    fn snapshots_cut_replay_and_old_segments_and_recovery_is_exact() {
        let (wal_sim, snap_sim, stores) = stores();
        let (e, info) = open(&stores).unwrap();
        assert_eq!(
            (info.version, info.replayed, info.snapshot_version),
            (0, 0, 0)
        );
        commit_n(&e, 300);
        assert_eq!(e.checkpoint(&stores).unwrap(), 300);
        commit_n(&e, 300);
        let segments_before = wal_sim.names().len();
        assert_eq!(e.checkpoint(&stores).unwrap(), 600);
        assert!(
            wal_sim.names().len() < segments_before,
            "old segments were kept"
        );
        commit_n(&e, 50);
        drop(e);
        let (e, info) = open(&stores).unwrap();
        assert_eq!(
            (info.snapshot_version, info.replayed, info.version),
            (600, 50, 650)
        );
        assert_eq!(e.head().state, 650);

        // A damaged newest snapshot falls back to the older one and replays more.
        drop(e);
        let newest = snap_sim.names().into_iter().max().unwrap();
        let mut bytes = snap_sim.file_bytes(&newest).unwrap();
        bytes[35] ^= 4;
        snap_sim.set_file_bytes(&newest, bytes);
        let (e, info) = open(&stores).unwrap();
        assert_eq!((info.snapshot_version, info.replayed), (300, 350));
        assert_eq!(info.snapshots_skipped.len(), 1);
        assert_eq!(e.head().state, 650);
    }

    #[test]
    fn checkpoints_come_every_n_records() {
        let (_, snap_sim, stores) = stores();
        let (e, _) = open(&stores).unwrap();
        let mut written = Vec::new();
        for _ in 0..25 {
            commit_n(&e, 10);
            if let Some(v) = e.maybe_checkpoint(&stores, 100).unwrap() {
                written.push(v);
            }
        }
        assert_eq!(written, [100, 200]);
        assert_eq!(snap_sim.names().len(), 2);
    }

    #[test]
    fn a_record_whose_post_image_disagrees_is_refused_by_version() {
        let (wal_sim, _, stores) = stores();
        // Write a log by hand: two good records, then one that lies.
        let rec = wal::Recovered::open(stores.wal.clone(), &opts()).unwrap();
        let log: wal::Wal = rec.start(None).unwrap();
        for (seq, (op, post)) in [(1u64, 1u64), (2, 3), (1, 999)].into_iter().enumerate() {
            let mut b = op.to_le_bytes().to_vec();
            b.extend_from_slice(&post.to_le_bytes());
            log.append(seq as u64 + 1, b).unwrap();
        }
        log.wait_durable(3).unwrap();
        drop(log);
        let segments = |sim: &SimStorage| -> Vec<(String, Vec<u8>)> {
            sim.names()
                .into_iter()
                .filter(|n| n.ends_with(".wal"))
                .map(|n| (n.clone(), sim.file_bytes(&n).unwrap()))
                .collect()
        };
        let before = segments(&wal_sim);
        match open(&stores) {
            Err(RecoveryError::Replay { version: 3, why }) => {
                assert!(why.contains("post-image"), "{why}")
            }
            other => panic!("expected a replay error at 3, got {:?}", other.map(|o| o.1)),
        }
        assert_eq!(
            segments(&wal_sim),
            before,
            "a refused recovery changed the log"
        );
    }

    /// A log long enough that recovery decodes on a helper thread while it
    /// replays: a clean one recovers exactly, and a bad record deep in it is
    /// refused by its own version even when a later record is bad too (the
    /// helper decodes ahead, but refusals come in version order).
    #[test]
    fn a_long_log_replays_in_order_and_refuses_the_first_bad_record() {
        const RECORDS: u64 = 10_000;
        /// Records to damage: (version, "lies" or "short").
        type Damage = &'static [(u64, &'static str)];
        /// The refusal expected: (version, words in it); `None`: recovers.
        type Expected = Option<(u64, &'static str)>;
        let cases: [(Damage, Expected); 3] = [
            (&[], None),
            (
                &[(7_000, "lies"), (9_000, "short")],
                Some((7_000, "post-image")),
            ),
            (
                &[(6_001, "short"), (8_000, "lies")],
                Some((6_001, "expected 16")),
            ),
        ];
        for (damage, expected) in cases {
            let (_, _, stores) = stores();
            let rec = wal::Recovered::open(stores.wal.clone(), &opts()).unwrap();
            let log: wal::Wal = rec.start(None).unwrap();
            for seq in 1..=RECORDS {
                let mut b = 1u64.to_le_bytes().to_vec();
                match damage.iter().find(|d| d.0 == seq).map(|d| d.1) {
                    Some("lies") => b.extend_from_slice(&(seq + 1).to_le_bytes()),
                    Some(_) => b.extend_from_slice(&[0u8; 3]),
                    None => b.extend_from_slice(&seq.to_le_bytes()),
                }
                log.append(seq, b).unwrap();
            }
            log.wait_durable(RECORDS).unwrap();
            drop(log);
            match (open(&stores), expected) {
                (Ok((e, info)), None) => {
                    assert_eq!((info.replayed, info.version), (RECORDS, RECORDS));
                    assert_eq!(e.head().state, RECORDS);
                }
                (Err(RecoveryError::Replay { version, why }), Some((at, words))) => {
                    assert_eq!(version, at, "{why}");
                    assert!(why.contains(words), "{why}");
                }
                (other, _) => panic!(
                    "damage {damage:?}: expected {expected:?}, got {:?}",
                    other.map(|o| o.1)
                ),
            }
        }
    }

    /// Progress: the scan counts segments (0, then one report per segment),
    /// the replay counts records: its reports come after the scan's (the
    /// replay runs alongside the scan, so the first may be past 0), only
    /// grow, keep one total, end at it, and come at a bounded rate (after the
    /// scan, at most one per 65,536 records, and the end).
    #[test]
    fn recovery_reports_its_progress_per_phase() {
        use recovery::{PROGRESS_EVERY_RECORDS, RecoveryPhase, RecoveryProgress};
        const RECORDS: u64 = 150_000;
        let (wal_sim, _, stores) = stores();
        let big = wal::Options {
            segment_bytes: 1 << 20,
            ..opts()
        };
        let rec = wal::Recovered::open(stores.wal.clone(), &big).unwrap();
        let log: wal::Wal = rec.start(None).unwrap();
        for seq in 1..=RECORDS {
            let mut b = 1u64.to_le_bytes().to_vec();
            b.extend_from_slice(&seq.to_le_bytes());
            log.append(seq, b).unwrap();
        }
        log.wait_durable(RECORDS).unwrap();
        drop(log);
        let segments = wal_sim
            .names()
            .iter()
            .filter(|n| n.ends_with(".wal"))
            .count() as u64;
        assert!(segments >= 2, "expected several segments, got {segments}");

        let mut seen: Vec<RecoveryProgress> = Vec::new();
        let (e, info) =
            recovery::open_observed(Counter, &stores, &big, 256, &mut |p| seen.push(p)).unwrap();
        assert_eq!((info.replayed, e.head().state), (RECORDS, RECORDS));
        let phase = |ph| -> Vec<(u64, u64)> {
            seen.iter()
                .filter(|p| p.phase == ph)
                .map(|p| (p.done, p.total))
                .collect()
        };
        let scan = phase(RecoveryPhase::Scan);
        let expected_scan: Vec<(u64, u64)> = (0..=segments).map(|d| (d, segments)).collect();
        assert_eq!(scan, expected_scan);
        let replay = phase(RecoveryPhase::Replay);
        assert!(
            replay.iter().all(|&(_, total)| total == RECORDS),
            "{replay:?}"
        );
        assert!(replay.windows(2).all(|w| w[0].0 < w[1].0), "{replay:?}");
        assert_eq!(replay.last(), Some(&(RECORDS, RECORDS)));
        // Hand-computed bound: the report after the scan, at most one per
        // 65,536 records after it (150,000 / 65,536 < 3), and the end.
        let most = 1 + (RECORDS / PROGRESS_EVERY_RECORDS) as usize + 1;
        assert!(!replay.is_empty() && replay.len() <= most, "{replay:?}");
        // Scan first, then replay.
        let first_replay = seen
            .iter()
            .position(|p| p.phase == RecoveryPhase::Replay)
            .unwrap();
        assert!(
            seen[first_replay..]
                .iter()
                .all(|p| p.phase == RecoveryPhase::Replay)
        );

        // An empty replay still reports its start and end in one call.
        drop(e);
        let mut seen: Vec<RecoveryProgress> = Vec::new();
        let (e, _) = recovery::open(Counter, &stores, &big, 256).unwrap();
        e.checkpoint(&stores).unwrap();
        drop(e);
        let (_, info) =
            recovery::open_observed(Counter, &stores, &big, 256, &mut |p| seen.push(p)).unwrap();
        assert_eq!(info.replayed, 0);
        let last = seen.last().copied().unwrap();
        assert_eq!(
            (last.phase, last.done, last.total),
            (RecoveryPhase::Replay, 0, 0)
        );
    }

    /// Recovery replays while it scans, but the verdict is the same as
    /// scanning first: a damaged segment after a record that lies is
    /// reported as the damage, and the lie alone as the lie.
    #[test]
    fn a_damaged_segment_is_reported_before_an_earlier_record_that_lies() {
        const RECORDS: u64 = 10_000;
        for damaged in [true, false] {
            let (wal_sim, _, stores) = stores();
            let rec = wal::Recovered::open(stores.wal.clone(), &opts()).unwrap();
            let log: wal::Wal = rec.start(None).unwrap();
            for seq in 1..=RECORDS {
                let post = if seq == 100 { seq + 1 } else { seq };
                let mut b = 1u64.to_le_bytes().to_vec();
                b.extend_from_slice(&post.to_le_bytes());
                log.append(seq, b).unwrap();
            }
            log.wait_durable(RECORDS).unwrap();
            drop(log);
            let mut names: Vec<String> = wal_sim
                .names()
                .into_iter()
                .filter(|n| n.ends_with(".wal"))
                .collect();
            names.sort();
            assert!(names.len() > 10, "{names:?}");
            if damaged {
                let middle = &names[names.len() / 2];
                let mut bytes = wal_sim.file_bytes(middle).unwrap();
                bytes[40] ^= 1;
                wal_sim.set_file_bytes(middle, bytes);
            }
            match (open(&stores), damaged) {
                (Err(RecoveryError::Log(e)), true) => {
                    assert!(matches!(e, wal::Error::Corrupt(_)), "{e}")
                }
                (Err(RecoveryError::Replay { version: 100, why }), false) => {
                    assert!(why.contains("post-image"), "{why}")
                }
                (other, _) => panic!("damaged {damaged}: unexpected {:?}", other.map(|o| o.1)),
            }
        }
    }

    #[test]
    fn a_log_that_ends_before_the_snapshot_is_refused() {
        let (wal_sim, _, stores) = stores();
        let (e, _) = open(&stores).unwrap();
        commit_n(&e, 20);
        e.checkpoint(&stores).unwrap();
        drop(e);
        for n in wal_sim.names() {
            wal_sim.delete_file(&n);
        }
        match open(&stores) {
            Err(RecoveryError::Log(err)) => {
                assert!(err.to_string().contains("tail is missing"), "{err}")
            }
            other => panic!("expected a log error, got {:?}", other.map(|o| o.1)),
        }
    }
}
