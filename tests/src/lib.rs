//! Harness for Tidegate's end-to-end tests.
//!
//! Starts the real `tidegate` binary and real `tidegate backend` processes on
//! 127.0.0.1 with port 0, waits for each to announce its address on stdout (no
//! sleeps, no fixed ports), kills them when dropped, and drives HTTP load with a
//! keep-alive client at a bounded concurrency.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// How long a process may take to announce that it is listening.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// The `tidegate` binary under test: `$TIDEGATE_BIN`, else the one cargo built
/// next to this test executable.
pub fn tidegate_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("TIDEGATE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let bin = dir.join("tidegate");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p tidegate` first (make test does)",
        bin.display()
    );
    bin
}

/// A child process killed when dropped, with the lines it printed.
#[derive(Debug)]
pub struct Process {
    child: Child,
    /// Where it listens, from its announcement.
    pub addresses: Vec<SocketAddr>,
    /// Every line it printed on stdout up to readiness.
    pub banner: Vec<String>,
    later: mpsc::Receiver<String>,
    logs: Arc<Logs>,
}

/// Lines a process wrote to stderr, with when they arrived.
#[derive(Debug, Default)]
struct Logs {
    lines: Mutex<Vec<(Instant, String)>>,
    grew: Condvar,
}

impl Process {
    /// Sends SIGTERM without waiting.
    pub fn send_sigterm(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("send SIGTERM");
    }

    /// Waits for the process to exit.
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait")
    }

    /// Waits up to `within` for a later stdout line containing `needle`.
    pub fn wait_for_line(&self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        if let Some(line) = self.banner.iter().find(|l| l.contains(needle)) {
            return Some(line.clone());
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.later.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// Waits up to `within` for a stderr line that arrived after `after` and
    /// contains every one of `needles`; returns when it arrived.
    pub fn wait_for_log(
        &self,
        needles: &[&str],
        after: Instant,
        within: Duration,
    ) -> Option<Instant> {
        let deadline = Instant::now() + within;
        let mut lines = self.logs.lines.lock().expect("logs");
        loop {
            if let Some((at, _)) = lines
                .iter()
                .find(|(at, line)| *at >= after && needles.iter().all(|n| line.contains(n)))
            {
                return Some(*at);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            lines = self.logs.grew.wait_timeout(lines, left).expect("logs").0;
        }
    }

    /// How many stderr lines so far contain every one of `needles`.
    pub fn count_logs(&self, needles: &[&str]) -> usize {
        let lines = self.logs.lines.lock().expect("logs");
        lines
            .iter()
            .filter(|(_, line)| needles.iter().all(|n| line.contains(n)))
            .count()
    }

    /// The first announced address.
    pub fn addr(&self) -> SocketAddr {
        self.addresses[0]
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tidegate ARGS` and waits until it has printed `expected` addresses
/// (`http://ADDR` on lines containing `marker`).
pub fn spawn(args: &[&str], marker: &str, expected: usize) -> Process {
    let mut child = Command::new(tidegate_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tidegate");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let logs = Arc::new(Logs::default());
    let sink = Arc::clone(&logs);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            sink.lines
                .lock()
                .expect("logs")
                .push((Instant::now(), line));
            sink.grew.notify_all();
        }
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (later_tx, later) = mpsc::channel();
    let mut process = Process {
        child,
        addresses: Vec::new(),
        banner: Vec::new(),
        later,
        logs,
    };
    while process.addresses.len() < expected {
        let line = rx
            .recv_timeout(READY_TIMEOUT)
            .unwrap_or_else(|_| panic!("tidegate {args:?} did not announce {marker:?} in time"));
        if line.contains(marker) {
            if let Some(addr) = line
                .split("://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|a| a.parse().ok())
            {
                process.addresses.push(addr);
            }
        }
        process.banner.push(line);
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        while let Ok(line) = rx.recv() {
            let _ = later_tx.send(line);
        }
    });
    process
}

/// Starts `tidegate backend` on a free port.
pub fn backend(latency_ms: u64, region: Option<&str>) -> Process {
    backend_with(0, latency_ms, region, &[])
}

/// Starts `tidegate backend` on `port` (0: a free one) with extra arguments.
pub fn backend_with(port: u16, latency_ms: u64, region: Option<&str>, extra: &[&str]) -> Process {
    let latency = format!("{latency_ms}ms");
    let port = port.to_string();
    let mut args = vec!["backend", "--port", &port, "--latency", &latency];
    if let Some(region) = region {
        args.extend(["--region", region]);
    }
    args.extend(extra);
    spawn(&args, "backend listening", 1)
}

/// A configuration file that lives as long as the value.
#[derive(Debug)]
pub struct ConfigFile {
    _dir: tempfile::TempDir,
    /// The file's path.
    pub path: PathBuf,
}

/// Writes `text` to a fresh `tidegate.toml`.
pub fn config_file(text: &str) -> ConfigFile {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tidegate.toml");
    std::fs::write(&path, text).expect("write config");
    ConfigFile { _dir: dir, path }
}

/// Starts `tidegate run` on `config` (listeners should use port 0).
pub fn proxy(config: &ConfigFile, listeners: usize) -> Process {
    let path = config.path.to_str().expect("utf-8 path");
    spawn(&["run", "-c", path], "tidegate: listener", listeners)
}

/// An address on 127.0.0.1 that nothing listens on: connections to it are refused.
pub fn refused_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// `"127.0.0.1:A", "127.0.0.1:B"` for a TOML array of backends.
pub fn backend_list(backends: &[&Process]) -> String {
    backends
        .iter()
        .map(|b| format!("\"{}\"", b.addr()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The inline tables of a TOML array of backends, those of `eu` in region `eu-west`
/// and those of `us` in `us-east`.
pub fn regional_backend_list(eu: &[&Process], us: &[&Process]) -> String {
    let tagged = |backends: &[&Process], region: &'static str| {
        backends
            .iter()
            .map(move |b| format!("{{ address = \"{}\", region = \"{region}\" }}", b.addr()))
            .collect::<Vec<_>>()
    };
    [tagged(eu, "eu-west"), tagged(us, "us-east")]
        .concat()
        .join(", ")
}

/// One answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body as text.
    pub body: String,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

/// A keep-alive HTTP/1.1 client.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http()
}

/// GET `http://addr{path}` with extra headers.
pub async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let reply = send(client, http::Method::GET, addr, path, headers, "").await?;
    let retry_after = reply
        .headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(Answer {
        status: reply.status,
        body: reply.body,
        retry_after,
    })
}

/// Sends `total` GETs with at most `concurrency` in flight; answers in order of completion.
pub async fn load(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    total: usize,
    concurrency: usize,
) -> Vec<Result<Answer, String>> {
    let progress = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    load_counting(addr, path, headers, total, concurrency, progress).await
}

/// [`load`], counting finished requests in `done` as it goes.
pub async fn load_counting(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    total: usize,
    concurrency: usize,
    done: Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<Result<Answer, String>> {
    let client = client();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let headers: Arc<Vec<(String, String)>> = Arc::new(
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let next = Arc::clone(&next);
        let headers = Arc::clone(&headers);
        let path = path.to_string();
        let done = Arc::clone(&done);
        tasks.spawn(async move {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let mut answers = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                answers.push(get(&client, addr, &path, &headers).await);
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            answers
        });
    }
    let mut all = Vec::with_capacity(total);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("load task"));
    }
    all
}

/// The answers that are not `200`, with what they were.
pub fn failures(answers: &[Result<Answer, String>]) -> Vec<String> {
    answers
        .iter()
        .filter_map(|a| match a {
            Ok(a) if a.status == StatusCode::OK => None,
            Ok(a) => Some(format!("{} {}", a.status, a.body.trim())),
            Err(e) => Some(e.clone()),
        })
        .collect()
}

/// How many answers came from the backend on `port` (its body names the port).
pub fn served_by(answers: &[Result<Answer, String>], port: u16) -> usize {
    let needle = format!("backend {port} ");
    answers
        .iter()
        .filter(|a| a.as_ref().is_ok_and(|a| a.body.starts_with(&needle)))
        .count()
}

/// Runs `tidegate ARGS` to completion: exit code, stdout, stderr.
pub fn run_to_end(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(tidegate_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tidegate");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts `tidegate run` on `config`, which has an `[admin]` table; waits for its
/// `listeners` and the admin API (see [`Process::admin_addr`]).
pub fn proxy_with_admin(config: &ConfigFile, listeners: usize) -> Process {
    let path = config.path.to_str().expect("utf-8 path");
    spawn(&["run", "-c", path], "tidegate: ", listeners + 1)
}

impl Process {
    /// The admin API's address, from its `tidegate: admin on http://ADDR` line.
    pub fn admin_addr(&self) -> SocketAddr {
        self.banner
            .iter()
            .find(|line| line.contains("tidegate: admin on "))
            .and_then(|line| line.split("://").nth(1))
            .and_then(|addr| addr.trim().parse().ok())
            .expect("the process announced its admin API")
    }
}

/// One answer with its headers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: http::HeaderMap,
    /// The body as text.
    pub body: String,
}

/// Sends `method` `http://addr{path}` with extra headers and `body`.
pub async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    method: http::Method,
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, String> {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A self-signed certificate written as PEM files, and its DER form for clients.
#[derive(Debug)]
pub struct TestCertificate {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: rustls::pki_types::CertificateDer<'static>,
}

/// A self-signed certificate for `names`, written as `STEM-cert.pem` and
/// `STEM-key.pem` in `dir`.
pub fn certificate(dir: &Path, stem: &str, names: &[&str]) -> TestCertificate {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let generated = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = dir.join(format!("{stem}-cert.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    TestCertificate {
        cert,
        key,
        der: generated.cert.der().clone(),
    }
}

/// A TLS client (rustls) that trusts `trusted` alone and offers `alpn`.
pub fn tls_client(trusted: &TestCertificate, alpn: &[&str]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A TLS connection to `addr`, asking for the name `localhost`.
pub async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}
