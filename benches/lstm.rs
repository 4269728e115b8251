//! LSTM timing (not a test): per-epoch training time at 1 and 2 intra-op threads, and the
//! whole default grid (2 lr × 2 sequence lengths × 2 dropouts, early stopping) in each
//! scheduling mode. Compare with scripts/bench_lstm.py, which trains PyTorch on the same windows
//! (this bench writes the frame it uses to target/lstm_bench/frame.csv).
//!
//! Run (dev profile is fine: libtorch's kernels are optimised either way, and a cold release
//! build takes ~20 min on 2 cores):
//!     cargo bench --profile dev --bench lstm
//!     .venv-torch/bin/python scripts/bench_lstm.py target/lstm_bench/frame.csv
//! Optional argument `epochs` (default 20) for the per-epoch part; `--grid-only` / `--epoch-only`.

use std::io::Write;
use std::time::Instant;

use adsales::models::lstm::synthetic::synthetic_frame;
use adsales::models::lstm::{GridMode, LstmGrid, LstmSpec, fit_grid};
use adsales::models::{FitData, Frame};

const ROWS: usize = 700;
const FEATURES: usize = 30;

fn split(f: &Frame) -> FitData<'_> {
    // The protocol's 70 / 15 / 15 split.
    let train_end = f.len() * 70 / 100;
    let val_end = train_end + f.len() * 15 / 100;
    FitData {
        frame: f,
        train_end,
        val_end: Some(val_end),
    }
}

fn write_csv(f: &Frame, path: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "date,{}", f.names.join(","))?;
    for i in 0..f.len() {
        let row: Vec<String> = f.cols.iter().map(|c| format!("{:?}", c[i])).collect();
        writeln!(out, "{},{}", f.dates[i], row.join(","))?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let epochs: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(20);
    let grid_only = args.iter().any(|a| a == "--grid-only");
    let epoch_only = args.iter().any(|a| a == "--epoch-only");

    let frame = synthetic_frame(ROWS, FEATURES, 0.03, 42);
    let csv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lstm_bench/frame.csv");
    write_csv(&frame, &csv).expect("write frame csv");
    let data = split(&frame);
    println!(
        "frame: {ROWS} rows × {FEATURES} columns, train_end {}, val_end {:?} ({})",
        data.train_end,
        data.val_end,
        csv.display()
    );

    if !grid_only {
        // Per epoch: a fixed number of epochs (patience > epochs), default spec, both lengths.
        for threads in [1, 2] {
            for seq in [14, 30] {
                let spec = LstmSpec {
                    sequence_length: seq,
                    max_epochs: epochs,
                    patience: epochs + 1,
                    ..LstmSpec::default()
                };
                let t = Instant::now();
                let r = fit_grid(
                    std::slice::from_ref(&spec),
                    &data,
                    GridMode::Sequential { threads },
                );
                let secs = t.elapsed().as_secs_f64();
                let fitted = r.into_iter().next().unwrap().expect("fit");
                println!(
                    "epoch threads={threads} seq={seq}: {:.2} ms/epoch ({} epochs, final train loss {:.5})",
                    1000.0 * secs / fitted.history.epochs() as f64,
                    fitted.history.epochs(),
                    fitted.history.train_loss.last().unwrap()
                );
            }
        }
    }

    if !epoch_only {
        let specs = LstmGrid::default().specs();
        let mut reference = None;
        for mode in [
            GridMode::Sequential { threads: 1 },
            GridMode::Sequential { threads: 2 },
            GridMode::Concurrent { workers: 2 },
        ] {
            let t = Instant::now();
            let r: Vec<_> = fit_grid(&specs, &data, mode)
                .into_iter()
                .map(|r| r.expect("fit"))
                .collect();
            let secs = t.elapsed().as_secs_f64();
            let total: usize = r.iter().map(|f| f.history.epochs()).sum();
            println!(
                "grid {mode:?}: {secs:.2} s, {total} epochs ({:.2} ms/epoch); epochs per spec {:?}",
                1000.0 * secs / total as f64,
                r.iter().map(|f| f.history.epochs()).collect::<Vec<_>>()
            );
            match &reference {
                None => reference = Some(r),
                Some(first) => assert!(first == &r, "grid results differ between modes"),
            }
        }
        println!("grid results identical across modes");
    }
}
