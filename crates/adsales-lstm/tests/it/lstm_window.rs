//! Windowing: no window reads a label outside its split; inputs end at the origin.

use adsales::models::Frame;
use adsales_lstm::synthetic::synthetic_frame;
use adsales_lstm::window;

/// A frame whose target equals the row index, so a label's value says which row it came from.
fn indexed_frame(rows: usize) -> Frame {
    let mut f = synthetic_frame(rows, 10, 0.0, 1);
    f.cols[0] = (0..rows).map(|i| i as f64).collect();
    f
}

#[test]
fn training_labels_stay_in_train() {
    let f = indexed_frame(120);
    let (seq, h, train_end) = (14, 28, 80);
    let w = window::build(&f, window::train_origins(seq, train_end), train_end, seq, h);
    assert_eq!(w.ends.first(), Some(&(seq - 1)));
    assert_eq!(w.ends.last(), Some(&(train_end - 2)));
    for (k, &t) in w.ends.iter().enumerate() {
        for s in 0..h {
            let (y, m) = (w.y[k * h + s], w.mask[k * h + s]);
            let row = t + 1 + s;
            if m > 0.0 {
                assert!(row < train_end, "window {t} step {s} reads row {row}");
                assert_eq!(y, row as f32);
            } else {
                assert!(row >= train_end);
                assert_eq!(y, 0.0);
            }
        }
        // The last input row is the origin (target is column 0).
        let last_input = w.x[(k * seq + seq - 1) * w.n_features];
        assert_eq!(last_input, t as f32);
    }
}

#[test]
fn validation_labels_stay_in_validation() {
    let f = indexed_frame(120);
    let (seq, h, train_end, val_end) = (30, 28, 80, 100);
    let w = window::build(
        &f,
        window::val_origins(seq, train_end, val_end),
        val_end,
        seq,
        h,
    );
    assert_eq!(w.len(), val_end - train_end);
    for (k, &t) in w.ends.iter().enumerate() {
        // Inputs may reach back into train, labels may not.
        assert!(t + 1 >= train_end);
        let observed: Vec<usize> = (0..h)
            .filter(|&s| w.mask[k * h + s] > 0.0)
            .map(|s| t + 1 + s)
            .collect();
        assert!(!observed.is_empty());
        for row in observed {
            assert!((train_end..val_end).contains(&row), "label row {row}");
            assert_eq!(w.y[k * h + row - t - 1], row as f32);
        }
    }
}

#[test]
fn short_frames_give_no_windows() {
    let f = indexed_frame(20);
    let w = window::build(&f, window::train_origins(30, 15), 15, 30, 7);
    assert!(w.is_empty());
    assert!(window::input_window(&f, 10, 30).is_none());
    assert!(window::input_window(&f, 19, 20).is_some());
    assert!(window::input_window(&f, 20, 20).is_none());
}
