//! `[admin]` and listener `tls` as read: the admin defaults, and certificate paths
//! resolved against the configuration file's directory (or the current directory
//! for text parsed without a file).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tidegate_conf::{load, parse, parse_in, Admin, CertKey, Config, ListenerTls};

const POOL: &str = "[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n";

fn valid(text: &str) -> Config {
    match parse(text, "test.toml") {
        Ok(config) => config,
        Err(error) => panic!("{error}"),
    }
}

fn addr(text: &str) -> SocketAddr {
    match text.parse() {
        Ok(address) => address,
        Err(error) => panic!("{text}: {error}"),
    }
}

#[test]
fn an_empty_admin_table_takes_the_defaults() {
    let config = valid(&format!(
        "[admin]\n\n[[listener]]\naddress = \"127.0.0.1:8080\"\n\n{POOL}"
    ));
    assert_eq!(
        config.admin,
        Some(Admin {
            address: addr("127.0.0.1:9901"),
            token: None,
        })
    );
    assert_eq!(Admin::DEFAULT_ADDRESS, addr("127.0.0.1:9901"));
}

#[test]
fn admin_off_loopback_with_a_token_is_accepted() {
    let config = valid(&format!(
        "[admin]\naddress = \"0.0.0.0:9901\"\ntoken = \"s3cret\"\n\n[[listener]]\naddress = \"0.0.0.0:8080\"\n\n{POOL}"
    ));
    assert_eq!(
        config.admin,
        Some(Admin {
            address: addr("0.0.0.0:9901"),
            token: Some("s3cret".to_owned()),
        })
    );
    let summary = config.summary();
    assert!(
        summary.contains("admin: 0.0.0.0:9901 (bearer token required)"),
        "{summary}"
    );
    assert!(!summary.contains("s3cret"), "the summary shows no secret");
}

#[test]
fn ipv6_loopback_admin_needs_no_token() {
    let config = valid(&format!(
        "[admin]\naddress = \"[::1]:9901\"\n\n[[listener]]\naddress = \"127.0.0.1:8080\"\n\n{POOL}"
    ));
    assert_eq!(config.admin.map(|admin| admin.token), Some(None));
}

/// A directory holding `cert.pem`, `key.pem`, `other/cert.pem`, `other/key.pem`
/// (contents are not PEM: they are not parsed here) and `tidegate.toml` with `listener`.
fn config_dir(listener: &str) -> tempfile::TempDir {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("{error}"),
    };
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        let written = path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::write(&path, text));
        if let Err(error) = written {
            panic!("{}: {error}", path.display());
        }
    };
    for file in ["cert.pem", "key.pem", "other/cert.pem", "other/key.pem"] {
        write(file, "not parsed at load time");
    }
    write(
        "tidegate.toml",
        &format!("[[listener]]\naddress = \"127.0.0.1:8443\"\n{listener}\n\n{POOL}"),
    );
    dir
}

fn tls_of(config: &Config) -> ListenerTls {
    match &config.listeners[0].tls {
        Some(tls) => tls.clone(),
        None => panic!("the listener has tls"),
    }
}

#[test]
fn tls_paths_resolve_against_the_config_files_directory() {
    let dir = config_dir("tls = { cert = \"cert.pem\", key = \"other/key.pem\" }");
    let config = load(&dir.path().join("tidegate.toml")).unwrap();
    assert_eq!(
        tls_of(&config),
        ListenerTls {
            certs: vec![CertKey {
                cert: dir.path().join("cert.pem"),
                key: dir.path().join("other/key.pem"),
            }],
        }
    );
    let summary = config.summary();
    assert!(summary.contains("    tls: "), "{summary}");
}

#[test]
fn several_certificates_keep_their_order() {
    let dir = config_dir(
        "tls = { certs = [{ cert = \"cert.pem\", key = \"key.pem\" }, { cert = \"other/cert.pem\", key = \"other/key.pem\" }] }",
    );
    let config = load(&dir.path().join("tidegate.toml")).unwrap();
    let certs: Vec<PathBuf> = tls_of(&config)
        .certs
        .into_iter()
        .map(|pair| pair.cert)
        .collect();
    assert_eq!(
        certs,
        [
            dir.path().join("cert.pem"),
            dir.path().join("other/cert.pem")
        ]
    );
}

#[test]
fn absolute_tls_paths_are_kept() {
    let dir = config_dir("");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let text = format!(
        "[[listener]]\naddress = \"127.0.0.1:8443\"\ntls = {{ cert = \"{}\", key = \"{}\" }}\n\n{POOL}",
        cert.display(),
        key.display()
    );
    let config = parse_in(&text, "t.toml", Path::new("/nonexistent")).unwrap();
    assert_eq!(tls_of(&config).certs, [CertKey { cert, key }]);
}

#[test]
fn parse_in_resolves_against_the_given_directory() {
    let dir = config_dir("");
    let text = format!(
        "[[listener]]\naddress = \"127.0.0.1:8443\"\ntls = {{ cert = \"other/cert.pem\", key = \"other/key.pem\" }}\n\n{POOL}"
    );
    let config = parse_in(&text, "t.toml", dir.path()).unwrap();
    assert_eq!(
        tls_of(&config).certs[0].key,
        dir.path().join("other/key.pem")
    );
}

#[test]
fn parse_resolves_against_the_current_directory() {
    // cargo runs integration tests in the package directory, conf/.
    let text = format!(
        "[[listener]]\naddress = \"127.0.0.1:8443\"\ntls = {{ cert = \"examples/certs/cert.pem\", key = \"examples/certs/key.pem\" }}\n\n{POOL}"
    );
    let config = valid(&text);
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        tls_of(&config).certs,
        [CertKey {
            cert: cwd.join("examples/certs/cert.pem"),
            key: cwd.join("examples/certs/key.pem"),
        }]
    );
}

#[test]
fn a_missing_certificate_names_the_resolved_path() {
    let dir = config_dir("tls = { cert = \"cert.pem\", key = \"missing-key.pem\" }");
    let path = dir.path().join("tidegate.toml");
    let error = load(&path).unwrap_err().to_string();
    let expected = format!(
        "{}:3:34: tls key file \"missing-key.pem\" does not exist\n  hint: create {}, or fix the path",
        path.display(),
        dir.path().join("missing-key.pem").display()
    );
    assert!(error.starts_with(&expected), "{error}");
}

#[test]
fn a_directory_is_not_a_certificate() {
    let dir = config_dir("tls = { cert = \"other\", key = \"key.pem\" }");
    let error = load(&dir.path().join("tidegate.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(":3:16: tls cert \"other\" is a directory"),
        "{error}"
    );
    assert!(error.contains("hint: point cert at a PEM file"), "{error}");
}
