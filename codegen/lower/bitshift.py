"""TE computes for integer bit shifts with ONNX's out-of-range rules (an LLVM shift by the bit
width or more is undefined, so those lanes select their result instead of shifting)."""

from __future__ import annotations

from tvm import te, tirx, topi

from .registry import lowering


def _shift(ins, out_types, left: bool):
    shape = list(out_types[0].shape)
    a, b = (topi.broadcast_to(t, shape) for t in ins)
    dt = str(a.dtype)
    zero = tirx.const(0, dt)

    def body(*i):
        x, n = a(*i), b(*i)
        # compared as int64: TVM's simplifier folds an unsigned compare into a 0u - n that it rejects
        # (an unsigned amount of 2^63 or more turns negative there, and is out of range either way)
        n64 = n.astype("int64")
        valid = tirx.all(n64 >= tirx.const(0, "int64"), n64 < tirx.const(int(dt.lstrip("uint")), "int64"))
        amount = tirx.Select(valid, n, zero)
        if left:
            return tirx.Select(valid, tirx.shift_left(x, amount), zero)
        # signed right shifts are arithmetic: shifting everything out leaves the sign
        overflow = tirx.Select(x < zero, tirx.const(-1, dt), zero) if dt.startswith("int") else zero
        return tirx.Select(valid, tirx.shift_right(x, amount), overflow)

    return te.compute(shape, body, name="shift_left" if left else "shift_right")


@lowering("shift_left")
def _shift_left(ins, attrs, out_types):
    return _shift(ins, out_types, left=True)


@lowering("shift_right")
def _shift_right(ins, attrs, out_types):
    return _shift(ins, out_types, left=False)
