#!/usr/bin/env python3
"""Parity fixtures for HorNet against the authors' code (raoyongming/HorNet, hornet.py).

Usage:  /usr/bin/python3 tools/parity/hornet.py --src /path/to/HorNet --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

Imports the authors' hornet.py from --src. Its GlobalLocalFilter casts the FFT branch to float32
(an AMP guard); the float64 reference keeps that branch in float64 (the model file sees a torch
whose float32 is float64), nothing else changes. Per reduced fixture: config.json (the per-stage
gnconv settings as HorNet.Config fields, parameter count), weights.safetensors (fp16; every tensor
random incl. the complex filter weights and layer scales), input.npy, expected.npy (float64 logits).
One fixture's filters have the size of the spectrum they meet, the other's must be interpolated
(upstream's bilinear align_corners path); odd and even map sizes are both covered.
--counts writes hornet_param_counts.json for the authors' registered models.
"""
import argparse
import contextlib
import io
import json
import os
import sys
import types
import zlib
from functools import partial

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

# per stage: (order, global filter?, h, w); s = 1/3 as in every registered model
REDUCED = {
    # 64 px: maps 16/8/4/2; GF in stages 3 and 4, stage 4's filter (3x2) interpolated to the 2x2 spectrum
    "hornet_reduced": dict(batch=2, img=64, base=8, depths=[1, 1, 2, 1], classes=11,
                           stages=[(2, False, 0, 0), (3, False, 0, 0), (4, True, 4, 3), (5, True, 3, 2)]),
    # 56 px: maps 14/7/3/1 (odd); GF in stages 2 and 3 (7x7 -> 7x4 spectrum exact, 3x3 -> 3x2 interpolated from 4x3)
    "hornet_reduced_odd": dict(batch=1, img=56, base=8, depths=[1, 1, 1, 1], classes=9,
                               stages=[(2, False, 0, 0), (3, True, 7, 4), (3, True, 4, 3), (4, False, 0, 0)]),
}

VARIANTS = ["hornet_tiny_7x7", "hornet_tiny_gf", "hornet_small_7x7", "hornet_small_gf", "hornet_base_7x7",
            "hornet_base_gf", "hornet_base_gf_img384", "hornet_large_7x7", "hornet_large_gf", "hornet_large_gf_img384"]


def java_config(spec):
    st = spec["stages"]
    return {"imgSize": spec["img"], "numClasses": spec["classes"], "depths": spec["depths"], "baseDim": spec["base"],
            "orders": [s[0] for s in st], "scale": 1.0 / 3.0, "globalFilter": [s[1] for s in st],
            "filterH": [s[2] for s in st], "filterW": [s[3] for s in st], "layerScale": True}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a raoyongming/HorNet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    with contextlib.redirect_stdout(io.StringIO()):
        import hornet
    hornet.torch = pc.torch_with_float32_as_float64()

    for name, spec in REDUCED.items():
        gn = [partial(hornet.gnconv, order=o, s=1.0 / 3.0, h=h, w=w, gflayer=hornet.GlobalLocalFilter) if gf
              else partial(hornet.gnconv, order=o, s=1.0 / 3.0) for (o, gf, h, w) in spec["stages"]]
        with contextlib.redirect_stdout(io.StringIO()):
            model = hornet.HorNet(depths=spec["depths"], base_dim=spec["base"], gnconv=gn, num_classes=spec["classes"])
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "hornet", "upstream": "hornet.py HorNet", "spec": spec, "config": java_config(spec)})

    if args.counts:
        counts = {}
        with contextlib.redirect_stdout(io.StringIO()):
            for n in VARIANTS:
                counts[n] = pc.param_count(getattr(hornet, n)())
        with open(os.path.join(args.out, "hornet_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
