//! Indicator tests: small series computed by hand (the arithmetic is in the
//! comments), warm-up, bad input, and the strategy's periods on a long
//! deterministic series checked against naive whole-series implementations
//! written here independently (closed-form sums instead of recurrences).

use super::*;

/// Absolute tolerance for hand-computed values (written with 6+ decimals).
const HAND_TOLERANCE: f64 = 1e-6;

/// Relative tolerance between the streaming and the naive implementations.
const CROSS_TOLERANCE: f64 = 1e-9;

fn assert_close(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() <= HAND_TOLERANCE,
        "{what}: got {got}, expected {expected}"
    );
}

fn assert_series(got: &[Option<f64>], expected: &[Option<f64>], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        match (g, e) {
            (Some(g), Some(e)) => assert_close(*g, *e, &format!("{what}[{i}]")),
            (None, None) => {}
            _ => panic!("{what}[{i}]: got {g:?}, expected {e:?}"),
        }
    }
}

fn hlc(high: f64, low: f64, close: f64) -> Hlc {
    Hlc { high, low, close }
}

#[test]
fn ema_3_by_hand() {
    // alpha = 2 / (3 + 1) = 0.5.
    // x1 = 2, x2 = 4: warm-up, None.
    // x3 = 6: seed = SMA(2, 4, 6) = 12 / 3 = 4.
    // x4 = 8: 0.5 * 8 + 0.5 * 4 = 6.
    // x5 = 12: 0.5 * 12 + 0.5 * 6 = 9.
    let got = ema_series(&[2.0, 4.0, 6.0, 8.0, 12.0], 3).unwrap();
    assert_series(
        &got,
        &[None, None, Some(4.0), Some(6.0), Some(9.0)],
        "EMA(3)",
    );
}

#[test]
fn ema_4_by_hand_with_non_half_alpha() {
    // alpha = 2 / 5 = 0.4.
    // seed = SMA(10, 11, 12, 13) = 46 / 4 = 11.5.
    // x5 = 20: 0.4 * 20 + 0.6 * 11.5 = 8 + 6.9 = 14.9.
    // x6 = 10: 0.4 * 10 + 0.6 * 14.9 = 4 + 8.94 = 12.94.
    let got = ema_series(&[10.0, 11.0, 12.0, 13.0, 20.0, 10.0], 4).unwrap();
    assert_series(
        &got,
        &[None, None, None, Some(11.5), Some(14.9), Some(12.94)],
        "EMA(4)",
    );
}

#[test]
fn ema_1_is_the_input() {
    // alpha = 2 / 2 = 1: the EMA is the last input.
    let got = ema_series(&[3.0, 7.0, 5.0], 1).unwrap();
    assert_series(&got, &[Some(3.0), Some(7.0), Some(5.0)], "EMA(1)");
}

#[test]
fn rsi_3_by_hand() {
    // Closes 10, 11, 10.5, 12, 11, 11.5 -> changes +1, -0.5, +1.5, -1, +0.5.
    // First averages over the first 3 changes (close 4):
    //   gain = (1 + 0 + 1.5) / 3 = 5/6, loss = (0 + 0.5 + 0) / 3 = 1/6
    //   RSI = 100 * (5/6) / (5/6 + 1/6) = 83.333333.
    // Close 5 (change -1):
    //   gain = (5/6 * 2 + 0) / 3 = 5/9, loss = (1/6 * 2 + 1) / 3 = 4/9
    //   RSI = 100 * (5/9) / 1 = 55.555556.
    // Close 6 (change +0.5):
    //   gain = (5/9 * 2 + 0.5) / 3 = 29/54, loss = (4/9 * 2 + 0) / 3 = 16/54
    //   RSI = 100 * 29 / 45 = 64.444444.
    let got = rsi_series(&[10.0, 11.0, 10.5, 12.0, 11.0, 11.5], 3).unwrap();
    assert_series(
        &got,
        &[
            None,
            None,
            None,
            Some(83.333_333),
            Some(55.555_556),
            Some(64.444_444),
        ],
        "RSI(3)",
    );
}

#[test]
fn rsi_extremes_and_flat() {
    // Only gains: loss average 0 -> 100. Only losses: gain average 0 -> 0.
    // No change at all: both 0 -> neutral 50.
    let up = rsi_series(&[1.0, 2.0, 3.0, 4.0], 2).unwrap();
    assert_series(&up, &[None, None, Some(100.0), Some(100.0)], "rising");
    let down = rsi_series(&[4.0, 3.0, 2.0, 1.0], 2).unwrap();
    assert_series(&down, &[None, None, Some(0.0), Some(0.0)], "falling");
    let flat = rsi_series(&[5.0, 5.0, 5.0, 5.0], 2).unwrap();
    assert_series(&flat, &[None, None, Some(50.0), Some(50.0)], "flat");
}

/// The eight candles of the Supertrend(3, 2) hand computation.
fn hand_candles() -> Vec<Hlc> {
    vec![
        hlc(11.0, 10.0, 10.5),
        hlc(12.0, 11.0, 11.5),
        hlc(12.0, 11.0, 11.5),
        hlc(16.0, 14.0, 15.5),
        hlc(19.0, 17.0, 18.5),
        hlc(19.0, 17.0, 17.5),
        hlc(14.0, 12.0, 12.5),
        hlc(11.0, 9.0, 9.5),
    ]
}

#[test]
fn atr_3_by_hand() {
    // True ranges:
    //   c1: 11 - 10 = 1 (no previous close)
    //   c2: max(1, |12 - 10.5|, |11 - 10.5|) = 1.5
    //   c3: max(1, |12 - 11.5|, |11 - 11.5|) = 1
    //   c4: max(2, |16 - 11.5|, |14 - 11.5|) = 4.5
    //   c5: max(2, |19 - 15.5|, |17 - 15.5|) = 3.5
    //   c6: max(2, |19 - 18.5|, |17 - 18.5|) = 2
    //   c7: max(2, |14 - 17.5|, |12 - 17.5|) = 5.5
    //   c8: max(2, |11 - 12.5|, |9 - 12.5|) = 3.5
    // ATR: c3 = (1 + 1.5 + 1) / 3 = 7/6 = 1.166667
    //      c4 = (7/6 * 2 + 4.5) / 3 = 41/18 = 2.277778
    //      c5 = (41/18 * 2 + 3.5) / 3 = 145/54 = 2.685185
    //      c6 = (145/54 * 2 + 2) / 3 = 199/81 = 2.456790
    //      c7 = (199/81 * 2 + 5.5) / 3 = 1687/486 = 3.471193
    //      c8 = (1687/486 * 2 + 3.5) / 3 = 5075/1458 = 3.480796
    let got = atr_series(&hand_candles(), 3).unwrap();
    assert_series(
        &got,
        &[
            None,
            None,
            Some(7.0 / 6.0),
            Some(41.0 / 18.0),
            Some(145.0 / 54.0),
            Some(199.0 / 81.0),
            Some(1687.0 / 486.0),
            Some(5075.0 / 1458.0),
        ],
        "ATR(3)",
    );
    assert_close(got[7].unwrap(), 3.480_796, "ATR(3) c8 decimal");
}

#[test]
fn supertrend_3_2_by_hand() {
    // ATR(3) as in `atr_3_by_hand`; bands = hl2 +/- 2 * ATR.
    // c3: hl2 11.5; basic upper 11.5 + 7/3 = 13.833333, basic lower 9.166667.
    //     First value: bands = basic; close 11.5 <= 13.833333 -> Down,
    //     line = upper 13.833333.
    // c4: hl2 15; basic upper 15 + 41/9 = 19.555556: not below 13.833333 and
    //     the previous close 11.5 was not above it -> carry 13.833333.
    //     basic lower 15 - 41/9 = 10.444444 > 9.166667 -> 10.444444.
    //     Down and close 15.5 > 13.833333 -> Up, line = lower 10.444444.
    // c5: hl2 18; basic upper 18 + 145/27 = 23.370370: the previous close 15.5
    //     was above the upper band 13.833333 -> reset to 23.370370.
    //     basic lower 18 - 145/27 = 12.629630 > 10.444444 -> 12.629630.
    //     Up and close 18.5 >= 12.629630 -> Up, line 12.629630.
    // c6: hl2 18; basic upper 18 + 398/81 = 22.913580 < 23.370370 -> 22.913580.
    //     basic lower 18 - 398/81 = 13.086420 > 12.629630 -> 13.086420.
    //     Up and close 17.5 >= 13.086420 -> Up, line 13.086420.
    // c7: hl2 13; basic upper 13 + 1687/243 = 19.942387 < 22.913580 -> 19.942387.
    //     basic lower 13 - 1687/243 = 6.057613: not above 13.086420 and the
    //     previous close 17.5 was not below it -> carry 13.086420.
    //     Up and close 12.5 < 13.086420 -> Down, line = upper 19.942387.
    // c8: hl2 10; basic upper 10 + 5075/729 = 16.961591 < 19.942387 -> 16.961591.
    //     basic lower 10 - 5075/729 = 3.038409: the previous close 12.5 was below
    //     the lower band 13.086420 -> reset to 3.038409.
    //     Down and close 9.5 <= 16.961591 -> Down, line 16.961591.
    let got = supertrend_series(&hand_candles(), 3, 2.0).unwrap();
    assert!(got[0].is_none() && got[1].is_none(), "warm-up: {got:?}");
    let expected = [
        (Trend::Down, 13.833_333, 9.166_667),
        (Trend::Up, 13.833_333, 10.444_444),
        (Trend::Up, 23.370_370, 12.629_630),
        (Trend::Up, 22.913_580, 13.086_420),
        (Trend::Down, 19.942_387, 13.086_420),
        (Trend::Down, 16.961_591, 3.038_409),
    ];
    for (i, (trend, upper, lower)) in expected.into_iter().enumerate() {
        let candle = i + 3;
        let v = got[i + 2].unwrap_or_else(|| panic!("c{candle}: no value"));
        assert_eq!(v.trend, trend, "c{candle} trend");
        assert_close(v.upper, upper, &format!("c{candle} upper"));
        assert_close(v.lower, lower, &format!("c{candle} lower"));
        let line = if trend == Trend::Up { lower } else { upper };
        assert_close(v.line, line, &format!("c{candle} line"));
    }
}

#[test]
fn supertrend_starts_up_when_the_first_close_is_above_the_upper_band() {
    // Period 1, multiplier 0.25: c1 true range 2, ATR 2, hl2 10,
    // upper 10 + 0.5 = 10.5; the close 11 is above it -> Up, line = lower 9.5.
    let mut st = Supertrend::new(1, 0.25).unwrap();
    let v = st.update(hlc(11.0, 9.0, 11.0)).unwrap();
    assert_eq!(v.trend, Trend::Up);
    assert_close(v.line, 9.5, "line");
    assert_eq!(st.value(), Some(v));
}

#[test]
fn warm_up_lengths_at_the_strategy_periods() {
    let candles = deterministic_candles(60);
    let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
    let first_some = |v: &[bool]| v.iter().position(|&b| b);
    let ema20: Vec<bool> = ema_series(&closes, 20)
        .unwrap()
        .iter()
        .map(Option::is_some)
        .collect();
    let ema50: Vec<bool> = ema_series(&closes, 50)
        .unwrap()
        .iter()
        .map(Option::is_some)
        .collect();
    let rsi14: Vec<bool> = rsi_series(&closes, 14)
        .unwrap()
        .iter()
        .map(Option::is_some)
        .collect();
    let st10: Vec<bool> = supertrend_series(&candles, 10, 2.0)
        .unwrap()
        .iter()
        .map(Option::is_some)
        .collect();
    // Index = candle number - 1: EMA(n) and ATR-based values on the n-th input,
    // RSI(n) on the (n + 1)-th close. Once defined, always defined.
    assert_eq!(first_some(&ema20), Some(19));
    assert_eq!(first_some(&ema50), Some(49));
    assert_eq!(first_some(&rsi14), Some(14));
    assert_eq!(first_some(&st10), Some(9));
    for (name, v) in [
        ("ema20", &ema20),
        ("ema50", &ema50),
        ("rsi14", &rsi14),
        ("st10", &st10),
    ] {
        let start = first_some(v).unwrap();
        assert!(v[start..].iter().all(|&b| b), "{name} went back to None");
    }
}

#[test]
fn bad_periods_and_multipliers_are_refused() {
    for period in [0, INDICATOR_PERIOD_MAX + 1] {
        let err = Ema::new(period).unwrap_err();
        assert_eq!(err.key, "period");
        assert_eq!(err.value, period.to_string());
        assert!(Rsi::new(period).is_err());
        assert!(Atr::new(period).is_err());
        assert!(Supertrend::new(period, 2.0).is_err());
    }
    assert!(Ema::new(INDICATOR_PERIOD_MAX).is_ok());
    for m in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = Supertrend::new(10, m).unwrap_err();
        assert_eq!(err.key, "multiplier", "{m}");
    }
    assert_eq!(
        Ema::new(0).unwrap_err().to_string(),
        "invalid strategy parameter period = 0: a period is a whole number of candles from 1 to 500"
    );
}

#[test]
fn non_finite_input_is_ignored() {
    let mut ema = Ema::new(2).unwrap();
    let mut rsi = Rsi::new(2).unwrap();
    let mut st = Supertrend::new(2, 2.0).unwrap();
    for x in [1.0, 2.0, 3.0] {
        ema.update(x);
        rsi.update(x);
        st.update(hlc(x + 1.0, x - 1.0, x));
    }
    let (e, r, s) = (ema.value(), rsi.value(), st.value());
    assert!(e.is_some() && r.is_some() && s.is_some());
    assert_eq!(ema.update(f64::NAN), None);
    assert_eq!(rsi.update(f64::INFINITY), None);
    assert_eq!(st.update(hlc(f64::NAN, 1.0, 2.0)), None);
    assert_eq!((ema.value(), rsi.value(), st.value()), (e, r, s));
    // The next finite input continues from the state before the bad one.
    assert_close(
        ema.update(4.0).unwrap(),
        2.0 / 3.0 * 4.0 + e.unwrap() / 3.0,
        "ema",
    );
}

#[test]
fn price_conversion_is_exact_for_tick_prices() {
    let candle = Candle {
        start: crate::wallet::Timestamp::from_epoch_ms(0),
        open: Price::from_paise(2_250_005).unwrap(),
        high: Price::from_paise(2_251_050).unwrap(),
        low: Price::from_paise(2_249_995).unwrap(),
        close: Price::from_paise(2_250_020).unwrap(),
        ticks: 3,
    };
    let v = Hlc::from_candle(&candle);
    assert_eq!(v, hlc(22_510.5, 22_499.95, 22_500.2));
}

// ---------------------------------------------------------------------------
// Cross-check against naive whole-series implementations
// ---------------------------------------------------------------------------

/// A deterministic, wavy, trending series of `len` candles around 22,000 with
/// trend reversals (so the Supertrend flips) and gaps (so the true range uses
/// the previous close).
fn deterministic_candles(len: usize) -> Vec<Hlc> {
    let mut out = Vec::with_capacity(len);
    let mut prev_close = 22_000.0_f64;
    for i in 0..len {
        let t = i as f64;
        let mid = 22_000.0 + 0.3 * t + 60.0 * (t / 17.0).sin() + 12.0 * (t / 2.3).sin();
        let open = prev_close + 4.0 * (t * 1.3).cos();
        let close = mid + 6.0 * (t * 1.7).sin();
        let high = open.max(close) + 2.0 + 3.0 * (t * 0.7).sin().abs();
        let low = open.min(close) - 2.0 - 3.0 * (t * 0.9).cos().abs();
        out.push(hlc(high, low, close));
        prev_close = close;
    }
    out
}

/// An exponentially weighted series computed from scratch at every index as a
/// closed-form sum: with seed `s` = mean of the first `n` inputs at index
/// `n - 1`, the value at index `i >= n - 1` is
/// `(1 - a)^(i - n + 1) * s + sum_{k = n}^{i} a * (1 - a)^(i - k) * x_k`.
fn naive_smoothed(xs: &[f64], n: usize, a: f64) -> Vec<Option<f64>> {
    (0..xs.len())
        .map(|i| {
            if i + 1 < n {
                return None;
            }
            let seed = xs[..n].iter().sum::<f64>() / n as f64;
            let mut v = (1.0 - a).powi((i + 1 - n) as i32) * seed;
            for (k, x) in xs.iter().enumerate().take(i + 1).skip(n) {
                v += a * (1.0 - a).powi((i - k) as i32) * x;
            }
            Some(v)
        })
        .collect()
}

fn naive_ema(xs: &[f64], n: usize) -> Vec<Option<f64>> {
    naive_smoothed(xs, n, 2.0 / (n as f64 + 1.0))
}

fn naive_rsi(closes: &[f64], n: usize) -> Vec<Option<f64>> {
    let gains: Vec<f64> = closes.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect();
    let losses: Vec<f64> = closes.windows(2).map(|w| (w[0] - w[1]).max(0.0)).collect();
    let g = naive_smoothed(&gains, n, 1.0 / n as f64);
    let l = naive_smoothed(&losses, n, 1.0 / n as f64);
    // Change k is between close k and close k + 1: shift by one.
    std::iter::once(None)
        .chain(g.iter().zip(&l).map(|(g, l)| match (g, l) {
            (Some(g), Some(l)) if g + l > 0.0 => Some(100.0 - 100.0 / (1.0 + g / l)),
            (Some(_), Some(_)) => Some(50.0),
            _ => None,
        }))
        .collect()
}

fn naive_atr(candles: &[Hlc], n: usize) -> Vec<Option<f64>> {
    let tr: Vec<f64> = candles
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                c.high - c.low
            } else {
                let pc = candles[i - 1].close;
                *[c.high - c.low, (c.high - pc).abs(), (c.low - pc).abs()]
                    .iter()
                    .max_by(|a, b| a.total_cmp(b))
                    .unwrap()
            }
        })
        .collect();
    naive_smoothed(&tr, n, 1.0 / n as f64)
}

/// Supertrend from whole arrays: basic bands first, then final bands, then the
/// direction, each as its own pass.
fn naive_supertrend(candles: &[Hlc], n: usize, m: f64) -> Vec<Option<(Trend, f64)>> {
    let atr = naive_atr(candles, n);
    let len = candles.len();
    let start = n - 1;
    let basic_up: Vec<f64> = (0..len)
        .map(|i| (candles[i].high + candles[i].low) / 2.0 + m * atr[i].unwrap_or(0.0))
        .collect();
    let basic_dn: Vec<f64> = (0..len)
        .map(|i| (candles[i].high + candles[i].low) / 2.0 - m * atr[i].unwrap_or(0.0))
        .collect();
    let mut fin_up = basic_up.clone();
    let mut fin_dn = basic_dn.clone();
    for i in start + 1..len {
        let pc = candles[i - 1].close;
        if !(basic_up[i] < fin_up[i - 1] || pc > fin_up[i - 1]) {
            fin_up[i] = fin_up[i - 1];
        }
        if !(basic_dn[i] > fin_dn[i - 1] || pc < fin_dn[i - 1]) {
            fin_dn[i] = fin_dn[i - 1];
        }
    }
    // +1 up, -1 down; the bar before the first value counts as down.
    let mut dir = vec![-1_i8; len];
    for i in start..len {
        let c = candles[i].close;
        let was_down = i == start || dir[i - 1] == -1;
        dir[i] = match (was_down, c > fin_up[i], c < fin_dn[i]) {
            (true, true, _) => 1,
            (true, false, _) => -1,
            (false, _, true) => -1,
            (false, _, false) => 1,
        };
    }
    (0..len)
        .map(|i| {
            if i < start {
                None
            } else if dir[i] == 1 {
                Some((Trend::Up, fin_dn[i]))
            } else {
                Some((Trend::Down, fin_up[i]))
            }
        })
        .collect()
}

fn assert_cross(got: &[Option<f64>], expected: &[Option<f64>], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        match (g, e) {
            (Some(g), Some(e)) => assert!(
                (g - e).abs() <= CROSS_TOLERANCE * e.abs().max(1.0),
                "{what}[{i}]: streaming {g}, naive {e}"
            ),
            (None, None) => {}
            _ => panic!("{what}[{i}]: streaming {g:?}, naive {e:?}"),
        }
    }
}

const CROSS_CHECK_CANDLES: usize = 400;

#[test]
fn strategy_periods_match_naive_implementations() {
    let candles = deterministic_candles(CROSS_CHECK_CANDLES);
    let closes: Vec<f64> = candles.iter().map(|c| c.close).collect();
    for n in [20, 50] {
        assert_cross(
            &ema_series(&closes, n).unwrap(),
            &naive_ema(&closes, n),
            &format!("EMA({n})"),
        );
    }
    let rsi = rsi_series(&closes, 14).unwrap();
    assert_cross(&rsi, &naive_rsi(&closes, 14), "RSI(14)");
    // The series really moves both ways.
    assert!(rsi.iter().flatten().any(|&r| r > 55.0));
    assert!(rsi.iter().flatten().any(|&r| r < 45.0));
    assert_cross(
        &atr_series(&candles, 10).unwrap(),
        &naive_atr(&candles, 10),
        "ATR(10)",
    );

    let st = supertrend_series(&candles, 10, 2.0).unwrap();
    let naive = naive_supertrend(&candles, 10, 2.0);
    let mut flips = 0;
    for (i, (g, e)) in st.iter().zip(&naive).enumerate() {
        match (g, e) {
            (Some(g), Some((trend, line))) => {
                assert_eq!(g.trend, *trend, "Supertrend[{i}] trend");
                assert!(
                    (g.line - line).abs() <= CROSS_TOLERANCE * line.abs(),
                    "Supertrend[{i}] line: streaming {}, naive {line}",
                    g.line
                );
                if i > 0 && st[i - 1].is_some_and(|p| p.trend != g.trend) {
                    flips += 1;
                }
            }
            (None, None) => {}
            _ => panic!("Supertrend[{i}]: streaming {g:?}, naive {e:?}"),
        }
    }
    assert!(
        flips >= 4,
        "the series should flip the trend several times, got {flips}"
    );
}
