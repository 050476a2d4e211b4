//! The closed set of wallet operations. Each carries every amount it needs, so
//! a journal record of the operation alone is enough to replay it.

use std::fmt;

use super::instrument::{ClientOrderId, Instrument, InstrumentKey, Timestamp, TradingDay};
use super::order::OrderIntent;
use crate::money::{Amount, Price, Qty};

/// Why trading is halted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HaltReason {
    /// The daily loss limit was hit; the next [`Op::DayRoll`] lifts it.
    DailyLossLimit,
    /// An operator halted trading; only [`Op::Resume`] lifts it.
    Operator,
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            HaltReason::DailyLossLimit => "daily loss limit reached",
            HaltReason::Operator => "halted by the operator",
        })
    }
}

/// Why a position was sold (journaled for reports; the wallet does not act on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitReason {
    Signal,
    TakeProfit,
    StopLoss,
    TrailingStop,
    TimeStop,
    DailyLossLimit,
    EndOfDay,
    Operator,
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            ExitReason::Signal => "signal",
            ExitReason::TakeProfit => "take profit",
            ExitReason::StopLoss => "stop loss",
            ExitReason::TrailingStop => "trailing stop",
            ExitReason::TimeStop => "time stop",
            ExitReason::DailyLossLimit => "daily loss limit",
            ExitReason::EndOfDay => "end of day",
            ExitReason::Operator => "operator",
        })
    }
}

/// A wallet operation. See [`super::apply`] for what each does and refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Cash in: `available`, `total` and `net_deposits` grow by `amount`.
    Deposit { amount: Amount },
    /// Cash out of `available`: `total` and `net_deposits` shrink by `amount`.
    Withdraw { amount: Amount },
    /// Block cash for a pending order: `available -> used` (counted in
    /// `State::reserved`).
    Reserve { amount: Amount },
    /// Unblock reserved cash: `used -> available`, plus an optional realized
    /// profit (or, negative, loss) settled with it.
    Release { amount: Amount, pnl: Option<Amount> },
    /// A buy fill: opens a position or adds to one. Cash out is
    /// `qty x price + charges`.
    Buy {
        instrument: Instrument,
        qty: Qty,
        price: Price,
        /// All charges of this executed order (see `wallet::charges`).
        charges: Amount,
        ts: Timestamp,
        order_id: Option<ClientOrderId>,
    },
    /// A sell fill: reduces or closes a position. Cash in is
    /// `qty x price - charges`.
    Sell {
        key: InstrumentKey,
        qty: Qty,
        price: Price,
        charges: Amount,
        ts: Timestamp,
        order_id: Option<ClientOrderId>,
        reason: Option<ExitReason>,
    },
    /// Raises a position's high-water price to `price` if it is higher.
    MarkHigh { key: InstrumentKey, price: Price },
    /// An explicit re-baseline to `amount` of cash, with a flat book (never
    /// implicit at start).
    Reset { amount: Amount },
    /// Blocks new entries (buys and reservations). Exits stay allowed.
    Halt { reason: HaltReason, ts: Timestamp },
    /// Lifts a halt.
    Resume,
    /// Blocks buys until `until` (extends, never shortens, a running cooldown).
    /// Exits stay allowed.
    Cooldown { until: Timestamp },
    /// Starts a new trading day: the daily PnL baseline moves to now, and a
    /// daily-loss halt lifts.
    DayRoll { day: TradingDay },
    /// Journals an order before its fill (see `wallet::order`): a buy reserves
    /// its cash, a sell sets aside its units. The order id must be above every id
    /// seen before.
    Submit { intent: OrderIntent },
    /// Drops a pending intent that will not fill, releasing what it set aside.
    Cancel { order_id: ClientOrderId },
}

impl Op {
    /// A short lowercase name (`deposit`, `buy`, ...), as the JSON `kind`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Op::Deposit { .. } => "deposit",
            Op::Withdraw { .. } => "withdraw",
            Op::Reserve { .. } => "reserve",
            Op::Release { .. } => "release",
            Op::Buy { .. } => "buy",
            Op::Sell { .. } => "sell",
            Op::MarkHigh { .. } => "mark_high",
            Op::Reset { .. } => "reset",
            Op::Halt { .. } => "halt",
            Op::Resume => "resume",
            Op::Cooldown { .. } => "cooldown",
            Op::DayRoll { .. } => "day_roll",
            Op::Submit { .. } => "submit",
            Op::Cancel { .. } => "cancel",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Deposit { amount } => write!(f, "deposit {amount}"),
            Op::Withdraw { amount } => write!(f, "withdraw {amount}"),
            Op::Reserve { amount } => write!(f, "reserve {amount}"),
            Op::Release { amount, pnl: None } => write!(f, "release {amount}"),
            Op::Release {
                amount,
                pnl: Some(pnl),
            } => write!(f, "release {amount} with pnl {pnl}"),
            Op::Buy {
                instrument,
                qty,
                price,
                charges,
                ..
            } => {
                write!(f, "buy {qty} {instrument} @ {price} (charges {charges})")
            }
            Op::Sell {
                key,
                qty,
                price,
                charges,
                reason,
                ..
            } => {
                write!(f, "sell {qty} {key} @ {price} (charges {charges})")?;
                match reason {
                    Some(r) => write!(f, " on {r}"),
                    None => Ok(()),
                }
            }
            Op::MarkHigh { key, price } => write!(f, "mark high of {key} at {price}"),
            Op::Reset { amount } => write!(f, "reset to {amount}"),
            Op::Halt { reason, ts } => write!(f, "halt at {ts}: {reason}"),
            Op::Resume => f.write_str("resume"),
            Op::Cooldown { until } => write!(f, "cooldown until {until}"),
            Op::DayRoll { day } => write!(f, "day roll to {day}"),
            Op::Submit { intent: i } => write!(
                f,
                "submit order {} to {} {} {} @ {} (charges {})",
                i.order_id,
                match i.side {
                    super::Side::Buy => "buy",
                    super::Side::Sell => "sell",
                },
                i.qty,
                i.instrument,
                i.price,
                i.charges
            ),
            Op::Cancel { order_id } => write!(f, "cancel order {order_id}"),
        }
    }
}
