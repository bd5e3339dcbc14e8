#!/usr/bin/env python3
"""Parity fixtures for RAVLT (rank-augmented linear attention) against the authors' code
(qhfan/RALA, classfication/RALA.py — the repository spells the folder that way).

Usage:  /usr/bin/python3 tools/parity/ravlt.py --src /path/to/RALA --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' model file from --src; einops and fvcore (imported there, fvcore only for a
FLOP printout) come from tools/parity/common_shims when not installed. Per reduced fixture:
config.json (constructor arguments, Ravlt.Config fields, parameter count), weights.safetensors
(fp16; every tensor random incl. BatchNorm statistics, layer scales and the RoPE `angle` buffers,
which the model reads from its state dict), input.npy, expected.npy (float64 logits).
--counts writes ravlt_param_counts.json for RAVLT_T/S/B/L.
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
    # linear attention in stages 0-1, softmax attention in 2-3 (the default flags), layer scales
    "ravlt_reduced": dict(batch=2, img=64, kw=dict(
        num_classes=11, embed_dims=[16, 32, 48, 64], depths=[1, 2, 2, 1], num_heads=[1, 2, 3, 4],
        mlp_ratios=[3.5, 3.5, 3.0, 3.0], projection=48, layerscales=[True, True, True, True],
        layer_init_values=[1, 1, 1e-6, 1e-6])),
    # no layer scales, odd maps (56 -> 14 -> 7 -> 4 -> 2), a mixed flag list in stage 2
    "ravlt_reduced_odd": dict(batch=1, img=56, kw=dict(
        num_classes=9, embed_dims=[16, 16, 32, 32], depths=[1, 1, 2, 1], num_heads=[2, 2, 4, 4],
        mlp_ratios=[2, 2, 2, 2], projection=40, layerscales=[False, False, False, False],
        flagss=[["l"], ["l"], ["l", "v"], ["v"]])),
}


def java_config(img, kw):
    flags = kw.get("flagss", [["l"] * 10, ["l"] * 10, ["v", "v"] * 10, ["v"] * 10])
    return {"imgSize": img, "numClasses": kw["num_classes"], "embedDims": kw["embed_dims"], "depths": kw["depths"],
            "numHeads": kw["num_heads"], "mlpRatios": [float(r) for r in kw["mlp_ratios"]],
            "projection": kw["projection"], "layerScales": kw["layerscales"],
            "linear": [[f == "l" for f in flags[i][:kw["depths"][i]]] for i in range(len(kw["depths"]))]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a qhfan/RALA checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--only", help="write only this fixture")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod in ("einops", "fvcore"):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(args.src, "classfication"))
    import RALA

    for name, spec in REDUCED.items():
        if args.only and name != args.only:
            continue
        kw = spec["kw"]
        model = RALA.RAVLT(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "ravlt", "upstream": "classfication/RALA.py RAVLT", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    # A checkpoint without the RoPE `angle` buffers, which the authors' main.py (strict=False) runs on
    # the constructor's values: every other tensor random, angle as constructed, then left out of the file.
    name = "ravlt_reduced_noangle"
    if not args.only or args.only == name:
        kw = REDUCED["ravlt_reduced_odd"]["kw"]
        model = RALA.RAVLT(**kw)
        angles = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(".angle")}
        assert angles, "no RoPE angle buffers"
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        model.load_state_dict(angles, strict=False)
        x = pc.random_input((1, 3, 56, 56), seed=7)
        pc.write_fixture(args.out, name, model, x, {"family": "ravlt", "upstream": "classfication/RALA.py RAVLT", "kwargs": kw,
                         "config": java_config(56, kw), "dropped": sorted(angles)})
        sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items() if k not in angles}
        pc.write_safetensors(os.path.join(args.out, name, "weights.safetensors"), sd, dtype=torch.float16)

    if args.counts:
        counts = {n: pc.param_count(getattr(RALA, n)()) for n in ["RAVLT_T", "RAVLT_S", "RAVLT_B", "RAVLT_L"]}
        with open(os.path.join(args.out, "ravlt_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
