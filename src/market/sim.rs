//! The `sim` feed: a seeded random walk of each index and Black-Scholes option
//! premia around the money, quoted with a bid/ask on the 0.05 tick.
//!
//! # The model
//!
//! - Ticks sit on a grid: grid point `k` is at `start + k * interval_ms`, where
//!   `interval_ms = round(1000 / tick_rate_per_sec)` (at least 1). At each grid
//!   point every underlying, in the order given, emits its index tick and then
//!   its option chain, strike by strike upwards, CE before PE.
//! - The index follows a driftless geometric Brownian motion:
//!   `S(k) = S(k-1) * exp(-vol^2 dt / 2 + vol sqrt(dt) Z(k))`, `S(0) = spot_start`,
//!   `dt` the grid interval in 365-day years. `Z(k)` is a standard normal drawn
//!   by Box-Muller from two uniforms that are a splitmix64 hash of
//!   `(seed, underlying position, k)`. So the ticks are a pure function of the
//!   parameters, `start` and `k`: polling late yields the same ticks as polling
//!   often, and the same seed gives the same ticks (on the same platform: `exp`
//!   and `ln` come from the platform's libm).
//! - The chain: the strikes `ATM + j * strike_step` for `j` in
//!   `-strikes_each_side ..= strikes_each_side` (non-positive strikes skipped),
//!   where `ATM = round(S / strike_step) * strike_step` (half up) of the quoted
//!   index value `S`, so it equals [`atm_strike`](super::atm_strike) of the
//!   index tick's LTP. It follows the spot: the contracts ticked change as the
//!   index moves.
//! - Expiry: [`next_expiry`](super::calendar::next_expiry) of the tick's time
//!   and `expiry_wday` (0 = Sunday ... 6 = Saturday): the next such weekday on
//!   or after today (IST); on expiry day after the 15:30 IST close, the next
//!   week's. Holidays and monthly-only expiries are not modelled. Time to expiry
//!   runs to 15:30 IST of the expiry day.
//! - Premium: Black-Scholes with `iv_annual` and `rate_annual`; the LTP is the
//!   premium rounded to the nearest tick (at least 0.05); bid and ask are
//!   `half_spread_ticks` ticks below and above it (bid at least 0.05). Index
//!   ticks carry no bid, ask or volume; option ticks carry no volume.
//! - Security ids: an index tick has the configured `idx_sid`; an option has
//!   the synthetic id of [`sim_option_security_id`]. The sim ticks at all hours:
//!   the app enforces session hours.

use std::collections::VecDeque;
use std::fmt;

use rust_decimal::Decimal;

use crate::money::Price;
use crate::wallet::{Segment, Symbol, Timestamp, TradingDay};

use super::calendar::{next_expiry, session_close};
use super::feed::{Feed, FeedError, POLL_TICKS_MAX};
use super::pricing::black_scholes;
use super::tickfile::check_underlying;
use super::types::{OptionContract, OptionType, Tick, TickSegment};

/// The most underlyings one simulator runs.
pub const SIM_UNDERLYINGS_MAX: usize = 8;
/// The most strikes on each side of ATM.
pub const SIM_STRIKES_EACH_SIDE_MAX: u32 = 20;
/// The fastest tick rate: one grid point per millisecond.
pub const SIM_TICK_RATE_PER_SEC_MAX: f64 = 1000.0;
/// The slowest tick rate: one grid point per hour.
pub const SIM_TICK_RATE_PER_SEC_MIN: f64 = 1.0 / 3600.0;
/// The widest half spread, in ticks.
pub const SIM_HALF_SPREAD_TICKS_MAX: u32 = 100;
/// Index security ids must be below this (the option id formula needs it).
pub const SIM_IDX_SID_LIMIT: u64 = 1_000_000;
/// Strikes (whole rupees) must be below this (the option id formula needs it);
/// higher strikes are not ticked.
pub const SIM_STRIKE_LIMIT_RUPEES: u64 = 1_000_000;
/// The highest `spot_start`, in rupees.
pub const SIM_SPOT_START_MAX: f64 = 500_000.0;
/// The highest `vol_annual` and `iv_annual` (500%).
pub const SIM_VOL_ANNUAL_MAX: f64 = 5.0;
/// The most ticks one grid point produces.
pub const SIM_TICKS_PER_GRID_MAX: usize =
    SIM_UNDERLYINGS_MAX * (1 + 2 * (2 * SIM_STRIKES_EACH_SIDE_MAX as usize + 1));

const _: () = assert!(SIM_TICKS_PER_GRID_MAX <= POLL_TICKS_MAX);

/// Milliseconds in a 365-day year: the unit of `dt` and of time to expiry.
const YEAR_MS: f64 = 365.0 * 86_400_000.0;

/// The synthetic security id of a simulated option:
/// `idx_sid * 10^12 + expiry_days * 10^7 + strike_rupees * 10 + (1 for CE, 2 for PE)`,
/// where `expiry_days` counts days since 1970-01-01. Readable in decimal: NIFTY
/// (13) 25000 CE expiring 2025-12-02 (day 20424) is `13_20424_025000_1`, i.e.
/// 13204240250001.
///
/// `None` unless `idx_sid < 10^6`, `0 <= expiry_days < 10^5` and
/// `strike_rupees < 10^6`, the ranges in which ids cannot collide. Option ids
/// are at least 10^7 for any expiry after 1970-01-01, so they never equal an
/// index id (below 10^6).
pub fn sim_option_security_id(
    idx_sid: u64,
    expiry: TradingDay,
    strike_rupees: u64,
    option_type: OptionType,
) -> Option<u64> {
    let days = u64::try_from(expiry.days_since_epoch()).ok()?;
    if idx_sid >= SIM_IDX_SID_LIMIT || days >= 100_000 || strike_rupees >= SIM_STRIKE_LIMIT_RUPEES {
        return None;
    }
    let kind = match option_type {
        OptionType::Ce => 1,
        OptionType::Pe => 2,
    };
    Some(idx_sid * 1_000_000_000_000 + days * 10_000_000 + strike_rupees * 10 + kind)
}

/// One simulated index and its options. The app maps its config onto this.
#[derive(Clone, Debug, PartialEq)]
pub struct SimUnderlying {
    /// The index name, e.g. `NIFTY` (see [`UNDERLYING_LEN_MAX_BYTES`](super::tickfile::UNDERLYING_LEN_MAX_BYTES)).
    pub name: String,
    /// The index's security id on `IDX_I` (NIFTY 13, BANKNIFTY 25, SENSEX 51).
    pub idx_sid: u64,
    /// Where its options trade.
    pub seg_opt: Segment,
    /// Strike spacing in whole rupees (NIFTY 50, BANKNIFTY 100, SENSEX 100).
    pub strike_step: u32,
    /// Units per lot. The simulator does not use it; carried so one struct
    /// describes the underlying.
    pub lot_size: u64,
    /// Weekly expiry weekday, 0 = Sunday ... 6 = Saturday (NIFTY 2, SENSEX 4).
    pub expiry_wday: u8,
    /// The index value at grid point 0, in rupees.
    pub spot_start: f64,
    /// Annualised volatility of the index's random walk (0.15 = 15%).
    pub vol_annual: f64,
    /// Implied volatility used to price its options.
    pub iv_annual: f64,
    /// How many strikes to quote on each side of ATM (0 = ATM only).
    pub strikes_each_side: u32,
}

/// Everything the simulator needs. `Default` is NIFTY, BANKNIFTY and SENSEX at
/// 4 ticks/s with 2025 lot sizes and expiry weekdays.
#[derive(Clone, Debug, PartialEq)]
pub struct SimParams {
    /// The seed: the same seed (and start) gives the same ticks.
    pub seed: u64,
    /// Grid points per second (default 4).
    pub tick_rate_per_sec: f64,
    /// The risk-free rate in option prices, continuously compounded (0.065).
    pub rate_annual: f64,
    /// Bid and ask sit this many ticks below and above the LTP (default 1).
    pub half_spread_ticks: u32,
    /// The indices to simulate, at most [`SIM_UNDERLYINGS_MAX`].
    pub underlyings: Vec<SimUnderlying>,
}

impl Default for SimParams {
    fn default() -> SimParams {
        let underlying =
            |name: &str, idx_sid, seg_opt, strike_step, lot_size, expiry_wday, spot_start| {
                SimUnderlying {
                    name: name.to_owned(),
                    idx_sid,
                    seg_opt,
                    strike_step,
                    lot_size,
                    expiry_wday,
                    spot_start,
                    vol_annual: 0.15,
                    iv_annual: 0.15,
                    strikes_each_side: 5,
                }
            };
        SimParams {
            seed: 1,
            tick_rate_per_sec: 4.0,
            rate_annual: 0.065,
            half_spread_ticks: 1,
            underlyings: vec![
                underlying("NIFTY", 13, Segment::NseFno, 50, 75, 2, 25_000.0),
                underlying("BANKNIFTY", 25, Segment::NseFno, 100, 35, 2, 55_000.0),
                underlying("SENSEX", 51, Segment::BseFno, 100, 20, 4, 82_000.0),
            ],
        }
    }
}

/// A checked underlying with its walk state.
#[derive(Clone, Debug)]
struct SimIndex {
    symbol: Symbol,
    idx_sid: u64,
    seg_opt: Segment,
    strike_step: u32,
    expiry_wday: u8,
    vol_annual: f64,
    iv_annual: f64,
    strikes_each_side: u32,
    /// The index value at the last generated grid point (or `spot_start`).
    spot: f64,
}

/// The simulated feed. See the module docs for the model.
pub struct SimFeed {
    seed: u64,
    start: Timestamp,
    interval_ms: i64,
    rate_annual: f64,
    half_spread_ticks: i64,
    indices: Vec<SimIndex>,
    /// The next grid point to generate.
    k: u64,
    /// Generated ticks not yet returned (at most one grid point's worth).
    pending: VecDeque<Tick>,
}

impl fmt::Debug for SimFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFeed")
            .field("seed", &self.seed)
            .field("start", &self.start)
            .field("interval_ms", &self.interval_ms)
            .field("k", &self.k)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

fn param_err(key: impl Into<String>, message: impl Into<String>) -> FeedError {
    FeedError::Params {
        key: key.into(),
        message: message.into(),
    }
}

/// `value` must be finite and within `low..=high`; `hint` says what to write.
fn check_range(key: &str, value: f64, low: f64, high: f64, hint: &str) -> Result<(), FeedError> {
    if value.is_finite() && value >= low && value <= high {
        Ok(())
    } else {
        Err(param_err(
            key,
            format!("{value} is out of range; use {hint}"),
        ))
    }
}

impl SimFeed {
    /// A simulator whose grid point 0 is at `start`. Checks every parameter; the
    /// error names the first one out of range.
    pub fn new(params: &SimParams, start: Timestamp) -> Result<SimFeed, FeedError> {
        check_range(
            "tick_rate_per_sec",
            params.tick_rate_per_sec,
            SIM_TICK_RATE_PER_SEC_MIN,
            SIM_TICK_RATE_PER_SEC_MAX,
            "1/3600 (a tick an hour) to 1000 ticks per second, e.g. 4",
        )?;
        check_range(
            "rate_annual",
            params.rate_annual,
            -0.5,
            1.0,
            "a rate from -0.5 to 1, e.g. 0.065",
        )?;
        if !(1..=SIM_HALF_SPREAD_TICKS_MAX).contains(&params.half_spread_ticks) {
            return Err(param_err(
                "half_spread_ticks",
                format!(
                    "{} is out of range; use 1 to {SIM_HALF_SPREAD_TICKS_MAX} ticks of 0.05, e.g. 1",
                    params.half_spread_ticks
                ),
            ));
        }
        if params.underlyings.is_empty() || params.underlyings.len() > SIM_UNDERLYINGS_MAX {
            return Err(param_err(
                "underlyings",
                format!(
                    "{} given; simulate 1 to {SIM_UNDERLYINGS_MAX} indices",
                    params.underlyings.len()
                ),
            ));
        }
        let mut indices: Vec<SimIndex> = Vec::with_capacity(params.underlyings.len());
        for (i, u) in params.underlyings.iter().enumerate() {
            let key = |field: &str| {
                if u.name.is_empty() {
                    format!("underlyings[{i}].{field}")
                } else {
                    format!("underlyings[{}].{field}", u.name)
                }
            };
            let symbol = check_underlying(&u.name).map_err(|m| param_err(key("name"), m))?;
            if indices.iter().any(|x| x.symbol == symbol) {
                return Err(param_err(
                    key("name"),
                    "appears twice; name each index once",
                ));
            }
            if u.idx_sid >= SIM_IDX_SID_LIMIT {
                return Err(param_err(
                    key("idx_sid"),
                    format!(
                        "{} is too large; index ids are below {SIM_IDX_SID_LIMIT}, e.g. 13",
                        u.idx_sid
                    ),
                ));
            }
            if indices.iter().any(|x| x.idx_sid == u.idx_sid) {
                return Err(param_err(
                    key("idx_sid"),
                    format!(
                        "{} is used by another index; give each its own id",
                        u.idx_sid
                    ),
                ));
            }
            if u.strike_step == 0 || u64::from(u.strike_step) >= SIM_STRIKE_LIMIT_RUPEES {
                return Err(param_err(
                    key("strike_step"),
                    format!(
                        "{} is out of range; use whole rupees like 50 or 100",
                        u.strike_step
                    ),
                ));
            }
            if u.lot_size == 0 {
                return Err(param_err(
                    key("lot_size"),
                    "0; use the exchange lot size, e.g. 75",
                ));
            }
            if u.expiry_wday > 6 {
                return Err(param_err(
                    key("expiry_wday"),
                    format!(
                        "{} is not a weekday; use 0 (Sunday) to 6 (Saturday), e.g. 2 for Tuesday",
                        u.expiry_wday
                    ),
                ));
            }
            check_range(
                &key("spot_start"),
                u.spot_start,
                1.0,
                SIM_SPOT_START_MAX,
                "an index value from 1 to 500000, e.g. 25000",
            )?;
            check_range(
                &key("vol_annual"),
                u.vol_annual,
                0.0,
                SIM_VOL_ANNUAL_MAX,
                "a volatility from 0 to 5, e.g. 0.15 for 15%",
            )?;
            check_range(
                &key("iv_annual"),
                u.iv_annual,
                0.001,
                SIM_VOL_ANNUAL_MAX,
                "a volatility from 0.001 to 5, e.g. 0.15 for 15%",
            )?;
            if u.strikes_each_side > SIM_STRIKES_EACH_SIDE_MAX {
                return Err(param_err(
                    key("strikes_each_side"),
                    format!(
                        "{} is too many; use 0 to {SIM_STRIKES_EACH_SIDE_MAX}, e.g. 5",
                        u.strikes_each_side
                    ),
                ));
            }
            indices.push(SimIndex {
                symbol,
                idx_sid: u.idx_sid,
                seg_opt: u.seg_opt,
                strike_step: u.strike_step,
                expiry_wday: u.expiry_wday,
                vol_annual: u.vol_annual,
                iv_annual: u.iv_annual,
                strikes_each_side: u.strikes_each_side,
                spot: u.spot_start,
            });
        }
        // In range by the check above: 1 ms ..= 3_600_000 ms.
        let interval_ms = ((1000.0 / params.tick_rate_per_sec).round() as i64).max(1);
        Ok(SimFeed {
            seed: params.seed,
            start,
            interval_ms,
            rate_annual: params.rate_annual,
            half_spread_ticks: i64::from(params.half_spread_ticks),
            indices,
            k: 0,
            pending: VecDeque::with_capacity(SIM_TICKS_PER_GRID_MAX),
        })
    }

    /// The grid spacing in milliseconds.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The time of grid point `k`, or `None` past the end of time.
    fn grid_ts(&self, k: u64) -> Option<Timestamp> {
        let offset = i64::try_from(k).ok()?.checked_mul(self.interval_ms)?;
        self.start
            .epoch_ms()
            .checked_add(offset)
            .map(Timestamp::from_epoch_ms)
    }

    /// Generates grid point `self.k` (at `ts`) into `pending`.
    fn generate(&mut self, ts: Timestamp) {
        let k = self.k;
        let dt_years = self.interval_ms as f64 / YEAR_MS;
        for (position, index) in self.indices.iter_mut().enumerate() {
            if k > 0 {
                let z = standard_normal(self.seed, position as u64, k);
                let vol = index.vol_annual;
                index.spot *= (-vol * vol * dt_years / 2.0 + vol * dt_years.sqrt() * z).exp();
            }
            let spot = index.spot;
            let spot_ticks = ticks_from_f64(spot);
            self.pending.push_back(Tick {
                ts,
                segment: TickSegment::Index,
                security_id: index.idx_sid,
                underlying: index.symbol.clone(),
                contract: None,
                ltp: price_of_ticks(spot_ticks),
                bid: None,
                ask: None,
                volume: None,
            });
            let expiry = next_expiry(ts, index.expiry_wday);
            let years = (session_close(expiry).epoch_ms() - ts.epoch_ms()) as f64 / YEAR_MS;
            let step = u64::from(index.strike_step);
            // ATM of the quoted (rounded) index value, half up, in whole paise,
            // so it equals `atm_strike(index tick's ltp, strike_step)`.
            let step_paise = i64::from(index.strike_step) * 100;
            let atm_steps = (spot_ticks.saturating_mul(5) + step_paise / 2) / step_paise;
            let each_side = i64::from(index.strikes_each_side);
            for j in -each_side..=each_side {
                let Some(strike_rupees) = atm_steps
                    .checked_add(j)
                    .and_then(|s| u64::try_from(s).ok())
                    .and_then(|s| s.checked_mul(step))
                    .filter(|&s| s > 0)
                else {
                    continue;
                };
                let Ok(strike) = Price::from_decimal(Decimal::from(strike_rupees)) else {
                    continue;
                };
                for option_type in [OptionType::Ce, OptionType::Pe] {
                    let Some(security_id) =
                        sim_option_security_id(index.idx_sid, expiry, strike_rupees, option_type)
                    else {
                        continue;
                    };
                    let premium = black_scholes(
                        option_type,
                        spot,
                        strike_rupees as f64,
                        years,
                        self.rate_annual,
                        index.iv_annual,
                    );
                    let ltp_ticks = ticks_from_f64(premium);
                    let ltp = price_of_ticks(ltp_ticks);
                    let bid = price_of_ticks(ltp_ticks.saturating_sub(self.half_spread_ticks));
                    let ask = price_of_ticks(ltp_ticks.saturating_add(self.half_spread_ticks));
                    self.pending.push_back(Tick {
                        ts,
                        segment: TickSegment::Fno(index.seg_opt),
                        security_id,
                        underlying: index.symbol.clone(),
                        contract: Some(OptionContract {
                            expiry,
                            strike,
                            option_type,
                        }),
                        ltp,
                        bid: Some(bid),
                        ask: Some(ask),
                        volume: None,
                    });
                }
            }
        }
        self.k += 1;
    }
}

impl Feed for SimFeed {
    fn name(&self) -> &str {
        "sim"
    }

    fn next_ts(&self) -> Option<Timestamp> {
        match self.pending.front() {
            Some(tick) => Some(tick.ts),
            None => self.grid_ts(self.k),
        }
    }

    fn poll(&mut self, now: Timestamp, out: &mut Vec<Tick>) -> Result<usize, FeedError> {
        let mut appended = 0;
        while appended < POLL_TICKS_MAX {
            if let Some(tick) = self.pending.front() {
                if tick.ts > now {
                    break;
                }
                if let Some(tick) = self.pending.pop_front() {
                    out.push(tick);
                    appended += 1;
                }
                continue;
            }
            match self.grid_ts(self.k) {
                Some(ts) if ts <= now => self.generate(ts),
                _ => break,
            }
        }
        Ok(appended)
    }
}

/// The most ticks of 0.05 a simulated price may have (Rs 5 x 10^13): far above
/// any index, far below `i64` overflow.
const SIM_PRICE_TICKS_MAX: i64 = 1_000_000_000_000_000;

/// A model value in whole ticks of 0.05: the nearest tick (half away from
/// zero, in `f64`), at least one. NaN gives one tick. Integer ticks instead of
/// `Decimal::from_f64` + `Price::round_nearest`: the same result up to `f64`
/// rounding at exact half ticks, at a fraction of the cost (this runs for every
/// simulated tick).
fn ticks_from_f64(value: f64) -> i64 {
    let ticks = (value * 20.0).round();
    if ticks >= 1.0 {
        // In range: clamped below i64::MAX before the cast.
        ticks.min(SIM_PRICE_TICKS_MAX as f64) as i64
    } else {
        1
    }
}

/// `ticks` ticks of 0.05 (at least one).
fn price_of_ticks(ticks: i64) -> Price {
    ticks
        .clamp(1, SIM_PRICE_TICKS_MAX)
        .checked_mul(5)
        .and_then(|paise| Price::from_paise(paise).ok())
        .unwrap_or(Price::MIN)
}

/// splitmix64's finaliser: a bijective mix of 64 bits.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A uniform in (0, 1] from 64 random bits (53 of them).
fn unit_open_closed(bits: u64) -> f64 {
    ((bits >> 11) + 1) as f64 / (1u64 << 53) as f64
}

/// The standard normal `Z` of `(seed, stream, k)`: Box-Muller on two uniforms
/// that are hashes of the triple.
fn standard_normal(seed: u64, stream: u64, k: u64) -> f64 {
    let base = splitmix64(splitmix64(seed ^ splitmix64(stream)) ^ k);
    let u1 = unit_open_closed(splitmix64(base ^ 1));
    let u2 = unit_open_closed(splitmix64(base ^ 2));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normals_look_standard() {
        let n = 20_000u64;
        let draws: Vec<f64> = (0..n).map(|k| standard_normal(7, 0, k)).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|z| (z - mean) * (z - mean)).sum::<f64>() / n as f64;
        // Standard errors: 1/sqrt(n) = 0.007 for the mean, ~0.01 for the variance.
        assert!(mean.abs() < 0.04, "mean {mean}");
        assert!((var - 1.0).abs() < 0.06, "variance {var}");
        assert_ne!(standard_normal(7, 0, 1), standard_normal(8, 0, 1));
        assert_ne!(standard_normal(7, 0, 1), standard_normal(7, 1, 1));
    }

    #[test]
    fn model_values_round_to_the_nearest_tick() {
        fn check(value: f64, expected_paise: i64) {
            assert_eq!(
                price_of_ticks(ticks_from_f64(value)),
                Price::from_paise(expected_paise).unwrap(),
                "{value}"
            );
        }
        check(120.02, 12_000);
        check(120.03, 12_005);
        check(120.074, 12_005);
        check(120.076, 12_010);
        check(0.02, 5);
        check(0.0, 5);
        check(-3.0, 5);
        check(f64::NAN, 5);
        check(25_000.0, 2_500_000);
        assert_eq!(price_of_ticks(0), Price::MIN);
        assert_eq!(price_of_ticks(3), Price::from_paise(15).unwrap());
    }

    #[test]
    fn option_ids_follow_the_formula() {
        let day = TradingDay::from_days_since_epoch(20_424);
        assert_eq!(
            sim_option_security_id(13, day, 25_000, OptionType::Ce),
            Some(13_204_240_250_001)
        );
        assert_eq!(
            sim_option_security_id(13, day, 25_000, OptionType::Pe),
            Some(13_204_240_250_002)
        );
        assert_eq!(
            sim_option_security_id(1_000_000, day, 25_000, OptionType::Ce),
            None
        );
        assert_eq!(
            sim_option_security_id(13, day, 1_000_000, OptionType::Ce),
            None
        );
        assert_eq!(
            sim_option_security_id(
                13,
                TradingDay::from_days_since_epoch(-1),
                100,
                OptionType::Ce
            ),
            None
        );
    }
}
