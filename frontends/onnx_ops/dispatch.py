"""Convert one ONNX node through the registry, falling back to the op's ONNX function body."""

from __future__ import annotations

from collections.abc import Iterable

import onnx

from ...errors import KernforgeError, ModelError, UnsupportedOpError
from . import functions
from .context import ImportContext, Unavailable
from .node import ExpandInstead, NodeView
from .registry import canonical_domain, find


def opset_of(opsets: dict[str, int], domain: str) -> int:
    return opsets.get(canonical_domain(domain), 0)


def is_supported(proto: onnx.NodeProto, opsets: dict[str, int]) -> bool:
    opset = opset_of(opsets, proto.domain)
    return find(proto.domain, proto.op_type, opset) is not None or functions.has_body(proto, opset)


def unsupported(nodes: Iterable[onnx.NodeProto], opsets: dict[str, int]) -> list[str]:
    """'Op (opset N) node 'name'' for every node without a converter or function body."""
    out = []
    for i, proto in enumerate(nodes):
        if not is_supported(proto, opsets):
            domain = f"{proto.domain}." if canonical_domain(proto.domain) else ""
            name = proto.name or (proto.output[0] if proto.output else f"#{i}")
            out.append(f"{domain}{proto.op_type} (opset {opset_of(opsets, proto.domain)}) node '{name}'")
    return out


def convert_node(ctx: ImportContext, proto: onnx.NodeProto) -> None:
    """Convert proto and bind its outputs in ctx.env."""
    opset = opset_of(ctx.opsets, proto.domain)
    view = NodeView(ctx, proto, opset)
    conv = find(proto.domain, proto.op_type, opset)
    if conv is None:
        return _convert_body(ctx, view, "no converter and no ONNX function body for this op")
    try:
        results = conv.fn(view)
    except ExpandInstead as e:
        return _convert_body(ctx, view, str(e))
    except (UnsupportedOpError, ModelError):
        raise
    except KernforgeError as e:
        raise type(e)(f"{view.where}: {e}") from e
    bind_outputs(view, results)


def _convert_body(ctx: ImportContext, view: NodeView, reason: str) -> None:
    """Import the op's ONNX function body in place of the node."""
    expanded = functions.expand(view)
    if expanded is None:
        view.fail(reason)
    saved = ctx.opsets
    ctx.opsets = {**saved, **expanded[1]}
    try:
        for inner in expanded[0]:
            convert_node(ctx, inner)
    finally:
        ctx.opsets = saved


def bind_outputs(view: NodeView, results) -> None:
    """Bind each named ONNX output; an output without a result fails only if it is used."""
    results = list(results) if isinstance(results, (list, tuple)) else [results]
    for i, name in enumerate(view.proto.output):
        if not name:
            continue
        if i >= len(results) or results[i] is None:
            view.ctx.env[name] = Unavailable(f"{view.where}: output {i} ('{name}') is not supported")
        else:
            view.ctx.bind(name, results[i])
