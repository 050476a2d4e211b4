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

/// The frame flags this build understands (none yet; all bits are reserved).
const FLAGS_KNOWN: u16 = 0;

const _: () = assert!(HEADER_BYTES == 4 + 2 + 2 + 4 + 8 + 8 + 4);

/// Bytes a frame with a payload of `payload_len` bytes takes on disk.
pub const fn frame_bytes(payload_len: usize) -> usize {
    OVERHEAD_BYTES + payload_len
}

/// Appends the frame for `payload` to `out`.
pub fn encode(out: &mut Vec<u8>, seq: u64, segment_id: u64, payload: &[u8]) {
    let start = out.len();
    let len = u32::try_from(payload.len()).expect("payload length checked against the cap");
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&FLAGS_KNOWN.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&segment_id.to_le_bytes());
    let header_crc = crc32c::crc32c(&out[start..start + HEADER_BYTES - 4]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    let payload_crc = crc32c::crc32c_append(header_crc, payload);
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
    fn rejects_lengths_over_the_cap() {
        let mut frame = Vec::new();
        encode(&mut frame, 1, 1, &[9u8; 100]);
        assert_eq!(
            decode_header(&frame, 99),
            Err(CorruptionKind::BadLength(100))
        );
    }
}
