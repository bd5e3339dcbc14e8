#!/usr/bin/env python3
"""Parity fixtures for LSNet against the authors' code (jameslahm/lsnet).

Usage:  /usr/bin/python3 tools/parity/lsnet.py --src /path/to/lsnet --timm /path/to/pytorch-image-models
            [--out DIR] [--counts]

The authors' model/lsnet.py is imported from --src. Two things it needs are replaced here:
  * model/ska.py is a Triton kernel (GPU only). Its forward computes, for every output element,
        out[n, c, h, w] = sum_{i,j < ks} x[n, c, h + i - pad, w + j - pad] * w[n, c % wc, i * ks + j, h, w]
    with zero padding (pad = (ks - 1) // 2, wc = w.shape[1]); this script registers a pure-PyTorch
    module `model.ska` computing that sum with F.unfold, and checks it, before anything else, against
    a literal loop over the kernel's own index arithmetic (x_off / w_off) on random tensors.
  * today's timm rejects the authors' registration metadata (`hf_hub` in default_cfgs) and their
    `default_cfg` keyword to build_model_with_cfg (they pinned timm 0.5.4): register_model is made a
    no-op while model/lsnet.py is imported, and build_model_with_cfg a plain constructor call (no
    pretrained weights are loaded anyway).
Per reduced fixture: config.json, weights.safetensors (fp16, every tensor random incl. BatchNorm
statistics, GroupNorm affines, attention biases), input.npy, expected.npy (float64 reference).
--counts writes lsnet_param_counts.json for every registered variant.
"""
import argparse
import itertools
import json
import os
import sys
import types
import zlib

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402


def ska(x, w):
    """The SKA kernel's forward in PyTorch (any dtype)."""
    n, ic, h, wd = x.shape
    wc, kk = w.shape[1], w.shape[2]
    ks = int(round(kk ** 0.5))
    pad = (ks - 1) // 2
    cols = F.unfold(x, ks, padding=pad).view(n, ic, kk, h, wd)          # x shifted by every tap
    weight = w[:, torch.arange(ic) % wc]                                  # channel c uses weight channel c % wc
    return (cols * weight).sum(2)


def ska_literal(x, w):
    """The Triton forward transcribed loop by loop (flat offsets as in ska_fwd), for checking ska()."""
    n, ic, h, wd = x.shape
    wc, ks = w.shape[1], int(round(w.shape[2] ** 0.5))
    pad = (ks - 1) // 2
    xf, wf = x.reshape(-1), w.reshape(-1)
    out = torch.zeros(n * ic * h * wd, dtype=x.dtype)
    for i in range(out.numel()):
        ni, ci, hi, wi = i // (ic * h * wd), (i // (h * wd)) % ic, (i // wd) % h, i % wd
        val = 0.0
        for kh in range(ks):
            hin = hi - pad + kh
            for kw in range(ks):
                win = wi - pad + kw
                if 0 <= hin < h and 0 <= win < wd:
                    x_off = ((ni * ic + ci) * h + hin) * wd + win
                    w_off = ((ni * wc + ci % wc) * ks * ks + (kh * ks + kw)) * h * wd + hi * wd + wi
                    val += float(xf[x_off]) * float(wf[w_off])
        out[i] = val
    return out.view(n, ic, h, wd)


class SKA(torch.nn.Module):
    def forward(self, x, w):
        return ska(x, w)


def install_shims(src):
    g = torch.Generator().manual_seed(0)
    for (n, ic, h, wd, wc, ks) in [(2, 8, 5, 6, 2, 3), (1, 6, 4, 4, 3, 5)]:
        x = torch.randn(n, ic, h, wd, generator=g, dtype=torch.float64)
        w = torch.randn(n, wc, ks * ks, h, wd, generator=g, dtype=torch.float64)
        err = (ska(x, w) - ska_literal(x, w)).abs().max().item()
        assert err < 1e-12, f"SKA shim differs from the kernel's arithmetic by {err}"
    sys.path.insert(0, src)
    mod = types.ModuleType("model.ska")
    mod.SKA = SKA
    import timm.models.registry as registry
    registry.register_model = lambda fn: fn
    import model  # the authors' package (its __init__ imports model.lsnet, which imports model.ska)
    sys.modules["model.ska"] = mod
    model.ska = mod
    import importlib
    ls = importlib.import_module("model.lsnet")
    ls.build_model_with_cfg = lambda cls, variant, pretrained, default_cfg=None, **kw: cls(**kw)
    return ls


REDUCED = {
    # every stage populated: RepVGGDW+SE blocks, LSConv blocks (stages 0-2), attention (stage 3) with
    # the distillation head averaged in
    "lsnet_reduced": dict(batch=2, kw=dict(img_size=64, patch_size=8, in_chans=3, num_classes=11,
                                          embed_dim=[16, 32, 48, 64], key_dim=[8, 8, 8, 8], depth=[2, 2, 2, 2],
                                          num_heads=[2, 2, 2, 2], distillation=True)),
    # an empty first stage (as lsnet_t), odd resolutions (56 -> 7 -> 4 -> 2 -> 1), no distillation head
    "lsnet_reduced_odd": dict(batch=1, kw=dict(img_size=56, patch_size=8, in_chans=3, num_classes=9,
                                              embed_dim=[16, 24, 40, 48], key_dim=[8, 8, 8, 8], depth=[0, 2, 3, 3],
                                              num_heads=[2, 2, 2, 3], distillation=False)),
}


def java_config(kw):
    return {"imgSize": kw["img_size"], "patchSize": kw["patch_size"], "inChans": kw["in_chans"],
            "numClasses": kw["num_classes"], "embedDim": kw["embed_dim"], "keyDim": kw["key_dim"],
            "depth": kw["depth"], "numHeads": kw["num_heads"], "distillation": kw["distillation"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a jameslahm/lsnet checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout (the authors' code imports timm)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    ls = install_shims(args.src)

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = ls.LSNet(**kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.write_fixture(args.out, name, model, x, {"family": "lsnet", "upstream": "model/lsnet.py LSNet", "kwargs": kw, "config": java_config(kw),
                       "distillation": kw["distillation"]})

    if args.counts:
        counts = {}
        for n in ["lsnet_t", "lsnet_s", "lsnet_b", "lsnet_t_distill", "lsnet_s_distill", "lsnet_b_distill"]:
            counts[n] = pc.param_count(getattr(ls, n)())
        with open(os.path.join(args.out, "lsnet_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


if __name__ == "__main__":
    main()
