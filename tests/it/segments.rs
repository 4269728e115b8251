//! `segments:`: the structure built from config (strict and grouped), zero days per segment
//! against the total's missing-day policy, bad segment config refused with exit 2, and a
//! segmented train whose reconciled forecasts add up.

use std::path::Path;

use adsales::config::Config;
use adsales::data::segments;

use crate::common::*;

/// A panel of 2 platforms x 2 countries over `days` days. Day offsets in `gone` have no rows
/// at all; on odd days `TikTok Ads/UK` has no row (an intermittent segment).
fn panel_csv(days: usize, gone: &[usize]) -> String {
    let mut s = format!("{HEADER}\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for i in 0..days {
        if gone.contains(&i) {
            continue;
        }
        let d = start + chrono::Duration::days(i as i64);
        for (pi, platform) in ["Google Ads", "TikTok Ads"].iter().enumerate() {
            for (ci, country) in ["UK", "USA"].iter().enumerate() {
                if *platform == "TikTok Ads" && *country == "UK" && i % 2 == 1 {
                    continue;
                }
                let spend = 500.0 + 50.0 * ((i * 3 + pi * 5 + ci) % 7) as f64;
                let rev = spend * (2.0 + pi as f64) + 100.0 * ((i % 7) as f64) + 10.0 * ci as f64;
                s.push_str(&format!(
                    "{d},{platform},Search,SaaS,{country},{},{},1.0,1.0,{spend:.2},5,1.0,{rev:.2},2.5\n",
                    4000 + i,
                    100 + i % 13
                ));
            }
        }
    }
    s
}

fn load(p: &Project, levels: &str) -> Result<segments::SegmentedData, String> {
    let text = format!(
        "{}data:\n  fill_missing: interpolate\nsegments:\n  levels: {levels}\n",
        config_text("seasonal_naive", "mlruns")
    );
    let path = p.write("config.yaml", &text);
    let cfg = Config::from_yaml(&text, &path, None).map_err(|e| e.to_string())?;
    let seg = cfg.segments.clone().expect("segments configured");
    let total = adsales::data::load(&cfg.paths.raw_data, &cfg.data).map_err(|e| e.to_string())?;
    segments::load(Path::new(&cfg.paths.raw_data), &cfg.data, &seg, &total)
        .map_err(|e| e.to_string())
}

#[test]
fn strict_structure_zero_days_and_the_totals_policy() {
    let p = Project::new();
    // Day 2 has no rows at all.
    p.write("raw.csv", &panel_csv(10, &[2]));
    let d = load(&p, "[[], [platform], [platform, country]]").unwrap();
    let ids: Vec<&str> = d.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "total",
            "Google Ads",
            "TikTok Ads",
            "Google Ads/UK",
            "Google Ads/USA",
            "TikTok Ads/UK",
            "TikTok Ads/USA"
        ]
    );
    assert!(d.structure.parents().is_some(), "a strict hierarchy");
    assert_eq!(
        d.structure.s.row(1).iter().copied().collect::<Vec<_>>(),
        [1.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(
        d.structure.s.row(2).iter().copied().collect::<Vec<_>>(),
        [0.0, 0.0, 1.0, 1.0]
    );
    let rev = |i: usize| d.dailies[i].col("revenue").unwrap().to_vec();
    // Every node on the total's calendar.
    assert!(d.dailies.iter().all(|x| x.len() == 10));
    // Segments: day 2 is zero (no campaign ran); TikTok UK is zero on odd days.
    for (i, id) in ids.iter().enumerate().skip(1) {
        assert_eq!(rev(i)[2], 0.0, "node {id} on the day with no rows");
    }
    assert_eq!(rev(5)[1], 0.0);
    assert_eq!(rev(5)[3], 0.0);
    assert!(rev(5)[4] > 0.0);
    // The total keeps data.fill_missing: day 2 interpolated between days 1 and 3.
    let t = rev(0);
    assert!((t[2] - 0.5 * (t[1] + t[3])).abs() < 1e-9, "{t:?}");
    assert!(d.dailies[0].is_filled[2]);
    // On days with rows the total is the sum of its bottom series.
    for day in [0, 1, 3, 9] {
        let sum: f64 = (3..7).map(|i| rev(i)[day]).sum();
        assert!((t[day] - sum).abs() < 1e-6 * t[day], "day {day}");
        let google: f64 = (3..5).map(|i| rev(i)[day]).sum();
        assert!((rev(1)[day] - google).abs() < 1e-9 * google.max(1.0));
    }
}

#[test]
fn grouped_structure_adds_the_finest_combination_as_bottom() {
    let p = Project::new();
    p.write("raw.csv", &panel_csv(10, &[]));
    let d = load(&p, "[[], [platform], [country]]").unwrap();
    let ids: Vec<&str> = d.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "total",
            "Google Ads",
            "TikTok Ads",
            "UK",
            "USA",
            "Google Ads/UK",
            "Google Ads/USA",
            "TikTok Ads/UK",
            "TikTok Ads/USA"
        ]
    );
    assert!(d.structure.parents().is_none(), "grouped, not strict");
    assert_eq!(
        d.structure.s.row(3).iter().copied().collect::<Vec<_>>(),
        [1.0, 0.0, 1.0, 0.0]
    );
    assert_eq!(d.structure.n_bottom(), 4);
}

fn expect_config_error(levels_and_more: &str, words: &[&str]) {
    let p = Project::new();
    p.write("raw.csv", &panel_csv(120, &[]));
    p.config(&format!("segments:\n{levels_and_more}"));
    let o = p.train();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{err}");
    for w in words {
        assert!(err.contains(w), "stderr lacks {w:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(p.no_runs(), "a run was created for bad segment config");
}

#[test]
fn bad_segment_config_is_refused_naming_the_key() {
    expect_config_error(
        "  levels: [[platform, platform]]\n",
        &["segments.levels[0]", "`platform` is named twice"],
    );
    expect_config_error(
        "  levels: [[platform], [platform]]\n",
        &["segments.levels[1]", "repeats an earlier level"],
    );
    expect_config_error(
        "  levels: [[revenue]]\n",
        &["segments.levels[0]", "summed column"],
    );
    expect_config_error("  levels: [[]]\n", &["segments.levels", "names no column"]);
    expect_config_error(
        "  levels: [[platform]]\n  families: [lstm]\n",
        &["segments.families", "lstm"],
    );
    expect_config_error(
        "  levels: [[platform]]\n  reconcile: middle_out\n",
        &["segments.reconcile", "unknown method `middle_out`"],
    );
    expect_config_error(
        "  levels: [[], [platform], [country]]\n  reconcile: top_down:forecast_proportions\n",
        &["segments.reconcile", "strict hierarchy"],
    );
    // Strict, but no total: each platform would be split over every bottom series.
    expect_config_error(
        "  levels: [[platform], [platform, country]]\n  reconcile: top_down:average_proportions\n",
        &["segments.reconcile", "under one total"],
    );
    // A column the data file does not have: the file and the column are named.
    expect_config_error(
        "  levels: [[region]]\n",
        &["raw.csv", "segment column `region`"],
    );
}

#[test]
fn empty_segment_value_names_row_and_column() {
    let p = Project::new();
    let text = panel_csv(120, &[]).replacen(",Google Ads,", ",,", 1);
    p.write("raw.csv", &text);
    p.config("segments:\n  levels: [[platform]]\n");
    let o = p.train();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("row 2, column `platform`: empty segment value"),
        "{err}"
    );
}

/// Reads `segments_test_forecasts.csv` into (id, origin, step) → reconciled value.
fn reconciled(path: &Path) -> std::collections::HashMap<(String, usize, usize), f64> {
    let mut out = std::collections::HashMap::new();
    let mut rdr = csv::Reader::from_path(path).unwrap();
    for r in rdr.records() {
        let r = r.unwrap();
        out.insert(
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
            ),
            r[4].parse::<f64>().unwrap(),
        );
    }
    out
}

#[test]
fn segmented_train_reconciles_coherently_and_tracks_levels() {
    let p = Project::new();
    p.write("raw.csv", &panel_csv(150, &[40]));
    p.config("segments:\n  levels: [[], [platform], [platform, country]]\n  families: [seasonal_naive, mstl]\n");
    let o = p.train();
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "stderr:\n{err}");
    assert!(out.contains("platform x country"), "{out}");
    assert!(
        out.contains("not registered: registering a segmented model is not built yet"),
        "{out}"
    );
    let rec = reconciled(&p.path("artifacts/segments_test_forecasts.csv"));
    assert!(!rec.is_empty());
    let mut checked = 0;
    for ((id, o, h), v) in &rec {
        if id != "total" {
            continue;
        }
        let kids = ["Google Ads", "TikTok Ads"].map(|k| rec[&(k.to_string(), *o, *h)]);
        let bottom = [
            "Google Ads/UK",
            "Google Ads/USA",
            "TikTok Ads/UK",
            "TikTok Ads/USA",
        ]
        .map(|k| rec[&(k.to_string(), *o, *h)]);
        let (s1, s2): (f64, f64) = (kids.iter().sum(), bottom.iter().sum());
        assert!(
            (v - s1).abs() <= 1e-9 * v.abs(),
            "total {v} vs platforms {s1}"
        );
        assert!((v - s2).abs() <= 1e-9 * v.abs(), "total {v} vs bottom {s2}");
        assert!((kids[0] - bottom[0] - bottom[1]).abs() <= 1e-9 * kids[0].abs().max(1.0));
        checked += 1;
    }
    assert!(checked > 10, "{checked} total forecasts checked");
    // One train run, with the per-level metrics and the method.
    let (_t, runs) = p.runs("tags.`adsales.kind` = 'train'");
    assert_eq!(runs.len(), 1, "one run, not one per segment");
    let r = &runs[0];
    assert_eq!(format!("{:?}", r.info.status), "Finished");
    for key in [
        "level_total_test_rmse",
        "level_platformxcountry_test_coverage",
    ] {
        assert!(
            r.metric(key).is_some_and(f64::is_finite),
            "metric {key} missing"
        );
    }
    assert!(r.params.contains_key("reconcile_method"));
    // The residual-based methods ran on the in-sample one-step forecasts (wls_var and
    // mint_cov are singular on this noise-free panel and left out with a warning).
    let key = "reconcile_val_score_min_trace_mint_shrink";
    assert!(
        r.metric(key).is_some_and(f64::is_finite),
        "metric {key} missing"
    );
}

/// The train run's metrics of a segmented train of `csv` (fast families).
fn segmented_metrics(csv: &str) -> (std::collections::BTreeMap<String, f64>, String, String) {
    let p = Project::new();
    p.write("raw.csv", csv);
    p.config("segments:\n  levels: [[], [platform], [platform, country]]\n  families: [seasonal_naive, mstl, intermittent]\n");
    let o = p.train();
    assert!(o.status.success(), "{}", stderr(&o));
    let (_t, runs) = p.runs("tags.`adsales.kind` = 'train'");
    let m = runs[0]
        .metrics
        .iter()
        .map(|(k, v)| (k.clone(), v.value))
        .collect();
    // The tables without the seconds column (wall time).
    let board = std::fs::read_to_string(p.path("artifacts/segments_leaderboard.csv")).unwrap();
    let board: Vec<String> = board
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect();
    let fc = std::fs::read_to_string(p.path("artifacts/segments_test_forecasts.csv")).unwrap();
    (m, board.join("\n"), fc)
}

#[test]
fn segmented_train_is_reproducible() {
    let csv = panel_csv(150, &[40]);
    let (m1, b1, f1) = segmented_metrics(&csv);
    let (m2, b2, f2) = segmented_metrics(&csv);
    assert_eq!(b1, b2);
    assert_eq!(f1, f2);
    let strip = |m: &std::collections::BTreeMap<String, f64>| {
        m.iter()
            .filter(|(k, _)| !k.contains("seconds") && !k.starts_with("time_"))
            .map(|(k, v)| (k.clone(), *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&m1), strip(&m2));
}

#[test]
fn method_choice_and_calibration_read_nothing_after_validation() {
    // 150 days, 30 warm-up rows: test is the last 18 days (132..150). Tripling one segment's
    // revenue there changes every test figure but no validation score.
    let csv = panel_csv(150, &[]);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let late: Vec<String> = (133..150)
        .map(|i| (start + chrono::Duration::days(i)).to_string())
        .collect();
    let changed: String = csv
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if late.iter().any(|d| d == f[0]) && f[1] == "Google Ads" && f[4] == "UK" {
                let mut g: Vec<String> = f.iter().map(|s| s.to_string()).collect();
                g[12] = format!("{:.2}", 3.0 * f[12].parse::<f64>().unwrap());
                g.join(",") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let (a, _, _) = segmented_metrics(&csv);
    let (b, _, _) = segmented_metrics(&changed);
    let val: Vec<&String> = a
        .keys()
        .filter(|k| k.starts_with("reconcile_val_score_"))
        .collect();
    assert!(val.len() >= 4, "{val:?}");
    for k in val {
        assert_eq!(a[k], b[k], "{k} moved with test-period data");
    }
    assert_ne!(a["level_total_test_rmse"], b["level_total_test_rmse"]);
}

#[test]
fn grouped_levels_train_without_top_down_and_add_up() {
    let p = Project::new();
    p.write("raw.csv", &panel_csv(150, &[]));
    p.config("segments:\n  levels: [[], [platform], [country]]\n  families: [seasonal_naive, mstl, intermittent]\n");
    let o = p.train();
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        !out.contains("top_down"),
        "top-down tried on a grouped structure:\n{out}"
    );
    assert!(out.contains("country"), "{out}");
    let rec = reconciled(&p.path("artifacts/segments_test_forecasts.csv"));
    let mut checked = 0;
    for ((id, o, h), v) in &rec {
        let sum = |ids: &[&str]| {
            ids.iter()
                .map(|k| rec[&(k.to_string(), *o, *h)])
                .sum::<f64>()
        };
        let kids: &[&str] = match id.as_str() {
            "UK" => &["Google Ads/UK", "TikTok Ads/UK"],
            "Google Ads" => &["Google Ads/UK", "Google Ads/USA"],
            "total" => &["UK", "USA"],
            _ => continue,
        };
        assert!((v - sum(kids)).abs() <= 1e-9 * v.abs(), "{id} at {o}+{h}");
        checked += 1;
    }
    assert!(checked > 30, "{checked}");
}

/// `panel_csv` with TikTok Ads/UK's revenue falling to nothing by day 130 (a base model that
/// follows the trend forecasts below zero there).
fn falling_panel() -> String {
    panel_csv(150, &[])
        .lines()
        .enumerate()
        .map(|(k, l)| {
            let f: Vec<&str> = l.split(',').collect();
            if k > 0 && f[1] == "TikTok Ads" && f[4] == "UK" {
                let d = chrono::NaiveDate::parse_from_str(f[0], "%Y-%m-%d").unwrap();
                let i = (d - chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()).num_days();
                let keep = (1.0 - i as f64 / 130.0).max(0.0);
                let mut g: Vec<String> = f.iter().map(|s| s.to_string()).collect();
                g[12] = format!("{:.2}", keep * f[12].parse::<f64>().unwrap());
                g.join(",") + "\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn nonnegative_reconciliation_keeps_every_forecast_at_or_above_zero() {
    let min_reconciled = |extra: &str| {
        let p = Project::new();
        p.write("raw.csv", &falling_panel());
        p.config(&format!(
            "segments:\n  levels: [[], [platform], [platform, country]]\n  families: [mstl]\n  reconcile: min_trace:ols\n{extra}"
        ));
        let o = p.train();
        assert!(o.status.success(), "{}", stderr(&o));
        let rec = reconciled(&p.path("artifacts/segments_test_forecasts.csv"));
        rec.values().copied().fold(f64::INFINITY, f64::min)
    };
    // Without the constraint the falling segment goes below zero; with it nothing does.
    assert!(min_reconciled("") < 0.0);
    assert!(min_reconciled("  nonnegative: true\n") >= -1e-9);
}
