//! Signal tests: synthetic rising, falling and flat markets through the real
//! engine, the strength definition and the `min_signal_strength` gate.

use super::*;
use crate::money::Price;

const MINUTE_MS: i64 = 60_000;
const SECONDARY_MINUTES: usize = 5;

/// A price in whole paise, which must be on the tick.
fn price(rupees: f64) -> Price {
    Price::from_paise((rupees * 100.0).round() as i64).unwrap()
}

fn candle(minute: usize, open: f64, high: f64, low: f64, close: f64) -> Candle {
    Candle {
        start: Timestamp::from_epoch_ms(minute as i64 * MINUTE_MS),
        open: price(open),
        high: price(high),
        low: price(low),
        close: price(close),
        ticks: 1,
    }
}

/// The secondary candle made of `primary` (a whole 5-minute group).
fn aggregate(primary: &[Candle]) -> Candle {
    Candle {
        start: primary[0].start,
        open: primary[0].open,
        high: primary.iter().map(|c| c.high).max().unwrap(),
        low: primary.iter().map(|c| c.low).min().unwrap(),
        close: primary[primary.len() - 1].close,
        ticks: primary.iter().map(|c| c.ticks).sum(),
    }
}

/// Feeds `candles` in live order (each completed 5-minute candle just before
/// the 1-minute candle that closes it) and returns the signal after each.
fn run(engine: &mut SignalEngine, candles: &[Candle]) -> Vec<Signal> {
    let mut out = Vec::with_capacity(candles.len());
    for (i, c) in candles.iter().enumerate() {
        if (i + 1) % SECONDARY_MINUTES == 0 {
            let group = &candles[i + 1 - SECONDARY_MINUTES..=i];
            engine.on_secondary_candle(&aggregate(group));
        }
        out.push(engine.on_primary_candle(c));
    }
    out
}

/// Closes rise 3 points a minute; each candle spans open - 1 .. close + 1.
fn rising(len: usize) -> Vec<Candle> {
    (0..len)
        .map(|i| {
            let close = 22_000.0 + 3.0 * i as f64;
            let open = close - 2.0;
            candle(i, open, close + 1.0, open - 1.0, close)
        })
        .collect()
}

/// The mirror image of [`rising`].
fn falling(len: usize) -> Vec<Candle> {
    (0..len)
        .map(|i| {
            let close = 22_000.0 - 3.0 * i as f64;
            let open = close + 2.0;
            candle(i, open, open + 1.0, close - 1.0, close)
        })
        .collect()
}

fn flat(len: usize) -> Vec<Candle> {
    (0..len)
        .map(|i| candle(i, 22_000.0, 22_000.0, 22_000.0, 22_000.0))
        .collect()
}

const SERIES_MINUTES: usize = 120;

fn engine(use_multi_timeframe: bool) -> SignalEngine {
    SignalEngine::new(StrategyParams {
        use_multi_timeframe,
        ..StrategyParams::default()
    })
    .unwrap()
}

#[test]
fn defaults_are_the_originals() {
    let p = StrategyParams::default();
    assert_eq!(
        (
            p.supertrend_period,
            p.supertrend_multiplier,
            p.ema_fast,
            p.ema_slow,
            p.rsi_period,
            p.rsi_up,
            p.rsi_down,
            p.use_multi_timeframe,
            p.min_signal_strength
        ),
        (10, 2.0, 20, 50, 14, 55.0, 45.0, true, 0.6)
    );
    assert_eq!(p.validate(), Ok(()));
    assert_eq!(p.primary_warmup_candles(), 50);
    assert_eq!(p.secondary_warmup_candles(), 10);
}

#[test]
fn rising_market_is_bullish_with_strength_1() {
    for mtf in [false, true] {
        let mut e = engine(mtf);
        let signals = run(&mut e, &rising(SERIES_MINUTES));
        let last = signals[SERIES_MINUTES - 1];
        assert_eq!(
            last,
            Signal {
                direction: Direction::Bullish,
                strength: 1.0
            },
            "mtf {mtf}"
        );
        assert_eq!(last.option_type(), Some(OptionType::Ce));
        let votes = e.votes().unwrap();
        assert_eq!(votes.total(), if mtf { 4 } else { 3 });
        assert_eq!(votes.agreeing(), votes.total());
        assert_eq!(
            votes.secondary_supertrend,
            if mtf { Some(Trend::Up) } else { None }
        );
    }
}

#[test]
fn falling_market_is_bearish_with_strength_1() {
    for mtf in [false, true] {
        let mut e = engine(mtf);
        let signals = run(&mut e, &falling(SERIES_MINUTES));
        let last = signals[SERIES_MINUTES - 1];
        assert_eq!(
            last,
            Signal {
                direction: Direction::Bearish,
                strength: 1.0
            },
            "mtf {mtf}"
        );
        assert_eq!(last.option_type(), Some(OptionType::Pe));
    }
}

#[test]
fn flat_market_gives_no_signal() {
    // Supertrend on a flat market stays in its initial downtrend (the close
    // never rises above the upper band), but EMA fast == slow and RSI == 50
    // are neutral: strength 1/3 (2/4 with the 5-minute Supertrend, also down),
    // below 0.6.
    for (mtf, strength) in [(false, 1.0 / 3.0), (true, 0.5)] {
        let mut e = engine(mtf);
        let signals = run(&mut e, &flat(SERIES_MINUTES));
        assert!(
            signals.iter().all(|s| s.direction == Direction::None),
            "mtf {mtf}"
        );
        assert_eq!(signals[SERIES_MINUTES - 1].strength, strength, "mtf {mtf}");
        let votes = e.votes().unwrap();
        assert_eq!((votes.ema, votes.rsi), (Vote::Neutral, Vote::Neutral));
    }
}

#[test]
fn no_signal_until_warm() {
    // Without the secondary timeframe: the 50th candle (EMA 50) is the first
    // with a signal. With it: also 10 five-minute candles, so minute 50 as well
    // (the 10th five-minute candle closes with the 50th minute).
    for mtf in [false, true] {
        let mut e = engine(mtf);
        let signals = run(&mut e, &rising(SERIES_MINUTES));
        let warm = signals.iter().position(|s| s.strength > 0.0).unwrap();
        assert_eq!(warm, 49, "mtf {mtf}");
        assert!(signals[..49].iter().all(|s| *s == Signal::NONE));
    }
    // A secondary timeframe that is fed nothing keeps the engine cold.
    let mut e = engine(true);
    let signals: Vec<Signal> = rising(SERIES_MINUTES)
        .iter()
        .map(|c| e.on_primary_candle(c))
        .collect();
    assert!(signals.iter().all(|s| *s == Signal::NONE));
    assert!(!e.is_warm());
    assert!(e.readings().ema_slow.is_some());
    assert!(e.readings().secondary_supertrend.is_none());
}

#[test]
fn strength_is_the_fraction_of_agreeing_votes() {
    fn check(votes: Votes, agreeing: u32, total: u32) {
        assert_eq!(
            (votes.agreeing(), votes.total()),
            (agreeing, total),
            "{votes:?}"
        );
        assert_eq!(votes.strength(), f64::from(agreeing) / f64::from(total));
    }
    let up = |ema, rsi, secondary| Votes {
        supertrend: Trend::Up,
        ema,
        rsi,
        secondary_supertrend: secondary,
    };
    use Vote::*;
    check(up(Up, Up, None), 3, 3);
    check(up(Up, Neutral, None), 2, 3);
    check(up(Down, Up, None), 2, 3);
    check(up(Down, Neutral, None), 1, 3);
    check(up(Up, Up, Some(Trend::Up)), 4, 4);
    check(up(Up, Up, Some(Trend::Down)), 3, 4);
    check(up(Neutral, Up, Some(Trend::Down)), 2, 4);
    let down = Votes {
        supertrend: Trend::Down,
        ema: Down,
        rsi: Up,
        secondary_supertrend: Some(Trend::Down),
    };
    check(down, 3, 4);
    assert_eq!(down.signal(0.6).direction, Direction::Bearish);
}

#[test]
fn min_signal_strength_gates_the_direction() {
    let two_of_three = Votes {
        supertrend: Trend::Up,
        ema: Vote::Up,
        rsi: Vote::Neutral,
        secondary_supertrend: None,
    };
    // 2/3 = 0.667: fires at 0.6, not at 0.7; the strength is reported either way.
    assert_eq!(two_of_three.signal(0.6).direction, Direction::Bullish);
    let held = two_of_three.signal(0.7);
    assert_eq!(held.direction, Direction::None);
    assert_eq!(held.strength, 2.0 / 3.0);
    assert_eq!(held.option_type(), None);
    // The boundary is inclusive: strength 1 fires at 1.0, 2/4 fires at 0.5.
    let all = Votes {
        rsi: Vote::Up,
        ..two_of_three
    };
    assert_eq!(all.signal(1.0).direction, Direction::Bullish);
    let half = Votes {
        secondary_supertrend: Some(Trend::Down),
        ..two_of_three
    };
    assert_eq!(half.signal(0.5).direction, Direction::Bullish);
    assert_eq!(half.signal(0.6).direction, Direction::None);
}

#[test]
fn gate_in_the_engine_on_a_fading_trend() {
    // A rise, then a zigzag (+2, -2, ...): RSI drifts back towards 50 while the
    // EMAs and the Supertrend still point up, so strength drops from 1 to 2/3.
    // An engine at 0.6 stays bullish there; one at 0.7 says none.
    let mut candles = rising(60);
    let mut close = 22_000.0 + 3.0 * 59.0;
    for i in 60..200 {
        let next = if i % 2 == 0 { close + 2.0 } else { close - 2.0 };
        let (hi, lo) = (f64::max(close, next) + 1.0, f64::min(close, next) - 1.0);
        candles.push(candle(i, close, hi, lo, next));
        close = next;
    }
    let strict_params = StrategyParams {
        use_multi_timeframe: false,
        min_signal_strength: 0.7,
        ..StrategyParams::default()
    };
    let mut loose = engine(false);
    let mut strict = SignalEngine::new(strict_params).unwrap();
    let mut seen_gated = false;
    for c in &candles {
        let l = loose.on_primary_candle(c);
        let s = strict.on_primary_candle(c);
        assert_eq!(l.strength, s.strength);
        if l.strength == 2.0 / 3.0 && loose.votes().unwrap().supertrend == Trend::Up {
            assert_eq!(l.direction, Direction::Bullish);
            assert_eq!(s.direction, Direction::None);
            seen_gated = true;
        }
        if l.strength == 1.0 {
            assert_eq!(l.direction, s.direction);
        }
    }
    assert!(seen_gated, "the zigzag should bring RSI into 45..55");
}

#[test]
fn old_and_duplicate_candles_change_nothing() {
    let candles = rising(SERIES_MINUTES);
    let mut e = engine(false);
    let signals = run(&mut e, &candles);
    let readings = e.readings();
    // The same last candle again, and an older one with a wild price.
    assert_eq!(
        e.on_primary_candle(&candles[SERIES_MINUTES - 1]),
        signals[SERIES_MINUTES - 1]
    );
    let wild = candle(3, 10_000.0, 10_000.0, 10_000.0, 10_000.0);
    assert_eq!(e.on_primary_candle(&wild), signals[SERIES_MINUTES - 1]);
    assert_eq!(e.readings(), readings);
    assert_eq!(e.ignored_candles(), 2);

    let mut e = engine(true);
    let five = aggregate(&candles[..5]);
    assert_eq!(e.on_secondary_candle(&five), CandleOutcome::Used);
    assert_eq!(e.on_secondary_candle(&five), CandleOutcome::NotNewer);
    assert_eq!(
        engine(false).on_secondary_candle(&five),
        CandleOutcome::Unused
    );
}

#[test]
fn bad_params_are_refused_by_name() {
    fn check(params: StrategyParams, key: &str) {
        let err = SignalEngine::new(params).unwrap_err();
        assert_eq!(err.key, key, "{err}");
        assert!(
            err.to_string().starts_with("invalid strategy parameter "),
            "{err}"
        );
    }
    let d = StrategyParams::default;
    check(
        StrategyParams {
            supertrend_period: 0,
            ..d()
        },
        "supertrend_period",
    );
    check(
        StrategyParams {
            supertrend_multiplier: 0.0,
            ..d()
        },
        "supertrend_multiplier",
    );
    check(
        StrategyParams {
            supertrend_multiplier: f64::NAN,
            ..d()
        },
        "supertrend_multiplier",
    );
    check(StrategyParams { ema_fast: 0, ..d() }, "ema_fast");
    check(
        StrategyParams {
            ema_slow: 501,
            ..d()
        },
        "ema_slow",
    );
    check(
        StrategyParams {
            ema_fast: 50,
            ema_slow: 20,
            ..d()
        },
        "ema_fast",
    );
    check(
        StrategyParams {
            ema_fast: 20,
            ema_slow: 20,
            ..d()
        },
        "ema_fast",
    );
    check(
        StrategyParams {
            rsi_period: 0,
            ..d()
        },
        "rsi_period",
    );
    check(
        StrategyParams {
            rsi_up: 101.0,
            ..d()
        },
        "rsi_up",
    );
    check(
        StrategyParams {
            rsi_down: 60.0,
            ..d()
        },
        "rsi_down",
    );
    check(
        StrategyParams {
            rsi_down: -1.0,
            ..d()
        },
        "rsi_down",
    );
    check(
        StrategyParams {
            min_signal_strength: 1.5,
            ..d()
        },
        "min_signal_strength",
    );
    check(
        StrategyParams {
            min_signal_strength: f64::NAN,
            ..d()
        },
        "min_signal_strength",
    );
    assert_eq!(
        SignalEngine::new(StrategyParams {
            ema_fast: 50,
            ema_slow: 20,
            ..d()
        })
        .unwrap_err()
        .to_string(),
        "invalid strategy parameter ema_fast = 50 (ema_slow = 20): \
         the fast EMA period must be below the slow one, e.g. 20 and 50"
    );
}

#[test]
fn direction_names() {
    assert_eq!(Direction::Bullish.as_str(), "BULLISH");
    assert_eq!(Direction::Bearish.as_str(), "BEARISH");
    assert_eq!(Direction::None.as_str(), "NONE");
    assert_eq!(Signal::NONE.option_type(), None);
}
