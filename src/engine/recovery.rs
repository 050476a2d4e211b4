//! Opening an engine from disk: the newest valid snapshot, then the log after
//! it, every record re-applied and checked against its stored post-image; only
//! then are old segments deleted. And the checkpoint that writes snapshots.

use std::sync::Arc as StdArc;

use super::snapshot::SnapshotStore;
use super::{Engine, Journal, Machine, RecordCodec, Versioned, WalJournal};
use crate::sync::{Arc, AtomicArc};

/// What a machine needs to be stored and recovered.
pub trait Persist: RecordCodec<State: Clone> {
    /// What a journal record says the state was after it.
    type Post: std::fmt::Debug + Send;
    /// The state of a brand-new data directory.
    fn initial(&self) -> Self::State;
    /// Decodes a journal payload into its operation and stored post-image.
    fn decode_record(bytes: &[u8]) -> Result<(Self::Op, Self::Post), String>;
    /// Whether `state` agrees with a stored post-image.
    fn post_matches(state: &Self::State, post: &Self::Post) -> bool;
    /// Re-applies a journaled operation. The default is [`Machine::apply`];
    /// override it when limits that may change between runs (for example
    /// `max_positions`) must not refuse history that was valid when written.
    fn replay(&self, state: &Self::State, op: &Self::Op) -> Result<Self::State, Self::Reject> {
        self.apply(state, op)
    }
    /// [`Persist::replay`] in place, like [`Machine::apply_into`]: `next`
    /// holds a clone of `state` on entry. The default calls `replay`.
    fn replay_into(
        &self,
        state: &Self::State,
        op: &Self::Op,
        next: &mut Self::State,
    ) -> Result<(), Self::Reject> {
        *next = self.replay(state, op)?;
        Ok(())
    }
    /// The snapshot payload of a state.
    fn encode_state(state: &Self::State) -> Vec<u8>;
    /// Decodes (and validates) a snapshot payload.
    fn decode_state(bytes: &[u8]) -> Result<Self::State, String>;
}

/// Where an engine keeps its files.
#[derive(Debug, Clone)]
pub struct Stores {
    /// The log directory.
    pub wal: StdArc<dyn wal::Storage>,
    /// The snapshot directory.
    pub snapshots: StdArc<dyn wal::Storage>,
}

/// What recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// The snapshot version recovery started from (0: none).
    pub snapshot_version: u64,
    /// Newer snapshots that were damaged and skipped, with the reason.
    pub snapshots_skipped: Vec<(String, String)>,
    /// Log records re-applied after the snapshot.
    pub replayed: u64,
    /// The recovered version.
    pub version: u64,
    /// What the log's own recovery found (torn tail, removed temp files).
    pub log: wal::RecoveryReport,
    /// Old log segments deleted because a snapshot covers them.
    pub segments_deleted: usize,
}

/// The phase a [`RecoveryProgress`] report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryPhase {
    /// Reading and checking the log: `done` and `total` count segments.
    Scan,
    /// Re-applying records and checking their post-images: `done` and
    /// `total` count records.
    Replay,
}

/// How far recovery got (see [`open_observed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryProgress {
    /// What is being counted.
    pub phase: RecoveryPhase,
    /// Units of the phase finished so far.
    pub done: u64,
    /// Units of the phase in all.
    pub total: u64,
}

/// Replay reports progress every this many records (and at its start and
/// end), never per record.
pub const PROGRESS_EVERY_RECORDS: u64 = 65_536;

/// Why recovery refused.
#[derive(Debug)]
pub enum RecoveryError {
    /// The log is damaged, locked, or an I/O call failed.
    Log(wal::Error),
    /// Every snapshot is damaged.
    Snapshot(String),
    /// A record does not decode, does not re-apply, or disagrees with its
    /// stored post-image.
    Replay {
        /// The version of the record.
        version: u64,
        /// What is wrong.
        why: String,
    },
}

impl std::fmt::Display for RecoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Log(e) => e.fmt(f),
            Self::Snapshot(why) => write!(f, "cannot load a snapshot: {why}"),
            Self::Replay { version, why } => write!(
                f,
                "replay refused at version {version}: {why}; the log was not changed"
            ),
        }
    }
}

impl std::error::Error for RecoveryError {}

impl From<wal::Error> for RecoveryError {
    fn from(e: wal::Error) -> Self {
        Self::Log(e)
    }
}

/// What a read-only recovery found.
#[derive(Debug)]
pub struct Inspected<S> {
    /// The snapshot it started from, if any.
    pub snapshot: Option<StdArc<Versioned<S>>>,
    /// The state after the last record.
    pub state: Versioned<S>,
    /// What the log scan found (a torn tail is reported, not repaired).
    pub log: wal::RecoveryReport,
}

/// A recovery base: the state, the snapshot version it came from (0: none),
/// and the newer snapshots that were damaged and skipped.
type Base<S> = (Versioned<S>, u64, Vec<(String, String)>);

/// Loads the newest valid snapshot and its base state.
fn load_base<M: Persist>(
    machine: &M,
    snapshots: &SnapshotStore,
) -> Result<Base<M::State>, RecoveryError> {
    match snapshots.load_newest().map_err(RecoveryError::Snapshot)? {
        Some(loaded) => {
            let state = M::decode_state(&loaded.payload).map_err(|why| RecoveryError::Replay {
                version: loaded.version,
                why: format!("snapshot {} does not decode: {why}", loaded.version),
            })?;
            Ok((
                Versioned {
                    version: loaded.version,
                    state,
                },
                loaded.version,
                loaded.skipped,
            ))
        }
        None => Ok((
            Versioned {
                version: 0,
                state: machine.initial(),
            },
            0,
            Vec::new(),
        )),
    }
}

/// Records one chunk of the decoding helper carries (see [`replay`]).
const DECODE_CHUNK_RECORDS: usize = 1024;
/// Decoded chunks the helper may run ahead of the replay.
const DECODE_CHUNKS_AHEAD_MAX: usize = 4;
/// Below this many records the helper thread is not worth starting.
const DECODE_HELPER_RECORDS_MIN: usize = 4 * DECODE_CHUNK_RECORDS;

/// A record's version and what decoding it gave.
type Decoded<M> = (
    u64,
    Result<(<M as Machine>::Op, <M as Persist>::Post), String>,
);

/// Re-applies `records` on `state`, checking each against its post-image.
/// Each record is applied in place into a second state that the two then
/// swap, so a record costs one clone of the state and no allocation.
///
/// A long log is decoded on a helper thread, a chunk at a time, while this
/// thread applies the chunk before (decoding is pure and costs about as much
/// as applying). Records are still applied, checked and refused strictly in
/// order: a record that does not decode is reported when the replay reaches
/// it, after every record before it applied cleanly.
///
/// `progress(done, total)` hears of the records replayed: at the start
/// (`done = 0`), every [`PROGRESS_EVERY_RECORDS`], and at the end when that
/// is not a multiple of it (so the last call has `done == total`).
fn replay<'a, M: Persist>(
    machine: &M,
    state: &mut Versioned<M::State>,
    records: impl Iterator<Item = (u64, &'a [u8])> + Send,
    mut visit: impl FnMut(u64, &M::Op, &M::State),
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, RecoveryError> {
    let total = records.size_hint().0 as u64;
    progress(0, total);
    let replayed = replay_records(machine, state, records, &mut visit, &mut |done| {
        if done % PROGRESS_EVERY_RECORDS == 0 {
            progress(done, total);
        }
    })?;
    if replayed % PROGRESS_EVERY_RECORDS != 0 {
        progress(replayed, total);
    }
    Ok(replayed)
}

/// [`replay`] without the start and end reports: `tick(replayed)` runs after
/// every record.
fn replay_records<'a, M: Persist>(
    machine: &M,
    state: &mut Versioned<M::State>,
    records: impl Iterator<Item = (u64, &'a [u8])> + Send,
    visit: &mut impl FnMut(u64, &M::Op, &M::State),
    tick: &mut impl FnMut(u64),
) -> Result<u64, RecoveryError> {
    let helper = records.size_hint().0 >= DECODE_HELPER_RECORDS_MIN;
    replay_produced(
        machine,
        state,
        helper,
        |emit| {
            // Bound: the records; stops when `emit` refuses.
            for (seq, bytes) in records {
                if !emit(seq, bytes) {
                    return;
                }
            }
        },
        visit,
        tick,
    )
}

/// Re-applies the records that `produce` emits (in order; it stops when
/// `emit` returns `false`). With `helper`, `produce` runs on a helper thread
/// that decodes as it goes, a chunk at a time; else everything runs here.
fn replay_produced<M: Persist>(
    machine: &M,
    state: &mut Versioned<M::State>,
    helper: bool,
    produce: impl FnOnce(&mut dyn FnMut(u64, &[u8]) -> bool) + Send,
    visit: &mut impl FnMut(u64, &M::Op, &M::State),
    tick: &mut impl FnMut(u64),
) -> Result<u64, RecoveryError> {
    let mut replayed = 0;
    let mut next = state.state.clone();
    let mut apply = |seq: u64, decoded: Result<(M::Op, M::Post), String>| {
        let fail = |why: String| RecoveryError::Replay { version: seq, why };
        if seq != state.version + 1 {
            return Err(fail(format!("expected version {}", state.version + 1)));
        }
        let (op, post) = decoded.map_err(fail)?;
        next.clone_from(&state.state);
        machine
            .replay_into(&state.state, &op, &mut next)
            .map_err(|r| fail(format!("the operation no longer applies: {r}")))?;
        if !M::post_matches(&next, &post) {
            return Err(fail(format!(
                "re-applying the operation does not give the stored post-image {post:?}"
            )));
        }
        visit(seq, &op, &next);
        std::mem::swap(&mut state.state, &mut next);
        state.version = seq;
        replayed += 1;
        tick(replayed);
        Ok(())
    };
    if !helper {
        let mut failed = None;
        produce(
            &mut |seq, bytes| match apply(seq, M::decode_record(bytes)) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
        );
        return match failed {
            Some(e) => Err(e),
            None => Ok(replayed),
        };
    }
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Decoded<M>>>(DECODE_CHUNKS_AHEAD_MAX);
        // Emptied chunks go back to the helper: a chunk is a few hundred
        // kilobytes, which the allocator would otherwise map and unmap (and
        // the kernel zero) for every chunk.
        let (back_tx, back_rx) =
            std::sync::mpsc::sync_channel::<Vec<Decoded<M>>>(DECODE_CHUNKS_AHEAD_MAX + 2);
        s.spawn(move || {
            let fresh = || {
                back_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(DECODE_CHUNK_RECORDS))
            };
            let mut chunk = fresh();
            let mut open = true;
            // Stops early when the replay hung up (it refused a record).
            produce(&mut |seq, bytes| {
                chunk.push((seq, M::decode_record(bytes)));
                if chunk.len() == DECODE_CHUNK_RECORDS {
                    let full = std::mem::replace(&mut chunk, fresh());
                    open = tx.send(full).is_ok();
                }
                open
            });
            if open && !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
        });
        // Bound: the chunks the helper sends; `rx` is dropped on an early
        // return, which stops the helper before the scope joins it.
        for mut chunk in rx {
            for (seq, decoded) in chunk.drain(..) {
                apply(seq, decoded)?;
            }
            // Full (the helper is ahead) or gone: the chunk is dropped.
            let _ = back_tx.try_send(chunk);
        }
        Ok::<(), RecoveryError>(())
    })?;
    Ok(replayed)
}

/// Scanned batches the scan may run ahead of the replay.
const STREAM_BATCHES_AHEAD_MAX: usize = 4;
/// How often, once the scan is done, the caller looks at the replay's
/// progress to report it.
const PROGRESS_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2);

/// Opens the log for writing and replays it *while* it is scanned: the scan
/// (this thread, and its reader) hands each batch of checked records over to
/// a replay thread, which decodes them on a helper of its own and applies
/// them in order. Reports progress to `progress` on this thread (see
/// [`open_observed`]). A scan error comes first, then a replay error: the
/// same verdict as scanning everything before replaying anything.
fn scan_and_replay<M: Persist>(
    machine: &M,
    state: &mut Versioned<M::State>,
    storage: StdArc<dyn wal::Storage>,
    opts: &wal::Options,
    progress: &mut dyn FnMut(RecoveryProgress),
) -> Result<(wal::Recovered, u64), RecoveryError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let report = |progress: &mut dyn FnMut(RecoveryProgress), phase, done, total| {
        progress(RecoveryProgress { phase, done, total })
    };
    // Records replayed so far, for the progress reports only.
    let replayed = AtomicU64::new(0);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<wal::RecordBatch>(STREAM_BATCHES_AHEAD_MAX);
        let counter = &replayed;
        let replayer = s.spawn(move || {
            replay_produced(
                machine,
                state,
                true,
                move |emit| {
                    // Bound: the batches the scan sends; stops when the
                    // replay refused a record.
                    for batch in rx {
                        for (seq, bytes) in batch.iter() {
                            if !emit(seq, bytes) {
                                return;
                            }
                        }
                    }
                },
                &mut |_, _, _| {},
                // Relaxed: a progress count; nothing is read through it.
                &mut |done| counter.store(done, Ordering::Relaxed),
            )
        });
        let mut total = 0u64;
        let scanned = wal::Recovered::open_streamed(
            storage,
            opts,
            &mut |done, segments| report(progress, RecoveryPhase::Scan, done, segments),
            &mut |batch| {
                total += batch.len() as u64;
                // A replay that refused a record hung up: the scan goes on
                // (its own error, if any, comes first).
                let _ = tx.send(batch);
            },
        );
        drop(tx);
        let mut reported = None;
        if scanned.is_ok() {
            // Relaxed: see above.
            let done = counter.load(Ordering::Relaxed);
            report(progress, RecoveryPhase::Replay, done, total);
            reported = Some(done);
            // Bound: until the replay thread ends, one look per interval.
            while !replayer.is_finished() {
                std::thread::sleep(PROGRESS_POLL_INTERVAL);
                // Relaxed: see above.
                let done = counter.load(Ordering::Relaxed);
                if reported.is_some_and(|r| done >= r + PROGRESS_EVERY_RECORDS) {
                    report(progress, RecoveryPhase::Replay, done, total);
                    reported = Some(done);
                }
            }
        }
        let replay = replayer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let recovered = scanned?;
        let replayed = replay?;
        if reported != Some(replayed) {
            report(progress, RecoveryPhase::Replay, replayed, total);
        }
        Ok((recovered, replayed))
    })
}

/// Read-only recovery: no lock, no fsync, nothing written, a torn tail
/// tolerated. Safe while a writer runs. `visit` sees every replayed record
/// with the state after it.
pub fn inspect<M: Persist>(
    machine: &M,
    stores: &Stores,
    wal_options: &wal::Options,
    visit: impl FnMut(u64, &M::Op, &M::State),
) -> Result<Inspected<M::State>, RecoveryError> {
    let snapshots = SnapshotStore::new(stores.snapshots.clone());
    let (base, snapshot_version, _) = load_base(machine, &snapshots)?;
    let snapshot = (snapshot_version > 0).then(|| StdArc::new(base.clone()));
    let opts = wal::Options {
        recover_from: snapshot_version + 1,
        ..wal_options.clone()
    };
    let (records, log) = wal::inspect(stores.wal.as_ref(), &opts)?;
    let mut state = base;
    replay(machine, &mut state, records.iter(), visit, &mut |_, _| {})?;
    Ok(Inspected {
        snapshot,
        state,
        log,
    })
}

/// An engine and what recovery did to start it.
pub type Opened<M> = (Engine<M, WalJournal<M>>, RecoveryInfo);

/// Rebuilds the state from `stores` and starts an engine on it.
pub fn open<M: Persist>(
    machine: M,
    stores: &Stores,
    wal_options: &wal::Options,
    pending_max: u64,
) -> Result<Opened<M>, RecoveryError> {
    open_observed(machine, stores, wal_options, pending_max, &mut |_| {})
}

/// [`open`], reporting progress to `progress` (for a progress bar). The log
/// is replayed while it is scanned (a replay thread applies each batch of
/// checked records as the scan hands it over), but the reports come in two
/// phases: first the [`RecoveryPhase::Scan`], counting segments, once before
/// the first (`done = 0`) and after each; then the [`RecoveryPhase::Replay`],
/// counting records: once when the scan is done (when the total is known;
/// `done` may already be past 0), then about every [`PROGRESS_EVERY_RECORDS`]
/// records, and at its end. In each phase `done` only grows, `total` stays
/// the same, and the last report of a phase that completes has `done ==
/// total`; the replay's total is [`RecoveryInfo::replayed`] of a recovery
/// that succeeds. A refusal stops the reports. `progress` runs on the calling
/// thread.
pub fn open_observed<M: Persist>(
    machine: M,
    stores: &Stores,
    wal_options: &wal::Options,
    pending_max: u64,
    progress: &mut dyn FnMut(RecoveryProgress),
) -> Result<Opened<M>, RecoveryError> {
    let snapshots = SnapshotStore::new(stores.snapshots.clone());
    let (base, snapshot_version, skipped) = load_base(&machine, &snapshots)?;
    let opts = wal::Options {
        recover_from: snapshot_version + 1,
        ..wal_options.clone()
    };
    let mut state = base;
    let (recovered, replayed) =
        scan_and_replay(&machine, &mut state, stores.wal.clone(), &opts, progress)?;
    if state.version + 1 != recovered.next_seq() {
        return Err(RecoveryError::Replay {
            version: recovered.next_seq(),
            why: format!(
                "the log continues at {} but the state is at {}",
                recovered.next_seq(),
                state.version
            ),
        });
    }
    let log_report = recovered.report().clone();
    let initial = Arc::new(state);
    let durable = Arc::new(AtomicArc::new(initial.clone()));
    let journal = WalJournal::start(recovered, durable.clone())?;
    // Only now, with every record verified, may old segments go.
    let keep_from = log_needed_from(&snapshots)?;
    let segments_deleted = journal.log().truncate_before(keep_from)?;
    let version = initial.version;
    let engine = Engine::new(machine, initial, durable, journal, pending_max);
    Ok((
        engine,
        RecoveryInfo {
            snapshot_version,
            snapshots_skipped: skipped,
            replayed,
            version,
            log: log_report,
            segments_deleted,
        },
    ))
}

/// The first log record recovery may still need: the one after the *older* of
/// the kept snapshots, so that a damaged newest snapshot can fall back to it.
/// With fewer than two snapshots nothing is deleted.
fn log_needed_from(store: &SnapshotStore) -> Result<u64, wal::Error> {
    let kept = store.versions_kept()?;
    Ok(if kept.len() >= super::snapshot::SNAPSHOTS_KEPT {
        kept[kept.len() - super::snapshot::SNAPSHOTS_KEPT] + 1
    } else {
        0
    })
}

impl<M: Persist> Engine<M, WalJournal<M>> {
    /// Writes a snapshot of the durable state, then deletes the log segments
    /// that no kept snapshot needs. Returns the snapshot's version.
    pub fn checkpoint(&self, stores: &Stores) -> Result<u64, wal::Error> {
        let snapshot = self.durable();
        let store = SnapshotStore::new(stores.snapshots.clone());
        store.write(snapshot.version, &M::encode_state(&snapshot.state))?;
        self.journal()
            .log()
            .truncate_before(log_needed_from(&store)?)?;
        Ok(snapshot.version)
    }

    /// Checkpoints if the durable state is at least `every_records` versions
    /// past the newest snapshot. Returns the new snapshot's version, if any.
    pub fn maybe_checkpoint(
        &self,
        stores: &Stores,
        every_records: u64,
    ) -> Result<Option<u64>, wal::Error> {
        let newest = SnapshotStore::new(stores.snapshots.clone())
            .versions_kept()?
            .last()
            .copied()
            .unwrap_or(0);
        if self.durable().version < newest.saturating_add(every_records.max(1)) {
            return Ok(None);
        }
        self.checkpoint(stores).map(Some)
    }

    /// Waits for every commit so far to be durable.
    pub fn sync(&self) -> Result<u64, wal::Error> {
        let v = self.head().version;
        self.journal().wait_durable(v)?;
        Ok(v)
    }
}
