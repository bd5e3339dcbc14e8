#!/usr/bin/env python3
"""Backbone outputs of timm families' parity fixtures: feature maps from timm's own
`features_only` wrapper (FeatureListNet over the model's feature_info) and the embedding from
`forward_head(pre_logits=True)`, in float64, on the weights and input the fixture already holds.

Usage:  /usr/bin/python3 tools/parity/backbone_timm.py --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy and backbone.json to each fixture named below; the fixture's
weights, input and logits are not touched.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

# fixture -> (timm module, class, feature maps?, kwargs the class does not take); the constructor
# kwargs are the fixture's own (config.json "kwargs"). Isotropic models get the embedding only.
FIXTURES = {
    "davit_reduced": ("davit", "DaVit", True, ("img_size",)),
    "davit_reduced_70": ("davit", "DaVit", True, ("img_size",)),
    "convit_reduced": ("convit", "ConVit", False, ()),
    "convit_reduced_nobias": ("convit", "ConVit", False, ()),
    "crossvit_reduced": ("crossvit", "CrossVit", False, ()),
    "crossvit_dagger_reduced": ("crossvit", "CrossVit", False, ()),
}

# fixture -> another input size the model runs at with the same weights (for Architecture.atSize)
RESIZED = {"davit_reduced": 96}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import importlib
    from timm.models._features import FeatureListNet

    for fixture, (module, cls, hierarchical, drop) in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        meta = json.load(open(os.path.join(d, "config.json")))
        kw = {k: v for k, v in meta["kwargs"].items() if k not in drop}
        model = getattr(importlib.import_module("timm.models." + module), cls)(**kw)
        pc.load_fixture_weights(model, d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            logits = model(x).numpy()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = model.forward_head(model.forward_features(x), pre_logits=True)
            if not hierarchical:
                pc.write_backbone_outputs(d, None, embedding, source="timm %s.%s: forward_head(pre_logits=True)" % (module, cls))
                continue
            n = len(model.feature_info)
            feats = FeatureListNet(model, out_indices=tuple(range(n)), flatten_sequential=True)(x)
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="timm %s.%s: FeatureListNet(out_indices=0..%d), forward_head(pre_logits=True)" % (module, cls, n - 1))
        if fixture in RESIZED:  # size-agnostic module: the same weights at another input size
            model = getattr(importlib.import_module("timm.models." + module), cls)(**kw)
            pc.write_resized(d, pc.load_fixture_weights(model, d), RESIZED[fixture])


if __name__ == "__main__":
    main()
