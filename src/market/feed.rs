//! The [`Feed`] trait, its error, and the `--feed` argument ([`FeedSpec`]).
//!
//! # Feeds and clocks
//!
//! A feed reads no clock. The caller passes `now` to [`Feed::poll`] and gets
//! every tick stamped at or before `now` that it has not had yet, in time order.
//! [`Feed::next_ts`] says when the next tick is due, so:
//!
//! - on the real clock, a recurring scheduler task calls `poll(clock_now, ..)`;
//!   a late task simply gets more ticks (the simulator's ticks sit on a fixed
//!   grid, so polling late yields exactly the ticks polling often would);
//! - on the manual clock (`paper --replay FILE --fast`), the backtest advances
//!   the clock to `next_ts()` and polls; `None` means the feed is exhausted.
//!
//! One call returns at most [`POLL_TICKS_MAX`] ticks; when it returns that many,
//! more may be due (`next_ts() <= now`): call again.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::wallet::Timestamp;

use super::types::Tick;

/// The most ticks one [`Feed::poll`] call appends. Bounds the work (and the
/// memory) of one market-data task run, however late it runs.
pub const POLL_TICKS_MAX: usize = 4096;

/// A source of ticks. See the module docs, "Feeds and clocks".
///
/// Implementations are deterministic given their inputs (the simulator's seed,
/// the replayed file) and the sequence of `now` values; ticks come out in
/// non-decreasing `ts` order.
pub trait Feed: Send {
    /// A short name for logs and the session summary: `sim`, `replay:FILE`.
    fn name(&self) -> &str;

    /// The time of the next tick not yet returned; `None` when the feed is
    /// exhausted (the end of a replayed file). A replay feed with a bad row ahead
    /// reports the previous tick's time, so the next `poll` surfaces the error.
    fn next_ts(&self) -> Option<Timestamp>;

    /// Appends to `out` every tick with `ts <= now` not yet returned, oldest
    /// first, at most [`POLL_TICKS_MAX`], and returns how many it appended.
    ///
    /// A source error (a bad row) is returned only by a call that appended
    /// nothing: ticks read before a bad row come first, the error on the next
    /// call. After an error the feed is finished: every later call returns the
    /// same error. (A [`RecordingFeed`](super::RecordingFeed) that fails to write
    /// returns its error after appending the call's ticks; they are good.)
    fn poll(&mut self, now: Timestamp, out: &mut Vec<Tick>) -> Result<usize, FeedError>;
}

/// A boxed feed is a feed, so `open_feed`'s `Box<dyn Feed>` can be wrapped in a
/// `RecordingFeed`.
impl<F: Feed + ?Sized> Feed for Box<F> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn next_ts(&self) -> Option<Timestamp> {
        (**self).next_ts()
    }

    fn poll(&mut self, now: Timestamp, out: &mut Vec<Tick>) -> Result<usize, FeedError> {
        (**self).poll(now, out)
    }
}

/// What went wrong in a feed. `Display` is one line saying what, where and how
/// to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedError {
    /// A tick file could not be opened, read or written.
    Io {
        /// The file, as the user named it.
        path: String,
        /// The line being read, when known.
        line: Option<u64>,
        /// What failed and how to fix it.
        message: String,
    },
    /// A line of a tick file is wrong (header, row, or time order).
    Row {
        /// The file, as the user named it.
        path: String,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// The column at fault, when it is one column.
        column: Option<&'static str>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A simulator parameter is out of range.
    Params {
        /// Which parameter, e.g. `underlyings[NIFTY].strike_step`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A `--feed` argument that is not `sim` or `replay:FILE`.
    Spec {
        /// The argument as given.
        input: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Io {
                path,
                line: Some(line),
                message,
            } => write!(f, "{path}:{line}: {message}"),
            FeedError::Io {
                path,
                line: None,
                message,
            } => write!(f, "{path}: {message}"),
            FeedError::Row {
                path,
                line,
                column: Some(column),
                message,
            } => write!(f, "{path}:{line}: column {column}: {message}"),
            FeedError::Row {
                path,
                line,
                column: None,
                message,
            } => write!(f, "{path}:{line}: {message}"),
            FeedError::Params { key, message } => write!(f, "sim parameter {key}: {message}"),
            FeedError::Spec { input, message } => write!(f, "feed {input:?}: {message}"),
        }
    }
}

impl std::error::Error for FeedError {}

/// Which feed to run: the `--feed` argument.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FeedSpec {
    /// `sim`: the seeded simulator (the default; needs nothing external).
    #[default]
    Sim,
    /// `replay:FILE`: a tick CSV recorded earlier (see `market::tickfile`).
    Replay(PathBuf),
}

impl FromStr for FeedSpec {
    type Err = FeedError;

    fn from_str(s: &str) -> Result<FeedSpec, FeedError> {
        let err = |message: &str| FeedError::Spec {
            input: s.to_owned(),
            message: message.to_owned(),
        };
        if s == "sim" {
            return Ok(FeedSpec::Sim);
        }
        match s.strip_prefix("replay:") {
            Some("") => Err(err(
                "the file name is missing; write replay:FILE, e.g. replay:ticks.csv",
            )),
            Some(path) => Ok(FeedSpec::Replay(PathBuf::from(path))),
            None => Err(err("unknown feed; use sim or replay:FILE")),
        }
    }
}

impl fmt::Display for FeedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedSpec::Sim => f.write_str("sim"),
            FeedSpec::Replay(path) => write!(f, "replay:{}", path.display()),
        }
    }
}
