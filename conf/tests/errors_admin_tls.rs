//! Errors in `[admin]` and in a listener's `tls`: exact position, message and hint.

mod support;

use support::assert_invalid;

/// A listener and a pool that are valid, to follow an `[admin]` table.
const REST: &str = r#"
[[listener]]
address = "127.0.0.1:8080"

[pool.web]
backends = ["127.0.0.1:9001"]
"#;

#[test]
fn admin_off_loopback_without_a_token() {
    let text = format!("[admin]\naddress = \"0.0.0.0:9901\"\n{REST}");
    assert_invalid(
        &text,
        2,
        11,
        "admin address 0.0.0.0:9901 is reachable from other machines, so the admin API needs a token",
        "set token = \"${TIDEGATE_ADMIN_TOKEN}\" or bind the admin API to 127.0.0.1",
    );
}

#[test]
fn empty_admin_token() {
    let text = format!("[admin]\ntoken = \"  \"\n{REST}");
    assert_invalid(&text, 2, 9, "admin token is empty", "set token to a secret");
}

#[test]
fn admin_address_of_a_listener() {
    let text = format!("[admin]\naddress = \"127.0.0.1:8080\"\n{REST}");
    assert_invalid(
        &text,
        2,
        11,
        "admin address 127.0.0.1:8080 is also the address of listener \"listener-1\"",
        "give the admin API its own port",
    );
}

#[test]
fn admin_on_all_interfaces_at_a_listeners_port() {
    let text = format!("[admin]\naddress = \"0.0.0.0:8080\"\ntoken = \"t\"\n{REST}");
    assert_invalid(
        &text,
        2,
        11,
        "is also the address of listener \"listener-1\" (127.0.0.1:8080)",
        "own port",
    );
}

#[test]
fn admin_default_address_taken_by_a_listener() {
    let text = r#"[admin]
token = "t"

[[listener]]
address = "127.0.0.1:9901"
"#;
    assert_invalid(
        text,
        1,
        1,
        "admin address 127.0.0.1:9901 is also the address of listener",
        "e.g. address = \"127.0.0.1:9901\"",
    );
}

#[test]
fn bad_admin_address() {
    let text = format!("[admin]\naddress = \"localhost:9901\"\n{REST}");
    assert_invalid(&text, 2, 11, "is not an IP:PORT address", "IP:PORT");
}

#[test]
fn unknown_admin_key() {
    let text = format!("[admin]\ntokn = \"x\"\n{REST}");
    assert_invalid(
        &text,
        2,
        1,
        "unknown key `tokn`",
        "valid keys here: address, token",
    );
}

/// A file whose only listener has the `tls` line `tls` (line 3).
fn with_tls(tls: &str) -> String {
    format!("[[listener]]\naddress = \"127.0.0.1:8443\"\n{tls}\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n")
}

#[test]
fn tls_with_both_forms() {
    assert_invalid(
        &with_tls(r#"tls = { cert = "c.pem", key = "k.pem", certs = [] }"#),
        3,
        40,
        "tls has both cert/key and certs",
        "move cert and key into certs",
    );
}

#[test]
fn tls_with_an_empty_certs_list() {
    assert_invalid(
        &with_tls("tls = { certs = [] }"),
        3,
        17,
        "tls.certs is empty",
        "list at least one certificate",
    );
}

#[test]
fn tls_cert_without_key() {
    assert_invalid(
        &with_tls(r#"tls = { cert = "c.pem" }"#),
        3,
        7,
        "tls has a cert but no key",
        "key = \"key.pem\"",
    );
}

#[test]
fn tls_key_without_cert() {
    assert_invalid(
        &with_tls(r#"tls = { key = "k.pem" }"#),
        3,
        7,
        "tls has a key but no cert",
        "cert = \"cert.pem\"",
    );
}

#[test]
fn tls_without_any_certificate() {
    assert_invalid(
        &with_tls("tls = {}"),
        3,
        7,
        "tls names no certificate",
        "write tls = { cert = \"cert.pem\", key = \"key.pem\" }",
    );
}

#[test]
fn tls_certs_entry_without_key() {
    assert_invalid(
        &with_tls(r#"tls = { certs = [{ cert = "c.pem" }] }"#),
        3,
        18,
        "missing key `key`",
        "add `key = ...`",
    );
}

#[test]
fn tls_file_that_does_not_exist() {
    // parse() resolves against the current directory, where no such file exists.
    assert_invalid(
        &with_tls(r#"tls = { cert = "nonexistent/cert.pem", key = "nonexistent/key.pem" }"#),
        3,
        16,
        "tls cert file \"nonexistent/cert.pem\" does not exist",
        "nonexistent/cert.pem, or fix the path (relative paths start at ",
    );
}

#[test]
fn tls_key_of_a_later_certificate_that_does_not_exist() {
    assert_invalid(
        &with_tls(
            r#"tls = { certs = [{ cert = "examples/certs/cert.pem", key = "examples/certs/key.pem" }, { cert = "examples/certs/cert.pem", key = "nope.pem" }] }"#,
        ),
        3,
        130,
        "tls key file \"nope.pem\" does not exist",
        "nope.pem",
    );
}

#[test]
fn unknown_tls_key() {
    assert_invalid(
        &with_tls(r#"tls = { cert = "c.pem", key = "k.pem", ca = "ca.pem" }"#),
        3,
        40,
        "unknown key `ca`",
        "valid keys here: cert, key, certs",
    );
}
