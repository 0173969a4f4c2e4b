//! Helpers shared by the error tests: parse a text that must fail and check where,
//! what and how to fix.

use tidegate_conf::{parse, ConfigError};

/// Parses `text`, expecting a positioned error; returns (line, col, message, hint).
pub fn invalid(text: &str) -> (usize, usize, String, String) {
    match parse(text, "tidegate.toml") {
        Err(ConfigError::Invalid {
            origin,
            line,
            col,
            message,
            hint,
        }) => {
            assert_eq!(origin, "tidegate.toml");
            (line, col, message, hint)
        }
        other => panic!("expected a positioned error, got {other:?}"),
    }
}

/// Asserts that `text` fails at `line`:`col` with a message and hint containing the given parts.
pub fn assert_invalid(text: &str, line: usize, col: usize, message_part: &str, hint_part: &str) {
    let (got_line, got_col, message, hint) = invalid(text);
    assert_eq!(
        (got_line, got_col),
        (line, col),
        "wrong position for: {message}"
    );
    assert!(
        message.contains(message_part),
        "message {message:?} lacks {message_part:?}"
    );
    assert!(
        hint.contains(hint_part),
        "hint {hint:?} lacks {hint_part:?}"
    );
}
