#!/usr/bin/env python3
"""Parity fixtures for TransNeXt against the authors' code (DaiShiResearch/TransNeXt).

Usage:  /usr/bin/python3 tools/parity/transnext.py --src /path/to/TransNeXt --timm /path/to/pytorch-image-models
            [--out DIR] [--counts] [--export ONNX]

The authors' classification/transnext.py is imported from --src (it needs timm on the path). Without
the optional `swattention` CUDA package it runs its pure-PyTorch aggregated attention
(attention_native.py), which is the reference here. Per reduced fixture: config.json (constructor
arguments, TransNeXt.Config fields, parameter count), weights.safetensors (fp16; every tensor random
and fp16-exact: temperatures, query embeddings, local position biases, learnable tokens and biases,
the CPB MLPs, norms), input.npy, expected.npy (the authors' model in float64).
--counts writes transnext_param_counts.json for every named variant.
"""
import argparse
import json
import os
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

# name -> (registered constructor, extra kwargs): the authors' registered models and their 384 fine-tunes
VARIANTS = {
    "transnext_micro": ("transnext_micro", dict(img_size=224)),
    "transnext_tiny": ("transnext_tiny", dict(img_size=224)),
    "transnext_small": ("transnext_small", dict(img_size=224)),
    "transnext_base": ("transnext_base", dict(img_size=224)),
    "transnext_small_384": ("transnext_small", dict(img_size=384, pretrain_size=224)),
    "transnext_base_384": ("transnext_base", dict(img_size=384, pretrain_size=224)),
    "transnext_micro_AAAA": ("transnext_micro_AAAA", dict(img_size=256, pretrain_size=256)),
}

REDUCED = {
    # three aggregated-attention stages and a full-attention stage (the layout of micro..base)
    "transnext_reduced": dict(batch=2, kw=dict(
        img_size=64, window_size=[3, 3, 3, None], patch_size=4, in_chans=3, num_classes=12,
        embed_dims=[16, 24, 32, 48], num_heads=[2, 2, 4, 4], mlp_ratios=[4, 4, 2, 2], qkv_bias=True,
        depths=[1, 2, 1, 1], sr_ratios=[8, 4, 2, 1])),
    # fine-tune style: larger image than the pretrain size (CPB coordinates rescaled), window 5,
    # no qkv bias, maps the pools do not divide evenly (adaptive-pool bins overlap), all four
    # stages aggregated (A-A-A-A)
    "transnext_reduced_ft": dict(batch=1, kw=dict(
        img_size=128, pretrain_size=64, window_size=[5, 3, 3, 3], patch_size=4, in_chans=3, num_classes=10,
        embed_dims=[12, 16, 24, 32], num_heads=[2, 2, 2, 4], mlp_ratios=[3, 3, 2, 2], qkv_bias=False,
        depths=[1, 1, 1, 1], sr_ratios=[10, 3, 3, 3])),
}


def java_config(kw):
    import torch.nn as nn  # noqa: F401
    n = len(kw["depths"])
    return {
        "imgSize": kw["img_size"], "pretrainSize": kw.get("pretrain_size") or kw["img_size"], "inChans": kw["in_chans"],
        "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
        "windowSize": [w if w is not None else 0 for w in kw["window_size"]],
        "embedDims": list(kw["embed_dims"]), "numHeads": list(kw["num_heads"]),
        "mlpRatios": [float(r) for r in kw["mlp_ratios"]], "qkvBias": kw["qkv_bias"],
        "depths": list(kw["depths"]), "srRatios": list(kw["sr_ratios"]), "fixedPoolSize": 0,
        "normEps": kw.get("_norm_eps", 1e-5),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a DaiShiResearch/TransNeXt checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout (the authors' code imports timm)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true", help="write every named variant's parameter count")
    ap.add_argument("--export", metavar="ONNX", help="try torch.onnx.export of transnext_micro to this path")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(args.src, "classification"))
    from functools import partial
    import torch.nn as nn
    import transnext

    for name, spec in REDUCED.items():
        kw = dict(spec["kw"])
        model = transnext.TransNeXt(norm_layer=partial(nn.LayerNorm, eps=1e-6), **kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        kw["_norm_eps"] = 1e-6
        cfg = java_config(kw)
        kw.pop("_norm_eps")
        y = pc.write_fixture(args.out, name, model, x, {"family": "transnext", "upstream": "classification/transnext.py TransNeXt (norm eps 1e-6)",
                       "kwargs": kw, "config": cfg})

    if args.counts:
        counts = {}
        for n, (fn, kw) in VARIANTS.items():
            counts[n] = pc.param_count(getattr(transnext, fn)(**kw))
        with open(os.path.join(args.out, "transnext_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.export:
        model = transnext.transnext_micro(img_size=224).eval()
        pc.randomize_(model, seed=1234)
        try:
            torch.onnx.export(model, torch.zeros(1, 3, 224, 224), args.export, opset_version=17,
                              input_names=["pixel_values"], output_names=["logits"])
            print("exported", args.export)
        except Exception as e:
            print("export failed:", type(e).__name__, str(e).splitlines()[0])


if __name__ == "__main__":
    main()
