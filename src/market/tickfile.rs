//! The tick CSV: the `replay:FILE` feed ([`ReplayFeed`]) and the `--record FILE`
//! writer ([`Recorder`], [`RecordingFeed`]). What one writes the other reads back
//! to equal ticks.
//!
//! # Format
//!
//! UTF-8 text, one tick per line, the first line exactly the header
//! [`TICK_CSV_HEADER`]:
//!
//! ```text
//! ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume
//! 2025-12-02T09:15:00.000+05:30,IDX_I,13,NIFTY,,,,25000.00,,,
//! 2025-12-02T09:15:00.000+05:30,NSE_FNO,13204240250001,NIFTY,2025-12-02,25000,CE,120.05,120.00,120.10,
//! ```
//!
//! | column | content |
//! |---|---|
//! | `ts` | RFC 3339 with an offset (`Z` or `+05:30`); kept to the millisecond (finer digits are dropped, rounding down) |
//! | `segment` | `IDX_I` (an index value), `NSE_FNO` or `BSE_FNO` |
//! | `security_id` | the broker's numeric id |
//! | `underlying` | the index name, e.g. `NIFTY`: 1 to [`UNDERLYING_LEN_MAX_BYTES`] printable ASCII characters, no spaces |
//! | `expiry` | `YYYY-MM-DD`; empty on an `IDX_I` row, required otherwise |
//! | `strike` | a price, e.g. `25000`; empty on an `IDX_I` row, required otherwise |
//! | `option_type` | `CE` or `PE`; empty on an `IDX_I` row, required otherwise |
//! | `ltp` | a price, required |
//! | `bid`, `ask` | prices, may be empty |
//! | `volume` | whole number, may be empty |
//!
//! A price is digits with an optional fraction (`25000`, `120.05`), positive and
//! on the 0.05 tick. Fields are split on `,` and trimmed of spaces; the format
//! never needs quoting, so a `"` is refused. Blank lines are skipped; a line is
//! at most [`LINE_BYTES_MAX`] bytes. Rows are in non-decreasing `ts` order. Any
//! bad line stops the replay with its line number and column.
//!
//! The recorder writes `ts` in IST with milliseconds, prices with two decimals,
//! strikes without trailing zeros, and nothing for a missing field.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rust_decimal::Decimal;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::money::{MoneyError, Price};
use crate::wallet::{Segment, Symbol, Timestamp, TradingDay};

use super::feed::{Feed, FeedError, POLL_TICKS_MAX};
use super::types::{OptionContract, OptionType, Tick, TickSegment};

/// The first line of every tick file.
pub const TICK_CSV_HEADER: &str =
    "ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume";

/// The columns of [`TICK_CSV_HEADER`], in order.
pub const TICK_CSV_COLUMNS: [&str; 11] = [
    "ts",
    "segment",
    "security_id",
    "underlying",
    "expiry",
    "strike",
    "option_type",
    "ltp",
    "bid",
    "ask",
    "volume",
];

/// The longest line accepted, in bytes (a recorded row is about 110).
pub const LINE_BYTES_MAX: usize = 1024;

/// The longest underlying name accepted, in bytes: short enough that every
/// option symbol built from it fits in a [`Symbol`].
pub const UNDERLYING_LEN_MAX_BYTES: usize = 32;

/// The most digits a number field may have (prices, ids, volumes).
const NUMBER_DIGITS_MAX: usize = 20;

/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

const IST: UtcOffset = offset!(+05:30);

const TS_FORMAT: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
);

const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

/// `ts` as the recorder writes it: RFC 3339 in IST with milliseconds, e.g.
/// `2025-12-02T09:15:00.250+05:30`. `None` outside the years 0000-9999.
pub fn format_ts(ts: Timestamp) -> Option<String> {
    let nanos = i128::from(ts.epoch_ms()) * 1_000_000;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .to_offset(IST);
    at.format(TS_FORMAT).ok()
}

/// Parses an RFC 3339 time with an offset, down to the millisecond (finer
/// digits round down).
pub fn parse_ts(s: &str) -> Option<Timestamp> {
    let at = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let ms = at.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).ok().map(Timestamp::from_epoch_ms)
}

/// `YYYY-MM-DD` of a day; `None` outside the years the `time` crate supports.
pub fn format_day(day: TradingDay) -> Option<String> {
    let date =
        Date::from_julian_day(day.days_since_epoch().checked_add(UNIX_EPOCH_JULIAN_DAY)?).ok()?;
    date.format(DATE_FORMAT).ok()
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<TradingDay> {
    let date = Date::parse(s, DATE_FORMAT).ok()?;
    Some(TradingDay::from_days_since_epoch(
        date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY,
    ))
}

/// Checks an underlying name (1 to [`UNDERLYING_LEN_MAX_BYTES`] printable ASCII
/// characters, none of them `,` or `"`), returning why not in a sentence.
pub(crate) fn check_underlying(name: &str) -> Result<Symbol, String> {
    if name.is_empty() {
        return Err("empty; name the index, e.g. NIFTY".to_owned());
    }
    if name.len() > UNDERLYING_LEN_MAX_BYTES {
        return Err(format!(
            "{name:?} is longer than {UNDERLYING_LEN_MAX_BYTES} bytes; use the index name, e.g. NIFTY"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"')
    {
        return Err(format!(
            "{name:?} has a character other than printable ASCII without spaces, commas or quotes; use the index name, e.g. NIFTY"
        ));
    }
    Symbol::new(name).map_err(|e| e.to_string())
}

/// A price field: digits with an optional fraction, positive, on the tick.
fn parse_price(raw: &str, example: &str) -> Result<Price, String> {
    if let Some(paise) = fast_paise(raw.as_bytes())
        && paise > 0
        && paise % 5 == 0
    {
        return Price::from_paise(paise).map_err(|e| format!("{raw:?}: {e}"));
    }
    let not_a_price = || format!("{raw:?} is not a price; use digits like {example}");
    let (int_part, frac_part) = match raw.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (raw, None),
    };
    let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int_part) || frac_part.is_some_and(|f| !digits_ok(f)) {
        return Err(not_a_price());
    }
    if raw.len() > NUMBER_DIGITS_MAX {
        return Err(format!(
            "{raw:?} has more than {NUMBER_DIGITS_MAX} characters; prices are like {example}"
        ));
    }
    let value = Decimal::from_str_exact(raw).map_err(|_| not_a_price())?;
    Price::from_decimal(value).map_err(|e| match e {
        MoneyError::NotOnTick { .. } => {
            format!("{raw:?} is not on the 0.05 tick; round it to a multiple of 0.05")
        }
        MoneyError::NonPositivePrice { .. } => {
            format!("{raw:?} is not positive; prices start at 0.05")
        }
        other => format!("{raw:?}: {other}"),
    })
}

/// A whole-number field.
fn parse_u64(raw: &str, what: &str, example: &str) -> Result<u64, String> {
    if raw.is_empty() || raw.len() > NUMBER_DIGITS_MAX || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{raw:?} is not {what}; use digits like {example}"));
    }
    raw.parse::<u64>().map_err(|_| {
        format!(
            "{raw:?} is too large for {what}; the largest is {}",
            u64::MAX
        )
    })
}

fn parse_segment(raw: &str) -> Result<TickSegment, String> {
    match raw {
        "IDX_I" => Ok(TickSegment::Index),
        "NSE_FNO" => Ok(TickSegment::Fno(Segment::NseFno)),
        "BSE_FNO" => Ok(TickSegment::Fno(Segment::BseFno)),
        other => Err(format!(
            "{other:?} is not a segment; use IDX_I, NSE_FNO or BSE_FNO"
        )),
    }
}

fn parse_option_type(raw: &str) -> Result<OptionType, String> {
    match raw {
        "CE" => Ok(OptionType::Ce),
        "PE" => Ok(OptionType::Pe),
        other => Err(format!("{other:?} is not an option type; use CE or PE")),
    }
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

/// Formats one tick as a row (without the line end). `None` only for a time or
/// expiry outside the years 0000-9999.
pub fn format_row(tick: &Tick) -> Option<String> {
    let mut row = String::with_capacity(128);
    let opt_price = |p: Option<Price>| p.map(|p| p.to_decimal().to_string()).unwrap_or_default();
    row.push_str(&format_ts(tick.ts)?);
    row.push(',');
    row.push_str(tick.segment.as_str());
    row.push(',');
    row.push_str(&tick.security_id.to_string());
    row.push(',');
    row.push_str(tick.underlying.as_str());
    row.push(',');
    if let Some(contract) = &tick.contract {
        row.push_str(&format_day(contract.expiry)?);
        row.push(',');
        row.push_str(&contract.strike.to_decimal().normalize().to_string());
        row.push(',');
        row.push_str(contract.option_type.as_str());
    } else {
        row.push_str(",,");
    }
    row.push(',');
    row.push_str(&tick.ltp.to_decimal().to_string());
    row.push(',');
    row.push_str(&opt_price(tick.bid));
    row.push(',');
    row.push_str(&opt_price(tick.ask));
    row.push(',');
    if let Some(volume) = tick.volume {
        row.push_str(&volume.to_string());
    }
    Some(row)
}

/// Parses one row (without its line end). `path` and `line` only label errors.
pub fn parse_row(path: &str, line: u64, text: &str) -> Result<Tick, FeedError> {
    parse_row_cached(path, line, text, &mut RowCache::default())
}

/// `str::trim`, skipped when the field has no space at either end.
fn trim_field(f: &str) -> &str {
    match (f.as_bytes().first(), f.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => f,
        _ => f.trim(),
    }
}

/// Whole paise of a plain price (`digits[.d[d]]`, at most 15 digits); `None`
/// sends it to the exact parser.
fn fast_paise(raw: &[u8]) -> Option<i64> {
    let (mut value, mut digits, mut frac) = (0i64, 0u32, None::<u32>);
    for &c in raw {
        match c {
            b'0'..=b'9' => {
                if let Some(f) = frac.as_mut() {
                    if *f == 2 {
                        return None;
                    }
                    *f += 1;
                }
                digits += 1;
                if digits > 15 {
                    return None;
                }
                value = value * 10 + i64::from(c - b'0');
            }
            b'.' if frac.is_none() && digits > 0 => frac = Some(0),
            _ => return None,
        }
    }
    match frac {
        None if digits > 0 => Some(value * 100),
        Some(f @ 1..=2) => Some(value * 10i64.pow(2 - f)),
        _ => None,
    }
}

/// Milliseconds in a day (UTC days have no leap seconds in epoch time).
const MS_PER_DAY: i64 = 86_400_000;

/// What consecutive rows share: the day of the last `ts` and the last expiry.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    ts_day: Option<([u8; 10], i64)>,
    expiry: Option<([u8; 10], TradingDay)>,
    underlying: Option<Symbol>,
}

/// The recorder's layout `YYYY-MM-DDTHH:MM:SS.mmm+HH:MM` parsed by hand, the
/// day's epoch milliseconds cached; anything else goes to [`parse_ts`].
fn parse_ts_cached(s: &str, cache: &mut RowCache) -> Option<Timestamp> {
    let b = s.as_bytes();
    let layout_ok = b.len() == 29
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && (b[23] == b'+' || b[23] == b'-')
        && b[26] == b':';
    if !layout_ok {
        return parse_ts(s);
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (h, mi, se, ms, oh, om) = (
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        num(20..23)?,
        num(24..26)?,
        num(27..29)?,
    );
    if h > 23 || mi > 59 || se > 59 || oh > 23 || om > 59 {
        // A leap second and the like: the full parser decides.
        return parse_ts(s);
    }
    let mut day = [0u8; 10];
    day.copy_from_slice(&b[..10]);
    let day_ms = match cache.ts_day {
        Some((d, ms)) if d == day => ms,
        _ => {
            let ms = i64::from(parse_day(&s[..10])?.days_since_epoch()) * MS_PER_DAY;
            cache.ts_day = Some((day, ms));
            ms
        }
    };
    let offset_ms = (oh * 60 + om) * 60_000 * if b[23] == b'-' { -1 } else { 1 };
    Some(Timestamp::from_epoch_ms(
        day_ms + ((h * 60 + mi) * 60 + se) * 1000 + ms - offset_ms,
    ))
}

fn parse_day_cached(s: &str, cache: &mut RowCache) -> Option<TradingDay> {
    if s.len() == 10 {
        if let Some((d, day)) = cache.expiry
            && d == s.as_bytes()
        {
            return Some(day);
        }
        let day = parse_day(s)?;
        let mut d = [0u8; 10];
        d.copy_from_slice(s.as_bytes());
        cache.expiry = Some((d, day));
        return Some(day);
    }
    parse_day(s)
}

/// [`parse_row`] with the shared-field cache of one file.
fn parse_row_cached(
    path: &str,
    line: u64,
    text: &str,
    cache: &mut RowCache,
) -> Result<Tick, FeedError> {
    let row = RowContext { path, line };
    if text.contains('"') {
        return Err(row.error(
            None,
            "quotes are not supported; this format never needs them (no field holds a comma), remove them"
                .to_owned(),
        ));
    }
    let mut fields = [""; TICK_CSV_COLUMNS.len()];
    let mut count = 0;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut put = |count: usize, start: usize, end: usize| {
        if let Some(slot) = fields.get_mut(count) {
            *slot = trim_field(text.get(start..end).unwrap_or(""));
        }
    };
    for (i, &c) in bytes.iter().enumerate() {
        if c == b',' {
            put(count, start, i);
            count += 1;
            start = i + 1;
        }
    }
    put(count, start, bytes.len());
    count += 1;
    if count != TICK_CSV_COLUMNS.len() {
        return Err(row.error(
            None,
            format!(
                "{} columns, expected {} ({TICK_CSV_HEADER})",
                count,
                TICK_CSV_COLUMNS.len()
            ),
        ));
    }
    let raw_ts = fields[0];
    let ts = row.column(
        0,
        parse_ts_cached(raw_ts, cache).ok_or_else(|| {
            format!(
                "{raw_ts:?} is not an RFC 3339 time with an offset; write it like 2025-12-02T09:15:00.250+05:30"
            )
        }),
    )?;
    let segment = row.column(1, parse_segment(fields[1]))?;
    let security_id = row.column(2, parse_u64(fields[2], "a security id", "13 or 49081"))?;
    let underlying = match &cache.underlying {
        Some(u) if u.as_str() == fields[3] => u.clone(),
        _ => {
            let u = row.column(3, check_underlying(fields[3]))?;
            cache.underlying = Some(u.clone());
            u
        }
    };

    const CONTRACT_COLUMNS: [usize; 3] = [4, 5, 6];
    let contract = match segment {
        TickSegment::Index => {
            if let Some(&i) = CONTRACT_COLUMNS.iter().find(|&&i| !fields[i].is_empty()) {
                return Err(row.error(
                    Some(TICK_CSV_COLUMNS[i]),
                    format!(
                        "{:?} on an IDX_I row; index rows leave expiry, strike and option_type empty",
                        fields[i]
                    ),
                ));
            }
            None
        }
        TickSegment::Fno(_) => {
            if let Some(&i) = CONTRACT_COLUMNS.iter().find(|&&i| fields[i].is_empty()) {
                return Err(row.error(
                    Some(TICK_CSV_COLUMNS[i]),
                    format!(
                        "empty on a {} row; option rows need expiry, strike and option_type",
                        fields[1]
                    ),
                ));
            }
            let raw_expiry = fields[4];
            let expiry = row.column(
                4,
                parse_day_cached(raw_expiry, cache).ok_or_else(|| {
                    format!("{raw_expiry:?} is not a date; write it like 2025-12-02")
                }),
            )?;
            let strike = row.column(5, parse_price(fields[5], "25000 or 25000.05"))?;
            let option_type = row.column(6, parse_option_type(fields[6]))?;
            Some(OptionContract {
                expiry,
                strike,
                option_type,
            })
        }
    };
    if fields[7].is_empty() {
        return Err(row.error(
            Some("ltp"),
            "empty; every row needs a last price, like 120.05".to_owned(),
        ));
    }
    let ltp = row.column(7, parse_price(fields[7], "120 or 120.05"))?;
    let optional_price = |i: usize| -> Result<Option<Price>, FeedError> {
        if fields[i].is_empty() {
            Ok(None)
        } else {
            row.column(i, parse_price(fields[i], "120 or 120.05"))
                .map(Some)
        }
    };
    let bid = optional_price(8)?;
    let ask = optional_price(9)?;
    let volume = if fields[10].is_empty() {
        None
    } else {
        Some(row.column(10, parse_u64(fields[10], "a volume", "0 or 1500"))?)
    };
    Ok(Tick {
        ts,
        segment,
        security_id,
        underlying,
        contract,
        ltp,
        bid,
        ask,
        volume,
    })
}

/// Where a row is, for its errors.
struct RowContext<'a> {
    path: &'a str,
    line: u64,
}

impl RowContext<'_> {
    fn error(&self, column: Option<&'static str>, message: String) -> FeedError {
        FeedError::Row {
            path: self.path.to_owned(),
            line: self.line,
            column,
            message,
        }
    }

    /// Labels a column's parse error with the column's name.
    fn column<T>(&self, index: usize, parsed: Result<T, String>) -> Result<T, FeedError> {
        parsed.map_err(|message| self.error(Some(TICK_CSV_COLUMNS[index]), message))
    }
}

// ---------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------

/// The `replay:FILE` feed: streams a tick CSV (see the module docs), one line at
/// a time, so a file of any length needs constant memory.
#[derive(Debug)]
pub struct ReplayFeed<R = BufReader<File>> {
    /// The file as the user named it (errors say this).
    path: String,
    /// `replay:` + path.
    name: String,
    reader: R,
    /// The number of the last line read (1 = the header).
    line: u64,
    /// The next tick, or the error that ends the replay.
    next: Option<Result<Tick, FeedError>>,
    /// The time of the last good row (for the order check and `next_ts`).
    prev_ts: Option<Timestamp>,
    buf: Vec<u8>,
    cache: RowCache,
}

impl ReplayFeed<BufReader<File>> {
    /// Opens a tick file and checks its header and first row.
    pub fn open(path: impl AsRef<Path>) -> Result<ReplayFeed<BufReader<File>>, FeedError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let file = File::open(path).map_err(|e| FeedError::Io {
            path: label.clone(),
            line: None,
            message: format!("cannot open the tick file: {e}; check the path after replay:"),
        })?;
        ReplayFeed::from_reader(&label, BufReader::new(file))
    }
}

impl<R: BufRead> ReplayFeed<R> {
    /// A replay of any reader; `path` labels errors. Reads and checks the header
    /// and the first row: a bad header or first row fails here, so a later error
    /// always follows a good tick.
    pub fn from_reader(path: &str, reader: R) -> Result<ReplayFeed<R>, FeedError> {
        let mut feed = ReplayFeed {
            path: path.to_owned(),
            name: format!("replay:{path}"),
            reader,
            line: 0,
            next: None,
            prev_ts: None,
            buf: Vec::with_capacity(256),
            cache: RowCache::default(),
        };
        let header = match feed.read_line()? {
            Some(h) => h,
            None => {
                return Err(FeedError::Row {
                    path: path.to_owned(),
                    line: 1,
                    column: None,
                    message: format!(
                        "the file is empty; the first line must be the header {TICK_CSV_HEADER}"
                    ),
                });
            }
        };
        let header = header.strip_prefix('\u{feff}').unwrap_or(&header);
        if header.trim() != TICK_CSV_HEADER {
            return Err(FeedError::Row {
                path: path.to_owned(),
                line: feed.line,
                column: None,
                message: format!(
                    "the header is {:?}; the first line must be exactly {TICK_CSV_HEADER}",
                    header.trim()
                ),
            });
        }
        feed.advance();
        if let Some(Err(e)) = &feed.next {
            return Err(e.clone());
        }
        Ok(feed)
    }

    /// The number of the last line read (the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next line without its line end; `None` at the end of the file.
    fn read_line(&mut self) -> Result<Option<String>, FeedError> {
        if !self.read_line_raw()? {
            return Ok(None);
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some(s.to_owned())),
            Err(_) => Err(FeedError::Row {
                path: self.path.clone(),
                line: self.line,
                column: None,
                message: "the line is not UTF-8 text; is this a tick file?".to_owned(),
            }),
        }
    }

    /// Reads the next line into `buf` without its line end; false at the end.
    fn read_line_raw(&mut self) -> Result<bool, FeedError> {
        self.buf.clear();
        // Two bytes more than the limit, so a full-length line with "\r\n" fits.
        let limit = LINE_BYTES_MAX as u64 + 2;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf);
        self.line += 1;
        let io_err = |line, message| FeedError::Io {
            path: self.path.clone(),
            line: Some(line),
            message,
        };
        match read {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(e) => return Err(io_err(self.line, format!("cannot read the tick file: {e}"))),
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() as u64 == limit {
            return Err(FeedError::Row {
                path: self.path.clone(),
                line: self.line,
                column: None,
                message: format!(
                    "the line is longer than {LINE_BYTES_MAX} bytes; is this a tick file?"
                ),
            });
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }

    /// Reads the next row into `self.next` (skipping blank lines), checking the
    /// time order.
    fn advance(&mut self) {
        self.next = loop {
            // Each iteration consumes at least one line of the file, so the loop
            // ends at the end of the file.
            match self.read_line_raw() {
                Ok(true) => {}
                Ok(false) => break None,
                Err(e) => break Some(Err(e)),
            };
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(_) => {
                    break Some(Err(FeedError::Row {
                        path: self.path.clone(),
                        line: self.line,
                        column: None,
                        message: "the line is not UTF-8 text; is this a tick file?".to_owned(),
                    }));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            let parsed = parse_row_cached(&self.path, self.line, text, &mut self.cache).and_then(|tick| {
                match self.prev_ts {
                    Some(prev) if tick.ts < prev => Err(FeedError::Row {
                        path: self.path.clone(),
                        line: self.line,
                        column: Some("ts"),
                        message: format!(
                            "{} is earlier than the row before ({}); rows must be in time order, sort the file by ts",
                            format_ts(tick.ts).unwrap_or_else(|| tick.ts.to_string()),
                            format_ts(prev).unwrap_or_else(|| prev.to_string()),
                        ),
                    }),
                    _ => Ok(tick),
                }
            });
            if let Ok(tick) = &parsed {
                self.prev_ts = Some(tick.ts);
            }
            break Some(parsed);
        };
    }
}

impl<R: BufRead + Send> Feed for ReplayFeed<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn next_ts(&self) -> Option<Timestamp> {
        match &self.next {
            None => None,
            Some(Ok(tick)) => Some(tick.ts),
            // Due now: the next poll reports it. There is always a previous
            // good row (a bad first row fails `from_reader`).
            Some(Err(_)) => self.prev_ts,
        }
    }

    fn poll(&mut self, now: Timestamp, out: &mut Vec<Tick>) -> Result<usize, FeedError> {
        let mut appended = 0;
        while appended < POLL_TICKS_MAX {
            match &self.next {
                Some(Ok(tick)) if tick.ts <= now => {}
                Some(Err(e)) if appended == 0 => return Err(e.clone()),
                _ => break,
            }
            if let Some(Ok(tick)) = self.next.take() {
                out.push(tick);
                appended += 1;
            }
            self.advance();
        }
        Ok(appended)
    }
}

// ---------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------

/// Writes ticks as a tick CSV (header first), so any session can be replayed.
#[derive(Debug)]
pub struct Recorder<W: Write = BufWriter<File>> {
    path: String,
    writer: W,
    rows: u64,
    /// The first write error; every later call returns it.
    failed: Option<FeedError>,
}

impl Recorder<BufWriter<File>> {
    /// Creates `path` (refusing to overwrite an existing file) and writes the
    /// header.
    pub fn create(path: impl AsRef<Path>) -> Result<Recorder<BufWriter<File>>, FeedError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| FeedError::Io {
                path: label.clone(),
                line: None,
                message: if e.kind() == std::io::ErrorKind::AlreadyExists {
                    "cannot record: the file already exists; choose a new name or remove it"
                        .to_owned()
                } else {
                    format!("cannot create the recording: {e}")
                },
            })?;
        Recorder::new(&label, BufWriter::new(file))
    }
}

impl<W: Write> Recorder<W> {
    /// A recorder on any writer; `path` labels errors. Writes the header.
    pub fn new(path: &str, writer: W) -> Result<Recorder<W>, FeedError> {
        let mut recorder = Recorder {
            path: path.to_owned(),
            writer,
            rows: 0,
            failed: None,
        };
        let header = format!("{TICK_CSV_HEADER}\n");
        recorder.write(header.as_bytes())?;
        Ok(recorder)
    }

    /// Appends one tick.
    pub fn record(&mut self, tick: &Tick) -> Result<(), FeedError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(mut row) = format_row(tick) else {
            return Err(FeedError::Io {
                path: self.path.clone(),
                line: None,
                message: format!(
                    "cannot record a tick at {}: its time or expiry is outside the years 0000-9999",
                    tick.ts
                ),
            });
        };
        row.push('\n');
        self.write(row.as_bytes())?;
        self.rows += 1;
        Ok(())
    }

    /// Appends ticks in order.
    pub fn record_all(&mut self, ticks: &[Tick]) -> Result<(), FeedError> {
        ticks.iter().try_for_each(|t| self.record(t))
    }

    /// Rows written so far (the header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes buffered rows to the writer.
    pub fn flush(&mut self) -> Result<(), FeedError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.writer.flush();
        self.check(result)
    }

    /// Flushes and returns the writer. (A file recording is not fsynced: a
    /// recording is a convenience, not part of the ledger.)
    pub fn finish(mut self) -> Result<W, FeedError> {
        self.flush()?;
        Ok(self.writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), FeedError> {
        let result = self.writer.write_all(bytes);
        self.check(result)
    }

    fn check(&mut self, result: std::io::Result<()>) -> Result<(), FeedError> {
        result.map_err(|e| {
            let err = FeedError::Io {
                path: self.path.clone(),
                line: None,
                message: format!("cannot write the recording: {e}"),
            };
            self.failed = Some(err.clone());
            err
        })
    }
}

/// A feed that writes every tick it returns to a [`Recorder`] (`--record FILE`).
#[derive(Debug)]
pub struct RecordingFeed<F, W: Write = BufWriter<File>> {
    inner: F,
    recorder: Recorder<W>,
}

impl<F: Feed, W: Write + Send> RecordingFeed<F, W> {
    /// Records what `inner` returns into `recorder`.
    pub fn new(inner: F, recorder: Recorder<W>) -> RecordingFeed<F, W> {
        RecordingFeed { inner, recorder }
    }

    /// The recorder (for `rows()` and `flush()`).
    pub fn recorder_mut(&mut self) -> &mut Recorder<W> {
        &mut self.recorder
    }

    /// Flushes the recording and returns the feed and the writer.
    pub fn finish(self) -> Result<(F, W), FeedError> {
        let writer = self.recorder.finish()?;
        Ok((self.inner, writer))
    }
}

impl<F: Feed, W: Write + Send> Feed for RecordingFeed<F, W> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn next_ts(&self) -> Option<Timestamp> {
        self.inner.next_ts()
    }

    /// As the inner feed's `poll`; on a recording error the ticks of this call
    /// are still in `out` (they are good), and the error is returned.
    fn poll(&mut self, now: Timestamp, out: &mut Vec<Tick>) -> Result<usize, FeedError> {
        let before = out.len();
        let appended = self.inner.poll(now, out)?;
        self.recorder.record_all(&out[before..])?;
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random times and prices per run of the fast-path test.
    const CASES: usize = 50_000;

    /// The hand-written fast paths of a replay agree with the exact parsers
    /// they bypass, valid input or not. `TICKFILE_SEED` replays a run.
    #[test]
    fn fast_paths_agree_with_the_exact_parsers() {
        let seed = std::env::var("TICKFILE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fastrand::u64(..));
        println!("TICKFILE_SEED={seed}");
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut cache = RowCache::default();
        for _ in 0..CASES {
            let ts = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}",
                rng.u32(1969..=2100),
                rng.u32(0..=13),
                rng.u32(0..=32),
                rng.u32(0..=25),
                rng.u32(0..=61),
                rng.u32(0..=61),
                rng.u32(0..1000),
                if rng.bool() { '+' } else { '-' },
                rng.u32(0..=24),
                rng.u32(0..=60),
            );
            assert_eq!(parse_ts_cached(&ts, &mut cache), parse_ts(&ts), "{ts}");
            let price = match rng.u8(0..5) {
                0 => format!("{}", rng.u64(0..10_000_000)),
                1 => format!("{}.{}", rng.u64(0..100_000), rng.u32(0..10)),
                2 => format!("{}.{:02}", rng.u64(0..100_000), rng.u32(0..100)),
                3 => format!("{}.{:03}", rng.u64(0..1000), rng.u32(0..1000)),
                _ => format!("{}", rng.u64(..)),
            };
            let exact = Decimal::from_str_exact(&price)
                .ok()
                .and_then(|d| Price::from_decimal(d).ok());
            assert_eq!(parse_price(&price, "1").ok(), exact, "{price}");
        }
    }
}
