#!/usr/bin/env python3
"""Parity fixtures for OverLoCK against the authors' code (LMMMEng/OverLoCK, models/overlock.py).

Usage:  /usr/bin/python3 tools/parity/overlock.py --src /path/to/OverLoCK --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' models/overlock.py with three stand-ins from tools/parity/overlock_shim (our
own code, the einops one in tools/parity/common_shims): `natten.functional.na2d_av` (NATTEN's CPU kernels are gone from current releases; the
stand-in follows NATTEN's window rules and is checked on start against tools/parity/nat_shim, whose rules the sdk's neighbourhood
tests pin down), a minimal `einops` (Debian does not package it) and `mmengine.runner`
(load_checkpoint, only used for pretrained=True). The optional iGEMM large-kernel conv is absent,
so the model uses nn.Conv2d as the authors' fallback does.

Per reduced fixture: config.json (constructor arguments, OverLoCK.Config fields, parameter count),
weights.safetensors (fp16; every tensor random incl. BatchNorm statistics, GRN gammas/betas, layer
scales, relative position biases, the aux head), input.npy, expected.npy (float64 eval logits).
--counts writes overlock_param_counts.json for the authors' 8 registered models.
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

REDUCED = {
    # 64 px: stage maps 16/8/4/2, so both dynamic-kernel stages take the upstream "is_pad" path
    # (bilinear up to the kernel size, adaptive pool back); training-time branches (BatchNorms of
    # the dilated reparam block) as released
    "overlock_reduced": dict(batch=2, img=64, kw=dict(
        depth=[1, 1, 2, 1], sub_depth=[2, 2], in_chans=3, embed_dim=[16, 24, 32, 40], kernel_size=[7, 5, 5, 5],
        mlp_ratio=[2, 2, 2, 2], sub_mlp_ratio=[2, 2], sub_num_heads=[2, 2], smk_size=3, deploy=False,
        projection=24, num_classes=13)),
    # 128 px: stage 3 at 8x8 with kernel 7 (no padding), stage 4 at 4x4 (padded); re-parameterised layout
    "overlock_reduced_reparam": dict(batch=1, img=128, kw=dict(
        depth=[1, 1, 1, 1], sub_depth=[2, 1], in_chans=3, embed_dim=[16, 16, 32, 48], kernel_size=[9, 7, 7, 5],
        mlp_ratio=[2, 2, 2, 2], sub_mlp_ratio=[2, 2], sub_num_heads=[2, 3], smk_size=5, deploy=True,
        projection=32, num_classes=10)),
}

VARIANTS = ["overlock_xt", "overlock_t", "overlock_s", "overlock_b",
            "overlock_xt_reparam", "overlock_t_reparam", "overlock_s_reparam", "overlock_b_reparam"]


def java_config(img, kw):
    return {"imgSize": img, "inChans": kw["in_chans"], "numClasses": kw["num_classes"], "depth": kw["depth"],
            "subDepth": kw["sub_depth"], "embedDim": kw["embed_dim"], "kernelSize": kw["kernel_size"],
            "mlpRatio": [float(r) for r in kw["mlp_ratio"]], "subMlpRatio": [float(r) for r in kw["sub_mlp_ratio"]],
            "subNumHeads": kw["sub_num_heads"], "smkSize": kw["smk_size"], "deploy": kw["deploy"],
            "projection": kw["projection"], "lsInit": [False, False, True, True]}


def check_na_stand_in():
    """The na2d_av stand-in's windows must be NATTEN's: the same keys as tools/parity/nat_shim (whose
    rules the sdk's NeighborhoodWindows tests pin against a brute-force reference), and the same
    output as a direct loop over those windows."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("nat_rules", os.path.join(HERE, "nat_shim", "natten.py"))
    nat_rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nat_rules)
    import natten.functional as fn   # the overlock_shim stand-in
    na2d_av = fn.na2d_av
    for length in range(3, 16):
        for k in range(1, length + 1, 2):
            ours = fn._axis_keys(length, k)
            ref, _ = nat_rules.axis_tables(length, k, 1)
            assert torch.equal(ours, ref), (length, k)
    g = torch.Generator().manual_seed(0)
    attn = torch.randn(1, 2, 5, 6, 9, generator=g, dtype=torch.float64)
    val = torch.randn(1, 2, 5, 6, 4, generator=g, dtype=torch.float64)
    out = na2d_av(attn, val, 3)
    rows, _ = nat_rules.axis_tables(5, 3, 1)
    cols, _ = nat_rules.axis_tables(6, 3, 1)
    for i in range(5):
        for j in range(6):
            want = sum(attn[0, :, i, j, a * 3 + b, None] * val[0, :, rows[i, a], cols[j, b]] for a in range(3) for b in range(3))
            assert torch.allclose(out[0, :, i, j], want), (i, j)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of an LMMMEng/OverLoCK checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(HERE, "overlock_shim"))
    sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(args.src, "models"))
    import contextlib
    import io
    check_na_stand_in()
    with contextlib.redirect_stdout(io.StringIO()):   # the iGEMM probe prints per large-kernel conv
        import overlock

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        with contextlib.redirect_stdout(io.StringIO()):
            model = overlock.OverLoCK(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], kw["in_chans"], spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "overlock", "upstream": "models/overlock.py OverLoCK", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    if args.counts:
        counts = {}
        for n in VARIANTS:
            with contextlib.redirect_stdout(io.StringIO()):
                counts[n] = pc.param_count(getattr(overlock, n)())
        with open(os.path.join(args.out, "overlock_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
