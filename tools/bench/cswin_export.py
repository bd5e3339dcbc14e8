#!/usr/bin/env python3
"""CSWin-T for the speed comparison: the authors' CSWin_64_12211_tiny_224 with the deterministic
weights of tools/parity/cswin.py (det_values), written as an authors'-layout checkpoint
({'state_dict_ema': ...}, for `attnzoo convert`) and as torch.onnx.export (opset 17) of the same module, with a dynamic and with a static batch.

Usage: OMP_NUM_THREADS=1 /usr/bin/python3 tools/bench/cswin_export.py --src /path/to/CSWin-Transformer --out DIR
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "../parity/common_shims"))
    sys.path.insert(0, os.path.join(HERE, "../parity/cswin_shim"))
    sys.path.insert(0, os.path.join(HERE, "../parity"))
    sys.path.insert(0, args.src)
    import cswin as fixtures  # tools/parity/cswin.py
    import models.cswin as up

    model = up.CSWin_64_12211_tiny_224().eval()
    with torch.no_grad():
        for k, t in model.state_dict().items():
            t.copy_(torch.from_numpy(fixtures.det_values(k, list(t.shape))))
    os.makedirs(args.out, exist_ok=True)
    torch.save({"state_dict_ema": model.state_dict()}, os.path.join(args.out, "cswin_tiny_det.pth"))
    x = torch.from_numpy(fixtures.det_values("input", [1, 3, 224, 224])).float()
    with torch.no_grad():
        torch.onnx.export(model, x, os.path.join(args.out, "cswin_tiny_torch.onnx"), opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"], dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
        # a static batch of 1: PyTorch folds weight-only subgraphs, the strongest export a user can make
        torch.onnx.export(model, x, os.path.join(args.out, "cswin_tiny_torch_static.onnx"), opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"])
    print("wrote", args.out)


if __name__ == "__main__":
    main()
