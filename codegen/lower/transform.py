"""TE computes for layout and shape ops: reshapes, transpose, concat/split, slice, pad, expand, tile,
cast, identity, depth/space rearrangement and trilu."""

from __future__ import annotations

from tvm import te, tirx, topi

from ...ir.ops.shape_utils import norm_axis
from ...ir.ops.transform import _clamp_slice, _slice_params  # the reference's own clamping: the spec
from ..dtypes import tvm_dtype
from .activation import const_of, convert, guarded, op_lowering, select, wide_dtype


def _out_shape(out_types, k: int = 0) -> list[int]:
    return [int(d) for d in out_types[k].shape]


@op_lowering("reshape", "squeeze", "unsqueeze", "flatten")
def _reshape(ins, attrs, out_types):
    return topi.reshape(ins[0], _out_shape(out_types))


@op_lowering("transpose")
def _transpose(ins, attrs, out_types):
    return topi.transpose(ins[0], attrs["perm"])


@op_lowering("concat")
def _concat(ins, attrs, out_types):
    axis = norm_axis(attrs["axis"], len(ins[0].shape))
    starts = [0]
    for t in ins:
        starts.append(starts[-1] + int(t.shape[axis]))

    def body(*i):
        # the last operand whose range starts at or before i[axis] holds the element
        v = None
        for t, start in zip(ins, starts):
            if int(t.shape[axis]) == 0:
                continue
            here = t(*i[:axis], i[axis] - start, *i[axis + 1:])
            v = here if v is None else guarded(i[axis] >= start, here, v)
        return const_of(0, ins[0].dtype) if v is None else v  # all operands empty: so is the result

    return te.compute([int(d) for d in out_types[0].shape], body, name="concat")


@op_lowering("split")
def _split(ins, attrs, out_types):
    (x,) = ins
    axis = norm_axis(attrs["axis"], len(x.shape))
    pieces, start = [], 0
    for k, size in enumerate(attrs["sizes"]):
        shape = [size if d == axis else x.shape[d] for d in range(len(x.shape))]
        pieces.append(te.compute(shape, _shifted(x, axis, start), name=f"split{k}"))
        start += size
    return pieces


def _shifted(x, axis: int, start: int):
    return lambda *i: x(*[v + start if d == axis else v for d, v in enumerate(i)])


@op_lowering("slice")
def _slice(ins, attrs, out_types):
    (x,) = ins
    rank = len(x.shape)
    # axis -> (first index, step), with ONNX clamping done at compile time
    walk = {}
    for a, s, e, st in _slice_params(rank, attrs["starts"], attrs["ends"], attrs["axes"], attrs["steps"]):
        walk[a] = (_clamp_slice(int(x.shape[a]), s, e, st)[0], st)

    def body(*i):
        return x(*[walk[d][0] + v * walk[d][1] if d in walk else v for d, v in enumerate(i)])

    return te.compute(_out_shape(out_types), body, name="slice")


def _pad_source(v, n: int, mode: str):
    """The input index that output position v (already shifted by the begin pad) reads, per np.pad mode."""
    if mode == "edge":
        return tirx.min(tirx.max(v, 0), n - 1)
    if mode == "wrap":
        return tirx.floormod(v, n)
    if n == 1:
        return v * 0
    period = 2 * (n - 1)  # reflect: the mirrored signal repeats every 2 (n - 1) elements
    m = tirx.floormod(v, period)
    return tirx.Select(m < n, m, period - m)


@op_lowering("pad")
def _pad(ins, attrs, out_types):
    (x,) = ins
    rank, mode, pads = len(x.shape), attrs["mode"], attrs["pads"]
    dims = [int(d) for d in x.shape]
    value = const_of(attrs["value"] if str(x.dtype).startswith(("float", "bfloat")) else int(attrs["value"]), x.dtype)

    def body(*i):
        src = [v - pads[d] for d, v in enumerate(i)]  # negative begin pads crop
        if mode != "constant":
            return x(*[_pad_source(s, n, mode) for s, n in zip(src, dims)])
        inside = tirx.all(*[tirx.all(s >= 0, s < n) for s, n in zip(src, dims)]) if rank else tirx.const(True)
        return guarded(inside, x(*src), value)

    return te.compute(_out_shape(out_types), body, name="pad")


@op_lowering("expand")
def _expand(ins, attrs, out_types):
    return topi.broadcast_to(ins[0], _out_shape(out_types))


@op_lowering("tile")
def _tile(ins, attrs, out_types):
    (x,) = ins
    return te.compute(_out_shape(out_types), lambda *i: x(*[v % n for v, n in zip(i, x.shape)]), name="tile")


@op_lowering("cast")
def _cast(ins, attrs, out_types):
    (x,) = ins
    dt = tvm_dtype(attrs["dtype"])
    if dt == "bool":  # nonzero (NaN included) is True
        wide = wide_dtype(x.dtype)
        return te.compute(x.shape, lambda *i: convert(x(*i), wide) != tirx.const(0, wide), name="cast")
    from_float = str(x.dtype).startswith(("float", "bfloat"))
    target = attrs["dtype"]
    if from_float and target.kind in ("int", "uint") and target.bits < 8:
        return te.compute(x.shape, lambda *i: _to_sub_byte(convert(x(*i), "int32"), target.bits, target.kind, dt),
                          name="cast")
    via = _FLOAT_TO_INT_VIA.get(dt) if from_float else None
    if via:
        return te.compute(x.shape, lambda *i: convert(x(*i), via).astype(dt), name="cast")
    return te.compute(x.shape, lambda *i: convert(x(*i), dt), name="cast")


def _to_sub_byte(v, bits: int, kind: str, storage: str):
    """A truncated float as a sub-byte int, as ml_dtypes (the reference) converts: 0 when out of range
    (NaN too: its int32 conversion is out of range), not wrapped."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind == "int" else (0, (1 << bits) - 1)
    return tirx.Select(tirx.all(v >= lo, v <= hi), v, tirx.const(0, "int32")).astype(storage)


# Float to narrow int converts through a wider int and wraps, as NumPy does on x86 (a direct LLVM
# conversion of an out-of-range value is undefined: 200.0 -> int8 would not give -56).
_FLOAT_TO_INT_VIA = {"int8": "int32", "uint8": "int32", "int16": "int32", "uint16": "int32", "uint32": "int64"}


@op_lowering("identity", "layout_transform")  # a layout change happens in the kernel's argument views
def _identity(ins, attrs, out_types):
    (x,) = ins
    return te.compute(x.shape, lambda *i: x(*i), name="identity")


@op_lowering("depth_to_space")
def _depth_to_space(ins, attrs, out_types):
    (x,) = ins
    b = attrs["blocksize"]
    cb = int(x.shape[1]) // (b * b)
    # DCR reads channel (bh * b + bw) * cb + c, CRD reads c * b * b + bh * b + bw
    crd = attrs["mode"] == "CRD"

    def body(n, c, h, w):
        block = (h % b) * b + w % b
        return x(n, c * b * b + block if crd else block * cb + c, h // b, w // b)

    return te.compute(_out_shape(out_types), body, name="depth_to_space")


@op_lowering("space_to_depth")
def _space_to_depth(ins, attrs, out_types):
    (x,) = ins
    b, c_in = attrs["blocksize"], int(x.shape[1])

    def body(n, c, h, w):
        block = c // c_in
        return x(n, c % c_in, h * b + block // b, w * b + block % b)

    return te.compute(_out_shape(out_types), body, name="space_to_depth")


@op_lowering("trilu")
def _trilu(ins, attrs, out_types):
    (x,) = ins
    k, upper = attrs["k"], attrs["upper"]

    def body(*i):
        diff = i[-1] - i[-2]
        keep = diff >= k if upper else diff <= k
        return select(keep, x(*i), const_of(0, x.dtype))

    return te.compute(x.shape, body, name="trilu")
