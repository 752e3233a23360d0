"""Hypothesis strategies for random IR modules, built with kernforge.ir.Builder.

Ops are applied by trial: a drawn op whose operands, attributes or registry entry do not fit
(e.g. an op another engineer has not registered yet) is skipped, so modules are always valid.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
from hypothesis import strategies as st

from kernforge.errors import KernforgeError
from kernforge.ir import Builder, region
from kernforge.ir.encodings import BSREncoding, CSREncoding, NMSparseEncoding, QuantEncoding, SpQREncoding
from kernforge.ir.graph import Value
from kernforge.ir.ops import OPAQUE, OPS, Attr, OpDef
from kernforge.ir.types import DTYPES, TensorType, dtype

IDENTS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,6}", fullmatch=True)
SYMBOLS = st.sampled_from(["batch", "n", "x", "seq_len", "s0", "nx"])
LAYOUTS = st.sampled_from(["NCHW", "NHWC", "NCHW8c", "OIHW8i8o", "NC"])
FLOAT_DTYPES = ["f32", "f16", "bf16"]
DATA_DTYPES = FLOAT_DTYPES + ["i8", "i32", "u4", "bool"]
UNARY = ["neg", "abs", "exp", "sqrt", "floor", "relu", "sigmoid", "softmax", "logical_not"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "less", "equal"]
FLOATS = st.one_of(
    st.sampled_from([1e-05, -2.5e+30, 0.1, -1.0, 0.0, -0.0, 6.0, math.inf, -math.inf, math.nan]),
    st.floats(allow_nan=True, allow_infinity=True))

# A test-only op whose attributes cover every attribute kind of the registry.
ATTR_OP = "kf_test_attrs"
_ATTR_OPDEF = OpDef(
    ATTR_OP, ("x",),
    {"i": Attr("int", 0), "f": Attr("float", None), "b": Attr("bool", False), "s": Attr("str", ""),
     "ints": Attr("ints", None), "floats": Attr("floats", None), "strs": Attr("strs", None),
     "dt": Attr("dtype", None), "io": Attr("int_or_ints", None), "pick": Attr("str", "a", ("a", "b"))},
    OPAQUE, lambda x, **_: TensorType(x.shape, x.dtype), lambda x, **_: x)


@contextmanager
def attr_test_op():
    """Register kf_test_attrs for the duration (kept out of the registry otherwise)."""
    OPS[ATTR_OP] = _ATTR_OPDEF
    try:
        yield
    finally:
        OPS.pop(ATTR_OP, None)


def _encodings():
    bits = st.sampled_from([1, 2, 3, 4, 8])
    nm = st.integers(2, 8).flatmap(lambda m: st.builds(NMSparseEncoding, st.integers(1, m - 1), st.just(m)))
    return st.one_of(
        st.builds(QuantEncoding, bits, st.integers(0, 256), st.integers(-3, 3), st.sampled_from(FLOAT_DTYPES),
                  st.none() | st.sampled_from(["u4", "u8", "i8"]).map(dtype)),
        st.builds(SpQREncoding, bits, st.integers(1, 64), st.sampled_from(["csr", "coo"])),
        nm, st.builds(BSREncoding, st.integers(1, 64), st.integers(1, 64)), st.just(CSREncoding()))


# Strategies are built once: constructing them inside every draw dominated the run time.
ENCODINGS = st.none() | _encodings()
LAYOUT_OR_NONE = st.none() | LAYOUTS
SHAPES = st.lists(st.one_of(st.integers(1, 4), st.integers(1, 4), SYMBOLS, st.none()), max_size=4)


@st.composite
def tensor_types(draw, dtypes=FLOAT_DTYPES, extras: bool = False) -> TensorType:
    """Rank 0-4 with static, symbolic (?n) and unknown (?) dims; optionally a layout and encoding."""
    shape = draw(SHAPES)
    layout = draw(LAYOUT_OR_NONE) if extras else None
    encoding = draw(ENCODINGS) if extras else None
    return TensorType(tuple(shape), dtype(draw(st.sampled_from(dtypes))), layout, encoding)


@st.composite
def param_data(draw) -> np.ndarray:
    """Small arrays (printed inline) of every kind of element, including nan, inf and -0.0."""
    shape = tuple(draw(st.sampled_from([(), (1,), (2,), (3,), (2, 3), (0,), (2, 0)])))
    dt = dtype(draw(st.sampled_from(DATA_DTYPES)))
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "bool":
        values = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    elif dt.is_int:
        values = draw(st.lists(st.integers(int(dt.min), int(dt.max)), min_size=n, max_size=n))
    else:
        values = draw(st.lists(FLOATS, min_size=n, max_size=n))
    with np.errstate(over="ignore"):
        return np.array(values, dtype=np.float64 if dt.is_float else None).astype(dt.numpy).reshape(shape)


@st.composite
def add_params(draw, b: Builder) -> list:
    """Params with inline data, with elided data (more than 16 elements) and with no data."""
    params = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["small", "large", "typed"]))
        name = draw(IDENTS)
        if kind == "small":
            params.append(b.param(name, draw(param_data())))
        elif kind == "large":
            params.append(b.param(name, np.zeros((draw(st.integers(17, 40)),), np.float32)))
        else:
            params.append(b.param(name, type=draw(tensor_types(extras=True))))
    return params


def _try(fb, op: str, /, *operands, **kw) -> list:
    """Append op if it exists and accepts these operands and attributes; its results, else []."""
    if op not in OPS:
        return []
    try:
        out = fb.op(op, *operands, **kw)
    except KernforgeError:
        return []
    return list(out) if isinstance(out, tuple) else [out]


def _axes(draw, rank: int) -> list[int]:
    return draw(st.lists(st.integers(-rank, rank - 1), max_size=rank, unique_by=lambda a: a % rank)) if rank else []


@st.composite
def shape_op(draw, f, pool: list) -> list:
    """A reduction or data-movement op with attributes drawn to fit the operand."""
    x = draw(st.sampled_from(pool))
    rank = len(x.type.shape)
    kind = draw(st.sampled_from(["sum", "mean", "softmax", "transpose", "reshape", "concat", "split"]))
    if kind in ("sum", "mean"):
        return _try(f, kind, x, axes=_axes(draw, rank), keepdims=draw(st.booleans()))
    if kind == "transpose":
        return _try(f, kind, x, perm=draw(st.permutations(range(rank))))
    if kind == "reshape":
        return _try(f, kind, x, shape=[-1])
    axis = draw(st.integers(-rank, rank - 1)) if rank else 0
    if kind == "softmax":
        return _try(f, kind, x, axis=axis)
    if kind == "concat":
        return _try(f, kind, x, x, axis=axis)
    size = x.type.shape[axis] if rank else 0
    if not isinstance(size, int) or size < 2:
        return []
    cut = draw(st.integers(1, size - 1))
    return _try(f, "split", x, axis=axis, sizes=[cut, size - cut])


ATTR_VALUES = {
    "i": st.integers(-(2**40), 2**40), "f": FLOATS, "b": st.booleans(), "s": st.text(max_size=8),
    "ints": st.lists(st.integers(-9, 9), max_size=4), "floats": st.lists(FLOATS, max_size=3),
    "strs": st.lists(st.text(max_size=4), max_size=3), "dt": st.sampled_from(list(DTYPES.values())),
    "io": st.integers(-5, 5) | st.lists(st.integers(-5, 5), max_size=3), "pick": st.sampled_from("ab"),
}


@st.composite
def attr_op(draw, f, pool: list) -> list:
    """kf_test_attrs with a random subset of its attributes, one value of each kind."""
    keys = draw(st.lists(st.sampled_from(sorted(ATTR_VALUES)), unique=True))
    return _try(f, ATTR_OP, draw(st.sampled_from(pool)), **{k: draw(ATTR_VALUES[k]) for k in keys})


@st.composite
def fused_op(draw, f, pool: list, depth: int) -> list:
    """A fused node whose region has its own arguments, nodes and one or two results."""
    operands = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))
    rf = region(draw(IDENTS))
    for i, v in enumerate(operands):
        rf.func.args.append(Value(v.type, f"r{i}"))
    inner = fill(draw, rf, list(rf.func.args), depth + 1, draw(st.integers(0, 3)))
    rf.ret(*draw(st.lists(st.sampled_from(inner), min_size=1, max_size=2)))
    return _try(f, "fused", *operands, region=rf.func, kind=draw(st.sampled_from(["", "conv_relu", "a\"b"])))


def fill(draw, f, pool: list, depth: int, steps: int) -> list:
    """Append `steps` random nodes to f, growing and returning the pool of usable operands."""
    for _ in range(steps):
        kind = draw(st.sampled_from(["unary", "binary", "clip", "shape", "attrs", "fused"]))
        if kind == "unary":
            new = _try(f, draw(st.sampled_from(UNARY)), draw(st.sampled_from(pool)))
        elif kind == "binary":
            new = _try(f, draw(st.sampled_from(BINARY)), draw(st.sampled_from(pool)), draw(st.sampled_from(pool)))
        elif kind == "clip":
            new = _try(f, "clip", draw(st.sampled_from(pool)), min=draw(st.none() | FLOATS), max=draw(FLOATS))
        elif kind == "shape":
            new = draw(shape_op(f, pool))
        elif kind == "attrs":
            new = draw(attr_op(f, pool))
        else:
            new = draw(fused_op(f, pool, depth)) if depth < 2 else []
        pool += new
    _name_some(draw, f.func)
    return pool


def _name_some(draw, func) -> None:
    """Give some node results names, unique within the function; the rest stay anonymous."""
    taken = {a.name for a in func.args} | {r.name for n in func.nodes for r in n.results}
    for node in func.nodes:
        for r in node.results:
            if r.name is None and draw(st.booleans()):
                name = draw(IDENTS)
                if name not in taken:
                    r.name = name
                    taken.add(name)


@st.composite
def modules(draw):
    """A module: params, a main function over typed args, maybe a second function."""
    b = Builder(draw(IDENTS))
    params = draw(add_params(b))
    for fname in ["main"] + (["aux"] if draw(st.booleans()) else []):
        f = b.function(fname)
        names = draw(st.lists(IDENTS, min_size=1, max_size=3, unique=True))
        for name in names:
            f.func.args.append(Value(draw(tensor_types(FLOAT_DTYPES + ["i8", "bool"], extras=True)), name))
        pool = fill(draw, f, list(f.func.args) + params, 0, draw(st.integers(0, 8)))
        f.ret(*draw(st.lists(st.sampled_from(pool), max_size=3)))
    return b.module
