#!/usr/bin/env python3
"""Backbone outputs of the AFFNet parity fixtures against the authors' code (microsoft/TokenMixers,
"Adaptive Frequency Filters/", the tree tools/parity/affnet.py uses).

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/affnet_backbone.py \
            --src "/path/to/TokenMixers/Adaptive Frequency Filters" [--out DIR]

Feature maps: the encoder's own backbone interface, base_cls.BaseEncoder.extract_end_points_all,
which the authors' detection (detection/mask_rcnn.py: out_l2..out_l5, ssd.py: out_l3..out_l5) and
segmentation (segmentation/enc_dec.py) models call: out_l1 .. out_l5, the outputs of layer_1 ..
layer_5 at strides 2, 4, 8, 16, 32 (features_0 .. features_4). Embedding: the classifier's
global_pool (mean) of _extract_features (conv_1x1_exp's output), the vector classifier.fc reads.

The model is built as tools/parity/affnet.py builds it (its load/options/build, with the fixture's
own options and layer table from config.json). For each fixture: loads its weights, asserts the
model reproduces expected.npy, then adds features_<i>.npy, embedding.npy and backbone.json; for
affnet_reduced also input_s72.npy / expected_s72.npy (the same weights at 72x72: nothing in the
model depends on the input size; the filter transforms whatever map it gets). Existing fixture
files are not touched.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402


def _fixture_script():
    """tools/parity/affnet.py (how the fixtures' models are built), under another module name: its
    load() registers the authors' package as `affnet`."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("affnet_fixture_script", os.path.join(HERE, "affnet.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


fixtures = _fixture_script()

FIXTURES = {"affnet_reduced": 72, "affnet_reduced_odd": None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help='path of "Adaptive Frequency Filters" in a microsoft/TokenMixers checkout')
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    a = fixtures.load(args.src)

    for fixture, resized in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        meta = json.load(open(os.path.join(d, "config.json")))
        opts = argparse.Namespace(**meta["options"])
        model = pc.load_fixture_weights(fixtures.build(a, opts, meta["table"]), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            logits = model(x).numpy()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() <= 1e-9 * max(1.0, np.abs(want).max()), "fixture weights do not reproduce its logits"
            ends = model.extract_end_points_all(x)
            feats = {i: ends["out_l%d" % (i + 1)] for i in range(5)}
            embedding = model.classifier.global_pool(model._extract_features(x))
            assert torch.allclose(model.classifier.fc(embedding), torch.from_numpy(logits), rtol=0, atol=1e-12)
        pc.write_backbone_outputs(d, feats, embedding,
                                  source="affnet.py AffNet (base_cls.BaseEncoder): extract_end_points_all out_l1..out_l5; "
                                         "classifier.global_pool(_extract_features(x))")
        if resized:
            pc.write_resized(d, model, resized)


if __name__ == "__main__":
    main()
