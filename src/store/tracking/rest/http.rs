//! Transport: credentials, one request with bounded retries and backoff, MLflow error bodies.

use std::time::Duration;

use serde_json::{Value, json};

use super::RestTracker;
use super::wire::as_string;
use crate::store::tracking::TrackingError;

/// Credentials for the server. `Debug` never shows them.
#[derive(Clone)]
pub(super) enum Auth {
    Bearer(String),
    /// Already `user:password` base64-encoded.
    Basic(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Auth::Basic(_) => f.write_str("Basic(<redacted>)"),
        }
    }
}

impl Auth {
    pub(super) fn header(&self) -> String {
        match self {
            Auth::Bearer(t) => format!("Bearer {t}"),
            Auth::Basic(b) => format!("Basic {b}"),
        }
    }
}

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time, capped at 30 s.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            first_backoff: Duration::from_millis(500),
        }
    }
}

/// A request body.
pub(super) enum Body<'a> {
    Empty,
    Json(&'a Value),
    Bytes(&'a [u8]),
}

/// Receives the body of a 2xx answer as a stream (downloads to a file).
pub(super) type BodySink<'a> = dyn FnMut(&mut dyn std::io::Read) -> std::io::Result<()> + 'a;

/// Answer of one request: status and body bytes.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

impl RestTracker {
    pub(super) fn send_once(
        &self,
        method: &str,
        url: &str,
        query: &[(&str, &str)],
        body: &Body,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        macro_rules! prepare {
            ($rb:expr) => {{
                let mut rb = $rb;
                for (k, v) in query {
                    rb = rb.query(*k, *v);
                }
                if let Some(a) = &self.auth {
                    rb = rb.header("Authorization", a.header());
                }
                rb
            }};
        }
        match (method, body) {
            ("GET", _) => prepare!(self.agent.get(url)).call(),
            (m, body) => {
                let rb = match m {
                    "POST" => self.agent.post(url),
                    "PUT" => self.agent.put(url),
                    "PATCH" => self.agent.patch(url),
                    _ => self.agent.delete(url).force_send_body(),
                };
                let rb = prepare!(rb);
                match body {
                    Body::Json(v) => rb
                        .header("Content-Type", "application/json")
                        .send(v.to_string()),
                    Body::Bytes(b) => rb
                        .header("Content-Type", "application/octet-stream")
                        .send(*b),
                    Body::Empty => rb.send_empty(),
                }
            }
        }
    }

    /// One call with bounded retries on transport errors, 429 and 5xx. `sink` receives the
    /// body of a 2xx answer when given (streamed downloads); otherwise it is returned.
    pub(super) fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        mut sink: Option<&mut BodySink>,
    ) -> Result<Answer, TrackingError> {
        let url = format!("{}{}", self.base, path);
        let endpoint = path.to_string();
        let mut attempt = 0u32;
        loop {
            let outcome = self.send_once(method, &url, query, &body);
            let retry_reason = match outcome {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status == 429 || status >= 500 {
                        format!("HTTP {status}")
                    } else {
                        let mut buf = Vec::new();
                        let read = if (200..300).contains(&status)
                            && let Some(s) = sink.as_mut()
                        {
                            let mut r = resp.body_mut().with_config().limit(u64::MAX).reader();
                            s(&mut r).map_err(|e| e.to_string())
                        } else {
                            resp.body_mut()
                                .with_config()
                                .limit(1 << 30)
                                .read_to_vec()
                                .map(|v| buf = v)
                                .map_err(|e| e.to_string())
                        };
                        match read {
                            Ok(()) => return Ok(Answer { status, body: buf }),
                            // A body cut off mid-way is a transport failure: retry.
                            Err(e) => format!("reading the answer: {e}"),
                        }
                    }
                }
                Err(e) => e.to_string(),
            };
            if attempt >= self.retry.max_retries {
                return Err(TrackingError::Transport {
                    endpoint,
                    reason: format!("{retry_reason} (gave up after {} attempts)", attempt + 1),
                });
            }
            let wait = self
                .retry
                .first_backoff
                .saturating_mul(1u32 << attempt.min(16))
                .min(Duration::from_secs(30));
            tracing::warn!(endpoint, attempt, error = %retry_reason, "MLflow request failed; retrying in {wait:?}");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// Parse an error answer into [`TrackingError::Api`].
    pub(super) fn api_error(endpoint: &str, ans: &Answer) -> TrackingError {
        let parsed: Option<Value> = serde_json::from_slice(&ans.body).ok();
        let code = parsed
            .as_ref()
            .and_then(|v| as_string(v.get("error_code")))
            .unwrap_or_else(|| "HTTP_ERROR".into());
        let message = parsed
            .as_ref()
            .and_then(|v| as_string(v.get("message")))
            .unwrap_or_else(|| {
                let t = String::from_utf8_lossy(&ans.body);
                t.chars().take(300).collect()
            });
        TrackingError::Api {
            endpoint: endpoint.to_string(),
            status: ans.status,
            code,
            message,
        }
    }

    /// JSON call to `/api/2.0/mlflow/<api>`.
    pub(super) fn call(
        &self,
        method: &str,
        api: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, TrackingError> {
        let path = format!("/api/2.0/mlflow/{api}");
        let b = body.map(Body::Json).unwrap_or(Body::Empty);
        let ans = self.request(method, &path, query, b, None)?;
        if !(200..300).contains(&ans.status) {
            return Err(Self::api_error(&path, &ans));
        }
        if ans.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&ans.body).map_err(|e| TrackingError::BadResponse {
            endpoint: path,
            reason: e.to_string(),
        })
    }
}
