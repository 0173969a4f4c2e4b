//! `[admin]`: where the admin API listens and its token. An admin API reachable off
//! the machine must require a token, and it must not share a listener's address.

use std::net::SocketAddr;
use std::ops::Range;

use toml::Spanned;

use crate::raw::RawAdmin;
use crate::source::Source;
use crate::{Admin, ConfigError, Listener};

use super::value;

/// The `[admin]` table, or `None` when the file has none.
pub(super) fn admin(
    raw: Option<&Spanned<RawAdmin>>,
    listeners: &[Listener],
    source: &Source<'_>,
) -> Result<Option<Admin>, ConfigError> {
    let Some(table) = raw else {
        return Ok(None);
    };
    let raw = table.get_ref();
    let (address, address_span) = match &raw.address {
        Some(address) => (
            value::address(address.get_ref(), address.span(), source)?,
            address.span(),
        ),
        None => (Admin::DEFAULT_ADDRESS, table.span()),
    };
    let token = raw
        .token
        .as_ref()
        .map(|token| secret(token, source))
        .transpose()?;
    if token.is_none() && !address.ip().is_loopback() {
        return Err(source.error(
            address_span,
            format!("admin address {address} is reachable from other machines, so the admin API needs a token"),
            "set token = \"${TIDEGATE_ADMIN_TOKEN}\" or bind the admin API to 127.0.0.1",
        ));
    }
    check_not_shared(address, address_span, listeners, source)?;
    Ok(Some(Admin { address, token }))
}

/// A token that is not blank once interpolated.
fn secret(token: &Spanned<String>, source: &Source<'_>) -> Result<String, ConfigError> {
    if token.get_ref().trim().is_empty() {
        return Err(source.error(
            token.span(),
            "admin token is empty",
            "set token to a secret, e.g. token = \"${TIDEGATE_ADMIN_TOKEN}\" with that variable exported, or remove token on a loopback address",
        ));
    }
    Ok(token.get_ref().clone())
}

/// The admin API cannot bind where a listener binds: same address, or same port with
/// either side on the unspecified address (0.0.0.0 or [::]). Port 0 asks the
/// system for a free port, so it never clashes.
fn check_not_shared(
    address: SocketAddr,
    span: Range<usize>,
    listeners: &[Listener],
    source: &Source<'_>,
) -> Result<(), ConfigError> {
    let overlaps = |other: SocketAddr| {
        address.port() != 0 && other == address
            || (other.port() == address.port()
                && other.is_ipv4() == address.is_ipv4()
                && (other.ip().is_unspecified() || address.ip().is_unspecified()))
    };
    match listeners.iter().find(|listener| overlaps(listener.address)) {
        Some(listener) => Err(source.error(
            span,
            format!(
                "admin address {address} is also the address of listener \"{}\" ({})",
                listener.name, listener.address
            ),
            "give the admin API its own port, e.g. address = \"127.0.0.1:9901\"",
        )),
        None => Ok(()),
    }
}
