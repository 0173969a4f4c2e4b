//! How a validated [`crate::Config`] is written out (the admin API's `GET /config`):
//! durations as the strings the file takes ("30s"), host patterns as written, and
//! secrets as `"***"`, so the output can be shown and logged without leaking them.

use std::fmt::Display;
use std::time::Duration;

use serde::ser::{SerializeSeq, Serializer};

/// What a secret is written as.
const REDACTED: &str = "***";

/// A duration in the file's format, e.g. `"1m 30s"`.
pub(crate) fn duration<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*value))
}

/// An optional duration in the file's format, or null.
pub(crate) fn optional_duration<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => duration(value, serializer),
        None => serializer.serialize_none(),
    }
}

/// An optional list of durations in the file's format, or null.
pub(crate) fn optional_durations<S: Serializer>(
    values: &Option<Vec<Duration>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match values {
        Some(values) => durations(values, serializer),
        None => serializer.serialize_none(),
    }
}

/// A list of durations in the file's format.
pub(crate) fn durations<S: Serializer>(
    values: &[Duration],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&humantime::format_duration(*value).to_string())?;
    }
    seq.end()
}

/// An optional value as its `Display` form, or null.
pub(crate) fn optional_display<T: Display, S: Serializer>(
    value: &Option<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.collect_str(value),
        None => serializer.serialize_none(),
    }
}

/// A secret: `"***"` when set, null when not.
pub(crate) fn redacted<S: Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => serializer.serialize_str(REDACTED),
        None => serializer.serialize_none(),
    }
}

/// Environment variables as `[name, "***"]` pairs: names shown, values never.
pub(crate) fn redacted_env<S: Serializer>(
    vars: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(vars.len()))?;
    for (name, _) in vars {
        seq.serialize_element(&(name, REDACTED))?;
    }
    seq.end()
}

/// A URL with the password of its user information (`user:password@`) as `***`.
pub(crate) fn redacted_url<S: Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&without_password(url))
}

/// `url` with the password in `scheme://user:password@host` replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
    if user.len() == userinfo.len() {
        return url.to_owned();
    }
    format!("{scheme}://{user}:{REDACTED}@{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn url_passwords_are_hidden_and_everything_else_kept() {
        assert_eq!(
            without_password("http://user:hunter2@127.0.0.1:1/x?y=1"),
            "http://user:***@127.0.0.1:1/x?y=1"
        );
        assert_eq!(
            without_password("https://k:p@q@example.com"),
            "https://k:***@example.com"
        );
        for kept in [
            "http://127.0.0.1:1/x",
            "http://user@host/a:b@c",
            "https://host/path?u=a:b@c",
            "not a url",
        ] {
            assert_eq!(without_password(kept), kept);
        }
    }
}
