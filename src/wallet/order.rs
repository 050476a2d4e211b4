//! Order intents: an order decided and journaled before its fill (DESIGN §7).
//!
//! The broker commits [`super::Op::Submit`] first, then the fill (`Buy` or `Sell`
//! with the same client order id), which must match the intent exactly and
//! removes it. A crash between the two leaves the intent in the recovered state,
//! where the broker finds it and resolves it: the paper broker applies the fill
//! the intent already fixed (price, charges, time), so a restart neither loses
//! the order nor repeats it. [`super::Op::Cancel`] drops an intent that will not
//! fill.
//!
//! A buy intent reserves its whole cash need (`qty x price + charges`) at submit
//! time, so the fill cannot fail for want of cash; a sell intent sets aside units
//! of its position, so two exits cannot sell the same units.

use std::sync::Arc;

use super::instrument::{ClientOrderId, Instrument, Side, Timestamp};
use super::op::ExitReason;
use crate::money::{Amount, Price, Qty};

/// At most this many orders wait for their fill at once.
pub const PENDING_ORDERS_MAX: usize = 16;

/// An order decided but not yet filled, with everything its fill will carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderIntent {
    /// Must be above every client order id the wallet has seen.
    pub order_id: ClientOrderId,
    pub side: Side,
    pub instrument: Instrument,
    pub qty: Qty,
    /// The fill price the broker expects (the paper broker fills exactly here).
    pub price: Price,
    /// All charges of the order.
    pub charges: Amount,
    /// When the order was decided; the fill carries the same time.
    pub ts: Timestamp,
    /// Why a sell was placed.
    pub reason: Option<ExitReason>,
}

impl OrderIntent {
    /// The cash a buy intent reserves: `qty x price + charges` (zero for a sell).
    pub fn cash_reserved(&self) -> Option<Amount> {
        match self.side {
            Side::Buy => Amount::notional(self.qty, self.price)?.checked_add(self.charges),
            Side::Sell => Some(Amount::ZERO),
        }
    }

    /// The fill operation that completes this intent.
    pub fn fill_op(&self) -> super::Op {
        match self.side {
            Side::Buy => super::Op::Buy {
                instrument: self.instrument.clone(),
                qty: self.qty,
                price: self.price,
                charges: self.charges,
                ts: self.ts,
                order_id: Some(self.order_id),
            },
            Side::Sell => super::Op::Sell {
                key: self.instrument.key,
                qty: self.qty,
                price: self.price,
                charges: self.charges,
                ts: self.ts,
                order_id: Some(self.order_id),
                reason: self.reason,
            },
        }
    }
}

/// The intents waiting for their fill, oldest first, at most
/// [`PENDING_ORDERS_MAX`]. Shared copy-on-write and out of line like the
/// positions: none pending holds no allocation.
#[derive(Clone, Debug, Default)]
pub struct PendingOrders(Option<Arc<Vec<OrderIntent>>>);

impl PendingOrders {
    /// Rebuilds the list from a snapshot, oldest first. `Err` names the count
    /// when it is above [`PENDING_ORDERS_MAX`].
    pub fn from_vec(intents: Vec<OrderIntent>) -> Result<PendingOrders, usize> {
        if intents.len() > PENDING_ORDERS_MAX {
            return Err(intents.len());
        }
        Ok(PendingOrders(
            (!intents.is_empty()).then(|| Arc::new(intents)),
        ))
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> std::slice::Iter<'_, OrderIntent> {
        self.as_slice().iter()
    }

    pub fn get(&self, order_id: ClientOrderId) -> Option<&OrderIntent> {
        self.iter().find(|i| i.order_id == order_id)
    }

    fn as_slice(&self) -> &[OrderIntent] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    pub(super) fn push(&mut self, intent: OrderIntent) {
        Arc::make_mut(self.0.get_or_insert_with(Default::default)).push(intent);
    }

    pub(super) fn remove(&mut self, order_id: ClientOrderId) {
        let found = self.iter().position(|x| x.order_id == order_id);
        if let (Some(i), Some(shared)) = (found, self.0.as_mut()) {
            if shared.len() == 1 {
                // The last one: back to no allocation.
                self.0 = None;
            } else {
                Arc::make_mut(shared).remove(i);
            }
        }
    }
}

/// Equal when they hold the same intents in the same order (however they
/// are shared).
impl PartialEq for PendingOrders {
    fn eq(&self, other: &PendingOrders) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for PendingOrders {}

impl<'a> IntoIterator for &'a PendingOrders {
    type Item = &'a OrderIntent;
    type IntoIter = std::slice::Iter<'a, OrderIntent>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
