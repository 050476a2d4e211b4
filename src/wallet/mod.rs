//! The wallet: balances, positions, risk latches and counters as one immutable
//! [`State`] value, changed only by the pure transition [`apply`].
//!
//! Architecture Invariant: this module does no I/O, reads no clock, uses no
//! atomics and starts no thread. Time and prices enter as values inside an
//! [`Op`]. (`Arc` appears only to share immutable data between state versions.)
//!
//! # The transition
//!
//! `apply(&state, &op, &limits) -> Result<State, Reject>` checks the operation's
//! preconditions against `state`, builds the next state (version + 1) and then
//! checks every invariant on it ([`State::check_invariants`]). It is deterministic
//! and has no side effect, so the engine may run it again after a lost CAS, and
//! replay may re-run it and compare [`State::balance`] with the journaled one.
//!
//! # Invariants (DESIGN §4)
//!
//! - `total == available + used`
//! - `total == net_deposits + realized_pnl - fees` (the conservation law)
//! - `available >= 0`, `used >= 0`, `fees >= 0`, `reserved >= 0`
//! - `used == reserved + sum(cost_basis)` over open positions, where a position's
//!   `cost_basis` is `qty x avg_price`, kept exact in paise;
//! - open positions `<= max_positions`; every open position has `qty > 0`;
//! - pending orders `<= PENDING_ORDERS_MAX`, their ids `<= last_order_id`; the
//!   buy intents' cash need `<= reserved`; the sell intents of a position ask
//!   for at most the units it holds.
//!
//! # Money flows
//!
//! | op | available | used | total | realized_pnl | fees | net_deposits |
//! |---|---|---|---|---|---|---|
//! | deposit a | +a | | +a | | | +a |
//! | withdraw a | -a | | -a | | | -a |
//! | reserve a | -a | +a | | | | |
//! | release a, pnl p | +a+p | -a | +p | +p | | |
//! | buy q @ p, charges c | -(q p + c) | +q p | -c | | +c | |
//! | sell q @ p, charges c | +q p - c | -k | +q p - k - c | +(q p - k) | +c | |
//! | reset a | =a | =0 | =a | =0 | =0 | =a |
//!
//! where `k` is the cost share of the sold units: the whole `cost_basis` when the
//! position closes, else `cost_basis x q / held` rounded to the paisa (half away
//! from zero), so `q p - k` is `(p - avg) x q` to within half a paisa and every
//! balance stays exact.

mod apply;
pub mod charges;
mod instrument;
mod op;
pub mod order;
mod position;
mod reject;

#[cfg(test)]
mod tests;

pub use apply::apply;
pub use charges::{ChargeRates, Charges, charges};
pub use instrument::{
    ClientOrderId, Exchange, Instrument, InstrumentKey, InvalidSymbol, SYMBOL_LEN_MAX_BYTES,
    Segment, Side, Symbol, Timestamp, TradingDay, UnknownSegment,
};
pub use op::{ExitReason, HaltReason, Op};
pub use order::{OrderIntent, PENDING_ORDERS_MAX, PendingOrders};
pub use position::{ORDER_IDS_RECENT_MAX, POSITIONS_MAX, Position, Positions, RecentOrderIds};
pub use reject::{Broken, Reject};

use crate::money::Amount;

/// The balance fields of DESIGN §4: what a journal record carries as the
/// post-image of each operation, and what replay compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Balance {
    /// Cash free to trade or withdraw.
    pub available: Amount,
    /// Cash blocked: open positions at cost plus reservations.
    pub used: Amount,
    /// `available + used`.
    pub total: Amount,
    /// Gross realized profit: `(exit - average) x quantity` of closed units, plus
    /// PnL settled by releases.
    pub realized_pnl: Amount,
    /// All charges paid.
    pub fees: Amount,
    /// Starting balance plus deposits minus withdrawals.
    pub net_deposits: Amount,
}

/// A halt in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Halt {
    pub reason: HaltReason,
    pub since: Timestamp,
}

/// Risk state that must survive a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RiskLatches {
    /// New entries are blocked while set.
    pub halted: Option<Halt>,
    /// Buys are blocked before this time.
    pub cooldown_until: Option<Timestamp>,
    /// The current trading day, once a day roll has happened.
    pub trading_day: Option<TradingDay>,
    /// `realized_pnl - fees` at the last day roll (or reset): the baseline of the
    /// day's PnL.
    pub day_start_net_pnl: Amount,
}

/// Monotonic activity counters (a reset does not clear them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    /// Executed orders: every buy and sell fill.
    pub orders: u64,
    /// Exits: every sell fill.
    pub trades: u64,
    /// Exits with a positive gross PnL.
    pub wins: u64,
    /// Exits with a negative gross PnL.
    pub losses: u64,
    /// The highest client order id seen in a submit or a fill: the next order id
    /// is above it, so a restart never reuses one.
    pub last_order_id: u64,
}

/// Limits the transition enforces. Configuration, not state: the engine passes
/// the same value to every `apply`, replay included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// At most this many open positions; at most [`POSITIONS_MAX`].
    pub max_positions: usize,
}

/// The configured default of `max_positions`.
pub const MAX_POSITIONS_DEFAULT: usize = 5;

const _: () = assert!(MAX_POSITIONS_DEFAULT <= POSITIONS_MAX);

impl Limits {
    /// `None` if `max_positions` is above [`POSITIONS_MAX`].
    pub const fn new(max_positions: usize) -> Option<Limits> {
        if max_positions > POSITIONS_MAX {
            None
        } else {
            Some(Limits { max_positions })
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_positions: MAX_POSITIONS_DEFAULT,
        }
    }
}

/// The whole wallet at one version. Immutable once published: the engine clones
/// it, applies an operation to the clone and swaps it in. Cloning copies about
/// two hundred bytes: the positions, the pending orders and the ring of recent
/// order ids live out of line, shared until an operation changes them, and
/// hold no allocation (cost no reference count) while empty.
///
/// The fields are public so that snapshot codecs can rebuild a state; such a
/// state must pass [`State::check_invariants`] before use.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct State {
    /// The number of operations applied since the empty wallet: gapless.
    pub version: u64,
    pub balance: Balance,
    /// Cash blocked by [`Op::Reserve`] and not yet released; part of `used`.
    pub reserved: Amount,
    pub positions: Positions,
    pub risk: RiskLatches,
    pub counters: Counters,
    /// Client order ids of the last fills, for idempotent orders.
    pub recent_order_ids: RecentOrderIds,
    /// Orders journaled and not yet filled or cancelled, oldest first.
    pub pending: PendingOrders,
}

impl State {
    /// The client order id the next order takes: one above every id seen.
    pub fn next_order_id(&self) -> ClientOrderId {
        ClientOrderId(self.counters.last_order_id.saturating_add(1))
    }

    /// The empty wallet at version 0: no cash, no position. Funding is an explicit,
    /// journaled [`Op::Deposit`] or [`Op::Reset`].
    pub fn new() -> State {
        State::default()
    }

    /// Today's net PnL so far from closed trades: `realized_pnl - fees` since the
    /// last day roll. Unrealized PnL is the risk loop's to add (it knows the LTPs).
    pub fn day_realized_net_pnl(&self) -> Option<Amount> {
        self.balance
            .realized_pnl
            .checked_sub(self.balance.fees)?
            .checked_sub(self.risk.day_start_net_pnl)
    }

    /// Checks every invariant of DESIGN §4 (see the module docs). `apply` runs this
    /// on every state it returns; recovery runs it on a decoded snapshot.
    pub fn check_invariants(&self, limits: &Limits) -> Result<(), Broken> {
        apply::check_invariants(self, limits)
    }
}
