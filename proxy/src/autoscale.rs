//! The autoscaler inside the proxy: one control loop per pool with a `scaler`.
//!
//! Each loop reads this data plane's exact signals (in flight now, request
//! rate, p95 latency, each backend's state) through [`PlaneSignals`], adds the
//! predictive recommendation (Holt-Winters at now + `lead_time`) when
//! `predictive` is enabled, asks its driver for instances, and changes membership through the same adapter: new
//! instances join as pending and take traffic once their health check passes;
//! victims drain before the driver removes them. A scaled pool without a
//! `health` table gets a TCP check every second (see
//! [`crate::plane::effective_health`]), so a process that is still starting is
//! never sent a request.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tidegate_conf::{BackendSpec, Config, DriverKind, ScalerSpec};
use tidegate_scaler::driver::{
    AwsAsgConfig, AwsAsgDriver, ExecDriver, ExecDriverConfig, HttpDriver, HttpDriverConfig,
    ProcessDriver, ProcessDriverConfig, StaticDriver,
};
use tidegate_scaler::{
    AuditLog, BackendSample, CostModel, DataPlane as ScalerPlane, Driver, ForecastDevice,
    Forecaster, Instance, InstanceId, InstanceState, LoopConfig, LoopParts, Loss, Metrics, Policy,
    PoolHandle, PoolLoop, PoolSample, PredictiveConfig, PredictiveRecommender, Recommender,
    ScalerError, ScheduleRule, SignalSource, Timestamp,
};

use crate::member::Origin;
use crate::plane::DataPlane;

/// Decisions kept in memory for `GET /api/v1/scaler/events`.
const AUDIT_CAPACITY: usize = 4096;

/// Why the autoscaler could not start.
#[derive(Debug, thiserror::Error)]
pub enum AutoscaleError {
    /// The pool's scaler settings or driver were refused.
    #[error("pool \"{pool}\": {source}")]
    Scaler {
        /// The pool.
        pool: String,
        /// The scaler's reason.
        #[source]
        source: ScalerError,
    },
    /// The pool names a driver the configuration does not define.
    #[error("pool \"{pool}\": no [driver.{driver}]")]
    NoDriver {
        /// The pool.
        pool: String,
        /// The driver it names.
        driver: String,
    },
}

/// The running control loops, their drivers, audit log and counters.
#[derive(Debug)]
pub struct Autoscaler {
    pools: BTreeMap<String, ScaledPool>,
    drivers: Vec<Arc<dyn Driver>>,
    audit: Arc<AuditLog>,
    metrics: Arc<Metrics>,
}

/// One scaled pool: its loop's handle, its settings and its forecast.
#[derive(Debug)]
pub struct ScaledPool {
    /// Steers the loop: overrides in, status out.
    pub handle: PoolHandle,
    /// The `[driver.NAME]` it scales through.
    pub driver: String,
    /// The configured floor.
    pub min: u32,
    /// The configured ceiling.
    pub max: u32,
    /// In-flight requests per ready instance the loop aims at.
    pub target_in_flight: f64,
    /// The demand forecast, when `predictive` is enabled.
    pub forecast: Option<Arc<PredictiveRecommender>>,
}

impl Autoscaler {
    /// Starts a loop, on the current tokio runtime, for every pool of `config`
    /// with a `scaler`; each stops when `shutdown` flips to true.
    pub fn start(
        config: &Config,
        plane: &Arc<DataPlane>,
        shutdown: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<Self, AutoscaleError> {
        let audit = Arc::new(AuditLog::new(AUDIT_CAPACITY));
        let metrics = Arc::new(Metrics::new());
        let adapter = Arc::new(PlaneSignals(Arc::clone(plane)));
        let mut forecaster: Option<Arc<Forecaster>> = None;
        let mut drivers: BTreeMap<String, Arc<dyn Driver>> = BTreeMap::new();
        let mut pools = BTreeMap::new();
        for pool in &config.pools {
            let Some(spec) = &pool.scaler else { continue };
            let fail = |source| AutoscaleError::Scaler {
                pool: pool.name.clone(),
                source,
            };
            let driver = match drivers.get(&spec.driver) {
                Some(driver) => Arc::clone(driver),
                None => {
                    let Some(driver) = config.driver(&spec.driver) else {
                        return Err(AutoscaleError::NoDriver {
                            pool: pool.name.clone(),
                            driver: spec.driver.clone(),
                        });
                    };
                    let driver =
                        build_driver(&driver.name, &driver.kind, pool, config.server.grace_period)
                            .map_err(fail)?;
                    drivers.insert(spec.driver.clone(), Arc::clone(&driver));
                    driver
                }
            };
            let audit = match &spec.audit_log {
                Some(path) => Arc::new(AuditLog::with_file(AUDIT_CAPACITY, path).map_err(fail)?),
                None => Arc::clone(&audit),
            };
            let mut recommenders: Vec<Arc<dyn Recommender>> = Vec::new();
            let mut forecast = None;
            let predictive_config = predictive(spec, None);
            if predictive_config.enabled {
                // One forecaster (GPU device or CPU pool) shared by every pool.
                let forecaster = forecaster
                    .get_or_insert_with(|| {
                        Arc::new(Forecaster::new(forecast_device(config.forecast.device)))
                    })
                    .clone();
                let recommender =
                    PredictiveRecommender::new(&pool.name, &predictive_config, forecaster)
                        .map_err(fail)?;
                let recommender = Arc::new(recommender);
                recommenders.push(Arc::clone(&recommender) as Arc<dyn Recommender>);
                forecast = Some(recommender);
            }
            let parts = LoopParts {
                driver,
                signals: Arc::clone(&adapter) as Arc<dyn SignalSource>,
                data_plane: Arc::clone(&adapter) as Arc<dyn ScalerPlane>,
                audit,
                metrics: Arc::clone(&metrics),
                recommenders,
            };
            let loop_config = LoopConfig {
                grace_period: config.server.grace_period,
                ..LoopConfig::default()
            };
            let pool_loop =
                PoolLoop::new(&pool.name, policy(spec).map_err(fail)?, parts, loop_config)
                    .map_err(fail)?;
            pools.insert(
                pool.name.clone(),
                ScaledPool {
                    handle: pool_loop.handle(),
                    driver: spec.driver.clone(),
                    min: spec.min,
                    max: spec.max,
                    target_in_flight: spec.target_in_flight,
                    forecast,
                },
            );
            let mut stop = shutdown.clone();
            tokio::spawn(pool_loop.run(
                Timestamp::from_system_time(SystemTime::now()),
                async move {
                    let _ = stop.wait_for(|stopping| *stopping).await;
                },
            ));
            tracing::info!(pool = %pool.name, driver = %spec.driver, min = spec.min, max = spec.max, "autoscaler started");
        }
        Ok(Self {
            pools,
            drivers: drivers.into_values().collect(),
            audit,
            metrics,
        })
    }

    /// An autoscaler with no scaled pool, for a configuration without `scaler` tables.
    pub fn idle() -> Self {
        Self {
            pools: BTreeMap::new(),
            drivers: Vec::new(),
            audit: Arc::new(AuditLog::new(AUDIT_CAPACITY)),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// `pool`'s loop, settings and forecast.
    pub fn pool(&self, pool: &str) -> Option<&ScaledPool> {
        self.pools.get(pool)
    }

    /// The scaled pools, by name.
    pub fn pools(&self) -> impl Iterator<Item = (&str, &ScaledPool)> {
        self.pools.iter().map(|(name, pool)| (name.as_str(), pool))
    }

    /// The names of the drivers in use.
    pub fn driver_names(&self) -> impl Iterator<Item = &str> {
        self.drivers.iter().map(|driver| driver.name())
    }

    /// The decisions recorded in memory.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The loops' counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Stops every instance the drivers started (the process driver's children).
    pub async fn shutdown(&self) {
        for driver in &self.drivers {
            if let Err(e) = driver.shutdown().await {
                tracing::warn!(driver = driver.name(), error = %e, "driver shutdown failed");
            }
        }
    }
}

/// The scaler policy of a pool's `[pool.NAME.scaler]`.
pub(crate) fn policy(spec: &ScalerSpec) -> Result<Policy, ScalerError> {
    let schedule = spec
        .schedule
        .iter()
        .map(|entry| {
            ScheduleRule::new(&entry.cron, entry.min, entry.max)
                .map(|rule| rule.lasting(entry.duration))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let policy = Policy {
        min: spec.min,
        max: spec.max,
        target_in_flight: spec.target_in_flight,
        stable_window: spec.stable_window,
        panic_window: spec.panic_window,
        panic_threshold: spec.panic_threshold,
        scale_down_delay: spec.scale_down_delay,
        max_scale_up_rate: spec.max_scale_up_rate,
        lead_time: spec.lead_time,
        tick: spec.tick,
        cost: spec.cost.as_ref().map(|c| CostModel {
            per_instance_hour: c.per_instance_hour,
            budget_per_hour: c.budget_per_hour,
        }),
        schedule,
    };
    policy.validate()?;
    Ok(policy)
}

/// The predictive settings of a pool's scaler, as the scaler crate takes them.
pub(crate) fn predictive(spec: &ScalerSpec, service_time: Option<Duration>) -> PredictiveConfig {
    let defaults = PredictiveConfig::default();
    let mut config = match &spec.predictive {
        Some(p) => PredictiveConfig {
            enabled: p.enabled,
            seasons: p.seasons.clone(),
            history: p.history,
            quantile: p.quantile,
            refit_every: p.refit_every,
            damped: p.damped,
            loss: match p.loss {
                tidegate_conf::FitLoss::Absolute => Loss::Absolute,
                tidegate_conf::FitLoss::Squared => Loss::Squared,
            },
            half_lives: p.half_lives.clone(),
            seasonal_copy: p.seasonal_copy,
            ..defaults
        },
        None => PredictiveConfig {
            enabled: false,
            ..defaults
        },
    };
    config.lead_time = spec.lead_time;
    config.target_in_flight = spec.target_in_flight;
    config.service_time = service_time;
    config
}

/// The forecasting device `[forecast] device` names.
pub(crate) fn forecast_device(device: tidegate_conf::ForecastDevice) -> ForecastDevice {
    match device {
        tidegate_conf::ForecastDevice::Auto => ForecastDevice::Auto,
        tidegate_conf::ForecastDevice::Cpu => ForecastDevice::Cpu,
        tidegate_conf::ForecastDevice::Gpu => ForecastDevice::Gpu,
    }
}

/// The driver `name` of kind `kind`, for `pool`.
fn build_driver(
    name: &str,
    kind: &DriverKind,
    pool: &tidegate_conf::Pool,
    grace_period: Duration,
) -> Result<Arc<dyn Driver>, ScalerError> {
    let name = name.to_string();
    Ok(match kind {
        DriverKind::Static => {
            let instances = pool
                .backends
                .iter()
                .map(|b| Instance {
                    id: InstanceId::new(b.address.to_string()),
                    address: b.address,
                    region: b.region.clone(),
                    state: InstanceState::Pending,
                })
                .collect();
            Arc::new(StaticDriver::new(name).with_pool(&pool.name, instances))
        }
        DriverKind::Process {
            command,
            ports,
            regions,
            env,
        } => {
            let mut config = ProcessDriverConfig::new(resolve_self(command), ports.clone());
            config.regions = regions.clone();
            config.env = env.clone();
            config.grace_period = grace_period;
            Arc::new(ProcessDriver::new(name, config)?)
        }
        DriverKind::Exec {
            list,
            launch,
            remove,
            timeout,
        } => {
            let mut config = ExecDriverConfig::new(list.clone(), launch.clone(), remove.clone());
            config.timeout = *timeout;
            Arc::new(ExecDriver::new(name, config)?)
        }
        DriverKind::AwsAsg {
            region,
            group,
            port,
            endpoint,
            ec2_endpoint,
            timeout,
        } => {
            let mut config = AwsAsgConfig::new(region.clone(), *port);
            config.group = group.clone();
            config.endpoint = endpoint.clone();
            config.ec2_endpoint = ec2_endpoint.clone();
            config.timeout = *timeout;
            Arc::new(AwsAsgDriver::new(name, config)?)
        }
        DriverKind::Http {
            url,
            token,
            timeout,
        } => {
            let mut config = HttpDriverConfig::new(url.clone());
            config.token = token.clone();
            config.timeout = *timeout;
            Arc::new(HttpDriver::new(name, config)?)
        }
    })
}

/// `tidegate ...` runs this very binary, so the demo and the examples work
/// without `tidegate` on the PATH.
fn resolve_self(command: &[String]) -> Vec<String> {
    let mut command = command.to_vec();
    if command.first().is_some_and(|program| program == "tidegate") {
        if let Ok(exe) = std::env::current_exe() {
            command[0] = exe.to_string_lossy().into_owned();
        }
    }
    command
}

/// The data plane as the scaler sees it: signals in, membership out.
#[derive(Debug)]
pub struct PlaneSignals(Arc<DataPlane>);

impl SignalSource for PlaneSignals {
    fn sample(&self, pool: &str) -> PoolSample {
        let routing = self.0.routing().load();
        let Some(pool) = routing.pool(pool) else {
            return PoolSample::default();
        };
        let now = self.0.clock().now();
        let state = pool.state();
        let backends = pool
            .members()
            .iter()
            .map(|member| BackendSample {
                address: member.addr(),
                state: if member.draining_since().is_some() {
                    InstanceState::Draining
                } else if member.is_pending() {
                    InstanceState::Pending
                } else {
                    InstanceState::Ready
                },
                in_flight: u64::from(member.backend().in_flight()),
            })
            .collect();
        PoolSample {
            in_flight: f64::from(state.in_flight()),
            request_rate: state.meter().rate(now, 1_000_000_000),
            p95_latency: state
                .latency()
                .quantile(0.95)
                .map(|ns| Duration::from_nanos(ns as u64)),
            backends,
        }
    }
}

impl ScalerPlane for PlaneSignals {
    fn add_backend(&self, pool: &str, address: SocketAddr, region: Option<&str>) {
        let backend = BackendSpec {
            address,
            region: region.map(str::to_string),
            weight: 1,
        };
        if let Err(e) = self.0.add_backend(pool, backend, Origin::Scaler) {
            tracing::debug!(error = %e, "autoscaler add_backend");
        }
    }

    fn drain(&self, pool: &str, address: SocketAddr) {
        if let Err(e) = self.0.drain_backend(pool, address) {
            tracing::debug!(error = %e, "autoscaler drain");
        }
    }

    fn is_drained(&self, pool: &str, address: SocketAddr) -> bool {
        self.0.is_gone(pool, address)
    }

    fn remove_backend(&self, pool: &str, address: SocketAddr) {
        self.0.remove_backend(pool, address);
    }
}
