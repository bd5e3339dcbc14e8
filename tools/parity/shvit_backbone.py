#!/usr/bin/env python3
"""Backbone outputs of the SHViT parity fixtures (built with timm's SHViT by tools/parity/shvit.py).

Feature maps come from the authors' downstream backbone, ysj9909/SHViT downstream/shvit.py
Partial_ViT_Exp (the class their detection configs use): the outputs of blocks1, blocks2 and
blocks3 (strides 16, 32, 64; each later stage starts with its downsampling; no extra norms). The
module is imported as is, with empty stand-ins for the mmcv_custom/mmdet names it imports at module
level, and given the fixture's weights in the authors' key layout (tools/parity/shvit.py's
timm_to_authors; the classification heads are left out, the backbone has none). The same maps from
timm's features_only wrapper are checked to agree with it. The embedding is timm's
forward_head(pre_logits=True): the pooled map that head (and the authors' head_dist) read.

Usage:  /usr/bin/python3 tools/parity/shvit_backbone.py --timm /path/to/pytorch-image-models --authors /path/to/SHViT [--out DIR]

Adds features_<i>.npy, embedding.npy and backbone.json to shvit_reduced and shvit_reduced_80, and
input_s96.npy / expected_s96.npy (timm's model, same weights, at 96x96) to shvit_reduced.
Existing fixture files are not touched.
"""
import argparse
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"shvit_reduced": 96, "shvit_reduced_80": None}   # fixture -> other size checked (None: none)


def import_downstream(authors):
    """downstream/shvit.py, with no-op stand-ins for its mmcv_custom/mmdet imports."""
    none = lambda *a, **k: None  # noqa: E731
    pc.stub_modules({"mmcv_custom": {"load_checkpoint": none, "_load_checkpoint": none, "load_state_dict": none},
             "mmdet": None, "mmdet.utils": {"get_root_logger": none},
             "mmdet.models": None, "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()}})
    spec = importlib.util.spec_from_file_location("shvit_downstream", os.path.join(authors, "downstream", "shvit.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--authors", required=True, help="path of a ysj9909/SHViT checkout (downstream/shvit.py)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models import shvit
    from timm.models._features import FeatureListNet
    from shvit import timm_to_authors  # noqa: E402  (tools/parity/shvit.py; the timm module is imported above by package)
    down = import_downstream(args.authors)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        tkw = {k: v for k, v in kw.items() if k != "img_size"}
        model = pc.load_fixture_weights(shvit.SHViT(**tkw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()

        backbone = down.Partial_ViT_Exp(img_size=kw["img_size"], in_chans=kw["in_chans"], embed_dim=list(kw["embed_dim"]),
                                        partial_dim=list(kw["partial_dim"]), qk_dim=list(kw["qk_dim"]), depth=list(kw["depth"]),
                                        types=list(kw["types"]))
        sd = {k: v for k, v in timm_to_authors(model.state_dict(), kw["depth"]).items() if not k.startswith("head.")}
        backbone.load_state_dict(sd)   # strict: every backbone tensor, nothing else
        backbone.double()
        backbone.eval()   # its train() override returns None, so no chaining
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = model.forward_head(model.forward_features(x), pre_logits=True)
            feats = backbone(x)
            n = len(model.feature_info)
            timm_feats = FeatureListNet(model, out_indices=tuple(range(n)), flatten_sequential=True)(x)
            assert len(feats) == n
            for a, b in zip(feats, timm_feats):
                assert a.shape == b.shape and (a - b).abs().max().item() < 1e-9, "authors' downstream and timm's stage maps differ"
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="ysj9909/SHViT downstream/shvit.py Partial_ViT_Exp (blocks1..3 outputs; equal to timm "
                                         "features_only); embedding = timm SHViT forward_head(pre_logits=True)")
        if size:
            pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
