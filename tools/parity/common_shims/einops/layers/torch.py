"""einops.layers.torch stand-in: Rearrange as a module over the stand-in rearrange()."""
import torch.nn as nn

from .. import rearrange


class Rearrange(nn.Module):
    def __init__(self, pattern, **sizes):
        super().__init__()
        self.pattern, self.sizes = pattern, sizes

    def forward(self, x):
        return rearrange(x, self.pattern, **self.sizes)
