#!/usr/bin/env python3
"""Parity fixtures for L2ViT against the authors' code (ChuanyangZheng/L2ViT, classification/models/l2vit.py).

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/l2vit.py --src /path/to/L2ViT [--out DIR] [--counts]
            [--full DIR] [--export FILE]

Imports the authors' l2vit.py from --src/classification/models with tools/parity/nat_shim standing
in for the few timm names it imports (trunc_normal_, DropPath, to_2tuple, register_model).
Reduced configs go through the authors' L2ViT constructor with the block type and conv stem every
registered model uses ('mix_local_enhanced_vit', 2-conv BN stem). Per fixture: config.json (our
L2ViT.Config fields, parameter count, how often the linear attention's denominator clamp was active),
weights.safetensors (fp16, every tensor random incl. temperatures and BN statistics), input.npy,
expected.npy (float64 logits). One fixture has odd maps everywhere (input, stem and patch-embedding
padding, window padding); one is a checkpoint in the layout the authors' training script writes
(utils.save_model: model, model_ema, optimizer, epoch, scaler, argparse args) with distinct model
and model_ema weights and an expected output for each.
--counts writes l2vit_param_counts.json for the registered models (and the 21841-class 22k model).
--full DIR writes a full-size L2ViT_Tiny fixture (random weights) to DIR (too big for the repo);
--export FILE exports the same full-size model with torch.onnx.export for benchmarks.
"""
import argparse
import contextlib
import io
import json
import os
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

REDUCED = {
    # 64 px: maps 16/8/4/2, window 4 (stage 4's 2x2 map padded to one 4x4 window)
    "l2vit_reduced": dict(batch=2, img=64, dims=[8, 16, 32, 64], heads=[2, 2, 4, 4], depths=[2, 2, 3, 2], window=4,
                          classes=11),
    # 50 px: the image padded to 52 for the stem, maps 13/7/4/2 (odd maps padded by each 2x2 embedding),
    # window 3 (13 -> 15, 7 -> 9, 4 -> 6, 2 -> 3 padded windows)
    "l2vit_reduced_odd": dict(batch=1, img=50, dims=[8, 16, 24, 32], heads=[1, 2, 3, 4], depths=[1, 2, 2, 2], window=3,
                              classes=7),
}
CHECKPOINT = dict(batch=1, img=32, dims=[8, 16, 16, 16], heads=[2, 2, 2, 2], depths=[2, 2, 2, 2], window=2, classes=5)

VARIANTS = ["L2ViT_Tiny", "L2ViT_Small", "L2ViT_Base", "L2ViT_Base_384"]


def java_config(spec):
    return {"imgSize": spec["img"], "numClasses": spec["classes"], "depths": spec["depths"], "dims": spec["dims"],
            "numHeads": spec["heads"], "windowSize": spec["window"]}


def build(l2vit, spec):
    return l2vit.L2ViT(depths=spec["depths"], dims=spec["dims"], num_heads=spec["heads"], window_size=spec["window"],
                       num_classes=spec["classes"], block_type="mix_local_enhanced_vit", conv_stem=True)


def clamp_stats(l2vit, model, x):
    """How many denominators q·Σk of the linear attention fall below the clamp (100) and how many above."""
    counts = [0, 0]

    def hook(mod, inp, out):
        t = inp[0]
        b, n, c = t.shape
        qkv = mod.qkv(t).reshape(b, n, 3, mod.num_heads, c // mod.num_heads).permute(2, 0, 3, 1, 4)
        q, k = torch.relu(qkv[0]), torch.relu(qkv[1])
        d = q @ k.transpose(-2, -1).sum(dim=-1, keepdim=True)
        counts[0] += int((d < 1e2).sum())
        counts[1] += int((d >= 1e2).sum())

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, l2vit.LinearAttention)]
    with torch.no_grad():
        model.double().eval()(x.double())
    for h in hs:
        h.remove()
    return {"clamped": counts[0], "unclamped": counts[1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a ChuanyangZheng/L2ViT checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--full", help="directory for the full-size L2ViT_Tiny fixture")
    ap.add_argument("--export", help="torch.onnx.export of the full-size L2ViT_Tiny (same weights as --full)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "nat_shim"))
    sys.path.insert(0, os.path.join(args.src, "classification", "models"))
    import l2vit

    for name, spec in REDUCED.items():
        model = build(l2vit, spec)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        stats = clamp_stats(l2vit, model, x)
        pc.write_fixture(args.out, name, model, x, {"family": "l2vit", "upstream": "l2vit.py L2ViT", "spec": spec,
                                                    "denominators": stats, "config": java_config(spec)})
        print(name, "denominators", stats)

    # the layout of the authors' utils.save_model (what --resume / --finetune read)
    name, spec = "l2vit_checkpoint", CHECKPOINT
    model, ema = build(l2vit, spec), build(l2vit, spec)
    pc.randomize_(model, seed=101)
    pc.randomize_(ema, seed=202)
    x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
    d = os.path.join(args.out, name)
    os.makedirs(d, exist_ok=True)
    y = pc.reference_logits(model, x)
    y_ema = pc.reference_logits(ema, x)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ckpt = {"model": {k: v.float() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(), "epoch": "best-ema", "scaler": {"scale": 65536.0, "_growth_tracker": 0},
            "args": argparse.Namespace(model="L2ViT_Tiny", input_size=spec["img"], model_ema=True, drop_path=0.1),
            "model_ema": {k: v.float() for k, v in ema.state_dict().items()}}
    torch.save(ckpt, os.path.join(d, "checkpoint-best-ema.pth"))
    pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
    pc.write_npy(os.path.join(d, "expected.npy"), y)
    pc.write_npy(os.path.join(d, "expected_ema.npy"), y_ema)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"family": "l2vit", "upstream": "l2vit.py L2ViT; utils.save_model layout", "spec": spec,
                   "config": java_config(spec), "parameters": pc.param_count(model)}, f, indent=2)
    print(name, "params", pc.param_count(model))

    if args.counts:
        counts = {n: pc.param_count(getattr(l2vit, n)()) for n in VARIANTS}
        counts["L2ViT_Base_in22k"] = pc.param_count(l2vit.L2ViT_Base(num_classes=21841))
        with open(os.path.join(args.out, "l2vit_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.full or args.export:
        model = l2vit.L2ViT_Tiny()
        pc.randomize_(model, seed=4321)
        if args.full:
            os.makedirs(args.full, exist_ok=True)
            sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
            pc.write_safetensors(os.path.join(args.full, "model.safetensors"), sd, dtype=torch.float16)
            x = pc.random_input((1, 3, 224, 224), seed=11)
            pc.write_npy(os.path.join(args.full, "input.npy"), x.float().numpy())
            y = pc.reference_logits(model, x)
            pc.write_npy(os.path.join(args.full, "expected.npy"), y)
            with open(os.path.join(args.full, "config.json"), "w") as f:
                json.dump({"family": "l2vit", "model": "L2ViT_Tiny", "parameters": pc.param_count(model),
                           "denominators": clamp_stats(l2vit, model, x)}, f, indent=2)
            print("L2ViT_Tiny full params", pc.param_count(model))
        if args.export:
            model = model.float().eval()
            with torch.no_grad():
                torch.onnx.export(model, torch.zeros(1, 3, 224, 224), args.export, opset_version=17,
                                  input_names=["pixel_values"], output_names=["logits"])
            print("exported", args.export)


if __name__ == "__main__":
    main()
