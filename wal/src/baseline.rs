//! Baselines for benchmarks: what the hardware does without the log, measured in
//! the same run as the log so the ratio means something on a noisy machine.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A preallocated, zero-filled, synced file written at increasing offsets with
/// raw `pwrite` + `fdatasync`, wrapping to 0 at the end (so no block is ever
/// allocated in the measured loop): the physical floor of a durable append.
#[derive(Debug)]
pub struct RawFile {
    file: File,
    len_bytes: u64,
    offset: u64,
}

impl RawFile {
    /// Creates `path` (which must not exist) and zero-fills `len_bytes` of it.
    pub fn create(path: &Path, len_bytes: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        let zeros = vec![0u8; 1 << 20];
        let mut off = 0;
        // Bound: len_bytes / 1 MiB turns.
        while off < len_bytes {
            let n = ((len_bytes - off) as usize).min(zeros.len());
            file.write_all_at(&zeros[..n], off)?;
            off += n as u64;
        }
        file.sync_all()?;
        Ok(Self {
            file,
            len_bytes,
            offset: 0,
        })
    }

    /// One `pwrite` of `bytes` plus one `fdatasync`.
    pub fn write_sync(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.offset + bytes.len() as u64 > self.len_bytes {
            self.offset = 0;
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.file.sync_data()?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

/// A storage that accepts every write and keeps nothing: the log's full path
/// (hand-off, reorder, encoding, framing, checksums, batching) with the device
/// taken out, for measuring in-memory commit cost. Never use it for data.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardStorage;

#[derive(Debug)]
struct DiscardFile {
    len_bytes: u64,
}

impl crate::storage::StorageFile for DiscardFile {
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<usize> {
        self.len_bytes = self.len_bytes.max(offset + buf.len() as u64);
        Ok(buf.len())
    }
    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn set_len(&mut self, len_bytes: u64) -> io::Result<()> {
        self.len_bytes = len_bytes;
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.len_bytes)
    }
}

#[derive(Debug)]
struct DiscardLock;

impl crate::storage::LockGuard for DiscardLock {}

impl crate::storage::Storage for DiscardStorage {
    fn describe(&self) -> String {
        "discard".into()
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn read(&self, _: &str) -> io::Result<Vec<u8>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn create(&self, _: &str) -> io::Result<Box<dyn crate::storage::StorageFile>> {
        Ok(Box::new(DiscardFile { len_bytes: 0 }))
    }
    fn open(&self, _: &str) -> io::Result<Box<dyn crate::storage::StorageFile>> {
        Ok(Box::new(DiscardFile { len_bytes: 0 }))
    }
    fn rename(&self, _: &str, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn remove(&self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn sync_dir(&self) -> io::Result<()> {
        Ok(())
    }
    fn lock(&self) -> crate::Result<Box<dyn crate::storage::LockGuard>> {
        Ok(Box::new(DiscardLock))
    }
}
