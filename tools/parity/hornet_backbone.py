#!/usr/bin/env python3
"""Backbone outputs of the HorNet parity fixtures, from the authors' own detection backbone
(raoyongming/HorNet @ ac9e210, object_detection/models/hornet.py: each stage's output through its
channels-first LayerNorm norm<i>) and the classifier's pooled pre-logits vector (hornet.py
HorNet.forward_features: global average pool, then `norm`), in float64.

Usage:  /usr/bin/python3 tools/parity/hornet_backbone.py --src /path/to/HorNet --timm /path/to/pytorch-image-models [--out DIR]

For each fixture: loads its weights.safetensors into the authors' classifier, checks that it
reproduces expected.npy, copies the shared weights into the detection backbone (whose norm<i>
keep PyTorch's initialisation, weight 1 and bias 0, as before detection training) and writes
features_<i>.npy, embedding.npy and backbone.json. hornet_reduced also gets input_s80/expected_s80
(the classifier at 80x80: maps 20/10/5/2, the global filters resized to other spectra).
Existing fixture files are not touched. As tools/parity/hornet.py, the float32 cast of the FFT
branch is kept in float64.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import types
from functools import partial

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"hornet_reduced": 80, "hornet_reduced_odd": None}   # fixture -> other size for atSize (or None)


def f64_torch():
    return pc.torch_with_float32_as_float64()


def import_detection_hornet(src):
    """object_detection/models/hornet.py with its mmdet/mmcv imports stubbed (registry: identity)."""
    pc.stub_modules({"mmcv_custom": {"load_checkpoint": None}, "mmdet": {}, "mmdet.utils": {"get_root_logger": None},
             "mmdet.models": {}, "mmdet.models.builder": {"BACKBONES": pc.StubRegistry()}})
    spec = importlib.util.spec_from_file_location("hornet_det", os.path.join(src, "object_detection/models/hornet.py"))
    mod = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(mod)
    mod.torch = f64_torch()
    return mod


def gnconvs(mod, spec):
    return [partial(mod.gnconv, order=o, s=1.0 / 3.0, h=h, w=w, gflayer=mod.GlobalLocalFilter) if gf
            else partial(mod.gnconv, order=o, s=1.0 / 3.0) for (o, gf, h, w) in spec["stages"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a raoyongming/HorNet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout (hornet.py imports timm)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, args.src)
    with contextlib.redirect_stdout(io.StringIO()):
        import hornet
    hornet.torch = f64_torch()
    det = import_detection_hornet(args.src)

    for fixture, other in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        spec = json.load(open(os.path.join(d, "config.json")))["spec"]
        with contextlib.redirect_stdout(io.StringIO()):
            cls = hornet.HorNet(depths=spec["depths"], base_dim=spec["base"], gnconv=gnconvs(hornet, spec), num_classes=spec["classes"])
            bb = det.HorNet(depths=spec["depths"], base_dim=spec["base"], gnconv=gnconvs(det, spec), out_indices=[0, 1, 2, 3])
        pc.load_fixture_weights(cls, d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        shared = {k: v for k, v in cls.state_dict().items() if not k.startswith(("norm.", "head."))}
        missing, unexpected = bb.double().load_state_dict(shared, strict=False)
        assert not unexpected and sorted(missing) == sorted("norm%d.%s" % (i, p) for i in range(4) for p in ("weight", "bias")), (missing, unexpected)
        bb.eval()
        with torch.no_grad():
            assert np.abs(cls(x).numpy() - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
            embedding = cls.forward_features(x)
            feats = bb(x)
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="raoyongming/HorNet@ac9e210 object_detection/models/hornet.py HorNet(out_indices=[0,1,2,3]) "
                                         "(norm0..3 at init: weight 1, bias 0); embedding: hornet.py HorNet.forward_features")
        if other:
            pc.write_resized(d, cls, other)


if __name__ == "__main__":
    main()
