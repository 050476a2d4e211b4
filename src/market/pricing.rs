//! Option pricing for the simulated feed: the standard normal CDF and
//! Black-Scholes premia of European calls and puts.
//!
//! This is model maths in `f64`, not money: the simulator converts a premium to a
//! [`Price`](crate::money::Price) on the 0.05 tick only when it builds a tick.

use super::types::OptionType;

/// `sqrt(2 * pi)`, the scale of the normal density.
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;

/// The standard normal cumulative distribution function `N(x)`.
///
/// Hart's double-precision algorithm (1968) as published by Graeme West,
/// "Better approximations to cumulative normal functions" (Wilmott, 2005): a
/// rational approximation for `|x| < 7.07` and a continued fraction beyond it.
/// Its absolute error is about 1e-14 (tested below 1e-13), far better than
/// Abramowitz-Stegun 7.1.26 (1.5e-7), and it computes the tail directly, so
/// small probabilities keep their relative accuracy (`N(-8)` to 8 digits),
/// where `1 - erf` would cancel.
pub fn norm_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs();
    // The lower tail N(-|x|).
    let tail = if z > 37.0 {
        0.0
    } else {
        let density = (-z * z / 2.0).exp();
        if z < 7.071_067_811_865_47 {
            let mut num = 3.526_249_659_989_11e-2 * z + 0.700_383_064_443_688;
            num = num * z + 6.373_962_203_531_65;
            num = num * z + 33.912_866_078_383;
            num = num * z + 112.079_291_497_871;
            num = num * z + 221.213_596_169_931;
            num = num * z + 220.206_867_912_376;
            let mut den = 8.838_834_764_831_84e-2 * z + 1.755_667_163_182_64;
            den = den * z + 16.064_177_579_207;
            den = den * z + 86.780_732_202_946_1;
            den = den * z + 296.564_248_779_674;
            den = den * z + 637.333_633_378_831;
            den = den * z + 793.826_512_519_948;
            den = den * z + 440.413_735_824_752;
            density * num / den
        } else {
            let mut frac = z + 0.65;
            frac = z + 4.0 / frac;
            frac = z + 3.0 / frac;
            frac = z + 2.0 / frac;
            frac = z + 1.0 / frac;
            density / frac / SQRT_2PI
        }
    };
    if x > 0.0 { 1.0 - tail } else { tail }
}

/// The Black-Scholes premium of a European option (no dividends).
///
/// - `spot`, `strike`: in rupees, positive;
/// - `years`: time to expiry in years (365-day years);
/// - `rate_annual`: continuously compounded risk-free rate, e.g. 0.065;
/// - `vol_annual`: implied volatility, e.g. 0.15.
///
/// At or after expiry (`years <= 0`) it is the intrinsic value; with zero
/// volatility, the discounted forward intrinsic value. Never negative; a
/// non-finite input gives 0.
pub fn black_scholes(
    option_type: OptionType,
    spot: f64,
    strike: f64,
    years: f64,
    rate_annual: f64,
    vol_annual: f64,
) -> f64 {
    let inputs_ok = [spot, strike, years, rate_annual, vol_annual]
        .iter()
        .all(|v| v.is_finite())
        && spot > 0.0
        && strike > 0.0;
    if !inputs_ok {
        return 0.0;
    }
    let value = if years <= 0.0 {
        match option_type {
            OptionType::Ce => spot - strike,
            OptionType::Pe => strike - spot,
        }
    } else {
        let discounted_strike = strike * (-rate_annual * years).exp();
        let vol_sqrt_t = vol_annual * years.sqrt();
        if vol_sqrt_t <= 0.0 {
            match option_type {
                OptionType::Ce => spot - discounted_strike,
                OptionType::Pe => discounted_strike - spot,
            }
        } else {
            let d1 = ((spot / strike).ln() + (rate_annual + vol_annual * vol_annual / 2.0) * years)
                / vol_sqrt_t;
            let d2 = d1 - vol_sqrt_t;
            match option_type {
                OptionType::Ce => spot * norm_cdf(d1) - discounted_strike * norm_cdf(d2),
                OptionType::Pe => discounted_strike * norm_cdf(-d2) - spot * norm_cdf(-d1),
            }
        }
    };
    value.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_cdf_matches_reference_values() {
        // Reference values: 0.5 * erfc(-x / sqrt 2) in double precision.
        let cases = [
            (0.0, 0.5),
            (0.5, 0.691_462_461_274_013_1),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_07),
            (1.96, 0.975_002_104_851_779_5),
            (2.5, 0.993_790_334_674_223_8),
            (-3.0, 0.001_349_898_031_630_095_7),
            (3.0, 0.998_650_101_968_369_9),
            (7.5, 0.999_999_999_999_968_1),
        ];
        for (x, expected) in cases {
            let got = norm_cdf(x);
            assert!(
                (got - expected).abs() < 1e-13,
                "N({x}) = {got}, want {expected}"
            );
        }
        // Relative accuracy in the far tail.
        for (x, expected) in [
            (-5.0, 2.866_515_718_791_946e-7),
            (-8.0, 6.220_960_574_271_819e-16),
        ] {
            let got = norm_cdf(x);
            assert!(((got - expected) / expected).abs() < 1e-7, "N({x}) = {got}");
        }
        assert_eq!(norm_cdf(-40.0), 0.0);
        assert_eq!(norm_cdf(40.0), 1.0);
        // Symmetry.
        for i in -60..=60 {
            let x = f64::from(i) / 10.0;
            assert!((norm_cdf(x) + norm_cdf(-x) - 1.0).abs() < 1e-14, "x {x}");
        }
    }

    #[test]
    fn black_scholes_textbook_case() {
        // Hull's classic: S = K = 100, T = 1, r = 5%, sigma = 20%.
        let call = black_scholes(OptionType::Ce, 100.0, 100.0, 1.0, 0.05, 0.2);
        let put = black_scholes(OptionType::Pe, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((call - 10.450_583_572_185_565).abs() < 1e-9, "call {call}");
        assert!((put - 5.573_526_022_256_971).abs() < 1e-9, "put {put}");
        // Expired: intrinsic.
        assert_eq!(
            black_scholes(OptionType::Ce, 110.0, 100.0, 0.0, 0.05, 0.2),
            10.0
        );
        assert_eq!(
            black_scholes(OptionType::Pe, 110.0, 100.0, -1.0, 0.05, 0.2),
            0.0
        );
        // Bad inputs never give a negative or NaN premium.
        assert_eq!(
            black_scholes(OptionType::Ce, f64::NAN, 100.0, 1.0, 0.05, 0.2),
            0.0
        );
        assert_eq!(
            black_scholes(OptionType::Ce, -5.0, 100.0, 1.0, 0.05, 0.2),
            0.0
        );
    }
}
