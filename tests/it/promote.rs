//! `adsales promote`: champion/challenger on the local store. A losing challenger leaves the
//! alias where it was, a winning (or forced) one moves it, every decision is recorded as
//! version tags, and the scores equal a hand computation of the same rolling-origin backtest.

use crate::common::*;
use crate::serve::{SARIMAX, trained};

fn promote(p: &Project, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec!["promote", "--config", "config.yaml", "--json"];
    args.extend_from_slice(extra);
    let o = p.run(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), v, stderr(&o))
}

fn alias(p: &Project, a: &str) -> Option<String> {
    let (tracker, _) = p.runs("");
    tracker
        .get_alias("Ad_Sales_Forecaster", a)
        .unwrap()
        .map(|v| v.version)
}

fn tags(p: &Project, version: &str) -> std::collections::BTreeMap<String, String> {
    let (tracker, _) = p.runs("");
    tracker
        .get_model_version("Ad_Sales_Forecaster", version)
        .unwrap()
        .tags
}

/// The daily target (date, revenue) of the processed snapshot train wrote.
fn daily_revenue(p: &Project) -> Vec<(String, f64)> {
    let mut rdr = csv::Reader::from_path(p.path("data/processed/processed_ads.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (d, y) = (
        h.iter().position(|c| c == "date").unwrap(),
        h.iter().position(|c| c == "revenue").unwrap(),
    );
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            (r[d].to_string(), r[y].parse().unwrap())
        })
        .collect()
}

#[test]
fn only_a_winning_challenger_moves_the_alias_and_every_decision_is_recorded() {
    let p = trained(SARIMAX);
    // No champion yet: the challenger takes @Production.
    let (rc, r, err) = promote(&p, &[]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["decision"], "promoted", "{r}");
    assert_eq!(alias(&p, "Production").as_deref(), Some("1"));
    assert_eq!(
        tags(&p, "1")["promotion.Production.previous_version"],
        "none"
    );

    // Version 2, a seasonal naive, is far worse on the newest 28 days: nothing moves.
    p.write(
        "config.yaml",
        &SARIMAX.replace("[sarimax]", "[seasonal_naive]"),
    );
    let o = p.train();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (rc, r, err) = promote(&p, &[]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["decision"], "kept", "{r}");
    assert_eq!(alias(&p, "Production").as_deref(), Some("1"));
    let t = tags(&p, "2");
    assert_eq!(t["promotion.Production.decision"], "kept");
    assert_eq!(t["promotion.Production.previous_version"], "1");
    assert_eq!(
        t["promotion.Production.scored_days"],
        "2025-12-04..2025-12-31"
    );
    let (ch, cp): (f64, f64) = (
        t["promotion.Production.challenger_rmse"].parse().unwrap(),
        t["promotion.Production.champion_rmse"].parse().unwrap(),
    );
    assert_eq!(ch, r["challenger"]["rmse"].as_f64().unwrap());
    assert_eq!(cp, r["champion"]["rmse"].as_f64().unwrap());
    assert!(ch > cp, "{ch} vs {cp}");

    // The challenger's score by hand: seasonal naive(7) from every origin of the last 28
    // days, 7 steps each, steps inside the days only.
    let y = daily_revenue(&p);
    let first = y.iter().position(|(d, _)| d == "2025-12-04").unwrap();
    let (mut se, mut n) = (0.0, 0usize);
    for o in first - 1..y.len() - 1 {
        for h in 1..=7 {
            if o + h >= y.len() {
                break;
            }
            let e = y[o + h].1 - y[o + h - 7].1;
            se += e * e;
            n += 1;
        }
    }
    let by_hand = (se / n as f64).sqrt();
    assert!(
        (ch - by_hand).abs() <= 1e-9 * by_hand,
        "promote's RMSE {ch} vs by hand {by_hand}"
    );

    // Forced, it moves, and says so.
    let (rc, r, err) = promote(&p, &["--force"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["decision"], "promoted");
    assert!(r["reason"].as_str().unwrap().starts_with("forced"), "{r}");
    assert_eq!(alias(&p, "Production").as_deref(), Some("2"));
    assert_eq!(tags(&p, "2")["promotion.Production.forced"], "true");
    // The same version under both aliases: nothing to do, nothing recorded.
    let (rc, r, _) = promote(&p, &[]);
    assert_eq!((rc, r["decision"].as_str()), (0, Some("unchanged")));
}

#[test]
fn newer_rows_are_scored_and_bad_requests_move_nothing() {
    let p = trained(SARIMAX);
    let (rc, _, err) = promote(&p, &[]);
    assert_eq!(rc, 0, "{err}");
    // Twenty new days: December's rows, moved to January 2026.
    let raw = std::fs::read_to_string(p.path("raw.csv")).unwrap();
    let mut newer = String::from(HEADER);
    newer.push('\n');
    for line in raw.lines().filter(|l| l.starts_with("2025-12-")) {
        let day: u32 = line[8..10].parse().unwrap();
        if day <= 20 {
            newer.push_str(&format!("2026-01{}\n", &line[7..]));
        }
    }
    p.write("new.csv", &newer);
    let (rc, r, err) = promote(&p, &["--data", "new.csv", "--from", "Staging"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(r["first_day"], "2026-01-01", "{r}");
    assert_eq!(r["last_day"], "2026-01-20", "{r}");
    // The champion is the same version: unchanged.
    assert_eq!(r["decision"], "unchanged");

    for (args, needle) in [
        (&["--to", "Staging"][..], "both `Staging`"),
        (&["--from", "Nope"][..], "no model version has alias @Nope"),
        (&["--margin", "1.5"][..], "--margin"),
        (
            &["--data", "raw.csv"][..],
            "no day after the challenger's history",
        ),
        (
            &["--data", "new.csv", "--days", "3"][..],
            "exclude each other",
        ),
    ] {
        let (rc, _, err) = promote(&p, args);
        assert_eq!(rc, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert_eq!(alias(&p, "Production").as_deref(), Some("1"));
}
