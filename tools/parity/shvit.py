#!/usr/bin/env python3
"""Parity fixtures for SHViT against timm's implementation, plus the authors' checkpoint layout.

Usage:  /usr/bin/python3 tools/parity/shvit.py --timm /path/to/pytorch-image-models \
            [--authors /path/to/SHViT] [--out DIR] [--export ONNX --export-variant shvit_s1]

Per reduced fixture: config.json (constructor kwargs and the SHViT.Config fields), weights.safetensors
(fp16, every tensor random and fp16-exact, BatchNorm statistics included), input.npy, expected.npy
(timm's float64 logits). With --authors (a checkout of ysj9909/SHViT) each fixture also gets
authors.pth: the same weights in the authors' key layout, saved the way their training script saves
({'model': state_dict, ...}), with the SE 1x1 kernels stored 2-D as some released checkpoints do;
the authors' model is run on those weights and must agree with timm (checked here).
Also writes shvit_param_counts.json: every full variant's timm parameter count and BN buffer count.
"""
import argparse
import json
import os
import re
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

# Reduced configs through timm's SHViT constructor (keyword names as timm's).
REDUCED = {
    "shvit_reduced": dict(img_size=64, in_chans=3, num_classes=12, embed_dim=(8, 16, 24), partial_dim=(4, 8, 12),
                          qk_dim=(4, 4, 8), depth=(1, 2, 2), types=("i", "s", "s")),
    # a non-square-of-16 size (stages 5x5, 3x3, 2x2) and attention in every stage
    "shvit_reduced_80": dict(img_size=80, in_chans=3, num_classes=10, embed_dim=(8, 16, 24), partial_dim=(4, 6, 8),
                             qk_dim=(4, 8, 8), depth=(1, 1, 2), types=("s", "s", "i")),
}

VARIANTS = ["shvit_s1", "shvit_s2", "shvit_s3", "shvit_s4"]


def java_config(kw):
    return {"imgSize": kw["img_size"], "inChans": kw["in_chans"], "numClasses": kw["num_classes"],
            "embedDim": list(kw["embed_dim"]), "partialDim": list(kw["partial_dim"]), "qkDim": list(kw["qk_dim"]),
            "depth": list(kw["depth"]), "types": list(kw["types"])}


def timm_to_authors(sd, depth):
    """Inverse of the key rules in timm's shvit checkpoint_filter_fn (our own code)."""
    out = {}
    ds = {0: "0.0", 1: "0.1", 2: "1", 3: "2.0", 4: "2.1"}
    for k, v in sd.items():
        m = re.match(r"stages\.(\d+)\.downsample\.(\d+)\.(.*)", k)
        if m:
            k = "blocks%d.%s.%s" % (int(m.group(1)) + 1, ds[int(m.group(2))], m.group(3))
        else:
            m = re.match(r"stages\.(\d+)\.blocks\.(\d+)\.(.*)", k)
            if m:
                i, j = int(m.group(1)), int(m.group(2))
                k = "blocks%d.%d.%s" % (i + 1, j + (3 if i > 0 else 0), m.group(3))
        out[k] = v
    return out


def bn_buffer_count(model):
    return sum(t.numel() for k, t in model.state_dict().items() if k.endswith(("running_mean", "running_var")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--authors", help="path of a ysj9909/SHViT checkout (model/shvit.py)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--export", metavar="ONNX", help="write timm's model exported by torch.onnx.export here")
    ap.add_argument("--export-variant", default="shvit_s1")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    from timm.models import shvit
    authors = None
    if args.authors:
        import importlib.util
        spec = importlib.util.spec_from_file_location("shvit_authors", os.path.join(args.authors, "model", "shvit.py"))
        authors = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(authors)

    for name, kw in REDUCED.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        tkw = {k: v for k, v in kw.items() if k != "img_size"}
        model = shvit.SHViT(**tkw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((1, kw["in_chans"], kw["img_size"], kw["img_size"]), seed=7)
        y = pc.reference_logits(model, x)
        sd = model.state_dict()
        # 0-dim num_batches_tracked counters are left out here (parity_common writes no scalars);
        # authors.pth keeps them, so ignoring them is tested there
        pc.write_safetensors(os.path.join(d, "weights.safetensors"),
                             {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}, dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        meta = {"family": "shvit", "upstream": "timm.models.shvit.SHViT", "kwargs": kw, "config": java_config(kw),
                "parameters": pc.param_count(model), "bn_buffers": bn_buffer_count(model)}
        if authors is not None:
            am = authors.SHViT(in_chans=kw["in_chans"], num_classes=kw["num_classes"], embed_dim=list(kw["embed_dim"]),
                               partial_dim=list(kw["partial_dim"]), qk_dim=list(kw["qk_dim"]), depth=list(kw["depth"]),
                               types=list(kw["types"]))
            asd = timm_to_authors(sd, kw["depth"])
            am.load_state_dict(asd)
            ya = pc.reference_logits(am, x)
            diff = float(abs(ya - y).max())
            assert diff < 1e-9, diff
            saved = {}
            for k, v in asd.items():
                v = v.half() if torch.is_floating_point(v) else v
                if re.search(r"\.se\.fc[12]\.weight$", k):
                    v = v[:, :, 0, 0]  # stored 2-D; the authors' loader appends [:, :, None, None]
                saved[k] = v
            torch.save({"model": saved, "epoch": 299, "max_accuracy": 0.0}, os.path.join(d, "authors.pth"))
            meta["authors_max_abs_diff"] = diff
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(meta, f, indent=2)
        print(name, "params", meta["parameters"], "logits", y.shape, "authors diff", meta.get("authors_max_abs_diff"))

    counts = {}
    for v in VARIANTS:
        m = getattr(shvit, v)()
        counts[v] = {"parameters": pc.param_count(m), "bn_buffers": bn_buffer_count(m)}
    with open(os.path.join(args.out, "shvit_param_counts.json"), "w") as f:
        json.dump(counts, f, indent=2)
    print(counts)

    if args.export:
        m = getattr(shvit, args.export_variant)().eval()
        pc.randomize_(m, seed=99)
        size = 256 if args.export_variant == "shvit_s4" else 224
        torch.onnx.export(m, torch.zeros(1, 3, size, size), args.export, opset_version=17,
                          input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}})
        print("exported", args.export)


if __name__ == "__main__":
    main()
