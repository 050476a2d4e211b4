//! End-to-end replays: recorded tick files through the real binary
//! (`paper --replay FILE --fast --json`), checked against hand-computed trades.
//!
//! # The scenarios
//!
//! Each fixture under `tests/fixtures/replay/` is one trading story on the
//! config `tests/fixtures/replay.yml` (one-second candles, every task once a
//! second, market hours enforced, Rs 1,00,000 starting balance). The files are
//! written by [`scenario_csv`] below; `fixtures_are_what_the_generator_writes`
//! checks that the committed files are its output (`REPLAY_FIXTURES_WRITE=1`
//! rewrites them).
//!
//! Every file has one tick per instrument per whole second `k` (second `k` is
//! `start + k`):
//! - the NIFTY index (security id 13) at `24950 + k` points, rising steadily, so
//!   that after the 50 candles of warm-up (EMA 50 is the longest) the signal is
//!   bullish: Supertrend up, EMA 20 above EMA 50 and RSI 100 all agree;
//! - six options expiring 2025-12-02: the traded `NIFTY 02 DEC 25000 CE` (id
//!   41002), whose price follows the scenario, and 24950/25050 CEs and
//!   24950/25000/25050 PEs at flat prices (the app must pick the ATM CE); every
//!   option is quoted with bid = ltp - 0.05 and ask = ltp + 0.05.
//!
//! # The timeline every scenario shares
//!
//! The manual clock starts at the first tick; the tasks run at `start + k`
//! seconds for k = 1, 2, ..., in the order market data, risk, trading. The
//! market-data run at second 50 closes the 50th candle (seconds 0..49), the
//! signal turns bullish, and the trading run at second 50 buys the ATM CE at
//! its ask, 100.05:
//!
//! ```text
//! budget   = 1,00,000 x 0.30                = 30,000
//! lot cost = 100.05 x (1 + 0.01) x 75       = 7,578.7875
//! lots     = floor(30,000 / 7,578.7875)     = floor(3.958) = 3  -> 225 units
//! cost     = 225 x 100.05                   = 22,511.25
//! charges  = brokerage 20 + exchange 22,511.25 x 0.0003503 = 7.8857 -> 7.89
//!            + SEBI 22,511.25 x 10 / 1e7 = 0.0225 -> 0.02
//!            + stamp 22,511.25 x 0.00003 = 0.6753 -> 0.68
//!            + GST 0.18 x (20 + 7.89 + 0.02) = 5.0238 -> 5.02      = 33.61
//! ```
//!
//! Unless a scenario keeps it ticking, the index stops at second 50, so from
//! second 53 (`stale_after_sec` is 2) its quote is stale and no new entry can
//! follow the exit: each such file has exactly one round trip. The price rules
//! read the LTP; a sell fills at the bid.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

// ---------------------------------------------------------------------------
// The fixtures
// ---------------------------------------------------------------------------

const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The config of every scenario.
fn config_path() -> PathBuf {
    Path::new(FIXTURES_DIR).join("replay.yml")
}

fn fixture_path(file: &str) -> PathBuf {
    Path::new(FIXTURES_DIR).join("replay").join(file)
}

const TICK_CSV_HEADER: &str =
    "ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume";

/// The options quoted in every file: security id, strike, type and the flat LTP
/// in paise (`None`: the traded contract, priced by the scenario).
const OPTIONS: [(u64, u32, &str, Option<i64>); 6] = [
    (41001, 24950, "CE", Some(13_000)),
    (TRADED_ID, 25000, "CE", None),
    (41003, 25050, "CE", Some(7_500)),
    (42001, 24950, "PE", Some(7_000)),
    (42002, 25000, "PE", Some(9_500)),
    (42003, 25050, "PE", Some(12_000)),
];

/// `NIFTY 02 DEC 25000 CE`, the ATM CE at the entry (spot 25,000).
const TRADED_ID: u64 = 41002;
const TRADED_SYMBOL: &str = "NIFTY 02 DEC 25000 CE";

/// 10:00:00 IST, seconds of the day.
const TEN_AM: u32 = 10 * 3600;
/// 15:14:00 IST, a minute before the square-off.
const EOD_START: u32 = 15 * 3600 + 14 * 60;
/// 2025-12-01 (a Monday) 00:00 IST as epoch milliseconds: 2025-12-01T00:00Z is
/// 1,764,547,200 s, less the 5 h 30 min of the offset.
const DAY_EPOCH_MS: i64 = (1_764_547_200 - 19_800) * 1000;

/// One scenario file: when it starts, how long the index and the file run, and
/// the traded CE's LTP at each second.
struct Scenario {
    file: &'static str,
    /// IST second of the day of second 0.
    start: u32,
    /// The last second with ticks.
    last: u32,
    /// The last second with an index tick.
    index_last: u32,
    /// The traded CE's LTP in paise at second `k`.
    ce_ltp: fn(u32) -> i64,
}

impl Scenario {
    /// Epoch milliseconds of second `k`.
    fn ts_ms(&self, k: u32) -> i64 {
        DAY_EPOCH_MS + i64::from(self.start + k) * 1000
    }
}

const TAKE_PROFIT: Scenario = Scenario {
    file: "take_profit.csv",
    start: TEN_AM,
    last: 60,
    index_last: 50,
    ce_ltp: |k| match k {
        0..=52 => 10_000,
        53..=54 => 12_005,
        _ => 12_010,
    },
};

const STOP_LOSS: Scenario = Scenario {
    file: "stop_loss.csv",
    start: TEN_AM,
    last: 60,
    index_last: 50,
    ce_ltp: |k| match k {
        0..=52 => 10_000,
        53..=54 => 9_005,
        _ => 9_000,
    },
};

const TRAILING_STOP: Scenario = Scenario {
    file: "trailing_stop.csv",
    start: TEN_AM,
    last: 62,
    index_last: 50,
    ce_ltp: |k| match k {
        0..=52 => 10_000,
        53..=54 => 11_000,
        55..=56 => 10_450,
        _ => 10_445,
    },
};

const TIME_STOP: Scenario = Scenario {
    file: "time_stop.csv",
    start: TEN_AM,
    last: 75,
    index_last: 50,
    ce_ltp: |k| if k <= 50 { 10_000 } else { 10_100 },
};

const END_OF_DAY: Scenario = Scenario {
    file: "end_of_day.csv",
    start: EOD_START,
    last: 80,
    index_last: 80,
    ce_ltp: |k| if k <= 50 { 10_000 } else { 10_200 },
};

const COOLDOWN: Scenario = Scenario {
    file: "cooldown.csv",
    start: TEN_AM,
    last: 70,
    index_last: 70,
    ce_ltp: |k| if k <= 52 { 10_000 } else { 9_000 },
};

const DAILY_LOSS: Scenario = Scenario {
    file: "daily_loss.csv",
    start: TEN_AM,
    last: 90,
    index_last: 90,
    ce_ltp: |k| match k {
        0..=52 => 10_000,
        53..=65 => 9_000,
        66..=67 => 8_805,
        68..=72 => 8_800,
        _ => 10_000,
    },
};

const SCENARIOS: [&Scenario; 7] = [
    &TAKE_PROFIT,
    &STOP_LOSS,
    &TRAILING_STOP,
    &TIME_STOP,
    &END_OF_DAY,
    &COOLDOWN,
    &DAILY_LOSS,
];

/// Rupees with two decimals from paise.
fn rupees(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", paise.abs() / 100, paise.abs() % 100)
}

/// `2025-12-01THH:MM:SS.000+05:30` for an IST second of the day.
fn ist_ts(second_of_day: u32) -> String {
    let (h, m, s) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    format!("2025-12-01T{h:02}:{m:02}:{s:02}.000+05:30")
}

/// `2025-12-01 HH:MM:SS IST`, as the summary shows a time.
fn ist_shown(second_of_day: u32) -> String {
    ist_ts(second_of_day)
        .replace('T', " ")
        .replace(".000+05:30", " IST")
}

/// The tick file of `s`.
fn scenario_csv(s: &Scenario) -> String {
    let mut out = String::from(TICK_CSV_HEADER);
    out.push('\n');
    for k in 0..=s.last {
        let ts = ist_ts(s.start + k);
        if k <= s.index_last {
            out.push_str(&format!("{ts},IDX_I,13,NIFTY,,,,{}.00,,,\n", 24_950 + k));
        }
        for (id, strike, kind, flat) in OPTIONS {
            let ltp = flat.unwrap_or_else(|| (s.ce_ltp)(k));
            out.push_str(&format!(
                "{ts},NSE_FNO,{id},NIFTY,2025-12-02,{strike},{kind},{},{},{},{}\n",
                rupees(ltp),
                rupees(ltp - 5),
                rupees(ltp + 5),
                75 * (k + 1),
            ));
        }
    }
    out
}

#[test]
fn fixtures_are_what_the_generator_writes() {
    let write = std::env::var_os("REPLAY_FIXTURES_WRITE").is_some();
    for s in SCENARIOS {
        let path = fixture_path(s.file);
        let want = scenario_csv(s);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        }
        let got = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run REPLAY_FIXTURES_WRITE=1 cargo test --test replay fixtures",
                path.display()
            )
        });
        assert!(
            got == want,
            "{} differs from what scenario_csv writes; rerun with REPLAY_FIXTURES_WRITE=1 if the change is intended",
            path.display()
        );
        let ticks = got.lines().count() - 1;
        assert!(ticks <= 5_000, "{}: {ticks} ticks, keep it small", s.file);
    }
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dhan_scalper"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `paper --replay FILE --fast --json -q` on `config` into `data`.
fn replay_fast(file: &Path, config: &Path, data: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("--data-dir")
        .arg(data)
        .arg("-c")
        .arg(config)
        .args(["paper", "--fast", "--json", "-q", "--replay"])
        .arg(file)
        .args(extra)
        .output()
        .unwrap()
}

/// Runs scenario `s` in a fresh data dir and returns its JSON summary; also
/// checks the report written under DATA/reports says the same.
fn run_scenario(s: &Scenario) -> Value {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let o = replay_fast(&fixture_path(s.file), &config_path(), &data, &[]);
    assert!(o.status.success(), "{}: {}", s.file, stderr(&o));
    let printed: Value = serde_json::from_str(stdout(&o).trim())
        .unwrap_or_else(|e| panic!("{}: not one JSON object: {e}\n{}", s.file, stdout(&o)));
    let reports = report_files(&data);
    let json_report = reports
        .iter()
        .find(|(name, _)| name.ends_with(".json"))
        .unwrap_or_else(|| panic!("{}: no JSON report in {reports:?}", s.file));
    let written: Value = serde_json::from_slice(&json_report.1).unwrap();
    assert_eq!(
        written, printed,
        "{}: the written report differs from the printed one",
        s.file
    );
    printed
}

/// The files under DATA/reports, by name, with their bytes.
fn report_files(data: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(data.join("reports"))
        .map(|rd| {
            rd.map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Every file under `dir` with its bytes (nothing if it does not exist).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((format!("{}/", p.display()), Vec::new()));
                out.extend(tree(&p));
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Independent arithmetic (integers in paise; nothing from the crate)
// ---------------------------------------------------------------------------

const LOT_SIZE: i64 = 75;

/// `n / d` rounded half up, for `n >= 0` (every charge is positive).
fn div_round(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

/// The charges in paise of an NSE option order of `qty` at `price_paise`, at
/// the india-fno rates of `replay.yml`: brokerage Rs 20; STT 0.1% of sells;
/// exchange 0.03503%; SEBI Rs 10 a crore (0.0001%); stamp 0.003% of buys; GST
/// 18% of brokerage + exchange + SEBI. Each part rounds to the paisa.
fn charges_paise(side: &str, qty: i64, price_paise: i64) -> i64 {
    let turnover = qty * price_paise;
    let brokerage = 2_000;
    let exchange = div_round(turnover * 3_503, 10_000_000);
    let sebi = div_round(turnover, 1_000_000);
    let (stt, stamp) = match side {
        "BUY" => (0, div_round(turnover * 3, 100_000)),
        _ => (div_round(turnover, 1_000), 0),
    };
    let gst = div_round((brokerage + exchange + sebi) * 18, 100);
    brokerage + stt + exchange + sebi + stamp + gst
}

/// Lots the sizing rule buys: `floor(available x 0.30 / (ask x 1.01 x 75))`,
/// at most 10. In paise: `available x 30 / 100` against `ask x 101 / 100 x 75`,
/// so `floor(available x 30 / (ask x 101 x 75))`.
fn lots_paise(available_paise: i64, ask_paise: i64) -> i64 {
    ((available_paise * 30) / (ask_paise * 101 * LOT_SIZE)).min(10)
}

fn paise(text: &str) -> i64 {
    let (int, frac) = text.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{text}: two decimals");
    let v =
        int.trim_start_matches('-').parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if text.starts_with('-') { -v } else { v }
}

// ---------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------

/// One expected fill.
struct Fill {
    side: &'static str,
    /// Seconds after the file's first tick.
    at: u32,
    qty: u64,
    price: &'static str,
    charges: &'static str,
    reason: Option<&'static str>,
    /// Gross PnL of a sell (`0.00` for a buy).
    pnl: &'static str,
}

/// The expected summary of one scenario.
struct Expected {
    fills: Vec<Fill>,
    trades: u64,
    wins: u64,
    /// available, used, total, realized_pnl, fees (net deposits are 1,00,000).
    balance: [&'static str; 5],
    /// An open position at the end: qty, avg price, entry second, high water,
    /// unrealized PnL.
    open: Option<(u64, &'static str, u32, &'static str, &'static str)>,
    /// The summary's `halted` text: why and since when (IST).
    halted: Option<&'static str>,
    max_drawdown: &'static str,
}

/// The buy every scenario starts with (see the module docs).
fn first_buy() -> Fill {
    Fill {
        side: "BUY",
        at: 50,
        qty: 225,
        price: "100.05",
        charges: "33.61",
        reason: None,
        pnl: "0.00",
    }
}

/// Checks the expectation against itself with independent integer maths (the
/// sizing rule for each buy's qty, the charge rates for each charge, a small
/// ledger for the PnL and the final balance), then against the summary.
fn check(s: &Scenario, got: &Value, want: &Expected) {
    let name = s.file;
    // 1. The hand-written numbers agree with the rules.
    let mut available = 10_000_000_i64;
    let mut used = 0_i64;
    let mut cost_basis = 0_i64;
    let mut realized = 0_i64;
    let mut fees = 0_i64;
    for f in &want.fills {
        let qty = i64::try_from(f.qty).unwrap();
        let price = paise(f.price);
        assert_eq!(
            paise(f.charges),
            charges_paise(f.side, qty, price),
            "{name}: hand-computed charges of the {} at second {}",
            f.side,
            f.at
        );
        let notional = qty * price;
        if f.side == "BUY" {
            assert_eq!(
                qty,
                lots_paise(available, price) * LOT_SIZE,
                "{name}: hand-computed qty of the buy at second {}",
                f.at
            );
            assert_eq!(f.pnl, "0.00");
            available -= notional + paise(f.charges);
            used += notional;
            cost_basis = notional;
        } else {
            assert_eq!(
                paise(f.pnl),
                notional - cost_basis,
                "{name}: hand-computed PnL of the sell at second {}",
                f.at
            );
            realized += notional - cost_basis;
            available += notional - paise(f.charges);
            used -= cost_basis;
        }
        fees += paise(f.charges);
    }
    let ledger = [available, used, available + used, realized, fees];
    let balance = want.balance.map(paise);
    assert_eq!(balance, ledger, "{name}: hand-computed balance");
    assert_eq!(available + used, 10_000_000 + realized - fees);

    // 2. The summary.
    let orders = got["orders"].as_array().unwrap();
    let shown: Vec<String> = orders
        .iter()
        .map(|o| {
            format!(
                "{} {} @ {} at {} ({})",
                o["side"], o["qty"], o["price"], o["ts"], o["reason"]
            )
        })
        .collect();
    assert_eq!(orders.len(), want.fills.len(), "{name}: orders {shown:#?}");
    for (i, (o, f)) in orders.iter().zip(&want.fills).enumerate() {
        let at = format!("{name}: order {i} ({shown:?})");
        assert_eq!(o["order_id"], i as u64 + 1, "{at}");
        assert_eq!(o["side"], f.side, "{at}");
        assert_eq!(o["segment"], "NSE_FNO", "{at}");
        assert_eq!(o["security_id"], TRADED_ID, "{at}");
        assert_eq!(o["symbol"], TRADED_SYMBOL, "{at}");
        assert_eq!(o["qty"], f.qty, "{at}");
        assert_eq!(o["price"], f.price, "{at}");
        assert_eq!(o["charges"], f.charges, "{at}");
        assert_eq!(o["ts"], s.ts_ms(f.at), "{at}");
        assert_eq!(
            o["reason"],
            f.reason.map_or(Value::Null, Value::from),
            "{at}"
        );
        assert_eq!(o["realized_pnl"], f.pnl, "{at}");
    }
    assert_eq!(got["mode"], "paper-fast", "{name}");
    assert_eq!(got["trades"], want.trades, "{name}: trades");
    assert_eq!(got["wins"], want.wins, "{name}: wins");
    let [available, used, total, realized, fees] = want.balance;
    let b = &got["balance"];
    assert_eq!(b["available"], available, "{name}: available");
    assert_eq!(b["used"], used, "{name}: used");
    assert_eq!(b["total"], total, "{name}: total");
    assert_eq!(b["realized_pnl"], realized, "{name}: realized");
    assert_eq!(b["fees"], fees, "{name}: fees");
    assert_eq!(b["net_deposits"], "100000.00", "{name}: net deposits");
    assert_eq!(got["realized_pnl"], realized, "{name}: session realized");
    assert_eq!(got["fees"], fees, "{name}: session fees");
    assert_eq!(
        got["net_realized_pnl"],
        rupees(paise(realized) - paise(fees)),
        "{name}: net"
    );
    assert_eq!(
        got["max_drawdown"], want.max_drawdown,
        "{name}: max drawdown"
    );
    let positions = got["positions"].as_array().unwrap();
    match want.open {
        None => {
            assert!(positions.is_empty(), "{name}: {positions:?}");
            assert_eq!(got["unrealized_pnl"], "0.00", "{name}");
        }
        Some((qty, avg, entry, high, unrealized)) => {
            assert_eq!(positions.len(), 1, "{name}: {positions:?}");
            let p = &positions[0];
            assert_eq!(p["security_id"], TRADED_ID, "{name}");
            assert_eq!(p["side"], "BUY", "{name}");
            assert_eq!(p["qty"], qty, "{name}");
            assert_eq!(p["avg_price"], avg, "{name}");
            assert_eq!(p["cost_basis"], used, "{name}");
            assert_eq!(p["entry_ts"], s.ts_ms(entry), "{name}");
            assert_eq!(p["high_water"], high, "{name}");
            assert_eq!(p["unrealized_pnl"], unrealized, "{name}");
            assert_eq!(got["unrealized_pnl"], unrealized, "{name}");
        }
    }
    assert_eq!(
        got["halted"],
        want.halted.map_or(Value::Null, Value::from),
        "{name}: halted"
    );
    // The session starts at the first tick (the manual clock's epoch) and
    // ends two seconds after the last (one market-data period and a second).
    assert_eq!(got["started"], ist_shown(s.start), "{name}: started");
    assert_eq!(
        got["ended"],
        ist_shown(s.start + s.last + 2),
        "{name}: ended"
    );
    let id = ist_shown(s.start).replace(['-', ':'], "");
    assert_eq!(
        got["session_id"],
        format!("{}-{}-paper-fast", &id[..8], &id[9..15]),
        "{name}: session id"
    );
    for t in got["tasks"].as_array().unwrap() {
        assert_eq!(t["errors"], 0, "{name}: task {t}");
        assert_eq!(t["panics"], 0, "{name}: task {t}");
    }
}

// ---------------------------------------------------------------------------
// One exit rule per scenario
// ---------------------------------------------------------------------------

/// Take profit when `gain > 0.20 x cost` with cost 22,511.25: gain above
/// 4,502.25.
/// - Seconds 53-54, LTP 120.05: 225 x 120.05 = 27,011.25, gain 4,500.00: held
///   (the high-water mark moves to 120.05).
/// - Second 55, LTP 120.10: 27,022.50, gain 4,511.25 > 4,502.25: take profit.
///   Trailing is armed but its level 120.05 x 0.95 = 114.05 is far below.
///
/// Sell 225 at the bid 120.05: turnover 27,011.25; STT 27.01125 -> 27.01;
/// exchange 9.4620 -> 9.46; SEBI 0.0270 -> 0.03; GST 0.18 x 29.49 = 5.3082 ->
/// 5.31; charges 61.81. PnL 27,011.25 - 22,511.25 = 4,500.00.
///
/// Balance: 1,00,000 + 4,500.00 - (33.61 + 61.81 = 95.42) = 1,04,404.58.
/// Drawdown (equity after each risk run): 100,000 before the buy; 99,955.14 at
/// seconds 51-52 (cash 99,966.39, unrealized 225 x 100.00 - 22,511.25 =
/// -11.25); the peak 1,04,466.39 at 53-54; 1,04,404.58 after the exit: the
/// largest fall is 61.81.
#[test]
fn take_profit() {
    let got = run_scenario(&TAKE_PROFIT);
    check(
        &TAKE_PROFIT,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 55,
                    qty: 225,
                    price: "120.05",
                    charges: "61.81",
                    reason: Some("take_profit"),
                    pnl: "4500.00",
                },
            ],
            trades: 1,
            wins: 1,
            balance: ["104404.58", "0.00", "104404.58", "4500.00", "95.42"],
            open: None,
            halted: None,
            max_drawdown: "61.81",
        },
    );
}

/// Stop loss when `loss > 0.10 x 22,511.25 = 2,251.125`.
/// - Seconds 53-54, LTP 90.05: 225 x 90.05 = 20,261.25, loss 2,250.00: held.
///   (Day PnL -2,250.00 - 33.61 = -2,283.61, above the -3,000 limit.)
/// - Second 55, LTP 90.00: 20,250.00, loss 2,261.25 > 2,251.125: stop loss.
///   (Day PnL -2,294.86: still above the limit.)
///
/// Sell at the bid 89.95: turnover 20,238.75; STT 20.23875 -> 20.24; exchange
/// 7.0896 -> 7.09; SEBI 0.0202 -> 0.02; GST 0.18 x 27.11 = 4.8798 -> 4.88;
/// charges 52.23. PnL 20,238.75 - 22,511.25 = -2,272.50.
///
/// Balance: 1,00,000 - 2,272.50 - (33.61 + 52.23 = 85.84) = 97,641.66.
/// Drawdown: 44.86 at 51-52; 97,716.39 at 53-54 (2,283.61); 97,641.66 after
/// the exit: 2,358.34.
#[test]
fn stop_loss() {
    let got = run_scenario(&STOP_LOSS);
    check(
        &STOP_LOSS,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 55,
                    qty: 225,
                    price: "89.95",
                    charges: "52.23",
                    reason: Some("stop_loss"),
                    pnl: "-2272.50",
                },
            ],
            trades: 1,
            wins: 0,
            balance: ["97641.66", "0.00", "97641.66", "-2272.50", "85.84"],
            open: None,
            halted: None,
            max_drawdown: "2358.34",
        },
    );
}

/// Trailing stop (5%): armed once the high-water price is above the average.
/// - Seconds 53-54, LTP 110.00: gain 24,750 - 22,511.25 = 2,238.75, below the
///   take profit's 4,502.25; the high-water mark becomes 110.00, the stop level
///   110.00 x 0.95 = 104.50.
/// - Seconds 55-56, LTP 104.50: not below the level: held.
/// - Second 57, LTP 104.45 < 104.50: trailing stop.
///
/// Sell at the bid 104.40: turnover 23,490.00; STT 23.49; exchange 8.2285 ->
/// 8.23; SEBI 0.0235 -> 0.02; GST 0.18 x 28.25 = 5.085 -> 5.09 (half up);
/// charges 56.83. PnL 23,490.00 - 22,511.25 = 978.75.
///
/// Balance: 1,00,000 + 978.75 - (33.61 + 56.83 = 90.44) = 1,00,888.31.
/// Drawdown: 44.86 at 51-52; the peak 1,02,205.14 at 53-54; 1,00,967.64 at
/// 55-56 (unrealized 23,512.50 - 22,511.25 = 1,001.25): 1,237.50; 1,00,888.31
/// after the exit: 1,316.83.
#[test]
fn trailing_stop() {
    let got = run_scenario(&TRAILING_STOP);
    check(
        &TRAILING_STOP,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 57,
                    qty: 225,
                    price: "104.40",
                    charges: "56.83",
                    reason: Some("trailing_stop"),
                    pnl: "978.75",
                },
            ],
            trades: 1,
            wins: 1,
            balance: ["100888.31", "0.00", "100888.31", "978.75", "90.44"],
            open: None,
            halted: None,
            max_drawdown: "1316.83",
        },
    );
}

/// Time stop after 20 s: bought at second 50, sold at second 70 (held 20,000
/// ms). The CE sits at 101.00 from second 51: gain 213.75, no price rule
/// (trailing level 101 x 0.95 = 95.95).
///
/// Sell at the bid 100.95: turnover 22,713.75; STT 22.71375 -> 22.71; exchange
/// 7.9566 -> 7.96; SEBI 0.0227 -> 0.02; GST 0.18 x 27.98 = 5.0364 -> 5.04;
/// charges 55.73. PnL 22,713.75 - 22,511.25 = 202.50.
///
/// Balance: 1,00,000 + 202.50 - (33.61 + 55.73 = 89.34) = 1,00,113.16.
/// Drawdown: the peak 1,00,180.14 from second 51 (99,966.39 + 213.75), then
/// 1,00,113.16 after the exit: 66.98.
#[test]
fn time_stop() {
    let got = run_scenario(&TIME_STOP);
    check(
        &TIME_STOP,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 70,
                    qty: 225,
                    price: "100.95",
                    charges: "55.73",
                    reason: Some("time_stop"),
                    pnl: "202.50",
                },
            ],
            trades: 1,
            wins: 1,
            balance: ["100113.16", "0.00", "100113.16", "202.50", "89.34"],
            open: None,
            halted: None,
            max_drawdown: "66.98",
        },
    );
}

/// End-of-day square-off at 15:15 IST. The file starts at 15:14:00, so the buy
/// is at 15:14:50 (second 50), ten seconds before the square-off and well
/// inside the 20 s time stop. At 15:15:00 (second 60) the position is sold;
/// the index keeps ticking to 15:15:20 and the signal stays bullish, but no
/// entry follows: entries end at the square-off.
///
/// The CE sits at 102.00 from second 51. Sell at the bid 101.95: turnover
/// 22,938.75; STT 22.93875 -> 22.94; exchange 8.0354 -> 8.04; SEBI 0.0229 ->
/// 0.02; GST 0.18 x 28.06 = 5.0508 -> 5.05; charges 56.05. PnL 22,938.75 -
/// 22,511.25 = 427.50.
///
/// Balance: 1,00,000 + 427.50 - (33.61 + 56.05 = 89.66) = 1,00,337.84.
/// Drawdown: the peak 1,00,405.14 from second 51 (99,966.39 + 438.75), then
/// 1,00,337.84 after the exit: 67.30.
#[test]
fn end_of_day_square_off() {
    let got = run_scenario(&END_OF_DAY);
    check(
        &END_OF_DAY,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 60,
                    qty: 225,
                    price: "101.95",
                    charges: "56.05",
                    reason: Some("end_of_day"),
                    pnl: "427.50",
                },
            ],
            trades: 1,
            wins: 1,
            balance: ["100337.84", "0.00", "100337.84", "427.50", "89.66"],
            open: None,
            halted: None,
            max_drawdown: "67.30",
        },
    );
}

/// The stop loss of the first trade, at second 53 this time, then the
/// cooldown (10 s) blocks entries until second 63 although the index ticks on
/// (fresh) and the signal stays bullish; the trading run at second 63 buys
/// again.
///
/// First trade: LTP 90.00 at second 53, loss 2,261.25 > 2,251.125: sold at the
/// bid 89.95, charges 52.23, PnL -2,272.50 (as in `stop_loss`).
///
/// Second buy at the ask 90.05 from available 1,00,000 - 33.61 - 2,272.50 -
/// 52.23 = 97,641.66: budget 29,292.498; lot cost 90.05 x 1.01 x 75 =
/// 6,821.2875; lots floor(4.29) = 4, 300 units, cost 27,015.00; charges:
/// exchange 9.4634 -> 9.46; SEBI 0.0270 -> 0.03; stamp 0.8105 -> 0.81; GST
/// 0.18 x 29.49 = 5.3082 -> 5.31; 20 + 9.46 + 0.03 + 0.81 + 5.31 = 35.61.
///
/// At the end the position is open: available 97,641.66 - 27,015.00 - 35.61 =
/// 70,591.05, used 27,015.00, total 97,606.05; fees 33.61 + 52.23 + 35.61 =
/// 121.45; unrealized at the LTP 90.00: 300 x -0.05 = -15.00. Drawdown:
/// 2,358.34 after the exit, then equity 97,606.05 - 15.00 = 97,591.05:
/// 2,408.95.
#[test]
fn cooldown_after_a_loss_blocks_the_next_entry_until_it_expires() {
    let got = run_scenario(&COOLDOWN);
    check(
        &COOLDOWN,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 53,
                    qty: 225,
                    price: "89.95",
                    charges: "52.23",
                    reason: Some("stop_loss"),
                    pnl: "-2272.50",
                },
                Fill {
                    side: "BUY",
                    at: 63,
                    qty: 300,
                    price: "90.05",
                    charges: "35.61",
                    reason: None,
                    pnl: "0.00",
                },
            ],
            trades: 1,
            wins: 0,
            balance: ["70591.05", "27015.00", "97606.05", "-2272.50", "121.45"],
            open: Some((300, "90.05", 63, "90.05", "-15.00")),
            halted: None,
            max_drawdown: "2408.95",
        },
    );
}

/// The daily loss limit (Rs 3,000 on equity: realized less fees plus
/// unrealized) after the `cooldown` story: the second position of 300 at
/// 90.05 starts from a day PnL of -2,272.50 - 33.61 - 52.23 - 35.61 =
/// -2,393.95.
/// - Seconds 66-67, LTP 88.05: unrealized 300 x -2.00 = -600.00, day PnL
///   -2,993.95 > -3,000: held (the stop loss needs a loss above 2,701.50).
/// - Second 68, LTP 88.00: unrealized -615.00, day PnL -3,008.95: halt, and
///   the position is sold with reason daily_loss_limit.
///
/// Sell 300 at the bid 87.95: turnover 26,385.00; STT 26.385 -> 26.39 (half
/// up); exchange 9.2427 -> 9.24; SEBI 0.0264 -> 0.03; GST 0.18 x 29.27 =
/// 5.2686 -> 5.27; charges 60.93. PnL 26,385.00 - 27,015.00 = -630.00.
///
/// Then the CE recovers to 100.00 and the index ticks on to second 90, past
/// the end of the new cooldown (second 78): no entry, the wallet is halted.
///
/// Balance: 1,00,000 - 2,902.50 - (121.45 + 60.93 = 182.38) = 96,915.12.
/// Drawdown: 3,084.88 after the flatten.
#[test]
fn daily_loss_limit_halts_flattens_and_blocks_entries() {
    let got = run_scenario(&DAILY_LOSS);
    check(
        &DAILY_LOSS,
        &got,
        &Expected {
            fills: vec![
                first_buy(),
                Fill {
                    side: "SELL",
                    at: 53,
                    qty: 225,
                    price: "89.95",
                    charges: "52.23",
                    reason: Some("stop_loss"),
                    pnl: "-2272.50",
                },
                Fill {
                    side: "BUY",
                    at: 63,
                    qty: 300,
                    price: "90.05",
                    charges: "35.61",
                    reason: None,
                    pnl: "0.00",
                },
                Fill {
                    side: "SELL",
                    at: 68,
                    qty: 300,
                    price: "87.95",
                    charges: "60.93",
                    reason: Some("daily_loss_limit"),
                    pnl: "-630.00",
                },
            ],
            trades: 2,
            wins: 0,
            balance: ["96915.12", "0.00", "96915.12", "-2902.50", "182.38"],
            open: None,
            halted: Some("daily loss limit reached since 2025-12-01 10:01:08 IST"),
            max_drawdown: "3084.88",
        },
    );
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

/// Two fast replays of one file with one seed print byte-identical JSON and
/// write byte-identical reports, even when the second data dir holds a wallet
/// of its own: a backtest starts from a fresh wallet and leaves the data dir's
/// wallet as it was.
#[test]
fn a_fast_replay_is_byte_identical_from_run_to_run() {
    let t = tempfile::tempdir().unwrap();
    let file = fixture_path(DAILY_LOSS.file);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let deposit = bin()
        .arg("--data-dir")
        .arg(&b)
        .args(["deposit", "5000"])
        .output()
        .unwrap();
    assert!(deposit.status.success(), "{}", stderr(&deposit));
    let status = |dir: &Path| {
        let o = bin()
            .arg("--data-dir")
            .arg(dir)
            .args(["status", "--json"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let wallet_before = status(&b);

    let first = replay_fast(&file, &config_path(), &a, &["--seed", "7"]);
    let second = replay_fast(&file, &config_path(), &b, &["--seed", "7"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!first.stdout.is_empty());
    assert_eq!(
        stdout(&first),
        stdout(&second),
        "the printed summaries differ"
    );
    let reports = report_files(&a);
    let names: Vec<&str> = reports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "20251201-100000-paper-fast-orders.csv",
            "20251201-100000-paper-fast.json"
        ]
    );
    assert_eq!(reports, report_files(&b), "the written reports differ");
    assert_eq!(status(&b), wallet_before, "the backtest changed the wallet");

    // A third run over the first one's reports rewrites the same bytes.
    let third = replay_fast(&file, &config_path(), &a, &["--seed", "7"]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(stdout(&third), stdout(&first));
    assert_eq!(report_files(&a), reports);
}

/// A session of the simulator recorded with `event-driven --record` replays
/// deterministically: two fast replays of the recording agree byte for byte.
#[test]
fn a_recorded_sim_session_replays_deterministically() {
    let t = tempfile::tempdir().unwrap();
    let fast = Path::new(FIXTURES_DIR).join("fast.yml");
    let recording = t.path().join("sim.csv");
    let live = bin()
        .arg("--data-dir")
        .arg(t.path().join("live"))
        .arg("-c")
        .arg(&fast)
        .args(["event-driven", "-t", "1.5", "-q", "--record"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(live.status.success(), "{}", stderr(&live));
    let text = std::fs::read_to_string(&recording).unwrap();
    assert_eq!(text.lines().next(), Some(TICK_CSV_HEADER));
    let rows = text.lines().count() - 1;
    // The simulator starts with the signal's warm-up (52 one-second candles)
    // of history: tens of thousands of ticks.
    assert!(rows > 1_000, "only {rows} ticks recorded");

    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let first = replay_fast(&recording, &fast, &a, &[]);
    let second = replay_fast(&recording, &fast, &b, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        stdout(&first),
        stdout(&second),
        "the printed summaries differ"
    );
    let reports = report_files(&a);
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports, report_files(&b), "the written reports differ");
    let summary: Value = serde_json::from_str(stdout(&first).trim()).unwrap();
    assert_eq!(summary["mode"], "paper-fast");
    assert_eq!(
        summary["feed"],
        format!("replay:{}", recording.display()),
        "{summary}"
    );
    for task in summary["tasks"].as_array().unwrap() {
        assert_eq!(task["errors"], 0, "{task}");
    }
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

/// `text` with its line `line` (1-based; the header is line 1) replaced.
fn replace_line(text: &str, line: usize, row: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line - 1] = row;
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Line 198 of `take_profit.csv` is the index row of second 28 (each second
/// is seven rows: the index, then six options).
const BAD_LINE: usize = 198;

/// The bad rows: the row put at [`BAD_LINE`], and the start of the error
/// after `FILE:198: `.
const BAD_ROWS: [(&str, &str); 3] = [
    // The LTP is off the 0.05 tick.
    (
        "2025-12-01T10:00:28.000+05:30,IDX_I,13,NIFTY,,,,24978.03,,,",
        "column ltp: \"24978.03\"",
    ),
    // Earlier than the row before (second 27).
    (
        "2025-12-01T10:00:26.000+05:30,IDX_I,13,NIFTY,,,,24978.00,,,",
        "column ts: ",
    ),
    // A column short.
    (
        "2025-12-01T10:00:28.000+05:30,IDX_I,13,NIFTY,,,,24978.00,,",
        "10 columns, expected 11",
    ),
];

/// Runs a fast replay of `file` into `data` and checks it fails with exit
/// code 2 and one error line starting `error: FILE:LINE: want`, printing no
/// summary.
fn assert_refused(file: &Path, data: &Path, line: usize, want: &str) {
    let o = replay_fast(file, &config_path(), data, &[]);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bad row at line {line} must fail with exit code 2; stderr:\n{err}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {err}");
    let prefix = format!("error: {}:{line}: {want}", file.display());
    assert!(
        errors[0].starts_with(&prefix),
        "{:?} should start with {prefix:?}",
        errors[0]
    );
    assert_eq!(err.trim_end().lines().last(), Some(errors[0]), "{err}");
    assert!(o.stdout.is_empty(), "no summary: {}", stdout(&o));
}

/// A bad row in the middle of a replay file stops the command with its file,
/// line and column, exit code 2, and changes nothing in the data dir: no
/// report of a truncated backtest.
#[test]
fn a_bad_row_fails_with_its_line_and_column_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    // A data dir in use: a wallet and the report of an earlier backtest.
    let deposit = bin()
        .arg("--data-dir")
        .arg(&data)
        .args(["deposit", "5000"])
        .output()
        .unwrap();
    assert!(deposit.status.success(), "{}", stderr(&deposit));
    let good = replay_fast(&fixture_path(STOP_LOSS.file), &config_path(), &data, &[]);
    assert!(good.status.success(), "{}", stderr(&good));
    let before = tree(&data);
    assert!(before.iter().any(|(p, _)| p.ends_with(".json")));

    let text = std::fs::read_to_string(fixture_path(TAKE_PROFIT.file)).unwrap();
    assert!(
        text.lines()
            .nth(BAD_LINE - 1)
            .unwrap()
            .starts_with("2025-12-01T10:00:28.000+05:30,IDX_I,")
    );
    for (i, (row, want)) in BAD_ROWS.iter().enumerate() {
        let file = t.path().join(format!("bad-{i}.csv"));
        std::fs::write(&file, replace_line(&text, BAD_LINE, row)).unwrap();
        assert_refused(&file, &data, BAD_LINE, want);
        assert!(tree(&data) == before, "{row}: the data dir changed");
    }
}

/// A bad first row, or a bad row later, is refused before the data dir is
/// created: a missing data dir stays missing.
#[test]
fn a_bad_replay_file_does_not_create_the_data_dir() {
    let t = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture_path(TAKE_PROFIT.file)).unwrap();
    for (line, row, want) in [
        (
            2,
            "2025-12-01T10:00:00.000+05:30,IDX_I,13,NIFTY,,,,24950.01,,,",
            "column ltp: \"24950.01\"",
        ),
        (BAD_LINE, BAD_ROWS[0].0, BAD_ROWS[0].1),
    ] {
        let file = t.path().join(format!("bad-{line}.csv"));
        std::fs::write(&file, replace_line(&text, line, row)).unwrap();
        let data = t.path().join(format!("data-{line}"));
        assert_refused(&file, &data, line, want);
        assert!(
            !data.exists(),
            "line {line}: {} was created",
            data.display()
        );
    }
}
