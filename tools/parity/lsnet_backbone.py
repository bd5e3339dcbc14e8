#!/usr/bin/env python3
"""Backbone outputs of the LSNet parity fixtures, from the authors' code (jameslahm/lsnet).

Feature maps: the authors' dense-prediction backbone, detection/model/lsnet.py LSNet (the same class
as segmentation/model/lsnet.py), returns the outputs of blocks1..blocks4 (strides 8, 16, 32, 64;
each later stage starts with its depthwise-stride-2 + pointwise downsampling; no extra norms).
That class also changes the stage-4 attention: its bias table is always built for a 14x14 map
(its init_weights resizes a checkpoint's table bicubically to 14x14), and each forward resizes the
gathered [heads, 196, 196] bias bicubically to the actual N x N. The classification model (and our
graph) adds the checkpoint's table gathered for the actual map. On these fixtures the stage-4 map
is 1x1, where both give the same bias, so the detection class is run here as is and its four maps
are checked against the classification model's blocks1..4 outputs before they are written; at
other sizes the two differ in stage 4 (see LSNet.backbone()).

The detection module is imported as is, with tools/parity/lsnet.py's SKA shim as its `.ska` and
empty stand-ins for the mmcv_custom/mmdet names it imports at module level; the fixture's weights
(less the heads, with attention_biases resized to 14x14 as its init_weights does) are loaded into
it. The embedding is what head and head_dist read in model/lsnet.py: the pooled last map.

Usage:  /usr/bin/python3 tools/parity/lsnet_backbone.py --src /path/to/lsnet --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy and backbone.json to lsnet_reduced and lsnet_reduced_odd, and
input_s48.npy / expected_s48.npy to lsnet_reduced (model/lsnet.py LSNet built with img_size=48:
the same stage-4 map, 1x1, so the same weights). Existing fixture files are not touched.
"""
import argparse
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"lsnet_reduced": 48, "lsnet_reduced_odd": None}   # fixture -> other size checked (None: none)
DETECTION_RESOLUTION = 14   # detection/model/lsnet.py builds every Attention with resolution=14


def import_detection_backbone(src, ska_module):
    """detection/model/lsnet.py as package lsnet_detection (its `.ska` = the SKA shim), mmcv/mmdet stubbed."""
    none = lambda *a, **k: None  # noqa: E731
    pc.stub_modules({"mmcv_custom": {"load_checkpoint": none, "_load_checkpoint": none, "load_state_dict": none},
             "mmdet": None, "mmdet.utils": {"get_root_logger": none},
             "mmdet.models": None, "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()}})
    pkg = types.ModuleType("lsnet_detection")
    pkg.__path__ = [os.path.join(src, "detection", "model")]
    sys.modules["lsnet_detection"] = pkg
    sys.modules["lsnet_detection.ska"] = ska_module
    spec = importlib.util.spec_from_file_location("lsnet_detection.lsnet", os.path.join(src, "detection", "model", "lsnet.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["lsnet_detection.lsnet"] = mod
    spec.loader.exec_module(mod)
    return mod


def detection_state(sd):
    """Fixture weights as the detection class loads them: no heads, no index buffers, and each
    attention_biases table resized bicubically from its S1 x S1 offsets to 14 x 14 (init_weights' rule)."""
    out = {}
    for k, v in sd.items():
        if k.startswith(("head.", "head_dist.")) or "attention_bias_idxs" in k:
            continue
        if "attention_biases" in k and v.shape[1] != DETECTION_RESOLUTION ** 2:
            nh, l1 = v.shape
            s1 = int(l1 ** 0.5)
            v = F.interpolate(v.double().view(1, nh, s1, s1), size=(DETECTION_RESOLUTION, DETECTION_RESOLUTION),
                              mode="bicubic").view(nh, -1)
        out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a jameslahm/lsnet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout (the authors' code imports timm)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import lsnet as gen   # tools/parity/lsnet.py: its SKA shim and import workarounds
    ls = gen.install_shims(args.src)
    det = import_detection_backbone(args.src, sys.modules["model.ska"])

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(ls.LSNet(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()

        backbone = det.LSNet(img_size=kw["img_size"], patch_size=kw["patch_size"], frozen_stages=-1, in_chans=kw["in_chans"],
                             embed_dim=kw["embed_dim"], key_dim=kw["key_dim"], depth=kw["depth"], num_heads=kw["num_heads"])
        missing, unexpected = backbone.load_state_dict(
            detection_state(pc.read_safetensors(os.path.join(d, "weights.safetensors"))), strict=False)
        assert not unexpected and all("attention_bias_idxs" in k for k in missing), (missing, unexpected)
        backbone.double()
        backbone.eval()   # its train() override returns None, so no chaining
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            h, ours = model.patch_embed(x), []
            for blocks in (model.blocks1, model.blocks2, model.blocks3, model.blocks4):
                h = blocks(h)
                ours.append(h)
            embedding = torch.nn.functional.adaptive_avg_pool2d(h, 1).flatten(1)
            heads = [model.head] + ([model.head_dist] if model.distillation else [])
            assert np.abs((sum(hd(embedding) for hd in heads) / len(heads)).numpy() - want).max() < 1e-9
            feats = backbone(x)
            assert ours[-1].shape[-1] == 1, "the detection class agrees with the classifier only on a 1x1 stage-4 map"
            for a, b in zip(feats, ours):
                assert a.shape == b.shape and (a - b).abs().max().item() < 1e-9, "detection class and classifier stage maps differ"
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="jameslahm/lsnet detection/model/lsnet.py LSNet (blocks1..4 outputs; equal to model/lsnet.py's "
                                         "stage outputs on this 1x1 stage-4 map); embedding = model/lsnet.py pooled map (what head and "
                                         "head_dist read)")
        if size:
            resized = ls.LSNet(**dict(kw, img_size=size))
            resized.load_state_dict(model.state_dict())
            pc.write_resized(d, resized, size)


if __name__ == "__main__":
    main()
