#!/usr/bin/env python3
"""Parity fixtures for Sparsifiner against the authors' code (lim142857/Sparsifiner, src/models/sparsifiner.py).

Usage:  /usr/bin/python3 tools/parity/sparsifiner.py --src /path/to/Sparsifiner --timm /path/to/pytorch-image-models
            [--out DIR] [--counts] [--checkpoint]

The model reads a yacs config (SPAR.*, LOSS.*); yacs is not installed, so the fields the model reads
are given as nested namespaces: the registered `sparsifiner` takes them from the repository's
experiments-results-analysis/experiments/sparsifiner_default_config.yaml (the README's training run),
the reduced fixtures vary them. Constructor arguments as src/main.py builds `sparsifiner`
(DeiT-S: 384 wide, 12 blocks, 6 heads, qkv bias; keep-rate lists from the config; no token pruning).
Per reduced fixture: config.json, weights.safetensors (fp16, every tensor random incl. the mask
predictor's token projections), input.npy, expected.npy (float64 logits, eval mode: top-k basis
coefficients, top-k attention connectivity). Each fixture is checked to have no tie at either
top-k boundary (see README: ties).
--counts writes sparsifiner_param_counts.json; --checkpoint writes sparsifiner_reduced_shared/checkpoint.pth
as utils.save_model saves one (model, optimizer, epoch, scaler, args, best, best_ema, model_ema).
--export FILE.onnx (with --counts) exports the registered `sparsifiner` (made-up weights) with torch.onnx.export.
"""
import argparse
import json
import math
import os
import sys
import zlib
from types import SimpleNamespace as NS

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402


def spar_cfg(basis_threshold, topk, keep_rate):
    spar = NS(BASIS_THRESHOLD=basis_threshold, BASIS_COEF=NS(USE_TOPK=True, TOPK=topk, THRESHOLD=5e-2),
              ATTN_SCORE=NS(USE_TOPK=True, THRESHOLD=1e-4), PRUNE_ATTN_MATRIX_ROW=False,
              OUT_BASIS_SPARSITY=True, OUT_BASIS_COEF_SPARSITY=True, OUT_ATTN_MASK_SPARSITY=True, ATTN_KEEP_RATE=keep_rate)
    return NS(SPAR=spar, LOSS=NS(USE_ATTN_RECON=False))


REDUCED = {
    # 17 tokens, 3 heads; reduced_n 8 (factor 2), top-4 basis coefficients, per-block keep rates 0.25 / 0.5
    "sparsifiner_reduced": dict(batch=2, cfg=(0.02, 4), kw=dict(
        img_size=64, patch_size=16, num_classes=11, embed_dim=48, depth=2, num_heads=3, mlp_ratio=4, qkv_bias=True,
        attn_keep_rate_list=[0.25, 0.5], reduce_n_factor=2, reduce_c_factor=2, share_inout_proj=False)),
    # shared in/out token projection, no qkv bias, a high basis threshold (many basis entries cut to 0)
    "sparsifiner_reduced_shared": dict(batch=1, cfg=(0.3, 3), kw=dict(
        img_size=32, patch_size=8, num_classes=7, embed_dim=32, depth=2, num_heads=2, mlp_ratio=3, qkv_bias=False,
        attn_keep_rate_list=[0.4, 0.4], reduce_n_factor=3, reduce_c_factor=4, share_inout_proj=True)),
}


def java_config(kw, basis_threshold, topk):
    return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
            "embedDim": kw["embed_dim"], "depth": kw["depth"], "numHeads": kw["num_heads"],
            "mlpRatio": float(kw["mlp_ratio"]), "qkvBias": kw["qkv_bias"], "attnKeepRates": kw["attn_keep_rate_list"],
            "reduceNFactor": kw["reduce_n_factor"], "reduceCFactor": kw["reduce_c_factor"],
            "shareInoutProj": kw["share_inout_proj"], "basisThreshold": basis_threshold, "basisCoefTopk": topk}


def build(sp, kw, cfg):
    kw = dict(kw)
    depth = kw["depth"]
    return sp.Sparsifiner(token_keep_rate_list=[1.0] * depth, token_pruning_loc_indicator=[False] * depth, distill=True,
                          cfg=cfg, **kw)


def check_no_ties(model, x):
    """Recomputes each block's two top-k selections and fails if a boundary value is tied."""
    ties = []

    def hook(mod, inputs, out):
        q, k = inputs[0], inputs[1]
        qq, kk = mod.proj_c_q(q), mod.proj_c_k(k).permute(0, 1, 3, 2) @ mod.proj_n
        coef = ((qq @ kk) * mod.scale)[..., 1:, :].softmax(-1)
        t = mod.cfg.SPAR.BASIS_COEF.TOPK
        s = coef.sort(-1, descending=True)[0]
        if t < s.shape[-1] and (s[..., t - 1] == s[..., t]).any():
            ties.append("basis_coef")
        a = out["approx_attn"].sort(-1, descending=True)[0]
        b = mod.attn_budget
        if b < a.shape[-1] and (a[..., b - 1] == a[..., b]).any():
            ties.append("attn_score")

    hs = [blk.attn.mask_predictor.register_forward_hook(hook) for blk in model.blocks]
    with torch.no_grad():
        model.double()(x.double())
    for h in hs:
        h.remove()
    assert not ties, "tied top-k boundary in " + str(ties)


def backbone(sp, out):
    """The embedding of each existing fixture, on its own weights and input: the input of the
    classifier head (the normed class token), float64. Isotropic: no feature maps."""
    import numpy as np
    for name, spec in REDUCED.items():
        d = os.path.join(out, name)
        model = pc.load_fixture_weights(build(sp, spec["kw"], spar_cfg(*spec["cfg"], keep_rate=None)), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        got = {}
        h = model.head.register_forward_pre_hook(lambda m, a: got.__setitem__("emb", a[0]))
        with torch.no_grad():
            y = model(x)["x"].numpy()
        h.remove()
        assert np.abs(y - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
        pc.write_backbone_outputs(d, None, got["emb"], source="src/models/sparsifiner.py Sparsifiner: input of head (forward pre-hook)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a lim142857/Sparsifiner checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--checkpoint", action="store_true")
    ap.add_argument("--export", metavar="FILE.onnx", help="torch.onnx.export (opset 17) of the registered full-size model, made-up weights, batch dynamic (for docs/benchmarks.md)")
    ap.add_argument("--backbone", action="store_true",
                    help="instead of writing fixtures: add the vector the head reads (the embedding) to the existing ones")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    sys.path.insert(0, os.path.join(args.src, "src", "models"))
    import sparsifiner as sp
    if args.backbone:
        return backbone(sp, args.out)

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        cfg = spar_cfg(*spec["cfg"], keep_rate=None)
        model = build(sp, kw, cfg)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, kw["img_size"], kw["img_size"]), seed=7)
        check_no_ties(model, x)
        model.float()

        class Logits(torch.nn.Module):  # the model returns a dict; its 'x' is the logits
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, t):
                return self.m(t)["x"]

        y = pc.reference_logits(Logits(model), x)
        meta = {"family": "sparsifiner", "upstream": "src/models/sparsifiner.py Sparsifiner", "kwargs": kw,
                "spar": {"BASIS_THRESHOLD": spec["cfg"][0], "BASIS_COEF.TOPK": spec["cfg"][1]},
                "config": java_config(kw, *spec["cfg"])}
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), sd, dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(dict(meta, parameters=pc.param_count(model)), f, indent=2)
        print(name, "params", pc.param_count(model), "logits", y.shape)
        if args.checkpoint and name == "sparsifiner_reduced_shared":
            model.float()
            ema = {k: v.clone() for k, v in model.state_dict().items()}
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": "best", "scaler": {"scale": 65536.0},
                        "args": argparse.Namespace(model="sparsifiner", input_size=kw["img_size"], model_key="model|module"),
                        "best": 79.3, "best_ema": 79.1, "model_ema": ema},
                       os.path.join(d, "checkpoint.pth"))

    if args.counts:
        import yaml
        with open(os.path.join(args.src, "experiments-results-analysis", "experiments", "sparsifiner_default_config.yaml")) as f:
            y = yaml.safe_load(f)["SPAR"]
        assert y["TOKEN_PRUNING_LOC"] == [] and y["SHARE_INOUT_PROJ"] is False
        y["BASIS_THRESHOLD"] = float(y["BASIS_THRESHOLD"])  # "2e-2" is a string to YAML 1.1; yacs literal_evals it
        cfg = spar_cfg(y["BASIS_THRESHOLD"], y["BASIS_COEF"]["TOPK"], y["ATTN_KEEP_RATE"])
        kw = dict(img_size=224, patch_size=16, num_classes=1000, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4,
                  qkv_bias=True, attn_keep_rate_list=[y["ATTN_KEEP_RATE"]] * 12, reduce_n_factor=y["REDUCE_N_FACTOR"],
                  reduce_c_factor=y["REDUCE_C_FACTOR"], share_inout_proj=y["SHARE_INOUT_PROJ"])
        m = build(sp, kw, cfg)
        counts = {"sparsifiner": pc.param_count(m)}
        print("sparsifiner default: budget", m.blocks[0].attn.mask_predictor.attn_budget,
              "reduced_n", m.blocks[0].attn.mask_predictor.reduced_n, "config", java_config(kw, y["BASIS_THRESHOLD"], y["BASIS_COEF"]["TOPK"]))
        with open(os.path.join(args.out, "sparsifiner_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


    if args.export:
        class Logits(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, t):
                return self.m(t)["x"]

        m.eval()
        torch.onnx.export(Logits(m), torch.randn(1, 3, 224, 224), args.export, opset_version=17, input_names=["pixel_values"],
                          output_names=["logits"], dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
        print("exported", args.export)


if __name__ == "__main__":
    main()
