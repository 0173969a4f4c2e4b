//! What every proxied request shares, whichever path forwards it (Pingora's
//! proxy in [`crate::gateway`] or Tidegate's own HTTP/1.1 path in
//! [`crate::forward`]): the client address appended to `X-Forwarded-For`, the
//! body of an answer Tidegate writes when a backend fails, and the counters and
//! access log line of a finished request.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use tidegate_balancer::Nanos;

use crate::member::Member;
use crate::pool::Pool;

/// The longest text of an IP address (an IPv6 address with an IPv4 tail).
pub const IP_TEXT_MAX: usize = 45;

/// `ip` as text in `buf`, written by hand for IPv4: the formatting machinery
/// costs more than the rest of building the header.
pub fn ip_text(ip: IpAddr, buf: &mut [u8; IP_TEXT_MAX]) -> &[u8] {
    let len = match ip {
        IpAddr::V4(v4) => {
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    buf[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    buf[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                buf[len] = b'0' + octet % 10;
                len += 1;
            }
            len
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            // 45 bytes hold every IPv6 text, so this write cannot fail.
            let _ = write!(cursor, "{v6}");
            cursor.position() as usize
        }
    };
    &buf[..len]
}

/// The body of the answer to a request its backend failed: 502 or 504, naming
/// the pool, the backend and `kind`, what went wrong (e.g. `ConnectRefused`).
pub fn failure_body(pool: &Pool, backend: Option<SocketAddr>, code: u16, kind: &str) -> Bytes {
    let backend = backend.map(|b| b.to_string()).unwrap_or_default();
    let what = match code {
        504 => "timed out waiting for",
        _ => "failed at",
    };
    Bytes::from(format!(
        "tidegate: pool \"{}\" {what} backend {backend} ({kind})\n",
        pool.name()
    ))
}

/// Whether `host` is a valid `Host` field value (RFC 9110, 7.2): a
/// registered name, an IPv4 address or a bracketed IPv6 literal, with an
/// optional port. Anything else (spaces, a path, user information) makes the
/// request a bad one (RFC 9112, 3.2).
pub fn valid_host(host: &[u8]) -> bool {
    let (name, port) = match host.iter().rposition(|&b| b == b':') {
        // The colon of an IPv6 literal is no port separator.
        Some(i) if !host[i..].contains(&b']') => (&host[..i], &host[i + 1..]),
        _ => (host, &b""[..]),
    };
    if !port.iter().all(u8::is_ascii_digit) || port.len() > 5 {
        return false;
    }
    match name {
        [b'[', literal @ .., b']'] => {
            !literal.is_empty()
                && literal
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        }
        _ => name.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                )
        }),
    }
}

/// A finished request, as the pool's and member's counters and the access log
/// see it.
#[derive(Debug)]
pub struct Finished<'a> {
    pub client: Option<SocketAddr>,
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    /// The status sent to the client; 0 when none was.
    pub status: u16,
    pub pool: Option<&'a Pool>,
    /// The member last picked for the request.
    pub member: Option<&'a Member>,
    /// Whether `member` answered (not Tidegate on its behalf).
    pub answered: bool,
    pub retries: u32,
    pub duration: Nanos,
    /// What failed, e.g. `ConnectRefused`; empty when nothing did.
    pub error: &'a str,
}

impl Finished<'_> {
    /// Counts the request in its pool and member, and logs it when `access_log`.
    pub fn record(&self, access_log: bool) {
        if let Some(pool) = self.pool {
            let answered = self.member.filter(|_| self.answered);
            if let Some(member) = answered {
                member.record_request(self.status, self.duration);
            }
            pool.state()
                .record_request(self.status, self.duration, answered.is_some());
        }
        if access_log {
            tracing::info!(
                target: "tidegate::access",
                client = %self.client.map(|c| c.to_string()).unwrap_or_default(),
                method = self.method,
                host = self.host,
                path = self.path,
                status = self.status,
                pool = self.pool.map_or("", |p| p.name()),
                backend = %self.member.map(|m| m.addr().to_string()).unwrap_or_default(),
                retries = self.retries,
                duration_ms = self.duration as f64 / 1e6,
                error = self.error,
                "request"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ip: &str) -> String {
        let mut buf = [0u8; IP_TEXT_MAX];
        String::from_utf8(ip_text(ip.parse().unwrap(), &mut buf).to_vec()).unwrap()
    }

    #[test]
    fn hosts_are_names_or_addresses_with_an_optional_port() {
        for good in [
            "example.com",
            "api.example.com:8443",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[2001:db8::1]:443",
            "under_score.local",
            "",
        ] {
            assert!(valid_host(good.as_bytes()), "{good}");
        }
        for bad in [
            "a b",
            "example.com/path",
            "user@example.com",
            "example.com:http",
            "example.com:123456",
            "[]",
            "[::1",
            "exa\tmple",
        ] {
            assert!(!valid_host(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn ip_text_matches_the_standard_formatting() {
        for ip in [
            "0.0.0.0",
            "1.2.3.4",
            "10.0.99.100",
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
        ] {
            assert_eq!(text(ip), ip.parse::<IpAddr>().unwrap().to_string());
        }
    }
}
