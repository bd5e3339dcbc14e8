#!/usr/bin/env python3
"""Summarises tools/bench/compare.sh output: per group and file, the best round's median and the
median of the round medians; the floor at the highest and at the median MatMul peak measured."""
import collections
import json
import statistics
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
peaks = [r["matmul_peak_gflops"] for r in rows if "matmul_peak_gflops" in r]
best_peak, med_peak = max(peaks), statistics.median(peaks)
print(f"MatMul peak {min(peaks):.0f}-{best_peak:.0f} GFLOP/s (median {med_peak:.0f})")
runs = collections.defaultdict(list)
gflop = {}
for r in rows:
    if "median_ms" in r:
        runs[(r["group"], r["file"])].append(r["median_ms"])
    if "gflop" in r:
        gflop[r["group"]] = r["gflop"]
ours = {}
for (g, f), v in runs.items():
    best, med = min(v), statistics.median(v)
    ours.setdefault(g, best)
    fl = gflop[g] / best_peak * 1e3 if g in gflop else float("nan")
    print(f"{g:28s} {f:44s} best {best:8.2f} ms (median {med:8.2f}) | {best / fl:4.2f}x floor {fl:.1f} ms"
          f" | {best / ours[g]:4.2f}x the first file")
