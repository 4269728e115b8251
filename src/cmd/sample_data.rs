//! `adsales sample-data`: writes the deterministic synthetic data set (the bundled CSV).

use std::path::PathBuf;

use anyhow::Result;

use crate::data::sample::{SampleSpec, write_file};

/// `adsales sample-data`'s arguments.
#[derive(clap::Args, Debug)]
pub struct SampleDataArgs {
    /// Output CSV path.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "data/raw/global_ads_performance_dataset.csv"
    )]
    pub out: PathBuf,
    /// RNG seed; the same seed always gives the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of calendar days from 2024-01-01.
    #[arg(long, default_value_t = 731)]
    pub days: usize,
}

impl SampleDataArgs {
    pub fn options(&self) -> SampleSpec {
        SampleSpec {
            seed: self.seed,
            days: self.days,
            ..Default::default()
        }
    }

    /// Writes the file and says how much it wrote.
    pub fn execute(&self, g: super::Global) -> Result<()> {
        crate::util::logging::init(g.verbosity, None);
        let rows = write_file(&self.options(), &self.out)?;
        println!(
            "wrote {rows} rows over {} days to {}",
            self.days,
            self.out.display()
        );
        Ok(())
    }
}
