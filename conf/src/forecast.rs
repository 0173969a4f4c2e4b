//! `[forecast]`: where the forecasting model is fitted.

use std::fmt;

use serde::Serialize;

/// `[forecast]`: settings of the forecasting engine shared by all pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Forecast {
    /// Which device fits the models; default `auto`.
    pub device: ForecastDevice,
}

/// The device the forecasting grid search runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastDevice {
    /// A hardware GPU adapter when there is one, else the CPU (`"auto"`).
    #[default]
    Auto,
    /// The CPU reference implementation (`"cpu"`).
    Cpu,
    /// A GPU adapter, software ones included (`"gpu"`).
    Gpu,
}

impl ForecastDevice {
    /// Every device, in the order the documentation lists them.
    pub(crate) const ALL: [Self; 3] = [Self::Auto, Self::Cpu, Self::Gpu];

    /// The name used in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
        }
    }

    /// The device called `name` in the file.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|device| device.name() == name)
    }
}

impl fmt::Display for ForecastDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
