#!/usr/bin/env bash
# Benchmarks AttnZoo graphs of the given models (random weights) with `attnzoo bench --floor`:
#   tools/bench/sweep.sh OUT.jsonl MODEL...        (env: RUNS=20 WARMUP=5 THREADS=2)
# One JSON object per model (the bench output plus "model"), appended to OUT.jsonl.
set -euo pipefail
out=$1; shift
dir=$(dirname "$out")/onnx
mkdir -p "$dir"
export ATTNZOO_NO_REBUILD=1
for m in "$@"; do
  f="$dir/$m.onnx"
  [ -f "$f" ] || bin/attnzoo convert "$m" --random-weights 0 -o "$f" >/dev/null
  j=$(bin/attnzoo bench "$f" --threads "${THREADS:-2}" --runs "${RUNS:-20}" --warmup "${WARMUP:-5}" --floor --json)
  echo "{\"name\":\"$m\",${j#\{}" >> "$out"
  rm -f "$f" "$f.data"
done
