//! `[driver.NAME]`: the `kind` key picks the driver, and each kind takes only its own
//! keys, so a key left over from another kind is an error at that key. Drivers are
//! validated before pools, whose scalers refer to them by name.

use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use toml::Spanned;

use crate::raw::{Named, RawDriver};
use crate::source::Source;
use crate::{ConfigError, DriverKind, DriverSpec};

use super::value;

/// Hint listing the kinds that work today.
const KINDS_HINT: &str =
    "use one of: static, process, exec, http, aws_asg (kubernetes is not supported yet)";

/// Every driver, in file order.
pub(super) fn drivers(
    raw: &Named<RawDriver>,
    source: &Source<'_>,
) -> Result<Vec<DriverSpec>, ConfigError> {
    raw.0
        .iter()
        .map(|(name, table)| {
            Ok(DriverSpec {
                name: value::non_empty(name, "driver name", source)?,
                kind: kind(name, table.get_ref(), source)?,
            })
        })
        .collect()
}

fn kind(
    name: &Spanned<String>,
    raw: &RawDriver,
    source: &Source<'_>,
) -> Result<DriverKind, ConfigError> {
    let kind = raw.kind.get_ref().as_str();
    let required = Required { name, kind, source };
    match kind {
        "static" => {
            reject_foreign_keys(kind, &[], raw, source)?;
            Ok(DriverKind::Static)
        }
        "process" => {
            reject_foreign_keys(kind, &["command", "ports", "regions", "env"], raw, source)?;
            process(raw, &required, source)
        }
        "exec" => {
            reject_foreign_keys(kind, &["list", "launch", "remove", "timeout"], raw, source)?;
            exec(raw, &required, source)
        }
        "http" => {
            reject_foreign_keys(kind, &["url", "token", "timeout"], raw, source)?;
            http(raw, &required, source)
        }
        "aws_asg" => {
            reject_foreign_keys(
                kind,
                &[
                    "region",
                    "group",
                    "port",
                    "endpoint",
                    "ec2_endpoint",
                    "timeout",
                ],
                raw,
                source,
            )?;
            aws_asg(raw, &required, source)
        }
        "kubernetes" => Err(source.error(
            raw.kind.span(),
            format!("driver kind {kind} is not supported yet"),
            "use kind = \"exec\" or kind = \"http\" to call your cloud's API",
        )),
        _ => Err(source.error(
            raw.kind.span(),
            format!("unknown driver kind \"{kind}\""),
            KINDS_HINT,
        )),
    }
}

fn process(
    raw: &RawDriver,
    required: &Required<'_>,
    source: &Source<'_>,
) -> Result<DriverKind, ConfigError> {
    let example = "[\"tidegate\", \"backend\", \"--port\", \"{port}\"]";
    Ok(DriverKind::Process {
        command: command(required.get(&raw.command, "command", example)?, source)?,
        ports: ports(required.get(&raw.ports, "ports", "\"9100-9199\"")?, source)?,
        regions: regions(raw.regions.as_ref(), source)?,
        env: env(raw, source)?,
    })
}

fn exec(
    raw: &RawDriver,
    required: &Required<'_>,
    source: &Source<'_>,
) -> Result<DriverKind, ConfigError> {
    let script = |value: &Option<Spanned<Vec<Spanned<String>>>>, key: &str| {
        let example = format!("[\"./{key}.sh\"]");
        argv(required.get(value, key, &example)?, key, source)
    };
    Ok(DriverKind::Exec {
        list: script(&raw.list, "list")?,
        launch: script(&raw.launch, "launch")?,
        remove: script(&raw.remove, "remove")?,
        timeout: timeout(raw, Duration::from_secs(30), source)?,
    })
}

fn http(
    raw: &RawDriver,
    required: &Required<'_>,
    source: &Source<'_>,
) -> Result<DriverKind, ConfigError> {
    let example = "\"http://127.0.0.1:7000/pools\"";
    Ok(DriverKind::Http {
        url: url(required.get(&raw.url, "url", example)?, source)?,
        token: raw
            .token
            .as_ref()
            .map(|token| value::non_empty(token, "token", source))
            .transpose()?,
        timeout: timeout(raw, Duration::from_secs(5), source)?,
    })
}

fn aws_asg(
    raw: &RawDriver,
    required: &Required<'_>,
    source: &Source<'_>,
) -> Result<DriverKind, ConfigError> {
    let region = value::non_empty(
        required.get(&raw.region, "region", "\"eu-west-1\"")?,
        "region",
        source,
    )?;
    let port = value::whole::<u16>(
        required.get(&raw.port, "port", "8080")?,
        "port",
        (1, 65_535),
        "the port the group's instances serve on, e.g. 8080",
        source,
    )?;
    let group = match &raw.group {
        Some(group) => value::non_empty(group, "group", source)?,
        None => "{pool}".to_owned(),
    };
    let endpoint =
        |value: &Option<Spanned<String>>| value.as_ref().map(|v| url(v, source)).transpose();
    Ok(DriverKind::AwsAsg {
        region,
        group,
        port,
        endpoint: endpoint(&raw.endpoint)?,
        ec2_endpoint: endpoint(&raw.ec2_endpoint)?,
        timeout: timeout(raw, Duration::from_secs(10), source)?,
    })
}

/// Keys of every kind that are present, with the span of their values.
fn present_keys(raw: &RawDriver) -> Vec<(&'static str, Range<usize>)> {
    fn span<T>(value: Option<&Spanned<T>>) -> Option<Range<usize>> {
        value.map(Spanned::span)
    }
    [
        ("command", span(raw.command.as_ref())),
        ("ports", span(raw.ports.as_ref())),
        ("regions", span(raw.regions.as_ref())),
        ("env", span(raw.env.as_ref())),
        ("list", span(raw.list.as_ref())),
        ("launch", span(raw.launch.as_ref())),
        ("remove", span(raw.remove.as_ref())),
        ("timeout", span(raw.timeout.as_ref())),
        ("url", span(raw.url.as_ref())),
        ("token", span(raw.token.as_ref())),
        ("region", span(raw.region.as_ref())),
        ("group", span(raw.group.as_ref())),
        ("port", span(raw.port.as_ref())),
        ("endpoint", span(raw.endpoint.as_ref())),
        ("ec2_endpoint", span(raw.ec2_endpoint.as_ref())),
    ]
    .into_iter()
    .filter_map(|(key, span)| Some((key, span?)))
    .collect()
}

/// The first key, in file order, that `kind` does not take.
fn reject_foreign_keys(
    kind: &str,
    allowed: &[&str],
    raw: &RawDriver,
    source: &Source<'_>,
) -> Result<(), ConfigError> {
    let foreign = present_keys(raw)
        .into_iter()
        .filter(|(key, _)| !allowed.contains(key))
        .min_by_key(|(_, span)| span.start);
    let Some((key, span)) = foreign else {
        return Ok(());
    };
    let takes = if allowed.is_empty() {
        "only kind".to_owned()
    } else {
        format!("kind, {}", allowed.join(", "))
    };
    let article = if matches!(kind, "exec" | "http" | "aws_asg") {
        "an"
    } else {
        "a"
    };
    Err(source.error_at_key(
        span,
        format!("{key} does not apply to {article} {kind} driver"),
        format!("remove {key}; {article} {kind} driver takes {takes}"),
    ))
}

/// Looks up keys the chosen kind cannot do without; errors point at the driver's name.
struct Required<'a> {
    name: &'a Spanned<String>,
    kind: &'a str,
    source: &'a Source<'a>,
}

impl Required<'_> {
    fn get<'v, T>(
        &self,
        value: &'v Option<Spanned<T>>,
        key: &str,
        example: &str,
    ) -> Result<&'v Spanned<T>, ConfigError> {
        value.as_ref().ok_or_else(|| {
            let name = self.name.get_ref();
            self.source.error(
                self.name.span(),
                format!("driver \"{name}\" of kind {} has no {key}", self.kind),
                format!("add {key} = {example} to [driver.{name}]"),
            )
        })
    }
}

/// A non-empty argument vector whose program is named.
fn argv(
    value: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    source: &Source<'_>,
) -> Result<Vec<String>, ConfigError> {
    let Some(program) = value.get_ref().first() else {
        return Err(source.error(
            value.span(),
            format!("{key} is empty"),
            format!("write the program and its arguments, e.g. {key} = [\"./{key}.sh\", \"--pool\", \"web\"]"),
        ));
    };
    value::non_empty(program, key, source)?;
    Ok(value
        .get_ref()
        .iter()
        .map(|arg| arg.get_ref().clone())
        .collect())
}

/// A process driver's command: an argv that passes the instance its `{port}`.
fn command(
    value: &Spanned<Vec<Spanned<String>>>,
    source: &Source<'_>,
) -> Result<Vec<String>, ConfigError> {
    let command = argv(value, "command", source)?;
    if !command.iter().any(|arg| arg.contains("{port}")) {
        return Err(source.error(
            value.span(),
            "command never mentions {port}, so instances cannot learn which port to listen on",
            "pass the port in an argument, e.g. command = [\"tidegate\", \"backend\", \"--port\", \"{port}\"]",
        ));
    }
    Ok(command)
}

/// `"FIRST-LAST"` (or one `"PORT"`): an inclusive range of non-zero ports.
fn ports(value: &Spanned<String>, source: &Source<'_>) -> Result<RangeInclusive<u16>, ConfigError> {
    let text = value.get_ref();
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let parse = |port: &str| port.trim().parse::<u16>().ok();
    let (Some(first), Some(last)) = (parse(first), parse(last)) else {
        return Err(source.error(
            value.span(),
            format!("ports = \"{text}\" is not a port range"),
            "write \"FIRST-LAST\" with ports from 1 to 65535, e.g. \"9100-9199\"",
        ));
    };
    if first == 0 {
        return Err(source.error(
            value.span(),
            "ports must start at 1 or above: port 0 asks the system for any port",
            "start the range at 1 or above, e.g. \"9100-9199\"",
        ));
    }
    if first > last {
        return Err(source.error(
            value.span(),
            format!("ports range \"{text}\" runs backwards"),
            format!("write the lower port first: \"{last}-{first}\""),
        ));
    }
    Ok(first..=last)
}

/// A process driver's regions: non-empty, none twice.
fn regions(
    value: Option<&Spanned<Vec<Spanned<String>>>>,
    source: &Source<'_>,
) -> Result<Vec<String>, ConfigError> {
    let mut regions: Vec<String> = Vec::new();
    for entry in value.map_or(&[][..], |list| list.get_ref()) {
        let region = value::non_empty(entry, "region", source)?;
        if regions.contains(&region) {
            return Err(source.error(
                entry.span(),
                format!("region \"{region}\" is listed twice"),
                "list each region once; new instances take the regions in turn",
            ));
        }
        regions.push(region);
    }
    Ok(regions)
}

/// A process driver's environment, in file order.
fn env(raw: &RawDriver, source: &Source<'_>) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(env) = &raw.env else {
        return Ok(Vec::new());
    };
    env.get_ref()
        .0
        .iter()
        .map(|(name, value)| {
            let valid = !name.get_ref().is_empty()
                && !name.get_ref().contains(['=', '\0'])
                && !value.get_ref().contains('\0');
            if !valid {
                return Err(source.error(
                    name.span(),
                    format!(
                        "\"{}\" is not a usable environment variable",
                        name.get_ref()
                    ),
                    "use a name without '=' like RUST_LOG, and a value without NUL characters",
                ));
            }
            Ok((name.get_ref().clone(), value.get_ref().clone()))
        })
        .collect()
}

/// An http driver's endpoint.
fn url(value: &Spanned<String>, source: &Source<'_>) -> Result<String, ConfigError> {
    let text = value.get_ref();
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    if rest.is_none_or(str::is_empty) {
        return Err(source.error(
            value.span(),
            format!("url \"{text}\" is not an http:// or https:// URL"),
            "write the full URL, e.g. url = \"http://127.0.0.1:7000/pools\"",
        ));
    }
    Ok(text.clone())
}

fn timeout(
    raw: &RawDriver,
    default: Duration,
    source: &Source<'_>,
) -> Result<Duration, ConfigError> {
    value::positive_duration_or(raw.timeout.as_ref(), "timeout", default, source)
}
