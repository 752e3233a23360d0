"""TE compute for is_inf: a comparison with the infinities of the detected signs."""

from __future__ import annotations

import math

from tvm import te, tirx

from .registry import lowering


@lowering("is_inf")
def _is_inf(ins, attrs, out_types):
    (x,) = ins
    dt = str(x.dtype)
    signs = [s for s, on in ((1, attrs["detect_positive"]), (-1, attrs["detect_negative"])) if on]

    def body(*i):
        hits = [x(*i) == tirx.const(s * math.inf, dt) for s in signs]
        return tirx.any(*hits) if len(hits) > 1 else hits[0] if hits else tirx.const(False, "bool")

    return te.compute(x.shape, body, name="is_inf")
