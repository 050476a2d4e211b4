//! Candles from ticks: one [`CandleBuilder`] per instrument and width (the app
//! keeps a 1-minute and a 5-minute builder per index).
//!
//! A candle covers `[start, start + width)` with `start` a multiple of the width
//! in epoch milliseconds. IST is UTC+05:30, a whole number of minutes (and of
//! five minutes), so 1- and 5-minute candles are also aligned in IST: 09:15,
//! 09:20, ... A candle closes when a tick at or after its end arrives (or when
//! [`CandleBuilder::close_due`] is told the time has passed); a width with no
//! tick produces no candle. A tick earlier than the open candle is ignored and
//! counted. Pure: time enters as values.

use std::collections::VecDeque;
use std::time::Duration;

use crate::money::Price;
use crate::wallet::Timestamp;

use super::types::{Candle, Tick};

/// The most closed candles a builder keeps (a full 6h15m session of 1-minute
/// candles is 375).
pub const CANDLES_KEPT_MAX: usize = 10_000;

/// The widest candle: one day.
pub const CANDLE_WIDTH_MAX: Duration = Duration::from_secs(86_400);

/// Builds candles of one width from one instrument's ticks and keeps the last
/// closed ones.
#[derive(Clone, Debug)]
pub struct CandleBuilder {
    width_ms: i64,
    kept_max: usize,
    /// The candle being built.
    open: Option<Candle>,
    /// Closed candles, oldest first, at most `kept_max`.
    closed: VecDeque<Candle>,
    /// The start of the last closed candle: ticks in it or before it are late.
    closed_through_ms: Option<i64>,
    late_ticks: u64,
}

impl CandleBuilder {
    /// Candles of `width`, keeping the last `kept_max` closed ones (clamped to
    /// 1..=[`CANDLES_KEPT_MAX`]). `None` for a width under one millisecond or over
    /// [`CANDLE_WIDTH_MAX`].
    pub fn new(width: Duration, kept_max: usize) -> Option<CandleBuilder> {
        if width > CANDLE_WIDTH_MAX {
            return None;
        }
        let width_ms = i64::try_from(width.as_millis()).ok().filter(|&w| w >= 1)?;
        Some(CandleBuilder {
            width_ms,
            kept_max: kept_max.clamp(1, CANDLES_KEPT_MAX),
            open: None,
            closed: VecDeque::new(),
            closed_through_ms: None,
            late_ticks: 0,
        })
    }

    /// One-minute candles.
    pub fn one_minute(kept_max: usize) -> CandleBuilder {
        CandleBuilder {
            width_ms: 60_000,
            kept_max: kept_max.clamp(1, CANDLES_KEPT_MAX),
            open: None,
            closed: VecDeque::new(),
            closed_through_ms: None,
            late_ticks: 0,
        }
    }

    /// Five-minute candles.
    pub fn five_minutes(kept_max: usize) -> CandleBuilder {
        CandleBuilder {
            width_ms: 300_000,
            ..CandleBuilder::one_minute(kept_max)
        }
    }

    /// The width in milliseconds.
    pub fn width_ms(&self) -> i64 {
        self.width_ms
    }

    /// The start of the candle containing `ts`.
    pub fn bucket_start(&self, ts: Timestamp) -> Timestamp {
        Timestamp::from_epoch_ms(ts.epoch_ms().div_euclid(self.width_ms) * self.width_ms)
    }

    /// Adds a tick's LTP (use it with one instrument's ticks only).
    pub fn push_tick(&mut self, tick: &Tick) -> Option<Candle> {
        self.push(tick.ts, tick.ltp)
    }

    /// Adds a price at `ts`. Returns the candle this closed, if `ts` lies past
    /// the open candle.
    pub fn push(&mut self, ts: Timestamp, price: Price) -> Option<Candle> {
        let start = self.bucket_start(ts);
        if self
            .closed_through_ms
            .is_some_and(|closed| start.epoch_ms() <= closed)
        {
            self.late_ticks += 1;
            return None;
        }
        let mut just_closed = None;
        match &mut self.open {
            Some(candle) if candle.start == start => {
                candle.high = candle.high.max(price);
                candle.low = candle.low.min(price);
                candle.close = price;
                candle.ticks = candle.ticks.saturating_add(1);
                return None;
            }
            Some(candle) if start < candle.start => {
                self.late_ticks += 1;
                return None;
            }
            Some(_) => just_closed = self.close_open(),
            None => {}
        }
        self.open = Some(Candle {
            start,
            open: price,
            high: price,
            low: price,
            close: price,
            ticks: 1,
        });
        just_closed
    }

    /// Closes the open candle if `now` is at or past its end (so a decision at
    /// 09:16:00 sees the 09:15 candle even before the next tick). Returns it.
    pub fn close_due(&mut self, now: Timestamp) -> Option<Candle> {
        let end = self
            .open
            .map(|c| c.start.epoch_ms().saturating_add(self.width_ms))?;
        if now.epoch_ms() >= end {
            self.close_open()
        } else {
            None
        }
    }

    fn close_open(&mut self) -> Option<Candle> {
        let candle = self.open.take()?;
        self.closed_through_ms = Some(candle.start.epoch_ms());
        if self.closed.len() >= self.kept_max {
            self.closed.pop_front();
        }
        self.closed.push_back(candle);
        Some(candle)
    }

    /// The candle being built.
    pub fn open_candle(&self) -> Option<Candle> {
        self.open
    }

    /// Closed candles, oldest first (at most the bound).
    pub fn closed(&self) -> &VecDeque<Candle> {
        &self.closed
    }

    /// The latest closed candle.
    pub fn last_closed(&self) -> Option<Candle> {
        self.closed.back().copied()
    }

    /// Ticks ignored because they were earlier than the open candle.
    pub fn late_ticks(&self) -> u64 {
        self.late_ticks
    }
}
