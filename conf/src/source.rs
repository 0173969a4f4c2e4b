//! The text being loaded and how to point into it: turns toml's byte spans into the
//! 1-based line and character column of a [`ConfigError::Invalid`].

use std::ops::Range;

use crate::ConfigError;

/// A configuration text together with the name it is reported under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    origin: &'a str,
    text: &'a str,
}

impl<'a> Source<'a> {
    /// Wraps `text`, whose errors will be reported as coming from `origin`.
    pub(crate) fn new(origin: &'a str, text: &'a str) -> Self {
        Self { origin, text }
    }

    /// An error located at the start of `span`.
    pub(crate) fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        let (line, col) = self.line_col(span.start);
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            line,
            col,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// An error located at the key whose value spans `value`.
    pub(crate) fn error_at_key(
        &self,
        value: Range<usize>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        self.error(self.key_of(value), message, hint)
    }

    /// The span from the key of `key = value` to the end of `value`; `value` itself when
    /// the text before it is not `key =` (so an error can never point somewhere wrong).
    pub(crate) fn key_of(&self, value: Range<usize>) -> Range<usize> {
        let Some(before) = self.text.get(..value.start) else {
            return value;
        };
        let Some(key_end) = before
            .trim_end_matches([' ', '\t'])
            .strip_suffix('=')
            .map(|rest| rest.trim_end_matches([' ', '\t']))
        else {
            return value;
        };
        let key_start = match key_end.chars().next_back() {
            Some(quote @ ('"' | '\'')) => key_end[..key_end.len() - 1].rfind(quote),
            Some(_) => {
                let is_bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                let start = key_end.trim_end_matches(is_bare).len();
                (start < key_end.len()).then_some(start)
            }
            None => None,
        };
        key_start.map_or(value.clone(), |start| start..value.end)
    }

    /// The 1-based line and character column of byte `offset`.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &self.text[..end];
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let line = before.matches('\n').count() + 1;
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::Source;

    #[test]
    fn offsets_become_one_based_lines_and_columns() {
        let source = Source::new("t.toml", "ab\ncd\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(1), (1, 2));
        assert_eq!(source.line_col(3), (2, 1));
        assert_eq!(source.line_col(4), (2, 2));
        assert_eq!(source.line_col(6), (3, 1));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let source = Source::new("t.toml", "é = \"ü\"x");
        assert_eq!(source.line_col("é = \"ü\"".len()), (1, 8));
    }

    #[test]
    fn keys_are_found_before_their_values() {
        let text = "a = 1\n  kind-2 =\t\"x\"\n\"q k\" = 3\n[t]\n";
        let source = Source::new("t.toml", text);
        assert_eq!(source.key_of(4..5), 0..5);
        let x = text.find("\"x\"").unwrap();
        assert_eq!(source.key_of(x..x + 3), 8..x + 3);
        let three = text.find('3').unwrap();
        assert_eq!(
            source.key_of(three..three + 1).start,
            text.find("\"q").unwrap()
        );
        let table = text.find('t').unwrap();
        assert_eq!(source.key_of(table..table + 1), table..table + 1);
    }

    #[test]
    fn offsets_past_the_end_or_inside_a_character_are_clamped() {
        let source = Source::new("t.toml", "éa");
        assert_eq!(source.line_col(1), (1, 1));
        assert_eq!(source.line_col(99), (1, 3));
    }
}
