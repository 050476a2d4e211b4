//! What can go wrong reading a config, each said in the shape
//! `file:line:column: key.path: what is wrong`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde_saphyr::{DefaultMessageFormatter, MessageFormatter as _};

use super::{BUILTIN_NAME, CONFIG_BYTES_MAX};
use crate::error::AppError;

/// A 1-based line and column in a config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
}

/// `line:column`.
impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One invalid value: `key.path: must be ..., got ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `global.risk_loop_interval_sec`, `symbols[1]`.
    pub path: String,
    /// What is wrong, e.g. `must be > 0, got -1`.
    pub message: String,
    /// Where the value is in the user's file; `None` for a built-in value (or a
    /// key that is missing).
    pub position: Option<Position>,
}

/// `key.path: message` (without the position; [`ConfigError`] adds it).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a config could not be loaded. Every variant is a configuration error
/// (exit code 2).
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be opened or read.
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is larger than [`CONFIG_BYTES_MAX`].
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8.
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Where the first invalid byte is.
        byte_offset: usize,
    },
    /// The YAML does not parse, or does not fit the layout (an unknown key, a list
    /// where a value belongs). Only the first such error is reported.
    Syntax {
        /// `None`: the built-in file.
        path: Option<PathBuf>,
        /// Where the error is, when known.
        position: Option<Position>,
        /// The key path at the error, when it can be told.
        key_path: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The YAML parses but values are invalid: all of them, in file order of
    /// sections.
    Invalid {
        /// `None`: the built-in defaults alone.
        path: Option<PathBuf>,
        /// Every invalid value.
        problems: Vec<Problem>,
    },
    /// A credential in the environment is unusable (its value is never shown).
    Credential {
        /// The environment variable.
        var: &'static str,
        /// What is wrong with it and how to fix it.
        message: String,
    },
}

fn name(path: Option<&Path>) -> String {
    path.map_or_else(|| BUILTIN_NAME.to_owned(), |p| p.display().to_string())
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => write!(
                f,
                "cannot read config file {}: {source}; check the path, or leave out -c to run on the built-in defaults",
                path.display()
            ),
            ConfigError::TooLarge { path } => write!(
                f,
                "{}: larger than {CONFIG_BYTES_MAX} bytes; a config file is a few kilobytes, is this the right file?",
                path.display()
            ),
            ConfigError::NotUtf8 { path, byte_offset } => write!(
                f,
                "{}: not UTF-8 text (first bad byte at offset {byte_offset}); save it as UTF-8",
                path.display()
            ),
            ConfigError::Syntax {
                path,
                position,
                key_path,
                message,
            } => {
                write!(f, "{}", name(path.as_deref()))?;
                if let Some(p) = position {
                    write!(f, ":{p}")?;
                }
                if let Some(k) = key_path {
                    write!(f, ": {k}")?;
                }
                write!(f, ": {message}")
            }
            ConfigError::Invalid { path, problems } => {
                let file = name(path.as_deref());
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    match problem.position {
                        Some(p) => write!(f, "{file}:{p}: {problem}")?,
                        None => write!(f, "{file}: {problem}")?,
                    }
                }
                Ok(())
            }
            ConfigError::Credential { var, message } => {
                write!(f, "environment variable {var}: {message}")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl ConfigError {
    /// The problems of an [`ConfigError::Invalid`]; empty for the other kinds.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// A config error is a usage error (exit code 2).
impl From<ConfigError> for AppError {
    fn from(e: ConfigError) -> AppError {
        AppError::usage(e.to_string())
    }
}

/// An unknown key's message lists the section's keys when there are at most
/// this many (else it points at the shipped file).
const UNKNOWN_KEY_LIST_MAX: usize = 12;

/// Turns serde-saphyr's error into ours: the position, the key path when it can
/// be told from the text, and for an unknown key the closest known one.
pub(crate) fn from_yaml_error(
    e: &serde_saphyr::Error,
    text: &str,
    path: Option<&Path>,
) -> ConfigError {
    use serde_saphyr::Error as E;
    let mut inner = e;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let position = e.location().filter(|l| l.line() > 0).map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let path_here = || position.and_then(|p| key_path_at(text, p));
    let (key_path, message) = match inner {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let field = field.escape_debug().to_string();
            let key_path = path_here()
                .filter(|p| p == &field || p.ends_with(&format!(".{field}")))
                .unwrap_or_else(|| field.clone());
            let message = match suggest(&field, expected) {
                Some(known) => format!("unknown key; did you mean {known}?"),
                None if expected.len() <= UNKNOWN_KEY_LIST_MAX => {
                    format!("unknown key; the keys here are {}", expected.join(", "))
                }
                None => "unknown key, and no known key is close; the shipped config/scalper.yml lists every key with its unit and default".to_owned(),
            };
            (Some(key_path), message)
        }
        E::DuplicateMappingKey { .. } => {
            (path_here(), "duplicate key; keep one of them".to_owned())
        }
        E::Unexpected { expected, .. } => (
            path_here(),
            match *expected {
                "string scalar" | "scalar" | "value" => {
                    "must be a single value here, not a list or a mapping".to_owned()
                }
                "mapping start" => {
                    "must be a mapping here (indented `key: value` lines)".to_owned()
                }
                "sequence start" => "must be a list here, such as [NIFTY]".to_owned(),
                _ => formatted(inner),
            },
        ),
        E::SerdeInvalidType { .. }
        | E::SerdeInvalidValue { .. }
        | E::SerdeInvalidLength { .. }
        | E::SerdeUnknownVariant { .. }
        | E::InvalidScalar { .. }
        | E::NullIntoString { .. }
        | E::Message { .. } => (path_here(), formatted(inner)),
        _ => (None, formatted(inner)),
    };
    ConfigError::Syntax {
        path: path.map(Path::to_path_buf),
        position,
        key_path,
        message,
    }
}

/// The crate's message without its location suffix, with control characters
/// escaped (it may quote the file).
fn formatted(e: &serde_saphyr::Error) -> String {
    DefaultMessageFormatter
        .format_message(e)
        .escape_debug()
        .to_string()
}

/// The known key closest to `field`: equal ignoring case, or within a third of
/// its length in edits (at least one).
fn suggest<'a>(field: &str, known: &[&'a str]) -> Option<&'a str> {
    if let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(field)) {
        return Some(k);
    }
    let limit = (field.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(field, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance (keys are short: the quadratic cost is nothing).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A block-style `key:` line: its indentation and key.
fn block_key(line: &str) -> Option<(usize, &str)> {
    let content = line.trim_start_matches(' ');
    let indent = line.len() - content.len();
    if content.starts_with(['#', '-', '{', '[']) {
        return None;
    }
    let colon = content.find(':')?;
    let after = &content[colon + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\t'])) {
        return None;
    }
    let key = content[..colon].trim().trim_matches(['"', '\'']);
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    plain.then_some((indent, key))
}

/// The dotted key path at `pos` in block-style YAML: the key on that line (if
/// the position is not inside a flow collection) and the keys of the lines with
/// less indentation above it. `None` when the text is not simple enough to tell.
pub(crate) fn key_path_at(text: &str, pos: Position) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(pos.line).ok()?.checked_sub(1)?;
    let line = *lines.get(index)?;
    let column = usize::try_from(pos.column).ok()?.saturating_sub(1);
    // Inside a flow collection (`{a: 1}`) the line's first key says nothing.
    let before: String = line.chars().take(column).collect();
    if before.contains(['{', '[']) {
        return None;
    }
    let content = line.trim_start_matches(' ');
    let mut indent = line.len() - content.len();
    let mut keys = Vec::new();
    if let Some((_, key)) = block_key(line) {
        keys.push(key);
    }
    for above in lines[..index].iter().rev() {
        if indent == 0 {
            break;
        }
        let trimmed = above.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            continue;
        }
        let above_indent = above.len() - above.trim_start_matches(' ').len();
        if above_indent < indent {
            let (_, key) = block_key(above)?;
            keys.push(key);
            indent = above_indent;
        }
    }
    if keys.is_empty() {
        return None;
    }
    keys.reverse();
    Some(keys.join("."))
}
