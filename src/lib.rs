//! dhan_scalper: a lock-free paper-trading engine and daemon for Indian index options.
#![forbid(unsafe_code)]

pub mod app;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod codec;
pub mod config;
pub mod datadir;
pub mod engine;
pub mod error;
pub mod ledger;
pub mod logging;
pub mod market;
pub mod money;
pub mod progress;
pub mod risk;
pub mod scheduler;
pub mod strategy;
pub mod stress;
pub mod sync;
pub mod wallet;
