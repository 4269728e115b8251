//! Train-side tracking: the run tree of protocol §6 and registration.
//!
//! ```text
//! train run                      config artifact, dataset input, stage timings, leaderboard
//! ├── family run (per family)    best spec, val/test metrics of the best point
//! │   ├── grid-point run         params, val metrics, per-step RMSE, fit time, convergence
//! │   └── ... the family best also gets test metrics and its bundle (`model/`), and an
//! │       MLflow 3 logged model of that bundle (its output) with the val/test metrics
//! ```
//! Registration uploads nothing new: the winner's grid-point run already holds the bundle;
//! it is downloaded back and verified before a version is created and the alias moves.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tracing::{info, warn};

use super::grid::{FamilyResult, PointResult};
use crate::cmd::interrupt::set_active;
use crate::config::Config;
use crate::eval::backtest::Evaluation;
use crate::store::bundle;
use crate::store::tracking::tags;
use crate::store::tracking::{
    Batch, DatasetInput, LoggedModelStatus, NewLoggedModel, NewRun, RunStatus, Tracker,
    open_tracker,
};

/// Runs not finished yet; once `closed`, no new run may be created.
#[derive(Default)]
struct OpenRuns {
    ids: Vec<String>,
    closed: bool,
}

/// The open tracking session of one `train`.
pub struct TrainTracking {
    tracker: Box<dyn Tracker>,
    pub experiment_id: String,
    pub train_run: String,
    /// Runs created and not finished yet, so a failure or an interrupt can close them all.
    /// Creating and finishing a run hold this lock across the tracker call, so `close` (from
    /// the Ctrl-C thread) never misses a run being created nor re-marks one being finished.
    open: Mutex<OpenRuns>,
}

/// Where the family's best bundle went. The local copy (compared with the uploaded one at
/// registration) lives in a temp folder removed when this is dropped.
pub struct LoggedBest {
    pub run_id: String,
    /// Its MLflow 3 logged model (the same bundle), which the registered version links to.
    pub model_id: String,
    pub local_bundle: PathBuf,
    _dir: tempfile::TempDir,
}

/// The registered version.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: String,
    pub version: String,
    pub alias: String,
    pub previous: Option<String>,
}

fn eval_metrics(prefix: &str, ev: &Evaluation, batch: &mut Batch) {
    let m = &ev.metrics;
    for (k, v) in [
        ("rmse", m.rmse),
        ("mae", m.mae),
        ("mape", m.mape),
        ("r2", m.r2),
        ("mase", m.mase),
        ("coverage", m.coverage),
        ("width", m.width),
        ("winkler", m.winkler),
    ] {
        batch.metrics.push(crate::store::tracking::Metric::new(
            format!("{prefix}_{k}"),
            v,
            0,
        ));
    }
    for (h, r) in ev.step_rmse.iter().enumerate() {
        batch.metrics.push(crate::store::tracking::Metric::new(
            format!("{prefix}_rmse_by_step"),
            *r,
            h as i64 + 1,
        ));
    }
}

impl TrainTracking {
    /// Opens the backend, gets the experiment and creates the train run. Called before any
    /// training so an unreachable server fails fast.
    pub fn start(cfg: &Config) -> Result<Arc<TrainTracking>> {
        let uri = &cfg.mlflow.tracking_uri;
        let tracker =
            open_tracker(uri).with_context(|| format!("opening MLflow tracking at {uri}"))?;
        let experiment_id = tracker
            .get_or_create_experiment(&cfg.mlflow.experiment_name)
            .with_context(|| {
                format!(
                    "MLflow tracking at {}: experiment {}",
                    tracker.uri(),
                    cfg.mlflow.experiment_name
                )
            })?;
        let name = format!("train-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
        let run = tracker
            .create_run(&NewRun::new(&experiment_id, &name).tag(tags::KIND, "train"))
            .with_context(|| {
                format!(
                    "MLflow tracking at {}: creating the train run",
                    tracker.uri()
                )
            })?;
        info!(uri = %tracker.uri(), experiment = %experiment_id, run = %run.run_id, "tracking train run");
        let t = Arc::new(TrainTracking {
            tracker,
            experiment_id,
            train_run: run.run_id.clone(),
            open: Mutex::new(OpenRuns {
                ids: vec![run.run_id],
                closed: false,
            }),
        });
        // From here on an interrupt closes the run.
        set_active(Some(t.clone()));
        if let Err(e) = t.log_config(cfg) {
            set_active(None);
            t.close(RunStatus::Failed);
            return Err(e);
        }
        Ok(t)
    }

    pub fn uri(&self) -> String {
        self.tracker.uri()
    }

    fn ctx(&self, what: &str) -> String {
        format!("MLflow tracking at {}: {what}", self.tracker.uri())
    }

    fn log_config(&self, cfg: &Config) -> Result<()> {
        let b = Batch::new()
            .param("seed", cfg.seed)
            .param("forecast_days", cfg.forecast_days)
            .param("interval_level", cfg.interval_level)
            .param("target", &cfg.data.target)
            .param(
                "exog",
                cfg.data
                    .exog
                    .iter()
                    .map(|e| format!("{}:{:?}", e.name, e.policy).to_lowercase())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .param(
                "fill_missing",
                format!("{:?}", cfg.data.fill_missing).to_lowercase(),
            )
            .param(
                "split",
                format!("{}/{}/{}", cfg.split.train, cfg.split.val, cfg.split.test),
            )
            .param(
                "families",
                cfg.families
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        self.tracker
            .log_batch(&self.train_run, &b)
            .with_context(|| self.ctx("logging config params"))?;
        self.tracker
            .log_artifact(&self.train_run, &cfg.source, Some("config"))
            .with_context(|| self.ctx("uploading the config file"))?;
        Ok(())
    }

    /// The raw data file as a dataset input (sha256 and row count).
    pub fn log_dataset(&self, path: &Path, sha256: &str, rows: usize) -> Result<()> {
        let mut ds = DatasetInput::local_file("raw_ads", path, sha256, Some(rows as u64));
        ds.context = Some("training".into());
        self.tracker
            .log_inputs(&self.train_run, &[ds])
            .with_context(|| self.ctx("logging the dataset input"))
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, OpenRuns> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn create(&self, parent: &str, name: &str, kind: &str) -> Result<String> {
        let mut open = self.lock_open();
        if open.closed {
            anyhow::bail!("tracking session closed (interrupted); not creating run {name}");
        }
        let run = self
            .tracker
            .create_run(
                &NewRun::new(&self.experiment_id, name)
                    .parent(parent)
                    .tag(tags::KIND, kind),
            )
            .with_context(|| self.ctx(&format!("creating run {name}")))?;
        open.ids.push(run.run_id.clone());
        Ok(run.run_id)
    }

    fn finish(&self, run_id: &str, status: RunStatus) -> Result<()> {
        let mut open = self.lock_open();
        if open.closed {
            // Already closed (and marked) by an interrupt or a failure.
            return Ok(());
        }
        self.tracker
            .finish_run(run_id, status, None)
            .with_context(|| self.ctx(&format!("finishing run {run_id}")))?;
        open.ids.retain(|r| r != run_id);
        Ok(())
    }

    /// `fitted`: the point's model, for its metric history (the LSTM's losses).
    fn point_batch(
        &self,
        family: &str,
        p: &PointResult,
        fitted: Option<&dyn crate::models::FittedForecaster>,
    ) -> Batch {
        let mut b = Batch::new()
            .param(tags::FAMILY, family)
            .param(tags::SPEC, &p.spec);
        for (k, v) in &p.params {
            b = b.param(k.clone(), v.clone());
        }
        b = b.metric("fit_seconds", p.fit_seconds, 0);
        if let Some(info) = &p.info {
            b = b
                .metric("converged", if info.converged { 1.0 } else { 0.0 }, 0)
                .metric("iterations", info.iterations as f64, 0)
                .tag(tags::CONVERGENCE, info.message.clone());
            if let Some(model) = &info.model {
                b = b.tag(tags::FITTED_MODEL, model.clone());
            }
            for (k, v) in [("llf", info.llf), ("aic", info.aic), ("bic", info.bic)] {
                if let Some(v) = v {
                    b = b.metric(k, v, 0);
                }
            }
        }
        if let Some(fitted) = fitted {
            for (key, values) in fitted.metric_history() {
                for (step, v) in values.iter().enumerate() {
                    b = b.metric(key.clone(), *v, step as i64 + 1);
                }
            }
        }
        if let Some(v) = &p.val {
            eval_metrics("val", v, &mut b);
        }
        if let Some(e) = &p.error {
            b = b.tag(tags::ERROR, e.chars().take(4000).collect::<String>());
        }
        b
    }

    /// Logs a family run with one child per grid point; the best point also gets its test
    /// metrics and the bundle written by `write_bundle(dir)`. Returns the best point's run.
    pub fn log_family(
        &self,
        f: &FamilyResult,
        write_bundle: &dyn Fn(&Path, &str) -> Result<()>,
    ) -> Result<Option<LoggedBest>> {
        let fam = f.family.as_str();
        let fam_run = self.create(&self.train_run, &format!("family:{fam}"), "family")?;
        let mut best = None;
        for (i, p) in f.points.iter().enumerate() {
            let run = self.create(&fam_run, &format!("{fam}:{}", p.spec), "grid_point")?;
            // A family that does not refit for test (the LSTM) moved its best point's model
            // into `test_model`: its loss history is read there.
            let moved = (Some(i) == f.best)
                .then_some(f.test_model.as_deref())
                .flatten();
            let mut b = self.point_batch(fam, p, p.fitted.as_deref().or(moved));
            let is_best = Some(i) == f.best && f.test.is_some();
            if is_best {
                eval_metrics("test", f.test.as_ref().expect("checked"), &mut b);
                b = b.tag(tags::FAMILY_BEST, "true");
            }
            if is_best && f.test_model.is_some() {
                best = Some(self.log_best_point(fam, &p.spec, &run, b, write_bundle)?);
            } else {
                self.tracker
                    .log_batch(&run, &b)
                    .with_context(|| self.ctx(&format!("logging {}", p.spec)))?;
            }
            let status = if p.error.is_some() && p.val.is_none() {
                RunStatus::Failed
            } else {
                RunStatus::Finished
            };
            self.finish(&run, status)?;
        }
        let mut b = Batch::new()
            .param(tags::FAMILY, fam)
            .metric("family_seconds", f.seconds, 0);
        if let (Some(p), Some(t)) = (f.best_point(), &f.test) {
            b = b.param("best_spec", &p.spec);
            if let Some(v) = &p.val {
                eval_metrics("val", v, &mut b);
            }
            eval_metrics("test", t, &mut b);
        }
        b = b.metric(
            "failed_points",
            f.points.iter().filter(|p| p.val.is_none()).count() as f64,
            0,
        );
        self.tracker
            .log_batch(&fam_run, &b)
            .with_context(|| self.ctx(&format!("logging family {fam}")))?;
        self.finish(&fam_run, RunStatus::Finished)?;
        Ok(best)
    }

    /// The family best's run: its batch, its bundle under `model/`, and an MLflow 3 logged
    /// model of the same bundle (the experiment's Models tab, `search_logged_models`,
    /// `models:/<model_id>`) that holds the headline val/test metrics, made by this run.
    fn log_best_point(
        &self,
        fam: &str,
        spec: &str,
        run: &str,
        mut b: Batch,
        write_bundle: &dyn Fn(&Path, &str) -> Result<()>,
    ) -> Result<LoggedBest> {
        let model = self
            .tracker
            .create_logged_model(&NewLoggedModel {
                experiment_id: self.experiment_id.clone(),
                // The Models tab lists models by name: the family says which is which (the
                // bundle itself stays at the run's `model/`).
                name: fam.to_string(),
                source_run_id: run.to_string(),
                model_type: Some(fam.to_string()),
                params: vec![
                    (tags::FAMILY.into(), fam.to_string()),
                    ("spec".into(), spec.to_string()),
                ],
                tags: vec![(tags::FAMILY.into(), fam.to_string())],
            })
            .with_context(|| self.ctx(&format!("creating the logged model of {spec}")))?;
        let result = (|| -> Result<LoggedBest> {
            // The headline metrics are the model's too; histories (loss, per step) stay the run's.
            let (linked, rest): (Vec<_>, Vec<_>) =
                std::mem::take(&mut b.metrics).into_iter().partition(|m| {
                    (m.key.starts_with("val_") || m.key.starts_with("test_")) && m.step == 0
                });
            b.metrics = rest;
            let linked = Batch {
                metrics: linked,
                ..Batch::new()
            }
            .for_model(&model.model_id);
            for batch in [&b, &linked] {
                self.tracker
                    .log_batch(run, batch)
                    .with_context(|| self.ctx(&format!("logging {spec}")))?;
            }
            let dir = tempfile::Builder::new()
                .prefix("adsales-bundle-")
                .tempdir()
                .context("creating a temp folder for the bundle")?;
            let bundle_dir = dir.path().join("model");
            write_bundle(&bundle_dir, run)?;
            self.tracker
                .log_artifacts(run, &bundle_dir, Some("model"))
                .with_context(|| self.ctx(&format!("uploading the bundle of {spec}")))?;
            self.tracker
                .log_logged_model_artifacts(&model, &bundle_dir)
                .with_context(|| self.ctx(&format!("uploading the logged model of {spec}")))?;
            // MLflow's UI also shows the run's folder as a logged model (the model panel).
            let manifest = crate::store::bundle::read_manifest(&bundle_dir)
                .with_context(|| self.ctx("reading the bundle's MLmodel"))?;
            let history = crate::store::bundle::log_model_history(&manifest, run);
            self.tracker
                .log_batch(run, &Batch::new().tag(tags::LOG_MODEL_HISTORY, history))
                .with_context(|| self.ctx(&format!("tagging the model of {spec}")))?;
            self.tracker
                .log_outputs(run, &model.model_id, 0)
                .with_context(|| self.ctx(&format!("linking the logged model of {spec}")))?;
            self.tracker
                .finalize_logged_model(&model.model_id, LoggedModelStatus::Ready)
                .with_context(|| self.ctx(&format!("finalizing the logged model of {spec}")))?;
            Ok(LoggedBest {
                run_id: run.to_string(),
                model_id: model.model_id.clone(),
                local_bundle: bundle_dir,
                _dir: dir,
            })
        })();
        if result.is_err()
            && let Err(e) = self
                .tracker
                .finalize_logged_model(&model.model_id, LoggedModelStatus::Failed)
        {
            warn!(model = %model.model_id, "could not mark the logged model failed: {e:#}");
        }
        result
    }

    /// Final metrics and artifacts of the train run.
    pub fn log_train_summary(&self, batch: &Batch, artifacts: &[PathBuf]) -> Result<()> {
        self.tracker
            .log_batch(&self.train_run, batch)
            .with_context(|| self.ctx("logging train metrics"))?;
        for a in artifacts {
            self.tracker
                .log_artifact(&self.train_run, a, Some("results"))
                .with_context(|| self.ctx(&format!("uploading {}", a.display())))?;
        }
        Ok(())
    }

    /// Registers the winner: download its bundle back, verify it against the local one, create
    /// a new version with tags, then move the alias. Any failure leaves the alias untouched.
    pub fn register(
        &self,
        cfg: &Config,
        best: &LoggedBest,
        version_tags: Vec<(String, String)>,
    ) -> Result<Registration> {
        let name = &cfg.mlflow.model_name;
        let alias = &cfg.mlflow.alias;
        let tmp = tempfile::tempdir().context("creating a temp folder")?;
        let got = self
            .tracker
            .download_artifacts(&best.run_id, "model", tmp.path())
            .with_context(|| self.ctx("downloading the uploaded bundle back"))?;
        let remote = bundle::verify_bundle(&got).context("verifying the uploaded bundle")?;
        let local = bundle::read_manifest(&best.local_bundle)
            .context("reading the local bundle manifest")?;
        if remote.flavors.adsales.files != local.flavors.adsales.files {
            anyhow::bail!(
                "the bundle read back from {} differs from the one uploaded; not registering",
                self.tracker.uri()
            );
        }
        self.tracker
            .create_registered_model(name)
            .with_context(|| self.ctx(&format!("creating registered model {name}")))?;
        let previous = self
            .tracker
            .get_alias(name, alias)
            .with_context(|| self.ctx(&format!("reading alias {alias}")))?
            .map(|v| v.version);
        let mut tags = version_tags;
        tags.push((
            tags::previous_holder(alias),
            previous.clone().unwrap_or_else(|| "none".into()),
        ));
        tags.push((tags::TRAIN_RUN_ID.into(), self.train_run.clone()));
        // The version is made from the family best's logged model, as MLflow 3 registers a
        // logged model: source `models:/<model_id>` and the model id (the UI links the version
        // to the model's page, and the model lists its versions).
        let source = format!("models:/{}", best.model_id);
        let v = self
            .tracker
            .create_model_version(name, &source, &best.run_id, Some(&best.model_id), &tags)
            .with_context(|| self.ctx(&format!("creating a version of {name}")))?;
        self.tracker
            .set_alias(name, alias, &v.version)
            .with_context(|| self.ctx(&format!("moving alias {alias} to version {}", v.version)))?;
        info!(model = %name, version = %v.version, alias = %alias, previous = previous.as_deref().unwrap_or("none"), "registered");
        Ok(Registration {
            name: name.clone(),
            version: v.version,
            alias: alias.clone(),
            previous,
        })
    }

    /// Closes the train run (and anything still open) with `status`; later attempts to create
    /// or finish runs do nothing.
    pub fn close(&self, status: RunStatus) {
        let mut open = self.lock_open();
        open.closed = true;
        for run in open.ids.drain(..).rev() {
            if let Err(e) = self.tracker.finish_run(&run, status, None) {
                warn!(run = %run, "could not mark run {status}: {e:#}");
            }
        }
    }
}
