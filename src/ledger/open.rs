//! Opening the ledger file safely (never over a file that is not ours, sound and not too new), migrating it,
//! checking it, and copying it with SQLite's online backup. Not here: orders ([`super::store`]).

use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::model::LedgerError;
use super::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
use super::store::{BUSY_TIMEOUT, Check, Ledger};

/// Refuse a file that exists but is certainly not an SQLite database, before SQLite touches it: SQLite
/// treats some short or odd files as empty databases and would write a fresh one over them.
fn precheck_file(path: &Path) -> Result<bool, LedgerError> {
    let open_err = |source| LedgerError::Open {
        path: path.to_path_buf(),
        source,
    };
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(open_err(e)),
    };
    if !meta.is_file() {
        return Err(open_err(std::io::Error::other("not a regular file")));
    }
    if meta.len() == 0 {
        // Nothing to lose: SQLite creates an empty file before it writes the first page, so a crash during
        // the very first start can leave one. Treat it as new.
        return Ok(false);
    }
    let mut header = [0u8; 100];
    let mut f = fs::File::open(path).map_err(open_err)?;
    let mut got = 0;
    while got < header.len() {
        match f.read(&mut header[got..]).map_err(open_err)? {
            0 => break,
            n => got += n,
        }
    }
    let not_db = |reason: &str| LedgerError::NotADatabase {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if got < header.len() {
        return Err(not_db(&format!(
            "only {got} bytes, shorter than an SQLite header"
        )));
    }
    if &header[..16] != b"SQLite format 3\0" {
        return Err(not_db("no SQLite header"));
    }
    Ok(true)
}

fn classify(path: &Path, e: rusqlite::Error) -> LedgerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => LedgerError::NotADatabase {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        Some(ErrorCode::DatabaseCorrupt) => LedgerError::Corrupt {
            path: path.to_path_buf(),
            report: e.to_string(),
        },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            LedgerError::Open {
                path: path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            }
        }
        _ => LedgerError::Sqlite(e),
    }
}

/// Run `PRAGMA quick_check` (or `integrity_check`) and turn anything but "ok" into [`LedgerError::Corrupt`].
fn check(conn: &Connection, path: &Path, pragma: &str) -> Result<(), LedgerError> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA {pragma}"))
        .map_err(|e| classify(path, e))?;
    let lines: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| classify(path, e))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        let mut report = lines.into_iter().take(3).collect::<Vec<_>>().join("; ");
        if report.is_empty() {
            report = format!("{pragma} returned nothing");
        }
        Err(LedgerError::Corrupt {
            path: path.to_path_buf(),
            report,
        })
    }
}

impl Ledger {
    /// Open the ledger at `path`, creating the directory and the file if absent.
    ///
    /// Before anything is written, the file is checked: an existing file that is not an SQLite database, is
    /// not a PayDesk ledger, fails `PRAGMA quick_check`, or has a newer schema is a clear error, and the file
    /// is never overwritten or replaced. Then: WAL, `synchronous = FULL`, foreign keys on, and any pending
    /// migrations.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_with(path, false)
    }

    /// Like [`Ledger::open`], but without waiting for `PRAGMA quick_check` (seconds on a large ledger) when it
    /// can safely wait: the file is ours, at the current schema and already in WAL mode, so opening writes
    /// nothing. The cheap checks (not SQLite, not ours, too new) still run here, and a file that needs a
    /// migration or a journal-mode change is checked before it is touched. Until
    /// [`Ledger::run_deferred_check`] passes, every write is refused ([`LedgerError::Checking`]); reads work.
    pub fn open_deferring_check(path: &Path) -> Result<Ledger, LedgerError> {
        Ledger::open_with(path, true)
    }

    /// Whether the check [`Ledger::open_deferring_check`] left for later has not passed yet.
    pub fn check_pending(&self) -> bool {
        *self.check.lock().unwrap_or_else(|p| p.into_inner()) != Check::Passed
    }

    /// Run the `quick_check` that [`Ledger::open_deferring_check`] deferred, on a connection of its own (the
    /// reader stays free for the window's views meanwhile). On success writes are allowed; on failure they
    /// stay refused and the file is left untouched. Does nothing once the check has passed.
    pub fn run_deferred_check(&self) -> Result<(), LedgerError> {
        match &*self.check.lock().unwrap_or_else(|p| p.into_inner()) {
            Check::Passed => return Ok(()),
            Check::Failed(report) => {
                return Err(LedgerError::Corrupt {
                    path: self.path.clone(),
                    report: report.clone(),
                });
            }
            Check::Pending => {}
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&self.path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let result = check(&conn, &self.path, "quick_check");
        let mut state = self.check.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(()) => {
                // Sound: closing may now fold the WAL into the file again.
                self.writer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
                *state = Check::Passed;
            }
            Err(LedgerError::Corrupt { report, .. }) => *state = Check::Failed(report.clone()),
            // Could not run the check (e.g. cannot open): still unchecked, so still no writes.
            Err(_) => {}
        }
        result
    }

    fn open_with(path: &Path, defer: bool) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| LedgerError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let existed = precheck_file(path)?;
        let writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        #[cfg(unix)]
        if !existed {
            // Orders and payments are the shop's business: owner only. SQLite gives its -wal and -shm files the
            // database file's mode.
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|source| {
                LedgerError::Open {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        writer.busy_timeout(BUSY_TIMEOUT)?;
        // Until the checks pass, closing must not checkpoint a leftover WAL into a file we are refusing.
        writer.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;

        // Read-only checks first: nothing below writes until the file is known to be sound and ours.
        let read_i64 = |sql: &str| -> Result<i64, LedgerError> {
            writer
                .query_row(sql, [], |r| r.get(0))
                .map_err(|e| classify(path, e))
        };
        let version = read_i64("PRAGMA user_version")?;
        let app_id = read_i64("PRAGMA application_id")?;
        let objects = read_i64("SELECT count(*) FROM sqlite_schema")?;
        // Deferring is safe only when opening writes nothing: our file, current schema, already WAL.
        let defer = defer && existed && version == SCHEMA_VERSION && app_id != 0 && {
            let mode: String = writer
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .map_err(|e| classify(path, e))?;
            mode.eq_ignore_ascii_case("wal")
        };
        if existed && !defer {
            check(&writer, path, "quick_check")?;
        }
        if app_id != 0 && app_id != i64::from(APPLICATION_ID) {
            return Err(LedgerError::NotADatabase {
                path: path.to_path_buf(),
                reason: format!("an SQLite database of another application (id {app_id:#x})"),
            });
        }
        if version == 0 && objects > 0 {
            return Err(LedgerError::NotADatabase {
                path: path.to_path_buf(),
                reason: "an SQLite database with other tables".into(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(LedgerError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }

        if !defer {
            writer.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)?;
        }
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| classify(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Open {
                path: path.to_path_buf(),
                source: std::io::Error::other(format!("cannot use WAL mode (got {mode})")),
            });
        }
        writer.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let mut writer = writer;
        migrate(&mut writer, version)?;

        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        reader.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Ledger {
            path: path.to_path_buf(),
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
            check: Mutex::new(if defer { Check::Pending } else { Check::Passed }),
        })
    }

    /// The full `PRAGMA integrity_check` (slower than the `quick_check` done at open).
    pub fn check_integrity(&self) -> Result<(), LedgerError> {
        check(&self.reader(), &self.path, "integrity_check")
    }

    /// What durability rests on, as the writing connection has it: `journal_mode` and `synchronous`
    /// (`("wal", 2)` = WAL with `synchronous = FULL`).
    pub fn durability(&self) -> Result<(String, i64), LedgerError> {
        let w = self.writer.lock().expect("writer lock");
        let mode: String = w.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync: i64 = w.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        Ok((mode.to_ascii_lowercase(), sync))
    }

    /// Copy the whole ledger to `path` with SQLite's online backup, while payments may go on. The copy is
    /// written next to `path` and renamed into place when complete, so a failure never leaves a half file
    /// (an existing file at `path` is replaced only by a complete backup). Refuses the ledger's own path.
    pub fn backup_to(&self, path: &Path) -> Result<(), LedgerError> {
        let fail = |reason: String| LedgerError::Backup {
            path: path.to_path_buf(),
            reason,
        };
        if same_file(path, &self.path) {
            return Err(fail("that is the ledger itself".into()));
        }
        super::export::write_atomically(path, |tmp| {
            let conn = self.reader();
            let mut dst = Connection::open(tmp).map_err(|e| fail(e.to_string()))?;
            {
                let backup = rusqlite::backup::Backup::new(&conn, &mut dst)
                    .map_err(|e| fail(e.to_string()))?;
                // One step: a read transaction for the whole copy, which in WAL mode does not block writers.
                match backup.step(-1).map_err(|e| fail(e.to_string()))? {
                    rusqlite::backup::StepResult::Done => {}
                    other => return Err(fail(format!("the copy did not finish ({other:?})"))),
                }
            }
            // The copy keeps the WAL flag; fold it into one self-contained file.
            dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
                .map_err(|e| fail(e.to_string()))?;
            dst.close().map_err(|(_, e)| fail(e.to_string()))?;
            Ok(())
        })
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Bring the file from `from` to [`SCHEMA_VERSION`], one transaction per migration.
fn migrate(conn: &mut Connection, from: i64) -> Result<(), LedgerError> {
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated meanwhile.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now > n as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};",
            n + 1
        ))?;
        tx.commit()?;
    }
    Ok(())
}
