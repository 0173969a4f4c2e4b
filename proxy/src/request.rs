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

/// `path` with its dot segments removed (RFC 3986, 5.2.4), `%2e` read as a
/// dot; `None` when it has none, which is the common case and found by a quick
/// scan. Routing on the path as sent would let `/public/../admin` reach the
/// pool of `/public` and be resolved to `/admin` there.
pub fn without_dot_segments(path: &str) -> Option<String> {
    if !path.contains("/.") && !path.contains("%2") {
        return None;
    }
    let is = |segment: &str, dots: usize| {
        let mut rest = segment;
        let mut count = 0;
        while !rest.is_empty() {
            if let Some(tail) = rest.strip_prefix('.') {
                rest = tail;
            } else if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("%2e") {
                rest = &rest[3..];
            } else {
                return false;
            }
            count += 1;
        }
        count == dots
    };
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    if !segments.iter().any(|s| is(s, 1) || is(s, 2)) {
        return None;
    }
    let last = segments.len() - 1;
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.into_iter().enumerate() {
        if is(segment, 1) || is(segment, 2) {
            if is(segment, 2) {
                out.pop();
            }
            if i == last {
                out.push("");
            }
        } else {
            out.push(segment);
        }
    }
    Some(format!("/{}", out.join("/")))
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
    fn dot_segments_are_removed_and_other_paths_left_alone() {
        for (path, normal) in [
            ("/static/../py/x", "/py/x"),
            ("/a/./b", "/a/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/../../x", "/x"),
            ("/public/%2e%2E/admin", "/admin"),
            ("/a/%2e/b", "/a/b"),
        ] {
            assert_eq!(
                without_dot_segments(path).as_deref(),
                Some(normal),
                "{path}"
            );
        }
        for path in [
            "/",
            "/a/b",
            "/a/.hidden",
            "/a/..b",
            "/a%2fb",
            "/v1.2/x",
            "/a/...",
            "*",
        ] {
            assert_eq!(without_dot_segments(path), None, "{path}");
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
