//! `wal`: a durable, checksummed, group-committed write-ahead log of opaque byte records.
#![forbid(unsafe_code)]

pub mod error;
pub mod frame;
pub mod sim;
pub mod storage;

pub use error::{Corruption, CorruptionKind, Error, Result};
pub use storage::{FsStorage, LockGuard, Storage, StorageFile};
