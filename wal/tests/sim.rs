//! The log on simulated storage: every truncation point, every bit flip,
//! stale/misplaced/missing segments, simulated power loss over many seeds, and
//! an I/O error at every single call of a workload.
//!
//! Randomized tests print their seed; `WAL_SEED=N` runs that one seed again,
//! and `WAL_POWER_SEEDS=N` sets how many power-loss seeds run (10,000 by
//! default). A power-loss run crashes while the log's writer thread is at
//! work, so what is pending at the crash also depends on thread timing: the
//! seed replays the workload and the tearing decisions, not always the exact
//! crash.

use std::sync::Arc;
use std::time::Duration;

use wal::sim::{Fault, FaultErrno, FaultOp, SimConfig, SimStorage, TearGranularity};
use wal::{CorruptionKind, Error, Options, Recovered, Storage, Wal};

const POWER_SEEDS_DEFAULT: u64 = 10_000;
const WAIT_LIMIT: Duration = Duration::from_secs(1);

fn opts() -> Options {
    Options {
        segment_bytes: 1024,
        payload_bytes_max: 256,
        in_flight_max: 32,
        ..Options::default()
    }
}

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 29 % 90) as usize + 8;
    let mut v: Vec<u8> = (0..len).map(|i| (seq as usize * 7 + i * 3) as u8).collect();
    v[..8].copy_from_slice(&seq.to_le_bytes());
    v
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn recover(sim: &SimStorage, opts: &Options) -> wal::Result<Recovered> {
    let storage: Arc<dyn Storage> = Arc::new(sim.clone());
    Recovered::open(storage, opts)
}

/// Checks the recovered records are exactly 1..next with the right contents.
fn assert_prefix(rec: &Recovered, context: &str) {
    let mut expect = 1;
    for (seq, p) in rec.records().iter() {
        assert_eq!(seq, expect, "{context}: gap in recovered history");
        assert_eq!(
            p,
            payload(seq).as_slice(),
            "{context}: record {seq} differs"
        );
        expect += 1;
    }
    assert_eq!(expect, rec.next_seq(), "{context}");
}

/// Builds a clean log holding records 1..=n on a fresh sim.
fn build(n: u64, opts: &Options) -> SimStorage {
    let sim = SimStorage::new(SimConfig::default());
    let log: Wal = recover(&sim, opts).unwrap().start(None).unwrap();
    for seq in 1..=n {
        log.append(seq, payload(seq)).unwrap();
    }
    log.wait_durable(n).unwrap();
    log.close().unwrap();
    sim
}

fn segments(sim: &SimStorage) -> Vec<(String, Vec<u8>)> {
    sim.names()
        .into_iter()
        .filter(|n| n.ends_with(".wal"))
        .map(|n| {
            let b = sim.file_bytes(&n).unwrap();
            (n, b)
        })
        .collect()
}

fn image(files: &[(String, Vec<u8>)]) -> SimStorage {
    let sim = SimStorage::new(SimConfig::default());
    for (n, b) in files {
        sim.set_file_bytes(n, b.clone());
    }
    sim
}

/// (segment index, start, end) of every frame, in sequence order from 1.
fn frame_extents(files: &[(String, Vec<u8>)]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut seq = 1;
    for (i, (_, bytes)) in files.iter().enumerate() {
        let mut off = 0;
        while off + wal::frame::HEADER_BYTES <= bytes.len() {
            let Ok(h) = wal::frame::decode_header(&bytes[off..], 256) else {
                break;
            };
            assert_eq!(h.seq, seq);
            out.push((i, off, off + h.frame_bytes()));
            off += h.frame_bytes();
            seq += 1;
        }
    }
    out
}

#[test]
fn truncation_at_every_byte_offset_keeps_exactly_the_complete_records() {
    let opts = opts();
    let files = segments(&build(40, &opts));
    assert!(
        files.len() >= 4,
        "want a multi-segment log, got {}",
        files.len()
    );
    let extents = frame_extents(&files);
    assert_eq!(extents.len(), 40);
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    let mut base = 0;
    for (si, (_, bytes)) in files.iter().enumerate() {
        for cut in 0..=bytes.len() {
            let mut cut_files: Vec<(String, Vec<u8>)> = files[..si].to_vec();
            cut_files.push((files[si].0.clone(), bytes[..cut].to_vec()));
            let sim = image(&cut_files);
            let rec = recover(&sim, &opts).unwrap_or_else(|e| {
                panic!(
                    "cut at byte {} (segment {si}, offset {cut}): {e}",
                    base + cut
                )
            });
            let want = extents
                .iter()
                .filter(|&&(s, _, end)| s < si || (s == si && end <= cut))
                .count() as u64;
            assert_eq!(rec.next_seq(), want + 1, "cut at segment {si} offset {cut}");
            assert_prefix(&rec, &format!("cut at segment {si} offset {cut}"));
            // Now and then, prove the repaired log takes appends and reopens.
            if cut % 61 == 0 {
                let log: Wal = rec.start(None).unwrap();
                log.append(want + 1, payload(want + 1)).unwrap();
                log.wait_durable(want + 1).unwrap();
                drop(log);
                let again = recover(&sim, &opts).unwrap();
                assert_eq!(again.next_seq(), want + 2);
                assert_prefix(&again, "after append");
            }
        }
        base += bytes.len();
    }
    assert_eq!(base, total);
}

#[test]
fn every_single_bit_flip_is_detected() {
    let opts = opts();
    let files = segments(&build(50, &opts));
    let total: usize = files.iter().map(|f| f.1.len()).sum();
    assert!(total >= 4096, "log is only {total} bytes");
    let mut refused = 0u64;
    for (si, (_, bytes)) in files.iter().enumerate() {
        for bit in 0..bytes.len() * 8 {
            let mut flipped = files.clone();
            flipped[si].1[bit / 8] ^= 1 << (bit % 8);
            let sim = image(&flipped);
            match recover(&sim, &opts) {
                Err(Error::Corrupt(c)) => {
                    assert!(c.segment.ends_with(".wal"), "{c}");
                    refused += 1;
                }
                Err(e) => panic!("flip of bit {bit} in segment {si}: unexpected error {e}"),
                // Every record here was acknowledged (`build` waits for the
                // last one): a flip anywhere, the last record included, must
                // be refused, never taken for a torn write and dropped.
                Ok(rec) => panic!(
                    "flip of bit {bit} in segment {si} was accepted: torn tail {:?}, next seq {}",
                    rec.report().torn_tail,
                    rec.next_seq()
                ),
            }
        }
    }
    println!("bit flips: {refused} refused");
    assert_eq!(refused, total as u64 * 8);
}

#[test]
fn a_flip_on_read_is_refused_too() {
    let opts = opts();
    let sim = build(10, &opts);
    let first = sim
        .names()
        .into_iter()
        .find(|n| n.ends_with(".wal"))
        .unwrap();
    sim.set_read_flip(&first, Some(8 * 40 + 3));
    assert!(matches!(recover(&sim, &opts), Err(Error::Corrupt(_))));
}

fn corrupt_kind(sim: &SimStorage, opts: &Options) -> (String, u64, CorruptionKind) {
    match recover(sim, opts) {
        Err(Error::Corrupt(c)) => (c.segment, c.offset, c.kind),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn missing_stale_misplaced_and_duplicated_segments_are_refused() {
    let opts = opts();
    // Keep an old copy of the second segment while it is still being filled.
    let sim = SimStorage::new(SimConfig::default());
    let log: Wal = recover(&sim, &opts).unwrap().start(None).unwrap();
    let mut stale = None;
    for seq in 1..=40 {
        log.append(seq, payload(seq)).unwrap();
        log.wait_durable(seq).unwrap();
        let segs = segments(&sim);
        if stale.is_none() && segs.len() == 2 && seq % 2 == 0 {
            stale = Some(segs[1].clone());
        }
    }
    drop(log);
    let files = segments(&sim);
    assert!(files.len() >= 4);
    let (stale_name, stale_bytes) = stale.unwrap();

    // Missing middle segment: a gap after the one before it.
    let mut f = files.clone();
    f.remove(2);
    let (seg, _, kind) = corrupt_kind(&image(&f), &opts);
    assert_eq!(seg, files[1].0);
    assert!(matches!(kind, CorruptionKind::Gap { .. }), "{kind}");

    // Missing first segment: history before the second is gone.
    let mut f = files.clone();
    f.remove(0);
    let from_start = Options {
        recover_from: 1,
        ..opts.clone()
    };
    let (seg, _, kind) = corrupt_kind(&image(&f), &from_start);
    assert_eq!(seg, files[1].0);
    assert!(
        matches!(kind, CorruptionKind::MissingHistory { wanted: 1, .. }),
        "{kind}"
    );

    // Stale: an older copy of a sealed segment (fewer records) leaves a gap.
    let mut f = files.clone();
    assert_eq!(f[1].0, stale_name);
    f[1].1 = stale_bytes;
    let (seg, _, kind) = corrupt_kind(&image(&f), &opts);
    assert_eq!(seg, files[1].0);
    assert!(matches!(kind, CorruptionKind::Gap { .. }), "{kind}");

    // Misplaced: two segments' contents swapped.
    let mut f = files.clone();
    let tmp = f[1].1.clone();
    f[1].1 = f[2].1.clone();
    f[2].1 = tmp;
    let (seg, off, kind) = corrupt_kind(&image(&f), &opts);
    assert_eq!((seg.as_str(), off), (files[1].0.as_str(), 0));
    assert!(
        matches!(kind, CorruptionKind::WrongSegment { .. }),
        "{kind}"
    );

    // Duplicated: a copy of segment 1 under the next free name.
    let mut f = files.clone();
    let last_first: u64 = files.last().unwrap().0[..20].parse().unwrap();
    f.push((format!("{:020}.wal", last_first + 1000), files[0].1.clone()));
    let (_, _, kind) = corrupt_kind(&image(&f), &opts);
    assert!(
        matches!(
            kind,
            CorruptionKind::Gap { .. } | CorruptionKind::WrongSegment { .. }
        ),
        "{kind}"
    );

    // A record whose sequence number skips one, inside a segment.
    let mut f = files.clone();
    let extents = frame_extents(&files);
    let (si, start, _) = extents[extents.iter().position(|e| e.0 == 0).unwrap() + 1];
    let mut fake = Vec::new();
    wal::frame::encode(&mut fake, 99, 1, &payload(2));
    f[si].1[start..start + fake.len()].copy_from_slice(&fake);
    let (_, off, kind) = corrupt_kind(&image(&f), &opts);
    assert_eq!(off, start as u64);
    assert_eq!(
        kind,
        CorruptionKind::WrongSequence {
            expected: 2,
            found: 99
        }
    );

    // A stray file in the log directory.
    let mut f = files.clone();
    f.push(("notes.txt".into(), b"hello".to_vec()));
    let (seg, _, kind) = corrupt_kind(&image(&f), &opts);
    assert_eq!(
        (seg.as_str(), kind),
        ("notes.txt", CorruptionKind::UnexpectedFile)
    );
}

#[test]
fn a_frame_from_a_future_format_version_is_refused_with_advice() {
    let opts = opts();
    let mut files = segments(&build(3, &opts));
    let bytes = &mut files[0].1;
    bytes[4] = 2; // version 2
    let crc = crc32c::crc32c(&bytes[..28]);
    bytes[28..32].copy_from_slice(&crc.to_le_bytes());
    let (_, off, kind) = corrupt_kind(&image(&files), &opts);
    assert_eq!(
        (off, kind.clone()),
        (0, CorruptionKind::FutureVersion { found: 2 })
    );
    assert!(kind.to_string().contains("upgrade"), "{kind}");
}

/// One power-loss run: append with a pipelined producer, crash at a random
/// moment, recover, check.
fn power_loss_run(seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let config = SimConfig {
        seed,
        tear_granularity: if rng.bool() {
            TearGranularity::Sector512
        } else {
            TearGranularity::Page4096
        },
        ..SimConfig::default()
    };
    let opts = opts();
    let sim = SimStorage::new(config);
    let mut acked = 0;
    let mut current = sim;
    // Two crash cycles per seed: the second recovers a log that already went
    // through one crash and repair.
    for cycle in 0..2 {
        let ctx = format!("WAL_SEED={seed} cycle {cycle}");
        let rec = recover(&current, &opts).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_prefix(&rec, &ctx);
        assert!(
            rec.next_seq() > acked,
            "{ctx}: acked {acked}, recovered {}",
            rec.next_seq() - 1
        );
        let first = rec.next_seq();
        let log: Wal = rec.start(None).unwrap();
        let appends = rng.u64(0..40);
        for seq in first..first + appends {
            log.append(seq, payload(seq)).unwrap();
            if rng.u8(0..4) == 0 {
                log.wait_durable(seq).unwrap();
            }
        }
        if rng.bool() {
            std::thread::yield_now();
        }
        let crashed = current.crash();
        // Whatever the watermark says now was fsynced before the crash: the
        // crash fails every later fsync.
        acked = acked.max(log.durable_seq());
        drop(log);
        current = crashed;
    }
    let rec = recover(&current, &opts).unwrap_or_else(|e| panic!("WAL_SEED={seed} final: {e}"));
    assert_prefix(&rec, &format!("WAL_SEED={seed} final"));
    assert!(
        rec.next_seq() > acked,
        "WAL_SEED={seed}: acked {acked} lost"
    );
}

#[test]
fn simulated_power_loss_never_loses_an_acknowledged_record() {
    if let Some(seed) = env_u64("WAL_SEED") {
        println!("power loss: replaying WAL_SEED={seed}");
        power_loss_run(seed);
        return;
    }
    let seeds = env_u64("WAL_POWER_SEEDS").unwrap_or(POWER_SEEDS_DEFAULT);
    let base = fastrand::u64(..);
    println!("power loss: {seeds} seeds from {base} (replay one with WAL_SEED=N)");
    for i in 0..seeds {
        power_loss_run(base.wrapping_add(i));
    }
}

/// The workload of the I/O-error test: open, then append and wait record by
/// record, so that every run makes the same calls (a pipelined workload
/// batches by timing, which would move the k-th call around). Returns (acked,
/// first error seen).
fn error_workload(sim: &SimStorage, opts: &Options) -> (u64, Option<Error>) {
    let rec = match recover(sim, opts) {
        Ok(r) => r,
        Err(e) => return (0, Some(e)),
    };
    let log: Wal = rec.start(None).unwrap();
    let mut acked = 0;
    let mut first_error = None;
    for seq in 1..=30u64 {
        if let Err(e) = log.append(seq, payload(seq)) {
            first_error.get_or_insert(e);
            continue;
        }
        match log.wait_durable_timeout(seq, WAIT_LIMIT) {
            Ok(()) => {
                assert!(first_error.is_none(), "acknowledged {seq} after an error");
                acked = seq;
            }
            Err(Error::TimedOut { .. }) => panic!("waiter hung on {seq}"),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if first_error.is_some() {
        // Poisoned: the watermark never moves again, and waits return at once.
        let d = log.durable_seq();
        std::thread::sleep(Duration::from_millis(1));
        assert_eq!(d, log.durable_seq());
        assert!(matches!(
            log.wait_durable_timeout(1000, WAIT_LIMIT),
            Err(Error::Poisoned(_))
        ));
    }
    // Whatever the watermark reached was fsynced: count it as acknowledged.
    acked = acked.max(log.durable_seq());
    // Closing joins the writer and its segment preallocator: an error while
    // preparing a spare segment that was never used surfaces here.
    if let Err(e) = log.close() {
        first_error.get_or_insert(e);
    }
    (acked, first_error)
}

#[test]
fn an_io_error_at_every_call_stops_the_log_and_loses_no_ack() {
    let opts = opts();
    let reference = SimStorage::new(SimConfig::default());
    let (acked, err) = error_workload(&reference, &opts);
    assert_eq!((acked, err.is_none()), (30, true));
    let total = reference.op_count(FaultOp::Any);
    assert!(total > 20, "workload made only {total} calls");
    let mut failures = 0;
    for errno in [FaultErrno::Eio, FaultErrno::Enospc] {
        for k in 1..=total {
            let sim = SimStorage::new(SimConfig {
                seed: k,
                fault: Some(Fault {
                    op: FaultOp::Any,
                    nth: k,
                    errno,
                }),
                ..SimConfig::default()
            });
            let (acked, err) = error_workload(&sim, &opts);
            let err = err.unwrap_or_else(|| panic!("{errno:?} at call {k} went unnoticed"));
            let code = match &err {
                Error::Poisoned(cause) => match cause.as_ref() {
                    Error::Io { source, .. } => source.raw_os_error(),
                    _ => None,
                },
                Error::Io { source, .. } => source.raw_os_error(),
                _ => None,
            };
            assert_eq!(
                code,
                Some(errno.raw_os_error()),
                "{errno:?} at call {k}: {err}"
            );
            failures += 1;
            // Reopen after a power loss: a prefix holding every ack.
            let rec = recover(&sim.crash(), &opts)
                .unwrap_or_else(|e| panic!("{errno:?} at call {k}: reopen failed: {e}"));
            assert_prefix(&rec, &format!("{errno:?} at call {k}"));
            assert!(rec.next_seq() > acked, "{errno:?} at call {k}: ack lost");
        }
    }
    println!("io errors: {failures} injected over {total} calls");
}

#[test]
fn short_writes_are_completed() {
    let opts = opts();
    let sim = SimStorage::new(SimConfig {
        seed: 7,
        short_write_probability: 0.5,
        ..SimConfig::default()
    });
    let log: Wal = recover(&sim, &opts).unwrap().start(None).unwrap();
    for seq in 1..=50 {
        log.append(seq, payload(seq)).unwrap();
    }
    log.wait_durable(50).unwrap();
    drop(log);
    let rec = recover(&sim, &opts).unwrap();
    assert_eq!(rec.next_seq(), 51);
    assert_prefix(&rec, "short writes");
}

#[test]
fn open_observed_reports_each_segment_checked() {
    let o = opts();
    let sim = build(60, &o);
    let want = segments(&sim).len() as u64;
    assert!(
        want >= 3,
        "the log should span several segments, got {want}"
    );
    let mut seen = Vec::new();
    let storage: Arc<dyn Storage> = Arc::new(sim.clone());
    let rec =
        Recovered::open_observed(storage, &o, &mut |done, total| seen.push((done, total))).unwrap();
    assert_prefix(&rec, "observed open");
    let expected: Vec<(u64, u64)> = (0..=want).map(|d| (d, want)).collect();
    assert_eq!(seen, expected);
}

/// An earlier writer's spare segment is left by the open (unlinking one is
/// slow) and removed by the new writer's preallocator before it makes its
/// own: after a restart that rotates again there is still one spare, and the
/// log is whole.
#[test]
fn an_earlier_writers_spare_is_removed_by_the_next_writer() {
    let o = opts();
    let sim = build(60, &o);
    let spares = |sim: &SimStorage| -> Vec<String> {
        sim.names()
            .into_iter()
            .filter(|n| n.starts_with("spare-"))
            .collect()
    };
    let left = spares(&sim);
    assert_eq!(left.len(), 1, "the first writer keeps one spare ready");
    let rec = recover(&sim, &o).unwrap();
    assert_eq!(rec.report().temp_files_removed, left);
    assert_eq!(spares(&sim), left, "the open itself leaves the spare");
    let log: Wal = rec.start(None).unwrap();
    for seq in 61..=120 {
        log.append(seq, payload(seq)).unwrap();
    }
    log.wait_durable(120).unwrap();
    log.close().unwrap();
    assert_eq!(spares(&sim).len(), 1, "{:?}", sim.names());
    let rec = recover(&sim, &o).unwrap();
    assert_prefix(&rec, "after a restart that rotated");
    assert_eq!(rec.next_seq(), 121);
}
