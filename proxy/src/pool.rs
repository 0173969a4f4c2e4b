//! A pool at run time: its members, the selector that picks among them, its
//! settings, and the counters that outlive configuration changes.
//!
//! A [`Pool`] is an immutable snapshot: [`crate::plane::DataPlane`] builds a new one
//! off the request path whenever membership or settings change and publishes it.
//! What must survive a rebuild — the pool's in-flight and retry counters, the
//! members' health and load — lives in [`PoolState`] and in the shared
//! [`Member`]s, so a request sees the same objects whichever snapshot it loaded.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderName;
use metrics::{Counter, Histogram};
use tidegate_balancer::{Backend, Nanos, PickRequest, Policy, Selector};
use tidegate_conf::{Outlier, PolicyKind, UpstreamProtocol};

use crate::clock::nanos;
use crate::member::Member;
use crate::stats::{LatencyHistogram, RequestMeter};

/// Retries a pool may always have in flight, whatever its budget says.
const MIN_CONCURRENT_RETRIES: u32 = 3;

thread_local! {
    /// Each worker thread's random source for power-of-two choices.
    static RNG: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::new());
}

/// Counters of one pool that carry over from snapshot to snapshot.
#[derive(Debug)]
pub struct PoolState {
    in_flight: AtomicU32,
    retries: AtomicU32,
    ejected: AtomicU32,
    panic: AtomicBool,
    latency: LatencyHistogram,
    meter: RequestMeter,
    duration: Histogram,
    /// `tidegate_requests_total` of requests no backend answered.
    unanswered: [Counter; 5],
}

impl PoolState {
    /// The counters of pool `name`, with its metric handles.
    pub fn new(name: &str) -> Self {
        Self {
            in_flight: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            ejected: AtomicU32::new(0),
            panic: AtomicBool::new(false),
            latency: LatencyHistogram::default(),
            meter: RequestMeter::default(),
            duration: crate::metrics::duration_histogram(name),
            unanswered: crate::metrics::status_counters(name, "none"),
        }
    }

    /// Counts a finished request of the pool; `answered` when a backend answered it.
    pub fn record_request(&self, status: u16, duration: Nanos, answered: bool) {
        self.latency.record(duration);
        self.meter.count();
        self.duration.record(duration as f64 / 1e9);
        if !answered {
            crate::metrics::count_status(&self.unanswered, status);
        }
    }

    /// Latencies of the pool's requests.
    pub fn latency(&self) -> &LatencyHistogram {
        &self.latency
    }

    /// The pool's requests, and their rate.
    pub fn meter(&self) -> &RequestMeter {
        &self.meter
    }

    /// Requests in flight in the pool.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Retries in flight in the pool.
    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Members currently ejected by outlier detection.
    pub fn ejected(&self) -> u32 {
        self.ejected.load(Ordering::Relaxed)
    }

    /// Counts an ejection if `max_percent` of `members` allows one more (one is
    /// always allowed); returns whether it was counted.
    pub fn try_eject(&self, members: usize, max_percent: u32) -> bool {
        let members = u64::try_from(members).unwrap_or(u64::MAX);
        self.ejected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |ejected| {
                let allowed = ejected == 0
                    || (u64::from(ejected) + 1) * 100 <= u64::from(max_percent) * members;
                allowed.then_some(ejected + 1)
            })
            .is_ok()
    }

    /// Counts an ejection that ended.
    pub fn ejection_ended(&self) {
        let _ = self
            .ejected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Whether fewer than half the members are usable (balance over all of them).
    pub fn in_panic(&self) -> bool {
        self.panic.load(Ordering::Relaxed)
    }

    /// Sets panic mode; returns true when it changed.
    pub fn set_panic(&self, panic: bool) -> bool {
        self.panic.swap(panic, Ordering::Relaxed) != panic
    }
}

/// Settings of a pool, from its configuration.
#[derive(Debug)]
pub struct PoolSettings {
    region_header: HeaderName,
    max_in_flight: u32,
    retry_attempts: u32,
    retry_budget_percent: u32,
    connect_timeout: Duration,
    read_timeout: Duration,
    idle_timeout: Duration,
    protocol: UpstreamProtocol,
    tls: Option<UpstreamTls>,
    outlier: Option<Outlier>,
    no_backend_body: Bytes,
    overload_body: Bytes,
}

/// TLS towards a pool's backends.
#[derive(Debug, Clone)]
pub struct UpstreamTls {
    /// Name sent in SNI and checked against the certificate.
    pub sni: String,
    /// Whether the certificate is verified.
    pub verify: bool,
}

impl PoolSettings {
    /// Settings of a pool as configured.
    pub fn from_config(config: &tidegate_conf::Pool) -> Self {
        // The header name was validated by the configuration crate.
        let region_header = HeaderName::from_bytes(config.region_header.as_bytes())
            .unwrap_or_else(|_| HeaderName::from_static("x-tidegate-region"));
        Self {
            region_header,
            max_in_flight: config.max_in_flight,
            retry_attempts: config.retry.attempts,
            retry_budget_percent: config.retry.budget_percent,
            connect_timeout: config.timeout.connect,
            read_timeout: config.timeout.read,
            idle_timeout: config.timeout.idle,
            protocol: config.protocol,
            tls: config.tls.then(|| UpstreamTls {
                sni: config.sni.clone().unwrap_or_default(),
                verify: config.tls_verify,
            }),
            outlier: config.outlier,
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
}

/// One backend pool, ready to take requests.
#[derive(Debug)]
pub struct Pool {
    name: Arc<str>,
    settings: Arc<PoolSettings>,
    selector: Selector,
    members: Vec<Arc<Member>>,
    state: Arc<PoolState>,
}

impl Pool {
    /// A snapshot of `members` under `config`'s policy.
    pub fn new(
        config: &tidegate_conf::Pool,
        settings: Arc<PoolSettings>,
        members: Vec<Arc<Member>>,
        state: Arc<PoolState>,
    ) -> Self {
        let backends = members.iter().map(|m| Arc::clone(m.backend())).collect();
        let selector = Selector::new(&policy(config), backends, config.slow_start.map(nanos));
        Self {
            name: config.name.as_str().into(),
            settings,
            selector,
            members,
            state,
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

    /// The members, in the selector's order.
    pub fn members(&self) -> &[Arc<Member>] {
        &self.members
    }

    /// Picks the member for a request from `region` (if known), never one of
    /// `exclude`; over every member, healthy or not, while the pool is in panic mode.
    pub fn pick(
        &self,
        now: Nanos,
        region: Option<&str>,
        exclude: &[Arc<Backend>],
    ) -> Option<&Arc<Member>> {
        let request = PickRequest {
            now,
            region,
            exclude,
        };
        let picked = RNG.with(|rng| {
            let rng = &mut rng.borrow_mut();
            if self.state.in_panic() {
                self.selector.pick_index_ignoring_health(&request, rng)
            } else {
                self.selector.pick_index(&request, rng)
            }
        });
        picked.and_then(|i| self.members.get(i))
    }

    /// The counters shared by every snapshot of this pool.
    pub fn state(&self) -> &Arc<PoolState> {
        &self.state
    }

    /// The header that carries a request's region.
    pub fn region_header(&self) -> &HeaderName {
        &self.settings.region_header
    }

    /// Upstream connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.settings.connect_timeout
    }

    /// Time allowed between reads from the backend.
    pub fn read_timeout(&self) -> Duration {
        self.settings.read_timeout
    }

    /// How long an idle upstream connection is kept for reuse.
    pub fn idle_timeout(&self) -> Duration {
        self.settings.idle_timeout
    }

    /// The HTTP version spoken to the backends.
    pub fn protocol(&self) -> UpstreamProtocol {
        self.settings.protocol
    }

    /// TLS towards the backends, when configured.
    pub fn upstream_tls(&self) -> Option<&UpstreamTls> {
        self.settings.tls.as_ref()
    }

    /// Passive outlier detection settings, when configured.
    pub fn outlier(&self) -> Option<&Outlier> {
        self.settings.outlier.as_ref()
    }

    /// Retries allowed per request.
    pub fn retry_attempts(&self) -> u32 {
        self.settings.retry_attempts
    }

    /// Admits one request unless the pool is at `max_in_flight`.
    pub fn admit(&self) -> Option<Admission> {
        let before = self.state.in_flight.fetch_add(1, Ordering::AcqRel);
        let admission = Admission {
            state: Arc::clone(&self.state),
        };
        (before < self.settings.max_in_flight).then_some(admission)
    }

    /// Starts a retry if the pool's retry budget allows one more.
    pub fn start_retry(&self) -> Option<RetryToken> {
        let budget = (u64::from(self.state.in_flight())
            * u64::from(self.settings.retry_budget_percent)
            / 100)
            .max(u64::from(MIN_CONCURRENT_RETRIES));
        let budget = u32::try_from(budget).unwrap_or(u32::MAX);
        self.state
            .retries
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < budget).then_some(n + 1)
            })
            .ok()?;
        Some(RetryToken {
            state: Arc::clone(&self.state),
        })
    }

    /// Body of the 502 sent when no backend can take a request.
    pub fn no_backend_body(&self) -> Bytes {
        self.settings.no_backend_body.clone()
    }

    /// Body of the 503 sent when the pool is full.
    pub fn overload_body(&self) -> Bytes {
        self.settings.overload_body.clone()
    }
}

/// The retries one request has made, and its hold on the pool's retry budget.
#[derive(Debug, Default)]
pub struct Retries {
    count: u32,
    token: Option<RetryToken>,
}

impl Retries {
    /// Retries made so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether one more retry is allowed; takes it from the pool's budget if so.
    pub fn take(&mut self, pool: &Pool) -> bool {
        if self.count >= pool.retry_attempts() {
            return false;
        }
        match pool.start_retry() {
            Some(token) => {
                self.count += 1;
                self.token = Some(token);
                true
            }
            None => false,
        }
    }
}

/// A request counted against its pool's `max_in_flight`; released on drop.
#[derive(Debug)]
pub struct Admission {
    state: Arc<PoolState>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A retry counted against its pool's retry budget; released on drop.
#[derive(Debug)]
pub struct RetryToken {
    state: Arc<PoolState>,
}

impl Drop for RetryToken {
    fn drop(&mut self) {
        self.state.retries.fetch_sub(1, Ordering::AcqRel);
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
                 retry = {{ attempts = 2, budget_percent = 50 }}\n\
                 backends = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n"
            ),
            "test.toml",
        )
        .unwrap();
        let spec = &config.pools[0];
        Pool::new(
            spec,
            Arc::new(PoolSettings::from_config(spec)),
            Vec::new(),
            Arc::new(PoolState::new("p")),
        )
    }

    #[test]
    fn admission_stops_at_max_in_flight_and_releases_on_drop() {
        let pool = pool(2);
        let a = pool.admit().unwrap();
        let _b = pool.admit().unwrap();
        assert!(pool.admit().is_none());
        assert_eq!(pool.state().in_flight(), 2);
        drop(a);
        assert!(pool.admit().is_some());
    }

    #[test]
    fn the_retry_budget_allows_three_then_a_share_of_the_load() {
        let pool = pool(100);
        let tokens: Vec<_> = (0..3).map(|_| pool.start_retry().unwrap()).collect();
        assert!(pool.start_retry().is_none(), "idle pool: three at most");
        let _load: Vec<_> = (0..10).map(|_| pool.admit().unwrap()).collect();
        let more: Vec<_> = (0..2).map(|_| pool.start_retry().unwrap()).collect();
        assert!(pool.start_retry().is_none(), "50% of 10 in flight is 5");
        drop((tokens, more));
        assert_eq!(pool.state().retries(), 0);
    }

    #[test]
    fn ejections_stay_under_the_percentage_but_one_is_always_allowed() {
        let state = PoolState::new("p");
        assert!(state.try_eject(3, 10), "the first is always allowed");
        assert!(!state.try_eject(3, 10));
        state.ejection_ended();
        assert_eq!(state.ejected(), 0);
        assert!(state.try_eject(4, 50));
        assert!(state.try_eject(4, 50));
        assert!(!state.try_eject(4, 50));
    }

    #[test]
    fn bodies_name_the_pool() {
        let pool = pool(5);
        assert!(String::from_utf8_lossy(&pool.no_backend_body()).contains("pool \"p\""));
    }
}
