#!/usr/bin/env bash
# examples/slurm on a real Slurm: starts munged, slurmctld and slurmd on this machine (one node,
# every file under a scratch folder), submits a 4-shard `btl sweep` of examples/sma_cross.btl with
# examples/slurm/submit.sh, waits for the job array and its merge job, and checks that every task
# and the merge completed and that the merged CSV equals, byte for byte, a one-machine `btl sweep`
# of the same grid. A second submission with a missing strategy checks that a failed array is seen:
# its tasks fail and its merge job is cancelled. Installs Debian's slurm-wlm and munge with apt-get
# when they are missing; needs root (the daemons run as root, as on CI).
#
#   tests/slurm/run.sh            # BTL=/path/to/btl to test a given binary
#
# Stops the daemons and removes the scratch folder on exit. Ends with `slurm: N passed, M failed`;
# exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit
. tests/report_browser/common.sh
export PATH="$PATH:/usr/sbin:/sbin"

# The grid, and how many array tasks share it.
STRATEGY=examples/sma_cross.btl
DATA=examples/data/prices.csv
PARAMS="--param fast=5..12 --param slow=20..40:5"
SHARDS=4

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }
finish() {
    if [ "$failed" != 0 ] && [ -n "${D:-}" ]; then
        show_logs "$D/slurmctld.log" "$D/slurmd.log"
    fi
    echo "slurm: $passed passed, $failed failed"
    [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
    exit
}

if [ "$(id -u)" != 0 ]; then
    fail "root" "slurmctld and slurmd must run as root here"
    finish
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
    ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm: installing slurm-wlm and munge with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! { timeout 600 apt-get update -qq >&2 &&
        timeout 600 apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2; }; then
        fail "install" "apt-get install slurm-wlm munge failed"
        finish
    fi
fi
if ! BIN=$(btl_binary); then
    fail "build" "cargo build failed"
    finish
fi
# The jobs run through slurmd, so they need a path that does not depend on this shell.
case "$BIN" in
*/*) BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" ;;
*) BIN=$(command -v "$BIN") ;;
esac
if [ ! -x "$BIN" ]; then
    fail "btl" "no btl binary at $BIN"
    finish
fi
start=$SECONDS

D=$(mktemp -d)
chmod 0711 "$D" # munged wants every folder above its socket searchable by all
submitted=""
# Cancels what is left of our jobs, stops the daemons (asking first, then by their pids) and
# removes the scratch folder.
cleanup() {
    if [ -n "$submitted" ] && [ -S "$D/munge/munge.socket.2" ]; then
        local left
        IFS=, read -r -a left <<<"$submitted"
        timeout 10 scancel "${left[@]}" 2>/dev/null
        for _ in $(seq 20); do
            [ -z "$(timeout 5 squeue -h -j "$submitted" -o %i 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    local ctld slurmd munged
    ctld=$(cat "$D/slurmctld.pid" 2>/dev/null)
    slurmd=$(cat "$D/slurmd.pid" 2>/dev/null)
    munged=$(cat "$D/munge/munged.pid" 2>/dev/null)
    # slurmctld tells slurmd to stop, over munge: munged goes last.
    [ -n "$ctld" ] && timeout 10 scontrol shutdown >/dev/null 2>&1
    stop_pid slurmctld "$ctld"
    stop_pid slurmd "$slurmd"
    [ -n "$munged" ] && munged --stop --socket="$D/munge/munge.socket.2" >/dev/null 2>&1
    stop_pid munged "$munged"
    rm -rf "$D"
}
# stop_pid NAME PID: waits up to 10 s for a daemon we started to end, then kills it.
stop_pid() {
    [ -n "$2" ] || return 0
    for _ in $(seq 40); do
        kill -0 "$2" 2>/dev/null || return 0
        sleep 0.25
    done
    echo "slurm: $1 ($2) did not stop; killing it" >&2
    kill -9 "$2" 2>/dev/null
}
trap cleanup EXIT
trap "exit 130" INT
trap "exit 143" TERM

# show_logs FILE...: the end of each (job logs, daemon logs), after a failure.
show_logs() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "--- $f" >&2
        tail -n 20 "$f" >&2
    done
}

# munge: a fresh key; the socket folder must be 0755 or munged complains.
mkdir -m 0755 "$D/munge"
mungekey -c -k "$D/munge/munge.key" >/dev/null 2>&1 && chmod 400 "$D/munge/munge.key"
if ! munged --key-file="$D/munge/munge.key" --socket="$D/munge/munge.socket.2" \
    --pid-file="$D/munge/munged.pid" --log-file="$D/munge/munged.log" \
    --seed-file="$D/munge/munged.seed" 2>"$D/munge/start.err"; then
    fail "munged" "$(cat "$D/munge/start.err" "$D/munge/munged.log" 2>/dev/null | tail -3)"
    finish
fi

# One node, this machine, as `slurmd -C` sees it; no accounting, no cgroups.
host=$(hostname -s)
node=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/ RealMemory=[0-9]*//')
case "$node" in
"NodeName=$host "*) ;;
*) node="NodeName=$host CPUs=$(nproc)" ;;
esac
export SLURM_CONF="$D/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=btltest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$D/munge/munge.socket.2
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MailProg=/bin/true
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/slurmd
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
$node NodeAddr=127.0.0.1 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p "$D/state" "$D/slurmd"
slurmctld -f "$SLURM_CONF" 2>"$D/slurmctld.err" && slurmd -f "$SLURM_CONF" 2>"$D/slurmd.err"
state=""
for _ in $(seq 60); do
    state=$(timeout 5 sinfo -h -N -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    sleep 0.5
done
if [ "$state" = idle ]; then
    pass "slurmctld and slurmd up, node $host idle ($((SECONDS - start)) s)"
else
    fail "slurm start" "node state '${state:-none}' after 30 s"
    cat "$D/slurmctld.err" "$D/slurmd.err" >&2
    finish
fi

# submit OUT_DIR [VAR=VALUE...]: runs submit.sh and prints "ARRAY_ID MERGE_ID".
submit() {
    local out=$1
    shift
    env BTL="$BIN" STRATEGY="$STRATEGY" DATA="$DATA" PARAMS="$PARAMS" SHARDS="$SHARDS" \
        OUT_DIR="$out" "$@" timeout 20 examples/slurm/submit.sh --parsable
}
# wait_jobs IDS SECONDS: until squeue no longer lists the jobs (finished, failed or cancelled).
wait_jobs() {
    for _ in $(seq $((2 * $2))); do
        [ -z "$(timeout 5 squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    return 1
}
# states ID: the JobState of each task of a job, one a line (finished jobs stay in slurmctld's
# memory for MinJobAge, 300 s).
states() { timeout 5 scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
data_rows() { tail -n +2 "$1" | wc -l; }

# The sweep, on SHARDS array tasks and merged by a dependent job.
OUT="$D/out"
if ! ids=$(submit "$OUT" 2>"$D/submit.err"); then
    fail "submit" "$(cat "$D/submit.err")"
    finish
fi
read -r array merge <<<"$ids"
submitted="$array,$merge"
if wait_jobs "$submitted" 45; then
    pass "array job $array and merge job $merge left the queue ($((SECONDS - start)) s)"
else
    fail "wait" "jobs $submitted still queued after 45 s: $(squeue -h -j "$submitted" -o '%i %T %r' | tr '\n' ';')"
fi
got=$(states "$array" | sort | uniq -c | xargs)
if [ "$got" = "$SHARDS COMPLETED" ]; then
    pass "all $SHARDS array tasks completed"
else
    fail "array tasks" "states: ${got:-none}"
    show_logs "$OUT"/logs/shard-*
fi
got=$(states "$merge" | xargs)
if [ "$got" = COMPLETED ] && [ -s "$OUT/sweep.csv" ]; then
    pass "merge job completed and wrote sweep.csv"
else
    fail "merge job" "state ${got:-none}; sweep.csv $([ -s "$OUT/sweep.csv" ] || echo "not ")written"
    show_logs "$OUT"/logs/merge-*
fi

# Every part holds some rows; the merged file holds them all, indices 0.. in order.
rows=0
bad=""
for k in $(seq "$SHARDS"); do
    part="$OUT/parts/part-$k.csv"
    if [ -f "$part" ] && [ "$(data_rows "$part")" -gt 0 ]; then
        rows=$((rows + $(data_rows "$part")))
    else
        bad="$bad part-$k.csv"
    fi
done
if [ -s "$OUT/sweep.csv" ]; then
    merged=$(data_rows "$OUT/sweep.csv")
    indices=$(tail -n +2 "$OUT/sweep.csv" | cut -d, -f1 | tr '\n' ' ')
    expected=$(seq -s ' ' 0 $((merged - 1)))
    header=$(head -n 1 "$OUT/sweep.csv")
else
    merged=0 indices="" expected="-" header=""
fi
if [ -z "$bad" ] && [ "$merged" -gt 0 ] && [ "$merged" = "$rows" ] &&
    [ "$indices" = "$expected " ] && [[ "$header" == index,fast,slow,* ]]; then
    pass "$SHARDS parts hold $rows rows; sweep.csv holds them, index 0..$((merged - 1)) in order"
else
    fail "parts" "${bad:+missing or empty:$bad; }parts hold $rows rows, sweep.csv $merged; header '$header'"
fi

# The same grid on this machine, in one process.
read -r -a params <<<"$PARAMS"
if "$BIN" sweep "$STRATEGY" --data "$DATA" "${params[@]}" --out "$D/local.csv" \
    >"$D/local.out" 2>"$D/local.err"; then
    if [ ! -s "$OUT/sweep.csv" ]; then
        fail "compare" "no merged CSV to compare with the one-machine sweep"
    elif cmp "$D/local.csv" "$OUT/sweep.csv"; then
        pass "merged CSV equals the one-machine sweep byte for byte ($(data_rows "$D/local.csv") rows)"
    else
        fail "compare" "the merged CSV differs from the one-machine sweep"
        diff "$D/local.csv" "$OUT/sweep.csv" | head -n 10
    fi
else
    fail "one-machine sweep" "$(head -n 3 "$D/local.err")"
fi

# A planted failure: a strategy file that does not exist. Every task must fail and the merge job
# must be cancelled without writing anything.
BAD="$D/bad"
if ! ids=$(submit "$BAD" STRATEGY="$D/missing.btl" 2>"$D/submit.err"); then
    fail "submit (planted failure)" "$(cat "$D/submit.err")"
    finish
fi
read -r array merge <<<"$ids"
submitted="$array,$merge"
wait_jobs "$submitted" 30
got_array=$(states "$array" | sort | uniq -c | xargs)
got_merge=$(states "$merge" | xargs)
if [ "$got_array" = "$SHARDS FAILED" ] && [ "$got_merge" = CANCELLED ] && [ ! -e "$BAD/sweep.csv" ] &&
    [ -z "$(ls "$BAD/parts")" ]; then
    pass "planted failure: all $SHARDS tasks failed, merge job cancelled, nothing written"
else
    fail "planted failure" "tasks: ${got_array:-none}; merge: ${got_merge:-none}; files: $(find "$BAD" -name logs -prune -o -type f -printf '%P ')"
    show_logs "$BAD"/logs/*
fi

echo "slurm: $((SECONDS - start)) s after install and build" >&2
finish
