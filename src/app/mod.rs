//! The app: wires the market feed, strategy, risk rules and paper broker onto
//! the scheduler and the engine, and runs a session from recovery to summary.
//!
//! - [`exec`]: orders on the engine, intent before fill.
//! - [`session`]: the session book, summary and reports.

pub mod exec;
pub mod params;
pub mod run;
pub mod session;
pub mod trader;
