//! HTTP/1.1 forwarding byte for byte: response framing (chunked with trailers,
//! HEAD, 204, until close), hop-by-hop fields, pipelining, kept-alive
//! connections a backend closed, streamed answers, a client giving up on a
//! slow answer, HTTP/1.0 clients, and the requests the proxy forwards through
//! Pingora's general path (chunked request bodies, `Expect`, HTTP/1.0 without
//! `Host`). HTTP/1.1 over TLS takes the same path: pipelining, the hand-over
//! to Pingora and back, a client giving up, and the `close_notify` at the end.
//!
//! The backend is a scripted one on 127.0.0.1 that records every request head
//! it reads and answers with exact bytes; the client writes and reads raw bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tidegate_tests::{
    certificate, config_file, proxy, refused_port, tls_client, tls_connect, ConfigFile, Process,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(10);

/// A [`Script`] piece that is not sent: the backend waits there for [`RELEASE`].
const WAIT: &[u8] = b"<wait>";

/// Lets a scripted backend past its [`WAIT`].
static RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// What the scripted backend sends for a request, in pieces written one by one.
struct Script {
    pieces: Vec<&'static [u8]>,
    /// Close the connection after answering.
    close: bool,
}

/// A backend that answers each request by its path with a [`Script`], and
/// reports every request it read (head and body) and every connection closed.
struct ScriptedBackend {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    requests: mpsc::UnboundedReceiver<String>,
    closed: mpsc::UnboundedReceiver<()>,
}

impl ScriptedBackend {
    async fn start(script: fn(&str) -> Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (requests_tx, requests) = mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let requests_tx = requests_tx.clone();
                let closed_tx = closed_tx.clone();
                tokio::spawn(async move {
                    serve_script(tcp, script, requests_tx).await;
                    let _ = closed_tx.send(());
                });
            }
        });
        Self {
            addr,
            accepted,
            requests,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    async fn next_request(&mut self) -> String {
        tokio::time::timeout(STEP, self.requests.recv())
            .await
            .expect("the backend got a request")
            .unwrap()
    }
}

async fn serve_script(
    mut tcp: TcpStream,
    script: fn(&str) -> Script,
    requests: mpsc::UnboundedSender<String>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut tcp, &mut buf).await else {
            return;
        };
        let path = request.split(' ').nth(1).unwrap_or_default().to_string();
        let _ = requests.send(request);
        let answer = script(&path);
        for piece in answer.pieces {
            if piece == WAIT {
                RELEASE.notified().await;
                continue;
            }
            if tcp.write_all(piece).await.is_err() {
                return;
            }
            tcp.flush().await.unwrap();
        }
        if answer.close {
            return;
        }
    }
}

/// Reads one request (head, and a body by `Content-Length` or chunked) from
/// `tcp`; `None` once the connection closes. Bytes of the next one stay in `buf`.
async fn read_request(tcp: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            let lower = head.to_ascii_lowercase();
            let body_end = if lower.contains("transfer-encoding: chunked") {
                find(&buf[end + 4..], b"0\r\n\r\n").map(|e| end + 4 + e + 5)
            } else {
                let length = lower
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                (buf.len() >= end + 4 + length).then_some(end + 4 + length)
            };
            if let Some(body_end) = body_end {
                let request = String::from_utf8_lossy(&buf[..body_end]).into_owned();
                buf.drain(..body_end);
                return Some(request);
            }
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The proxy in front of `backend`, one worker so every request shares its
/// upstream connections.
fn proxy_for(backend: SocketAddr) -> (ConfigFile, Process) {
    let config = config_file(&format!(
        "[server]\nthreads = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\nbackends = [\"{backend}\"]\n"
    ));
    let proxy = proxy(&config, 1);
    (config, proxy)
}

/// The proxy in front of `backend` on a TLS listener with a certificate for
/// `localhost`, and a client that trusts it and offers the protocols `alpn`.
fn tls_proxy_for(
    backend: SocketAddr,
    alpn: &[&str],
) -> (tempfile::TempDir, ConfigFile, Process, TlsConnector) {
    let dir = tempfile::tempdir().unwrap();
    let certificate = certificate(dir.path(), "localhost", &["localhost"]);
    let config = config_file(&format!(
        "[server]\nthreads = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\
         tls = {{ cert = \"{}\", key = \"{}\" }}\n\n[pool.p]\nbackends = [\"{backend}\"]\n",
        certificate.cert.display(),
        certificate.key.display()
    ));
    let proxy = proxy(&config, 1);
    let client = tls_client(&certificate, alpn);
    (dir, config, proxy, client)
}

/// Writes `request` on a new connection to `addr` and reads until the proxy
/// closes it (the last request asks it to).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(STEP, tcp.read_to_end(&mut all))
        .await
        .expect("the proxy closed the connection")
        .unwrap();
    String::from_utf8_lossy(&all).into_owned()
}

/// [`exchange`] over TLS; the proxy must end the connection with its
/// `close_notify` (rustls reports a bare close as an error).
async fn tls_exchange(addr: SocketAddr, connector: &TlsConnector, request: &[u8]) -> String {
    let mut tls = tls_connect(connector, addr).await;
    tls.write_all(request).await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(STEP, tls.read_to_end(&mut all))
        .await
        .expect("the proxy closed the connection")
        .expect("the proxy sent close_notify");
    String::from_utf8_lossy(&all).into_owned()
}

fn script(path: &str) -> Script {
    let pieces: Vec<&'static [u8]> = match path {
        "/chunked" => vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n5\r\nhel",
            b"lo\r\n6;ext=1\r\n world\r\n",
            b"0\r\nx-sum: 42\r\n\r\n",
        ],
        "/head" => vec![b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n"],
        "/http10" => vec![b"HTTP/1.0 200 OK\r\ncontent-length: 4\r\n\r\nold\n"],
        // A body after the head of an answer to HEAD, as some backends send.
        "/head-with-body" => vec![b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n", b"oops\n"],
        "/empty" => vec![b"HTTP/1.1 204 No Content\r\n\r\n"],
        "/until-close" => vec![b"HTTP/1.1 200 OK\r\n\r\nall of ", b"it\n"],
        "/hop" => vec![
            b"HTTP/1.1 200 OK\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\
              x-kept: yes\r\ncontent-length: 3\r\n\r\nhop",
        ],
        // Never answered: the backend waits for the proxy to give up.
        "/hold" => vec![],
        "/stream" => vec![
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n",
            WAIT,
            b"4\r\nlast\r\n0\r\n\r\n",
        ],
        "/hints" => vec![
            b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal",
        ],
        _ => vec![b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"],
    };
    Script {
        close: path == "/until-close" || path == "/http10" || path.starts_with("/closing"),
        pieces,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_answers_pass_through_with_trailers_and_the_connection_is_reused() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"GET /chunked HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /chunked HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    let body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-sum: 42\r\n\r\n";
    assert_eq!(got.matches(body).count(), 2, "{got}");
    assert_eq!(
        got.matches("transfer-encoding: chunked").count(),
        2,
        "{got}"
    );
    assert!(got.ends_with(body), "{got}");
    assert_eq!(
        backend.accepted(),
        1,
        "both went over one upstream connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_204_answers_end_at_their_head() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"HEAD /head HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /empty HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /last HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = got.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 3, "{got}");
    assert!(
        answers[0].starts_with("200 OK\r\ncontent-length: 100\r\n\r\n"),
        "{got}"
    );
    assert_eq!(answers[1], "204 No Content\r\n\r\n", "{got}");
    assert!(answers[2].ends_with("\r\n\r\nok\n"), "{got}");
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_a_length_ends_when_the_backend_closes() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    // No `connection: close` from the client: the proxy closes, as the only way
    // to tell where the body ends.
    let got = exchange(
        proxy.addr(),
        b"GET /until-close HTTP/1.1\r\nhost: a\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.contains("connection: close\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nall of it\n"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_by_hop_fields_stay_on_their_hop() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"GET /hop HTTP/1.1\r\nhost: a\r\nconnection: keep-alive, close\r\nkeep-alive: 5\r\n\
          te: trailers\r\nproxy-connection: keep-alive\r\nx-forwarded-proto: https\r\n\
          x-forwarded-for: 203.0.113.9\r\nx-mine: 1\r\n\r\n",
    )
    .await;
    let sent = backend.next_request().await.to_ascii_lowercase();
    for dropped in [
        "connection:",
        "keep-alive:",
        "te:",
        "proxy-connection:",
        "https",
    ] {
        assert!(
            !sent.contains(dropped),
            "{dropped} reached the backend: {sent}"
        );
    }
    assert!(sent.contains("x-mine: 1\r\n"), "{sent}");
    assert!(
        sent.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\r\n"),
        "{sent}"
    );
    assert!(sent.contains("x-forwarded-proto: http\r\n"), "{sent}");
    assert!(!got.contains("keep-alive"), "{got}");
    assert!(got.contains("x-kept: yes\r\n"), "{got}");
    assert!(
        got.contains("connection: close\r\n"),
        "the client asked to close: {got}"
    );
    assert!(got.ends_with("\r\n\r\nhop"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_with_their_bodies() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"GET /hints HTTP/1.1\r\nhost: a\r\n\r\n\
          POST /form HTTP/1.1\r\nhost: a\r\ncontent-length: 7\r\n\r\nname=ab\
          GET /last HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    let statuses: Vec<&str> = got.split("HTTP/1.1 ").skip(1).map(|a| &a[..3]).collect();
    assert_eq!(statuses, ["103", "200", "200", "200"], "{got}");
    assert!(got.contains("link: </a.css>; rel=preload\r\n"), "{got}");
    assert!(got.contains("\r\n\r\nfinal"), "{got}");
    let seen: Vec<String> = [
        backend.next_request().await,
        backend.next_request().await,
        backend.next_request().await,
    ]
    .into();
    assert!(seen[0].starts_with("GET /hints "), "{seen:?}");
    assert!(seen[1].starts_with("POST /form "), "{seen:?}");
    assert!(seen[1].ends_with("\r\n\r\nname=ab"), "{seen:?}");
    assert!(seen[2].starts_with("GET /last "), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_the_backend_closed_is_replaced() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    // The backend closes each connection right after answering, without
    // saying so: the proxy keeps it, and finds it closed at the next request.
    for (i, request) in [
        &b"GET /closing HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n"[..],
        b"GET /closing HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
        b"POST /closing HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi",
        b"DELETE /closing HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    ]
    .into_iter()
    .enumerate()
    {
        let got = exchange(proxy.addr(), request).await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "request {i}: {got}");
        backend.next_request().await;
        tokio::time::timeout(STEP, backend.closed.recv())
            .await
            .expect("the backend closed its connection");
    }
    assert_eq!(backend.accepted(), 4, "one new connection per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_expect_and_http10_are_forwarded_too() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"POST /upload HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
          4\r\nbody\r\n0\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    let sent = backend.next_request().await;
    assert!(sent.contains("4\r\nbody\r\n0\r\n\r\n"), "{sent}");

    let got = exchange(
        proxy.addr(),
        b"PUT /upload HTTP/1.1\r\nhost: a\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\
          connection: close\r\n\r\nbody",
    )
    .await;
    assert!(got.contains("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(backend.next_request().await.ends_with("\r\n\r\nbody"));

    let got = exchange(proxy.addr(), b"GET /old HTTP/1.0\r\n\r\n").await;
    assert!(got.ends_with("ok\n"), "{got}");
    assert!(backend.next_request().await.starts_with("GET /old "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http10_clients_keep_their_connection_only_when_they_ask_and_never_see_chunks() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    // Asked to keep the connection: a sized answer says it is kept, a 1xx head
    // is not passed on, and a chunked answer comes as its data alone, the
    // connection's end delimiting it.
    let got = exchange(
        proxy.addr(),
        b"GET /a HTTP/1.0\r\nhost: a\r\nconnection: keep-alive\r\n\r\n\
          GET /hints HTTP/1.0\r\nhost: a\r\nconnection: keep-alive\r\n\r\n\
          GET /chunked HTTP/1.0\r\nhost: a\r\nconnection: keep-alive\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = got.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 3, "no 103 for HTTP/1.0: {got}");
    assert!(
        answers[0].contains("connection: keep-alive\r\n") && answers[0].ends_with("\r\n\r\nok\n"),
        "{got}"
    );
    assert!(
        answers[1].starts_with("200 OK\r\n") && answers[1].ends_with("\r\n\r\nfinal"),
        "{got}"
    );
    let chunked = answers[2];
    assert!(chunked.contains("connection: close\r\n"), "{got}");
    assert!(
        !chunked.contains("transfer-encoding") && !chunked.contains("trailer"),
        "{got}"
    );
    assert!(chunked.ends_with("\r\n\r\nhello world"), "{got}");
    // Upstream each went in HTTP/1.1, over one kept-alive connection.
    for path in ["/a", "/hints", "/chunked"] {
        let sent = backend.next_request().await;
        assert!(
            sent.starts_with(&format!("GET {path} HTTP/1.1\r\n")),
            "{sent}"
        );
    }
    assert_eq!(backend.accepted(), 1);

    // Not asked: the connection closes after the answer.
    let got = exchange(proxy.addr(), b"GET /b HTTP/1.0\r\nhost: a\r\n\r\n").await;
    assert!(got.contains("connection: close\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nok\n"), "{got}");
    backend.next_request().await;
    assert_eq!(
        backend.accepted(),
        1,
        "the upstream connection is still kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_gives_up_abandons_its_request_upstream() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let mut tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    tcp.write_all(b"GET /hold HTTP/1.1\r\nhost: a\r\n\r\n")
        .await
        .unwrap();
    backend.next_request().await;
    let gave_up = std::time::Instant::now();
    drop(tcp);
    tokio::time::timeout(STEP, backend.closed.recv())
        .await
        .expect("the proxy closes the upstream connection of an abandoned request")
        .unwrap();
    let after = gave_up.elapsed();
    println!("upstream connection closed {after:?} after the client left");
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
    let got = exchange(
        proxy.addr(),
        b"GET /next HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(got.ends_with("\r\n\r\nok\n"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_reaches_the_client_as_it_is_produced() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let mut tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    tcp.write_all(b"GET /stream HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    // The backend holds the rest of the answer until the first chunk is here.
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while find(&got, b"5\r\nfirst\r\n").is_none() {
        let n = tokio::time::timeout(STEP, tcp.read(&mut chunk))
            .await
            .expect("the first chunk arrives before the answer is complete")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&chunk[..n]);
    }
    RELEASE.notify_one();
    tokio::time::timeout(STEP, tcp.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.ends_with("5\r\nfirst\r\n4\r\nlast\r\n0\r\n\r\n"),
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http10_backend_is_relayed_in_http11_and_the_client_keeps_its_connection() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"GET /http10 HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /http10 HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(got.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{got}");
    assert_eq!(got.matches("\r\n\r\nold\n").count(), 2, "{got}");
    assert!(!got.contains("HTTP/1.0"), "{got}");
    assert_eq!(
        backend.accepted(),
        2,
        "an HTTP/1.0 backend's connection is not reused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_a_backend_sends_unasked_do_not_become_the_next_answer() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"HEAD /head-with-body HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /after HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = got.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 2, "{got}");
    assert!(answers[0].ends_with("content-length: 5\r\n\r\n"), "{got}");
    assert!(answers[1].starts_with("200 OK\r\n"), "{got}");
    assert!(answers[1].ends_with("\r\n\r\nok\n"), "{got}");
    assert_eq!(
        backend.accepted(),
        2,
        "the connection with stray bytes is not reused"
    );
}

/// Reads from `tls` into `all` until `done` holds for what was read.
async fn read_until(
    tls: &mut TlsStream<TcpStream>,
    all: &mut Vec<u8>,
    done: impl Fn(&str) -> bool,
) {
    let mut chunk = [0u8; 4096];
    while !done(&String::from_utf8_lossy(all)) {
        let n = tokio::time::timeout(STEP, tls.read(&mut chunk))
            .await
            .expect("the proxy answered")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(all));
        all.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http11_over_tls_is_pipelined_handed_to_pingora_and_back_and_closed_cleanly() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_dir, _config, proxy, connector) = tls_proxy_for(backend.addr, &["http/1.1"]);
    let mut tls = tls_connect(&connector, proxy.addr()).await;
    let mut all = Vec::new();
    // Pipelined on the own path.
    tls.write_all(
        b"GET /hints HTTP/1.1\r\nhost: a\r\n\r\n\
          POST /form HTTP/1.1\r\nhost: a\r\ncontent-length: 7\r\n\r\nname=ab",
    )
    .await
    .unwrap();
    read_until(&mut tls, &mut all, |s| {
        s.contains("final") && s.ends_with("ok\n")
    })
    .await;
    // A chunked upload is Pingora's: the connection is handed over and back.
    tls.write_all(
        b"POST /upload HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
    )
    .await
    .unwrap();
    read_until(&mut tls, &mut all, |s| s.matches("ok\n").count() == 2).await;
    tls.write_all(
        b"GET /after HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /last HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    tokio::time::timeout(STEP, tls.read_to_end(&mut all))
        .await
        .expect("the proxy closed the connection")
        .expect("the proxy sent close_notify");
    let got = String::from_utf8_lossy(&all);
    let statuses: Vec<&str> = got.split("HTTP/1.1 ").skip(1).map(|a| &a[..3]).collect();
    assert_eq!(
        statuses,
        ["103", "200", "200", "200", "200", "200"],
        "{got}"
    );
    assert!(got.contains("\r\n\r\nfinal"), "{got}");
    // The own path relays the backend's head as it is; Pingora adds a Date.
    assert_eq!(
        got.matches("Date: ").count(),
        1,
        "only /upload was Pingora's: {got}"
    );
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(backend.next_request().await);
    }
    let order: Vec<&str> = seen
        .iter()
        .map(|r| r.split(' ').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(order, ["/hints", "/form", "/upload", "/after", "/last"]);
    assert!(seen[1].ends_with("\r\n\r\nname=ab"), "{seen:?}");
    assert!(seen[2].contains("4\r\nbody\r\n0\r\n\r\n"), "{seen:?}");
    for request in &seen {
        assert!(
            request
                .to_ascii_lowercase()
                .contains("x-forwarded-proto: https\r\n"),
            "{request}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_gives_up_abandons_its_request_upstream() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_dir, _config, proxy, connector) = tls_proxy_for(backend.addr, &["http/1.1"]);
    let mut tls = tls_connect(&connector, proxy.addr()).await;
    tls.write_all(b"GET /hold HTTP/1.1\r\nhost: a\r\n\r\n")
        .await
        .unwrap();
    backend.next_request().await;
    let gave_up = std::time::Instant::now();
    // As a browser closing a tab: close_notify, then the socket.
    tls.shutdown().await.unwrap();
    drop(tls);
    tokio::time::timeout(STEP, backend.closed.recv())
        .await
        .expect("the proxy closes the upstream connection of an abandoned request")
        .unwrap();
    let after = gave_up.elapsed();
    assert!(after < Duration::from_secs(3), "closed after {after:?}");
    let got = tls_exchange(
        proxy.addr(),
        &connector,
        b"GET /next HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert!(got.ends_with("\r\n\r\nok\n"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxys_own_error_answer_to_head_is_a_head_alone() {
    let backend = ScriptedBackend::start(script).await;
    // A port nothing listens on.
    let dead = refused_port();
    let config = config_file(&format!(
        "[server]\nthreads = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[route]]\npath_prefix = \"/dead\"\npool = \"dead\"\n\n\
         [[route]]\npool = \"p\"\n\n\
         [pool.dead]\nbackends = [\"{dead}\"]\nretry = {{ attempts = 0 }}\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        backend.addr
    ));
    let proxy = proxy(&config, 1);
    let got = exchange(
        proxy.addr(),
        b"HEAD /dead HTTP/1.1\r\nhost: a\r\n\r\n\
          GET /after HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n",
    )
    .await;
    let answers: Vec<&str> = got.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 2, "{got}");
    assert!(answers[0].starts_with("502 "), "{got}");
    assert!(
        answers[0].ends_with("\r\n\r\n"),
        "a body after the head: {got}"
    );
    assert!(answers[0].contains("content-length: "), "{got}");
    assert!(answers[1].starts_with("200 OK\r\n"), "{got}");
    assert!(answers[1].ends_with("\r\n\r\nok\n"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_host_is_a_bad_request_and_http10_gets_one_upstream() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    for request in [
        &b"GET /no-host HTTP/1.1\r\n\r\n"[..],
        b"GET /spaced HTTP/1.1\r\nhost: a b\r\n\r\n",
        b"GET /path-in-host HTTP/1.1\r\nhost: a/b\r\n\r\n",
    ] {
        let got = exchange(proxy.addr(), request).await;
        assert!(got.starts_with("HTTP/1.1 400 "), "{got}");
        assert!(
            got.to_ascii_lowercase().contains("connection: close"),
            "{got}"
        );
        assert!(got.contains("tidegate: bad request"), "{got}");
    }
    // An HTTP/1.0 request may leave Host out; upstream, in HTTP/1.1, it names
    // the backend.
    let got = exchange(proxy.addr(), b"GET /old HTTP/1.0\r\n\r\n").await;
    assert!(
        got.starts_with("HTTP/1.0 200 ") || got.starts_with("HTTP/1.1 200 "),
        "{got}"
    );
    let upstream = backend.next_request().await;
    assert!(upstream.starts_with("GET /old HTTP/1.1\r\n"), "{upstream}");
    let host = format!("host: {}\r\n", backend.addr);
    assert!(upstream.to_ascii_lowercase().contains(&host), "{upstream}");
    assert_eq!(backend.accepted(), 1, "no 400 reached the backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_client_that_offers_only_http10_by_alpn_is_served() {
    let backend = ScriptedBackend::start(script).await;
    let (_dir, _config, proxy, connector) = tls_proxy_for(backend.addr, &["http/1.0"]);
    let got = tls_exchange(
        proxy.addr(),
        &connector,
        b"GET /old HTTP/1.0\r\nhost: a\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.ends_with("\r\n\r\nok\n"), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_is_routed_and_sent_upstream_without_its_dot_segments() {
    let mut backend = ScriptedBackend::start(script).await;
    // The pool of /static has nothing behind it: a request routed there fails.
    let dead = refused_port();
    let config = config_file(&format!(
        "[server]\nthreads = 1\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[route]]\npath_prefix = \"/static\"\npool = \"static\"\n\n\
         [[route]]\npool = \"p\"\n\n\
         [pool.static]\nbackends = [\"{dead}\"]\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        backend.addr
    ));
    let proxy = proxy(&config, 1);
    for (sent, seen) in [
        ("/static/../after?q=1", "/after?q=1"),
        ("/static/%2e%2e/x/./y", "/x/y"),
    ] {
        let request = format!("GET {sent} HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n");
        let got = exchange(proxy.addr(), request.as_bytes()).await;
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{sent}: {got}");
        let upstream = backend.next_request().await;
        assert!(
            upstream.starts_with(&format!("GET {seen} HTTP/1.1\r\n")),
            "{sent}: {upstream}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absolute_form_target_goes_upstream_in_origin_form_and_codings_are_refused() {
    let mut backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(
        proxy.addr(),
        b"GET http://api.example.com/items?page=2 HTTP/1.1\r\nhost: api.example.com\r\n\
          connection: close\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    let upstream = backend.next_request().await;
    assert!(
        upstream.starts_with("GET /items?page=2 HTTP/1.1\r\n"),
        "{upstream}"
    );
    assert!(
        upstream
            .to_ascii_lowercase()
            .contains("host: api.example.com\r\n"),
        "{upstream}"
    );
    // No path, but a query: "/?q" upstream.
    let got = exchange(
        proxy.addr(),
        b"GET http://api.example.com?q=1 HTTP/1.1\r\nhost: api.example.com\r\n\
          connection: close\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    let upstream = backend.next_request().await;
    assert!(upstream.starts_with("GET /?q=1 HTTP/1.1\r\n"), "{upstream}");
    // A coding the proxy would drop on the way is refused, not mangled.
    let got = exchange(
        proxy.addr(),
        b"POST /upload HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip, chunked\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 501 "), "{got}");
    assert_eq!(
        backend.accepted(),
        1,
        "the refused upload never reached the backend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_backend_failed_the_answer_says_how_the_last_one_did() {
    let dead = refused_port();
    let (_config, proxy) = proxy_for(dead);
    let expected = format!("tidegate: pool \"p\" failed at backend {dead} (ConnectRefused");
    // The own path, and Pingora's (a chunked upload goes there).
    for request in [
        &b"GET /a HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n"[..],
        b"POST /b HTTP/1.1\r\nhost: a\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n\
          1\r\nx\r\n0\r\n\r\n",
    ] {
        let got = exchange(proxy.addr(), request).await;
        assert!(got.starts_with("HTTP/1.1 502 "), "{got}");
        assert!(got.contains(&expected), "{got}");
    }
}

/// A GET of `path` with `fields` header fields of 1,000 bytes each, asking to close.
fn large_head(path: &str, fields: usize) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: a\r\n").into_bytes();
    for i in 0..fields {
        request.extend_from_slice(format!("x-field-{i}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    request.extend_from_slice(b"connection: close\r\n\r\n");
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_64_kib_is_refused_with_431() {
    let backend = ScriptedBackend::start(script).await;
    let (_config, proxy) = proxy_for(backend.addr);
    let got = exchange(proxy.addr(), &large_head("/big", 80)).await;
    let start = &got[..got.len().min(200)];
    assert!(got.starts_with("HTTP/1.1 431 "), "{start}");
    assert_eq!(backend.accepted(), 0, "nothing went upstream");
    // 40 KiB still passes.
    let got = exchange(proxy.addr(), &large_head("/fine", 40)).await;
    let start = &got[..got.len().min(200)];
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{start}");
}
