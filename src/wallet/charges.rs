//! Charges of one executed Indian index-options order (pure; rates from config).
//!
//! Defaults as discount brokers published them in 2025 (`reference/india-fno.md`):
//!
//! | charge | base | default |
//! |---|---|---|
//! | brokerage | per executed order | Rs 20 flat |
//! | STT | premium turnover, sell side only | 0.1% |
//! | exchange transaction | premium turnover | NSE 0.03503%, BSE 0.0325% |
//! | SEBI turnover fee | premium turnover | Rs 10 per crore |
//! | stamp duty | premium turnover, buy side only | 0.003% |
//! | GST | brokerage + exchange + SEBI | 18% |
//!
//! Premium turnover is `qty x price`.
//!
//! # Rounding
//!
//! Each component is rounded to the paisa, half away from zero, as soon as it is
//! computed; GST is computed on the *rounded* brokerage, exchange and SEBI
//! components and rounded the same way; the total is the exact sum of the rounded
//! components. (Contract notes may round STT to the rupee; a paper wallet keeps
//! paise.)

use rust_decimal::Decimal;

use super::instrument::{Exchange, Segment, Side};
use crate::money::{Amount, MoneyError, Price, Qty};

/// One crore: 10^7 rupees.
const CRORE: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// Charge rates. The `_rate` fields are fractions of premium turnover
/// (`0.001` = 0.1%).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChargeRates {
    pub brokerage_per_order: Amount,
    pub stt_sell_rate: Decimal,
    pub exchange_txn_nse_rate: Decimal,
    pub exchange_txn_bse_rate: Decimal,
    pub sebi_fee_per_crore: Amount,
    pub stamp_duty_buy_rate: Decimal,
    /// Applied to brokerage + exchange transaction charge + SEBI fee.
    pub gst_rate: Decimal,
}

impl Default for ChargeRates {
    /// The 2025 figures in the module docs.
    fn default() -> ChargeRates {
        ChargeRates {
            brokerage_per_order: Amount::from_rupees(20),
            stt_sell_rate: Decimal::new(1, 3),
            exchange_txn_nse_rate: Decimal::new(3503, 7),
            exchange_txn_bse_rate: Decimal::new(325, 6),
            sebi_fee_per_crore: Amount::from_rupees(10),
            stamp_duty_buy_rate: Decimal::new(3, 5),
            gst_rate: Decimal::new(18, 2),
        }
    }
}

/// The charges of one executed order, component by component (each in paise).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Charges {
    pub brokerage: Amount,
    pub stt: Amount,
    pub exchange_txn: Amount,
    pub sebi_fee: Amount,
    pub stamp_duty: Amount,
    pub gst: Amount,
}

impl Charges {
    /// The sum of the components: what a fill's `charges` carries.
    pub fn total(&self) -> Option<Amount> {
        [
            self.stt,
            self.exchange_txn,
            self.sebi_fee,
            self.stamp_duty,
            self.gst,
        ]
        .into_iter()
        .try_fold(self.brokerage, Amount::checked_add)
    }
}

/// The charges of one executed options order of `qty` at `price` on `segment`.
pub fn charges(
    rates: &ChargeRates,
    segment: Segment,
    side: Side,
    qty: Qty,
    price: Price,
) -> Result<Charges, MoneyError> {
    let turnover = Amount::notional(qty, price)
        .ok_or(MoneyError::Overflow)?
        .to_decimal();
    let part = |rate: Decimal| -> Result<Amount, MoneyError> {
        turnover
            .checked_mul(rate)
            .map(Amount::from_decimal_rounded)
            .ok_or(MoneyError::Overflow)
    };
    let exchange_rate = match segment.exchange() {
        Exchange::Nse => rates.exchange_txn_nse_rate,
        Exchange::Bse => rates.exchange_txn_bse_rate,
    };
    let sebi_rate = rates
        .sebi_fee_per_crore
        .to_decimal()
        .checked_div(CRORE)
        .ok_or(MoneyError::Overflow)?;
    let brokerage = rates.brokerage_per_order;
    let exchange_txn = part(exchange_rate)?;
    let sebi_fee = part(sebi_rate)?;
    let (stt, stamp_duty) = match side {
        Side::Buy => (Amount::ZERO, part(rates.stamp_duty_buy_rate)?),
        Side::Sell => (part(rates.stt_sell_rate)?, Amount::ZERO),
    };
    let gst_base = brokerage
        .checked_add(exchange_txn)
        .and_then(|x| x.checked_add(sebi_fee))
        .ok_or(MoneyError::Overflow)?
        .to_decimal();
    let gst = gst_base
        .checked_mul(rates.gst_rate)
        .map(Amount::from_decimal_rounded)
        .ok_or(MoneyError::Overflow)?;
    Ok(Charges {
        brokerage,
        stt,
        exchange_txn,
        sebi_fee,
        stamp_duty,
        gst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-computed cases (turnover, then each component before and after
    /// rounding, in the comments).
    #[test]
    fn charges_match_hand_computation() {
        fn check(
            segment: Segment,
            side: Side,
            qty: u64,
            price_paise: i64,
            expected_paise: [i64; 7],
        ) {
            let got = charges(
                &ChargeRates::default(),
                segment,
                side,
                Qty::new(qty),
                Price::from_paise(price_paise).unwrap(),
            )
            .unwrap();
            let got_paise = [
                got.brokerage,
                got.stt,
                got.exchange_txn,
                got.sebi_fee,
                got.stamp_duty,
                got.gst,
                got.total().unwrap(),
            ]
            .map(|a| a.to_paise().unwrap());
            assert_eq!(
                got_paise, expected_paise,
                "{segment} {side} {qty} @ {price_paise}p: [brokerage, stt, exchange, sebi, stamp, gst, total]"
            );
        }
        use Segment::*;
        use Side::*;
        // NIFTY buy 75 @ 100: turnover 7,500. Exchange 2.62725 -> 2.63; SEBI 0.0075 ->
        // 0.01; stamp 0.225 -> 0.23; GST 18% of 22.64 = 4.0752 -> 4.08.
        check(NseFno, Buy, 75, 10_000, [2000, 0, 263, 1, 23, 408, 2695]);
        // NIFTY sell 75 @ 120: turnover 9,000. STT 9.00; exchange 3.1527 -> 3.15;
        // SEBI 0.009 -> 0.01; GST 18% of 23.16 = 4.1688 -> 4.17.
        check(NseFno, Sell, 75, 12_000, [2000, 900, 315, 1, 0, 417, 3633]);
        // SENSEX buy 20 @ 250.50: turnover 5,010. Exchange (BSE) 1.62825 -> 1.63;
        // SEBI 0.00501 -> 0.01; stamp 0.1503 -> 0.15; GST 18% of 21.64 = 3.8952 -> 3.90.
        check(BseFno, Buy, 20, 25_050, [2000, 0, 163, 1, 15, 390, 2569]);
        // NIFTY sell 1800 @ 245.35: turnover 4,41,630. STT 441.63; exchange
        // 154.702989 -> 154.70; SEBI 0.44163 -> 0.44; GST 18% of 175.14 = 31.5252 -> 31.53.
        check(
            NseFno,
            Sell,
            1800,
            24_535,
            [2000, 44_163, 15_470, 44, 0, 3153, 64_830],
        );
        // One lot at one tick: turnover 3.75; everything but brokerage and its GST
        // rounds to zero (exchange 0.0013, SEBI 0.00000375, stamp 0.0001125).
        check(NseFno, Buy, 75, 5, [2000, 0, 0, 0, 0, 360, 2360]);
    }

    #[test]
    fn rates_are_configurable() {
        let flat = ChargeRates {
            brokerage_per_order: Amount::from_rupees(20),
            stt_sell_rate: Decimal::ZERO,
            exchange_txn_nse_rate: Decimal::ZERO,
            exchange_txn_bse_rate: Decimal::ZERO,
            sebi_fee_per_crore: Amount::ZERO,
            stamp_duty_buy_rate: Decimal::ZERO,
            gst_rate: Decimal::ZERO,
        };
        let c = charges(
            &flat,
            Segment::NseFno,
            Side::Sell,
            Qty::new(75),
            Price::from_paise(12_000).unwrap(),
        )
        .unwrap();
        assert_eq!(c.total(), Some(Amount::from_rupees(20)));
    }
}
