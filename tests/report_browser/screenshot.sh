#!/usr/bin/env bash
# A screenshot of the HTML report, as a person would see it:
#
#   tests/report_browser/screenshot.sh OUT.png [PROGRAM.btl [DATA.csv [btl run flags...]]]
#
# defaults: examples/bollinger.btl on examples/data/prices.csv. Builds btl (or uses $BTL), runs it
# with --plot, opens the page in headless Chromium (installed from Debian's packages if missing)
# at 1400x${HEIGHT:-1100} and writes the PNG. Keeps the page beside it as OUT.html.
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 OUT.png [PROGRAM.btl [DATA.csv [btl run flags...]]]" >&2
    exit 2
fi
out=$(realpath -m "$1")
program=$(realpath "${2:-examples/bollinger.btl}")
data=$(realpath "${3:-examples/data/prices.csv}")
shift $(($# < 3 ? $# : 3))
cd "$(dirname "$0")/../.."
. tests/report_browser/common.sh
ensure_chromium
BIN=$(btl_binary)
page="${out%.png}.html"
"$BIN" run "$program" --data "$data" --plot "$page" "$@" >/dev/null
log=$(mktemp)
chromium_headless "$page" --window-size=1400,"${HEIGHT:-1100}" --screenshot="$out" >/dev/null 2>"$log" || true
if grep -E "CONSOLE|Uncaught" "$log" >&2; then
    rm -f "$log"
    echo "screenshot: the page logged the messages above" >&2
    exit 1
fi
rm -f "$log"
[ -s "$out" ] || { echo "screenshot: no image written" >&2; exit 1; }
echo "$out"
