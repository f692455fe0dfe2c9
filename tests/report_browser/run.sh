#!/usr/bin/env bash
# The HTML report (`btl run --plot`) in a real browser. For each example: the page's embedded
# counts equal the run's bars and trades (`--json`); headless Chromium renders it with no console
# message and the page's own marker says it drew (`#btl-status[data-state=ok]`); a screenshot is
# taken. Installs Debian's chromium if it is missing. Screenshots go to target/report-browser/.
#
#   tests/report_browser/run.sh            # BTL=/path/to/btl to test a given binary
#
# Ends with `report-browser: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/report_browser/common.sh

CHECK=report-browser

if ! ensure_chromium; then
    fail "chromium" "cannot install Debian's chromium"
    finish
fi
if ! BIN=$(btl_binary); then
    fail "build" "cargo build failed"
    finish
fi
OUT="${CARGO_TARGET_DIR:-$PWD/target}/report-browser"
rm -rf "$OUT"
mkdir -p "$OUT"

# program data: overlays on price; an oscillator in its own pane; a downsampled run (12000 bars).
CASES="examples/sma_cross.btl:examples/data/prices.csv
examples/rsi_reversion.btl:examples/data/prices.csv
examples/bollinger.btl:tests/data/ohlcv_12000.csv"

# top-level "KEY": N of the pretty --json output
json_count() { grep -E "^  \"$1\": [0-9]+" "$2" | head -1 | tr -dc 0-9; }
# "KEY":N of the page's embedded data (the first occurrence is in its header)
page_count() {
    sed -n 's/.*<script id="btl-data" type="application\/json">//p' "$2" |
        grep -o "\"$1\":[0-9]*" | head -1 | tr -dc 0-9
}

while IFS=: read -r program data; do
    name=$(basename "$program" .btl)
    page="$OUT/$name.html"
    if ! "$BIN" run "$program" --data "$data" --json --plot "$page" >"$OUT/$name.json" 2>"$OUT/$name.err"; then
        fail "$name: btl run --plot" "$(head -3 "$OUT/$name.err")"
        continue
    fi
    bars=$(json_count bars "$OUT/$name.json")
    trades=$(json_count closed_trade_count "$OUT/$name.json")
    pbars=$(page_count bars "$page")
    ptrades=$(page_count trades "$page")
    if [ -n "$bars" ] && [ "$bars" = "$pbars" ] && [ "$trades" = "$ptrades" ]; then
        pass "$name: page data hold $pbars bars and $ptrades trades, as the run"
    else
        fail "$name: embedded counts" "run: $bars bars, $trades trades; page: $pbars bars, $ptrades trades"
    fi

    chromium_headless "$page" --dump-dom >"$OUT/$name.dom" 2>"$OUT/$name.log"
    console=$(grep -E "CONSOLE|Uncaught|ERR_NAME_NOT_RESOLVED|Failed to load" "$OUT/$name.log")
    status=$(grep -o '<p id="btl-status" data-state="[a-z]*">[^<]*' "$OUT/$name.dom")
    if [ -z "$console" ] && [[ "$status" == *'data-state="ok"'* ]]; then
        pass "$name: renders with no console message (${status##*>})"
    else
        fail "$name: render" "${status:-no status in the DOM (see $OUT/$name.log)}${console:+; console: $console}"
    fi

    chromium_headless "$page" --window-size=1400,1100 --screenshot="$OUT/$name.png" >/dev/null 2>"$OUT/$name.shot.log"
    console=$(grep -E "CONSOLE|Uncaught" "$OUT/$name.shot.log")
    size=$(stat -c %s "$OUT/$name.png" 2>/dev/null || echo 0)
    if [ "$size" -gt 20000 ] && [ -z "$console" ]; then
        pass "$name: screenshot $OUT/$name.png ($size bytes)"
    else
        fail "$name: screenshot" "$size bytes${console:+; console: $console}"
    fi
done <<<"$CASES"

finish
