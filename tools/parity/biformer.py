#!/usr/bin/env python3
"""Parity fixtures for BiFormer against the authors' code (rayleizhu/BiFormer: models/biformer.py,
ops/bra_legacy.py — the implementation their released checkpoints use).

Usage:  /usr/bin/python3 tools/parity/biformer.py --src /path/to/BiFormer --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

einops and fairscale (activation checkpointing only) come from tools/parity/common_shims when not
installed. Per reduced fixture: config.json (constructor arguments, BiFormer.Config fields,
parameter count, routing-tie statistics), weights.safetensors (fp16; every tensor random incl.
BatchNorm statistics), input.npy, expected.npy (float64 logits).

Top-k ties. torch.topk on CPU selects with std::nth_element / partial_sort on values alone, so
among equal routing logits the chosen windows follow no index rule (e.g. topk(zeros(49), 1) picks
index 32); ONNX TopK keeps the lowest index. Equal logits arise in practice when windows are
identical (flat backgrounds, repeated texture), and then every choice gathers the same keys and
values, so the output does not depend on the tie-break. The "ties" fixture is built that way: the
input is a tiled patch, so interior windows are identical; the script counts the routing rows whose
top-k boundary falls inside a tie and in which torch's choice differs from the lowest-index one,
and records both, so the Java test shows parity exactly where the tie-breaks disagree.
"""
import argparse
import json
import os
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

COMMON = dict(n_win=4, kv_downsample_mode="identity", kv_per_wins=[-1, -1, -1, -1], side_dwconv=5,
              before_attn_dwconv=3, layer_scale_init_value=-1, head_dim=8, param_routing=False,
              diff_routing=False, soft_routing=False, pre_norm=True, pe=None)

REDUCED = {
    # 64 px, n_win 4: stage maps 16/8/4 (4x4, 2x2, 1x1-pixel windows) with BRA, 2x2 with LePE attention
    "biformer_reduced": dict(batch=2, img=64, tiled=False, kw=dict(
        depth=[1, 1, 2, 1], embed_dim=[16, 24, 32, 48], mlp_ratios=[3, 3, 2, 2], topks=[1, 3, 8, -2],
        qk_dims=[16, 24, 32, 48], num_classes=11, **COMMON)),
    # the same layout on a tiled input: identical interior windows give exactly tied routing logits
    "biformer_ties": dict(batch=1, img=64, tiled=True, kw=dict(
        depth=[1, 1, 1, 1], embed_dim=[16, 16, 32, 32], mlp_ratios=[2, 2, 2, 2], topks=[3, 3, 4, -2],
        qk_dims=[16, 16, 32, 32], num_classes=9, **COMMON)),
}

VARIANTS = ["biformer_tiny", "biformer_small", "biformer_base"]


def java_config(img, kw):
    return {"imgSize": img, "numClasses": kw["num_classes"], "depth": kw["depth"], "embedDim": kw["embed_dim"],
            "mlpRatios": [float(r) for r in kw["mlp_ratios"]], "topks": kw["topks"], "qkDims": kw["qk_dims"],
            "headDim": kw["head_dim"], "nWin": kw["n_win"], "sideDwconv": kw["side_dwconv"]}


def routing_ties(model, x):
    """Rows whose top-k cut falls inside a group of equal logits, and those where torch's pick differs from lowest-index."""
    from ops.bra_legacy import TopkRouting
    stats = {"tied_rows": 0, "differs_from_lowest_index": 0}

    def hook(mod, inp, out):
        q, k = inp
        logits = (q * mod.scale) @ k.transpose(-2, -1)
        _, idx = out
        for row, chosen in zip(logits.reshape(-1, logits.shape[-1]), idx.reshape(-1, idx.shape[-1])):
            vals = sorted(row.tolist(), reverse=True)
            kk = chosen.numel()
            if kk < len(vals) and vals[kk - 1] == vals[kk]:
                stats["tied_rows"] += 1
                lowest = sorted(range(len(vals)), key=lambda i: (-row[i].item(), i))[:kk]
                if set(lowest) != set(chosen.tolist()):
                    stats["differs_from_lowest_index"] += 1

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, TopkRouting)]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a rayleizhu/BiFormer checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod in ("einops", "fairscale"):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, args.src)
    import models.biformer as bf

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = bf.BiFormer(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        if spec["tiled"]:
            tile = pc.random_input((spec["batch"], 3, 16, 16), seed=7)
            x = tile.repeat(1, 1, spec["img"] // 16, spec["img"] // 16)
        else:
            x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        ties = routing_ties(model.double().eval(), x.double())
        y = pc.write_fixture(args.out, name, model, x, {"family": "biformer", "upstream": "models/biformer.py BiFormer (ops/bra_legacy.py)", "kwargs": kw,
                       "config": java_config(spec["img"], kw),
                       "routing_ties": ties})

    if args.counts:
        counts = {n: pc.param_count(getattr(bf, n)()) for n in VARIANTS}
        with open(os.path.join(args.out, "biformer_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
