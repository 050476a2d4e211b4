//! Simulated storage for fault-injection and power-loss tests.
//!
//! [`SimStorage`] implements [`Storage`] in memory with the pessimistic reading of
//! POSIX durability, seeded so that every behaviour is reproducible:
//!
//! * A directory maps names to inodes. There are two maps: the *current* one
//!   (what `list`, `open` and `read` see) and the *durable* one (as of the last
//!   successful `sync_dir`). `create`, `rename` and `remove` change only the current
//!   map; `sync_dir` copies it to the durable one.
//! * Every inode holds the bytes reads see, the bytes as of its last successful
//!   `sync_data` (empty for a new inode), and the ordered list of changes since then
//!   (writes and `set_len` calls). `sync_data` makes the data durable.
//! * [`SimStorage::crash`] is a power loss. The new image's directory is the durable
//!   map (unsynced creates, renames and removes are reverted; an inode no longer named
//!   disappears). Each surviving inode starts from its durable bytes and replays its
//!   unsynced changes in order, each one independently and with roughly equal
//!   probability dropped, kept or torn. **A crash keeps a prefix of each unsynced
//!   write, cut at a sector boundary; sectors are written in order**: a torn write
//!   keeps its bytes up to a multiple of the [`TearGranularity`] in *file* offsets
//!   (possibly none of them), never a later part without the earlier part. A
//!   `set_len` is kept or dropped. Dropping a write that extended the file does not
//!   extend it.
//! * Faults: every counted call increments the counter of its [`FaultOp`] kind and
//!   the [`FaultOp::Any`] counter. The call that brings the counter named by
//!   [`SimConfig::fault`] to `nth` fails with the raw OS error of its
//!   [`FaultErrno`] (5 = `EIO`, 28 = `ENOSPC`); only that call fails. Counted:
//!   `write_at` and `set_len` as [`FaultOp::Write`], `sync_data` as
//!   [`FaultOp::Sync`], `rename`, `create`, `remove` and `sync_dir` as their own
//!   kinds. `read`, `list`, `open`, `len` and `lock` are neither counted nor failed.
//! * A failed `write_at` applies a random prefix of its buffer (possibly empty,
//!   never all of it) that stays unsynced, as a write the kernel half took before
//!   reporting the error would. A failed `set_len` changes nothing. A failed
//!   `sync_data` leaves the pending changes pending. A failed `create`, `rename`,
//!   `remove` or `sync_dir` changes nothing.
//! * With [`SimConfig::short_write_probability`], `write_at` of more than one byte
//!   writes and returns a random non-empty proper prefix.
//! * `lock` models an exclusive lock held by the returned guard (a second `lock`
//!   while a guard lives fails with [`Error::Locked`]); no `LOCK` file is created.
//!
//! After `crash`, every operation through the old handle (and through files opened
//! from it) fails with `io::ErrorKind::Other`, "simulated crash", so a writer thread
//! still running on it can acknowledge nothing more.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::storage::{LOCK_FILE_NAME, LockGuard, Storage, StorageFile};

/// Largest file the sim accepts, so a wild offset fails instead of aborting on allocation.
const MAX_FILE_LEN: u64 = 1 << 32;

/// Which kind of call a [`Fault`] targets (and which counter [`SimStorage::op_count`] reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// `StorageFile::write_at` and `StorageFile::set_len`.
    Write,
    /// `StorageFile::sync_data`.
    Sync,
    /// `Storage::rename`.
    Rename,
    /// `Storage::create`.
    Create,
    /// `Storage::remove`.
    Remove,
    /// `Storage::sync_dir`.
    SyncDir,
    /// Every counted call, whatever its kind.
    Any,
}

const OP_KINDS: usize = 7;

impl FaultOp {
    const fn index(self) -> usize {
        match self {
            Self::Write => 0,
            Self::Sync => 1,
            Self::Rename => 2,
            Self::Create => 3,
            Self::Remove => 4,
            Self::SyncDir => 5,
            Self::Any => 6,
        }
    }
}

/// The OS error a [`Fault`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultErrno {
    /// `EIO` (raw code 5).
    Eio,
    /// `ENOSPC` (raw code 28).
    Enospc,
}

impl FaultErrno {
    /// The raw Linux error number.
    pub const fn raw_os_error(self) -> i32 {
        match self {
            Self::Eio => 5,
            Self::Enospc => 28,
        }
    }
}

/// One injected failure: the `nth` (1-based) call of kind `op` fails with `errno`.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    /// The kind of call to fail.
    pub op: FaultOp,
    /// Which call of that kind fails, counting from 1.
    pub nth: u64,
    /// The error it fails with.
    pub errno: FaultErrno,
}

/// Where a torn write may be cut, in file offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TearGranularity {
    /// 512-byte sectors.
    Sector512,
    /// 4096-byte pages.
    Page4096,
}

impl TearGranularity {
    /// The granularity in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Sector512 => 512,
            Self::Page4096 => 4096,
        }
    }
}

/// How a [`SimStorage`] behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// The one injected failure, if any.
    pub fault: Option<Fault>,
    /// Probability (0.0..=1.0) that a `write_at` of more than one byte is short.
    pub short_write_probability: f64,
    /// Where [`SimStorage::crash`] may cut unsynced writes.
    pub tear_granularity: TearGranularity,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            fault: None,
            short_write_probability: 0.0,
            tear_granularity: TearGranularity::Sector512,
        }
    }
}

/// An unsynced change to an inode.
#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, bytes: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct Inode {
    /// What reads see.
    data: Vec<u8>,
    /// As of the last successful `sync_data`.
    durable: Vec<u8>,
    /// Changes since then, in order.
    pending: Vec<Pending>,
    /// Open file handles.
    open: usize,
}

fn apply_write(data: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // Offsets are bounded by MAX_FILE_LEN, checked when the write was accepted.
    let start = offset as usize;
    let end = start + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[start..end].copy_from_slice(bytes);
}

fn apply_set_len(data: &mut Vec<u8>, len: u64) {
    data.resize(len as usize, 0);
}

fn crash_error() -> io::Error {
    io::Error::other("simulated crash")
}

fn not_found(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("sim: no file {name:?}"))
}

fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("sim: bad file name {name:?}"),
        ));
    }
    Ok(())
}

fn check_extent(offset: u64, len: usize) -> io::Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= MAX_FILE_LEN => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "sim: file would exceed 4 GiB",
        )),
    }
}

#[derive(Debug)]
struct State {
    config: SimConfig,
    rng: fastrand::Rng,
    crashed: bool,
    locked: bool,
    next_ino: u64,
    inodes: BTreeMap<u64, Inode>,
    current: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
    counts: [u64; OP_KINDS],
    read_flips: BTreeMap<String, u64>,
}

impl State {
    fn new(config: SimConfig) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(config.seed),
            config,
            crashed: false,
            locked: false,
            next_ino: 1,
            inodes: BTreeMap::new(),
            current: BTreeMap::new(),
            durable: BTreeMap::new(),
            counts: [0; OP_KINDS],
            read_flips: BTreeMap::new(),
        }
    }

    fn check(&self) -> io::Result<()> {
        if self.crashed {
            Err(crash_error())
        } else {
            Ok(())
        }
    }

    /// Counts a call of kind `op` and fails it if it is the injected fault.
    /// Call after [`State::check`].
    fn count(&mut self, op: FaultOp) -> io::Result<()> {
        self.counts[op.index()] += 1;
        self.counts[FaultOp::Any.index()] += 1;
        if let Some(fault) = self.config.fault
            && (fault.op == op || fault.op == FaultOp::Any)
            && self.counts[fault.op.index()] == fault.nth
        {
            return Err(io::Error::from_raw_os_error(fault.errno.raw_os_error()));
        }
        Ok(())
    }

    fn new_inode(&mut self, inode: Inode) -> u64 {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, inode);
        ino
    }

    fn inode_mut(&mut self, ino: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&ino)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "sim: inode is gone"))
    }

    /// Frees inodes that no directory names and no handle holds open.
    fn gc(&mut self) {
        let named: BTreeSet<u64> = self
            .current
            .values()
            .chain(self.durable.values())
            .copied()
            .collect();
        self.inodes
            .retain(|ino, inode| inode.open > 0 || named.contains(ino));
    }

    /// Marks this state crashed and computes the post-crash image.
    fn crash_image(&mut self) -> State {
        self.crashed = true;
        let granularity = self.config.tear_granularity.bytes();
        let live: BTreeSet<u64> = self.durable.values().copied().collect();
        let mut inodes = BTreeMap::new();
        for ino in live {
            let Some(inode) = self.inodes.get(&ino) else {
                continue;
            };
            let mut data = inode.durable.clone();
            for change in &inode.pending {
                match change {
                    Pending::Write { offset, bytes } => match self.rng.u8(0..3) {
                        0 => {}
                        1 => apply_write(&mut data, *offset, bytes),
                        _ => {
                            let keep = tear_keep(&mut self.rng, *offset, bytes.len(), granularity);
                            apply_write(&mut data, *offset, &bytes[..keep]);
                        }
                    },
                    Pending::SetLen(len) => {
                        if self.rng.bool() {
                            apply_set_len(&mut data, *len);
                        }
                    }
                }
            }
            inodes.insert(
                ino,
                Inode {
                    durable: data.clone(),
                    data,
                    pending: Vec::new(),
                    open: 0,
                },
            );
        }
        State {
            config: SimConfig {
                fault: None,
                ..self.config.clone()
            },
            rng: fastrand::Rng::with_seed(self.rng.u64(..)),
            crashed: false,
            locked: false,
            next_ino: self.next_ino,
            inodes,
            current: self.durable.clone(),
            durable: self.durable.clone(),
            counts: [0; OP_KINDS],
            read_flips: BTreeMap::new(),
        }
    }
}

/// How many bytes of a write of `len` bytes at `offset` a tear keeps: the distance
/// from `offset` to a uniformly chosen cut among `offset` itself and the multiples of
/// `granularity` strictly inside the write.
fn tear_keep(rng: &mut fastrand::Rng, offset: u64, len: usize, granularity: u64) -> usize {
    let end = offset + len as u64;
    let first = (offset / granularity + 1) * granularity;
    let inner = if first < end {
        (end - 1 - first) / granularity + 1
    } else {
        0
    };
    let pick = rng.u64(0..=inner);
    if pick == 0 {
        0
    } else {
        (first + (pick - 1) * granularity - offset) as usize
    }
}

/// In-memory [`Storage`] with seeded fault injection and power-loss simulation.
/// See the module docs for the model. Clones share state.
#[derive(Clone)]
pub struct SimStorage {
    state: Arc<Mutex<State>>,
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide its panic behind ours.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl fmt::Debug for SimStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SimStorage");
        match self.state.try_lock() {
            Ok(st) => d
                .field("seed", &st.config.seed)
                .field("crashed", &st.crashed)
                .field("files", &st.current.len())
                .finish(),
            Err(_) => d.finish_non_exhaustive(),
        }
    }
}

impl SimStorage {
    /// An empty directory behaving as `config` says.
    pub fn new(config: SimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(config))),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.state)
    }

    /// Simulated power loss. Atomically computes the post-crash image (see the module
    /// docs) and returns a new `SimStorage` over it, with fresh op counters, the same
    /// config except `fault: None`, no read flips, and the rng continued
    /// deterministically. From now on every operation through this handle and through
    /// files opened from it fails with `io::ErrorKind::Other`, "simulated crash".
    pub fn crash(&self) -> SimStorage {
        let image = self.state().crash_image();
        Self {
            state: Arc::new(Mutex::new(image)),
        }
    }

    /// How many calls of kind `op` were counted so far ([`FaultOp::Any`]: of all kinds),
    /// failed ones included.
    pub fn op_count(&self, op: FaultOp) -> u64 {
        self.state().counts[op.index()]
    }

    /// The current (not necessarily durable) contents of a file, without read flips.
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let st = self.state();
        let ino = st.current.get(name)?;
        st.inodes.get(ino).map(|i| i.data.clone())
    }

    /// Replaces a file's contents (creating it if missing) as if durably written and
    /// its name durably linked.
    pub fn set_file_bytes(&self, name: &str, bytes: Vec<u8>) {
        let mut st = self.state();
        // Reuse the current inode so open handles see the new bytes; otherwise a
        // fresh one (reusing a durable-only inode could give it two current names).
        let ino = match st.current.get(name).copied() {
            Some(ino) if st.inodes.contains_key(&ino) => ino,
            _ => st.new_inode(Inode::default()),
        };
        st.durable.retain(|n, i| *i != ino || n == name);
        st.current.insert(name.to_owned(), ino);
        st.durable.insert(name.to_owned(), ino);
        if let Some(inode) = st.inodes.get_mut(&ino) {
            inode.durable.clone_from(&bytes);
            inode.data = bytes;
            inode.pending.clear();
        }
        st.gc();
    }

    /// Removes a file durably (both from the current and the durable directory).
    pub fn delete_file(&self, name: &str) {
        let mut st = self.state();
        if let Some(ino) = st.current.remove(name) {
            st.durable.retain(|_, i| *i != ino);
        }
        st.durable.remove(name);
        st.gc();
    }

    /// Flips bit `bit` (0..8*len; bit 0 is the low bit of byte 0) of the file's bytes
    /// on every later `read` of `name`, without changing the stored bytes; `None` clears.
    /// A bit past the end of the file flips nothing.
    pub fn set_read_flip(&self, name: &str, bit: Option<u64>) {
        let mut st = self.state();
        match bit {
            Some(bit) => st.read_flips.insert(name.to_owned(), bit),
            None => st.read_flips.remove(name),
        };
    }

    /// Names of the files that currently exist, sorted.
    pub fn names(&self) -> Vec<String> {
        self.state().current.keys().cloned().collect()
    }

    fn open_file(&self, st: &mut State, name: &str, ino: u64) -> io::Result<Box<dyn StorageFile>> {
        st.inode_mut(ino)?.open += 1;
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            ino,
            name: name.to_owned(),
        }))
    }
}

impl Storage for SimStorage {
    fn describe(&self) -> String {
        format!("sim:seed={}", self.state().config.seed)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let st = self.state();
        st.check()?;
        Ok(st.current.keys().cloned().collect())
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        let st = self.state();
        st.check()?;
        let ino = st.current.get(name).ok_or_else(|| not_found(name))?;
        let mut data = st
            .inodes
            .get(ino)
            .ok_or_else(|| not_found(name))?
            .data
            .clone();
        if let Some(&bit) = st.read_flips.get(name)
            && let Some(byte) = usize::try_from(bit / 8).ok().and_then(|i| data.get_mut(i))
        {
            *byte ^= 1 << (bit % 8);
        }
        Ok(data)
    }

    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let mut st = self.state();
        st.check()?;
        check_name(name)?;
        st.count(FaultOp::Create)?;
        if st.current.contains_key(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("sim: file {name:?} exists"),
            ));
        }
        let ino = st.new_inode(Inode::default());
        st.current.insert(name.to_owned(), ino);
        self.open_file(&mut st, name, ino)
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let mut st = self.state();
        st.check()?;
        let ino = *st.current.get(name).ok_or_else(|| not_found(name))?;
        self.open_file(&mut st, name, ino)
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut st = self.state();
        st.check()?;
        check_name(to)?;
        st.count(FaultOp::Rename)?;
        if !st.current.contains_key(from) {
            return Err(not_found(from));
        }
        if from != to
            && let Some(ino) = st.current.remove(from)
        {
            st.current.insert(to.to_owned(), ino);
            st.gc();
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        let mut st = self.state();
        st.check()?;
        st.count(FaultOp::Remove)?;
        st.current.remove(name).ok_or_else(|| not_found(name))?;
        st.gc();
        Ok(())
    }

    fn sync_dir(&self) -> io::Result<()> {
        let mut st = self.state();
        st.check()?;
        st.count(FaultOp::SyncDir)?;
        st.durable = st.current.clone();
        st.gc();
        Ok(())
    }

    fn lock(&self) -> Result<Box<dyn LockGuard>> {
        let mut st = self.state();
        let path = PathBuf::from(format!("sim:seed={}", st.config.seed)).join(LOCK_FILE_NAME);
        if let Err(e) = st.check() {
            return Err(Error::io("lock", path.display().to_string(), e));
        }
        if st.locked {
            return Err(Error::Locked { path, pid: None });
        }
        st.locked = true;
        Ok(Box::new(SimLockGuard {
            state: Arc::clone(&self.state),
        }))
    }
}

/// Holds the sim's directory lock; dropping it releases the lock.
struct SimLockGuard {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimLockGuard").finish_non_exhaustive()
    }
}

impl LockGuard for SimLockGuard {}

impl Drop for SimLockGuard {
    fn drop(&mut self) {
        lock_state(&self.state).locked = false;
    }
}

/// An open file of a [`SimStorage`]: refers to the inode, so it keeps working after
/// its name is renamed or removed, as on POSIX.
struct SimFile {
    state: Arc<Mutex<State>>,
    ino: u64,
    name: String,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("name", &self.name)
            .field("ino", &self.ino)
            .finish_non_exhaustive()
    }
}

impl StorageFile for SimFile {
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<usize> {
        let mut guard = lock_state(&self.state);
        let st = &mut *guard;
        st.check()?;
        check_extent(offset, buf.len())?;
        if let Err(e) = st.count(FaultOp::Write) {
            let n = if buf.is_empty() {
                0
            } else {
                st.rng.usize(0..buf.len())
            };
            let inode = st.inode_mut(self.ino)?;
            if n > 0 {
                apply_write(&mut inode.data, offset, &buf[..n]);
                inode.pending.push(Pending::Write {
                    offset,
                    bytes: buf[..n].to_vec(),
                });
            }
            return Err(e);
        }
        let p = st.config.short_write_probability;
        let n = if buf.len() > 1 && p > 0.0 && st.rng.f64() < p {
            st.rng.usize(1..buf.len())
        } else {
            buf.len()
        };
        let inode = st.inode_mut(self.ino)?;
        if n > 0 {
            apply_write(&mut inode.data, offset, &buf[..n]);
            inode.pending.push(Pending::Write {
                offset,
                bytes: buf[..n].to_vec(),
            });
        }
        Ok(n)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut st = lock_state(&self.state);
        st.check()?;
        st.count(FaultOp::Sync)?;
        let inode = st.inode_mut(self.ino)?;
        inode.durable.clone_from(&inode.data);
        inode.pending.clear();
        Ok(())
    }

    fn set_len(&mut self, len_bytes: u64) -> io::Result<()> {
        let mut st = lock_state(&self.state);
        st.check()?;
        check_extent(len_bytes, 0)?;
        st.count(FaultOp::Write)?;
        let inode = st.inode_mut(self.ino)?;
        apply_set_len(&mut inode.data, len_bytes);
        inode.pending.push(Pending::SetLen(len_bytes));
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        let st = lock_state(&self.state);
        st.check()?;
        st.inodes
            .get(&self.ino)
            .map(|i| i.data.len() as u64)
            .ok_or_else(|| not_found(&self.name))
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut st = lock_state(&self.state);
        if let Some(inode) = st.inodes.get_mut(&self.ino) {
            inode.open = inode.open.saturating_sub(1);
        }
        st.gc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::write_all_at;

    fn sim(seed: u64) -> SimStorage {
        SimStorage::new(SimConfig {
            seed,
            ..SimConfig::default()
        })
    }

    fn durable_file(s: &SimStorage, name: &str, bytes: &[u8]) -> Box<dyn StorageFile> {
        let mut f = s.create(name).unwrap();
        write_all_at(f.as_mut(), 0, bytes).unwrap();
        f.sync_data().unwrap();
        s.sync_dir().unwrap();
        f
    }

    #[test]
    fn synced_data_survives_crash() {
        for seed in 0..50 {
            let s = sim(seed);
            let _f = durable_file(&s, "a", b"hello world");
            let after = s.crash();
            assert_eq!(after.file_bytes("a").unwrap(), b"hello world");
            assert_eq!(after.read("a").unwrap(), b"hello world");
            assert_eq!(after.names(), vec!["a".to_owned()]);
        }
    }

    /// Crashes after an unsynced write of `len` bytes of 2s at `offset` over `base`
    /// synced bytes of 1s and classifies the outcome, checking a tear is a prefix cut
    /// at the granularity.
    fn unsynced_write_outcomes(granularity: TearGranularity, base: usize, offset: u64, len: usize) {
        let g = granularity.bytes();
        let base_bytes = vec![1u8; base];
        let mut full = base_bytes.clone();
        apply_write(&mut full, offset, &vec![2u8; len]);
        let (mut dropped, mut kept, mut torn) = (0, 0, 0);
        for seed in 0..200 {
            let s = SimStorage::new(SimConfig {
                seed,
                tear_granularity: granularity,
                ..SimConfig::default()
            });
            let mut f = durable_file(&s, "a", &base_bytes);
            write_all_at(f.as_mut(), offset, &vec![2u8; len]).unwrap();
            assert_eq!(s.file_bytes("a").unwrap(), full);
            let r = s.crash().file_bytes("a").unwrap();
            if r == base_bytes {
                dropped += 1;
            } else if r == full {
                kept += 1;
            } else {
                torn += 1;
                let ok = (offset / g + 1..(offset + len as u64).div_ceil(g)).any(|k| {
                    let cut = k * g;
                    let mut expect = base_bytes.clone();
                    apply_write(&mut expect, offset, &vec![2u8; (cut - offset) as usize]);
                    r == expect
                });
                assert!(ok, "seed {seed}: torn image is not a prefix cut at {g}");
            }
        }
        assert!(dropped > 20, "dropped {dropped}");
        assert!(kept > 20, "kept {kept}");
        assert!(torn > 20, "torn {torn}");
    }

    #[test]
    fn unsynced_write_is_dropped_kept_or_torn_sector() {
        unsynced_write_outcomes(TearGranularity::Sector512, 1000, 700, 2000);
    }

    #[test]
    fn unsynced_write_is_dropped_kept_or_torn_page() {
        unsynced_write_outcomes(TearGranularity::Page4096, 100, 100, 9000);
    }

    #[test]
    fn tear_keep_cuts_at_boundaries() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1000 {
            let offset = rng.u64(0..5000);
            let len = rng.usize(1..5000);
            let keep = tear_keep(&mut rng, offset, len, 512);
            assert!(keep < len);
            assert!(keep == 0 || (offset + keep as u64).is_multiple_of(512));
        }
        // A write inside one sector can only be torn to nothing.
        assert_eq!(tear_keep(&mut rng, 10, 100, 512), 0);
    }

    #[test]
    fn unsynced_set_len_is_kept_or_dropped() {
        let (mut kept, mut dropped) = (0, 0);
        for seed in 0..100 {
            let s = sim(seed);
            let mut f = durable_file(&s, "a", &[1; 100]);
            f.set_len(10).unwrap();
            f.set_len(20).unwrap();
            assert_eq!(s.file_bytes("a").unwrap().len(), 20);
            assert_eq!(&s.file_bytes("a").unwrap()[10..], &[0; 10]);
            let r = s.crash().file_bytes("a").unwrap();
            match r.len() {
                100 => assert_eq!(r, vec![1; 100]),
                10 => assert_eq!(r, vec![1; 10]),
                20 => {
                    kept += 1;
                    // Both kept (zeros past 10) or only the second (data kept).
                    assert!(r == [[1; 10], [0; 10]].concat() || r == vec![1; 20]);
                }
                n => panic!("unexpected length {n}"),
            }
            if r.len() == 100 {
                dropped += 1;
            }
        }
        assert!(kept > 0 && dropped > 0);
    }

    #[test]
    fn unsynced_create_and_rename_are_reverted() {
        let s = sim(1);
        let _a = durable_file(&s, "a", b"aaa");
        let mut b = s.create("b").unwrap();
        write_all_at(b.as_mut(), 0, b"bbb").unwrap();
        b.sync_data().unwrap();
        s.rename("a", "c").unwrap();
        assert_eq!(s.names(), vec!["b".to_owned(), "c".to_owned()]);
        let after = s.crash();
        assert_eq!(after.names(), vec!["a".to_owned()]);
        assert_eq!(after.file_bytes("a").unwrap(), b"aaa");
    }

    #[test]
    fn unsynced_remove_and_rename_over_are_reverted() {
        let s = sim(2);
        let _a = durable_file(&s, "a", b"aaa");
        let _b = durable_file(&s, "b", b"bbb");
        s.remove("a").unwrap();
        s.rename("b", "x").unwrap();
        let _n = durable_file(&s, "n", b"nnn"); // syncs the dir: now durable
        s.rename("n", "x").unwrap(); // replaces x, unsynced
        s.remove("x").unwrap();
        let after = s.crash();
        assert_eq!(after.names(), vec!["n".to_owned(), "x".to_owned()]);
        assert_eq!(after.file_bytes("x").unwrap(), b"bbb");
        assert_eq!(after.file_bytes("n").unwrap(), b"nnn");
    }

    #[test]
    fn synced_create_and_rename_are_kept() {
        let s = sim(3);
        let _a = durable_file(&s, "a", b"aaa");
        s.rename("a", "b").unwrap();
        s.sync_dir().unwrap();
        let after = s.crash();
        assert_eq!(after.names(), vec!["b".to_owned()]);
        assert_eq!(after.file_bytes("b").unwrap(), b"aaa");
    }

    #[test]
    fn created_but_unsynced_file_data_is_empty_or_partial() {
        for seed in 0..50 {
            let s = sim(seed);
            let mut f = s.create("a").unwrap();
            s.sync_dir().unwrap();
            write_all_at(f.as_mut(), 0, &[9; 100]).unwrap();
            let r = s.crash().file_bytes("a").unwrap();
            assert!(r.is_empty() || r == [9; 100], "{r:?}");
        }
    }

    /// Runs one call of each counted kind, in order, and returns the results.
    fn one_of_each(s: &SimStorage) -> Vec<(FaultOp, io::Result<()>)> {
        let mut out = Vec::new();
        let f = s.create("f");
        let mut f = match f {
            Ok(f) => {
                out.push((FaultOp::Create, Ok(())));
                f
            }
            Err(e) => {
                out.push((FaultOp::Create, Err(e)));
                s.create("f").unwrap()
            }
        };
        out.push((FaultOp::Write, f.write_at(0, b"xyz").map(|_| ())));
        out.push((FaultOp::Sync, f.sync_data()));
        out.push((FaultOp::Rename, s.rename("f", "g")));
        out.push((FaultOp::SyncDir, s.sync_dir()));
        let name = if s.file_bytes("g").is_some() {
            "g"
        } else {
            "f"
        };
        out.push((FaultOp::Remove, s.remove(name)));
        out
    }

    #[test]
    fn fault_fails_exactly_the_nth_call() {
        let kinds = [
            FaultOp::Write,
            FaultOp::Sync,
            FaultOp::Rename,
            FaultOp::Create,
            FaultOp::Remove,
            FaultOp::SyncDir,
        ];
        for errno in [FaultErrno::Eio, FaultErrno::Enospc] {
            for op in kinds {
                for nth in 1..=2 {
                    let s = SimStorage::new(SimConfig {
                        fault: Some(Fault { op, nth, errno }),
                        ..SimConfig::default()
                    });
                    let mut failures = Vec::new();
                    for round in 1..=3 {
                        for (kind, r) in one_of_each(&s) {
                            if let Err(e) = r {
                                assert_eq!(e.raw_os_error(), Some(errno.raw_os_error()));
                                failures.push((kind, round));
                            }
                        }
                        // Clean up for the next round.
                        for n in s.names() {
                            s.remove(&n).unwrap();
                        }
                    }
                    assert_eq!(failures, vec![(op, nth)], "{op:?} {errno:?} nth {nth}");
                    assert!(s.op_count(op) >= 3);
                }
            }
        }
    }

    #[test]
    fn fault_any_counts_everything() {
        let s = sim(0);
        one_of_each(&s);
        let total = s.op_count(FaultOp::Any);
        assert_eq!(total, 6);
        for nth in 1..=total {
            let s = SimStorage::new(SimConfig {
                fault: Some(Fault {
                    op: FaultOp::Any,
                    nth,
                    errno: FaultErrno::Eio,
                }),
                ..SimConfig::default()
            });
            let failed: Vec<_> = one_of_each(&s)
                .into_iter()
                .enumerate()
                .filter(|(_, (_, r))| r.is_err())
                .map(|(i, _)| i as u64 + 1)
                .collect();
            assert_eq!(failed, vec![nth]);
        }
    }

    #[test]
    fn failed_ops_change_nothing_durable() {
        let fault = |op| {
            SimStorage::new(SimConfig {
                fault: Some(Fault {
                    op,
                    nth: 1,
                    errno: FaultErrno::Eio,
                }),
                ..SimConfig::default()
            })
        };
        // Failed create: no file.
        let s = fault(FaultOp::Create);
        assert!(s.create("a").is_err());
        assert!(s.names().is_empty());
        // Failed rename/remove: nothing moves.
        let s = fault(FaultOp::Rename);
        let _a = durable_file(&s, "a", b"a");
        assert!(s.rename("a", "b").is_err());
        assert_eq!(s.names(), vec!["a".to_owned()]);
        let s = fault(FaultOp::Remove);
        let _a = durable_file(&s, "a", b"a");
        assert!(s.remove("a").is_err());
        assert_eq!(s.names(), vec!["a".to_owned()]);
        // Failed sync_dir: creation stays unsynced.
        let s = fault(FaultOp::SyncDir);
        let _a = s.create("a").unwrap();
        assert!(s.sync_dir().is_err());
        assert!(s.crash().names().is_empty());
        // Failed sync_data: data stays pending, so some seed loses it.
        let mut lost = false;
        for seed in 0..20 {
            let s = SimStorage::new(SimConfig {
                seed,
                fault: Some(Fault {
                    op: FaultOp::Sync,
                    nth: 1,
                    errno: FaultErrno::Enospc,
                }),
                ..SimConfig::default()
            });
            let mut f = s.create("a").unwrap();
            s.sync_dir().unwrap();
            write_all_at(f.as_mut(), 0, b"data").unwrap();
            assert_eq!(f.sync_data().unwrap_err().raw_os_error(), Some(28));
            lost |= s.crash().file_bytes("a").unwrap().is_empty();
        }
        assert!(lost);
        // Failed write: at most a proper prefix, unsynced.
        for seed in 0..20 {
            let s = SimStorage::new(SimConfig {
                seed,
                fault: Some(Fault {
                    op: FaultOp::Write,
                    nth: 1,
                    errno: FaultErrno::Eio,
                }),
                ..SimConfig::default()
            });
            let mut f = s.create("a").unwrap();
            assert!(f.write_at(0, &[5; 100]).is_err());
            let now = s.file_bytes("a").unwrap();
            assert!(now.len() < 100 && now.iter().all(|&b| b == 5));
        }
    }

    #[test]
    fn short_writes_return_a_prefix() {
        let s = SimStorage::new(SimConfig {
            seed: 5,
            short_write_probability: 1.0,
            ..SimConfig::default()
        });
        let mut f = s.create("a").unwrap();
        let data: Vec<u8> = (0..=255).collect();
        let n = f.write_at(0, &data).unwrap();
        assert!(n >= 1 && n < data.len());
        assert_eq!(s.file_bytes("a").unwrap(), &data[..n]);
        assert_eq!(f.write_at(1000, &[7]).unwrap(), 1);
        let mut looped = 0;
        for seed in 0..20 {
            let s = SimStorage::new(SimConfig {
                seed,
                short_write_probability: 0.5,
                ..SimConfig::default()
            });
            let mut f = s.create("a").unwrap();
            write_all_at(f.as_mut(), 10, &data).unwrap();
            let got = s.file_bytes("a").unwrap();
            assert_eq!(&got[..10], &[0; 10]);
            assert_eq!(&got[10..], &data[..]);
            if s.op_count(FaultOp::Write) > 1 {
                looped += 1;
            }
        }
        assert!(looped > 0);
    }

    #[test]
    fn crash_poisons_old_handle_and_files() {
        let s = sim(9);
        let mut f = durable_file(&s, "a", b"abc");
        let guard = s.lock().unwrap();
        let after = s.crash();
        let is_crash =
            |e: io::Error| e.kind() == io::ErrorKind::Other && e.to_string() == "simulated crash";
        assert!(is_crash(f.write_at(3, b"d").unwrap_err()));
        assert!(is_crash(f.sync_data().unwrap_err()));
        assert!(is_crash(f.set_len(0).unwrap_err()));
        assert!(is_crash(f.len().unwrap_err()));
        assert!(is_crash(s.list().unwrap_err()));
        assert!(is_crash(s.read("a").unwrap_err()));
        assert!(is_crash(s.create("b").err().unwrap()));
        assert!(is_crash(s.open("a").err().unwrap()));
        assert!(is_crash(s.rename("a", "b").unwrap_err()));
        assert!(is_crash(s.remove("a").unwrap_err()));
        assert!(is_crash(s.sync_dir().unwrap_err()));
        assert!(s.lock().is_err());
        drop(guard);
        // The new image is fully usable and unlocked.
        let _g = after.lock().unwrap();
        let mut g = after.open("a").unwrap();
        write_all_at(g.as_mut(), 3, b"d").unwrap();
        g.sync_data().unwrap();
        assert_eq!(after.read("a").unwrap(), b"abcd");
        assert_eq!(after.op_count(FaultOp::Any), 2);
    }

    #[test]
    fn same_seed_same_crash_image() {
        let run = |seed| {
            let s = sim(seed);
            let mut images = Vec::new();
            let mut cur = s;
            for round in 0..3u8 {
                let mut f = match cur.open("a") {
                    Ok(f) => f,
                    Err(_) => {
                        let f = cur.create("a").unwrap();
                        cur.sync_dir().unwrap();
                        f
                    }
                };
                for i in 0..20u64 {
                    write_all_at(f.as_mut(), i * 300, &[round + 1; 700]).unwrap();
                }
                drop(f);
                cur = cur.crash();
                images.push(cur.file_bytes("a"));
            }
            images
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn test_helpers() {
        let s = sim(0);
        s.set_file_bytes("x", vec![0, 1, 2]);
        s.set_file_bytes("y", vec![3]);
        assert_eq!(s.names(), vec!["x".to_owned(), "y".to_owned()]);
        s.set_read_flip("x", Some(9));
        assert_eq!(s.read("x").unwrap(), vec![0, 3, 2]);
        assert_eq!(s.file_bytes("x").unwrap(), vec![0, 1, 2]);
        s.set_read_flip("x", Some(1000));
        assert_eq!(s.read("x").unwrap(), vec![0, 1, 2]);
        s.set_read_flip("x", None);
        assert_eq!(s.read("x").unwrap(), vec![0, 1, 2]);
        s.delete_file("y");
        let after = s.crash();
        assert_eq!(after.names(), vec!["x".to_owned()]);
        assert_eq!(after.file_bytes("x").unwrap(), vec![0, 1, 2]);
        assert_eq!(after.describe(), "sim:seed=0");
    }

    #[test]
    fn set_file_bytes_and_delete_file_are_durable() {
        let s = sim(0);
        let mut a = durable_file(&s, "a", b"aaa");
        s.rename("a", "b").unwrap(); // unsynced
        s.set_file_bytes("b", b"BBB".to_vec());
        s.set_file_bytes("a", b"new".to_vec());
        write_all_at(a.as_mut(), 3, b"x").unwrap(); // unsynced, goes to "b"
        assert_eq!(s.file_bytes("b").unwrap(), b"BBBx");
        drop(a);
        let after = s.crash();
        assert_eq!(after.names(), vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(after.file_bytes("a").unwrap(), b"new");
        assert!(after.file_bytes("b").unwrap().starts_with(b"BBB"));
        let _c = durable_file(&after, "c", b"c");
        after.rename("c", "d").unwrap(); // unsynced
        after.delete_file("d");
        after.delete_file("a");
        assert_eq!(after.crash().names(), vec!["b".to_owned()]);
    }

    #[test]
    fn errors_for_missing_and_existing() {
        let s = sim(0);
        assert_eq!(s.read("a").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(s.open("a").err().unwrap().kind(), io::ErrorKind::NotFound);
        assert_eq!(s.remove("a").unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(
            s.rename("a", "b").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let _a = s.create("a").unwrap();
        assert_eq!(
            s.create("a").err().unwrap().kind(),
            io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let s = sim(0);
        let g = s.lock().unwrap();
        assert!(matches!(s.lock(), Err(Error::Locked { .. })));
        drop(g);
        let _g = s.lock().unwrap();
    }

    #[test]
    fn open_handle_survives_unlink() {
        let s = sim(0);
        let mut f = durable_file(&s, "a", b"abc");
        s.remove("a").unwrap();
        s.sync_dir().unwrap();
        write_all_at(f.as_mut(), 0, b"z").unwrap();
        assert_eq!(f.len().unwrap(), 3);
        drop(f);
        assert!(s.state().inodes.is_empty());
    }
}
