"""Stand-in for the `natten` package, for running the NAT/DiNAT model files on CPU.

AttnZoo's own pure-PyTorch reference of NATTEN's neighbourhood attention (NATTEN <= 0.14 module
interface: qkv / rpb / proj parameters, heads-first q/k/v, q scaled before q.k, bias added to the
logits). Rules per axis (length L, kernel k, dilation d): a query sees the k keys of its own
dilation group whose window is centred on it, shifted inward at the borders; the bias tap of a key
is (key - query) / d + k - 1. It requires k * d <= L on both axes (NATTEN 0.14 would zero-pad the
input there instead; parity configs avoid that case). There is deliberately no `context`
attribute, so the model files take their NATTEN-0.14 code path (`bias=True`).
"""
import torch
import torch.nn as nn


def axis_window(length, k, d, i):
    """Keys of query i on one axis: the closed-form window start, in group units."""
    g, ip = i % d, i // d
    lg = (length - g + d - 1) // d
    left = k // 2
    right = k - 1 - left
    start = max(ip - left, 0) + ((lg - ip - right - 1) if ip + right >= lg else 0)
    return [(start + j) * d + g for j in range(k)]


def axis_tables(length, k, d):
    keys = torch.tensor([axis_window(length, k, d, i) for i in range(length)], dtype=torch.long)
    taps = (keys - torch.arange(length)[:, None]) // d + k - 1
    return keys, taps


def neighborhood_attention_2d(q, k, v, rpb, kernel, dilation):
    """q, k, v [B, heads, H, W, hd] (q already scaled); rpb [heads, 2k-1, 2k-1] or None."""
    H, W = q.shape[2], q.shape[3]
    if kernel * dilation > H or kernel * dilation > W:
        raise ValueError("kernel*dilation exceeds the input (%d x %d)" % (H, W))
    rows, ry = axis_tables(H, kernel, dilation)
    cols, rx = axis_tables(W, kernel, dilation)
    R, C = rows[:, None, :, None], cols[None, :, None, :]           # -> [H, W, k, k]
    kg = k[:, :, R, C]                                               # [B, heads, H, W, k, k, hd]
    vg = v[:, :, R, C]
    logits = (q[:, :, :, :, None, None, :] * kg).sum(-1)             # [B, heads, H, W, k, k]
    if rpb is not None:
        logits = logits + rpb[:, ry[:, None, :, None], rx[None, :, None, :]]
    B, h = logits.shape[:2]
    p = logits.reshape(B, h, H, W, kernel * kernel).softmax(-1).reshape(logits.shape)
    return (p[..., None] * vg).sum((4, 5))                           # [B, heads, H, W, hd]


class NeighborhoodAttention2D(nn.Module):
    def __init__(self, dim, kernel_size, num_heads, qkv_bias=True, qk_scale=None, attn_drop=0.0,
                 proj_drop=0.0, dilation=None, bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = qk_scale or self.head_dim ** -0.5
        self.kernel_size = kernel_size
        self.dilation = dilation or 1
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1)) if bias else None
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        B, H, W, C = x.shape
        qkv = self.qkv(x).reshape(B, H, W, 3, self.num_heads, self.head_dim).permute(3, 0, 4, 1, 2, 5)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        y = neighborhood_attention_2d(q, k, v, self.rpb, self.kernel_size, self.dilation)
        return self.proj_drop(self.proj(y.permute(0, 2, 3, 1, 4).reshape(B, H, W, C)))
