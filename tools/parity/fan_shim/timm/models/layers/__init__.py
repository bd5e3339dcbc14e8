"""The timm.models.layers names FAN imports, eval-mode behaviour as timm 0.5.4."""
import collections.abc

import torch
import torch.nn as nn


def _assert(condition, message):
    assert condition, message


def to_2tuple(x):
    if isinstance(x, collections.abc.Iterable):
        return tuple(x)
    return (x, x)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return nn.init.trunc_normal_(tensor, mean, std, a, b)


class DropPath(nn.Module):
    """Stochastic depth: identity in eval mode (every parity run is eval)."""

    def __init__(self, drop_prob=None):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if not self.training or not self.drop_prob:
            return x
        keep = 1 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    """fc1 -> act -> dropout -> fc2 -> dropout (parameter names fc1, fc2 as timm)."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        p = to_2tuple(drop)
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.drop1 = nn.Dropout(p[0])
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(p[1])

    def forward(self, x):
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class PatchEmbed(nn.Module):
    """Non-overlapping conv patches (kernel = stride = patch), flattened to (B, N, C), optional norm."""

    def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768, norm_layer=None, flatten=True):
        super().__init__()
        img_size, patch_size = to_2tuple(img_size), to_2tuple(patch_size)
        self.img_size, self.patch_size = img_size, patch_size
        self.grid_size = (img_size[0] // patch_size[0], img_size[1] // patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.flatten = flatten
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

    def forward(self, x):
        _, _, h, w = x.shape
        _assert(h == self.img_size[0] and w == self.img_size[1], f"input {h}x{w} is not the model's {self.img_size}")
        x = self.proj(x)
        if self.flatten:
            x = x.flatten(2).transpose(1, 2)
        return self.norm(x)


class SelectAdaptivePool2d(nn.Module):
    """Only pool_type 'avg' (what ConvNeXt's head uses); FAN's hybrid backbone has no head."""

    def __init__(self, output_size=1, pool_type="avg", flatten=False):
        super().__init__()
        if pool_type not in ("avg", ""):
            raise NotImplementedError(pool_type)
        self.pool = nn.AdaptiveAvgPool2d(output_size) if pool_type else nn.Identity()
        self.flatten = nn.Flatten(1) if flatten else nn.Identity()

    def forward(self, x):
        return self.flatten(self.pool(x))


class ClassifierHead(nn.Module):
    def __init__(self, in_chs, num_classes, pool_type="avg", drop_rate=0.0):
        super().__init__()
        self.global_pool = SelectAdaptivePool2d(pool_type=pool_type, flatten=True)
        self.fc = nn.Linear(in_chs, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x):
        return self.fc(self.global_pool(x))


def lecun_normal_(tensor):
    """Initial values only (parity tensors are overwritten): variance 1/fan_in, truncated normal."""
    fan_in = tensor[0].numel() if tensor.dim() > 1 else tensor.numel()
    return nn.init.trunc_normal_(tensor, std=(1.0 / fan_in) ** 0.5 / 0.87962566103423978)
