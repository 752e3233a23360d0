"""The verifier: SSA dominance, known ops, valid attributes, and result types that match inference."""

from __future__ import annotations

from ..errors import KernforgeError, VerificationError
from .graph import Function, Module, Param
from .interpreter import describe
from .ops import get_op
from .types import TensorType


class _Where:
    """Formats the node locator only when an error message needs it (keeps verify linear)."""

    def __init__(self, node, func: Function, index: int):
        self.node, self.func, self.index = node, func, index

    def __format__(self, spec: str) -> str:
        return f"@{self.func.name}: {describe(self.node, self.func, self.index)}"


def _type_matches(declared: TensorType, inferred: TensorType) -> bool:
    """Declared may refine an inferred unknown dim, and may carry a layout or encoding."""
    if declared.dtype != inferred.dtype or declared.rank != inferred.rank:
        return False
    return all(i is None or d == i for d, i in zip(declared.shape, inferred.shape))


def _verify_function(func: Function, module: Module, is_region: bool, errors: list[str]) -> None:
    defined = {id(a) for a in func.args}
    names: set[str] = set()
    for a in func.args:
        if a.name in names:
            errors.append(f"@{func.name}: duplicate argument name %{a.name}")
        names.add(a.name)
    for index, node in enumerate(func.nodes):
        where = _Where(node, func, index)
        for i, v in enumerate(node.operands):
            if isinstance(v, Param):
                if is_region:
                    errors.append(f"{where}: a fused region may not use @{v.name}; pass it as an operand")
                elif module.params.get(v.name) is not v:
                    errors.append(f"{where}: operand {i} @{v.name} is not a param of this module")
            elif id(v) not in defined:
                errors.append(f"{where}: operand {i} is used before it is defined (or defined elsewhere)")
        _verify_node_types(node, where, errors)
        if node.region is not None:
            _verify_function(node.region, module, True, errors)
        for r in node.results:
            if r.name is not None:
                if r.name in names:
                    errors.append(f"{where}: result name %{r.name} is defined twice")
                names.add(r.name)
            defined.add(id(r))
    for i, v in enumerate(func.outputs):
        if not isinstance(v, Param) and id(v) not in defined:
            errors.append(f"@{func.name}: returned value {i} is not defined in the function")


def _verify_node_types(node, where: _Where, errors: list[str]) -> None:
    try:
        opdef = get_op(node.op)
        attrs = opdef.check_attrs(node.attrs)
        if attrs != node.attrs:
            errors.append(f"{where}: attributes {node.attrs} are not normalized (expected {attrs})")
        if opdef.has_region != (node.region is not None):
            errors.append(f"{where}: op {'needs' if opdef.has_region else 'takes no'} region")
            return
        inferred = opdef.infer_types([v.type for v in node.operands], attrs, node.region)
    except KernforgeError as e:
        errors.append(f"{where}: {e}")
        return
    if len(inferred) != len(node.results):
        errors.append(f"{where}: has {len(node.results)} results, op infers {len(inferred)}")
        return
    for i, (r, t) in enumerate(zip(node.results, inferred)):
        if not _type_matches(r.type, t):
            errors.append(f"{where}: result {i} is declared {r.type} but inferred {t}")


def verify(module: Module) -> Module:
    """Raise VerificationError listing every problem; return the module when it is valid."""
    errors: list[str] = []
    for p in module.params.values():
        if p.data is not None and tuple(p.data.shape) != p.type.shape:
            errors.append(f"param @{p.name}: data shape {list(p.data.shape)} does not match {p.type}")
    for func in module.functions.values():
        _verify_function(func, module, False, errors)
    if errors:
        raise VerificationError(f"{len(errors)} problem(s): " + "; ".join(errors))
    return module
