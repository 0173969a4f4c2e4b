//! Listening sockets, worker threads and graceful shutdown.
//!
//! Tidegate binds every `[[listener]]` itself (so port 0 works and the real
//! address is announced), then runs `threads` workers, each a single-threaded
//! tokio runtime that accepts on every listener, terminates TLS where configured,
//! and serves each connection: [`crate::downstream`] runs the keep-alive loop
//! of a plain-text connection, or of a TLS one that chose HTTP/1.1
//! ([`crate::tls_client`]), which offers each request to Tidegate's own
//! HTTP/1.1 path ([`crate::forward`]) first and hands the rest to Pingora's HTTP
//! proxy; h2c connections and HTTP/2 over TLS (by ALPN) are Pingora's alone. Each worker also closes
//! its idle upstream connections past their timeout. The control runtime on the
//! calling thread runs the data plane's health checks and housekeeping. On SIGTERM or SIGINT it stops
//! accepting, lets idle keep-alive connections go, and waits up to `grace_period`
//! for requests in flight before returning; a second signal ends it at once.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use pingora::apps::{HttpServerOptions, ServerApp};
use pingora::listeners::tls::Acceptor;
use pingora::protocols::tls::TlsStream;
use pingora::proxy::{http_proxy, HttpProxy};
use pingora::server::configuration::ServerConf;
use pingora::services::listening::Service;
use tidegate_conf::Config;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::admin::{self, AdminContext};
use crate::autoscale::Autoscaler;
use crate::clock::Clock;
use crate::downstream::{self, Downstream};
use crate::forward::{upstream, Forwarder};
use crate::gateway::Gateway;
use crate::maintenance;
use crate::plane::DataPlane;
use crate::reload::Reloader;
use crate::tls_client::TlsClient;
use crate::StartError;

/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle upstream connections kept for reuse, per worker.
const UPSTREAM_KEEPALIVE_POOL: usize = 1024;

/// One bound `[[listener]]`.
pub struct BoundListener {
    name: String,
    address: SocketAddr,
    region: Option<String>,
    tls: Option<Arc<Acceptor>>,
    socket: StdListener,
}

impl std::fmt::Debug for BoundListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundListener")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("region", &self.region)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl BoundListener {
    /// The listener's name from the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address actually bound (the real port when the configuration says 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https` when the listener terminates TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

/// A proxy whose sockets are bound, ready to [`run`](Proxy::run).
#[derive(Debug)]
pub struct Proxy {
    listeners: Vec<BoundListener>,
    plane: Arc<DataPlane>,
    admin: Option<BoundAdmin>,
    reloader: Arc<Reloader>,
    metrics: Option<PrometheusHandle>,
    watch: bool,
    threads: usize,
    grace_period: Duration,
    access_log: bool,
}

/// The bound admin listener.
#[derive(Debug)]
struct BoundAdmin {
    socket: StdListener,
    address: SocketAddr,
    token: Option<String>,
}

impl Proxy {
    /// Binds every listener of `config` (and the admin API when configured);
    /// nothing is served until [`Proxy::run`]. `source` is the file reloads read;
    /// `metrics` renders `/metrics` when a recorder is installed.
    pub fn bind(
        config: &Config,
        source: Option<PathBuf>,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Self, StartError> {
        let listeners = config
            .listeners
            .iter()
            .map(|l| {
                let bind_error = |source| StartError::Bind {
                    address: l.address,
                    source,
                };
                let socket = StdListener::bind(l.address).map_err(bind_error)?;
                socket.set_nonblocking(true).map_err(bind_error)?;
                let address = socket.local_addr().map_err(bind_error)?;
                let tls = match &l.tls {
                    Some(tls) => Some(Arc::new(crate::tls::acceptor(tls)?)),
                    None => None,
                };
                Ok(BoundListener {
                    name: l.name.clone(),
                    address,
                    region: l.region.clone(),
                    tls,
                    socket,
                })
            })
            .collect::<Result<Vec<_>, StartError>>()?;
        let admin = match &config.admin {
            Some(admin) => {
                let bind_error = |source| StartError::Bind {
                    address: admin.address,
                    source,
                };
                let socket = StdListener::bind(admin.address).map_err(bind_error)?;
                socket.set_nonblocking(true).map_err(bind_error)?;
                let address = socket.local_addr().map_err(bind_error)?;
                Some(BoundAdmin {
                    socket,
                    address,
                    token: admin.token.clone(),
                })
            }
            None => None,
        };
        let plane = Arc::new(DataPlane::new(config.clone(), Clock::new()));
        Ok(Self {
            listeners,
            admin,
            reloader: Arc::new(Reloader::new(source, Arc::clone(&plane))),
            metrics,
            watch: false,
            plane,
            threads: config.server.threads,
            grace_period: config.server.grace_period,
            access_log: config.server.access_log,
        })
    }

    /// The data plane: membership, reloads, the published routing.
    pub fn plane(&self) -> &Arc<DataPlane> {
        &self.plane
    }

    /// Reloads the configuration file whenever it changes.
    pub fn watch_config(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// The admin API's real address, when it is enabled.
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|a| a.address)
    }

    /// The bound listeners, with their real addresses.
    pub fn listeners(&self) -> &[BoundListener] {
        &self.listeners
    }

    /// Serves until SIGTERM or SIGINT, then drains for up to `grace_period`.
    ///
    /// `on_ready` runs once every worker is accepting and the signal handlers are
    /// in place; it gets the listeners and the admin API's address.
    pub fn run(
        self,
        on_ready: impl FnOnce(&[BoundListener], Option<SocketAddr>),
    ) -> Result<(), StartError> {
        let control = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| StartError::Runtime {
                what: "the control runtime",
                source,
            })?;
        let mut signals = {
            let _entered = control.enter();
            Signals::new()?
        };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let connections = Arc::new(Connections::default());
        let conf = Arc::new(ServerConf {
            threads: self.threads,
            upstream_keepalive_pool_size: UPSTREAM_KEEPALIVE_POOL,
            ..ServerConf::default()
        });

        let mut apps = Vec::new();
        let mut forwarders = Vec::new();
        for listener in &self.listeners {
            let gateway = Gateway::new(
                Arc::clone(self.plane.routing()),
                listener.region.as_deref(),
                listener.tls.is_some(),
                self.plane.clock(),
                self.access_log,
            );
            forwarders.push(Arc::new(gateway.forwarder()));
            let mut proxy = http_proxy(&conf, gateway);
            let mut options = HttpServerOptions::default();
            options.h2c = true;
            proxy.server_options = Some(options);
            apps.push(Arc::new(proxy));
        }

        for worker in 0..self.threads {
            let sockets = self
                .listeners
                .iter()
                .map(|l| l.socket.try_clone())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| StartError::Runtime {
                    what: "a worker's listeners",
                    source,
                })?;
            let apps = apps.clone();
            let forwarders = forwarders.clone();
            let acceptors: Vec<_> = self.listeners.iter().map(|l| l.tls.clone()).collect();
            let shutdown = shutdown_rx.clone();
            let connections = Arc::clone(&connections);
            std::thread::Builder::new()
                .name(format!("tidegate-worker-{worker}"))
                .spawn(move || {
                    worker_main(sockets, apps, forwarders, acceptors, shutdown, connections)
                })
                .map_err(|source| StartError::Runtime {
                    what: "a worker thread",
                    source,
                })?;
        }

        control.block_on(maintenance::first_round(&self.plane));
        on_ready(&self.listeners, self.admin.as_ref().map(|a| a.address));
        let plane = Arc::clone(&self.plane);
        let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        let admin = self.admin;
        let config = self.plane.config();
        let autoscaler =
            Arc::new(control.block_on(async { Autoscaler::start(&config, &plane, &shutdown_rx) })?);
        let admin_context = Arc::new(AdminContext {
            plane: Arc::clone(&self.plane),
            reloader: Arc::clone(&self.reloader),
            autoscaler: Arc::clone(&autoscaler),
            metrics: self.metrics,
            token: admin.as_ref().and_then(|a| a.token.clone()),
        });
        let reloader = Arc::clone(&self.reloader);
        let watch = self.watch;
        control.block_on(async move {
            let housekeeping = tokio::spawn(maintenance::run(plane));
            if let Some(admin) = admin {
                match TcpListener::from_std(admin.socket) {
                    Ok(listener) => {
                        tokio::spawn(admin::serve(listener, admin_context, async {
                            let _ = admin_stopped.await;
                        }));
                    }
                    Err(e) => tracing::error!(error = %e, "cannot serve the admin API"),
                }
            }
            tokio::spawn(reload_on_sighup(Arc::clone(&reloader)));
            if watch {
                tokio::spawn(reloader.watch());
            }
            signals.recv().await;
            tracing::info!(
                grace_period = ?self.grace_period,
                in_flight_connections = connections.count(),
                "shutting down: no new connections, draining requests in flight"
            );
            let _ = shutdown_tx.send(true);
            for app in &apps {
                app.cleanup().await;
            }
            tokio::select! {
                () = connections.all_closed() => tracing::info!("drained; exiting"),
                () = tokio::time::sleep(self.grace_period) => tracing::warn!(
                    open_connections = connections.count(),
                    "grace period over; exiting with connections still open"
                ),
                () = signals.recv() => tracing::warn!("second signal; exiting now"),
            }
            housekeeping.abort();
            let _ = admin_stop.send(());
            autoscaler.shutdown().await;
            Ok(())
        })
    }
}

/// One worker: a single-threaded runtime accepting on every listener.
fn worker_main(
    sockets: Vec<StdListener>,
    apps: Vec<Arc<HttpProxy<Gateway>>>,
    forwarders: Vec<Arc<Forwarder>>,
    acceptors: Vec<Option<Arc<Acceptor>>>,
    shutdown: watch::Receiver<bool>,
    connections: Arc<Connections>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a worker runtime");
            return;
        }
    };
    runtime.block_on(async move {
        let sweeper = tokio::spawn(upstream::sweep());
        let mut loops = tokio::task::JoinSet::new();
        let listeners = sockets.into_iter().zip(apps).zip(forwarders).zip(acceptors);
        for (((socket, app), forwarder), tls) in listeners {
            match TcpListener::from_std(socket) {
                Ok(listener) => {
                    loops.spawn(accept_loop(
                        listener,
                        app,
                        forwarder,
                        tls,
                        shutdown.clone(),
                        Arc::clone(&connections),
                    ));
                }
                Err(e) => tracing::error!(error = %e, "cannot register a listener"),
            }
        }
        while loops.join_next().await.is_some() {}
        // Keep serving the connections already accepted (and closing their idle
        // upstream connections) until the process exits.
        let _ = sweeper.await;
    });
}

async fn accept_loop(
    listener: TcpListener,
    app: Arc<HttpProxy<Gateway>>,
    forwarder: Arc<Forwarder>,
    tls: Option<Arc<Acceptor>>,
    mut shutdown: watch::Receiver<bool>,
    connections: Arc<Connections>,
) {
    let local = listener.local_addr().ok();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((tcp, peer)) => {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                let conn = Downstream::new(tcp, peer, local);
                let app = Arc::clone(&app);
                let forwarder = Arc::clone(&forwarder);
                let shutdown = shutdown.clone();
                let open = connections.open();
                // Two task types, so a plain-text connection's task does not
                // carry the size of a TLS handshake.
                match &tls {
                    None => tokio::spawn(downstream::serve(
                        app,
                        forwarder,
                        Box::new(conn),
                        shutdown,
                        open,
                    )),
                    Some(acceptor) => {
                        let acceptor = Arc::clone(acceptor);
                        tokio::spawn(async move {
                            // Boxed: the task keeps its size for as long as the
                            // connection lives, and the handshake's state (a
                            // whole TLS session in the making) is the largest.
                            let Some(tls) = Box::pin(handshake(&acceptor, conn)).await else {
                                return;
                            };
                            // HTTP/1.1 takes the same path as plain text;
                            // HTTP/2 is Pingora's.
                            if !TlsClient::chose_h2(&tls) {
                                let client = Box::new(TlsClient::new(tls, peer));
                                downstream::serve(app, forwarder, client, shutdown, open).await;
                            } else {
                                Service::handle_event(Box::new(tls), app, shutdown).await;
                                drop(open);
                            }
                        })
                    }
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                if e.raw_os_error() == Some(24) {
                    // Out of file descriptors: back off instead of spinning on the error.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Terminates TLS on an accepted connection; `None` when the handshake failed.
async fn handshake(acceptor: &Acceptor, conn: Downstream) -> Option<TlsStream<Downstream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.tls_handshake(conn)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// Counts open downstream connections so shutdown can wait for them.
#[derive(Debug, Default)]
struct Connections {
    open: AtomicUsize,
    closed: Notify,
}

impl Connections {
    fn open(self: &Arc<Self>) -> OpenConnection {
        self.open.fetch_add(1, Ordering::AcqRel);
        OpenConnection(Arc::clone(self))
    }

    fn count(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    async fn all_closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

struct OpenConnection(Arc<Connections>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

/// Reloads the configuration on every SIGHUP.
async fn reload_on_sighup(reloader: Arc<Reloader>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; reload by the admin API instead");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        let reloader = Arc::clone(&reloader);
        let _ = tokio::task::spawn_blocking(move || reloader.reload()).await;
    }
}

/// SIGTERM and SIGINT, registered before the proxy announces itself.
#[derive(Debug)]
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Registers the handlers; must run inside a tokio runtime.
    pub fn new() -> Result<Self, StartError> {
        use tokio::signal::unix::{signal, SignalKind};
        let handler_error = |source| StartError::Runtime {
            what: "the signal handler",
            source,
        };
        Ok(Self {
            term: signal(SignalKind::terminate()).map_err(handler_error)?,
            int: signal(SignalKind::interrupt()).map_err(handler_error)?,
        })
    }

    /// Resolves on the next SIGTERM or SIGINT.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
