//! A client connection as Pingora's transport, and its HTTP/1.1 keep-alive loop.
//!
//! Pingora writes a response in pieces (the head, then each body chunk) and
//! flushes where the response, or a chunk of a streamed one, ends.
//! [`Downstream`] gathers writes until that flush, so a small response leaves in
//! one system call, and a head before a large body goes out with it in one
//! `writev`; under TLS, a response's records leave together the same way. The
//! buffer exists only while it holds data.
//!
//! [`serve`] runs a plain-text connection's keep-alive loop: between two
//! requests it waits for the socket to become readable, then offers the
//! request to [`crate::forward`] and hands what that path puts back to
//! Pingora, so an idle connection holds no request buffer, session or request
//! state, only the socket. It closes idle connections after
//! the keep-alive timeout and at once when the proxy shuts down. h2c
//! connections (known by their preface) are served by Pingora's own loop.
//! The same loop serves TLS connections that chose HTTP/1.1
//! ([`crate::tls_client`]), through the [`Client`] trait.

use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::socket::SocketAddr as PingoraAddr;
use pingora::protocols::l4::stream::DEFAULT_L4_WRITE_BUFFER_SIZE;
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    TimingDigest, UniqueID, UniqueIDType, IO,
};
use pingora::server::ShutdownWatch;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::forward::{Forwarder, Next};

/// Writes are gathered up to this many bytes; a larger one goes out at once
/// (after what is gathered). Pingora's own listeners buffer the same amount.
const WRITE_BUFFER: usize = DEFAULT_L4_WRITE_BUFFER_SIZE;

/// The first allocation of the write buffer.
const FIRST_WRITE_BUFFER: usize = 512;

/// How long a connection may wait for its next (or first) request, the same
/// as Pingora's own HTTP/1 loop allows between requests.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// The first bytes of every HTTP/2 prior-knowledge (h2c) connection.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An accepted TCP connection, with its addresses known from `accept`.
#[derive(Debug)]
pub struct Downstream {
    tcp: TcpStream,
    /// Bytes written but not sent yet; no allocation while empty.
    pending: Vec<u8>,
    /// How much of `pending` has been sent.
    sent: usize,
    /// Bytes read ahead to look for the h2c preface, returned first by reads.
    rewound: Rewound,
    peer: SocketAddr,
    /// The local address, when `accept` knew it.
    local: Option<SocketAddr>,
    /// Pingora's view of the addresses, made when Pingora first asks: requests on
    /// the own path never need it.
    socket_digest: OnceLock<Arc<SocketDigest>>,
    established: SystemTime,
}

impl Downstream {
    /// Wraps `tcp`, accepted from `peer` on `local`, so Pingora looks neither up.
    pub fn new(tcp: TcpStream, peer: SocketAddr, local: Option<SocketAddr>) -> Self {
        Self {
            tcp,
            pending: Vec::new(),
            sent: 0,
            rewound: Rewound::default(),
            peer,
            local: local.filter(|l| !l.ip().is_unspecified()),
            socket_digest: OnceLock::new(),
            established: SystemTime::now(),
        }
    }

    /// The addresses as Pingora takes them, without a system call.
    fn digest(&self) -> SocketDigest {
        use std::os::unix::io::AsRawFd;
        let digest = SocketDigest::from_raw_fd(self.tcp.as_raw_fd());
        let _ = digest.peer_addr.set(Some(PingoraAddr::Inet(self.peer)));
        if let Some(local) = self.local {
            let _ = digest.local_addr.set(Some(PingoraAddr::Inet(local)));
        }
        digest
    }

    /// Reads until the bytes so far rule the h2c preface out or complete it,
    /// and puts them back to be read again; `true` for h2c.
    async fn read_h2_preface(&mut self) -> io::Result<bool> {
        let mut head = [0u8; H2_PREFACE.len()];
        let mut got = 0;
        while got < head.len() && head[..got] == H2_PREFACE[..got] {
            let n = self.tcp.read(&mut head[got..]).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        self.rewind(&head[..got]);
        Ok(head == *H2_PREFACE)
    }

    /// Sends `bufs` after what is pending, in one `writev`; the count is of
    /// `bufs` bytes sent (pending bytes are sent first and not counted).
    fn poll_send(&mut self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            let unsent = &self.pending[self.sent..];
            let n = if unsent.is_empty() {
                ready!(Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs))?
            } else {
                let mut all = Vec::with_capacity(bufs.len() + 1);
                all.push(IoSlice::new(unsent));
                all.extend(bufs.iter().map(|b| IoSlice::new(b)));
                ready!(Pin::new(&mut self.tcp).poll_write_vectored(cx, &all))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let unsent = self.pending.len() - self.sent;
            if n < unsent {
                self.sent += n;
                continue;
            }
            self.release();
            if n > unsent {
                return Poll::Ready(Ok(n - unsent));
            }
        }
    }

    /// Sends everything pending.
    fn poll_send_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.release();
        Poll::Ready(Ok(()))
    }

    /// Frees the write buffer once everything in it is sent.
    fn release(&mut self) {
        self.pending = Vec::new();
        self.sent = 0;
    }

    /// Appends `bufs` to what is pending; the caller has checked they fit.
    fn gather(&mut self, bufs: &[IoSlice<'_>], len: usize) -> usize {
        if self.pending.capacity() == 0 {
            // Most response heads fit; a small block is also the allocator's fast path.
            self.pending.reserve(len.max(FIRST_WRITE_BUFFER));
        }
        bufs.iter()
            .map(|b| {
                self.pending.extend_from_slice(b);
                b.len()
            })
            .sum()
    }
}

/// A client connection served by [`serve`]'s keep-alive loop and by
/// [`crate::forward`]: plain TCP ([`Downstream`]) or TLS
/// ([`crate::tls_client::TlsClient`]). It is a Pingora stream as well, so
/// a request the own path does not take is handed over with the connection.
pub trait Client: IO + Sized + 'static {
    /// The client's address.
    fn peer(&self) -> SocketAddr;

    /// Puts `data` back in front of what is still unread.
    fn rewind(&mut self, data: &[u8]);

    /// Ready once the next request can be read: `true`, or `false` when the
    /// connection ended or failed instead.
    fn poll_request(&mut self, cx: &mut Context<'_>) -> Poll<bool>;

    /// Ready once the client has closed the connection or it broke (`true`),
    /// or once the client has sent more, such as a pipelined request, which
    /// stays to be read (`false`: its closing cannot be seen any more).
    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<bool>;

    /// Reads until the first bytes rule HTTP/2 with prior knowledge (h2c)
    /// out or complete its preface, and puts them back; `true` for h2c.
    /// Only plain text can carry h2c.
    fn has_h2_preface(&mut self) -> impl Future<Output = io::Result<bool>> + Send;

    /// Ends the connection from this side before it is dropped: over TLS, the
    /// `close_notify` alert that tells the client nothing was cut off.
    fn finish(&mut self) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// Bytes read from a connection ahead of their reader and put back: every
/// read takes them first. Holds no allocation while empty.
#[derive(Debug, Default)]
pub(crate) struct Rewound(Vec<u8>);

impl Rewound {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts `data` back in front of what is held.
    pub(crate) fn put_back(&mut self, data: &[u8]) {
        let mut joined = data.to_vec();
        joined.extend_from_slice(&self.0);
        self.0 = joined;
    }

    /// Adds `data`, read ahead, behind what is held.
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.0.extend_from_slice(data);
    }

    /// Reads what is held into `buf`, or from `inner` once nothing is.
    pub(crate) fn poll_read(
        &mut self,
        inner: Pin<&mut impl AsyncRead>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.0.is_empty() {
            return inner.poll_read(cx, buf);
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        if n == self.0.len() {
            self.0 = Vec::new();
        } else {
            self.0.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl Client for Downstream {
    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn rewind(&mut self, data: &[u8]) {
        self.rewound.put_back(data);
    }

    fn poll_request(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.rewound.is_empty() {
            return Poll::Ready(true);
        }
        self.tcp.poll_read_ready(cx).map(|ready| ready.is_ok())
    }

    fn has_h2_preface(&mut self) -> impl Future<Output = io::Result<bool>> + Send {
        self.read_h2_preface()
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.rewound.is_empty() {
            return Poll::Ready(false);
        }
        let mut byte = [0u8; 1];
        let mut peeked = ReadBuf::new(&mut byte);
        self.tcp
            .poll_peek(cx, &mut peeked)
            .map(|peek| matches!(peek, Ok(0) | Err(_)))
    }
}

impl AsyncRead for Downstream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.rewound.poll_read(Pin::new(&mut this.tcp), cx, buf)
    }
}

impl AsyncWrite for Downstream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        if this.pending.len() - this.sent + len <= WRITE_BUFFER {
            if this.sent > 0 {
                this.pending.drain(..this.sent);
                this.sent = 0;
            }
            return Poll::Ready(Ok(this.gather(bufs, len)));
        }
        this.poll_send(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_pending(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_pending(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        // Like Pingora's own streams: whatever was written but never flushed
        // gets one try without blocking.
        if self.sent < self.pending.len() {
            let _ = self.tcp.try_write(&self.pending[self.sent..]);
        }
    }
}

#[async_trait]
impl Shutdown for Downstream {
    async fn shutdown(&mut self) {
        use tokio::io::AsyncWriteExt;
        if let Err(e) = AsyncWriteExt::shutdown(self).await {
            tracing::debug!(error = %e, "cannot shut a client connection down");
        }
    }
}

impl UniqueID for Downstream {
    fn id(&self) -> UniqueIDType {
        use std::os::unix::io::AsRawFd;
        self.tcp.as_raw_fd()
    }
}

impl Ssl for Downstream {}

impl GetTimingDigest for Downstream {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        vec![Some(TimingDigest {
            established_ts: self.established,
            ..TimingDigest::default()
        })]
    }
}

impl GetProxyDigest for Downstream {
    fn get_proxy_digest(&self) -> Option<Arc<pingora::protocols::raw_connect::ProxyDigest>> {
        None
    }
}

impl GetSocketDigest for Downstream {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        Some(Arc::clone(
            self.socket_digest.get_or_init(|| Arc::new(self.digest())),
        ))
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.socket_digest = OnceLock::from(Arc::new(digest));
    }
}

#[async_trait]
impl Peek for Downstream {
    /// Reads exactly `buf.len()` bytes and puts them back, as Pingora's own
    /// streams do.
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.read_exact(buf).await?;
        self.rewind(buf);
        Ok(true)
    }
}

/// Serves a client connection until it closes: each request on Tidegate's
/// own HTTP/1.1 path when `forwarder` takes it, else on Pingora's (and the
/// whole connection on Pingora's when it opens with the h2c preface). `guard`
/// is dropped when the connection is done.
///
/// This future is the connection's whole task, so an idle connection costs its
/// size: what a request needs lives in boxes while it runs (the own path's
/// state, Pingora's session and its future), and the caller spawns this future
/// itself rather than an `async` block around it, which would hold it twice.
pub async fn serve<A, C, G>(
    app: Arc<A>,
    forwarder: Arc<Forwarder>,
    mut conn: Box<C>,
    shutdown: ShutdownWatch,
    guard: G,
) where
    A: HttpServerApp + Send + Sync + 'static,
    C: Client,
    G: Send,
{
    let _guard = guard;
    // The connection's one timer: it bounds the wait for the first request,
    // then every wait between requests (see `next_request`).
    let timer = tokio::time::sleep(KEEPALIVE_TIMEOUT);
    tokio::pin!(timer);
    // Resolves once the proxy shuts down; registered once, not per request.
    let mut stop = shutdown.clone();
    let stopped = async move {
        if stop.wait_for(|down| *down).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stopped);
    if app.server_options().is_some_and(|o| o.h2c) {
        let preface = tokio::select! {
            preface = conn.has_h2_preface() => preface,
            () = timer.as_mut() => {
                tracing::debug!("client connection sent nothing; closing it");
                return;
            }
            // A connection that has not sent anything yet is idle too.
            () = stopped.as_mut() => return,
        };
        match preface {
            Ok(true) => {
                app.process_new(conn, &shutdown).await;
                return;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(error = %e, "client connection failed before its first request");
                return;
            }
        }
    }
    // Boxed: only connections Pingora has served carry them.
    let mut settings: Option<Box<HttpPersistentSettings>> = None;
    loop {
        if !next_request(
            &mut *conn,
            timer.as_mut(),
            Instant::now() + KEEPALIVE_TIMEOUT,
            stopped.as_mut(),
        )
        .await
        {
            conn.finish().await;
            return;
        }
        let closing = *shutdown.borrow();
        // Boxed, so the connection's task does not carry a request's state
        // while it waits for the next one.
        match Box::pin(forwarder.serve(&mut *conn, closing)).await {
            Next::KeepAlive => continue,
            Next::Close => {
                conn.finish().await;
                return;
            }
            Next::Pingora => {}
        }
        let Some(reused) = pingora_request(&app, conn, settings.take(), &shutdown).await else {
            return;
        };
        let (stream, next) = reused.consume();
        conn = match stream.into_any().downcast::<C>() {
            Ok(conn) => conn,
            Err(_) => {
                tracing::error!("a client connection came back from Pingora as another type");
                return;
            }
        };
        settings = next.map(Box::new);
    }
}

/// Pingora's session for the next request on `conn`, and the boxed future that
/// serves it: built outside [`serve`], so the session is never part of the
/// connection's task.
fn pingora_request<'a, A, C>(
    app: &'a Arc<A>,
    conn: Box<C>,
    settings: Option<Box<HttpPersistentSettings>>,
    shutdown: &'a ShutdownWatch,
) -> Pin<Box<dyn Future<Output = Option<ReusedHttpStream>> + Send + 'a>>
where
    A: HttpServerApp + Send + Sync + 'static,
    C: Client,
{
    let mut session = ServerSession::new_http1(conn);
    match settings {
        Some(settings) => settings.apply_to_session(&mut session),
        None => {
            let keepalive = (!*shutdown.borrow()).then_some(KEEPALIVE_TIMEOUT.as_secs());
            session.set_keepalive(keepalive);
            session.set_keepalive_reuses_remaining(
                app.server_options().and_then(|o| o.keepalive_request_limit),
            );
        }
    }
    app.process_new_http(session, shutdown)
}

/// Waits for the next request on `conn`: `false` when the connection should
/// close instead, idle until `deadline` or `stopped` (the proxy shutting down).
///
/// Nothing is registered anew per request: readiness uses the socket's own
/// reader slot, `stopped` stays registered, and `timer` is moved only when it
/// fires before `deadline` (re-arming a timer for every request would also
/// wake the worker's event loop through its eventfd).
async fn next_request(
    conn: &mut impl Client,
    mut timer: Pin<&mut Sleep>,
    deadline: Instant,
    mut stopped: Pin<&mut impl Future<Output = ()>>,
) -> bool {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(ready) = conn.poll_request(cx) {
            return Poll::Ready(ready);
        }
        if stopped.as_mut().poll(cx).is_ready() {
            return Poll::Ready(false);
        }
        while timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= deadline {
                return Poll::Ready(false);
            }
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    /// A connection as the proxy sees it, and the client's end.
    async fn pair() -> (Downstream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let local = server.local_addr().ok();
        (Downstream::new(server, peer, local), client)
    }

    #[tokio::test]
    async fn pingora_sees_the_addresses_accept_gave_made_once() {
        let (conn, client) = pair().await;
        let digest = conn.get_socket_digest().unwrap();
        let inet = |a: &Option<PingoraAddr>| a.as_ref().and_then(|a| a.as_inet()).copied();
        assert_eq!(
            digest.peer_addr.get().and_then(inet),
            Some(client.local_addr().unwrap())
        );
        assert_eq!(
            digest.local_addr.get().and_then(inet),
            Some(client.peer_addr().unwrap())
        );
        assert!(Arc::ptr_eq(&digest, &conn.get_socket_digest().unwrap()));
    }

    async fn read_n(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        client.read_exact(&mut buf).await.unwrap();
        buf
    }

    #[tokio::test]
    async fn small_writes_are_sent_together_at_the_flush() {
        let (mut conn, mut client) = pair().await;
        conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            .await
            .unwrap();
        conn.write_all(b"ok").await.unwrap();
        let mut buf = [0u8; 64];
        let early = client.try_read(&mut buf);
        assert!(
            matches!(&early, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "nothing leaves before the flush: {early:?}"
        );
        conn.flush().await.unwrap();
        assert_eq!(
            read_n(&mut client, 40).await,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        );
        assert_eq!(conn.pending.capacity(), 0, "no buffer kept after the flush");
    }

    #[tokio::test]
    async fn a_large_write_goes_out_with_what_was_gathered_before_it() {
        let (mut conn, mut client) = pair().await;
        let body: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        conn.write_all(b"head\r\n").await.unwrap();
        let writer = tokio::spawn(async move {
            conn.write_all(&body).await.unwrap();
            conn.flush().await.unwrap();
            body
        });
        let received = read_n(&mut client, 6 + 64 * 1024).await;
        let body = writer.await.unwrap();
        assert_eq!(&received[..6], b"head\r\n");
        assert_eq!(&received[6..], &body[..]);
    }

    #[tokio::test]
    async fn what_was_never_flushed_is_sent_when_the_connection_drops() {
        let (mut conn, mut client) = pair().await;
        conn.write_all(b"bye").await.unwrap();
        drop(conn);
        let mut all = Vec::new();
        client.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"bye");
    }

    #[tokio::test]
    async fn the_h2c_preface_is_recognised_and_read_again() {
        let (mut conn, mut client) = pair().await;
        client.write_all(H2_PREFACE).await.unwrap();
        client.write_all(b"frames").await.unwrap();
        assert!(conn.read_h2_preface().await.unwrap());
        let mut again = [0u8; 30];
        conn.read_exact(&mut again).await.unwrap();
        assert_eq!(&again[..24], H2_PREFACE);
        assert_eq!(&again[24..], b"frames");
    }

    #[tokio::test]
    async fn a_short_http1_request_is_not_held_back_waiting_for_a_preface() {
        let (mut conn, mut client) = pair().await;
        let request = b"GET / HTTP/1.0\r\n\r\n";
        client.write_all(request).await.unwrap();
        assert!(!conn.read_h2_preface().await.unwrap());
        let mut again = [0u8; 18];
        conn.read_exact(&mut again).await.unwrap();
        assert_eq!(&again, request);
    }
}
