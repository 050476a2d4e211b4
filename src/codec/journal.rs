//! The journal record: one per commit, the operation and the post-image balance.
//! Also the record pieces the snapshot state shares (balance, key, enums).

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{CONFIG, CodecError, bin_decimal, decode_versioned};
use crate::money::{Amount, Price, Qty};
use crate::wallet::{
    Balance, ClientOrderId, ExitReason, HaltReason, Instrument, InstrumentKey, Op, OrderIntent,
    Segment, Side, Symbol, Timestamp, TradingDay,
};

const WHAT: &str = "journal record";

/// Room for any record but one with a long symbol.
const RECORD_BYTES_HINT: usize = 192;

/// The journal record versions this build reads (`V1` only).
pub const JOURNAL_RECORD_VERSIONS: u64 = 1;

/// A journal payload. Never change a variant: add one.
#[derive(Debug, Serialize, Deserialize)]
enum JournalRecord<'a> {
    V1(RecordV1<'a>),
}

#[derive(Debug, Serialize, Deserialize)]
struct RecordV1<'a> {
    op: OpRecord<'a>,
    balance: BalanceRecord,
}

/// Every [`Op`] with all its amounts. Borrowed when encoding (no allocation),
/// owned when decoding.
#[derive(Debug, Serialize, Deserialize)]
enum OpRecord<'a> {
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

const BALANCE_FIELDS: BalanceFields = [
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
    fn from_domain(op: &'a Op) -> OpRecord<'a> {
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

    fn into_domain(self) -> Result<Op, CodecError> {
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
/// `out`. Runs on the log's writer thread.
///
/// Never panics and never fails in practice: the record types serialize without
/// error paths (fixed-size decimals, strings and options of known length) into a
/// `Vec`, whose writes cannot fail. Should bincode report an error anyway, `out`
/// is left as it was, so the payload is empty and recovery refuses it as
/// [`CodecError::Truncated`], naming its version, rather than reading garbage.
pub fn encode_record(op: &Op, balance: &Balance, out: &mut Vec<u8>) {
    let record = JournalRecord::V1(RecordV1 {
        op: OpRecord::from_domain(op),
        balance: BalanceRecord::from_domain(balance),
    });
    // Encode into a stack buffer first: bincode's slice writer copies whole
    // fields, where its `io::Write` path goes byte by byte through the Vec.
    let mut buf = [0u8; RECORD_STACK_BYTES];
    match bincode::serde::encode_into_slice(&record, &mut buf, CONFIG) {
        Ok(n) => out.extend_from_slice(&buf[..n]),
        Err(_) => {
            // Larger than the stack buffer (a very long symbol): the slow path.
            let start = out.len();
            out.reserve(RECORD_BYTES_HINT);
            if bincode::serde::encode_into_std_write(&record, out, CONFIG).is_err() {
                out.truncate(start);
            }
        }
    }
}

/// Stack buffer for one journal record: larger than any record of a symbol up
/// to `Symbol`'s 64-byte limit.
const RECORD_STACK_BYTES: usize = 512;

/// Decodes one journal record into the operation and its post-image balance,
/// rebuilt through the domain's validating constructors. A future record version
/// is [`CodecError::FutureVersion`]; anything else wrong is an error naming it.
pub fn decode_record(bytes: &[u8]) -> Result<(Op, Balance), CodecError> {
    let JournalRecord::V1(record) =
        decode_versioned::<JournalRecord<'static>>(WHAT, JOURNAL_RECORD_VERSIONS, bytes)?;
    let op = record.op.into_domain()?;
    let balance = record.balance.into_domain(&BALANCE_FIELDS)?;
    Ok((op, balance))
}
