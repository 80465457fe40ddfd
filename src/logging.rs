//! Logs: `tracing` to a daily-rotated file in the data directory (`logs/paydesk.log.YYYY-MM-DD`, the last 14
//! kept) and to stderr. `RUST_LOG` is respected (default: PayDesk's own info messages in the file, warnings on
//! stderr). Payment steps are logged with their out_trade_no; the API key is never logged (its `Debug` is
//! masked and no code formats it).

use std::path::Path;

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
    let appender = std::fs::create_dir_all(&dir).ok().and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("paydesk.log")
            .max_log_files(14)
            .build(&dir)
            .ok()
    });
    match appender {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
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
