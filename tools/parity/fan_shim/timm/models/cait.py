"""timm's CaiT class attention: the class token (x[:, 0]) queries every token; separate q, k, v
Linears, scale head_dim ** -0.5, softmax, proj. Returns (B, 1, C)."""
import torch.nn as nn


class ClassAttn(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        b, n, c = x.shape
        h = self.num_heads
        q = self.q(x[:, 0]).reshape(b, 1, h, c // h).permute(0, 2, 1, 3) * self.scale
        k = self.k(x).reshape(b, n, h, c // h).permute(0, 2, 1, 3)
        v = self.v(x).reshape(b, n, h, c // h).permute(0, 2, 1, 3)
        a = self.attn_drop((q @ k.transpose(-2, -1)).softmax(dim=-1))
        out = (a @ v).transpose(1, 2).reshape(b, 1, c)
        return self.proj_drop(self.proj(out))
