//! The serde edge types: the YAML file as written, before validation.
//!
//! Every section denies unknown keys, so a typo is an error. Every leaf is an
//! optional [`Val`]: the scalar's text exactly as written plus where it was
//! written. Numbers stay text here so that validation can parse them exactly
//! (decimals, never floats) and report a wrong value in the same shape as any
//! other problem (`key.path: must be ..., got ...`), all problems at once.
//!
//! A user file is laid over the built-in one key by key ([`FileEdge::overlay`]):
//! a key the user sets wins, every other key keeps its built-in value, which
//! then carries no location.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_saphyr::Spanned;

use super::error::Position;

fn position_of<T>(s: &Spanned<T>) -> Option<Position> {
    let (line, column) = (s.referenced.line(), s.referenced.column());
    // Line 0 is the crate's "unknown location".
    (line > 0).then_some(Position { line, column })
}

/// One scalar as written (`0.35`, `"09:20-15:25"`, `true`), with its location in
/// the user's file (`None` for a built-in value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Val {
    pub(crate) text: String,
    pub(crate) at: Option<Position>,
}

/// The text of one scalar. `deserialize_str` hands plain scalars over verbatim
/// (`0.35` stays `"0.35"`); the other visits only make the type robust.
struct ScalarText(String);

impl<'de> Deserialize<'de> for ScalarText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScalarText, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ScalarText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a single value (a number, a word or a quoted string), not a list or a mapping",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ScalarText, E> {
                Ok(ScalarText(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<ScalarText, E> {
                Ok(ScalarText(s))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<ScalarText, E> {
                Ok(ScalarText(b.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ScalarText, E> {
                Ok(ScalarText(n.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ScalarText, E> {
                Ok(ScalarText(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<ScalarText, E> {
                Ok(ScalarText(n.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Val {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Val, D::Error> {
        let s = Spanned::<ScalarText>::deserialize(d)?;
        Ok(Val {
            at: position_of(&s),
            text: s.value.0,
        })
    }
}

/// A list of scalars with the location of the list itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ValList {
    pub(crate) items: Vec<Val>,
    pub(crate) at: Option<Position>,
}

impl<'de> Deserialize<'de> for ValList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ValList, D::Error> {
        let s = Spanned::<Vec<Val>>::deserialize(d)?;
        Ok(ValList {
            at: position_of(&s),
            items: s.value,
        })
    }
}

/// Takes the user's value if there is one, else keeps the base value and marks
/// it built-in (no location in the user's file).
fn pick(slot: &mut Option<Val>, user: Option<Val>) {
    *slot = match user {
        Some(v) => Some(v),
        None => slot.take().map(|v| Val { at: None, ..v }),
    };
}

/// Declares an edge struct whose fields are all `Option<Val>`, with its
/// `overlay`. Field names are the YAML keys.
macro_rules! leaf_section {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $($(#[$fmeta])* pub(crate) $field: Option<Val>,)*
        }

        impl $name {
            /// Lays `user` over `self`, key by key.
            pub(crate) fn overlay(&mut self, user: $name) {
                $(pick(&mut self.$field, user.$field);)*
            }
        }
    };
}

leaf_section! {
    /// `global:`.
    GlobalEdge {
        session_hours,
        enforce_market_hours,
        enable_square_off,
        square_off_time,
        min_profit_target,
        max_day_loss,
        charge_per_order,
        allocation_pct,
        slippage_buffer_pct,
        max_lots_per_trade,
        max_positions,
        min_premium_price,
        enable_take_profit,
        tp_pct,
        enable_stop_loss,
        sl_pct,
        enable_trailing_stop,
        trail_pct,
        enable_time_stop,
        time_stop_seconds,
        enable_daily_loss_limit,
        max_daily_loss_rs,
        enable_cooldown,
        cooldown_after_loss_seconds,
        use_multi_timeframe,
        secondary_timeframe,
        min_signal_strength,
        decision_interval_sec,
        risk_loop_interval_sec,
        log_status_every,
        market_data_interval_sec,
        stale_after_sec,
        data_dir,
        feed,
        fsync,
        snapshot_every,
        worker_threads,
        scheduler_realtime_priority,
        scheduler_dispatch_early_us,
    }
}

leaf_section! {
    /// `paper:`.
    PaperEdge { starting_balance }
}

leaf_section! {
    /// `charges:` (the brokerage is `global.charge_per_order`).
    ChargesEdge {
        stt_sell_pct,
        exchange_txn_nse_pct,
        exchange_txn_bse_pct,
        sebi_fee_per_crore,
        stamp_duty_buy_pct,
        gst_pct,
    }
}

leaf_section! {
    /// `strategy:`.
    StrategyEdge {
        candle_interval_sec,
        supertrend_period,
        supertrend_multiplier,
        ema_fast_period,
        ema_slow_period,
        rsi_period,
        rsi_bullish_above,
        rsi_bearish_below,
    }
}

leaf_section! {
    /// `sim.indices.<NAME>:`.
    SimIndexEdge { start_spot, annual_volatility_pct, option_iv_pct }
}

leaf_section! {
    /// `SYMBOLS.<NAME>:`.
    SymbolEdge {
        idx_sid,
        seg_idx,
        seg_opt,
        strike_step,
        lot_size,
        expiry_wday,
        expiry_cycle,
    }
}

/// `sim:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimEdge {
    pub(crate) seed: Option<Val>,
    pub(crate) tick_rate_per_sec: Option<Val>,
    pub(crate) risk_free_rate_pct: Option<Val>,
    pub(crate) strikes_each_side: Option<Val>,
    pub(crate) bid_ask_spread_ticks: Option<Val>,
    pub(crate) indices: Option<BTreeMap<String, SimIndexEdge>>,
}

impl SimEdge {
    fn overlay(&mut self, user: SimEdge) {
        pick(&mut self.seed, user.seed);
        pick(&mut self.tick_rate_per_sec, user.tick_rate_per_sec);
        pick(&mut self.risk_free_rate_pct, user.risk_free_rate_pct);
        pick(&mut self.strikes_each_side, user.strikes_each_side);
        pick(&mut self.bid_ask_spread_ticks, user.bid_ask_spread_ticks);
        overlay_map(&mut self.indices, user.indices, SimIndexEdge::overlay);
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileEdge {
    pub(crate) symbols: Option<ValList>,
    pub(crate) global: Option<GlobalEdge>,
    pub(crate) paper: Option<PaperEdge>,
    pub(crate) charges: Option<ChargesEdge>,
    pub(crate) strategy: Option<StrategyEdge>,
    pub(crate) sim: Option<SimEdge>,
    #[serde(rename = "SYMBOLS")]
    pub(crate) symbol_specs: Option<BTreeMap<String, SymbolEdge>>,
}

/// Lays a section over another; a section missing on both sides stays missing,
/// and a section present on one side only is still overlaid (so built-in values
/// lose their locations).
fn overlay_section<T: Default>(base: &mut Option<T>, user: Option<T>, f: fn(&mut T, T)) {
    if base.is_none() && user.is_none() {
        return;
    }
    let mut merged = base.take().unwrap_or_default();
    f(&mut merged, user.unwrap_or_default());
    *base = Some(merged);
}

/// Lays a map of sections over another, entry by entry: an entry only the user
/// has is taken as written (it must then have every key).
fn overlay_map<T: Default>(
    base: &mut Option<BTreeMap<String, T>>,
    user: Option<BTreeMap<String, T>>,
    f: fn(&mut T, T),
) {
    let mut merged = base.take().unwrap_or_default();
    for entry in merged.values_mut() {
        f(entry, T::default());
    }
    for (name, entry) in user.unwrap_or_default() {
        f(merged.entry(name).or_default(), entry);
    }
    *base = Some(merged);
}

impl FileEdge {
    /// Lays `user` over `self` (the built-in file): key by key in each section,
    /// entry by entry in `SYMBOLS` and `sim.indices`; the `symbols` list is
    /// replaced as a whole.
    pub(crate) fn overlay(&mut self, user: FileEdge) {
        self.symbols = match user.symbols {
            Some(list) => Some(list),
            None => self.symbols.take().map(|list| ValList {
                at: None,
                items: list
                    .items
                    .into_iter()
                    .map(|v| Val { at: None, ..v })
                    .collect(),
            }),
        };
        overlay_section(&mut self.global, user.global, GlobalEdge::overlay);
        overlay_section(&mut self.paper, user.paper, PaperEdge::overlay);
        overlay_section(&mut self.charges, user.charges, ChargesEdge::overlay);
        overlay_section(&mut self.strategy, user.strategy, StrategyEdge::overlay);
        overlay_section(&mut self.sim, user.sim, SimEdge::overlay);
        overlay_map(
            &mut self.symbol_specs,
            user.symbol_specs,
            SymbolEdge::overlay,
        );
    }
}
