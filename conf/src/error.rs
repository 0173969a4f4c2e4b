//! The one error type of this crate: a file that cannot be read, or a problem at a
//! place in the file with the fix for it.

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path as given to [`crate::load`].
        path: String,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{origin}:{line}:{col}: {message}\n  hint: {hint}")]
    Invalid {
        /// Where the text came from: the path, or the name given to [`crate::parse`].
        origin: String,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column, counted in characters.
        col: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}
