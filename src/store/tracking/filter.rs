//! The subset of MLflow's run search syntax the local store evaluates itself (the REST backend
//! passes the strings to the server untouched).
//!
//! Filter: clauses joined by `AND` (case-insensitive); each is `<entity>.<key> <op> <value>`:
//! - `params.k`, `tags.k` with `=`, `!=`, `LIKE`, `ILIKE` and a quoted string;
//! - `metrics.k` with `=`, `!=`, `<`, `<=`, `>`, `>=` and a number;
//! - `attributes.` (or `attribute.`/`run.`) `run_id`, `run_name`, `status`, `user_id` with
//!   string ops, `start_time`, `end_time` with number ops.
//!
//! Keys may be quoted with backticks or double quotes (`tags."mlflow.parentRunId"`).
//! Order: `<entity>.<key> [ASC|DESC]`; runs missing the key (or with a NaN metric) come last.

use std::cmp::Ordering;

use super::{Run, TrackingError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Param,
    Tag,
    Metric,
    Attr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    entity: Entity,
    key: String,
    op: Op,
    value: Value,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    clauses: Vec<Clause>,
}

fn bad(filter: &str, why: &str) -> TrackingError {
    TrackingError::Invalid(format!("run filter {filter:?}: {why}"))
}

fn parse_entity(s: &str) -> Option<Entity> {
    Some(match s.to_ascii_lowercase().as_str() {
        "params" | "param" | "parameter" | "parameters" => Entity::Param,
        "tags" | "tag" => Entity::Tag,
        "metrics" | "metric" => Entity::Metric,
        "attributes" | "attribute" | "attr" | "run" => Entity::Attr,
        _ => return None,
    })
}

/// Tokens: identifiers with dots, quoted strings, numbers, operators.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String, char),
    Op(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, TrackingError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let mut j = i + 1;
            let mut v = String::new();
            while j < chars.len() && chars[j] != c {
                v.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err(bad(s, "unterminated quote"));
            }
            out.push(Tok::Quoted(v, c));
            i = j + 1;
        } else if "=!<>".contains(c) {
            let mut op = c.to_string();
            if i + 1 < chars.len() && chars[i + 1] == '=' {
                op.push('=');
                i += 1;
            }
            if op == "!" {
                return Err(bad(s, "'!' must be '!='"));
            }
            out.push(Tok::Op(op));
            i += 1;
        } else {
            let mut j = i;
            let mut v = String::new();
            while j < chars.len() && !chars[j].is_whitespace() && !"=!<>'\"`".contains(chars[j]) {
                v.push(chars[j]);
                j += 1;
            }
            // `tags.`quoted key`` : a word ending in '.' followed by a quote is one identifier.
            if v.ends_with('.') && j < chars.len() && (chars[j] == '`' || chars[j] == '"') {
                let q = chars[j];
                let mut k = j + 1;
                while k < chars.len() && chars[k] != q {
                    v.push(chars[k]);
                    k += 1;
                }
                if k >= chars.len() {
                    return Err(bad(s, "unterminated quote"));
                }
                j = k + 1;
            }
            out.push(Tok::Word(v));
            i = j;
        }
    }
    Ok(out)
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, TrackingError> {
        let toks = tokenize(s)?;
        let mut clauses = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            if !clauses.is_empty() {
                match &toks[i] {
                    Tok::Word(w) if w.eq_ignore_ascii_case("and") => i += 1,
                    _ => return Err(bad(s, "clauses must be joined with AND")),
                }
            }
            let ident = match toks.get(i) {
                Some(Tok::Word(w)) => w.clone(),
                _ => return Err(bad(s, "expected <entity>.<key>")),
            };
            let (ent, key) = ident
                .split_once('.')
                .ok_or_else(|| bad(s, "expected <entity>.<key>"))?;
            let entity =
                parse_entity(ent).ok_or_else(|| bad(s, &format!("unknown entity {ent:?}")))?;
            let op = match toks.get(i + 1) {
                Some(Tok::Op(o)) => match o.as_str() {
                    "=" | "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    _ => return Err(bad(s, &format!("unknown operator {o:?}"))),
                },
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("ilike") => Op::ILike,
                _ => return Err(bad(s, "expected an operator")),
            };
            let value =
                match toks.get(i + 2) {
                    Some(Tok::Quoted(v, '\'' | '"')) => Value::Str(v.clone()),
                    Some(Tok::Word(w)) => Value::Num(w.parse::<f64>().map_err(|_| {
                        bad(s, &format!("value {w:?} is neither quoted nor a number"))
                    })?),
                    _ => return Err(bad(s, "expected a value")),
                };
            let numeric = entity == Entity::Metric
                || (entity == Entity::Attr && matches!(key, "start_time" | "end_time"));
            match (&value, numeric, op) {
                (Value::Num(_), true, Op::Like | Op::ILike) => {
                    return Err(bad(s, "LIKE needs a string"));
                }
                (Value::Str(_), true, _) => {
                    return Err(bad(s, &format!("{ident} compares with a number")));
                }
                (Value::Num(_), false, _) => {
                    return Err(bad(s, &format!("{ident} compares with a quoted string")));
                }
                (Value::Str(_), false, Op::Lt | Op::Le | Op::Gt | Op::Ge) => {
                    return Err(bad(s, "strings compare with =, !=, LIKE or ILIKE"));
                }
                _ => {}
            }
            if entity == Entity::Attr
                && !matches!(
                    key,
                    "run_id" | "run_name" | "status" | "user_id" | "start_time" | "end_time"
                )
            {
                return Err(bad(s, &format!("unknown attribute {key:?}")));
            }
            clauses.push(Clause {
                entity,
                key: key.to_string(),
                op,
                value,
            });
            i += 3;
        }
        Ok(Filter { clauses })
    }

    /// Whether a clause reads metrics (a run's metrics are its costliest part to load).
    pub fn reads_metrics(&self) -> bool {
        self.clauses.iter().any(|c| c.entity == Entity::Metric)
    }

    pub fn matches(&self, run: &Run) -> bool {
        self.clauses.iter().all(|c| clause_matches(c, run))
    }
}

fn attr_str(run: &Run, key: &str) -> Option<String> {
    Some(match key {
        "run_id" => run.info.run_id.clone(),
        "run_name" => run.info.run_name.clone(),
        "status" => run.info.status.as_str().to_string(),
        "user_id" => run.info.user_id.clone(),
        _ => return None,
    })
}

fn attr_num(run: &Run, key: &str) -> Option<f64> {
    match key {
        "start_time" => run.info.start_time.map(|t| t as f64),
        "end_time" => run.info.end_time.map(|t| t as f64),
        _ => None,
    }
}

fn like(pattern: &str, s: &str) -> bool {
    // SQL LIKE: % = any run, _ = one char.
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|k| go(&p[1..], &s[k..])),
            Some('_') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

fn clause_matches(c: &Clause, run: &Run) -> bool {
    match &c.value {
        Value::Str(v) => {
            let actual = match c.entity {
                Entity::Param => run.params.get(&c.key).cloned(),
                Entity::Tag => run.tags.get(&c.key).cloned(),
                Entity::Attr => attr_str(run, &c.key),
                Entity::Metric => None,
            };
            // MLflow: a run without the key matches neither = nor !=.
            let Some(a) = actual else { return false };
            match c.op {
                Op::Eq => &a == v,
                Op::Ne => &a != v,
                Op::Like => like(v, &a),
                Op::ILike => like(&v.to_lowercase(), &a.to_lowercase()),
                _ => false,
            }
        }
        Value::Num(v) => {
            let actual = match c.entity {
                Entity::Metric => run.metric(&c.key),
                Entity::Attr => attr_num(run, &c.key),
                _ => None,
            };
            let Some(a) = actual else { return false };
            match c.op {
                Op::Eq => a == *v,
                Op::Ne => a != *v,
                Op::Lt => a < *v,
                Op::Le => a <= *v,
                Op::Gt => a > *v,
                Op::Ge => a >= *v,
                _ => false,
            }
        }
    }
}

/// One `ORDER BY` term.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    entity: Entity,
    key: String,
    ascending: bool,
}

impl OrderBy {
    pub fn parse(s: &str) -> Result<OrderBy, TrackingError> {
        let err = |why: &str| TrackingError::Invalid(format!("order_by {s:?}: {why}"));
        let toks = tokenize(s)?;
        let (ident, dir) = match toks.as_slice() {
            [Tok::Word(w)] => (w.clone(), None),
            [Tok::Word(w), Tok::Word(d)] => (w.clone(), Some(d.to_ascii_uppercase())),
            _ => return Err(err("expected <entity>.<key> [ASC|DESC]")),
        };
        let ascending = match dir.as_deref() {
            None | Some("ASC") => true,
            Some("DESC") => false,
            Some(d) => return Err(err(&format!("unknown direction {d:?}"))),
        };
        let (ent, key) = match ident.split_once('.') {
            Some((e, k)) => (e.to_string(), k.to_string()),
            // MLflow accepts a bare attribute name.
            None => ("attributes".to_string(), ident.clone()),
        };
        let entity = parse_entity(&ent).ok_or_else(|| err(&format!("unknown entity {ent:?}")))?;
        Ok(OrderBy {
            entity,
            key,
            ascending,
        })
    }

    /// Compare two runs; missing keys and NaN go last whatever the direction.
    pub fn compare(&self, a: &Run, b: &Run) -> Ordering {
        enum K {
            N(f64),
            S(String),
        }
        let key = |r: &Run| -> Option<K> {
            match self.entity {
                Entity::Metric => r.metric(&self.key).filter(|v| !v.is_nan()).map(K::N),
                Entity::Param => r.params.get(&self.key).cloned().map(K::S),
                Entity::Tag => r.tags.get(&self.key).cloned().map(K::S),
                Entity::Attr => attr_num(r, &self.key)
                    .map(K::N)
                    .or_else(|| attr_str(r, &self.key).map(K::S)),
            }
        };
        match (key(a), key(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = match (x, y) {
                    (K::N(x), K::N(y)) => x.total_cmp(&y),
                    (K::S(x), K::S(y)) => x.cmp(&y),
                    (K::N(_), K::S(_)) => Ordering::Less,
                    (K::S(_), K::N(_)) => Ordering::Greater,
                };
                if self.ascending { o } else { o.reverse() }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracking::{Metric, RunInfo, RunStatus};
    use std::collections::BTreeMap;

    fn run(id: &str, rmse: Option<f64>, family: &str, parent: &str) -> Run {
        let mut metrics = BTreeMap::new();
        if let Some(v) = rmse {
            metrics.insert(
                "rmse".to_string(),
                Metric {
                    key: "rmse".into(),
                    value: v,
                    timestamp: 0,
                    step: 0,
                },
            );
        }
        Run {
            info: RunInfo {
                run_id: id.into(),
                experiment_id: "1".into(),
                run_name: format!("n{id}"),
                status: RunStatus::Finished,
                start_time: Some(1),
                end_time: None,
                artifact_uri: String::new(),
                user_id: "u".into(),
            },
            params: [("family".to_string(), family.to_string())].into(),
            metrics,
            tags: [("mlflow.parentRunId".to_string(), parent.to_string())].into(),
            inputs: vec![],
        }
    }

    #[test]
    fn filters() {
        let r = run("a", Some(2.0), "arima", "p1");
        let ok = [
            "params.family = 'arima'",
            "tags.\"mlflow.parentRunId\" = 'p1' and metrics.rmse < 3",
            "tags.`mlflow.parentRunId` != 'p2'",
            "attributes.status = 'FINISHED'",
            "params.family LIKE 'ar%'",
            "",
        ];
        for f in ok {
            assert!(Filter::parse(f).unwrap().matches(&r), "{f}");
        }
        let no = [
            "params.family = 'lstm'",
            "metrics.rmse >= 3",
            "metrics.mae < 1",
        ];
        for f in no {
            assert!(!Filter::parse(f).unwrap().matches(&r), "{f}");
        }
        for f in [
            "params.family = arima",
            "metrics.rmse = 'x'",
            "foo.x = 'y'",
            "params.a = 'b' or params.c = 'd'",
            "params.a = 'b",
        ] {
            assert!(Filter::parse(f).is_err(), "{f}");
        }
    }

    #[test]
    fn ordering() {
        let mut runs = [
            run("a", Some(3.0), "x", "p"),
            run("b", None, "x", "p"),
            run("c", Some(f64::NAN), "x", "p"),
            run("d", Some(1.0), "x", "p"),
        ];
        let o = OrderBy::parse("metrics.rmse ASC").unwrap();
        runs.sort_by(|a, b| o.compare(a, b));
        assert_eq!(runs[0].info.run_id, "d");
        assert_eq!(runs[1].info.run_id, "a");
        let o = OrderBy::parse("metrics.rmse DESC").unwrap();
        runs.sort_by(|a, b| o.compare(a, b));
        assert_eq!(runs[0].info.run_id, "a");
        assert!(OrderBy::parse("metrics.rmse SIDEWAYS").is_err());
    }
}
