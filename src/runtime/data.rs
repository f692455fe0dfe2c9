//! A data file of either format, chosen by its extension: CSV, or Parquet (`.parquet`, `.pq`;
//! the `parquet` cargo feature).
//!
//! Contract: [`DataFile::open`] opens and reads the header (or the Parquet footer and schema);
//! the result is a [`BarSource`] with the same validation and located errors whatever the
//! format. `--skip-bad-rows` applies to CSV only (a Parquet file is typed: a bad row stops it).

use std::path::Path;

use crate::runtime::engine::BarSource;
use crate::runtime::feed::{Bar, CsvFeed, FeedError, TimeUnit, UnitSource};

pub enum DataFile {
    Csv(Box<CsvFeed<std::fs::File>>),
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::runtime::parquet::ParquetFeed>),
}

impl DataFile {
    pub fn open(path: &Path, skip_bad_rows: bool) -> Result<DataFile, FeedError> {
        #[cfg(feature = "parquet")]
        if crate::runtime::parquet::is_parquet(path) {
            return crate::runtime::parquet::ParquetFeed::open(path)
                .map(|f| DataFile::Parquet(Box::new(f)));
        }
        #[cfg(not(feature = "parquet"))]
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        {
            return Err(FeedError {
                file: path.display().to_string(),
                line: 0,
                column: None,
                message: "this btl was built without Parquet support (the `parquet` cargo feature)"
                    .into(),
            });
        }
        CsvFeed::open(path, skip_bad_rows).map(|f| DataFile::Csv(Box::new(f)))
    }

    pub fn set_time_unit(&mut self, unit: TimeUnit) {
        match self {
            DataFile::Csv(f) => f.set_time_unit(unit),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(f) => f.set_time_unit(unit),
        }
    }

    pub fn set_timezone(&mut self, zone: jiff::tz::TimeZone) {
        match self {
            DataFile::Csv(f) => f.set_timezone(zone),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(f) => f.set_timezone(zone),
        }
    }

    pub fn time_unit(&self) -> Option<(TimeUnit, UnitSource)> {
        match self {
            DataFile::Csv(f) => f.time_unit(),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(f) => f.time_unit(),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            DataFile::Csv(f) => f.name(),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(f) => f.name(),
        }
    }

    /// The first malformed row skipped (CSV with `--skip-bad-rows`).
    pub fn first_skipped(&self) -> Option<&FeedError> {
        match self {
            DataFile::Csv(f) => f.first_skipped(),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(_) => None,
        }
    }
}

impl BarSource for DataFile {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        match self {
            DataFile::Csv(f) => f.next_bar(),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(f) => f.next_bar(),
        }
    }

    fn skipped_rows(&self) -> u64 {
        match self {
            DataFile::Csv(f) => f.skipped_rows(),
            #[cfg(feature = "parquet")]
            DataFile::Parquet(_) => 0,
        }
    }
}
