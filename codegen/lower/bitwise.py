"""TE computes for bitwise logic on integers: topi's broadcasting bitwise ops."""

from __future__ import annotations

from tvm import topi

from .registry import lowering

_BINARY = {"bitwise_and": topi.bitwise_and, "bitwise_or": topi.bitwise_or, "bitwise_xor": topi.bitwise_xor}


def _register_binary(name: str, fn) -> None:
    lowering(name)(lambda ins, attrs, out_types: fn(*ins))


for _name, _fn in _BINARY.items():
    _register_binary(_name, _fn)


@lowering("bitwise_not")
def _bitwise_not(ins, attrs, out_types):
    return topi.bitwise_not(ins[0])
