//! File helpers shared by the local store and artifact downloads: atomic writes, a store lock,
//! random ids and symlink-refusing copies.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use rand::RngCore;

use super::TrackingError;

/// `n` random bytes as lowercase hex (run ids are 32 hex digits, like MLflow's uuid4 hex).
pub(crate) fn random_hex(n_bytes: usize) -> String {
    let mut b = vec![0u8; n_bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Write `data` to `target` atomically (fsynced; [`crate::util::fsutil::write_renamed`]). The temp
/// file is created in `tmp_dir`; callers pass the parent folder for key-per-file folders
/// (params, tags, aliases), where a stray temp file would be read as a key.
pub(crate) fn atomic_write_in(
    target: &Path,
    data: &[u8],
    tmp_dir: &Path,
) -> Result<(), TrackingError> {
    crate::util::fsutil::write_renamed(target, data, Some(tmp_dir), true)
        .map_err(|e| TrackingError::io(target, e))
}

/// [`atomic_write_in`] without the fsync: readers still see the old file or the new one, but a
/// power cut may lose the write. For run data (params, tags, dataset inputs), which MLflow's
/// own file store never syncs either: a train writes ~700 such files, and syncing each one
/// was most of the tracking stage's time. The registry (model versions, aliases), artifacts
/// (model bundles) and each run's `meta.yaml` (through which a version finds its bundle) keep
/// durable writes: an alias must never outlive its bundle.
pub(crate) fn replace_in(target: &Path, data: &[u8], tmp_dir: &Path) -> Result<(), TrackingError> {
    crate::util::fsutil::write_renamed(target, data, Some(tmp_dir), false)
        .map_err(|e| TrackingError::io(target, e))
}

/// [`replace_in`] with the temp file next to the target.
pub(crate) fn replace(target: &Path, data: &[u8]) -> Result<(), TrackingError> {
    crate::util::fsutil::write_renamed(target, data, None, false)
        .map_err(|e| TrackingError::io(target, e))
}

/// [`atomic_write_in`] with the temp file next to the target.
pub(crate) fn atomic_write(target: &Path, data: &[u8]) -> Result<(), TrackingError> {
    crate::util::fsutil::write_atomic(target, data).map_err(|e| TrackingError::io(target, e))
}

/// An exclusive advisory lock on a file, released on drop (also when the process dies, so
/// no stale locks).
pub(crate) struct StoreLock {
    _file: File,
}

impl StoreLock {
    pub(crate) fn acquire(path: &Path) -> Result<StoreLock, TrackingError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| TrackingError::io(path, e))?;
        file.lock().map_err(|e| TrackingError::io(path, e))?;
        Ok(StoreLock { _file: file })
    }
}

/// Copy the file or folder `src` to `dst`, refusing symlinks anywhere (a link could smuggle a
/// file from outside the folder into an artifact). Files are written atomically.
pub(crate) fn copy_tree_no_symlinks(src: &Path, dst: &Path) -> Result<(), TrackingError> {
    let meta = fs::symlink_metadata(src).map_err(|e| TrackingError::io(src, e))?;
    if meta.file_type().is_symlink() {
        return Err(TrackingError::UnsafePath {
            path: src.display().to_string(),
            reason: "symbolic links are not copied".into(),
        });
    }
    if meta.is_dir() {
        fs::create_dir_all(dst).map_err(|e| TrackingError::io(dst, e))?;
        let mut entries: Vec<_> = fs::read_dir(src)
            .map_err(|e| TrackingError::io(src, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| TrackingError::io(src, e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree_no_symlinks(&e.path(), &dst.join(e.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() {
        let data = fs::read(src).map_err(|e| TrackingError::io(src, e))?;
        atomic_write(dst, &data)
    } else {
        Err(TrackingError::UnsafePath {
            path: src.display().to_string(),
            reason: "not a regular file or folder".into(),
        })
    }
}

/// Regular files under `dir`, as `/`-separated paths relative to it, sorted. Symlinks are
/// refused.
pub(crate) fn list_files_rel(dir: &Path) -> Result<Vec<String>, TrackingError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), TrackingError> {
        for e in fs::read_dir(dir).map_err(|e| TrackingError::io(dir, e))? {
            let e = e.map_err(|e| TrackingError::io(dir, e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|err| TrackingError::io(&p, err))?;
            if ft.is_symlink() {
                return Err(TrackingError::UnsafePath {
                    path: p.display().to_string(),
                    reason: "symbolic links are not uploaded".into(),
                });
            } else if ft.is_dir() {
                walk(root, &p, out)?;
            } else if ft.is_file() {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}
