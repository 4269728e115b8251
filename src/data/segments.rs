//! Segments (protocol §1, issue 15): the levels of `segments:` over the raw columns, the
//! summing structure they span, and one daily series per node.
//!
//! Every node is the sum of the bottom series under it. A day on which a segment has no rows
//! is **zero** for that segment (no campaign ran that day); only the total keeps
//! `data.fill_missing`, so the total's history can differ from the sum of its segments on
//! days with no rows at all (forecasts are reconciled, histories are not).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::config::DataConfig;
use super::daily::{Daily, input_err};
use super::read;
use crate::util::error::{ConfigKeys, InputError};

/// `segments:` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SegmentsFile {
    /// Column lists, one per level: `[]` is the total, `[platform]` one node per platform,
    /// `[platform, country]` one per pair present in the data.
    pub levels: Vec<Vec<String>>,
    /// The families of every node's grid (default: the top-level `families` but `lstm`,
    /// plus `intermittent`).
    #[serde(default)]
    pub families: Option<Vec<crate::models::Family>>,
    /// `auto` (chosen by validation) or one method name (as `adsales reconcile --method`).
    #[serde(default)]
    pub reconcile: Option<String>,
    /// Reconciled forecasts never below zero (revenue cannot be negative).
    #[serde(default)]
    pub nonnegative: bool,
}

/// How the reconciliation method is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReconcileChoice {
    /// The method with the lowest validation error (see `cmd::train::segments`).
    Auto,
    Fixed(crate::models::reconcile::Method),
}

/// The checked `segments:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Segments {
    /// The levels, coarsest first, the bottom (every named column) last.
    pub levels: Vec<Vec<String>>,
    /// Every named column, in order of first appearance: the bottom level's.
    pub bottom: Vec<String>,
    pub families: Vec<crate::models::Family>,
    pub reconcile: ReconcileChoice,
    /// Negative base forecasts count as zero, and MinTrace is solved with bottoms ≥ 0.
    pub nonnegative: bool,
}

impl SegmentsFile {
    pub fn check(
        &self,
        c: &ConfigKeys,
        data: &DataConfig,
        families: &[crate::models::Family],
    ) -> Result<Segments, InputError> {
        use crate::models::Family;
        c.non_empty("segments.levels", &self.levels)?;
        let mut bottom: Vec<String> = Vec::new();
        let mut seen_levels: Vec<Vec<String>> = Vec::new();
        for (i, level) in self.levels.iter().enumerate() {
            let key = format!("segments.levels[{i}]");
            let mut cols = HashSet::new();
            for col in level {
                c.name(&key, col)?;
                if !cols.insert(col.as_str()) {
                    return Err(c.err(&key, format!("column `{col}` is named twice")));
                }
                if *col == data.date_column || data.sum_columns.contains(col) {
                    return Err(c.err(
                        &key,
                        format!(
                            "`{col}` is the date or a summed column; segments are made of \
                             label columns (platform, campaign_type, country, ...)"
                        ),
                    ));
                }
                if !bottom.contains(col) {
                    bottom.push(col.clone());
                }
            }
            let mut sorted = level.clone();
            sorted.sort();
            if seen_levels.contains(&sorted) {
                return Err(c.err(&key, "repeats an earlier level (the same columns)"));
            }
            seen_levels.push(sorted);
        }
        if bottom.is_empty() {
            return Err(c.err(
                "segments.levels",
                "names no column; list at least one level such as [platform]",
            ));
        }
        // The bottom level is the finest combination named; it is added when not listed.
        let mut levels: Vec<Vec<String>> = self
            .levels
            .iter()
            .filter(|l| l.len() < bottom.len())
            .cloned()
            .collect();
        levels.sort_by_key(|l| l.len());
        levels.push(bottom.clone());
        let fams = match &self.families {
            Some(f) => {
                c.non_empty("segments.families", f)?;
                f.clone()
            }
            None => {
                let mut f: Vec<Family> = families
                    .iter()
                    .copied()
                    .filter(|f| *f != Family::Lstm)
                    .collect();
                if !f.contains(&Family::Intermittent) {
                    // Before the combination, which averages the others.
                    let at = f
                        .iter()
                        .position(|x| *x == Family::Combination)
                        .unwrap_or(f.len());
                    f.insert(at, Family::Intermittent);
                }
                f
            }
        };
        if fams.contains(&Family::Lstm) {
            return Err(c.err(
                "segments.families",
                "the lstm family does not run per segment yet; leave it out",
            ));
        }
        let reconcile = match self.reconcile.as_deref() {
            None | Some("auto") => ReconcileChoice::Auto,
            Some(name) => {
                let m = crate::models::reconcile::Method::parse(name).ok_or_else(|| {
                    c.err(
                        "segments.reconcile",
                        format!(
                            "unknown method `{name}`; expected auto or one of {}",
                            crate::models::reconcile::METHODS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                ReconcileChoice::Fixed(m)
            }
        };
        Ok(Segments {
            levels,
            bottom: bottom.clone(),
            families: fams,
            reconcile,
            nonnegative: self.nonnegative,
        })
    }
}

/// One node of the structure: a level and its columns' values.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// `total`, or the values joined with `/` (hierarchicalforecast's ids).
    pub id: String,
    /// Index into [`Segments::levels`].
    pub level: usize,
    /// (column, value) pairs of the level.
    pub key: Vec<(String, String)>,
}

/// Every node's daily series and the summing matrix (rows = nodes, bottom rows last).
#[derive(Debug, Clone)]
pub struct SegmentedData {
    pub nodes: Vec<Node>,
    pub dailies: Vec<Daily>,
    pub structure: crate::models::reconcile::Structure,
}

/// The name of a level in messages and tables.
pub fn level_name(level: &[String]) -> String {
    if level.is_empty() {
        "total".into()
    } else {
        level.join(" x ")
    }
}

/// Reads `path` once more, grouped by the bottom level's columns, and builds every node on
/// the calendar of `total` (the total series as `data::load` made it).
pub fn load(
    path: &Path,
    cfg: &DataConfig,
    seg: &Segments,
    total: &Daily,
) -> Result<SegmentedData, InputError> {
    let (rdr, header) = read::read_header(path, cfg)?;
    let (by_key, _rows) = read::sum_by_segment_day(path, cfg, rdr, &header, &seg.bottom)?;
    let first = total.dates[0];
    let n = total.len();
    let ncol = cfg.sum_columns.len();
    // Bottom series on the total's calendar, zero where the segment had no rows.
    let bottom_keys: Vec<&Vec<String>> = by_key.keys().collect();
    let mut bottom: Vec<Vec<Vec<f64>>> = Vec::with_capacity(bottom_keys.len());
    for (dates, cols) in by_key.values() {
        let mut full = vec![vec![0.0; n]; ncol];
        for (k, d) in dates.iter().enumerate() {
            let i = (*d - first).num_days() as usize;
            for (j, c) in cols.iter().enumerate() {
                full[j][i] = c[k];
            }
        }
        bottom.push(full);
    }
    let mut nodes = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (li, level) in seg.levels.iter().enumerate() {
        let pos: Vec<usize> = level
            .iter()
            .map(|c| {
                seg.bottom
                    .iter()
                    .position(|b| b == c)
                    .expect("bottom has it")
            })
            .collect();
        let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for (b, key) in bottom_keys.iter().enumerate() {
            let vals: Vec<String> = pos.iter().map(|&p| key[p].clone()).collect();
            groups.entry(vals).or_default().push(b);
        }
        for (vals, bs) in groups {
            let id = if vals.is_empty() {
                "total".to_string()
            } else {
                vals.join("/")
            };
            nodes.push(Node {
                id,
                level: li,
                key: level.iter().cloned().zip(vals).collect(),
            });
            members.push(bs);
        }
    }
    let mut ids: HashSet<&str> = HashSet::new();
    if let Some(dup) = nodes.iter().find(|n| !ids.insert(n.id.as_str())) {
        return Err(input_err(
            path,
            format!(
                "two segments get the id `{}` (values joined with `/`): a segment value contains \
                 `/`, or two levels share values",
                dup.id
            ),
        ));
    }
    let nb = bottom_keys.len();
    let s = DMatrix::from_fn(nodes.len(), nb, |i, j| {
        f64::from(u8::from(members[i].contains(&j)))
    });
    let structure =
        crate::models::reconcile::Structure::new(nodes.iter().map(|n| n.id.clone()).collect(), s)
            .map_err(|e| input_err(path, format!("segments: {e}")))?;
    let dailies = nodes
        .iter()
        .zip(&members)
        .map(|(node, bs)| {
            if node.key.is_empty() {
                return total.clone();
            }
            let mut cols = vec![vec![0.0; n]; ncol];
            for &b in bs {
                for (j, c) in cols.iter_mut().enumerate() {
                    for (x, v) in c.iter_mut().zip(&bottom[b][j]) {
                        *x += v;
                    }
                }
            }
            Daily {
                dates: total.dates.clone(),
                names: total.names.clone(),
                cols,
                is_filled: vec![false; n],
                raw_rows: 0,
            }
        })
        .collect();
    Ok(SegmentedData {
        nodes,
        dailies,
        structure,
    })
}

/// Days on which a series is zero (for the summary: how intermittent a node is).
pub fn zero_days(d: &Daily) -> usize {
    d.cols[0].iter().filter(|v| **v == 0.0).count()
}
