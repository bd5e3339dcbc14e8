#!/usr/bin/env python3
"""Backbone outputs of the FFNet parity fixtures against the authors' code (ysj9909/FFNet, the
repository tools/parity/ffnet.py uses).

Usage:  /usr/bin/python3 tools/parity/ffnet_backbone.py --src /path/to/FFNet \
            --timm /path/to/pytorch-image-models [--out DIR]

Feature maps: the authors' detection backbone, detection/mmdet_custom/models/backbones/ffnet.py
FFNet (segmentation/mmseg_custom/models/backbones/ffnet.py is the same class): each stage's output
(patch merging and blocks) through its own channels-first LayerNorm norm{i} (eps 1e-6). That class
imports mmcv/mmdet only for checkpoint loading, logging and its registry; they are stood in here by
stubs. It is built with the fixture's constructor arguments (plain BatchNorm, no drop path) and given
the classification fixture's weights; the classification checkpoint has no norm{i}, so those stay as
PyTorch initialises them (weight 1, bias 0), as they are before detection training.
Embedding: the classification model's pre-logits vector, flatten(avgpool(norm(features))), what head reads.

For each fixture: loads its weights, asserts the classification model reproduces expected.npy and
that the detection backbone reads every weight but the classifier's norm/head, then adds
features_<i>.npy, embedding.npy and backbone.json; for ffnet_reduced also input_s72.npy /
expected_s72.npy (the same weights at 72x72; the model has no size argument). Existing fixture
files are not touched.
"""
import argparse
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"ffnet_reduced": 72, "ffnet_reduced_odd": None}


def stub_openmmlab():
    """mmcv.runner._load_checkpoint, mmdet.utils.get_root_logger, mmdet.models.builder.BACKBONES."""
    pc.stub_modules({
        "mmcv": {}, "mmcv.runner": {"_load_checkpoint": lambda *a, **k: None},
        "mmdet": {}, "mmdet.utils": {"get_root_logger": lambda *a, **k: None},
        "mmdet.models": {}, "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()},
    })


def load_module(name, path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a ysj9909/FFNet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    import timm.models._builder as builder   # as tools/parity/ffnet.py: a helper today's timm lacks
    if not hasattr(builder, "_update_default_kwargs"):
        builder._update_default_kwargs = lambda pretrained_cfg, kwargs, kwargs_filter=None: None
    import models.ffnet as ffnet
    stub_openmmlab()
    det = load_module("ffnet_det_backbone", os.path.join(args.src, "detection/mmdet_custom/models/backbones/ffnet.py"))

    for fixture, resized in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(ffnet.FFNet(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()

        backbone = det.FFNet(**kw, drop_path_rate=0.0, use_sync_bn=False, init_cfg={"checkpoint": None})
        sd = pc.read_safetensors(os.path.join(d, "weights.safetensors"))
        own = backbone.state_dict()
        sd = {k: v.reshape(own[k].shape) for k, v in sd.items() if k in own}
        missing, unexpected = backbone.load_state_dict(sd, strict=False)
        assert sorted(missing) == sorted("norm%d.%s" % (i, p) for i in range(len(kw["embed_dim"])) for p in ("weight", "bias")), missing
        backbone = backbone.double().eval()

        with torch.no_grad():
            logits = model(x).numpy()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() <= 1e-9 * max(1.0, np.abs(want).max()), "fixture weights do not reproduce its logits"
            embedding = torch.flatten(model.avgpool(model.forward_features(x)), 1)
            assert torch.allclose(model.head(embedding), torch.from_numpy(logits), rtol=0, atol=1e-12)
            feats = dict(enumerate(backbone(x)))
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="detection/mmdet_custom/models/backbones/ffnet.py FFNet (norm{i} identity: not in the "
                                         "classification checkpoint); models/ffnet.py FFNet flatten(avgpool(forward_features))")
        if resized:
            pc.write_resized(d, model, resized)


if __name__ == "__main__":
    main()
