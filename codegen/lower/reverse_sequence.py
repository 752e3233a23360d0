"""TE compute for reverse_sequence: a gather that reads each batch entry's first steps backwards."""

from __future__ import annotations

from tvm import te, tirx

from .registry import lowering


def _reversed_steps(n, steps: int):
    """How many leading steps the reference's y[b, :n] reverses (a negative n counts from the end)."""
    n = n.astype("int64")
    n = tirx.Select(n < 0, n + steps, n)
    return tirx.min(tirx.max(n, tirx.const(0, "int64")), tirx.const(steps, "int64"))


@lowering("reverse_sequence")
def _reverse_sequence(ins, attrs, out_types):
    x, lens = ins
    b_ax, t_ax = attrs["batch_axis"], attrs["time_axis"]
    steps = int(x.shape[t_ax])

    def body(*i):
        n, t = _reversed_steps(lens(i[b_ax]), steps), i[t_ax].astype("int64")
        src = tirx.Select(t < n, n - 1 - t, t)
        return x(*[src if d == t_ax else v for d, v in enumerate(i)])

    return te.compute(x.shape, body, name="reverse_sequence")
