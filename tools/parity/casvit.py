#!/usr/bin/env python3
"""Parity fixtures for CAS-ViT against the authors' code (Tianfang-Zhang/CAS-ViT, classification/model/rcvit.py).

Usage:  /usr/bin/python3 tools/parity/casvit.py --src /path/to/CAS-ViT --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' model file from --src (einops, imported there but not used by the model, comes
from tools/parity/common_shims when not installed). Per reduced fixture: config.json (constructor
arguments, CasVit.Config fields, parameter count), weights.safetensors (fp16; every tensor random
incl. BatchNorm statistics and both heads), input.npy, expected.npy (float64 logits: eval mode, so
the head and the distillation head averaged, as upstream).
--counts writes casvit_param_counts.json for rcvit_xs/s/m/t.
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
    "casvit_reduced": dict(batch=2, img=64, kw=dict(layers=[1, 1, 2, 1], embed_dims=[16, 24, 32, 48], mlp_ratios=4,
                                                    num_classes=11, distillation=True)),
    # no distillation head, mlp ratio 3, odd maps (56 -> 14 -> 7 -> 4 -> 2)
    "casvit_reduced_odd": dict(batch=1, img=56, kw=dict(layers=[1, 1, 1, 1], embed_dims=[16, 16, 24, 32], mlp_ratios=3,
                                                        num_classes=9, distillation=False)),
}


def java_config(img, kw):
    return {"imgSize": img, "numClasses": kw["num_classes"], "layers": kw["layers"], "embedDims": kw["embed_dims"],
            "mlpRatio": float(kw["mlp_ratios"]), "distillation": kw["distillation"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a Tianfang-Zhang/CAS-ViT checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    try:
        import einops  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(args.src, "classification", "model"))
    import rcvit

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = rcvit.RCViT(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "casvit", "upstream": "classification/model/rcvit.py RCViT", "kwargs": kw,
                       "config": java_config(spec["img"], kw)})

    if args.counts:
        counts = {n: pc.param_count(getattr(rcvit, n)()) for n in ["rcvit_xs", "rcvit_s", "rcvit_m", "rcvit_t"]}
        with open(os.path.join(args.out, "casvit_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
