//! The crash test of issue 3: re-execute the real binary as
//! `dhan_scalper stress --print-acks`, SIGKILL it at a random time, and check
//! what is on disk after every kill:
//!
//! - `status --json` shows a version at least as high as every `ack V` printed
//!   so far (by this run and all earlier ones);
//! - `wal dump --json` is contiguous from its snapshot base (or from 1), every
//!   balance keeps the invariants (`total == available + used`, the
//!   conservation law `total == net_deposits + realized_pnl - fees`, no negative
//!   `available`, `used` or `fees`), and the records an earlier dump showed are
//!   unchanged (history is never rewritten). The dump itself re-applies every
//!   operation and refuses a post-image that disagrees;
//! - `status` equals the last dump line (version and balance);
//! - now and then `wal verify` exits 0, and `wal checkpoint` runs between kills
//!   so that later recoveries start from a snapshot.
//!
//! Kill schedule, all times random: most kills come 10..=500 ms after the
//! spawn. In a debug build the recovery alone takes longer than that (the read
//! of a 64 MiB preallocated segment dominates), so those land during start-up
//! or recovery; one run in five is therefore killed 10..=500 ms after the
//! child's *first ack*, so that commits are in flight when the kill lands. One
//! run in ten is killed 1..=5 ms after its spawn, with the log of the earlier
//! runs on disk. The first run is ack-relative, so the data dir exists before
//! any kill. The test reports how many kills came before the child printed
//! anything (and asserts that at least one did).
//!
//! Runtime: each `status`/`dump` costs about 0.5 s in a debug build whatever
//! the log holds, plus about 0.1 ms a dumped record, so a checkpoint also
//! follows any run after which the log holds many records past the snapshot.
//!
//! `DHAN_SEED` replays a run (kill times and stress seeds); `DHAN_CRASH_KILLS`
//! raises the number of kills for soaks.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{SIGKILL, bin, check_balance, env_u64, run, success};

const KILLS_DEFAULT: u64 = 50;
/// One run in this many is killed 1..=5 ms after its spawn.
const EARLY_KILL_EVERY: u64 = 10;
/// One run in this many is killed relative to its first ack.
const ACK_RELATIVE_EVERY: u64 = 5;
/// One run in this many is followed by `wal checkpoint` (run 4, 14, ...).
const CHECKPOINT_EVERY: u64 = 10;
/// ... and so is any run after which the log holds more records than this
/// after the snapshot.
const CHECKPOINT_RECORDS: u64 = 2_000;
/// One run in this many also runs `wal verify` (run 7, 17, ...).
const VERIFY_EVERY: u64 = 10;
/// How long a child may take to print its first ack (generous: a debug build
/// on a loaded machine).
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(120);
/// When a run's child is killed.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// 1..=5 ms after the spawn: during start-up or recovery.
    Early(Duration),
    /// This long after the spawn.
    AfterSpawn(Duration),
    /// This long after the first ack.
    AfterFirstAck(Duration),
}

/// What one killed child printed.
#[derive(Debug, Default)]
struct Killed {
    /// Complete stdout lines.
    lines: Vec<String>,
    /// The highest `ack V`.
    ack_max: u64,
    stderr: String,
}

fn receive_until(rx: &mpsc::Receiver<String>, deadline: Instant, lines: &mut Vec<String>) {
    // Bound: ends at the deadline or when the child's stdout closes.
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
}

/// Spawns `stress`, kills it as `kill_at` says, and returns what it printed.
fn stress_and_kill(data: &Path, seed: u64, kill_at: KillAt, ctx: &str) -> Killed {
    let mut child = bin()
        .arg("--data-dir")
        .arg(data)
        .args([
            "stress",
            "--threads",
            "2",
            "--secs",
            "30",
            "--pipeline",
            "8",
            "--print-acks",
            "--seed",
        ])
        .arg(seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{ctx}: cannot spawn stress: {e}"));
    let start = Instant::now();
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut buf = Vec::new();
        // Bound: ends at EOF, when the child dies.
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                // A line cut by the kill has no newline: not a complete ack.
                Ok(_) if buf.last() != Some(&b'\n') => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf[..buf.len() - 1]).into_owned();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut lines = Vec::new();
    match kill_at {
        KillAt::Early(d) | KillAt::AfterSpawn(d) => receive_until(&rx, start + d, &mut lines),
        KillAt::AfterFirstAck(d) => match rx.recv_timeout(FIRST_ACK_TIMEOUT) {
            Ok(line) => {
                lines.push(line);
                receive_until(&rx, Instant::now() + d, &mut lines);
            }
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "{ctx}: no first ack from stress ({e}; {status:?}): {}",
                    errors.join().unwrap_or_default()
                );
            }
        },
    }
    child.kill().expect("SIGKILL the child"); // SIGKILL
    let status = child.wait().expect("reap the child");
    reader.join().expect("the stdout reader");
    lines.extend(rx.try_iter());
    let stderr = errors.join().expect("the stderr reader");
    assert_eq!(
        status.signal(),
        Some(SIGKILL),
        "{ctx}: stress ended by itself ({status}) before the kill: {stderr}"
    );
    let mut ack_max = 0;
    for line in &lines {
        if let Some(v) = line.strip_prefix("ack ") {
            let v: u64 = v
                .parse()
                .unwrap_or_else(|e| panic!("{ctx}: bad ack line {line:?}: {e}"));
            ack_max = ack_max.max(v);
        }
    }
    Killed {
        lines,
        ack_max,
        stderr,
    }
}

/// What a dump showed.
#[derive(Debug)]
struct Dumped {
    /// The snapshot version it starts from (0: none).
    base: u64,
    /// The version of the last line.
    version: u64,
    /// The balance of the last line.
    balance: Value,
}

/// Checks the dump and adds its records to `history` (checking that the ones
/// already there are unchanged).
fn check_dump(dump: &str, history: &mut BTreeMap<u64, String>, ctx: &str) -> Dumped {
    let mut lines = dump.lines().peekable();
    let mut last: Option<(u64, Value)> = None;
    if let Some(first) = lines.peek() {
        let v: Value = serde_json::from_str(first)
            .unwrap_or_else(|e| panic!("{ctx}: dump line {first:?}: {e}"));
        if let Some(snap) = v.get("snapshot") {
            let version = snap["version"]
                .as_u64()
                .unwrap_or_else(|| panic!("{ctx}: snapshot line without a version: {first}"));
            check_balance(&snap["balance"], &format!("{ctx}: snapshot {version}"));
            last = Some((version, snap["balance"].clone()));
            lines.next();
        }
    }
    let base = last.as_ref().map_or(0, |(v, _)| *v);
    for (expected, line) in (base + 1..).zip(lines) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{ctx}: dump line {line:?}: {e}"));
        let version = v["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{ctx}: dump line without a version: {line}"));
        assert_eq!(
            version, expected,
            "{ctx}: the dump is not contiguous from its base {base}"
        );
        assert!(v["op"]["kind"].is_string(), "{ctx}: no op kind: {line}");
        check_balance(&v["balance"], &format!("{ctx}: version {version}"));
        match history.get(&version) {
            Some(before) => assert_eq!(
                before, line,
                "{ctx}: record {version} changed since an earlier dump"
            ),
            None => {
                history.insert(version, line.to_owned());
            }
        }
        last = Some((version, v["balance"].clone()));
    }
    // Records below the base are covered by the snapshot: no need to keep them.
    history.retain(|v, _| *v > base);
    let (version, balance) = last.unwrap_or_else(|| panic!("{ctx}: the dump is empty"));
    Dumped {
        base,
        version,
        balance,
    }
}

#[test]
fn acknowledged_commits_survive_sigkill_and_the_log_stays_consistent() {
    let seed = env_u64("DHAN_SEED").unwrap_or_else(|| fastrand::u64(..));
    let kills = env_u64("DHAN_CRASH_KILLS").unwrap_or(KILLS_DEFAULT);
    println!("crash test: DHAN_SEED={seed} DHAN_CRASH_KILLS={kills}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let started = Instant::now();
    let mut acked_max = 0u64;
    let mut ack_runs = 0u64;
    let mut silent_kills = 0u64;
    let mut early_kills = 0u64;
    let mut early_silent = 0u64;
    let mut checkpoints = 0u64;
    let mut verifies = 0u64;
    let mut history = BTreeMap::new();
    let mut version = 0u64;
    let (mut stress_time, mut check_time, mut checkpoint_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for run_index in 0..kills {
        let ctx = format!("run {run_index} (DHAN_SEED={seed})");
        let kill_at = if run_index % EARLY_KILL_EVERY == EARLY_KILL_EVERY - 1 {
            KillAt::Early(Duration::from_millis(rng.u64(1..=5)))
        } else if run_index % ACK_RELATIVE_EVERY == 0 {
            KillAt::AfterFirstAck(Duration::from_millis(rng.u64(10..=500)))
        } else {
            KillAt::AfterSpawn(Duration::from_millis(rng.u64(10..=500)))
        };
        let stress_seed = rng.u64(..);
        let t0 = Instant::now();
        let killed = stress_and_kill(&data, stress_seed, kill_at, &ctx);
        stress_time += t0.elapsed();
        let silent = killed.lines.is_empty();
        silent_kills += u64::from(silent);
        if let KillAt::Early(_) = kill_at {
            early_kills += 1;
            early_silent += u64::from(silent);
        }
        if killed.ack_max > 0 {
            ack_runs += 1;
        }
        acked_max = acked_max.max(killed.ack_max);
        println!(
            "{ctx}: {kill_at:?}, {} line(s), ack max {}{}",
            killed.lines.len(),
            killed.ack_max,
            if killed.stderr.is_empty() {
                String::new()
            } else {
                format!(", stderr: {}", killed.stderr.trim())
            }
        );

        // The read-only checks run side by side (two cores).
        let t0 = Instant::now();
        let verify = run_index % VERIFY_EVERY == VERIFY_EVERY - 3;
        let (status, dump, verified) = std::thread::scope(|s| {
            let status = s.spawn(|| run(&data, &["status", "--json"]));
            let verified = verify.then(|| s.spawn(|| run(&data, &["wal", "verify"])));
            let dump = run(&data, &["wal", "dump", "--json"]);
            (
                status.join().unwrap(),
                dump,
                verified.map(|h| h.join().unwrap()),
            )
        });
        let status: Value = serde_json::from_str(&success(&status, "status --json", &ctx))
            .unwrap_or_else(|e| panic!("{ctx}: status --json: {e}"));
        let status_version = status["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{ctx}: status without a version: {status}"));
        assert!(
            status_version >= acked_max,
            "{ctx}: status shows version {status_version} but version {acked_max} was acknowledged"
        );
        assert!(
            status_version >= version,
            "{ctx}: the version went back from {version} to {status_version}"
        );
        version = status_version;
        check_balance(&status["balance"], &format!("{ctx}: status"));
        let dumped = check_dump(&success(&dump, "wal dump --json", &ctx), &mut history, &ctx);
        assert_eq!(
            (status_version, &status["balance"]),
            (dumped.version, &dumped.balance),
            "{ctx}: status differs from the last dump line"
        );
        if let Some(v) = verified {
            success(&v, "wal verify", &ctx);
            verifies += 1;
        }
        check_time += t0.elapsed();

        // Every tenth run, and whenever the log since the snapshot grew long
        // (the debug build's dump costs about 0.1 ms a record).
        if run_index % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 6
            || dumped.version - dumped.base > CHECKPOINT_RECORDS
        {
            let t0 = Instant::now();
            let out = success(&run(&data, &["wal", "checkpoint"]), "wal checkpoint", &ctx);
            let at: u64 = out
                .trim()
                .strip_prefix("snapshot written at version ")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{ctx}: unexpected checkpoint output {out:?}"));
            assert_eq!(at, status_version, "{ctx}: the checkpoint's version");
            checkpoints += 1;
            checkpoint_time += t0.elapsed();
        }
    }
    println!(
        "crash test: DHAN_SEED={seed}: {kills} kills in {:.1} s; {silent_kills} before the child printed anything \
         ({early_silent} of the {early_kills} early ones); {ack_runs} runs acknowledged commits; \
         highest ack {acked_max}, final version {version}; {checkpoints} checkpoints, {verifies} verifies; \
         time in stress {:.1} s, in checks {:.1} s, in checkpoints {:.1} s",
        started.elapsed().as_secs_f64(),
        stress_time.as_secs_f64(),
        check_time.as_secs_f64(),
        checkpoint_time.as_secs_f64(),
    );
    assert!(
        acked_max > 0,
        "DHAN_SEED={seed}: nothing was ever acknowledged"
    );
    assert!(
        silent_kills >= 1,
        "DHAN_SEED={seed}: no kill landed before the child printed anything (during recovery)"
    );
}
