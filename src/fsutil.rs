//! Small file-system helpers shared by the layers that write files the user keeps (exports, backups,
//! the sandbox's state). Leaf module: plain `std::io`, nothing about what is written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Produce `path` by having `write` fill a temporary file next to it, then renaming it into place. On any
/// failure the temporary file (and an SQLite `-journal` beside it) is removed and `path` is left as it was,
/// so a failed write never leaves a half file and never damages an existing one.
///
/// `write` receives the temporary file's path; the file already exists (empty) when it is called.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> io::Result<()>,
) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("not a file name"))?;
    if path.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(tmp_name);
    // Claim the name (and find out early whether the directory is writable).
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    let result = write(&tmp).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        let mut journal = tmp.clone().into_os_string();
        journal.push("-journal");
        let _ = fs::remove_file(journal);
    } else if let Ok(d) = fs::File::open(&dir) {
        // Make the rename itself durable where the platform allows it.
        let _ = d.sync_all();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_on_success() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, |tmp| {
            fs::write(tmp, "half")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        write_atomically(&path, |tmp| fs::write(tmp, "new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        // Nothing left behind but the file itself.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomically(dir.path(), |_| Ok(())).is_err());
    }
}
