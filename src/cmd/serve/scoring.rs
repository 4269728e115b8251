//! MLflow's scoring protocol, as `mlflow models serve` speaks it in MLflow 3.x: request bodies
//! (JSON in one of four shapes, or CSV) → a [`Table`] of input rows and the request's
//! [`Params`]; errors as MLflow's JSON (`error_code`, `message`). Pure functions of the bytes,
//! so every case is a unit test.

use serde_json::{Map, Value};

/// The JSON input shapes MLflow accepts; a body holds exactly one.
pub const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "inputs",
    "instances",
];
/// The request params a model of ours takes.
pub const PARAM_KEYS: [&str; 3] = ["days", "level", "segment"];
/// The longest horizon one request may ask for (a year and a day): bounds the work a request
/// can cause.
pub const MAX_DAYS: usize = 366;

/// A request that cannot be scored, with the HTTP status and MLflow error code it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ScoringError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ScoringError {
            status,
            code,
            message: message.into(),
        }
    }
    /// 400 `BAD_REQUEST`: the body's form is wrong.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(400, "BAD_REQUEST", message)
    }
    /// 400 `INVALID_PARAMETER_VALUE`: a value is wrong for this model.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "INVALID_PARAMETER_VALUE", message)
    }
    /// The JSON body MLflow's scoring server answers errors with.
    pub fn body(&self) -> String {
        serde_json::json!({"error_code": self.code, "message": self.message}).to_string()
    }
}

/// One cell of an input row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A JSON value, typed by the client.
    Json(Value),
    /// A CSV field: text that is read as whatever its column needs.
    Text(String),
}

/// Input rows: column names and, per row, one cell per column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The request's optional params.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub days: Option<usize>,
    pub level: Option<f64>,
    pub segment: Option<String>,
}

/// A parsed request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scoring {
    pub table: Table,
    pub params: Params,
}

/// The body's media type, checked: `application/json` or `text/csv`, UTF-8 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    Json,
    Csv,
}

impl ContentType {
    /// Reads a `Content-Type` header value; anything else is 415, as in MLflow.
    pub fn parse(header: Option<&str>) -> Result<ContentType, ScoringError> {
        let unsupported = |what: String| {
            ScoringError::new(
                415,
                "BAD_REQUEST",
                format!(
                    "{what}; this server accepts application/json and text/csv (charset utf-8)"
                ),
            )
        };
        let Some(h) = header else {
            return Err(unsupported("the request has no Content-Type".into()));
        };
        let mut parts = h.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.trim().eq_ignore_ascii_case("charset")
            {
                let v = v.trim().trim_matches('"');
                if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                    return Err(unsupported(format!("charset {v} is not supported")));
                }
            }
        }
        match media.as_str() {
            "application/json" => Ok(ContentType::Json),
            "text/csv" => Ok(ContentType::Csv),
            _ => Err(unsupported(format!("content type {h:?} is not supported"))),
        }
    }
}

/// Parses a body of the given type.
pub fn parse(kind: ContentType, body: &[u8]) -> Result<Scoring, ScoringError> {
    match kind {
        ContentType::Json => parse_json(body),
        ContentType::Csv => Ok(Scoring {
            table: parse_csv(body)?,
            params: Params::default(),
        }),
    }
}

/// A JSON body: an object with exactly one of [`INPUT_KEYS`] and optionally `params`.
pub fn parse_json(body: &[u8]) -> Result<Scoring, ScoringError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ScoringError::bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(mut obj) = v else {
        return Err(ScoringError::bad(format!(
            "the body must be a JSON object with exactly one of {}, got {}",
            INPUT_KEYS.join(", "),
            kind_of(&v)
        )));
    };
    let present: Vec<&str> = INPUT_KEYS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    if present.len() != 1 {
        let got: Vec<&str> = obj.keys().map(String::as_str).collect();
        return Err(ScoringError::bad(format!(
            "the body must hold exactly one of {}; it has {}",
            INPUT_KEYS.join(", "),
            if got.is_empty() {
                "no keys".to_string()
            } else {
                format!("the keys {}", got.join(", "))
            }
        )));
    }
    if let Some(k) = obj
        .keys()
        .find(|k| !INPUT_KEYS.contains(&k.as_str()) && k.as_str() != "params")
    {
        return Err(ScoringError::bad(format!(
            "unknown key `{k}` in the body; it takes one of {} and optionally params",
            INPUT_KEYS.join(", ")
        )));
    }
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Params::default(),
        Some(p) => parse_params(p)?,
    };
    let key = present[0];
    let input = obj.remove(key).expect("present");
    let table = match key {
        "dataframe_split" => split_table(input)?,
        "dataframe_records" => records_table(key, input)?,
        // `inputs` and `instances` are the tensor shapes; for a table either is a list of
        // records or an object of columns.
        _ => match input {
            Value::Object(cols) => columns_table(key, cols)?,
            other => records_table(key, other)?,
        },
    };
    Ok(Scoring { table, params })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn parse_params(p: Value) -> Result<Params, ScoringError> {
    let Value::Object(p) = p else {
        return Err(ScoringError::bad(format!(
            "`params` must be an object, got {}",
            kind_of(&p)
        )));
    };
    let mut out = Params::default();
    for (k, v) in p {
        match k.as_str() {
            "days" => {
                let d = v.as_u64().filter(|d| (1..=MAX_DAYS as u64).contains(d));
                out.days = Some(d.ok_or_else(|| {
                    ScoringError::invalid(format!(
                        "params.days must be a whole number from 1 to {MAX_DAYS}, got {v}"
                    ))
                })? as usize);
            }
            "level" => {
                let l = v.as_f64().filter(|l| *l > 0.0 && *l < 1.0);
                out.level = Some(l.ok_or_else(|| {
                    ScoringError::invalid(format!(
                        "params.level must be a number between 0 and 1 (exclusive), got {v}"
                    ))
                })?);
            }
            "segment" => match v {
                Value::String(s) => out.segment = Some(s),
                Value::Null => {}
                other => {
                    return Err(ScoringError::invalid(format!(
                        "params.segment must be a string such as \"platform=TikTok Ads\", got {}",
                        kind_of(&other)
                    )));
                }
            },
            _ => {
                return Err(ScoringError::invalid(format!(
                    "unknown param `{k}`; this server takes {}",
                    PARAM_KEYS.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

fn unique_columns(columns: Vec<String>, what: &str) -> Result<Vec<String>, ScoringError> {
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return Err(ScoringError::bad(format!(
                "{what}: column `{c}` appears twice"
            )));
        }
    }
    Ok(columns)
}

/// `{"columns": [...], "data": [[...], ...], "index": [...]}` (pandas' `orient="split"`).
fn split_table(v: Value) -> Result<Table, ScoringError> {
    let what = "dataframe_split";
    let Value::Object(mut o) = v else {
        return Err(ScoringError::bad(format!(
            "{what} must be an object with columns and data, got {}",
            kind_of(&v)
        )));
    };
    if let Some(k) = o
        .keys()
        .find(|k| !matches!(k.as_str(), "columns" | "data" | "index"))
    {
        return Err(ScoringError::bad(format!(
            "{what}: unknown key `{k}`; it takes columns, data and index"
        )));
    }
    let columns = match o.remove("columns") {
        Some(Value::Array(cs)) => cs
            .into_iter()
            .enumerate()
            .map(|(i, c)| match c {
                Value::String(s) => Ok(s),
                other => Err(ScoringError::bad(format!(
                    "{what}.columns[{i}] must be a string, got {}",
                    kind_of(&other)
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
        Some(other) => {
            return Err(ScoringError::bad(format!(
                "{what}.columns must be a list of names, got {}",
                kind_of(&other)
            )));
        }
    };
    let columns = unique_columns(columns, what)?;
    let data = match o.remove("data") {
        Some(Value::Array(rows)) => rows,
        None => Vec::new(),
        Some(other) => {
            return Err(ScoringError::bad(format!(
                "{what}.data must be a list of rows, got {}",
                kind_of(&other)
            )));
        }
    };
    if let Some(index) = o.get("index")
        && !index.is_array()
    {
        return Err(ScoringError::bad(format!(
            "{what}.index must be a list, got {}",
            kind_of(index)
        )));
    }
    let mut rows = Vec::with_capacity(data.len());
    for (i, r) in data.into_iter().enumerate() {
        let Value::Array(cells) = r else {
            return Err(ScoringError::bad(format!(
                "{what}.data[{i}] must be a list of values, got {}",
                kind_of(&r)
            )));
        };
        if cells.len() != columns.len() {
            return Err(ScoringError::bad(format!(
                "{what}.data[{i}] has {} values for {} columns",
                cells.len(),
                columns.len()
            )));
        }
        rows.push(cells.into_iter().map(Cell::Json).collect());
    }
    Ok(Table { columns, rows })
}

/// `[{"date": ..., "ad_spend": ...}, ...]`: every record must name the same columns.
fn records_table(what: &str, v: Value) -> Result<Table, ScoringError> {
    let Value::Array(recs) = v else {
        return Err(ScoringError::bad(format!(
            "{what} must be a list of records (objects), got {}",
            kind_of(&v)
        )));
    };
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::with_capacity(recs.len());
    for (i, r) in recs.into_iter().enumerate() {
        let Value::Object(mut rec) = r else {
            return Err(ScoringError::bad(format!(
                "{what}[{i}] must be an object of column values, got {}",
                kind_of(&r)
            )));
        };
        if i == 0 {
            columns = rec.keys().cloned().collect();
        } else if let Some(k) = rec.keys().find(|k| !columns.contains(k)) {
            return Err(ScoringError::bad(format!(
                "{what}[{i}] has column `{k}`, which record 0 lacks"
            )));
        }
        let mut row = Vec::with_capacity(columns.len());
        for c in &columns {
            let v = rec
                .remove(c)
                .ok_or_else(|| ScoringError::bad(format!("{what}[{i}] lacks column `{c}`")))?;
            row.push(Cell::Json(v));
        }
        rows.push(row);
    }
    Ok(Table { columns, rows })
}

/// `{"date": [...], "ad_spend": [...]}`: columns of equal length.
fn columns_table(what: &str, cols: Map<String, Value>) -> Result<Table, ScoringError> {
    let mut columns = Vec::new();
    let mut values = Vec::new();
    for (k, v) in cols {
        let Value::Array(vs) = v else {
            return Err(ScoringError::bad(format!(
                "{what}.{k} must be a list of values, got {}",
                kind_of(&v)
            )));
        };
        if let Some(first) = values.first().map(Vec::len)
            && vs.len() != first
        {
            return Err(ScoringError::bad(format!(
                "{what}: column `{k}` has {} values, `{}` has {first}",
                vs.len(),
                columns[0]
            )));
        }
        columns.push(k);
        values.push(vs);
    }
    let n = values.first().map_or(0, Vec::len);
    let mut iters: Vec<_> = values.into_iter().map(Vec::into_iter).collect();
    let rows = (0..n)
        .map(|_| {
            iters
                .iter_mut()
                .map(|it| Cell::Json(it.next().expect("equal lengths")))
                .collect()
        })
        .collect();
    Ok(Table { columns, rows })
}

/// A CSV body with a header row, read as `pd.read_csv` would (UTF-8, comma-separated).
pub fn parse_csv(body: &[u8]) -> Result<Table, ScoringError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ScoringError::bad(format!("the CSV body is not UTF-8: {e}")))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = rdr
        .headers()
        .map_err(|e| ScoringError::bad(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(String::from)
        .collect();
    let columns = unique_columns(columns, "the CSV header")?;
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        // Line 1 is the header.
        let line = i + 2;
        let rec = rec.map_err(|e| ScoringError::bad(format!("CSV line {line}: {e}")))?;
        if rec.len() != columns.len() {
            return Err(ScoringError::bad(format!(
                "CSV line {line} has {} fields for {} columns",
                rec.len(),
                columns.len()
            )));
        }
        rows.push(rec.iter().map(|f| Cell::Text(f.to_string())).collect());
    }
    Ok(Table { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> Result<Scoring, ScoringError> {
        parse_json(s.as_bytes())
    }
    fn cells(t: &Table) -> Vec<Vec<String>> {
        t.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Json(v) => v.to_string(),
                        Cell::Text(s) => s.clone(),
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_four_json_shapes_give_the_same_table() {
        let want = vec![
            vec!["\"2026-01-01\"".to_string(), "10.5".to_string()],
            vec!["\"2026-01-02\"".to_string(), "11".to_string()],
        ];
        for body in [
            r#"{"dataframe_split": {"columns": ["date", "ad_spend"], "data": [["2026-01-01", 10.5], ["2026-01-02", 11]], "index": [0, 1]}}"#,
            r#"{"dataframe_records": [{"date": "2026-01-01", "ad_spend": 10.5}, {"ad_spend": 11, "date": "2026-01-02"}]}"#,
            r#"{"inputs": {"date": ["2026-01-01", "2026-01-02"], "ad_spend": [10.5, 11]}}"#,
            r#"{"instances": [{"date": "2026-01-01", "ad_spend": 10.5}, {"date": "2026-01-02", "ad_spend": 11}]}"#,
        ] {
            let s = json(body).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            // Object keys come in any order (serde_json sorts them); rows follow the columns.
            let mut cols = s.table.columns.clone();
            cols.sort();
            assert_eq!(cols, ["ad_spend", "date"], "{body}");
            let by_name: Vec<Vec<String>> = cells(&s.table)
                .into_iter()
                .map(|r| {
                    ["date", "ad_spend"]
                        .iter()
                        .map(|c| r[s.table.columns.iter().position(|x| x == c).unwrap()].clone())
                        .collect()
                })
                .collect();
            assert_eq!(by_name, want, "{body}");
        }
    }

    #[test]
    fn params_are_read_and_checked() {
        let s = json(r#"{"inputs": [], "params": {"days": 14, "level": 0.8}}"#).unwrap();
        assert_eq!(s.params.days, Some(14));
        assert_eq!(s.params.level, Some(0.8));
        assert!(s.table.rows.is_empty());
        for (body, needle) in [
            (r#"{"inputs": [], "params": {"days": 0}}"#, "params.days"),
            (r#"{"inputs": [], "params": {"days": 2.5}}"#, "params.days"),
            (
                r#"{"inputs": [], "params": {"days": 367}}"#,
                "from 1 to 366",
            ),
            (r#"{"inputs": [], "params": {"level": 1}}"#, "params.level"),
            (
                r#"{"inputs": [], "params": {"horizon": 3}}"#,
                "unknown param `horizon`",
            ),
            (
                r#"{"inputs": [], "params": [1]}"#,
                "`params` must be an object",
            ),
        ] {
            let e = json(body).unwrap_err();
            assert_eq!(e.status, 400, "{body}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    #[test]
    fn malformed_bodies_are_400_with_a_reason() {
        for (body, needle) in [
            ("{", "not valid JSON"),
            ("[1, 2]", "got a list"),
            ("{}", "it has no keys"),
            (
                r#"{"inputs": [], "instances": []}"#,
                "the keys inputs, instances",
            ),
            (r#"{"inputs": [], "extra": 1}"#, "unknown key `extra`"),
            (
                r#"{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}"#,
                "has 2 values for 1 columns",
            ),
            (
                r#"{"dataframe_split": {"columns": ["a", "a"], "data": []}}"#,
                "appears twice",
            ),
            (r#"{"dataframe_split": [1]}"#, "must be an object"),
            (
                r#"{"dataframe_records": [{"a": 1}, {"b": 2}]}"#,
                "which record 0 lacks",
            ),
            (
                r#"{"dataframe_records": [{"a": 1, "b": 1}, {"a": 2}]}"#,
                "lacks column `b`",
            ),
            (
                r#"{"dataframe_records": [1]}"#,
                "must be an object of column values",
            ),
            (r#"{"inputs": {"a": [1], "b": [1, 2]}}"#, "has 2 values"),
            (r#"{"inputs": 5}"#, "must be a list of records"),
        ] {
            let e = json(body).unwrap_err();
            assert_eq!((e.status, e.code), (400, "BAD_REQUEST"), "{body}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
            let back: Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!(back["error_code"], "BAD_REQUEST");
        }
    }

    #[test]
    fn csv_bodies_keep_their_text() {
        let t = parse_csv(b"date,ad_spend\n2026-01-01, 10.5\n2026-01-02,11\n").unwrap();
        assert_eq!(t.columns, ["date", "ad_spend"]);
        assert_eq!(cells(&t), [["2026-01-01", "10.5"], ["2026-01-02", "11"]]);
        let e = parse_csv(b"date,ad_spend\n2026-01-01\n").unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
        let e = parse_csv(b"date,ad_spend\n\xff,1\n").unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
    }

    #[test]
    fn content_types_are_checked_as_mlflow_does() {
        assert_eq!(
            ContentType::parse(Some("application/json")).unwrap(),
            ContentType::Json
        );
        assert_eq!(
            ContentType::parse(Some("Application/JSON; charset=UTF-8")).unwrap(),
            ContentType::Json
        );
        assert_eq!(
            ContentType::parse(Some("text/csv; charset=utf-8")).unwrap(),
            ContentType::Csv
        );
        for h in [
            None,
            Some("text/plain"),
            Some("application/json; charset=latin-1"),
            Some("application/x-www-form-urlencoded"),
        ] {
            assert_eq!(ContentType::parse(h).unwrap_err().status, 415, "{h:?}");
        }
    }
}
