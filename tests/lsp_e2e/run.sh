#!/usr/bin/env bash
# End-to-end test of `btl lsp` with a real client: Neovim (Debian's `neovim` package, 0.7+) opens
# broken.btl, receives the diagnostic at the right line and column, asks for a hover and a
# definition, fixes the error and sees the diagnostic go. Installs Neovim with apt-get when it is
# missing (CI runs as root), builds btl, bounds every step with a timeout, prints one line per
# check and closes with `lsp-e2e: N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/lsp_e2e

fail() {
  echo "lsp-e2e: $*" >&2
  echo "lsp-e2e: 0 passed, 1 failed"
  exit 1
}

if ! command -v nvim >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo="sudo -n" || fail "nvim is missing and we are not root"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "nvim is missing and apt-get is not available"
  echo "lsp-e2e: installing neovim with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 $sudo apt-get update -qq >/dev/null || fail "apt-get update failed"
  timeout 600 $sudo apt-get install -y -qq neovim >/dev/null || fail "apt-get install neovim failed"
fi
nvim --version | head -n 1 >&2

if [ -z "${BTL_BIN:-}" ]; then
  timeout 1800 cargo build --release --locked --quiet --bin btl || fail "cargo build failed"
  target_dir="${CARGO_TARGET_DIR:-target}"
  case "$target_dir" in /*) ;; *) target_dir="$(pwd)/$target_dir" ;; esac
  BTL_BIN="$target_dir/release/btl"
fi
[ -x "$BTL_BIN" ] || fail "no btl binary at $BTL_BIN"
case "$BTL_BIN" in /*) ;; *) BTL_BIN="$(pwd)/$BTL_BIN" ;; esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$here/broken.btl" "$tmp/"
mkdir -p "$tmp/cache" "$tmp/home"

# -u NONE: no user config; -i NONE: no shada; -n: no swap file. Neovim's own files (its LSP log)
# and btl's stdlib cache go under $tmp.
BTL_BIN="$BTL_BIN" E2E_DIR="$tmp" E2E_OUT="$tmp/results" \
  XDG_CACHE_HOME="$tmp/cache" XDG_STATE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/cache" \
  XDG_CONFIG_HOME="$tmp/cache" HOME="$tmp/home" \
  timeout -k 5 120 nvim --headless -u NONE -i NONE -n -c "luafile $here/client.lua" \
  </dev/null >"$tmp/nvim.out" 2>&1
status=$?

passed=0
failed=0
if [ -s "$tmp/results" ]; then
  while IFS= read -r line; do
    echo "  $line"
    case "$line" in
      PASS*) passed=$((passed + 1)) ;;
      FAIL*) failed=$((failed + 1)) ;;
    esac
  done <"$tmp/results"
else
  echo "  FAIL neovim wrote no results (exit status $status)"
  failed=$((failed + 1))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "  FAIL neovim exited with status $status"
  failed=$((failed + 1))
fi
if [ "$failed" -ne 0 ]; then
  echo "--- neovim output ---" >&2
  cat "$tmp/nvim.out" >&2
  find "$tmp/cache" -name 'lsp.log' -exec sh -c 'echo "--- $1 ---"; tail -n 60 "$1"' _ {} \; >&2
fi
echo "lsp-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
