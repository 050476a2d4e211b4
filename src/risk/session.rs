//! Market time in IST (UTC+05:30, no daylight saving): time of day, trading day,
//! weekday and the session phases the guards and the square-off use.

use std::time::Duration;

use super::RiskParams;
use crate::scheduler::IstTime;
use crate::wallet::{Timestamp, TradingDay};

/// IST is UTC+05:30 all year.
pub const IST_OFFSET_MS: i64 = (5 * 3600 + 30 * 60) * 1000;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Midnight IST, for the (unreachable) fallback of [`ist_time_of_day`].
const MIDNIGHT: IstTime = match IstTime::new(0, 0, 0) {
    Some(t) => t,
    None => panic!("00:00:00 is a time of day"),
};

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Saturday or Sunday: the exchanges are closed.
    pub const fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }
}

/// Where `now` falls in the trading session (see [`session_phase`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionPhase {
    /// Saturday or Sunday (IST).
    Weekend,
    /// A weekday before `session_start`.
    BeforeOpen,
    /// Entries allowed by the clock.
    Open,
    /// From `square_off_time` to `session_end`: positions are squared off and
    /// nothing new is opened.
    AfterSquareOff,
    /// From `session_end` to midnight.
    AfterClose,
}

/// Milliseconds since midnight IST, in `0..DAY_MS`.
pub fn ist_ms_of_day(ts: Timestamp) -> i64 {
    ts.epoch_ms()
        .saturating_add(IST_OFFSET_MS)
        .rem_euclid(DAY_MS)
}

/// The IST time of day of `ts`, truncated to the whole second.
pub fn ist_time_of_day(ts: Timestamp) -> IstTime {
    let secs = ist_ms_of_day(ts) / 1000;
    // In range by construction: 0 <= secs < 86,400.
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (u32::try_from(h), u32::try_from(m), u32::try_from(s)) {
        (Ok(h), Ok(m), Ok(s)) => IstTime::new(h, m, s).unwrap_or(MIDNIGHT),
        _ => MIDNIGHT,
    }
}

/// The IST calendar day of `ts` (the day a day roll starts).
pub fn trading_day(ts: Timestamp) -> TradingDay {
    let days = ts
        .epoch_ms()
        .saturating_add(IST_OFFSET_MS)
        .div_euclid(DAY_MS);
    TradingDay::from_days_since_epoch(i32::try_from(days).unwrap_or(if days < 0 {
        i32::MIN
    } else {
        i32::MAX
    }))
}

/// The day of the week of `day` (1970-01-01 was a Thursday).
pub fn weekday(day: TradingDay) -> Weekday {
    const WEEK: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    // rem_euclid(7) is in 0..7.
    let index = (i64::from(day.days_since_epoch()) + 3).rem_euclid(7);
    WEEK[usize::try_from(index).unwrap_or(0)]
}

/// `ts + span`, saturating at the end of time.
pub fn add_duration(ts: Timestamp, span: Duration) -> Timestamp {
    Timestamp::from_epoch_ms(ts.epoch_ms().saturating_add(duration_ms(span)))
}

/// A span in whole milliseconds, saturating.
pub(crate) fn duration_ms(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// Whether a quote stamped `quote_ts` is still usable at `now`: at most
/// `stale_after` old. A quote stamped in the future (clock skew) counts as fresh.
pub fn quote_is_fresh(quote_ts: Timestamp, now: Timestamp, stale_after: Duration) -> bool {
    now.epoch_ms().saturating_sub(quote_ts.epoch_ms()) <= duration_ms(stale_after)
}

fn at_or_after(ms_of_day: i64, t: IstTime) -> bool {
    ms_of_day >= i64::from(t.secs_of_day()) * 1000
}

/// Where `now` falls in the session of `params`. Without
/// `enforce_market_hours` it is always [`SessionPhase::Open`]. Intervals are
/// half-open: 09:19:59.999 is before the open, 09:20:00 is open, 15:15:00 is
/// after the square-off. Exchange holidays are not known here: a holiday looks
/// like a weekday with no fresh quotes, and the stale-data guard blocks entries.
pub fn session_phase(now: Timestamp, params: &RiskParams) -> SessionPhase {
    if !params.enforce_market_hours {
        return SessionPhase::Open;
    }
    if weekday(trading_day(now)).is_weekend() {
        return SessionPhase::Weekend;
    }
    let ms = ist_ms_of_day(now);
    if !at_or_after(ms, params.session_start) {
        SessionPhase::BeforeOpen
    } else if at_or_after(ms, params.session_end) {
        SessionPhase::AfterClose
    } else if params.enable_square_off && at_or_after(ms, params.square_off_time) {
        SessionPhase::AfterSquareOff
    } else {
        SessionPhase::Open
    }
}

/// Whether a position opened at `entry_ts` must be squared off at `now`: with
/// `enforce_market_hours` and `enable_square_off`, once the IST time of day is at
/// or after `square_off_time`, or whenever the position was opened on an earlier
/// IST day (a position left over by a process that was down at the square-off).
pub fn square_off_due(entry_ts: Timestamp, now: Timestamp, params: &RiskParams) -> bool {
    params.enforce_market_hours
        && params.enable_square_off
        && (at_or_after(ist_ms_of_day(now), params.square_off_time)
            || trading_day(now) > trading_day(entry_ts))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// 2025-09-26 (a Friday) 00:00 IST, in epoch ms.
    pub(crate) const FRI_MIDNIGHT_IST_MS: i64 = 1_758_825_000_000;

    /// `h:m:s` IST on Friday 2025-09-26 plus `days`.
    pub(crate) fn ist(days: i64, h: i64, m: i64, s: i64) -> Timestamp {
        Timestamp::from_epoch_ms(
            FRI_MIDNIGHT_IST_MS + days * DAY_MS + ((h * 60 + m) * 60 + s) * 1000,
        )
    }

    #[test]
    fn ist_clock_and_calendar() {
        // 2025-09-26 03:45:00 UTC is 09:15 IST (same instant as the wallet's test).
        let open = Timestamp::from_epoch_ms(1_758_858_300_000);
        assert_eq!(open, ist(0, 9, 15, 0));
        assert_eq!(ist_time_of_day(open), IstTime::new(9, 15, 0).unwrap());
        assert_eq!(trading_day(open).to_string(), "2025-09-26");
        assert_eq!(weekday(trading_day(open)), Weekday::Friday);
        // 18:29:59.999 UTC on the 26th is 23:59:59 IST the 26th; one ms later the 27th.
        let last = Timestamp::from_epoch_ms(FRI_MIDNIGHT_IST_MS + DAY_MS - 1);
        assert_eq!(trading_day(last).to_string(), "2025-09-26");
        assert_eq!(ist_time_of_day(last), IstTime::new(23, 59, 59).unwrap());
        assert_eq!(ist_ms_of_day(last), DAY_MS - 1);
        let next = ist(1, 0, 0, 0);
        assert_eq!(trading_day(next).to_string(), "2025-09-27");
        assert_eq!(weekday(trading_day(next)), Weekday::Saturday);
        assert_eq!(weekday(trading_day(ist(2, 12, 0, 0))), Weekday::Sunday);
        assert_eq!(weekday(trading_day(ist(3, 12, 0, 0))), Weekday::Monday);
        assert_eq!(
            weekday(TradingDay::from_days_since_epoch(0)),
            Weekday::Thursday
        );
        assert_eq!(
            weekday(TradingDay::from_days_since_epoch(-1)),
            Weekday::Wednesday
        );
        // Before the epoch: 1969-12-31 18:29:59.999 UTC is 23:59:59 IST.
        let before = Timestamp::from_epoch_ms(-IST_OFFSET_MS - 1);
        assert_eq!(trading_day(before).to_string(), "1969-12-31");
        assert_eq!(ist_time_of_day(before), IstTime::new(23, 59, 59).unwrap());
        // Extremes do not panic.
        let _ = trading_day(Timestamp::from_epoch_ms(i64::MAX));
        let _ = trading_day(Timestamp::from_epoch_ms(i64::MIN));
        let _ = ist_time_of_day(Timestamp::from_epoch_ms(i64::MIN));
    }

    #[test]
    fn session_boundaries_in_ist() {
        fn check(ts: Timestamp, expected: SessionPhase) {
            assert_eq!(session_phase(ts, &RiskParams::default()), expected, "{ts}");
        }
        use SessionPhase::*;
        check(ist(0, 0, 0, 0), BeforeOpen);
        check(ist(0, 9, 15, 0), BeforeOpen);
        check(ist(0, 9, 19, 59), BeforeOpen);
        check(
            Timestamp::from_epoch_ms(ist(0, 9, 20, 0).epoch_ms() - 1),
            BeforeOpen,
        );
        check(ist(0, 9, 20, 0), Open);
        check(ist(0, 15, 14, 59), Open);
        check(ist(0, 15, 15, 0), AfterSquareOff);
        check(ist(0, 15, 24, 59), AfterSquareOff);
        check(ist(0, 15, 25, 0), AfterClose);
        check(ist(0, 23, 59, 59), AfterClose);
        check(ist(1, 10, 0, 0), Weekend);
        check(ist(2, 10, 0, 0), Weekend);
        check(ist(3, 9, 20, 0), Open);

        let free = RiskParams {
            enforce_market_hours: false,
            ..RiskParams::default()
        };
        assert_eq!(session_phase(ist(1, 3, 0, 0), &free), Open);
        let no_square_off = RiskParams {
            enable_square_off: false,
            ..RiskParams::default()
        };
        assert_eq!(session_phase(ist(0, 15, 20, 0), &no_square_off), Open);
    }

    #[test]
    fn square_off_is_due_at_its_time_or_on_a_later_day() {
        let p = RiskParams::default();
        let entry = ist(0, 10, 0, 0);
        assert!(!square_off_due(entry, ist(0, 15, 14, 59), &p));
        assert!(square_off_due(entry, ist(0, 15, 15, 0), &p));
        // Left over from Friday, seen Monday before the open.
        assert!(square_off_due(entry, ist(3, 9, 0, 0), &p));
        let free = RiskParams {
            enforce_market_hours: false,
            ..RiskParams::default()
        };
        assert!(!square_off_due(entry, ist(0, 15, 20, 0), &free));
        let off = RiskParams {
            enable_square_off: false,
            ..RiskParams::default()
        };
        assert!(!square_off_due(entry, ist(3, 9, 0, 0), &off));
    }

    #[test]
    fn quotes_go_stale_after_their_limit() {
        let now = ist(0, 10, 0, 10);
        let limit = Duration::from_secs(10);
        assert!(quote_is_fresh(ist(0, 10, 0, 0), now, limit));
        assert!(!quote_is_fresh(
            Timestamp::from_epoch_ms(ist(0, 10, 0, 0).epoch_ms() - 1),
            now,
            limit
        ));
        assert!(quote_is_fresh(ist(0, 10, 0, 11), now, limit));
        assert_eq!(
            add_duration(now, Duration::from_secs(180)),
            ist(0, 10, 3, 10)
        );
        assert_eq!(
            add_duration(Timestamp::from_epoch_ms(i64::MAX - 1), Duration::MAX),
            Timestamp::from_epoch_ms(i64::MAX)
        );
    }
}
