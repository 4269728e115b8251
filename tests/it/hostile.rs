//! Hostile input beyond tests/it/bad_input.rs: encodings and quoting that must work, and plan /
//! --data files that must be refused with exit 2 and a message naming file, row or column.

use crate::common::*;

fn ok_train(p: &Project) {
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Trains `p` and checks its feature snapshot equals that of the plain 150-day file: the
/// oddity in `p`'s raw file changed nothing that was read.
fn reads_like_the_plain_file(p: &Project) {
    ok_train(p);
    let plain = Project::new();
    plain.write("raw.csv", &raw_csv(150, &[]));
    plain.config("");
    ok_train(&plain);
    let snapshot = "data/processed/processed_ads.csv";
    assert_eq!(
        std::fs::read(p.path(snapshot)).unwrap(),
        std::fs::read(plain.path(snapshot)).unwrap()
    );
}

fn bad_train(p: &Project, words: &[&str]) {
    let o = p.train();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for w in words {
        assert!(err.contains(w), "stderr lacks {w:?}:\n{err}");
    }
    assert!(!err.contains("panicked"));
    assert!(p.no_outputs());
    assert!(p.no_runs(), "a tracking run was created for bad input");
}

#[test]
fn bom_and_crlf_are_read() {
    let p = Project::new();
    let text = format!("\u{feff}{}", raw_csv(150, &[]).replace('\n', "\r\n"));
    p.write("raw.csv", &text);
    p.config("");
    reads_like_the_plain_file(&p);
}

#[test]
fn quoted_fields_with_commas_are_read() {
    let p = Project::new();
    let text = raw_csv(150, &[]).replace(",SaaS,", ",\"SaaS, Inc.\",");
    p.write("raw.csv", &text);
    p.config("");
    reads_like_the_plain_file(&p);
}

#[test]
fn rows_out_of_order_are_sorted() {
    let p = Project::new();
    let text = raw_csv(150, &[]);
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    p.write("raw.csv", &format!("{header}\n{}\n", lines.join("\n")));
    p.config("");
    reads_like_the_plain_file(&p);
}

#[test]
fn mixed_date_formats_name_the_row() {
    let p = Project::new();
    let mut lines: Vec<String> = raw_csv(150, &[]).lines().map(String::from).collect();
    lines[40] = lines[40].replacen("2024-01-20", "2024/01/20", 1);
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    bad_train(&p, &["raw.csv", "row 41", "column `date`", "2024/01/20"]);
}

#[test]
fn absurdly_large_numbers_are_refused() {
    let p = Project::new();
    let mut lines: Vec<String> = raw_csv(150, &[]).lines().map(String::from).collect();
    for k in [3, 4] {
        let mut cells: Vec<String> = lines[k].split(',').map(String::from).collect();
        cells[12] = "1e308".into();
        lines[k] = cells.join(",");
    }
    p.write("raw.csv", &(lines.join("\n") + "\n"));
    p.config("");
    bad_train(&p, &["raw.csv", "column `revenue`"]);
}

#[test]
fn empty_family_list_is_refused() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(150, &[]));
    p.write("config.yaml", "paths:\n  raw_data: raw.csv\nfamilies: []\n");
    bad_train(&p, &["config.yaml", "families", "at least one"]);
}

#[test]
fn unknown_family_is_refused() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(150, &[]));
    p.write(
        "config.yaml",
        "paths:\n  raw_data: raw.csv\nfamilies: [prophet]\n",
    );
    bad_train(&p, &["config.yaml", "families", "prophet"]);
}

#[test]
fn duplicated_config_key_is_refused() {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(150, &[]));
    p.write(
        "config.yaml",
        "seed: 1\nseed: 2\npaths:\n  raw_data: raw.csv\n",
    );
    bad_train(&p, &["config.yaml", "seed"]);
}

/// A trained project (seasonal naive) to feed hostile plan and --data files to `infer`.
fn trained() -> Project {
    let p = Project::new();
    p.write("raw.csv", &raw_csv(150, &[]));
    p.config("");
    ok_train(&p);
    p
}

fn bad_infer(p: &Project, args: &[&str], words: &[&str]) {
    let mut all = vec!["infer", "--config", "config.yaml"];
    all.extend_from_slice(args);
    let o = p.run(&all);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for w in words {
        assert!(err.contains(w), "stderr lacks {w:?}:\n{err}");
    }
    assert!(!err.contains("panicked"));
}

#[test]
fn hostile_data_files_for_infer() {
    let p = trained();
    p.write("empty.csv", "");
    bad_infer(&p, &["--data", "empty.csv"], &["empty.csv", "is empty"]);
    p.write("hdr.csv", &format!("{HEADER}\n"));
    bad_infer(&p, &["--data", "hdr.csv"], &["hdr.csv", "no data rows"]);
    p.write(
        "neg.csv",
        &format!("{HEADER}\n2024-06-01,G,S,I,US,10,5,1,1,-3,1,1,10,1\n"),
    );
    bad_infer(
        &p,
        &["--data", "neg.csv"],
        &["neg.csv", "row 2", "column `ad_spend`", "negative"],
    );
    std::fs::create_dir(p.path("dir.csv")).unwrap();
    bad_infer(&p, &["--data", "dir.csv"], &["dir.csv", "is a directory"]);
    bad_infer(
        &p,
        &["--data", "missing.csv"],
        &["missing.csv", "cannot read"],
    );
}

#[test]
fn hostile_plan_files_for_infer() {
    // The plan is only read for models with known-policy drivers: use a SARIMAX on ad_spend.
    let p = Project::new();
    p.write("raw.csv", &raw_csv(150, &[]));
    p.write(
        "config.yaml",
        "paths:\n  raw_data: raw.csv\nfamilies: [sarimax]\nsarimax:\n  exog: [ad_spend]\n  param_grid:\n    order: [[1, 0, 0]]\n    seasonal_order: [[0, 0, 0, 7]]\n    trend: [c]\nmlflow:\n  tracking_uri: mlruns\n",
    );
    ok_train(&p);
    let days: Vec<String> = (0..7)
        .map(|k| {
            (chrono::NaiveDate::from_ymd_opt(2024, 5, 30).unwrap() + chrono::Duration::days(k))
                .to_string()
        })
        .collect();
    let plan = |rows: &[String]| format!("date,ad_spend\n{}\n", rows.join("\n"));
    let good: Vec<String> = days.iter().map(|d| format!("{d},1000")).collect();
    let mut dup = good.clone();
    dup.push(good[0].clone());
    p.write("dup.csv", &plan(&dup));
    bad_infer(
        &p,
        &["--plan", "dup.csv"],
        &["dup.csv", "row 9", "appears more than once"],
    );
    let mut bad_date = good.clone();
    bad_date[2] = "30.05.2024,1000".into();
    p.write("date.csv", &plan(&bad_date));
    bad_infer(
        &p,
        &["--plan", "date.csv"],
        &["date.csv", "row 4", "column `date`"],
    );
    let mut nan = good.clone();
    nan[1] = format!("{},NaN", days[1]);
    p.write("nan.csv", &plan(&nan));
    bad_infer(
        &p,
        &["--plan", "nan.csv"],
        &["nan.csv", "row 3", "column `ad_spend`"],
    );
    let mut neg = good.clone();
    neg[0] = format!("{},-5", days[0]);
    p.write("neg.csv", &plan(&neg));
    bad_infer(
        &p,
        &["--plan", "neg.csv"],
        &["neg.csv", "row 2", "non-negative"],
    );
    p.write("empty.csv", "");
    bad_infer(&p, &["--plan", "empty.csv"], &["empty.csv"]);
    p.write("semi.csv", &plan(&good).replace(',', ";"));
    bad_infer(
        &p,
        &["--plan", "semi.csv"],
        &["semi.csv", "missing column `date`"],
    );
    // And a good plan works.
    p.write("good.csv", &plan(&good));
    let o = p.run(&["infer", "--config", "config.yaml", "--plan", "good.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
