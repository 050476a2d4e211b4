//! The journal record: one per commit, the operation and the post-image balance.
//! Also the record pieces the snapshot state shares (balance, key, enums).

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::wire::{self, Reader};
use super::{CodecError, bin_decimal};
use crate::money::{Amount, Price, Qty};
use crate::wallet::{
    Balance, ClientOrderId, ExitReason, HaltReason, Instrument, InstrumentKey, Op, OrderIntent,
    Segment, Side, Symbol, Timestamp, TradingDay,
};

const WHAT: &str = "journal record";

/// The most bytes a journal record takes besides its symbol's bytes: a submit,
/// the longest kind, is 1 + 1 + (9 + 1 + 10 + 9 + 9 + 16 + 16 + 9 + 2) + 96 =
/// 179 (tags, order id, side, key, the symbol's length, qty, price, charges,
/// ts, reason; the balance), with every varint at its longest.
const RECORD_BYTES_MAX_WITHOUT_SYMBOL: usize = 192;

/// The journal record versions this build reads (`V1` only).
pub const JOURNAL_RECORD_VERSIONS: u64 = 1;

/// A journal payload, as bincode's serde integration writes it. Never change
/// a variant: add one. The production path ([`encode_record`],
/// [`decode_record`]) writes and reads these bytes by hand (`wire`); tests
/// check it against bincode through this type.
#[cfg(test)]
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum JournalRecord<'a> {
    V1(RecordV1<'a>),
}

#[cfg(test)]
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RecordV1<'a> {
    pub(super) op: OpRecord<'a>,
    pub(super) balance: BalanceRecord,
}

/// Every [`Op`] with all its amounts. Borrowed when encoding (no allocation),
/// owned when decoding.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum OpRecord<'a> {
    Deposit {
        #[serde(with = "bin_decimal")]
        amount: Decimal,
    },
    Withdraw {
        #[serde(with = "bin_decimal")]
        amount: Decimal,
    },
    Reserve {
        #[serde(with = "bin_decimal")]
        amount: Decimal,
    },
    Release {
        #[serde(with = "bin_decimal")]
        amount: Decimal,
        #[serde(with = "bin_decimal::option")]
        pnl: Option<Decimal>,
    },
    Buy {
        key: KeyRecord,
        symbol: Cow<'a, str>,
        qty: u64,
        #[serde(with = "bin_decimal")]
        price: Decimal,
        #[serde(with = "bin_decimal")]
        charges: Decimal,
        ts: i64,
        order_id: Option<u64>,
    },
    Sell {
        key: KeyRecord,
        qty: u64,
        #[serde(with = "bin_decimal")]
        price: Decimal,
        #[serde(with = "bin_decimal")]
        charges: Decimal,
        ts: i64,
        order_id: Option<u64>,
        reason: Option<ExitReasonRecord>,
    },
    MarkHigh {
        key: KeyRecord,
        #[serde(with = "bin_decimal")]
        price: Decimal,
    },
    Reset {
        #[serde(with = "bin_decimal")]
        amount: Decimal,
    },
    Halt {
        reason: HaltReasonRecord,
        ts: i64,
    },
    Resume,
    Cooldown {
        until: i64,
    },
    DayRoll {
        day: i32,
    },
    Submit {
        intent: IntentRecord<'a>,
    },
    Cancel {
        order_id: u64,
    },
}

/// An [`OrderIntent`], shared by the journal's submit and the snapshot's
/// pending orders.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct IntentRecord<'a> {
    order_id: u64,
    side: SideRecord,
    key: KeyRecord,
    symbol: Cow<'a, str>,
    qty: u64,
    #[serde(with = "bin_decimal")]
    price: Decimal,
    #[serde(with = "bin_decimal")]
    charges: Decimal,
    ts: i64,
    reason: Option<ExitReasonRecord>,
}

impl<'a> IntentRecord<'a> {
    pub(super) fn from_domain(i: &'a OrderIntent) -> IntentRecord<'a> {
        IntentRecord {
            order_id: i.order_id.0,
            side: SideRecord::from_domain(i.side),
            key: KeyRecord::from_domain(&i.instrument.key),
            symbol: Cow::Borrowed(i.instrument.symbol.as_str()),
            qty: i.qty.get(),
            price: i.price.to_decimal(),
            charges: i.charges.to_decimal(),
            ts: i.ts.epoch_ms(),
            reason: i.reason.map(ExitReasonRecord::from_domain),
        }
    }

    /// `field` prefixes the names in errors (`op.submit`, `state.pending`).
    pub(super) fn into_domain(self, field: Fields) -> Result<OrderIntent, CodecError> {
        Ok(OrderIntent {
            order_id: ClientOrderId(self.order_id),
            side: self.side.into_domain(),
            instrument: Instrument {
                key: self.key.into_domain(),
                symbol: symbol(field.symbol, &self.symbol)?,
            },
            qty: Qty::new(self.qty),
            price: price(field.price, self.price)?,
            charges: amount(field.charges, self.charges)?,
            ts: Timestamp::from_epoch_ms(self.ts),
            reason: self.reason.map(ExitReasonRecord::into_domain),
        })
    }
}

/// The error names of an intent's checked fields.
#[derive(Clone, Copy)]
pub(super) struct Fields {
    pub(super) symbol: &'static str,
    pub(super) price: &'static str,
    pub(super) charges: &'static str,
}

const SUBMIT_FIELDS: Fields = Fields {
    symbol: "op.submit.symbol",
    price: "op.submit.price",
    charges: "op.submit.charges",
};

/// The six fields of [`Balance`], in its order.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct BalanceRecord {
    #[serde(with = "bin_decimal")]
    available: Decimal,
    #[serde(with = "bin_decimal")]
    used: Decimal,
    #[serde(with = "bin_decimal")]
    total: Decimal,
    #[serde(with = "bin_decimal")]
    realized_pnl: Decimal,
    #[serde(with = "bin_decimal")]
    fees: Decimal,
    #[serde(with = "bin_decimal")]
    net_deposits: Decimal,
}

impl BalanceRecord {
    pub(super) fn from_domain(b: &Balance) -> BalanceRecord {
        BalanceRecord {
            available: b.available.to_decimal(),
            used: b.used.to_decimal(),
            total: b.total.to_decimal(),
            realized_pnl: b.realized_pnl.to_decimal(),
            fees: b.fees.to_decimal(),
            net_deposits: b.net_deposits.to_decimal(),
        }
    }

    /// `fields` names the six fields in errors (`balance.used`, ...).
    pub(super) fn into_domain(self, fields: &BalanceFields) -> Result<Balance, CodecError> {
        Ok(Balance {
            available: amount(fields[0], self.available)?,
            used: amount(fields[1], self.used)?,
            total: amount(fields[2], self.total)?,
            realized_pnl: amount(fields[3], self.realized_pnl)?,
            fees: amount(fields[4], self.fees)?,
            net_deposits: amount(fields[5], self.net_deposits)?,
        })
    }
}

/// The error names of the six balance fields, in [`BalanceRecord`] order.
pub(super) type BalanceFields = [&'static str; 6];

pub(super) const BALANCE_FIELDS: BalanceFields = [
    "balance.available",
    "balance.used",
    "balance.total",
    "balance.realized_pnl",
    "balance.fees",
    "balance.net_deposits",
];

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct KeyRecord {
    segment: SegmentRecord,
    security_id: u64,
}

impl KeyRecord {
    pub(super) fn from_domain(k: &InstrumentKey) -> KeyRecord {
        KeyRecord {
            segment: match k.segment {
                Segment::NseFno => SegmentRecord::NseFno,
                Segment::BseFno => SegmentRecord::BseFno,
            },
            security_id: k.security_id,
        }
    }

    pub(super) fn into_domain(self) -> InstrumentKey {
        InstrumentKey {
            segment: match self.segment {
                SegmentRecord::NseFno => Segment::NseFno,
                SegmentRecord::BseFno => Segment::BseFno,
            },
            security_id: self.security_id,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum SegmentRecord {
    NseFno,
    BseFno,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum HaltReasonRecord {
    DailyLossLimit,
    Operator,
}

impl HaltReasonRecord {
    pub(super) fn from_domain(r: HaltReason) -> HaltReasonRecord {
        match r {
            HaltReason::DailyLossLimit => HaltReasonRecord::DailyLossLimit,
            HaltReason::Operator => HaltReasonRecord::Operator,
        }
    }

    pub(super) fn into_domain(self) -> HaltReason {
        match self {
            HaltReasonRecord::DailyLossLimit => HaltReason::DailyLossLimit,
            HaltReasonRecord::Operator => HaltReason::Operator,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum ExitReasonRecord {
    Signal,
    TakeProfit,
    StopLoss,
    TrailingStop,
    TimeStop,
    DailyLossLimit,
    EndOfDay,
    Operator,
}

impl ExitReasonRecord {
    fn from_domain(r: ExitReason) -> ExitReasonRecord {
        match r {
            ExitReason::Signal => ExitReasonRecord::Signal,
            ExitReason::TakeProfit => ExitReasonRecord::TakeProfit,
            ExitReason::StopLoss => ExitReasonRecord::StopLoss,
            ExitReason::TrailingStop => ExitReasonRecord::TrailingStop,
            ExitReason::TimeStop => ExitReasonRecord::TimeStop,
            ExitReason::DailyLossLimit => ExitReasonRecord::DailyLossLimit,
            ExitReason::EndOfDay => ExitReasonRecord::EndOfDay,
            ExitReason::Operator => ExitReasonRecord::Operator,
        }
    }

    fn into_domain(self) -> ExitReason {
        match self {
            ExitReasonRecord::Signal => ExitReason::Signal,
            ExitReasonRecord::TakeProfit => ExitReason::TakeProfit,
            ExitReasonRecord::StopLoss => ExitReason::StopLoss,
            ExitReasonRecord::TrailingStop => ExitReason::TrailingStop,
            ExitReasonRecord::TimeStop => ExitReason::TimeStop,
            ExitReasonRecord::DailyLossLimit => ExitReason::DailyLossLimit,
            ExitReasonRecord::EndOfDay => ExitReason::EndOfDay,
            ExitReasonRecord::Operator => ExitReason::Operator,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) enum SideRecord {
    Buy,
    Sell,
}

impl SideRecord {
    pub(super) fn from_domain(s: Side) -> SideRecord {
        match s {
            Side::Buy => SideRecord::Buy,
            Side::Sell => SideRecord::Sell,
        }
    }

    pub(super) fn into_domain(self) -> Side {
        match self {
            SideRecord::Buy => Side::Buy,
            SideRecord::Sell => Side::Sell,
        }
    }
}

pub(super) fn amount(field: &'static str, value: Decimal) -> Result<Amount, CodecError> {
    Amount::from_decimal(value).map_err(|e| CodecError::InvalidField {
        field,
        detail: e.to_string(),
    })
}

pub(super) fn price(field: &'static str, value: Decimal) -> Result<Price, CodecError> {
    Price::from_decimal(value).map_err(|e| CodecError::InvalidField {
        field,
        detail: e.to_string(),
    })
}

pub(super) fn symbol(field: &'static str, value: &str) -> Result<Symbol, CodecError> {
    Symbol::new(value).map_err(|e| CodecError::InvalidField {
        field,
        detail: e.to_string(),
    })
}

impl<'a> OpRecord<'a> {
    /// The record of `op` (the tests' bincode reference encodes it).
    #[cfg(test)]
    pub(super) fn from_domain(op: &'a Op) -> OpRecord<'a> {
        match op {
            Op::Deposit { amount } => OpRecord::Deposit {
                amount: amount.to_decimal(),
            },
            Op::Withdraw { amount } => OpRecord::Withdraw {
                amount: amount.to_decimal(),
            },
            Op::Reserve { amount } => OpRecord::Reserve {
                amount: amount.to_decimal(),
            },
            Op::Release { amount, pnl } => OpRecord::Release {
                amount: amount.to_decimal(),
                pnl: pnl.map(Amount::to_decimal),
            },
            Op::Buy {
                instrument,
                qty,
                price,
                charges,
                ts,
                order_id,
            } => OpRecord::Buy {
                key: KeyRecord::from_domain(&instrument.key),
                symbol: Cow::Borrowed(instrument.symbol.as_str()),
                qty: qty.get(),
                price: price.to_decimal(),
                charges: charges.to_decimal(),
                ts: ts.epoch_ms(),
                order_id: order_id.map(|id| id.0),
            },
            Op::Sell {
                key,
                qty,
                price,
                charges,
                ts,
                order_id,
                reason,
            } => OpRecord::Sell {
                key: KeyRecord::from_domain(key),
                qty: qty.get(),
                price: price.to_decimal(),
                charges: charges.to_decimal(),
                ts: ts.epoch_ms(),
                order_id: order_id.map(|id| id.0),
                reason: reason.map(ExitReasonRecord::from_domain),
            },
            Op::MarkHigh { key, price } => OpRecord::MarkHigh {
                key: KeyRecord::from_domain(key),
                price: price.to_decimal(),
            },
            Op::Reset { amount } => OpRecord::Reset {
                amount: amount.to_decimal(),
            },
            Op::Halt { reason, ts } => OpRecord::Halt {
                reason: HaltReasonRecord::from_domain(*reason),
                ts: ts.epoch_ms(),
            },
            Op::Resume => OpRecord::Resume,
            Op::Cooldown { until } => OpRecord::Cooldown {
                until: until.epoch_ms(),
            },
            Op::DayRoll { day } => OpRecord::DayRoll {
                day: day.days_since_epoch(),
            },
            Op::Submit { intent } => OpRecord::Submit {
                intent: IntentRecord::from_domain(intent),
            },
            Op::Cancel { order_id } => OpRecord::Cancel {
                order_id: order_id.0,
            },
        }
    }

    pub(super) fn into_domain(self) -> Result<Op, CodecError> {
        Ok(match self {
            OpRecord::Deposit { amount: a } => Op::Deposit {
                amount: amount("op.deposit.amount", a)?,
            },
            OpRecord::Withdraw { amount: a } => Op::Withdraw {
                amount: amount("op.withdraw.amount", a)?,
            },
            OpRecord::Reserve { amount: a } => Op::Reserve {
                amount: amount("op.reserve.amount", a)?,
            },
            OpRecord::Release { amount: a, pnl } => Op::Release {
                amount: amount("op.release.amount", a)?,
                pnl: pnl.map(|p| amount("op.release.pnl", p)).transpose()?,
            },
            OpRecord::Buy {
                key,
                symbol: s,
                qty,
                price: p,
                charges,
                ts,
                order_id,
            } => Op::Buy {
                instrument: Instrument {
                    key: key.into_domain(),
                    symbol: symbol("op.buy.symbol", &s)?,
                },
                qty: Qty::new(qty),
                price: price("op.buy.price", p)?,
                charges: amount("op.buy.charges", charges)?,
                ts: Timestamp::from_epoch_ms(ts),
                order_id: order_id.map(ClientOrderId),
            },
            OpRecord::Sell {
                key,
                qty,
                price: p,
                charges,
                ts,
                order_id,
                reason,
            } => Op::Sell {
                key: key.into_domain(),
                qty: Qty::new(qty),
                price: price("op.sell.price", p)?,
                charges: amount("op.sell.charges", charges)?,
                ts: Timestamp::from_epoch_ms(ts),
                order_id: order_id.map(ClientOrderId),
                reason: reason.map(ExitReasonRecord::into_domain),
            },
            OpRecord::MarkHigh { key, price: p } => Op::MarkHigh {
                key: key.into_domain(),
                price: price("op.mark_high.price", p)?,
            },
            OpRecord::Reset { amount: a } => Op::Reset {
                amount: amount("op.reset.amount", a)?,
            },
            OpRecord::Halt { reason, ts } => Op::Halt {
                reason: reason.into_domain(),
                ts: Timestamp::from_epoch_ms(ts),
            },
            OpRecord::Resume => Op::Resume,
            OpRecord::Cooldown { until } => Op::Cooldown {
                until: Timestamp::from_epoch_ms(until),
            },
            OpRecord::DayRoll { day } => Op::DayRoll {
                day: TradingDay::from_days_since_epoch(day),
            },
            OpRecord::Submit { intent } => Op::Submit {
                intent: intent.into_domain(SUBMIT_FIELDS)?,
            },
            OpRecord::Cancel { order_id } => Op::Cancel {
                order_id: ClientOrderId(order_id),
            },
        })
    }
}

/// Appends the journal record of one commit, `op` and the balance after it, to
/// `out`: the bincode layout of the module docs, written by hand straight from
/// the domain values (an order of magnitude faster than bincode's serde path,
/// which writes a decimal byte by byte). Never fails and never panics.
pub fn encode_record(op: &Op, balance: &Balance, out: &mut Vec<u8>) {
    let symbol_len = match op {
        Op::Buy { instrument, .. } => instrument.symbol.as_str().len(),
        Op::Submit { intent } => intent.instrument.symbol.as_str().len(),
        _ => 0,
    };
    let mut w = wire::Writer::new(out, RECORD_BYTES_MAX_WITHOUT_SYMBOL + symbol_len);
    let out = &mut w;
    out.byte(0x00); // JournalRecord::V1
    match op {
        Op::Deposit { amount } => put_op_amount(out, 0, *amount),
        Op::Withdraw { amount } => put_op_amount(out, 1, *amount),
        Op::Reserve { amount } => put_op_amount(out, 2, *amount),
        Op::Release { amount, pnl } => {
            put_op_amount(out, 3, *amount);
            out.some(pnl.is_some());
            if let Some(p) = pnl {
                out.paise(p.paise());
            }
        }
        Op::Buy {
            instrument,
            qty,
            price,
            charges,
            ts,
            order_id,
        } => {
            out.u32(4);
            put_key(out, &instrument.key);
            out.str(instrument.symbol.as_str());
            out.u64(qty.get());
            out.paise(price.paise());
            out.paise(charges.paise());
            out.i64(ts.epoch_ms());
            put_option_u64(out, order_id.map(|id| id.0));
        }
        Op::Sell {
            key,
            qty,
            price,
            charges,
            ts,
            order_id,
            reason,
        } => {
            out.u32(5);
            put_key(out, key);
            out.u64(qty.get());
            out.paise(price.paise());
            out.paise(charges.paise());
            out.i64(ts.epoch_ms());
            put_option_u64(out, order_id.map(|id| id.0));
            put_exit_reason(out, *reason);
        }
        Op::MarkHigh { key, price } => {
            out.u32(6);
            put_key(out, key);
            out.paise(price.paise());
        }
        Op::Reset { amount } => put_op_amount(out, 7, *amount),
        Op::Halt { reason, ts } => {
            out.u32(8);
            out.u32(HaltReasonRecord::from_domain(*reason) as u32);
            out.i64(ts.epoch_ms());
        }
        Op::Resume => out.u32(9),
        Op::Cooldown { until } => {
            out.u32(10);
            out.i64(until.epoch_ms());
        }
        Op::DayRoll { day } => {
            out.u32(11);
            out.i32(day.days_since_epoch());
        }
        Op::Submit { intent } => {
            out.u32(12);
            put_intent(out, intent);
        }
        Op::Cancel { order_id } => {
            out.u32(13);
            out.u64(order_id.0);
        }
    }
    for a in [
        balance.available,
        balance.used,
        balance.total,
        balance.realized_pnl,
        balance.fees,
        balance.net_deposits,
    ] {
        out.paise(a.paise());
    }
    w.finish();
}

fn put_op_amount(out: &mut wire::Writer<'_>, variant: u32, amount: Amount) {
    out.u32(variant);
    out.paise(amount.paise());
}

fn put_key(out: &mut wire::Writer<'_>, key: &InstrumentKey) {
    let k = KeyRecord::from_domain(key);
    out.u32(k.segment as u32);
    out.u64(k.security_id);
}

fn put_intent(out: &mut wire::Writer<'_>, i: &OrderIntent) {
    out.u64(i.order_id.0);
    out.u32(SideRecord::from_domain(i.side) as u32);
    put_key(out, &i.instrument.key);
    out.str(i.instrument.symbol.as_str());
    out.u64(i.qty.get());
    out.paise(i.price.paise());
    out.paise(i.charges.paise());
    out.i64(i.ts.epoch_ms());
    put_exit_reason(out, i.reason);
}

fn put_option_u64(out: &mut wire::Writer<'_>, v: Option<u64>) {
    out.some(v.is_some());
    if let Some(v) = v {
        out.u64(v);
    }
}

fn put_exit_reason(out: &mut wire::Writer<'_>, reason: Option<ExitReason>) {
    out.some(reason.is_some());
    if let Some(reason) = reason {
        out.u32(ExitReasonRecord::from_domain(reason) as u32);
    }
}

/// Decodes one journal record into the operation and its post-image balance,
/// rebuilt through the domain's validating constructors. A future record version
/// is [`CodecError::FutureVersion`]; anything else wrong is an error naming it.
///
/// A well-formed record whose amounts are at scale 2 (every record this build
/// writes) takes a direct path; anything else (an error, another scale) goes
/// through the general one, which refuses in bincode's order: the bytes first
/// (in field order), then trailing bytes, then the domain's refusals (in field
/// order).
pub fn decode_record(bytes: &[u8]) -> Result<(Op, Balance), CodecError> {
    if let Some(decoded) = decode_direct(bytes) {
        return Ok(decoded);
    }
    let mut r = Reader::new(WHAT, bytes);
    let tag = r.u32()?;
    if tag != 0 {
        return Err(CodecError::FutureVersion {
            what: WHAT,
            found: u64::from(tag) + 1,
            known: JOURNAL_RECORD_VERSIONS,
        });
    }
    let op = OpRecord::read(&mut r)?;
    let balance = BalanceRecord::read(&mut r)?;
    if r.remaining() > 0 {
        return Err(CodecError::TrailingBytes {
            what: WHAT,
            extra: r.remaining(),
        });
    }
    let op = op.into_domain()?;
    let balance = balance.into_domain(&BALANCE_FIELDS)?;
    Ok((op, balance))
}

/// The direct path of [`decode_record`]: `None` on anything but a valid V1
/// record with every decimal at scale 2 (the general path then decides, and
/// names the problem). Where it succeeds, it gives what the general path gives.
fn decode_direct(bytes: &[u8]) -> Option<(Op, Balance)> {
    let mut r = Reader::new(WHAT, bytes);
    if r.u32().ok()? != 0 {
        return None;
    }
    let amount = |r: &mut Reader<'_>| r.paise().and_then(Amount::from_paise_i128);
    let price = |r: &mut Reader<'_>| r.paise().and_then(Price::from_paise_i128);
    let key = |r: &mut Reader<'_>| KeyRecord::read(r).ok().map(KeyRecord::into_domain);
    let op = match r.variant(OP_VARIANTS).ok()? {
        0 => Op::Deposit {
            amount: amount(&mut r)?,
        },
        1 => Op::Withdraw {
            amount: amount(&mut r)?,
        },
        2 => Op::Reserve {
            amount: amount(&mut r)?,
        },
        3 => Op::Release {
            amount: amount(&mut r)?,
            pnl: if r.some().ok()? {
                Some(amount(&mut r)?)
            } else {
                None
            },
        },
        4 => Op::Buy {
            instrument: Instrument {
                key: key(&mut r)?,
                symbol: Symbol::new(r.str().ok()?).ok()?,
            },
            qty: Qty::new(r.u64().ok()?),
            price: price(&mut r)?,
            charges: amount(&mut r)?,
            ts: Timestamp::from_epoch_ms(r.i64().ok()?),
            order_id: read_option_u64(&mut r).ok()?.map(ClientOrderId),
        },
        5 => Op::Sell {
            key: key(&mut r)?,
            qty: Qty::new(r.u64().ok()?),
            price: price(&mut r)?,
            charges: amount(&mut r)?,
            ts: Timestamp::from_epoch_ms(r.i64().ok()?),
            order_id: read_option_u64(&mut r).ok()?.map(ClientOrderId),
            reason: read_exit_reason(&mut r)
                .ok()?
                .map(ExitReasonRecord::into_domain),
        },
        6 => Op::MarkHigh {
            key: key(&mut r)?,
            price: price(&mut r)?,
        },
        7 => Op::Reset {
            amount: amount(&mut r)?,
        },
        // The rest carry no decimal: the general path is as fast.
        _ => return None,
    };
    let balance = Balance {
        available: amount(&mut r)?,
        used: amount(&mut r)?,
        total: amount(&mut r)?,
        realized_pnl: amount(&mut r)?,
        fees: amount(&mut r)?,
        net_deposits: amount(&mut r)?,
    };
    (r.remaining() == 0).then_some((op, balance))
}

/// Variants of [`OpRecord`].
const OP_VARIANTS: u32 = 14;

impl<'a> OpRecord<'a> {
    fn read(r: &mut Reader<'a>) -> Result<OpRecord<'a>, CodecError> {
        Ok(match r.variant(OP_VARIANTS)? {
            0 => OpRecord::Deposit {
                amount: r.decimal()?,
            },
            1 => OpRecord::Withdraw {
                amount: r.decimal()?,
            },
            2 => OpRecord::Reserve {
                amount: r.decimal()?,
            },
            3 => OpRecord::Release {
                amount: r.decimal()?,
                pnl: if r.some()? { Some(r.decimal()?) } else { None },
            },
            4 => OpRecord::Buy {
                key: KeyRecord::read(r)?,
                symbol: Cow::Borrowed(r.str()?),
                qty: r.u64()?,
                price: r.decimal()?,
                charges: r.decimal()?,
                ts: r.i64()?,
                order_id: read_option_u64(r)?,
            },
            5 => OpRecord::Sell {
                key: KeyRecord::read(r)?,
                qty: r.u64()?,
                price: r.decimal()?,
                charges: r.decimal()?,
                ts: r.i64()?,
                order_id: read_option_u64(r)?,
                reason: read_exit_reason(r)?,
            },
            6 => OpRecord::MarkHigh {
                key: KeyRecord::read(r)?,
                price: r.decimal()?,
            },
            7 => OpRecord::Reset {
                amount: r.decimal()?,
            },
            8 => OpRecord::Halt {
                reason: HaltReasonRecord::read(r)?,
                ts: r.i64()?,
            },
            9 => OpRecord::Resume,
            10 => OpRecord::Cooldown { until: r.i64()? },
            11 => OpRecord::DayRoll { day: r.i32()? },
            12 => OpRecord::Submit {
                intent: IntentRecord::read(r)?,
            },
            // `variant` refused anything above 13.
            _ => OpRecord::Cancel { order_id: r.u64()? },
        })
    }
}

impl<'a> IntentRecord<'a> {
    fn read(r: &mut Reader<'a>) -> Result<IntentRecord<'a>, CodecError> {
        Ok(IntentRecord {
            order_id: r.u64()?,
            side: match r.variant(2)? {
                0 => SideRecord::Buy,
                _ => SideRecord::Sell,
            },
            key: KeyRecord::read(r)?,
            symbol: Cow::Borrowed(r.str()?),
            qty: r.u64()?,
            price: r.decimal()?,
            charges: r.decimal()?,
            ts: r.i64()?,
            reason: read_exit_reason(r)?,
        })
    }
}

impl BalanceRecord {
    fn read(r: &mut Reader<'_>) -> Result<BalanceRecord, CodecError> {
        Ok(BalanceRecord {
            available: r.decimal()?,
            used: r.decimal()?,
            total: r.decimal()?,
            realized_pnl: r.decimal()?,
            fees: r.decimal()?,
            net_deposits: r.decimal()?,
        })
    }
}

impl KeyRecord {
    fn read(r: &mut Reader<'_>) -> Result<KeyRecord, CodecError> {
        Ok(KeyRecord {
            segment: match r.variant(2)? {
                0 => SegmentRecord::NseFno,
                _ => SegmentRecord::BseFno,
            },
            security_id: r.u64()?,
        })
    }
}

impl HaltReasonRecord {
    fn read(r: &mut Reader<'_>) -> Result<HaltReasonRecord, CodecError> {
        Ok(match r.variant(2)? {
            0 => HaltReasonRecord::DailyLossLimit,
            _ => HaltReasonRecord::Operator,
        })
    }
}

fn read_option_u64(r: &mut Reader<'_>) -> Result<Option<u64>, CodecError> {
    Ok(if r.some()? { Some(r.u64()?) } else { None })
}

fn read_exit_reason(r: &mut Reader<'_>) -> Result<Option<ExitReasonRecord>, CodecError> {
    if !r.some()? {
        return Ok(None);
    }
    use ExitReasonRecord::*;
    const ALL: [ExitReasonRecord; 8] = [
        Signal,
        TakeProfit,
        StopLoss,
        TrailingStop,
        TimeStop,
        DailyLossLimit,
        EndOfDay,
        Operator,
    ];
    Ok(Some(ALL[r.variant(ALL.len() as u32)? as usize]))
}
