#!/usr/bin/env python3
"""Tries torch.onnx.export (opset 17) of one model per authors'-code family, for the speed
comparison in docs/benchmarks.md. Imports each family's code the way tools/parity/<family>.py does.

Usage: /usr/bin/python3 tools/bench/export_families.py --upstream DIR --timm DIR --out DIR [--dynamic]
(--dynamic: a symbolic batch axis, for batch-throughput runs; default a static batch of 1)
(DIR/<Repo> checkouts: CAS-ViT, RALA, FFNet, BiFormer, InLine, Attentive-Convolution, HorNet, L2ViT, TokenMixers)
"""
import argparse
import contextlib
import io
import os
import sys
import traceback

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--timm", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dynamic", action="store_true", help="symbolic batch axis (file NAME_torch_dyn.onnx)")
    ap.add_argument("--only", nargs="*", help="these models only (FFNet's and AttNet's packages are both named"
                    " `models`: in one process the second import fails, so export AttNet_T1 on its own)")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(HERE, "../parity/common_shims"))
    sys.path.insert(0, os.path.join(HERE, "../parity"))
    import parity_common as pc
    up = args.upstream

    def casvit():
        sys.path.insert(0, os.path.join(up, "CAS-ViT/classification/model"))
        import rcvit
        return rcvit.rcvit_xs(), 224

    def ravlt():
        sys.path.insert(0, os.path.join(up, "RALA/classfication"))
        import RALA
        return RALA.RAVLT_T(), 224

    def ffnet():
        import timm.models._builder as b
        b._update_default_kwargs = lambda *a, **k: None
        sys.path.insert(0, os.path.join(up, "FFNet"))
        import models.ffnet as f
        return f.ffnet_1(), 256

    def hornet():
        sys.path.insert(0, os.path.join(up, "HorNet"))
        with contextlib.redirect_stdout(io.StringIO()):
            import hornet as h
            return h.hornet_tiny_7x7(), 224

    def attnet():
        sys.path.insert(0, os.path.join(up, "Attentive-Convolution"))
        import models.AttNet as a
        return a.AttNet_T1(), 224

    def l2vit():
        sys.path.insert(0, os.path.join(up, "L2ViT/classification/models"))
        import l2vit as l
        return l.L2ViT_Tiny(), 224

    def affnet():
        # tools/parity/affnet.py's loader (its module name would clash with the authors' package)
        import importlib.util
        spec = importlib.util.spec_from_file_location("affnet_parity", os.path.join(HERE, "../parity/affnet.py"))
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
        a = gen.load(os.path.join(up, "TokenMixers/Adaptive Frequency Filters"))
        return gen.build(a, gen.options("small", 1000)), 256   # export fails in torch 1.13: aten::fft_rfft2

    for name, make in [("rcvit_xs", casvit), ("RAVLT_T", ravlt), ("ffnet_1", ffnet), ("hornet_tiny_7x7", hornet),
                       ("AttNet_T1", attnet), ("L2ViT_Tiny", l2vit), ("affnet_small", affnet)]:
        if args.only and name not in args.only:
            continue
        try:
            model, size = make()
            model.eval()
            pc.randomize_(model, seed=1)
            path = os.path.join(args.out, name + ("_torch_dyn.onnx" if args.dynamic else "_torch.onnx"))
            axes = {"pixel_values": {0: "batch"}, "logits": {0: "batch"}} if args.dynamic else None
            with torch.no_grad():
                torch.onnx.export(model, torch.zeros(1, 3, size, size), path, opset_version=17,
                                  input_names=["pixel_values"], output_names=["logits"], dynamic_axes=axes)
            print(name, "exported", path)
        except Exception as e:
            print(name, "export failed:", type(e).__name__, str(e).splitlines()[0][:200])


if __name__ == "__main__":
    main()
