//! A pool at run time: its backends, the selector that picks among them, and the
//! pool-wide admission counter.
//!
//! A [`Pool`] is immutable once built; [`crate::routing::Routing`] builds a new one
//! off the request path and publishes it. The per-backend load state lives in the
//! shared [`Backend`]s, so it is the same object whichever snapshot a request saw.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderName;
use tidegate_balancer::{Backend, EwmaConfig, Policy, Selector};
use tidegate_conf::PolicyKind;

use crate::clock::{nanos, Clock};

/// Connect attempts per request, each on a backend not tried before.
const CONNECT_ATTEMPTS: usize = 3;

/// One backend pool, ready to take requests.
#[derive(Debug)]
pub struct Pool {
    name: Arc<str>,
    selector: Selector,
    region_header: HeaderName,
    max_in_flight: u32,
    in_flight: Arc<AtomicU32>,
    no_backend_body: Bytes,
    overload_body: Bytes,
}

impl Pool {
    /// Builds a pool from its configuration; backends joined at `Clock::startup()`.
    pub fn from_config(config: &tidegate_conf::Pool) -> Self {
        let ewma = EwmaConfig {
            decay: nanos(config.decay),
            default_rtt: nanos(config.default_rtt),
        };
        let backends = config
            .backends
            .iter()
            .map(|b| {
                Arc::new(Backend::new(
                    b.address,
                    b.region.as_deref(),
                    b.weight,
                    ewma,
                    Clock::startup(),
                ))
            })
            .collect();
        let selector = Selector::new(&policy(config), backends, config.slow_start.map(nanos));
        // The header name was validated by the configuration crate.
        let region_header = HeaderName::from_bytes(config.region_header.as_bytes())
            .unwrap_or_else(|_| HeaderName::from_static("x-tidegate-region"));
        Self {
            name: config.name.as_str().into(),
            selector,
            region_header,
            max_in_flight: config.max_in_flight,
            in_flight: Arc::new(AtomicU32::new(0)),
            no_backend_body: Bytes::from(format!(
                "tidegate: no usable backend in pool \"{}\"\n",
                config.name
            )),
            overload_body: Bytes::from(format!(
                "tidegate: pool \"{}\" is at max_in_flight ({}); retry later\n",
                config.name, config.max_in_flight
            )),
        }
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The selector over this pool's backends.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// The header that carries a request's region.
    pub fn region_header(&self) -> &HeaderName {
        &self.region_header
    }

    /// How many connect attempts one request may make.
    pub fn connect_attempts(&self) -> usize {
        CONNECT_ATTEMPTS.min(self.selector.backends().len())
    }

    /// Requests in flight in the whole pool.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Admits one request unless the pool is at `max_in_flight`.
    pub fn admit(&self) -> Option<Admission> {
        let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let admission = Admission {
            in_flight: Arc::clone(&self.in_flight),
        };
        (before < self.max_in_flight).then_some(admission)
    }

    /// Body of the 502 sent when no backend can take a request.
    pub fn no_backend_body(&self) -> Bytes {
        self.no_backend_body.clone()
    }

    /// Body of the 503 sent when the pool is full.
    pub fn overload_body(&self) -> Bytes {
        self.overload_body.clone()
    }
}

/// A request counted against its pool's `max_in_flight`; released on drop.
#[derive(Debug)]
pub struct Admission {
    in_flight: Arc<AtomicU32>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The balancer policy a pool's configuration names.
fn policy(config: &tidegate_conf::Pool) -> Policy {
    match config.policy {
        PolicyKind::RoundRobin => Policy::RoundRobin,
        PolicyKind::Weighted => Policy::Weighted,
        PolicyKind::LeastConn => Policy::LeastConn,
        PolicyKind::PeakEwma => Policy::PeakEwma,
        PolicyKind::RegionAffinity => Policy::RegionAffinity {
            within: Box::new(simple_policy(config.within)),
            fallback: config.fallback.clone(),
            spill_in_flight: config.spill_in_flight,
        },
    }
}

fn simple_policy(kind: PolicyKind) -> Policy {
    match kind {
        PolicyKind::RoundRobin => Policy::RoundRobin,
        PolicyKind::Weighted => Policy::Weighted,
        PolicyKind::PeakEwma => Policy::PeakEwma,
        PolicyKind::LeastConn | PolicyKind::RegionAffinity => Policy::LeastConn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(max_in_flight: u32) -> Pool {
        let config = tidegate_conf::parse(
            &format!(
                "[[listener]]\naddress = \"127.0.0.1:8080\"\n\
                 [pool.p]\nmax_in_flight = {max_in_flight}\n\
                 backends = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n"
            ),
            "test.toml",
        )
        .unwrap();
        Pool::from_config(&config.pools[0])
    }

    #[test]
    fn admission_stops_at_max_in_flight_and_releases_on_drop() {
        let pool = pool(2);
        let a = pool.admit().unwrap();
        let _b = pool.admit().unwrap();
        assert!(pool.admit().is_none());
        assert_eq!(pool.in_flight(), 2);
        drop(a);
        assert!(pool.admit().is_some());
    }

    #[test]
    fn bodies_name_the_pool() {
        let pool = pool(5);
        assert!(String::from_utf8_lossy(&pool.no_backend_body()).contains("pool \"p\""));
        assert_eq!(pool.connect_attempts(), 2);
    }
}
