//! `wal` benchmarks, each against its baseline in the same criterion group, so
//! the ratio comes from one run on one machine.
//!
//! - `durable_append_latency/{wal,raw_pwrite_fdatasync}`: one producer, 88-byte
//!   records, `append(seq)` then `wait_durable(seq)`, one at a time; the baseline
//!   is `pwrite` of the same 124-byte frame at increasing offsets plus
//!   `fdatasync`, into a preallocated, zero-filled, synced file. After the group
//!   it prints p50 and p99 of both, from interleaved blocks of single operations.
//! - `pipelined_throughput/{wal_1_producer,wal_2_producers,raw_batch_4096}`:
//!   producers append without waiting, then wait for the last record; the
//!   baseline writes the same frames with one `pwrite` and one `fdatasync` per
//!   batch of 4096 records. After the group it prints the batch size the writer
//!   formed on its own.
//! - `recovery_scan/{open,inspect}`: `Recovered::open` (lock, fdatasync of every
//!   segment, scan) and `wal::inspect` (read-only) of a 1 M-record log of
//!   88-byte records, in records/s and bytes/s.
//!
//! Files live under `CARGO_TARGET_TMPDIR` (the target directory, so the same
//! filesystem as the build). Logs use the production `Options` (64 MiB
//! segments).
//!
//! `cargo test --benches` (criterion's test mode) runs every benchmark once with
//! 2 MiB segments and a 10 k-record recovery log, so it takes a few seconds.
//! Fixtures are built lazily, inside the benchmark closure, so a filter that
//! skips a benchmark also skips its setup.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use tempfile::TempDir;
use wal::baseline::RawFile;
use wal::{FsStorage, Options, Recovered, Wal, frame};

/// Payload bytes of every record.
const PAYLOAD_BYTES: usize = 88;
/// Bytes of one frame on disk: 88 + 36.
const FRAME_BYTES: usize = frame::frame_bytes(PAYLOAD_BYTES);
/// Records per batch of the raw pipelined baseline.
const RAW_BATCH_RECORDS: usize = 4096;

/// Sizes that differ between a real run and criterion's test mode.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Segment size of every log, and size of the raw baseline files.
    segment_bytes: u64,
    /// Records in the recovery log.
    recovery_records: u64,
    /// Single operations per side for the p50/p99 table.
    percentile_ops: usize,
}

impl Scale {
    fn from_args() -> Self {
        // Criterion's rule: test mode unless `--bench` is given, or when `--test`
        // is given (`cargo test --benches` passes neither).
        let args: Vec<String> = std::env::args().collect();
        let bench = args.iter().any(|a| a == "--bench");
        let test = args.iter().any(|a| a == "--test");
        if bench && !test {
            Self {
                segment_bytes: Options::default().segment_bytes,
                recovery_records: 1_000_000,
                percentile_ops: 10_000,
            }
        } else {
            Self {
                segment_bytes: 2 << 20,
                recovery_records: 10_000,
                percentile_ops: 20,
            }
        }
    }

    fn options(&self) -> Options {
        Options {
            segment_bytes: self.segment_bytes,
            ..Options::default()
        }
    }
}

fn temp_dir() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("create a temp dir")
}

fn payload() -> Vec<u8> {
    (0..PAYLOAD_BYTES).map(|i| i as u8).collect()
}

/// An open log with its directory and the next sequence number to append.
struct LogFixture {
    wal: Wal<Vec<u8>>,
    next: u64,
    batches: Arc<AtomicU64>,
    _dir: TempDir,
}

impl LogFixture {
    fn new(scale: &Scale) -> Self {
        let dir = temp_dir();
        let storage = Arc::new(FsStorage::existing(dir.path()).expect("storage"));
        let recovered = Recovered::open(storage, &scale.options()).expect("open");
        let next = recovered.next_seq();
        let batches = Arc::new(AtomicU64::new(0));
        let counter = batches.clone();
        let wal = recovered
            .start(Some(Box::new(move |_, _: &Vec<u8>| {
                counter.fetch_add(1, Ordering::Relaxed);
            })))
            .expect("start");
        Self {
            wal,
            next,
            batches,
            _dir: dir,
        }
    }

    /// One durable append: the latency a committer sees.
    fn append_durable(&mut self, record: &[u8]) {
        let seq = self.next;
        self.next += 1;
        self.wal.append(seq, record.to_vec()).expect("append");
        self.wal.wait_durable(seq).expect("wait_durable");
    }

    /// Appends `count` records from `producers` threads (thread `k` takes every
    /// `producers`-th sequence number), then waits for the last one.
    fn append_pipelined(&mut self, count: u64, producers: u64, record: &[u8]) {
        if count == 0 {
            return;
        }
        let first = self.next;
        let wal = &self.wal;
        std::thread::scope(|s| {
            for k in 0..producers {
                s.spawn(move || {
                    let mut seq = first + k;
                    // Bound: count / producers turns.
                    while seq < first + count {
                        wal.append(seq, record.to_vec()).expect("append");
                        seq += producers;
                    }
                });
            }
        });
        self.next = first + count;
        wal.wait_durable(self.next - 1).expect("wait_durable");
    }
}

/// The raw baseline file, kept alive with its temp dir.
struct RawFixture {
    raw: RawFile,
    _dir: TempDir,
}

impl RawFixture {
    fn new(scale: &Scale) -> Self {
        let dir = temp_dir();
        let raw = RawFile::create(&dir.path().join("raw"), scale.segment_bytes).expect("raw file");
        Self { raw, _dir: dir }
    }

    /// One `pwrite` of `bytes` plus one `fdatasync`.
    fn write_sync(&mut self, bytes: &[u8]) {
        self.raw.write_sync(bytes).expect("pwrite + fdatasync");
    }
}

/// `count` encoded frames of `payload`, as the log would write them.
fn frames(count: usize, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * FRAME_BYTES);
    for seq in 1..=count as u64 {
        frame::encode(&mut out, seq, 1, payload);
    }
    assert_eq!(out.len(), count * FRAME_BYTES);
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn durable_append_latency(c: &mut Criterion, scale: &Scale) {
    let record = payload();
    let frame = frames(1, &record);
    let mut log: Option<LogFixture> = None;
    let mut raw: Option<RawFixture> = None;

    let mut group = c.benchmark_group("durable_append_latency");
    // Two seconds of warm-up also cover the writer's background preparation of
    // its first spare segment (64 MiB of zeros and an fdatasync).
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    group.bench_function("wal", |b| {
        let log = log.get_or_insert_with(|| LogFixture::new(scale));
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                log.append_durable(&record);
            }
            start.elapsed()
        });
    });
    group.bench_function("raw_pwrite_fdatasync", |b| {
        let raw = raw.get_or_insert_with(|| RawFixture::new(scale));
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                raw.write_sync(&frame);
            }
            start.elapsed()
        });
    });
    group.finish();

    // Per-operation latencies, alternating blocks of 10 so that both sides see
    // the same disk weather.
    if let (Some(log), Some(raw)) = (log.as_mut(), raw.as_mut()) {
        let mut wal_lat = Vec::with_capacity(scale.percentile_ops);
        let mut raw_lat = Vec::with_capacity(scale.percentile_ops);
        while wal_lat.len() < scale.percentile_ops {
            let block = (scale.percentile_ops - wal_lat.len()).min(10);
            for _ in 0..block {
                let t = Instant::now();
                log.append_durable(&record);
                wal_lat.push(t.elapsed());
            }
            for _ in 0..block {
                let t = Instant::now();
                raw.write_sync(&frame);
                raw_lat.push(t.elapsed());
            }
        }
        wal_lat.sort();
        raw_lat.sort();
        let (wal50, raw50) = (percentile(&wal_lat, 0.5), percentile(&raw_lat, 0.5));
        eprintln!(
            "durable_append_latency over {} ops each: wal p50 {:?} p99 {:?}; raw p50 {:?} p99 {:?}; p50 ratio {:.3}",
            wal_lat.len(),
            wal50,
            percentile(&wal_lat, 0.99),
            raw50,
            percentile(&raw_lat, 0.99),
            wal50.as_secs_f64() / raw50.as_secs_f64(),
        );
    }
}

fn pipelined_throughput(c: &mut Criterion, scale: &Scale) {
    let record = payload();
    let batch = frames(RAW_BATCH_RECORDS, &record);
    let mut logs: [Option<LogFixture>; 2] = [None, None];
    let mut raw: Option<RawFixture> = None;

    let mut group = c.benchmark_group("pipelined_throughput");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for (producers, slot) in (1u64..).zip(logs.iter_mut()) {
        let id = if producers == 1 {
            "wal_1_producer".to_owned()
        } else {
            format!("wal_{producers}_producers")
        };
        group.bench_function(id, |b| {
            let log = slot.get_or_insert_with(|| LogFixture::new(scale));
            b.iter_custom(|iters| {
                let start = Instant::now();
                log.append_pipelined(iters, producers, &record);
                start.elapsed()
            });
        });
    }
    group.bench_function(format!("raw_batch_{RAW_BATCH_RECORDS}"), |b| {
        let raw = raw.get_or_insert_with(|| RawFixture::new(scale));
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut left = iters as usize;
            // Bound: iters / RAW_BATCH_RECORDS turns.
            while left > 0 {
                let n = left.min(RAW_BATCH_RECORDS);
                raw.write_sync(&batch[..n * FRAME_BYTES]);
                left -= n;
            }
            start.elapsed()
        });
    });
    group.finish();

    for (producers, log) in (1u64..).zip(logs.iter()) {
        if let Some(log) = log {
            let batches = log.batches.load(Ordering::Relaxed).max(1);
            let records = log.wal.durable_seq();
            eprintln!(
                "pipelined_throughput wal with {producers} producer(s): {records} records in {batches} batches, {:.0} records per batch on average",
                records as f64 / batches as f64
            );
        }
    }
}

/// A closed log of `records` records, built once.
struct RecoveryFixture {
    dir: TempDir,
    records: u64,
}

impl RecoveryFixture {
    fn new(scale: &Scale) -> Self {
        let started = Instant::now();
        let mut log = LogFixture::new(scale);
        log.append_pipelined(scale.recovery_records, 1, &payload());
        let LogFixture { wal, _dir: dir, .. } = log;
        let durable = wal.close().expect("close");
        assert_eq!(durable, scale.recovery_records);
        eprintln!(
            "recovery_scan: built a log of {} records in {:?}",
            scale.recovery_records,
            started.elapsed()
        );
        Self {
            dir,
            records: scale.recovery_records,
        }
    }

    fn storage(&self) -> FsStorage {
        FsStorage::existing(self.dir.path()).expect("storage")
    }
}

fn recovery_scan(c: &mut Criterion, scale: &Scale) {
    let mut fixture: Option<RecoveryFixture> = None;
    let opts = scale.options();

    let mut group = c.benchmark_group("recovery_scan");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::ElementsAndBytes {
            elements: scale.recovery_records,
            bytes: scale.recovery_records * FRAME_BYTES as u64,
        });
    group.bench_function("open", |b| {
        let f = fixture.get_or_insert_with(|| RecoveryFixture::new(scale));
        let storage: Arc<dyn wal::Storage> = Arc::new(f.storage());
        b.iter(|| {
            let recovered = Recovered::open(storage.clone(), &opts).expect("open");
            assert_eq!(recovered.records().len() as u64, f.records);
            black_box(recovered)
        });
    });
    group.bench_function("inspect", |b| {
        let f = fixture.get_or_insert_with(|| RecoveryFixture::new(scale));
        let storage = f.storage();
        b.iter(|| {
            let (records, report) = wal::inspect(&storage, &opts).expect("inspect");
            assert_eq!(records.len() as u64, f.records);
            black_box((records, report))
        });
    });
    group.finish();
}

fn main() {
    let scale = Scale::from_args();
    let mut c = Criterion::default().configure_from_args();
    durable_append_latency(&mut c, &scale);
    pipelined_throughput(&mut c, &scale);
    recovery_scan(&mut c, &scale);
    c.final_summary();
}
