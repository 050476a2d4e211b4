//! The frame: one record on disk. The layout is documented byte by byte in the
//! crate docs; this module is the only code that reads or writes it.

use crate::error::CorruptionKind;

/// `b"DSWL"` read as a little-endian `u32`.
pub const MAGIC: u32 = u32::from_le_bytes(*b"DSWL");
/// The frame format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes in a frame header.
pub const HEADER_BYTES: usize = 32;
/// Bytes in the payload checksum that follows the payload.
pub const TRAILER_BYTES: usize = 4;
/// Bytes a frame adds around its payload.
pub const OVERHEAD_BYTES: usize = HEADER_BYTES + TRAILER_BYTES;
/// Default cap on one payload.
pub const PAYLOAD_BYTES_MAX_DEFAULT: u32 = 1 << 20;

/// The frame flags this build understands: the two low bits are a salt (see
/// [`encode`]); the others are reserved and refused.
const FLAGS_KNOWN: u16 = SALT_MASK;
/// Salt bits: they change the checksums and mean nothing else.
const SALT_MASK: u16 = 0b11;

const _: () = assert!(HEADER_BYTES == 4 + 2 + 2 + 4 + 8 + 8 + 4);

/// Bytes a frame with a payload of `payload_len` bytes takes on disk.
pub const fn frame_bytes(payload_len: usize) -> usize {
    OVERHEAD_BYTES + payload_len
}

/// Appends the frame for `payload` to `out`.
///
/// Neither checksum field of a written frame is ever zero, nor one flipped bit
/// away from zero: if one would have fewer than two bits set, the salt in the
/// flags is bumped, which changes both. So a frame written whole never ends in
/// four zero bytes, even after any one bit of it flips, and the torn-tail rule
/// can tell a write that stopped early (its end still zero) from a whole frame
/// with a flipped bit.
pub fn encode(out: &mut Vec<u8>, seq: u64, segment_id: u64, payload: &[u8]) {
    let start = begin(out);
    out.extend_from_slice(payload);
    finish(out, start, seq, segment_id);
}

/// Reserves a header at the end of `out` and returns where the frame starts;
/// append the payload, then call [`finish`]. This lets a record encode itself
/// straight into the batch buffer.
pub fn begin(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_BYTES]);
    start
}

/// Completes the frame that [`begin`] started at `start`: everything after
/// its header is the payload.
pub fn finish(out: &mut Vec<u8>, start: usize, seq: u64, segment_id: u64) {
    let payload_len = out.len() - start - HEADER_BYTES;
    let len = u32::try_from(payload_len).expect("payload length checked against the cap");
    let mut header = [0u8; HEADER_BYTES];
    header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[8..12].copy_from_slice(&len.to_le_bytes());
    header[12..20].copy_from_slice(&seq.to_le_bytes());
    header[20..28].copy_from_slice(&segment_id.to_le_bytes());
    let payload = &out[start + HEADER_BYTES..];
    let mut salt = 0u16;
    // Bound: SALT_MASK + 1 salts; all four leaving a checksum (either of the
    // two) with fewer than two bits set has probability about
    // (66 / 2^32)^4, and then the last one is written anyway.
    let (header_crc, payload_crc) = loop {
        header[6..8].copy_from_slice(&salt.to_le_bytes());
        let h = crc32c::crc32c(&header[..HEADER_BYTES - 4]);
        let p = crc32c::crc32c_append(h, payload);
        if (h.count_ones() >= 2 && p.count_ones() >= 2) || salt == SALT_MASK {
            break (h, p);
        }
        salt += 1;
    };
    header[28..32].copy_from_slice(&header_crc.to_le_bytes());
    out[start..start + HEADER_BYTES].copy_from_slice(&header);
    out.extend_from_slice(&payload_crc.to_le_bytes());
}

/// A header that passed its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Payload length in bytes.
    pub payload_len: u32,
    /// Sequence number.
    pub seq: u64,
    /// The segment the frame was written into (its first sequence number).
    pub segment_id: u64,
    /// The header checksum, which seeds the payload checksum.
    pub crc: u32,
}

impl Header {
    /// Bytes of the whole frame.
    pub fn frame_bytes(&self) -> usize {
        frame_bytes(self.payload_len as usize)
    }
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes and checks a header from exactly [`HEADER_BYTES`] bytes.
pub fn decode_header(bytes: &[u8], payload_bytes_max: u32) -> Result<Header, CorruptionKind> {
    let bytes = &bytes[..HEADER_BYTES];
    let crc = le_u32(bytes, 28);
    if crc32c::crc32c(&bytes[..28]) != crc {
        return Err(if le_u32(bytes, 0) == MAGIC {
            CorruptionKind::HeaderChecksum
        } else {
            CorruptionKind::BadMagic
        });
    }
    if le_u32(bytes, 0) != MAGIC {
        return Err(CorruptionKind::BadMagic);
    }
    let version = le_u16(bytes, 4);
    if version != FORMAT_VERSION {
        return Err(CorruptionKind::FutureVersion { found: version });
    }
    let flags = le_u16(bytes, 6);
    if flags & !FLAGS_KNOWN != 0 {
        return Err(CorruptionKind::UnknownFlags(flags));
    }
    let payload_len = le_u32(bytes, 8);
    if payload_len > payload_bytes_max {
        return Err(CorruptionKind::BadLength(payload_len));
    }
    Ok(Header {
        payload_len,
        seq: le_u64(bytes, 12),
        segment_id: le_u64(bytes, 20),
        crc,
    })
}

/// Checks the payload checksum of a frame whose header is `header`; `frame` is the
/// whole frame.
pub fn payload_ok(header: &Header, frame: &[u8]) -> bool {
    let end = header.frame_bytes();
    let payload = &frame[HEADER_BYTES..end - TRAILER_BYTES];
    crc32c::crc32c_append(header.crc, payload) == le_u32(frame, end - TRAILER_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn golden_frame_bytes() {
        let mut out = Vec::new();
        encode(&mut out, 7, 5, b"hi!");
        #[rustfmt::skip]
        let expected: &[u8] = &[
            b'D', b'S', b'W', b'L',             // magic
            1, 0,                               // format version 1
            0, 0,                               // flags
            3, 0, 0, 0,                         // payload length 3
            7, 0, 0, 0, 0, 0, 0, 0,             // sequence 7
            5, 0, 0, 0, 0, 0, 0, 0,             // segment id 5
            0x28, 0x2d, 0xfc, 0xdd,             // header crc32c of bytes 0..28 (checked with an independent Python crc32c)
            b'h', b'i', b'!',                   // payload
            0xde, 0x29, 0x67, 0x7a,             // crc32c of the payload, seeded with the header crc
        ];
        assert_eq!(out, expected, "got {out:02x?}");
        let h = decode_header(&out, PAYLOAD_BYTES_MAX_DEFAULT).unwrap();
        assert_eq!((h.seq, h.segment_id, h.payload_len), (7, 5, 3));
        assert!(payload_ok(&h, &out));
    }

    #[test]
    fn no_checksum_one_flip_from_zero_is_written() {
        // Found by search: with salt 0 this frame's payload checksum is
        // 0x80000000, so one flipped bit would zero the trailer and the frame,
        // last in its segment, would pass for a torn write (an acknowledged
        // record dropped without an error). The salt must move it.
        let payload = 82_681_077u64.to_le_bytes();
        let mut header = [0u8; HEADER_BYTES];
        header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[8..12].copy_from_slice(&8u32.to_le_bytes());
        header[12..20].copy_from_slice(&1u64.to_le_bytes());
        header[20..28].copy_from_slice(&1u64.to_le_bytes());
        let salt0 = crc32c::crc32c_append(crc32c::crc32c(&header[..28]), &payload);
        assert_eq!(
            salt0, 0x8000_0000,
            "the fixture still hits the one-bit case"
        );

        let mut out = Vec::new();
        encode(&mut out, 1, 1, &payload);
        assert_ne!(le_u16(&out, 6) & SALT_MASK, 0, "the salt was bumped");
        let h = decode_header(&out, PAYLOAD_BYTES_MAX_DEFAULT).unwrap();
        assert!(payload_ok(&h, &out));
        let trailer = le_u32(&out, out.len() - TRAILER_BYTES);
        assert!(
            h.crc.count_ones() >= 2 && trailer.count_ones() >= 2,
            "{h:?} {trailer:#x}"
        );
    }

    #[test]
    fn rejects_each_damaged_field() {
        let mut frame = Vec::new();
        encode(&mut frame, 1, 1, b"payload");
        for byte in 0..frame.len() {
            let mut bad = frame.clone();
            bad[byte] ^= 0x10;
            let ok = match decode_header(&bad, PAYLOAD_BYTES_MAX_DEFAULT) {
                Ok(h) => payload_ok(&h, &bad),
                Err(_) => false,
            };
            assert!(!ok, "flip in byte {byte} went unnoticed");
        }
    }

    #[test]
    fn checksum_fields_are_never_zero() {
        // With salt 0, this payload's checksum for sequence 1 in segment 1 is
        // exactly zero: the 4-byte tail was solved for offline (crc32c is linear
        // over GF(2)) with an independent Python crc32c.
        let mut payload = b"zero-crc".to_vec();
        payload.extend_from_slice(&0x269f_b88c_u32.to_le_bytes());
        let mut header = [0u8; HEADER_BYTES];
        header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[8..12].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        header[12..20].copy_from_slice(&1u64.to_le_bytes());
        header[20..28].copy_from_slice(&1u64.to_le_bytes());
        let unsalted = crc32c::crc32c(&header[..28]);
        assert_eq!(crc32c::crc32c_append(unsalted, &payload), 0, "test vector");

        let mut out = Vec::new();
        encode(&mut out, 1, 1, &payload);
        assert_eq!(le_u16(&out, 6), 1, "the salt moved to 1");
        assert_ne!(&out[out.len() - 4..], &[0; 4]);
        let h = decode_header(&out, PAYLOAD_BYTES_MAX_DEFAULT).unwrap();
        assert!(payload_ok(&h, &out));
    }

    #[test]
    fn rejects_lengths_over_the_cap() {
        let mut frame = Vec::new();
        encode(&mut frame, 1, 1, &[9u8; 100]);
        assert_eq!(
            decode_header(&frame, 99),
            Err(CorruptionKind::BadLength(100))
        );
    }
}
