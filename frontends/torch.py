"""PyTorch frontend: torch.export → core ATen (run_decompositions) → kernforge IR.

Naming and ordering, which callers rely on:
- inputs are the user inputs of the exported program, in call order, named after the Python
  arguments (a nested argument's tensors get torch's flattened names, e.g. `xs_0`);
- parameters, buffers and lifted constants become module params named by their state-dict key;
- outputs are the returned pytree flattened in pytree order (tuples/lists by position, dicts
  and ModelOutputs by key). Each output is named by its path: dict keys and attribute names,
  positions as numbers, joined by "_" (`{"a": x, "b": (y, z)}` gives `a`, `b_0`, `b_1`); a name
  starting with a digit gets an `out` prefix (`(x, y)` gives `out0`, `out1`); a bare tensor is
  `output`;
- a `torch.export.Dim("batch")` becomes the symbolic dim `?batch`.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from ..errors import ExportError, KernforgeError, UnsupportedOpError
from ..ir.builder import Builder
from ..ir.graph import Module, Param, Value
from ..ir.types import TensorType

INSTALL_HINT = "pip install torch==2.13.0 (or install kernforge with the extra: pip install 'kernforge[torch]')"


def _require_torch():
    try:
        import torch
    except ImportError as e:
        raise KernforgeError(f"from_torch needs PyTorch, which is not installed: {INSTALL_HINT}") from e
    return torch


def from_torch(module: Any, example_inputs: Any, dynamic_shapes: Any = None) -> Module:
    """Import an nn.Module: example_inputs is a tuple of positional args, one tensor, or a dict of
    keyword args; dynamic_shapes is passed to torch.export.export."""
    _require_torch()
    args, kwargs = split_inputs(example_inputs)
    ep = export_program(module, args, kwargs, dynamic_shapes)
    symbols = symbol_names(ep, args, kwargs, dynamic_shapes, module)
    return import_program(ep, symbols, name=type(module).__name__)


def split_inputs(example_inputs: Any) -> tuple[tuple, dict]:
    if isinstance(example_inputs, dict):
        return (), dict(example_inputs)
    if isinstance(example_inputs, (tuple, list)):
        return tuple(example_inputs), {}
    return (example_inputs,), {}


def export_program(module, args: tuple, kwargs: dict | None = None, dynamic_shapes=None):
    """torch.export.export then run_decompositions() to core ATen; a tracing failure is an ExportError."""
    torch = _require_torch()
    try:
        ep = torch.export.export(module, args, kwargs or None, dynamic_shapes=dynamic_shapes)
    except Exception as e:  # torch raises many types here; all mean "could not trace"
        raise ExportError(f"torch.export could not trace {type(module).__name__}: {_first_lines(e)}") from e
    try:
        return ep.run_decompositions()
    except Exception as e:
        raise ExportError(f"torch.export could not decompose {type(module).__name__} to core ATen: "
                          f"{_first_lines(e)}") from e


def _first_lines(e: Exception, n: int = 6) -> str:
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
    return f"{type(e).__name__}: " + "\n".join(lines[:n]) + ("\n..." if len(lines) > n else "")


def symbol_names(ep, args: tuple, kwargs: dict, dynamic_shapes, module=None) -> dict:
    """Map torch's shape symbols (s0, s77, ...) to the names of the torch.export.Dim objects."""
    if dynamic_shapes is None:
        return {}
    names = (_arg_names(module, len(args)) if module is not None else [f"arg{i}" for i in range(len(args))])
    specs = _spec_list(dynamic_shapes, names + list(kwargs))
    leaves: list[tuple[Any, Any]] = []
    for value, spec in zip(list(args) + list(kwargs.values()), specs):
        _pair_leaves(value, spec, leaves)
    # Tensor user inputs in call order, as torch flattened them (non-tensor inputs have no shape).
    vals = [v for v in (n.meta.get("val") for n in _user_input_nodes(ep)) if hasattr(v, "shape")]
    out = {}
    for (_, spec), val in zip(leaves, vals):
        items = spec.items() if isinstance(spec, dict) else enumerate(spec or ())
        for i, d in items:
            expr = getattr(val.shape[i], "node", None)
            if d is not None and hasattr(d, "__name__") and expr is not None and expr.expr.is_Symbol:
                out[expr.expr] = d.__name__
    return out


def _arg_names(module, n: int) -> list[str]:
    import inspect

    params = list(inspect.signature(module.forward).parameters)
    return params[:n] + [f"arg{i}" for i in range(len(params), n)]


def _spec_list(dynamic_shapes, names: list[str]) -> list:
    """One spec per top-level input: dynamic_shapes is keyed by argument name or positional."""
    if isinstance(dynamic_shapes, dict):
        return [dynamic_shapes.get(name) for name in names]
    return list(dynamic_shapes) + [None] * (len(names) - len(dynamic_shapes))


def _pair_leaves(value, spec, out: list) -> None:
    """Pair each tensor leaf of an input with its per-tensor dynamic-shape spec."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        out.append((value, spec))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _pair_leaves(v, spec[i] if isinstance(spec, (list, tuple)) else None, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _pair_leaves(v, spec.get(k) if isinstance(spec, dict) else None, out)


def _user_input_nodes(ep) -> list:
    from torch.export.graph_signature import InputKind

    names = [s.arg.name for s in ep.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    nodes = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    return [nodes[n] for n in names]


def import_program(ep, symbols: dict | None = None, name: str = "module") -> Module:
    """Convert a decomposed ExportedProgram to a kernforge Module."""
    return _Importer(ep, symbols or {}, name).run()


def location(node) -> str:
    """`file:line: code` of the innermost frame of the node's stack trace, or '' if unknown."""
    trace = node.meta.get("stack_trace") or ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*(?:\n(?!\s*File ")\s*([^\n]*))?', trace)
    if not frames:
        return ""
    file, line, code = frames[-1]
    return f"{file}:{line}: {code.strip()}" if code.strip() else f"{file}:{line}"


class _Importer:
    """Walks the FX graph in order, calling one registered converter per ATen node."""

    def __init__(self, ep, symbols: dict, name: str):
        from torch.fx import Node

        from .torch_ops import Ctx, lookup

        self.ep, self.lookup, self.fx_node = ep, lookup, Node
        self.input_specs = {s.arg.name: s for s in ep.graph_signature.input_specs}
        self.builder = Builder(_module_name(name))
        self.fb = self.builder.function("main")
        self.cx = Ctx(self.fb, symbols)
        self.env: dict[Any, Any] = {}

    def run(self) -> Module:
        self._check_supported()
        for node in self.ep.graph.nodes:
            if node.op == "placeholder":
                self._placeholder(node)
            elif node.op == "call_function":
                self._call(node)
            elif node.op == "output":
                self._outputs(node)
            else:
                raise UnsupportedOpError(f"FX node kind '{node.op}' ({node.name}) is not supported")
        module = self.builder.module
        _drop_dead(module)
        return module

    def _is_symbolic(self, node) -> bool:
        """Size arithmetic (sym_size, SymInt mul, ...): torch's metadata already holds the result."""
        val = node.meta.get("val")
        return val is not None and not hasattr(val, "shape") and not isinstance(val, (tuple, list))

    def _check_supported(self) -> None:
        missing = [n for n in self.ep.graph.nodes if n.op == "call_function"
                   and n.target is not operator.getitem and not self._is_symbolic(n)
                   and self.lookup(n.target) is None]
        if missing:
            lines = [f"  {str(n.target)} (node %{n.name}) at {location(n) or '<unknown source>'}"
                     for n in missing]
            ops = sorted({str(n.target) for n in missing})
            raise UnsupportedOpError(f"kernforge has no converter for {len(ops)} ATen op(s) "
                                     f"{', '.join(ops)}:\n" + "\n".join(lines))

    def _placeholder(self, node) -> None:
        from torch.export.graph_signature import InputKind

        from .torch_ops import ir_dtype, to_numpy

        spec = self.input_specs[node.name]
        val = node.meta.get("val")
        if spec.kind == InputKind.USER_INPUT:
            if not hasattr(val, "shape"):
                self.env[node] = val  # a non-tensor input torch specialized to its example value
                return
            self.env[node] = self.fb.arg(node.name, self.cx.shape(val), ir_dtype(val.dtype))
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            data = self.ep.state_dict.get(spec.target)
            data = self.ep.constants[spec.target] if data is None else data
            self.env[node] = self.fb.param(spec.target, to_numpy(data))
        else:
            raise UnsupportedOpError(f"exported input {node.name} of kind {spec.kind.name} is not supported")

    def _call(self, node) -> None:
        if node.target is operator.getitem:
            return self._getitem(node)
        if self._is_symbolic(node):
            self.env[node] = node.meta["val"]
            return
        args, kwargs = self._resolve(node.args), self._resolve(node.kwargs)
        self.cx.node = node
        try:
            out = self.lookup(node.target)(self.cx, *args, **kwargs)
            self._check_types(node, out)
        except KernforgeError as e:
            e.args = (f"{str(node.target)} (node %{node.name}) at {location(node) or '<unknown source>'}: "
                      f"{e}",)
            raise
        self.env[node] = out
        if isinstance(out, Value) and out.name is None and out not in self.fb.func.args:
            out.name = node.name

    def _resolve(self, a):
        if isinstance(a, self.fx_node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self._resolve(x) for x in a)
        if isinstance(a, dict):
            return {k: self._resolve(v) for k, v in a.items()}
        return a

    def _getitem(self, node) -> None:
        src, i = node.args
        out = self.env[src][i]
        if out is None:
            raise UnsupportedOpError(f"result {i} of {str(src.target)} (node %{src.name}) at "
                                     f"{location(src) or '<unknown source>'} is not supported")
        self.env[node] = out
        if isinstance(out, Value) and out.name is None:
            out.name = node.name

    def _check_types(self, node, out) -> None:
        """Cross-check converter results against torch's FakeTensor metadata; refine unknown dims."""
        from .torch_ops import ir_dtype

        vals = node.meta.get("val")
        outs, vals = (out, vals) if isinstance(out, (tuple, list)) else ((out,), (vals,))
        for v, fake in zip(outs, vals):
            if v is None or fake is None:
                continue
            want = TensorType(self.cx.shape(fake), ir_dtype(fake.dtype))
            got: TensorType = v.type
            ok = got.dtype == want.dtype and got.rank == want.rank and all(
                g is None or w is None or g == w for g, w in zip(got.shape, want.shape))
            if not ok:
                raise KernforgeError(f"converter produced {got}, but torch says {want}")
            if isinstance(v, Value) and any(g is None and w is not None for g, w in zip(got.shape, want.shape)):
                v.type = got.with_shape(w if g is None else g for g, w in zip(got.shape, want.shape))

    def _outputs(self, node) -> None:
        from torch.export.graph_signature import OutputKind

        specs = self.ep.graph_signature.output_specs
        values = [self.env[a] if a is not None else None for a in node.args[0]]
        user = [v for v, s in zip(values, specs) if s.kind == OutputKind.USER_OUTPUT]
        names = output_names(self.ep.call_spec.out_spec, len(user))
        taken = set(self.fb.func.input_names)
        outputs = []
        for v, name in zip(user, names):
            name = f"{name}_out" if name in taken else name  # an SSA name cannot be both
            if not isinstance(v, (Value, Param)):
                raise UnsupportedOpError(f"output {name} is not a tensor ({type(v).__name__})")
            if isinstance(v, Param) or v in self.fb.func.args or v in outputs:
                v = self.fb.op("identity", v)
            self._take_name(v, name)
            outputs.append(v)
        self.fb.ret(*outputs)

    def _take_name(self, v: Value, name: str) -> None:
        for other in self.fb.func.nodes:
            for r in other.results:
                if r.name == name and r is not v:
                    r.name = None
        v.name = name


def output_names(out_spec, n: int) -> list[str]:
    """Names of the flattened outputs, from their pytree paths (see the module docstring)."""
    from torch.utils import _pytree as pytree

    if out_spec is None:
        return [f"out{i}" for i in range(n)]
    paths = [p for p, _ in pytree.tree_flatten_with_path(pytree.tree_unflatten(list(range(n)), out_spec))[0]]
    names = []
    for path in paths:
        parts = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path]
        name = re.sub(r"[^A-Za-z0-9_]", "_", "_".join(parts)) or "output"
        name = name if re.match(r"[A-Za-z_]", name) else f"out{name}"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


def _module_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.$-]", "_", name) or "module"


def _drop_dead(module: Module) -> None:
    """Remove nodes whose results nothing uses (e.g. a weight transpose folded into dense), then
    the params no function refers to (unused buffers)."""
    func = module.main
    live = {id(v) for v in func.outputs}
    kept = []
    for node in reversed(func.nodes):
        if any(id(r) in live for r in node.results):
            live.update(id(v) for v in node.operands)
            kept.append(node)
    func.nodes = kept[::-1]
    used = module.used_params()
    for name in [p for p in module.params if p not in used]:
        del module.params[name]
