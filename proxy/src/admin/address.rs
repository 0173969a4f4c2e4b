//! How a backend's address is written in the admin API, said twice in agreement:
//! as the pattern the OpenAPI document gives clients, and as the parser the
//! handlers use. `IP:PORT` with an IPv4 address, or an IPv6 address in brackets
//! written in hex groups, and a port from 1 to 65535 without leading zeros.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::LazyLock;

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::errors::ApiError;

/// A decimal IPv4 octet without leading zeros.
const OCTET: &str = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
/// One IPv6 group.
const GROUP: &str = "[0-9a-fA-F]{1,4}";
/// A port from 1 to 65535 without leading zeros.
const PORT: &str =
    "([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// The whole pattern, anchored: JSON Schema patterns match anywhere otherwise.
static PATTERN: LazyLock<String> = LazyLock::new(|| {
    let ipv4 = format!("{OCTET}(\\.{OCTET}){{3}}");
    // Eight groups, or fewer around one "::" (RFC 4291, section 2.2, forms 1 and 2).
    let g = GROUP;
    let ipv6 = [
        format!("({g}:){{7}}{g}"),
        format!("({g}:){{1,7}}:"),
        format!("({g}:){{1,6}}:{g}"),
        format!("({g}:){{1,5}}(:{g}){{1,2}}"),
        format!("({g}:){{1,4}}(:{g}){{1,3}}"),
        format!("({g}:){{1,3}}(:{g}){{1,4}}"),
        format!("({g}:){{1,2}}(:{g}){{1,5}}"),
        format!("{g}:(:{g}){{1,6}}"),
        format!(":((:{g}){{1,7}}|:)"),
    ]
    .join("|");
    format!("^({ipv4}|\\[({ipv6})\\]):{PORT}$")
});

/// A backend's `IP:PORT` as a client writes it.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct BackendAddress(String);

impl BackendAddress {
    /// The address, or 400 when it is not written as the schema says.
    pub fn parse(&self) -> Result<SocketAddr, ApiError> {
        parse(&self.0)
    }
}

impl PartialSchema for BackendAddress {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "IP:PORT: IPv4, or IPv6 in brackets in hex groups; port 1 to 65535",
            ))
            .pattern(Some(PATTERN.as_str()))
            .examples(["127.0.0.1:9005"])
            .into()
    }
}

impl ToSchema for BackendAddress {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("BackendAddress")
    }
}

/// `text` as a backend address, or 400 when it is not written as the schema says.
pub fn parse(text: &str) -> Result<SocketAddr, ApiError> {
    match text.parse::<SocketAddr>() {
        Ok(address) if address.port() != 0 && plainly_written(text) => Ok(address),
        _ => Err(ApiError::BadRequest(format!(
            "\"{text}\" is not an IP:PORT address with a port from 1 to 65535, e.g. 127.0.0.1:9005"
        ))),
    }
}

/// Whether a parsed address is written the one way the pattern allows: no
/// leading zero in the port, no zone or dotted tail in an IPv6 address.
fn plainly_written(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let ipv6_extras = host.starts_with('[') && host.contains(['.', '%']);
    !port.starts_with('0') && !ipv6_extras
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_parse() {
        for text in [
            "127.0.0.1:9005",
            "10.0.0.255:65535",
            "[::1]:80",
            "[fe80::a:b]:1",
        ] {
            assert!(parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for text in [
            "localhost:80",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:080",
            "01.2.3.4:5",
            "[fe80::1%2]:80",
            "[::ffff:1.2.3.4]:80",
            "::1:80",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_pattern_is_anchored_and_names_both_families() {
        assert!(PATTERN.starts_with("^(") && PATTERN.ends_with('$'));
        assert!(PATTERN.contains("\\[(") && PATTERN.contains("6553[0-5]"));
    }
}
