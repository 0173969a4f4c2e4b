//! The autoscaler end to end: the `process` driver launches real `tidegate
//! backend` processes as load rises, drains and stops them as it falls, and no
//! request is lost on the way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use tidegate_tests::{config_file, failures, load, proxy};

/// A block of `n` consecutive ports that are free right now.
fn free_port_block(n: u16) -> u16 {
    let seed = u16::try_from(std::process::id() % 2_000).unwrap();
    for step in 0..2_000u16 {
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
