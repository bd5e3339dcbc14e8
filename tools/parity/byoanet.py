#!/usr/bin/env python3
"""Parity fixtures for timm's bring-your-own-attention networks (HaloNet, BoTNet, Lambda ResNets).

Usage:  /usr/bin/python3 tools/parity/byoanet.py --timm /path/to/pytorch-image-models [--out DIR]
            [--variants] [--export ONNX]

Per reduced fixture (each a ByoModelCfg through timm's ByobNet constructor) writes config.json
(the resolved per-block configuration in the field names of ByoaNet.Config, the parameter count),
weights.safetensors (fp16; every tensor random and fp16-exact, BatchNorm statistics included),
input.npy and expected.npy (timm's float64 logits).

--variants writes byoanet_variants.json: for every model timm registers in byoanet.py, the
configuration resolved the way ByobNet resolves it (model-level layers and kwargs overridden per
block, defaults of the attention layers filled in) and timm's parameter count. The Java variant
table is checked against it field by field.
"""
import argparse
import inspect
import json
import os
import sys
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity_common as pc  # noqa: E402

ATTN_NAMES = {"SEModule": "se", "EcaModule": "eca"}
SELF_ATTN_NAMES = {"HaloAttn": "halo", "BottleneckAttn": "bottleneck", "LambdaLayer": "lambda"}


def _kwargs(partial_fn):
    """The keyword arguments a layer partial will be called with, defaults filled in."""
    fn = partial_fn.func
    out = {k: p.default for k, p in inspect.signature(fn).parameters.items()
           if p.default is not inspect.Parameter.empty}
    out.update(partial_fn.keywords)
    return fn.__name__, out


def resolve(cfg, img_size, num_classes, in_chans=3):
    """A ByoModelCfg as ByoaNet.Config's JSON: per-stage lists of fully resolved blocks."""
    from timm.models.byobnet import expand_blocks_cfg, get_layer_fns, update_block_kwargs, make_divisible
    assert cfg.width_factor == 1.0 and not cfg.aa_layer and cfg.norm_layer == "batchnorm"
    assert cfg.head_type == "classifier" and cfg.stem_type in ("tiered", "7x7", "3x3")
    stages = []
    for stage_idx, stage in enumerate(cfg.blocks):
        blocks = []
        for block_idx, bc in enumerate(expand_blocks_cfg(stage)):
            kw = dict(layers=get_layer_fns(cfg))
            update_block_kwargs(kw, block_cfg=bc, model_cfg=cfg)
            layers = kw.pop("layers")
            assert set(kw) <= {"bottle_in", "linear_out"}, kw
            attn = None
            if bc.type == "bottle" and layers.attn is not None:
                name, akw = _kwargs(layers.attn)
                attn = {"type": ATTN_NAMES[name], "rdRatio": akw.get("rd_ratio") if name == "SEModule" else None}
            self_attn = None
            if bc.type == "self_attn":
                name, skw = _kwargs(layers.self_attn)
                self_attn = {
                    "type": SELF_ATTN_NAMES[name], "numHeads": skw["num_heads"], "dimHead": skw.get("dim_head"),
                    "blockSize": skw.get("block_size"), "haloSize": skw.get("halo_size"),
                    "qkRatio": skw.get("qk_ratio", 1.0), "qkvBias": skw.get("qkv_bias", False),
                    "avgDown": skw.get("avg_down", False), "scalePosEmbed": skw.get("scale_pos_embed", False),
                    "r": skw.get("r"),
                }
            else:
                assert bc.type == "bottle", bc.type
            blocks.append({
                "type": bc.type, "c": make_divisible(bc.c * cfg.width_factor), "s": bc.s if block_idx == 0 else 1,
                "gs": bc.gs or 0, "br": float(bc.br), "bottleIn": bool(kw.get("bottle_in", False)),
                "linearOut": bool(kw.get("linear_out", False)), "attn": attn, "selfAttn": self_attn,
            })
        stages.append(blocks)
    stem_chs = cfg.stem_chs or cfg.blocks[0].c
    assert isinstance(stem_chs, int)
    return {
        "imgSize": img_size, "inChans": in_chans, "numClasses": num_classes, "stemType": cfg.stem_type,
        "stemPool": cfg.stem_pool or "", "stemChs": stem_chs, "downsample": cfg.downsample, "act": cfg.act_layer,
        "numFeatures": cfg.num_features, "stages": stages,
    }


def reduced_cfgs():
    from timm.models.byobnet import ByoBlockCfg as B, ByoModelCfg as M, interleave_blocks
    return {
        # tiered stem + max pool; SE bottlenecks; halo blocks (q-strided: block 4 % stride 2 == 0);
        # halo window larger than the map in the last block; final 1x1 conv; SiLU
        "byoanet_halo": dict(batch=2, img=64, more_sizes=[128], classes=11, cfg=M(
            blocks=(
                B(type="bottle", d=1, c=16, s=1, gs=0, br=0.5),
                interleave_blocks(types=("bottle", "self_attn"), d=2, c=32, s=2, gs=0, br=0.5),
                B(type="self_attn", d=2, c=48, s=2, gs=0, br=0.5),
            ),
            stem_chs=16, stem_type="tiered", stem_pool="maxpool", act_layer="silu", num_features=40,
            attn_layer="se", attn_kwargs=dict(rd_ratio=0.25),
            self_attn_layer="halo", self_attn_kwargs=dict(block_size=4, halo_size=1, num_heads=2))),
        # haloregnetz-like: 3x3 stem without pool, no projection shortcuts, bottle_in + linear_out,
        # grouped 3x3, halo with qk_ratio and a block size the stride does not divide (avg-pool path)
        "byoanet_regnet": dict(batch=1, img=48, classes=9, cfg=M(
            blocks=(
                B(type="bottle", d=1, c=16, s=2, gs=8, br=2),
                interleave_blocks(types=("bottle", "self_attn"), every=1, d=2, c=24, s=2, gs=8, br=2),
                B("self_attn", d=2, c=32, s=2, gs=8, br=2),
            ),
            stem_chs=8, stem_pool="", downsample="", num_features=48, act_layer="silu",
            attn_layer="se", attn_kwargs=dict(rd_ratio=0.25), block_kwargs=dict(bottle_in=True, linear_out=True),
            self_attn_layer="halo", self_attn_kwargs=dict(block_size=3, halo_size=1, qk_ratio=0.33, num_heads=2))),
        # lambda (conv and relative-position forms), halo with qkv bias and 7x7 stem, bottleneck attention
        # with stride 2, ECA bottlenecks, ReLU, no final conv
        "byoanet_lambda_bot": dict(batch=2, img=64, classes=10, cfg=M(
            blocks=(
                B(type="bottle", d=1, c=16, s=1, gs=0, br=0.5),
                interleave_blocks(types=("bottle", "self_attn"), d=2, c=32, s=2, gs=0, br=0.5,
                                  self_attn_layer="lambda", self_attn_kwargs=dict(r=5, dim_head=4)),
                interleave_blocks(types=("bottle", "self_attn"), d=2, c=32, s=1, gs=16, br=0.5,
                                  self_attn_layer="lambda", self_attn_kwargs=dict(r=None, dim_head=4, num_heads=2)),
                interleave_blocks(types=("self_attn", "bottle"), d=2, c=48, s=2, gs=0, br=0.5,
                                  self_attn_layer="halo",
                                  self_attn_kwargs=dict(block_size=4, halo_size=2, num_heads=2, qkv_bias=True)),
                interleave_blocks(types=("self_attn", "bottle"), d=3, c=64, s=2, gs=0, br=0.5,
                                  self_attn_layer="bottleneck", self_attn_kwargs=dict(num_heads=2, qkv_bias=True)),
            ),
            stem_chs=16, stem_type="7x7", stem_pool="maxpool", act_layer="relu", attn_layer="eca")),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="path of a pytorch-image-models checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../zoo/src/test/resources/parity"))
    ap.add_argument("--variants", action="store_true", help="write byoanet_variants.json")
    ap.add_argument("--export", metavar="ONNX", help="try torch.onnx.export of halonet26t to this path")
    args = ap.parse_args()
    sys.path.insert(0, args.timm)
    import timm
    from timm.models import byoanet
    from timm.models.byobnet import ByobNet

    for name, spec in reduced_cfgs().items():
        sizes = [spec["img"]] + spec.get("more_sizes", [])
        model = ByobNet(spec["cfg"], num_classes=spec["classes"], img_size=spec["img"])
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        for size in sizes:
            fx = name if size == spec["img"] else f"{name}_{size}"
            d = os.path.join(args.out, fx)
            os.makedirs(d, exist_ok=True)
            x = pc.random_input((spec["batch"] if size == spec["img"] else 1, 3, size, size), seed=7)
            y = pc.reference_logits(model, x)
            sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
            pc.write_safetensors(os.path.join(d, "weights.safetensors"), sd, dtype=torch.float16)
            pc.write_npy(os.path.join(d, "input.npy"), x.float().numpy())
            pc.write_npy(os.path.join(d, "expected.npy"), y)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump({"family": "byoanet", "upstream": "timm.models.byobnet.ByobNet",
                           "config": resolve(spec["cfg"], size, spec["classes"]),
                           "parameters": pc.param_count(model)}, f, indent=1)
            print(fx, "params", pc.param_count(model), "logits", y.shape)

    if args.variants:
        out = {}
        for n in timm.list_models(module="byoanet"):
            m = timm.create_model(n)
            cfg_name = n if n in byoanet.model_cfgs else n[:-len("_256")]
            pcfg = m.pretrained_cfg
            out[n] = {"config": resolve(byoanet.model_cfgs[cfg_name], pcfg["input_size"][-1], 1000),
                      "parameters": pc.param_count(m),
                      "preprocessing": {"input_size": pcfg["input_size"][-1], "crop_pct": pcfg["crop_pct"],
                                        "interpolation": pcfg["interpolation"], "mean": list(pcfg["mean"]),
                                        "std": list(pcfg["std"])}}
        with open(os.path.join(args.out, "byoanet_variants.json"), "w") as f:
            json.dump(out, f, indent=1)
        print("variants", {k: v["parameters"] for k, v in out.items()})

    if args.export:
        model = timm.create_model("halonet26t").eval()
        pc.randomize_(model, seed=1234)
        try:
            torch.onnx.export(model, torch.zeros(1, 3, 256, 256), args.export, opset_version=17,
                              input_names=["pixel_values"], output_names=["logits"])
            print("exported", args.export)
        except Exception as e:
            print("export failed:", type(e).__name__, str(e).splitlines()[0])


if __name__ == "__main__":
    main()
