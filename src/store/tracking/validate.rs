//! Checks on names that end up as paths: metric, param and tag keys (the file store makes each
//! a file) and artifact paths (ours, and the ones a server sends back). Both backends run them
//! before anything is written or downloaded, so a hostile or mistyped name cannot escape its
//! folder; one place keeps the two backends refusing the same names.

use super::TrackingError;
use super::uri::uri_scheme;

/// Keys MLflow accepts (alphanumerics, `_ - . space /`), refusing `..` segments and a
/// leading `/` because the file store turns keys into paths.
pub(crate) fn validate_key(kind: &str, key: &str) -> Result<(), TrackingError> {
    let chars_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || "_-. /".contains(c));
    // A segment starting with '.' would be a hidden file the store skips as a temp file.
    let bad_segment = key.split('/').any(|s| s.is_empty() || s.starts_with('.'));
    if key.is_empty() || key.len() > 250 || !chars_ok || bad_segment {
        return Err(TrackingError::Invalid(format!(
            "invalid {kind} key {key:?}: use letters, digits, '_', '-', '.', ' ', '/' (no empty segments, none starting with '.'), at most 250 characters"
        )));
    }
    Ok(())
}

/// Logged model ids (`m-` and hex digits, as MLflow makes them) go into paths and URLs.
pub(crate) fn validate_model_id(id: &str) -> Result<(), TrackingError> {
    let ok = id.len() > 2
        && id.len() <= 64
        && id.starts_with("m-")
        && id[2..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(TrackingError::Invalid(format!(
            "invalid logged model id {id:?}"
        )))
    }
}

/// Check that an artifact path (ours or a server's) stays inside its root: relative, no `..`,
/// no empty or `.` segments, no backslashes or NULs. Returns it with no leading/trailing `/`.
pub(crate) fn safe_relative_path(path: &str) -> Result<String, TrackingError> {
    let bad = |reason: &str| TrackingError::UnsafePath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return Err(bad("must be relative, without backslashes"));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if uri_scheme(trimmed).is_some() && trimmed.contains(":/") {
        return Err(bad("must be a relative path, not a URI"));
    }
    for seg in trimmed.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(bad("no empty, '.' or '..' segments"));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative_path("model/MLmodel").unwrap(),
            "model/MLmodel"
        );
        assert_eq!(safe_relative_path("").unwrap(), "");
        for p in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "file:///x",
        ] {
            assert!(safe_relative_path(p).is_err(), "{p}");
        }
    }

    #[test]
    fn keys() {
        assert!(validate_key("metric", "val/rmse 7").is_ok());
        for k in ["", "../x", "/x", "a//b", "a$b", "a/./b", ".hidden", "a/.b"] {
            assert!(validate_key("metric", k).is_err(), "{k}");
        }
    }
}
