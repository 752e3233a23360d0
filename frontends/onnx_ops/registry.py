"""The converter registry: (domain, op_type) -> converters, each valid for a range of opsets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import onnx

LATEST = onnx.defs.onnx_opset_version()
OLDEST = 7  # the oldest default-domain opset kernforge promises; older models import where converters allow


@dataclass(frozen=True)
class Converter:
    """Converts one ONNX node (a NodeView) into IR; valid for opsets since..until inclusive."""

    fn: Callable
    since: int
    until: int

    def accepts(self, opset: int) -> bool:
        return self.since <= opset <= self.until


CONVERTERS: dict[tuple[str, str], list[Converter]] = {}


def canonical_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def converter(*op_types: str, domain: str = "", since: int = 1, until: int = 10**6):
    """Decorator: register fn for each op_type of domain, for opsets since..until."""

    def wrap(fn: Callable) -> Callable:
        for op_type in op_types:
            CONVERTERS.setdefault((canonical_domain(domain), op_type), []).append(Converter(fn, since, until))
        return fn

    return wrap


def find(domain: str, op_type: str, opset: int) -> Converter | None:
    """The converter for this op at this opset, or None."""
    for conv in CONVERTERS.get((canonical_domain(domain), op_type), []):
        if conv.accepts(opset):
            return conv
    return None
