//! The snapshot payload: the whole [`State`] at one version.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::journal::{
    BalanceFields, BalanceRecord, Fields, HaltReasonRecord, IntentRecord, KeyRecord, SideRecord,
    amount, price, symbol,
};
use super::{CONFIG, CodecError, bin_decimal, decode_versioned};
use crate::money::Qty;
use crate::wallet::{
    ClientOrderId, Counters, Halt, Instrument, Limits, ORDER_IDS_RECENT_MAX, PENDING_ORDERS_MAX,
    POSITIONS_MAX, PendingOrders, Position, Positions, RecentOrderIds, RiskLatches, State,
    Timestamp, TradingDay,
};

const WHAT: &str = "state snapshot";

/// The snapshot state versions this build reads (`V1` and `V2`); it writes `V2`.
pub const STATE_RECORD_VERSIONS: u64 = 2;

const PENDING_FIELDS: Fields = Fields {
    symbol: "state.pending.symbol",
    price: "state.pending.price",
    charges: "state.pending.charges",
};

/// Decoded states are checked against the widest limit: the configured
/// `max_positions` may have been lowered since the snapshot was written, and the
/// transition enforces it on the next buy anyway.
const DECODE_LIMITS: Limits = Limits {
    max_positions: POSITIONS_MAX,
};

const BALANCE_FIELDS: BalanceFields = [
    "state.balance.available",
    "state.balance.used",
    "state.balance.total",
    "state.balance.realized_pnl",
    "state.balance.fees",
    "state.balance.net_deposits",
];

/// A snapshot payload. Never change a variant: add one.
#[derive(Debug, Serialize, Deserialize)]
enum StateRecord<'a> {
    V1(StateV1<'a>),
    /// `V1` and the order intents: pending orders and the last order id.
    V2(StateV2<'a>),
}

#[derive(Debug, Serialize, Deserialize)]
struct StateV2<'a> {
    base: StateV1<'a>,
    last_order_id: u64,
    /// Oldest first.
    pending: Vec<IntentRecord<'a>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateV1<'a> {
    version: u64,
    balance: BalanceRecord,
    #[serde(with = "bin_decimal")]
    reserved: Decimal,
    positions: Vec<PositionRecord<'a>>,
    risk: RiskRecord,
    counters: CountersRecord,
    /// Oldest first.
    recent_order_ids: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PositionRecord<'a> {
    key: KeyRecord,
    symbol: Cow<'a, str>,
    side: SideRecord,
    qty: u64,
    #[serde(with = "bin_decimal")]
    cost_basis: Decimal,
    entry_ts: i64,
    #[serde(with = "bin_decimal")]
    high_water: Decimal,
}

#[derive(Debug, Serialize, Deserialize)]
struct RiskRecord {
    halted: Option<HaltRecord>,
    cooldown_until: Option<i64>,
    trading_day: Option<i32>,
    #[serde(with = "bin_decimal")]
    day_start_net_pnl: Decimal,
}

#[derive(Debug, Serialize, Deserialize)]
struct HaltRecord {
    reason: HaltReasonRecord,
    since: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct CountersRecord {
    orders: u64,
    trades: u64,
    wins: u64,
    losses: u64,
}

/// The snapshot payload of `state`.
pub fn encode_state(state: &State) -> Vec<u8> {
    let base = StateV1 {
        version: state.version,
        balance: BalanceRecord::from_domain(&state.balance),
        reserved: state.reserved.to_decimal(),
        positions: state
            .positions
            .iter()
            .map(|p| PositionRecord {
                key: KeyRecord::from_domain(&p.instrument.key),
                symbol: Cow::Borrowed(p.instrument.symbol.as_str()),
                side: SideRecord::from_domain(p.side),
                qty: p.qty.get(),
                cost_basis: p.cost_basis.to_decimal(),
                entry_ts: p.entry_ts.epoch_ms(),
                high_water: p.high_water.to_decimal(),
            })
            .collect(),
        risk: RiskRecord {
            halted: state.risk.halted.map(|h| HaltRecord {
                reason: HaltReasonRecord::from_domain(h.reason),
                since: h.since.epoch_ms(),
            }),
            cooldown_until: state.risk.cooldown_until.map(Timestamp::epoch_ms),
            trading_day: state.risk.trading_day.map(TradingDay::days_since_epoch),
            day_start_net_pnl: state.risk.day_start_net_pnl.to_decimal(),
        },
        counters: CountersRecord {
            orders: state.counters.orders,
            trades: state.counters.trades,
            wins: state.counters.wins,
            losses: state.counters.losses,
        },
        recent_order_ids: state
            .recent_order_ids
            .iter_oldest_first()
            .map(|id| id.0)
            .collect(),
    };
    let record = StateRecord::V2(StateV2 {
        base,
        last_order_id: state.counters.last_order_id,
        pending: state
            .pending
            .iter()
            .map(IntentRecord::from_domain)
            .collect(),
    });
    // Cannot fail: see `encode_record`. An empty payload would be refused on load.
    bincode::serde::encode_to_vec(&record, CONFIG).unwrap_or_default()
}

/// Decodes a snapshot payload and refuses a state that breaks any wallet
/// invariant (checked with `max_positions` at its hard bound, [`POSITIONS_MAX`]).
pub fn decode_state(bytes: &[u8]) -> Result<State, CodecError> {
    let (r, last_order_id, pending) =
        match decode_versioned::<StateRecord<'static>>(WHAT, STATE_RECORD_VERSIONS, bytes)? {
            // A V1 state had no intents; its highest id is among the recent ones.
            StateRecord::V1(r) => {
                let last = r.recent_order_ids.iter().copied().max().unwrap_or(0);
                (r, last, Vec::new())
            }
            StateRecord::V2(v2) => (v2.base, v2.last_order_id, v2.pending),
        };
    if pending.len() > PENDING_ORDERS_MAX {
        return Err(CodecError::InvalidField {
            field: "state.pending",
            detail: format!(
                "{} pending orders, more than the bound of {PENDING_ORDERS_MAX}",
                pending.len()
            ),
        });
    }
    let pending = pending
        .into_iter()
        .map(|i| i.into_domain(PENDING_FIELDS))
        .collect::<Result<Vec<_>, CodecError>>()?;
    let pending = PendingOrders::from_vec(pending).map_err(|n| CodecError::InvalidField {
        field: "state.pending",
        detail: format!("{n} pending orders"),
    })?;
    if r.positions.len() > POSITIONS_MAX {
        return Err(CodecError::InvalidField {
            field: "state.positions",
            detail: format!(
                "{} positions, more than the bound of {POSITIONS_MAX}",
                r.positions.len()
            ),
        });
    }
    if r.recent_order_ids.len() > ORDER_IDS_RECENT_MAX {
        return Err(CodecError::InvalidField {
            field: "state.recent_order_ids",
            detail: format!(
                "{} ids, more than the {ORDER_IDS_RECENT_MAX} a wallet remembers",
                r.recent_order_ids.len()
            ),
        });
    }
    let positions = r
        .positions
        .into_iter()
        .map(|p| {
            Ok(Position {
                instrument: Instrument {
                    key: p.key.into_domain(),
                    symbol: symbol("state.positions.symbol", &p.symbol)?,
                },
                side: p.side.into_domain(),
                qty: Qty::new(p.qty),
                cost_basis: amount("state.positions.cost_basis", p.cost_basis)?,
                entry_ts: Timestamp::from_epoch_ms(p.entry_ts),
                high_water: price("state.positions.high_water", p.high_water)?,
            })
        })
        .collect::<Result<Vec<_>, CodecError>>()?;
    let positions = Positions::from_vec(positions).map_err(|key| CodecError::InvalidField {
        field: "state.positions",
        detail: format!("two positions in {key}"),
    })?;
    let state = State {
        version: r.version,
        balance: r.balance.into_domain(&BALANCE_FIELDS)?,
        reserved: amount("state.reserved", r.reserved)?,
        positions,
        risk: RiskLatches {
            halted: r.risk.halted.map(|h| Halt {
                reason: h.reason.into_domain(),
                since: Timestamp::from_epoch_ms(h.since),
            }),
            cooldown_until: r.risk.cooldown_until.map(Timestamp::from_epoch_ms),
            trading_day: r.risk.trading_day.map(TradingDay::from_days_since_epoch),
            day_start_net_pnl: amount("state.risk.day_start_net_pnl", r.risk.day_start_net_pnl)?,
        },
        counters: Counters {
            orders: r.counters.orders,
            trades: r.counters.trades,
            wins: r.counters.wins,
            losses: r.counters.losses,
            last_order_id,
        },
        recent_order_ids: RecentOrderIds::from_oldest_first(
            r.recent_order_ids.into_iter().map(ClientOrderId),
        ),
        pending,
    };
    state
        .check_invariants(&DECODE_LIMITS)
        .map_err(CodecError::BrokenState)?;
    Ok(state)
}
