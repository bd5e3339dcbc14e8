#!/usr/bin/env python3
"""Backbone outputs of the NAT-family parity fixtures, from the authors' own backbone classes
(SHI-Labs/Neighborhood-Attention-Transformer, the commit tools/parity/nat.py uses).

Usage:  /usr/bin/python3 tools/parity/nat_backbone.py --nat-repo /path/to/Neighborhood-Attention-Transformer [--out DIR]

Per fixture (already written by tools/parity/nat.py; its weights, input, logits and config are not
touched): the classification model is built from config.json's kwargs, loaded with the fixture's
weights and checked to reproduce expected.npy; its forward_features (final norm, mean over tokens)
is the embedding. The feature maps come from the detection backbone class of the same model
(detection/nat.py NAT, detection/dinat.py DiNAT, detection/dinats.py DiNAT_s) holding the same
weights (strict=False: its per-output norm{i} keep PyTorch's initial weight 1 / bias 0, as they are
when the authors start detection training from an ImageNet checkpoint; the classifier's norm and
head are unused). Isotropic models have no detection backbone: embedding only. For the
hierarchical ones, input_s<S>.npy / expected_s<S>.npy hold the classifier at one other size S.
The mmcv / mmdet names the detection files import are stubbed here (registration and checkpoint
loading only); `natten` and `timm` come from tools/parity/nat_shim/ as for nat.py.
"""
import argparse
import importlib
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "nat_shim"))
import parity_common as pc  # noqa: E402

# fixture -> (classification module.class, detection module.class or None, other size or None)
FIXTURES = {
    "nat_reduced": ("nat.NAT", "nat.NAT", 40),
    "dinat_reduced": ("dinat.DiNAT", "dinat.DiNAT", 56),
    "dinat_reduced_k5": ("dinat.DiNAT", "dinat.DiNAT", 72),
    "dinat_s_reduced": ("dinats.DiNAT_s", "dinats.DiNAT_s", 58),
    "dinat_isotropic_reduced": ("isotropic.NATIsotropic", None, 128),
    "vitrpb_reduced": ("isotropic.NATIsotropic", None, None),
}


def stub_openmmlab():
    """Just enough of mmcv / mmdet for the detection model files to import."""
    pc.stub_modules({"mmcv": None, "mmcv.runner": {"load_checkpoint": lambda *a, **k: None}, "mmdet": None,
                     "mmdet.utils": {"get_root_logger": lambda *a, **k: None}, "mmdet.models": None,
                     "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()}}, replace=True)


def import_from(folder, names):
    """Imports the model files of one folder (classification/ and detection/ share module names)."""
    for n in ("nat", "dinat", "dinats", "isotropic"):
        sys.modules.pop(n, None)
    sys.path.insert(0, folder)
    try:
        return {n: importlib.import_module(n) for n in names}
    finally:
        sys.path.remove(folder)


def cls_of(mods, spec):
    m, c = spec.split(".")
    return getattr(mods[m], c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nat-repo", required=True, help="path of a Neighborhood-Attention-Transformer checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    stub_openmmlab()
    clsmods = import_from(os.path.join(args.nat_repo, "classification"), ["nat", "dinat", "dinats", "isotropic"])
    detmods = import_from(os.path.join(args.nat_repo, "detection"), ["nat", "dinat", "dinats"])

    for fixture, (cspec, dspec, size) in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        meta = json.load(open(os.path.join(d, "config.json")))
        kw = dict(meta["kwargs"])
        if "layer" in kw:
            kw["layer"] = getattr(clsmods["isotropic"], kw["layer"])
        model = pc.load_fixture_weights(cls_of(clsmods, cspec)(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(model(x).numpy() - want).max() < 1e-9, fixture + ": fixture weights do not reproduce its logits"
            embedding = model.forward_features(x)
        feats = None
        source = "classification/%s forward_features" % cspec.replace(".", ".py ")
        if dspec is not None:
            dkw = {k: v for k, v in kw.items() if k != "num_classes"}
            dkw["out_indices"] = tuple(range(len(kw["depths"])))     # every level (the default names four)
            det = cls_of(detmods, dspec)(**dkw)
            missing, unexpected = det.load_state_dict(pc.read_safetensors(os.path.join(d, "weights.safetensors")), strict=False)
            assert all(k.split(".")[0] in ("norm0", "norm1", "norm2", "norm3") for k in missing), missing
            assert all(k.split(".")[0] in ("norm", "head") for k in unexpected), unexpected
            det.double()
            det.eval()                                  # the authors' train() override returns None
            with torch.no_grad():
                feats = dict(enumerate(det(x)))
            source += "; features: detection/%s (out_indices all levels, norm{i} as initialised)" % dspec.replace(".", ".py ")
        pc.write_backbone_outputs(d, feats, embedding, source=source)
        if size is not None:
            if "img_size" in kw:   # the isotropic class sizes its token map from img_size: build it for the other size
                model = pc.load_fixture_weights(cls_of(clsmods, cspec)(**dict(kw, img_size=size)), d)
            pc.write_resized(d, model, size)


if __name__ == "__main__":
    main()
