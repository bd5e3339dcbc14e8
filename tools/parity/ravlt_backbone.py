#!/usr/bin/env python3
"""Backbone outputs of the RAVLT parity fixtures, from the authors' code (qhfan/RALA).

Feature maps come from the authors' detection backbone itself, detection/mmdet/models/backbones/RALA.py
(GLTA, identical in segmentation/): each BasicLayer returns its blocks' output before the PatchMerging
(x_out), which goes through the backbone's own extra_norms[i] (LayerNorm2d, eps 1e-6). That file
imports mmdet/mmcv only for loading, logging and its registry; this script stands in for those names
with small stubs (our own) and imports the file unchanged. GLTA builds its BatchNorms as
SyncBatchNorm, which runs on GPU only: after construction each is replaced by an nn.BatchNorm2d with
the same state (eval mode computes the same). The extra_norms keep their initial state (weight 1,
bias 0, as nn.LayerNorm and the class's _init_weights set them), which is what GLTA holds when it
loads ImageNet weights (strict=False) before detection training.

The embedding is what the classifier head reads: the classification RAVLT's forward_features
(1x1 projection, BatchNorm, Swish, mean pool), flattened to [N, projection].

Usage:  /usr/bin/python3 tools/parity/ravlt_backbone.py --src /path/to/RALA --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy, backbone.json to ravlt_reduced and ravlt_reduced_odd, and
input_s80.npy / expected_s80.npy (the classification model on the same weights at 80x80) to
ravlt_reduced; the fixtures' weights, input, logits and config are not touched.
"""
import argparse
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"ravlt_reduced": 80, "ravlt_reduced_odd": None}   # fixture -> another size checked (or none)


def _stub(name, **attrs):
    pc.stub_modules({name: attrs}, replace=True)
    return sys.modules[name]


def import_detection_backbone(src):
    """The authors' detection RALA.py as a module, with the mm* names it imports stubbed."""

    Registry = pc.StubRegistry

    _stub("mmcv_custom", load_checkpoint=None)
    _stub("mmdet")
    _stub("mmdet.utils", get_root_logger=None)
    _stub("mmdet.models")
    _stub("mmdet.models.builder", BACKBONES=Registry())
    _stub("mmdet.models.backbones")
    name = "mmdet.models.backbones.RALA"
    spec = importlib.util.spec_from_file_location(name, os.path.join(src, "detection", "mmdet", "models", "backbones", "RALA.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def plain_batchnorms_(module):
    """Replaces every SyncBatchNorm (GPU only) by a BatchNorm2d holding the same state."""
    n = 0
    for parent in list(module.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.SyncBatchNorm):
                bn = nn.BatchNorm2d(child.num_features, eps=child.eps, momentum=child.momentum, affine=child.affine,
                                    track_running_stats=child.track_running_stats)
                bn.load_state_dict(child.state_dict())
                setattr(parent, child_name, bn)
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a qhfan/RALA checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod in ("einops", "fvcore"):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(args.src, "classfication"))
    import RALA
    det = import_detection_backbone(args.src)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(RALA.RAVLT(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        want = np.load(os.path.join(d, "expected.npy"))

        bkw = {k: v for k, v in kw.items() if k != "num_classes"}
        bb = det.GLTA(out_indices=(0, 1, 2, 3), **bkw)
        assert plain_batchnorms_(bb) > 0
        cls_sd, bb_sd = model.state_dict(), bb.state_dict()
        missing = sorted(k for k in bb_sd if k not in cls_sd)
        assert missing and all(k.startswith("extra_norms.") for k in missing), missing
        for k in missing:
            assert torch.equal(bb_sd[k], torch.ones_like(bb_sd[k]) if k.endswith("weight") else torch.zeros_like(bb_sd[k])), k
        bb.load_state_dict({k: v for k, v in cls_sd.items() if k in bb_sd}, strict=False)
        bb.double()
        bb.eval()   # GLTA's train() override returns None, so no chaining

        with torch.no_grad():
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            feats = dict(enumerate(bb(x)))
            embedding = model.forward_features(x).flatten(1)
            assert np.abs(model.head(embedding[:, :, None, None]).flatten(1).numpy() - want).max() < 1e-9
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="qhfan/RALA: features = detection/mmdet/models/backbones/RALA.py GLTA (each layer's "
                                         "output before PatchMerging -> extra_norms[i] LayerNorm2d eps 1e-6 at its initial weight 1 "
                                         "bias 0; SyncBatchNorm run as BatchNorm2d); embedding = classification "
                                         "RAVLT.forward_features(x).flatten(1) (what head reads)")
        if size:
            pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
