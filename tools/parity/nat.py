#!/usr/bin/env python3
"""Parity fixtures for NAT / DiNAT against the authors' model files (SHI-Labs/Neighborhood-Attention-Transformer).

Usage:  /usr/bin/python3 tools/parity/nat.py --nat-repo /path/to/Neighborhood-Attention-Transformer [--out DIR] [--counts]
        [--only FIXTURE ...]

The authors' classification/nat.py, dinat.py, dinats.py (DiNAT-s) and isotropic.py (NAT/DiNAT-iso,
ViT-rpb) are imported unchanged; the `natten` (and the few
`timm`) names they import come from tools/parity/nat_shim/, whose NeighborhoodAttention2D is our
own pure-PyTorch reference of NATTEN's semantics. Per fixture: config.json (constructor kwargs and
the fields of NAT.Config), weights.safetensors (fp16, every tensor random and fp16-exact),
input.npy and expected.npy (float64 logits). config.json's "arch" names the Java class
(NAT, DiNATs, IsotropicNAT) whose Config the "config" object fills. --counts also instantiates every registered variant
at full size and writes nat_param_counts.json.
"""
import argparse
import json
import os
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "nat_shim"))
import parity_common as pc  # noqa: E402

# Reduced configs through the upstream constructors; every level keeps kernel * dilation <= side.
REDUCED = {
    # 32 px -> 8x8, 4x4 tokens
    "nat_reduced": ("NAT", 32, dict(embed_dim=16, mlp_ratio=2, depths=[2, 2], num_heads=[2, 4], kernel_size=3,
                                    num_classes=10, drop_path_rate=0.0)),
    # 48 px -> 12x12, 6x6 (k*d = 6 = side on level 1); layer scale
    "dinat_reduced": ("DiNAT", 48, dict(embed_dim=8, mlp_ratio=3, depths=[2, 2], num_heads=[2, 2], kernel_size=3,
                                        dilations=[[1, 3], [2, 1]], layer_scale=1e-5, num_classes=12,
                                        drop_path_rate=0.0)),
    # 64 px -> 16x16, 8x8; kernel 5, dilation 3 (k*d = 15)
    "dinat_reduced_k5": ("DiNAT", 64, dict(embed_dim=12, mlp_ratio=2, depths=[2, 1], num_heads=[3, 6], kernel_size=5,
                                           dilations=[[1, 3], [1]], num_classes=16, drop_path_rate=0.0)),
    # DiNAT-s, 50 px: patch embed pads 50 -> 52 (13x13 tokens), patch merging pads 13 -> 14 (7x7)
    # and 7 -> 8 (4x4); k*d = 12, 6, 3 on the three levels
    "dinat_s_reduced": ("DiNAT_s", 50, dict(patch_size=4, embed_dim=8, depths=[2, 2, 2], num_heads=[2, 2, 4], kernel_size=3,
                                            dilations=[[1, 4], [2, 1], [1, 1]], mlp_ratio=2, num_classes=10,
                                            drop_path_rate=0.0)),
    # DiNAT-iso, 96 px / patch 8 -> 12x12; kernel 5, dilation 2 on odd layers (k*d = 10)
    "dinat_isotropic_reduced": ("NATIsotropic", 96, dict(img_size=96, patch_size=8, embed_dim=16, depth=4, num_heads=2,
                                                         mlp_ratio=2, kernel_size=5, dilation=2, num_classes=10,
                                                         drop_path_rate=0.0)),
    # ViT-rpb, 48 px / patch 8 -> 6x6 tokens, global attention + rpb [heads, 11, 11]
    "vitrpb_reduced": ("NATIsotropic", 48, dict(img_size=48, patch_size=8, embed_dim=12, depth=3, num_heads=3, mlp_ratio=2,
                                                kernel_size=None, dilation=None, layer="VisionTransformerLayer",
                                                num_classes=10, drop_path_rate=0.0)),
}

# The Java architecture class per upstream class.
JAVA_ARCH = {"NAT": "NAT", "DiNAT": "NAT", "DiNAT_s": "DiNATs", "NATIsotropic": "IsotropicNAT"}

VARIANTS = ["nat_mini", "nat_tiny", "nat_small", "nat_base",
            "dinat_mini", "dinat_tiny", "dinat_small", "dinat_base", "dinat_large", "dinat_large_384",
            "dinat_large_384_11x11",
            "dinat_s_tiny", "dinat_s_small", "dinat_s_base", "dinat_s_large", "dinat_s_large_384",
            "nat_isotropic_small", "dinat_isotropic_small", "vitrpb_small",
            "nat_isotropic_base", "dinat_isotropic_base", "vitrpb_base"]


def java_config(cls, img, kw):
    """The constructor arguments in the field names of the Java class's Config."""
    if cls == "DiNAT_s":
        return {
            "imgSize": img, "inChans": kw.get("in_chans", 3), "numClasses": kw.get("num_classes", 1000),
            "patchSize": kw.get("patch_size", 4), "embedDim": kw["embed_dim"], "depths": kw["depths"],
            "numHeads": kw["num_heads"], "mlpRatio": float(kw["mlp_ratio"]), "kernelSize": kw.get("kernel_size", 7),
            "dilations": kw.get("dilations"), "qkvBias": kw.get("qkv_bias", True), "patchNorm": kw.get("patch_norm", True),
        }
    if cls == "NATIsotropic":
        glob = kw.get("layer") == "VisionTransformerLayer"
        return {
            "imgSize": kw.get("img_size", 224), "inChans": kw.get("in_chans", 3), "numClasses": kw.get("num_classes", 1000),
            "patchSize": kw.get("patch_size", 16), "embedDim": kw["embed_dim"], "depth": kw["depth"],
            "numHeads": kw["num_heads"], "mlpRatio": float(kw["mlp_ratio"]),
            "kernelSize": 0 if glob else kw.get("kernel_size", 7), "dilation": 1 if glob else kw.get("dilation", 2),
            "qkvBias": kw.get("qkv_bias", True), "patchNorm": kw.get("patch_norm", True),
        }
    depths = kw["depths"]
    return {
        "imgSize": img, "inChans": kw.get("in_chans", 3), "numClasses": kw.get("num_classes", 1000),
        "embedDim": kw["embed_dim"], "depths": depths, "numHeads": kw["num_heads"], "mlpRatio": float(kw["mlp_ratio"]),
        "kernelSize": kw.get("kernel_size", 7), "dilations": kw.get("dilations"),
        "layerScale": float(kw["layer_scale"]) if kw.get("layer_scale") is not None else 0.0, "qkvBias": kw.get("qkv_bias", True),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nat-repo", required=True, help="path of a Neighborhood-Attention-Transformer checkout")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true", help="also measure every full-size variant's parameter count")
    ap.add_argument("--only", nargs="*", help="write only these fixtures (default: all)")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.nat_repo, "classification"))
    import nat
    import dinat
    import dinats
    import isotropic

    classes = {"NAT": nat.NAT, "DiNAT": dinat.DiNAT, "DiNAT_s": dinats.DiNAT_s, "NATIsotropic": isotropic.NATIsotropic}
    files = {"NAT": "nat", "DiNAT": "dinat", "DiNAT_s": "dinats", "NATIsotropic": "isotropic"}
    for name, (cls, img, kw) in REDUCED.items():
        if args.only is not None and name not in args.only:
            continue
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        ctor = dict(kw)
        if "layer" in ctor:
            ctor["layer"] = getattr(isotropic, ctor["layer"])
        model = classes[cls](**ctor)
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((2, 3, img, img), seed=7)
        y = pc.reference_logits(model, x)
        pc.write_safetensors(os.path.join(d, "weights.safetensors"), model.state_dict(), dtype=torch.float16)
        pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
        pc.write_npy(os.path.join(d, "expected.npy"), y)
        with open(os.path.join(d, "config.json"), "w") as f:
            meta = {"family": "nat", "upstream": "classification/%s.py %s" % (files[cls], cls), "kwargs": kw,
                    "config": java_config(cls, img, kw), "parameters": pc.param_count(model)}
            if JAVA_ARCH[cls] != "NAT":
                meta["arch"] = JAVA_ARCH[cls]
            json.dump(meta, f, indent=2)
        print(name, "params", pc.param_count(model), "logits", y.shape)

    if args.counts:
        counts = {}
        for v in VARIANTS:
            fn = next(getattr(mod, v) for mod in (nat, dinat, dinats, isotropic) if hasattr(mod, v))
            with torch.no_grad():
                m = fn()
            counts[v] = pc.param_count(m)
            print(v, counts[v])
            del m
        with open(os.path.join(args.out, "nat_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)


if __name__ == "__main__":
    main()
