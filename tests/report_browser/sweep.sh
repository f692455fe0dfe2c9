#!/usr/bin/env bash
# The sweep page (`btl sweep --plot`, template src/sweep/heatmap.html) in a real browser.
#
# When the binary has `btl sweep` (`$BIN sweep --help` succeeds), the page comes from
#   btl sweep examples/sma_cross.btl --data examples/data/prices.csv \
#       --param fast=5..15 --param slow=20..60:5 --plot OUT.html
# and must show an 11 x 9 heatmap. In every case the template itself is also filled with sample
# data (python3 writes the JSON and replaces the placeholder): an 11 x 9 grid with failed cells,
# a one-parameter sweep (bars), a 150 x 150 grid of a lower-is-better percentage; and the
# unfilled template must report an error. Each page is loaded in headless Chromium at 1400x1000:
# `#btl-status` must say `data-state="ok"` with no console message; a screenshot is taken.
# Installs Debian's chromium if it is missing. Pages and screenshots go to
# target/report-browser/sweep-*.
#
#   tests/report_browser/sweep.sh          # BTL=/path/to/btl to test a given binary
#
# Ends with `sweep-browser: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/report_browser/common.sh

TEMPLATE=src/sweep/heatmap.html
PLACEHOLDER='/*BTL_SWEEP_DATA*/null'

CHECK=sweep-browser

if ! ensure_chromium; then
    fail "chromium" "cannot install Debian's chromium"
    finish
fi
if ! BIN=$(btl_binary); then
    fail "build" "cargo build failed"
    finish
fi
if ! command -v python3 >/dev/null 2>&1; then
    fail "python3" "needed to fill the template with sample data"
    finish
fi
OUT="${CARGO_TARGET_DIR:-$PWD/target}/report-browser"
mkdir -p "$OUT"
rm -f "$OUT"/sweep-*

# status PAGE: the text of #btl-status after the page ran ("STATE: message").
# render NAME PAGE EXPECT: loads the page twice (DOM, screenshot); checks the status and the console.
render() {
    local name=$1 page=$2 expect=$3
    chromium_headless "$page" --window-size=1400,1000 --dump-dom >"$OUT/sweep-$name.dom" 2>"$OUT/sweep-$name.log"
    local console status
    console=$(grep -E "CONSOLE|Uncaught|ERR_NAME_NOT_RESOLVED|Failed to load" "$OUT/sweep-$name.log")
    status=$(grep -o '<[a-z]* id="btl-status" data-state="[a-z]*">[^<]*' "$OUT/sweep-$name.dom")
    if [ -z "$console" ] && [[ "$status" == *'data-state="ok"'* ]] && [[ "$status" == *"$expect"* ]]; then
        pass "sweep $name: renders with no console message (${status##*>})"
    else
        fail "sweep $name: render" "${status:-no status in the DOM (see $OUT/sweep-$name.log)}${expect:+ (expected: $expect)}${console:+; console: $console}"
    fi
    chromium_headless "$page" --window-size=1400,1000 --screenshot="$OUT/sweep-$name.png" >/dev/null 2>"$OUT/sweep-$name.shot.log"
    console=$(grep -E "CONSOLE|Uncaught" "$OUT/sweep-$name.shot.log")
    local size
    size=$(stat -c %s "$OUT/sweep-$name.png" 2>/dev/null || echo 0)
    if [ "$size" -gt 20000 ] && [ -z "$console" ]; then
        pass "sweep $name: screenshot $OUT/sweep-$name.png ($size bytes)"
    else
        fail "sweep $name: screenshot" "$size bytes${console:+; console: $console}"
    fi
}

# The real command, when the binary has it.
if "$BIN" sweep --help >/dev/null 2>&1; then
    page="$OUT/sweep-sma_cross.html"
    if "$BIN" sweep examples/sma_cross.btl --data examples/data/prices.csv \
        --param fast=5..15 --param slow=20..60:5 --plot "$page" >"$OUT/sweep-sma_cross.out" 2>"$OUT/sweep-sma_cross.err"; then
        if grep -qF "$PLACEHOLDER" "$page"; then
            fail "sweep sma_cross: btl sweep --plot" "the page still holds the placeholder"
        else
            pass "sweep sma_cross: btl sweep --plot wrote $page"
        fi
        render sma_cross "$page" "the 11 × 9 heatmap"
    else
        fail "sweep sma_cross: btl sweep --plot" "$(head -3 "$OUT/sweep-sma_cross.err")"
    fi
else
    echo "note $BIN has no 'sweep' command yet: testing the template with sample data only"
fi

# The template with sample data.
if [ "$(grep -cF "$PLACEHOLDER" "$TEMPLATE")" != 1 ]; then
    fail "sweep template" "$TEMPLATE must hold the placeholder $PLACEHOLDER exactly once"
    finish
fi
if ! python3 - "$TEMPLATE" "$OUT" "$PLACEHOLDER" <<'PY'; then
import json, math, random, sys

template_path, out, placeholder = sys.argv[1:4]
template = open(template_path, encoding="utf-8").read()
COLUMNS = ["index", "final_value", "total_return", "annual_return", "sharpe", "sortino", "calmar",
           "max_drawdown", "trades", "win_rate", "profit_factor", "sqn", "exposure", "error_code"]


def figures(rng, score):
    """Plausible statistics for one run whose quality is `score` (about -1..2)."""
    ret = 0.04 * score + rng.gauss(0, 0.01)
    dd = max(0.01, 0.18 - 0.05 * score + rng.gauss(0, 0.01))
    return {
        "final_value": round(100000 * (1 + ret), 2), "total_return": ret,
        "annual_return": ret / 8, "sharpe": score, "sortino": score * 1.4,
        "calmar": (ret / 8) / dd, "max_drawdown": dd, "trades": rng.randint(8, 60),
        "win_rate": min(0.9, max(0.1, 0.45 + 0.08 * score)), "profit_factor": max(0.2, 1 + 0.5 * score),
        "sqn": score * 0.9, "exposure": rng.uniform(0.3, 0.7), "error_code": None,
    }


def page(name, params, x, y, axes, metric, descending, score, fail_at, title, ntop=20):
    """axes: {param: values}; score(point) -> float; fail_at(point) -> error code or None."""
    rng = random.Random(name)
    names = list(axes)
    runs = []
    # every combination, in grid order (the first parameter varies slowest)
    def walk(i, point):
        if i == len(names):
            runs.append(dict(point))
            return
        for v in axes[names[i]]:
            point[names[i]] = v
            walk(i + 1, point)
    walk(0, {})
    rows = []
    for index, point in enumerate(runs):
        err = fail_at(point)
        f = {c: None for c in COLUMNS}
        if err is None:
            f.update(figures(rng, score(point)))
        f["error_code"] = err
        f["index"] = index
        rows.append((point, f))
    ok = [r for r in rows if r[1][metric] is not None]
    ok.sort(key=lambda r: r[1][metric], reverse=descending)
    best = ok[0][0]
    fixed = {p: best[p] for p in params if p not in (x, y)}
    xs = sorted(axes[x])
    ys = sorted(axes[y]) if y else []
    lookup = {tuple(p[k] for k in params): f[metric] for p, f in rows}
    def cell(xv, yv):
        key = dict(fixed, **{x: xv})
        if y:
            key[y] = yv
        return lookup.get(tuple(key[k] for k in params))
    cells = [[cell(xv, yv) for xv in xs] for yv in (ys or [None])]
    columns = ["index"] + params + COLUMNS[1:]
    top = [[f["index"]] + [p[k] for k in params] + [f[c] for c in COLUMNS[1:]] for p, f in ok[:ntop]]
    data = {
        "strategy": title.split(" ")[0], "metric": metric, "descending": descending,
        "params": params, "x": x, "y": y, "fixed": fixed, "x_values": xs, "y_values": ys,
        "cells": cells, "columns": columns, "top": top, "combinations": len(rows),
        "failed": sum(1 for _, f in rows if f["error_code"] is not None), "title": title,
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    with open(f"{out}/sweep-sample-{name}.html", "w", encoding="utf-8") as fh:
        fh.write(template.replace(placeholder, text))


def sma_score(p):
    f, s = p["fast"], p["slow"]
    return round(1.6 - ((f - 9) / 4) ** 2 * 0.5 - ((s - 35) / 15) ** 2 * 0.9 + 0.15 * math.sin(f * s) + (0.03 if p.get("qty") == 50 else 0), 4)


# 11 x 9 grid, a fixed third parameter, failed and not-run cells (a sharpe that can be negative).
fails = {(6, 45): "E2001", (12, 20): "E2001", (15, 60): "E3002"}
page("grid", ["fast", "slow", "qty"], "fast", "slow",
     {"fast": list(range(5, 16)), "slow": list(range(20, 61, 5)), "qty": [10, 50]},
     "sharpe", True, sma_score, lambda p: fails.get((p["fast"], p["slow"])),
     "sma_cross on prices.csv")
# One parameter: bars; one failed value.
page("single", ["fast"], "fast", None, {"fast": list(range(5, 16))}, "sharpe", True,
     lambda p: round(0.9 - ((p["fast"] - 9) / 3) ** 2 * 0.4, 4),
     lambda p: "E2001" if p["fast"] == 13 else None, "sma_cross on prices.csv, fast only")
# 150 x 150 floats, lower is better (a percentage), a few scattered failures.
a_vals = [round(0.01 * i, 2) for i in range(1, 151)]
b_vals = [round(1.5 + 0.25 * i, 2) for i in range(150)]
page("large-150x150", ["stop", "mult"], "stop", "mult", {"stop": a_vals, "mult": b_vals},
     "max_drawdown", False,
     lambda p: round(1.2 - abs(p["stop"] - 0.6) * 1.5 - abs(p["mult"] - 20) / 25 + 0.2 * math.sin(p["stop"] * 20) * math.cos(p["mult"] / 3), 4),
     lambda p: "E2001" if (int(p["stop"] * 100) * 7 + int(p["mult"] * 4)) % 97 == 0 else None,
     "breakout on tests/data/ohlcv_12000.csv (22500 runs)", ntop=50)
PY
    fail "sweep samples" "python3 could not write the sample pages"
    finish
fi
render sample-grid "$OUT/sweep-sample-grid.html" "the 11 × 9 heatmap of sharpe over fast × slow (3 n/a)"
render sample-single "$OUT/sweep-sample-single.html" "11 bars of sharpe over fast (1 n/a)"
render sample-large-150x150 "$OUT/sweep-sample-large-150x150.html" "the 150 × 150 heatmap of max_drawdown"

# The unfilled template says what is wrong.
chromium_headless "$TEMPLATE" --dump-dom >"$OUT/sweep-unfilled.dom" 2>"$OUT/sweep-unfilled.log"
status=$(grep -o '<[a-z]* id="btl-status" data-state="[a-z]*">[^<]*' "$OUT/sweep-unfilled.dom")
if [[ "$status" == *'data-state="error"'*'placeholder was not filled'* ]]; then
    pass "sweep unfilled template: reports ${status##*>}"
else
    fail "sweep unfilled template" "expected an error status, got: ${status:-nothing}"
fi

finish
