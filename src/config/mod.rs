//! Configuration: `config/scalper.yml`, read with serde-saphyr, validated into a
//! plain [`Config`].
//!
//! # Layers
//!
//! 1. The edge (`edge.rs`): serde types that mirror the YAML, deny unknown keys
//!    and keep every scalar as the text the user wrote, with its line and column.
//! 2. The overlay: a user file is laid over the built-in file key by key, so a
//!    file may hold only what it changes.
//! 3. Validation (`validate.rs`): every key is parsed and range-checked into the
//!    domain types below, and *every* problem is reported at once, each as
//!    `key.path: must be ..., got ...` with its line in the user's file.
//!
//! The built-in defaults are the shipped `config/scalper.yml`, compiled in with
//! `include_str!` and parsed by the same code, so the binary with no config file
//! behaves exactly like the shipped file ([`BUILTIN_YAML`]).
//!
//! The domain types derive no serde: [`Config::effective_yaml`] prints the
//! effective values as YAML by hand, and that text parses back to an equal
//! `Config`.
//!
//! Credentials are not configuration: [`Credentials::from_env`] reads them from
//! the environment, and their `Debug` never shows the token.

#![warn(missing_docs)]

mod credentials;
mod edge;
mod emit;
mod error;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use time::Weekday;

use crate::money::{Amount, Price};
use crate::scheduler::IstTime;
use crate::wallet::{ChargeRates, Limits, Segment, Symbol};

pub use credentials::{ACCESS_TOKEN_VAR, CLIENT_ID_VAR, CREDENTIAL_LEN_MAX_BYTES, Credentials};
pub use error::{ConfigError, Position, Problem};

/// The shipped `config/scalper.yml`: the built-in defaults.
pub const BUILTIN_YAML: &str = include_str!("../../config/scalper.yml");

/// The name the built-in file goes by in messages.
pub const BUILTIN_NAME: &str = "built-in config/scalper.yml";

/// A config file larger than this is refused unread (it is not a config file).
pub const CONFIG_BYTES_MAX: u64 = 1 << 20;

/// At most this many entries in `SYMBOLS`, in `symbols` and in `sim.indices`.
pub const SYMBOLS_COUNT_MAX: usize = 16;

/// The longest duration any `_sec` key accepts: one day.
pub const DURATION_SECS_MAX: u64 = 86_400;

/// The largest amount of rupees any money key accepts (one lakh crore).
pub const AMOUNT_RUPEES_MAX: i64 = 1_000_000_000_000;

/// The bound on `global.max_lots_per_trade`.
pub const LOTS_PER_TRADE_MAX: u64 = 1_000;

/// The bound on a symbol's `lot_size`.
pub const LOT_SIZE_MAX: u64 = 100_000;

/// The bound on `global.snapshot_every`.
pub const SNAPSHOT_EVERY_MAX: u64 = 1_000_000_000;

/// The bound on indicator periods in `strategy:`.
pub const INDICATOR_PERIOD_MAX: u64 = 1_000;

/// The bound on `sim.tick_rate_per_sec`.
pub const SIM_TICK_RATE_PER_SEC_MAX: u64 = 1_000;

/// The bound on `sim.strikes_each_side`.
pub const SIM_STRIKES_EACH_SIDE_MAX: u64 = 50;

/// The bound on `sim.bid_ask_spread_ticks`.
pub const SIM_SPREAD_TICKS_MAX: u64 = 100;

/// The market session opens at 09:15 IST.
pub const MARKET_OPEN: TimeOfDay = TimeOfDay {
    hour: 9,
    minute: 15,
};

/// The market session closes at 15:30 IST.
pub const MARKET_CLOSE: TimeOfDay = TimeOfDay {
    hour: 15,
    minute: 30,
};

const _: () = assert!(MARKET_OPEN.minutes_of_day() < MARKET_CLOSE.minutes_of_day());
const _: () = assert!(DURATION_SECS_MAX <= u64::MAX / 1_000_000_000);

/// A time of day in IST, to the minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    hour: u8,
    minute: u8,
}

impl TimeOfDay {
    /// `hour:minute` IST, or `None` if out of range.
    pub const fn new(hour: u8, minute: u8) -> Option<TimeOfDay> {
        if hour < 24 && minute < 60 {
            Some(TimeOfDay { hour, minute })
        } else {
            None
        }
    }

    /// 0..=23.
    pub const fn hour(self) -> u8 {
        self.hour
    }

    /// 0..=59.
    pub const fn minute(self) -> u8 {
        self.minute
    }

    /// Minutes since IST midnight.
    pub const fn minutes_of_day(self) -> u32 {
        self.hour as u32 * 60 + self.minute as u32
    }

    /// The scheduler's time of day (for `schedule_daily`).
    pub fn to_ist_time(self) -> Option<IstTime> {
        IstTime::new(u32::from(self.hour), u32::from(self.minute), 0)
    }
}

/// `HH:MM`.
impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// The hours in which entries are allowed, IST: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionHours {
    /// The first minute of the session.
    pub start: TimeOfDay,
    /// The first minute after it (later than `start`).
    pub end: TimeOfDay,
}

impl SessionHours {
    /// `start <= t < end`.
    pub fn contains(&self, t: TimeOfDay) -> bool {
        self.start <= t && t < self.end
    }
}

/// `HH:MM-HH:MM`.
impl fmt::Display for SessionHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// Where market data comes from (`global.feed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Feed {
    /// `sim`: the seeded simulation configured in `sim:`.
    Sim,
    /// `replay:FILE`: a CSV of recorded ticks (relative to the working directory).
    Replay(PathBuf),
}

/// `sim` or `replay:FILE`.
impl fmt::Display for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feed::Sim => f.write_str("sim"),
            Feed::Replay(path) => write!(f, "replay:{}", path.display()),
        }
    }
}

/// The durability mode (`global.fsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncMode {
    /// `always`: every batch is fdatasynced before anything in it is
    /// acknowledged (group commit). The only mode for now.
    Always,
}

impl FsyncMode {
    /// The config spelling: `always`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FsyncMode::Always => "always",
        }
    }
}

/// How often a symbol's options expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryCycle {
    /// Every `expiry_wday`.
    Weekly,
    /// The last `expiry_wday` of each month.
    Monthly,
}

impl ExpiryCycle {
    /// The config spelling: `weekly`, `monthly`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExpiryCycle::Weekly => "weekly",
            ExpiryCycle::Monthly => "monthly",
        }
    }
}

/// One index the bot can trade (`SYMBOLS.<name>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolSpec {
    /// `NIFTY`, `BANKNIFTY`, `SENSEX`, ...
    pub name: Symbol,
    /// Dhan's security id of the index.
    pub idx_sid: u64,
    /// The index quote's segment: always `IDX_I`.
    pub seg_idx: String,
    /// The segment its options trade on.
    pub seg_opt: Segment,
    /// Points between strikes.
    pub strike_step: Price,
    /// Units per lot.
    pub lot_size: u64,
    /// The weekday its options expire on.
    pub expiry_wday: Weekday,
    /// Weekly, or monthly (the last `expiry_wday` of the month).
    pub expiry_cycle: ExpiryCycle,
}

/// `global:`. Durations lose the unit suffix of their key (the type carries it):
/// `risk_loop_interval_sec` is `risk_loop_interval`. Every `_pct` is a fraction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// Entries only inside these hours (when `enforce_market_hours`).
    pub session_hours: SessionHours,
    /// No entries outside `session_hours` (false: whenever the feed ticks).
    pub enforce_market_hours: bool,
    /// Close every position at `square_off_time`.
    pub enable_square_off: bool,
    /// From this time every open position is closed and no entry is made;
    /// inside `session_hours`.
    pub square_off_time: TimeOfDay,

    /// The day's net PnL at which positions are closed and entries stop.
    pub min_profit_target: Amount,
    /// A daily loss limit on equity: flatten, then HALT (see
    /// [`Global::daily_loss_limit`]).
    pub max_day_loss: Amount,
    /// Fraction of available cash one entry may use, in (0, 1].
    pub allocation_pct: Decimal,
    /// Fraction added to the premium when sizing; fill slippage without depth.
    pub slippage_buffer_pct: Decimal,
    /// The most lots one entry may buy (1..=[`LOTS_PER_TRADE_MAX`]).
    pub max_lots_per_trade: u64,
    /// 1..=[`crate::wallet::POSITIONS_MAX`].
    pub max_positions: usize,
    /// Rupees, at most two decimals; options cheaper than this are not bought
    /// (0: no floor).
    pub min_premium_price: Decimal,

    /// Use `tp_pct`.
    pub enable_take_profit: bool,
    /// Take profit when `(ltp - avg) / avg > tp_pct`; in (0, 10].
    pub tp_pct: Decimal,
    /// Use `sl_pct`.
    pub enable_stop_loss: bool,
    /// Stop loss when `(avg - ltp) / avg > sl_pct`; in (0, 1).
    pub sl_pct: Decimal,
    /// Use `trail_pct`.
    pub enable_trailing_stop: bool,
    /// Once above entry, exit when `ltp < high x (1 - trail_pct)`; in (0, 1).
    pub trail_pct: Decimal,
    /// Use `time_stop`.
    pub enable_time_stop: bool,
    /// `time_stop_seconds`.
    pub time_stop: Duration,
    /// Check the daily loss limit at all.
    pub enable_daily_loss_limit: bool,
    /// The original's second daily loss key: the smaller of the two governs.
    pub max_daily_loss_rs: Amount,
    /// Use `cooldown_after_loss`.
    pub enable_cooldown: bool,
    /// `cooldown_after_loss_seconds`: entries wait this long after a losing exit.
    pub cooldown_after_loss: Duration,

    /// Confirm signals with the `secondary_timeframe`.
    pub use_multi_timeframe: bool,
    /// `secondary_timeframe` (written in minutes).
    pub secondary_timeframe: Duration,
    /// In [0, 1].
    pub min_signal_strength: Decimal,

    /// `decision_interval_sec`.
    pub decision_interval: Duration,
    /// `risk_loop_interval_sec`.
    pub risk_loop_interval: Duration,
    /// `log_status_every` (seconds).
    pub log_status_every: Duration,
    /// `market_data_interval_sec`.
    pub market_data_interval: Duration,
    /// `stale_after_sec`: longer than `market_data_interval`.
    pub stale_after: Duration,

    /// The data directory (relative to the working directory); the command
    /// line's `--data-dir` overrides it.
    pub data_dir: PathBuf,
    /// Where market data comes from.
    pub feed: Feed,
    /// The durability mode.
    pub fsync: FsyncMode,
    /// Log records between snapshots.
    pub snapshot_every: u64,
    /// 1..=[`crate::scheduler::WORKERS_COUNT_MAX`].
    pub worker_threads: usize,
    /// `scheduler_realtime_priority`: the scheduler threads' `SCHED_FIFO`
    /// priority, 1..=[`crate::scheduler::REALTIME_PRIORITY_MAX`]; `None` (written
    /// 0, the default) is normal priority.
    pub scheduler_realtime_priority: Option<u8>,
    /// `scheduler_dispatch_early_us`: how long before a deadline the timer
    /// loop hands a task to a worker, 0..=[`crate::scheduler::DISPATCH_EARLY_MAX`]
    /// (see [`crate::scheduler::SchedulerConfig::dispatch_early`]).
    pub scheduler_dispatch_early: Duration,
}

impl Global {
    /// The take-profit fraction, if enabled.
    pub fn take_profit(&self) -> Option<Decimal> {
        self.enable_take_profit.then_some(self.tp_pct)
    }

    /// The stop-loss fraction, if enabled.
    pub fn stop_loss(&self) -> Option<Decimal> {
        self.enable_stop_loss.then_some(self.sl_pct)
    }

    /// The trailing-stop fraction, if enabled.
    pub fn trailing_stop(&self) -> Option<Decimal> {
        self.enable_trailing_stop.then_some(self.trail_pct)
    }

    /// The time stop, if enabled.
    pub fn time_stop(&self) -> Option<Duration> {
        self.enable_time_stop.then_some(self.time_stop)
    }

    /// The cooldown after a losing exit, if enabled.
    pub fn cooldown(&self) -> Option<Duration> {
        self.enable_cooldown.then_some(self.cooldown_after_loss)
    }

    /// The square-off time, if enabled.
    pub fn square_off(&self) -> Option<TimeOfDay> {
        self.enable_square_off.then_some(self.square_off_time)
    }

    /// The daily loss limit, if enabled: the smaller of `max_day_loss` and
    /// `max_daily_loss_rs` (the original had both keys; the stricter governs).
    pub fn daily_loss_limit(&self) -> Option<Amount> {
        self.enable_daily_loss_limit
            .then(|| self.max_day_loss.min(self.max_daily_loss_rs))
    }
}

/// `paper:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paper {
    /// What a new paper wallet is funded with (an existing one keeps its balance).
    pub starting_balance: Amount,
}

/// `strategy:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrategyParams {
    /// `candle_interval_sec`: whole seconds.
    pub candle_interval: Duration,
    /// Candles of the Supertrend's ATR.
    pub supertrend_period: u32,
    /// ATR multiple of the Supertrend bands.
    pub supertrend_multiplier: Decimal,
    /// Candles of the fast EMA.
    pub ema_fast_period: u32,
    /// Longer than `ema_fast_period`.
    pub ema_slow_period: u32,
    /// Candles of the RSI.
    pub rsi_period: u32,
    /// In (0, 100), above `rsi_bearish_below`.
    pub rsi_bullish_above: Decimal,
    /// In (0, 100): an RSI below this counts as a downtrend.
    pub rsi_bearish_below: Decimal,
}

/// `sim.indices.<name>`: one index of the simulated feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimIndex {
    /// The index (a key of `SYMBOLS`).
    pub name: Symbol,
    /// The index value the walk starts from.
    pub start_spot: Price,
    /// Annualized volatility of the walk (fraction).
    pub annual_volatility_pct: Decimal,
    /// Implied volatility used to price its options (fraction).
    pub option_iv_pct: Decimal,
}

/// `sim:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimParams {
    /// The same seed gives the same prices.
    pub seed: u64,
    /// Ticks per second per instrument.
    pub tick_rate_per_sec: u32,
    /// Fraction.
    pub risk_free_rate_pct: Decimal,
    /// Strikes quoted on each side of the at-the-money one.
    pub strikes_each_side: u32,
    /// Bid-ask spread in ticks of Rs 0.05.
    pub bid_ask_spread_ticks: u32,
    /// One per traded symbol that has an entry (every one when the feed is `sim`),
    /// in the order of [`Config::symbols`].
    pub indices: Vec<SimIndex>,
}

impl SimParams {
    /// The simulation parameters of one index.
    pub fn index(&self, name: &str) -> Option<&SimIndex> {
        self.indices.iter().find(|i| i.name.as_str() == name)
    }
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The traded symbols, in the order of `symbols:` (at least one).
    pub symbols: Vec<SymbolSpec>,
    /// `global:`.
    pub global: Global,
    /// `paper:`.
    pub paper: Paper,
    /// `charges:`, with the brokerage from `global.charge_per_order`.
    pub charges: ChargeRates,
    /// `strategy:`.
    pub strategy: StrategyParams,
    /// `sim:`.
    pub sim: SimParams,
}

impl Config {
    /// The built-in defaults (the shipped `config/scalper.yml`).
    ///
    /// # Panics
    ///
    /// Only if the compiled-in file is invalid, which the tests rule out
    /// (`builtin_parses`); [`Config::load`]`(None)` returns that case as an error.
    pub fn builtin() -> Config {
        match Config::load(None) {
            Ok(config) => config,
            Err(e) => panic!("the built-in config/scalper.yml is invalid: {e}"),
        }
    }

    /// Loads the file at `path` laid over the built-in defaults, or the defaults
    /// alone for `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::from_overlay(edge::FileEdge::default(), None),
            Some(path) => Config::parse(&read_bounded(path)?, path),
        }
    }

    /// Parses `text` laid over the built-in defaults; `path` names the text in
    /// messages (it is not read).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::from_overlay(edge_from_str(text, Some(path))?, Some(path))
    }

    fn from_overlay(user: edge::FileEdge, path: Option<&Path>) -> Result<Config, ConfigError> {
        let mut merged = edge_from_str(BUILTIN_YAML, None)?;
        merged.overlay(user);
        validate::validate(&merged).map_err(|problems| ConfigError::Invalid {
            path: path.map(Path::to_path_buf),
            problems,
        })
    }

    /// Every effective value as YAML, for `config check`. Parsing the text back
    /// gives an equal `Config`.
    pub fn effective_yaml(&self) -> String {
        emit::effective_yaml(self)
    }

    /// The wallet's limits (`max_positions`).
    pub fn wallet_limits(&self) -> Limits {
        // `validate` bounds max_positions by POSITIONS_MAX, so `new` accepts it;
        // the fallback keeps this total.
        Limits::new(self.global.max_positions).unwrap_or_default()
    }

    /// The traded symbol called `name`.
    pub fn symbol(&self, name: &str) -> Option<&SymbolSpec> {
        self.symbols.iter().find(|s| s.name.as_str() == name)
    }
}

/// Reads a config file of at most [`CONFIG_BYTES_MAX`] bytes.
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(CONFIG_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > CONFIG_BYTES_MAX {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|e| ConfigError::NotUtf8 {
        path: path.to_path_buf(),
        byte_offset: e.utf8_error().valid_up_to(),
    })
}

/// Parses one YAML text into the edge types. An empty file (or one with only
/// comments) is an empty overlay.
fn edge_from_str(text: &str, path: Option<&Path>) -> Result<edge::FileEdge, ConfigError> {
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        return Ok(edge::FileEdge::default());
    }
    serde_saphyr::from_str::<Option<edge::FileEdge>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| error::from_yaml_error(&e, text, path))
}
