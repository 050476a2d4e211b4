//! ATM and sizing examples, computed by hand in the comments.

use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn price(s: &str) -> Price {
    Price::from_decimal(dec(s)).unwrap()
}

fn rupees(s: &str) -> Amount {
    Amount::from_decimal(dec(s)).unwrap()
}

#[test]
fn atm_rounds_to_the_nearest_step_ties_up() {
    fn check(spot: &str, step: &str, expected: Option<&str>) {
        assert_eq!(
            atm_strike(price(spot), price(step)),
            expected.map(price),
            "spot {spot} step {step}"
        );
    }
    // NIFTY, step 50: 22,525 / 50 = 450.5, a tie -> 451 x 50 = 22,550.
    check("22525", "50", Some("22550"));
    // 22,524.95 / 50 = 450.499 -> 450 x 50 = 22,500.
    check("22524.95", "50", Some("22500"));
    check("22500", "50", Some("22500"));
    check("22500.05", "50", Some("22500"));
    check("22574.95", "50", Some("22550"));
    check("22575", "50", Some("22600"));
    // BANKNIFTY, step 100: 48,150 / 100 = 481.5 -> 482 x 100 = 48,200.
    check("48150", "100", Some("48200"));
    check("48149.95", "100", Some("48100"));
    // SENSEX, step 100.
    check("81234.5", "100", Some("81200"));
    // A step of 1: ties go up too (100.5 -> 101).
    check("100.5", "1", Some("101"));
    check("100.45", "1", Some("100"));
    // Below half a step the nearest multiple is 0: no strike. Half a step is a
    // tie and goes up to one step.
    check("24.95", "50", None);
    check("25", "50", Some("50"));
    // A step that is not whole rupees still gives tick prices:
    // 101.10 / 0.25 = 404.4 -> 404 x 0.25 = 101.00; 101.15 / 0.25 = 404.6 -> 101.25.
    check("101.10", "0.25", Some("101"));
    check("101.15", "0.25", Some("101.25"));
}

#[test]
fn sizing_examples() {
    // Available 2,00,000, allocation 0.30 -> budget 60,000.
    // Premium 100, slippage 0.01 -> 101 a unit; NIFTY lot 75 -> 7,575 a lot.
    // 60,000 / 7,575 = 7.92 -> 7 lots.
    let available = rupees("200000");
    let (alloc, slip) = (dec("0.30"), dec("0.01"));
    assert_eq!(size_lots(available, alloc, price("100"), slip, 75, 10), 7);
    // Premium 50 -> 50.5 x 75 = 3,787.5 a lot; 60,000 / 3,787.5 = 15.84 -> 15,
    // capped at 10.
    assert_eq!(size_lots(available, alloc, price("50"), slip, 75, 10), 10);
    assert_eq!(size_lots(available, alloc, price("50"), slip, 75, 20), 15);
    // BANKNIFTY: premium 250.35 x 1.01 = 252.8535 a unit, lot 35 -> 8,849.8725;
    // 60,000 / 8,849.8725 = 6.78 -> 6.
    assert_eq!(
        size_lots(available, alloc, price("250.35"), slip, 35, 10),
        6
    );
    // No slippage: 60,000 / (120 x 25) = 20 exactly -> 20.
    assert_eq!(
        size_lots(available, alloc, price("120"), Decimal::ZERO, 25, 50),
        20
    );
}

#[test]
fn sizing_is_exact_at_the_boundary() {
    // One lot costs 100 x 1.01 x 75 = 7,575. Available 25,250 x 0.30 = 7,575.00:
    // exactly one lot. One paisa less (25,249.99 x 0.30 = 7,574.997): none.
    let (alloc, slip) = (dec("0.30"), dec("0.01"));
    assert_eq!(
        size_lots(rupees("25250"), alloc, price("100"), slip, 75, 10),
        1
    );
    assert_eq!(
        size_lots(rupees("25249.99"), alloc, price("100"), slip, 75, 10),
        0
    );
    // Three lots exactly: 22,725 / 7,575 = 3; budget 75,750 x 0.30 = 22,725.
    assert_eq!(
        size_lots(rupees("75750"), alloc, price("100"), slip, 75, 10),
        3
    );
    assert_eq!(
        size_lots(rupees("75749.99"), alloc, price("100"), slip, 75, 10),
        2
    );
    // A non-terminating quotient: budget 1,000 x 1/3-ish allocation.
    // 1,000 x 0.3333333333 = 333.3333333; a lot 0.05 x 1 x 1 = 0.05 ->
    // 6,666.666666 -> 6,666.
    assert_eq!(
        size_lots(
            rupees("1000"),
            dec("0.3333333333"),
            price("0.05"),
            Decimal::ZERO,
            1,
            u64::MAX
        ),
        6_666
    );
}

#[test]
fn size_entry_explains_why_not() {
    let params = SizingParams::default();
    assert_eq!(
        params,
        SizingParams {
            allocation_pct: dec("0.30"),
            slippage_pct: dec("0.01"),
            min_premium_price: dec("1.0"),
            max_lots_per_trade: 10,
        }
    );
    // Available 10,000 -> budget 3,000 < 7,575 for one lot of 75 at 100.
    assert_eq!(
        size_entry(rupees("10000"), price("100"), 75, &params),
        Err(SizeRefusal::CannotAffordOneLot {
            budget: dec("3000"),
            lot_cost: dec("7575"),
        })
    );
    assert_eq!(
        size_lots(
            rupees("10000"),
            dec("0.30"),
            price("100"),
            dec("0.01"),
            75,
            10
        ),
        0
    );
    // Below the premium floor of Rs 1: 0.95 is refused, 1.00 is traded.
    assert_eq!(
        size_entry(rupees("200000"), price("0.95"), 75, &params),
        Err(SizeRefusal::PremiumBelowMinimum {
            premium: price("0.95"),
            min_premium_price: dec("1.0"),
        })
    );
    // 60,000 / (1 x 1.01 x 75 = 75.75) = 792 -> capped at 10.
    assert_eq!(
        size_entry(rupees("200000"), price("1"), 75, &params),
        Ok(10)
    );
    assert_eq!(
        size_entry(rupees("200000"), price("100"), 75, &params),
        Ok(7)
    );
    // No cash, or less than none.
    assert!(matches!(
        size_entry(Amount::ZERO, price("100"), 75, &params),
        Err(SizeRefusal::CannotAffordOneLot { .. })
    ));
    assert!(matches!(
        size_entry(rupees("-5"), price("100"), 75, &params),
        Err(SizeRefusal::CannotAffordOneLot { .. })
    ));
    assert_eq!(
        size_entry(rupees("10000"), price("100"), 75, &params)
            .unwrap_err()
            .to_string(),
        "budget 3000.0000 (available x allocation_pct) is below one lot's cost 7575.0000 \
         (premium x (1 + slippage_buffer_pct) x lot_size)"
    );
}

#[test]
fn bad_sizing_inputs_size_nothing() {
    let ok = SizingParams::default();
    let available = rupees("200000");
    let premium = price("100");
    fn invalid(r: Result<u64, SizeRefusal>) -> bool {
        matches!(r, Err(SizeRefusal::InvalidInput { .. }))
    }
    assert!(invalid(size_entry(available, premium, 0, &ok)));
    let cases = [
        SizingParams {
            max_lots_per_trade: 0,
            ..ok.clone()
        },
        SizingParams {
            allocation_pct: Decimal::ZERO,
            ..ok.clone()
        },
        SizingParams {
            allocation_pct: dec("1.01"),
            ..ok.clone()
        },
        SizingParams {
            allocation_pct: dec("-0.3"),
            ..ok.clone()
        },
        SizingParams {
            slippage_pct: dec("-0.01"),
            ..ok.clone()
        },
        SizingParams {
            slippage_pct: Decimal::MAX,
            ..ok.clone()
        },
    ];
    for params in &cases {
        assert!(
            invalid(size_entry(available, premium, 75, params)),
            "{params:?}"
        );
    }
    // The whole balance is allowed (allocation 1).
    let all_in = SizingParams {
        allocation_pct: Decimal::ONE,
        ..ok
    };
    // 2,00,000 / 7,575 = 26.4 -> 26, capped at 10.
    assert_eq!(size_entry(available, premium, 75, &all_in), Ok(10));
    // Huge amounts do not panic: the largest balance an Amount holds at scale 2.
    let huge = Amount::from_decimal(dec("792281625142643375935439503.35")).unwrap();
    assert_eq!(size_entry(huge, price("1"), 1, &all_in), Ok(10));
    assert_eq!(
        size_lots(huge, Decimal::ONE, Price::MIN, Decimal::ZERO, 1, u64::MAX),
        u64::MAX
    );
}
