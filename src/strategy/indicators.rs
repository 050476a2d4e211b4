//! Streaming technical indicators: [`Ema`], [`Rsi`] (Wilder), [`Atr`] (Wilder)
//! and [`Supertrend`]. Each is fed one value (or one candle) at a time, keeps
//! O(1) state and does O(1) work per update, and returns `None` until it has
//! seen enough input to be defined ("warm-up"). The batch helpers
//! ([`ema_series`], [`rsi_series`], [`atr_series`], [`supertrend_series`]) run
//! the same streaming code over a slice and return one output per input.
//!
//! Indicators compute in `f64`: they are not money, and their outputs are only
//! compared with each other and with thresholds. Prices enter through
//! [`Hlc::from_candle`] (or [`price_f64`]).
//!
//! # Conventions (pinned by the hand-computed tests)
//!
//! - **EMA(n)**: `alpha = 2 / (n + 1)`. The first value is the simple mean of the
//!   first `n` inputs (so it appears on the n-th input); after that
//!   `ema = alpha * x + (1 - alpha) * ema_prev`.
//! - **RSI(n)**, Wilder: the first `n` changes (so `n + 1` closes) give the first
//!   average gain and loss as simple means; after that
//!   `avg = (avg_prev * (n - 1) + x) / n`. `RSI = 100 * avg_gain / (avg_gain +
//!   avg_loss)`, which equals `100 - 100 / (1 + RS)`; when both averages are 0 (a
//!   flat market) the RSI is 50, neutral.
//! - **ATR(n)**, Wilder: the true range of the first candle is `high - low` (it
//!   has no previous close); after that `max(high - low, |high - prev_close|,
//!   |low - prev_close|)`. The first ATR is the mean of the first `n` true ranges
//!   (on the n-th candle), then Wilder smoothing as for the RSI.
//! - **Supertrend(n, m)**: `hl2 = (high + low) / 2`, basic bands `hl2 +/- m *
//!   ATR(n)`. The final upper band is the basic one if that is lower than the
//!   previous final upper band or the previous close was above it, else the
//!   previous final upper band is carried; the final lower band mirrors this.
//!   The trend starts [`Trend::Down`] on the first value unless the close is
//!   above the upper band. In a downtrend it turns up when the close rises above
//!   the final upper band; in an uptrend it turns down when the close falls
//!   below the final lower band. The Supertrend line is the lower band in an
//!   uptrend and the upper band in a downtrend. This is TradingView's
//!   `ta.supertrend` and the original bot's Supertrend.
//!
//! Non-finite inputs (NaN, infinities) are ignored: the update returns `None`
//! and changes nothing. Periods are checked by the constructors (1 to
//! [`INDICATOR_PERIOD_MAX`]).

use std::fmt;

use rust_decimal::prelude::ToPrimitive;

use crate::market::Candle;
use crate::money::Price;

/// The longest indicator period accepted, in candles. Far above any useful
/// intraday setting (the strategy uses 10 to 50); it keeps warm-up bounded.
pub const INDICATOR_PERIOD_MAX: usize = 500;

/// A strategy or indicator parameter out of its range. `Display` names the
/// parameter, the value and the accepted range, in one line.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// The parameter's name (the `StrategyParams` field, or `period` /
    /// `multiplier` for a bare indicator).
    pub key: &'static str,
    /// The value given, as text.
    pub value: String,
    /// What is accepted and how to fix it.
    pub expected: &'static str,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid strategy parameter {} = {}: {}",
            self.key, self.value, self.expected
        )
    }
}

impl std::error::Error for ParamError {}

/// What a period must be, as the error text says it.
const PERIOD_EXPECTED: &str = "a period is a whole number of candles from 1 to 500";

/// Checks a period against `1..=INDICATOR_PERIOD_MAX`, naming it `key`.
pub(crate) fn check_period(key: &'static str, period: usize) -> Result<(), ParamError> {
    if (1..=INDICATOR_PERIOD_MAX).contains(&period) {
        Ok(())
    } else {
        Err(ParamError {
            key,
            value: period.to_string(),
            expected: PERIOD_EXPECTED,
        })
    }
}

/// Checks a Supertrend multiplier: finite and positive.
pub(crate) fn check_multiplier(key: &'static str, multiplier: f64) -> Result<(), ParamError> {
    if multiplier.is_finite() && multiplier > 0.0 {
        Ok(())
    } else {
        Err(ParamError {
            key,
            value: multiplier.to_string(),
            expected: "the ATR multiplier must be a positive number, e.g. 2.0",
        })
    }
}

/// A price as `f64` for the indicators. `Decimal` to `f64` always succeeds; the
/// NaN fallback is only there so no input can panic (indicators ignore NaN).
pub fn price_f64(price: Price) -> f64 {
    price.to_decimal().to_f64().unwrap_or(f64::NAN)
}

/// One candle's high, low and close as `f64`: the input of [`Atr`] and
/// [`Supertrend`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hlc {
    /// The highest value.
    pub high: f64,
    /// The lowest value.
    pub low: f64,
    /// The last value.
    pub close: f64,
}

impl Hlc {
    /// A candle's high, low and close.
    pub fn from_candle(candle: &Candle) -> Hlc {
        Hlc {
            high: price_f64(candle.high),
            low: price_f64(candle.low),
            close: price_f64(candle.close),
        }
    }

    /// All three values are finite.
    pub fn is_finite(&self) -> bool {
        self.high.is_finite() && self.low.is_finite() && self.close.is_finite()
    }
}

// ---------------------------------------------------------------------------
// EMA
// ---------------------------------------------------------------------------

/// Exponential moving average, seeded with the simple mean of its first
/// `period` inputs (see the module docs).
#[derive(Clone, Debug)]
pub struct Ema {
    period: usize,
    alpha: f64,
    /// Inputs seen during warm-up (stops counting at `period`).
    seen: usize,
    /// Sum of the warm-up inputs.
    sum: f64,
    value: Option<f64>,
}

impl Ema {
    /// An EMA over `period` inputs (1 to [`INDICATOR_PERIOD_MAX`]).
    pub fn new(period: usize) -> Result<Ema, ParamError> {
        check_period("period", period)?;
        Ok(Ema {
            period,
            alpha: 2.0 / (period as f64 + 1.0),
            seen: 0,
            sum: 0.0,
            value: None,
        })
    }

    /// Feeds one input; returns the EMA after it, or `None` during warm-up (the
    /// first `period - 1` inputs) and for a non-finite input.
    pub fn update(&mut self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        match self.value {
            Some(prev) => {
                self.value = Some(self.alpha * x + (1.0 - self.alpha) * prev);
            }
            None => {
                self.seen += 1;
                self.sum += x;
                if self.seen == self.period {
                    self.value = Some(self.sum / self.period as f64);
                }
            }
        }
        self.value
    }

    /// The current EMA, `None` during warm-up.
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// The period this EMA was built with.
    pub fn period(&self) -> usize {
        self.period
    }
}

// ---------------------------------------------------------------------------
// Wilder's smoothing, shared by RSI and ATR
// ---------------------------------------------------------------------------

/// Wilder's running mean: the simple mean of the first `period` inputs, then
/// `(prev * (period - 1) + x) / period`.
#[derive(Clone, Debug)]
struct Wilder {
    period: usize,
    seen: usize,
    sum: f64,
    value: Option<f64>,
}

impl Wilder {
    fn new(period: usize) -> Wilder {
        Wilder {
            period,
            seen: 0,
            sum: 0.0,
            value: None,
        }
    }

    fn update(&mut self, x: f64) -> Option<f64> {
        let n = self.period as f64;
        match self.value {
            Some(prev) => self.value = Some((prev * (n - 1.0) + x) / n),
            None => {
                self.seen += 1;
                self.sum += x;
                if self.seen == self.period {
                    self.value = Some(self.sum / n);
                }
            }
        }
        self.value
    }
}

// ---------------------------------------------------------------------------
// RSI
// ---------------------------------------------------------------------------

/// Relative strength index with Wilder smoothing (see the module docs).
#[derive(Clone, Debug)]
pub struct Rsi {
    period: usize,
    prev_close: Option<f64>,
    gain: Wilder,
    loss: Wilder,
    value: Option<f64>,
}

impl Rsi {
    /// An RSI over `period` changes (1 to [`INDICATOR_PERIOD_MAX`]).
    pub fn new(period: usize) -> Result<Rsi, ParamError> {
        check_period("period", period)?;
        Ok(Rsi {
            period,
            prev_close: None,
            gain: Wilder::new(period),
            loss: Wilder::new(period),
            value: None,
        })
    }

    /// Feeds one close; returns the RSI (0 to 100) after it, or `None` during
    /// warm-up (the first `period` closes) and for a non-finite input.
    pub fn update(&mut self, close: f64) -> Option<f64> {
        if !close.is_finite() {
            return None;
        }
        // The first close only sets the reference for the next change.
        let prev = self.prev_close.replace(close)?;
        let change = close - prev;
        let gain = self.gain.update(change.max(0.0));
        let loss = self.loss.update((-change).max(0.0));
        if let (Some(g), Some(l)) = (gain, loss) {
            let total = g + l;
            self.value = Some(if total > 0.0 { 100.0 * g / total } else { 50.0 });
        }
        self.value
    }

    /// The current RSI, `None` during warm-up.
    pub fn value(&self) -> Option<f64> {
        self.value
    }

    /// The period this RSI was built with.
    pub fn period(&self) -> usize {
        self.period
    }
}

// ---------------------------------------------------------------------------
// ATR
// ---------------------------------------------------------------------------

/// Average true range with Wilder smoothing (see the module docs).
#[derive(Clone, Debug)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    mean: Wilder,
}

impl Atr {
    /// An ATR over `period` candles (1 to [`INDICATOR_PERIOD_MAX`]).
    pub fn new(period: usize) -> Result<Atr, ParamError> {
        check_period("period", period)?;
        Ok(Atr {
            period,
            prev_close: None,
            mean: Wilder::new(period),
        })
    }

    /// Feeds one candle; returns the ATR after it, or `None` during warm-up (the
    /// first `period - 1` candles) and for a non-finite input.
    pub fn update(&mut self, candle: Hlc) -> Option<f64> {
        if !candle.is_finite() {
            return None;
        }
        let range = candle.high - candle.low;
        let true_range = match self.prev_close {
            None => range,
            Some(pc) => range
                .max((candle.high - pc).abs())
                .max((candle.low - pc).abs()),
        };
        self.prev_close = Some(candle.close);
        self.mean.update(true_range)
    }

    /// The current ATR, `None` during warm-up.
    pub fn value(&self) -> Option<f64> {
        self.mean.value
    }

    /// The period this ATR was built with.
    pub fn period(&self) -> usize {
        self.period
    }
}

// ---------------------------------------------------------------------------
// Supertrend
// ---------------------------------------------------------------------------

/// The direction of a [`Supertrend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    /// Price above the trailing lower band.
    Up,
    /// Price below the trailing upper band.
    Down,
}

/// One Supertrend output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SupertrendValue {
    /// The direction after this candle.
    pub trend: Trend,
    /// The Supertrend line: `lower` in an uptrend, `upper` in a downtrend.
    pub line: f64,
    /// The final (carried) upper band.
    pub upper: f64,
    /// The final (carried) lower band.
    pub lower: f64,
    /// The ATR it was computed with.
    pub atr: f64,
}

/// Supertrend over an ATR (see the module docs for the exact rules).
#[derive(Clone, Debug)]
pub struct Supertrend {
    atr: Atr,
    multiplier: f64,
    /// The previous output and the close it was computed on.
    prev: Option<(SupertrendValue, f64)>,
}

impl Supertrend {
    /// Supertrend with an ATR over `period` candles (1 to
    /// [`INDICATOR_PERIOD_MAX`]) and bands `multiplier` ATRs from the mid-price
    /// (finite, positive).
    pub fn new(period: usize, multiplier: f64) -> Result<Supertrend, ParamError> {
        check_multiplier("multiplier", multiplier)?;
        Ok(Supertrend {
            atr: Atr::new(period)?,
            multiplier,
            prev: None,
        })
    }

    /// Feeds one candle; returns the Supertrend after it, or `None` during
    /// warm-up (the first `period - 1` candles) and for a non-finite input.
    pub fn update(&mut self, candle: Hlc) -> Option<SupertrendValue> {
        let atr = self.atr.update(candle)?;
        let mid = (candle.high + candle.low) / 2.0;
        let basic_upper = mid + self.multiplier * atr;
        let basic_lower = mid - self.multiplier * atr;
        let (upper, lower, trend) = match self.prev {
            None => {
                let trend = if candle.close > basic_upper {
                    Trend::Up
                } else {
                    Trend::Down
                };
                (basic_upper, basic_lower, trend)
            }
            Some((prev, prev_close)) => {
                let upper = if basic_upper < prev.upper || prev_close > prev.upper {
                    basic_upper
                } else {
                    prev.upper
                };
                let lower = if basic_lower > prev.lower || prev_close < prev.lower {
                    basic_lower
                } else {
                    prev.lower
                };
                let trend = match prev.trend {
                    Trend::Down if candle.close > upper => Trend::Up,
                    Trend::Up if candle.close < lower => Trend::Down,
                    unchanged => unchanged,
                };
                (upper, lower, trend)
            }
        };
        let value = SupertrendValue {
            trend,
            line: match trend {
                Trend::Up => lower,
                Trend::Down => upper,
            },
            upper,
            lower,
            atr,
        };
        self.prev = Some((value, candle.close));
        Some(value)
    }

    /// The current value, `None` during warm-up.
    pub fn value(&self) -> Option<SupertrendValue> {
        self.prev.map(|(value, _)| value)
    }

    /// The ATR period this Supertrend was built with.
    pub fn period(&self) -> usize {
        self.atr.period()
    }

    /// The band multiplier this Supertrend was built with.
    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }
}

// ---------------------------------------------------------------------------
// Batch helpers
// ---------------------------------------------------------------------------

/// [`Ema`] over a whole series: one output per input.
pub fn ema_series(values: &[f64], period: usize) -> Result<Vec<Option<f64>>, ParamError> {
    let mut ema = Ema::new(period)?;
    Ok(values.iter().map(|&x| ema.update(x)).collect())
}

/// [`Rsi`] over a whole series of closes: one output per input.
pub fn rsi_series(closes: &[f64], period: usize) -> Result<Vec<Option<f64>>, ParamError> {
    let mut rsi = Rsi::new(period)?;
    Ok(closes.iter().map(|&x| rsi.update(x)).collect())
}

/// [`Atr`] over a whole series of candles: one output per input.
pub fn atr_series(candles: &[Hlc], period: usize) -> Result<Vec<Option<f64>>, ParamError> {
    let mut atr = Atr::new(period)?;
    Ok(candles.iter().map(|&c| atr.update(c)).collect())
}

/// [`Supertrend`] over a whole series of candles: one output per input.
pub fn supertrend_series(
    candles: &[Hlc],
    period: usize,
    multiplier: f64,
) -> Result<Vec<Option<SupertrendValue>>, ParamError> {
    let mut st = Supertrend::new(period, multiplier)?;
    Ok(candles.iter().map(|&c| st.update(c)).collect())
}

#[cfg(test)]
mod tests;
