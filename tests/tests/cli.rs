//! `tidegate check` and `tidegate demo` as a user runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use tidegate_tests::{client, config_file, get, run_to_end, spawn};

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conf/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn check_accepts_every_example() {
    let files = examples();
    assert!(files.len() >= 3, "conf/examples has the examples");
    for file in files {
        let (code, stdout, stderr) = run_to_end(&["check", "-c", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {stderr}", file.display());
        assert!(stdout.contains(": ok"), "{stdout}");
    }
}

/// Runs `check` on `text`; returns stderr after asserting exit 1 and the position.
fn rejected(text: &str, line: usize, col: usize) -> String {
    let file = config_file(text);
    let path = file.path.to_str().unwrap();
    let (code, _, stderr) = run_to_end(&["check", "-c", path]);
    assert_eq!(code, 1, "expected a rejection of:\n{text}\ngot: {stderr}");
    let position = format!("{path}:{line}:{col}: ");
    assert!(
        stderr.starts_with(&position),
        "expected {position} in: {stderr}"
    );
    assert!(stderr.contains("hint: "), "a hint in: {stderr}");
    stderr
}

const LISTENER: &str = "[[listener]]\naddress = \"127.0.0.1:8080\"\n";

#[test]
fn check_rejects_bad_configs_with_file_line_and_column() {
    let unknown_key =
        format!("{LISTENER}[pool.p]\npolcy = \"least_conn\"\nbackends = [\"127.0.0.1:9001\"]\n");
    assert!(rejected(&unknown_key, 4, 1).contains("polcy"));

    let bad_duration = format!(
        "[server]\ngrace_period = \"soon\"\n{LISTENER}[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n"
    );
    rejected(&bad_duration, 2, 16);

    let bad_address = format!("{LISTENER}[pool.p]\nbackends = [\"localhost\"]\n");
    rejected(&bad_address, 4, 13);

    let bad_policy =
        format!("{LISTENER}[pool.p]\npolicy = \"fastest\"\nbackends = [\"127.0.0.1:9001\"]\n");
    assert!(rejected(&bad_policy, 4, 10).contains("fastest"));

    let missing_pool = format!(
        "{LISTENER}[[route]]\npool = \"nope\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n"
    );
    assert!(rejected(&missing_pool, 4, 8).contains("nope"));

    let duplicate_listener =
        format!("{LISTENER}{LISTENER}[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n");
    rejected(&duplicate_listener, 4, 11);

    let no_backends = format!("{LISTENER}[pool.empty]\npolicy = \"least_conn\"\n");
    assert!(rejected(&no_backends, 3, 7).contains("empty"));
}

#[test]
fn check_reports_an_unreadable_file() {
    let (code, _, stderr) = run_to_end(&["check", "-c", "/nonexistent/tidegate.toml"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("/nonexistent/tidegate.toml"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_both_regions() {
    let demo = spawn(
        &["demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
        "proxy ",
        1,
    );
    let client = client();
    let home = get(&client, demo.addr(), "/", &[]).await.unwrap();
    assert_eq!(home.status, 200);
    assert!(home.body.contains("region eu-west"), "{}", home.body);
    let us = get(
        &client,
        demo.addr(),
        "/",
        &[("x-tidegate-region", "us-east")],
    )
    .await
    .unwrap();
    assert!(us.body.contains("region us-east"), "{}", us.body);
    assert!(
        demo.wait_for_line("curl", Duration::from_secs(5)).is_some(),
        "the banner says what to try"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_scaled_backends_exit_when_the_demo_is_killed() {
    let demo = spawn(
        &["demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
        "admin ",
        1,
    );
    let admin = demo.addr();
    let client = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let scaled: Vec<std::net::SocketAddr> = loop {
        let pool = get(&client, admin, "/api/v1/pools/agents", &[])
            .await
            .unwrap();
        let addresses: Vec<_> = pool
            .body
            .split("\"address\":\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect();
        if addresses.len() >= 2 {
            break addresses;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scaler started no backends: {}",
            pool.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for addr in &scaled {
        tokio::net::TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("{addr} is not up: {e}"));
    }
    // SIGKILL: the demo cannot stop its children itself.
    drop(demo);
    for addr in scaled {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "{addr} still runs 5 s after the demo was killed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[test]
fn a_backend_whose_launcher_is_already_gone_exits_with_it() {
    // The launcher named in TIDEGATE_PARENT_PID is not this backend's parent:
    // it died before the backend could look, and the backend must not wait
    // for a parent change that already happened.
    let mut child = std::process::Command::new(tidegate_tests::tidegate_bin())
        .args(["backend", "--port", "0", "--exit-with-parent"])
        .env("TIDEGATE_PARENT_PID", "999999999")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the backend outlived its launcher by 10 s");
}
