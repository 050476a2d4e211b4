//! The IST calendar facts market data needs: the trading day of a timestamp, its
//! weekday, the session close and the next weekly expiry.
//!
//! India keeps one offset all year (UTC+05:30, no daylight saving), so these are
//! plain integer arithmetic on epoch milliseconds. Exchange holidays are not
//! modelled: an expiry that falls on a holiday is not moved to the day before.

use crate::wallet::{Timestamp, TradingDay};

/// IST is UTC+05:30.
pub const IST_OFFSET_MS: i64 = (5 * 3600 + 30 * 60) * 1000;

/// Milliseconds in a calendar day.
pub const DAY_MS: i64 = 86_400_000;

/// The cash session closes at 15:30 IST; options expire at that time on their
/// expiry day. In milliseconds after IST midnight.
pub const SESSION_CLOSE_IST_MS: i64 = (15 * 3600 + 30 * 60) * 1000;

/// The IST calendar day of `ts`.
pub fn ist_day(ts: Timestamp) -> TradingDay {
    let days = ts
        .epoch_ms()
        .saturating_add(IST_OFFSET_MS)
        .div_euclid(DAY_MS);
    // Only timestamps hundreds of millions of years away overflow i32 days: clamp.
    let days = i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX });
    TradingDay::from_days_since_epoch(days)
}

/// Milliseconds since IST midnight of `ts` (0 ..= 86_399_999).
pub fn ist_ms_of_day(ts: Timestamp) -> i64 {
    ts.epoch_ms()
        .saturating_add(IST_OFFSET_MS)
        .rem_euclid(DAY_MS)
}

/// The weekday of `day`, numbered as Ruby's `Date#wday` (and the original bot's
/// `expiry_wday`): 0 = Sunday, 1 = Monday, 2 = Tuesday, ... 6 = Saturday.
pub fn weekday(day: TradingDay) -> u8 {
    // 1970-01-01 was a Thursday (4).
    let wday = (i64::from(day.days_since_epoch()) + 4).rem_euclid(7);
    u8::try_from(wday).unwrap_or(0)
}

/// The instant the session of `day` closes (15:30 IST), which is also when an
/// option expiring that day expires.
pub fn session_close(day: TradingDay) -> Timestamp {
    Timestamp::from_epoch_ms(
        i64::from(day.days_since_epoch()) * DAY_MS - IST_OFFSET_MS + SESSION_CLOSE_IST_MS,
    )
}

/// The weekly expiry in force at `now` for an underlying that expires on weekday
/// `expiry_wday` (0 = Sunday ... 6 = Saturday; values above 6 count modulo 7).
///
/// It is the first day on or after today (IST) with that weekday; when today is
/// that weekday and the session is over (at or after 15:30 IST), it is the same
/// weekday of the following week. Holidays are not modelled.
pub fn next_expiry(now: Timestamp, expiry_wday: u8) -> TradingDay {
    let today = ist_day(now);
    let mut ahead = (i32::from(expiry_wday % 7) - i32::from(weekday(today))).rem_euclid(7);
    if ahead == 0 && ist_ms_of_day(now) >= SESSION_CLOSE_IST_MS {
        ahead = 7;
    }
    TradingDay::from_days_since_epoch(today.days_since_epoch().saturating_add(ahead))
}

/// Whether a contract expiring on `expiry` can still trade at `now`: `now` is
/// before the session close of the expiry day.
pub fn expiry_is_live(expiry: TradingDay, now: Timestamp) -> bool {
    now < session_close(expiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-12-02 (a Tuesday) at `hh:mm` IST.
    fn dec2(hh: i64, mm: i64) -> Timestamp {
        // 2025-12-02 is day 20424 since the epoch.
        Timestamp::from_epoch_ms(20_424 * DAY_MS - IST_OFFSET_MS + (hh * 3600 + mm * 60) * 1000)
    }

    #[test]
    fn weekdays_and_days() {
        assert_eq!(ist_day(dec2(9, 15)).to_string(), "2025-12-02");
        assert_eq!(weekday(ist_day(dec2(9, 15))), 2);
        assert_eq!(weekday(TradingDay::from_days_since_epoch(0)), 4);
        assert_eq!(weekday(TradingDay::from_days_since_epoch(-1)), 3);
        // 00:10 IST is still the previous UTC day.
        assert_eq!(ist_day(dec2(0, 10)).to_string(), "2025-12-02");
        assert_eq!(ist_ms_of_day(dec2(15, 30)), SESSION_CLOSE_IST_MS);
        assert_eq!(session_close(ist_day(dec2(9, 0))), dec2(15, 30));
    }

    #[test]
    fn expiry_rolls_after_the_close_of_expiry_day() {
        fn check(now: Timestamp, wday: u8, expected: &str) {
            assert_eq!(next_expiry(now, wday).to_string(), expected, "wday {wday}");
        }
        // Tuesday expiry on a Tuesday: today until 15:30, then next week.
        check(dec2(9, 15), 2, "2025-12-02");
        check(dec2(15, 29), 2, "2025-12-02");
        check(dec2(15, 30), 2, "2025-12-09");
        // Thursday expiry seen on a Tuesday.
        check(dec2(9, 15), 4, "2025-12-04");
        check(dec2(16, 0), 4, "2025-12-04");
        // Monday expiry seen on a Tuesday: next Monday.
        check(dec2(9, 15), 1, "2025-12-08");
        assert!(expiry_is_live(ist_day(dec2(9, 0)), dec2(15, 29)));
        assert!(!expiry_is_live(ist_day(dec2(9, 0)), dec2(15, 30)));
    }
}
