"""Shape arithmetic shared by op type inference: broadcasting, axis normalization, checks."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import TypeInferenceError
from ..types import Dim, TensorType


def fail(msg: str):
    raise TypeInferenceError(msg)


def broadcast_dim(a: Dim, b: Dim) -> Dim:
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    if isinstance(a, int) and isinstance(b, int):
        fail(f"cannot broadcast dimensions {a} and {b}")
    # A symbol against a size: the size wins (the symbol must equal it at run time).
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    return a if a is not None else b


def broadcast_shapes(*shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """NumPy broadcasting over static and symbolic dims."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = [1] * rank
    for s in shapes:
        padded = [1] * (rank - len(s)) + list(s)
        try:
            out = [broadcast_dim(a, b) for a, b in zip(out, padded)]
        except TypeInferenceError:
            fail(f"shapes {' and '.join(str(list(x)) for x in shapes)} do not broadcast")
    return tuple(out)


def norm_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        fail(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def norm_axes(axes: Sequence[int] | None, rank: int) -> tuple[int, ...]:
    """Normalized, sorted axes; None means all axes."""
    if axes is None:
        return tuple(range(rank))
    out = sorted({norm_axis(a, rank) for a in axes})
    if len(out) != len(axes):
        fail(f"repeated axes in {list(axes)}")
    return tuple(out)


def same_dtype(*types: TensorType) -> None:
    names = {t.dtype.name for t in types}
    if len(names) > 1:
        fail(f"operand dtypes differ: {', '.join(t.dtype.name for t in types)}")


def need_float(t: TensorType, what: str = "operand") -> None:
    if not t.dtype.is_float:
        fail(f"{what} must be a float tensor, got {t.dtype}")


def need_rank(t: TensorType, ranks, what: str = "operand") -> None:
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if t.rank not in ranks:
        fail(f"{what} must have rank {' or '.join(map(str, ranks))}, got {t.rank} ({t})")


def dim_mul(a: Dim, b: Dim) -> Dim:
    return a * b if isinstance(a, int) and isinstance(b, int) else None


def static_dims(shape: Sequence[Dim], what: str = "shape") -> list[int]:
    if not all(isinstance(d, int) for d in shape):
        fail(f"{what} {list(shape)} must be static here")
    return list(shape)  # type: ignore[arg-type]


def out_type(t: TensorType, shape=None, dt=None) -> TensorType:
    """A plain (no layout/encoding) result type derived from operand t."""
    return TensorType(tuple(t.shape if shape is None else shape), t.dtype if dt is None else dt)
