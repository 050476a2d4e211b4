//! Entry guards: whether a new position may be opened now.

use std::fmt;

use super::RiskParams;
use super::session::{SessionPhase, session_phase};
use crate::scheduler::IstTime;
use crate::wallet::{HaltReason, POSITIONS_MAX, Side, State, Timestamp};

/// Why an entry is blocked. Exits are never blocked by any of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryBlock {
    /// The halt latch is set (daily loss limit or operator).
    Halted { reason: HaltReason },
    /// A weekend, before `session_start` or after `session_end` (IST).
    OutsideSession { phase: SessionPhase },
    /// At or after the end-of-day square-off time.
    AfterSquareOff { at: IstTime },
    /// A losing exit started a cooldown that runs until `until`.
    Cooldown { until: Timestamp },
    /// As many positions open (or being opened) as allowed.
    MaxPositions { limit: usize },
    /// The market data the entry would be based on is stale.
    StaleData,
}

impl fmt::Display for EntryBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryBlock::Halted { reason } => write!(f, "entries halted: {reason}"),
            EntryBlock::OutsideSession { phase } => {
                let when = match phase {
                    SessionPhase::Weekend => "it is a weekend",
                    SessionPhase::BeforeOpen => "the session has not started",
                    SessionPhase::AfterClose | SessionPhase::AfterSquareOff => {
                        "the session has ended"
                    }
                    SessionPhase::Open => "the session is open",
                };
                write!(f, "no entries: {when} (IST session hours)")
            }
            EntryBlock::AfterSquareOff { at } => {
                write!(f, "no entries after the square-off at {at}")
            }
            EntryBlock::Cooldown { until } => {
                write!(
                    f,
                    "no entries during the cooldown after a loss, until {until}"
                )
            }
            EntryBlock::MaxPositions { limit } => {
                write!(
                    f,
                    "no entries: {limit} positions open, the max_positions limit"
                )
            }
            EntryBlock::StaleData => f.write_str("no entries: market data is stale"),
        }
    }
}

/// Whether a new position may be opened at `now`. Checks, in order: the halt
/// latch, the session (when `enforce_market_hours`), the cooldown, the position
/// limit (open positions plus pending buys of contracts not held) and
/// `data_fresh`, the caller's verdict on the quotes the entry relies on (see
/// `quote_is_fresh`). Exits call nothing here: they are never blocked.
pub fn entry_allowed(
    state: &State,
    now: Timestamp,
    params: &RiskParams,
    data_fresh: bool,
) -> Result<(), EntryBlock> {
    if let Some(halt) = state.risk.halted {
        return Err(EntryBlock::Halted {
            reason: halt.reason,
        });
    }
    match session_phase(now, params) {
        SessionPhase::Open => {}
        SessionPhase::AfterSquareOff => {
            return Err(EntryBlock::AfterSquareOff {
                at: params.square_off_time,
            });
        }
        phase => return Err(EntryBlock::OutsideSession { phase }),
    }
    if let Some(until) = state.risk.cooldown_until
        && now < until
    {
        return Err(EntryBlock::Cooldown { until });
    }
    if opening_count(state) >= params.max_positions {
        return Err(EntryBlock::MaxPositions {
            limit: params.max_positions,
        });
    }
    if !data_fresh {
        return Err(EntryBlock::StaleData);
    }
    Ok(())
}

/// Open positions plus pending buys of contracts not held (each may open one).
fn opening_count(state: &State) -> usize {
    let mut keys: Vec<_> = state
        .pending
        .iter()
        .filter(|i| i.side == Side::Buy && state.positions.get(&i.instrument.key).is_none())
        .map(|i| i.instrument.key)
        .take(POSITIONS_MAX + crate::wallet::PENDING_ORDERS_MAX)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    state.positions.len().saturating_add(keys.len())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::money::{Amount, Qty};
    use crate::risk::rules::tests::{position, px};
    use crate::risk::session::tests::ist;
    use crate::risk::{add_duration, exit_reason, risk_actions};
    use crate::wallet::{
        ClientOrderId, ExitReason, Instrument, Limits, Op, OrderIntent, PendingOrders, Positions,
        apply,
    };

    fn funded() -> State {
        apply(
            &State::new(),
            &Op::Deposit {
                amount: Amount::from_rupees(100_000),
            },
            &Limits::default(),
        )
        .unwrap()
    }

    #[test]
    fn open_session_with_fresh_data_allows_entries() {
        let p = RiskParams::default();
        assert_eq!(entry_allowed(&funded(), ist(0, 9, 20, 0), &p, true), Ok(()));
        assert_eq!(
            entry_allowed(&funded(), ist(0, 9, 20, 0), &p, false),
            Err(EntryBlock::StaleData)
        );
    }

    #[test]
    fn session_blocks_in_ist() {
        let p = RiskParams::default();
        let s = funded();
        assert_eq!(
            entry_allowed(&s, ist(0, 9, 19, 59), &p, true),
            Err(EntryBlock::OutsideSession {
                phase: SessionPhase::BeforeOpen
            })
        );
        assert_eq!(entry_allowed(&s, ist(0, 15, 14, 59), &p, true), Ok(()));
        assert_eq!(
            entry_allowed(&s, ist(0, 15, 15, 0), &p, true),
            Err(EntryBlock::AfterSquareOff {
                at: p.square_off_time
            })
        );
        assert_eq!(
            entry_allowed(&s, ist(0, 15, 25, 0), &p, true),
            Err(EntryBlock::OutsideSession {
                phase: SessionPhase::AfterClose
            })
        );
        // Saturday 11:00.
        let err = entry_allowed(&s, ist(1, 11, 0, 0), &p, true).unwrap_err();
        assert_eq!(
            err,
            EntryBlock::OutsideSession {
                phase: SessionPhase::Weekend
            }
        );
        assert_eq!(
            err.to_string(),
            "no entries: it is a weekend (IST session hours)"
        );
        let free = RiskParams {
            enforce_market_hours: false,
            ..p
        };
        assert_eq!(entry_allowed(&s, ist(1, 3, 0, 0), &free, true), Ok(()));
    }

    #[test]
    fn halt_blocks_entries_first() {
        let s = apply(
            &funded(),
            &Op::Halt {
                reason: HaltReason::DailyLossLimit,
                ts: ist(0, 11, 0, 0),
            },
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            entry_allowed(&s, ist(1, 3, 0, 0), &RiskParams::default(), false),
            Err(EntryBlock::Halted {
                reason: HaltReason::DailyLossLimit
            })
        );
    }

    #[test]
    fn cooldown_blocks_entries_but_never_exits() {
        let p = RiskParams::default();
        let now = ist(0, 11, 0, 0);
        let until = add_duration(now, Duration::from_secs(180));
        let mut s = funded();
        let entered = ist(0, 10, 0, 0);
        s.positions = Positions::from_vec(vec![position(1, 75, 10_000, 10_000, entered)]).unwrap();
        s.risk.cooldown_until = Some(until);
        assert_eq!(
            entry_allowed(&s, now, &p, true),
            Err(EntryBlock::Cooldown { until })
        );
        assert_eq!(entry_allowed(&s, until, &p, true), Ok(()));
        // During the cooldown a stop loss (81.95 on 100) still exits, by the rule
        // and in the plan.
        let held = s.positions.iter().next().unwrap().clone();
        assert_eq!(
            exit_reason(&held, Some(px(8_195)), now, &p),
            Some(ExitReason::StopLoss)
        );
        let quotes =
            |_: &crate::wallet::InstrumentKey| Some(crate::broker::Quote::ltp_only(px(8_195), now));
        let plan = risk_actions(&s, &quotes, now, &p);
        assert!(
            plan.actions.contains(&crate::risk::RiskAction::Exit {
                key: held.instrument.key,
                reason: ExitReason::StopLoss
            }),
            "{plan:?}"
        );
    }

    #[test]
    fn max_positions_counts_pending_buys_of_new_contracts() {
        let p = RiskParams {
            max_positions: 2,
            ..RiskParams::default()
        };
        let now = ist(0, 11, 0, 0);
        let mut s = funded();
        s.positions = Positions::from_vec(vec![position(1, 75, 10_000, 10_000, now)]).unwrap();
        assert_eq!(entry_allowed(&s, now, &p, true), Ok(()));
        // A pending buy of another contract takes the second slot.
        let other = position(2, 75, 10_000, 10_000, now).instrument;
        let intent = |id: u64, instrument: Instrument| OrderIntent {
            order_id: ClientOrderId(id),
            side: Side::Buy,
            instrument,
            qty: Qty::new(75),
            price: px(10_000),
            charges: Amount::from_rupees(20),
            ts: now,
            reason: None,
        };
        let mut with_pending = s.clone();
        with_pending.pending = PendingOrders::from_vec(vec![intent(1, other)]).unwrap();
        assert_eq!(
            entry_allowed(&with_pending, now, &p, true),
            Err(EntryBlock::MaxPositions { limit: 2 })
        );
        // A pending buy adding to the held contract takes no new slot.
        let mut adding = s.clone();
        adding.pending = PendingOrders::from_vec(vec![intent(
            1,
            position(1, 75, 10_000, 10_000, now).instrument,
        )])
        .unwrap();
        assert_eq!(entry_allowed(&adding, now, &p, true), Ok(()));
    }
}
