//! The session book (fills and the equity curve) and the session summary that
//! `event-driven` and `paper` print and write under `DATA/reports`.
//!
//! Everything here is computed from values: the summary of a fast replay is
//! byte-identical from run to run (no wall-clock time, no durations).

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::exec::Filled;
use crate::codec::{self, dec2};
use crate::money::Amount;
use crate::scheduler::TaskStats;
use crate::wallet::{Balance, Positions, Side, Timestamp};

/// At most this many fills are kept for the report; later ones are counted only.
pub const SESSION_FILLS_MAX: usize = 100_000;
/// How many reports `report` lists.
pub const REPORTS_LISTED_MAX: usize = 1_000;
/// Subdirectory of the data dir that holds session reports.
pub const REPORTS_DIR_NAME: &str = "reports";

/// What happened in this session, as it happens.
#[derive(Debug, Default)]
pub struct SessionBook {
    fills: Vec<Filled>,
    fills_dropped: u64,
    equity_peak: Option<Amount>,
    max_drawdown: Amount,
}

impl SessionBook {
    pub fn record_fill(&mut self, fill: Filled) {
        if self.fills.len() < SESSION_FILLS_MAX {
            self.fills.push(fill);
        } else {
            self.fills_dropped += 1;
        }
    }

    /// Feeds the equity curve (total plus unrealized PnL): the drawdown is the
    /// largest fall from a peak.
    pub fn mark_equity(&mut self, equity: Amount) {
        let peak = match self.equity_peak {
            Some(p) if p >= equity => p,
            _ => {
                self.equity_peak = Some(equity);
                equity
            }
        };
        if let Some(dd) = peak.checked_sub(equity)
            && dd > self.max_drawdown
        {
            self.max_drawdown = dd;
        }
    }

    pub fn fills(&self) -> &[Filled] {
        &self.fills
    }

    pub fn max_drawdown(&self) -> Amount {
        self.max_drawdown
    }
}

/// The session summary.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `YYYYMMDD-HHMMSS-MODE` of the start, in IST.
    pub session_id: String,
    /// `event-driven`, `paper` or `paper-fast`.
    pub mode: &'static str,
    /// `sim` or `replay:FILE`.
    pub feed: String,
    pub started: Timestamp,
    pub ended: Timestamp,
    pub start_version: u64,
    pub end_version: u64,
    pub start_balance: Balance,
    pub end_balance: Balance,
    /// Open positions at the end, with their unrealized PnL at the last price
    /// (`None` when no price is known).
    pub open_positions: Vec<(crate::wallet::Position, Option<Amount>)>,
    pub fills: Vec<Filled>,
    pub fills_dropped: u64,
    pub max_drawdown: Amount,
    /// Whether trading is halted at the end, and why.
    pub halted: Option<String>,
    pub tasks: Vec<TaskStats>,
}

fn money(a: Amount) -> Value {
    Value::String(dec2(a.to_decimal()))
}

fn delta(end: Amount, start: Amount) -> Amount {
    end.checked_sub(start).unwrap_or(Amount::ZERO)
}

impl Summary {
    /// Closed trades: the session's sell fills.
    pub fn trades(&self) -> usize {
        self.fills
            .iter()
            .filter(|f| f.intent.side == Side::Sell)
            .count()
    }

    /// Exits with a positive gross PnL.
    pub fn wins(&self) -> usize {
        self.fills
            .iter()
            .filter(|f| f.intent.side == Side::Sell && f.realized_pnl.is_positive())
            .count()
    }

    pub fn realized_pnl(&self) -> Amount {
        delta(
            self.end_balance.realized_pnl,
            self.start_balance.realized_pnl,
        )
    }

    pub fn fees(&self) -> Amount {
        delta(self.end_balance.fees, self.start_balance.fees)
    }

    pub fn unrealized_pnl(&self) -> Amount {
        self.open_positions
            .iter()
            .filter_map(|(_, u)| *u)
            .fold(Amount::ZERO, |a, b| a.checked_add(b).unwrap_or(a))
    }

    /// `wins / trades` as a percentage with one decimal, or `None` without trades.
    pub fn win_rate_pct(&self) -> Option<String> {
        let trades = self.trades();
        if trades == 0 {
            return None;
        }
        let permille = (self.wins() as u64 * 1000 + trades as u64 / 2) / trades as u64;
        Some(format!("{}.{}", permille / 10, permille % 10))
    }

    pub fn to_json(&self) -> Value {
        let net = self
            .realized_pnl()
            .checked_sub(self.fees())
            .unwrap_or(Amount::ZERO);
        json!({
            "session_id": self.session_id,
            "mode": self.mode,
            "feed": self.feed,
            "started": self.started.to_string(),
            "ended": self.ended.to_string(),
            "start_version": self.start_version,
            "end_version": self.end_version,
            "trades": self.trades(),
            "wins": self.wins(),
            "win_rate_pct": self.win_rate_pct(),
            "realized_pnl": money(self.realized_pnl()),
            "unrealized_pnl": money(self.unrealized_pnl()),
            "fees": money(self.fees()),
            "net_realized_pnl": money(net),
            "max_drawdown": money(self.max_drawdown),
            "halted": self.halted,
            "balance": codec::balance_json(&self.end_balance),
            "positions": self.open_positions.iter().map(|(p, u)| {
                let mut v = codec::position_json(p);
                v["unrealized_pnl"] = u.map_or(Value::Null, money);
                v
            }).collect::<Vec<_>>(),
            "orders": self.fills.iter().map(|f| {
                let mut v = codec::intent_json(&f.intent);
                v["version"] = f.version.into();
                v["realized_pnl"] = money(f.realized_pnl);
                v
            }).collect::<Vec<_>>(),
            "orders_not_listed": self.fills_dropped,
            "tasks": self.tasks.iter().map(|t| json!({
                "name": t.name,
                "runs": t.runs,
                "missed": t.missed,
                "errors": t.errors,
                "panics": t.panics,
                "lateness_max_us": u64::try_from(t.lateness_max.as_micros()).unwrap_or(u64::MAX),
            })).collect::<Vec<_>>(),
        })
    }

    /// The human summary: a few lines and a table of the tasks.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "session {} ({}, feed {})",
            self.session_id, self.mode, self.feed
        );
        let _ = writeln!(out, "from {} to {}", self.started, self.ended);
        let _ = writeln!(
            out,
            "trades {}  wins {}  win rate {}",
            self.trades(),
            self.wins(),
            self.win_rate_pct()
                .map_or("-".to_owned(), |w| format!("{w}%"))
        );
        let _ = writeln!(
            out,
            "realized {}  unrealized {}  fees {}  max drawdown {}",
            self.realized_pnl(),
            self.unrealized_pnl(),
            self.fees(),
            self.max_drawdown
        );
        let b = &self.end_balance;
        let _ = writeln!(
            out,
            "available {}  used {}  total {}  open positions {}",
            b.available,
            b.used,
            b.total,
            self.open_positions.len()
        );
        if let Some(h) = &self.halted {
            let _ = writeln!(out, "HALTED: {h}");
        }
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
        table.set_header([
            "task",
            "runs",
            "missed",
            "errors",
            "panics",
            "max lateness µs",
        ]);
        for t in &self.tasks {
            table.add_row([
                t.name.clone(),
                t.runs.to_string(),
                t.missed.to_string(),
                t.errors.to_string(),
                t.panics.to_string(),
                t.lateness_max.as_micros().to_string(),
            ]);
        }
        let _ = writeln!(out, "{table}");
        out
    }

    /// One CSV row per fill.
    pub fn orders_csv(&self) -> String {
        let mut out = String::from(
            "version,ts,order_id,side,segment,security_id,symbol,qty,price,charges,reason,realized_pnl\n",
        );
        for f in &self.fills {
            let i = &f.intent;
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                f.version,
                i.ts.epoch_ms(),
                i.order_id.0,
                i.side,
                i.instrument.key.segment,
                i.instrument.key.security_id,
                i.instrument.symbol.as_str().replace(',', " "),
                i.qty.get(),
                dec2(i.price.to_decimal()),
                dec2(i.charges.to_decimal()),
                i.reason.map_or(String::new(), |r| r.to_string()),
                dec2(f.realized_pnl.to_decimal()),
            );
        }
        out
    }
}

/// Writes `ID.json` and `ID-orders.csv` under `reports_dir` (each by atomic
/// replace); returns their paths.
pub fn write_reports(reports_dir: &Path, summary: &Summary) -> io::Result<(PathBuf, PathBuf)> {
    fs::create_dir_all(reports_dir)?;
    let json_path = reports_dir.join(format!("{}.json", summary.session_id));
    let csv_path = reports_dir.join(format!("{}-orders.csv", summary.session_id));
    let mut text = serde_json::to_string_pretty(&summary.to_json()).map_err(io::Error::other)?;
    text.push('\n');
    write_atomic(&json_path, text.as_bytes())?;
    write_atomic(&csv_path, summary.orders_csv().as_bytes())?;
    Ok((json_path, csv_path))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}

/// The session reports under `reports_dir`, oldest first (names sort by time).
pub fn list_reports(reports_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = match fs::read_dir(reports_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e),
    };
    for entry in entries.take(REPORTS_LISTED_MAX * 4) {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("json") {
            found.push(path);
        }
    }
    found.sort();
    if found.len() > REPORTS_LISTED_MAX {
        found.drain(..found.len() - REPORTS_LISTED_MAX);
    }
    Ok(found)
}

/// `YYYYMMDD-HHMMSS-MODE`, the start in IST.
pub fn session_id(started: Timestamp, mode: &str) -> String {
    // Timestamp displays as `YYYY-MM-DD HH:MM:SS IST`.
    let shown = started.to_string();
    let digits: String = shown
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}-{time}-{mode}")
}

/// Positions with their unrealized PnL at `ltp_of` each key.
pub fn mark_positions(
    positions: &Positions,
    ltp_of: impl Fn(&crate::wallet::InstrumentKey) -> Option<crate::money::Price>,
) -> Vec<(crate::wallet::Position, Option<Amount>)> {
    positions
        .iter()
        .map(|p| {
            let u = ltp_of(&p.instrument.key).and_then(|ltp| p.unrealized_pnl(ltp));
            (p.clone(), u)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_is_the_largest_fall_from_a_peak() {
        let mut book = SessionBook::default();
        for rupees in [100, 120, 90, 130, 125, 80, 140] {
            book.mark_equity(Amount::from_rupees(rupees));
        }
        // Peak 130 to trough 80.
        assert_eq!(book.max_drawdown(), Amount::from_rupees(50));
    }

    #[test]
    fn session_ids_are_ist_and_sortable() {
        // 2025-09-26 03:45:00 UTC is 09:15 IST.
        let ts = Timestamp::from_epoch_ms(1_758_858_300_000);
        assert_eq!(session_id(ts, "paper"), "20250926-091500-paper");
    }
}
