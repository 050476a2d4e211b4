//! The bincode 2.0.1 `standard()` layout written and read by hand, for the
//! journal record (one per commit, so its cost is on every commit's path and
//! every replayed record). The bytes are exactly those of
//! `bincode::serde::encode_to_vec(record, CONFIG)` (see the module docs of
//! [`super`] for the layout); the golden-byte tests and a differential property
//! test against bincode itself pin that. Decoding errors use bincode's own error
//! texts, so a refusal reads the same as before.
//!
//! Decimals are written from (and, on the direct path, read as) a number of
//! paise at scale 2, the only form an `Amount` or a `Price` takes.

use bincode::error::{AllowedEnumVariants, DecodeError, IntegerType};
use rust_decimal::Decimal;

use super::CodecError;
use super::bin_decimal;

/// Largest value of a one-byte varint.
const SINGLE_BYTE_MAX: u8 = 250;
/// Varint marker: a `u16` follows.
const U16_BYTE: u8 = 251;
/// Varint marker: a `u32` follows.
const U32_BYTE: u8 = 252;
/// Varint marker: a `u64` follows.
const U64_BYTE: u8 = 253;
/// Varint marker: a `u128` follows (never valid in our records).
const U128_BYTE: u8 = 254;
/// Byte 2 of a decimal's flags: the scale, here 2 (paise).
const SCALE_2: u8 = 2;
/// Byte 3 of a decimal's flags: bit 7 is the sign.
const SIGN_BIT: u8 = 0x80;
/// The flags of a decimal at scale 2, as a little-endian `u32`.
const FLAGS_SCALE_2: u32 = (SCALE_2 as u32) << 16;
/// The same, negative.
const FLAGS_SCALE_2_NEGATIVE: u32 = FLAGS_SCALE_2 | (SIGN_BIT as u32) << 24;

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Writes a record into a buffer sized for it (see [`Writer::finish`]): each
/// piece is a fixed-size copy into a slice, with no capacity check or
/// out-of-line copy per field as `Vec::extend_from_slice` would do.
pub(super) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Where the record starts in `out`.
    start: usize,
    /// Bytes written after `start`.
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Makes room for a record of at most `max_bytes` at the end of `out`.
    #[inline]
    pub(super) fn new(out: &'a mut Vec<u8>, max_bytes: usize) -> Writer<'a> {
        let start = out.len();
        out.resize(start + max_bytes, 0);
        Writer { out, start, pos: 0 }
    }

    /// Ends the record: `out` keeps exactly the bytes written.
    #[inline]
    pub(super) fn finish(self) {
        self.out.truncate(self.start + self.pos);
    }

    #[inline]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        let at = self.start + self.pos;
        self.out[at..at + N].copy_from_slice(&bytes);
        self.pos += N;
    }

    /// One raw byte.
    #[inline]
    pub(super) fn byte(&mut self, b: u8) {
        self.put([b]);
    }

    /// `v` as a varint.
    #[inline]
    pub(super) fn u64(&mut self, v: u64) {
        if v <= u64::from(SINGLE_BYTE_MAX) {
            self.byte(v as u8);
        } else if v <= u64::from(u16::MAX) {
            self.byte(U16_BYTE);
            self.put((v as u16).to_le_bytes());
        } else if v <= u64::from(u32::MAX) {
            self.byte(U32_BYTE);
            self.put((v as u32).to_le_bytes());
        } else {
            self.byte(U64_BYTE);
            self.put(v.to_le_bytes());
        }
    }

    /// A `u32` (or an enum variant index) as a varint: the same bytes as the
    /// `u64` of the same value.
    #[inline]
    pub(super) fn u32(&mut self, v: u32) {
        self.u64(u64::from(v));
    }

    /// `v` zigzag-encoded as a varint.
    #[inline]
    pub(super) fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    /// `v` zigzag-encoded (as a `u32`) as a varint.
    #[inline]
    pub(super) fn i32(&mut self, v: i32) {
        self.u32(((v << 1) ^ (v >> 31)) as u32);
    }

    /// A string: its length as a varint, then its bytes.
    #[inline]
    pub(super) fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        let at = self.start + self.pos;
        self.out[at..at + s.len()].copy_from_slice(s.as_bytes());
        self.pos += s.len();
    }

    /// `paise` as a decimal at scale 2 in its 16-byte binary form: the bytes
    /// of `Decimal::serialize` (flags with scale 2 and the sign, then the
    /// 96-bit mantissa, little endian). `|paise|` is at most 96 bits (an
    /// amount's or a price's bound); zero is never negative.
    #[inline]
    pub(super) fn paise(&mut self, paise: i128) {
        let mut bytes = (paise.unsigned_abs() << 32).to_le_bytes();
        bytes[2] = SCALE_2;
        if paise < 0 {
            bytes[3] = SIGN_BIT;
        }
        self.put(bytes);
    }

    /// An `Option` tag: `0` for `None`, `1` for `Some`.
    #[inline]
    pub(super) fn some(&mut self, some: bool) {
        self.byte(u8::from(some));
    }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// A cursor over a payload. Every read either advances or returns the error
/// bincode would have returned at that point.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(what: &'static str, bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn malformed(&self, e: DecodeError) -> CodecError {
        CodecError::Malformed {
            what: self.what,
            detail: e.to_string(),
        }
    }

    /// The next `n` bytes.
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let left = self.remaining();
        if left < n {
            return Err(CodecError::Truncated {
                what: self.what,
                missing: n - left,
            });
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.bytes[start..self.pos])
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    /// A varint of at most 32 (`wide == false`) or 64 bits; `signed` names the
    /// types in an error as bincode does for a zigzag integer.
    #[inline]
    fn varint(&mut self, wide: bool, signed: bool) -> Result<u64, CodecError> {
        match self.byte()? {
            b @ 0..=SINGLE_BYTE_MAX => Ok(u64::from(b)),
            U16_BYTE => Ok(u64::from(u16::from_le_bytes(self.array()?))),
            U32_BYTE => Ok(u64::from(u32::from_le_bytes(self.array()?))),
            U64_BYTE if wide => Ok(u64::from_le_bytes(self.array()?)),
            marker => {
                // bincode 2.0.1 names a 64-bit varint "U32" when at least
                // nine bytes were left at its marker (its fast path), "U64"
                // otherwise; the words are kept, only for the message.
                let fast = self.remaining() + 1 >= 9;
                let (expected, found) = match (wide, signed, marker) {
                    (true, false, _) if fast => (IntegerType::U32, IntegerType::U128),
                    (true, true, _) if fast => (IntegerType::I32, IntegerType::I128),
                    (true, false, _) => (IntegerType::U64, IntegerType::U128),
                    (true, true, _) => (IntegerType::I64, IntegerType::I128),
                    (false, false, U64_BYTE) => (IntegerType::U32, IntegerType::U64),
                    (false, true, U64_BYTE) => (IntegerType::I32, IntegerType::I64),
                    (false, false, _) => (IntegerType::U32, IntegerType::U128),
                    (false, true, _) => (IntegerType::I32, IntegerType::I128),
                };
                let found = if marker == U128_BYTE || marker == U64_BYTE {
                    found
                } else {
                    IntegerType::Reserved
                };
                Err(self.malformed(DecodeError::InvalidIntegerType { expected, found }))
            }
        }
    }

    #[inline]
    pub(super) fn u64(&mut self) -> Result<u64, CodecError> {
        self.varint(true, false)
    }

    #[inline]
    pub(super) fn u32(&mut self) -> Result<u32, CodecError> {
        // A narrow varint never holds more than 32 bits.
        Ok(self.varint(false, false)? as u32)
    }

    /// A zigzag `i64`.
    #[inline]
    pub(super) fn i64(&mut self) -> Result<i64, CodecError> {
        let n = self.varint(true, true)?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A zigzag `i32`.
    #[inline]
    pub(super) fn i32(&mut self) -> Result<i32, CodecError> {
        // A narrow varint never holds more than 32 bits.
        let n = self.varint(false, true)? as u32;
        Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
    }

    /// An enum variant index of an enum with `count` variants (a serde enum:
    /// the refusal reads like serde's).
    #[inline]
    pub(super) fn variant(&mut self, count: u32) -> Result<u32, CodecError> {
        let index = self.u32()?;
        if index >= count {
            return Err(self.malformed(DecodeError::OtherString(format!(
                "invalid value: integer `{index}`, expected variant index 0 <= i < {count}"
            ))));
        }
        Ok(index)
    }

    /// An `Option` tag: whether a value follows.
    #[inline]
    pub(super) fn some(&mut self) -> Result<bool, CodecError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            found => Err(self.malformed(DecodeError::UnexpectedVariant {
                type_name: "Option<T>",
                allowed: &AllowedEnumVariants::Range { min: 0, max: 1 },
                found: u32::from(found),
            })),
        }
    }

    /// A UTF-8 string, borrowed from the payload.
    #[inline]
    pub(super) fn str(&mut self) -> Result<&'a str, CodecError> {
        let len = self.u64()?;
        let len = usize::try_from(len)
            .map_err(|_| self.malformed(DecodeError::OutsideUsizeRange(len)))?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|inner| self.malformed(DecodeError::Utf8 { inner }))
    }

    /// A decimal at scale 2 as a number of paise; `None` for any other scale or
    /// flags (or too few bytes), which the general path then reads.
    #[inline]
    pub(super) fn paise(&mut self) -> Option<i128> {
        let b = self.bytes.get(self.pos..self.pos + 16)?;
        let flags = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mut m = [0u8; 16];
        m[..12].copy_from_slice(&b[4..]);
        // At most 96 bits: the cast and the negation cannot overflow.
        let magnitude = u128::from_le_bytes(m) as i128;
        let paise = match flags {
            FLAGS_SCALE_2 => magnitude,
            FLAGS_SCALE_2_NEGATIVE => -magnitude,
            _ => return None,
        };
        self.pos += 16;
        Some(paise)
    }

    /// A decimal in its 16-byte binary form, refusing flags `Decimal` never
    /// writes (see `bin_decimal`).
    #[inline]
    pub(super) fn decimal(&mut self) -> Result<Decimal, CodecError> {
        let bytes = self.array::<16>()?;
        bin_decimal::from_bytes(bytes).map_err(|e| self.malformed(DecodeError::OtherString(e)))
    }
}
