#!/usr/bin/env bash
# Benchmarks AttnZoo graphs of the given models (synthetic weights) with `attnzoo bench --floor`:
#   tools/bench/sweep.sh OUT.jsonl MODEL...        (env: RUNS=20 WARMUP=5 THREADS=2 ROUNDS=1)
# Converts every model first, then benches ROUNDS rounds over all of them (interleaved, so a burst
# of load on a shared machine hits one round of a model, not all of them), appending one JSON
# object per model and round (the bench output plus "name" and "round") to OUT.jsonl.
# tools/bench/summarize.py OUT.jsonl prints the table: per model the round with the lowest median.
set -euo pipefail
out=$1; shift
dir=$(dirname "$out")/onnx
mkdir -p "$dir"
export ATTNZOO_NO_REBUILD=1
for m in "$@"; do
  f="$dir/$m.onnx"
  [ -f "$f" ] || bin/attnzoo convert "$m" --random-weights 0 -o "$f" >/dev/null
done
for r in $(seq "${ROUNDS:-1}"); do
  for m in "$@"; do
    j=$(bin/attnzoo bench "$dir/$m.onnx" --threads "${THREADS:-2}" --runs "${RUNS:-20}" --warmup "${WARMUP:-5}" --floor --json)
    echo "{\"name\":\"$m\",\"round\":$r,${j#\{}" >> "$out"
  done
done
for m in "$@"; do rm -f "$dir/$m.onnx" "$dir/$m.onnx.data"; done
