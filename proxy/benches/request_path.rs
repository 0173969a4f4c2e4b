//! The per-request bookkeeping on the proxy's hot path: pool admission, the
//! in-flight guard, the peak-EWMA sample, and the metrics and statistics recorded
//! when the request ends (counter increment, histogram records).

#![allow(clippy::expect_used)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use tidegate::member::{Member, Origin};
use tidegate::pool::{Pool, PoolSettings, PoolState};
use tidegate_balancer::{Backend, EwmaConfig};

fn pool() -> (Pool, Arc<Member>) {
    let config = tidegate_conf::parse(
        "[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\nbackends = [\"127.0.0.1:9001\"]\n",
        "bench.toml",
    )
    .expect("valid configuration");
    let spec = &config.pools[0];
    let backend = Backend::new(spec.backends[0].address, None, 1, EwmaConfig::default(), 0);
    let member = Arc::new(Member::new("p", Arc::new(backend), Origin::Config, false));
    let pool = Pool::new(
        spec,
        Arc::new(PoolSettings::from_config(spec)),
        vec![Arc::clone(&member)],
        Arc::new(PoolState::new("p")),
    );
    (pool, member)
}

fn request_path(c: &mut Criterion) {
    // The real Prometheus recorder, so metric handles do real work.
    let _handle = tidegate::metrics::install().expect("recorder");
    let (pool, member) = pool();
    let mut now = 1_000_000_000u64;

    c.bench_function("bookkeeping/admit+guard+ewma", |b| {
        b.iter(|| {
            now += 1_000;
            let admission = pool.admit();
            let guard = member.backend().start_request();
            member.backend().observe_rtt(now, 250_000);
            drop(guard);
            drop(admission);
        })
    });
    c.bench_function("metrics/record_request", |b| {
        b.iter(|| {
            member.record_request(200, 1_250_000);
            pool.state().record_request(200, 1_250_000, true);
        })
    });
    c.bench_function("request/all", |b| {
        b.iter(|| {
            now += 1_000;
            let admission = pool.admit();
            let guard = member.backend().start_request();
            member.backend().observe_rtt(now, 250_000);
            member.record_request(200, 1_250_000);
            pool.state().record_request(200, 1_250_000, true);
            drop(guard);
            drop(admission);
        })
    });
}

criterion_group!(benches, request_path);
criterion_main!(benches);
