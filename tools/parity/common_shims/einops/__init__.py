"""Minimal stand-in for `einops` (not packaged by Debian): rearrange() and einsum() for the
patterns the OverLoCK model file uses. Our own code; axis groups "(a b)" and named sizes supported,
no ellipsis, no repeat/reduce."""
import re

import torch


def _parse(side):
    """'b (g c) h w' -> [['b'], ['g', 'c'], ['h'], ['w']]"""
    groups, i = [], 0
    tokens = re.findall(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*", side)
    cur = None
    for t in tokens:
        if t == "(":
            cur = []
        elif t == ")":
            groups.append(cur)
            cur = None
        elif cur is not None:
            cur.append(t)
        else:
            groups.append([t])
    return groups


def rearrange(x, pattern, **sizes):
    left, right = (s.strip() for s in pattern.split("->"))
    lg, rg = _parse(left), _parse(right)
    if len(lg) != x.dim():
        raise ValueError(f"pattern {pattern!r} expects {len(lg)} dims, got {x.dim()}")
    known = dict(sizes)
    for group, n in zip(lg, x.shape):
        unknown = [a for a in group if a not in known]
        prod = 1
        for a in group:
            if a in known:
                prod *= known[a]
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
        elif unknown:
            raise ValueError(f"cannot infer {unknown} in {pattern!r}")
    flat = [a for g in lg for a in g]
    x = x.reshape([known[a] for a in flat])
    order = [a for g in rg for a in g]
    x = x.permute([flat.index(a) for a in order])
    return x.reshape([eval_group(g, known) for g in rg])


def eval_group(group, known):
    n = 1
    for a in group:
        n *= known[a]
    return n


def einsum(*args):
    *tensors, pattern = args
    left, right = (s.strip() for s in pattern.split("->"))
    names = {}
    subs = []
    for term in left.split(","):
        s = ""
        for a in term.split():
            names.setdefault(a, chr(ord("a") + len(names)))
            s += names[a]
        subs.append(s)
    out = "".join(names[a] for a in right.split())
    return torch.einsum(",".join(subs) + "->" + out, *tensors)


def repeat(*args, **kwargs):
    raise NotImplementedError("einops stand-in: repeat() is imported by some model files but not used by their forward")
