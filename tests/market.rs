//! Market data through its public API: the tick CSV (parse errors, replay,
//! record and replay), the simulator (determinism, poll granularity, prices),
//! the option chain, the LTP cache and candles.
//!
//! The randomized round trip prints its seed; `MARKET_SEED=N` replays it.

use std::io::Cursor;
use std::time::Duration;

use dhan_scalper::market::{
    CandleBuilder, Feed, FeedError, FeedSpec, LtpCache, MarketBook, OptionChain, OptionType,
    POLL_TICKS_MAX, QuoteKey, QuoteUpdate, Recorder, RecordingFeed, ReplayFeed, SimFeed, SimParams,
    SimUnderlying, TICK_CSV_HEADER, Tick, TickSegment, atm_strike, format_row, format_ts,
    next_expiry, open_feed, parse_row, parse_ts, pricing, session_close, sim_option_security_id,
};
use dhan_scalper::money::Price;
use dhan_scalper::wallet::{InstrumentKey, Segment, Symbol, Timestamp};
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn ts(s: &str) -> Timestamp {
    parse_ts(s).unwrap_or_else(|| panic!("bad test time {s}"))
}

fn price(s: &str) -> Price {
    Price::from_decimal(Decimal::from_str_exact(s).unwrap()).unwrap()
}

/// 2025-12-02 (a Tuesday), 09:15 IST.
const OPEN: &str = "2025-12-02T09:15:00.000+05:30";

const INDEX_ROW: &str = "2025-12-02T09:15:00.000+05:30,IDX_I,13,NIFTY,,,,25000.05,,,";
const OPTION_ROW: &str = "2025-12-02T09:15:00.250+05:30,NSE_FNO,49081,NIFTY,2025-12-02,25000,CE,120.05,120.00,120.10,1500";

fn replay(text: &str) -> Result<ReplayFeed<Cursor<Vec<u8>>>, FeedError> {
    ReplayFeed::from_reader("ticks.csv", Cursor::new(text.as_bytes().to_vec()))
}

/// Every tick of a feed up to `until`, polling once per tick time.
fn drain_stepwise(feed: &mut dyn Feed, until: Timestamp) -> Vec<Tick> {
    let mut out = Vec::new();
    while let Some(next) = feed.next_ts() {
        if next > until {
            break;
        }
        feed.poll(next, &mut out).unwrap();
    }
    out
}

/// Every tick of a feed up to `until`, polling at `until` until it runs dry.
fn drain_at(feed: &mut dyn Feed, until: Timestamp) -> Vec<Tick> {
    let mut out = Vec::new();
    // Bounded: each call returns at least one tick or ends the loop.
    for _ in 0..1_000_000 {
        if feed.poll(until, &mut out).unwrap() == 0 {
            break;
        }
    }
    out
}

fn nifty_only(seed: u64) -> SimParams {
    SimParams {
        seed,
        underlyings: vec![SimParams::default().underlyings[0].clone()],
        ..SimParams::default()
    }
}

// ---------------------------------------------------------------------------
// Tick CSV: rows
// ---------------------------------------------------------------------------

#[test]
fn rows_parse_index_and_option_ticks() {
    let index = parse_row("t.csv", 2, INDEX_ROW).unwrap();
    assert_eq!(index.segment, TickSegment::Index);
    assert_eq!(index.security_id, 13);
    assert_eq!(index.underlying.as_str(), "NIFTY");
    assert_eq!(index.contract, None);
    assert_eq!(index.ltp, price("25000.05"));
    assert_eq!((index.bid, index.ask, index.volume), (None, None, None));
    assert_eq!(index.instrument_key(), None);
    // 09:15 IST is 03:45 UTC.
    assert_eq!(index.ts, ts("2025-12-02T03:45:00Z"));

    let option = parse_row("t.csv", 3, OPTION_ROW).unwrap();
    assert_eq!(option.segment, TickSegment::Fno(Segment::NseFno));
    let contract = option.contract.unwrap();
    assert_eq!(contract.expiry.to_string(), "2025-12-02");
    assert_eq!(contract.strike, price("25000"));
    assert_eq!(contract.option_type, OptionType::Ce);
    assert_eq!(option.ltp, price("120.05"));
    assert_eq!(option.bid, Some(price("120")));
    assert_eq!(option.ask, Some(price("120.10")));
    assert_eq!(option.volume, Some(1500));
    assert_eq!(
        option.instrument_key(),
        Some(InstrumentKey {
            segment: Segment::NseFno,
            security_id: 49081
        })
    );
}

#[test]
fn optional_fields_may_be_empty_and_fields_are_trimmed() {
    let tick = parse_row(
        "t.csv",
        2,
        "2025-12-02T09:15:00+05:30, BSE_FNO ,51,SENSEX,2025-12-04,82000,PE, 95.5 , , ,",
    )
    .unwrap();
    assert_eq!(tick.segment, TickSegment::Fno(Segment::BseFno));
    assert_eq!(tick.ltp, price("95.50"));
    assert_eq!((tick.bid, tick.ask, tick.volume), (None, None, None));
    // An index row may carry depth too.
    let tick = parse_row(
        "t.csv",
        2,
        "2025-12-02T09:15:00Z,IDX_I,13,NIFTY,,,,25000,24999.95,25000.05,7",
    )
    .unwrap();
    assert_eq!(tick.bid, Some(price("24999.95")));
    assert_eq!(tick.volume, Some(7));
}

#[test]
fn times_keep_milliseconds_and_round_finer_digits_down() {
    assert_eq!(
        ts("2025-12-02T09:15:00.250+05:30").epoch_ms() - ts(OPEN).epoch_ms(),
        250
    );
    assert_eq!(
        ts("2025-12-02T09:15:00.250999+05:30"),
        ts("2025-12-02T09:15:00.250+05:30")
    );
    assert_eq!(ts("2025-12-02T03:45:00Z"), ts(OPEN));
    assert_eq!(
        format_ts(ts("2025-12-02T03:45:00.5Z")).unwrap(),
        "2025-12-02T09:15:00.500+05:30"
    );
    assert_eq!(parse_ts("2025-12-02 09:15:00"), None);
}

#[test]
fn each_column_error_names_line_column_and_fix() {
    fn check(row: &str, expected: &str) {
        let err = parse_row("ticks.csv", 17, row).unwrap_err();
        assert_eq!(err.to_string(), expected, "row {row}");
    }
    let good = OPTION_ROW;
    let with = |column: usize, value: &str| {
        let mut fields: Vec<&str> = good.split(',').collect();
        fields[column] = value;
        fields.join(",")
    };
    check(
        &with(5, "25O00"),
        r#"ticks.csv:17: column strike: "25O00" is not a price; use digits like 25000 or 25000.05"#,
    );
    check(
        &with(0, "2025-12-02 09:15"),
        r#"ticks.csv:17: column ts: "2025-12-02 09:15" is not an RFC 3339 time with an offset; write it like 2025-12-02T09:15:00.250+05:30"#,
    );
    check(
        &with(0, "2025-12-02T09:15:00"),
        r#"ticks.csv:17: column ts: "2025-12-02T09:15:00" is not an RFC 3339 time with an offset; write it like 2025-12-02T09:15:00.250+05:30"#,
    );
    check(
        &with(1, "NSE_EQ"),
        r#"ticks.csv:17: column segment: "NSE_EQ" is not a segment; use IDX_I, NSE_FNO or BSE_FNO"#,
    );
    check(
        &with(2, "-5"),
        r#"ticks.csv:17: column security_id: "-5" is not a security id; use digits like 13 or 49081"#,
    );
    check(
        &with(2, "99999999999999999999"),
        r#"ticks.csv:17: column security_id: "99999999999999999999" is too large for a security id; the largest is 18446744073709551615"#,
    );
    check(
        &with(3, ""),
        "ticks.csv:17: column underlying: empty; name the index, e.g. NIFTY",
    );
    check(
        &with(3, "NIFTY 50"),
        r#"ticks.csv:17: column underlying: "NIFTY 50" has a character other than printable ASCII without spaces, commas or quotes; use the index name, e.g. NIFTY"#,
    );
    check(
        &with(4, "02-12-2025"),
        r#"ticks.csv:17: column expiry: "02-12-2025" is not a date; write it like 2025-12-02"#,
    );
    check(
        &with(4, ""),
        "ticks.csv:17: column expiry: empty on a NSE_FNO row; option rows need expiry, strike and option_type",
    );
    check(
        &with(5, "25000.03"),
        r#"ticks.csv:17: column strike: "25000.03" is not on the 0.05 tick; round it to a multiple of 0.05"#,
    );
    check(
        &with(6, "CALL"),
        r#"ticks.csv:17: column option_type: "CALL" is not an option type; use CE or PE"#,
    );
    check(
        &with(7, ""),
        "ticks.csv:17: column ltp: empty; every row needs a last price, like 120.05",
    );
    check(
        &with(7, "0"),
        r#"ticks.csv:17: column ltp: "0" is not positive; prices start at 0.05"#,
    );
    check(
        &with(7, "1e3"),
        r#"ticks.csv:17: column ltp: "1e3" is not a price; use digits like 120 or 120.05"#,
    );
    check(
        &with(8, "-1"),
        r#"ticks.csv:17: column bid: "-1" is not a price; use digits like 120 or 120.05"#,
    );
    check(
        &with(9, "120."),
        r#"ticks.csv:17: column ask: "120." is not a price; use digits like 120 or 120.05"#,
    );
    check(
        &with(10, "1.5"),
        r#"ticks.csv:17: column volume: "1.5" is not a volume; use digits like 0 or 1500"#,
    );
    check(
        "2025-12-02T09:15:00Z,IDX_I,13,NIFTY,,25000,,25000,,,",
        r#"ticks.csv:17: column strike: "25000" on an IDX_I row; index rows leave expiry, strike and option_type empty"#,
    );
    check(
        "2025-12-02T09:15:00Z,IDX_I,13,NIFTY,,,,25000,,",
        "ticks.csv:17: 10 columns, expected 11 (ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume)",
    );
    check(
        r#"2025-12-02T09:15:00Z,IDX_I,13,"NIFTY",,,,25000,,,"#,
        "ticks.csv:17: quotes are not supported; this format never needs them (no field holds a comma), remove them",
    );
}

// ---------------------------------------------------------------------------
// Tick CSV: replay
// ---------------------------------------------------------------------------

#[test]
fn replay_reports_the_line_of_a_bad_row_after_the_good_ones() {
    // 15 good rows on lines 2..=16, a bad one on line 17.
    let mut text = format!("{TICK_CSV_HEADER}\n");
    for _ in 0..15 {
        text.push_str(INDEX_ROW);
        text.push('\n');
    }
    text.push_str("2025-12-02T09:15:01Z,NSE_FNO,1,NIFTY,2025-12-02,25O00,CE,1,,,\n");
    let mut feed = replay(&text).unwrap();
    let mut out = Vec::new();
    let far = ts("2030-01-01T00:00:00Z");
    assert_eq!(feed.poll(far, &mut out), Ok(15));
    let expected =
        r#"ticks.csv:17: column strike: "25O00" is not a price; use digits like 25000 or 25000.05"#;
    // The error is due now: the backtest clock does not run past it.
    assert_eq!(feed.next_ts(), Some(ts(OPEN)));
    assert_eq!(feed.poll(far, &mut out).unwrap_err().to_string(), expected);
    // Fused: the same error again, nothing more.
    assert_eq!(feed.poll(far, &mut out).unwrap_err().to_string(), expected);
    assert_eq!(out.len(), 15);
}

#[test]
fn replay_refuses_rows_out_of_time_order() {
    let text = format!(
        "{TICK_CSV_HEADER}\n\
         2025-12-02T09:15:01.000+05:30,IDX_I,13,NIFTY,,,,25000,,,\n\
         2025-12-02T09:15:01.000+05:30,IDX_I,13,NIFTY,,,,25000.05,,,\n\
         2025-12-02T09:15:00.999+05:30,IDX_I,13,NIFTY,,,,25000.10,,,\n"
    );
    let mut feed = replay(&text).unwrap();
    let mut out = Vec::new();
    assert_eq!(feed.poll(ts("2026-01-01T00:00:00Z"), &mut out), Ok(2));
    assert_eq!(
        feed.poll(ts("2026-01-01T00:00:00Z"), &mut out)
            .unwrap_err()
            .to_string(),
        "ticks.csv:4: column ts: 2025-12-02T09:15:00.999+05:30 is earlier than the row before \
         (2025-12-02T09:15:01.000+05:30); rows must be in time order, sort the file by ts"
    );
}

#[test]
fn replay_polls_by_time_and_ends() {
    let text = format!(
        "{TICK_CSV_HEADER}\r\n{INDEX_ROW}\r\n\r\n{OPTION_ROW}\r\n\n2025-12-02T09:15:01+05:30,IDX_I,13,NIFTY,,,,25001,,,"
    );
    let mut feed = replay(&text).unwrap();
    assert_eq!(feed.name(), "replay:ticks.csv");
    let mut out = Vec::new();
    assert_eq!(feed.next_ts(), Some(ts(OPEN)));
    // Before the first tick: nothing.
    assert_eq!(
        feed.poll(ts("2025-12-02T09:14:59.999+05:30"), &mut out),
        Ok(0)
    );
    assert_eq!(feed.poll(ts(OPEN), &mut out), Ok(1));
    assert_eq!(feed.next_ts(), Some(ts("2025-12-02T09:15:00.250+05:30")));
    assert_eq!(
        feed.poll(ts("2025-12-02T09:15:00.999+05:30"), &mut out),
        Ok(1)
    );
    assert_eq!(feed.poll(ts("2025-12-02T09:15:01+05:30"), &mut out), Ok(1));
    assert_eq!(feed.next_ts(), None);
    assert_eq!(feed.poll(ts("2030-01-01T00:00:00Z"), &mut out), Ok(0));
    assert_eq!(out.len(), 3);
    // Blank lines count for line numbers: the last row was line 6.
    assert_eq!(feed.line(), 7);
}

#[test]
fn replay_checks_the_header() {
    fn check(text: &str, expected: &str) {
        assert_eq!(replay(text).unwrap_err().to_string(), expected);
    }
    check(
        "",
        "ticks.csv:1: the file is empty; the first line must be the header \
         ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume",
    );
    check(
        "time,ltp\n",
        "ticks.csv:1: the header is \"time,ltp\"; the first line must be exactly \
         ts,segment,security_id,underlying,expiry,strike,option_type,ltp,bid,ask,volume",
    );
    // A bad first row fails at open, so the clock never has to go back for it.
    check(
        &format!("{TICK_CSV_HEADER}\n\n2025-12-02T09:15:00Z,IDX_I,13,NIFTY,,,,0,,,\n"),
        r#"ticks.csv:3: column ltp: "0" is not positive; prices start at 0.05"#,
    );
    // A header alone is an empty replay; a byte-order mark is accepted.
    let feed = replay(&format!("\u{feff}{TICK_CSV_HEADER}\n")).unwrap();
    assert_eq!(feed.next_ts(), None);
    let missing = ReplayFeed::open("/nonexistent/ticks.csv")
        .unwrap_err()
        .to_string();
    assert!(
        missing.starts_with("/nonexistent/ticks.csv: cannot open the tick file: ")
            && missing.ends_with("; check the path after replay:"),
        "{missing}"
    );
}

#[test]
fn replay_returns_at_most_the_bound_per_poll() {
    let rows = POLL_TICKS_MAX + 10;
    let mut text = format!("{TICK_CSV_HEADER}\n");
    for _ in 0..rows {
        text.push_str(INDEX_ROW);
        text.push('\n');
    }
    let mut feed = replay(&text).unwrap();
    let mut out = Vec::new();
    assert_eq!(feed.poll(ts(OPEN), &mut out), Ok(POLL_TICKS_MAX));
    assert_eq!(feed.next_ts(), Some(ts(OPEN)), "more are due");
    assert_eq!(feed.poll(ts(OPEN), &mut out), Ok(10));
    assert_eq!(feed.next_ts(), None);
}

#[test]
fn replay_refuses_overlong_lines() {
    let text = format!("{TICK_CSV_HEADER}\n{INDEX_ROW}\n{}\n", "x".repeat(5000));
    let mut feed = replay(&text).unwrap();
    let mut out = Vec::new();
    assert_eq!(feed.poll(ts(OPEN), &mut out), Ok(1));
    let err = feed.poll(ts(OPEN), &mut out).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ticks.csv:3: the line is longer than 1024 bytes; is this a tick file?"
    );
}

// ---------------------------------------------------------------------------
// Record and replay
// ---------------------------------------------------------------------------

#[test]
fn recorded_rows_look_like_the_format() {
    let tick = parse_row("t", 2, OPTION_ROW).unwrap();
    assert_eq!(format_row(&tick).unwrap(), OPTION_ROW);
    let index = parse_row("t", 2, INDEX_ROW).unwrap();
    assert_eq!(format_row(&index).unwrap(), INDEX_ROW);
}

#[test]
fn record_then_replay_gives_equal_ticks() {
    let seed = std::env::var("MARKET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("MARKET_SEED={seed}");
    let start = ts(OPEN);
    let until = Timestamp::from_epoch_ms(start.epoch_ms() + 30_000);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ticks.csv");
    let sim = open_feed(
        &FeedSpec::Sim,
        &SimParams {
            seed,
            ..SimParams::default()
        },
        start,
    )
    .unwrap();
    let mut recording = RecordingFeed::new(sim, Recorder::create(&path).unwrap());
    let live = drain_stepwise(&mut recording, until);
    assert_eq!(recording.recorder_mut().rows(), live.len() as u64);
    recording.finish().unwrap();
    // 121 grid points x 3 underlyings x (1 index + 22 options).
    assert_eq!(live.len(), 121 * 3 * 23, "seed {seed}");

    let mut replayed = open_feed(
        &FeedSpec::Replay(path.clone()),
        &SimParams::default(),
        start,
    )
    .unwrap();
    assert_eq!(replayed.name(), format!("replay:{}", path.display()));
    let back = drain_stepwise(&mut replayed, Timestamp::from_epoch_ms(i64::MAX));
    assert_eq!(back.len(), live.len(), "seed {seed}");
    for (i, (a, b)) in live.iter().zip(&back).enumerate() {
        assert_eq!(a, b, "tick {i}, seed {seed}");
    }
    assert_eq!(replayed.next_ts(), None);

    // A recording never overwrites a file.
    assert_eq!(
        Recorder::create(&path).unwrap_err().to_string(),
        format!(
            "{}: cannot record: the file already exists; choose a new name or remove it",
            path.display()
        )
    );
}

#[test]
fn recorder_writes_the_header_first() {
    let tick = parse_row("t", 2, INDEX_ROW).unwrap();
    let mut recorder = Recorder::new("mem", Vec::new()).unwrap();
    recorder.record(&tick).unwrap();
    let bytes = recorder.finish().unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!("{TICK_CSV_HEADER}\n{INDEX_ROW}\n")
    );
}

// ---------------------------------------------------------------------------
// Simulator
// ---------------------------------------------------------------------------

#[test]
fn same_seed_same_ticks_other_seed_other_ticks() {
    let start = ts(OPEN);
    let until = Timestamp::from_epoch_ms(start.epoch_ms() + 60_000);
    let run = |seed| {
        let mut feed = SimFeed::new(&nifty_only(seed), start).unwrap();
        drain_stepwise(&mut feed, until)
    };
    let a = run(42);
    assert_eq!(a.len(), 241 * 23);
    assert_eq!(a, run(42));
    let b = run(43);
    assert_eq!(a.len(), b.len());
    assert_ne!(a, b);
    // Grid point 0 is the same for every seed: the walk starts at spot_start.
    assert_eq!(a[0], b[0]);
    assert_eq!(a[0].ltp, price("25000"));
    // The index moves: some later index tick differs between the seeds.
    let index_values = |ticks: &[Tick]| -> Vec<Price> {
        ticks
            .iter()
            .filter(|t| t.segment == TickSegment::Index)
            .map(|t| t.ltp)
            .collect()
    };
    assert_ne!(index_values(&a), index_values(&b));
}

#[test]
fn polling_late_gives_the_same_ticks_as_polling_often() {
    let start = ts(OPEN);
    let until = Timestamp::from_epoch_ms(start.epoch_ms() + 60_000);
    let params = SimParams::default();
    let mut often = SimFeed::new(&params, start).unwrap();
    let mut late = SimFeed::new(&params, start).unwrap();
    let mut ragged = SimFeed::new(&params, start).unwrap();
    let a = drain_stepwise(&mut often, until);
    // One poll at the end (in bounded calls).
    let b = drain_at(&mut late, until);
    // Polls at odd instants between grid points.
    let mut c = Vec::new();
    let mut now = start.epoch_ms();
    while now <= until.epoch_ms() {
        ragged.poll(Timestamp::from_epoch_ms(now), &mut c).unwrap();
        now += 1_337;
    }
    drain_at(&mut ragged, until)
        .into_iter()
        .for_each(|t| c.push(t));
    assert_eq!(a.len(), 241 * 3 * 23);
    assert_eq!(a, b);
    assert_eq!(a, c);
    // Ticks come out in time order, on the grid.
    assert!(a.windows(2).all(|w| w[0].ts <= w[1].ts));
    assert!(
        a.iter()
            .all(|t| (t.ts.epoch_ms() - start.epoch_ms()) % 250 == 0)
    );
    assert_eq!(
        often.next_ts(),
        Some(Timestamp::from_epoch_ms(until.epoch_ms() + 250))
    );
}

#[test]
fn sim_poll_is_bounded_and_resumes() {
    let start = ts(OPEN);
    let mut feed = SimFeed::new(&SimParams::default(), start).unwrap();
    let mut out = Vec::new();
    let an_hour_later = Timestamp::from_epoch_ms(start.epoch_ms() + 3_600_000);
    assert_eq!(feed.poll(an_hour_later, &mut out), Ok(POLL_TICKS_MAX));
    assert!(feed.next_ts().unwrap() <= an_hour_later);
    // Nothing is due before the next tick's time.
    let next = feed.next_ts().unwrap();
    let before = Timestamp::from_epoch_ms(next.epoch_ms() - 1);
    assert_eq!(feed.poll(before, &mut out), Ok(0));
    assert_eq!(feed.poll(next, &mut out).map(|n| n > 0), Ok(true));
}

#[test]
fn sim_chain_ids_symbols_and_expiry() {
    let start = ts(OPEN);
    let mut feed = SimFeed::new(&nifty_only(5), start).unwrap();
    let mut out = Vec::new();
    feed.poll(start, &mut out).unwrap();
    // Grid point 0: the index, then 11 strikes x CE/PE around ATM 25000.
    assert_eq!(out.len(), 23);
    assert_eq!(out[0].segment, TickSegment::Index);
    assert_eq!(out[0].security_id, 13);
    let options = &out[1..];
    let strikes: Vec<Price> = options
        .iter()
        .step_by(2)
        .map(|t| t.contract.unwrap().strike)
        .collect();
    let expected: Vec<Price> = (-5..=5)
        .map(|j| Price::from_decimal(Decimal::from(25_000 + 50 * j)).unwrap())
        .collect();
    assert_eq!(strikes, expected);
    for pair in options.chunks(2) {
        let (ce, pe) = (&pair[0], &pair[1]);
        assert_eq!(ce.contract.unwrap().option_type, OptionType::Ce);
        assert_eq!(pe.contract.unwrap().option_type, OptionType::Pe);
        let c = ce.contract.unwrap();
        assert_eq!(
            c.expiry.to_string(),
            "2025-12-02",
            "Tuesday expiry on a Tuesday morning"
        );
        assert_eq!(ce.segment, TickSegment::Fno(Segment::NseFno));
        let strike_rupees = u64::try_from(c.strike.to_decimal().trunc().mantissa()).unwrap();
        assert_eq!(
            Some(ce.security_id),
            sim_option_security_id(13, c.expiry, strike_rupees, OptionType::Ce)
        );
        assert_eq!(pe.security_id, ce.security_id + 1);
    }
    assert_eq!(options[10].security_id, 13_204_240_250_001);

    // After the close on expiry day, the following Tuesday.
    let evening = ts("2025-12-02T15:30:00+05:30");
    let mut feed = SimFeed::new(&nifty_only(5), evening).unwrap();
    let mut out = Vec::new();
    feed.poll(evening, &mut out).unwrap();
    assert_eq!(out[1].contract.unwrap().expiry.to_string(), "2025-12-09");
}

#[test]
fn sim_prices_obey_put_call_parity_and_the_atm_rule() {
    let start = ts("2025-11-26T09:15:00+05:30"); // a Wednesday: 6 days to expiry
    let iv = 0.15;
    let params = SimParams {
        seed: 9,
        rate_annual: 0.065,
        underlyings: vec![SimUnderlying {
            iv_annual: iv,
            strikes_each_side: 8,
            ..SimParams::default().underlyings[0].clone()
        }],
        ..SimParams::default()
    };
    let mut feed = SimFeed::new(&params, start).unwrap();
    let ticks = drain_stepwise(
        &mut feed,
        Timestamp::from_epoch_ms(start.epoch_ms() + 10_000),
    );
    let tick = Decimal::new(5, 2);
    let mut checked = 0;
    for group in ticks.chunks(1 + 2 * 17) {
        let spot = group[0].ltp.to_decimal();
        let now = group[0].ts;
        for pair in group[1..].chunks(2) {
            let (ce, pe) = (&pair[0], &pair[1]);
            let c = ce.contract.unwrap();
            assert_eq!(c.expiry.to_string(), "2025-12-02");
            let years = (session_close(c.expiry).epoch_ms() - now.epoch_ms()) as f64
                / (365.0 * 86_400_000.0);
            let strike: f64 = c.strike.to_decimal().try_into().unwrap();
            let discounted = Decimal::try_from(strike * (-0.065 * years).exp()).unwrap();
            // C - P = S - K e^{-rT}; three roundings of at most half a tick each.
            let gap = (ce.ltp.to_decimal() - pe.ltp.to_decimal()) - (spot - discounted);
            assert!(
                gap.abs() <= tick * Decimal::TWO,
                "gap {gap} at strike {strike}"
            );
            // The quote: one tick either side of the LTP, bid at least one tick.
            for t in [ce, pe] {
                let bid = t.bid.unwrap().to_decimal();
                let ask = t.ask.unwrap().to_decimal();
                assert!(bid >= tick);
                assert_eq!(ask, t.ltp.to_decimal() + tick);
                assert!(bid == t.ltp.to_decimal() - tick || bid == tick);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 41 * 17);

    // ATM call ~ 0.4 S sigma sqrt(T) at r = 0 (exactly 1/sqrt(2 pi) = 0.3989 to first order).
    let zero_rate = SimParams {
        rate_annual: 0.0,
        ..params
    };
    let mut feed = SimFeed::new(&zero_rate, start).unwrap();
    let mut out = Vec::new();
    feed.poll(start, &mut out).unwrap();
    let atm_ce = &out[1 + 2 * 8];
    assert_eq!(atm_ce.contract.unwrap().strike, price("25000"));
    let years = 6.0 * 86_400_000.0 + 6.25 * 3_600_000.0;
    let years = years / (365.0 * 86_400_000.0);
    let rule = 0.4 * 25_000.0 * iv * f64::sqrt(years);
    let ltp: f64 = atm_ce.ltp.to_decimal().try_into().unwrap();
    assert!(
        (ltp - rule).abs() / rule < 0.01,
        "ATM call {ltp} vs rule {rule}"
    );
    let model = pricing::black_scholes(OptionType::Ce, 25_000.0, 25_000.0, years, 0.0, iv);
    assert!(
        (ltp - model).abs() <= 0.025 + 1e-9,
        "tick {ltp} vs model {model}"
    );
}

#[test]
fn far_out_of_the_money_options_quote_at_least_one_tick() {
    let start = ts(OPEN);
    let params = SimParams {
        underlyings: vec![SimUnderlying {
            iv_annual: 0.05,
            strikes_each_side: 20,
            strike_step: 500,
            ..SimParams::default().underlyings[0].clone()
        }],
        ..SimParams::default()
    };
    let mut feed = SimFeed::new(&params, start).unwrap();
    let mut out = Vec::new();
    feed.poll(start, &mut out).unwrap();
    let far_call = out
        .iter()
        .rev()
        .find(|t| t.contract.is_some_and(|c| c.option_type == OptionType::Ce))
        .unwrap();
    assert_eq!(far_call.ltp, Price::MIN);
    assert_eq!(far_call.bid, Some(Price::MIN));
    assert_eq!(far_call.ask, Some(price("0.10")));
}

#[test]
fn sim_parameters_are_checked() {
    fn check(params: SimParams, expected: &str) {
        let err = SimFeed::new(&params, ts(OPEN)).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    let base = SimParams::default();
    let nifty = base.underlyings[0].clone();
    check(
        SimParams {
            tick_rate_per_sec: 0.0,
            ..base.clone()
        },
        "sim parameter tick_rate_per_sec: 0 is out of range; use 1/3600 (a tick an hour) to 1000 ticks per second, e.g. 4",
    );
    check(
        SimParams {
            underlyings: vec![],
            ..base.clone()
        },
        "sim parameter underlyings: 0 given; simulate 1 to 8 indices",
    );
    check(
        SimParams {
            underlyings: vec![SimUnderlying {
                expiry_wday: 7,
                ..nifty.clone()
            }],
            ..base.clone()
        },
        "sim parameter underlyings[NIFTY].expiry_wday: 7 is not a weekday; use 0 (Sunday) to 6 (Saturday), e.g. 2 for Tuesday",
    );
    check(
        SimParams {
            underlyings: vec![nifty.clone(), nifty.clone()],
            ..base.clone()
        },
        "sim parameter underlyings[NIFTY].name: appears twice; name each index once",
    );
    check(
        SimParams {
            underlyings: vec![SimUnderlying {
                vol_annual: f64::NAN,
                ..nifty.clone()
            }],
            ..base.clone()
        },
        "sim parameter underlyings[NIFTY].vol_annual: NaN is out of range; use a volatility from 0 to 5, e.g. 0.15 for 15%",
    );
    check(
        SimParams {
            underlyings: vec![SimUnderlying {
                strike_step: 0,
                ..nifty
            }],
            ..base
        },
        "sim parameter underlyings[NIFTY].strike_step: 0 is out of range; use whole rupees like 50 or 100",
    );
}

#[test]
fn feed_specs_parse() {
    assert_eq!("sim".parse::<FeedSpec>(), Ok(FeedSpec::Sim));
    assert_eq!(
        "replay:data/ticks.csv".parse::<FeedSpec>(),
        Ok(FeedSpec::Replay("data/ticks.csv".into()))
    );
    assert_eq!(
        "replay:".parse::<FeedSpec>().unwrap_err().to_string(),
        "feed \"replay:\": the file name is missing; write replay:FILE, e.g. replay:ticks.csv"
    );
    assert_eq!(
        "dhan".parse::<FeedSpec>().unwrap_err().to_string(),
        "feed \"dhan\": unknown feed; use sim or replay:FILE"
    );
    assert_eq!(FeedSpec::Replay("a.csv".into()).to_string(), "replay:a.csv");
}

// ---------------------------------------------------------------------------
// Option chain and market book
// ---------------------------------------------------------------------------

#[test]
fn chain_finds_the_atm_contract_the_sim_quotes() {
    let start = ts(OPEN);
    let mut feed = SimFeed::new(&nifty_only(11), start).unwrap();
    let book = MarketBook::default();
    let until = Timestamp::from_epoch_ms(start.epoch_ms() + 120_000);
    let ticks = drain_stepwise(&mut feed, until);
    for tick in &ticks {
        book.ingest(tick);
    }
    // At every grid point the middle strike is the ATM of the quoted index.
    for group in ticks.chunks(23) {
        assert_eq!(
            group[11].contract.map(|c| c.strike),
            atm_strike(group[0].ltp, price("50"))
        );
    }
    let spot = book.ltp.index(13).unwrap();
    assert_eq!(spot.ts, until);
    let atm = atm_strike(spot.ltp, price("50")).unwrap();
    for option_type in [OptionType::Ce, OptionType::Pe] {
        let found = book
            .chain
            .atm("NIFTY", spot.ltp, option_type, until)
            .unwrap();
        assert_eq!(found.contract.strike, atm);
        assert_eq!(found.contract.option_type, option_type);
        assert_eq!(found.contract.expiry.to_string(), "2025-12-02");
        assert_eq!(
            found.symbol.as_str(),
            format!(
                "NIFTY 02 DEC {} {option_type}",
                atm.to_decimal().normalize()
            )
        );
        assert_eq!(found.underlying.as_str(), "NIFTY");
        let quote = book.ltp.contract(found.key).unwrap();
        assert_eq!(
            quote.ts, until,
            "the ATM contract was quoted at the last grid point"
        );
        assert!(
            !book
                .ltp
                .is_stale(QuoteKey::Contract(found.key), until, Duration::from_secs(5))
        );
    }
    assert_eq!(
        book.chain.atm("SENSEX", spot.ltp, OptionType::Ce, until),
        None
    );
    // After the close on expiry day those contracts are no longer offered.
    let evening = ts("2025-12-02T15:30:00+05:30");
    assert_eq!(
        book.chain.atm("NIFTY", spot.ltp, OptionType::Ce, evening),
        None
    );
    let n = book.chain.len();
    assert!(n >= 22);
    assert_eq!(book.chain.prune_expired(evening), n);
    assert!(book.chain.is_empty());
}

#[test]
fn chain_prefers_the_nearest_live_expiry_then_the_nearest_strike() {
    let chain = OptionChain::new(100);
    let row = |expiry: &str, strike: &str, id: u64| {
        parse_row(
            "t",
            2,
            &format!("{OPEN},NSE_FNO,{id},NIFTY,{expiry},{strike},CE,10,,,"),
        )
        .unwrap()
    };
    assert!(chain.observe(&row("2025-12-09", "25000", 1)));
    assert!(chain.observe(&row("2025-12-02", "24950", 2)));
    assert!(chain.observe(&row("2025-12-02", "25050", 3)));
    assert!(
        !chain.observe(&row("2025-12-02", "25050", 3)),
        "already known"
    );
    assert!(
        !chain.observe(&parse_row("t", 2, INDEX_ROW).unwrap()),
        "index ticks are not contracts"
    );
    let now = ts(OPEN);
    let atm = |spot: &str| {
        chain
            .atm("NIFTY", price(spot), OptionType::Ce, now)
            .map(|c| c.key.security_id)
    };
    assert_eq!(atm("24990"), Some(2));
    assert_eq!(atm("25000"), Some(3), "a tie goes to the higher strike");
    assert_eq!(atm("25000.05"), Some(3));
    assert_eq!(
        chain.atm("NIFTY", price("25000"), OptionType::Pe, now),
        None
    );
    // After the 2 Dec close only the 9 Dec contract is live.
    assert_eq!(
        chain
            .atm(
                "NIFTY",
                price("24990"),
                OptionType::Ce,
                ts("2025-12-02T16:00:00+05:30")
            )
            .map(|c| c.key.security_id),
        Some(1)
    );
    assert_eq!(
        chain
            .get(InstrumentKey {
                segment: Segment::NseFno,
                security_id: 1
            })
            .unwrap()
            .symbol
            .as_str(),
        "NIFTY 09 DEC 25000 CE"
    );
    // A full chain drops expired contracts to make room, else refuses.
    let small = OptionChain::new(2);
    assert!(small.observe(&row("2025-12-02", "25000", 1)));
    assert!(small.observe(&row("2025-12-02", "25050", 2)));
    assert!(!small.observe(&row("2025-12-09", "25000", 3)));
    assert_eq!(small.refused_count(), 1);
    let next_week = parse_row(
        "t",
        2,
        "2025-12-03T09:15:00+05:30,NSE_FNO,3,NIFTY,2025-12-09,25000,CE,10,,,",
    )
    .unwrap();
    assert!(small.observe(&next_week));
    assert_eq!(small.len(), 1);
}

#[test]
fn next_expiry_uses_the_ruby_weekday_numbers() {
    // 2025-12-02 is a Tuesday (2); SENSEX expires on Thursdays (4).
    assert_eq!(next_expiry(ts(OPEN), 4).to_string(), "2025-12-04");
    assert_eq!(next_expiry(ts(OPEN), 0).to_string(), "2025-12-07");
}

// ---------------------------------------------------------------------------
// LTP cache
// ---------------------------------------------------------------------------

fn index_tick(at: &str, security_id: u64, ltp: &str) -> Tick {
    Tick {
        ts: ts(at),
        segment: TickSegment::Index,
        security_id,
        underlying: Symbol::new("NIFTY").unwrap(),
        contract: None,
        ltp: price(ltp),
        bid: None,
        ask: None,
        volume: None,
    }
}

#[test]
fn ltp_cache_keeps_the_newest_quote_per_key() {
    let cache = LtpCache::new(10);
    let t0 = "2025-12-02T09:15:00+05:30";
    let t1 = "2025-12-02T09:15:01+05:30";
    assert_eq!(
        cache.update(&index_tick(t1, 13, "25000")),
        QuoteUpdate::Inserted
    );
    assert_eq!(
        cache.update(&index_tick(t0, 13, "24000")),
        QuoteUpdate::Older
    );
    assert_eq!(cache.index(13).unwrap().ltp, price("25000"));
    assert_eq!(
        cache.update(&index_tick(t1, 13, "25000.05")),
        QuoteUpdate::Replaced
    );
    assert_eq!(cache.index(13).unwrap().ltp, price("25000.05"));
    assert_eq!(cache.older_count(), 1);
    // The same id on an F&O segment is another key.
    let option = parse_row(
        "t",
        2,
        &format!("{t0},NSE_FNO,13,NIFTY,2025-12-02,25000,CE,120.05,120,120.10,"),
    )
    .unwrap();
    assert_eq!(cache.update(&option), QuoteUpdate::Inserted);
    let key = InstrumentKey {
        segment: Segment::NseFno,
        security_id: 13,
    };
    let quote = cache.contract(key).unwrap();
    assert_eq!(
        (quote.ltp, quote.bid, quote.ask),
        (price("120.05"), Some(price("120")), Some(price("120.10")))
    );
    assert_eq!(cache.get(QuoteKey::of(&option)), Some(quote));
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.remove_older_than(ts(t1)), 1);
    assert_eq!(cache.contract(key), None);
}

#[test]
fn ltp_cache_refuses_new_keys_beyond_its_bound() {
    let cache = LtpCache::new(3);
    for id in 1..=3 {
        assert_eq!(
            cache.update(&index_tick(OPEN, id, "100")),
            QuoteUpdate::Inserted
        );
    }
    assert_eq!(
        cache.update(&index_tick(OPEN, 4, "100")),
        QuoteUpdate::Refused
    );
    assert_eq!(
        cache.update(&index_tick(OPEN, 5, "100")),
        QuoteUpdate::Refused
    );
    assert_eq!(cache.refused_count(), 2);
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.index(4), None);
    // Known keys still update.
    assert_eq!(
        cache.update(&index_tick(OPEN, 2, "101")),
        QuoteUpdate::Replaced
    );
    assert_eq!(LtpCache::new(0).entries_max(), 1);
    assert_eq!(
        LtpCache::new(usize::MAX).entries_max(),
        dhan_scalper::market::LTP_CACHE_ENTRIES_MAX
    );
}

#[test]
fn staleness_is_strictly_older_than_the_limit() {
    let cache = LtpCache::new(10);
    cache.update(&index_tick(OPEN, 13, "25000"));
    let key = QuoteKey::Index { security_id: 13 };
    let limit = Duration::from_secs(5);
    let at = |ms: i64| Timestamp::from_epoch_ms(ts(OPEN).epoch_ms() + ms);
    assert!(!cache.is_stale(key, at(0), limit));
    assert!(!cache.is_stale(key, at(5_000), limit));
    assert!(cache.is_stale(key, at(5_001), limit));
    assert!(
        !cache.is_stale(key, at(-10_000), limit),
        "a quote from the future is fresh"
    );
    assert!(
        cache.is_stale(QuoteKey::Index { security_id: 99 }, at(0), limit),
        "no quote is stale"
    );
    assert_eq!(
        cache
            .fresh(key, at(5_000), limit)
            .map(|q| q.age_ms(at(5_000))),
        Some(5_000)
    );
    assert_eq!(cache.fresh(key, at(5_001), limit), None);
}

// ---------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------

#[test]
fn one_minute_candles_from_hand_made_ticks() {
    let mut candles = CandleBuilder::one_minute(100);
    let push = |c: &mut CandleBuilder, at: &str, p: &str| c.push(ts(at), price(p));
    assert_eq!(
        push(&mut candles, "2025-12-02T09:15:00.000+05:30", "100"),
        None
    );
    assert_eq!(
        push(&mut candles, "2025-12-02T09:15:10.000+05:30", "103"),
        None
    );
    assert_eq!(
        push(&mut candles, "2025-12-02T09:15:20.000+05:30", "99.5"),
        None
    );
    assert_eq!(
        push(&mut candles, "2025-12-02T09:15:59.999+05:30", "101"),
        None
    );
    let closed = push(&mut candles, "2025-12-02T09:16:00.000+05:30", "102").unwrap();
    assert_eq!(closed.start, ts("2025-12-02T09:15:00+05:30"));
    assert_eq!(
        (
            closed.open,
            closed.high,
            closed.low,
            closed.close,
            closed.ticks
        ),
        (price("100"), price("103"), price("99.5"), price("101"), 4)
    );
    // A gap: 09:16 closes when 09:18 arrives; 09:17 has no candle.
    let closed = push(&mut candles, "2025-12-02T09:18:30+05:30", "104").unwrap();
    assert_eq!(closed.start, ts("2025-12-02T09:16:00+05:30"));
    assert_eq!(
        (closed.open, closed.close, closed.ticks),
        (price("102"), price("102"), 1)
    );
    // A late tick (09:17) is ignored and counted.
    assert_eq!(push(&mut candles, "2025-12-02T09:17:59+05:30", "1"), None);
    assert_eq!(candles.late_ticks(), 1);
    assert_eq!(candles.open_candle().unwrap().low, price("104"));
    // Time alone closes the open candle at its end, not before.
    assert_eq!(candles.close_due(ts("2025-12-02T09:18:59.999+05:30")), None);
    let closed = candles.close_due(ts("2025-12-02T09:19:00+05:30")).unwrap();
    assert_eq!(closed.start, ts("2025-12-02T09:18:00+05:30"));
    assert_eq!(candles.open_candle(), None);
    // A tick for the candle just closed by time is late.
    assert_eq!(push(&mut candles, "2025-12-02T09:18:59+05:30", "1"), None);
    assert_eq!(candles.late_ticks(), 2);
    let starts: Vec<Timestamp> = candles.closed().iter().map(|c| c.start).collect();
    assert_eq!(
        starts,
        vec![
            ts("2025-12-02T09:15:00+05:30"),
            ts("2025-12-02T09:16:00+05:30"),
            ts("2025-12-02T09:18:00+05:30")
        ]
    );
    assert_eq!(
        candles.last_closed().unwrap().start,
        ts("2025-12-02T09:18:00+05:30")
    );
}

#[test]
fn five_minute_candles_align_to_ist_and_keep_a_bounded_history() {
    let mut candles = CandleBuilder::five_minutes(2);
    assert_eq!(candles.width_ms(), 300_000);
    assert_eq!(
        candles.bucket_start(ts("2025-12-02T09:19:59+05:30")),
        ts("2025-12-02T09:15:00+05:30")
    );
    assert_eq!(
        candles.bucket_start(ts("2025-12-02T09:20:00+05:30")),
        ts("2025-12-02T09:20:00+05:30")
    );
    let mut closed = Vec::new();
    for minute in 0..30 {
        let at = Timestamp::from_epoch_ms(ts(OPEN).epoch_ms() + minute * 60_000);
        closed.extend(candles.push(at, price("100")));
    }
    // 09:15 .. 09:44 is six 5-minute buckets; the last is still open.
    assert_eq!(closed.len(), 5);
    assert!(closed.iter().all(|c| c.ticks == 5));
    assert_eq!(candles.closed().len(), 2, "keeps only the last two");
    assert_eq!(candles.closed()[1].start, ts("2025-12-02T09:35:00+05:30"));
    assert_eq!(
        CandleBuilder::new(Duration::ZERO, 10).map(|c| c.width_ms()),
        None
    );
    assert_eq!(
        CandleBuilder::new(Duration::from_secs(90), 10).map(|c| c.width_ms()),
        Some(90_000)
    );
}

#[test]
fn candles_from_sim_index_ticks() {
    let start = ts(OPEN);
    let mut feed = SimFeed::new(&nifty_only(3), start).unwrap();
    let mut candles = CandleBuilder::one_minute(10);
    let mut closed = Vec::new();
    let ticks = drain_stepwise(
        &mut feed,
        Timestamp::from_epoch_ms(start.epoch_ms() + 180_000),
    );
    for tick in ticks.iter().filter(|t| t.segment == TickSegment::Index) {
        closed.extend(candles.push_tick(tick));
    }
    assert_eq!(closed.len(), 3);
    assert!(closed.iter().all(|c| c.ticks == 240));
    assert!(
        closed
            .iter()
            .all(|c| c.low <= c.open && c.open <= c.high && c.low <= c.close && c.close <= c.high)
    );
}
