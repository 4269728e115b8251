//! Temporal split and min-max scaling (protocol §3).

use serde::{Deserialize, Serialize};

use super::Frame;
use super::config::SplitRatios;
use crate::data::features::Features;

/// Row boundaries of the three segments: train `0..train_end`, val `train_end..val_end`,
/// test `val_end..n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train_end: usize,
    pub val_end: usize,
    pub n: usize,
}

impl Split {
    /// `n_train = floor(train·n)`, `n_val = floor(val·n)`, test = the rest.
    pub fn new(n: usize, r: SplitRatios) -> Split {
        // The tiny epsilon keeps e.g. 0.7 · 100 = 70.00000000000001 or 69.99999999999999
        // from flooring to the wrong side.
        let n_train = (r.train * n as f64 + 1e-9).floor() as usize;
        let n_val = (r.val * n as f64 + 1e-9).floor() as usize;
        Split {
            train_end: n_train,
            val_end: n_train + n_val,
            n,
        }
    }
    pub fn n_train(&self) -> usize {
        self.train_end
    }
    pub fn n_val(&self) -> usize {
        self.val_end - self.train_end
    }
    pub fn n_test(&self) -> usize {
        self.n - self.val_end
    }
}

/// Per-column min-max scaler fitted on the train rows only. A constant column (max = min)
/// maps to 0 on train and is shifted, never divided, so it inverts exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    pub columns: Vec<String>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

impl MinMaxScaler {
    /// Fits on rows `0..rows` of each column.
    pub fn fit(columns: &[String], cols: &[Vec<f64>], rows: usize) -> MinMaxScaler {
        let (mut min, mut max) = (Vec::new(), Vec::new());
        for c in cols {
            let train = &c[..rows.min(c.len())];
            min.push(train.iter().copied().fold(f64::INFINITY, f64::min));
            max.push(train.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        }
        MinMaxScaler {
            columns: columns.to_vec(),
            min,
            max,
        }
    }

    fn range(&self, j: usize) -> f64 {
        let r = self.max[j] - self.min[j];
        if r > 0.0 && r.is_finite() { r } else { 1.0 }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    pub fn transform_value(&self, j: usize, x: f64) -> f64 {
        (x - self.min[j]) / self.range(j)
    }

    pub fn inverse_value(&self, j: usize, s: f64) -> f64 {
        s * self.range(j) + self.min[j]
    }

    pub fn transform(&self, j: usize, x: &[f64]) -> Vec<f64> {
        x.iter().map(|&v| self.transform_value(j, v)).collect()
    }

    pub fn inverse(&self, j: usize, s: &[f64]) -> Vec<f64> {
        s.iter().map(|&v| self.inverse_value(j, v)).collect()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("scaler serialises")
    }

    pub fn from_json(text: &str) -> Result<MinMaxScaler, String> {
        let s: MinMaxScaler = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if s.min.len() != s.columns.len() || s.max.len() != s.columns.len() {
            return Err("columns, min and max must have the same length".into());
        }
        Ok(s)
    }
}

/// Everything the model stage needs: the scaled frame, the real-unit frame, the split and
/// the scaler.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub scaled: Frame,
    pub real: Frame,
    pub split: Split,
    pub scaler: MinMaxScaler,
}

impl Prepared {
    /// Index of the target column in the scaler.
    pub fn target_index(&self) -> usize {
        self.scaler
            .index_of(&self.real.target)
            .expect("target is scaled")
    }
}

/// `features` scaled column by column with `scaler`, which must have been fitted on the
/// same columns in the same order (training and inference both scale through here).
pub fn scale(features: &Features, scaler: &MinMaxScaler) -> Frame {
    assert_eq!(
        scaler.columns, features.names,
        "scaler fitted on other columns"
    );
    Frame {
        dates: features.dates.clone(),
        names: features.names.clone(),
        cols: (0..features.names.len())
            .map(|j| scaler.transform(j, &features.cols[j]))
            .collect(),
        target: features.target.clone(),
    }
}

/// Splits `features` in time and scales every column with a scaler fitted on train rows.
pub fn prepare(features: &Features, ratios: SplitRatios) -> Prepared {
    let split = Split::new(features.len(), ratios);
    let scaler = MinMaxScaler::fit(&features.names, &features.cols, split.train_end);
    prepare_with(features, split, scaler)
}

/// `features` in scaled and real units with a given `scaler` and `split` (training fits the
/// scaler; judging a saved model on new days uses the model's).
pub fn prepare_with(features: &Features, split: Split, scaler: MinMaxScaler) -> Prepared {
    let scaled = scale(features, &scaler);
    let real = Frame {
        dates: scaled.dates.clone(),
        names: scaled.names.clone(),
        cols: features.cols.clone(),
        target: scaled.target.clone(),
    };
    Prepared {
        scaled,
        real,
        split,
        scaler,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_floors_train_and_val() {
        let s = Split::new(
            100,
            SplitRatios {
                train: 0.7,
                val: 0.15,
                test: 0.15,
            },
        );
        assert_eq!((s.train_end, s.val_end, s.n_test()), (70, 85, 15));
        let s = Split::new(
            701,
            SplitRatios {
                train: 0.7,
                val: 0.15,
                test: 0.15,
            },
        );
        assert_eq!((s.n_train(), s.n_val(), s.n_test()), (490, 105, 106));
    }
}
