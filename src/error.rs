//! The error every command returns: one line of text and the exit code that goes
//! with it (DESIGN §8: 1 = the command ran and found a problem, 2 = usage or
//! configuration error).

use std::fmt;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: success.
    Success = 0,
    /// 1: the command ran and found a problem (corruption, lock held, rejected operation).
    Problem = 1,
    /// 2: usage or configuration error.
    Usage = 2,
}

/// A failed command: what, where, and how to fix it, in one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The exit code `main` returns.
    pub code: ExitCode,
    /// The one line printed to stderr.
    pub message: String,
}

impl AppError {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::Usage,
            message: message.into(),
        }
    }

    /// A problem found while running (exit 1).
    pub fn problem(message: impl Into<String>) -> Self {
        Self {
            code: ExitCode::Problem,
            message: message.into(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl From<wal::Error> for AppError {
    fn from(e: wal::Error) -> Self {
        match &e {
            wal::Error::Invalid(_) => Self::usage(e.to_string()),
            wal::Error::Corrupt(_) => Self::problem(format!(
                "{e}; the log was not changed (inspect with `dhan_scalper wal verify`)"
            )),
            _ => Self::problem(e.to_string()),
        }
    }
}
