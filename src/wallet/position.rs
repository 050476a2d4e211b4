//! Open positions and the bounded memory of recent client order ids.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::instrument::{ClientOrderId, Instrument, InstrumentKey, Side, Timestamp};
use crate::money::{Amount, Price, Qty};

/// The hard upper bound on `Limits::max_positions` (the configured default is 5).
pub const POSITIONS_MAX: usize = 64;

/// How many recent client order ids the wallet remembers for duplicate detection.
/// A fill whose id is older than this many orders is not recognised as a repeat,
/// so the broker must not retry an order after this many newer ones.
pub const ORDER_IDS_RECENT_MAX: usize = 32;

const _: () = assert!(ORDER_IDS_RECENT_MAX <= u8::MAX as usize);

/// One open position: a long holding in one contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub instrument: Instrument,
    /// The side of the opening order. This wallet opens positions only by `Buy`
    /// (option buying), so it is `Side::Buy`.
    pub side: Side,
    /// Units held; always positive while the position is open.
    pub qty: Qty,
    /// What the open units cost, `sum(qty x fill price)` of the buys, less the cost
    /// share of partial sells. Exact (whole paise); the average price derives from
    /// it, so `used == sum(cost_basis)` holds without rounding.
    pub cost_basis: Amount,
    /// When the position was opened (the first buy).
    pub entry_ts: Timestamp,
    /// The highest price seen since entry, for trailing stops.
    pub high_water: Price,
}

impl Position {
    /// The average cost per unit, `cost_basis / qty` (not necessarily on the tick).
    pub fn avg_price(&self) -> Decimal {
        // qty is never zero in an open position; guard anyway rather than panic.
        self.cost_basis
            .to_decimal()
            .checked_div(self.qty.to_decimal())
            .unwrap_or(Decimal::ZERO)
    }

    /// The gross unrealized profit at `ltp`: `qty x ltp - cost_basis`.
    pub fn unrealized_pnl(&self, ltp: Price) -> Option<Amount> {
        Amount::notional(self.qty, ltp)?.checked_sub(self.cost_basis)
    }
}

/// The open positions, sorted by key with no duplicate keys, at most
/// `Limits::max_positions` of them. Shared copy-on-write and out of line:
/// cloning a `State` copies one pointer, and bumps one reference count only
/// when positions are open (an empty set holds no allocation at all).
#[derive(Clone, Debug, Default)]
pub struct Positions(Option<Arc<Vec<Position>>>);

impl Positions {
    /// Builds the set from decoded positions (a snapshot codec), sorting them.
    /// Returns the duplicate key if two positions share one; other invariants are
    /// checked by `State::check_invariants`.
    pub fn from_vec(mut positions: Vec<Position>) -> Result<Positions, InstrumentKey> {
        positions.sort_by_key(|p| p.instrument.key);
        if let Some(w) = positions
            .windows(2)
            .find(|w| w[0].instrument.key == w[1].instrument.key)
        {
            return Err(w[0].instrument.key);
        }
        Ok(Positions(
            (!positions.is_empty()).then(|| Arc::new(positions)),
        ))
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// In key order.
    pub fn iter(&self) -> std::slice::Iter<'_, Position> {
        self.as_slice().iter()
    }

    pub fn get(&self, key: &InstrumentKey) -> Option<&Position> {
        self.find(key).ok().map(|i| &self.as_slice()[i])
    }

    pub fn as_slice(&self) -> &[Position] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    fn find(&self, key: &InstrumentKey) -> Result<usize, usize> {
        self.as_slice()
            .binary_search_by(|p| p.instrument.key.cmp(key))
    }

    /// Replaces the position with the same key, or inserts it in key order.
    pub(super) fn upsert(&mut self, position: Position) {
        let v = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        match v.binary_search_by(|p| p.instrument.key.cmp(&position.instrument.key)) {
            Ok(i) => v[i] = position,
            Err(i) => v.insert(i, position),
        }
    }

    pub(super) fn remove(&mut self, key: &InstrumentKey) {
        if let (Ok(i), Some(shared)) = (self.find(key), self.0.as_mut()) {
            if shared.len() == 1 {
                // The last one: back to no allocation.
                self.0 = None;
            } else {
                Arc::make_mut(shared).remove(i);
            }
        }
    }
}

/// Equal when they hold the same positions (however they are shared).
impl PartialEq for Positions {
    fn eq(&self, other: &Positions) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Positions {}

impl<'a> IntoIterator for &'a Positions {
    type Item = &'a Position;
    type IntoIter = std::slice::Iter<'a, Position>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The last [`ORDER_IDS_RECENT_MAX`] client order ids of executed fills, in a
/// fixed ring kept out of line and shared copy-on-write: cloning a `State`
/// copies one pointer (plus a reference count once an id was remembered);
/// only a fill with an id copies the ring.
#[derive(Clone, Debug, Default)]
pub struct RecentOrderIds(Option<Arc<Ring>>);

/// The ring itself.
#[derive(Clone, Debug, Default)]
struct Ring {
    ids: [ClientOrderId; ORDER_IDS_RECENT_MAX],
    len: u8,
    /// The slot the next id goes into.
    next: u8,
}

impl RecentOrderIds {
    /// Rebuilds the ring from ids oldest first (a snapshot codec); keeps the last
    /// [`ORDER_IDS_RECENT_MAX`].
    pub fn from_oldest_first(ids: impl IntoIterator<Item = ClientOrderId>) -> RecentOrderIds {
        let mut ring = RecentOrderIds::default();
        for id in ids {
            ring.push(id);
        }
        ring
    }

    pub fn contains(&self, id: ClientOrderId) -> bool {
        self.0
            .as_deref()
            .is_some_and(|r| r.ids[..usize::from(r.len)].contains(&id))
    }

    pub fn len(&self) -> usize {
        self.0.as_deref().map_or(0, |r| usize::from(r.len))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The remembered ids, oldest first.
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = ClientOrderId> + '_ {
        let len = self.len();
        let next = self.0.as_deref().map_or(0, |r| usize::from(r.next));
        let start = (next + ORDER_IDS_RECENT_MAX - len) % ORDER_IDS_RECENT_MAX;
        // `len > 0` only when the ring exists.
        (0..len).filter_map(move |i| {
            self.0
                .as_deref()
                .map(|r| r.ids[(start + i) % ORDER_IDS_RECENT_MAX])
        })
    }

    pub(super) fn push(&mut self, id: ClientOrderId) {
        let r = Arc::make_mut(self.0.get_or_insert_with(Default::default));
        r.ids[usize::from(r.next)] = id;
        r.next = ((usize::from(r.next) + 1) % ORDER_IDS_RECENT_MAX) as u8;
        r.len = (usize::from(r.len) + 1).min(ORDER_IDS_RECENT_MAX) as u8;
    }
}

/// Equal when they remember the same ids in the same order, wherever the ring's
/// cursor stands (a ring rebuilt from a snapshot equals the original).
impl PartialEq for RecentOrderIds {
    fn eq(&self, other: &RecentOrderIds) -> bool {
        self.len() == other.len() && self.iter_oldest_first().eq(other.iter_oldest_first())
    }
}

impl Eq for RecentOrderIds {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_order_ids_forget_the_oldest() {
        let mut ring = RecentOrderIds::default();
        for i in 0..(ORDER_IDS_RECENT_MAX as u64 + 5) {
            ring.push(ClientOrderId(i));
        }
        assert_eq!(ring.len(), ORDER_IDS_RECENT_MAX);
        assert!(!ring.contains(ClientOrderId(4)));
        assert!(ring.contains(ClientOrderId(5)));
        let ids: Vec<u64> = ring.iter_oldest_first().map(|c| c.0).collect();
        assert_eq!(
            ids,
            (5..(ORDER_IDS_RECENT_MAX as u64 + 5)).collect::<Vec<_>>()
        );
        assert_eq!(
            RecentOrderIds::from_oldest_first(ring.iter_oldest_first()),
            ring
        );
        assert_ne!(RecentOrderIds::from_oldest_first([ClientOrderId(1)]), ring);
        assert!(!RecentOrderIds::default().contains(ClientOrderId(0)));
    }
}
