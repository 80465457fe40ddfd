//! Getting a finished job to the printer: a network printer on TCP port 9100, a USB printer's device file
//! (`/dev/usb/lp0`), or a plain file (for tests and for keeping jobs as `.bin` files).
//!
//! All I/O here is blocking with explicit timeouts, meant for a blocking pool thread; [`Printer::send`]
//! wraps it for async callers. Never call it on the UI thread. Errors say in plain words what to check.
//! Over TCP the printer's real-time status (`DLE EOT`) is asked before each job, so an empty roll or an
//! open cover is reported instead of a job silently lost; a printer that does not answer is printed to
//! anyway. A USB device file is not asked: the kernel's `usblp` driver reads back only from bidirectional
//! printers, so there a job that hangs (no paper, cover open) is reported as a timeout. This module does
//! not know what a job contains.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::escpos::{
    EncodeError, PrinterStatus, STATUS_OFFLINE_CAUSE, STATUS_PAPER, STATUS_PRINTER,
};

/// The port of raw ESC/POS network printers (JetDirect).
pub const DEFAULT_PORT: u16 = 9100;
/// The longest PayDesk waits for a status answer; printers answer in milliseconds or not at all.
const STATUS_WAIT: Duration = Duration::from_secs(1);

/// Where jobs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `host:port` of a network printer; a missing port means 9100.
    Tcp { address: String },
    /// A printer device such as `/dev/usb/lp0`; it must exist (the printer plugged in and on).
    Device { path: PathBuf },
    /// A file that jobs are appended to; created when missing.
    File { path: PathBuf },
}

impl Target {
    /// A network printer; adds `:9100` when `address` has no port.
    pub fn tcp(address: &str) -> Target {
        Target::Tcp {
            address: with_default_port(address.trim()),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp { address } => write!(f, "{address}"),
            Target::Device { path } | Target::File { path } => write!(f, "{}", path.display()),
        }
    }
}

/// `host` → `host:9100`; `host:port`, `[v6]:port` and `v4:port` stay; a bare IPv6 address gets brackets.
pub fn with_default_port(address: &str) -> String {
    if address.parse::<SocketAddr>().is_ok() {
        return address.to_string();
    }
    if address.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{address}]:{DEFAULT_PORT}");
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && !port.is_empty() => address.to_string(),
        _ => format!("{address}:{DEFAULT_PORT}"),
    }
}

/// Why a job did not print. Each message says what to check; [`PrintError::kind`] is for the UI to pick
/// its own words.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("cannot find the printer address {address} ({reason}): check [printer] address")]
    BadAddress { address: String, reason: String },
    #[error(
        "cannot reach the printer at {address} ({reason}): check that it is switched on and connected to the network, and that the address is right"
    )]
    Unreachable { address: String, reason: String },
    #[error(
        "the printer at {target} did not take the job within {} s: check that it has paper, that the cover is closed and that it is online, then print again",
        after.as_secs()
    )]
    TimedOut { target: String, after: Duration },
    #[error("no printer at {path}: check that it is plugged in and switched on")]
    NotConnected { path: PathBuf },
    #[error(
        "no permission to write to {path}: add this user to the `lp` group (sudo usermod -aG lp $USER), then log out and back in"
    )]
    PermissionDenied { path: PathBuf },
    #[error(
        "the printer at {target} is out of paper: load a new roll, close the cover and print again"
    )]
    OutOfPaper { target: String },
    #[error("the printer at {target} has its cover open: close it and print again")]
    CoverOpen { target: String },
    #[error(
        "the printer at {target} reports an error (cutter jam or overheated head?): switch it off and on again, then print again"
    )]
    PrinterFault { target: String },
    #[error("the printer at {target} is offline: check its panel, then print again")]
    Offline { target: String },
    #[error("printing to {target} failed: {source}")]
    Io { target: String, source: io::Error },
    #[error("cannot build the print job: {0}")]
    Job(#[from] EncodeError),
}

/// [`PrintError`] without its details, for the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintErrorKind {
    /// Configuration: the address does not resolve, the job cannot be built.
    Setup,
    /// Off, unplugged or not on the network.
    Unreachable,
    TimedOut,
    PermissionDenied,
    OutOfPaper,
    CoverOpen,
    PrinterFault,
    Offline,
    Io,
}

impl PrintError {
    pub fn kind(&self) -> PrintErrorKind {
        match self {
            PrintError::BadAddress { .. } | PrintError::Job(_) => PrintErrorKind::Setup,
            PrintError::Unreachable { .. } | PrintError::NotConnected { .. } => {
                PrintErrorKind::Unreachable
            }
            PrintError::TimedOut { .. } => PrintErrorKind::TimedOut,
            PrintError::PermissionDenied { .. } => PrintErrorKind::PermissionDenied,
            PrintError::OutOfPaper { .. } => PrintErrorKind::OutOfPaper,
            PrintError::CoverOpen { .. } => PrintErrorKind::CoverOpen,
            PrintError::PrinterFault { .. } => PrintErrorKind::PrinterFault,
            PrintError::Offline { .. } => PrintErrorKind::Offline,
            PrintError::Io { .. } => PrintErrorKind::Io,
        }
    }
}

/// A job the printer (or the kernel, for a device file) took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivered {
    /// What the printer said before the job, when it was asked and answered.
    pub status: Option<PrinterStatus>,
}

impl Delivered {
    /// The roll is nearly used up: worth a gentle note to the cashier.
    pub fn paper_low(&self) -> bool {
        self.status.is_some_and(|s| s.paper_low)
    }
}

/// One configured printer. Cheap to clone; holds no connection between jobs (network printers often
/// accept only one client at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printer {
    target: Target,
    timeout: Duration,
    check_status: bool,
}

impl Printer {
    /// `timeout` bounds connecting and each write; status is checked before each TCP job.
    pub fn new(target: Target, timeout: Duration) -> Printer {
        Printer {
            target,
            timeout,
            check_status: true,
        }
    }

    /// Whether to ask a TCP printer's status before each job (default on).
    pub fn with_status_check(mut self, on: bool) -> Printer {
        self.check_status = on;
        self
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Send one job from an async task: the blocking I/O runs on tokio's blocking pool.
    pub async fn send(&self, job: Vec<u8>) -> Result<Delivered, PrintError> {
        let printer = self.clone();
        tokio::task::spawn_blocking(move || printer.send_blocking(&job))
            .await
            .unwrap_or_else(|e| {
                Err(PrintError::Io {
                    target: self.target.to_string(),
                    source: io::Error::other(format!("the print task stopped: {e}")),
                })
            })
    }

    /// Send one job, blocking the calling thread for at most about the timeout per step.
    pub fn send_blocking(&self, job: &[u8]) -> Result<Delivered, PrintError> {
        match &self.target {
            Target::Tcp { address } => self.send_tcp(address, job),
            Target::Device { path } => self.send_file(path, job, false),
            Target::File { path } => self.send_file(path, job, true),
        }
    }

    /// Ask a network printer how it is. `Ok(None)`: not a network printer, or it did not answer.
    pub fn status_blocking(&self) -> Result<Option<PrinterStatus>, PrintError> {
        let Target::Tcp { address } = &self.target else {
            return Ok(None);
        };
        let mut stream = self.connect(address)?;
        let status = query_status(&mut stream, STATUS_WAIT.min(self.timeout))
            .map_err(|e| self.io_error(e))?;
        close(stream);
        Ok(status)
    }

    fn send_tcp(&self, address: &str, job: &[u8]) -> Result<Delivered, PrintError> {
        let mut stream = self.connect(address)?;
        let status = if self.check_status {
            query_status(&mut stream, STATUS_WAIT.min(self.timeout))
                .map_err(|e| self.io_error(e))?
        } else {
            None
        };
        if let Some(s) = status {
            let target = address.to_string();
            if s.paper_out {
                return Err(PrintError::OutOfPaper { target });
            }
            if s.cover_open {
                return Err(PrintError::CoverOpen { target });
            }
            if s.error {
                return Err(PrintError::PrinterFault { target });
            }
            if s.offline {
                return Err(PrintError::Offline { target });
            }
        }
        stream
            .write_all(job)
            .and_then(|()| stream.flush())
            .map_err(|e| self.io_error(e))?;
        close(stream);
        Ok(Delivered { status })
    }

    fn connect(&self, address: &str) -> Result<TcpStream, PrintError> {
        let address = with_default_port(address);
        let addrs: Vec<SocketAddr> = address
            .to_socket_addrs()
            .map_err(|e| PrintError::BadAddress {
                address: address.clone(),
                reason: e.to_string(),
            })?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_write_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_read_timeout(Some(self.timeout)))
                        .and_then(|()| stream.set_nodelay(true));
                    setup.map_err(|e| self.io_error(e))?;
                    return Ok(stream);
                }
                Err(e) => last = Some(e),
            }
        }
        let reason = match last {
            None => "the name has no address".to_string(),
            Some(e) if is_timeout(&e) => format!("no answer within {} s", self.timeout.as_secs()),
            Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                "connection refused".to_string()
            }
            Some(e) => e.to_string(),
        };
        Err(PrintError::Unreachable { address, reason })
    }

    /// Open and write on a helper thread, because a USB printer without paper blocks `write()`
    /// indefinitely; on timeout that thread is left to finish when the kernel lets it.
    fn send_file(&self, path: &Path, job: &[u8], append: bool) -> Result<Delivered, PrintError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let owned_path = path.to_path_buf();
        let job = job.to_vec();
        std::thread::Builder::new()
            .name("printer-write".into())
            .spawn(move || {
                let mut opts = std::fs::OpenOptions::new();
                if append {
                    opts.append(true).create(true);
                } else {
                    opts.write(true);
                }
                let result = opts
                    .open(&owned_path)
                    .map_err(|e| (true, e))
                    .and_then(|mut f| {
                        f.write_all(&job)
                            .and_then(|()| f.flush())
                            .map_err(|e| (false, e))
                    });
                let _ = tx.send(result);
            })
            .map_err(|e| self.io_error(e))?;
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(())) => Ok(Delivered::default()),
            Ok(Err((opening, e))) => Err(self.file_error(path, opening, e, append)),
            Err(_) => Err(PrintError::TimedOut {
                target: path.display().to_string(),
                after: self.timeout,
            }),
        }
    }

    fn file_error(&self, path: &Path, opening: bool, e: io::Error, plain_file: bool) -> PrintError {
        const ENODEV: i32 = 19;
        const ENOSPC: i32 = 28;
        let path_buf = path.to_path_buf();
        if plain_file {
            return self.io_error(e);
        }
        match (e.kind(), e.raw_os_error()) {
            (io::ErrorKind::PermissionDenied, _) => PrintError::PermissionDenied { path: path_buf },
            (io::ErrorKind::NotFound, _) => PrintError::NotConnected { path: path_buf },
            (_, Some(ENODEV)) => PrintError::NotConnected { path: path_buf },
            (_, Some(ENOSPC)) if !opening => PrintError::OutOfPaper {
                target: path.display().to_string(),
            },
            _ => self.io_error(e),
        }
    }

    fn io_error(&self, e: io::Error) -> PrintError {
        if is_timeout(&e) {
            return PrintError::TimedOut {
                target: self.target.to_string(),
                after: self.timeout,
            };
        }
        PrintError::Io {
            target: self.target.to_string(),
            source: e,
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Ask `DLE EOT 1, 2, 4` and read the three answers. `Ok(None)` when the printer does not answer in
/// time or answers something else.
fn query_status(stream: &mut TcpStream, wait: Duration) -> io::Result<Option<PrinterStatus>> {
    let mut query = Vec::with_capacity(9);
    query.extend_from_slice(&STATUS_PRINTER);
    query.extend_from_slice(&STATUS_OFFLINE_CAUSE);
    query.extend_from_slice(&STATUS_PAPER);
    stream.write_all(&query)?;
    let deadline = Instant::now() + wait;
    let mut answer = [0u8; 3];
    let mut got = 0;
    while got < answer.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut answer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got < answer.len() {
        return Ok(None);
    }
    Ok(PrinterStatus::parse(answer[0], answer[1], answer[2]))
}

/// Finish a connection so that the printer gets every byte: half-close, then read away anything the
/// printer sent (a late status answer), because closing a socket with unread data resets it and can
/// discard what is still queued for the printer.
fn close(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    if stream.set_nonblocking(true).is_ok() {
        let mut sink = [0u8; 256];
        let mut s = &stream;
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_get_the_default_port() {
        assert_eq!(with_default_port("192.168.1.50"), "192.168.1.50:9100");
        assert_eq!(with_default_port("192.168.1.50:9101"), "192.168.1.50:9101");
        assert_eq!(with_default_port("printer.local"), "printer.local:9100");
        assert_eq!(
            with_default_port("printer.local:9100"),
            "printer.local:9100"
        );
        assert_eq!(with_default_port("fe80::1"), "[fe80::1]:9100");
        assert_eq!(with_default_port("[fe80::1]:9100"), "[fe80::1]:9100");
        assert_eq!(
            Target::tcp(" 10.0.0.9 "),
            Target::Tcp {
                address: "10.0.0.9:9100".into()
            }
        );
    }

    #[test]
    fn file_target_appends_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.bin");
        let printer = Printer::new(Target::File { path: path.clone() }, Duration::from_secs(5));
        printer.send_blocking(b"one").unwrap();
        printer.send_blocking(b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"onetwo");
    }

    #[test]
    fn a_missing_device_says_plug_it_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lp9");
        let printer = Printer::new(
            Target::Device { path: path.clone() },
            Duration::from_secs(5),
        );
        let err = printer.send_blocking(b"x").unwrap_err();
        assert!(matches!(err, PrintError::NotConnected { .. }), "{err}");
        assert_eq!(err.kind(), PrintErrorKind::Unreachable);
        assert!(err.to_string().contains("plugged in"));
    }

    /// A printer that never takes the data (no paper, on a USB port that blocks `write()`) is reported
    /// as a timeout. A FIFO with no reader blocks the same way, forever.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_device_that_blocks_times_out() {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lp0");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success());
        let printer = Printer::new(
            Target::Device { path: path.clone() },
            Duration::from_secs(1),
        );
        let err = printer.send_blocking(b"job").unwrap_err();
        assert_eq!(err.kind(), PrintErrorKind::TimedOut, "{err}");
        assert!(err.to_string().contains("has paper"), "{err}");
        // Let the writer thread finish: a reader unblocks its open().
        const O_NONBLOCK: i32 = 0o4000;
        let _reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(&path)
            .unwrap();
    }

    #[test]
    fn a_device_without_permission_names_the_lp_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lp0");
        std::fs::write(&path, b"").unwrap();
        let printer = Printer::new(
            Target::Device { path: path.clone() },
            Duration::from_secs(5),
        );
        let err = printer.file_error(
            &path,
            true,
            io::Error::from(io::ErrorKind::PermissionDenied),
            false,
        );
        assert_eq!(err.kind(), PrintErrorKind::PermissionDenied);
        assert!(err.to_string().contains("`lp` group"), "{err}");
        // An existing device file is written in place, not truncated or appended to.
        printer.send_blocking(b"job").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"job");
    }
}
