//! Segment files: naming, and the scan that validates one segment's frames and
//! decides what its tail is.

use crate::error::{Corruption, CorruptionKind};
use crate::frame::{self, HEADER_BYTES};

/// Ending of a segment file name.
pub(crate) const SEGMENT_SUFFIX: &str = ".wal";
/// Ending of a segment being prepared (removed at recovery).
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// Decimal digits of the first sequence number in a segment name.
const NAME_DIGITS: usize = 20;

/// The file name of the segment whose first record is `first_seq`.
pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:0NAME_DIGITS$}{SEGMENT_SUFFIX}")
}

/// The first sequence number of a segment name, or `None` if it is not one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != NAME_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How a segment ends after its last valid frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Zeros (or end of file) right after the last valid frame.
    Clean,
    /// A torn write: bytes `[offset, nonzero_end)` are the remains of an
    /// unacknowledged write and must be zeroed before appending.
    Torn { offset: u64, nonzero_end: u64 },
}

/// What a scan of one segment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The sequence number after the segment's last valid record.
    pub(crate) next_seq: u64,
    /// Records in the segment.
    pub(crate) records: u64,
    /// Byte offset just past the last valid frame.
    pub(crate) end_offset: u64,
    pub(crate) tail: Tail,
}

/// Chunk compared at once by [`all_zero`].
const ZERO_CHUNK_BYTES: usize = 4096;
static ZEROS: [u8; ZERO_CHUNK_BYTES] = [0; ZERO_CHUNK_BYTES];

/// Whether every byte is zero. Compares whole chunks against a zero page
/// (`memcmp`, vectorized even in debug builds): recovery checks the zeroed
/// rest of every 64 MiB segment.
pub(crate) fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(ZERO_CHUNK_BYTES)
        .all(|c| c == &ZEROS[..c.len()])
}

/// Offset just past the last non-zero byte.
fn nonzero_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Scans `bytes`, the whole segment `name` whose first sequence number is `id`,
/// calling `visit(seq, payload, offset)` for every valid record in order.
///
/// `is_last` allows a torn tail (see the crate docs for the rule); in a sealed
/// segment any damage is corruption.
pub(crate) fn scan(
    name: &str,
    id: u64,
    bytes: &[u8],
    is_last: bool,
    payload_bytes_max: u32,
    visit: &mut dyn FnMut(u64, &[u8], u64),
) -> Result<Scanned, Corruption> {
    let corrupt = |offset: usize, kind| Corruption {
        segment: name.to_owned(),
        offset: offset as u64,
        kind,
    };
    let mut off = 0usize;
    let mut seq = id;
    // Bound: every turn consumes at least one frame of bytes or returns.
    loop {
        let done = |off: usize, seq: u64, tail| Scanned {
            next_seq: seq,
            records: seq - id,
            end_offset: off as u64,
            tail,
        };
        let rest = &bytes[off..];
        // A frame starts with the (non-zero) magic: only the end of the data
        // needs the scan of everything after it.
        if rest.first().is_none_or(|&b| b == 0) && all_zero(rest) {
            return Ok(done(off, seq, Tail::Clean));
        }
        // Something non-zero follows: the next frame, or damage.
        let failure = if rest.len() < HEADER_BYTES {
            CorruptionKind::BadLength(rest.len() as u32)
        } else {
            match frame::decode_header(rest, payload_bytes_max) {
                Err(kind) => kind,
                Ok(h) if h.segment_id != id => CorruptionKind::WrongSegment {
                    found: h.segment_id,
                },
                Ok(h) if h.seq != seq => CorruptionKind::WrongSequence {
                    expected: seq,
                    found: h.seq,
                },
                Ok(h) if h.frame_bytes() > rest.len() => {
                    // The frame runs past the end of the file: a cut file, and only
                    // the last segment may be cut.
                    if is_last {
                        let tail = Tail::Torn {
                            offset: off as u64,
                            nonzero_end: (off + nonzero_end(rest)) as u64,
                        };
                        return Ok(done(off, seq, tail));
                    }
                    CorruptionKind::BadLength(h.payload_len)
                }
                Ok(h) => {
                    let len = h.frame_bytes();
                    if frame::payload_ok(&h, &rest[..len]) {
                        visit(
                            seq,
                            &rest[HEADER_BYTES..len - frame::TRAILER_BYTES],
                            off as u64,
                        );
                        off += len;
                        seq += 1;
                        continue;
                    }
                    if is_last && torn_frame(bytes, off, Some(len)) {
                        let tail = Tail::Torn {
                            offset: off as u64,
                            nonzero_end: (off + nonzero_end(rest)) as u64,
                        };
                        return Ok(done(off, seq, tail));
                    }
                    CorruptionKind::PayloadChecksum
                }
            }
        };
        if is_last && torn_frame(bytes, off, None) {
            let tail = Tail::Torn {
                offset: off as u64,
                nonzero_end: (off + nonzero_end(rest)) as u64,
            };
            return Ok(done(off, seq, tail));
        }
        let kind = if all_zero(&rest[..rest.len().min(HEADER_BYTES)]) {
            CorruptionKind::GarbageAfterEnd
        } else {
            failure
        };
        return Err(corrupt(off, kind));
    }
}

/// The torn-tail rule for the damaged frame at `off` of the last segment.
///
/// A crash (or a failed write) leaves a prefix of the last unsynced write, and
/// the rest of a preallocated segment reads as zeros. So the damage is a torn
/// write exactly when what is there is the start of a frame that stopped early:
/// - the frame runs past the end of the file; or
/// - its header checks, and its payload checksum field and everything after it
///   to the end of the file are zero; or
/// - its header does not check, nothing non-zero follows its header (at most
///   part of its header checksum field was written: a write cut, at any byte,
///   before the header was whole), and its first non-zero bytes are the start
///   of the magic.
///
/// The writer never writes a checksum field that is zero or one bit away from
/// zero (see [`frame::encode`]), so a frame written whole never looks torn,
/// whatever bit in it flips (its payload checksum, after its header, stays
/// non-zero); a stray bit in the zeros after the end never looks like the
/// start of the magic.
fn torn_frame(bytes: &[u8], off: usize, frame_len: Option<usize>) -> bool {
    let magic = frame::MAGIC.to_le_bytes();
    let rest = &bytes[off..];
    let starts_like_a_frame = {
        let n = nonzero_end(rest).min(magic.len());
        rest[..n] == magic[..n]
    };
    match frame_len {
        Some(len) if len > rest.len() => true,
        Some(len) => all_zero(&rest[len - frame::TRAILER_BYTES..]),
        None if rest.len() < HEADER_BYTES => starts_like_a_frame,
        None => starts_like_a_frame && nonzero_end(rest) <= HEADER_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        assert_eq!(segment_name(1), "00000000000000000001.wal");
        assert_eq!(parse_segment_name(&segment_name(u64::MAX)), Some(u64::MAX));
        for bad in [
            "1.wal",
            "0000000000000000000a.wal",
            "00000000000000000001.tmp",
            "LOCK",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
        assert!(segment_name(9) < segment_name(10));
    }

    fn segment(payloads: &[&[u8]], id: u64, size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            frame::encode(&mut out, id + i as u64, id, p);
        }
        out.resize(size, 0);
        out
    }

    type Got = Vec<(u64, Vec<u8>)>;

    fn scan_all(bytes: &[u8], id: u64, last: bool) -> Result<(Scanned, Got), Corruption> {
        let mut got = Vec::new();
        let s = scan("s", id, bytes, last, 1 << 20, &mut |seq, p, _| {
            got.push((seq, p.to_vec()))
        })?;
        Ok((s, got))
    }

    #[test]
    fn clean_segment_yields_every_record() {
        let bytes = segment(&[b"a", b"bb", b"ccc"], 10, 4096);
        let (s, got) = scan_all(&bytes, 10, false).unwrap();
        assert_eq!(s.next_seq, 13);
        assert_eq!(s.tail, Tail::Clean);
        assert_eq!(
            got,
            vec![
                (10, b"a".to_vec()),
                (11, b"bb".to_vec()),
                (12, b"ccc".to_vec())
            ]
        );
    }

    #[test]
    fn wrong_segment_id_is_misplaced() {
        let bytes = segment(&[b"a"], 10, 1024);
        let err = scan_all(&bytes, 11, true).unwrap_err();
        assert_eq!(err.kind, CorruptionKind::WrongSegment { found: 10 });
        assert_eq!(err.offset, 0);
    }

    #[test]
    fn torn_at_sector_boundary_is_tail_but_flip_is_not() {
        // A frame that straddles the 512-byte boundary, cut there.
        let big = vec![7u8; 600];
        let mut bytes = segment(&[b"first", &big], 1, 2048);
        let second = frame::frame_bytes(5);
        let (ok, _) = scan_all(&bytes, 1, true).unwrap();
        assert_eq!(ok.next_seq, 3);
        let mut torn = bytes.clone();
        torn[512..].fill(0);
        let (s, got) = scan_all(&torn, 1, true).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            s.tail,
            Tail::Torn {
                offset: second as u64,
                nonzero_end: 512
            }
        );
        // The same cut in a sealed segment is corruption.
        assert!(scan_all(&torn, 1, false).is_err());
        // A flipped bit in the whole last frame is corruption, not a torn tail.
        bytes[second + 100] ^= 1;
        let err = scan_all(&bytes, 1, true).unwrap_err();
        assert_eq!(err.kind, CorruptionKind::PayloadChecksum);
    }

    /// A write cut inside the header's checksum field (a failed write keeps
    /// any prefix of its bytes) is a torn tail; the same header followed by
    /// anything non-zero is not.
    #[test]
    fn a_header_cut_inside_its_checksum_is_torn_but_not_with_data_after() {
        let mut bytes = segment(&[b"first", b"second"], 1, 1024);
        let second = frame::frame_bytes(5);
        for kept in [HEADER_BYTES - 3, HEADER_BYTES - 2, HEADER_BYTES - 1] {
            let mut torn = bytes.clone();
            torn[second + kept..].fill(0);
            let (s, got) = scan_all(&torn, 1, true).unwrap();
            assert_eq!(got.len(), 1, "cut after {kept} header bytes");
            assert!(
                matches!(s.tail, Tail::Torn { offset, .. } if offset == second as u64),
                "cut after {kept} header bytes: {:?}",
                s.tail
            );
            // Not in a sealed segment, and not with a byte after the header.
            assert!(scan_all(&torn, 1, false).is_err());
            torn[second + HEADER_BYTES + 1] = 1;
            assert!(scan_all(&torn, 1, true).is_err(), "data after the header");
        }
        // The whole frame with its checksum field damaged is refused.
        bytes[second + HEADER_BYTES - 1] ^= 1;
        assert!(scan_all(&bytes, 1, true).is_err());
    }

    #[test]
    fn garbage_after_end_is_corruption() {
        let mut bytes = segment(&[b"a"], 1, 2048);
        bytes[1500] = 1;
        let err = scan_all(&bytes, 1, true).unwrap_err();
        assert_eq!(err.kind, CorruptionKind::GarbageAfterEnd);
        assert_eq!(err.offset, frame::frame_bytes(1) as u64);
    }
}
