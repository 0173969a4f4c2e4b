//! The process driver spawning real `sleep` processes and stopping them.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tidegate_scaler::driver::{ProcessDriver, ProcessDriverConfig};
use tidegate_scaler::{Driver, DriverErrorKind, Instance, OpId};

/// A driver whose children write their pid to `DIR/ID.pid` and then `exec sleep 30`
/// (so the pid written is the sleeping process), listening on nothing but told `{port}`.
fn driver(dir: &Path, ports: std::ops::RangeInclusive<u16>, ignore_term: bool) -> ProcessDriver {
    let trap = if ignore_term { "trap '' TERM; " } else { "" };
    let script = format!(
        "{trap}echo $$ > {}/{{id}}.pid; echo {{port}} {{region}} > /dev/null; exec sleep 30",
        dir.display()
    );
    let config = ProcessDriverConfig {
        regions: vec!["eu-west".into(), "us-east".into()],
        grace_period: Duration::from_millis(300),
        ..ProcessDriverConfig::new(vec!["sh".into(), "-c".into(), script], ports)
    };
    ProcessDriver::new("local", config).unwrap()
}

/// Waits (bounded) for the child to have written its pid file.
async fn pid_of(dir: &Path, instance: &Instance) -> i32 {
    let path = dir.join(format!("{}.pid", instance.id));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never wrote its pid",
            instance.id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

#[tokio::test]
async fn spawns_removes_and_shuts_down_without_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(dir.path(), 47_100..=47_199, false);
    d.set_target("web", 3, &OpId::new("op-1")).await.unwrap();
    let instances = d.instances("web").await.unwrap();
    assert_eq!(instances.len(), 3);
    let regions: Vec<_> = instances
        .iter()
        .map(|i| i.region.clone().unwrap())
        .collect();
    assert_eq!(regions, ["eu-west", "us-east", "eu-west"]);
    let mut ports: Vec<u16> = instances.iter().map(|i| i.address.port()).collect();
    ports.dedup();
    assert_eq!(ports.len(), 3, "distinct ports");
    assert!(ports.iter().all(|p| (47_100..=47_199).contains(p)));

    let mut pids = Vec::new();
    for i in &instances {
        pids.push(pid_of(dir.path(), i).await);
    }
    assert!(pids.iter().all(|&p| alive(p)));

    // Idempotent: the same target launches nothing.
    d.set_target("web", 3, &OpId::new("op-1")).await.unwrap();
    assert_eq!(d.instances("web").await.unwrap(), instances);

    d.remove("web", &[instances[1].id.clone()], &OpId::new("op-2"))
        .await
        .unwrap();
    assert!(
        !alive(pids[1]),
        "removed child is gone (reaped, not a zombie)"
    );
    let left = d.instances("web").await.unwrap();
    assert_eq!(left.len(), 2);
    // The target dropped with the removal: a resync launches nothing new.
    d.set_target("web", 2, &OpId::new("op-3")).await.unwrap();
    assert_eq!(d.instances("web").await.unwrap().len(), 2);

    d.shutdown().await.unwrap();
    assert!(!alive(pids[0]) && !alive(pids[2]));
    assert!(d.instances("web").await.unwrap().is_empty());
}

#[tokio::test]
async fn crashed_child_is_replaced_on_the_next_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(dir.path(), 47_200..=47_299, false);
    d.set_target("web", 2, &OpId::new("op-1")).await.unwrap();
    let before = d.instances("web").await.unwrap();
    let victim = pid_of(dir.path(), &before[0]).await;
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while d.instances("web").await.unwrap().len() == 2 {
        assert!(Instant::now() < deadline, "the crash was never noticed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    d.set_target("web", 2, &OpId::new("op-2")).await.unwrap();
    let after = d.instances("web").await.unwrap();
    assert_eq!(after.len(), 2);
    assert!(
        !after.iter().any(|i| i.id == before[0].id),
        "a new instance replaced the crashed one"
    );
    d.shutdown().await.unwrap();
}

#[tokio::test]
async fn sigterm_is_followed_by_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(dir.path(), 47_300..=47_399, true);
    d.set_target("web", 1, &OpId::new("op-1")).await.unwrap();
    let instance = d.instances("web").await.unwrap().remove(0);
    let pid = pid_of(dir.path(), &instance).await;
    let started = Instant::now();
    d.remove("web", &[instance.id], &OpId::new("op-2"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "waited for the grace period"
    );
    assert!(!alive(pid));
}

#[tokio::test]
async fn an_exhausted_port_range_is_out_of_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(dir.path(), 47_400..=47_401, false);
    let err = d
        .set_target("web", 3, &OpId::new("op-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::OutOfCapacity);
    // Both ports went to children (fewer if something else on the machine holds one).
    assert!(d.instances("web").await.unwrap().len() <= 2);
    d.shutdown().await.unwrap();
}
