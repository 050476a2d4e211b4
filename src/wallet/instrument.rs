//! The nouns a wallet operation names: instruments, sides, time values and order
//! ids. Time enters the wallet only as these values; the wallet reads no clock.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::money::TickRounding;

/// The longest trading symbol accepted, in bytes.
pub const SYMBOL_LEN_MAX_BYTES: usize = 64;

/// The exchange segment of a tradable instrument (Dhan's names in `as_str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// NSE futures and options (NIFTY, BANKNIFTY).
    NseFno,
    /// BSE futures and options (SENSEX).
    BseFno,
}

/// The exchange that runs a segment: it decides the transaction charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exchange {
    Nse,
    Bse,
}

impl Segment {
    /// Dhan's segment name: `NSE_FNO`, `BSE_FNO`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Segment::NseFno => "NSE_FNO",
            Segment::BseFno => "BSE_FNO",
        }
    }

    pub const fn exchange(self) -> Exchange {
        match self {
            Segment::NseFno => Exchange::Nse,
            Segment::BseFno => Exchange::Bse,
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A segment name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSegment(pub String);

impl fmt::Display for UnknownSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown segment {:?}; use NSE_FNO or BSE_FNO", self.0)
    }
}

impl std::error::Error for UnknownSegment {}

impl FromStr for Segment {
    type Err = UnknownSegment;

    fn from_str(s: &str) -> Result<Segment, UnknownSegment> {
        match s {
            "NSE_FNO" => Ok(Segment::NseFno),
            "BSE_FNO" => Ok(Segment::BseFno),
            other => Err(UnknownSegment(other.to_owned())),
        }
    }
}

/// What a position is keyed by: one contract, never merged with another strike or
/// expiry (the original merged them by truncated ids and by symbol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstrumentKey {
    pub segment: Segment,
    /// The broker's security id of the contract (Dhan's are numeric).
    pub security_id: u64,
}

impl fmt::Display for InstrumentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.segment, self.security_id)
    }
}

/// A trading symbol such as `NIFTY 30 SEP 25000 CE`: shared, cheap to clone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(Arc<str>);

/// A symbol that is empty or longer than [`SYMBOL_LEN_MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSymbol(pub String);

impl fmt::Display for InvalidSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid symbol {:?}: it must have 1 to {SYMBOL_LEN_MAX_BYTES} bytes",
            self.0
        )
    }
}

impl std::error::Error for InvalidSymbol {}

impl Symbol {
    pub fn new(symbol: &str) -> Result<Symbol, InvalidSymbol> {
        if symbol.is_empty() || symbol.len() > SYMBOL_LEN_MAX_BYTES {
            return Err(InvalidSymbol(symbol.to_owned()));
        }
        Ok(Symbol(Arc::from(symbol)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A contract: its key and its symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instrument {
    pub key: InstrumentKey,
    pub symbol: Symbol,
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.symbol, self.key)
    }
}

/// The side of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The conservative tick rounding of a paper fill on this side: a buy pays the
    /// tick at or above, a sell receives the tick at or below.
    pub const fn tick_rounding(self) -> TickRounding {
        match self {
            Side::Buy => TickRounding::Up,
            Side::Sell => TickRounding::Down,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        })
    }
}

/// A point in time: milliseconds since the Unix epoch (UTC). The caller's clock
/// makes it; the wallet only compares and stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_epoch_ms(epoch_ms: i64) -> Timestamp {
        Timestamp(epoch_ms)
    }

    pub const fn epoch_ms(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shown in IST, the market's time zone (UTC+05:30, no daylight saving).
        const IST_OFFSET_MS: i64 = (5 * 3600 + 30 * 60) * 1000;
        const DAY_MS: i64 = 86_400_000;
        let local_ms = self.0.saturating_add(IST_OFFSET_MS);
        let day = i32::try_from(local_ms.div_euclid(DAY_MS)).unwrap_or(i32::MAX);
        let ms_of_day = local_ms.rem_euclid(DAY_MS);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{} {:02}:{:02}:{:02} IST",
            TradingDay::from_days_since_epoch(day),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// A trading day: days since 1970-01-01 counted in IST. Displays as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TradingDay(i32);

impl TradingDay {
    pub const fn from_days_since_epoch(days: i32) -> TradingDay {
        TradingDay(days)
    }

    pub const fn days_since_epoch(self) -> i32 {
        self.0
    }
}

impl fmt::Display for TradingDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Howard Hinnant's civil_from_days, in i64 so no input overflows.
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

/// The broker's idempotency key of an order: a fill carrying an id the wallet has
/// recently seen is refused as a duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientOrderId(pub u64);

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_display_in_ist() {
        fn check(days: i32, expected: &str) {
            assert_eq!(
                TradingDay::from_days_since_epoch(days).to_string(),
                expected
            );
        }
        check(0, "1970-01-01");
        check(-1, "1969-12-31");
        check(19_723, "2024-01-01");
        check(20_358, "2025-09-27");
        check(11_016, "2000-02-29");
        // 2025-09-26 03:45:00 UTC is 09:15 IST, the market open.
        assert_eq!(
            Timestamp::from_epoch_ms(1_758_858_300_000).to_string(),
            "2025-09-26 09:15:00 IST"
        );
        assert_eq!(
            Timestamp::from_epoch_ms(-1).to_string(),
            "1970-01-01 05:29:59 IST"
        );
    }

    #[test]
    fn segments_round_trip_their_names() {
        for s in [Segment::NseFno, Segment::BseFno] {
            assert_eq!(s.as_str().parse::<Segment>(), Ok(s));
        }
        assert_eq!(
            "NSE_EQ".parse::<Segment>().unwrap_err().to_string(),
            "unknown segment \"NSE_EQ\"; use NSE_FNO or BSE_FNO"
        );
        assert!(Symbol::new("").is_err());
        assert!(Symbol::new(&"X".repeat(SYMBOL_LEN_MAX_BYTES + 1)).is_err());
    }
}
