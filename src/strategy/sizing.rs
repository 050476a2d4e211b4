//! Which contract and how many lots: the ATM strike and the original's sizing
//! rule, in exact decimal arithmetic (no floats).
//!
//! - ATM: `round(spot / strike_step) x strike_step`, ties half away from zero
//!   (NIFTY step 50: 22,524.95 -> 22,500; 22,525 -> 22,550).
//! - Lots: `floor(available x allocation_pct / (premium x (1 + slippage_pct) x
//!   lot_size))`, capped at `max_lots_per_trade`. The floor is exact: the
//!   quotient is corrected by one lot either way if `Decimal` division rounded
//!   across an integer.
//!
//! [`size_entry`] also applies `min_premium_price` and says why it sizes
//! nothing ([`SizeRefusal`]); [`size_lots`] is the bare formula, 0 when it
//! cannot size a lot.

use std::fmt;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::money::{Amount, Price};

/// The at-the-money strike for `spot`: the multiple of `strike_step` (the
/// symbol's points between strikes, e.g. 50) nearest to it, a tie going up.
/// `None` when the nearest multiple is 0 (a spot below half a step).
pub fn atm_strike(spot: Price, strike_step: Price) -> Option<Price> {
    let step = strike_step.to_decimal();
    let steps = spot
        .to_decimal()
        .checked_div(step)?
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    // A whole multiple of a tick price is on the tick; 0 is refused.
    Price::from_decimal(steps.checked_mul(step)?).ok()
}

/// The sizing settings, as in the original's `global` config section.
/// `Default` is the original's: 30 % of available cash, 1 % slippage buffer,
/// Rs 1 minimum premium, at most 10 lots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizingParams {
    /// The fraction of available cash one entry may use, in `(0, 1]` (0.30 is
    /// 30 %).
    pub allocation_pct: Decimal,
    /// The price buffer assumed on a buy, as a fraction `>= 0` (0.01 is 1 %).
    pub slippage_pct: Decimal,
    /// Premiums below this (rupees) are not traded; 0 turns the check off.
    pub min_premium_price: Decimal,
    /// The most lots one entry may buy (at least 1).
    pub max_lots_per_trade: u64,
}

impl Default for SizingParams {
    fn default() -> Self {
        SizingParams {
            allocation_pct: Decimal::new(30, 2),
            slippage_pct: Decimal::new(1, 2),
            min_premium_price: Decimal::ONE,
            max_lots_per_trade: 10,
        }
    }
}

/// Why [`size_entry`] sized no lot. `Display` is one line saying why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeRefusal {
    /// The option is cheaper than `min_premium_price`.
    PremiumBelowMinimum {
        /// The option's premium.
        premium: Price,
        /// The configured floor.
        min_premium_price: Decimal,
    },
    /// `budget` (available x allocation) is below the cost of one lot with
    /// slippage.
    CannotAffordOneLot {
        /// `available x allocation_pct`, in rupees.
        budget: Decimal,
        /// `premium x (1 + slippage_pct) x lot_size`, in rupees.
        lot_cost: Decimal,
    },
    /// A sizing input is out of range; also an overflow.
    InvalidInput {
        /// Which input and how to fix it.
        what: &'static str,
    },
}

impl fmt::Display for SizeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeRefusal::PremiumBelowMinimum {
                premium,
                min_premium_price,
            } => write!(
                f,
                "premium {premium} is below min_premium_price {min_premium_price}; not traded"
            ),
            SizeRefusal::CannotAffordOneLot { budget, lot_cost } => write!(
                f,
                "budget {budget} (available x allocation_pct) is below one lot's cost {lot_cost} \
                 (premium x (1 + slippage_buffer_pct) x lot_size)"
            ),
            SizeRefusal::InvalidInput { what } => write!(f, "cannot size the entry: {what}"),
        }
    }
}

impl std::error::Error for SizeRefusal {}

/// The number of lots to buy of an option at `premium` with `lot_size` units a
/// lot, from `available` cash: at least 1, at most `max_lots_per_trade`, or why
/// none.
pub fn size_entry(
    available: Amount,
    premium: Price,
    lot_size: u64,
    params: &SizingParams,
) -> Result<u64, SizeRefusal> {
    if premium.to_decimal() < params.min_premium_price {
        return Err(SizeRefusal::PremiumBelowMinimum {
            premium,
            min_premium_price: params.min_premium_price,
        });
    }
    lots_for(
        available,
        params.allocation_pct,
        premium,
        params.slippage_pct,
        lot_size,
        params.max_lots_per_trade,
    )
}

/// The original's sizing formula: `floor(available x allocation_pct / (premium
/// x (1 + slippage_pct) x lot_size))`, capped at `max_lots`; 0 when it cannot
/// afford one lot or an input is out of range (see [`size_entry`] for the
/// reason and the premium floor).
pub fn size_lots(
    available: Amount,
    allocation_pct: Decimal,
    premium: Price,
    slippage_pct: Decimal,
    lot_size: u64,
    max_lots: u64,
) -> u64 {
    lots_for(
        available,
        allocation_pct,
        premium,
        slippage_pct,
        lot_size,
        max_lots,
    )
    .unwrap_or(0)
}

fn lots_for(
    available: Amount,
    allocation_pct: Decimal,
    premium: Price,
    slippage_pct: Decimal,
    lot_size: u64,
    max_lots: u64,
) -> Result<u64, SizeRefusal> {
    let invalid = |what| SizeRefusal::InvalidInput { what };
    if lot_size == 0 {
        return Err(invalid("lot_size is 0; set the symbol's lot_size"));
    }
    if max_lots == 0 {
        return Err(invalid("max_lots_per_trade is 0; set it to at least 1"));
    }
    if allocation_pct <= Decimal::ZERO || allocation_pct > Decimal::ONE {
        return Err(invalid(
            "allocation_pct must be above 0 and at most 1 (0.30 is 30 %)",
        ));
    }
    if slippage_pct < Decimal::ZERO {
        return Err(invalid(
            "slippage_buffer_pct must be 0 or more (0.01 is 1 %)",
        ));
    }
    let overflow = || invalid("the amounts are too large to size");
    let budget = available
        .to_decimal()
        .checked_mul(allocation_pct)
        .ok_or_else(overflow)?;
    let lot_cost = premium
        .to_decimal()
        .checked_mul(
            Decimal::ONE
                .checked_add(slippage_pct)
                .ok_or_else(overflow)?,
        )
        .and_then(|unit| unit.checked_mul(Decimal::from(lot_size)))
        .ok_or_else(overflow)?;
    if budget < lot_cost {
        return Err(SizeRefusal::CannotAffordOneLot { budget, lot_cost });
    }
    // Both are positive and budget >= lot_cost, so a quotient too large for a
    // Decimal is far above any lot cap.
    let Some(quotient) = budget.checked_div(lot_cost) else {
        return Ok(max_lots);
    };
    let mut lots = quotient.floor();
    // Decimal division rounds at 28 digits: make the floor exact.
    let cost_of = |n: Decimal| n.checked_mul(lot_cost);
    let next = lots.checked_add(Decimal::ONE).ok_or_else(overflow)?;
    if cost_of(lots).is_none_or(|c| c > budget) {
        lots = lots.checked_sub(Decimal::ONE).ok_or_else(overflow)?;
    } else if cost_of(next).is_some_and(|c| c <= budget) {
        lots = next;
    }
    let capped = lots.min(Decimal::from(max_lots));
    capped.to_u64().ok_or_else(overflow)
}

#[cfg(test)]
mod tests;
