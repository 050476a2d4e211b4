//! Serialization at the edge (Architecture Invariant 8): dedicated record types
//! for the journal, the snapshot payload and the JSON that commands print. The
//! domain types (`money`, `wallet`) derive no serde; this module converts to and
//! from them, and rebuilds them only through their validating constructors.
//!
//! # Binary payloads: journal records and snapshot states
//!
//! Both are bincode `=2.0.1` through its serde integration, with one
//! configuration, [`bincode::config::standard()`]: little endian, variable-length
//! integers, no limit. Golden-byte tests in `tests.rs` pin it: changing the
//! configuration, the bincode version or a record type breaks them.
//!
//! What the configuration writes:
//!
//! - an enum variant: its index as a varint `u32` (one byte below 251);
//! - a struct: its fields in order, nothing else (no names, no length);
//! - an unsigned integer: a varint (`< 251`: one byte; else a marker `0xFB`,
//!   `0xFC`, `0xFD` and then a `u16`, `u32` or `u64`, little endian); a signed
//!   one: zigzag (`0 -> 0, -1 -> 1, 1 -> 2, ...`) then that varint;
//! - `Option`: `0x00`, or `0x01` then the value;
//! - a string or a `Vec`: its length as a varint, then the bytes or elements;
//! - a `Decimal`: exactly 16 bytes, [`rust_decimal::Decimal::serialize`]
//!   (flags `u32` LE with the scale in bits 16..24 and the sign in bit 31, then
//!   the 96-bit mantissa as three `u32` LE: lo, mid, hi), through the
//!   `#[serde(with = "bin_decimal")]` adapter. Never strings (DESIGN §3). A
//!   decimal whose flags have bits outside scale and sign, or a scale above 28,
//!   is refused as malformed.
//!
//! ## Versions
//!
//! Every payload starts with its record version tag: `0x00` for `V1`. A record
//! type never changes once released; a change is a new variant (`V2`), which this
//! build refuses with [`CodecError::FutureVersion`] ("upgrade dhan_scalper").
//!
//! ## Journal record (`JournalRecord::V1`), one per commit
//!
//! `00` (V1), the op record (variant index, then its fields in the
//! order below), then the post-image balance: six decimals, `available`, `used`,
//! `total`, `realized_pnl`, `fees`, `net_deposits` (96 bytes).
//!
//! | index | op | fields |
//! |---|---|---|
//! | 0 | deposit | amount |
//! | 1 | withdraw | amount |
//! | 2 | reserve | amount |
//! | 3 | release | amount, pnl: `Option<decimal>` |
//! | 4 | buy | segment, security_id `u64`, symbol `str`, qty `u64`, price, charges, ts `i64`, order_id `Option<u64>` |
//! | 5 | sell | segment, security_id, qty, price, charges, ts, order_id, reason `Option<exit reason>` |
//! | 6 | mark_high | segment, security_id, price |
//! | 7 | reset | amount |
//! | 8 | halt | halt reason, ts |
//! | 9 | resume | |
//! | 10 | cooldown | until `i64` |
//! | 11 | day_roll | day `i32` (days since 1970-01-01, IST) |
//!
//! Enums: segment `0` NSE_FNO, `1` BSE_FNO; halt reason `0` daily loss limit,
//! `1` operator; exit reason `0` signal, `1` take profit, `2` stop loss, `3`
//! trailing stop, `4` time stop, `5` daily loss limit, `6` end of day, `7`
//! operator; side `0` buy, `1` sell. Times are epoch milliseconds (UTC).
//!
//! A deposit record is 114 bytes; a typical buy 161 (with a 14-byte symbol).
//!
//! ## Snapshot state (`StateRecord::V1`)
//!
//! `00` (V1), version `u64`, balance (six decimals), reserved (decimal),
//! positions (`Vec` of: segment, security_id, symbol, side, qty, cost_basis,
//! entry_ts, high_water), risk latches (halted `Option<(halt reason, since)>`,
//! cooldown_until `Option<i64>`, trading_day `Option<i32>`, day_start_net_pnl),
//! counters (orders, trades, wins, losses as `u64`), recent order ids (`Vec<u64>`,
//! oldest first). Decoding refuses a state that breaks any invariant of
//! [`State::check_invariants`](crate::wallet::State::check_invariants).
//!
//! # JSON, for humans
//!
//! [`op_json`], [`balance_json`], [`position_json`] and [`state_json`] build the
//! shapes of DESIGN §8: decimals as strings with two decimals, the op's `kind`
//! from [`Op::kind`](crate::wallet::Op::kind).

mod bin_decimal;
mod journal;
mod json;
mod state;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;

pub use journal::{JOURNAL_RECORD_VERSIONS, decode_record, encode_record};
pub use json::{balance_json, dec2, intent_json, op_json, position_json, state_json};
pub use state::{STATE_RECORD_VERSIONS, decode_state, encode_state};

use crate::wallet::Broken;

/// The one bincode configuration of every binary payload (see the module docs).
/// Pinned by the golden-byte tests.
const CONFIG: bincode::config::Configuration = bincode::config::standard();

/// Why a payload could not be decoded. `Display` names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The payload carries a record version this build does not know: a newer
    /// build wrote it.
    FutureVersion {
        /// `"journal record"` or `"state snapshot"`.
        what: &'static str,
        /// The version found (`1` is `V1`).
        found: u64,
        /// The newest version this build reads.
        known: u64,
    },
    /// The payload ends before the record does.
    Truncated {
        what: &'static str,
        /// Bytes missing at the point decoding stopped (at least this many).
        missing: usize,
    },
    /// Bytes that do not decode as the record (a bad enum index, bad UTF-8, a
    /// malformed decimal, ...).
    Malformed { what: &'static str, detail: String },
    /// Bytes left over after a complete record.
    TrailingBytes { what: &'static str, extra: usize },
    /// A field holding a value the domain refuses (a price off the tick, an
    /// amount with fractions of a paisa, an empty symbol, ...).
    InvalidField {
        /// Where, like `op.buy.price` or `state.positions`.
        field: &'static str,
        detail: String,
    },
    /// A decoded state that breaks a wallet invariant.
    BrokenState(Broken),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::FutureVersion { what, found, known } => write!(
                f,
                "{what} format V{found} is newer than this build reads (up to V{known}); \
                 upgrade dhan_scalper to read it"
            ),
            CodecError::Truncated { what, missing } => {
                write!(
                    f,
                    "{what} is truncated: at least {missing} more byte(s) needed"
                )
            }
            CodecError::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
            CodecError::TrailingBytes { what, extra } => {
                write!(f, "{what} has {extra} unexpected byte(s) after its end")
            }
            CodecError::InvalidField { field, detail } => write!(f, "invalid {field}: {detail}"),
            CodecError::BrokenState(broken) => {
                write!(f, "state snapshot breaks a wallet invariant: {broken}")
            }
        }
    }
}

impl std::error::Error for CodecError {}

/// Decodes a versioned payload: reads the leading version tag (refusing a future
/// one), then the whole record, which must use every byte.
fn decode_versioned<T: serde::de::DeserializeOwned>(
    what: &'static str,
    known: u64,
    bytes: &[u8],
) -> Result<T, CodecError> {
    let (tag, _) = bincode::serde::decode_from_slice::<u32, _>(bytes, CONFIG)
        .map_err(|e| decode_error(what, e))?;
    let found = u64::from(tag) + 1;
    if found > known {
        return Err(CodecError::FutureVersion { what, found, known });
    }
    let (record, used) = bincode::serde::decode_from_slice::<T, _>(bytes, CONFIG)
        .map_err(|e| decode_error(what, e))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes {
            what,
            extra: bytes.len() - used,
        });
    }
    Ok(record)
}

fn decode_error(what: &'static str, e: bincode::error::DecodeError) -> CodecError {
    match e {
        bincode::error::DecodeError::UnexpectedEnd { additional } => CodecError::Truncated {
            what,
            missing: additional,
        },
        other => CodecError::Malformed {
            what,
            detail: other.to_string(),
        },
    }
}
