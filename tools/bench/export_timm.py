#!/usr/bin/env python3
"""torch.onnx.export (opset 17) of timm models, each twice: a dynamic batch axis and a static batch
of 1 (where PyTorch folds weight-only subgraphs), for the comparisons in docs/benchmarks.md.

Usage: /usr/bin/python3 tools/bench/export_timm.py --timm PATH/pytorch-image-models --out DIR NAME[:SIZE]...
(e.g. convit_tiny davit_tiny shvit_s1 crossvit_tiny_240:240); writes DIR/NAME_export_{static,dyn}.onnx.
"""
import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="a pytorch-image-models checkout")
    ap.add_argument("--out", required=True)
    ap.add_argument("models", nargs="+", metavar="NAME[:SIZE]")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import torch
    import timm

    os.makedirs(args.out, exist_ok=True)
    for spec in args.models:
        name, _, size = spec.partition(":")
        size = int(size or 224)
        model = timm.create_model(name, pretrained=False).eval()
        for kind in ("static", "dyn"):
            path = os.path.join(args.out, f"{name}_export_{kind}.onnx")
            axes = {"pixel_values": {0: "batch"}, "logits": {0: "batch"}} if kind == "dyn" else None
            try:
                with torch.no_grad():
                    torch.onnx.export(model, torch.randn(1, 3, size, size), path, opset_version=17,
                                      input_names=["pixel_values"], output_names=["logits"], dynamic_axes=axes)
                print("exported", path, flush=True)
            except Exception as e:  # report and go on with the next model
                print("FAILED", name, kind, type(e).__name__, str(e).splitlines()[0][:200], flush=True)


if __name__ == "__main__":
    main()
