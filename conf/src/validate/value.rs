//! Checks of single values shared by the sections: durations, addresses, bounded
//! integers and non-empty names.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use crate::source::Source;
use crate::ConfigError;

/// Hint for a duration that does not parse.
const DURATION_HINT: &str = "use a number with a unit, like \"500ms\", \"2s\" or \"5m\"";
/// Hint for an address that does not parse.
const ADDRESS_HINT: &str = "write IP:PORT, e.g. 127.0.0.1:9001";

/// A duration such as "500ms"; zero is allowed.
pub(super) fn duration(
    value: &Spanned<String>,
    key: &str,
    source: &Source<'_>,
) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value.get_ref()).map_err(|error| {
        source.error(
            value.span(),
            format!("{key} = \"{}\" is not a duration: {error}", value.get_ref()),
            DURATION_HINT,
        )
    })
}

/// A duration that must be greater than zero; `zero_hint` says what to do instead.
pub(super) fn positive_duration(
    value: &Spanned<String>,
    key: &str,
    zero_hint: &str,
    source: &Source<'_>,
) -> Result<Duration, ConfigError> {
    let parsed = duration(value, key, source)?;
    if parsed.is_zero() {
        return Err(source.error(
            value.span(),
            format!("{key} must be greater than zero"),
            zero_hint,
        ));
    }
    Ok(parsed)
}

/// An `IP:PORT` socket address written at `span`.
pub(super) fn address(
    text: &str,
    span: Range<usize>,
    source: &Source<'_>,
) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        source.error(
            span,
            format!("\"{text}\" is not an IP:PORT address"),
            ADDRESS_HINT,
        )
    })
}

/// An integer from `min` to `max`, converted to the type the runtime uses.
pub(super) fn whole<T: TryFrom<i64>>(
    value: &Spanned<i64>,
    key: &str,
    (min, max): (i64, i64),
    hint: &str,
    source: &Source<'_>,
) -> Result<T, ConfigError> {
    let number = *value.get_ref();
    let bound = if number < min {
        format!("at least {min}")
    } else if number > max {
        format!("at most {max}")
    } else {
        return T::try_from(number).map_err(|_| {
            source.error(value.span(), format!("{key} = {number} is too large"), hint)
        });
    };
    Err(source.error(
        value.span(),
        format!("{key} must be {bound}, found {number}"),
        hint,
    ))
}

/// A name or region that must not be empty.
pub(super) fn non_empty(
    value: &Spanned<String>,
    key: &str,
    source: &Source<'_>,
) -> Result<String, ConfigError> {
    if value.get_ref().trim().is_empty() {
        return Err(source.error(
            value.span(),
            format!("{key} must not be empty"),
            format!("give {key} a value, or remove the key"),
        ));
    }
    Ok(value.get_ref().clone())
}
