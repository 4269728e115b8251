//! Reading runs back from the store: meta, params and tags first (enough to filter on), then
//! metric histories and dataset inputs only for the runs that need them.

use std::collections::BTreeMap;
use std::path::Path;

use super::format::*;
use super::{LocalTracker, META};
use crate::store::tracking::{DatasetInput, Metric, Run, RunInfo, RunStatus, TrackingError};

impl LocalTracker {
    pub(super) fn read_run_meta(&self, dir: &Path) -> Result<RunMeta, TrackingError> {
        read_yaml(&dir.join(META))
    }

    pub(super) fn run_info(meta: &RunMeta) -> Result<RunInfo, TrackingError> {
        Ok(RunInfo {
            run_id: meta.run_id.clone(),
            experiment_id: meta.experiment_id.clone(),
            run_name: meta.run_name.clone(),
            status: RunStatus::from_code(meta.status).unwrap_or(RunStatus::Running),
            start_time: meta.start_time,
            end_time: meta.end_time,
            artifact_uri: meta.artifact_uri.clone(),
            user_id: meta.user_id.clone(),
        })
    }

    pub(super) fn load_run(&self, dir: &Path) -> Result<Run, TrackingError> {
        let mut run = self.load_run_head(dir)?;
        self.load_run_data(dir, &mut run)?;
        Ok(run)
    }

    /// A run's meta, params and tags; metrics and inputs left empty (see `load_run_data`).
    pub(super) fn load_run_head(&self, dir: &Path) -> Result<Run, TrackingError> {
        let meta = self.read_run_meta(dir)?;
        let mut info = Self::run_info(&meta)?;
        let params = read_kv_dir(&dir.join("params"))?;
        let tags = read_kv_dir(&dir.join("tags"))?;
        if info.run_name.is_empty()
            && let Some(n) = tags.get(crate::store::tracking::TAG_RUN_NAME)
        {
            info.run_name = n.clone();
        }
        Ok(Run {
            info,
            params,
            metrics: BTreeMap::new(),
            tags,
            inputs: Vec::new(),
        })
    }

    /// Fills in a run's latest metrics (one file per key, every point read) and inputs.
    pub(super) fn load_run_data(&self, dir: &Path, run: &mut Run) -> Result<(), TrackingError> {
        run.metrics = self.latest_metrics(&dir.join("metrics"))?;
        run.inputs = self.read_inputs(dir)?;
        Ok(())
    }

    /// The latest point of each metric in a `metrics/` folder (a run's or a logged model's;
    /// one file per key, every point read): MLflow's "latest", highest step, then timestamp.
    pub(super) fn latest_metrics(
        &self,
        mdir: &Path,
    ) -> Result<BTreeMap<String, Metric>, TrackingError> {
        let mut metrics = BTreeMap::new();
        if mdir.is_dir() {
            for key in crate::store::tracking::fsutil::list_files_rel(mdir)? {
                if key.split('/').any(|s| s.starts_with('.')) {
                    continue;
                }
                let hist = self.read_history(&mdir.join(&key), &key)?;
                if let Some(m) = hist
                    .into_iter()
                    .max_by(|a, b| (a.step, a.timestamp).cmp(&(b.step, b.timestamp)))
                {
                    metrics.insert(key, m);
                }
            }
        }
        Ok(metrics)
    }

    pub(super) fn read_history(
        &self,
        path: &Path,
        key: &str,
    ) -> Result<Vec<Metric>, TrackingError> {
        let text = read_string(path)?;
        let mut out = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let corrupt = || TrackingError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("bad metric line {line:?}"),
            };
            if parts.len() < 2 {
                return Err(corrupt());
            }
            // Rust's f64 parser reads Python's `nan`, `inf`, `-inf` as well as numbers.
            out.push(Metric {
                key: key.to_string(),
                timestamp: parts[0].parse().map_err(|_| corrupt())?,
                value: parts[1].parse().map_err(|_| corrupt())?,
                step: match parts.get(2) {
                    Some(s) => s.parse().map_err(|_| corrupt())?,
                    None => 0,
                },
            });
        }
        Ok(out)
    }

    fn read_inputs(&self, run_dir: &Path) -> Result<Vec<DatasetInput>, TrackingError> {
        let mut out = Vec::new();
        let exp_dir = run_dir.parent().unwrap_or(run_dir);
        for d in subdirs(&run_dir.join("inputs"))? {
            let p = run_dir.join("inputs").join(&d).join(META);
            if !p.is_file() {
                continue;
            }
            let input: InputMeta = read_yaml(&p)?;
            if input.source_type != "DATASET" {
                continue;
            }
            let dp = exp_dir.join("datasets").join(&input.source_id).join(META);
            if !dp.is_file() {
                continue;
            }
            let ds: DatasetMeta = read_yaml(&dp)?;
            let (num_rows, sha256) = DatasetInput::from_profile(ds.profile.as_deref());
            out.push(DatasetInput {
                num_rows,
                sha256,
                name: ds.name,
                digest: ds.digest,
                source_type: ds.source_type,
                source: ds.source,
                context: input.tags.get("mlflow.data.context").cloned(),
            });
        }
        Ok(out)
    }
}
