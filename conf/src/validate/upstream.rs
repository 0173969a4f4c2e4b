//! How a pool reaches its backends: `protocol`, TLS (`tls`, `tls_verify`, `sni`, the
//! last two only with `tls = true`), `retry` and `timeout`, with defaults for what is
//! left out.

use toml::Spanned;

use crate::raw::{RawPool, RawRetry, RawTimeout};
use crate::source::Source;
use crate::{ConfigError, Retry, Timeouts, UpstreamProtocol};

use super::value;

/// A pool's upstream TLS keys.
pub(super) struct UpstreamTls {
    /// `tls`.
    pub(super) enabled: bool,
    /// `tls_verify`.
    pub(super) verify: bool,
    /// `sni`.
    pub(super) sni: Option<String>,
}

/// `tls`, `tls_verify` and `sni` of a pool.
pub(super) fn tls(raw: &RawPool, source: &Source<'_>) -> Result<UpstreamTls, ConfigError> {
    let enabled = raw.tls.as_ref().is_some_and(|tls| *tls.get_ref());
    if !enabled {
        let needs_tls = [
            ("tls_verify", raw.tls_verify.as_ref().map(Spanned::span)),
            ("sni", raw.sni.as_ref().map(Spanned::span)),
        ];
        if let Some((key, span)) = needs_tls
            .into_iter()
            .find_map(|(key, span)| Some((key, span?)))
        {
            return Err(source.error_at_key(
                span,
                format!("{key} applies only to pools with tls = true"),
                format!("add tls = true to talk TLS to the backends, or remove {key}"),
            ));
        }
    }
    Ok(UpstreamTls {
        enabled,
        verify: raw
            .tls_verify
            .as_ref()
            .is_none_or(|verify| *verify.get_ref()),
        sni: raw
            .sni
            .as_ref()
            .map(|sni| value::non_empty(sni, "sni", source))
            .transpose()?,
    })
}

/// A pool's `protocol`; `http1` when it is absent.
pub(super) fn protocol(
    raw: Option<&Spanned<String>>,
    source: &Source<'_>,
) -> Result<UpstreamProtocol, ConfigError> {
    let Some(raw) = raw else {
        return Ok(UpstreamProtocol::default());
    };
    UpstreamProtocol::from_name(raw.get_ref()).ok_or_else(|| {
        source.error(
            raw.span(),
            format!("unknown protocol \"{}\"", raw.get_ref()),
            "use \"http1\" (the default) or \"h2\" (HTTP/2, as gRPC backends need)",
        )
    })
}

/// A pool's `retry`, with defaults when it is absent.
pub(super) fn retry(raw: Option<&RawRetry>, source: &Source<'_>) -> Result<Retry, ConfigError> {
    let defaults = Retry::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    Ok(Retry {
        attempts: value::whole_or(
            raw.attempts.as_ref(),
            "attempts",
            (0, i64::from(u32::MAX)),
            defaults.attempts,
            "set attempts to the retries after the first try, or 0 for none",
            source,
        )?,
        budget_percent: value::whole_or(
            raw.budget_percent.as_ref(),
            "budget_percent",
            (0, 100),
            defaults.budget_percent,
            "use a percentage from 0 to 100",
            source,
        )?,
    })
}

/// A pool's `timeout`, with defaults for what it leaves out.
pub(super) fn timeouts(
    raw: Option<&RawTimeout>,
    source: &Source<'_>,
) -> Result<Timeouts, ConfigError> {
    let defaults = Timeouts::default();
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    Ok(Timeouts {
        connect: value::positive_duration_or(
            raw.connect.as_ref(),
            "connect",
            defaults.connect,
            source,
        )?,
        read: value::positive_duration_or(raw.read.as_ref(), "read", defaults.read, source)?,
        idle: value::positive_duration_or(raw.idle.as_ref(), "idle", defaults.idle, source)?,
    })
}
