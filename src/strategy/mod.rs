//! The strategy: indicators, the entry signal, the ATM strike and the lot size.
//! Pure functions and small state machines over values.
//!
//! - [`indicators`]: streaming EMA, RSI (Wilder), ATR (Wilder) and Supertrend,
//!   O(1) per candle, with batch helpers; the exact conventions are in that
//!   module's docs.
//! - [`signal`]: [`SignalEngine`], the original bot's effective rule
//!   (Supertrend(10, 2.0) on 1-minute candles confirmed by EMA 20/50 and RSI 14
//!   55/45, optionally by the 5-minute Supertrend), gated by
//!   `min_signal_strength`.
//! - [`sizing`]: [`atm_strike`] and [`size_entry`] / [`size_lots`], exact
//!   decimal maths.
//!
//! # Use, per underlying
//!
//! ```text
//! let mut engine = SignalEngine::new(StrategyParams::default())?;     // once
//! // each closed 5-minute candle (use_multi_timeframe), before the 1-minute one
//! // that closes at the same instant:
//! engine.on_secondary_candle(&candle_5m);
//! // each closed 1-minute candle:
//! let signal = engine.on_primary_candle(&candle_1m);
//! if let Some(option_type) = signal.option_type() {                 // CE or PE
//!     let strike = atm_strike(spot, strike_step);                    // Option<Price>
//!     // look up the contract, read its premium, then:
//!     let lots = size_entry(available, premium, lot_size, &sizing);  // Result<u64, SizeRefusal>
//! }
//! ```
//!
//! Architecture Invariant: this module does no I/O, reads no clock and uses no
//! atomics. Candles, prices and balances enter as values; the same candles give
//! the same signals, live or in a replay.

pub mod indicators;
pub mod signal;
pub mod sizing;

pub use indicators::{
    Atr, Ema, Hlc, INDICATOR_PERIOD_MAX, ParamError, Rsi, Supertrend, SupertrendValue, Trend,
};
pub use signal::{
    CandleOutcome, Direction, Readings, Signal, SignalEngine, StrategyParams, Vote, Votes,
};
pub use sizing::{SizeRefusal, SizingParams, atm_strike, size_entry, size_lots};
