//! The autoscaler end to end: the `process` driver launches real `tidegate
//! backend` processes as load rises, drains and stops them as it falls, and no
//! request is lost on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use tidegate_tests::{
    backend, client, config_file, failures, get, load, proxy, proxy_with_admin, send, Process,
};

/// A block of `n` consecutive ports that are free right now, and that no other
/// test of this process was given (the tests run at the same time, and a block
/// is free until its instances start).
fn free_port_block(n: u16) -> u16 {
    static CALLS: AtomicU16 = AtomicU16::new(0);
    let seed = u16::try_from(std::process::id() % 2_000).unwrap();
    let first = CALLS.fetch_add(1, Ordering::Relaxed) * 97;
    for step in first..first + 2_000u16 {
        let base = 30_000 + ((seed + step * 7) % 2_000) * 16;
        let free = (base..base + n).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free block of {n} ports");
}

fn port_is_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_grows_under_load_and_shrinks_after_without_losing_a_request() {
    let base = free_port_block(12);
    let last = base + 11;
    let config = config_file(&format!(
        "[server]\ngrace_period = \"5s\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"least_conn\"\n\n\
         [pool.p.scaler]\ndriver = \"local\"\nmin = 1\nmax = 6\ntarget_in_flight = 4\n\
         stable_window = \"6s\"\npanic_window = \"2s\"\nscale_down_delay = \"5s\"\n\n\
         [driver.local]\nkind = \"process\"\n\
         command = [\"tidegate\", \"backend\", \"--port\", \"{{port}}\", \"--latency\", \"50ms\"]\n\
         ports = \"{base}-{last}\"\n"
    ));
    let proxy = proxy(&config, 1);
    let addr = proxy.addr();
    let started = Instant::now();
    proxy
        .wait_for_log(
            &["health check passing"],
            started - Duration::from_secs(60),
            Duration::from_secs(10),
        )
        .expect("the first instance becomes ready");

    let gentle = load(addr, "/", &[], 40, 1).await;
    assert!(
        failures(&gentle).is_empty(),
        "{:?}",
        failures(&gentle).first()
    );

    let rising = Instant::now();
    let busy = tokio::spawn(load(addr, "/", &[], 4_000, 20));
    let mut ready_at = None;
    while rising.elapsed() < Duration::from_secs(15) {
        if proxy.count_logs(&["health check passing"]) >= 4 {
            ready_at = Some(rising.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_at = ready_at.expect("four instances ready within 15 s of the load rising");
    println!("4 instances ready {ready_at:?} after the load rose to 20 clients");
    let answers = busy.await.unwrap();
    let failed = failures(&answers);
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        failed.first()
    );

    let quiet = Instant::now();
    let launched = proxy.count_logs(&["backend process started"]);
    assert!(launched <= 6, "never above max: {launched} launched");
    let mut back_to_one = None;
    while quiet.elapsed() < Duration::from_secs(30) {
        let removed = proxy.count_logs(&["backend drained and removed"]);
        if launched - removed == 1 {
            back_to_one = Some(quiet.elapsed());
            break;
        }
        // A trickle of traffic during scale-down must not fail either.
        let trickle = load(addr, "/", &[], 10, 2).await;
        assert!(
            failures(&trickle).is_empty(),
            "{:?}",
            failures(&trickle).first()
        );
    }
    let back_to_one = back_to_one.expect("the pool returns to one instance");
    println!("back to 1 instance {back_to_one:?} after the load stopped (scale_down_delay 5s)");

    proxy.send_sigterm();
    let status = tokio::task::spawn_blocking(move || proxy.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let orphans: Vec<u16> = (base..=last).filter(|p| port_is_open(*p)).collect();
    assert!(
        orphans.is_empty(),
        "backend processes left behind on ports {orphans:?}"
    );
}

/// GETs `path` from the admin API as JSON.
async fn admin_json(proxy: &Process, path: &str) -> serde_json::Value {
    let reply = send(&client(), Method::GET, proxy.admin_addr(), path, &[], "")
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// The admin API's Prometheus text.
async fn admin_metrics(proxy: &Process) -> String {
    let reply = send(
        &client(),
        Method::GET,
        proxy.admin_addr(),
        "/metrics",
        &[],
        "",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Polls the audit trail until an event's failed action message contains `needle`.
async fn wait_for_failed_action(
    proxy: &Process,
    needle: &str,
    within: Duration,
) -> serde_json::Value {
    let started = Instant::now();
    while started.elapsed() < within {
        let events = admin_json(proxy, "/api/v1/scaler/events?pool=p&limit=50").await;
        let found = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|event| {
                event["actions"].as_array().unwrap().iter().find(|action| {
                    action["result"]["status"] == "failed"
                        && action["result"]["message"]
                            .as_str()
                            .is_some_and(|m| m.contains(needle))
                })
            });
        if let Some(action) = found {
            return action.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no failed driver call mentioning {needle:?} within {within:?}");
}

/// The value of the sample `name{labels}` in the Prometheus text `metrics`.
fn sample(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(name_and_labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_exec_driver_backs_off_is_audited_and_the_loop_recovers() {
    let instance = backend(0, None);
    let dir = tempfile::tempdir().unwrap();
    let mode = dir.path().join("mode");
    let script = dir.path().join("cloud.sh");
    // `fail` exits 1, `hang` outlives the driver's timeout, `ok` lists the backend.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh
             case \"$(cat {mode})\" in
               fail) echo 'cloud API unavailable' >&2; exit 1 ;;
               hang) exec sleep 5 ;;
             esac
             if [ \"$1\" = list ]; then echo '[{{\"id\":\"vm-1\",\"address\":\"{addr}\"}}]'; else echo '{{}}'; fi
",
            mode = mode.display(),
            addr = instance.addr(),
        ),
    )
    .unwrap();
    std::fs::write(&mode, "fail").unwrap();
    let script = script.display();
    let config = config_file(&format!(
        "[admin]\naddress = \"127.0.0.1:0\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"least_conn\"\n\n\
         [pool.p.scaler]\ndriver = \"cloud\"\nmin = 1\nmax = 2\n\n\
         [driver.cloud]\nkind = \"exec\"\ntimeout = \"300ms\"\n\
         list = [\"sh\", \"{script}\", \"list\"]\n\
         launch = [\"sh\", \"{script}\", \"launch\"]\n\
         remove = [\"sh\", \"{script}\", \"remove\"]\n"
    ));
    let proxy = proxy_with_admin(&config, 1);

    // A script that fails: the failure is audited, counted, and the loop backs off.
    let failed = wait_for_failed_action(&proxy, "exited with", Duration::from_secs(10)).await;
    assert_eq!(failed["action"]["kind"], "list", "{failed}");
    assert_eq!(failed["result"]["error"], "transient", "{failed}");
    let status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    assert!(status["backoff_until"].is_string(), "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("cloud API unavailable"),
        "{status}"
    );

    // A script that hangs past the timeout: killed, audited as a timeout.
    std::fs::write(&mode, "hang").unwrap();
    let timed_out = wait_for_failed_action(&proxy, "timed out", Duration::from_secs(15)).await;
    assert_eq!(timed_out["result"]["error"], "transient", "{timed_out}");
    let metrics = admin_metrics(&proxy).await;
    let errors = sample(&metrics, "tidegate_driver_errors_total{driver=\"cloud\"}")
        .expect("the driver's error counter is exported");
    assert!(errors >= 2.0, "{errors} driver errors counted");
    assert!(
        sample(
            &metrics,
            "tidegate_scaler_decisions_total{pool=\"p\",direction=\"none\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "the loop kept deciding while the driver failed"
    );

    // The script works again: after its backoff the loop lists the instance, which
    // joins the pool once its health check passes, and serves.
    std::fs::write(&mode, "ok").unwrap();
    let recovering = Instant::now();
    let http = client();
    let mut served = false;
    while recovering.elapsed() < Duration::from_secs(30) {
        if get(&http, proxy.addr(), "/", &[])
            .await
            .is_ok_and(|answer| answer.status == 200)
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the pool serves once the driver recovers");
    println!(
        "{errors} driver errors counted; serving {:?} after the script was fixed",
        recovering.elapsed()
    );
    // The loop's status catches up on its next tick.
    let mut status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    let settling = Instant::now();
    while status["ready"] != 1 && settling.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    }
    assert_eq!(status["ready"], 1, "{status}");
    let metrics = admin_metrics(&proxy).await;
    assert_eq!(
        sample(&metrics, "tidegate_scaler_desired_instances{pool=\"p\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "tidegate_pool_instances{pool=\"p\",state=\"ready\"}"
        ),
        Some(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_pauses_resumes_and_sets_the_count_by_hand() {
    let base = free_port_block(4);
    let last = base + 3;
    let config = config_file(&format!(
        "[admin]\naddress = \"127.0.0.1:0\"\n\n[[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"least_conn\"\n\n\
         [pool.p.scaler]\ndriver = \"local\"\nmin = 1\nmax = 3\n\
         cost = {{ per_instance_hour = 0.25 }}\n\n\
         [driver.local]\nkind = \"process\"\n\
         command = [\"tidegate\", \"backend\", \"--port\", \"{{port}}\"]\n\
         ports = \"{base}-{last}\"\n"
    ));
    let proxy = proxy_with_admin(&config, 1);
    let admin = proxy.admin_addr();
    let http = client();
    let put = |body: &'static str| {
        let http = http.clone();
        async move {
            let reply = send(
                &http,
                Method::PUT,
                admin,
                "/api/v1/pools/p/scaler",
                &[],
                body,
            )
            .await
            .unwrap();
            assert_eq!(reply.status, 200, "{body}: {}", reply.body);
            serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()
        }
    };
    let ready = |n: u64, within: Duration| {
        let proxy = &proxy;
        async move {
            let started = Instant::now();
            while started.elapsed() < within {
                let status = admin_json(proxy, "/api/v1/pools/p/scaler").await;
                if status["ready"] == n && status["pending"] == 0 && status["draining"] == 0 {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("the pool did not settle at {n} ready instances within {within:?}");
        }
    };
    ready(1, Duration::from_secs(10)).await;

    // Manual count: the loop launches two more, and they join after their checks.
    let body = put(r#"{"desired":3}"#).await;
    assert_eq!(body["overrides"]["desired"], 3);
    let took = ready(3, Duration::from_secs(15)).await;
    println!("3 ready {took:?} after PUT desired=3");
    let status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    assert_eq!(status["reason"]["kind"], "manual", "{status}");
    let metrics = admin_metrics(&proxy).await;
    assert_eq!(
        sample(&metrics, "tidegate_scaler_desired_instances{pool=\"p\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(&metrics, "tidegate_cost_per_hour{pool=\"p\"}"),
        Some(0.75)
    );
    assert!(sample(
        &metrics,
        "tidegate_scaler_decisions_total{pool=\"p\",direction=\"up\"}"
    )
    .is_some_and(|n| n >= 1.0));

    // Paused with the count handed back: it holds at 3 although the pool is idle.
    put(r#"{"paused":true,"desired":null}"#).await;
    let mut ticks = std::collections::BTreeSet::new();
    let mut status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    while ticks.len() < 4 {
        ticks.insert(status["updated_at"].as_str().unwrap().to_string());
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = admin_json(&proxy, "/api/v1/pools/p/scaler").await;
    }
    assert_eq!(
        (status["desired"].as_u64(), status["ready"].as_u64()),
        (Some(3), Some(3)),
        "{status}"
    );
    assert_eq!(status["reason"]["kind"], "paused", "{status}");

    // Resumed with max 1: the idle pool drains back down to one instance.
    put(r#"{"paused":false,"max":1}"#).await;
    let took = ready(1, Duration::from_secs(20)).await;
    println!("back to 1 ready {took:?} after resume with max=1");
    let events = admin_json(&proxy, "/api/v1/scaler/events?pool=p&limit=1000").await;
    let drained = events["events"].as_array().unwrap().iter().any(|event| {
        event["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"]["kind"] == "drain")
    });
    assert!(drained, "the scale-down drained its victims first");
    let answers = load(proxy.addr(), "/", &[], 50, 4).await;
    assert!(
        failures(&answers).is_empty(),
        "{:?}",
        failures(&answers).first()
    );

    proxy.send_sigterm();
    let status = tokio::task::spawn_blocking(move || proxy.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    let orphans: Vec<u16> = (base..=last).filter(|p| port_is_open(*p)).collect();
    assert!(orphans.is_empty(), "instances left behind on {orphans:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_scaled_to_zero_wakes_on_a_request_and_goes_back_to_zero() {
    let base = free_port_block(4);
    let last = base + 3;
    let config = config_file(&format!(
        "[server]\ngrace_period = \"5s\"\n\n[admin]\naddress = \"127.0.0.1:0\"\n\n\
         [[listener]]\naddress = \"127.0.0.1:0\"\n\n\
         [pool.p]\npolicy = \"least_conn\"\n\n\
         [pool.p.scaler]\ndriver = \"local\"\nmin = 0\nmax = 2\ntarget_in_flight = 4\n\
         stable_window = \"2s\"\npanic_window = \"1s\"\nscale_down_delay = \"3s\"\n\n\
         [driver.local]\nkind = \"process\"\n\
         command = [\"tidegate\", \"backend\", \"--port\", \"{{port}}\"]\n\
         ports = \"{base}-{last}\"\n"
    ));
    let proxy = proxy_with_admin(&config, 1);
    let addr = proxy.addr();
    let started = Instant::now();

    // Nothing runs yet, so the first request finds no backend.
    let first = send(&client(), Method::GET, addr, "/", &[], "")
        .await
        .unwrap();
    assert_eq!(first.status, 502, "{}", first.body);
    if proxy
        .wait_for_log(&["health check passing"], started, Duration::from_secs(15))
        .is_none()
    {
        let events = admin_json(&proxy, "/api/v1/scaler/events?pool=p&limit=5").await;
        panic!("a request to the empty pool launches no instance: {events:#}");
    }
    let woke = started.elapsed();
    let reply = send(&client(), Method::GET, addr, "/", &[], "")
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(proxy.count_logs(&["backend process started"]), 1);
    println!("woken from zero {woke:?} after the first request");

    // Idle past the scale-down delay, the pool goes back to zero.
    proxy
        .wait_for_log(
            &["backend drained and removed"],
            started,
            Duration::from_secs(20),
        )
        .expect("the idle pool scales back to zero");
    let stopping = Instant::now();
    while (base..=last).any(port_is_open) && stopping.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let orphans: Vec<u16> = (base..=last).filter(|p| port_is_open(*p)).collect();
    assert!(
        orphans.is_empty(),
        "backends still listening on {orphans:?}"
    );

    proxy.send_sigterm();
    let status = tokio::task::spawn_blocking(move || proxy.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}
