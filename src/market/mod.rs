//! Market data: the nouns every feed produces ([`Tick`], [`Candle`]), the feeds
//! (simulated, CSV replay), the LTP cache and the candle builder.
//!
//! Architecture Invariant: a feed turns its source into [`Tick`] values and does
//! nothing else; what a tick means for trading is decided by `strategy` and `risk`.

mod types;

pub use types::{Candle, OptionContract, OptionType, Tick, TickSegment};
