#!/usr/bin/env python3
"""Backbone outputs of the VOLO parity fixtures from timm's own definitions, in float64: the
feature maps of timm's features_only wrapper for VOLO (FeatureGetterNet over forward_intermediates,
out_indices = every stage: each stage's last block output, NCHW) and the embedding from
forward_head(pre_logits=True) (the normed class token).

Usage:  /usr/bin/python3 tools/parity/volo_backbone.py --timm /path/to/pytorch-image-models [--out DIR]

For each fixture: builds timm's VOLO from its config.json kwargs, loads weights.safetensors,
checks the logits against expected.npy, then adds features_<i>.npy, embedding.npy and
backbone.json. The existing fixture files are not touched. No resized logits: VOLO's absolute
pos_embed fixes the input size.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

FIXTURES = ["volo_reduced", "volo_reduced_odd"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models import volo
    from timm.models._features import FeatureGetterNet

    for fixture in FIXTURES:
        d = os.path.join(args.out, fixture)
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in json.load(open(os.path.join(d, "config.json")))["kwargs"].items()}
        model = pc.load_fixture_weights(volo.VOLO(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            assert np.abs(model(x).numpy() - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = model.forward_head(model.forward_features(x), pre_logits=True)
            n = len(model.feature_info)
            # FeatureGetterNet prunes the head and class-attention blocks off the model: after the embedding
            feats = FeatureGetterNet(model, out_indices=tuple(range(n))).eval()(x)
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="timm@aa4b5850 volo.VOLO: FeatureGetterNet(out_indices=0..%d) (forward_intermediates), "
                                         "forward_head(pre_logits=True)" % (n - 1))


if __name__ == "__main__":
    main()
