"""The converter registry: ATen op overload packet -> function that emits kernforge IR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Converter = Callable[..., Any]

# Keyed by OpOverloadPacket (torch.ops.aten.add covers add.Tensor, add.Scalar, ...).
CONVERTERS: dict[Any, Converter] = {}


def converts(*packets) -> Callable[[Converter], Converter]:
    """Decorator: register fn(cx, *args, **kwargs) for these ATen packets; args arrive as IR values."""

    def wrap(fn: Converter) -> Converter:
        for p in packets:
            if p in CONVERTERS:
                raise ValueError(f"{p} has two converters")
            CONVERTERS[p] = fn
        return fn

    return wrap


def lookup(target) -> Converter | None:
    """The converter for an FX call_function target (an OpOverload), or None."""
    return CONVERTERS.get(getattr(target, "overloadpacket", target))
