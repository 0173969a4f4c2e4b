//! `[[listener]]`: at least one, each with a distinct name and address, and its TLS
//! certificates when it has any.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use toml::Spanned;

use crate::raw::RawListener;
use crate::source::Source;
use crate::{ConfigError, Listener};

use super::{tls, value};

/// The listeners in file order, with default names filled in.
pub(super) fn listeners(
    raw: &[Spanned<RawListener>],
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<Vec<Listener>, ConfigError> {
    if raw.is_empty() {
        return Err(source.error(
            0..0,
            "no [[listener]] is defined, so tidegate would accept no requests",
            "add a [[listener]] table with address = \"127.0.0.1:8080\"",
        ));
    }
    let mut by_address: HashMap<SocketAddr, String> = HashMap::new();
    let mut listeners: Vec<Listener> = Vec::with_capacity(raw.len());
    for (index, spanned) in raw.iter().enumerate() {
        let entry = spanned.get_ref();
        let (name, name_span) = match &entry.name {
            Some(name) => (value::non_empty(name, "name", source)?, name.span()),
            None => (format!("listener-{}", index + 1), spanned.span()),
        };
        if listeners.iter().any(|listener| listener.name == name) {
            return Err(source.error(
                name_span,
                format!("two listeners are named \"{name}\""),
                "give each [[listener]] its own name",
            ));
        }
        let address = value::address(entry.address.get_ref(), entry.address.span(), source)?;
        // Port 0 asks the system for a free port, so two such listeners never clash.
        if let Some(first) = by_address.get(&address).filter(|_| address.port() != 0) {
            return Err(source.error(
                entry.address.span(),
                format!("address {address} is already used by listener \"{first}\""),
                "give each [[listener]] its own address or port",
            ));
        }
        by_address.insert(address, name.clone());
        let region = entry
            .region
            .as_ref()
            .map(|region| value::non_empty(region, "region", source))
            .transpose()?;
        let tls = entry
            .tls
            .as_ref()
            .map(|tls| tls::listener_tls(tls, base_dir, source))
            .transpose()?;
        listeners.push(Listener {
            name,
            address,
            region,
            tls,
        });
    }
    Ok(listeners)
}
