#!/usr/bin/env python3
"""Backbone outputs of the TransNeXt parity fixtures, from the authors' code (DaiShiResearch/TransNeXt).

Feature maps come from the authors' own dense-prediction backbone class,
detection/maskrcnn/transnext_native.py TransNeXt (the segmentation copies are the same but for their
mmseg imports): per stage, the tokens after norm{i+1}, reshaped NCHW. It is imported as is, with
empty stand-ins for the mmdet/mmcv registry and loader it imports at module level (used only for
registration and checkpoint loading), built with the fixture's constructor arguments
(is_extrapolation=False, img_size = the fixture's size, so its bias interpolation is to the same
size), and given the fixture's weights but the classification head, which it does not have.
The embedding is classification/transnext.py's forward_features (the mean of the last normed
tokens), what its head reads. The classification model is checked against the fixture's logits first.

Usage:  /usr/bin/python3 tools/parity/transnext_backbone.py --src /path/to/TransNeXt --timm /path/to/pytorch-image-models [--out DIR]

Adds features_<i>.npy, embedding.npy and backbone.json to transnext_reduced and transnext_reduced_ft,
and input_s96.npy / expected_s96.npy to transnext_reduced (classification TransNeXt with
img_size=96 and the fixture's pretrain size, on the same weights). Existing fixture files are not touched.
"""
import argparse
import importlib.util
import json
import os
import sys
import types
from functools import partial

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"transnext_reduced": 96, "transnext_reduced_ft": None}   # fixture -> other size checked (None: none)
# The detection class computes its padding mask only for stages 1..3 (it assumes the last stage is full
# attention), so it cannot run the A-A-A-A layout of transnext_reduced_ft (masked_fill(None)); there the
# same tensors (stage tokens after norm{i+1}) are read from the classification model by forward hooks.
NORM_EPS = 1e-6   # tools/parity/transnext.py builds every fixture with norm_layer=partial(nn.LayerNorm, eps=1e-6)


def import_detection_backbone(src):
    """The authors' detection TransNeXt module, with no-op stand-ins for its mmdet/mmcv imports."""
    pc.stub_modules({"mmdet": None, "mmdet.models": None, "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()},
             "mmdet.utils": {"get_root_logger": lambda: None}, "mmcv": None,
             "mmcv.runner": {"load_checkpoint": lambda *a, **k: None}})
    path = os.path.join(src, "detection", "maskrcnn", "transnext_native.py")
    spec = importlib.util.spec_from_file_location("transnext_detection_native", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stage_outputs_by_hooks(model, x):
    """Each stage's tokens after norm{i+1} of the classification model, as NCHW maps."""
    outs = []
    hooks = [getattr(model, "norm%d" % (i + 1)).register_forward_hook(lambda m, inp, out: outs.append(out))
             for i in range(len(model.depths))]
    model.forward_features(x)
    for h in hooks:
        h.remove()
    maps, side = [], x.shape[-1]
    for i, t in enumerate(outs):
        s = side // (4 * 2 ** i)
        maps.append(t.reshape(t.shape[0], s, s, -1).permute(0, 3, 1, 2))
    return maps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a DaiShiResearch/TransNeXt checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout (the authors' code imports timm)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(args.src, "classification"))
    import transnext
    det = import_detection_backbone(args.src)
    norm = partial(nn.LayerNorm, eps=NORM_EPS)

    for fixture, size in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(transnext.TransNeXt(norm_layer=norm, **kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()

        full_last = kw["sr_ratios"][-1] == 1
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = model.forward_features(x)
            assert np.abs(model.head(embedding).numpy() - want).max() < 1e-9
            hooked = stage_outputs_by_hooks(model, x)
            if full_last:
                dkw = dict(kw)
                dkw["pretrain_size"] = kw.get("pretrain_size") or kw["img_size"]
                backbone = det.TransNeXt(norm_layer=norm, **dkw)
                sd = {k: v for k, v in pc.read_safetensors(os.path.join(d, "weights.safetensors")).items() if not k.startswith("head.")}
                missing, unexpected = backbone.load_state_dict(sd, strict=False)
                assert not unexpected and not missing, (missing, unexpected)
                feats = backbone.double().eval()(x)
                # the detection class and the classifier's stage outputs agree (the full-attention stage
                # to ~3e-9: the detection class takes log(N) of an integer tensor, i.e. in float32)
                for a, b in zip(feats, hooked):
                    assert (a - b).abs().max().item() < 1e-6
                where = "detection/maskrcnn/transnext_native.py TransNeXt"
            else:
                feats = hooked
                where = ("classification/transnext.py norm{i+1} outputs by forward hooks (the detection class cannot run "
                         "an aggregated last stage)")
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="DaiShiResearch/TransNeXt: features = " + where + " (stage tokens after norm{i+1}, "
                                         "NCHW); embedding = classification/transnext.py forward_features (mean of the last normed tokens)")
        if size:
            rkw = dict(kw, img_size=size, pretrain_size=kw.get("pretrain_size") or kw["img_size"])
            resized = transnext.TransNeXt(norm_layer=norm, **rkw)
            resized.load_state_dict(model.state_dict())
            pc.write_resized(d, resized, size)


if __name__ == "__main__":
    main()
