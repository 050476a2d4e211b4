//! dhan_scalper: a lock-free paper-trading engine and daemon for Indian index options.
#![forbid(unsafe_code)]

pub mod bench;
pub mod cli;
pub mod codec;
pub mod datadir;
pub mod engine;
pub mod error;
pub mod ledger;
pub mod logging;
pub mod money;
pub mod scheduler;
pub mod stress;
pub mod sync;
pub mod wallet;
