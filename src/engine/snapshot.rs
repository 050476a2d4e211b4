//! Snapshots: the whole state at one version, in its own file, so recovery
//! replays only the log after it and old segments can be deleted.
//!
//! A snapshot file `snap-<version, 20 digits>.bin` is, little-endian:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"DSSN"` |
//! | 4 | 2 | format version, `1` |
//! | 6 | 2 | reserved, `0` |
//! | 8 | 8 | state version |
//! | 16 | 8 | payload length `L` |
//! | 24 | 4 | crc32c of the payload |
//! | 28 | 4 | crc32c of bytes 0..28 |
//! | 32 | L | payload (the machine's encoding of the state) |
//!
//! Writing: temp file, write, fdatasync, rename into place, fsync the directory;
//! then all but the newest [`SNAPSHOTS_KEPT`] are removed. Loading takes the
//! newest file that checks; a damaged newest one falls back to the older one
//! (and says so), never to nothing while a valid one exists.

use std::sync::Arc;

use wal::Storage;

/// `b"DSSN"` as a little-endian `u32`.
const MAGIC: u32 = u32::from_le_bytes(*b"DSSN");
/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_FORMAT_VERSION: u16 = 1;
const HEADER_BYTES: usize = 32;
/// Snapshots kept on disk: the newest and one to fall back on.
pub const SNAPSHOTS_KEPT: usize = 2;
/// Largest snapshot payload accepted when loading.
pub const SNAPSHOT_BYTES_MAX: u64 = 64 << 20;
const PREFIX: &str = "snap-";
const SUFFIX: &str = ".bin";
const TEMP_SUFFIX: &str = ".tmp";

fn file_name(version: u64) -> String {
    format!("{PREFIX}{version:020}{SUFFIX}")
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Encodes a snapshot file.
pub fn encode(version: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&SNAPSHOT_FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    let header_crc = crc32c::crc32c(&out[..28]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Decodes a snapshot file, or says what is wrong with it.
pub fn decode(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    if bytes.len() < HEADER_BYTES {
        return Err(format!("{} bytes is shorter than a header", bytes.len()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if crc32c::crc32c(&bytes[..28]) != u32_at(28) {
        return Err("header checksum mismatch".into());
    }
    if u32_at(0) != MAGIC {
        return Err("bad magic".into());
    }
    let format = u16::from_le_bytes([bytes[4], bytes[5]]);
    if format != SNAPSHOT_FORMAT_VERSION {
        return Err(format!(
            "snapshot format {format} is not the one this build reads ({SNAPSHOT_FORMAT_VERSION}); upgrade dhan_scalper"
        ));
    }
    let len = u64_at(16);
    if len > SNAPSHOT_BYTES_MAX || HEADER_BYTES as u64 + len != bytes.len() as u64 {
        return Err(format!("payload length {len} does not match the file"));
    }
    let payload = &bytes[HEADER_BYTES..];
    if crc32c::crc32c(payload) != u32_at(24) {
        return Err("payload checksum mismatch".into());
    }
    Ok((u64_at(8), payload))
}

/// A loaded snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The state version it holds.
    pub version: u64,
    /// The machine's encoding of the state.
    pub payload: Vec<u8>,
    /// Newer snapshot files that were damaged and skipped, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// The snapshot directory.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    storage: Arc<dyn Storage>,
}

impl SnapshotStore {
    /// Snapshots in `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    fn versions(&self) -> Result<Vec<(u64, String)>, wal::Error> {
        let names = self.storage.list().map_err(|e| wal::Error::Io {
            op: "list",
            name: self.storage.describe(),
            source: e.into(),
        })?;
        let mut v: Vec<(u64, String)> = names
            .into_iter()
            .filter_map(|n| parse_name(&n).map(|v| (v, n)))
            .collect();
        v.sort();
        Ok(v)
    }

    /// The versions of the snapshot files on disk, oldest first (damaged ones
    /// included: a file's name is enough to keep the log it needs).
    pub fn versions_kept(&self) -> Result<Vec<u64>, wal::Error> {
        Ok(self.versions()?.into_iter().map(|(v, _)| v).collect())
    }

    /// Writes the snapshot of `version` durably, then prunes old ones.
    pub fn write(&self, version: u64, payload: &[u8]) -> Result<(), wal::Error> {
        let io = |op: &'static str, name: &str, e: std::io::Error| wal::Error::Io {
            op,
            name: name.to_owned(),
            source: e.into(),
        };
        let name = file_name(version);
        let tmp = format!("{name}{TEMP_SUFFIX}");
        // A leftover temp file from a crash is simply replaced.
        let _ = self.storage.remove(&tmp);
        let mut file = self
            .storage
            .create(&tmp)
            .map_err(|e| io("create", &tmp, e))?;
        let bytes = encode(version, payload);
        let mut off = 0usize;
        // Bound: each turn writes at least one byte or fails.
        while off < bytes.len() {
            match file.write_at(off as u64, &bytes[off..]) {
                Ok(0) => return Err(io("write", &tmp, std::io::ErrorKind::WriteZero.into())),
                Ok(n) => off += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("write", &tmp, e)),
            }
        }
        file.sync_data().map_err(|e| io("fdatasync", &tmp, e))?;
        self.storage
            .rename(&tmp, &name)
            .map_err(|e| io("rename", &tmp, e))?;
        self.storage
            .sync_dir()
            .map_err(|e| io("fsync directory", &self.storage.describe(), e))?;
        let all = self.versions()?;
        if all.len() > SNAPSHOTS_KEPT {
            for (_, old) in &all[..all.len() - SNAPSHOTS_KEPT] {
                self.storage.remove(old).map_err(|e| io("remove", old, e))?;
            }
            self.storage
                .sync_dir()
                .map_err(|e| io("fsync directory", &self.storage.describe(), e))?;
        }
        Ok(())
    }

    /// The newest snapshot that checks, or `None` when there is none at all.
    /// Damaged files are skipped (and listed); if every file is damaged, that
    /// is an error: history would silently shrink otherwise.
    pub fn load_newest(&self) -> Result<Option<Loaded>, String> {
        let all = self.versions().map_err(|e| e.to_string())?;
        let mut skipped = Vec::new();
        for (version, name) in all.iter().rev() {
            let bytes = match self.storage.read(name) {
                Ok(b) => b,
                Err(e) => {
                    skipped.push((name.clone(), e.to_string()));
                    continue;
                }
            };
            match decode(&bytes) {
                Ok((v, payload)) if v == *version => {
                    return Ok(Some(Loaded {
                        version: v,
                        payload: payload.to_vec(),
                        skipped,
                    }));
                }
                Ok((v, _)) => {
                    skipped.push((name.clone(), format!("holds version {v}, not {version}")))
                }
                Err(why) => skipped.push((name.clone(), why)),
            }
        }
        if skipped.is_empty() {
            Ok(None)
        } else {
            Err(format!(
                "every snapshot is damaged: {}",
                skipped
                    .iter()
                    .map(|(n, w)| format!("{n}: {w}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wal::sim::{SimConfig, SimStorage};

    fn store() -> (SimStorage, SnapshotStore) {
        let sim = SimStorage::new(SimConfig::default());
        (sim.clone(), SnapshotStore::new(Arc::new(sim)))
    }

    #[test]
    fn golden_header() {
        let bytes = encode(7, b"abc");
        assert_eq!(&bytes[..4], b"DSSN");
        assert_eq!(&bytes[4..8], &[1, 0, 0, 0]);
        assert_eq!(&bytes[8..16], &7u64.to_le_bytes());
        assert_eq!(&bytes[16..24], &3u64.to_le_bytes());
        assert_eq!(&bytes[24..28], &crc32c::crc32c(b"abc").to_le_bytes());
        assert_eq!(decode(&bytes).unwrap(), (7, &b"abc"[..]));
    }

    #[test]
    fn keeps_the_newest_two_and_falls_back_past_a_damaged_one() {
        let (sim, s) = store();
        assert_eq!(s.load_newest().unwrap(), None);
        for v in [10, 20, 30] {
            s.write(v, format!("state at {v}").as_bytes()).unwrap();
        }
        let names: Vec<String> = sim.names();
        assert_eq!(names, vec![file_name(20), file_name(30)]);
        assert_eq!(s.load_newest().unwrap().unwrap().version, 30);
        let mut bytes = sim.file_bytes(&file_name(30)).unwrap();
        bytes[40] ^= 1;
        sim.set_file_bytes(&file_name(30), bytes);
        let loaded = s.load_newest().unwrap().unwrap();
        assert_eq!(
            (loaded.version, loaded.payload.as_slice()),
            (20, &b"state at 20"[..])
        );
        assert_eq!(loaded.skipped.len(), 1);
        let mut bytes = sim.file_bytes(&file_name(20)).unwrap();
        bytes[0] ^= 1;
        sim.set_file_bytes(&file_name(20), bytes);
        let err = s.load_newest().unwrap_err();
        assert!(err.contains("every snapshot is damaged"), "{err}");
    }

    #[test]
    fn every_bit_flip_of_a_snapshot_is_detected() {
        let bytes = encode(5, b"some state bytes");
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&b).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn a_written_snapshot_survives_a_crash() {
        for seed in 0..200 {
            let sim = SimStorage::new(SimConfig {
                seed,
                ..SimConfig::default()
            });
            let s = SnapshotStore::new(Arc::new(sim.clone()));
            s.write(1, b"one").unwrap();
            // `write` returns only after the file and the directory are
            // synced, so a power loss right after must keep snapshot 2.
            s.write(2, b"two").unwrap();
            let crashed = sim.crash();
            let loaded = SnapshotStore::new(Arc::new(crashed))
                .load_newest()
                .unwrap()
                .unwrap();
            assert_eq!(loaded.version, 2, "seed {seed}: both writes were synced");
        }
    }
}
