"""Layout and shape ops: reshape, transpose, concat/split, slice, pad, expand, squeeze/unsqueeze,
flatten, tile, cast, identity, depth/space rearrangement and trilu (resize is in indexing.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..types import Dim
from .indexing import axis_of, dims_product, static_and_symbols, unify_shapes
from .registry import BROADCAST, ELEMWISE, INJECTIVE, Attr, op
from .shape_utils import (
    broadcast_shapes,
    dim_mul,
    fail,
    need_rank,
    norm_axes,
    norm_axis,
    out_type,
    same_dtype,
)

_INT_MAX = (2**31 - 1, 2**63 - 1)  # slice ends meaning "to the end", whatever the dim


def _with_dim(shape, axis: int, d: Dim) -> tuple:
    return tuple(shape[:axis]) + (d,) + tuple(shape[axis + 1:])


def _reshape_target(in_shape, shape) -> list:
    """The target dims with 0 entries replaced by the input dim they copy; -1 stays."""
    if sum(s == -1 for s in shape) > 1 or any(s < -1 for s in shape):
        fail(f"shape {list(shape)} may hold one -1 and otherwise sizes >= 0")
    if any(s == 0 and i >= len(in_shape) for i, s in enumerate(shape)):
        fail(f"shape {list(shape)} copies a dim (0) beyond the operand rank {len(in_shape)}")
    return [in_shape[i] if s == 0 else s for i, s in enumerate(shape)]


@op("reshape", operands="x", fusion=INJECTIVE, attrs={"shape": Attr("ints")})
class Reshape:
    """ONNX Reshape (allowzero=0): 0 copies the input dim, one -1 is inferred."""

    @staticmethod
    def infer(x, *, shape):
        dims = _reshape_target(x.shape, shape)
        in_static, in_syms = static_and_symbols(x.shape)
        out_static, out_syms = static_and_symbols([d for d in dims if d != -1])
        # Symbols on both sides cancel; None never equals another None, so it cannot.
        common = Counter({s: n for s, n in (in_syms & out_syms).items() if s is not None})
        in_left, out_left = list((in_syms - common).elements()), list((out_syms - common).elements())
        if -1 not in dims:
            if not in_left and not out_left and in_static != out_static:
                fail(f"cannot reshape {x} ({in_static} elements) to {list(shape)}")
            return out_type(x, dims)
        if not in_left and not out_left:
            if out_static == 0 or in_static % out_static:
                fail(f"cannot reshape {x} to {list(shape)}: -1 has no integral size")
            inferred = in_static // out_static
        else:
            lone = len(in_left) == 1 and not out_left and in_static == out_static
            inferred = in_left[0] if lone else None
        return out_type(x, [inferred if d == -1 else d for d in dims])

    @staticmethod
    def reference(x, *, shape):
        return x.reshape(_reshape_target(x.shape, shape))


def _perm(rank: int, perm) -> tuple[int, ...]:
    p = tuple(range(rank))[::-1] if perm is None else tuple(perm)
    if sorted(p) != list(range(rank)):
        fail(f"perm {list(p)} is not a permutation of 0..{rank - 1}")
    return p


@op("transpose", operands="x", fusion=INJECTIVE, attrs={"perm": Attr("ints", None)})
class Transpose:
    """Permute axes; no perm reverses them."""

    @staticmethod
    def infer(x, *, perm):
        return out_type(x, [x.shape[i] for i in _perm(x.rank, perm)])

    @staticmethod
    def reference(x, *, perm):
        return np.transpose(x, _perm(x.ndim, perm))


@op("concat", operands="inputs*", fusion=INJECTIVE, attrs={"axis": Attr("int")})
class Concat:
    """Join tensors along axis; all other dims must agree."""

    @staticmethod
    def infer(*inputs, axis):
        if not inputs:
            fail("needs at least one operand")
        same_dtype(*inputs)
        a = axis_of(inputs[0], axis)
        shape = inputs[0].shape
        for t in inputs[1:]:
            shape = unify_shapes(_with_dim(shape, a, 0), _with_dim(t.shape, a, 0), "operands")
        sizes = [t.shape[a] for t in inputs]
        joined = sum(sizes) if all(isinstance(d, int) for d in sizes) else sizes[0] if len(sizes) == 1 else None
        return out_type(inputs[0], _with_dim(shape, a, joined))

    @staticmethod
    def reference(*inputs, axis):
        return np.concatenate(inputs, axis=axis)


@op("split", operands="x", fusion=INJECTIVE, attrs={"axis": Attr("int", 0), "sizes": Attr("ints")})
class Split:
    """Cut x along axis into consecutive pieces of the given sizes; one result per piece."""

    @staticmethod
    def infer(x, *, axis, sizes):
        a = axis_of(x, axis)
        if not sizes or min(sizes) < 0:
            fail(f"sizes {list(sizes)} must be a non-empty list of sizes >= 0")
        if isinstance(x.shape[a], int) and sum(sizes) != x.shape[a]:
            fail(f"sizes {list(sizes)} do not add up to dim {a} of {x}")
        return [out_type(x, _with_dim(x.shape, a, s)) for s in sizes]

    @staticmethod
    def reference(x, *, axis, sizes):
        return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def _slice_params(rank: int, starts, ends, axes, steps) -> list[tuple[int, int, int, int]]:
    """(axis, start, end, step) per sliced axis, validated."""
    n = len(starts)
    axes = tuple(range(n)) if axes is None else axes
    steps = (1,) * n if steps is None else steps
    if not len(ends) == len(axes) == len(steps) == n:
        fail("starts, ends, axes and steps must have the same length")
    if 0 in steps:
        fail("steps must be nonzero")
    axes = [norm_axis(a, rank) for a in axes]
    if len(set(axes)) != n:
        fail(f"repeated axes in {list(axes)}")
    return list(zip(axes, starts, ends, steps))


def _clamp_slice(dim: int, start: int, end: int, step: int) -> tuple[int, int, int]:
    """ONNX Slice clamping for a static dim: (start, end, length); end -1 means before index 0."""
    start = start + dim if start < 0 else start
    if end in _INT_MAX:  # as in onnxruntime and exporters: NumPy's None, the end in the step's direction
        end = dim if step > 0 else -1
    elif end < 0:
        end += dim
    start = min(max(start, 0), dim if step > 0 else dim - 1)
    end = min(max(end, 0 if step > 0 else -1), dim if step > 0 else dim - 1)
    return start, end, max(0, -((start - end) // step))


def _slice_dim(d: Dim, start: int, end: int, step: int) -> Dim:
    if isinstance(d, int):
        return _clamp_slice(d, start, end, step)[2]
    # A symbolic dim survives only a pass over all of it, forwards or backwards.
    if step == 1:
        return d if start == 0 and end >= _INT_MAX[0] else None
    whole = step == -1 and start in (-1, *_INT_MAX) and (end in _INT_MAX or end <= -_INT_MAX[0] - 1)
    return d if whole else None


@op("slice", operands="x", fusion=INJECTIVE,
    attrs={"starts": Attr("ints"), "ends": Attr("ints"), "axes": Attr("ints", None), "steps": Attr("ints", None)})
class Slice:
    """ONNX Slice: strided ranges on some axes, bounds clamped, negative steps walk backwards."""

    @staticmethod
    def infer(x, *, starts, ends, axes, steps):
        shape = list(x.shape)
        for a, s, e, st in _slice_params(x.rank, starts, ends, axes, steps):
            shape[a] = _slice_dim(x.shape[a], s, e, st)
        return out_type(x, shape)

    @staticmethod
    def reference(x, *, starts, ends, axes, steps):
        index = [slice(None)] * x.ndim
        for a, s, e, st in _slice_params(x.ndim, starts, ends, axes, steps):
            s, e, _ = _clamp_slice(x.shape[a], s, e, st)
            index[a] = slice(s, None if e < 0 else e, st)
        return x[tuple(index)]


@op("pad", operands="x", fusion=INJECTIVE,
    attrs={"pads": Attr("ints"), "mode": Attr("str", "constant", ("constant", "reflect", "edge", "wrap")),
           "value": Attr("float", 0.0)})
class Pad:
    """ONNX Pad: pads = [begin_0, .., begin_n, end_0, .., end_n]; negative pads crop."""

    @staticmethod
    def infer(x, *, pads, mode, value):
        if len(pads) != 2 * x.rank:
            fail(f"pads needs {2 * x.rank} entries for {x}, got {len(pads)}")
        shape = [d + b + e if isinstance(d, int) else (d if b + e == 0 else None)
                 for d, b, e in zip(x.shape, pads, pads[x.rank:])]
        if any(isinstance(d, int) and d < 0 for d in shape):
            fail(f"pads {list(pads)} crop more than {x} holds")
        return out_type(x, shape)

    @staticmethod
    def reference(x, *, pads, mode, value):
        begin, end = np.array(pads[:x.ndim]), np.array(pads[x.ndim:])
        kw = {"constant_values": np.array(value).astype(x.dtype)} if mode == "constant" else {}
        out = np.pad(x, list(zip(np.maximum(begin, 0), np.maximum(end, 0))), mode=mode, **kw)
        crop = [slice(-b, n + e) for b, e, n in zip(np.minimum(begin, 0), np.minimum(end, 0), out.shape)]
        return out[tuple(crop)]


@op("expand", operands="x", fusion=BROADCAST, attrs={"shape": Attr("ints")})
class Expand:
    """ONNX Expand: broadcast x against shape (both ways, so 1 in shape keeps x's dim)."""

    @staticmethod
    def infer(x, *, shape):
        if any(s < 0 for s in shape):
            fail(f"shape {list(shape)} has a negative size")
        return out_type(x, broadcast_shapes(x.shape, shape))

    @staticmethod
    def reference(x, *, shape):
        return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(shape))).copy()


def _squeeze_axes(x, axes) -> tuple[int, ...]:
    if axes is None:  # symbolic dims are kept: they are not known to be 1
        return tuple(i for i, d in enumerate(x.shape) if d == 1)
    axes = norm_axes(axes, x.rank)
    if any(isinstance(x.shape[a], int) and x.shape[a] != 1 for a in axes):
        fail(f"cannot squeeze axes {list(axes)} of {x}: not all are 1")
    return axes


@op("squeeze", operands="x", fusion=INJECTIVE, attrs={"axes": Attr("ints", None)})
class Squeeze:
    """Drop size-1 axes (all static ones when axes is None)."""

    @staticmethod
    def infer(x, *, axes):
        drop = _squeeze_axes(x, axes)
        return out_type(x, [d for i, d in enumerate(x.shape) if i not in drop])

    @staticmethod
    def reference(x, *, axes):
        return np.squeeze(x, axis=None if axes is None else tuple(axes))


@op("unsqueeze", operands="x", fusion=INJECTIVE, attrs={"axes": Attr("ints")})
class Unsqueeze:
    """Insert size-1 axes; axes index the result."""

    @staticmethod
    def infer(x, *, axes):
        new = norm_axes(axes, x.rank + len(axes))
        dims = iter(x.shape)
        return out_type(x, [1 if i in new else next(dims) for i in range(x.rank + len(axes))])

    @staticmethod
    def reference(x, *, axes):
        return np.expand_dims(x, tuple(axes))


def _flatten_split(rank: int, axis: int) -> int:
    if not -rank <= axis <= rank:
        fail(f"axis {axis} is out of range [-{rank}, {rank}]")
    return axis + rank if axis < 0 else axis


@op("flatten", operands="x", fusion=INJECTIVE, attrs={"axis": Attr("int", 1)})
class Flatten:
    """ONNX Flatten: a 2-D view, dims before axis times dims from axis on."""

    @staticmethod
    def infer(x, *, axis):
        a = _flatten_split(x.rank, axis)
        return out_type(x, (dims_product(x.shape[:a]), dims_product(x.shape[a:])))

    @staticmethod
    def reference(x, *, axis):
        a = _flatten_split(x.ndim, axis)
        return x.reshape(int(np.prod(x.shape[:a])), int(np.prod(x.shape[a:])))


def _times(d: Dim, r: int) -> Dim:
    return d if r == 1 else dim_mul(d, r)


@op("tile", operands="x", fusion=INJECTIVE, attrs={"repeats": Attr("ints")})
class Tile:
    """Repeat x repeats[i] times along each axis i."""

    @staticmethod
    def infer(x, *, repeats):
        if len(repeats) != x.rank or any(r < 0 for r in repeats):
            fail(f"repeats {list(repeats)} must hold {x.rank} counts >= 0")
        return out_type(x, [_times(d, r) for d, r in zip(x.shape, repeats)])

    @staticmethod
    def reference(x, *, repeats):
        return np.tile(x, repeats)


@op("cast", operands="x", fusion=ELEMWISE, attrs={"dtype": Attr("dtype")})
class Cast:
    """Convert elements to dtype; float to int truncates toward zero, nonzero becomes True."""

    @staticmethod
    def infer(x, *, dtype):
        return out_type(x, dt=dtype)

    @staticmethod
    def reference(x, *, dtype):
        return x.astype(dtype.numpy)


@op("identity", operands="x", fusion=ELEMWISE)
class Identity:
    """Return x unchanged."""

    @staticmethod
    def infer(x):
        return out_type(x)

    @staticmethod
    def reference(x):
        return x.copy()


def _div_dim(d: Dim, b: int, what: str) -> Dim:
    if not isinstance(d, int):
        return None
    if d % b:
        fail(f"{what} {d} is not divisible by {b}")
    return d // b


def _blocks(x, blocksize: int) -> int:
    need_rank(x, 4)
    if blocksize < 1:
        fail(f"blocksize must be >= 1, got {blocksize}")
    return blocksize


@op("depth_to_space", operands="x", fusion=INJECTIVE,
    attrs={"blocksize": Attr("int"), "mode": Attr("str", "DCR", ("DCR", "CRD"))})
class DepthToSpace:
    """NCHW: move channel blocks into b x b spatial tiles (DCR: depth-major, CRD: channel-major)."""

    @staticmethod
    def infer(x, *, blocksize, mode):
        b = _blocks(x, blocksize)
        n, c, h, w = x.shape
        return out_type(x, (n, _div_dim(c, b * b, "channels"), dim_mul(h, b), dim_mul(w, b)))

    @staticmethod
    def reference(x, *, blocksize, mode):
        n, c, h, w = x.shape
        b, cb = blocksize, c // blocksize**2
        y = (x.reshape(n, b, b, cb, h, w).transpose(0, 3, 4, 1, 5, 2) if mode == "DCR"
             else x.reshape(n, cb, b, b, h, w).transpose(0, 1, 4, 2, 5, 3))
        return y.reshape(n, cb, h * b, w * b)


@op("space_to_depth", operands="x", fusion=INJECTIVE, attrs={"blocksize": Attr("int")})
class SpaceToDepth:
    """NCHW: move each b x b spatial tile into channels (inverse of DCR depth_to_space)."""

    @staticmethod
    def infer(x, *, blocksize):
        b = _blocks(x, blocksize)
        n, c, h, w = x.shape
        return out_type(x, (n, dim_mul(c, b * b), _div_dim(h, b, "height"), _div_dim(w, b, "width")))

    @staticmethod
    def reference(x, *, blocksize):
        n, c, h, w = x.shape
        b = blocksize
        y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
        return y.reshape(n, c * b * b, h // b, w // b)


@op("trilu", operands="x", fusion=INJECTIVE, attrs={"upper": Attr("bool", True), "k": Attr("int", 0)})
class Trilu:
    """Keep the upper (or lower) triangle of the last two dims from diagonal k; zero the rest."""

    @staticmethod
    def infer(x, *, upper, k):
        if x.rank < 2:
            fail(f"operand must have rank >= 2, got {x}")
        return out_type(x)

    @staticmethod
    def reference(x, *, upper, k):
        return (np.triu if upper else np.tril)(x, k)
