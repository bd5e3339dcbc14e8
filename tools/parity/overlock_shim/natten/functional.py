"""na2d_av with NATTEN's rules: per axis, the k keys of a query form a window centred on it and
shifted inward at the borders (dilation 1). attn [B, heads, H, W, k*k] (row-major taps),
value [B, heads, H, W, D] -> [B, heads, H, W, D]."""
import torch


def _axis_keys(length, k):
    left = k // 2
    starts = [min(max(i - left, 0), length - k) for i in range(length)]
    return torch.tensor([[s + j for j in range(k)] for s in starts], dtype=torch.long)


def na2d_av(attn, value, kernel_size, dilation=1, *args, **kwargs):
    if dilation != 1:
        raise NotImplementedError("stand-in supports dilation 1 only")
    B, h, H, W, D = value.shape
    k = kernel_size
    if k > H or k > W:
        raise ValueError("kernel larger than the input (%d x %d)" % (H, W))
    rows, cols = _axis_keys(H, k), _axis_keys(W, k)
    vg = value[:, :, rows[:, None, :, None], cols[None, :, None, :]]      # [B, h, H, W, k, k, D]
    a = attn.reshape(B, h, H, W, k, k, 1)
    return (a * vg).sum((4, 5))
