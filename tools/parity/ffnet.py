#!/usr/bin/env python3
"""Parity fixtures for FFNet / MetaMixer against the authors' code (ysj9909/FFNet, models/ffnet.py).

Usage:  /usr/bin/python3 tools/parity/ffnet.py --src /path/to/FFNet --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' model file from --src; timm's private `_update_default_kwargs`, which they
import and today's timm lacks, is stood in by a no-op (FFNet ignores the kwargs it would set). The fixtures hold the
released, training-time layout (Conv2d_BN pairs, two-branch RepVGGDW, BN_Conv2d skips), which is
what the published checkpoints contain. Per reduced fixture: config.json (constructor arguments,
FFNet.Config fields, parameter count), weights.safetensors (fp16; every tensor random incl.
BatchNorm statistics and layer scales), input.npy, expected.npy (float64 logits).
--counts writes ffnet_param_counts.json for the authors' 4 registered models.
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
    # RepVGGDW (7x7) everywhere it can be, layer scales, SE in even blocks, patch merging
    "ffnet_reduced": dict(batch=2, img=64, kw=dict(
        num_classes=11, embed_dim=[16, 32, 32, 64], in_dim=8, depth=[1, 1, 2, 1], kernel_sizes=[7, 3, 7, 7],
        kernel_sizes1=[3, 7, 7, 3], kernel_sizes2=[7, 3, 3, 7], use_gelus=[True, False, True, True],
        use_ses=[True, False, True, False], expansion_ratios=[2, 2, 3, 2], use_layer_scale=True,
        layer_scale_init_value=1e-5)),
    # ffnet_1-like kernels, no layer scale, odd map sizes
    "ffnet_reduced_odd": dict(batch=1, img=56, kw=dict(
        num_classes=9, embed_dim=[8, 16, 16, 32], in_dim=8, depth=[1, 1, 1, 1], kernel_sizes=[3, 3, 3, 3],
        kernel_sizes1=[3, 3, 7, 7], kernel_sizes2=[3, 3, 7, 7], expansion_ratios=[3, 3, 3, 3], use_layer_scale=False)),
}

VARIANTS = ["ffnet_1", "ffnet_2", "ffnet_3", "ffnet_4"]


def java_config(img, kw):
    n = len(kw["embed_dim"])
    return {"imgSize": img, "numClasses": kw["num_classes"], "embedDim": kw["embed_dim"], "inDim": kw["in_dim"],
            "depth": kw["depth"], "kernelSizes": kw["kernel_sizes"], "kernelSizes1": kw["kernel_sizes1"],
            "kernelSizes2": kw["kernel_sizes2"], "useGelus": kw.get("use_gelus", [True] * n),
            "useSes": kw.get("use_ses", [False] * n), "expansionRatios": [float(r) for r in kw["expansion_ratios"]],
            "useLayerScale": kw["use_layer_scale"], "reparameterize": False}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a ysj9909/FFNet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    # the authors import a private timm helper that today's timm no longer has; it only copies
    # pretrained-cfg defaults (input size, classes) into the constructor kwargs, which FFNet ignores
    import timm.models._builder as builder
    if not hasattr(builder, "_update_default_kwargs"):
        builder._update_default_kwargs = lambda pretrained_cfg, kwargs, kwargs_filter=None: None
    import models.ffnet as ffnet

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = ffnet.FFNet(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "ffnet", "upstream": "models/ffnet.py FFNet", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    if args.counts:
        counts = {n: pc.param_count(getattr(ffnet, n)()) for n in VARIANTS}
        with open(os.path.join(args.out, "ffnet_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
