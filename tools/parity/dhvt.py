#!/usr/bin/env python3
"""Parity fixtures for DHVT against the authors' code (ArieSeirack/DHVT, vision_transformer.py).

Usage:  /usr/bin/python3 tools/parity/dhvt.py --src /path/to/DHVT --timm /path/to/pytorch-image-models
            [--out DIR] [--counts] [--checkpoint]

Imports the authors' model file from --src (torchprofile, einops: stand-ins from tools/parity/dhvt_shim
and common_shims when not installed). The stem's SyncBatchNorm runs only on GPU in torch 1.13, so
torch.nn.SyncBatchNorm is replaced by BatchNorm2d before the model is built: same parameters and
buffers, same eval-mode arithmetic. Models are built as the authors' main.py builds them: the
VisionTransformer constructor with a registered variant's arguments, num_classes of the dataset and
img_size=(s, s). Per reduced fixture: config.json, weights.safetensors (fp16, every tensor random incl.
BatchNorm statistics, affines, head-token position embeddings), input.npy, expected.npy (float64).
--counts writes dhvt_param_counts.json for every registered dhvt_* variant (num_classes as main.py
sets it for the variant's dataset: CIFAR-100 100, DomainNet 345, ImageNet 1000).
--checkpoint also writes dhvt_reduced_p2/checkpoint.pth as main.py saves one (model, optimizer,
lr_scheduler, epoch, model_ema, scaler, args) for the `convert` test.
--export FILE.onnx exports dhvt_tiny_imagenet_patch16 (made-up weights) with torch.onnx.export for benchmarks.
"""
import argparse
import json
import os
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

# registered variant -> (constructor kwargs of vision_transformer.py, num_classes main.py uses)
VARIANTS = {
    "dhvt_tiny_cifar_patch4": (dict(img_size=32, patch_size=4, embed_dim=192, depth=12, num_heads=4, mlp_ratio=4), 100),
    "dhvt_small_cifar_patch4": (dict(img_size=32, patch_size=4, embed_dim=384, depth=12, num_heads=8, mlp_ratio=4), 100),
    "dhvt_tiny_cifar_patch2": (dict(img_size=32, patch_size=2, embed_dim=192, depth=12, num_heads=4, mlp_ratio=4), 100),
    "dhvt_small_cifar_patch2": (dict(img_size=32, patch_size=2, embed_dim=384, depth=12, num_heads=8, mlp_ratio=4), 100),
    "dhvt_tiny_domain_patch16": (dict(img_size=224, patch_size=16, embed_dim=192, depth=12, num_heads=4, mlp_ratio=4), 345),
    "dhvt_small_domain_patch16": (dict(img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4), 345),
    "dhvt_tiny_imagenet_patch16": (dict(img_size=224, patch_size=16, embed_dim=192, depth=12, num_heads=3, mlp_ratio=4), 1000),
    "dhvt_small_imagenet_patch16": (dict(img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, mlp_ratio=4), 1000),
}

REDUCED = {
    # the ImageNet stem (four stride-2 convs), 3 heads
    "dhvt_reduced": dict(batch=2, kw=dict(img_size=64, patch_size=16, embed_dim=48, depth=2, num_heads=3, mlp_ratio=4,
                                          num_classes=11)),
    # the CIFAR stems: two convs (patch 4) on 32x32, one conv + GELU (patch 2), mlp ratio 3, no qkv bias
    "dhvt_reduced_p4": dict(batch=1, kw=dict(img_size=32, patch_size=4, embed_dim=32, depth=2, num_heads=4, mlp_ratio=3,
                                             num_classes=10)),
    "dhvt_reduced_p2": dict(batch=1, kw=dict(img_size=16, patch_size=2, embed_dim=24, depth=1, num_heads=2, mlp_ratio=2,
                                             num_classes=7, qkv_bias=False)),
}


def java_config(kw):
    return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
            "embedDim": kw["embed_dim"], "depth": kw["depth"], "numHeads": kw["num_heads"],
            "mlpRatio": float(kw["mlp_ratio"]), "qkvBias": kw.get("qkv_bias", True)}


def build(vt, kw):
    kw = dict(kw)
    s = kw.pop("img_size")
    return vt.VisionTransformer(img_size=(s, s), apply_dhvt=True, **kw)


def backbone(vt, out):
    """The embedding of each existing fixture, on its own weights and input: the input of the
    classifier head (the normed class token), float64. DHVT is isotropic: no feature maps."""
    import numpy as np
    for name, spec in REDUCED.items():
        d = os.path.join(out, name)
        model = pc.load_fixture_weights(build(vt, spec["kw"]), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        got = {}
        h = model.head.register_forward_pre_hook(lambda m, a: got.__setitem__("emb", a[0]))
        with torch.no_grad():
            y = model(x).numpy()
        h.remove()
        assert np.abs(y - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
        pc.write_backbone_outputs(d, None, got["emb"], source="vision_transformer.py VisionTransformer(apply_dhvt=True): input of head (forward pre-hook)")
        if name == "dhvt_reduced":  # no size-dependent parameter: the same weights load at another size
            pc.write_resized(d, pc.load_fixture_weights(build(vt, dict(spec["kw"], img_size=96)), d), 96)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="path of an ArieSeirack/DHVT checkout")
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--checkpoint", action="store_true")
    ap.add_argument("--export", metavar="FILE.onnx", help="torch.onnx.export (opset 17) of the registered full-size model, made-up weights, batch dynamic (for docs/benchmarks.md)")
    ap.add_argument("--static", action="store_true", help="with --export: a static batch of 1 (PyTorch folds weight-only subgraphs)")
    ap.add_argument("--backbone", action="store_true",
                    help="instead of writing fixtures: add the vector the head reads (the embedding) to the existing ones")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    for mod, shim in (("einops", "common_shims"), ("torchprofile", "dhvt_shim")):
        try:
            __import__(mod)
        except ImportError:
            sys.path.insert(0, os.path.join(HERE, shim))
    import einops
    import einops.layers.torch as einops_torch
    if not hasattr(einops, "reduce"):  # the shared stand-in lacks these; DHVT imports but never calls them
        def _unused(*a, **k):
            raise NotImplementedError("einops stand-in: not used by DHVT's models")
        einops.reduce = _unused
        einops_torch.Reduce = type("Reduce", (torch.nn.Module,), {"__init__": lambda self, *a, **k: _unused()})
    sys.path.insert(0, args.src)
    torch.nn.SyncBatchNorm = torch.nn.BatchNorm2d  # CPU stand-in, see the module comment
    import vision_transformer as vt
    if args.backbone:
        return backbone(vt, args.out)

    for name, spec in REDUCED.items():
        kw = spec["kw"]
        model = build(vt, kw)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, kw["img_size"], kw["img_size"]), seed=7)
        pc.write_fixture(args.out, name, model, x, {"family": "dhvt", "upstream": "vision_transformer.py VisionTransformer(apply_dhvt=True)",
                                                    "kwargs": kw, "config": java_config(kw)})
        if args.checkpoint and name == "dhvt_reduced_p2":
            import argparse as ap_mod
            ema = {k: v.clone() for k, v in model.state_dict().items()}
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "lr_scheduler": {"last_epoch": 3}, "epoch": 3, "model_ema": ema, "scaler": {"scale": 65536.0},
                        "args": ap_mod.Namespace(model="dhvt_tiny_imagenet_patch16", input_size=64, data_set="IMNET")},
                       os.path.join(args.out, name, "checkpoint.pth"))

    if args.counts:
        counts = {}
        for n, (kw, classes) in VARIANTS.items():
            counts[n] = pc.param_count(build(vt, dict(kw, num_classes=classes)))
        with open(os.path.join(args.out, "dhvt_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)


    if args.export:
        kw, classes = VARIANTS["dhvt_tiny_imagenet_patch16"]
        export(build(vt, dict(kw, num_classes=classes)), 224, args.export, args.static)


def export(model, size, path, static=False):
    model.eval()
    axes = None if static else {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}
    torch.onnx.export(model, torch.randn(1, 3, size, size), path, opset_version=17, input_names=["pixel_values"],
                      output_names=["logits"], dynamic_axes=axes)
    print("exported", path, "(static batch 1)" if static else "(dynamic batch)")


if __name__ == "__main__":
    main()
