//! Helpers shared by the tests that run the `dhan_scalper` binary as a child
//! process (`crash.rs`, `daemon.rs`). Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

/// The signal number of SIGKILL, as `ExitStatusExt::signal` reports it.
pub(crate) const SIGKILL: i32 = 9;

/// An unsigned integer from the environment (a test knob), if set and valid.
pub(crate) fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The binary under test.
pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dhan_scalper"))
}

/// Runs a command on `data` to completion, with no stdin.
pub(crate) fn run(data: &Path, args: &[&str]) -> Output {
    bin()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run dhan_scalper {args:?}: {e}"))
}

/// Its stdout, after checking that it succeeded.
pub(crate) fn success(o: &Output, what: &str, ctx: &str) -> String {
    assert!(
        o.status.success(),
        "{ctx}: `{what}` failed ({}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout.clone()).unwrap_or_else(|e| panic!("{ctx}: `{what}`: {e}"))
}

/// One JSON document.
pub(crate) fn parse_json(text: &str, what: &str, ctx: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{ctx}: {what}: {e}: {text}"))
}

/// A decimal written as a JSON string field.
pub(crate) fn decimal(v: &Value, field: &str, ctx: &str) -> Decimal {
    let s = v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: no string {field} in {v}"));
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{ctx}: {field} {s:?}: {e}"))
}

/// The invariants of one balance object (DESIGN §4): the split, the
/// conservation law, and no negative part.
pub(crate) fn check_balance(b: &Value, ctx: &str) {
    let [available, used, total, realized_pnl, fees, net_deposits] = [
        "available",
        "used",
        "total",
        "realized_pnl",
        "fees",
        "net_deposits",
    ]
    .map(|f| decimal(b, f, ctx));
    assert_eq!(
        total,
        available + used,
        "{ctx}: total != available + used: {b}"
    );
    assert_eq!(
        total,
        net_deposits + realized_pnl - fees,
        "{ctx}: the conservation law is broken: {b}"
    );
    assert!(
        available >= Decimal::ZERO && used >= Decimal::ZERO && fees >= Decimal::ZERO,
        "{ctx}: a negative balance: {b}"
    );
}
