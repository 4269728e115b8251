//! `adsales fit` through the library (`cmd::fit::run` and `FitArgs::render`), with clap
//! parsing.

use std::io::Write;

use adsales::cmd::fit::{FitArgs, run};

/// What `adsales fit` prints for `args`.
fn run_to_string(args: &FitArgs) -> anyhow::Result<String> {
    args.render(&run(args)?)
}
use adsales::util::error::InputError;
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: FitArgs,
}

fn args(list: &[&str]) -> FitArgs {
    let mut v = vec!["adsales-fit"];
    v.extend_from_slice(list);
    Cli::try_parse_from(v).expect("options parse").args
}

fn write_csv(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p.display().to_string()
}

/// 120 days of revenue driven by spend with a weekly pattern.
fn sample(dir: &std::path::Path) -> (String, String) {
    let mut s = String::from("date,revenue,spend\n");
    let d0 = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let mut e = 0.0;
    for t in 0..120 {
        let spend = 100.0 + 10.0 * (t as f64 / 9.0).sin() + ((t * 37) % 11) as f64;
        e = 0.4 * e + (((t * 7919) % 101) as f64 - 50.0) / 10.0;
        let rev = 200.0 + 2.0 * spend + [3.0, 1.0, 0.0, -1.0, -2.0, 4.0, 6.0][t % 7] + e;
        s.push_str(&format!(
            "{},{rev:.4},{spend:.4}\n",
            d0 + chrono::Duration::days(t as i64)
        ));
    }
    let mut f = String::from("spend\n");
    for h in 0..7 {
        f.push_str(&format!("{}\n", 105.0 + h as f64));
    }
    (
        write_csv(dir, "data.csv", &s),
        write_csv(dir, "future.csv", &f),
    )
}

fn input_error(e: anyhow::Error) -> String {
    assert!(
        e.chain().any(|c| c.is::<InputError>()),
        "not an InputError: {e:#}"
    );
    format!("{e:#}")
}

#[test]
fn json_output_has_the_documented_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, fut) = sample(dir.path());
    let out = run_to_string(&args(&[
        "--csv",
        &csv,
        "--target",
        "revenue",
        "--date-column",
        "date",
        "--exog",
        "spend",
        "--future-exog",
        &fut,
        "--order",
        "1,0,0",
        "--seasonal",
        "0,1,1,7",
        "--horizon",
        "7",
        "--level",
        "0.9",
        "--json",
    ]))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "adsales.fit/1");
    assert_eq!(v["spec"]["order"], serde_json::json!([1, 0, 0]));
    assert_eq!(v["spec"]["seasonal"], serde_json::json!([0, 1, 1, 7]));
    assert_eq!(
        v["param_names"],
        serde_json::json!(["spend", "ar.L1", "ma.S.L7", "sigma2"])
    );
    assert!(v["params"]["spend"].as_f64().unwrap() > 1.0);
    for key in ["llf", "aic", "bic", "hqic", "aicc"] {
        assert!(v[key].as_f64().unwrap().is_finite(), "{key}");
    }
    assert_eq!(v["nobs"], 120);
    assert_eq!(v["nobs_effective"], 113);
    assert!(v["converged"].as_bool().unwrap());
    let f = &v["forecast"];
    assert_eq!(f["level"], 0.9);
    assert_eq!(f["mean"].as_array().unwrap().len(), 7);
    assert_eq!(f["date"][0], "2024-04-30");
    let (m, lo, hi) = (
        f["mean"][0].as_f64().unwrap(),
        f["lower"][0].as_f64().unwrap(),
        f["upper"][0].as_f64().unwrap(),
    );
    assert!(lo < m && m < hi);
}

#[test]
fn text_output_lists_params_criteria_and_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = sample(dir.path());
    let out = run_to_string(&args(&[
        "--csv",
        &csv,
        "--target",
        "revenue",
        "--order",
        "1,1,1",
        "--trend",
        "n",
        "--horizon",
        "3",
    ]))
    .unwrap();
    for needle in [
        "ARIMA(1,1,1) trend=n",
        "ar.L1",
        "ma.L1",
        "sigma2",
        "llf",
        "aic",
        "bic",
        "converged: yes",
        "lower 95%",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn bad_input_is_an_input_error_naming_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = sample(dir.path());
    let missing = dir.path().join("nope.csv").display().to_string();
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &missing, "--target", "revenue", "--order", "1,0,0",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("nope.csv"), "{msg}");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &csv, "--target", "rev", "--order", "1,0,0",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("\"rev\"") && msg.contains("--target"), "{msg}");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &csv, "--target", "revenue", "--order", "1,0",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("--order"), "{msg}");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv",
            &csv,
            "--target",
            "revenue",
            "--order",
            "1,0,0",
            "--seasonal",
            "1,0,x,7",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("--seasonal"), "{msg}");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &csv, "--target", "revenue", "--order", "1,0,0", "--trend", "q",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("--trend"), "{msg}");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &csv, "--target", "revenue", "--order", "1,0,0", "--exog", "spend",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("--future-exog"), "{msg}");
    let bad = write_csv(dir.path(), "bad.csv", "revenue\n1\n2\nabc\n4\n");
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &bad, "--target", "revenue", "--order", "0,0,0",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("line 4") && msg.contains("\"abc\""), "{msg}");
    let constant = write_csv(
        dir.path(),
        "c.csv",
        &format!("revenue\n{}", "5\n".repeat(30)),
    );
    let msg = input_error(
        run_to_string(&args(&[
            "--csv", &constant, "--target", "revenue", "--order", "1,0,0",
        ]))
        .unwrap_err(),
    );
    assert!(msg.contains("constant"), "{msg}");
}

/// A file saved by Excel starts with a UTF-8 byte-order mark: the first column keeps its name.
#[test]
fn excel_byte_order_mark_is_not_part_of_the_first_column() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = sample(dir.path());
    let text = std::fs::read_to_string(&csv).unwrap();
    let bom = write_csv(dir.path(), "bom.csv", &format!("\u{feff}{text}"));
    let fit = |file: &str| {
        run_to_string(&args(&[
            "--csv",
            file,
            "--target",
            "revenue",
            "--date-column",
            "date",
            "--order",
            "1,0,0",
            "--json",
        ]))
        .unwrap()
    };
    let (plain, with_bom) = (fit(&csv), fit(&bom));
    assert_eq!(plain, with_bom.replace("bom.csv", "data.csv"));
}
