//! The async pool loop against a fake proxy (signals + data plane) and a fake driver:
//! joining after the health check, draining before removal, backoff on failures,
//! the static driver's refusal, and running in paused (virtual) time.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure, like tests

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tidegate_scaler::driver::StaticDriver;
use tidegate_scaler::{
    Action, ActionResult, AuditLog, BackendSample, DataPlane, Direction, Driver, DriverError,
    Instance, InstanceId, InstanceState, LoopConfig, LoopParts, Metrics, OpId, Overrides, Policy,
    PoolLoop, PoolSample, SignalSource, Timestamp,
};

const T0: u64 = 1_704_672_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

/// The proxy side: backends with a state and in-flight count, and a pool in-flight total.
#[derive(Debug, Default)]
struct FakeProxy {
    inner: Mutex<ProxyState>,
}

#[derive(Debug, Default)]
struct ProxyState {
    in_flight: f64,
    backends: BTreeMap<SocketAddr, (InstanceState, u64)>,
    calls: Vec<String>,
}

impl FakeProxy {
    /// The health check passes for every pending backend.
    fn pass_health_checks(&self) {
        for (state, _) in self.inner.lock().unwrap().backends.values_mut() {
            if *state == InstanceState::Pending {
                *state = InstanceState::Ready;
            }
        }
    }

    fn set_load(&self, in_flight: f64) {
        self.inner.lock().unwrap().in_flight = in_flight;
    }

    fn set_backend_in_flight(&self, address: SocketAddr, n: u64) {
        if let Some(b) = self.inner.lock().unwrap().backends.get_mut(&address) {
            b.1 = n;
        }
    }

    fn state_of(&self, address: SocketAddr) -> Option<InstanceState> {
        self.inner
            .lock()
            .unwrap()
            .backends
            .get(&address)
            .map(|b| b.0)
    }

    fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }
}

impl SignalSource for FakeProxy {
    fn sample(&self, _pool: &str) -> PoolSample {
        let inner = self.inner.lock().unwrap();
        PoolSample {
            in_flight: inner.in_flight,
            request_rate: inner.in_flight * 5.0,
            p95_latency: Some(Duration::from_millis(20)),
            backends: inner
                .backends
                .iter()
                .map(|(&address, &(state, in_flight))| BackendSample {
                    address,
                    state,
                    in_flight,
                })
                .collect(),
        }
    }
}

impl DataPlane for FakeProxy {
    fn add_backend(&self, pool: &str, address: SocketAddr, _region: Option<&str>) {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(format!("add {pool} {address}"));
        let entry = inner
            .backends
            .entry(address)
            .or_insert((InstanceState::Pending, 0));
        if entry.0 == InstanceState::Draining {
            entry.0 = InstanceState::Ready;
        }
    }

    fn drain(&self, pool: &str, address: SocketAddr) {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(format!("drain {pool} {address}"));
        if let Some(b) = inner.backends.get_mut(&address) {
            b.0 = InstanceState::Draining;
        }
    }

    fn is_drained(&self, _pool: &str, address: SocketAddr) -> bool {
        self.inner
            .lock()
            .unwrap()
            .backends
            .get(&address)
            .is_none_or(|b| b.1 == 0)
    }

    fn remove_backend(&self, pool: &str, address: SocketAddr) {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(format!("remove {pool} {address}"));
        inner.backends.remove(&address);
    }
}

/// A cloud-like driver: set_target launches (newest last), remove removes named ones.
#[derive(Debug, Default)]
struct FakeDriver {
    inner: Mutex<DriverState>,
}

#[derive(Debug, Default)]
struct DriverState {
    instances: Vec<Instance>,
    launched: u16,
    failures: VecDeque<DriverError>,
    calls: Vec<String>,
}

impl FakeDriver {
    fn fail_next(&self, errors: impl IntoIterator<Item = DriverError>) {
        self.inner.lock().unwrap().failures.extend(errors);
    }

    fn calls(&self) -> Vec<String> {
        self.inner.lock().unwrap().calls.clone()
    }

    fn addresses(&self) -> Vec<SocketAddr> {
        self.inner
            .lock()
            .unwrap()
            .instances
            .iter()
            .map(|i| i.address)
            .collect()
    }
}

#[async_trait]
impl Driver for FakeDriver {
    fn name(&self) -> &str {
        "fake"
    }

    async fn instances(&self, _pool: &str) -> Result<Vec<Instance>, DriverError> {
        Ok(self.inner.lock().unwrap().instances.clone())
    }

    async fn set_target(&self, _pool: &str, desired: u32, op: &OpId) -> Result<(), DriverError> {
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push(format!("set_target {desired} {op}"));
        if let Some(e) = inner.failures.pop_front() {
            return Err(e);
        }
        while inner.instances.len() < desired as usize {
            inner.launched += 1;
            let n = inner.launched;
            inner.instances.push(Instance {
                id: InstanceId::new(format!("i-{n}")),
                address: ([127, 0, 0, 1], 9000 + n).into(),
                region: None,
                state: InstanceState::Pending,
            });
        }
        inner.instances.truncate(desired as usize);
        Ok(())
    }

    async fn remove(&self, _pool: &str, ids: &[InstanceId], _op: &OpId) -> Result<(), DriverError> {
        let mut inner = self.inner.lock().unwrap();
        let names: Vec<&str> = ids.iter().map(InstanceId::as_str).collect();
        inner.calls.push(format!("remove {}", names.join(",")));
        if let Some(e) = inner.failures.pop_front() {
            return Err(e);
        }
        inner.instances.retain(|i| !ids.contains(&i.id));
        Ok(())
    }
}

struct Rig {
    proxy: Arc<FakeProxy>,
    driver: Arc<FakeDriver>,
    audit: Arc<AuditLog>,
    metrics: Arc<Metrics>,
    pool_loop: PoolLoop,
}

fn rig(policy: Policy, config: LoopConfig) -> Rig {
    let proxy = Arc::new(FakeProxy::default());
    let driver = Arc::new(FakeDriver::default());
    let audit = Arc::new(AuditLog::new(1000));
    let metrics = Arc::new(Metrics::new());
    let parts = LoopParts {
        driver: driver.clone(),
        signals: proxy.clone(),
        data_plane: proxy.clone(),
        audit: audit.clone(),
        metrics: metrics.clone(),
        recommenders: Vec::new(),
    };
    let pool_loop = PoolLoop::new("web", policy, parts, config).unwrap();
    Rig {
        proxy,
        driver,
        audit,
        metrics,
        pool_loop,
    }
}

fn quick_policy() -> Policy {
    Policy {
        min: 1,
        max: 10,
        scale_down_delay: Duration::from_secs(10),
        stable_window: Duration::from_secs(10),
        panic_window: Duration::from_secs(2),
        ..Policy::default()
    }
}

#[tokio::test]
async fn scales_up_joins_after_health_checks_and_scales_down_through_draining() {
    let mut r = rig(
        quick_policy(),
        LoopConfig {
            grace_period: Duration::from_secs(30),
            ..LoopConfig::default()
        },
    );
    // Tick 0: nothing runs; min 1 launches one.
    let d = r.pool_loop.tick(at(0)).await;
    assert_eq!(d.to, 1);
    assert_eq!(r.driver.calls(), ["set_target 1 web-1704672000000-1"]);
    // Tick 1: the driver lists it; it joins the data plane as pending.
    r.pool_loop.tick(at(1)).await;
    let first = r.driver.addresses()[0];
    assert_eq!(r.proxy.state_of(first), Some(InstanceState::Pending));
    assert_eq!(r.pool_loop.handle().status().pending, 1);
    r.proxy.pass_health_checks();
    r.pool_loop.tick(at(2)).await;
    assert_eq!(r.pool_loop.handle().status().ready, 1);

    // Load arrives: 40 in flight on 1 ready is a burst; the panic window reacts first.
    r.proxy.set_load(40.0);
    let d = r.pool_loop.tick(at(3)).await;
    assert_eq!((d.from, d.to, d.direction), (1, 3, Direction::Up));
    assert!(d.panicking);
    r.pool_loop.tick(at(4)).await;
    let status = r.pool_loop.handle().status();
    assert_eq!(
        (status.ready, status.pending),
        (1, 2),
        "new instances wait for their health check"
    );
    // The panic window now sees 40 throughout: 40 / 8 = 5 instances.
    assert_eq!(r.pool_loop.tick(at(5)).await.to, 5);
    r.pool_loop.tick(at(6)).await;
    assert_eq!(r.driver.addresses().len(), 5);
    r.proxy.pass_health_checks();
    r.pool_loop.tick(at(7)).await;
    assert_eq!(r.pool_loop.handle().status().ready, 5);

    // Load goes away. Panic (10 s after the last burst) and stabilization (10 s) hold it.
    r.proxy.set_load(0.0);
    let busy = r.driver.addresses()[1];
    r.proxy.set_backend_in_flight(busy, 3);
    for secs in 8..=16 {
        assert_eq!(r.pool_loop.tick(at(secs)).await.to, 5, "held at {secs}s");
    }
    // Then down, in steps as the stabilization window forgets the load, to min.
    let mut desired = 5;
    for secs in 17..=40 {
        let d = r.pool_loop.tick(at(secs)).await;
        assert!(d.to <= desired, "no scale-up at {secs}s");
        desired = d.to;
    }
    assert_eq!(desired, 1);
    // Victims are the four idle instances; the busy one keeps serving.
    let drained: Vec<String> = r
        .proxy
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("drain"))
        .collect();
    assert_eq!(drained.len(), 4);
    assert!(!drained.contains(&format!("drain web {busy}")));
    assert_eq!(r.proxy.state_of(busy), Some(InstanceState::Ready));
    // Drained idle victims were removed the same tick; the driver removed them by name.
    assert_eq!(r.driver.addresses(), [busy]);
    let mut removed: Vec<String> = r
        .driver
        .calls()
        .into_iter()
        .filter_map(|c| c.strip_prefix("remove ").map(str::to_owned))
        .flat_map(|ids| ids.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    removed.sort();
    assert_eq!(removed, ["i-1", "i-3", "i-4", "i-5"]);
    assert_eq!(
        r.proxy.state_of(first),
        None,
        "the data plane forgot removed backends"
    );

    let events = r.audit.query(Some("web"), 100);
    assert!(events.iter().any(|e| e.direction == Direction::Down
        && e.actions
            .iter()
            .any(|a| matches!(a.action, Action::Drain { .. }))));
    assert!(events
        .iter()
        .any(|e| e.direction == Direction::Up && e.panicking));
    let metrics = r.metrics.snapshot();
    let counters = &metrics.pools["web"];
    assert_eq!(counters.decisions_up, 3);
    assert!(counters.decisions_down >= 1);
    assert_eq!(counters.desired, 1);
    assert!(metrics.driver_errors.is_empty());
}

#[tokio::test]
async fn victims_with_requests_in_flight_wait_for_them_or_the_grace_period() {
    let policy = Policy {
        min: 2,
        scale_down_delay: Duration::ZERO,
        ..quick_policy()
    };
    let mut r = rig(
        policy,
        LoopConfig {
            grace_period: Duration::from_secs(20),
            ..LoopConfig::default()
        },
    );
    r.pool_loop.tick(at(0)).await;
    r.pool_loop.tick(at(1)).await;
    r.proxy.pass_health_checks();
    for address in r.driver.addresses() {
        r.proxy.set_backend_in_flight(address, 2);
    }
    r.pool_loop
        .handle()
        .set_overrides(Overrides {
            min: Some(1),
            ..Overrides::default()
        })
        .unwrap();
    let d = r.pool_loop.tick(at(2)).await;
    assert_eq!(d.to, 1);
    let victim = *r.driver.addresses().last().unwrap();
    assert_eq!(r.proxy.state_of(victim), Some(InstanceState::Draining));
    assert_eq!(r.pool_loop.handle().status().draining, 1);
    r.pool_loop.tick(at(10)).await;
    assert_eq!(
        r.driver.addresses().len(),
        2,
        "still finishing its requests"
    );
    r.pool_loop.tick(at(22)).await;
    assert_eq!(
        r.driver.addresses().len(),
        1,
        "removed once the grace period passed"
    );
    assert_eq!(r.proxy.state_of(victim), None);
}

#[tokio::test]
async fn driver_failures_back_off_are_counted_and_audited() {
    let config = LoopConfig {
        backoff_base: Duration::from_secs(2),
        ..LoopConfig::default()
    };
    let mut r = rig(
        Policy {
            min: 2,
            ..quick_policy()
        },
        config,
    );
    r.driver.fail_next([
        DriverError::Transient("api timeout".into()),
        DriverError::RateLimited {
            retry_after: Duration::from_secs(10),
            message: "slow down".into(),
        },
    ]);
    r.pool_loop.tick(at(0)).await; // fails: retry at 2 s
    r.pool_loop.tick(at(1)).await; // backing off: no call
    r.pool_loop.tick(at(2)).await; // fails: rate limited, retry at 12 s
    for s in 3..12 {
        r.pool_loop.tick(at(s)).await;
    }
    assert_eq!(r.driver.calls().len(), 2, "{:?}", r.driver.calls());
    let status = r.pool_loop.handle().status();
    assert_eq!(status.backoff_until, Some(at(12)));
    assert!(status.last_error.unwrap().contains("slow down"));
    r.pool_loop.tick(at(12)).await;
    let calls = r.driver.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0], calls[2], "the retry reuses the op id");
    assert_eq!(r.driver.addresses().len(), 2);

    assert_eq!(r.metrics.snapshot().driver_errors["fake"], 2);
    let failures: Vec<_> = r
        .audit
        .query(Some("web"), 100)
        .into_iter()
        .flat_map(|e| e.actions)
        .filter(|a| matches!(a.result, ActionResult::Failed { .. }))
        .collect();
    assert_eq!(failures.len(), 2);
    assert!(matches!(
        &failures[0].result,
        ActionResult::Failed { error: tidegate_scaler::DriverErrorKind::RateLimited, retry_at, .. } if *retry_at == at(12)
    ));
}

#[tokio::test]
async fn pause_and_manual_desired_override_the_recommendations() {
    let mut r = rig(quick_policy(), LoopConfig::default());
    let handle = r.pool_loop.handle();
    handle
        .set_overrides(Overrides {
            desired: Some(3),
            ..Overrides::default()
        })
        .unwrap();
    assert_eq!(r.pool_loop.tick(at(0)).await.to, 3);
    handle.pause();
    r.proxy.set_load(400.0);
    assert_eq!(r.pool_loop.tick(at(1)).await.to, 3);
    assert!(handle.status().overrides.paused);
    assert!(handle
        .set_overrides(Overrides {
            min: Some(50),
            ..Overrides::default()
        })
        .is_err());
}

#[tokio::test]
async fn a_static_pool_that_cannot_shrink_keeps_serving() {
    let instance = |id: &str, port: u16| Instance {
        id: InstanceId::new(id),
        address: ([127, 0, 0, 1], port).into(),
        region: None,
        state: InstanceState::Pending,
    };
    let driver =
        StaticDriver::new("fixed").with_pool("web", vec![instance("a", 9001), instance("b", 9002)]);
    let proxy = Arc::new(FakeProxy::default());
    let audit = Arc::new(AuditLog::new(100));
    let metrics = Arc::new(Metrics::new());
    let parts = LoopParts {
        driver: Arc::new(driver),
        signals: proxy.clone(),
        data_plane: proxy.clone(),
        audit: audit.clone(),
        metrics: metrics.clone(),
        recommenders: Vec::new(),
    };
    let policy = Policy {
        scale_down_delay: Duration::ZERO,
        ..quick_policy()
    };
    let mut pool_loop = PoolLoop::new("web", policy, parts, LoopConfig::default()).unwrap();
    pool_loop.tick(at(0)).await;
    proxy.pass_health_checks();
    // Idle: desired drops to 1, one backend drains, the driver refuses to remove it.
    let d = pool_loop.tick(at(1)).await;
    assert_eq!(d.to, 1);
    let event = audit.query(Some("web"), 1).remove(0);
    assert!(event.actions.iter().any(|a| matches!(
        a.result,
        ActionResult::Failed {
            error: tidegate_scaler::DriverErrorKind::Permanent,
            ..
        }
    )));
    assert_eq!(
        pool_loop.handle().status().draining,
        0,
        "put back into service"
    );
    assert_eq!(metrics.snapshot().driver_errors["fixed"], 1);
    assert_eq!(proxy.calls().last().unwrap(), "add web 127.0.0.1:9002");
}

#[tokio::test(start_paused = true)]
async fn run_ticks_in_virtual_time_until_shutdown() {
    let r = rig(
        Policy {
            min: 2,
            ..quick_policy()
        },
        LoopConfig::default(),
    );
    let handle = r.pool_loop.handle();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(r.pool_loop.run(at(0), async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_secs(30)).await;
    let status = handle.status();
    assert_eq!(status.desired, 2);
    assert_eq!(status.pending, 2);
    let updated = status.updated_at.unwrap();
    assert!(
        updated >= at(29) && updated <= at(30),
        "virtual time: {updated}"
    );
    stop.send(()).unwrap();
    task.await.unwrap();
    assert_eq!(r.driver.addresses().len(), 2);
}

#[tokio::test]
async fn a_crashed_process_is_replaced_through_the_loop() {
    use tidegate_scaler::driver::{ProcessDriver, ProcessDriverConfig};

    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "echo $$ > {}/{{id}}.pid; echo {{port}} > /dev/null; exec sleep 30",
        dir.path().display()
    );
    let config = ProcessDriverConfig {
        grace_period: Duration::from_millis(300),
        ..ProcessDriverConfig::new(vec!["sh".into(), "-c".into(), script], 47_500..=47_599)
    };
    let driver = Arc::new(ProcessDriver::new("local", config).unwrap());
    let proxy = Arc::new(FakeProxy::default());
    let parts = LoopParts {
        driver: driver.clone(),
        signals: proxy.clone(),
        data_plane: proxy.clone(),
        audit: Arc::new(AuditLog::new(100)),
        metrics: Arc::new(Metrics::new()),
        recommenders: Vec::new(),
    };
    let policy = Policy {
        min: 2,
        ..quick_policy()
    };
    let mut pool_loop = PoolLoop::new("web", policy, parts, LoopConfig::default()).unwrap();
    pool_loop.tick(at(0)).await;
    pool_loop.tick(at(1)).await;
    let before = driver.instances("web").await.unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(pool_loop.handle().status().pending, 2);

    let pid_file = dir.path().join(format!("{}.pid", before[0].id));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "no pid file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    // Virtual seconds pass per tick; real time only while the kernel reports the death.
    let mut secs = 2;
    while !proxy
        .calls()
        .contains(&format!("remove web {}", before[0].address))
    {
        assert!(secs < 1000, "the crash was never noticed");
        pool_loop.tick(at(secs)).await;
        secs += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The resync re-sends the unchanged target within `resync_every`, which relaunches.
    for s in secs..secs + 7 {
        pool_loop.tick(at(s)).await;
    }
    let after = driver.instances("web").await.unwrap();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|i| i.id != before[0].id));
    assert_eq!(pool_loop.handle().status().pending, 2);
    driver.shutdown().await.unwrap();
}
