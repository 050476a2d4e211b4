//! Where segments live: a flat directory of files behind a trait, so the same log
//! code runs on the real filesystem and on [`crate::sim::SimStorage`], which injects
//! faults and crashes.
//!
//! The contract is that of POSIX with the pessimistic reading of durability:
//! a write is durable only after `sync_data` on its file returned `Ok`, and a
//! create, rename or remove is durable only after `sync_dir` returned `Ok`.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the lock file inside a log directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// An open file of a [`Storage`].
#[allow(clippy::len_without_is_empty)] // a file length, not a collection
pub trait StorageFile: Send + fmt::Debug {
    /// Writes some prefix of `buf` at `offset` and returns how many bytes that was
    /// (a short write is legal; callers loop).
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<usize>;
    /// Makes the file's written data durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Sets the length; growth reads back as zeros.
    fn set_len(&mut self, len_bytes: u64) -> io::Result<()>;
    /// The current length.
    fn len(&self) -> io::Result<u64>;
}

/// Whatever keeps the directory lock held while it lives.
pub trait LockGuard: Send + Sync + fmt::Debug {}

impl LockGuard for File {}

/// A flat directory of files.
pub trait Storage: Send + Sync + fmt::Debug {
    /// A description for messages (the directory path).
    fn describe(&self) -> String;
    /// The names of the regular files, in no particular order.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Reads a whole file.
    fn read(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Reads a whole file a chunk of `chunk_bytes` at a time (the last one may
    /// be shorter), calling `sink(file_len, chunk)` for each chunk in order,
    /// and returns the file's length. Lets a reader keep only what it needs of
    /// a large, mostly zero file. The default reads the whole file with
    /// [`Storage::read`].
    fn read_chunks(
        &self,
        name: &str,
        chunk_bytes: usize,
        sink: &mut dyn FnMut(u64, &[u8]),
    ) -> io::Result<u64> {
        let data = self.read(name)?;
        let len = data.len() as u64;
        for chunk in data.chunks(chunk_bytes.max(1)) {
            sink(len, chunk);
        }
        Ok(len)
    }
    /// Creates a new, empty file; fails if it exists.
    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Opens an existing file for writing.
    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>>;
    /// Renames a file, replacing the target.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Makes creates, renames and removes durable (fsync of the directory).
    fn sync_dir(&self) -> io::Result<()>;
    /// Takes the exclusive owner lock of the directory, or says who holds it.
    fn lock(&self) -> Result<Box<dyn LockGuard>>;
}

/// Writes all of `buf` at `offset`, looping over short writes.
pub(crate) fn write_all_at(
    file: &mut dyn StorageFile,
    mut offset: u64,
    mut buf: &[u8],
) -> io::Result<()> {
    // Bound: every turn writes at least one byte or returns.
    while !buf.is_empty() {
        match file.write_at(offset, buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "write returned 0 bytes",
                ));
            }
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The real filesystem: one directory.
#[derive(Debug, Clone)]
pub struct FsStorage {
    dir: PathBuf,
}

impl FsStorage {
    /// Uses `dir`, creating it (and its parents) when missing.
    pub fn create_dir(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)
            .map_err(|e| Error::io("create directory", dir.display().to_string(), e))?;
        Ok(Self { dir })
    }

    /// Uses an existing directory.
    pub fn existing(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(Self { dir }),
            Ok(_) => Err(Error::io(
                "open directory",
                dir.display().to_string(),
                io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            )),
            Err(e) => Err(Error::io("open directory", dir.display().to_string(), e)),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

#[derive(Debug)]
struct FsFile(File);

impl StorageFile for FsFile {
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> io::Result<usize> {
        self.0.write_at(buf, offset)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len_bytes: u64) -> io::Result<()> {
        self.0.set_len(len_bytes)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Storage for FsStorage {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path(name))
    }

    fn read_chunks(
        &self,
        name: &str,
        chunk_bytes: usize,
        sink: &mut dyn FnMut(u64, &[u8]),
    ) -> io::Result<u64> {
        let mut file = File::open(self.path(name))?;
        let len = file.metadata()?.len();
        let mut buf = vec![0u8; chunk_bytes.max(1)];
        let mut offset = 0u64;
        // Bound: file length / chunk_bytes turns.
        loop {
            let mut filled = 0;
            // Bound: each turn reads at least one byte, or ends the chunk.
            while filled < buf.len() {
                match file.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if filled > 0 {
                // A file that grew while read reports what was read.
                sink(len.max(offset + filled as u64), &buf[..filled]);
                offset += filled as u64;
            }
            if filled < buf.len() {
                return Ok(offset);
            }
        }
    }

    fn create(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(self.path(name))?;
        Ok(Box::new(FsFile(f)))
    }

    fn open(&self, name: &str) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.path(name))?;
        Ok(Box::new(FsFile(f)))
    }

    fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path(from), self.path(to))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path(name))
    }

    fn sync_dir(&self) -> io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    fn lock(&self) -> Result<Box<dyn LockGuard>> {
        let path = self.path(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open lock file", path.display().to_string(), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(Error::Locked { path, pid });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock", path.display().to_string(), e));
            }
        }
        // Record our PID so a second owner's error can name us. Not synced: it is
        // advice for messages, and the lock itself lives in the kernel.
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|()| file.write_all_at(format!("{pid}\n").as_bytes(), 0))
            .map_err(|e| Error::io("write lock file", path.display().to_string(), e))?;
        let _ = file.flush();
        Ok(Box::new(file))
    }
}
