#!/usr/bin/env python3
"""Parity fixtures for AttNet / ATConv against the authors' code (price112/Attentive-Convolution).

Usage:  /usr/bin/python3 tools/parity/attnet.py --src /path/to/Attentive-Convolution --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' models/AttNet.py from --src (it needs a current timm: LayerNorm2d, RmsNorm2d).
Per reduced fixture: config.json (constructor arguments, AttNet.Config fields, parameter count),
weights.safetensors (fp16; every tensor random incl. BatchNorm statistics, layer scales and the
ATConv difference controls), input.npy, expected.npy (float64 logits).
--counts writes attnet_param_counts.json for the authors' 7 registered models.
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
    # layer scales, GLU with depthwise conv and RmsNorm, kernel 3; 2x2 last stage
    "attnet_reduced": dict(batch=2, img=64, kw=dict(
        num_classes=11, depths=[1, 1, 2, 1], dims=[16, 24, 32, 40], exp_rates=[4, 4, 2, 2], kernel_sizes=[3, 3, 3, 3],
        use_layer_scale=True, glu_dconv=[True, True, True, True], glu_norm=[True, True, True, True])),
    # kernel 5, no layer scale, GLU without depthwise conv or norm in some stages, odd map sizes (48 -> 3x3 last)
    "attnet_reduced_k5": dict(batch=1, img=48, kw=dict(
        num_classes=9, depths=[1, 1, 1, 1], dims=[16, 16, 24, 32], exp_rates=[4, 4, 4, 4], kernel_sizes=[5, 5, 3, 3],
        use_layer_scale=False, glu_dconv=[True, False, True, False], glu_norm=[False, True, False, True])),
}

VARIANTS = ["AttNet_XXS", "AttNet_XS", "AttNet_S", "AttNet_T1", "AttNet_T2", "AttNet_T3", "AttNet_T4"]


def java_config(img, kw):
    return {"imgSize": img, "numClasses": kw["num_classes"], "depths": kw["depths"], "dims": kw["dims"],
            "expRates": [float(r) for r in kw["exp_rates"]], "kernelSizes": kw["kernel_sizes"],
            "useLayerScale": kw["use_layer_scale"], "gluDconv": kw["glu_dconv"], "gluNorm": kw["glu_norm"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a price112/Attentive-Convolution checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    import models.AttNet as attnet

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = attnet.AttNet(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "attnet", "upstream": "models/AttNet.py AttNet", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    if args.counts:
        counts = {n: pc.param_count(getattr(attnet, n)()) for n in VARIANTS}
        with open(os.path.join(args.out, "attnet_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
