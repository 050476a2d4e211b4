//! Where commits go: the [`Journal`] trait, and [`WalJournal`], the real one
//! over the `wal` crate. Encoding runs on the log's writer thread, off the
//! committer's path.

use std::fmt;

use super::{Machine, Versioned};
use crate::sync::{Arc, AtomicArc};

/// One commit on its way to the log: the operation and the state it produced.
pub struct JournalItem<M: Machine> {
    /// The operation.
    pub op: M::Op,
    /// What the record stores of the state after it ([`Machine::image`]), by
    /// value: the writer encodes `op` and `image` and does not read `post`'s
    /// memory for it, so it does less work per record and leaves the state's
    /// cache lines to the committing thread.
    pub image: M::Image,
    /// The state after it, with its version: for the durable hook (once per
    /// acknowledged batch), not for encoding.
    pub post: Arc<Versioned<M::State>>,
}

impl<M: Machine> fmt::Debug for JournalItem<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalItem")
            .field("version", &self.post.version)
            .finish_non_exhaustive()
    }
}

/// The engine's view of the log.
pub trait Journal<R>: Send + Sync {
    /// Hands record `seq` over. Records may arrive out of order; the journal
    /// stores them in sequence order.
    fn append(&self, seq: u64, record: R) -> Result<(), wal::Error>;
    /// Waits until `seq` is durable.
    fn wait_durable(&self, seq: u64) -> Result<(), wal::Error>;
    /// The highest contiguous durable sequence number.
    fn durable_seq(&self) -> u64;
    /// Why the journal stopped, once it has.
    fn failure(&self) -> wal::Error;
}

/// How a machine's commits are encoded into journal payloads.
pub trait RecordCodec: Machine {
    /// Appends the payload of one journal record: the operation and the
    /// image of the state after it.
    fn encode(op: &Self::Op, image: &Self::Image, out: &mut Vec<u8>);
}

impl<M: RecordCodec> wal::Record for JournalItem<M> {
    fn encode(&self, out: &mut Vec<u8>) {
        M::encode(&self.op, &self.image, out);
    }
}

/// The real journal: the write-ahead log. Its durable hook publishes the
/// engine's durable view.
pub struct WalJournal<M: RecordCodec> {
    log: wal::Wal<JournalItem<M>>,
}

impl<M: RecordCodec> fmt::Debug for WalJournal<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalJournal")
            .field("log", &self.log)
            .finish()
    }
}

impl<M: RecordCodec> WalJournal<M> {
    /// Starts the log's writer. After every fsync it stores the state of the
    /// batch's last record into `durable`, before any waiter wakes.
    pub fn start(
        recovered: wal::Recovered,
        durable: Arc<AtomicArc<Versioned<M::State>>>,
    ) -> Result<Self, wal::Error> {
        let hook: wal::DurableHook<JournalItem<M>> = Box::new(move |_, item| {
            durable.store(item.post.clone());
        });
        Ok(Self {
            log: recovered.start(Some(hook))?,
        })
    }

    /// The log.
    pub fn log(&self) -> &wal::Wal<JournalItem<M>> {
        &self.log
    }
}

impl<M: RecordCodec> Journal<JournalItem<M>> for WalJournal<M> {
    fn append(&self, seq: u64, record: JournalItem<M>) -> Result<(), wal::Error> {
        self.log.append(seq, record)
    }
    fn wait_durable(&self, seq: u64) -> Result<(), wal::Error> {
        self.log.wait_durable(seq)
    }
    fn durable_seq(&self) -> u64 {
        self.log.durable_seq()
    }
    fn failure(&self) -> wal::Error {
        self.log.poisoned().unwrap_or(wal::Error::Closed)
    }
}
