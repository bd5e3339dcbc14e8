#!/usr/bin/env python3
"""Backbone outputs of the CSWin parity fixtures, from the authors' segmentation backbone
(microsoft/CSWin-Transformer segmentation/backbone/cswin_transformer.py CSWin, the checkout
tools/parity/cswin.py uses).

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/cswin_backbone.py --src /path/to/CSWin-Transformer [--out DIR]

Per fixture (written by tools/parity/cswin.py; its weights, input, logits and config are not
touched): the classifier (models/cswin.py CSWinTransformer) is built from config.json's kwargs,
loaded with the fixture's weights and checked to reproduce expected.npy; its forward_features
(final norm, mean over tokens) is the embedding. The feature maps are what the segmentation CSWin
returns (save_out: each stage's last tokens through that class's own norm1..norm4, which keep the
weight 1 / bias 0 its init_weights sets on an ImageNet checkpoint, as NCHW), taken from the
classifier's stages with forward hooks: the segmentation class cannot hold either fixture's weights
(it widens stages by the head ratio, not 2x, and gives a stage whose map equals its stripe width two
attention branches where the classifier has one). That this equals the segmentation class wherever
the weights fit is checked first, on a small random model both classes can hold. cswin_reduced_96
also gets input_s192 / expected_s192 (the classifier built for 192 px on the same weights).

The timm names both files import come from tools/parity/cswin_shim (plus stubs here for the two the
segmentation file adds), einops from common_shims; mmseg / mmcv_custom and the package-relative
`..builder` are stubbed (registration and checkpoint loading only).
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

# fixture -> other input size or None
FIXTURES = {"cswin_reduced": None, "cswin_reduced_96": 192}


def load_segmentation_backbone(src):
    class Registry:
        def register_module(self, *a, **k):
            return lambda cls: cls

    def pkg(name):
        m = types.ModuleType(name)
        m.__path__ = []
        return m

    mods = {"segbb": pkg("segbb"), "segbb.backbone": pkg("segbb.backbone"), "segbb.builder": types.ModuleType("segbb.builder"),
            "mmcv_custom": types.ModuleType("mmcv_custom"), "mmseg": pkg("mmseg"), "mmseg.utils": types.ModuleType("mmseg.utils"),
            "timm.models.resnet": types.ModuleType("timm.models.resnet")}
    mods["segbb.builder"].BACKBONES = Registry()
    mods["mmcv_custom"].load_checkpoint = lambda *a, **k: None
    mods["mmseg.utils"].get_root_logger = lambda *a, **k: None
    mods["timm.models.resnet"].resnet26d = mods["timm.models.resnet"].resnet50d = None
    sys.modules.update(mods)
    name = "segbb.backbone.cswin_transformer"
    spec = importlib.util.spec_from_file_location(name, os.path.join(src, "segmentation", "backbone", "cswin_transformer.py"))
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


def stage_maps(model, x):
    """The segmentation backbone's outputs from a classifier: each stage's last block output,
    LayerNorm with weight 1 / bias 0 (eps 1e-5, nn.LayerNorm's), as NCHW."""
    got = []
    hooks = [getattr(model, "stage%d" % i)[-1].register_forward_hook(lambda m, i, o: got.append(o)) for i in range(1, 5)]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for i, t in enumerate(got):
        b, n, c = t.shape
        r = int(round(n ** 0.5))
        out[i] = torch.nn.functional.layer_norm(t, (c,), eps=1e-5).transpose(1, 2).reshape(b, c, r, r)
    return out


def check_against_segmentation_class(cswin, seg_mod):
    """On a model the segmentation class can hold (stages doubling, no stage a single stripe):
    stage_maps of the classifier equals the segmentation CSWin's output."""
    kw = dict(img_size=64, embed_dim=16, depth=[1, 1, 1, 1], split_size=[2, 2, 2, 2], num_heads=[2, 4, 8, 16])
    model = cswin.CSWinTransformer(num_classes=5, **kw)
    pc.randomize_(model, seed=5)
    seg = seg_mod.CSWin(**kw)
    seg.init_weights()
    missing, unexpected = seg.load_state_dict(model.state_dict(), strict=False)
    assert sorted({k.split(".")[0] for k in missing}) == ["norm1", "norm2", "norm3", "norm4"], missing
    assert all(k.split(".")[0] in ("norm", "head") for k in unexpected), unexpected
    x = pc.random_input((1, 3, 64, 64), seed=3).double()
    model.double().eval()
    seg.double().eval()
    with torch.no_grad():
        ours, theirs = stage_maps(model, x), seg(x)
    for i in range(4):
        assert (ours[i] - theirs[i]).abs().max() < 1e-12, i
    print("stage maps of the classifier equal segmentation CSWin's outputs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a microsoft/CSWin-Transformer checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(HERE, "cswin_shim"))
    sys.path.insert(0, args.src)
    import models.cswin as cswin
    seg_mod = load_segmentation_backbone(args.src)
    check_against_segmentation_class(cswin, seg_mod)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(cswin.CSWinTransformer(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, fixture + ": fixture weights do not reproduce its logits"
            embedding = model.forward_features(x)
            feats = stage_maps(model, x)
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="embedding: models/cswin.py CSWinTransformer.forward_features; features: as "
                                         "segmentation/backbone/cswin_transformer.py CSWin.save_out (norm1..norm4 as initialised), "
                                         "from the classifier's stages")
        if size is not None:
            resized = cswin.CSWinTransformer(**dict(kw, img_size=size))
            resized.load_state_dict(model.state_dict())
            pc.write_resized(d, resized, size)


if __name__ == "__main__":
    main()
