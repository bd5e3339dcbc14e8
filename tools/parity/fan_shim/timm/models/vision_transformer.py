"""The vision_transformer names FAN imports: _cfg, Mlp, checkpoint_filter_fn, _init_vit_weights."""
import torch.nn as nn

from .layers import Mlp, trunc_normal_  # noqa: F401


def _cfg(url="", **kwargs):
    return {"url": url, "num_classes": 1000, "input_size": (3, 224, 224), "pool_size": None,
            "crop_pct": 0.9, "interpolation": "bicubic", "fixed_input_size": True,
            "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "first_conv": "patch_embed.proj",
            "classifier": "head", **kwargs}


def checkpoint_filter_fn(state_dict, model):
    raise NotImplementedError("the timm shim loads no pretrained weights")


def _init_vit_weights(module, name="", head_bias=0.0, jax_impl=False):
    """Initial values only (every parity tensor is overwritten with random values afterwards)."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.zeros_(module.bias)
        nn.init.ones_(module.weight)
