//! One engine per ledger: an exclusive lock on `paydesk.lock` in the data directory, held for as long as an
//! engine runs (the window, `paydesk charge`). A second PayDesk on the same data directory would otherwise
//! reconcile the first one's open order as abandoned and close it while its QR is still on screen.
//!
//! The lock is the operating system's (`flock` on Unix), so it goes away with the process, even after a
//! crash or `kill -9`: no stale lock file to clean up. The file holds the holder's pid, for the message.
//! Not here: read-only commands (`orders`, `export`, `backup`), which never take it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "paydesk.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "PayDesk is already running ({}) on {}: use that window, or close it first",
        pid.map(|p| format!("pid {p}")).unwrap_or_else(|| "pid unknown".into()),
        dir.display()
    )]
    Held { pid: Option<u32>, dir: PathBuf },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Take the lock in `data_dir` (creating the directory, owner-only, if absent), or say who holds it.
pub fn acquire(data_dir: &Path) -> Result<InstanceLock, LockError> {
    let path = data_dir.join(LOCK_FILE);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    crate::fsutil::create_private_dir(data_dir).map_err(io)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LockError::Held {
                pid: text.trim().parse().ok(),
                dir: data_dir.to_path_buf(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // Ours now: say who holds it.
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(InstanceLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_lock_names_the_holder_and_the_first_is_released_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        match acquire(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        acquire(dir.path()).unwrap();
    }
}
