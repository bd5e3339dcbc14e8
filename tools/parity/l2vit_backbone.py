#!/usr/bin/env python3
"""Backbone outputs of the L2ViT parity fixtures, from the authors' code (ChuanyangZheng/L2ViT).

Feature maps come from the authors' detection backbone itself,
object_detection/mmdet/models/backbones/l2vit.py (L2ViT with out_indices, identical in
semantic_segmentation/): after downsample_layers[i] and stages[i], the tokens go through the
backbone's own norm{i} (nn.LayerNorm) and are returned as NCHW. That file imports mmcv/mmdet only for
loading, logging, init helpers and its registry; this script stands in for those names with small
stubs (our own) and imports the file unchanged. The norm{i} keep their initial state (weight 1, bias 0,
as nn.LayerNorm and the class's _init_weights set them), which is what the backbone holds when it
loads ImageNet weights (strict=False) before detection training.

The detection class does not pass window_size on to its blocks (they keep the default 7); the
fixtures use smaller windows, so each local block's window_size is set to the fixture's window after
construction (no tensor depends on it) — that is the classification model's window, which ours keeps.

The embedding is what the classifier head reads: forward_features of the classification model
(tools/parity/l2vit.py builds it), i.e. the final norm and the mean over tokens.

Usage:  /usr/bin/python3 tools/parity/l2vit_backbone.py --src /path/to/L2ViT [--out DIR]

Adds features_<i>.npy, embedding.npy, backbone.json to l2vit_reduced and l2vit_reduced_odd, and
input_s48.npy / expected_s48.npy (the classification model on the same weights at 48x48) to
l2vit_reduced; the fixtures' weights, input, logits and config are not touched.
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
import l2vit as gen  # noqa: E402  (tools/parity/l2vit.py: build())

FIXTURES = {"l2vit_reduced": 48, "l2vit_reduced_odd": None}   # fixture -> another size checked (or none)


def _stub(name, **attrs):
    pc.stub_modules({name: attrs}, replace=True)
    return sys.modules[name]


def import_detection_backbone(src):
    """The authors' detection l2vit.py as a module, with the mm* names it imports stubbed."""

    Registry = pc.StubRegistry

    def kaiming_init(m):
        nn.init.kaiming_normal_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)

    def constant_init(m, val):
        nn.init.constant_(m.weight, val)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)

    _stub("mmcv_custom", load_checkpoint=None)
    _stub("mmcv")
    _stub("mmcv.cnn", kaiming_init=kaiming_init, constant_init=constant_init)
    _stub("mmdet")
    _stub("mmdet.utils", get_root_logger=None)
    _stub("mmdet.models")
    _stub("mmdet.models.builder", BACKBONES=Registry())
    _stub("mmdet.builder", BACKBONES=Registry())   # the file says `from ...builder` (three dots)
    _stub("mmdet.models.backbones")
    name = "mmdet.models.backbones.l2vit"
    spec = importlib.util.spec_from_file_location(name, os.path.join(src, "object_detection", "mmdet", "models", "backbones", "l2vit.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a ChuanyangZheng/L2ViT checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "nat_shim"))
    # the authors' classification l2vit.py, by path (the name l2vit is tools/parity/l2vit.py here)
    spec = importlib.util.spec_from_file_location("l2vit_upstream", os.path.join(args.src, "classification", "models", "l2vit.py"))
    l2vit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(l2vit)
    det = import_detection_backbone(args.src)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        spec = json.load(open(os.path.join(d, "config.json")))["spec"]
        model = pc.load_fixture_weights(gen.build(l2vit, spec), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        want = np.load(os.path.join(d, "expected.npy"))

        bb = det.L2ViT(depths=spec["depths"], dims=spec["dims"], num_heads=spec["heads"], window_size=spec["window"],
                       block_type="mix_local_enhanced_vit", conv_stem=True, out_indices=[0, 1, 2, 3])
        windows = 0
        for m in bb.modules():
            if isinstance(m, det.LWABlock):
                m.window_size = spec["window"]
                windows += 1
        assert windows > 0
        cls_sd = model.state_dict()
        bb_sd = bb.state_dict()
        missing = sorted(k for k in bb_sd if k not in cls_sd)
        assert all(k.startswith("norm") and k[4].isdigit() for k in missing), missing
        for k in missing:
            assert torch.equal(bb_sd[k], torch.ones_like(bb_sd[k]) if k.endswith("weight") else torch.zeros_like(bb_sd[k])), k
        bb.load_state_dict({k: v for k, v in cls_sd.items() if k in bb_sd}, strict=False)
        bb.double()
        bb.eval()   # the class's train() override returns None, so no chaining

        with torch.no_grad():
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            feats = dict(enumerate(bb(x)))
            embedding = model.forward_features(x)
            assert np.abs(model.head(embedding).numpy() - want).max() < 1e-9
            # the backbone's maps are the classification model's stage outputs through norm<i>
            h, size_ = x, [x.size(2), x.size(3)]
            for i in range(4):
                h, size_ = model.downsample_layers[i](h, size_)
                h, size_ = model.stages[i](h, size_)
                ref = nn.functional.layer_norm(h, (h.shape[-1],), eps=1e-5)
                ref = ref.view(-1, size_[0], size_[1], h.shape[-1]).permute(0, 3, 1, 2)
                assert torch.allclose(ref, feats[i], rtol=0, atol=1e-10), i
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="ChuanyangZheng/L2ViT: features = object_detection/mmdet/models/backbones/l2vit.py L2ViT "
                                         "(stages[i] tokens -> norm{i} nn.LayerNorm at its initial weight 1 bias 0, NCHW; local "
                                         "blocks' window_size set to the fixture's window); embedding = classification "
                                         "L2ViT.forward_features (final norm, mean over tokens: what head reads)")
        if size:
            pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
