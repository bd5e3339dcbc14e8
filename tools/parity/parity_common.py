"""Shared helpers for AttnZoo's parity-fixture generators.

Our own code: random fp16-exact weights for every tensor of a module's state dict, a minimal
safetensors writer (Debian ships no python3-safetensors), .npy output, and a float64 reference run.
"""
import json
import math
import os
import struct

import numpy as np
import torch

ST_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


def fp16_exact(t):
    """Rounds to values a float16 can hold exactly, returned in t's dtype."""
    return t.to(torch.float16).to(t.dtype)


def randomize_(module, seed):
    """Gives every floating tensor of the state dict (parameters and buffers) random fp16-exact values.

    Norm scales stay near 1 and BatchNorm variances positive, so activations stay in range; biases,
    position tables, gates and statistics are all random so mapping bugs cannot hide behind 0 or 1.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if not torch.is_floating_point(t):
                continue
            shape = t.shape
            rnd = torch.randn(shape, generator=g, dtype=torch.float64)
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_var":
                val = 0.5 + rnd.abs()
            elif leaf == "running_mean":
                val = 0.2 * rnd
            elif t.dim() == 1 and ("norm" in name or leaf in ("gamma", "ls", "layer_scale")) and leaf == "weight":
                val = 1.0 + 0.2 * rnd
            elif t.dim() >= 2 and leaf == "weight":
                fan_in = int(np.prod(shape[1:]))
                val = rnd / math.sqrt(fan_in)
            elif leaf == "bias":
                val = 0.1 * rnd
            else:
                val = 0.5 * rnd
            t.copy_(fp16_exact(val.to(t.dtype)))


def write_safetensors(path, tensors, dtype=None, metadata=None):
    """Writes {name: tensor} as safetensors (optionally cast to dtype), atomically."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if dtype is not None and torch.is_floating_point(t):
            t = t.to(dtype)
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def write_npy(path, array):
    np.save(path, np.ascontiguousarray(array))


def random_input(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return fp16_exact(torch.randn(shape, generator=g, dtype=torch.float64))


def reference_logits(model, x):
    """The upstream model's output in float64, eval mode."""
    model = model.double().eval()
    with torch.no_grad():
        return model(x.double()).numpy()


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def write_fixture(out_dir, name, model, x, meta, dtype=torch.float16):
    """Writes one fixture directory: weights.safetensors (state dict in `dtype`; 0-dim tensors as
    [1]), input.npy, expected.npy (the model's float64 output on x) and config.json (`meta` plus the
    parameter count). Returns the expected output."""
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    y = reference_logits(model, x)
    sd = {k: (v.reshape(1) if v.dim() == 0 else v) for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(d, "weights.safetensors"), sd, dtype=dtype)
    write_npy(os.path.join(d, "input.npy"), x.float().numpy())
    write_npy(os.path.join(d, "expected.npy"), y)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(dict(meta, parameters=param_count(model)), f, indent=2)
    print(name, "params", param_count(model), "logits", y.shape)
    return y


ST_NAMES = {v: k for k, v in ST_DTYPES.items()}


def read_safetensors(path):
    """Reads a safetensors file written by write_safetensors (or anyone) into {name: tensor}."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        f.seek(0)
        blob = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        raw = bytearray(blob[base + a: base + b])
        dt = ST_NAMES[h["dtype"]]
        t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(h["shape"]).clone()
    return out


def load_fixture_weights(model, fixture_dir, file="weights.safetensors"):
    """Loads a fixture's weights into an upstream model (strict), in float64, eval mode."""
    sd = read_safetensors(os.path.join(fixture_dir, file))
    own = model.state_dict()
    sd = {k: (v.reshape(own[k].shape) if k in own and v.numel() == own[k].numel() else v) for k, v in sd.items()}
    model.load_state_dict(sd)
    return model.double().eval()


def write_backbone_outputs(fixture_dir, features=None, embedding=None, source=""):
    """Adds the upstream backbone outputs to a fixture directory: features_<i>.npy (NCHW, float64)
    for each {index: tensor} and embedding.npy ([N, D]); backbone.json says where they came from."""
    written = {}
    for i, t in sorted((features or {}).items()):
        a = t.detach().double().numpy()
        write_npy(os.path.join(fixture_dir, "features_%d.npy" % i), a)
        written["features_%d" % i] = list(a.shape)
    if embedding is not None:
        a = embedding.detach().double().numpy()
        write_npy(os.path.join(fixture_dir, "embedding.npy"), a)
        written["embedding"] = list(a.shape)
    with open(os.path.join(fixture_dir, "backbone.json"), "w") as f:
        json.dump({"source": source, "outputs": written}, f, indent=2)
    print(os.path.basename(fixture_dir), "backbone outputs", written)


def write_resized(fixture_dir, model, size, seed=11):
    """Adds input_s<size>.npy and expected_s<size>.npy: the upstream model (already holding the
    fixture's weights, built for that input size where its constructor takes one) on a random
    fp16-exact input of size x size, float64 logits. For testing Architecture.atSize."""
    x = random_input((1, 3, size, size), seed=seed)
    with torch.no_grad():
        y = model.double().eval()(x.double()).numpy()
    write_npy(os.path.join(fixture_dir, "input_s%d.npy" % size), x.float().numpy())
    write_npy(os.path.join(fixture_dir, "expected_s%d.npy" % size), y)
    print(os.path.basename(fixture_dir), "resized", size, "logits", y.shape)


class StubRegistry:
    """Stand-in for an OpenMMLab registry (BACKBONES, MODELS): registering leaves the class as it is,
    with or without parentheses (``@BACKBONES.register_module()`` and ``@BACKBONES.register_module``)."""

    def register_module(self, *a, **k):
        if len(a) == 1 and isinstance(a[0], type) and not k:
            return a[0]
        return lambda cls: cls


def stub_modules(stubs, replace=False):
    """Installs stand-in modules for the OpenMMLab names (mmcv, mmdet, mmseg, mmcv_custom, ...) that the
    authors' detection / segmentation files import but a backbone's forward never calls: ``stubs`` maps
    a module name to its attributes (None: none). An existing module is kept unless ``replace``."""
    import sys
    import types
    for name, attrs in stubs.items():
        if name in sys.modules and not replace:
            continue
        m = types.ModuleType(name)
        m.__path__ = []
        m.__dict__.update(attrs or {})
        sys.modules[name] = m


def torch_with_float32_as_float64():
    """A view of the torch module whose ``float32`` is ``float64``: assigned to an upstream model file's
    ``torch`` name, its explicit casts to float32 (mixed-precision guards) stay in float64 like the
    rest of a float64 reference run. Nothing else changes."""
    import types
    view = types.ModuleType("torch_f64_view")
    view.__dict__.update({k: getattr(torch, k) for k in dir(torch) if not k.startswith("__")})
    view.float32 = torch.float64
    return view
