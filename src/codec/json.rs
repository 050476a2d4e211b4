//! JSON for humans and scripts (`wal dump --json`, `status --json`): decimals as
//! strings with two decimals, times as epoch milliseconds, days as `YYYY-MM-DD`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};

use crate::money::{AMOUNT_SCALE, Amount};
use crate::wallet::{
    Balance, ExitReason, HaltReason, InstrumentKey, Op, OrderIntent, Position, State,
};

/// A decimal as a string with exactly two decimals, rounded half away from zero
/// (`"100.00"`, `"-1.50"`; zero is never `"-0.00"`).
pub fn dec2(value: Decimal) -> String {
    let mut v = value.round_dp_with_strategy(AMOUNT_SCALE, RoundingStrategy::MidpointAwayFromZero);
    if v.is_zero() {
        return "0.00".to_owned();
    }
    v.rescale(AMOUNT_SCALE);
    v.to_string()
}

fn amount(a: Amount) -> Value {
    Value::String(dec2(a.to_decimal()))
}

fn key_fields(map: &mut Map<String, Value>, key: &InstrumentKey) {
    map.insert("segment".into(), key.segment.as_str().into());
    map.insert("security_id".into(), key.security_id.into());
}

const fn halt_reason(r: HaltReason) -> &'static str {
    match r {
        HaltReason::DailyLossLimit => "daily_loss_limit",
        HaltReason::Operator => "operator",
    }
}

const fn exit_reason(r: ExitReason) -> &'static str {
    match r {
        ExitReason::Signal => "signal",
        ExitReason::TakeProfit => "take_profit",
        ExitReason::StopLoss => "stop_loss",
        ExitReason::TrailingStop => "trailing_stop",
        ExitReason::TimeStop => "time_stop",
        ExitReason::DailyLossLimit => "daily_loss_limit",
        ExitReason::EndOfDay => "end_of_day",
        ExitReason::Operator => "operator",
    }
}

/// `{"kind":"deposit","amount":"100.00"}`: the op's [`Op::kind`] and all its
/// amounts. Fills also carry `segment`, `security_id`, `qty`, `price`,
/// `charges`, `ts` and `order_id` (`null` if none); a buy its `symbol`, a sell
/// its `reason`.
pub fn op_json(op: &Op) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), op.kind().into());
    match op {
        Op::Deposit { amount: a }
        | Op::Withdraw { amount: a }
        | Op::Reserve { amount: a }
        | Op::Reset { amount: a } => {
            m.insert("amount".into(), amount(*a));
        }
        Op::Release { amount: a, pnl } => {
            m.insert("amount".into(), amount(*a));
            m.insert("pnl".into(), pnl.map_or(Value::Null, amount));
        }
        Op::Buy {
            instrument,
            qty,
            price,
            charges,
            ts,
            order_id,
        } => {
            key_fields(&mut m, &instrument.key);
            m.insert("symbol".into(), instrument.symbol.as_str().into());
            m.insert("qty".into(), qty.get().into());
            m.insert("price".into(), dec2(price.to_decimal()).into());
            m.insert("charges".into(), amount(*charges));
            m.insert("ts".into(), ts.epoch_ms().into());
            m.insert("order_id".into(), order_id.map(|id| id.0).into());
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
            key_fields(&mut m, key);
            m.insert("qty".into(), qty.get().into());
            m.insert("price".into(), dec2(price.to_decimal()).into());
            m.insert("charges".into(), amount(*charges));
            m.insert("ts".into(), ts.epoch_ms().into());
            m.insert("order_id".into(), order_id.map(|id| id.0).into());
            m.insert("reason".into(), reason.map(exit_reason).into());
        }
        Op::MarkHigh { key, price } => {
            key_fields(&mut m, key);
            m.insert("price".into(), dec2(price.to_decimal()).into());
        }
        Op::Halt { reason, ts } => {
            m.insert("reason".into(), halt_reason(*reason).into());
            m.insert("ts".into(), ts.epoch_ms().into());
        }
        Op::Resume => {}
        Op::Cooldown { until } => {
            m.insert("until".into(), until.epoch_ms().into());
        }
        Op::DayRoll { day } => {
            m.insert("day".into(), day.to_string().into());
        }
        Op::Submit { intent } => {
            intent_fields(&mut m, intent);
        }
        Op::Cancel { order_id } => {
            m.insert("order_id".into(), order_id.0.into());
        }
    }
    Value::Object(m)
}

/// A pending order: `order_id`, `side`, key, `symbol`, `qty`, `price`,
/// `charges`, `ts` and `reason`.
pub fn intent_json(intent: &OrderIntent) -> Value {
    let mut m = Map::new();
    intent_fields(&mut m, intent);
    Value::Object(m)
}

fn intent_fields(m: &mut Map<String, Value>, i: &OrderIntent) {
    m.insert("order_id".into(), i.order_id.0.into());
    m.insert("side".into(), i.side.to_string().into());
    key_fields(m, &i.instrument.key);
    m.insert("symbol".into(), i.instrument.symbol.as_str().into());
    m.insert("qty".into(), i.qty.get().into());
    m.insert("price".into(), dec2(i.price.to_decimal()).into());
    m.insert("charges".into(), amount(i.charges));
    m.insert("ts".into(), i.ts.epoch_ms().into());
    m.insert("reason".into(), i.reason.map(exit_reason).into());
}

/// `{"available","used","total","realized_pnl","fees","net_deposits"}`, each a
/// string with two decimals.
pub fn balance_json(b: &Balance) -> Value {
    json!({
        "available": amount(b.available),
        "used": amount(b.used),
        "total": amount(b.total),
        "realized_pnl": amount(b.realized_pnl),
        "fees": amount(b.fees),
        "net_deposits": amount(b.net_deposits),
    })
}

/// One open position: key, symbol, side, qty, `avg_price` (rounded to the
/// paisa), `cost_basis`, `entry_ts` and `high_water`.
pub fn position_json(p: &Position) -> Value {
    json!({
        "segment": p.instrument.key.segment.as_str(),
        "security_id": p.instrument.key.security_id,
        "symbol": p.instrument.symbol.as_str(),
        "side": p.side.to_string(),
        "qty": p.qty.get(),
        "avg_price": dec2(p.avg_price()),
        "cost_basis": amount(p.cost_basis),
        "entry_ts": p.entry_ts.epoch_ms(),
        "high_water": dec2(p.high_water.to_decimal()),
    })
}

/// The whole state: `version`, `balance`, `reserved`, `positions`, `risk` and
/// `counters` (`status --json` adds `durable_version`).
pub fn state_json(s: &State) -> Value {
    json!({
        "version": s.version,
        "balance": balance_json(&s.balance),
        "reserved": amount(s.reserved),
        "positions": s.positions.iter().map(position_json).collect::<Vec<_>>(),
        "pending_orders": s.pending.iter().map(intent_json).collect::<Vec<_>>(),
        "risk": {
            "halted": s.risk.halted.map(|h| json!({
                "reason": halt_reason(h.reason),
                "since": h.since.epoch_ms(),
            })),
            "cooldown_until": s.risk.cooldown_until.map(|t| t.epoch_ms()),
            "trading_day": s.risk.trading_day.map(|d| d.to_string()),
            "day_start_net_pnl": amount(s.risk.day_start_net_pnl),
            "day_realized_net_pnl": s.day_realized_net_pnl().map(amount),
        },
        "counters": {
            "orders": s.counters.orders,
            "trades": s.counters.trades,
            "wins": s.counters.wins,
            "losses": s.counters.losses,
            "last_order_id": s.counters.last_order_id,
        },
    })
}
