//! `adsales serve`: arguments → [`ServeOptions`] → [`run`] (load the model, bind, answer until
//! SIGTERM or Ctrl-C) → a [`ServeReport`] printed on the way out.
//!
//! The server speaks MLflow's scoring protocol (`mlflow models serve` in MLflow 3.x, see
//! [`scoring`]): `GET /ping`, `/health`, `/version`, `POST /invocations`. Its forecasts are
//! [`crate::inference`]'s, so a response holds the same numbers as `adsales infer`.

mod http;
pub mod model;
pub mod scoring;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use tracing::{info, warn};

use super::ConfigArg;
use crate::config::Config;
use crate::inference::{ModelRef, registry};
use crate::store::tracking::{Tracker, open_tracker};
use crate::util::error::InputError;

use self::model::{Defaults, Served, Slot};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Registered model to serve: models:/NAME@ALIAS or models:/NAME/VERSION
    /// (default: the config's mlflow.model_name and mlflow.alias).
    #[arg(long, value_name = "URI")]
    model_uri: Option<String>,
    /// Address to bind. The default answers this machine only; 0.0.0.0 exposes the server.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to bind (0: any free port; the address is printed once bound).
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Forecasts computed at once (default: the number of CPU cores).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Largest request body accepted; larger ones are answered 413.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Longest a request may take, body upload included; slower ones are answered 504.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    timeout: f64,
    /// Require `Authorization: Bearer <token>` on /invocations, the token read from this
    /// environment variable (never logged). /ping, /health and /version stay open for probes.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Re-resolve the alias every N seconds and swap a newly aliased version in without
    /// dropping a request; a version that fails verification is refused and the old one
    /// keeps serving.
    #[arg(long, value_name = "SECONDS")]
    watch_alias: Option<u64>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// How to serve: plain data, checked.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub model: ModelRef,
    pub addr: SocketAddr,
    pub limits: http::Limits,
    pub token: Option<[u8; 32]>,
    pub watch_alias: Option<Duration>,
    pub defaults: Defaults,
}

/// What a server did, printed when it stops.
#[derive(Debug, Clone)]
pub struct ServeReport {
    pub addr: SocketAddr,
    pub forecasts: u64,
    pub last_version: String,
}

impl ServeArgs {
    /// The options, with the config's defaults; bad values are input errors.
    pub fn options(&self, cfg: &Config) -> Result<ServeOptions, InputError> {
        let model = crate::cmd::model_ref(&self.model_uri, cfg)?;
        let ip: std::net::IpAddr = self.host.parse().map_err(|_| {
            InputError::new(format!(
                "--host {:?}: expected an IP address such as 127.0.0.1 or 0.0.0.0",
                self.host
            ))
        })?;
        let workers = match self.workers {
            Some(0) => return Err(InputError::new("--workers must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        };
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(InputError::new(format!(
                "--timeout must be a positive number of seconds, got {}",
                self.timeout
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(InputError::new("--max-body-bytes must be at least 1"));
        }
        let token = match &self.token_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Some(http::token_digest(&t)),
                _ => {
                    return Err(InputError::new(format!(
                        "--token-env {var}: the environment variable {var} is unset or empty"
                    )));
                }
            },
        };
        let watch_alias = match (self.watch_alias, &model) {
            (None, _) => None,
            (Some(0), _) => return Err(InputError::new("--watch-alias must be at least 1 second")),
            (Some(_), ModelRef::Version { .. } | ModelRef::Local { .. }) => {
                return Err(InputError::new(
                    "--watch-alias needs a model URI with an alias (models:/NAME@ALIAS); a \
                     version number never moves",
                ));
            }
            (Some(n), ModelRef::Alias { .. }) => Some(Duration::from_secs(n)),
        };
        let timeout = Duration::from_secs_f64(self.timeout);
        Ok(ServeOptions {
            model,
            addr: SocketAddr::new(ip, self.port),
            limits: http::Limits {
                max_body: self.max_body_bytes,
                timeout,
                header_timeout: timeout.min(Duration::from_secs(10)),
                workers,
                max_connections: 1024,
            },
            token,
            watch_alias,
            defaults: Defaults {
                days: cfg.forecast_days,
                level: cfg.interval_level,
            },
        })
    }

    /// Reads the config, serves until stopped, prints what it did.
    pub fn execute(&self, g: super::Global) -> Result<()> {
        let cfg = super::load_config(&self.config, g)?;
        let opts = self.options(&cfg)?;
        let r = run(&cfg, &opts)?;
        // stdout may be gone by now (a supervisor that read the address and closed it).
        let _ = writeln!(
            std::io::stdout(),
            "stopped: {} forecasts served on http://{} (last model {})",
            r.forecasts,
            r.addr,
            r.last_version
        );
        Ok(())
    }
}

/// Loads the model (an LSTM hands the whole command over to the libtorch twin here, before
/// any socket is bound), binds, and answers until SIGTERM or Ctrl-C.
pub fn run(cfg: &Config, opts: &ServeOptions) -> Result<ServeReport> {
    let tracker = open_tracker(&cfg.mlflow.tracking_uri)
        .with_context(|| format!("opening MLflow tracking at {}", cfg.mlflow.tracking_uri))?;
    let version = registry::load(tracker.as_ref(), &opts.model)?;
    let served = Served::new(version)?;
    let described = describe(&served);
    let slot = Slot::new(served);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.limits.workers.clamp(1, 2))
        .max_blocking_threads(opts.limits.workers + 1)
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(opts.addr))
        .with_context(|| format!("binding {}", opts.addr))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let app = Arc::new(http::App {
        slot: slot.clone(),
        defaults: opts.defaults,
        limits: opts.limits,
        token: opts.token,
        workers: Arc::new(tokio::sync::Semaphore::new(opts.limits.workers)),
        served: Default::default(),
    });
    let stop = Arc::new(tokio::sync::Notify::new());
    {
        let stop = stop.clone();
        super::interrupt::set_shutdown(Some(Box::new(move || stop.notify_one())));
    }
    rt.spawn({
        let stop = stop.clone();
        async move {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                term.recv().await;
                info!("SIGTERM: shutting down");
                stop.notify_one();
            }
        }
    });
    if let (Some(every), ModelRef::Alias { .. }) = (opts.watch_alias, &opts.model) {
        let (slot, r) = (slot.clone(), opts.model.clone());
        std::thread::Builder::new()
            .name("watch-alias".into())
            .spawn(move || watch_alias(tracker, r, slot, every))
            .context("starting the alias watcher")?;
    }
    info!(addr = %addr, workers = opts.limits.workers, "serving {described}");
    // Tests and scripts read the bound address (with --port 0) from this line.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "serving {described} on http://{addr}").and_then(|()| out.flush());
    let r = rt.block_on(http::serve(
        app.clone(),
        listener,
        stop,
        Duration::from_secs(30),
    ));
    super::interrupt::set_shutdown(None);
    r.context("serving")?;
    Ok(ServeReport {
        addr,
        forecasts: app.served.load(std::sync::atomic::Ordering::Relaxed),
        last_version: slot.get().label(),
    })
}

fn describe(s: &Served) -> String {
    let i = &s.version.info;
    format!(
        "{} version {}{} ({} {})",
        i.name,
        i.version,
        i.alias
            .as_deref()
            .map(|a| format!(" @{a}"))
            .unwrap_or_default(),
        i.family,
        i.spec
    )
}

/// Every `every`, resolves the alias; when it names another version, loads and verifies that
/// version and swaps it in. A version that cannot be served (fails verification, needs the
/// libtorch twin, ...) is refused once with a warning and the current one keeps serving.
fn watch_alias(tracker: Box<dyn Tracker>, r: ModelRef, slot: Slot, every: Duration) {
    let mut refused: Option<String> = None;
    loop {
        std::thread::sleep(every);
        let current = slot.get().version.info.version.clone();
        let resolved = match registry::resolve(tracker.as_ref(), &r) {
            Ok(res) => res.version,
            Err(e) => {
                warn!(
                    "--watch-alias: resolving {r:?} failed ({e:#}); still serving version {current}"
                );
                continue;
            }
        };
        if resolved == current || refused.as_deref() == Some(resolved.as_str()) {
            continue;
        }
        match registry::load(tracker.as_ref(), &r).and_then(Served::new) {
            Ok(s) => {
                let new = s.version.info.version.clone();
                let old = slot.swap(s);
                refused = None;
                info!(
                    "--watch-alias: the alias moved; now serving version {new} (was {})",
                    old.version.info.version
                );
            }
            Err(e) => {
                warn!(
                    "--watch-alias: the alias moved to version {resolved}, which is refused: \
                     {e:#}; still serving version {current}"
                );
                refused = Some(resolved);
            }
        }
    }
}
