//! `[server]`: worker threads, shutdown grace period, log format and access log.

use crate::raw::RawServer;
use crate::source::Source;
use crate::{ConfigError, LogFormat, Server};

use super::value;

/// The `[server]` table with defaults for what it leaves out (or for no table at all).
pub(super) fn server(raw: Option<&RawServer>, source: &Source<'_>) -> Result<Server, ConfigError> {
    let mut server = Server::default();
    let Some(raw) = raw else {
        return Ok(server);
    };
    if let Some(threads) = &raw.threads {
        server.threads = value::whole(
            threads,
            "threads",
            (1, i64::MAX),
            "set threads to 1 or more",
            source,
        )?;
    }
    if let Some(grace_period) = &raw.grace_period {
        server.grace_period = value::duration(grace_period, "grace_period", source)?;
    }
    if let Some(log_format) = &raw.log_format {
        server.log_format = LogFormat::from_name(log_format.get_ref()).ok_or_else(|| {
            source.error(
                log_format.span(),
                format!("unknown log_format \"{}\"", log_format.get_ref()),
                "use \"text\" or \"json\"",
            )
        })?;
    }
    if let Some(access_log) = raw.access_log {
        server.access_log = access_log;
    }
    Ok(server)
}
