//! Plot artifacts (plotters): history with forecast bands, and per-horizon RMSE by family.
//! PNG through the bitmap backend with a vendored DejaVu Sans font (no system font
//! libraries needed), SVG through the SVG backend; the file extension picks.

use std::path::Path;
use std::sync::Once;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;

/// A forecast line with its interval band.
#[derive(Debug, Clone)]
pub struct Band {
    pub name: String,
    pub dates: Vec<NaiveDate>,
    pub mean: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

type PlotResult = Result<(), String>;

/// Draws with `$draw` on the backend the file extension of `$path` picks (.png or .svg).
/// A macro because the drawing functions are generic over the backend type.
macro_rules! on_backend {
    ($path:expr, $size:expr, $draw:ident, $($arg:expr),*) => {{
        register_font();
        let ext = $path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("png") => $draw(BitMapBackend::new($path, $size).into_drawing_area(), $($arg),*),
            Some("svg") => $draw(SVGBackend::new($path, $size).into_drawing_area(), $($arg),*),
            _ => Err(format!("{}: plot files must end in .png or .svg", $path.display())),
        }
    }};
}

fn days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days() as i32
}

fn date_of(x: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid") + chrono::Duration::days(x as i64)
}

/// Writes a history + forecast-bands chart to `path` (.png or .svg).
pub fn forecast_chart(
    path: &Path,
    title: &str,
    history: &[(NaiveDate, f64)],
    bands: &[Band],
) -> PlotResult {
    on_backend!(path, (1200, 600), draw_forecast, title, history, bands)
}

fn draw_forecast<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    history: &[(NaiveDate, f64)],
    bands: &[Band],
) -> PlotResult {
    root.fill(&WHITE).map_err(area_err)?;
    let Some((xmin, xmax)) = day_extent(history, bands) else {
        return Err("nothing to plot".into());
    };
    let (ymin, ymax) = value_extent(history, bands);
    let pad = ((ymax - ymin) * 0.05).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(xmin..xmax + 1, (ymin - pad)..(ymax + pad))
        .map_err(area_err)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| date_of(*x).format("%Y-%m-%d").to_string())
        .y_label_formatter(&|y| format!("{y:.0}"))
        .y_desc("revenue ($)")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(area_err)?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|(d, v)| (days(*d), *v)),
            BLACK.stroke_width(1),
        ))
        .map_err(area_err)?
        .label("actual")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
    for (k, b) in bands.iter().enumerate() {
        draw_band(&mut chart, b, PALETTE[k % PALETTE.len()])?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(area_err)?;
    root.present().map_err(area_err)
}

/// Drawing errors as the message `PlotResult` carries.
fn area_err<E: std::error::Error + Send + Sync>(x: DrawingAreaErrorKind<E>) -> String {
    x.to_string()
}

/// First and last day (as day numbers) over the history and every band; `None` when there
/// are no dates at all.
fn day_extent(history: &[(NaiveDate, f64)], bands: &[Band]) -> Option<(i32, i32)> {
    let xs = history
        .iter()
        .map(|(d, _)| days(*d))
        .chain(bands.iter().flat_map(|b| b.dates.iter().map(|d| days(*d))));
    let (xmin, xmax) = xs.fold((i32::MAX, i32::MIN), |(a, b), x| (a.min(x), b.max(x)));
    (xmin <= xmax).then_some((xmin, xmax))
}

/// Lowest and highest finite value over the history and the band edges.
fn value_extent(history: &[(NaiveDate, f64)], bands: &[Band]) -> (f64, f64) {
    let ys = history
        .iter()
        .map(|(_, v)| *v)
        .chain(
            bands
                .iter()
                .flat_map(|b| b.lower.iter().chain(&b.upper).copied()),
        )
        .filter(|v| v.is_finite());
    ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    })
}

/// One forecast: the interval as a translucent polygon (upper edge forward, lower edge
/// back), then the mean line with its legend entry.
fn draw_band<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordi32, RangedCoordf64>>,
    b: &Band,
    color: RGBColor,
) -> PlotResult {
    let mut poly: Vec<(i32, f64)> = b
        .dates
        .iter()
        .zip(&b.upper)
        .map(|(d, u)| (days(*d), *u))
        .collect();
    poly.extend(
        b.dates
            .iter()
            .zip(&b.lower)
            .rev()
            .map(|(d, l)| (days(*d), *l)),
    );
    chart
        .draw_series(std::iter::once(Polygon::new(
            poly,
            color.mix(0.15).filled(),
        )))
        .map_err(area_err)?;
    chart
        .draw_series(LineSeries::new(
            b.dates.iter().zip(&b.mean).map(|(d, m)| (days(*d), *m)),
            color.stroke_width(2),
        ))
        .map_err(area_err)?
        .label(b.name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    Ok(())
}

/// Writes per-horizon RMSE lines (one per family) to `path` (.png or .svg).
pub fn step_rmse_chart(path: &Path, series: &[(String, Vec<f64>)]) -> PlotResult {
    on_backend!(path, (900, 500), draw_steps, series)
}

fn draw_steps<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    series: &[(String, Vec<f64>)],
) -> PlotResult {
    root.fill(&WHITE).map_err(area_err)?;
    let h = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let vals = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    if !lo.is_finite() {
        return Err("nothing to plot".into());
    }
    let pad = ((hi - lo) * 0.1).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption("Test RMSE by forecast step", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(1..h as i32, (lo - pad).max(0.0)..(hi + pad))
        .map_err(area_err)?;
    chart
        .configure_mesh()
        .x_desc("step (days ahead)")
        .y_desc("RMSE ($)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(area_err)?;
    for (k, (name, v)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let pts: Vec<(i32, f64)> = v
            .iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, y)| (i as i32 + 1, *y))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(area_err)?
            .label(name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
            .map_err(area_err)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(area_err)?;
    root.present().map_err(area_err)
}

/// Draws with `draw` into a temp file next to `path`, then renames: readers never see a
/// half-drawn image.
pub fn write_atomically(path: &Path, draw: impl FnOnce(&Path) -> PlotResult) -> PlotResult {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    let res = draw(&tmp)
        .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display())));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
