"""The fallback for ops without a converter: inline the op's ONNX function body (as defined
by its schema for the model's opset) and import the body's nodes instead."""

from __future__ import annotations

import itertools

import onnx
from onnx import helper

from .node import NodeView

_counter = itertools.count()


def _schema(proto: onnx.NodeProto, opset: int):
    try:
        return onnx.defs.get_schema(proto.op_type, opset, proto.domain)
    except onnx.defs.SchemaError:
        return None


def _latest(versions, opset: int) -> int | None:
    usable = [v for v in versions if v <= opset]
    return max(usable) if usable else None


def has_body(proto: onnx.NodeProto, opset: int) -> bool:
    s = _schema(proto, opset)
    if s is None:
        return False
    return (_latest(s.function_opset_versions, opset) is not None
            or _latest(s.context_dependent_function_opset_versions, opset) is not None)


def _input_types(view: NodeView) -> list[bytes]:
    """Serialized TypeProtos of the node inputs, for context-dependent function bodies."""
    out = []
    for i in range(view.n_inputs):
        if not view.has(i):
            out.append(onnx.TypeProto().SerializeToString())
            continue
        t = view.type(i)
        elem = helper.np_dtype_to_tensor_dtype(t.dtype.numpy)
        dims = [d if isinstance(d, int) else None for d in t.shape]
        out.append(helper.make_tensor_type_proto(elem, dims).SerializeToString())
    return out


def _with_defaults(view: NodeView, s) -> onnx.NodeProto:
    """A copy of the node carrying every schema default it leaves out (function bodies refer to them)."""
    node = onnx.NodeProto()
    node.CopyFrom(view.proto)
    given = {a.name for a in node.attribute}
    node.attribute.extend(spec.default_value for name, spec in s.attributes.items()
                          if name not in given and spec.default_value.name)
    return node


def function_body(view: NodeView, node: onnx.NodeProto, s) -> onnx.FunctionProto | None:
    """The function body of the op at the node's opset (context-dependent ones see input types)."""
    fp = onnx.FunctionProto()
    version = _latest(s.function_opset_versions, view.opset)
    if version is not None:
        fp.ParseFromString(s.get_function_with_opset_version(version))
        return fp
    version = _latest(s.context_dependent_function_opset_versions, view.opset)
    if version is None:
        return None
    fp.ParseFromString(s.get_context_dependent_function_with_opset_version(
        version, node.SerializeToString(), _input_types(view)))
    return fp


def expand(view: NodeView) -> tuple[list[onnx.NodeProto], dict[str, int]] | None:
    """Nodes equivalent to view (renamed into a fresh namespace) and the opsets they use."""
    s = _schema(view.proto, view.opset)
    if s is None:
        return None
    node = _with_defaults(view, s)
    fp = function_body(view, node, s)
    if fp is None:
        return None
    prefix = f"{view.op_type}_{next(_counter)}__"
    names = {formal: node.input[i] if i < len(node.input) else "" for i, formal in enumerate(fp.input)}
    names.update({formal: actual for formal, actual in zip(fp.output, node.output) if actual})
    attrs = {a.name: a for a in node.attribute}
    rename = lambda n: n if not n else names.get(n, prefix + n)
    nodes = [_instantiate(inner, rename, attrs) for inner in fp.node]
    opsets = {imp.domain if imp.domain != "ai.onnx" else "": imp.version for imp in fp.opset_import}
    return nodes, opsets


def _instantiate(inner: onnx.NodeProto, rename, attrs: dict) -> onnx.NodeProto:
    """A copy of a body node with renamed edges and attribute references resolved."""
    out = onnx.NodeProto()
    out.CopyFrom(inner)
    del out.input[:], out.output[:], out.attribute[:]
    out.input.extend(rename(n) for n in inner.input)
    out.output.extend(rename(n) for n in inner.output)
    for a in inner.attribute:
        if a.ref_attr_name:
            if a.ref_attr_name in attrs:
                resolved = onnx.AttributeProto()
                resolved.CopyFrom(attrs[a.ref_attr_name])
                resolved.name = a.name
                out.attribute.append(resolved)
        elif a.type == onnx.AttributeProto.GRAPH:
            resolved = onnx.AttributeProto()
            resolved.CopyFrom(a)
            _rename_outer(resolved.g, rename, set())
            out.attribute.append(resolved)
        else:
            out.attribute.append(a)
    return out


def _rename_outer(graph: onnx.GraphProto, rename, outer_locals: set[str]) -> None:
    """Rename, in place, the names a subgraph takes from the function body around it."""
    local = set(outer_locals) | {i.name for i in graph.input} | {t.name for t in graph.initializer}
    local |= {o for node in graph.node for o in node.output}
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name and name not in local:
                node.input[i] = rename(name)
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                _rename_outer(a.g, rename, local)
    for o in graph.output:
        if o.name not in local:
            o.name = rename(o.name)
