//! MLflow's system tags and the facts about this process they record (program, user, git
//! commit), plus the clock every timestamp comes from. Kept apart because it reads the
//! environment and runs `git`: the rest of the module is pure data and I/O on the store.

use std::path::Path;
use std::sync::OnceLock;

/// Tag MLflow uses to nest a run under its parent.
pub(crate) const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
/// Tag holding a run's display name.
pub(crate) const TAG_RUN_NAME: &str = "mlflow.runName";

/// Epoch milliseconds now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// System tags computed once per process: `mlflow.source.name`, `mlflow.source.type`,
/// `mlflow.user`, and `mlflow.source.git.commit` when the working directory is in a git
/// checkout (no commit tag otherwise, and no failure).
pub(crate) fn system_tags() -> &'static [(String, String)] {
    static TAGS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TAGS.get_or_init(|| {
        let mut tags = vec![
            ("mlflow.source.name".to_string(), source_name()),
            ("mlflow.source.type".to_string(), "LOCAL".to_string()),
            ("mlflow.user".to_string(), user_name()),
        ];
        if let Some(c) = git_commit() {
            tags.push(("mlflow.source.git.commit".to_string(), c));
        }
        tags
    })
}

fn source_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "adsales".to_string())
}

pub(crate) fn user_name() -> String {
    ["MLFLOW_TRACKING_USER_ID", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit())).then_some(s)
}
