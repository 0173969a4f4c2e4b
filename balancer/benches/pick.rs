//! One `Selector::pick` per policy at 8, 100 and 1,000 backends.
//!
//! Each pool spreads its backends over four regions (one of them "no region"), gives them
//! weights 1..=10 and RTT samples of 5..200 ms, and holds 0..=16 requests in flight on each
//! through real `InFlightGuard`s, so the P2C loads and the region spill threshold see
//! realistic numbers. Run: `cargo bench -p tidegate-balancer --bench pick`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fastrand::Rng;
use tidegate_balancer::{Backend, EwmaConfig, InFlightGuard, Nanos, PickRequest, Policy, Selector};

const SECOND: Nanos = 1_000_000_000;
const NOW: Nanos = 3_600 * SECOND;
const SIZES: [usize; 3] = [8, 100, 1_000];
const REGIONS: [Option<&str>; 4] = [Some("eu-west"), Some("us-east"), Some("ap-south"), None];

/// A selector over a loaded pool; the guards keep the load in place while it is measured.
struct Fixture {
    selector: Selector,
    _held: Vec<InFlightGuard>,
}

fn fixture(policy: &Policy, n: usize, rng: &mut Rng) -> Fixture {
    let mut held = Vec::new();
    let backends = (0..n)
        .map(|i| {
            let addr = SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8], 8080));
            let region = REGIONS[i % REGIONS.len()];
            let b = Arc::new(Backend::new(
                addr,
                region,
                rng.u32(1..=10),
                EwmaConfig::default(),
                0,
            ));
            let rtt = rng.u64(5..=200) * 1_000_000;
            b.observe_rtt(NOW - rng.u64(..10 * SECOND), rtt);
            held.extend((0..rng.u32(0..=16)).map(|_| b.start_request()));
            b
        })
        .collect();
    Fixture {
        selector: Selector::new(policy, backends, Some(30 * SECOND)),
        _held: held,
    }
}

fn policies() -> [(&'static str, Policy); 5] {
    [
        ("round_robin", Policy::RoundRobin),
        ("weighted", Policy::Weighted),
        ("least_conn", Policy::LeastConn),
        ("peak_ewma", Policy::PeakEwma),
        (
            "region_affinity",
            Policy::RegionAffinity {
                within: Box::new(Policy::LeastConn),
                fallback: vec!["us-east".into(), "ap-south".into()],
                spill_in_flight: 12,
            },
        ),
    ]
}

fn pick(c: &mut Criterion) {
    let mut rng = Rng::with_seed(0x71de);
    for (name, policy) in policies() {
        let mut group = c.benchmark_group(format!("pick/{name}"));
        for n in SIZES {
            let fixture = fixture(&policy, n, &mut rng);
            let req = PickRequest {
                now: NOW,
                region: Some("eu-west"),
                exclude: &[],
            };
            group.bench_with_input(BenchmarkId::from_parameter(n), &fixture, |b, f| {
                b.iter(|| f.selector.pick(black_box(&req), &mut rng).map(Arc::as_ptr))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, pick);
criterion_main!(benches);
