//! The option chain as seen on the feed: every contract that has ticked, so the
//! app can find the ATM CE or PE of an underlying at a spot, whatever the feed
//! (the simulator's synthetic ids, a replay's recorded ones, later Dhan's).
//!
//! # Synchronization
//!
//! A `DashMap` from contract key to [`ChainContract`]; methods copy values out
//! and hold no guard across calls. The refused counter is a statistic (relaxed).

use std::fmt;

use dashmap::DashMap;
use rust_decimal::Decimal;
use time::Date;

use crate::money::Price;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::wallet::{InstrumentKey, Symbol, Timestamp};

use super::calendar::expiry_is_live;
use super::types::{OptionContract, OptionType, Tick};

/// The most contracts any chain may be built with.
pub const CHAIN_CONTRACTS_MAX: usize = 65_536;

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// The trading symbol of an option: `NIFTY 02 DEC 25000 CE` (underlying, expiry
/// day and month, strike without trailing zeros, type). `None` if the expiry is
/// outside the calendar or the symbol would be too long.
pub fn option_symbol(underlying: &str, contract: &OptionContract) -> Option<Symbol> {
    let julian = contract
        .expiry
        .days_since_epoch()
        .checked_add(UNIX_EPOCH_JULIAN_DAY)?;
    let date = Date::from_julian_day(julian).ok()?;
    let month = MONTHS[usize::from(u8::from(date.month())) - 1];
    let text = format!(
        "{underlying} {:02} {month} {} {}",
        date.day(),
        contract.strike.to_decimal().normalize(),
        contract.option_type
    );
    Symbol::new(&text).ok()
}

/// ATM strike: `round(spot / strike_step) * strike_step`, half up. `None` for a
/// zero step or a result that is not a price.
pub fn atm_strike(spot: Price, strike_step: Price) -> Option<Price> {
    let steps = spot
        .to_decimal()
        .checked_div(strike_step.to_decimal())?
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Price::from_decimal(steps.checked_mul(strike_step.to_decimal())?).ok()
}

/// One contract of the chain: what the app needs to trade it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainContract {
    /// The position key (segment and security id).
    pub key: InstrumentKey,
    /// E.g. `NIFTY 02 DEC 25000 CE`.
    pub symbol: Symbol,
    /// The underlying index, e.g. `NIFTY`.
    pub underlying: Symbol,
    /// Expiry, strike and type.
    pub contract: OptionContract,
}

impl fmt::Display for ChainContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.symbol, self.key)
    }
}

/// Every contract seen on the feed, bounded. Fill it with [`OptionChain::observe`]
/// on every tick; ask it with [`OptionChain::atm`].
#[derive(Debug)]
pub struct OptionChain {
    contracts: DashMap<InstrumentKey, ChainContract>,
    contracts_max: usize,
    refused: AtomicU64,
}

impl OptionChain {
    /// A chain of at most `contracts_max` contracts (clamped to
    /// 1..=[`CHAIN_CONTRACTS_MAX`]).
    pub fn new(contracts_max: usize) -> OptionChain {
        OptionChain {
            contracts: DashMap::new(),
            contracts_max: contracts_max.clamp(1, CHAIN_CONTRACTS_MAX),
            refused: AtomicU64::new(0),
        }
    }

    /// Learns the contract of an option tick (index ticks are ignored). Returns
    /// true when the contract is new. When the chain is full it first drops the
    /// contracts expired at the tick's time; if it is still full, the contract is
    /// refused and counted.
    pub fn observe(&self, tick: &Tick) -> bool {
        let (Some(key), Some(contract)) = (tick.instrument_key(), tick.contract) else {
            return false;
        };
        if self.contracts.contains_key(&key) {
            return false;
        }
        // No guard is held here: `len` and `retain` lock every shard.
        if self.contracts.len() >= self.contracts_max {
            self.prune_expired(tick.ts);
            if self.contracts.len() >= self.contracts_max {
                // Relaxed: a statistic, orders nothing.
                self.refused.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        let Some(symbol) = option_symbol(tick.underlying.as_str(), &contract) else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        self.contracts
            .insert(
                key,
                ChainContract {
                    key,
                    symbol,
                    underlying: tick.underlying.clone(),
                    contract,
                },
            )
            .is_none()
    }

    /// The contract with this key, if it has ticked.
    pub fn get(&self, key: InstrumentKey) -> Option<ChainContract> {
        self.contracts.get(&key).map(|c| c.clone())
    }

    /// The at-the-money contract of `option_type` on `underlying` at `spot`:
    /// among contracts still live at `now` (expiry day after today, or today
    /// before the 15:30 IST close), the nearest expiry, then the strike nearest
    /// to `spot` (a tie goes to the higher strike, as `round` half up does).
    ///
    /// Scans the chain (at most its bound, a few thousand entries): cheap at the
    /// rate of trading decisions.
    pub fn atm(
        &self,
        underlying: &str,
        spot: Price,
        option_type: OptionType,
        now: Timestamp,
    ) -> Option<ChainContract> {
        let spot = spot.to_decimal();
        let mut best: Option<(ChainContract, Decimal)> = None;
        for entry in self.contracts.iter() {
            let c = entry.value();
            if c.underlying.as_str() != underlying
                || c.contract.option_type != option_type
                || !expiry_is_live(c.contract.expiry, now)
            {
                continue;
            }
            let distance = (c.contract.strike.to_decimal() - spot).abs();
            let better = match &best {
                None => true,
                Some((b, b_distance)) => {
                    (
                        c.contract.expiry,
                        distance,
                        std::cmp::Reverse(c.contract.strike),
                    ) < (
                        b.contract.expiry,
                        *b_distance,
                        std::cmp::Reverse(b.contract.strike),
                    )
                }
            };
            if better {
                best = Some((c.clone(), distance));
            }
        }
        best.map(|(c, _)| c)
    }

    /// Drops contracts no longer live at `now`; returns how many.
    pub fn prune_expired(&self, now: Timestamp) -> usize {
        let before = self.contracts.len();
        self.contracts
            .retain(|_, c| expiry_is_live(c.contract.expiry, now));
        before.saturating_sub(self.contracts.len())
    }

    /// The number of contracts held.
    pub fn len(&self) -> usize {
        self.contracts.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.contracts.is_empty()
    }

    /// Contracts refused because the chain was full (or their symbol could not
    /// be built).
    pub fn refused_count(&self) -> u64 {
        // Relaxed: a statistic.
        self.refused.load(Ordering::Relaxed)
    }
}
