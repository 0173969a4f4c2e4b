//! Errors: a [`SetupError`] stops a run before or while it starts; a
//! [`RequestError`] is one request that got no usable response, counted by kind.

use std::io;

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL is not a plain `http://` URL.
    #[error("--url {url}: {reason}; expected http://HOST[:PORT][/PATH]")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `--header` is not `NAME:VALUE`.
    #[error("--header {header:?}: expected NAME:VALUE without line breaks")]
    Header {
        /// The header as given.
        header: String,
    },
    /// The host did not resolve to an address.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// What the resolver said.
        #[source]
        source: io::Error,
    },
    /// An option has a value that cannot work.
    #[error("{option}: {reason}")]
    Option {
        /// The option's flag, e.g. `--rate`.
        option: &'static str,
        /// Why, and what would work.
        reason: String,
    },
    /// A thread, runtime, timer or histogram could not be created.
    #[error("cannot create {what}: {source}")]
    System {
        /// What was being created.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A load thread panicked or its results could not be combined.
    #[error("load thread failed: {0}")]
    Thread(String),
    /// `/proc/PID/status` could not be read or has no VmRSS line.
    #[error("cannot read VmRSS of pid {pid} from /proc/{pid}/status: {reason}")]
    Rss {
        /// The process id.
        pid: u32,
        /// What went wrong.
        reason: String,
    },
    /// A file under `/proc/PID` could not be read or parsed.
    #[error("cannot read /proc/{pid}/{file}: {reason}")]
    Proc {
        /// The process id.
        pid: u32,
        /// The file under `/proc/PID`.
        file: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// Why one request got no usable response.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The TCP connection could not be opened.
    #[error("connect: {0}")]
    Connect(#[source] io::Error),
    /// Writing the request failed.
    #[error("write: {0}")]
    Write(#[source] io::Error),
    /// Reading the response failed.
    #[error("read: {0}")]
    Read(#[source] io::Error),
    /// The server closed the connection before a full response.
    #[error("connection closed before a full response")]
    Closed,
    /// The response is not valid HTTP/1.x.
    #[error("malformed response: {0}")]
    Parse(&'static str),
    /// No full response within `--timeout`.
    #[error("no response within the timeout")]
    Timeout,
}

impl RequestError {
    /// The short name this error is counted under in the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect(_) => "connect",
            Self::Write(_) => "write",
            Self::Read(_) => "read",
            Self::Closed => "closed",
            Self::Parse(_) => "parse",
            Self::Timeout => "timeout",
        }
    }
}
