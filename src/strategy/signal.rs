//! The entry signal: the original bot's effective rule as a streaming
//! [`SignalEngine`] fed closed candles.
//!
//! # The rule
//!
//! On every closed 1-minute (primary) candle the engine updates Supertrend
//! (10, 2.0), EMA(20), EMA(50) and RSI(14) and collects one vote from each of:
//!
//! | vote | up | down | neutral |
//! |---|---|---|---|
//! | primary Supertrend | trend up | trend down | never |
//! | EMA | fast > slow | fast < slow | equal |
//! | RSI | RSI > `rsi_up` (55) | RSI < `rsi_down` (45) | otherwise |
//! | secondary Supertrend, only with `use_multi_timeframe` | trend up | trend down | never |
//!
//! The secondary Supertrend runs on the secondary-timeframe candles (5-minute
//! in the original's config) with the same period and multiplier.
//!
//! The **candidate direction** is the primary Supertrend's: the original
//! decides on the Supertrend and confirms with EMA and RSI. Bullish buys the
//! ATM CE, bearish the ATM PE.
//!
//! The **strength** is the fraction of all votes that agree with the candidate
//! direction: `agreeing / total`, where the Supertrend's own vote always agrees
//! and a neutral vote does not. With three votes it is 1/3, 2/3 or 1; with the
//! secondary timeframe 1/4, 1/2, 3/4 or 1. At the original's
//! `min_signal_strength` of 0.6 this means: the Supertrend plus at least one
//! confirmation of two, or plus at least two of three.
//!
//! The signal **fires** (direction Bullish or Bearish) only when `strength >=
//! min_signal_strength`; otherwise its direction is [`Direction::None`] and its
//! strength still says how close it came. Until every indicator it needs is
//! warmed up (the primary needs `max(supertrend_period, ema_slow, rsi_period +
//! 1)` candles, 50 with the defaults; the secondary `supertrend_period`
//! candles, 10) the signal is none with strength 0.
//!
//! The signal is a level, not an edge: it stays bullish on every candle while
//! the rule holds. Whether to enter again (open positions, cooldown, limits) is
//! the caller's decision.

use crate::market::{Candle, OptionType};
use crate::wallet::Timestamp;

use super::indicators::{
    Ema, Hlc, ParamError, Rsi, Supertrend, SupertrendValue, Trend, check_multiplier, check_period,
};

/// The strategy's parameters. `Default` is the original bot's: Supertrend(10,
/// 2.0), EMA 20/50, RSI 14 with 55/45, the 5-minute timeframe on, minimum
/// strength 0.6.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyParams {
    /// ATR period of both Supertrends, in candles (1 to 500).
    pub supertrend_period: usize,
    /// Band width of both Supertrends, in ATRs (positive).
    pub supertrend_multiplier: f64,
    /// Fast EMA period, in candles; must be below `ema_slow`.
    pub ema_fast: usize,
    /// Slow EMA period, in candles (up to 500).
    pub ema_slow: usize,
    /// RSI period, in candles (1 to 500).
    pub rsi_period: usize,
    /// RSI above this votes up (0 to 100).
    pub rsi_up: f64,
    /// RSI below this votes down (0 to `rsi_up`).
    pub rsi_down: f64,
    /// Adds the secondary timeframe's Supertrend as a fourth vote; the caller
    /// then feeds [`SignalEngine::on_secondary_candle`].
    pub use_multi_timeframe: bool,
    /// The least strength at which the signal fires (0 to 1).
    pub min_signal_strength: f64,
}

impl Default for StrategyParams {
    fn default() -> Self {
        StrategyParams {
            supertrend_period: 10,
            supertrend_multiplier: 2.0,
            ema_fast: 20,
            ema_slow: 50,
            rsi_period: 14,
            rsi_up: 55.0,
            rsi_down: 45.0,
            use_multi_timeframe: true,
            min_signal_strength: 0.6,
        }
    }
}

impl StrategyParams {
    /// Checks every parameter; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), ParamError> {
        check_period("supertrend_period", self.supertrend_period)?;
        check_multiplier("supertrend_multiplier", self.supertrend_multiplier)?;
        check_period("ema_fast", self.ema_fast)?;
        check_period("ema_slow", self.ema_slow)?;
        check_period("rsi_period", self.rsi_period)?;
        if self.ema_fast >= self.ema_slow {
            return Err(ParamError {
                key: "ema_fast",
                value: format!("{} (ema_slow = {})", self.ema_fast, self.ema_slow),
                expected: "the fast EMA period must be below the slow one, e.g. 20 and 50",
            });
        }
        if !(self.rsi_up.is_finite() && (0.0..=100.0).contains(&self.rsi_up)) {
            return Err(ParamError {
                key: "rsi_up",
                value: self.rsi_up.to_string(),
                expected: "an RSI level is between 0 and 100, e.g. 55",
            });
        }
        if !(self.rsi_down.is_finite() && (0.0..=self.rsi_up).contains(&self.rsi_down)) {
            return Err(ParamError {
                key: "rsi_down",
                value: self.rsi_down.to_string(),
                expected: "an RSI level between 0 and rsi_up, e.g. 45",
            });
        }
        if !(self.min_signal_strength.is_finite()
            && (0.0..=1.0).contains(&self.min_signal_strength))
        {
            return Err(ParamError {
                key: "min_signal_strength",
                value: self.min_signal_strength.to_string(),
                expected: "a fraction of agreeing votes between 0 and 1, e.g. 0.6",
            });
        }
        Ok(())
    }

    /// How many primary candles the engine needs before its first signal:
    /// `max(supertrend_period, ema_slow, rsi_period + 1)` (50 by default).
    pub fn primary_warmup_candles(&self) -> usize {
        self.supertrend_period
            .max(self.ema_slow)
            .max(self.rsi_period + 1)
    }

    /// How many secondary candles the engine needs before its first signal:
    /// `supertrend_period` with `use_multi_timeframe`, else 0.
    pub fn secondary_warmup_candles(&self) -> usize {
        if self.use_multi_timeframe {
            self.supertrend_period
        } else {
            0
        }
    }
}

/// Which way a signal points. `None` is "no trade".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Buy the ATM call.
    Bullish,
    /// Buy the ATM put.
    Bearish,
    /// No trade.
    None,
}

impl Direction {
    /// The option to buy: CE when bullish, PE when bearish, nothing otherwise.
    pub fn option_type(self) -> Option<OptionType> {
        match self {
            Direction::Bullish => Some(OptionType::Ce),
            Direction::Bearish => Some(OptionType::Pe),
            Direction::None => None,
        }
    }

    /// `BULLISH`, `BEARISH` or `NONE`, for logs and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Bullish => "BULLISH",
            Direction::Bearish => "BEARISH",
            Direction::None => "NONE",
        }
    }
}

/// The strategy's verdict on one closed primary candle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Signal {
    /// Bullish or Bearish only when `strength >= min_signal_strength`.
    pub direction: Direction,
    /// Fraction of the votes agreeing with the primary Supertrend, 0 to 1 (0
    /// during warm-up). Reported also when the gate held the direction at
    /// `None`.
    pub strength: f64,
}

impl Signal {
    /// No trade, strength 0: the warm-up value.
    pub const NONE: Signal = Signal {
        direction: Direction::None,
        strength: 0.0,
    };

    /// The option to buy, if the signal fired.
    pub fn option_type(&self) -> Option<OptionType> {
        self.direction.option_type()
    }
}

/// One indicator's opinion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vote {
    /// For a bullish signal.
    Up,
    /// For a bearish signal.
    Down,
    /// For neither (EMAs equal, RSI between the levels).
    Neutral,
}

impl From<Trend> for Vote {
    fn from(trend: Trend) -> Vote {
        match trend {
            Trend::Up => Vote::Up,
            Trend::Down => Vote::Down,
        }
    }
}

/// The votes behind a signal (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Votes {
    /// The primary Supertrend's trend: the candidate direction.
    pub supertrend: Trend,
    /// Fast EMA vs slow EMA.
    pub ema: Vote,
    /// RSI vs the up and down levels.
    pub rsi: Vote,
    /// The secondary timeframe's Supertrend; `Some` iff `use_multi_timeframe`.
    pub secondary_supertrend: Option<Trend>,
}

impl Votes {
    /// The number of votes: 3, or 4 with the secondary timeframe.
    pub fn total(&self) -> u32 {
        3 + u32::from(self.secondary_supertrend.is_some())
    }

    /// The number of votes agreeing with the primary Supertrend (itself
    /// included).
    pub fn agreeing(&self) -> u32 {
        let want = Vote::from(self.supertrend);
        let confirmations = [
            Some(self.ema),
            Some(self.rsi),
            self.secondary_supertrend.map(Vote::from),
        ];
        1 + confirmations
            .iter()
            .map(|v| u32::from(*v == Some(want)))
            .sum::<u32>()
    }

    /// `agreeing / total`, 0 to 1.
    pub fn strength(&self) -> f64 {
        f64::from(self.agreeing()) / f64::from(self.total())
    }

    /// The signal these votes give at `min_signal_strength`.
    pub fn signal(&self, min_signal_strength: f64) -> Signal {
        let strength = self.strength();
        let direction = if strength >= min_signal_strength {
            match self.supertrend {
                Trend::Up => Direction::Bullish,
                Trend::Down => Direction::Bearish,
            }
        } else {
            Direction::None
        };
        Signal {
            direction,
            strength,
        }
    }
}

/// The indicators' current values, for status lines and logs. `None` while an
/// indicator warms up (and the secondary one when it is off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Readings {
    /// The primary (1-minute) Supertrend.
    pub supertrend: Option<SupertrendValue>,
    /// EMA(`ema_fast`) of primary closes.
    pub ema_fast: Option<f64>,
    /// EMA(`ema_slow`) of primary closes.
    pub ema_slow: Option<f64>,
    /// RSI(`rsi_period`) of primary closes.
    pub rsi: Option<f64>,
    /// The secondary-timeframe Supertrend.
    pub secondary_supertrend: Option<SupertrendValue>,
}

/// What the engine did with a candle it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandleOutcome {
    /// The indicators were updated.
    Used,
    /// Not later than the previous candle of its timeframe (a duplicate or a
    /// replay out of order): nothing changed.
    NotNewer,
    /// A secondary candle while `use_multi_timeframe` is off: nothing changed.
    Unused,
}

/// The strategy for one underlying: feed it closed candles, read the signal.
///
/// Per closed candle the caller does, in this order when both close at the same
/// instant (a 5-minute candle closes with a 1-minute one):
/// 1. [`SignalEngine::on_secondary_candle`] with the closed secondary candle
///    (only with `use_multi_timeframe`);
/// 2. [`SignalEngine::on_primary_candle`] with the closed 1-minute candle, which
///    returns the [`Signal`].
///
/// A candle whose `start` is not after the previous one of its timeframe is
/// ignored, so replaying a candle twice cannot move the indicators.
#[derive(Clone, Debug)]
pub struct SignalEngine {
    params: StrategyParams,
    supertrend: Supertrend,
    ema_fast: Ema,
    ema_slow: Ema,
    rsi: Rsi,
    /// `Some` iff `use_multi_timeframe`.
    secondary_supertrend: Option<Supertrend>,
    last_primary_start: Option<Timestamp>,
    last_secondary_start: Option<Timestamp>,
    votes: Option<Votes>,
    signal: Signal,
    ignored_candles: u64,
}

impl SignalEngine {
    /// An engine in warm-up. Refuses parameters out of range, naming the first.
    pub fn new(params: StrategyParams) -> Result<SignalEngine, ParamError> {
        params.validate()?;
        let secondary_supertrend = if params.use_multi_timeframe {
            Some(Supertrend::new(
                params.supertrend_period,
                params.supertrend_multiplier,
            )?)
        } else {
            None
        };
        Ok(SignalEngine {
            supertrend: Supertrend::new(params.supertrend_period, params.supertrend_multiplier)?,
            ema_fast: Ema::new(params.ema_fast)?,
            ema_slow: Ema::new(params.ema_slow)?,
            rsi: Rsi::new(params.rsi_period)?,
            secondary_supertrend,
            params,
            last_primary_start: None,
            last_secondary_start: None,
            votes: None,
            signal: Signal::NONE,
            ignored_candles: 0,
        })
    }

    /// Feeds one closed secondary-timeframe candle (5-minute). Feed it before
    /// the primary candle that closes at the same instant.
    pub fn on_secondary_candle(&mut self, candle: &Candle) -> CandleOutcome {
        let Some(st) = self.secondary_supertrend.as_mut() else {
            return CandleOutcome::Unused;
        };
        if self.last_secondary_start.is_some_and(|s| candle.start <= s) {
            self.ignored_candles = self.ignored_candles.saturating_add(1);
            return CandleOutcome::NotNewer;
        }
        self.last_secondary_start = Some(candle.start);
        st.update(Hlc::from_candle(candle));
        CandleOutcome::Used
    }

    /// Feeds one closed primary (1-minute) candle and returns the signal after
    /// it. A candle not after the previous one returns the previous signal and
    /// changes nothing.
    pub fn on_primary_candle(&mut self, candle: &Candle) -> Signal {
        if self.last_primary_start.is_some_and(|s| candle.start <= s) {
            self.ignored_candles = self.ignored_candles.saturating_add(1);
            return self.signal;
        }
        self.last_primary_start = Some(candle.start);
        let hlc = Hlc::from_candle(candle);
        let st = self.supertrend.update(hlc);
        let fast = self.ema_fast.update(hlc.close);
        let slow = self.ema_slow.update(hlc.close);
        let rsi = self.rsi.update(hlc.close);
        self.votes = self.collect_votes(st, fast, slow, rsi);
        self.signal = match &self.votes {
            Some(votes) => votes.signal(self.params.min_signal_strength),
            None => Signal::NONE,
        };
        self.signal
    }

    fn collect_votes(
        &self,
        st: Option<SupertrendValue>,
        fast: Option<f64>,
        slow: Option<f64>,
        rsi: Option<f64>,
    ) -> Option<Votes> {
        let st = st?;
        let (fast, slow, rsi) = (fast?, slow?, rsi?);
        let secondary_supertrend = match &self.secondary_supertrend {
            Some(secondary) => Some(secondary.value()?.trend),
            None => None,
        };
        let ema = if fast > slow {
            Vote::Up
        } else if fast < slow {
            Vote::Down
        } else {
            Vote::Neutral
        };
        let rsi = if rsi > self.params.rsi_up {
            Vote::Up
        } else if rsi < self.params.rsi_down {
            Vote::Down
        } else {
            Vote::Neutral
        };
        Some(Votes {
            supertrend: st.trend,
            ema,
            rsi,
            secondary_supertrend,
        })
    }

    /// The signal after the last primary candle ([`Signal::NONE`] before any).
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The votes behind the last signal; `None` while warming up.
    pub fn votes(&self) -> Option<Votes> {
        self.votes
    }

    /// Every indicator is warmed up: the next primary candle gives a real
    /// signal.
    pub fn is_warm(&self) -> bool {
        self.votes.is_some()
    }

    /// The indicators' current values.
    pub fn readings(&self) -> Readings {
        Readings {
            supertrend: self.supertrend.value(),
            ema_fast: self.ema_fast.value(),
            ema_slow: self.ema_slow.value(),
            rsi: self.rsi.value(),
            secondary_supertrend: self
                .secondary_supertrend
                .as_ref()
                .and_then(Supertrend::value),
        }
    }

    /// The parameters the engine runs with.
    pub fn params(&self) -> &StrategyParams {
        &self.params
    }

    /// How many candles were ignored as not newer than their predecessor.
    pub fn ignored_candles(&self) -> u64 {
        self.ignored_candles
    }
}

#[cfg(test)]
mod tests;
