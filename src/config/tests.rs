//! Unit tests of the config's helpers; the loader end to end is in
//! `tests/config.rs`.

use std::time::Duration;

use rust_decimal::Decimal;

use super::emit::seconds_text;
use super::error::{Position, edit_distance, key_path_at};
use super::validate::parse_weekday;
use super::*;

#[test]
fn builtin_parses() {
    let config = Config::load(None);
    assert!(config.is_ok(), "{}", config.unwrap_err());
}

#[test]
fn edit_distance_matches_hand_counts() {
    fn check(a: &str, b: &str, want: usize) {
        assert_eq!(edit_distance(a, b), want, "{a} -> {b}");
        assert_eq!(edit_distance(b, a), want, "{b} -> {a}");
    }
    check("", "", 0);
    check("", "abc", 3);
    check("tp_pct", "tp_pct", 0);
    check("tp_pctt", "tp_pct", 1); // one deletion
    check("globl", "global", 1); // one insertion
    check("lot_sise", "lot_size", 1); // one substitution
    check("kitten", "sitting", 3);
}

#[test]
fn key_path_is_read_from_indentation() {
    let text = "\
# comment
global:
  tp_pct: 0.3

  # another
  tp_pctt: 1
SYMBOLS:
  NIFTY:
    lot_sise: 50
flow: {a: 1, b: 2}
";
    let at = |line, column| key_path_at(text, Position { line, column });
    assert_eq!(at(2, 1).as_deref(), Some("global"));
    assert_eq!(at(6, 3).as_deref(), Some("global.tp_pctt"));
    assert_eq!(at(6, 12).as_deref(), Some("global.tp_pctt"));
    assert_eq!(at(9, 5).as_deref(), Some("SYMBOLS.NIFTY.lot_sise"));
    // Inside a flow mapping the line's key is not the one at the column.
    assert_eq!(at(10, 14), None);
    // Out of range.
    assert_eq!(at(0, 1), None);
    assert_eq!(at(99, 1), None);
}

#[test]
fn weekdays_parse_from_ruby_numbers_and_names() {
    use time::Weekday::*;
    for (text, want) in [
        ("0", Some(Sunday)),
        ("2", Some(Tuesday)),
        ("6", Some(Saturday)),
        ("7", None),
        ("-1", None),
        ("Tuesday", Some(Tuesday)),
        ("thursday", Some(Thursday)),
        ("THU", Some(Thursday)),
        ("tues", None),
        ("", None),
    ] {
        assert_eq!(parse_weekday(text), want, "{text:?}");
    }
}

#[test]
fn time_of_day_bounds_and_text() {
    assert_eq!(TimeOfDay::new(24, 0), None);
    assert_eq!(TimeOfDay::new(9, 60), None);
    let t = TimeOfDay::new(9, 5).unwrap();
    assert_eq!(t.to_string(), "09:05");
    assert_eq!(t.minutes_of_day(), 545);
    assert_eq!(t.to_ist_time().map(|i| i.secs_of_day()), Some(545 * 60));
    let s = SessionHours {
        start: MARKET_OPEN,
        end: MARKET_CLOSE,
    };
    assert!(s.contains(MARKET_OPEN));
    assert!(!s.contains(MARKET_CLOSE));
}

/// Durations print exactly and parse back exactly, fractions included.
/// Randomized: `CONFIG_SEED=N` replays a run.
#[test]
fn durations_round_trip_through_the_effective_yaml() {
    let seed = std::env::var("CONFIG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("CONFIG_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut config = Config::builtin();
    for _ in 0..50 {
        let d = Duration::new(rng.u64(0..DURATION_SECS_MAX), rng.u32(0..1_000_000_000));
        if d.is_zero() {
            continue;
        }
        let text = seconds_text(d);
        assert!(Decimal::from_str_exact(&text).is_ok(), "{text}");
        config.global.risk_loop_interval = d;
        config.global.decision_interval = d;
        let yaml = config.effective_yaml();
        let back = Config::parse(&yaml, Path::new("effective.yml"))
            .unwrap_or_else(|e| panic!("CONFIG_SEED={seed}: {e}"));
        assert_eq!(back, config, "CONFIG_SEED={seed}: {d:?} printed as {text}");
    }
}

#[test]
fn day_loss_limit_is_the_stricter_key_when_enabled() {
    let mut g = Config::builtin().global;
    g.max_day_loss = crate::money::Amount::from_rupees(3000);
    g.max_daily_loss_rs = crate::money::Amount::from_rupees(2500);
    assert_eq!(
        g.daily_loss_limit(),
        Some(crate::money::Amount::from_rupees(2500))
    );
    g.enable_daily_loss_limit = false;
    assert_eq!(g.daily_loss_limit(), None);
}
