//! Equity, the day's PnL, and the plan of one risk tick.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::RiskParams;
use super::rules::{exit_reason, mark_high};
use super::session::{quote_is_fresh, trading_day};
use crate::broker::Quote;
use crate::money::{Amount, Price};
use crate::wallet::{
    ExitReason, Halt, HaltReason, InstrumentKey, Limits, Op, POSITIONS_MAX, Side, State, Timestamp,
    TradingDay, apply,
};

/// The most actions one plan holds: a day roll, a halt, and one action (an exit
/// or a high-water mark) per position.
pub const RISK_ACTIONS_MAX: usize = POSITIONS_MAX + 2;

/// Where the risk loop looks up the latest quote of a contract (the LTP cache).
/// Implemented for closures and for maps keyed by [`InstrumentKey`].
pub trait Quotes {
    /// The latest quote of `key`, of any age; `None` if there never was one.
    fn quote(&self, key: &InstrumentKey) -> Option<Quote>;
}

impl<F: Fn(&InstrumentKey) -> Option<Quote>> Quotes for F {
    fn quote(&self, key: &InstrumentKey) -> Option<Quote> {
        self(key)
    }
}

impl<S: BuildHasher> Quotes for HashMap<InstrumentKey, Quote, S> {
    fn quote(&self, key: &InstrumentKey) -> Option<Quote> {
        self.get(key).copied()
    }
}

impl Quotes for BTreeMap<InstrumentKey, Quote> {
    fn quote(&self, key: &InstrumentKey) -> Option<Quote> {
        self.get(key).copied()
    }
}

/// One thing the risk loop decided, for the app to carry out in plan order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskAction {
    /// Journal `Op::DayRoll { day }`: a new IST day began.
    DayRoll { day: TradingDay },
    /// Journal `Op::Halt { reason, ts: now }`.
    Halt { reason: HaltReason },
    /// Sell the whole position `key` through the broker, recording `reason`.
    Exit {
        key: InstrumentKey,
        reason: ExitReason,
    },
    /// Journal `Op::MarkHigh { key, price }`.
    MarkHigh { key: InstrumentKey, price: Price },
}

impl RiskAction {
    /// The wallet operation of a day roll, halt or high-water mark; `None` for an
    /// exit, which goes through the broker (`OrderRequest::close`, `paper_fill`).
    pub fn to_op(&self, now: Timestamp) -> Option<Op> {
        match *self {
            RiskAction::DayRoll { day } => Some(Op::DayRoll { day }),
            RiskAction::Halt { reason } => Some(Op::Halt { reason, ts: now }),
            RiskAction::MarkHigh { key, price } => Some(Op::MarkHigh { key, price }),
            RiskAction::Exit { .. } => None,
        }
    }
}

/// The outcome of one risk tick: the actions, and the figures behind them for
/// the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskPlan {
    /// At most [`RISK_ACTIONS_MAX`], in the order to carry them out: day roll,
    /// halt, then per position (in key order) an exit or a high-water mark.
    pub actions: Vec<RiskAction>,
    /// The day's PnL on equity (after the planned day roll); `None` if out of
    /// range.
    pub day_pnl: Option<Amount>,
    /// Open positions whose quote is stale or missing (no price rule ran).
    pub stale_quotes: usize,
}

/// The unrealized PnL of the open positions, `sum(qty x ltp - cost_basis)`, at
/// the latest quote of any age; a position with no quote at all counts at cost
/// (zero). `None` if out of range.
pub fn unrealized_pnl(state: &State, quotes: &impl Quotes) -> Option<Amount> {
    state
        .positions
        .iter()
        .take(POSITIONS_MAX)
        .try_fold(Amount::ZERO, |sum, p| {
            match quotes.quote(&p.instrument.key) {
                Some(q) => sum.checked_add(p.unrealized_pnl(q.ltp)?),
                None => Some(sum),
            }
        })
}

/// Equity: `total + unrealized_pnl` (cash and positions at cost, plus the
/// positions' gain or loss at the latest quotes).
pub fn equity(state: &State, quotes: &impl Quotes) -> Option<Amount> {
    state
        .balance
        .total
        .checked_add(unrealized_pnl(state, quotes)?)
}

/// The day's PnL on equity: `day_realized_net_pnl()` (realized PnL less fees
/// since the last day roll) plus [`unrealized_pnl`]. Equals equity minus the
/// equity at the day roll, less the day's deposits and withdrawals.
pub fn day_pnl(state: &State, quotes: &impl Quotes) -> Option<Amount> {
    state
        .day_realized_net_pnl()?
        .checked_add(unrealized_pnl(state, quotes)?)
}

/// Whether the daily loss limit is hit: enabled, and [`day_pnl`] at or below
/// `-params.daily_loss_limit()`.
pub fn daily_loss_breached(state: &State, quotes: &impl Quotes, params: &RiskParams) -> bool {
    params.enable_daily_loss_limit
        && day_pnl(state, quotes).is_some_and(|pnl| pnl <= -params.daily_loss_limit())
}

/// Plans one risk tick at `now` (see the module docs of `risk` for the rules):
///
/// 1. `DayRoll` when `now`'s IST day is after the state's trading day; the rest
///    of the plan is computed on the rolled state (new baseline, a daily-loss
///    halt lifted).
/// 2. If the daily loss limit is hit: `Halt { DailyLossLimit }` (unless already
///    halted), then `Exit { DailyLossLimit }` of every position. While halted for
///    the daily loss, every remaining position keeps being exited.
/// 3. Otherwise each position gets its [`exit_reason`] (price rules only on a
///    fresh quote) or, on a fresh quote above its high, a `MarkHigh`.
///
/// A position with a pending sell intent gets no action: its exit is under way
/// (the broker completes or cancels the intent). The cooldown is not consulted:
/// it never delays an exit.
pub fn risk_actions(
    state: &State,
    quotes: &impl Quotes,
    now: Timestamp,
    params: &RiskParams,
) -> RiskPlan {
    let mut actions = Vec::with_capacity(RISK_ACTIONS_MAX);
    let today = trading_day(now);
    let rolled;
    let view = if state.risk.trading_day.is_none_or(|day| today > day) {
        actions.push(RiskAction::DayRoll { day: today });
        // The wallet's own transition, so the plan sees exactly what the roll
        // will do. The widest limit: the roll changes no position.
        let wide = Limits {
            max_positions: POSITIONS_MAX,
        };
        rolled = apply(state, &Op::DayRoll { day: today }, &wide).ok();
        rolled.as_ref().unwrap_or(state)
    } else {
        state
    };

    let day_pnl = day_pnl(view, quotes);
    let breached = daily_loss_breached(view, quotes, params);
    let halted_for_loss = matches!(
        view.risk.halted,
        Some(Halt {
            reason: HaltReason::DailyLossLimit,
            ..
        })
    );
    if breached && view.risk.halted.is_none() {
        actions.push(RiskAction::Halt {
            reason: HaltReason::DailyLossLimit,
        });
    }
    let flatten = breached || halted_for_loss;

    let mut stale_quotes = 0;
    for position in view.positions.iter().take(POSITIONS_MAX) {
        let key = position.instrument.key;
        let exiting = view
            .pending
            .iter()
            .any(|i| i.side == Side::Sell && i.instrument.key == key);
        if exiting {
            continue;
        }
        let fresh_ltp = quotes
            .quote(&key)
            .filter(|q| quote_is_fresh(q.ts, now, params.stale_after))
            .map(|q| q.ltp);
        if fresh_ltp.is_none() {
            stale_quotes += 1;
        }
        let reason = if flatten {
            Some(ExitReason::DailyLossLimit)
        } else {
            exit_reason(position, fresh_ltp, now, params)
        };
        if let Some(reason) = reason {
            actions.push(RiskAction::Exit { key, reason });
        } else if let Some(Op::MarkHigh { key, price }) =
            fresh_ltp.and_then(|ltp| mark_high(position, ltp))
        {
            actions.push(RiskAction::MarkHigh { key, price });
        }
    }
    debug_assert!(actions.len() <= RISK_ACTIONS_MAX);
    RiskPlan {
        actions,
        day_pnl,
        stale_quotes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Qty;
    use crate::risk::rules::tests::{position, px};
    use crate::risk::session::tests::ist;
    use crate::wallet::OrderIntent;

    fn limits() -> Limits {
        Limits::default()
    }

    /// Rs 1,00,000 deposited, rolled to Friday 2025-09-26, then a buy of `qty` of
    /// contract `id` at `avg_paise` with Rs 20 charges at 10:00 IST.
    fn holding(id: u64, qty: u64, avg_paise: i64) -> State {
        let mut s = apply(
            &State::new(),
            &Op::Deposit {
                amount: Amount::from_rupees(100_000),
            },
            &limits(),
        )
        .unwrap();
        s = apply(
            &s,
            &Op::DayRoll {
                day: trading_day(ist(0, 9, 0, 0)),
            },
            &limits(),
        )
        .unwrap();
        buy(&s, id, qty, avg_paise)
    }

    fn buy(s: &State, id: u64, qty: u64, avg_paise: i64) -> State {
        let p = position(id, qty, avg_paise, avg_paise, ist(0, 10, 0, 0));
        apply(
            s,
            &Op::Buy {
                instrument: p.instrument,
                qty: Qty::new(qty),
                price: px(avg_paise),
                charges: Amount::from_rupees(20),
                ts: ist(0, 10, 0, 0),
                order_id: None,
            },
            &limits(),
        )
        .unwrap()
    }

    fn key(id: u64) -> InstrumentKey {
        position(id, 1, 5, 5, ist(0, 0, 0, 0)).instrument.key
    }

    fn at(ltp_paise: i64, ts: Timestamp) -> HashMap<InstrumentKey, Quote> {
        HashMap::from([(key(1), Quote::ltp_only(px(ltp_paise), ts))])
    }

    /// Daily-loss tests: only the daily loss limit among the exit rules.
    fn loss_only() -> RiskParams {
        RiskParams {
            enable_stop_loss: false,
            enable_trailing_stop: false,
            enable_take_profit: false,
            enable_time_stop: false,
            ..RiskParams::default()
        }
    }

    #[test]
    fn equity_includes_unrealized_pnl() {
        // 1,00,000 - 7,500 - 20 available + 7,500 used = 99,980 total.
        let s = holding(1, 75, 10_000);
        assert_eq!(s.balance.total, Amount::from_rupees(99_980));
        let now = ist(0, 10, 1, 0);
        // 75 x 110 - 7,500 = 750.
        assert_eq!(
            unrealized_pnl(&s, &at(11_000, now)),
            Some(Amount::from_rupees(750))
        );
        assert_eq!(
            equity(&s, &at(11_000, now)),
            Some(Amount::from_rupees(100_730))
        );
        // Day PnL: -20 of fees + 750.
        assert_eq!(
            day_pnl(&s, &at(11_000, now)),
            Some(Amount::from_rupees(730))
        );
        // No quote at all: valued at cost.
        let none = HashMap::new();
        assert_eq!(equity(&s, &none), Some(Amount::from_rupees(99_980)));
        // A stale quote still values the position.
        assert_eq!(
            unrealized_pnl(&s, &at(9_000, ist(0, 9, 0, 0))),
            Some(Amount::from_rupees(-750))
        );
    }

    #[test]
    fn daily_loss_on_equity_halts_then_flattens() {
        // 100 units at 100 (cost 10,000), Rs 20 of fees. Cash is fine (89,980
        // available); the loss is all unrealized. Limit: min(2,000, 1,500) = 1,500.
        let s = holding(1, 100, 10_000);
        let now = ist(0, 10, 1, 0);
        let p = loss_only();
        // ltp 85.25: 100 x -14.75 - 20 = -1,495: not hit.
        let plan = risk_actions(&s, &at(8_525, now), now, &p);
        assert_eq!(plan.actions, vec![]);
        assert_eq!(plan.day_pnl, Some(Amount::from_rupees(-1_495)));
        assert!(!daily_loss_breached(&s, &at(8_525, now), &p));
        // ltp 85.20: 100 x -14.80 - 20 = -1,500: hit at equality.
        let plan = risk_actions(&s, &at(8_520, now), now, &p);
        assert_eq!(plan.day_pnl, Some(Amount::from_rupees(-1_500)));
        assert_eq!(
            plan.actions,
            vec![
                RiskAction::Halt {
                    reason: HaltReason::DailyLossLimit
                },
                RiskAction::Exit {
                    key: key(1),
                    reason: ExitReason::DailyLossLimit
                },
            ]
        );
        assert_eq!(
            plan.actions[0].to_op(now),
            Some(Op::Halt {
                reason: HaltReason::DailyLossLimit,
                ts: now
            })
        );
        assert_eq!(plan.actions[1].to_op(now), None);
        // Disabled: nothing.
        let off = RiskParams {
            enable_daily_loss_limit: false,
            ..p
        };
        assert_eq!(risk_actions(&s, &at(8_520, now), now, &off).actions, vec![]);
    }

    #[test]
    fn a_daily_loss_halt_keeps_flattening_whatever_the_prices() {
        let now = ist(0, 10, 1, 0);
        let s = apply(
            &holding(1, 100, 10_000),
            &Op::Halt {
                reason: HaltReason::DailyLossLimit,
                ts: now,
            },
            &limits(),
        )
        .unwrap();
        // Prices recovered (a gain now) and the quote is stale: still exited, no
        // second halt.
        let plan = risk_actions(&s, &at(12_000, ist(0, 9, 0, 0)), now, &loss_only());
        assert_eq!(
            plan.actions,
            vec![RiskAction::Exit {
                key: key(1),
                reason: ExitReason::DailyLossLimit
            }]
        );
        assert_eq!(plan.stale_quotes, 1);
    }

    #[test]
    fn an_operator_halt_is_kept_but_a_breach_still_flattens() {
        let now = ist(0, 10, 1, 0);
        let s = apply(
            &holding(1, 100, 10_000),
            &Op::Halt {
                reason: HaltReason::Operator,
                ts: now,
            },
            &limits(),
        )
        .unwrap();
        assert_eq!(
            risk_actions(&s, &at(8_520, now), now, &loss_only()).actions,
            vec![RiskAction::Exit {
                key: key(1),
                reason: ExitReason::DailyLossLimit
            }]
        );
        // Without a breach an operator halt changes no exit.
        assert_eq!(
            risk_actions(&s, &at(9_000, now), now, &loss_only()).actions,
            vec![]
        );
    }

    #[test]
    fn day_roll_comes_first_and_resets_the_baseline() {
        let p = RiskParams::default();
        // A fresh wallet has no trading day: the first tick rolls.
        let fresh = State::new();
        let now = ist(0, 9, 0, 0);
        let plan = risk_actions(&fresh, &HashMap::new(), now, &p);
        assert_eq!(
            plan.actions,
            vec![RiskAction::DayRoll {
                day: trading_day(now)
            }]
        );
        assert_eq!(
            plan.actions[0].to_op(now),
            Some(Op::DayRoll {
                day: trading_day(now)
            })
        );
        // Yesterday's realized loss of 1,600 and a daily-loss halt: after the
        // roll neither counts, so only the roll is planned.
        let mut s = holding(1, 100, 10_000);
        s = apply(
            &s,
            &Op::Sell {
                key: key(1),
                qty: Qty::new(100),
                price: px(8_420),
                charges: Amount::from_rupees(20),
                ts: ist(0, 10, 5, 0),
                order_id: None,
                reason: Some(ExitReason::StopLoss),
            },
            &limits(),
        )
        .unwrap();
        s = apply(
            &s,
            &Op::Halt {
                reason: HaltReason::DailyLossLimit,
                ts: ist(0, 10, 5, 0),
            },
            &limits(),
        )
        .unwrap();
        // 100 x (84.20 - 100) = -1,580, fees 40: -1,620 for the day.
        assert_eq!(s.day_realized_net_pnl(), Some(Amount::from_rupees(-1_620)));
        let same_day = risk_actions(&s, &HashMap::new(), ist(0, 11, 0, 0), &p);
        assert_eq!(same_day.actions, vec![]);
        assert_eq!(same_day.day_pnl, Some(Amount::from_rupees(-1_620)));
        let monday = ist(3, 9, 0, 0);
        let plan = risk_actions(&s, &HashMap::new(), monday, &p);
        assert_eq!(
            plan.actions,
            vec![RiskAction::DayRoll {
                day: trading_day(monday)
            }]
        );
        assert_eq!(plan.day_pnl, Some(Amount::ZERO));
    }

    #[test]
    fn stale_quotes_trigger_no_price_rule_but_time_rules_still_exit() {
        let p = RiskParams::default();
        let s = holding(1, 75, 10_000);
        let now = ist(0, 10, 2, 0);
        // 10.05 s old (limit 10 s) and far below the stop loss (50 on 100).
        let old = Timestamp::from_epoch_ms(now.epoch_ms() - 10_050);
        let plan = risk_actions(&s, &at(5_000, old), now, &loss_only_no(&p));
        assert_eq!(plan.actions, vec![]);
        assert_eq!(plan.stale_quotes, 1);
        // Exactly 10 s old is still fresh: the stop loss fires.
        let edge = Timestamp::from_epoch_ms(now.epoch_ms() - 10_000);
        assert_eq!(
            risk_actions(&s, &at(5_000, edge), now, &loss_only_no(&p)).actions,
            vec![RiskAction::Exit {
                key: key(1),
                reason: ExitReason::StopLoss
            }]
        );
        // No quote at all, five minutes after the fill: the time stop exits.
        let later = ist(0, 10, 5, 0);
        assert_eq!(
            risk_actions(&s, &HashMap::new(), later, &p).actions,
            vec![RiskAction::Exit {
                key: key(1),
                reason: ExitReason::TimeStop
            }]
        );
        // And the square-off, with a stale quote.
        let eod = ist(0, 15, 15, 0);
        let no_time_stop = RiskParams {
            enable_time_stop: false,
            enable_daily_loss_limit: false,
            ..p
        };
        assert_eq!(
            risk_actions(&s, &at(5_000, old), eod, &no_time_stop).actions,
            vec![RiskAction::Exit {
                key: key(1),
                reason: ExitReason::EndOfDay
            }]
        );
    }

    /// The defaults with the daily loss limit off (so a deep stop loss is not a
    /// daily-loss flatten).
    fn loss_only_no(p: &RiskParams) -> RiskParams {
        RiskParams {
            enable_daily_loss_limit: false,
            ..*p
        }
    }

    #[test]
    fn fresh_highs_are_marked_and_exits_are_not_repeated_while_pending() {
        let p = RiskParams::default();
        let s = holding(1, 75, 10_000);
        let now = ist(0, 10, 1, 0);
        assert_eq!(
            risk_actions(&s, &at(11_000, now), now, &p).actions,
            vec![RiskAction::MarkHigh {
                key: key(1),
                price: px(11_000)
            }]
        );
        // No mark at the stored high, nor from a stale quote.
        assert_eq!(risk_actions(&s, &at(10_000, now), now, &p).actions, vec![]);
        let old = ist(0, 9, 0, 0);
        assert_eq!(risk_actions(&s, &at(11_000, old), now, &p).actions, vec![]);
        // A pending sell intent: the exit is under way, nothing more is planned.
        let intent = OrderIntent {
            order_id: s.next_order_id(),
            side: Side::Sell,
            instrument: s.positions.get(&key(1)).unwrap().instrument.clone(),
            qty: Qty::new(75),
            price: px(5_000),
            charges: Amount::from_rupees(20),
            ts: now,
            reason: Some(ExitReason::StopLoss),
        };
        let pending = apply(&s, &Op::Submit { intent }, &limits()).unwrap();
        assert_eq!(
            risk_actions(&pending, &at(5_000, now), now, &loss_only_no(&p)).actions,
            vec![]
        );
    }

    #[test]
    fn the_plan_is_bounded_and_in_order() {
        // Five positions, a new day and a breach: roll, halt, five exits.
        let mut s = holding(1, 100, 10_000);
        for id in 2..=5 {
            s = buy(&s, id, 100, 10_000);
        }
        let monday = ist(3, 10, 0, 0);
        let quotes = |_: &InstrumentKey| Some(Quote::ltp_only(px(9_500), monday));
        // After the roll: 5 x 100 x -5 = -2,500 unrealized: hit.
        let plan = risk_actions(&s, &quotes, monday, &loss_only());
        assert_eq!(plan.actions.len(), 7);
        assert!(plan.actions.len() <= RISK_ACTIONS_MAX);
        assert_eq!(
            plan.actions[0],
            RiskAction::DayRoll {
                day: trading_day(monday)
            }
        );
        assert_eq!(
            plan.actions[1],
            RiskAction::Halt {
                reason: HaltReason::DailyLossLimit
            }
        );
        let exits: Vec<_> = plan.actions[2..]
            .iter()
            .map(|a| match a {
                RiskAction::Exit { key, reason } => (key.security_id, *reason),
                other => panic!("not an exit: {other:?}"),
            })
            .collect();
        assert_eq!(
            exits,
            (1..=5)
                .map(|id| (id, ExitReason::DailyLossLimit))
                .collect::<Vec<_>>()
        );
        assert_eq!(plan.day_pnl, Some(Amount::from_rupees(-2_500)));
    }
}
