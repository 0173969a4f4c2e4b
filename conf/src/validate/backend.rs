//! A pool's `backends`: at least one (unless a scaler's driver provides them), no
//! address twice, weights in range.

use std::collections::HashSet;

use toml::Spanned;

use crate::raw::{RawBackend, RawBackendTable};
use crate::source::Source;
use crate::{BackendSpec, ConfigError};

use super::value;

/// The backends of the pool called `pool`; `may_be_empty` when a driver launches the
/// pool's instances.
pub(super) fn backends(
    raw: Option<&Spanned<Vec<Spanned<RawBackend>>>>,
    pool: &Spanned<String>,
    may_be_empty: bool,
    source: &Source<'_>,
) -> Result<Vec<BackendSpec>, ConfigError> {
    let name = pool.get_ref();
    let entries = match raw {
        Some(list) if !list.get_ref().is_empty() => list.get_ref(),
        _ if may_be_empty => return Ok(Vec::new()),
        empty => {
            let span = empty.map_or_else(|| pool.span(), Spanned::span);
            return Err(source.error(
                span,
                format!("pool \"{name}\" has no backends"),
                format!("add backends = [\"127.0.0.1:9001\", ...] to [pool.{name}]"),
            ));
        }
    };
    let mut seen = HashSet::new();
    let mut backends = Vec::with_capacity(entries.len());
    for entry in entries {
        let backend = backend(entry, source)?;
        if !seen.insert(backend.address) {
            let span = match entry.get_ref() {
                RawBackend::Address(_) => entry.span(),
                RawBackend::Table(table) => table.address.span(),
            };
            return Err(source.error(
                span,
                format!(
                    "backend {} appears twice in pool \"{name}\"",
                    backend.address
                ),
                "remove the duplicate entry",
            ));
        }
        backends.push(backend);
    }
    Ok(backends)
}

fn backend(entry: &Spanned<RawBackend>, source: &Source<'_>) -> Result<BackendSpec, ConfigError> {
    match entry.get_ref() {
        RawBackend::Address(address) => Ok(BackendSpec {
            address: value::address(address, entry.span(), source)?,
            region: None,
            weight: 1,
        }),
        RawBackend::Table(table) => backend_table(table, source),
    }
}

fn backend_table(table: &RawBackendTable, source: &Source<'_>) -> Result<BackendSpec, ConfigError> {
    let address = value::address(table.address.get_ref(), table.address.span(), source)?;
    let region = table
        .region
        .as_ref()
        .map(|region| value::non_empty(region, "region", source))
        .transpose()?;
    let weight = match &table.weight {
        Some(weight) => value::whole(
            weight,
            "weight",
            (1, 1000),
            "use a weight from 1 to 1000",
            source,
        )?,
        None => 1,
    };
    Ok(BackendSpec {
        address,
        region,
        weight,
    })
}
