//! The `tidegate` command line: run, check, demo, simulate, forecast, backend.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tidegate::backend_server::{self, BackendOptions};
use tidegate::server::{Proxy, Signals};
use tidegate::StartError;
use tidegate_conf::LogFormat;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tidegate: a load-balancing reverse proxy with an autoscaler built in.
#[derive(Debug, Parser)]
#[command(name = "tidegate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the configuration in FILE.
    Run {
        /// The TOML configuration file.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Reload the file whenever it changes.
        #[arg(long)]
        watch: bool,
    },
    /// Validate FILE and print a summary; exits 1 when it is invalid.
    Check {
        /// The TOML configuration file.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Run the proxy over built-in backends in two regions.
    Demo {
        /// Where the demo proxy listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where the demo's admin API listens.
        #[arg(long, default_value = "127.0.0.1:9901")]
        admin: SocketAddr,
        /// Print the demo's configuration (its built-in backends shown at ports
        /// 9001-9004; the running demo gives them free ports) and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Replay a demand trace through a pool's autoscaler in virtual time.
    Simulate(tidegate::simulate::SimulateRequest),
    /// Backtest the forecaster on a demand trace at rolling origins.
    Forecast(tidegate::forecast::ForecastRequest),
    /// A small HTTP backend for demos, tests and benchmarks.
    Backend {
        /// Port to listen on (0 picks a free one; the real one is printed).
        #[arg(long)]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        /// Time added before each answer, e.g. "20ms".
        #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
        latency: Duration,
        /// Uniform jitter around the latency, e.g. "5ms".
        #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
        jitter: Duration,
        /// Region named in the answer.
        #[arg(long)]
        region: Option<String>,
        /// Fraction of requests answered with --fail-status.
        #[arg(long, default_value_t = 0.0)]
        fail_rate: f64,
        /// Status of the failed answers.
        #[arg(long, default_value_t = 500)]
        fail_status: u16,
        /// Exit when the process that started this one exits, even when it
        /// is killed outright (for backends a process driver starts).
        #[arg(long)]
        exit_with_parent: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config, watch } => run(&config, watch),
        Command::Check { config } => return check(&config),
        Command::Simulate(request) => {
            init_logs(LogFormat::Text);
            return match tidegate::simulate::run(&request) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tidegate simulate: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Forecast(request) => {
            init_logs(LogFormat::Text);
            return match tidegate::forecast::run(&request) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tidegate forecast: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Demo {
            listen,
            admin,
            print_config,
        } => {
            if print_config {
                println!(
                    "# The built-in backends take free ports each time the demo starts;\n\
                     # here they are shown at 9001-9004. To serve this file with `tidegate run`,\n\
                     # start a backend on each, e.g. `tidegate backend --port 9001 --region eu-west`.\n{}",
                    tidegate::demo::config_text(listen, admin, &[9001, 9002, 9003, 9004])
                );
                return ExitCode::SUCCESS;
            }
            init_logs(LogFormat::Text);
            tidegate::demo::run(listen, admin, install_metrics())
        }
        Command::Backend {
            port,
            host,
            latency,
            jitter,
            region,
            fail_rate,
            fail_status,
            exit_with_parent,
        } => {
            init_logs(LogFormat::Text);
            let options = BackendOptions {
                latency,
                jitter,
                region,
                fail_rate: fail_rate.clamp(0.0, 1.0),
                fail_status: http::StatusCode::from_u16(fail_status).ok(),
            };
            backend(SocketAddr::new(host, port), options, exit_with_parent)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidegate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &std::path::Path, watch: bool) -> Result<(), StartError> {
    let config = tidegate_conf::load(path)?;
    init_logs(config.server.log_format);
    for warning in config.warnings() {
        tracing::warn!(file = %path.display(), "{warning}");
    }
    let proxy =
        Proxy::bind(&config, Some(path.to_path_buf()), install_metrics())?.watch_config(watch);
    proxy.run(|listeners, admin| {
        for listener in listeners {
            println!(
                "tidegate: listener {} on {}://{}",
                listener.name(),
                listener.scheme(),
                listener.address()
            );
        }
        if let Some(admin) = admin {
            println!("tidegate: admin on http://{admin}");
        }
        tracing::info!(pools = config.pools.len(), "serving");
    })
}

/// Installs the Prometheus recorder; without it `/metrics` answers 503.
fn install_metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    match tidegate::metrics::install() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::error!(error = %e, "metrics are unavailable");
            None
        }
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    match tidegate_conf::load(path) {
        Ok(config) => {
            println!("{}: ok", path.display());
            for warning in config.warnings() {
                eprintln!("{}: warning: {warning}", path.display());
            }
            println!("{}", config.summary());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn backend(
    address: SocketAddr,
    options: BackendOptions,
    exit_with_parent: bool,
) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| StartError::Runtime {
            what: "the backend runtime",
            source,
        })?;
    runtime.block_on(async move {
        let mut signals = Signals::new()?;
        let listener = backend_server::bind(address).await?;
        let bound = listener
            .local_addr()
            .map_err(|source| StartError::Bind { address, source })?;
        println!("tidegate backend listening on http://{bound}");
        let parent_exited = async {
            if exit_with_parent {
                backend_server::parent_exited().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let stop = async {
            tokio::select! {
                () = signals.recv() => {}
                () = parent_exited => tracing::info!("the parent process exited; stopping"),
            }
        };
        backend_server::serve(listener, options, stop).await;
        Ok(())
    })
}

fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,pingora_core=warn,pingora_proxy=warn"));
    // Colours only for a terminal, and never when NO_COLOR is set: a log file
    // or a log collector gets plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
