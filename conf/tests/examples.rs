//! Every configuration in conf/examples/ loads and validates.

use std::path::Path;

#[test]
fn every_example_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            if let Err(error) = tidegate_conf::load(&path) {
                panic!("{error}");
            }
            loaded.push(path);
        }
    }
    loaded.sort();
    let names: Vec<_> = loaded
        .iter()
        .filter_map(|path| path.file_name()?.to_str())
        .collect();
    for expected in [
        "autoscaling.toml",
        "grpc.toml",
        "minimal.toml",
        "production.toml",
        "region-affinity.toml",
        "routes.toml",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[test]
fn minimal_example_routes_everything_to_its_pool() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.toml");
    let config = tidegate_conf::load(&path).unwrap();
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(config.pools.len(), 1);
    assert_eq!(config.pools[0].backends.len(), 2);
    assert_eq!(config.routes.len(), 1);
    assert_eq!(config.routes[0].pool, config.pools[0].name);
}

#[test]
fn production_example_serves_tls_from_its_certs_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = tidegate_conf::load(&dir.join("production.toml")).unwrap();
    let certs = &config.listeners[0].tls.as_ref().unwrap().certs;
    assert_eq!(
        certs,
        &[tidegate_conf::CertKey {
            cert: dir.join("certs/cert.pem"),
            key: dir.join("certs/key.pem"),
        }]
    );
    assert!(config.server.access_log);
    assert!(config.admin.is_some());
    let pool = config.pool("api").unwrap();
    assert!(pool.tls && pool.health.is_some() && pool.outlier.is_some());
}

#[test]
fn grpc_example_speaks_http2_to_its_grpc_pools_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/grpc.toml");
    let config = tidegate_conf::load(&path).unwrap();
    let protocol = |pool: &str| config.pool(pool).unwrap().protocol;
    assert_eq!(protocol("greeter"), tidegate_conf::UpstreamProtocol::H2);
    assert_eq!(protocol("billing"), tidegate_conf::UpstreamProtocol::H2);
    assert!(config.pool("billing").unwrap().tls);
    assert_eq!(protocol("web"), tidegate_conf::UpstreamProtocol::Http1);
}

#[test]
fn autoscaling_example_scales_with_the_process_driver() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/autoscaling.toml");
    let config = tidegate_conf::load(&path).unwrap();
    let scaler = config.pool("agents").unwrap().scaler.as_ref().unwrap();
    assert_eq!((scaler.min, scaler.max), (1, 6));
    assert_eq!(scaler.target_in_flight, 4.0);
    assert!(scaler.predictive.is_some() && scaler.cost.is_some());
    assert_eq!(scaler.schedule.len(), 1);
    let driver = config.driver(&scaler.driver).unwrap();
    assert!(matches!(
        &driver.kind,
        tidegate_conf::DriverKind::Process { command, .. }
            if command == &["tidegate", "backend", "--port", "{port}", "--exit-with-parent"]
    ));
    let kinds: Vec<&str> = config.drivers.iter().map(|d| d.kind.name()).collect();
    assert_eq!(kinds, ["process", "exec", "http"]);
}
