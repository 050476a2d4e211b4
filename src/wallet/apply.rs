//! The pure transition and the invariant check.

use super::{
    Balance, Broken, ClientOrderId, Halt, HaltReason, Limits, Op, OrderIntent, PENDING_ORDERS_MAX,
    Position, Reject, Side, State,
};
use crate::money::{Amount, Price, Qty};

/// Applies `op` to `state`: checks the preconditions, builds the next state with
/// `version + 1`, and checks every invariant on it. Pure and deterministic: it
/// may run any number of times (a CAS retry, a replay) with the same result. On
/// `Err`, nothing changed.
pub fn apply(state: &State, op: &Op, limits: &Limits) -> Result<State, Reject> {
    let mut next = state.clone();
    apply_into(state, op, limits, &mut next)?;
    Ok(next)
}

impl State {
    /// [`apply`] writing into `next`, which must hold a clone of `self` on
    /// entry: the next state is built in place (the engine clones the head
    /// straight into the allocation it publishes, saving copies of a state of
    /// several hundred bytes). On `Ok`, `next` is exactly what [`apply`]
    /// returns; on `Err`, `next` holds a partial update and must be dropped.
    pub fn apply_into(&self, op: &Op, limits: &Limits, next: &mut State) -> Result<(), Reject> {
        apply_into(self, op, limits, next)
    }
}

/// The body of [`apply`]; see [`State::apply_into`].
fn apply_into(state: &State, op: &Op, limits: &Limits, next: &mut State) -> Result<(), Reject> {
    match op {
        Op::Deposit { amount } => {
            positive(*amount)?;
            let b = &mut next.balance;
            b.available = add(b.available, *amount)?;
            b.total = add(b.total, *amount)?;
            b.net_deposits = add(b.net_deposits, *amount)?;
        }
        Op::Withdraw { amount } => {
            positive(*amount)?;
            let b = &mut next.balance;
            b.available = take(b.available, *amount)?;
            b.total = sub(b.total, *amount)?;
            b.net_deposits = sub(b.net_deposits, *amount)?;
        }
        Op::Reserve { amount } => {
            positive(*amount)?;
            not_halted(state)?;
            let b = &mut next.balance;
            b.available = take(b.available, *amount)?;
            b.used = add(b.used, *amount)?;
            next.reserved = add(next.reserved, *amount)?;
        }
        Op::Release { amount, pnl } => {
            positive(*amount)?;
            // Cash reserved by pending buy intents is theirs until fill or cancel.
            let releasable = sub(state.reserved, pending_cash(state)?)?;
            if *amount > releasable {
                return Err(Reject::OverRelease {
                    reserved: releasable,
                    asked: *amount,
                });
            }
            let pnl = pnl.unwrap_or(Amount::ZERO);
            let b = &mut next.balance;
            let freed = add(b.available, *amount)?;
            b.available = add(freed, pnl)?;
            if b.available.is_negative() {
                return Err(Reject::InsufficientFunds {
                    needed: -pnl,
                    available: freed,
                });
            }
            b.used = sub(b.used, *amount)?;
            b.total = add(b.total, pnl)?;
            b.realized_pnl = add(b.realized_pnl, pnl)?;
            next.reserved = sub(next.reserved, *amount)?;
        }
        Op::Buy {
            instrument,
            qty,
            price,
            charges,
            ts,
            order_id,
        } => {
            fill_shape(*qty, *charges)?;
            let intent = match order_id {
                Some(id) => {
                    fresh_order(state, *id)?;
                    matching_intent(state, op, *id)?
                }
                None => None,
            };
            match intent {
                // The intent passed the entry checks when it was submitted, and
                // an order sent cannot be taken back: its fill is applied even
                // if a halt or cooldown began in between.
                Some(intent) => {
                    let reserved = intent.cash_reserved().ok_or(Reject::Overflow)?;
                    let b = &mut next.balance;
                    b.available = add(b.available, reserved)?;
                    b.used = sub(b.used, reserved)?;
                    next.reserved = sub(next.reserved, reserved)?;
                    next.pending.remove(intent.order_id);
                }
                None => entry_allowed(state, *ts)?,
            }
            let cost = notional(*qty, *price)?;
            let position = match state.positions.get(&instrument.key) {
                Some(held) => {
                    if held.instrument.symbol != instrument.symbol {
                        return Err(Reject::InstrumentMismatch {
                            key: instrument.key,
                            held: held.instrument.symbol.clone(),
                            asked: instrument.symbol.clone(),
                        });
                    }
                    Position {
                        qty: held.qty.checked_add(*qty).ok_or(Reject::Overflow)?,
                        cost_basis: add(held.cost_basis, cost)?,
                        high_water: held.high_water.max(*price),
                        ..held.clone()
                    }
                }
                None => {
                    if state.positions.len() >= limits.max_positions {
                        return Err(Reject::MaxPositions {
                            limit: limits.max_positions,
                        });
                    }
                    Position {
                        instrument: instrument.clone(),
                        side: Side::Buy,
                        qty: *qty,
                        cost_basis: cost,
                        entry_ts: *ts,
                        high_water: *price,
                    }
                }
            };
            let b = &mut next.balance;
            b.available = take(b.available, add(cost, *charges)?)?;
            b.used = add(b.used, cost)?;
            b.total = sub(b.total, *charges)?;
            b.fees = add(b.fees, *charges)?;
            next.positions.upsert(position);
            next.counters.orders += 1;
            if let Some(id) = order_id {
                remember_order(next, *id);
            }
        }
        Op::Sell {
            key,
            qty,
            price,
            charges,
            ts: _,
            order_id,
            reason: _,
        } => {
            fill_shape(*qty, *charges)?;
            if let Some(id) = order_id {
                fresh_order(state, *id)?;
                if matching_intent(state, op, *id)?.is_some() {
                    next.pending.remove(*id);
                }
            }
            let held = state
                .positions
                .get(key)
                .ok_or(Reject::UnknownPosition { key: *key })?;
            // Units set aside by other pending sells are not for sale.
            let free = held
                .qty
                .checked_sub(pending_sell_qty(next, key)?)
                .ok_or(Reject::Overflow)?;
            if *qty > free {
                return Err(Reject::Oversell {
                    key: *key,
                    held: free,
                    asked: *qty,
                });
            }
            let proceeds = notional(*qty, *price)?;
            let released = cost_share(held, *qty)?;
            let pnl = sub(proceeds, released)?;
            let b = &mut next.balance;
            let credited = add(b.available, proceeds)?;
            if *charges > credited {
                return Err(Reject::InsufficientFunds {
                    needed: *charges,
                    available: credited,
                });
            }
            b.available = sub(credited, *charges)?;
            b.used = sub(b.used, released)?;
            b.total = sub(add(b.total, pnl)?, *charges)?;
            b.realized_pnl = add(b.realized_pnl, pnl)?;
            b.fees = add(b.fees, *charges)?;
            if *qty == held.qty {
                next.positions.remove(key);
            } else {
                next.positions.upsert(Position {
                    qty: held.qty.checked_sub(*qty).ok_or(Reject::Overflow)?,
                    cost_basis: sub(held.cost_basis, released)?,
                    ..held.clone()
                });
            }
            let c = &mut next.counters;
            c.orders += 1;
            c.trades += 1;
            if pnl.is_positive() {
                c.wins += 1;
            } else if pnl.is_negative() {
                c.losses += 1;
            }
            if let Some(id) = order_id {
                remember_order(next, *id);
            }
        }
        Op::MarkHigh { key, price } => {
            let held = state
                .positions
                .get(key)
                .ok_or(Reject::UnknownPosition { key: *key })?;
            if *price > held.high_water {
                next.positions.upsert(Position {
                    high_water: *price,
                    ..held.clone()
                });
            }
        }
        Op::Reset { amount } => {
            positive(*amount)?;
            if !state.positions.is_empty() || !state.reserved.is_zero() || !state.pending.is_empty()
            {
                return Err(Reject::NotFlat {
                    positions: state.positions.len(),
                    reserved: state.reserved,
                });
            }
            next.balance = Balance {
                available: *amount,
                used: Amount::ZERO,
                total: *amount,
                realized_pnl: Amount::ZERO,
                fees: Amount::ZERO,
                net_deposits: *amount,
            };
            next.risk.day_start_net_pnl = Amount::ZERO;
        }
        Op::Halt { reason, ts } => {
            if let Some(halt) = state.risk.halted {
                return Err(Reject::AlreadyHalted {
                    reason: halt.reason,
                });
            }
            next.risk.halted = Some(Halt {
                reason: *reason,
                since: *ts,
            });
        }
        Op::Resume => {
            if state.risk.halted.is_none() {
                return Err(Reject::NotHalted);
            }
            next.risk.halted = None;
        }
        Op::Cooldown { until } => {
            next.risk.cooldown_until =
                Some(state.risk.cooldown_until.map_or(*until, |u| u.max(*until)));
        }
        Op::DayRoll { day } => {
            if let Some(current) = state.risk.trading_day
                && *day <= current
            {
                return Err(Reject::DayNotAfter {
                    current,
                    asked: *day,
                });
            }
            next.risk.trading_day = Some(*day);
            next.risk.day_start_net_pnl = sub(state.balance.realized_pnl, state.balance.fees)?;
            if matches!(
                state.risk.halted,
                Some(Halt {
                    reason: HaltReason::DailyLossLimit,
                    ..
                })
            ) {
                next.risk.halted = None;
            }
        }
        Op::Submit { intent } => {
            fill_shape(intent.qty, intent.charges)?;
            let id = intent.order_id;
            if id.0 <= state.counters.last_order_id {
                return Err(Reject::OrderIdNotAfter {
                    last: ClientOrderId(state.counters.last_order_id),
                    asked: id,
                });
            }
            if state.pending.len() >= PENDING_ORDERS_MAX {
                return Err(Reject::TooManyPending {
                    limit: PENDING_ORDERS_MAX,
                });
            }
            let key = intent.instrument.key;
            match intent.side {
                Side::Buy => {
                    entry_allowed(state, intent.ts)?;
                    match state.positions.get(&key) {
                        Some(held) if held.instrument.symbol != intent.instrument.symbol => {
                            return Err(Reject::InstrumentMismatch {
                                key,
                                held: held.instrument.symbol.clone(),
                                asked: intent.instrument.symbol.clone(),
                            });
                        }
                        Some(_) => {}
                        None => {
                            // Each pending buy of a key not held may open a position.
                            let mut opening: Vec<_> = state
                                .pending
                                .iter()
                                .filter(|i| i.side == Side::Buy)
                                .map(|i| i.instrument.key)
                                .filter(|k| state.positions.get(k).is_none())
                                .collect();
                            opening.push(key);
                            opening.sort_unstable();
                            opening.dedup();
                            if state.positions.len() + opening.len() > limits.max_positions {
                                return Err(Reject::MaxPositions {
                                    limit: limits.max_positions,
                                });
                            }
                        }
                    }
                    let need = intent.cash_reserved().ok_or(Reject::Overflow)?;
                    let b = &mut next.balance;
                    b.available = take(b.available, need)?;
                    b.used = add(b.used, need)?;
                    next.reserved = add(next.reserved, need)?;
                }
                Side::Sell => {
                    let held = state
                        .positions
                        .get(&key)
                        .ok_or(Reject::UnknownPosition { key })?;
                    let free = held
                        .qty
                        .checked_sub(pending_sell_qty(state, &key)?)
                        .ok_or(Reject::Overflow)?;
                    if intent.qty > free {
                        return Err(Reject::Oversell {
                            key,
                            held: free,
                            asked: intent.qty,
                        });
                    }
                }
            }
            next.counters.last_order_id = id.0;
            next.pending.push(intent.clone());
        }
        Op::Cancel { order_id } => {
            let intent = state.pending.get(*order_id).ok_or(Reject::UnknownOrder {
                order_id: *order_id,
            })?;
            let reserved = intent.cash_reserved().ok_or(Reject::Overflow)?;
            let b = &mut next.balance;
            b.available = add(b.available, reserved)?;
            b.used = sub(b.used, reserved)?;
            next.reserved = sub(next.reserved, reserved)?;
            next.pending.remove(*order_id);
        }
    }
    next.version = state.version.checked_add(1).ok_or(Reject::Overflow)?;
    check_invariants(next, limits).map_err(Reject::InvariantBroken)
}

pub(super) fn check_invariants(state: &State, limits: &Limits) -> Result<(), Broken> {
    let b = &state.balance;
    if b.available.checked_add(b.used) != Some(b.total) {
        return Err(Broken::TotalNotSplit {
            total: b.total,
            available: b.available,
            used: b.used,
        });
    }
    let conserved = b
        .net_deposits
        .checked_add(b.realized_pnl)
        .and_then(|x| x.checked_sub(b.fees));
    if conserved != Some(b.total) {
        return Err(Broken::Conservation {
            total: b.total,
            net_deposits: b.net_deposits,
            realized_pnl: b.realized_pnl,
            fees: b.fees,
        });
    }
    if b.available.is_negative()
        || b.used.is_negative()
        || b.fees.is_negative()
        || state.reserved.is_negative()
    {
        // The first negative one, in this order.
        for (field, value) in [
            ("available", b.available),
            ("used", b.used),
            ("fees", b.fees),
            ("reserved", state.reserved),
        ] {
            if value.is_negative() {
                return Err(Broken::Negative { field, value });
            }
        }
    }
    if state.positions.len() > limits.max_positions {
        return Err(Broken::TooManyPositions {
            open: state.positions.len(),
            limit: limits.max_positions,
        });
    }
    let mut positions_cost = Amount::ZERO;
    let mut previous = None;
    for p in &state.positions {
        let key = p.instrument.key;
        if previous.is_some_and(|prev| prev >= key) {
            return Err(Broken::PositionsUnordered { key });
        }
        previous = Some(key);
        if p.qty.is_zero() || !p.cost_basis.is_positive() {
            return Err(Broken::EmptyPosition { key });
        }
        positions_cost = positions_cost
            .checked_add(p.cost_basis)
            .ok_or(Broken::Overflow)?;
    }
    if state.reserved.checked_add(positions_cost) != Some(b.used) {
        return Err(Broken::UsedNotCost {
            used: b.used,
            reserved: state.reserved,
            positions_cost,
        });
    }
    if state.pending.len() > PENDING_ORDERS_MAX {
        return Err(Broken::TooManyPending {
            pending: state.pending.len(),
        });
    }
    let mut pending_cash = Amount::ZERO;
    for intent in &state.pending {
        if intent.order_id.0 > state.counters.last_order_id {
            return Err(Broken::PendingIdAhead {
                order_id: intent.order_id,
            });
        }
        pending_cash = intent
            .cash_reserved()
            .and_then(|c| pending_cash.checked_add(c))
            .ok_or(Broken::Overflow)?;
        if intent.side == Side::Sell {
            let key = intent.instrument.key;
            let held = state.positions.get(&key).map_or(Qty::ZERO, |p| p.qty);
            let asked = pending_sell_qty(state, &key).map_err(|_| Broken::Overflow)?;
            if asked > held {
                return Err(Broken::PendingOversell { key, held, asked });
            }
        }
    }
    if pending_cash > state.reserved {
        return Err(Broken::PendingNotReserved {
            reserved: state.reserved,
            pending_cash,
        });
    }
    Ok(())
}

fn add(a: Amount, b: Amount) -> Result<Amount, Reject> {
    a.checked_add(b).ok_or(Reject::Overflow)
}

fn sub(a: Amount, b: Amount) -> Result<Amount, Reject> {
    a.checked_sub(b).ok_or(Reject::Overflow)
}

/// `available - needed`, refusing to go below zero.
fn take(available: Amount, needed: Amount) -> Result<Amount, Reject> {
    if needed > available {
        return Err(Reject::InsufficientFunds { needed, available });
    }
    sub(available, needed)
}

fn positive(amount: Amount) -> Result<(), Reject> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(Reject::NonPositiveAmount { amount })
    }
}

fn notional(qty: Qty, price: Price) -> Result<Amount, Reject> {
    Amount::notional(qty, price).ok_or(Reject::Overflow)
}

fn fill_shape(qty: Qty, charges: Amount) -> Result<(), Reject> {
    if qty.is_zero() {
        return Err(Reject::ZeroQuantity);
    }
    if charges.is_negative() {
        return Err(Reject::NegativeCharges { charges });
    }
    Ok(())
}

fn not_halted(state: &State) -> Result<(), Reject> {
    match state.risk.halted {
        Some(halt) => Err(Reject::Halted {
            reason: halt.reason,
        }),
        None => Ok(()),
    }
}

/// Buys (without an intent) and buy intents need an open market for entries:
/// no halt, no running cooldown.
fn entry_allowed(state: &State, ts: super::Timestamp) -> Result<(), Reject> {
    not_halted(state)?;
    if let Some(until) = state.risk.cooldown_until
        && ts < until
    {
        return Err(Reject::CoolingDown { until });
    }
    Ok(())
}

/// The pending intent a fill completes, if any. A fill with the id of a pending
/// intent must be exactly that intent's fill.
fn matching_intent<'s>(
    state: &'s State,
    fill: &Op,
    id: ClientOrderId,
) -> Result<Option<&'s OrderIntent>, Reject> {
    match state.pending.get(id) {
        None => Ok(None),
        Some(intent) if intent.fill_op() == *fill => Ok(Some(intent)),
        Some(_) => Err(Reject::IntentMismatch { order_id: id }),
    }
}

/// Units of `key` set aside by pending sell intents.
fn pending_sell_qty(state: &State, key: &super::InstrumentKey) -> Result<Qty, Reject> {
    state
        .pending
        .iter()
        .filter(|i| i.side == Side::Sell && i.instrument.key == *key)
        .try_fold(Qty::ZERO, |sum, i| sum.checked_add(i.qty))
        .ok_or(Reject::Overflow)
}

/// The cash the pending buy intents hold in `reserved`.
fn pending_cash(state: &State) -> Result<Amount, Reject> {
    state
        .pending
        .iter()
        .try_fold(Amount::ZERO, |sum, i| sum.checked_add(i.cash_reserved()?))
        .ok_or(Reject::Overflow)
}

fn remember_order(next: &mut State, id: ClientOrderId) {
    next.recent_order_ids.push(id);
    next.counters.last_order_id = next.counters.last_order_id.max(id.0);
}

fn fresh_order(state: &State, id: ClientOrderId) -> Result<(), Reject> {
    if state.recent_order_ids.contains(id) {
        return Err(Reject::DuplicateOrder { order_id: id });
    }
    Ok(())
}

/// The cost basis of `qty` of the `held` units: all of it when the position closes,
/// else the proportional share rounded to the paisa (half away from zero). The
/// remainder stays positive: each unit cost at least one tick (5 paise).
fn cost_share(held: &Position, qty: Qty) -> Result<Amount, Reject> {
    if qty == held.qty {
        return Ok(held.cost_basis);
    }
    held.cost_basis
        .checked_share(qty, held.qty)
        .ok_or(Reject::Overflow)
}
