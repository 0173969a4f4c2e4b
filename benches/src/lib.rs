//! Load generation and peer comparison for Tidegate.
//!
//! The `loadgen` binary drives HTTP/1.1 keep-alive load: [`target`] turns the
//! URL into an address and one pre-encoded request, [`connection`] writes it and
//! reads one response with the minimal parser in [`response`], [`pacing`] plans
//! open-loop send times and sleeps until them precisely, [`run`] spreads the
//! connections over current-thread runtimes, [`stats`] records into
//! HdrHistograms and [`report`] turns that into the JSON summary. [`idle`] opens
//! many connections and holds them while reading a process's memory; [`cpu`]
//! reads other processes' CPU time over a run's measured window.
//! [`compare`] turns the JSON lines of one `compare.sh` run into the tables of
//! `RESULTS.md` (the `compare-report` binary).

#![forbid(unsafe_code)]

pub mod compare;
pub mod connection;
pub mod cpu;
pub mod error;
pub mod idle;
pub mod pacing;
pub mod report;
pub mod response;
pub mod run;
pub mod stats;
pub mod target;
