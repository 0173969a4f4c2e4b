//! Hot reload: a new configuration file replaces routes, pools and policies
//! without dropping a request.
//!
//! The file is parsed and validated completely before anything changes; on any
//! error the running configuration stays and the error (with `FILE:LINE:COL`)
//! is returned and logged. On success [`crate::plane::DataPlane::apply`] swaps in
//! the new snapshot: backends that stay keep their state, removed ones drain.
//! Listeners, `[server]` and `[admin]` are bound at start; changing them needs a
//! restart, and the reload says which of them changed. Triggers: SIGHUP,
//! `POST /api/v1/reload`, and `tidegate run --watch`, which polls the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tidegate_conf::{Config, ConfigError};

use crate::metrics;
use crate::plane::{DataPlane, ReloadReport};

/// How often `--watch` looks at the file's modification time.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new file is invalid; the running configuration stays.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// This process was not started from a file (the demo).
    #[error("this process was not started from a configuration file; nothing to reload")]
    NoFile,
}

/// What a successful reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Pools and backends that changed.
    pub report: ReloadReport,
    /// Settings that changed in the file but only take effect after a restart.
    pub needs_restart: Vec<String>,
}

/// Reloads one configuration file into a data plane.
#[derive(Debug)]
pub struct Reloader {
    path: Option<PathBuf>,
    plane: Arc<DataPlane>,
    /// Serialises reloads from the three triggers.
    running: std::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of `path` (none for a process not started from a file).
    pub fn new(path: Option<PathBuf>, plane: Arc<DataPlane>) -> Self {
        Self {
            path,
            plane,
            running: std::sync::Mutex::new(()),
        }
    }

    /// The file reloads read.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Reads, validates and applies the file.
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _one_at_a_time = self
            .running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let path = self.path.as_deref().ok_or(ReloadError::NoFile)?;
        let config = match tidegate_conf::load(path) {
            Ok(config) => config,
            Err(e) => {
                metrics::count_reload(false);
                tracing::error!(error = %e, "reload refused; the running configuration stays");
                return Err(e.into());
            }
        };
        for warning in config.warnings() {
            tracing::warn!(file = %path.display(), "{warning}");
        }
        let needs_restart = restart_only_changes(&self.plane.config(), &config);
        let report = self.plane.apply(config);
        metrics::count_reload(true);
        tracing::info!(
            file = %path.display(),
            pools_added = ?report.pools_added,
            pools_removed = ?report.pools_removed,
            backends_added = ?report.backends_added,
            backends_draining = ?report.backends_draining,
            needs_restart = ?needs_restart,
            "configuration reloaded"
        );
        Ok(Reloaded {
            report,
            needs_restart,
        })
    }

    /// Reloads whenever the file's modification time changes, forever.
    pub async fn watch(self: Arc<Self>) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let mut seen = modified(&path);
        let mut ticker = tokio::time::interval(WATCH_EVERY);
        loop {
            ticker.tick().await;
            let now = modified(&path);
            if now.is_some() && now != seen {
                seen = now;
                let reloader = Arc::clone(&self);
                // Parsing and validation read the disk: keep them off the runtime.
                let _ = tokio::task::spawn_blocking(move || reloader.reload()).await;
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The settings bound at start that differ between `old` and `new`.
fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    if old.listeners != new.listeners {
        changed.push("[[listener]]".to_string());
    }
    if old.server != new.server {
        changed.push("[server]".to_string());
    }
    if old.admin != new.admin {
        changed.push("[admin]".to_string());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    const BASE: &str = "[[listener]]\naddress = \"127.0.0.1:0\"\n[pool.p]\n";

    fn write(path: &Path, body: &str) {
        std::fs::write(path, format!("{BASE}{body}")).unwrap();
    }

    #[test]
    fn a_bad_file_changes_nothing_and_a_good_one_applies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        write(&path, "backends = [\"127.0.0.1:9001\"]\n");
        let config = tidegate_conf::load(&path).unwrap();
        let plane = Arc::new(DataPlane::new(config, Clock::new()));
        let reloader = Reloader::new(Some(path.clone()), Arc::clone(&plane));

        write(&path, "backends = [\"127.0.0.1:9001\"\n");
        let error = reloader.reload().unwrap_err().to_string();
        assert!(error.contains("t.toml:"), "{error}");
        assert_eq!(plane.config().pools[0].backends.len(), 1);

        write(
            &path,
            "policy = \"peak_ewma\"\nbackends = [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n",
        );
        let done = reloader.reload().unwrap();
        assert_eq!(
            done.report.backends_added,
            vec!["p/127.0.0.1:9002".to_string()]
        );
        assert!(done.needs_restart.is_empty());
        assert_eq!(plane.routing().load().pools()[0].members().len(), 2);
    }

    #[test]
    fn no_file_no_reload() {
        let config =
            tidegate_conf::parse(&format!("{BASE}backends = [\"127.0.0.1:9001\"]\n"), "x").unwrap();
        let plane = Arc::new(DataPlane::new(config, Clock::new()));
        assert!(matches!(
            Reloader::new(None, plane).reload(),
            Err(ReloadError::NoFile)
        ));
    }
}
