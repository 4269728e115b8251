//! Shared helpers for the CLI tests: a scratch project folder with a config and a raw CSV.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const HEADER: &str = "date,platform,campaign_type,industry,country,impressions,clicks,CTR,CPC,ad_spend,conversions,CPA,revenue,ROAS";

/// A scratch project: `dir/config.yaml`, `dir/raw.csv`, outputs under `dir/`.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// The project's local store (`mlruns`) and the runs of the default experiment that
    /// match `filter` (MLflow's search syntax).
    pub fn runs(
        &self,
        filter: &str,
    ) -> (
        Box<dyn adsales::store::tracking::Tracker>,
        Vec<adsales::store::tracking::Run>,
    ) {
        use adsales::store::tracking::{RunSearch, open_tracker};
        let tracker = open_tracker(self.path("mlruns").to_str().unwrap()).unwrap();
        let exp = tracker
            .get_experiment("Ad_Sales_TimeSeries")
            .unwrap()
            .expect("experiment exists");
        let runs = tracker
            .search_runs(&RunSearch::new(exp).filter(filter))
            .unwrap();
        (tracker, runs)
    }
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
    /// Writes a config with the given extra YAML lines after a minimal base
    /// (raw data at raw.csv, seasonal naive only, local tracking under the scratch folder).
    pub fn config(&self, extra: &str) -> PathBuf {
        let text = format!("{}{extra}", config_text("seasonal_naive", "mlruns"));
        self.write("config.yaml", &text)
    }
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_adsales"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }
    pub fn train(&self) -> Output {
        self.run(&["train", "--config", "config.yaml"])
    }
    /// No output of the data stages exists.
    pub fn no_outputs(&self) -> bool {
        !self.path("data/processed/processed_ads.csv").exists()
            && !self.path("artifacts/scaler.json").exists()
    }
}

/// A valid raw CSV with `days` days from 2024-01-01, two rows per day, optionally skipping
/// some day offsets.
pub fn raw_csv(days: usize, skip: &[usize]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..days {
        if skip.contains(&i) {
            continue;
        }
        let d = start + chrono::Duration::days(i as i64);
        for k in 0..2 {
            let spend = 1000.0 + 100.0 * ((i * 7 + k * 3) % 11) as f64;
            let clicks = 500 + (i * 13 + k) % 97;
            let rev = spend * 2.5 + clicks as f64 * 1.5 + 300.0 * ((i % 7) as f64);
            s.push_str(&format!(
                "{d},Google Ads,Search,SaaS,USA,{},{clicks},1.0,1.0,{spend:.2},{},1.0,{rev:.2},2.5\n",
                clicks * 40,
                clicks / 20
            ));
        }
    }
    s
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Project {
    /// A project holding the bundled sample data as `raw.csv` and `config_yaml` as its config.
    pub fn bundled(config_yaml: &str) -> Project {
        let p = Project::new();
        std::fs::copy(
            repo_root().join("data/raw/global_ads_performance_dataset.csv"),
            p.path("raw.csv"),
        )
        .unwrap();
        p.write("config.yaml", config_yaml);
        p
    }
}

/// The package root: the bundled data, fixtures and scripts are found from it.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A config reading raw.csv, running `families`, tracking to `uri`.
pub fn config_text(families: &str, uri: &str) -> String {
    format!("paths:\n  raw_data: raw.csv\nfamilies: [{families}]\nmlflow:\n  tracking_uri: {uri}\n")
}

/// Every file below `dir` (recursively; empty when it does not exist).
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

impl Project {
    /// No MLflow run exists in the project's local store (bad input is refused before
    /// tracking starts, so nothing can be left RUNNING).
    pub fn no_runs(&self) -> bool {
        run_statuses(&self.path("mlruns")).is_empty()
    }
}

/// Status codes of every run's meta.yaml in a local store.
pub fn run_statuses(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(exps) = std::fs::read_dir(root) else {
        return out;
    };
    for e in exps.flatten() {
        let Ok(runs) = std::fs::read_dir(e.path()) else {
            continue;
        };
        for r in runs.flatten() {
            let meta = r.path().join("meta.yaml");
            if let Ok(text) = std::fs::read_to_string(&meta)
                && text.contains("run_id")
                && let Some(s) = text.lines().find_map(|l| l.strip_prefix("status: "))
            {
                out.push(s.trim().to_string());
            }
        }
    }
    out
}

/// The JSON fixtures in `tests/fixtures/<name>`, by file name, parsed (the committed scripts in
/// `scripts/` write them).
pub fn json_fixtures(name: &str) -> Vec<serde_json::Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixture folder {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

/// A JSON fixture's array of numbers (panics on anything else: the fixture is broken).
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}
