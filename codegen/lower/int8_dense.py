"""TE lowering of int8_dense (W8A8): a TE stage rounds the input to int8 on its static scale, then
hand-written TIR multiplies int8 by int8 in 32-lane vectors on AVX2: vpmaddubsw takes one unsigned
operand, so |x| (vpsign x by x) meets w with x's sign (vpsign w by x), pairs summed to int16 (at most
2 * 127 * 127), then to int32 (vpmaddwd); one float multiply per output applies both scales."""

from __future__ import annotations

import math

from tvm import te, tirx
from tvm.script.ir_builder import tirx as T

from ...ir.quantization import LANES
from .flat_rows import flat_index, unflat_index
from .quant_dense_i8 import ROWS_PER_TASK, dpbusd, has_vnni
from .registry import lowering
from .tir_kernel import local, per_core

_SIGN, _MADD_UBSW, _MADD_WD = "llvm.x86.avx2.psign.b", "llvm.x86.avx2.pmadd.ub.sw", "llvm.x86.avx2.pmadd.wd"
CHUNK = 32  # int8 lanes per vector


def _body(ins, out, rows: int, n: int, k: int, x_scale: float):
    """y[p, o] = sum_k x_code[p, k] * w[o, k] * x_scale * w_scales[o] (+ bias[o])."""
    codes, w, w_scales, *bias = (T.buffer_proxy(b) for b in ins)
    y = T.buffer_proxy(out)
    per = next(r for r in (ROWS_PER_TASK, 2, 1) if n % r == 0)
    ones = tirx.Broadcast(tirx.const(1, "int16"), 16)
    call = tirx.call_llvm_pure_intrin
    lanes = lambda r: tirx.Ramp(r * LANES, 1, LANES)
    vnni = has_vnni()
    def tile(task, dot):
        with T.serial(0, rows) as p:
            for r in range(per):
                dot[lanes(r)] = tirx.Broadcast(tirx.const(0, "int32"), LANES)
            with T.serial(0, k // CHUNK) as c:
                xs = codes[p, tirx.Ramp(c * CHUNK, 1, CHUNK)]
                magnitude = call("int8x32", _SIGN, xs, xs)
                for r in range(per):
                    signed = call("int8x32", _SIGN, w[task * per + r, tirx.Ramp(c * CHUNK, 1, CHUNK)], xs)
                    if vnni:
                        dot[lanes(r)] = dpbusd(dot[lanes(r)], magnitude, signed)
                    else:
                        pairs = call("int16x16", _MADD_UBSW, magnitude, signed)
                        dot[lanes(r)] = dot[lanes(r)] + call("int32x8", _MADD_WD, pairs, ones)
            for r in range(per):
                o = task * per + r
                total = sum((dot[r * LANES + i] for i in range(1, LANES)), dot[r * LANES])
                v = total.astype("float32") * (tirx.const(x_scale, "float32") * w_scales[o])
                y[p, o] = v + bias[0][o] if bias else v
    return per_core(n // per, lambda: local([per * LANES], "int32"), tile)


@lowering("int8_dense", rule="opaque", requires=lambda attrs: "avx2")
def _int8_dense(ins, attrs, out_types):
    x, w, w_scales, *bias = ins
    lead, k, n = [int(d) for d in x.shape[:-1]], int(x.shape[-1]), int(w.shape[0])
    rows, scale = math.prod(lead), attrs["x_scale"]
    if k % CHUNK:
        raise ValueError(f"int8_dense needs inputs in multiples of {CHUNK}, got {k}")

    def code(p, kk):
        v = tirx.nearbyint(x[(*unflat_index(p, lead), kk)] / tirx.const(scale, "float32"))
        return tirx.max(tirx.min(v, tirx.const(127, "float32")), tirx.const(-127, "float32")).astype("int8")

    codes = te.compute((rows, k), code, name="int8_codes")
    y2 = te.extern([(rows, n)], [codes, w, w_scales, *bias], lambda i, o: _body(i, o[0], rows, n, k, scale),
                   dtype=["float32"], name="int8_dot")
    return te.compute((*lead, n), lambda *i: y2[flat_index(i[:-1], lead), i[-1]], name="int8_dense")
