//! Risk: exit rules, the daily loss limit, the cooldown, entry guards and session
//! hours, as pure functions of the wallet [`State`](crate::wallet::State), quotes,
//! the time and [`RiskParams`].
//!
//! Architecture Invariant: this module does no I/O, reads no clock and uses no
//! atomics. It only *plans*: [`risk_actions`] returns what should happen, and the
//! app commits it (wallet operations through the engine, exits through the
//! broker). Every exit is a journaled `Op::Sell` carrying its [`ExitReason`].
//!
//! # Exit rules ([`exit_reason`])
//!
//! With `avg` the position's average cost (`cost_basis / qty`), `ltp` a fresh
//! last price and `high` its high-water price, in exact decimals (compared as
//! `qty x ltp - cost_basis` against `pct x cost_basis`, so no division rounds):
//!
//! | rule | exits when | needs a fresh quote |
//! |---|---|---|
//! | stop loss | `(avg - ltp) / avg > sl_pct` | yes |
//! | trailing stop | `high > avg` and `ltp < high x (1 - trail_pct)` | yes |
//! | take profit | `(ltp - avg) / avg > tp_pct` | yes |
//! | end of day | IST time `>= square_off_time`, or opened on an earlier IST day | no |
//! | time stop | `now - entry_ts >= time_stop` | no |
//!
//! Precedence is the table's order: the first rule that holds names the exit.
//! Price thresholds are strict (`>`, `<`, as the original); time thresholds are
//! reached at equality. Each rule has its `enable_*` switch.
//!
//! # Stale or missing quotes
//!
//! A quote older than `stale_after` (or none) never triggers a price rule nor a
//! high-water mark. Time rules (end of day, time stop) still exit: the broker
//! fills at the last quote it has, however old; with no quote at all it cannot
//! price the order and the app retries on the next tick. The daily loss
//! measure uses the last known LTP of any age (the best estimate there is) and
//! values a position with no quote at all at cost.
//!
//! # Daily loss limit
//!
//! The day's PnL is measured on equity: `state.day_realized_net_pnl()` (realized
//! PnL minus fees since the day roll; deposits and withdrawals are not PnL) plus
//! the unrealized PnL `sum(qty x ltp - cost_basis)` of open positions. The limit
//! is hit when the day's PnL is at or below `-daily_loss_limit()`. Exit charges
//! of the flatten come on top, so the realized loss may end slightly beyond it.
//!
//! The original had two keys: `max_daily_loss_rs` (2000, the risk loop's key with
//! its `enable_*` switch) and `global.max_day_loss` (1500). Both are kept and
//! **the stricter governs**: [`RiskParams::daily_loss_limit`] is the smaller, so
//! with the defaults the limit is Rs 1,500. A config that wants one limit sets
//! both to it.
//!
//! When hit, the plan is: `Halt { DailyLossLimit }` first, then an exit of every
//! position with reason `DailyLossLimit`. The latch goes first (the issue text
//! says "flatten, then halt"; the end state is the same) because it blocks a
//! racing entry at once, sells stay allowed while halted, and a crash midway
//! leaves the latch in the journal: while the state is halted for the daily loss,
//! every remaining position is exited again on each tick, whatever the prices
//! do, so the flatten always completes. The latch survives restarts; `Resume` or
//! the next `DayRoll` lifts it. A halt by the operator is left as it is (no
//! second `Halt`), but a breach still flattens.
//!
//! # Cooldown and entry guards
//!
//! After a sell with a negative gross realized PnL, the app journals
//! `Op::Cooldown { until: cooldown_after(..) }`. The cooldown blocks entries only
//! ([`entry_allowed`] and the wallet's buy checks); [`risk_actions`] never looks
//! at it, so exits are never delayed by it (the original's defect).
//! [`entry_allowed`] checks, in order: the halt latch, the session (weekends,
//! before the open, after the square-off, after the close), the cooldown, the
//! position limit (open positions plus pending buys of new contracts), and the
//! data freshness the caller reports.
//!
//! # Session hours
//!
//! In IST (UTC+05:30, no daylight saving; [`session`]): entries between
//! `session_start` (09:20) and `square_off_time` (15:15), Monday to Friday, when
//! `enforce_market_hours`; exchange holidays are not modelled.

mod guard;
mod plan;
mod rules;
pub mod session;

use std::fmt;
use std::time::Duration;

use rust_decimal::Decimal;

use crate::money::Amount;
use crate::scheduler::IstTime;
use crate::wallet::{MAX_POSITIONS_DEFAULT, POSITIONS_MAX};

pub use guard::{EntryBlock, entry_allowed};
pub use plan::{
    Quotes, RISK_ACTIONS_MAX, RiskAction, RiskPlan, daily_loss_breached, day_pnl, equity,
    risk_actions, unrealized_pnl,
};
pub use rules::{
    cooldown_after, exit_reason, mark_high, price_exit_reason, sell_realized_pnl, time_exit_reason,
};
pub use session::{
    SessionPhase, Weekday, add_duration, ist_time_of_day, quote_is_fresh, session_phase,
    square_off_due, trading_day,
};

pub use crate::wallet::{ExitReason, HaltReason};

const fn ist(hour: u32, minute: u32) -> IstTime {
    match IstTime::new(hour, minute, 0) {
        Some(t) => t,
        None => panic!("not a time of day"),
    }
}

/// The shipped session start, 09:20 IST (the market opens at 09:15).
pub const SESSION_START_DEFAULT: IstTime = ist(9, 20);
/// The shipped session end, 15:25 IST (the market closes at 15:30).
pub const SESSION_END_DEFAULT: IstTime = ist(15, 25);
/// The shipped end-of-day square-off, 15:15 IST (brokers square off intraday
/// positions around 15:15-15:20).
pub const SQUARE_OFF_DEFAULT: IstTime = ist(15, 15);

const _: () = assert!(SESSION_START_DEFAULT.secs_of_day() < SQUARE_OFF_DEFAULT.secs_of_day());
const _: () = assert!(SQUARE_OFF_DEFAULT.secs_of_day() <= SESSION_END_DEFAULT.secs_of_day());

/// The risk configuration. `_pct` fields are fractions (`0.35` = 35%), as the
/// original's keys were. [`Default`] gives the original's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiskParams {
    pub enable_take_profit: bool,
    /// Take profit when `(ltp - avg) / avg > tp_pct` (0.35).
    pub tp_pct: Decimal,
    pub enable_stop_loss: bool,
    /// Stop loss when `(avg - ltp) / avg > sl_pct` (0.18).
    pub sl_pct: Decimal,
    pub enable_trailing_stop: bool,
    /// Once the high-water price is above the average cost, exit when
    /// `ltp < high x (1 - trail_pct)` (0.12).
    pub trail_pct: Decimal,
    pub enable_time_stop: bool,
    /// Exit this long after the position's first fill (300 s).
    pub time_stop: Duration,
    pub enable_daily_loss_limit: bool,
    /// The risk loop's daily loss cap, `max_daily_loss_rs` (Rs 2,000).
    pub max_daily_loss_rs: Amount,
    /// The original's `global.max_day_loss` (Rs 1,500).
    pub max_day_loss: Amount,
    pub enable_cooldown: bool,
    /// Entries wait this long after a losing exit (180 s).
    pub cooldown_after_loss: Duration,
    /// At most this many open positions (5), counting pending buys of new
    /// contracts.
    pub max_positions: usize,
    /// Apply the session hours and weekends (and the square-off).
    pub enforce_market_hours: bool,
    /// Entries from this IST time (09:20).
    pub session_start: IstTime,
    /// No entries from this IST time (15:25).
    pub session_end: IstTime,
    pub enable_square_off: bool,
    /// Every position is exited from this IST time, and no entry is made (15:15).
    pub square_off_time: IstTime,
    /// A quote older than this is stale: no price rule acts on it and entries are
    /// blocked (10 s: two missed 5 s market-data polls).
    pub stale_after: Duration,
}

impl Default for RiskParams {
    fn default() -> RiskParams {
        RiskParams {
            enable_take_profit: true,
            tp_pct: Decimal::new(35, 2),
            enable_stop_loss: true,
            sl_pct: Decimal::new(18, 2),
            enable_trailing_stop: true,
            trail_pct: Decimal::new(12, 2),
            enable_time_stop: true,
            time_stop: Duration::from_secs(300),
            enable_daily_loss_limit: true,
            max_daily_loss_rs: Amount::from_rupees(2000),
            max_day_loss: Amount::from_rupees(1500),
            enable_cooldown: true,
            cooldown_after_loss: Duration::from_secs(180),
            max_positions: MAX_POSITIONS_DEFAULT,
            enforce_market_hours: true,
            session_start: SESSION_START_DEFAULT,
            session_end: SESSION_END_DEFAULT,
            enable_square_off: true,
            square_off_time: SQUARE_OFF_DEFAULT,
            stale_after: Duration::from_secs(10),
        }
    }
}

impl RiskParams {
    /// The daily loss limit in force: the smaller of `max_daily_loss_rs` and
    /// `max_day_loss` (the stricter cap governs).
    pub fn daily_loss_limit(&self) -> Amount {
        self.max_daily_loss_rs.min(self.max_day_loss)
    }

    /// Every problem with these parameters (empty when they are usable), so a
    /// config loader can report them all at once.
    pub fn problems(&self) -> Vec<RiskParamsError> {
        let mut out = Vec::new();
        let mut check = |ok: bool, key: &'static str, rule: &'static str, value: String| {
            if !ok {
                out.push(RiskParamsError { key, rule, value });
            }
        };
        let zero = Decimal::ZERO;
        let one = Decimal::ONE;
        check(
            self.tp_pct > zero,
            "tp_pct",
            "above 0 (0.35 = 35%)",
            self.tp_pct.to_string(),
        );
        check(
            self.sl_pct > zero && self.sl_pct < one,
            "sl_pct",
            "above 0 and below 1 (0.18 = 18%)",
            self.sl_pct.to_string(),
        );
        check(
            self.trail_pct > zero && self.trail_pct < one,
            "trail_pct",
            "above 0 and below 1 (0.12 = 12%)",
            self.trail_pct.to_string(),
        );
        check(
            !self.time_stop.is_zero(),
            "time_stop_seconds",
            "above 0",
            format!("{:?}", self.time_stop),
        );
        check(
            self.max_daily_loss_rs.is_positive(),
            "max_daily_loss_rs",
            "above 0 rupees",
            self.max_daily_loss_rs.to_string(),
        );
        check(
            self.max_day_loss.is_positive(),
            "max_day_loss",
            "above 0 rupees",
            self.max_day_loss.to_string(),
        );
        check(
            (1..=POSITIONS_MAX).contains(&self.max_positions),
            "max_positions",
            "from 1 to 64",
            self.max_positions.to_string(),
        );
        check(
            self.session_start < self.session_end,
            "session_hours",
            "a start before the end",
            format!("{}-{}", self.session_start, self.session_end),
        );
        check(
            self.square_off_time > self.session_start && self.square_off_time <= self.session_end,
            "square_off_time",
            "after the session start and at or before its end",
            self.square_off_time.to_string(),
        );
        check(
            !self.stale_after.is_zero(),
            "stale_after_sec",
            "above 0",
            format!("{:?}", self.stale_after),
        );
        out
    }
}

const _: () = assert!(POSITIONS_MAX == 64, "update the max_positions message");

/// One unusable risk parameter: its config key, its value and what it must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskParamsError {
    /// The config key (the original's name).
    pub key: &'static str,
    /// What the value must be.
    pub rule: &'static str,
    /// The value given.
    pub value: String,
}

impl fmt::Display for RiskParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "risk parameter {} is {}; it must be {}",
            self.key, self.value, self.rule
        )
    }
}

impl std::error::Error for RiskParamsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_originals_and_usable() {
        let p = RiskParams::default();
        assert_eq!(p.problems(), vec![]);
        assert_eq!(p.tp_pct.to_string(), "0.35");
        assert_eq!(p.sl_pct.to_string(), "0.18");
        assert_eq!(p.trail_pct.to_string(), "0.12");
        assert_eq!(p.time_stop, Duration::from_secs(300));
        assert_eq!(p.cooldown_after_loss, Duration::from_secs(180));
        assert_eq!(p.max_positions, 5);
        // The stricter of 2,000 and 1,500.
        assert_eq!(p.daily_loss_limit(), Amount::from_rupees(1500));
        let looser = RiskParams {
            max_day_loss: Amount::from_rupees(5000),
            ..p
        };
        assert_eq!(looser.daily_loss_limit(), Amount::from_rupees(2000));
    }

    #[test]
    fn problems_are_all_reported_with_their_keys() {
        let bad = RiskParams {
            tp_pct: Decimal::ZERO,
            sl_pct: Decimal::ONE,
            trail_pct: Decimal::new(-1, 2),
            time_stop: Duration::ZERO,
            max_daily_loss_rs: Amount::ZERO,
            max_day_loss: Amount::from_rupees(-1),
            max_positions: 65,
            session_start: SESSION_END_DEFAULT,
            session_end: SESSION_START_DEFAULT,
            square_off_time: ist(16, 0),
            stale_after: Duration::ZERO,
            ..RiskParams::default()
        };
        let keys: Vec<&str> = bad.problems().iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            [
                "tp_pct",
                "sl_pct",
                "trail_pct",
                "time_stop_seconds",
                "max_daily_loss_rs",
                "max_day_loss",
                "max_positions",
                "session_hours",
                "square_off_time",
                "stale_after_sec"
            ]
        );
        assert_eq!(
            bad.problems()[1].to_string(),
            "risk parameter sl_pct is 1; it must be above 0 and below 1 (0.18 = 18%)"
        );
    }
}
