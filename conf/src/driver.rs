//! Scaler drivers: the named `[driver.NAME]` tables that say how a pool's instances
//! are listed, launched and removed. Pools refer to them by name from their scaler.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde::Serialize;

/// A `[driver.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriverSpec {
    /// The NAME of `[driver.NAME]`.
    pub name: String,
    /// What the driver does, from its `kind` key.
    #[serde(flatten)]
    pub kind: DriverKind,
}

/// How a driver provides instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DriverKind {
    /// The pool's configured backends are the instances.
    Static,
    /// Spawns local processes from a command template.
    Process {
        /// The argv; `{port}` in any element is replaced by the instance's port.
        command: Vec<String>,
        /// The ports handed to new instances.
        ports: RangeInclusive<u16>,
        /// Regions new instances take in turn; empty for none.
        regions: Vec<String>,
        /// Environment variables set for each instance, in file order; their values
        /// are written out redacted (they often carry keys).
        #[serde(serialize_with = "crate::serialize::redacted_env")]
        env: Vec<(String, String)>,
    },
    /// Runs user scripts that print JSON on stdout.
    Exec {
        /// The argv that lists the pool's instances.
        list: Vec<String>,
        /// The argv that launches instances.
        launch: Vec<String>,
        /// The argv that removes named instances.
        remove: Vec<String>,
        /// How long one script may run; default 30 s.
        #[serde(serialize_with = "crate::serialize::duration")]
        timeout: Duration,
    },
    /// Scales an EC2 Auto Scaling group per pool.
    AwsAsg {
        /// The AWS region, e.g. `eu-west-1`; also the region of every instance.
        region: String,
        /// The group's name; `{pool}` in it stands for the pool's name.
        group: String,
        /// The port the instances serve on.
        port: u16,
        /// The Auto Scaling API endpoint, when not the region's public one.
        endpoint: Option<String>,
        /// The EC2 API endpoint, when not the region's public one.
        ec2_endpoint: Option<String>,
        /// How long one API call may take; default 10 s.
        #[serde(serialize_with = "crate::serialize::duration")]
        timeout: Duration,
    },
    /// Calls a webhook.
    Http {
        /// The endpoint; http:// or https://. Written out without the password
        /// of any user information in it.
        #[serde(serialize_with = "crate::serialize::redacted_url")]
        url: String,
        /// The bearer token sent with each call, if any.
        #[serde(serialize_with = "crate::serialize::redacted")]
        token: Option<String>,
        /// How long one call may take; default 5 s.
        #[serde(serialize_with = "crate::serialize::duration")]
        timeout: Duration,
    },
}

impl DriverKind {
    /// The `kind` value that selects this driver in the file.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::Process { .. } => "process",
            Self::Exec { .. } => "exec",
            Self::Http { .. } => "http",
            Self::AwsAsg { .. } => "aws_asg",
        }
    }

    /// The regions this driver gives new instances, as configured.
    pub fn regions(&self) -> &[String] {
        match self {
            Self::Process { regions, .. } => regions,
            Self::AwsAsg { region, .. } => std::slice::from_ref(region),
            Self::Static | Self::Exec { .. } | Self::Http { .. } => &[],
        }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
