//! Small file-system helpers: atomic writes for every stage that writes outputs, and the
//! header read of the CSV files users hand in (events, plans).

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, then rename,
/// so a reader (or a crash) never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_renamed(path, bytes, None, true)
}

/// Writes `bytes` to a fresh temp file in `tmp_dir` (default: `path`'s folder; it must be on
/// the same file system, so the `rename` is atomic), fsyncs it when `durable`, and renames it
/// over `path`: readers see the old file or the new one, never a partial one. The temp file
/// is removed on failure.
pub fn write_renamed(
    path: &Path,
    bytes: &[u8],
    tmp_dir: Option<&Path>,
    durable: bool,
) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = tmp_dir.unwrap_or(parent).join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (COUNTER.fetch_add(1, Ordering::Relaxed) << 32) ^ nanos
}

/// Opens a CSV file with a header row and reads the header; the error text says which step
/// failed, for the caller to prefix with what the file is.
pub(crate) fn csv_with_header(
    path: &Path,
) -> Result<(csv::Reader<std::fs::File>, Vec<String>), String> {
    let mut rdr = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let header = rdr
        .headers()
        .map_err(|e| format!("row 1 (header): {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    Ok((rdr, header))
}
