//! Deterministic sample data in the schema of the public "global ads performance" data set.
//!
//! Two years of days, several campaign rows per day across platforms, campaign types and
//! countries; spend grows with a trend, weekly seasonality and a few holiday spikes; revenue
//! is driven by spend and clicks with noise; a handful of days are missing entirely so the
//! gap-filling path is exercised on the bundled file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};

/// The header of the bundled CSV (the default schema of protocol §1).
pub const HEADER: &str = "date,platform,campaign_type,industry,country,impressions,clicks,CTR,CPC,ad_spend,conversions,CPA,revenue,ROAS";

const PLATFORMS: [(&str, f64); 3] = [("Google Ads", 1.0), ("Meta Ads", 0.8), ("TikTok Ads", 0.55)];
const CAMPAIGNS: [(&str, f64); 4] = [
    ("Search", 1.3),
    ("Shopping", 1.15),
    ("Display", 0.7),
    ("Video", 0.8),
];
const INDUSTRIES: [&str; 5] = ["EdTech", "E-commerce", "Fintech", "Healthcare", "SaaS"];
const COUNTRIES: [(&str, f64); 6] = [
    ("USA", 1.25),
    ("UK", 1.1),
    ("Germany", 1.05),
    ("Canada", 1.0),
    ("India", 0.6),
    ("Brazil", 0.7),
];

/// Settings for [`generate`].
#[derive(Debug, Clone)]
pub struct SampleSpec {
    pub start: NaiveDate,
    pub days: usize,
    pub seed: u64,
    /// Minimum and maximum campaign rows per day.
    pub rows_per_day: (usize, usize),
    /// Days (offsets from `start`) that have no rows at all.
    pub missing_days: Vec<usize>,
}

impl Default for SampleSpec {
    fn default() -> Self {
        SampleSpec {
            start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date"),
            days: 731,
            seed: 42,
            rows_per_day: (7, 9),
            // Five single missing days, as in the real public data (all in the first year).
            missing_days: vec![45, 101, 178, 240, 311],
        }
    }
}

/// Multiplier for holiday spikes: Black Friday / Cyber Monday, the pre-Christmas rush,
/// a mid-July sales event and Valentine's day.
fn holiday_boost(d: NaiveDate) -> f64 {
    let (m, day) = (d.month(), d.day());
    // Black Friday: the day after the fourth Thursday of November.
    let thanksgiving = {
        let first = NaiveDate::from_ymd_opt(d.year(), 11, 1).expect("valid date");
        let offset = (7 + Weekday::Thu.num_days_from_monday() as i64
            - first.weekday().num_days_from_monday() as i64)
            % 7;
        first + Duration::days(offset + 21)
    };
    let bf = thanksgiving + Duration::days(1);
    if d == bf {
        2.6
    } else if d == bf + Duration::days(3) {
        2.0
    } else if d > bf && d < bf + Duration::days(3) {
        1.6
    } else if m == 12 && (15..=23).contains(&day) {
        1.45
    } else if m == 7 && (15..=16).contains(&day) {
        1.8
    } else if m == 2 && day == 14 {
        1.3
    } else {
        1.0
    }
}

/// Weekly pattern of spend (weekends lower for B2B-heavy mixes, Friday higher).
fn weekday_factor(d: NaiveDate) -> f64 {
    match d.weekday() {
        Weekday::Mon => 1.05,
        Weekday::Tue => 1.08,
        Weekday::Wed => 1.06,
        Weekday::Thu => 1.02,
        Weekday::Fri => 1.12,
        Weekday::Sat => 0.82,
        Weekday::Sun => 0.78,
    }
}

/// Writes the sample CSV to `out`. The same spec always produces the same bytes.
pub fn generate(spec: &SampleSpec, out: &mut dyn Write) -> Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let noise = Normal::new(0.0, 1.0).expect("valid normal");
    let budget_noise = LogNormal::new(0.0, 0.25).expect("valid lognormal");
    writeln!(out, "{HEADER}")?;
    let mut rows = 0;
    // A slowly wandering market level (AR(1) in logs) so the series is not a pure sine.
    let mut market = 0.0f64;
    for i in 0..spec.days {
        market = 0.9 * market + 0.04 * noise.sample(&mut rng);
        if spec.missing_days.contains(&i) {
            continue;
        }
        let date = spec.start + Duration::days(i as i64);
        let trend = 1.0 + 0.35 * (i as f64 / 365.0);
        let day_level = trend * weekday_factor(date) * holiday_boost(date) * market.exp();
        let n = rng.random_range(spec.rows_per_day.0..=spec.rows_per_day.1);
        for _ in 0..n {
            let (platform, p_eff) = PLATFORMS[rng.random_range(0..PLATFORMS.len())];
            let (campaign, c_eff) = CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())];
            let industry = INDUSTRIES[rng.random_range(0..INDUSTRIES.len())];
            let (country, k_eff) = COUNTRIES[rng.random_range(0..COUNTRIES.len())];
            let spend = (1800.0 * day_level * budget_noise.sample(&mut rng)).max(5.0);
            let cpm = (9.0 / p_eff * (1.0 + 0.1 * noise.sample(&mut rng))).clamp(2.0, 40.0);
            let impressions = (spend / cpm * 1000.0).round().max(1.0);
            let ctr = (0.018 * c_eff * (1.0 + 0.15 * noise.sample(&mut rng))).clamp(0.002, 0.1);
            let clicks = (impressions * ctr).round().max(0.0);
            let cvr = (0.035 * k_eff * (1.0 + 0.2 * noise.sample(&mut rng))).clamp(0.002, 0.2);
            let conversions = (clicks * cvr).round().max(0.0);
            // Revenue: mostly spend-driven return plus a click-driven part, with noise that
            // keeps it positive.
            let roas_base = 2.2 * p_eff.sqrt() * k_eff * holiday_boost(date).sqrt();
            let revenue =
                (spend * roas_base + clicks * 1.5) * (1.0 + 0.18 * noise.sample(&mut rng)).max(0.2);
            let ctr_pct = if impressions > 0.0 {
                clicks / impressions * 100.0
            } else {
                0.0
            };
            let cpc = if clicks > 0.0 { spend / clicks } else { 0.0 };
            let cpa = if conversions > 0.0 {
                spend / conversions
            } else {
                0.0
            };
            let roas = revenue / spend;
            writeln!(
                out,
                "{date},{platform},{campaign},{industry},{country},{impressions:.0},{clicks:.0},{ctr_pct:.2},{cpc:.2},{spend:.2},{conversions:.0},{cpa:.2},{revenue:.2},{roas:.2}"
            )?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// Writes the sample CSV to `path` atomically (temp file + rename).
pub fn write_file(spec: &SampleSpec, path: &Path) -> Result<usize> {
    let mut buf = Vec::new();
    let rows = generate(spec, &mut buf)?;
    crate::util::fsutil::write_atomic(path, &buf)
        .with_context(|| format!("writing sample data to {}", path.display()))?;
    Ok(rows)
}
