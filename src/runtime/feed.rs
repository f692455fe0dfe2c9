//! CSV price feed: streams OHLCV bars from a CSV file, one row at a time.
//!
//! Takes: any [`std::io::Read`] (a file, a pipe, bytes in memory) holding CSV with a header row,
//! separated by `,`, or by `;`, tabs or `|` when the header line has no comma (the most frequent
//! of them). Input whose first 64 KiB hold a NUL byte (UTF-16, binary) is refused as not text.
//! Columns are found by name, case-insensitively and ignoring surrounding whitespace:
//!
//! - time: `datetime`, `timestamp`, separate `date` + `time` columns, `date` or `time`
//!   (in that order of preference);
//! - `open`, `high`, `low`, `close` (required) and `volume` (optional: 0.0 when absent);
//! - anything else (Yahoo's `Adj Close`, say) is ignored.
//!
//! A missing or duplicated column is an error on the header's line. Every row must have as
//! many fields as the header: too few or too many is an error (an unquoted decimal comma
//! shows up as one field too many). Cells are trimmed of spaces and tabs; numbers are parsed
//! with `fast-float2`.
//!
//! Time cells may be an ISO date `2024-01-31` (midnight UTC); a date and time
//! `2024-01-31 09:30:00` or `2024-01-31T09:30` with optional fractional seconds and an optional
//! `Z` or `±hh:mm` offset; or an integer epoch. The unit of epoch integers is, in this order: the
//! one given ([`CsvFeed::set_time_unit`], the CLI's `--time-unit`); the one the time column's name
//! says (`timestamp_ms`, `time_s`, `epoch_us`, `unix_ns`: a time name with a `_s`, `_ms`, `_us`
//! or `_ns` suffix); else it is guessed from the first epoch's magnitude (at least 10^17: ns,
//! 10^14: µs, 10^11: ms, else seconds) and kept for the whole file, and
//! [`CsvFeed::time_unit`] says it was guessed, so the CLI can say which unit it assumed
//! (millisecond data from before March 1973 looks like seconds). `20240131` is an epoch, not a
//! date: `YYYYMMDD` is not supported.
//! With `date` + `time` columns the date cell holds `2024-01-31` and the time cell `09:30`,
//! `09:30:00` (fractions and offsets allowed as above). Bar times are `i64` milliseconds since
//! 1970-01-01 UTC.
//!
//! Guarantees:
//! - Streams: memory is bounded by the longest row plus a fixed read buffer, whatever the
//!   file's length. One `csv::ByteRecord` is reused; nothing is allocated per good row.
//! - Every bar returned is valid: finite, non-negative prices and volume, `low <= open, close <=
//!   high`, and its time strictly greater than the previous bar's.
//! - Never panics on any input, including invalid UTF-8.
//! - Errors are [`FeedError`]s naming the file, the 1-based physical line where the record
//!   starts (a line break is `\n`, `\r\n` or a lone `\r`; blank lines count), the column (as
//!   spelled in the header) when there is one, and a short lower-case message:
//!   ``prices.csv:17: column `close`: malformed number `12,5` ``.
//! - A quote left open swallows the lines after it into one cell (a quoted cell may hold line
//!   breaks): when that cell is a column btl reads, or the row is bad, the error says
//!   `unterminated quote`, on the quote's line, and the lines it took in are read again as rows:
//!   skipping skips that line only. When a later line's quote closes the cell, that line is a bad
//!   row too (its quote closes a cell opened earlier), and the lines between are read as rows.
//! - With `skip_bad_rows`, a bad row is skipped and counted instead of returned as an error;
//!   the next row is compared with the last *good* row's time. Header, empty-file and I/O
//!   errors are always errors.
//!
//! Must not: load the whole input, or depend on anything else in the crate (it is a leaf).
//!
//! Line numbers: `csv`'s `ByteRecord::position().line()` is where the parser *started*, which is
//! one line early after a CRLF (the `\n` is still pending) and early after blank lines. So the
//! input goes through `LineTracker`, which notes where each line's content starts; a record's
//! line is that of the first content start at or after the record's byte position. Memory stays
//! bounded: entries behind the current record are dropped as records are read.

use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// One bar. `time` is milliseconds since 1970-01-01 UTC. `repr(C)`: compiled code reads its
/// fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// A feed error: `file:line: [column `x`: ]message`.
///
/// `line` is the 1-based physical line where the offending record starts; 0 when the error
/// has no line (the file could not be opened). `column` is the column's name as written in the
/// header.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedError {
    pub file: String,
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if self.line > 0 {
            write!(f, "{}:", self.line)?;
        }
        if let Some(column) = &self.column {
            write!(f, " column `{column}`:")?;
        }
        write!(f, " {}", self.message)
    }
}

impl std::error::Error for FeedError {}

/// Where the time comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TimeColumns {
    /// One column holding a date, a date and time, or an epoch integer.
    Single(usize),
    /// A `date` column (`2024-01-31`) and a `time` column (`09:30:00`).
    Split { date: usize, time: usize },
}

/// The unit of epoch integers in a time column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Millis => "milliseconds",
            TimeUnit::Micros => "microseconds",
            TimeUnit::Nanos => "nanoseconds",
        }
    }

    /// `s`, `ms`, `us`, `ns` (as written in a flag or a column name's suffix).
    pub fn parse(s: &str) -> Option<TimeUnit> {
        match s.to_ascii_lowercase().as_str() {
            "s" => Some(TimeUnit::Seconds),
            "ms" => Some(TimeUnit::Millis),
            "us" | "µs" => Some(TimeUnit::Micros),
            "ns" => Some(TimeUnit::Nanos),
            _ => None,
        }
    }

    /// The unit an epoch of this magnitude most likely has.
    pub(crate) fn guess(value: i64) -> TimeUnit {
        match value.unsigned_abs() {
            v if v >= 100_000_000_000_000_000 => TimeUnit::Nanos,
            v if v >= 100_000_000_000_000 => TimeUnit::Micros,
            v if v >= EPOCH_MS_THRESHOLD as u64 => TimeUnit::Millis,
            _ => TimeUnit::Seconds,
        }
    }

    /// `value` of this unit in milliseconds (rounded down).
    pub(crate) fn to_ms(self, value: i64) -> Option<i64> {
        match self {
            TimeUnit::Seconds => value.checked_mul(1000),
            TimeUnit::Millis => Some(value),
            TimeUnit::Micros => Some(value.div_euclid(1000)),
            TimeUnit::Nanos => Some(value.div_euclid(1_000_000)),
        }
    }
}

/// Where the epoch unit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitSource {
    Given,
    ColumnName,
    Guessed,
}

impl Columns {
    /// Whether column `i` is read (time, prices or volume).
    fn uses(&self, i: usize) -> bool {
        let time = match self.time {
            TimeColumns::Single(t) => t == i,
            TimeColumns::Split { date, time } => date == i || time == i,
        };
        time || [self.open, self.high, self.low, self.close].contains(&i) || self.volume == Some(i)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub time: TimeColumns,
    /// The epoch unit the time column's name gives (`timestamp_ms`).
    pub named_unit: Option<TimeUnit>,
    pub open: usize,
    pub high: usize,
    pub low: usize,
    pub close: usize,
    pub volume: Option<usize>,
}

/// A row-level problem, before it is given a file and line.
pub(crate) struct RowError {
    pub column: Option<usize>,
    pub message: String,
}

impl RowError {
    pub(crate) fn at(column: usize, message: String) -> Self {
        RowError {
            column: Some(column),
            message,
        }
    }
}

/// Passes bytes through to the CSV parser and remembers `(byte offset, line)` of every line's
/// first non-break byte that the parser has read but not yet moved past.
struct LineTracker<R> {
    inner: R,
    /// Bytes passed through so far.
    offset: u64,
    /// Line of the next byte.
    line: u64,
    /// The last byte was a line break (or nothing was read yet).
    at_break: bool,
    /// The last byte was `\r`: a `\n` now completes the same break.
    after_cr: bool,
    starts: VecDeque<(u64, u64)>,
    /// The input has ended.
    eof: bool,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R) -> Self {
        LineTracker {
            inner,
            offset: 0,
            line: 1,
            at_break: true,
            after_cr: false,
            starts: VecDeque::new(),
            eof: false,
        }
    }

    fn scan(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while let Some(&b) = chunk.get(i) {
            if self.at_break {
                match b {
                    b'\r' => {
                        self.line += 1;
                        self.after_cr = true;
                        i += 1;
                        continue;
                    }
                    b'\n' => {
                        if !self.after_cr {
                            self.line += 1;
                        }
                        self.after_cr = false;
                        i += 1;
                        continue;
                    }
                    _ => {
                        self.starts.push_back((self.offset + i as u64, self.line));
                        self.at_break = false;
                        self.after_cr = false;
                    }
                }
            }
            match chunk.get(i..).and_then(find_line_break) {
                Some(p) => {
                    i += p;
                    self.at_break = true;
                }
                None => break,
            }
        }
        self.offset += chunk.len() as u64;
    }

    /// The line of the first content at or after byte `offset`, forgetting earlier lines.
    /// Offsets must not decrease between calls.
    fn line_at(&mut self, offset: u64) -> u64 {
        while self.starts.front().is_some_and(|&(at, _)| at < offset) {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |&(_, line)| line)
    }
}

/// The index of the first `\n` or `\r`, eight bytes at a time.
fn find_line_break(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte of `(x - ONES) & !x & HIGH` is exactly the lowest zero byte of x.
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut chunks = s.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        let found = zero_bytes(word ^ (ONES * u64::from(b'\n')))
            | zero_bytes(word ^ (ONES * u64::from(b'\r')));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| at + p)
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.eof |= n == 0 && !buf.is_empty();
        if let Some(chunk) = buf.get(..n) {
            self.scan(chunk);
        }
        Ok(n)
    }
}

/// A line an unterminated quote took in, to read again.
enum Pending {
    /// A row and its line.
    Row(csv::ByteRecord, u64),
    /// A bad row (the line whose quote closed the cell).
    Bad(FeedError),
}

/// A streaming OHLCV reader over CSV. See the module documentation for the accepted format.
pub struct CsvFeed<R: Read> {
    name: String,
    reader: csv::Reader<LineTracker<std::io::BufReader<R>>>,
    record: csv::ByteRecord,
    /// Header names, trimmed, as written.
    header: Vec<String>,
    columns: Columns,
    skip_bad_rows: bool,
    /// Time and line of the last good bar.
    last: Option<(i64, u64)>,
    skipped: u64,
    first_skipped: Option<FeedError>,
    /// The unit of epoch times, once known.
    unit: std::cell::Cell<Option<(TimeUnit, UnitSource)>>,
    delimiter: u8,
    /// Rows recovered from the lines an unterminated quote swallowed, with their lines.
    pending: VecDeque<Pending>,
    /// The zone of times written without an offset (`None`: UTC).
    zone: Option<jiff::tz::TimeZone>,
}

impl CsvFeed<std::fs::File> {
    /// Opens a CSV file and reads its header. The file's name in errors is `path` as given.
    pub fn open(path: &Path, skip_bad_rows: bool) -> Result<Self, FeedError> {
        let name = path.display().to_string();
        match std::fs::File::open(path) {
            Ok(file) => CsvFeed::from_reader(&name, file, skip_bad_rows),
            Err(e) => Err(FeedError {
                file: name,
                line: 0,
                column: None,
                message: format!("cannot open file: {e}"),
            }),
        }
    }
}

impl<R: Read> CsvFeed<R> {
    /// Wraps a reader and reads and validates the header row. `name` is the file name used in
    /// errors.
    pub fn from_reader(name: &str, reader: R, skip_bad_rows: bool) -> Result<Self, FeedError> {
        // The first bytes tell the separator (`,`, `;`, tab or `|`) and give away a file that is
        // not text.
        let mut input = std::io::BufReader::with_capacity(1 << 16, reader);
        let head = std::io::BufRead::fill_buf(&mut input).map_err(|e| FeedError {
            file: name.to_string(),
            line: 0,
            column: None,
            message: format!("cannot read: {e}"),
        })?;
        if head.contains(&0) {
            return Err(FeedError {
                file: name.to_string(),
                line: 1,
                column: None,
                message: "not a text CSV file (it holds NUL bytes: UTF-16 or binary); save it as UTF-8 CSV".to_string(),
            });
        }
        let delimiter = sniff_delimiter(head);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(LineTracker::new(input));
        let mut record = csv::ByteRecord::new();
        let header_error = |line: u64, message: String| FeedError {
            file: name.to_string(),
            line,
            column: None,
            message,
        };
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(header_error(1, "empty file: no header row".to_string())),
            Err(e) => {
                let line = reader.get_ref().line;
                return Err(header_error(line, format!("cannot read header: {e}")));
            }
        }
        let line = reader.get_mut().line_at(0);
        let header: Vec<String> = record
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let text = String::from_utf8_lossy(field);
                let text = if i == 0 {
                    text.trim_start_matches('\u{feff}')
                } else {
                    &text
                };
                text.trim().to_string()
            })
            .collect();
        let columns = find_columns(&header).map_err(|message| header_error(line, message))?;
        Ok(CsvFeed {
            name: name.to_string(),
            reader,
            record,
            header,
            columns,
            skip_bad_rows,
            last: None,
            skipped: 0,
            first_skipped: None,
            unit: std::cell::Cell::new(None),
            zone: None,
            delimiter,
            pending: VecDeque::new(),
        })
    }

    /// The next valid bar, `Ok(None)` at the end of the input.
    ///
    /// Without `skip_bad_rows` a bad row is returned as an error (the row is consumed, so a
    /// caller may go on reading). With it, bad rows are skipped and counted.
    pub fn next_bar(&mut self) -> Result<Option<Bar>, FeedError> {
        loop {
            let line = match self.pending.pop_front() {
                Some(Pending::Row(record, line)) => {
                    self.record = record;
                    line
                }
                Some(Pending::Bad(error)) => {
                    self.reject(error)?;
                    continue;
                }
                None => {
                    match self.reader.read_byte_record(&mut self.record) {
                        Ok(true) => {}
                        Ok(false) => return Ok(None),
                        Err(e) => {
                            let line = self.reader.get_ref().line;
                            return Err(FeedError {
                                file: self.name.clone(),
                                line,
                                column: None,
                                message: format!("read error: {e}"),
                            });
                        }
                    }
                    let start = self.record.position().map_or(0, |p| p.byte());
                    self.reader.get_mut().line_at(start)
                }
            };
            match self.parse_row() {
                Ok(bar) => {
                    self.last = Some((bar.time, line));
                    return Ok(Some(bar));
                }
                Err(e) => {
                    // A quote left open swallows the lines after it into one cell: say so, and
                    // which lines, rather than what the swallowed text looks like.
                    let (column, message) = match self.spanning_cell() {
                        Some((i, _))
                            if i + 1 == self.record.len()
                                && self.read_to_the_end()
                                && (self.columns.uses(i) || e.column.is_none()) =>
                        {
                            // Left open to the end of the file: the lines after this one are
                            // in the cell as they were written; they are read again as rows.
                            self.recover_swallowed(i, line, false);
                            (
                                Some(i),
                                "unterminated quote: the quote opened here is never closed"
                                    .to_string(),
                            )
                        }
                        Some((i, breaks)) if self.columns.uses(i) || e.column.is_none() => {
                            // Closed by a quote on a later line: the lines between are read
                            // again as rows, and the closing line is a bad row of its own.
                            let closing = line + breaks as u64;
                            self.recover_swallowed(i, line, true);
                            self.pending.push_back(Pending::Bad(FeedError {
                                file: self.name.clone(),
                                line: closing,
                                column: None,
                                message: format!(
                                    "unterminated quote: a quote on this line closes a cell opened on line {line}"
                                ),
                            }));
                            (
                                Some(i),
                                format!(
                                    "unterminated quote: the quote opened here is closed only on line {closing}"
                                ),
                            )
                        }
                        _ => (e.column, e.message),
                    };
                    let error = FeedError {
                        file: self.name.clone(),
                        line,
                        column: column.and_then(|i| self.header.get(i).cloned()),
                        message,
                    };
                    self.reject(error)?;
                }
            }
        }
    }

    /// Whether the record just read ran to the end of the input.
    fn read_to_the_end(&self) -> bool {
        let tracker = self.reader.get_ref();
        tracker.eof && self.reader.position().byte() >= tracker.offset
    }

    /// A bad row: the error without `skip_bad_rows`, else counted (and kept if it is the first).
    fn reject(&mut self, error: FeedError) -> Result<(), FeedError> {
        if !self.skip_bad_rows {
            return Err(error);
        }
        self.skipped += 1;
        if self.first_skipped.is_none() {
            self.first_skipped = Some(error);
        }
        Ok(())
    }

    /// Reads epoch integers in `unit`, whatever the column's name or the values' size.
    /// The file's name as errors give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads dates and times written without an offset as local times of `zone` (with its
    /// daylight-saving rules; a time in a gap or an overlap is placed as jiff's "compatible"
    /// rule says). Epoch integers and times with an offset are instants already.
    pub fn set_timezone(&mut self, zone: jiff::tz::TimeZone) {
        self.zone = Some(zone);
    }

    /// A civil time read as if UTC (`ms`), placed in the zone when it had no offset.
    fn localize(&self, ms: i64, cell: &[u8]) -> Result<i64, &'static str> {
        let Some(zone) = &self.zone else {
            return Ok(ms);
        };
        let written_offset = cell
            .trim_ascii()
            .get(11..)
            .is_some_and(|time| time.iter().any(|&b| matches!(b, b'Z' | b'z' | b'+' | b'-')));
        if written_offset {
            return Ok(ms);
        }
        let civil = jiff::Timestamp::from_millisecond(ms)
            .map_err(|_| "time out of range")?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .datetime();
        zone.to_ambiguous_timestamp(civil)
            .compatible()
            .map(|t| t.as_millisecond())
            .map_err(|_| "time out of range in the time zone")
    }

    pub fn set_time_unit(&mut self, unit: TimeUnit) {
        self.unit.set(Some((unit, UnitSource::Given)));
    }

    /// The unit epoch times were read in and where it came from; `None` while no epoch was read
    /// (or the times are dates).
    pub fn time_unit(&self) -> Option<(TimeUnit, UnitSource)> {
        self.unit.get()
    }

    /// A time cell: a date, a date and time, or an epoch in the file's unit (see the module
    /// contract).
    fn parse_time(&self, cell: &[u8]) -> Result<i64, &'static str> {
        let Some(value) = epoch_integer(cell)? else {
            return self.localize(parse_timestamp(cell)?, cell);
        };
        let unit = match self.unit.get() {
            Some((u, _)) => u,
            None => {
                let (u, source) = match self.columns.named_unit {
                    Some(u) => (u, UnitSource::ColumnName),
                    None => (TimeUnit::guess(value), UnitSource::Guessed),
                };
                self.unit.set(Some((u, source)));
                u
            }
        };
        unit.to_ms(value).ok_or("epoch value out of range")
    }

    /// Queues the rows written after the first line of cell `i` of the current record, with
    /// their lines: every line after it when the quote was left open to the end of the file,
    /// else (`closed`) those before the cell's last line, which holds the quote that closed it.
    fn recover_swallowed(&mut self, i: usize, line: u64, closed: bool) {
        let Some(cell) = self.record.get(i) else {
            return;
        };
        let Some(br) = cell.iter().position(|&b| b == b'\n' || b == b'\r') else {
            return;
        };
        let skip = if cell[br] == b'\r' && cell.get(br + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        let mut rest = &cell[br + skip..];
        if closed {
            // The last line holds the closing quote; a CRLF's `\r` stays with the line before.
            let end = rest.iter().rposition(|&b| b == b'\n' || b == b'\r');
            rest = &rest[..end.unwrap_or(0)];
        }
        let rest = rest.to_vec();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(rest.as_slice());
        let mut record = csv::ByteRecord::new();
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let at = record.position().map_or(1, |p| p.line());
            self.pending
                .push_back(Pending::Row(record.clone(), line + at));
        }
    }

    /// The first cell of the current record that spans lines (a quote open across line breaks),
    /// and how many line breaks it holds.
    fn spanning_cell(&self) -> Option<(usize, usize)> {
        self.record.iter().enumerate().find_map(|(i, cell)| {
            // A line break that ends the file inside the quote starts no line of its own.
            let end = cell
                .iter()
                .rposition(|&b| b != b'\n' && b != b'\r')
                .map_or(0, |p| p + 1);
            let cell = &cell[..end];
            let breaks = cell
                .iter()
                .enumerate()
                .filter(|&(k, &b)| b == b'\n' || (b == b'\r' && cell.get(k + 1) != Some(&b'\n')))
                .count();
            (breaks > 0).then_some((i, breaks))
        })
    }

    /// How many bad rows were skipped so far (always 0 without `skip_bad_rows`).
    pub fn skipped_rows(&self) -> u64 {
        self.skipped
    }

    /// The first skipped row's error, to show the user what was wrong.
    pub fn first_skipped(&self) -> Option<&FeedError> {
        self.first_skipped.as_ref()
    }

    fn parse_row(&self) -> Result<Bar, RowError> {
        let record = &self.record;
        let expected = self.header.len();
        if record.len() != expected {
            let which = if record.len() < expected {
                "few"
            } else {
                "many"
            };
            return Err(RowError {
                column: None,
                message: format!(
                    "too {which} fields: found {}, header has {expected}",
                    record.len()
                ),
            });
        }
        let c = self.columns;
        let time = match c.time {
            TimeColumns::Single(i) => {
                let cell = cell(record, i);
                if cell.is_empty() {
                    return Err(RowError::at(i, "empty cell".to_string()));
                }
                self.parse_time(cell)
                    .map_err(|why| malformed_time(i, cell, why))?
            }
            TimeColumns::Split { date, time } => {
                let date_cell = cell(record, date);
                let time_cell = cell(record, time);
                if date_cell.is_empty() {
                    return Err(RowError::at(date, "empty cell".to_string()));
                }
                if time_cell.is_empty() {
                    return Err(RowError::at(time, "empty cell".to_string()));
                }
                let days =
                    parse_date(date_cell).map_err(|why| malformed_time(date, date_cell, why))?;
                let ms = parse_time_of_day(time_cell)
                    .map_err(|why| malformed_time(time, time_cell, why))?;
                if self.zone.is_none() {
                    days * MS_PER_DAY + ms
                } else {
                    let mut both = date_cell.trim_ascii().to_vec();
                    both.push(b' ');
                    both.extend_from_slice(time_cell.trim_ascii());
                    self.localize(days * MS_PER_DAY + ms, &both)
                        .map_err(|why| malformed_time(time, time_cell, why))?
                }
            }
        };
        let open = number(record, c.open)?;
        let high = number(record, c.high)?;
        let low = number(record, c.low)?;
        let close = number(record, c.close)?;
        let volume = match c.volume {
            Some(i) => number(record, i)?,
            None => 0.0,
        };
        let bar = Bar {
            time,
            open,
            high,
            low,
            close,
            volume,
        };
        check_prices(&bar, &c)?;
        if let Some((previous, previous_line)) = self.last
            && time <= previous
        {
            let column = match c.time {
                TimeColumns::Single(i) => i,
                TimeColumns::Split { date, .. } => date,
            };
            return Err(RowError::at(
                column,
                format!(
                    "time does not increase: {} after {} (line {previous_line})",
                    format_time_ms(time),
                    format_time_ms(previous)
                ),
            ));
        }
        Ok(bar)
    }
}

/// The rules every bar's prices keep (see the module contract), whatever the file's format.
pub(crate) fn check_prices(bar: &Bar, c: &Columns) -> Result<(), RowError> {
    let Bar {
        open,
        high,
        low,
        close,
        volume,
        ..
    } = *bar;
    {
        for (i, value) in [
            (c.open, open),
            (c.high, high),
            (c.low, low),
            (c.close, close),
        ] {
            if value < 0.0 {
                return Err(RowError::at(i, format!("negative price {value}")));
            }
        }
        if let Some(i) = c.volume
            && volume < 0.0
        {
            return Err(RowError::at(i, format!("negative volume {volume}")));
        }
        if high < low {
            return Err(RowError::at(
                c.high,
                format!("high {high} is below low {low}"),
            ));
        }
        for (i, name, value) in [(c.open, "open", open), (c.close, "close", close)] {
            if value > high {
                return Err(RowError::at(
                    i,
                    format!("{name} {value} is above high {high}"),
                ));
            }
            if value < low {
                return Err(RowError::at(
                    i,
                    format!("{name} {value} is below low {low}"),
                ));
            }
        }
    }
    Ok(())
}

/// Finds the columns by name; the error is the message for line 1.
pub(crate) fn find_columns(header: &[String]) -> Result<Columns, String> {
    let find = |want: &str| -> Result<Option<usize>, String> {
        let mut found = None;
        for (i, name) in header.iter().enumerate() {
            if name.eq_ignore_ascii_case(want) {
                if let Some(first) = found {
                    return Err(format!(
                        "duplicate column `{want}` (columns {} and {})",
                        first + 1,
                        i + 1
                    ));
                }
                found = Some(i);
            }
        }
        Ok(found)
    };
    // The header as seen, escaped and cut to a readable length.
    let listing = || {
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        let all: String = names.join(",").escape_debug().collect();
        if all.chars().count() > 80 {
            format!("{}…", all.chars().take(80).collect::<String>())
        } else {
            all
        }
    };
    let datetime = find("datetime")?;
    let mut timestamp = find("timestamp")?;
    let date = find("date")?;
    let time_col = find("time")?;
    // A time column named with its epoch unit: `timestamp_ms`, `time_s`, `epoch_us`, `unix_ns`.
    let mut named_unit = None;
    if datetime.is_none() && timestamp.is_none() {
        for (i, name) in header.iter().enumerate() {
            let lower = name.to_ascii_lowercase();
            let Some((base, unit)) = lower.rsplit_once('_') else {
                continue;
            };
            if matches!(base, "timestamp" | "time" | "epoch" | "unix" | "datetime")
                && let Some(u) = TimeUnit::parse(unit)
            {
                if timestamp.is_some() {
                    return Err(format!(
                        "two time columns with a unit: `{name}` and another"
                    ));
                }
                timestamp = Some(i);
                named_unit = Some(u);
            }
        }
    }
    let time = match (datetime, timestamp, date, time_col) {
        (Some(i), ..) | (None, Some(i), ..) => TimeColumns::Single(i),
        (None, None, Some(date), Some(time)) => TimeColumns::Split { date, time },
        (None, None, Some(i), None) | (None, None, None, Some(i)) => TimeColumns::Single(i),
        (None, None, None, None) => {
            return Err(format!(
                "missing time column: expected `datetime`, `timestamp`, `date` or `time`; header is `{}`",
                listing()
            ));
        }
    };
    let required = |want: &str| -> Result<usize, String> {
        find(want)?.ok_or_else(|| format!("missing column `{want}`; header is `{}`", listing()))
    };
    Ok(Columns {
        time,
        named_unit,
        open: required("open")?,
        high: required("high")?,
        low: required("low")?,
        close: required("close")?,
        volume: find("volume")?,
    })
}

/// The separator of the header line: `,` unless the line has none and has `;`, tabs or `|`
/// (the most of them).
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let count = |d: u8| line.iter().filter(|&&b| b == d).count();
    if count(b',') > 0 {
        return b',';
    }
    [b';', b'\t', b'|']
        .into_iter()
        .map(|d| (count(d), d))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map_or(b',', |(_, d)| d)
}

/// The trimmed cell `i`, or empty when absent.
fn cell(record: &csv::ByteRecord, i: usize) -> &[u8] {
    record.get(i).unwrap_or_default().trim_ascii()
}

/// The cell as text for a message: lossy UTF-8, cut to a readable length.
fn show(cell: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(cell);
    if text.chars().count() <= MAX {
        text.into_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}

fn malformed_time(column: usize, cell: &[u8], why: &str) -> RowError {
    RowError::at(
        column,
        format!("malformed timestamp `{}`: {why}", show(cell)),
    )
}

fn number(record: &csv::ByteRecord, i: usize) -> Result<f64, RowError> {
    let cell = cell(record, i);
    if cell.is_empty() {
        return Err(RowError::at(i, "empty cell".to_string()));
    }
    if let Some(v) = simple_decimal(cell) {
        return Ok(v);
    }
    match fast_float2::parse::<f64, _>(cell) {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(RowError::at(
            i,
            format!("not a finite number `{}`", show(cell)),
        )),
        Err(_) => Err(RowError::at(
            i,
            format!("malformed number `{}`", show(cell)),
        )),
    }
}

/// The powers of ten that are exact as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The fast path for the common cell `123.4567` (Clinger's): digits with at most one point and
/// at most 15 significant digits make an integer mantissa below 2^53 and a power of ten that are
/// both exact, so one division gives the correctly rounded value, the same `fast_float2` gives.
/// Anything else (signs, exponents, long numbers, junk) returns `None` for the full parser.
fn simple_decimal(cell: &[u8]) -> Option<f64> {
    if cell.is_empty() || cell.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0;
    let mut fraction: Option<usize> = None;
    for &b in cell {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                digits += 1;
                if let Some(f) = &mut fraction {
                    *f += 1;
                }
            }
            b'.' if fraction.is_none() => fraction = Some(0),
            _ => return None,
        }
    }
    if digits == 0 || digits > 15 {
        return None;
    }
    let scale = fraction.unwrap_or(0);
    Some(mantissa as f64 / POW10[scale])
}

const MS_PER_DAY: i64 = 86_400_000;

/// Epoch integers at least this large (in magnitude) are milliseconds; smaller ones seconds.
pub const EPOCH_MS_THRESHOLD: i64 = 100_000_000_000;

/// Parses a single time cell to milliseconds since the epoch. See the module documentation for
/// the accepted forms. The error is a short reason (`month out of range`).
pub fn parse_timestamp(s: &[u8]) -> Result<i64, &'static str> {
    let s = s.trim_ascii();
    let digits = match s.first() {
        Some(b'-' | b'+') => &s[1..],
        _ => s,
    };
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        return parse_epoch(s);
    }
    let (date, rest) = s.split_at_checked(10).ok_or("expected `YYYY-MM-DD`")?;
    let days = parse_date(date)?;
    let ms = match rest.split_first() {
        None => 0,
        Some((b'T' | b't' | b' ', time)) => parse_time_of_day(time)?,
        Some(_) => return Err("expected `T` or a space between date and time"),
    };
    Ok(days * MS_PER_DAY + ms)
}

/// The integer of an epoch cell (`None` when the cell is not all digits, with an optional sign).
fn epoch_integer(s: &[u8]) -> Result<Option<i64>, &'static str> {
    let s = s.trim_ascii();
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let mut value: i64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(d - b'0')))
            .ok_or("epoch value out of range")?;
    }
    Ok(Some(if negative { -value } else { value }))
}

/// An epoch cell on its own, its unit guessed from its magnitude (see [`TimeUnit::guess`]).
fn parse_epoch(s: &[u8]) -> Result<i64, &'static str> {
    let value = epoch_integer(s)?.ok_or("expected an integer epoch")?;
    TimeUnit::guess(value)
        .to_ms(value)
        .ok_or("epoch value out of range")
}

/// Parses `n` ASCII digits exactly.
fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

/// `YYYY-MM-DD` to days since 1970-01-01.
fn parse_date(s: &[u8]) -> Result<i64, &'static str> {
    const SHAPE: &str = "expected `YYYY-MM-DD`";
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return Err(SHAPE);
    }
    let year = digits(&s[0..4]).ok_or(SHAPE)?;
    let month = digits(&s[5..7]).ok_or(SHAPE)?;
    let day = digits(&s[8..10]).ok_or(SHAPE)?;
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    Ok(days_from_civil(i64::from(year), month, day))
}

/// `H:MM`, `HH:MM`, `HH:MM:SS`, optional `.fff` (any number of digits, cut to milliseconds),
/// optional `Z` or `±hh:mm` / `±hhmm` / `±hh`. Returns milliseconds after midnight UTC of the
/// same civil date (negative or past a day when an offset crosses midnight).
fn parse_time_of_day(s: &[u8]) -> Result<i64, &'static str> {
    const SHAPE: &str = "expected `HH:MM` or `HH:MM:SS`";
    let colon = s.iter().position(|&b| b == b':').ok_or(SHAPE)?;
    if colon == 0 || colon > 2 {
        return Err(SHAPE);
    }
    let hour = digits(&s[..colon]).ok_or(SHAPE)?;
    let rest = &s[colon + 1..];
    let minute = rest.get(..2).and_then(digits).ok_or(SHAPE)?;
    let mut rest = &rest[2..];
    let mut second = 0;
    if let Some((b':', tail)) = rest.split_first() {
        second = tail.get(..2).and_then(digits).ok_or(SHAPE)?;
        rest = &tail[2..];
    }
    let mut millis = 0;
    if let Some((b'.' | b',', tail)) = rest.split_first() {
        let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return Err("expected digits after the decimal point");
        }
        for &d in tail[..n].iter().chain(b"000").take(3) {
            millis = millis * 10 + u32::from(d - b'0');
        }
        rest = &tail[n..];
    }
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 59 {
        return Err("second out of range");
    }
    let offset_minutes: i64 = match rest.split_first() {
        None => 0,
        Some((b'Z' | b'z', [])) => 0,
        Some((&sign @ (b'+' | b'-'), tail)) => {
            const OFFSET: &str = "expected `Z` or an offset `±hh:mm`";
            let (h, m) = match tail {
                [h1, h2] => ([*h1, *h2], [b'0', b'0']),
                [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
                [h1, h2, b':', m1, m2] => ([*h1, *h2], [*m1, *m2]),
                _ => return Err(OFFSET),
            };
            let h = digits(&h).ok_or(OFFSET)?;
            let m = digits(&m).ok_or(OFFSET)?;
            if h > 23 || m > 59 {
                return Err("offset out of range");
            }
            let minutes = i64::from(h * 60 + m);
            if sign == b'-' { -minutes } else { minutes }
        }
        Some(_) => return Err("unexpected text after the time"),
    };
    let local = i64::from(((hour * 60 + minute) * 60 + second) * 1000 + millis);
    Ok(local - offset_minutes * 60_000)
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a bar time for people: `2024-01-31` at midnight UTC, else `2024-01-31 09:30:00`,
/// with `.mmm` when there are milliseconds.
/// A time as `format_time_ms` writes it, on the clock of `zone` when one is given (the
/// exchange's local time, as the data wrote it; no offset).
pub fn format_time_in(ms: i64, zone: Option<&jiff::tz::TimeZone>) -> String {
    let Some(zone) = zone else {
        return format_time_ms(ms);
    };
    let Ok(t) = jiff::Timestamp::from_millisecond(ms) else {
        return format_time_ms(ms);
    };
    let local = zone.to_datetime(t);
    let (y, mo, d) = (local.year(), local.month(), local.day());
    let (h, mi, s) = (local.hour(), local.minute(), local.second());
    let millis = local.subsec_nanosecond() / 1_000_000;
    if (h, mi, s, millis) == (0, 0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else if millis == 0 {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{millis:03}")
    }
}

pub fn format_time_ms(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    let in_day = ms.rem_euclid(MS_PER_DAY);
    if in_day == 0 {
        return format!("{year:04}-{month:02}-{day:02}");
    }
    let (secs, millis) = (in_day / 1000, in_day % 1000);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if millis == 0 {
        format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02}.{millis:03}")
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::simple_decimal;

    #[test]
    fn the_fast_path_agrees_with_the_full_parser() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = (state % 15 + 1) as usize;
            let text: String = (0..digits)
                .map(|i| char::from(b'0' + ((state >> (i * 4)) % 10) as u8))
                .collect();
            let point = (state >> 60) as usize % (digits + 1);
            let cell = format!("{}.{}", &text[..point], &text[point..]);
            let want: f64 = fast_float2::parse(cell.as_bytes()).unwrap();
            assert_eq!(
                simple_decimal(cell.as_bytes()).map(f64::to_bits),
                Some(want.to_bits()),
                "{cell}"
            );
        }
        for junk in [
            "",
            ".",
            "1..2",
            "-1.5",
            "1e5",
            "12345678901234567",
            "1,5",
            " 1",
        ] {
            assert!(simple_decimal(junk.as_bytes()).is_none(), "{junk}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn time_of_day_forms() {
        assert_eq!(parse_time_of_day(b"9:30"), Ok(34_200_000));
        assert_eq!(parse_time_of_day(b"09:30:01.5"), Ok(34_201_500));
        assert_eq!(parse_time_of_day(b"09:30:01.123456789Z"), Ok(34_201_123));
        assert_eq!(parse_time_of_day(b"01:00+0200"), Ok(-3_600_000));
        assert_eq!(parse_time_of_day(b"01:00-02"), Ok(10_800_000));
        assert!(parse_time_of_day(b"24:00").is_err());
        assert!(parse_time_of_day(b"09:3").is_err());
        assert!(parse_time_of_day(b"09:30:").is_err());
        assert!(parse_time_of_day(b"09:30.").is_err());
        assert!(parse_time_of_day(b"09:30Zx").is_err());
        assert!(parse_time_of_day(b"").is_err());
    }

    #[test]
    fn finds_line_breaks() {
        let naive = |s: &[u8]| s.iter().position(|&b| b == b'\n' || b == b'\r');
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let pick = [b'\n', b'\r', b'a', 0x0b, 0x0c, 0x8d, 0x8a, 0xff, 0];
                        // Mostly plain bytes, so breaks land anywhere in a word.
                        if x.is_multiple_of(5) {
                            pick[(x / 5 % 9) as usize]
                        } else {
                            b'z'
                        }
                    })
                    .collect();
                assert_eq!(find_line_break(&bytes), naive(&bytes), "{bytes:?}");
            }
        }
    }

    #[test]
    fn formats_times() {
        assert_eq!(format_time_ms(0), "1970-01-01");
        assert_eq!(format_time_ms(-1), "1969-12-31 23:59:59.999");
        assert_eq!(format_time_ms(1_706_693_400_000), "2024-01-31 09:30:00");
        // Extremes do not panic.
        let _ = format_time_ms(i64::MIN);
        let _ = format_time_ms(i64::MAX);
    }
}
