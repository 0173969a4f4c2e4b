//! What an operator puts in front of real traffic needs: nothing a client sends
//! is lost when a backend dies, hangs or fails, and TLS, HTTP/2 and WebSocket
//! (in plain text and over TLS) pass through. Real binary, real backends, all on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tidegate_tests::{
    backend, backend_with, certificate, client, config_file, failures, get, load, load_counting,
    proxy, refused_port, regional_backend_list, served_by, tls_client, tls_connect, Process,
    TestCertificate,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Waits until `counter` reaches `target`.
async fn reach(counter: &AtomicUsize, target: usize) {
    while counter.load(Ordering::Relaxed) < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_backend_under_load_loses_no_request() {
    let survivors = [backend(30, None), backend(30, None)];
    let victim = backend(30, None);
    let victim_addr = victim.addr();
    let interval = Duration::from_millis(500);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"least_conn\"\n\
         backends = [\"{}\", \"{}\", \"{victim_addr}\"]\n\
         health = {{ path = \"/healthz\", interval = \"500ms\", timeout = \"200ms\", healthy_threshold = 2, unhealthy_threshold = 2 }}\n\
         outlier = {{ consecutive_failures = 3, base_ejection = \"30s\" }}\n\
         retry = {{ attempts = 2, budget_percent = 50 }}\n",
        survivors[0].addr(),
        survivors[1].addr(),
    ));
    let proxy = proxy(&config, 1);
    let addr = proxy.addr();
    let start = Instant::now();
    proxy
        .wait_for_log(
            &["health check passing", &victim_addr.to_string()],
            start - Duration::from_secs(60),
            Duration::from_secs(5),
        )
        .expect("the victim passes its first check");

    let done = Arc::new(AtomicUsize::new(0));
    let running = tokio::spawn(load_counting(addr, "/", &[], 4_000, 32, Arc::clone(&done)));
    reach(&done, 800).await;
    let killed_at = Instant::now();
    drop(victim);
    let ejected_at = proxy
        .wait_for_log(
            &["backend ejected", &victim_addr.to_string()],
            killed_at,
            Duration::from_secs(5),
        )
        .expect("the dead backend is ejected");
    let out_after = ejected_at - killed_at;
    println!("dead backend out of rotation {out_after:?} after it was killed");
    assert!(
        out_after < Duration::from_secs(1),
        "ejected after {out_after:?}"
    );

    proxy
        .wait_for_log(
            &["health check failing", &victim_addr.to_string()],
            killed_at,
            Duration::from_secs(5),
        )
        .expect("active checks see it down");
    let restarted = backend_with(victim_addr.port(), 30, None, &[]);
    let restarted_at = Instant::now();
    let back_at = proxy
        .wait_for_log(
            &["health check passing", &victim_addr.to_string()],
            restarted_at,
            Duration::from_secs(5),
        )
        .expect("the restarted backend comes back");
    let back_after = back_at - restarted_at;
    println!("restarted backend back in rotation {back_after:?} after it restarted");
    assert!(
        back_after <= interval * 2 + Duration::from_millis(50),
        "back after {back_after:?}"
    );

    let answers = running.await.unwrap();
    assert_eq!(answers.len(), 4_000);
    let failed = failures(&answers);
    println!("failed client requests: {}", failed.len());
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );

    let after = load(addr, "/", &[], 300, 8).await;
    assert!(failures(&after).is_empty());
    assert!(
        served_by(&after, restarted.addr().port()) > 0,
        "the restarted backend takes traffic again"
    );
}

/// A backend that accepts connections and never answers.
async fn silent_backend() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_never_answers_gets_504_then_is_avoided() {
    let silent = silent_backend().await;
    let good = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"round_robin\"\n\
         backends = [\"{silent}\", \"{}\"]\n\
         timeout = {{ connect = \"1s\", read = \"500ms\" }}\n\
         outlier = {{ consecutive_failures = 1, base_ejection = \"30s\" }}\n",
        good.addr()
    ));
    let proxy = proxy(&config, 1);
    let client = client();
    let mut timed_out = None;
    for _ in 0..4 {
        let started = Instant::now();
        let answer = get(&client, proxy.addr(), "/", &[]).await.unwrap();
        if answer.status == 504 {
            timed_out = Some((started.elapsed(), answer.body));
            break;
        }
        assert_eq!(answer.status, 200);
    }
    let (waited, body) = timed_out.expect("a request reached the silent backend");
    println!("504 after {waited:?}: {}", body.trim());
    assert!(waited >= Duration::from_millis(500) && waited < Duration::from_secs(3));
    assert!(body.contains("pool \"p\""), "{body}");
    let after = load(proxy.addr(), "/", &[], 40, 4).await;
    assert!(failures(&after).is_empty(), "{:?}", failures(&after));
    assert_eq!(served_by(&after, good.addr().port()), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_502_503_504_are_retried_for_idempotent_requests_only() {
    let flaky = backend_with(0, 0, None, &["--fail-rate", "1", "--fail-status", "503"]);
    let good = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"round_robin\"\n\
         backends = [\"{}\", \"{}\"]\nretry = {{ attempts = 1, budget_percent = 100 }}\n",
        flaky.addr(),
        good.addr()
    ));
    let proxy = proxy(&config, 1);
    let gets = load(proxy.addr(), "/", &[], 60, 2).await;
    assert!(failures(&gets).is_empty(), "{:?}", failures(&gets));
    assert_eq!(served_by(&gets, good.addr().port()), 60);

    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let request = http::Request::post(format!("http://{}/", proxy.addr()))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"x")))
            .unwrap();
        statuses.push(client.request(request).await.unwrap().status().as_u16());
    }
    assert!(
        statuses.contains(&503),
        "a POST is never retried: {statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
}

fn regional_config(eu: &[&Process], us: &[&Process]) -> tidegate_tests::ConfigFile {
    config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"region_affinity\"\n\
         within = \"least_conn\"\nfallback = [\"eu-west\", \"us-east\"]\n\
         backends = [{}]\n\
         health = {{ path = \"/healthz\", interval = \"300ms\", timeout = \"200ms\" }}\n\
         outlier = {{ consecutive_failures = 2, base_ejection = \"30s\", max_ejection_percent = 50 }}\n\
         retry = {{ attempts = 2, budget_percent = 20 }}\n",
        regional_backend_list(eu, us)
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_whose_backends_all_die_is_served_by_the_fallback() {
    let eu = [backend(1, Some("eu-west")), backend(1, Some("eu-west"))];
    let us = [backend(1, Some("us-east")), backend(1, Some("us-east"))];
    let config = regional_config(&[&eu[0], &eu[1]], &[&us[0], &us[1]]);
    let proxy = proxy(&config, 1);
    let header = [("x-tidegate-region", "eu-west")];
    let before = load(proxy.addr(), "/", &header, 100, 4).await;
    assert!(failures(&before).is_empty());
    assert_eq!(
        served_by(&before, eu[0].addr().port()) + served_by(&before, eu[1].addr().port()),
        100
    );

    drop(eu);
    // Two requests in flight never need more than the three retries always allowed.
    let while_detecting = load(proxy.addr(), "/", &header, 200, 2).await;
    let failed = failures(&while_detecting);
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );
    let after = load(proxy.addr(), "/", &header, 400, 16).await;
    assert!(
        failures(&after).is_empty(),
        "{:?}",
        failures(&after).first()
    );
    let in_us = served_by(&after, us[0].addr().port()) + served_by(&after, us[1].addr().port());
    assert_eq!(in_us, 400, "every eu-west request is served in us-east");
}

fn curl(args: &[&str]) -> String {
    let output = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "10",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .args(args)
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_sni_and_http2_over_tls_and_h2c() {
    let b = backend(0, None);
    let dir = tempfile::tempdir().unwrap();
    let TestCertificate {
        cert: a_cert,
        key: a_key,
        ..
    } = certificate(dir.path(), "a", &["a.test", "localhost"]);
    let TestCertificate {
        cert: b_cert,
        key: b_key,
        ..
    } = certificate(dir.path(), "b", &["b.test"]);
    let config = config_file(&format!(
        "[[listener]]\nname = \"tls\"\naddress = \"127.0.0.1:0\"\n\
         tls = {{ certs = [{{ cert = \"{}\", key = \"{}\" }}, {{ cert = \"{}\", key = \"{}\" }}] }}\n\n\
         [[listener]]\nname = \"plain\"\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        a_cert.display(),
        a_key.display(),
        b_cert.display(),
        b_key.display(),
        b.addr()
    ));
    let proxy = proxy(&config, 2);
    let (tls, plain) = (proxy.addresses[0], proxy.addresses[1]);
    assert!(proxy.banner[0].contains("https://"), "{:?}", proxy.banner);
    let port = tls.port();
    let a_url = format!("https://a.test:{port}/");
    let b_url = format!("https://b.test:{port}/");
    let a_resolve = format!("a.test:{port}:127.0.0.1");
    let b_resolve = format!("b.test:{port}:127.0.0.1");
    let (a_ca, b_ca) = (
        a_cert.to_str().unwrap().to_string(),
        b_cert.to_str().unwrap().to_string(),
    );
    let outcomes = tokio::task::spawn_blocking(move || {
        [
            curl(&[
                "--http2",
                "--cacert",
                &a_ca,
                "--resolve",
                &a_resolve,
                &a_url,
            ]),
            curl(&[
                "--http2",
                "--cacert",
                &b_ca,
                "--resolve",
                &b_resolve,
                &b_url,
            ]),
            curl(&[
                "--http1.1",
                "--cacert",
                &a_ca,
                "--resolve",
                &a_resolve,
                &a_url,
            ]),
            curl(&["--http2-prior-knowledge", &format!("http://{plain}/")]),
        ]
    })
    .await
    .unwrap();
    assert_eq!(
        outcomes[0], "2 200",
        "HTTP/2 over TLS with a.test's certificate"
    );
    assert_eq!(outcomes[1], "2 200", "SNI b.test gets b.test's certificate");
    assert_eq!(outcomes[2], "1.1 200", "HTTP/1.1 over TLS");
    assert_eq!(outcomes[3], "2 200", "h2c with prior knowledge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_tls_verifies_certificates_unless_told_not_to() {
    let b = backend(0, None);
    let dir = tempfile::tempdir().unwrap();
    let TestCertificate { cert, key, .. } = certificate(dir.path(), "upstream", &["localhost"]);
    let tls_front = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        cert.display(),
        key.display(),
        b.addr()
    ));
    let tls_backend = proxy(&tls_front, 1);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [[route]]\npath_prefix = \"/\"\npool = \"trusting\"\n\n\
         [[route]]\npath_prefix = \"/strict\"\npool = \"strict\"\n\n\
         [pool.trusting]\ntls = true\ntls_verify = false\nbackends = [\"{0}\"]\n{1}\n\
         [pool.strict]\ntls = true\nsni = \"localhost\"\nbackends = [\"{0}\"]\n{1}\n",
        tls_backend.addr(),
        // Probes speak TLS like requests: a backend takes traffic only once one passes.
        "health = { path = \"/healthz\", interval = \"1s\" }",
    ));
    let started = Instant::now();
    let proxy = proxy(&config, 1);
    proxy
        .wait_for_log(
            &["health check passing", "trusting"],
            started,
            Duration::from_secs(5),
        )
        .expect("the trusting pool's probe passes over TLS");
    let client = client();
    let trusting = get(&client, proxy.addr(), "/", &[]).await.unwrap();
    assert_eq!(trusting.status, 200, "{}", trusting.body);
    assert!(trusting
        .body
        .starts_with(&format!("backend {} ", b.addr().port())));
    let strict = get(&client, proxy.addr(), "/strict", &[]).await.unwrap();
    assert_eq!(
        strict.status, 502,
        "a self-signed certificate is refused: {}",
        strict.body
    );
    assert_eq!(
        proxy.count_logs(&["health check passing", "strict"]),
        0,
        "the strict pool's probe refuses the self-signed certificate too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_round_trip_through_the_proxy() {
    let b = backend(0, None);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\nbackends = [\"{}\"]\n",
        b.addr()
    ));
    let proxy = proxy(&config, 1);
    let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{}/ws", proxy.addr()))
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    echoes_text_and_binary(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_round_trip_over_tls() {
    let b = backend(0, None);
    let dir = tempfile::tempdir().unwrap();
    let certificate = certificate(dir.path(), "localhost", &["localhost"]);
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n\
         [pool.p]\nbackends = [\"{}\"]\n",
        certificate.cert.display(),
        certificate.key.display(),
        b.addr()
    ));
    let proxy = proxy(&config, 1);
    // A WebSocket needs HTTP/1.1; its upgrade is handed from the own path to
    // Pingora's, with the TLS connection.
    let tls = tls_connect(&tls_client(&certificate, &["http/1.1"]), proxy.addr()).await;
    let (mut ws, response) = tokio_tungstenite::client_async("wss://localhost/ws", tls)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    echoes_text_and_binary(&mut ws).await;
}

/// Sends text and binary messages on `ws`, checks that each comes back, and
/// closes it.
async fn echoes_text_and_binary<S>(ws: &mut WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    for i in 0..20 {
        let text = format!("message {i}");
        ws.send(Message::text(text.clone())).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    ws.send(Message::binary(vec![0u8, 1, 2, 255]))
        .await
        .unwrap();
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_data().as_ref(), &[0u8, 1, 2, 255]);
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_refuses_connections_is_ejected_without_any_outlier_settings() {
    let live = backend(0, None);
    // A port nothing listens on: every connection to it is refused.
    let dead = refused_port();
    let config = config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"least_conn\"\nbackends = [\"{}\", \"{dead}\"]\n",
        live.addr()
    ));
    let proxy = proxy(&config, 1);
    let started = Instant::now();
    let first = load(proxy.addr(), "/", &[], 400, 20).await;
    let failed = failures(&first).len();
    assert!(
        failed < 20,
        "{failed} of 400 failed before the dead backend was ejected: {:?}",
        failures(&first).first()
    );
    proxy
        .wait_for_log(
            &["backend ejected", "connect failures"],
            started,
            Duration::from_secs(10),
        )
        .expect("the dead backend is ejected");
    let after = load(proxy.addr(), "/", &[], 400, 20).await;
    assert!(
        failures(&after).is_empty(),
        "{:?}",
        failures(&after).first()
    );
}
