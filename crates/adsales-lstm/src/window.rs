//! Windows over the scaled frame: inputs are `seq_len` consecutive rows of every column (the
//! target included), labels the next `horizon` target values.
//!
//! A window is named by the row `t` it ends at (its origin). Its label rows are `t+1..=t+horizon`;
//! rows at or past the window set's `label_end` are *masked* (label 0, mask 0) rather than the
//! window being dropped, so short horizons keep every window that has at least one label in its
//! split. Losses and conformal residuals only ever read masked-in steps, so no window ever
//! learns from or is scored on a target outside its split:
//! - training windows: every label row < `train_end`;
//! - validation windows: every label row in `train_end..val_end` (inputs may reach back into train).

use std::ops::Range;

use adsales::models::Frame;

/// A set of windows as flat row-major f32 buffers, ready to become tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// Origin row of each window (last input row).
    pub ends: Vec<usize>,
    pub seq_len: usize,
    pub n_features: usize,
    pub horizon: usize,
    /// (n, seq_len, n_features)
    pub x: Vec<f32>,
    /// (n, horizon), 0 where masked.
    pub y: Vec<f32>,
    /// (n, horizon), 1 where the label row is inside the split.
    pub mask: Vec<f32>,
    /// Known drivers read per forecast day.
    pub known: usize,
    /// (n, horizon, known): the drivers' values on the label rows, 0 where masked.
    pub future: Vec<f32>,
}

impl Windows {
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Origins of training windows: full input window, first label row < `train_end`.
pub fn train_origins(seq_len: usize, train_end: usize) -> Range<usize> {
    seq_len.saturating_sub(1)..train_end.saturating_sub(1)
}

/// Origins of validation windows: first label row in `train_end..val_end`.
pub fn val_origins(seq_len: usize, train_end: usize, val_end: usize) -> Range<usize> {
    let start = train_end.saturating_sub(1).max(seq_len.saturating_sub(1));
    start..val_end.saturating_sub(1).max(start)
}

/// The flat input window (seq_len × n_features) ending at row `end`; `None` if it would start
/// before row 0 or `end` is past the frame.
pub fn input_window(frame: &Frame, end: usize, seq_len: usize) -> Option<Vec<f32>> {
    if end + 1 < seq_len || end >= frame.len() {
        return None;
    }
    let start = end + 1 - seq_len;
    let mut x = Vec::with_capacity(seq_len * frame.cols.len());
    for i in start..=end {
        x.extend(frame.cols.iter().map(|c| c[i] as f32));
    }
    Some(x)
}

/// Windows ending at each row of `origins`, labels masked at rows `>= label_end`.
/// `label_end` must be ≤ `frame.len()`; origins whose input window does not fit are skipped.
pub fn build(
    frame: &Frame,
    origins: Range<usize>,
    label_end: usize,
    seq_len: usize,
    horizon: usize,
) -> Windows {
    build_with_known(frame, origins, label_end, seq_len, horizon, &[])
}

/// [`build`], with the values of the columns `known_cols` on each window's label rows (the
/// known drivers of its forecast days). Like the labels they stop at `label_end`: a window
/// reads no row of a later split.
pub fn build_with_known(
    frame: &Frame,
    origins: Range<usize>,
    label_end: usize,
    seq_len: usize,
    horizon: usize,
    known_cols: &[usize],
) -> Windows {
    let target = frame.target();
    let label_end = label_end.min(frame.len());
    let mut w = Windows {
        ends: Vec::new(),
        seq_len,
        n_features: frame.cols.len(),
        horizon,
        x: Vec::new(),
        y: Vec::new(),
        mask: Vec::new(),
        known: known_cols.len(),
        future: Vec::new(),
    };
    for t in origins {
        let Some(x) = input_window(frame, t, seq_len) else {
            continue;
        };
        w.ends.push(t);
        w.x.extend(x);
        let inside = (t + 1 + horizon).min(label_end).saturating_sub(t + 1);
        w.y.extend(target[t + 1..t + 1 + inside].iter().map(|&v| v as f32));
        w.mask.extend(std::iter::repeat_n(1.0, inside));
        w.y.extend(std::iter::repeat_n(0.0, horizon - inside));
        w.mask.extend(std::iter::repeat_n(0.0, horizon - inside));
        for r in t + 1..t + 1 + horizon {
            for &c in known_cols {
                w.future.push(if r < label_end {
                    frame.cols[c][r] as f32
                } else {
                    0.0
                });
            }
        }
    }
    w
}
