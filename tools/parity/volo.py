#!/usr/bin/env python3
"""Parity fixtures for VOLO against timm's implementation.

Usage:  /usr/bin/python3 tools/parity/volo.py --timm /path/to/pytorch-image-models [--out DIR]
            [--counts] [--export ONNX]

Writes, per reduced fixture, config.json (constructor arguments, Volo.Config fields, parameter
count), weights.safetensors (fp16, every tensor random and fp16-exact, BatchNorm statistics
included), input.npy and expected.npy (timm's float64 logits, forward_head with the aux head).
The reduced configs go through timm's VOLO constructor: conv stem, outlooker stage (kernel 3,
padding 1, stride 2 as upstream), downsample, transformer stages, class-attention post layers and
the token-labelling aux head; one with an odd grid (ceil-mode pooling, partial fold windows).
--counts writes volo_param_counts.json (timm's count for every registered variant); --export tries
torch.onnx.export (opset 17) of volo_d1_224 and reports whether it works.
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
    # 32 px, patch 8 -> 4x4 outlook grid (stride 2 -> 2x2 windows), downsample -> 2x2, 2 'ca' blocks
    "volo_reduced": dict(
        batch=2, kw=dict(layers=(2, 1, 1), img_size=32, in_chans=3, num_classes=15, patch_size=8, stem_hidden_dim=8,
                         embed_dims=(12, 16, 16), num_heads=(2, 4, 2), downsamples=(True, False, False),
                         outlook_attention=(True, False, False), mlp_ratio=(3.0, 2.0, 2.0), qkv_bias=False,
                         post_layers=("ca", "ca"), use_aux_head=True, pooling_scale=2)),
    # 40 px, patch 8 -> 5x5 outlook grid: ceil-mode pooling (3x3 windows), no downsample, qkv bias, one 'ca' block
    "volo_reduced_odd": dict(
        batch=1, kw=dict(layers=(1, 1, 1), img_size=40, in_chans=3, num_classes=10, patch_size=8, stem_hidden_dim=6,
                         embed_dims=(8, 8, 8), num_heads=(2, 2, 4), downsamples=(False, False, False),
                         outlook_attention=(True, False, False), mlp_ratio=3.0, qkv_bias=True,
                         post_layers=("ca",), use_aux_head=True, pooling_scale=1)),
}


def java_config(kw):
    """The constructor arguments in the field names of Volo.Config."""
    n = len(kw["layers"])
    mlp = kw["mlp_ratio"]
    mlp = list(mlp) if isinstance(mlp, (tuple, list)) else [mlp] * n
    return {
        "imgSize": kw["img_size"], "inChans": kw["in_chans"], "numClasses": kw["num_classes"], "globalPool": "token",
        "patchSize": kw["patch_size"], "stemHiddenDim": kw["stem_hidden_dim"], "layers": list(kw["layers"]),
        "embedDims": list(kw["embed_dims"]), "numHeads": list(kw["num_heads"]),
        "downsamples": list(kw["downsamples"]), "outlookAttention": list(kw["outlook_attention"]),
        "mlpRatios": mlp, "qkvBias": kw["qkv_bias"], "postLayers": len(kw["post_layers"] or ()),
        "useAuxHead": kw["use_aux_head"], "poolingScale": kw["pooling_scale"],
        "outlookKernel": 3, "outlookPadding": 1, "outlookStride": 2,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true", help="write every registered variant's parameter count")
    ap.add_argument("--export", metavar="ONNX", help="try torch.onnx.export of volo_d1_224 to this path")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import timm
    from timm.models import volo

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        model = volo.VOLO(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.reference_logits(model, x)
        # BatchNorm's 0-dim num_batches_tracked stored as [1] (parity_common's writer views bytes of >= 1-dim tensors)
        sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), sd, dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        meta_kw = {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"family": "volo", "upstream": "timm.models.volo.VOLO", "kwargs": meta_kw,
                       "config": java_config(kw), "parameters": pc.param_count(model)}, f, indent=2)
        print(name, "params", pc.param_count(model), "logits", y.shape)

    if args.counts:
        counts = {}
        for n in timm.list_models("volo_*"):
            counts[n] = pc.param_count(timm.create_model(n))
        with open(os.path.join(args.out, "volo_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.export:
        model = timm.create_model("volo_d1_224").eval()
        pc.randomize_(model, seed=1234)
        try:
            torch.onnx.export(model, torch.zeros(1, 3, 224, 224), args.export, opset_version=17,
                              input_names=["pixel_values"], output_names=["logits"],
                              dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}})
            print("exported", args.export)
        except Exception as e:  # F.fold (col2im) has no opset-17 export in torch 1.13
            print("export failed:", type(e).__name__, str(e).splitlines()[0])


if __name__ == "__main__":
    main()
