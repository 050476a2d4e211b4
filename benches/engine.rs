//! Criterion benches of the engine, each with its baseline in the same group
//! (the same rows as `dhan_scalper bench`):
//! - `commit`: one engine commit (CAS + validation + hand-off to a log whose
//!   storage discards the bytes) against the same `wallet::apply` under a parking_lot
//!   `Mutex<State>` in place and under a parking_lot `Mutex<Arc<State>>` swap, and the bare
//!   `ArcSwap` compare-and-swap loop of a cloned state (the floor of any commit
//!   through an `ArcSwap`);
//! - `snapshot_read`: `Engine::durable_reader` (a per-thread cached reader)
//!   and `Engine::with_durable` (a plain load) against an `RwLock` read, each
//!   with a writer thread committing the whole time;
//! - `durable_commit`: commit + wait on the real filesystem against raw
//!   `pwrite` + `fdatasync` of a frame of the same size.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use criterion::{Criterion, criterion_group, criterion_main};
use dhan_scalper::engine::{Engine, Machine, RecordCodec, Stores, Versioned, WalJournal, recovery};
use dhan_scalper::ledger::Ledger;
use dhan_scalper::money::Amount;
use dhan_scalper::sync::AtomicArc;
use dhan_scalper::wallet::{Op, State};

type LedgerEngine = Engine<Ledger, WalJournal<Ledger>>;

fn op(i: u64) -> Op {
    let amount = Amount::from_rupees(1);
    if i.is_multiple_of(2) {
        Op::Deposit { amount }
    } else {
        Op::Withdraw { amount }
    }
}

fn funded() -> State {
    Ledger::default()
        .apply(
            &State::new(),
            &Op::Deposit {
                amount: Amount::from_rupees(1_000_000),
            },
        )
        .expect("a deposit applies")
}

fn open(stores: &Stores, opts: &wal::Options) -> LedgerEngine {
    let (engine, _) = recovery::open(Ledger::default(), stores, opts, 4096).expect("open");
    let c = engine
        .commit(Op::Deposit {
            amount: Amount::from_rupees(1_000_000),
        })
        .expect("fund");
    engine.wait_durable(c).expect("durable");
    engine
}

fn discard() -> (Stores, wal::Options) {
    let stores = Stores {
        wal: Arc::new(wal::baseline::DiscardStorage),
        snapshots: Arc::new(wal::baseline::DiscardStorage),
    };
    (
        stores,
        wal::Options {
            segment_bytes: 16 << 20,
            ..wal::Options::default()
        },
    )
}

fn commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("commit");
    let (stores, opts) = discard();
    let engine = open(&stores, &opts);
    let mut i = 0u64;
    g.bench_function("engine", |b| {
        b.iter(|| {
            i += 1;
            black_box(engine.commit(op(i)).is_ok())
        })
    });
    let ledger = Ledger::default();
    let in_place = parking_lot::Mutex::new(funded());
    g.bench_function("mutex_in_place", |b| {
        b.iter(|| {
            i += 1;
            let mut s = in_place.lock();
            if let Ok(next) = ledger.apply(&s, &op(i)) {
                *s = next;
            }
        })
    });
    let head = AtomicArc::new(Arc::new(Versioned {
        version: 1,
        state: funded(),
    }));
    g.bench_function("arcswap_cas_loop", |b| {
        b.iter(|| {
            let current = head.load_full();
            let next = Arc::new(Versioned {
                version: current.version + 1,
                state: current.state.clone(),
            });
            black_box(head.compare_and_swap(&current, next))
        })
    });
    let swap = parking_lot::Mutex::new(Arc::new(funded()));
    g.bench_function("mutex_arc_swap", |b| {
        b.iter(|| {
            i += 1;
            let mut s = swap.lock();
            if let Ok(next) = ledger.apply(&s, &op(i)) {
                *s = Arc::new(next);
            }
        })
    });
    g.finish();
}

fn snapshot_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot_read");
    let (stores, opts) = discard();
    let engine = open(&stores, &opts);
    let stop = AtomicBool::new(false);
    let lock = RwLock::new(funded());
    std::thread::scope(|s| {
        // Relaxed: a stop request only.
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let _ = engine.commit(op(i));
                i += 1;
            }
        });
        let mut reader = engine.durable_reader();
        g.bench_function("engine_durable_reader", |b| {
            b.iter(|| reader.read(|v| black_box(v.state.balance.available)))
        });
        g.bench_function("engine_durable", |b| {
            b.iter(|| engine.with_durable(|v| black_box(v.state.balance.available)))
        });
        stop.store(true, Ordering::Relaxed);
    });
    stop.store(false, Ordering::Relaxed);
    let ledger = Ledger::default();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut w = lock.write().expect("lock");
                if let Ok(next) = ledger.apply(&w, &op(i)) {
                    *w = next;
                }
                i += 1;
            }
        });
        g.bench_function("rwlock", |b| {
            b.iter(|| black_box(lock.read().expect("lock").balance.available))
        });
        stop.store(true, Ordering::Relaxed);
    });
    g.finish();
}

fn durable_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable_commit");
    g.sample_size(20);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let fs = |name: &str| -> Arc<dyn wal::Storage> {
        Arc::new(wal::FsStorage::create_dir(dir.path().join(name)).expect("dir"))
    };
    let stores = Stores {
        wal: fs("wal"),
        snapshots: fs("snapshots"),
    };
    let opts = wal::Options {
        segment_bytes: 8 << 20,
        ..wal::Options::default()
    };
    let engine = open(&stores, &opts);
    let mut i = 0u64;
    g.bench_function("engine", |b| {
        b.iter(|| {
            i += 1;
            let c = engine.commit(op(i)).expect("commit");
            engine.wait_durable(c).expect("durable");
        })
    });
    let mut record = Vec::new();
    Ledger::encode(&op(0), &engine.head().state.balance, &mut record);
    let mut frame = Vec::new();
    wal::frame::encode(&mut frame, 1, 1, &record);
    let mut raw = wal::baseline::RawFile::create(&dir.path().join("raw"), 8 << 20).expect("raw");
    g.bench_function("raw_pwrite_fdatasync", |b| {
        b.iter(|| raw.write_sync(&frame).expect("write"))
    });
    g.finish();
}

criterion_group!(benches, commit, snapshot_read, durable_commit);
criterion_main!(benches);
