#!/usr/bin/env python3
"""Generates the checkpoint fixtures the converters tests read.

Run with Debian's PyTorch (torch 1.13, CPU) from this directory or anywhere:

    /usr/bin/python3 converters/src/test/resources/checkpoints/make_fixtures.py

It writes, next to itself:

* st_*.safetensors  - safetensors files, written by hand (header JSON + raw bytes), since the
                      safetensors package is not needed for that;
* pt_*.pth          - torch.save checkpoints (zip format, plus one legacy-format file);
* values_p*.pkl     - plain pickles of non-tensor Python values;
* expected.json     - for every file that should load, the tensors the Java reader must return
                      (after unwrapping and prefix stripping): dtype, shape and the exact values
                      as float64 (every float16/bfloat16/float32 value is exactly a float64).

pt_evil.pth holds an object whose __reduce__ calls os.system. It is only ever written here,
never loaded: the Java reader must refuse it by name.
"""
import argparse
import collections
import json
import os
import pickle
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ST_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
expected = {}


def path(name):
    return os.path.join(HERE, name)


def raw_bytes(t):
    t = t.contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def describe(t):
    if t.dtype == torch.bool:
        values = [1.0 if v else 0.0 for v in t.reshape(-1).tolist()]
    elif t.dtype.is_floating_point:
        values = t.double().reshape(-1).tolist()
    else:
        values = [int(v) for v in t.reshape(-1).tolist()]
    return {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "values": values}


def expect(name, tensors, **extra):
    entry = {"tensors": {k: describe(v) for k, v in tensors.items()}}
    entry.update(extra)
    expected[name] = entry


def write_safetensors(name, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    blobs = []
    for k, t in tensors.items():
        b = raw_bytes(t)
        header[k] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    data = struct.pack("<Q", len(h)) + h + b"".join(blobs)
    with open(path(name), "wb") as f:
        f.write(data)
    return data


def tiny_state_dict(seed):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.LayerNorm(3))
    with torch.no_grad():
        m[1].running_mean.copy_(torch.randn(3))
        m[1].running_var.copy_(torch.rand(3) + 0.5)
        m[1].num_batches_tracked.fill_(7)
        m[2].weight.copy_(torch.randn(3))
    return m.state_dict()


class Evil:
    """Pickles as a call to os.system (posix.system on Linux). Never unpickled anywhere."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def write_swin_style(sd):
    """pt_cfgnode.pth: a Swin-lineage training checkpoint, whose 'config' is a yacs CfgNode (a dict
    subclass with an instance __dict__). A stand-in class named yacs.config.CfgNode pickles the
    same way (NEWOBJ, SETITEMS, BUILD) without yacs installed."""
    import sys
    import types
    mod = sys.modules.get("yacs.config")
    if mod is None:
        pkg = types.ModuleType("yacs")
        mod = types.ModuleType("yacs.config")

        class CfgNode(dict):
            def __init__(self, init=None):
                super().__init__(init or {})
                self.__dict__["__immutable__"] = False

        CfgNode.__module__, CfgNode.__qualname__ = "yacs.config", "CfgNode"
        mod.CfgNode = CfgNode
        pkg.config = mod
        sys.modules["yacs"], sys.modules["yacs.config"] = pkg, mod
    cfg = mod.CfgNode({"MODEL": mod.CfgNode({"TYPE": "swin", "NUM_CLASSES": 1000}), "OUTPUT": "out", "TAG": "default"})
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": []}, "max_accuracy": 81.5, "epoch": 299,
                "config": cfg}, path("pt_cfgnode.pth"))
    expect("pt_cfgnode.pth", sd, entry="model")


def main():
    torch.manual_seed(1234)

    # ---- safetensors ----
    fp32 = collections.OrderedDict()
    fp32["a.weight"] = torch.randn(3, 4)
    fp32["a.bias"] = torch.randn(4)
    fp32["scalar"] = torch.tensor(2.5)
    fp32["empty"] = torch.zeros(0, 3)
    meta = {"format": "pt", "note": "attnzoo fixture"}
    data = write_safetensors("st_fp32.safetensors", fp32, meta)
    expect("st_fp32.safetensors", fp32, metadata=meta)

    inf = float("inf")
    fp16 = collections.OrderedDict()
    fp16["w"] = torch.tensor([[0.0, -0.0, 1.0, -2.5, 65504.0],
                              [2.0 ** -24, 2.0 ** -14, inf, -inf, 0.1]], dtype=torch.float16)
    fp16["v"] = torch.randn(3).half()
    write_safetensors("st_fp16.safetensors", fp16)
    expect("st_fp16.safetensors", fp16)

    bf16 = collections.OrderedDict()
    bf16["w"] = torch.tensor([[0.0, -0.0, 1.0, -2.5, 3.3895313892515355e38],
                              [2.0 ** -133, 2.0 ** -126, inf, -inf, 0.1]], dtype=torch.bfloat16)
    bf16["v"] = torch.randn(3).bfloat16()
    write_safetensors("st_bf16.safetensors", bf16)
    expect("st_bf16.safetensors", bf16)

    alld = collections.OrderedDict()
    alld["f64"] = torch.tensor([0.1, -1e300, 2.0 ** -1074], dtype=torch.float64)
    alld["i64"] = torch.tensor([2 ** 40, -1, 0], dtype=torch.int64)
    alld["i32"] = torch.tensor([2 ** 31 - 1, -2 ** 31], dtype=torch.int32)
    alld["i16"] = torch.tensor([[-32768, 32767], [1, -1]], dtype=torch.int16)
    alld["i8"] = torch.tensor([-128, 127, -3], dtype=torch.int8)
    alld["u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    alld["bool"] = torch.tensor([True, False, True])
    write_safetensors("st_all_dtypes.safetensors", alld)
    expect("st_all_dtypes.safetensors", alld)

    # the fp32 file with its last 10 bytes missing: 'a.bias' (bytes 48..64 of 58 left) is the first tensor cut
    with open(path("st_truncated.safetensors"), "wb") as f:
        f.write(data[:-10])

    # ---- torch.save, zip format ----
    sd = tiny_state_dict(0)
    torch.save(sd, path("pt_plain.pth"))
    expect("pt_plain.pth", sd, entry="")

    torch.save({
        "model": sd,
        "epoch": 3,
        "optimizer": {"lr": 0.001, "betas": (0.9, 0.999)},
        "args": {"lr": 0.1, "name": "vit_tiny", "sizes": [1, 2, (3, 4)], "flag": True, "none": None,
                 "big": 2 ** 70, "neg": -5, "tags": {"a", "b"}, "blob": b"ab\xff",
                 "shape": torch.Size([2, 3]), "dtype": torch.float16},
    }, path("pt_wrapped.pth"))
    expect("pt_wrapped.pth", sd, entry="model")

    ema = tiny_state_dict(1)
    torch.save({"model": sd, "model_ema": ema, "epoch": 5}, path("pt_ema.pth"))
    expect("pt_ema.pth", sd, entry="model")
    expect("pt_ema.pth#model_ema", ema, entry="model_ema")

    torch.manual_seed(7)
    mod = collections.OrderedDict()
    mod["module.x"] = torch.randn(2, 2)
    mod["module.y.weight"] = torch.randn(3)
    mod["module.meta"] = 5
    mod["module.sub"] = {"a": torch.arange(4, dtype=torch.int32), "note": "hello"}
    torch.save({"state_dict": mod, "epoch": 1}, path("pt_module.pth"))
    expect("pt_module.pth", collections.OrderedDict(
        [("x", mod["module.x"]), ("y.weight", mod["module.y.weight"]), ("sub.a", mod["module.sub"]["a"])]),
        entry="state_dict", stripped="module.", ignored=["module.meta", "module.sub.note"])

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
    half = torch.randn(3, 2).half()
    views = collections.OrderedDict()
    views["base"] = base
    views["t"] = base.t()
    views["s"] = base[1:, 1:3]
    views["row"] = base[2]
    views["strided"] = base[:, ::2]
    views["elem"] = base[1, 2]
    views["expanded"] = torch.tensor([1.5, -2.0, 3.0]).expand(2, 3)
    views["half"] = half
    views["half_t"] = half.t()
    views["bf16_param"] = torch.nn.Parameter(torch.randn(2, 2).bfloat16(), requires_grad=False)
    views["param"] = torch.nn.Parameter(torch.randn(3))
    views["f64"] = torch.tensor([0.1, 1e-300], dtype=torch.float64)
    views["i64"] = torch.tensor([2 ** 40, -3])
    views["i32"] = torch.tensor([-7, 8], dtype=torch.int32)
    views["i16"] = torch.tensor([-300], dtype=torch.int16)
    views["i8"] = torch.tensor([-128, 5], dtype=torch.int8)
    views["u8"] = torch.tensor([200, 1], dtype=torch.uint8)
    views["bool"] = torch.tensor([[True], [False]])
    views["empty"] = torch.zeros(0, 3)
    views["scalar"] = torch.tensor(-1.25)
    nested = {"blocks": {"0": {"w": torch.ones(2) * 3}}}
    views["nested"] = nested
    assert not views["t"].is_contiguous() and not views["strided"].is_contiguous()
    torch.save(views, path("pt_views.pth"))
    flat = collections.OrderedDict((k, v) for k, v in views.items() if k != "nested")
    flat["nested.blocks.0.w"] = nested["blocks"]["0"]["w"]
    expect("pt_views.pth", flat, entry="")

    torch.save({"model": sd, "payload": Evil()}, path("pt_evil.pth"))
    torch.save({"model": sd, "args": argparse.Namespace(lr=0.1, model="vit")}, path("pt_namespace.pth"))
    expect("pt_namespace.pth", sd, entry="model")
    torch.save(torch.nn.Linear(2, 2), path("pt_whole_module.pth"))
    write_swin_style(sd)

    # ---- legacy (non-zip) torch.save ----
    torch.save(sd, path("pt_legacy.pth"), _use_new_zipfile_serialization=False)

    # ---- plain pickles of non-tensor values ----
    shared = [1, 2]
    values = {
        "int_small": 7, "int_neg": -5, "int_2b": 300, "int_4b": -70000, "int_big": 2 ** 70, "int_bigneg": -2 ** 63 - 1,
        "float": 0.1, "str": "héllo ✓", "none": None, "t": True, "f": False,
        "list": [1, "a", None], "tuple": (1, 2.5), "nested": {"a": {"b": [shared, shared]}},
        "set": {3}, "frozenset": frozenset({4}), "bytes": b"\x00\xff", 5: "int key",
    }
    for proto in (2, 4, 5):
        with open(path("values_p%d.pkl" % proto), "wb") as f:
            pickle.dump(values, f, protocol=proto)

    with open(path("expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
