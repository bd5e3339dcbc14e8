#!/usr/bin/env python3
"""Backbone outputs of the CAS-ViT parity fixtures, from the authors' code (Tianfang-Zhang/CAS-ViT).

Feature maps come from the authors' dense-prediction backbone, detection/model/rcvit.py RCViT with
fork_feat=True (segmentation/model/rcvit.py has the same class): the outputs of network[0, 2, 4, 6]
(each stage before the next downsampling), each through its own BatchNorm2d norm0/norm2/norm4/norm6.
The module is imported as is, with empty stand-ins for the mmdet/mmcv names it imports at module
level (registry, logger, checkpoint loader). It gets the fixture's weights but the classification
norm and heads, which the fork_feat model does not have; its output norms keep PyTorch's initial
state (weight 1, bias 0, running mean 0, variance 1), as when the authors load ImageNet weights
into it (strict=False) before dense training.
The embedding is what head and dist_head both read in classification/model/rcvit.py:
norm(x).flatten(2).mean(-1). The classification model is checked against the fixture's logits first.

Usage:  /usr/bin/python3 tools/parity/casvit_backbone.py --src /path/to/CAS-ViT --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy and backbone.json to casvit_reduced and casvit_reduced_odd,
and input_s80.npy / expected_s80.npy (the same weights at 80x80) to casvit_reduced.
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

FIXTURES = {"casvit_reduced": 80, "casvit_reduced_odd": None}   # fixture -> other size checked (None: none)
CLASSIFIER_ONLY = ("norm.", "head.", "dist_head.")


def import_detection_backbone(src):
    """detection/model/rcvit.py, with no-op stand-ins for its mmdet/mmcv imports."""
    pc.stub_modules({"mmdet": None, "mmdet.utils": {"get_root_logger": lambda: None},
             "mmdet.models": {"BACKBONES": pc.StubRegistry()}, "mmcv": None,
             "mmcv.runner": {"_load_checkpoint": lambda *a, **k: None}})
    path = os.path.join(src, "detection", "model", "rcvit.py")
    spec = importlib.util.spec_from_file_location("casvit_detection_rcvit", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a Tianfang-Zhang/CAS-ViT checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    try:
        import einops  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(args.src, "classification", "model"))
    import rcvit
    det = import_detection_backbone(args.src)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(rcvit.RCViT(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()

        backbone = det.RCViT(fork_feat=True, **kw)
        sd = {k: v for k, v in pc.read_safetensors(os.path.join(d, "weights.safetensors")).items() if not k.startswith(CLASSIFIER_ONLY)}
        missing, unexpected = backbone.load_state_dict(sd, strict=False)
        assert not unexpected and all(k.split(".")[0] in ("norm0", "norm2", "norm4", "norm6") for k in missing), (missing, unexpected)
        backbone.double()
        backbone.eval()   # its train() override returns None, so no chaining
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = model.norm(model.forward_tokens(model.patch_embed(x))).flatten(2).mean(-1)
            heads = [model.head] + ([model.dist_head] if model.dist else [])
            assert np.abs((sum(h(embedding) for h in heads) / len(heads)).numpy() - want).max() < 1e-9
            feats = backbone(x)
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="Tianfang-Zhang/CAS-ViT: features = detection/model/rcvit.py RCViT(fork_feat=True) "
                                         "(network[0,2,4,6] outputs through norm0/2/4/6 BatchNorm2d at PyTorch's initial state); "
                                         "embedding = classification RCViT norm(x).flatten(2).mean(-1) (what head and dist_head read)")
        if size:
            pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
