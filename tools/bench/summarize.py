#!/usr/bin/env python3
"""Summarizes tools/bench/sweep.sh output as the Markdown rows of docs/benchmarks.md.

Usage: python3 tools/bench/summarize.py OUT.jsonl [MORE.jsonl ...]

Per model: the round with the lowest median latency (a shared VM's bursts of load only ever slow a
run down), and the floor from the highest MatMul throughput measured in any round (likewise).
"""
import json
import sys


def main():
    rounds = {}
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                if line.strip():
                    j = json.loads(line)
                    rounds.setdefault(j["name"], []).append(j)
    print("| model | input | AttnZoo graph | FLOPs | FLOP floor | ours / floor |")
    print("|---|---|---|---|---|---|")
    for name, js in rounds.items():
        best = min(js, key=lambda j: j["median_ms"])
        peak = max(j["matmul_peak_gflops"] for j in js)
        floor = best["gflop"] / peak * 1e3
        ms = best["median_ms"]
        fmt = (lambda v: f"{v:.2f} ms") if ms < 10 else (lambda v: f"{v:.1f} ms") if ms < 1000 else (lambda v: f"{v:.0f} ms")
        print(f"| `{name}` | {best['input_shape'][2]} | {fmt(ms)} | {best['gflop']:.2f} G | {fmt(floor)} | {ms / floor:.2f}× |"
              f"  <!-- {len(js)} rounds, peak {peak:.0f} GFLOP/s -->")


if __name__ == "__main__":
    main()
