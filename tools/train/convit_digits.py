#!/usr/bin/env python3
"""Trains AttnZoo's shipped offline demo model: a small ConViT on scikit-learn's digits.

Usage: /usr/bin/python3 tools/train/convit_digits.py --timm /path/to/pytorch-image-models [--out DIR]

The model is timm's ConVit class with a reduced config (32×32 input, patch 4, 4 heads × 16 dims,
depth 4, GPSA in the first 3 blocks, 10 classes). Digits (8×8, values 0–16, from python3-sklearn)
are upsampled to 32×32 grey images; the split is a fixed stratified 80/20 (seed 0). Writes
model.safetensors (timm layout), config.json (constructor arguments, preprocessing, measured
held-out accuracy), a few sample PNGs and heldout.npz-free test data: heldout_x.npy / heldout_y.npy
so a test can reproduce the accuracy.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "parity"))
import parity_common as pc  # noqa: E402

KW = dict(img_size=32, patch_size=4, in_chans=3, num_classes=10, embed_dim=16, depth=4, num_heads=4,
          mlp_ratio=2.0, qkv_bias=False, local_up_to_layer=3)
SIZE = 32


def to_images(digits):
    """8×8 digits (0–16) to 32×32 uint8 grey images, bilinear upsampling."""
    x = torch.tensor(digits, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).squeeze(1).numpy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/main/resources/org/attnzoo/zoo/models/convit_digits"))
    ap.add_argument("--samples", default=os.path.join(os.path.dirname(__file__), "../../samples/images"))
    ap.add_argument("--epochs", type=int, default=60)
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models.convit import ConVit
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    torch.manual_seed(0)
    d = load_digits()
    imgs = to_images(d.images)
    xtr, xte, ytr, yte = train_test_split(imgs, d.target, test_size=0.2, random_state=0, stratify=d.target)
    mean = float(xtr.mean() / 255.0)
    std = float(xtr.std() / 255.0)

    def prep(u8):
        x = torch.tensor(u8, dtype=torch.float32) / 255.0
        x = (x - mean) / std
        return x.unsqueeze(1).repeat(1, 3, 1, 1)

    model = ConVit(**KW)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    steps = args.epochs * ((len(xtr) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    xt, yt = prep(xtr), torch.tensor(ytr)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            xb = xt[idx]
            # light augmentation: random shifts of up to 2 pixels
            dx, dy = np.random.randint(-2, 3, size=2)
            xb = torch.roll(xb, shifts=(int(dy), int(dx)), dims=(2, 3))
            loss = F.cross_entropy(model(xb), yt[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        pred = model(prep(xte)).argmax(-1).numpy()
    acc = float((pred == yte).mean())
    print(f"held-out accuracy {acc:.4f} on {len(yte)} images")

    os.makedirs(args.out, exist_ok=True)
    pc.write_safetensors(os.path.join(args.out, "model.safetensors"), model.state_dict(),
                         metadata={"format": "pt", "trained_by": "tools/train/convit_digits.py"})
    np.save(os.path.join(args.out, "heldout_x.npy"), xte.astype(np.uint8))
    np.save(os.path.join(args.out, "heldout_y.npy"), yte.astype(np.int64))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump({"kwargs": KW, "mean": [mean] * 3, "std": [std] * 3, "heldout_accuracy": acc,
                   "heldout_size": int(len(yte)), "train_size": int(len(ytr)), "epochs": args.epochs,
                   "labels": [str(i) for i in range(10)]}, f, indent=2)
    os.makedirs(args.samples, exist_ok=True)
    written = set()
    for img, y, p in zip(xte, yte, pred):
        if int(y) in written or y != p:
            continue
        Image.fromarray(img, mode="L").convert("RGB").save(os.path.join(args.samples, f"digit_{int(y)}.png"))
        written.add(int(y))
    print("samples", sorted(written))


if __name__ == "__main__":
    main()
