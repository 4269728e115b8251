//! Bad CSV and config input: exit code 2, one message naming file/row/column/key, and no
//! output written.

use crate::common::*;

/// Runs train and checks exit 2, every `words` in stderr, no outputs, no panic.
fn expect_bad(p: &Project, words: &[&str]) {
    let o = p.train();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "exit code; stderr:\n{err}");
    for w in words {
        assert!(err.contains(w), "stderr lacks {w:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "panic:\n{err}");
    assert!(p.no_outputs(), "outputs were written despite the error");
    // Input is validated before tracking starts: no run at all, so none left RUNNING.
    assert!(p.no_runs(), "a tracking run was created for bad input");
}

fn good_raw() -> String {
    raw_csv(200, &[])
}

#[test]
fn csv_missing_file() {
    let p = Project::new();
    p.config("");
    expect_bad(&p, &["raw.csv", "cannot read"]);
}

#[test]
fn csv_path_is_a_directory() {
    let p = Project::new();
    std::fs::create_dir(p.path("raw.csv")).unwrap();
    p.config("");
    expect_bad(&p, &["raw.csv", "is a directory"]);
}

#[test]
fn csv_empty_file() {
    let p = Project::new();
    p.write("raw.csv", "");
    p.config("");
    expect_bad(&p, &["raw.csv", "is empty"]);
}

#[test]
fn csv_header_only() {
    let p = Project::new();
    p.write("raw.csv", &format!("{HEADER}\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "no data rows"]);
}

#[test]
fn csv_missing_column() {
    let p = Project::new();
    let text = good_raw().replace(",revenue,", ",income,");
    p.write("raw.csv", &text);
    p.config("");
    expect_bad(&p, &["raw.csv", "missing column `revenue`"]);
}

#[test]
fn csv_duplicated_column() {
    let p = Project::new();
    let text = good_raw().replacen(",CTR,", ",clicks,", 1);
    p.write("raw.csv", &text);
    p.config("");
    expect_bad(&p, &["raw.csv", "`clicks` appears twice"]);
}

#[test]
fn csv_unparsable_date() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    lines[5] = lines[5].replacen("2024-01-03", "03/01/2024", 1);
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 6", "column `date`", "03/01/2024"]);
}

#[test]
fn csv_non_numeric_value() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let cells: Vec<&str> = lines[10].split(',').collect();
    let mut cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
    cells[9] = "twelve".into(); // ad_spend
    lines[10] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 11", "column `ad_spend`", "twelve"]);
}

#[test]
fn csv_nan_value() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[20].split(',').map(String::from).collect();
    cells[12] = "NaN".into(); // revenue
    lines[20] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 21", "column `revenue`", "finite"]);
}

#[test]
fn csv_infinite_value() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[3].split(',').map(String::from).collect();
    cells[6] = "inf".into(); // clicks
    lines[3] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 4", "column `clicks`"]);
}

#[test]
fn csv_negative_revenue() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[7].split(',').map(String::from).collect();
    cells[12] = "-5.0".into();
    lines[7] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 8", "column `revenue`", "negative"]);
}

#[test]
fn csv_negative_spend() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[9].split(',').map(String::from).collect();
    cells[9] = "-100".into();
    lines[9] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 10", "column `ad_spend`", "negative"]);
}

#[test]
fn csv_empty_value() {
    let p = Project::new();
    let mut lines: Vec<String> = good_raw().lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[2].split(',').map(String::from).collect();
    cells[5] = String::new(); // impressions
    lines[2] = cells.join(",");
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    expect_bad(&p, &["raw.csv", "row 3", "column `impressions`", "empty"]);
}

#[test]
fn csv_semicolon_delimited() {
    let p = Project::new();
    p.write("raw.csv", &good_raw().replace(',', ";"));
    p.config("");
    expect_bad(&p, &["raw.csv", "semicolon"]);
}

#[test]
fn csv_too_few_days() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(50, &[]));
    p.config("");
    expect_bad(&p, &["raw.csv", "too few days", "train"]);
}

#[test]
fn csv_single_day() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(1, &[]));
    p.config("");
    expect_bad(&p, &["raw.csv", "not enough"]);
}

#[test]
fn csv_missing_days_with_fill_error() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(200, &[40, 41]));
    p.config("data:\n  fill_missing: error\n");
    expect_bad(
        &p,
        &[
            "raw.csv",
            "2 day(s) have no rows",
            "2024-02-10",
            "data.fill_missing",
        ],
    );
}

#[test]
fn config_missing_file() {
    let p = Project::new();
    let o = p.run(&["train", "--config", "nope.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.yaml"));
}

#[test]
fn config_unknown_key() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("split:\n  train: 0.7\n  val: 0.15\n  tset: 0.15\n");
    expect_bad(&p, &["config.yaml", "split", "unknown field `tset`"]);
}

#[test]
fn config_wrong_type() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("forecast_days: seven\n");
    expect_bad(&p, &["config.yaml", "forecast_days"]);
}

#[test]
fn config_unknown_lstm_device() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("lstm:\n  device: gpu\n");
    expect_bad(&p, &["config.yaml", "lstm.device", "unknown variant `gpu`"]);
}

#[test]
fn config_ratios_do_not_sum_to_one() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("split: { train: 0.7, val: 0.2, test: 0.2 }\n");
    expect_bad(&p, &["config.yaml", "`split`", "sum to 1"]);
}

#[test]
fn config_empty_grid() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("arima:\n  param_grid: { p: [], d: [0], q: [0], trend: [n] }\n");
    expect_bad(&p, &["config.yaml", "arima.param_grid.p", "at least one"]);
}

#[test]
fn config_negative_order() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("arima:\n  param_grid: { p: [-1], d: [0], q: [0], trend: [n] }\n");
    expect_bad(&p, &["config.yaml", "arima.param_grid.p"]);
}

#[test]
fn config_seasonal_period_too_small() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config(
        "sarimax:\n  param_grid:\n    order: [[1, 0, 0]]\n    seasonal_order: [[1, 0, 0, 1]]\n    trend: [n]\n",
    );
    expect_bad(
        &p,
        &[
            "config.yaml",
            "sarimax.param_grid.seasonal_order[0]",
            "period",
        ],
    );
}

#[test]
fn config_horizon_zero() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("forecast_days: 0\n");
    expect_bad(&p, &["config.yaml", "forecast_days", "at least 1"]);
}

#[test]
fn config_bad_fill_policy() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("data:\n  fill_missing: guess\n");
    expect_bad(&p, &["config.yaml", "data.fill_missing", "guess"]);
}

#[test]
fn config_bad_exog_policy() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config(
        "data:\n  exog:\n    - { name: ad_spend, future: maybe }\nsarimax:\n  exog: [ad_spend]\n",
    );
    expect_bad(&p, &["config.yaml", "data.exog[0].future", "maybe"]);
}

#[test]
fn config_sarimax_exog_not_declared() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.config("sarimax:\n  exog: [tv_spend]\n");
    expect_bad(&p, &["config.yaml", "sarimax.exog[0]", "tv_spend"]);
}

#[test]
fn config_is_a_directory() {
    let p = Project::new();
    std::fs::create_dir(p.path("cfgdir")).unwrap();
    let o = p.run(&["train", "--config", "cfgdir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"));
}

#[test]
fn config_empty_file() {
    let p = Project::new();
    p.write("raw.csv", &good_raw());
    p.write("config.yaml", "");
    expect_bad(&p, &["config.yaml", "empty"]);
}

#[test]
fn good_input_trains_and_writes_outputs() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(200, &[50]));
    p.config("");
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("SeasonalNaive(7)"));
    assert!(p.path("data/processed/processed_ads.csv").exists());
    assert!(p.path("artifacts/scaler.json").exists());
    assert!(p.path("logs/adsales.log").exists());
}
