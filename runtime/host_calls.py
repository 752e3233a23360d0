"""Host functions that compiled kernels call back into, for ops a library does better than a loop nest.

Registered in TVM's global function table on import; a compiled library looks them up by name when it
runs, so any process that loads an artifact imports this module first (the executor does)."""

from __future__ import annotations

import tvm

from ..ir.ops import get_op

# dft through NumPy's pocketfft: O(n log n), and the rounding ONNX's own reference outputs carry.
DFT = "kernforge.host.dft"


@tvm.register_global_func(DFT, override=True)
def _dft(x, y, axis: int, length: int, inverse: int, onesided: int) -> None:
    attrs = {"axis": axis, "length": length, "inverse": bool(inverse), "onesided": bool(onesided)}
    y.copyfrom(get_op("dft").reference(x.numpy(), **attrs))
