//! The frame models see: daily rows of named numeric columns, one of them the target.

use std::ops::Range;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A daily frame of named numeric columns (column-major), in the space models work in (scaled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub dates: Vec<NaiveDate>,
    pub names: Vec<String>,
    /// `cols[j][i]` = value of column `names[j]` on `dates[i]`.
    pub cols: Vec<Vec<f64>>,
    /// Name of the target column (one of `names`).
    pub target: String,
}

impl Frame {
    pub fn len(&self) -> usize {
        self.dates.len()
    }
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
    pub fn col(&self, name: &str) -> Option<&[f64]> {
        self.index_of(name).map(|j| self.cols[j].as_slice())
    }
    /// The target column.
    pub fn target(&self) -> &[f64] {
        self.col(&self.target)
            .expect("Frame invariant: target column present")
    }
    /// Rows `range` as a new frame.
    pub fn rows(&self, range: Range<usize>) -> Frame {
        Frame {
            dates: self.dates[range.clone()].to_vec(),
            names: self.names.clone(),
            cols: self
                .cols
                .iter()
                .map(|c| c[range.clone()].to_vec())
                .collect(),
            target: self.target.clone(),
        }
    }
}
