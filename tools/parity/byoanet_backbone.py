#!/usr/bin/env python3
"""Backbone outputs of the byoanet parity fixtures against timm (ByobNet, as tools/parity/byoanet.py
builds them): feature maps from timm's own features_only wrapper (FeatureListNet over the model's
feature_info, flatten_sequential as timm's byobnet/byoanet feature_cfg), the embedding from
forward_head(pre_logits=True), in float64, on the weights and input the fixtures already hold.

Usage:  /usr/bin/python3 tools/parity/byoanet_backbone.py --timm /path/to/pytorch-image-models [--out DIR]

ByobNet's feature_info: the stem's stride-2 map when the stem has one inside it (the conv before
its max pool, or before its strided last conv), then the map entering each stage that strides
(the stem's output or the previous stage's), then final_conv's output (the last stage's when
there is no final conv). For each fixture below: loads its weights, asserts the model reproduces
expected.npy, then adds features_<i>.npy, embedding.npy and backbone.json; for byoanet_regnet
also input_s96.npy / expected_s96.npy (the same weights at 96x96: halo blocks need every map they
see to be a multiple of their block size, 3 there). Existing fixture files are not touched.
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

# fixture -> (reduced cfg name in tools/parity/byoanet.py, image size the model is built for, resized size);
# byoanet_halo_128 (the same model at 128) is left out: its maps would add ~0.7 MB for no new layer
FIXTURES = {
    "byoanet_halo": ("byoanet_halo", 64, None),
    "byoanet_regnet": ("byoanet_regnet", 48, 96),
    "byoanet_lambda_bot": ("byoanet_lambda_bot", 64, None),
}


def _fixture_script():
    """tools/parity/byoanet.py, where the fixtures' ByoModelCfgs are written."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("byoanet_fixture_script", os.path.join(HERE, "byoanet.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models.byobnet import ByobNet
    from timm.models._features import FeatureListNet
    cfgs = _fixture_script().reduced_cfgs()

    for fixture, (cfg_name, size, resized) in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        spec = cfgs[cfg_name]
        model = pc.load_fixture_weights(ByobNet(spec["cfg"], num_classes=spec["classes"], img_size=size), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        with torch.no_grad():
            logits = model(x).numpy()
            want = np.load(os.path.join(d, "expected.npy"))
            assert np.abs(logits - want).max() <= 1e-9 * max(1.0, np.abs(want).max()), "fixture weights do not reproduce its logits"
            embedding = model.forward_head(model.forward_features(x), pre_logits=True)
            n = len(model.feature_info)
            feats = FeatureListNet(model, out_indices=tuple(range(n)), flatten_sequential=True)(x)
        info = [(f["module"], f["num_chs"], f["reduction"]) for f in model.feature_info]
        print(fixture, "feature_info", info)
        pc.write_backbone_outputs(d, dict(enumerate(feats)), embedding,
                                  source="timm byobnet.ByobNet: FeatureListNet(out_indices=0..%d, flatten_sequential) over %s; "
                                         "forward_head(pre_logits=True)" % (n - 1, [m for m, _, _ in info]))
        if resized:
            pc.write_resized(d, pc.load_fixture_weights(ByobNet(spec["cfg"], num_classes=spec["classes"], img_size=resized), d), resized)


if __name__ == "__main__":
    main()
