//! The per-position exit rules, the high-water mark and the cooldown.

use rust_decimal::Decimal;

use super::RiskParams;
use super::session::{duration_ms, square_off_due};
use crate::money::{Amount, Price};
use crate::wallet::{ExitReason, Op, Position, State, Timestamp};

/// Why `position` should be exited at `now`, if it should (see the module docs
/// for the rules and their precedence). `fresh_ltp` is the position's last price
/// if the quote is fresh, `None` if it is stale or missing: then only the time
/// rules apply.
pub fn exit_reason(
    position: &Position,
    fresh_ltp: Option<Price>,
    now: Timestamp,
    params: &RiskParams,
) -> Option<ExitReason> {
    fresh_ltp
        .and_then(|ltp| price_exit_reason(position, ltp, params))
        .or_else(|| time_exit_reason(position, now, params))
}

/// The price rules alone, in precedence order: stop loss, trailing stop, take
/// profit. Exact: `qty x ltp - cost_basis` is compared with `pct x cost_basis`,
/// which is `(ltp - avg) / avg` against `pct` without a division. `None` also
/// when the arithmetic is out of range (no exit on numbers it cannot trust).
pub fn price_exit_reason(
    position: &Position,
    ltp: Price,
    params: &RiskParams,
) -> Option<ExitReason> {
    let cost = position.cost_basis.to_decimal();
    let pnl = position.unrealized_pnl(ltp)?.to_decimal();
    let beyond = |pct: Decimal, gain: Decimal| -> bool {
        pct.checked_mul(cost)
            .is_some_and(|threshold| gain > threshold)
    };
    if params.enable_stop_loss && beyond(params.sl_pct, -pnl) {
        return Some(ExitReason::StopLoss);
    }
    if params.enable_trailing_stop && trailing_stop_hit(position, ltp, params.trail_pct) {
        return Some(ExitReason::TrailingStop);
    }
    if params.enable_take_profit && beyond(params.tp_pct, pnl) {
        return Some(ExitReason::TakeProfit);
    }
    None
}

/// Armed once the high-water price is above the average cost
/// (`qty x high > cost_basis`); then hit when `ltp < high x (1 - trail_pct)`.
fn trailing_stop_hit(position: &Position, ltp: Price, trail_pct: Decimal) -> bool {
    let armed = Amount::notional(position.qty, position.high_water)
        .is_some_and(|high_value| high_value > position.cost_basis);
    if !armed {
        return false;
    }
    (Decimal::ONE - trail_pct)
        .checked_mul(position.high_water.to_decimal())
        .is_some_and(|stop| ltp.to_decimal() < stop)
}

/// The time rules alone, in precedence order: end-of-day square-off (see
/// [`square_off_due`]), then the time stop (`now - entry_ts >= time_stop`).
pub fn time_exit_reason(
    position: &Position,
    now: Timestamp,
    params: &RiskParams,
) -> Option<ExitReason> {
    if square_off_due(position.entry_ts, now, params) {
        return Some(ExitReason::EndOfDay);
    }
    let held_ms = now.epoch_ms().saturating_sub(position.entry_ts.epoch_ms());
    if params.enable_time_stop && held_ms >= duration_ms(params.time_stop) {
        return Some(ExitReason::TimeStop);
    }
    None
}

/// The `Op::MarkHigh` to journal when `ltp` is above the position's high-water
/// price (call it with fresh quotes only).
pub fn mark_high(position: &Position, ltp: Price) -> Option<Op> {
    (ltp > position.high_water).then_some(Op::MarkHigh {
        key: position.instrument.key,
        price: ltp,
    })
}

/// The end of the cooldown to journal (`Op::Cooldown { until }`) after a sell
/// whose gross realized PnL was `exit_pnl`: `now + cooldown_after_loss` when the
/// PnL is negative and the cooldown is enabled. A break-even or winning exit
/// starts none (the wallet counts the same sells as losses).
pub fn cooldown_after(exit_pnl: Amount, now: Timestamp, params: &RiskParams) -> Option<Timestamp> {
    (params.enable_cooldown && exit_pnl.is_negative() && !params.cooldown_after_loss.is_zero())
        .then(|| super::session::add_duration(now, params.cooldown_after_loss))
}

/// The gross realized PnL of the sell that turned `before` into `after`:
/// `after.realized_pnl - before.realized_pnl`. Feed it to [`cooldown_after`].
pub fn sell_realized_pnl(before: &State, after: &State) -> Option<Amount> {
    after
        .balance
        .realized_pnl
        .checked_sub(before.balance.realized_pnl)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::money::Qty;
    use crate::risk::session::tests::ist;
    use crate::wallet::{Instrument, InstrumentKey, Segment, Side, Symbol};

    pub(crate) fn px(paise: i64) -> Price {
        Price::from_paise(paise).unwrap()
    }

    /// A position of `qty` units bought at `avg_paise` each, entered at `entry`,
    /// with a high-water price of `high_paise`.
    pub(crate) fn position(
        id: u64,
        qty: u64,
        avg_paise: i64,
        high_paise: i64,
        entry: Timestamp,
    ) -> Position {
        Position {
            instrument: Instrument {
                key: InstrumentKey {
                    segment: Segment::NseFno,
                    security_id: id,
                },
                symbol: Symbol::new(&format!("NIFTY TEST {id} CE")).unwrap(),
            },
            side: Side::Buy,
            qty: Qty::new(qty),
            cost_basis: Amount::notional(Qty::new(qty), px(avg_paise)).unwrap(),
            entry_ts: entry,
            high_water: px(high_paise),
        }
    }

    /// Only the rule under test enabled, no session rules.
    fn only(rule: &str) -> RiskParams {
        RiskParams {
            enable_take_profit: rule == "tp",
            enable_stop_loss: rule == "sl",
            enable_trailing_stop: rule == "trail",
            enable_time_stop: rule == "time",
            enable_square_off: rule == "eod",
            enforce_market_hours: rule == "eod",
            ..RiskParams::default()
        }
    }

    fn t0() -> Timestamp {
        ist(0, 10, 0, 0)
    }

    fn price_check(
        params: &RiskParams,
        high_paise: i64,
        ltp_paise: i64,
        expected: Option<ExitReason>,
    ) {
        // 75 units at an average of 100.00 (cost 7,500).
        let p = position(1, 75, 10_000, high_paise, t0());
        assert_eq!(
            exit_reason(&p, Some(px(ltp_paise)), t0(), params),
            expected,
            "high {high_paise}p ltp {ltp_paise}p"
        );
    }

    #[test]
    fn take_profit_at_just_below_and_above_35_percent() {
        let p = only("tp");
        // (135.00 - 100) / 100 = 0.35: not above 0.35.
        price_check(&p, 10_000, 13_500, None);
        price_check(&p, 10_000, 13_495, None);
        // (135.05 - 100) / 100 = 0.3505 > 0.35.
        price_check(&p, 10_000, 13_505, Some(ExitReason::TakeProfit));
    }

    #[test]
    fn stop_loss_at_just_below_and_above_18_percent() {
        let p = only("sl");
        // (100 - 82.00) / 100 = 0.18: not above.
        price_check(&p, 10_000, 8_200, None);
        price_check(&p, 10_000, 8_205, None);
        // (100 - 81.95) / 100 = 0.1805 > 0.18.
        price_check(&p, 10_000, 8_195, Some(ExitReason::StopLoss));
    }

    #[test]
    fn stop_loss_uses_the_exact_average_of_an_uneven_cost() {
        // 3 units costing 300.05 in all: avg 100.01666...; 18% of the cost is
        // 54.009, so the stop needs a loss above 54.009: 3 x ltp < 246.041,
        // ltp < 82.0136...: 82.00 exits, 82.05 does not.
        let mut p = position(1, 3, 10_000, 10_000, t0());
        p.cost_basis = Amount::from_paise(30_005);
        let params = only("sl");
        assert_eq!(
            exit_reason(&p, Some(px(8_200)), t0(), &params),
            Some(ExitReason::StopLoss)
        );
        assert_eq!(exit_reason(&p, Some(px(8_205)), t0(), &params), None);
    }

    #[test]
    fn trailing_stop_at_just_below_and_above_its_level() {
        let p = only("trail");
        // High 120: stop level 120 x 0.88 = 105.60; exits strictly below it.
        price_check(&p, 12_000, 10_565, None);
        price_check(&p, 12_000, 10_560, None);
        price_check(&p, 12_000, 10_555, Some(ExitReason::TrailingStop));
    }

    #[test]
    fn trailing_stop_arms_only_once_the_high_is_above_entry() {
        let p = only("trail");
        // High == entry (100): not armed, even far below 100 x 0.88 = 88.
        price_check(&p, 10_000, 5_000, None);
        // High one tick above entry: armed; level 100.05 x 0.88 = 88.044.
        price_check(&p, 10_005, 8_805, None);
        price_check(&p, 10_005, 8_800, Some(ExitReason::TrailingStop));
    }

    #[test]
    fn precedence_stop_loss_then_trailing_then_take_profit_then_time() {
        let all = RiskParams {
            enforce_market_hours: false,
            ..RiskParams::default()
        };
        // High 105 (armed, level 92.40) and ltp 81.95: both stop loss and
        // trailing hold; stop loss wins.
        price_check(&all, 10_500, 8_195, Some(ExitReason::StopLoss));
        // High 200 (level 176) and ltp 170: trailing and take profit (70%) hold;
        // trailing wins.
        price_check(&all, 20_000, 17_000, Some(ExitReason::TrailingStop));
        // High 150 (level 132) and ltp 140: only take profit.
        price_check(&all, 15_000, 14_000, Some(ExitReason::TakeProfit));
        // Held for the whole time stop with ltp at entry: the time stop; with a
        // take profit at the same time, the take profit names it.
        let p = position(1, 75, 10_000, 10_000, t0());
        let late = add(t0(), 300);
        assert_eq!(
            exit_reason(&p, Some(px(10_000)), late, &all),
            Some(ExitReason::TimeStop)
        );
        assert_eq!(
            exit_reason(&p, Some(px(13_505)), late, &all),
            Some(ExitReason::TakeProfit)
        );
        // End of day before the time stop when both hold.
        let eod = RiskParams::default();
        let p = position(1, 75, 10_000, 10_000, ist(0, 15, 0, 0));
        assert_eq!(
            exit_reason(&p, Some(px(10_000)), ist(0, 15, 15, 0), &eod),
            Some(ExitReason::EndOfDay)
        );
    }

    fn add(ts: Timestamp, secs: i64) -> Timestamp {
        Timestamp::from_epoch_ms(ts.epoch_ms() + secs * 1000)
    }

    #[test]
    fn time_stop_counts_from_the_fill_time() {
        let params = only("time");
        let p = position(1, 75, 10_000, 10_000, t0());
        let just_before = Timestamp::from_epoch_ms(add(t0(), 300).epoch_ms() - 1);
        assert_eq!(
            exit_reason(&p, Some(px(10_000)), just_before, &params),
            None
        );
        assert_eq!(
            exit_reason(&p, Some(px(10_000)), add(t0(), 300), &params),
            Some(ExitReason::TimeStop)
        );
        assert_eq!(
            exit_reason(&p, None, add(t0(), 301), &params),
            Some(ExitReason::TimeStop),
            "time rules do not need a fresh quote"
        );
        // A clock behind the entry time does not exit.
        assert_eq!(exit_reason(&p, None, add(t0(), -5), &params), None);
    }

    #[test]
    fn square_off_exits_at_its_time_without_a_quote() {
        let params = only("eod");
        let p = position(1, 75, 10_000, 10_000, ist(0, 9, 30, 0));
        assert_eq!(exit_reason(&p, None, ist(0, 15, 14, 59), &params), None);
        assert_eq!(
            exit_reason(&p, None, ist(0, 15, 15, 0), &params),
            Some(ExitReason::EndOfDay)
        );
    }

    #[test]
    fn no_price_rule_without_a_fresh_quote() {
        let all = RiskParams {
            enforce_market_hours: false,
            ..RiskParams::default()
        };
        let p = position(1, 75, 10_000, 12_000, t0());
        // Deep below every stop, but the quote is stale (None here).
        assert_eq!(exit_reason(&p, None, add(t0(), 10), &all), None);
    }

    #[test]
    fn disabled_rules_never_fire() {
        let none = RiskParams {
            enable_take_profit: false,
            enable_stop_loss: false,
            enable_trailing_stop: false,
            enable_time_stop: false,
            enforce_market_hours: false,
            ..RiskParams::default()
        };
        for (high, ltp) in [(10_000, 5), (10_000, 90_000), (20_000, 10_000)] {
            price_check(&none, high, ltp, None);
        }
        let p = position(1, 75, 10_000, 10_000, t0());
        assert_eq!(exit_reason(&p, None, add(t0(), 100_000), &none), None);
    }

    #[test]
    fn mark_high_only_above_the_stored_high() {
        let p = position(1, 75, 10_000, 12_000, t0());
        assert_eq!(mark_high(&p, px(12_000)), None);
        assert_eq!(mark_high(&p, px(11_995)), None);
        assert_eq!(
            mark_high(&p, px(12_005)),
            Some(Op::MarkHigh {
                key: p.instrument.key,
                price: px(12_005)
            })
        );
    }

    #[test]
    fn cooldown_only_after_a_losing_exit() {
        let params = RiskParams::default();
        let now = t0();
        assert_eq!(
            cooldown_after(Amount::from_paise(-1), now, &params),
            Some(add(now, 180))
        );
        assert_eq!(cooldown_after(Amount::ZERO, now, &params), None);
        assert_eq!(cooldown_after(Amount::from_rupees(50), now, &params), None);
        let off = RiskParams {
            enable_cooldown: false,
            ..params
        };
        assert_eq!(cooldown_after(Amount::from_rupees(-50), now, &off), None);
        let zero = RiskParams {
            cooldown_after_loss: Duration::ZERO,
            ..params
        };
        assert_eq!(cooldown_after(Amount::from_rupees(-50), now, &zero), None);
    }
}
