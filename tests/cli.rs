//! The binary end to end: `stress`, `wal verify`, and every bad-input path
//! (one line, the documented exit code, nothing changed on disk).
//!
//! The randomized `stress` run prints its seed; `CLI_SEED=N` runs that seed
//! again (its two threads draw from the state they read, so the interleaving
//! still varies; every assertion names the seed). The other `stress` runs only
//! set up a log and use fixed seeds.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dhan_scalper"))
}

fn run(args: &[&str], data: &Path) -> Output {
    bin()
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every file under `dir` with its bytes, to prove a command changed nothing.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(tree(&p));
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The seed of a randomized run: `CLI_SEED` if set, else a fresh one; printed.
fn seed() -> u64 {
    let seed = std::env::var("CLI_SEED")
        .ok()
        .map(|v| v.parse().expect("CLI_SEED is a u64"))
        .unwrap_or_else(|| fastrand::u64(..));
    println!("CLI_SEED={seed}");
    seed
}

#[test]
fn stress_writes_a_log_that_verifies_and_acks_are_printed() {
    let seed = seed();
    let ctx = format!("CLI_SEED={seed}");
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let seed_arg = seed.to_string();
    let o = run(
        &[
            "stress",
            "--threads",
            "2",
            "--ops",
            "500",
            "--pipeline",
            "4",
            "--print-acks",
            "--seed",
            &seed_arg,
        ],
        &data,
    );
    assert!(o.status.success(), "{ctx}: {}", stderr(&o));
    let out = stdout(&o);
    let acks: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("ack ")?.parse().ok())
        .collect();
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let committed = last["committed"].as_u64().unwrap();
    assert_eq!(last["seed"].as_u64(), Some(seed), "{ctx}: {last}");
    assert_eq!(committed + last["rejected"].as_u64().unwrap(), 500, "{ctx}");
    assert_eq!(last["ops"], 500, "{ctx}");
    assert_eq!(acks.len() as u64, committed, "{ctx}: one ack per commit");
    for key in [
        "ops",
        "seconds",
        "commits_per_sec",
        "cas_retries_per_commit",
    ] {
        assert!(last.get(key).is_some(), "{ctx}: missing {key}: {last}");
    }
    assert!(
        last["latency_us"]["p50"].as_u64().unwrap() <= last["latency_us"]["max"].as_u64().unwrap(),
        "{ctx}: {last}"
    );

    let o = run(&["wal", "verify", "--json"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    // The starting deposit is version 1, then one version per commit.
    let last_version = committed + 1;
    assert_eq!(
        (v["records"].as_u64(), v["last_seq"].as_u64()),
        (Some(last_version), Some(last_version)),
        "{ctx}"
    );
    assert_eq!(*acks.iter().max().unwrap(), last_version, "{ctx}");
    assert_eq!(v["version"].as_u64(), Some(last_version), "{ctx}");

    // status agrees with the last line of the dump, which agrees with the
    // replay of every record.
    let o = run(&["status", "--json"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let status: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let o = run(&["wal", "dump", "--json"], &data);
    let dump = stdout(&o);
    let lines: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, last_version, "{ctx}");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(
            l["version"].as_u64(),
            Some(i as u64 + 1),
            "{ctx}: contiguous"
        );
    }
    let tail = lines.last().unwrap();
    assert_eq!(tail["balance"], status["balance"], "{ctx}");
    assert_eq!(tail["version"], status["version"], "{ctx}");
    assert_eq!(lines[0]["op"]["kind"], "deposit");
}

#[test]
fn corruption_is_reported_with_segment_and_offset_and_nothing_changes() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    assert!(
        run(&["stress", "--ops", "50", "--seed", "1"], &data)
            .status
            .success()
    );
    let seg = data.join("wal/00000000000000000001.wal");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let before = tree(&data);
    for args in [&["wal", "verify"][..], &["stress", "--ops", "5"][..]] {
        let o = run(args, &data);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("00000000000000000001.wal") && e.contains("offset"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "one line: {e}");
        assert_eq!(tree(&data).len(), before.len());
        let after = tree(&data);
        assert_eq!(
            after
                .iter()
                .filter(|(n, _)| n.ends_with(".wal"))
                .collect::<Vec<_>>(),
            before
                .iter()
                .filter(|(n, _)| n.ends_with(".wal"))
                .collect::<Vec<_>>(),
            "{args:?} changed the log"
        );
    }
}

#[test]
fn a_second_writer_is_refused_naming_the_pid() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let mut first = bin()
        .arg("--data-dir")
        .arg(&data)
        .args(["stress", "--secs", "20", "--print-acks", "--seed", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for its first ack: by then it holds the lock.
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(first.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("ack "), "{line}");
    let o = run(&["stress", "--ops", "5"], &data);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&format!("locked by pid {}", first.id())), "{e}");
    // Read-only inspection works while a writer holds the lock (and after).
    assert!(run(&["wal", "verify"], &data).status.success());
}

#[test]
fn bad_input_gets_one_line_and_exit_2_and_touches_nothing() {
    let t = tempfile::tempdir().unwrap();
    let foreign = t.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let before = tree(&foreign);
    let cases: &[(&[&str], &Path, &str)] = &[
        (
            &["stress", "--ops", "5"],
            &foreign,
            "not a dhan_scalper data dir",
        ),
        (&["wal", "verify"], &t.path().join("missing"), "no data dir"),
        (&["stress", "--ops", "0"], &foreign, "--ops must be > 0"),
        (&["stress", "--secs", "-1"], &foreign, "--secs"),
        (
            &["stress", "--ops", "5", "--threads", "0"],
            &foreign,
            "--threads",
        ),
        (&["stress", "--ops", "abc"], &foreign, "invalid value"),
        (
            &["stress", "--ops", "5", "--bogus"],
            &foreign,
            "unexpected argument",
        ),
        (&["stress"], &foreign, "--ops"),
        (&["deposit", "abc"], &foreign, "invalid amount \"abc\""),
        (&["deposit", "0"], &foreign, "more than zero"),
        (&["deposit", "--", "-5"], &foreign, "-5"),
        (&["withdraw", "1.001"], &foreign, "1.001"),
        (&["reset-balance"], &foreign, "--amount"),
    ];
    for (args, dir, needle) in cases {
        let o = run(args, dir);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?} printed to stdout");
        assert_eq!(tree(&foreign), before, "{args:?} changed the directory");
    }
    assert!(!t.path().join("missing").exists());
}

#[test]
fn verify_reports_a_dir_without_a_log() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join("DHAN_SCALPER"),
        "dhan_scalper data dir\nlayout 2\n",
    )
    .unwrap();
    let o = run(&["wal", "verify"], &data);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no log yet"), "{}", stderr(&o));
}

#[test]
fn funding_is_journaled_and_a_refused_withdrawal_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let o = run(&["deposit", "1,00,000"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("₹1,00,000.00"), "{}", stdout(&o));
    let segments = |dir: &Path| -> Vec<(String, u32)> {
        tree(dir)
            .into_iter()
            .filter(|(n, _)| n.ends_with(".wal"))
            .map(|(n, b)| (n, crc32c::crc32c(&b)))
            .collect()
    };
    let before = segments(&data.join("wal"));
    let o = run(&["withdraw", "250000"], &data);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("insufficient funds"), "{}", stderr(&o));
    assert_eq!(
        segments(&data.join("wal")),
        before,
        "a refused withdrawal wrote to the log"
    );
    assert!(run(&["withdraw", "2500.50"], &data).status.success());
    assert!(
        run(&["reset-balance", "-a", "50000"], &data)
            .status
            .success()
    );
    let o = run(&["status", "--json"], &data);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["balance"]["available"], "50000.00");
    let kinds: Vec<String> = stdout(&run(&["wal", "dump"], &data))
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["op"]["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["deposit", "withdraw", "reset"]);
}

#[test]
fn orders_lists_every_fill_of_the_log() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let o = run(
        &["stress", "--threads", "1", "--ops", "300", "--seed", "7"],
        &data,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let dump = stdout(&run(&["wal", "dump", "--json"], &data));
    let fills_in_dump = dump
        .lines()
        .filter(|l| l.contains("\"kind\":\"buy\"") || l.contains("\"kind\":\"sell\""))
        .count();
    assert!(fills_in_dump > 0, "the stress mix trades");
    let o = run(&["orders", "-f", "json"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), fills_in_dump);
    assert!(rows.iter().all(|r| r["status"] == "filled"));
    let o = run(&["orders"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("| filled "), "{}", stdout(&o));
    let o = run(&["orders", "-f", "xml"], &data);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("xml"), "{}", stderr(&o));
}

#[test]
fn resume_without_a_halt_is_refused_and_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    assert!(run(&["deposit", "1000"], &data).status.success());
    let before = tree(&data);
    let o = run(&["resume"], &data);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not halted"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(tree(&data) == before, "resume changed the data dir");
}

#[test]
fn report_and_version_work_on_a_new_dir() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    assert!(run(&["deposit", "1000"], &data).status.success());
    let o = run(&["report", "--latest"], &data);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no session reports"), "{}", stdout(&o));
    let o = run(&["version"], &data);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("dhan_scalper "), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("journal records up to V1"),
        "{}",
        stdout(&o)
    );
}
