//! The one error type both backends return, so callers handle a failed call the same way
//! whichever store the tracking URI names. Kept apart from the value types: it is what every
//! file of the module imports, and its variants are the contract for how the CLI exits.

use std::path::PathBuf;

use crate::util::error::InputError;

/// Errors from either backend.
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    /// The tracking URI (user config or `MLFLOW_TRACKING_URI`) is unusable. Carries an
    /// [`InputError`] (in the error chain) so the CLI exits 2.
    #[error("tracking configuration")]
    BadUri(#[from] InputError),
    /// The server answered with an MLflow error (`error_code`, `message`).
    #[error("MLflow {endpoint}: HTTP {status} {code}: {message}")]
    Api {
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    /// No answer after the bounded retries (connection refused, timeout, 5xx, 429...).
    #[error("MLflow {endpoint}: {reason}")]
    Transport { endpoint: String, reason: String },
    /// The server answered 2xx with a body we cannot use. Not the user's fault: exit 1.
    #[error("MLflow {endpoint}: malformed response: {reason}")]
    BadResponse { endpoint: String, reason: String },
    /// A run, experiment, model or version that does not exist.
    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },
    /// A request MLflow would refuse (bad key, param re-logged with another value, ...).
    #[error("{0}")]
    Invalid(String),
    /// An artifact path that would escape its folder, or a symlink we refuse to follow.
    #[error("unsafe artifact path {path:?}: {reason}")]
    UnsafePath { path: String, reason: String },
    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file in the local store that does not parse.
    #[error("tracking store file {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// The operation does not apply to this backend or server setup.
    #[error("{0}")]
    Unsupported(String),
    /// The model bundle of a version failed verification.
    #[error(transparent)]
    Bundle(#[from] crate::store::bundle::BundleError),
}

impl TrackingError {
    /// True for "does not exist", whichever backend said it.
    pub fn is_not_found(&self) -> bool {
        match self {
            TrackingError::NotFound { .. } => true,
            TrackingError::Api { code, status, .. } => {
                code == "RESOURCE_DOES_NOT_EXIST" || *status == 404
            }
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrackingError::Io {
            path: path.into(),
            source,
        }
    }
}
