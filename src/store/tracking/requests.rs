//! What callers build and hand to a backend: a [`Batch`] of params, metrics and tags, a
//! [`NewRun`] and a [`RunSearch`]. Separate from the returned values (`types.rs`) because these
//! are builders with defaults (system tags, result limits) rather than data read back.

use std::collections::BTreeMap;

use super::{Metric, TAG_PARENT_RUN_ID, TAG_RUN_NAME, system_tags};

/// Params, metrics and tags to log in one call. Backends split it to fit server limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub params: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
    pub tags: Vec<(String, String)>,
    /// Link every metric of the batch to this logged model too (MLflow 3: the model's own
    /// metrics, shown in the experiment's Models tab).
    pub model_id: Option<String>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn param(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.params.push((key.into(), value.to_string()));
        self
    }
    /// A metric at `step`, stamped now.
    pub fn metric(mut self, key: impl Into<String>, value: f64, step: i64) -> Self {
        self.metrics.push(Metric::new(key, value, step));
        self
    }
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
    /// The batch's metrics also become metrics of logged model `model_id`.
    pub fn for_model(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = Some(model_id.into());
        self
    }
    pub fn is_empty(&self) -> bool {
        self.params.is_empty() && self.metrics.is_empty() && self.tags.is_empty()
    }
}

/// What to create a logged model with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    /// The name MLflow shows in the Models tab (train uses the family).
    pub name: String,
    pub source_run_id: String,
    /// e.g. the family (`sarimax`).
    pub model_type: Option<String>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

/// What to create a run with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRun {
    pub experiment_id: String,
    pub run_name: String,
    /// Nest under this run (tag `mlflow.parentRunId`).
    pub parent_run_id: Option<String>,
    /// Epoch ms; now when `None`.
    pub start_time: Option<i64>,
    /// Extra tags; they win over the system tags on the same key.
    pub tags: Vec<(String, String)>,
}

impl NewRun {
    pub fn new(experiment_id: impl Into<String>, run_name: impl Into<String>) -> Self {
        NewRun {
            experiment_id: experiment_id.into(),
            run_name: run_name.into(),
            ..Default::default()
        }
    }
    pub fn parent(mut self, run_id: impl Into<String>) -> Self {
        self.parent_run_id = Some(run_id.into());
        self
    }
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// System tags, then the parent tag, then the caller's tags (last one wins per key).
    pub(crate) fn all_tags(&self) -> Vec<(String, String)> {
        let mut map: BTreeMap<String, String> = system_tags().iter().cloned().collect();
        map.insert(TAG_RUN_NAME.into(), self.run_name.clone());
        if let Some(p) = &self.parent_run_id {
            map.insert(TAG_PARENT_RUN_ID.into(), p.clone());
        }
        for (k, v) in &self.tags {
            map.insert(k.clone(), v.clone());
        }
        map.into_iter().collect()
    }
}

/// A run search. `filter` uses MLflow's syntax; the local store understands
/// `params.k = 'v'`, `tags.k = 'v'` / `!=`, `metrics.k <op> number`,
/// `attributes.status|run_name|run_id = '...'`, joined with `AND`
/// (see the `filter` module).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSearch {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    /// e.g. `["metrics.rmse ASC"]`; runs without the key come last.
    pub order_by: Vec<String>,
    pub max_results: usize,
}

impl RunSearch {
    pub fn new(experiment_id: impl Into<String>) -> Self {
        RunSearch {
            experiment_ids: vec![experiment_id.into()],
            filter: String::new(),
            order_by: Vec::new(),
            max_results: 1000,
        }
    }
    pub fn filter(mut self, f: impl Into<String>) -> Self {
        self.filter = f.into();
        self
    }
    pub fn order_by(mut self, o: impl Into<String>) -> Self {
        self.order_by.push(o.into());
        self
    }
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }
}
