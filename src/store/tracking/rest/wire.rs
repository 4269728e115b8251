//! MLflow's JSON wire format: metric values, ids and int64 fields that may be strings,
//! key/value lists, and the run / metric / model-version objects.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::store::tracking::{
    DatasetInput, LoggedModel, LoggedModelStatus, Metric, ModelVersion, Run, RunInfo, RunStatus,
    TrackingError,
};

pub(super) fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Percent-encode one path segment.
pub(super) fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

pub(super) fn encode_path(p: &str) -> String {
    p.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The JSON MLflow needs for a metric value.
pub(super) fn metric_value_json(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

/// A metric value as the server returns it (number or one of the special strings).
pub(super) fn parse_metric_value(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        // Rust's float parser reads "NaN", "Infinity" and "-Infinity" as well as numbers.
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    // The server clamps ±Inf to ±f64::MAX when it stores them.
    Some(if x == f64::MAX {
        f64::INFINITY
    } else if x == -f64::MAX {
        f64::NEG_INFINITY
    } else {
        x
    })
}

pub(super) fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn as_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn kv_list(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| Some((as_string(e.get("key"))?, as_string(e.get("value"))?)))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn kv_json(pairs: &[(String, String)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}
pub(super) fn bad(api: &str, reason: impl Into<String>) -> TrackingError {
    TrackingError::BadResponse {
        endpoint: format!("/api/2.0/mlflow/{api}"),
        reason: reason.into(),
    }
}

pub(super) fn parse_run(api: &str, v: &Value) -> Result<Run, TrackingError> {
    let info = v.get("info").ok_or_else(|| bad(api, "run without info"))?;
    let data = v.get("data");
    let run_id = as_string(info.get("run_id").or_else(|| info.get("run_uuid")))
        .ok_or_else(|| bad(api, "run without run_id"))?;
    let tags = kv_list(data.and_then(|d| d.get("tags")));
    let metrics = parse_metrics(api, data)?
        .into_iter()
        .map(|m| (m.key.clone(), m))
        .collect();
    let inputs = v
        .get("inputs")
        .and_then(|i| i.get("dataset_inputs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|di| {
            let d = di.get("dataset")?;
            let itags = kv_list(di.get("tags"));
            let (num_rows, sha256) =
                DatasetInput::from_profile(as_string(d.get("profile")).as_deref());
            Some(DatasetInput {
                num_rows,
                sha256,
                name: as_string(d.get("name"))?,
                digest: as_string(d.get("digest")).unwrap_or_default(),
                source_type: as_string(d.get("source_type")).unwrap_or_default(),
                source: as_string(d.get("source")).unwrap_or_default(),
                context: itags.get("mlflow.data.context").cloned(),
            })
        })
        .collect();
    let status = as_string(info.get("status"));
    Ok(Run {
        info: RunInfo {
            run_name: as_string(info.get("run_name"))
                .or_else(|| tags.get(crate::store::tracking::TAG_RUN_NAME).cloned())
                .unwrap_or_default(),
            experiment_id: as_string(info.get("experiment_id")).unwrap_or_default(),
            status: status
                .as_deref()
                .and_then(RunStatus::parse)
                .unwrap_or(RunStatus::Running),
            start_time: as_i64(info.get("start_time")),
            end_time: as_i64(info.get("end_time")),
            artifact_uri: as_string(info.get("artifact_uri")).unwrap_or_default(),
            user_id: as_string(info.get("user_id")).unwrap_or_default(),
            run_id,
        },
        params: kv_list(data.and_then(|d| d.get("params"))),
        metrics,
        tags,
        inputs,
    })
}

/// The `metrics` list of a run's or a logged model's `data`.
fn parse_metrics(api: &str, data: Option<&Value>) -> Result<Vec<Metric>, TrackingError> {
    data.and_then(|d| d.get("metrics"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| parse_metric(api, m))
        .collect()
}

pub(super) fn parse_metric(api: &str, m: &Value) -> Result<Metric, TrackingError> {
    let key = as_string(m.get("key")).ok_or_else(|| bad(api, "metric without key"))?;
    let value = m
        .get("value")
        .and_then(parse_metric_value)
        .ok_or_else(|| bad(api, format!("metric {key:?} without a readable value")))?;
    Ok(Metric {
        key,
        value,
        timestamp: as_i64(m.get("timestamp")).unwrap_or(0),
        step: as_i64(m.get("step")).unwrap_or(0),
    })
}

pub(super) fn parse_version(api: &str, v: &Value) -> Result<ModelVersion, TrackingError> {
    Ok(ModelVersion {
        name: as_string(v.get("name")).ok_or_else(|| bad(api, "version without name"))?,
        version: as_string(v.get("version")).ok_or_else(|| bad(api, "version without number"))?,
        run_id: as_string(v.get("run_id")).filter(|s| !s.is_empty()),
        source: as_string(v.get("source")).unwrap_or_default(),
        status: as_string(v.get("status")).unwrap_or_default(),
        aliases: v
            .get("aliases")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| as_string(Some(x))).collect())
            .unwrap_or_default(),
        tags: kv_list(v.get("tags")),
        creation_timestamp: as_i64(v.get("creation_timestamp")),
        model_id: as_string(v.get("model_id")).filter(|s| !s.is_empty()),
    })
}

/// A `LoggedModel` object (`{info: {...}, data: {params, metrics}}`).
pub(super) fn parse_logged_model(api: &str, v: &Value) -> Result<LoggedModel, TrackingError> {
    let info = v
        .get("info")
        .ok_or_else(|| bad(api, "logged model without info"))?;
    let data = v.get("data");
    let status = as_string(info.get("status"));
    let metrics = parse_metrics(api, data)?
        .into_iter()
        .map(|m| (m.key, m.value))
        .collect();
    Ok(LoggedModel {
        model_id: as_string(info.get("model_id"))
            .ok_or_else(|| bad(api, "logged model without model_id"))?,
        experiment_id: as_string(info.get("experiment_id")).unwrap_or_default(),
        name: as_string(info.get("name")).unwrap_or_default(),
        artifact_uri: as_string(info.get("artifact_uri")).unwrap_or_default(),
        source_run_id: as_string(info.get("source_run_id")).filter(|s| !s.is_empty()),
        status: status
            .as_deref()
            .and_then(LoggedModelStatus::parse)
            .ok_or_else(|| bad(api, format!("logged model status {status:?}")))?,
        params: kv_list(data.and_then(|d| d.get("params"))),
        tags: kv_list(info.get("tags")),
        metrics,
    })
}
