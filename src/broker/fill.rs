//! Paper fills: the price a market order gets, its quantity and its charges.

use std::fmt;

use rust_decimal::Decimal;

use super::order::{OrderRequest, Quote};
use crate::money::{Amount, MoneyError, Price, Qty};
use crate::wallet::{
    ChargeRates, Charges, ClientOrderId, ExitReason, Instrument, Op, OrderIntent, Side, Timestamp,
    charges,
};

/// Why a paper order could not be filled. Nothing was committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FillError {
    /// The order asks for zero lots.
    NoLots { order_id: ClientOrderId },
    /// The order's lot size is zero.
    NoLotSize { order_id: ClientOrderId },
    /// `lots x lot_size` does not fit in a quantity.
    QtyOverflow {
        order_id: ClientOrderId,
        lots: u64,
        lot_size: u64,
    },
    /// The slippage buffer is not a fraction in `[0, 1)`.
    BadSlippage { slippage_pct: Decimal },
    /// A buy named an exit reason: only sells have one.
    ReasonOnBuy {
        order_id: ClientOrderId,
        reason: ExitReason,
    },
    /// The LTP moved by the slippage is out of the price range.
    PriceOutOfRange { ltp: Price, error: MoneyError },
    /// The order's notional or charges are out of range.
    ChargesOutOfRange {
        order_id: ClientOrderId,
        error: MoneyError,
    },
}

impl fmt::Display for FillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FillError::NoLots { order_id } => {
                write!(f, "order {order_id} asks for 0 lots; order at least 1 lot")
            }
            FillError::NoLotSize { order_id } => write!(
                f,
                "order {order_id} has lot size 0; set the symbol's lot_size in the config"
            ),
            FillError::QtyOverflow {
                order_id,
                lots,
                lot_size,
            } => write!(
                f,
                "order {order_id}: {lots} lots of {lot_size} units is out of range; order fewer lots"
            ),
            FillError::BadSlippage { slippage_pct } => write!(
                f,
                "slippage_buffer_pct is {slippage_pct}; it must be a fraction from 0 up to but not including 1 (0.01 = 1%)"
            ),
            FillError::ReasonOnBuy { order_id, reason } => write!(
                f,
                "buy order {order_id} carries the exit reason {reason:?}; only sells have one"
            ),
            FillError::PriceOutOfRange { ltp, error } => {
                write!(f, "no fill price from LTP {ltp}: {error}")
            }
            FillError::ChargesOutOfRange { order_id, error } => {
                write!(
                    f,
                    "order {order_id}: charges out of range: {error}; order fewer lots"
                )
            }
        }
    }
}

impl std::error::Error for FillError {}

/// A paper fill: everything the wallet's intent and fill operations carry, with
/// the charges itemized.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fill {
    pub order_id: ClientOrderId,
    pub side: Side,
    /// The contract (key and symbol).
    pub instrument: Instrument,
    /// Whole lots: `lots x lot_size` units.
    pub qty: Qty,
    /// On the 0.05 tick.
    pub price: Price,
    /// Each charge, rounded to the paisa.
    pub charges: Charges,
    /// The sum of `charges`: what the wallet operation carries.
    pub total_charges: Amount,
    /// When the order was placed and filled (the position's entry time for a buy).
    pub ts: Timestamp,
    /// The time of the quote the price came from (for audit: may be older).
    pub quote_ts: Timestamp,
    /// Why a sell was placed.
    pub reason: Option<ExitReason>,
}

impl Fill {
    /// The order intent: journaled (as [`Fill::submit_op`]) before the fill.
    pub fn to_intent(&self) -> OrderIntent {
        OrderIntent {
            order_id: self.order_id,
            side: self.side,
            instrument: self.instrument.clone(),
            qty: self.qty,
            price: self.price,
            charges: self.total_charges,
            ts: self.ts,
            reason: self.reason,
        }
    }

    /// `Op::Submit` of this fill's intent: commit it first.
    pub fn submit_op(&self) -> Op {
        Op::Submit {
            intent: self.to_intent(),
        }
    }

    /// The fill operation (`Op::Buy` or `Op::Sell`, with the order id, the total
    /// charges and, for a sell, the exit reason). It completes the intent of
    /// [`Fill::submit_op`], and equals `intent.fill_op()`.
    pub fn to_op(&self) -> Op {
        self.to_intent().fill_op()
    }
}

/// The price a market order on `side` fills at against `quote` (see the module
/// docs of `broker`): the ask or the bid when present and the book is not
/// crossed, else the LTP moved by `slippage_pct` against the order and rounded
/// to the tick against it; a sell never below one tick.
pub fn fill_price(side: Side, quote: &Quote, slippage_pct: Decimal) -> Result<Price, FillError> {
    check_slippage(slippage_pct)?;
    let crossed = matches!((quote.bid, quote.ask), (Some(bid), Some(ask)) if bid > ask);
    let depth = match side {
        Side::Buy => quote.ask,
        Side::Sell => quote.bid,
    };
    if let Some(price) = depth
        && !crossed
    {
        return Ok(price);
    }
    let factor = match side {
        Side::Buy => Decimal::ONE + slippage_pct,
        Side::Sell => Decimal::ONE - slippage_pct,
    };
    let money = |error| FillError::PriceOutOfRange {
        ltp: quote.ltp,
        error,
    };
    let raw = quote
        .ltp
        .to_decimal()
        .checked_mul(factor)
        .ok_or(money(MoneyError::Overflow))?;
    match side {
        Side::Buy => Price::round_for_buy(raw).map_err(money),
        Side::Sell => match Price::round_for_sell(raw) {
            Ok(price) => Ok(price),
            // Below one tick after the slippage: the lowest price there is.
            Err(MoneyError::NonPositivePrice { .. }) => Ok(Price::MIN),
            Err(error) => Err(money(error)),
        },
    }
}

/// Fills `request` against `quote` at time `now`: whole lots, the price of
/// [`fill_price`], the charges of [`charges()`] at `rates`. Pure: committing the
/// result ([`Fill::submit_op`], then [`Fill::to_op`]) is the caller's job.
pub fn paper_fill(
    request: &OrderRequest,
    quote: &Quote,
    now: Timestamp,
    rates: &ChargeRates,
    slippage_pct: Decimal,
) -> Result<Fill, FillError> {
    let order_id = request.order_id;
    if request.lots == 0 {
        return Err(FillError::NoLots { order_id });
    }
    if request.lot_size == 0 {
        return Err(FillError::NoLotSize { order_id });
    }
    if let (Side::Buy, Some(reason)) = (request.side, request.reason) {
        return Err(FillError::ReasonOnBuy { order_id, reason });
    }
    let qty = Qty::from_lots(request.lots, request.lot_size).ok_or(FillError::QtyOverflow {
        order_id,
        lots: request.lots,
        lot_size: request.lot_size,
    })?;
    let price = fill_price(request.side, quote, slippage_pct)?;
    let money = |error| FillError::ChargesOutOfRange { order_id, error };
    let itemized = charges(
        rates,
        request.instrument.key.segment,
        request.side,
        qty,
        price,
    )
    .map_err(money)?;
    let total_charges = itemized.total().ok_or(money(MoneyError::Overflow))?;
    Ok(Fill {
        order_id,
        side: request.side,
        instrument: request.instrument.clone(),
        qty,
        price,
        charges: itemized,
        total_charges,
        ts: now,
        quote_ts: quote.ts,
        reason: request.reason,
    })
}

fn check_slippage(slippage_pct: Decimal) -> Result<(), FillError> {
    if slippage_pct.is_sign_negative() && !slippage_pct.is_zero() || slippage_pct >= Decimal::ONE {
        return Err(FillError::BadSlippage { slippage_pct });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::{InstrumentKey, Limits, Reject, Segment, State, Symbol, apply};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn px(paise: i64) -> Price {
        Price::from_paise(paise).unwrap()
    }

    fn ts(ms: i64) -> Timestamp {
        Timestamp::from_epoch_ms(ms)
    }

    fn nifty_ce() -> Instrument {
        Instrument {
            key: InstrumentKey {
                segment: Segment::NseFno,
                security_id: 35_001,
            },
            symbol: Symbol::new("NIFTY 30 SEP 25000 CE").unwrap(),
        }
    }

    fn quote(ltp: i64, bid: Option<i64>, ask: Option<i64>) -> Quote {
        Quote {
            ltp: px(ltp),
            bid: bid.map(px),
            ask: ask.map(px),
            ts: ts(1_000),
        }
    }

    /// Only brokerage, Rs 20 per order: the original's worked example.
    fn brokerage_only() -> ChargeRates {
        ChargeRates {
            brokerage_per_order: Amount::from_rupees(20),
            stt_sell_rate: Decimal::ZERO,
            exchange_txn_nse_rate: Decimal::ZERO,
            exchange_txn_bse_rate: Decimal::ZERO,
            sebi_fee_per_crore: Amount::ZERO,
            stamp_duty_buy_rate: Decimal::ZERO,
            gst_rate: Decimal::ZERO,
        }
    }

    #[test]
    fn fills_at_the_touch_when_the_book_is_sane() {
        fn check(side: Side, q: Quote, slip: &str, expected_paise: i64) {
            assert_eq!(
                fill_price(side, &q, dec(slip)),
                Ok(px(expected_paise)),
                "{side} {q:?} slip {slip}"
            );
        }
        use Side::*;
        // Depth on both sides: buy at the ask, sell at the bid, slippage unused.
        check(
            Buy,
            quote(10_000, Some(9_995), Some(10_010)),
            "0.01",
            10_010,
        );
        check(
            Sell,
            quote(10_000, Some(9_995), Some(10_010)),
            "0.01",
            9_995,
        );
        // One side only: that side's order uses it, the other falls back to LTP.
        check(Buy, quote(10_000, None, Some(10_010)), "0.01", 10_010);
        // Sell with no bid: 100 x 0.99 = 99.00.
        check(Sell, quote(10_000, None, Some(10_010)), "0.01", 9_900);
        // Crossed book (bid 101 > ask 100): ignored; 100 x 1.01 = 101.00, 100 x 0.99 = 99.00.
        check(
            Buy,
            quote(10_000, Some(10_100), Some(10_000)),
            "0.01",
            10_100,
        );
        check(
            Sell,
            quote(10_000, Some(10_100), Some(10_000)),
            "0.01",
            9_900,
        );
        // Locked book (bid == ask) is sane.
        check(
            Buy,
            quote(10_000, Some(10_005), Some(10_005)),
            "0.01",
            10_005,
        );
    }

    #[test]
    fn fills_without_depth_at_ltp_with_slippage_rounded_against_the_order() {
        fn check(side: Side, ltp_paise: i64, slip: &str, expected_paise: i64) {
            let q = quote(ltp_paise, None, None);
            assert_eq!(
                fill_price(side, &q, dec(slip)),
                Ok(px(expected_paise)),
                "{side} ltp {ltp_paise}p slip {slip}"
            );
        }
        use Side::*;
        // 100.05 x 1.01 = 101.0505 -> up to 101.10.
        check(Buy, 10_005, "0.01", 10_110);
        // 100.05 x 0.99 = 99.0495 -> down to 99.00.
        check(Sell, 10_005, "0.01", 9_900);
        // 100 x 1.01 = 101.00 exactly: already on the tick.
        check(Buy, 10_000, "0.01", 10_100);
        check(Sell, 10_000, "0.01", 9_900);
        // 245.35 x 1.005 = 246.57675 -> 246.60; x 0.995 = 244.12325 -> 244.10.
        check(Buy, 24_535, "0.005", 24_660);
        check(Sell, 24_535, "0.005", 24_410);
        // No slippage: the LTP itself.
        check(Buy, 10_005, "0", 10_005);
        check(Sell, 10_005, "0", 10_005);
        // One tick: a buy pays 0.0505 -> 0.10; a sell's 0.0495 rounds down to 0,
        // floored at one tick, 0.05.
        check(Buy, 5, "0.01", 10);
        check(Sell, 5, "0.01", 5);
        // A sell at 0.50 with 99% slippage: 0.005 -> floored at 0.05.
        check(Sell, 50, "0.99", 5);
    }

    #[test]
    fn slippage_outside_zero_to_one_is_refused() {
        let q = quote(10_000, None, None);
        for slip in ["-0.01", "1", "1.5"] {
            let err = fill_price(Side::Buy, &q, dec(slip)).unwrap_err();
            assert_eq!(
                err,
                FillError::BadSlippage {
                    slippage_pct: dec(slip)
                }
            );
            assert!(err.to_string().contains("slippage_buffer_pct"), "{err}");
        }
        assert!(fill_price(Side::Buy, &q, dec("-0")).is_ok());
        assert!(fill_price(Side::Buy, &q, dec("0.99")).is_ok());
    }

    #[test]
    fn charges_of_a_buy_and_a_sell_of_75_at_100() {
        let rates = ChargeRates::default();
        let at_100 = quote(10_000, Some(10_000), Some(10_000));
        let buy = OrderRequest::buy(ClientOrderId(1), nifty_ce(), 1, 75);
        let fill = paper_fill(&buy, &at_100, ts(2_000), &rates, dec("0.01")).unwrap();
        assert_eq!(fill.qty, Qty::new(75));
        assert_eq!(fill.price, px(10_000));
        // Buy: turnover 75 x 100 = 7,500.
        //   brokerage 20.00; STT 0 (sell side only);
        //   exchange 7,500 x 0.03503% = 2.62725 -> 2.63;
        //   SEBI 7,500 x 10 / 1,00,00,000 = 0.0075 -> 0.01;
        //   stamp 7,500 x 0.003% = 0.225 -> 0.23;
        //   GST 18% x (20 + 2.63 + 0.01 = 22.64) = 4.0752 -> 4.08;
        //   total 20 + 2.63 + 0.01 + 0.23 + 4.08 = 26.95.
        assert_eq!(
            fill.charges,
            Charges {
                brokerage: Amount::from_paise(2000),
                stt: Amount::ZERO,
                exchange_txn: Amount::from_paise(263),
                sebi_fee: Amount::from_paise(1),
                stamp_duty: Amount::from_paise(23),
                gst: Amount::from_paise(408),
            }
        );
        assert_eq!(fill.total_charges, Amount::from_paise(2695));
        assert_eq!(fill.ts, ts(2_000));
        assert_eq!(fill.quote_ts, ts(1_000));

        let sell = OrderRequest {
            order_id: ClientOrderId(2),
            side: Side::Sell,
            instrument: nifty_ce(),
            lots: 1,
            lot_size: 75,
            reason: Some(ExitReason::TimeStop),
        };
        let fill = paper_fill(&sell, &at_100, ts(3_000), &rates, dec("0.01")).unwrap();
        // Sell: turnover 7,500.
        //   brokerage 20.00; STT 7,500 x 0.1% = 7.50; exchange 2.63; SEBI 0.01;
        //   stamp 0 (buy side only); GST 18% x 22.64 = 4.08;
        //   total 20 + 7.50 + 2.63 + 0.01 + 4.08 = 34.22.
        assert_eq!(
            fill.charges,
            Charges {
                brokerage: Amount::from_paise(2000),
                stt: Amount::from_paise(750),
                exchange_txn: Amount::from_paise(263),
                sebi_fee: Amount::from_paise(1),
                stamp_duty: Amount::ZERO,
                gst: Amount::from_paise(408),
            }
        );
        assert_eq!(fill.total_charges, Amount::from_paise(3422));
        assert_eq!(
            fill.to_op(),
            Op::Sell {
                key: nifty_ce().key,
                qty: Qty::new(75),
                price: px(10_000),
                charges: Amount::from_paise(3422),
                ts: ts(3_000),
                order_id: Some(ClientOrderId(2)),
                reason: Some(ExitReason::TimeStop),
            }
        );
    }

    /// The original's worked example, which its wallet got wrong (108,960): buy
    /// 75 @ 100 and sell 75 @ 120 at Rs 20 per order from Rs 1,00,000 leaves
    /// 1,00,000 - (7,500 + 20) + (9,000 - 20) = 1,01,460 available.
    #[test]
    fn the_originals_worked_example_through_intent_and_fill() {
        let limits = Limits::default();
        let rates = brokerage_only();
        let mut state = apply(
            &State::new(),
            &Op::Deposit {
                amount: Amount::from_rupees(100_000),
            },
            &limits,
        )
        .unwrap();

        let buy = OrderRequest::buy(state.next_order_id(), nifty_ce(), 1, 75);
        let fill = paper_fill(
            &buy,
            &quote(10_000, Some(9_995), Some(10_000)),
            ts(10_000),
            &rates,
            dec("0.01"),
        )
        .unwrap();
        assert_eq!(
            (fill.price, fill.total_charges),
            (px(10_000), Amount::from_rupees(20))
        );
        state = apply(&state, &fill.submit_op(), &limits).unwrap();
        // The intent reserves 7,500 + 20.
        assert_eq!(state.balance.available, Amount::from_rupees(92_480));
        state = apply(&state, &fill.to_op(), &limits).unwrap();
        assert_eq!(state.balance.available, Amount::from_rupees(92_480));
        assert_eq!(state.balance.used, Amount::from_rupees(7_500));

        let position = state.positions.get(&nifty_ce().key).unwrap().clone();
        assert_eq!(position.entry_ts, ts(10_000));
        let sell =
            OrderRequest::close(state.next_order_id(), &position, 75, ExitReason::TakeProfit);
        assert_eq!(sell.order_id, ClientOrderId(2));
        let fill = paper_fill(
            &sell,
            &quote(12_000, Some(12_000), Some(12_005)),
            ts(20_000),
            &rates,
            dec("0.01"),
        )
        .unwrap();
        assert_eq!(fill.price, px(12_000));
        state = apply(&state, &fill.submit_op(), &limits).unwrap();
        state = apply(&state, &fill.to_op(), &limits).unwrap();

        let b = state.balance;
        assert_eq!(b.available, Amount::from_rupees(101_460));
        assert_eq!(b.used, Amount::ZERO);
        assert_eq!(b.total, Amount::from_rupees(101_460));
        assert_eq!(b.realized_pnl, Amount::from_rupees(1_500));
        assert_eq!(b.fees, Amount::from_rupees(40));
        assert!(state.positions.is_empty() && state.pending.is_empty());

        // The same fill again (a retry after a crash) is refused, not repeated.
        assert!(matches!(
            apply(&state, &fill.to_op(), &limits),
            Err(Reject::DuplicateOrder { .. }) | Err(Reject::UnknownPosition { .. })
        ));
    }

    /// A crash between the intent and the fill: the recovered state's pending
    /// intent yields exactly the fill the broker had decided.
    #[test]
    fn a_pending_intent_completes_with_the_same_fill() {
        let limits = Limits::default();
        let state = apply(
            &State::new(),
            &Op::Deposit {
                amount: Amount::from_rupees(50_000),
            },
            &limits,
        )
        .unwrap();
        let req = OrderRequest::buy(state.next_order_id(), nifty_ce(), 2, 75);
        let fill = paper_fill(
            &req,
            &quote(10_005, None, None),
            ts(5),
            &ChargeRates::default(),
            dec("0.01"),
        )
        .unwrap();
        assert_eq!(fill.qty, Qty::new(150));
        let submitted = apply(&state, &fill.submit_op(), &limits).unwrap();
        let intent = submitted.pending.get(req.order_id).unwrap();
        assert_eq!(intent.fill_op(), fill.to_op());
        // A second submit with the same id is refused: the id is spent.
        assert!(matches!(
            apply(&submitted, &fill.submit_op(), &limits),
            Err(Reject::OrderIdNotAfter { .. })
        ));
        assert_eq!(submitted.next_order_id(), ClientOrderId(2));
    }

    #[test]
    fn bad_orders_are_refused_with_a_clear_line() {
        let q = quote(10_000, None, None);
        let rates = ChargeRates::default();
        let slip = dec("0.01");
        let mut req = OrderRequest::buy(ClientOrderId(5), nifty_ce(), 0, 75);
        let err = paper_fill(&req, &q, ts(0), &rates, slip).unwrap_err();
        assert_eq!(
            err,
            FillError::NoLots {
                order_id: ClientOrderId(5)
            }
        );
        assert_eq!(
            err.to_string(),
            "order #5 asks for 0 lots; order at least 1 lot"
        );

        req.lots = 1;
        req.lot_size = 0;
        let err = paper_fill(&req, &q, ts(0), &rates, slip).unwrap_err();
        assert!(err.to_string().contains("lot_size"), "{err}");

        req.lots = u64::MAX;
        req.lot_size = 2;
        assert!(matches!(
            paper_fill(&req, &q, ts(0), &rates, slip),
            Err(FillError::QtyOverflow { .. })
        ));

        req.lots = 1;
        req.lot_size = 75;
        req.reason = Some(ExitReason::StopLoss);
        assert!(matches!(
            paper_fill(&req, &q, ts(0), &rates, slip),
            Err(FillError::ReasonOnBuy { .. })
        ));

        req.reason = None;
        assert!(matches!(
            paper_fill(&req, &q, ts(0), &rates, dec("2")),
            Err(FillError::BadSlippage { .. })
        ));
    }
}
