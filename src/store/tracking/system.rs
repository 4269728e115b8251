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

/// The user MLflow's own client would record: the first of these variables that is set, else
/// the login name of this process's uid (as Python's `getpass.getuser()` falls back to the
/// password database: containers and cron jobs often have no `USER`), else "unknown".
pub(crate) fn user_name() -> String {
    user_name_from(
        |k| std::env::var(k).ok(),
        || {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            login_of(&passwd, process_uid()?)
        },
    )
}

fn user_name_from(
    env: impl Fn(&str) -> Option<String>,
    login: impl FnOnce() -> Option<String>,
) -> String {
    ["MLFLOW_TRACKING_USER_ID", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
        .or_else(login)
        .unwrap_or_else(|| "unknown".to_string())
}

/// The uid this process runs as (the owner of its `/proc/self`).
fn process_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The name of `uid` in a passwd(5) file.
fn login_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_falls_back_to_the_login_name_of_the_uid() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nana:x:1000:1000::/home/ana:/bin/sh\n";
        assert_eq!(login_of(passwd, 1000).as_deref(), Some("ana"));
        assert_eq!(login_of(passwd, 0).as_deref(), Some("root"));
        assert_eq!(login_of(passwd, 7), None);
        let env = |k: &str| (k == "LOGNAME").then(|| "bo".to_string());
        assert_eq!(user_name_from(env, || Some("ana".into())), "bo");
        let empty = |k: &str| (k == "USER").then(String::new);
        assert_eq!(user_name_from(empty, || Some("ana".into())), "ana");
        assert_eq!(user_name_from(|_| None, || None), "unknown");
    }
}
