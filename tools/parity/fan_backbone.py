#!/usr/bin/env python3
"""Backbone outputs of the FAN / TAP-FAN parity fixtures, in float64, from the authors' models.

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/fan_backbone.py --fan /path/to/NVlabs-FAN
            --tapadl /path/to/TAPADL [--out DIR]

The upstream classifiers are built as tools/parity/fan.py builds them (its loaders, timm shim and
float64 Fourier table; NVlabs/FAN @ ee1b7df models/, guoyongcs/TAPADL @ 6e4dbff TAPADL_FAN/models/)
and get each fixture's weights.safetensors; their logits must reproduce expected.npy.

Embedding: the classifier's forward_features (the normed class token the head reads).
Feature maps (hybrid fixtures only): the tensors the authors' segmentation backbone
(segmentation/mmseg/models/backbones/fan.py, class FAN, feat_downsample=False as its configs)
returns: each ConvNeXt stage's output of the hybrid stem, the output of block out_idx (the last
block for the reduced configs, as for tiny/small/base), and the patch tokens after the
class-attention blocks. That class is an older copy of the FAN blocks, so the maps are taken with
forward hooks on the classifier (same modules, same weights) rather than by running it. The ViT
fixtures are isotropic: embedding only.

FAN-Swin (fan_swin_reduced): per stage the tensor the authors' segmentation backbone
(segmentation/mmseg/models/backbones/swin_utils.py FANSwinTransformer, out_indices 0..3) returns:
the stage output before PatchMerging through its norm<i> (nn.LayerNorm, here at PyTorch's
initialisation, weight 1 and bias 0, as before segmentation training), taken with hooks on the
classifier's last block of each stage; embedding: forward_features (final norm, mean over tokens).

Resized logits (input_s<S>/expected_s<S>): fan_vit_reduced at 80, fan_hybrid_reduced at 96. None for
fan_swin_reduced: its last stage's 2x2 map is its own window (a 3x3 bias table), which any other size
changes, so the weights fit no other size.
Existing fixture files are not touched.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

FIXTURES = {"fan_vit_reduced": 80, "fan_vit_reduced_odd": None, "fan_hybrid_reduced": 96,
            "tap_fan_hybrid_reduced": None, "tap_fan_vit_reduced": None, "fan_swin_reduced": None}


def load_generator():
    spec = importlib.util.spec_from_file_location("fan_generator", os.path.join(HERE, "fan.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def as_map(out, blk):
    """A block's output as NCHW: TAP blocks return (map, attn); FAN blocks tokens [B, H*W, C] with blk.H/W."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    if out.dim() == 4:
        return out
    B, N, C = out.shape
    return out.transpose(1, 2).reshape(B, C, blk.H, blk.W)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fan", required=True, help="NVlabs/FAN checkout (with models/)")
    ap.add_argument("--tapadl", required=True, help="guoyongcs/TAPADL checkout (with TAPADL_FAN/models/)")
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    args = ap.parse_args()
    gen = load_generator()
    sys.path.insert(0, os.path.join(HERE, "fan_shim"))
    sys.path.insert(1, os.path.join(HERE, "common_shims"))
    gen.load_package(os.path.join(args.fan, "models"), "fan_models")
    import fan_models.fan as fan
    import fan_models.convnext_utils as conv
    import fan_models.swin_utils as swin
    gen.load_package(os.path.join(args.tapadl, "TAPADL_FAN", "models"), "tap_models")
    import tap_models.tap_fan as tap
    import tap_models.convnext_utils as tap_conv
    import tap_models.fan as tap_fan_copy
    import tap_models.swin_utils as tap_swin
    gen.set_double_tables(fan, swin, tap, tap_fan_copy, tap_swin)

    for fixture, other in FIXTURES.items():
        d = os.path.join(args.out, fixture)
        spec = gen.REDUCED[fixture]
        torch.manual_seed(0)
        model = pc.load_fixture_weights(gen.build(spec, fan, conv, swin, tap, tap_conv), d)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy"))).double()
        hybrid = "backbone" in spec
        grabbed, hooks = {}, []
        if spec["kind"] == "swin":
            hybrid = True   # has feature maps
            side = spec["kw"]["img_size"] // spec["kw"]["patch_size"]
            for i, layer in enumerate(model.layers):
                def stage_out(m, a, o, i=i, s=side >> i):
                    B, N, C = o.shape
                    norm = torch.nn.LayerNorm(C).double()   # norm<i> as constructed (weight 1, bias 0)
                    grabbed[i] = norm(o).transpose(1, 2).reshape(B, C, s, s)
                hooks.append(layer.blocks[-1].register_forward_hook(stage_out))
        elif hybrid:
            for i, st in enumerate(model.patch_embed.backbone.stages):
                hooks.append(st.register_forward_hook(lambda m, a, o, i=i: grabbed.__setitem__(i, o)))
            n = len(model.patch_embed.backbone.stages)
            last = model.blocks[-1]   # out_idx: the last block for these configs
            hooks.append(last.register_forward_hook(lambda m, a, o: grabbed.__setitem__(n, as_map(o, m))))

            def after_ca(m, a, o):
                B, N1, C = o.shape
                H, W = last.H, last.W
                grabbed[n + 1] = o[:, 1:].transpose(1, 2).reshape(B, C, H, W)
            hooks.append(model.cls_attn_blocks[-1].register_forward_hook(after_ca))
        with torch.no_grad():
            logits = model(x)
            assert np.abs(logits.numpy() - np.load(os.path.join(d, "expected.npy"))).max() < 1e-9, "fixture weights do not reproduce its logits"
            for h in hooks:
                h.remove()
            emb = model.forward_features(x)
            emb = emb[0] if isinstance(emb, tuple) else emb
        src = ("TAPADL@6e4dbff tap_fan.py" if spec["kind"] == "tap" else "NVlabs/FAN@ee1b7df models/fan.py") + " forward_features (embedding)"
        if spec["kind"] == "swin":
            src = "NVlabs/FAN@ee1b7df models/swin_utils.py forward_features (embedding); features as segmentation/mmseg/models/" \
                  "backbones/swin_utils.py FANSwinTransformer: norm<i>(stage output before PatchMerging), norm<i> at init (forward hooks)"
        elif hybrid:
            src += "; features as segmentation/mmseg/models/backbones/fan.py FAN (feat_downsample=False): ConvNeXt stage outputs, " \
                   "block out_idx=last, patch tokens after cls_attn_blocks (forward hooks on the classifier)"
        pc.write_backbone_outputs(d, grabbed if hybrid else None, emb, source=src)
        if other:
            pc.write_resized(d, model, other)


if __name__ == "__main__":
    main()
