//! What `train` writes besides tracking: the processed snapshot, the scaler, and each
//! family best's model bundle (protocol §6).

use anyhow::{Context, Result};
use tracing::info;

use super::grid::FamilyResult;
use crate::config::Config;
use crate::data::features;
use crate::data::pipeline::DataStages;
use crate::store::modelio::{self, FeatureSpec};

/// Writes the bundle of a family's best (test) model into `dir`.
pub fn write_family_bundle(
    cfg: &Config,
    stages: &DataStages,
    f: &FamilyResult,
    data_sha: &str,
    dir: &std::path::Path,
    run_id: Option<&str>,
) -> Result<()> {
    let (Some(p), Some(model)) = (f.best_point(), f.test_model.as_ref()) else {
        anyhow::bail!("family {} has no tested model to bundle", f.family.as_str());
    };
    let prep = &stages.prepared;
    let spec = FeatureSpec {
        family: f.family.as_str().to_string(),
        spec: p.spec.clone(),
        date_column: cfg.data.date_column.clone(),
        date_format: cfg.data.date_format.clone(),
        target: cfg.data.target.clone(),
        sum_columns: cfg.data.sum_columns.clone(),
        exog: cfg.drivers(),
        fill_missing: cfg.data.fill_missing,
        features: cfg.features.clone(),
        columns: prep.scaled.names.clone(),
        model_exog: p.drivers.clone(),
        forecast_days: cfg.forecast_days,
        interval_level: cfg.interval_level,
        data_sha256: data_sha.to_string(),
        exog_ets: crate::models::mstl::ETS_SEARCH.to_string(),
        exog_engine: crate::models::mstl::EtsEngine::Adsales,
    };
    let summary = serde_json::json!({
        "family": f.family.as_str(),
        "spec": p.spec,
        "params": p.params.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        "val": p.val.as_ref().map(|v| &v.metrics),
        "test": f.test.as_ref().map(|t| &t.metrics),
        "test_rmse_by_step": f.test.as_ref().map(|t| &t.step_rmse),
        "last_date": stages.daily.dates.last().map(|d| d.to_string()),
    });
    modelio::write_bundle(
        dir,
        &spec,
        &prep.scaler,
        &stages.daily,
        model.as_ref(),
        &summary,
        f.calibration.as_ref(),
        run_id,
    )
    .with_context(|| format!("writing the bundle of {}", p.spec))?;
    Ok(())
}

/// Writes the processed snapshot and the scaler JSON atomically.
pub fn write_outputs(cfg: &Config, stages: &DataStages) -> Result<()> {
    crate::util::fsutil::write_atomic(
        &cfg.paths.processed_data,
        &features::to_csv(&stages.features),
    )
    .with_context(|| format!("writing {}", cfg.paths.processed_data.display()))?;
    let scaler_path = cfg.paths.artifacts_dir.join("scaler.json");
    crate::util::fsutil::write_atomic(&scaler_path, stages.prepared.scaler.to_json().as_bytes())
        .with_context(|| format!("writing {}", scaler_path.display()))?;
    info!(
        processed = %cfg.paths.processed_data.display(),
        scaler = %scaler_path.display(),
        "wrote processed snapshot and scaler"
    );
    Ok(())
}
