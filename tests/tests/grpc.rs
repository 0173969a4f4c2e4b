//! Pools with `protocol = "h2"`: gRPC passes through with its trailers (the
//! status of every call) from clients on h2c and on TLS with ALPN h2, to a real
//! gRPC server (tonic's Health service); and an HTTP/1.1 client is still served
//! by such a pool. Real binary, real peers, all on 127.0.0.1 with port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tidegate_tests::{client, config_file, proxy, send};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus as Status;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::HealthReporter;

/// How long one gRPC call may take before the test fails instead of hanging.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A tonic server with the standard gRPC Health service on a free port; it
/// reports the server ("") as SERVING and knows no other service.
async fn grpc_peer() -> (SocketAddr, HealthReporter) {
    let (reporter, service) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (addr, reporter)
}

/// A listener table on a free port, with TLS when `cert` and `key` are given.
fn listener(tls: Option<(&std::path::Path, &std::path::Path)>) -> String {
    let tls = tls.map_or(String::new(), |(cert, key)| {
        format!(
            "tls = {{ cert = \"{}\", key = \"{}\" }}\n",
            cert.display(),
            key.display()
        )
    });
    format!("[[listener]]\naddress = \"127.0.0.1:0\"\n{tls}\n")
}

fn health(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_string(),
    }
}

/// The three kinds of call a gRPC client makes, through `channel`:
/// a unary call that succeeds, one that fails with a status, and a server stream
/// whose messages arrive while it stays open.
async fn calls_pass_with_their_status(channel: Channel, reporter: &HealthReporter) {
    let mut health_client = HealthClient::new(channel);

    let ok = tokio::time::timeout(CALL_TIMEOUT, health_client.check(health("")))
        .await
        .expect("Check answered in time")
        .expect("Check succeeds");
    assert_eq!(ok.get_ref().status(), Status::Serving);
    // tonic folds the trailers into the response metadata: grpc-status 0 came in them.
    assert_eq!(
        ok.metadata()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap()),
        Some("0"),
        "{:?}",
        ok.metadata()
    );

    let failed = tokio::time::timeout(CALL_TIMEOUT, health_client.check(health("no.such.Service")))
        .await
        .expect("Check answered in time")
        .expect_err("an unknown service is an error");
    assert_eq!(failed.code(), Code::NotFound, "{failed:?}");
    assert_eq!(failed.message(), "service not registered");

    let mut watch = tokio::time::timeout(CALL_TIMEOUT, health_client.watch(health("")))
        .await
        .expect("Watch answered in time")
        .expect("Watch starts")
        .into_inner();
    let first = tokio::time::timeout(CALL_TIMEOUT, watch.message())
        .await
        .expect("a first message in time")
        .expect("no error")
        .expect("the stream is open");
    assert_eq!(first.status(), Status::Serving);
    reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    let second = tokio::time::timeout(CALL_TIMEOUT, watch.message())
        .await
        .expect("the change arrives while the stream is open")
        .expect("no error")
        .expect("the stream is open");
    assert_eq!(second.status(), Status::NotServing);
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_h2c_passes_statuses_in_trailers_and_streams() {
    let (peer, reporter) = grpc_peer().await;
    let config = config_file(&format!(
        "{}[pool.grpc]\nprotocol = \"h2\"\nbackends = [\"{peer}\"]\n",
        listener(None)
    ));
    let proxy = proxy(&config, 1);
    let channel = Endpoint::from_shared(format!("http://{}", proxy.addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    calls_pass_with_their_status(channel, &reporter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_tls_with_alpn_h2_both_ways_passes_statuses_and_streams() {
    let (peer, reporter) = grpc_peer().await;
    let dir = tempfile::tempdir().unwrap();
    let tidegate_tests::TestCertificate { cert, key, .. } =
        tidegate_tests::certificate(dir.path(), "localhost", &["localhost"]);
    // The backend the proxy under test reaches over TLS: a second Tidegate that
    // terminates TLS (ALPN h2) in front of the gRPC server.
    let tls_front = config_file(&format!(
        "{}[pool.grpc]\nprotocol = \"h2\"\nbackends = [\"{peer}\"]\n",
        listener(Some((&cert, &key)))
    ));
    let tls_backend = proxy(&tls_front, 1);
    let config = config_file(&format!(
        "{}[pool.grpc]\nprotocol = \"h2\"\ntls = true\ntls_verify = false\nbackends = [\"{}\"]\n",
        listener(Some((&cert, &key))),
        tls_backend.addr()
    ));
    let proxy = proxy(&config, 1);
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&cert).unwrap()))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://{}", proxy.addr()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    calls_pass_with_their_status(channel, &reporter).await;
}

/// A backend that speaks only HTTP/2 (prior knowledge) and answers with the
/// version, method and path it saw and the body it was sent.
async fn h2_only_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: http::Request<Incoming>| async {
                    let head = format!("{:?} {} {}", req.version(), req.method(), req.uri().path());
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    let answer = format!("{head} {}", String::from_utf8_lossy(&body));
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(answer))))
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_client_is_served_by_an_h2_pool() {
    let backend = h2_only_backend().await;
    // The same HTTP/2-only backend twice: once in an h2 pool, once in a pool that
    // keeps the default (HTTP/1.1), which it cannot answer.
    let config = config_file(&format!(
        "{}[[route]]\npath_prefix = \"/\"\npool = \"h2\"\n\n\
         [[route]]\npath_prefix = \"/default\"\npool = \"default\"\n\n\
         [pool.h2]\nprotocol = \"h2\"\nbackends = [\"{backend}\"]\n\n\
         [pool.default]\nbackends = [\"{backend}\"]\n",
        listener(None)
    ));
    let proxy = proxy(&config, 1);
    let client = client();
    for _ in 0..3 {
        let get = send(&client, http::Method::GET, proxy.addr(), "/hello", &[], "")
            .await
            .unwrap();
        assert_eq!(get.status, 200, "{}", get.body);
        assert_eq!(get.body, "HTTP/2.0 GET /hello ");
        let post = send(
            &client,
            http::Method::POST,
            proxy.addr(),
            "/echo",
            &[],
            "ping",
        )
        .await
        .unwrap();
        assert_eq!(post.status, 200, "{}", post.body);
        assert_eq!(post.body, "HTTP/2.0 POST /echo ping");
    }
    let default = send(
        &client,
        http::Method::GET,
        proxy.addr(),
        "/default",
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(default.status, 502, "{}", default.body);
    assert!(
        default.body.contains("pool \"default\""),
        "{}",
        default.body
    );
}
