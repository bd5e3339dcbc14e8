#!/usr/bin/env python3
"""Parity fixtures for SpaRTAN against the authors' code (henry-pay/SpaRTAN, src/model/spartan.py).

Usage:  /usr/bin/python3 tools/parity/spartan.py --src /path/to/SpaRTAN --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' model file from --src (omegaconf, used there only for a type annotation, comes
from tools/parity/spartan_shim when not installed). CMixer computes its complex product in float32
even when the model runs in float64; the reference keeps float64 there (see below). Per reduced fixture: config.json (constructor
arguments, SpaRTAN.Config fields, parameter count), weights.safetensors (fp16; every tensor random
incl. BatchNorm statistics, the complex channel weights, gammas and block scales), input.npy,
expected.npy (float64 logits). --counts writes spartan_param_counts.json for the released
configuration (src/config/model/spartan.yaml, SpaRTAN-S).
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

# the released configuration (src/config/model/spartan.yaml), 1000 classes
SPARTAN_S = dict(num_layer=4, layer_depths=[3, 3, 12, 2], expand_ratios=[4, 4, 2, 2], dims=[64, 128, 256], init_dim=32)

REDUCED = {
    # dense convs in the first half, grouped in the second (mid point 2), argmax gather, complex weights
    "spartan_reduced": dict(batch=2, img=64, kw=dict(
        num_classes=11, num_layer=4, layer_depths=[1, 1, 2, 1], expand_ratios=[2, 2, 2, 2], dims=[24, 32, 48], init_dim=16)),
    # three layers (mid point 1), an empty layer keeps its width (no downsample after it), odd map sizes
    "spartan_reduced_odd": dict(batch=1, img=56, kw=dict(
        num_classes=9, num_layer=3, layer_depths=[1, 0, 2], expand_ratios=[3, 2, 2], dims=[32, 40], init_dim=16)),
}


def java_config(img, kw):
    return {"imgSize": img, "numClasses": kw["num_classes"], "layerDepths": kw["layer_depths"],
            "expandRatios": kw["expand_ratios"], "dims": kw["dims"], "initDim": kw["init_dim"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a henry-pay/SpaRTAN checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    try:
        import omegaconf  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "spartan_shim"))
    sys.path.insert(0, os.path.join(args.src, "src", "model"))
    import spartan
    # CMixer casts its complex channel product to float32 (a guard for mixed-precision training);
    # the float64 reference keeps that step in float64 like the rest: the model file sees a torch
    # whose float32 is float64. Nothing else changes.
    spartan.torch = pc.torch_with_float32_as_float64()

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = spartan.SpaRTAN(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "spartan", "upstream": "src/model/spartan.py SpaRTAN", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    if args.counts:
        counts = {"spartan_s": pc.param_count(spartan.SpaRTAN(num_classes=1000, **SPARTAN_S))}
        with open(os.path.join(args.out, "spartan_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
