#!/usr/bin/env bash
# Batch throughput (images/s at several batch sizes) of ONNX files, ours against exports, interleaved:
#   tools/bench/batch.sh OUT.jsonl GROUPS.txt     (env: ROUNDS=2 BATCHES="1 8 32" THREADS=2)
# GROUPS.txt: one group per line, "NAME FILE1,FILE2,..." (ours first, then exports with a dynamic
# batch axis). Each round benches every file of every group at every batch size in turn; runs per
# measurement shrink with the batch (batch 1: 12 runs, 8: 4, 32: 3) so each takes about as long.
# One JSON object per file, batch and round is appended to OUT.jsonl; tools/bench/batch_summary.py
# OUT.jsonl prints images/s per batch (best round) and ours against each export.
set -euo pipefail
out=$1; groups=$2
export ATTNZOO_NO_REBUILD=1
for r in $(seq "${ROUNDS:-2}"); do
  while read -r g files; do
    [ -z "$g" ] && continue
    for b in ${BATCHES:-1 8 32}; do
      runs=$(( b == 1 ? 12 : (b <= 8 ? 4 : 3) )); warm=$(( b == 1 ? 3 : 1 ))
      for f in ${files//,/ }; do
        j=$(bin/attnzoo bench "$f" --batch "$b" --threads "${THREADS:-2}" --runs "$runs" --warmup "$warm" --json 2>/dev/null) || j='{"error":1}'
        echo "{\"group\":\"$g\",\"file\":\"$(basename "$f")\",\"batch\":$b,\"round\":$r,${j#\{}" >> "$out"
      done
    done
  done < "$groups"
done
