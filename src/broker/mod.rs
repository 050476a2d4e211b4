//! The paper broker's pure parts: what an order asks for ([`OrderRequest`]), the
//! quote it fills against ([`Quote`]), the fill price ([`fill_price`]), and the
//! fill itself with its itemized charges ([`paper_fill`] -> [`Fill`]).
//!
//! Architecture Invariant: this module does no I/O, reads no clock and uses no
//! atomics. The time of a fill and the quote enter as values; committing the
//! result is the engine's job.
//!
//! # Fill rules (DESIGN §7)
//!
//! - A market buy fills at the ask, a market sell at the bid, when the quote has
//!   that side and the book is not crossed (`bid <= ask` when both are present).
//! - Otherwise (no depth, or a crossed book) it fills at `ltp x (1 + slippage)`
//!   for a buy, rounded **up** to the 0.05 tick, and `ltp x (1 - slippage)` for a
//!   sell, rounded **down**, but never below one tick (Rs 0.05).
//! - The quantity is `lots x lot_size`: whole lots, never a fraction of one.
//! - Charges come from [`charges()`](crate::wallet::charges()) with configurable
//!   [`ChargeRates`](crate::wallet::ChargeRates) (defaults: `reference/india-fno.md`),
//!   itemized in the fill and summed into the wallet operation.
//!
//! # Orders, ids and the intent (how the app places an order)
//!
//! Client order ids come from the durable state: [`State::next_order_id`] is one
//! above `counters.last_order_id`, the highest id the wallet has seen in a
//! submit or a fill. Ids therefore increase monotonically across restarts (the
//! counter is journaled with every submit and fill) and a restart never reuses
//! one. There is no in-memory id generator to lose.
//!
//! Placing one paper order is two commits:
//!
//! 1. `fill = paper_fill(&request, &quote, now, &rates, slippage_pct)?` with
//!    `request.order_id = head.next_order_id()`;
//! 2. `engine.commit(fill.submit_op())`: the intent (price, charges, time fixed)
//!    is journaled first; a buy intent reserves its cash, a sell intent sets its
//!    units aside. If it is refused with `Reject::OrderIdNotAfter` another order
//!    took the id first: build the request again from the new head (a bounded
//!    retry);
//! 3. `engine.commit(fill.to_op())`: the fill, carrying the same id, completes the
//!    intent. After a crash between 2 and 3 the recovered state still holds the
//!    intent in `state.pending`; the broker completes it with
//!    [`OrderIntent::fill_op`] (the paper fill is already decided) or cancels it
//!    with `Op::Cancel`. The wallet refuses a second fill with the same id, so an
//!    order is neither lost nor repeated.
//!
//! [`State::next_order_id`]: crate::wallet::State::next_order_id
//! [`OrderIntent::fill_op`]: crate::wallet::OrderIntent::fill_op

mod fill;
mod order;

pub use fill::{Fill, FillError, fill_price, paper_fill};
pub use order::{OrderRequest, Quote};
