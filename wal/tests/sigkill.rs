//! SIGKILL: a child process appends records and reports every acknowledged
//! sequence number over a pipe; the test kills it at random times (some during
//! recovery), then checks that every acknowledged record survived and that the
//! recovered history is a gapless prefix with the right contents.
//!
//! The child is this same test binary, re-executed with `WAL_CRASH_CHILD` set.
//! `WAL_SIGKILL_SEED` replays the kill delays (every tenth kill targets
//! recovery whatever the seed; what the child has written by then depends on
//! the machine); `WAL_KILLS` raises the number of kills for soaks. On a
//! failure the data directory is kept and its path printed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wal::{FsStorage, Options, Recovered, Storage, Wal};

const KILLS_DEFAULT: u64 = 100;
/// Kills that should land during recovery: one in ten.
const RECOVERY_KILL_EVERY: u64 = 10;
/// How long a child may take to say it started.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(10);

fn opts() -> Options {
    Options {
        segment_bytes: 16 << 10,
        payload_bytes_max: 1024,
        in_flight_max: 256,
        ..Options::default()
    }
}

fn payload(seq: u64) -> Vec<u8> {
    let len = (seq * 13 % 300) as usize + 8;
    let mut v: Vec<u8> = (0..len).map(|i| (seq as usize ^ i) as u8).collect();
    v[..8].copy_from_slice(&seq.to_le_bytes());
    v
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The child: recover, then append forever in pipelined groups, printing
/// `ack N` (flushed) once N is durable.
fn child(dir: &Path) {
    let out = std::io::stdout();
    let mut out = out.lock();
    // Start on a fresh line: the test harness may have left its own
    // "test sigkill_child ... " on the current one.
    writeln!(out, "\nrecovering").unwrap();
    out.flush().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir).unwrap());
    let rec = Recovered::open(storage, &opts()).unwrap();
    let mut next = rec.next_seq();
    let log: Wal = rec.start(None).unwrap();
    writeln!(out, "ready {next}").unwrap();
    out.flush().unwrap();
    loop {
        let group = 1 + next % 8;
        for seq in next..next + group {
            log.append(seq, payload(seq)).unwrap();
        }
        next += group;
        log.wait_durable(next - 1).unwrap();
        writeln!(out, "ack {}", next - 1).unwrap();
        out.flush().unwrap();
    }
}

/// The child's entry point, run only by `acknowledged_records_survive_sigkill`.
#[test]
#[ignore = "entry point of the child process that the SIGKILL test re-executes"]
fn sigkill_child() {
    match std::env::var("WAL_CRASH_CHILD") {
        Ok(dir) => child(Path::new(&dir)),
        // Run by `--ignored` / `--include-ignored` rather than by the test.
        Err(_) => println!("sigkill_child: not a child run (WAL_CRASH_CHILD unset); nothing to do"),
    }
}

/// A temporary directory that is kept (and its path printed) when the test
/// fails, so the log that failed can be examined.
struct KeepOnPanic(Option<tempfile::TempDir>);

impl KeepOnPanic {
    fn path(&self) -> &Path {
        self.0.as_ref().expect("present until dropped").path()
    }
}

impl Drop for KeepOnPanic {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take()
            && std::thread::panicking()
        {
            println!(
                "sigkill test failed: the data directory is kept at {}",
                dir.keep().display()
            );
        }
    }
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let seed = env_u64("WAL_SIGKILL_SEED").unwrap_or_else(|| fastrand::u64(..));
    let kills = env_u64("WAL_KILLS").unwrap_or(KILLS_DEFAULT);
    println!("sigkill test: WAL_SIGKILL_SEED={seed} WAL_KILLS={kills}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = KeepOnPanic(Some(tempfile::tempdir().unwrap()));
    let exe = std::env::current_exe().unwrap();
    let mut acked_max = 0u64;
    let mut during_recovery = 0u64;
    for run in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "sigkill_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("WAL_CRASH_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let in_recovery = run % RECOVERY_KILL_EVERY == 0;
        let kill_after = Duration::from_millis(rng.u64(0..=200));
        let start = Instant::now();
        let mut lines = Vec::new();
        if in_recovery {
            // Kill the moment the child says it is recovering (bounded: the
            // child prints it first, and recv_timeout ends the wait otherwise).
            while let Ok(line) = rx.recv_timeout(CHILD_START_TIMEOUT) {
                let recovering = line == "recovering";
                lines.push(line);
                if recovering {
                    break;
                }
            }
        } else {
            while let Some(left) = kill_after.checked_sub(start.elapsed()) {
                match rx.recv_timeout(left) {
                    Ok(line) => lines.push(line),
                    Err(_) => break,
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        if in_recovery && !lines.iter().any(|l| l.starts_with("ready")) {
            during_recovery += 1;
        }
        for l in &lines {
            if let Some(n) = l.strip_prefix("ack ") {
                acked_max = acked_max.max(n.parse().unwrap());
            }
        }
        // Recover in this process and check.
        let storage: Arc<dyn Storage> = Arc::new(FsStorage::create_dir(dir.path()).unwrap());
        let rec = Recovered::open(storage, &opts()).unwrap_or_else(|e| {
            panic!("run {run} (WAL_SIGKILL_SEED={seed}): recovery failed: {e}")
        });
        for (expect, (seq, p)) in (1..).zip(rec.records().iter()) {
            assert_eq!(seq, expect, "run {run} (WAL_SIGKILL_SEED={seed}): gap");
            assert_eq!(
                p,
                payload(seq).as_slice(),
                "run {run} (WAL_SIGKILL_SEED={seed}): record {seq}"
            );
        }
        assert!(
            rec.next_seq() > acked_max,
            "run {run} (WAL_SIGKILL_SEED={seed}): acked {acked_max} but recovered only up to {}",
            rec.next_seq() - 1
        );
    }
    println!(
        "sigkill test: {kills} kills, {during_recovery} during recovery, {acked_max} records acknowledged"
    );
    assert!(acked_max > 0, "no record was ever acknowledged");
    assert!(
        during_recovery * RECOVERY_KILL_EVERY * 2 >= kills,
        "only {during_recovery} of {kills} kills landed during recovery"
    );
}
