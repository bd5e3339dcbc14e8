#!/usr/bin/env python3
"""Parity fixtures for CrossViT against timm's implementation.

Usage:  /usr/bin/python3 tools/parity/crossvit.py --timm /path/to/pytorch-image-models [--out DIR]
            [--counts] [--export ONNX]

Writes, per reduced fixture, config.json (constructor arguments, CrossViT.Config fields, parameter
count), weights.safetensors (fp16, every tensor random and fp16-exact), input.npy and expected.npy
(timm's float64 logits). The reduced configs keep the upstream resize ratios (14/15 as 240->224,
16/17 as 408->384; the dagger one uses 8/9) and cover both patch embeddings (single conv and the dagger 3-conv stem), both
fusion layouts (depth[-1] == 0 and > 0), with and without qkv bias, token and avg pooling.
--counts writes crossvit_param_counts.json (timm's parameter count of every registered variant);
--export writes timm's crossvit_tiny_240 exported by torch.onnx.export (opset 17), for benchmarks.
"""
import argparse
import json
import os
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

REDUCED = {
    # single-conv patch embedding; second multi-scale block has a one-layer fusion Sequential
    "crossvit_reduced": dict(
        batch=2, kw=dict(img_size=60, img_scale=(1.0, 56 / 60), patch_size=(6, 8), in_chans=3, num_classes=20,
                         embed_dim=(12, 16), depth=((1, 2, 0), (2, 1, 1)), num_heads=(2, 4), mlp_ratio=(2.0, 3.0, 1.0),
                         multi_conv=False, qkv_bias=True, global_pool="token")),
    # the 408 -> 384 resize ratio (16/17), tiny dims
    "crossvit_reduced_r17": dict(
        batch=2, kw=dict(img_size=34, img_scale=(1.0, 32 / 34), patch_size=(17, 8), in_chans=3, num_classes=12,
                         embed_dim=(8, 12), depth=((1, 1, 0),), num_heads=(2, 3), mlp_ratio=(2.0, 2.0, 1.0),
                         multi_conv=False, qkv_bias=True, global_pool="token")),
    # dagger (3-conv) patch embedding (8/9 resize ratio), no qkv bias, avg pooling
    "crossvit_dagger_reduced": dict(
        batch=1, kw=dict(img_size=72, img_scale=(1.0, 64 / 72), patch_size=(12, 16), in_chans=3, num_classes=10,
                         embed_dim=(8, 16), depth=((1, 1, 0), (1, 2, 0)), num_heads=(2, 4), mlp_ratio=(3.0, 2.0, 1.0),
                         multi_conv=True, qkv_bias=False, global_pool="avg")),
}


def java_config(model, kw):
    """The constructor arguments in the field names of CrossViT.Config."""
    return {
        "imgSize": kw["img_size"], "scaledSizes": [s[0] for s in model.img_size_scaled],
        "patchSizes": list(kw["patch_size"]), "inChans": kw["in_chans"], "numClasses": kw["num_classes"],
        "embedDims": list(kw["embed_dim"]), "depths": [list(d) for d in kw["depth"]], "numHeads": list(kw["num_heads"]),
        "mlpRatios": list(kw["mlp_ratio"]), "multiConv": kw["multi_conv"], "cropScale": False,
        "qkvBias": kw["qkv_bias"], "globalPool": kw["global_pool"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true", help="write every registered variant's parameter count")
    ap.add_argument("--export", metavar="ONNX", help="write timm's crossvit_tiny_240 exported by torch.onnx.export here")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import timm
    from timm.models import crossvit

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        model = crossvit.CrossVit(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.reference_logits(model, x)
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), model.state_dict(), dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        meta_kw = {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"family": "crossvit", "upstream": "timm.models.crossvit.CrossVit", "kwargs": meta_kw,
                       "config": java_config(model, kw), "parameters": pc.param_count(model)}, f, indent=2)
        print(name, "params", pc.param_count(model), "scaled", model.img_size_scaled, "logits", y.shape)

    if args.counts:
        counts = {}
        for n in timm.list_models("crossvit_*"):
            counts[n] = pc.param_count(timm.create_model(n))
        with open(os.path.join(args.out, "crossvit_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.export:
        model = timm.create_model("crossvit_tiny_240").eval()
        pc.randomize_(model, seed=1234)
        torch.onnx.export(model, torch.zeros(1, 3, 240, 240), args.export, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}})
        print("exported", args.export)


if __name__ == "__main__":
    main()
