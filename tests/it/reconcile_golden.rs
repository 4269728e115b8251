//! Reconciliation against hierarchicalforecast 1.5.3 on the fixtures written by
//! `scripts/gen_reconcile_fixtures.py` (strict two- and three-level hierarchies and a grouped
//! platform × country structure; every method): equal to 1e-9 relative, coherent, coherent
//! base forecasts returned unchanged, and top-down refused on the grouped structure.

use adsales::models::reconcile::{
    Insample, METHODS, Method, Structure, reconcile, reconcile_nonnegative,
};
use nalgebra::DMatrix;
use serde_json::Value;

use crate::common::{floats, json_fixtures};

fn matrix(v: &Value) -> DMatrix<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    DMatrix::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn fixtures() -> Vec<Value> {
    json_fixtures("reconcile")
}

fn structure(f: &Value) -> Structure {
    let ids = f["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    Structure::new(ids, matrix(&f["S"])).unwrap()
}

fn close(a: &DMatrix<f64>, b: &DMatrix<f64>, tol: f64) -> Result<(), String> {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (x, y) in a.iter().zip(b.iter()) {
        if (x - y).abs() > tol * scale {
            return Err(format!("{x} vs {y}"));
        }
    }
    Ok(())
}

#[test]
fn every_method_equals_hierarchicalforecast() {
    let mut checked = 0;
    for f in fixtures() {
        let st = structure(&f);
        let y_hat = matrix(&f["y_hat"]);
        let (y, fitted) = (matrix(&f["y_insample"]), matrix(&f["y_hat_insample"]));
        let ins = Insample {
            y: &y,
            fitted: Some(&fitted),
        };
        for (name, method) in METHODS {
            let got = reconcile(&st, &y_hat, Some(&ins), method);
            let name_f = f["name"].as_str().unwrap();
            if let Some(msg) = f["errors"].get(name) {
                let err = got.expect_err(&format!(
                    "{name_f} {name}: hierarchicalforecast refused: {msg}"
                ));
                assert!(err.contains("strict hierarchy"), "{err}");
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{name_f} {name}: {e}"));
            let want = matrix(&f["results"][name]);
            close(&got, &want, 1e-9).unwrap_or_else(|e| panic!("{name_f} {name}: {e}"));
            // Coherent: every aggregate equals the sum of its bottom series.
            let m = st.n_bottom();
            let n = got.nrows();
            let summed = &st.s * got.rows(n - m, m);
            close(&got, &summed, 1e-12)
                .unwrap_or_else(|e| panic!("{name_f} {name} incoherent: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked, 9 + 9 + 6);
}

#[test]
fn coherent_base_forecasts_come_back_unchanged() {
    for f in fixtures() {
        let st = structure(&f);
        let coherent = matrix(&f["coherent"]);
        let (y, fitted) = (matrix(&f["y_insample"]), matrix(&f["y_hat_insample"]));
        let ins = Insample {
            y: &y,
            fitted: Some(&fitted),
        };
        for (name, method) in METHODS {
            // The historical proportions replace the bottom split by history's: not a
            // projection, so a coherent input does move (hierarchicalforecast's too).
            if matches!(
                method,
                Method::AverageProportions | Method::ProportionAverages
            ) {
                continue;
            }
            let got = reconcile(&st, &coherent, Some(&ins), method);
            // Only what hierarchicalforecast refuses (top-down on a grouped structure) may
            // fail; everything else must hand the coherent forecasts back.
            if f["errors"].get(name).is_some() {
                assert!(got.is_err(), "{name} on {}", f["name"]);
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            close(&got, &coherent, 1e-9).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn residual_methods_need_fitted_values() {
    let f = &fixtures()[0];
    let st = structure(f);
    let y = matrix(&f["y_insample"]);
    let ins = Insample {
        y: &y,
        fitted: None,
    };
    let err = reconcile(&st, &matrix(&f["y_hat"]), Some(&ins), Method::MintShrink).unwrap_err();
    assert!(err.contains("fitted values"), "{err}");
}

/// Writes a fixture as hierarchicalforecast's files: F.csv (two model columns: the fixture's
/// base forecasts and twice them), S.csv and I.csv (y, and the fitted values for both).
fn write_files(f: &Value, dir: &std::path::Path) {
    let ids: Vec<&str> = f["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let s = matrix(&f["S"]);
    let m = s.ncols();
    let bottom = &ids[ids.len() - m..];
    let mut text = format!("unique_id,{}\n", bottom.join(","));
    for (i, id) in ids.iter().enumerate() {
        let row: Vec<String> = (0..m).map(|j| format!("{}", s[(i, j)])).collect();
        text += &format!("{id},{}\n", row.join(","));
    }
    std::fs::write(dir.join("S.csv"), text).unwrap();
    let day = |h: usize| format!("2026-01-{:02}", h + 1);
    let y_hat = matrix(&f["y_hat"]);
    let mut text = "unique_id,ds,m1,m2\n".to_string();
    for h in 0..y_hat.ncols() {
        for (i, id) in ids.iter().enumerate() {
            text += &format!(
                "{id},{},{:e},{:e}\n",
                day(h),
                y_hat[(i, h)],
                2.0 * y_hat[(i, h)]
            );
        }
    }
    std::fs::write(dir.join("F.csv"), text).unwrap();
    let (y, fitted) = (matrix(&f["y_insample"]), matrix(&f["y_hat_insample"]));
    let mut text = "unique_id,ds,y,m2,m1\n".to_string();
    for (i, id) in ids.iter().enumerate() {
        for t in 0..y.ncols() {
            let d = format!("2025-{:02}-{:02}", 1 + t / 28, 1 + t % 28);
            text += &format!(
                "{id},{d},{:e},{:e},{:e}\n",
                y[(i, t)],
                fitted[(i, t)],
                fitted[(i, t)]
            );
        }
    }
    std::fs::write(dir.join("I.csv"), text).unwrap();
}

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_adsales"))
        .arg("reconcile")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// `adsales reconcile` on the files gives hierarchicalforecast's numbers for every method,
/// in F.csv's row order, for each model column.
#[test]
fn the_command_reconciles_files_like_hierarchicalforecast() {
    for f in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        write_files(&f, dir.path());
        let ids: Vec<String> = f["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().into())
            .collect();
        for (name, _) in METHODS {
            let o = run(
                dir.path(),
                &[
                    "--forecasts",
                    "F.csv",
                    "--structure",
                    "S.csv",
                    "--insample",
                    "I.csv",
                    "--method",
                    name,
                    "--output",
                    "out.csv",
                ],
            );
            let err = String::from_utf8_lossy(&o.stderr);
            if f["errors"].get(name).is_some() {
                assert_eq!(o.status.code(), Some(2), "{name}: {err}");
                assert!(err.contains("strict hierarchy"), "{err}");
                assert!(
                    !dir.path().join("out.csv").exists(),
                    "nothing written on an error"
                );
                continue;
            }
            assert!(o.status.success(), "{name}: {err}");
            let want = matrix(&f["results"][name]);
            let text = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
            let mut lines = text.lines();
            assert_eq!(lines.next(), Some("unique_id,ds,m1,m2"));
            let mut n = 0;
            for (k, line) in lines.enumerate() {
                let cells: Vec<&str> = line.split(',').collect();
                let (h, i) = (k / ids.len(), k % ids.len());
                assert_eq!(cells[0], ids[i]);
                let (m1, m2): (f64, f64) = (cells[2].parse().unwrap(), cells[3].parse().unwrap());
                let w = want[(i, h)];
                assert!(
                    (m1 - w).abs() <= 1e-9 * w.abs().max(1.0),
                    "{name} {}: {m1} vs {w}",
                    ids[i]
                );
                // The second model column is reconciled on its own (linear methods double).
                assert!(m2.is_finite());
                n += 1;
            }
            assert_eq!(n, want.len());
            std::fs::remove_file(dir.path().join("out.csv")).unwrap();
        }
    }
}

/// Bad input: one message naming the file, row or column, exit 2, nothing written.
#[test]
fn bad_reconcile_input_is_refused_clearly() {
    let f = &fixtures()[0];
    let dir = tempfile::tempdir().unwrap();
    write_files(f, dir.path());
    let base = [
        "--forecasts",
        "F.csv",
        "--structure",
        "S.csv",
        "--output",
        "out.csv",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--method", "middle_out"], "is not a method"),
        (
            vec!["--method", "min_trace:mint_shrink"],
            "needs --insample",
        ),
        (
            vec!["--method", "bottom_up", "--nonnegative"],
            "applies to the min_trace methods",
        ),
    ];
    for (extra, want) in cases {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let o = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(want), "{extra:?}: {err}");
    }
    let text = std::fs::read_to_string(dir.path().join("F.csv")).unwrap();
    std::fs::write(
        dir.path().join("F.csv"),
        text.replacen("Total,", "Totl,", 1),
    )
    .unwrap();
    let o = run(
        dir.path(),
        &[&base[..], &["--method", "bottom_up"]].concat(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("F.csv: row 2: unique_id `Totl` is not in the structure"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("F.csv"),
        text.replacen("Total,2026-01-01,", "Total,2026-01-01,abc", 1),
    )
    .unwrap();
    let o = run(
        dir.path(),
        &[&base[..], &["--method", "bottom_up"]].concat(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("row 2, column `m1`") && err.contains("not a finite number"),
        "{err}"
    );
    assert!(!dir.path().join("out.csv").exists());
}

/// Non-negative MinTrace equals hierarchicalforecast's to its precision (clarabel's
/// interior-point tolerance, then float32: ~1e-6 of the largest value), never goes below zero, stays coherent,
/// and the constraint binds (some bottom value is exactly zero where theirs is ~1e-7).
#[test]
fn nonnegative_min_trace_equals_hierarchicalforecast() {
    let mut binding = 0;
    for f in fixtures() {
        let st = structure(&f);
        let y_hat = matrix(&f["y_hat_nonnegative"]);
        let (y, fitted) = (matrix(&f["y_insample"]), matrix(&f["y_hat_insample"]));
        let ins = Insample {
            y: &y,
            fitted: Some(&fitted),
        };
        for (name, want) in f["nonnegative"].as_object().unwrap() {
            let method = Method::parse(name).unwrap();
            let got = reconcile_nonnegative(&st, &y_hat, Some(&ins), method).unwrap();
            let want = matrix(want);
            close(&got, &want, 2e-6).unwrap_or_else(|e| panic!("{} {name}: {e}", f["name"]));
            assert!(got.iter().all(|v| *v >= 0.0), "{name}");
            let m = st.n_bottom();
            let summed = &st.s * got.rows(got.nrows() - m, m);
            close(&got, &summed, 1e-12).unwrap();
            binding += got
                .rows(got.nrows() - m, m)
                .iter()
                .filter(|v| **v == 0.0)
                .count();
            // Without the constraint the same forecasts go negative: the test can fail.
            let free = reconcile(&st, &y_hat, Some(&ins), method).unwrap();
            assert!(
                free.iter().any(|v| *v < 0.0),
                "{name}: the constraint must bind"
            );
        }
    }
    assert!(binding > 0);
}

fn small(ids: &[&str], rows: &[&[f64]]) -> Structure {
    let m = rows[0].len();
    let s = DMatrix::from_fn(rows.len(), m, |i, j| rows[i][j]);
    Structure::new(ids.iter().map(|s| s.to_string()).collect(), s).unwrap()
}

/// Review findings: a chain of single children (total → region → store) keeps top-down
/// coherent; 0/0 in-sample days are skipped like numpy's nanmean; a covariance from too few
/// days is refused instead of solved.
#[test]
fn reconcile_edge_cases_found_in_review() {
    let one: &[f64] = &[1.0, 1.0];
    let st = small(
        &["total", "region", "store", "a", "b"],
        &[one, one, one, &[1.0, 0.0], &[0.0, 1.0]],
    );
    let y_hat = DMatrix::from_column_slice(5, 1, &[100.0, 90.0, 80.0, 30.0, 50.0]);
    let got = reconcile(&st, &y_hat, None, Method::ForecastProportions).unwrap();
    assert_eq!(got.as_slice(), &[100.0, 100.0, 100.0, 37.5, 62.5]);

    let st = small(&["total", "a", "b"], &[one, &[1.0, 0.0], &[0.0, 1.0]]);
    let y = DMatrix::from_row_slice(3, 3, &[10.0, 0.0, 20.0, 4.0, 0.0, 6.0, 6.0, 0.0, 14.0]);
    let ins = Insample {
        y: &y,
        fitted: None,
    };
    let y_hat = DMatrix::from_column_slice(3, 1, &[100.0, 40.0, 50.0]);
    let got = reconcile(&st, &y_hat, Some(&ins), Method::AverageProportions).unwrap();
    // Mean of 0.4 and 0.3 for a, of 0.6 and 0.7 for b, the 0/0 day skipped.
    assert!(
        (got[(1, 0)] - 35.0).abs() < 1e-12 && (got[(2, 0)] - 65.0).abs() < 1e-12,
        "{got}"
    );

    let f = &fixtures()[2]; // grouped: 6 aggregates
    let st = structure(f);
    let (y, fitted) = (matrix(&f["y_insample"]), matrix(&f["y_hat_insample"]));
    let (y3, f3) = (
        y.columns(0, 3).into_owned(),
        fitted.columns(0, 3).into_owned(),
    );
    let ins = Insample {
        y: &y3,
        fitted: Some(&f3),
    };
    let err = reconcile(&st, &matrix(&f["y_hat"]), Some(&ins), Method::MintCov).unwrap_err();
    assert!(err.contains("ill-conditioned"), "{err}");
}
