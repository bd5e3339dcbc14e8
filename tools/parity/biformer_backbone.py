#!/usr/bin/env python3
"""Backbone outputs of the BiFormer parity fixture, from the authors' code (rayleizhu/BiFormer,
models/biformer.py + ops/bra_legacy.py, as tools/parity/biformer.py).

Feature maps follow the authors' dense-prediction backbone, object_detection/models_mm/biformer_mm.py
(BiFormer_mm, identical in semantic_segmentation/): after downsample_layers[i] and stages[i], each
stage output goes through its own extra_norms[i] = timm LayerNorm2d(embed_dim[i]) (eps 1e-6).
BiFormer_mm needs mmdet/mmcv to import, so this script reproduces its forward_features on the
classification model: the extra norms are fresh LayerNorm2d modules as PyTorch initialises them
(weight 1, bias 0; BiFormer_mm's _init_weights sets the same), which is what BiFormer_mm holds when
it loads ImageNet weights (strict=False) before detection training.
The embedding is what the classifier head reads: forward_features (BatchNorm, pre_logits Identity)
flattened and mean-pooled, exactly as BiFormer.forward does before self.head.

Usage:  /usr/bin/python3 tools/parity/biformer_backbone.py --src /path/to/BiFormer --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy, backbone.json, and input_s128.npy / expected_s128.npy (the
same weights at 128x128) to biformer_reduced; its weights, input, logits and config are not touched.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"biformer_reduced": 128}   # fixture -> the other size checked (stage-2 map 8: divisible by n_win 4)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a rayleizhu/BiFormer checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod in ("einops", "fairscale"):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, args.src)
    import models.biformer as bf
    from timm.layers import LayerNorm2d

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(bf.BiFormer(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        extra_norms = [LayerNorm2d(c).double().eval() for c in kw["embed_dim"]]   # BiFormer_mm.extra_norms, as initialised
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            feats, h = {}, x
            for i in range(4):
                h = model.stages[i](model.downsample_layers[i](h))
                feats[i] = extra_norms[i](h)
            embedding = model.forward_features(x).flatten(2).mean(-1)
            assert np.abs(model.head(embedding).numpy() - want).max() < 1e-9
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="rayleizhu/BiFormer: features as object_detection/models_mm/biformer_mm.py BiFormer_mm."
                                         "forward_features (stage i output -> extra_norms[i] LayerNorm2d, initial weight 1 bias 0); "
                                         "embedding = BiFormer.forward_features(x).flatten(2).mean(-1) (what self.head reads)")
        pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
