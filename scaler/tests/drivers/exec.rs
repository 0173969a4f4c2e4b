//! The exec driver against small shell scripts written to a temp dir.

use std::path::Path;
use std::time::{Duration, Instant};

use tidegate_scaler::driver::{ExecDriver, ExecDriverConfig};
use tidegate_scaler::{Driver, DriverErrorKind, InstanceId, OpId};

/// Writes `body` as a script and returns the argv that runs it (`sh FILE`, which
/// avoids "text file busy" races of executing a file just written).
fn script(dir: &Path, name: &str, body: &str) -> Vec<String> {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    vec!["sh".to_owned(), path.display().to_string()]
}

fn driver(dir: &Path, list: &str, launch: &str, remove: &str, timeout: Duration) -> ExecDriver {
    let config = ExecDriverConfig {
        timeout,
        ..ExecDriverConfig::new(
            script(dir, "list.sh", list),
            script(dir, "launch.sh", launch),
            script(dir, "remove.sh", remove),
        )
    };
    ExecDriver::new("scripts", config).unwrap()
}

const LIST_ONE: &str = r#"echo '[{"id":"i-1","address":"127.0.0.1:9101","region":"eu-west"}]'"#;

#[tokio::test]
async fn scripts_list_launch_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let launch = format!(
        "echo \"launch $* target=$TIDEGATE_TARGET\" >> {}; echo '[]'",
        log.display()
    );
    let remove = format!(
        "echo \"remove $*\" >> {}; echo '{{\"ok\":true}}'",
        log.display()
    );
    let d = driver(
        dir.path(),
        LIST_ONE,
        &launch,
        &remove,
        Duration::from_secs(10),
    );

    let instances = d.instances("web").await.unwrap();
    assert_eq!(instances.len(), 1);
    assert_eq!(instances[0].id, InstanceId::new("i-1"));
    assert_eq!(instances[0].address, "127.0.0.1:9101".parse().unwrap());
    assert_eq!(instances[0].region.as_deref(), Some("eu-west"));

    d.set_target("web", 3, &OpId::new("op-7")).await.unwrap();
    // At or below the listed count, nothing is launched.
    d.set_target("web", 1, &OpId::new("op-8")).await.unwrap();
    d.remove("web", &[InstanceId::new("i-1")], &OpId::new("op-9"))
        .await
        .unwrap();

    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls, "launch web 2 op-7 target=3\nremove web op-9 i-1\n");
}

#[tokio::test]
async fn bad_json_is_permanent() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(
        dir.path(),
        "echo 'not json'",
        "echo '['",
        "echo '{}'",
        Duration::from_secs(10),
    );
    let err = d.instances("web").await.unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains("no valid JSON"), "{err}");
    // JSON, but not an instance list.
    let d = driver(
        dir.path(),
        "echo '{\"id\":1}'",
        "echo '['",
        "echo '{}'",
        Duration::from_secs(10),
    );
    assert_eq!(
        d.instances("web").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
}

#[tokio::test]
async fn non_zero_exit_is_classified_by_code() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(
        dir.path(),
        "echo 'cloud said no' >&2; exit 3",
        "exit 69",
        "exit 64",
        Duration::from_secs(10),
    );
    let err = d.instances("web").await.unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Transient);
    assert!(
        err.to_string().contains("cloud said no"),
        "stderr is kept: {err}"
    );

    let d = driver(
        dir.path(),
        "echo '[]'",
        "exit 69",
        "exit 64",
        Duration::from_secs(10),
    );
    let err = d.set_target("web", 2, &OpId::new("op")).await.unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::OutOfCapacity);
    let err = d
        .remove("web", &[InstanceId::new("x")], &OpId::new("op"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Permanent);
}

#[tokio::test]
async fn timeout_is_transient_and_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let d = driver(
        dir.path(),
        "exec sleep 30",
        "echo '[]'",
        "echo '{}'",
        Duration::from_millis(300),
    );
    let started = Instant::now();
    let err = d.instances("web").await.unwrap_err();
    assert_eq!(err.kind(), DriverErrorKind::Transient);
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn missing_script_is_permanent() {
    let config = ExecDriverConfig::new(
        vec!["/nonexistent/list".into()],
        vec!["true".into()],
        vec!["true".into()],
    );
    let d = ExecDriver::new("scripts", config).unwrap();
    assert_eq!(
        d.instances("web").await.unwrap_err().kind(),
        DriverErrorKind::Permanent
    );
}
