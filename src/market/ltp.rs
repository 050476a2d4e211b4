//! The LTP cache: the latest quote of every index and contract, with its time,
//! shared between the market-data task (writer) and the trading and risk tasks
//! (readers).
//!
//! # Synchronization
//!
//! A `DashMap` (sharded locks). No guard escapes a method: readers get a copy
//! of the [`Quote`], so no caller can hold a shard lock while touching the map
//! again. The two counters are statistics only (relaxed atomics); nothing is
//! ordered by them.

use std::time::Duration;

use dashmap::DashMap;

use crate::money::Price;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::wallet::{InstrumentKey, Timestamp};

use super::types::{Tick, TickSegment};

/// The most entries any cache may be built with.
pub const LTP_CACHE_ENTRIES_MAX: usize = 65_536;

/// What a quote is keyed by: index values apart from tradable contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QuoteKey {
    /// An index value on `IDX_I`, by the index's security id (NIFTY 13).
    Index {
        /// The index's security id.
        security_id: u64,
    },
    /// A tradable contract.
    Contract(InstrumentKey),
}

impl QuoteKey {
    /// The key a tick updates.
    pub fn of(tick: &Tick) -> QuoteKey {
        match tick.segment {
            TickSegment::Index => QuoteKey::Index {
                security_id: tick.security_id,
            },
            TickSegment::Fno(segment) => QuoteKey::Contract(InstrumentKey {
                segment,
                security_id: tick.security_id,
            }),
        }
    }
}

/// The latest quote of one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Last traded price (the index value for an index).
    pub ltp: Price,
    /// Best bid, when the feed has depth.
    pub bid: Option<Price>,
    /// Best ask, when the feed has depth.
    pub ask: Option<Price>,
    /// The tick's time.
    pub ts: Timestamp,
}

impl Quote {
    /// The quote of a tick.
    pub fn of(tick: &Tick) -> Quote {
        Quote {
            ltp: tick.ltp,
            bid: tick.bid,
            ask: tick.ask,
            ts: tick.ts,
        }
    }

    /// How old the quote is at `now`, in milliseconds (0 for a quote stamped
    /// after `now`).
    pub fn age_ms(&self, now: Timestamp) -> u64 {
        u64::try_from(now.epoch_ms().saturating_sub(self.ts.epoch_ms())).unwrap_or(0)
    }

    /// Older than `stale_after` at `now` (strictly: a quote exactly
    /// `stale_after` old is still fresh).
    pub fn is_stale(&self, now: Timestamp, stale_after: Duration) -> bool {
        u128::from(self.age_ms(now)) > stale_after.as_millis()
    }
}

/// What [`LtpCache::update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteUpdate {
    /// A new key.
    Inserted,
    /// A newer (or equally new) quote replaced the stored one.
    Replaced,
    /// The tick is older than the stored quote; ignored.
    Older,
    /// A new key while the cache is full; ignored and counted.
    Refused,
}

/// Last prices with timestamps, bounded. See the module docs.
#[derive(Debug)]
pub struct LtpCache {
    quotes: DashMap<QuoteKey, Quote>,
    entries_max: usize,
    refused: AtomicU64,
    older: AtomicU64,
}

impl LtpCache {
    /// A cache of at most `entries_max` keys (clamped to
    /// 1..=[`LTP_CACHE_ENTRIES_MAX`]). With one writer the bound is exact; each
    /// further concurrent writer may add one key beyond it.
    pub fn new(entries_max: usize) -> LtpCache {
        LtpCache {
            quotes: DashMap::new(),
            entries_max: entries_max.clamp(1, LTP_CACHE_ENTRIES_MAX),
            refused: AtomicU64::new(0),
            older: AtomicU64::new(0),
        }
    }

    /// Stores the tick's quote unless an equally keyed newer one is there; a new
    /// key beyond the bound is refused and counted.
    pub fn update(&self, tick: &Tick) -> QuoteUpdate {
        let key = QuoteKey::of(tick);
        let quote = Quote::of(tick);
        if let Some(mut stored) = self.quotes.get_mut(&key) {
            if quote.ts < stored.ts {
                // Relaxed: a statistic, orders nothing.
                self.older.fetch_add(1, Ordering::Relaxed);
                return QuoteUpdate::Older;
            }
            *stored = quote;
            return QuoteUpdate::Replaced;
        }
        // No guard is held here: `len` locks every shard.
        if self.quotes.len() >= self.entries_max {
            // Relaxed: a statistic, orders nothing.
            self.refused.fetch_add(1, Ordering::Relaxed);
            return QuoteUpdate::Refused;
        }
        // Another writer may have inserted the key meanwhile: keep the newer.
        let mut inserted = true;
        self.quotes
            .entry(key)
            .and_modify(|stored| {
                inserted = false;
                if quote.ts >= stored.ts {
                    *stored = quote;
                }
            })
            .or_insert(quote);
        if inserted {
            QuoteUpdate::Inserted
        } else {
            QuoteUpdate::Replaced
        }
    }

    /// The latest quote of `key`.
    pub fn get(&self, key: QuoteKey) -> Option<Quote> {
        self.quotes.get(&key).map(|q| *q)
    }

    /// The latest value of the index with this security id.
    pub fn index(&self, security_id: u64) -> Option<Quote> {
        self.get(QuoteKey::Index { security_id })
    }

    /// The latest quote of a contract.
    pub fn contract(&self, key: InstrumentKey) -> Option<Quote> {
        self.get(QuoteKey::Contract(key))
    }

    /// True when there is no quote for `key`, or it is older than
    /// `stale_after` at `now`. The app refuses new entries on stale data.
    pub fn is_stale(&self, key: QuoteKey, now: Timestamp, stale_after: Duration) -> bool {
        self.get(key).is_none_or(|q| q.is_stale(now, stale_after))
    }

    /// The quote of `key` if it is fresh at `now`.
    pub fn fresh(&self, key: QuoteKey, now: Timestamp, stale_after: Duration) -> Option<Quote> {
        self.get(key).filter(|q| !q.is_stale(now, stale_after))
    }

    /// Removes quotes stamped before `cutoff` (e.g. yesterday's contracts) and
    /// returns how many.
    pub fn remove_older_than(&self, cutoff: Timestamp) -> usize {
        let before = self.quotes.len();
        self.quotes.retain(|_, q| q.ts >= cutoff);
        before.saturating_sub(self.quotes.len())
    }

    /// The number of keys held.
    pub fn len(&self) -> usize {
        self.quotes.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.quotes.is_empty()
    }

    /// The bound this cache was built with.
    pub fn entries_max(&self) -> usize {
        self.entries_max
    }

    /// New keys refused because the cache was full.
    pub fn refused_count(&self) -> u64 {
        // Relaxed: a statistic.
        self.refused.load(Ordering::Relaxed)
    }

    /// Ticks ignored because a newer quote was stored.
    pub fn older_count(&self) -> u64 {
        // Relaxed: a statistic.
        self.older.load(Ordering::Relaxed)
    }
}
