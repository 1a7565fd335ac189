#!/usr/bin/env python3
"""Golden fixtures for the @methodzoo/core op conformance suite, computed by PyTorch in float64.

One OpInfo-style table (``CASES``) lists sample inputs for every op: the op's TypeScript name, its
inputs (shape, dtype, how to sample them from a fixed seed), its attributes (JSON, TypeScript option
names) and, through ``OPS``, the PyTorch expression that defines it. For every case this writes the
inputs, the attributes, the outputs, a random ``upstream`` gradient per differentiable output and the
gradients of ``sum(out * upstream)`` with respect to every differentiable input, one JSON file per
op family under ``packages/core/test/fixtures/ops/``.

Before a case is written its torch gradient is checked against central differences (eps 1e-6), so a
fixture never sits on a kink (relu at 0, ties of max): the TypeScript finite-difference check reuses
the same inputs. Cases that put ties on purpose carry ``"ties": true`` and skip that check.

Usage:
    python3 tools/golden/ops_golden.py           # (re)write the fixtures
    python3 tools/golden/ops_golden.py --check   # exit 1 if the committed fixtures differ
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "packages" / "core" / "test" / "fixtures" / "ops"
OUTPUT_DIGITS = 13  # significant digits kept for outputs and gradients (tests compare at 1e-10)
INPUT_DECIMALS = 5  # sampled inputs are rounded so JSON holds them exactly and ties are rare
UPSTREAM_DECIMALS = 4

torch.set_default_dtype(torch.float64)
# kl_div's 'mean' is tested on purpose; its deprecation notice is noise here.
warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss")
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")


# ---- input specs ------------------------------------------------------------------------------


def T(*shape: int, kind: str = "randn", grad: bool | None = None, name: str | None = None, **kw) -> dict:
    """An input: `kind` is randn | away (randn pushed 0.2 off zero) | pos | uniform | intf (integer
    valued floats, for ties) | int (int32) | bool | rowmask (bool, every last-dim row has a True) |
    prob / logprob (softmax / log-softmax of randn along `dim`) | data (explicit `data`)."""
    is_float = kind not in ("int", "bool", "rowmask") and kw.get("dtype", "float64") == "float64"
    return {"shape": list(shape), "kind": kind, "grad": is_float if grad is None else grad, "name": name, **kw}


def sample(spec: dict, gen: torch.Generator) -> torch.Tensor:
    shape, kind = spec["shape"], spec["kind"]
    scale, shift = spec.get("scale", 1.0), spec.get("shift", 0.0)
    lo, hi = spec.get("lo"), spec.get("hi")
    if kind == "data":
        dtype = {"float64": torch.float64, "int32": torch.int32, "bool": torch.bool}[spec.get("dtype", "float64")]
        return torch.tensor(spec["data"], dtype=dtype).reshape(shape)
    if kind == "int":
        return torch.randint(lo, hi, shape, generator=gen, dtype=torch.int64).to(torch.int32)
    if kind == "bool":
        return torch.rand(shape, generator=gen) < spec.get("p", 0.5)
    if kind == "rowmask":
        m = torch.rand(shape, generator=gen) < spec.get("p", 0.6)
        m[..., 0] = True
        return m
    if kind == "intf":
        return torch.randint(lo, hi, shape, generator=gen).to(torch.float64)
    if kind == "randn":
        x = torch.randn(shape, generator=gen) * scale + shift
    elif kind == "away":
        x = torch.randn(shape, generator=gen) * scale
        x = torch.sign(x) * (x.abs() + 0.2) + shift
    elif kind == "pos":
        x = 0.5 + 1.5 * torch.rand(shape, generator=gen)
    elif kind == "uniform":
        x = lo + (hi - lo) * torch.rand(shape, generator=gen)
    elif kind == "prob":
        x = torch.softmax(torch.randn(shape, generator=gen), spec.get("dim", -1))
    elif kind == "logprob":
        x = torch.log_softmax(torch.randn(shape, generator=gen), spec.get("dim", -1))
    else:
        raise ValueError(f"unknown input kind {kind}")
    x = torch.round(x, decimals=INPUT_DECIMALS)
    if "zero" in spec:  # explicit zeros (xlogy cases)
        x.view(-1)[spec["zero"]] = 0.0
    return x


# ---- the torch expression of every op (attrs use the TypeScript option names) ----------------------


def scalar_binary(fn):
    def run(x, a, n):
        if "scalar" not in a:
            return fn(x[0], x[1])
        s = torch.tensor(a["scalar"], dtype=x[0].dtype)
        return fn(s, x[0]) if a.get("scalarFirst") else fn(x[0], s)

    return run


def unary(fn):
    return lambda x, a, n: fn(x[0])


def reduce_dims(a):
    d = a.get("dim")
    return tuple(d) if isinstance(d, list) else d


def red(fn, all_dims_empty_tuple=False):
    def run(x, a, n):
        d = reduce_dims(a)
        if d is None:
            if all_dims_empty_tuple:
                return fn(x[0], dim=(), keepdim=a.get("keepdim", False))
            out = fn(x[0])
            return out.reshape([1] * x[0].ndim) if a.get("keepdim") else out
        return fn(x[0], dim=d, keepdim=a.get("keepdim", False))

    return run


def var_like(fn):
    def run(x, a, n):
        return fn(x[0], dim=reduce_dims(a), correction=a.get("correction", 1), keepdim=a.get("keepdim", False))

    return run


def arg_reduce(fn):
    def run(x, a, n):
        if a.get("dim") is None:
            out = fn(x[0])
            return out.reshape([1] * x[0].ndim) if a.get("keepdim") else out
        return fn(x[0], dim=a["dim"], keepdim=a.get("keepdim", False))

    return run


def clamp(x, a, n):
    lo = n.get("min", a.get("min"))
    hi = n.get("max", a.get("max"))
    return torch.clamp(x[0], min=lo, max=hi)


def where(x, a, n):
    b = x[2] if len(x) > 2 else torch.tensor(a["scalar"], dtype=x[1].dtype)
    return torch.where(x[0], x[1], b)


def slice_op(x, a, n):
    t = x[0]
    dim = a["dim"] % t.ndim
    idx = [slice(None)] * t.ndim
    idx[dim] = slice(a.get("start", 0), a.get("end"), a.get("step", 1))
    return t[tuple(idx)]


def pair_or_str(v):
    return tuple(v) if isinstance(v, list) else v


def conv_args(a, keys):
    out = {}
    for ts, py in keys:
        if ts in a:
            out[py] = pair_or_str(a[ts])
    return out


def conv1d(x, a, n):
    return F.conv1d(x[0], x[1], n.get("bias"), **conv_args(a, [("stride", "stride"), ("padding", "padding"), ("dilation", "dilation"), ("groups", "groups")]))


def conv2d(x, a, n):
    return F.conv2d(x[0], x[1], n.get("bias"), **conv_args(a, [("stride", "stride"), ("padding", "padding"), ("dilation", "dilation"), ("groups", "groups")]))


def conv_transpose2d(x, a, n):
    keys = [("stride", "stride"), ("padding", "padding"), ("outputPadding", "output_padding"), ("dilation", "dilation"), ("groups", "groups")]
    return F.conv_transpose2d(x[0], x[1], n.get("bias"), **conv_args(a, keys))


def max_pool2d(x, a, n):
    return F.max_pool2d(x[0], pair_or_str(a["kernelSize"]), **conv_args(a, [("stride", "stride"), ("padding", "padding"), ("dilation", "dilation")]))


def avg_pool2d(x, a, n):
    kw = conv_args(a, [("stride", "stride"), ("padding", "padding")])
    return F.avg_pool2d(x[0], pair_or_str(a["kernelSize"]), count_include_pad=a.get("countIncludePad", True), **kw)


def interpolate(x, a, n):
    kw = {"mode": a.get("mode", "nearest")}
    if "size" in a:
        kw["size"] = pair_or_str(a["size"])
    if "scaleFactor" in a:
        kw["scale_factor"] = pair_or_str(a["scaleFactor"])
    if "alignCorners" in a:
        kw["align_corners"] = a["alignCorners"]
    return F.interpolate(x[0], **kw)


def batch_norm(x, a, n):
    rm = n["runningMean"].clone() if "runningMean" in n else None
    rv = n["runningVar"].clone() if "runningVar" in n else None
    training = a.get("training", True)
    y = F.batch_norm(x[0], rm, rv, n.get("weight"), n.get("bias"), training=training, momentum=a.get("momentum", 0.1), eps=a.get("eps", 1e-5))
    # The running buffers are updated in place when training: they are outputs of the case too.
    return [y, rm, rv] if training and rm is not None else y


def sdpa(x, a, n):
    return F.scaled_dot_product_attention(x[0], x[1], x[2], attn_mask=n.get("mask"), is_causal=a.get("isCausal", False), scale=a.get("scale"))


def target_of(t):
    return t.long() if t.dtype == torch.int32 else t


def cross_entropy(x, a, n):
    return F.cross_entropy(
        x[0], target_of(x[1]), weight=n.get("weight"), ignore_index=a.get("ignoreIndex", -100),
        reduction=a.get("reduction", "mean"), label_smoothing=a.get("labelSmoothing", 0.0),
    )


def nll_loss(x, a, n):
    return F.nll_loss(x[0], target_of(x[1]), weight=n.get("weight"), ignore_index=a.get("ignoreIndex", -100), reduction=a.get("reduction", "mean"))


def bce_logits(x, a, n):
    return F.binary_cross_entropy_with_logits(x[0], x[1], weight=n.get("weight"), pos_weight=n.get("posWeight"), reduction=a.get("reduction", "mean"))


def affine(n):
    return n.get("weight"), n.get("bias")


OPS = {
    # elementwise
    "neg": unary(torch.neg), "abs": unary(torch.abs), "exp": unary(torch.exp), "log": unary(torch.log),
    "log1p": unary(torch.log1p), "sqrt": unary(torch.sqrt), "rsqrt": unary(torch.rsqrt), "sin": unary(torch.sin),
    "cos": unary(torch.cos), "tanh": unary(torch.tanh), "sigmoid": unary(torch.sigmoid), "erf": unary(torch.erf),
    "sign": unary(torch.sign), "floor": unary(torch.floor), "square": unary(torch.square),
    "add": scalar_binary(torch.add), "sub": scalar_binary(torch.sub), "mul": scalar_binary(torch.mul),
    "div": scalar_binary(torch.div), "pow": scalar_binary(torch.pow),
    "maximum": scalar_binary(torch.maximum), "minimum": scalar_binary(torch.minimum),
    "eq": scalar_binary(torch.eq), "ne": scalar_binary(torch.ne), "lt": scalar_binary(torch.lt),
    "le": scalar_binary(torch.le), "gt": scalar_binary(torch.gt), "ge": scalar_binary(torch.ge),
    "where": where, "clamp": clamp,
    # activation
    "relu": unary(torch.relu),
    "leakyRelu": lambda x, a, n: F.leaky_relu(x[0], a.get("negativeSlope", 0.01)),
    "gelu": lambda x, a, n: F.gelu(x[0], approximate=a.get("approximate", "none")),
    "silu": unary(F.silu),
    "softplus": lambda x, a, n: F.softplus(x[0], beta=a.get("beta", 1), threshold=a.get("threshold", 20)),
    "softmax": lambda x, a, n: torch.softmax(x[0], a.get("dim", -1)),
    "logSoftmax": lambda x, a, n: torch.log_softmax(x[0], a.get("dim", -1)),
    "dropout": lambda x, a, n: F.dropout(x[0], a.get("p", 0.5), training=a.get("training", True)),
    # reduce
    "sum": red(torch.sum), "mean": red(torch.mean),
    "var": var_like(torch.var), "std": var_like(torch.std),
    "max": red(torch.amax, True), "min": red(torch.amin, True),
    "argmax": arg_reduce(torch.argmax), "argmin": arg_reduce(torch.argmin),
    "logsumexp": lambda x, a, n: torch.logsumexp(x[0], reduce_dims(a), keepdim=a.get("keepdim", False)),
    # linalg
    "matmul": lambda x, a, n: torch.matmul(x[0], x[1]),
    "linear": lambda x, a, n: F.linear(x[0], x[1], n.get("bias")),
    # shape
    "reshape": lambda x, a, n: x[0].reshape(a["shape"]),
    "view": lambda x, a, n: x[0].view(a["shape"]),
    "flatten": lambda x, a, n: torch.flatten(x[0], a.get("startDim", 0), a.get("endDim", -1)),
    "squeeze": lambda x, a, n: x[0].squeeze() if "dim" not in a else x[0].squeeze(reduce_dims(a)),
    "unsqueeze": lambda x, a, n: x[0].unsqueeze(a["dim"]),
    "permute": lambda x, a, n: x[0].permute(a["dims"]),
    "transpose": lambda x, a, n: x[0].transpose(a["dim0"], a["dim1"]),
    "expand": lambda x, a, n: x[0].expand(a["shape"]),
    "repeat": lambda x, a, n: x[0].repeat(a["repeats"]),
    "cat": lambda x, a, n: torch.cat(x, a.get("dim", 0)),
    "stack": lambda x, a, n: torch.stack(x, a.get("dim", 0)),
    "split": lambda x, a, n: list(torch.split(x[0], a["splitSize"], a.get("dim", 0))),
    "chunk": lambda x, a, n: list(torch.chunk(x[0], a["chunks"], a.get("dim", 0))),
    "slice": slice_op,
    "narrow": lambda x, a, n: x[0].narrow(a["dim"], a["start"], a["length"]),
    "pad": lambda x, a, n: F.pad(x[0], a["padding"], value=a.get("value", 0.0)),
    # index
    "indexSelect": lambda x, a, n: torch.index_select(x[0], a["dim"], x[1].long()),
    "gather": lambda x, a, n: torch.gather(x[0], a["dim"], x[1].long()),
    "scatterAdd": lambda x, a, n: torch.scatter_add(x[0], a["dim"], x[1].long(), x[2]),
    "indexAdd": lambda x, a, n: torch.index_add(x[0], a["dim"], x[1].long(), x[2]),
    "embedding": lambda x, a, n: F.embedding(x[0].long(), x[1], padding_idx=a.get("paddingIdx")),
    "oneHot": lambda x, a, n: F.one_hot(x[0].long(), a["numClasses"]),
    # conv / pool / resize
    "conv1d": conv1d, "conv2d": conv2d, "convTranspose2d": conv_transpose2d,
    "maxPool2d": max_pool2d, "avgPool2d": avg_pool2d,
    "adaptiveAvgPool2d": lambda x, a, n: F.adaptive_avg_pool2d(x[0], pair_or_str(a["outputSize"])),
    "interpolate": interpolate,
    # normalisation
    "layerNorm": lambda x, a, n: F.layer_norm(x[0], a["normalizedShape"], *affine(n), eps=a.get("eps", 1e-5)),
    "groupNorm": lambda x, a, n: F.group_norm(x[0], a["numGroups"], *affine(n), eps=a.get("eps", 1e-5)),
    "batchNorm": batch_norm,
    # attention
    "scaledDotProductAttention": sdpa,
    # losses
    "mseLoss": lambda x, a, n: F.mse_loss(x[0], x[1], reduction=a.get("reduction", "mean")),
    "l1Loss": lambda x, a, n: F.l1_loss(x[0], x[1], reduction=a.get("reduction", "mean")),
    "smoothL1Loss": lambda x, a, n: F.smooth_l1_loss(x[0], x[1], reduction=a.get("reduction", "mean"), beta=a.get("beta", 1.0)),
    "crossEntropy": cross_entropy,
    "nllLoss": nll_loss,
    "binaryCrossEntropyWithLogits": bce_logits,
    "klDiv": lambda x, a, n: F.kl_div(x[0], x[1], reduction=a.get("reduction", "mean"), log_target=a.get("logTarget", False)),
}


# ---- the case table ---------------------------------------------------------------------------------

CASES: list[dict] = []
_family = ""


def family(name: str) -> None:
    global _family
    _family = name


def C(op: str, label: str, inputs: list[dict], attrs: dict | None = None, **flags) -> None:
    """One sample. `flags`: ties=True puts inputs on a kink on purpose (finite-difference checks
    jitter them first); noFiniteDiff="why" marks a gradient defined by convention, not by derivative."""
    assert op in OPS, op
    CASES.append({"family": _family, "op": op, "name": f"{op}/{label}", "inputs": inputs, "attrs": attrs or {}, **flags})


# elementwise: unary math, binary arithmetic with broadcasting and scalars, comparisons, where, clamp
family("elementwise")
for op in ["neg", "exp", "sin", "cos", "tanh", "sigmoid", "erf", "square"]:
    C(op, "2d", [T(3, 4)])
C("exp", "0d", [T()])
C("tanh", "3d_wide", [T(2, 3, 4, scale=3)])
C("erf", "wide", [T(3, 5, scale=2.5)])
C("abs", "2d", [T(3, 4, kind="away")])
C("sign", "2d", [T(3, 4, kind="away")])
C("floor", "2d", [T(3, 4, scale=3)])
C("neg", "3d", [T(2, 3, 2)])
C("log", "2d", [T(3, 4, kind="pos")])
C("log1p", "2d", [T(3, 4, kind="uniform", lo=-0.5, hi=3)])
C("sqrt", "2d", [T(3, 4, kind="pos")])
C("rsqrt", "2d", [T(3, 4, kind="pos")])
for op in ["add", "sub", "mul", "div", "maximum", "minimum"]:
    den = "away" if op == "div" else "randn"
    C(op, "same", [T(3, 4), T(3, 4, kind=den)])
    C(op, "broadcast", [T(2, 3, 4), T(3, 1, kind=den)])
    C(op, "broadcast_both", [T(4, 1, 3), T(5, 1, kind=den)])
    C(op, "broadcast_lower_rank_first", [T(4), T(2, 3, 4, kind=den)])
    C(op, "scalar", [T(3, 4)], {"scalar": 0.75})
    C(op, "scalar_first", [T(3, 4, kind=den)], {"scalar": -1.25, "scalarFirst": True})
C("pow", "same", [T(3, 4, kind="pos"), T(3, 4)])
C("pow", "broadcast", [T(2, 3, 4, kind="pos"), T(4, scale=2)])
C("pow", "scalar_square", [T(3, 4)], {"scalar": 2})
C("pow", "scalar_cube", [T(3, 4)], {"scalar": 3})
C("pow", "scalar_sqrt", [T(3, 4, kind="pos")], {"scalar": 0.5})
C("pow", "scalar_base", [T(3, 4)], {"scalar": 2.5, "scalarFirst": True})
C("maximum", "ties", [T(3, 4, kind="intf", lo=-2, hi=2), T(3, 4, kind="intf", lo=-2, hi=2)], ties=True)
C("minimum", "ties", [T(3, 4, kind="intf", lo=-2, hi=2), T(4, kind="intf", lo=-2, hi=2)], ties=True)
for op in ["eq", "ne", "lt", "le", "gt", "ge"]:
    C(op, "broadcast", [T(3, 4, kind="intf", lo=-2, hi=3, grad=False), T(4, kind="intf", lo=-2, hi=3, grad=False)])
    C(op, "scalar", [T(2, 5, kind="intf", lo=-2, hi=3, grad=False)], {"scalar": 0})
C("where", "same", [T(3, 4, kind="bool"), T(3, 4), T(3, 4)])
C("where", "broadcast", [T(3, 1, kind="bool"), T(4), T(2, 3, 4)])
C("where", "scalar", [T(3, 4, kind="bool"), T(3, 4)], {"scalar": -0.5})
C("where", "int32", [T(3, 4, kind="bool"), T(3, 4, kind="int", lo=-5, hi=5), T(4, kind="int", lo=-5, hi=5)])
C("clamp", "both", [T(3, 5, scale=1.5)], {"min": -0.5, "max": 0.8})
C("clamp", "min", [T(3, 5)], {"min": -0.25})
C("clamp", "max", [T(3, 5)], {"max": 0.3})
C("clamp", "tensor_bounds", [T(3, 4), T(3, 4, name="min", scale=0.3, shift=-0.8), T(4, name="max", scale=0.3, shift=0.8)])
C("clamp", "min_above_max", [T(2, 4)], {"min": 0.5, "max": -0.5})
C("clamp", "at_bounds", [T(2, 3, kind="data", data=[[-0.5, 0.8, 0.1], [-0.6, 0.8, -0.5]])], {"min": -0.5, "max": 0.8}, ties=True)
C("clamp", "tensor_bounds_at_bounds", [T(4, kind="data", data=[-1.0, 0.5, 0.0, 2.0]), T(4, kind="data", data=[-1.0, -0.5, 0.25, 0.0], name="min"), T(4, kind="data", data=[1.0, 0.5, 1.0, 1.5], name="max")], ties=True)
C("pow", "zero_exponent_at_zero", [T(4, kind="data", data=[0.0, 1.5, -2.0, 0.5])], {"scalar": 0})
C("pow", "tensor_exponent_zero_at_zero", [T(4, kind="data", data=[0.0, 1.5, 0.0, 0.5]), T(4, kind="data", data=[0.0, 2.0, 1.0, 0.0])],
  noFiniteDiff="at base 0 the exponent's gradient is 0 by convention (log 0 is -inf)")
C("abs", "zeros", [T(5, kind="data", data=[0.0, -1.5, 0.0, 2.0, -0.25])], ties=True)
C("sign", "zeros", [T(4, kind="data", data=[0.0, -1.5, 2.0, 0.0], grad=False)])
C("abs", "int32", [T(2, 3, kind="int", lo=-4, hi=4)])
C("neg", "int32", [T(2, 3, kind="int", lo=-4, hi=4)])
C("add", "int_float_promotion", [T(3, 4, kind="int", lo=-3, hi=3), T(4)])
C("mul", "int32", [T(3, 4, kind="int", lo=-3, hi=3), T(3, 1, kind="int", lo=-3, hi=3)])
C("eq", "int32", [T(3, 4, kind="int", lo=0, hi=3), T(3, 4, kind="int", lo=0, hi=3)])
C("pow", "negative_base_int_exponent", [T(3, 4, kind="away"), T(3, 4, kind="intf", lo=1, hi=4, grad=False)])

# activation
family("activation")
C("relu", "2d", [T(3, 4, kind="away")])
C("relu", "3d", [T(2, 3, 4, kind="away")])
C("relu", "zeros", [T(5, kind="data", data=[0.0, -1.5, 0.0, 2.0, -0.25])], ties=True)
C("leakyRelu", "zeros", [T(4, kind="data", data=[0.0, -1.5, 2.0, 0.0])], {"negativeSlope": 0.1}, ties=True)
C("leakyRelu", "default", [T(3, 4, kind="away")])
C("leakyRelu", "slope", [T(3, 4, kind="away")], {"negativeSlope": 0.2})
C("gelu", "exact", [T(3, 5, scale=2)])
C("gelu", "tanh", [T(3, 5, scale=2)], {"approximate": "tanh"})
C("gelu", "exact_wide", [T(2, 8, scale=4)], {"approximate": "none"})
C("silu", "2d", [T(3, 5, scale=2)])
C("softplus", "default", [T(3, 5, scale=2)])
C("softplus", "beta_threshold", [T(3, 5, scale=2)], {"beta": 2, "threshold": 3})
for op in ["softmax", "logSoftmax"]:
    C(op, "last", [T(3, 5)], {"dim": -1})
    C(op, "dim0", [T(3, 5)], {"dim": 0})
    C(op, "3d_middle", [T(2, 4, 3)], {"dim": 1})
    C(op, "large", [T(2, 6, scale=30)], {"dim": -1})
C("dropout", "eval", [T(3, 4)], {"p": 0.5, "training": False})
C("dropout", "p0", [T(3, 4)], {"p": 0.0})
C("dropout", "p1", [T(3, 4)], {"p": 1.0})

# reductions over axes, negative axes and keepdim
family("reduce")
for op in ["sum", "mean"]:
    C(op, "all", [T(2, 3, 4)])
    C(op, "all_keepdim", [T(2, 3)], {"keepdim": True})
    C(op, "dim1", [T(2, 3, 4)], {"dim": 1})
    C(op, "neg_dim_keepdim", [T(2, 3, 4)], {"dim": -1, "keepdim": True})
    C(op, "dims", [T(2, 3, 4)], {"dim": [0, 2]})
    C(op, "neg_dims_keepdim", [T(2, 3, 4)], {"dim": [-1, 0], "keepdim": True})
for op in ["var", "std"]:
    C(op, "all", [T(3, 4)])
    C(op, "dim1_biased", [T(2, 3, 4)], {"dim": 1, "correction": 0})
    C(op, "dims_keepdim", [T(2, 3, 4)], {"dim": [0, 2], "keepdim": True})
    C(op, "neg_dim", [T(3, 5)], {"dim": -1})
for op in ["max", "min"]:
    C(op, "all", [T(3, 4)])
    C(op, "dim", [T(2, 3, 4)], {"dim": -1})
    C(op, "dims_keepdim", [T(2, 3, 4)], {"dim": [0, 2], "keepdim": True})
    C(op, "ties", [T(3, 4, kind="intf", lo=0, hi=3)], {"dim": 1}, ties=True)
    C(op, "all_keepdim", [T(2, 3)], {"keepdim": True})
for op in ["argmax", "argmin"]:
    C(op, "flat", [T(3, 4, grad=False)])
    C(op, "dim", [T(2, 3, 4, grad=False)], {"dim": 1})
    C(op, "neg_dim_keepdim", [T(2, 3, 4, grad=False)], {"dim": -1, "keepdim": True})
    C(op, "ties_first", [T(3, 4, kind="intf", lo=0, hi=2, grad=False)], {"dim": 1})
C("logsumexp", "last", [T(3, 5)], {"dim": -1})
C("logsumexp", "dims_keepdim", [T(2, 3, 4)], {"dim": [0, 1], "keepdim": True})
C("logsumexp", "large", [T(2, 5, scale=40)], {"dim": 1})
C("sum", "int32", [T(3, 4, kind="int", lo=-5, hi=5)], {"dim": 1})
C("sum", "bool", [T(3, 4, kind="bool")], {"dim": 0})
C("sum", "empty_dim", [T(2, 0, 3)], {"dim": 1})
C("max", "int32", [T(3, 4, kind="int", lo=-9, hi=9)], {"dim": 0})
C("min", "int32_all", [T(3, 4, kind="int", lo=-9, hi=9)])
C("sum", "0d_dim0", [T()], {"dim": 0})
C("mean", "0d", [T()])
C("argmax", "flat_keepdim", [T(2, 3, grad=False)], {"keepdim": True})

# matmul in every rank combination, linear
family("linalg")
C("matmul", "1d_1d", [T(4), T(4)])
C("matmul", "1d_2d", [T(4), T(4, 3)])
C("matmul", "2d_1d", [T(3, 4), T(4)])
C("matmul", "2d_2d", [T(3, 4), T(4, 5)])
C("matmul", "batched", [T(2, 3, 4), T(2, 4, 5)])
C("matmul", "broadcast_batch", [T(2, 1, 3, 4), T(3, 4, 2)])
C("matmul", "3d_2d", [T(2, 3, 4), T(4, 5)])
C("matmul", "2d_3d", [T(3, 4), T(2, 4, 5)])
C("matmul", "1d_3d", [T(4), T(2, 4, 3)])
C("matmul", "3d_1d", [T(2, 3, 4), T(4)])
C("linear", "bias", [T(2, 3, 4), T(5, 4), T(5, name="bias")])
C("linear", "no_bias", [T(3, 4), T(2, 4)])
C("linear", "1d_input", [T(4), T(3, 4), T(3, name="bias")])

# shape and movement
family("shape")
C("reshape", "2d", [T(2, 3, 4)], {"shape": [4, 6]})
C("reshape", "infer", [T(2, 3, 4)], {"shape": [-1, 3]})
C("view", "flat", [T(2, 3, 4)], {"shape": [24]})
C("reshape", "from_0d", [T()], {"shape": [1, 1]})
C("flatten", "0d", [T()])
C("expand", "from_0d", [T()], {"shape": [2, 3]})
C("unsqueeze", "0d", [T()], {"dim": -1})
C("flatten", "all", [T(2, 3, 4)])
C("flatten", "start1", [T(2, 3, 2, 2)], {"startDim": 1})
C("flatten", "neg", [T(2, 3, 2, 2)], {"startDim": -3, "endDim": -2})
C("squeeze", "all", [T(2, 1, 3, 1)])
C("squeeze", "dim", [T(2, 1, 3, 1)], {"dim": 1})
C("squeeze", "neg_dim", [T(2, 1, 3, 1)], {"dim": -1})
C("squeeze", "dims", [T(1, 2, 1, 3)], {"dim": [0, 2]})
C("squeeze", "non_unit_dim", [T(2, 1, 3)], {"dim": 0})
C("unsqueeze", "front", [T(2, 3)], {"dim": 0})
C("unsqueeze", "neg", [T(2, 3)], {"dim": -1})
C("unsqueeze", "middle", [T(2, 3)], {"dim": 1})
C("permute", "3d", [T(2, 3, 4)], {"dims": [2, 0, 1]})
C("permute", "neg", [T(2, 3, 4)], {"dims": [-1, -3, -2]})
C("transpose", "outer", [T(2, 3, 4)], {"dim0": 0, "dim1": 2})
C("transpose", "neg", [T(2, 3, 4)], {"dim0": -1, "dim1": 0})
C("expand", "new_dims", [T(3, 1)], {"shape": [2, 3, 4]})
C("expand", "keep", [T(1, 4)], {"shape": [3, -1]})
C("repeat", "2d", [T(2, 3)], {"repeats": [2, 1]})
C("repeat", "extra_dim", [T(2, 3)], {"repeats": [2, 1, 3]})
C("cat", "dim0", [T(2, 3), T(1, 3), T(3, 3)], {"dim": 0})
C("cat", "neg_dim", [T(2, 3), T(2, 1)], {"dim": -1})
C("cat", "3d_middle", [T(2, 1, 3), T(2, 2, 3)], {"dim": 1})
C("stack", "dim0", [T(2, 3), T(2, 3), T(2, 3)], {"dim": 0})
C("stack", "last", [T(2, 3), T(2, 3)], {"dim": -1})
C("stack", "middle", [T(2, 3), T(2, 3)], {"dim": 1})
C("split", "size_uneven", [T(5, 3)], {"splitSize": 2, "dim": 0})
C("split", "sections_neg_dim", [T(2, 5)], {"splitSize": [1, 3, 1], "dim": -1})
C("chunk", "uneven", [T(2, 7)], {"chunks": 3, "dim": 1})
C("chunk", "neg_dim", [T(4, 3, 2)], {"chunks": 2, "dim": -3})
C("chunk", "more_chunks_than_rows", [T(3, 2)], {"chunks": 5, "dim": 0})
C("slice", "step", [T(3, 6)], {"dim": 1, "start": 1, "end": 5, "step": 2})
C("slice", "negative_bounds", [T(3, 6)], {"dim": -1, "start": -4, "end": -1})
C("slice", "dim0_step3", [T(7, 2)], {"dim": 0, "start": 0, "step": 3})
C("slice", "end_beyond", [T(3, 4)], {"dim": 1, "start": 2, "end": 10})
C("slice", "empty", [T(3, 4)], {"dim": 1, "start": 3, "end": 1})
C("cat", "with_empty", [T(2, 0), T(2, 3)], {"dim": 1})
C("cat", "mixed_dtype", [T(2, 2, kind="int", lo=-3, hi=3), T(1, 2)], {"dim": 0})
C("narrow", "dim0", [T(4, 3)], {"dim": 0, "start": 1, "length": 2})
C("narrow", "neg_dim", [T(2, 5)], {"dim": -1, "start": 2, "length": 3})
C("pad", "last", [T(2, 3)], {"padding": [1, 2]})
C("pad", "two_dims_value", [T(2, 3, 4)], {"padding": [1, 0, 2, 1], "value": 0.5})
C("pad", "three_dims", [T(2, 2, 2)], {"padding": [0, 1, 1, 0, 1, 1]})

# indexing
family("index")
C("indexSelect", "dim0_repeats", [T(4, 3), T(5, kind="int", lo=0, hi=4)], {"dim": 0})
C("indexSelect", "neg_dim", [T(2, 5, 2), T(3, kind="int", lo=0, hi=5)], {"dim": -2})
C("gather", "dim1", [T(3, 4), T(3, 2, kind="int", lo=0, hi=4)], {"dim": 1})
C("gather", "dim0_repeats", [T(3, 4), T(5, 4, kind="int", lo=0, hi=3)], {"dim": 0})
C("gather", "3d_neg", [T(2, 3, 4), T(2, 2, 3, kind="int", lo=0, hi=4)], {"dim": -1})
C("scatterAdd", "dim1_dups", [T(3, 5), T(3, 4, kind="int", lo=0, hi=5), T(3, 4)], {"dim": 1})
C("scatterAdd", "dim0_smaller_index", [T(4, 3), T(2, 3, kind="int", lo=0, hi=4), T(2, 3)], {"dim": 0})
C("scatterAdd", "index_smaller_off_axis", [T(3, 5), T(2, 3, kind="int", lo=0, hi=5), T(2, 3)], {"dim": 1})
C("gather", "index_smaller_off_axis", [T(3, 5), T(2, 3, kind="int", lo=0, hi=5)], {"dim": 1})
C("indexAdd", "dim0", [T(5, 3), T(4, kind="data", dtype="int32", data=[0, 2, 2, 4], grad=False), T(4, 3)], {"dim": 0})
C("indexAdd", "dim1", [T(2, 4), T(3, kind="int", lo=0, hi=4), T(2, 3)], {"dim": 1})
C("embedding", "2d_indices", [T(2, 3, kind="int", lo=0, hi=6), T(6, 4)])
C("embedding", "padding_idx", [T(2, 4, kind="data", dtype="int32", data=[[1, 0, 1, 3], [5, 1, 2, 1]], grad=False), T(6, 3)], {"paddingIdx": 1},
  noFiniteDiff="the padding row's gradient is zero by definition, not by derivative")
C("embedding", "padding_idx_negative", [T(2, 3, kind="data", dtype="int32", data=[[4, 0, 3], [4, 1, 4]], grad=False), T(5, 2)], {"paddingIdx": -1},
  noFiniteDiff="the padding row's gradient is zero by definition, not by derivative")
C("oneHot", "1d", [T(5, kind="int", lo=0, hi=4)], {"numClasses": 4})
C("oneHot", "2d", [T(2, 3, kind="int", lo=0, hi=3)], {"numClasses": 5})
C("oneHot", "0d", [T(kind="data", dtype="int32", data=2)], {"numClasses": 3})

# convolution
family("conv")
C("conv1d", "bias", [T(2, 3, 8), T(4, 3, 3), T(4, name="bias")])
C("conv1d", "stride_padding", [T(2, 3, 9), T(4, 3, 3)], {"stride": 2, "padding": 1})
C("conv1d", "dilation", [T(1, 2, 10), T(3, 2, 3), T(3, name="bias")], {"dilation": 2, "padding": 1})
C("conv1d", "groups", [T(2, 4, 7), T(6, 2, 3)], {"groups": 2})
C("conv1d", "same", [T(1, 2, 6), T(3, 2, 5)], {"padding": "same"})
C("conv2d", "bias", [T(2, 3, 5, 5), T(4, 3, 3, 3), T(4, name="bias")])
C("conv2d", "stride_padding", [T(1, 2, 6, 6), T(3, 2, 3, 3), T(3, name="bias")], {"stride": 2, "padding": 1})
C("conv2d", "dilation", [T(1, 2, 7, 7), T(2, 2, 3, 3)], {"dilation": 2, "padding": 2})
C("conv2d", "groups", [T(1, 4, 5, 5), T(6, 2, 3, 3), T(6, name="bias")], {"groups": 2})
C("conv2d", "depthwise", [T(2, 3, 4, 4), T(3, 1, 3, 3)], {"groups": 3, "padding": 1})
C("conv2d", "rect", [T(1, 2, 5, 6), T(3, 2, 3, 2)], {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2]})
C("conv2d", "same", [T(1, 2, 5, 5), T(2, 2, 3, 3)], {"padding": "same"})
C("conv2d", "stride_gt_kernel", [T(1, 2, 7, 8), T(3, 2, 2, 2), T(3, name="bias")], {"stride": 3, "padding": 1, "dilation": 2})
C("conv1d", "valid", [T(1, 2, 6), T(2, 2, 3)], {"padding": "valid", "stride": 2})
C("conv1d", "same_even_kernel", [T(1, 2, 7), T(3, 2, 4), T(3, name="bias")], {"padding": "same"})
C("conv2d", "same_even_kernel_dilation", [T(1, 2, 5, 6), T(2, 2, 2, 3)], {"padding": "same", "dilation": [1, 2]})
C("convTranspose2d", "bias", [T(1, 3, 4, 4), T(3, 2, 3, 3), T(2, name="bias")])
C("convTranspose2d", "stride_padding_output_padding", [T(1, 2, 3, 3), T(2, 3, 3, 3), T(3, name="bias")], {"stride": 2, "padding": 1, "outputPadding": 1})
C("convTranspose2d", "groups", [T(1, 4, 3, 3), T(4, 3, 2, 2)], {"groups": 2, "stride": 2})
C("convTranspose2d", "dilation", [T(2, 2, 3, 3), T(2, 2, 2, 2)], {"dilation": 2, "padding": 1})
C("convTranspose2d", "rect", [T(1, 2, 3, 4), T(2, 2, 3, 2)], {"stride": [2, 1], "padding": [1, 0], "outputPadding": [1, 0]})
C("convTranspose2d", "stride_gt_kernel", [T(1, 2, 3, 3), T(2, 2, 2, 2)], {"stride": 3})
C("convTranspose2d", "groups_dilation_output_padding", [T(1, 4, 3, 3), T(4, 1, 3, 3), T(2, name="bias")], {"groups": 2, "stride": 2, "padding": 1, "dilation": 2, "outputPadding": 1})

# pooling and resizing
family("pool")
C("maxPool2d", "k2", [T(2, 2, 4, 4)], {"kernelSize": 2})
C("maxPool2d", "k3_s2_p1", [T(1, 2, 6, 6)], {"kernelSize": 3, "stride": 2, "padding": 1})
C("maxPool2d", "dilation", [T(1, 2, 6, 6)], {"kernelSize": 2, "stride": 1, "dilation": 2})
C("maxPool2d", "rect", [T(1, 2, 5, 7)], {"kernelSize": [2, 3], "stride": [1, 2]})
C("maxPool2d", "ties_first_max", [T(1, 2, 4, 4, kind="intf", lo=0, hi=2)], {"kernelSize": 2}, ties=True)
C("maxPool2d", "stride_gt_kernel_padding", [T(1, 1, 7, 7)], {"kernelSize": 2, "stride": 3, "padding": 1})
C("avgPool2d", "k2", [T(2, 2, 4, 4)], {"kernelSize": 2})
C("avgPool2d", "pad_count_include", [T(1, 2, 5, 5)], {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": True})
C("avgPool2d", "pad_count_exclude", [T(1, 2, 5, 5)], {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": False})
C("avgPool2d", "rect", [T(1, 2, 4, 6)], {"kernelSize": [2, 3], "stride": [2, 1], "padding": [1, 1], "countIncludePad": False})
C("adaptiveAvgPool2d", "divisible", [T(1, 2, 6, 6)], {"outputSize": 3})
C("adaptiveAvgPool2d", "non_divisible", [T(1, 2, 5, 7)], {"outputSize": [3, 4]})
C("adaptiveAvgPool2d", "global", [T(2, 3, 3, 4)], {"outputSize": 1})
C("adaptiveAvgPool2d", "upsample", [T(1, 1, 2, 3)], {"outputSize": [3, 5]})
C("interpolate", "nearest_size", [T(1, 2, 3, 4)], {"size": [5, 7], "mode": "nearest"})
C("interpolate", "nearest_scale2", [T(1, 2, 3, 3)], {"scaleFactor": 2, "mode": "nearest"})
C("interpolate", "nearest_scale_frac", [T(1, 1, 4, 4)], {"scaleFactor": [1.5, 0.5], "mode": "nearest"})
C("interpolate", "bilinear_size", [T(1, 2, 3, 4)], {"size": [5, 7], "mode": "bilinear", "alignCorners": False})
C("interpolate", "bilinear_align_corners", [T(1, 2, 3, 4)], {"size": [5, 7], "mode": "bilinear", "alignCorners": True})
C("interpolate", "bilinear_scale", [T(2, 1, 3, 3)], {"scaleFactor": 2, "mode": "bilinear"})
C("interpolate", "bilinear_scale_frac_align", [T(1, 1, 4, 3)], {"scaleFactor": [1.5, 2], "mode": "bilinear", "alignCorners": True})
C("interpolate", "bilinear_downsample", [T(1, 2, 5, 6)], {"size": [2, 3], "mode": "bilinear"})
C("interpolate", "nearest_downsample", [T(1, 1, 5, 7)], {"size": [2, 3], "mode": "nearest"})
C("interpolate", "nearest_scale_non_exact", [T(1, 1, 3, 4)], {"scaleFactor": 1.7, "mode": "nearest"})
C("interpolate", "bilinear_scale_non_exact", [T(1, 1, 3, 4)], {"scaleFactor": 1.7, "mode": "bilinear"})
C("interpolate", "bilinear_align_corners_single", [T(1, 1, 3, 4)], {"size": [1, 3], "mode": "bilinear", "alignCorners": True})

# normalisation
family("norm")
C("layerNorm", "affine", [T(2, 3, 4), T(4, name="weight"), T(4, name="bias")], {"normalizedShape": [4]})
C("layerNorm", "two_dims_plain", [T(2, 3, 4)], {"normalizedShape": [3, 4]})
C("layerNorm", "eps", [T(4, 5, scale=0.1), T(5, name="weight")], {"normalizedShape": [5], "eps": 1e-3})
C("layerNorm", "1d", [T(5), T(5, name="weight"), T(5, name="bias")], {"normalizedShape": [5]})
C("groupNorm", "affine", [T(2, 4, 3, 3), T(4, name="weight"), T(4, name="bias")], {"numGroups": 2})
C("groupNorm", "3d_plain", [T(3, 6, 5)], {"numGroups": 3})
C("groupNorm", "one_group", [T(2, 4, 2, 2), T(4, name="weight"), T(4, name="bias")], {"numGroups": 1, "eps": 1e-3})
C("groupNorm", "2d_input", [T(3, 4), T(4, name="weight"), T(4, name="bias")], {"numGroups": 2})
C("batchNorm", "train_running_affine", [T(4, 3, 2, 2), T(3, name="runningMean", grad=False), T(3, kind="pos", name="runningVar", grad=False), T(3, name="weight"), T(3, name="bias")], {"training": True, "momentum": 0.3})
C("batchNorm", "train_no_running", [T(5, 3)], {"training": True})
C("batchNorm", "train_3d", [T(3, 2, 4), T(2, name="runningMean", grad=False), T(2, kind="pos", name="runningVar", grad=False)], {"training": True})
C("batchNorm", "eval_affine", [T(4, 3, 2, 2), T(3, name="runningMean", grad=False), T(3, kind="pos", name="runningVar", grad=False), T(3, name="weight"), T(3, name="bias")], {"training": False})
C("batchNorm", "eval_plain_eps", [T(2, 3, 4), T(3, name="runningMean", grad=False), T(3, kind="pos", name="runningVar", grad=False)], {"training": False, "eps": 1e-3})

# attention
family("attention")
C("scaledDotProductAttention", "basic", [T(2, 2, 3, 4), T(2, 2, 5, 4), T(2, 2, 5, 6)])
C("scaledDotProductAttention", "3d", [T(2, 4, 8), T(2, 4, 8), T(2, 4, 8)])
C("scaledDotProductAttention", "bool_mask", [T(2, 3, 4), T(2, 5, 4), T(2, 5, 3), T(3, 5, kind="rowmask", name="mask")])
C("scaledDotProductAttention", "float_mask", [T(1, 2, 3, 4), T(1, 2, 5, 4), T(1, 2, 5, 3), T(1, 1, 3, 5, name="mask")])
C("scaledDotProductAttention", "causal", [T(2, 4, 4), T(2, 4, 4), T(2, 4, 3)], {"isCausal": True})
C("scaledDotProductAttention", "causal_rect", [T(1, 3, 4), T(1, 5, 4), T(1, 5, 2)], {"isCausal": True})
C("scaledDotProductAttention", "scale", [T(2, 3, 4), T(2, 3, 4), T(2, 3, 4)], {"scale": 0.3})
C("scaledDotProductAttention", "2d", [T(3, 4), T(5, 4), T(5, 2)])
C("scaledDotProductAttention", "bool_mask_causal_like_broadcast", [T(2, 2, 3, 4), T(2, 2, 3, 4), T(2, 2, 3, 4), T(2, 1, 3, 3, kind="rowmask", name="mask", p=0.5)])

# losses
family("loss")
for red_ in ["mean", "sum", "none"]:
    C("mseLoss", red_, [T(3, 4), T(3, 4)], {"reduction": red_})
    C("l1Loss", red_, [T(3, 4), T(3, 4)], {"reduction": red_})
C("smoothL1Loss", "mean", [T(3, 4, scale=1.5), T(3, 4)])
C("smoothL1Loss", "beta_sum", [T(3, 4), T(3, 4)], {"beta": 0.5, "reduction": "sum"})
C("smoothL1Loss", "none", [T(3, 4, scale=1.5), T(3, 4)], {"reduction": "none"})
C("smoothL1Loss", "beta0", [T(3, 4), T(3, 4)], {"beta": 0.0})
CE_TGT = [3, 0, 4, 1]
C("crossEntropy", "indices", [T(4, 5), T(4, kind="int", lo=0, hi=5)])
C("crossEntropy", "indices_sum", [T(4, 5), T(4, kind="int", lo=0, hi=5)], {"reduction": "sum"})
C("crossEntropy", "indices_none", [T(4, 5), T(4, kind="int", lo=0, hi=5)], {"reduction": "none"})
C("crossEntropy", "weight", [T(4, 5), T(4, kind="data", dtype="int32", data=CE_TGT), T(5, kind="pos", name="weight", grad=False)])
C("crossEntropy", "ignore_index", [T(5, 4), T(5, kind="data", dtype="int32", data=[2, 0, 2, 3, 1])], {"ignoreIndex": 2})
C("crossEntropy", "ignore_default", [T(4, 3), T(4, kind="data", dtype="int32", data=[-100, 2, 0, -100])])
C("crossEntropy", "label_smoothing", [T(4, 5), T(4, kind="int", lo=0, hi=5)], {"labelSmoothing": 0.1})
C("crossEntropy", "smoothing_weight_ignore", [T(5, 4), T(5, kind="data", dtype="int32", data=[1, 3, 0, 1, 2]), T(4, kind="pos", name="weight", grad=False)], {"labelSmoothing": 0.2, "ignoreIndex": 0})
C("crossEntropy", "smoothing_weight_sum", [T(4, 5), T(4, kind="data", dtype="int32", data=CE_TGT), T(5, kind="pos", name="weight", grad=False)], {"labelSmoothing": 0.15, "reduction": "sum"})
C("crossEntropy", "smoothing_none", [T(4, 5), T(4, kind="data", dtype="int32", data=[3, -100, 4, 1])], {"labelSmoothing": 0.1, "reduction": "none"})
C("crossEntropy", "probs", [T(4, 5), T(4, 5, kind="prob", dim=1)])
C("crossEntropy", "probs_smoothing", [T(4, 5), T(4, 5, kind="prob", dim=1)], {"labelSmoothing": 0.2})
C("crossEntropy", "probs_weight_sum", [T(4, 5), T(4, 5, kind="prob", dim=1), T(5, kind="pos", name="weight", grad=False)], {"reduction": "sum"})
C("crossEntropy", "probs_weight_mean", [T(3, 4), T(3, 4, kind="prob", dim=1), T(4, kind="pos", name="weight", grad=False)])
C("crossEntropy", "probs_smoothing_weight", [T(3, 4), T(3, 4, kind="prob", dim=1), T(4, kind="pos", name="weight", grad=False)], {"labelSmoothing": 0.3})
C("crossEntropy", "nd_probs_none", [T(2, 3, 2, 2), T(2, 3, 2, 2, kind="prob", dim=1)], {"reduction": "none"})
C("crossEntropy", "nd_smoothing_ignore_none", [T(2, 3, 4), T(2, 4, kind="data", dtype="int32", data=[[0, 2, -100, 1], [2, -100, 0, 0]])], {"labelSmoothing": 0.2, "reduction": "none"})
C("crossEntropy", "nd_indices", [T(2, 4, 3, 2), T(2, 3, 2, kind="int", lo=0, hi=4)])
C("crossEntropy", "nd_weight_smoothing", [T(2, 3, 4), T(2, 4, kind="int", lo=0, hi=3), T(3, kind="pos", name="weight", grad=False)], {"labelSmoothing": 0.1})
C("crossEntropy", "nd_probs", [T(2, 3, 4), T(2, 3, 4, kind="prob", dim=1)])
C("crossEntropy", "unbatched", [T(5), T(kind="data", dtype="int32", data=2)])
C("crossEntropy", "unbatched_probs", [T(5), T(5, kind="prob")])
C("crossEntropy", "unbatched_smoothing_weight", [T(5), T(kind="data", dtype="int32", data=1), T(5, kind="pos", name="weight", grad=False)], {"labelSmoothing": 0.1})
C("nllLoss", "basic", [T(4, 5, kind="logprob", dim=1), T(4, kind="int", lo=0, hi=5)])
C("nllLoss", "weight_ignore", [T(5, 3, kind="logprob", dim=1), T(5, kind="data", dtype="int32", data=[0, 1, 2, 1, 0]), T(3, kind="pos", name="weight", grad=False)], {"ignoreIndex": 1})
C("nllLoss", "nd_sum", [T(2, 3, 4, kind="logprob", dim=1), T(2, 4, kind="int", lo=0, hi=3)], {"reduction": "sum"})
C("nllLoss", "none", [T(4, 3, kind="logprob", dim=1), T(4, kind="int", lo=0, hi=3)], {"reduction": "none"})
C("nllLoss", "unbatched", [T(4, kind="logprob"), T(kind="data", dtype="int32", data=3)])
C("binaryCrossEntropyWithLogits", "mean", [T(3, 4, scale=2), T(3, 4, kind="uniform", lo=0, hi=1)])
C("binaryCrossEntropyWithLogits", "weight", [T(3, 4, scale=2), T(3, 4, kind="uniform", lo=0, hi=1), T(4, kind="pos", name="weight", grad=False)])
C("binaryCrossEntropyWithLogits", "pos_weight", [T(3, 4, scale=2), T(3, 4, kind="uniform", lo=0, hi=1), T(4, kind="pos", name="posWeight", grad=False)], {"reduction": "sum"})
C("binaryCrossEntropyWithLogits", "both_none", [T(2, 3, scale=3), T(2, 3, kind="uniform", lo=0, hi=1), T(2, 3, kind="pos", name="weight", grad=False), T(3, kind="pos", name="posWeight", grad=False)], {"reduction": "none"})
C("binaryCrossEntropyWithLogits", "large_logits", [T(2, 4, scale=30), T(2, 4, kind="uniform", lo=0, hi=1)])
C("klDiv", "mean", [T(3, 4, kind="logprob"), T(3, 4, kind="prob")])
C("klDiv", "batchmean", [T(3, 4, kind="logprob"), T(3, 4, kind="prob")], {"reduction": "batchmean"})
C("klDiv", "sum", [T(3, 4, kind="logprob"), T(3, 4, kind="prob")], {"reduction": "sum"})
C("klDiv", "none", [T(3, 4, kind="logprob"), T(3, 4, kind="prob")], {"reduction": "none"})
C("klDiv", "log_target", [T(3, 4, kind="logprob"), T(3, 4, kind="logprob")], {"reduction": "batchmean", "logTarget": True})
C("klDiv", "zero_target", [T(2, 4, kind="logprob"), T(2, 4, kind="prob", zero=[1, 6], grad=False)], {"reduction": "batchmean"})


# ---- running a case -------------------------------------------------------------------------------


def run(case: dict, tensors: list[torch.Tensor]):
    named = {s["name"]: t for s, t in zip(case["inputs"], tensors) if s["name"]}
    out = OPS[case["op"]](tensors, case["attrs"], named)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def loss_of(outs, upstream):
    total = torch.zeros((), dtype=torch.float64)
    for o, u in zip(outs, upstream):
        if u is not None:
            total = total + (o * u).sum()
    return total


def check_fd(case, tensors, upstream, grads):
    """Central differences of sum(out * upstream) against torch's gradient; refuses kinked inputs."""
    eps = 1e-6
    with torch.no_grad():
        for t, spec, g in zip(tensors, case["inputs"], grads):
            if not spec["grad"]:
                continue
            flat = t.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + eps
                hi = loss_of(run(case, tensors), upstream).item()
                flat[i] = old - eps
                lo = loss_of(run(case, tensors), upstream).item()
                flat[i] = old
                num, ana = (hi - lo) / (2 * eps), g.reshape(-1)[i].item()
                if abs(num - ana) > 1e-5 + 1e-4 * abs(ana):
                    raise SystemExit(f"{case['name']}: input {spec['name'] or ''} element {i} sits near a kink (finite difference {num}, torch {ana}); change the sample")


def fmt_num(v: float, digits: int) -> float | str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(f"{v:.{digits}g}")


DTYPE_NAMES = {torch.float64: "float64", torch.int32: "int32", torch.int64: "int32", torch.bool: "bool"}


def encode(t: torch.Tensor, digits: int) -> dict:
    flat = t.detach().reshape(-1)
    if t.dtype == torch.float64:
        data = [fmt_num(v, digits) for v in flat.tolist()]
    else:
        data = [int(v) for v in flat.tolist()]
    return {"shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "data": data}


def build(case: dict) -> dict:
    seed = zlib.crc32(case["name"].encode())
    gen = torch.Generator().manual_seed(seed)
    tensors = [sample(s, gen) for s in case["inputs"]]
    for t, s in zip(tensors, case["inputs"]):
        if s["grad"]:
            t.requires_grad_(True)
    outs = run(case, tensors)
    upstream = [
        torch.round(torch.randn(o.shape, generator=gen), decimals=UPSTREAM_DECIMALS) if o.requires_grad else None
        for o in outs
    ]
    diff = [t for t, s in zip(tensors, case["inputs"]) if s["grad"]]
    grads_by_input: list[torch.Tensor | None] = [None] * len(tensors)
    if diff:
        loss = loss_of(outs, upstream)
        got = torch.autograd.grad(loss, diff, allow_unused=True) if loss.requires_grad else [None] * len(diff)
        it = iter(got)
        for i, s in enumerate(case["inputs"]):
            if s["grad"]:
                g = next(it)
                grads_by_input[i] = torch.zeros_like(tensors[i]) if g is None else g
        if not case.get("ties") and not case.get("noFiniteDiff"):
            check_fd(case, [t.detach().clone() for t in tensors], upstream, grads_by_input)
    inputs = []
    for t, s in zip(tensors, case["inputs"]):
        enc = encode(t, 17)
        if s["name"]:
            enc = {"name": s["name"], **enc}
        enc["requiresGrad"] = bool(s["grad"])
        inputs.append(enc)
    entry = {
        "name": case["name"],
        "op": case["op"],
        "attrs": case["attrs"],
        "inputs": inputs,
        "outputs": [encode(o, OUTPUT_DIGITS) for o in outs],
        "upstream": [None if u is None else [fmt_num(v, 17) for v in u.reshape(-1).tolist()] for u in upstream],
        "grads": [None if g is None else [fmt_num(v, OUTPUT_DIGITS) for v in g.reshape(-1).tolist()] for g in grads_by_input],
    }
    if case.get("ties"):
        entry["ties"] = True
    if case.get("noFiniteDiff"):
        entry["noFiniteDiff"] = case["noFiniteDiff"]
    return entry


def render() -> dict[str, str]:
    families: dict[str, list[dict]] = {}
    seen = set()
    for case in CASES:
        if case["name"] in seen:
            raise SystemExit(f"duplicate case name {case['name']}")
        seen.add(case["name"])
        families.setdefault(case["family"], []).append(build(case))
    files = {}
    for fam, entries in families.items():
        header = json.dumps({"family": fam, "generator": "tools/golden/ops_golden.py", "torch": torch.__version__.split("+")[0]})
        body = ",\n".join(json.dumps(e, separators=(",", ":")) for e in entries)
        files[f"{fam}.json"] = header[:-1] + ',"cases":[\n' + body + "\n]}\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed fixtures instead of writing")
    args = parser.parse_args()
    files = render()
    if args.check:
        stale = [n for n, text in files.items() if not (OUT_DIR / n).exists() or (OUT_DIR / n).read_text() != text]
        extra = [p.name for p in OUT_DIR.glob("*.json") if p.name not in files]
        if stale or extra:
            print(f"fixtures out of date: {', '.join(stale + extra)}; rerun tools/golden/ops_golden.py", file=sys.stderr)
            return 1
        print(f"{len(files)} fixture files, {len(CASES)} cases: up to date")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for n, text in files.items():
        (OUT_DIR / n).write_text(text)
    total = sum(len(t) for t in files.values())
    print(f"wrote {len(CASES)} cases in {len(files)} files under {OUT_DIR.relative_to(ROOT)} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
