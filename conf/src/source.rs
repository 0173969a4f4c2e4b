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
    fn offsets_past_the_end_or_inside_a_character_are_clamped() {
        let source = Source::new("t.toml", "éa");
        assert_eq!(source.line_col(1), (1, 1));
        assert_eq!(source.line_col(99), (1, 3));
    }
}
