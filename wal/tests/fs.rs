//! The log on the real filesystem: round trips, rotation, ordering, truncation
//! of old segments, locking and inspection while a writer runs.

use std::sync::Arc;
use std::thread;

use wal::{Error, FsStorage, Options, Recovered, Storage, Wal};

fn small() -> Options {
    Options {
        segment_bytes: 4096,
        payload_bytes_max: 512,
        in_flight_max: 64,
        ..Options::default()
    }
}

fn payload(seq: u64) -> Vec<u8> {
    // Varying lengths, content derived from the sequence number.
    let len = (seq * 37 % 200) as usize + 1;
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

fn open(dir: &std::path::Path, opts: &Options) -> Recovered {
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir).unwrap());
    Recovered::open(storage, opts).unwrap()
}

#[test]
fn records_survive_close_and_reopen_across_rotations() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small();
    let rec = open(dir.path(), &opts);
    assert_eq!(rec.next_seq(), 1);
    let log: Wal = rec.start(None).unwrap();
    for seq in 1..=300 {
        log.append(seq, payload(seq)).unwrap();
    }
    log.wait_durable(300).unwrap();
    assert_eq!(log.close().unwrap(), 300);

    let rec = open(dir.path(), &opts);
    assert_eq!(rec.next_seq(), 301);
    assert!(
        rec.report().segments.len() > 5,
        "expected rotation: {:?}",
        rec.report()
    );
    assert_eq!(rec.report().torn_tail, None);
    let got: Vec<(u64, Vec<u8>)> = rec.records().iter().map(|(s, p)| (s, p.to_vec())).collect();
    let want: Vec<(u64, Vec<u8>)> = (1..=300).map(|s| (s, payload(s))).collect();
    assert_eq!(got, want);
    // Appending continues where it stopped.
    let log: Wal = rec.start(None).unwrap();
    log.append(301, payload(301)).unwrap();
    log.wait_durable(301).unwrap();
    drop(log);
    assert_eq!(open(dir.path(), &opts).next_seq(), 302);
}

#[test]
fn out_of_order_producers_are_written_in_sequence_order() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small();
    let log: Arc<Wal> = Arc::new(open(dir.path(), &opts).start(None).unwrap());
    let threads = 4u64;
    let per_thread = 200u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            thread::spawn(move || {
                // Thread t owns the sequence numbers congruent to t, so producers
                // interleave and arrive out of order.
                for i in 0..per_thread {
                    let seq = 1 + t + i * threads;
                    log.append(seq, payload(seq)).unwrap();
                    if i % 7 == 0 {
                        log.wait_durable(seq).unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let last = threads * per_thread;
    log.wait_durable(last).unwrap();
    drop(log);
    let rec = open(dir.path(), &opts);
    let seqs: Vec<u64> = rec.records().iter().map(|(s, _)| s).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    for (s, p) in rec.records().iter() {
        assert_eq!(p, payload(s).as_slice(), "record {s}");
    }
}

#[test]
fn durable_hook_runs_before_waiters_wake() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let hook_seen = seen.clone();
    let log: Wal = open(dir.path(), &small())
        .start(Some(Box::new(move |n, rec: &Vec<u8>| {
            assert_eq!(rec, &payload(n), "the hook gets the record that carries n");
            hook_seen.store(n, std::sync::atomic::Ordering::SeqCst)
        })))
        .unwrap();
    for seq in 1..=50 {
        log.append(seq, payload(seq)).unwrap();
        log.wait_durable(seq).unwrap();
        assert!(seen.load(std::sync::atomic::Ordering::SeqCst) >= seq);
    }
}

#[test]
fn truncate_before_removes_only_fully_older_segments() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small();
    let log: Wal = open(dir.path(), &opts).start(None).unwrap();
    for seq in 1..=200 {
        log.append(seq, payload(seq)).unwrap();
    }
    log.wait_durable(200).unwrap();
    let before = open_report(dir.path(), &opts);
    let keep_from = 120;
    let removed = log.truncate_before(keep_from).unwrap();
    assert!(removed > 0);
    drop(log);
    let after = open_report(dir.path(), &opts);
    assert_eq!(after.segments.len(), before.segments.len() - removed);
    assert!(after.first_seq <= keep_from, "{after:?}");
    // Every remaining record is intact and asking for older history fails.
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir.path()).unwrap());
    let err = Recovered::open(
        storage,
        &Options {
            recover_from: 1,
            ..opts.clone()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("segment is missing"), "{err}");
    let rec = open(
        dir.path(),
        &Options {
            recover_from: keep_from,
            ..opts
        },
    );
    let seqs: Vec<u64> = rec.records().iter().map(|(s, _)| s).collect();
    assert_eq!(seqs, (keep_from..=200).collect::<Vec<_>>());
}

fn open_report(dir: &std::path::Path, opts: &Options) -> wal::RecoveryReport {
    let storage = FsStorage::existing(dir).unwrap();
    wal::inspect(&storage, opts).unwrap().1
}

#[test]
fn second_writer_is_refused_with_the_holder_pid_and_readers_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small();
    let log: Wal = open(dir.path(), &opts).start(None).unwrap();
    log.append(1, b"x".to_vec()).unwrap();
    log.wait_durable(1).unwrap();
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir.path()).unwrap());
    match Recovered::open(storage, &opts) {
        Err(Error::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
        other => panic!("expected Locked, got {other:?}"),
    }
    let (records, report) = wal::inspect(&FsStorage::existing(dir.path()).unwrap(), &opts).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(report.next_seq, 2);
    drop(log);
    // Released on drop.
    let _ = open(dir.path(), &opts);
}

#[test]
fn misuse_is_refused_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let opts = small();
    let log: Wal = open(dir.path(), &opts).start(None).unwrap();
    log.append(1, b"a".to_vec()).unwrap();
    log.wait_durable(1).unwrap();
    assert!(matches!(
        log.append(1, b"again".to_vec()),
        Err(Error::Invalid(_))
    ));
    // An oversized record poisons the log (a caller bug), and nothing after it is
    // acknowledged.
    log.append(2, vec![0u8; 513]).unwrap();
    assert!(matches!(log.wait_durable(2), Err(Error::Poisoned(_))));
    assert!(matches!(
        log.append(3, b"c".to_vec()),
        Err(Error::Poisoned(_))
    ));
    drop(log);
    let rec = open(dir.path(), &opts);
    assert_eq!(rec.next_seq(), 2);
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir.path()).unwrap());
    let opts = Options {
        segment_bytes: 100,
        ..Options::default()
    };
    let err = Recovered::open(storage, &opts).unwrap_err();
    assert!(err.to_string().contains("segment_bytes"), "{err}");
}

#[test]
fn a_panicking_durable_hook_poisons_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let log: Wal = open(dir.path(), &small())
        .start(Some(Box::new(|n, _: &Vec<u8>| {
            assert!(n < 3, "hook refuses {n}");
        })))
        .unwrap();
    for seq in 1..=3 {
        log.append(seq, payload(seq)).unwrap();
        let r = log.wait_durable_timeout(seq, std::time::Duration::from_secs(5));
        if seq < 3 {
            r.unwrap();
        } else {
            assert!(matches!(r, Err(Error::Poisoned(_))), "{seq}: {r:?}");
        }
    }
    assert!(matches!(log.append(4, payload(4)), Err(Error::Poisoned(_))));
    assert_eq!(log.durable_seq(), 2);
}
