//! `${NAME}` interpolation. Runs on the parsed document tree before typed
//! deserialization, so it reaches every string value of every table (keys are left
//! alone) and errors keep the string's position. `$${` stands for a literal `${`.

use std::borrow::Cow;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::source::Source;
use crate::ConfigError;

/// Looks up the value of an environment variable; `None` when it is unset.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Replaces `${NAME}` in every string value below `table`.
pub(crate) fn document(
    table: &mut DeTable<'_>,
    lookup: Lookup<'_>,
    source: &Source<'_>,
) -> Result<(), ConfigError> {
    for (_, value) in table.iter_mut() {
        value_in_place(value, lookup, source)?;
    }
    Ok(())
}

fn value_in_place(
    value: &mut Spanned<DeValue<'_>>,
    lookup: Lookup<'_>,
    source: &Source<'_>,
) -> Result<(), ConfigError> {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(text) => {
            if let Some(expanded) = expand(text, lookup).map_err(|bad| bad.at(span, source))? {
                *text = Cow::Owned(expanded);
            }
            Ok(())
        }
        DeValue::Array(items) => items
            .iter_mut()
            .try_for_each(|item| value_in_place(item, lookup, source)),
        DeValue::Table(table) => document(table, lookup, source),
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {
            Ok(())
        }
    }
}

/// Why a string could not be expanded.
#[derive(Debug, PartialEq)]
enum BadReference {
    Unset(String),
    Unterminated,
    BadName(String),
}

impl BadReference {
    fn at(self, span: std::ops::Range<usize>, source: &Source<'_>) -> ConfigError {
        match self {
            Self::Unset(name) => source.error(
                span,
                format!("environment variable `{name}` is not set"),
                format!("export {name} before starting tidegate, or remove the ${{{name}}} reference"),
            ),
            Self::Unterminated => source.error(
                span,
                "`${` without a closing `}`",
                "close the reference like ${NAME}, or write $${ for a literal ${",
            ),
            Self::BadName(name) => source.error(
                span,
                format!("`${{{name}}}` is not a valid environment variable reference"),
                "variable names use letters, digits and '_', like ${TIDEGATE_PORT}; write $${ for a literal ${",
            ),
        }
    }
}

/// The expanded text, or `None` when `text` holds no reference and stays as it is.
fn expand(text: &str, lookup: Lookup<'_>) -> Result<Option<String>, BadReference> {
    if !text.contains('$') {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar..];
        if let Some(literal) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(reference) = after.strip_prefix("${") {
            let close = reference.find('}').ok_or(BadReference::Unterminated)?;
            let name = &reference[..close];
            if !is_variable_name(name) {
                return Err(BadReference::BadName(name.to_owned()));
            }
            let value = lookup(name).ok_or_else(|| BadReference::Unset(name.to_owned()))?;
            out.push_str(&value);
            rest = &reference[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(Some(out))
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::{expand, BadReference};

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("127.0.0.1".to_owned()),
            "PORT" => Some("9001".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn references_are_replaced() {
        assert_eq!(
            expand("${HOST}:${PORT}", &env),
            Ok(Some("127.0.0.1:9001".to_owned()))
        );
    }

    #[test]
    fn text_without_dollar_is_left_alone() {
        assert_eq!(expand("plain", &env), Ok(None));
    }

    #[test]
    fn double_dollar_is_a_literal_reference() {
        assert_eq!(
            expand("$${HOST} costs $5", &env),
            Ok(Some("${HOST} costs $5".to_owned()))
        );
    }

    #[test]
    fn unset_unterminated_and_malformed_references_are_errors() {
        assert_eq!(
            expand("${NOPE}", &env),
            Err(BadReference::Unset("NOPE".to_owned()))
        );
        assert_eq!(expand("a ${HOST", &env), Err(BadReference::Unterminated));
        assert_eq!(
            expand("${}", &env),
            Err(BadReference::BadName(String::new()))
        );
        assert_eq!(
            expand("${A-B}", &env),
            Err(BadReference::BadName("A-B".to_owned()))
        );
    }
}
