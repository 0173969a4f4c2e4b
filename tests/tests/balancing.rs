//! Policies against real backends: peak_ewma and least_conn avoid a slow backend,
//! and slow_start ramps a backend added under load up to its share.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tidegate_tests::{
    backend, backend_list, client, config_file, get, load, proxy, proxy_with_admin, send,
    served_by, Process,
};

const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 16;

fn pool_config(policy: &str, backends: &[&Process]) -> tidegate_tests::ConfigFile {
    config_file(&format!(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n\n[pool.p]\npolicy = \"{policy}\"\nbackends = [{}]\n",
        backend_list(backends)
    ))
}

/// Sends the standard load through a fresh proxy; returns the slow backend's share.
async fn slow_count(policy: &str, fast: [&Process; 2], slow: &Process) -> usize {
    let config = pool_config(policy, &[fast[0], fast[1], slow]);
    let proxy = proxy(&config, 1);
    let answers = load(proxy.addr(), "/", &[], REQUESTS, CONCURRENCY).await;
    let failed: Vec<_> = answers
        .iter()
        .filter(|a| !a.as_ref().is_ok_and(|a| a.status == 200))
        .collect();
    assert!(
        failed.is_empty(),
        "{policy}: {} failed, e.g. {:?}",
        failed.len(),
        failed[0]
    );
    let fast_count =
        served_by(&answers, fast[0].addr().port()) + served_by(&answers, fast[1].addr().port());
    let slow_count = served_by(&answers, slow.addr().port());
    assert_eq!(fast_count + slow_count, REQUESTS);
    println!("{policy}: slow backend served {slow_count} of {REQUESTS}");
    slow_count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_ewma_sends_at_least_80_percent_to_the_fast_backends() {
    let fast = [backend(2, None), backend(2, None)];
    let slow = backend(20, None);
    let slow_served = slow_count("peak_ewma", [&fast[0], &fast[1]], &slow).await;
    assert!(
        slow_served * 5 <= REQUESTS,
        "peak_ewma sent {slow_served} of {REQUESTS} to the slow backend (more than 20%)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_conn_sends_fewer_to_the_slow_backend_than_round_robin() {
    let fast = [backend(2, None), backend(2, None)];
    let slow = backend(20, None);
    let round_robin = slow_count("round_robin", [&fast[0], &fast[1]], &slow).await;
    let least_conn = slow_count("least_conn", [&fast[0], &fast[1]], &slow).await;
    assert!(
        least_conn < round_robin,
        "least_conn sent {least_conn} to the slow backend, round_robin {round_robin}"
    );
}

/// Which backend (by port) answered requests sent at which time.
type Picks = Arc<Mutex<Vec<(Instant, u16)>>>;

/// Keeps `concurrency` requests in flight against `addr` until requests would be
/// sent after `end` (once it is set), recording who answered each one.
async fn steady_load(
    addr: std::net::SocketAddr,
    concurrency: usize,
    end: Arc<OnceLock<Instant>>,
    picks: Picks,
    done: Arc<AtomicUsize>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (end, picks, done) = (Arc::clone(&end), Arc::clone(&picks), Arc::clone(&done));
        tasks.spawn(async move {
            let client = client();
            loop {
                let sent = Instant::now();
                if end.get().is_some_and(|end| sent >= *end) {
                    return;
                }
                let answer = get(&client, addr, "/", &[]).await.unwrap();
                assert_eq!(answer.status, 200, "{}", answer.body);
                let port = answer
                    .body
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .expect("the body names the backend's port");
                picks.lock().unwrap().push((sent, port));
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.unwrap();
    }
}

/// The share of `port` among the requests sent within `span` (offsets from `joined`),
/// and how many requests that was.
fn share(
    picks: &[(Instant, u16)],
    joined: Instant,
    span: (Duration, Duration),
    port: u16,
) -> (f64, usize) {
    let in_span: Vec<u16> = picks
        .iter()
        .filter(|(sent, _)| *sent >= joined + span.0 && *sent < joined + span.1)
        .map(|(_, p)| *p)
        .collect();
    let new = in_span.iter().filter(|p| **p == port).count();
    (new as f64 / in_span.len().max(1) as f64, in_span.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_start_ramps_a_backend_added_under_load_up_to_its_share() {
    const WINDOW: Duration = Duration::from_secs(2);
    let old = [backend(0, None), backend(0, None)];
    let new = backend(0, None);
    let config = config_file(&format!(
        "[admin]\naddress = \"127.0.0.1:0\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"round_robin\"\nslow_start = \"{}ms\"\nbackends = [{}]\n",
        WINDOW.as_millis(),
        backend_list(&[&old[0], &old[1]])
    ));
    let proxy = proxy_with_admin(&config, 1);
    let (end, picks, done) = (
        Arc::new(OnceLock::new()),
        Picks::default(),
        Arc::new(AtomicUsize::new(0)),
    );
    let running = tokio::spawn(steady_load(
        proxy.addr(),
        8,
        Arc::clone(&end),
        Arc::clone(&picks),
        Arc::clone(&done),
    ));
    // The load is under way before the backend joins.
    while done.load(Ordering::Relaxed) < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let body = format!("{{\"address\":\"{}\"}}", new.addr());
    let added = send(
        &client(),
        http::Method::POST,
        proxy.admin_addr(),
        "/api/v1/pools/p/backends",
        &[],
        &body,
    )
    .await
    .unwrap();
    assert_eq!(added.status, 201, "{}", added.body);
    // The backend joined before the answer: every request sent from now on may go to it.
    let joined = Instant::now();
    end.set(joined + WINDOW + Duration::from_secs(1)).unwrap();
    running.await.unwrap();

    let picks = picks.lock().unwrap();
    let port = new.addr().port();
    let ms = Duration::from_millis;
    let (early, early_n) = share(&picks, joined, (ms(0), ms(750)), port);
    let (late, late_n) = share(&picks, joined, (ms(1000), WINDOW), port);
    let (after, after_n) = share(&picks, joined, (WINDOW, WINDOW + ms(1000)), port);
    println!(
        "new backend's share: {early:.3} of {early_n} requests in the first 0.75 s, \
         {late:.3} of {late_n} in 1-2 s, {after:.3} of {after_n} after the window (steady 0.333)"
    );
    for n in [early_n, late_n, after_n] {
        assert!(n >= 50, "too few requests to measure shares: {n}");
    }
    // Expected with round robin over two old backends: p / (2 + p) for a ramp p
    // from 10% to 100%: about 0.09 early, 0.27 late in the window, 1/3 after it.
    assert!(early < 0.2, "early share {early:.3} is not well below 1/3");
    assert!(
        late > 0.15 && late > early,
        "late share {late:.3} did not rise from {early:.3}"
    );
    assert!(
        after > 0.28,
        "share after the window {after:.3} is not back to 1/3"
    );
}
