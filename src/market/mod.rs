//! Market data: the nouns every feed produces ([`Tick`], [`Candle`]), the feeds
//! (simulated, CSV replay), the LTP cache, the option chain and the candle
//! builder.
//!
//! Architecture Invariant: a feed turns its source into [`Tick`] values and does
//! nothing else; what a tick means for trading is decided by `strategy` and `risk`.
//!
//! Architecture Invariant: market code reads no clock. Time enters as values:
//! the `now` passed to [`Feed::poll`], the `start` of the simulator, the `ts` of
//! each tick. The same feed therefore runs on the real clock and on the manual
//! clock of the backtest.
//!
//! # How the app uses it
//!
//! 1. Build a feed: [`open_feed`] from a [`FeedSpec`] (`sim` or `replay:FILE`),
//!    optionally wrapped in a [`RecordingFeed`] for `--record FILE`.
//! 2. On each market-data task run: `feed.poll(now, &mut ticks)` (repeat while
//!    it returns [`POLL_TICKS_MAX`]); pass every tick to [`MarketBook::ingest`]
//!    and the index ticks to that index's [`CandleBuilder`]s.
//! 3. To enter: the index spot from [`LtpCache::fresh`] (refuse entries when it
//!    is stale), the contract from [`OptionChain::atm`], its quote from
//!    [`LtpCache::fresh`] with [`QuoteKey::Contract`].
//! 4. Backtest: advance the manual clock to [`Feed::next_ts`]; `None` ends it.

mod calendar;
mod candles;
mod chain;
mod feed;
mod ltp;
pub mod pricing;
mod sim;
mod tickfile;
mod types;

use std::path::Path;

pub use calendar::{
    DAY_MS, IST_OFFSET_MS, SESSION_CLOSE_IST_MS, expiry_is_live, ist_day, ist_ms_of_day,
    next_expiry, session_close, weekday,
};
pub use candles::{CANDLE_WIDTH_MAX, CANDLES_KEPT_MAX, CandleBuilder};
pub use chain::{CHAIN_CONTRACTS_MAX, ChainContract, OptionChain, atm_strike, option_symbol};
pub use feed::{Feed, FeedError, FeedSpec, POLL_TICKS_MAX};
pub use ltp::{LTP_CACHE_ENTRIES_MAX, LtpCache, Quote, QuoteKey, QuoteUpdate};
pub use sim::{
    SIM_HALF_SPREAD_TICKS_MAX, SIM_IDX_SID_LIMIT, SIM_SPOT_START_MAX, SIM_STRIKE_LIMIT_RUPEES,
    SIM_STRIKES_EACH_SIDE_MAX, SIM_TICK_RATE_PER_SEC_MAX, SIM_TICK_RATE_PER_SEC_MIN,
    SIM_TICKS_PER_GRID_MAX, SIM_UNDERLYINGS_MAX, SIM_VOL_ANNUAL_MAX, SimFeed, SimParams,
    SimUnderlying, sim_option_security_id,
};
pub use tickfile::{
    LINE_BYTES_MAX, Recorder, RecordingFeed, ReplayFeed, TICK_CSV_COLUMNS, TICK_CSV_HEADER,
    UNDERLYING_LEN_MAX_BYTES, format_day, format_row, format_ts, parse_day, parse_row, parse_ts,
};
pub use types::{Candle, OptionContract, OptionType, Tick, TickSegment};

use crate::wallet::Timestamp;

/// Opens the feed a [`FeedSpec`] names. The simulator's grid starts at `start`
/// (the replay ignores it: its ticks carry their own times).
pub fn open_feed(
    spec: &FeedSpec,
    sim: &SimParams,
    start: Timestamp,
) -> Result<Box<dyn Feed>, FeedError> {
    match spec {
        FeedSpec::Sim => Ok(Box::new(SimFeed::new(sim, start)?)),
        FeedSpec::Replay(path) => Ok(Box::new(ReplayFeed::open(path)?)),
    }
}

/// Opens a [`Recorder`] for `--record FILE` (refuses an existing file).
pub fn create_recorder(path: &Path) -> Result<Recorder, FeedError> {
    Recorder::create(path)
}

/// The shared market state the tasks read: last quotes and the option chain.
/// Share it in an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct MarketBook {
    /// Last quotes of indices and contracts.
    pub ltp: LtpCache,
    /// Contracts seen on the feed.
    pub chain: OptionChain,
}

impl MarketBook {
    /// A book with the given bounds (each clamped to its `*_MAX`).
    pub fn new(ltp_entries_max: usize, chain_contracts_max: usize) -> MarketBook {
        MarketBook {
            ltp: LtpCache::new(ltp_entries_max),
            chain: OptionChain::new(chain_contracts_max),
        }
    }

    /// Takes in one tick: its quote and, for an option, its contract.
    pub fn ingest(&self, tick: &Tick) -> QuoteUpdate {
        self.chain.observe(tick);
        self.ltp.update(tick)
    }
}

impl Default for MarketBook {
    /// 4096 quotes and 4096 contracts: a week of three simulated indices with
    /// room to spare.
    fn default() -> MarketBook {
        MarketBook::new(4096, 4096)
    }
}
