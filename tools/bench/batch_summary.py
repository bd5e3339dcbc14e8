#!/usr/bin/env python3
"""Summarises tools/bench/batch.sh output: per group and batch size, images/s of each file in its
best round (the round with the lowest median latency; the median over rounds beside it), and each
export's rate against ours (the group's first file): best round against best round, and in brackets
the range of the per-round ratios (ours and the export measured in the same round, minutes apart).
Prints a Markdown table.

Usage: python3 tools/bench/batch_summary.py OUT.jsonl
"""
import collections
import json
import statistics
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rate = collections.defaultdict(list)      # (group, file, batch) -> images/s per round
    by_round = {}                             # (group, file, batch, round) -> images/s
    files = collections.OrderedDict()         # group -> files in order
    batches = sorted({r["batch"] for r in rows})
    for r in rows:
        files.setdefault(r["group"], [])
        if r["file"] not in files[r["group"]]:
            files[r["group"]].append(r["file"])
        if "median_ms" in r:
            v = r["batch"] * 1000.0 / r["median_ms"]
            rate[(r["group"], r["file"], r["batch"])].append(v)
            by_round[(r["group"], r["file"], r["batch"], r["round"])] = v
    head = "| model | graph | " + " | ".join(f"batch {b} img/s" for b in batches) + " | ours / graph (batch " + ", ".join(map(str, batches)) + ") |"
    print(head)
    print("|" + "---|" * (3 + len(batches)))
    for g, fs in files.items():
        ours = {b: max(rate[(g, fs[0], b)], default=None) for b in batches}
        for i, f in enumerate(fs):
            cells, ratios = [], []
            for b in batches:
                v = rate[(g, f, b)]
                if not v:
                    cells.append("fails")
                    ratios.append("—")
                    continue
                cells.append(f"{max(v):.1f} ({statistics.median(v):.1f})")
                if not ours[b]:
                    ratios.append("—")
                    continue
                per = [by_round[(g, fs[0], b, rd)] / by_round[(g, f, b, rd)] for (gg, ff, bb, rd) in by_round
                       if (gg, ff, bb) == (g, f, b) and (g, fs[0], b, rd) in by_round]
                ratios.append(f"{ours[b] / max(v):.2f}× ({min(per):.2f}–{max(per):.2f})")
            print(f"| `{g}` | {'AttnZoo' if i == 0 else f} | " + " | ".join(cells) + " | " + ("" if i == 0 else ", ".join(ratios)) + " |")


if __name__ == "__main__":
    main()
