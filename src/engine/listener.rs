//! The payment-notification listener: an HTTP endpoint WeChat (or the sandbox) posts payment results to.
//!
//! Each notification is verified (XML safety, signature over all fields, appid, mch_id), matched to a stored
//! order, and its amount checked, then applied through the ledger. The answer is SUCCESS only once the state
//! is durable; FAIL with a reason otherwise, so WeChat sends it again. Duplicates are normal and answered
//! SUCCESS without changing anything; forged or wrong-amount notifications never mark an order paid.
//!
//! Stopping drains: connections already waiting to be accepted are accepted and every request already
//! received is answered before the listener closes (bounded by the engine, [`DRAIN_LIMIT`]), so WeChat's
//! duplicate arriving together with the genuine notification at shutdown is answered, not dropped.
//!
//! Refund notifications arrive at the same URL (WeChat sends them to the refund's `notify_url`, which is
//! this one): they carry `req_info` and go to `super::refund` (decrypted, checked against the stored
//! refund, applied through the refund state machine).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::Inner;
use crate::ledger::{Evidence, Input, Source};
use crate::wxpay::api::{NOTIFY_SUCCESS, notify_fail};
use crate::wxpay::{Notification, xml};

/// The path the listener serves (any path is accepted, so a proxy may rewrite it).
pub const PATH: &str = "/wxpay/notify";

/// The longest a stopping engine waits for the listener to answer what it has already received.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Serve until `stop` turns true, then drain: accept what waits in the queue, answer every request received,
/// and return.
pub(super) async fn serve(
    inner: Arc<Inner>,
    listener: tokio::net::TcpListener,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let app = axum::Router::new()
        .fallback(axum::routing::post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(xml::MAX_BODY))
        .with_state(inner);
    let listener = match Draining::new(listener, stop) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "notification listener cannot start");
            return;
        }
    };
    let drain = listener.drain.clone();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            // Only once the queue is empty and every connection taken from it has been answered (or closed):
            // then axum accepts nothing more, finishes what it is writing and closes idle connections. Earlier,
            // a connection whose request is still unread would be closed as idle.
            loop {
                let changed = drain.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if drain.done() {
                    break;
                }
                changed.await;
            }
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "notification listener stopped");
    }
}

/// How far draining has got.
#[derive(Default)]
struct Drain {
    /// Told to stop and the queue of waiting connections is empty.
    drained: std::sync::atomic::AtomicBool,
    /// Connections accepted that have neither started an answer nor closed.
    unanswered: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Drain {
    fn done(&self) -> bool {
        self.drained.load(std::sync::atomic::Ordering::SeqCst)
            && self.unanswered.load(std::sync::atomic::Ordering::SeqCst) == 0
    }

    /// One accepted connection is answered or gone.
    fn answered(&self) {
        self.unanswered
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.changed.notify_waiters();
    }
}

/// An accepted connection, counted as unanswered until it writes (its answer) or is dropped.
struct Tracked {
    stream: tokio::net::TcpStream,
    drain: Option<Arc<Drain>>,
}

impl Tracked {
    fn new(stream: tokio::net::TcpStream, drain: &Arc<Drain>) -> Tracked {
        drain
            .unanswered
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Tracked {
            stream,
            drain: Some(drain.clone()),
        }
    }

    fn mark_answered(&mut self) {
        if let Some(d) = self.drain.take() {
            d.answered();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.mark_answered();
    }
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.mark_answered();
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.mark_answered();
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A TCP listener that, once told to stop, still hands out the connections already queued, then reports
/// itself drained and accepts nothing more.
struct Draining {
    tcp: tokio::net::TcpListener,
    /// The same socket, for non-blocking accepts of what is queued (tokio's readiness may lag behind).
    queued: std::net::TcpListener,
    stop: tokio::sync::watch::Receiver<bool>,
    drain: Arc<Drain>,
}

impl Draining {
    fn new(
        tcp: tokio::net::TcpListener,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<Draining> {
        let std = tcp.into_std()?;
        let queued = std.try_clone()?;
        Ok(Draining {
            tcp: tokio::net::TcpListener::from_std(std)?,
            queued,
            stop,
            drain: Arc::new(Drain::default()),
        })
    }

    /// A connection already queued, if any (never waits).
    fn take_queued(&self) -> Option<(Tracked, SocketAddr)> {
        let (stream, addr) = self.queued.accept().ok()?;
        stream.set_nonblocking(true).ok()?;
        let stream = tokio::net::TcpStream::from_std(stream).ok()?;
        Some((Tracked::new(stream, &self.drain), addr))
    }
}

impl axum::serve::Listener for Draining {
    type Io = Tracked;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if *self.stop.borrow() {
                if let Some(conn) = self.take_queued() {
                    return conn;
                }
                self.drain
                    .drained
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                self.drain.changed.notify_waiters();
                return std::future::pending().await;
            }
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, addr)) => return (Tracked::new(stream, &self.drain), addr),
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    Err(e) => {
                        tracing::warn!(error = %e, "notification listener cannot accept");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                changed = self.stop.changed() => {
                    if changed.is_err() {
                        // The engine is gone: behave as stopped.
                        self.stop = tokio::sync::watch::channel(true).1;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn handle(
    axum::extract::State(inner): axum::extract::State<Arc<Inner>>,
    body: Bytes,
) -> impl IntoResponse {
    let reply = process(&inner, &body).await;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        reply,
    )
}

/// Process one notification body; returns the exact reply body.
pub(super) async fn process(inner: &Arc<Inner>, body: &[u8]) -> String {
    // Refund notifications come to the same URL; they carry an encrypted `req_info` and no `sign`.
    if let Ok(fields) = xml::decode(body)
        && fields.contains_key("req_info")
    {
        return super::refund::process_notification(inner, body).await;
    }
    let merchant = inner.client.merchant();
    let n = match Notification::parse(body, merchant) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "notification refused");
            // Keep a trace with the order it claims to be about, if that order is ours.
            if let Ok(fields) = xml::decode(body)
                && let Some(no) = fields.get("out_trade_no")
                && inner.load(no).await.is_ok()
            {
                inner.log(no, "notify.refused", &e.to_string()).await;
            }
            return notify_fail(&format!("refused: {e}"));
        }
    };
    let no = n.out_trade_no.clone();
    if inner.load(&no).await.is_err() {
        tracing::warn!(out_trade_no = %no, "notification for an unknown order");
        return notify_fail("unknown out_trade_no");
    }
    let evidence = Evidence::paid(
        Source::Notify,
        super::lifecycle::facts(&n.payment),
        format!(
            "transaction_id={} total_fee={}",
            n.payment.transaction_id,
            n.payment.total_fee.get()
        ),
    );
    match inner.apply(&no, Input::Paid, evidence).await {
        // Not paid after this (e.g. the amount does not match the order): recorded and flagged by the ledger.
        Ok(applied) if !applied.after.is_paid() => {
            notify_fail(applied.ignored.unwrap_or("refused"))
        }
        Ok(_) => {
            inner.poke(&no);
            NOTIFY_SUCCESS.to_string()
        }
        Err(e) => {
            tracing::error!(out_trade_no = %no, error = %e, "cannot store the notification; asking WeChat to resend");
            notify_fail("storage error, please retry")
        }
    }
}
