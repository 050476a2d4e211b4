//! The one error type of the `wal` crate.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// What kind of damage recovery found in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptionKind {
    /// The header checksum does not match.
    HeaderChecksum,
    /// The payload checksum does not match.
    PayloadChecksum,
    /// The magic number is wrong: this is not a frame.
    BadMagic,
    /// The frame was written by a newer format version than this build reads.
    FutureVersion {
        /// The version found on disk.
        found: u16,
    },
    /// Flags this build does not understand.
    UnknownFlags(u16),
    /// The payload length is over the cap or runs past the end of the segment.
    BadLength(u32),
    /// A valid frame that belongs to another segment (stale or misplaced).
    WrongSegment {
        /// The segment id the frame carries.
        found: u64,
    },
    /// A valid frame with the wrong sequence number (stale, duplicated or a gap).
    WrongSequence {
        /// The sequence number the scan expected here.
        expected: u64,
        /// The sequence number the frame carries.
        found: u64,
    },
    /// Bytes after the end of data that no crash could have left there.
    GarbageAfterEnd,
    /// A segment that should hold records holds none.
    EmptySealedSegment,
    /// The next segment does not start where this one ends.
    Gap {
        /// The sequence number the next segment should start at.
        expected: u64,
        /// The first sequence number of the next segment.
        found: u64,
    },
    /// The log does not reach back to the sequence number asked for.
    MissingHistory {
        /// The first sequence number asked for.
        wanted: u64,
        /// The first sequence number the log holds.
        first: u64,
    },
    /// The log ends before the sequence number asked for (its tail is missing).
    EndsEarly {
        /// The first sequence number asked for.
        wanted: u64,
        /// The sequence number after the log's last record.
        next: u64,
    },
    /// A file name in the log directory that is not a segment this crate wrote.
    UnexpectedFile,
}

impl fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeaderChecksum => f.write_str("header checksum mismatch"),
            Self::PayloadChecksum => f.write_str("payload checksum mismatch"),
            Self::BadMagic => f.write_str("bad magic (not a frame)"),
            Self::FutureVersion { found } => write!(
                f,
                "frame format version {found} is newer than this build reads ({}); upgrade dhan_scalper",
                crate::frame::FORMAT_VERSION
            ),
            Self::UnknownFlags(x) => write!(f, "unknown frame flags {x:#06x}"),
            Self::BadLength(n) => write!(f, "bad payload length {n}"),
            Self::WrongSegment { found } => {
                write!(f, "frame belongs to segment {found} (stale or misplaced)")
            }
            Self::WrongSequence { expected, found } => {
                write!(f, "expected sequence {expected}, found {found}")
            }
            Self::GarbageAfterEnd => {
                f.write_str("non-zero bytes after the end of data that no torn write explains")
            }
            Self::EmptySealedSegment => f.write_str("sealed segment holds no records"),
            Self::Gap { expected, found } => write!(
                f,
                "sequence gap: next segment should start at {expected} but starts at {found}"
            ),
            Self::MissingHistory { wanted, first } => write!(
                f,
                "records from {wanted} were asked for but the log starts at {first} (a segment is missing)"
            ),
            Self::EndsEarly { wanted, next } => write!(
                f,
                "records from {wanted} were asked for but the log ends before {next} (its tail is missing)"
            ),
            Self::UnexpectedFile => f.write_str("unexpected file in the log directory"),
        }
    }
}

/// Where damage was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    /// The segment file name.
    pub segment: String,
    /// Byte offset inside that segment.
    pub offset: u64,
    /// What is wrong.
    pub kind: CorruptionKind,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "log corrupt in segment {} at offset {}: {}",
            self.segment, self.offset, self.kind
        )
    }
}

/// Every error the log returns.
#[derive(Debug, Clone)]
pub enum Error {
    /// An I/O call failed. `op` names the call and `name` the file.
    Io {
        /// The operation, for example `fdatasync`.
        op: &'static str,
        /// The file or directory it was applied to.
        name: String,
        /// The OS error.
        source: Arc<io::Error>,
    },
    /// Recovery found damage it must not repair on its own.
    Corrupt(Corruption),
    /// Another process holds the log directory.
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The PID written by the holder, when it could be read.
        pid: Option<u32>,
    },
    /// An earlier write or sync failed: the log accepts and acknowledges nothing more.
    Poisoned(Arc<Error>),
    /// The writer has been shut down.
    Closed,
    /// The caller broke the API contract (for example an oversized payload).
    Invalid(String),
    /// A wait ran out of time before the sequence became durable.
    TimedOut {
        /// The sequence number waited for.
        seq: u64,
        /// The durable watermark when the wait gave up.
        durable: u64,
    },
}

impl Error {
    pub(crate) fn io(op: &'static str, name: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            op,
            name: name.into(),
            source: Arc::new(source),
        }
    }

    /// The corruption behind this error, if that is what it is.
    pub fn corruption(&self) -> Option<&Corruption> {
        match self {
            Self::Corrupt(c) => Some(c),
            Self::Poisoned(inner) => inner.corruption(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { op, name, source } => write!(f, "{op} {name}: {source}"),
            Self::Corrupt(c) => c.fmt(f),
            Self::Locked {
                path,
                pid: Some(pid),
            } => write!(
                f,
                "log directory is locked by pid {pid} ({}); stop that process first",
                path.display()
            ),
            Self::Locked { path, pid: None } => write!(
                f,
                "log directory is locked by another process ({}); stop it first",
                path.display()
            ),
            Self::Poisoned(cause) => write!(
                f,
                "log stopped after an I/O error ({cause}); restart to recover"
            ),
            Self::Closed => f.write_str("log writer is shut down"),
            Self::Invalid(msg) => f.write_str(msg),
            Self::TimedOut { seq, durable } => write!(
                f,
                "timed out waiting for sequence {seq} to become durable (durable up to {durable})"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
