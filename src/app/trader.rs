//! The trading core: what each scheduled task does. One `Trader` is shared by
//! the tasks (`Arc`); its parts are either lock-free (the engine, the market
//! book) or behind their own small mutex, taken one at a time (never nested).
//!
//! Task bodies (names as the scheduler shows them):
//! - `market-data:SYM`: pumps the shared feed up to now (every tick to the LTP
//!   cache, the option chain and the recorder), then feeds SYM's index ticks to
//!   its 1- and 5-minute candles and closed candles to its signal engine;
//! - `trading`: for each symbol with a signal, exits a position of the other
//!   direction and, if entries are allowed, buys the ATM option;
//! - `risk`: day roll, daily loss limit, exits and high-water marks;
//! - `status`: one log line; `checkpoint`: a snapshot every `snapshot_every`
//!   records.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::exec::{ExecError, Executor, Filled, lock};
use super::session::SessionBook;
use crate::broker::{self, OrderRequest};
use crate::config::Config;
use crate::engine::Stores;
use crate::market::{
    CandleBuilder, Feed, FeedError, MarketBook, OptionType, POLL_TICKS_MAX, QuoteKey, Recorder,
    Tick, TickSegment,
};
use crate::money::Amount;
use crate::risk::{self, RiskAction, RiskParams};
use crate::strategy::{Direction, SignalEngine, SizingParams};
use crate::wallet::{ChargeRates, InstrumentKey, Op, Position, State, Timestamp};

/// Index ticks waiting for their symbol's task, per symbol.
pub const SYMBOL_QUEUE_TICKS_MAX: usize = 1 << 20;
/// Feed polls one pump makes before it yields (each returns at most
/// `POLL_TICKS_MAX` ticks): a long backlog is worked off over several runs.
pub const PUMP_POLLS_MAX: usize = 256;
/// Candles kept per builder.
const CANDLES_KEPT: usize = 512;

/// Why a task failed (logged by the scheduler with the task's name).
#[derive(Debug)]
pub enum TaskError {
    /// The feed failed (a bad replay row, the recorder's disk).
    Feed(FeedError),
    /// The engine stopped (log failure): the daemon must stop.
    Stopped(String),
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TaskError::Feed(e) => write!(f, "market data: {e}"),
            TaskError::Stopped(e) => write!(f, "engine stopped: {e}"),
        }
    }
}

impl std::error::Error for TaskError {}

/// A symbol's market-data state.
#[derive(Debug)]
struct SymbolDesk {
    name: String,
    idx_sid: u64,
    lot_size: u64,
    queue: VecDeque<Tick>,
    dropped: u64,
    one_minute: CandleBuilder,
    secondary: CandleBuilder,
    signals: SignalEngine,
    /// The latest signal's direction, and the candle start it came from.
    signal: Direction,
}

/// The shared feed and where it stands.
struct FeedHub {
    feed: Box<dyn Feed>,
    recorder: Option<Recorder>,
    buf: Vec<Tick>,
    /// Set once the feed failed: the error repeats, no tick more is taken.
    failed: Option<FeedError>,
    ticks: u64,
}

impl std::fmt::Debug for FeedHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedHub")
            .field("feed", &self.feed.name())
            .field("ticks", &self.ticks)
            .finish()
    }
}

/// Where the domain's "now" comes from.
#[derive(Debug, Clone)]
pub enum AppClock {
    /// Wall time, shifted by `offset_ms` (a replay at real speed starts at its
    /// first tick).
    Real { offset_ms: i64 },
    /// The manual clock of a fast replay.
    Manual(crate::scheduler::ManualClock),
}

impl AppClock {
    pub fn now(&self) -> Timestamp {
        let wall = match self {
            AppClock::Real { .. } => std::time::SystemTime::now(),
            AppClock::Manual(c) => crate::scheduler::Clock::wall_now(c),
        };
        let ms = wall
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        match self {
            AppClock::Real { offset_ms } => Timestamp::from_epoch_ms(ms.saturating_sub(*offset_ms)),
            AppClock::Manual(_) => Timestamp::from_epoch_ms(ms),
        }
    }
}

/// The trading core shared by the tasks.
#[derive(Debug)]
pub struct Trader {
    pub config: Arc<Config>,
    pub clock: AppClock,
    pub exec: Executor,
    pub stores: Stores,
    pub book: MarketBook,
    pub session: Mutex<SessionBook>,
    risk: RiskParams,
    sizing: SizingParams,
    rates: ChargeRates,
    hub: Mutex<FeedHub>,
    desks: Vec<Mutex<SymbolDesk>>,
    /// Set when a task found the engine stopped.
    stopped: std::sync::atomic::AtomicBool,
    /// Positions whose missing quote was reported (at most `POSITIONS_MAX`
    /// entries: one per open position).
    unquoted: Mutex<std::collections::BTreeSet<InstrumentKey>>,
}

fn quote_of(q: crate::market::Quote) -> broker::Quote {
    broker::Quote {
        ltp: q.ltp,
        bid: q.bid,
        ask: q.ask,
        ts: q.ts,
    }
}

impl Trader {
    pub fn new(
        config: Arc<Config>,
        clock: AppClock,
        exec: Executor,
        stores: Stores,
        feed: Box<dyn Feed>,
        recorder: Option<Recorder>,
    ) -> Result<Trader, String> {
        let risk = super::params::risk_params(&config)?;
        let strategy = super::params::strategy_params(&config);
        let mut desks = Vec::with_capacity(config.symbols.len());
        for s in &config.symbols {
            let secondary = CandleBuilder::new(config.global.secondary_timeframe, CANDLES_KEPT)
                .ok_or("config: global.secondary_timeframe is out of range")?;
            desks.push(Mutex::new(SymbolDesk {
                name: s.name.as_str().to_owned(),
                idx_sid: s.idx_sid,
                lot_size: s.lot_size,
                queue: VecDeque::new(),
                dropped: 0,
                one_minute: CandleBuilder::new(config.strategy.candle_interval, CANDLES_KEPT)
                    .ok_or("config: strategy.candle_interval_sec is out of range")?,
                secondary,
                signals: SignalEngine::new(strategy.clone()).map_err(|e| format!("config: {e}"))?,
                signal: Direction::None,
            }));
        }
        Ok(Trader {
            sizing: super::params::sizing_params(&config),
            rates: config.charges,
            risk,
            config,
            clock,
            exec,
            stores,
            book: MarketBook::default(),
            session: Mutex::new(SessionBook::default()),
            hub: Mutex::new(FeedHub {
                feed,
                recorder,
                buf: Vec::with_capacity(POLL_TICKS_MAX),
                failed: None,
                ticks: 0,
            }),
            desks,
            stopped: std::sync::atomic::AtomicBool::new(false),
            unquoted: Mutex::new(std::collections::BTreeSet::new()),
        })
    }

    pub fn symbols_count(&self) -> usize {
        self.desks.len()
    }

    /// The time of the feed's next tick (`None` at the end of a replay).
    pub fn next_tick_ts(&self) -> Option<Timestamp> {
        let hub = lock(&self.hub);
        if hub.failed.is_some() {
            return None;
        }
        hub.feed.next_ts()
    }

    /// Why the feed stopped, if it failed (a bad replay row, the recorder's disk).
    pub fn feed_failure(&self) -> Option<FeedError> {
        lock(&self.hub).failed.clone()
    }

    /// Ticks taken from the feed so far.
    pub fn ticks_seen(&self) -> u64 {
        lock(&self.hub).ticks
    }

    /// Finishes the recording, if any.
    pub fn finish_recording(&self) -> Result<(), FeedError> {
        let mut hub = lock(&self.hub);
        match hub.recorder.as_mut() {
            Some(r) => r.flush(),
            None => Ok(()),
        }
    }

    /// `market-data:SYM`.
    pub fn market_data(&self, desk_index: usize) -> Result<(), TaskError> {
        let now = self.clock.now();
        self.pump(now)?;
        let Some(desk) = self.desks.get(desk_index) else {
            return Ok(());
        };
        let mut desk = lock(desk);
        let desk = &mut *desk;
        let mut closed = Vec::new();
        while let Some(tick) = desk.queue.pop_front() {
            closed.extend(desk.secondary.push_tick(&tick).map(|c| (false, c)));
            closed.extend(desk.one_minute.push_tick(&tick).map(|c| (true, c)));
        }
        closed.extend(desk.secondary.close_due(now).map(|c| (false, c)));
        closed.extend(desk.one_minute.close_due(now).map(|c| (true, c)));
        // A secondary candle goes in before the primary one closing at the same
        // instant (the signal engine's rule); sort by end time, secondary first.
        closed.sort_by_key(|(primary, c)| (c.start, *primary));
        for (primary, candle) in closed {
            if primary {
                let signal = desk.signals.on_primary_candle(&candle);
                if signal.direction != desk.signal {
                    tracing::info!(target: "strategy", symbol = %desk.name,
                        direction = ?signal.direction, strength = signal.strength,
                        candle = %candle.start, "signal");
                }
                desk.signal = signal.direction;
            } else {
                desk.signals.on_secondary_candle(&candle);
            }
        }
        Ok(())
    }

    /// Polls the feed up to `now`: every tick into the book and the recorder;
    /// index ticks of traded symbols into their queues.
    fn pump(&self, now: Timestamp) -> Result<(), TaskError> {
        let mut hub = lock(&self.hub);
        if let Some(e) = &hub.failed {
            return Err(TaskError::Feed(e.clone()));
        }
        let hub = &mut *hub;
        for _ in 0..PUMP_POLLS_MAX {
            hub.buf.clear();
            let n = match hub.feed.poll(now, &mut hub.buf) {
                Ok(n) => n,
                Err(e) => {
                    hub.failed = Some(e.clone());
                    return Err(TaskError::Feed(e));
                }
            };
            hub.ticks += n as u64;
            if let Some(rec) = hub.recorder.as_mut()
                && let Err(e) = rec.record_all(&hub.buf)
            {
                hub.failed = Some(e.clone());
                return Err(TaskError::Feed(e));
            }
            for tick in &hub.buf {
                self.book.ingest(tick);
                if tick.segment == TickSegment::Index {
                    for desk in &self.desks {
                        let mut d = lock(desk);
                        if d.idx_sid == tick.security_id {
                            if d.queue.len() < SYMBOL_QUEUE_TICKS_MAX {
                                d.queue.push_back(tick.clone());
                            } else {
                                d.dropped += 1;
                            }
                        }
                    }
                }
            }
            if n < POLL_TICKS_MAX {
                break;
            }
        }
        Ok(())
    }

    fn contract_quote(&self, key: &InstrumentKey) -> Option<broker::Quote> {
        self.book.ltp.contract(*key).map(quote_of)
    }

    fn lot_size_of(&self, position: &Position) -> u64 {
        let underlying = self
            .book
            .chain
            .get(position.instrument.key)
            .map(|c| c.underlying.as_str().to_owned())
            .unwrap_or_else(|| {
                position
                    .instrument
                    .symbol
                    .as_str()
                    .split(' ')
                    .next()
                    .unwrap_or("")
                    .to_owned()
            });
        self.config.symbol(&underlying).map_or(1, |s| s.lot_size)
    }

    /// Places `request` at `quote`; records the fill in the session book.
    fn place(
        &self,
        request: OrderRequest,
        quote: &broker::Quote,
        now: Timestamp,
    ) -> Result<Option<Filled>, TaskError> {
        let fill = match broker::paper_fill(
            &request,
            quote,
            now,
            &self.rates,
            self.config.global.slippage_buffer_pct,
        ) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(target: "broker", instrument = %request.instrument, error = %e, "order not placed");
                return Ok(None);
            }
        };
        let template = fill.to_intent();
        let placed = self.exec.place(|id| crate::wallet::OrderIntent {
            order_id: id,
            ..template.clone()
        });
        match placed {
            Ok(filled) => {
                lock(&self.session).record_fill(filled.clone());
                Ok(Some(filled))
            }
            Err(ExecError::Rejected(r)) => {
                tracing::info!(target: "broker", instrument = %request.instrument, reason = %r, "order refused");
                Ok(None)
            }
            Err(ExecError::Stopped(e)) => Err(TaskError::Stopped(e.to_string())),
        }
    }

    /// Sells the whole position `key` for `reason`; a losing exit starts the
    /// cooldown.
    fn exit(
        &self,
        state: &State,
        key: InstrumentKey,
        reason: crate::wallet::ExitReason,
        now: Timestamp,
    ) -> Result<(), TaskError> {
        let Some(position) = state.positions.get(&key) else {
            return Ok(());
        };
        let Some(quote) = self.contract_quote(&key) else {
            // Said once per position: the risk loop asks again every tick.
            if lock(&self.unquoted).insert(key) {
                tracing::warn!(target: "risk", position = %key, reason = %reason,
                    "exit wanted but the contract has no quote on this feed; retrying every tick");
            }
            return Ok(());
        };
        let request = OrderRequest::close(
            crate::wallet::ClientOrderId(0),
            position,
            self.lot_size_of(position),
            reason,
        );
        if let Some(filled) = self.place(request, &quote, now)?
            && let Some(until) = risk::cooldown_after(filled.realized_pnl, now, &self.risk)
        {
            self.commit_quietly(Op::Cooldown { until })?;
        }
        Ok(())
    }

    /// Commits a latch or mark; a reject (already halted, ...) is only logged.
    fn commit_quietly(&self, op: Op) -> Result<(), TaskError> {
        let engine = self.exec.engine();
        match engine.commit(op.clone()) {
            Ok(c) => engine
                .wait_durable(c)
                .map_err(|e| TaskError::Stopped(e.to_string())),
            Err(crate::engine::CommitError::Rejected(r)) => {
                tracing::debug!(target: "risk", op = %op, reason = %r, "not applied");
                Ok(())
            }
            Err(crate::engine::CommitError::Poisoned(e)) => Err(TaskError::Stopped(e.to_string())),
        }
    }

    /// `risk`.
    pub fn risk_tick(&self) -> Result<(), TaskError> {
        let now = self.clock.now();
        let state = self.exec.engine().head();
        let quotes = |key: &InstrumentKey| self.contract_quote(key);
        let plan = risk::risk_actions(&state.state, &quotes, now, &self.risk);
        for action in &plan.actions {
            match *action {
                RiskAction::Exit { key, reason } => {
                    tracing::info!(target: "risk", position = %key, reason = %reason, "exit");
                    // Each exit decides on the newest state (an earlier exit changed it).
                    let state = self.exec.engine().head();
                    self.exit(&state.state, key, reason, now)?;
                }
                RiskAction::Halt { reason } => {
                    tracing::warn!(target: "risk", reason = %reason, day_pnl = ?plan.day_pnl, "halting new entries");
                    self.commit_quietly(Op::Halt { reason, ts: now })?;
                }
                other => {
                    if let Some(op) = other.to_op(now) {
                        self.commit_quietly(op)?;
                    }
                }
            }
        }
        let state = self.exec.engine().head();
        if let Some(equity) = risk::equity(&state.state, &quotes) {
            lock(&self.session).mark_equity(equity);
        }
        Ok(())
    }

    /// `trading`.
    pub fn trading_tick(&self) -> Result<(), TaskError> {
        let now = self.clock.now();
        for desk in &self.desks {
            let (name, idx_sid, lot_size, direction) = {
                let d = lock(desk);
                (d.name.clone(), d.idx_sid, d.lot_size, d.signal)
            };
            let Some(option_type) = direction.option_type() else {
                continue;
            };
            // An open or pending position on this underlying: exit it on an
            // opposite signal, else hold (no pyramiding).
            let state = self.exec.engine().head();
            let mut holding = false;
            for p in state.state.positions.iter() {
                let Some(c) = self.book.chain.get(p.instrument.key) else {
                    continue;
                };
                if c.underlying.as_str() != name {
                    continue;
                }
                holding = true;
                if c.contract.option_type != option_type {
                    tracing::info!(target: "strategy", position = %p.instrument, "signal reversed: exit");
                    self.exit(
                        &state.state,
                        p.instrument.key,
                        crate::wallet::ExitReason::Signal,
                        now,
                    )?;
                }
            }
            if holding
                || state.state.pending.iter().any(|i| {
                    self.book
                        .chain
                        .get(i.instrument.key)
                        .is_some_and(|c| c.underlying.as_str() == name)
                })
            {
                continue;
            }
            self.enter(&name, idx_sid, lot_size, option_type, now)?;
        }
        Ok(())
    }

    fn enter(
        &self,
        name: &str,
        idx_sid: u64,
        lot_size: u64,
        option_type: OptionType,
        now: Timestamp,
    ) -> Result<(), TaskError> {
        let stale_after = self.config.global.stale_after;
        let spot = self.book.ltp.fresh(
            QuoteKey::Index {
                security_id: idx_sid,
            },
            now,
            stale_after,
        );
        let state = self.exec.engine().head();
        if let Err(block) = risk::entry_allowed(&state.state, now, &self.risk, spot.is_some()) {
            tracing::debug!(target: "risk", symbol = name, block = %block, "entry blocked");
            return Ok(());
        }
        let Some(spot) = spot else { return Ok(()) };
        let Some(contract) = self.book.chain.atm(name, spot.ltp, option_type, now) else {
            tracing::info!(target: "strategy", symbol = name, "no ATM contract quoted yet");
            return Ok(());
        };
        let Some(quote) = self
            .book
            .ltp
            .fresh(QuoteKey::Contract(contract.key), now, stale_after)
        else {
            return Ok(());
        };
        let premium = quote.ask.unwrap_or(quote.ltp);
        let lots = match crate::strategy::size_entry(
            state.state.balance.available,
            premium,
            lot_size,
            &self.sizing,
        ) {
            Ok(lots) => lots,
            Err(why) => {
                tracing::info!(target: "strategy", symbol = name, contract = %contract, reason = %why, "no entry");
                return Ok(());
            }
        };
        let instrument = crate::wallet::Instrument {
            key: contract.key,
            symbol: contract.symbol.clone(),
        };
        tracing::info!(target: "strategy", symbol = name, contract = %contract, lots, "entry");
        let request =
            OrderRequest::buy(crate::wallet::ClientOrderId(0), instrument, lots, lot_size);
        self.place(request, &quote_of(quote), now)?;
        Ok(())
    }

    /// `status`: one line.
    pub fn status_tick(&self) -> Result<(), TaskError> {
        let engine = self.exec.engine();
        let durable = engine.durable();
        let s = &durable.state;
        let quotes = |key: &InstrumentKey| self.contract_quote(key);
        let unrealized = risk::unrealized_pnl(s, &quotes).unwrap_or(Amount::ZERO);
        tracing::info!(target: "app", version = durable.version,
            available = %s.balance.available, total = %s.balance.total,
            realized = %s.balance.realized_pnl, unrealized = %unrealized, fees = %s.balance.fees,
            positions = s.positions.len(), halted = s.risk.halted.is_some(),
            ticks = self.ticks_seen(), "status");
        Ok(())
    }

    /// `checkpoint`.
    pub fn checkpoint_tick(&self) -> Result<(), TaskError> {
        self.exec
            .engine()
            .maybe_checkpoint(&self.stores, self.config.global.snapshot_every)
            .map(|_| ())
            .map_err(|e| TaskError::Stopped(e.to_string()))
    }

    /// Commits a deposit of the starting balance into a new wallet.
    pub fn fund_if_new(&self) -> Result<bool, TaskError> {
        let engine = self.exec.engine();
        if engine.head().version != 0 {
            return Ok(false);
        }
        self.commit_quietly(Op::Deposit {
            amount: self.config.paper.starting_balance,
        })?;
        Ok(true)
    }

    /// Whether a task found the engine stopped (the log failed).
    pub fn engine_stopped(&self) -> bool {
        // Relaxed: a flag polled once a second; nothing is published with it.
        self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn note(&self, result: Result<(), TaskError>) -> Result<(), TaskError> {
        if let Err(TaskError::Stopped(_)) = &result {
            // Relaxed: see `engine_stopped`.
            self.stopped
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }
}

/// How much history the signal needs before its first reading: the simulator
/// starts this far in the past.
pub fn warmup(config: &Config) -> Duration {
    let p = super::params::strategy_params(config);
    let candle = |d: Duration, n: usize| d.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
    let primary = candle(
        config.strategy.candle_interval,
        p.primary_warmup_candles() + 2,
    );
    let secondary = if p.use_multi_timeframe {
        candle(
            config.global.secondary_timeframe,
            p.secondary_warmup_candles() + 1,
        )
    } else {
        Duration::ZERO
    };
    primary.max(secondary)
}
