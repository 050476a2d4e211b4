//! The config mapped onto each component's own parameters. Every component
//! keeps plain parameter structs; only this module knows the config layout.

use rust_decimal::prelude::ToPrimitive;

use crate::config::{Config, SymbolSpec};
use crate::market::{SimParams, SimUnderlying};
use crate::risk::RiskParams;
use crate::scheduler::SchedulerConfig;
use crate::strategy::{SizingParams, StrategyParams};

fn f64_of(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// A config value the components cannot take (validation should have caught it).
fn invalid(what: &str) -> String {
    format!(
        "config: {what} is out of range for the trading components; run `dhan_scalper config check`"
    )
}

/// The risk rules' parameters.
pub fn risk_params(c: &Config) -> Result<RiskParams, String> {
    let g = &c.global;
    let ist = |t: crate::config::TimeOfDay, key: &str| t.to_ist_time().ok_or_else(|| invalid(key));
    Ok(RiskParams {
        enable_take_profit: g.enable_take_profit,
        tp_pct: g.tp_pct,
        enable_stop_loss: g.enable_stop_loss,
        sl_pct: g.sl_pct,
        enable_trailing_stop: g.enable_trailing_stop,
        trail_pct: g.trail_pct,
        enable_time_stop: g.enable_time_stop,
        time_stop: g.time_stop,
        enable_daily_loss_limit: g.enable_daily_loss_limit,
        max_daily_loss_rs: g.max_daily_loss_rs,
        max_day_loss: g.max_day_loss,
        enable_cooldown: g.enable_cooldown,
        cooldown_after_loss: g.cooldown_after_loss,
        max_positions: g.max_positions,
        enforce_market_hours: g.enforce_market_hours,
        session_start: ist(g.session_hours.start, "global.session_hours")?,
        session_end: ist(g.session_hours.end, "global.session_hours")?,
        enable_square_off: g.enable_square_off,
        square_off_time: ist(g.square_off_time, "global.square_off_time")?,
        stale_after: g.stale_after,
    })
}

/// The scheduler's configuration: `workers_count` threads (the run mode decides:
/// `global.worker_threads` event-driven, 1 in the paper modes) and
/// `global.scheduler_realtime_priority` and `global.scheduler_dispatch_early_us`;
/// the rest are the scheduler's defaults.
pub fn scheduler_config(c: &Config, workers_count: usize) -> SchedulerConfig {
    SchedulerConfig {
        workers_count,
        realtime_priority: c.global.scheduler_realtime_priority,
        dispatch_early: c.global.scheduler_dispatch_early,
        ..SchedulerConfig::default()
    }
}

/// The signal's parameters.
pub fn strategy_params(c: &Config) -> StrategyParams {
    let s = &c.strategy;
    StrategyParams {
        supertrend_period: s.supertrend_period as usize,
        supertrend_multiplier: f64_of(s.supertrend_multiplier),
        ema_fast: s.ema_fast_period as usize,
        ema_slow: s.ema_slow_period as usize,
        rsi_period: s.rsi_period as usize,
        rsi_up: f64_of(s.rsi_bullish_above),
        rsi_down: f64_of(s.rsi_bearish_below),
        use_multi_timeframe: c.global.use_multi_timeframe,
        min_signal_strength: f64_of(c.global.min_signal_strength),
    }
}

/// Entry sizing.
pub fn sizing_params(c: &Config) -> SizingParams {
    SizingParams {
        allocation_pct: c.global.allocation_pct,
        slippage_pct: c.global.slippage_buffer_pct,
        min_premium_price: c.global.min_premium_price,
        max_lots_per_trade: c.global.max_lots_per_trade,
    }
}

/// The simulator: one underlying per traded symbol; `seed` overrides the config's.
pub fn sim_params(c: &Config, seed: Option<u64>) -> Result<SimParams, String> {
    let mut underlyings = Vec::with_capacity(c.symbols.len());
    for s in &c.symbols {
        let index = c
            .sim
            .index(s.name.as_str())
            .ok_or_else(|| invalid(&format!("sim.indices.{}", s.name)))?;
        underlyings.push(SimUnderlying {
            name: s.name.as_str().to_owned(),
            idx_sid: s.idx_sid,
            seg_opt: s.seg_opt,
            strike_step: strike_step_rupees(s).ok_or_else(|| invalid("strike_step"))?,
            lot_size: s.lot_size,
            expiry_wday: s.expiry_wday.number_days_from_sunday(),
            spot_start: f64_of(index.start_spot.to_decimal()),
            vol_annual: f64_of(index.annual_volatility_pct),
            iv_annual: f64_of(index.option_iv_pct),
            strikes_each_side: c.sim.strikes_each_side,
        });
    }
    Ok(SimParams {
        seed: seed.unwrap_or(c.sim.seed),
        tick_rate_per_sec: f64::from(c.sim.tick_rate_per_sec),
        rate_annual: f64_of(c.sim.risk_free_rate_pct),
        half_spread_ticks: (c.sim.bid_ask_spread_ticks / 2).max(1),
        underlyings,
    })
}

fn strike_step_rupees(s: &SymbolSpec) -> Option<u32> {
    s.strike_step.to_decimal().to_u32()
}
