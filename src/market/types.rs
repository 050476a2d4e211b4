//! The values a feed produces. Shared by `market`, `strategy`, `risk`, `broker`
//! and `app`; they carry no behaviour beyond small accessors.

use std::fmt;

use crate::money::Price;
use crate::wallet::{InstrumentKey, Segment, Symbol, Timestamp, TradingDay};

/// The segment a tick was quoted on: an index (Dhan's `IDX_I`) or a tradable
/// F&O segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TickSegment {
    /// An index value (`IDX_I`): not tradable, drives candles and signals.
    Index,
    /// A tradable contract on `NSE_FNO` or `BSE_FNO`.
    Fno(Segment),
}

impl TickSegment {
    /// Dhan's segment name: `IDX_I`, `NSE_FNO`, `BSE_FNO`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TickSegment::Index => "IDX_I",
            TickSegment::Fno(segment) => segment.as_str(),
        }
    }
}

impl fmt::Display for TickSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Call or put.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptionType {
    /// A call (`CE`).
    Ce,
    /// A put (`PE`).
    Pe,
}

impl OptionType {
    /// `CE` or `PE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OptionType::Ce => "CE",
            OptionType::Pe => "PE",
        }
    }
}

impl fmt::Display for OptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What makes an option tick an option: its expiry day, strike and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OptionContract {
    /// The expiry date (IST calendar day).
    pub expiry: TradingDay,
    /// The strike, on the strike step of its underlying.
    pub strike: Price,
    pub option_type: OptionType,
}

/// One quote: an index value or an option's last price with optional depth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    /// Exchange time of the quote.
    pub ts: Timestamp,
    pub segment: TickSegment,
    /// The broker's security id (the index's own id for index ticks).
    pub security_id: u64,
    /// The underlying index's name, e.g. `NIFTY` (for an index tick, itself).
    pub underlying: Symbol,
    /// `None` for an index tick.
    pub contract: Option<OptionContract>,
    /// Last traded price (index value for an index tick), on the 0.05 tick.
    pub ltp: Price,
    /// Best bid, when the source has depth.
    pub bid: Option<Price>,
    /// Best ask, when the source has depth.
    pub ask: Option<Price>,
    /// Traded volume, when the source has it.
    pub volume: Option<u64>,
}

impl Tick {
    /// The key a position in this contract has, or `None` for an index tick.
    pub fn instrument_key(&self) -> Option<InstrumentKey> {
        match self.segment {
            TickSegment::Index => None,
            TickSegment::Fno(segment) => Some(InstrumentKey {
                segment,
                security_id: self.security_id,
            }),
        }
    }
}

/// An OHLC bar of index values over `[start, start + width)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// The bar's first instant (aligned to its width in epoch time).
    pub start: Timestamp,
    pub open: Price,
    pub high: Price,
    pub low: Price,
    pub close: Price,
    /// How many ticks built the bar (at least 1).
    pub ticks: u32,
}
