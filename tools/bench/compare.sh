#!/usr/bin/env bash
# Interleaved A/B(/C) benchmark of ONNX files, e.g. our graph against torch.onnx.export's:
#   tools/bench/compare.sh OUT.jsonl GROUPS.txt        (env: ROUNDS=3 RUNS=20 WARMUP=5 THREADS=2)
# GROUPS.txt: one group per line, "NAME FILE1,FILE2,..." (the first file is ours; it is benched with
# --floor). Every round benches every file of every group in turn, so load on a shared machine hits
# one round of a graph, not all of them; one JSON object per file and round is appended to OUT.jsonl.
# tools/bench/compare_summary.py OUT.jsonl prints best-round and median-of-rounds latencies and floors.
set -euo pipefail
out=$1; groups=$2
export ATTNZOO_NO_REBUILD=1
for r in $(seq "${ROUNDS:-3}"); do
  while read -r g files; do
    [ -z "$g" ] && continue
    first=1
    for f in ${files//,/ }; do
      fl=""; [ $first = 1 ] && fl="--floor"; first=0
      j=$(bin/attnzoo bench "$f" --threads "${THREADS:-2}" --runs "${RUNS:-20}" --warmup "${WARMUP:-5}" $fl --json 2>/dev/null) || j='{"error":1}'
      echo "{\"group\":\"$g\",\"file\":\"$(basename "$f")\",\"round\":$r,${j#\{}" >> "$out"
    done
  done < "$groups"
done
