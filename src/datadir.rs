//! The data directory: its layout, the marker that says it is ours, and the
//! rules for opening it (DESIGN §8).
//!
//! ```text
//! DATA/
//!   DHAN_SCALPER      marker: "dhan_scalper data dir" and the layout version
//!   wal/              the write-ahead log (see the `wal` crate)
//!   snapshots/        checkpoints of the state (see `engine::snapshot`)
//! ```
//!
//! Commands that write create a missing directory (an existing empty one counts
//! as new). Read-only commands report a missing one. A non-empty directory
//! without the marker is refused and never written into.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::AppError;

/// Name of the marker file.
pub const MARKER_FILE_NAME: &str = "DHAN_SCALPER";
/// The layout this build writes and reads.
pub const LAYOUT_VERSION: u32 = 2;
/// Subdirectory of the write-ahead log.
pub const WAL_DIR_NAME: &str = "wal";
/// Subdirectory of the snapshots.
pub const SNAPSHOT_DIR_NAME: &str = "snapshots";

fn marker_text() -> String {
    format!("dhan_scalper data dir\nlayout {LAYOUT_VERSION}\n")
}

/// A checked data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The log directory.
    pub fn wal_dir(&self) -> PathBuf {
        self.root.join(WAL_DIR_NAME)
    }

    /// The snapshot directory.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.root.join(SNAPSHOT_DIR_NAME)
    }

    /// Opens for a command that writes: creates a missing or empty directory,
    /// refuses one that is not ours.
    pub fn open_for_write(root: &Path) -> Result<Self, AppError> {
        match fs::read_dir(root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(root).map_err(|e| {
                    AppError::usage(format!(
                        "cannot create data dir {}: {e}; pass a writable --data-dir",
                        root.display()
                    ))
                })?;
                Self::init(root)
            }
            Err(e) => Err(AppError::usage(format!(
                "cannot read data dir {}: {e}; pass a readable --data-dir",
                root.display()
            ))),
            Ok(entries) => {
                // Empty, or holding only the marker's temp file (a crash cut
                // `init` short before its rename): a new directory either way.
                let marker_tmp = format!("{MARKER_FILE_NAME}.tmp");
                let mut others = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_str() != Some(marker_tmp.as_str()));
                if others.next().is_none() {
                    return Self::init(root);
                }
                Self::check(root)
            }
        }
    }

    /// Opens for a read-only command: the directory must exist and be ours.
    pub fn open_read_only(root: &Path) -> Result<Self, AppError> {
        if !root.exists() {
            return Err(AppError::usage(format!(
                "no data dir at {}; run a command that writes first (for example `dhan_scalper stress --ops 1000`) or pass --data-dir",
                root.display()
            )));
        }
        Self::check(root)
    }

    fn init(root: &Path) -> Result<Self, AppError> {
        let write = || -> io::Result<()> {
            let tmp = root.join(format!("{MARKER_FILE_NAME}.tmp"));
            let mut f = fs::File::create(&tmp)?;
            f.write_all(marker_text().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, root.join(MARKER_FILE_NAME))?;
            fs::File::open(root)?.sync_all()
        };
        write().map_err(|e| {
            AppError::usage(format!(
                "cannot write to data dir {}: {e}; pass a writable --data-dir",
                root.display()
            ))
        })?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn check(root: &Path) -> Result<Self, AppError> {
        let marker = root.join(MARKER_FILE_NAME);
        let text = match fs::read_to_string(&marker) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(AppError::usage(format!(
                    "{} is not a dhan_scalper data dir (no {MARKER_FILE_NAME} file) and is not empty; refusing to touch it: pass an empty or new --data-dir",
                    root.display()
                )));
            }
            Err(e) => {
                return Err(AppError::usage(format!(
                    "cannot read {}: {e}; check the permissions of --data-dir",
                    marker.display()
                )));
            }
        };
        let layout = text
            .lines()
            .find_map(|l| l.strip_prefix("layout "))
            .and_then(|v| v.trim().parse::<u32>().ok());
        match layout {
            Some(LAYOUT_VERSION) => Ok(Self {
                root: root.to_owned(),
            }),
            Some(v) if v > LAYOUT_VERSION => Err(AppError::problem(format!(
                "data dir {} has layout {v}, newer than this build reads ({LAYOUT_VERSION}); upgrade dhan_scalper",
                root.display()
            ))),
            _ => Err(AppError::problem(format!(
                "{} is damaged or from an unsupported layout; restore it or start a new --data-dir",
                marker.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_empty_dirs_are_created_and_marked() {
        let t = tempfile::tempdir().unwrap();
        let fresh = t.path().join("a/b");
        DataDir::open_for_write(&fresh).unwrap();
        assert!(fresh.join(MARKER_FILE_NAME).exists());
        DataDir::open_for_write(&fresh).unwrap();
        DataDir::open_read_only(&fresh).unwrap();
        let empty = t.path().join("empty");
        fs::create_dir(&empty).unwrap();
        DataDir::open_for_write(&empty).unwrap();
    }

    #[test]
    fn a_crash_before_the_marker_rename_leaves_a_new_dir() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join(format!("{MARKER_FILE_NAME}.tmp")),
            b"dhan_scal",
        )
        .unwrap();
        DataDir::open_for_write(t.path()).unwrap();
        DataDir::open_read_only(t.path()).unwrap();
    }

    #[test]
    fn foreign_missing_and_future_dirs_are_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("photo.jpg"), b"x").unwrap();
        let e = DataDir::open_for_write(t.path()).unwrap_err();
        assert_eq!(e.code, crate::error::ExitCode::Usage);
        assert!(e.message.contains("not a dhan_scalper data dir"), "{e}");
        assert!(
            !t.path().join(MARKER_FILE_NAME).exists(),
            "wrote into a foreign dir"
        );

        let e = DataDir::open_read_only(&t.path().join("nope")).unwrap_err();
        assert!(e.message.contains("no data dir"), "{e}");

        let future = tempfile::tempdir().unwrap();
        fs::write(
            future.path().join(MARKER_FILE_NAME),
            "dhan_scalper data dir\nlayout 99\n",
        )
        .unwrap();
        let e = DataDir::open_read_only(future.path()).unwrap_err();
        assert_eq!(e.code, crate::error::ExitCode::Problem);
        assert!(e.message.contains("upgrade"), "{e}");
    }
}
