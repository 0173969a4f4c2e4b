//! The load target: `--url` and `--header` become a socket address and one
//! HTTP/1.1 request, encoded once and written as-is on every send.

use std::net::{SocketAddr, ToSocketAddrs};

use bytes::Bytes;

use crate::error::SetupError;

/// Where the load goes and the exact bytes of each request.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The resolved address connections go to.
    pub address: SocketAddr,
    /// The pre-encoded `GET` request, headers included.
    pub request: Bytes,
}

impl Target {
    /// Parses `url`, resolves its host and encodes a `GET` with `headers`
    /// (each `NAME:VALUE`; a `Host` header replaces the one from the URL).
    pub fn new(url: &str, headers: &[String]) -> Result<Self, SetupError> {
        let parts = UrlParts::parse(url)?;
        let address = (parts.host, parts.port)
            .to_socket_addrs()
            .map_err(|source| SetupError::Resolve {
                host: parts.host.to_owned(),
                source,
            })?
            .next()
            .ok_or_else(|| SetupError::Resolve {
                host: parts.host.to_owned(),
                source: std::io::Error::other("no address"),
            })?;
        let headers = headers
            .iter()
            .map(|h| split_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            url: url.to_owned(),
            address,
            request: encode_request(parts.path, parts.authority, &headers),
        })
    }
}

/// The pieces of an `http://` URL the load generator needs.
#[derive(Debug, PartialEq, Eq)]
struct UrlParts<'a> {
    authority: &'a str,
    host: &'a str,
    port: u16,
    path: &'a str,
}

impl<'a> UrlParts<'a> {
    fn parse(url: &'a str) -> Result<Self, SetupError> {
        let invalid = |reason| SetupError::Url {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// is supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| invalid("unclosed [ in the host"))?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| invalid("the port is not a number"))?,
            None => 80,
        };
        Ok(Self {
            authority,
            host,
            port,
            path,
        })
    }
}

fn split_header(header: &str) -> Result<(&str, &str), SetupError> {
    let invalid = || SetupError::Header {
        header: header.to_owned(),
    };
    if header.contains(['\r', '\n']) {
        return Err(invalid());
    }
    let (name, value) = header.split_once(':').ok_or_else(invalid)?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(invalid());
    }
    Ok((name, value.trim()))
}

fn encode_request(path: &str, authority: &str, headers: &[(&str, &str)]) -> Bytes {
    let mut text = format!("GET {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_and_path() {
        let p = UrlParts::parse("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(
            p,
            UrlParts {
                authority: "127.0.0.1:8080",
                host: "127.0.0.1",
                port: 8080,
                path: "/a/b?c=d"
            }
        );
        let p = UrlParts::parse("http://localhost").unwrap();
        assert_eq!((p.host, p.port, p.path), ("localhost", 80, "/"));
        let p = UrlParts::parse("http://[::1]:9000/x").unwrap();
        assert_eq!((p.host, p.port, p.path), ("::1", 9000, "/x"));
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        assert!(UrlParts::parse("https://127.0.0.1/").is_err());
        assert!(UrlParts::parse("http:///").is_err());
        assert!(UrlParts::parse("http://h:port/").is_err());
    }

    #[test]
    fn encodes_the_request_once_with_headers() {
        let t = Target::new(
            "http://127.0.0.1:8080/p",
            &["x-a: 1".into(), "X-B:two".into()],
        )
        .unwrap();
        assert_eq!(
            &t.request[..],
            b"GET /p HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nx-a: 1\r\nX-B: two\r\n\r\n"
        );
        let t = Target::new("http://127.0.0.1:8080/", &["host: api".into()]).unwrap();
        assert_eq!(&t.request[..], b"GET / HTTP/1.1\r\nhost: api\r\n\r\n");
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in ["novalue", ": v", "a b: c", "a: b\r\nc: d"] {
            assert!(split_header(bad).is_err(), "{bad}");
        }
    }
}
