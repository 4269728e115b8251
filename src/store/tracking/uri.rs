//! Tracking URIs: which backend a URI names ([`open_tracker`]), and the `runs:/<run>/<path>`
//! URIs that point a model version at its run's artifacts. Kept apart from the [`Tracker`]
//! interface so the backend choice and the URI syntax can be read (and tested) in one place.

use super::TrackingError;
use super::{Tracker, local, rest};
use crate::util::error::InputError;

/// Tracking URI used when neither config nor environment names one.
const DEFAULT_TRACKING_URI: &str = "mlruns";

/// Open the backend the tracking URI names. An empty URI means `DEFAULT_TRACKING_URI`
/// (`mlruns`).
pub fn open_tracker(uri: &str) -> Result<Box<dyn Tracker>, TrackingError> {
    let uri = uri.trim();
    let uri = if uri.is_empty() {
        DEFAULT_TRACKING_URI
    } else {
        uri
    };
    let lower = uri.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Ok(Box::new(rest::RestTracker::from_env(uri)?))
    } else if let Some(scheme) = uri_scheme(uri)
        && scheme != "file"
    {
        Err(InputError::new(format!(
            "tracking URI {uri:?}: scheme {scheme:?} is not supported (use http(s)://, file: or a path)"
        ))
        .into())
    } else {
        Ok(Box::new(local::LocalTracker::open(
            &local::file_uri_to_path(uri)?,
        )?))
    }
}

/// `scheme` of `scheme:rest` when it looks like a URI scheme (and not a Windows drive letter).
pub(super) fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let ok = scheme.len() > 1
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    ok.then_some(scheme)
}

/// The `runs:/<run_id>/<path>` URI of an artifact.
pub fn runs_uri(run_id: &str, path: &str) -> String {
    format!("runs:/{run_id}/{}", path.trim_start_matches('/'))
}

/// Split `runs:/<run_id>/<path>` into run id and path.
pub(crate) fn parse_runs_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("runs:/")?;
    let rest = rest.trim_start_matches('/');
    let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!run.is_empty()).then_some((run, path))
}

/// The model id of a `models:/<model_id>` URI (a logged model), not of the registry's
/// `models:/<name>/<version>` or `models:/<name>@<alias>`.
pub(crate) fn parse_logged_model_uri(uri: &str) -> Option<&str> {
    uri.strip_prefix("models:/")
        .filter(|id| id.starts_with("m-") && !id.contains(['/', '@']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_model_uris() {
        assert_eq!(parse_logged_model_uri("models:/m-0a1b"), Some("m-0a1b"));
        assert_eq!(parse_logged_model_uri("models:/Ad/3"), None);
        assert_eq!(parse_logged_model_uri("models:/m-x/3"), None);
        assert_eq!(parse_logged_model_uri("models:/m-x@Staging"), None);
        assert_eq!(parse_logged_model_uri("runs:/m-0a1b"), None);
    }

    #[test]
    fn runs_uris() {
        assert_eq!(parse_runs_uri("runs:/abc/model"), Some(("abc", "model")));
        assert_eq!(parse_runs_uri("runs:/abc"), Some(("abc", "")));
        assert_eq!(parse_runs_uri("s3://x"), None);
        assert_eq!(runs_uri("abc", "model"), "runs:/abc/model");
    }

    #[test]
    fn scheme_detection() {
        assert_eq!(uri_scheme("file:///x"), Some("file"));
        assert_eq!(uri_scheme("C:\\x"), None);
        assert_eq!(uri_scheme("mlruns"), None);
        assert!(open_tracker("s3://bucket").is_err());
    }
}
