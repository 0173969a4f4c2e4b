//! The `exec` driver: user scripts that list, launch and remove instances.
//!
//! Each script is an argv run with a timeout; the driver appends arguments and sets
//! environment variables (`TIDEGATE_POOL`, `TIDEGATE_OP_ID`, ...):
//!
//! | call | arguments | stdout |
//! |---|---|---|
//! | list | `POOL` | `[{"id":"...","address":"127.0.0.1:9101","region":"eu-west"}]` |
//! | launch | `POOL COUNT OP_ID` (COUNT new instances; `TIDEGATE_TARGET` is the total) | any JSON |
//! | remove | `POOL OP_ID ID...` | any JSON |
//!
//! A timeout is `Transient`; output that is not JSON is `Permanent`; a non-zero exit is
//! classified by its code: 69 (EX_UNAVAILABLE) `OutOfCapacity`, 75 (EX_TEMPFAIL)
//! `RateLimited` for 1 s, 64, 65, 77 and 78 (usage, data, permission, config)
//! `Permanent`, any other code or a signal `Transient`.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use tokio::process::Command;

use crate::driver::{Driver, DriverError, OpId};
use crate::error::ScalerError;
use crate::instance::{Instance, InstanceId};

/// The scripts of an `exec` driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecDriverConfig {
    /// argv of the script that prints the pool's instances.
    pub list: Vec<String>,
    /// argv of the script that launches instances.
    pub launch: Vec<String>,
    /// argv of the script that removes named instances.
    pub remove: Vec<String>,
    /// Longest any one script may run.
    pub timeout: Duration,
    /// Extra environment variables for every script.
    pub env: Vec<(String, String)>,
}

impl ExecDriverConfig {
    /// Scripts with a 30 s timeout and no extra environment.
    pub fn new(list: Vec<String>, launch: Vec<String>, remove: Vec<String>) -> Self {
        Self {
            list,
            launch,
            remove,
            timeout: Duration::from_secs(30),
            env: Vec::new(),
        }
    }
}

/// Launches and removes instances through user scripts.
#[derive(Debug)]
pub struct ExecDriver {
    name: String,
    config: ExecDriverConfig,
}

impl ExecDriver {
    /// An exec driver named `name`; every script must be given.
    pub fn new(name: impl Into<String>, config: ExecDriverConfig) -> Result<Self, ScalerError> {
        for (field, argv) in [
            ("list", &config.list),
            ("launch", &config.launch),
            ("remove", &config.remove),
        ] {
            if argv.is_empty() {
                return Err(ScalerError::invalid(
                    field,
                    "[]",
                    "give the script's argv, e.g. [\"./scale.sh\", \"list\"]",
                ));
            }
        }
        if config.timeout.is_zero() {
            return Err(ScalerError::invalid(
                "timeout",
                "0s",
                "give the scripts time to run, e.g. \"30s\"",
            ));
        }
        Ok(Self {
            name: name.into(),
            config,
        })
    }

    /// Runs one script and parses its stdout as JSON.
    async fn run(
        &self,
        call: &'static str,
        argv: &[String],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<serde_json::Value, DriverError> {
        let Some((program, fixed)) = argv.split_first() else {
            return Err(DriverError::Permanent(format!(
                "exec driver: `{call}` has no argv"
            )));
        };
        let mut command = Command::new(program);
        command
            .args(fixed)
            .args(args)
            .envs(
                self.config
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let run = tokio::time::timeout(self.config.timeout, command.output());
        let output = match run.await {
            Err(_) => {
                return Err(DriverError::Transient(format!(
                    "exec driver: `{call}` ({program}) timed out after {}",
                    humantime::format_duration(self.config.timeout)
                )))
            }
            Ok(Err(e)) => {
                let message = format!("exec driver: starting `{call}` ({program}): {e}");
                return Err(match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                        DriverError::Permanent(message)
                    }
                    _ => DriverError::Transient(message),
                });
            }
            Ok(Ok(output)) => output,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = format!(
                "exec driver: `{call}` ({program}) exited with {}: {}",
                output.status,
                tail(stderr.trim(), 300)
            );
            return Err(classify_exit(output.status.code(), message));
        }
        serde_json::from_slice(&output.stdout).map_err(|e| {
            let stdout = String::from_utf8_lossy(&output.stdout);
            DriverError::Permanent(format!(
                "exec driver: `{call}` ({program}) printed no valid JSON ({e}): {:?}",
                tail(stdout.trim(), 200)
            ))
        })
    }

    async fn list(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        let value = self
            .run(
                "list",
                &self.config.list,
                &[pool],
                &[("TIDEGATE_POOL", pool)],
            )
            .await?;
        serde_json::from_value(value).map_err(|e| {
            DriverError::Permanent(format!(
                "exec driver: `list` must print [{{\"id\":..,\"address\":\"IP:PORT\"}}, ..]: {e}"
            ))
        })
    }
}

/// Maps a script's exit code to a class (see the module docs).
fn classify_exit(code: Option<i32>, message: String) -> DriverError {
    match code {
        Some(69) => DriverError::OutOfCapacity(message),
        Some(75) => DriverError::RateLimited {
            retry_after: Duration::from_secs(1),
            message,
        },
        Some(64 | 65 | 77 | 78) => DriverError::Permanent(message),
        _ => DriverError::Transient(message),
    }
}

/// The last `max` characters of `text`.
fn tail(text: &str, max: usize) -> &str {
    let skip = text.chars().count().saturating_sub(max);
    text.char_indices()
        .nth(skip)
        .map_or(text, |(i, _)| &text[i..])
}

#[async_trait]
impl Driver for ExecDriver {
    fn name(&self) -> &str {
        &self.name
    }

    async fn instances(&self, pool: &str) -> Result<Vec<Instance>, DriverError> {
        self.list(pool).await
    }

    async fn set_target(&self, pool: &str, desired: u32, op: &OpId) -> Result<(), DriverError> {
        let have = u32::try_from(self.list(pool).await?.len()).unwrap_or(u32::MAX);
        if desired <= have {
            return Ok(());
        }
        let count = (desired - have).to_string();
        let target = desired.to_string();
        let env = [
            ("TIDEGATE_POOL", pool),
            ("TIDEGATE_COUNT", count.as_str()),
            ("TIDEGATE_TARGET", target.as_str()),
            ("TIDEGATE_OP_ID", op.as_str()),
        ];
        self.run(
            "launch",
            &self.config.launch,
            &[pool, &count, op.as_str()],
            &env,
        )
        .await
        .map(drop)
    }

    async fn remove(&self, pool: &str, ids: &[InstanceId], op: &OpId) -> Result<(), DriverError> {
        if ids.is_empty() {
            return Ok(());
        }
        let joined = ids
            .iter()
            .map(InstanceId::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let mut args = vec![pool, op.as_str()];
        args.extend(ids.iter().map(InstanceId::as_str));
        let env = [
            ("TIDEGATE_POOL", pool),
            ("TIDEGATE_OP_ID", op.as_str()),
            ("TIDEGATE_IDS", joined.as_str()),
        ];
        self.run("remove", &self.config.remove, &args, &env)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_classified() {
        let kind = |code| classify_exit(code, String::new()).kind();
        use crate::DriverErrorKind::*;
        assert_eq!(kind(Some(69)), OutOfCapacity);
        assert_eq!(kind(Some(75)), RateLimited);
        assert_eq!(kind(Some(64)), Permanent);
        assert_eq!(kind(Some(1)), Transient);
        assert_eq!(kind(None), Transient);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
    }
}
