//! `wal`: a durable, checksummed, group-committed write-ahead log of opaque byte
//! records. It knows nothing about trading: a record is a sequence number and
//! bytes.
//!
//! # Using it
//!
//! ```no_run
//! use std::sync::Arc;
//! use wal::{FsStorage, Options, Recovered};
//!
//! let storage = Arc::new(FsStorage::create_dir("data/wal")?);
//! let recovered = Recovered::open(storage, &Options::default())?;
//! for (seq, payload) in recovered.records().iter() {
//!     // re-apply the record
//!     # let _ = (seq, payload);
//! }
//! let next = recovered.next_seq();
//! let log: wal::Wal<Vec<u8>> = recovered.start(None)?;
//! log.append(next, b"hello".to_vec())?;
//! log.wait_durable(next)?; // now, and only now, tell the world
//! # Ok::<(), wal::Error>(())
//! ```
//!
//! # On-disk format
//!
//! A log is a directory of segment files plus a `LOCK` file. A segment is named by
//! the sequence number of its first record, in 20 decimal digits:
//! `00000000000000000001.wal`. Segments are preallocated to `segment_bytes` and
//! zero-filled before use (written as `NAME.wal.tmp`, fdatasynced, renamed, and the
//! directory fsynced); a record never spans two segments. The segment id carried
//! in every frame is that first sequence number.
//!
//! A segment is a run of frames from offset 0, then zeros. A frame, all integers
//! little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"DSWL"` |
//! | 4 | 2 | format version, `1` |
//! | 6 | 2 | flags: bits 0-1 a salt that only changes the checksums (see below); bits 2-15 reserved, a set one is refused |
//! | 8 | 4 | payload length `L` (at most `payload_bytes_max`, 1 MiB by default) |
//! | 12 | 8 | sequence number |
//! | 20 | 8 | segment id (the segment's first sequence number) |
//! | 28 | 4 | crc32c (Castagnoli) of bytes 0..28 |
//! | 32 | L | payload |
//! | 32+L | 4 | crc32c of the payload, seeded with the header crc (binds payload to header) |
//!
//! An all-zero header means "no record here". Sequence numbers are gapless: the
//! first frame of a segment carries the segment id, each next frame one more, and
//! the next segment starts right after the last frame of the previous one.
//!
//! # Recovery rules
//!
//! [`Recovered::open`] takes the lock, removes `*.tmp` files (an earlier writer's
//! spare segments are left to the new writer's preallocator, which removes them
//! before making its own: unlinking one costs tens of milliseconds), fdatasyncs every
//! segment, then scans them in order. A frame is valid when both checksums match,
//! the version and flags are known, the length is within the cap, and its segment
//! id and sequence number are the ones expected at that place; a valid frame in
//! the wrong place (stale, misplaced, duplicated) is an error, never accepted.
//!
//! After the last valid frame of a segment comes the *tail*:
//! - all zeros (or the end of the file): a clean end;
//! - in a sealed segment (any but the last), anything else is corruption;
//! - in the last segment, a **torn tail** is truncated (zeroed) and reported;
//!   anything else is corruption.
//!
//! **The torn-tail rule.** The writer issues one write per batch and acknowledges
//! nothing before the following fdatasync, and the rest of a preallocated
//! segment reads as zeros. A crash (or a failed write) can only leave a *prefix*
//! of that last write, so a torn write looks like the start of a frame followed
//! by nothing but zeros. Damage at offset `E` of the last segment is truncated as
//! a torn tail exactly when:
//! - the frame at `E` runs past the end of the file (a cut file); or
//! - its header checks, and its payload checksum field and everything after it
//!   are zero; or
//! - its header does not check, nothing non-zero follows its header (at most
//!   part of its header checksum field was written), and its first non-zero
//!   bytes are the start of the magic.
//!
//! The writer never writes a checksum field that is zero or one bit from zero
//! (two salt bits in the flags are bumped until both checksums have at least
//! two bits set), so a frame written whole never looks torn whatever bit in it
//! flips, and a stray bit in the zeros never looks
//! like the start of the magic. Every single-bit flip of a log is therefore
//! refused (the test suite flips every bit of a 5 KiB log). Any other damage (a
//! bad frame followed by data, garbage after the end, damage in a sealed
//! segment, a missing or duplicated segment, a sequence gap) refuses to open with
//! an error naming the segment, the offset and the kind. Repair is a separate,
//! explicit operator act.
//!
//! One assumption is worth stating: if the OS wrote the pages of the last,
//! unacknowledged batch out of order and power failed before the fdatasync, the
//! log may show a hole followed by data. That is refused too (safe, never
//! silently shorter), and needs the operator's repair.
//!
//! # Durability and failure
//!
//! One writer thread owns the active segment. Producers hand it `(seq, record)`
//! in any order through a ring of `in_flight_max` slots indexed by sequence
//! number (`ring.rs`; `append` keeps every producer within that distance of the
//! durable watermark, so each record in flight has its own slot, and the ring is
//! also the reorder buffer). A producer moves its record into its slot and marks
//! it published; it wakes the writer only if the writer parked, so the writer is
//! woken per batch, not per record. The writer encodes the contiguous prefix
//! straight into its batch buffer and writes it, one write and one fdatasync per
//! batch. It then calls the durable hook with the batch's last record and
//! publishes the durable watermark (the highest contiguous fsynced sequence),
//! waking exactly the waiters the watermark covers. A record stays in its slot
//! until a producer reuses the slot (so the producer, not the writer, frees what
//! the producer allocated) or the writer goes idle (then it drops them itself).
//!
//! Two policies keep the writer off the producers' cache lines while records
//! stream in and nobody waits for one; neither ever delays a waiter by more
//! than a few microseconds, and neither acknowledges anything early:
//! - *gathering*: when the next record arrived within a few microseconds of the
//!   previous batch and no one waits, the writer lets up to 256 records gather,
//!   for at most 20 us, before it writes;
//! - *deferred publication*: after an fdatasync the writer publishes (hook and
//!   watermark) at once only if someone waits for a record it just made durable,
//!   or `in_flight_max / 4` records await publication; otherwise the next batch
//!   publishes both. **The writer never goes idle with a written, unpublished
//!   record**, so a waiter that arrives later is woken by the next publication
//!   or, at the latest, before the writer sleeps.
//!
//! The first failed write, fsync, create or rename poisons the log: every
//! current and future waiter gets [`Error::Poisoned`] at once, and nothing more
//! is acknowledged (the watermark is stored under the waiters' lock, so it can
//! never move after a poison).
//!
//! A second thread keeps the next segment ready: a zero-filled, fdatasynced
//! `spare-N.tmp`, so rotation costs a rename and a directory fsync. Its failure
//! (or a failure to remove an earlier writer's spares) poisons the log like any
//! other write error.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod error;
pub mod frame;
mod log;
mod ring;
mod segment;
pub mod sim;
pub mod storage;
mod sync;
mod watermark;

pub use error::{Corruption, CorruptionKind, Error, Result};
pub use log::{
    DurableHook, Options, Record, RecordBatch, Records, Recovered, RecoveryReport,
    STREAM_BATCH_RECORDS, SegmentSummary, TornTail, Wal, inspect,
};
pub use storage::{FsStorage, LockGuard, Storage, StorageFile};
