#!/usr/bin/env python3
"""Backbone outputs of the SpaRTAN parity fixtures against the authors' code (henry-pay/SpaRTAN,
src/model/spartan.py, the repository tools/parity/spartan.py uses).

Usage:  /usr/bin/python3 tools/parity/spartan_backbone.py --src /path/to/SpaRTAN \
            --timm /path/to/pytorch-image-models [--out DIR]

The authors' repository has no detection/segmentation backbone class, so the feature maps are the
stage outputs: for each layer that has blocks, the output of its last block (before the 2x2
stride-2 downsampling that follows it), taken with forward hooks on the authors' flat `layers`
Sequential. A layer without blocks has no output of its own and is not a stage. The embedding is
the pooled vector the final `linear` reads (adaptive_avg_pool2d(x, 1).flatten(1)).

As tools/parity/spartan.py, CMixer's float32 cast is kept in float64 (the model file sees a torch
whose float32 is float64). For each fixture: loads its weights, asserts the model reproduces
expected.npy, then adds features_<i>.npy, embedding.npy and backbone.json; for spartan_reduced also
input_s72.npy / expected_s72.npy (the same weights at 72x72; the model has no size argument).
Existing fixture files are not touched.
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

FIXTURES = {"spartan_reduced": 72, "spartan_reduced_odd": None}


def stage_ends(kw):
    """Index in `layers` of the last block of each layer that has blocks (the constructor's order:
    a layer's blocks, then a downsampling unless the layer is empty or last)."""
    ends, idx, n = [], 0, kw["num_layer"]
    for layer, depth in enumerate(kw["layer_depths"]):
        idx += depth
        if depth:
            ends.append(idx - 1)
        if depth != 0 and layer != n - 1:
            idx += 1
    return ends


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a henry-pay/SpaRTAN checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    try:
        import omegaconf  # noqa: F401
    except ImportError:
        sys.path.insert(0, os.path.join(HERE, "spartan_shim"))
    sys.path.insert(0, os.path.join(args.src, "src", "model"))
    import spartan
    spartan.torch = pc.torch_with_float32_as_float64()

    for fixture, resized in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        kw = json.load(open(os.path.join(d, "config.json")))["kwargs"]
        model = pc.load_fixture_weights(spartan.SpaRTAN(**kw), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        captured = {}
        hooks = [model.layers[j].register_forward_hook(lambda m, i, o, s=s: captured.__setitem__(s, o))
                 for s, j in enumerate(stage_ends(kw))]
        with torch.no_grad():
            logits = model(x).numpy()
            for h in hooks:
                h.remove()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() <= 1e-9 * max(1.0, np.abs(want).max()), "fixture weights do not reproduce its logits"
            embedding = torch.nn.functional.adaptive_avg_pool2d(model.layers(model.conv(x)), 1).flatten(start_dim=1)
            assert torch.allclose(model.linear(embedding), torch.from_numpy(logits), rtol=0, atol=1e-12)
        pc.write_backbone_outputs(d, captured, embedding,
                                  source="src/model/spartan.py SpaRTAN: layers[j] outputs, j = last block of each layer with blocks %s; "
                                         "adaptive_avg_pool2d(x, 1).flatten(1)" % stage_ends(kw))
        if resized:
            pc.write_resized(d, model, resized)


if __name__ == "__main__":
    main()
