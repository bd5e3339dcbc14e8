#!/usr/bin/env python3
"""Backbone outputs of the OverLoCK parity fixtures, from the authors' dense-prediction backbone
(LMMMEng/OverLoCK, the checkout tools/parity/overlock.py uses: segmentation/models/overlock.py).

Usage:  /usr/bin/python3 tools/parity/overlock_backbone.py --src /path/to/OverLoCK --timm /path/to/pytorch-image-models
            [--out DIR]

Per fixture (written by tools/parity/overlock.py; its weights, input, logits and config are not
touched): the classifier (models/overlock.py) is built from config.json's kwargs, loaded with the
fixture's weights and checked to reproduce expected.npy. The embedding is what its final 1x1
classifier conv reads: head[0:4] (1x1 projection, BatchNorm, SiLU, global pooling), flattened. The
feature maps come from segmentation/models/overlock.py OverLoCK holding the same weights
(strict=False: its LayerNorm2d extra_norm.{i} keep PyTorch's initial weight 1 / bias 0, as they are
when training starts from an ImageNet checkpoint; the classifier heads are unused). The detection
class (detection/models/overlock.py) returns the same maps except that its last adds
h_proj(extra_norm.4(context)), a 1x1 conv with a LayerScale that only detection checkpoints hold.
input_s<S>.npy / expected_s<S>.npy hold the classifier at one other size S. For overlock_reduced
the detection class is also run: detection_extras.safetensors holds random fp16-exact h_proj.* and
extra_norm.4.* (what a detection checkpoint adds; extra_norm.0-3 stay absent, i.e. initial), and
detection_features_3.npy its last map on the fixture's weights plus those (maps 0-2 are checked to
equal the segmentation class's).
The mmseg / mmcv names the segmentation file imports are stubbed here (registration and checkpoint
loading only); natten, einops and mmengine come from the same shims as tools/parity/overlock.py.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

# fixture -> other input size for the atSize check
FIXTURES = {"overlock_reduced": 80, "overlock_reduced_reparam": 96}


def stub_openmmlab():
    class Registry:
        def register_module(self, *a, **k):
            return lambda cls: cls

    mods = {n: types.ModuleType(n) for n in ("mmcv", "mmcv.runner", "mmseg", "mmseg.utils", "mmseg.models", "mmseg.models.builder",
                                             "mmdet", "mmdet.utils", "mmdet.models", "mmdet.models.builder")}
    mods["mmcv.runner"].load_checkpoint = lambda *a, **k: None
    for m in ("mmseg", "mmdet"):
        mods[m + ".utils"].get_root_logger = lambda *a, **k: None
        mods[m + ".models.builder"].MODELS = Registry()
    sys.modules.update(mods)


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m                              # timm's register_model looks the module up
    with contextlib.redirect_stdout(io.StringIO()):   # the iGEMM probe prints
        spec.loader.exec_module(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of an LMMMEng/OverLoCK checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(HERE, "overlock_shim"))
    sys.path.insert(0, os.path.join(HERE, "common_shims"))
    stub_openmmlab()
    cls_mod = load_module("overlock_cls", os.path.join(args.src, "models", "overlock.py"))
    seg_mod = load_module("overlock_seg", os.path.join(args.src, "segmentation", "models", "overlock.py"))
    det_mod = load_module("overlock_det", os.path.join(args.src, "detection", "models", "overlock.py"))

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        with contextlib.redirect_stdout(io.StringIO()):
            model = pc.load_fixture_weights(cls_mod.OverLoCK(**kw), d)
            seg = seg_mod.OverLoCK(**kw)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        missing, unexpected = seg.load_state_dict(pc.read_safetensors(os.path.join(d, "weights.safetensors")), strict=False)
        assert all(k.startswith("extra_norm.") for k in missing), missing
        assert all(k.startswith(("head.", "aux_head.")) for k in unexpected), unexpected
        seg = seg.double().eval()
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, fixture + ": fixture weights do not reproduce its logits"
            feat, _ = model.forward_features(x)
            embedding = model.head[:4](feat).flatten(1)
            assert np.abs(model.head[4](model.head[:4](feat)).flatten(1).numpy() - want).max() < 1e-9
            feats = dict(enumerate(seg(x)))
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="features: segmentation/models/overlock.py OverLoCK (extra_norm as initialised); "
                                         "embedding: models/overlock.py head[0:4]")
        with contextlib.redirect_stdout(io.StringIO()):
            pc.write_resized(d, model, size)
        if fixture == "overlock_reduced":
            with contextlib.redirect_stdout(io.StringIO()):
                det = det_mod.OverLoCK(**kw)
            det.load_state_dict(pc.read_safetensors(os.path.join(d, "weights.safetensors")), strict=False)
            pc.randomize_(det.h_proj, seed=31)
            pc.randomize_(det.extra_norm[4], seed=32)
            extras = {"h_proj." + k: v for k, v in det.h_proj.state_dict().items()}
            extras.update({"extra_norm.4." + k: v for k, v in det.extra_norm[4].state_dict().items()})
            pc.write_safetensors(os.path.join(d, "detection_extras.safetensors"), extras, dtype=torch.float16)
            det = det.double().eval()
            with torch.no_grad():
                dout = det(x)
            for i in range(3):
                assert torch.equal(dout[i], feats[i]), i
            assert (dout[3] - feats[3]).abs().max() > 1e-3            # the h_proj term is there
            pc.write_npy(os.path.join(d, "detection_features_3.npy"), dout[3].numpy())
            print(fixture, "detection features_3", list(dout[3].shape))


if __name__ == "__main__":
    main()
