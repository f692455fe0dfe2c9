# Shared by run.sh and screenshot.sh: Debian's chromium, the btl binary, a headless browser call.
# Sourced from the repository root.

# Installs Debian's chromium when it is missing (needs root, as on the project's machines).
ensure_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        return 0
    fi
    echo "report browser: installing Debian's chromium" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
}

# Builds btl (unless $BTL names a binary) and prints its path.
btl_binary() {
    if [ -n "${BTL:-}" ]; then
        echo "$BTL"
        return 0
    fi
    cargo build --release --quiet --bin btl >&2 || return 1
    echo "${CARGO_TARGET_DIR:-$PWD/target}/release/btl"
}

# chromium_headless PAGE.html ARGS...: a fresh profile, no network (every host name fails to
# resolve, so a page that tried to load anything would log an error), console messages on stderr.
chromium_headless() {
    local page=$1
    shift
    local profile
    profile=$(mktemp -d)
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --host-resolver-rules="MAP * ~NOTFOUND" \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        --virtual-time-budget=10000 "$@" "file://$(realpath "$page")"
    local rc=$?
    rm -rf "$profile"
    return $rc
}

# Counters of one check script: `pass NAME`, `fail NAME [WHY]`, and `finish`, which prints
# `$CHECK: N passed, M failed` and exits non-zero on any failure. Set CHECK before use.
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() {
    echo "${CHECK:-check}: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}
