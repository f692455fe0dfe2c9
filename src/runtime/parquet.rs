//! Parquet price feed (the `parquet` cargo feature, on by default): bars from a Parquet file,
//! one row group in memory at a time.
//!
//! Contract: columns are found by name as for CSV (`runtime::feed`: a time column `datetime`,
//! `timestamp`, `date` or `time`, or one named with its epoch unit; `open`, `high`, `low`,
//! `close`, optional `volume`; case-insensitive). Times may be Parquet timestamps (milliseconds,
//! microseconds; nanoseconds stored as integers are read as epochs), dates, epoch integers (unit
//! as for CSV: `--time-unit`, the column's name, else guessed from the first) or text in the
//! forms CSV accepts; a time without a zone (a string without an offset, a date, a timestamp not
//! adjusted to UTC) is read in `--timezone` when one is given. Prices and volumes may be any
//! integer or floating-point type. The same rules as CSV hold for every bar (no null, no
//! negative or non-finite price, high ≥ low with open and close between them, time strictly
//! increasing), and an error names the file, the row group, the row in it, the row in the file
//! and the column. Bars are read row group by row group: memory is one row group's bars.

use std::fs::File;
use std::path::Path;

use parquet::basic::LogicalType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use crate::runtime::engine::BarSource;
use crate::runtime::feed::{
    Bar, Columns, FeedError, RowError, TimeColumns, TimeUnit, UnitSource, check_prices,
    find_columns, format_time_ms, parse_timestamp,
};

/// A Parquet file read as bars (see the module contract).
pub struct ParquetFeed {
    name: String,
    reader: SerializedFileReader<File>,
    decoder: Decoder,
    /// Column names, as written.
    header: Vec<String>,
    /// The next row group to read.
    group: usize,
    /// Rows read before the current group.
    rows_before: u64,
    /// The current group's bars, and the next one to hand out.
    bars: Vec<Bar>,
    at: usize,
    /// Time of the last bar, and where it was (row of the file).
    last: Option<(i64, u64)>,
}

/// What turns a row's fields into a bar.
struct Decoder {
    columns: Columns,
    /// The time column holds instants not adjusted to UTC (local times).
    naive_time: bool,
    unit: Option<(TimeUnit, UnitSource)>,
    zone: Option<jiff::tz::TimeZone>,
}

/// Whether `path` names a Parquet file (by its extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

impl ParquetFeed {
    /// Opens a Parquet file and finds its columns.
    pub fn open(path: &Path) -> Result<ParquetFeed, FeedError> {
        let name = path.display().to_string();
        let fail = |message: String| FeedError {
            file: name.clone(),
            line: 0,
            column: None,
            message,
        };
        let file = File::open(path).map_err(|e| fail(format!("cannot open file: {e}")))?;
        let reader = SerializedFileReader::new(file)
            .map_err(|e| fail(format!("not a readable Parquet file: {e}")))?;
        let schema = reader.metadata().file_metadata().schema_descr();
        let header: Vec<String> = schema
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        let columns = find_columns(&header).map_err(fail)?;
        let TimeColumns::Single(time) = columns.time else {
            return Err(fail(
                "separate date and time columns are not supported in Parquet: store one timestamp column".into(),
            ));
        };
        let naive_time = match schema.column(time).logical_type_ref() {
            Some(LogicalType::Timestamp(t)) => !t.is_adjusted_to_u_t_c,
            _ => true,
        };
        let unit = columns.named_unit.map(|u| (u, UnitSource::ColumnName));
        Ok(ParquetFeed {
            name,
            reader,
            decoder: Decoder {
                columns,
                naive_time,
                unit,
                zone: None,
            },
            header,
            group: 0,
            rows_before: 0,
            bars: Vec::new(),
            at: 0,
            last: None,
        })
    }

    /// The unit of epoch integers (`--time-unit`).
    pub fn set_time_unit(&mut self, unit: TimeUnit) {
        self.decoder.unit = Some((unit, UnitSource::Given));
    }

    /// The zone of times without one.
    pub fn set_timezone(&mut self, zone: jiff::tz::TimeZone) {
        self.decoder.zone = Some(zone);
    }

    pub fn time_unit(&self) -> Option<(TimeUnit, UnitSource)> {
        self.decoder.unit
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the next row group's bars; false at the end of the file.
    fn next_group(&mut self) -> Result<bool, FeedError> {
        self.rows_before += self.bars.len() as u64;
        self.bars.clear();
        self.at = 0;
        while self.group < self.reader.num_row_groups() {
            let g = self.group;
            self.group += 1;
            let (name, header, rows_before) = (&self.name, &self.header, self.rows_before);
            let fail = |message: String| FeedError {
                file: format!("{name}: row group {g}"),
                line: 0,
                column: None,
                message,
            };
            let located = |row: u64, e: RowError| FeedError {
                file: format!(
                    "{name}: row group {g}, row {} (row {row} of the file)",
                    row - rows_before
                ),
                line: 0,
                column: e.column.and_then(|i| header.get(i).cloned()),
                message: e.message,
            };
            let group = self
                .reader
                .get_row_group(g)
                .map_err(|e| fail(format!("cannot read: {e}")))?;
            let rows = group
                .get_row_iter(None)
                .map_err(|e| fail(format!("cannot read: {e}")))?;
            let time_column = self.decoder.time_column();
            for (k, row) in rows.enumerate() {
                let row_in_file = rows_before + k as u64;
                let row = row.map_err(|e| fail(format!("cannot read row {k}: {e}")))?;
                let fields: Vec<Field> = row.into_columns().into_iter().map(|(_, f)| f).collect();
                let bar = self
                    .decoder
                    .bar(&fields)
                    .map_err(|e| located(row_in_file, e))?;
                if let Some((previous, previous_row)) = self.last
                    && bar.time <= previous
                {
                    let e = RowError::at(
                        time_column,
                        format!(
                            "time does not increase: {} after {} (row {previous_row})",
                            format_time_ms(bar.time),
                            format_time_ms(previous)
                        ),
                    );
                    return Err(located(row_in_file, e));
                }
                self.last = Some((bar.time, row_in_file));
                self.bars.push(bar);
            }
            if !self.bars.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Decoder {
    fn time_column(&self) -> usize {
        match self.columns.time {
            TimeColumns::Single(i) | TimeColumns::Split { date: i, .. } => i,
        }
    }

    fn bar(&mut self, fields: &[Field]) -> Result<Bar, RowError> {
        let c = self.columns;
        let number = |i: usize| -> Result<f64, RowError> {
            let v = match fields.get(i) {
                Some(Field::Double(v)) => *v,
                Some(Field::Float(v)) => f64::from(*v),
                Some(Field::Long(v)) => *v as f64,
                Some(Field::Int(v)) => f64::from(*v),
                Some(Field::Short(v)) => f64::from(*v),
                Some(Field::Byte(v)) => f64::from(*v),
                Some(Field::ULong(v)) => *v as f64,
                Some(Field::UInt(v)) => f64::from(*v),
                Some(Field::UShort(v)) => f64::from(*v),
                Some(Field::UByte(v)) => f64::from(*v),
                Some(Field::Null) | None => {
                    return Err(RowError::at(i, "empty cell (null)".to_string()));
                }
                Some(other) => {
                    return Err(RowError::at(i, format!("not a number: {other}")));
                }
            };
            if v.is_finite() {
                Ok(v)
            } else {
                Err(RowError::at(i, format!("not a finite number `{v}`")))
            }
        };
        let t = self.time_column();
        let time = self.time(t, fields.get(t))?;
        let bar = Bar {
            time,
            open: number(c.open)?,
            high: number(c.high)?,
            low: number(c.low)?,
            close: number(c.close)?,
            volume: match c.volume {
                Some(i) => number(i)?,
                None => 0.0,
            },
        };
        check_prices(&bar, &c)?;
        Ok(bar)
    }

    /// A time cell in milliseconds since 1970 UTC.
    fn time(&mut self, i: usize, field: Option<&Field>) -> Result<i64, RowError> {
        let bad = |why: &str| RowError::at(i, format!("malformed time: {why}"));
        let (ms, naive) = match field {
            Some(Field::TimestampMillis(v)) => (*v, self.naive_time),
            Some(Field::TimestampMicros(v)) => (v.div_euclid(1000), self.naive_time),
            Some(Field::Date(d)) => (i64::from(*d) * 86_400_000, true),
            Some(Field::Long(v)) => (
                self.epoch(*v).ok_or_else(|| bad("epoch out of range"))?,
                false,
            ),
            Some(Field::Int(v)) => (
                self.epoch(i64::from(*v))
                    .ok_or_else(|| bad("epoch out of range"))?,
                false,
            ),
            Some(Field::Str(s)) => {
                let ms = parse_timestamp(s.as_bytes()).map_err(bad)?;
                let offset = s
                    .get(11..)
                    .is_some_and(|t| t.contains(['Z', 'z', '+', '-']));
                (ms, !offset)
            }
            Some(Field::Null) | None => {
                return Err(RowError::at(i, "empty cell (null)".to_string()));
            }
            Some(other) => return Err(bad(&format!("unsupported type: {other}"))),
        };
        match (&self.zone, naive) {
            (Some(zone), true) => {
                let civil = jiff::Timestamp::from_millisecond(ms)
                    .map_err(|_| bad("out of range"))?
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .datetime();
                zone.to_ambiguous_timestamp(civil)
                    .compatible()
                    .map(|t| t.as_millisecond())
                    .map_err(|_| bad("out of range in the time zone"))
            }
            _ => Ok(ms),
        }
    }

    /// An epoch integer in milliseconds, its unit as for CSV.
    fn epoch(&mut self, v: i64) -> Option<i64> {
        let unit = match self.unit {
            Some((u, _)) => u,
            None => {
                let u = TimeUnit::guess(v);
                self.unit = Some((u, UnitSource::Guessed));
                u
            }
        };
        unit.to_ms(v)
    }
}

impl BarSource for ParquetFeed {
    fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        if self.at == self.bars.len() && !self.next_group()? {
            return Ok(None);
        }
        let bar = self.bars[self.at];
        self.at += 1;
        Ok(Some(bar))
    }
}
