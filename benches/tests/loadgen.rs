//! End to end: the load generator against a small keep-alive server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tidegate_bench::idle::{run_idle, IdlePlan};
use tidegate_bench::run::{run, Mode, Plan};
use tidegate_bench::target::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Starts a server on its own thread that answers every request head with `200 ok`.
fn server() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            loop {
                let (mut tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                            if tcp.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                        match tcp.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
    });
    address
}

fn plan(address: SocketAddr, mode: Mode) -> Plan {
    Plan {
        target: Target::new(&format!("http://{address}/"), &[]).unwrap(),
        mode,
        connections: 4,
        threads: 2,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        requests: None,
        timeout: Duration::from_secs(2),
        count_over: Some(Duration::from_secs(1)),
        cpu_pids: Vec::new(),
        tags: BTreeMap::from([("target".to_owned(), "test".to_owned())]),
    }
}

#[test]
fn open_loop_keeps_the_planned_rate() {
    let report = run(&plan(server(), Mode::Open { rate: 1000.0 })).unwrap();
    assert_eq!(report.error_total, 0, "{report}");
    assert_eq!(report.unsent, 0, "{report}");
    // 1000 req/s over a 400 ms window: 400 planned, give or take the edges.
    assert!((395..=405).contains(&report.requests), "{report}");
    assert_eq!(report.ok, report.requests);
    assert!(report.latency_us.p50 > 0.0);
    assert!(report.send_lag_us.is_some());
    assert_eq!(report.over.map(|o| o.fraction), Some(0.0));
    assert_eq!(report.tags["target"], "test");
}

#[test]
fn closed_loop_sends_back_to_back() {
    let report = run(&plan(server(), Mode::Closed)).unwrap();
    assert_eq!(report.error_total, 0, "{report}");
    assert!(report.requests > 400, "{report}");
    assert!(report.send_lag_us.is_none());
}

#[test]
fn closed_loop_stops_after_the_requested_count() {
    let plan = Plan {
        requests: Some(101),
        duration: Duration::from_secs(10),
        warmup: Duration::ZERO,
        ..plan(server(), Mode::Closed)
    };
    let started = std::time::Instant::now();
    let report = run(&plan).unwrap();
    assert_eq!(report.error_total, 0, "{report}");
    assert_eq!(report.requests, 101, "{report}");
    assert_eq!(report.ok, 101, "{report}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped at the count"
    );
}

#[test]
fn cpu_time_of_the_given_processes_is_read_over_the_window() {
    // The server's threads and the load threads are this process's.
    let measured = Plan {
        cpu_pids: vec![std::process::id()],
        ..plan(server(), Mode::Closed)
    };
    let report = run(&measured).unwrap();
    assert_eq!(report.error_total, 0, "{report}");
    let cpu = report.cpu.expect("a CPU reading");
    assert!(
        (cpu.window_s - measured.duration.as_secs_f64()).abs() < 0.1,
        "{cpu:?}"
    );
    assert!(
        cpu.seconds > 0.0,
        "a closed loop keeps this process busy: {cpu:?}"
    );
    let per = cpu.per_response_us.unwrap();
    let expected = cpu.seconds * 1e6 / (report.achieved_rate * cpu.window_s);
    assert!((per - expected).abs() < 1e-6 * expected, "{cpu:?}");
    assert!(report.to_string().contains("us per response"), "{report}");
    let without = run(&plan(server(), Mode::Closed)).unwrap();
    assert!(without.cpu.is_none());
}

#[test]
fn requests_need_the_closed_loop() {
    let plan = Plan {
        requests: Some(10),
        ..plan(server(), Mode::Open { rate: 100.0 })
    };
    assert!(run(&plan).is_err());
}

#[test]
fn a_dead_target_is_counted_not_fatal() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = unused.local_addr().unwrap();
    drop(unused);
    let report = run(&plan(address, Mode::Open { rate: 200.0 })).unwrap();
    assert_eq!(report.ok, 0);
    assert_eq!(report.errors.get("connect"), Some(&report.requests));
}

#[test]
fn idle_mode_holds_every_connection() {
    let address = server();
    let plan = IdlePlan {
        target: Target::new(&format!("http://{address}/"), &[]).unwrap(),
        connections: 200,
        concurrency: 16,
        hold: Duration::from_millis(100),
        timeout: Duration::from_secs(2),
        rss_pids: vec![std::process::id()],
        tags: BTreeMap::new(),
    };
    let mut held = None;
    let report = run_idle(&plan, |n| held = Some(n)).unwrap();
    assert_eq!(held, Some(200));
    assert_eq!((report.ok, report.still_open), (200, 200));
    assert!(report.errors.is_empty());
    assert!(report.rss_kib.is_some_and(|r| r.before > 0 && r.held > 0));
}
