//! Why an operation was refused. A `Reject` is a value returned to the caller: the
//! state is unchanged and nothing is journaled.

use std::fmt;

use super::instrument::{ClientOrderId, InstrumentKey, Symbol, Timestamp, TradingDay};
use super::op::HaltReason;
use super::order::PENDING_ORDERS_MAX;
use crate::money::{Amount, Qty};

/// A refused operation, with the numbers that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Amounts of deposits, withdrawals, reservations, releases and resets must
    /// be above zero.
    NonPositiveAmount {
        amount: Amount,
    },
    /// Charges are never negative.
    NegativeCharges {
        charges: Amount,
    },
    /// Orders are for at least one unit.
    ZeroQuantity,
    InsufficientFunds {
        needed: Amount,
        available: Amount,
    },
    /// A release of more than is reserved (less what pending buy orders hold).
    OverRelease {
        reserved: Amount,
        asked: Amount,
    },
    /// A buy would open one position more than the limit allows.
    MaxPositions {
        limit: usize,
    },
    UnknownPosition {
        key: InstrumentKey,
    },
    /// A buy names a held key with another symbol.
    InstrumentMismatch {
        key: InstrumentKey,
        held: Symbol,
        asked: Symbol,
    },
    Oversell {
        key: InstrumentKey,
        held: Qty,
        asked: Qty,
    },
    /// New entries are blocked; exits are not.
    Halted {
        reason: HaltReason,
    },
    /// Buys are blocked until `until`.
    CoolingDown {
        until: Timestamp,
    },
    /// A fill whose client order id was already applied.
    DuplicateOrder {
        order_id: ClientOrderId,
    },
    AlreadyHalted {
        reason: HaltReason,
    },
    NotHalted,
    /// Trading days only move forward.
    DayNotAfter {
        current: TradingDay,
        asked: TradingDay,
    },
    /// A reset needs a flat book: no open position and nothing reserved.
    NotFlat {
        positions: usize,
        reserved: Amount,
    },
    /// A submitted order id must be above every id seen before.
    OrderIdNotAfter {
        last: ClientOrderId,
        asked: ClientOrderId,
    },
    /// Too many orders wait for their fill.
    TooManyPending {
        limit: usize,
    },
    /// A fill carries the id of a pending intent but differs from it.
    IntentMismatch {
        order_id: ClientOrderId,
    },
    /// A cancel names no pending order.
    UnknownOrder {
        order_id: ClientOrderId,
    },
    /// A number out of range (about 7.9 x 10^28 rupees, or the version counter).
    Overflow,
    /// The transition would break an invariant. Unreachable unless the wallet has
    /// a bug: checked after every transition anyway.
    InvariantBroken(Broken),
}

/// A broken wallet invariant, with the numbers that break it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broken {
    /// `total != available + used`.
    TotalNotSplit {
        total: Amount,
        available: Amount,
        used: Amount,
    },
    /// `total != net_deposits + realized_pnl - fees` (the conservation law).
    Conservation {
        total: Amount,
        net_deposits: Amount,
        realized_pnl: Amount,
        fees: Amount,
    },
    /// A field that must not be negative (`available`, `used`, `fees`, `reserved`).
    Negative {
        field: &'static str,
        value: Amount,
    },
    /// `used != reserved + sum(cost_basis)` over the open positions.
    UsedNotCost {
        used: Amount,
        reserved: Amount,
        positions_cost: Amount,
    },
    TooManyPositions {
        open: usize,
        limit: usize,
    },
    /// An open position with no units, or a cost basis that is not positive.
    EmptyPosition {
        key: InstrumentKey,
    },
    /// Positions not in strict key order (a duplicate or unsorted key).
    PositionsUnordered {
        key: InstrumentKey,
    },
    /// More pending orders than [`PENDING_ORDERS_MAX`].
    TooManyPending {
        pending: usize,
    },
    /// A pending order id above the highest id seen.
    PendingIdAhead {
        order_id: ClientOrderId,
    },
    /// Pending sells of a position ask for more units than it holds.
    PendingOversell {
        key: InstrumentKey,
        held: Qty,
        asked: Qty,
    },
    /// The cash need of the pending buys is more than is reserved.
    PendingNotReserved {
        reserved: Amount,
        pending_cash: Amount,
    },
    /// A sum out of range (only a corrupt decoded snapshot can hold such values).
    Overflow,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::NonPositiveAmount { amount } => write!(f, "amount {amount} must be above zero"),
            Reject::NegativeCharges { charges } => {
                write!(f, "charges {charges} cannot be negative")
            }
            Reject::ZeroQuantity => f.write_str("quantity must be at least one unit"),
            Reject::InsufficientFunds { needed, available } => {
                write!(
                    f,
                    "insufficient funds: needs {needed}, only {available} available"
                )
            }
            Reject::OverRelease { reserved, asked } => {
                write!(f, "cannot release {asked}: only {reserved} is reserved")
            }
            Reject::MaxPositions { limit } => {
                write!(
                    f,
                    "already {limit} open positions, the maximum; close one first"
                )
            }
            Reject::UnknownPosition { key } => write!(f, "no open position in {key}"),
            Reject::InstrumentMismatch { key, held, asked } => {
                write!(f, "{key} is held as {held}, not {asked}")
            }
            Reject::Oversell { key, held, asked } => {
                write!(f, "cannot sell {asked} of {key}: only {held} held")
            }
            Reject::Halted { reason } => {
                write!(f, "trading is halted ({reason}); exits are still allowed")
            }
            Reject::CoolingDown { until } => {
                write!(
                    f,
                    "cooling down after a loss until {until}; exits are still allowed"
                )
            }
            Reject::DuplicateOrder { order_id } => write!(f, "order {order_id} was already filled"),
            Reject::AlreadyHalted { reason } => write!(f, "trading is already halted ({reason})"),
            Reject::NotHalted => f.write_str("trading is not halted"),
            Reject::DayNotAfter { current, asked } => {
                write!(
                    f,
                    "trading day {asked} is not after the current day {current}"
                )
            }
            Reject::NotFlat {
                positions,
                reserved,
            } => write!(
                f,
                "cannot reset with {positions} open position(s) and {reserved} reserved; close and release them first"
            ),
            Reject::OrderIdNotAfter { last, asked } => write!(
                f,
                "order id {asked} is not above the last id {last}; take State::next_order_id"
            ),
            Reject::TooManyPending { limit } => write!(
                f,
                "already {limit} orders wait for their fill, the maximum; wait for fills or cancel"
            ),
            Reject::IntentMismatch { order_id } => {
                write!(f, "the fill of order {order_id} differs from its intent")
            }
            Reject::UnknownOrder { order_id } => write!(f, "no pending order {order_id}"),
            Reject::Overflow => f.write_str("number out of range"),
            Reject::InvariantBroken(broken) => {
                write!(f, "wallet invariant broken (a bug): {broken}")
            }
        }
    }
}

impl std::error::Error for Reject {}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broken::TotalNotSplit {
                total,
                available,
                used,
            } => {
                write!(f, "total {total} != available {available} + used {used}")
            }
            Broken::Conservation {
                total,
                net_deposits,
                realized_pnl,
                fees,
            } => write!(
                f,
                "total {total} != net deposits {net_deposits} + realized {realized_pnl} - fees {fees}"
            ),
            Broken::Negative { field, value } => write!(f, "{field} is negative: {value}"),
            Broken::UsedNotCost {
                used,
                reserved,
                positions_cost,
            } => write!(
                f,
                "used {used} != reserved {reserved} + cost of open positions {positions_cost}"
            ),
            Broken::TooManyPositions { open, limit } => {
                write!(f, "{open} open positions, limit {limit}")
            }
            Broken::EmptyPosition { key } => {
                write!(f, "position {key} is open with no units or no cost")
            }
            Broken::PositionsUnordered { key } => {
                write!(f, "position {key} is duplicated or out of order")
            }
            Broken::TooManyPending { pending } => {
                write!(
                    f,
                    "{pending} pending orders, above the bound of {PENDING_ORDERS_MAX}"
                )
            }
            Broken::PendingIdAhead { order_id } => {
                write!(f, "pending order {order_id} is above the last order id")
            }
            Broken::PendingOversell { key, held, asked } => {
                write!(
                    f,
                    "pending sells of {key} ask for {asked}, only {held} held"
                )
            }
            Broken::PendingNotReserved {
                reserved,
                pending_cash,
            } => write!(
                f,
                "pending buys need {pending_cash}, only {reserved} is reserved"
            ),
            Broken::Overflow => f.write_str("a sum of balances is out of range"),
        }
    }
}
