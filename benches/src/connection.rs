//! One keep-alive client connection: writes the pre-encoded request and reads
//! exactly one response, skipping its body without keeping it.

use std::net::SocketAddr;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::RequestError;
use crate::response::{parse_head, Body, ChunkedBody};

/// Read buffer size; responses of the benchmarks fit many times over.
const READ_BUFFER: usize = 16 * 1024;
/// A response head larger than this is treated as malformed.
const MAX_HEAD: usize = 64 * 1024;

/// What one exchange got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The final status code.
    pub status: u16,
    /// Whether the server ended keep-alive with this response.
    pub close: bool,
}

/// An open HTTP/1.1 connection to the target.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: BytesMut,
}

impl Connection {
    /// Connects to `address` with Nagle's algorithm off.
    pub async fn open(address: SocketAddr) -> Result<Self, RequestError> {
        let stream = TcpStream::connect(address)
            .await
            .map_err(RequestError::Connect)?;
        stream.set_nodelay(true).map_err(RequestError::Connect)?;
        Ok(Self {
            stream,
            buf: BytesMut::with_capacity(READ_BUFFER),
        })
    }

    /// Sends `request` and reads one full response.
    pub async fn exchange(&mut self, request: &[u8]) -> Result<Reply, RequestError> {
        self.stream
            .write_all(request)
            .await
            .map_err(RequestError::Write)?;
        let head = loop {
            match parse_head(&self.buf)? {
                Some(head) if head.is_interim() => self.buf.advance(head.len),
                Some(head) => break head,
                None if self.buf.len() > MAX_HEAD => {
                    return Err(RequestError::Parse("response head over 64 KiB"))
                }
                None => self.fill().await?,
            }
        };
        self.buf.advance(head.len);
        match head.body {
            Body::Empty => {}
            Body::Length(n) => self.skip(n).await?,
            Body::Chunked => self.skip_chunked().await?,
            Body::UntilClose => self.skip_to_end().await?,
        }
        Ok(Reply {
            status: head.status,
            close: head.close,
        })
    }

    /// Whether the server has not closed the connection (checked without waiting).
    pub fn is_open(&self) -> bool {
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        }
    }

    /// Reads more bytes into the buffer; the server closing is an error here.
    async fn fill(&mut self) -> Result<(), RequestError> {
        if self.buf.capacity() - self.buf.len() < READ_BUFFER / 4 {
            self.buf.reserve(READ_BUFFER);
        }
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(RequestError::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(RequestError::Read(e)),
        }
    }

    async fn skip(&mut self, length: u64) -> Result<(), RequestError> {
        let mut left = length;
        loop {
            let take = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            self.buf.advance(take);
            left -= take as u64;
            if left == 0 {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    async fn skip_chunked(&mut self) -> Result<(), RequestError> {
        let mut body = ChunkedBody::default();
        loop {
            if !self.buf.is_empty() {
                if let Some(end) = body.feed(&self.buf)? {
                    self.buf.advance(end);
                    return Ok(());
                }
                self.buf.clear();
            }
            self.fill().await?;
        }
    }

    async fn skip_to_end(&mut self) -> Result<(), RequestError> {
        loop {
            self.buf.clear();
            match self.stream.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(RequestError::Read(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Serves `answers` in order on one accepted connection, one per request head.
    async fn server(answers: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for answer in answers {
                loop {
                    if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        break;
                    }
                    let mut chunk = [0u8; 1024];
                    let n = tcp.read(&mut chunk).await.unwrap();
                    seen.extend_from_slice(&chunk[..n]);
                }
                for piece in answer.chunks(7) {
                    tcp.write_all(piece).await.unwrap();
                    tcp.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        });
        address
    }

    #[tokio::test]
    async fn reads_each_framing_on_one_connection() {
        let address = server(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
        ])
        .await;
        let mut c = Connection::open(address).await.unwrap();
        let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let statuses = [(200, false), (503, false), (204, false), (200, true)];
        for (status, close) in statuses {
            assert_eq!(c.exchange(request).await.unwrap(), Reply { status, close });
        }
    }

    #[tokio::test]
    async fn a_short_response_is_closed() {
        let address = server(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]).await;
        let mut c = Connection::open(address).await.unwrap();
        let err = c.exchange(b"GET / HTTP/1.1\r\n\r\n").await.unwrap_err();
        assert_eq!(err.kind(), "closed");
    }
}
