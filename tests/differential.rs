//! The differential test of issue 3: K threads commit random wallet operations
//! against the lock-free engine over the real write-ahead log (on simulated,
//! in-memory storage); then the journal, read back in version order, is applied
//! to the `Mutex` reference engine, and every step must give the same state as
//! the one the journal recorded, ending at the engine's head. The conservation
//! law holds, every commit got exactly one version, and a reopened engine
//! recovers the same head.
//!
//! `DHAN_SEED` replays each thread's random stream. The operations a thread
//! draws also depend on the state it reads, so on how the threads interleave:
//! the same seed gives the same kind of run, not the same journal. A failure
//! therefore names the version and the operation where the journal and the
//! reference engine part, with both states.

use std::sync::Arc;

use dhan_scalper::engine::recovery;
use dhan_scalper::engine::{CommitError, ReferenceEngine, Stores, Versioned};
use dhan_scalper::ledger::Ledger;
use dhan_scalper::money::{Amount, Price, Qty};
use dhan_scalper::wallet::{
    Instrument, InstrumentKey, Limits, Op, Segment, State, Symbol, Timestamp,
};
use rust_decimal::Decimal;
use wal::sim::{SimConfig, SimStorage};

/// Committing threads.
const THREADS: u64 = 4;
/// Operations each thread attempts.
const OPS_PER_THREAD: u64 = 1_500;
/// Synthetic instruments traded.
const INSTRUMENTS: u64 = 3;
const SECURITY_ID_BASE: u64 = 910_001;
/// Cash deposited before the threads start, so that most buys apply.
const STARTING_RUPEES: i64 = 1_000_000;
/// Every fill pays this much in charges.
const CHARGES_RUPEES: i64 = 20;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn wal_options() -> wal::Options {
    wal::Options {
        // Small segments, so the run rotates through several of them.
        segment_bytes: 64 << 10,
        payload_bytes_max: 4096,
        ..wal::Options::default()
    }
}

fn sim_stores(seed: u64) -> Stores {
    let sim = |seed| {
        SimStorage::new(SimConfig {
            seed,
            ..SimConfig::default()
        })
    };
    Stores {
        wal: Arc::new(sim(seed)),
        snapshots: Arc::new(sim(seed ^ 1)),
    }
}

fn key(i: u64) -> InstrumentKey {
    InstrumentKey {
        segment: Segment::NseFno,
        security_id: SECURITY_ID_BASE + i,
    }
}

/// Draws one operation, looking at the head state so that most of them apply
/// (the same idea as `stress`, with settled PnL on some releases).
fn draw(rng: &mut fastrand::Rng, head: &State, ts: Timestamp) -> Op {
    let rupees = |rng: &mut fastrand::Rng, max: i64| Amount::from_paise(rng.i64(100..=max * 100));
    let price = |rng: &mut fastrand::Rng| {
        Price::from_ticks(rng.u32(20..=4_000)).expect("a positive tick count")
    };
    match rng.u8(0..100) {
        0..10 => Op::Deposit {
            amount: rupees(rng, 10_000),
        },
        10..16 => Op::Withdraw {
            amount: rupees(rng, 5_000),
        },
        16..26 => Op::Reserve {
            amount: rupees(rng, 5_000),
        },
        26..36 => {
            let held = head.reserved;
            let amount = if held.is_positive() && rng.bool() {
                held
            } else {
                rupees(rng, 2_000)
            };
            let pnl = match rng.u8(0..3) {
                0 => None,
                1 => Some(rupees(rng, 500)),
                _ => Some(Amount::from_paise(-rng.i64(1..=50_000))),
            };
            Op::Release { amount, pnl }
        }
        36..70 => {
            let i = rng.u64(0..INSTRUMENTS);
            Op::Buy {
                instrument: Instrument {
                    key: key(i),
                    symbol: Symbol::new(&format!("DIFF{i}")).expect("a valid symbol"),
                },
                qty: Qty::new(rng.u64(1..=75)),
                price: price(rng),
                charges: Amount::from_rupees(CHARGES_RUPEES),
                ts,
                order_id: None,
            }
        }
        _ => {
            let held = head
                .positions
                .iter()
                .nth(rng.usize(0..head.positions.len().max(1)));
            let (k, qty) = match held {
                Some(p) => (p.instrument.key, Qty::new(rng.u64(1..=p.qty.get()))),
                None => (key(rng.u64(0..INSTRUMENTS)), Qty::new(1)),
            };
            Op::Sell {
                key: k,
                qty,
                price: price(rng),
                charges: Amount::from_rupees(CHARGES_RUPEES),
                ts,
                order_id: None,
                reason: None,
            }
        }
    }
}

/// What one thread saw of its own commits.
#[derive(Debug, Default)]
struct Tally {
    commits: u64,
    rejects: u64,
    /// Deposits minus withdrawals that committed.
    net_deposits: Decimal,
    /// Charges of the fills that committed.
    fees: Decimal,
    /// The highest version this thread won.
    version_max: u64,
}

fn check_conservation(b: &dhan_scalper::wallet::Balance, what: &str) {
    let d = |a: Amount| a.to_decimal();
    assert_eq!(
        d(b.total),
        d(b.available) + d(b.used),
        "{what}: total != available + used: {b:?}"
    );
    assert_eq!(
        d(b.total),
        d(b.net_deposits) + d(b.realized_pnl) - d(b.fees),
        "{what}: the conservation law is broken: {b:?}"
    );
    assert!(
        !b.available.is_negative() && !b.used.is_negative() && !b.fees.is_negative(),
        "{what}: a negative balance: {b:?}"
    );
}

#[test]
fn concurrent_commits_equal_the_journal_replayed_on_the_reference_engine() {
    let seed = env_u64("DHAN_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!("differential test: DHAN_SEED={seed}");
    let stores = sim_stores(seed);
    let opts = wal_options();
    let (engine, info) = recovery::open(Ledger::default(), &stores, &opts, 1024)
        .unwrap_or_else(|e| panic!("DHAN_SEED={seed}: open: {e}"));
    assert_eq!(info.version, 0, "a new store starts at version 0");

    let start = engine
        .commit(Op::Deposit {
            amount: Amount::from_rupees(STARTING_RUPEES),
        })
        .unwrap();
    assert_eq!(start.version, 1);
    engine.wait_durable(start).unwrap();

    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let engine = &engine;
                s.spawn(move || {
                    let mut rng = fastrand::Rng::with_seed(
                        seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut tally = Tally::default();
                    let mut last = None;
                    for i in 0..OPS_PER_THREAD {
                        let ts = Timestamp::from_epoch_ms(1_767_225_600_000 + i as i64);
                        let op = draw(&mut rng, &engine.head().state, ts);
                        let (deposited, charged) = match &op {
                            Op::Deposit { amount } => (amount.to_decimal(), Decimal::ZERO),
                            Op::Withdraw { amount } => (-amount.to_decimal(), Decimal::ZERO),
                            Op::Buy { charges, .. } | Op::Sell { charges, .. } => {
                                (Decimal::ZERO, charges.to_decimal())
                            }
                            _ => (Decimal::ZERO, Decimal::ZERO),
                        };
                        match engine.commit(op) {
                            Ok(c) => {
                                assert!(c.version > tally.version_max, "versions go backwards");
                                tally.version_max = c.version;
                                tally.commits += 1;
                                tally.net_deposits += deposited;
                                tally.fees += charged;
                                last = Some(c);
                            }
                            Err(CommitError::Rejected(_)) => tally.rejects += 1,
                            Err(CommitError::Poisoned(e)) => {
                                panic!("DHAN_SEED={seed}: the engine stopped: {e}")
                            }
                        }
                        // Now and then, wait for durability.
                        if rng.u8(0..16) == 0
                            && let Some(c) = last.take()
                        {
                            engine.wait_durable(c).unwrap();
                            assert!(engine.durable().version >= c.version);
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let synced = engine.sync().unwrap();
    let head = engine.head();
    assert_eq!(synced, head.version);
    assert_eq!(*engine.durable(), *head, "durable != head after sync");

    // Every commit got exactly one version: the count equals the version.
    let commits: u64 = 1 + tallies.iter().map(|t| t.commits).sum::<u64>();
    let rejects: u64 = tallies.iter().map(|t| t.rejects).sum();
    println!(
        "differential test: {commits} commits, {rejects} rejects, version {}",
        head.version
    );
    assert_eq!(
        commits, head.version,
        "DHAN_SEED={seed}: commits != version"
    );
    assert_eq!(head.state.version, head.version, "state.version != version");
    let stats = engine.stats();
    assert_eq!((stats.commits, stats.rejects), (commits, rejects));
    assert_eq!(
        tallies.iter().map(|t| t.version_max).max(),
        Some(head.version),
        "the last version was won by no thread"
    );
    assert!(
        commits > THREADS * OPS_PER_THREAD / 2,
        "DHAN_SEED={seed}: too few commits ({commits}): the generator is broken"
    );

    // The conservation law at the end, and the amounts every thread moved.
    let b = &head.state.balance;
    check_conservation(b, &format!("DHAN_SEED={seed}: head"));
    head.state
        .check_invariants(&Limits::default())
        .unwrap_or_else(|e| panic!("DHAN_SEED={seed}: head invariants: {e:?}"));
    let deposited = Amount::from_rupees(STARTING_RUPEES).to_decimal()
        + tallies.iter().map(|t| t.net_deposits).sum::<Decimal>();
    assert_eq!(b.net_deposits.to_decimal(), deposited, "net deposits");
    let fees: Decimal = tallies.iter().map(|t| t.fees).sum();
    assert_eq!(b.fees.to_decimal(), fees, "fees");

    // The journal, in version order, on the reference engine.
    let reference = ReferenceEngine::new(
        Ledger::default(),
        Versioned {
            version: 0,
            state: State::new(),
        },
    );
    let mut expected = 1;
    let inspected = recovery::inspect(&Ledger::default(), &stores, &opts, |version, op, post| {
        assert_eq!(version, expected, "DHAN_SEED={seed}: journal gap");
        expected += 1;
        let v = reference.commit(op).unwrap_or_else(|r| {
            panic!("DHAN_SEED={seed}: the reference engine refused {version} ({op}): {r}")
        });
        assert_eq!(v, version);
        reference.with_state(|s| {
            assert!(
                s.state == *post,
                "DHAN_SEED={seed}: version {version} ({op}): the reference state differs from the journal's\nreference: {:?}\njournal: {post:?}",
                s.state
            );
        });
        check_conservation(&post.balance, &format!("DHAN_SEED={seed}: version {version}"));
    })
    .unwrap_or_else(|e| panic!("DHAN_SEED={seed}: inspect: {e}"));
    assert!(inspected.snapshot.is_none());
    assert_eq!(expected - 1, head.version, "the journal's length");
    assert_eq!(inspected.state, *head, "the journal's end != head");
    reference.with_state(|s| assert_eq!(s, &*head, "DHAN_SEED={seed}: reference != head"));

    // Reopen from the same stores: the same head.
    drop(engine);
    let (engine, info) = recovery::open(Ledger::default(), &stores, &opts, 1024)
        .unwrap_or_else(|e| panic!("DHAN_SEED={seed}: reopen: {e}"));
    assert_eq!((info.version, info.replayed), (head.version, head.version));
    assert_eq!(*engine.head(), *head, "DHAN_SEED={seed}: recovered head");
    assert_eq!(*engine.durable(), *head);

    // And once more from a snapshot.
    assert_eq!(engine.checkpoint(&stores).unwrap(), head.version);
    drop(engine);
    let (engine, info) = recovery::open(Ledger::default(), &stores, &opts, 1024)
        .unwrap_or_else(|e| panic!("DHAN_SEED={seed}: reopen from the snapshot: {e}"));
    assert_eq!((info.snapshot_version, info.replayed), (head.version, 0));
    assert_eq!(
        *engine.head(),
        *head,
        "DHAN_SEED={seed}: head from the snapshot"
    );
}
