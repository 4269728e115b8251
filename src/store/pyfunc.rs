//! MLflow's `python_function` flavor for our bundles, without pickle: a small loader module in
//! the bundle's `code/` folder runs the `adsales` binary on the downloaded model folder, so
//! `mlflow.pyfunc.load_model("models:/NAME@ALIAS").predict(df)` and `mlflow models serve`
//! answer what `adsales infer` does. Beside it: the model's signature (inputs: the date and the
//! known drivers; outputs: the forecast columns; params: days, level) and an input example,
//! which MLflow's UI and serving read.

use std::path::Path;

use chrono::Duration;
use serde_json::json;

use crate::data::Daily;
use crate::models::ModelError;
use crate::store::bundle::{InputExampleInfo, MlflowParts, PyFuncEnv, PyFuncFlavor, Signature};
use crate::store::modelio::FeatureSpec;

/// The loader module MLflow imports (`code/adsales_pyfunc.py`).
pub const LOADER_MODULE: &str = "adsales_pyfunc";
const LOADER_SOURCE: &str = include_str!("../../assets/pyfunc/adsales_pyfunc.py");
pub const INPUT_EXAMPLE: &str = "input_example.json";
pub const SERVING_INPUT_EXAMPLE: &str = "serving_input_example.json";
const PYTHON_ENV: &str = "python_env.yaml";
const REQUIREMENTS: &str = "requirements.txt";
/// The MLflow release whose loaders and scoring server these files were checked with.
pub const MLFLOW_VERSION: &str = "3.17.2";

/// Writes the loader, its environment files and the input examples into `dir`, and returns
/// the MLmodel parts that point at them.
pub fn write_files(
    dir: &Path,
    spec: &FeatureSpec,
    history: &Daily,
) -> Result<MlflowParts, ModelError> {
    let put = |name: &str, bytes: &[u8]| crate::store::modelio::put_file(dir, name, bytes);
    put(
        &format!("code/{LOADER_MODULE}.py"),
        LOADER_SOURCE.as_bytes(),
    )?;
    put(
        PYTHON_ENV,
        b"python: '3.11'\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n",
    )?;
    put(
        REQUIREMENTS,
        format!("mlflow=={MLFLOW_VERSION}\npandas\n").as_bytes(),
    )?;
    let example = input_example(spec, history);
    put(INPUT_EXAMPLE, example.to_string().as_bytes())?;
    put(
        SERVING_INPUT_EXAMPLE,
        serde_json::to_string_pretty(&json!({ "dataframe_split": example }))
            .expect("serialises")
            .as_bytes(),
    )?;
    Ok(MlflowParts {
        python_function: PyFuncFlavor {
            loader_module: LOADER_MODULE.into(),
            code: "code".into(),
            env: PyFuncEnv {
                virtualenv: PYTHON_ENV.into(),
            },
            python_version: "3.11".into(),
        },
        signature: signature(spec),
        saved_input_example_info: InputExampleInfo {
            artifact_path: INPUT_EXAMPLE.into(),
            kind: "dataframe".into(),
            pandas_orient: "split".into(),
            serving_input_path: SERVING_INPUT_EXAMPLE.into(),
        },
    })
}

fn column(kind: &str, name: &str) -> serde_json::Value {
    json!({"type": kind, "name": name, "required": true})
}

/// Inputs: the date (text in the model's date format) and each known driver the model reads;
/// outputs: the forecast columns; params: days and level with the training config's defaults.
pub fn signature(spec: &FeatureSpec) -> Signature {
    let mut inputs = vec![column("string", &spec.date_column)];
    inputs.extend(spec.known_drivers().iter().map(|d| column("double", d)));
    let outputs = vec![
        column("string", "date"),
        column("double", &format!("predicted_{}", spec.target)),
        column("double", "lower"),
        column("double", "upper"),
    ];
    let params = json!([
        {"name": "days", "type": "long", "default": spec.forecast_days, "shape": null},
        {"name": "level", "type": "double", "default": spec.interval_level, "shape": null},
    ]);
    Signature {
        inputs: serde_json::Value::from(inputs).to_string(),
        outputs: serde_json::Value::from(outputs).to_string(),
        params: Some(params.to_string()),
    }
}

/// A plan for the `forecast_days` days after the history (pandas' `orient="split"`): each
/// known driver at its value on the same weekday of the last week.
pub fn input_example(spec: &FeatureSpec, history: &Daily) -> serde_json::Value {
    let drivers = spec.known_drivers();
    let last = *history.dates.last().expect("a history has days");
    let n = history.dates.len();
    let cols: Vec<Option<&Vec<f64>>> = drivers
        .iter()
        .map(|d| {
            history
                .names
                .iter()
                .position(|c| c == d)
                .map(|j| &history.cols[j])
        })
        .collect();
    let data: Vec<serde_json::Value> = (1..=spec.forecast_days)
        .map(|h| {
            let date = (last + Duration::days(h as i64))
                .format(&spec.date_format)
                .to_string();
            let mut row = vec![json!(date)];
            for c in &cols {
                // The same weekday one week (or more) before the forecast day.
                let back = 7 * h.div_ceil(7);
                let v = c
                    .and_then(|c| c.get((n + h).checked_sub(back + 1)?))
                    .copied();
                row.push(json!(v.unwrap_or(0.0)));
            }
            json!(row)
        })
        .collect();
    let mut columns = vec![spec.date_column.clone()];
    columns.extend(drivers);
    json!({"columns": columns, "data": data})
}
