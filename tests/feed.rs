//! The CSV price feed: bad-data fixtures in `tests/data/bad/` with their expected errors, plus
//! the accepted input forms, `skip_bad_rows`, and a large generated input.

use btl::runtime::feed::{Bar, CsvFeed, FeedError, TimeUnit, UnitSource};
use std::io::Read;
use std::path::{Path, PathBuf};

const DAY: i64 = 86_400_000;
/// 2024-01-02T00:00:00Z in milliseconds.
const JAN_2_2024: i64 = 1_704_153_600_000;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Reads every bar of an in-memory CSV.
fn read_str(text: &str, skip: bool) -> Result<Vec<Bar>, FeedError> {
    let mut feed = CsvFeed::from_reader("mem.csv", text.as_bytes(), skip)?;
    read_all(&mut feed)
}

fn read_all<R: Read>(feed: &mut CsvFeed<R>) -> Result<Vec<Bar>, FeedError> {
    let mut bars = Vec::new();
    while let Some(bar) = feed.next_bar()? {
        bars.push(bar);
    }
    Ok(bars)
}

fn times(bars: &[Bar]) -> Vec<i64> {
    bars.iter().map(|b| b.time).collect()
}

#[derive(Clone, Copy)]
enum Kind {
    /// A bad row: strict mode fails on it; `skip_bad_rows` skips it (and `skipped - 1` others)
    /// and reads `good` bars.
    Row { good: usize, skipped: u64 },
    /// A header problem: an error in both modes.
    Header,
}

/// Each fixture in `tests/data/bad/` with the end of its expected error message.
const BAD: &[(&str, &str, Kind)] = &[
    (
        "bad_number.csv",
        "bad_number.csv:4: column `close`: malformed number `1o2.5`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "decimal_comma.csv",
        "decimal_comma.csv:3: column `close`: malformed number `11,5`",
        Kind::Row {
            good: 2,
            skipped: 1,
        },
    ),
    (
        "invalid_utf8.csv",
        "invalid_utf8.csv:4: column `close`: malformed number `\u{fffd}\u{fffd}`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "crlf_bad_number.csv",
        "crlf_bad_number.csv:3: column `open`: malformed number `x`",
        Kind::Row {
            good: 2,
            skipped: 1,
        },
    ),
    (
        // The quoted field spans two lines: errors count physical lines, not records.
        "multiline_quoted.csv",
        "multiline_quoted.csv:5: column `close`: malformed number `oops`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "bad_month.csv",
        "bad_month.csv:4: column `date`: malformed timestamp `2024-13-01`: month out of range",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "bad_day.csv",
        "bad_day.csv:4: column `date`: malformed timestamp `2023-02-29`: day out of range",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "bad_time_shape.csv",
        "bad_time_shape.csv:4: column `date`: malformed timestamp `2024-01-04 9h30`: expected `HH:MM` or `HH:MM:SS`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "bad_offset.csv",
        "bad_offset.csv:4: column `date`: malformed timestamp `2024-01-04T09:30:00+25:00`: offset out of range",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "epoch_out_of_range.csv",
        "epoch_out_of_range.csv:3: column `timestamp`: malformed timestamp `99999999999999999999`: epoch value out of range",
        Kind::Row {
            good: 2,
            skipped: 1,
        },
    ),
    (
        "split_bad_time.csv",
        "split_bad_time.csv:4: column `Time`: malformed timestamp `25:00`: hour out of range",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "empty_cell.csv",
        "empty_cell.csv:4: column `close`: empty cell",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "empty_volume.csv",
        "empty_volume.csv:4: column `volume`: empty cell",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "empty_time.csv",
        "empty_time.csv:4: column `date`: empty cell",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        // A quote left open: the error is on its line and column; skipping skips that line only
        // (the lines the quote took in are read again as rows).
        "unterminated_quote.csv",
        "unterminated_quote.csv:3: column `close`: unterminated quote: the quote opened here is never closed",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        // Closed by a quote on line 6: lines 4 and 5 are read as rows; lines 3 and 6 are bad.
        "unterminated_quote_closed.csv",
        "unterminated_quote_closed.csv:3: column `close`: unterminated quote: the quote opened here is closed only on line 6",
        Kind::Row {
            good: 4,
            skipped: 2,
        },
    ),
    (
        "too_few_fields.csv",
        "too_few_fields.csv:4: too few fields: found 5, header has 6",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "too_many_fields.csv",
        "too_many_fields.csv:4: too many fields: found 7, header has 6",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "high_below_low.csv",
        "high_below_low.csv:4: column `high`: high 9.5 is below low 10",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "open_above_high.csv",
        "open_above_high.csv:4: column `open`: open 10.5 is above high 10.2",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "open_below_low.csv",
        "open_below_low.csv:4: column `open`: open 9.7 is below low 9.8",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "close_above_high.csv",
        "close_above_high.csv:4: column `close`: close 10.25 is above high 10.2",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "close_below_low.csv",
        "close_below_low.csv:4: column `close`: close 9.75 is below low 9.8",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "negative_price.csv",
        "negative_price.csv:4: column `low`: negative price -1",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "negative_volume.csv",
        "negative_volume.csv:4: column `volume`: negative volume -5",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "nan_value.csv",
        "nan_value.csv:4: column `high`: not a finite number `NaN`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "inf_value.csv",
        "inf_value.csv:4: column `volume`: not a finite number `inf`",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "time_backwards.csv",
        "time_backwards.csv:4: column `date`: time does not increase: 2024-01-02 after 2024-01-03 (line 3)",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "time_equal.csv",
        "time_equal.csv:4: column `date`: time does not increase: 2024-01-03 after 2024-01-03 (line 3)",
        Kind::Row {
            good: 3,
            skipped: 1,
        },
    ),
    (
        "time_backwards_intraday.csv",
        "time_backwards_intraday.csv:4: column `datetime`: time does not increase: 2024-01-02 09:31:00.250 after 2024-01-02 10:00:00 (line 3)",
        Kind::Row {
            good: 2,
            skipped: 1,
        },
    ),
    (
        "missing_column.csv",
        "missing_column.csv:1: missing column `high`; header is `date,open,low,close,volume`",
        Kind::Header,
    ),
    (
        "missing_time.csv",
        "missing_time.csv:1: missing time column: expected `datetime`, `timestamp`, `date` or `time`; header is `day,open,high,low,close,volume`",
        Kind::Header,
    ),
    (
        "duplicate_column.csv",
        "duplicate_column.csv:1: duplicate column `close` (columns 5 and 6)",
        Kind::Header,
    ),
    (
        "empty_file.csv",
        "empty_file.csv:1: empty file: no header row",
        Kind::Header,
    ),
];

/// Strict mode: the first error, as `(bars read before it, error)`.
fn first_error(path: &Path, skip: bool) -> Result<(usize, FeedError), String> {
    let mut feed = match CsvFeed::open(path, skip) {
        Ok(feed) => feed,
        Err(e) => return Ok((0, e)),
    };
    let mut bars = 0;
    loop {
        match feed.next_bar() {
            Ok(Some(_)) => bars += 1,
            Ok(None) => return Err(format!("no error after {bars} bars")),
            Err(e) => return Ok((bars, e)),
        }
    }
}

#[test]
fn bad_fixtures_report_file_line_column_and_message() {
    let mut failures = Vec::new();
    for &(file, expected, kind) in BAD {
        let path = data("bad").join(file);
        let error = match first_error(&path, false) {
            Ok((_, e)) => e,
            Err(why) => {
                failures.push(format!("{file}: {why}"));
                continue;
            }
        };
        let shown = error.to_string();
        if !shown.ends_with(&format!("/{expected}")) {
            failures.push(format!(
                "{file}:\n  expected `{expected}`\n  got      `{shown}`"
            ));
        }
        // The structured fields agree with the text.
        let line: u64 = expected
            .split(':')
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(u64::MAX);
        if error.line != line {
            failures.push(format!("{file}: line field {} != {line}", error.line));
        }
        if error.file != path.display().to_string() {
            failures.push(format!("{file}: file field `{}`", error.file));
        }
        match (&error.column, expected.split_once(": column `")) {
            (Some(c), Some((_, rest))) if rest.starts_with(&format!("{c}`")) => {}
            (None, None) => {}
            (c, _) => failures.push(format!("{file}: column field {c:?}")),
        }

        // The same file with skip_bad_rows.
        match kind {
            Kind::Row { good, skipped } => {
                let result = CsvFeed::open(&path, true)
                    .and_then(|mut feed| read_all(&mut feed).map(|bars| (bars, feed)));
                match result {
                    Ok((bars, feed)) => {
                        if bars.len() != good || feed.skipped_rows() != skipped {
                            failures.push(format!(
                                "{file}: skipping read {} bars, skipped {}; expected {good} and {skipped}",
                                bars.len(),
                                feed.skipped_rows()
                            ));
                        }
                        if feed.first_skipped() != Some(&error) {
                            failures
                                .push(format!("{file}: first_skipped {:?}", feed.first_skipped()));
                        }
                    }
                    Err(e) => failures.push(format!("{file}: skipping failed: {e}")),
                }
            }
            Kind::Header => match first_error(&path, true) {
                Ok((0, e)) if e == error => {}
                other => failures.push(format!(
                    "{file}: header errors must not be skipped: {other:?}"
                )),
            },
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_is_in_the_table() {
    let mut on_disk: Vec<String> = std::fs::read_dir(data("bad"))
        .expect("tests/data/bad exists")
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = BAD.iter().map(|(f, ..)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn reads_committed_500_bars() {
    let mut feed = CsvFeed::open(&data("ohlcv_500.csv"), false).expect("header");
    let bars = read_all(&mut feed).expect("valid file");
    assert_eq!(bars.len(), 500);
    assert_eq!(
        bars[0],
        Bar {
            time: 315_619_200_000, // 1980-01-02T00:00:00Z
            open: 100.0,
            high: 100.2107,
            low: 98.7678,
            close: 99.0650,
            volume: 1_317_661.0,
        }
    );
    assert_eq!(bars[1].time, 315_619_200_000 + DAY);
    assert_eq!(
        bars[499],
        Bar {
            time: 376_012_800_000, // 1981-12-01
            open: 36.7629,
            high: 36.9661,
            low: 36.1031,
            close: 36.3673,
            volume: 1_527_237.0,
        }
    );
    assert!(bars.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(feed.skipped_rows(), 0);
    assert_eq!(feed.first_skipped(), None);
}

#[test]
fn reads_committed_12000_bars() {
    let mut feed = CsvFeed::open(&data("ohlcv_12000.csv"), false).expect("header");
    assert_eq!(read_all(&mut feed).expect("valid file").len(), 12_000);
}

#[test]
fn epoch_seconds_and_milliseconds() {
    // The first epoch decides the file's unit: below 10^11 seconds, from 10^11 milliseconds.
    for (first, ms) in [
        ("1704067200", 1_704_067_200_000),
        ("1704067260000", 1_704_067_260_000),
        ("99999999999", 99_999_999_999_000),
    ] {
        let text = format!("timestamp,open,high,low,close\n{first},1,1,1,1\n");
        let bars = read_str(&text, false).expect("valid");
        assert_eq!(times(&bars), [ms], "{first}");
    }
    // The boundary itself is milliseconds: 10^11 ms, not 10^11 s.
    let bars = read_str("time,open,high,low,close\n100000000000,1,1,1,1\n", false).expect("ok");
    assert_eq!(bars[0].time, 100_000_000_000);
    // An 8-digit integer is epoch seconds, not YYYYMMDD.
    let bars = read_str("date,open,high,low,close\n20240131,1,1,1,1\n", false).expect("ok");
    assert_eq!(bars[0].time, 20_240_131_000);
    // Negative epochs (before 1970) are accepted.
    let bars = read_str(
        "time,open,high,low,close\n-86400,1,1,1,1\n0,1,1,1,1\n",
        false,
    )
    .expect("ok");
    assert_eq!(times(&bars), [-DAY, 0]);
}

#[test]
fn iso_timestamps() {
    let t0930 = JAN_2_2024 + (9 * 60 + 30) * 60_000;
    let cases: &[(&str, i64)] = &[
        ("2024-01-02", JAN_2_2024),
        ("2024-01-02 09:30:00", t0930),
        ("2024-01-02T09:30:00", t0930),
        ("2024-01-02t09:30", t0930),
        ("2024-01-02T09:30:00Z", t0930),
        ("2024-01-02T09:30:00.5", t0930 + 500),
        ("2024-01-02T09:30:00.123456Z", t0930 + 123),
        ("2024-01-02T11:30:00+02:00", t0930),
        ("2024-01-02T04:30:00-05:00", t0930),
        ("2024-01-02T09:30:00+0000", t0930),
        ("  2024-01-02T09:30:00Z ", t0930),
        ("2024-01-02T00:30:00+01:00", JAN_2_2024 - 30 * 60_000),
        ("2024-02-29", JAN_2_2024 + 58 * DAY),
        ("1969-12-31T23:59:59.999Z", -1),
        ("0001-01-01", -62_135_596_800_000),
    ];
    let mut failures = Vec::new();
    for &(cell, expected) in cases {
        let text = format!("datetime,open,high,low,close\n{cell},1,1,1,1\n");
        match read_str(&text, false) {
            Ok(bars) if times(&bars) == [expected] => {}
            other => failures.push(format!("`{cell}`: {other:?}, expected {expected}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn separate_date_and_time_columns() {
    let text = "Date,Time,Open,High,Low,Close,Volume\n\
                2024-01-02,09:30,10,11,9,10.5,100\n\
                2024-01-02,09:31:00,10,11,9,10.5,100\n\
                2024-01-02,9:32:30.25,10,11,9,10.5,100\n\
                2024-01-03,09:30,10,11,9,10.5,100\n";
    let bars = read_str(text, false).expect("valid");
    let t0930 = JAN_2_2024 + (9 * 60 + 30) * 60_000;
    assert_eq!(
        times(&bars),
        [t0930, t0930 + 60_000, t0930 + 150_250, t0930 + DAY]
    );
    let error = read_str(
        "date,time,open,high,low,close\n2024-01-02T09:30,09:30,1,1,1,1\n",
        false,
    )
    .expect_err("date cell with a time");
    assert_eq!(
        error.to_string(),
        "mem.csv:2: column `date`: malformed timestamp `2024-01-02T09:30`: expected `YYYY-MM-DD`"
    );
    // A `datetime` column wins over `date` + `time`.
    let bars = read_str(
        "date,time,datetime,open,high,low,close\nx,y,2024-01-02,1,1,1,1\n",
        false,
    )
    .expect("datetime used");
    assert_eq!(bars[0].time, JAN_2_2024);
}

#[test]
fn yahoo_header_uses_close_not_adj_close() {
    let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700\n";
    let bars = read_str(text, false).expect("valid");
    assert_eq!(
        bars,
        [Bar {
            time: JAN_2_2024,
            open: 187.15,
            high: 188.44,
            low: 183.89,
            close: 185.64,
            volume: 82_488_700.0,
        }]
    );
}

#[test]
fn header_names_are_case_and_space_insensitive_and_volume_is_optional() {
    let text = " DateTime ,symbol, OPEN,High ,low,Close \n2024-01-02,XYZ,\" 1.5 \",2, 1 ,1.25\n";
    let bars = read_str(text, false).expect("valid");
    assert_eq!(
        bars,
        [Bar {
            time: JAN_2_2024,
            open: 1.5,
            high: 2.0,
            low: 1.0,
            close: 1.25,
            volume: 0.0,
        }]
    );
}

#[test]
fn bom_crlf_and_trailing_empty_line() {
    let text = "\u{feff}date,open,high,low,close,volume\r\n\
                2024-01-02,1,2,0.5,1.5,10\r\n\
                2024-01-03,1,2,0.5,1.5,10\r\n\r\n";
    let bars = read_str(text, false).expect("valid");
    assert_eq!(times(&bars), [JAN_2_2024, JAN_2_2024 + DAY]);
    // Line numbers still count physical lines with CRLF.
    let error = read_str(
        "\u{feff}date,open,high,low,close\r\n2024-01-02,1,1,1,1\r\nx,1,1,1,1\r\n",
        false,
    )
    .expect_err("bad date");
    assert_eq!(error.line, 3);
}

#[test]
fn line_numbers_count_physical_lines() {
    let line_of_error = |text: &str| read_str(text, false).map(|_| ()).map_err(|e| e.line);
    // Blank lines (and blank lines before the header) count.
    assert_eq!(
        line_of_error("\n\ndate,open,high,low,close\n\n2024-01-02,1,1,1,1\n\n\nx,1,1,1,1\n"),
        Err(8)
    );
    assert_eq!(
        line_of_error("\r\ndate,open,high,low,close\r\n\r\nx,1,1,1,1\r\n"),
        Err(4)
    );
    // Old Mac line endings: a lone CR.
    assert_eq!(
        line_of_error("date,open,high,low,close\r2024-01-02,1,1,1,1\rx,1,1,1,1\r"),
        Err(3)
    );
    // A quoted field spanning lines: the record's first line.
    assert_eq!(
        line_of_error(
            "date,open,high,low,close,n\r\n2024-01-02,1,1,1,1,\"a\r\nb\r\nc\"\r\n2024-01-03,1,1,1,x,\"\n\"\n"
        ),
        Err(5)
    );
    // The header is reported on its own line too.
    let error = read_str("\n\ndate,open\n", false).expect_err("missing columns");
    assert_eq!(error.line, 3);
    // A single long row split across many reads keeps its line.
    let mut text = String::from("date,open,high,low,close,pad\n2024-01-02,1,1,1,1,");
    text.push_str(&"p".repeat(100_000));
    text.push_str("\n2024-01-01,1,1,1,1,q\n");
    assert_eq!(line_of_error(&text), Err(3));
}

#[test]
fn header_without_rows_is_zero_bars_but_no_header_is_an_error() {
    assert_eq!(read_str("date,open,high,low,close\n", false), Ok(vec![]));
    assert_eq!(read_str("date,open,high,low,close", false), Ok(vec![]));
    let error = read_str("", false).expect_err("empty");
    assert_eq!(error.to_string(), "mem.csv:1: empty file: no header row");
    let error = read_str("\n\r\n", true).expect_err("only blank lines");
    assert_eq!(error.message, "empty file: no header row");
}

#[test]
fn time_going_backwards_is_an_error_and_reading_can_go_on() {
    let text = "date,open,high,low,close\n\
                2024-01-03,1,1,1,1\n\
                2024-01-02,1,1,1,1\n\
                2024-01-04,1,1,1,1\n";
    let mut feed = CsvFeed::from_reader("prices.csv", text.as_bytes(), false).expect("header");
    assert_eq!(
        feed.next_bar().map(|b| b.map(|b| b.time)),
        Ok(Some(JAN_2_2024 + DAY))
    );
    let error = feed.next_bar().expect_err("backwards");
    assert_eq!(
        error,
        FeedError {
            file: "prices.csv".to_string(),
            line: 3,
            column: Some("date".to_string()),
            message: "time does not increase: 2024-01-02 after 2024-01-03 (line 2)".to_string(),
        }
    );
    // The bad row was consumed; the next one is compared with the last good bar.
    assert_eq!(
        feed.next_bar().map(|b| b.map(|b| b.time)),
        Ok(Some(JAN_2_2024 + 2 * DAY))
    );
    assert_eq!(feed.next_bar(), Ok(None));
    assert_eq!(feed.next_bar(), Ok(None));
    assert_eq!(feed.skipped_rows(), 0);
}

#[test]
fn skip_bad_rows_counts_and_compares_with_last_good_row() {
    let text = "date,open,high,low,close,volume\n\
                2024-01-02,1,2,1,1,10\n\
                2024-01-03,1,2,1,oops,10\n\
                2024-01-06,1,1,2,1,10\n\
                2024-01-04,1,2,1,1,10\n\
                2024-01-03,1,2,1,1,10\n\
                2024-01-04,1,2,1,1,10\n\
                2024-01-05,1,2,1,1\n\
                2024-01-05,1,2,1,1,10\n";
    let mut feed = CsvFeed::from_reader("p.csv", text.as_bytes(), true).expect("header");
    let bars = read_all(&mut feed).expect("skipping never fails on rows");
    // 01-06 had high < low, so 01-04 after it is fine: it follows the last good row, 01-02.
    assert_eq!(
        times(&bars),
        [JAN_2_2024, JAN_2_2024 + 2 * DAY, JAN_2_2024 + 3 * DAY]
    );
    assert_eq!(feed.skipped_rows(), 5);
    assert_eq!(
        feed.first_skipped().map(ToString::to_string).as_deref(),
        Some("p.csv:3: column `close`: malformed number `oops`")
    );
    // Strict mode stops at that same row.
    let error = read_str(text, false).expect_err("strict");
    assert_eq!(error.line, 3);
}

#[test]
fn open_reports_a_missing_file_without_a_line() {
    let path = data("bad/no_such_file.csv");
    let error = CsvFeed::open(&path, false).err().expect("missing file");
    assert_eq!(error.line, 0);
    assert_eq!(error.column, None);
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}: cannot open file: ", path.display())),
        "{error}"
    );
}

/// Generates a CSV on the fly, a row at a time, so the test never holds the whole file.
struct Generated {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
    at: usize,
}

impl Generated {
    fn new(rows: u64) -> Self {
        Generated {
            rows,
            next: 0,
            pending: b"timestamp,open,high,low,close,volume\n".to_vec(),
            at: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            let i = self.next;
            self.next += 1;
            self.pending.clear();
            self.at = 0;
            let base = 100.0 + (i % 1000) as f64 / 100.0;
            use std::io::Write;
            writeln!(
                self.pending,
                "{},{:.2},{:.2},{:.2},{:.2},{}",
                1_600_000_000 + i * 60,
                base,
                base + 0.5,
                base - 0.5,
                base + 0.25,
                1000 + i % 7
            )?;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn streams_200k_generated_rows() {
    const ROWS: u64 = 200_000;
    let mut feed = CsvFeed::from_reader("gen.csv", Generated::new(ROWS), false).expect("header");
    let mut count = 0u64;
    let mut last = None;
    let mut volume = 0.0;
    while let Some(bar) = feed.next_bar().expect("valid rows") {
        count += 1;
        volume += bar.volume;
        last = Some(bar);
    }
    assert_eq!(count, ROWS);
    let last = last.expect("bars");
    assert_eq!(last.time, (1_600_000_000 + (ROWS - 1) * 60) as i64 * 1000);
    assert_eq!(last.open, 109.99);
    let expected_volume: u64 = (0..ROWS).map(|i| 1000 + i % 7).sum();
    assert_eq!(volume, expected_volume as f64);
}

/// A small deterministic generator (no extra crates).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

#[test]
fn never_panics_on_junk() {
    const PIECES: &[&str] = &[
        "2024-01-02",
        "2024-02-30",
        "2024-01-02T09:30:00Z",
        "09:30",
        "+02:00",
        "-",
        "1e308",
        "1e309",
        "NaN",
        "-0",
        "0",
        "1.5",
        "99999999999999999999",
        "12,5",
        "\"",
        "\"\"",
        ",",
        "\n",
        "\r\n",
        " ",
        "\u{feff}",
        "\u{fffd}",
        "date",
        "close",
        "9",
        ":",
        ".",
        "T",
        "Z",
    ];
    let mut rng = Lcg(7);
    for case in 0..3000 {
        let mut text = String::new();
        if case % 3 != 0 {
            text.push_str("date,open,high,low,close,volume\n");
        }
        let len = rng.next() % 40;
        for _ in 0..len {
            text.push_str(rng.pick(PIECES));
        }
        for skip in [false, true] {
            if let Ok(mut feed) = CsvFeed::from_reader("junk.csv", text.as_bytes(), skip) {
                // Every call either yields a bar, an error or the end; bad rows are consumed.
                for _ in 0..100 {
                    match feed.next_bar() {
                        Ok(None) => break,
                        Ok(Some(bar)) => assert!(bar.low <= bar.open && bar.open <= bar.high),
                        Err(e) => assert!(e.line >= 1, "{e}"),
                    }
                }
            }
        }
    }
    // Arbitrary bytes, including invalid UTF-8, in every cell.
    for _ in 0..500 {
        let mut bytes = b"date,open,high,low,close,volume\n".to_vec();
        for _ in 0..rng.next() % 200 {
            bytes.push(rng.next() as u8);
        }
        if let Ok(mut feed) = CsvFeed::from_reader("bytes.csv", &bytes[..], true) {
            while let Ok(Some(_)) = feed.next_bar() {}
        }
    }
}

/// Epoch integers: the unit given, else the one the column's name says, else guessed from the
/// first one and kept for the whole file, and the feed says it guessed.
#[test]
fn the_epoch_unit_is_given_named_or_guessed_and_said() {
    let day = 86_400_000i64;
    // Millisecond epochs from 1970: small enough to look like seconds.
    let rows: String = (1..4).map(|i| format!("{},1,1,1,1\n", i * day)).collect();
    let read = |header: &str, unit: Option<TimeUnit>| {
        let text = format!("{header},open,high,low,close\n{rows}");
        let mut feed = CsvFeed::from_reader("mem.csv", text.as_bytes(), false).unwrap();
        if let Some(u) = unit {
            feed.set_time_unit(u);
        }
        let bars = read_all(&mut feed).unwrap();
        (times(&bars), feed.time_unit())
    };
    let ms: Vec<i64> = (1..4).map(|i| i * day).collect();
    assert_eq!(
        read("timestamp_ms", None),
        (ms.clone(), Some((TimeUnit::Millis, UnitSource::ColumnName)))
    );
    assert_eq!(
        read("time", Some(TimeUnit::Millis)),
        (ms.clone(), Some((TimeUnit::Millis, UnitSource::Given)))
    );
    let (guessed, unit) = read("time", None);
    assert_eq!(unit, Some((TimeUnit::Seconds, UnitSource::Guessed)));
    assert_eq!(guessed[0], day * 1000);
    // The unit guessed from the first epoch holds for the file: a later, larger value is not
    // read in another unit.
    let text = "time,open,high,low,close\n1700000000,1,1,1,1\n170000000000,1,1,1,1\n";
    let mut feed = CsvFeed::from_reader("mem.csv", text.as_bytes(), false).unwrap();
    let bars = read_all(&mut feed).unwrap();
    assert_eq!(times(&bars), [1_700_000_000_000, 170_000_000_000_000]);
    // Micro- and nanoseconds.
    for (header, unit) in [("time_us", 1_000i64), ("unix_ns", 1_000_000)] {
        let text = format!(
            "{header},open,high,low,close\n{},1,1,1,1\n",
            1_700_000_000_000 * unit
        );
        let bars = read_str(&text, false).unwrap();
        assert_eq!(times(&bars), [1_700_000_000_000], "{header}");
    }
}

/// `;`, tab and `|` separated files are read like comma-separated ones; a UTF-16 or binary file
/// says so; a bad header is shown short and escaped.
#[test]
fn separators_are_sniffed_and_bad_headers_shown_short() {
    for sep in [";", "\t", "|"] {
        let text = ["date", "open", "high", "low", "close"].join(sep)
            + "\n"
            + &["2024-01-02", "1", "2", "0.5", "1.5"].join(sep)
            + "\n";
        let bars = read_str(&text, false).unwrap_or_else(|e| panic!("{sep:?}: {e}"));
        assert_eq!(bars.len(), 1, "{sep:?}");
        assert_eq!(bars[0].close, 1.5);
    }
    let utf16: Vec<u8> = "date,open,high,low,close\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let e = CsvFeed::from_reader("u16.csv", utf16.as_slice(), false)
        .err()
        .expect("not text");
    assert!(e.message.contains("UTF-16 or binary"), "{e}");
    let mut noise = vec![b'\x01'; 5000];
    noise.push(b'\n');
    let e = CsvFeed::from_reader("noise.csv", noise.as_slice(), false)
        .err()
        .expect("no columns");
    assert!(e.message.len() < 300, "{} bytes: {e}", e.message.len());
    assert!(e.message.contains("\\u{1}"), "{e}");
}
