//! Turns the JSON lines of one `compare.sh` run into the tables of `RESULTS.md`.
//!
//! `compare.sh` appends every `loadgen` report (tagged with section, target,
//! round and rate) to one `runs.jsonl`; [`records`] reads it back and takes
//! medians over rounds, [`capacity`] derives the heterogeneous test's rate from
//! the measured backend latencies, [`tables`] writes the Markdown, and
//! [`markers`] replaces only the generated part of `RESULTS.md`.

pub mod capacity;
pub mod markers;
pub mod records;
pub mod tables;

use std::path::PathBuf;

/// Why a report could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A line of the runs file is not a run record.
    #[error("{path}:{line}: not a run record: {source}")]
    Json {
        /// The runs file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What the JSON parser said.
        #[source]
        source: serde_json::Error,
    },
    /// Measurements the computation needs are not in the runs file.
    #[error("no {what} in the runs file; run that section of compare.sh first")]
    Missing {
        /// What is missing.
        what: String,
    },
    /// `RESULTS.md` has one marker without the other.
    #[error("{path}: found {found} but not {missing}; fix or remove the marker")]
    Markers {
        /// The results file.
        path: PathBuf,
        /// The marker present.
        found: &'static str,
        /// The marker absent.
        missing: &'static str,
    },
}
