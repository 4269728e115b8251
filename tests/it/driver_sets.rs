//! Driver sets are a grid axis of the SARIMAX family (protocol §5): validation picks which
//! of the configured drivers a model regresses on, so an outcome driver whose future must be
//! forecast only enters when its forecast is good enough to help.

use crate::common::{HEADER, Project, stderr};

/// Uniform numbers in [0, 1) from a fixed 64-bit LCG: the data must be the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Revenue = 5 × ad spend + a weekly pattern + an unforecastable shock. Ad spend (known
/// policy: its actual future values are given) moves without pattern, so only a model that
/// reads it can follow revenue. Clicks (forecast policy) are an outcome: revenue / 10, shock
/// included. Fitted in-sample, clicks explain revenue perfectly; at an origin their future is
/// a forecast that knows neither the spend nor the shock.
fn simulated_csv(days: usize) -> String {
    let mut rng = Lcg(7);
    let mut s = format!("{HEADER}\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let weekly = [0.0, 300.0, 600.0, 500.0, 400.0, -600.0, -900.0];
    for i in 0..days {
        let d = start + chrono::Duration::days(i as i64);
        let spend =
            1000.0 + 300.0 * (i as f64 / 23.0 * std::f64::consts::TAU).sin() + 600.0 * rng.next();
        let revenue = 5.0 * spend + weekly[i % 7] + 800.0 * (rng.next() - 0.5) + 2000.0;
        let clicks = revenue / 10.0;
        let impressions = clicks * 40.0 + 500.0 * rng.next();
        s.push_str(&format!(
            "{d},Google Ads,Search,SaaS,USA,{impressions:.2},{clicks:.2},1.0,1.0,{spend:.2},1,1.0,{revenue:.2},2.5\n"
        ));
    }
    s
}

fn train_sarimax(extra: &str) -> (Project, Vec<Vec<String>>) {
    let p = Project::new();
    p.write("raw.csv", &simulated_csv(420));
    p.write(
        "config.yaml",
        &format!(
            "paths:\n  raw_data: raw.csv\nfamilies: [sarimax]\nmlflow:\n  tracking_uri: mlruns\n\
             sarimax:\n  exog: [ad_spend, clicks, impressions]\n{extra}  param_grid:\n    \
             order: [[1, 0, 0]]\n    seasonal_order: [[0, 0, 0, 7]]\n    trend: [c]\n"
        ),
    );
    let o = p.run(&["train", "--config", "config.yaml", "--no-track"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let board = std::fs::read_to_string(p.path("artifacts/leaderboard.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(board.as_bytes());
    let rows = rdr
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (p, rows)
}

fn sarimax_best_spec(rows: &[Vec<String>]) -> String {
    rows.iter()
        .find(|r| r[1] == "sarimax")
        .expect("sarimax row")[2]
        .clone()
}

#[test]
fn an_outcome_driver_that_only_adds_forecast_error_is_left_out() {
    let (_p, rows) = train_sarimax("");
    // Not the empty set (ad spend carries the signal), not clicks (its in-sample fit is
    // perfect and its forecast useless): exactly the known driver.
    let best = sarimax_best_spec(&rows);
    assert!(best.ends_with(" exog=[ad_spend]"), "{best}");
}

#[test]
fn explicit_sets_are_the_only_ones_tried() {
    // Without the known set on offer, the choice falls on a set that was listed.
    let (_p, rows) = train_sarimax("  exog_sets: [[clicks], [ad_spend, clicks]]\n");
    let best = sarimax_best_spec(&rows);
    assert!(
        best.ends_with(" exog=[clicks]") || best.ends_with(" exog=[ad_spend,clicks]"),
        "{best}"
    );
}

#[test]
fn a_set_naming_an_unconfigured_driver_is_a_config_error() {
    let p = Project::new();
    p.write("raw.csv", &simulated_csv(120));
    p.write(
        "config.yaml",
        "paths:\n  raw_data: raw.csv\nfamilies: [sarimax]\nsarimax:\n  exog: [ad_spend]\n  \
         exog_sets: [[ad_spend], [conversions]]\n",
    );
    let o = p.run(&["train", "--config", "config.yaml", "--no-track"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("sarimax.exog_sets[1][0]") && e.contains("conversions"),
        "{e}"
    );
}
