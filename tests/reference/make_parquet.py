#!/usr/bin/env python3
"""Writes the Parquet fixtures in tests/data/parquet/ from tests/data/ohlcv_500.csv.

Good files:
  ohlcv_500.parquet          the 500 bars: date timestamp[ms] (naive, UTC midnight), open/high/
                             low/close float64, volume int64; snappy, row groups of 128 (4 groups)
  ohlcv_500_zstd_us.parquet  the same bars: Timestamp timestamp[us, tz=UTC], prices float64, Volume
                             float64; zstd, row groups of 200 (3 groups); columns in the order
                             Close, Timestamp, Volume, Open, Low, High
Bad files (all else like ohlcv_500.parquet):
  bad_high_low.parquet       row 133 (row group 1, row 5): high = low - 1.0
  bad_null_close.parquet     row 300 (row group 2, row 44): close is null
  bad_time_order.parquet     rows 200 and 201 swapped (time goes backwards at row 201)
  missing_close.parquet      no close column
  not_parquet.parquet        the first 200 bytes of ohlcv_500.csv
  truncated.parquet          the first half (floor(size/2) bytes) of ohlcv_500.parquet

Prices are float() of the CSV cells (the correctly rounded doubles, as the Rust CSV reader
parses them); the script asserts that every written file reads back to exactly those values.
The output is byte-for-byte reproducible with the same pyarrow version (the version is written
into each file's `created_by`).

Usage (from the repository root):
  tests/reference/.venv/bin/pip install pyarrow
  tests/reference/.venv/bin/python tests/reference/make_parquet.py
"""
import csv
import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data"))
SRC = os.path.join(DATA, "ohlcv_500.csv")
OUT = os.path.join(DATA, "parquet")

EPOCH = dt.date(1970, 1, 1)
MS_PER_DAY = 86_400_000

BAD_HIGH_LOW_ROW = 133  # row group 1 (of 128-row groups), row 5
BAD_NULL_CLOSE_ROW = 300  # row group 2, row 44
SWAP_ROW = 200  # rows 200 and 201 swapped


def read_csv():
    with open(SRC, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["date", "open", "high", "low", "close", "volume"], rows[0]
    cols = {k: [] for k in ("ms", "open", "high", "low", "close", "volume")}
    for r in rows[1:]:
        d = dt.date.fromisoformat(r[0])
        cols["ms"].append((d - EPOCH).days * MS_PER_DAY)
        for i, k in enumerate(("open", "high", "low", "close"), start=1):
            cols[k].append(float(r[i]))
        cols["volume"].append(int(r[5]))
    assert len(cols["ms"]) == 500
    return cols


def ms_table(c, with_close=True):
    """The ohlcv_500.parquet layout from column lists (None in a list = null)."""
    fields = [
        ("date", pa.array(c["ms"], type=pa.int64()).cast(pa.timestamp("ms"))),
        ("open", pa.array(c["open"], type=pa.float64())),
        ("high", pa.array(c["high"], type=pa.float64())),
        ("low", pa.array(c["low"], type=pa.float64())),
    ]
    if with_close:
        fields.append(("close", pa.array(c["close"], type=pa.float64())))
    fields.append(("volume", pa.array(c["volume"], type=pa.int64())))
    return pa.table(dict(fields))


def write_ms(table, name):
    path = os.path.join(OUT, name)
    pq.write_table(table, path, row_group_size=128, compression="snappy")
    return path


def copy_cols(c):
    return {k: list(v) for k, v in c.items()}


def check_against(path, c, names, time_unit, time_tz, vol_type):
    """Reads `path` back and asserts exact equality with the CSV columns `c` (float ==, nulls as
    None). `names` maps the CSV key to the column name in the file."""
    t = pq.read_table(path)
    assert t.num_rows == 500, (path, t.num_rows)
    time_type = t.schema.field(names["ms"]).type
    assert time_type == pa.timestamp(time_unit, tz=time_tz), (path, time_type)
    per_ms = {"ms": 1, "us": 1000}[time_unit]
    got_time = t.column(names["ms"]).cast(pa.int64()).to_pylist()
    want_time = [None if v is None else v * per_ms for v in c["ms"]]
    assert got_time == want_time, path
    for k in ("open", "high", "low", "close"):
        if k not in names:
            continue
        assert t.schema.field(names[k]).type == pa.float64()
        got = t.column(names[k]).to_pylist()
        assert len(got) == len(c[k])
        for i, (g, w) in enumerate(zip(got, c[k])):
            assert (g is None and w is None) or (g == w and type(g) is float), (path, k, i, g, w)
    assert t.schema.field(names["volume"]).type == vol_type
    got = t.column(names["volume"]).to_pylist()
    conv = float if vol_type == pa.float64() else int
    want = [None if v is None else conv(v) for v in c["volume"]]
    assert got == want and all(type(g) is conv for g in got), path


def summary(path):
    size = os.path.getsize(path)
    name = os.path.basename(path)
    try:
        md = pq.ParquetFile(path).metadata
    except Exception as e:  # the deliberately broken files
        print(f"{name}: {size} bytes, unreadable: {type(e).__name__}: {e}")
        return
    groups = [md.row_group(i).num_rows for i in range(md.num_row_groups)]
    rg0 = md.row_group(0)
    codecs = sorted({rg0.column(j).compression for j in range(rg0.num_columns)})
    print(f"{name}: {size} bytes, {md.num_rows} rows, {md.num_row_groups} row groups "
          f"{groups}, {'/'.join(codecs)}, created_by {md.created_by!r}, format {md.format_version}")
    for j in range(md.schema.__len__()):
        col = md.schema.column(j)
        print(f"    {col.name}: {col.physical_type} {col.logical_type} "
              f"(max_def {col.max_definition_level})")


def main():
    os.makedirs(OUT, exist_ok=True)
    c = read_csv()
    std_names = {k: k for k in ("open", "high", "low", "close", "volume")}
    std_names["ms"] = "date"
    written = []

    # ohlcv_500.parquet
    p = write_ms(ms_table(c), "ohlcv_500.parquet")
    check_against(p, c, std_names, "ms", None, pa.int64())
    written.append(p)

    # ohlcv_500_zstd_us.parquet
    us = pa.array([v * 1000 for v in c["ms"]], type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    t = pa.table({
        "Close": pa.array(c["close"], type=pa.float64()),
        "Timestamp": us,
        "Volume": pa.array([float(v) for v in c["volume"]], type=pa.float64()),
        "Open": pa.array(c["open"], type=pa.float64()),
        "Low": pa.array(c["low"], type=pa.float64()),
        "High": pa.array(c["high"], type=pa.float64()),
    })
    p = os.path.join(OUT, "ohlcv_500_zstd_us.parquet")
    pq.write_table(t, p, row_group_size=200, compression="zstd")
    zs_names = {"ms": "Timestamp", "open": "Open", "high": "High", "low": "Low",
                "close": "Close", "volume": "Volume"}
    check_against(p, c, zs_names, "us", "UTC", pa.float64())
    assert pq.read_table(p).column_names == ["Close", "Timestamp", "Volume", "Open", "Low", "High"]
    written.append(p)

    # bad_high_low.parquet
    b = copy_cols(c)
    b["high"][BAD_HIGH_LOW_ROW] = b["low"][BAD_HIGH_LOW_ROW] - 1.0
    p = write_ms(ms_table(b), "bad_high_low.parquet")
    check_against(p, b, std_names, "ms", None, pa.int64())
    written.append(p)

    # bad_null_close.parquet
    b = copy_cols(c)
    b["close"][BAD_NULL_CLOSE_ROW] = None
    p = write_ms(ms_table(b), "bad_null_close.parquet")
    check_against(p, b, std_names, "ms", None, pa.int64())
    assert pq.read_table(p).column("close").null_count == 1
    written.append(p)

    # bad_time_order.parquet
    b = copy_cols(c)
    for k in b:
        b[k][SWAP_ROW], b[k][SWAP_ROW + 1] = b[k][SWAP_ROW + 1], b[k][SWAP_ROW]
    p = write_ms(ms_table(b), "bad_time_order.parquet")
    check_against(p, b, std_names, "ms", None, pa.int64())
    assert b["ms"][SWAP_ROW + 1] < b["ms"][SWAP_ROW]
    written.append(p)

    # missing_close.parquet
    p = write_ms(ms_table(c, with_close=False), "missing_close.parquet")
    mc_names = dict(std_names)
    del mc_names["close"]
    check_against(p, c, mc_names, "ms", None, pa.int64())
    assert "close" not in pq.read_table(p).column_names
    written.append(p)

    # not_parquet.parquet
    with open(SRC, "rb") as f:
        head = f.read(200)
    p = os.path.join(OUT, "not_parquet.parquet")
    with open(p, "wb") as f:
        f.write(head)
    written.append(p)

    # truncated.parquet
    with open(os.path.join(OUT, "ohlcv_500.parquet"), "rb") as f:
        whole = f.read()
    p = os.path.join(OUT, "truncated.parquet")
    with open(p, "wb") as f:
        f.write(whole[: len(whole) // 2])
    written.append(p)

    print(f"pyarrow {pa.__version__}")
    for p in written:
        summary(p)


if __name__ == "__main__":
    main()
