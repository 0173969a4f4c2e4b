//! Checks of single values shared by the sections: durations, addresses, bounded
//! integers and numbers, non-empty names and file paths.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
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

/// `value` as a duration, or `default` when the key is absent; zero is allowed.
pub(super) fn duration_or(
    value: Option<&Spanned<String>>,
    key: &str,
    default: Duration,
    source: &Source<'_>,
) -> Result<Duration, ConfigError> {
    value.map_or(Ok(default), |value| duration(value, key, source))
}

/// `value` as a duration greater than zero, or `default` when the key is absent.
pub(super) fn positive_duration_or(
    value: Option<&Spanned<String>>,
    key: &str,
    default: Duration,
    source: &Source<'_>,
) -> Result<Duration, ConfigError> {
    value.map_or(Ok(default), |value| {
        positive_duration(
            value,
            key,
            &format!("use a positive duration, like \"{}\"", written(default)),
            source,
        )
    })
}

/// `duration` as a user would write it: a whole number of the largest unit that fits
/// exactly ("36h", "14d", "500ms"), so messages never show "1month 29days ...".
pub(super) fn written(duration: Duration) -> String {
    const UNITS: [(&str, u128); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let millis = duration.as_millis();
    if millis == 0 || !duration.subsec_nanos().is_multiple_of(1_000_000) {
        return humantime::format_duration(duration).to_string();
    }
    UNITS
        .iter()
        .find(|(_, size)| millis.is_multiple_of(*size))
        .map_or_else(
            || humantime::format_duration(duration).to_string(),
            |(unit, size)| format!("{}{unit}", millis / size),
        )
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

/// `value` as an integer from `min` to `max`, or `default` when the key is absent.
pub(super) fn whole_or<T: TryFrom<i64>>(
    value: Option<&Spanned<i64>>,
    key: &str,
    bounds: (i64, i64),
    default: T,
    hint: &str,
    source: &Source<'_>,
) -> Result<T, ConfigError> {
    value.map_or(Ok(default), |value| whole(value, key, bounds, hint, source))
}

/// A finite number that `rule` accepts; `rule.0` says in words what it must be.
pub(super) fn number(
    value: &Spanned<f64>,
    key: &str,
    (must_be, accepts): (&str, fn(f64) -> bool),
    hint: &str,
    source: &Source<'_>,
) -> Result<f64, ConfigError> {
    let number = *value.get_ref();
    if number.is_finite() && accepts(number) {
        return Ok(number);
    }
    Err(source.error(
        value.span(),
        format!("{key} must be {must_be}, found {number}"),
        hint,
    ))
}

/// `value` as a number that `rule` accepts, or `default` when the key is absent.
pub(super) fn number_or(
    value: Option<&Spanned<f64>>,
    key: &str,
    rule: (&str, fn(f64) -> bool),
    default: f64,
    hint: &str,
    source: &Source<'_>,
) -> Result<f64, ConfigError> {
    value.map_or(Ok(default), |value| number(value, key, rule, hint, source))
}

/// A file path, relative ones joined to `base_dir`; not checked for existence.
pub(super) fn path(
    value: &Spanned<String>,
    key: &str,
    base_dir: &Path,
    source: &Source<'_>,
) -> Result<PathBuf, ConfigError> {
    let text = non_empty(value, key, source)?;
    Ok(base_dir.join(text))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::written;

    #[test]
    fn durations_are_written_in_their_largest_exact_unit() {
        let cases = [
            (Duration::from_secs(60 * 86_400), "60d"),
            (Duration::from_secs(36 * 3_600), "36h"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_millis(1_500), "1500ms"),
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1_500), "1us 500ns"),
        ];
        for (duration, text) in cases {
            assert_eq!(written(duration), text);
        }
    }
}
