//! The trading daemon end to end: re-execute the real binary as
//! `dhan_scalper event-driven` on the simulated feed with
//! `tests/fixtures/fast.yml` (one-second candles, decisions every second), and
//! check what survives a SIGKILL, what a SIGTERM leaves behind, how bad
//! configs are refused and that a second daemon cannot share a data dir.
//!
//! The crash test kills the daemon `DAEMON_KILLS` times (default 3), each time
//! once it sent a buy order: right away (so that the kill often lands between
//! the journaled intent and its fill) or after a random delay. After each kill
//! it restarts the daemon with a short `-t` and checks that the restart starts
//! from the durable state `status --json` showed after the kill (version,
//! positions and balance), that it resolves every pending intent, that no
//! client order id repeats anywhere in the log, and that money is conserved
//! across the restart (the session's fills account for every change of
//! realized PnL and fees). `DAEMON_SEED` replays the kill delays and the
//! simulator seeds. The halt test does the same around a HALTED latch.
//!
//! Whether a kill lands between an intent and its fill is up to the machine;
//! `app::exec`'s tests build that crash on purpose (the engine dropped after a
//! durable intent, recovered from the same files, the intent filled once at
//! its own price).
//!
//! Timing: only generous timeouts (a debug build on a loaded two-core machine);
//! nothing asserts a duration.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::Value;

mod common;
use common::{SIGKILL, bin, check_balance, decimal, env_u64, parse_json, run, success};

const KILLS_DEFAULT: u64 = 3;
/// How long a daemon may take to send its first buy (the signal needs a few
/// one-second candles; generous for a loaded machine).
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a daemon may take to log that it is running or recovered.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped daemon may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);
/// The most kill delays after a buy, in milliseconds.
const KILL_DELAY_MS_MAX: u64 = 1_500;
/// The restarts' `-t`.
const RESTART_SECS: &str = "3";
/// `paper.starting_balance` of the built-in config (fast.yml keeps it).
const STARTING_BALANCE: &str = "200000";
fn fast_yml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fast.yml")
}

/// Writes `fast.yml` with `global_lines` added to its `global:` section.
fn config_with(dir: &Path, name: &str, global_lines: &str) -> PathBuf {
    let text = std::fs::read_to_string(fast_yml()).expect("read tests/fixtures/fast.yml");
    assert!(
        text.contains("\nglobal:\n"),
        "fast.yml has no global: section"
    );
    let text = text.replacen("\nglobal:\n", &format!("\nglobal:\n{global_lines}"), 1);
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the test config");
    path
}

fn status(data: &Path, ctx: &str) -> Value {
    let o = run(data, &["status", "--json"]);
    parse_json(&success(&o, "status --json", ctx), "status --json", ctx)
}

/// `wal dump --json`: the records after the newest snapshot, by version.
fn dump(data: &Path, ctx: &str) -> BTreeMap<u64, Value> {
    let o = run(data, &["wal", "dump", "--json"]);
    let mut records = BTreeMap::new();
    for line in success(&o, "wal dump --json", ctx).lines() {
        let v = parse_json(line, "a wal dump line", ctx);
        if v.get("snapshot").is_some() {
            continue;
        }
        let version = v["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{ctx}: dump line without a version: {line}"));
        records.insert(version, v);
    }
    records
}

/// `orders -f json`: the fills and cancels in the log, by version (pending
/// orders have no version and are left out).
fn orders(data: &Path, ctx: &str) -> BTreeMap<u64, Value> {
    let o = run(data, &["orders", "-f", "json"]);
    let mut rows = BTreeMap::new();
    for line in success(&o, "orders -f json", ctx).lines() {
        let v = parse_json(line, "an orders line", ctx);
        if let Some(version) = v["version"].as_u64() {
            rows.insert(version, v);
        }
    }
    rows
}

/// Adds `new` to `all`, checking that a version seen before is unchanged.
fn merge(all: &mut BTreeMap<u64, Value>, new: BTreeMap<u64, Value>, what: &str, ctx: &str) {
    for (version, v) in new {
        match all.get(&version) {
            Some(before) => assert_eq!(
                before, &v,
                "{ctx}: {what} at version {version} changed since it was first read"
            ),
            None => {
                all.insert(version, v);
            }
        }
    }
}

fn u64_of(v: &Value, field: &str, ctx: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{ctx}: no integer {field} in {v}"))
}

/// Open positions as `segment:security_id -> qty`.
fn positions(list: &Value, ctx: &str) -> BTreeMap<String, u64> {
    list.as_array()
        .unwrap_or_else(|| panic!("{ctx}: positions are not a list: {list}"))
        .iter()
        .map(|p| {
            (
                format!("{}:{}", p["segment"], p["security_id"]),
                u64_of(p, "qty", ctx),
            )
        })
        .collect()
}

/// A daemon child with its stderr read line by line on a thread (so the pipe
/// never fills) and its stdout collected.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
    stdout: Option<std::thread::JoinHandle<String>>,
    ctx: String,
}

impl Daemon {
    fn spawn(data: &Path, config: &Path, args: &[&str], ctx: &str) -> Daemon {
        let mut child = bin()
            .arg("--data-dir")
            .arg(data)
            .arg("-c")
            .arg(config)
            .arg("event-driven")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{ctx}: cannot spawn the daemon: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // Bound: ends at EOF, when the child exits.
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        });
        Daemon {
            child,
            lines,
            log: Vec::new(),
            stdout: Some(stdout),
            ctx: ctx.to_owned(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first log line (from now on) that `pred` accepts; panics with the
    /// log after `timeout` or when the daemon exits first.
    fn wait_for(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        // Bound: ends at the deadline or when stderr closes.
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.log.push(line.clone());
                    if hit {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    panic!(
                        "{}: the daemon exited ({status:?}) before {what}:\n{}",
                        self.ctx,
                        self.log.join("\n")
                    );
                }
            }
        }
        panic!(
            "{}: no {what} within {timeout:?}:\n{}",
            self.ctx,
            self.log.join("\n")
        );
    }

    /// Drains the log and stdout after the child exited.
    fn collect(&mut self, status: ExitStatus) -> (ExitStatus, String, Vec<String>) {
        self.log.extend(self.lines.iter());
        let stdout = self
            .stdout
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stdout, std::mem::take(&mut self.log))
    }

    /// SIGKILL; returns the whole log.
    fn sigkill(mut self) -> Vec<String> {
        self.child.kill().expect("SIGKILL the daemon");
        let status = self.child.wait().expect("reap the daemon");
        let (status, _, log) = self.collect(status);
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "{}: the daemon ended by itself ({status}) before the kill:\n{}",
            self.ctx,
            log.join("\n")
        );
        log
    }

    /// Sends `signal` (a `kill` name such as TERM) and waits for the exit.
    fn signal_and_wait(mut self, signal: &str) -> (ExitStatus, String, Vec<String>) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap_or_else(|e| panic!("{}: cannot run kill: {e}", self.ctx));
        assert!(sent.success(), "{}: kill -{signal} failed", self.ctx);
        let deadline = Instant::now() + EXIT_TIMEOUT;
        // Bound: ends at the deadline.
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return self.collect(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                other => panic!(
                    "{}: the daemon did not exit within {EXIT_TIMEOUT:?} of SIG{signal} ({other:?})",
                    self.ctx
                ),
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed assertion must not leave a daemon running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `state recovered version=V positions=P halted=H` of a daemon's log.
fn recovered(log: &[String], ctx: &str) -> (u64, usize, bool) {
    let line = log
        .iter()
        .find(|l| l.contains("state recovered"))
        .unwrap_or_else(|| panic!("{ctx}: no `state recovered` line:\n{}", log.join("\n")));
    let field = |name: &str| -> &str {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("{ctx}: no {name} in {line:?}"))
    };
    let parse_err = |e: &dyn std::fmt::Display| -> ! { panic!("{ctx}: {line:?}: {e}") };
    (
        field("version=").parse().unwrap_or_else(|e| parse_err(&e)),
        field("positions=")
            .parse()
            .unwrap_or_else(|e| parse_err(&e)),
        field("halted=").parse().unwrap_or_else(|e| parse_err(&e)),
    )
}

/// Restarts the daemon after a kill with a short `-t` and checks that it
/// started from `pre` (the `status --json` read after the kill): the same
/// version, positions and halt; every pending intent resolved first, with
/// exactly the intent's order; and the end state is `pre` plus the session's
/// fills. Returns the summary.
fn restart_and_check(data: &Path, config: &Path, sim_seed: u64, pre: &Value, ctx: &str) -> Value {
    let cfg = config.to_str().expect("a UTF-8 temp path");
    let seed = sim_seed.to_string();
    let o = run(
        data,
        &[
            "-c",
            cfg,
            "event-driven",
            "-t",
            RESTART_SECS,
            "--json",
            "--seed",
            &seed,
        ],
    );
    let out = success(&o, "event-driven -t (the restart)", ctx);
    let summary = parse_json(&out, "the restart's summary", ctx);
    let log: Vec<String> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(str::to_owned)
        .collect();

    // Recovery starts where the durable state stood at the kill.
    let pre_version = u64_of(pre, "version", ctx);
    let pre_positions = positions(&pre["positions"], ctx);
    let pre_halted = !pre["risk"]["halted"].is_null();
    assert_eq!(
        recovered(&log, ctx),
        (pre_version, pre_positions.len(), pre_halted),
        "{ctx}: the restart recovered another state than `status` showed after the kill"
    );

    // Pending intents are resolved first, oldest first, each by its own fill.
    let pending = pre["pending_orders"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: no pending_orders list: {pre}"));
    let fills = summary["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: the summary has no orders list: {summary}"));
    assert_eq!(
        u64_of(&summary, "start_version", ctx),
        pre_version + pending.len() as u64,
        "{ctx}: the session should start after the pending orders' fills"
    );
    for (i, intent) in pending.iter().enumerate() {
        let fill = fills
            .get(i)
            .unwrap_or_else(|| panic!("{ctx}: pending order {intent} was not resolved: {summary}"));
        assert_eq!(
            u64_of(fill, "version", ctx),
            pre_version + 1 + i as u64,
            "{ctx}: pending order {intent} filled out of order"
        );
        for field in [
            "order_id",
            "side",
            "security_id",
            "qty",
            "price",
            "charges",
            "ts",
        ] {
            assert_eq!(
                fill[field], intent[field],
                "{ctx}: the fill of pending order {intent} differs in {field}: {fill}"
            );
        }
    }
    if !pending.is_empty() {
        assert!(
            log.iter()
                .any(|l| l.contains("resolving an order journaled before a restart")),
            "{ctx}: the restart did not say it resolved pending orders"
        );
    }

    // Money: the end state is the start state plus this session's fills.
    let (pb, eb) = (&pre["balance"], &summary["balance"]);
    check_balance(eb, ctx);
    let fees_sum: Decimal = fills.iter().map(|f| decimal(f, "charges", ctx)).sum();
    let pnl_sum: Decimal = fills.iter().map(|f| decimal(f, "realized_pnl", ctx)).sum();
    assert_eq!(
        decimal(eb, "net_deposits", ctx),
        decimal(pb, "net_deposits", ctx),
        "{ctx}: the restart changed the deposits (a second funding?)"
    );
    assert_eq!(
        decimal(eb, "fees", ctx),
        decimal(pb, "fees", ctx) + fees_sum,
        "{ctx}: fees at the end != fees at the kill + the session's charges"
    );
    assert_eq!(
        decimal(eb, "realized_pnl", ctx),
        decimal(pb, "realized_pnl", ctx) + pnl_sum,
        "{ctx}: realized PnL at the end != at the kill + the session's exits"
    );
    // Positions: those at the kill, plus buys, minus sells (whole positions).
    let mut book = pre_positions;
    let mut last_version = pre_version;
    for f in fills {
        let version = u64_of(f, "version", ctx);
        assert!(
            version > last_version,
            "{ctx}: fills out of version order: {fill}",
            fill = f
        );
        last_version = version;
        let key = format!("{}:{}", f["segment"], f["security_id"]);
        let qty = u64_of(f, "qty", ctx);
        match f["side"].as_str() {
            Some("BUY") => *book.entry(key).or_insert(0) += qty,
            Some("SELL") => {
                let held = book.remove(&key).unwrap_or(0);
                assert_eq!(
                    held, qty,
                    "{ctx}: a sell of {qty} closed a position of {held}: {f}"
                );
            }
            other => panic!("{ctx}: a fill with side {other:?}: {f}"),
        }
    }
    assert_eq!(
        book,
        positions(&summary["positions"], ctx),
        "{ctx}: positions at the end != positions at the kill + the session's fills"
    );

    // What the restart left on disk is what it reported, with nothing pending.
    let post = status(data, ctx);
    assert_eq!(
        (&post["version"], &post["balance"]),
        (&summary["end_version"], &summary["balance"]),
        "{ctx}: status after the restart differs from its summary"
    );
    assert_eq!(
        post["pending_orders"],
        Value::Array(Vec::new()),
        "{ctx}: orders left pending by a clean stop"
    );
    summary
}

/// Whole-log checks: client order ids strictly increase with the version of
/// their fills (so none repeats, within a kind or across kinds), every submit
/// id is unique, every fill whose intent was seen matches it, and the counter
/// agrees.
fn check_order_ids(fills: &BTreeMap<u64, Value>, submits: &BTreeMap<u64, Value>, ctx: &str) {
    let mut last: Option<u64> = None;
    for (version, f) in fills {
        if f["kind"] == "cancel" {
            continue;
        }
        let id = u64_of(f, "order_id", ctx);
        assert!(
            last.is_none_or(|l| id > l),
            "{ctx}: order id {id} of the fill at version {version} does not follow {last:?}"
        );
        last = Some(id);
    }
    let mut submit_ids: BTreeMap<u64, (u64, &Value)> = BTreeMap::new();
    for (version, s) in submits {
        let id = u64_of(&s["op"], "order_id", ctx);
        if let Some((earlier, _)) = submit_ids.insert(id, (*version, &s["op"])) {
            panic!("{ctx}: order id {id} submitted at versions {earlier} and {version}");
        }
    }
    for (version, f) in fills {
        if f["kind"] == "cancel" {
            continue;
        }
        let id = u64_of(f, "order_id", ctx);
        if let Some((submitted, intent)) = submit_ids.get(&id) {
            assert!(
                submitted < version,
                "{ctx}: order {id} filled at {version} before its submit at {submitted}"
            );
            let side = if f["kind"] == "buy" { "BUY" } else { "SELL" };
            assert_eq!(intent["side"], side, "{ctx}: order {id}: {intent} vs {f}");
            assert_eq!(
                intent["qty"], f["qty"],
                "{ctx}: order {id}: {intent} vs {f}"
            );
        }
    }
}

/// SIGKILLs of a trading daemon, each followed by a short restart: the restart
/// starts from the durable state, resolves every pending intent once, conserves
/// money; no client order id repeats in the log (see the module docs).
#[test]
fn sigkill_and_restart_keep_the_durable_state_and_orders_happen_once() {
    let seed = env_u64("DAEMON_SEED").unwrap_or_else(|| fastrand::u64(..));
    let kills = env_u64("DAEMON_KILLS").unwrap_or(KILLS_DEFAULT).max(1);
    println!("daemon crash test: DAEMON_SEED={seed} DAEMON_KILLS={kills}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    // No daily loss limit: the losses of many short sessions must not halt.
    let config = config_with(t.path(), "crash.yml", "  enable_daily_loss_limit: false\n");
    let started = Instant::now();
    let (mut fills, mut submits) = (BTreeMap::new(), BTreeMap::new());
    let (mut with_pending, mut with_positions) = (0u64, 0u64);
    for kill in 0..kills {
        let ctx = format!("kill {kill} (DAEMON_SEED={seed})");
        // The first kill always comes right after a buy's intent is durable.
        let delay_ms = if kill == 0 || rng.bool() {
            0
        } else {
            rng.u64(1..=KILL_DELAY_MS_MAX)
        };
        let (sim_seed, restart_seed) = (rng.u64(..1 << 32), rng.u64(..1 << 32));
        let mut d = Daemon::spawn(&data, &config, &["--seed", &sim_seed.to_string()], &ctx);
        d.wait_for("buy order", ORDER_TIMEOUT, |l| {
            l.contains("order sent") && l.contains("side=BUY")
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        d.sigkill();

        let pre = status(&data, &ctx);
        check_balance(&pre["balance"], &ctx);
        let pending = pre["pending_orders"].as_array().map_or(0, Vec::len);
        let open = pre["positions"].as_array().map_or(0, Vec::len);
        assert!(
            pending <= 1,
            "{ctx}: orders are placed one at a time: {pre}"
        );
        with_pending += u64::from(pending > 0);
        with_positions += u64::from(open > 0);
        let dumped = dump(&data, &ctx);
        let last = dumped.keys().next_back().copied();
        assert_eq!(
            last,
            pre["version"].as_u64(),
            "{ctx}: the dump does not end at status's version"
        );
        merge(
            &mut submits,
            dumped
                .into_iter()
                .filter(|(_, v)| v["op"]["kind"] == "submit")
                .collect(),
            "a submit",
            &ctx,
        );
        println!(
            "{ctx}: killed {delay_ms} ms after a buy; version {}, {open} open position(s), {pending} pending",
            pre["version"]
        );

        let summary = restart_and_check(&data, &config, restart_seed, &pre, &ctx);
        println!(
            "{ctx}: restart ran versions {}..={} with {} fill(s)",
            summary["start_version"],
            summary["end_version"],
            summary["orders"].as_array().map_or(0, Vec::len)
        );
        merge(&mut fills, orders(&data, &ctx), "a fill", &ctx);
    }
    let ctx = format!("after {kills} kills (DAEMON_SEED={seed})");
    assert!(
        !submits.is_empty(),
        "{ctx}: no order intent was seen in the log"
    );
    check_order_ids(&fills, &submits, &ctx);
    let end = status(&data, &ctx);
    assert_eq!(
        decimal(&end["balance"], "net_deposits", &ctx),
        Decimal::from_str(STARTING_BALANCE).expect("a decimal"),
        "{ctx}: the wallet was funded more than once"
    );
    let max_id = fills
        .values()
        .filter_map(|f| f["order_id"].as_u64())
        .max()
        .unwrap_or(0);
    assert_eq!(
        end["counters"]["last_order_id"].as_u64(),
        Some(max_id),
        "{ctx}: the order counter differs from the highest filled order id"
    );
    assert!(
        with_positions + with_pending > 0,
        "{ctx}: no kill landed with an open position or a pending order"
    );
    println!(
        "daemon crash test: DAEMON_SEED={seed}: {kills} kills in {:.1} s; {with_pending} left a pending order, \
         {with_positions} an open position; {} fills, {} submits seen",
        started.elapsed().as_secs_f64(),
        fills.len(),
        submits.len()
    );
}

/// A daily-loss HALT stays set across SIGKILLs and restarts, the restart
/// finishes flattening, and no buy is submitted after the halt. (The day roll
/// at IST midnight lifts a daily-loss halt by design: a run that straddles
/// midnight IST would fail here.)
#[test]
fn the_halted_latch_survives_kills_and_restarts() {
    let seed = env_u64("DAEMON_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!("daemon halt test: DAEMON_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    // A one-rupee daily loss limit: the first buy's charges halt trading.
    let config = config_with(
        t.path(),
        "halt.yml",
        "  max_day_loss: 1\n  max_daily_loss_rs: 1\n",
    );

    // Run until the halt flattens the position, and kill right then: the latch
    // is durable (the risk loop waits for it before its exits), the exit is
    // usually not yet.
    let ctx = format!("halt, first run (DAEMON_SEED={seed})");
    let mut d = Daemon::spawn(
        &data,
        &config,
        &["--seed", &rng.u64(..1 << 32).to_string()],
        &ctx,
    );
    d.wait_for("the halt's exit", ORDER_TIMEOUT, |l| {
        l.contains("risk: exit position") && l.contains("daily loss limit")
    });
    d.sigkill();
    let pre = status(&data, &ctx);
    let halted = pre["risk"]["halted"].clone();
    assert_eq!(halted["reason"], "daily_loss_limit", "{ctx}: {pre}");
    let mut records = dump(&data, &ctx);
    let halt_version = records
        .iter()
        .find(|(_, r)| r["op"]["kind"] == "halt")
        .map(|(v, _)| *v)
        .unwrap_or_else(|| panic!("{ctx}: no halt record in the log"));
    let submits_before: BTreeSet<u64> = records
        .range(..halt_version)
        .filter(|(_, r)| r["op"]["kind"] == "submit")
        .map(|(_, r)| u64_of(&r["op"], "order_id", &ctx))
        .collect();
    println!(
        "{ctx}: halted at version {halt_version}; killed at version {} with {} open position(s), {} pending",
        pre["version"],
        pre["positions"].as_array().map_or(0, Vec::len),
        pre["pending_orders"].as_array().map_or(0, Vec::len),
    );

    // A buy after the halt is allowed only as the fill of an earlier intent.
    let check_buys = |fills: &[Value], ctx: &str| {
        for f in fills {
            if f["side"] == "BUY" && u64_of(f, "version", ctx) > halt_version {
                let id = u64_of(f, "order_id", ctx);
                assert!(
                    submits_before.contains(&id),
                    "{ctx}: a buy after the halt at version {halt_version}: {f}"
                );
            }
        }
    };

    // Restart (short -t): still halted, no new entries.
    let ctx = format!("halt, first restart (DAEMON_SEED={seed})");
    let summary = restart_and_check(&data, &config, rng.u64(..1 << 32), &pre, &ctx);
    assert!(
        summary["halted"].is_string(),
        "{ctx}: the restart is not halted: {summary}"
    );
    check_buys(
        summary["orders"].as_array().map_or(&[], Vec::as_slice),
        &ctx,
    );
    // The daily loss limit closes everything; a restart finishes the job.
    assert_eq!(
        summary["positions"],
        Value::Array(Vec::new()),
        "{ctx}: a position is still open after the restart of a halted wallet"
    );

    // Kill a running daemon again, then restart once more.
    let ctx = format!("halt, second kill (DAEMON_SEED={seed})");
    let mut d = Daemon::spawn(
        &data,
        &config,
        &["--seed", &rng.u64(..1 << 32).to_string()],
        &ctx,
    );
    let line = d.wait_for("recovery", START_TIMEOUT, |l| l.contains("state recovered"));
    assert!(
        line.contains("halted=true"),
        "{ctx}: recovered without the halt: {line}"
    );
    std::thread::sleep(Duration::from_millis(rng.u64(1_000..=2_500)));
    d.sigkill();
    let pre = status(&data, &ctx);
    records = dump(&data, &ctx);
    for (version, r) in &records {
        assert!(
            !(r["op"]["kind"] == "submit" && r["op"]["side"] == "BUY"),
            "{ctx}: a buy was submitted at version {version} while halted: {r}"
        );
    }
    let ctx = format!("halt, second restart (DAEMON_SEED={seed})");
    let summary = restart_and_check(&data, &config, rng.u64(..1 << 32), &pre, &ctx);
    assert!(
        summary["halted"].is_string(),
        "{ctx}: the restart is not halted: {summary}"
    );
    check_buys(
        summary["orders"].as_array().map_or(&[], Vec::as_slice),
        &ctx,
    );

    let end = status(&data, &ctx);
    assert_eq!(
        end["risk"]["halted"], halted,
        "{ctx}: the latch changed across restarts"
    );
    for (version, f) in orders(&data, &ctx) {
        if f["kind"] == "buy" && version > halt_version {
            let id = u64_of(&f, "order_id", &ctx);
            assert!(
                submits_before.contains(&id),
                "{ctx}: a buy filled at version {version} after the halt at {halt_version}: {f}"
            );
        }
    }
}

/// SIGTERM: exit 0, the summary on stdout, a report under DATA/reports and a
/// snapshot at the final version.
#[test]
fn sigterm_prints_the_summary_and_leaves_a_report_and_a_final_snapshot() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let ctx = "sigterm";
    let mut d = Daemon::spawn(&data, &fast_yml(), &["--json"], ctx);
    d.wait_for("running", START_TIMEOUT, |l| l.contains("running"));
    // Let it trade a little.
    std::thread::sleep(Duration::from_secs(3));
    let (status_code, stdout, log) = d.signal_and_wait("TERM");
    assert_eq!(
        status_code.code(),
        Some(0),
        "{ctx}: exit status {status_code}:\n{}",
        log.join("\n")
    );
    assert!(
        log.iter().any(|l| l.contains("final snapshot written")),
        "{ctx}: no final snapshot line:\n{}",
        log.join("\n")
    );
    let summary = parse_json(&stdout, "the summary on stdout", ctx);
    let end_version = u64_of(&summary, "end_version", ctx);
    assert!(end_version >= 1, "{ctx}: {summary}");
    check_balance(&summary["balance"], ctx);
    assert!(
        summary["tasks"].as_array().is_some_and(|t| !t.is_empty()),
        "{ctx}: no task stats: {summary}"
    );

    // The report: DATA/reports/<session_id>.json, the same summary.
    let session_id = summary["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: no session_id: {summary}"));
    let report = data.join("reports").join(format!("{session_id}.json"));
    let text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("{ctx}: cannot read {}: {e}", report.display()));
    let written = parse_json(&text, "the report", ctx);
    assert_eq!(written["end_version"], summary["end_version"], "{ctx}");
    assert_eq!(written["balance"], summary["balance"], "{ctx}");

    // The final snapshot covers the final version.
    let snapshots: Vec<String> = std::fs::read_dir(data.join("snapshots"))
        .unwrap_or_else(|e| panic!("{ctx}: no snapshot directory: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("snap-"))
        .collect();
    assert!(!snapshots.is_empty(), "{ctx}: no snapshot file");
    let o = run(&data, &["wal", "verify", "--json"]);
    let verify = parse_json(&success(&o, "wal verify --json", ctx), "wal verify", ctx);
    assert_eq!(verify["ok"], true, "{ctx}: {verify}");
    assert_eq!(verify["version"], end_version, "{ctx}: {verify}");
    assert_eq!(
        verify["snapshot_version"], end_version,
        "{ctx}: the snapshot is not at the final version: {verify}"
    );
}

/// Every file under `dir` with its bytes, to prove a command changed nothing.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                out.extend(tree(&p));
            } else {
                let bytes = std::fs::read(&p).expect("read a file");
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A bad config or argument: exit 2, one `file:line:col: key.path` line per
/// problem, nothing created or changed in the data dir.
#[test]
fn config_errors_exit_2_with_one_line_per_problem_and_touch_nothing() {
    let t = tempfile::tempdir().unwrap();
    // (file, text, what each stderr line must contain, one entry per line)
    let cases: [(&str, &str, &[&[&str]]); 5] = [
        (
            "typo.yml",
            "global:\n  decision_interval_sex: 1\n",
            &[&[
                "typo.yml:2:3:",
                "global.decision_interval_sex",
                "decision_interval_sec",
            ]],
        ),
        (
            "negative.yml",
            "global:\n  risk_loop_interval_sec: -0.5\n",
            &[&["negative.yml:2:", "global.risk_loop_interval_sec", "-0.5"]],
        ),
        (
            "two.yml",
            "global:\n  decision_interval_sec: -1\n  market_data_interval_sec: -2\n",
            &[
                &["two.yml:2:", "global.decision_interval_sec", "-1"],
                &["two.yml:3:", "global.market_data_interval_sec", "-2"],
            ],
        ),
        (
            "quote.yml",
            "global:\n  feed: \"sim\n",
            &[&["quote.yml:2:"]],
        ),
        (
            "tab.yml",
            "global:\n\tdecision_interval_sec: 1\n",
            &[&["tab.yml:2:"]],
        ),
    ];
    // An existing data dir must stay byte for byte as it was.
    let existing = t.path().join("existing");
    success(
        &run(&existing, &["deposit", "1000"]),
        "deposit",
        "config errors",
    );
    let before = tree(&existing);
    for (name, text, expected) in cases {
        let path = t.path().join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().expect("a UTF-8 temp path");
        let fresh = t.path().join(format!("fresh-{name}"));
        for data in [&fresh, &existing] {
            let o = run(data, &["-c", path, "event-driven", "-t", "1"]);
            let err = String::from_utf8_lossy(&o.stderr);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(o.status.code(), Some(2), "{name}: {}\n{err}", o.status);
            assert!(o.stdout.is_empty(), "{name}: printed on stdout");
            assert_eq!(
                lines.len(),
                expected.len(),
                "{name}: one line per problem expected:\n{err}"
            );
            for (line, wanted) in lines.iter().zip(expected) {
                for w in *wanted {
                    assert!(line.contains(w), "{name}: {w:?} missing in {line:?}");
                }
                // file:line:col: the position has a line and a column.
                let pos = line
                    .split(name)
                    .nth(1)
                    .unwrap_or_else(|| panic!("{name}: no file name in {line:?}"));
                let mut parts = pos.split(':');
                assert_eq!(parts.next(), Some(""), "{name}: {line:?}");
                for what in ["line", "column"] {
                    assert!(
                        parts.next().is_some_and(|p| p.parse::<u32>().is_ok()),
                        "{name}: no {what} number in {line:?}"
                    );
                }
            }
        }
        assert!(!fresh.exists(), "{name}: the data dir was created");
    }
    // Bad arguments too: exit 2, nothing created.
    for args in [
        &[
            "-c",
            fast_yml().to_str().unwrap(),
            "event-driven",
            "-t",
            "0",
        ][..],
        &["event-driven", "--feed", "telepathy"][..],
    ] {
        let fresh = t.path().join("fresh-args");
        let o = run(&fresh, args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}\n{err}", o.status);
        assert_eq!(
            err.lines().count(),
            1,
            "{args:?}: one line expected:\n{err}"
        );
        assert!(!fresh.exists(), "{args:?}: the data dir was created");
    }
    assert!(
        tree(&existing) == before,
        "a refused start changed the data dir"
    );
}

/// A second daemon on a data dir in use exits 1 naming the first one's pid.
#[test]
fn a_second_daemon_on_the_same_data_dir_is_refused_with_the_holders_pid() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let ctx = "lock";
    let mut first = Daemon::spawn(&data, &fast_yml(), &["--json"], ctx);
    first.wait_for("running", START_TIMEOUT, |l| l.contains("running"));
    let cfg = fast_yml();
    let o = run(
        &data,
        &[
            "-c",
            cfg.to_str().unwrap(),
            "event-driven",
            "-t",
            "1",
            "--json",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{ctx}: {}\n{err}", o.status);
    assert!(
        o.stdout.is_empty(),
        "{ctx}: the second daemon printed a summary"
    );
    assert!(
        err.contains(&format!("locked by pid {}", first.pid())),
        "{ctx}: the message does not name pid {}: {err}",
        first.pid()
    );
    assert_eq!(err.lines().count(), 1, "{ctx}: one line expected:\n{err}");
    // The first one is unharmed and stops cleanly.
    let (code, stdout, log) = first.signal_and_wait("TERM");
    assert_eq!(code.code(), Some(0), "{ctx}: {code}:\n{}", log.join("\n"));
    parse_json(&stdout, "the first daemon's summary", ctx);
}
