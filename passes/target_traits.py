"""Facts about the compile target that a weight pass's cost rule reads. kernforge.compile sets them from
its target; passes stay free of TVM (the facts are plain values), and without them every rule is the
target-independent one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..ir.target_traits import TargetTraits

_TRAITS: ContextVar[TargetTraits | None] = ContextVar("target_traits", default=None)


def current_traits() -> TargetTraits:
    return _TRAITS.get() or TargetTraits()


@contextmanager
def target_traits(traits: TargetTraits) -> Iterator[None]:
    token = _TRAITS.set(traits)
    try:
        yield
    finally:
        _TRAITS.reset(token)
