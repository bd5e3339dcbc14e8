#!/usr/bin/env python3
"""Parity fixtures for DaViT against timm's implementation, plus the authors' checkpoint layout.

Usage:  /usr/bin/python3 tools/parity/davit.py --timm /path/to/pytorch-image-models \
            [--authors /path/to/davit] [--out DIR] [--export ONNX]

Per reduced fixture: config.json (constructor kwargs and the DaViT.Config fields), weights.safetensors
(fp16, every tensor random and fp16-exact), input.npy, expected.npy (timm's float64 logits). With
--authors (a checkout of dingmyu/davit, whose classification code is a modified timm 0.4.13 under
timm/) each fixture also gets authors.pth: the same weights under the authors' keys, saved the way
their timm CheckpointSaver does ({'state_dict': ..., 'epoch': ..., 'arch': ...}). A child process
runs the authors' model on them (must equal timm's output), and here timm's own checkpoint_filter_fn
must map that file back onto timm's keys. Also writes davit_param_counts.json (timm, meta device).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

# Reduced configs through timm's DaVit constructor (timm's keyword names) plus the input size.
REDUCED = {
    # window 4: 4x4 / 2x2 windows, one window, and a 2x2 map padded to a 4x4 window
    "davit_reduced": dict(img_size=64, in_chans=3, num_classes=10, depths=(1, 1, 2, 1), embed_dims=(8, 12, 16, 16),
                          num_heads=(1, 2, 4, 2), window_size=4, mlp_ratio=2.0, qkv_bias=True),
    # a size that is not a multiple of 4 (stem pad), odd maps at downsampling (pad), windows of 7 padded
    "davit_reduced_70": dict(img_size=70, in_chans=3, num_classes=12, depths=(1, 2, 1, 1), embed_dims=(8, 8, 16, 16),
                             num_heads=(2, 2, 4, 2), window_size=7, mlp_ratio=3.0, qkv_bias=False),
}

VARIANTS = ["davit_tiny", "davit_small", "davit_base", "davit_large", "davit_huge", "davit_giant"]


def java_config(kw):
    return {"imgSize": kw["img_size"], "inChans": kw["in_chans"], "numClasses": kw["num_classes"],
            "depths": list(kw["depths"]), "embedDims": list(kw["embed_dims"]), "numHeads": list(kw["num_heads"]),
            "windowSize": kw["window_size"], "mlpRatio": kw["mlp_ratio"], "qkvBias": kw["qkv_bias"], "normEps": 1e-5}


def timm_to_authors(sd):
    """timm keys -> the authors' (inverse of timm's checkpoint_filter_fn; our own code)."""
    out = {}
    for k, v in sd.items():
        k = re.sub(r"^stem\.conv\.", "patch_embeds.0.proj.", k)
        k = re.sub(r"^stem\.norm\.", "patch_embeds.0.norm.", k)
        k = re.sub(r"^stages\.(\d+)\.downsample\.conv\.", r"patch_embeds.\1.proj.", k)
        k = re.sub(r"^stages\.(\d+)\.downsample\.norm\.", r"patch_embeds.\1.norm.", k)
        k = re.sub(r"^stages\.(\d+)\.blocks\.", r"main_blocks.\1.", k)
        k = k.replace(".cpe1.", ".cpe.0.").replace(".cpe2.", ".cpe.1.")
        k = re.sub(r"^head\.fc\.", "head.", k)
        k = re.sub(r"^head\.norm\.", "norms.", k)
        out[k] = v
    return out


def authors_child(args):
    """Runs inside the authors' timm: build their DaViT, load the weights, check logits, save authors.pth."""
    sys.path.insert(0, args.authors)
    from timm.models import davit as ad
    job = torch.load(args.child_job)
    kw = job["kwargs"]
    model = ad.DaViT(in_chans=kw["in_chans"], num_classes=kw["num_classes"], depths=kw["depths"], patch_size=4,
                     embed_dims=kw["embed_dims"], num_heads=kw["num_heads"], window_size=kw["window_size"],
                     mlp_ratio=kw["mlp_ratio"], qkv_bias=kw["qkv_bias"], img_size=kw["img_size"])
    sd = timm_to_authors(job["state_dict"])
    model.load_state_dict(sd)
    y = pc.reference_logits(model, job["x"])
    diff = float(np.abs(y - job["expected"]).max())
    torch.save({"epoch": 299, "arch": "DaViT_reduced", "state_dict": {k: v.half() for k, v in sd.items()}},
               job["path"])
    print(json.dumps({"authors_max_abs_diff": diff}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--authors", help="path of a dingmyu/davit checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--export", metavar="ONNX", help="write timm's davit_tiny exported by torch.onnx.export here")
    ap.add_argument("--child-job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_job:
        return authors_child(args)
    sys.path.insert(0, args.timm)
    from timm.models import davit

    for name, kw in REDUCED.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        tkw = {k: v for k, v in kw.items() if k != "img_size"}
        model = davit.DaVit(**tkw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((1, kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.reference_logits(model, x)
        sd = model.state_dict()
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), sd, dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        meta = {"family": "davit", "upstream": "timm.models.davit.DaVit", "kwargs": kw, "config": java_config(kw),
                "parameters": pc.param_count(model)}
        if args.authors:
            with tempfile.TemporaryDirectory() as tmp:
                job = os.path.join(tmp, "job.pt")
                torch.save({"kwargs": kw, "state_dict": {k: v.double() for k, v in sd.items()}, "x": x,
                            "expected": y, "path": os.path.join(d, "authors.pth")}, job)
                res = subprocess.run([sys.executable, os.path.abspath(__file__), "--timm", args.timm, "--authors",
                                      args.authors, "--child-job", job], capture_output=True, text=True, check=True)
            diff = json.loads(res.stdout.strip().splitlines()[-1])["authors_max_abs_diff"]
            assert diff < 1e-9, diff
            meta["authors_max_abs_diff"] = diff
            # and timm's own filter maps the authors' file back onto timm's keys
            back = davit.checkpoint_filter_fn(torch.load(os.path.join(d, "authors.pth")), model)
            model.load_state_dict({k: v.double() for k, v in back.items()})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(meta, f, indent=2)
        print(name, "params", meta["parameters"], "logits", y.shape, "authors diff", meta.get("authors_max_abs_diff"))

    counts = {}
    for v in VARIANTS:
        m = getattr(davit, v)(device="meta")
        counts[v] = {"parameters": pc.param_count(m)}
    with open(os.path.join(args.out, "davit_param_counts.json"), "w") as f:
        json.dump(counts, f, indent=2)
    print(counts)

    if args.export:
        m = davit.davit_tiny().eval()
        pc.randomize_(m, seed=99)
        torch.onnx.export(m, torch.zeros(1, 3, 224, 224), args.export, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}})
        print("exported", args.export)


if __name__ == "__main__":
    main()
