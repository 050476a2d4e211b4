//! Opening (recovery and inspection) and the writer.

use std::fmt;
use std::io;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use crossbeam_utils::CachePadded;

use crate::error::{Corruption, CorruptionKind, Error, Result};
use crate::frame;
use crate::segment::{self, Scanned, TEMP_SUFFIX, Tail};
use crate::storage::{self, LOCK_FILE_NAME, LockGuard, Storage, StorageFile};
use std::sync::Arc;

use crate::ring::{Duplicate, Ring};
use crate::sync::{self, AtomicU64, Mutex, Ordering};
use crate::watermark::Watermark;

/// Zero-fill chunk when preallocating a segment.
const ZERO_CHUNK_BYTES: usize = 1 << 20;
/// Records the writer puts into one batch at most (the byte bound
/// `batch_bytes_max` usually ends a batch first).
const BATCH_RECORDS_MAX: usize = 1 << 16;
/// How long the writer keeps polling for more records after a batch before it
/// sleeps: a producer that commits again right after its ack then finds the
/// writer awake, which saves a wake-up (5-20 us here) per commit. The ack
/// itself (waking the producer) takes 10-50 us, so 30 us was often too short:
/// 200 us took the durable commit p50 from 1.15x to 1.12x the raw fdatasync.
/// Polling backs off to `sched_yield`, and it is bounded, so an idle log costs
/// nothing and a log committing once a second about 0.02% of a core.
#[cfg_attr(loom, allow(dead_code))]
const WRITER_SPIN_US_MAX: u64 = 200;
/// While producers stream records and nobody waits for one, the writer lets a
/// batch of this many records gather before it writes (or until
/// `GATHER_US_MAX` passes, or someone waits): writing each record the moment it
/// appears keeps the writer reading cache lines the producers are still
/// writing, which doubled the cost of an in-memory commit. A waiting producer
/// is never delayed by this.
#[cfg_attr(loom, allow(dead_code))]
const GATHER_RECORDS: u64 = 256;
/// The longest a gathering batch waits (see `GATHER_RECORDS`).
#[cfg_attr(loom, allow(dead_code))]
const GATHER_US_MAX: u64 = 20;
/// Producers count as streaming (and a batch may gather) only when the next
/// record came within this long of the end of the previous batch. A producer
/// that commits, waits for its ack and commits again is slower than this (its
/// wake-up alone takes longer), so a lone durable commit never gathers.
#[cfg_attr(loom, allow(dead_code))]
const STREAM_GAP_US_MAX: u64 = 5;
/// Times a read-only scan restarts when a concurrent writer rotates or deletes a
/// segment under it.
const INSPECT_ATTEMPTS_MAX: usize = 5;

/// Settings of a log. The defaults suit production; tests shrink them so that
/// rotation and backpressure happen constantly.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size every segment is preallocated to.
    pub segment_bytes: u64,
    /// Cap on one record's payload.
    pub payload_bytes_max: u32,
    /// Cap on appended records not yet durable: `append(seq)` waits while
    /// `seq > durable + in_flight_max`. Also the number of slots of the ring
    /// that hands records to the writer (each retains one encoded payload and
    /// one record while the log is busy).
    pub in_flight_max: u64,
    /// Cap on one batch write.
    pub batch_bytes_max: usize,
    /// The first sequence number of a new log.
    pub first_seq: u64,
    /// Records from this sequence number on are returned by recovery (older ones
    /// are still checked). If the log starts later, opening fails.
    pub recover_from: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
            payload_bytes_max: frame::PAYLOAD_BYTES_MAX_DEFAULT,
            in_flight_max: 1 << 12,
            batch_bytes_max: 8 << 20,
            first_seq: 1,
            recover_from: 0,
        }
    }
}

impl Options {
    fn validate(&self) -> Result<()> {
        let frame_max = frame::frame_bytes(self.payload_bytes_max as usize) as u64;
        if self.segment_bytes < frame_max {
            return Err(Error::Invalid(format!(
                "segment_bytes {} is smaller than the largest frame ({frame_max} bytes); raise it or lower payload_bytes_max",
                self.segment_bytes
            )));
        }
        if self.in_flight_max == 0 || self.first_seq == 0 || self.batch_bytes_max == 0 {
            return Err(Error::Invalid(
                "in_flight_max, batch_bytes_max and first_seq must be > 0".into(),
            ));
        }
        Ok(())
    }
}

/// One segment as recovery found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentSummary {
    /// File name.
    pub name: String,
    /// First sequence number (the segment id).
    pub first_seq: u64,
    /// Records it holds.
    pub records: u64,
    /// Bytes of valid frames.
    pub end_offset: u64,
}

/// A torn tail found at the end of the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment.
    pub segment: String,
    /// Where the torn write starts (just past the last valid record).
    pub offset: u64,
    /// How many bytes of it were non-zero.
    pub bytes: u64,
}

/// What opening found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments in order.
    pub segments: Vec<SegmentSummary>,
    /// The torn tail, if any: truncated by a writable open, only reported by a
    /// read-only one.
    pub torn_tail: Option<TornTail>,
    /// Temp files (`*.tmp`) a writable open removed: half-made segments at
    /// once, an earlier writer's spares once the writer starts (in the
    /// background).
    pub temp_files_removed: Vec<String>,
    /// The first sequence number the log holds (or would hold, when empty).
    pub first_seq: u64,
    /// The next sequence number to append.
    pub next_seq: u64,
    /// Records checked, including those before `recover_from`.
    pub records_scanned: u64,
}

#[derive(Debug, Clone, Copy)]
struct RecordRef {
    seq: u64,
    buf: u32,
    start: u32,
    len: u32,
}

impl RecordRef {
    /// The record's sequence number and payload, out of the buffer it was read into.
    fn in_buf<'a>(&self, buf: &'a [u8]) -> (u64, &'a [u8]) {
        let start = self.start as usize;
        (self.seq, &buf[start..start + self.len as usize])
    }
}

/// Recovered records, kept in the segment buffers they were read into.
#[derive(Debug, Default)]
pub struct Records {
    bufs: Vec<Vec<u8>>,
    index: Vec<RecordRef>,
}

impl Records {
    /// How many records.
    pub fn len(&self) -> usize {
        self.index.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
    /// The records in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.index
            .iter()
            .map(|r| r.in_buf(&self.bufs[r.buf as usize]))
    }
}

/// Records a streaming open hands over while it scans (see
/// [`Recovered::open_streamed`]): up to [`STREAM_BATCH_RECORDS`] consecutive
/// records, sharing the buffer of the segment they were read into.
pub struct RecordBatch {
    buf: Arc<Vec<u8>>,
    index: Vec<RecordRef>,
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("records", &self.index.len())
            .finish_non_exhaustive()
    }
}

impl RecordBatch {
    /// How many records.
    pub fn len(&self) -> usize {
        self.index.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
    /// The records in sequence order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> + '_ {
        self.index.iter().map(|r| r.in_buf(&self.buf))
    }
}

/// Records per [`RecordBatch`] at most.
pub const STREAM_BATCH_RECORDS: usize = 4096;

/// Where a scan puts the records it keeps.
enum Keep<'a> {
    /// In [`Records`], for the caller to read after the scan.
    All,
    /// Handed to the callback in batches as the scan goes.
    Stream(&'a mut dyn FnMut(RecordBatch)),
}

/// A log directory scanned in order.
#[derive(Debug)]
struct Scan {
    segments: SegmentList,
    temp_files: Vec<String>,
    /// Length of the last segment file as read.
    last_len_bytes: u64,
    last_scanned: Option<Scanned>,
    records: Records,
    report: RecoveryReport,
}

/// Segment file names with their first sequence numbers, in order.
type SegmentList = Vec<(String, u64)>;

fn list_dir(storage: &dyn Storage, writable: bool) -> Result<(SegmentList, Vec<String>)> {
    let names = storage
        .list()
        .map_err(|e| Error::io("list", storage.describe(), e))?;
    let mut segments = Vec::new();
    let mut temp_files = Vec::new();
    for name in names {
        if let Some(id) = segment::parse_segment_name(&name) {
            segments.push((name, id));
        } else if name.ends_with(TEMP_SUFFIX) {
            temp_files.push(name);
        } else if name != LOCK_FILE_NAME && writable {
            return Err(Error::Corrupt(Corruption {
                segment: name,
                offset: 0,
                kind: CorruptionKind::UnexpectedFile,
            }));
        }
    }
    segments.sort_by_key(|&(_, id)| id);
    temp_files.sort();
    Ok((segments, temp_files))
}

/// `progress(done, total)` is told the segments checked so far: once before
/// the first (0) and after each one.
fn scan_dir(
    storage: &dyn Storage,
    opts: &Options,
    writable: bool,
    progress: &mut dyn FnMut(u64, u64),
    mut keep: Keep<'_>,
) -> Result<Scan> {
    let (segments, temp_files) = list_dir(storage, writable)?;
    let total = segments.len() as u64;
    progress(0, total);
    let mut records = Records::default();
    let mut report = RecoveryReport {
        first_seq: segments.first().map_or(opts.first_seq, |s| s.1),
        ..RecoveryReport::default()
    };
    let mut expected: Option<u64> = None;
    let mut last_len_bytes = 0;
    let mut last_scanned = None;
    let count = segments.len();
    for_each_segment(storage, &segments, opts, writable, |i, read| {
        let (name, id) = &segments[i];
        let is_last = i + 1 == count;
        if let Some(exp) = expected
            && exp != *id
        {
            let prev = &segments[i - 1].0;
            return Err(Error::Corrupt(Corruption {
                segment: prev.clone(),
                offset: report.segments.last().map_or(0, |s| s.end_offset),
                kind: CorruptionKind::Gap {
                    expected: exp,
                    found: *id,
                },
            }));
        }
        let SegmentBytes { bytes, file_len } = read?;
        let buf_index = records.bufs.len() as u32;
        let mut kept = false;
        let from = opts.recover_from;
        // Streaming: the segment's buffer is shared by its batches.
        let (bytes, shared) = match keep {
            Keep::All => (bytes, None),
            Keep::Stream(_) => (Vec::new(), Some(Arc::new(bytes))),
        };
        let seg: &[u8] = shared.as_deref().map_or(&bytes, Vec::as_slice);
        let mut batch = Vec::new();
        let scanned = segment::scan(
            name,
            *id,
            seg,
            is_last,
            opts.payload_bytes_max,
            &mut |seq, payload, off| {
                if seq >= from {
                    kept = true;
                    let r = RecordRef {
                        seq,
                        buf: buf_index,
                        start: (off as usize + frame::HEADER_BYTES) as u32,
                        len: payload.len() as u32,
                    };
                    match (&mut keep, &shared) {
                        (Keep::Stream(sink), Some(buf)) => {
                            batch.push(r);
                            if batch.len() == STREAM_BATCH_RECORDS {
                                sink(RecordBatch {
                                    buf: buf.clone(),
                                    index: std::mem::take(&mut batch),
                                });
                            }
                        }
                        _ => records.index.push(r),
                    }
                }
            },
        );
        if let (Keep::Stream(sink), Some(buf)) = (&mut keep, &shared)
            && !batch.is_empty()
        {
            // Handed over even when the scan refused what follows: every
            // record in it checked, and the caller reports the scan's error.
            sink(RecordBatch {
                buf: buf.clone(),
                index: batch,
            });
        }
        let scanned = scanned.map_err(Error::Corrupt)?;
        if !is_last && scanned.records == 0 {
            return Err(Error::Corrupt(Corruption {
                segment: name.clone(),
                offset: 0,
                kind: CorruptionKind::EmptySealedSegment,
            }));
        }
        report.records_scanned += scanned.records;
        report.segments.push(SegmentSummary {
            name: name.clone(),
            first_seq: *id,
            records: scanned.records,
            end_offset: scanned.end_offset,
        });
        if let Tail::Torn {
            offset,
            nonzero_end,
        } = scanned.tail
        {
            report.torn_tail = Some(TornTail {
                segment: name.clone(),
                offset,
                bytes: nonzero_end - offset,
            });
        }
        expected = Some(scanned.next_seq);
        if is_last {
            last_scanned = Some(scanned);
            last_len_bytes = file_len;
        }
        if kept && shared.is_none() {
            let mut b = bytes;
            b.truncate(scanned.end_offset as usize);
            records.bufs.push(b);
        }
        progress(i as u64 + 1, total);
        Ok(())
    })?;
    report.next_seq = expected.unwrap_or(opts.first_seq);
    if count == 0 && opts.recover_from > opts.first_seq {
        // No segment at all, but records were asked for: the log is gone.
        return Err(Error::Corrupt(Corruption {
            segment: "(no segment)".into(),
            offset: 0,
            kind: CorruptionKind::EndsEarly {
                wanted: opts.recover_from,
                next: opts.first_seq,
            },
        }));
    }
    if opts.recover_from > 0 && count > 0 {
        if report.first_seq > opts.recover_from {
            return Err(Error::Corrupt(Corruption {
                segment: segments[0].0.clone(),
                offset: 0,
                kind: CorruptionKind::MissingHistory {
                    wanted: opts.recover_from,
                    first: report.first_seq,
                },
            }));
        }
        if opts.recover_from > report.next_seq {
            return Err(Error::Corrupt(Corruption {
                segment: segments[count - 1].0.clone(),
                offset: last_scanned.map_or(0, |s| s.end_offset),
                kind: CorruptionKind::EndsEarly {
                    wanted: opts.recover_from,
                    next: report.next_seq,
                },
            }));
        }
    }
    Ok(Scan {
        segments,
        temp_files,
        last_len_bytes,
        last_scanned,
        records,
        report,
    })
}

/// Segments the scan reads ahead of the one it checks.
const SCAN_READ_AHEAD_SEGMENTS: usize = 1;
/// The chunk a segment is read in (see [`SegmentBytes`]).
const SCAN_READ_CHUNK_BYTES: usize = 1 << 20;

/// A segment as the scan needs it. A preallocated segment is mostly zeros
/// after its last frame; only its bytes up to the last chunk that holds a
/// non-zero byte are kept, plus enough zeros for any length the scan checks
/// (the longest frame), so the scan sees what it would see in the whole file
/// (everything after is zero) without the memory and the page faults of
/// reading tens of megabytes of zeros into a fresh buffer.
struct SegmentBytes {
    bytes: Vec<u8>,
    /// The length of the file.
    file_len: u64,
}

/// Fsyncs (when `writable`) and reads one segment.
fn read_segment(
    storage: &dyn Storage,
    name: &str,
    writable: bool,
    payload_bytes_max: u32,
) -> Result<SegmentBytes> {
    if writable {
        // Make what we are about to read durable first, so we never build on
        // data that a power loss could still take away.
        let mut f = storage
            .open(name)
            .map_err(|e| Error::io("open", name.to_owned(), e))?;
        f.sync_data()
            .map_err(|e| Error::io("fdatasync", name.to_owned(), e))?;
    }
    let mut bytes = Vec::new();
    // Zero bytes read after `bytes`, not appended (yet).
    let mut zeros = 0usize;
    let file_len = storage
        .read_chunks(name, SCAN_READ_CHUNK_BYTES, &mut |file_len, chunk| {
            if bytes.capacity() == 0 {
                // Address space only: pages are touched as they are written.
                bytes.reserve(usize::try_from(file_len).unwrap_or(0));
            }
            if segment::all_zero(chunk) {
                zeros += chunk.len();
            } else {
                bytes.resize(bytes.len() + zeros, 0);
                zeros = 0;
                bytes.extend_from_slice(chunk);
            }
        })
        .map_err(|e| Error::io("read", name.to_owned(), e))?;
    let pad = zeros.min(frame::frame_bytes(payload_bytes_max as usize));
    bytes.resize(bytes.len() + pad, 0);
    Ok(SegmentBytes { bytes, file_len })
}

/// Reads the segments in order (fsyncing each first when `writable`) and
/// hands `scan` each one's index and bytes, or the error reading it, in
/// order; stops at the first `Err` that `scan` returns. With two or more
/// segments a helper thread reads the next segment while `scan` checks this
/// one (reading and checksumming cost about the same). `scan` sees the same
/// results in the same order either way; the helper may only have fsynced or
/// read one segment more than a scan that stops early looked at.
fn for_each_segment(
    storage: &dyn Storage,
    segments: &SegmentList,
    opts: &Options,
    writable: bool,
    mut scan: impl FnMut(usize, Result<SegmentBytes>) -> Result<()>,
) -> Result<()> {
    let max = opts.payload_bytes_max;
    if segments.len() < 2 {
        for (i, (name, _)) in segments.iter().enumerate() {
            scan(i, read_segment(storage, name, writable, max))?;
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(SCAN_READ_AHEAD_SEGMENTS);
        s.spawn(move || {
            // Bound: the segments; stops after a failed read, or when the
            // scan hung up (it stopped early).
            for (name, _) in segments {
                let read = read_segment(storage, name, writable, max);
                let failed = read.is_err();
                if tx.send(read).is_err() || failed {
                    return;
                }
            }
        });
        // Bound: the segments. An early return drops `rx`, which stops the
        // reader before the scope joins it.
        for i in 0..segments.len() {
            let read = rx
                .recv()
                .unwrap_or_else(|_| Err(Error::Invalid("the segment reader stopped".into())));
            scan(i, read)?;
        }
        Ok(())
    })
}

/// Read-only inspection: no lock, no fsync, no truncation. A torn tail (for
/// example a write in progress by a running writer) is reported, not repaired.
pub fn inspect(storage: &dyn Storage, opts: &Options) -> Result<(Records, RecoveryReport)> {
    opts.validate()?;
    let mut attempt = 0;
    // Bound: INSPECT_ATTEMPTS_MAX restarts when a writer changes the directory
    // under the scan.
    loop {
        attempt += 1;
        match scan_dir(storage, opts, false, &mut |_, _| {}, Keep::All) {
            Ok(scan) => return Ok((scan.records, scan.report)),
            Err(Error::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound && attempt < INSPECT_ATTEMPTS_MAX => {}
            Err(Error::Corrupt(c))
                if matches!(
                    c.kind,
                    CorruptionKind::Gap { .. } | CorruptionKind::EmptySealedSegment
                ) && attempt < INSPECT_ATTEMPTS_MAX =>
            {
                // A concurrent writer may have sealed a segment between our
                // listing and our read; a persistent gap is reported on the
                // last attempt.
            }
            Err(e) => return Err(e),
        }
    }
}

fn zero_fill(file: &mut dyn StorageFile, name: &str, from: u64, to: u64) -> Result<()> {
    let zeros = vec![0u8; ZERO_CHUNK_BYTES];
    let mut off = from;
    // Bound: (to - from) / ZERO_CHUNK_BYTES turns.
    while off < to {
        let n = ((to - off) as usize).min(ZERO_CHUNK_BYTES);
        storage::write_all_at(file, off, &zeros[..n])
            .map_err(|e| Error::io("write", name.to_owned(), e))?;
        off += n as u64;
    }
    Ok(())
}

/// Creates the preallocated, zero-filled segment for `first_seq`: write a temp
/// file, fdatasync it, rename it into place, fsync the directory.
fn create_segment(
    storage: &dyn Storage,
    first_seq: u64,
    segment_bytes: u64,
) -> Result<(String, Box<dyn StorageFile>)> {
    let name = segment::segment_name(first_seq);
    let tmp = format!("{name}{TEMP_SUFFIX}");
    let mut file = storage
        .create(&tmp)
        .map_err(|e| Error::io("create", tmp.clone(), e))?;
    zero_fill(file.as_mut(), &tmp, 0, segment_bytes)?;
    file.sync_data()
        .map_err(|e| Error::io("fdatasync", tmp.clone(), e))?;
    storage
        .rename(&tmp, &name)
        .map_err(|e| Error::io("rename", tmp.clone(), e))?;
    storage
        .sync_dir()
        .map_err(|e| Error::io("fsync directory", storage.describe(), e))?;
    Ok((name, file))
}

/// A log that recovery opened for writing: records read, tail repaired, the lock
/// held. Read the records, then [`Recovered::start`] the writer.
pub struct Recovered {
    storage: Arc<dyn Storage>,
    opts: Options,
    lock: Box<dyn LockGuard>,
    active: (String, u64, Box<dyn StorageFile>, u64),
    /// Every segment in order, the active one last.
    segments: SegmentList,
    records: Records,
    report: RecoveryReport,
    /// Spare segments of an earlier writer, removed by the new writer's
    /// preallocator before its first spare.
    leftover_spares: Vec<String>,
}

impl fmt::Debug for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovered")
            .field("storage", &self.storage)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl Recovered {
    /// Opens the log for writing: takes the directory lock, removes half-made
    /// segments, fsyncs, scans every segment in order, refuses any damage but a
    /// torn tail, and zeroes a torn tail. An earlier writer's spare segments
    /// (`spare-N.tmp`) are removed by [`Recovered::start`]'s preallocator, in
    /// the background, before it makes its first spare.
    pub fn open(storage: Arc<dyn Storage>, opts: &Options) -> Result<Self> {
        Self::open_observed(storage, opts, &mut |_, _| {})
    }

    /// [`Recovered::open`], telling `progress(done, total)` how many of the
    /// log's `total` segments were read and checked: once with `done = 0`
    /// before the first, then after each segment (the last call has
    /// `done == total`). Not called again when the scan refuses a segment.
    pub fn open_observed(
        storage: Arc<dyn Storage>,
        opts: &Options,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Self> {
        Self::open_with(storage, opts, progress, Keep::All)
    }

    /// [`Recovered::open_observed`] that hands the records from
    /// `recover_from` on to `on_records` while it scans, in order, in batches
    /// of at most [`STREAM_BATCH_RECORDS`], instead of keeping them
    /// ([`Recovered::records`] is then empty): a caller can replay the log
    /// while it is still being read. Every record handed over passed its
    /// checks, but the open may still fail on a later one: replay nothing
    /// for good before this returns `Ok`.
    pub fn open_streamed(
        storage: Arc<dyn Storage>,
        opts: &Options,
        progress: &mut dyn FnMut(u64, u64),
        on_records: &mut dyn FnMut(RecordBatch),
    ) -> Result<Self> {
        Self::open_with(storage, opts, progress, Keep::Stream(on_records))
    }

    fn open_with(
        storage: Arc<dyn Storage>,
        opts: &Options,
        progress: &mut dyn FnMut(u64, u64),
        keep: Keep<'_>,
    ) -> Result<Self> {
        opts.validate()?;
        let lock = storage.lock()?;
        let scan = scan_dir(storage.as_ref(), opts, true, progress, keep)?;
        let Scan {
            segments,
            temp_files,
            last_len_bytes,
            last_scanned,
            records,
            mut report,
        } = scan;
        // A spare segment (tens of megabytes, whose unlink alone takes tens
        // of milliseconds) is removed by the writer's preallocator before it
        // makes its first spare, off the recovery's path: nothing reads it, a
        // spare's name is never a segment's, and a crash before its removal
        // only leaves it for the next open. Other temp files go now.
        let (leftover_spares, half_made): (Vec<String>, Vec<String>) = temp_files
            .iter()
            .cloned()
            .partition(|name| name.starts_with(SPARE_PREFIX));
        for tmp in &half_made {
            storage
                .remove(tmp)
                .map_err(|e| Error::io("remove", tmp.clone(), e))?;
        }
        if !half_made.is_empty() {
            storage
                .sync_dir()
                .map_err(|e| Error::io("fsync directory", storage.describe(), e))?;
            tracing::info!(target: "wal", files = ?half_made, "removed half-made segments");
        }
        report.temp_files_removed = temp_files;
        let active = match (segments.last(), last_scanned) {
            (Some((name, id)), Some(scanned)) => {
                let mut file = storage
                    .open(name)
                    .map_err(|e| Error::io("open", name.clone(), e))?;
                let len = last_len_bytes;
                let mut dirty = false;
                if let Tail::Torn {
                    offset,
                    nonzero_end,
                } = scanned.tail
                {
                    tracing::warn!(
                        target: "wal",
                        segment = %name, offset, bytes = nonzero_end - offset,
                        "truncating a torn tail (an unacknowledged write cut by a crash)"
                    );
                    zero_fill(file.as_mut(), name, offset, nonzero_end.min(len))?;
                    dirty = true;
                }
                if len < opts.segment_bytes {
                    zero_fill(file.as_mut(), name, len, opts.segment_bytes)?;
                    dirty = true;
                }
                if dirty {
                    file.sync_data()
                        .map_err(|e| Error::io("fdatasync", name.clone(), e))?;
                }
                (name.clone(), *id, file, scanned.end_offset)
            }
            _ => {
                let (name, file) =
                    create_segment(storage.as_ref(), opts.first_seq, opts.segment_bytes)?;
                report.segments.push(SegmentSummary {
                    name: name.clone(),
                    first_seq: opts.first_seq,
                    records: 0,
                    end_offset: 0,
                });
                (name, opts.first_seq, file, 0)
            }
        };
        let mut all_segments = segments;
        if all_segments.last().map(|s| &s.0) != Some(&active.0) {
            all_segments.push((active.0.clone(), active.1));
        }
        Ok(Self {
            storage,
            opts: opts.clone(),
            lock,
            active,
            segments: all_segments,
            records,
            report,
            leftover_spares,
        })
    }

    /// The records from `recover_from` on, in order.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// What recovery found and did.
    pub fn report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The sequence number the next append must use.
    pub fn next_seq(&self) -> u64 {
        self.report.next_seq
    }

    /// Starts the writer thread. `on_durable(n, record)` runs on the writer thread
    /// after every fsync, before any waiter is woken, with the new durable
    /// watermark and the record that carries it (so a caller can publish the
    /// state that record produced).
    pub fn start<R: Record>(self, on_durable: Option<DurableHook<R>>) -> Result<Wal<R>> {
        let Self {
            storage,
            opts,
            lock,
            active,
            segments,
            records: _,
            report,
            leftover_spares,
        } = self;
        let durable = report.next_seq - 1;
        let mark = Arc::new(Watermark::new(durable));
        let ring = Arc::new(Ring::new(opts.in_flight_max as usize));
        let segments = Arc::new(Mutex::new(segments));
        let (name, id, file, offset) = active;
        let writer = Writer {
            storage: storage.clone(),
            opts: opts.clone(),
            ring: ring.clone(),
            mark: mark.clone(),
            hook: on_durable,
            next_seq: report.next_seq,
            written: durable,
            published: durable,
            publish_every: (opts.in_flight_max / 4).max(1),
            retained_from: report.next_seq,
            active: Active {
                name,
                id,
                file,
                offset,
            },
            segments: segments.clone(),
            spares: Spares::start(
                storage.clone(),
                opts.segment_bytes,
                mark.clone(),
                leftover_spares,
            )?,
            caught_up_at: std::time::Instant::now(),
            buf: Vec::with_capacity(1 << 16),
            scratch: Vec::with_capacity(256),
        };
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| Error::io("spawn", "wal-writer", e))?;
        Ok(Wal {
            storage,
            mark,
            ring,
            durable_hint: CachePadded::new(AtomicU64::new(durable)),
            thread: Some(thread),
            segments,
            _lock: lock,
        })
    }
}

/// The writer's "durable up to N" callback.
pub type DurableHook<R> = Box<dyn FnMut(u64, &R) + Send>;

/// A record the writer encodes on its own thread, off the producer's path,
/// straight into its batch buffer. The record stays in the slot that handed it
/// over until a producer reuses the slot (or the log goes idle), so the durable
/// hook can see the last record of each batch and the producer, not the writer,
/// normally drops it.
pub trait Record: Send + 'static {
    /// Appends the payload bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

impl Record for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Record for Box<[u8]> {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

/// The open log. Producers call [`Wal::append`] from any thread, in any order of
/// sequence numbers; one writer thread writes them in sequence order.
pub struct Wal<R: Record = Vec<u8>> {
    storage: Arc<dyn Storage>,
    mark: Arc<Watermark>,
    ring: Arc<Ring<R>>,
    /// A durable watermark some producer read recently (never above the real
    /// one): a producer within `in_flight_max` of it skips reading the
    /// watermark, whose cache line the writer writes after every batch.
    durable_hint: CachePadded<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    /// Every segment in order, the active one last. The writer pushes on
    /// rotation; `truncate_before` removes from the front.
    segments: Arc<Mutex<SegmentList>>,
    _lock: Box<dyn LockGuard>,
}

impl<R: Record> fmt::Debug for Wal<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("storage", &self.storage)
            .field("durable", &self.mark.durable())
            .finish_non_exhaustive()
    }
}

impl<R: Record> Wal<R> {
    /// Hands record `seq` to the writer: moves it into the ring slot of `seq`
    /// and publishes it (see `ring.rs`). Sequence numbers must be appended
    /// exactly once each; gaps are filled by other producers. Waits while `seq`
    /// is more than `in_flight_max` ahead of the durable watermark. A sequence
    /// number appended twice is refused (`Invalid`) and changes nothing.
    pub fn append(&self, seq: u64, record: R) -> Result<()> {
        if let Some(cause) = self.mark.poison_cause() {
            return Err(Error::Poisoned(cause));
        }
        if self.thread.is_none() {
            return Err(Error::Closed);
        }
        let capacity = self.ring.capacity();
        // Relaxed: a hint only; it is never above the real watermark, which is
        // read (with Acquire) whenever the hint does not settle the question.
        let hint = self.durable_hint.load(Ordering::Relaxed);
        if seq <= hint || seq > hint + capacity {
            let durable = self.mark.durable();
            if seq <= durable {
                return Err(Error::Invalid(format!(
                    "append of sequence {seq}, which is already durable (durable up to {durable})"
                )));
            }
            if seq > durable + capacity {
                self.mark.wait(seq - capacity, None)?;
            }
            // Relaxed: a hint (see above); `fetch_max` keeps it monotonic.
            self.durable_hint
                .fetch_max(self.mark.durable(), Ordering::Relaxed);
        }
        // The slot's previous record, `seq - capacity`, is durable: the writer
        // is done with it (the ring's claim rule).
        match self.ring.publish(seq, record) {
            // The slot's previous record is dropped here, on the producer's
            // thread, outside every lock.
            Ok(evicted) => {
                drop(evicted);
                Ok(())
            }
            Err(Duplicate) => {
                // The first record of this number is in its slot or on disk:
                // no hole, nothing to poison.
                let durable = self.mark.durable();
                Err(Error::Invalid(if seq <= durable {
                    format!(
                        "append of sequence {seq}, which is already durable (durable up to {durable})"
                    )
                } else {
                    format!("sequence {seq} was appended twice")
                }))
            }
        }
    }

    /// Waits until `seq` is durable. Returns `Poisoned` at once if the log failed.
    pub fn wait_durable(&self, seq: u64) -> Result<()> {
        self.mark.wait(seq, None)
    }

    /// Like [`Wal::wait_durable`] with a time limit.
    pub fn wait_durable_timeout(&self, seq: u64, timeout: Duration) -> Result<()> {
        self.mark.wait(seq, Some(timeout))
    }

    /// The highest contiguous durable sequence number.
    pub fn durable_seq(&self) -> u64 {
        self.mark.durable()
    }

    /// The cause, once the log is poisoned.
    pub fn poisoned(&self) -> Option<Error> {
        self.mark.poison_cause().map(Error::Poisoned)
    }

    /// Deletes the sealed segments whose records are all below `seq`, then fsyncs
    /// the directory. The active segment is never deleted. Returns how many
    /// segments went. An error poisons the log.
    pub fn truncate_before(&self, seq: u64) -> Result<usize> {
        if let Some(cause) = self.mark.poison_cause() {
            return Err(Error::Poisoned(cause));
        }
        let mut segments = sync::lock(&self.segments);
        // Segment i holds [first_i, first_{i+1}); the last one is the active
        // segment and is never deleted.
        let doomed = segments
            .windows(2)
            .take_while(|pair| pair[1].1 <= seq)
            .count();
        if doomed == 0 {
            return Ok(0);
        }
        let result = (|| {
            for (name, _) in &segments[..doomed] {
                self.storage
                    .remove(name)
                    .map_err(|e| Error::io("remove", name.clone(), e))?;
            }
            self.storage
                .sync_dir()
                .map_err(|e| Error::io("fsync directory", self.storage.describe(), e))
        })();
        if let Err(e) = result {
            self.mark.poison(e.clone());
            return Err(e);
        }
        segments.drain(..doomed);
        Ok(doomed)
    }

    /// Stops intake, writes what can be written, and joins the writer. Returns the
    /// final durable watermark.
    pub fn close(mut self) -> Result<u64> {
        self.shutdown();
        match self.mark.poison_cause() {
            Some(cause) => Err(Error::Poisoned(cause)),
            None => Ok(self.mark.durable()),
        }
    }

    fn shutdown(&mut self) {
        self.ring.close();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            self.mark
                .poison(Error::Invalid("the log writer thread panicked".into()));
        }
    }
}

impl<R: Record> Drop for Wal<R> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Active {
    name: String,
    id: u64,
    file: Box<dyn StorageFile>,
    offset: u64,
}

struct Writer<R> {
    storage: Arc<dyn Storage>,
    opts: Options,
    /// Where producers leave records, indexed by sequence number: also the
    /// reorder buffer (a record ahead of a gap waits in its slot).
    ring: Arc<Ring<R>>,
    mark: Arc<Watermark>,
    hook: Option<DurableHook<R>>,
    next_seq: u64,
    /// The highest sequence number written and fsynced. Records up to here
    /// are durable on disk but not yet published when `written > published`.
    written: u64,
    /// The highest sequence number published (the watermark the writer last
    /// advanced to).
    published: u64,
    /// Publish at least every this many written records, waiters or not.
    publish_every: u64,
    /// The first sequence number whose record a slot may still retain.
    retained_from: u64,
    active: Active,
    segments: Arc<Mutex<SegmentList>>,
    spares: Spares,
    /// When the writer last finished writing what was ready (for
    /// `STREAM_GAP_US_MAX`).
    #[cfg_attr(loom, allow(dead_code))]
    caught_up_at: std::time::Instant,
    buf: Vec<u8>,
    scratch: Vec<u8>,
}

impl<R: Record> Writer<R> {
    fn run(mut self) {
        // A panic (for example in the durable hook) must not leave waiters
        // hanging: it poisons the log like an I/O error.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_inner()))
            .unwrap_or_else(|_| Err(Error::Invalid("the log writer panicked".into())));
        // Let a spare in preparation finish (or fail) before the lock goes, so
        // no thread of ours touches the directory after the log is closed.
        self.spares.stop();
        match outcome {
            Ok(()) => {
                let behind_gap = self.ring.published_after(self.next_seq);
                if behind_gap > 0 {
                    tracing::warn!(
                        target: "wal",
                        next = self.next_seq, waiting = behind_gap,
                        "closed with records behind a gap; they were never acknowledged"
                    );
                }
                self.mark.close();
            }
            Err(e) => {
                tracing::error!(target: "wal", error = %e, "log poisoned");
                self.mark.poison(e);
            }
        }
    }

    fn run_inner(&mut self) -> Result<()> {
        // Bound: one turn per batch or per wait; the loop ends when the log is
        // closed and nothing contiguous is left, or when it is poisoned.
        loop {
            if self.mark.poison_cause().is_some() {
                return Ok(());
            }
            if self.ring.is_ready(self.next_seq) {
                self.gather();
            }
            if self.write_ready()? {
                continue;
            }
            // Nothing at `next_seq`. Read `closed` before re-checking the ring:
            // every record appended before the close is published by then.
            if self.ring.is_closed() {
                if !self.write_ready()? {
                    return self.publish();
                }
                continue;
            }
            match self.spin_for_more() {
                Spin::Ready => {}
                Spin::Demand => self.publish()?,
                Spin::Idle => {
                    // Never idle with a written record unpublished: this is
                    // what lets `publish_if_due` defer.
                    self.publish()?;
                    self.release_durable();
                    self.ring.park(self.next_seq);
                }
            }
        }
    }

    /// Polls for the next record for up to `WRITER_SPIN_US_MAX` (not under
    /// loom, which explores the parking instead), and for a waiter that a
    /// written, unpublished record covers.
    fn spin_for_more(&self) -> Spin {
        #[cfg(not(loom))]
        {
            let backoff = crossbeam_utils::Backoff::new();
            let until = std::time::Instant::now() + Duration::from_micros(WRITER_SPIN_US_MAX);
            // Bound: WRITER_SPIN_US_MAX of wall time.
            loop {
                if self.ring.is_ready(self.next_seq) || self.ring.is_closed() {
                    return Spin::Ready;
                }
                if self.demanded() {
                    return Spin::Demand;
                }
                if std::time::Instant::now() >= until {
                    return Spin::Idle;
                }
                backoff.snooze();
            }
        }
        #[cfg(loom)]
        {
            Spin::Idle
        }
    }

    /// With the next record published: waits (bounded) until a batch worth
    /// writing has gathered, unless someone waits or the log closes. See
    /// `GATHER_RECORDS`. Not under loom, where it would only add states.
    fn gather(&self) {
        #[cfg(not(loom))]
        {
            if self.caught_up_at.elapsed() > Duration::from_micros(STREAM_GAP_US_MAX) {
                return;
            }
            let target = self.next_seq + GATHER_RECORDS - 1;
            let mut until = None;
            let backoff = crossbeam_utils::Backoff::new();
            // Bound: GATHER_US_MAX of wall time.
            loop {
                if self.ring.is_ready(target)
                    || self.mark.lowest_waiting() != u64::MAX
                    || self.ring.is_closed()
                    || self.mark.poison_cause().is_some()
                {
                    return;
                }
                let now = std::time::Instant::now();
                match until {
                    None => until = Some(now + Duration::from_micros(GATHER_US_MAX)),
                    Some(t) if now >= t => return,
                    Some(_) => {}
                }
                backoff.snooze();
            }
        }
    }

    /// Whether a waiter waits for a record written but not yet published.
    fn demanded(&self) -> bool {
        self.written > self.published && self.mark.lowest_waiting() <= self.written
    }

    /// Publishes what was written if a waiter waits for it, or if
    /// `publish_every` records wait for publication. Otherwise the next batch
    /// (or going idle) publishes it: a tiny batch written while producers
    /// stream and nobody waits is not worth a durable-view store and a
    /// watermark update each (both touch cache lines the producers use).
    fn publish_if_due(&mut self) -> Result<()> {
        if self.demanded() || self.written - self.published >= self.publish_every {
            self.publish()?;
        }
        Ok(())
    }

    /// Runs the durable hook on the last written record, then advances the
    /// watermark to it (waking the waiters it covers).
    fn publish(&mut self) -> Result<()> {
        if self.written == self.published {
            return Ok(());
        }
        let last = self.written;
        if self.mark.poison_cause().is_some() {
            return Err(self.mark.stopped_error());
        }
        // The hook may publish a state another thread poisons the log right
        // after; that state was fsynced all the same, so it is true, and the
        // watermark below refuses to move, so no waiter is acknowledged. The
        // record is still in its slot: its number is not durable yet, so no
        // producer may reuse the slot.
        if let Some(hook) = self.hook.as_mut() {
            self.ring.read(last, |record| hook(last, record));
        }
        if !self.mark.advance(last) {
            // Poisoned by another thread (the preallocator or
            // `truncate_before`): stop here, acknowledging nothing.
            return Err(self.mark.stopped_error());
        }
        self.published = last;
        Ok(())
    }

    /// Before sleeping: drops the records the slots still retain (all
    /// durable), so an idle log holds none.
    fn release_durable(&mut self) {
        let durable = self.mark.durable();
        if self.retained_from <= durable {
            drop(self.ring.release_durable(self.retained_from, durable));
            self.retained_from = durable + 1;
        }
    }

    /// Writes the contiguous run of published records in batches: one write
    /// and one fdatasync each. Returns whether there was any.
    fn write_ready(&mut self) -> Result<bool> {
        let mut any = false;
        let mut in_batch = 0;
        // Bound: each turn takes one record; a batch ends at
        // BATCH_RECORDS_MAX records or `batch_bytes_max` bytes.
        while self.ring.is_ready(self.next_seq) {
            let seq = self.next_seq;
            let start = frame::begin(&mut self.buf);
            let buf = &mut self.buf;
            if self.ring.read(seq, |record| record.encode(buf)).is_none() {
                return Err(Error::Invalid(format!(
                    "record {seq} vanished from its slot"
                )));
            }
            let payload_len = self.buf.len() - start - frame::HEADER_BYTES;
            if payload_len > self.opts.payload_bytes_max as usize {
                return Err(Error::Invalid(format!(
                    "record {seq} is {payload_len} bytes, over the cap of {}",
                    self.opts.payload_bytes_max
                )));
            }
            let frame_len = frame::frame_bytes(payload_len) as u64;
            if self.active.offset + start as u64 + frame_len > self.opts.segment_bytes {
                // Rare: the frame goes to the next segment. Take its payload
                // out, write what precedes it, rotate, and put it back.
                self.scratch.clear();
                self.scratch
                    .extend_from_slice(&self.buf[start + frame::HEADER_BYTES..]);
                self.buf.truncate(start);
                if start > 0 {
                    self.flush(seq - 1)?;
                }
                self.rotate()?;
                let start = frame::begin(&mut self.buf);
                self.buf.extend_from_slice(&self.scratch);
                frame::finish(&mut self.buf, start, seq, self.active.id);
            } else {
                frame::finish(&mut self.buf, start, seq, self.active.id);
            }
            self.next_seq += 1;
            any = true;
            in_batch += 1;
            if self.buf.len() >= self.opts.batch_bytes_max || in_batch >= BATCH_RECORDS_MAX {
                self.flush(seq)?;
                in_batch = 0;
            }
        }
        if !self.buf.is_empty() {
            self.flush(self.next_seq - 1)?;
        }
        if any {
            self.caught_up_at = std::time::Instant::now();
        }
        Ok(any)
    }

    /// Writes and syncs the batch buffer, whose last record is `last`, then
    /// publishes it if that is due (see `publish_if_due`).
    fn flush(&mut self, last: u64) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let a = &mut self.active;
        storage::write_all_at(a.file.as_mut(), a.offset, &self.buf)
            .map_err(|e| Error::io("write", a.name.clone(), e))?;
        a.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", a.name.clone(), e))?;
        a.offset += self.buf.len() as u64;
        self.buf.clear();
        self.written = last;
        self.publish_if_due()
    }

    /// Seals the active segment (already synced) and starts the next one: the
    /// spare prepared in the background is renamed into place and the
    /// directory fsynced.
    fn rotate(&mut self) -> Result<()> {
        let name = segment::segment_name(self.next_seq);
        let (tmp, file) = self.spares.take()?;
        self.storage
            .rename(&tmp, &name)
            .map_err(|e| Error::io("rename", tmp.clone(), e))?;
        self.storage
            .sync_dir()
            .map_err(|e| Error::io("fsync directory", self.storage.describe(), e))?;
        sync::lock(&self.segments).push((name.clone(), self.next_seq));
        self.active = Active {
            name,
            id: self.next_seq,
            file,
            offset: 0,
        };
        Ok(())
    }
}

/// What the writer found while polling for more. Under loom the writer never
/// polls (it parks at once), so only `Idle` is built there.
#[cfg_attr(loom, allow(dead_code))]
enum Spin {
    /// The next record (or the close).
    Ready,
    /// A waiter for a written, unpublished record.
    Demand,
    /// Nothing for `WRITER_SPIN_US_MAX`.
    Idle,
}

/// A zero-filled, synced segment file prepared ahead of time.
type Spare = (String, Box<dyn StorageFile>);

/// Prepares the next segment on its own thread, so that rotation costs a
/// rename and a directory fsync instead of writing `segment_bytes` of zeros.
/// One spare at a time (the channels hold one item each). An error while
/// preparing poisons the log at once, like any other write error.
struct Spares {
    request: Option<Sender<()>>,
    ready: Receiver<Result<Spare>>,
    thread: Option<JoinHandle<()>>,
}

/// How a spare's name starts.
const SPARE_PREFIX: &str = "spare-";

/// Spare files are temp files: the next writer's preallocator removes them.
fn spare_name(n: u64) -> String {
    format!("{SPARE_PREFIX}{n:020}{TEMP_SUFFIX}")
}

/// Removes the spares an earlier writer left, then fsyncs the directory.
fn remove_leftover_spares(storage: &dyn Storage, leftovers: &[String]) -> Result<()> {
    if leftovers.is_empty() {
        return Ok(());
    }
    // Bound: the leftovers (one spare per earlier writer that crashed).
    for name in leftovers {
        storage
            .remove(name)
            .map_err(|e| Error::io("remove", name.clone(), e))?;
    }
    storage
        .sync_dir()
        .map_err(|e| Error::io("fsync directory", storage.describe(), e))?;
    tracing::info!(target: "wal", files = ?leftovers, "removed spare segments of an earlier run");
    Ok(())
}

impl Spares {
    /// Starts the preallocator. It first removes `leftovers` (spares of an
    /// earlier writer, which may share the names it uses); failing that, it
    /// poisons the log like a failed preallocation.
    fn start(
        storage: Arc<dyn Storage>,
        segment_bytes: u64,
        mark: Arc<Watermark>,
        leftovers: Vec<String>,
    ) -> Result<Self> {
        let (request, requests) = crossbeam_channel::bounded::<()>(1);
        let (done, ready) = crossbeam_channel::bounded::<Result<Spare>>(1);
        let thread = std::thread::Builder::new()
            .name("wal-prealloc".into())
            .spawn(move || {
                let mut cleared = remove_leftover_spares(storage.as_ref(), &leftovers);
                // Bound: one turn per request; ends when the writer hangs up.
                for (n, ()) in (1u64..).zip(requests) {
                    let made = std::mem::replace(&mut cleared, Ok(()))
                        .and_then(|()| make_spare(storage.as_ref(), &spare_name(n), segment_bytes));
                    if let Err(e) = &made {
                        mark.poison(e.clone());
                    }
                    if done.send(made).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| Error::io("spawn", "wal-prealloc", e))?;
        request
            .send(())
            .expect("the preallocator holds its receiver");
        Ok(Self {
            request: Some(request),
            ready,
            thread: Some(thread),
        })
    }

    /// The prepared spare (waiting for it if it is still being made), and a
    /// request for the next one.
    fn take(&mut self) -> Result<Spare> {
        let spare = self
            .ready
            .recv()
            .map_err(|_| Error::Invalid("the segment preallocator stopped".into()))??;
        if let Some(r) = &self.request {
            let _ = r.send(());
        }
        Ok(spare)
    }

    fn stop(&mut self) {
        self.request = None;
        if let Some(t) = self.thread.take() {
            // Drain a finished spare so a blocked send returns, then join.
            let _ = self.ready.try_recv();
            let _ = t.join();
        }
    }
}

fn make_spare(storage: &dyn Storage, name: &str, segment_bytes: u64) -> Result<Spare> {
    // No leftover can exist: the preallocator removed the earlier writer's
    // spares before its first one, recovery every other temp file, and names
    // are unique per writer.
    let mut file = storage
        .create(name)
        .map_err(|e| Error::io("create", name.to_owned(), e))?;
    zero_fill(file.as_mut(), name, 0, segment_bytes)?;
    file.sync_data()
        .map_err(|e| Error::io("fdatasync", name.to_owned(), e))?;
    Ok((name.to_owned(), file))
}
