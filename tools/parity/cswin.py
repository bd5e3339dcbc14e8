#!/usr/bin/env python3
"""Parity fixtures for CSWin Transformer (microsoft/CSWin-Transformer, models/cswin.py) against the
authors' code.

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/cswin.py --src /path/to/CSWin-Transformer
            [--out DIR] [--counts] [--full]

timm (imported by models/cswin.py for a few names) is replaced by tools/parity/cswin_shim, einops by
common_shims. Per reduced fixture (built through the authors' CSWinTransformer constructor): config.json,
weights.safetensors (fp16; every tensor random), input.npy, expected.npy (float64 logits).
cswin_reduced_96 also gets checkpoint.pth: the same weights (float32) in the layout the authors'
training code saves and their eval loads ({'state_dict_ema': state dict}, timm's CheckpointSaver
key; the released .pth files are loaded by that key).

--counts writes cswin_param_counts.json (every registered constructor; the 22k model is the large
constructor with a 21841-class head).

--full writes cswin_tiny_full/: CSWin_64_12211_tiny_224 at full size with deterministic weights that
the Java test regenerates from each tensor's name (see det_values; every value is k·2^-e with
|k| <= 1024, exact in float32), so only the key/shape list, the expected logits and nothing else
are stored.
"""
import argparse
import json
import os
import sys
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

# registered name -> (constructor, img_size, num_classes)
VARIANTS = {
    "CSWin_64_12211_tiny_224": ("CSWin_64_12211_tiny_224", 224, 1000),
    "CSWin_64_24322_small_224": ("CSWin_64_24322_small_224", 224, 1000),
    "CSWin_96_24322_base_224": ("CSWin_96_24322_base_224", 224, 1000),
    "CSWin_144_24322_large_224": ("CSWin_144_24322_large_224", 224, 1000),
    "CSWin_96_24322_base_384": ("CSWin_96_24322_base_384", 384, 1000),
    "CSWin_144_24322_large_384": ("CSWin_144_24322_large_384", 384, 1000),
    "CSWin_144_24322_large_224_22k": ("CSWin_144_24322_large_224", 224, 21841),
}

REDUCED = {
    # 64 px, maps 16/8/4/2: vertical+horizontal stripes of 1 and 2, a stage whose stripe equals its
    # map (upstream then switches to one full-map branch), the last stage's full attention; batch 2
    "cswin_reduced": dict(batch=2, img=64, kw=dict(
        img_size=64, embed_dim=16, depth=[1, 2, 2, 1], split_size=[1, 2, 4, 2], num_heads=[2, 4, 4, 8], num_classes=10)),
    # 96 px, maps 24/12/6/3: stripes of 2, 3 and 2 (odd widths, several stripes per map)
    "cswin_reduced_96": dict(batch=1, img=96, kw=dict(
        img_size=96, embed_dim=8, depth=[2, 1, 1, 1], split_size=[2, 3, 2, 3], num_heads=[2, 2, 4, 4], num_classes=7)),
}

MASK64 = (1 << 64) - 1


def det_values(name, shape):
    """Deterministic values for one tensor, from its name: a splitmix64-style hash of (crc32(name), index)
    gives k in [-1024, 1024); the value is k scaled by a power of two chosen like parity_common.randomize_
    (norm scales 1 + k/4096, matrices k/1024 · 2^-floor(log2(fan_in)/2), biases k/8192, others k/2048)."""
    n = int(np.prod(shape)) if len(shape) else 1
    seed = np.uint64(zlib.crc32(name.encode()))
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = i * np.uint64(0x9E3779B97F4A7C15) + seed
        x ^= x >> np.uint64(31)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(29)
    k = ((x >> np.uint64(53)) & np.uint64(2047)).astype(np.int64) - 1024
    leaf = name.rsplit(".", 1)[-1]
    if name == "input":
        v = k / 512.0
    elif len(shape) == 1 and "norm" in name and leaf == "weight" or name.startswith("stage1_conv_embed.2.") and leaf == "weight":
        v = 1.0 + k / 4096.0
    elif len(shape) >= 2 and leaf == "weight":
        fan_in = int(np.prod(shape[1:]))
        v = k / 1024.0 * 2.0 ** -((fan_in.bit_length() - 1) // 2)
    elif leaf == "bias":
        v = k / 8192.0
    else:
        v = k / 2048.0
    return v.reshape(shape)


def java_config(kw):
    return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "embedDim": kw["embed_dim"], "depth": kw["depth"],
            "splitSize": kw["split_size"], "numHeads": kw["num_heads"], "mlpRatio": 4.0, "inlineStripes": False}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of a microsoft/CSWin-Transformer checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, os.path.join(HERE, "cswin_shim"))
    sys.path.insert(0, args.src)
    import models.cswin as cswin

    for name, spec in REDUCED.items():
        model = cswin.CSWinTransformer(**spec["kw"])
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        pc.write_fixture(args.out, name, model, x, {"family": "cswin", "kwargs": spec["kw"], "config": java_config(spec["kw"])})
        if name == "cswin_reduced_96":
            sd = {k: v.float().clone() for k, v in model.state_dict().items()}
            torch.save({"state_dict_ema": sd}, os.path.join(args.out, name, "checkpoint.pth"))

    if args.counts:
        counts = {}
        for n, (fn, img, classes) in VARIANTS.items():
            counts[n] = pc.param_count(getattr(cswin, fn)(img_size=img, num_classes=classes))
        with open(os.path.join(args.out, "cswin_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.full:
        model = cswin.CSWin_64_12211_tiny_224()
        shapes = {}
        with torch.no_grad():
            for k, t in model.state_dict().items():
                t.copy_(torch.from_numpy(det_values(k, list(t.shape))))
                shapes[k] = list(t.shape)
        x = torch.from_numpy(det_values("input", [1, 3, 224, 224]))
        y = pc.reference_logits(model, x)
        d = os.path.join(args.out, "cswin_tiny_full")
        os.makedirs(d, exist_ok=True)
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump({"family": "cswin", "model": "CSWin_64_12211_tiny_224", "parameters": pc.param_count(model),
                       "input_shape": [1, 3, 224, 224], "shapes": shapes}, f)
        top5 = np.argsort(-y[0])[:5]
        print("cswin_tiny_full params", pc.param_count(model), "top5", top5.tolist())


if __name__ == "__main__":
    main()
