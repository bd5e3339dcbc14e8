#!/usr/bin/env python3
"""Parity fixtures for AFFNet against the authors' code (microsoft/TokenMixers, "Adaptive Frequency Filters/").

Usage:  OMP_NUM_THREADS=1 /usr/bin/python3 tools/parity/affnet.py --src "/path/to/TokenMixers/Adaptive Frequency Filters"
            [--out DIR] [--counts] [--full DIR] [--export FILE]

Imports the authors' affnet/models/classification/affnet.py (AffNet) without running the package
__init__ files that pull in their detection/segmentation/training stack: the packages affnet,
affnet.models and affnet.models.classification are registered as bare namespaces over the real
folders (with the one registry decorator and one re-export the model files use), then the real
affnet.layers, affnet.modules and affnet/models/classification/{base_cls,affnet}.py are imported
as they are. einops comes from tools/parity/common_shims. The frequency filter casts its input
to float32 (x.float(), an AMP guard); the float64 reference keeps that cast in float64.

The run configurations (yaml files) are not in the repository (the README links them from
OneDrive folders), so the model is built from an options object holding exactly the settings the
model code reads: the mode (the named variant), the class count, model.normalization.name
(batch_norm: the model code's fallback; the argument parser's default None cannot build a model),
model.activation.name (relu: the argument parser's default; swish in one fixture), the AFF blocks'
attn_norm_layer (layer_norm: the argument parser's default; layer_norm_2d, the model code's
fallback, in one fixture) and model.activation.sparsity_threshold (0.01 default; larger in one
fixture so the softshrink zeroes part of the spectrum). affnet_reduced also gets its weights in the
two layouts the authors' checkpoint code writes (checkpoint_ema_best.pt, checkpoint.pt). Reduced fixtures replace the per-mode layer
table (config/affnet.get_configuration) with a smaller one of the same shape.
--counts writes affnet_param_counts.json for the three modes the argument parser offers.
--full DIR writes a full-size AFFNet (mode small) fixture with random weights to DIR;
--export FILE exports the same model with torch.onnx.export (torch 1.13 cannot export fft ops:
the failure is printed).
"""
import argparse
import contextlib
import io
import json
import os
import sys
import types
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import parity_common as pc  # noqa: E402

MODES = {"affnet_xx_small": "xx_small", "affnet_x_small": "x_small", "affnet_small": "small"}


def layer_table(c, exp, blocks, ffn_mult=2, no_fuse=(False, False, False)):
    """A get_configuration-shaped table: layer1/2 MobileNetV2, layer3-5 a stride-2 MV2 block + an AFF block."""
    t = {"layer1": {"out_channels": c[0], "expand_ratio": exp, "num_blocks": 1, "stride": 1, "block_type": "mv2"},
         "layer2": {"out_channels": c[1], "expand_ratio": exp, "num_blocks": 2, "stride": 2, "block_type": "mv2"},
         "last_layer_exp_factor": 4}
    for i, n in enumerate(("layer3", "layer4", "layer5")):
        d = c[2 + i]
        t[n] = {"out_channels": d, "transformer_channels": d, "ffn_dim": ffn_mult * d, "transformer_blocks": blocks[i],
                "patch_h": 2, "patch_w": 2, "stride": 2, "mv_expand_ratio": exp, "head_dim": None, "num_heads": 4,
                "block_type": "aff_block", "no_fuse": no_fuse[i]}
    return t


REDUCED = {
    # 64 px: maps 32/32/16/8/4/2; defaults (relu, attn norm layer_norm, threshold 0.01)
    "affnet_reduced": dict(batch=2, img=64, classes=11, act="relu", attn_norm="layer_norm", threshold=0.01,
                           table=layer_table([8, 16, 16, 24, 32], 2, [1, 2, 1])),
    # 56 px: odd maps 28/28/14/7/4/2 (odd-width spectra), swish, GroupNorm(1) attention norm, a larger
    # shrink threshold, layer4 without fusion (as the 'base'/'large' tables), ffn 3x, expansion 4
    "affnet_reduced_odd": dict(batch=1, img=56, classes=7, act="swish", attn_norm="layer_norm_2d", threshold=0.3,
                               table=layer_table([8, 16, 24, 16, 32], 4, [2, 1, 1], ffn_mult=3, no_fuse=(False, True, False))),
}


def java_config(spec, table):
    return {"imgSize": spec["img"], "numClasses": spec["classes"],
            "layer1": table["layer1"]["out_channels"], "layer2": table["layer2"]["out_channels"],
            "layer2Blocks": table["layer2"]["num_blocks"], "layer1Blocks": table["layer1"]["num_blocks"],
            "channels": [table[n]["out_channels"] for n in ("layer3", "layer4", "layer5")],
            "ffnDims": [table[n]["ffn_dim"] for n in ("layer3", "layer4", "layer5")],
            "blocks": [table[n]["transformer_blocks"] for n in ("layer3", "layer4", "layer5")],
            "fusion": [not table[n].get("no_fuse", False) for n in ("layer3", "layer4", "layer5")],
            "expandRatio": table["layer1"]["expand_ratio"], "activation": spec["act"], "attnNorm": spec["attn_norm"],
            "sparsityThreshold": spec["threshold"]}


def load(src):
    """Imports AffNet with bare namespace packages over the authors' folders (see the module doc)."""
    sys.path.insert(0, os.path.join(HERE, "common_shims"))
    sys.path.insert(0, src)

    def pkg(name, path, **attrs):
        m = types.ModuleType(name)
        m.__path__ = [os.path.join(src, path)]
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    root = pkg("affnet", "affnet")
    import affnet.misc.common as common
    root.parameter_list = common.parameter_list
    pkg("affnet.models", "affnet/models")
    pkg("affnet.models.classification", "affnet/models/classification", register_cls_models=lambda name: (lambda cls: cls))
    with contextlib.redirect_stdout(io.StringIO()):
        import affnet.layers  # noqa: F401
        import affnet.modules  # noqa: F401
        from affnet.models.classification import affnet as a
        from affnet.modules import aff_block
    keep_float64_in_filter(aff_block.AFNO2D_channelfirst)
    return a


def keep_float64_in_filter(cls):
    """The filter casts its input with x.float() (an AMP guard); for the float64 reference that cast
    keeps float64 while the filter runs, nothing else changes."""
    forward = cls.forward
    to_float = torch.Tensor.float

    def f64_forward(self, x, *args, **kwargs):
        torch.Tensor.float = lambda t, *a, **k: t if t.dtype == torch.float64 else to_float(t, *a, **k)
        try:
            return forward(self, x, *args, **kwargs)
        finally:
            torch.Tensor.float = to_float

    cls.forward = f64_forward


def options(mode, classes, act="relu", attn_norm="layer_norm", threshold=0.01):
    o = argparse.Namespace()
    for k, v in {"model.classification.affnet.mode": mode, "model.classification.n_classes": classes,
                 "model.classification.classifier_dropout": 0.0, "model.layer.global_pool": "mean",
                 "model.normalization.name": "batch_norm", "model.normalization.momentum": 0.1,
                 "model.activation.name": act, "model.activation.inplace": False, "model.activation.neg_slope": 0.1,
                 "model.activation.sparsity_threshold": threshold,
                 "model.classification.affnet.attn_norm_layer": attn_norm,
                 "model.classification.affnet.head_dim": None, "model.classification.affnet.number_heads": 4,
                 "common.enable_coreml_compatible_module": False, "benchmark.use_jit_model": False}.items():
        setattr(o, k, v)
    return o


def build(a, opts, table=None):
    original = a.get_configuration
    if table is not None:
        a.get_configuration = lambda opts: json.loads(json.dumps(table))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return a.AffNet(opts)
    finally:
        a.get_configuration = original


def write_checkpoints(d, model):
    """The layouts the authors' utils/checkpoint_utils.save_checkpoint writes: checkpoint_ema_best.pt
    (a bare state dict, the only layout their load_pretrained_model accepts) and the training
    checkpoint.pt (model_state_dict, ema_state_dict, optimizer state, ...). Same weights as the fixture."""
    sd = {k: v.float() for k, v in model.state_dict().items()}
    torch.save(sd, os.path.join(d, "checkpoint_ema_best.pt"))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.save({"iterations": 1000, "epoch": 299, "model_state_dict": sd, "optim_state_dict": opt.state_dict(),
                "best_metric": 79.8, "gradient_scalar_state_dict": {}, "ema_state_dict": sd}, os.path.join(d, "checkpoint.pt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help='path of "Adaptive Frequency Filters" in a microsoft/TokenMixers checkout')
    ap.add_argument("--out", default=os.path.join(HERE, "../../zoo/src/test/resources/parity"))
    ap.add_argument("--counts", action="store_true")
    ap.add_argument("--full", help="directory for the full-size affnet_small fixture")
    ap.add_argument("--export", help="torch.onnx.export of the full-size affnet_small")
    args = ap.parse_args()
    a = load(args.src)

    for name, spec in REDUCED.items():
        opts = options("small", spec["classes"], spec["act"], spec["attn_norm"], spec["threshold"])
        model = build(a, opts, spec["table"])
        pc.randomize_(model, seed=zlib.crc32(name.encode()) % 10000)
        x = pc.random_input((spec["batch"], 3, spec["img"], spec["img"]), seed=7)
        meta = {"family": "affnet", "upstream": "affnet.py AffNet", "options": {k: v for k, v in vars(opts).items()},
                "table": spec["table"], "config": java_config(spec, spec["table"])}
        pc.write_fixture(args.out, name, model, x, meta)
        if name == "affnet_reduced":
            write_checkpoints(os.path.join(args.out, name), model)

    if args.counts:
        counts = {}
        for name, mode in MODES.items():
            counts[name] = pc.param_count(build(a, options(mode, 1000)))
        with open(os.path.join(args.out, "affnet_param_counts.json"), "w") as f:
            json.dump(counts, f, indent=2)
        print("counts", counts)

    if args.full or args.export:
        model = build(a, options("small", 1000))
        pc.randomize_(model, seed=2468)
        if args.full:
            os.makedirs(args.full, exist_ok=True)
            sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
            pc.write_safetensors(os.path.join(args.full, "model.safetensors"), sd, dtype=torch.float16)
            x = pc.random_input((1, 3, 256, 256), seed=11)
            pc.write_npy(os.path.join(args.full, "input.npy"), x.float().numpy())
            pc.write_npy(os.path.join(args.full, "expected.npy"), pc.reference_logits(model, x))
            with open(os.path.join(args.full, "config.json"), "w") as f:
                json.dump({"family": "affnet", "model": "affnet_small", "parameters": pc.param_count(model)}, f, indent=2)
            print("affnet_small full params", pc.param_count(model))
        if args.export:
            try:
                with torch.no_grad():
                    torch.onnx.export(model.float().eval(), torch.zeros(1, 3, 256, 256), args.export, opset_version=17,
                                      input_names=["pixel_values"], output_names=["logits"])
                print("exported", args.export)
            except Exception as e:  # torch 1.13 has no ONNX symbolic for fft_rfft2
                print("export failed:", type(e).__name__, str(e).splitlines()[0][:200])


if __name__ == "__main__":
    main()
