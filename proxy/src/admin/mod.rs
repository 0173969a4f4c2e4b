//! The admin API (being written).

use std::future::Future;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::plane::DataPlane;
use crate::reload::Reloader;

/// What the admin API reads and steers.
#[derive(Debug)]
pub struct AdminContext {
    /// The data plane.
    pub plane: Arc<DataPlane>,
    /// Reloads the configuration file.
    pub reloader: Arc<Reloader>,
    /// Renders `/metrics`; `None` when no recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// The bearer token every route but `/healthz` and `/readyz` requires.
    pub token: Option<String>,
}

/// Serves the admin API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    context: Arc<AdminContext>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let _ = (listener, context);
    shutdown.await;
}
