//! Upstream HTTP/1.1 connections: opened with the pool's connect timeout and
//! kept alive per worker thread.
//!
//! Each worker is a single-threaded runtime, so its idle connections live in a
//! thread-local map from backend address to a stack: a request takes the most
//! recently used one (the warmest) without any lock or cross-thread wake-up,
//! and puts it back when its response is through. [`sweep`] closes connections
//! idle longer than their pool's `timeout.idle`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// Idle connections a worker keeps per backend; more are closed.
const MAX_IDLE_PER_BACKEND: usize = 1024;

/// How often [`sweep`] looks for connections past their idle timeout.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// A kept-alive connection and when it stops being worth keeping.
#[derive(Debug)]
struct Idle {
    tcp: TcpStream,
    expires: Instant,
}

thread_local! {
    static IDLE: RefCell<HashMap<SocketAddr, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// The worker's most recently used idle connection to `addr`, if one is left.
pub fn take(addr: SocketAddr) -> Option<TcpStream> {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let stack = idle.get_mut(&addr)?;
        let now = Instant::now();
        while let Some(conn) = stack.pop() {
            if conn.expires > now {
                return Some(conn.tcp);
            }
        }
        None
    })
}

/// Keeps `tcp` for reuse for up to `idle_timeout`.
pub fn put(addr: SocketAddr, tcp: TcpStream, idle_timeout: Duration) {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let stack = idle.entry(addr).or_default();
        if stack.len() < MAX_IDLE_PER_BACKEND {
            stack.push(Idle {
                tcp,
                expires: Instant::now() + idle_timeout,
            });
        }
    });
}

/// Idle connections this worker holds to `addr`.
#[cfg(test)]
fn idle_count(addr: SocketAddr) -> usize {
    IDLE.with(|idle| idle.borrow().get(&addr).map_or(0, Vec::len))
}

/// Closes the worker's connections that outlived their idle timeout; runs
/// forever on the worker's runtime.
pub async fn sweep() {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = ticks.tick().await;
        IDLE.with(|idle| {
            idle.borrow_mut().retain(|_, stack| {
                stack.retain(|conn| conn.expires > now);
                !stack.is_empty()
            });
        });
    }
}

/// Whether an idle connection is still usable: the backend has neither
/// closed it nor sent anything unasked since its last answer (such as a body
/// after the head of an answer to HEAD).
///
/// Usually free: reading the end of an answer left the socket marked not
/// readable, and only an event from the kernel marks it again. Only then does
/// a non-blocking read tell what came.
pub fn is_open(tcp: &TcpStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    match tcp.poll_read_ready(&mut cx) {
        Poll::Pending => true,
        Poll::Ready(Err(_)) => false,
        Poll::Ready(Ok(())) => {
            let mut byte = [0u8; 1];
            matches!(tcp.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
        }
    }
}

/// Why a connection could not be made, in the words of the error bodies and
/// the access log.
pub fn connect_failure(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::TimedOut => "ConnectTimedout",
        io::ErrorKind::ConnectionRefused => "ConnectRefused",
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => "ConnectNoRoute",
        _ => "ConnectError",
    }
}

/// A new connection to `addr`, within `timeout`.
pub async fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(connected) => connected?,
        Err(_) => return Err(io::ErrorKind::TimedOut.into()),
    };
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn connections_are_reused_newest_first_until_they_expire() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let first = connect(addr, Duration::from_secs(1)).await.unwrap();
        let second = connect(addr, Duration::from_secs(1)).await.unwrap();
        let second_port = second.local_addr().unwrap().port();
        put(addr, first, Duration::from_secs(60));
        put(addr, second, Duration::from_secs(60));
        assert_eq!(idle_count(addr), 2);
        let taken = take(addr).unwrap();
        assert_eq!(taken.local_addr().unwrap().port(), second_port);
        put(addr, taken, Duration::ZERO);
        assert!(take(addr).is_some(), "the unexpired one is still there");
        assert!(take(addr).is_none(), "the expired one is not handed out");
    }

    #[tokio::test]
    async fn a_connection_the_backend_closed_is_not_open() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = connect(listener.local_addr().unwrap(), Duration::from_secs(1))
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(is_open(&tcp));
        drop(accepted);
        tcp.readable().await.unwrap();
        assert!(!is_open(&tcp));
    }

    #[tokio::test]
    async fn a_connection_with_unasked_bytes_is_not_open() {
        use tokio::io::AsyncWriteExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = connect(listener.local_addr().unwrap(), Duration::from_secs(1))
            .await
            .unwrap();
        let (mut accepted, _) = listener.accept().await.unwrap();
        assert!(is_open(&tcp));
        accepted.write_all(b"late body").await.unwrap();
        tcp.readable().await.unwrap();
        assert!(!is_open(&tcp));
    }

    #[tokio::test]
    async fn a_refused_connect_is_named() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = connect(addr, Duration::from_secs(1)).await.unwrap_err();
        assert_eq!(connect_failure(&e), "ConnectRefused");
    }
}
