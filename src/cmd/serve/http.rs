//! The HTTP side of `adsales serve`: routes of MLflow's scoring server, limits (body size,
//! request time, header time, connections, a bounded pool of forecasting workers), the bearer
//! token, the access log, and the accept loop with its graceful shutdown.
//!
//! Connections are async (hyper on tokio) so idle keep-alive and slow clients cost no worker;
//! the forecasts themselves run on a fixed number of blocking workers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};
use tracing::{debug, info, warn};

use super::model::{Defaults, Slot, score};
use super::scoring::{self, ContentType, ScoringError};

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted (413 past it).
    pub max_body: usize,
    /// Whole-request time, from the headers read to the answer (504 past it).
    pub timeout: Duration,
    /// Time a client has to send its request headers (the connection is closed past it).
    pub header_timeout: Duration,
    /// Forecasts computed at once.
    pub workers: usize,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

/// Everything a request handler reads.
pub struct App {
    pub slot: Slot,
    pub defaults: Defaults,
    pub limits: Limits,
    /// sha256 of the bearer token, when one is required.
    pub token: Option<[u8; 32]>,
    pub workers: Arc<Semaphore>,
    pub served: AtomicU64,
}

type Resp = Response<Full<Bytes>>;

/// The response header that names the model version that answered (`NAME/VERSION`).
pub const MODEL_HEADER: &str = "adsales-model-version";

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn error(e: &ScoringError) -> Resp {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond(status, "application/json", e.body())
}

/// Whether `given` is the token, in time independent of where they differ: the digests are
/// compared whole (their lengths are equal whatever the inputs).
fn token_matches(want: &[u8; 32], given: &[u8]) -> bool {
    use sha2::Digest;
    let got = sha2::Sha256::digest(given);
    want.iter()
        .zip(got.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

pub fn token_digest(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// One request: route, answer, one access-log line.
async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Resp, Infallible> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (mut resp, version) = route(&app, req).await;
    // Which version answered (MLflow's server names none): lets a client see an alias swap.
    if let Ok(v) = HeaderValue::from_str(&version) {
        resp.headers_mut().insert(MODEL_HEADER, v);
    }
    let status = resp.status().as_u16();
    let bytes = hyper::body::Body::size_hint(resp.body())
        .exact()
        .unwrap_or(0);
    info!(
        target: "adsales::access",
        %remote,
        method = %method,
        path = %path,
        status,
        bytes,
        ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1e3),
        model = %version,
        "request"
    );
    Ok(resp)
}

async fn route(app: &Arc<App>, req: Request<Incoming>) -> (Resp, String) {
    let served = app.slot.get();
    let label = served.label();
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/ping" | "/health") => respond(StatusCode::OK, "text/plain", "\n"),
        (&Method::GET, "/version") => respond(
            StatusCode::OK,
            "text/plain",
            format!("adsales {}\n", env!("CARGO_PKG_VERSION")),
        ),
        // The version named in the header is the one that answers, even across a swap.
        (&Method::POST, "/invocations") => match invocations(app, served, req).await {
            Ok(body) => respond(StatusCode::OK, "application/json", body),
            Err(e) => error(&e),
        },
        (_, "/ping" | "/health" | "/version" | "/invocations") => {
            let mut r = error(&ScoringError::new(
                405,
                "BAD_REQUEST",
                format!("method {} is not allowed here", req.method()),
            ));
            let allow = if req.uri().path() == "/invocations" {
                "POST"
            } else {
                "GET"
            };
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
        (_, p) => error(&ScoringError::new(
            404,
            "ENDPOINT_NOT_FOUND",
            format!("no endpoint {p}; this server has /ping, /health, /version and /invocations"),
        )),
    };
    (resp, label)
}

/// `POST /invocations`: auth, content type, body within its limits, then the forecast on a
/// worker; all of it within the request timeout.
async fn invocations(
    app: &Arc<App>,
    served: Arc<super::model::Served>,
    req: Request<Incoming>,
) -> Result<String, ScoringError> {
    if let Some(want) = &app.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
        if !given.is_some_and(|g| token_matches(want, g)) {
            return Err(ScoringError::new(
                401,
                "UNAUTHENTICATED",
                "this server needs `Authorization: Bearer <token>`",
            ));
        }
    }
    let kind = ContentType::parse(
        req.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    )?;
    let max = app.limits.max_body;
    let too_large = || {
        ScoringError::new(
            413,
            "REQUEST_LIMIT_EXCEEDED",
            format!("the body is larger than the server's limit of {max} bytes"),
        )
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max as u64
    {
        return Err(too_large());
    }
    let timeout = app.limits.timeout;
    let work = async {
        let body = match Limited::new(req.into_body(), max).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return Err(too_large());
            }
            Err(e) => return Err(ScoringError::bad(format!("reading the body failed: {e}"))),
        };
        // The permit travels into the worker, so it is held until the forecast really ends
        // (a request that timed out still occupies its worker until then).
        let permit = app
            .workers
            .clone()
            .acquire_owned()
            .await
            .expect("the worker pool is never closed");
        let defaults = app.defaults;
        let job = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let req = scoring::parse(kind, &body)?;
            score(&served, &req, defaults)
        });
        match job.await {
            Ok(r) => r,
            Err(e) => Err(ScoringError::new(
                500,
                "INTERNAL_ERROR",
                format!("the forecast failed: {e}"),
            )),
        }
    };
    let r = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(ScoringError::new(
            504,
            "DEADLINE_EXCEEDED",
            format!(
                "the request took longer than the server's limit of {:.1} s",
                timeout.as_secs_f64()
            ),
        )),
    };
    if r.is_ok() {
        app.served.fetch_add(1, Ordering::Relaxed);
    }
    r
}

/// Accepts connections until `stop` is notified, then lets in-flight requests finish (for at
/// most `grace`) and returns.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    stop: Arc<Notify>,
    grace: Duration,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let conns = Arc::new(Semaphore::new(app.limits.max_connections));
    loop {
        let permit = tokio::select! {
            p = conns.clone().acquire_owned() => p.expect("never closed"),
            _ = stop.notified() => break,
        };
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin or die.
                    warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.notified() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(app.limits.header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                service_fn(move |req| handle(app.clone(), req, remote)),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(%remote, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    info!("shutting down: no new connections; waiting for in-flight requests");
    tokio::select! {
        _ = graceful.shutdown() => info!("every connection closed"),
        _ = tokio::time::sleep(grace) => warn!("connections still open after {:.0} s; closing", grace.as_secs_f64()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_check_takes_the_token_only() {
        let want = token_digest("s3cret");
        assert!(token_matches(&want, b"s3cret"));
        assert!(!token_matches(&want, b"s3cre"));
        assert!(!token_matches(&want, b"s3cret "));
        assert!(!token_matches(&want, b""));
    }
}
