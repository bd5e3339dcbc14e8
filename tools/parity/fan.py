#!/usr/bin/env python3
"""Parity fixtures for FAN (NVlabs/FAN) and TAP-FAN (guoyongcs/TAPADL) against the authors' code.

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/fan.py --fan /path/to/NVlabs-FAN
            --tapadl /path/to/TAPADL [--out DIR] [--counts] [--timm TIMM_0_5_4] [--only NAME,...]
            [--full NAME --full-out DIR] [--export NAME --export-out X.onnx]

The authors' models/ packages are imported as they are (FAN's models/fan.py, convnext_utils.py,
swin_utils.py; TAPADL's TAPADL_FAN/models/tap_fan.py and its convnext_utils.py), with our timm
stand-in (tools/parity/fan_shim) unless --timm points at a timm 0.5.4 checkout (FAN pins 0.5.4);
einops from tools/parity/common_shims. Reduced configs go through the authors' constructors (FAN,
_create_hybrid_backbone, _create_fan_swin_transformer, TAP's FAN); every tensor is random and
fp16-exact (BatchNorm statistics included), the reference is the float64 forward in eval mode.

One change to the authors' forward for float64: PositionalEncodingFourier builds its sine table
with dtype=torch.float32 hard-coded, which a float64 model cannot feed to its float64 1x1 conv; the
generator gives fan.py / swin_utils.py a `torch` whose float32 is float64 (everything else is torch
itself), so the table is computed in float64 as the rest of the reference.

--counts writes fan_param_counts.json: the parameter count of every model the two files register
(through their registered entrypoints, num_scales=4 for TAP as the authors' scripts pass it).
--full NAME[,NAME...] writes full-size fixtures of registered models (random weights) to --full-out.
--export NAME tries torch.onnx.export (opset 17, float32) of registered model NAME.
"""
import argparse
import importlib.util
import json
import os
import sys
import types
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402


class _Float64Torch(types.ModuleType):
    """`torch` with float32 meaning float64 (see the module docstring); every other name is torch's."""

    def __init__(self):
        super().__init__("torch")
        self.float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


def load_package(models_dir, alias):
    """Imports an upstream models/ directory as package `alias` (its relative imports resolve inside it)."""
    init = os.path.join(models_dir, "__init__.py")
    spec = importlib.util.spec_from_file_location(alias, init, submodule_search_locations=[models_dir])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules[alias] = pkg
    spec.loader.exec_module(pkg)
    return pkg


def set_double_tables(*mods):
    for m in mods:
        m.torch = _Float64Torch()


# --- reduced configurations (through the authors' constructors) --------------------------------

def vit_kw(img, patch, dims, heads, classes, tokens_norm=True, cls_layers=2, mlp_ratio=4.0, qkv_bias=True):
    depth = len(dims)
    return dict(img_size=img, patch_size=patch, in_chans=3, num_classes=classes, embed_dim=dims[0], depth=depth,
                channel_dims=list(dims), num_heads=list(heads), mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                sr_ratio=[1] * depth, eta=1.0, tokens_norm=tokens_norm, cls_attn_layers=cls_layers)


REDUCED = {
    # conv patch embed (patch 16: four stride-2 conv3x3+BN), 64 px -> 4x4 tokens, tokens_norm, 2 class-attention blocks
    "fan_vit_reduced": dict(kind="vit", batch=2, kw=vit_kw(64, 16, [32, 32], [4, 4], 10)),
    # patch 8 (three convs), 40 px -> odd 5x5 grid, norm2 on the class token only, a downsampling
    # OverlapPatchEmbed where channel_dims change (as fan_Xlarge), per-block heads, no qkv bias, one CA block
    "fan_vit_reduced_odd": dict(kind="vit", batch=1, kw=vit_kw(40, 8, [16, 16, 24], [2, 2, 4], 7, tokens_norm=False,
                                                               cls_layers=1, mlp_ratio=3.0, qkv_bias=False)),
    # ConvNeXt stem (stem 4x4 + LayerNorm2d, stage of 1 block, LN2d + 2x2 downsample, stage of 2 blocks), 2x2 proj
    "fan_hybrid_reduced": dict(kind="hybrid", batch=2, backbone=dict(depths=[1, 2], dims=[16, 24, 32, 64]),
                               kw=vit_kw(64, 16, [32, 32], [4, 4], 10)),
    # Swin stages FAN, FAN, FAN, Mlp; 64 px -> 16, 8, 4, 2 maps; window 4 (shifted in stages 0-1, whole map after)
    "fan_swin_reduced": dict(kind="swin", batch=2, kw=dict(
        img_size=64, patch_size=4, window_size=4, embed_dim=16, depths=(2, 2, 2, 1), num_heads=(2, 4, 4, 8),
        num_classes=10, mlp_type=["FAN", "FAN", "FAN", "Mlp"])),
    # TAP-FAN: 4 token-aggregation scales (dilations 0..3) on a ConvNeXt hybrid, 64 px -> 4x4 tokens
    "tap_fan_hybrid_reduced": dict(kind="tap", batch=2, backbone=dict(depths=[1, 1], dims=[16, 24, 32, 64]),
                                   num_scales=4, kw=vit_kw(64, 16, [32, 32], [4, 4], 10)),
    # TAP-FAN ViT: 2 scales on a 6x6 grid (96 px, patch 16), no tokens_norm
    "tap_fan_vit_reduced": dict(kind="tap", batch=1, num_scales=2,
                                kw=vit_kw(96, 16, [16, 16], [2, 2], 6, tokens_norm=False)),
}


LAYOUT_FIXTURE = "fan_vit_reduced_odd"


def write_training_checkpoint(model, path):
    """The layout of the released .pth.tar files: what timm's CheckpointSaver (the authors' main.py)
    writes, the weights under 'state_dict' next to 'state_dict_ema' (here deliberately different,
    so a converter that took the EMA copy would fail parity), the training arguments as an
    argparse.Namespace, optimizer state and bookkeeping. The authors' validate.py loads it with
    timm's load_checkpoint(use_ema=False): 'state_dict'."""
    import argparse
    sd = {k: v.detach().float().clone() for k, v in model.state_dict().items()}
    ema = {k: (v * 1.5 + 0.25 if torch.is_floating_point(v) else v.clone()) for k, v in sd.items()}
    torch.save({"epoch": 299, "arch": "fan_tiny_12_p16_224", "state_dict": sd, "optimizer": {"state": {}, "param_groups": []},
                "version": 2, "args": argparse.Namespace(model="fan_tiny_12_p16_224", lr=0.002, model_ema=True),
                "metric": 79.2, "state_dict_ema": ema}, path)


def randomize(model, seed):
    """parity_common.randomize_ with Swin's shift masks kept: attn_mask is a float buffer the model
    computes from the geometry (0 / -100), not a learned tensor, so it must stay as built."""
    masks = {k: v.clone() for k, v in model.state_dict().items() if k.endswith("attn_mask")}
    pc.randomize_(model, seed)
    with torch.no_grad():
        sd = model.state_dict()
        for k, v in masks.items():
            sd[k].copy_(v)


def java_config(spec):
    kw = spec["kw"]
    if spec["kind"] == "swin":
        return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
                "embedDim": kw["embed_dim"], "depths": list(kw["depths"]), "numHeads": list(kw["num_heads"]),
                "windowSize": kw["window_size"], "mlpRatio": 4.0, "qkvBias": True, "mlpType": kw["mlp_type"]}
    bb = spec.get("backbone", {"depths": [], "dims": []})
    return {"imgSize": kw["img_size"], "numClasses": kw["num_classes"], "patchSize": kw["patch_size"],
            "channelDims": kw["channel_dims"], "numHeads": kw["num_heads"], "mlpRatio": kw["mlp_ratio"],
            "qkvBias": kw["qkv_bias"], "tokensNorm": kw["tokens_norm"], "clsAttnLayers": kw["cls_attn_layers"],
            "backboneDepths": bb["depths"], "backboneDims": bb["dims"][:len(bb["depths"])],
            "numScales": spec.get("num_scales", 0), "seMlp": False}


def build(spec, fan, conv, swin, tap, tap_conv):
    kw = dict(spec["kw"])
    kind = spec["kind"]
    if kind == "vit":
        return fan.FAN(**kw)
    if kind == "hybrid":
        backbone = conv._create_hybrid_backbone(pretrained=False, pretrained_strict=False, use_head=False, **spec["backbone"])
        return fan.FAN(backbone=backbone, **kw)
    if kind == "swin":
        return swin._create_fan_swin_transformer("swin_tiny_patch4_window7_224", pretrained=False, **kw)
    if kind == "tap":
        backbone = None
        if "backbone" in spec:
            backbone = tap_conv._create_hybrid_backbone(pretrained=False, pretrained_strict=False, use_head=False,
                                                        **spec["backbone"])
        return tap.FAN(backbone=backbone, num_scales=spec["num_scales"], **kw)
    raise ValueError(kind)


def se_mlp_forward(fan):
    """fan.py's se_mlp models construct but cannot run: FAN.forward_features calls blk(x) and
    FANBlock_SE.forward needs (x, H, W). Returns what the authors' forward raises (on a small one)."""
    se = fan.FAN(**dict(vit_kw(32, 16, [16], [2], 4), se_mlp=True)).double().eval()
    try:
        with torch.no_grad():
            se(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
        return "runs"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def registered(fan, tap):
    """Every model name NVlabs' fan.py and TAPADL's tap_fan.py register (register_model lists them in
    the module's __all__), with a builder; TAP entrypoints get num_scales=4 as the authors' scripts."""
    names = {}
    for n in fan.__all__:
        names[n] = (lambda f: (lambda: f(pretrained=False)))(getattr(fan, n))
    for n in tap.__all__:
        names[n] = (lambda f: (lambda: f(pretrained=False, num_scales=4)))(getattr(tap, n))
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fan", required=True, help="NVlabs/FAN checkout (with models/)")
    ap.add_argument("--tapadl", required=True, help="guoyongcs/TAPADL checkout (with TAPADL_FAN/models/)")
    ap.add_argument("--timm", help="a timm 0.5.4 checkout to use instead of the shim (to check the shim)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--only", help="comma-separated fixture names")
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--full", help="registered model name for a full-size fixture")
    ap.add_argument("--full-out", help="directory of the full-size fixture")
    ap.add_argument("--export", help="registered model name to try torch.onnx.export on")
    ap.add_argument("--export-out", default="/tmp/fan_export.onnx")
    args = ap.parse_args()

    sys.path.insert(0, args.timm if args.timm else os.path.join(HERE, "fan_shim"))
    sys.path.insert(1, os.path.join(HERE, "common_shims"))
    load_package(os.path.join(args.fan, "models"), "fan_models")
    import fan_models.fan as fan
    import fan_models.convnext_utils as conv
    import fan_models.swin_utils as swin
    load_package(os.path.join(args.tapadl, "TAPADL_FAN", "models"), "tap_models")
    import tap_models.tap_fan as tap
    import tap_models.convnext_utils as tap_conv
    import tap_models.fan as tap_fan_copy
    import tap_models.swin_utils as tap_swin
    set_double_tables(fan, swin, tap, tap_fan_copy, tap_swin)

    only = set(args.only.split(",")) if args.only else None
    for name, spec in REDUCED.items():
        if only and name not in only:
            continue
        torch.manual_seed(0)
        model = build(spec, fan, conv, swin, tap, tap_conv)
        randomize(model, seed=zlib.crc32(name.encode()) % 10000)
        kw = spec["kw"]
        x = pc.random_input((spec["batch"], 3, kw["img_size"], kw["img_size"]), seed=7)
        meta = {"family": "fan", "kind": spec["kind"], "upstream_kwargs": {k: v for k, v in kw.items()},
                "backbone": spec.get("backbone"), "num_scales": spec.get("num_scales"), "config": java_config(spec)}
        y = pc.write_fixture(args.out, name, model, x, meta)
        print(name, "top5", np.argsort(-y, axis=1)[:, :5].tolist())
        if name == LAYOUT_FIXTURE:
            write_training_checkpoint(model, os.path.join(args.out, name, "checkpoint.pth.tar"))

    if args.counts or args.full or args.export:
        models = registered(fan, tap)
    if args.counts:
        counts = {}
        for n, make in models.items():
            torch.manual_seed(0)
            try:
                counts[n] = pc.param_count(make())
            except Exception as e:  # tap_fan_small_12_p16_224_se_attn: FANBlock_SE takes no num_scales
                counts[n] = {"error": f"{type(e).__name__}: {e}"}
            print(n, counts[n])
        counts["_se_mlp_forward"] = se_mlp_forward(fan)
        print("se_mlp forward:", counts["_se_mlp_forward"])
        with open(os.path.join(args.out, "fan_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
    for full in (args.full.split(",") if args.full else []):
        torch.manual_seed(0)
        model = models[full]()
        randomize(model, seed=zlib.crc32(full.encode()) % 10000)
        x = pc.random_input((1, 3, 224, 224), seed=7)
        y = pc.write_fixture(args.full_out, full, model, x, {"family": "fan", "model": full})
        print(full, "top5", np.argsort(-y, axis=1)[:, :5].tolist())
        del model
    if args.export:
        set_double_tables()
        for m in (fan, swin, tap, tap_fan_copy, tap_swin):
            m.torch = torch
        model = models[args.export]().eval()
        randomize(model, seed=1234)
        for dynamic in (True, False):
            try:
                torch.onnx.export(model, torch.zeros(1, 3, 224, 224), args.export_out, opset_version=17,
                                  input_names=["pixel_values"], output_names=["logits"],
                                  dynamic_axes={"pixel_values": {0: "N"}, "logits": {0: "N"}} if dynamic else None)
                print("exported", args.export_out, "(dynamic batch)" if dynamic else "(static batch 1)")
                break
            except Exception as e:  # with a dynamic batch, ChannelProcessing's adaptive_avg_pool2d((N, 1)) has a traced size
                print("export failed" + ("" if dynamic else " (static)") + ":", type(e).__name__, str(e).splitlines()[0][:160])


if __name__ == "__main__":
    main()
