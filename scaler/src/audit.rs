//! The audit log: decision events in a bounded ring and, optionally, a JSONL file.
//!
//! An [`AuditEvent`] holds the inputs, every recommendation with its source, the
//! reason, the change (from -> to) and what the loop did about it ([`ActionRecord`]s
//! with the driver's results). The pool loop records a tick's decision when it changed
//! the desired count, acted (driver call, drain, join, leave), or changed its reason or
//! panic mode; a tick that repeats the previous one is only counted in [`crate::Metrics`],
//! so a 1 s tick does not flood the log. The ring answers the admin API's
//! `GET /scaler/events?pool=&limit=` newest first; the file keeps every event.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::decision::{Decision, Direction, Reason};
use crate::driver::{DriverError, DriverErrorKind, OpId};
use crate::error::ScalerError;
use crate::instance::InstanceId;
use crate::recommend::Recommendation;
use crate::signals::Signals;
use crate::time::Timestamp;

/// Something the loop did to reconcile a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Listed the driver's instances.
    List,
    /// New instances reported by the driver, announced to the data plane.
    Join {
        /// The instances.
        ids: Vec<InstanceId>,
    },
    /// Instances the driver no longer reports, forgotten by the data plane.
    Leave {
        /// The instances.
        ids: Vec<InstanceId>,
    },
    /// Asked the driver for this many instances in all.
    SetTarget {
        /// Total instances, draining ones included.
        target: u32,
        /// The operation id.
        op_id: OpId,
    },
    /// Started draining scale-down victims.
    Drain {
        /// The victims.
        ids: Vec<InstanceId>,
    },
    /// Took draining instances back into service.
    Undrain {
        /// The instances.
        ids: Vec<InstanceId>,
    },
    /// Asked the driver to remove drained instances.
    Remove {
        /// The instances.
        ids: Vec<InstanceId>,
        /// The operation id.
        op_id: OpId,
    },
}

/// How an action went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ActionResult {
    /// Done.
    Ok,
    /// The driver failed; the loop backs off until `retry_at`.
    Failed {
        /// The failure's class.
        error: DriverErrorKind,
        /// The driver's message.
        message: String,
        /// When the loop calls the driver again.
        retry_at: Timestamp,
    },
}

impl ActionResult {
    /// A failure, retried at `retry_at`.
    pub(crate) fn failed(error: &DriverError, retry_at: Timestamp) -> Self {
        Self::Failed {
            error: error.kind(),
            message: error.to_string(),
            retry_at,
        }
    }
}

/// An action and its result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionRecord {
    /// What the loop did.
    pub action: Action,
    /// How it went.
    pub result: ActionResult,
}

/// One decision of one pool, with its inputs and consequences.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// When it was decided.
    pub at: Timestamp,
    /// The pool.
    pub pool: String,
    /// The decision's inputs.
    pub signals: Signals,
    /// Every recommendation, with its source.
    pub recommendations: Vec<Recommendation>,
    /// Whether the pool was panicking.
    pub panicking: bool,
    /// Why the desired count is what it is.
    pub reason: Reason,
    /// The reason in words.
    pub reason_text: String,
    /// Desired count before.
    pub from: u32,
    /// Desired count after.
    pub to: u32,
    /// Which way it moved.
    pub direction: Direction,
    /// What the loop did, with the driver's results.
    pub actions: Vec<ActionRecord>,
}

impl AuditEvent {
    /// The event for `decision` of `pool` at `at`, with the actions taken.
    pub fn new(pool: &str, at: Timestamp, decision: &Decision, actions: Vec<ActionRecord>) -> Self {
        Self {
            at,
            pool: pool.to_owned(),
            signals: decision.signals,
            recommendations: decision.recommendations.clone(),
            panicking: decision.panicking,
            reason: decision.reason.clone(),
            reason_text: decision.reason.to_string(),
            from: decision.from,
            to: decision.to,
            direction: decision.direction,
            actions,
        }
    }
}

/// A bounded, queryable ring of audit events, optionally mirrored to a JSONL file.
#[derive(Debug)]
pub struct AuditLog {
    capacity: usize,
    ring: Mutex<VecDeque<AuditEvent>>,
    file: Option<(PathBuf, Mutex<BufWriter<File>>)>,
    write_errors: AtomicU64,
}

impl AuditLog {
    /// A log keeping the newest `capacity` events in memory.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            ring: Mutex::new(VecDeque::new()),
            file: None,
            write_errors: AtomicU64::new(0),
        }
    }

    /// A log that also appends every event as one JSON line to `path`.
    pub fn with_file(capacity: usize, path: &Path) -> Result<Self, ScalerError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ScalerError::io(path, e))?;
        Ok(Self {
            file: Some((path.to_owned(), Mutex::new(BufWriter::new(file)))),
            ..Self::new(capacity)
        })
    }

    /// Records an event; a failed file write is logged and counted, never fatal.
    pub fn record(&self, event: AuditEvent) {
        if let Some((path, file)) = &self.file {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            let written = serde_json::to_writer(&mut *file, &event)
                .map_err(std::io::Error::from)
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.flush());
            if let Err(e) = written {
                self.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(path = %path.display(), error = %e, "could not append to the scaler audit log");
            }
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(event);
    }

    /// Up to `limit` events, newest first, of `pool` or of every pool.
    pub fn query(&self, pool: Option<&str>, limit: usize) -> Vec<AuditEvent> {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter()
            .rev()
            .filter(|e| pool.is_none_or(|p| e.pool == p))
            .take(limit)
            .cloned()
            .collect()
    }

    /// How many events could not be written to the file.
    pub fn write_errors(&self) -> u64 {
        self.write_errors.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{decide, ScalerState};
    use crate::policy::Policy;

    fn event(pool: &str, secs: u64) -> AuditEvent {
        let policy = Policy::default();
        let at = Timestamp::from_unix_secs(secs);
        let decision = decide(&policy, &ScalerState::new(1), &Signals::default(), &[], at);
        AuditEvent::new(pool, at, &decision, Vec::new())
    }

    #[test]
    fn ring_is_bounded_and_queried_newest_first_by_pool() {
        let log = AuditLog::new(3);
        for (i, pool) in ["a", "b", "a", "a"].into_iter().enumerate() {
            log.record(event(pool, i as u64));
        }
        let all = log.query(None, 10);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].at, Timestamp::from_unix_secs(3));
        let a = log.query(Some("a"), 10);
        assert_eq!(
            a.iter().map(|e| e.at.unix_secs()).collect::<Vec<_>>(),
            [3, 2]
        );
        assert_eq!(log.query(Some("a"), 1).len(), 1);
    }

    #[test]
    fn file_gets_one_json_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::with_file(10, &path).unwrap();
        log.record(event("a", 1));
        log.record(event("b", 2));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["pool"], "b");
        assert_eq!(lines[0]["reason"]["kind"], "raised_to_min");
        assert_eq!(log.write_errors(), 0);
    }
}
