//! Turns toml's syntax and schema errors into positioned [`ConfigError`]s with a hint.
//! toml reports serde's own wording ("unknown field `x`, expected one of ..."), so the
//! common shapes are recognised here and reworded in the file's vocabulary of keys.

use crate::source::Source;
use crate::ConfigError;

/// Hint for TOML that does not parse.
const SYNTAX_HINT: &str = "fix the TOML syntax here; see https://toml.io for the format";
/// Hint when nothing more specific is known.
const SCHEMA_HINT: &str = "compare with the example configurations in conf/examples/";

/// A document that is not valid TOML.
pub(crate) fn syntax(source: &Source<'_>, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim_end();
    let hint = if message.contains("duplicate key") {
        "each key may appear once per table; remove or rename one of them"
    } else {
        SYNTAX_HINT
    };
    source.error(span(error), format!("invalid TOML: {message}"), hint)
}

/// Valid TOML that does not fit the schema: unknown or missing keys, wrong types.
pub(crate) fn schema(source: &Source<'_>, error: &toml::de::Error) -> ConfigError {
    let (message, hint) = reword(error.message().trim_end());
    source.error(span(error), message, hint)
}

fn span(error: &toml::de::Error) -> std::ops::Range<usize> {
    error.span().unwrap_or(0..0)
}

/// The message and hint for one of serde's error messages.
fn reword(message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, expected) = rest.split_once(", ").unwrap_or((rest, ""));
        let hint = match expected.strip_prefix("expected ") {
            Some(valid) => {
                let valid = valid.strip_prefix("one of ").unwrap_or(valid);
                format!(
                    "check the spelling; valid keys here: {}",
                    valid.replace("` or `", ", ").replace('`', "")
                )
            }
            None => "this table takes no keys; remove it".to_owned(),
        };
        return (format!("unknown key {key}"), hint);
    }
    if let Some(key) = message.strip_prefix("missing field ") {
        let name = key.trim_matches('`');
        return (
            format!("missing key {key}"),
            format!("add `{name} = ...` to this table"),
        );
    }
    let wrong_value = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some(rest) = wrong_value {
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            let expected = plain_type(expected);
            return (
                format!("expected {expected}, found {found}"),
                type_hint(expected).to_owned(),
            );
        }
    }
    (message.to_owned(), SCHEMA_HINT.to_owned())
}

/// serde's name for a type, in the words of a configuration file.
fn plain_type(expected: &str) -> &str {
    match expected {
        "i64" => "an integer",
        "f64" => "a number",
        "a sequence" => "a list",
        other => other,
    }
}

fn type_hint(expected: &str) -> &'static str {
    match expected {
        "a string" => "write the value in double quotes",
        "an integer" => "write a whole number without quotes, e.g. 4",
        "a number" => "write a number without quotes, e.g. 4 or 0.9",
        "a boolean" => "write true or false, without quotes",
        "a list" => "write a list in square brackets, e.g. [\"eu-west\", \"us-east\"]",
        "a table" => "write a table: a [section] or an inline { key = value, ... }",
        "a table of [pool.NAME] tables" => "write each pool as its own [pool.NAME] table",
        "a backend address string or { address = ... } table" => {
            "write \"IP:PORT\" or { address = \"IP:PORT\", region = \"...\", weight = 1 }"
        }
        _ => SCHEMA_HINT,
    }
}

#[cfg(test)]
mod tests {
    use super::reword;

    #[test]
    fn unknown_fields_list_the_valid_keys() {
        let (message, hint) =
            reword("unknown field `thread`, expected one of `threads`, `grace_period`");
        assert_eq!(message, "unknown key `thread`");
        assert_eq!(
            hint,
            "check the spelling; valid keys here: threads, grace_period"
        );
    }

    #[test]
    fn unknown_field_with_two_valid_keys() {
        let (_, hint) = reword("unknown field `tokn`, expected `address` or `token`");
        assert_eq!(hint, "check the spelling; valid keys here: address, token");
    }

    #[test]
    fn unknown_field_with_a_single_valid_key() {
        let (_, hint) = reword("unknown field `x`, expected `pool`");
        assert_eq!(hint, "check the spelling; valid keys here: pool");
    }

    #[test]
    fn missing_fields_say_what_to_add() {
        let (message, hint) = reword("missing field `address`");
        assert_eq!(message, "missing key `address`");
        assert_eq!(hint, "add `address = ...` to this table");
    }

    #[test]
    fn wrong_types_name_the_expected_type() {
        let (message, hint) = reword("invalid type: string \"4\", expected i64");
        assert_eq!(message, "expected an integer, found string \"4\"");
        assert!(hint.contains("without quotes"));
    }

    #[test]
    fn numbers_and_booleans_have_their_own_hints() {
        let (message, hint) = reword("invalid type: string \"8\", expected f64");
        assert_eq!(message, "expected a number, found string \"8\"");
        assert!(hint.contains("e.g. 4 or 0.9"));
        let (message, hint) = reword("invalid type: string \"yes\", expected a boolean");
        assert_eq!(message, "expected a boolean, found string \"yes\"");
        assert!(hint.contains("true or false"));
    }

    #[test]
    fn other_messages_pass_through() {
        let (message, _) = reword("something else");
        assert_eq!(message, "something else");
    }
}
