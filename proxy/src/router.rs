//! Request routing: host first, then the longest `path_prefix`.
//!
//! Built once per configuration off the request path. A lookup tries the routes
//! of the exact host, then of the most specific matching wildcard (`*.example.com`),
//! then the host-less routes; inside each group the longest matching path prefix
//! wins. Lookups allocate nothing unless the host has upper-case letters.

use std::collections::HashMap;

use tidegate_conf::{HostMatch, Route};

/// Routes of one host group, longest prefix first.
#[derive(Debug, Default)]
struct Prefixes(Vec<(Box<str>, usize)>);

impl Prefixes {
    fn push(&mut self, prefix: &str, target: usize) {
        self.0.push((prefix.into(), target));
        self.0.sort_by_key(|entry| std::cmp::Reverse(entry.0.len()));
    }

    fn find(&self, path: &str) -> Option<usize> {
        self.0
            .iter()
            .find(|(prefix, _)| path.starts_with(&**prefix))
            .map(|(_, target)| *target)
    }
}

/// Maps a request's host and path to a target index (the pool's position).
#[derive(Debug, Default)]
pub struct Router {
    exact: HashMap<Box<str>, Prefixes>,
    /// Suffixes such as ".example.com", longest first.
    wildcard: Vec<(Box<str>, Prefixes)>,
    any_host: Prefixes,
}

impl Router {
    /// Builds the table; `target` names each route's pool index.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a Route, usize)>) -> Self {
        let mut router = Router::default();
        for (route, target) in routes {
            let group = match &route.host {
                None => &mut router.any_host,
                Some(HostMatch::Exact(host)) => {
                    router.exact.entry(host.as_str().into()).or_default()
                }
                Some(HostMatch::Wildcard(suffix)) => {
                    match router.wildcard.iter().position(|(s, _)| **s == **suffix) {
                        Some(i) => &mut router.wildcard[i].1,
                        None => {
                            router
                                .wildcard
                                .push((suffix.as_str().into(), Prefixes::default()));
                            let last = router.wildcard.len() - 1;
                            &mut router.wildcard[last].1
                        }
                    }
                }
            };
            group.push(&route.path_prefix, target);
        }
        router
            .wildcard
            .sort_by_key(|entry| std::cmp::Reverse(entry.0.len()));
        router
    }

    /// The target for a request, or `None` when no route matches.
    pub fn find(&self, host: Option<&str>, path: &str) -> Option<usize> {
        // "api.example.com." names the same host as "api.example.com" (the
        // root's label written out); matching it otherwise would let a client
        // step around a host's routes.
        let host = host.map(|h| strip_port(h).trim_end_matches('.'));
        if let Some(host) = host.filter(|h| !h.is_empty()) {
            if host.bytes().any(|b| b.is_ascii_uppercase()) {
                return self.find_host(&host.to_ascii_lowercase(), path);
            }
            return self.find_host(host, path);
        }
        self.any_host.find(path)
    }

    fn find_host(&self, host: &str, path: &str) -> Option<usize> {
        if let Some(found) = self.exact.get(host).and_then(|p| p.find(path)) {
            return Some(found);
        }
        let wildcard = self
            .wildcard
            .iter()
            .filter(|(suffix, _)| host.len() > suffix.len() && host.ends_with(&**suffix))
            .find_map(|(_, prefixes)| prefixes.find(path));
        wildcard.or_else(|| self.any_host.find(path))
    }
}

/// "example.com:8080" -> "example.com"; "[::1]:8080" -> "[::1]".
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rfind(':') {
        Some(colon) if host[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..colon],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_dot_names_the_same_host() {
        let routes = [
            route(Some(HostMatch::Exact("api.example.com".into())), "/"),
            route(None, "/"),
        ];
        let router = Router::new(routes.iter().zip(0..));
        for host in [
            "api.example.com",
            "API.example.com.",
            "api.example.com.:8080",
        ] {
            assert_eq!(router.find(Some(host), "/x"), Some(0), "{host}");
        }
        assert_eq!(router.find(Some("other.com."), "/x"), Some(1));
        assert_eq!(router.find(Some("."), "/x"), Some(1));
    }

    fn route(host: Option<HostMatch>, prefix: &str) -> Route {
        Route {
            host,
            path_prefix: prefix.to_string(),
            pool: String::new(),
        }
    }

    fn router() -> Router {
        let routes = [
            route(None, "/"),
            route(None, "/static"),
            route(Some(HostMatch::Exact("api.example.com".into())), "/"),
            route(Some(HostMatch::Exact("api.example.com".into())), "/agents"),
            route(Some(HostMatch::Wildcard(".example.com".into())), "/"),
            route(Some(HostMatch::Wildcard(".eu.example.com".into())), "/"),
        ];
        Router::new(routes.iter().zip(0..))
    }

    #[test]
    fn exact_host_then_longest_prefix() {
        let r = router();
        assert_eq!(r.find(Some("api.example.com"), "/agents/7"), Some(3));
        assert_eq!(r.find(Some("api.example.com"), "/other"), Some(2));
        assert_eq!(r.find(Some("API.Example.com:8443"), "/agents"), Some(3));
    }

    #[test]
    fn most_specific_wildcard_wins_and_bare_domain_does_not_match() {
        let r = router();
        assert_eq!(r.find(Some("a.eu.example.com"), "/"), Some(5));
        assert_eq!(r.find(Some("www.example.com"), "/x"), Some(4));
        assert_eq!(r.find(Some("example.com"), "/static/a.css"), Some(1));
    }

    #[test]
    fn host_less_routes_catch_the_rest() {
        let r = router();
        assert_eq!(r.find(None, "/static/app.js"), Some(1));
        assert_eq!(r.find(Some("other.org"), "/"), Some(0));
        assert_eq!(r.find(Some("[::1]:8080"), "/"), Some(0));
    }

    #[test]
    fn no_match_is_none() {
        let only_api = [route(
            Some(HostMatch::Exact("api.example.com".into())),
            "/v1",
        )];
        let r = Router::new(only_api.iter().zip(0..));
        assert_eq!(r.find(Some("api.example.com"), "/v2"), None);
        assert_eq!(r.find(None, "/v1"), None);
    }
}
