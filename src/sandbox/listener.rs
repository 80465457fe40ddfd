//! A TCP listener that can really be switched off and on again on the same port, for the
//! `refuse_connections` fault.
//!
//! Switching off closes the listening socket at once (new clients get "connection refused", as from a
//! gateway that is down) and shuts down every connection already accepted (so pooled keep-alive connections
//! die too). Switching on binds the same address again. Both happen synchronously inside
//! [`Switch::set_refusing`], so a caller that switches and then connects sees the new state.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct State {
    listener: Option<TcpListener>,
    /// The accept loop, to wake when the listener comes back.
    waker: Option<Waker>,
    /// A duplicate handle of every open connection, to shut it down from outside its task.
    conns: HashMap<u64, std::net::TcpStream>,
    next_id: u64,
    stopped: bool,
}

/// The shared switch.
pub struct Switch {
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
}

impl Switch {
    /// Bind `addr` (port 0 picks one; later re-binds reuse the port that was picked).
    pub async fn bind(addr: SocketAddr) -> io::Result<Arc<Switch>> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Arc::new(Switch {
            addr,
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(State {
                listener: Some(listener),
                ..State::default()
            }),
        }))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Close (`true`) or re-open (`false`) the port.
    pub fn set_refusing(&self, refuse: bool) -> io::Result<()> {
        let mut st = self.lock();
        if st.stopped {
            return Ok(());
        }
        if refuse {
            if st.listener.take().is_some() {
                tracing::info!(addr = %self.addr, "sandbox: refusing connections");
            }
            for (_, conn) in st.conns.drain() {
                let _ = conn.shutdown(Shutdown::Both);
            }
        } else if st.listener.is_none() {
            let std_listener = std::net::TcpListener::bind(self.addr)?;
            std_listener.set_nonblocking(true)?;
            let _guard = self.runtime.enter();
            st.listener = Some(TcpListener::from_std(std_listener)?);
            tracing::info!(addr = %self.addr, "sandbox: accepting connections again");
        }
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        Ok(())
    }

    /// Close for good (shutdown): no re-bind after this.
    pub fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        st.listener = None;
        for (_, conn) in st.conns.drain() {
            let _ = conn.shutdown(Shutdown::Both);
        }
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    fn poll_accept(self: &Arc<Self>, cx: &mut Context<'_>) -> Poll<(Tracked, SocketAddr)> {
        let mut st = self.lock();
        st.waker = Some(cx.waker().clone());
        let Some(listener) = &st.listener else {
            return Poll::Pending;
        };
        match listener.poll_accept(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                tracing::warn!(error = %e, "sandbox: accept failed");
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Ok((stream, peer))) => match self.track(&mut st, stream) {
                Ok(t) => Poll::Ready((t, peer)),
                Err(e) => {
                    tracing::warn!(error = %e, "sandbox: cannot track a connection");
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            },
        }
    }

    fn track(self: &Arc<Self>, st: &mut State, stream: TcpStream) -> io::Result<Tracked> {
        let std_stream = stream.into_std()?;
        let dup = std_stream.try_clone()?;
        let stream = TcpStream::from_std(std_stream)?;
        let id = st.next_id;
        st.next_id += 1;
        st.conns.insert(id, dup);
        Ok(Tracked {
            inner: stream,
            id,
            switch: Arc::clone(self),
        })
    }
}

/// The accept side handed to `axum::serve`.
pub struct SwitchListener(pub Arc<Switch>);

impl axum::serve::Listener for SwitchListener {
    type Io = Tracked;
    type Addr = SocketAddr;

    fn accept(&mut self) -> impl Future<Output = (Tracked, SocketAddr)> + Send {
        let switch = Arc::clone(&self.0);
        std::future::poll_fn(move |cx| switch.poll_accept(cx))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.0.addr)
    }
}

/// An accepted connection that the switch can shut down.
pub struct Tracked {
    inner: TcpStream,
    id: u64,
    switch: Arc<Switch>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.switch.lock().conns.remove(&self.id);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
