#!/usr/bin/env python3
"""Backbone outputs of the AttNet parity fixtures against the authors' code
(price112/Attentive-Convolution, models/AttNet.py, the commit tools/parity/attnet.py uses).

Usage:  /usr/bin/python3 tools/parity/attnet_backbone.py --src /path/to/Attentive-Convolution \
            --timm /path/to/pytorch-image-models [--out DIR]

The authors' repository has no detection/segmentation backbone class, so the feature maps are
each stage's output (downsample_layers[i] then stages[i], as forward_features runs them; what
timm's features_only would return), strides 4, 8, 16, 32. The embedding is forward_features(x):
mean pool then the final LayerNorm, the vector the head Linear reads.

For each fixture below: loads its weights (strict, float64), asserts the model reproduces
expected.npy, then adds features_<i>.npy, embedding.npy and backbone.json. For attnet_reduced it
also adds input_s80.npy / expected_s80.npy (the same weights at 80x80: the model has no size
argument, every layer follows the input size). Existing fixture files are not touched.
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

FIXTURES = {"attnet_reduced": 80, "attnet_reduced_k5": None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a price112/Attentive-Convolution checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    import models.AttNet as attnet

    for fixture, resized in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        meta = json.load(open(os.path.join(d, "config.json")))
        model = pc.load_fixture_weights(attnet.AttNet(**meta["kwargs"]), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            logits = model(x).numpy()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() <= 1e-9 * max(1.0, np.abs(want).max()), "fixture weights do not reproduce its logits"
            feats = {}
            h = x
            for i in range(len(model.stages)):
                h = model.stages[i](model.downsample_layers[i](h))
                feats[i] = h
            embedding = model.forward_features(x)
            assert torch.allclose(model.head(embedding), torch.from_numpy(logits), rtol=0, atol=1e-12)
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="models/AttNet.py AttNet: stages[i](downsample_layers[i](x)) for i=0..3; forward_features (mean, norm)")
        if resized:
            pc.write_resized(d, model, resized)


if __name__ == "__main__":
    main()
