#!/usr/bin/env python3
"""Backbone outputs of the InLine parity fixtures (LeapLabTHU/InLine models/inline_*.py, the checkout
tools/parity/inline.py uses).

Usage:  /usr/bin/python3 tools/parity/inline_backbone.py --src /path/to/InLine --timm /path/to/pytorch-image-models [--out DIR]

The authors' repository has no detection / segmentation backbone, so the feature maps are each
stage's own output, as timm's features_only takes them: forward hooks on each stage's last block
(PVT block{i}, Swin layers.i.blocks (before its patch merging), CSwin stage{i}), tokens to NCHW, no
extra norm. The embedding is forward_features (DeiT: the normed class token; the others: the mean
over the last stage's tokens, after the final norm where the model has one). Per fixture (written
by tools/parity/inline.py; its weights, input, logits and config are not touched) the model is
built as inline.py builds it from config.json's kwargs, loaded with the fixture's weights and
checked to reproduce expected.npy first.
"""
import argparse
import json
import os
import sys
from functools import partial

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = ["inline_deit_reduced", "inline_pvt_reduced", "inline_swin_reduced", "inline_cswin_reduced"]


def stage_ends(kind, model):
    """The module whose output is each stage's output, in order."""
    if kind == "pvt":
        return [getattr(model, "block%d" % (i + 1))[-1] for i in range(model.num_stages)]
    if kind == "swin":
        return [layer.blocks[-1] for layer in model.layers]
    if kind == "cswin":
        return [getattr(model, "stage%d" % (i + 1))[-1] for i in range(4)]
    return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a LeapLabTHU/InLine checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    try:
        __import__("einops")
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, args.src)
    import torch.nn as nn
    import models.inline_deit as deit
    import models.inline_pvt as pvt
    import models.inline_swin as swin
    import models.inline_cswin as cswin

    for fixture in FIXTURES:
        d = os.path.join(args.out, fixture)
        meta = json.load(open(os.path.join(d, "config.json")))
        kind, kw = meta["kind"], meta["kwargs"]
        if kind == "deit":
            model = deit.VisionTransformer(**kw)
        elif kind == "swin":
            model = swin.InLineSwin(**kw)
        elif kind == "cswin":
            model = cswin.CSWinTransformer(**kw)
        else:
            model = pvt.PyramidVisionTransformer(norm_layer=partial(nn.LayerNorm, eps=1e-6), sr_ratios=[8, 4, 2, 1],
                                                 la_sr_ratios="1111", attn_type="IIII", **kw)
        pc.load_fixture_weights(model, d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        got = []
        hooks = [m.register_forward_hook(lambda m, i, o: got.append(o)) for m in stage_ends(kind, model)]
        with torch.no_grad():
            logits = model(x).numpy()
            for h in hooks:
                h.remove()
            assert np.abs(logits - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, fixture + ": fixture weights do not reproduce its logits"
            embedding = model.forward_features(x)
        feats = {}
        side = kw["img_size"] // (kw.get("patch_size", 4))
        for i, t in enumerate(got):
            b, n, c = t.shape
            r = int(round(n ** 0.5))
            assert r * r == n and r == side >> i, (fixture, i, t.shape)
            feats[i] = t.transpose(1, 2).reshape(b, c, r, r)
        pc.write_backbone_outputs(d, feats or None, embedding,
                                  source="models/inline_%s.py: forward_features; stage outputs by forward hooks" % kind)


if __name__ == "__main__":
    main()
