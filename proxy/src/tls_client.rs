//! A TLS client connection on Tidegate's own HTTP/1.1 path.
//!
//! After the handshake, a connection that chose `h2` by ALPN is served by
//! Pingora's HTTP/2 server. One that chose HTTP/1.1, or named no protocol, is
//! served like a plain-text one ([`crate::downstream::serve`]): requests on the
//! own path, the others handed to Pingora with the connection. [`TlsClient`]
//! is that connection: the TLS stream, and the plaintext read ahead of the
//! request parser. TLS buffers decrypted bytes of its own, so the socket
//! being readable says nothing about whether a request is there; waiting for
//! one, or watching for the client to leave, reads, and what is read is put
//! back to be read again.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use pingora::protocols::tls::{SslDigest, TlsRef, TlsStream};
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::downstream::{Client, Downstream, Rewound};

/// The most plaintext one read-ahead takes; a request head usually fits, and
/// the rest of a larger one is read by the request parser itself.
const READ_AHEAD: usize = 4096;

/// How long the `close_notify` alert may wait for room in the socket.
const FINISH_TIMEOUT: Duration = Duration::from_secs(1);

/// A client connection over TLS that chose HTTP/1.1.
#[derive(Debug)]
pub struct TlsClient {
    tls: TlsStream<Downstream>,
    /// Plaintext read ahead, returned first by reads.
    rewound: Rewound,
    peer: SocketAddr,
}

impl TlsClient {
    /// Wraps a TLS connection from `peer` whose handshake is done.
    pub fn new(tls: TlsStream<Downstream>, peer: SocketAddr) -> Self {
        Self {
            tls,
            rewound: Rewound::default(),
            peer,
        }
    }

    /// Whether the client chose HTTP/2 in the handshake.
    pub fn chose_h2(tls: &TlsStream<Downstream>) -> bool {
        tls.selected_alpn_proto() == Some(ALPN::H2)
    }

    /// Reads plaintext into `rewound`; the count read, 0 at the end.
    fn poll_read_ahead(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut chunk = [0u8; READ_AHEAD];
        let mut read = ReadBuf::new(&mut chunk);
        ready!(Pin::new(&mut self.tls).poll_read(cx, &mut read))?;
        self.rewound.push(read.filled());
        Poll::Ready(Ok(read.filled().len()))
    }
}

impl Client for TlsClient {
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
        self.poll_read_ahead(cx)
            .map(|read| matches!(read, Ok(n) if n > 0))
    }

    fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.rewound.is_empty() {
            return Poll::Ready(false);
        }
        // The end of the stream is the client's close_notify, or the
        // connection closing without one.
        self.poll_read_ahead(cx)
            .map(|read| matches!(read, Ok(0) | Err(_)))
    }

    async fn has_h2_preface(&mut self) -> io::Result<bool> {
        // Over TLS, HTTP/2 is chosen in the handshake.
        Ok(false)
    }

    async fn finish(&mut self) {
        let shutdown = AsyncWriteExt::shutdown(&mut self.tls);
        if tokio::time::timeout(FINISH_TIMEOUT, shutdown)
            .await
            .is_err()
        {
            tracing::debug!("a TLS client took no close_notify; closing without it");
        }
    }
}

impl AsyncRead for TlsClient {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.rewound.poll_read(Pin::new(&mut this.tls), cx, buf)
    }
}

impl AsyncWrite for TlsClient {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tls).poll_shutdown(cx)
    }
}

#[async_trait]
impl Shutdown for TlsClient {
    async fn shutdown(&mut self) {
        Shutdown::shutdown(&mut self.tls).await;
    }
}

impl UniqueID for TlsClient {
    fn id(&self) -> UniqueIDType {
        self.tls.id()
    }
}

impl Ssl for TlsClient {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.tls.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.tls.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.tls.selected_alpn_proto()
    }
}

impl GetTimingDigest for TlsClient {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.tls.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.tls.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.tls.get_write_pending_time()
    }
}

impl GetProxyDigest for TlsClient {
    fn get_proxy_digest(&self) -> Option<Arc<pingora::protocols::raw_connect::ProxyDigest>> {
        self.tls.get_proxy_digest()
    }
}

impl GetSocketDigest for TlsClient {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.tls.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.tls.set_socket_digest(digest);
    }
}

/// No peeking, as for Pingora's own TLS streams.
impl Peek for TlsClient {}
