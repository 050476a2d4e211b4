//! From the merged edge types to [`Config`]: every key parsed, range-checked and
//! cross-checked, and every problem collected (none stops the others).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use time::Weekday;

use super::edge::{
    ChargesEdge, FileEdge, GlobalEdge, PaperEdge, SimEdge, SimIndexEdge, StrategyEdge, SymbolEdge,
    Val, ValList,
};
use super::error::{Position, Problem, edit_distance};
use super::{
    AMOUNT_RUPEES_MAX, Config, DURATION_SECS_MAX, ExpiryCycle, Feed, FsyncMode, Global,
    INDICATOR_PERIOD_MAX, LOT_SIZE_MAX, LOTS_PER_TRADE_MAX, MARKET_CLOSE, MARKET_OPEN, Paper,
    SIM_SPREAD_TICKS_MAX, SIM_STRIKES_EACH_SIDE_MAX, SIM_TICK_RATE_PER_SEC_MAX, SNAPSHOT_EVERY_MAX,
    SYMBOLS_COUNT_MAX, SessionHours, SimIndex, SimParams, StrategyParams, SymbolSpec, TimeOfDay,
};
use crate::money::{Amount, Price};
use crate::scheduler::{DISPATCH_EARLY_MAX, REALTIME_PRIORITY_MAX, WORKERS_COUNT_MAX};
use crate::wallet::{ChargeRates, POSITIONS_MAX, Segment, Symbol};

/// The most decimals a duration may have: nanoseconds.
const DURATION_SCALE_MAX: u32 = 9;

/// The largest price (index level, strike step, premium) accepted.
const PRICE_MAX: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// The largest volatility accepted (500 %).
const VOLATILITY_MAX: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

/// The longest candle (one hour) and secondary timeframe (one hour, in minutes).
const CANDLE_SECS_MAX: u64 = 3_600;
const SECONDARY_TIMEFRAME_MINUTES_MAX: u64 = 60;

/// Validates the merged file into a [`Config`], or returns every problem.
pub(crate) fn validate(edge: &FileEdge) -> Result<Config, Vec<Problem>> {
    let mut ck = Checker::default();
    let specs = symbol_specs(&mut ck, edge.symbol_specs.as_ref());
    let symbols = traded_symbols(&mut ck, edge.symbols.as_ref(), &specs);
    let global = global(
        &mut ck,
        edge.global.as_ref().unwrap_or(&GlobalEdge::default()),
    );
    let paper = paper(
        &mut ck,
        edge.paper.as_ref().unwrap_or(&PaperEdge::default()),
    );
    let charges = charges(
        &mut ck,
        edge.charges.as_ref().unwrap_or(&ChargesEdge::default()),
        global.as_ref().map(|(_, brokerage)| *brokerage),
    );
    let strategy = strategy(
        &mut ck,
        edge.strategy.as_ref().unwrap_or(&StrategyEdge::default()),
    );
    // From the text, so that the check runs even when other global keys fail.
    let feed_is_sim = edge
        .global
        .as_ref()
        .and_then(|g| g.feed.as_ref())
        .is_some_and(|v| v.text == "sim");
    // The listed names that SYMBOLS defines, even where their entries have
    // problems, so a missing sim entry is reported in the same run.
    let mut traded_names: Vec<&str> = Vec::new();
    for v in edge.symbols.iter().flat_map(|list| &list.items) {
        if specs.contains_key(&v.text) && !traded_names.contains(&v.text.as_str()) {
            traded_names.push(&v.text);
        }
    }
    let sim = sim(
        &mut ck,
        edge.sim.as_ref().unwrap_or(&SimEdge::default()),
        &traded_names,
        feed_is_sim,
    );
    let config = (|| {
        Some(Config {
            symbols: symbols?,
            global: global?.0,
            paper: paper?,
            charges: charges?,
            strategy: strategy?,
            sim: sim?,
        })
    })();
    match (config, ck.problems.is_empty()) {
        (Some(config), true) => Ok(config),
        (None, true) => Err(vec![Problem {
            path: "(config)".to_owned(),
            message: "incomplete, with no problem reported; please report this bug".to_owned(),
            position: None,
        }]),
        (_, false) => {
            let mut problems = ck.problems;
            // Problems in the user's file first, in file order; then those about
            // built-in or missing values (stable: in section order).
            problems.sort_by_key(|p| p.position.map_or((1, 0, 0), |p| (0, p.line, p.column)));
            Err(problems)
        }
    }
}

/// A value as shown in a message: as written when it is plain, else quoted.
fn shown(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".+-:_/".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}

/// Parses a number exactly: `0.35`, `-1`, `1e3`.
fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let d = Decimal::from_str(t)
        .ok()
        .or_else(|| Decimal::from_scientific(t).ok())?;
    Some(d.normalize())
}

/// A lower bound of a number range.
#[derive(Clone, Copy)]
enum Lo {
    /// `> x`
    Gt(Decimal),
    /// `>= x`
    Ge(Decimal),
}

/// An upper bound of a number range.
#[derive(Clone, Copy)]
enum Hi {
    /// `< x`
    Lt(Decimal),
    /// `<= x`
    Le(Decimal),
}

impl Lo {
    fn holds(self, d: Decimal) -> bool {
        match self {
            Lo::Gt(x) => d > x,
            Lo::Ge(x) => d >= x,
        }
    }
    fn text(self) -> String {
        match self {
            Lo::Gt(x) => format!("> {x}"),
            Lo::Ge(x) => format!(">= {x}"),
        }
    }
}

impl Hi {
    fn holds(self, d: Decimal) -> bool {
        match self {
            Hi::Lt(x) => d < x,
            Hi::Le(x) => d <= x,
        }
    }
    fn text(self) -> String {
        match self {
            Hi::Lt(x) => format!("< {x}"),
            Hi::Le(x) => format!("<= {x}"),
        }
    }
}

fn range_text(lo: Lo, hi: Hi) -> String {
    format!("{} and {}", lo.text(), hi.text())
}

const ZERO: Decimal = Decimal::ZERO;
const ONE: Decimal = Decimal::ONE;

/// Collects problems; each check returns `None` after reporting one.
#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn report(&mut self, path: &str, position: Option<Position>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message: message.into(),
            position,
        });
    }

    fn bad(&mut self, path: &str, v: &Val, must: impl std::fmt::Display) {
        self.report(
            path,
            v.at,
            format!("must be {must}, got {}", shown(&v.text)),
        );
    }

    /// The value, or a "missing" problem.
    fn val<'a>(&mut self, v: &'a Option<Val>, path: &str) -> Option<&'a Val> {
        if v.is_none() {
            self.report(
                path,
                None,
                "missing; it has no built-in default here, so add it",
            );
        }
        v.as_ref()
    }

    /// A number in `lo .. hi`.
    fn decimal(&mut self, v: &Option<Val>, path: &str, lo: Lo, hi: Hi) -> Option<Decimal> {
        let v = self.val(v, path)?;
        let Some(d) = parse_decimal(&v.text) else {
            self.bad(path, v, format_args!("a number {}", range_text(lo, hi)));
            return None;
        };
        if !(lo.holds(d) && hi.holds(d)) {
            self.bad(path, v, range_text(lo, hi));
            return None;
        }
        Some(d)
    }

    /// A fraction in `lo .. hi` (the `_pct` keys).
    fn pct(&mut self, v: &Option<Val>, path: &str, lo: Lo, hi: Hi) -> Option<Decimal> {
        self.decimal(v, path, lo, hi)
    }

    /// A whole number in `lo..=hi`.
    fn whole(&mut self, v: &Option<Val>, path: &str, lo: u64, hi: u64) -> Option<u64> {
        let v = self.val(v, path)?;
        let n = parse_decimal(&v.text)
            .filter(|d| d.fract().is_zero())
            .and_then(|d| u64::from_str(&d.trunc().to_string()).ok())
            .filter(|n| (lo..=hi).contains(n));
        if n.is_none() {
            if hi == u64::MAX {
                self.bad(path, v, format_args!("a whole number >= {lo}"));
            } else {
                self.bad(path, v, format_args!("a whole number from {lo} to {hi}"));
            }
        }
        n
    }

    /// A whole number in `lo..=hi` that fits a `u32`.
    fn whole_u32(&mut self, v: &Option<Val>, path: &str, lo: u32, hi: u32) -> Option<u32> {
        self.whole(v, path, u64::from(lo), u64::from(hi))
            .and_then(|n| u32::try_from(n).ok())
    }

    /// A positive duration in seconds, fractions allowed.
    fn seconds(&mut self, v: &Option<Val>, path: &str) -> Option<Duration> {
        let v = self.val(v, path)?;
        let Some(d) = parse_decimal(&v.text) else {
            self.bad(path, v, "a number of seconds > 0");
            return None;
        };
        if d <= ZERO {
            self.bad(path, v, "> 0");
            return None;
        }
        if d > Decimal::from(DURATION_SECS_MAX) {
            self.bad(
                path,
                v,
                format_args!("at most {DURATION_SECS_MAX} (one day)"),
            );
            return None;
        }
        if d.scale() > DURATION_SCALE_MAX {
            self.bad(
                path,
                v,
                format_args!("a number with at most {DURATION_SCALE_MAX} decimals (nanoseconds)"),
            );
            return None;
        }
        let whole = u64::from_str(&d.trunc().to_string()).ok()?;
        let nanos = (d.fract() * Decimal::from(1_000_000_000u32)).trunc();
        let nanos = u32::from_str(&nanos.to_string()).ok()?;
        Some(Duration::new(whole, nanos))
    }

    /// Rupees, whole paise, `lo` and at most [`AMOUNT_RUPEES_MAX`].
    fn amount(&mut self, v: &Option<Val>, path: &str, lo: Lo) -> Option<Amount> {
        let hi = Hi::Le(Decimal::from(AMOUNT_RUPEES_MAX));
        let d = self.decimal(v, path, lo, hi)?;
        match Amount::from_decimal(d) {
            Ok(a) => Some(a),
            Err(_) => {
                let v = v.as_ref()?;
                self.bad(path, v, "rupees with at most two decimals (whole paise)");
                None
            }
        }
    }

    /// A positive price on the 0.05 tick.
    fn price(&mut self, v: &Option<Val>, path: &str) -> Option<Price> {
        let d = self.decimal(v, path, Lo::Gt(ZERO), Hi::Le(PRICE_MAX))?;
        match Price::from_decimal(d) {
            Ok(p) => Some(p),
            Err(_) => {
                let v = v.as_ref()?;
                self.bad(path, v, "a multiple of 0.05 (the price tick)");
                None
            }
        }
    }

    fn flag(&mut self, v: &Option<Val>, path: &str) -> Option<bool> {
        let v = self.val(v, path)?;
        match v.text.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => {
                self.bad(path, v, "true or false");
                None
            }
        }
    }

    /// One of `choices` (exact spelling).
    fn word<'c>(&mut self, v: &Option<Val>, path: &str, choices: &[&'c str]) -> Option<&'c str> {
        let v = self.val(v, path)?;
        let found = choices.iter().find(|c| **c == v.text).copied();
        if found.is_none() {
            self.bad(path, v, format_args!("one of {}", choices.join(", ")));
        }
        found
    }

    fn time_of_day(&mut self, v: &Option<Val>, path: &str) -> Option<TimeOfDay> {
        let v = self.val(v, path)?;
        let t = parse_time(&v.text);
        if t.is_none() {
            self.bad(path, v, "a time of day \"HH:MM\" (IST)");
        }
        t
    }

    fn session(&mut self, v: &Option<Val>, path: &str) -> Option<SessionHours> {
        let v = self.val(v, path)?;
        let parsed = v.text.split_once('-').and_then(|(a, b)| {
            Some(SessionHours {
                start: parse_time(a)?,
                end: parse_time(b)?,
            })
        });
        let Some(s) = parsed else {
            self.bad(path, v, "\"HH:MM-HH:MM\" (IST)");
            return None;
        };
        if s.start >= s.end {
            self.bad(path, v, "a start before the end");
            return None;
        }
        if s.start < MARKET_OPEN || s.end > MARKET_CLOSE {
            self.bad(
                path,
                v,
                format_args!("inside the market session {MARKET_OPEN}-{MARKET_CLOSE}"),
            );
            return None;
        }
        Some(s)
    }

    fn weekday(&mut self, v: &Option<Val>, path: &str) -> Option<Weekday> {
        let v = self.val(v, path)?;
        let day = parse_weekday(&v.text);
        if day.is_none() {
            self.bad(
                path,
                v,
                "a weekday: 0 (Sunday) to 6 (Saturday), or a name such as Tuesday",
            );
        }
        day
    }

    /// A map key that names a symbol.
    fn symbol_name(&mut self, name: &str, path: &str) -> Option<Symbol> {
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        match Symbol::new(name) {
            Ok(s) if ok => Some(s),
            _ => {
                self.report(
                    path,
                    None,
                    format!(
                        "must be a name of capital letters, digits and _ (at most {} bytes), got {}",
                        crate::wallet::SYMBOL_LEN_MAX_BYTES,
                        shown(name)
                    ),
                );
                None
            }
        }
    }
}

/// `HH:MM` (or `H:MM`).
fn parse_time(text: &str) -> Option<TimeOfDay> {
    let (h, m) = text.trim().split_once(':')?;
    let digits = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u8>().ok())
            .flatten()
    };
    if m.len() != 2 {
        return None;
    }
    TimeOfDay::new(digits(h, 2)?, digits(m, 2)?)
}

/// `0`..`6` (0 = Sunday, as Ruby's `wday`), or an English name (`Tuesday`,
/// `tue`), any case.
pub(crate) fn parse_weekday(text: &str) -> Option<Weekday> {
    const DAYS: [Weekday; 7] = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];
    let t = text.trim();
    if let Ok(n) = t.parse::<usize>() {
        return DAYS.get(n).copied();
    }
    let lower = t.to_ascii_lowercase();
    DAYS.into_iter().find(|d| {
        let name = d.to_string().to_ascii_lowercase();
        lower == name || (lower.len() == 3 && name.starts_with(&lower))
    })
}

/// Ruby's `wday` of a weekday (0 = Sunday).
pub(crate) fn wday_number(d: Weekday) -> u8 {
    d.number_days_from_sunday()
}

fn global(ck: &mut Checker, g: &GlobalEdge) -> Option<(Global, Amount)> {
    let p = |k: &str| format!("global.{k}");
    let session_hours = ck.session(&g.session_hours, &p("session_hours"));
    let enforce_market_hours = ck.flag(&g.enforce_market_hours, &p("enforce_market_hours"));
    let enable_square_off = ck.flag(&g.enable_square_off, &p("enable_square_off"));
    let mut square_off_time = ck.time_of_day(&g.square_off_time, &p("square_off_time"));
    if let (Some(s), Some(t), Some(v)) = (session_hours, square_off_time, &g.square_off_time)
        && !(s.start < t && t <= s.end)
    {
        ck.bad(
            &p("square_off_time"),
            v,
            format_args!("after the start and not after the end of session_hours {s}"),
        );
        square_off_time = None;
    }

    let min_profit_target = ck.amount(&g.min_profit_target, &p("min_profit_target"), Lo::Gt(ZERO));
    let max_day_loss = ck.amount(&g.max_day_loss, &p("max_day_loss"), Lo::Gt(ZERO));
    let charge_per_order = ck.amount(&g.charge_per_order, &p("charge_per_order"), Lo::Ge(ZERO));
    let allocation_pct = ck.pct(
        &g.allocation_pct,
        &p("allocation_pct"),
        Lo::Gt(ZERO),
        Hi::Le(ONE),
    );
    let slippage_buffer_pct = ck.pct(
        &g.slippage_buffer_pct,
        &p("slippage_buffer_pct"),
        Lo::Ge(ZERO),
        Hi::Lt(ONE),
    );
    let max_lots_per_trade = ck.whole(
        &g.max_lots_per_trade,
        &p("max_lots_per_trade"),
        1,
        LOTS_PER_TRADE_MAX,
    );
    let max_positions = ck
        .whole(
            &g.max_positions,
            &p("max_positions"),
            1,
            POSITIONS_MAX as u64,
        )
        .and_then(|n| usize::try_from(n).ok());
    let min_premium_price = ck
        .amount(&g.min_premium_price, &p("min_premium_price"), Lo::Ge(ZERO))
        .map(Amount::to_decimal)
        .map(|d| d.normalize());

    let ten = Decimal::TEN;
    let enable_take_profit = ck.flag(&g.enable_take_profit, &p("enable_take_profit"));
    let tp_pct = ck.pct(&g.tp_pct, &p("tp_pct"), Lo::Gt(ZERO), Hi::Le(ten));
    let enable_stop_loss = ck.flag(&g.enable_stop_loss, &p("enable_stop_loss"));
    let sl_pct = ck.pct(&g.sl_pct, &p("sl_pct"), Lo::Gt(ZERO), Hi::Lt(ONE));
    let enable_trailing_stop = ck.flag(&g.enable_trailing_stop, &p("enable_trailing_stop"));
    let trail_pct = ck.pct(&g.trail_pct, &p("trail_pct"), Lo::Gt(ZERO), Hi::Lt(ONE));
    let enable_time_stop = ck.flag(&g.enable_time_stop, &p("enable_time_stop"));
    let time_stop = ck.seconds(&g.time_stop_seconds, &p("time_stop_seconds"));
    let enable_daily_loss_limit =
        ck.flag(&g.enable_daily_loss_limit, &p("enable_daily_loss_limit"));
    let max_daily_loss_rs = ck.amount(&g.max_daily_loss_rs, &p("max_daily_loss_rs"), Lo::Gt(ZERO));
    let enable_cooldown = ck.flag(&g.enable_cooldown, &p("enable_cooldown"));
    let cooldown_after_loss = ck.seconds(
        &g.cooldown_after_loss_seconds,
        &p("cooldown_after_loss_seconds"),
    );

    let use_multi_timeframe = ck.flag(&g.use_multi_timeframe, &p("use_multi_timeframe"));
    let secondary_timeframe = ck
        .whole(
            &g.secondary_timeframe,
            &p("secondary_timeframe"),
            1,
            SECONDARY_TIMEFRAME_MINUTES_MAX,
        )
        .map(|minutes| Duration::from_secs(minutes * 60));
    let min_signal_strength = ck.decimal(
        &g.min_signal_strength,
        &p("min_signal_strength"),
        Lo::Ge(ZERO),
        Hi::Le(ONE),
    );

    let decision_interval = ck.seconds(&g.decision_interval_sec, &p("decision_interval_sec"));
    let risk_loop_interval = ck.seconds(&g.risk_loop_interval_sec, &p("risk_loop_interval_sec"));
    let log_status_every = ck.seconds(&g.log_status_every, &p("log_status_every"));
    let market_data_interval =
        ck.seconds(&g.market_data_interval_sec, &p("market_data_interval_sec"));
    let mut stale_after = ck.seconds(&g.stale_after_sec, &p("stale_after_sec"));
    if let (Some(md), Some(st), Some(v)) = (market_data_interval, stale_after, &g.stale_after_sec)
        && st <= md
    {
        ck.bad(
            &p("stale_after_sec"),
            v,
            format_args!(
                "longer than market_data_interval_sec ({})",
                super::emit::seconds_text(md)
            ),
        );
        stale_after = None;
    }

    let data_dir = ck.val(&g.data_dir, &p("data_dir")).and_then(|v| {
        if v.text.trim().is_empty() {
            ck.bad(&p("data_dir"), v, "a directory path");
            None
        } else {
            Some(PathBuf::from(&v.text))
        }
    });
    let feed = ck
        .val(&g.feed, &p("feed"))
        .and_then(|v| match v.text.as_str() {
            "sim" => Some(Feed::Sim),
            t => match t.strip_prefix("replay:") {
                Some(file) if !file.trim().is_empty() => Some(Feed::Replay(PathBuf::from(file))),
                _ => {
                    let hint = if t == "dhan" {
                        " (the live Dhan feed is not built yet)"
                    } else {
                        ""
                    };
                    ck.bad(&p("feed"), v, format_args!("sim or replay:FILE{hint}"));
                    None
                }
            },
        });
    let fsync = ck.val(&g.fsync, &p("fsync")).and_then(|v| {
        if v.text == FsyncMode::Always.as_str() {
            Some(FsyncMode::Always)
        } else {
            ck.bad(&p("fsync"), v, "always (the only mode for now)");
            None
        }
    });
    let snapshot_every = ck.whole(
        &g.snapshot_every,
        &p("snapshot_every"),
        1,
        SNAPSHOT_EVERY_MAX,
    );
    let worker_threads = ck
        .whole(
            &g.worker_threads,
            &p("worker_threads"),
            1,
            WORKERS_COUNT_MAX as u64,
        )
        .and_then(|n| usize::try_from(n).ok());
    // 0 is off; 1..=99 a SCHED_FIFO priority.
    let scheduler_realtime_priority = ck
        .whole(
            &g.scheduler_realtime_priority,
            &p("scheduler_realtime_priority"),
            0,
            u64::from(REALTIME_PRIORITY_MAX),
        )
        .and_then(|n| u8::try_from(n).ok())
        .map(|n| (n > 0).then_some(n));
    // Microseconds; the scheduler refuses more than DISPATCH_EARLY_MAX.
    let scheduler_dispatch_early = ck
        .whole(
            &g.scheduler_dispatch_early_us,
            &p("scheduler_dispatch_early_us"),
            0,
            u64::try_from(DISPATCH_EARLY_MAX.as_micros()).unwrap_or(u64::MAX),
        )
        .map(Duration::from_micros);

    Some((
        Global {
            session_hours: session_hours?,
            enforce_market_hours: enforce_market_hours?,
            enable_square_off: enable_square_off?,
            square_off_time: square_off_time?,
            min_profit_target: min_profit_target?,
            max_day_loss: max_day_loss?,
            allocation_pct: allocation_pct?,
            slippage_buffer_pct: slippage_buffer_pct?,
            max_lots_per_trade: max_lots_per_trade?,
            max_positions: max_positions?,
            min_premium_price: min_premium_price?,
            enable_take_profit: enable_take_profit?,
            tp_pct: tp_pct?,
            enable_stop_loss: enable_stop_loss?,
            sl_pct: sl_pct?,
            enable_trailing_stop: enable_trailing_stop?,
            trail_pct: trail_pct?,
            enable_time_stop: enable_time_stop?,
            time_stop: time_stop?,
            enable_daily_loss_limit: enable_daily_loss_limit?,
            max_daily_loss_rs: max_daily_loss_rs?,
            enable_cooldown: enable_cooldown?,
            cooldown_after_loss: cooldown_after_loss?,
            use_multi_timeframe: use_multi_timeframe?,
            secondary_timeframe: secondary_timeframe?,
            min_signal_strength: min_signal_strength?,
            decision_interval: decision_interval?,
            risk_loop_interval: risk_loop_interval?,
            log_status_every: log_status_every?,
            market_data_interval: market_data_interval?,
            stale_after: stale_after?,
            data_dir: data_dir?,
            feed: feed?,
            fsync: fsync?,
            snapshot_every: snapshot_every?,
            worker_threads: worker_threads?,
            scheduler_realtime_priority: scheduler_realtime_priority?,
            scheduler_dispatch_early: scheduler_dispatch_early?,
        },
        charge_per_order?,
    ))
}

fn paper(ck: &mut Checker, e: &PaperEdge) -> Option<Paper> {
    Some(Paper {
        starting_balance: ck.amount(&e.starting_balance, "paper.starting_balance", Lo::Gt(ZERO))?,
    })
}

fn charges(ck: &mut Checker, e: &ChargesEdge, brokerage: Option<Amount>) -> Option<ChargeRates> {
    let p = |k: &str| format!("charges.{k}");
    let mut rate = |v: &Option<Val>, k: &str| ck.pct(v, &p(k), Lo::Ge(ZERO), Hi::Lt(ONE));
    let stt_sell_rate = rate(&e.stt_sell_pct, "stt_sell_pct");
    let exchange_txn_nse_rate = rate(&e.exchange_txn_nse_pct, "exchange_txn_nse_pct");
    let exchange_txn_bse_rate = rate(&e.exchange_txn_bse_pct, "exchange_txn_bse_pct");
    let stamp_duty_buy_rate = rate(&e.stamp_duty_buy_pct, "stamp_duty_buy_pct");
    let gst_rate = rate(&e.gst_pct, "gst_pct");
    let sebi_fee_per_crore = ck.amount(
        &e.sebi_fee_per_crore,
        &p("sebi_fee_per_crore"),
        Lo::Ge(ZERO),
    );
    Some(ChargeRates {
        brokerage_per_order: brokerage?,
        stt_sell_rate: stt_sell_rate?,
        exchange_txn_nse_rate: exchange_txn_nse_rate?,
        exchange_txn_bse_rate: exchange_txn_bse_rate?,
        sebi_fee_per_crore: sebi_fee_per_crore?,
        stamp_duty_buy_rate: stamp_duty_buy_rate?,
        gst_rate: gst_rate?,
    })
}

fn strategy(ck: &mut Checker, e: &StrategyEdge) -> Option<StrategyParams> {
    let p = |k: &str| format!("strategy.{k}");
    let period_max = u32::try_from(INDICATOR_PERIOD_MAX).unwrap_or(u32::MAX);
    let candle_interval = ck
        .whole(
            &e.candle_interval_sec,
            &p("candle_interval_sec"),
            1,
            CANDLE_SECS_MAX,
        )
        .map(Duration::from_secs);
    let supertrend_period =
        ck.whole_u32(&e.supertrend_period, &p("supertrend_period"), 1, period_max);
    let supertrend_multiplier = ck.decimal(
        &e.supertrend_multiplier,
        &p("supertrend_multiplier"),
        Lo::Gt(ZERO),
        Hi::Le(Decimal::ONE_HUNDRED),
    );
    let ema_fast_period = ck.whole_u32(&e.ema_fast_period, &p("ema_fast_period"), 1, period_max);
    let mut ema_slow_period =
        ck.whole_u32(&e.ema_slow_period, &p("ema_slow_period"), 1, period_max);
    if let (Some(fast), Some(slow), Some(v)) =
        (ema_fast_period, ema_slow_period, &e.ema_slow_period)
        && slow <= fast
    {
        ck.bad(
            &p("ema_slow_period"),
            v,
            format_args!("longer than ema_fast_period ({fast})"),
        );
        ema_slow_period = None;
    }
    let rsi_period = ck.whole_u32(&e.rsi_period, &p("rsi_period"), 1, period_max);
    let hundred = Decimal::ONE_HUNDRED;
    let rsi_bullish_above = ck.decimal(
        &e.rsi_bullish_above,
        &p("rsi_bullish_above"),
        Lo::Gt(ZERO),
        Hi::Lt(hundred),
    );
    let mut rsi_bearish_below = ck.decimal(
        &e.rsi_bearish_below,
        &p("rsi_bearish_below"),
        Lo::Gt(ZERO),
        Hi::Lt(hundred),
    );
    if let (Some(up), Some(down), Some(v)) =
        (rsi_bullish_above, rsi_bearish_below, &e.rsi_bearish_below)
        && down >= up
    {
        ck.bad(
            &p("rsi_bearish_below"),
            v,
            format_args!("below rsi_bullish_above ({up})"),
        );
        rsi_bearish_below = None;
    }
    Some(StrategyParams {
        candle_interval: candle_interval?,
        supertrend_period: supertrend_period?,
        supertrend_multiplier: supertrend_multiplier?,
        ema_fast_period: ema_fast_period?,
        ema_slow_period: ema_slow_period?,
        rsi_period: rsi_period?,
        rsi_bullish_above: rsi_bullish_above?,
        rsi_bearish_below: rsi_bearish_below?,
    })
}

fn sim(ck: &mut Checker, e: &SimEdge, traded: &[&str], feed_is_sim: bool) -> Option<SimParams> {
    let p = |k: &str| format!("sim.{k}");
    let seed = ck.whole(&e.seed, &p("seed"), 0, u64::MAX);
    let tick_rate_per_sec = ck.whole_u32(
        &e.tick_rate_per_sec,
        &p("tick_rate_per_sec"),
        1,
        u32::try_from(SIM_TICK_RATE_PER_SEC_MAX).unwrap_or(u32::MAX),
    );
    let risk_free_rate_pct = ck.pct(
        &e.risk_free_rate_pct,
        &p("risk_free_rate_pct"),
        Lo::Ge(ZERO),
        Hi::Lt(ONE),
    );
    let strikes_each_side = ck.whole_u32(
        &e.strikes_each_side,
        &p("strikes_each_side"),
        1,
        u32::try_from(SIM_STRIKES_EACH_SIDE_MAX).unwrap_or(u32::MAX),
    );
    let bid_ask_spread_ticks = ck.whole_u32(
        &e.bid_ask_spread_ticks,
        &p("bid_ask_spread_ticks"),
        1,
        u32::try_from(SIM_SPREAD_TICKS_MAX).unwrap_or(u32::MAX),
    );

    let empty = BTreeMap::new();
    let entries = e.indices.as_ref().unwrap_or(&empty);
    let mut all_ok = true;
    if entries.len() > SYMBOLS_COUNT_MAX {
        ck.report(
            "sim.indices",
            None,
            format!(
                "must have at most {SYMBOLS_COUNT_MAX} entries, got {}",
                entries.len()
            ),
        );
        all_ok = false;
    }
    let mut indices = BTreeMap::new();
    for (name, entry) in entries {
        match sim_index(ck, name, entry) {
            Some(index) => {
                indices.insert(name.as_str(), index);
            }
            None => all_ok = false,
        }
    }
    // Keep the traded symbols' entries, in trading order.
    let mut kept = Vec::new();
    for &name in traded {
        match indices.get(name) {
            Some(index) => kept.push(index.clone()),
            None if feed_is_sim && !entries.contains_key(name) => {
                ck.report(
                    &format!("sim.indices.{name}"),
                    None,
                    "missing; the sim feed needs start_spot, annual_volatility_pct and option_iv_pct for every traded symbol",
                );
                all_ok = false;
            }
            None => {}
        }
    }
    all_ok.then_some(())?;
    Some(SimParams {
        seed: seed?,
        tick_rate_per_sec: tick_rate_per_sec?,
        risk_free_rate_pct: risk_free_rate_pct?,
        strikes_each_side: strikes_each_side?,
        bid_ask_spread_ticks: bid_ask_spread_ticks?,
        indices: kept,
    })
}

fn sim_index(ck: &mut Checker, name: &str, e: &SimIndexEdge) -> Option<SimIndex> {
    let base = format!("sim.indices.{}", name.escape_debug());
    let p = |k: &str| format!("{base}.{k}");
    let symbol = ck.symbol_name(name, &base);
    let start_spot = ck.price(&e.start_spot, &p("start_spot"));
    let vol = Hi::Le(VOLATILITY_MAX);
    let annual_volatility_pct = ck.pct(
        &e.annual_volatility_pct,
        &p("annual_volatility_pct"),
        Lo::Gt(ZERO),
        vol,
    );
    let option_iv_pct = ck.pct(&e.option_iv_pct, &p("option_iv_pct"), Lo::Gt(ZERO), vol);
    Some(SimIndex {
        name: symbol?,
        start_spot: start_spot?,
        annual_volatility_pct: annual_volatility_pct?,
        option_iv_pct: option_iv_pct?,
    })
}

/// Every `SYMBOLS` entry, validated (also those not traded, so typos in them
/// show). A name maps to `None` when its entry has problems.
fn symbol_specs(
    ck: &mut Checker,
    map: Option<&BTreeMap<String, SymbolEdge>>,
) -> BTreeMap<String, Option<SymbolSpec>> {
    let empty = BTreeMap::new();
    let map = map.unwrap_or(&empty);
    if map.len() > SYMBOLS_COUNT_MAX {
        ck.report(
            "SYMBOLS",
            None,
            format!(
                "must have at most {SYMBOLS_COUNT_MAX} entries, got {}",
                map.len()
            ),
        );
    }
    map.iter()
        .map(|(name, e)| (name.clone(), symbol_spec(ck, name, e)))
        .collect()
}

fn symbol_spec(ck: &mut Checker, name: &str, e: &SymbolEdge) -> Option<SymbolSpec> {
    let base = format!("SYMBOLS.{}", name.escape_debug());
    let p = |k: &str| format!("{base}.{k}");
    let symbol = ck.symbol_name(name, &base);
    let idx_sid = ck.whole(&e.idx_sid, &p("idx_sid"), 1, u64::from(u32::MAX));
    let seg_idx = ck.word(&e.seg_idx, &p("seg_idx"), &["IDX_I"]);
    let seg_opt = ck
        .word(&e.seg_opt, &p("seg_opt"), &["NSE_FNO", "BSE_FNO"])
        .and_then(|s| Segment::from_str(s).ok());
    let strike_step = ck.price(&e.strike_step, &p("strike_step"));
    let lot_size = ck.whole(&e.lot_size, &p("lot_size"), 1, LOT_SIZE_MAX);
    let expiry_wday = ck.weekday(&e.expiry_wday, &p("expiry_wday"));
    let expiry_cycle = ck
        .word(&e.expiry_cycle, &p("expiry_cycle"), &["weekly", "monthly"])
        .map(|w| {
            if w == "weekly" {
                ExpiryCycle::Weekly
            } else {
                ExpiryCycle::Monthly
            }
        });
    Some(SymbolSpec {
        name: symbol?,
        idx_sid: idx_sid?,
        seg_idx: seg_idx?.to_owned(),
        seg_opt: seg_opt?,
        strike_step: strike_step?,
        lot_size: lot_size?,
        expiry_wday: expiry_wday?,
        expiry_cycle: expiry_cycle?,
    })
}

/// The `symbols` list, resolved against `SYMBOLS`.
fn traded_symbols(
    ck: &mut Checker,
    list: Option<&ValList>,
    specs: &BTreeMap<String, Option<SymbolSpec>>,
) -> Option<Vec<SymbolSpec>> {
    let Some(list) = list else {
        ck.report(
            "symbols",
            None,
            "missing; list the symbols to trade, e.g. [NIFTY]",
        );
        return None;
    };
    if list.items.is_empty() {
        ck.report("symbols", list.at, "must list at least one symbol, got []");
        return None;
    }
    if list.items.len() > SYMBOLS_COUNT_MAX {
        ck.report(
            "symbols",
            list.at,
            format!(
                "must list at most {SYMBOLS_COUNT_MAX} symbols, got {}",
                list.items.len()
            ),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut ok = true;
    for (i, v) in list.items.iter().enumerate() {
        let path = format!("symbols[{i}]");
        if !seen.insert(v.text.as_str()) {
            ck.report(&path, v.at, format!("{} is listed twice", shown(&v.text)));
            ok = false;
            continue;
        }
        match specs.get(&v.text) {
            Some(Some(spec)) => out.push(spec.clone()),
            // Its entry has problems of its own, already reported.
            Some(None) => ok = false,
            None => {
                let close = specs
                    .keys()
                    .filter(|k| k.eq_ignore_ascii_case(&v.text) || edit_distance(k, &v.text) <= 2)
                    .min_by_key(|k| edit_distance(k, &v.text));
                let hint = match close {
                    Some(k) => format!("did you mean {k}?"),
                    None => format!(
                        "the known ones are {}",
                        specs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                ck.report(
                    &path,
                    v.at,
                    format!(
                        "must be a symbol defined under SYMBOLS, got {}; {hint}",
                        shown(&v.text)
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}
