#!/usr/bin/env python3
"""Parity fixtures for InLine attention (LeapLabTHU/InLine) — the DeiT, PVT, Swin and CSwin backbones —
against the authors' code (models/inline_deit.py, models/inline_pvt.py, models/inline_swin.py, models/inline_cswin.py).

Usage:  /usr/bin/python3 tools/parity/inline.py --src /path/to/InLine --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

The authors build their models through a yacs config (models/build.py): InLine-DeiT as
VisionTransformer(img_size, patch 16, ...) and InLine-PVT with attention type 'IIII' and
la_sr_ratios '1111' (the config defaults; their InLine attention only supports sr 1). This script
constructs the same modules directly (the registered DeiT helpers go through a timm API that
today's timm no longer accepts). Per reduced fixture: config.json, weights.safetensors (fp16; every
tensor random incl. cls token, position embeddings and the per-head residual-kernel generators),
input.npy, expected.npy (float64 logits). --counts writes inline_param_counts.json.
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

DEIT = {"inline_deit_tiny": (192, 6, 224), "inline_deit_small": (320, 10, 288), "inline_deit_base": (384, 12, 448)}
PVT = ["inline_pvt_tiny", "inline_pvt_small", "inline_pvt_medium", "inline_pvt_large"]
# cfgs/inline_swin_{t,s,b}.yaml
SWIN = {"inline_swin_tiny": dict(embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=56, attn_type="IIIS"),
        "inline_swin_small": dict(embed_dim=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24], window_size=56, attn_type="IISS"),
        "inline_swin_base": dict(embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32], window_size=56, attn_type="IIMS2")}
# cfgs/inline_cswin_*.yaml (attention IISS; InLine stripes as wide as the map)
CSWIN = {"inline_cswin_tiny": dict(img_size=224, attn_type="IISS", la_split_size="56-28-14-7"),
         "inline_cswin_small": dict(img_size=224, attn_type="IISS", la_split_size="56-28-14-7"),
         "inline_cswin_base": dict(img_size=224, attn_type="IISS", la_split_size="56-28-14-7"),
         "inline_cswin_base_384": dict(img_size=384, attn_type="IISS", la_split_size="96-48-24-12")}

REDUCED = {
    "inline_deit_reduced": dict(kind="deit", batch=2, img=48, kw=dict(
        img_size=48, patch_size=8, embed_dim=24, depth=2, num_heads=3, num_classes=11)),
    "inline_pvt_reduced": dict(kind="pvt", batch=1, img=64, kw=dict(
        img_size=64, patch_size=4, embed_dims=[16, 24, 32, 40], num_heads=[1, 2, 4, 4], mlp_ratios=[4, 4, 2, 2],
        qkv_bias=True, depths=[1, 1, 2, 1], num_classes=9)),
    # three stages (28/14/7 maps): InLine windows of 14 with a shifted block, window attention of 7
    # with the shift mask, and an 'M1' stage mixing both
    "inline_swin_reduced": dict(kind="swin", batch=1, img=56, kw=dict(
        img_size=56, patch_size=2, embed_dim=16, depths=[2, 2, 2], num_heads=[2, 2, 4], window_size=14,
        attn_type="ISM1", num_classes=10)),
    # 64 px (maps 16/8/4/2): global InLine with LePE, two-branch stripe attention (stripes of 2) in
    # stages 2-3, a global last stage
    "inline_cswin_reduced": dict(kind="cswin", batch=1, img=64, kw=dict(
        img_size=64, patch_size=4, embed_dim=8, depth=[1, 2, 2, 1], split_size=[1, 2, 2, 2], la_split_size="16-8-4-2",
        num_heads=[2, 2, 4, 4], attn_type="ISSS", num_classes=10)),
}


def java_config(spec):
    kw = spec["kw"]
    if spec["kind"] == "deit":
        return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
                "embedDim": kw["embed_dim"], "depth": kw["depth"], "numHeads": kw["num_heads"], "mlpRatio": 4.0}
    if spec["kind"] == "cswin":
        return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "embedDim": kw["embed_dim"], "depth": kw["depth"],
                "splitSize": kw["split_size"], "laSplitSize": [int(v) for v in kw["la_split_size"].split("-")],
                "numHeads": kw["num_heads"], "mlpRatio": 4.0, "attnType": kw["attn_type"]}
    if spec["kind"] == "swin":
        return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
                "embedDim": kw["embed_dim"], "depths": kw["depths"], "numHeads": kw["num_heads"],
                "windowSize": kw["window_size"], "mlpRatio": 4.0, "attnType": kw["attn_type"]}
    return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
            "embedDims": kw["embed_dims"], "numHeads": kw["num_heads"], "mlpRatios": [float(r) for r in kw["mlp_ratios"]],
            "depths": kw["depths"], "qkvBias": kw["qkv_bias"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a LeapLabTHU/InLine checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod in ("einops",):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, args.src)
    from functools import partial
    import torch.nn as nn
    import models.inline_deit as deit
    import models.inline_pvt as pvt
    import models.inline_swin as swin
    import models.inline_cswin as cswin

    for name, spec in REDUCED.items():
        if spec["kind"] == "deit":
            model = deit.VisionTransformer(**spec["kw"])
        elif spec["kind"] == "swin":
            model = swin.InLineSwin(**spec["kw"])
        elif spec["kind"] == "cswin":
            model = cswin.CSWinTransformer(**spec["kw"])
        else:
            model = pvt.PyramidVisionTransformer(norm_layer=partial(nn.LayerNorm, eps=1e-6), sr_ratios=[8, 4, 2, 1],
                                                 la_sr_ratios="1111", attn_type="IIII", **spec["kw"])
        # Swin's shift masks are (persistent) buffers of fixed 0/-100 values, not weights: keep them
        masks = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("attn_mask")}
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        with torch.no_grad():
            for k, v in masks.items():
                model.get_buffer(k).copy_(v)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "inline", "kind": spec["kind"], "kwargs": spec["kw"], "config": java_config(spec)})

    if args.counts:
        counts = {}
        for n, (e, h, img) in DEIT.items():
            counts[n] = pc.param_count(deit.VisionTransformer(img_size=img, patch_size=16, embed_dim=e, depth=12, num_heads=h))
        for n in PVT:
            counts[n] = pc.param_count(getattr(pvt, n)(la_sr_ratios="1111", attn_type="IIII"))
        for n, kw in SWIN.items():
            counts[n] = pc.param_count(swin.InLineSwin(img_size=224, **kw))
        for n, kw in CSWIN.items():
            counts[n] = pc.param_count(getattr(cswin, n)(**kw))
        with open(os.path.join(args.out, "inline_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
