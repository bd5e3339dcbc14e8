#!/usr/bin/env python3
"""Parity fixtures for ConViT against timm's implementation.

Usage:  /usr/bin/python3 tools/parity/convit.py --timm /path/to/pytorch-image-models [--out DIR] [--full]

Writes, per fixture, config.json (the constructor arguments), weights.safetensors (fp16, every
tensor random and fp16-exact), input.npy and expected.npy (timm's float64 logits). --full also
writes a full-size convit_tiny checkpoint in the two upstream forms (fp16 safetensors, and a
{'model': state_dict} .pth) with expected logits, for the converter/CLI tests. --export writes
timm's model exported by torch.onnx.export (opset 17) with the same weights, for benchmarks.
"""
import argparse
import json
import zlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

# Reduced configs through the upstream constructor (timm's ConVit keyword names).
REDUCED = {
    "convit_reduced": dict(img_size=32, patch_size=8, in_chans=3, num_classes=20, embed_dim=8, depth=4,
                           num_heads=3, mlp_ratio=4.0, qkv_bias=True, local_up_to_layer=2),
    "convit_reduced_nobias": dict(img_size=48, patch_size=16, in_chans=3, num_classes=12, embed_dim=12, depth=3,
                                  num_heads=2, mlp_ratio=2.0, qkv_bias=False, local_up_to_layer=2),
}


def java_config(kw):
    """The constructor arguments in the field names of ConViT.Config (embed_dim already × heads)."""
    return {
        "imgSize": kw["img_size"], "patchSize": kw["patch_size"], "inChans": kw["in_chans"],
        "numClasses": kw["num_classes"], "embedDim": kw["embed_dim"] * kw["num_heads"], "depth": kw["depth"],
        "numHeads": kw["num_heads"], "mlpRatio": kw["mlp_ratio"], "qkvBias": kw["qkv_bias"],
        "localUpToLayer": kw["local_up_to_layer"], "usePosEmbed": True, "globalPool": "token",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--full", action="store_true", help="also write the full-size convit_tiny checkpoints")
    ap.add_argument("--export", metavar="ONNX", help="write timm's convit_tiny exported by torch.onnx.export here")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models import convit

    for name, kw in REDUCED.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        model = convit.ConVit(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((2, kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.reference_logits(model, x)
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), model.state_dict(), dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"family": "convit", "upstream": "timm.models.convit.ConVit", "kwargs": kw,
                       "config": java_config(kw), "parameters": pc.param_count(model)}, f, indent=2)
        print(name, "params", pc.param_count(model), "logits", y.shape)

    if args.full or args.export:
        model = convit.convit_tiny()
        pc.randomize_(model, seed=1234)
        if args.full:
            d = os.path.join(args.out, "convit_tiny_full")
            os.makedirs(d, exist_ok=True)
            sd = model.state_dict()
            pc.write_safetensors(os.path.join(d, "model.safetensors"), sd, dtype=torch.float16,
                                 metadata={"format": "pt"})
            wrapped = {"model": {k: v.half() for k, v in sd.items()}, "epoch": 300, "max_accuracy": 0.0}
            torch.save(wrapped, os.path.join(d, "checkpoint.pth"))
            x = pc.random_input((1, 3, 224, 224), seed=11)
            pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
            pc.write_npy(os.path.join(d, "expected.npy"), pc.reference_logits(model, x))
            print("convit_tiny_full params", pc.param_count(model))
        if args.export:
            fresh = convit.convit_tiny()  # GPSA caches its position table in the dtype of the last run
            fresh.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
            torch.onnx.export(fresh.eval(), torch.zeros(1, 3, 224, 224), args.export, opset_version=17,
                              input_names=["pixel_values"], output_names=["logits"],
                              dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}})
            print("exported", args.export, "(same weights as convit_tiny_full)" if args.full else "")


if __name__ == "__main__":
    main()
