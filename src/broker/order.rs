//! What an order asks for, and the quote it fills against.

use crate::market::Tick;
use crate::money::Price;
use crate::wallet::{ClientOrderId, ExitReason, Instrument, Position, Side, Timestamp};

/// One quote of a contract: the last traded price and, when the source has
/// depth, the best bid and ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Last traded price.
    pub ltp: Price,
    /// Best bid, if known.
    pub bid: Option<Price>,
    /// Best ask, if known.
    pub ask: Option<Price>,
    /// Exchange time of the quote (the risk loop judges staleness by it).
    pub ts: Timestamp,
}

impl Quote {
    /// A quote with no depth: fills use `ltp` plus or minus the slippage buffer.
    pub const fn ltp_only(ltp: Price, ts: Timestamp) -> Quote {
        Quote {
            ltp,
            bid: None,
            ask: None,
            ts,
        }
    }
}

impl From<&Tick> for Quote {
    fn from(tick: &Tick) -> Quote {
        Quote {
            ltp: tick.ltp,
            bid: tick.bid,
            ask: tick.ask,
            ts: tick.ts,
        }
    }
}

/// A market order for whole lots of one contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The idempotency key: `State::next_order_id()` of the state the order is
    /// submitted to.
    pub order_id: ClientOrderId,
    pub side: Side,
    /// The contract (key and symbol).
    pub instrument: Instrument,
    /// How many lots; at least one.
    pub lots: u64,
    /// Units per lot (NIFTY 75, BANKNIFTY 35, SENSEX 20 in 2025; from config).
    pub lot_size: u64,
    /// Why a sell is placed; `None` for a buy.
    pub reason: Option<ExitReason>,
}

impl OrderRequest {
    /// A buy of `lots` lots of `lot_size` units.
    pub fn buy(
        order_id: ClientOrderId,
        instrument: Instrument,
        lots: u64,
        lot_size: u64,
    ) -> OrderRequest {
        OrderRequest {
            order_id,
            side: Side::Buy,
            instrument,
            lots,
            lot_size,
            reason: None,
        }
    }

    /// A sell of the whole of `position`, for `reason`.
    ///
    /// The position was bought in whole lots, so `lot_size` normally divides its
    /// quantity. If it does not (the exchange revised the lot size and the config
    /// followed while the position was open), the order still sells every held
    /// unit, as `qty` lots of one unit: an exit is never blocked by a lot size.
    pub fn close(
        order_id: ClientOrderId,
        position: &Position,
        lot_size: u64,
        reason: ExitReason,
    ) -> OrderRequest {
        let units = position.qty.get();
        let (lots, lot_size) = if lot_size > 0 && units.is_multiple_of(lot_size) {
            (units / lot_size, lot_size)
        } else {
            (units, 1)
        };
        OrderRequest {
            order_id,
            side: Side::Sell,
            instrument: position.instrument.clone(),
            lots,
            lot_size,
            reason: Some(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Amount, Qty};
    use crate::wallet::{InstrumentKey, Segment, Symbol};

    fn position(units: u64) -> Position {
        Position {
            instrument: Instrument {
                key: InstrumentKey {
                    segment: Segment::NseFno,
                    security_id: 42,
                },
                symbol: Symbol::new("NIFTY 30 SEP 25000 CE").unwrap(),
            },
            side: Side::Buy,
            qty: Qty::new(units),
            cost_basis: Amount::from_rupees(100 * units as i64),
            entry_ts: Timestamp::from_epoch_ms(0),
            high_water: Price::from_paise(10_000).unwrap(),
        }
    }

    #[test]
    fn close_sells_every_unit_in_whole_lots_when_it_can() {
        let r = OrderRequest::close(ClientOrderId(7), &position(150), 75, ExitReason::StopLoss);
        assert_eq!((r.lots, r.lot_size), (2, 75));
        assert_eq!(r.side, Side::Sell);
        assert_eq!(r.reason, Some(ExitReason::StopLoss));
        assert_eq!(r.order_id, ClientOrderId(7));
        // Lot size revised from 75 to 50 while holding 75 units: still all 75.
        let r = OrderRequest::close(ClientOrderId(8), &position(75), 50, ExitReason::EndOfDay);
        assert_eq!((r.lots, r.lot_size), (75, 1));
        let r = OrderRequest::close(ClientOrderId(9), &position(75), 0, ExitReason::EndOfDay);
        assert_eq!((r.lots, r.lot_size), (75, 1));
    }
}
