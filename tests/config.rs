//! The config loader end to end: built-in defaults, the shipped file, overlays,
//! every error's exact text, and the `config check` round trip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dhan_scalper::config::{
    BUILTIN_YAML, Config, ConfigError, Credentials, ExpiryCycle, Feed, FsyncMode, Position,
    TimeOfDay,
};
use dhan_scalper::error::{AppError, ExitCode};
use dhan_scalper::money::{Amount, Price};
use dhan_scalper::wallet::{ChargeRates, Segment};
use rust_decimal::Decimal;
use time::Weekday;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    Config::parse(yaml, Path::new("test.yml"))
}

/// The error's full text for `yaml`, which must fail.
fn error_text(yaml: &str) -> String {
    match parse(yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

/// The problems (as `key.path: message`) of `yaml`, which must fail validation.
fn problems(yaml: &str) -> Vec<String> {
    match parse(yaml) {
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected validation problems for:\n{yaml}\ngot {other:?}"),
    }
}

fn shipped_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scalper.yml")
}

#[test]
fn builtin_defaults_load_without_a_file() {
    let config = Config::load(None).unwrap();
    assert_eq!(config, Config::builtin());
}

#[test]
fn shipped_file_equals_builtin_defaults() {
    let shipped = Config::load(Some(&shipped_path())).unwrap();
    assert_eq!(shipped, Config::builtin());
    // And the compiled-in text is the file on disk, byte for byte.
    assert_eq!(
        std::fs::read_to_string(shipped_path()).unwrap(),
        BUILTIN_YAML
    );
}

/// The defaults against values written down independently (from
/// original-pitfalls.md, india-fno.md and the issue), not read from the file.
#[test]
fn builtin_defaults_have_the_documented_values() {
    let c = Config::builtin();
    let g = &c.global;
    assert_eq!(
        (g.session_hours.start, g.session_hours.end),
        (
            TimeOfDay::new(9, 20).unwrap(),
            TimeOfDay::new(15, 25).unwrap()
        )
    );
    assert!(g.enforce_market_hours);
    assert_eq!(g.square_off(), Some(TimeOfDay::new(15, 15).unwrap()));
    assert_eq!(g.min_profit_target, Amount::from_rupees(1000));
    assert_eq!(g.max_day_loss, Amount::from_rupees(1500));
    assert_eq!(g.allocation_pct, dec("0.30"));
    assert_eq!(g.slippage_buffer_pct, dec("0.01"));
    assert_eq!(g.max_lots_per_trade, 10);
    assert_eq!(g.max_positions, 5);
    assert_eq!(g.min_premium_price, dec("1.0"));
    assert_eq!(g.take_profit(), Some(dec("0.35")));
    assert_eq!(g.stop_loss(), Some(dec("0.18")));
    assert_eq!(g.trailing_stop(), Some(dec("0.12")));
    assert_eq!(g.time_stop(), Some(Duration::from_secs(300)));
    assert_eq!(g.max_daily_loss_rs, Amount::from_rupees(2000));
    assert_eq!(g.daily_loss_limit(), Some(Amount::from_rupees(1500)));
    assert_eq!(g.cooldown(), Some(Duration::from_secs(180)));
    assert!(!g.use_multi_timeframe);
    assert_eq!(g.secondary_timeframe, Duration::from_secs(5 * 60));
    assert_eq!(g.min_signal_strength, dec("0.6"));
    assert_eq!(g.decision_interval, Duration::from_secs(60));
    assert_eq!(g.risk_loop_interval, Duration::from_secs(1));
    assert_eq!(g.log_status_every, Duration::from_secs(60));
    assert_eq!(g.market_data_interval, Duration::from_secs(5));
    assert_eq!(g.stale_after, Duration::from_secs(10));
    assert_eq!(g.data_dir, PathBuf::from("data"));
    assert_eq!(g.feed, Feed::Sim);
    assert_eq!(g.fsync, FsyncMode::Always);
    assert_eq!(g.snapshot_every, 100_000);
    assert_eq!(g.worker_threads, 2);
    assert_eq!(g.scheduler_realtime_priority, None);
    assert_eq!(g.scheduler_dispatch_early, Duration::from_micros(500));
    assert_eq!(c.paper.starting_balance, Amount::from_rupees(200_000));
    assert_eq!(c.wallet_limits().max_positions, 5);

    assert_eq!(c.symbols.len(), 1);
    let nifty = &c.symbols[0];
    assert_eq!(nifty.name.as_str(), "NIFTY");
    assert_eq!(nifty.idx_sid, 13);
    assert_eq!(nifty.seg_idx, "IDX_I");
    assert_eq!(nifty.seg_opt, Segment::NseFno);
    assert_eq!(nifty.strike_step, Price::from_paise(5_000).unwrap());
    assert_eq!(nifty.lot_size, 75);
    assert_eq!(nifty.expiry_wday, Weekday::Tuesday);
    assert_eq!(nifty.expiry_cycle, ExpiryCycle::Weekly);

    let sim = c.sim.index("NIFTY").unwrap();
    assert_eq!(sim.start_spot, Price::from_paise(2_500_000).unwrap());
    assert_eq!(c.sim.tick_rate_per_sec, 4);
}

#[test]
fn all_three_indices_have_the_documented_values() {
    let c = parse("symbols: [NIFTY, BANKNIFTY, SENSEX]\n").unwrap();
    let got: Vec<_> = c
        .symbols
        .iter()
        .map(|s| {
            (
                s.name.as_str().to_owned(),
                s.idx_sid,
                s.seg_opt,
                s.strike_step.to_decimal(),
                s.lot_size,
                s.expiry_wday,
                s.expiry_cycle,
            )
        })
        .collect();
    let want = vec![
        (
            "NIFTY".to_owned(),
            13,
            Segment::NseFno,
            dec("50"),
            75,
            Weekday::Tuesday,
            ExpiryCycle::Weekly,
        ),
        (
            "BANKNIFTY".to_owned(),
            25,
            Segment::NseFno,
            dec("100"),
            35,
            Weekday::Tuesday,
            ExpiryCycle::Monthly,
        ),
        (
            "SENSEX".to_owned(),
            51,
            Segment::BseFno,
            dec("100"),
            20,
            Weekday::Thursday,
            ExpiryCycle::Weekly,
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(c.sim.indices.len(), 3);
}

#[test]
fn charge_defaults_equal_the_wallet_defaults() {
    assert_eq!(Config::builtin().charges, ChargeRates::default());
}

#[test]
fn a_file_changes_only_the_keys_it_sets() {
    let c = parse("global:\n  tp_pct: 0.5\n").unwrap();
    let mut want = Config::builtin();
    want.global.tp_pct = dec("0.5");
    assert_eq!(c, want);
}

#[test]
fn an_empty_file_is_the_defaults() {
    assert_eq!(parse("").unwrap(), Config::builtin());
    assert_eq!(parse("# nothing\n\n").unwrap(), Config::builtin());
    assert_eq!(parse("---\n").unwrap(), Config::builtin());
}

#[test]
fn durations_accept_fractions_of_a_second() {
    let c = parse(
        "global:\n  risk_loop_interval_sec: 0.5\n  decision_interval_sec: 1.25\n  time_stop_seconds: 0.000000001\n",
    )
    .unwrap();
    assert_eq!(c.global.risk_loop_interval, Duration::from_millis(500));
    assert_eq!(c.global.decision_interval, Duration::from_millis(1250));
    assert_eq!(c.global.time_stop, Duration::from_nanos(1));
    assert_eq!(
        problems("global:\n  risk_loop_interval_sec: 0.0000000001\n"),
        [
            "global.risk_loop_interval_sec: must be a number with at most 9 decimals (nanoseconds), got 0.0000000001"
        ]
    );
}

#[test]
fn negative_interval_is_reported_with_its_key_path() {
    let yaml = "global:\n  risk_loop_interval_sec: -1\n";
    assert_eq!(
        problems(yaml),
        ["global.risk_loop_interval_sec: must be > 0, got -1"]
    );
    assert_eq!(
        error_text(yaml),
        "test.yml:2:27: global.risk_loop_interval_sec: must be > 0, got -1"
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let yaml = "\
global:
  risk_loop_interval_sec: -1
  tp_pct: 0
  sl_pct: 1.5
  max_positions: 65
  worker_threads: 0
  fsync: never
  feed: dhan
paper:
  starting_balance: 100.005
SYMBOLS:
  NIFTY:
    lot_size: 0
    expiry_wday: Funday
";
    let Err(e) = parse(yaml) else {
        panic!("expected problems")
    };
    let want = [
        "test.yml:2:27: global.risk_loop_interval_sec: must be > 0, got -1",
        "test.yml:3:11: global.tp_pct: must be > 0 and <= 10, got 0",
        "test.yml:4:11: global.sl_pct: must be > 0 and < 1, got 1.5",
        "test.yml:5:18: global.max_positions: must be a whole number from 1 to 64, got 65",
        "test.yml:6:19: global.worker_threads: must be a whole number from 1 to 64, got 0",
        "test.yml:7:10: global.fsync: must be always (the only mode for now), got never",
        "test.yml:8:9: global.feed: must be sim or replay:FILE (the live Dhan feed is not built yet), got dhan",
        "test.yml:10:21: paper.starting_balance: must be rupees with at most two decimals (whole paise), got 100.005",
        "test.yml:13:15: SYMBOLS.NIFTY.lot_size: must be a whole number from 1 to 100000, got 0",
        "test.yml:14:18: SYMBOLS.NIFTY.expiry_wday: must be a weekday: 0 (Sunday) to 6 (Saturday), or a name such as Tuesday, got Funday",
    ];
    assert_eq!(e.to_string(), want.join("\n"));
    assert_eq!(e.problems().len(), want.len());
    assert_eq!(
        e.problems()[0].position,
        Some(Position {
            line: 2,
            column: 27
        })
    );
}

#[test]
fn a_mistyped_key_is_an_error_naming_its_path_and_a_suggestion() {
    assert_eq!(
        error_text("global:\n  tp_pct: 0.3\n  tp_pctt: 0.3\n"),
        "test.yml:3:3: global.tp_pctt: unknown key; did you mean tp_pct?"
    );
    assert_eq!(
        error_text("# c\nglobl:\n  tp_pct: 0.3\n"),
        "test.yml:2:1: globl: unknown key; did you mean global?"
    );
    assert_eq!(
        error_text("SYMBOLS:\n  NIFTY:\n    lot_sise: 50\n"),
        "test.yml:3:5: SYMBOLS.NIFTY.lot_sise: unknown key; did you mean lot_size?"
    );
    assert_eq!(
        error_text("sim:\n  indices:\n    NIFTY:\n      spot: 1\n"),
        "test.yml:4:7: sim.indices.NIFTY.spot: unknown key; the keys here are start_spot, annual_volatility_pct, option_iv_pct"
    );
}

#[test]
fn broken_yaml_is_reported_with_line_and_column() {
    let text = error_text("global:\n  tp_pct: 0.3\n   sl_pct: 0.2\n");
    assert!(
        text.starts_with("test.yml:3:"),
        "no line and column in {text:?}"
    );
    let text = error_text("global: {tp_pct: 0.3, sl_pct: [}\n");
    assert!(text.starts_with("test.yml:1:"), "{text:?}");
    assert!(!text.contains('\n'), "one line: {text:?}");
}

#[test]
fn a_value_of_the_wrong_shape_names_its_path() {
    let text = error_text("global:\n  tp_pct: [0.3]\n");
    assert!(
        text.starts_with("test.yml:2:11: global.tp_pct: "),
        "{text:?}"
    );
    let text = error_text("global:\n  tp_pct: 0.3\n  tp_pct: 0.4\n");
    assert_eq!(
        text,
        "test.yml:3:3: global.tp_pct: duplicate key; keep one of them"
    );
}

#[test]
fn a_value_that_is_not_a_number_is_a_problem_not_a_parse_error() {
    assert_eq!(
        problems("global:\n  tp_pct: lots\n  enable_cooldown: maybe\n  square_off_time: \"3pm\"\n"),
        [
            "global.tp_pct: must be a number > 0 and <= 10, got lots",
            "global.enable_cooldown: must be true or false, got maybe",
            "global.square_off_time: must be a time of day \"HH:MM\" (IST), got 3pm",
        ]
    );
}

#[test]
fn session_and_square_off_are_checked_against_the_market_and_each_other() {
    assert_eq!(
        problems("global:\n  session_hours: \"09:00-15:25\"\n"),
        ["global.session_hours: must be inside the market session 09:15-15:30, got 09:00-15:25"]
    );
    assert_eq!(
        problems("global:\n  session_hours: \"15:00-10:00\"\n"),
        ["global.session_hours: must be a start before the end, got 15:00-10:00"]
    );
    // The built-in square-off (15:15) falls outside a shorter session: the
    // problem has no position in the user's file.
    let e = parse("global:\n  session_hours: \"10:00-14:00\"\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "test.yml: global.square_off_time: must be after the start and not after the end of session_hours 10:00-14:00, got 15:15"
    );
}

#[test]
fn stale_after_must_exceed_the_market_data_interval() {
    assert_eq!(
        problems("global:\n  stale_after_sec: 5\n"),
        ["global.stale_after_sec: must be longer than market_data_interval_sec (5), got 5"]
    );
}

#[test]
fn symbols_must_be_defined_and_listed_once() {
    assert_eq!(
        problems("symbols: [NIFY]\n"),
        ["symbols[0]: must be a symbol defined under SYMBOLS, got NIFY; did you mean NIFTY?"]
    );
    assert_eq!(
        problems("symbols: [NIFTY, NIFTY]\n"),
        ["symbols[1]: NIFTY is listed twice"]
    );
    assert_eq!(
        problems("symbols: []\n"),
        ["symbols: must list at least one symbol, got []"]
    );
}

#[test]
fn a_new_symbol_needs_every_key() {
    let partial = "symbols: [FINNIFTY]\nSYMBOLS:\n  FINNIFTY:\n    idx_sid: 27\n";
    let got = problems(partial);
    assert!(
        got.contains(
            &"SYMBOLS.FINNIFTY.lot_size: missing; it has no built-in default here, so add it"
                .to_owned()
        ),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|p| p.starts_with("sim.indices.FINNIFTY: missing")),
        "{got:#?}"
    );

    let full = "\
symbols: [FINNIFTY]
SYMBOLS:
  FINNIFTY:
    idx_sid: 27
    seg_idx: IDX_I
    seg_opt: NSE_FNO
    strike_step: 50
    lot_size: 65
    expiry_wday: tue
    expiry_cycle: monthly
sim:
  indices:
    FINNIFTY: {start_spot: 26000.05, annual_volatility_pct: 0.2, option_iv_pct: 0.2}
";
    let c = parse(full).unwrap();
    assert_eq!(c.symbols[0].lot_size, 65);
    assert_eq!(c.symbols[0].expiry_wday, Weekday::Tuesday);
    assert_eq!(
        c.sim.index("FINNIFTY").unwrap().start_spot,
        Price::from_paise(2_600_005).unwrap()
    );
}

#[test]
fn effective_yaml_parses_back_to_the_same_config() {
    let custom = "\
symbols: [SENSEX, NIFTY]
global:
  risk_loop_interval_sec: 0.25
  decision_interval_sec: 0.000000001
  enable_trailing_stop: false
  min_premium_price: 0
  feed: \"replay:ticks/2025-09-30 \\\"a\\\".csv\"
  data_dir: \"/var/lib/dhan scalper\"
paper:
  starting_balance: 150000.50
charges:
  gst_pct: 0.18000
SYMBOLS:
  SENSEX:
    expiry_wday: Friday
";
    for config in [Config::builtin(), parse(custom).unwrap()] {
        let yaml = config.effective_yaml();
        let back = Config::parse(&yaml, Path::new("effective.yml"))
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert_eq!(back, config, "{yaml}");
        // Every key is printed, so it parses back the same on its own too.
        assert!(yaml.contains("risk_loop_interval_sec: "), "{yaml}");
    }
    let c = parse(custom).unwrap();
    assert_eq!(
        c.global.feed,
        Feed::Replay(PathBuf::from("ticks/2025-09-30 \"a\".csv"))
    );
    assert!(
        c.effective_yaml()
            .contains("  risk_loop_interval_sec: 0.25\n"),
        "{}",
        c.effective_yaml()
    );
}

#[test]
fn an_unreadable_file_names_the_path_and_the_os_error() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("nope.yml");
    let e = Config::load(Some(&missing)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot read config file {}: ", missing.display())),
        "{text}"
    );
    assert!(text.contains("os error 2"), "{text}");
    let app: AppError = e.into();
    assert_eq!(app.code, ExitCode::Usage);
}

#[test]
fn a_file_on_disk_is_laid_over_the_defaults_and_errors_name_it() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("mine.yml");
    std::fs::write(&path, "global:\n  worker_threads: 3\n").unwrap();
    assert_eq!(Config::load(Some(&path)).unwrap().global.worker_threads, 3);
    std::fs::write(&path, "global:\n  worker_threads: -3\n").unwrap();
    assert_eq!(
        Config::load(Some(&path)).unwrap_err().to_string(),
        format!(
            "{}:2:19: global.worker_threads: must be a whole number from 1 to 64, got -3",
            path.display()
        )
    );
}

#[test]
fn a_file_that_is_not_utf8_or_too_large_is_refused_unparsed() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("bad.yml");
    // "global:\n" is 8 bytes and "  tp_pct: 0.3" 13: the bad byte is at offset 21.
    std::fs::write(&path, b"global:\n  tp_pct: 0.3\xff\n").unwrap();
    assert_eq!(
        Config::load(Some(&path)).unwrap_err().to_string(),
        format!(
            "{}: not UTF-8 text (first bad byte at offset 21); save it as UTF-8",
            path.display()
        )
    );
    let bytes_max = usize::try_from(dhan_scalper::config::CONFIG_BYTES_MAX).unwrap();
    std::fs::write(&path, "#".repeat(bytes_max + 1)).unwrap();
    assert!(matches!(
        Config::load(Some(&path)),
        Err(ConfigError::TooLarge { .. })
    ));
    // Exactly at the bound is read (and is all comment: the defaults).
    std::fs::write(&path, "#".repeat(bytes_max)).unwrap();
    assert_eq!(Config::load(Some(&path)).unwrap(), Config::builtin());
}

#[test]
fn credentials_come_from_the_environment_and_debug_hides_the_token() {
    let env = |name: &str| match name {
        "CLIENT_ID" => Some(OsString::from("1000123")),
        "ACCESS_TOKEN" => Some(OsString::from("eyJhbGciOi.secret.token")),
        _ => None,
    };
    let creds = Credentials::from_lookup(env).unwrap();
    assert!(creds.is_complete());
    assert_eq!(creds.client_id(), Some("1000123"));
    assert_eq!(creds.access_token(), Some("eyJhbGciOi.secret.token"));
    let shown = format!("{creds:?}");
    assert_eq!(
        shown,
        "Credentials { client_id: <set>, access_token: <set> }"
    );

    let none = Credentials::from_lookup(|_| None).unwrap();
    assert!(!none.is_complete());
    assert_eq!(none.access_token(), None);
    let empty = Credentials::from_lookup(|_| Some(OsString::new())).unwrap();
    assert_eq!(empty.client_id(), None);
}

#[cfg(unix)]
#[test]
fn a_credential_that_is_not_utf8_is_refused_without_showing_it() {
    use std::os::unix::ffi::OsStringExt;
    let e = Credentials::from_lookup(|name| {
        (name == "ACCESS_TOKEN").then(|| OsString::from_vec(vec![b's', 0xff]))
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment variable ACCESS_TOKEN: not valid UTF-8; set it to the value Dhan issued"
    );
}

#[test]
fn scheduler_realtime_priority_is_off_at_zero_a_fifo_priority_up_to_99() {
    let g = |yaml: &str| parse(yaml).unwrap().global.scheduler_realtime_priority;
    assert_eq!(g("global:\n  scheduler_realtime_priority: 0\n"), None);
    assert_eq!(g("global:\n  scheduler_realtime_priority: 1\n"), Some(1));
    assert_eq!(g("global:\n  scheduler_realtime_priority: 10\n"), Some(10));
    assert_eq!(g("global:\n  scheduler_realtime_priority: 99\n"), Some(99));
    assert_eq!(
        error_text("global:\n  scheduler_realtime_priority: 100\n"),
        "test.yml:2:32: global.scheduler_realtime_priority: must be a whole number from 0 to 99, got 100"
    );
    for bad in ["-1", "1.5", "high"] {
        assert_eq!(
            problems(&format!("global:\n  scheduler_realtime_priority: {bad}\n")),
            [format!(
                "global.scheduler_realtime_priority: must be a whole number from 0 to 99, got {bad}"
            )]
        );
    }
    // It reaches the scheduler's configuration, and `config check` prints it
    // (0 when off) so that the text parses back to an equal config.
    let on = parse("global:\n  scheduler_realtime_priority: 10\n").unwrap();
    assert_eq!(
        dhan_scalper::app::params::scheduler_config(&on, 3),
        dhan_scalper::scheduler::SchedulerConfig {
            workers_count: 3,
            realtime_priority: Some(10),
            dispatch_early: Duration::from_micros(500),
            ..Default::default()
        }
    );
    for config in [on, Config::builtin()] {
        let text = config.effective_yaml();
        let want = format!(
            "  scheduler_realtime_priority: {}\n",
            config.global.scheduler_realtime_priority.unwrap_or(0)
        );
        assert!(text.contains(&want), "{text}");
        assert_eq!(parse(&text).unwrap(), config);
    }
}

#[test]
fn scheduler_dispatch_early_is_0_to_500_microseconds_and_reaches_the_scheduler() {
    let g = |yaml: &str| parse(yaml).unwrap().global.scheduler_dispatch_early;
    assert_eq!(
        g("global:\n  scheduler_dispatch_early_us: 0\n"),
        Duration::ZERO
    );
    assert_eq!(
        g("global:\n  scheduler_dispatch_early_us: 200\n"),
        Duration::from_micros(200)
    );
    assert_eq!(
        error_text("global:\n  scheduler_dispatch_early_us: 501\n"),
        "test.yml:2:32: global.scheduler_dispatch_early_us: must be a whole number from 0 to 500, got 501"
    );
    for bad in ["-1", "2.5", "soon"] {
        assert_eq!(
            problems(&format!("global:\n  scheduler_dispatch_early_us: {bad}\n")),
            [format!(
                "global.scheduler_dispatch_early_us: must be a whole number from 0 to 500, got {bad}"
            )]
        );
    }
    let c = parse("global:\n  scheduler_dispatch_early_us: 123\n").unwrap();
    let sched = dhan_scalper::app::params::scheduler_config(&c, 1);
    assert_eq!(sched.dispatch_early, Duration::from_micros(123));
    // The largest value the config accepts is the scheduler's own limit.
    let max = parse("global:\n  scheduler_dispatch_early_us: 500\n").unwrap();
    assert_eq!(
        dhan_scalper::app::params::scheduler_config(&max, 1).dispatch_early,
        dhan_scalper::scheduler::DISPATCH_EARLY_MAX
    );
    let text = c.effective_yaml();
    assert!(
        text.contains("  scheduler_dispatch_early_us: 123\n"),
        "{text}"
    );
    assert_eq!(parse(&text).unwrap(), c);
}
