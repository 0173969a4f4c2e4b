//! Policies against real backends: peak_ewma and least_conn avoid a slow backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tidegate_tests::{backend, backend_list, config_file, load, proxy, served_by, Process};

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
