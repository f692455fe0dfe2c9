#!/usr/bin/env bash
# Submits a `btl sweep` grid to Slurm in two steps: a job array of SHARDS tasks running
# sweep.sbatch (task i runs shard i+1/SHARDS), then a merge job (`sweep.sbatch merge`) that starts
# only when every task succeeded (`--dependency=afterok`) and is cancelled if one fails. The result
# is $OUT_DIR/sweep.csv; every job's log is in $OUT_DIR/logs/.
#
#   STRATEGY=examples/sma_cross.btl DATA=examples/data/prices.csv \
#   PARAMS="--param fast=5..12 --param slow=20..40:5" SHARDS=4 OUT_DIR=results \
#       examples/slurm/submit.sh [--parsable] [SBATCH OPTION...]
#
# Settings are sweep.sbatch's (BTL, STRATEGY, DATA, PARAMS, OUT_DIR, JOBS), plus SHARDS (default 4).
# The jobs run in the current folder, so relative paths are relative to it. SBATCH OPTIONs (say
# --partition=cpu --time=1:00:00 --cpus-per-task=8) go to both submissions. --parsable prints only
# the two job ids, "ARRAY_ID MERGE_ID". Part files and sweep.csv left by an earlier run in OUT_DIR
# are removed first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
parsable=""
if [ "${1:-}" = "--parsable" ]; then
    parsable=1
    shift
fi

export BTL=${BTL:-btl} OUT_DIR=${OUT_DIR:-btl-sweep} SHARDS=${SHARDS:-4}
export STRATEGY DATA PARAMS
for v in STRATEGY DATA PARAMS; do
    if [ -z "${!v:-}" ]; then
        echo "submit.sh: set $v (see the comment at the top of $0)" >&2
        exit 2
    fi
done
case "$SHARDS" in
'' | *[!0-9]* | 0*)
    echo "submit.sh: SHARDS must be a positive number, not '$SHARDS'" >&2
    exit 2
    ;;
esac

mkdir -p "$OUT_DIR/parts" "$OUT_DIR/logs" # Slurm does not create the log folder
rm -f "$OUT_DIR"/parts/part-*.csv "$OUT_DIR/sweep.csv"

array=$(sbatch --parsable --export=ALL --array="0-$((SHARDS - 1))" \
    --output="$OUT_DIR/logs/shard-%A_%a.out" "$@" "$here/sweep.sbatch")
array=${array%%;*} # "ID;CLUSTER" on a multi-cluster setup
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --job-name=btl-sweep-merge --output="$OUT_DIR/logs/merge-%j.out" "$@" \
    "$here/sweep.sbatch" merge)
merge=${merge%%;*}

if [ -n "$parsable" ]; then
    echo "$array $merge"
else
    echo "submitted array job $array ($SHARDS shards) and merge job $merge"
    echo "result: $OUT_DIR/sweep.csv; logs: $OUT_DIR/logs/; progress: squeue -j $array,$merge"
fi
