//! Errors in `[driver.NAME]`: unknown and unsupported kinds, keys of another kind,
//! missing required keys, and malformed commands, port ranges, regions, env and URLs.

mod support;

use support::assert_invalid;

/// A valid file followed by `[driver.d]` on line 7 and `lines` from line 8 on.
fn driver(lines: &str) -> String {
    format!("[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n\n[driver.d]\n{lines}\n")
}

/// `driver` with a complete process driver whose `extra` line is line 11.
fn process(extra: &str) -> String {
    driver(&format!(
        "kind = \"process\"\ncommand = [\"serve\", \"{{port}}\"]\nports = \"9100-9199\"\n{extra}"
    ))
}

#[test]
fn unknown_driver_kind() {
    assert_invalid(
        &driver("kind = \"docker\""),
        8,
        8,
        "unknown driver kind \"docker\"",
        "use one of: static, process, exec, http",
    );
}

#[test]
fn kubernetes_is_not_supported_yet() {
    assert_invalid(
        &driver("kind = \"kubernetes\""),
        8,
        8,
        "driver kind kubernetes is not supported yet",
        "use kind = \"exec\" or kind = \"http\" to call your cloud's API",
    );
}

#[test]
fn aws_asg_needs_a_region_and_a_port() {
    assert_invalid(
        &driver("kind = \"aws_asg\"\nport = 8080"),
        7,
        9,
        "driver \"d\" of kind aws_asg has no region",
        "add region = \"eu-west-1\"",
    );
    assert_invalid(
        &driver("kind = \"aws_asg\"\nregion = \"eu-west-1\""),
        7,
        9,
        "driver \"d\" of kind aws_asg has no port",
        "add port = 8080",
    );
    assert_invalid(
        &driver("kind = \"aws_asg\"\nregion = \"eu-west-1\"\nport = 0"),
        10,
        8,
        "port",
        "the port the group's instances serve on",
    );
    assert_invalid(
        &driver("kind = \"aws_asg\"\nregion = \"eu-west-1\"\nport = 8080\nurl = \"http://x\""),
        11,
        1,
        "url does not apply to an aws_asg driver",
        "region, group, port, endpoint, ec2_endpoint, timeout",
    );
}

#[test]
fn driver_without_kind() {
    assert_invalid(
        &driver("url = \"http://127.0.0.1:7000\""),
        7,
        1,
        "missing key `kind`",
        "add `kind = ...`",
    );
}

#[test]
fn unknown_driver_key() {
    assert_invalid(
        &driver("kind = \"static\"\nbackends = []"),
        9,
        1,
        "unknown key `backends`",
        "valid keys here: kind, command, ports",
    );
}

#[test]
fn key_of_another_kind_on_a_static_driver() {
    assert_invalid(
        &driver("kind = \"static\"\nports = \"9100-9199\""),
        9,
        1,
        "ports does not apply to a static driver",
        "remove ports; a static driver takes only kind",
    );
}

#[test]
fn first_foreign_key_in_file_order_is_reported() {
    assert_invalid(
        &driver("kind = \"exec\"\nlist = [\"l\"]\nlaunch = [\"a\"]\nremove = [\"r\"]\n  token = \"t\"\nregions = [\"eu\"]"),
        12,
        3,
        "token does not apply to an exec driver",
        "an exec driver takes kind, list, launch, remove, timeout",
    );
}

#[test]
fn foreign_key_inside_an_inline_driver_table() {
    let text = "[[listener]]\naddress = \"127.0.0.1:8080\"\n\n[pool.web]\nbackends = [\"127.0.0.1:9001\"]\n\n[driver]\nhook = { kind = \"http\", url = \"http://h\", command = [\"x\"] }\n";
    assert_invalid(
        text,
        8,
        43,
        "command does not apply to an http driver",
        "an http driver takes kind, url, token, timeout",
    );
}

#[test]
fn process_driver_without_command() {
    assert_invalid(
        &driver("kind = \"process\"\nports = \"9100-9199\""),
        7,
        9,
        "driver \"d\" of kind process has no command",
        "add command = [\"tidegate\", \"backend\", \"--port\", \"{port}\"] to [driver.d]",
    );
}

#[test]
fn process_driver_without_ports() {
    assert_invalid(
        &driver("kind = \"process\"\ncommand = [\"serve\", \"{port}\"]"),
        7,
        9,
        "driver \"d\" of kind process has no ports",
        "add ports = \"9100-9199\" to [driver.d]",
    );
}

#[test]
fn empty_command() {
    assert_invalid(
        &driver("kind = \"process\"\ncommand = []\nports = \"9100-9199\""),
        9,
        11,
        "command is empty",
        "write the program and its arguments",
    );
}

#[test]
fn command_without_port() {
    assert_invalid(
        &driver("kind = \"process\"\ncommand = [\"serve\", \"--port\", \"9000\"]\nports = \"9100-9199\""),
        9,
        11,
        "command never mentions {port}",
        "\"--port\", \"{port}\"",
    );
}

#[test]
fn ports_that_are_not_a_range() {
    for ports in ["9100-70000", "a-b", "", "9100-9199-9299"] {
        let text = driver(&format!(
            "kind = \"process\"\ncommand = [\"serve\", \"{{port}}\"]\nports = \"{ports}\""
        ));
        assert_invalid(
            &text,
            10,
            9,
            &format!("ports = \"{ports}\" is not a port range"),
            "write \"FIRST-LAST\"",
        );
    }
}

#[test]
fn ports_starting_at_zero() {
    assert_invalid(
        &driver("kind = \"process\"\ncommand = [\"serve\", \"{port}\"]\nports = \"0-10\""),
        10,
        9,
        "ports must start at 1 or above",
        "start the range at 1 or above",
    );
}

#[test]
fn ports_running_backwards() {
    assert_invalid(
        &driver("kind = \"process\"\ncommand = [\"serve\", \"{port}\"]\nports = \"9199-9100\""),
        10,
        9,
        "ports range \"9199-9100\" runs backwards",
        "write the lower port first: \"9100-9199\"",
    );
}

#[test]
fn region_listed_twice() {
    assert_invalid(
        &process("regions = [\"eu-west\", \"eu-west\"]"),
        11,
        23,
        "region \"eu-west\" is listed twice",
        "list each region once",
    );
}

#[test]
fn empty_region() {
    assert_invalid(
        &process("regions = [\"\"]"),
        11,
        12,
        "region must not be empty",
        "give region a value",
    );
}

#[test]
fn unusable_env_name() {
    assert_invalid(
        &process("env = { \"A=B\" = \"x\" }"),
        11,
        9,
        "\"A=B\" is not a usable environment variable",
        "a name without '='",
    );
}

#[test]
fn exec_driver_without_remove() {
    assert_invalid(
        &driver("kind = \"exec\"\nlist = [\"./list\"]\nlaunch = [\"./launch\"]"),
        7,
        9,
        "driver \"d\" of kind exec has no remove",
        "add remove = [\"./remove.sh\"] to [driver.d]",
    );
}

#[test]
fn exec_driver_with_an_empty_program() {
    assert_invalid(
        &driver("kind = \"exec\"\nlist = [\"\"]\nlaunch = [\"./launch\"]\nremove = [\"./remove\"]"),
        9,
        9,
        "list must not be empty",
        "give list a value",
    );
}

#[test]
fn exec_driver_zero_timeout() {
    assert_invalid(
        &driver(
            "kind = \"exec\"\nlist = [\"l\"]\nlaunch = [\"a\"]\nremove = [\"r\"]\ntimeout = \"0s\"",
        ),
        12,
        11,
        "timeout must be greater than zero",
        "like \"30s\"",
    );
}

#[test]
fn http_driver_without_url() {
    assert_invalid(
        &driver("kind = \"http\""),
        7,
        9,
        "driver \"d\" of kind http has no url",
        "add url = \"http://127.0.0.1:7000/pools\" to [driver.d]",
    );
}

#[test]
fn http_driver_with_a_non_http_url() {
    for url in ["ftp://example.com/pools", "127.0.0.1:7000", "https://"] {
        assert_invalid(
            &driver(&format!("kind = \"http\"\nurl = \"{url}\"")),
            9,
            7,
            &format!("url \"{url}\" is not an http:// or https:// URL"),
            "url = \"http://127.0.0.1:7000/pools\"",
        );
    }
}

#[test]
fn http_driver_with_an_empty_token() {
    assert_invalid(
        &driver("kind = \"http\"\nurl = \"http://127.0.0.1:7000\"\ntoken = \"\""),
        10,
        9,
        "token must not be empty",
        "give token a value",
    );
}
