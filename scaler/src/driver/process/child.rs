//! One backend child process: spawn from the command template, watch, terminate.
//!
//! Children are spawned with `kill_on_drop`, so a dropped driver never leaves one
//! running; [`terminate`] is the graceful path: SIGTERM, then SIGKILL after the grace
//! period, and always a `wait` so no zombie is left.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::driver::DriverError;
use crate::instance::{Instance, InstanceId, InstanceState};

/// What one child is started with.
#[derive(Debug)]
pub(super) struct Launch<'a> {
    pub(super) command: &'a [String],
    pub(super) env: &'a [(String, String)],
    pub(super) pool: &'a str,
    pub(super) id: InstanceId,
    pub(super) address: SocketAddr,
    pub(super) region: Option<String>,
}

/// A running backend process.
#[derive(Debug)]
pub(super) struct Backend {
    pub(super) id: InstanceId,
    pub(super) address: SocketAddr,
    pub(super) region: Option<String>,
    child: Child,
}

impl Backend {
    /// Spawns the command with `{port}`, `{region}`, `{pool}` and `{id}` filled in.
    pub(super) fn spawn(launch: Launch<'_>) -> Result<Self, DriverError> {
        let port = launch.address.port().to_string();
        let region = launch.region.clone().unwrap_or_default();
        let fill = |arg: &String| {
            arg.replace("{port}", &port)
                .replace("{region}", &region)
                .replace("{pool}", launch.pool)
                .replace("{id}", launch.id.as_str())
        };
        let argv: Vec<String> = launch.command.iter().map(fill).collect();
        let Some((program, args)) = argv.split_first() else {
            return Err(DriverError::Permanent(
                "process driver: `command` is empty".into(),
            ));
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .env("TIDEGATE_POOL", launch.pool)
            .env("TIDEGATE_INSTANCE_ID", launch.id.as_str())
            .env("TIDEGATE_PORT", &port)
            .env("TIDEGATE_REGION", &region)
            .env("TIDEGATE_PARENT_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| {
            let message = format!("process driver: spawning {program:?}: {e}");
            match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    DriverError::Permanent(message)
                }
                _ => DriverError::Transient(message),
            }
        })?;
        Ok(Self {
            id: launch.id,
            address: launch.address,
            region: launch.region,
            child,
        })
    }

    /// How the child ended, if it has (reaps it).
    pub(super) fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The child's process id while it runs.
    pub(super) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The instance as the driver reports it.
    pub(super) fn instance(&self) -> Instance {
        Instance {
            id: self.id.clone(),
            address: self.address,
            region: self.region.clone(),
            state: InstanceState::Pending,
        }
    }
}

/// Stops `backends`: SIGTERM to all, SIGKILL to those still running after `grace`.
pub(super) async fn terminate(backends: Vec<Backend>, grace: Duration) {
    for backend in &backends {
        let Some(pid) = backend.pid().and_then(|p| i32::try_from(p).ok()) else {
            continue;
        };
        match kill(Pid::from_raw(pid), Signal::SIGTERM) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(e) => {
                tracing::warn!(id = %backend.id, pid, error = %e, "SIGTERM failed; SIGKILL follows after the grace period")
            }
        }
    }
    let deadline = tokio::time::Instant::now() + grace;
    for mut backend in backends {
        if tokio::time::timeout_at(deadline, backend.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(id = %backend.id, "backend ignored SIGTERM for the grace period; sending SIGKILL");
            if let Err(e) = backend.child.kill().await {
                tracing::warn!(id = %backend.id, error = %e, "SIGKILL failed");
            }
        }
    }
}
