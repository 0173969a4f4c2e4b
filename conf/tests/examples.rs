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
    for expected in ["minimal.toml", "region-affinity.toml", "routes.toml"] {
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
