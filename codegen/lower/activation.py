"""TE computes for activations: float elementwise nonlinearities (computed in >= float32) and PReLU;
plus the dtype helpers the other op families share (widening, exact fp8 conversion, libm calls)."""

from __future__ import annotations

import functools
import math

from tvm import te, tirx

from ...errors import UnsupportedOpError
from ..dtypes import tvm_dtype
from .fastmath import fast_exp, fast_tanh
from .fp8 import FORMATS, f8_to_f32, f32_to_f8
from .registry import lowering

# ONNX Selu constants, as in ir/ops/activation.py.
SELU_ALPHA, SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875
_SUB_BYTE = ("int1", "int2", "int4", "uint1", "uint2", "uint4")


def op_lowering(*ops: str, rule: str = "injective"):
    """registry.lowering that refuses sub-byte integer tensors: TVM packs several elements per byte,
    while kernforge (like ml_dtypes) stores one per byte, so such kernels would read garbage."""

    def wrap(fn):
        @functools.wraps(fn)
        def checked(ins, attrs, out_types):
            for dt in [str(t.dtype) for t in ins] + [tvm_dtype(t.dtype) for t in out_types]:
                if dt in _SUB_BYTE:
                    raise UnsupportedOpError(f"op '{ops[0]}' on {dt} tensors: the TVM backend has no sub-byte "
                                             "element storage (it packs them; kernforge keeps one per byte)")
            return fn(ins, attrs, out_types)

        return lowering(*ops, rule=rule)(checked)

    return wrap


def wide_dtype(dtype) -> str:
    """The compute dtype of a float: half precision and fp8 widen to float32, like the reference."""
    dtype = str(dtype)
    return "float32" if dtype in ("float16", "bfloat16") or dtype.startswith("float8") else dtype


def expr_dtype(e) -> str:
    """The dtype of a scalar expression (TVM 0.27 PrimExprs carry it as `.ty`, tensor slices as `.dtype`)."""
    return str(e.dtype if isinstance(e, (te.Tensor, te.TensorSlice)) else e.ty)


def convert(v, dt) -> object:
    """v as dtype dt; fp8 goes through exact integer conversions (TVM's fp8 casts get subnormals wrong)."""
    src, dt = expr_dtype(v), str(dt)
    if src == dt:
        return v
    if src in FORMATS:
        v, src = f8_to_f32(v, src), "float32"
    if dt in FORMATS:
        return f32_to_f8(v if src == "float32" else v.astype("float32"), dt)
    return v.astype(dt)


def select(cond, a, b):
    """Select(cond, a, b); fp8 values are picked as bytes (TVM's fp8 select does not vectorize)."""
    dt = expr_dtype(a)
    if dt not in FORMATS:
        return tirx.Select(cond, a, b)
    pick = tirx.Select(cond, tirx.reinterpret("uint8", a), tirx.reinterpret("uint8", b))
    return tirx.reinterpret(dt, pick)


def guarded(cond, value, other):
    """value where cond holds, else other, with value evaluated only there. Loads that would be out
    of bounds elsewhere need it: Select evaluates both sides, and TVM drops an index clamp under a
    Select's condition."""
    dt = expr_dtype(value)
    if dt not in FORMATS:
        return tirx.if_then_else(cond, value, other)
    pick = tirx.if_then_else(cond, tirx.reinterpret("uint8", value), tirx.reinterpret("uint8", other))
    return tirx.reinterpret(dt, pick)


def const_of(value, dt) -> object:
    """A constant of dtype dt (fp8 constants are encoded exactly, like converted values)."""
    dt = str(dt)
    return convert(tirx.const(value, "float32"), dt) if dt in FORMATS else tirx.const(value, dt)


def libm(name: str, x):
    """An exact C math call (TVM's llvm tanh and friends trade accuracy for speed)."""
    dt = expr_dtype(x)
    return tirx.call_pure_extern(dt, name + ("f" if dt == "float32" else ""), x)


def exp(x):
    """e^x; float32 uses a polynomial within 2 ulp of expf that stays in vector registers (LLVM turns
    a vector exp into one libm call per lane)."""
    return fast_exp(x) if expr_dtype(x) == "float32" else tirx.exp(x)


def tanh(x):
    """tanh; float32 through the vectorizable exp polynomial (libm's tanhf is one call per lane)."""
    return fast_tanh(x) if expr_dtype(x) == "float32" else libm("tanh", x)


def const(v, like):
    return tirx.const(v, expr_dtype(like))


def _sigmoid(x):
    # exp only sees non-positive arguments, so it never overflows.
    e = exp(-tirx.abs(x))
    one = const(1, x)
    return tirx.Select(x >= const(0, x), one / (one + e), e / (one + e))


def _softplus(x):
    return tirx.max(x, const(0, x)) + libm("log1p", tirx.exp(-tirx.abs(x)))


def _elu(x, alpha):
    neg = const(alpha, x) * libm("expm1", tirx.min(x, const(0, x)))
    return tirx.Select(x > const(0, x), x, neg)


def _hardsigmoid(x, alpha, beta):
    y = const(alpha, x) * x + const(beta, x)
    return tirx.min(tirx.max(y, const(0, x)), const(1, x))


def _gelu(x, approximate):
    half, one = const(0.5, x), const(1, x)
    if approximate == "tanh":
        inner = const(math.sqrt(2 / math.pi), x) * (x + const(0.044715, x) * (x * x * x))
        return half * x * (one + tanh(inner))
    return half * x * (one + tirx.erf(x / const(math.sqrt(2), x)))


def _celu(x, alpha):
    zero = const(0, x)
    neg = const(alpha, x) * libm("expm1", tirx.min(x, zero) / const(alpha, x))
    return tirx.max(x, zero) + tirx.min(zero, neg)


def _clip(x, lo, hi):
    return clamp(x, const(lo, x), const(hi, x))


def clamp(x, lo=None, hi=None):
    """x clamped to [lo, hi] (None: unbounded). Float NaN stays NaN, as in NumPy's clip: each bound is
    a select on `bound < x` / `x < bound`, false for NaN (LLVM's min and max return the other
    operand), and plain selects vectorize where an isnan test inside a fused write-back did not."""
    if not expr_dtype(x).startswith(("float", "bfloat")):
        x = x if hi is None else tirx.min(x, hi)
        return x if lo is None else tirx.max(x, lo)
    x = x if lo is None else tirx.Select(x < lo, lo, x)
    return x if hi is None else tirx.Select(hi < x, hi, x)


# name -> f(x, **attrs) on a widened scalar expression; each mirrors its NumPy reference.
_SCALAR = {
    "relu": lambda x: tirx.max(x, const(0, x)),
    "relu6": lambda x: _clip(x, 0, 6),
    "leaky_relu": lambda x, alpha: tirx.Select(x >= const(0, x), x, const(alpha, x) * x),
    "gelu": _gelu,
    "silu": lambda x: x * _sigmoid(x),
    "hardswish": lambda x: x * _hardsigmoid(x, 1 / 6, 0.5),
    "hardsigmoid": _hardsigmoid,
    "sigmoid": _sigmoid,
    "tanh": tanh,
    "softplus": _softplus,
    "mish": lambda x: x * tanh(_softplus(x)),
    "erf": tirx.erf,
    "elu": _elu,
    "selu": lambda x: const(SELU_GAMMA, x) * _elu(x, SELU_ALPHA),
    "softsign": lambda x: x / (const(1, x) + tirx.abs(x)),
    "celu": _celu,
    "hardtanh": lambda x, min_val, max_val: _clip(x, min_val, max_val),
}


def vector_epilogue(op: str, attrs: dict):
    """f(x) applying a unary float op (clip or an activation) to a scalar or vector float32 expression,
    for hand-written kernels that apply epilogues themselves; None if the op has no such form."""
    if op == "clip":
        bound = lambda b, x: None if b is None else const(b, x)
        return lambda x: clamp(x, bound(attrs.get("min"), x), bound(attrs.get("max"), x))
    fn = _SCALAR.get(op)
    return None if fn is None else (lambda x: fn(x, **attrs))


def _register(name: str, fn) -> None:
    @op_lowering(name)
    def compute(ins, attrs, out_types):
        (x,) = ins
        dt, wide = str(x.dtype), wide_dtype(x.dtype)

        def body(*i):
            return convert(fn(convert(x(*i), wide), **attrs), dt)

        return te.compute(x.shape, body, name=name)


for _name, _fn in _SCALAR.items():
    _register(_name, _fn)


@op_lowering("prelu")
def _prelu(ins, attrs, out_types):
    x, slope = ins
    off = len(x.shape) - len(slope.shape)  # slope broadcasts to x's trailing dims (ONNX PRelu)
    dt, wide = str(x.dtype), wide_dtype(x.dtype)  # one rounding of an exact wide product: as in x's dtype

    def body(*i):
        v = convert(x(*i), wide)
        s = convert(slope(*[0 if int(d) == 1 else i[off + k] for k, d in enumerate(slope.shape)]), wide)
        return convert(tirx.Select(v >= const(0, v), v, v * s), dt)

    return te.compute(x.shape, body, name="prelu")
