//! The proxy's own answers and headers: 502 naming the pool, 404, 503 with
//! Retry-After, X-Forwarded-*, h2c, and a graceful SIGTERM.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tidegate_tests::{backend, client, config_file, get, load, proxy, refused_port};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_whose_backends_are_all_down_answers_502_naming_the_pool() {
    // Nothing listens on ports 1 and 2, and no test binds them.
    let list = "\"127.0.0.1:1\", \"127.0.0.1:2\"";
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.payments]\nbackends = [{list}]\n"
    ));
    let proxy = proxy(&config, 1);
    let answer = get(&client(), proxy.addr(), "/", &[]).await.unwrap();
    assert_eq!(answer.status, 502);
    assert!(
        answer.body.contains("pool \"payments\""),
        "body: {}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_is_skipped_by_retrying_the_connect_elsewhere() {
    let alive = backend(0, None);
    let list = format!("\"{}\", \"127.0.0.1:1\"", alive.addr());
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"round_robin\"\nbackends = [{list}]\n"
    ));
    let proxy = proxy(&config, 1);
    // Three clients: the retry budget always allows three concurrent retries, so
    // even when every request in flight first meets the dead backend, each is retried.
    let answers = load(proxy.addr(), "/", &[], 50, 3).await;
    assert!(answers
        .iter()
        .all(|a| a.as_ref().is_ok_and(|a| a.status == 200)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrouted_requests_get_404_and_routes_match_host_then_longest_prefix() {
    let api = backend(0, None);
    let agents = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[route]]\nhost = \"api.example.com\"\npool = \"api\"\n\n\
         [[route]]\nhost = \"api.example.com\"\npath_prefix = \"/agents\"\npool = \"agents\"\n\n\
         [pool.api]\nbackends = [\"{}\"]\n\n[pool.agents]\nbackends = [\"{}\"]\n",
        api.addr(),
        agents.addr()
    ));
    let proxy = proxy(&config, 1);
    let client = client();
    let host = [("host", "api.example.com")];
    let root = get(&client, proxy.addr(), "/v1", &host).await.unwrap();
    assert!(root
        .body
        .starts_with(&format!("backend {} ", api.addr().port())));
    let agent = get(&client, proxy.addr(), "/agents/7", &host)
        .await
        .unwrap();
    assert!(agent
        .body
        .starts_with(&format!("backend {} ", agents.addr().port())));
    let other = get(&client, proxy.addr(), "/", &[("host", "other.example.org")])
        .await
        .unwrap();
    assert_eq!(other.status, 404);
    assert!(other.body.contains("no route"), "body: {}", other.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_reach_the_backend() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\nbackends = [\"{}\"]\n",
        b.addr()
    ));
    let proxy = proxy(&config, 1);
    let client = client();
    let plain = get(&client, proxy.addr(), "/headers", &[]).await.unwrap();
    assert!(
        plain.body.contains("x-forwarded-for: 127.0.0.1\n"),
        "{}",
        plain.body
    );
    assert!(
        plain.body.contains("x-forwarded-proto: http\n"),
        "{}",
        plain.body
    );
    let chained = get(
        &client,
        proxy.addr(),
        "/headers",
        &[("x-forwarded-for", "203.0.113.7")],
    )
    .await
    .unwrap();
    assert!(
        chained
            .body
            .contains("x-forwarded-for: 203.0.113.7, 127.0.0.1\n"),
        "{}",
        chained.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_with_prior_knowledge_is_served_over_http2() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\nbackends = [\"{}\"]\n",
        b.addr()
    ));
    let proxy = proxy(&config, 1);
    let h2: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    for _ in 0..20 {
        let request = http::Request::get(format!("http://{}/", proxy.addr()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = h2.request(request).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.starts_with(format!("backend {} ", b.addr().port()).as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxys_own_answers_to_head_over_http2_are_heads_alone() {
    // A pool with nothing behind it (502), and a path no route takes (404).
    let dead = refused_port();
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[route]]\npath_prefix = \"/down\"\npool = \"p\"\n\n\
         [pool.p]\nbackends = [\"{dead}\"]\n"
    ));
    let proxy = proxy(&config, 1);
    let h2: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    for (path, status) in [("/down/x", 502), ("/elsewhere", 404)] {
        let request = http::Request::head(format!("http://{}{path}", proxy.addr()))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = h2.request(request).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        let body = response.into_body().collect().await;
        assert!(
            body.is_ok_and(|b| b.to_bytes().is_empty()),
            "{path}: a clean, empty HEAD answer"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_in_flight_the_pool_answers_503_with_retry_after() {
    let slow = backend(400, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\nmax_in_flight = 2\nbackends = [\"{}\"]\n",
        slow.addr()
    ));
    let proxy = proxy(&config, 1);
    let answers = load(proxy.addr(), "/", &[], 6, 6).await;
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let rejected: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(ok >= 2, "the first two are admitted");
    assert!(!rejected.is_empty(), "the excess is refused");
    assert!(rejected
        .iter()
        .all(|a| a.retry_after.as_deref() == Some("1")));
    assert!(rejected[0].body.contains("pool \"p\""));
}

/// A backend the test controls: it signals when a request arrives and answers
/// only when told to.
async fn held_backend() -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Sender<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (arrived_tx, arrived_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "the proxy closed the connection early");
            request.extend_from_slice(&buf[..n]);
        }
        arrived_tx.send(()).unwrap();
        release_rx.await.unwrap();
        tcp.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nheld\n")
            .await
            .unwrap();
    });
    (addr, arrived_rx, release_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_then_exits() {
    let (backend_addr, arrived, release) = held_backend().await;
    let config = config_file(&format!(
        "[server]\ngrace_period = \"10s\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\nbackends = [\"{backend_addr}\"]\n"
    ));
    let proxy = proxy(&config, 1);
    let addr = proxy.addr();
    let in_flight = tokio::spawn(async move { get(&client(), addr, "/", &[]).await });
    arrived.await.unwrap();
    proxy.send_sigterm();
    release.send(()).unwrap();
    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "held\n");
    let status = tokio::task::spawn_blocking(move || proxy.wait())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_idle_connections_at_once() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "[server]\ngrace_period = \"30s\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        b.addr()
    ));
    let proxy = proxy(&config, 1);
    // A client that connected but never sent a request is idle as well.
    let silent = std::net::TcpStream::connect(proxy.addr()).unwrap();
    // The client keeps its connection open and idle after the answer.
    let client = client();
    for _ in 0..3 {
        let answer = get(&client, proxy.addr(), "/", &[]).await.unwrap();
        assert_eq!(answer.status, 200);
    }
    proxy.send_sigterm();
    let started = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || proxy.wait())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "an idle connection held shutdown for {:?}",
        started.elapsed()
    );
    drop((client, silent));
}
