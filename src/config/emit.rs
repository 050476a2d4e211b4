//! [`Config::effective_yaml`]: every effective value, written as YAML in the
//! layout of `config/scalper.yml`, so that it parses back to an equal `Config`.

use std::fmt::Write as _;
use std::time::Duration;

use rust_decimal::Decimal;

use super::validate::wday_number;
use super::{Config, Feed};
use crate::money::{Amount, Price};

/// A duration in seconds, exactly (`0.5`, `60`).
pub(crate) fn seconds_text(d: Duration) -> String {
    let secs = Decimal::from(d.as_secs()) + Decimal::new(i64::from(d.subsec_nanos()), 9);
    secs.normalize().to_string()
}

fn dec(d: Decimal) -> String {
    d.normalize().to_string()
}

fn amount(a: Amount) -> String {
    dec(a.to_decimal())
}

fn price(p: Price) -> String {
    dec(p.to_decimal())
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A symbol name as a YAML key or list item: plain unless YAML would read it as
/// something other than a string.
fn name(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain { s.to_owned() } else { quoted(s) }
}

pub(crate) fn effective_yaml(c: &Config) -> String {
    let mut o = String::from(
        "# dhan_scalper: effective configuration (built-in defaults with the given file laid over them)\n",
    );
    // `write!` into a String cannot fail.
    let mut line = |indent: usize, key: &str, value: &str| {
        let _ = writeln!(o, "{:indent$}{key}: {value}", "");
    };
    let g = &c.global;
    let b = |v: bool| if v { "true" } else { "false" };
    let secs = seconds_text;

    let symbols: Vec<String> = c.symbols.iter().map(|s| name(s.name.as_str())).collect();
    line(0, "symbols", &format!("[{}]", symbols.join(", ")));

    line(0, "global", "");
    line(2, "session_hours", &quoted(&g.session_hours.to_string()));
    line(2, "enforce_market_hours", b(g.enforce_market_hours));
    line(2, "enable_square_off", b(g.enable_square_off));
    line(
        2,
        "square_off_time",
        &quoted(&g.square_off_time.to_string()),
    );
    line(2, "min_profit_target", &amount(g.min_profit_target));
    line(2, "max_day_loss", &amount(g.max_day_loss));
    line(
        2,
        "charge_per_order",
        &amount(c.charges.brokerage_per_order),
    );
    line(2, "allocation_pct", &dec(g.allocation_pct));
    line(2, "slippage_buffer_pct", &dec(g.slippage_buffer_pct));
    line(2, "max_lots_per_trade", &g.max_lots_per_trade.to_string());
    line(2, "max_positions", &g.max_positions.to_string());
    line(2, "min_premium_price", &dec(g.min_premium_price));
    line(2, "enable_take_profit", b(g.enable_take_profit));
    line(2, "tp_pct", &dec(g.tp_pct));
    line(2, "enable_stop_loss", b(g.enable_stop_loss));
    line(2, "sl_pct", &dec(g.sl_pct));
    line(2, "enable_trailing_stop", b(g.enable_trailing_stop));
    line(2, "trail_pct", &dec(g.trail_pct));
    line(2, "enable_time_stop", b(g.enable_time_stop));
    line(2, "time_stop_seconds", &secs(g.time_stop));
    line(2, "enable_daily_loss_limit", b(g.enable_daily_loss_limit));
    line(2, "max_daily_loss_rs", &amount(g.max_daily_loss_rs));
    line(2, "enable_cooldown", b(g.enable_cooldown));
    line(
        2,
        "cooldown_after_loss_seconds",
        &secs(g.cooldown_after_loss),
    );
    line(2, "use_multi_timeframe", b(g.use_multi_timeframe));
    line(
        2,
        "secondary_timeframe",
        &(g.secondary_timeframe.as_secs() / 60).to_string(),
    );
    line(2, "min_signal_strength", &dec(g.min_signal_strength));
    line(2, "decision_interval_sec", &secs(g.decision_interval));
    line(2, "risk_loop_interval_sec", &secs(g.risk_loop_interval));
    line(2, "log_status_every", &secs(g.log_status_every));
    line(2, "market_data_interval_sec", &secs(g.market_data_interval));
    line(2, "stale_after_sec", &secs(g.stale_after));
    // The path came from a YAML string, so it is UTF-8.
    line(2, "data_dir", &quoted(&g.data_dir.to_string_lossy()));
    let feed = match &g.feed {
        Feed::Sim => "sim".to_owned(),
        Feed::Replay(path) => format!("replay:{}", path.to_string_lossy()),
    };
    line(2, "feed", &quoted(&feed));
    line(2, "fsync", &quoted(g.fsync.as_str()));
    line(2, "snapshot_every", &g.snapshot_every.to_string());
    line(2, "worker_threads", &g.worker_threads.to_string());
    line(
        2,
        "scheduler_realtime_priority",
        &g.scheduler_realtime_priority.unwrap_or(0).to_string(),
    );
    line(
        2,
        "scheduler_dispatch_early_us",
        &g.scheduler_dispatch_early.as_micros().to_string(),
    );

    line(0, "paper", "");
    line(2, "starting_balance", &amount(c.paper.starting_balance));

    let ch = &c.charges;
    line(0, "charges", "");
    line(2, "stt_sell_pct", &dec(ch.stt_sell_rate));
    line(2, "exchange_txn_nse_pct", &dec(ch.exchange_txn_nse_rate));
    line(2, "exchange_txn_bse_pct", &dec(ch.exchange_txn_bse_rate));
    line(2, "sebi_fee_per_crore", &amount(ch.sebi_fee_per_crore));
    line(2, "stamp_duty_buy_pct", &dec(ch.stamp_duty_buy_rate));
    line(2, "gst_pct", &dec(ch.gst_rate));

    let st = &c.strategy;
    line(0, "strategy", "");
    line(
        2,
        "candle_interval_sec",
        &st.candle_interval.as_secs().to_string(),
    );
    line(2, "supertrend_period", &st.supertrend_period.to_string());
    line(2, "supertrend_multiplier", &dec(st.supertrend_multiplier));
    line(2, "ema_fast_period", &st.ema_fast_period.to_string());
    line(2, "ema_slow_period", &st.ema_slow_period.to_string());
    line(2, "rsi_period", &st.rsi_period.to_string());
    line(2, "rsi_bullish_above", &dec(st.rsi_bullish_above));
    line(2, "rsi_bearish_below", &dec(st.rsi_bearish_below));

    let sim = &c.sim;
    line(0, "sim", "");
    line(2, "seed", &sim.seed.to_string());
    line(2, "tick_rate_per_sec", &sim.tick_rate_per_sec.to_string());
    line(2, "risk_free_rate_pct", &dec(sim.risk_free_rate_pct));
    line(2, "strikes_each_side", &sim.strikes_each_side.to_string());
    line(
        2,
        "bid_ask_spread_ticks",
        &sim.bid_ask_spread_ticks.to_string(),
    );
    if sim.indices.is_empty() {
        line(2, "indices", "{}");
    } else {
        line(2, "indices", "");
    }
    for index in &sim.indices {
        line(4, &name(index.name.as_str()), "");
        line(6, "start_spot", &price(index.start_spot));
        line(
            6,
            "annual_volatility_pct",
            &dec(index.annual_volatility_pct),
        );
        line(6, "option_iv_pct", &dec(index.option_iv_pct));
    }

    line(0, "SYMBOLS", "");
    for s in &c.symbols {
        line(2, &name(s.name.as_str()), "");
        line(4, "idx_sid", &s.idx_sid.to_string());
        line(4, "seg_idx", &name(&s.seg_idx));
        line(4, "seg_opt", &name(s.seg_opt.as_str()));
        line(4, "strike_step", &price(s.strike_step));
        line(4, "lot_size", &s.lot_size.to_string());
        line(
            4,
            "expiry_wday",
            &format!("{} # {}", wday_number(s.expiry_wday), s.expiry_wday),
        );
        line(4, "expiry_cycle", s.expiry_cycle.as_str());
    }
    // Section headers were written as `key: ` with an empty value; tidy them.
    o.replace(": \n", ":\n")
}
