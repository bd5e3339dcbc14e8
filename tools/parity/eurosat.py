#!/usr/bin/env python3
"""Parity fixtures for the EuroSAT balanced multi-task attention CNN against the authors' code
(virAditya/satellite-image-classification-eurosat, models/balanced_12layer.py Balanced12LayerCNN).

Usage:  /usr/bin/python3 tools/parity/eurosat.py --src /path/to/satellite-image-classification-eurosat
            [--out DIR] [--counts]

Balanced12LayerCNN takes only num_classes (widths 64..512 fixed, 11.2M parameters, too large for a
fixture), so the reduced model is the authors' Balanced12LayerCNN whose stem, stages and fc are
replaced by smaller instances of the authors' own modules (nn.Conv2d/BatchNorm2d stem,
BalancedResidualBlock stages): the authors' forward runs on them unchanged. Per fixture:
config.json, weights.safetensors (fp16, every tensor random incl. BatchNorm statistics and the
attention mixing weights `alpha`), input.npy, expected.npy (float64, eval mode), and (eurosat_reduced_odd) checkpoint.pth:
the state dict as torch.save(model.state_dict()) writes it (no training script in the repository;
its README trains with a user-written loop), 0-dim `alpha` tensors included.

The published constructor cannot run: _initialize_weights calls nn.init.constant_(m.bias, 0) on every
nn.Linear, and SEBlock's two Linears have bias=False (m.bias is None -> AttributeError). Only the
initial values are affected, which the fixtures overwrite anyway, so construction here skips
constant_ on a None tensor (SkipNoneInit); the architecture and forward are the authors'.
--counts writes eurosat_param_counts.json for Balanced12LayerCNN(num_classes=10).
--export FILE.onnx exports Balanced12LayerCNN (made-up weights) with torch.onnx.export for benchmarks.
"""
import argparse
import json
import os
import sys
import zlib

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

REDUCED = {
    # stem 16; stages 16 (x1), 32 (x2, stride 2), 48 (x1, stride 2), 64 (x1, stride 2); 40x40 input -> 5x5
    "eurosat_reduced": dict(batch=2, img=40, stem=16, widths=[16, 32, 48, 64], blocks=[1, 2, 1, 1], classes=10),
    # odd maps: 27 -> 14 -> 7 -> 4, a shortcut conv in stage 1 (stem 16 -> 32)
    "eurosat_reduced_odd": dict(batch=1, img=27, stem=16, widths=[32, 32, 48, 64], blocks=[1, 1, 1, 1], classes=7),
}


class SkipNoneInit:
    """While active, nn.init.constant_(None, v) is a no-op (see the module comment)."""

    def __enter__(self):
        self.orig = nn.init.constant_
        nn.init.constant_ = lambda t, v: t if t is None else self.orig(t, v)

    def __exit__(self, *exc):
        nn.init.constant_ = self.orig


def build_reduced(bal, spec):
    with SkipNoneInit():
        model = bal.Balanced12LayerCNN(num_classes=spec["classes"])
    s = spec["stem"]
    model.stem = nn.Sequential(nn.Conv2d(3, s, 3, padding=1, bias=False), nn.BatchNorm2d(s), nn.ReLU(inplace=True))
    cin = s
    for i, (w, n) in enumerate(zip(spec["widths"], spec["blocks"])):
        blocks = []
        for j in range(n):
            blocks.append(bal.BalancedResidualBlock(cin, w, stride=(1 if i == 0 or j > 0 else 2), drop_prob=0.1))
            cin = w
        setattr(model, "stage%d" % (i + 1), nn.Sequential(*blocks))
    model.fc = nn.Linear(cin, spec["classes"])
    return model


def backbone(bal, out):
    """Backbone outputs of the existing fixtures, on their own weights and input: each stage module's
    output (the authors' code has no detection backbone) and the input of fc, in float64."""
    import numpy as np
    for name, spec in REDUCED.items():
        d = os.path.join(out, name)
        model = pc.load_fixture_weights(build_reduced(bal, spec), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        got = {}
        hooks = [getattr(model, "stage%d" % (i + 1)).register_forward_hook(lambda m, a, o, i=i: got.__setitem__(i, o))
                 for i in range(len(spec["widths"]))]
        hooks.append(model.fc.register_forward_pre_hook(lambda m, a: got.__setitem__("emb", a[0])))
        with torch.no_grad():
            y = model(x).numpy()
        for h in hooks:
            h.remove()
        assert np.abs(y - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
        emb = got.pop("emb")
        pc.write_backbone_outputs(d, got, emb, source="models/balanced_12layer.py: outputs of stage1..4, input of fc (forward hooks)")
        if name == "eurosat_reduced":
            pc.write_resized(d, model, 32)


def java_config(spec):
    return {"imgSize": spec["img"], "numClasses": spec["classes"], "stemWidth": spec["stem"], "widths": spec["widths"],
            "blocks": spec["blocks"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a virAditya/satellite-image-classification-eurosat checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--export", metavar="FILE.onnx", help="torch.onnx.export (opset 17) of the registered full-size model, made-up weights, batch dynamic (for docs/benchmarks.md)")
    ap.add_argument("--backbone", action="store_true",
                    help="instead of writing fixtures: add the stage outputs, the vector fc reads and a resized run to the existing ones")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.src, "models"))
    import balanced_12layer as bal
    if args.backbone:
        return backbone(bal, args.out)

    for name, spec in REDUCED.items():
        model = build_reduced(bal, spec)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        pc.write_fixture(args.out, name, model, x, {"family": "eurosat", "upstream": "models/balanced_12layer.py Balanced12LayerCNN (reduced modules)",
                                                    "reduced": spec, "config": java_config(spec)})
        if name == "eurosat_reduced_odd":
            model.float()
            torch.save(model.state_dict(), os.path.join(args.out, name, "checkpoint.pth"))

    if args.counts:
        try:
            bal.Balanced12LayerCNN(num_classes=10)
            raise SystemExit("the published constructor runs now: drop SkipNoneInit and recheck")
        except AttributeError as e:
            print("published constructor:", repr(e))
        with SkipNoneInit():
            counts = {"eurosat_balanced_12layer": pc.param_count(bal.Balanced12LayerCNN(num_classes=10))}
        with open(os.path.join(args.out, "eurosat_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


    if args.export:
        with SkipNoneInit():
            m = bal.Balanced12LayerCNN(num_classes=10).eval()
        # static batch 1: with a dynamic batch the export refuses CoordinateAttention's AdaptiveAvgPool2d((None, 1))
        # ("output_size is not constant")
        torch.onnx.export(m, torch.randn(1, 3, 64, 64), args.export, opset_version=17, input_names=["pixel_values"],
                          output_names=["logits"])
        print("exported", args.export)


if __name__ == "__main__":
    main()
