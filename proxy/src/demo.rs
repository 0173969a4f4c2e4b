//! `tidegate demo`: the whole data plane on one machine, from the binary alone.
//!
//! Four built-in backends in two regions (one of them ten times slower) run in
//! this process; the proxy routes over them with `region_affinity` and
//! `peak_ewma` inside each region. The configuration is ordinary TOML, printed by
//! `tidegate demo --print-config`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::backend_server::{self, BackendOptions};
use crate::server::{BoundListener, Proxy};
use crate::StartError;

/// The embedded configuration; `{listen}` and `{port.N}` are filled in at start.
const DEMO_CONFIG: &str = r#"# Tidegate demo: one listener in eu-west, four backends in two regions.
[server]
threads = 1
grace_period = "5s"

[admin]
address = "{admin}"           # admin API, /metrics

[[listener]]
name = "demo"
address = "{listen}"
region = "eu-west"            # requests without a region header stay in eu-west

[pool.demo]
policy = "region_affinity"
within = "peak_ewma"          # inside a region, avoid the slow backend
fallback = ["eu-west", "us-east"]
spill_in_flight = 16          # spill to the next region when every backend is this busy
region_header = "x-tidegate-region"
backends = [
  { address = "127.0.0.1:{port.0}", region = "eu-west" },
  { address = "127.0.0.1:{port.1}", region = "eu-west" },  # the slow one
  { address = "127.0.0.1:{port.2}", region = "us-east" },
  { address = "127.0.0.1:{port.3}", region = "us-east" },
]

# /agents goes to a pool the autoscaler grows and shrinks with real processes.
[[route]]
path_prefix = "/agents"
pool = "agents"

[[route]]
path_prefix = "/"
pool = "demo"

[pool.agents]
policy = "region_affinity"
within = "least_conn"
fallback = ["eu-west", "us-east"]

[pool.agents.scaler]
driver = "local"
min = 2
max = 8
target_in_flight = 4          # each instance should hold about 4 requests at once
stable_window = "20s"
panic_window = "4s"
scale_down_delay = "30s"      # shrink only after load has stayed low this long

[driver.local]
kind = "process"
command = ["tidegate", "backend", "--port", "{port}", "--region", "{region}", "--latency", "50ms", "--jitter", "10ms", "--exit-with-parent"]
ports = "{ports}"
regions = ["eu-west", "us-east"]
"#;

/// The built-in backends: region and latency of each.
const BACKENDS: [(&str, Duration); 4] = [
    ("eu-west", Duration::from_millis(5)),
    ("eu-west", Duration::from_millis(50)),
    ("us-east", Duration::from_millis(5)),
    ("us-east", Duration::from_millis(5)),
];

/// Ports the demo's autoscaled backends listen on.
const SCALED_PORTS: &str = "19100-19199";

/// The demo's configuration text for a listen address, an admin address and
/// backend ports.
pub fn config_text(listen: SocketAddr, admin: SocketAddr, ports: &[u16]) -> String {
    let mut text = DEMO_CONFIG
        .replace("{listen}", &listen.to_string())
        .replace("{admin}", &admin.to_string())
        .replace("{ports}", SCALED_PORTS);
    for (i, port) in ports.iter().enumerate() {
        text = text.replace(&format!("{{port.{i}}}"), &port.to_string());
    }
    text
}

/// Starts the backends and serves the demo until SIGTERM or SIGINT.
pub fn run(
    listen: SocketAddr,
    admin: SocketAddr,
    metrics: Option<PrometheusHandle>,
) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| StartError::Runtime {
            what: "the demo backends",
            source,
        })?;
    let listeners = runtime.block_on(async {
        let mut listeners = Vec::new();
        for _ in BACKENDS {
            listeners.push(backend_server::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?);
        }
        Ok::<_, StartError>(listeners)
    })?;
    let ports: Vec<u16> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect();
    let config = tidegate_conf::parse(&config_text(listen, admin, &ports), "<demo>")?;

    std::thread::Builder::new()
        .name("tidegate-demo-backends".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (listener, (region, latency)) in listeners.into_iter().zip(BACKENDS) {
                    let options = BackendOptions {
                        latency,
                        jitter: latency / 5,
                        region: Some(region.to_string()),
                        fail_rate: 0.0,
                        fail_status: None,
                    };
                    tasks.spawn(backend_server::serve(
                        listener,
                        options,
                        std::future::pending(),
                    ));
                }
                while tasks.join_next().await.is_some() {}
            });
        })
        .map_err(|source| StartError::Runtime {
            what: "the demo backends",
            source,
        })?;

    let proxy = Proxy::bind(&config, None, metrics)?;
    proxy.run(|listeners, admin| print_banner(listeners, admin, &ports))
}

fn print_banner(listeners: &[BoundListener], admin: Option<SocketAddr>, ports: &[u16]) {
    let Some(url) = listeners.first().map(|l| format!("http://{}", l.address())) else {
        return;
    };
    let admin_url = admin.map_or_else(|| "(disabled)".to_string(), |a| format!("http://{a}"));
    let backend = |i: usize| {
        let (_, latency) = BACKENDS[i];
        format!(
            "127.0.0.1:{} ({} ms)",
            ports.get(i).copied().unwrap_or(0),
            latency.as_millis()
        )
    };
    println!(
        "Tidegate demo is running.

  proxy      {url}   (listener region eu-west)
  admin      {admin_url}   (GET /api/v1/pools, /api/v1/pools/agents/scaler, /metrics)
  dashboard  {admin_url}/   (open it in a browser: pools, backends, scaler decisions)
  pool demo    region_affinity, peak_ewma inside each region (routes /)
  pool agents  autoscaled by the process driver, 2 to 8 instances (routes /agents)
    eu-west  {} and {}  <- ten times slower
    us-east  {} and {}

Try:
  curl {url}/
      served in eu-west, the listener's region
  curl -H 'x-tidegate-region: us-east' {url}/
      the region header picks us-east
  for i in $(seq 100); do curl -s {url}/; done | sort | uniq -c
      peak_ewma sends most eu-west requests to the fast backend, not the slow one
  curl {admin_url}/api/v1/pools/demo
      each backend's state, in-flight requests, EWMA and latency

Watch it scale (pool agents: 2 to 8 processes of `tidegate backend`, 50 ms each):
  for c in $(seq 20); do (for i in $(seq 400); do curl -s -o /dev/null {url}/agents; done &) ; done
      20 clients keep about 20 requests in flight; at 4 per instance the pool grows
  watch -n1 'curl -s {admin_url}/api/v1/pools/agents/scaler'
      desired, ready, pending and draining instances, and why; instances join as pending,
      then ready; 30 s after the load stops they drain and go
  curl '{admin_url}/api/v1/scaler/events?pool=agents&limit=3'
      the last decisions: signals, recommendations, reason, and each driver call
  curl -X PUT -d '{{\"desired\":6}}' {admin_url}/api/v1/pools/agents/scaler
      set the count by hand ('{{\"desired\":null}}' hands it back; '{{\"paused\":true}}' holds it)
  tidegate demo --print-config
      the TOML this demo runs (with placeholder ports for its built-in backends)

Ctrl-C stops it.",
        backend(0),
        backend(1),
        backend(2),
        backend(3),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid() {
        let text = config_text(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 9901)),
            &[9001, 9002, 9003, 9004],
        );
        let config = tidegate_conf::parse(&text, "<demo>").unwrap();
        assert_eq!(config.pools[0].backends.len(), 4);
    }
}
