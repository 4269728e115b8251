//! `adsales reconcile`: reconciliation as a tool of its own, for base forecasts made anywhere,
//! in hierarchicalforecast's file shapes (`models::reconcile` does the arithmetic).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use nalgebra::DMatrix;

use crate::models::reconcile::{
    Insample, METHODS, Method, Structure, reconcile, reconcile_nonnegative,
};
use crate::util::error::InputError;

/// `adsales reconcile`'s arguments.
#[derive(clap::Args, Debug)]
#[command(after_help = "Methods: bottom_up, top_down:forecast_proportions, \
top_down:average_proportions, top_down:proportion_averages, min_trace:ols, \
min_trace:wls_struct, min_trace:wls_var, min_trace:mint_cov, min_trace:mint_shrink. \
top_down:{average_proportions,proportion_averages} need --insample with y; \
min_trace:{wls_var,mint_cov,mint_shrink} need --insample with y and the fitted values.")]
pub struct ReconcileArgs {
    /// Base forecasts: `unique_id,ds,<one column per model>`, every node of the structure over
    /// the same days.
    #[arg(long, value_name = "F.csv")]
    pub forecasts: PathBuf,
    /// Summing matrix: `unique_id` then one 0/1 column per bottom series; one row per node,
    /// bottom rows last.
    #[arg(long, value_name = "S.csv")]
    pub structure: PathBuf,
    /// Reconciliation method (see below).
    #[arg(long, value_name = "M")]
    pub method: String,
    /// In-sample values and fitted values: `unique_id,ds,y,<the same model columns>`.
    #[arg(long, value_name = "I.csv")]
    pub insample: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Constrain the bottom series to be non-negative (min_trace methods; negative base
    /// forecasts count as zero), as hierarchicalforecast's `MinTrace(nonnegative=True)`.
    #[arg(long)]
    pub nonnegative: bool,
}

/// In-sample actuals (nodes × days) and, per model column, its fitted values.
type InsampleData = (DMatrix<f64>, Vec<DMatrix<f64>>);

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

/// A file of `unique_id,ds,<value columns>` rows, in file order.
struct Table {
    columns: Vec<String>,
    rows: Vec<(String, String, Vec<f64>)>,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> anyhow::Error {
    InputError::new(format!("{}: {msg}", path.display())).into()
}

fn read_table(path: &Path, first: &[&str]) -> Result<Table> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(path, format!("cannot read: {e}")))?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(path, e))?
        .iter()
        .map(String::from)
        .collect();
    for (i, want) in first.iter().enumerate() {
        if header.get(i).map(String::as_str) != Some(want) {
            return Err(bad(
                path,
                format!(
                    "column {} must be `{want}` (header: {})",
                    i + 1,
                    header.join(",")
                ),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(bad(
            path,
            format!("column `{d}` appears twice in the header"),
        ));
    }
    let columns = header[first.len().min(header.len())..].to_vec();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(path, e))?;
        // The file's own line number (blank lines are skipped by the reader).
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != header.len() {
            return Err(bad(
                path,
                format!(
                    "row {line}: {} fields, the header has {}",
                    rec.len(),
                    header.len()
                ),
            ));
        }
        let values = (first.len()..rec.len())
            .map(|c| {
                rec[c]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        bad(
                            path,
                            format!(
                                "row {line}, column `{}`: `{}` is not a finite number",
                                header[c], &rec[c]
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let ds = if first.len() > 1 {
            rec[1].to_string()
        } else {
            String::new()
        };
        rows.push((rec[0].to_string(), ds, values));
    }
    if rows.is_empty() {
        return Err(bad(path, "no rows"));
    }
    Ok(Table { columns, rows })
}

fn read_structure(path: &Path) -> Result<Structure> {
    let t = read_table(path, &["unique_id"])?;
    let ids: Vec<String> = t.rows.iter().map(|r| r.0.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(bad(path, format!("unique_id `{d}` appears twice")));
    }
    let m = t.columns.len();
    if ids.len() < m {
        return Err(bad(
            path,
            format!("{} rows cannot hold {m} bottom series", ids.len()),
        ));
    }
    // The bottom columns name the bottom rows, in the same order.
    if let Some((col, id)) = t
        .columns
        .iter()
        .zip(&ids[ids.len() - m..])
        .find(|(c, i)| c != i)
    {
        return Err(bad(
            path,
            format!(
                "bottom column `{col}` must be named after its bottom row `{id}` (the last rows, in column order)"
            ),
        ));
    }
    let s = DMatrix::from_fn(ids.len(), m, |i, j| t.rows[i].2[j]);
    Structure::new(ids, s).map_err(|e| bad(path, e))
}

/// Each name's position.
fn positions(names: &[String]) -> HashMap<&str, usize> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect()
}

/// One matrix per value column (nodes in the structure's order × days), and the days.
fn by_node(path: &Path, t: &Table, st: &Structure) -> Result<(Vec<DMatrix<f64>>, Vec<String>)> {
    let index = positions(&st.ids);
    let mut days: Vec<String> = Vec::new();
    let mut cells: HashMap<(usize, &str), &Vec<f64>> = HashMap::new();
    for (k, (id, ds, values)) in t.rows.iter().enumerate() {
        let node = *index.get(id.as_str()).ok_or_else(|| {
            bad(
                path,
                format!("row {}: unique_id `{id}` is not in the structure", k + 2),
            )
        })?;
        if cells.insert((node, ds.as_str()), values).is_some() {
            return Err(bad(
                path,
                format!("row {}: `{id}` on {ds} appears twice", k + 2),
            ));
        }
        if !days.contains(ds) {
            days.push(ds.clone());
        }
    }
    for (i, id) in st.ids.iter().enumerate() {
        if let Some(d) = days.iter().find(|d| !cells.contains_key(&(i, d.as_str()))) {
            return Err(bad(path, format!("`{id}` has no row for {d}")));
        }
    }
    let mats = (0..t.columns.len())
        .map(|c| {
            DMatrix::from_fn(st.ids.len(), days.len(), |i, h| {
                cells[&(i, days[h].as_str())][c]
            })
        })
        .collect();
    Ok((mats, days))
}

impl ReconcileArgs {
    pub fn execute(&self, g: super::Global) -> Result<()> {
        crate::util::logging::init(g.verbosity, None);
        let method = Method::parse(&self.method).ok_or_else(|| {
            InputError::new(format!(
                "--method `{}` is not a method; one of: {}",
                self.method,
                METHODS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let st = read_structure(&self.structure)?;
        let f = read_table(&self.forecasts, &["unique_id", "ds"])?;
        if f.columns.is_empty() {
            return Err(bad(&self.forecasts, "no model columns after unique_id,ds"));
        }
        let (base, days) = by_node(&self.forecasts, &f, &st)?;
        let insample = self.insample(method, &st, &f.columns)?;
        let mut out = Vec::new();
        for (c, y_hat) in base.iter().enumerate() {
            let ins = insample.as_ref().map(|(y, fitted)| Insample {
                y,
                fitted: fitted.get(c),
            });
            let r = if self.nonnegative {
                reconcile_nonnegative(&st, y_hat, ins.as_ref(), method)
            } else {
                reconcile(&st, y_hat, ins.as_ref(), method)
            }
            .map_err(|e| InputError::new(format!("model column `{}`: {e}", f.columns[c])))?;
            out.push(r);
        }
        let index = positions(&st.ids);
        let day = positions(&days);
        let value = |id: &str, ds: &str, c: usize| out[c][(index[id], day[ds])];
        let text = match self.format {
            Format::Csv => {
                // The csv writer quotes ids and column names that need it.
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut header = vec!["unique_id".to_string(), "ds".to_string()];
                header.extend(f.columns.iter().cloned());
                w.write_record(&header)?;
                for (id, ds, _) in &f.rows {
                    let mut rec = vec![id.clone(), ds.clone()];
                    rec.extend((0..f.columns.len()).map(|c| value(id, ds, c).to_string()));
                    w.write_record(&rec)?;
                }
                String::from_utf8(w.into_inner()?)?
            }
            Format::Json => {
                // Written by hand so each record keeps F.csv's column order.
                let q = |v: &str| serde_json::Value::from(v).to_string();
                let records: Vec<String> = f
                    .rows
                    .iter()
                    .map(|(id, ds, _)| {
                        let mut fields = vec![
                            format!("\"unique_id\": {}", q(id)),
                            format!("\"ds\": {}", q(ds)),
                        ];
                        for (c, name) in f.columns.iter().enumerate() {
                            fields.push(format!(
                                "{}: {}",
                                q(name),
                                serde_json::Value::from(value(id, ds, c))
                            ));
                        }
                        format!("  {{{}}}", fields.join(", "))
                    })
                    .collect();
                format!("[\n{}\n]\n", records.join(",\n"))
            }
        };
        match &self.output {
            Some(path) => crate::util::fsutil::write_atomic(path, text.as_bytes())
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?,
            None => print!("{text}"),
        }
        Ok(())
    }

    /// The in-sample actuals and, per model column, fitted values, when the method reads them.
    fn insample(
        &self,
        method: Method,
        st: &Structure,
        models: &[String],
    ) -> Result<Option<InsampleData>> {
        if !method.needs_insample() {
            return Ok(None);
        }
        let path = self.insample.as_ref().ok_or_else(|| {
            InputError::new(format!(
                "--method {} needs --insample (unique_id,ds,y,<model columns>)",
                self.method
            ))
        })?;
        let t = read_table(path, &["unique_id", "ds"])?;
        if t.columns.first().map(String::as_str) != Some("y") {
            return Err(bad(path, "column 3 must be `y` (the in-sample actuals)"));
        }
        let (mut mats, _) = by_node(path, &t, st)?;
        let fitted = if method.needs_fitted() {
            models
                .iter()
                .map(|m| {
                    let c = t.columns.iter().skip(1).position(|x| x == m).map(|c| c + 1).ok_or_else(|| {
                        bad(path, format!("no fitted-value column `{m}` (the forecasts' model columns must be here too)"))
                    })?;
                    Ok(mats[c].clone())
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Some((mats.swap_remove(0), fitted)))
    }
}
