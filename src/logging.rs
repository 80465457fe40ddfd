//! Logs: `tracing` to a daily-rotated file in the data directory (`logs/paydesk.log.YYYY-MM-DD`, the last 14
//! kept, each capped at [`DAILY_CAP`] bytes, the directory and the files owner-only) and to stderr. `RUST_LOG` is respected (default: PayDesk's own info messages in the file, warnings on
//! stderr). Payment steps are logged with their out_trade_no; the API key is never logged (its `Debug` is
//! masked and no code formats it).

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the file writer flushing; hold it until the program ends.
pub struct LogGuard {
    _file: Option<tracing_appender::non_blocking::WorkerGuard>,
}

/// Start logging; to a file in `data_dir` too when given (commands that only read the ledger log to stderr
/// and create nothing). A log directory that cannot be created only costs the file log, with a warning.
pub fn init(data_dir: Option<&Path>) -> LogGuard {
    let from_env = std::env::var("RUST_LOG").ok().filter(|s| !s.is_empty());
    let file_filter = || {
        EnvFilter::new(
            from_env
                .clone()
                .unwrap_or_else(|| "warn,paydesk=info".into()),
        )
    };
    let stderr_filter = EnvFilter::new(from_env.clone().unwrap_or_else(|| "warn".into()));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_filter);

    let Some(data_dir) = data_dir else {
        let _ = tracing_subscriber::registry().with(stderr).try_init();
        return LogGuard { _file: None };
    };
    let dir = data_dir.join("logs");
    let created = crate::fsutil::create_private_dir(&dir);
    if created.is_ok() {
        record_panics(dir.join(CRASH_LOG));
    }
    let appender = created.ok().and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("paydesk.log")
            .max_log_files(14)
            .build(&dir)
            .ok()
    });
    match appender {
        Some(appender) => {
            // The default queue holds 128 000 lines, about 4 MB touched up front; a till logs a few lines a
            // minute, and the writer thread keeps up with far bigger bursts than this one.
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(LOG_QUEUE_LINES)
                .finish(Capped::new(appender, &dir, DAILY_CAP));
            let file = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(file_filter());
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(file)
                .try_init();
            LogGuard { _file: Some(guard) }
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            tracing::warn!(dir = %dir.display(), "cannot write log files there; logging to stderr only");
            LogGuard { _file: None }
        }
    }
}

/// Where a panic is written, in the log directory, beside the daily files.
pub const CRASH_LOG: &str = "crash.log";

/// Write every panic to `path` as it happens, then let the usual report follow (stderr). A release build
/// stops at a panic without unwinding, before the file log's writer thread could take one more line: this
/// write is direct and synchronous, one line appended to an owner-only file.
fn record_panics(path: PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let line = crash_line(Utc::now(), thread.name(), &info.to_string());
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        if let Ok(mut file) = options.open(&path) {
            let _ = file.write_all(line.as_bytes());
        }
        previous(info);
    }));
}

/// One line of `crash.log`: when (UTC), which thread, and the panic's message with its place in the code.
fn crash_line(at: chrono::DateTime<Utc>, thread: Option<&str>, panic: &str) -> String {
    let panic = panic.replace('\n', " | ");
    format!(
        "{} panic in thread {}: {panic}\n",
        at.format("%Y-%m-%dT%H:%M:%SZ"),
        thread.unwrap_or("(unnamed)")
    )
}

/// The most one day's log file grows to. A failure that repeats all day (a gateway down, a full disk) must
/// not fill the disk that holds the ledger.
pub const DAILY_CAP: u64 = 20 * 1024 * 1024;

/// Log lines queued for the file writer thread before new ones are dropped (never blocking the caller).
const LOG_QUEUE_LINES: usize = 4096;

/// A writer that stops writing for the rest of the (UTC, as the file names) day once `cap` bytes were
/// written, saying so once in the file.
struct Capped<W> {
    inner: W,
    cap: u64,
    day: NaiveDate,
    written: u64,
    noted: bool,
    /// The log directory, whose files are made owner-only after the first write of each day (the appender
    /// creates a day's file with the process's default mode).
    dir: Option<PathBuf>,
    private_on: Option<NaiveDate>,
}

impl<W: Write> Capped<W> {
    /// Count what today's file already holds (a restart the same day).
    fn new(inner: W, dir: &Path, cap: u64) -> Capped<W> {
        let day = Utc::now().date_naive();
        let today: PathBuf = dir.join(format!("paydesk.log.{}", day.format("%Y-%m-%d")));
        let written = std::fs::metadata(today).map(|m| m.len()).unwrap_or(0);
        Capped {
            dir: Some(dir.to_path_buf()),
            ..Capped::at(inner, cap, day, written)
        }
    }

    fn at(inner: W, cap: u64, day: NaiveDate, written: u64) -> Capped<W> {
        Capped {
            inner,
            cap,
            day,
            written,
            noted: false,
            dir: None,
            private_on: None,
        }
    }

    fn write_on(&mut self, day: NaiveDate, buf: &[u8]) -> std::io::Result<usize> {
        if day != self.day {
            self.day = day;
            self.written = 0;
            self.noted = false;
        }
        if self.written + buf.len() as u64 > self.cap {
            if !self.noted {
                self.noted = true;
                self.inner.write_all(
                    b"-- log file full for today: further lines are dropped until tomorrow (stderr still has them)\n",
                )?;
            }
            return Ok(buf.len());
        }
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        if self.private_on != Some(day)
            && let Some(dir) = &self.dir
        {
            self.private_on = Some(day);
            make_files_private(dir);
        }
        Ok(buf.len())
    }
}

/// Make every log file in `dir` readable by its owner only (payment steps name orders and amounts).
fn make_files_private(dir: &Path) {
    #[cfg(unix)]
    if let Ok(entries) = std::fs::read_dir(dir) {
        use std::os::unix::fs::PermissionsExt;
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("paydesk.log") {
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_on(Utc::now().date_naive(), buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_line_is_one_line_with_time_thread_and_place() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-29T01:02:03Z")
            .unwrap()
            .with_timezone(&Utc);
        let panic = "panicked at src/engine/watch.rs:10:5:\nthe gateway said 42";
        assert_eq!(
            crash_line(at, Some("paydesk-rt"), panic),
            "2026-11-29T01:02:03Z panic in thread paydesk-rt: panicked at src/engine/watch.rs:10:5: | the gateway said 42\n"
        );
        assert!(crash_line(at, None, "x").contains("thread (unnamed): x"));
    }

    #[test]
    fn a_days_log_stops_at_its_cap_says_so_once_and_starts_again_the_next_day() {
        let d1 = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let line = [b'x'; 30];
        let mut w = Capped::at(Vec::new(), 100, d1, 0);
        for _ in 0..1000 {
            assert_eq!(w.write_on(d1, &line).unwrap(), 30);
        }
        let text = String::from_utf8(w.inner.clone()).unwrap();
        assert_eq!(
            text.matches('x').count(),
            90,
            "three lines fit under the cap"
        );
        assert_eq!(text.matches("log file full").count(), 1);
        w.write_on(d2, &line).unwrap();
        assert_eq!(w.inner.len(), text.len() + 30, "a new day starts empty");
        // A restart the same day counts what the file already holds.
        let mut w = Capped::at(Vec::new(), 100, d1, 90);
        w.write_on(d1, &line).unwrap();
        assert!(
            String::from_utf8(w.inner)
                .unwrap()
                .contains("log file full")
        );
    }

    #[cfg(unix)]
    #[test]
    fn log_files_are_made_owner_only_on_the_first_write_of_a_day() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paydesk.log.2026-11-28");
        let file = std::fs::File::create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mode = || std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let mut w = Capped::new(file, dir.path(), 1000);
        assert_eq!(mode(), 0o644);
        w.write_on(w.day, b"line\n").unwrap();
        assert_eq!(mode(), 0o600);
    }
}
